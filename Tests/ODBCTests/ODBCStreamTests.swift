import Foundation
import ODBC
import TestSupport
import Testing

/// Streamed parameters (`.binaryStream`, data at execution) and streamed column reads, against both
/// drivers. Serialized: the values are large and the memory test wants a quiet process.
@Suite("ODBC streamed parameters and columns", .serialized)
struct ODBCStreamTests {
    static let megabyte = 1024 * 1024

    static func createTable(_ db: ODBCConnection, _ kind: TestDatabase) throws {
        let blob = kind == .postgres ? "BYTEA" : "BLOB"
        try db.execute(
            "CREATE TABLE att (id INTEGER PRIMARY KEY, name VARCHAR(100), size INTEGER, note TEXT, content \(blob))")
    }

    /// A file of `size` random bytes in the temporary directory, written 1 MiB at a time.
    static func randomFile(size: Int) throws -> URL {
        let url = temporaryFile("in")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let output = try FileHandle(forWritingTo: url)
        defer { try? output.close() }
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        var left = size
        while left > 0 {
            let chunk = random.readData(ofLength: min(left, megabyte))
            try output.write(contentsOf: chunk)
            left -= chunk.count
        }
        return url
    }

    static func temporaryFile(_ tag: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("odbc-stream-\(tag)-\(UUID().uuidString)")
    }

    /// Whether two files hold the same bytes, compared 1 MiB at a time.
    static func sameContent(_ a: URL, _ b: URL) throws -> Bool {
        let left = try FileHandle(forReadingFrom: a)
        let right = try FileHandle(forReadingFrom: b)
        defer {
            try? left.close()
            try? right.close()
        }
        while true {
            let x = try left.read(upToCount: megabyte) ?? Data()
            let y = try right.read(upToCount: megabyte) ?? Data()
            if x != y { return false }
            if x.isEmpty { return true }
        }
    }

