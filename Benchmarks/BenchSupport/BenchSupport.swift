// Shared by the benchmark programs: command-line options, resource usage, and exchange-sim in a
// process of its own (so the measured process's CPU and memory are its own).
import Foundation
import HTTP

/// The value after `name` on the command line, or `fallback`.
public func option(_ name: String, _ fallback: String) -> String {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else {
        return fallback
    }
    return CommandLine.arguments[index + 1]
}

/// A whole, non-negative number after `name`; exits with a message otherwise.
public func integer(_ name: String, _ fallback: Int, program: String) -> Int {
    guard let value = Int(option(name, "\(fallback)")), value >= 0 else {
        FileHandle.standardError.write(Data("\(program): \(name) needs a whole number\n".utf8))
        exit(2)
    }
    return value
}

/// CPU seconds (user + system) and peak resident memory (MB) of this process so far.
public func usage() -> (cpu: Double, peakMB: Double) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let cpu =
        Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
    return (cpu, Double(usage.ru_maxrss) / 1024)
}

/// Resident memory of this process from /proc/self/status: now (`VmRSS`) and the peak (`VmHWM`), in MB.
public func residentMemory() -> (currentMB: Double, peakMB: Double) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func value(_ key: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
        return Double(line.split(separator: " ").dropFirst().first { Double($0) != nil } ?? "0").map { $0 / 1024 } ?? 0
    }
    return (value("VmRSS"), value("VmHWM"))
}

/// Resets the kernel's peak-RSS mark of this process (Linux: "5" to /proc/self/clear_refs), so the
/// next ``residentMemory()`` peak belongs to what runs after it. False where that is not possible.
@discardableResult
public func resetPeakMemory() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do {
        try handle.write(contentsOf: Data("5".utf8))
        return true
    } catch {
        return false
    }
}

/// exchange-sim running in its own process.
public final class SimProcess: @unchecked Sendable {
    /// Nil for a simulator started by someone else (``init(external:)``).
    public let process: Process?
    /// The EWS URL it serves.
    public let url: String
    let http = HTTPClient()

    /// A simulator already running at `url` (`scripts/profile.sh` starts it outside the profile).
    public init(external url: String) {
        process = nil
        self.url = url
    }

    /// Starts `binary` with the given options (`extraArguments` switch faults on); exits the program with a message when it does not come up.
    public init(
        binary: String, schemas: String, latencyMilliseconds: Int, account: String, mailboxes: [String],
        program: String, extraArguments: [String] = []
    ) {
        let process = Process()
        self.process = process
        process.executableURL = URL(fileURLWithPath: binary)
        let user = account.split(separator: ":").first.map(String.init) ?? account
        process.arguments =
            ["--port", "0", "--schemas", schemas, "--latency-ms", "\(latencyMilliseconds)", "--account", account]
            + ["--impersonation", user] + mailboxes.flatMap { ["--mailbox", $0] } + extraArguments
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            FileHandle.standardError.write(
                Data("\(program): cannot start \(binary): \(error) (build it with swift build -c release)\n".utf8))
            exit(1)
        }
        var banner = ""
        while !banner.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            banner += String(decoding: data, as: UTF8.self)
        }
        guard let start = banner.range(of: "http://") else {
            FileHandle.standardError.write(Data("\(program): exchange-sim did not start: \(banner)\n".utf8))
            process.terminate()
            exit(1)
        }
        // The first line names the EWS URL (a WebDAV line may follow in the same read).
        url = String(banner[start.lowerBound...].prefix { !$0.isWhitespace })
    }

    /// The simulator's counters (`GET /sim/stats`): requests by operation, bytes, CPU seconds.
    public func stats() async throws -> [String: Double] {
        let statsURL = url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/sim/stats")
        let response = try await http.send(HTTPRequest(url: statsURL, method: "GET"))
        return (try JSONSerialization.jsonObject(with: response.body) as? [String: Double]) ?? [:]
    }

    public func stop() {
        http.shutdown()
        process?.terminate()
    }
}
