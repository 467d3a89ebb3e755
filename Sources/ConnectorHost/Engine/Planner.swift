import ConnectorAPI
import Foundation

/// Turns the changes of both sides and the stored mappings into a plan. Pure: no I/O.
///
/// The rules, per mapped pair (S = source item, T = target item):
/// - one side changed → update the other (when that direction flows);
/// - both changed → equal content is just recorded; otherwise the conflict policy decides;
/// - one side deleted → the deletion policy decides (propagate, or unlink and keep the other);
///   a change on the other side beats the deletion and re-creates the item, so nothing is lost;
/// - the source left the filter → unlink; with `filter_leave: remove` the target copy goes too.
///   The source record itself is never deleted because of a filter;
/// - the receiving side of a one-way connector mirrors the sending side: its edits are ignored and a
///   deleted copy is made again.
/// Unmapped items are paired by their sync key when they are copies; the rest are created on the other side.
struct Planner {
    let definition: ConnectorDefinition
    let toTarget: Set<String>
    let toSource: Set<String>
    let sourceCaps: Capabilities
    let targetCaps: Capabilities
    /// The job part of sync keys (connector and user).
    let keyScope: String

    init(definition: ConnectorDefinition, user: String, sourceCaps: Capabilities, targetCaps: Capabilities) {
        self.definition = definition
        keyScope = SyncKeys.scope(connector: definition.name, user: user)
        self.sourceCaps = sourceCaps
        self.targetCaps = targetCaps
        var toTarget = definition.fieldsToTarget(source: sourceCaps, target: targetCaps)
        var toSource = definition.fieldsToSource(source: sourceCaps, target: targetCaps)
        if definition.kind == .mail {
            // A mail travels once, whole; afterwards only the state both sides can carry follows it.
            let state = MailMessage.stateFields(sourceCaps.mailStateChanges.intersection(targetCaps.mailStateChanges))
            toTarget.formIntersection(state)
            toSource.formIntersection(state)
        }
        self.toTarget = toTarget
        self.toSource = toSource
    }

    /// Whether both sides carry a mail state change (always true for other kinds).
    func carries(_ change: MailStateChange) -> Bool {
        definition.kind != .mail
            || (sourceCaps.mailStateChanges.contains(change) && targetCaps.mailStateChanges.contains(change))
    }

    var flowsToTarget: Bool { definition.direction.sourceFlowsToTarget }
    var flowsToSource: Bool { definition.direction.targetFlowsToSource }

    /// Hash of an item on `role` over the fields that leave that side.
    func hash(_ record: Record, on role: EndpointRole) -> String {
        ContentHash.of(record, fields: fields(onto: role.other))
    }

    /// Whether two records agree on every field that flows between the sides.
    func sameContent(_ a: Record, _ b: Record) -> Bool {
        let fields = toTarget.union(toSource)
        return ContentHash.of(a, fields: fields) == ContentHash.of(b, fields: fields)
    }

    enum Event {
        case none
        case unchanged(ItemState)
        case changed(ItemState)
        case deleted
        case left

        var state: ItemState? {
            switch self {
            case .unchanged(let state), .changed(let state): state
            default: nil
            }
        }
    }

    func event(_ change: Change?, stored version: Version?, hash storedHash: String?, role: EndpointRole) -> Event {
        switch change {
        case nil: return .none
        case .deleted?: return .deleted
        case .leftScope?: return .left
        case .upsert(let state)?:
            if state.version == version { return .unchanged(state) }
            if let storedHash, hash(state.record, on: role) == storedHash { return .unchanged(state) }
            // The receiving side of a one-way connector does not send changes back.
            return flows(from: role) ? .changed(state) : .unchanged(state)
        }
    }

