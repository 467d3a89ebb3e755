import ConnectorAPI
import Foundation
import ODBC

extension FlowFactDatabase {
    /// Applies a batch in one transaction. If any write fails, the transaction is rolled back and
    /// the writes are repeated one by one, so a single bad record fails alone.
    func apply(_ scope: FlowFactScope, _ batch: [WriteOperation], now: Date = Date()) throws -> [WriteResult] {
        let (db, n) = try open()
        defer { lookups = BatchLookups() }
        do {
            return try transaction(db) {
                try prepareLookups(batch, scope, db, n)
                return try batch.map { try write($0, scope, db, n, now: now) }
            }
        } catch let error as ODBCError where error.isConnectionLost {
            // Nothing of the batch was committed. Drop the connection; the engine retries the batch.
            close()
            log(
                .warning,
                "the FlowFact database connection broke during a write batch (SQLSTATE \(error.sqlState)); it will reconnect"
            )
            throw FlowFactError.database("the FlowFact database connection broke during a write batch: \(error)")
        } catch let error as ODBCError where error.isLockContention {
            // Another connection held the lock past the driver's timeout: nothing was written, and
            // one by one would wait as long again for each write. The engine retries the batch.
            log(.info, "the FlowFact database was locked by another writer; the batch is retried (\(error))")
            return Array(repeating: .failure(Self.writeError(error)), count: batch.count)
        } catch {
            guard batch.count > 1 else { return [.failure(Self.writeError(error))] }
            return batch.map { operation in
                do {
                    return try transaction(db) {
                        // Looked up again: what the rolled-back batch created is gone.
                        try prepareLookups([operation], scope, db, n)
                        return try write(operation, scope, db, n, now: now)
                    }
                } catch {
                    return .failure(Self.writeError(error))
                }
            }
        }
    }

