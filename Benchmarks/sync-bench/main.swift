// The sync benchmark: FlowFact (SQLite through ODBC) ↔ the ews adapter ↔ exchange-sim (its own
// process, with a given latency per request). Seeds U users × (C addresses + A appointments + T
// tasks), then measures the initial full sync, the first run after it (which reads the service's own
// writes back once), a run with no changes, and a run after 1 % of the records changed on each side:
// wall time, EWS requests by operation, items/s, bytes, database statements, peak RSS and CPU per
// item of connector-host and of the simulator. Optionally runs Python's exchangelib against the same
// simulator creating the same number of contacts with its bulk operations, so the ratio is measured
// in one run on one machine. Prints a table and, with --json FILE, JSON.
//
//   scripts/bench.sh --users 2 --addresses 500 --appointments 0 --tasks 0 --latency-ms 5 --peer
//
// --storm adds an initial sync under faults (see below) and prints it beside the fault-free one.
//
// --protocol webdav runs the same against the exchange-webdav adapter and the simulator as Exchange
// 2003/2007 (requests are then WebDAV methods: PROPFIND, SEARCH, PROPPATCH, PUT, BPROPFIND …).
//
// --sim-url URL uses a simulator started by hand (with the mailboxes --print-mailboxes lists) instead
// of starting one; scripts/profile.sh does so to profile this program alone.
import BenchSupport
import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import HTTP
import Logging
import ODBC

func integer(_ name: String, _ fallback: Int) -> Int { BenchSupport.integer(name, fallback, program: "sync-bench") }

let users = integer("--users", 2)
let addresses = integer("--addresses", 500)
let appointments = integer("--appointments", 0)
let tasks = integer("--tasks", 0)
let latency = integer("--latency-ms", 5)
let concurrency = integer("--concurrency", 8)
// Jobs (connector × user) at once: the service's default unless given.
let jobs = integer("--jobs", ServiceSettings().concurrency)
let batch = integer("--batch", 100)
let schemas = option("--schemas", ProcessInfo.processInfo.environment["EWS_SCHEMAS"] ?? "../shared/ews-schema")
let jsonPath = option("--json", "")
let webdav = option("--protocol", "ews") == "webdav"
let runPeer = CommandLine.arguments.contains("--peer") && !webdav
// --storm: the initial sync again, into a second simulator that answers 15 % of requests with
// ErrorServerBusy (and stops batches at an item), 5 % with HTTP 503 and drops 5 % of connections.
let runStorm = CommandLine.arguments.contains("--storm")
// For scripts/profile.sh: each phase's start and end on the monotonic clock (perf's time base).
let printMarks = CommandLine.arguments.contains("--marks")
let peerCount = integer("--peer-items", min(max(addresses, 100), 2000))
let executableDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let simBinary = option("--sim", executableDirectory.appendingPathComponent("exchange-sim").path)

let mailboxes = (0..<users).map { "\(FlowFactSeeder.shortName($0).lowercased())@example.test" }
// --print-mailboxes: the mailboxes a simulator started by hand needs (for --sim-url), then exit.
if CommandLine.arguments.contains("--print-mailboxes") {
    print((mailboxes + ["peer@example.test"]).joined(separator: " "))
    exit(0)
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sync-bench-\(getpid())")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

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
        + String(format: "%.1f s, peak RSS so far %.0f MB", Date().timeIntervalSince(seedStart), usage().peakMB))

// Exchange: the simulator in its own process, so CPU and memory below are connector-host's alone.
let externalSim = option("--sim-url", "")
let sim =
    externalSim.isEmpty
    ? SimProcess(
        binary: simBinary, schemas: schemas, latencyMilliseconds: latency, account: "svc@example.test:bench",
        mailboxes: mailboxes + ["peer@example.test"], program: "sync-bench",
        extraArguments: webdav ? ["--protocol", "both", "--delegate", "svc@example.test"] : [])
    : SimProcess(external: externalSim)
