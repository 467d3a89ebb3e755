import FlowFactConnector
import Foundation

/// DDL of a FlowFact-like database: the tables the adapter reads and writes, with FlowFact's
/// names (see ../shared/reference/flowfact-db.md §5; column names are inferred, not FlowFact's
/// own), for the demo, the tests and the benchmarks. A production FlowFact database has its own.
public enum FlowFactTables {
    typealias ColumnType = FlowFactDDL.ColumnType

    static func sqlType(_ type: ColumnType, _ dialect: SQLDialect) -> String { FlowFactDDL.sqlType(type, dialect) }

    /// Table key → (column key, type, constraint) in order; keys as in `FlowFactSchema`.
    static let tables: [(table: String, columns: [(String, ColumnType, String)], primaryKey: [String])] = [
        (
            "users",
            [
                ("id", .guid, "NOT NULL"), ("short_name", .varchar(10), "NOT NULL"),
                ("name", .varchar(100), "NOT NULL"),
                ("email", .varchar(255), ""), ("merkmal", .guid, ""), ("active", .flag, "NOT NULL DEFAULT 1"),
            ], ["id"]
        ),
        (
            "merkmale",
            [("id", .guid, "NOT NULL"), ("name", .varchar(100), "NOT NULL"), ("active", .flag, "NOT NULL DEFAULT 1")],
            ["id"]
        ),
        (
            "addresses",
            [
                ("id", .guid, "NOT NULL"), ("salutation", .varchar(50), ""), ("title", .varchar(50), ""),
                ("given_name", .varchar(100), ""), ("family_name", .varchar(100), ""), ("company", .varchar(150), ""),
                ("department", .varchar(100), ""), ("job_title", .varchar(100), ""), ("street", .varchar(150), ""),
                ("postal_code", .varchar(10), ""), ("city", .varchar(100), ""), ("country", .varchar(50), ""),
                ("phone_business", .varchar(50), ""), ("phone_business2", .varchar(50), ""),
                ("phone_home", .varchar(50), ""),
                ("phone_home2", .varchar(50), ""), ("phone_mobile", .varchar(50), ""),
                ("phone_assistant", .varchar(50), ""),
                ("phone_car", .varchar(50), ""), ("fax", .varchar(50), ""), ("email", .varchar(255), ""),
                ("email2", .varchar(255), ""), ("email3", .varchar(255), ""), ("web", .varchar(255), ""),
                ("birthday", .date, ""), ("notes", .text, ""), ("owner", .guid, ""),
                ("archived", .flag, "NOT NULL DEFAULT 0"),
                ("created", .timestamp, "NOT NULL"), ("created_by", .varchar(10), ""),
                ("changed", .timestamp, "NOT NULL"),
                ("changed_by", .varchar(10), ""),
            ], ["id"]
        ),
        (
            "address_merkmale",
            [
                ("record", .guid, "NOT NULL"), ("merkmal", .guid, "NOT NULL"), ("active", .flag, "NOT NULL DEFAULT 1"),
                ("created", .timestamp, "NOT NULL"), ("created_by", .varchar(10), ""),
            ], ["record", "merkmal"]
        ),
        ("activity_types", [("id", .guid, "NOT NULL"), ("name", .varchar(50), "NOT NULL")], ["id"]),
        (
            "activities",
            [
                ("id", .guid, "NOT NULL"), ("type", .guid, "NOT NULL"), ("subject", .varchar(255), ""),
                ("text", .text, ""),
                ("html", .text, ""), ("date", .timestamp, ""), ("end", .timestamp, ""),
                ("all_day", .flag, "NOT NULL DEFAULT 0"),
                ("follow_up", .timestamp, ""), ("done", .flag, "NOT NULL DEFAULT 0"), ("done_at", .timestamp, ""),
                ("priority", .flag, ""), ("status", .varchar(50), ""), ("location", .varchar(150), ""),
                ("address", .guid, ""), ("parent", .guid, ""), ("owner", .guid, ""), ("mail_from", .varchar(255), ""),
                ("mail_to", .text, ""), ("mail_cc", .text, ""), ("mail_bcc", .text, ""),
                ("message_id", .varchar(255), ""),
                ("mail_date", .timestamp, ""), ("recurrence", .text, ""), ("created", .timestamp, "NOT NULL"),
                ("created_by", .varchar(10), ""), ("changed", .timestamp, "NOT NULL"), ("changed_by", .varchar(10), ""),
            ], ["id"]
        ),
        (
            "activity_merkmale",
            [
                ("record", .guid, "NOT NULL"), ("merkmal", .guid, "NOT NULL"), ("active", .flag, "NOT NULL DEFAULT 1"),
                ("created", .timestamp, "NOT NULL"), ("created_by", .varchar(10), ""),
            ], ["record", "merkmal"]
        ),
        (
            "attachments",
            [
                ("id", .guid, "NOT NULL"), ("table", .varchar(30), "NOT NULL"), ("record", .guid, "NOT NULL"),
                ("file_name", .varchar(255), "NOT NULL"), ("media_type", .varchar(100), ""), ("size", .integer, ""),
                ("content", .blob, ""), ("path", .varchar(1000), ""), ("content_id", .varchar(255), ""),
                ("created", .timestamp, "NOT NULL"), ("created_by", .varchar(10), ""),
                ("changed", .timestamp, "NOT NULL"),
            ], ["id"]
        ),
        (
            "deletions",
            [
                ("id", .identity, ""), ("table", .varchar(30), "NOT NULL"), ("record", .guid, "NOT NULL"),
                ("deleted_at", .timestamp, "NOT NULL"), ("deleted_by", .varchar(10), ""),
            ], []
        ),
    ]

