import ConnectorAPI
import Foundation

/// A named adapter instance from `adapters:`.
public struct AdapterInstance: Sendable {
    public var name: String
    public var type: AdapterType
    public var settings: Settings
    public var capabilities: Capabilities
}

/// A user and their accounts on the adapter instances, from `users:`.
public struct UserEntry: Sendable, Hashable {
    public var binding: UserBinding
    /// False when the entry says `enabled: false`; such users are skipped.
    public var enabled: Bool
}

/// A named bundle of restrictions from `profiles:`.
public struct Profile: Sendable, Hashable {
    public var name: String
    /// Directions connectors under this profile may use; nil allows all.
    public var directions: Set<SyncDirection>?
    public var source: CapabilityRestriction
    public var target: CapabilityRestriction
}

/// A connector from `connectors:` with everything resolved.
public struct ConnectorConfig: Sendable {
    public var definition: ConnectorDefinition
    public var source: AdapterInstance
    public var target: AdapterInstance
    /// Capabilities after the profile narrowed them.
    public var sourceCapabilities: Capabilities
    public var targetCapabilities: Capabilities
    public var filter: Settings
    public var sourceOptions: Settings
    public var targetOptions: Settings
    /// Ids of the users this connector runs for (upper case); nil means every enabled user.
    public var users: Set<String>?
    public var interval: Duration
    public var profile: Profile?
}

/// Engine-wide settings from `engine:`.
public struct EngineSettings: Sendable, Hashable {
    /// Attempts per item within one run for transient failures.
    public var retryAttempts = 3
    /// First pause between attempts; doubles each time.
    public var retryBackoff: Duration = .milliseconds(200)
    /// Runs an item may fail in before it goes to the dead-letter list.
    public var deadLetterAfterRuns = 5
    public init() {}
}

/// How the long-running service behaves, from `service:`.
public struct ServiceSettings: Sendable, Hashable {
    /// Jobs (connector × user) running at the same time.
    public var concurrency = 4
    /// Longest pause for an idle account (its interval doubles while nothing changes, up to this).
    public var maxIdleInterval: Duration = .seconds(900)
    /// First pause after a failed run; doubles per failure up to `maxFailureBackoff`.
    public var failureBackoff: Duration = .seconds(60)
    public var maxFailureBackoff: Duration = .seconds(1800)
    /// Consecutive permanent failures (credentials, rights, account gone) before an account is disabled.
    public var disableAfter = 3
    /// How long a graceful stop may take before the process exits anyway.
    public var shutdownTimeout: Duration = .seconds(30)
    /// `text`, `logfmt` or `json`.
    public var logFormat = "logfmt"
    public var logLevel = "info"
    /// `host:port` for /metrics and /health; nil switches them off.
    public var metricsAddress: String? = "127.0.0.1:9464"
    public init() {}
}

/// A validated `connectors.yaml`.
public struct Deployment: Sendable {
    /// The file it was read from.
    public var file: String
    public var baseDirectory: URL
    /// Where the state database lives.
    public var statePath: URL
    public var adapters: [String: AdapterInstance]
    public var users: [UserEntry]
    public var profiles: [String: Profile]
    public var connectors: [ConnectorConfig]
    public var engine: EngineSettings
    public var service: ServiceSettings
    /// The operator's console (`console:`).
    public var console = ConsoleSettings()

    /// The (connector, user) pairs that run, in configuration order: each connector for each
    /// enabled user it selects (`users:` of the connector) who has accounts on both its adapter
    /// instances. `connector` and `user` (an id, any case) narrow the selection.
    public func jobs(connector: String? = nil, user: String? = nil) -> [(ConnectorConfig, UserEntry)] {
        var result: [(ConnectorConfig, UserEntry)] = []
        for config in connectors where connector == nil || config.definition.name == connector {
            for entry in users where entry.enabled {
                let id = entry.binding.id.uppercased()
                if let only = config.users, !only.contains(id) { continue }
                if let user, user.uppercased() != id { continue }
                guard entry.binding.account(on: config.source.name) != nil,
                    entry.binding.account(on: config.target.name) != nil
                else { continue }
                result.append((config, entry))
            }
        }
        return result
    }
}
