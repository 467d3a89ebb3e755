import ConnectorAPI
import Foundation
import Testing

@testable import ConnectorHost

/// The planner's decision table, cell by cell, called directly (no endpoints, no state): for a
/// mapped pair, what each side's event (nothing, unchanged, changed, deleted, left the scope)
/// leads to under each direction and policy; for unmapped items, when they are created, paired
/// or skipped.
@Suite("Planner decision table")
struct PlannerTableTests {
    enum Event: String, CaseIterable, CustomStringConvertible {
        case none, unchanged, changed, deleted, left
        var description: String { rawValue }
    }

    static let base = Record.address(Address(givenName: "Anna", familyName: "Schäfer"))
    static let sourceEdit = Record.address(Address(givenName: "Anna", familyName: "Schäfer", jobTitle: "Maklerin"))
    static let targetEdit = Record.address(Address(givenName: "Anna", familyName: "Schäfer", notes: "Rückruf"))
    static let caps = Capabilities(kinds: Set(DataKind.allCases))

    func planner(_ definition: ConnectorDefinition, source: Capabilities = caps, target: Capabilities = caps)
        -> Planner
    {
        Planner(definition: definition, user: "MM", sourceCaps: source, targetCaps: target)
    }

    /// The pair S1 ↔ T1, synced at versions s1 and t1.
    func mapping(_ planner: Planner) -> Mapping {
        Mapping(
            sourceID: "S1", targetID: "T1", sourceVersion: "s1", targetVersion: "t1",
            sourceHash: planner.hash(Self.base, on: .source), targetHash: planner.hash(Self.base, on: .target),
            syncKey: SyncKey(rawValue: "k"))
    }

    func change(_ event: Event, id: ItemID, side: EndpointRole) -> [Change] {
        let edit = side == .source ? Self.sourceEdit : Self.targetEdit
        let version = side == .source ? "s1" : "t1"
        return switch event {
        case .none: []
        case .unchanged: [.upsert(ItemState(id: id, version: version, record: Self.base))]
        case .changed:
            [
                .upsert(
                    ItemState(
                        id: id, version: version + "'", record: edit,
                        modifiedAt: Date(timeIntervalSince1970: side == .source ? 100 : 200)))
            ]
        case .deleted: [.deleted(id)]
        case .left: [.leftScope(id)]
        }
    }

    /// The plan for one cell, as short words in order: `create target`, `update source`,
    /// `delete target`, `unlink`, `detach`, `link`, `adopt`, `conflict <resolution>`, `closed`.
    func outcome(_ planner: Planner, _ s: Event, _ t: Event, openConflict: Bool = false) -> String {
        let mapping = mapping(planner)
        let plan = planner.plan(
            mappings: [mapping], source: change(s, id: "S1", side: .source), target: change(t, id: "T1", side: .target),
            openConflicts: openConflict ? [PairKey(mapping)] : [])
        return Self.words(plan)
    }

    static func words(_ plan: SyncPlan) -> String {
        var words = plan.conflicts.map { "conflict \($0.open ? "open" : $0.resolution)" }
        for action in plan.actions {
            switch action {
            case .create(let side, _, _): words.append("create \(side)")
            case .update(let side, _, _, _, _, _): words.append("update \(side)")
            case .delete(let side, _, _): words.append("delete \(side)")
            case .unlink(_, let detach, _): words.append(detach ? "detach" : "unlink")
            case .link(_, let adopted): words.append(adopted ? "adopt" : "link")
            }
        }
        words += plan.closedConflicts.map { _ in "closed" }
        words += plan.skipped.map { "skip \($0.role)" }
        return words.joined(separator: ", ")
    }

    /// Rows: the source's event; columns: the target's (none, unchanged, changed, deleted, left).
    static let twoWay: [Event: [String]] = [
        .none: ["", "", "update source", "delete source", "detach"],
        .unchanged: ["", "", "update source", "delete source", "detach"],
        .changed: [
            "update target", "update target", "conflict source-wins, update target",
            "conflict changed on the source, deleted on the target: copied again, unlink, create target", "detach",
        ],
        .deleted: [
            "delete target", "delete target",
            "conflict changed on the target, deleted on the source: copied again, unlink, create source", "unlink",
            "unlink",
        ],
        .left: ["unlink", "unlink", "unlink", "unlink", "unlink"],
    ]

    @Test("two-way: every cell of source event × target event", arguments: Event.allCases, Event.allCases)
    func twoWayCell(_ s: Event, _ t: Event) {
        let planner = planner(ConnectorDefinition(name: "c", kind: .address))
        let expected = Self.twoWay[s]![Event.allCases.firstIndex(of: t)!]
        #expect(outcome(planner, s, t) == expected, "source \(s), target \(t)")
    }

