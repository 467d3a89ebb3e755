import AdapterSupport
import ConnectorAPI
import ExchangeWebDAV
import Foundation
import HTTP
import HTTPAdapterSupport

/// Where a WebDAV endpoint left off: the folder, its content tag and item count then, and the
/// newest modification time it has seen (the server's clock).
struct WebDAVCursor: Codable, Equatable {
    var folderURL: String
    var contentTag: String
    /// Items in the folder that are not of this kind (a distribution list among contacts), so the
    /// item count can tell whether anything was deleted.
    var outOfScope: Int
    var watermark: Date?
    /// When the item list was last read in full.
    var listedAt: Date
}

/// For mail endpoints: the folder and window of the import, and where attachments wait.
struct WebDAVMailOptions: Sendable {
    var folder: String
    var window: TimeInterval?
    var spool: URL
    var mailFolder: MailFolder { folder == "sentitems" ? .sentItems : .inbox }
}

/// One folder of one mailbox over Exchange 2003/2007's WebDAV. Changes without SyncFolderItems:
/// a run first asks the folder for its content tag and item count (one PROPFIND; a quiet folder
/// ends there); when the contents changed, one SEARCH lists the items modified since the newest
/// change seen (with an overlap), and the item list is read in full only when the count shows a
/// deletion, or every `full_listing_interval`. Contacts and tasks are written with PROPPATCH,
/// appointments PUT as MIME with iCalendar, each update under `If-Match` so a concurrent edit is a
/// conflict; the sync key is a named property SEARCH can find. Mail is only read.
struct WebDAVEndpoint: SyncEndpoint, RetryReporting {
    let client: WebDAVClient
    let kind: DataKind
    let codec: WebDAVCodec
    let folder: WebDAVFolderResolver
    let pageSize: Int
    let maxBatchSize: Int
    let parallelRequests: Int
    let fullListing: Duration
    var mail: WebDAVMailOptions?

    /// Overlap of the modification-time window, for items written while the last run read. The
    /// watermark is on the server's clock (the newest modification seen), so a minute covers
    /// writes in flight; every item in the window is listed by etag (those unchanged cost bytes,
    /// not fetches), so a longer overlap costs a long initial sync's last minutes again.
    static let overlap: TimeInterval = 60

    func takeRetryStatistics() -> RetryStatistics { client.ledger.take() }

    // MARK: URLs and ids

    /// An item's id is its path (decoded); its URL is the server's origin and the encoded path.
    func url(of id: ItemID) -> String { (URLParts.origin(client.root) ?? "") + DAVPath.encode(id) }

    func folderPath(of id: ItemID) -> String {
        String(id[..<(id.lastIndex(of: "/") ?? id.endIndex)])
    }

    var properties: [String] { WebDAVCodec.properties(for: kind) }

    func scopeCondition(since: Date? = nil) -> String {
        var condition =
            "\"DAV:isfolder\" = false AND \"DAV:ishidden\" = false AND \(WebDAVCodec.messageClassCondition(for: kind))"
        if let since {
            condition += " AND \(ExchangeSQL.name(DAVProperty.getLastModified)) > \(DAVDate.sqlLiteral(since))"
        }
        if let mail, let window = mail.window {
            condition +=
                " AND \(ExchangeSQL.name(DAVProperty.dateReceived)) > \(DAVDate.sqlLiteral(Date().addingTimeInterval(-window)))"
        }
        return condition
    }

    func select(_ columns: [String], folder: String, where condition: String) -> String {
        "SELECT " + columns.map(ExchangeSQL.name).joined(separator: ", ") + " FROM "
            + ExchangeSQL.shallowScope(DAVPath.path(of: folder)) + " WHERE " + condition
    }

    // MARK: Reading

