import ArgumentParser
import Connectors
import FlowFactDevelopment
import Foundation
import ODBC

/// `connector-dev flowfact …`: create and fill a FlowFact-like database.
struct FlowFactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowfact", abstract: "Creates and seeds a FlowFact-like database (demo, tests, benchmarks).",
        subcommands: [FlowFactInit.self, FlowFactSeed.self])
}

struct ConnectionOptions: ParsableArguments {
    static let embedded = "state/flowfact.sqlite"

    @Option(
        help: ArgumentHelp(
            "ODBC connection string; default: the embedded SQLite database \(embedded).",
            discussion: "A password may be given as ${VAR}; the value is read from the environment."))
    var connection: String?

    func connect() throws -> ODBCConnection {
        var text = connection ?? "Driver=SQLite3;Database=\(Self.embedded)"
        if connection == nil {
            try FileManager.default.createDirectory(
                atPath: (Self.embedded as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        for (name, value) in ProcessInfo.processInfo.environment {
            text = text.replacingOccurrences(of: "${\(name)}", with: value)
        }
        do {
            return try ODBCConnection(connectionString: text)
        } catch {
            printError("cannot connect: \(error)")
            throw ExitCode(1)
        }
    }
}

struct FlowFactInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Creates the tables of a FlowFact-like database.")
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let db = try connection.connect()
        do {
            try FlowFactSeeder(connection: db).initialize()
        } catch {
            printError("cannot create the tables: \(error)")
            throw ExitCode(1)
        }
        print("created the FlowFact tables in \(db.dbmsName)")
    }
}

struct FlowFactSeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Adds users with addresses, appointments, tasks and mails (counts are per user)."
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Number of users.") var users = 2
    @Option(help: "Addresses per user.") var addresses = 20
    @Option(help: "Appointments per user.") var appointments = 10
    @Option(help: "Tasks per user.") var tasks = 5
    @Option(help: "Mails per user.") var mails = 5
    @Option(help: "Random seed; the same seed gives the same data.") var seed: UInt64 = 1

    func run() throws {
        let db = try connection.connect()
        let counts = FlowFactSeeder.Counts(
            users: users, addresses: addresses, appointments: appointments, tasks: tasks, mails: mails, seed: seed)
        let started = Date()
        do {
            let summary = try FlowFactSeeder(connection: db).seed(counts)
            print("seeded \(summary) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        } catch {
            printError("cannot seed: \(error)")
            throw ExitCode(1)
        }
    }
}
