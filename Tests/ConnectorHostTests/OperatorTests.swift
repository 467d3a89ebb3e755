import ConnectorAPI
import Connectors
import Foundation
import Synchronization
import Testing

@testable import ConnectorHost

/// The operator's decisions carried out by the engine: a conflict settled by an administrator, a
/// dead letter put back.
@Suite("Operator: resolving conflicts and retrying dead letters")
struct OperatorTests {
    /// One contact synced, then its notes changed on both sides under `conflict: report`, run once.
    func reported() async throws -> (Fixture, ConflictEntry) {
        let f = try Fixture { $0.conflict = .report }
        let s = f.source.insert(contact("Anna", "Schäfer", notes: "alt"))
        await f.sync()
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.source.update(s) {
            if case .address(var a) = $0 {
                a.notes = "CRM"
                $0 = .address(a)
            }
        }
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.notes = "Outlook"
                a.jobTitle = "Makler"
                $0 = .address(a)
            }
        }
        #expect(await f.sync().counts["conflicts"] == 1)
        let entry = try #require(try f.store.conflictEntries().first)
        return (f, entry)
    }

    @Test("a conflict lists both versions field by field with the differing fields marked")
    func fields() async throws {
        let (f, entry) = try await reported()
        #expect(entry.record.open)
        #expect(entry.title == "Anna Schäfer")
        #expect(entry.job == f.jobKey)
        let byName = Dictionary(uniqueKeysWithValues: entry.fields.map { ($0.name, $0) })
        #expect(byName["notes"] == FieldDifference(name: "notes", source: "CRM", target: "Outlook", differs: true))
        #expect(byName["jobTitle"]?.source == nil && byName["jobTitle"]?.target == "Makler")
        #expect(byName["jobTitle"]?.differs == true)
        #expect(
            byName["givenName"] == FieldDifference(name: "givenName", source: "Anna", target: "Anna", differs: false))
        #expect(entry.record.sourceModifiedAt != nil && entry.record.targetModifiedAt != nil)
        let text = OperatorFormatter.conflicts([entry], color: false)
        #expect(text.contains("≠ notes"), "\(text)")
        #expect(text.contains("resolve \(entry.record.id) --take"), "\(text)")
        #expect(OperatorFormatter.conflicts([entry], color: true).contains("\u{1B}[1;33m"))
        let json = try OperatorFormatter.conflictsJSON([entry])
        #expect(json.contains("\"differs\" : true"), "\(json)")
    }

    @Test("taking the source writes it to the target once, closes the conflict, and the next run is quiet")
    func takeSource() async throws {
        let (f, entry) = try await reported()
        let updatesBefore = f.target.callCount("apply")
        #expect(try f.store.decide(conflict: entry.record.id, .source) == f.jobKey)
        let report = await f.sync()
        #expect(report.status == .ok)
        #expect(report.counts["source→target update"] == 1, "\(report.counts)")
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(f.target.callCount("apply") == updatesBefore + 1)
        let conflicts = try f.store.conflicts(f.jobKey)
        #expect(conflicts.filter(\.open).isEmpty)
        #expect(conflicts.contains { $0.resolution == "source taken by an administrator" && $0.decision == "source" })
        let quiet = await f.sync()
        #expect(quiet.counts.isEmpty, "\(quiet.counts)")
        #expect(f.target.callCount("apply") == updatesBefore + 1, "written once")
    }

    @Test("taking the target writes it to the source")
    func takeTarget() async throws {
        let (f, entry) = try await reported()
        try f.store.decide(conflict: entry.record.id, .target)
        let report = await f.sync()
        #expect(report.counts["target→source update"] == 1, "\(report.counts)")
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "Outlook")
        #expect(try f.store.conflicts(f.jobKey, openOnly: true).isEmpty)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("skipping writes nothing, keeps both versions, and a later one-sided change flows normally")
    func skip() async throws {
        let (f, entry) = try await reported()
        try f.store.decide(conflict: entry.record.id, .skip)
        let report = await f.sync()
        #expect(report.counts["source→target update"] == nil && report.counts["target→source update"] == nil)
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "CRM")
        #expect(f.target.address(named: "Anna Schäfer")?.notes == "Outlook")
        #expect(try f.store.conflicts(f.jobKey, openOnly: true).isEmpty)
        #expect(await f.sync().counts.isEmpty)
        // A later change on one side is no conflict: it flows.
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.notes = "später"
                $0 = .address(a)
            }
        }
        let later = await f.sync()
        #expect(later.counts["target→source update"] == 1, "\(later.counts)")
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "später")
    }

    @Test("a decision on a conflict that is settled already, or unknown, is refused")
    func staleDecision() async throws {
        let (f, entry) = try await reported()
        try f.store.decide(conflict: entry.record.id, .source)
        await f.sync()
        #expect(try f.store.decide(conflict: entry.record.id, .target) == nil)
        #expect(try f.store.decide(conflict: 9_999, .target) == nil)
    }

    @Test("a retried dead letter that fails again returns to the list with the new reason; fixed, it goes through")
    func retry() async throws {
        let f = try Fixture()
        f.settings.deadLetterAfterRuns = 2
        f.source.insert(contact("Gut", "Eins"))
        f.source.insert(contact("Kaputt", "Permanent"))
        f.target.faults.failingRecords = [
            "Kaputt Permanent": WriteError(.permanent, "ErrorInvalidPropertyRequest: phone")
        ]
        await f.sync()
        let dead = try f.store.deadLetters()
        #expect(dead.count == 1)
        let letter = try #require(dead.first)
        #expect(letter.failure.name == "Kaputt Permanent" && letter.failure.message.contains("phone"))
        // Not retried on its own.
        let idle = await f.sync()
        #expect(idle.counts.isEmpty, "\(idle.counts)")
        // Put back while the cause remains: it fails again, with the new reason, and is dead again.
        f.target.faults.failingRecords = [
            "Kaputt Permanent": WriteError(.permanent, "ErrorQuotaExceeded: mailbox full")
        ]
        #expect(try f.store.retry(deadLetter: letter.id) == f.jobKey)
        #expect(try f.store.deadLetters().isEmpty)
        let again = await f.sync()
        #expect(again.counts["failed"] == 1, "\(again.counts)")
        let back = try f.store.deadLetters()
        #expect(back.count == 1)
        #expect(back.first?.failure.message.contains("mailbox full") == true, "\(back)")
        #expect(back.first?.failure.dead == true)
        // Fixed and put back: it goes through and leaves the list.
        f.target.faults.failingRecords = [:]
        let counts = try f.store.retryAll()
        #expect(counts == [f.jobKey: 1])
        let done = await f.sync()
        #expect(done.counts["source→target create"] == 1, "\(done.counts)")
        #expect(try f.store.deadLetters(includeRetrying: true).isEmpty)
        #expect(f.target.address(named: "Kaputt Permanent") != nil)
        #expect(try f.store.openCounts() == (0, 0))
    }

    @Test("a run tells its plan's size before writing; the progress board counts the writes against it")
    func progress() async throws {
        var f = try Fixture()
        let job = f.jobKey
        for i in 0..<5 { f.source.insert(contact("P\(i)", "Fortschritt")) }
        let board = ProgressBoard()
        let seen = Mutex<[Int: RunProgress]>([:])
        var hooks = EngineHooks()
        hooks.afterApply = { _, _ in
            if let now = board.snapshot()[job] { seen.withLock { $0[now.written] = now } }
        }
        f.hooks = board.hooks(hooks, for: f.jobKey)
        board.started(f.jobKey)
        #expect(await f.sync().counts["source→target create"] == 5)
        let progress = try #require(board.snapshot()[f.jobKey])
        #expect(progress.planned == 5)
        #expect(progress.written == 5)
        // Seen after each batch: the total was known before the first write finished.
        #expect(!seen.withLock { $0.isEmpty })
        #expect(seen.withLock { $0.values.allSatisfy { $0.planned == 5 } })
        board.finished(f.jobKey)
        #expect(board.snapshot().isEmpty)
    }
}
