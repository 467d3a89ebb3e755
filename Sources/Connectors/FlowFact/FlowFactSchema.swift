import ConnectorAPI
import Foundation
import ODBC

/// The FlowFact tables and columns the adapter touches, by logical key, with FlowFact-style
/// defaults. Every name can be overridden in `connectors.yaml` (`tables:` and `columns:`), since
/// no public source documents FlowFact's real column names.
public struct FlowFactSchema: Sendable, Hashable {
    /// Logical table key → default table name.
    public static let defaultTables: KeyValuePairs<String, String> = [
        "addresses": "AD", "address_merkmale": "ADMKM", "activities": "AKT", "activity_merkmale": "AKTMKM",
        "activity_types": "Aktivitätenarten", "users": "BEN", "merkmale": "MKM", "attachments": "BLOB",
        "deletions": "DELLOG", "sync_keys": "CONNECTOR_SYNCKEY", "kept_fields": "CONNECTOR_FIELDS",
    ]

    /// Logical column key (`<table key>.<column>`) → default column name.
    public static let defaultColumns: KeyValuePairs<String, String> = [
        "addresses.id": "ID", "addresses.salutation": "ANREDE", "addresses.title": "TITEL",
        "addresses.given_name": "VORNAME", "addresses.middle_name": "", "addresses.family_name": "NAME",
        "addresses.company": "FIRMA",
        "addresses.department": "ABTEILUNG", "addresses.job_title": "POSITION", "addresses.street": "STRASSE",
        "addresses.postal_code": "PLZ", "addresses.city": "ORT", "addresses.country": "LAND",
        "addresses.phone_business": "TEL_GESCH", "addresses.phone_business2": "TEL_GESCH2",
        "addresses.phone_home": "TEL_PRIV", "addresses.phone_home2": "TEL_PRIV2", "addresses.phone_mobile": "TEL_MOBIL",
        "addresses.phone_assistant": "TEL_SEKR", "addresses.phone_car": "TEL_AUTO", "addresses.fax": "FAX",
        "addresses.email": "EMAIL", "addresses.email2": "EMAIL2", "addresses.email3": "EMAIL3", "addresses.web": "WWW",
        "addresses.birthday": "GEBURTSTAG", "addresses.notes": "NOTIZ", "addresses.owner": "BESITZER_ID",
        "addresses.archived": "ARCHIVIERT", "addresses.created": "ERFDATUM", "addresses.created_by": "ERFBEN",
        "addresses.changed": "AENDDATUM", "addresses.changed_by": "AENDBEN",
        "address_merkmale.record": "AD_ID", "address_merkmale.merkmal": "MKM_ID", "address_merkmale.active": "AKTIV",
        "address_merkmale.created": "ERFDATUM", "address_merkmale.created_by": "ERFBEN",
        "activities.id": "ID", "activities.type": "AKTART_ID", "activities.subject": "BETREFF",
        "activities.text": "TEXT",
        "activities.html": "HTML", "activities.date": "DATUM", "activities.end": "ENDE",
        "activities.all_day": "GANZTAEGIG",
        "activities.follow_up": "VORLAGE", "activities.done": "ERLEDIGT", "activities.done_at": "ERLEDIGT_AM",
        "activities.priority": "PRIORITAET", "activities.status": "STATUS", "activities.location": "ORT",
        "activities.address": "AD_ID", "activities.parent": "VORGANG_ID", "activities.owner": "BESITZER_ID",
        "activities.mail_from": "MAIL_VON", "activities.mail_to": "MAIL_AN", "activities.mail_cc": "MAIL_CC",
        "activities.mail_bcc": "MAIL_BCC", "activities.message_id": "MAIL_MSGID", "activities.mail_date": "MAIL_DATUM",
        "activities.recurrence": "PERIODE", "activities.private": "", "activities.created": "ERFDATUM",
        "activities.created_by": "ERFBEN",
        "activities.changed": "AENDDATUM", "activities.changed_by": "AENDBEN",
        "activity_merkmale.record": "AKT_ID", "activity_merkmale.merkmal": "MKM_ID",
        "activity_merkmale.active": "AKTIV",
        "activity_merkmale.created": "ERFDATUM", "activity_merkmale.created_by": "ERFBEN",
        "activity_types.id": "ID", "activity_types.name": "NAME",
        "users.id": "ID", "users.short_name": "KUERZEL", "users.name": "NAME", "users.email": "EMAIL",
        "users.merkmal": "MKM_ID", "users.active": "AKTIV",
        "merkmale.id": "ID", "merkmale.name": "NAME", "merkmale.active": "AKTIV",
        "attachments.id": "ID", "attachments.table": "TABELLE", "attachments.record": "DATENSATZ_ID",
        "attachments.file_name": "DATEINAME", "attachments.media_type": "DATEITYP", "attachments.size": "GROESSE",
        "attachments.content": "INHALT", "attachments.path": "PFAD", "attachments.content_id": "CONTENT_ID",
        "attachments.created": "ERFDATUM",
        "attachments.created_by": "ERFBEN", "attachments.changed": "AENDDATUM",
        "deletions.id": "ID", "deletions.table": "TABELLE", "deletions.record": "DATENSATZ_ID",
        "deletions.deleted_at": "GELOESCHT_AM", "deletions.deleted_by": "GELOESCHT_VON",
        "sync_keys.table": "TABELLE", "sync_keys.record": "DATENSATZ_ID", "sync_keys.key": "SYNC_KEY",
        "sync_keys.created": "ERFDATUM",
        "kept_fields.table": "TABELLE", "kept_fields.record": "DATENSATZ_ID", "kept_fields.values": "FELDER",
        "kept_fields.changed": "AENDDATUM",
    ]

