import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Radicale CalDAV/CardDAV server (Debian package `radicale`, or `python3 -m radicale`) on a
/// free loopback port, with a temporary storage folder and plain `htpasswd` users (or, behind a
/// reverse proxy, the user the proxy names); stopped and removed by ``stop()``.
public final class RadicaleServer: DAVCollectionServer, @unchecked Sendable {
    /// How Radicale learns who the user is.
    public enum Authentication: Sendable {
        /// Its own `htpasswd` file of the users given to ``init(users:logLevel:authentication:)``
        /// (plain passwords, HTTP Basic).
        case htpasswd
        /// `[auth] type = http_x_remote_user`: the user is the `X-Remote-User` request header,
        /// which a reverse proxy in front sets after its own authentication (see
        /// ``LighttpdDigestProxy``). Radicale then checks no password; `users` are ignored.
        case remoteUserHeader
    }

    /// How this server authenticates.
    public let authentication: Authentication
    /// `http://127.0.0.1:<port>`.
    public let baseURL: String
    /// The server's folder (configuration, users, collections).
    public let folder: URL
    var process: Process
    let command: [String]

    /// The command that runs Radicale here, or nil when it is not installed.
    public static var command: [String]? {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/radicale") { return ["/usr/bin/radicale"] }
        for python in ["/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: python) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: python)
            probe.arguments = ["-c", "import radicale"]
            probe.standardError = FileHandle.nullDevice
            if (try? probe.run()) != nil {
                probe.waitUntilExit()
                if probe.terminationStatus == 0 { return [python, "-m", "radicale"] }
            }
        }
        return nil
    }

