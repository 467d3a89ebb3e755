import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import TestSupport
import Testing

@Suite("connector-host command line", .serialized)
struct CLITests {
    let directory: URL

    init() throws {
        directory = try Self.memoryDeployment()
    }

    /// A folder with a `connectors.yaml` syncing two `memory` stores' contacts for user MM
    /// (`extra` is added to the connector's line, e.g. `, conflict: report`).
    static func memoryDeployment(connector extra: String = "") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ch-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try """
        state: { path: state/test.sqlite }
        adapters:
          crm: { type: memory, directory: data/crm }
          mail: { type: memory, directory: data/mail }
        users:
          - { id: MM, crm: MM, mail: m@example.test }
        connectors:
          - { name: contacts, kind: address, source: crm, target: mail, filter: { tags: [Sync] }\(extra) }
        """.write(to: directory.appendingPathComponent("connectors.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    func store(_ side: String, _ file: String) throws -> MemoryStore {
        try MemoryStore(path: directory.appendingPathComponent("data/\(side)/\(file).json"))
    }

    @Test("validate reports every problem as file:line:column and exits 1")
    func validateErrors() throws {
        try "adapters:\n  crm: { type: nope }\nusers: []\nconnectors: []\nfoo: 1\n".write(
            to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let result = try CLI.run(["validate", "bad.yaml"], in: directory)
        #expect(result.status == 1)
        #expect(result.err.contains("bad.yaml:2:16: adapter 'crm': unknown adapter type 'nope'"))
        #expect(result.err.contains("bad.yaml:5:1: unknown key 'foo'"))
        #expect(result.err.contains("2 problem(s) found"))
        let good = try CLI.run(["validate", "connectors.yaml"], in: directory)
        #expect(good.status == 0)
        #expect(good.out.contains("valid: 2 adapters, 1 users, 1 connectors, 1 sync jobs"))
    }

    @Test("status names a disabled account; enable --account (or --mailbox) brings it back; an unknown one exits 1")
    func enableAccount() throws {
        let state = try StateStore(path: directory.appendingPathComponent("state/test.sqlite"))
        let account = Account(adapter: "mail", name: "m@example.test")
        for _ in 0..<3 {
            try state.recordFailure(
                account, reason: "HTTP 401: authentication failed", permanent: true, disableAfter: 3)
        }
        #expect(try state.accountState(account).status == .disabled)
        let status = try CLI.run(["status", "--config", "connectors.yaml"], in: directory)
        #expect(
            status.out.contains("account mail:m@example.test: disabled after 3 failed runs: HTTP 401"), "\(status.out)")
        let unknown = try CLI.run(
            ["enable", "--account", "nobody@example.test", "--config", "connectors.yaml"], in: directory)
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("no state for account nobody@example.test"))
        let enabled = try CLI.run(
            ["enable", "--mailbox", "M@example.test", "--config", "connectors.yaml"], in: directory)
        #expect(enabled.status == 0, "\(enabled.err)")
        #expect(enabled.out.contains("mail:m@example.test: enabled (was disabled: HTTP 401"), "\(enabled.out)")
        #expect(try state.accountState(account).status == .enabled)
    }

    @Test("adapters lists the registered types and their settings")
    func adapters() throws {
        let result = try CLI.run(["adapters"], in: directory)
        #expect(result.status == 0)
        #expect(result.out.contains("memory: "))
        #expect(result.out.contains("batch_size (integer 1...10000, default 100)"))
    }

    @Test("sync --dry-run prints the plan, sync --once applies it, status shows the run")
    func syncAndStatus() throws {
        let crm = try store("crm", "address_MM")
        crm.insert(.address(Address(givenName: "Jürgen", familyName: "Groß")), tags: ["Sync"])
        crm.insert(.address(Address(givenName: "Nicht", familyName: "Synchron")))

        let dry = try CLI.run(["sync", "--once", "--dry-run"], in: directory)
        #expect(dry.status == 0, "\(dry.err)")
        #expect(dry.out.contains("contacts / MM <m@example.test>: planned: source→target create 1"))
        #expect(dry.out.contains("source→target create 'Jürgen Groß'"))
        #expect(
            !FileManager.default.fileExists(
                atPath: directory.appendingPathComponent("data/mail/address_m@example.test.json").path))

