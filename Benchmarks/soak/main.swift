// The soak: the service (`connector-host run`, its own process) keeps FlowFact (SQLite through
// ODBC) and exchange-sim (its own process) in step for many mailboxes while the simulator answers
// with ErrorServerBusy, HTTP 503 and dropped connections, a driver changes records on both sides
// the whole time, and the service is killed with SIGKILL now and then, as a server reboot would.
// Then the same changes are made in an undisturbed reference run (same seed, no faults, no kills)
// and both sides of both runs are compared record by record: nothing may be lost or duplicated.
//
//   scripts/soak.sh [--users 20] [--seconds 120] [--kills 3] [--step-ms 200]
//
// The engine is set to make dead letters after two runs (`dead_letter_after_runs: 2`), so an item
// that a transient fault turned into a dead letter shows as lost. After the last change the service
// runs --settle seconds more; then `sync --once` must find nothing (a second run at most) to do.
// Prints the changes made, kills, faults injected, the service's RSS and open file descriptors per
// run of the service, the final differences, and exits 1 when anything differs or is left open.
import BenchSupport
import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import ODBC

func integer(_ name: String, _ fallback: Int) -> Int { BenchSupport.integer(name, fallback, program: "soak") }

let users = integer("--users", 20)
let addresses = integer("--addresses", 60)
let appointments = integer("--appointments", 60)
let tasks = integer("--tasks", 20)
let seconds = integer("--seconds", 120)
let kills = integer("--kills", 3)
let stepMilliseconds = integer("--step-ms", 200)
// After the last change the service runs this long before it is stopped and checked.
let settle = integer("--settle", 20)
let latency = integer("--latency-ms", 2)
let seed = UInt64(integer("--seed", 7))
let schemas = option("--schemas", ProcessInfo.processInfo.environment["EWS_SCHEMAS"] ?? "../shared/ews-schema")
let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let hostBinary = option("--connector-host", binDirectory.appendingPathComponent("connector-host").path)
let simBinary = option("--sim", binDirectory.appendingPathComponent("exchange-sim").path)
let zone = TimeZone(identifier: "Europe/Berlin")!
// Both runs seed the same records: dates hang off one fixed moment, not the clock.
let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86400).rounded(.down) * 86400)
let shortNames = (0..<users).map(FlowFactSeeder.shortName)
let mailboxes = shortNames.map { "\($0.lowercased())@example.test" }

/// One change the driver makes; the list is drawn before either run, so both make the same ones.
enum Step {
    case flowfactEditAddress(user: Int, pick: Int, text: String)
    case flowfactNewAppointment(user: Int, number: Int, dayOffset: Int, hour: Int)
    case flowfactEditAppointment(user: Int, pick: Int, text: String)
    case flowfactDeleteAppointment(user: Int, pick: Int)
    case exchangeNewContact(user: Int, number: Int)
    case exchangeEditContact(user: Int, pick: Int, text: String)
    case exchangeDeleteContact(user: Int, pick: Int)

    var name: String {
        switch self {
        case .flowfactEditAddress: "FlowFact: address edited"
        case .flowfactNewAppointment: "FlowFact: appointment created"
        case .flowfactEditAppointment: "FlowFact: appointment edited"
        case .flowfactDeleteAppointment: "FlowFact: appointment deleted"
        case .exchangeNewContact: "Exchange: contact created"
        case .exchangeEditContact: "Exchange: contact edited"
        case .exchangeDeleteContact: "Exchange: contact deleted"
        }
    }
}

