import Foundation

/// An async semaphore with an adjustable limit. Waiters are served first come, first served, and
/// a waiter whose task is cancelled leaves the queue at once.
final class ConcurrencyLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var currentLimit: Int
    private var active = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    /// Waiters cancelled before they were queued (the cancellation handler can run first).
    private var cancelledBeforeQueued: Set<UInt64> = []
    private var nextID: UInt64 = 0

    init(limit: Int) {
        currentLimit = max(1, limit)
    }

    /// The current limit.
    var limit: Int { lock.withLock { currentLimit } }

    /// Requests in flight, for tests and diagnostics.
    var inFlight: Int { lock.withLock { active } }

    /// Sets the limit (at least 1). A higher limit admits waiters at once; a lower one lets the
    /// requests in flight finish and admits new ones only below it.
    func setLimit(_ limit: Int) {
        let admitted = lock.withLock {
            currentLimit = max(1, limit)
            return admitWaiters()
        }
        for continuation in admitted { continuation.resume() }
    }

    /// Waits for a free slot. Throws `CancellationError` if the task is cancelled while waiting.
    func acquire() async throws {
        let id = lock.withLock {
            nextID += 1
            return nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome {
                    case admitted
                    case queued
                    case cancelled
                }
                let outcome: Outcome = lock.withLock {
                    if cancelledBeforeQueued.remove(id) != nil { return .cancelled }
                    if active < currentLimit && waiters.isEmpty {
                        active += 1
                        return .admitted
                    }
                    waiters.append((id, continuation))
                    return .queued
                }
                switch outcome {
                case .admitted: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = lock.withLock {
                if let index = waiters.firstIndex(where: { $0.id == id }) {
                    return waiters.remove(at: index).continuation
                }
                cancelledBeforeQueued.insert(id)
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
        // Admitted: the id can no longer be cancelled before queueing.
        lock.withLock { _ = cancelledBeforeQueued.remove(id) }
    }

    /// Frees a slot taken by `acquire`.
    func release() {
        let admitted = lock.withLock {
            active -= 1
            return admitWaiters()
        }
        for continuation in admitted { continuation.resume() }
    }

    /// Takes waiters off the queue while there is room; call with the lock held, resume outside it.
    private func admitWaiters() -> [CheckedContinuation<Void, any Error>] {
        var admitted: [CheckedContinuation<Void, any Error>] = []
        while active < currentLimit && !waiters.isEmpty {
            active += 1
            admitted.append(waiters.removeFirst().continuation)
        }
        return admitted
    }
}
