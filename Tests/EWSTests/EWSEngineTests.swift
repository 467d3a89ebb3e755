import ConnectorAPI
import Connectors
import EWS
import ExchangeSim
import Foundation
import Logging
import Testing

@testable import ConnectorHost
@testable import EWSConnector

/// The engine between a memory "CRM" and an EWS mailbox in the simulator.
struct EngineOverEWS {
    let sim: SimFixture
    let crm: MemoryStore
    let store: StateStore
    var definition: ConnectorDefinition
    let kind: DataKind

    init(kind: DataKind = .address, busyRate: Double = 0, _ configure: (inout ConnectorDefinition) -> Void = { _ in })
        throws
    {
        sim = try SimFixture(busyRate: busyRate)
        crm = try MemoryStore()
        store = try StateStore(
            path: FileManager.default.temporaryDirectory.appendingPathComponent("ews-\(UUID().uuidString).sqlite"))
        var definition = ConnectorDefinition(name: "c", kind: kind)
        configure(&definition)
        self.definition = definition
        self.kind = kind
    }

    var exchangeCapabilities: Capabilities {
        Capabilities(
            kinds: Set(DataKind.allCases),
            fields: [.calendar: Set(RecordFields.names(for: .calendar)).subtracting(["organizer"])])
    }

    func sync() async -> RunReport {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var settings = EngineSettings()
        settings.retryBackoff = .milliseconds(1)
        settings.retryAttempts = 6
        let engine = SyncEngine(store: store, settings: settings, logger: logger)
        let job = SyncJob(
            definition: definition, user: "MM",
            accounts: (Account(adapter: "crm", name: "MM"), Account(adapter: "exchange", name: "mm@example.test")),
            source: crm.endpoint(kind: kind),
            target: sim.endpoint(kind), sourceCapabilities: Capabilities(kinds: Set(DataKind.allCases)),
            targetCapabilities: exchangeCapabilities)
        return await engine.run(job)
    }

    func exchangeItems() async throws -> [ItemState] {
        try await sim.endpoint(kind).changes(ChangeRequest(cursor: nil, known: [:])).changes.compactMap {
            if case .upsert(let state) = $0 { state } else { nil }
        }
    }
}

@Suite("Two-way sync with the simulator")
struct EWSEngineTests {
    @Test("a storm of 30 % ErrorServerBusy converges with nothing lost or duplicated")
    func busyStorm() async throws {
        let f = try EngineOverEWS(busyRate: 0.3)
        for i in 0..<120 { f.crm.insert(.address(Address(givenName: "P\(i)", familyName: "Müller"))) }
        var runs = 0
        var report = await f.sync()
        while (report.status != .ok || !report.counts.isEmpty) && runs < 15 {
            runs += 1
            report = await f.sync()
        }
        #expect(report.status == .ok, "\(report.message ?? "") \(report.failures)")
        f.sim.service.update { $0.busyRate = 0 }
        let items = try await f.exchangeItems()
        #expect(items.count == 120)
        #expect(Set(items.map(\.record.displayName)).count == 120)
        #expect(f.crm.items.count == 120)
        #expect(f.sim.service.counts["ErrorServerBusy", default: 0] >= 10)
    }

