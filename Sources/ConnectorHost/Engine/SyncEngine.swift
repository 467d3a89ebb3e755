import ConnectorAPI
import Foundation
import Logging

/// Runs sync jobs: read both sides' changes, plan, guard, write in batches, commit.
///
/// 1. Leftover intents from a crashed run are resolved first: copies that exist are adopted.
/// 2. Each side's changes since its cursor are read; failed items and open conflicts are re-read.
/// 3. The `Planner` classifies every change against the mappings and produces actions.
/// 4. The guard refuses mass deletions and sides that suddenly look empty.
/// 5. Writes go out in batches; each batch's mappings commit in one transaction with its intents
///    cleared. Cursors commit last, so a crash re-reads changes instead of losing them.
public struct SyncEngine: Sendable {
    /// The guard ignores runs that delete fewer items than this, whatever the share.
    public static let massDeleteMinimum = 5

    public var store: StateStore
    public var settings: EngineSettings
    public var logger: Logger
    public var hooks: EngineHooks

    public init(
        store: StateStore, settings: EngineSettings = EngineSettings(), logger: Logger,
        hooks: EngineHooks = EngineHooks()
    ) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.hooks = hooks
    }

    /// Runs one job. Never throws: every outcome, including an unreachable side, is in the report.
    public func run(_ job: SyncJob, dryRun: Bool = false) async -> RunReport {
        let started = Date()
        var logger = self.logger
        logger[metadataKey: "connector"] = "\(job.key.connector)"
        logger[metadataKey: "user"] = "\(job.key.user)"
        logger[metadataKey: "account"] = "\(job.accounts.target)"
        var run = Run(engine: self, job: job, logger: logger, dryRun: dryRun)
        var report: RunReport
        do {
            report = try await run.execute()
        } catch {
            let runError = error as? RunError
            if runError?.stopped == true {
                logger.notice("sync run stopped for shutdown; finished batches are committed")
            } else {
                logger.error("sync run failed; nothing further was committed", metadata: ["error": "\(error)"])
            }
            report = RunReport(
                job: job.key, account: job.accounts.target, status: runError?.stopped == true ? .stopped : .failed,
                counts: run.counts,
                plan: nil, failures: run.newFailures, message: "\(error)",
                permanent: runError?.permanent ?? (error as? ClassifiedError)?.isPermanent ?? false)
        }
        report.retries = run.retries
        for endpoint in [job.source, job.target] {
            if let reporting = endpoint as? any RetryReporting { report.retries.add(reporting.takeRetryStatistics()) }
        }
        let postponed = report.failures.filter { $0.kind == WriteError.Kind.transient.rawValue }
        if !report.retries.isEmpty || !postponed.isEmpty {
            // A storm is one line per run, not one per item.
            logger.notice(
                "transient faults",
                metadata: [
                    "retries": "\(report.retries.retries)", "waited": "\(report.retries.waited)",
                    "causes":
                        "\(report.retries.causes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                    "postponed": "\(postponed.count)",
                ])
        }
        if !dryRun {
            let summary = RunSummary(
                job: job.key, startedAt: started, finishedAt: Date(), status: report.status.rawValue,
                counts: report.counts, message: report.message)
            do {
                try store.finishRun(
                    // A failed, guarded or stopped run keeps the old cursors: its changes are read again.
                    job.key, cursors: [.failed, .guarded, .stopped].contains(report.status) ? [:] : run.newCursors,
                    summary: summary)
            } catch {
                logger.error("could not record the run in the state database", metadata: ["error": "\(error)"])
            }
        }
        return report
    }
}

/// An error that stops a run as a whole (a side unreachable), naming the side and cause.
struct RunError: Error, CustomStringConvertible {
    var description: String
    /// Whether the cause needs an administrator (bad credentials, missing rights, unknown mailbox).
    var permanent = false
    /// The run was stopped on purpose (shutdown) after a finished batch.
    var stopped = false

    init(description: String, cause: Error? = nil) {
        self.description = description
        permanent = (cause as? ClassifiedError)?.isPermanent ?? false
    }

