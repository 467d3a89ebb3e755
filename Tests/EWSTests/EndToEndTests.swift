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

@testable import EWSConnector

/// FlowFact on SQLite through ODBC ↔ the `ews` adapter over HTTP (libcurl, NTLM) ↔ exchange-sim,
/// wired by YAML and run by the host: the product end to end.
final class EndToEnd: @unchecked Sendable {
    let directory: URL
    let db: ODBCConnection
    let connection: String
    let server: SimServer
    var password = "S3cret!"
    var connectors = ""
    /// The `ews` instance's `url`, when not the simulator's.
    var exchangeURL: String?
    /// More settings of the `ews` instance (lines indented like its keys).
    var exchangeSettings = ""

    init(denied: Set<String> = [], auth: SimOptions.Auth = .ntlm) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        connection = "Driver=SQLite3;Database=\(directory.path)/flowfact.sqlite"
        db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        try seeder.seed(FlowFactSeeder.Counts(users: 2, addresses: 6, appointments: 4, tasks: 3, mails: 0))
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test", "js@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "S3cret!")]
        options.impersonation = ["svc@example.test"]
        options.impersonationDenied = denied
        options.auth = auth
        server = SimServer(service: try SimService(options: options))
        try await server.start()
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var yaml: String {
        """
        state: { path: \(directory.path)/state.sqlite }
        engine: { retry_backoff: 1ms }
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)" }
          exchange:
            type: ews
            url: \(exchangeURL ?? server.url)
            auth: ntlm
            username: svc@example.test
            password: "${EWS_PASSWORD}"
        \(exchangeSettings)
        users:
          - { id: MM, flowfact: MM, exchange: mm@example.test }
          - { id: JS, flowfact: JS, exchange: js@example.test }
        connectors:
        \(connectors)
        """
    }

    func sync() async throws -> [RunReport] {
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all), environment: ["EWS_PASSWORD": password]
        ).load(
            yaml: yaml, file: "e2e.yaml", baseDirectory: directory)
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce()
        await host.shutdown()
        return reports
    }

    func count(_ sql: String, _ parameters: [ODBCValue] = []) throws -> Int {
        Int(try db.rows(sql, parameters).first?[0].integer ?? -1)
    }
}

@Suite("End to end: FlowFact (SQLite ODBC) ↔ EWS over HTTP ↔ exchange-sim", .serialized)
struct EndToEndTests {
    @Test("contacts, calendar and tasks sync both ways for every mapped mailbox, then stay quiet")
    func twoWay() async throws {
        let e = try await EndToEnd()
        defer { Task { await e.server.stop() } }
        e.connectors = """
              - { name: contacts, kind: address, source: flowfact, target: exchange, filter: { merkmale: [Outlook-Sync] }, target_options: { folder: CRM Kontakte } }
              - { name: calendar, kind: calendar, source: flowfact, target: exchange }
              - { name: tasks, kind: task, source: flowfact, target: exchange }
            """
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(first.map { "\($0.job) \($0.status) \($0.message ?? "")" })")
        #expect(
            first.first { $0.job.connector == "calendar" && $0.job.user == "MM" }?.counts["source→target create"] == 4)
        #expect(first.first { $0.job.connector == "tasks" && $0.job.user == "JS" }?.counts["source→target create"] == 3)
        let quiet = try await e.sync()
        #expect(quiet.allSatisfy { $0.counts.isEmpty }, "\(quiet.map(\.counts))")

