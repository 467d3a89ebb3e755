import ArgumentParser
import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The registry of every adapter type built into this executable.
let registry = AdapterRegistry(BuiltinAdapters.all)

@main
struct ConnectorHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector-host",
        abstract: "Keeps FlowFact (CRM) and Microsoft Exchange in step, as wired in connectors.yaml.",
        subcommands: [
            Validate.self, Adapters.self, Sync.self, RunLoop.self, Status.self, Check.self, Enable.self,
            Conflicts.self, Resolve.self, DeadLetters.self, Retry.self,
        ])
}

struct Options: ParsableArguments {
    @Option(name: .shortAndLong, help: "The configuration file.")
    var config = "connectors.yaml"

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "notice"

    func bootstrap() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "connector-host")
    }

    func load() throws -> Deployment {
        do {
            return try ConfigLoader(registry: registry).load(path: config)
        } catch let error as ConfigError {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Checks a configuration file and reports every problem as file:line:column.")

    @Argument(help: "The configuration file.")
    var file = "connectors.yaml"

    func run() throws {
        do {
            let deployment = try ConfigLoader(registry: registry).load(path: file)
            let jobs = deployment.jobs().count
            print(
                "\(file): valid: \(deployment.adapters.count) adapters, \(deployment.users.count) users, "
                    + "\(deployment.connectors.count) connectors, \(jobs) sync jobs; state in \(deployment.statePath.path)"
            )
        } catch let error as ConfigError {
            printError(error.description)
            printError("\(error.diagnostics.count) problem(s) found")
            throw ExitCode(1)
        }
    }
}

struct Adapters: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lists the registered adapter types and their settings.")
    func run() { print(ReportFormatter.adapters(registry)) }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs every selected connector once for every selected user.")

    @OptionGroup var options: Options
    @Flag(help: "Run once and exit (the default for this command; `run` is the scheduled loop).")
    var once = false
    @Option(help: "Only this connector.")
    var connector: String?
    @Option(help: "Only this user (its id in users:).")
    var user: String?
    @Flag(help: "Print the plan (creates, updates, deletes, conflicts) and change nothing.")
    var dryRun = false
    @Flag(help: "Let the mass-deletion guard pass: propagate large deletions and empty sides.")
    var force = false

    func run() async throws {
        let logger = options.bootstrap()
        let deployment = try options.load()
        if let connector, !deployment.connectors.contains(where: { $0.definition.name == connector }) {
            printError("no connector named '\(connector)' in \(options.config)")
            throw ExitCode(1)
        }
        // A dry run changes nothing and may look while the service runs; a real one must not run beside it.
        let lock = dryRun ? nil : try StateAccess.require(deployment, for: "sync")
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce(connector: connector, user: user, dryRun: dryRun, force: force)
        await host.shutdown()
        withExtendedLifetime(lock) {}
        if reports.isEmpty { print("nothing to sync: no enabled user matches") }
        print(ReportFormatter.reports(reports, detailed: dryRun))
        // Dead letters left by earlier runs are not in these reports, but the items are not synced.
        let deadLetters = try ReportFormatter.deadLetterLine(store: host.store, jobs: reports.map(\.job))
        if let deadLetters { print(deadLetters) }
        if !dryRun {
            let open = try host.store.openCounts()
            print(OperatorFormatter.openLine(conflicts: open.conflicts, deadLetters: open.deadLetters))
        }
        if reports.contains(where: { $0.status != .ok && $0.status != .planned }) || deadLetters != nil {
            throw ExitCode(2)
        }
    }
}