    /// One transaction; attachment files it put on the share go again when it rolls back, so a
    /// retried batch leaves neither orphans nor "(2)" copies behind.
    func transaction<T>(_ db: ODBCConnection, _ body: () throws -> T) throws -> T {
        filesWritten.removeAll()
        defer { filesWritten.removeAll() }
        do {
            return try db.transaction(body)
        } catch {
            for file in filesWritten {
                try? FileManager.default.removeItem(at: file)
                let folder = file.deletingLastPathComponent()
                if (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.isEmpty == true {
                    try? FileManager.default.removeItem(at: folder)
                }
            }
            throw error
        }
    }

    /// Transient for lost connections, deadlocks and timeouts; permanent for data the database rejects.
    static func writeError(_ error: Error) -> WriteError {
        if let odbc = error as? ODBCError {
            let state = odbc.sqlState
            let transient =
                odbc.isConnectionLost || odbc.isLockContention || state.hasPrefix("HYT") || state.hasPrefix("57")
            return WriteError(transient ? .transient : .permanent, "\(odbc)")
        }
        if let outcome = error as? WriteOutcome { return outcome.error }
        return WriteError(.permanent, "\(error)")
    }

    /// A per-item result that is not an ODBC error (conflict, not found).
    struct WriteOutcome: Error { var error: WriteError }

    func write(_ operation: WriteOperation, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames, now: Date)
        throws -> WriteResult
    {
        switch operation {
        case .create(let key, let record):
            if let existing = try lookups.copiesByKey.map({ $0[key] }) ?? find(scope, keys: [key])[key] {
                // A copy made by an interrupted run: bring it up to date instead of inserting a second one.
                return try update(
                    existing.id, expected: nil, record: record, fields: options.holding.held(scope.kind),
                    scope, db, n, now: now)
            }
            if case .mail(let mail) = record { return try createMail(mail, key: key, scope, db, n, now: now) }
            return try insert(record, key: key, scope, db, n, now: now)
        case .update(let id, _, .mail(let mail), let fields) where fields == ["deletedOnOtherSide"]:
            guard mail.deletedOnOtherSide == true else { return .skipped(reason: "nothing to mark") }
            return try markDeleted(id, scope, db, n, now: now)
        case .update(let id, let expected, let record, let fields):
            return try update(id, expected: expected, record: record, fields: fields, scope, db, n, now: now)
        case .delete(let id):
            try delete(id, scope, db, n, now: now)
            return .success(id: id, version: "", stored: nil)
        }
    }

    /// Column values (keys without table prefix) of a record for this scope.
    func columnValues(_ record: Record, _ scope: FlowFactScope) throws -> [String: ODBCValue] {
        let records = records(scope)
        switch record {
        case .address(let value): return records.columns(value)
        case .calendar(let value): return records.columns(value)
        case .task(let value): return records.columns(value)
        case .mail(let value):
            let folder = value.folder == .sentItems ? MailFolder.sentItems : .inbox
            guard let type = scope.mailFolders.first(where: { $0.value == folder })?.key ?? scope.typeIDs.first else {
                throw WriteOutcome(error: WriteError(.permanent, "no activity type for \(folder) mail"))
            }
            return records.columns(value, typeID: type)
        }
    }

    func insert(
        _ record: Record, key: SyncKey, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames, now: Date,
        extra: [String: ODBCValue] = [:]
    ) throws -> WriteResult {
        let problems = record.validate()
        guard problems.isEmpty else {
            throw WriteOutcome(error: WriteError(.permanent, problems.joined(separator: "; ")))
        }
        let table = scope.table
        let id = UUID().uuidString
        let stamp = ODBCTimestamp(now, in: options.zone)
        var values = try columnValues(record, scope)
        values.merge(extra) { $1 }
        values["id"] = .text(id)
        values["created"] = .timestamp(stamp)
        values["changed"] = .timestamp(stamp)
        values["created_by"] = .text(scope.userShortName)
        values["changed_by"] = .text(scope.userShortName)
        values["owner"] = .text(scope.userID)
        if scope.isAddress {
            values["archived"] = .integer(0)
        } else {
            if values["type"] == nil, let type = scope.typeIDs.first { values["type"] = .text(type) }
            values["all_day"] = values["all_day"] ?? .integer(0)
            values["done"] = values["done"] ?? .integer(0)
        }
        try insertRow(table, values, db, n)
        // The Merkmale that put the record in scope, and for activities the owner's user Merkmal.
        var links: [(String, Int64)] = []
        if !scope.merkmalIDs.isEmpty {
            links += (scope.matchAll ? scope.merkmalIDs : [scope.merkmalIDs[0]]).map { ($0, 1) }
        }
        for merkmal in categoryMerkmale(of: record, scope) where !links.contains(where: { $0.0 == merkmal }) {
            links.append((merkmal, 1))
        }
        if !scope.isAddress, let userMerkmal = scope.userMerkmalID, !links.contains(where: { $0.0 == userMerkmal }) {
            var active: Int64 = 1
            if case .mail(let mail) = record, mail.isRead { active = 0 }
            links.append((userMerkmal, active))
        }
        for (merkmal, active) in links {
            try insertRow(
                scope.linkTable,
                [
                    "record": .text(id), "merkmal": .text(merkmal), "active": .integer(active),
                    "created": .timestamp(stamp), "created_by": .text(scope.userShortName),
                ],
                db, n)
        }
        try insertRow(
            "sync_keys",
            [
                "table": .text(schema.table(table)), "record": .text(id), "key": .text(key.rawValue),
                "created": .timestamp(stamp),
            ], db, n)
        try keep(record, columns: values, id: id, stamp: stamp, scope, db, n, replacing: false)
        if case .mail(let mail) = record {
            for attachment in mail.attachments {
                try insertAttachment(attachment, record: id, stamp: stamp, scope, db, n)
            }
        }
        let unread: Bool? = if case .mail(let mail) = record { !mail.isRead } else { nil }
        return .success(id: id, version: Self.version(changed: stamp, unread: unread), stored: nil)
    }

    func insertRow(_ table: String, _ values: [String: ODBCValue], _ db: ODBCConnection, _ n: SQLNames) throws {
        try n.insert(table, values, into: db)
    }

    func insertAttachment(
        _ attachment: MailAttachment, record: String, stamp: ODBCTimestamp, _ scope: FlowFactScope,
        _ db: ODBCConnection, _ n: SQLNames
    ) throws {
        var row: [String: ODBCValue] = [
            "id": .text(UUID().uuidString), "table": .text(schema.table("activities")), "record": .text(record),
            "file_name": .text(attachment.name), "media_type": .text(attachment.mediaType),
            "content_id": attachment.contentID.map { .text($0) } ?? .null, "created": .timestamp(stamp),
            "created_by": .text(scope.userShortName), "changed": .timestamp(stamp),
        ]
        if options.attachmentFiles, let root = options.flowfactDirectory, try n.column("attachments.path") != nil {
            // FlowFact's share: Anhaenge/<year>/<activity>/<name>, the relative path in the BLOB row.
            let name = Self.safeFileName(attachment.name)
            var relative = "Anhaenge/\(stamp.year)/\(record)/\(name)"
            var copies = 1
            while FileManager.default.fileExists(atPath: root.appendingPathComponent(relative).path) {
                // Two attachments of one mail with the same name: "Plan (2).pdf".
                copies += 1
                let base = (name as NSString).deletingPathExtension
                let ext = (name as NSString).pathExtension
                relative = "Anhaenge/\(stamp.year)/\(record)/\(base) (\(copies))" + (ext.isEmpty ? "" : ".\(ext)")
            }
            let file = root.appendingPathComponent(relative)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            row["size"] = .integer(try copy(attachment, to: file))
            filesWritten.append(file)
            row["path"] = .text(relative.replacingOccurrences(of: "/", with: "\\"))
        } else if case .file(let path) = attachment.content {
            let source: ODBCBinarySource
            do {
                source = try .file(URL(fileURLWithPath: path))
            } catch {
                throw WriteOutcome(
                    error: WriteError(.permanent, "attachment '\(attachment.name)': cannot read \(path): \(error)"))
            }
            row["size"] = .integer(Int64(source.length))
            if dialect == .sqlite || source.length <= Self.attachmentWriteSlice {
                // Sent to the driver in chunks (data at execution), never read whole here.
                row["content"] = .binaryStream(source)
            } else {
                // psqlODBC and SQL Server drivers buffer a whole parameter: append slices instead.
                row["content"] = .binary(Data())
                try insertRow("attachments", row, db, n)
                try appendSlices(of: path, to: row["id"]!, db, n)
                return
            }
        } else {
            let content = try contents(attachment)
            row["size"] = .integer(Int64(content.count))
            row["content"] = .binary(content)
        }
        try insertRow("attachments", row, db, n)
    }

    /// Bytes per appended slice when a driver would buffer a whole streamed value.
    static let attachmentWriteSlice = 4 << 20

    /// Appends a file to an attachment's content slice by slice (PostgreSQL `||`, SQL Server
    /// `.WRITE`), so the driver holds one slice at a time, not the whole file.
    func appendSlices(of path: String, to id: ODBCValue, _ db: ODBCConnection, _ n: SQLNames) throws {
        let content = try n.required("attachments.content")
        let assignment =
            dialect == .mssql ? "\(content).WRITE(?, NULL, NULL)" : "\(content) = \(content) || ?"
        let sql =
            "UPDATE \(try n.table("attachments")) SET \(assignment) WHERE \(try n.required("attachments.id")) = ?"
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw WriteOutcome(error: WriteError(.permanent, "cannot read \(path)"))
        }
        defer { try? handle.close() }
        while let slice = try handle.read(upToCount: Self.attachmentWriteSlice), !slice.isEmpty {
            try db.execute(sql, [.binary(slice), id])
        }
    }

