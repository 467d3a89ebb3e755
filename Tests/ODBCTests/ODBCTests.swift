import Foundation
import ODBC
import TestSupport
import Testing

@Suite("ODBC layer over real drivers")
struct ODBCTests {
    func createTable(_ db: ODBCConnection, _ kind: TestDatabase) throws {
        let blob = kind == .postgres ? "BYTEA" : "BLOB"
        try db.execute(
            """
            CREATE TABLE \(try db.quote("Aktivitätenarten")) (
              \(try db.quote("ID")) VARCHAR(36) PRIMARY KEY, \(try db.quote("Name")) VARCHAR(100), \(try db.quote("NOTIZ")) TEXT,
              \(try db.quote("ANZAHL")) INTEGER, \(try db.quote("BETRAG")) NUMERIC(12,2), \(try db.quote("WERT")) DOUBLE PRECISION,
              \(try db.quote("TAG")) DATE, \(try db.quote("ZEIT")) TIMESTAMP, \(try db.quote("INHALT")) \(blob))
            """)
    }

    @Test(
        "values round-trip: Unicode, emoji, NULL, numbers, dates, 1 MB text and binary",
        arguments: TestDatabase.drivers)
    func roundTrip(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try createTable(db, kind)
        let table = try db.quote("Aktivitätenarten")
        let longText = String(repeating: "Grüße aus Köln – ß 🏠 ", count: 1_048_576 / 24)
        let binary = Data((0..<1_048_576).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let stamp = ODBCTimestamp(
            year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 15, nanosecond: 123_000_000)
        let insert = "INSERT INTO \(table) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        try db.execute(
            insert,
            [
                .text("A"), .text("Müller & Söhne 😀"), .text(longText), .integer(42), .decimal("1234.50"), .double(2.5),
                .date(year: 2024, month: 2, day: 29), .timestamp(stamp), .binary(binary),
            ])
        try db.execute(insert, [.text("B"), .null, .null, .null, .null, .null, .null, .null, .null])
        let rows = try db.rows("SELECT * FROM \(table) ORDER BY \(try db.quote("ID"))")
        #expect(rows.count == 2)
        let a = rows[0]
        #expect(a["Name"].string == "Müller & Söhne 😀")
        #expect(a["NOTIZ"].string == longText)
        #expect(a["ANZAHL"].integer == 42)
        #expect(a["BETRAG"].double == 1234.5)
        #expect(a["WERT"].double == 2.5)
        #expect(a["TAG"] == .date(year: 2024, month: 2, day: 29))
        #expect(a["ZEIT"].timestamp == stamp)
        #expect(a["INHALT"].data == binary)
        let b = rows[1]
        #expect(b.values.dropFirst().allSatisfy { $0.isNull })
        // Parameters select as well as they insert.
        let found = try db.rows(
            "SELECT \(try db.quote("ID")) FROM \(table) WHERE \(try db.quote("Name")) = ?", [.text("Müller & Söhne 😀")])
        #expect(found.map { $0[0].string } == ["A"])
    }

    @Test(
        "non-ASCII identifiers reach the database as UTF-8, also through ANSI-only drivers",
        arguments: TestDatabase.drivers)
    func identifierEncoding(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try createTable(db, kind)
        let sql =
            kind == .sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table'"
            : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        #expect(try db.rows(sql).compactMap { $0[0].string } == ["Aktivitätenarten"])
    }

