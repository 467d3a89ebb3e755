import Foundation

/// A FlowFact user bound to one Exchange mailbox: the unit every connector runs for.
public struct UserBinding: Sendable, Hashable {
    /// The FlowFact user's short name (Kürzel).
    public var crmUser: String
    /// The mailbox's primary SMTP address.
    public var mailbox: String
    /// Per-user settings given in `users:`, for the adapters to read (e.g. `ews_url` for a mailbox
    /// on another Exchange server).
    public var settings: [String: String]

    public init(crmUser: String, mailbox: String, settings: [String: String] = [:]) {
        self.crmUser = crmUser
        self.mailbox = mailbox
        self.settings = settings
    }
}

/// Which end of a connector an endpoint serves.
public enum EndpointRole: String, Sendable, Hashable, Codable {
    case source, target
}

/// Everything an adapter needs to open an endpoint for one connector and user.
public struct EndpointScope: Sendable, Hashable {
    public var connector: String
    public var kind: DataKind
    public var role: EndpointRole
    public var user: UserBinding
    /// The connector's `filter:` (on the source side), validated against the adapter's filter spec.
    public var filter: Settings
    /// The connector's `source_options:` or `target_options:`, validated against the adapter's endpoint spec.
    public var options: Settings

    public init(
        connector: String, kind: DataKind, role: EndpointRole, user: UserBinding, filter: Settings = Settings(),
        options: Settings = Settings()
    ) {
        self.connector = connector
        self.kind = kind
        self.role = role
        self.user = user
        self.filter = filter
        self.options = options
    }
}

/// Severity of a message an adapter reports to the host's log.
public enum AdapterLogLevel: String, Sendable { case debug, info, notice, warning, error }

/// What the host hands an adapter when it creates it.
public struct AdapterContext: Sendable {
    /// The adapter instance's name in `connectors.yaml`.
    public var instanceName: String
    /// The folder of the configuration file, for relative paths.
    public var baseDirectory: URL
    /// Logs a message through the host's logger. Never pass secrets.
    public var log: @Sendable (AdapterLogLevel, String) -> Void

    public init(instanceName: String, baseDirectory: URL, log: @escaping @Sendable (AdapterLogLevel, String) -> Void) {
        self.instanceName = instanceName
        self.baseDirectory = baseDirectory
        self.log = log
    }
}

/// A configured adapter instance: one CRM database or one Exchange organisation.
public protocol Adapter: Sendable {
    /// Opens the endpoint for one connector, kind and user. Called once per sync job.
    func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint
    /// Releases connections. Called once when the host stops.
    func shutdown() async
}

/// An adapter type as it registers itself with the host: name, documented settings, capabilities
/// and a factory. Adding a target means adding a folder under `Sources/Connectors/` that declares
/// one of these, and one line in the registration list.
public struct AdapterType: Sendable {
    /// The `type:` name used in `connectors.yaml`, e.g. `ews`.
    public var name: String
    /// One line on what the adapter connects to.
    public var summary: String
    /// Settings of an adapter instance.
    public var settings: ConfigSpec
    /// Keys a connector's `filter:` may hold when this adapter is its source.
    public var filter: ConfigSpec
    /// Keys a connector's `source_options:` / `target_options:` may hold for this adapter.
    public var endpointOptions: ConfigSpec
    /// Capabilities of an instance with the given settings (known before anything connects).
    public var capabilities: @Sendable (Settings) -> Capabilities
    /// Creates an instance. Must not block on the network; connect lazily.
    public var make: @Sendable (Settings, AdapterContext) throws -> any Adapter

    public init(
        name: String, summary: String, settings: ConfigSpec, filter: ConfigSpec = .empty,
        endpointOptions: ConfigSpec = .empty, capabilities: @escaping @Sendable (Settings) -> Capabilities,
        make: @escaping @Sendable (Settings, AdapterContext) throws -> any Adapter
    ) {
        self.name = name
        self.summary = summary
        self.settings = settings
        self.filter = filter
        self.endpointOptions = endpointOptions
        self.capabilities = capabilities
        self.make = make
    }
}

/// One line of `connector-host check`: what was checked, whether it worked, and what to do if not.
public struct AdapterCheck: Sendable, Hashable {
    public var name: String
    public var ok: Bool
    public var message: String

    public init(name: String, ok: Bool, message: String) {
        self.name = name
        self.ok = ok
        self.message = message
    }
}

/// Adapters that can test their access for a scope more precisely than by opening an endpoint.
public protocol CheckableAdapter: Adapter {
    /// Checks reachability, authentication, rights and folder access for one scope.
    func check(for scope: EndpointScope) async -> [AdapterCheck]
}
