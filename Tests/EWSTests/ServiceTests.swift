import ConnectorAPI
import ConnectorHost
import Connectors
import ExchangeSim
import FlowFactDevelopment
import Foundation
import Logging
import ODBC
import TestSupport
import Testing

/// A FlowFact database, an Exchange simulator and a configuration for the service tests.
final class ServiceFixture: @unchecked Sendable {
    let directory: URL
    let db: ODBCConnection
    let connection: String
    let server: SimServer
    /// How the `exchange` adapter signs in: `forms` when the simulator wants its login form.
    let ewsAuth: String

    init(
        addresses: Int = 5, appointments: Int = 2, tasks: Int = 1, latency: Duration = .zero,
        simulator: (inout SimOptions) -> Void = { _ in }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("svc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        connection = "Driver=SQLite3;Database=\(directory.path)/flowfact.sqlite"
        db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        try seeder.seed(
            FlowFactSeeder.Counts(
                users: 2, addresses: addresses, appointments: appointments, tasks: tasks, mails: 0, syncShare: 1))
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test", "js@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "right")]
        options.impersonation = ["svc@example.test"]
        options.latency = latency
        simulator(&options)
        ewsAuth = options.auth.isForms ? "forms" : "basic"
        server = SimServer(service: try SimService(options: options))
        try await server.start()
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func yaml(
        service: String = "", extraAdapters: String = "", users: String? = nil, batch: Int = 50,
        interval: String = "50ms", extraConnectors: String = ""
    ) -> String {
        """
        state: { path: \(directory.path)/state.sqlite }
        engine: { retry_backoff: 1ms }
        service: {\(service.split(separator: "\n").joined(separator: ", "))}
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)" }
          exchange: { type: ews, url: "\(server.url)", auth: \(ewsAuth), username: svc@example.test, password: right, batch_size: \(batch) }
        \(extraAdapters)
        users:
        \(users ?? "  - { id: MM, flowfact: MM, exchange: mm@example.test }\n  - { id: JS, flowfact: JS, exchange: js@example.test }")
        connectors:
          - { name: contacts, kind: address, source: flowfact, target: exchange, interval: \(interval) }
        \(extraConnectors)
        """
    }

    func deployment(_ yaml: String) throws -> Deployment {
        try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "svc.yaml", baseDirectory: directory)
    }

    /// Every item of a kind the FlowFact side has in scope for a user.
    func flowfactItems(user: String, kind: DataKind) async throws -> [ItemState] {
        let settings = try deployment(yaml()).adapters["flowfact"]!.settings
        let adapter = try FlowFactAdapter.type.make(
            settings, AdapterContext(instanceName: "ff", baseDirectory: directory, log: { _, _ in }))
        defer { Task { await adapter.shutdown() } }
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "t", kind: kind, role: .source,
                user: user, account: FlowFactAdapter.type.account(on: "flowfact", ["user": user])))
        return try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])).changes.compactMap {
            if case .upsert(let state) = $0 { state } else { nil }
        }
    }

    /// Contacts in a mailbox's contacts folder.
    func exchangeContacts(_ mailbox: String) async throws -> [ItemState] {
        try await exchangeItems(mailbox, kind: .address)
    }

    /// An EWS endpoint on a mailbox's default folder for a kind, as Outlook's changes are made.
    func exchangeEndpoint(_ mailbox: String, kind: DataKind) async throws -> any SyncEndpoint {
        let settings = try deployment(yaml()).adapters["exchange"]!.settings
        let adapter = try EWSAdapter.type.make(
            settings, AdapterContext(instanceName: "t", baseDirectory: directory, log: { _, _ in }))
        return try await adapter.endpoint(
            for: EndpointScope(
                connector: "t", kind: kind, role: .target, user: "X",
                account: EWSAdapter.type.account(on: "exchange", ["mailbox": mailbox])))
    }

    /// The items of a kind in a mailbox's default folder for it.
    func exchangeItems(_ mailbox: String, kind: DataKind) async throws -> [ItemState] {
        let settings = try deployment(yaml()).adapters["exchange"]!.settings
        let adapter = try EWSAdapter.type.make(
            settings, AdapterContext(instanceName: "t", baseDirectory: directory, log: { _, _ in }))
        defer { Task { await adapter.shutdown() } }
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "t", kind: kind, role: .target, user: "X",
                account: EWSAdapter.type.account(on: "exchange", ["mailbox": mailbox])))
        let set = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        return set.changes.compactMap {
            if case .upsert(let state) = $0 { state } else { nil }
        }
    }
}

