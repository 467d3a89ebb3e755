import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import Logging
import ODBC
import TestSupport
import Testing

/// The real server behind an end-to-end test.
enum DAVTestServerKind: Sendable, CustomStringConvertible {
    /// Radicale: `mm` with a calendar, a task list and an address book; a second user `mirror`.
    case radicale
    /// Xandikos: `mm` alone, with one calendar for events and tasks and one address book.
    case xandikos
    /// DAViCal (PHP on PostgreSQL): `mm` and `mirror` as on Radicale, below `/caldav.php/`.
    case davical

    var description: String {
        switch self {
        case .radicale: "Radicale"
        case .xandikos: "Xandikos"
        case .davical: "DAViCal"
        }
    }
}

/// FlowFact on a real driver (SQLite, PostgreSQL) through ODBC ↔ the `caldav` adapter ↔ Radicale
/// or Xandikos, wired by YAML and run by the host: user `mm` with a calendar, a task list and an
/// address book, and (Radicale) `mirror`, a second user that FlowFact's calendar is copied to one
/// way. With a ``DAVProxy`` in front, the adapter reaches the server through it.
final class CalDAVEndToEnd: @unchecked Sendable {
    static let password = "Kennwort-ä1"
    static let mirrorPassword = "Spiegel-2"
    static let syncMerkmal = FlowFactSeeder.fixedID("mkm", 0)
    static let termin = FlowFactSeeder.fixedID("type", 0)
    static let aufgabe = FlowFactSeeder.fixedID("type", 1)
    static let userMM = FlowFactSeeder.fixedID("user", 0)

    let directory: URL
    let db: ODBCConnection
    let connection: String
    let server: DAVTestServerKind
    let radicale: RadicaleServer!
    let xandikos: XandikosServer?
    let davical: DAViCalServer?
    /// The server's own URL; the adapter's is ``adapterURL``.
    let serverURL: String
    let proxy: DAVProxy?
    var adapterURL: String { proxy?.baseURL ?? serverURL }
    let zone = TimeZone(identifier: "Europe/Berlin")!
    var connectors = ""
    var adapterSettings = ""

    init(
        database: TestDatabase = .sqlite,
        counts: FlowFactSeeder.Counts = FlowFactSeeder.Counts(
            users: 1, addresses: 0, appointments: 4, tasks: 3, mails: 0),
        server: DAVTestServerKind = .radicale, proxy: DAVProxy.Behaviour? = nil, rightsFile: Bool = false
    ) throws {
        self.server = server
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caldav-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        connection = try database.freshConnectionString()
        db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        try seeder.seed(counts)
        if server == .davical {
            radicale = nil
            xandikos = nil
            let davical = try DAViCalServer(users: ["mm": Self.password, "mirror": Self.mirrorPassword])
            self.davical = davical
            serverURL = davical.baseURL
            do {
                for (user, password) in [("mm", Self.password), ("mirror", Self.mirrorPassword)] {
                    let home = DAViCalServer.principal(user)
                    try davical.makeCalendar(home + "calendar/", user: user, password: password, components: ["VEVENT"])
                    try davical.makeCalendar(home + "tasks/", user: user, password: password, components: ["VTODO"])
                    try davical.makeAddressBook(home + "contacts/", user: user, password: password)
                }
            } catch {
                davical.stop()
                throw error
            }
        } else if server == .xandikos {
            radicale = nil
            davical = nil
            let xandikos = try XandikosServer(user: "mm")
            self.xandikos = xandikos
            serverURL = xandikos.baseURL
            // Xandikos has one principal: the second user's calendar is a second calendar there.
            let made = try runCurl(["-X", "MKCALENDAR", serverURL + "/mm/calendars/mirror/"])
            guard made.status == 201 else {
                xandikos.stop()
                throw RadicaleError("MKCALENDAR on Xandikos: HTTP \(made.status)")
            }
        } else {
            xandikos = nil
            davical = nil
            radicale = try RadicaleServer(
                users: ["mm": Self.password, "mirror": Self.mirrorPassword], logLevel: "info", rightsFile: rightsFile)
            serverURL = radicale.baseURL
            do {
                for (user, password) in [("mm", Self.password), ("mirror", Self.mirrorPassword)] {
                    try radicale.makeCalendar(
                        "/\(user)/calendar/", user: user, password: password, components: ["VEVENT"])
                    try radicale.makeCalendar("/\(user)/tasks/", user: user, password: password, components: ["VTODO"])
                    try radicale.makeAddressBook("/\(user)/contacts/", user: user, password: password)
                }
            } catch {
                radicale.stop()
                throw error
            }
        }
        do {
            let upstream = serverURL
            self.proxy = try proxy.map { try DAVProxy(upstream: upstream, behaviour: $0) }
        } catch {
            radicale?.stop()
            xandikos?.stop()
            davical?.stop()
            throw error
        }
    }