defer { sim.stop() }
let url = sim.url
let exchangeAdapter =
    webdav
    ? "{ type: exchange-webdav, url: \"\(url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/exchange/"))\", auth: basic, username: svc@example.test, password: bench, max_concurrency: \(concurrency), batch_size: \(batch), page_size: 500 }"
    : "{ type: ews, url: \"\(url)\", auth: basic, username: svc@example.test, password: bench, max_concurrency: \(concurrency), batch_size: \(batch), read_batch_size: \(batch) }"

@MainActor func simStats() async throws -> [String: Double] { try await sim.stats() }

var connectors = [
    "  - { name: contacts, kind: address, source: flowfact, target: exchange, filter: { merkmale: [Outlook-Sync], user_merkmal: true, match: all } }"
]
if appointments > 0 { connectors.append("  - { name: calendar, kind: calendar, source: flowfact, target: exchange }") }
if tasks > 0 { connectors.append("  - { name: tasks, kind: task, source: flowfact, target: exchange }") }
let yaml = """
    state: { path: \(directory.path)/state.sqlite }
    adapters:
      flowfact: { type: flowfact-odbc, connection: "\(connection)", calendar_window: 3650d }
      exchange: \(exchangeAdapter)
    users:
    \((0..<users).map { "  - { id: \(FlowFactSeeder.shortName($0)), flowfact: \(FlowFactSeeder.shortName($0)), exchange: \(mailboxes[$0]) }" }.joined(separator: "\n"))
    connectors:
    \(connectors.joined(separator: "\n"))
    """
let deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
    yaml: yaml, file: "bench.yaml", baseDirectory: directory)
var logger = Logger(label: "bench")
logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
let folders = users * connectors.count
// One host for all runs, as the service keeps one.
let host = try SyncHost(deployment: deployment, logger: logger)

struct Phase: Codable {
    var name: String
    var seconds: Double
    var items: Int
    var itemsPerSecond: Double
    var requests: [String: Int]
    var bytesSent: Int
    var bytesReceived: Int
    var databaseStatements: Int
    var peakRSSMB: Double
    var cpuMicrosecondsPerItem: Double?
    var simulatorCPUSeconds: Double
    var floorSeconds: Double?
}

@MainActor func measure(_ name: String, floor: (([String: Int]) -> Int)? = nil, _ body: () async throws -> Int)
    async throws
    -> Phase
{
    let before = try await simStats()
    let statements = ODBCStatistics.statements
    let cpu = usage().cpu
    let start = Date()
    let startMark = monotonicSeconds()
    let items = try await body()
    let seconds = Date().timeIntervalSince(start)
    if printMarks { print(String(format: "mark %.6f %.6f %@", startMark, monotonicSeconds(), name)) }
    let after = try await simStats()
    let delta = after.merging(before) { $0 - $1 }
    var requests: [String: Int] = [:]
    for (key, value) in delta where isRequest(key) && value > 0 {
        requests[key] = Int(value)
    }
    let floorSeconds = floor.map { Double($0(requests)) * Double(latency) / 1000 / Double(concurrency) }
    let now = usage()
    return Phase(
        name: name, seconds: seconds, items: items, itemsPerSecond: items > 0 ? Double(items) / seconds : 0,
        requests: requests, bytesSent: Int(delta["bytesIn"] ?? 0), bytesReceived: Int(delta["bytesOut"] ?? 0),
        databaseStatements: ODBCStatistics.statements - statements, peakRSSMB: now.peakMB,
        cpuMicrosecondsPerItem: items > 0 ? (now.cpu - cpu) / Double(items) * 1e6 : nil,
        simulatorCPUSeconds: delta["cpuSeconds"] ?? 0, floorSeconds: floorSeconds)
}

/// A request counter of the simulator's statistics: EWS operations (`CreateItem`) and WebDAV
/// methods (`davPROPPATCH`), not faults or write tallies.
func isRequest(_ key: String) -> Bool {
    (key.first?.isUppercase == true && key != "ErrorServerBusy") || (key.hasPrefix("dav") && !key.contains(":"))
}

