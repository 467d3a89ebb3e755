import ConnectorAPI
import Foundation
import Synchronization

/// How far a run in progress has come, for the operator's console.
public struct RunProgress: Sendable, Hashable {
    /// When the run started.
    public var startedAt: Date
    /// Writes sent so far (creates, updates and deletes on either side; a write retried within the
    /// run counts again).
    public var written = 0
    /// Writes the run's plan holds, once the engine tells (nil until then: the count of written
    /// items is shown alone).
    public var planned: Int?
}

/// The runs in progress of a host, per job: fed by the host's runs, read by the console.
public final class ProgressBoard: Sendable {
    private let runs = Mutex<[JobKey: RunProgress]>([:])

    /// An empty board.
    public init() {}

    /// The runs in progress now.
    public func snapshot() -> [JobKey: RunProgress] { runs.withLock { $0 } }

    func started(_ job: JobKey) { runs.withLock { $0[job] = RunProgress(startedAt: Date()) } }
    func finished(_ job: JobKey) { runs.withLock { $0[job] = nil } }
    func wrote(_ job: JobKey, _ count: Int) { runs.withLock { $0[job]?.written += count } }
    func planned(_ job: JobKey, _ total: Int) { runs.withLock { $0[job]?.planned = total } }

    /// `hooks` with the job's write batches counted on this board.
    func hooks(_ hooks: EngineHooks, for job: JobKey) -> EngineHooks {
        var result = hooks
        let inner = hooks.afterApply
        result.afterApply = { [self] side, operations in
            try inner?(side, operations)
            wrote(job, operations.count)
        }
        let told = hooks.planned
        result.planned = { [self] total in
            told?(total)
            planned(job, total)
        }
        return result
    }
}
