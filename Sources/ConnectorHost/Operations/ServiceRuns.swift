import Foundation

/// Jobs run by the service on an administrator's request from another process: while
/// `connector-host run` holds the state (``StateLock``), `resolve` and `retry` record their
/// decisions, ask the service for the jobs' runs (``StateStore/requestRuns(_:)``; its scheduler
/// looks every second) and wait here for the runs to be booked.
public enum ServiceRuns {
    /// Asks for the jobs' runs and waits until each has a run that started after the request
    /// (a run already in progress may have read the state before the decision), or until
    /// `timeout` passes. Answers the runs booked, by job; a job missing from the answer has not
    /// run yet (the service is busy, or stopped).
    public static func request(
        _ jobs: [JobKey], store: StateStore, timeout: Duration, poll: Duration = .milliseconds(250)
    ) async throws -> [JobKey: RunSummary] {
        let requested = Date()
        let before = Dictionary(uniqueKeysWithValues: try jobs.map { ($0, try store.latestRunID($0)) })
        try store.requestRuns(jobs)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var done: [JobKey: RunSummary] = [:]
        while true {
            for job in jobs where done[job] == nil {
                // Run times are stored as seconds; allow for the rounding of the start.
                if let run = try store.runs(job, after: before[job] ?? 0).first(where: {
                    $0.startedAt.timeIntervalSince(requested) > -0.001
                }) {
                    done[job] = run
                }
            }
            if done.count == jobs.count || clock.now >= deadline { return done }
            try await Task.sleep(for: poll)
        }
    }

    /// `contacts / MM: run by the service: ok, source→target update 1`, with its message.
    public static func describe(_ run: RunSummary) -> String {
        let counts = run.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(run.job.connector) / \(run.job.user): run by the service: \(run.status)"
            + (counts.isEmpty ? ", no changes" : ": \(counts)") + (run.message.map { "\n  ! \($0)" } ?? "")
    }
}