    func changes(_ request: ChangeRequest) async throws -> ChangeSet {
        if let mail { SpoolDirectory.empty(mail.spool) }
        // The cursor knows the folder: a quiet run costs one PROPFIND, no discovery.
        let saved = CursorCoding.decode(WebDAVCursor.self, from: request.cursor)
        if let saved { await folder.prime(saved.folderURL) }
        var folderURL = try await folder.url()
        var dated: (responses: [DAVResponse], date: Date?)
        do {
            dated = try await client.propfindDated(folderURL, properties: Self.folderProperties)
        } catch let error as WebDAVError where error.status == 404 && saved != nil {
            // Renamed or re-created since: find it again.
            await folder.forget()
            folderURL = try await folder.url()
            dated = try await client.propfindDated(folderURL, properties: Self.folderProperties)
        }
        let folderState = dated.responses.first
        let cursor = saved.flatMap { $0.folderURL == folderURL ? $0 : nil }
        let state = folderState
        let tag = state?[DAVProperty.contentTag]?.string ?? ""
        let count = state?[DAVProperty.objectCount]?.int
        let listingDue =
            cursor.map { Date().timeIntervalSince($0.listedAt) >= Double(fullListing.components.seconds) } ?? true
        if let cursor, !tag.isEmpty, cursor.contentTag == tag, !listingDue {
            return ChangeSet(changes: [], cursor: request.cursor, isFullScan: false)
        }
        var next = WebDAVCursor(
            folderURL: folderURL, contentTag: tag, outOfScope: cursor?.outOfScope ?? 0,
            watermark: cursor?.watermark, listedAt: cursor?.listedAt ?? Date())
        var rows: [DAVResponse]
        var listed: [String: Version]?
        // Incremental runs list what changed by etag only; the items that really changed (not the
        // run's own writes read back) are then fetched whole in batches.
        var light = false
        if let cursor, let watermark = cursor.watermark, !listingDue {
            rows = try await client.searchAll(
                folderURL,
                sql: select(
                    [DAVProperty.getETag, DAVProperty.getLastModified], folder: folderURL,
                    where: scopeCondition(since: watermark.addingTimeInterval(-Self.overlap))),
                pageSize: pageSize)
            light = true
            let fresh = Set(rows.map(\.path)).subtracting(request.known.keys)
            let expected = request.known.count + fresh.count + cursor.outOfScope
            if kind != .mail, let count, count != expected {
                listed = try await listing(folderURL)
            }
        } else {
            rows = try await client.searchAll(
                folderURL, sql: select(properties, folder: folderURL, where: scopeCondition()), pageSize: pageSize)
            listed = Dictionary(rows.map { ($0.path, $0[DAVProperty.getETag]?.string ?? "") }) { first, _ in first }
        }
        if let listed {
            next.listedAt = Date()
            if let count { next.outOfScope = max(0, count - listed.count) }
        }
        // The watermark is on the server's clock: when it answered this run's first request (its
        // Date header; everything changed before then is in this read), else the newest item seen
        // or the folder's own last change (so an empty folder's first read still leaves one).
        if let now = dated.date {
            next.watermark = now
        } else {
            for modified in rows.compactMap({ $0[DAVProperty.getLastModified]?.date })
                + [state?[DAVProperty.getLastModified]?.date].compactMap({ $0 })
            where modified > (next.watermark ?? .distantPast) {
                next.watermark = modified
            }
        }
        var changes: [Change] = []
        var unchanged: Set<ItemID> = []
        var wanted: [DAVResponse] = []
        var seen: Set<ItemID> = []
        for row in rows {
            let id = row.path
            guard seen.insert(id).inserted else { continue }
            let version = row[DAVProperty.getETag]?.string ?? ""
            if let known = request.known[id], known == version || kind == .mail {
                // Mail is imported once; a read flag or a move never travels back.
                unchanged.insert(id)
            } else {
                wanted.append(row)
            }
        }
        var missed: [ItemID] = []
        if let listed {
            for id in request.known.keys where listed[id] == nil && kind != .mail { changes.append(.deleted(id)) }
            for (id, version) in listed where !seen.contains(id) {
                if let known = request.known[id], known == version || kind == .mail {
                    unchanged.insert(id)
                } else {
                    missed.append(id)
                }
            }
        }
        var unreadable: [UnreadableItem] = []
        if light {
            missed += wanted.map(\.path)
        } else {
            for (_, state) in try await states(wanted, unreadable: &unreadable) { changes.append(.upsert(state)) }
        }
        if !missed.isEmpty {
            for (_, state) in try await read(ids: missed, attachments: true, unreadable: &unreadable) {
                changes.append(.upsert(state))
            }
        }
        return ChangeSet(
            changes: changes, cursor: try CursorCoding.encode(next), isFullScan: listed != nil && kind != .mail,
            unreadable: unreadable, unchanged: unchanged)
    }