struct RunLoop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Runs the service: every connector for every mailbox on its schedule, until SIGTERM or SIGINT.",
        discussion: """
            The first SIGTERM/SIGINT lets running jobs finish their current batch, stores the state and exits 0 \
            (within service.shutdown_timeout); a second one exits at once. /metrics and /health are served on \
            service.metrics_address.
            """)

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config = "connectors.yaml"

    func run() async throws {
        let deployment: Deployment
        do {
            deployment = try ConfigLoader(registry: registry).load(path: config)
        } catch let error as ConfigError {
            printError(error.description)
            throw ExitCode(1)
        }
        // Held until the process ends: `sync`, `resolve` and `retry` see the service by it.
        let lock = try StateAccess.require(deployment, for: "a second service")
        let settings = deployment.service
        let format = StructuredLogHandler.Format(rawValue: settings.logFormat) ?? .logfmt
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { StructuredLogHandler(label: $0, format: format, level: level) }
        let logger = Logger(label: "connector-host")
        let prometheus = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))

        let stop = StopFlag()
        var hooks = EngineHooks()
        hooks.shouldStop = { stop.isRaised }
        let host = try SyncHost(deployment: deployment, logger: logger, hooks: hooks)
        let scheduler = Scheduler(host: host, settings: settings, logger: logger, stop: stop)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: SyncService(scheduler: scheduler, stop: stop),
                successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let address = settings.metricsAddress {
            let store = host.store
            let console = deployment.console.enabled ? Console(host: host, scheduler: scheduler, logger: logger) : nil
            let server = MetricsServer(address: address, registry: prometheus, console: console) {
                let states = (try? store.accountStates()) ?? []
                let counts = Dictionary(grouping: states, by: \.status.rawValue).mapValues(\.count)
                let ok = !stop.isRaised
                let body =
                    "{\"status\":\"\(ok ? "ok" : "stopping")\",\"accounts\":{"
                    + ["enabled", "failing", "disabled"].map { "\"\($0)\":\(counts[$0] ?? 0)" }.joined(separator: ",")
                    + "}}\n"
                return (ok, body)
            }
            do {
                let port = try await server.start()
                logger.notice(
                    "metrics and health are served",
                    metadata: ["address": "http://\(address.split(separator: ":")[0]):\(port)/metrics"])
                if console != nil {
                    logger.notice(
                        "the operator's console is served",
                        metadata: ["address": "http://\(address.split(separator: ":")[0]):\(port)/"])
                }
            } catch {
                printError("cannot serve /metrics on \(address): \(error)")
                throw ExitCode(1)
            }
            services.append(.init(service: server))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        let signals = SignalHandling(group: group, timeout: settings.shutdownTimeout, logger: logger)
        signals.install()
        logger.notice(
            "service started",
            metadata: [
                "connectors": "\(deployment.connectors.count)",
                "users": "\(deployment.users.filter(\.enabled).count)", "state": "\(deployment.statePath.path)",
            ])
        try await group.run()
        await host.shutdown()
        withExtendedLifetime(lock) {}
        let open = try? host.store.openCounts()
        logger.notice(
            "service stopped; state saved",
            metadata: [
                "open_conflicts": "\(open?.conflicts ?? -1)", "dead_letters": "\(open?.deadLetters ?? -1)",
            ])
        if let open { print(OperatorFormatter.openLine(conflicts: open.conflicts, deadLetters: open.deadLetters)) }
    }
}

/// First SIGTERM/SIGINT: graceful shutdown (bounded by the timeout). Second: exit at once.
final class SignalHandling: @unchecked Sendable {
    let group: ServiceGroup
    let timeout: Duration
    let logger: Logger
    var sources: [DispatchSourceSignal] = []
    let lock = NSLock()
    var received = 0

    init(group: ServiceGroup, timeout: Duration, logger: Logger) {
        self.group = group
        self.timeout = timeout
        self.logger = logger
    }

    func install() {
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in handle(number) }
            source.resume()
            sources.append(source)
        }
    }

    func handle(_ number: Int32) {
        let count = lock.withLock {
            received += 1
            return received
        }
        if count > 1 {
            logger.warning("second stop signal: exiting now (committed state is consistent; the next start resumes)")
            exit(130)
        }
        logger.notice(
            "stop signal received: finishing the batches in flight",
            metadata: ["signal": "\(number)", "timeout": "\(timeout)"])
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
        let logger = self.logger
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
            logger.warning("shutdown timeout reached: exiting with the committed state")
            exit(0)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Checks each adapter for each user's account: reachability, authentication, rights, mapping and folders.")

    @OptionGroup var options: Options
    @Option(name: [.long, .customLong("mailbox")], help: "Only the user with this account name (or id).")
    var account: String?

    func run() async throws {
        let logger = options.bootstrap()
        let deployment = try options.load()
        let host = try SyncHost(deployment: deployment, logger: logger)
        let results = await host.check(account: account)
        await host.shutdown()
        for result in results { print("\(result.ok ? "ok  " : "FAIL") \(result.name): \(result.message)") }
        if results.isEmpty { print("nothing to check: no enabled user matches") }
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }
}

struct Enable: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-enables an account the service disabled after repeated permanent errors.")

    @OptionGroup var options: Options
    @Option(
        name: [.long, .customLong("mailbox")],
        help: "The account's name as `status` shows it (e.g. a mailbox address); --mailbox is an alias.")
    var account: String
    @Option(help: "Only the account on this adapter instance.") var adapter: String?

    func run() throws {
        let deployment = try options.load()
        let store = try StateStore(path: deployment.statePath)
        let before = try store.enable(account, adapter: adapter)
        guard !before.isEmpty else {
            printError("no state for account \(account) in \(deployment.statePath.path); it has never been synced")
            throw ExitCode(1)
        }
        for state in before {
            print("\(state.label): enabled (was \(state.status.rawValue)\(state.reason.map { ": \($0)" } ?? ""))")
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shows per connector and user: last run, counts, conflicts and dead letters.")

    @OptionGroup var options: Options

    func run() async throws {
        let deployment = try options.load()
        let store = try StateStore(path: deployment.statePath)
        let jobs = deployment.jobs().map { JobKey(connector: $0.0.definition.name, user: $0.1.binding.id) }
        print(try ReportFormatter.status(store: store, jobs: jobs))
        for state in try store.accountStates() where state.status != .enabled {
            print(
                "account \(state.label): \(state.status.rawValue) after \(state.failures) failed runs: \(state.reason ?? "")"
            )
        }
        let disabled = deployment.users.filter { !$0.enabled }.map { $0.binding.id }
        if !disabled.isEmpty { print("disabled in users: \(disabled.joined(separator: ", "))") }
    }
}
