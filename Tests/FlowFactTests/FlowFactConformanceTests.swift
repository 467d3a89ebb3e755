import ConnectorAPI
import Connectors
import EndpointConformance
import FlowFactDevelopment
import Foundation
import ODBC
import TestSupport
import Testing

@testable import Connectors
@testable import FlowFactConnector

/// The `flowfact-odbc` adapter on each test database under the endpoint conformance suite.
final class FlowFactSubject: ConformanceSubject, @unchecked Sendable {
    let database: TestDatabase
    let db: ODBCConnection
    let adapter: any Adapter
    let settings: Settings
    var kinds: [DataKind] { [.address, .calendar, .task] }
    var pagingCount: Int { 12 }

    /// `extra` settings of the instance besides the connection; by default the Outlook category
    /// "VIP" is the Merkmal "Kunde", so mapped and unmapped categories are both checked.
    init(
        _ database: TestDatabase, connection given: String? = nil,
        extra: [String: SettingValue] = ["categories": .mapping(["VIP": .string("Kunde")])]
    ) throws {
        self.database = database
        let connection = try given ?? database.freshConnectionString()
        db = try ODBCConnection(connectionString: connection)
        if given == nil { try FlowFactSeeder(connection: db).initialize() }
        try FlowFactSeeder(connection: db).seed(
            FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0))
        settings = Settings(
            ["connection": .secret(Secret(connection)), "batch_size": .integer(5)].merging(extra) { $1 })
        adapter = try FlowFactAdapter.type.make(
            settings,
            AdapterContext(
                instanceName: "flowfact", baseDirectory: FileManager.default.temporaryDirectory, log: { _, _ in }))
    }

    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint {
        try await adapter.endpoint(
            for: EndpointScope(
                connector: "conformance", kind: kind, role: .source, user: "MM",
                account: FlowFactAdapter.type.account(on: "flowfact", ["user": "MM"])))
    }

    /// Deletes the row as FlowFact's client would without the deletion log.
    func removeBehind(_ kind: DataKind, id: ItemID) async throws {
        let (table, links, link) = kind == .address ? ("AD", "ADMKM", "AD_ID") : ("AKT", "AKTMKM", "AKT_ID")
        try db.execute("DELETE FROM \"\(links)\" WHERE \"\(link)\" = ?", [.text(id)])
        try db.execute("DELETE FROM \"\(table)\" WHERE \"ID\" = ?", [.text(id)])
    }

    func fields(_ kind: DataKind) -> Set<String> {
        FlowFactAdapter.type.capabilities(settings).fields[kind] ?? []
    }

    /// Reads in pages of a few rows, so twelve items span several.
    func reading<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await FlowFactReadPages.$current.withValue(FlowFactReadPages(keyset: 4, idList: 5, byID: 3)) {
            try await body()
        }
    }
}

@Suite("Conformance: flowfact-odbc on SQLite, PostgreSQL and SQL Server's dialect", .serialized)
struct FlowFactConformanceTests {
    @Test(arguments: TestDatabase.allCases, ConformanceCheck.allCases)
    func conformance(_ database: TestDatabase, _ check: ConformanceCheck) async throws {
        let subject = try FlowFactSubject(database)
        try await check.run(on: subject)
        await subject.adapter.shutdown()
    }
}

@Suite("FlowFact: what the conformance suite found")
struct FlowFactConformanceFindingTests {
    @Test(
        "a task whose reminder is on another day than its due date keeps both", arguments: [TestDatabase.sqlite]
    )
    func reminderOnAnotherDay(_ database: TestDatabase) async throws {
        let subject = try FlowFactSubject(database)
        defer { Task { await subject.adapter.shutdown() } }
        let endpoint = try await subject.endpoint(.task)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        let due = LocalDate(year: 2027, month: 3, day: 10)
        let reminder = calendar.date(from: DateComponents(year: 2027, month: 3, day: 9, hour: 9))!
        let results = try await endpoint.apply([
            .create(
                syncKey: SyncKey(rawValue: "gap-1"),
                record: .task(TaskItem(subject: "Erinnerung am Vortag", dueDate: due, reminderAt: reminder)))
        ])
        guard case .success(let id, _, _)? = results.first else {
            Issue.record("create failed: \(results)")
            return
        }
        let read = try await endpoint.read(ids: [id])[id]
        guard case .task(let task)? = read?.record else {
            Issue.record("cannot read the task")
            return
        }
        // FlowFact has one follow-up column (VORLAGE): the reminder goes there, the due date is kept
        // in the connector table while VORLAGE still holds that reminder.
        #expect(task.dueDate == due)
        #expect(task.reminderAt == reminder)
        let vorlage = try subject.db.rows("SELECT \"VORLAGE\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(id)])
        #expect(vorlage.first?[0].timestamp == ODBCTimestamp(year: 2027, month: 3, day: 9, hour: 9))
    }
}