    deinit {
        proxy?.stop()
        radicale?.stop()
        xandikos?.stop()
        davical?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The second user's account URL: a principal on Radicale, a calendar beside mm's on Xandikos.
    var mirrorURL: String {
        server == .xandikos ? serverURL + "/mm/calendars/mirror/" : serverURL + principal("mirror")
    }

    /// A user's principal path: `/mm/`, or `/caldav.php/mm/` on DAViCal.
    func principal(_ user: String) -> String {
        server == .davical ? DAViCalServer.principal(user) : "/\(user)/"
    }

    /// A collection's path on the server: `calendar`, `tasks` or `contacts` of `user`. Xandikos
    /// keeps events and tasks in one calendar, and the second user's calendar beside mm's.
    func path(_ collection: String, user: String = "mm") -> String {
        guard server == .xandikos else { return principal(user) + "\(collection)/" }
        if user == "mirror" { return "/mm/calendars/mirror/" }
        return collection == "contacts" ? "/\(user)/contacts/addressbook/" : "/\(user)/calendars/calendar/"
    }

    var yaml: String {
        """
        state: { path: \(directory.path)/state.sqlite }
        engine: { retry_backoff: 1ms }
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)" }
          groupware:
            type: caldav
            timezone: Europe/Berlin
        \(adapterSettings.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
          mirror: { type: caldav }
        users:
          - id: MM
            flowfact: MM
            groupware: { url: "\(adapterURL)\(principal("mm"))", username: mm, password: "${MM_PASSWORD}" }
            mirror: { url: "\(mirrorURL)", username: mirror, password: "${MIRROR_PASSWORD}" }
        connectors:
        \(connectors)
        """
    }

    func sync() async throws -> [RunReport] {
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all),
            environment: ["MM_PASSWORD": Self.password, "MIRROR_PASSWORD": Self.mirrorPassword]
        ).load(yaml: yaml, file: "caldav.yaml", baseDirectory: directory)
        var logger = Logger(label: "caldav-e2e")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce()
        await host.shutdown()
        return reports
    }

    static func describe(_ reports: [RunReport]) -> String {
        reports.map { "\($0.job) \($0.status) \($0.counts) \($0.message ?? "") \($0.failures)" }.joined(
            separator: "\n")
    }

    // MARK: FlowFact, as its users change it

    func count(_ sql: String, _ parameters: [ODBCValue] = []) throws -> Int {
        Int(try db.rows(sql, parameters).first?[0].integer ?? -1)
    }

    func text(_ sql: String, _ parameters: [ODBCValue] = []) throws -> String? {
        try db.rows(sql, parameters).first?[0].string
    }

    func stamp(_ date: Date) -> ODBCValue { .timestamp(ODBCTimestamp(date, in: zone)) }

    func insert(_ table: String, _ columns: [String: ODBCValue]) throws {
        let keys = columns.keys.sorted()
        try db.execute(
            "INSERT INTO \"\(table)\" (\(keys.map { "\"\($0)\"" }.joined(separator: ", "))) VALUES (\(keys.map { _ in "?" }.joined(separator: ", ")))",
            keys.map { columns[$0]! })
    }

    /// An address with the sync Merkmal, as FlowFact's client would insert it.
    @discardableResult
    func insertAddress(given: String, family: String, email: String? = nil, notes: String? = nil) throws -> String {
        let id = UUID().uuidString
        let at = stamp(Date())
        var columns: [String: ODBCValue] = [
            "ID": .text(id), "VORNAME": .text(given), "NAME": .text(family), "ERFDATUM": at, "AENDDATUM": at,
            "ARCHIVIERT": .integer(0),
        ]
        if let email { columns["EMAIL"] = .text(email) }
        if let notes { columns["NOTIZ"] = .text(notes) }
        try insert("AD", columns)
        try insert(
            "ADMKM", ["AD_ID": .text(id), "MKM_ID": .text(Self.syncMerkmal), "AKTIV": .integer(1), "ERFDATUM": at])
        return id
    }

    /// Deletes a record as FlowFact's client does: the row, its Merkmal links, a DELLOG line.
    func deleteInFlowFact(_ table: String, id: String) throws {
        if table == "AD" { try db.execute("DELETE FROM \"ADMKM\" WHERE \"AD_ID\" = ?", [.text(id)]) }
        if table == "AKT" { try db.execute("DELETE FROM \"AKTMKM\" WHERE \"AKT_ID\" = ?", [.text(id)]) }
        try db.execute("DELETE FROM \"\(table)\" WHERE \"ID\" = ?", [.text(id)])
        try db.execute(
            "INSERT INTO \"DELLOG\" (\"TABELLE\", \"DATENSATZ_ID\", \"GELOESCHT_AM\") VALUES (?, ?, ?)",
            [.text(table), .text(id), stamp(Date())])
    }

    /// The FlowFact record id behind a server item: the end of its sync key (`…:s:<id>`) for a
    /// record that came from FlowFact, else the key's line in CONNECTOR_SYNCKEY.
    func flowFactID(ofItem path: String) throws -> String? {
        let item = try get(path).text
        guard
            let line = item.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("X-CONNECTOR-SYNCKEY:") })
        else { return nil }
        let key = String(line.dropFirst("X-CONNECTOR-SYNCKEY:".count))
        if let range = key.range(of: ":s:") { return String(key[range.upperBound...]) }
        return try self.text("SELECT \"DATENSATZ_ID\" FROM \"CONNECTOR_SYNCKEY\" WHERE \"SYNC_KEY\" = ?", [.text(key)])
    }

    // MARK: Radicale, as another client would use it

    func credentials(_ user: String) -> String {
        "\(user):\(user == "mirror" ? Self.mirrorPassword : Self.password)"
    }

    /// The item paths of a collection (PROPFIND depth 1 with curl); in Xandikos's shared calendar,
    /// those holding the collection's component.
    func members(_ collection: String, user: String = "mm") throws -> [String] {
        let all = try listing(collection, user: user)
        guard server == .xandikos, collection != "contacts" else { return all }
        let component = collection == "tasks" ? "BEGIN:VTODO" : "BEGIN:VEVENT"
        return try all.filter { try get($0, user: user).text.contains(component) }
    }

    func listing(_ collection: String, user: String) throws -> [String] {
        let result = try runCurl([
            "-X", "PROPFIND", "-u", credentials(user), "-H", "Depth: 1", "-H", "Content-Type: application/xml",
            "--data-binary", "<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><prop><getetag/></prop></propfind>",
            serverURL + path(collection, user: user),
        ])
        guard result.status == 207 else { throw RadicaleError("PROPFIND \(collection): \(result.status)") }
        let pattern = try NSRegularExpression(pattern: "<[A-Za-z0-9]*:?href>([^<]+)</")
        let body = result.body as NSString
        return pattern.matches(in: result.body, range: NSRange(location: 0, length: body.length)).compactMap {
            let href = body.substring(with: $0.range(at: 1))
            return href.hasSuffix("/") ? nil : href.removingPercentEncoding ?? href
        }.sorted()
    }

    /// An item's text (unfolded) and ETag.
    func get(_ path: String, user: String = "mm") throws -> (text: String, etag: String) {
        let result = try runCurl(["-u", credentials(user), serverURL + path])
        guard result.status == 200 else { throw RadicaleError("GET \(path): \(result.status)") }
        let etag =
            result.headers.split(separator: "\n").first { $0.lowercased().hasPrefix("etag:") }
            .map { String($0.dropFirst(5)).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        return (Self.unfold(result.body), etag)
    }

    /// PUTs an item as another client would (`If-Match` when given).
    @discardableResult
    func put(_ path: String, _ text: String, user: String = "mm", ifMatch: String? = nil) throws -> Int {
        let type = path.hasSuffix(".vcf") ? "text/vcard" : "text/calendar"
        var arguments = [
            "-X", "PUT", "-u", credentials(user), "-H", "Content-Type: \(type); charset=utf-8", "--data-binary",
            text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n"),
        ]
        if let ifMatch { arguments += ["-H", "If-Match: \(ifMatch)"] }
        return try runCurl(arguments + [serverURL + path]).status
    }

    func delete(_ path: String, user: String = "mm") throws -> Int {
        try runCurl(["-X", "DELETE", "-u", credentials(user), serverURL + path]).status
    }

    /// Changes an item on the server with a line edit (`NAME:` or `NAME;…:` lines replaced).
    func edit(_ path: String, _ replacements: [String: String]) throws {
        let (text, etag) = try get(path)
        let lines = text.components(separatedBy: "\r\n").map { line -> String in
            for (name, value) in replacements
            where line.hasPrefix(name + ":") || line.hasPrefix(name + ";") {
                return name + ":" + value
            }
            return line
        }
        let status = try put(path, lines.joined(separator: "\r\n"), ifMatch: etag)
        guard status == 201 || status == 204 || status == 200 else { throw RadicaleError("PUT \(path): \(status)") }
    }

    static func unfold(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n ", with: "")
            .replacingOccurrences(of: "\n\t", with: "").replacingOccurrences(of: "\n", with: "\r\n")
    }

    /// The requests Radicale logged so far, by method.
    func requests() -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in radicale.log.split(separator: "\n") {
            guard let range = line.range(of: " request for ") else { continue }
            let method = line[..<range.lowerBound].split(separator: " ").last.map(String.init) ?? "?"
            counts[method, default: 0] += 1
        }
        return counts
    }
}

