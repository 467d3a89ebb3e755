import ConnectorAPI
import Connectors
import Foundation
import Testing

@testable import ConnectorHost

struct SimulatedCrash: Error {}

@Suite("Nothing lost, nothing duplicated")
struct SafetyTests {
    @Test("a crash after the target's create and before the mapping commit leaves exactly one copy")
    func crashAfterCreate() async throws {
        let f = try Fixture()
        for i in 0..<5 { f.source.insert(contact("Person\(i)", "Müller")) }
        f.hooks.afterApply = { side, _ in if side == .target { throw SimulatedCrash() } }
        let crashed = await f.sync()
        #expect(crashed.status == .failed)
        #expect(f.target.items.count == 5)  // the creates reached the target
        #expect(f.mappings.isEmpty)  // but nothing was committed
        #expect(try f.store.intents(f.jobKey).count == 5)
        // A restarted process resolves the intents and adopts the copies.
        f.hooks.afterApply = nil
        try f.reopenState()
        let rerun = await f.sync()
        #expect(rerun.status == .ok)
        #expect(rerun.counts["adopt"] == 5)
        #expect(rerun.counts["source→target create"] == nil)
        #expect(f.target.items.count == 5)
        #expect(f.mappings.count == 5)
        #expect(try f.store.intents(f.jobKey).isEmpty)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("a run stopped for shutdown between batches keeps its cursor; the next run finishes the rest")
    func stoppedRun() async throws {
        let f = try Fixture()
        for i in 0..<250 { f.source.insert(contact("P\(i)", "Müller")) }
        let applied = Counter()
        f.hooks.afterApply = { _, _ in applied.increment() }
        f.hooks.shouldStop = { applied.value >= 1 }
        let stopped = await f.sync()
        #expect(stopped.status == .stopped)
        #expect(f.target.items.count == 100)  // one batch of the memory store's 100
        #expect(try f.store.cursor(f.jobKey, side: .source) == nil)
        f.hooks = EngineHooks()
        let rest = await f.sync()
        #expect(rest.status == .ok)
        #expect(rest.counts["source→target create"] == 150)
        #expect(f.target.items.count == 250)
        #expect(Set(f.target.items.compactMap(\.syncKey)).count == 250)
    }

    @Test("losing all sync state re-matches existing copies instead of duplicating them")
    func stateLoss() async throws {
        let f = try Fixture()
        for i in 0..<4 { f.source.insert(contact("S\(i)", "Quelle")) }
        for i in 0..<3 { f.target.insert(contact("T\(i)", "Ziel")) }
        await f.sync()
        #expect(f.source.items.count == 7)
        #expect(f.target.items.count == 7)
        try f.loseState()
        let report = await f.sync()
        #expect(report.status == .ok)
        #expect(report.counts["adopt"] == 7)
        #expect(f.source.items.count == 7)
        #expect(f.target.items.count == 7)
        #expect(await f.sync().counts.isEmpty)
    }

    @Test("after losing state, an edited copy is adopted and the edit is applied, not duplicated")
    func stateLossWithEdit() async throws {
        let f = try Fixture { $0.conflict = .targetWins }
        f.source.insert(contact("Anna", "Schäfer"))
        await f.sync()
        try f.loseState()
        let t = try #require(f.target.id(named: "Anna Schäfer"))
        f.target.update(t) {
            if case .address(var a) = $0 {
                a.notes = "neu"
                $0 = .address(a)
            }
        }
        await f.sync()
        #expect(f.source.items.count == 1)
        #expect(f.target.items.count == 1)
        #expect(f.source.address(named: "Anna Schäfer")?.notes == "neu")
    }

    @Test("the guard refuses a run that deletes more than the allowed share, until forced")
    func massDeletionGuard() async throws {
        let f = try Fixture()
        let ids = (0..<10).map { f.source.insert(contact("P\($0)", "Müller")) }
        await f.sync()
        for id in ids.prefix(6) { f.source.delete(id) }
        let guarded = await f.sync()
        #expect(guarded.status == .guarded)
        #expect(guarded.message?.contains("6 of 10") == true)
        #expect(f.target.items.count == 10)
        // Still refused on the next run: the cursor did not move past the deletions.
        #expect(await f.sync().status == .guarded)
        f.definition.force = true
        let forced = await f.sync()
        #expect(forced.status == .ok)
        #expect(forced.counts["source→target delete"] == 6)
        #expect(f.target.items.count == 4)
    }

    @Test("a side that suddenly looks empty stops the connector instead of deleting everything")
    func emptySideGuard() async throws {
        let f = try Fixture()
        for i in 0..<3 { f.source.insert(contact("P\(i)", "Müller")) }
        await f.sync()
        try f.loseState()  // forces a full read of both sides
        await f.sync()
        f.source.faults.looksEmpty = true
        try f.reopenStateAfterCursorReset()
        let report = await f.sync()
        #expect(report.status == .guarded)
        #expect(report.message?.contains("looks empty") == true)
        #expect(f.target.items.count == 3)
        #expect(f.source.items.count == 3)
    }

    @Test("a filter leave unlinks by default; the CRM record is never deleted")
    func filterLeaveKeep() async throws {
        let f = try Fixture()
        f.sourceTags = ["Outlook-Sync"]
        let s = f.source.insert(contact("Anna", "Schäfer"), tags: ["Outlook-Sync"])
        f.source.insert(contact("Ohne", "Merkmal"))
        await f.sync()
        #expect(f.target.names == ["Anna Schäfer"])
        f.source.setTags(s, [])
        let report = await f.sync()
        #expect(report.counts["unlink"] == 1)
        #expect(f.target.names == ["Anna Schäfer"])
        #expect(f.source.items.count == 2)
        // Re-entering the filter adopts the kept copy: no duplicate.
        f.source.setTags(s, ["Outlook-Sync"])
        let back = await f.sync()
        #expect(back.counts["adopt"] == 1)
        #expect(f.target.items.count == 1)
    }

    @Test("filter_leave: remove deletes the target copy but not the CRM record")
    func filterLeaveRemove() async throws {
        let f = try Fixture { $0.filterLeave = .remove }
        f.sourceTags = ["Outlook-Sync"]
        let s = f.source.insert(contact("Anna", "Schäfer"), tags: ["Outlook-Sync"])
        await f.sync()
        f.source.setTags(s, [])
        let report = await f.sync()
        #expect(report.counts["source→target delete"] == 1)
        #expect(f.target.items.isEmpty)
        #expect(f.source.items.count == 1)
    }

    @Test("per-item failures go to the dead-letter list without stopping the others")
    func deadLetters() async throws {
        let f = try Fixture()
        f.settings.deadLetterAfterRuns = 2
        for i in 0..<4 { f.source.insert(contact("P\(i)", "Gut")) }
        f.source.insert(contact("Kaputt", "Transient"))
        f.source.insert(contact("Kaputt", "Permanent"))
        f.target.faults.failingRecords = [
            "Kaputt Transient": WriteError(.transient, "ErrorServerBusy"),
            "Kaputt Permanent": WriteError(.permanent, "ErrorInvalidPropertyRequest: phone number"),
        ]
        let first = await f.sync()
        #expect(first.status == .partial)
        #expect(first.counts["source→target create"] == 4)
        #expect(f.target.items.count == 4)
        var failures = try f.store.failures(f.jobKey)
        #expect(failures.count == 2)
        #expect(failures.first { $0.name == "Kaputt Permanent" }?.dead == true)
        #expect(failures.first { $0.name == "Kaputt Transient" }?.dead == false)
        // The transient one is retried on every run and never becomes a dead letter, however many
        // runs it lasts (here more than the configured two).
        await f.sync()
        await f.sync()
        failures = try f.store.failures(f.jobKey)
        #expect(failures.first { $0.name == "Kaputt Transient" }?.dead == false)
        #expect(failures.first { $0.name == "Kaputt Transient" }?.attempts == 3)
        let status = try ReportFormatter.status(store: f.store, jobs: [f.jobKey])
        #expect(status.contains("1 retrying, 1 dead letters"))
        // Dead letters come first, before the per-connector lines.
        #expect(status.hasPrefix("dead letters (1)"))
        #expect(status.contains("ErrorInvalidPropertyRequest: phone number"))
        // Fixing the cause and changing the record brings it through.
        f.target.faults.failingRecords = [:]
        let id = try #require(f.source.id(named: "Kaputt Permanent"))
        f.source.update(id) {
            if case .address(var a) = $0 {
                a.notes = "korrigiert"
                $0 = .address(a)
            }
        }
        await f.sync()
        // Both come through: the permanent one because it changed, the transient one because the
        // side is no longer busy.
        #expect(f.target.items.count == 6)
        #expect(try f.store.failures(f.jobKey).isEmpty)
    }

    @Test("a storm of transient failures over many runs loses nothing: every item arrives once the side recovers")
    func transientStorm() async throws {
        let f = try Fixture()
        f.settings.deadLetterAfterRuns = 2
        for i in 0..<6 { f.source.insert(contact("Termin\(i)", "Sturm")) }
        var busy: [String: WriteError] = [:]
        for i in 0..<3 {
            busy["Termin\(i) Sturm"] = WriteError(
                .transient, "ErrorBatchProcessingStopped: The batch was stopped", code: "ErrorBatchProcessingStopped")
        }
        f.target.faults.failingRecords = busy
        for _ in 0..<5 {
            let report = await f.sync()
            #expect(report.status == .partial)
            #expect(report.failures.allSatisfy { !$0.dead })
            // The engine's own retries are counted, by cause.
            #expect(report.retries.causes["ErrorBatchProcessingStopped"] ?? 0 > 0)
            let text = ReportFormatter.reports([report], detailed: false)
            #expect(text.contains("3 items postponed by transient errors"))
            #expect(!text.contains("✗"))
        }
        #expect(try f.store.failures(f.jobKey).allSatisfy { !$0.dead && $0.attempts == 5 })
        f.target.faults.failingRecords = [:]
        let report = await f.sync()
        #expect(report.status == .ok)
        #expect(f.target.names.count == 6)
        #expect(try f.store.failures(f.jobKey).isEmpty)
        #expect(f.mappings.count == 6)
    }

    @Test("a create whose answer was lost is found by its sync key before it is sent again: no duplicate")
    func lostCreateAnswer() async throws {
        let f = try Fixture()
        for i in 0..<4 { f.source.insert(contact("P\(i)", "Verloren")) }
        // The first batch is written, then the connection drops before the answer arrives.
        f.target.faults.lostAnswers = 1
        let report = await f.sync()
        #expect(report.status == .ok)
        #expect(f.target.items.count == 4)
        #expect(f.mappings.count == 4)
        #expect(report.counts["source→target create"] == 4)
        // It looked the keys up rather than creating again.
        #expect(f.target.callCount("apply") == 1)
        #expect(f.target.callCount("find") >= 1)
        let again = await f.sync()
        #expect(again.counts.isEmpty)
        #expect(f.target.items.count == 4)
    }

    @Test("a create whose answer was lost while the side cannot be searched waits for the next run, which adopts it")
    func lostCreateAnswerNoLookup() async throws {
        let f = try Fixture()
        f.source.insert(contact("Anna", "Verloren"))
        f.target.faults.lostAnswers = 1
        f.target.faults.beforeApply = { store in
            // The side goes away with this write: the lookup before a retry fails too.
            var faults = store.faults
            faults.unavailable = "down"
            faults.beforeApply = nil
            store.faults = faults
        }
        let first = await f.sync()
        #expect(first.status != .ok)
        f.target.faults = MemoryStore.Faults()
        let second = await f.sync()
        #expect(second.status == .ok)
        #expect(f.target.items.count == 1)
        #expect(f.mappings.count == 1)
    }

    @Test("transient failures are retried within the run and succeed")
    func transientRetry() async throws {
        let f = try Fixture()
        f.source.insert(contact("Anna", "Schäfer"))
        f.target.faults.failingRecords = ["Anna Schäfer": WriteError(.transient, "busy")]
        f.target.faults.beforeApply = { store in
            // Busy only for the first attempt.
            if store.callCount("apply") >= 2 { store.faults.failingRecords = [:] }
        }
        let report = await f.sync()
        #expect(report.status == .ok)
        #expect(f.target.callCount("apply") == 2)
        #expect(f.target.names == ["Anna Schäfer"])
    }

    @Test("invalid records are skipped and reported by name; the rest sync")
    func invalidRecord() async throws {
        let f = try Fixture()
        f.source.insert(.address(Address(emails: ["a@x.test", "b@x.test", "c@x.test", "d@x.test"], notes: "no name")))
        f.source.insert(contact("Anna", "Schäfer"))
        let report = await f.sync()
        #expect(report.status == .partial)
        #expect(f.target.names == ["Anna Schäfer"])
        #expect(report.failures.first?.message.contains("more than 3 e-mail addresses") == true)
    }
}

extension Fixture {
    /// Clears the stored cursors so the next run reads both sides in full.
    func reopenStateAfterCursorReset() throws {
        try store.database.write { try $0.execute(sql: "DELETE FROM cursor") }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A target that lets up to three batches run at once and records how many overlapped.
final class ParallelProbe: SyncEndpoint, @unchecked Sendable {
    let inner: any SyncEndpoint
    let lock = NSLock()
    var inFlight = 0
    var peak = 0
    var calls = 0
    var maxBatchSize: Int { inner.maxBatchSize }
    var maxParallelBatches: Int { 3 }

    init(_ inner: any SyncEndpoint) { self.inner = inner }

    func changes(_ request: ChangeRequest) async throws -> ChangeSet { try await inner.changes(request) }
    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] { try await inner.read(ids: ids) }
    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] { try await inner.find(syncKeys: syncKeys) }

    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        lock.withLock {
            inFlight += 1
            calls += 1
            peak = max(peak, inFlight)
        }
        try await Task.sleep(for: .milliseconds(30))
        let results = try await inner.apply(batch)
        lock.withLock { inFlight -= 1 }
        return results
    }
}