    /// Ids whose current state the plan needs beyond the deltas: the sending side of a one-way
    /// connector whose copy was deleted (to make it again).
    func idsToRead(mappings: [Mapping], source: [ItemID: Change], target: [ItemID: Change]) -> (
        source: [ItemID], target: [ItemID]
    ) {
        var fromSource: [ItemID] = []
        var fromTarget: [ItemID] = []
        for mapping in mappings where mapping.status == .linked {
            guard let s = mapping.sourceID, let t = mapping.targetID else { continue }
            if !flowsToSource, case .deleted? = target[t], source[s] == nil { fromSource.append(s) }
            if !flowsToTarget, case .deleted? = source[s], target[t] == nil { fromTarget.append(t) }
        }
        return (fromSource, fromTarget)
    }

    /// The plan with the pairs in an open conflict, none of them decided.
    func plan(mappings: [Mapping], source: [Change], target: [Change], openConflicts: Set<PairKey>) -> SyncPlan {
        plan(
            mappings: mappings, source: source, target: target,
            openConflicts: Dictionary(uniqueKeysWithValues: openConflicts.map { ($0, ConflictDecision?.none) }))
    }

    /// `openConflicts`: the pairs in an open conflict, with an administrator's decision where one
    /// was made (``ConflictDecision``); a decision settles the pair's conflict instead of the policy.
    func plan(mappings: [Mapping], source: [Change], target: [Change], openConflicts: [PairKey: ConflictDecision?])
        -> SyncPlan
    {
        var plan = SyncPlan()
        let sourceChanges = Dictionary(source.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        let targetChanges = Dictionary(target.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        var mappedSource: Set<ItemID> = []
        var mappedTarget: Set<ItemID> = []

        for mapping in mappings {
            if let id = mapping.sourceID { mappedSource.insert(id) }
            if let id = mapping.targetID { mappedTarget.insert(id) }
            let s = event(
                mapping.sourceID.flatMap { sourceChanges[$0] }, stored: mapping.sourceVersion, hash: mapping.sourceHash,
                role: .source)
            let t = event(
                mapping.targetID.flatMap { targetChanges[$0] }, stored: mapping.targetVersion, hash: mapping.targetHash,
                role: .target)
            let open = openConflicts[PairKey(mapping)]
            planPair(mapping, s, t, wasInConflict: open != nil, decision: open ?? nil, &plan)
        }

        planUnmapped(
            source: source.compactMap { change -> ItemState? in
                if case .upsert(let state) = change, !mappedSource.contains(state.id) { return state }
                return nil
            },
            target: target.compactMap { change -> ItemState? in
                if case .upsert(let state) = change, !mappedTarget.contains(state.id) { return state }
                return nil
            }, &plan)
        return plan
    }

    // MARK: Mapped pairs

    func planPair(
        _ mapping: Mapping, _ s: Event, _ t: Event, wasInConflict: Bool, decision: ConflictDecision? = nil,
        _ plan: inout SyncPlan
    ) {
        if mapping.status == .detached {
            // Unlinked on purpose: only forget the row once an item is gone.
            var rest = mapping
            if case .deleted = s { rest.sourceID = nil }
            if case .deleted = t { rest.targetID = nil }
            if rest.sourceID == nil && rest.targetID == nil {
                plan.actions.append(.unlink(mapping, detach: false, reason: "both items are gone"))
            } else if rest != mapping {
                plan.actions.append(.link(rest, adopted: false))
            }
            return
        }
        var refreshed = mapping
        if let state = s.state { refreshed.sourceVersion = state.version }
        if let state = t.state { refreshed.targetVersion = state.version }

        switch (s, t) {
        case (.none, .none):
            return
        case (.unchanged, .none), (.none, .unchanged), (.unchanged, .unchanged):
            if wasInConflict { plan.closedConflicts.append((mapping.sourceID, mapping.targetID)) }
            if refreshed != mapping { plan.actions.append(.link(refreshed, adopted: false)) }

        case (.changed(let source), .none), (.changed(let source), .unchanged):
            update(.target, mapping, from: source, current: t.state, &plan)
        case (.none, .changed(let target)), (.unchanged, .changed(let target)):
            update(.source, mapping, from: target, current: s.state, &plan)

        case (.changed(let source), .changed(let target)):
            if sameContent(source.record, target.record) {
                var linked = refreshed
                linked.sourceHash = hash(source.record, on: .source)
                linked.targetHash = hash(target.record, on: .target)
                plan.actions.append(.link(linked, adopted: false))
                if wasInConflict { plan.closedConflicts.append((mapping.sourceID, mapping.targetID)) }
            } else if let decision {
                settle(refreshed, source: source, target: target, by: decision, &plan)
            } else {
                resolveConflict(mapping, source: source, target: target, &plan)
            }

        case (.deleted, .deleted), (.deleted, .left), (.left, .deleted):
            plan.actions.append(.unlink(mapping, detach: false, reason: "gone on both sides"))

        case (.deleted, .changed(let target)) where flowsToSource:
            keepChanged(.source, mapping, survivor: target, &plan)
        case (.changed(let source), .deleted) where flowsToTarget:
            keepChanged(.target, mapping, survivor: source, &plan)

        case (.deleted, _):
            deleted(.source, mapping, other: t.state, &plan)
        case (_, .deleted):
            deleted(.target, mapping, other: s.state, &plan)

        case (.left, _):
            if definition.filterLeave == .remove, flowsToTarget, targetCaps.canDelete, let id = mapping.targetID {
                plan.actions.append(.delete(on: .target, id: id, mapping: mapping))
            } else {
                plan.actions.append(.unlink(mapping, detach: false, reason: "the source record left the filter"))
            }
        case (_, .left):
            plan.actions.append(.unlink(mapping, detach: true, reason: "the target item left the synced folder"))
        }
    }

    /// Writes `origin` (from the other side) to the mapped item on `side`.
    func update(
        _ side: EndpointRole, _ mapping: Mapping, from origin: ItemState, current: ItemState?, _ plan: inout SyncPlan
    ) {
        guard let id = mapping.id(on: side) else { return }
        if let current, sameContent(origin.record, current.record) {
            var linked = mapping
            linked.record(current, on: side, hash: hash(current.record, on: side))
            linked.record(origin, on: side.other, hash: hash(origin.record, on: side.other))
            plan.actions.append(.link(linked, adopted: false))
            return
        }
        let expected = current?.version ?? mapping.version(on: side)
        let originCaps = side == .target ? sourceCaps : targetCaps
        let fields = originCaps.fieldsToWrite(fields(onto: side), of: origin.record)
        plan.actions.append(
            .update(on: side, id: id, expectedVersion: expected, origin: origin, fields: fields, mapping: mapping))
    }

    func resolveConflict(_ mapping: Mapping, source: ItemState, target: ItemState, _ plan: inout SyncPlan) {
        var winner: EndpointRole?
        switch definition.conflict {
        case .sourceWins: winner = .source
        case .targetWins: winner = .target
        case .newestWins:
            if let s = source.modifiedAt, let t = target.modifiedAt {
                winner = t > s ? .target : .source
            } else {
                winner = .source
            }
        case .report: winner = nil
        }
        // Only the sending side of a one-way connector can win (this happens when adopting a copy).
        if !flowsToSource { winner = .source }
        if !flowsToTarget { winner = .target }
        plan.conflicts.append(
            PlannedConflict(
                source: source, target: target, sourceID: mapping.sourceID, targetID: mapping.targetID,
                policy: definition.conflict,
                resolution: winner.map { $0 == .source ? "source-wins" : "target-wins" } ?? "reported",
                open: winner == nil))
        switch winner {
        case .source?: update(.target, mapping, from: source, current: target, &plan)
        case .target?: update(.source, mapping, from: target, current: source, &plan)
        case nil: break
        }
    }

    /// An administrator's decision on an open conflict: the chosen side is written to the other
    /// (with the usual version check), or, skipped, both stay as they are and become the pair's
    /// new common state. The open conflict is closed either way.
    func settle(
        _ mapping: Mapping, source: ItemState, target: ItemState, by decision: ConflictDecision,
        _ plan: inout SyncPlan
    ) {
        plan.closedConflicts.append((mapping.sourceID, mapping.targetID))
        let resolution: String
        switch decision {
        case .source:
            resolution = "source taken by an administrator"
            update(.target, mapping, from: source, current: target, &plan)
        case .target:
            resolution = "target taken by an administrator"
            update(.source, mapping, from: target, current: source, &plan)
        case .skip:
            resolution = "skipped by an administrator: both kept as they are"
            var linked = mapping
            linked.sourceHash = hash(source.record, on: .source)
            linked.targetHash = hash(target.record, on: .target)
            plan.actions.append(.link(linked, adopted: false))
        }
        plan.conflicts.append(
            PlannedConflict(
                source: source, target: target, sourceID: mapping.sourceID, targetID: mapping.targetID,
                policy: definition.conflict, resolution: resolution, open: false, decision: decision))
    }

    /// A change beat a deletion: the changed item is copied again to the side that deleted it.
    func keepChanged(_ side: EndpointRole, _ mapping: Mapping, survivor: ItemState, _ plan: inout SyncPlan) {
        let origin = side.other
        plan.conflicts.append(
            PlannedConflict(
                source: origin == .source ? survivor : nil, target: origin == .target ? survivor : nil,
                sourceID: mapping.sourceID, targetID: mapping.targetID, policy: definition.conflict,
                resolution: "changed on the \(origin.rawValue), deleted on the \(side.rawValue): copied again",
                open: false))
        plan.actions.append(.unlink(mapping, detach: false, reason: "re-created after a conflicting deletion"))
        plan.actions.append(
            .create(
                on: side, origin: survivor,
                key: SyncKeys.make(scope: keyScope, origin: origin, id: survivor.id)))
    }

    /// The item on `deletedSide` was deleted; `other` is the mapped item's state when known.
    func deleted(_ deletedSide: EndpointRole, _ mapping: Mapping, other: ItemState?, _ plan: inout SyncPlan) {
        let otherSide = deletedSide.other
        guard flows(from: deletedSide) else {
            // The receiving side of a one-way connector lost its copy: make it again.
            if let other {
                plan.actions.append(.unlink(mapping, detach: false, reason: "copy deleted on the receiving side"))
                plan.actions.append(
                    .create(
                        on: deletedSide, origin: other,
                        key: SyncKeys.make(scope: keyScope, origin: otherSide, id: other.id)))
            } else {
                plan.actions.append(.unlink(mapping, detach: false, reason: "the sending side's item is gone too"))
            }
            return
        }
        // A mail deletion travels only where both sides carry it; otherwise the other copy is kept.
        let policy: DeletionPolicy =
            carries(.delete) ? deletionPolicy(deletedOn: deletedSide) : .unlink
        let canWrite = capabilities(otherSide).canWrite
        let canDelete = capabilities(otherSide).canDelete
        let otherID = mapping.id(on: otherSide)
        if policy == .propagate, canDelete, let otherID {
            plan.actions.append(.delete(on: otherSide, id: otherID, mapping: mapping))
            return
        }
        var detached = mapping
        detached.status = .detached
        if deletedSide == .source { detached.sourceID = nil } else { detached.targetID = nil }
        plan.actions.append(
            .unlink(
                detached, detach: true,
                reason: "deleted on the \(deletedSide.rawValue); kept on the \(otherSide.rawValue)"
            ))
        if policy == .mark, canWrite, let otherID, definition.kind == .mail,
            let deletedID = mapping.id(on: deletedSide)
        {
            let marker = MailMessage(subject: "", deletedOnOtherSide: true)
            plan.actions.append(
                .update(
                    on: otherSide, id: otherID, expectedVersion: nil,
                    origin: ItemState(id: deletedID, version: "", record: .mail(marker)),
                    fields: ["deletedOnOtherSide"], mapping: detached))
        }
    }

    // MARK: Unmapped items

    func planUnmapped(source: [ItemState], target: [ItemState], _ plan: inout SyncPlan) {
        var targetByStamp: [SyncKey: ItemState] = [:]
        for item in target { if let key = item.syncKey { targetByStamp[key] = item } }
        var sourceByStamp: [SyncKey: ItemState] = [:]
        for item in source { if let key = item.syncKey { sourceByStamp[key] = item } }
        var pairedTarget: Set<ItemID> = []
        var pairedSource: Set<ItemID> = []

        // Copies whose origin is in the other delta: pair them (state lost, or a crash after a create).
        for item in source {
            let key = SyncKeys.make(scope: keyScope, origin: .source, id: item.id)
            if let copy = targetByStamp[key] {
                adopt(source: item, target: copy, key: key, &plan)
                pairedSource.insert(item.id)
                pairedTarget.insert(copy.id)
            }
        }
        for item in target where !pairedTarget.contains(item.id) {
            let key = SyncKeys.make(scope: keyScope, origin: .target, id: item.id)
            if let copy = sourceByStamp[key], !pairedSource.contains(copy.id) {
                adopt(source: copy, target: item, key: key, &plan)
                pairedSource.insert(copy.id)
                pairedTarget.insert(item.id)
            }
        }

        // Mails: the same message on both sides (same message-id) is one pair, never two copies.
        if definition.kind == .mail {
            var targetByMessage: [String: ItemState] = [:]
            for item in target where !pairedTarget.contains(item.id) {
                if case .mail(let mail) = item.record, let key = mail.matchKey { targetByMessage[key] = item }
            }
            for item in source where !pairedSource.contains(item.id) {
                guard case .mail(let mail) = item.record, let key = mail.matchKey,
                    let copy = targetByMessage.removeValue(forKey: key)
                else { continue }
                let syncKey =
                    copy.syncKey ?? item.syncKey ?? SyncKeys.make(scope: keyScope, origin: .source, id: item.id)
                adopt(source: item, target: copy, key: syncKey, &plan)
                pairedSource.insert(item.id)
                pairedTarget.insert(copy.id)
            }
        }

        for item in source where !pairedSource.contains(item.id) {
            if isCopy(item, madeFrom: .target) { continue }  // its origin is resolved by the engine's lookup
            guard flowsToTarget else { continue }
            if !isBooked(item, from: .source) { continue }
            createOrSkip(on: .target, item, &plan)
        }
        for item in target where !pairedTarget.contains(item.id) {
            if isCopy(item, madeFrom: .source) { continue }
            guard flowsToSource else { continue }
            if !isBooked(item, from: .target) { continue }
            createOrSkip(on: .source, item, &plan)
        }
    }

    /// Whether an item is copied to the other side at all: a mail its owner sent (a reply) is
    /// booked only when the side it comes from carries `replies` (the legacy profile does not).
    func isBooked(_ item: ItemState, from side: EndpointRole) -> Bool {
        guard case .mail(let mail) = item.record, mail.folder == .sentItems else { return true }
        return capabilities(side).mailStateChanges.contains(.replies)
    }

    /// Whether `item` was stamped by this connector as a copy of an item on `origin`.
    func isCopy(_ item: ItemState, madeFrom origin: EndpointRole) -> Bool {
        guard let key = item.syncKey, let parsed = SyncKeys.origin(of: key, scope: keyScope) else {
            return false
        }
        return parsed.role == origin
    }

    func createOrSkip(on side: EndpointRole, _ item: ItemState, _ plan: inout SyncPlan) {
        let origin = side.other
        let problems = item.record.validate()
        if !problems.isEmpty {
            plan.skipped.append((origin, item.id, item.record.displayName, problems.joined(separator: "; ")))
            return
        }
        plan.actions.append(
            .create(on: side, origin: item, key: SyncKeys.make(scope: keyScope, origin: origin, id: item.id))
        )
    }

    /// Pairs an item with its stamped copy; differing content counts as a change of the newer side.
    func adopt(source: ItemState, target: ItemState, key: SyncKey, _ plan: inout SyncPlan) {
        let mapping = Mapping(
            sourceID: source.id, targetID: target.id, sourceVersion: source.version, targetVersion: target.version,
            sourceHash: hash(source.record, on: .source), targetHash: hash(target.record, on: .target), syncKey: key)
        plan.actions.append(.link(mapping, adopted: true))
        if !sameContent(source.record, target.record) {
            let stale = Mapping(sourceID: source.id, targetID: target.id, syncKey: key)
            resolveConflict(stale, source: source, target: target, &plan)
        }
    }
}