let stepCount = seconds * 1000 / max(stepMilliseconds, 1)
let steps: [Step] = {
    var random = SeededRandom(seed: seed)
    var result: [Step] = []
    for number in 0..<stepCount {
        let user = random.next(below: users)
        let text = "Änderung \(number)"
        switch random.next(below: 10) {
        case 0, 1: result.append(.flowfactEditAddress(user: user, pick: random.next(below: 1000), text: text))
        case 2, 3:
            result.append(
                .flowfactNewAppointment(
                    user: user, number: number, dayOffset: random.next(below: 20), hour: 8 + random.next(below: 9)))
        case 4: result.append(.flowfactEditAppointment(user: user, pick: random.next(below: 1000), text: text))
        case 5: result.append(.flowfactDeleteAppointment(user: user, pick: random.next(below: 1000)))
        case 6, 7: result.append(.exchangeNewContact(user: user, number: number))
        case 8: result.append(.exchangeEditContact(user: user, pick: random.next(below: 1000), text: text))
        default: result.append(.exchangeDeleteContact(user: user, pick: random.next(below: 1000)))
        }
    }
    return result
}()

/// Every record of both sides, per side, user and kind, as canonical JSON.
typealias Snapshot = [String: [String]]

struct Outcome {
    var snapshot: Snapshot
    var changes: [String: Int] = [:]
    var kills = 0
    var faults: [String: Int] = [:]
    var convergenceRuns = 0
    /// Jobs that still found work after the service stopped, per convergence run (a few).
    var unsettled: [String] = []
    var disabledMailboxes: [String] = []
    var openFailures = 0
    /// The open failures (dead letters included) as connector / user: operation, item, message.
    var failureDetails: [String] = []
    /// The service's resident memory (MB) and open descriptors, sampled each second, per incarnation.
    var samples: [[(rss: Double, fds: Int)]] = []
    var seconds = 0.0
    /// The run's files (databases, config, the service's log): removed when the soak passes.
    var directory: URL?
}

/// The service as a process: started, killed, stopped; its memory and descriptors sampled.
final class Service {
    let config: URL
    let log: FileHandle
    var process: Process?

    init(config: URL, log: URL) throws {
        self.config = config
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        self.log = try FileHandle(forWritingTo: log)
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hostBinary)
        process.arguments = ["run", "--config", config.path]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
    }

    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    func sample() -> (rss: Double, fds: Int)? {
        guard let process, process.isRunning else { return nil }
        let pid = process.processIdentifier
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (kilobytes / 1024, fds)
    }
}

