import AdapterSupport
import ConnectorAPI
import EWS
import Foundation
import XML

/// The cursor of an EWS endpoint: the folder and its SyncFolderItems state.
struct EWSCursor: Codable {
    var folderID: String
    var syncState: String
    /// Which folder the id was resolved for (the configured subfolder, or the default folder), so a
    /// changed `folder` option resolves again instead of reusing the old id.
    var folderSpec: String?
}

/// One folder of one mailbox as a sync endpoint: SyncFolderItems for changes, batched GetItem,
/// CreateItem/UpdateItem/DeleteItem for writes, FindItem on the stamped key for adoption.
struct EWSEndpoint: SyncEndpoint, RetryReporting {
    let client: EWSClient
    let kind: DataKind
    let codec: EWSRecordCodec
    let folder: EWSFolderResolver
    let maxBatchSize: Int
    let maxParallelBatches: Int
    let readBatchSize: Int
    let deleteType: String
    /// For the mail kind: folder, import window and attachment spool.
    var mail: EWSMailOptions? = nil

    var itemName: String { EWSRecordCodec.elementName(kind) }

    func takeRetryStatistics() -> RetryStatistics { client.ledger.take() }

    // MARK: Reading

    func changes(_ request: ChangeRequest) async throws -> ChangeSet {
        clearSpool()
        // A cursor carries the folder id: an incremental run needs no GetFolder, only SyncFolderItems.
        let cursor = CursorCoding.decode(EWSCursor.self, from: request.cursor)
        if let cursor, cursor.folderSpec == folder.spec {
            do {
                return try await changes(
                    request, folderID: await folder.prime(cursor.folderID), state: cursor.syncState)
            } catch let fault as EWSFault where fault.code == "ErrorFolderNotFound" || fault.code == "ErrorItemNotFound"
            {
                // The folder was deleted or re-created since: find it again and read it in full.
                client.log(
                    .warning, "the \(kind) folder of \(client.mailbox) is gone; finding it again and reading it in full"
                )
                await folder.forget()
            }
        }
        let folderID = try await folder.id()
        // The state holds for the folder it was made for, whatever the cursor's folder spec says.
        let state = cursor.flatMap { $0.folderID == folderID ? $0.syncState : nil }
        return try await changes(request, folderID: folderID, state: state)
    }

