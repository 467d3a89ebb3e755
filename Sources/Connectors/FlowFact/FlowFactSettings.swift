import ConnectorAPI
import Foundation

/// The settings of a `flowfact-odbc` instance, each declared once (spec, default and reading).
struct FlowFactSettings {
    let connection = Setting<Secret?>.secret(
        "connection", required: true,
        doc: "ODBC connection string (Driver=…;… or DSN=…); write the password as ${ENV_VAR} or use connection_file.")
    let timezone = Setting<TimeZone>.timeZone(
        "timezone", default: "Europe/Berlin", doc: "Time zone of the date/time values stored in the database.")
    let tables = Setting<[String: String]>.mapping(
        "tables", keys: FlowFactSchema.defaultTables.map(\.key),
        defaults: Dictionary(uniqueKeysWithValues: FlowFactSchema.defaultTables.map { ($0.key, $0.value) }),
        doc:
            "Table names by key, overriding FlowFact's defaults (AD, ADMKM, AKT, AKTMKM, Aktivitätenarten, BEN, MKM, BLOB, DELLOG)."
    )
    let columns = Setting<[String: String]>.mapping(
        "columns", keys: FlowFactSchema.defaultColumns.map(\.key),
        defaults: Dictionary(uniqueKeysWithValues: FlowFactSchema.defaultColumns.map { ($0.key, $0.value) }),
        doc: "Column names by key (e.g. addresses.notes: BEMERKUNG); an empty name switches an optional column off.")
    let calendarTypes = Setting<[String]>.list(
        "calendar_types", default: ["Termin"], doc: "Activity types (by name) that are appointments.")
    let taskTypes = Setting<[String]>.list(
        "task_types", default: ["Aufgabe"], doc: "Activity types (by name) that are tasks.")
    let mailInTypes = Setting<[String]>.list(
        "mail_in_types", default: ["E E-Mail"], doc: "Activity types (by name) of received mails.")
    let mailOutTypes = Setting<[String]>.list(
        "mail_out_types", default: ["A E-Mail"], doc: "Activity types (by name) of sent mails.")
    let overlap = Setting<Duration>.duration(
        "overlap", default: "5m", doc: "How far back each change query re-reads before its watermark.")
    let fullScanInterval = Setting<Duration>.duration(
        "full_scan_interval", default: "1h",
        doc: "How often the ids in scope are compared with the known ones (finds deletions without DELLOG).")
    let useDellog = Setting<Bool>.boolean(
        "use_dellog", default: true, doc: "Read deletions from the DELLOG table and write it on delete.")
    let calendarWindow = Setting<Duration>.duration(
        "calendar_window", default: "90d", doc: "Appointments older than this are out of scope (series stay in).")
    let taskWindow = Setting<Duration>.duration(
        "task_window", default: "90d", doc: "Done tasks older than this are out of scope.")
    let mailWindow = Setting<Duration>.duration(
        "mail_window", default: "30d", doc: "Mails older than this are out of scope.")
    let flowfactDirectory = Setting<String?>.string(
        "flowfact_directory", doc: "The FlowFact directory (mounted share), for attachments stored as files.")
    let attachmentStorage = Setting<String>.oneOf(
        "attachment_storage", ["database", "files"], default: "database",
        doc:
            "Where attachments of imported mails go: BLOB rows in the database, or files under flowfact_directory (Anhaenge/<year>/<activity>/) with the path in the BLOB row."
    )
    let unknownSender = Setting<String>.oneOf(
        "unknown_sender", UnknownSenderPolicy.allCases.map(\.rawValue),
        default: UnknownSenderPolicy.importUnlinked.rawValue,
        doc:
            "Mails from (or, when sent, to) an e-mail address no FlowFact address has: import them without an address, or skip them."
    )
    let mailDeletedMerkmal = Setting<String>.string(
        "mail_deleted_merkmal", default: "Gelöscht in Exchange",
        doc: "Merkmal linked to the activity of a mail deleted in the mailbox (deletion policy 'mark').")
    let categories = Setting<[String: String]>.names(
        "categories",
        doc:
            "Outlook categories held as Merkmale (category: Merkmal name, e.g. { VIP: VIP-Kunde }); other categories are kept in the connector table and stay in the mailbox."
    )
    let keepOtherFields = Setting<Bool>.boolean(
        "keep_other_fields", default: true,
        doc:
            "Keep the fields FlowFact has no column for (middle name, home and other address, time zone, private, free/busy, percent complete, …) in the adapter's table CONNECTOR_FIELDS, so they reach other mailboxes unchanged; off: they stay in each mailbox and do not travel."
    )
    let batchSize = Setting<Int>.integer("batch_size", in: 1...1000, default: 100, doc: "Writes per transaction.")
    let readOnly = Setting<Bool>.boolean("read_only", default: false, doc: "Never write to the database.")
}

/// A user's account on a `flowfact-odbc` instance.
struct FlowFactAccountSettings {
    let user = Setting<String?>.string(
        "user", required: true, doc: "The FlowFact user's short name (Kürzel), e.g. MM.")
}

/// A connector's `filter:` when a `flowfact-odbc` instance is its source.
struct FlowFactFilter {
    let merkmale = Setting<[String]>.list("merkmale", doc: "Only records carrying these Merkmale (by name).")
    let match = Setting<String>.oneOf(
        "match", ["any", "all"], default: "any", doc: "Whether a record needs any or all of the Merkmale.")
    let userMerkmal = Setting<Bool>.boolean(
        "user_merkmal", default: false, doc: "Also require the mapped user's own Merkmal.")
}

/// A connector's `source_options:` / `target_options:` for a `flowfact-odbc` endpoint.
struct FlowFactEndpointOptions {
    let mail = Setting<String>.oneOf(
        "mail", MailSelection.allCases.map(\.rawValue), default: MailSelection.both.rawValue,
        doc:
            "For mail connectors: received mails (mail_in_types), sent mails (mail_out_types), or both. Pair incoming with the Inbox and outgoing with Sent Items."
    )
}