    @Test("changes on both sides and conflicts resolve by policy against real change keys")
    func conflicts() async throws {
        let f = try EngineOverEWS { $0.conflict = .sourceWins }
        let id = f.crm.insert(.address(Address(givenName: "Anna", familyName: "Schäfer", notes: "alt")))
        #expect(await f.sync().status == .ok)
        let exchange = f.sim.endpoint(.address)
        let copy = try #require(try await f.exchangeItems().first)
        // Outlook edits the contact; the CRM edits it too.
        guard case .address(var edited) = copy.record else { return }
        edited.notes = "Outlook"
        _ = try await exchange.apply([
            .update(id: copy.id, expectedVersion: copy.version, record: .address(edited), fields: ["notes"])
        ])
        f.crm.update(id) {
            if case .address(var a) = $0 {
                a.notes = "CRM"
                $0 = .address(a)
            }
        }
        let report = await f.sync()
        #expect(report.counts["conflicts"] == 1)
        let after = try #require(try await f.exchangeItems().first)
        #expect((after.record.value as? Address)?.notes == "CRM")
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("an all-day event across the DST change keeps its dates both ways")
    func allDayAcrossDST() async throws {
        let f = try EngineOverEWS(kind: .calendar)
        let event = CalendarEvent(
            subject: "Umstellung",
            timing: .allDay(
                start: LocalDate(year: 2026, month: 3, day: 28), endExclusive: LocalDate(year: 2026, month: 3, day: 31))
        )
        f.crm.insert(.calendar(event))
        #expect(await f.sync().status == .ok)
        let copy = try #require(try await f.exchangeItems().first)
        #expect(copy.record == .calendar(event))
        #expect(await f.sync().counts.isEmpty)
        // And one made in Outlook comes back to the CRM with the same dates.
        let autumn = CalendarEvent(
            subject: "Herbst",
            timing: .allDay(
                start: LocalDate(year: 2026, month: 10, day: 24),
                endExclusive: LocalDate(year: 2026, month: 10, day: 26)))
        _ = try await f.sim.endpoint(.calendar).apply([
            .create(syncKey: SyncKey(rawValue: "outlook"), record: .calendar(autumn))
        ])
        _ = await f.sync()
        #expect(f.crm.items.contains { $0.record == .calendar(autumn) })
    }
}

@Suite("Recurring series and their exceptions")
struct RecurrenceTests {
    static let berlin = "Europe/Berlin"
    // Monday 2026-03-23 09:00 Berlin (08:00 UTC), weekly on Monday, 10 times, across the DST change.
    static let first = Date(timeIntervalSince1970: 1_774_252_800)
    static let series = CalendarEvent(
        subject: "Jour fixe", location: "Büro",
        timing: .timed(start: first, end: first.addingTimeInterval(3600), timeZone: berlin),
        recurrence: Recurrence(
            pattern: .weekly(interval: 1, days: [.monday], firstDayOfWeek: .monday),
            range: .numbered(start: LocalDate(year: 2026, month: 3, day: 23), count: 10)))

    /// The start of occurrence `index` (1-based): the same wall-clock time in Berlin, across DST.
    static func occurrence(_ index: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: berlin)!
        return calendar.date(byAdding: .day, value: 7 * (index - 1), to: first)!
    }

