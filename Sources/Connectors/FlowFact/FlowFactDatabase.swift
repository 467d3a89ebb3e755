import AdapterSupport
import ConnectorAPI
import Foundation
import ODBC

/// Settings of a `flowfact-odbc` instance that shape its queries.
struct FlowFactOptions: Sendable {
    var schema: FlowFactSchema
    var zone: TimeZone
    var typeNames: [DataKind: [String]]
    var mailOutTypeNames: [String]
    var overlap: TimeInterval
    var fullScanInterval: TimeInterval
    var useDellog: Bool
    var windows: [DataKind: TimeInterval]
    var flowfactDirectory: URL?
    var batchSize: Int
    var unknownSender: UnknownSenderPolicy = .importUnlinked
    /// Merkmal linked to the activity of a mail deleted in the mailbox (deletion policy `mark`).
    var deletedMailMerkmal = "Gelöscht in Exchange"
    /// Attachments of new mails go to files under `flowfactDirectory` instead of BLOB rows.
    var attachmentFiles = false
    /// Where attachment contents wait as files until the other side has stored them.
    var spool = SpoolDirectory(adapter: "flowfact", instance: "default")
    /// Which fields the instance holds and where (optional columns, the connector table).
    var holding = FlowFactRecords.Holding()
    /// Outlook category → Merkmal name (`categories:`).
    var categoryMerkmale: [String: String] = [:]
}

/// Sizes of a read's pages: rows in the first (keyset) page, ids listed at a time past it, rows read
/// by id in one statement (SQL Server takes at most 2,100 parameters). A task-local, so tests can
/// walk several pages with a few rows.
struct FlowFactReadPages: Sendable {
    var keyset = 2000
    var idList = 50_000
    var byID = 500
    @TaskLocal static var current = FlowFactReadPages()
}

/// Which mails of FlowFact an endpoint holds (`mail:` endpoint option).
enum MailSelection: String, Sendable, CaseIterable {
    case incoming, outgoing, both
}

/// The scope of one endpoint: whose records, which Merkmale, which activity types.
struct FlowFactScope: Sendable {
    var kind: DataKind
    var userID: String
    var userShortName: String
    var userMerkmalID: String?
    /// Merkmal ids a record must carry (any or all of them); empty for all records.
    var merkmalIDs: [String]
    var matchAll: Bool
    /// Activity type ids of the kind (empty for addresses).
    var typeIDs: [String]
    /// Type id → mail folder, for mail.
    var mailFolders: [String: MailFolder]
    /// Every mail type id (received and sent), whichever this scope selects: a message is one
    /// activity, whichever connector meets it first.
    var allMailTypeIDs: [String] = []
    /// Outlook categories mapped to Merkmale, with the Merkmal's id, in a fixed order (not for mail).
    var categoryLinks: [(category: String, merkmalID: String)] = []

    var isAddress: Bool { kind == .address }
    var table: String { isAddress ? "addresses" : "activities" }
    var linkTable: String { isAddress ? "address_merkmale" : "activity_merkmale" }
}

/// Position in the FlowFact change stream, kept by the engine as the endpoint's cursor.
struct FlowFactCursor: Codable {
    /// Highest changed-at stamp seen (database-local wall clock).
    var watermark: String?
    /// Highest deletion-log id seen.
    var dellogID: Int64
    /// When the last full id comparison ran (seconds since 1970).
    var lastScan: Double
    /// Mail scopes: the user's read and unread Merkmal links counted by the last run (nil before).
    var readCounts: [Int64]? = nil
}

/// Lookups made once for a write batch instead of once per record, by
/// ``FlowFactDatabase/prepareLookups(_:_:_:_:)``; empty between batches.
struct BatchLookups {
    /// An activity holding a message-id.
    struct MailActivity {
        var id: String
        var owner: String
        var type: String
        var address: String?
    }

    /// Copies of the batch's creates found by their sync keys (nil: not looked up).
    var copiesByKey: [SyncKey: ItemState]?
    /// Activities holding the message-ids of the batch's mails or of the mails they answer, by
    /// message-id as stored in lower case; mails the batch creates are added (nil: not looked up).
    var activitiesByMessageID: [String: [MailActivity]]?
    /// Address ids by e-mail address in lower case; a nil value: no address has it.
    var addressesByEmail: [String: String?] = [:]
    /// The id of the Merkmal that marks mails deleted in the mailbox, once looked up.
    var deletedMailMerkmalID: String??
}

/// Columns a window read carries besides the rows (counts that tell whether more must be read),
/// each with its parameters and what to do with the value seen.
struct Probes {
    var columns: [String] = []
    var parameters: [ODBCValue] = []
    var handlers: [(ODBCValue) -> Void] = []

    mutating func add(_ column: String, _ parameters: [ODBCValue], _ seen: @escaping (ODBCValue) -> Void) {
        columns.append(column)
        self.parameters += parameters
        handlers.append(seen)
    }

    /// The probes' values of one row, in order.
    func seen(_ values: [ODBCValue]) {
        for (handler, value) in zip(handlers, values) { handler(value) }
    }
}

