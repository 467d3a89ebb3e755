// The mail attachment benchmark: how much memory a large attachment costs on its way between
// FlowFact and Exchange. exchange-sim runs in its own process; this process runs the service.
//
// 1. FlowFact → Exchange: a FlowFact mail activity with an N MB attachment in its BLOB row is
//    placed into the mailbox (BLOB copied out slice by slice into a spool file, sent as base64
//    read from that file while the CreateAttachment request goes out).
// 2. Exchange → FlowFact: a second, empty FlowFact database imports that mail from the mailbox
//    (GetAttachment's content decoded into a spool file as it arrives, stored with data at
//    execution).
// Each phase prints its wall time and this process's peak resident memory (the kernel's peak mark
// is reset before each phase), and the bytes are compared at the end.
//
//   scripts/bench.sh is for the sync benchmark; this one runs as
//   swift build -c release --product exchange-sim --product mail-bench && .build/release/mail-bench --size-mb 25
import BenchSupport
import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import Logging
import ODBC

let program = "mail-bench"
let sizeMB = integer("--size-mb", 25, program: program)
let schemas = option("--schemas", ProcessInfo.processInfo.environment["EWS_SCHEMAS"] ?? "../shared/ews-schema")
let executableDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let simBinary = option("--sim", executableDirectory.appendingPathComponent("exchange-sim").path)
let databaseOption = option("--flowfact", "sqlite")
let jsonPath = option("--json", "")

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-bench-\(getpid())")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

/// A fresh FlowFact database: an SQLite file, or a new schema in the PostgreSQL database given as
/// `--flowfact "Driver={PostgreSQL Unicode};…"`.
@MainActor func freshDatabase(_ name: String) throws -> String {
    guard databaseOption != "sqlite" else { return "Driver=SQLite3;Database=\(directory.path)/\(name).sqlite" }
    let schema = "mb_\(name)_\(getpid())"
    let admin = try ODBCConnection(connectionString: databaseOption)
    try admin.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    try admin.execute("CREATE SCHEMA \(schema)")
    admin.close()
    return databaseOption + ";ConnSettings={SET search_path TO \(schema)}"
}

// The attachment: pseudo-random bytes (incompressible), written in chunks.
let size = sizeMB * 1_048_576
let original = directory.appendingPathComponent("original.bin")
do {
    _ = FileManager.default.createFile(atPath: original.path, contents: nil)
    let handle = try FileHandle(forWritingTo: original)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var written = 0
    while written < size {
        let count = min(1 << 20, size - written)
        var chunk = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            chunk[index] = UInt8(truncatingIfNeeded: state >> 56)
        }
        try handle.write(contentsOf: Data(chunk))
        written += count
    }
    try handle.close()
}

let sim = SimProcess(
    binary: simBinary, schemas: schemas, latencyMilliseconds: 0, account: "svc@example.test:bench",
    mailboxes: ["mm@example.test"], program: program)
defer { sim.stop() }

/// One FlowFact database with one user (MM) and the mail connector for the Inbox.
@MainActor func deployment(_ connection: String, state: String) throws -> Deployment {
    let yaml = """
        state: { path: \(directory.path)/\(state).sqlite }
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)" }
          exchange: { type: ews, url: "\(sim.url)", auth: basic, username: svc@example.test, password: bench, timeout: 600s }
        users:
          - { id: MM, flowfact: MM, exchange: mm@example.test }
        connectors:
          - { name: mail-in, kind: mail, source: flowfact, target: exchange, source_options: { mail: incoming } }
        """
    return try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
        yaml: yaml, file: "mail-bench.yaml", baseDirectory: directory)
}

struct Phase: Codable {
    var name: String
    var seconds: Double
    var baselineMB: Double
    var peakMB: Double
    var growthMB: Double { peakMB - baselineMB }
    var counts: [String: Int]
}

var logger = Logger(label: "mail-bench")
logger.logLevel = .error
let canReset = resetPeakMemory()

@MainActor func measure(_ name: String, _ deployment: Deployment) async throws -> Phase {
    let host = try SyncHost(deployment: deployment, logger: logger)
    resetPeakMemory()
    let baseline = residentMemory().currentMB
    let start = Date()
    let reports = await host.syncOnce()
    let seconds = Date().timeIntervalSince(start)
    let peak = residentMemory().peakMB
    await host.shutdown()
    for report in reports where report.status != .ok {
        FileHandle.standardError.write(Data("\(program): \(name): \(report.status) \(report.message ?? "")\n".utf8))
        exit(1)
    }
    return Phase(
        name: name, seconds: seconds, baselineMB: baseline, peakMB: peak,
        counts: reports.reduce(into: [:]) { $0.merge($1.counts) { $0 + $1 } })
}