    /// Changes occurrence `index` the way Outlook does: UpdateItem on an OccurrenceItemId.
    func editOccurrence(_ f: EngineOverEWS, master: String, index: Int, subject: String, shift: TimeInterval)
        async throws
    {
        let original = Self.occurrence(index)
        let client = f.sim.endpoint(.calendar).client
        let messages = try await client.call("UpdateItem") { w in
            w.element(
                "m:UpdateItem",
                [("ConflictResolution", "AlwaysOverwrite"), ("SendMeetingInvitationsOrCancellations", "SendToNone")]
            ) { w in
                w.element("m:ItemChanges") { w in
                    w.element("t:ItemChange") { w in
                        w.start("t:OccurrenceItemId", [("RecurringMasterId", master), ("InstanceIndex", "\(index)")])
                        w.end()
                        w.element("t:Updates") { w in
                            for (uri, name, value) in [
                                ("item:Subject", "Subject", subject),
                                ("calendar:Start", "Start", EWSDate.format(original.addingTimeInterval(shift))),
                                ("calendar:End", "End", EWSDate.format(original.addingTimeInterval(shift + 3600))),
                            ] {
                                w.element("t:SetItemField") { w in
                                    w.start("t:FieldURI", [("FieldURI", uri)])
                                    w.end()
                                    w.element("t:CalendarItem") { w in w.element("t:\(name)", value) }
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(messages.first?.success == true, "\(messages.first?.code ?? "") \(messages.first?.text ?? "")")
    }

    @Test("an occurrence edited in Outlook stays one series with one exception in the CRM")
    func exceptionFromExchange() async throws {
        let f = try EngineOverEWS(kind: .calendar)
        let crmID = f.crm.insert(.calendar(Self.series))
        #expect(await f.sync().status == .ok)
        let master = try #require(try await f.exchangeItems().first)
        try await editOccurrence(f, master: master.id, index: 3, subject: "Jour fixe (verschoben)", shift: 7200)
        let report = await f.sync()
        #expect(report.counts["target→source update"] == 1, "\(report.counts) \(report.message ?? "")")
        #expect(f.crm.items.count == 1)
        guard case .calendar(let event)? = f.crm.item(crmID)?.record else {
            Issue.record("no event")
            return
        }
        let exceptions = event.recurrence?.modifiedOccurrences ?? []
        #expect(exceptions.count == 1)
        #expect(exceptions.first?.originalStart == Self.occurrence(3))
        #expect(exceptions.first?.start == Self.occurrence(3).addingTimeInterval(7200))
        #expect(exceptions.first?.subject == "Jour fixe (verschoben)")
        #expect(try await f.exchangeItems().count == 1)
        #expect(await f.sync().counts.isEmpty)

        // The CRM changes the series: the exception survives in Exchange.
        f.crm.update(crmID) {
            if case .calendar(var e) = $0 {
                e.location = "Besprechungsraum"
                $0 = .calendar(e)
            }
        }
        let rename = await f.sync()
        #expect(rename.counts["source→target update"] == 1)
        let after = try #require(try await f.exchangeItems().first)
        guard case .calendar(let exchangeEvent) = after.record else { return }
        #expect(exchangeEvent.location == "Besprechungsraum")
        #expect(exchangeEvent.recurrence?.modifiedOccurrences.count == 1)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("an occurrence deleted in Outlook is a deleted occurrence in the CRM, not ignored")
    func deletedOccurrence() async throws {
        let f = try EngineOverEWS(kind: .calendar)
        let crmID = f.crm.insert(.calendar(Self.series))
        _ = await f.sync()
        let master = try #require(try await f.exchangeItems().first)
        let client = f.sim.endpoint(.calendar).client
        _ = try await client.call("DeleteItem") { w in
            w.element(
                "m:DeleteItem", [("DeleteType", "MoveToDeletedItems"), ("SendMeetingCancellations", "SendToNone")]
            ) { w in
                w.element("m:ItemIds") { w in
                    w.start("t:OccurrenceItemId", [("RecurringMasterId", master.id), ("InstanceIndex", "5")])
                    w.end()
                }
            }
        }
        _ = await f.sync()
        guard case .calendar(let event)? = f.crm.item(crmID)?.record else { return }
        #expect(event.recurrence?.deletedOccurrences == [Self.occurrence(5)])
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("a series with an exception made in the CRM arrives in Exchange as one series with that exception")
    func exceptionFromCRM() async throws {
        let f = try EngineOverEWS(kind: .calendar)
        var event = Self.series
        let original = Self.occurrence(2)
        event.recurrence?.modifiedOccurrences = [
            OccurrenceException(
                originalStart: original, start: original.addingTimeInterval(3600),
                end: original.addingTimeInterval(7200), subject: "Später")
        ]
        event.recurrence?.deletedOccurrences = [Self.occurrence(4)]
        f.crm.insert(.calendar(event))
        #expect(await f.sync().status == .ok)
        let items = try await f.exchangeItems()
        #expect(items.count == 1)
        guard case .calendar(let stored)? = items.first?.record else {
            Issue.record("no item")
            return
        }
        #expect(stored.recurrence?.modifiedOccurrences == event.recurrence?.modifiedOccurrences)
        #expect(stored.recurrence?.deletedOccurrences == event.recurrence?.deletedOccurrences)
        #expect(stored == event)
        #expect(await f.sync().counts.isEmpty)
    }
}