extension Array where Element == RunReport {
    func of(_ connector: String) -> RunReport? { first { $0.job.connector == connector } }
}

/// SQLite and PostgreSQL (the SQL Server dialect is left to the FlowFact tests).
let endToEndDatabases: [TestDatabase] = [.sqlite, .postgres]
/// The three servers.
let endToEndServers: [DAVTestServerKind] = [.radicale, .xandikos, .davical]

@Suite("End to end: FlowFact (ODBC) ↔ caldav ↔ Radicale, Xandikos and DAViCal", .serialized)
struct CalDAVEndToEndTests {
    static let contacts =
        "  - { name: contacts, kind: address, source: flowfact, target: groupware, filter: { merkmale: [Outlook-Sync] } }"

    @Test(
        "contacts, calendar and tasks both ways: created on the server, edited there back into FlowFact, deleted in FlowFact gone from the server",
        arguments: endToEndDatabases, endToEndServers)
    func eachKindBothWays(_ database: TestDatabase, _ server: DAVTestServerKind) async throws {
        let e = try CalDAVEndToEnd(database: database, server: server)
        e.connectors = """
            \(Self.contacts)
              - { name: calendar, kind: calendar, source: flowfact, target: groupware }
              - { name: tasks, kind: task, source: flowfact, target: groupware }
            """
        let ids = try (0..<3).map {
            try e.insertAddress(given: "Person\($0)", family: "Müller", email: "p\($0)@example.test")
        }
        let umlauts = try e.insertAddress(
            given: "Zoë", family: "Weiß-Öztürk 🏠", email: "zoe@example.test", notes: "Grüße aus Köln 👋\nZeile 2")
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(first))")
        #expect(first.of("contacts")?.counts["source→target create"] == 4, "\(CalDAVEndToEnd.describe(first))")
        let events = try #require(first.of("calendar")?.counts["source→target create"])
        let tasks = try #require(first.of("tasks")?.counts["source→target create"])
        #expect(events >= 1 && tasks >= 1)
        #expect(try e.members("contacts").count == 4)
        #expect(try e.members("calendar").count == events)
        #expect(try e.members("tasks").count == tasks)
        // Umlauts and emoji arrive as written.
        let cards = try e.members("contacts").map { try e.get($0).text }
        let card = try #require(cards.first { $0.contains("Weiß-Öztürk 🏠") }, "\(cards)")
        #expect(card.contains("Zoë"))
        #expect(card.contains("Grüße aus Köln 👋"), "\(card)")
        // The run's own writes are not read back as changes.
        let second = try await e.sync()
        #expect(second.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(second))")

