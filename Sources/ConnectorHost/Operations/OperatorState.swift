import ConnectorAPI
import Foundation
import GRDB

/// What the operator's console reads from and writes to the state: conflicts with both versions,
/// dead letters, decisions and retries. The writes only mark rows; the job's next run does the
/// work through the engine.
extension StateStore {
    /// Conflicts of the selected jobs, newest first: the open ones, and with `recent` also those
    /// settled in the last `recent` seconds.
    public func conflictEntries(
        connector: String? = nil, user: String? = nil, recent: TimeInterval? = nil
    ) throws -> [ConflictEntry] {
        var sql = "SELECT * FROM conflict WHERE (open = 1"
        var arguments: StatementArguments = []
        if let recent {
            sql += " OR detected_at >= ?"
            arguments += [Date().timeIntervalSince1970 - recent]
        }
        let (filter, filterArguments) = Self.jobFilter(connector: connector, user: user)
        let query = sql + ")" + filter + " ORDER BY id DESC"
        let values = arguments + filterArguments
        return try database.read { db in
            try Row.fetchAll(db, sql: query, arguments: values).map(Self.conflictEntry)
        }
    }

    /// One conflict by its id.
    public func conflictEntry(id: Int64) throws -> ConflictEntry? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM conflict WHERE id = ?", arguments: [id]).map(Self.conflictEntry)
        }
    }

    /// ` AND connector = ? AND user = ?` for the filters given, with their arguments.
    static func jobFilter(connector: String?, user: String?) -> (String, StatementArguments) {
        var sql = ""
        var arguments: StatementArguments = []
        if let connector {
            sql += " AND connector = ?"
            arguments += [connector]
        }
        if let user {
            sql += " AND user = ?"
            arguments += [user]
        }
        return (sql, arguments)
    }

    static func conflictEntry(_ row: Row) -> ConflictEntry {
        let record = conflict(row)
        return ConflictEntry(
            job: JobKey(connector: row["connector"], user: row["user"]), record: record,
            fields: ConflictEntry.fields(source: record.sourceRecord, target: record.targetRecord))
    }

    /// Records an administrator's decision on an open conflict; the job's next run applies it.
    /// Answers the conflict's job, or nil when no open conflict has this id.
    @discardableResult
    public func decide(conflict id: Int64, _ decision: ConflictDecision) throws -> JobKey? {
        try database.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT connector, user FROM conflict WHERE id = ? AND open = 1", arguments: [id])
            else { return nil }
            try db.execute(sql: "UPDATE conflict SET decision = ? WHERE id = ?", arguments: [decision.rawValue, id])
            return JobKey(connector: row["connector"], user: row["user"])
        }
    }

    /// Failed items of the selected jobs, oldest failure first: dead letters only unless
    /// `includeRetrying` (those still retried on every run, e.g. postponed by throttling).
    public func deadLetters(connector: String? = nil, user: String? = nil, includeRetrying: Bool = false) throws
        -> [DeadLetterEntry]
    {
        let (filter, values) = Self.jobFilter(connector: connector, user: user)
        let query =
            "SELECT rowid AS row_id, * FROM failure WHERE " + (includeRetrying ? "1 = 1" : "dead != 0") + filter
            + " ORDER BY last_at, rowid"
        return try database.read { db in
            try Row.fetchAll(db, sql: query, arguments: values).map { row in
                DeadLetterEntry(
                    id: row["row_id"], job: JobKey(connector: row["connector"], user: row["user"]),
                    failure: Self.failure(row))
            }
        }
    }

    /// Puts a dead letter back into its job's next run. It keeps its attempts, so failing again
    /// makes it a dead letter again at once, with the new reason. Answers its job, or nil when no
    /// dead letter has this id.
    @discardableResult
    public func retry(deadLetter id: Int64) throws -> JobKey? {
        try database.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT connector, user FROM failure WHERE rowid = ? AND dead != 0", arguments: [id])
            else { return nil }
            try db.execute(sql: "UPDATE failure SET dead = 0 WHERE rowid = ?", arguments: [id])
            return JobKey(connector: row["connector"], user: row["user"])
        }
    }

    /// Puts every dead letter of the selected jobs back into their next runs; answers the jobs.
    public func retryAll(connector: String? = nil, user: String? = nil) throws -> [JobKey: Int] {
        var jobs: [JobKey: Int] = [:]
        for entry in try deadLetters(connector: connector, user: user) where try retry(deadLetter: entry.id) != nil {
            jobs[entry.job, default: 0] += 1
        }
        return jobs
    }

    /// How many conflicts are open and how many items are dead letters, over all jobs or one.
    public func openCounts(_ job: JobKey? = nil) throws -> (conflicts: Int, deadLetters: Int) {
        try database.read { db in
            let filter = job == nil ? "" : " AND connector = ? AND user = ?"
            let arguments: StatementArguments = job.map { [$0.connector, $0.user] } ?? []
            let conflicts =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM conflict WHERE open = 1" + filter, arguments: arguments)
                ?? 0
            let dead =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM failure WHERE dead != 0" + filter, arguments: arguments)
                ?? 0
            return (conflicts, dead)
        }
    }
}