        // Outlook side: a new contact in MM's CRM folder arrives in FlowFact with the sync Merkmal.
        let settings = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all), environment: ["EWS_PASSWORD": e.password]
        ).load(
            yaml: e.yaml, file: "e2e.yaml", baseDirectory: e.directory
        ).adapters["exchange"]!.settings
        let adapter = try EWSAdapter.type.make(
            settings, AdapterContext(instanceName: "x", baseDirectory: e.directory, log: { _, _ in }))
        let folderOptions = Settings(["folder": .string("CRM Kontakte")])
        let contacts = try await adapter.endpoint(
            for: EndpointScope(
                connector: "outlook", kind: .address, role: .target,
                user: "MM", account: EWSAdapter.type.account(on: "exchange", ["mailbox": "mm@example.test"]),
                options: folderOptions))
        _ = try await contacts.apply([
            .create(
                syncKey: SyncKey(rawValue: "outlook-1"),
                record: .address(Address(givenName: "Zoë", familyName: "Weiß", emails: ["z@example.test"])))
        ])
        await adapter.shutdown()
        let third = try await e.sync()
        #expect(
            third.first { $0.job.connector == "contacts" && $0.job.user == "MM" }?.counts["target→source create"] == 1)
        #expect(
            try e.count(
                "SELECT COUNT(*) FROM \"AD\" WHERE \"EMAIL\" = ? AND \"VORNAME\" = ?",
                [.text("z@example.test"), .text("Zoë")]) == 1)
        // MM's new FlowFact address goes to JS's mailbox too (addresses are shared), once: in this
        // run or the next, depending on which job ran first.
        let fourth = try await e.sync()
        let toJS = [third, fourth].compactMap {
            $0.first { $0.job.connector == "contacts" && $0.job.user == "JS" }?.counts["source→target create"]
        }
        #expect(toJS.reduce(0, +) == 1)
        #expect(try await e.sync().allSatisfy { $0.counts.isEmpty })
        #expect(e.server.service.counts["CreateItem", default: 0] > 0)
    }

    @Test("autodiscover_url works from connectors.yaml: each mailbox's server is asked there, 'url' being dead")
    func autodiscoverFromYAML() async throws {
        let e = try await EndToEnd()
        defer { Task { await e.server.stop() } }
        e.exchangeURL = "http://127.0.0.1:9/EWS/Exchange.asmx"
        e.exchangeSettings =
            "    autodiscover_url: "
            + e.server.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/autodiscover/autodiscover.xml")
        e.connectors = "  - { name: tasks, kind: task, source: flowfact, target: exchange }"
        let reports = try await e.sync()
        #expect(reports.count == 2)
        for report in reports {
            #expect(report.status == .ok, "\(report.job): \(report.message ?? "")")
            #expect(report.counts["source→target create"] == 3, "\(report.job): \(report.counts)")
        }
        #expect(e.server.service.counts["CreateItem"] ?? 0 >= 2)
    }

    @Test("a mailbox whose impersonation is denied is reported; the others sync")
    func impersonationDenied() async throws {
        let e = try await EndToEnd(denied: ["js@example.test"])
        defer { Task { await e.server.stop() } }
        e.connectors = "  - { name: calendar, kind: calendar, source: flowfact, target: exchange }"
        let reports = try await e.sync()
        let mm = try #require(reports.first { $0.job.user == "MM" })
        let js = try #require(reports.first { $0.job.user == "JS" })
        #expect(mm.status == .ok)
        #expect(mm.counts["source→target create"] == 4)
        #expect(js.status == .failed)
        #expect(js.message?.contains("ErrorImpersonateUserDenied") == true)
        #expect(js.message?.contains("js@example.test") == true)
    }

    @Test("a wrong password is reported as an authentication failure and never printed")
    func wrongPassword() async throws {
        let e = try await EndToEnd()
        defer { Task { await e.server.stop() } }
        e.password = "Falsch-7x"
        e.connectors = "  - { name: tasks, kind: task, source: flowfact, target: exchange }"
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .failed })
        #expect(reports.first?.message?.contains("HTTP 401") == true)
        #expect(reports.allSatisfy { !($0.message ?? "").contains("Falsch-7x") })
    }
}