        // On the server: a contact renamed, an appointment and a task retitled.
        let contactPath = try #require(try e.members("contacts").first { try e.flowFactID(ofItem: $0) == ids[0] })
        try e.edit(contactPath, ["N": "Größmann 😀;Jürgen;;;", "FN": "Jürgen Größmann 😀"])
        let eventPath = try #require(try e.members("calendar").first)
        try e.edit(eventPath, ["SUMMARY": "Besichtigung Südhang 🏡"])
        let taskPath = try #require(try e.members("tasks").first)
        try e.edit(taskPath, ["SUMMARY": "Exposé prüfen ✅"])
        let third = try await e.sync()
        #expect(third.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(third))")
        for connector in ["contacts", "calendar", "tasks"] {
            #expect(
                third.of(connector)?.counts["target→source update"] == 1,
                "\(connector): \(CalDAVEndToEnd.describe(third))")
        }
        #expect(
            try e.text("SELECT \"NAME\" FROM \"AD\" WHERE \"ID\" = ?", [.text(ids[0])]) == "Größmann 😀")
        #expect(try e.text("SELECT \"VORNAME\" FROM \"AD\" WHERE \"ID\" = ?", [.text(ids[0])]) == "Jürgen")
        let eventID = try #require(try e.flowFactID(ofItem: eventPath))
        let taskID = try #require(try e.flowFactID(ofItem: taskPath))
        #expect(
            try e.text("SELECT \"BETREFF\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(eventID)]) == "Besichtigung Südhang 🏡"
        )
        #expect(try e.text("SELECT \"BETREFF\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(taskID)]) == "Exposé prüfen ✅")
        let fourth = try await e.sync()
        #expect(fourth.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(fourth))")

        // In FlowFact: the umlaut contact, the appointment and the task deleted.
        let umlautPath = try #require(try e.members("contacts").first { try e.flowFactID(ofItem: $0) == umlauts })
        try e.deleteInFlowFact("AD", id: umlauts)
        try e.deleteInFlowFact("AKT", id: eventID)
        try e.deleteInFlowFact("AKT", id: taskID)
        let fifth = try await e.sync()
        #expect(fifth.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(fifth))")
        for connector in ["contacts", "calendar", "tasks"] {
            #expect(
                fifth.of(connector)?.counts["source→target delete"] == 1,
                "\(connector): \(CalDAVEndToEnd.describe(fifth))")
        }
        #expect(try !e.members("contacts").contains(umlautPath))
        #expect(try !e.members("calendar").contains(eventPath))
        #expect(try !e.members("tasks").contains(taskPath))
        #expect(try e.members("contacts").count == 3)
        #expect(try e.members("calendar").count == events - 1)
        #expect(try e.members("tasks").count == tasks - 1)
        let sixth = try await e.sync()
        #expect(sixth.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(sixth))")
    }

    @Test(
        "a contact changed on both sides is a conflict the policy settles (source wins), reported; the server's other fields stay",
        arguments: endToEndDatabases, endToEndServers)
    func conflict(_ database: TestDatabase, _ server: DAVTestServerKind) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0), server: server)
        e.connectors =
            "  - { name: contacts, kind: address, source: flowfact, target: groupware, filter: { merkmale: [Outlook-Sync] }, conflict: source-wins }"
        let id = try e.insertAddress(given: "Karl", family: "Bäcker", email: "karl@example.test")
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(first))")
        let path = try #require(try e.members("contacts").first)
        // The server: another name and a property the adapter does not map.
        let (text, etag) = try e.get(path)
        let changed = text.replacingOccurrences(of: "\r\nEND:VCARD", with: "\r\nX-OTHER-CLIENT:bleibt\r\nEND:VCARD")
            .components(separatedBy: "\r\n").map {
                $0.hasPrefix("N:") || $0.hasPrefix("N;") ? "N:Server-Name;Karl;;;" : $0
            }
            .joined(separator: "\r\n")
        let status = try e.put(path, changed, ifMatch: etag)
        #expect(status == 201 || status == 204 || status == 200)
        // FlowFact: the same field, later.
        try e.db.execute(
            "UPDATE \"AD\" SET \"NAME\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [.text("CRM-Name"), e.stamp(Date().addingTimeInterval(5)), .text(id)])
        let reports = try await e.sync()
        let report = try #require(reports.of("contacts"))
        #expect(report.status == .ok, "\(CalDAVEndToEnd.describe(reports))")
        #expect(report.counts["conflicts"] == 1, "\(report.counts)")
        let after = try e.get(path).text
        #expect(after.contains("N:CRM-Name;Karl") || after.contains("CRM-Name;Karl;"), "\(after)")
        #expect(after.contains("X-OTHER-CLIENT:bleibt"), "\(after)")
        #expect(try e.text("SELECT \"NAME\" FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]) == "CRM-Name")
        let quiet = try await e.sync()
        #expect(quiet.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(quiet))")
    }

    static let berlin = """
        BEGIN:VTIMEZONE
        TZID:Europe/Berlin
        BEGIN:DAYLIGHT
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0200
        TZNAME:CEST
        DTSTART:19700329T020000
        RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
        END:DAYLIGHT
        BEGIN:STANDARD
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        TZNAME:CET
        DTSTART:19701025T030000
        RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
        END:STANDARD
        END:VTIMEZONE
        """

    /// A weekly series on Mondays 10:00 Berlin from 16 March 2026 (CET) across the change to CEST
    /// on 29 March: 30 March moved to Tuesday 14:00, 6 April deleted.
    static let series = """
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//Other Client//DE
        \(berlin)
        BEGIN:VEVENT
        UID:serie-dst-2026@example.test
        DTSTAMP:20260301T120000Z
        DTSTART;TZID=Europe/Berlin:20260316T100000
        DTEND;TZID=Europe/Berlin:20260316T110000
        RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6
        EXDATE;TZID=Europe/Berlin:20260406T100000
        SUMMARY:Jour fixe über die Zeitumstellung
        LOCATION:Büro Köln
        END:VEVENT
        BEGIN:VEVENT
        UID:serie-dst-2026@example.test
        DTSTAMP:20260301T120000Z
        RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000
        DTSTART;TZID=Europe/Berlin:20260331T140000
        DTEND;TZID=Europe/Berlin:20260331T150000
        SUMMARY:Jour fixe (verschoben)
        LOCATION:Büro Köln
        END:VEVENT
        END:VCALENDAR
        """

    /// The UTC instant of a local Berlin time `yyyyMMdd'T'HHmmss`, as iCalendar writes it.
    static func utc(_ local: String) -> String {
        let parse = DateFormatter()
        parse.locale = Locale(identifier: "en_US_POSIX")
        parse.timeZone = TimeZone(identifier: "Europe/Berlin")
        parse.dateFormat = "yyyyMMdd'T'HHmmss"
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return format.string(from: parse.date(from: local)!)
    }

    /// Whether `text` holds property `name` at Berlin local time `local` (with a TZID, or in UTC).
    static func has(_ text: String, _ name: String, at local: String) -> Bool {
        text.components(separatedBy: "\r\n").contains { line in
            guard line.hasPrefix(name + ":") || line.hasPrefix(name + ";") else { return false }
            return (line.contains("TZID=Europe/Berlin") && line.contains(local)) || line.contains(utc(local))
        }
    }

    @Test(
        "a weekly series across the DST change with a moved and a deleted occurrence, written by another client, reaches FlowFact and a second user's calendar unchanged",
        arguments: endToEndDatabases, endToEndServers)
    func seriesAcrossDST(_ database: TestDatabase, _ server: DAVTestServerKind) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0), server: server)
        e.connectors = """
              - { name: calendar, kind: calendar, source: flowfact, target: groupware }
              - { name: copy, kind: calendar, source: flowfact, target: mirror, direction: source-to-target }
            """
        #expect(try e.put(e.path("calendar") + "serie.ics", Self.series) == 201)
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(first))")
        #expect(first.of("calendar")?.counts["target→source create"] == 1, "\(CalDAVEndToEnd.describe(first))")
        // In FlowFact: one appointment with the series, its exception and its deletion.
        let rows = try e.db.rows(
            "SELECT \"ID\", \"BETREFF\", \"PERIODE\", \"DATUM\" FROM \"AKT\" WHERE \"AKTART_ID\" = ?",
            [.text(CalDAVEndToEnd.termin)])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row[1].string == "Jour fixe über die Zeitumstellung")
        let periode = try #require(row[2].string)
        let recurrence = try JSONDecoder().decode(Recurrence.self, from: Data(periode.utf8))
        #expect(recurrence.deletedOccurrences.count == 1, "\(periode)")
        #expect(recurrence.modifiedOccurrences.count == 1, "\(periode)")
        let second = try await e.sync()
        #expect(second.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(second))")
        let copies = try e.members("calendar", user: "mirror")
        #expect(copies.count == 1)
        let copy = try e.get(try #require(copies.first), user: "mirror").text
        print("caldav e2e: the series as the mirror user's calendar holds it:\n\(copy)")
        #expect(Self.has(copy, "DTSTART", at: "20260316T100000"), "\(copy)")
        #expect(Self.has(copy, "EXDATE", at: "20260406T100000"), "\(copy)")
        #expect(Self.has(copy, "RECURRENCE-ID", at: "20260330T100000"), "\(copy)")
        #expect(Self.has(copy, "DTSTART", at: "20260331T140000"), "\(copy)")
        #expect(copy.contains("RRULE:FREQ=WEEKLY"), "\(copy)")
        #expect(copy.contains("COUNT=6") || copy.contains("UNTIL=2026042"), "\(copy)")
        #expect(copy.contains("SUMMARY:Jour fixe (verschoben)"), "\(copy)")
        #expect(copy.contains("LOCATION:Büro Köln"), "\(copy)")
        // A time zone that keeps 10:00 local after the change: TZID, not a fixed UTC offset.
        #expect(copy.contains("TZID=Europe/Berlin") || copy.contains("TZID:Europe/Berlin"), "\(copy)")
        // The original on mm's calendar was not rewritten, and all is quiet.
        let original = try e.get(e.path("calendar") + "serie.ics").text
        #expect(Self.has(original, "EXDATE", at: "20260406T100000"))
        #expect(original.contains("PRODID:-//Other Client//DE"), "\(original)")
        let third = try await e.sync()
        #expect(third.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(third))")
    }

    @Test(
        "an all-day event over three days with umlauts and emoji goes from the server to FlowFact and to a second user as DATE values",
        arguments: endToEndDatabases, endToEndServers)
    func allDayMultiDay(_ database: TestDatabase, _ server: DAVTestServerKind) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0), server: server)
        e.connectors = """
              - { name: calendar, kind: calendar, source: flowfact, target: groupware }
              - { name: copy, kind: calendar, source: flowfact, target: mirror, direction: source-to-target }
            """
        // Next year: FlowFact's calendar is read from today on.
        let year = Calendar(identifier: .gregorian).component(.year, from: Date()) + 1
        let event = """
            BEGIN:VCALENDAR
            VERSION:2.0
            PRODID:-//Other Client//DE
            BEGIN:VEVENT
            UID:ganztags-2026@example.test
            DTSTAMP:20260301T120000Z
            DTSTART;VALUE=DATE:\(year)0501
            DTEND;VALUE=DATE:\(year)0504
            SUMMARY:Übergabe Müllerstraße 🗝️
            LOCATION:Straße des 17. Juni, Köln
            DESCRIPTION:Schlüssel für Frau Öztürk 😀
            END:VEVENT
            END:VCALENDAR
            """
        #expect(try e.put(e.path("calendar") + "ganztags.ics", event) == 201)
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(first))")
        let rows = try e.db.rows(
            "SELECT \"BETREFF\", \"GANZTAEGIG\", \"DATUM\", \"ENDE\", \"TEXT\" FROM \"AKT\" WHERE \"AKTART_ID\" = ?",
            [.text(CalDAVEndToEnd.termin)])
        let row = try #require(rows.first)
        #expect(rows.count == 1)
        #expect(row[0].string == "Übergabe Müllerstraße 🗝️")
        #expect(row[1].integer == 1)
        #expect(row[4].string?.contains("Frau Öztürk 😀") == true, "\(row[4])")
        print("caldav e2e: the all-day event in FlowFact: DATUM \(row[2]) ENDE \(row[3])")
        _ = try await e.sync()
        let copy = try e.get(try #require(try e.members("calendar", user: "mirror").first), user: "mirror").text
        #expect(copy.contains("DTSTART;VALUE=DATE:\(year)0501"), "\(copy)")
        #expect(copy.contains("DTEND;VALUE=DATE:\(year)0504"), "\(copy)")
        #expect(copy.contains("SUMMARY:Übergabe Müllerstraße 🗝️"), "\(copy)")
        #expect(try await e.sync().allSatisfy { $0.status == .ok && $0.counts.isEmpty })
    }

    @Test(
        "1,000 contacts go from FlowFact to Radicale in one run (timed); a second run writes nothing and costs one REPORT",
        arguments: endToEndDatabases)
    func thousandContacts(_ database: TestDatabase) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(
                users: 1, addresses: 1000, appointments: 0, tasks: 0, mails: 0, syncShare: 1))
        e.connectors = "  - { name: contacts, kind: address, source: flowfact, target: groupware }"
        let total = try e.count("SELECT COUNT(*) FROM \"AD\"")
        let clock = ContinuousClock()
        let start = clock.now
        let first = try await e.sync()
        let elapsed = clock.now - start
        print("caldav e2e: \(total) contacts FlowFact (\(database)) → Radicale in \(elapsed)")
        #expect(first.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(first))")
        let created = try #require(first.of("contacts")?.counts["source→target create"])
        #expect(created >= 1000)
        #expect(try e.members("contacts").count == created)
        let before = e.requests()
        let second = try await e.sync()
        let after = e.requests()
        #expect(second.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(second))")
        let delta = after.merging(before) { $0 - $1 }.filter { $0.value != 0 }
        print("caldav e2e: requests of the quiet run: \(delta)")
        #expect(delta == ["REPORT": 1], "\(delta)")
    }
}

