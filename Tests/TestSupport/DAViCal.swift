import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A DAViCal CalDAV/CardDAV server (Debian package `davical`: PHP on PostgreSQL) on free loopback
/// ports with a temporary folder: its own PostgreSQL cluster (initdb, trust on loopback), the
/// database made by DAViCal's `create-database.sh`, and PHP's built-in web server in front of
/// DAViCal's `htdocs`. Each user is a principal `/caldav.php/<user>/` with a password (DAViCal's
/// plain `**` form); collections are made with MKCALENDAR and extended MKCOL as a client would.
///
/// DAViCal reads its configuration from `/etc/davical/<SERVER_NAME>-conf.php`. Rather than write
/// there, the router names a server whose relative path leads to this folder's configuration,
/// which sets the real name back for everything DAViCal builds from it (hrefs).
public final class DAViCalServer: DAVCollectionServer, @unchecked Sendable {
    /// `http://127.0.0.1:<port>`.
    public let baseURL: String
    /// The server's folder: the PostgreSQL cluster, the configuration, the logs.
    public let folder: URL
    let databasePort: Int
    var web: Process?

    static let htdocs = "/usr/share/davical/htdocs"
    static let createDatabase = "/usr/share/davical/dba/create-database.sh"

    /// The principal's URL path of `user`.
    public static func principal(_ user: String) -> String { "/caldav.php/\(user)/" }

    /// Starts PostgreSQL and DAViCal with these users (name → password) and waits until it answers.
    public init(users: [String: String]) throws {
        // Under /tmp: the cluster's socket path must stay short.
        folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("davical-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        databasePort = try freeLoopbackPort()
        let port = try freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        do {
            try startDatabase()
            try createDatabase(users: users)
            try startWeb(port: port)
        } catch {
            stop()
            throw error
        }
    }

    /// PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user.
    var asDatabaseOwner: [String] { getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : [] }

    static var postgresBin: String {
        let versions =
            ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap { Int($0) }
        return "/usr/lib/postgresql/\(versions.max() ?? 15)/bin"
    }

    func startDatabase() throws {
        if getuid() == 0 { try run(["/bin/chown", "postgres", folder.path]) }
        let data = folder.appendingPathComponent("pg").path
        try run(
            asDatabaseOwner + [
                Self.postgresBin + "/initdb", "-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8",
                "--locale=C.UTF-8",
            ])
        try run(
            asDatabaseOwner + [
                Self.postgresBin + "/pg_ctl", "-D", data, "-w", "-l", folder.appendingPathComponent("pg.log").path,
                "-o",
                "-p \(databasePort) -k \(folder.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
                "start",
            ])
    }

    func createDatabase(users: [String: String]) throws {
        let environment = [
            "PGHOST": "127.0.0.1", "PGPORT": "\(databasePort)", "PGUSER": "postgres",
            "DBAOPTS": "--dbhost 127.0.0.1 --dbport \(databasePort)",
        ]
        try run(["/bin/sh", Self.createDatabase, "davical", "admin-\(UUID().uuidString.prefix(8))"], environment)
        var sql = ""
        for (user, password) in users.sorted(by: { $0.key < $1.key }) {
            sql += """
                INSERT INTO usr (active, updated, username, password, fullname, email)
                  VALUES (TRUE, current_date, '\(user)', '**\(password)', '\(user)', '\(user)@example.test');
                INSERT INTO principal (type_id, user_no, displayname, default_privileges)
                  SELECT 1, user_no, fullname, 0::BIT(24) FROM usr WHERE username = '\(user)';

                """
        }
        try run(["/usr/bin/psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", "davical", "-c", sql], environment)
        try """
        <?php
        $c->pg_connect[] = 'dbname=davical host=127.0.0.1 port=\(databasePort) user=davical_app';
        $c->domain_name = '127.0.0.1';
        $c->system_name = 'DAViCal under test';
        $c->admin_email = 'admin@example.test';
        // Found through SERVER_NAME (the router's path to this file); the real name from here on.
        $_SERVER['SERVER_NAME'] = '127.0.0.1';

        """.write(to: folder.appendingPathComponent("site-conf.php"), atomically: true, encoding: .utf8)
        // /etc/davical/ + this + "-conf.php" is the file above.
        let name = "../.." + folder.appendingPathComponent("site").path
        try """
        <?php
        $_SERVER['SERVER_NAME'] = '\(name)';
        return false;

        """.write(to: folder.appendingPathComponent("router.php"), atomically: true, encoding: .utf8)
    }

    func startWeb(port: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/php")
        process.arguments = [
            "-S", "127.0.0.1:\(port)", "-t", Self.htdocs, folder.appendingPathComponent("router.php").path,
        ]
        let log = folder.appendingPathComponent("php.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        web = process
        for _ in 0..<100 {
            if let status = try? runCurl(["-o", "/dev/null", baseURL + "/caldav.php/"]).status, status > 0 { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw RadicaleError(
            "DAViCal did not start on \(baseURL): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// Sends a request that makes a collection, signed in as `user`; throws unless it answers 201.
    public func make(_ method: String, _ path: String, user: String, password: String, body: String) throws {
        let result = try runCurl([
            "-X", method, "-u", "\(user):\(password)", "-H", "Content-Type: application/xml; charset=utf-8",
            "--data-binary", body, baseURL + path,
        ])
        guard result.status == 201 else {
            throw RadicaleError("\(method) \(path): HTTP \(result.status) \(result.body)")
        }
    }

    /// Stops the web server and PostgreSQL and removes the folder.
    public func stop() {
        if let web, web.isRunning {
            kill(web.processIdentifier, SIGKILL)
            web.waitUntilExit()
        }
        let data = folder.appendingPathComponent("pg").path
        if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
            try? run(asDatabaseOwner + [Self.postgresBin + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs a command to its end; throws with its output when it fails. Spawned and awaited
    /// directly: Foundation's `waitUntilExit` waits on while a daemon the command started
    /// (PostgreSQL from `pg_ctl start`) lives on.
    func run(_ command: [String], _ environment: [String: String] = [:]) throws {
        let output = folder.appendingPathComponent("setup.log")
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        // In the server's folder (the `postgres` user may not enter the test's working directory).
        let command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", folder.path] + command
        let argv = command.map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw RadicaleError("DAViCal set-up: cannot start \(command[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw RadicaleError(
                "DAViCal set-up: \(command.joined(separator: " ")) ended with status \(status): \(log.suffix(2000))")
        }
    }
}