@MainActor func runAll() async throws -> Int {
    let reports = await host.syncOnce(concurrency: jobs)
    if ProcessInfo.processInfo.environment["BENCH_VERBOSE"] != nil {
        for report in reports {
            FileHandle.standardError.write(Data("  \(report.job): \(report.status) \(report.counts)\n".utf8))
        }
    }
    if let failed = reports.first(where: { $0.status != .ok }) {
        throw NSError(
            domain: "sync-bench", code: 1,
            userInfo: [NSLocalizedDescriptionKey: "\(failed.job): \(failed.status) \(failed.message ?? "")"])
    }
    return reports.reduce(0) { total, report in
        total
            + report.counts.filter { ["create", "update", "delete"].contains(where: $0.key.hasSuffix) }.values.reduce(
                0, +)
    }
}

var phases: [Phase] = []
let perFolder = [addresses, appointments, tasks].filter { $0 > 0 }
// The floor: the requests a perfect client needs (GetFolder and SyncFolderItems per folder, then
// CreateItem at full batch size), times the latency, divided by the allowed concurrency.
// Over WebDAV each item is its own write (there is no batch create): discovery, PROPFIND and SEARCH
// per folder, one PROPPATCH or PUT per item and one BPROPFIND per batch for the new etags.
phases.append(
    try await measure(
        "initial full sync",
        floor: { _ in
            users
                * perFolder.reduce(0) {
                    $0 + (webdav ? 3 + $1 + ($1 + batch - 1) / batch : 2 + ($1 + batch - 1) / batch)
                }
        }, { try await runAll() }))
phases.append(try await measure("first run after (reads own writes back)") { try await runAll() })
phases.append(try await measure("no changes") { try await runAll() })
// For profiling the quiet path: BENCH_QUIET_REPEAT=N repeats the no-change run (not reported).
let quietRepeats = Int(ProcessInfo.processInfo.environment["BENCH_QUIET_REPEAT"] ?? "") ?? 0
for _ in 0..<quietRepeats { _ = try await runAll() }

