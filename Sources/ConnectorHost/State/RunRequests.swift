import Foundation
import GRDB

/// Runs asked of the service by another process: an administrator's `resolve` or `retry` while
/// `connector-host run` holds the state (``StateLock``) stores its decision, asks for the job's
/// run here, and waits for the run to be booked.
extension StateStore {
    /// Asks the service to run these jobs now.
    public func requestRuns(_ jobs: [JobKey]) throws {
        try database.write { db in
            for job in jobs {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO run_request (connector, user, requested_at) VALUES (?, ?, ?)",
                    arguments: [job.connector, job.user, Date().timeIntervalSince1970])
            }
        }
    }

    /// The jobs asked for since the last call, removed from the table. The scheduler asks every
    /// second: a read (beside any writer, in WAL) unless there is something to take.
    public func takeRunRequests() throws -> [JobKey] {
        let pending = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT connector, user, requested_at FROM run_request ORDER BY requested_at")
        }
        guard !pending.isEmpty else { return [] }
        try database.write { db in
            // Only what was read: a request stored since is taken on the next call.
            for row in pending {
                try db.execute(
                    sql: "DELETE FROM run_request WHERE connector = ? AND user = ? AND requested_at <= ?",
                    arguments: [row["connector"] as String, row["user"] as String, row["requested_at"] as Double])
            }
        }
        return pending.map { JobKey(connector: $0["connector"], user: $0["user"]) }
    }

    /// The id of a job's latest booked run; 0 when it never ran.
    public func latestRunID(_ job: JobKey) throws -> Int64 {
        try database.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT MAX(id) FROM run WHERE connector = ? AND user = ?",
                arguments: [job.connector, job.user]) ?? 0
        }
    }

    /// A job's runs booked after the run `id`, oldest first.
    public func runs(_ job: JobKey, after id: Int64) throws -> [RunSummary] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM run WHERE connector = ? AND user = ? AND id > ? ORDER BY id",
                arguments: [job.connector, job.user, id]
            ).map(Self.run)
        }
    }
}
