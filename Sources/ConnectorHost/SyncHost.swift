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
    /// The runs in progress, for the operator's console.
    public nonisolated let progress = ProgressBoard()
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

    /// The (connector, user) pairs selected by the optional filters (see ``Deployment/jobs(connector:user:)``).
    public func selection(connector: String? = nil, user: String? = nil) -> [(ConnectorConfig, UserEntry)] {
        deployment.jobs(connector: connector, user: user)
    }

    /// The scope of one end of a connector for a user.
    func scope(_ config: ConnectorConfig, _ entry: UserEntry, _ role: EndpointRole) throws -> EndpointScope {
        let instance = role == .source ? config.source : config.target
        guard let account = entry.binding.account(on: instance.name) else {
            throw RunError(description: "user '\(entry.binding.id)' has no account on '\(instance.name)'")
        }
        return EndpointScope(
            connector: config.definition.name, kind: config.definition.kind, role: role, user: entry.binding.id,
            account: account, filter: role == .source ? config.filter : Settings(),
            options: role == .source ? config.sourceOptions : config.targetOptions)
    }

    /// Builds the job for a connector and user.
    public func job(_ config: ConnectorConfig, _ entry: UserEntry, force: Bool = false) async throws -> SyncJob {
        var definition = config.definition
        definition.force = force
        let sourceScope = try scope(config, entry, .source)
        let targetScope = try scope(config, entry, .target)
        let sourceEndpoint = try await instance(config.source).endpoint(for: sourceScope)
        let targetEndpoint = try await instance(config.target).endpoint(for: targetScope)
        return SyncJob(
            definition: definition, user: entry.binding.id, accounts: (sourceScope.account, targetScope.account),
            source: sourceEndpoint, target: targetEndpoint,
            sourceCapabilities: config.sourceCapabilities, targetCapabilities: config.targetCapabilities)
    }

    /// Runs one connector for one user now.
    public func runJob(_ config: ConnectorConfig, _ entry: UserEntry, dryRun: Bool = false, force: Bool = false) async
        -> RunReport
    {
        let key = JobKey(connector: config.definition.name, user: entry.binding.id)
        let engine = SyncEngine(
            store: store, settings: deployment.engine, logger: logger,
            hooks: dryRun ? hooks : progress.hooks(hooks, for: key))
        if !dryRun { progress.started(key) }
        defer { if !dryRun { progress.finished(key) } }
        do {
            return await engine.run(try await job(config, entry, force: force), dryRun: dryRun)
        } catch {
            let account =
                entry.binding.account(on: config.target.name) ?? Account(adapter: config.target.name, name: "")
            logger.error(
                "cannot open the endpoints",
                metadata: [
                    "connector": "\(config.definition.name)", "user": "\(entry.binding.id)",
                    "account": "\(account)", "error": "\(error)",
                ])
            return RunReport(
                job: JobKey(connector: config.definition.name, user: entry.binding.id),
                account: account, status: .failed,
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
    /// rights and folders. One result per distinct check. `account` keeps the users one of whose
    /// accounts has that name (or whose id it is).
    public func check(account: String? = nil) async -> [AdapterCheck] {
        var results: [AdapterCheck] = []
        var seen: Set<String> = []
        for (config, entry) in selection() {
            if let account, entry.binding.id.uppercased() != account.uppercased(),
                !entry.binding.accounts.values.contains(where: { $0.name.lowercased() == account.lowercased() })
            {
                continue
            }
            for role in [EndpointRole.source, .target] {
                let resolved = role == .source ? config.source : config.target
                guard let scope = try? self.scope(config, entry, role) else { continue }
                let key = "\(scope.account)|\(entry.binding.id)|\(config.definition.kind)|\(scope.options)"
                guard seen.insert(key).inserted else { continue }
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
                                name: "\(resolved.name) for \(entry.binding.id) (\(config.definition.kind))",
                                ok: true, message: "opened"))
                    }
                } catch {
                    results.append(
                        AdapterCheck(
                            name: "\(resolved.name) for \(entry.binding.id) (\(config.definition.kind))",
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