/// Writes that meet another client, and a server that goes away in the middle of a run.
@Suite("End to end: caldav races and a server restart", .serialized)
struct CalDAVRaceAndRestartTests {
    static let contacts =
        "  - { name: contacts, kind: address, source: flowfact, target: groupware, filter: { merkmale: [Outlook-Sync] }, conflict: report }"

    /// The last path segment of an item (its name in the collection).
    static func name(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }

    /// Another client's version of a contact: a new family name and a note.
    static func otherClientsVersion(of text: String) -> String {
        text.components(separatedBy: "\r\n").map {
            $0.hasPrefix("N:") || $0.hasPrefix("N;") ? "N:Vom-Handy;Karl;;;" : $0
        }.joined(separator: "\r\n").replacingOccurrences(
            of: "\r\nEND:VCARD", with: "\r\nNOTE:unterwegs geändert\r\nEND:VCARD")
    }

    /// Karl Bäcker (and another contact when given) synced through the proxy to Radicale, with
    /// another client's version of Karl waiting to be written just before the next PUT or DELETE of it.
    static func syncedContact(
        _ database: TestDatabase, _ server: DAVTestServerKind, beside other: (String, String)? = nil
    ) async throws -> (CalDAVEndToEnd, id: String, path: String) {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0), server: server,
            proxy: .plain)
        e.connectors = Self.contacts
        let id = try e.insertAddress(given: "Karl", family: "Bäcker", email: "karl@example.test")
        if let other { try e.insertAddress(given: other.0, family: other.1) }
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(first))")
        let path = try #require(try e.members("contacts").first { try e.flowFactID(ofItem: $0) == id })
        try e.proxy!.race(item: Self.name(path), with: Self.otherClientsVersion(of: try e.get(path).text))
        return (e, id, path)
    }

    @Test(
        "another client changes a contact just before FlowFact's edit reaches the server: a conflict, reported; neither version is lost",
        arguments: endToEndDatabases, endToEndServers)
    func updateRace(_ database: TestDatabase, _ server: DAVTestServerKind) async throws {
        let (e, id, path) = try await Self.syncedContact(database, server)
        try e.db.execute(
            "UPDATE \"AD\" SET \"NAME\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [.text("CRM-Name"), e.stamp(Date().addingTimeInterval(5)), .text(id)])
        let raced = try await e.sync()
        #expect(e.proxy!.log.contains("race: another client's PUT"), "\(e.proxy!.log)")
        let report = try #require(raced.of("contacts"))
        print("caldav e2e: update race: \(CalDAVEndToEnd.describe(raced))")
        // The write met the other client's version: a conflict on the item, not a lost update.
        #expect(report.failures.map(\.kind) == ["conflict"], "\(CalDAVEndToEnd.describe(raced))")
        #expect(report.failures.first?.message.contains("changed on the server") == true)
        #expect(report.failures.first?.name.contains("Karl") == true)
        // The other client's version is on the server, FlowFact's in FlowFact.
        let after = try e.get(path).text
        #expect(after.contains("Vom-Handy") && after.contains("unterwegs geändert"), "\(after)")
        #expect(try e.text("SELECT \"NAME\" FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]) == "CRM-Name")
        // The next run reads the other client's change: both sides changed, a conflict for the
        // policy (report), and nothing is overwritten.
        let later = try await e.sync()
        print("caldav e2e: after the update race: \(CalDAVEndToEnd.describe(later))")
        #expect(later.allSatisfy { $0.status == .ok }, "\(CalDAVEndToEnd.describe(later))")
        #expect(later.of("contacts")?.counts["conflicts"] == 1, "\(CalDAVEndToEnd.describe(later))")
        #expect(try e.get(path).text.contains("Vom-Handy"))
        #expect(try e.text("SELECT \"NAME\" FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]) == "CRM-Name")
    }

    @Test(
        "another client changes a contact just before FlowFact's deletion reaches the server: the DELETE is refused (If-Match), the contact and its change stay",
        arguments: endToEndDatabases, endToEndServers)
    func deleteRace(_ database: TestDatabase, _ server: DAVTestServerKind) async throws {
        let (e, id, path) = try await Self.syncedContact(database, server, beside: ("Erna", "Bleibt"))
        try e.deleteInFlowFact("AD", id: id)
        let raced = try await e.sync()
        print("caldav e2e: delete race: \(CalDAVEndToEnd.describe(raced))")
        #expect(e.proxy!.log.contains("race: another client's PUT"), "\(e.proxy!.log)")
        #expect(e.proxy!.log.contains("DELETE \(path) -> 412"), "\(e.proxy!.log)")
        // The contact is still on the server with the other client's change.
        #expect(try e.members("contacts").count == 2)
        let after = try e.get(path).text
        #expect(after.contains("Vom-Handy") && after.contains("unterwegs geändert"), "\(after)")
        let report = try #require(raced.of("contacts"))
        #expect(report.counts["source→target delete"] == nil, "\(CalDAVEndToEnd.describe(raced))")
        #expect(report.failures.map(\.kind) == ["conflict"], "\(CalDAVEndToEnd.describe(raced))")
        // Later runs: the server's change is not lost (FlowFact gets it back, or it stays reported).
        var runs: [[RunReport]] = []
        for _ in 0..<2 { runs.append(try await e.sync()) }
        print("caldav e2e: after the delete race: \(runs.map(CalDAVEndToEnd.describe))")
        #expect(runs.allSatisfy { $0.allSatisfy { $0.status == .ok } })
        let onServer = try e.members("contacts").contains(path) && (try e.get(path).text.contains("Vom-Handy"))
        let inFlowFact = try e.count("SELECT COUNT(*) FROM \"AD\" WHERE \"NAME\" = 'Vom-Handy'") == 1
        #expect(onServer || inFlowFact, "the other client's change was lost")
    }

    @Test(
        "Radicale killed and restarted in the middle of a 300-contact run: later runs converge with each contact exactly once",
        arguments: endToEndDatabases)
    func restartMidRun(_ database: TestDatabase) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 300, appointments: 0, tasks: 0, mails: 0, syncShare: 1))
        e.connectors = "  - { name: contacts, kind: address, source: flowfact, target: groupware }"
        let total = try e.count("SELECT COUNT(*) FROM \"AD\"")
        let run = Task { try await e.sync() }
        var waited = 0
        while e.requests()["PUT", default: 0] < 60, waited < 3000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        let before = e.requests()["PUT", default: 0]
        e.radicale.crash()
        try await Task.sleep(for: .milliseconds(1500))
        try e.radicale.restart()
        let interrupted = try await run.value
        print(
            "caldav e2e: Radicale killed after \(before) PUTs and restarted 1.5 s later; the run: \(CalDAVEndToEnd.describe(interrupted))"
        )
        var reports: [[RunReport]] = []
        for _ in 0..<4 {
            let reportsOfRun = try await e.sync()
            reports.append(reportsOfRun)
            if reportsOfRun.allSatisfy({ $0.status == .ok && $0.counts.isEmpty }) { break }
        }
        print("caldav e2e: the runs after the restart: \(reports.map(CalDAVEndToEnd.describe))")
        let last = try #require(reports.last)
        #expect(last.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(last))")
        let members = try e.members("contacts")
        #expect(members.count == total, "\(members.count) items for \(total) contacts")
        let ids = try members.map { try e.flowFactID(ofItem: $0) ?? "?" }
        #expect(Set(ids).count == total, "a contact is on the server twice, or one is missing")
        let rows = try e.db.rows("SELECT \"ID\" FROM \"AD\"").compactMap { $0[0].string }
        #expect(Set(ids) == Set(rows))
    }
}

