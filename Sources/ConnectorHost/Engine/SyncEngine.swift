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
