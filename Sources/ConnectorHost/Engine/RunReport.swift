import ConnectorAPI
import Foundation

/// How a run ended.
public enum RunStatus: String, Sendable {
    /// Everything applied.
    case ok
    /// Applied, but some items failed (retried next run or dead-lettered).
    case partial
    /// The mass-deletion guard stopped the run; nothing was written.
    case guarded
    /// A side could not be read or written at all; nothing was committed.
    case failed
    /// A dry run: the plan was computed, nothing was changed.
    case planned
    /// Stopped for shutdown between batches; what was applied is committed, the rest follows.
    case stopped
}

/// What a run did (or, for a dry run, would do).
public struct RunReport: Sendable {
    public var job: JobKey
    /// The account the job runs for: the user's account on the connector's target (the unit of
    /// health: its failures pause and may disable it).
    public var account: Account
    public var status: RunStatus
    /// Counts by direction and operation: `source→target create`, `target→source update`, `conflicts`, …
    public var counts: [String: Int]
    /// The plan of a dry run (nil after a real run, whose records are not kept).
    public var plan: SyncPlan?
    /// Items that failed in this run, with the reason.
    public var failures: [FailureRecord]
    /// Why the run stopped (guard, unreachable side), if it did.
    public var message: String?
    /// For a failed run: whether the cause needs an administrator (credentials, rights, an account gone).
    public var permanent: Bool = false
    /// Transient faults absorbed in the run (by the endpoints and by the engine's own retries).
    public var retries = RetryStatistics()
}
