import ConnectorAPI
import Foundation

/// Test hooks: fault injection points inside a run.
public struct EngineHooks: Sendable {
    /// Called after a batch was applied on a side and before its mapping commit; a throw here
    /// simulates a crash at the worst moment.
    public var afterApply: (@Sendable (EndpointRole, [WriteOperation]) throws -> Void)?
    /// Asked before every write batch; when it answers true the run stops after the finished
    /// batches (graceful shutdown).
    public var shouldStop: (@Sendable () -> Bool)?
    public init() {}
}