/// All SQL of the adapter, run on one connection, one call at a time.
actor FlowFactDatabase {
    /// ODBC calls block their thread; this actor runs on a serial queue of its own, so a long query
    /// never holds one of Swift's cooperative threads (one per core) that every other job needs.
    let executor = BlockingWorkExecutor(label: "FlowFact database")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connectionString: Secret
    let options: FlowFactOptions
    let log: @Sendable (AdapterLogLevel, String) -> Void
    var connection: ODBCConnection?
    var names: SQLNames?
    var dialect = SQLDialect.sqlite
    var verified = false
    /// Resolved scopes with the time they were resolved; a scope is looked up again after
    /// ``scopeLifetime`` so renamed users or Merkmale are noticed without a query on every run.
    var scopes: [String: (scope: FlowFactScope, at: Date)] = [:]
    /// Attachment files put on the share by the transaction in progress (removed if it rolls back).
    var filesWritten: [URL] = []
    /// What the write batch in progress looked up once for all its records (see ``BatchLookups``).
    var lookups = BatchLookups()
    static let scopeLifetime: TimeInterval = 300

    init(connectionString: Secret, options: FlowFactOptions, log: @escaping @Sendable (AdapterLogLevel, String) -> Void)
    {
        self.connectionString = connectionString
        self.options = options
        self.log = log
    }

    var schema: FlowFactSchema { options.schema }

    /// The connection, opened (and the mapping checked) on first use.
    func open() throws -> (ODBCConnection, SQLNames) {
        if let connection, let names { return (connection, names) }
        var connection: ODBCConnection
        // The SQLite driver creates a missing file silently; a FlowFact database is never new.
        if let path = Self.missingSQLiteFile(connectionString.value) {
            throw FlowFactError.database(
                "the SQLite database \(path) does not exist: check 'connection' (Database=…); for a FlowFact-like "
                    + "test database run: connector-dev flowfact init --connection \"Driver=SQLite3;Database=\(path)\""
            )
        }
        do {
            connection = try ODBCConnection(connectionString: connectionString.value)
            // Drivers that load a whole result into memory by default are switched to fetching
            // row by row, so reading 100,000 records costs no more memory than reading 10,000.
            if let streaming = Self.streamingOptions(connection, connectionString.value) {
                connection.close()
                connection = try ODBCConnection(connectionString: connectionString.value + streaming)
            }
        } catch let error as ODBCError {
            throw FlowFactError.database("cannot connect to the FlowFact database: \(error)")
        }
        let log = self.log
        connection.onReconnect = { error in
            log(
                .warning,
                "the FlowFact database connection broke (SQLSTATE \(error.sqlState)); reconnected once and repeated the statement"
            )
        }
        let names = SQLNames(schema: schema, quote: connection.quote)
        self.connection = connection
        self.names = names
        dialect = SQLDialect.of(connection)
        if !verified {
            try verifyMapping(connection, names)
            verified = true
        }
        return (connection, names)
    }

    /// Connection-string options that make the driver stream results, when the string does not set them.
    static func streamingOptions(_ connection: ODBCConnection, _ string: String) -> String? {
        let lower = string.lowercased()
        switch SQLDialect.of(connection) {
        case .postgresql where !lower.contains("usedeclarefetch"): return ";UseDeclareFetch=1;Fetch=1000"
        case .sqlite where !lower.contains("stepapi"): return ";StepAPI=1"
        default: return nil
        }
    }

    /// Opens the connection and checks the mapping.
    func verify() throws { _ = try open() }

    func close() {
        connection?.close()
        connection = nil
        names = nil
    }

    /// Checks every mapped table and column with a query that returns no rows; a failure names the
    /// mapping key at fault and the driver's SQLSTATE. Creates the sync-key table when it is missing.
    func verifyMapping(_ db: ODBCConnection, _ names: SQLNames) throws {
        var tables = [
            "addresses", "address_merkmale", "activities", "activity_merkmale", "activity_types", "users", "merkmale",
            "attachments",
        ]
        if options.useDellog { tables.append("deletions") }
        // FlowFact's own tables first: a database that has none of them is not FlowFact's, and
        // gets no sync-key table of ours.
        var missing: [String] = []
        var firstError: ODBCError?
        for table in tables {
            do {
                try db.execute("SELECT 1 FROM \(try names.table(table)) WHERE 1 = 0")
            } catch let error as ODBCError where Self.isMissingObject(error) {
                missing.append(table)
                firstError = firstError ?? error
            }
        }
        if missing.count == tables.count {
            throw FlowFactError.mapping(
                key: "tables",
                message:
                    "the database has none of FlowFact's tables (\(tables.prefix(4).map { schema.table($0) }.joined(separator: ", ")), …): "
                    + "it is not a FlowFact database. Check 'connection'; for a FlowFact-like test database run "
                    + "connector-dev flowfact init")
        }
        if let table = missing.first {
            throw FlowFactError.mapping(
                key: "tables.\(table)",
                message: "the database has no table '\(schema.table(table))'"
                    + (missing.count > 1
                        ? " (nor \(missing.dropFirst().map { "'\(schema.table($0))'" }.joined(separator: ", ")))" : "")
                    + ": if FlowFact names it differently here, map it under 'tables:' in the adapter's settings "
                    + "(tables: { \(table): NAME }); otherwise check 'connection' [\(firstError.map { "\($0)" } ?? "")]"
            )
        }
        if (try? db.rows("SELECT 1 FROM \(try names.table("sync_keys")) WHERE 1 = 0")) == nil {
            log(.notice, "creating the adapter's sync-key table \(schema.table("sync_keys")) in the FlowFact database")
            for statement in try FlowFactDDL.syncKeyTable(for: dialect, schema: schema, quote: db.quote) {
                try db.execute(statement)
            }
        }
        tables.append("sync_keys")
        if options.holding.keepOtherFields {
            if (try? db.rows("SELECT 1 FROM \(try names.table("kept_fields")) WHERE 1 = 0")) == nil {
                log(
                    .notice,
                    "creating the adapter's table of kept fields \(schema.table("kept_fields")) in the FlowFact database"
                )
                for statement in try FlowFactDDL.keptFieldsTable(for: dialect, schema: schema, quote: db.quote) {
                    try db.execute(statement)
                }
            }
            tables.append("kept_fields")
        }
        for table in tables {
            // Columns are qualified with an alias: SQLite reads an unknown "NAME" as a string literal.
            let keys = FlowFactSchema.columnKeys(of: table)
            let columns = try keys.compactMap { try names.column($0, "t") }
            do {
                try db.execute("SELECT \(columns.joined(separator: ", ")) FROM \(try names.table(table)) t WHERE 1 = 0")
            } catch let error as ODBCError {
                do {
                    try db.execute("SELECT 1 FROM \(try names.table(table)) WHERE 1 = 0")
                } catch let tableError as ODBCError {
                    throw FlowFactError.mapping(
                        key: "tables.\(table)", message: "table '\(schema.table(table))' is not usable: \(tableError)")
                }
                for key in keys {
                    guard let column = try names.column(key, "t") else { continue }
                    do {
                        try db.execute("SELECT \(column) FROM \(try names.table(table)) t WHERE 1 = 0")
                    } catch let columnError as ODBCError {
                        if Self.isMissingObject(columnError) {
                            throw FlowFactError.mapping(
                                key: "columns.\(key)",
                                message:
                                    "column '\(schema.column(key)!)' of table '\(schema.table(table))' does not exist: if FlowFact "
                                    + "names it differently here, map it under 'columns:' in the adapter's settings (columns: { \(key): NAME })"
                                    + (FlowFactSchema.optionalColumns.contains(key)
                                        ? ", or switch it off with an empty name" : "")
                                    + " [\(columnError)]")
                        }
                        throw FlowFactError.mapping(
                            key: "columns.\(key)",
                            message:
                                "column '\(schema.column(key)!)' of table '\(schema.table(table))' is not usable: \(columnError)"
                        )
                    }
                }
                throw FlowFactError.mapping(key: "tables.\(table)", message: "\(error)")
            }
        }
    }

    /// Whether a driver's error says a table or column does not exist (SQL Server, PostgreSQL, SQLite).
    static func isMissingObject(_ error: ODBCError) -> Bool {
        if ["42S02", "42P01", "42S22", "42703"].contains(error.sqlState) { return true }
        let text = error.description.lowercased()
        return ["no such table", "no such column", "invalid object name", "invalid column name", "does not exist"]
            .contains { text.contains($0) }
    }

    /// The file of an SQLite connection string (`Driver=SQLite3;Database=PATH`) when it does not
    /// exist; nil for other drivers, in-memory databases and files that exist.
    static func missingSQLiteFile(_ connectionString: String) -> String? {
        var fields: [String: String] = [:]
        for part in connectionString.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[part[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] =
                part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard fields["driver"]?.lowercased().contains("sqlite") == true, let path = fields["database"], !path.isEmpty,
            path != ":memory:", !path.hasPrefix("file:")
        else { return nil }
        return FileManager.default.fileExists(atPath: path) ? nil : path
    }

    // MARK: Lookups

    /// Resolves a binding's user, the filter's Merkmale and the kind's activity types (remembered
    /// for a few minutes, so a service running every minute does not look them up each time).
    func scope(
        kind: DataKind, user: String, merkmale: [String], matchAll: Bool, userMerkmal: Bool,
        mail: MailSelection = .both, now: Date = Date()
    ) throws -> FlowFactScope {
        let key =
            "\(kind)|\(user.uppercased())|\(merkmale.joined(separator: "\u{1f}"))|\(matchAll)|\(userMerkmal)|\(mail)"
        if let cached = scopes[key], now.timeIntervalSince(cached.at) < Self.scopeLifetime, now >= cached.at {
            return cached.scope
        }
        let scope = try resolveScope(
            kind: kind, user: user, merkmale: merkmale, matchAll: matchAll, userMerkmal: userMerkmal, mail: mail)
        scopes[key] = (scope, now)
        return scope
    }

    func resolveScope(
        kind: DataKind, user: String, merkmale: [String], matchAll: Bool, userMerkmal: Bool, mail: MailSelection = .both
    ) throws -> FlowFactScope {
        let (db, n) = try open()
        let userRows = try db.rows(
            "SELECT \(try n.required("users.id")), \(try n.required("users.merkmal")), \(try n.required("users.short_name")) FROM \(try n.table("users")) WHERE UPPER(\(try n.required("users.short_name"))) = ?",
            [.text(user.uppercased())])
        guard let userRow = userRows.first, let userID = userRow[0].string?.trimmed else {
            throw FlowFactError.unknownUser(user)
        }
        let userMerkmalID = userRow[1].string?.trimmed
        var merkmalIDs: [String] = []
        for name in merkmale {
            let rows = try db.rows(
                "SELECT \(try n.required("merkmale.id")) FROM \(try n.table("merkmale")) WHERE \(try n.required("merkmale.name")) = ?",
                [.text(name)])
            guard let id = rows.first?[0].string?.trimmed else {
                throw FlowFactError.unknownMerkmal(name)
            }
            merkmalIDs.append(id)
        }
        if userMerkmal, let userMerkmalID { merkmalIDs.append(userMerkmalID) }
        var typeIDs: [String] = []
        var folders: [String: MailFolder] = [:]
        if kind != .address {
            let wanted = options.typeNames[kind] ?? []
            for name in wanted + (kind == .mail ? options.mailOutTypeNames : []) {
                let rows = try db.rows(
                    "SELECT \(try n.required("activity_types.id")) FROM \(try n.table("activity_types")) WHERE \(try n.required("activity_types.name")) = ?",
                    [.text(name)])
                guard let id = rows.first?[0].string?.trimmed else {
                    throw FlowFactError.unknownActivityType(
                        setting: kind == .mail ? "mail types" : "\(kind)_types", name: name)
                }
                typeIDs.append(id)
                if kind == .mail { folders[id] = options.mailOutTypeNames.contains(name) ? .sentItems : .inbox }
            }
        }
        var categoryLinks: [(category: String, merkmalID: String)] = []
        if kind != .mail {
            for (category, merkmal) in options.categoryMerkmale.sorted(by: { $0.key < $1.key }) {
                let rows = try db.rows(
                    "SELECT \(try n.required("merkmale.id")) FROM \(try n.table("merkmale")) WHERE \(try n.required("merkmale.name")) = ?",
                    [.text(merkmal)])
                guard let id = rows.first?[0].string?.trimmed else {
                    throw FlowFactError.mapping(
                        key: "categories.\(category)",
                        message:
                            "Merkmal '\(merkmal)' (for the Outlook category '\(category)') does not exist in the Merkmal table"
                    )
                }
                categoryLinks.append((category, id))
            }
        }
        let allMail = kind == .mail ? typeIDs : []
        if kind == .mail {
            // The selection: received mails, sent mails, or both.
            typeIDs = typeIDs.filter { id in
                switch mail {
                case .both: true
                case .incoming: folders[id] == .inbox
                case .outgoing: folders[id] == .sentItems
                }
            }
            folders = folders.filter { typeIDs.contains($0.key) }
        }
        return FlowFactScope(
            kind: kind, userID: userID, userShortName: userRow[2].string ?? user, userMerkmalID: userMerkmalID,
            merkmalIDs: merkmalIDs, matchAll: matchAll, typeIDs: typeIDs, mailFolders: folders,
            allMailTypeIDs: allMail, categoryLinks: categoryLinks)
    }

    /// The record conversion of a scope.
    func records(_ scope: FlowFactScope) -> FlowFactRecords {
        FlowFactRecords(zone: options.zone, mailFolders: scope.mailFolders, holding: options.holding)
    }

    /// Whether reads of a scope join the connector table of kept fields.
    func keepsFields(_ scope: FlowFactScope) -> Bool { options.holding.keepOtherFields && scope.kind != .mail }

    // MARK: SQL building

    /// `WHERE` conditions (on alias `a`) that select the scope, and their parameters.
    /// With `whole`, the conditions are written to select a whole scope (a first read, the periodic
    /// comparison): lookups driven by the owner and Merkmal indexes, joined by UNION. Otherwise they
    /// test a few given rows (the overlap window, ids): one indexed lookup per row.
    func scopeCondition(_ scope: FlowFactScope, _ n: SQLNames, now: Date, whole: Bool = false) throws -> (
        String, [ODBCValue]
    ) {
        var conditions: [String] = []
        var parameters: [ODBCValue] = []
        let table = scope.table
        let link = try n.table(scope.linkTable)
        let linkRecord = try n.required("\(scope.linkTable).record", "m")
        let linkMerkmal = try n.required("\(scope.linkTable).merkmal", "m")
        let linkActive = try n.required("\(scope.linkTable).active", "m")
        let id = try n.required("\(table).id", "a")
        if scope.isAddress {
            if let archived = try n.column("addresses.archived", "a") {
                conditions.append("(\(archived) = 0 OR \(archived) IS NULL)")
            }
        } else {
            conditions.append(
                "\(try n.required("activities.type", "a")) IN (\(Self.placeholders(scope.typeIDs.count)))")
            parameters += scope.typeIDs.map { .text($0) }
            if let merkmal = scope.userMerkmalID, whole {
                // Owned, or carrying the user's Merkmal: two indexed lookups joined by UNION, so a
                // user's read does not walk every activity of every user (an OR would). The owned
                // side names the types too, so the (owner, type) index leaves out the user's other
                // activities (years of mails, for a read of appointments).
                conditions.append(
                    """
                    \(id) IN (SELECT \(try n.required("activities.id", "o")) FROM \(try n.table("activities")) o \
                    WHERE \(try n.required("activities.owner", "o")) = ? \
                    AND \(try n.required("activities.type", "o")) IN (\(Self.placeholders(scope.typeIDs.count))) \
                    UNION SELECT \(linkRecord) FROM \(link) m WHERE \(linkMerkmal) = ?)
                    """)
                parameters += [.text(scope.userID)] + scope.typeIDs.map { .text($0) } + [.text(merkmal)]
            } else if let merkmal = scope.userMerkmalID {
                conditions.append(
                    "(\(try n.required("activities.owner", "a")) = ? OR EXISTS (SELECT 1 FROM \(link) m WHERE \(linkRecord) = \(id) AND \(linkMerkmal) = ?))"
                )
                parameters += [.text(scope.userID), .text(merkmal)]
            } else {
                conditions.append("\(try n.required("activities.owner", "a")) = ?")
                parameters.append(.text(scope.userID))
            }
            if let window = options.windows[scope.kind] {
                let since = ODBCValue.timestamp(ODBCTimestamp(now.addingTimeInterval(-window), in: options.zone))
                switch scope.kind {
                case .task:
                    conditions.append(
                        "(\(try n.required("activities.done", "a")) = 0 OR \(try n.required("activities.done_at", "a")) >= ?)"
                    )
                    parameters.append(since)
                case .calendar:
                    if let recurrence = try n.column("activities.recurrence", "a") {
                        conditions.append(
                            "(\(try n.required("activities.date", "a")) >= ? OR \(recurrence) IS NOT NULL)")
                    } else {
                        conditions.append("\(try n.required("activities.date", "a")) >= ?")
                    }
                    parameters.append(since)
                default:
                    conditions.append("\(try n.required("activities.date", "a")) >= ?")
                    parameters.append(since)
                }
            }
        }
        if !scope.merkmalIDs.isEmpty {
            if scope.matchAll {
                // A whole scope is driven by the link table's Merkmal index for one Merkmal, the
                // user's own when required (it holds one user's records; a shared one such as
                // "Outlook-Sync" holds every user's, and listing it for each user's read made the
                // initial sync grow with the square of the users); the other Merkmale and a read of a
                // few rows look up each row's links by the link table's key.
                let driver = whole ? (scope.merkmalIDs.last { $0 == scope.userMerkmalID } ?? scope.merkmalIDs[0]) : nil
                for merkmal in [driver].compactMap({ $0 }) + scope.merkmalIDs.filter({ $0 != driver }) {
                    conditions.append(
                        merkmal == driver
                            ? "\(id) IN (SELECT \(linkRecord) FROM \(link) m WHERE \(linkMerkmal) = ? AND \(linkActive) = 1)"
                            : "EXISTS (SELECT 1 FROM \(link) m WHERE \(linkRecord) = \(id) AND \(linkMerkmal) = ? AND \(linkActive) = 1)"
                    )
                    parameters.append(.text(merkmal))
                }
            } else {
                let merkmale = "\(linkMerkmal) IN (\(Self.placeholders(scope.merkmalIDs.count))) AND \(linkActive) = 1"
                conditions.append(
                    whole
                        ? "\(id) IN (SELECT \(linkRecord) FROM \(link) m WHERE \(merkmale))"
                        : "EXISTS (SELECT 1 FROM \(link) m WHERE \(linkRecord) = \(id) AND \(merkmale))"
                )
                parameters += scope.merkmalIDs.map { .text($0) }
            }
        }
        return (conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND "), parameters)
    }

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: max(count, 1)).joined(separator: ", ")
    }

    /// Column keys read for a kind (without the table prefix), in select order.
    func readKeys(_ scope: FlowFactScope) -> [String] {
        let all = FlowFactSchema.columnKeys(of: scope.table).map { String($0.dropFirst(scope.table.count + 1)) }
        return all.filter { schema.column("\(scope.table).\($0)") != nil }
    }

    /// `SELECT` list and `FROM … LEFT JOIN` for full rows with their sync key (and, for mail, the
    /// user's unread flag and, where `VORGANG_ID` is mapped, the message-id of the answered activity).
    /// `extra` are more columns (expressions with their parameters) after the row's own. The
    /// parameters of the `SELECT` list come before those of the `FROM` clause in a statement.
    func selectRows(_ scope: FlowFactScope, _ n: SQLNames, extra: (sql: [String], parameters: [ODBCValue])? = nil)
        throws -> (select: String, from: String, selectParameters: [ODBCValue], fromParameters: [ODBCValue])
    {
        let keys = readKeys(scope)
        var columns = try keys.map { try n.required("\(scope.table).\($0)", "a") }
        var parameters: [ODBCValue] = []
        columns.append(try n.required("sync_keys.key", "k"))
        if scope.kind == .mail {
            columns.append(try unreadExpression(scope, n, parameters: &parameters))
            if let parent = try n.column("activities.parent", "a") {
                // The message-id of the activity a mail answers, for its In-Reply-To.
                columns.append(
                    """
                    (SELECT \(try n.required("activities.message_id", "p")) FROM \(try n.table("activities")) p \
                    WHERE \(try n.required("activities.id", "p")) = \(parent))
                    """)
            }
        }
        var fromParameters: [ODBCValue] = [.text(schema.table(scope.table))]
        var keptJoin = ""
        if keepsFields(scope) {
            columns.append(try n.required("kept_fields.values", "x"))
            keptJoin = """
                 LEFT JOIN \(try n.table("kept_fields")) x ON \(try n.required("kept_fields.table", "x")) = ? \
                AND \(try n.required("kept_fields.record", "x")) = \(try n.required("\(scope.table).id", "a"))
                """
            fromParameters.append(.text(schema.table(scope.table)))
        }
        for link in scope.categoryLinks {
            // Whether the Merkmal of a mapped category is linked (and active).
            columns.append(
                """
                (SELECT MAX(\(try n.required("\(scope.linkTable).active", "c"))) FROM \(try n.table(scope.linkTable)) c \
                WHERE \(try n.required("\(scope.linkTable).record", "c")) = \(try n.required("\(scope.table).id", "a")) \
                AND \(try n.required("\(scope.linkTable).merkmal", "c")) = ?)
                """)
            parameters.append(.text(link.merkmalID))
        }
        if let extra {
            columns += extra.sql
            parameters += extra.parameters
        }
        let from = """
            \(try n.table(scope.table)) a LEFT JOIN \(try n.table("sync_keys")) k ON \(try n.required("sync_keys.table", "k")) = ? \
            AND \(try n.required("sync_keys.record", "k")) = \(try n.required("\(scope.table).id", "a"))\(keptJoin)
            """
        return (columns.joined(separator: ", "), from, parameters, fromParameters)
    }

    func unreadExpression(_ scope: FlowFactScope, _ n: SQLNames, parameters: inout [ODBCValue]) throws -> String {
        parameters.append(.text(scope.userMerkmalID ?? ""))
        return """
            (SELECT MAX(\(try n.required("activity_merkmale.active", "u"))) FROM \(try n.table("activity_merkmale")) u \
            WHERE \(try n.required("activity_merkmale.record", "u")) = \(try n.required("activities.id", "a")) \
            AND \(try n.required("activity_merkmale.merkmal", "u")) = ?)
            """
    }

    // MARK: Reading

    /// Reads full rows matching `condition` and converts them; calls `body` per item as it streams.
    /// `content`: mails whose attachment contents go into spool files; `attachmentsOf`: mails whose
    /// attachments are listed at all (the others come without).
    func readItems(
        _ scope: FlowFactScope, where condition: String, _ parameters: [ODBCValue], inScopeOnly: Bool = true,
        now: Date = Date(), content: (ItemID) -> Bool = { _ in false },
        attachmentsOf: (ItemID) -> Bool = { _ in true }, extra: Probes? = nil,
        unreadable: inout [UnreadableItem], _ body: (ItemState, ODBCTimestamp?) throws -> Void
    ) throws {
        let (db, n) = try open()
        let (select, from, selectParameters, fromParameters) = try selectRows(
            scope, n, extra: extra.map { ($0.columns, $0.parameters) })
        let joinParameters = selectParameters + fromParameters
        let idColumn = try n.required("\(scope.table).id", "a")
        var filter = "\(condition) AND \(idColumn) > ?"
        var scopeParameters: [ODBCValue] = []
        if inScopeOnly {
            let (scopeSQL, values) = try scopeCondition(scope, n, now: now, whole: condition == Self.everything)
            filter += " AND \(scopeSQL)"
            scopeParameters = values
        }
        let top = dialect == .mssql ? "TOP (?) " : ""
        let limit = dialect == .mssql ? "" : " LIMIT ?"
        /// The parameters of a keyset statement: TOP on SQL Server, LIMIT elsewhere.
        func keyset(_ head: [ODBCValue], after lastID: String, size: Int) -> [ODBCValue] {
            let prefix: [ODBCValue] = dialect == .mssql ? [.integer(Int64(size))] : []
            let suffix: [ODBCValue] = dialect == .mssql ? [] : [.integer(Int64(size))]
            return prefix + head + parameters + [.text(lastID)] + scopeParameters + suffix
        }
        let keys = readKeys(scope)
        let records = records(scope)
        let pages = FlowFactReadPages.current
        var pending: [(ItemState, ODBCTimestamp?)] = []
        var lastID = ""
        var pageRows = 0
        func readRows(_ sql: String, _ values: [ODBCValue]) throws {
            try readPage(sql, values, db, keys, records, scope, &unreadable, &pending, body) { id, row in
                pageRows += 1
                lastID = id
                if let extra { extra.seen(Array(row.values.suffix(extra.columns.count))) }
            }
            // Mail attachments are read after the page (one statement may be open at a time).
            let wanted = pending.map(\.0.id).filter(attachmentsOf)
            let (found, failed) =
                wanted.isEmpty
                ? ([:], [:])
                : try attachments(of: wanted, db, n) { content($0) ? spoolDirectory(scope) : nil }
            for (state, changed) in pending {
                guard case .mail(var mail) = state.record else { continue }
                if let reason = failed[state.id] {
                    // This mail cannot travel now; the others do.
                    unreadable.append(UnreadableItem(id: state.id, name: mail.displayName, reason: reason))
                    continue
                }
                mail.attachments = found[state.id] ?? []
                var copy = state
                copy.record = .mail(mail)
                try body(copy, changed)
            }
            pending.removeAll()
        }
        // Pages keep memory flat whatever the driver buffers (the SQLite3 ODBC driver holds a whole
        // result in memory when a statement has parameters). The first is a keyset page: for most
        // reads it is the only one, one statement.
        try readRows(
            "SELECT \(top)\(select) FROM \(from) WHERE \(filter) ORDER BY \(idColumn)\(limit)",
            keyset(joinParameters, after: "", size: pages.keyset))
        guard pageRows == pages.keyset else { return }
        // A bigger scope: its remaining ids are listed (`idList` at a time) and their rows read
        // by id. More keyset pages would evaluate the scope's Merkmal and owner lists again for each
        // page, which grows with the square of the scope (100,000 activities: 13 s instead of 2).
        let idSQL = "SELECT \(top)\(idColumn) FROM \(from) WHERE \(filter) ORDER BY \(idColumn)\(limit)"
        var listed = pages.idList
        while listed == pages.idList {
            var ids: [ODBCValue] = []
            try db.query(idSQL, keyset(fromParameters, after: lastID, size: pages.idList)) { row in
                ids.append(row[0])
            }
            listed = ids.count
            for chunk in ids.chunked(into: pages.byID) {
                try readRows(
                    "SELECT \(select) FROM \(from) WHERE \(idColumn) IN (\(Self.placeholders(chunk.count))) ORDER BY \(idColumn)",
                    joinParameters + chunk)
            }
            // The next list starts after this one, whatever was read of it (a row deleted meanwhile is
            // simply not there).
            if let last = ids.last?.string { lastID = last }
        }
    }

    /// The condition of a read of a whole scope.
    static let everything = "1 = 1"

    func readPage(
        _ sql: String, _ parameters: [ODBCValue], _ db: ODBCConnection, _ keys: [String], _ records: FlowFactRecords,
        _ scope: FlowFactScope, _ unreadable: inout [UnreadableItem], _ pending: inout [(ItemState, ODBCTimestamp?)],
        _ body: (ItemState, ODBCTimestamp?) throws -> Void, seen: (String, ODBCRow) -> Void
    ) throws {
        let positions = Dictionary(keys.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let answers = scope.kind == .mail && schema.column("activities.parent") != nil
        let keptAt = keepsFields(scope) ? keys.count + 1 : nil
        let linksAt = keys.count + 1 + (keptAt == nil ? 0 : 1)
        let mapped = Set(scope.categoryLinks.map(\.category))
        let table = schema.table(scope.table)
        try db.query(sql, parameters) { row in
            let values = FlowFactRecords.Row(positions: positions, values: row.values)
            let rawID = values["id"]?.string ?? ""
            seen(rawID, row)
            let id = rawID.trimmed
            let changed = values["changed"]?.timestamp
            let syncKey = row[keys.count].string.map(SyncKey.init(rawValue:))
            let unread = scope.kind == .mail ? row[keys.count + 1].integer == 1 : false
            var record: Record
            do {
                switch scope.kind {
                case .address: record = .address(records.address(values))
                case .calendar:
                    record = .calendar(try records.calendar(values, table: schema.table("activities"), id: id))
                case .task: record = .task(try records.task(values, table: schema.table("activities"), id: id))
                case .mail:
                    let answered = answers ? row[keys.count + 2].string?.trimmed.nonEmpty : nil
                    record = .mail(records.mail(values, unread: unread, answering: answered, attachments: []))
                }
                if scope.kind != .mail {
                    let kept = try keptAt.flatMap { try KeptFields.parse(row[$0].string, table: table, id: id) }
                    let linked = scope.categoryLinks.enumerated().compactMap { index, link in
                        row[linksAt + index].integer == 1 ? link.category : nil
                    }
                    do {
                        record = try records.overlay(record, kept: kept, linked: linked, mapped: mapped)
                    } catch let error as FlowFactError {
                        throw error
                    } catch {
                        throw FlowFactError.invalidData(
                            table: table, id: id, message: "its kept fields do not fit the record: \(error)")
                    }
                }
            } catch let error as FlowFactError {
                // One bad record is skipped and reported; it does not stop the others.
                unreadable.append(UnreadableItem(id: id, name: values["subject"]?.string ?? id, reason: "\(error)"))
                return
            }
            let version = Self.version(changed: changed, unread: scope.kind == .mail ? unread : nil)
            let state = ItemState(
                id: id, version: version, record: record, modifiedAt: changed?.date(in: options.zone), syncKey: syncKey)
            if scope.kind == .mail { pending.append((state, changed)) } else { try body(state, changed) }
        }
    }

    static func version(changed: ODBCTimestamp?, unread: Bool?) -> Version {
        let base = changed?.description ?? "-"
        guard let unread else { return base }
        return base + (unread ? "|u" : "|r")
    }

    /// The unread flag a mail's version carries; nil for other versions.
    static func unread(inVersion version: Version) -> Bool? {
        version.hasSuffix("|u") ? true : version.hasSuffix("|r") ? false : nil
    }

    /// Attachments of records, by record. With a spool directory for a record, contents in the
    /// database are copied into files there (so the other side can stream them); without, they are
    /// references to the row. A record whose content cannot be copied is answered in `failed`.
    func attachments(of ids: [String], _ db: ODBCConnection, _ n: SQLNames, spool: (String) -> URL?) throws
        -> (found: [String: [MailAttachment]], failed: [String: String])
    {
        var result: [String: [MailAttachment]] = [:]
        let path = try n.column("attachments.path")
        let contentID = try n.column("attachments.content_id")
        // One statement for a page of records (200 at a time), not one per record.
        for chunk in ids.chunked(into: 200) {
            let sql = """
                SELECT \(try n.required("attachments.id")), \(try n.required("attachments.file_name")), \(try n.required("attachments.media_type")), \
                \(try n.required("attachments.size")), \(path ?? "NULL"), \(contentID ?? "NULL"), \(try n.required("attachments.record")) \
                FROM \(try n.table("attachments")) WHERE \(try n.required("attachments.table")) = ? \
                AND \(try n.required("attachments.record")) IN (\(Self.placeholders(chunk.count))) ORDER BY \(try n.required("attachments.file_name"))
                """
            try db.query(sql, [.text(schema.table("activities"))] + chunk.map { .text($0) }) { row in
                let attachmentID = row[0].string?.trimmed ?? ""
                var content = AttachmentContent.reference("flowfact-blob:\(attachmentID)")
                if let file = row[4].string, !file.isEmpty, let root = options.flowfactDirectory {
                    content = .file(
                        path: root.appendingPathComponent(file.replacingOccurrences(of: "\\", with: "/")).path)
                }
                result[row[6].string?.trimmed ?? "", default: []].append(
                    MailAttachment(
                        name: row[1].string ?? "attachment", mediaType: row[2].string ?? "application/octet-stream",
                        size: row[3].integer ?? 0, contentID: row[5].string?.nonEmpty, content: content))
            }
        }
        // Contents in the database are copied out (after the query: one statement is open at a time).
        var failed: [String: String] = [:]
        for (record, attachments) in result {
            guard let directory = spool(record) else { continue }
            for index in attachments.indices {
                if case .file(let path) = attachments[index].content {
                    // On the FlowFact share: it must be there now, or the mail would arrive without it.
                    guard FileManager.default.isReadableFile(atPath: path) else {
                        failed[record] =
                            "its attachment '\(attachments[index].name)' is missing or unreadable on the FlowFact share: \(path)"
                        break
                    }
                    continue
                }
                guard case .reference(let reference) = attachments[index].content, reference.hasPrefix("flowfact-blob:")
                else { continue }
                let file = SpoolDirectory.file(in: directory)
                do {
                    result[record]![index].size = try copyAttachment(
                        id: String(reference.dropFirst("flowfact-blob:".count)), to: file, db, n)
                } catch let error as ODBCError where error.isConnectionLost {
                    throw error
                } catch {
                    failed[record] = "its attachment '\(attachments[index].name)' cannot be read: \(error)"
                    break
                }
                result[record]![index].content = .file(path: file.path)
            }
        }
        return (result, failed)
    }

    /// The spool directory of a scope (one per user and kind; emptied when its changes are read).
    func spoolDirectory(_ scope: FlowFactScope) -> URL {
        // Two connectors of one user (incoming and outgoing mails) have different types: own spools.
        var hash: UInt32 = 2_166_136_261
        for byte in scope.typeIDs.sorted().joined(separator: ",").utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return options.spool.folder(scope.userShortName, scope.kind.rawValue, String(hash, radix: 16))
    }

    /// Bytes per slice when copying an attachment out of the database.
    static let attachmentSlice = 1 << 20

    /// Copies an attachment's content from its BLOB row into `file` slice by slice (`substr` per
    /// 1 MiB), so neither this process nor a driver that buffers whole values holds the whole file.
    /// Answers the number of bytes.
    func copyAttachment(id: String, to file: URL, _ db: ODBCConnection, _ n: SQLNames) throws -> Int64 {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: file.path, contents: nil),
            let handle = try? FileHandle(forWritingTo: file)
        else {
            throw FlowFactError.database("cannot create the spool file \(file.path) for attachment \(id)")
        }
        defer { try? handle.close() }
        let content = try n.required("attachments.content")
        let slice: String =
            switch dialect {
            case .postgresql: "substring(\(content) from ? for ?)"
            case .mssql: "SUBSTRING(\(content), ?, ?)"
            case .sqlite: "substr(\(content), ?, ?)"
            }
        let sql =
            "SELECT \(slice) FROM \(try n.table("attachments")) WHERE \(try n.required("attachments.id")) = ?"
        var offset: Int64 = 0
        while true {
            var chunk = 0
            let found = try db.stream(
                sql, [.integer(offset + 1), .integer(Int64(Self.attachmentSlice)), .text(id)], column: 0
            ) { bytes in
                chunk += bytes.count
                handle.write(Data(bytes))
            }
            guard found else { throw FlowFactError.database("attachment \(id) is gone from the BLOB table") }
            offset += Int64(chunk)
            if chunk < Self.attachmentSlice { return offset }
        }
    }

    /// Changes since the cursor: a full read on the first call, then the watermark query, the
    /// deletion log and, periodically, a comparison of the scope's ids with the known ones.
    func changes(_ scope: FlowFactScope, _ request: ChangeRequest, now: Date = Date()) throws -> ChangeSet {
        let (db, n) = try open()
        let table = scope.table
        var cursor = CursorCoding.decode(FlowFactCursor.self, from: request.cursor)
        var watermark = cursor?.watermark.flatMap(ODBCTimestamp.init(text:))
        func advance(_ stamp: ODBCTimestamp?) {
            if let stamp, watermark.map({ stamp > $0 }) ?? true { watermark = stamp }
        }

        // Only a full read needs the log's position up front; an incremental read follows its own rows.
        let dellogStart = options.useDellog && cursor == nil ? try maxDellogID(db, n) : 0
        var unreadable: [UnreadableItem] = []
        // A mail new to the engine is copied whole, attachments included; a linked one only needs its state.
        let content: (ItemID) -> Bool = { request.known[$0] == nil }
        if scope.kind == .mail { SpoolDirectory.empty(spoolDirectory(scope)) }
        guard let existing = cursor else {
            var changes: [Change] = []
            try readItems(scope, where: Self.everything, [], now: now, content: content, unreadable: &unreadable) {
                state, changed in
                changes.append(.upsert(state))
                advance(changed)
            }
            // A full read with items already known (the state kept, the cursor lost, as after a
            // crash during a first run): a known row that is not in scope any more was deleted, or
            // left the scope, in between.
            let seen = Set(changes.map(\.id)).union(unreadable.map(\.id))
            let gone = request.known.keys.filter { !seen.contains($0) }
            if !gone.isEmpty {
                let existing = try existingIDs(Array(gone), table: scope.table, db, n)
                for id in gone.sorted() { changes.append(existing.contains(id) ? .leftScope(id) : .deleted(id)) }
            }
            // With nothing in scope yet, changes from now on count (less the overlap on the next read).
            let next = FlowFactCursor(
                watermark: (watermark ?? ODBCTimestamp(now, in: options.zone)).description, dellogID: dellogStart,
                lastScan: now.timeIntervalSince1970, readCounts: try countReadFlags(scope, db, n))
            return ChangeSet(
                changes: changes, cursor: try CursorCoding.encode(next), isFullScan: true, unreadable: unreadable)
        }

        var changes: [ItemID: Change] = [:]
        let since = watermark.flatMap { $0.date(in: options.zone) }.map {
            ODBCTimestamp($0.addingTimeInterval(-options.overlap), in: options.zone)
        }
        // 1. Rows changed since the watermark (less the overlap), and rows that gained a Merkmal link.
        //    The same statement tells whether the deletion log grew (a column on every row), so a quiet
        //    run is this one statement: the window is not empty in practice, it holds at least the
        //    row that set the watermark.
        var logGrew: Bool?
        /// The user's read and unread mail links now, as the window read (or a query of its own) counted them.
        let readFlags = try readFlagCounts(scope, n)
        var readCounts: [Int64] = []
        if let since {
            let link = try n.table(scope.linkTable)
            // Two indexed lookups joined by UNION; an OR of the two conditions would scan the table.
            let condition = """
                \(try n.required("\(table).id", "a")) IN (SELECT \(try n.required("\(table).id", "c")) FROM \(try n.table(table)) c \
                WHERE \(try n.required("\(table).changed", "c")) >= ? UNION SELECT \(try n.required("\(scope.linkTable).record", "m")) \
                FROM \(link) m WHERE \(try n.required("\(scope.linkTable).created", "m")) >= ?)
                """
            var probes = Probes()
            if options.useDellog {
                probes.add(
                    """
                    (SELECT COUNT(*) FROM \(try n.table("deletions")) d WHERE \(try n.required("deletions.table", "d")) = ? \
                    AND \(try n.required("deletions.id", "d")) > ?)
                    """, [.text(schema.table(table)), .integer(existing.dellogID)]
                ) { value in logGrew = (logGrew ?? false) || (value.integer ?? 1) > 0 }
            }
            if let flags = readFlags {
                for (index, column) in flags.columns.enumerated() {
                    probes.add(column, flags.parameters) { value in
                        if readCounts.count == index { readCounts.append(value.integer ?? -1) }
                    }
                }
            }
            // A mail the engine knows travels no further than its state: its attachments are not read
            // again (so a quiet run stays one statement).
            try readItems(
                scope, where: condition, [.timestamp(since), .timestamp(since)], now: now, content: content,
                attachmentsOf: content, extra: probes.columns.isEmpty ? nil : probes, unreadable: &unreadable
            ) {
                state, changed in
                changes[state.id] = .upsert(state)
                advance(changed)
            }
        }
        // 2. The deletion log, when the window read said it grew or could not say (no rows).
        var dellogID = existing.dellogID
        if options.useDellog, logGrew != false {
            let rows = try db.rows(
                """
                SELECT \(try n.required("deletions.id")), \(try n.required("deletions.record")) FROM \(try n.table("deletions")) \
                WHERE \(try n.required("deletions.table")) = ? AND \(try n.required("deletions.id")) > ? ORDER BY \(try n.required("deletions.id"))
                """, [.text(schema.table(table)), .integer(existing.dellogID)])
            for row in rows {
                if let id = row[1].string?.trimmed, request.known[id] != nil {
                    changes[id] = .deleted(id)
                }
                dellogID = max(dellogID, row[0].integer ?? dellogID)
            }
            dellogID = max(dellogID, dellogStart)
        }
        // 3. Mails read or marked unread in FlowFact: its mail system flips the user Merkmal's link
        //    without touching the activity's changed-at stamp. When the counts of read and unread
        //    links differ from the last run's, the unread mails are compared with the known flags.
        if let readFlags {
            // The window read had no row to carry the counts: counted on their own.
            if readCounts.count != readFlags.columns.count { readCounts = try countReadFlags(scope, db, n) ?? [] }
            if readCounts != existing.readCounts {
                try compareReadFlags(scope, request, now: now, into: &changes, unreadable: &unreadable, db, n)
            }
        }
        // 4. Periodically: compare the ids in scope with the known ones (deletions without a log,
        //    Merkmal links removed or deactivated, records that moved out of the window).
        var lastScan = existing.lastScan
        if now.timeIntervalSince1970 - existing.lastScan >= options.fullScanInterval {
            lastScan = now.timeIntervalSince1970
            try compareScope(scope, request, now: now, into: &changes, unreadable: &unreadable, db, n)
        }
        cursor = FlowFactCursor(
            watermark: watermark?.description, dellogID: dellogID, lastScan: lastScan,
            readCounts: readCounts.isEmpty ? nil : readCounts)
        return ChangeSet(
            changes: Array(changes.values), cursor: try CursorCoding.encode(cursor), isFullScan: false,
            unreadable: unreadable)
    }

    func maxDellogID(_ db: ODBCConnection, _ n: SQLNames) throws -> Int64 {
        try db.rows("SELECT MAX(\(try n.required("deletions.id"))) FROM \(try n.table("deletions"))").first?[0].integer
            ?? 0
    }

    func compareScope(
        _ scope: FlowFactScope, _ request: ChangeRequest, now: Date, into changes: inout [ItemID: Change],
        unreadable: inout [UnreadableItem], _ db: ODBCConnection, _ n: SQLNames
    ) throws {
        let (scopeSQL, scopeParameters) = try scopeCondition(scope, n, now: now, whole: true)
        var parameters: [ODBCValue] = []
        var columns = [try n.required("\(scope.table).id", "a"), try n.required("\(scope.table).changed", "a")]
        if scope.kind == .mail { columns.append(try unreadExpression(scope, n, parameters: &parameters)) }
        var inScope: [ItemID: Version] = [:]
        try db.query(
            "SELECT \(columns.joined(separator: ", ")) FROM \(try n.table(scope.table)) a WHERE \(scopeSQL)",
            parameters + scopeParameters
        ) { row in
            guard let id = row[0].string?.trimmed else { return }
            inScope[id] = Self.version(
                changed: row[1].timestamp, unread: scope.kind == .mail ? row[2].integer == 1 : nil)
        }
        let gone = request.known.keys.filter { inScope[$0] == nil && changes[$0] == nil }
        let existing = try existingIDs(Array(gone), table: scope.table, db, n)
        for id in gone { changes[id] = existing.contains(id) ? .leftScope(id) : .deleted(id) }
        let stale = inScope.filter { changes[$0.key] == nil && request.known[$0.key] != $0.value }.map(\.key)
        for state in try read(scope, ids: stale, now: now, unreadable: &unreadable) {
            changes[state.id] = .upsert(state)
        }
    }

    /// For a mail scope with a user Merkmal: two uncorrelated counts, of the user's read (inactive)
    /// and unread (active) Merkmal links, each with the same parameters.
    func readFlagCounts(_ scope: FlowFactScope, _ n: SQLNames) throws -> (columns: [String], parameters: [ODBCValue])? {
        guard scope.kind == .mail, let merkmal = scope.userMerkmalID else { return nil }
        let columns = try [0, 1].map { active in
            """
            (SELECT COUNT(*) FROM \(try n.table("activity_merkmale")) f WHERE \(try n.required("activity_merkmale.merkmal", "f")) = ? \
            AND \(try n.required("activity_merkmale.active", "f")) = \(active))
            """
        }
        return (columns, [.text(merkmal)])
    }

    /// The counts of ``readFlagCounts(_:_:)`` in a statement of their own; nil for other scopes.
    func countReadFlags(_ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames) throws -> [Int64]? {
        guard let flags = try readFlagCounts(scope, n) else { return nil }
        let row = try db.rows(
            "SELECT \(flags.columns.joined(separator: ", "))", flags.parameters + flags.parameters
        ).first
        return row?.values.map { $0.integer ?? -1 }
    }

    /// Mails whose read flag differs from the known one: the user's unread mails now against the
    /// known versions (`|u` unread, `|r` read); those that changed are read again whole.
    func compareReadFlags(
        _ scope: FlowFactScope, _ request: ChangeRequest, now: Date, into changes: inout [ItemID: Change],
        unreadable: inout [UnreadableItem], _ db: ODBCConnection, _ n: SQLNames
    ) throws {
        guard let merkmal = scope.userMerkmalID, !scope.typeIDs.isEmpty else { return }
        var unread: Set<ItemID> = []
        try db.query(
            """
            SELECT \(try n.required("activity_merkmale.record", "f")) FROM \(try n.table("activity_merkmale")) f \
            JOIN \(try n.table("activities")) a ON \(try n.required("activities.id", "a")) = \(try n.required("activity_merkmale.record", "f")) \
            WHERE \(try n.required("activity_merkmale.merkmal", "f")) = ? AND \(try n.required("activity_merkmale.active", "f")) = 1 \
            AND \(try n.required("activities.owner", "a")) = ? \
            AND \(try n.required("activities.type", "a")) IN (\(Self.placeholders(scope.typeIDs.count)))
            """, [.text(merkmal), .text(scope.userID)] + scope.typeIDs.map { .text($0) }
        ) { row in if let id = row[0].string?.trimmed { unread.insert(id) } }
        var flipped: [ItemID] = []
        for (id, version) in request.known where changes[id] == nil {
            if let known = Self.unread(inVersion: version), known != unread.contains(id) { flipped.append(id) }
        }
        // Known mails: only their state travels, so their attachments are not listed.
        for state in try read(scope, ids: flipped, now: now, attachments: false, unreadable: &unreadable)
        where request.known[state.id] != state.version {
            changes[state.id] = .upsert(state)
        }
    }

    func existingIDs(_ ids: [ItemID], table: String, _ db: ODBCConnection, _ n: SQLNames) throws -> Set<ItemID> {
        var result: Set<ItemID> = []
        for chunk in ids.chunked(into: 200) {
            try db.query(
                "SELECT \(try n.required("\(table).id")) FROM \(try n.table(table)) WHERE \(try n.required("\(table).id")) IN (\(Self.placeholders(chunk.count)))",
                chunk.map { .text($0) }
            ) { row in if let id = row[0].string?.trimmed { result.insert(id) } }
        }
        return result
    }

    /// Streams every record in scope to `body`.
    func stream(_ scope: FlowFactScope, _ body: (ItemState) -> Void) throws -> Int {
        var count = 0
        var unreadable: [UnreadableItem] = []
        try readItems(scope, where: Self.everything, [], unreadable: &unreadable) { state, _ in
            count += 1
            body(state)
        }
        return count
    }

    /// Full records of the given ids that are in scope.
    /// With `content`, mail attachments are copied into spool files; without `attachments`, mails
    /// come without their attachment list.
    func read(
        _ scope: FlowFactScope, ids: [ItemID], now: Date = Date(), inScopeOnly: Bool = true, content: Bool = false,
        attachments: Bool = true
    ) throws -> [ItemState] {
        var ignored: [UnreadableItem] = []
        return try read(
            scope, ids: ids, now: now, inScopeOnly: inScopeOnly, content: content, attachments: attachments,
            unreadable: &ignored)
    }

    func read(
        _ scope: FlowFactScope, ids: [ItemID], now: Date = Date(), inScopeOnly: Bool = true, content: Bool = false,
        attachments: Bool = true, unreadable: inout [UnreadableItem]
    ) throws -> [ItemState] {
        let (_, n) = try open()
        var result: [ItemState] = []
        let wanted: (ItemID) -> Bool = { _ in content }
        let listed: (ItemID) -> Bool = { _ in attachments }
        for chunk in ids.chunked(into: 200) {
            let condition = "\(try n.required("\(scope.table).id", "a")) IN (\(Self.placeholders(chunk.count)))"
            try readItems(
                scope, where: condition, chunk.map { .text($0) }, inScopeOnly: inScopeOnly, now: now,
                content: wanted, attachmentsOf: listed, unreadable: &unreadable
            ) {
                state, _ in
                result.append(state)
            }
        }
        return result
    }

    /// Items stamped with the given keys.
    func find(_ scope: FlowFactScope, keys: [SyncKey]) throws -> [SyncKey: ItemState] {
        let (db, n) = try open()
        var ids: [ItemID] = []
        for chunk in keys.chunked(into: 200) {
            try db.query(
                """
                SELECT \(try n.required("sync_keys.record")) FROM \(try n.table("sync_keys")) WHERE \(try n.required("sync_keys.table")) = ? \
                AND \(try n.required("sync_keys.key")) IN (\(Self.placeholders(chunk.count)))
                """, [.text(schema.table(scope.table))] + chunk.map { .text($0.rawValue) }
            ) { row in if let id = row[0].string?.trimmed { ids.append(id) } }
        }
        var result: [SyncKey: ItemState] = [:]
        for state in try read(scope, ids: ids, inScopeOnly: false) {
            if let key = state.syncKey { result[key] = state }
        }
        return result
    }
}
