import ConnectorAPI
import Connectors
import Foundation
import Logging
import Prometheus
import TestSupport

@testable import ConnectorHost

/// A deployment of two memory stores (a CRM and a mailbox) with the service's HTTP server and the
/// operator's console on a free loopback port, as `connector-host run` serves them.
final class ConsoleFixture: @unchecked Sendable {
    let directory: URL
    let id = UUID().uuidString.prefix(8).lowercased()
    let deployment: Deployment
    let host: SyncHost
    let scheduler: Scheduler
    /// Raised to stop the scheduler's loop, when a test runs it.
    let stop = StopFlag()
    let server: MetricsServer
    var port = 0
    let jar: URL

    /// `console` is the `console:` section's content, `address` the server's `metrics_address`,
    /// `batch` the mailbox's largest write batch.
    init(console: String = "", address: String = "127.0.0.1:0", batch: Int = 100) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        jar = directory.appendingPathComponent("cookies.txt")
        let yaml = """
            state: { path: \(directory.path)/state.sqlite }
            engine: { retry_backoff: 1ms, dead_letter_after_runs: 1 }
            service: { metrics_address: "\(address)" }
            console: {\(console)}
            adapters:
              crm: { type: memory }
              mail: { type: memory, batch_size: \(batch) }
            users:
              - { id: MM, crm: mm-\(id), mail: mm-\(id)@example.test }
              - { id: JS, crm: js-\(id), mail: js-\(id)@example.test }
            connectors:
              - { name: contacts, kind: address, source: crm, target: mail, conflict: report, interval: 1h }
            """
        deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "console.yaml", baseDirectory: directory)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        host = try SyncHost(deployment: deployment, logger: logger)
        scheduler = Scheduler(host: host, settings: deployment.service, logger: logger, stop: stop)
        server = MetricsServer(
            address: deployment.service.metricsAddress!, registry: PrometheusCollectorRegistry(),
            console: Console(host: host, scheduler: scheduler, logger: logger)
        ) { (true, "{\"status\":\"ok\"}\n") }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func start() async throws { port = try await server.start() }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The memory store of a user's contacts on an instance (`crm` or `mail`).
    func contacts(_ instance: String, user: String) throws -> MemoryStore {
        let account = instance == "crm" ? "\(user.lowercased())-\(id)" : "\(user.lowercased())-\(id)@example.test"
        return try MemoryAdapter.store(instance: instance, collection: "address/\(account)")
    }

    /// MM's contacts synced, then "Anna Schäfer" changed on both sides (a reported conflict) and
    /// "Bruno Bad" refused by the mailbox (a dead letter).
    func seed() async throws {
        let crm = try contacts("crm", user: "MM")
        let mail = try contacts("mail", user: "MM")
        let anna = crm.insert(.address(Address(givenName: "Anna", familyName: "Schäfer", notes: "alt")))
        _ = await host.syncOnce(user: "MM")
        let copy = try require(mail.items(named: "Anna Schäfer").first?.id, "the copy in the mailbox")
        crm.update(anna) {
            if case .address(var a) = $0 {
                a.notes = "aus FlowFact"
                $0 = .address(a)
            }
        }
        mail.update(copy) {
            if case .address(var a) = $0 {
                a.notes = "aus Outlook"
                $0 = .address(a)
            }
        }
        var faults = mail.faults
        faults.failingRecords["Bruno <Bad>"] = WriteError(.permanent, "the mailbox refused the item")
        mail.faults = faults
        crm.insert(.address(Address(givenName: "Bruno", familyName: "<Bad>")))
        _ = await host.syncOnce(user: "MM")
    }

    /// `curl` with this fixture's cookie jar, on a thread of its own: the server renders console pages
    /// in tasks, which a curl waiting on one of the few cooperative threads could starve.
    func curl(_ path: String, _ arguments: [String] = [], jar: Bool = true) async throws -> (
        status: Int, headers: String, body: String
    ) {
        // A generous limit (curl's last -m wins): under the full suite's load on 2 cores the
        // console's tasks wait for a cooperative thread that other tests' blocking work holds.
        let arguments =
            ["-m", "90"] + (jar ? ["-b", self.jar.path, "-c", self.jar.path] : []) + arguments + [url + path]
        return try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try runCurl(arguments) }) }.start()
        }
    }

    /// The CSRF token in a page's forms.
    static func csrf(in page: String) -> String? {
        page.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression).map {
            String(page[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
        }
    }
}

/// `#require` for fixtures outside a test function.
private func require<T>(_ value: T?, _ what: String = "value") throws -> T {
    guard let value else { throw RunError(description: "missing \(what)") }
    return value
}
