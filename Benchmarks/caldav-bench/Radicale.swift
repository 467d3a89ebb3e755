// Radicale in a process of its own for the CalDAV benchmark, configured as the tests configure it
// (Tests/TestSupport/Radicale.swift): plain htpasswd users, owner_only rights, filesystem storage in
// a temporary folder, no web interface, and `info` logging, which writes one line per request and
// one per answer with Radicale's own time for it. The log is what the benchmark counts requests by.
import Foundation
import HTTP

#if canImport(Glibc)
    import Glibc
#endif

/// One request as Radicale logged its answer: method, path, Radicale's time for it (including
/// any wait for its storage lock) and the status.
struct RadicaleEntry {
    var method: String
    var path: String
    var seconds: Double
    var status: Int
}

/// A Radicale server on a free loopback port; stopped and its folder removed by ``stop()``.
final class RadicaleProcess: @unchecked Sendable {
    let baseURL: String
    let folder: URL
    let process: Process
    let http = HTTPClient()
    let password: String
    let fsync: Bool

    /// Starts Radicale for these users (all with `password`); ``waitUntilUp()`` waits until it
    /// answers. With `fsync` false Radicale does not fsync its writes (see below).
    init(users: [String], password: String, fsync: Bool, program: String) throws {
        self.password = password
        self.fsync = fsync
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("caldav-bench-radicale-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        try users.map { "\($0):\(password)\n" }.joined().write(
            to: folder.appendingPathComponent("users"), atomically: true, encoding: .utf8)
        let config = """
            [server]
            hosts = 127.0.0.1:\(port)
            [auth]
            type = htpasswd
            htpasswd_filename = \(folder.path)/users
            htpasswd_encryption = plain
            delay = 0
            [storage]
            filesystem_folder = \(folder.path)/collections
            [rights]
            type = owner_only
            [web]
            type = none
            [logging]
            level = info
            """
        try config.write(to: folder.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        process = Process()
        // Radicale is started through a small wrapper. It stops when this program is gone. With
        // `fsync` false it sets Radicale's private `[storage] _filesystem_fsync` to False, which
        // Radicale refuses in its config file and on its command line, as Radicale's own tests do
        // (`configuration.update(…, privileged=True)`). With CALDAV_BENCH_RADICALE_PROFILE=FILE in
        // the environment it profiles each request with cProfile (wall-clock time, per request
        // thread) and writes the sum to FILE (pstats) when it stops (scripts/caldav-profile.sh).
        let wrapper = """
            import os, signal, sys, threading, time
            # A child started from a Swift thread may inherit SIGTERM blocked.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
            # Stop when the benchmark is gone (not PR_SET_PDEATHSIG: that fires when the spawning
            # thread ends, and the threads of Swift's concurrency pool come and go).
            def watch(parent=os.getppid()):
                while os.getppid() == parent:
                    time.sleep(1)
                os.kill(os.getpid(), signal.SIGTERM)
            threading.Thread(target=watch, daemon=True).start()
            import radicale.__main__ as main
            import radicale.config as config
            load = config.load
            def load_without_fsync(*arguments, **keywords):
                configuration = load(*arguments, **keywords)
                configuration.update({"storage": {"_filesystem_fsync": "False"}}, "caldav-bench", privileged=True)
                return configuration
            if sys.argv[1] == "no-fsync":
                config.load = load_without_fsync
            sys.argv = ["radicale"] + sys.argv[2:]
            profile_path = os.environ.get("CALDAV_BENCH_RADICALE_PROFILE")
            if profile_path:
                import cProfile, pstats, threading
                import radicale.app as app
                handle = app.Application._handle_request
                lock = threading.Lock()
                total = []
                def profiled(self, environ):
                    profile = cProfile.Profile()
                    profile.enable()
                    try:
                        return handle(self, environ)
                    finally:
                        profile.disable()
                        with lock:
                            if total:
                                total[0].add(profile)
                            else:
                                total.append(pstats.Stats(profile))
                app.Application._handle_request = profiled
            main.run()
            if profile_path and total:
                total[0].dump_stats(profile_path)
            """
        // Debian's radicale runs on the system Python.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c", wrapper, fsync ? "fsync" : "no-fsync", "--config", folder.appendingPathComponent("config").path,
        ]
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/radicale") else {
            throw BenchError("\(program): Radicale is not installed (apt-get install radicale)")
        }
        let log = folder.appendingPathComponent("log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Waits until the server answers (any status), at most 10 s.
    func waitUntilUp() async throws {
        for _ in 0..<100 {
            if (try? await http.send(HTTPRequest(url: baseURL + "/", method: "GET"))) != nil { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("Radicale did not start on \(baseURL): \(logText(from: 0))")
    }

    var pid: Int32 { process.processIdentifier }

    /// Creates a calendar for the given components (MKCALENDAR) or an address book (extended MKCOL).
    func makeCollection(user: String, name: String, components: [String]?) async throws {
        let body: String
        let method: String
        if let components {
            method = "MKCALENDAR"
            body =
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
                + "<D:set><D:prop><D:displayname>\(name)</D:displayname><C:supported-calendar-component-set>"
                + components.map { "<C:comp name=\"\($0)\"/>" }.joined()
                + "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
        } else {
            method = "MKCOL"
            body =
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:mkcol xmlns:D=\"DAV:\" xmlns:CR=\"urn:ietf:params:xml:ns:carddav\">"
                + "<D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>"
                + "<D:displayname>\(name)</D:displayname></D:prop></D:set></D:mkcol>"
        }
        let response = try await http.send(
            HTTPRequest(
                url: "\(baseURL)/\(user)/\(name)/", method: method,
                headers: [("Content-Type", "application/xml; charset=utf-8")], body: Data(body.utf8),
                auth: .basic(user: user, password: password)))
        guard response.head.status == 201 else {
            throw BenchError(
                "\(method) /\(user)/\(name)/: HTTP \(response.head.status) \(String(decoding: response.body, as: UTF8.self))"
            )
        }
    }

    /// Where the items live: `collection-root/<user>/<collection>/<name>`.
    var collectionRoot: URL { folder.appendingPathComponent("collections/collection-root") }

    // MARK: Measuring

    /// The log's size now: entries after it belong to what runs next.
    var logOffset: UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("log").path))?[.size]
            as? NSNumber)?.uint64Value ?? 0
    }

    func logText(from offset: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: folder.appendingPathComponent("log").path) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }

    /// The answers logged after `offset`, in the order Radicale finished them. A line reads
    /// `[…] [INFO] PUT response status for '/mm/contacts/x.vcf' in 0.045 seconds: 201 Created`
    /// (with ` with depth '1'` after the path for requests with a Depth header).
    func entries(from offset: UInt64) -> [RadicaleEntry] {
        var entries: [RadicaleEntry] = []
        for line in logText(from: offset).split(separator: "\n") {
            guard let marker = line.range(of: " response status for '") else { continue }
            let method = line[..<marker.lowerBound].split(separator: " ").last.map(String.init) ?? "?"
            let rest = line[marker.upperBound...]
            guard let pathEnd = rest.firstIndex(of: "'"), let inRange = rest.range(of: " in "),
                let secondsEnd = rest.range(of: " seconds: ")
            else { continue }
            let seconds = Double(rest[inRange.upperBound..<secondsEnd.lowerBound]) ?? 0
            let status = Int(rest[secondsEnd.upperBound...].prefix { $0.isNumber }) ?? 0
            entries.append(
                RadicaleEntry(method: method, path: String(rest[..<pathEnd]), seconds: seconds, status: status))
        }
        return entries
    }

    /// Radicale's CPU seconds so far (user + system, from /proc/PID/stat).
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // After "pid (comm)": state is field 3, utime field 14, stime field 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Radicale's resident memory now and its peak since the last ``resetPeakMemory()``, in MB.
    var memory: (currentMB: Double, peakMB: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func value(_ key: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return Double(line.split(separator: " ").dropFirst().first { Double($0) != nil } ?? "0").map { $0 / 1024 }
                ?? 0
        }
        return (value("VmRSS"), value("VmHWM"))
    }

    /// Resets the kernel's peak-RSS mark of Radicale's process.
    func resetPeakMemory() {
        guard let handle = FileHandle(forWritingAtPath: "/proc/\(pid)/clear_refs") else { return }
        try? handle.write(contentsOf: Data("5".utf8))
        try? handle.close()
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder unless `keep`.
    func stop(keep: Bool = false) {
        http.shutdown()
        if process.isRunning {
            process.terminate()
            for _ in 0..<50 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        if !keep { try? FileManager.default.removeItem(at: folder) }
    }
}

/// `radicale --version` (e.g. "3.1.8"), or "?".
func radicaleVersion() -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/radicale")
    process.arguments = ["--version"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    guard (try? process.run()) != nil else { return "?" }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port on 127.0.0.1 nothing listens on now (bound to port 0 and released).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw BenchError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw BenchError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
