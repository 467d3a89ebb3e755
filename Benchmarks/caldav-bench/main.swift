// The CalDAV/CardDAV benchmark (issue 16): FlowFact (SQLite through ODBC) ↔ the caldav adapter ↔
// Radicale (Debian package, its own process on a loopback port). Seeds U users × (C addresses + A
// appointments + T tasks), gives each user an address book, a calendar (VEVENT) and a task list
// (VTODO) in Radicale, found by the adapter through discovery from the user's principal URL, and
// runs the host's sync in process, as the service does, measuring:
//
//   - the initial full sync;
//   - the first run after it (the sync-collection REPORT lists the service's own writes once);
//   - a run with no changes (the goal: one sync-collection REPORT per collection, nothing else);
//   - a run after 1 % of the records changed in FlowFact;
//   - a run after 1 % of the items changed on the server (by another client).
//
// For each phase: wall time, items/s, requests by method and Radicale's own time for them (both from
// Radicale's log, one line per answer), FlowFact statements, CPU and peak RSS of connector-host
// (this process) and of Radicale. Then Radicale's own pace: Benchmarks/peer/caldav_raw_put.py, a
// minimal client (Python's http.client), PUTs the same items (the bodies connector-host stored,
// under the same names) into the same, empty collections of a fresh Radicale, one after another
// and/or with connector-host's parallelism, so "our sync / raw PUT pace" is measured in one run on
// one machine. Prints a table and, with --json FILE, JSON.
//
//   scripts/caldav-bench.sh --users 2 --addresses 100 --appointments 100 --tasks 100
//   scripts/caldav-bench.sh --users 10 --addresses 1000 --appointments 700 --tasks 300 --raw parallel
//
// Options: --users --addresses --appointments --tasks (counts per user); --concurrency (the
// adapter's max_concurrency, default 4 as the caldav type); --batch (batch_size, default 50);
// --jobs (jobs at once, the service's default 4); --raw both|sequential|parallel|none (default
// both); --fsync off (Radicale's private _filesystem_fsync = False, for both servers: a data point
// on what fsync costs, not how anyone should run Radicale); --json FILE; --marks (each phase's
// start and end on CLOCK_MONOTONIC, for scripts/caldav-profile.sh); --keep (leave the folders).
// Exits 3 when the no-change run costs more than one REPORT per collection (a CI smoke run checks it).
import BenchSupport
import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import Logging
import ODBC

func integer(_ name: String, _ fallback: Int) -> Int { BenchSupport.integer(name, fallback, program: "caldav-bench") }

let users = integer("--users", 2)
let addresses = integer("--addresses", 100)
let appointments = integer("--appointments", 100)
let tasks = integer("--tasks", 100)
let concurrency = integer("--concurrency", 4)
let batch = integer("--batch", 50)
let jobs = integer("--jobs", ServiceSettings().concurrency)
let jsonPath = option("--json", "")
let rawMode = option("--raw", "both")
let fsync = option("--fsync", "on") != "off"
let printMarks = CommandLine.arguments.contains("--marks")
let keep = CommandLine.arguments.contains("--keep")
guard ["both", "sequential", "parallel", "none"].contains(rawMode) else {
    FileHandle.standardError.write(Data("caldav-bench: --raw takes both, sequential, parallel or none\n".utf8))
    exit(2)
}
let password = "bench-Kennwort"

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("caldav-bench-\(getpid())")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { if !keep { try? FileManager.default.removeItem(at: directory) } }

// The kinds: connector, kind, Radicale collection, its components (nil: an address book), items per user.
struct Collection {
    var connector: String
    var kind: DataKind
    var name: String
    var components: [String]?
    var perUser: Int
}
let collections = [
    Collection(connector: "contacts", kind: .address, name: "contacts", components: nil, perUser: addresses),
    Collection(connector: "calendar", kind: .calendar, name: "calendar", components: ["VEVENT"], perUser: appointments),
    Collection(connector: "tasks", kind: .task, name: "tasks", components: ["VTODO"], perUser: tasks),
].filter { $0.perUser > 0 }
guard !collections.isEmpty, users > 0 else {
    FileHandle.standardError.write(Data("caldav-bench: nothing to sync\n".utf8))
    exit(2)
}
let shortNames = (0..<users).map(FlowFactSeeder.shortName)
let logins = shortNames.map { $0.lowercased() }

