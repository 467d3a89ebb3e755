import ConnectorAPI
import Foundation
import Logging

/// The state of one run in progress.
struct Run {
    let engine: SyncEngine
    let job: SyncJob
    let logger: Logger
    let dryRun: Bool
    let planner: Planner
    var counts: [String: Int] = [:]
    var newFailures: [FailureRecord] = []
    var newCursors: [EndpointRole: Data?] = [:]
    var previousFailures: [FailureKey: FailureRecord] = [:]
    var fullScan: [EndpointRole: Bool] = [:]
    /// Transient failures the engine itself retried within the run.
    var retries = RetryStatistics()
    var unreadable: [EndpointRole: [UnreadableItem]] = [:]

    init(engine: SyncEngine, job: SyncJob, logger: Logger, dryRun: Bool) {
        self.engine = engine
        self.job = job
        self.logger = logger
        self.dryRun = dryRun
        planner = Planner(
            definition: job.definition, user: job.key.user, sourceCaps: job.sourceCapabilities,
            targetCaps: job.targetCapabilities)
    }

    var store: StateStore { engine.store }

    func endpoint(_ role: EndpointRole) -> any SyncEndpoint { role == .source ? job.source : job.target }
    func capabilities(_ role: EndpointRole) -> Capabilities {
        role == .source ? job.sourceCapabilities : job.targetCapabilities
    }

    mutating func execute() async throws -> RunReport {
        let clock = ContinuousClock()
        var lap = clock.now
        var timings: [String] = []
        func time(_ step: String) {
            let now = clock.now
            let elapsed = (now - lap).components
            timings.append("\(step)=\(elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000)ms")
            lap = now
        }
        let stored = try recordedAccounts()
        if let moved = accountChange(stored) {
            if dryRun {
                return RunReport(
                    job: job.key, account: job.accounts.target, status: .planned, counts: [:], plan: nil, failures: [],
                    message: moved + " A real run forgets the old pairs and matches the items again by their sync keys."
                )
            }
            logger.notice(
                "an account of the job changed: its item pairs are forgotten and matched again by sync keys; nothing is deleted",
                metadata: ["change": "\(moved)"])
            try store.forgetItems(job.key)
        }
        // Recorded after the old account's pairs were forgotten, so a crash in between repeats that.
        if !dryRun {
            for (side, account) in accounts() where stored[side] != account {
                try store.setAccount(job.key, side: side, account: account)
            }
        }
        if !dryRun { try await resolveIntents() }
        var mappings = try store.mappings(job.key)
        time("state")
        for failure in try store.failures(job.key) {
            previousFailures[FailureKey(side: failure.side, id: failure.itemID)] = failure
        }

        let changes: [EndpointRole: [Change]]
        switch try await gatherChanges(&mappings, time: time) {
        case .guarded(let report): return report
        case .changes(let gathered): changes = gathered
        }

        var openConflicts: [PairKey: ConflictDecision?] = [:]
        for conflict in try store.conflicts(job.key, openOnly: true) {
            openConflicts[PairKey(source: conflict.sourceID, target: conflict.targetID)] =
                conflict.decision.flatMap(ConflictDecision.init(rawValue:))
        }
        let plan = planner.plan(
            mappings: mappings, source: changes[.source] ?? [], target: changes[.target] ?? [],
            openConflicts: openConflicts)

        if let reason = massDeletion(plan, mappings: mappings) { return guarded(reason) }
        if dryRun {
            return RunReport(
                job: job.key, account: job.accounts.target, status: .planned, counts: plan.counts, plan: plan,
                failures: [], message: nil)
        }
        time("plan")
        engine.hooks.planned?(plan.writes(on: .source).count + plan.writes(on: .target).count)
        try recordUnreadable()
        try await apply(plan)
        time("apply")
        let status: RunStatus = newFailures.isEmpty ? .ok : .partial
        logger.info(
            "sync run finished",
            metadata: [
                "status": "\(status.rawValue)", "counts": "\(counts)", "timings": "\(timings.joined(separator: " "))",
            ])
        return RunReport(
            // No plan in the report of a real run: it holds every record written, and a host syncing
            // many mailboxes would keep them all until the last job ends. Dry runs carry it.
            job: job.key, account: job.accounts.target, status: status, counts: counts, plan: nil,
            failures: newFailures,
            message: nil)
    }

    /// The names of the accounts this job's sides are synced with now.
    func accounts() -> [EndpointRole: String] {
        [.source: job.accounts.source.name, .target: job.accounts.target.name]
    }

    /// The accounts the job's sides were last synced with, where recorded.
    func recordedAccounts() throws -> [EndpointRole: String] {
        var stored: [EndpointRole: String] = [:]
        for side in [EndpointRole.source, .target] { stored[side] = try store.account(job.key, side: side) }
        return stored
    }