    static let shutdown: RunError = {
        var error = RunError(
            description: "stopped for shutdown after the last finished batch; the rest follows on the next start")
        error.stopped = true
        return error
    }()
}

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

        var changes: [EndpointRole: [Change]] = [:]
        for role in [EndpointRole.source, .target] where capabilities(role).canRead {
            let cursor = try store.cursor(job.key, side: role)
            var known: [ItemID: Version] = [:]
            for mapping in mappings where mapping.status == .linked {
                if let id = role == .source ? mapping.sourceID : mapping.targetID {
                    known[id] = role == .source ? mapping.sourceVersion : mapping.targetVersion
                }
            }
            let set: ChangeSet
            do {
                set = try await endpoint(role).changes(ChangeRequest(cursor: cursor, known: known))
            } catch {
                throw RunError(
                    description:
                        "cannot read changes from the \(role.rawValue) side (\(job.account(role).name)): \(error)",
                    cause: error)
            }
            time("read_\(role.rawValue)")
            changes[role] = set.changes
            unreadable[role] = set.unreadable
            newCursors[role] = set.cursor
            fullScan[role] = set.isFullScan
            if set.isFullScan, set.unchanged.isEmpty,
                !set.changes.contains(where: { if case .upsert = $0 { true } else { false } }),
                !known.isEmpty, !job.definition.force
            {
                return guarded(
                    "the \(role.rawValue) side looks empty: a full read found no items while \(known.count) are mapped. "
                        + "Nothing was changed. If the items were really removed, run again with --force.")
            }
        }
        try await addRetries(&changes, mappings: mappings)
        try await addCounterparts(&changes, mappings: mappings)
        try await relocateMovedMails(&changes, mappings: &mappings)
        try await resolveStampedCopies(&changes, mappings: &mappings)

        let openConflicts = Set(
            try store.conflicts(job.key, openOnly: true).map { PairKey(source: $0.sourceID, target: $0.targetID) })
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

    /// Re-reads items that failed before (not dead letters) and the two sides of open conflicts.
    mutating func addRetries(_ changes: inout [EndpointRole: [Change]], mappings: [Mapping]) async throws {
        var wanted: [EndpointRole: Set<ItemID>] = [.source: [], .target: []]
        var deletes: [EndpointRole: Set<ItemID>] = [.source: [], .target: []]
        for failure in previousFailures.values where !failure.dead {
            if failure.operation == "delete" {
                deletes[failure.side]!.insert(failure.itemID)
            } else {
                wanted[failure.side]!.insert(failure.itemID)
            }
        }
        for conflict in try store.conflicts(job.key, openOnly: true) {
            if let id = conflict.sourceID { wanted[.source]!.insert(id) }
            if let id = conflict.targetID { wanted[.target]!.insert(id) }
        }
        // A retried item needs its counterpart's state too, to see a conflict instead of overwriting.
        for mapping in mappings where mapping.status == .linked {
            if let s = mapping.sourceID, let t = mapping.targetID {
                if wanted[.source]!.contains(s) { wanted[.target]!.insert(t) }
                if wanted[.target]!.contains(t) { wanted[.source]!.insert(s) }
            }
        }
        for side in [EndpointRole.source, .target] {
            let present = Set((changes[side] ?? []).map(\.id))
            for id in deletes[side]!.subtracting(present) { changes[side, default: []].append(.deleted(id)) }
            let ids = wanted[side]!.subtracting(present)
            guard !ids.isEmpty, capabilities(side).canRead else { continue }
            let states = try await read(side, Array(ids))
            changes[side, default: []].append(contentsOf: states.values.map(Change.upsert))
        }
    }

    /// Reads the sending side of a one-way connector whose copy was deleted.
    func addCounterparts(_ changes: inout [EndpointRole: [Change]], mappings: [Mapping]) async throws {
        let source = Dictionary((changes[.source] ?? []).map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        let target = Dictionary((changes[.target] ?? []).map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        let needed = planner.idsToRead(mappings: mappings, source: source, target: target)
        for (side, ids) in [(EndpointRole.source, needed.source), (.target, needed.target)] where !ids.isEmpty {
            let states = try await read(side, ids)
            changes[side, default: []].append(contentsOf: states.values.map(Change.upsert))
        }
    }

    /// Unmapped copies (stamped by this connector) whose origin is not among the changes: look the
    /// origin up so the pair is adopted; a copy whose origin is gone is treated as a new item.
    func resolveStampedCopies(_ changes: inout [EndpointRole: [Change]], mappings: inout [Mapping]) async throws {
        let mapped: [EndpointRole: Set<ItemID>] = [
            .source: Set(mappings.compactMap(\.sourceID)), .target: Set(mappings.compactMap(\.targetID)),
        ]
        for side in [EndpointRole.source, .target] {
            let other: EndpointRole = side == .source ? .target : .source
            let present = Set((changes[other] ?? []).map(\.id))
            var lookups: [ItemID: [Int]] = [:]
            for (index, change) in (changes[side] ?? []).enumerated() {
                guard case .upsert(let state) = change, !mapped[side]!.contains(state.id), let key = state.syncKey,
                    let origin = SyncKeys.origin(of: key, scope: planner.keyScope), origin.role == other,
                    !present.contains(origin.id), !mapped[other]!.contains(origin.id)
                else { continue }
                lookups[origin.id, default: []].append(index)
            }
            guard !lookups.isEmpty else { continue }
            let found = capabilities(other).canRead ? try await read(other, Array(lookups.keys)) : [:]
            changes[other, default: []].append(contentsOf: found.values.map(Change.upsert))
            for (originID, indices) in lookups where found[originID] == nil {
                for index in indices {
                    guard case .upsert(var state) = changes[side]![index] else { continue }
                    logger.notice(
                        "a copy's original is gone; treating the copy as a new item", metadata: ["item": "\(state.id)"])
                    state.syncKey = nil
                    changes[side]![index] = .upsert(state)
                }
            }
        }
    }

    func read(_ side: EndpointRole, _ ids: [ItemID], fieldsOnly: Bool = false) async throws -> [ItemID: ItemState] {
        do {
            return fieldsOnly ? try await endpoint(side).readFields(ids: ids) : try await endpoint(side).read(ids: ids)
        } catch {
            throw RunError(
                description:
                    "cannot read \(ids.count) items from the \(side.rawValue) side (\(job.account(side).name)): \(error)",
                cause: error)
        }
    }
}