@Suite("EWS adapter over HTTP: access modes, servers and throttling", .serialized)
struct EWSAdapterHTTPTests {
    func start(_ configure: (inout SimOptions) -> Void) async throws -> SimServer {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test", "js@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "pw")]
        configure(&options)
        let server = SimServer(service: try SimService(options: options))
        try await server.start()
        return server
    }

    func makeAdapter(
        url: String, access: String = "impersonation", mailbox: String = "mm@example.test", userURL: String? = nil,
        auth: String = "basic"
    )
        throws -> (Adapter, EndpointScope)
    {
        let settings = Settings([
            "url": .string(url), "auth": .string(auth), "username": .string("svc@example.test"),
            "password": .secret(Secret("pw")),
            "access": .string(access), "max_concurrency": .integer(4),
        ])
        let adapter = try EWSAdapter.type.make(
            settings, AdapterContext(instanceName: "ex", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
        var account = ["mailbox": mailbox]
        if let userURL { account["url"] = userURL }
        return (
            adapter,
            EndpointScope(
                connector: "c", kind: .address, role: .target, user: "MM",
                account: EWSAdapter.type.account(on: "ex", account))
        )
    }

    @Test("delegate access names the mailbox in the folder ids instead of impersonating")
    func delegate() async throws {
        let server = try await start { $0.delegates = ["svc@example.test"] }
        defer { Task { await server.stop() } }
        let (adapter, scope) = try makeAdapter(url: server.url, access: "delegate", mailbox: "js@example.test")
        let endpoint = try await adapter.endpoint(for: scope)
        let created = try await endpoint.apply([
            .create(syncKey: SyncKey(rawValue: "d"), record: .address(Address(givenName: "Delegiert")))
        ])
        #expect(created.allSatisfy { if case .success = $0 { true } else { false } }, "\(created)")
        #expect(try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])).changes.count == 1)
        await adapter.shutdown()
        // Without delegate rights the same request is refused.
        let plain = try await start { _ in }
        defer { Task { await plain.stop() } }
        let (other, otherScope) = try makeAdapter(url: plain.url, access: "delegate", mailbox: "js@example.test")
        do {
            _ = try await other.endpoint(for: otherScope).changes(ChangeRequest(cursor: nil, known: [:]))
            Issue.record("expected access to be denied")
        } catch {
            #expect("\(error)".contains("ErrorAccessDenied"), "\(error)")
            #expect("\(error)".contains("js@example.test"), "\(error)")
        }
        await other.shutdown()
    }

    @Test("a user's ews_url puts that mailbox on another Exchange server")
    func twoServers() async throws {
        let first = try await start { $0.impersonation = ["svc@example.test"] }
        let second = try await start { $0.impersonation = ["svc@example.test"] }
        defer {
            Task {
                await first.stop()
                await second.stop()
            }
        }
        let (adapter, scope) = try makeAdapter(url: first.url, userURL: second.url)
        let endpoint = try await adapter.endpoint(for: scope)
        _ = try await endpoint.apply([
            .create(syncKey: SyncKey(rawValue: "s"), record: .address(Address(givenName: "Zweiter")))
        ])
        await adapter.shutdown()
        #expect(second.service.counts["CreateItem"] == 1)
        #expect(first.service.counts["CreateItem"] == nil)
    }

    @Test("POX Autodiscover finds each mailbox's EWS URL; an unknown mailbox falls back to 'url'")
    func autodiscover() async throws {
        let server = try await start { $0.impersonation = ["svc@example.test"] }
        defer { Task { await server.stop() } }
        let discovery = server.url.replacingOccurrences(
            of: "/EWS/Exchange.asmx", with: "/autodiscover/autodiscover.xml")
        let settings = Settings([
            "url": .string("http://127.0.0.1:9/EWS/Exchange.asmx"), "autodiscover_url": .string(discovery),
            "auth": .string("basic"),
            "username": .string("svc@example.test"), "password": .secret(Secret("pw")),
        ])
        let adapter = try EWSAdapter.type.make(
            settings, AdapterContext(instanceName: "ex", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
        let ews = try #require(adapter as? EWSAdapter)
        #expect(
            await ews.ewsURL(for: EWSAdapter.type.account(on: "exchange", ["mailbox": "mm@example.test"])) == server.url
        )
        #expect(
            await ews.ewsURL(for: EWSAdapter.type.account(on: "exchange", ["mailbox": "nobody@example.test"]))
                == "http://127.0.0.1:9/EWS/Exchange.asmx")
        // The discovered URL is used: the endpoint reaches the simulator although 'url' is dead.
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "c", kind: .task, role: .target, user: "MM",
                account: EWSAdapter.type.account(on: "exchange", ["mailbox": "mm@example.test"])))
        #expect(try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])).isFullScan)
        await adapter.shutdown()
    }

    @Test("HTTP 503 with Retry-After and ErrorServerBusy are waited out; the request succeeds")
    func throttled() async throws {
        let server = try await start {
            $0.impersonation = ["svc@example.test"]
            $0.unavailableRate = 0.4
            $0.busyRate = 0.3
            $0.backOffMilliseconds = 10
        }
        defer { Task { await server.stop() } }
        let (adapter, scope) = try makeAdapter(url: server.url)
        let endpoint = try await adapter.endpoint(for: scope)
        let changes = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(changes.isFullScan)
        await adapter.shutdown()
    }

    @Test("NTLM through the adapter's libcurl client against the simulator's NTLMv2 check")
    func ntlm() async throws {
        let server = try await start {
            $0.impersonation = ["svc@example.test"]
            $0.auth = .ntlm
        }
        defer { Task { await server.stop() } }
        let (adapter, scope) = try makeAdapter(url: server.url, auth: "ntlm")
        let endpoint = try await adapter.endpoint(for: scope)
        for i in 0..<3 {
            _ = try await endpoint.apply([
                .create(syncKey: SyncKey(rawValue: "n\(i)"), record: .address(Address(givenName: "N\(i)")))
            ])
        }
        #expect(try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])).changes.count == 3)
        await adapter.shutdown()
    }
}
