import Foundation

/// A translation placed between a program and the database it is connected to, so that SQL written
/// for one DBMS can be checked and run on another: a connection with a bridge reports the bridge's
/// DBMS name and identifier quote (the program writes that DBMS's SQL), and each statement is
/// translated once, when it is prepared, before the driver sees it.
///
/// Production connections have none. Tests install one (``ODBCDialectBridges``) to check that the
/// statements the FlowFact adapter writes for Microsoft SQL Server parse as T-SQL and give the same
/// results as the statements it writes for PostgreSQL.
public protocol ODBCDialectBridge: AnyObject, Sendable {
    /// The DBMS the connection reports instead of the driver's (e.g. `Microsoft SQL Server`).
    var dbmsName: String { get }
    /// The identifier quote the connection reports instead of the driver's (e.g. `[`).
    var identifierQuote: String { get }
    /// The statement to run for `sql`, and for each of its parameter markers the index of the
    /// original parameter bound there (a translation may move markers, as `TOP (?)` to `LIMIT ?`).
    /// Throws when `sql` is not valid in the bridge's source dialect.
    func translate(_ sql: String) throws -> (sql: String, parameterOrder: [Int])
}

/// The bridges installed in this process, by the start of the connection strings they apply to.
public enum ODBCDialectBridges {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var installed: [(prefix: String, bridge: any ODBCDialectBridge)] = []

    /// Connections opened from now on with a connection string that starts with `prefix` use `bridge`.
    public static func install(_ bridge: any ODBCDialectBridge, forConnectionStringsStartingWith prefix: String) {
        lock.withLock { installed.append((prefix, bridge)) }
    }

    /// Removes the bridge installed for `prefix` (connections already open keep theirs).
    public static func remove(prefix: String) {
        lock.withLock { installed.removeAll { $0.prefix == prefix } }
    }

    /// The bridge for a connection string: the one with the longest matching prefix.
    static func bridge(for connectionString: String) -> (any ODBCDialectBridge)? {
        lock.withLock {
            installed.filter { connectionString.hasPrefix($0.prefix) }.max { $0.prefix.count < $1.prefix.count }?.bridge
        }
    }
}