    func changes(_ request: ChangeRequest, folderID: String, state initialState: String?) async throws -> ChangeSet {
        var state = initialState
        var fullScan = state == nil
        var upserts: [String: String] = [:]  // id → change key
        var mailStates: [String: (received: Date?, read: Bool?)] = [:]  // mail: what SyncFolderItems showed
        var order: [String] = []
        var deleted: Set<String> = []
        var previous: String?
        while true {
            let messages = try await client.call("SyncFolderItems") { [state] w in
                w.element("m:SyncFolderItems") { w in
                    w.element("m:ItemShape") { w in
                        w.element("t:BaseShape", "IdOnly")
                        if kind == .mail {
                            // Enough to skip old mails and to follow read flags without a GetItem.
                            w.element("t:AdditionalProperties") { w in
                                for uri in ["item:DateTimeReceived", "message:IsRead"] {
                                    w.start("t:FieldURI", [("FieldURI", uri)])
                                    w.end()
                                }
                            }
                        }
                    }
                    w.element("m:SyncFolderId") { w in
                        w.start("t:FolderId", [("Id", folderID)])
                        w.end()
                    }
                    if let state { w.element("m:SyncState", state) }
                    w.element("m:MaxChangesReturned", "512")
                }
            }
            guard let message = messages.first else {
                throw EWSError.protocolError("SyncFolderItems returned no response message")
            }
            if !message.success {
                if message.code == "ErrorInvalidSyncStateData" && state != nil {
                    client.log(
                        .warning,
                        "the sync state of \(kind) in \(client.mailbox) was refused (ErrorInvalidSyncStateData); reading the folder in full"
                    )
                    state = nil
                    fullScan = true
                    upserts.removeAll()
                    order.removeAll()
                    deleted.removeAll()
                    continue
                }
                throw EWSFault(code: message.code, message: message.text, backOff: message.backOff, httpStatus: 200)
            }
            for change in message.element.child("Changes")?.children ?? [] {
                switch change.name {
                case "Create", "Update", "ReadFlagChange":
                    let reference =
                        change.name == "ReadFlagChange"
                        ? change.child("ItemId") : change.children.first?.child("ItemId")
                    guard let id = reference?.attributes["Id"] else { continue }
                    if upserts[id] == nil { order.append(id) }
                    upserts[id] = reference?.attributes["ChangeKey"] ?? ""
                    deleted.remove(id)
                    if kind == .mail {
                        let item = change.name == "ReadFlagChange" ? change : change.children.first
                        var seen = mailStates[id] ?? (nil, nil)
                        if let received = item?.string("DateTimeReceived").flatMap(EWSDate.parse) {
                            seen.received = received
                        }
                        if let read = item?.string("IsRead") { seen.read = read == "true" }
                        mailStates[id] = seen
                    }
                case "Delete":
                    if let id = change.child("ItemId")?.attributes["Id"] {
                        deleted.insert(id)
                        upserts.removeValue(forKey: id)
                    }
                default: break
                }
            }
            let newState = message.element.string("SyncState") ?? ""
            let last = message.element.string("IncludesLastItemInRange") == "true"
            // A server that hands back the same state without finishing would loop forever.
            if last || newState == previous || newState.isEmpty {
                state = newState
                break
            }
            previous = newState
            state = newState
        }
        // A full read lists every item in the folder: a known item it does not list was deleted (or
        // moved out) since the state was lost, as an incremental read would have said.
        if fullScan {
            for id in request.known.keys where upserts[id] == nil { deleted.insert(id) }
        }
        // Items whose change key we wrote ourselves need no GetItem.
        var wanted = order.filter { id in upserts[id] != nil && request.known[id] != upserts[id] }
        var changes: [Change] = deleted.map { .deleted($0) }
        if kind == .mail {
            // A linked mail only carries its state now: the read flag SyncFolderItems showed is
            // enough, no GetItem (and no attachment download). New mails outside the window stay out.
            wanted = wanted.filter { id in
                if request.known[id] != nil, let read = mailStates[id]?.read {
                    changes.append(
                        .upsert(
                            ItemState(
                                id: id, version: upserts[id] ?? "",
                                record: .mail(MailMessage(subject: "", isRead: read)))))
                    return false
                }
                return request.known[id] != nil || !isTooOld(mailStates[id]?.received)
            }
        }
        var unreadable: [UnreadableItem] = []
        for (_, item) in try await get(wanted, unreadable: &unreadable) {
            if let item { changes.append(.upsert(item.state)) }
        }
        let next = try CursorCoding.encode(
            EWSCursor(folderID: folderID, syncState: state ?? "", folderSpec: folder.spec))
        let unchanged = Set(order.filter { id in upserts[id] != nil && request.known[id] == upserts[id] })
        return ChangeSet(
            changes: changes, cursor: next, isFullScan: fullScan, unreadable: unreadable, unchanged: unchanged)
    }

