import ArgumentParser
import ConnectorHost
import Connectors
import Foundation

/// The registry of every adapter type built into connector-host (the demo wires them the same way).
let registry = AdapterRegistry(BuiltinAdapters.all)

/// `connector-dev`: the developer's tool beside the service. It links what connector-host does
/// not: the Exchange simulator and the FlowFact-like database's tables and seeder.
@main
struct ConnectorDevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector-dev",
        abstract: "Development tools: the end-to-end demo and a FlowFact-like database to sync against.",
        subcommands: [Demo.self, FlowFactCommand.self])
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
