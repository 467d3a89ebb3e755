import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import TestSupport
import Testing

/// `conflicts`, `resolve`, `dead-letters` and `retry` through the built executable, against the
/// memory adapter's files.
@Suite("connector-host conflicts, resolve, dead-letters, retry", .serialized)
struct OperatorCLITests {
    let directory: URL

    init() throws {
        directory = try CLITests.memoryDeployment(connector: ", conflict: report")
    }

    func store(_ side: String, _ file: String) throws -> MemoryStore {
        try MemoryStore(path: directory.appendingPathComponent("data/\(side)/\(file).json"))
    }

    func setNotes(_ store: MemoryStore, _ name: String, _ notes: String) throws {
        let id = try #require(store.id(named: name))
        store.update(id) {
            if case .address(var a) = $0 {
                a.notes = notes
                $0 = .address(a)
            }
        }
    }

    func json(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
    }

    @Test(
        "a conflict is listed with both versions; resolve --take source writes FlowFact's side to the other at once and closes it; a second resolve is refused"
    )
    func resolveConflict() throws {
        try store("crm", "address_MM").insert(
            .address(Address(givenName: "Anna", familyName: "Schäfer", notes: "alt")), tags: ["Sync"])
        #expect(try CLI.run(["sync", "--once"], in: directory).status == 0)
        try setNotes(try store("crm", "address_MM"), "Anna Schäfer", "CRM")
        try setNotes(try store("mail", "address_m@example.test"), "Anna Schäfer", "Outlook")
        let conflicted = try CLI.run(["sync", "--once"], in: directory)
        #expect(conflicted.out.contains("open at the end: 1 conflict, 0 dead letters"), "\(conflicted.out)")

        let listed = try CLI.run(["conflicts"], in: directory)
        #expect(listed.status == 0)
        #expect(listed.out.contains("contacts / MM: 'Anna Schäfer' open"), "\(listed.out)")
        #expect(listed.out.contains("≠ notes"), "\(listed.out)")
        #expect(!listed.out.contains("\u{1B}["), "no colours when the output is not a terminal")
        let entries = try json(try CLI.run(["conflicts", "--json", "--connector", "contacts"], in: directory).out)
        #expect(entries.count == 1)
        let id = try #require(entries.first?["id"] as? Int)
        let fields = try #require(entries.first?["fields"] as? [[String: Any]])
        let notes = try #require(fields.first { $0["name"] as? String == "notes" })
        #expect(notes["source"] as? String == "CRM" && notes["target"] as? String == "Outlook")
        #expect(try json(try CLI.run(["conflicts", "--json", "--user", "JS"], in: directory).out).isEmpty)

        let bad = try CLI.run(["resolve", "\(id)", "--take", "crm"], in: directory)
        #expect(bad.status != 0 && bad.err.contains("--take must be source, target or skip"), "\(bad.err)")
        let resolved = try CLI.run(["resolve", "\(id)", "--take", "source"], in: directory)
        #expect(resolved.status == 0, "\(resolved.out) \(resolved.err)")
        #expect(resolved.out.contains("source→target update 1"), "\(resolved.out)")
        #expect(resolved.out.contains("#\(id) 'Anna Schäfer': settled, source taken"), "\(resolved.out)")
        #expect(resolved.out.contains("open at the end: no conflicts, no dead letters"), "\(resolved.out)")
        #expect(try store("mail", "address_m@example.test").address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(try CLI.run(["conflicts", "--recent-days", "0"], in: directory).out.contains("no open conflicts"))
        #expect(
            try CLI.run(["conflicts"], in: directory).out.contains("settled (source taken by an administrator)"))
        let again = try CLI.run(["resolve", "\(id)", "--take", "target"], in: directory)
        #expect(again.status == 1)
        #expect(again.err.contains("is settled already"), "\(again.err)")
        #expect(try CLI.run(["sync", "--once"], in: directory).out.contains("ok, no changes"))
    }

    @Test("resolve --all --connector takes one side for every open conflict; skip writes nothing")
    func resolveAll() throws {
        let crm = try store("crm", "address_MM")
        for name in ["Eins", "Zwei"] {
            crm.insert(.address(Address(givenName: name, familyName: "Test", notes: "alt")), tags: ["Sync"])
        }
        #expect(try CLI.run(["sync", "--once"], in: directory).status == 0)
        for name in ["Eins Test", "Zwei Test"] {
            try setNotes(try store("crm", "address_MM"), name, "CRM")
            try setNotes(try store("mail", "address_m@example.test"), name, "Outlook")
        }
        _ = try CLI.run(["sync", "--once"], in: directory)
        #expect(try json(try CLI.run(["conflicts", "--json"], in: directory).out).count == 2)
        let missing = try CLI.run(["resolve", "--all", "--take", "target"], in: directory)
        #expect(missing.status != 0 && missing.err.contains("--all needs --connector"), "\(missing.err)")
        let skipped = try CLI.run(["resolve", "--all", "--connector", "contacts", "--take", "skip"], in: directory)
        #expect(skipped.status == 0, "\(skipped.out) \(skipped.err)")
        #expect(skipped.out.contains("settled, nothing written"), "\(skipped.out)")
        #expect(try store("crm", "address_MM").address(named: "Eins Test")?.notes == "CRM")
        #expect(try store("mail", "address_m@example.test").address(named: "Eins Test")?.notes == "Outlook")
        #expect(try CLI.run(["conflicts", "--recent-days", "0"], in: directory).out == "no open conflicts\n")
    }

    @Test(
        "dead-letters lists an item with its reason; retry runs it again and, still failing, it is back; fixed, it goes through"
    )
    func retryDeadLetter() throws {
        let crm = try store("crm", "address_MM")
        crm.insert(
            .address(Address(emails: ["a@x.test", "b@x.test", "c@x.test", "d@x.test"], notes: "no name")),
            tags: ["Sync"])
        #expect(try CLI.run(["sync", "--once"], in: directory).status == 2)
        let listed = try CLI.run(["dead-letters"], in: directory)
        #expect(listed.out.contains("more than 3 e-mail addresses"), "\(listed.out)")
        let entries = try json(try CLI.run(["dead-letters", "--json"], in: directory).out)
        let id = try #require(entries.first?["id"] as? Int)
        #expect(entries.first?["dead"] as? Bool == true)

        let unknown = try CLI.run(["retry", "9999"], in: directory)
        #expect(unknown.status == 1 && unknown.err.contains("no dead letter #9999"))
        let retried = try CLI.run(["retry", "\(id)"], in: directory)
        #expect(retried.status == 2, "\(retried.out) \(retried.err)")
        #expect(retried.out.contains("1 dead letter put back"))
        #expect(retried.out.contains("open at the end: 0 conflicts, 1 dead letter"), "\(retried.out)")
        #expect(try json(try CLI.run(["dead-letters", "--json"], in: directory).out).count == 1)

        // Fixed in the CRM: retry --all brings it through.
        let fixed = try store("crm", "address_MM")
        let item = try #require(fixed.items.first)
        fixed.update(item.id) { $0 = .address(Address(givenName: "Repariert", emails: ["a@x.test"])) }
        let done = try CLI.run(["retry", "--all"], in: directory)
        #expect(done.status == 0, "\(done.out) \(done.err)")
        #expect(done.out.contains("source→target create 1"), "\(done.out)")
        #expect(try CLI.run(["dead-letters"], in: directory).out.contains("no dead letters"))
        #expect(try store("mail", "address_m@example.test").names == ["Repariert"])
    }

    @Test(
        "while the service runs on the state, sync is refused naming it, and resolve and retry hand their jobs to it and report its runs; a killed service leaves no lock behind"
    )
    func besideTheService() async throws {
        try store("crm", "address_MM").insert(
            .address(Address(givenName: "Anna", familyName: "Schäfer", notes: "alt")), tags: ["Sync"])
        #expect(try CLI.run(["sync", "--once"], in: directory).status == 0)
        try setNotes(try store("crm", "address_MM"), "Anna Schäfer", "CRM")
        try setNotes(try store("mail", "address_m@example.test"), "Anna Schäfer", "Outlook")
        #expect(try CLI.run(["sync", "--once"], in: directory).status == 0)
        let id = try #require(
            try json(try CLI.run(["conflicts", "--json"], in: directory).out).first?["id"] as? Int)
        // A dead letter too: four addresses where the target holds three.
        try store("crm", "address_MM").insert(
            .address(Address(emails: ["a@x.test", "b@x.test", "c@x.test", "d@x.test"], notes: "no name")),
            tags: ["Sync"])
        #expect(try CLI.run(["sync", "--once"], in: directory).status == 2)

        // The service, with an hour between runs: only a request makes it run again soon.
        let configuration = directory.appendingPathComponent("connectors.yaml")
        let text = try String(contentsOf: configuration, encoding: .utf8)
        try
            (text.replacingOccurrences(of: ", conflict: report }", with: ", conflict: report, interval: 1h }")
            + "\nservice: { metrics_address: \"off\", log_format: text }\n")
            .write(to: configuration, atomically: true, encoding: .utf8)
        let service = Process()
        service.executableURL = CLI.binary
        service.arguments = ["run"]
        service.currentDirectoryURL = directory
        let log = directory.appendingPathComponent("service.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        service.standardError = try FileHandle(forWritingTo: log)
        service.standardOutput = FileHandle.nullDevice
        try service.run()
        defer { if service.isRunning { kill(service.processIdentifier, SIGKILL) } }
        let state = try StateStore(path: directory.appendingPathComponent("state/test.sqlite"))
        let job = JobKey(connector: "contacts", user: "MM")
        let before = try state.runs(job, after: 0).count
        let deadline = Date().addingTimeInterval(60)
        while try state.runs(job, after: 0).count == before && Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try state.runs(job, after: 0).count == before + 1, "the service's first run")

        let refused = try CLI.run(["sync", "--once"], in: directory)
        #expect(refused.status == 1)
        #expect(
            refused.err.contains(
                "connector-host (pid \(service.processIdentifier)) is already running jobs on the state"),
            "\(refused.err)")
        #expect(try CLI.run(["sync", "--once", "--dry-run"], in: directory).status != 1, "a dry run may look")

        let resolved = try CLI.run(["resolve", "\(id)", "--take", "source"], in: directory)
        #expect(resolved.status == 0, "\(resolved.out) \(resolved.err)")
        #expect(resolved.out.contains("is running as the service: it runs the job now"), "\(resolved.out)")
        #expect(resolved.out.contains("contacts / MM: run by the service: ok"), "\(resolved.out)")
        #expect(resolved.out.contains("#\(id) 'Anna Schäfer': settled, source taken"), "\(resolved.out)")
        #expect(try store("mail", "address_m@example.test").address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(try state.runs(job, after: 0).count == before + 2, "one run, by the service")

        // Still failing: the retried dead letter is back, with its reason, after the service's run.
        let retried = try CLI.run(["retry", "--all"], in: directory)
        #expect(retried.status == 2, "\(retried.out) \(retried.err)")
        #expect(retried.out.contains("run by the service"), "\(retried.out)")
        #expect(retried.out.contains("more than 3 e-mail addresses"), "the reason: \(retried.out)")
        #expect(retried.out.contains("open at the end: 0 conflicts, 1 dead letter"), "\(retried.out)")

        // A job this configuration no longer runs is named at once, not waited for.
        let running = try String(contentsOf: configuration, encoding: .utf8)
        try running.replacingOccurrences(of: "{ id: MM,", with: "{ id: MM, enabled: false,")
            .write(to: configuration, atomically: true, encoding: .utf8)
        let started = Date()
        let gone = try CLI.run(["retry", "--all"], in: directory)
        #expect(gone.status == 2, "\(gone.out) \(gone.err)")
        #expect(gone.err.contains("connector contacts for user MM is not in the configuration"), "\(gone.err)")
        #expect(Date().timeIntervalSince(started) < 60, "not waited for")
        try running.write(to: configuration, atomically: true, encoding: .utf8)

        kill(service.processIdentifier, SIGKILL)
        service.waitUntilExit()
        let after = try CLI.run(["sync", "--once"], in: directory)
        #expect(after.status == 2, "runs again once the service is gone: \(after.out) \(after.err)")
        #expect(after.out.contains("contacts / MM"), "\(after.out)")
    }
}
