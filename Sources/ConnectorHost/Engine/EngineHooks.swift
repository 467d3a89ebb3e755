import ConnectorAPI
import Foundation

/// Hooks into a run: fault injection points for tests, and the progress the console shows.
public struct EngineHooks: Sendable {
    /// Called after a batch was applied on a side and before its mapping commit; a throw here
    /// simulates a crash at the worst moment.
    public var afterApply: (@Sendable (EndpointRole, [WriteOperation]) throws -> Void)?
    /// Asked before every write batch; when it answers true the run stops after the finished
    /// batches (graceful shutdown).
    public var shouldStop: (@Sendable () -> Bool)?
    /// Told, before a real run writes, how many writes its plan holds (progress for the console).
    public var planned: (@Sendable (Int) -> Void)?
    public init() {}
}