// FlowFact: each user's addresses carry the sync Merkmal and the user's own Merkmal; appointments
// and tasks belong to their user.
let connection = "Driver=SQLite3;Database=\(directory.path)/flowfact.sqlite"
let db = try ODBCConnection(connectionString: connection)
let seeder = FlowFactSeeder(connection: db)
try seeder.initialize()
let seedStart = Date()
try seeder.seed(
    FlowFactSeeder.Counts(
        users: users, addresses: addresses, appointments: appointments, tasks: tasks, mails: 0, syncShare: 1))
print(
    "seeded \(users) users × (\(addresses) addresses + \(appointments) appointments + \(tasks) tasks) in "
        + String(format: "%.1f s", Date().timeIntervalSince(seedStart)))

/// A Radicale with each user's collections, started and waited for.
func startRadicale() async throws -> RadicaleProcess {
    let server = try RadicaleProcess(users: logins, password: password, fsync: fsync, program: "caldav-bench")
    do {
        try await server.waitUntilUp()
        for login in logins {
            for collection in collections {
                try await server.makeCollection(user: login, name: collection.name, components: collection.components)
            }
        }
    } catch {
        server.stop()
        throw error
    }
    return server
}

let serverVersion = radicaleVersion()
let radicale = try await startRadicale()
defer { radicale.stop(keep: keep) }
print(
    "Radicale 3 at \(radicale.baseURL) (pid \(radicale.pid), fsync \(fsync ? "on" : "off")), folder \(radicale.folder.path); "
        + "caldav-bench pid \(getpid())")
fflush(nil)

// Each user's account is the principal URL: the adapter finds the three collections by discovery.
let filters = [
    "contacts": ", filter: { merkmale: [Outlook-Sync], user_merkmal: true, match: all }"
]
let yaml = """
    state: { path: \(directory.path)/state.sqlite }
    adapters:
      flowfact: { type: flowfact-odbc, connection: "\(connection)", calendar_window: 3650d }
      groupware: { type: caldav, timezone: Europe/Berlin, max_concurrency: \(concurrency), batch_size: \(batch) }
    users:
    \(zip(shortNames, logins).map { "  - { id: \($0), flowfact: \($0), groupware: { url: \"\(radicale.baseURL)/\($1)/\", username: \($1), password: \"${CALDAV_PASSWORD}\" } }" }.joined(separator: "\n"))
    connectors:
    \(collections.map { "  - { name: \($0.connector), kind: \($0.kind.rawValue), source: flowfact, target: groupware\(filters[$0.connector] ?? "") }" }.joined(separator: "\n"))
    """
try yaml.write(to: directory.appendingPathComponent("connectors.yaml"), atomically: true, encoding: .utf8)
let deployment = try ConfigLoader(
    registry: AdapterRegistry(BuiltinAdapters.all), environment: ["CALDAV_PASSWORD": password]
).load(yaml: yaml, file: "caldav-bench.yaml", baseDirectory: directory)
var logger = Logger(label: "caldav-bench")
logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
let collectionCount = users * collections.count
// One host for all runs, as the service keeps one.
let host = try SyncHost(deployment: deployment, logger: logger)

