import Foundation
import ODBC

/// The databases the tests use: SQLite through the SQLite3 ODBC driver, PostgreSQL through
/// psqlODBC (started by scripts/postgres.sh; override with CONNECTOR_TEST_PG), and SQL Server's
/// dialect checked and run on PostgreSQL (`sqlserver-dialect`: see ``TSQLBridge``): a program
/// connected to it sees `Microsoft SQL Server` and writes T-SQL, which must parse as T-SQL.
public enum TestDatabase: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres
    case sqlServerDialect = "sqlserver-dialect"

    public var description: String { rawValue }

    /// Whether the database behind it is PostgreSQL (its SQLSTATEs, its sessions).
    public var runsOnPostgres: Bool { self != .sqlite }

    /// The real drivers, for tests of the ODBC layer itself.
    public static let drivers: [TestDatabase] = [.sqlite, .postgres]

    public static let postgresBase =
        ProcessInfo.processInfo.environment["CONNECTOR_TEST_PG"]
        ?? "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=connector_test;Uid=connector;Pwd=connector"

    /// A connection string to a fresh, empty database (SQLite file or PostgreSQL schema).
    public func freshConnectionString() throws -> String {
        switch self {
        case .sqlite:
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("odbc-\(UUID().uuidString).sqlite")
            return "Driver=SQLite3;Database=\(file.path)"
        case .postgres, .sqlServerDialect:
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            let admin = try ODBCConnection(connectionString: Self.postgresBase)
            try admin.execute("CREATE SCHEMA \(schema)")
            admin.close()
            let string = Self.postgresBase + ";ConnSettings={SET search_path TO \(schema)}"
            // The schema's name makes the string unique: the bridge applies to this database alone.
            if self == .sqlServerDialect { TSQLBridge.shared.install(for: string) }
            return string
        }
    }

    public func connect() throws -> ODBCConnection {
        try ODBCConnection(connectionString: freshConnectionString())
    }
}
