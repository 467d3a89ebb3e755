import ConnectorAPI
import Foundation
import Logging
import Synchronization

/// A flag raised once when the service is asked to stop.
public final class StopFlag: Sendable {
    private let raised = Mutex(false)
    public init() {}
    public func raise() { raised.withLock { $0 = true } }
    public var isRaised: Bool { raised.withLock { $0 } }
}

/// Runs every connector for every user on its interval, as the long-running service does. A job
/// runs for an account: the user's account on the connector's target, the unit of health.
///
/// - An account whose runs change nothing is polled less often (its interval doubles, up to
///   `max_idle_interval`), and at the configured interval again as soon as something changes.
/// - A failed run is retried with backoff per account: the failed jobs of one round count once,
///   and a transient cause (a server restarting) never pauses an account longer than its
///   interval. An account failing for a permanent reason
///   (credentials, rights, account gone) `disable_after` times in a row is disabled with the reason
///   until `connector-host enable --account` is run. Throttling is waited out inside a run and
///   does not count.
/// - At most `concurrency` jobs run at once and never two of one account, so one slow or failing
///   account does not stall the others.
/// - When `stop` is raised no job starts; running jobs stop after their current batch.
public actor Scheduler {
    let host: SyncHost
    let settings: ServiceSettings
    let logger: Logger
    let stop: StopFlag
    let clock = ContinuousClock()
    let metrics: SyncMetrics
    /// Per failing account: when its next round of tries starts (failures before it are one round).
    var nextRound: [Account: ContinuousClock.Instant] = [:]
    /// Jobs asked to run now (``runSoon(_:)``), taken up by the loop within a second.
    var requested: Set<JobKey> = []
    /// Where each job stands, as the loop last saw it (``schedule()``).
    var published: [JobKey: JobSchedule] = [:]

    struct Slot {
        var config: ConnectorConfig
        var entry: UserEntry
        var due: ContinuousClock.Instant
        var idleRuns = 0
        /// When the job's running run started; nil while it waits.
        var startedAt: Date?
        var key: JobKey { JobKey(connector: config.definition.name, user: entry.binding.id) }
        /// The account the job runs for (the user's account on the target): the unit of health.
        var account: Account {
            entry.binding.account(on: config.target.name) ?? Account(adapter: config.target.name, name: "")
        }
    }

    public init(
        host: SyncHost, settings: ServiceSettings, logger: Logger, stop: StopFlag, metrics: SyncMetrics = SyncMetrics()
    ) {
        self.host = host
        self.settings = settings
        self.logger = logger
        self.stop = stop
        self.metrics = metrics
    }

    /// Runs until `stop` is raised and the running jobs have finished. `rounds` limits the number
    /// of started runs (for tests); nil runs forever.
    public func run(rounds: Int? = nil) async {
        var slots = await host.selection().map { Slot(config: $0.0, entry: $0.1, due: clock.now) }
        var started = 0
        var busyAccounts: Set<Account> = []
        enum Event: Sendable {
            case finished(Int, RunReport)
            case tick
        }
        await withTaskGroup(of: Event.self) { group in
            var running = 0
            var ticking = false
            while true {
                let stopping = stop.isRaised || rounds.map { started >= $0 } == true
                if !stopping {
                    let now = clock.now
                    takeRequests(&slots, now: now)
                    // Longest waiting first: scanning in slot order would let the first connectors'
                    // jobs, due again every interval, take every slot from the last ones under load.
                    let due = slots.indices.filter { slots[$0].due <= now }.sorted { slots[$0].due < slots[$1].due }
                    for index in due where running < settings.concurrency {
                        let slot = slots[index]
                        guard !busyAccounts.contains(slot.account) else { continue }
                        if (try? host.store.accountState(slot.account).status) == .disabled {
                            // Looked at again shortly, so `enable` takes effect while the service runs.
                            slots[index].due = now.advanced(by: .seconds(30))
                            continue
                        }
                        if let rounds, started >= rounds { break }
                        busyAccounts.insert(slot.account)
                        running += 1
                        started += 1
                        slots[index].startedAt = Date()
                        let host = self.host
                        group.addTask { .finished(index, await host.runJob(slot.config, slot.entry)) }
                    }
                }
                publish(slots)
                if stopping && running == 0 { break }
                if !ticking && !stopping {
                    let next =
                        slots.filter { !busyAccounts.contains($0.account) }.map(\.due).min()
                        ?? clock.now.advanced(by: .seconds(60))
                    let wake = min(next, clock.now.advanced(by: .seconds(1)))
                    ticking = true
                    group.addTask {
                        try? await Task.sleep(until: wake, clock: .continuous)
                        return .tick
                    }
                }
                guard let event = await group.next() else { break }
                switch event {
                case .tick:
                    ticking = false
                case .finished(let index, let report):
                    running -= 1
                    busyAccounts.remove(slots[index].account)
                    slots[index] = finished(slots[index], report)
                }
            }
            group.cancelAll()
        }
    }

    /// Books a finished run and decides when the job is due again.
    func finished(_ slot: Slot, _ report: RunReport) -> Slot {
        var slot = slot
        slot.startedAt = nil
        let now = clock.now
        metrics.record(report, kind: slot.config.definition.kind)
        switch report.status {
        case .ok, .partial, .planned:
            nextRound[slot.account] = nil
            _ = try? host.store.recordSuccess(slot.account)
            metrics.succeeded(slot.account)
            slot.idleRuns = report.counts.isEmpty ? slot.idleRuns + 1 : 0
            let factor = 1 << min(slot.idleRuns, 10)
            let interval = min(slot.config.interval * factor, max(settings.maxIdleInterval, slot.config.interval))
            slot.due = now.advanced(by: interval)
        case .guarded:
            logger.warning(
                "connector stopped by the mass-deletion guard",
                metadata: [
                    "connector": "\(report.job.connector)", "account": "\(slot.account)",
                    "reason": "\(report.message ?? "")",
                ])
            slot.due = now.advanced(by: slot.config.interval)
        case .stopped:
            slot.due = now
        case .failed:
            // The account is the unit of backoff: the first failed job of a round counts and sets when
            // the account is tried again; its other jobs that were due before then belong to the same
            // round, fail without counting again, and wait for the same moment.
            let newRound = nextRound[slot.account].map { slot.due >= $0 } ?? true
            let state = try? host.store.recordFailure(
                slot.account, reason: report.message ?? "unknown error", permanent: report.permanent,
                disableAfter: settings.disableAfter, newRound: newRound)
            let failures = max(1, state?.failures ?? 1)
            var pause = min(settings.failureBackoff * (1 << min(failures - 1, 12)), settings.maxFailureBackoff)
            // A server that was down for a while (a reboot) is back within one interval: only causes
            // that need an administrator back off beyond it.
            if !report.permanent { pause = min(pause, slot.config.interval) }
            if newRound { nextRound[slot.account] = now.advanced(by: pause) }
            // A job of the round that took longer than the pause waits a pause of its own; its next
            // failure then counts as a round.
            var resume = nextRound[slot.account] ?? now.advanced(by: pause)
            if resume <= now { resume = now.advanced(by: pause) }
            let backoff = resume - now
            slot.due = resume
            var metadata: Logger.Metadata = [
                "connector": "\(report.job.connector)", "user": "\(report.job.user)", "account": "\(slot.account)",
                "error": "\(report.message ?? "")", "failures": "\(failures)",
            ]
            if state?.status == .disabled {
                metadata["action"] =
                    "fix the cause, then run: connector-host enable --account \(slot.account.name) --adapter \(slot.account.adapter)"
                logger.error("account disabled after repeated permanent errors", metadata: metadata)
            } else {
                metadata["retryIn"] = "\(backoff)"
                logger.warning("sync run failed; retrying with backoff", metadata: metadata)
            }
        }
        metrics.accountStatus(slot.account, (try? host.store.accountState(slot.account).status) ?? .enabled)
        return slot
    }
}