struct Phase: Codable {
    var name: String
    var seconds: Double
    var items: Int
    var itemsPerSecond: Double
    /// Requests by method, from Radicale's log.
    var requests: [String: Int]
    /// Answers by status.
    var statuses: [String: Int]
    /// Radicale's own time for the requests, by method (summed; with parallel requests this
    /// includes the wait for its storage lock).
    var radicaleRequestSeconds: [String: Double]
    /// Requests per collection (the REPORTs on it and the requests on its items), by method.
    var requestsPerCollection: [String: [String: Int]]
    var databaseStatements: Int
    var cpuSeconds: Double
    var cpuMicrosecondsPerItem: Double?
    var peakRSSMB: Double
    var radicaleCPUSeconds: Double
    var radicalePeakRSSMB: Double
    /// The machine's CPU in the phase beyond connector-host and Radicale (other processes: a sign
    /// that the figures are disturbed), and its time waiting for I/O (all cores).
    var otherCPUSeconds: Double
    var ioWaitSeconds: Double
    /// Radicale's mean milliseconds per PUT by the items already in the collection (bucket start).
    var putMillisecondsByFill: [Int: Double]?
}

/// The machine's busy and I/O-wait seconds so far, summed over its cores (/proc/stat).
func machineCPU() -> (busy: Double, ioWait: Double) {
    guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
        let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
    else { return (0, 0) }
    // user nice system idle iowait irq softirq steal …
    let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard ticks.count >= 8 else { return (0, 0) }
    let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
    return ((ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]) / hertz, ticks[4] / hertz)
}

/// The load averages (1, 5, 15 minutes) from /proc/loadavg.
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3)
        .joined(separator: " ")
}
let loadBefore = loadAverage()

/// The collection a logged path belongs to: the path itself for a collection, else its parent.
func collectionPath(_ path: String) -> String {
    if path.hasSuffix("/") { return path }
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[...slash])
}

/// Radicale's mean time per new item (PUT answered 201) by how many items its collection held
/// before, in buckets of `bucket` items, in the order Radicale finished them.
func putTimesByFill(_ entries: [RadicaleEntry], bucket: Int) -> [Int: Double] {
    var filled: [String: Int] = [:]
    var sums: [Int: (Double, Int)] = [:]
    for entry in entries where entry.method == "PUT" && entry.status == 201 {
        let collection = collectionPath(entry.path)
        let before = filled[collection, default: 0]
        filled[collection] = before + 1
        let key = before / bucket * bucket
        let (sum, count) = sums[key] ?? (0, 0)
        sums[key] = (sum + entry.seconds, count + 1)
    }
    return sums.mapValues { $0.0 / Double($0.1) * 1000 }
}
let largestCollection = collections.map(\.perUser).max() ?? 0
let fillBucket = largestCollection <= 400 ? 50 : 250

/// The measured numbers of Radicale's answers after `offset`.
func tally(_ server: RadicaleProcess, from offset: UInt64) -> (
    requests: [String: Int], statuses: [String: Int], seconds: [String: Double], perCollection: [String: [String: Int]],
    entries: [RadicaleEntry]
) {
    let entries = server.entries(from: offset)
    var requests: [String: Int] = [:]
    var statuses: [String: Int] = [:]
    var seconds: [String: Double] = [:]
    var perCollection: [String: [String: Int]] = [:]
    for entry in entries {
        requests[entry.method, default: 0] += 1
        statuses["\(entry.status)", default: 0] += 1
        seconds[entry.method, default: 0] += entry.seconds
        perCollection[collectionPath(entry.path), default: [:]][entry.method, default: 0] += 1
    }
    return (requests, statuses, seconds, perCollection, entries)
}