    /// One way (source to target): the target's edits do not travel back (only their version is
    /// recorded), and a copy deleted on the target is made again from the source.
    static let sourceToTarget: [Event: [String]] = [
        .none: ["", "", "link", "unlink", "detach"],
        .unchanged: ["", "", "link", "unlink, create target", "detach"],
        .changed: [
            "update target", "update target", "update target",
            "conflict changed on the source, deleted on the target: copied again, unlink, create target", "detach",
        ],
        .deleted: ["delete target", "delete target", "delete target", "unlink", "unlink"],
        .left: ["unlink", "unlink", "unlink", "unlink", "unlink"],
    ]

    @Test("source-to-target: every cell", arguments: Event.allCases, Event.allCases)
    func oneWayCell(_ s: Event, _ t: Event) {
        let planner = planner(ConnectorDefinition(name: "c", kind: .address, direction: .sourceToTarget))
        let expected = Self.sourceToTarget[s]![Event.allCases.firstIndex(of: t)!]
        #expect(outcome(planner, s, t) == expected, "source \(s), target \(t)")
    }

    @Test("both changed: each conflict policy; equal edits are no conflict", arguments: ConflictPolicy.allCases)
    func conflictPolicies(_ policy: ConflictPolicy) {
        let planner = planner(ConnectorDefinition(name: "c", kind: .address, conflict: policy))
        let expected =
            switch policy {
            case .sourceWins: "conflict source-wins, update target"
            case .targetWins: "conflict target-wins, update source"
            // The target's edit is the newer one (200 against 100).
            case .newestWins: "conflict target-wins, update source"
            case .report: "conflict open"
            }
        #expect(outcome(planner, .changed, .changed) == expected)
        // The same edit on both sides: recorded, no conflict; an open conflict on the pair closes.
        let same = planner.plan(
            mappings: [mapping(planner)],
            source: [.upsert(ItemState(id: "S1", version: "s2", record: Self.sourceEdit))],
            target: [.upsert(ItemState(id: "T1", version: "t2", record: Self.sourceEdit))],
            openConflicts: [PairKey(source: "S1", target: "T1")])
        #expect(Self.words(same) == "link, closed")
    }

    @Test("a deletion under each policy, and a side that may not delete", arguments: DeletionPolicy.allCases)
    func deletionPolicies(_ policy: DeletionPolicy) {
        let kind: DataKind = policy == .mark ? .mail : .address
        let planner = planner(ConnectorDefinition(name: "c", kind: kind, sourceDeletion: policy))
        let expected =
            switch policy {
            case .propagate: "delete target"
            case .unlink: "detach"
            case .mark: "detach, update target"
            }
        #expect(outcome(planner, .deleted, .none) == expected)
        // A target that may not delete keeps its copy.
        var readOnly = Self.caps
        readOnly.canDelete = false
        let keeping = self.planner(ConnectorDefinition(name: "c", kind: .address), target: readOnly)
        #expect(outcome(keeping, .deleted, .none) == "detach")
    }

    @Test("a source item leaving the filter: kept (unlinked) or removed from the target")
    func filterLeave() {
        let keep = planner(ConnectorDefinition(name: "c", kind: .address))
        #expect(outcome(keep, .left, .none) == "unlink")
        let remove = planner(ConnectorDefinition(name: "c", kind: .address, filterLeave: .remove))
        #expect(outcome(remove, .left, .none) == "delete target")
        #expect(outcome(remove, .left, .changed) == "delete target")
    }

    @Test("an open conflict closes once neither side differs any more")
    func openConflictCloses() {
        let planner = planner(ConnectorDefinition(name: "c", kind: .address, conflict: .report))
        #expect(outcome(planner, .unchanged, .unchanged, openConflict: true) == "closed")
        #expect(outcome(planner, .none, .none, openConflict: true) == "")
    }

    @Test("a detached pair ignores changes and is forgotten when both items are gone")
    func detached() {
        let planner = planner(ConnectorDefinition(name: "c", kind: .address))
        var pair = mapping(planner)
        pair.status = .detached
        let changed = planner.plan(
            mappings: [pair], source: change(.changed, id: "S1", side: .source),
            target: change(.changed, id: "T1", side: .target), openConflicts: [])
        #expect(Self.words(changed) == "")
        let oneGone = planner.plan(
            mappings: [pair], source: [.deleted("S1")], target: [], openConflicts: [])
        #expect(Self.words(oneGone) == "link")
        let bothGone = planner.plan(
            mappings: [pair], source: [.deleted("S1")], target: [.deleted("T1")], openConflicts: [])
        #expect(Self.words(bothGone) == "unlink")
    }

    // MARK: Unmapped items

    func unmapped(_ planner: Planner, source: [ItemState], target: [ItemState]) -> String {
        Self.words(
            planner.plan(
                mappings: [], source: source.map { .upsert($0) }, target: target.map { .upsert($0) }, openConflicts: [])
        )
    }

