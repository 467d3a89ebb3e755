import ConnectorAPI

/// A failed HTTP request as an adapter explains it: the status (0 when no answer came), whether
/// the same request will keep failing, and how long the server asked to wait.
public protocol HTTPRequestFailure: Error, CustomStringConvertible {
    var status: Int { get }
    var isPermanent: Bool { get }
    var retryAfter: Duration? { get }
}

extension HTTPRequestFailure {
    /// What a write that failed this way means to the engine: 412 a conflict (the item changed),
    /// 404 not found, the rest permanent or transient as classified, with the status as its code.
    /// `message` names the item and the cause.
    public func writeError(_ message: String) -> WriteError {
        switch status {
        case 412: WriteError(.conflict, message, code: "HTTP412")
        case 404: WriteError(.notFound, message, code: "HTTP404")
        default:
            WriteError(
                isPermanent ? .permanent : .transient, message, retryAfter: retryAfter,
                code: status == 0 ? "connection" : "HTTP\(status)")
        }
    }
}

/// The retry loop HTTP adapters share: one attempt after another while the failure is transient,
/// waiting what the server asked (Retry-After) or a pause that doubles from `firstPause`, each
/// wait booked in `ledger` (so a run reports a storm as one line), at most `attempts` in all.
public enum HTTPRetries {
    /// Runs `attempt` until it answers, fails with a permanent ``HTTPRequestFailure``, or the
    /// attempts are used up (then the last failure is thrown). Other errors pass through at once.
    public static func run<Answer, Failure: HTTPRequestFailure>(
        attempts: Int, ledger: RetryLedger, firstPause: Duration = .milliseconds(200), failure: Failure.Type,
        _ attempt: () async throws -> Answer
    ) async throws -> Answer {
        var pause = firstPause
        var count = 0
        while true {
            count += 1
            do {
                return try await attempt()
            } catch let error as Failure {
                guard !error.isPermanent, count < attempts else { throw error }
                let wait = error.retryAfter ?? pause
                ledger.record(error.status == 0 ? "connection" : "HTTP\(error.status)", waited: wait)
                try await Task.sleep(for: wait)
                pause *= 2
            }
        }
    }
}
