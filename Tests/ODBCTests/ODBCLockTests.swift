import Foundation
import ODBC
import TestSupport
import Testing

/// What another connection's write does to ours: SQLite's transactions take the write lock when
/// they begin, and a lock not granted in time is told apart from an error in the data.
@Suite("ODBC layer: locks held by other connections")
struct ODBCLockTests {
    /// A write transaction on another connection, on its own thread, held for `seconds` or until
    /// ``release()``.
    final class Holder: @unchecked Sendable {
        let holding = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        private let released = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var failure: String?
        var error: String? { lock.withLock { failure } }

        init(_ connection: ODBCConnection, seconds: Double, _ statements: [String]) {
            Thread {
                do {
                    try connection.transaction {
                        for statement in statements { try connection.execute(statement) }
                        self.holding.signal()
                        _ = self.released.wait(timeout: .now() + seconds)
                    }
                } catch {
                    self.lock.withLock { self.failure = "\(error)" }
                    self.holding.signal()
                }
                self.done.signal()
            }.start()
        }

        func release() { released.signal() }
    }

    @Test("SQLite: a transaction that read and then writes while another connection writes waits; both commit")
    func noDeadlockOnSQLite() throws {
        let string = try TestDatabase.sqlite.freshConnectionString() + ";Timeout=5000"
        let db = try ODBCConnection(connectionString: string)
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("INSERT INTO t VALUES (1, 'x')")
        let other = try ODBCConnection(connectionString: string)
        var holder: Holder?
        try db.transaction {
            #expect(try db.rows("SELECT v FROM t").map { $0[0].string } == ["x"])
            // The other connection now tries to write. With a transaction that took only a read
            // lock, it would get the write lock, and our insert below could neither wait for it
            // (SQLite refuses, to avoid a deadlock) nor go on: "database is locked".
            holder = Holder(other, seconds: 0.1, ["UPDATE t SET v = 'y' WHERE id = 1"])
            Thread.sleep(forTimeInterval: 0.3)
            try db.execute("INSERT INTO t VALUES (2, 'z')")
        }
        holder?.done.wait()
        #expect(holder?.error == nil)
        #expect(
            try db.rows("SELECT id, v FROM t ORDER BY id").map { "\($0[0].integer ?? 0) \($0[1].string ?? "")" } == [
                "1 y", "2 z",
            ])
    }

    @Test("a rolled-back SQLite transaction leaves nothing and releases the lock")
    func rollbackOnSQLite() throws {
        let string = try TestDatabase.sqlite.freshConnectionString() + ";Timeout=1000"
        let db = try ODBCConnection(connectionString: string)
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.transaction {
                try db.execute("INSERT INTO t VALUES (1)")
                throw Abort()
            }
        }
        let other = try ODBCConnection(connectionString: string)
        try other.execute("INSERT INTO t VALUES (2)")
        #expect(try db.rows("SELECT id FROM t").map { $0[0].integer } == [2])
        // Autocommit is back: a single statement is visible to others at once.
        try db.execute("INSERT INTO t VALUES (3)")
        #expect(try other.rows("SELECT COUNT(*) FROM t").first?[0].integer == 2)
    }

    @Test("a lock not granted in time is lock contention; a broken constraint is not", arguments: TestDatabase.drivers)
    func lockContention(_ kind: TestDatabase) throws {
        let base = try kind.freshConnectionString()
        let holderConnection = try ODBCConnection(connectionString: base + (kind == .sqlite ? ";Timeout=5000" : ""))
        let db = try ODBCConnection(connectionString: base + (kind == .sqlite ? ";Timeout=100" : ""))
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10))")
        try db.execute("INSERT INTO t VALUES (1, 'x')")
        if kind == .postgres { try db.execute("SET lock_timeout = '100ms'") }
        let holder = Holder(holderConnection, seconds: 30, ["UPDATE t SET v = 'y' WHERE id = 1"])
        holder.holding.wait()
        #expect(holder.error == nil)
        do {
            try db.execute("UPDATE t SET v = 'z' WHERE id = 1")
            Issue.record("the update went through while another connection held the lock")
        } catch let error as ODBCError {
            #expect(error.isLockContention, "\(error)")
            #expect(!error.isConnectionLost)
        }
        holder.release()
        holder.done.wait()
        do {
            try db.execute("INSERT INTO t VALUES (1, 'again')")
            Issue.record("a duplicate key was accepted")
        } catch let error as ODBCError {
            #expect(!error.isLockContention, "\(error)")
        }
        // Once the lock is free the same statement succeeds.
        try db.execute("UPDATE t SET v = 'z' WHERE id = 1")
        #expect(try db.rows("SELECT v FROM t").first?[0].string == "z")
    }
}