    @Test("new items are created on the other side where the direction flows")
    func newItems() {
        let item = ItemState(id: "S9", version: "1", record: Self.base)
        let other = ItemState(id: "T9", version: "1", record: Self.targetEdit)
        #expect(
            unmapped(planner(ConnectorDefinition(name: "c", kind: .address)), source: [item], target: [other])
                == "create target, create source")
        #expect(
            unmapped(
                planner(ConnectorDefinition(name: "c", kind: .address, direction: .sourceToTarget)), source: [item],
                target: [other]) == "create target")
        #expect(
            unmapped(
                planner(ConnectorDefinition(name: "c", kind: .address, direction: .targetToSource)), source: [item],
                target: [other]) == "create source")
    }

    @Test("a copy stamped with its origin's sync key is paired, never copied again")
    func stampedCopies() {
        let planner = planner(ConnectorDefinition(name: "c", kind: .address))
        let key = SyncKeys.make(scope: planner.keyScope, origin: .source, id: "S9")
        let origin = ItemState(id: "S9", version: "1", record: Self.base)
        let copy = ItemState(id: "T9", version: "1", record: Self.base, syncKey: key)
        #expect(unmapped(planner, source: [origin], target: [copy]) == "adopt")
        // Differing content: paired, and the conflict policy decides.
        let edited = ItemState(id: "T9", version: "2", record: Self.targetEdit, syncKey: key)
        #expect(unmapped(planner, source: [origin], target: [edited]) == "conflict source-wins, adopt, update target")
        // A copy whose origin is not in this delta waits for the engine's lookup; it is not copied back.
        #expect(unmapped(planner, source: [], target: [copy]) == "")
    }

    @Test("the same mail on both sides (one message-id) is one pair")
    func sameMail() {
        let planner = planner(ConnectorDefinition(name: "c", kind: .mail))
        let mail = Record.mail(MailMessage(messageID: "<m1@kunde.test>", subject: "Anfrage"))
        #expect(
            unmapped(
                planner, source: [ItemState(id: "S1", version: "1", record: mail)],
                target: [ItemState(id: "T1", version: "1", record: mail)]) == "adopt")
    }

    @Test("an invalid record is skipped and named, not written")
    func invalidRecord() {
        let planner = planner(ConnectorDefinition(name: "c", kind: .calendar))
        let broken = Record.calendar(
            CalendarEvent(
                subject: "",
                timing: .timed(start: Date(), end: Date().addingTimeInterval(-60), timeZone: "Europe/Berlin")))
        #expect(broken.validate().isEmpty == false)
        #expect(
            unmapped(planner, source: [ItemState(id: "S1", version: "1", record: broken)], target: []) == "skip source")
    }
}

@Suite("Planner: fields a side only keeps")
struct PlannerKeptFieldsTests {
    @Test("an update from a side that only keeps a field leaves it out while it is empty or at its default")
    func keptFieldsUnknownWhenEmpty() throws {
        var source = Capabilities(kinds: Set(DataKind.allCases))
        source.keptFields = [.address: ["middleName", "homeAddress"], .calendar: ["isPrivate", "busyStatus"]]
        let target = Capabilities(kinds: Set(DataKind.allCases))
        let planner = Planner(
            definition: ConnectorDefinition(name: "c", kind: .address), user: "MM", sourceCaps: source,
            targetCaps: target)
        let mapping = Mapping(
            sourceID: "S1", targetID: "T1", sourceVersion: "s1", targetVersion: "t1", sourceHash: "x", targetHash: "y",
            syncKey: SyncKey(rawValue: "k"))
        func fields(_ record: Record) -> Set<String> {
            let plan = planner.plan(
                mappings: [mapping], source: [.upsert(ItemState(id: "S1", version: "s2", record: record))], target: [],
                openConflicts: [])
            for case .update(.target, _, _, _, let fields, _) in plan.actions { return fields }
            return []
        }
        let unknown = fields(.address(Address(givenName: "Anna", familyName: "Schäfer")))
        #expect(unknown.contains("givenName") && unknown.contains("familyName"))
        #expect(!unknown.contains("middleName") && !unknown.contains("homeAddress"))
        let known = fields(.address(Address(givenName: "Anna", middleName: "Luise", familyName: "Schäfer")))
        #expect(known.contains("middleName") && !known.contains("homeAddress"))

        #expect(
            source.fieldsToWrite(["subject", "isPrivate", "busyStatus"], of: Self.event(private: false, .busy)) == [
                "subject"
            ])
        #expect(
            source.fieldsToWrite(["subject", "isPrivate", "busyStatus"], of: Self.event(private: true, .outOfOffice))
                == ["subject", "isPrivate", "busyStatus"])
    }

    static func event(private isPrivate: Bool, _ busy: BusyStatus) -> Record {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return .calendar(
            CalendarEvent(
                subject: "Termin", timing: .timed(start: start, end: start + 3600, timeZone: "Europe/Berlin"),
                busyStatus: busy, isPrivate: isPrivate))
    }
}
