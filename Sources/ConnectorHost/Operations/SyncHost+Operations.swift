import ConnectorAPI
import Foundation

/// An operator's request that cannot be carried out (no such conflict, a job no longer configured).
public struct OperatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SyncHost {
    /// Settles an open conflict: records the decision and runs the conflict's job now, so the chosen
    /// version is written through the engine (version check, bookkeeping) before this returns.
    public func resolve(conflict id: Int64, take decision: ConflictDecision) async throws -> RunReport {
        guard let entry = try store.conflictEntry(id: id) else { throw OperatorError("there is no conflict #\(id)") }
        guard entry.record.open else {
            throw OperatorError("conflict #\(id) (\(entry.title)) is settled already: \(entry.record.resolution)")
        }
        try store.decide(conflict: id, decision)
        return try await run(entry.job)
    }

    /// Puts a dead letter back and runs its job now; failing again, it is a dead letter again with
    /// the new reason.
    public func retry(deadLetter id: Int64) async throws -> RunReport {
        guard let job = try store.retry(deadLetter: id) else { throw OperatorError("there is no dead letter #\(id)") }
        return try await run(job)
    }

    /// Runs one job (connector and user) now.
    public func run(_ job: JobKey) async throws -> RunReport {
        guard
            let (config, entry) = selection(connector: job.connector, user: job.user).first(where: {
                $0.0.definition.name == job.connector && $0.1.binding.id == job.user
            })
        else {
            throw OperatorError(
                "connector \(job.connector) for user \(job.user) is not in the configuration (or the user is disabled)")
        }
        return await runJob(config, entry)
    }
}
