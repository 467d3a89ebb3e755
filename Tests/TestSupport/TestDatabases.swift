import Foundation
import ODBC

/// The two real databases the tests use: SQLite through the SQLite3 ODBC driver, and PostgreSQL
/// through psqlODBC (started by scripts/postgres.sh; override with CONNECTOR_TEST_PG).
public enum TestDatabase: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres

    public var description: String { rawValue }

    public static let postgresBase =
        ProcessInfo.processInfo.environment["CONNECTOR_TEST_PG"]
        ?? "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=connector_test;Uid=connector;Pwd=connector"

    /// A connection string to a fresh, empty database (SQLite file or PostgreSQL schema).
    public func freshConnectionString() throws -> String {
        switch self {
        case .sqlite:
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("odbc-\(UUID().uuidString).sqlite")
            return "Driver=SQLite3;Database=\(file.path)"
        case .postgres:
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            let admin = try ODBCConnection(connectionString: Self.postgresBase)
            try admin.execute("CREATE SCHEMA \(schema)")
            admin.close()
            return Self.postgresBase + ";ConnSettings={SET search_path TO \(schema)}"
        }
    }

    public func connect() throws -> ODBCConnection {
        try ODBCConnection(connectionString: freshConnectionString())
    }
}