    /// The bytes of an attachment that is to be stored in the database.
    func contents(_ attachment: MailAttachment) throws -> Data {
        switch attachment.content {
        case .inline(let data): return data
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw WriteOutcome(
                    error: WriteError(.permanent, "attachment '\(attachment.name)': cannot read \(path)"))
            }
            return data
        case .reference(let reference):
            throw WriteOutcome(
                error: WriteError(.permanent, "attachment '\(attachment.name)': content \(reference) was not fetched"))
        }
    }

    /// Writes an attachment to `file` (a spooled file is copied, never read whole); answers its size.
    func copy(_ attachment: MailAttachment, to file: URL) throws -> Int64 {
        switch attachment.content {
        case .file(let path):
            do {
                try FileManager.default.copyItem(atPath: path, toPath: file.path)
            } catch {
                throw WriteOutcome(
                    error: WriteError(
                        .transient, "attachment '\(attachment.name)': cannot copy to \(file.path): \(error)"))
            }
        default:
            do {
                try contents(attachment).write(to: file)
            } catch let outcome as WriteOutcome {
                throw outcome
            } catch {
                throw WriteOutcome(
                    error: WriteError(
                        .transient, "attachment '\(attachment.name)': cannot write \(file.path): \(error)"))
            }
        }
        return (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64) ?? 0
    }

    /// A file name without path separators or characters Windows shares refuse.
    static func safeFileName(_ name: String) -> String {
        let cleaned = String(name.map { "\\/:*?\"<>|".contains($0) || $0.isNewline ? "_" : $0 })
            .trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty || cleaned == "." || cleaned == ".." ? "attachment" : cleaned
    }

    func update(
        _ id: ItemID, expected: Version?, record: Record, fields: Set<String>, _ scope: FlowFactScope,
        _ db: ODBCConnection, _ n: SQLNames,
        now: Date
    ) throws -> WriteResult {
        guard let current = try read(scope, ids: [id], now: now, inScopeOnly: false).first else {
            throw WriteOutcome(error: WriteError(.notFound, "no \(schema.table(scope.table)) record \(id)"))
        }
        if let expected, expected != current.version {
            throw WriteOutcome(
                error: WriteError(
                    .conflict,
                    "\(schema.table(scope.table)) record \(id) changed since it was read (\(current.version), expected \(expected))"
                ))
        }
        let merged = try RecordFields.merge(current.record, taking: fields, from: record)
        let problems = merged.validate()
        guard problems.isEmpty else {
            throw WriteOutcome(error: WriteError(.permanent, problems.joined(separator: "; ")))
        }
        let all = try columnValues(merged, scope)
        let byField = FlowFactRecords.columnsOfField[scope.kind] ?? [:]
        var touched: [String] = []
        for field in fields.sorted() {
            for column in byField[field] ?? [] where !touched.contains(column) { touched.append(column) }
        }
        let stamp = ODBCTimestamp(now, in: options.zone)
        var assignments: [String] = []
        var parameters: [ODBCValue] = []
        for column in touched {
            guard let name = try n.column("\(scope.table).\(column)"), let value = all[column] else { continue }
            assignments.append("\(name) = ?")
            parameters.append(value)
        }
        assignments.append("\(try n.required("\(scope.table).changed")) = ?")
        parameters.append(.timestamp(stamp))
        assignments.append("\(try n.required("\(scope.table).changed_by")) = ?")
        parameters.append(.text(scope.userShortName))
        try db.execute(
            "UPDATE \(try n.table(scope.table)) SET \(assignments.joined(separator: ", ")) WHERE \(try n.required("\(scope.table).id")) = ?",
            parameters + [.text(id)])
        try keep(merged, columns: all, id: id, stamp: stamp, scope, db, n, replacing: true)
        if fields.contains("categories") { try linkCategories(of: merged, id: id, stamp: stamp, scope, db, n) }
        var unread: Bool?
        if case .mail(let mail) = merged {
            unread = !mail.isRead
            if fields.contains("isRead"), let userMerkmal = scope.userMerkmalID {
                try db.execute(
                    """
                    UPDATE \(try n.table("activity_merkmale")) SET \(try n.required("activity_merkmale.active")) = ? \
                    WHERE \(try n.required("activity_merkmale.record")) = ? AND \(try n.required("activity_merkmale.merkmal")) = ?
                    """, [.integer(mail.isRead ? 0 : 1), .text(id), .text(userMerkmal)])
            }
        }
        return .success(id: id, version: Self.version(changed: stamp, unread: unread), stored: nil)
    }

    func delete(_ id: ItemID, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames, now: Date) throws {
        let table = scope.table
        try db.execute(
            "DELETE FROM \(try n.table(scope.linkTable)) WHERE \(try n.required("\(scope.linkTable).record")) = ?",
            [.text(id)])
        if !scope.isAddress {
            try db.execute(
                "DELETE FROM \(try n.table("attachments")) WHERE \(try n.required("attachments.table")) = ? AND \(try n.required("attachments.record")) = ?",
                [.text(schema.table(table)), .text(id)])
        }
        try db.execute(
            "DELETE FROM \(try n.table("sync_keys")) WHERE \(try n.required("sync_keys.table")) = ? AND \(try n.required("sync_keys.record")) = ?",
            [.text(schema.table(table)), .text(id)])
        if keepsFields(scope) {
            try db.execute(
                "DELETE FROM \(try n.table("kept_fields")) WHERE \(try n.required("kept_fields.table")) = ? AND \(try n.required("kept_fields.record")) = ?",
                [.text(schema.table(table)), .text(id)])
        }
        let removed = try db.execute(
            "DELETE FROM \(try n.table(table)) WHERE \(try n.required("\(table).id")) = ?", [.text(id)])
        if removed > 0, options.useDellog {
            try insertRow(
                "deletions",
                [
                    "table": .text(schema.table(table)), "record": .text(id),
                    "deleted_at": .timestamp(ODBCTimestamp(now, in: options.zone)),
                    "deleted_by": .text(scope.userShortName),
                ],
                db, n)
        }
    }

    /// The ids of the Merkmale a record's mapped categories stand for.
    func categoryMerkmale(of record: Record, _ scope: FlowFactScope) -> [String] {
        let categories = RecordFields.map(record)["categories"]
        guard case .array(let items)? = categories else { return [] }
        let names = Set(items.compactMap { if case .string(let name) = $0 { name } else { nil } })
        return scope.categoryLinks.filter { names.contains($0.category) }.map(\.merkmalID)
    }

    /// Writes what the columns cannot hold of `record` into the connector table (one row per
    /// record; no row when the columns hold everything).
    func keep(
        _ record: Record, columns: [String: ODBCValue], id: String, stamp: ODBCTimestamp, _ scope: FlowFactScope,
        _ db: ODBCConnection, _ n: SQLNames, replacing: Bool
    ) throws {
        guard keepsFields(scope) else { return }
        let table = schema.table(scope.table)
        // What the database really holds: a column switched off keeps nothing, so its field is kept here.
        let stored = columns.filter { schema.column("\(scope.table).\($0.key)") != nil }
        let kept = try records(scope).kept(record, columns: stored, table: table, id: id)
        if replacing {
            try db.execute(
                "DELETE FROM \(try n.table("kept_fields")) WHERE \(try n.required("kept_fields.table")) = ? AND \(try n.required("kept_fields.record")) = ?",
                [.text(table), .text(id)])
        }
        guard !kept.isEmpty else { return }
        try insertRow(
            "kept_fields",
            ["table": .text(table), "record": .text(id), "values": .text(kept.text), "changed": .timestamp(stamp)], db,
            n)
    }

    /// Links the Merkmale of the record's mapped categories and unlinks those of mapped categories
    /// it no longer has, except Merkmale that put the record in scope.
    func linkCategories(
        of record: Record, id: String, stamp: ODBCTimestamp, _ scope: FlowFactScope, _ db: ODBCConnection,
        _ n: SQLNames
    ) throws {
        guard !scope.categoryLinks.isEmpty else { return }
        let wanted = Set(categoryMerkmale(of: record, scope))
        let protected = Set(scope.merkmalIDs + [scope.userMerkmalID].compactMap { $0 })
        let link = scope.linkTable
        let present = Set(
            try db.rows(
                """
                SELECT \(try n.required("\(link).merkmal")) FROM \(try n.table(link)) \
                WHERE \(try n.required("\(link).record")) = ?
                """, [.text(id)]
            ).compactMap { $0[0].string?.trimmed })
        for merkmal in Set(scope.categoryLinks.map(\.merkmalID)) {
            if wanted.contains(merkmal), !present.contains(merkmal) {
                try insertRow(
                    link,
                    [
                        "record": .text(id), "merkmal": .text(merkmal), "active": .integer(1),
                        "created": .timestamp(stamp), "created_by": .text(scope.userShortName),
                    ], db, n)
            } else if wanted.contains(merkmal) {
                try db.execute(
                    """
                    UPDATE \(try n.table(link)) SET \(try n.required("\(link).active")) = 1 \
                    WHERE \(try n.required("\(link).record")) = ? AND \(try n.required("\(link).merkmal")) = ?
                    """, [.text(id), .text(merkmal)])
            } else if present.contains(merkmal), !protected.contains(merkmal) {
                try db.execute(
                    """
                    DELETE FROM \(try n.table(link)) \
                    WHERE \(try n.required("\(link).record")) = ? AND \(try n.required("\(link).merkmal")) = ?
                    """, [.text(id), .text(merkmal)])
            }
        }
    }
}
