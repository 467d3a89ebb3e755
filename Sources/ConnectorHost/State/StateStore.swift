import ConnectorAPI
import Foundation
import GRDB

/// Identifies one sync job: a connector run for one FlowFact user.
public struct JobKey: Sendable, Hashable, CustomStringConvertible {
    public var connector: String
    public var user: String
    public init(connector: String, user: String) {
        self.connector = connector
        self.user = user
    }
    public var description: String { "\(connector)/\(user)" }
}

/// One linked pair of items, as the state database keeps it.
public struct Mapping: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Changes flow between the two items.
        case linked
        /// The pair was unlinked on purpose (a deletion under `unlink`): changes on either item are ignored.
        case detached
    }
    public var sourceID: ItemID?
    public var targetID: ItemID?
    public var sourceVersion: Version?
    public var targetVersion: Version?
    /// Hash of the source record over the fields that flow to the target; nil when unknown.
    public var sourceHash: String?
    /// Hash of the target record over the fields that flow to the source; nil when unknown.
    public var targetHash: String?
    public var syncKey: SyncKey?
    public var status: Status

    public init(
        sourceID: ItemID?, targetID: ItemID?, sourceVersion: Version? = nil, targetVersion: Version? = nil,
        sourceHash: String? = nil, targetHash: String? = nil, syncKey: SyncKey? = nil, status: Status = .linked
    ) {
        self.sourceID = sourceID
        self.targetID = targetID
        self.sourceVersion = sourceVersion
        self.targetVersion = targetVersion
        self.sourceHash = sourceHash
        self.targetHash = targetHash
        self.syncKey = syncKey
        self.status = status
    }
}

/// A create the engine is about to make: written before the write, removed with the mapping commit.
public struct Intent: Sendable, Hashable {
    /// The side the item is created on.
    public var side: EndpointRole
    public var syncKey: SyncKey
    /// The item it is created from, on the other side.
    public var originID: ItemID
    public var originVersion: Version
    public var originHash: String?
}

/// An item that failed to sync, kept to be retried and, when it keeps failing, shown as a dead letter.
public struct FailureRecord: Sendable, Hashable {
    /// The side the item lives on (the failure was writing it to the other side).
    public var side: EndpointRole
    public var itemID: ItemID
    /// The write that failed: create, update or delete.
    public var operation: String
    /// The record's display name, so an administrator can find it.
    public var name: String
    /// transient, permanent, conflict, not-found.
    public var kind: String
    public var message: String
    public var attempts: Int
    public var dead: Bool
    public var lastAt: Date
}

/// A conflict the engine met: both sides changed since the last sync.
public struct ConflictRecord: Sendable, Hashable {
    public var id: Int64
    public var sourceID: ItemID?
    public var targetID: ItemID?
    public var sourceRecord: String?
    public var targetRecord: String?
    public var policy: String
    public var resolution: String
    public var detectedAt: Date
    public var open: Bool
    /// When each side's item was last changed, where the side tells.
    public var sourceModifiedAt: Date? = nil
    public var targetModifiedAt: Date? = nil
    /// An administrator's decision, applied by the job's next run (``ConflictDecision``).
    public var decision: String? = nil
}

/// Totals of one run.
public struct RunSummary: Sendable, Hashable {
    public var job: JobKey
    public var startedAt: Date
    public var finishedAt: Date
    public var status: String
    public var counts: [String: Int]
    public var message: String?
}

/// Everything the engine remembers between runs, in one SQLite file (WAL) through GRDB.
public final class StateStore: Sendable {
    let database: DatabasePool

