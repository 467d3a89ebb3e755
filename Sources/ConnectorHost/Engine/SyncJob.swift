import ConnectorAPI
import Foundation

/// One connector run for one user: the unit the engine executes.
public struct SyncJob: Sendable {
    public var key: JobKey
    public var definition: ConnectorDefinition
    /// The user's id.
    public var user: String
    /// The user's accounts on the source and the target instance.
    public var accounts: (source: Account, target: Account)
    public var source: any SyncEndpoint
    public var target: any SyncEndpoint
    public var sourceCapabilities: Capabilities
    public var targetCapabilities: Capabilities

    public init(
        definition: ConnectorDefinition, user: String, accounts: (source: Account, target: Account),
        source: any SyncEndpoint, target: any SyncEndpoint, sourceCapabilities: Capabilities,
        targetCapabilities: Capabilities
    ) {
        self.key = JobKey(connector: definition.name, user: user)
        self.definition = definition
        self.user = user
        self.accounts = accounts
        self.source = source
        self.target = target
        self.sourceCapabilities = sourceCapabilities
        self.targetCapabilities = targetCapabilities
    }
}

extension SyncJob {
    /// The user's account on one side.
    public func account(_ side: EndpointRole) -> Account { side == .source ? accounts.source : accounts.target }
}
