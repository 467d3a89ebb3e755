import ArgumentParser
import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import Logging

/// The registry of every adapter type built into this executable.
let registry = AdapterRegistry(BuiltinAdapters.all)

@main
struct ConnectorHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector-host",
        abstract: "Keeps FlowFact (CRM) and Microsoft Exchange in step, as wired in connectors.yaml.",
        subcommands: [Validate.self, Adapters.self, Sync.self, RunLoop.self, Status.self, FlowFactCommand.self])
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
            let jobs = deployment.connectors.reduce(0) { total, connector in
                total
                    + deployment.users.filter {
                        $0.enabled && (connector.users?.contains($0.binding.crmUser.uppercased()) ?? true)
                    }.count
            }
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
    @Option(help: "Only this FlowFact user (short name).")
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
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce(connector: connector, user: user, dryRun: dryRun, force: force)
        await host.shutdown()
        if reports.isEmpty { print("nothing to sync: no enabled user matches") }
        print(ReportFormatter.reports(reports, detailed: dryRun))
        if reports.contains(where: { $0.status != .ok && $0.status != .planned }) { throw ExitCode(2) }
    }
}

struct RunLoop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Runs every connector on its interval until stopped (Ctrl-C).")

    @OptionGroup var options: Options

    func run() async throws {
        let logger = options.bootstrap()
        let deployment = try options.load()
        let host = try SyncHost(deployment: deployment, logger: logger)
        logger.notice("scheduled sync started", metadata: ["connectors": "\(deployment.connectors.count)"])
        await host.runScheduled()
        await host.shutdown()
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shows per connector and user: last run, counts, conflicts and dead letters.")

    @OptionGroup var options: Options

    func run() async throws {
        let deployment = try options.load()
        let store = try StateStore(path: deployment.statePath)
        var jobs: [JobKey] = []
        for connector in deployment.connectors {
            for entry in deployment.users
            where entry.enabled && connector.users?.contains(entry.binding.crmUser.uppercased()) ?? true {
                jobs.append(JobKey(connector: connector.definition.name, user: entry.binding.crmUser))
            }
        }
        print(try ReportFormatter.status(store: store, jobs: jobs))
        let disabled = deployment.users.filter { !$0.enabled }.map { $0.binding.crmUser }
        if !disabled.isEmpty { print("disabled in users: \(disabled.joined(separator: ", "))") }
    }
}
