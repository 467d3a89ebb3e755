import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import GRDB
import Logging
import Testing

/// A state file written by the release before accounts (commit df58363, its `run` on the
/// configuration beside it in Tests/Fixtures/release-state-df58363) opens in this release with its
/// mappings, cursors and mailbox states kept.
@Suite("State from the release before accounts")
struct StateMigrationTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/release-state-df58363")

    /// A copy of the fixture and the same deployment in the current form.
    func deployment() throws -> (Deployment, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migration-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.fixture, to: directory)
        let yaml = """
            state: { path: state.sqlite }
            adapters:
              flowfact: { type: flowfact-odbc, connection: "Driver=SQLite3;Database=\(directory.path)/flowfact.sqlite" }
              exchange: { type: memory, directory: exchange }
              dead: { type: memory, directory: /dev/null/unusable }
            users:
              - { id: MM, flowfact: MM, exchange: mm@example.test }
              - { id: JS, flowfact: JS, dead: js@example.test }
            connectors:
              - { name: contacts, kind: address, source: flowfact, target: exchange, filter: { merkmale: [Outlook-Sync] } }
              - { name: calendar, kind: calendar, source: flowfact, target: exchange }
            """
        let deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "connectors.yaml", baseDirectory: directory)
        return (deployment, directory)
    }

    @Test("mappings, cursors and mailbox states are kept; the next run changes nothing")
    func keptState() async throws {
        let (deployment, directory) = try deployment()
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        let store = host.store

        // The mailbox states, under the names they had, until their accounts run.
        let states = try store.accountStates()
        let mm = try #require(states.first { $0.name == "mm@example.test" })
        #expect(mm.adapter == "" && mm.status == .enabled && mm.lastSuccess != nil)
        let js = try #require(states.first { $0.name == "js@example.test" })
        #expect(js.status == .failing && js.failures == 6)
        #expect(js.reason?.contains("/dev/null/unusable") == true)
        #expect(try store.accountState(Account(adapter: "dead", name: "js@example.test")).failures == 6)

        // The mappings the old release made, one per copy in the mailbox.
        let contacts = try MemoryAdapter.store(
            instance: "exchange", collection: "address/mm@example.test",
            directory: directory.appendingPathComponent("exchange"))
        let calendar = try MemoryAdapter.store(
            instance: "exchange", collection: "calendar/mm@example.test",
            directory: directory.appendingPathComponent("exchange"))
        let before = (contacts.items.count, calendar.items.count)
        #expect(before.0 > 0 && before.1 > 0)
        #expect(try store.mappings(JobKey(connector: "contacts", user: "MM")).count == before.0)
        #expect(try store.mappings(JobKey(connector: "calendar", user: "MM")).count == before.1)

        // The next run reads from the kept cursors and finds nothing to do: no copy made again,
        // no state forgotten (a changed account would have dropped the mappings).
        let reports = await host.syncOnce()
        #expect(reports.map(\.job.user) == ["MM", "MM"])
        for report in reports {
            #expect(report.status == .ok, "\(report.job): \(report.message ?? "")")
            #expect(report.counts.isEmpty, "\(report.job): \(report.counts)")
        }
        #expect((contacts.items.count, calendar.items.count) == before)
        #expect(try store.mappings(JobKey(connector: "contacts", user: "MM")).count == before.0)

        // The first state written for the account takes the old one over, under the instance.
        try store.recordSuccess(Account(adapter: "exchange", name: "mm@example.test"))
        let after = try store.accountStates().filter { $0.name == "mm@example.test" }
        #expect(after.map(\.adapter) == ["exchange"])
        await host.shutdown()
    }

    /// The migrations a state file records, and its tables.
    static func schema(_ path: URL) throws -> (migrations: [String], tables: [String]) {
        let queue = try DatabaseQueue(path: path.path)
        return try queue.read { db in
            (
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"),
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            )
        }
    }

    @Test(
        "a new state has account health from the start (no per-mailbox table); an older file's table is found by its columns and moved; a file the last release migrated keeps working"
    )
    func mergedHealthMigration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("merged-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fresh = directory.appendingPathComponent("fresh.sqlite")
        _ = try StateStore(path: fresh)
        let new = try Self.schema(fresh)
        #expect(new.tables.contains("account_state") && !new.tables.contains("mailbox"), "\(new.tables)")
        #expect(!new.migrations.contains("v2-mailbox-state") && new.migrations.contains("v7-account-state"))

        // A file of the release before accounts: its health moves over (see keptState); v2's record
        // stays, unused, and the file opens again.
        let old = directory.appendingPathComponent("old.sqlite")
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("state.sqlite"), to: old)
        #expect(try Self.schema(old).migrations.contains("v2-mailbox-state"))
        _ = try StateStore(path: old)
        let migrated = try Self.schema(old)
        #expect(!migrated.tables.contains("mailbox") && migrated.tables.contains("account_state"))
        #expect(migrated.migrations.contains("v7-account-state"))
        #expect(try StateStore(path: old).accountStates().count == 2)

        // A file the last release migrated records both v2 and v7: it opens as it is.
        try DatabaseQueue(path: fresh.path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v2-mailbox-state')")
        }
        let store = try StateStore(path: fresh)
        #expect(try store.accountStates().isEmpty)
        #expect(try Self.schema(fresh).migrations == (new.migrations + ["v2-mailbox-state"]).sorted())
    }
}