// 1 % of the records change on each side: FlowFact edits the lowest ids, each mailbox the highest.
let zone = TimeZone(identifier: "Europe/Berlin")!
let changedAt = ODBCValue.timestamp(ODBCTimestamp(Date(), in: zone))
try db.transaction {
    let addressRows = try db.rows(
        "SELECT \"ID\" FROM \"AD\" ORDER BY \"ID\" LIMIT ?", [.integer(Int64(max(1, users * addresses / 100)))])
    for row in addressRows {
        try db.execute(
            "UPDATE \"AD\" SET \"POSITION\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [.text("geändert \(Int.random(in: 0...9999))"), changedAt, row[0]])
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
let exchangeType = deployment.adapters["exchange"]!.type
let exchange = try exchangeType.make(
    deployment.adapters["exchange"]!.settings,
    AdapterContext(instanceName: "outlook", baseDirectory: directory, log: { _, _ in }))
for mailbox in mailboxes {
    for kind in [DataKind.address, .calendar, .task]
    where (kind == .address || (kind == .calendar ? appointments : tasks) > 0) {
        let endpoint = try await exchange.endpoint(
            for: EndpointScope(
                connector: "outlook", kind: kind, role: .target, user: "X",
                account: exchangeType.account(on: "exchange", ["mailbox": mailbox])))
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
                value.notes = "in Outlook geändert"
                record = .address(value)
            case .calendar(var value):
                value.body = "in Outlook geändert"
                record = .calendar(value)
            case .task(var value):
                value.body = "in Outlook geändert"
                record = .task(value)
            case .mail: break
            }
            let field = kind == .address ? "notes" : "body"
            return .update(id: state.id, expectedVersion: state.version, record: record, fields: [field])
        }
        _ = try await endpoint.apply(Array(edits))
    }
}
await exchange.shutdown()
phases.append(try await measure("1 % changed on each side") { try await runAll() })
await host.shutdown()

// The storm: the same initial sync into a simulator with faults, from a fresh state, run again
// until it succeeds (three runs at most); then compared with the fault-free simulator's items.
struct Storm: Codable {
    var runs: Int
    var seconds: Double
    var faultFreeSeconds: Double
    var retries: Int
    var waitedSeconds: Double
    var causes: [String: Int]
    var faults: [String: Int]
    var items: Int
    var expectedItems: Int
    var openFailures: Int
    var deadLetters: Int
}
var storm: Storm?
if runStorm {
    let expectedItems = Int(try await simStats()["items"] ?? 0)
    let faulty = SimProcess(
        binary: simBinary, schemas: schemas, latencyMilliseconds: latency, account: "svc@example.test:bench",
        mailboxes: mailboxes, program: "sync-bench",
        extraArguments: ["--busy-rate", "0.15", "--unavailable-rate", "0.05", "--drop-rate", "0.05", "--seed", "15"]
            + (webdav ? ["--protocol", "both", "--delegate", "svc@example.test"] : []))
    defer { faulty.stop() }
    let stormYAML =
        yaml
        .replacingOccurrences(of: "\(directory.path)/state.sqlite", with: "\(directory.path)/storm-state.sqlite")
        .replacingOccurrences(
            of: url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: ""),
            with: faulty.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: ""))
    let stormHost = try SyncHost(
        deployment: try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: stormYAML, file: "storm.yaml", baseDirectory: directory), logger: logger)
    let start = Date()
    var runs = 0
    var retries = RetryStatistics()
    var reports: [RunReport] = []
    repeat {
        runs += 1
        reports = await stormHost.syncOnce(concurrency: jobs)
        for report in reports { retries.add(report.retries) }
    } while runs < 3 && reports.contains { $0.status != .ok }
    let seconds = Date().timeIntervalSince(start)
    await stormHost.shutdown()
    var openFailures = 0
    var deadLetters = 0
    for report in reports {
        let failures = try stormHost.store.failures(report.job)
        openFailures += failures.count
        deadLetters += failures.filter(\.dead).count
    }
    let stats = try await faulty.stats()
    let waited = retries.waited.components
    storm = Storm(
        runs: runs, seconds: seconds, faultFreeSeconds: phases[0].seconds, retries: retries.retries,
        waitedSeconds: Double(waited.seconds) + Double(waited.attoseconds) / 1e18, causes: retries.causes,
        faults: [
            "ErrorServerBusy": Int(stats["ErrorServerBusy"] ?? 0), "HTTP 503": Int(stats["faultUnavailable"] ?? 0),
            "dropped": Int(stats["faultDropped"] ?? 0),
        ], items: Int(stats["items"] ?? 0), expectedItems: expectedItems, openFailures: openFailures,
        deadLetters: deadLetters)
}