@MainActor func measure(_ name: String, _ body: () async throws -> Int) async throws -> Phase {
    let offset = radicale.logOffset
    let statements = ODBCStatistics.statements
    resetPeakMemory()
    radicale.resetPeakMemory()
    let cpu = usage().cpu
    let radicaleCPU = radicale.cpuSeconds
    let machine = machineCPU()
    let start = Date()
    let startMark = monotonicSeconds()
    let items = try await body()
    let seconds = Date().timeIntervalSince(start)
    if printMarks { print(String(format: "mark %.6f %.6f %@", startMark, monotonicSeconds(), name)) }
    // Progress, also into a file or a pipe (fflush(nil): every output stream).
    print(String(format: "… %@: %.1f s", name, seconds))
    fflush(nil)
    let cpuUsed = usage().cpu - cpu
    let machineAfter = machineCPU()
    let radicaleUsed = radicale.cpuSeconds - radicaleCPU
    // Radicale writes its answer's log line just after sending it.
    try await Task.sleep(for: .milliseconds(200))
    let counted = tally(radicale, from: offset)
    let puts = counted.requests["PUT"] ?? 0
    return Phase(
        name: name, seconds: seconds, items: items, itemsPerSecond: items > 0 ? Double(items) / seconds : 0,
        requests: counted.requests, statuses: counted.statuses, radicaleRequestSeconds: counted.seconds,
        requestsPerCollection: counted.perCollection, databaseStatements: ODBCStatistics.statements - statements,
        cpuSeconds: cpuUsed, cpuMicrosecondsPerItem: items > 0 ? cpuUsed / Double(items) * 1e6 : nil,
        peakRSSMB: residentMemory().peakMB, radicaleCPUSeconds: radicaleUsed, radicalePeakRSSMB: radicale.memory.peakMB,
        otherCPUSeconds: max(0, machineAfter.busy - machine.busy - cpuUsed - radicaleUsed),
        ioWaitSeconds: machineAfter.ioWait - machine.ioWait,
        putMillisecondsByFill: puts >= 100 ? putTimesByFill(counted.entries, bucket: fillBucket) : nil)
}

@MainActor func runAll() async throws -> Int {
    let reports = await host.syncOnce(concurrency: jobs)
    if ProcessInfo.processInfo.environment["BENCH_VERBOSE"] != nil {
        for report in reports {
            FileHandle.standardError.write(Data("  \(report.job): \(report.status) \(report.counts)\n".utf8))
        }
    }
    if let failed = reports.first(where: { $0.status != .ok }) {
        throw BenchError("\(failed.job): \(failed.status) \(failed.message ?? "") \(failed.failures)")
    }
    return reports.reduce(0) { total, report in
        total
            + report.counts.filter { ["create", "update", "delete"].contains(where: $0.key.hasSuffix) }.values.reduce(
                0, +)
    }
}

var phases: [Phase] = []
phases.append(try await measure("initial full sync") { try await runAll() })
phases.append(try await measure("first run after (own writes listed back)") { try await runAll() })
phases.append(try await measure("no changes") { try await runAll() })
let quiet = phases[2]

// 1 % of the records change in FlowFact: the lowest ids, as sync-bench changes them.
let zone = TimeZone(identifier: "Europe/Berlin")!
let changedAt = ODBCValue.timestamp(ODBCTimestamp(Date(), in: zone))
try db.transaction {
    if addresses > 0 {
        let rows = try db.rows(
            "SELECT \"ID\" FROM \"AD\" ORDER BY \"ID\" LIMIT ?", [.integer(Int64(max(1, users * addresses / 100)))])
        for row in rows {
            try db.execute(
                "UPDATE \"AD\" SET \"POSITION\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
                [.text("geändert \(Int.random(in: 0...9999))"), changedAt, row[0]])
        }
    }
    let activities = users * (appointments + tasks) / 100
    if activities > 0 {
        let rows = try db.rows("SELECT \"ID\" FROM \"AKT\" ORDER BY \"ID\" LIMIT ?", [.integer(Int64(activities))])
        for row in rows {
            try db.execute(
                "UPDATE \"AKT\" SET \"BETREFF\" = \"BETREFF\" || ' (verschoben)', \"AENDDATUM\" = ? WHERE \"ID\" = ?",
                [changedAt, row[0]])
        }
    }
}
phases.append(try await measure("1 % changed in FlowFact") { try await runAll() })

// 1 % of the items change on the server, written by another client (the caldav adapter's own
// endpoint outside the host, as sync-bench edits the mailboxes): the items with the highest sync keys.
let groupware = deployment.adapters["groupware"]!
let editor = try groupware.type.make(
    groupware.settings, AdapterContext(instanceName: "editor", baseDirectory: directory, log: { _, _ in }))