    static let folderProperties = [DAVProperty.contentTag, DAVProperty.objectCount, DAVProperty.getLastModified]

    /// Every item of the kind in the folder: id → etag (paged SEARCH).
    func listing(_ folderURL: String) async throws -> [ItemID: Version] {
        let rows = try await client.searchAll(
            folderURL, sql: select([DAVProperty.getETag], folder: folderURL, where: scopeCondition()),
            pageSize: pageSize)
        return Dictionary(rows.map { ($0.path, $0[DAVProperty.getETag]?.string ?? "") }) { first, _ in first }
    }

    /// Item states from rows holding the kind's properties: appointments get their iCalendar
    /// (the internet content in batches, else the MIME), mails their attachments.
    func states(_ rows: [DAVResponse], attachments: Bool = true, unreadable: inout [UnreadableItem]) async throws
        -> [(ItemID, ItemState)]
    {
        var result: [(ItemID, ItemState)] = []
        var contents: [ItemID: Data] = [:]
        if kind == .calendar {
            for row in rows {
                if case .binary(let mime)? = row[DAVProperty.internetContent] { contents[row.path] = mime }
            }
            let missing = rows.filter { contents[$0.path] == nil && $0.failed[DAVProperty.internetContent] == nil }
            for (parent, group) in Dictionary(grouping: missing, by: { folderPath(of: $0.path) }) {
                for batch in group.chunked(into: maxBatchSize) {
                    let responses = try await client.batchPropfind(
                        url(of: parent), hrefs: batch.map { url(of: $0.path) },
                        properties: [DAVProperty.internetContent])
                    for response in responses {
                        if case .binary(let mime)? = response[DAVProperty.internetContent] {
                            contents[response.path] = mime
                        }
                    }
                }
            }
        }
        for row in rows {
            let id = row.path
            let p = row.properties
            let record: Record
            switch kind {
            case .address: record = .address(codec.address(p))
            case .task: record = .task(codec.task(p))
            case .mail:
                let files =
                    attachments && p[DAVProperty.hasAttachment]?.bool == true ? try await fetchAttachments(id) : []
                record = .mail(codec.mail(p, attachments: files, folder: mail?.mailFolder ?? .inbox))
            case .calendar:
                var mime = contents[id]
                if mime == nil {
                    mime = try await client.send(
                        "GET", url(of: id), headers: [("Translate", "f")], expect: [200, 404]
                    ).body
                }
                guard let mime, let calendar = DAVMIME.calendarPart(of: mime) else {
                    unreadable.append(
                        UnreadableItem(
                            id: id, name: p[DAVProperty.subject]?.string ?? id,
                            reason: "the appointment has no iCalendar content"))
                    continue
                }
                do {
                    record = .calendar(try codec.event(calendar: calendar).event)
                } catch {
                    unreadable.append(
                        UnreadableItem(id: id, name: p[DAVProperty.subject]?.string ?? id, reason: "\(error)"))
                    continue
                }
            }
            result.append(
                (
                    id,
                    ItemState(
                        id: id, version: p[DAVProperty.getETag]?.string ?? "", record: record,
                        modifiedAt: p[DAVProperty.getLastModified]?.date,
                        syncKey: p[DAVProperty.syncKey]?.string.map(SyncKey.init(rawValue:)))
                ))
        }
        return result
    }

