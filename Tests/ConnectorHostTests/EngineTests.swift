import ConnectorAPI
import Connectors
import Foundation
import GRDB
import Testing

@testable import ConnectorHost

@Suite("Two-way sync engine")
struct EngineTests {
    @Test("creates flow both ways on the first run")
    func initialCreates() async throws {
        let f = try Fixture()
        f.source.insert(contact("Jürgen", "Müller", email: "j.mueller@example.test"))
        f.source.insert(contact("Grete", "Groß"))
        f.target.insert(contact("Zoë", "Öztürk"))
        let report = await f.sync()
        #expect(report.status == .ok)
        #expect(report.counts["source→target create"] == 2)
        #expect(report.counts["target→source create"] == 1)
        #expect(f.source.names == ["Grete Groß", "Jürgen Müller", "Zoë Öztürk"])
        #expect(f.target.names == ["Grete Groß", "Jürgen Müller", "Zoë Öztürk"])
        #expect(f.target.address(named: "Jürgen Müller")?.emails == ["j.mueller@example.test"])
        #expect(f.mappings.count == 3)
        // Every copy carries the key that names its origin.
        let copy = try #require(f.target.items(named: "Jürgen Müller").first)
        #expect(copy.syncKey?.rawValue == "ch1:contacts:MM:s:\(f.source.id(named: "Jürgen Müller")!)")
    }

    @Test("a second run right after a sync changes nothing anywhere")
    func echoSuppression() async throws {
        let f = try Fixture()
        f.source.insert(contact("Anna", "Schäfer"))
        f.target.insert(contact("Bernd", "Weiß"))
        await f.sync()
        let applies = (f.source.callCount("apply"), f.target.callCount("apply"))
        let versions = (f.source.items.map(\.version), f.target.items.map(\.version))
        let second = await f.sync()
        #expect(second.status == .ok)
        #expect(second.counts.isEmpty)
        #expect(f.source.callCount("apply") == applies.0)
        #expect(f.target.callCount("apply") == applies.1)
        #expect(f.source.items.map(\.version) == versions.0)
        #expect(f.target.items.map(\.version) == versions.1)
        let third = await f.sync()
        #expect(third.counts.isEmpty)
    }