/// A fresh FlowFact database with its fixed rows and one user (MM), opened.
@MainActor func flowFact(_ name: String) throws -> (connection: String, db: ODBCConnection) {
    let connection = try freshDatabase(name)
    let db = try ODBCConnection(connectionString: connection)
    let seeder = FlowFactSeeder(connection: db)
    try seeder.initialize()
    try seeder.seed(FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0))
    return (connection, db)
}

// Phase 1: FlowFact → Exchange.
let (sourceConnection, sourceDB) = try flowFact("source")
do {
    let db = sourceDB
    let activity = UUID().uuidString
    let now = ODBCValue.timestamp(
        ODBCTimestamp(Date().addingTimeInterval(-600), in: TimeZone(identifier: "Europe/Berlin")!))
    try db.execute(
        """
        INSERT INTO "AKT" ("ID", "AKTART_ID", "BETREFF", "TEXT", "DATUM", "BESITZER_ID", "MAIL_VON", "MAIL_AN", "MAIL_MSGID",
          "MAIL_DATUM", "ERLEDIGT", "GANZTAEGIG", "ERFDATUM", "AENDDATUM") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
        """,
        [
            .text(activity), .text("7A000000-0000-4000-8000-000000000002"), .text("Pläne \(sizeMB) MB"),
            .text("Anbei die Pläne."), now, .text("BE000000-0000-4000-8000-000000000000"),
            .text("Architekt <plan@architekt.test>"), .text("mm@example.test"),
            .text("<plaene-\(getpid())@architekt.test>"),
            now, now, now,
        ])
    try db.execute(
        "INSERT INTO \"BLOB\" (\"ID\", \"TABELLE\", \"DATENSATZ_ID\", \"DATEINAME\", \"DATEITYP\", \"GROESSE\", \"INHALT\", \"ERFDATUM\", \"AENDDATUM\") VALUES (?, 'AKT', ?, ?, 'application/pdf', ?, ?, ?, ?)",
        [
            .text(UUID().uuidString), .text(activity), .text("Pläne Müller.pdf"), .integer(Int64(size)),
            .binaryStream(try .file(original)), now, now,
        ])
    db.close()
}
let toExchange = try await measure("FlowFact → Exchange", try deployment(sourceConnection, state: "state-1"))

// Phase 2: Exchange → a second FlowFact.
let (targetConnection, targetDB) = try flowFact("target")
targetDB.close()
let toFlowFact = try await measure("Exchange → FlowFact", try deployment(targetConnection, state: "state-2"))

// The bytes that arrived.
let arrived = directory.appendingPathComponent("arrived.bin")
let check = try ODBCConnection(connectionString: targetConnection)
let stored = try check.stream(
    "SELECT \"INHALT\" FROM \"BLOB\" WHERE \"DATEINAME\" = ?", [.text("Pläne Müller.pdf")], column: 0, toFile: arrived)
check.close()
func sameBytes(_ a: URL, _ b: URL) throws -> Bool {
    let x = try FileHandle(forReadingFrom: a)
    let y = try FileHandle(forReadingFrom: b)
    defer {
        try? x.close()
        try? y.close()
    }
    while true {
        let left = try x.read(upToCount: 1 << 20) ?? Data()
        let right = try y.read(upToCount: 1 << 20) ?? Data()
        if left != right { return false }
        if left.isEmpty { return true }
    }
}
let identical = stored == size ? try sameBytes(original, arrived) : false
let simStats = try await sim.stats()

print(
    "\nmail attachment benchmark: one \(sizeMB) MB attachment (\(size) bytes), FlowFact on "
        + (databaseOption == "sqlite" ? "SQLite (SQLite3 ODBC)" : "PostgreSQL (psqlODBC)")
        + "; peak marks \(canReset ? "reset per phase" : "NOT resettable here: peaks are cumulative")")
print("phase                   wall s   RSS before MB   peak RSS MB   growth MB   growth / attachment")
for phase in [toExchange, toFlowFact] {
    print(
        phase.name.padding(toLength: 22, withPad: " ", startingAt: 0)
            + String(
                format: "  %6.2f   %13.0f   %11.0f   %9.0f   %.2f×", phase.seconds, phase.baselineMB, phase.peakMB,
                phase.growthMB, phase.growthMB / Double(sizeMB)))
}
print("bytes arrived in the second FlowFact: \(stored ?? 0) of \(size), identical: \(identical)")
print(
    "EWS requests: "
        + simStats.filter { $0.key.first?.isUppercase == true && $0.value > 0 }.sorted { $0.key < $1.key }.map {
            "\($0.key) \(Int($0.value))"
        }.joined(separator: ", "))
if !jsonPath.isEmpty {
    struct Report: Codable {
        var sizeBytes: Int
        var database: String
        var phases: [Phase]
        var identical: Bool
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(
        Report(
            sizeBytes: size, database: databaseOption == "sqlite" ? "sqlite" : "postgres",
            phases: [toExchange, toFlowFact], identical: identical)
    ).write(to: URL(fileURLWithPath: jsonPath))
}
if !identical { exit(1) }
