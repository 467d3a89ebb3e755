import AdapterSupport
import ConnectorAPI
import Foundation
import ODBC

/// The `flowfact-odbc` adapter: FlowFact's database over ODBC (SQLite3 ODBC for the embedded
/// default, psqlODBC, FreeTDS for MS SQL Server in production). Source and target for addresses
/// and for activities as appointments, tasks and mails.
public final class FlowFactAdapter: Adapter {
    /// The settings of an instance, of a user's account, of a filter and of an endpoint, declared once.
    static let settingsDeclared = FlowFactSettings()
    static let accountDeclared = FlowFactAccountSettings()
    static let filterDeclared = FlowFactFilter()
    static let optionsDeclared = FlowFactEndpointOptions()

    /// The registration of the `flowfact-odbc` type.
    public static let type = AdapterType(
        name: "flowfact-odbc",
        summary: "FlowFact's database over ODBC: addresses, and activities as appointments, tasks and mails.",
        settings: ConfigSpec(declaredIn: settingsDeclared),
        users: UserSpec(
            settings: ConfigSpec(declaredIn: accountDeclared),
            primaryKey: "user", formerKeys: ["flowfact": .setting("user")],
            accountName: { ($0[accountDeclared.user] ?? "").uppercased() },
            validate: { settings in
                (settings[accountDeclared.user] ?? "").trimmingCharacters(in: .whitespaces).isEmpty
                    ? [("user", "is empty; give the FlowFact user's short name (Kürzel)")] : []
            }),
        filter: ConfigSpec(declaredIn: filterDeclared),
        endpointOptions: ConfigSpec(declaredIn: optionsDeclared),
        capabilities: { settings in
            let readOnly = settings[settingsDeclared.readOnly]
            let holding = holding(settings)
            return Capabilities(
                kinds: Set(DataKind.allCases), canWrite: !readOnly, canDelete: !readOnly,
                mailStateChanges: Set(MailStateChange.allCases),
                fields: Dictionary(uniqueKeysWithValues: DataKind.allCases.map { ($0, holding.held($0)) }),
                keptFields: Dictionary(uniqueKeysWithValues: DataKind.allCases.map { ($0, holding.kept($0)) }))
        },
        make: { settings, context in try FlowFactAdapter(settings: settings, context: context) })

    let database: FlowFactDatabase

    /// Which fields an instance holds, from its settings.
    static func holding(_ settings: Settings) -> FlowFactRecords.Holding {
        let schema = FlowFactSchema(
            tables: settings[settingsDeclared.tables], columns: settings[settingsDeclared.columns])
        return FlowFactRecords.Holding(
            middleNameColumn: schema.column("addresses.middle_name") != nil,
            privateColumn: schema.column("activities.private") != nil,
            categoriesMapped: !settings[settingsDeclared.categories].isEmpty,
            keepOtherFields: settings[settingsDeclared.keepOtherFields])
    }

    init(settings: Settings, context: AdapterContext) throws {
        let declared = Self.settingsDeclared
        guard let connection = settings[declared.connection] else {
            throw FlowFactError.database("the setting 'connection' is missing")
        }
        let files = settings[declared.attachmentStorage] == "files"
        if files, settings[declared.flowfactDirectory] == nil {
            throw FlowFactError.database("'attachment_storage: files' needs 'flowfact_directory' (the FlowFact share)")
        }
        let zone = settings[declared.timezone]
        let schema = FlowFactSchema(tables: settings[declared.tables], columns: settings[declared.columns])
        for (key, name) in schema.tables { try Self.check(name, key: "tables.\(key)") }
        for (key, name) in schema.columns where !name.isEmpty { try Self.check(name, key: "columns.\(key)") }
        let seconds = { (setting: Setting<Duration>) in Double(settings[setting].components.seconds) }
        let options = FlowFactOptions(
            schema: schema, zone: zone,
            typeNames: [
                .calendar: settings[declared.calendarTypes], .task: settings[declared.taskTypes],
                .mail: settings[declared.mailInTypes],
            ],
            mailOutTypeNames: settings[declared.mailOutTypes], overlap: seconds(declared.overlap),
            fullScanInterval: seconds(declared.fullScanInterval), useDellog: settings[declared.useDellog],
            windows: [
                .calendar: seconds(declared.calendarWindow), .task: seconds(declared.taskWindow),
                .mail: seconds(declared.mailWindow),
            ],
            flowfactDirectory: settings[declared.flowfactDirectory].map {
                URL(fileURLWithPath: $0, relativeTo: context.baseDirectory)
            },
            batchSize: settings[declared.batchSize],
            unknownSender: UnknownSenderPolicy(rawValue: settings[declared.unknownSender]) ?? .importUnlinked,
            deletedMailMerkmal: settings[declared.mailDeletedMerkmal],
            attachmentFiles: files,
            spool: SpoolDirectory(adapter: "flowfact", instance: context.instanceName),
            holding: Self.holding(settings), categoryMerkmale: settings[declared.categories])
        database = FlowFactDatabase(connectionString: connection, options: options, log: context.log)
    }

    static func check(_ name: String, key: String) throws {
        do { try ODBCConnection.checkIdentifier(name) } catch {
            throw FlowFactError.mapping(key: key, message: "\(error)")
        }
    }

    public func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint {
        let resolved = try await database.scope(
            kind: scope.kind, user: scope.account.settings[Self.accountDeclared.user] ?? scope.account.name,
            merkmale: scope.filter[Self.filterDeclared.merkmale],
            matchAll: scope.filter[Self.filterDeclared.match] == "all",
            userMerkmal: scope.filter[Self.filterDeclared.userMerkmal],
            mail: MailSelection(rawValue: scope.options[Self.optionsDeclared.mail]) ?? .both)
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
        database.options.spool.remove()
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
