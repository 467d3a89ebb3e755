// Measures reading FlowFact records through ODBC: records per second and peak memory (RSS), for
// 10,000 and 100,000 addresses and activities, on SQLite (SQLite3 ODBC) and PostgreSQL (psqlODBC).
// Each measurement runs in a child process, so its peak RSS is its own.
//
//   swift run -c release odbc-read-bench [--postgres "Driver={PostgreSQL Unicode};…"] [--sizes 10000,100000]
import ConnectorAPI
import Connectors
import FlowFactDevelopment
import Foundation
import ODBC

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func argument(_ name: String) -> String? {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else {
        return nil
    }
    return CommandLine.arguments[index + 1]
}

let arguments = CommandLine.arguments

// Child mode: raw ODBC read of a table, for comparison.
if arguments.count > 1, arguments[1] == "raw" {
    let db = try ODBCConnection(connectionString: argument("--connection")!)
    let before = peakRSSMegabytes()
    var count = 0
    if let parameter = argument("--parameter") {
        try db.query("SELECT * FROM \"AD\" WHERE \"ARCHIVIERT\" = ?", [.integer(Int64(parameter)!)]) { _ in count += 1 }
    } else if argument("--join") != nil {
        try db.query(
            "SELECT a.*, k.\"SYNC_KEY\" FROM \"AD\" a LEFT JOIN \"CONNECTOR_SYNCKEY\" k ON k.\"DATENSATZ_ID\" = a.\"ID\""
        ) { _ in count += 1 }
    } else {
        try db.query("SELECT * FROM \"AD\"") { _ in count += 1 }
    }
    print("raw \(count) rows, rss \(peakRSSMegabytes()) before \(before)")
    exit(0)
}

// Child mode: read one kind and print "records seconds rssMB".
if arguments.count > 1, arguments[1] == "read" {
    let connection = argument("--connection")!
    let kind = DataKind(rawValue: argument("--kind")!)!
    var values: [String: SettingValue] = [
        "connection": .secret(Secret(connection)), "calendar_types": .list([.string("Termin")]),
    ]
    // Without the table of kept fields: the reads FlowFact's own columns alone need.
    if arguments.contains("--without-kept-fields") { values["keep_other_fields"] = .boolean(false) }
    let settings = Settings(values)
    let adapter =
        try FlowFactAdapter.type.make(
            settings, AdapterContext(instanceName: "bench", baseDirectory: URL(fileURLWithPath: "."), log: { _, _ in }))
        as! FlowFactAdapter
    try await adapter.verify()
    let before = peakRSSMegabytes()
    let start = Date()
    let checksum = Checksum()
    let count = try await adapter.forEachRecord(kind: kind, user: "MM") { state in checksum.add(state.id.count) }
    let seconds = Date().timeIntervalSince(start)
    print("\(count) \(seconds) \(peakRSSMegabytes()) \(before) \(checksum.value)")
    exit(0)
}

final class Checksum: @unchecked Sendable {
    var value = 0
    func add(_ n: Int) { value &+= n }
}

// Driver mode.
let sizes = (argument("--sizes") ?? "10000,100000").split(separator: ",").compactMap { Int($0) }
var databases: [(String, String)] = []
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("odbc-bench-\(getpid())")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

func seed(_ connection: String, rows: Int) throws {
    let db = try ODBCConnection(connectionString: connection)
    let seeder = FlowFactSeeder(connection: db)
    try seeder.initialize()
    try seeder.seed(FlowFactSeeder.Counts(users: 1, addresses: rows, appointments: rows, tasks: 0, mails: 0))
    db.close()
}

func measure(_ connection: String, kind: DataKind, kept: Bool) throws -> (
    records: Int, seconds: Double, rss: Double, baseline: Double
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments =
        ["read", "--connection", connection, "--kind", kind.rawValue] + (kept ? [] : ["--without-kept-fields"])
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let parts = output.split(separator: " ").map(String.init)
    guard process.terminationStatus == 0, parts.count >= 4 else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: output])
    }
    return (Int(parts[0])!, Double(parts[1])!, Double(parts[2])!, Double(parts[3])!)
}

var targets: [(name: String, make: (Int) throws -> String)] = [
    ("SQLite (SQLite3 ODBC)", { rows in "Driver=SQLite3;Database=\(directory.path)/ff-\(rows).sqlite" })
]
if let postgres = argument("--postgres") {
    targets.append(
        (
            "PostgreSQL (psqlODBC)",
            { rows in
                let schema = "bench_\(rows)_\(getpid())"
                let admin = try ODBCConnection(connectionString: postgres)
                try admin.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
                try admin.execute("CREATE SCHEMA \(schema)")
                return postgres + ";ConnSettings={SET search_path TO \(schema)}"
            }
        ))
}

print("reading FlowFact records through ODBC (one user, all records in scope; each row in its own child process)")
print(
    "database                 kind       kept   rows     seconds   records/s   peak RSS MB   (RSS before reading)")
var results: [[String: Any]] = []
for (name, make) in targets {
    for rows in sizes {
        let connection = try make(rows)
        let seedStart = Date()
        try seed(connection, rows: rows)
        let seedSeconds = Date().timeIntervalSince(seedStart)
        // Each kind with the table of kept fields joined (the default) and without it, so the
        // join's cost is measured in the same run.
        for kind in [DataKind.address, .calendar] {
            for kept in [true, false] {
                let result = try measure(connection, kind: kind, kept: kept)
                let rate = Double(result.records) / max(result.seconds, 0.000_001)
                print(
                    String(
                        format: "%-24@ %-9@ %-4@ %7d  %9.2f  %10.0f  %12.1f   (%.1f)", name as NSString,
                        (kind == .address ? "addresses" : "activities") as NSString, (kept ? "yes" : "no") as NSString,
                        result.records, result.seconds, rate, result.rss, result.baseline))
                results.append([
                    "database": name, "kind": kind.rawValue, "keptFields": kept, "rows": result.records,
                    "seconds": result.seconds,
                    "recordsPerSecond": rate,
                    "peakRSSMB": result.rss, "seedSeconds": seedSeconds,
                ])
            }
        }
    }
}
let json = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
try json.write(to: directory.deletingLastPathComponent().appendingPathComponent("odbc-read-bench.json"))
print("JSON: \(directory.deletingLastPathComponent().appendingPathComponent("odbc-read-bench.json").path)")