    /// Whether a side's account changed since the last run (a user remapped to another account, as
    /// in a mailbox's migration to a new server). The ids the state holds belong to the old account: asking
    /// the new one for them fails, and missing from it they would look deleted. Answers what
    /// changed. (A job's first run after an upgrade has none recorded: its state is taken as it is.)
    func accountChange(_ stored: [EndpointRole: String]) -> String? {
        for (side, account) in accounts().sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            if let known = stored[side], known != account {
                return
                    "The \(side.rawValue) account of \(job.key.connector) / \(job.key.user) changed from \(known) to \(account)."
            }
        }
        return nil
    }

    /// Items a side could not read become dead letters with their reason; the run goes on.
    mutating func recordUnreadable() throws {
        var changes = StateChanges()
        for (side, items) in unreadable {
            for item in items {
                changes.failures.append(
                    invalidData(side: side, id: item.id, name: item.name, operation: "read", reason: item.reason))
            }
        }
        try store.commit(job.key, changes)
    }

    /// The dead letter of an item whose data cannot be used (unreadable, or invalid for a create),
    /// logged with its reason; it is not tried again until it changes.
    mutating func invalidData(side: EndpointRole, id: ItemID, name: String, operation: String, reason: String)
        -> FailureRecord
    {
        let failure = FailureRecord(
            side: side, itemID: id, operation: operation, name: name, kind: WriteError.Kind.permanent.rawValue,
            message: "invalid data: \(reason)",
            attempts: (previousFailures[FailureKey(side: side, id: id)]?.attempts ?? 0) + 1, dead: true,
            lastAt: Date())
        newFailures.append(failure)
        logger.error(
            "item skipped: invalid data",
            metadata: [
                "item": "\(id)", "name": "\(name)", "operation": "\(operation)", "side": "\(side.rawValue)",
                "reason": "\(reason)",
            ])
        return failure
    }

    func guarded(_ reason: String) -> RunReport {
        logger.warning("mass-deletion guard stopped the connector", metadata: ["reason": "\(reason)"])
        return RunReport(
            job: job.key, account: job.accounts.target, status: .guarded, counts: [:], plan: nil, failures: [],
            message: reason)
    }

    /// The share of mapped items the plan deletes, per side, against the threshold.
    func massDeletion(_ plan: SyncPlan, mappings: [Mapping]) -> String? {
        guard !job.definition.force else { return nil }
        let linked = mappings.filter { $0.status == .linked }.count
        guard linked > 0 else { return nil }
        for side in [EndpointRole.source, .target] {
            let deletes = plan.writes(on: side).filter { if case .delete = $0 { true } else { false } }.count
            let share = Double(deletes) / Double(linked)
            if deletes >= SyncEngine.massDeleteMinimum, share > job.definition.massDeleteThreshold {
                return
                    "the run would delete \(deletes) of \(linked) mapped items (\(Int(share * 100)) %) on the \(side.rawValue) side, "
                    + "above the limit of \(Int(job.definition.massDeleteThreshold * 100)) %. Nothing was changed. "
                    + "Check the other side; if the deletions are wanted, run again with --force."
            }
        }
        return nil
    }

    // MARK: Before planning

    /// Adopts copies whose create was sent but whose mapping was never committed.
    mutating func resolveIntents() async throws {
        let intents = try store.intents(job.key)
        guard !intents.isEmpty else { return }
        var changes = StateChanges()
        for side in [EndpointRole.source, .target] {
            let mine = intents.filter { $0.side == side }
            guard !mine.isEmpty else { continue }
            let found = try await endpoint(side).find(syncKeys: mine.map(\.syncKey))
            for intent in mine {
                changes.clearedIntents.append(intent.syncKey)
                guard let copy = found[intent.syncKey] else { continue }
                let copyHash = planner.hash(copy.record, on: side)
                changes.mappings.append(
                    side == .target
                        ? Mapping(
                            sourceID: intent.originID, targetID: copy.id, sourceVersion: intent.originVersion,
                            targetVersion: copy.version, sourceHash: intent.originHash, targetHash: copyHash,
                            syncKey: intent.syncKey)
                        : Mapping(
                            sourceID: copy.id, targetID: intent.originID, sourceVersion: copy.version,
                            targetVersion: intent.originVersion, sourceHash: copyHash, targetHash: intent.originHash,
                            syncKey: intent.syncKey))
                counts["adopt", default: 0] += 1
                logger.notice(
                    "adopted an item created before an interrupted run", metadata: ["syncKey": "\(intent.syncKey)"])
            }
        }
        try store.commit(job.key, changes)
    }
}