    /// GetItem in batches; ids that are gone map to nil. Items refused for a transient reason
    /// (ErrorServerBusy, ErrorBatchProcessingStopped) are asked for again after the advised pause.
    /// GetItem of `ids` in batches (with retries of throttled items), decoded; with `attachments`,
    /// mails' attachments are fetched into the spool.
    func get(_ ids: [String], attachments: Bool = true, unreadable: inout [UnreadableItem]) async throws -> [(
        String, EWSItem?
    )] {
        var result: [(String, EWSItem?)] = []
        var pending = ids
        var fruitless = 0
        while !pending.isEmpty {
            var retry: [String] = []
            var pause: Duration?
            var cause = "ErrorServerBusy"
            for start in stride(from: 0, to: pending.count, by: readBatchSize) {
                let batch = Array(pending[start..<min(start + readBatchSize, pending.count)])
                let messages = try await client.call("GetItem") { w in
                    w.element("m:GetItem") { w in
                        w.element("m:ItemShape") { w in
                            w.element("t:BaseShape", "IdOnly")
                            // A mail keeps its HTML body where it has one; other items are read as text.
                            w.element("t:BodyType", kind == .mail ? "Best" : "Text")
                            EWSRecordCodec.writeAdditionalProperties(kind, &w)
                        }
                        w.element("m:ItemIds") { w in
                            for id in batch {
                                w.start("t:ItemId", [("Id", id)])
                                w.end()
                            }
                        }
                    }
                }
                for (id, message) in zip(batch, padded(messages, batch.count)) {
                    guard let message else {
                        retry.append(id)
                        continue
                    }
                    guard message.success, let element = message.element.child("Items")?.children.first else {
                        if Self.notHereCodes.contains(message.code) {
                            // Gone, or not an item of this mailbox (an id kept from the mailbox the user
                            // had before): absent here either way.
                            result.append((id, nil))
                        } else if Self.transientCodes.contains(message.code) && fruitless + 1 < client.maxAttempts {
                            retry.append(id)
                            pause = message.backOff ?? pause
                            if message.code != "ErrorBatchProcessingStopped" { cause = message.code }
                        } else {
                            throw EWSFault(
                                code: message.code, message: "GetItem of \(id) failed: \(message.text)",
                                backOff: message.backOff, httpStatus: 200)
                        }
                        continue
                    }
                    do {
                        result.append((id, try codec.decode(element, kind: kind)))
                    } catch {
                        unreadable.append(
                            UnreadableItem(
                                id: id, name: element.string("Subject") ?? element.string("DisplayName") ?? id,
                                reason: "\(error)"))
                    }
                }
            }
            // Tries go on while each gets some items through; only a try with no progress counts.
            fruitless = retry.count == pending.count ? fruitless + 1 : 0
            if !retry.isEmpty {
                client.ledger.record(cause)
                await client.throttle.pause(for: pause ?? EWSClient.backoff(fruitless + 1))
            }
            pending = retry
        }
        let complete = try await completeMails(
            try await completeExceptions(result.compactMap(\.1)), fetch: attachments, unreadable: &unreadable)
        let byID = Dictionary(complete.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        return result.map { id, item in (id, item.flatMap { byID[$0.id] }) }
    }

    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        var ignored: [UnreadableItem] = []
        var result: [ItemID: ItemState] = [:]
        for (id, item) in try await get(ids, unreadable: &ignored) { if let item { result[id] = item.state } }
        return result
    }

    /// GetItem alone: a mail's attachments stay references to Exchange (no GetAttachment).
    func readFields(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        var ignored: [UnreadableItem] = []
        var result: [ItemID: ItemState] = [:]
        for (id, item) in try await get(ids, attachments: false, unreadable: &ignored) {
            if let item { result[id] = item.state }
        }
        return result
    }

    // MARK: Writing