        let once = try CLI.run(["sync", "--once"], in: directory)
        #expect(once.status == 0, "\(once.err)")
        #expect(once.out.contains("contacts / MM <m@example.test>: ok: source→target create 1"))
        let mail = try store("mail", "address_m@example.test")
        #expect(mail.names == ["Jürgen Groß"])

        let again = try CLI.run(["sync", "--once", "--user", "mm"], in: directory)
        #expect(again.out.contains("ok, no changes"))

        let status = try CLI.run(["status"], in: directory)
        #expect(status.status == 0)
        #expect(status.out.contains("contacts / MM: last run"))
        #expect(status.out.contains("1 linked, 0 open conflicts, 0 retrying, 0 dead letters"))

        let unknown = try CLI.run(["sync", "--once", "--connector", "kontakte"], in: directory)
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("no connector named 'kontakte'"))
    }

    @Test("while dead letters are open, sync --once says so in its last line and exits 2, on later runs too")
    func deadLettersExitNonZero() throws {
        let crm = try store("crm", "address_MM")
        crm.insert(.address(Address(givenName: "Jürgen", familyName: "Groß")), tags: ["Sync"])
        crm.insert(
            .address(Address(emails: ["a@x.test", "b@x.test", "c@x.test", "d@x.test"], notes: "no name")),
            tags: ["Sync"])
        let first = try CLI.run(["sync", "--once"], in: directory)
        #expect(first.status == 2, "\(first.out)")
        #expect(first.out.contains("source→target create 1"))
        let last = first.out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(first.out.contains("1 dead letter is open in 1 connector run"), "\(first.out)")
        #expect(
            last == "open at the end: 0 conflicts, 1 dead letter (see connector-host dead-letters)", "\(first.out)")
        // The next run has nothing to do, but the item is still not synced: it says so again.
        let second = try CLI.run(["sync", "--once"], in: directory)
        #expect(second.status == 2)
        #expect(second.out.contains("ok, no changes"))
        #expect(second.out.contains("1 dead letter is open"))
        #expect(
            second.out.split(separator: "\n").last?.hasPrefix("open at the end: 0 conflicts, 1 dead letter") == true)
        let status = try CLI.run(["status"], in: directory)
        #expect(status.out.hasPrefix("dead letters (1)"), "\(status.out)")
        #expect(status.out.contains("more than 3 e-mail addresses"))
    }

    @Test("connector-dev makes a FlowFact-like database that connector-host checks and syncs; the service has no demo")
    func developmentTool() throws {
        let connection = "Driver=SQLite3;Database=\(directory.appendingPathComponent("flowfact.sqlite").path)"
        let created = try CLI.run(
            ["flowfact", "init", "--connection", connection], in: directory, binary: Binary.connectorDev)
        #expect(created.status == 0, "\(created.err)")
        #expect(created.out.contains("created the FlowFact tables in SQLite"))
        let seeded = try CLI.run(
            [
                "flowfact", "seed", "--connection", connection, "--users", "1", "--addresses", "6", "--appointments",
                "0",
                "--tasks", "0", "--mails", "0",
            ], in: directory, binary: Binary.connectorDev)
        #expect(seeded.status == 0, "\(seeded.err)")
        try """
        state: { path: state/ff.sqlite }
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)" }
          mail: { type: memory, directory: data/mail }
        users:
          - { id: MM, flowfact: MM, mail: m@example.test }
        connectors:
          - { name: contacts, kind: address, source: flowfact, target: mail, filter: { merkmale: [Outlook-Sync] } }
        """.write(to: directory.appendingPathComponent("ff.yaml"), atomically: true, encoding: .utf8)
        let check = try CLI.run(["check", "--config", "ff.yaml"], in: directory)
        #expect(check.status == 0, "\(check.out) \(check.err)")
        let sync = try CLI.run(["sync", "--once", "--config", "ff.yaml"], in: directory)
        #expect(sync.status == 0, "\(sync.out) \(sync.err)")
        #expect(sync.out.contains("source→target create"), "\(sync.out)")
        #expect(try store("mail", "address_m@example.test").items.count > 0)
        // The service itself carries no development commands.
        for command in [["demo"], ["flowfact", "init"]] {
            let refused = try CLI.run(command, in: directory)
            #expect(refused.status != 0, "connector-host \(command.joined(separator: " ")) ran")
        }
    }
}