for user in deployment.users {
    guard let account = user.binding.accounts["groupware"] else { continue }
    for collection in collections {
        let endpoint = try await editor.endpoint(
            for: EndpointScope(
                connector: "editor", kind: collection.kind, role: .target, user: user.binding.id, account: account))
        let all = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])).changes.compactMap {
            change -> ItemState? in
            if case .upsert(let state) = change { return state } else { return nil }
        }
        let edits = all.sorted { ($0.syncKey?.rawValue ?? "") > ($1.syncKey?.rawValue ?? "") }.prefix(
            max(1, all.count / 100)
        )
        .map { state -> WriteOperation in
            var record = state.record
            switch record {
            case .address(var value):
                value.notes = "auf dem Server geändert"
                record = .address(value)
            case .calendar(var value):
                value.body = "auf dem Server geändert"
                record = .calendar(value)
            case .task(var value):
                value.body = "auf dem Server geändert"
                record = .task(value)
            case .mail: break
            }
            let field = collection.kind == .address ? "notes" : "body"
            return .update(id: state.id, expectedVersion: state.version, record: record, fields: [field])
        }
        for result in try await endpoint.apply(Array(edits)) {
            if case .failure(let error) = result { throw BenchError("editing on the server: \(error)") }
        }
    }
}
await editor.shutdown()
phases.append(try await measure("1 % changed on the server") { try await runAll() })
await host.shutdown()

// Radicale's own pace: the same items PUT by a minimal client into a fresh server.
struct RawRun: Codable {
    var name: String
    var parallel: Int
    var seconds: Double
    var items: Int
    var itemsPerSecond: Double
    var requests: [String: Int]
    var statuses: [String: Int]
    var radicaleRequestSeconds: [String: Double]
    var radicaleCPUSeconds: Double
    var radicalePeakRSSMB: Double
    /// The raw client's CPU (Python).
    var clientCPUSeconds: Double
    /// PUTs sent again after a dropped connection.
    var connectionErrors: Int
    var otherCPUSeconds: Double
    var ioWaitSeconds: Double
    var putMillisecondsByFill: [Int: Double]?
}

/// CPU seconds of the child processes waited for so far.
func childrenCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}
var rawRuns: [RawRun] = []
let rawParallelism: [Int] =
    switch rawMode {
    case "both": [1, concurrency]
    case "sequential": [1]
    case "parallel": [concurrency]
    default: []
    }
let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("peer/caldav_raw_put.py")
for parallel in rawParallelism {
    let server = try await startRadicale()
    defer { server.stop() }
    let offset = server.logOffset
    server.resetPeakMemory()
    let cpu = server.cpuSeconds
    let machine = machineCPU()
    let ownCPU = usage().cpu
    let clientCPU = childrenCPU()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
        ["python3", script.path, server.baseURL, radicale.collectionRoot.path, password, "\(parallel)"] + logins
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let machineAfter = machineCPU()
    let radicaleUsed = server.cpuSeconds - cpu
    let clientUsed = childrenCPU() - clientCPU
    let others = machineAfter.busy - machine.busy - radicaleUsed - clientUsed - (usage().cpu - ownCPU)
    let line = data.split(separator: UInt8(ascii: "\n")).last.map { Data($0) } ?? Data()
    guard process.terminationStatus == 0,
        let result = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
        let items = result["items"] as? Int, let seconds = result["seconds"] as? Double
    else {
        throw BenchError("the raw PUT client failed: \(String(decoding: data, as: UTF8.self))")
    }
    try await Task.sleep(for: .milliseconds(200))
    let counted = tally(server, from: offset)
    rawRuns.append(
        RawRun(
            name: parallel == 1 ? "raw PUT, one at a time" : "raw PUT, \(parallel) at a time", parallel: parallel,
            seconds: seconds, items: items, itemsPerSecond: Double(items) / seconds, requests: counted.requests,
            statuses: counted.statuses, radicaleRequestSeconds: counted.seconds,
            radicaleCPUSeconds: radicaleUsed, radicalePeakRSSMB: server.memory.peakMB, clientCPUSeconds: clientUsed,
            connectionErrors: result["connectionErrors"] as? Int ?? 0,
            otherCPUSeconds: max(0, others), ioWaitSeconds: machineAfter.ioWait - machine.ioWait,
            putMillisecondsByFill: putTimesByFill(counted.entries, bucket: fillBucket)))
}