    /// Applies a batch. Items the server stopped for a transient reason (ErrorServerBusy on one
    /// item and ErrorBatchProcessingStopped on the rest, a busy mailbox store) were not written,
    /// so they are sent again after the account's advised pause, as long as each try gets some
    /// of them through; only what keeps failing without progress goes back to the engine.
    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        var results = [WriteResult?](repeating: nil, count: batch.count)
        var open = Array(batch.indices)
        var fruitless = 0
        while !open.isEmpty {
            let outcome = try await applyOnce(open.map { batch[$0] })
            var stopped: [Int] = []
            var pause: Duration?
            var cause = ""
            for (slot, result) in zip(open, outcome) {
                results[slot] = result
                if case .failure(let error) = result, let code = error.code, Self.transientCodes.contains(code) {
                    stopped.append(slot)
                    if cause.isEmpty || code != "ErrorBatchProcessingStopped" { cause = code }
                    if let after = error.retryAfter, after > (pause ?? .zero) { pause = after }
                }
            }
            fruitless = stopped.count == open.count ? fruitless + 1 : 0
            guard !stopped.isEmpty, fruitless < client.maxAttempts else { break }
            let wait = pause ?? EWSClient.backoff(fruitless + 1)
            client.ledger.record(cause)
            client.log(.debug, "\(stopped.count) writes for \(client.mailbox) stopped by \(cause); again after \(wait)")
            await client.throttle.pause(for: wait)
            open = stopped
        }
        return results.map { $0 ?? .failure(WriteError(.transient, "no result")) }
    }

    /// One pass over a batch: consecutive operations of one type go out as one request, in order.
    func applyOnce(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        var results = [WriteResult?](repeating: nil, count: batch.count)
        var index = 0
        while index < batch.count {
            var end = index + 1
            while end < batch.count, Self.sameType(batch[end], batch[index]) { end += 1 }
            let group = Array(index..<end)
            let outcome = try await send(group.map { batch[$0] })
            for (slot, result) in zip(group, outcome) { results[slot] = result }
            index = end
        }
        return results.map { $0 ?? .failure(WriteError(.transient, "no result")) }
    }

    static func sameType(_ a: WriteOperation, _ b: WriteOperation) -> Bool {
        switch (a, b) {
        case (.create, .create), (.update, .update), (.delete, .delete): true
        default: false
        }
    }

    func send(_ operations: [WriteOperation]) async throws -> [WriteResult] {
        guard let first = operations.first else { return [] }
        let folderID = try await folder.id()
        switch first {
        case .create where kind == .mail:
            return try await createMails(operations, folderID: folderID)
        case .create:
            let messages = try await client.call("CreateItem") { w in
                var attributes: [(String, String)] = []
                if kind == .mail { attributes.append(("MessageDisposition", "SaveOnly")) }
                if kind == .calendar { attributes.append(("SendMeetingInvitations", "SendToNone")) }
                w.element("m:CreateItem", attributes) { w in
                    w.element("m:SavedItemFolderId") { w in
                        w.start("t:FolderId", [("Id", folderID)])
                        w.end()
                    }
                    w.element("m:Items") { w in
                        for operation in operations {
                            if case .create(let key, let record) = operation {
                                codec.writeItem(record, syncKey: key, &w)
                            }
                        }
                    }
                }
            }
            var created = results(messages, count: operations.count)
            // Series with changed or deleted occurrences: make the occurrences match.
            for (index, operation) in operations.enumerated() {
                guard kind == .calendar, case .create(_, let record) = operation,
                    case .success(let id, _, _) = created[index]
                else { continue }
                do {
                    if let changeKey = try await writeExceptions(masterID: id, record: record, current: nil) {
                        created[index] = .success(id: id, version: changeKey, stored: nil)
                    }
                } catch {
                    // The series is there without its changed occurrences: remove it, so the retry
                    // creates it whole instead of adopting an incomplete copy by its sync key.
                    let removed =
                        (try? await client.call("DeleteItem") { w in
                            w.element(
                                "m:DeleteItem",
                                [("DeleteType", "HardDelete"), ("SendMeetingCancellations", "SendToNone")]
                            ) { w in
                                w.element("m:ItemIds") { w in
                                    w.start("t:ItemId", [("Id", id)])
                                    w.end()
                                }
                            }
                        })?.first?.success == true
                    created[index] = .failure(
                        WriteError(
                            .transient,
                            "the series \(id) was created but its occurrences were not"
                                + (removed ? " (the series was removed again)" : "") + ": \(error)"))
                }
            }
            return created
        case .update:
            var skipped: [Int: WriteResult] = [:]
            var sent: [Int] = []
            var operations = operations
            // A series keeps its occurrences when only they change: compare with the current pattern first.
            var currentSeries: [Int: CalendarEvent] = [:]
            if kind == .calendar {
                let series = operations.enumerated().compactMap { index, operation -> (Int, String)? in
                    if case .update(let id, _, _, let fields) = operation, fields.contains("recurrence") {
                        return (index, id)
                    }
                    return nil
                }
                if !series.isEmpty {
                    var ignored: [UnreadableItem] = []
                    let current = Dictionary(
                        try await get(series.map(\.1), unreadable: &ignored).compactMap { id, item in
                            item.map { (id, $0) }
                        }, uniquingKeysWith: { $1 })
                    for (index, id) in series {
                        guard case .calendar(let event)? = current[id]?.record,
                            case .update(_, let version, let record, var fields) = operations[index],
                            case .calendar(let wanted) = record
                        else { continue }
                        currentSeries[index] = event
                        if let have = event.recurrence, let want = wanted.recurrence, have.pattern == want.pattern,
                            have.range == want.range
                        {
                            fields.remove("recurrence")
                            operations[index] = .update(
                                id: id, expectedVersion: version, record: record, fields: fields)
                        } else {
                            currentSeries[index] = nil
                        }
                    }
                }
            }
            for (index, operation) in operations.enumerated() {
                guard case .update(let id, let version, _, let fields) = operation else { continue }
                if fields.isDisjoint(with: EWSRecordCodec.writable(kind)) {
                    skipped[index] = .success(id: id, version: version ?? "", stored: nil)
                } else {
                    sent.append(index)
                }
            }
            var outcome = [WriteResult?](repeating: nil, count: operations.count)
            for (index, result) in skipped { outcome[index] = result }
            if !sent.isEmpty {
                let messages = try await client.call("UpdateItem") { w in
                    var attributes: [(String, String)] = [("ConflictResolution", "NeverOverwrite")]
                    if kind == .mail { attributes.append(("MessageDisposition", "SaveOnly")) }
                    if kind == .calendar { attributes.append(("SendMeetingInvitationsOrCancellations", "SendToNone")) }
                    w.element("m:UpdateItem", attributes) { w in
                        w.element("m:ItemChanges") { w in
                            for index in sent {
                                guard case .update(let id, let version, let record, let fields) = operations[index]
                                else { continue }
                                w.element("t:ItemChange") { w in
                                    var itemAttributes = [("Id", id)]
                                    if let version { itemAttributes.append(("ChangeKey", version)) }
                                    w.start("t:ItemId", itemAttributes)
                                    w.end()
                                    w.element("t:Updates") { w in codec.writeUpdates(record, fields: fields, &w) }
                                }
                            }
                        }
                    }
                }
                for (index, result) in zip(sent, results(messages, count: sent.count)) { outcome[index] = result }
            }
            for (index, operation) in operations.enumerated() {
                guard kind == .calendar, case .update(let id, _, let record, let fields) = operation,
                    case .success(let newID, _, _)? = outcome[index],
                    fields.contains("recurrence") || currentSeries[index] != nil
                else { continue }
                do {
                    if let changeKey = try await writeExceptions(
                        masterID: newID, record: record, current: currentSeries[index])
                    {
                        outcome[index] = .success(id: newID, version: changeKey, stored: nil)
                    }
                } catch {
                    outcome[index] = .failure(
                        WriteError(.transient, "the occurrences of series \(id) were not updated: \(error)"))
                }
            }
            return outcome.map { $0 ?? .failure(WriteError(.transient, "no result")) }
        case .delete:
            let ids = operations.compactMap { operation -> String? in
                if case .delete(let id) = operation { id } else { nil }
            }
            let messages = try await client.call("DeleteItem") { w in
                var attributes: [(String, String)] = [("DeleteType", deleteType)]
                if kind == .calendar { attributes.append(("SendMeetingCancellations", "SendToNone")) }
                if kind == .task { attributes.append(("AffectedTaskOccurrences", "AllOccurrences")) }
                w.element("m:DeleteItem", attributes) { w in
                    w.element("m:ItemIds") { w in
                        for id in ids {
                            w.start("t:ItemId", [("Id", id)])
                            w.end()
                        }
                    }
                }
            }
            return zip(ids, padded(messages, ids.count)).map { id, message in
                guard let message else { return .failure(WriteError(.transient, "no response for \(id)")) }
                if message.success || message.code == "ErrorItemNotFound" {
                    return .success(id: id, version: "", stored: nil)
                }
                return .failure(Self.writeError(message))
            }
        }
    }

    func padded(_ messages: [EWSResponseMessage], _ count: Int) -> [EWSResponseMessage?] {
        (0..<count).map { $0 < messages.count ? messages[$0] : nil }
    }

    /// One result per input from CreateItem/UpdateItem response messages, in order.
    func results(_ messages: [EWSResponseMessage], count: Int) -> [WriteResult] {
        padded(messages, count).map { message in
            guard let message else {
                return .failure(WriteError(.transient, "the server answered fewer messages than items"))
            }
            guard message.success else { return .failure(Self.writeError(message)) }
            guard let reference = message.element.child("Items")?.children.first?.child("ItemId"),
                let id = reference.attributes["Id"]
            else {
                return .failure(WriteError(.permanent, "the response carries no ItemId"))
            }
            return .success(id: id, version: reference.attributes["ChangeKey"] ?? "", stored: nil)
        }
    }

    static let transientCodes: Set<String> = [
        "ErrorServerBusy", "ErrorBatchProcessingStopped", "ErrorTimeoutExpired", "ErrorMailboxStoreUnavailable",
        "ErrorInternalServerTransientError", "ErrorMailboxMoveInProgress", "ErrorTooManyObjectsOpened",
        "ErrorExceededConnectionCount",
    ]
    /// Answers to GetItem that mean the item is not in this mailbox: deleted, or an id of another
    /// mailbox (refused as foreign, or not an id this server can read).
    static let notHereCodes: Set<String> = [
        "ErrorItemNotFound", "ErrorAccessDenied", "ErrorInvalidIdMalformed", "ErrorInvalidIdNotAnItemAttachmentId",
        "ErrorInvalidIdMalformedEwsLegacyIdFormat", "ErrorInvalidId",
    ]
    static let conflictCodes: Set<String> = [
        "ErrorIrresolvableConflict", "ErrorStaleObject", "ErrorChangeKeyRequired",
        "ErrorChangeKeyRequiredForWriteOperations",
        "ErrorInvalidChangeKey",
    ]

    static func writeError(_ message: EWSResponseMessage) -> WriteError {
        let text = "\(message.code): \(message.text)"
        if message.code == "ErrorItemNotFound" { return WriteError(.notFound, text, code: message.code) }
        if conflictCodes.contains(message.code) { return WriteError(.conflict, text, code: message.code) }
        if transientCodes.contains(message.code) {
            return WriteError(.transient, text, retryAfter: message.backOff, code: message.code)
        }
        return WriteError(.permanent, text, code: message.code)
    }

    // MARK: Adoption

    /// FindItem on the stamped key (ids and keys: FindItem refuses bodies and leaves out recipient
    /// lists), then GetItem of what it found.
    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] {
        let wanted = Set(syncKeys)
        var keyOfID: [String: SyncKey] = [:]
        for element in try await findItems(folderID: try await folder.id(), syncKeys: syncKeys) {
            // Exchange compares case-insensitively; sync keys hold case-sensitive ids.
            if let id = element.child("ItemId")?.attributes["Id"],
                let key = codec.extended(element, EWSRecordCodec.syncKey).map(SyncKey.init(rawValue:)),
                wanted.contains(key)
            {
                keyOfID[id] = key
            }
        }
        guard !keyOfID.isEmpty else { return [:] }
        var result: [SyncKey: ItemState] = [:]
        for (id, state) in try await read(ids: Array(keyOfID.keys)) {
            if let key = keyOfID[id] { result[key] = state }
        }
        return result
    }
}

