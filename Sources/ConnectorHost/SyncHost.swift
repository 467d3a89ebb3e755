import ConnectorAPI
import Foundation
import Logging

/// Runs a validated deployment: creates the adapter instances, builds one job per connector and
/// user, and runs them with bounded concurrency. It knows adapters only through `AdapterType`.
public actor SyncHost {
    public let deployment: Deployment
    public nonisolated let store: StateStore
    let logger: Logger
    let hooks: EngineHooks
    var instances: [String: any Adapter] = [:]

    /// Opens the state database named by the deployment.
    public init(deployment: Deployment, logger: Logger, hooks: EngineHooks = EngineHooks()) throws {
        self.deployment = deployment
        self.logger = logger
        self.hooks = hooks
        do {
            store = try StateStore(path: deployment.statePath)
        } catch {
            throw RunError(description: "cannot open the state database \(deployment.statePath.path): \(error)")
        }
    }

    func instance(_ config: AdapterInstance) throws -> any Adapter {
        if let existing = instances[config.name] { return existing }
        let logger = self.logger
        let name = config.name
        let context = AdapterContext(instanceName: name, baseDirectory: deployment.baseDirectory) { level, message in
            var logger = logger
            logger[metadataKey: "adapter"] = "\(name)"
            logger.log(level: Self.level(level), "\(message)")
        }
        let adapter = try config.type.make(config.settings, context)
        instances[config.name] = adapter
        return adapter
    }

    static func level(_ level: AdapterLogLevel) -> Logger.Level {
        switch level {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }

    /// The (connector, user) pairs selected by the optional filters, in configuration order.
    public func selection(connector: String? = nil, user: String? = nil) -> [(ConnectorConfig, UserEntry)] {
        var result: [(ConnectorConfig, UserEntry)] = []
        for config in deployment.connectors where connector == nil || config.definition.name == connector {
            for entry in deployment.users where entry.enabled {
                let short = entry.binding.crmUser.uppercased()
                if let only = config.users, !only.contains(short) { continue }
                if let user, user.uppercased() != short { continue }
                result.append((config, entry))
            }
        }
        return result
    }

    /// Builds the job for a connector and user. A user's `exchange:` setting names an adapter
    /// instance that replaces the connector's endpoint of the same adapter type.
    public func job(_ config: ConnectorConfig, _ entry: UserEntry, force: Bool = false) async throws -> SyncJob {
        var definition = config.definition
        definition.force = force
        func resolve(_ instance: AdapterInstance) -> AdapterInstance {
            if let name = entry.binding.settings["exchange"], let other = deployment.adapters[name],
                other.type.name == instance.type.name
            {
                return other
            }
            return instance
        }
        let source = resolve(config.source)
        let target = resolve(config.target)
        let sourceEndpoint = try await instance(source).endpoint(
            for: EndpointScope(
                connector: definition.name, kind: definition.kind, role: .source, user: entry.binding,
                filter: config.filter,
                options: config.sourceOptions))
        let targetEndpoint = try await instance(target).endpoint(
            for: EndpointScope(
                connector: definition.name, kind: definition.kind, role: .target, user: entry.binding,
                options: config.targetOptions))
        return SyncJob(
            definition: definition, user: entry.binding, source: sourceEndpoint, target: targetEndpoint,
            sourceCapabilities: config.sourceCapabilities, targetCapabilities: config.targetCapabilities)
    }

    /// Runs one connector for one user now.
    public func runJob(_ config: ConnectorConfig, _ entry: UserEntry, dryRun: Bool = false, force: Bool = false) async
        -> RunReport
    {
        let engine = SyncEngine(store: store, settings: deployment.engine, logger: logger, hooks: hooks)
        do {
            return await engine.run(try await job(config, entry, force: force), dryRun: dryRun)
        } catch {
            logger.error(
                "cannot open the endpoints",
                metadata: [
                    "connector": "\(config.definition.name)", "user": "\(entry.binding.crmUser)",
                    "mailbox": "\(entry.binding.mailbox)", "error": "\(error)",
                ])
            return RunReport(
                job: JobKey(connector: config.definition.name, user: entry.binding.crmUser),
                mailbox: entry.binding.mailbox, status: .failed,
                counts: [:], plan: nil, failures: [], message: "cannot open the endpoints: \(error)",
                permanent: (error as? ClassifiedError)?.isPermanent ?? false)
        }
    }

    /// Runs the selected jobs once, at most `concurrency` at a time; one report per job.
    public func syncOnce(
        connector: String? = nil, user: String? = nil, dryRun: Bool = false, force: Bool = false, concurrency: Int = 4
    ) async -> [RunReport] {
        let selected = selection(connector: connector, user: user)
        return await withTaskGroup(of: (Int, RunReport).self) { group in
            var next = 0
            var done: [(Int, RunReport)] = []
            func start(_ group: inout TaskGroup<(Int, RunReport)>) {
                let index = next
                let (config, entry) = selected[index]
                next += 1
                group.addTask { (index, await self.runJob(config, entry, dryRun: dryRun, force: force)) }
            }
            while next < selected.count && next < max(1, concurrency) { start(&group) }
            while let finished = await group.next() {
                done.append(finished)
                if next < selected.count { start(&group) }
            }
            return done.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Checks every endpoint the selected jobs use: database, mapping, server, authentication,
    /// rights and folders. One result per distinct check.
    public func check(mailbox: String? = nil) async -> [AdapterCheck] {
        var results: [AdapterCheck] = []
        var seen: Set<String> = []
        for (config, entry) in selection() {
            if let mailbox, entry.binding.mailbox.lowercased() != mailbox.lowercased() { continue }
            for (role, configured, options) in [
                (EndpointRole.source, config.source, config.sourceOptions),
                (.target, config.target, config.targetOptions),
            ] {
                var resolved = configured
                if let name = entry.binding.settings["exchange"], let other = deployment.adapters[name],
                    other.type.name == configured.type.name
                {
                    resolved = other
                }
                let key =
                    "\(resolved.name)|\(entry.binding.crmUser)|\(entry.binding.mailbox)|\(config.definition.kind)|\(options)"
                guard seen.insert(key).inserted else { continue }
                let scope = EndpointScope(
                    connector: config.definition.name, kind: config.definition.kind, role: role, user: entry.binding,
                    filter: role == .source ? config.filter : Settings(), options: options)
                do {
                    let adapter = try instance(resolved)
                    if let checkable = adapter as? any CheckableAdapter {
                        for result in await checkable.check(for: scope) where !results.contains(result) {
                            results.append(result)
                        }
                    } else {
                        _ = try await adapter.endpoint(for: scope)
                        results.append(
                            AdapterCheck(
                                name: "\(resolved.name) for \(entry.binding.crmUser) (\(config.definition.kind))",
                                ok: true, message: "opened"))
                    }
                } catch {
                    results.append(
                        AdapterCheck(
                            name: "\(resolved.name) for \(entry.binding.crmUser) (\(config.definition.kind))",
                            ok: false, message: "\(error)"))
                }
            }
        }
        return results
    }

    /// Closes every adapter instance.
    public func shutdown() async {
        for adapter in instances.values { await adapter.shutdown() }
        instances.removeAll()
    }
}