    /// Opens (and migrates) the state database at `path`, creating its folder when needed.
    public init(path: URL) throws {
        try FileManager.default.createDirectory(
            at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // WAL with synchronous=NORMAL: no fsync per commit. A power cut may lose the last commits,
        // never consistency; lost bookkeeping is redone safely (sync keys and intents make creates
        // idempotent), and it saves milliseconds on each of the several commits of every run.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        database = try DatabasePool(path: path.path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mapping (
                      id INTEGER PRIMARY KEY,
                      connector TEXT NOT NULL, user TEXT NOT NULL,
                      source_id TEXT, target_id TEXT,
                      source_version TEXT, target_version TEXT,
                      source_hash TEXT, target_hash TEXT,
                      sync_key TEXT, status TEXT NOT NULL,
                      updated_at REAL NOT NULL);
                    CREATE UNIQUE INDEX mapping_source ON mapping(connector, user, source_id) WHERE source_id IS NOT NULL;
                    CREATE UNIQUE INDEX mapping_target ON mapping(connector, user, target_id) WHERE target_id IS NOT NULL;
                    CREATE TABLE cursor (
                      connector TEXT NOT NULL, user TEXT NOT NULL, side TEXT NOT NULL, value BLOB,
                      updated_at REAL NOT NULL, PRIMARY KEY (connector, user, side));
                    CREATE TABLE intent (
                      connector TEXT NOT NULL, user TEXT NOT NULL, side TEXT NOT NULL, sync_key TEXT NOT NULL,
                      origin_id TEXT NOT NULL, origin_version TEXT NOT NULL, origin_hash TEXT,
                      created_at REAL NOT NULL, PRIMARY KEY (connector, user, side, sync_key));
                    CREATE TABLE failure (
                      connector TEXT NOT NULL, user TEXT NOT NULL, side TEXT NOT NULL, item_id TEXT NOT NULL,
                      operation TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL,
                      dead INTEGER NOT NULL, first_at REAL NOT NULL, last_at REAL NOT NULL,
                      PRIMARY KEY (connector, user, side, item_id));
                    CREATE TABLE conflict (
                      id INTEGER PRIMARY KEY, connector TEXT NOT NULL, user TEXT NOT NULL,
                      source_id TEXT, target_id TEXT, source_record TEXT, target_record TEXT,
                      policy TEXT NOT NULL, resolution TEXT NOT NULL, detected_at REAL NOT NULL,
                      open INTEGER NOT NULL);
                    CREATE INDEX conflict_job ON conflict(connector, user, open);
                    CREATE TABLE run (
                      id INTEGER PRIMARY KEY, connector TEXT NOT NULL, user TEXT NOT NULL,
                      started_at REAL NOT NULL, finished_at REAL NOT NULL, status TEXT NOT NULL,
                      counts TEXT NOT NULL, message TEXT);
                    CREATE INDEX run_job ON run(connector, user, id);
                    """)
        }
        migrator.registerMigration("v3-mapping-job-index") { db in
            // The partial unique indexes cannot serve "all mappings of a job"; without this index every
            // run scanned the whole table (50 mailboxes × 5,000 items: 0.3 s per job).
            try db.execute(sql: "CREATE INDEX mapping_job ON mapping(connector, user, id)")
        }
        migrator.registerMigration("v4-intent-key-index") { db in
            // Intents are cleared by sync key without the side, which the primary key cannot serve:
            // each clear walked all of the job's intents (quadratic in the size of an initial sync).
            try db.execute(sql: "CREATE INDEX intent_key ON intent(connector, user, sync_key)")
        }
        migrator.registerMigration("v5-transient-failures-live") { db in
            // Earlier releases made items dead letters after failing transiently in five runs (a
            // throttling storm), and never tried them again. A transient failure says nothing about
            // the item: bring those back to be retried.
            try db.execute(sql: "UPDATE failure SET dead = 0 WHERE kind = 'transient' AND dead != 0")
        }
        migrator.registerMigration("v6-job-account") { db in
            // The account each side of a job was synced with (its name), so a user remapped to
            // another account is noticed before the old account's ids are used on it.
            try db.execute(
                sql: """
                    CREATE TABLE job_account (
                      connector TEXT NOT NULL, user TEXT NOT NULL, side TEXT NOT NULL, account TEXT NOT NULL,
                      PRIMARY KEY (connector, user, side));
                    """)
        }
        // Health belongs to an account of an adapter instance. Releases before accounts kept it in a
        // table of their own per account name (their v2; its record stays in their files, unused).
        // That table is found by its columns, and its rows move over: the name stays, with no
        // instance, and passes to the instance whose account of that name runs next.
        migrator.registerMigration("v7-account-state") { db in
            try db.execute(
                sql: """
                    CREATE TABLE account_state (
                      adapter TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, failures INTEGER NOT NULL,
                      permanent_failures INTEGER NOT NULL, reason TEXT, last_success REAL, last_error REAL,
                      updated_at REAL NOT NULL, PRIMARY KEY (adapter, name));
                    """)
            guard let earlier = try Self.earlierHealthTable(db) else { return }
            try db.execute(
                sql: """
                    INSERT INTO account_state
                      SELECT '', address, status, failures, permanent_failures, reason, last_success, last_error,
                        updated_at
                      FROM "\(earlier)";
                    DROP TABLE "\(earlier)";
                    """)
        }
        migrator.registerMigration("v8-conflict-decision") { db in
            // The operator's console: when each side changed, and an administrator's decision for
            // an open conflict (take the source, take the target, or skip).
            try db.execute(
                sql: """
                    ALTER TABLE conflict ADD COLUMN source_modified REAL;
                    ALTER TABLE conflict ADD COLUMN target_modified REAL;
                    ALTER TABLE conflict ADD COLUMN decision TEXT;
                    """)
        }
        migrator.registerMigration("v9-run-request") { db in
            // Jobs an administrator asked the running service to run now (`resolve`, `retry` while
            // `run` holds the state); its scheduler takes them up within a second.
            try db.execute(
                sql: """
                    CREATE TABLE run_request (
                      connector TEXT NOT NULL, user TEXT NOT NULL, requested_at REAL NOT NULL,
                      PRIMARY KEY (connector, user));
                    """)
        }
        return migrator
    }

    /// The health table of a state file from the releases before accounts: the one table keyed by
    /// `address` with the health columns; nil in files made since.
    static func earlierHealthTable(_ db: Database) throws -> String? {
        let columns: Set<String> = [
            "address", "status", "failures", "permanent_failures", "reason", "last_success", "last_error", "updated_at",
        ]
        for table in try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        where Set(try db.columns(in: table).map(\.name)) == columns {
            return table
        }
        return nil
    }

    /// The account a side of a job was last synced with, if one was recorded.
    public func account(_ job: JobKey, side: EndpointRole) throws -> String? {
        try database.read { db in
            try String.fetchOne(
                db, sql: "SELECT account FROM job_account WHERE connector = ? AND user = ? AND side = ?",
                arguments: [job.connector, job.user, side.rawValue])
        }
    }

    /// Records the account a side of a job is synced with.
    public func setAccount(_ job: JobKey, side: EndpointRole, account: String) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO job_account (connector, user, side, account) VALUES (?, ?, ?, ?)",
                arguments: [job.connector, job.user, side.rawValue, account])
        }
    }

    /// Forgets what a job knows of its items (mappings, cursors, intents, failures, conflicts), as
    /// when the state is lost; the next run re-matches both sides by their sync keys.
    public func forgetItems(_ job: JobKey) throws {
        try database.write { db in
            for table in ["mapping", "cursor", "intent", "failure", "conflict"] {
                try db.execute(
                    sql: "DELETE FROM \(table) WHERE connector = ? AND user = ?", arguments: [job.connector, job.user])
            }
        }
    }

    // MARK: Reading

    public func mappings(_ job: JobKey) throws -> [Mapping] {
        try database.read { db in
            // Every run loads its job's mappings: rows are decoded in place by position from a
            // cursor (by column name and through copied rows, this was most of a quiet run's CPU).
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT source_id, target_id, source_version, target_version, source_hash, target_hash, sync_key,
                      status FROM mapping WHERE connector = ? AND user = ? ORDER BY id
                    """,
                arguments: [job.connector, job.user])
            var result: [Mapping] = []
            while let row = try rows.next() { result.append(Self.mapping(row)) }
            return result
        }
    }

    public func cursor(_ job: JobKey, side: EndpointRole) throws -> Data? {
        try database.read { db in
            try Data.fetchOne(
                db, sql: "SELECT value FROM cursor WHERE connector = ? AND user = ? AND side = ?",
                arguments: [job.connector, job.user, side.rawValue])
        }
    }

    public func intents(_ job: JobKey) throws -> [Intent] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM intent WHERE connector = ? AND user = ?", arguments: [job.connector, job.user]
            ).map { row in
                Intent(
                    side: EndpointRole(rawValue: row["side"]) ?? .target, syncKey: SyncKey(rawValue: row["sync_key"]),
                    originID: row["origin_id"], originVersion: row["origin_version"], originHash: row["origin_hash"])
            }
        }
    }

    public func failures(_ job: JobKey) throws -> [FailureRecord] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM failure WHERE connector = ? AND user = ? ORDER BY last_at",
                arguments: [job.connector, job.user]
            ).map(Self.failure)
        }
    }

    static func failure(_ row: Row) -> FailureRecord {
        FailureRecord(
            side: EndpointRole(rawValue: row["side"]) ?? .source, itemID: row["item_id"], operation: row["operation"],
            name: row["name"], kind: row["kind"], message: row["message"], attempts: row["attempts"], dead: row["dead"],
            lastAt: Date(timeIntervalSince1970: row["last_at"]))
    }

    public func conflicts(_ job: JobKey, openOnly: Bool = false) throws -> [ConflictRecord] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM conflict WHERE connector = ? AND user = ?" + (openOnly ? " AND open = 1" : "")
                    + " ORDER BY id",
                arguments: [job.connector, job.user]
            ).map(Self.conflict)
        }
    }

    static func conflict(_ row: Row) -> ConflictRecord {
        ConflictRecord(
            id: row["id"], sourceID: row["source_id"], targetID: row["target_id"],
            sourceRecord: row["source_record"], targetRecord: row["target_record"], policy: row["policy"],
            resolution: row["resolution"], detectedAt: Date(timeIntervalSince1970: row["detected_at"]),
            open: row["open"],
            sourceModifiedAt: (row["source_modified"] as Double?).map(Date.init(timeIntervalSince1970:)),
            targetModifiedAt: (row["target_modified"] as Double?).map(Date.init(timeIntervalSince1970:)),
            decision: row["decision"])
    }

    /// The latest run of each job, newest first.
    public func lastRuns() throws -> [RunSummary] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM run WHERE id IN (SELECT MAX(id) FROM run GROUP BY connector, user)
                    ORDER BY connector, user
                    """
            ).map(Self.run)
        }
    }

    /// Jobs that have any state, sorted.
    public func jobs() throws -> [JobKey] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT connector, user FROM mapping UNION SELECT connector, user FROM run
                    UNION SELECT connector, user FROM failure ORDER BY 1, 2
                    """
            ).map { JobKey(connector: $0["connector"], user: $0["user"]) }
        }
    }

    // MARK: Writing

    /// Records intents before creates are sent.
    public func addIntents(_ job: JobKey, _ intents: [Intent]) throws {
        guard !intents.isEmpty else { return }
        try database.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO intent (connector, user, side, sync_key, origin_id, origin_version,
                      origin_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for intent in intents {
                try insert.execute(
                    arguments: [
                        job.connector, job.user, intent.side.rawValue, intent.syncKey.rawValue, intent.originID,
                        intent.originVersion, intent.originHash, Date().timeIntervalSince1970,
                    ])
            }
        }
    }

    /// Applies mapping changes, clears intents and records failures in one transaction.
    public func commit(_ job: JobKey, _ changes: StateChanges) throws {
        guard !changes.isEmpty else { return }
        try database.write { db in try Self.apply(changes, job: job, db) }
    }

    static func apply(_ changes: StateChanges, job: JobKey, _ db: Database) throws {
        let now = Date().timeIntervalSince1970
        let args: StatementArguments = [job.connector, job.user]
        for mapping in changes.removedMappings {
            if let source = mapping.sourceID {
                try db.cachedStatement(sql: "DELETE FROM mapping WHERE connector = ? AND user = ? AND source_id = ?")
                    .execute(arguments: args + [source])
            }
            if let target = mapping.targetID {
                try db.cachedStatement(sql: "DELETE FROM mapping WHERE connector = ? AND user = ? AND target_id = ?")
                    .execute(arguments: args + [target])
            }
        }
        for mapping in changes.mappings {
            // REPLACE removes whatever row held either id (both are unique per job), so a re-pairing
            // never leaves a stale row behind, in one statement instead of two deletes and an insert.
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO mapping (connector, user, source_id, target_id, source_version, target_version,
                      source_hash, target_hash, sync_key, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: args + [
                    mapping.sourceID, mapping.targetID, mapping.sourceVersion, mapping.targetVersion,
                    mapping.sourceHash,
                    mapping.targetHash, mapping.syncKey?.rawValue, mapping.status.rawValue, now,
                ])
        }
        for key in changes.clearedIntents {
            try db.cachedStatement(sql: "DELETE FROM intent WHERE connector = ? AND user = ? AND sync_key = ?").execute(
                arguments: args + [key.rawValue])
        }
        for (side, id) in changes.clearedFailures {
            try db.cachedStatement(
                sql: "DELETE FROM failure WHERE connector = ? AND user = ? AND side = ? AND item_id = ?"
            ).execute(arguments: args + [side.rawValue, id])
        }
        for failure in changes.failures {
            try db.cachedStatement(
                sql: """
                    INSERT INTO failure (connector, user, side, item_id, operation, name, kind, message, attempts, dead,
                      first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (connector, user, side, item_id) DO UPDATE SET
                      operation = excluded.operation, name = excluded.name, kind = excluded.kind, message = excluded.message,
                      attempts = excluded.attempts, dead = excluded.dead, last_at = excluded.last_at
                    """
            ).execute(
                arguments: args + [
                    failure.side.rawValue, failure.itemID, failure.operation, failure.name, failure.kind,
                    failure.message, failure.attempts,
                    failure.dead, now, now,
                ])
        }
        for conflict in changes.conflicts {
            if conflict.open {
                // One open conflict per pair: a conflict seen again replaces the earlier record.
                try db.cachedStatement(
                    sql: """
                        DELETE FROM conflict WHERE connector = ? AND user = ? AND open = 1
                          AND (source_id IS ? AND target_id IS ?)
                        """
                ).execute(arguments: args + [conflict.sourceID, conflict.targetID])
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO conflict (connector, user, source_id, target_id, source_record, target_record, policy,
                      resolution, detected_at, open, source_modified, target_modified, decision)
                      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: args + [
                    conflict.sourceID, conflict.targetID, conflict.sourceRecord, conflict.targetRecord, conflict.policy,
                    conflict.resolution, now, conflict.open, conflict.sourceModifiedAt?.timeIntervalSince1970,
                    conflict.targetModifiedAt?.timeIntervalSince1970, conflict.decision,
                ])
        }
        for (source, target) in changes.closedConflicts {
            try db.cachedStatement(
                sql:
                    "UPDATE conflict SET open = 0 WHERE connector = ? AND user = ? AND open = 1 AND source_id IS ? AND target_id IS ?"
            ).execute(arguments: args + [source, target])
        }
    }

    /// Finishes a run: stores the new cursors and the run summary in one transaction.
    public func finishRun(_ job: JobKey, cursors: [EndpointRole: Data?], summary: RunSummary) throws {
        let counts = String(decoding: try JSONEncoder().encode(summary.counts), as: UTF8.self)
        try database.write { db in
            for (side, value) in cursors {
                try db.execute(
                    sql:
                        "INSERT OR REPLACE INTO cursor (connector, user, side, value, updated_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [job.connector, job.user, side.rawValue, value, Date().timeIntervalSince1970])
            }
            try db.execute(
                sql:
                    "INSERT INTO run (connector, user, started_at, finished_at, status, counts, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    job.connector, job.user, summary.startedAt.timeIntervalSince1970,
                    summary.finishedAt.timeIntervalSince1970, summary.status, counts, summary.message,
                ])
        }
    }

    /// A mapping from a row of the columns `mappings(_:)` selects, in that order.
    static func mapping(_ row: Row) -> Mapping {
        Mapping(
            sourceID: row[0], targetID: row[1], sourceVersion: row[2], targetVersion: row[3], sourceHash: row[4],
            targetHash: row[5], syncKey: (row[6] as String?).map(SyncKey.init(rawValue:)),
            status: Mapping.Status(rawValue: row[7]) ?? .linked)
    }

    static func run(_ row: Row) -> RunSummary {
        let countsText: String = row["counts"]
        let counts = (try? JSONDecoder().decode([String: Int].self, from: Data(countsText.utf8))) ?? [:]
        return RunSummary(
            job: JobKey(connector: row["connector"], user: row["user"]),
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            finishedAt: Date(timeIntervalSince1970: row["finished_at"]), status: row["status"], counts: counts,
            message: row["message"])
    }
}

/// A set of state changes committed together.
public struct StateChanges: Sendable {
    public var mappings: [Mapping] = []
    public var removedMappings: [Mapping] = []
    public var clearedIntents: [SyncKey] = []
    public var failures: [FailureRecord] = []
    public var clearedFailures: [(EndpointRole, ItemID)] = []
    public var conflicts: [ConflictRecord] = []
    public var closedConflicts: [(ItemID?, ItemID?)] = []

    public init() {}

    public var isEmpty: Bool {
        mappings.isEmpty && removedMappings.isEmpty && clearedIntents.isEmpty && failures.isEmpty
            && clearedFailures.isEmpty && conflicts.isEmpty && closedConflicts.isEmpty
    }
}
