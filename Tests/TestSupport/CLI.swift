import Foundation

/// Runs the built `connector-host` executable, as an administrator would.
public enum CLI {
    public static var binary: URL { Binary.connectorHost }

    public static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:], binary: URL = binary
    ) throws -> (
        status: Int32, out: String, err: String
    ) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }
}