/// Finds (and creates on demand) the folder an endpoint syncs, once.
actor EWSFolderResolver {
    let client: EWSClient
    let kind: DataKind
    let subfolder: String?
    /// The distinguished folder the endpoint syncs (or holds its subfolder).
    nonisolated let distinguished: String
    var cached: String?

    init(client: EWSClient, kind: DataKind, subfolder: String?, distinguished: String? = nil) {
        self.client = client
        self.kind = kind
        self.subfolder = subfolder
        let base = distinguished ?? EWSRecordCodec.distinguishedFolder(kind)
        self.distinguished = base
        spec = subfolder.map { "\(base)/\($0)" } ?? base
    }

    /// The folder this resolver finds, as stored in cursors.
    nonisolated let spec: String

    /// Takes an id remembered from an earlier run (unless one was resolved already) and returns the id in use.
    func prime(_ id: String) -> String {
        if cached == nil { cached = id }
        return cached!
    }

    /// Drops the remembered id, so the next ``id()`` asks Exchange again.
    func forget() { cached = nil }

    func id() async throws -> String {
        if let cached { return cached }
        let client = self.client
        let parent = try await client.folderID(distinguished: distinguished)
        guard let subfolder else {
            cached = parent
            return parent
        }
        // A refused listing is an error, never a reason to create the folder a second time.
        let found = try await client.findFolders(
            "Shallow", property: "folder:DisplayName", what: "the folders under \(distinguished)"
        ) { w in
            w.start("t:FolderId", [("Id", parent)])
            w.end()
        }
        if let match = found.first(where: {
            $0.string("DisplayName")?.caseInsensitiveCompare(subfolder) == .orderedSame
        }), let id = match.child("FolderId")?.attributes["Id"] {
            cached = id
            return id
        }
        let folderElement =
            ["address": "ContactsFolder", "calendar": "CalendarFolder", "task": "TasksFolder"][kind.rawValue]
            ?? "Folder"
        let folderClass = EWSRecordCodec.folderClass(kind)
        let created = try await client.call("CreateFolder") { w in
            w.element("m:CreateFolder") { w in
                w.element("m:ParentFolderId") { w in
                    w.start("t:FolderId", [("Id", parent)])
                    w.end()
                }
                w.element("m:Folders") { w in
                    w.element("t:\(folderElement)") { w in
                        w.element("t:FolderClass", folderClass)
                        w.element("t:DisplayName", subfolder)
                    }
                }
            }
        }
        guard let message = created.first, message.success,
            let id = message.element.child("Folders")?.children.first?.child("FolderId")?.attributes["Id"]
        else {
            throw EWSFault(
                code: created.first?.code ?? "no response",
                message: "cannot create the folder '\(subfolder)' in \(client.mailbox): \(created.first?.text ?? "")",
                httpStatus: 200)
        }
        client.log(.notice, "created the folder '\(subfolder)' in \(client.mailbox)")
        cached = id
        return id
    }
}