    /// Columns that may be switched off with an empty name (the feature they serve is then skipped).
    public static let optionalColumns: Set<String> = [
        "addresses.archived", "addresses.owner", "activities.html", "activities.recurrence", "activities.parent",
        "activities.status", "activities.priority", "activities.location", "activities.end", "activities.all_day",
        "attachments.path", "attachments.content_id", "addresses.middle_name", "activities.private",
    ]

    public var tables: [String: String]
    public var columns: [String: String]

    /// The defaults with the given overrides.
    public init(tables: [String: String] = [:], columns: [String: String] = [:]) {
        self.tables = Dictionary(uniqueKeysWithValues: Self.defaultTables.map { ($0.key, $0.value) })
            .merging(tables) { $1 }
        self.columns = Dictionary(uniqueKeysWithValues: Self.defaultColumns.map { ($0.key, $0.value) })
            .merging(columns) { $1 }
    }

    /// The table name of a logical table key.
    public func table(_ key: String) -> String { tables[key] ?? key }

    /// The column name of a logical column key, or nil when an optional column is switched off.
    public func column(_ key: String) -> String? {
        guard let name = columns[key], !name.isEmpty else { return nil }
        return name
    }

    /// Logical column keys of a table, in declaration order.
    public static func columnKeys(of table: String) -> [String] {
        defaultColumns.map(\.key).filter { $0.hasPrefix(table + ".") }
    }
}

/// Builds SQL text with quoted, validated identifiers for one connection.
public struct SQLNames {
    let schema: FlowFactSchema
    let quote: (String) throws -> String

    /// Names of `schema`, quoted by `quote` (a connection's ``ODBCConnection/quote(_:)``).
    public init(schema: FlowFactSchema, quote: @escaping (String) throws -> String) {
        self.schema = schema
        self.quote = quote
    }

    /// The quoted table of a key.
    public func table(_ key: String) throws -> String {
        do { return try quote(schema.table(key)) } catch {
            throw FlowFactError.mapping(key: "tables.\(key)", message: "\(error)")
        }
    }

    /// The quoted column of a key, prefixed with `alias.` when given; nil for a switched-off optional column.
    public func column(_ key: String, _ alias: String? = nil) throws -> String? {
        guard let name = schema.column(key) else {
            if FlowFactSchema.optionalColumns.contains(key) { return nil }
            throw FlowFactError.mapping(key: "columns.\(key)", message: "the column is required and may not be empty")
        }
        let quoted: String
        do { quoted = try quote(name) } catch {
            throw FlowFactError.mapping(key: "columns.\(key)", message: "\(error)")
        }
        return alias.map { "\($0).\(quoted)" } ?? quoted
    }

    /// Inserts a row given by column keys without the table prefix; keys whose column is switched
    /// off are left out.
    public func insert(_ table: String, _ values: [String: ODBCValue], into db: ODBCConnection) throws {
        var columns: [String] = []
        var parameters: [ODBCValue] = []
        for key in FlowFactSchema.columnKeys(of: table) {
            let short = String(key.dropFirst(table.count + 1))
            guard let value = values[short], let column = try column(key) else { continue }
            columns.append(column)
            parameters.append(value)
        }
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        try db.execute(
            "INSERT INTO \(try self.table(table)) (\(columns.joined(separator: ", "))) VALUES (\(marks))", parameters)
    }

    /// A required column (throws when switched off).
    public func required(_ key: String, _ alias: String? = nil) throws -> String {
        guard let column = try column(key, alias) else {
            throw FlowFactError.mapping(key: "columns.\(key)", message: "the column is required and may not be empty")
        }
        return column
    }
}

/// Errors of the FlowFact adapter, each naming what to fix.
public enum FlowFactError: ClassifiedError, CustomStringConvertible, Sendable {
    /// A table or column of the mapping does not work with the database.
    case mapping(key: String, message: String)
    /// The FlowFact user of a binding is not in the users table.
    case unknownUser(String)
    /// A Merkmal named in a filter does not exist.
    case unknownMerkmal(String)
    /// An activity type named in the settings does not exist.
    case unknownActivityType(setting: String, name: String)
    /// A value in the database cannot be read as a record.
    case invalidData(table: String, id: String, message: String)
    case database(String)

    /// Mapping mistakes and unknown names need an administrator; database trouble may pass.
    public var isPermanent: Bool {
        switch self {
        case .mapping, .unknownUser, .unknownMerkmal, .unknownActivityType: true
        case .invalidData, .database: false
        }
    }

    public var description: String {
        switch self {
        case .mapping(let key, let message): "FlowFact mapping key '\(key)': \(message)"
        case .unknownUser(let user): "FlowFact user '\(user)' is not in the users table (BEN, column KUERZEL)"
        case .unknownMerkmal(let name): "Merkmal '\(name)' does not exist in the Merkmal table"
        case .unknownActivityType(let setting, let name):
            "activity type '\(name)' (setting '\(setting)') does not exist in the activity type table"
        case .invalidData(let table, let id, let message): "invalid data in \(table) record \(id): \(message)"
        case .database(let message): message
        }
    }
}