// Report.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
func methods(_ requests: [String: Int]) -> String {
    requests.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        .joined(separator: ", ")
}
func fill(_ times: [Int: Double]?) -> String {
    guard let times, !times.isEmpty else { return "" }
    return times.sorted { $0.key < $1.key }.map { String(format: "%d–: %.0f", $0.key, $0.value) }.joined(
        separator: ", ")
}
func number(_ value: Double, _ format: String = "%.2f") -> String { String(format: format, value) }
print(
    "\ncaldav benchmark (caldav ↔ Radicale \(serverVersion), fsync \(fsync ? "on" : "OFF (private _filesystem_fsync = False)")): "
        + "\(users) users × (\(addresses) addresses + \(appointments) appointments + \(tasks) tasks) = "
        + "\(users * (addresses + appointments + tasks)) items in \(collectionCount) collections; "
        + "max_concurrency \(concurrency), batch_size \(batch), \(jobs) jobs at once; "
        + "\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(loadBefore) before, \(loadAverage()) after"
)
print(
    pad("phase", 42) + pad("seconds", 9) + pad("items", 7) + pad("items/s", 8) + pad("requests", 9)
        + pad("DB stmts", 9) + pad("CPU s", 7) + pad("µs CPU/item", 12) + pad("RSS MB", 7) + pad("Radicale CPU s", 15)
        + pad("Radicale busy s", 16) + pad("Radicale RSS MB", 16) + pad("other CPU s", 12) + "iowait s")
for phase in phases {
    print(
        pad(phase.name, 42) + pad(number(phase.seconds), 9) + pad("\(phase.items)", 7)
            + pad(phase.items > 0 ? number(phase.itemsPerSecond, "%.1f") : "–", 8)
            + pad("\(phase.requests.values.reduce(0, +))", 9) + pad("\(phase.databaseStatements)", 9)
            + pad(number(phase.cpuSeconds), 7) + pad(phase.cpuMicrosecondsPerItem.map { number($0, "%.0f") } ?? "–", 12)
            + pad(number(phase.peakRSSMB, "%.0f"), 7) + pad(number(phase.radicaleCPUSeconds), 15)
            + pad(number(phase.radicaleRequestSeconds.values.reduce(0, +)), 16)
            + pad(number(phase.radicalePeakRSSMB, "%.0f"), 16) + pad(number(phase.otherCPUSeconds), 12)
            + number(phase.ioWaitSeconds))
    print("    requests: " + methods(phase.requests) + "; statuses: " + methods(phase.statuses))
    if let times = phase.putMillisecondsByFill {
        print("    Radicale ms per new item by items already in its collection: " + fill(times))
    }
}
for run in rawRuns {
    // The CPU column is the Python client's.
    print(
        pad(run.name, 42) + pad(number(run.seconds), 9) + pad("\(run.items)", 7)
            + pad(number(run.itemsPerSecond, "%.1f"), 8) + pad("\(run.requests.values.reduce(0, +))", 9) + pad("", 9)
            + pad(number(run.clientCPUSeconds), 7)
            + pad(number(run.clientCPUSeconds / Double(run.items) * 1e6, "%.0f"), 12)
            + pad("", 7) + pad(number(run.radicaleCPUSeconds), 15)
            + pad(number(run.radicaleRequestSeconds.values.reduce(0, +)), 16)
            + pad(number(run.radicalePeakRSSMB, "%.0f"), 16) + pad(number(run.otherCPUSeconds), 12)
            + number(run.ioWaitSeconds))
    print(
        "    requests: " + methods(run.requests) + "; statuses: " + methods(run.statuses)
            + " (CPU: the Python client's)"
            + (run.connectionErrors > 0 ? "; \(run.connectionErrors) PUTs sent again after a dropped connection" : ""))
    if let times = run.putMillisecondsByFill {
        print("    Radicale ms per new item by items already in its collection: " + fill(times))
    }
}

