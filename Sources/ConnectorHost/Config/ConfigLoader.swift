import ConnectorAPI
import Foundation
import Yams

/// Reads `connectors.yaml`, validates all of it against the registered adapter types, and returns a
/// `Deployment`, or a `ConfigError` listing every problem as `file:line:column: message`.
public struct ConfigLoader: Sendable {
    public var registry: AdapterRegistry
    public var environment: [String: String]

    public init(registry: AdapterRegistry, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.registry = registry
        self.environment = environment
    }

    /// Loads and validates the file at `path`.
    public func load(path: String) throws -> Deployment {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError([ConfigDiagnostic(file: path, line: 0, column: 0, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError([ConfigDiagnostic(file: path, line: 0, column: 0, message: "the file is not UTF-8 text")])
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try load(yaml: text, file: path, baseDirectory: base)
    }

    /// Validates YAML text; `file` is used in diagnostics and `baseDirectory` for relative paths.
    public func load(yaml: String, file: String, baseDirectory: URL) throws -> Deployment {
        // Relative paths resolve inside the folder, whether or not its URL ends in a slash (without
        // one, `URL(fileURLWithPath:relativeTo:)` would resolve them beside it).
        let baseDirectory = URL(fileURLWithPath: baseDirectory.path, isDirectory: true)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError([ConfigDiagnostic(file: file, line: 1, column: 1, message: "the file is empty")])
            }
            root = node
        } catch let error as YamlError {
            throw ConfigError([Self.diagnostic(for: error, file: file)])
        }
        var reader = YAMLReader(file: file, environment: environment, baseDirectory: baseDirectory)
        let deployment = Validation(registry: registry).deployment(root, file: file, base: baseDirectory, &reader)
        if !reader.diagnostics.isEmpty || deployment == nil {
            throw ConfigError(reader.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return deployment!
    }

    static func diagnostic(for error: YamlError, file: String) -> ConfigDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return ConfigDiagnostic(
                file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(prefix)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigDiagnostic(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "duplicate key '\(duplicates.joined(separator: "', '"))'")
        default:
            return ConfigDiagnostic(file: file, line: 1, column: 1, message: "YAML: \(error)")
        }
    }
}

/// The rules of `connectors.yaml`, section by section.
struct Validation {
    let registry: AdapterRegistry

    static let topLevelKeys = [
        "state", "engine", "service", "console", "adapters", "users", "profiles", "connectors",
    ]
    static let connectorKeys = [
        "name", "kind", "source", "target", "direction", "filter", "source_options", "target_options", "fields",
        "conflict", "deletion", "filter_leave", "mass_delete_threshold", "interval", "users", "profile",
    ]

    func deployment(_ root: Node, file: String, base: URL, _ reader: inout YAMLReader) -> Deployment? {
        guard let top = reader.mapping(root, "the configuration") else { return nil }
        reader.checkKeys(top, allowed: Self.topLevelKeys, "the configuration")
        func section(_ name: String) -> (keyNode: Node, value: Node)? {
            top.first { $0.key == name }.map { ($0.keyNode, $0.value) }
        }

        var statePath = base.appendingPathComponent("state/connector-host.sqlite")
        if let state = section("state"), let pairs = reader.mapping(state.value, "state") {
            reader.checkKeys(pairs, allowed: ["path"], "state")
            if let path = pairs.first(where: { $0.key == "path" }), let text = reader.string(path.value, "state: path")
            {
                statePath = URL(fileURLWithPath: text, relativeTo: base).standardizedFileURL
            }
        }

        var engine = EngineSettings()
        if let section = section("engine"), let pairs = reader.mapping(section.value, "engine") {
            reader.checkKeys(pairs, allowed: ["retry_attempts", "retry_backoff", "dead_letter_after_runs"], "engine")
            for pair in pairs {
                switch pair.key {
                case "retry_attempts":
                    engine.retryAttempts = reader.integer(pair.value, "engine: retry_attempts", in: 1...20) ?? 3
                case "retry_backoff":
                    engine.retryBackoff = reader.duration(pair.value, "engine: retry_backoff") ?? .milliseconds(200)
                case "dead_letter_after_runs":
                    engine.deadLetterAfterRuns =
                        reader.integer(pair.value, "engine: dead_letter_after_runs", in: 1...1000) ?? 5
                default: break
                }
            }
        }

        var service = ServiceSettings()
        var addressNode: Node?
        if let section = section("service"), let pairs = reader.mapping(section.value, "service") {
            service = serviceSettings(pairs, &reader)
            addressNode = pairs.first { $0.key == "metrics_address" }?.value
        }
        let console = consoleSettings(section("console"), service: service, serviceNode: addressNode, &reader)

        var adapters: [String: AdapterInstance] = [:]
        var declared: Set<String> = []
        var order: [String] = []
        if let section = section("adapters") {
            if let pairs = reader.mapping(section.value, "adapters") {
                for pair in pairs {
                    declared.insert(pair.key)
                    order.append(pair.key)
                    if let instance = adapter(pair, &reader) { adapters[pair.key] = instance }
                }
            }
        } else {
            reader.error(root, "missing section 'adapters' (named adapter instances, each with a 'type')")
        }

        var users: [UserEntry] = []
        if let section = section("users") {
            users = self.users(section.value, adapters: adapters, order: order, &reader)
        } else {
            reader.error(root, "missing section 'users' (each user's accounts on the adapter instances)")
        }

        var profiles: [String: Profile] = [:]
        if let section = section("profiles"), let pairs = reader.mapping(section.value, "profiles") {
            for pair in pairs { if let profile = profile(pair, &reader) { profiles[pair.key] = profile } }
        }

        var connectors: [ConnectorConfig] = []
        if let section = section("connectors") {
            if let items = reader.sequence(section.value, "connectors") {
                var names: Set<String> = []
                for item in items {
                    guard
                        let connector = connector(
                            item, adapters: adapters, declared: declared, users: users, profiles: profiles, &reader)
                    else { continue }
                    if !names.insert(connector.definition.name).inserted {
                        reader.error(item, "connector name '\(connector.definition.name)' is used twice")
                    }
                    connectors.append(connector)
                }
            }
        } else {
            reader.error(root, "missing section 'connectors'")
        }

        guard reader.diagnostics.isEmpty else { return nil }
        return Deployment(
            file: file, baseDirectory: base, statePath: statePath, adapters: adapters, users: users,
            profiles: profiles, connectors: connectors, engine: engine, service: service, console: console)
    }

    func serviceSettings(_ pairs: [(key: String, keyNode: Node, value: Node)], _ reader: inout YAMLReader)
        -> ServiceSettings
    {
        var result = ServiceSettings()
        reader.checkKeys(
            pairs,
            allowed: [
                "concurrency", "max_idle_interval", "failure_backoff", "max_failure_backoff", "disable_after",
                "shutdown_timeout",
                "log_format", "log_level", "metrics_address",
            ], "service")
        for pair in pairs {
            let what = "service: \(pair.key)"
            switch pair.key {
            case "concurrency": result.concurrency = reader.integer(pair.value, what, in: 1...64) ?? result.concurrency
            case "max_idle_interval":
                result.maxIdleInterval = reader.positiveDuration(pair.value, what) ?? result.maxIdleInterval
            case "failure_backoff":
                result.failureBackoff = reader.positiveDuration(pair.value, what) ?? result.failureBackoff
            case "max_failure_backoff":
                result.maxFailureBackoff = reader.duration(pair.value, what) ?? result.maxFailureBackoff
            case "disable_after":
                result.disableAfter = reader.integer(pair.value, what, in: 1...100) ?? result.disableAfter
            case "shutdown_timeout":
                result.shutdownTimeout = reader.duration(pair.value, what) ?? result.shutdownTimeout
            case "log_format":
                if let text = reader.string(pair.value, what) {
                    if ["text", "logfmt", "json"].contains(text) {
                        result.logFormat = text
                    } else {
                        reader.error(pair.value, "\(what) must be one of text, logfmt, json, not '\(text)'")
                    }
                }
            case "log_level":
                if let text = reader.string(pair.value, what) {
                    if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(text) {
                        result.logLevel = text
                    } else {
                        reader.error(
                            pair.value,
                            "\(what) must be one of trace, debug, info, notice, warning, error, critical, not '\(text)'"
                        )
                    }
                }
            case "metrics_address":
                if let text = reader.string(pair.value, what) {
                    if text.isEmpty || text == "off" {
                        result.metricsAddress = nil
                    } else if text.split(separator: ":").count == 2, Int(text.split(separator: ":")[1]) != nil {
                        result.metricsAddress = text
                    } else {
                        reader.error(pair.value, "\(what) must be HOST:PORT (or off), not '\(text)'")
                    }
                }
            default: break
            }
        }
        return result
    }

    func adapter(_ pair: (key: String, keyNode: Node, value: Node), _ reader: inout YAMLReader) -> AdapterInstance? {
        let what = "adapter '\(pair.key)'"
        guard Self.isName(pair.key) else {
            reader.error(pair.keyNode, "\(what): names may use letters, digits, '-' and '_' only")
            return nil
        }
        guard let settings = reader.mapping(pair.value, what) else { return nil }
        guard let typeEntry = settings.first(where: { $0.key == "type" }) else {
            reader.error(pair.value, "\(what): missing 'type' (one of \(registry.names.joined(separator: ", ")))")
            return nil
        }
        guard let typeName = reader.string(typeEntry.value, "\(what): type") else { return nil }
        guard let type = registry.type(named: typeName) else {
            var message =
                "\(what): unknown adapter type '\(typeName)' (registered: \(registry.names.joined(separator: ", ")))"
            if let suggestion = YAMLReader.closest(typeName, in: registry.names) {
                message += "; did you mean '\(suggestion)'?"
            }
            reader.error(typeEntry.value, message)
            return nil
        }
        let values = reader.settings(settings, spec: type.settings, at: pair.value, what, ignoring: ["type"])
        return AdapterInstance(name: pair.key, type: type, settings: values, capabilities: type.capabilities(values))
    }

    /// `users:`: each entry an `id` and, per adapter instance, the user's account there: a scalar
    /// fills the adapter type's primary user key, a mapping gives the account's settings.
    func users(_ node: Node, adapters: [String: AdapterInstance], order: [String], _ reader: inout YAMLReader)
        -> [UserEntry]
    {
        guard let items = reader.sequence(node, "users") else { return [] }
        var result: [UserEntry] = []
        var ids: [String: String] = [:]
        var owners: [String: String] = [:]
        for item in items {
            guard let pairs = reader.mapping(item, "a user entry") else { continue }
            let idPair = pairs.first { $0.key == "id" }
            if idPair == nil, let newForm = Self.newForm(of: pairs, adapters: adapters, order: order) {
                reader.error(
                    item,
                    "this user entry has the form before accounts; users now name an account per adapter instance. "
                        + "Write it as: \(newForm)")
                continue
            }
            reader.checkKeys(pairs, allowed: ["id", "enabled"] + order, "a user entry")
            guard let idPair, let id = reader.string(idPair.value, "user: id"), !id.isEmpty else {
                reader.error(
                    item,
                    "a user entry needs 'id' (the user's name in logs and the state), e.g. "
                        + "- { id: MM, \(order.map { "\($0): …" }.joined(separator: ", ")) }")
                continue
            }
            if let other = ids[id.uppercased()] {
                reader.error(idPair.value, "user id '\(id)' is used twice (also '\(other)')")
            }
            ids[id.uppercased()] = id
            var enabled = true
            var accounts: [Account] = []
            for pair in pairs {
                if pair.key == "enabled" {
                    enabled = reader.boolean(pair.value, "user '\(id)': enabled") ?? true
                    continue
                }
                guard let instance = adapters[pair.key] else { continue }
                guard let account = account(of: id, on: instance, pair.value, &reader) else { continue }
                if let other = owners[account.description] {
                    reader.error(
                        pair.value,
                        "user '\(id)': \(pair.key) account '\(account.name)' is user '\(other)'s already; "
                            + "each account belongs to one user")
                }
                owners[account.description] = id
                accounts.append(account)
            }
            if accounts.isEmpty && !pairs.contains(where: { order.contains($0.key) }) {
                reader.error(
                    item,
                    "user '\(id)' has no account: name the adapter instances it is synced on, e.g. "
                        + "\(order.prefix(2).map { "\($0): …" }.joined(separator: ", "))")
            }
            result.append(UserEntry(binding: UserBinding(id: id, accounts: accounts), enabled: enabled))
        }
        return result
    }

    /// A user's account on an adapter instance, validated against the adapter type's user spec.
    func account(of id: String, on instance: AdapterInstance, _ node: Node, _ reader: inout YAMLReader) -> Account? {
        let spec = instance.type.users
        let what = "user '\(id)': \(instance.name)"
        let pairs: [(key: String, keyNode: Node, value: Node)]
        if case .scalar = node {
            pairs = [(spec.primaryKey, node, node)]
        } else {
            guard
                let mapping = reader.mapping(
                    node, "\(what) (a \(spec.primaryKey) or a mapping of \(spec.settings.settings.map(\.name)))")
            else { return nil }
            pairs = mapping
        }
        let before = reader.diagnostics.count
        let settings = reader.settings(pairs, spec: spec.settings, at: node, what)
        guard reader.diagnostics.count == before else { return nil }
        var valid = true
        for problem in spec.validate(settings) {
            reader.error(
                pairs.first { $0.key == problem.key }?.value ?? node, "\(what): \(problem.key) \(problem.message)")
            valid = false
        }
        return valid ? Account(adapter: instance.name, name: spec.accountName(settings), settings: settings) : nil
    }

    /// An entry of the `users:` form before accounts, written in the current form: the keys the
    /// adapter types took over become accounts of the instances of those types. Nil when the
    /// entry has none of those keys.
    static func newForm(
        of pairs: [(key: String, keyNode: Node, value: Node)], adapters: [String: AdapterInstance], order: [String]
    ) -> String? {
        func text(_ node: Node) -> String? { if case .scalar(let scalar) = node { scalar.string } else { nil } }
        var accounts: [String: [(key: String, value: String)]] = [:]
        var placed: [String: String] = [:]
        var used = false
        for instance in order.compactMap({ adapters[$0] }) {
            // Each adapter type's former keys go to its first instance, or to the one the entry names.
            let type = instance.type
            guard placed[type.name] == nil else { continue }
            placed[type.name] = instance.name
            for pair in pairs {
                switch type.users.formerKeys[pair.key] {
                case .setting(let key)?:
                    if let value = text(pair.value) { accounts[type.name, default: []].append((key, value)) }
                    used = true
                case .instance?:
                    if let name = text(pair.value), adapters[name]?.type.name == type.name { placed[type.name] = name }
                    used = true
                case nil: break
                }
            }
        }
        guard used else { return nil }
        var parts: [String] = []
        var id: String?
        for instance in order.compactMap({ adapters[$0] }) {
            guard placed[instance.type.name] == instance.name, let settings = accounts[instance.type.name] else {
                continue
            }
            let primary = settings.first { $0.key == instance.type.users.primaryKey }?.value
            id = id ?? primary
            if settings.count == 1, let primary {
                parts.append("\(instance.name): \(primary)")
            } else {
                parts.append(
                    "\(instance.name): { \(settings.map { "\($0.key): \($0.value)" }.joined(separator: ", ")) }")
            }
        }
        if let enabled = pairs.first(where: { $0.key == "enabled" }).flatMap({ text($0.value) }) {
            parts.append("enabled: \(enabled)")
        }
        return "- { id: \(id ?? "…"), \(parts.joined(separator: ", ")) }"
    }

    func profile(_ pair: (key: String, keyNode: Node, value: Node), _ reader: inout YAMLReader) -> Profile? {
        let what = "profile '\(pair.key)'"
        guard let pairs = reader.mapping(pair.value, what) else { return nil }
        reader.checkKeys(pairs, allowed: ["directions", "source", "target"], what)
        var profile = Profile(
            name: pair.key, directions: nil, source: CapabilityRestriction(), target: CapabilityRestriction())
        for entry in pairs {
            switch entry.key {
            case "directions":
                let list = reader.sequence(entry.value, "\(what): directions") ?? []
                profile.directions = Set(
                    list.compactMap { reader.choice($0, "\(what): direction", as: SyncDirection.self) })
            case "source": profile.source = restriction(entry.value, "\(what): source", &reader)
            case "target": profile.target = restriction(entry.value, "\(what): target", &reader)
            default: break
            }
        }
        return profile
    }

    func restriction(_ node: Node, _ what: String, _ reader: inout YAMLReader) -> CapabilityRestriction {
        var result = CapabilityRestriction()
        guard let pairs = reader.mapping(node, what) else { return result }
        reader.checkKeys(pairs, allowed: ["kinds", "write", "delete", "mail_states", "exclude_fields"], what)
        for pair in pairs {
            switch pair.key {
            case "kinds":
                let list = reader.sequence(pair.value, "\(what): kinds") ?? []
                result.kinds = Set(list.compactMap { reader.choice($0, "\(what): kind", as: DataKind.self) })
            case "write": result.write = reader.boolean(pair.value, "\(what): write")
            case "delete": result.delete = reader.boolean(pair.value, "\(what): delete")
            case "mail_states":
                let list = reader.sequence(pair.value, "\(what): mail_states") ?? []
                result.mailStateChanges = Set(
                    list.compactMap { reader.choice($0, "\(what): mail state", as: MailStateChange.self) })
            case "exclude_fields":
                guard let kinds = reader.mapping(pair.value, "\(what): exclude_fields") else { continue }
                for entry in kinds {
                    guard let kind = reader.choice(entry.keyNode, "\(what): exclude_fields kind", as: DataKind.self),
                        let fields = reader.stringList(entry.value, "\(what): exclude_fields: \(entry.key)")
                    else { continue }
                    let known = RecordFields.names(for: kind)
                    for field in fields where !known.contains(field) {
                        reader.error(
                            entry.value,
                            "\(what): '\(field)' is not a field of \(kind) (fields: \(known.joined(separator: ", ")))")
                    }
                    result.excludedFields[kind] = Set(fields)
                }
            default: break
            }
        }
        return result
    }

    func connector(
        _ node: Node, adapters: [String: AdapterInstance], declared: Set<String>, users: [UserEntry],
        profiles: [String: Profile],
        _ reader: inout YAMLReader
    ) -> ConnectorConfig? {
        guard let pairs = reader.mapping(node, "a connector") else { return nil }
        func entry(_ key: String) -> (keyNode: Node, value: Node)? {
            pairs.first { $0.key == key }.map { ($0.keyNode, $0.value) }
        }
        guard let nameEntry = entry("name"), let name = reader.string(nameEntry.value, "connector: name") else {
            reader.error(node, "a connector needs a 'name'")
            return nil
        }
        let what = "connector '\(name)'"
        if !Self.isName(name) {
            reader.error(nameEntry.value, "\(what): names may use letters, digits, '-' and '_' only")
        }
        reader.checkKeys(pairs, allowed: Self.connectorKeys, what)
        let errorsBefore = reader.diagnostics.count

        var kind: DataKind?
        if let kindEntry = entry("kind") {
            kind = reader.choice(kindEntry.value, "\(what): kind", as: DataKind.self)
        } else {
            reader.error(
                node, "\(what): missing 'kind' (one of \(DataKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        func endpoint(_ role: String) -> AdapterInstance? {
            guard let ref = entry(role) else {
                reader.error(node, "\(what): missing '\(role)' (the name of an adapter in 'adapters')")
                return nil
            }
            guard let adapterName = reader.string(ref.value, "\(what): \(role)") else { return nil }
            guard let instance = adapters[adapterName] else {
                // An adapter that is declared but invalid has been reported already.
                if declared.contains(adapterName) { return nil }
                var message = "\(what): \(role) '\(adapterName)' is not defined in 'adapters'"
                if let suggestion = YAMLReader.closest(adapterName, in: Array(adapters.keys)) {
                    message += "; did you mean '\(suggestion)'?"
                }
                reader.error(ref.value, message)
                return nil
            }
            return instance
        }
        let source = endpoint("source")
        let target = endpoint("target")

        var definition = ConnectorDefinition(name: name, kind: kind ?? .address)
        var profile: Profile?
        if let ref = entry("profile"), let profileName = reader.string(ref.value, "\(what): profile") {
            profile = profiles[profileName]
            if profile == nil {
                reader.error(ref.value, "\(what): profile '\(profileName)' is not defined in 'profiles'")
            }
        }
        if let value = entry("direction") {
            definition.direction = reader.choice(value.value, "\(what): direction", as: SyncDirection.self) ?? .twoWay
        }
        if let value = entry("conflict") {
            definition.conflict =
                reader.choice(value.value, "\(what): conflict", as: ConflictPolicy.self) ?? .sourceWins
        }
        if let value = entry("filter_leave") {
            definition.filterLeave =
                reader.choice(value.value, "\(what): filter_leave", as: FilterLeavePolicy.self) ?? .keep
        }
        if let value = entry("mass_delete_threshold") {
            definition.massDeleteThreshold =
                reader.number(value.value, "\(what): mass_delete_threshold", in: 0...1) ?? 0.25
        }
        var explicitDeletion: [EndpointRole: Node] = [:]
        if kind == .mail {
            // The CRM is the record of what was written to a customer: a mail deleted in the mailbox
            // is marked in FlowFact, never deleted there, unless the connector says otherwise.
            definition.sourceDeletion = .unlink
            definition.targetDeletion = .mark
        }
        if let value = entry("deletion"), let deletion = reader.mapping(value.value, "\(what): deletion") {
            reader.checkKeys(deletion, allowed: ["source", "target"], "\(what): deletion")
            for pair in deletion {
                guard let policy = reader.choice(pair.value, "\(what): deletion: \(pair.key)", as: DeletionPolicy.self)
                else { continue }
                if policy == .mark, kind != .mail {
                    reader.error(pair.value, "\(what): deletion: \(pair.key): 'mark' is for mail connectors only")
                    continue
                }
                if pair.key == "source" {
                    definition.sourceDeletion = policy
                    explicitDeletion[.source] = pair.value
                } else if pair.key == "target" {
                    definition.targetDeletion = policy
                    explicitDeletion[.target] = pair.value
                }
            }
        }
        if let value = entry("fields"), let fields = reader.mapping(value.value, "\(what): fields"), let kind {
            let known = RecordFields.names(for: kind)
            for pair in fields {
                guard known.contains(pair.key) else {
                    var message = "\(what): '\(pair.key)' is not a field of \(kind)"
                    if let suggestion = YAMLReader.closest(pair.key, in: known) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    reader.error(pair.keyNode, message + " (fields: \(known.joined(separator: ", ")))")
                    continue
                }
                if let direction = reader.choice(pair.value, "\(what): fields: \(pair.key)", as: FieldDirection.self) {
                    definition.fieldDirections[pair.key] = direction
                }
            }
        }
        var interval: Duration = .seconds(300)
        if let value = entry("interval") {
            interval = reader.positiveDuration(value.value, "\(what): interval") ?? interval
        }
        var userFilter: Set<String>?
        if let value = entry("users"), let names = reader.stringList(value.value, "\(what): users") {
            let known = Set(users.map { $0.binding.id.uppercased() })
            for name in names where !known.contains(name.uppercased()) {
                reader.error(value.value, "\(what): user '\(name)' is not listed in 'users'")
            }
            userFilter = Set(names.map { $0.uppercased() })
        }

        var filter = Settings()
        var sourceOptions = Settings()
        var targetOptions = Settings()
        if let source {
            if let value = entry("filter"), let pairs = reader.mapping(value.value, "\(what): filter") {
                if source.type.filter.settings.isEmpty {
                    reader.error(
                        value.keyNode,
                        "\(what): adapter type '\(source.type.name)' (source '\(source.name)') takes no filter")
                } else {
                    filter = reader.settings(pairs, spec: source.type.filter, at: value.value, "\(what): filter")
                }
            }
            if let value = entry("source_options"), let pairs = reader.mapping(value.value, "\(what): source_options") {
                sourceOptions = reader.settings(
                    pairs, spec: source.type.endpointOptions, at: value.value, "\(what): source_options")
            }
        }
        if let target, let value = entry("target_options"),
            let pairs = reader.mapping(value.value, "\(what): target_options")
        {
            targetOptions = reader.settings(
                pairs, spec: target.type.endpointOptions, at: value.value, "\(what): target_options")
        }

        guard let source, let target, let kind, reader.diagnostics.count == errorsBefore else { return nil }
        let sourceCaps = source.capabilities.narrowed(by: profile?.source ?? CapabilityRestriction()).forKind(kind)
        let targetCaps = target.capabilities.narrowed(by: profile?.target ?? CapabilityRestriction()).forKind(kind)
        let direction = definition.direction
        let at = entry("direction")?.value ?? node
        for (instance, caps) in [(source, sourceCaps), (target, targetCaps)] where !caps.kinds.contains(kind) {
            reader.error(
                entry("kind")?.value ?? node,
                "\(what): adapter '\(instance.name)' (\(instance.type.name)) cannot hold \(kind)"
                    + (profile.map { " under profile '\($0.name)'" } ?? ""))
        }
        if let allowed = profile?.directions, !allowed.contains(direction) {
            reader.error(at, "\(what): profile '\(profile!.name)' does not allow direction \(direction.rawValue)")
        }
        func require(_ ok: Bool, _ instance: AdapterInstance, _ ability: String) {
            guard !ok else { return }
            reader.error(
                at,
                "\(what): direction \(direction.rawValue) needs to \(ability) '\(instance.name)', which is read-only"
                    + (profile.map { " under profile '\($0.name)'" } ?? ""))
        }
        if direction.sourceFlowsToTarget { require(targetCaps.canWrite, target, "write to") }
        if direction.targetFlowsToSource { require(sourceCaps.canWrite, source, "write to") }
        // A deletion travels only to a side that can delete; an explicit 'propagate' there is an error.
        for (role, instance, caps) in [(EndpointRole.target, target, targetCaps), (.source, source, sourceCaps)]
        where !caps.canDelete {
            let flows = role == .target ? direction.sourceFlowsToTarget : direction.targetFlowsToSource
            let policy = role == .target ? definition.sourceDeletion : definition.targetDeletion
            guard flows, policy == .propagate else { continue }
            let key: EndpointRole = role == .target ? .source : .target
            if let explicit = explicitDeletion[key] {
                reader.error(
                    explicit,
                    "\(what): deletions cannot propagate to '\(instance.name)', which cannot delete; use 'unlink'")
            } else if role == .target {
                definition.sourceDeletion = .unlink
            } else {
                definition.targetDeletion = .unlink
            }
        }
        guard reader.diagnostics.count == errorsBefore else { return nil }
        return ConnectorConfig(
            definition: definition, source: source, target: target, sourceCapabilities: sourceCaps,
            targetCapabilities: targetCaps, filter: filter, sourceOptions: sourceOptions, targetOptions: targetOptions,
            users: userFilter, interval: interval, profile: profile)
    }

    static func isName(_ text: String) -> Bool {
        text.range(of: "^[A-Za-z0-9][A-Za-z0-9_-]*$", options: .regularExpression) != nil
    }
}