@Suite("connector-host check on the caldav path", .serialized)
struct CalDAVCheckTests {
    @Test(
        "check finds each collection by discovery, signs in, reads the rights and WebDAV-Sync support; a read-only collection and a wrong password are named, the password never printed"
    )
    func check() async throws {
        let e = try CalDAVEndToEnd(
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0), rightsFile: true
        )
        e.connectors = """
            \(CalDAVEndToEndTests.contacts)
              - { name: calendar, kind: calendar, source: flowfact, target: groupware }
              - { name: tasks, kind: task, source: flowfact, target: groupware }
            """
        try e.yaml.write(to: e.directory.appendingPathComponent("caldav.yaml"), atomically: true, encoding: .utf8)
        let environment = ["MM_PASSWORD": CalDAVEndToEnd.password, "MIRROR_PASSWORD": CalDAVEndToEnd.mirrorPassword]
        let good = try CLI.run(["check", "--config", "caldav.yaml"], in: e.directory, environment: environment)
        print("caldav check:\n\(good.out)\(good.err)")
        #expect(good.status == 0, "\(good.out) \(good.err)")
        for collection in ["/mm/contacts/", "/mm/calendar/", "/mm/tasks/"] {
            #expect(good.out.contains(collection), "\(collection): \(good.out)")
        }
        #expect(good.out.contains("signed in as mm"), "\(good.out)")
        #expect(good.out.contains("may read, create, change and delete items"), "\(good.out)")
        #expect(good.out.contains("changes through WebDAV-Sync"), "\(good.out)")

        try e.radicale.setRights(RadicaleServer.readOnly)
        let readOnly = try CLI.run(["check", "--config", "caldav.yaml"], in: e.directory, environment: environment)
        print("caldav check, read-only:\n\(readOnly.out)\(readOnly.err)")
        #expect(readOnly.status != 0)
        #expect(readOnly.out.contains("read-only"), "\(readOnly.out)")
        try e.radicale.setRights(RadicaleServer.ownerOnly)

        var wrong = environment
        wrong["MM_PASSWORD"] = "Falsch-0815"
        let bad = try CLI.run(["check", "--config", "caldav.yaml"], in: e.directory, environment: wrong)
        #expect(bad.status != 0)
        #expect((bad.out + bad.err).contains("mm"), "\(bad.out) \(bad.err)")
        #expect((bad.out + bad.err).contains("401"), "\(bad.out) \(bad.err)")
        #expect(!(bad.out + bad.err).contains("Falsch-0815"))
    }
}