// The quiet run against the goal: one sync-collection REPORT per collection, nothing else.
let quietReports = quiet.requestsPerCollection.values.map { $0["REPORT"] ?? 0 }
let quietOthers = quiet.requests.filter { $0.key != "REPORT" }.values.reduce(0, +)
let offGoal = quiet.requestsPerCollection.filter { $0.value != ["REPORT": 1] }
let quietGoalMet = offGoal.isEmpty && quiet.requestsPerCollection.count == collectionCount
print(
    "\nno-change run: \(quiet.requests["REPORT"] ?? 0) REPORT for \(collectionCount) collections "
        + "(\(quietReports.min() ?? 0)–\(quietReports.max() ?? 0) each), \(quietOthers) other requests, "
        + "\(quiet.databaseStatements) FlowFact statements for \(collectionCount) jobs: "
        + (quietGoalMet
            ? "goal met (one REPORT per collection)"
            : "GOAL MISSED: "
                + offGoal.sorted { $0.key < $1.key }.map { "\($0.key) \(methods($0.value))" }.joined(separator: "; ")))
let initial = phases[0]
let wallShare = { (seconds: Double) in String(format: "%.0f %%", seconds / initial.seconds * 100) }
print(
    String(
        format:
            "initial sync: %.1f s wall; connector-host CPU %.1f s (%@ of wall), Radicale CPU %.1f s (%@), Radicale busy with requests %.1f s (%@), other processes %.1f s CPU, I/O wait %.1f s",
        initial.seconds, initial.cpuSeconds, wallShare(initial.cpuSeconds), initial.radicaleCPUSeconds,
        wallShare(initial.radicaleCPUSeconds), initial.radicaleRequestSeconds.values.reduce(0, +),
        wallShare(initial.radicaleRequestSeconds.values.reduce(0, +)), initial.otherCPUSeconds, initial.ioWaitSeconds))
for run in rawRuns {
    print(
        String(
            format: "connector-host initial sync %.1f items/s = %.2f× the raw PUT pace %@ (%.1f PUT/s)",
            initial.itemsPerSecond, initial.itemsPerSecond / max(run.itemsPerSecond, 0.001),
            run.parallel == 1 ? "one at a time" : "\(run.parallel) at a time", run.itemsPerSecond))
}

if !jsonPath.isEmpty {
    var object: [String: Any] = [
        "server": "Radicale \(serverVersion)", "fsync": fsync, "users": users, "addresses": addresses,
        "appointments": appointments, "tasks": tasks, "concurrency": concurrency, "batch": batch, "jobs": jobs,
        "cores": ProcessInfo.processInfo.activeProcessorCount, "loadAverageBefore": loadBefore,
        "loadAverageAfter": loadAverage(),
        "phases": try JSONSerialization.jsonObject(with: JSONEncoder().encode(phases)),
        "raw": try JSONSerialization.jsonObject(with: JSONEncoder().encode(rawRuns)),
    ]
    object["quietGoalMet"] = quietGoalMet
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(
        to: URL(fileURLWithPath: jsonPath))
    print("JSON: \(jsonPath)")
}

// For CI: a no-change run that costs more than one REPORT per collection fails the program.
if !quietGoalMet {
    FileHandle.standardError.write(
        Data("caldav-bench: the no-change run missed its goal of one REPORT per collection\n".utf8))
    // exit skips the defers.
    radicale.stop(keep: keep)
    if !keep { try? FileManager.default.removeItem(at: directory) }
    exit(3)
}

/// Seconds on CLOCK_MONOTONIC, the clock perf stamps its samples with.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