@MainActor
func run(faults: Bool) async throws -> Outcome {
    let started = Date()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "soak-\(faults ? "storm" : "reference")-\(getpid())")
    try? FileManager.default.removeItem(at: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

    // FlowFact, seeded the same way in both runs.
    let connection = "Driver=SQLite3;Database=\(directory.path)/flowfact.sqlite;Timeout=30000"
    let db = try ODBCConnection(connectionString: connection)
    let seeder = FlowFactSeeder(connection: db)
    try seeder.initialize()
    try seeder.seed(
        FlowFactSeeder.Counts(
            users: users, addresses: addresses, appointments: appointments, tasks: tasks, mails: 0, seed: seed,
            syncShare: 1),
        now: base)

    // Exchange, with the storm switched on for the soak.
    let faultArguments =
        faults
        ? ["--busy-rate", "0.15", "--unavailable-rate", "0.05", "--drop-rate", "0.05", "--seed", "\(seed)"] : []
    let sim = SimProcess(
        binary: simBinary, schemas: schemas, latencyMilliseconds: latency, account: "svc@example.test:soak",
        mailboxes: mailboxes, program: "soak", extraArguments: faultArguments)
    defer { sim.stop() }

    let yaml = """
        state: { path: \(directory.path)/state.sqlite }
        engine: { retry_backoff: 100ms, dead_letter_after_runs: 2 }
        service: { concurrency: 4, max_idle_interval: 2s, failure_backoff: 1s, metrics_address: "127.0.0.1:0", log_format: logfmt }
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)", calendar_window: 3650d }
          exchange: { type: ews, url: "\(sim.url)", auth: basic, username: svc@example.test, password: soak, batch_size: 50 }
        users:
        \(zip(shortNames, mailboxes).map { "  - { id: \($0), flowfact: \($0), exchange: \($1) }" }.joined(separator: "\n"))
        connectors:
          - { name: contacts, kind: address, source: flowfact, target: exchange, interval: 1s, filter: { merkmale: [Outlook-Sync], user_merkmal: true, match: all }, deletion: { source: propagate, target: propagate } }
          - { name: calendar, kind: calendar, source: flowfact, target: exchange, interval: 1s, deletion: { source: propagate, target: propagate } }
          - { name: tasks, kind: task, source: flowfact, target: exchange, interval: 1s, deletion: { source: propagate, target: propagate } }
        """
    let config = directory.appendingPathComponent("connectors.yaml")
    try yaml.write(to: config, atomically: true, encoding: .utf8)
    let deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
        path: config.path)
    let exchange = try EWSAdapter.type.make(
        deployment.adapters["exchange"]!.settings,
        AdapterContext(instanceName: "driver", baseDirectory: directory, log: { _, _ in }))
    defer { Task { await exchange.shutdown() } }

    // What the driver picks from: per user, the seeded addresses and its own appointments and
    // contacts (in creation order; deleted ones leave the list).
    var userAddresses: [[String]] = []
    var userAppointments: [[String]] = []
    var userContacts: [[String]] = Array(repeating: [], count: users)
    for index in 0..<users {
        let owner = FlowFactSeeder.fixedID("user", index)
        userAddresses.append(
            try db.rows("SELECT \"ID\" FROM \"AD\" WHERE \"BESITZER_ID\" = ? ORDER BY \"ID\"", [.text(owner)])
                .compactMap {
                    $0[0].string
                })
        userAppointments.append(
            try db.rows(
                "SELECT \"ID\" FROM \"AKT\" WHERE \"BESITZER_ID\" = ? AND \"AKTART_ID\" = ? ORDER BY \"ID\"",
                [.text(owner), .text(FlowFactSeeder.fixedID("type", 0))]
            ).compactMap { $0[0].string })
    }
    var endpoints: [Int: any SyncEndpoint] = [:]
    func contacts(_ user: Int) async throws -> any SyncEndpoint {
        if let endpoint = endpoints[user] { return endpoint }
        let endpoint = try await exchange.endpoint(
            for: EndpointScope(
                connector: "driver", kind: .address, role: .target, user: shortNames[user],
                account: EWSAdapter.type.account(on: "exchange", ["mailbox": mailboxes[user]])))
        endpoints[user] = endpoint
        return endpoint
    }
    /// An Outlook user's write: tried again until the server takes it (a create whose answer was
    /// lost is looked for by its key first, so the driver makes no duplicates of its own).
    func write(_ user: Int, _ operation: WriteOperation) async throws -> ItemID? {
        let endpoint = try await contacts(user)
        var last = ""
        for attempt in 1...30 {
            if attempt > 1, case .create(let key, _) = operation,
                let found = try? await endpoint.find(syncKeys: [key])[key]
            {
                return found.id
            }
            do {
                var operation = operation
                // An edit in Outlook is made on the item as it is now (EWS wants its change key).
                if case .update(let id, nil, let record, let fields) = operation {
                    guard let current = try await endpoint.read(ids: [id])[id] else { return nil }
                    operation = .update(id: id, expectedVersion: current.version, record: record, fields: fields)
                }
                let result = try await endpoint.apply([operation]).first
                if case .success(let id, _, _)? = result { return id }
                last = "\(result.map { "\($0)" } ?? "no result")"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100 * attempt))
        }
        throw NSError(
            domain: "soak", code: 2,
            userInfo: [NSLocalizedDescriptionKey: "the driver's write never went through: \(operation): \(last)"])
    }
    func stamp() -> ODBCValue { .timestamp(ODBCTimestamp(Date(), in: zone)) }
    func database(_ body: () throws -> Void) throws {
        // The service writes to the same SQLite file: a locked database is waited for.
        for attempt in 1...50 {
            do { return try db.transaction { try body() } } catch  where attempt < 50 {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    var outcome = Outcome(snapshot: [:])
    let service = try Service(config: config, log: directory.appendingPathComponent("service.log"))
    try service.start()
    outcome.samples.append([])
    let killEvery = kills > 0 && faults ? steps.count / (kills + 1) : Int.max
    var lastSample = Date()
    for (number, step) in steps.enumerated() {
        let stepStart = Date()
        if number > 0 && number % killEvery == 0 && outcome.kills < kills {
            service.kill()
            outcome.kills += 1
            try service.start()
            outcome.samples.append([])
        }
        switch step {
        case .flowfactEditAddress(let user, let pick, let text):
            guard !userAddresses[user].isEmpty else { break }
            let id = userAddresses[user][pick % userAddresses[user].count]
            try database {
                try db.execute(
                    "UPDATE \"AD\" SET \"POSITION\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
                    [.text(text), stamp(), .text(id)])
            }
        case .flowfactNewAppointment(let user, let number, let dayOffset, let hour):
            let id = String(format: "50A4A000-0000-4000-8000-%012d", number)
            let start = base.addingTimeInterval(Double(dayOffset) * 86400 + Double(hour) * 3600)
            try database {
                try db.execute(
                    """
                    INSERT INTO "AKT" ("ID", "AKTART_ID", "BETREFF", "TEXT", "DATUM", "ENDE", "GANZTAEGIG", "BESITZER_ID",
                      "ERFDATUM", "ERFBEN", "AENDDATUM", "AENDBEN") VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(id), .text(FlowFactSeeder.fixedID("type", 0)), .text("Soak-Termin \(number)"),
                        .text("vom Treiber"), .timestamp(ODBCTimestamp(start, in: zone)),
                        .timestamp(ODBCTimestamp(start.addingTimeInterval(3600), in: zone)),
                        .text(FlowFactSeeder.fixedID("user", user)), stamp(), .text(shortNames[user]), stamp(),
                        .text(shortNames[user]),
                    ])
                try db.execute(
                    "INSERT INTO \"AKTMKM\" (\"AKT_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\", \"ERFBEN\") VALUES (?, ?, 1, ?, ?)",
                    [.text(id), .text(FlowFactSeeder.fixedID("mkm", 1000 + user)), stamp(), .text(shortNames[user])])
            }
            userAppointments[user].append(id)
        case .flowfactEditAppointment(let user, let pick, let text):
            guard !userAppointments[user].isEmpty else { break }
            let id = userAppointments[user][pick % userAppointments[user].count]
            try database {
                try db.execute(
                    "UPDATE \"AKT\" SET \"TEXT\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
                    [.text(text), stamp(), .text(id)])
            }
        case .flowfactDeleteAppointment(let user, let pick):
            guard !userAppointments[user].isEmpty else { break }
            let id = userAppointments[user].remove(at: pick % userAppointments[user].count)
            try database {
                try db.execute("DELETE FROM \"AKTMKM\" WHERE \"AKT_ID\" = ?", [.text(id)])
                try db.execute("DELETE FROM \"AKT\" WHERE \"ID\" = ?", [.text(id)])
                try db.execute(
                    "INSERT INTO \"DELLOG\" (\"TABELLE\", \"DATENSATZ_ID\", \"GELOESCHT_AM\", \"GELOESCHT_VON\") VALUES ('AKT', ?, ?, ?)",
                    [.text(id), stamp(), .text(shortNames[user])])
            }
        case .exchangeNewContact(let user, let number):
            let record = Record.address(
                Address(
                    givenName: "Outlook", familyName: "Kontakt \(number)",
                    emails: ["kontakt\(number)@outlook.example.test"],
                    notes: "in Outlook angelegt"))
            if let id = try await write(
                user, .create(syncKey: SyncKey(rawValue: "soak-driver-\(number)"), record: record))
            {
                userContacts[user].append(id)
            }
        case .exchangeEditContact(let user, let pick, let text):
            guard !userContacts[user].isEmpty else { break }
            let id = userContacts[user][pick % userContacts[user].count]
            _ = try await write(
                user, .update(id: id, expectedVersion: nil, record: .address(Address(notes: text)), fields: ["notes"]))
        case .exchangeDeleteContact(let user, let pick):
            guard !userContacts[user].isEmpty else { break }
            let id = userContacts[user].remove(at: pick % userContacts[user].count)
            _ = try await write(user, .delete(id: id))
        }
        outcome.changes[step.name, default: 0] += 1
        if Date().timeIntervalSince(lastSample) >= 1, let sample = service.sample() {
            outcome.samples[outcome.samples.count - 1].append(sample)
            lastSample = Date()
        }
        let rest = Double(stepMilliseconds) / 1000 - Date().timeIntervalSince(stepStart)
        if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
    }
    // Let the service finish the last changes, then stop it gracefully.
    try await Task.sleep(for: .seconds(settle))
    if let sample = service.sample() { outcome.samples[outcome.samples.count - 1].append(sample) }
    service.stop()

    // Converge: runs until one changes nothing (the storm still blowing).
    for attempt in 1...8 {
        outcome.convergenceRuns = attempt
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hostBinary)
        process.arguments = ["sync", "--once", "--config", config.path, "--log-level", "critical"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let jobs = output.split(separator: "\n").filter { $0.contains(" / ") && $0.contains(">: ") }
        if process.terminationStatus == 0 && jobs.allSatisfy({ $0.hasSuffix("ok, no changes") }) { break }
        outcome.unsettled.append(
            contentsOf: jobs.filter { !$0.hasSuffix("ok, no changes") }.prefix(5).map { "run \(attempt): \($0)" })
    }

    let store = try StateStore(path: deployment.statePath)
    outcome.disabledMailboxes = try store.accountStates().filter { $0.status == .disabled }.map(\.label)
    for connector in deployment.connectors {
        for user in shortNames {
            let failures = try store.failures(JobKey(connector: connector.definition.name, user: user))
            outcome.openFailures += failures.count
            outcome.failureDetails += failures.map {
                "\(connector.definition.name) / \(user): \($0.dead ? "dead letter" : "failure"), \($0.operation) \($0.name) "
                    + "(\($0.side.rawValue) \($0.itemID)): \($0.message.prefix(200))"
            }
        }
    }
    let stats = try await sim.stats()
    outcome.faults = [
        "ErrorServerBusy": Int(stats["ErrorServerBusy"] ?? 0), "HTTP 503": Int(stats["faultUnavailable"] ?? 0),
        "dropped connections": Int(stats["faultDropped"] ?? 0),
    ]

    // Both sides, every record.
    let flowfact = try FlowFactAdapter.type.make(
        deployment.adapters["flowfact"]!.settings,
        AdapterContext(instanceName: "flowfact", baseDirectory: directory, log: { _, _ in }))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    for connector in deployment.connectors {
        let kind = connector.definition.kind
        for (user, mailbox) in zip(shortNames, mailboxes) {
            for (side, adapter, filter, account) in [
                (
                    "flowfact", flowfact as any Adapter, connector.filter,
                    FlowFactAdapter.type.account(on: "flowfact", ["user": user])
                ),
                ("exchange", exchange, Settings(), EWSAdapter.type.account(on: "exchange", ["mailbox": mailbox])),
            ] {
                let endpoint = try await adapter.endpoint(
                    for: EndpointScope(
                        connector: connector.definition.name, kind: kind, role: side == "flowfact" ? .source : .target,
                        user: user, account: account, filter: filter))
                var records: [String] = []
                for change in try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])).changes {
                    if case .upsert(let state) = change {
                        records.append(String(decoding: try encoder.encode(state.record), as: UTF8.self))
                    }
                }
                outcome.snapshot["\(side) \(user) \(kind.rawValue)"] = records.sorted()
            }
        }
    }
    await flowfact.shutdown()
    outcome.seconds = Date().timeIntervalSince(started)
    outcome.directory = directory
    return outcome
}

/// Records in one snapshot and not the other, counted with multiplicity (a duplicate counts).
func differences(_ a: Snapshot, _ b: Snapshot) -> (count: Int, examples: [String]) {
    var count = 0
    var examples: [String] = []
    for key in Set(a.keys).union(b.keys).sorted() {
        var remaining: [String: Int] = [:]
        for record in a[key] ?? [] { remaining[record, default: 0] += 1 }
        for record in b[key] ?? [] { remaining[record, default: 0] -= 1 }
        for (record, balance) in remaining where balance != 0 {
            count += abs(balance)
            if examples.count < 5 {
                examples.append(
                    "\(key): \(balance > 0 ? "only in the soak" : "only in the reference") ×\(abs(balance)): \(record.prefix(160))"
                )
            }
        }
    }
    return (count, examples)
}

print(
    "soak: \(users) mailboxes × (\(addresses) addresses + \(appointments) appointments + \(tasks) tasks), "
        + "\(steps.count) changes over \(seconds) s, \(kills) kills, faults 15 % busy + 5 % 503 + 5 % drops")
let soak = try await run(faults: true)
print(String(format: "  soak finished in %.0f s; reference run (no faults, no kills) follows", soak.seconds))
let reference = try await run(faults: false)
let (count, examples) = differences(soak.snapshot, reference.snapshot)
let total = soak.snapshot.values.reduce(0) { $0 + $1.count }
print(
    "changes made: " + soak.changes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
print("kills (SIGKILL): \(soak.kills)")
print(
    "faults injected: " + soak.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
)
print("runs to converge after the soak: \(soak.convergenceRuns) (reference: \(reference.convergenceRuns))")
for (index, samples) in soak.samples.enumerated() where samples.count >= 2 {
    let first = samples[min(1, samples.count - 1)]
    let last = samples[samples.count - 1]
    print(
        String(
            format: "service run %d: RSS %.0f → %.0f MB (max %.0f), open descriptors %d → %d (max %d), %d samples",
            index + 1, first.rss, last.rss, samples.map(\.rss).max() ?? 0, first.fds, last.fds,
            samples.map(\.fds).max() ?? 0, samples.count))
}
for line in soak.unsettled { print("  still to do after the soak, \(line)") }
for line in soak.failureDetails.prefix(5) { print("  open after the soak: \(line)") }
print("open failures: \(soak.openFailures); mailboxes disabled: \(soak.disabledMailboxes.count)")
// The reference must settle too: a record it lost would show as one the soak "duplicated".
for line in reference.unsettled { print("  still to do after the reference run, \(line)") }
for line in reference.failureDetails.prefix(5) { print("  open after the reference run: \(line)") }
if reference.openFailures > 0 || reference.convergenceRuns > 2 {
    print(
        "the reference run did not settle: \(reference.openFailures) open failures, "
            + "\(reference.convergenceRuns) runs to converge")
}
print("records compared: \(total) (both sides, every mailbox); final differences: \(count)")
for example in examples { print("  \(example)") }
// Memory and descriptors stay flat within each run of the service (a leak per run or per request
// would double them over a run of a minute or more).
let flat = soak.samples.allSatisfy { samples in
    guard samples.count >= 3 else { return true }
    let first = samples[1]
    let last = samples[samples.count - 1]
    return last.rss <= first.rss * 2 && last.fds <= first.fds * 2 + 10
}
if !flat { print("RSS or open descriptors grew within a run of the service") }
// The service keeps up under the storm: after the settle time, at most one more run finds work.
let passed =
    count == 0 && soak.openFailures == 0 && soak.disabledMailboxes.isEmpty && total > 0 && soak.convergenceRuns <= 2
    && flat && reference.openFailures == 0 && reference.disabledMailboxes.isEmpty && reference.convergenceRuns <= 2
if passed {
    for directory in [soak.directory, reference.directory].compactMap({ $0 }) {
        try? FileManager.default.removeItem(at: directory)
    }
} else {
    print("kept for inspection: \(soak.directory?.path ?? "-") (service.log, state.sqlite, flowfact.sqlite)")
}
print(passed ? "soak passed: nothing lost, nothing duplicated" : "SOAK FAILED")
exit(passed ? 0 : 1)
