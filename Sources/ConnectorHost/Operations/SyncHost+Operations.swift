import ConnectorAPI
import Foundation

/// An operator's request that cannot be carried out (no such conflict, a job no longer configured).
public struct OperatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// A job the configuration does not run (no such connector or user, or the user is disabled).
    public static func notConfigured(_ job: JobKey) -> OperatorError {
        OperatorError(
            "connector \(job.connector) for user \(job.user) is not in the configuration (or the user is disabled)")
    }
}

extension SyncHost {
    /// Runs one job (connector and user) now.
    public func run(_ job: JobKey) async throws -> RunReport {
        guard
            let (config, entry) = selection(connector: job.connector, user: job.user).first(where: {
                $0.0.definition.name == job.connector && $0.1.binding.id == job.user
            })
        else {
            throw OperatorError.notConfigured(job)
        }
        return await runJob(config, entry)
    }
}