    /// A source that delivers `failAfter` bytes of its announced `length` and then throws.
    static func failingSource(length: Int, failAfter: Int) -> ODBCBinarySource {
        ODBCBinarySource(length: length) {
            var sent = 0
            return { buffer in
                if sent >= failAfter { throw ReaderFailure() }
                let count = min(buffer.count, failAfter - sent)
                buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 7, count: count)
                sent += count
                return count
            }
        }
    }

    @Test(
        "a 25 MB file goes in as a stream inside a transaction and comes back out as a stream",
        arguments: TestDatabase.drivers)
    func largeFile(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try Self.createTable(db, kind)
        let size = 25 * Self.megabyte
        let input = try Self.randomFile(size: size)
        let output = Self.temporaryFile("out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        try db.transaction {
            _ = try db.execute(
                "INSERT INTO att (id, name, size, content) VALUES (?, ?, ?, ?)",
                [.integer(1), .text("anhang.bin"), .integer(Int64(size)), .binaryStream(try .file(input))])
        }
        let written = try db.stream("SELECT content FROM att WHERE id = ?", [.integer(1)], column: 0, toFile: output)
        #expect(written == size)
        #expect(try Self.sameContent(input, output))
        // The other columns of the row arrived as well.
        let row = try #require(try db.rows("SELECT name, size FROM att WHERE id = 1").first)
        #expect(row["name"].string == "anhang.bin")
        #expect(row["size"].integer == Int64(size))
        // No row: nil, and no file is left behind.
        let missing = Self.temporaryFile("missing")
        #expect(try db.stream("SELECT content FROM att WHERE id = ?", [.integer(2)], column: 0, toFile: missing) == nil)
        #expect(!FileManager.default.fileExists(atPath: missing.path))
    }

    @Test("an empty file is stored as an empty value, not NULL", arguments: TestDatabase.drivers)
    func emptyFile(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try Self.createTable(db, kind)
        let input = Self.temporaryFile("empty")
        let output = Self.temporaryFile("out")
        _ = FileManager.default.createFile(atPath: input.path, contents: Data())
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        try db.transaction {
            _ = try db.execute(
                "INSERT INTO att (id, content) VALUES (?, ?)", [.integer(1), .binaryStream(try .file(input))])
        }
        #expect(try db.stream("SELECT content FROM att WHERE id = 1", column: 0, toFile: output) == 0)
        #expect(try Data(contentsOf: output).isEmpty)
        #expect(try db.rows("SELECT content FROM att WHERE id = 1").first?[0] == .binary(Data()))
        #expect(try db.rows("SELECT COUNT(*) FROM att WHERE content IS NULL").first?[0].integer == 0)
    }

    @Test(
        "stream parameters mix with ordinary ones, in any position and more than one", arguments: TestDatabase.drivers)
    func mixedParameters(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try Self.createTable(db, kind)
        let content = Data((0..<(600 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        let note = String(repeating: "Grüße 🏠 ", count: 50_000)
        let insert = "INSERT INTO att (id, content, name, size, note) VALUES (?, ?, ?, ?, ?)"
        try db.execute(
            insert,
            [.integer(1), .binaryStream(.data(content)), .text("Müller"), .integer(Int64(content.count)), .null])
        try db.execute(
            insert, [.integer(2), .binaryStream(.data(Data([1, 2, 3]))), .null, .integer(3), .text(note)])
        // The cached statement takes ordinary values again afterwards.
        try db.execute(insert, [.integer(3), .binary(Data([9])), .text("plain"), .integer(1), .null])
        let rows = try db.rows("SELECT id, content, name, size FROM att ORDER BY id")
        #expect(rows.map { $0["id"].integer } == [1, 2, 3])
        #expect(rows[0]["content"] == .binary(content))
        #expect(rows[0]["name"].string == "Müller")
        #expect(rows[0]["size"].integer == Int64(content.count))
        #expect(rows[1]["content"] == .binary(Data([1, 2, 3])))
        #expect(rows[1]["name"].isNull)
        #expect(rows[2]["content"] == .binary(Data([9])))

        // A text column streams as UTF-8, also when a chunk boundary splits a surrogate pair.
        var text = Data()
        #expect(
            try db.stream("SELECT note FROM att WHERE id = ?", [.integer(2)], column: 0) { text.append(contentsOf: $0) }
        )
        #expect(String(decoding: text, as: UTF8.self) == note)
        // A NULL value passes nothing; the column is chosen by its 0-based position.
        var nothing = Data()
        #expect(try db.stream("SELECT id, note FROM att WHERE id = 1", column: 1) { nothing.append(contentsOf: $0) })
        #expect(nothing.isEmpty)
    }

    @Test(
        "a reader failing halfway rolls the transaction back; the cached statement keeps working",
        arguments: TestDatabase.drivers)
    func failingReader(_ kind: TestDatabase) throws {
        let db = try kind.connect()
        try Self.createTable(db, kind)
        let insert = "INSERT INTO att (id, name, content) VALUES (?, ?, ?)"
        try db.execute(insert, [.integer(1), .text("before"), .binaryStream(.data(Data([1])))])
        #expect(throws: ReaderFailure.self) {
            try db.transaction {
                try db.execute(insert, [.integer(2), .text("in transaction"), .binary(Data([2]))])
                try db.execute(
                    insert,
                    [
                        .integer(3), .text("broken"),
                        .binaryStream(Self.failingSource(length: 2 * Self.megabyte, failAfter: Self.megabyte)),
                    ])
            }
        }
        #expect(try db.rows("SELECT id FROM att ORDER BY id").map { $0[0].integer } == [1])
        // A stream shorter than announced is refused the same way.
        #expect(throws: ODBCStreamError.self) {
            try db.transaction {
                _ = try db.execute(
                    insert,
                    [.integer(4), .text("short"), .binaryStream(ODBCBinarySource(length: 10) { { _ in 0 } })])
            }
        }
        // The same statement, streamed and plain, inside and outside a transaction.
        let content = Data(repeating: 5, count: 300 * 1024)
        try db.transaction {
            _ = try db.execute(insert, [.integer(5), .text("after"), .binaryStream(.data(content))])
        }
        try db.execute(insert, [.integer(6), .text("plain"), .binary(Data([6]))])
        let rows = try db.rows("SELECT id, content FROM att ORDER BY id")
        #expect(rows.map { $0[0].integer } == [1, 5, 6])
        #expect(rows[1]["content"] == .binary(content))
    }

    /// Peak RSS growth while 64 MB go in and out, each direction measured in its own child process (an
    /// exit test), so other tests and earlier allocations of this process can neither hide nor inflate
    /// it (the peak only ever grows). The same is measured for the in-memory API (`.binary(Data)`,
    /// `rows`) as a contrast.
    ///
    /// Neither driver available here streams internally: both hold the whole value (and more) in their
    /// own memory, so the growth cannot stay below the value's size. Measured on Linux x86_64 with
    /// unixODBC 2.3.11 (MiB of peak RSS growth for 64 MiB, stable to 1 MiB between runs):
    ///
    ///     driver                  streamed write  in-memory write  streamed read  in-memory read
    ///     SQLite3 ODBC 0.9998     131 (~2x)       194              194 (~3x)      258
    ///     psqlODBC 13.02          193 (~3x)       256              384 (~6x)      384
    ///
    /// So what is asserted is what this layer controls: streaming adds no copy of its own on top of the
    /// driver's (limit: the driver's copies plus half the value), and it saves at least half the value
    /// compared with the in-memory API, except for reading through psqlODBC, whose peak comes from
    /// (presumably) libpq receiving the hex-encoded row before the first chunk is read (a known issue,
    /// recorded).
    @Test("streaming 64 MB in and out: peak memory growth per driver", arguments: TestDatabase.drivers)
    func memory(_ kind: TestDatabase) async throws {
        let size = 64 * Self.megabyte
        let connectionString = try kind.freshConnectionString()
        let input = try Self.randomFile(size: size)
        let output = Self.temporaryFile("out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        let db = try ODBCConnection(connectionString: connectionString)
        try Self.createTable(db, kind)
        // A small row for the children's warm-up (statement preparation, driver buffers).
        try db.execute("INSERT INTO att (id, content) VALUES (0, ?)", [.binary(Data(repeating: 1, count: 1000))])
        db.close()
        let inputPath = input.path
        let outputPath = output.path

        // Each child prints its growth on standard error and exits normally; the limits are checked here.
        var growth: [Int] = []
        for phase in Phase.allCases {
            let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                [
                    connectionString = connectionString as String, phase = phase as Phase,
                    inputPath = inputPath as String,
                    outputPath = outputPath as String
                ] in
                try Self.measure(phase, connectionString, input: inputPath, output: outputPath)
            }
            growth.append(try #require(Self.growth(result), "no measurement from the \(phase) child"))
        }
        #expect(try Self.sameContent(input, output))
        let mib = growth.map { "\($0 / Self.megabyte) MiB" }
        print(
            "[\(kind)] peak RSS growth for 64 MB: streamed write \(mib[0]), streamed read \(mib[1]);"
                + " in-memory write \(mib[2]), in-memory read \(mib[3])")
        let copies = Self.driverCopies(kind)
        #expect(growth[0] < copies.write * size + size / 2, "streamed write grew the peak RSS by \(mib[0])")
        #expect(growth[1] < copies.read * size + size / 2, "streamed read grew the peak RSS by \(mib[1])")
        #expect(growth[0] + size / 2 < growth[2], "streaming saves less than half the value when writing")
        withKnownIssue("psqlODBC's peak while reading comes from fetching the whole row, before the first chunk") {
            #expect(growth[1] + size / 2 < growth[3], "streaming saves less than half the value when reading")
        } when: {
            kind == .postgres
        }
    }

    /// How many copies of a parameter or column value the driver itself holds at its peak, rounded up
    /// from the measurements in `memory`. Presumably: the SQLite3 ODBC driver collects the SQLPutData
    /// chunks and SQLite copies them again when binding (2), and reading holds SQLite's value plus the
    /// driver's row copy (3); psqlODBC collects the chunks and encodes them into the message (3), and
    /// libpq receives the whole hex-encoded row before psqlODBC decodes it (6).
    static func driverCopies(_ kind: TestDatabase) -> (write: Int, read: Int) {
        switch kind {
        case .sqlite: (write: 2, read: 3)
        case .postgres, .sqlServerDialect: (write: 3, read: 6)
        }
    }

    enum Phase: String, Codable, CaseIterable, Sendable {
        case streamedWrite, streamedRead, inMemoryWrite, inMemoryRead
    }

    /// In a child process: connects, warms up with the small row 0, then runs `phase` (streamed writes
    /// go to row 1, in-memory ones to row 2) and prints the growth of the peak RSS it caused.
    static func measure(_ phase: Phase, _ connectionString: String, input: String, output: String) throws {
        let db = try ODBCConnection(connectionString: connectionString)
        let insert = "INSERT INTO att (id, content) VALUES (?, ?)"
        let select = "SELECT content FROM att WHERE id = ?"
        let warmUp = -1 - Int64(Phase.allCases.firstIndex(of: phase)!)
        try db.execute(insert, [.integer(warmUp), .binaryStream(.data(Data(count: 1000)))])
        _ = try db.stream(select, [.integer(0)], column: 0) { _ in }
        _ = try db.rows(select, [.integer(0)])
        let size = 64 * megabyte
        let before = peakResidentBytes()
        switch phase {
        case .streamedWrite:
            try db.transaction {
                _ = try db.execute(insert, [.integer(1), .binaryStream(try .file(URL(fileURLWithPath: input)))])
            }
        case .streamedRead:
            let written = try db.stream(select, [.integer(1)], column: 0, toFile: URL(fileURLWithPath: output))
            guard written == size else { throw ODBCStreamError("read \(written ?? -1) bytes") }
        case .inMemoryWrite:
            let data = try Data(contentsOf: URL(fileURLWithPath: input))
            try db.transaction { _ = try db.execute(insert, [.integer(2), .binary(data)]) }
        case .inMemoryRead:
            let count = try db.rows(select, [.integer(2)]).first?[0].data?.count
            guard count == size else { throw ODBCStreamError("read \(count ?? -1) bytes") }
        }
        FileHandle.standardError.write(Data("peak RSS growth \(peakResidentBytes() - before)\n".utf8))
    }

    static func growth(_ result: ExitTest.Result?) -> Int? {
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("peak RSS growth ") }) else {
            return nil
        }
        return Int(line.dropFirst("peak RSS growth ".count))
    }
}

struct ReaderFailure: Error {}

/// The peak resident set size of this process so far. On Linux the `VmHWM` line of /proc/self/status:
/// getrusage's `ru_maxrss` is no use in a child process, since Linux carries it over `execve` from the
/// parent (a spawned test child starts with the test runner's peak). Elsewhere `ru_maxrss`.
func peakResidentBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kib = Int(
            line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces).dropLast(3)
                .trimmingCharacters(in: .whitespaces))
    {
        return kib * 1024
    }
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #if os(Linux)
        return usage.ru_maxrss * 1024
    #else
        return usage.ru_maxrss
    #endif
}