// The peer: exchangelib creating contacts with bulk_create at the same concurrency, same simulator.
var peer: [String: Any]?
if runPeer {
    let before = try await simStats()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("peer/exchangelib_peer.py")
    process.arguments = [
        "python3", script.path, url, "svc@example.test", "bench", "peer@example.test", "\(peerCount)", "\(concurrency)",
        "\(batch)",
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = data.split(separator: UInt8(ascii: "\n")).last.map { Data($0) } ?? Data()
    peer = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
    if peer == nil {
        print("peer: exchangelib did not run (pip install exchangelib): \(String(decoding: data, as: UTF8.self))")
    } else {
        let after = try await simStats()
        peer?["requests"] = after.merging(before) { $0 - $1 }.filter {
            $0.key.first?.isUppercase == true && $0.value > 0
        }
        .mapValues(Int.init)
        peer?["simulatorCPUSeconds"] = (after["cpuSeconds"] ?? 0) - (before["cpuSeconds"] ?? 0)
    }
}

// Report.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
print(
    "\nsync benchmark (\(webdav ? "exchange-webdav, Exchange 2003/2007 WebDAV" : "ews, EWS")): \(users) users × (\(addresses) addresses + \(appointments) appointments + \(tasks) tasks); "
        + "latency \(latency) ms, concurrency \(concurrency), batch \(batch), \(jobs) jobs at once")
print(
    pad("phase", 40) + pad("seconds", 9) + pad("items", 8) + pad("items/s", 9) + pad("requests", 9)
        + pad("MB out/in", 11) + pad("DB stmts", 9) + pad("RSS MB", 8) + pad("µs CPU/item", 12) + pad("sim CPU s", 10)
        + "floor s")
for phase in phases {
    print(
        pad(phase.name, 40) + pad(String(format: "%.2f", phase.seconds), 9) + pad("\(phase.items)", 8)
            + pad(String(format: "%.0f", phase.itemsPerSecond), 9) + pad("\(phase.requests.values.reduce(0, +))", 9)
            + pad(String(format: "%.1f/%.1f", Double(phase.bytesSent) / 1e6, Double(phase.bytesReceived) / 1e6), 11)
            + pad("\(phase.databaseStatements)", 9) + pad(String(format: "%.0f", phase.peakRSSMB), 8)
            + pad(phase.cpuMicrosecondsPerItem.map { String(format: "%.0f", $0) } ?? "-", 12)
            + pad(String(format: "%.2f", phase.simulatorCPUSeconds), 10)
            + (phase.floorSeconds.map { String(format: "%.2f (×%.1f)", $0, phase.seconds / max($0, 0.000_001)) } ?? "-")
    )
    print("    " + phase.requests.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
}
let quiet = phases[2]
if webdav {
    let writes = ["davPROPPATCH", "davPUT", "davDELETE"].reduce(0) { $0 + (quiet.requests[$1] ?? 0) }
    print(
        "no-change run: \(quiet.requests["davPROPFIND"] ?? 0) PROPFIND and \(quiet.requests["davSEARCH"] ?? 0) SEARCH "
            + "for \(folders) folders, \(writes) writes, \(quiet.databaseStatements) database statements for \(folders) jobs"
    )
} else {
    let writes = ["CreateItem", "UpdateItem", "DeleteItem"].reduce(0) { $0 + (quiet.requests[$1] ?? 0) }
    print(
        "no-change run: \(quiet.requests["SyncFolderItems"] ?? 0) SyncFolderItems for \(folders) folders, "
            + "\(quiet.requests["GetItem"] ?? 0) GetItem, \(writes) writes, \(quiet.databaseStatements) database statements "
            + "for \(folders) jobs")
}
if let peer, let rate = peer["itemsPerSecond"] as? Double {
    let ours = phases[0].itemsPerSecond
    print(
        String(
            format:
                "peer exchangelib: %d contacts in %.2f s = %.0f items/s; connector-host initial sync %.0f items/s = %.1f× exchangelib",
            peer["items"] as? Int ?? 0, peer["seconds"] as? Double ?? 0, rate, ours, ours / max(rate, 0.001)))
}
if let storm {
    print(
        String(
            format:
                "storm (%@5 %% 503, 5 %% drops): initial sync in %d run%@, %.2f s (fault-free %.2f s, ×%.1f); "
                + "%d retries, %.1f s waited; faults injected: %@; items %d of %d, %d failures open, %d dead letters%@",
            webdav ? "" : "15 % busy, ", storm.runs, storm.runs == 1 ? "" : "s", storm.seconds, storm.faultFreeSeconds,
            storm.seconds / max(storm.faultFreeSeconds, 0.001), storm.retries, storm.waitedSeconds,
            storm.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
            storm.items, storm.expectedItems, storm.openFailures, storm.deadLetters,
            storm.items == storm.expectedItems && storm.openFailures == 0
                ? ": nothing lost or duplicated" : ": ITEMS DIFFER"))
}
if !jsonPath.isEmpty {
    var object: [String: Any] = [
        "protocol": webdav ? "webdav" : "ews", "users": users, "addresses": addresses, "appointments": appointments,
        "tasks": tasks, "latencyMs": latency,
        "concurrency": concurrency, "batch": batch, "jobs": jobs,
        "phases": try JSONSerialization.jsonObject(with: JSONEncoder().encode(phases)),
    ]
    if let peer { object["peer"] = peer }
    if let storm { object["storm"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(storm)) }
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(
        to: URL(fileURLWithPath: jsonPath))
    print("JSON: \(jsonPath)")
}

if let storm, storm.items != storm.expectedItems || storm.openFailures > 0 {
    FileHandle.standardError.write(Data("sync-bench: the storm lost or duplicated items\n".utf8))
    sim.stop()
    exit(3)
}

/// Seconds on CLOCK_MONOTONIC, the clock perf stamps its samples with.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