extension Logger {
    /// A logger for tests that only shows critical messages.
    static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }
}

@Suite("Running as a service", .serialized)
struct ServiceTests {
    var quietLogger: Logger { .quiet }

    @Test(
        "a mailbox with wrong credentials is disabled with its reason while the others keep syncing; enable brings it back"
    )
    func disabledMailbox() async throws {
        let f = try await ServiceFixture()
        defer { Task { await f.server.stop() } }
        let yaml = f.yaml(
            service:
                "disable_after: 2\nfailure_backoff: 10ms\nmax_failure_backoff: 20ms\nmax_idle_interval: 100ms\nconcurrency: 2",
            extraAdapters:
                "  stale: { type: ews, url: \"\(f.server.url)\", auth: basic, username: svc@example.test, password: outdated }",
            users:
                "  - { id: MM, flowfact: MM, exchange: mm@example.test }\n  - { id: JS, flowfact: JS, stale: js@example.test }",
            extraConnectors:
                "  - { name: contacts-stale, kind: address, source: flowfact, target: stale, interval: 50ms }"
        )
        let deployment = try f.deployment(yaml)
        let host = try SyncHost(deployment: deployment, logger: quietLogger)
        let scheduler = Scheduler(host: host, settings: deployment.service, logger: quietLogger, stop: StopFlag())
        await scheduler.run(rounds: 6)
        await host.shutdown()
        let js = try host.store.accountState(Account(adapter: "stale", name: "js@example.test"))
        #expect(js.status == .disabled)
        #expect(js.reason?.contains("HTTP 401") == true)
        #expect(js.permanentFailures == 2)
        let mm = try host.store.accountState(Account(adapter: "exchange", name: "mm@example.test"))
        #expect(mm.status == .enabled)
        #expect(mm.lastSuccess != nil)
        #expect(try await f.exchangeContacts("mm@example.test").count == 10)
        // Disabled: no further attempts for JS while MM keeps being synced.
        let runsBefore = try host.store.lastRuns().first { $0.job.user == "JS" }?.finishedAt
        let again = Scheduler(host: host, settings: deployment.service, logger: quietLogger, stop: StopFlag())
        await again.run(rounds: 2)
        #expect(try host.store.lastRuns().first { $0.job.user == "JS" }?.finishedAt == runsBefore)
        #expect(try !host.store.enable("js@example.test").isEmpty)
        #expect(try host.store.accountState(Account(adapter: "stale", name: "js@example.test")).status == .enabled)
    }

