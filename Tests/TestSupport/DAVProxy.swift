import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A reverse proxy (`dav_proxy.py`) in front of a real CalDAV/CardDAV server that makes it behave
/// as other servers do: without WebDAV-Sync, answering `sync-collection` in parts (507), or with
/// another client writing an item just before the adapter's PUT or DELETE of it reaches the server.
public final class DAVProxy: @unchecked Sendable {
    /// What the proxy changes about the server behind it.
    public enum Behaviour: Sendable {
        /// Forwards everything as it is.
        case plain
        /// Refuses every `sync-collection` REPORT (403 `DAV:supported-report`).
        case noSync
        /// Answers `sync-collection` in parts of at most this many members.
        case pages(Int)
    }

    /// `http://127.0.0.1:<port>`: use it in place of the server's URL.
    public let baseURL: String
    let folder: URL
    let process: Process

    /// The folder a test puts another client's item text in, named as the item's last path segment
    /// (`<name>.vcf`): the proxy writes it to the item just before it forwards a PUT or DELETE of it.
    public var raceFolder: URL { folder.appendingPathComponent("race") }

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("dav_proxy.py")
    }

    /// Starts the proxy in front of `upstream` and waits until it listens.
    public init(upstream: String, behaviour: Behaviour = .plain) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dav-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("race"), withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        var arguments = [
            Self.script.path, "--upstream", upstream, "--port", String(port), "--race-dir",
            folder.appendingPathComponent("race").path,
        ]
        switch behaviour {
        case .plain: break
        case .noSync: arguments.append("--no-sync")
        case .pages(let size): arguments += ["--page", String(size)]
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = arguments
        let log = folder.appendingPathComponent("log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        for _ in 0..<100 {
            if self.log.contains("listening on") { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let output = self.log
        stop()
        throw RadicaleError("the DAV proxy did not start on \(baseURL): \(output)")
    }

    /// One line per request (`METHOD path -> status`), and the proxy's notes.
    public var log: String {
        (try? String(contentsOf: folder.appendingPathComponent("log"), encoding: .utf8)) ?? ""
    }

    /// Makes another client write `text` to the item named `name` just before the next PUT or
    /// DELETE of it passes the proxy.
    public func race(item name: String, with text: String) throws {
        try text.write(to: raceFolder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Stops the proxy and removes its folder.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