    /// A mail's attachments (X-MS-ENUMATTS, then a GET each) as files in the spool.
    func fetchAttachments(_ id: ItemID) async throws -> [MailAttachment] {
        guard let mail else { return [] }
        let answer = try await client.send("X-MS-ENUMATTS", url(of: id), expect: [207])
        var attachments: [MailAttachment] = []
        for response in try client.multistatus(answer, method: "X-MS-ENUMATTS", url: url(of: id)) {
            let name =
                response[DAVProperty.attachmentFilename]?.string
                ?? response["http://schemas.microsoft.com/mapi/proptag/x3704001f"]?.string ?? "attachment"
            let content = try await client.send(
                "GET", url(of: response.path), headers: [("Translate", "f")], expect: [200]
            ).body
            try FileManager.default.createDirectory(at: mail.spool, withIntermediateDirectories: true)
            let file = SpoolDirectory.file(in: mail.spool)
            try content.write(to: file)
            attachments.append(
                MailAttachment(
                    name: name,
                    mediaType: response[DAVProperty.attachmentMimeTag]?.string ?? "application/octet-stream",
                    size: Int64(content.count), contentID: response[DAVProperty.attachmentContentID]?.string,
                    content: .file(path: file.path)))
        }
        return attachments
    }

    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] { try await read(ids: ids, attachments: true) }

    func readFields(ids: [ItemID]) async throws -> [ItemID: ItemState] { try await read(ids: ids, attachments: false) }

    func read(ids: [ItemID], attachments: Bool) async throws -> [ItemID: ItemState] {
        var unreadable: [UnreadableItem] = []
        return try await read(ids: ids, attachments: attachments, unreadable: &unreadable)
    }

    /// Items by id in BPROPFIND batches per folder (an appointment's internet content in the same
    /// request); ids that are gone are absent, items that cannot be read are listed as unreadable.
    func read(ids: [ItemID], attachments: Bool, unreadable: inout [UnreadableItem]) async throws -> [ItemID: ItemState]
    {
        var rows: [DAVResponse] = []
        let wanted = kind == .calendar ? properties + [DAVProperty.internetContent] : properties
        for (parent, group) in Dictionary(grouping: ids, by: folderPath(of:)) {
            for batch in group.chunked(into: maxBatchSize) {
                let responses = try await client.batchPropfind(
                    url(of: parent), hrefs: batch.map { url(of: $0) }, properties: wanted)
                rows += responses.filter { $0.status == nil || $0.status == 200 }.filter { !$0.properties.isEmpty }
            }
        }
        return Dictionary(try await states(rows, attachments: attachments, unreadable: &unreadable)) { first, _ in first
        }
    }

    // MARK: Writing

    var maxParallelBatches: Int { 1 }

    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        guard kind != .mail else {
            // The capabilities declare mail read-only; the host never plans such a write.
            return batch.map { _ in
                .failure(
                    WriteError(
                        .permanent,
                        "mailbox \(client.mailbox): mail is read-only on Exchange over WebDAV (the connector must flow from the mailbox)"
                    ))
            }
        }
        let folderURL = try await folder.url()
        var results = [WriteResult?](repeating: nil, count: batch.count)
        try await withThrowingTaskGroup(of: (Int, WriteResult).self) { group in
            var next = 0
            func start() {
                guard next < batch.count else { return }
                let index = next
                let operation = batch[index]
                next += 1
                group.addTask { (index, try await self.write(operation, folderURL: folderURL)) }
            }
            for _ in 0..<min(parallelRequests, batch.count) { start() }
            while let (index, result) = try await group.next() {
                results[index] = result
                start()
            }
        }
        // The new etags in one BPROPFIND per folder and batch. Written items that cannot be read
        // back keep an empty version, so the next run reads them again.
        var written: [(index: Int, id: ItemID)] = []
        for (index, result) in results.enumerated() {
            if case .success(let id, _, _)? = result, batch[index].isWrite { written.append((index, id)) }
        }
        let etags = try await currentETags(written.map(\.id))
        for entry in written {
            if let etag = etags[entry.id] { results[entry.index] = .success(id: entry.id, version: etag, stored: nil) }
        }
        return results.map {
            $0
                ?? .failure(
                    WriteError(
                        .transient, "mailbox \(client.mailbox): the write was not sent (the batch stopped first)"))
        }
    }

    /// The etags of items by id (absent when gone).
    func currentETags(_ ids: [ItemID]) async throws -> [ItemID: Version] {
        var etags: [ItemID: Version] = [:]
        for (parent, group) in Dictionary(grouping: ids, by: folderPath(of:)) {
            for batch in group.chunked(into: maxBatchSize) {
                let responses = try await client.batchPropfind(
                    url(of: parent), hrefs: batch.map { url(of: $0) }, properties: [DAVProperty.getETag])
                for response in responses where response.status == nil || response.status == 200 {
                    if let etag = response[DAVProperty.getETag]?.string { etags[response.path] = etag }
                }
            }
        }
        return etags
    }

    /// One write.
    func write(_ operation: WriteOperation, folderURL: String) async throws -> WriteResult {
        do {
            switch operation {
            case .create(let key, let record):
                let id = DAVPath.path(of: folderURL) + "/" + Self.itemName(for: key)
                try await store(record, id: id, syncKey: key, fields: nil, condition: ("If-None-Match", "*"))
                return .success(id: id, version: "", stored: nil)
            case .update(let id, let expected, let record, let fields):
                try await store(
                    record, id: id, syncKey: nil, fields: fields, condition: expected.map { ("If-Match", $0) })
                return .success(id: id, version: "", stored: nil)
            case .delete(let id):
                _ = try await client.send("DELETE", url(of: id), expect: [200, 204, 404])
                return .success(id: id, version: "", stored: nil)
            }
        } catch let error as WebDAVError {
            if error.status == 401 || error.status == 440 { throw error }
            return .failure(Self.writeError(error, operation))
        }
    }

    /// Creates or changes an item: PROPPATCH of its properties, or PUT of an appointment's MIME.
    /// A create that finds its name taken (an earlier attempt got through) writes over it: the
    /// name is the sync key, so the item is ours.
    func store(
        _ record: Record, id: ItemID, syncKey: SyncKey?, fields: Set<String>?, condition: (String, String)?
    ) async throws {
        let target = url(of: id)
        var headers: [(String, String)] = [("Translate", "f")]
        if let condition { headers.append(condition) }
        switch record {
        case .calendar(var event):
            var uid = syncKey?.rawValue ?? id
            if let fields, !Set(RecordFields.names(for: .calendar)).subtracting(["organizer"]).isSubset(of: fields) {
                // PUT replaces the whole appointment: fields that do not flow keep the server's values.
                let current = try await read(ids: [id], attachments: false)[id]
                if let current {
                    if case .calendar(let merged) = try RecordFields.merge(current.record, taking: fields, from: record)
                    {
                        event = merged
                    }
                }
            }
            // An update keeps the appointment's UID (devices and invitations know it by that).
            if syncKey == nil,
                let existing = try? await client.propfind(target, properties: [DAVProperty.calendarUID]).first?[
                    DAVProperty.calendarUID]?.string
            {
                uid = existing
            }
            let answer = try await client.send(
                "PUT", target, headers: headers + [("Content-Type", "message/rfc822")],
                body: codec.appointmentMIME(event, uid: uid), expect: [200, 201, 204, 412])
            if answer.status == 412 {
                guard syncKey != nil else { throw await conflictOrGone(target) }
                return try await store(record, id: id, syncKey: syncKey, fields: fields, condition: nil)
            }
            if let key = syncKey {
                _ = try await client.send(
                    "PROPPATCH", target, headers: [("Translate", "f")],
                    body: DAVBody.propertyUpdate(set: [(DAVProperty.syncKey, .string(key.rawValue))]), expect: [207])
            }
        case .address(let address):
            let changes = codec.contactChanges(address, fields: fields)
            try await proppatch(
                target, id: id, changes, syncKey: syncKey, fields: fields, headers: headers, record: record)
        case .task(let task):
            let changes = codec.taskChanges(task, fields: fields)
            try await proppatch(
                target, id: id, changes, syncKey: syncKey, fields: fields, headers: headers, record: record)
        case .mail:
            throw WebDAVError(
                mailbox: client.mailbox, method: "PROPPATCH", url: target, status: 0,
                cause: "mail is read-only on Exchange over WebDAV", isPermanent: true)
        }
    }

    func proppatch(
        _ target: String, id: ItemID, _ changes: (set: [(String, DAVValue)], remove: [String]), syncKey: SyncKey?,
        fields: Set<String>?, headers: [(String, String)], record: Record
    ) async throws {
        var set = changes.set
        if let syncKey { set.append((DAVProperty.syncKey, .string(syncKey.rawValue))) }
        let answer = try await client.send(
            "PROPPATCH", target, headers: headers, body: DAVBody.propertyUpdate(set: set, remove: changes.remove),
            expect: [207, 200, 412])
        if answer.status == 412 {
            guard syncKey != nil else { throw await conflictOrGone(target) }
            return try await store(record, id: id, syncKey: syncKey, fields: fields, condition: nil)
        }
        if answer.status == 207 {
            for response in try client.multistatus(answer, method: "PROPPATCH", url: target) {
                if let (name, status) = response.failed.first(where: { $0.value != 424 }) ?? response.failed.first {
                    throw WebDAVError(
                        mailbox: client.mailbox, method: "PROPPATCH", url: target, status: status,
                        cause: "the server refused \(name) (HTTP \(status))", isPermanent: true)
                }
            }
        }
    }

    /// What a failed `If-Match` means: the item changed (a conflict), or it is gone (not found).
    func conflictOrGone(_ target: String) async -> WebDAVError {
        var gone = false
        do {
            _ = try await client.propfind(target, properties: [DAVProperty.getETag])
        } catch let error as WebDAVError where error.status == 404 {
            gone = true
        } catch {}
        return WebDAVError(
            mailbox: client.mailbox, method: "PROPPATCH", url: target, status: gone ? 404 : 412,
            cause: gone
                ? "the item is no longer in the mailbox"
                : "the item changed in the mailbox since it was read (If-Match)",
            isPermanent: true)
    }

    /// `<sync key>.EML`, with characters a URL segment should not carry replaced.
    static func itemName(for key: SyncKey) -> String {
        String(key.rawValue.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }) + ".EML"
    }

    static func writeError(_ error: WebDAVError, _ operation: WriteOperation) -> WriteError {
        error.writeError(error.cause)
    }

    // MARK: Finding by sync key

    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] {
        guard !syncKeys.isEmpty else { return [:] }
        let folderURL = try await folder.url()
        var found: [SyncKey: ItemState] = [:]
        for batch in syncKeys.chunked(into: 50) {
            let condition = batch.map {
                "\(ExchangeSQL.name(DAVProperty.syncKey)) = \(ExchangeSQL.string($0.rawValue))"
            }
            .joined(separator: " OR ")
            let rows = try await client.searchAll(
                folderURL, sql: select(properties, folder: folderURL, where: "(\(condition))"), pageSize: pageSize)
            var unreadable: [UnreadableItem] = []
            for (_, state) in try await states(rows, attachments: false, unreadable: &unreadable) {
                if let key = state.syncKey { found[key] = state }
            }
        }
        return found
    }
}