    @Test("check names each failure: authentication, impersonation, missing mailbox, database mapping")
    func check() async throws {
        let f = try await ServiceFixture()
        defer { Task { await f.server.stop() } }
        f.server.service.update { $0.impersonationDenied = ["js@example.test"] }
        let yaml = f.yaml(
            extraAdapters:
                "  stale: { type: ews, url: \"\(f.server.url)\", auth: basic, username: svc@example.test, password: outdated }",
            users: """
                  - { id: MM, flowfact: MM, exchange: mm@example.test }
                  - { id: JS, flowfact: JS, exchange: js@example.test }
                  - { id: AZ, flowfact: AZ, exchange: gone@example.test }
                  - { id: KB, flowfact: KB, stale: mm@example.test }
                """,
            extraConnectors: "  - { name: contacts-stale, kind: address, source: flowfact, target: stale }")
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: quietLogger)
        let results = await host.check()
        await host.shutdown()
        #expect(results.contains { $0.ok && $0.name == "FlowFact database and mapping" })
        #expect(results.contains { $0.ok && $0.name.hasPrefix("mm@example.test address folder") })
        #expect(results.contains { !$0.ok && $0.message.contains("may not impersonate js@example.test") })
        #expect(results.contains { !$0.ok && $0.message.contains("no mailbox gone@example.test") })
        #expect(results.contains { !$0.ok && $0.message.contains("authentication failed") })
        #expect(results.contains { !$0.ok && $0.name.contains("FlowFact user AZ") })
        #expect(!results.map(\.message).joined().contains("outdated"))
    }

    @Test(
        "a server down for a moment is one failed round of the mailbox, not one per connector; it syncs again within one interval"
    )
    func serverRestart() async throws {
        let f = try await ServiceFixture()
        let port = try #require(URLComponents(string: f.server.url)?.port)
        let interval = 2.0
        let yaml =
            f.yaml(users: "  - { id: MM, flowfact: MM, exchange: mm@example.test }", interval: "2s")
            + "\n  - { name: calendar, kind: calendar, source: flowfact, target: exchange, interval: 2s }"
            + "\n  - { name: tasks, kind: task, source: flowfact, target: exchange, interval: 2s }"
        let deployment = try f.deployment(yaml)
        // The server goes down (its address stays in the configuration).
        await f.server.stop()
        let host = try SyncHost(deployment: deployment, logger: quietLogger)
        let stop = StopFlag()
        let scheduler = Scheduler(host: host, settings: deployment.service, logger: quietLogger, stop: stop)
        let running = Task { await scheduler.run() }

        // All three connectors of the mailbox fail while the server is down.
        let deadline = Date().addingTimeInterval(40)
        while try host.store.lastRuns().filter({ $0.status == "failed" }).count < 3 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try host.store.lastRuns().filter({ $0.status == "failed" }).count == 3)
        let down = try host.store.accountState(Account(adapter: "exchange", name: "mm@example.test"))
        #expect(down.status == .failing)
        // One failed round, however many connectors failed in it.
        #expect(down.failures == 1)

        // The server comes back on the same address; the mailbox resumes within one interval.
        f.server.service.update { $0.port = port }
        let back = SimServer(service: f.server.service)
        try await back.start()
        defer { Task { await back.stop() } }
        let backAt = Date()
        while try host.store.accountState(Account(adapter: "exchange", name: "mm@example.test")).lastSuccess == nil
            && Date().timeIntervalSince(backAt) < 30
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        let resumedAfter = Date().timeIntervalSince(backAt)
        stop.raise()
        await running.value
        await host.shutdown()
        let state = try host.store.accountState(Account(adapter: "exchange", name: "mm@example.test"))
        let runs = try host.store.lastRuns().map { "\($0.status) \($0.message ?? "")" }
        #expect(state.status == .enabled, "\(runs)")
        #expect(state.lastSuccess != nil)
        // Within one interval, plus the time a run takes on a busy test machine.
        #expect(resumedAfter < interval + 8, "resumed \(resumedAfter) s after the server was back")
    }
}

final class Output: @unchecked Sendable {
    let lock = NSLock()
    var text = ""
    func append(_ data: Data) { lock.withLock { text += String(decoding: data, as: UTF8.self) } }
    var value: String { lock.withLock { text } }
}

