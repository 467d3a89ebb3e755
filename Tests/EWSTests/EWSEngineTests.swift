import ConnectorAPI
import ExchangeSim
import Foundation
import Logging
import Testing

@testable import ConnectorHost
@testable import Connectors

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
            definition: definition, user: UserBinding(crmUser: "MM", mailbox: "mm@example.test"),
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
