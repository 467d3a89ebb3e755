import ArgumentParser
import ConnectorAPI
import ConnectorHost
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whether standard output is a terminal (colours for the fields that differ).
var outputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lists open (and recently settled) conflicts with both versions field by field.",
        discussion: """
            The fields that differ are marked (in colour on a terminal). Settle one with \
            `connector-host resolve ID --take source|target|skip`.
            """)

    @OptionGroup var options: Options
    @Option(help: "Only this connector.") var connector: String?
    @Option(help: "Only this user (its id in users:).") var user: String?
    @Option(help: "Also list conflicts settled in the last N days (0: open ones only).") var recentDays = 7
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let deployment = try options.load()
        let store = try StateStore(path: deployment.statePath)
        let entries = try store.conflictEntries(
            connector: connector, user: user, recent: recentDays > 0 ? Double(recentDays) * 86_400 : nil)
        print(
            json
                ? try OperatorFormatter.conflictsJSON(entries)
                : OperatorFormatter.conflicts(entries, color: outputIsTerminal))
    }
}

struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Settles conflicts: writes the chosen side's version to the other side now, or closes them without a write.",
        discussion: """
            The conflict's job runs at once: the chosen version is written through the engine with the usual \
            version check; a side that changed again since is read anew. `--take skip` writes nothing and keeps \
            both versions as they are. `--all --connector C` settles every open conflict of that connector. \
            While the service (`connector-host run`) runs on the same state, it runs the job: this command \
            waits for that run (--wait).
            """)

    @OptionGroup var options: Options
    @Argument(help: "The conflict's id (as `conflicts` shows it).") var id: Int64?
    @Option(help: "source, target or skip.") var take: String
    @Flag(help: "Every open conflict of --connector (and --user).") var all = false
    @Option(help: "With --all: the connector.") var connector: String?
    @Option(help: "With --all: only this user.") var user: String?
    @OptionGroup var service: ServiceWait

    func validate() throws {
        guard ConflictDecision(rawValue: take) != nil else {
            throw ValidationError("--take must be source, target or skip (not '\(take)')")
        }
        if all {
            guard connector != nil else { throw ValidationError("--all needs --connector") }
            guard id == nil else { throw ValidationError("give a conflict id or --all, not both") }
        } else if id == nil {
            throw ValidationError("give a conflict id (see `connector-host conflicts`) or --all --connector C")
        }
    }

    func run() async throws {
        let logger = options.bootstrap()
        let deployment = try options.load()
        let decision = ConflictDecision(rawValue: take)!
        let store = try StateStore(path: deployment.statePath)
        let ids: [Int64]
        if let id {
            guard let entry = try store.conflictEntry(id: id) else {
                printError("there is no conflict #\(id) (see connector-host conflicts)")
                throw ExitCode(1)
            }
            guard entry.record.open else {
                printError("conflict #\(id) (\(entry.title)) is settled already: \(entry.record.resolution)")
                throw ExitCode(1)
            }
            ids = [id]
        } else {
            ids = try store.conflictEntries(connector: connector, user: user).filter(\.record.open).map(\.record.id)
            if ids.isEmpty { print("no open conflicts for \(connector!)\(user.map { " / \($0)" } ?? "")") }
        }
        // Every decision first, then each job runs once: here, or in the service when it runs.
        var jobs: [JobKey] = []
        for id in ids {
            if let job = try store.decide(conflict: id, decision), !jobs.contains(job) { jobs.append(job) }
        }
        var unsettled = 0
        if !jobs.isEmpty {
            unsettled = try await service.run(jobs, deployment: deployment, store: store, logger: logger).notRun
        }
        for id in ids {
            guard let entry = try store.conflictEntry(id: id) else { continue }
            if entry.record.open {
                unsettled += 1
                print(
                    "#\(id) '\(entry.title)': still open (not settled by the run; the decision stays for the next run)")
            } else {
                print(
                    "#\(id) '\(entry.title)': settled, \(decision == .skip ? "nothing written" : "\(decision.rawValue) taken")"
                )
            }
        }
        let open = try store.openCounts()
        print(OperatorFormatter.openLine(conflicts: open.conflicts, deadLetters: open.deadLetters))
        if unsettled > 0 { throw ExitCode(2) }
    }
}

struct DeadLetters: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Lists items that failed to sync and are no longer retried, with the reason.",
        discussion: "Put one back into the next run with `connector-host retry ID` (or `--all`).")

    @OptionGroup var options: Options
    @Option(help: "Only this connector.") var connector: String?
    @Option(help: "Only this user (its id in users:).") var user: String?
    @Flag(help: "Also list items still retried on every run (e.g. postponed by throttling).") var retrying = false
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let deployment = try options.load()
        let store = try StateStore(path: deployment.statePath)
        let entries = try store.deadLetters(connector: connector, user: user, includeRetrying: retrying)
        print(json ? try OperatorFormatter.deadLettersJSON(entries) : OperatorFormatter.deadLetters(entries))
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Puts dead letters back and runs their jobs now; one that fails again returns with the new reason.",
        discussion: """
            With --no-run, they are only put back, for the service's next run. While the service \
            (`connector-host run`) runs on the same state, it runs the jobs: this command waits for those runs \
            (--wait).
            """)

    @OptionGroup var options: Options
    @Argument(help: "The dead letter's id (as `dead-letters` shows it).") var id: Int64?
    @Flag(help: "Every dead letter (of --connector and --user when given).") var all = false
    @Option(help: "With --all: only this connector.") var connector: String?
    @Option(help: "With --all: only this user.") var user: String?
    @Flag(help: "Only put them back; the service's next run tries them.") var noRun = false
    @OptionGroup var service: ServiceWait

    func validate() throws {
        if all, id != nil { throw ValidationError("give a dead letter id or --all, not both") }
        if !all, id == nil {
            throw ValidationError("give a dead letter id (see `connector-host dead-letters`) or --all")
        }
    }

    func run() async throws {
        let logger = options.bootstrap()
        let deployment = try options.load()
        let store = try StateStore(path: deployment.statePath)
        var jobs: [JobKey: Int] = [:]
        if let id {
            guard let job = try store.retry(deadLetter: id) else {
                printError("there is no dead letter #\(id) (see connector-host dead-letters)")
                throw ExitCode(1)
            }
            jobs[job] = 1
        } else {
            jobs = try store.retryAll(connector: connector, user: user)
        }
        let total = jobs.values.reduce(0, +)
        print("\(total) dead letter\(total == 1 ? "" : "s") put back")
        guard !noRun, !jobs.isEmpty else { return }
        let sorted = jobs.keys.sorted { ($0.connector, $0.user) < ($1.connector, $1.user) }
        let outcome = try await service.run(sorted, deployment: deployment, store: store, logger: logger)
        let failed = outcome.notRun > 0
        if outcome.byService {
            // The service's run books failures, not their reasons: those of the items still failing.
            let again = try sorted.flatMap { try store.deadLetters(connector: $0.connector, user: $0.user) }
            if !again.isEmpty { print(OperatorFormatter.deadLetters(again)) }
        }
        let open = try store.openCounts()
        print(OperatorFormatter.openLine(conflicts: open.conflicts, deadLetters: open.deadLetters))
        if failed || open.deadLetters > 0 { throw ExitCode(2) }
    }
}