@Suite("connector-host run as a process", .serialized)
struct ServiceProcessTests {
    /// Starts `connector-host run` with the config; its log (stderr, through the pipe) collects in the output.
    func startService(config: URL) throws -> (Process, Output, Pipe) {
        let process = Process()
        process.executableURL = Binary.connectorHost
        process.arguments = ["run", "--config", config.path]
        let errors = Pipe()
        let output = Output()
        errors.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, output, errors)
    }

    @Test("run syncs on schedule, serves /metrics and /health, and stops on SIGTERM mid-run with state intact")
    func sigtermMidBatch() async throws {
        let f = try await ServiceFixture(addresses: 120, latency: .milliseconds(60))
        defer { Task { await f.server.stop() } }
        let config = f.directory.appendingPathComponent("connectors.yaml")
        try f.yaml(
            service: "metrics_address: 127.0.0.1:0\nlog_format: json\nshutdown_timeout: 20s\nconcurrency: 1", batch: 10,
            interval: "1s"
        )
        .write(to: config, atomically: true, encoding: .utf8)
        let (process, output, errors) = try startService(config: config)

        // Wait until the first write batches went through.
        let deadline = Date().addingTimeInterval(30)
        while (f.server.service.counts["CreateItem"] ?? 0) < 2 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect((f.server.service.counts["CreateItem"] ?? 0) >= 2)

        // /metrics and /health while it runs.
        let port = try #require(
            output.value.range(of: #"127\.0\.0\.1:(\d+)/metrics"#, options: .regularExpression).map {
                String(output.value[$0]).split(separator: ":")[1].split(separator: "/")[0]
            })
        let health = try curlGet("http://127.0.0.1:\(port)/health")
        #expect(health.contains("\"status\":\"ok\""))

        // SIGINT starts the graceful stop; a second signal while it runs exits at once. Either way
        // the committed state must be consistent.
        process.interrupt()
        let signalDeadline = Date().addingTimeInterval(10)
        while !output.value.contains("stop signal received") && Date() < signalDeadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(output.value.contains("stop signal received"))
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let stopDeadline = Date().addingTimeInterval(25)
        while process.isRunning && Date() < stopDeadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0 || process.terminationStatus == 130)
        errors.fileHandleForReading.readabilityHandler = nil

        // State intact: a restart finishes the work with no duplicates.
        let deployment = try f.deployment(f.yaml())
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce()
        await host.shutdown()
        #expect(reports.allSatisfy { $0.status == .ok }, "\(reports.map { $0.message ?? "" })")
        for mailbox in ["mm@example.test", "js@example.test"] {
            let contacts = try await f.exchangeContacts(mailbox)
            #expect(contacts.count == 240, "\(mailbox)")
            #expect(Set(contacts.compactMap(\.syncKey)).count == 240, "\(mailbox)")
        }
    }

    @Test("a graceful stop lets the batch in flight finish; /metrics shows the counters")
    func gracefulStopAndMetrics() async throws {
        let f = try await ServiceFixture(addresses: 60, latency: .milliseconds(40))
        defer { Task { await f.server.stop() } }
        let config = f.directory.appendingPathComponent("connectors.yaml")
        try f.yaml(
            service: "metrics_address: 127.0.0.1:0\nlog_format: logfmt\nconcurrency: 2", batch: 10, interval: "200ms"
        )
        .write(to: config, atomically: true, encoding: .utf8)
        let (process, output, errors) = try startService(config: config)
        // Wait for a complete first run of both mailboxes.
        let deadline = Date().addingTimeInterval(40)
        while output.value.components(separatedBy: "sync run finished").count < 3 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let port = try #require(
            output.value.range(of: #"127\.0\.0\.1:(\d+)/metrics"#, options: .regularExpression).map {
                String(output.value[$0]).split(separator: ":")[1].split(separator: "/")[0]
            })
        let metrics = try curlGet("http://127.0.0.1:\(port)/metrics")
        #expect(metrics.contains("connector_items_total"), "\(metrics.prefix(500))")
        #expect(metrics.contains("direction=\"source→target\"") || metrics.contains("source→target"))
        #expect(metrics.contains("connector_runs_total"))
        #expect(metrics.contains("connector_last_success_timestamp_seconds"))
        #expect(metrics.contains("connector_ews_requests_total{operation=\"CreateItem\"}"), "\(metrics.prefix(2000))")
        kill(process.processIdentifier, SIGTERM)
        let stopDeadline = Date().addingTimeInterval(25)
        while process.isRunning && Date() < stopDeadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        errors.fileHandleForReading.readabilityHandler = nil
        #expect(output.value.contains("service stopped; state saved"))
    }
}

func curlGet(_ url: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-m", "10", url]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
