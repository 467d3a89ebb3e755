import Foundation

/// A user's identity on one adapter instance: who the user is there (a CRM user's short name, a
/// mailbox, a principal). Declared by the adapter type (``UserSpec``), given per user in `users:`.
public struct Account: Sendable, Hashable, CustomStringConvertible {
    /// The adapter instance's name in `connectors.yaml`.
    public var adapter: String
    /// The adapter's name for the identity, as logs, `status`, metrics and the state use it (a
    /// mailbox address in lower case, a short name in upper case): the same identity, the same name.
    public var name: String
    /// The user's settings for this adapter, validated against its user spec.
    public var settings: Settings

    public init(adapter: String, name: String, settings: Settings = Settings()) {
        self.adapter = adapter
        self.name = name
        self.settings = settings
    }

    public var description: String { "\(adapter):\(name)" }
}

/// One entry of `users:`: a person, with an account on each adapter instance they are synced on.
/// The unit every connector runs for.
public struct UserBinding: Sendable, Hashable {
    /// The user's id in `users:` (names the user in logs, reports and the state).
    public var id: String
    /// The user's accounts by adapter instance name.
    public var accounts: [String: Account]

    public init(id: String, accounts: [Account]) {
        self.id = id
        self.accounts = Dictionary(accounts.map { ($0.adapter, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The account on an adapter instance, if the user has one there.
    public func account(on adapter: String) -> Account? { accounts[adapter] }
}

/// How an adapter type names its users: the keys of a user's account (validated like settings),
/// the key a one-word entry fills, and the account's name.
public struct UserSpec: Sendable {
    /// What a key of the `users:` form before accounts means for this adapter type, so an old entry
    /// can be shown in the new form.
    public enum FormerKey: Sendable, Hashable {
        /// The value is this setting of the account.
        case setting(String)
        /// The value names the adapter instance the account belongs to.
        case instance
    }

    /// The keys of an account's long form (`exchange: { mailbox: …, url: … }`).
    public var settings: ConfigSpec
    /// The key a scalar fills: `exchange: mm@example.com` means `{ mailbox: mm@example.com }`.
    public var primaryKey: String
    /// The account's name from its validated settings (see ``Account/name``).
    public var accountName: @Sendable (Settings) -> String
    /// Checks beyond the types of the settings: (key, problem) pairs, empty when the account is fine.
    public var validate: @Sendable (Settings) -> [(key: String, message: String)]
    /// Keys of the former `users:` form this adapter type took over.
    public var formerKeys: [String: FormerKey]

    public init(
        settings: ConfigSpec, primaryKey: String, formerKeys: [String: FormerKey] = [:],
        accountName: @escaping @Sendable (Settings) -> String,
        validate: @escaping @Sendable (Settings) -> [(key: String, message: String)] = { _ in [] }
    ) {
        self.settings = settings
        self.primaryKey = primaryKey
        self.formerKeys = formerKeys
        self.accountName = accountName
        self.validate = validate
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
    /// The user's id (for messages).
    public var user: String
    /// The user's account on this adapter instance.
    public var account: Account
    /// The connector's `filter:` (on the source side), validated against the adapter's filter spec.
    public var filter: Settings
    /// The connector's `source_options:` or `target_options:`, validated against the adapter's endpoint spec.
    public var options: Settings

    public init(
        connector: String, kind: DataKind, role: EndpointRole, user: String, account: Account,
        filter: Settings = Settings(), options: Settings = Settings()
    ) {
        self.connector = connector
        self.kind = kind
        self.role = role
        self.user = user
        self.account = account
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
    /// How a user is named on this adapter: the keys of a user's account in `users:`.
    public var users: UserSpec
    /// Keys a connector's `filter:` may hold when this adapter is its source.
    public var filter: ConfigSpec
    /// Keys a connector's `source_options:` / `target_options:` may hold for this adapter.
    public var endpointOptions: ConfigSpec
    /// Capabilities of an instance with the given settings (known before anything connects).
    public var capabilities: @Sendable (Settings) -> Capabilities
    /// Creates an instance. Must not block on the network; connect lazily.
    public var make: @Sendable (Settings, AdapterContext) throws -> any Adapter

    public init(
        name: String, summary: String, settings: ConfigSpec, users: UserSpec, filter: ConfigSpec = .empty,
        endpointOptions: ConfigSpec = .empty, capabilities: @escaping @Sendable (Settings) -> Capabilities,
        make: @escaping @Sendable (Settings, AdapterContext) throws -> any Adapter
    ) {
        self.name = name
        self.summary = summary
        self.settings = settings
        self.users = users
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

extension AdapterType {
    /// A user's account on an instance of this type from plain text settings, named as the type
    /// names its accounts (for programs that open endpoints without a `connectors.yaml`).
    public func account(on instance: String, _ settings: [String: String]) -> Account {
        let values = Settings(settings.mapValues { SettingValue.string($0) })
        return Account(adapter: instance, name: users.accountName(values), settings: values)
    }
}
