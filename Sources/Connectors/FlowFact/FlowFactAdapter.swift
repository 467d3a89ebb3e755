import ConnectorAPI
import Foundation
import ODBC

/// The `flowfact-odbc` adapter: FlowFact's database over ODBC (SQLite3 ODBC for the embedded
/// default, psqlODBC, FreeTDS for MS SQL Server in production). Source and target for addresses
/// and for activities as appointments, tasks and mails.
public final class FlowFactAdapter: Adapter {
    static let day: Double = 86400

    /// The settings of a `flowfact-odbc` instance.
    static let settingsSpec = ConfigSpec([
        SettingSpec(
            "connection", .secret, required: true,
            doc:
                "ODBC connection string (Driver=…;… or DSN=…); write the password as ${ENV_VAR} or use connection_file."
        ),
        SettingSpec(
            "timezone", .string, default: "Europe/Berlin",
            doc: "Time zone of the date/time values stored in the database."),
        SettingSpec(
            "tables",
            .mapping(
                keys: FlowFactSchema.defaultTables.map(\.key), value: .string,
                defaults: Dictionary(uniqueKeysWithValues: FlowFactSchema.defaultTables.map { ($0.key, $0.value) })),
            doc:
                "Table names by key, overriding FlowFact's defaults (AD, ADMKM, AKT, AKTMKM, Aktivitätenarten, BEN, MKM, BLOB, DELLOG)."
        ),
        SettingSpec(
            "columns",
            .mapping(
                keys: FlowFactSchema.defaultColumns.map(\.key), value: .string,
                defaults: Dictionary(uniqueKeysWithValues: FlowFactSchema.defaultColumns.map { ($0.key, $0.value) })
            ),
            doc:
                "Column names by key (e.g. addresses.notes: BEMERKUNG); an empty name switches an optional column off."
        ),
        SettingSpec(
            "calendar_types", .list(.string), default: "Termin",
            doc: "Activity types (by name) that are appointments."),
        SettingSpec(
            "task_types", .list(.string), default: "Aufgabe", doc: "Activity types (by name) that are tasks."),
        SettingSpec(
            "mail_in_types", .list(.string), default: "E E-Mail", doc: "Activity types (by name) of received mails."
        ),
        SettingSpec(
            "mail_out_types", .list(.string), default: "A E-Mail", doc: "Activity types (by name) of sent mails."),
        SettingSpec(
            "overlap", .duration, default: "5m",
            doc: "How far back each change query re-reads before its watermark."),
        SettingSpec(
            "full_scan_interval", .duration, default: "1h",
            doc: "How often the ids in scope are compared with the known ones (finds deletions without DELLOG)."),
        SettingSpec(
            "use_dellog", .boolean, default: "true",
            doc: "Read deletions from the DELLOG table and write it on delete."),
        SettingSpec(
            "calendar_window", .duration, default: "90d",
            doc: "Appointments older than this are out of scope (series stay in)."),
        SettingSpec("task_window", .duration, default: "90d", doc: "Done tasks older than this are out of scope."),
        SettingSpec("mail_window", .duration, default: "30d", doc: "Mails older than this are out of scope."),
        SettingSpec(
            "flowfact_directory", .string,
            doc: "The FlowFact directory (mounted share), for attachments stored as files."),
        SettingSpec(
            "attachment_storage", .oneOf(["database", "files"]), default: "database",
            doc:
                "Where attachments of imported mails go: BLOB rows in the database, or files under flowfact_directory (Anhaenge/<year>/<activity>/) with the path in the BLOB row."
        ),
        SettingSpec(
            "unknown_sender", .oneOf(["import", "skip"]), default: "import",
            doc:
                "Mails from (or, when sent, to) an e-mail address no FlowFact address has: import them without an address, or skip them."
        ),
        SettingSpec(
            "mail_deleted_merkmal", .string, default: "Gelöscht in Exchange",
            doc: "Merkmal linked to the activity of a mail deleted in the mailbox (deletion policy 'mark')."),
        SettingSpec("batch_size", .integer(1...1000), default: "100", doc: "Writes per transaction."),
        SettingSpec("read_only", .boolean, default: "false", doc: "Never write to the database."),
    ])

    /// The registration of the `flowfact-odbc` type.
    public static let type = AdapterType(
        name: "flowfact-odbc",
        summary: "FlowFact's database over ODBC: addresses, and activities as appointments, tasks and mails.",
        settings: settingsSpec,
        users: UserSpec(
            settings: ConfigSpec([
                SettingSpec("user", .string, required: true, doc: "The FlowFact user's short name (Kürzel), e.g. MM.")
            ]),
            primaryKey: "user", formerKeys: ["flowfact": .setting("user")],
            accountName: { ($0.string("user") ?? "").uppercased() },
            validate: { settings in
                (settings.string("user") ?? "").trimmingCharacters(in: .whitespaces).isEmpty
                    ? [("user", "is empty; give the FlowFact user's short name (Kürzel)")] : []
            }),
        filter: ConfigSpec([
            SettingSpec("merkmale", .list(.string), doc: "Only records carrying these Merkmale (by name)."),
            SettingSpec(
                "match", .oneOf(["any", "all"]), default: "any",
                doc: "Whether a record needs any or all of the Merkmale."),
            SettingSpec("user_merkmal", .boolean, default: "false", doc: "Also require the mapped user's own Merkmal."),
        ]),
        endpointOptions: ConfigSpec([
            SettingSpec(
                "mail", .oneOf(["incoming", "outgoing", "both"]), default: "both",
                doc:
                    "For mail connectors: received mails (mail_in_types), sent mails (mail_out_types), or both. Pair incoming with the Inbox and outgoing with Sent Items."
            )
        ]),
        capabilities: { settings in
            let readOnly = settings.boolean("read_only") ?? false
            return Capabilities(
                kinds: Set(DataKind.allCases), canWrite: !readOnly, canDelete: !readOnly,
                mailStateChanges: Set(MailStateChange.allCases),
                fields: FlowFactRecords.fields)
        },
        make: { settings, context in try FlowFactAdapter(settings: settings, context: context) })

