import ConnectorAPI
import Foundation
import GRDB

/// One job (a connector for a user) as the console shows it.
struct JobView: Sendable {
    var config: ConnectorConfig
    var entry: UserEntry
    var key: JobKey
    var lastRun: RunSummary?
    var schedule: JobSchedule?
    var progress: RunProgress?
    var linked: Int
    var conflicts: Int
    var deadLetters: Int
    var retrying: Int

    var sourceName: String { config.source.name }
    var targetName: String { config.target.name }
    var isRunning: Bool { progress != nil || schedule?.runningSince != nil }
}

/// An account (the user's account on a connector's target: the unit of health) with its jobs.
struct AccountView: Sendable {
    var account: Account
    var state: AccountState
    var users: [String]
    var jobs: [JobView]

    var conflicts: Int { jobs.map(\.conflicts).reduce(0, +) }
    var deadLetters: Int { jobs.map(\.deadLetters).reduce(0, +) }
    var isRunning: Bool { jobs.contains(where: \.isRunning) }
}

/// Counts per job, read in one query each.
struct JobCounts: Sendable {
    var linked: [JobKey: Int] = [:]
    var conflicts: [JobKey: Int] = [:]
    var dead: [JobKey: Int] = [:]
    var retrying: [JobKey: Int] = [:]
}

extension StateStore {
    /// Linked pairs, open conflicts, dead letters and items being retried, per job.
    func consoleCounts() throws -> JobCounts {
        try database.read { db in
            func grouped(_ sql: String) throws -> [JobKey: Int] {
                var result: [JobKey: Int] = [:]
                for row in try Row.fetchAll(db, sql: sql) {
                    result[JobKey(connector: row[0], user: row[1])] = row[2]
                }
                return result
            }
            return JobCounts(
                linked: try grouped(
                    "SELECT connector, user, COUNT(*) FROM mapping WHERE status = 'linked' GROUP BY connector, user"),
                conflicts: try grouped(
                    "SELECT connector, user, COUNT(*) FROM conflict WHERE open = 1 GROUP BY connector, user"),
                dead: try grouped(
                    "SELECT connector, user, COUNT(*) FROM failure WHERE dead != 0 GROUP BY connector, user"),
                retrying: try grouped(
                    "SELECT connector, user, COUNT(*) FROM failure WHERE dead = 0 GROUP BY connector, user"))
        }
    }

    /// A job's latest runs, newest first.
    func recentRuns(_ job: JobKey, limit: Int) throws -> [RunSummary] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM run WHERE connector = ? AND user = ? ORDER BY id DESC LIMIT ?",
                arguments: [job.connector, job.user, limit]
            ).map(Self.run)
        }
    }
}

extension Console {
    /// Every account of every connector with its jobs, in configuration order.
    func accounts() async throws -> [AccountView] {
        let counts = try store.consoleCounts()
        let runs = Dictionary(try store.lastRuns().map { ($0.job, $0) }, uniquingKeysWith: { $1 })
        let schedule = await scheduler?.schedule() ?? [:]
        let progress = host.progress.snapshot()
        var order: [Account] = []
        var views: [Account: AccountView] = [:]
        for (config, entry) in deployment.jobs() {
            let account =
                entry.binding.account(on: config.target.name) ?? Account(adapter: config.target.name, name: "")
            let key = JobKey(connector: config.definition.name, user: entry.binding.id)
            let job = JobView(
                config: config, entry: entry, key: key, lastRun: runs[key], schedule: schedule[key],
                progress: progress[key], linked: counts.linked[key] ?? 0, conflicts: counts.conflicts[key] ?? 0,
                deadLetters: counts.dead[key] ?? 0, retrying: counts.retrying[key] ?? 0)
            let identity = Account(adapter: account.adapter, name: account.name)
            if views[identity] == nil {
                order.append(identity)
                views[identity] = AccountView(
                    account: account, state: try store.accountState(account), users: [], jobs: [])
            }
            if !views[identity]!.users.contains(entry.binding.id) { views[identity]!.users.append(entry.binding.id) }
            views[identity]!.jobs.append(job)
        }
        return order.compactMap { views[$0] }
    }

    /// The account with this instance and name, if the deployment has it.
    func account(adapter: String, name: String) async throws -> AccountView? {
        try await accounts().first { $0.account.adapter == adapter && $0.account.name == name }
    }
}
