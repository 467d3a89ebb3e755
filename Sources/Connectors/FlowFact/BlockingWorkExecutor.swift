import Dispatch

/// A serial executor on a dispatch queue of its own, for an actor whose work blocks (ODBC calls).
/// Its jobs run on dispatch's threads, which grow as needed, instead of on Swift's cooperative pool,
/// whose few threads would otherwise sit waiting for the database while other jobs' network
/// replies and bookkeeping queue behind them.
final class BlockingWorkExecutor: SerialExecutor, @unchecked Sendable {
    let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
