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
}
