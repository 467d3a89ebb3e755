import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// lighttpd (Debian package `lighttpd`) on a free loopback port as a reverse proxy that asks for
/// HTTP Digest: `mod_auth` with an `htdigest` user file lets a request through only with a valid
/// Digest response, and `mod_proxy` passes it to a backend (e.g. a ``RadicaleServer`` with
/// ``RadicaleServer/Authentication/remoteUserHeader``) with `X-Remote-User` set to the Digest user.
/// A client's own `X-Remote-User` is always replaced or removed. Temporary folder; stopped and
/// removed by ``stop()``.
///
/// lighttpd cannot put the authenticated user into a request header by itself (`mod_setenv`
/// values are constants), so each user gets a conditional block on the `username="…"` of the
/// `Authorization` header; since `mod_auth` has verified that very user name, the header the
/// backend sees is the one lighttpd authenticated.
public final class LighttpdDigestProxy: @unchecked Sendable {
    /// The hash of the Digest challenge (RFC 7616).
    public enum Algorithm: String, Sendable {
        case md5 = "MD5"
        case sha256 = "SHA-256"

        var hashTool: String { self == .md5 ? "/usr/bin/md5sum" : "/usr/bin/sha256sum" }
    }

    /// `http://127.0.0.1:<port>`.
    public let baseURL: String
    /// The server's folder (configuration, user file, logs).
    public let folder: URL
    /// The Digest realm.
    public let realm: String
    let process: Process

    static let executable = "/usr/sbin/lighttpd"
    /// The characters a user name may have (ASCII, so the configuration's regex stays simple).
    static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")

    /// Whether lighttpd is installed.
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// `lighttpd -v`'s first line, e.g. `lighttpd/1.4.69 (ssl) - a light and fast webserver`.
    public static var version: String? {
        guard isInstalled else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-v"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return output.split(separator: "\n").first.map(String.init)
    }

    /// Starts lighttpd in front of `backend` (`http://127.0.0.1:<port>`) with these Digest users
    /// (name → password) and waits until it answers. User names are letters, digits and `._@-`.
    public init(
        backend: String, users: [String: String], realm: String = "CalDAV", algorithm: Algorithm = .md5
    ) throws {
        guard Self.isInstalled else {
            throw RadicaleError("lighttpd is not installed (apt-get install lighttpd)")
        }
        guard let backendURL = URL(string: backend), let backendHost = backendURL.host,
            let backendPort = backendURL.port
        else { throw RadicaleError("the backend \(backend) is not http://host:port") }
        for user in users.keys where user.isEmpty || !user.allSatisfy({ $0.isASCII && Self.allowed.contains($0) }) {
            throw RadicaleError("the user name '\(user)' has characters the proxy's configuration cannot match")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("lighttpd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("htdocs"), withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        self.realm = realm
        // htdigest: user:realm:H(user:realm:password), H the challenge's algorithm.
        var lines = ""
        for (user, password) in users.sorted(by: { $0.key < $1.key }) {
            lines += "\(user):\(realm):\(try Self.hash("\(user):\(realm):\(password)", with: algorithm))\n"
        }
        try lines.write(to: folder.appendingPathComponent("htdigest"), atomically: true, encoding: .utf8)
        // Each user's conditional block: the regex matches `username="<user>"` in the Authorization
        // header, with every character other than a letter or digit in brackets (`[.]`).
        let blocks = users.keys.sorted().map { user -> String in
            let pattern = user.map { $0.isLetter || $0.isNumber ? String($0) : "[\($0)]" }.joined()
            return """
                $REQUEST_HEADER["Authorization"] =~ "^Digest (.*[ ,])?username=\\"\(pattern)\\"" {
                  setenv.set-request-header = ( "X-Remote-User" => "\(user)" )
                }
                """
        }
        let config = """
            server.document-root = "\(folder.path)/htdocs"
            server.bind = "127.0.0.1"
            server.port = \(port)
            server.modules = ( "mod_auth", "mod_authn_file", "mod_setenv", "mod_proxy", "mod_accesslog" )
            server.errorlog = "\(folder.path)/error.log"
            accesslog.filename = "\(folder.path)/access.log"
            accesslog.format = "%u %>s %m %U %{Content-Length}i"
            auth.backend = "htdigest"
            auth.backend.htdigest.userfile = "\(folder.path)/htdigest"
            auth.require = ( "" => (
              "method" => "digest", "realm" => "\(realm)", "algorithm" => "\(algorithm.rawValue)",
              "require" => "valid-user"
            ) )
            setenv.set-request-header = ( "X-Remote-User" => "" )
            \(blocks.joined(separator: "\n"))
            proxy.server = ( "" => ( ( "host" => "\(backendHost)", "port" => \(backendPort) ) ) )

            """
        try config.write(to: folder.appendingPathComponent("lighttpd.conf"), atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-D", "-f", folder.appendingPathComponent("lighttpd.conf").path]
        let log = folder.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if let status = try? runCurl(["-o", "/dev/null", baseURL + "/"]).status, status > 0 { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let output = ((try? String(contentsOf: log, encoding: .utf8)) ?? "") + errorLog
        stop()
        throw RadicaleError("lighttpd did not start on \(baseURL): \(output)")
    }

    /// One request as lighttpd logged it.
    public struct Request: Sendable, CustomStringConvertible {
        /// The Digest user lighttpd authenticated, or `-` (a challenge, a refused login).
        public var user: String
        public var status: Int
        public var method: String
        public var path: String
        /// The request's `Content-Length`, nil without one.
        public var contentLength: Int?

        public var description: String { "\(method) \(path) \(contentLength ?? 0) bytes -> \(status) as \(user)" }
    }

    /// The access log as written so far: `user status method path content-length` per line.
    /// lighttpd writes it in batches (about once a second); ``requests()`` waits for it.
    public var accessLog: String {
        (try? String(contentsOf: folder.appendingPathComponent("access.log"), encoding: .utf8)) ?? ""
    }

    /// Every request so far, in order. Sends an unauthenticated marker request first and waits
    /// (at most 10 s) until lighttpd has written it, so every earlier request is in the log too;
    /// marker requests are left out.
    public func requests() throws -> [Request] {
        let marker = "/.access-log-marker-\(UUID().uuidString)"
        _ = try runCurl(["-o", "/dev/null", baseURL + marker])
        let deadline = Date().addingTimeInterval(10)
        var log = accessLog
        while !log.contains(marker) {
            guard Date() < deadline else { throw RadicaleError("lighttpd did not log \(marker): \(log)") }
            Thread.sleep(forTimeInterval: 0.1)
            log = accessLog
        }
        return log.split(separator: "\n").compactMap { line -> Request? in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 4, let status = Int(fields[1]), !fields[3].hasPrefix("/.access-log-marker-")
            else { return nil }
            return Request(
                user: fields[0], status: status, method: fields[2], path: fields[3],
                contentLength: fields.count > 4 ? Int(fields[4]) : nil)
        }
    }

    /// The error log (lighttpd logs each refused Digest response here, e.g. `wrong password`).
    public var errorLog: String {
        (try? String(contentsOf: folder.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
    }

    /// The curl arguments that sign in with Digest.
    public static func login(user: String, password: String) -> [String] {
        ["--digest", "-u", "\(user):\(password)"]
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

    /// The lowercase hex digest of `text` by coreutils' `md5sum` / `sha256sum`.
    static func hash(_ text: String, with algorithm: Algorithm) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: algorithm.hashTool)
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let digest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let hex = digest.split(separator: " ").first else {
            throw RadicaleError("\(algorithm.hashTool) failed")
        }
        return String(hex)
    }
}
