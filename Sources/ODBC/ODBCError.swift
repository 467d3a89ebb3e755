import CODBC
import Foundation

/// One diagnostic record of the driver or driver manager.
public struct ODBCDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The five-character SQLSTATE, e.g. `42S02` (table not found) or `08001` (cannot connect).
    public var sqlState: String
    /// The driver's own error number.
    public var nativeCode: Int32
    public var message: String

    public var description: String { "[SQLSTATE \(sqlState), native \(nativeCode)] \(message)" }
}

/// An ODBC call that failed, with every diagnostic the driver gave.
public struct ODBCError: Error, Sendable, CustomStringConvertible {
    /// What was being done, e.g. `connect`, `prepare`, `execute`.
    public var operation: String
    public var diagnostics: [ODBCDiagnostic]
    /// The statement, when the failure belongs to one (values are never included).
    public var sql: String?

    public init(operation: String, diagnostics: [ODBCDiagnostic], sql: String? = nil) {
        self.operation = operation
        self.diagnostics = diagnostics
        self.sql = sql
    }

    /// The first SQLSTATE, or `HY000` when the driver gave none.
    public var sqlState: String { diagnostics.first?.sqlState ?? "HY000" }

    /// Whether the connection itself broke (class 08, or a server shutdown), so reconnecting may help.
    public var isConnectionLost: Bool {
        diagnostics.contains { diagnostic in
            if diagnostic.sqlState.hasPrefix("08") || diagnostic.sqlState == "57P01" || diagnostic.sqlState == "HYT01" {
                return true
            }
            // Some drivers (psqlODBC) report a dropped session only in the text, under HY000.
            let text = diagnostic.message.lowercased()
            return Self.lostConnectionTexts.contains { text.contains($0) }
        }
    }

    /// Whether the statement lost a race for a lock (another connection was writing): nothing
    /// about the data is wrong, and the same statement may succeed a moment later. SQLite's
    /// "database is locked"/"table is locked" (native codes 5 and 6, under HY000), PostgreSQL's
    /// lock_not_available (55P03), SQL Server's lock request time-out (native 1222) and the
    /// deadlock victims of class 40 (PostgreSQL 40P01, SQL Server 1205 as 40001).
    public var isLockContention: Bool {
        diagnostics.contains { diagnostic in
            let state = diagnostic.sqlState
            if state.hasPrefix("40") || state == "55P03" { return true }
            if diagnostic.nativeCode == 1222 || diagnostic.nativeCode == 1205 { return true }
            let text = diagnostic.message.lowercased()
            return (diagnostic.nativeCode == 5 || diagnostic.nativeCode == 6)
                && (text.contains("database is locked") || text.contains("table is locked"))
        }
    }

    static let lostConnectionTexts = [
        "connection has been lost", "terminating connection", "server closed the connection", "could not send data",
        "could not receive data", "connection reset", "broken pipe", "communication link failure",
    ]

    public var description: String {
        let details = diagnostics.isEmpty ? "no diagnostics" : diagnostics.map(\.description).joined(separator: "; ")
        return "ODBC \(operation) failed: \(details)" + (sql.map { " (statement: \($0))" } ?? "")
    }

    /// Reads all diagnostic records of a handle.
    static func diagnostics(type: Int32, handle: SQLHANDLE?) -> [ODBCDiagnostic] {
        guard let handle else { return [] }
        var result: [ODBCDiagnostic] = []
        var record: SQLSMALLINT = 1
        while record < 20 {
            var state = [SQLWCHAR](repeating: 0, count: 6)
            var native: SQLINTEGER = 0
            var message = [SQLWCHAR](repeating: 0, count: 2048)
            var length: SQLSMALLINT = 0
            let rc = SQLGetDiagRecW(
                SQLSMALLINT(type), handle, record, &state, &native, &message, SQLSMALLINT(message.count), &length)
            guard rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO else { break }
            let text = WideString.decode(message, count: min(Int(length), message.count - 1))
            result.append(
                ODBCDiagnostic(
                    sqlState: WideString.decode(state, count: 5), nativeCode: native,
                    message: text.trimmingCharacters(in: .whitespacesAndNewlines)))
            record += 1
        }
        return result
    }
}

/// UTF-16 conversion for the wide ODBC API (SQLWCHAR is 16 bits in unixODBC).
enum WideString {
    static func encode(_ text: String) -> [SQLWCHAR] { Array(text.utf16) + [0] }

    static func decode(_ buffer: [SQLWCHAR], count: Int) -> String {
        let end = buffer.prefix(max(0, count)).firstIndex(of: 0) ?? max(0, min(count, buffer.count))
        return String(decoding: buffer[..<end], as: UTF16.self)
    }
}

@inline(__always) func succeeded(_ rc: SQLRETURN) -> Bool { rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO }

/// Process-wide counts of ODBC work, for benchmarks.
public enum ODBCStatistics {
    nonisolated(unsafe) private static var executions = 0
    private static let lock = NSLock()

    static func count() {
        lock.withLock { executions += 1 }
        counter?.increment()
    }

    /// Statements executed (queries and updates) since the process started.
    public static var statements: Int { lock.withLock { executions } }

    /// Counts the statements run by the work of one task (and the actors it calls), whatever else
    /// runs in the process at the same time: `ODBCStatistics.$counter.withValue(counter) { … }`.
    @TaskLocal public static var counter: ODBCStatementCounter?
}

/// A count of statements, for ``ODBCStatistics/counter``.
public final class ODBCStatementCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    public init() {}

    func increment() { lock.withLock { count += 1 } }

    /// Statements counted so far.
    public var statements: Int { lock.withLock { count } }
}