    let database: FlowFactDatabase

    init(settings: Settings, context: AdapterContext) throws {
        guard let connection = settings.secret("connection") else {
            throw FlowFactError.database("the setting 'connection' is missing")
        }
        if settings.string("attachment_storage") == "files", settings.string("flowfact_directory") == nil {
            throw FlowFactError.database("'attachment_storage: files' needs 'flowfact_directory' (the FlowFact share)")
        }
        let zoneName = settings.string("timezone") ?? "Europe/Berlin"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw FlowFactError.database("unknown time zone '\(zoneName)' in 'timezone'")
        }
        let schema = FlowFactSchema(tables: settings.mapping("tables"), columns: settings.mapping("columns"))
        for (key, name) in schema.tables { try Self.check(name, key: "tables.\(key)") }
        for (key, name) in schema.columns where !name.isEmpty { try Self.check(name, key: "columns.\(key)") }
        let seconds = { (name: String, fallback: Double) in
            settings.duration(name).map { Double($0.components.seconds) } ?? fallback
        }
        let options = FlowFactOptions(
            schema: schema, zone: zone,
            typeNames: [
                .calendar: settings.strings("calendar_types"), .task: settings.strings("task_types"),
                .mail: settings.strings("mail_in_types"),
            ],
            mailOutTypeNames: settings.strings("mail_out_types"), overlap: seconds("overlap", 300),
            fullScanInterval: seconds("full_scan_interval", 3600), useDellog: settings.boolean("use_dellog") ?? true,
            windows: [
                .calendar: seconds("calendar_window", 90 * Self.day), .task: seconds("task_window", 90 * Self.day),
                .mail: seconds("mail_window", 30 * Self.day),
            ],
            flowfactDirectory: settings.string("flowfact_directory").map {
                URL(fileURLWithPath: $0, relativeTo: context.baseDirectory)
            },
            batchSize: settings.integer("batch_size") ?? 100,
            unknownSender: UnknownSenderPolicy(rawValue: settings.string("unknown_sender") ?? "import")
                ?? .importUnlinked,
            deletedMailMerkmal: settings.string("mail_deleted_merkmal") ?? "Gelöscht in Exchange",
            attachmentFiles: settings.string("attachment_storage") == "files",
            // One spool per adapter instance and process, removed at shutdown.
            spool: FileManager.default.temporaryDirectory.appendingPathComponent("connector-host-spool")
                .appendingPathComponent("flowfact-\(context.instanceName)-\(UUID().uuidString.prefix(8))"))
        database = FlowFactDatabase(connectionString: connection, options: options, log: context.log)
    }

    static func check(_ name: String, key: String) throws {
        do { try ODBCConnection.checkIdentifier(name) } catch {
            throw FlowFactError.mapping(key: key, message: "\(error)")
        }
    }

    public func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint {
        let resolved = try await database.scope(
            kind: scope.kind, user: scope.account.settings.string("user") ?? scope.account.name,
            merkmale: scope.filter.strings("merkmale"),
            matchAll: scope.filter.string("match") == "all", userMerkmal: scope.filter.boolean("user_merkmal") ?? false,
            mail: MailSelection(rawValue: scope.options.string("mail") ?? "both") ?? .both)
        return FlowFactEndpoint(database: database, scope: resolved, maxBatchSize: database.options.batchSize)
    }

    /// Streams every record in scope of a kind and user to `body`, one at a time, without
    /// collecting them (for exports and the read benchmark). Returns the number of records.
    @discardableResult
    public func forEachRecord(
        kind: DataKind, user: String, merkmale: [String] = [], _ body: @Sendable (ItemState) -> Void
    ) async throws -> Int {
        let scope = try await database.scope(
            kind: kind, user: user, merkmale: merkmale, matchAll: false, userMerkmal: false)
        return try await database.stream(scope, body)
    }

    /// Checks the connection and every mapped table and column now (instead of at the first sync).
    public func verify() async throws { try await database.verify() }

    public func shutdown() async {
        await database.close()
        try? FileManager.default.removeItem(at: database.options.spool)
    }
}

/// One kind and user of the FlowFact database as a sync endpoint.
struct FlowFactEndpoint: SyncEndpoint {
    let database: FlowFactDatabase
    let scope: FlowFactScope
    let maxBatchSize: Int

    func changes(_ request: ChangeRequest) async throws -> ChangeSet { try await database.changes(scope, request) }

    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        Dictionary(
            try await database.read(scope, ids: ids, content: true).map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    }

    /// The rows alone: no attachment list, no BLOB copied into the spool.
    func readFields(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        Dictionary(
            try await database.read(scope, ids: ids, attachments: false).map { ($0.id, $0) },
            uniquingKeysWith: { $1 })
    }

    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] { try await database.apply(scope, batch) }

    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] {
        try await database.find(scope, keys: syncKeys)
    }
}
