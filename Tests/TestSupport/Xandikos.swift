import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Xandikos CalDAV/CardDAV server (Debian package `xandikos`) on a free loopback port with a
/// temporary folder, started with `--defaults`: the principal `/<user>/` holds one calendar for
/// events and tasks (`/<user>/calendars/calendar/`) and one address book
/// (`/<user>/contacts/addressbook/`). Xandikos has no authentication of its own (it expects a
/// proxy in front); it ignores the credentials clients send.
public final class XandikosServer: @unchecked Sendable {
    /// `http://127.0.0.1:<port>`.
    public let baseURL: String
    /// The server's folder.
    public let folder: URL
    let process: Process

    static let executable = "/usr/bin/xandikos"

    /// Starts Xandikos with the principal `/<user>/` and waits until it answers.
    public init(user: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("xandikos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [
            "-d", folder.appendingPathComponent("data").path, "--defaults", "--current-user-principal", "/\(user)/",
            "-l", "127.0.0.1", "-p", String(port),
        ]
        let log = folder.appendingPathComponent("log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        for _ in 0..<100 {
            if let status = try? runCurl(["-o", "/dev/null", baseURL + "/\(user)/"]).status, status > 0 { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw RadicaleError("Xandikos did not start on \(baseURL): \(output)")
    }

    /// Stops the server and removes its folder.
    public func stop() {
        if process.isRunning {
            // SIGKILL: a child started from a Swift test thread may have SIGTERM blocked.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
