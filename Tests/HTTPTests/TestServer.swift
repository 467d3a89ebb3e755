import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The Python test server (Resources/test_server.py) as a subprocess on a free loopback port.
final class TestServer: @unchecked Sendable {
    let port: Int
    let tls: Bool
    private let process: Process

    /// The folder of the server script and the test certificate.
    static let resources: URL = {
        if let url = Bundle.module.url(forResource: "Resources", withExtension: nil) { return url }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")
    }()

    /// The self-signed certificate the TLS server presents (for 127.0.0.1 and localhost).
    static var certificatePath: String { resources.appendingPathComponent("test-cert.pem").path }

    /// Starts a server and waits (at most 15 s) for its `listening on PORT` line.
    init(tls: Bool = false) throws {
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = [python, "-u", Self.resources.appendingPathComponent("test_server.py").path]
        if tls {
            arguments += ["--tls", Self.certificatePath, Self.resources.appendingPathComponent("test-key.pem").path]
        }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let line = Self.readLine(from: output.fileHandleForReading.fileDescriptor, timeout: 15)
        try? output.fileHandleForReading.close()
        guard let line, line.hasPrefix("listening on "), let port = Int(line.dropFirst("listening on ".count)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestServerError(message: "test server did not start: \(line ?? "no output")")
        }
        self.process = process
        self.port = port
        self.tls = tls
    }

    /// A URL on this server, e.g. `url("/echo")`.
    func url(_ path: String) -> String { "\(tls ? "https" : "http")://127.0.0.1:\(port)\(path)" }

    /// Kills the server; it holds no state worth a graceful exit.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    private static func readLine(from fd: Int32, timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var bytes: [UInt8] = []
        while Date() < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) >= 0 else { return nil }
            if descriptor.revents == 0 { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }
}

struct TestServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs `body` and fails if it takes longer than `seconds`, so no test waits without bound.
func withDeadline<T: Sendable>(
    _ seconds: Double, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw TestServerError(message: "timed out after \(seconds) s")
        }
        group.cancelAll()
        return value
    }
}

/// Resident memory of this process in bytes (Linux), or `nil`.
func residentMemory() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return digits.map { $0 * 1024 }
    }
    return nil
}