    /// Indexes that keep the change queries fast: (table key, column keys).
    static let indexes: [(String, [String])] = [
        ("addresses", ["changed", "id"]), ("activities", ["changed", "id"]), ("activities", ["owner", "type"]),
        ("activities", ["date"]), ("address_merkmale", ["merkmal"]), ("activity_merkmale", ["merkmal", "active"]),
        ("attachments", ["table", "record"]), ("deletions", ["deleted_at"]),
        ("address_merkmale", ["created"]), ("activity_merkmale", ["created"]), ("activities", ["message_id"]),
        ("addresses", ["email"]),
    ]

    /// CREATE TABLE and CREATE INDEX statements for `dialect`, with the schema's names.
    public static func statements(
        for dialect: SQLDialect, schema: FlowFactSchema = FlowFactSchema(), quote: (String) throws -> String
    )
        throws -> [String]
    {
        var result: [String] = []
        for (table, columns, primaryKey) in tables {
            var lines: [String] = []
            for (key, type, constraint) in columns {
                guard let name = schema.column("\(table).\(key)") else { continue }
                lines.append(
                    "\(try quote(name)) \(sqlType(type, dialect))\(constraint.isEmpty ? "" : " " + constraint)")
            }
            if !primaryKey.isEmpty {
                let keys = try primaryKey.map { try quote(schema.column("\(table).\($0)")!) }
                lines.append("PRIMARY KEY (\(keys.joined(separator: ", ")))")
            }
            result.append("CREATE TABLE \(try quote(schema.table(table))) (\n  \(lines.joined(separator: ",\n  "))\n)")
        }
        result.append(contentsOf: try FlowFactDDL.syncKeyTable(for: dialect, schema: schema, quote: quote))
        result.append(contentsOf: try FlowFactDDL.keptFieldsTable(for: dialect, schema: schema, quote: quote))
        for (index, (table, keys)) in indexes.enumerated() {
            let columns = try keys.compactMap { schema.column("\(table).\($0)") }.map(quote)
            result.append(
                "CREATE INDEX \(try quote("IX_CONNECTOR_\(index)")) ON \(try quote(schema.table(table))) (\(columns.joined(separator: ", ")))"
            )
        }
        return result
    }

}
