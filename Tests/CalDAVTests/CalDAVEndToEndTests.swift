import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import Logging
import ODBC
import TestSupport
import Testing

/// FlowFact on a real driver (SQLite, PostgreSQL) through ODBC ↔ the `caldav` adapter ↔ Radicale,
/// wired by YAML and run by the host: user `mm` with a calendar, a task list and an address book,
/// and `mirror`, a second Radicale user that FlowFact's calendar is copied to one way.
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
    let radicale: RadicaleServer
    let zone = TimeZone(identifier: "Europe/Berlin")!
    var connectors = ""
    var adapterSettings = ""

    init(
        database: TestDatabase = .sqlite,
        counts: FlowFactSeeder.Counts = FlowFactSeeder.Counts(
            users: 1, addresses: 0, appointments: 4, tasks: 3, mails: 0)
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caldav-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        connection = try database.freshConnectionString()
        db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        try seeder.seed(counts)
        radicale = try RadicaleServer(
            users: ["mm": Self.password, "mirror": Self.mirrorPassword], logLevel: "info")
        do {
            for (user, password) in [("mm", Self.password), ("mirror", Self.mirrorPassword)] {
                try radicale.makeCalendar("/\(user)/calendar/", user: user, password: password, components: ["VEVENT"])
                try radicale.makeCalendar("/\(user)/tasks/", user: user, password: password, components: ["VTODO"])
                try radicale.makeAddressBook("/\(user)/contacts/", user: user, password: password)
            }
        } catch {
            radicale.stop()
            throw error
        }
    }

    deinit {
        radicale.stop()
        try? FileManager.default.removeItem(at: directory)
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
            groupware: { url: "\(radicale.baseURL)/mm/", username: mm, password: "${MM_PASSWORD}" }
            mirror: { url: "\(radicale.baseURL)/mirror/", username: mirror, password: "${MIRROR_PASSWORD}" }
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

    /// The item paths of a collection (PROPFIND depth 1 with curl).
    func members(_ collection: String, user: String = "mm") throws -> [String] {
        let result = try runCurl([
            "-X", "PROPFIND", "-u", credentials(user), "-H", "Depth: 1", "-H", "Content-Type: application/xml",
            "--data-binary", "<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><prop><getetag/></prop></propfind>",
            radicale.baseURL + "/\(user)/\(collection)/",
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
        let result = try runCurl(["-u", credentials(user), radicale.baseURL + path])
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
        return try runCurl(arguments + [radicale.baseURL + path]).status
    }

    func delete(_ path: String, user: String = "mm") throws -> Int {
        try runCurl(["-X", "DELETE", "-u", credentials(user), radicale.baseURL + path]).status
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

@Suite("End to end: FlowFact (ODBC) ↔ caldav ↔ Radicale", .serialized)
struct CalDAVEndToEndTests {
    static let contacts =
        "  - { name: contacts, kind: address, source: flowfact, target: groupware, filter: { merkmale: [Outlook-Sync] } }"

    @Test(
        "contacts, calendar and tasks both ways: created on the server, edited there back into FlowFact, deleted in FlowFact gone from the server",
        arguments: endToEndDatabases)
    func eachKindBothWays(_ database: TestDatabase) async throws {
        let e = try CalDAVEndToEnd(database: database)
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
        arguments: endToEndDatabases)
    func conflict(_ database: TestDatabase) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0))
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
        arguments: endToEndDatabases)
    func seriesAcrossDST(_ database: TestDatabase) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0))
        e.connectors = """
              - { name: calendar, kind: calendar, source: flowfact, target: groupware }
              - { name: copy, kind: calendar, source: flowfact, target: mirror, direction: source-to-target }
            """
        #expect(try e.put("/mm/calendar/serie.ics", Self.series) == 201)
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
        let original = try e.get("/mm/calendar/serie.ics").text
        #expect(Self.has(original, "EXDATE", at: "20260406T100000"))
        #expect(original.contains("PRODID:-//Other Client//DE"), "\(original)")
        let third = try await e.sync()
        #expect(third.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(CalDAVEndToEnd.describe(third))")
    }

    @Test(
        "an all-day event over three days with umlauts and emoji goes from the server to FlowFact and to a second user as DATE values",
        arguments: endToEndDatabases)
    func allDayMultiDay(_ database: TestDatabase) async throws {
        let e = try CalDAVEndToEnd(
            database: database,
            counts: FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0))
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
        #expect(try e.put("/mm/calendar/ganztags.ics", event) == 201)
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