extension WriteOperation {
    var isWrite: Bool {
        if case .delete = self { return false }
        return true
    }
}

/// The URL of a kind's folder in a mailbox, found once from the mailbox root's well-known folder
/// properties (the names are localised: Kontakte, Kalender, Aufgaben, Posteingang …).
actor WebDAVFolderResolver {
    let client: WebDAVClient
    let key: String
    var cached: String?

    init(client: WebDAVClient, key: String) {
        self.client = client
        self.key = key
    }

    /// Takes a URL found earlier (kept in the cursor).
    func prime(_ url: String) {
        if cached == nil { cached = url }
    }

    func forget() { cached = nil }

    func url() async throws -> String {
        if let cached { return cached }
        let name = DAVNamespace.httpmail + key
        let responses = try await client.propfind(client.root, properties: [name])
        guard let value = responses.first?[name]?.string, !value.isEmpty else {
            throw WebDAVError(
                mailbox: client.mailbox, method: "PROPFIND", url: client.root, status: 207,
                cause: "the mailbox root names no \(key) folder (urn:schemas:httpmail:\(key))", isPermanent: true)
        }
        // The folder's own URL, on the server the account reaches (a href may name another host).
        let resolved = (URLParts.origin(client.root) ?? "") + DAVPath.encode(DAVPath.path(of: value))
        cached = resolved
        return resolved
    }
}
