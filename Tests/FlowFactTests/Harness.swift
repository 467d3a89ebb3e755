import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import Logging
import ODBC
import TestSupport
import Testing

/// A seeded FlowFact-like database on a real driver, a memory "Exchange" side, and a deployment
/// wiring them, run through the real config loader, host and engine.
final class Harness: @unchecked Sendable {
    let database: TestDatabase
    let connectionString: String
    let db: ODBCConnection
    let directory: URL
    let exchange = "ex" + UUID().uuidString.prefix(8).lowercased()
    /// PostgreSQL application name of the adapter's connection, so a test can cut exactly that one.
    let applicationName = "ff" + UUID().uuidString.prefix(8).lowercased()
    let zone = TimeZone(identifier: "Europe/Berlin")!
    var adapterSettings = ""
    /// The `engine:` settings.
    var engineSettings = "retry_backoff: 1ms"
    /// Appended to the adapter's connection string (e.g. `;Timeout=200` for SQLite's lock wait).
    var connectionOptions = ""
    var connectors = ""
    /// `profiles:` entries (indented by two spaces), if any.
    var profiles = ""
    /// `users:` entries; by default MM with the mailbox mm@example.test on the memory side.
    var users: String?
    var now = Date()

    init(_ database: TestDatabase, seed counts: FlowFactSeeder.Counts? = nil, initialize: Bool = true) throws {
        self.database = database
        connectionString = try database.freshConnectionString()
        db = try ODBCConnection(connectionString: connectionString)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if initialize { try FlowFactSeeder(connection: db).initialize() }
        if let counts { try FlowFactSeeder(connection: db).seed(counts) }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    static func counts(users: Int = 1, addresses: Int = 0, appointments: Int = 0, tasks: Int = 0, mails: Int = 0)
        -> FlowFactSeeder.Counts
    {
        FlowFactSeeder.Counts(
            users: users, addresses: addresses, appointments: appointments, tasks: tasks, mails: mails)
    }

    var yaml: String {
        """
        state: { path: \(directory.path)/state.sqlite }
        engine: { \(engineSettings) }
        adapters:
          flowfact:
            type: flowfact-odbc
            connection: "\(adapterConnectionString)"
        \(adapterSettings.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
          \(exchange): { type: memory }
        users:
        \(users ?? "  - { id: MM, flowfact: MM, \(exchange): mm@example.test }")
        \(profiles.isEmpty ? "" : "profiles:\n" + profiles)
        connectors:
        \(connectors)
        """
    }

    var adapterConnectionString: String {
        (database.runsOnPostgres ? connectionString + ";pqopt={application_name=\(applicationName)}" : connectionString)
            + connectionOptions
    }

    /// Ends the adapter's PostgreSQL session from the server side, as a restart or failover would.
    func terminateAdapterSession() throws -> Int {
        let admin = try ODBCConnection(connectionString: TestDatabase.postgresBase)
        defer { admin.close() }
        return try admin.rows(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?",
            [.text(applicationName)]
        ).count
    }

    func deployment() throws -> Deployment {
        try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "test.yaml", baseDirectory: directory)
    }

    /// Runs every connector once through a fresh host (as a new process would) and returns the reports.
    @discardableResult
    func sync(force: Bool = false, hooks: EngineHooks = EngineHooks()) async throws -> [RunReport] {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: try deployment(), logger: logger, hooks: hooks)
        let reports = await host.syncOnce(force: force)
        await host.shutdown()
        for report in reports where report.status == .failed {
            print("sync of \(report.job) on \(database) failed: \(report.message ?? "")")
        }
        return reports
    }

    /// The memory store standing in for a mailbox folder of a kind.
    func mailbox(_ kind: DataKind, _ mailbox: String = "mm@example.test") throws -> MemoryStore {
        try MemoryAdapter.store(instance: exchange, collection: "\(kind.rawValue)/\(mailbox)")
    }

    // MARK: Direct SQL, as a FlowFact user would change the data

    func count(_ sql: String, _ parameters: [ODBCValue] = []) throws -> Int {
        Int(try db.rows(sql, parameters).first?[0].integer ?? -1)
    }

    func value(_ sql: String, _ parameters: [ODBCValue] = []) throws -> ODBCValue {
        try db.rows(sql, parameters).first?[0] ?? .null
    }

    func stamp(_ date: Date) -> ODBCValue { .timestamp(ODBCTimestamp(date, in: zone)) }

    /// Id of the user's Merkmal and of the sync Merkmal.
    static let syncMerkmal = "3B000000-0000-4000-8000-000000000000"
    static let userMerkmalMM = "3B000000-0000-4000-8000-000000001000"
    static let userMM = "BE000000-0000-4000-8000-000000000000"
    static let termin = "7A000000-0000-4000-8000-000000000000"

    /// Inserts an address (as FlowFact's client would) and returns its id.
    @discardableResult
    func insertAddress(
        given: String, family: String, notes: String? = nil, merkmale: [String] = [Harness.syncMerkmal],
        changed: Date? = nil,
        extra: [String: ODBCValue] = [:]
    ) throws -> String {
        let id = UUID().uuidString
        let at = stamp(changed ?? now)
        var columns = [
            "ID": ODBCValue.text(id), "VORNAME": .text(given), "NAME": .text(family), "ERFDATUM": at, "AENDDATUM": at,
            "ARCHIVIERT": .integer(0),
        ]
        if let notes { columns["NOTIZ"] = .text(notes) }
        columns.merge(extra) { $1 }
        let keys = columns.keys.sorted()
        try db.execute(
            "INSERT INTO \"AD\" (\(keys.map { "\"\($0)\"" }.joined(separator: ", "))) VALUES (\(keys.map { _ in "?" }.joined(separator: ", ")))",
            keys.map { columns[$0]! })
        for merkmal in merkmale {
            try db.execute(
                "INSERT INTO \"ADMKM\" (\"AD_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\") VALUES (?, ?, 1, ?)",
                [.text(id), .text(merkmal), at])
        }
        return id
    }
}

extension MemoryStore {
    var names: [String] { items.map(\.record.displayName).sorted() }

    func address(named name: String) -> Address? {
        guard case .address(let address)? = items(named: name).first?.record else { return nil }
        return address
    }
}

extension Array where Element == RunReport {
    /// The one report of a connector.
    func of(_ connector: String) -> RunReport? { first { $0.job.connector == connector } }
}