    @Test("updates flow both ways and only the changed side is written")
    func updates() async throws {
        let f = try Fixture()
        let s = f.source.insert(contact("Anna", "Schäfer"))
        let t = f.target.insert(contact("Bernd", "Weiß"))
        await f.sync()
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.jobTitle = "Maklerin"
                $0 = .address(a)
            }
        }
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.emails = ["bernd@example.test"]
                $0 = .address(a)
            }
        }
        let report = await f.sync()
        #expect(report.counts["source→target update"] == 1)
        #expect(report.counts["target→source update"] == 1)
        #expect(f.target.address(named: "Anna Schäfer")?.jobTitle == "Maklerin")
        #expect(f.source.address(named: "Bernd Weiß")?.emails == ["bernd@example.test"])
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("deletions propagate both ways under 'propagate'")
    func deletionsPropagate() async throws {
        let f = try Fixture()
        let s = f.source.insert(contact("Anna", "Schäfer"))
        let t = f.target.insert(contact("Bernd", "Weiß"))
        for i in 0..<8 { f.source.insert(contact("P\(i)", "X")) }
        await f.sync()
        f.source.delete(s)
        f.target.delete(t)
        let report = await f.sync()
        #expect(report.counts["source→target delete"] == 1)
        #expect(report.counts["target→source delete"] == 1)
        #expect(!f.target.names.contains("Anna Schäfer"))
        #expect(!f.source.names.contains("Bernd Weiß"))
        #expect(f.mappings.count == 8)
    }

    @Test("'unlink' keeps the other side's item and stops syncing it")
    func deletionUnlink() async throws {
        let f = try Fixture { $0.targetDeletion = .unlink }
        let s = f.source.insert(contact("Anna", "Schäfer"))
        await f.sync()
        f.target.delete(try #require(f.target.id(named: "Anna Schäfer")))
        let report = await f.sync()
        #expect(report.counts["unlink"] == 1)
        #expect(f.source.names == ["Anna Schäfer"])
        // Later edits of the kept record are not copied back into the mailbox.
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.notes = "neu"
                $0 = .address(a)
            }
        }
        let later = await f.sync()
        #expect(later.counts.isEmpty)
        #expect(f.target.items.isEmpty)
    }

    @Test("a change beats a deletion on the other side: the item is copied again")
    func changeBeatsDeletion() async throws {
        let f = try Fixture()
        let s = f.source.insert(contact("Anna", "Schäfer"))
        await f.sync()
        f.target.delete(try #require(f.target.id(named: "Anna Schäfer")))
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.notes = "wichtig"
                $0 = .address(a)
            }
        }
        let report = await f.sync()
        #expect(report.counts["source→target create"] == 1)
        #expect(report.counts["conflicts"] == 1)
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "wichtig")
        #expect(f.mappings.count == 1)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("one-way: the receiving side's edits are ignored and a deleted copy is made again")
    func oneWayMirror() async throws {
        let f = try Fixture { $0.direction = .sourceToTarget }
        f.source.insert(contact("Anna", "Schäfer", notes: "CRM"))
        f.target.insert(contact("Nur", "Outlook"))
        await f.sync()
        #expect(f.source.names == ["Anna Schäfer"])
        let copy = try #require(f.target.id(named: "Anna Schäfer"))
        f.target.update(copy) {
            if case .address(var a) = $0 {
                a.notes = "Outlook"
                $0 = .address(a)
            }
        }
        #expect(await f.sync().counts.isEmpty)
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "CRM")
        f.target.delete(copy)
        let report = await f.sync()
        #expect(report.counts["source→target create"] == 1)
        #expect(f.target.items(named: "Anna Schäfer").count == 1)
    }

    @Test("per-field direction: a source-to-target field is not copied back")
    func fieldDirections() async throws {
        let f = try Fixture { $0.fieldDirections = ["notes": .sourceToTarget] }
        let s = f.source.insert(contact("Anna", "Schäfer", notes: "aus dem CRM"))
        await f.sync()
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.notes = "in Outlook geändert"
                $0 = .address(a)
            }
        }
        #expect(await f.sync().counts.isEmpty)
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "aus dem CRM")
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.jobTitle = "Chefin"
                $0 = .address(a)
            }
        }
        let report = await f.sync()
        #expect(report.counts["target→source update"] == 1)
        #expect(f.source.address(named: "Anna Schäfer")?.jobTitle == "Chefin")
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "aus dem CRM")
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.notes = "neu im CRM"
                $0 = .address(a)
            }
        }
        await f.sync()
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "neu im CRM")
    }

    @Test("dry run prints the plan and changes nothing")
    func dryRun() async throws {
        let f = try Fixture()
        f.source.insert(contact("Anna", "Schäfer"))
        let report = await f.sync(dryRun: true)
        #expect(report.status == .planned)
        #expect(report.counts["source→target create"] == 1)
        #expect(f.target.items.isEmpty)
        #expect(f.mappings.isEmpty)
        #expect(f.target.callCount("apply") == 0)
        let text = ReportFormatter.reports([report], detailed: true)
        #expect(text.contains("source→target create 'Anna Schäfer'"))
        #expect(try f.store.lastRuns().isEmpty)
        // The real run afterwards still does the work.
        #expect(await f.sync().counts["source→target create"] == 1)
    }

    @Test("an unreachable side fails the run, writes nothing and keeps the cursor")
    func unreachableSide() async throws {
        let f = try Fixture()
        f.source.insert(contact("Anna", "Schäfer"))
        f.target.faults.unavailable = "connection refused"
        let report = await f.sync()
        #expect(report.status == .failed)
        #expect(report.message?.contains("connection refused") == true)
        #expect(try f.store.cursor(f.jobKey, side: .source) == nil)
        f.target.faults.unavailable = nil
        #expect(await f.sync().counts["source→target create"] == 1)
    }
}

@Suite("State database")
struct StateDatabaseTests {
    @Test("a job's mappings are read through an index, not by scanning every job's rows")
    func mappingsIndexed() throws {
        let f = try Fixture()
        let plan = try f.store.database.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT * FROM mapping WHERE connector = ? AND user = ? ORDER BY id",
                arguments: ["contacts", "MM"]
            ).map { $0["detail"] as String }
        }.joined(separator: " | ")
        #expect(plan.contains("USING INDEX mapping_job"), "\(plan)")
        #expect(!plan.contains("SCAN mapping"), "\(plan)")
    }
}