    /// Starts Radicale with these users (name → password) and waits until it answers. `logLevel`
    /// `info` logs one line per request (`REPORT request for '/u/c/' …`) to ``log``.
    /// `authentication` ``Authentication/remoteUserHeader`` trusts a proxy's `X-Remote-User`.
    /// With `rightsFile`, rights come from the file ``setRights(_:)`` writes (Radicale reads it on
    /// each request); it starts as owner-only.
    public init(
        users: [String: String], logLevel: String = "warning", authentication: Authentication = .htpasswd,
        rightsFile: Bool = false
    ) throws {
        guard let command = Self.command else {
            throw RadicaleError("Radicale is not installed (apt-get install radicale)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("radicale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        self.authentication = authentication
        try users.map { "\($0.key):\($0.value)\n" }.joined().write(
            to: folder.appendingPathComponent("users"), atomically: true, encoding: .utf8)
        let authSection =
            switch authentication {
            case .htpasswd:
                """
                type = htpasswd
                htpasswd_filename = \(folder.path)/users
                htpasswd_encryption = plain
                delay = 0
                """
            case .remoteUserHeader: "type = http_x_remote_user\ndelay = 0"
            }
        let config = """
            [server]
            hosts = 127.0.0.1:\(port)
            [auth]
            \(authSection)
            [storage]
            filesystem_folder = \(folder.path)/collections
            [rights]
            \(rightsFile ? "type = from_file\nfile = \(folder.path)/rights" : "type = owner_only")
            [web]
            type = none
            [logging]
            level = \(logLevel)
            """
        try config.write(to: folder.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        if rightsFile {
            try Self.ownerOnly.write(to: folder.appendingPathComponent("rights"), atomically: true, encoding: .utf8)
        }
        self.command = command
        process = Process()
        try launch()
    }

    /// Starts the server process on ``baseURL`` with the folder's configuration and waits until it
    /// answers.
    func launch() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + ["--config", folder.appendingPathComponent("config").path]
        let log = folder.appendingPathComponent("log")
        if !FileManager.default.fileExists(atPath: log.path) {
            FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        for _ in 0..<100 {
            if let status = try? runCurl(["-o", "/dev/null", baseURL + "/"]).status, status > 0 { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw RadicaleError("Radicale did not start on \(baseURL): \(output)")
    }

    /// Radicale's `from_file` rights: each user may read and write below their own principal.
    public static let ownerOnly = """
        [owner]
        user: .+
        collection: {user}(/.*)?
        permissions: RrWw
        [root]
        user: .+
        collection:
        permissions: R
        """

    /// Each user may read, but not write, below their own principal.
    public static let readOnly = """
        [owner]
        user: .+
        collection: {user}(/.*)?
        permissions: Rr
        [root]
        user: .+
        collection:
        permissions: R
        """

    /// Writes the rights file of a server started with `rightsFile` (in effect from the next request).
    public func setRights(_ text: String) throws {
        try text.write(to: folder.appendingPathComponent("rights"), atomically: true, encoding: .utf8)
    }

    /// Kills the server as a crash or a restart would (SIGKILL), keeping its folder.
    public func crash() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Starts the server again on the same port with the same collections.
    public func restart() throws {
        crash()
        try launch()
    }

    /// What the server logged so far.
    public var log: String {
        (try? String(contentsOf: folder.appendingPathComponent("log"), encoding: .utf8)) ?? ""
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

    /// The curl arguments that sign in as `user`: Basic with the password, or (behind a proxy)
    /// the `X-Remote-User` header the proxy would set.
    public func login(user: String, password: String) -> [String] {
        switch authentication {
        case .htpasswd: ["-u", "\(user):\(password)"]
        case .remoteUserHeader: ["-H", "X-Remote-User: \(user)"]
        }
    }

    /// Sends a request that makes a collection, signed in as `user`; throws unless it answers 201.
    public func make(_ method: String, _ path: String, user: String, password: String, body: String) throws {
        let result = try runCurl(
            ["-X", method] + login(user: user, password: password) + [
                "-H", "Content-Type: application/xml; charset=utf-8", "--data-binary", body, baseURL + path,
            ])
        guard result.status == 201 else {
            throw RadicaleError("\(method) \(path): HTTP \(result.status) \(result.body)")
        }
    }
}

/// Radicale could not be started or set up.
public struct RadicaleError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A TCP port on 127.0.0.1 nothing listens on now (bound to port 0 and released).
public func freeLoopbackPort() throws -> Int {
    #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw RadicaleError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw RadicaleError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw RadicaleError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A CalDAV/CardDAV server under test on which a client makes collections.
public protocol DAVCollectionServer {
    /// Sends a request that makes a collection; throws unless it answers 201.
    func make(_ method: String, _ path: String, user: String, password: String, body: String) throws
}

extension DAVCollectionServer {
    /// Creates a calendar for these components (MKCALENDAR, RFC 4791) at `path`.
    public func makeCalendar(_ path: String, user: String, password: String, components: [String]) throws {
        try make(
            "MKCALENDAR", path, user: user, password: password,
            body: DAVBodies.mkcalendar(name: path, components: components))
    }

    /// Creates an address book (extended MKCOL, RFC 5689) at `path`.
    public func makeAddressBook(_ path: String, user: String, password: String) throws {
        try make("MKCOL", path, user: user, password: password, body: DAVBodies.addressBook(name: path))
    }
}

/// Request bodies that make collections, as a CalDAV/CardDAV client sends them.
public enum DAVBodies {
    /// MKCALENDAR (RFC 4791) for a calendar of these components (`VEVENT`, `VTODO`).
    public static func mkcalendar(name: String, components: [String]) -> String {
        let comps = components.map { "<C:comp name=\"\($0)\"/>" }.joined()
        return
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
            + "<D:set><D:prop><D:displayname>\(name)</D:displayname><C:supported-calendar-component-set>\(comps)"
            + "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
    }

    /// Extended MKCOL (RFC 5689) for an address book.
    public static func addressBook(name: String) -> String {
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:mkcol xmlns:D=\"DAV:\" xmlns:CR=\"urn:ietf:params:xml:ns:carddav\">"
            + "<D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>"
            + "<D:displayname>\(name)</D:displayname></D:prop></D:set></D:mkcol>"
    }
}