    @Test("transactions commit or roll back as a whole", arguments: TestDatabase.drivers)
    func transactions(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        try db.transaction {
            try db.execute("INSERT INTO t VALUES (?)", [.integer(1)])
            try db.execute("INSERT INTO t VALUES (?)", [.integer(2)])
        }
        #expect(throws: ODBCError.self) {
            try db.transaction {
                try db.execute("INSERT INTO t VALUES (?)", [.integer(3)])
                try db.execute("INSERT INTO t VALUES (?)", [.integer(1)])  // duplicate key
            }
        }
        #expect(try db.rows("SELECT id FROM t ORDER BY id").map { $0[0].integer } == [1, 2])
    }

    @Test("errors carry the SQLSTATE and the statement", arguments: TestDatabase.drivers)
    func diagnostics(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        do {
            try db.execute("SELECT nope FROM missing_table")
            Issue.record("expected an error")
        } catch let error as ODBCError {
            #expect(!error.diagnostics.isEmpty)
            #expect(error.sqlState.count == 5)
            if kind == .postgres { #expect(error.sqlState == "42P01") }
            #expect(error.description.contains("missing_table"))
        }
    }

    @Test("a wrong password is refused with SQLSTATE 08001 and without the password in the message")
    func wrongPassword() throws {
        let string = TestDatabase.postgresBase.replacingOccurrences(of: "Pwd=connector", with: "Pwd=Geheim-9xq")
        do {
            _ = try ODBCConnection(connectionString: string)
            Issue.record("expected the login to fail")
        } catch let error as ODBCError {
            #expect(error.operation == "connect")
            #expect(error.sqlState == "08001")
            #expect(error.description.contains("password authentication failed"))
            #expect(!error.description.contains("Geheim-9xq"))
        }
    }

    @Test("an unknown driver is reported clearly")
    func unknownDriver() throws {
        #expect(throws: ODBCError.self) { _ = try ODBCConnection(connectionString: "Driver=NoSuchDriver;Database=x") }
    }

    @Test("identifiers are validated before quoting")
    func identifiers() throws {
        let db = try TestDatabase.sqlite.connect()
        #expect(try db.quote("Aktivitätenarten") == "\"Aktivitätenarten\"")
        #expect(throws: ODBCIdentifierError.self) { try db.quote("AD\"; DROP TABLE AD; --") }
        #expect(throws: ODBCIdentifierError.self) { try db.quote("1AD") }
        #expect(throws: ODBCIdentifierError.self) { try db.quote("") }
    }

    @Test("a server-side disconnect is repaired by one reconnect, and reported")
    func reconnect() throws {
        let db = try TestDatabase.postgres.connect()
        let reconnects = Counter()
        db.onReconnect = { _ in reconnects.increment() }
        let pid = try #require(try db.rows("SELECT pg_backend_pid()").first?[0].integer)
        let admin = try ODBCConnection(connectionString: TestDatabase.postgresBase)
        _ = try admin.rows("SELECT pg_terminate_backend(?)", [.integer(pid)])
        let after = try db.rows("SELECT 1")
        #expect(after.first?[0].integer == 1)
        #expect(reconnects.value == 1)
    }

    @Test("streaming a large result keeps one row at a time", arguments: TestDatabase.drivers)
    func streaming(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try db.execute("CREATE TABLE n (id INTEGER PRIMARY KEY, v VARCHAR(20))")
        try db.transaction {
            for i in 0..<5000 { try db.execute("INSERT INTO n VALUES (?, ?)", [.integer(Int64(i)), .text("v\(i)")]) }
        }
        var count = 0
        var sum: Int64 = 0
        try db.query("SELECT id, v FROM n ORDER BY id") { row in
            count += 1
            sum += row[0].integer ?? 0
        }
        #expect(count == 5000)
        #expect(sum == 4999 * 5000 / 2)
    }

    @Test("timestamps convert to instants in the configured zone")
    func timestamps() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let date = Date(timeIntervalSince1970: 1_711_846_800.250)  // 2024-03-31 01:00:00.250 UTC = 03:00 CEST
        let stamp = ODBCTimestamp(date, in: berlin)
        #expect(stamp.description == "2024-03-31 03:00:00.250")
        #expect(stamp.date(in: berlin) == date)
        #expect(ODBCTimestamp(text: "2024-03-31 03:00:00.25") == stamp)
        #expect(ODBCTimestamp(text: "2024-03-31")?.description == "2024-03-31 00:00:00.000")
    }

    @Test("a text that is no year-month-day is no timestamp: GUIDs whose groups happen to be digits, odd dates")
    func notTimestamps() {
        #expect(ODBCTimestamp(text: "81944325-A1B2-8573-4017-0123456789AB") == nil)
        #expect(ODBCTimestamp(text: "81944325-8573-4017") == nil, "three numbers are a date only where they fit one")
        #expect(ODBCTimestamp(text: "2024-13-01") == nil)
        #expect(ODBCTimestamp(text: "2024-03-") == nil)
        #expect(ODBCTimestamp(text: "Müller") == nil)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