@Suite("Parallel write batches")
struct ParallelBatchTests {
    func job(_ f: Fixture, _ probe: ParallelProbe) -> SyncJob {
        SyncJob(
            definition: f.definition, user: f.user, accounts: f.accounts, source: f.source.endpoint(kind: .address),
            target: probe,
            sourceCapabilities: f.sourceCapabilities, targetCapabilities: f.targetCapabilities)
    }

    @Test("an endpoint that allows it gets several batches at once; every item is booked exactly once")
    func overlapping() async throws {
        let f = try Fixture()
        for i in 0..<95 { f.source.insert(contact("P\(i)", "Parallel")) }
        let probe = ParallelProbe(f.target.endpoint(kind: .address, maxBatchSize: 10))
        let report = await f.engine.run(job(f, probe))
        #expect(report.status == .ok)
        #expect(report.counts["source→target create"] == 95)
        #expect(probe.calls == 10)
        #expect(probe.peak == 3)
        #expect(f.target.items.count == 95)
        #expect(f.mappings.count == 95)
        #expect(Set(f.mappings.map(\.syncKey)).count == 95)
        let again = await f.engine.run(job(f, probe))
        #expect(again.counts.isEmpty)
    }

    @Test("a stop request sends no further batch but books those in flight; the next run finishes")
    func stopWhileInFlight() async throws {
        let f = try Fixture()
        for i in 0..<95 { f.source.insert(contact("P\(i)", "Parallel")) }
        let probe = ParallelProbe(f.target.endpoint(kind: .address, maxBatchSize: 10))
        f.hooks.shouldStop = { probe.lock.withLock { probe.calls >= 3 } }
        let stopped = await f.engine.run(job(f, probe))
        #expect(stopped.status == .stopped)
        #expect(probe.calls == 3)
        #expect(f.target.items.count == 30)
        #expect(f.mappings.count == 30)  // the three batches in flight were booked, not left to adoption
        f.hooks = EngineHooks()
        let rest = await f.engine.run(job(f, probe))
        #expect(rest.status == .ok)
        #expect(rest.counts["source→target create"] == 65)
        #expect(f.target.items.count == 95)
    }
}
