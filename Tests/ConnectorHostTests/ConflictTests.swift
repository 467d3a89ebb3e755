import ConnectorAPI
import Connectors
import Foundation
import Testing

@testable import ConnectorHost

@Suite("Conflict policies")
struct ConflictTests {
    /// Syncs one contact, then changes its notes differently on both sides.
    func conflicted(_ policy: ConflictPolicy, sourceAt: Date = Date(), targetAt: Date = Date()) async throws -> Fixture
    {
        let f = try Fixture { $0.conflict = policy }
        let s = f.source.insert(contact("Anna", "Schäfer", notes: "alt"))
        await f.sync()
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.source.update(s, at: sourceAt) {
            if case .address(var a) = $0 {
                a.notes = "CRM"
                $0 = .address(a)
            }
        }
        f.target.update(t, at: targetAt) {
            if case .address(var a) = $0 {
                a.notes = "Outlook"
                $0 = .address(a)
            }
        }
        return f
    }

    @Test("source-wins writes the source's version to the target and records the conflict")
    func sourceWins() async throws {
        let f = try await conflicted(.sourceWins)
        let report = await f.sync()
        #expect(report.counts["conflicts"] == 1)
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "CRM")
        let conflicts = try f.store.conflicts(f.jobKey)
        #expect(conflicts.count == 1)
        #expect(conflicts[0].resolution == "source-wins")
        #expect(conflicts[0].open == false)
        // Both versions are kept: nothing is lost, even the overwritten one.
        #expect(conflicts[0].targetRecord?.contains("Outlook") == true)
        #expect(conflicts[0].sourceRecord?.contains("CRM") == true)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("target-wins writes the target's version to the source")
    func targetWins() async throws {
        let f = try await conflicted(.targetWins)
        await f.sync()
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "Outlook")
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "Outlook")
        #expect(try f.store.conflicts(f.jobKey).first?.resolution == "target-wins")
    }

    @Test("newest-wins takes the later modification, on either side")
    func newestWins() async throws {
        let now = Date()
        let f = try await conflicted(.newestWins, sourceAt: now, targetAt: now.addingTimeInterval(60))
        await f.sync()
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "Outlook")
        let g = try await conflicted(.newestWins, sourceAt: now.addingTimeInterval(60), targetAt: now)
        await g.sync()
        #expect(g.target.address(named: "Anna Schäfer")?.notes == "CRM")
    }

    @Test("report changes neither side, keeps the conflict open, and closes it once the sides agree")
    func report() async throws {
        let f = try await conflicted(.report)
        let report = await f.sync()
        #expect(report.counts["conflicts"] == 1)
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "Outlook")
        #expect(try f.store.conflicts(f.jobKey, openOnly: true).count == 1)
        // Still in conflict on the next run (the items are re-read, not forgotten), still one record.
        await f.sync()
        #expect(try f.store.conflicts(f.jobKey, openOnly: true).count == 1)
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "Outlook")
        // The administrator makes both sides agree: the conflict closes.
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.notes = "CRM"
                $0 = .address(a)
            }
        }
        await f.sync()
        #expect(try f.store.conflicts(f.jobKey, openOnly: true).isEmpty)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("the same change on both sides is not a conflict")
    func equalChanges() async throws {
        let f = try Fixture()
        let s = f.source.insert(contact("Anna", "Schäfer"))
        await f.sync()
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.notes = "gleich"
                $0 = .address(a)
            }
        }
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.notes = "gleich"
                $0 = .address(a)
            }
        }
        let report = await f.sync()
        #expect(report.counts.isEmpty)
        #expect(try f.store.conflicts(f.jobKey).isEmpty)
    }

    @Test("a stale version on write is retried next run and then resolved by the policy")
    func staleVersionOnWrite() async throws {
        let f = try Fixture { $0.conflict = .sourceWins }
        let s = f.source.insert(contact("Anna", "Schäfer"))
        await f.sync()
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.notes = "CRM"
                $0 = .address(a)
            }
        }
        // Someone edits the target between the engine's read and its write.
        f.target.faults.beforeApply = { store in
            store.faults.beforeApply = nil
            store.update(t) {
                if case .address(var a) = $0 {
                    a.jobTitle = "Chefin"
                    $0 = .address(a)
                }
            }
        }
        let first = await f.sync()
        #expect(first.status == .partial)
        #expect(first.failures.first?.kind == "conflict")
        #expect(f.target.address(named: "Anna Schäfer")?.jobTitle == "Chefin")
        let second = await f.sync()
        #expect(second.status == .ok)
        #expect(second.counts["conflicts"] == 1)
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(try f.store.failures(f.jobKey).isEmpty)
        #expect(try f.store.conflicts(f.jobKey).first?.targetRecord?.contains("Chefin") == true)
    }
}
