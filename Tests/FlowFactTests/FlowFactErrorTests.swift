import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import Logging
import ODBC
import TestSupport
import Testing

@Suite("FlowFact adapter: database errors are reported with SQLSTATE and mapping key")
struct FlowFactErrorTests {
    /// The report of the first job of one `sync --once` with a changed configuration.
    func firstReport(_ h: Harness, yaml: String) async throws -> RunReport {
        let deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "test.yaml", baseDirectory: h.directory)
        let host = try SyncHost(deployment: deployment, logger: .init(label: "test"))
        let report = try #require(await host.syncOnce().first)
        await host.shutdown()
        return report
    }

    func contacts(_ h: Harness) -> String {
        "  - { name: contacts, kind: address, source: flowfact, target: \(h.exchange), filter: { merkmale: [Outlook-Sync] } }"
    }

    @Test("a wrong password names the SQLSTATE and never shows the password")
    func wrongPassword() async throws {
        let h = try Harness(.postgres, seed: Harness.counts())
        h.connectors = contacts(h)
        let good = h.adapterConnectionString
        let yaml = h.yaml.replacingOccurrences(
            of: good, with: good.replacingOccurrences(of: "Pwd=connector", with: "Pwd=${FF_PW}"))
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all), environment: ["FF_PW": "Falsch-42x"]
        ).load(
            yaml: yaml, file: "test.yaml", baseDirectory: h.directory)
        let host = try SyncHost(deployment: deployment, logger: .init(label: "test"))
        let report = try #require(await host.syncOnce().first)
        await host.shutdown()
        #expect(report.status == .failed)
        let message = report.message ?? ""
        #expect(message.contains("cannot connect to the FlowFact database"))
        #expect(message.contains("SQLSTATE 08001"))
        #expect(message.contains("password authentication failed"))
        #expect(!message.contains("Falsch-42x"))
    }

    @Test("a missing table is reported at start-up with its mapping key", arguments: TestDatabase.allCases)
    func missingTable(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.adapterSettings = "tables: { addresses: ADRESSEN }"
        h.connectors = contacts(h)
        let report = try #require(try await h.sync().first)
        #expect(report.status == .failed)
        let message = report.message ?? ""
        #expect(message.contains("mapping key 'tables.addresses'"))
        #expect(message.contains("the database has no table 'ADRESSEN'"))
        #expect(message.contains("map it under 'tables:'"))
        #expect(message.contains("SQLSTATE \(database.runsOnPostgres ? "42P01" : "HY000")"))
    }

    @Test("a wrong column name is reported at start-up with its mapping key", arguments: TestDatabase.allCases)
    func wrongColumn(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.adapterSettings = "columns: { addresses.notes: BEMERKUNG }"
        h.connectors = contacts(h)
        let report = try #require(try await h.sync().first)
        #expect(report.status == .failed)
        let message = report.message ?? ""
        #expect(message.contains("mapping key 'columns.addresses.notes'"))
        #expect(message.contains("column 'BEMERKUNG' of table 'AD' does not exist"))
        #expect(message.contains("map it under 'columns:'"))
        #expect(message.contains("SQLSTATE \(database.runsOnPostgres ? "42703" : "HY000")"))
    }

    @Test(
        "a database that is not FlowFact's is named as such, with what to run; nothing of ours is created in it",
        arguments: TestDatabase.allCases)
    func notFlowFact(_ database: TestDatabase) async throws {
        let h = try Harness(database, initialize: false)
        h.connectors = contacts(h)
        let report = try #require(try await h.sync().first)
        #expect(report.status == .failed)
        let message = report.message ?? ""
        #expect(
            message.contains("the database has none of FlowFact's tables (AD, ADMKM, AKT, AKTMKM, …)"), "\(message)")
        #expect(message.contains("connector-dev flowfact init"))
        // No sync-key table was made in a database that is not FlowFact's.
        let db = try ODBCConnection(connectionString: h.adapterConnectionString)
        #expect((try? db.rows("SELECT 1 FROM \"CONNECTOR_SYNCKEY\" WHERE 1 = 0")) == nil)
    }

    @Test("an SQLite database file that does not exist is an error, not a new empty file")
    func missingSQLiteFile() async throws {
        let h = try Harness(.sqlite, seed: Harness.counts())
        let missing = h.directory.appendingPathComponent("gibt-es-nicht.sqlite").path
        h.connectors = contacts(h)
        let report = try await firstReport(
            h,
            yaml: h.yaml.replacingOccurrences(of: h.adapterConnectionString, with: "Driver=SQLite3;Database=\(missing)")
        )
        #expect(report.status == .failed)
        #expect(
            report.message?.contains("the SQLite database \(missing) does not exist") == true, "\(report.message ?? "")"
        )
        #expect(report.message?.contains("connector-dev flowfact init --connection") == true)
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("an unusable name in the mapping is refused before it reaches SQL")
    func injectedName() async throws {
        let h = try Harness(.sqlite, seed: Harness.counts())
        h.adapterSettings = "columns: { addresses.notes: \"NOTIZ\\\" FROM AD; --\" }"
        h.connectors = contacts(h)
        let report = try #require(try await h.sync().first)
        #expect(report.status == .failed)
        #expect(report.message?.contains("mapping key 'columns.addresses.notes'") == true)
        #expect(report.message?.contains("not a valid table or column name") == true)
    }

    @Test("an unknown Merkmal or user is named")
    func unknownNames() async throws {
        let h = try Harness(.sqlite, seed: Harness.counts())
        h.connectors =
            "  - { name: contacts, kind: address, source: flowfact, target: \(h.exchange), filter: { merkmale: [Outlok-Sync] } }"
        #expect(try await h.sync().first?.message?.contains("Merkmal 'Outlok-Sync' does not exist") == true)
        h.connectors = contacts(h)
        h.users = "  - { id: XY, flowfact: XY, \(h.exchange): xy@example.test }"
        #expect(try await h.sync().first?.message?.contains("FlowFact user 'XY' is not in the users table") == true)
    }

    @Test("an unreachable server fails the run with SQLSTATE 08001 and changes nothing")
    func unreachable() async throws {
        let h = try Harness(.postgres, seed: Harness.counts())
        h.connectors = contacts(h)
        let exchange = try h.mailbox(.address)
        exchange.insert(.address(Address(givenName: "Bleibt", familyName: "Hier")))
        let report = try await firstReport(h, yaml: h.yaml.replacingOccurrences(of: "Port=5432", with: "Port=1"))
        #expect(report.status == .failed)
        #expect(report.message?.contains("SQLSTATE 08001") == true)
        #expect(exchange.items.count == 1)
    }

    @Test("the server dropping the session mid-run: the adapter reconnects once and the run completes")
    func serverGoneMidRun() async throws {
        let h = try Harness(.postgres, seed: Harness.counts())
        h.connectors = contacts(h)
        try h.insertAddress(given: "Aus", family: "FlowFact")
        let exchange = try h.mailbox(.address)
        exchange.insert(.address(Address(givenName: "Aus", familyName: "Outlook")))
        // The engine writes to Exchange first, then to FlowFact: cut the FlowFact session in between.
        let terminated = Counter()
        exchange.faults.beforeApply = { store in
            store.faults.beforeApply = nil
            if let count = try? h.terminateAdapterSession() { terminated.add(count) }
        }
        let report = try #require(try await h.sync().first)
        #expect(terminated.value == 1)
        #expect(report.status == .ok, "\(report.message ?? "") \(report.failures)")
        #expect(report.counts["target→source create"] == 1)
        #expect(try h.count("SELECT COUNT(*) FROM \"AD\" WHERE \"NAME\" = 'Outlook'") == 1)
        #expect(try await h.sync().first?.counts.isEmpty == true)
    }

    @Test("another program writing to the SQLite database holds up the run's writes but loses none")
    func lockedByAnotherWriter() async throws {
        let h = try Harness(.sqlite, seed: Harness.counts())
        h.connectors = contacts(h)
        // The adapter waits 200 ms for a lock, then the engine tries again after 300 ms.
        h.connectionOptions = ";Timeout=200"
        h.engineSettings = "retry_backoff: 300ms"
        try h.insertAddress(given: "Aus", family: "FlowFact")
        let exchange = try h.mailbox(.address)
        exchange.insert(.address(Address(givenName: "Aus", familyName: "Outlook")))
        // Another program (FlowFact's client, say) holds a write transaction until the run's first
        // write to FlowFact has come back.
        let other = try ODBCConnection(connectionString: h.connectionString + ";Timeout=5000")
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread {
            try? other.transaction {
                _ = try other.rows("SELECT COUNT(*) FROM \"AD\"")
                try other.execute("UPDATE \"AD\" SET \"POSITION\" = \"POSITION\"")
                holding.signal()
                _ = release.wait(timeout: .now() + 120)
            }
            released.signal()
        }.start()
        holding.wait()
        var hooks = EngineHooks()
        let attempts = Counter()
        hooks.afterApply = { side, _ in
            guard side == .source else { return }
            attempts.add(1)
            release.signal()
        }
        let report = try #require(try await h.sync(hooks: hooks).first)
        released.wait()
        #expect(attempts.value == 2, "the first write met the lock, the second went through")
        #expect(report.status == .ok, "\(report.message ?? "") \(report.failures)")
        #expect(report.counts["target→source create"] == 1)
        #expect(report.retries.retries == 1)
        #expect(try h.count("SELECT COUNT(*) FROM \"AD\" WHERE \"NAME\" = 'Outlook'") == 1)
        #expect(try await h.sync().first?.counts.isEmpty == true)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.withLock { count += n } }
    var value: Int { lock.withLock { count } }
}

@Suite("FlowFact lookups across runs")
struct FlowFactLookupTests {
    @Test("a long-running host remembers the user and Merkmal ids between runs; a new host looks them up again")
    func scopeRemembered() async throws {
        let h = try Harness(.sqlite, seed: Harness.counts(addresses: 4))
        h.connectors =
            "  - { name: contacts, kind: address, source: flowfact, target: \(h.exchange), filter: { merkmale: [Outlook-Sync] } }"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: try h.deployment(), logger: logger)
        #expect(await host.syncOnce().first?.status == .ok)
        // Renamed in FlowFact: the running service keeps the resolved id for a few minutes.
        try h.db.execute(
            "UPDATE \"MKM\" SET \"NAME\" = 'Outlook-Abgleich' WHERE \"ID\" = ?", [.text(Harness.syncMerkmal)])
        #expect(await host.syncOnce().first?.status == .ok)
        await host.shutdown()
        let fresh = try await h.sync()
        #expect(fresh.first?.status == .failed)
        #expect(fresh.first?.message?.contains("Merkmal 'Outlook-Sync' does not exist") == true)
    }
}
