import AdapterSupport
import ConnectorAPI
import EWS
import Foundation
import HTTP
import XML

/// How an EWS endpoint of the mail kind works: which folder, which mails, where attachments wait.
struct EWSMailOptions: Sendable {
    /// Distinguished folder: `inbox` (received mails) or `sentitems` (sent mails).
    var folder: String
    /// Mails received longer ago than this are not imported (nil: all).
    var window: TimeInterval?
    /// This endpoint's folder in the adapter's spool, for attachments read from Exchange until
    /// the other side has stored them.
    var spool: URL

    /// The folder records of this endpoint belong to.
    var mailFolder: MailFolder { folder == "sentitems" ? .sentItems : .inbox }
}

extension EWSRecordCodec {
    /// Content references of attachments still in Exchange: the prefix, then the AttachmentId.
    static let attachmentReference = "ews-attachment:"

    /// The file name of an attached item stored as a message file: its name (the subject, as
    /// Exchange names it) with `.eml`; an attached Outlook `.msg` becomes `.eml`, since what is
    /// stored is the MIME form.
    static func emlName(_ name: String?) -> String {
        var base = (name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        for suffix in [".eml", ".msg"] where base.lowercased().hasSuffix(suffix) { base.removeLast(suffix.count) }
        return (base.isEmpty ? "Nachricht" : base) + ".eml"
    }
}

extension EWSEndpoint {
    // MARK: Reading mails

    /// Prepares mails read from Exchange for the other side: the endpoint's folder, attachments
    /// fetched into spool files (streamed, never whole in memory; up to 20 per GetAttachment). A mail
    /// whose attachment Exchange refuses is left out and reported as unreadable with the reason;
    /// the other mails go on. Without `fetch`, attachments stay references to Exchange.
    func completeMails(_ items: [EWSItem], fetch: Bool = true, unreadable: inout [UnreadableItem]) async throws
        -> [EWSItem]
    {
        guard let mail else { return items }
        var wanted: [String] = []
        for item in items where fetch {
            guard case .mail(let message) = item.record else { continue }
            for attachment in message.attachments {
                if case .reference(let reference) = attachment.content,
                    reference.hasPrefix(EWSRecordCodec.attachmentReference)
                {
                    wanted.append(String(reference.dropFirst(EWSRecordCodec.attachmentReference.count)))
                }
            }
        }
        var fetched: [String: Result<URL, EWSFault>] = [:]
        for batch in wanted.chunked(into: 20) {
            fetched.merge(try await fetchAttachments(Array(batch), into: mail.spool)) { $1 }
        }
        var result: [EWSItem] = []
        items: for var item in items {
            guard case .mail(var message) = item.record else {
                result.append(item)
                continue
            }
            message.folder = mail.mailFolder
            for index in message.attachments.indices {
                guard case .reference(let reference) = message.attachments[index].content,
                    let outcome = fetched[String(reference.dropFirst(EWSRecordCodec.attachmentReference.count))]
                else { continue }
                switch outcome {
                case .success(let file):
                    message.attachments[index].content = .file(path: file.path)
                    if let size = try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64 {
                        message.attachments[index].size = size
                    }
                case .failure(let fault):
                    unreadable.append(
                        UnreadableItem(
                            id: item.id, name: message.displayName,
                            reason:
                                "its attachment '\(message.attachments[index].name)' cannot be read from \(client.mailbox): \(fault)"
                        ))
                    continue items
                }
            }
            item.record = .mail(message)
            result.append(item)
        }
        return result
    }

    /// Empties the spool of this endpoint (the previous run's attachments are stored by now).
    func clearSpool() {
        guard let mail else { return }
        SpoolDirectory.empty(mail.spool)
    }

    /// GetAttachment of file and item attachments, each file's content (or attached item's MIME
    /// form) decoded into its own spool file as the response streams in (never whole in memory,
    /// neither as text nor as bytes). Answers a file, or Exchange's refusal, per attachment id; a
    /// failure of the whole request throws.
    func fetchAttachments(_ ids: [String], into directory: URL) async throws -> [String: Result<URL, EWSFault>] {
        guard !ids.isEmpty else { return [:] }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let request = client.envelope { w in
            w.element("m:GetAttachment") { w in
                // Applies to item attachments only: their MIME form is what is stored.
                w.element("m:AttachmentShape") { w in w.element("t:IncludeMimeContent", "true") }
                w.element("m:AttachmentIds") { w in
                    for id in ids {
                        w.start("t:AttachmentId", [("Id", id)])
                        w.end()
                    }
                }
            }
        }
        let spool = SpoolFiles(ids.map { _ in SpoolDirectory.file(in: directory) })
        defer { spool.close() }
        let messages = try await client.call("GetAttachment", parts: [.data(request)]) {
            // Each attempt (a throttled one is repeated) starts the files again.
            spool.restart()
            return { path in
                // One response message per id, in order; its content goes to that id's file.
                if path.last == "GetAttachmentResponseMessage" { spool.nextMessage() }
                let isFile = path.last == "Content" && path.dropLast().last == "FileAttachment"
                let isItem = path.last == "MimeContent" && path.dropLast(2).last == "ItemAttachment"
                return isFile || isItem ? spool.decoder() : nil
            }
        }
        if let failure = spool.failure {
            throw EWSError.protocolError("attachments of \(client.mailbox) could not be spooled: \(failure)")
        }
        var result: [String: Result<URL, EWSFault>] = [:]
        for (index, id) in ids.enumerated() {
            let message = index < messages.count ? messages[index] : nil
            let kind = message?.element.child("Attachments")?.children.first?.name
            if let message, message.success, kind == "FileAttachment" || kind == "ItemAttachment" {
                guard FileManager.default.fileExists(atPath: spool.urls[index].path) else {
                    // No Content (MimeContent for an attached item): storing nothing would lose it.
                    result[id] = .failure(
                        EWSFault(
                            code: "no content",
                            message: "GetAttachment answered the \(kind ?? "attachment") without its content",
                            backOff: nil, httpStatus: 200))
                    continue
                }
                result[id] = .success(spool.urls[index])
            } else {
                result[id] = .failure(
                    EWSFault(
                        code: message.map { $0.code.isEmpty ? "ErrorInvalidRequest" : $0.code } ?? "no response",
                        message: message?.text ?? "GetAttachment answered fewer messages than attachments asked for",
                        backOff: message?.backOff, httpStatus: 200))
            }
        }
        return result
    }

    /// Whether an unmapped mail of this change set is outside the import window.
    func isTooOld(_ received: Date?, now: Date = Date()) -> Bool {
        guard let window = mail?.window, let received else { return false }
        return received < now.addingTimeInterval(-window)
    }

    // MARK: Placing mails

    /// Places mails (CreateItem SaveOnly into the folder, then their attachments); a mail whose
    /// message-id is already in the folder is not placed twice but answered with the one there.
    func createMails(_ operations: [WriteOperation], folderID: String) async throws -> [WriteResult] {
        var outcome = [WriteResult?](repeating: nil, count: operations.count)
        var byMessage: [String: Int] = [:]
        for (index, operation) in operations.enumerated() {
            if case .create(_, .mail(let message)) = operation, let key = message.messageID {
                byMessage[key] = index
            }
        }
        if !byMessage.isEmpty {
            for (key, state) in try await findMails(messageIDs: Array(byMessage.keys), folderID: folderID) {
                if let index = byMessage[key] {
                    outcome[index] = .success(id: state.id, version: state.version, stored: nil)
                }
            }
        }
        let pending = operations.indices.filter { outcome[$0] == nil }
        guard !pending.isEmpty else { return outcome.map { $0! } }
        let messages = try await client.call("CreateItem") { w in
            w.element("m:CreateItem", [("MessageDisposition", "SaveOnly")]) { w in
                w.element("m:SavedItemFolderId") { w in
                    w.start("t:FolderId", [("Id", folderID)])
                    w.end()
                }
                w.element("m:Items") { w in
                    for index in pending {
                        if case .create(let key, let record) = operations[index] {
                            codec.writeItem(record, syncKey: key, &w)
                        }
                    }
                }
            }
        }
        for (index, result) in zip(pending, results(messages, count: pending.count)) {
            outcome[index] = result
            guard case .success(let id, var changeKey, _) = result,
                case .create(_, .mail(let message)) = operations[index], !message.attachments.isEmpty
            else { continue }
            do {
                changeKey = try await createAttachments(message.attachments, itemID: id, changeKey: changeKey)
                outcome[index] = .success(id: id, version: changeKey, stored: nil)
            } catch {
                // The mail is there without all attachments: remove it, so the retry places it whole.
                _ = try? await client.call("DeleteItem") { w in
                    w.element("m:DeleteItem", [("DeleteType", "HardDelete")]) { w in
                        w.element("m:ItemIds") { w in
                            w.start("t:ItemId", [("Id", id)])
                            w.end()
                        }
                    }
                }
                let kind: WriteError.Kind =
                    (error as? EWSFault).map { $0.isTransient ? .transient : .permanent } ?? .transient
                outcome[index] = .failure(
                    WriteError(kind, "mail '\(message.displayName)': an attachment could not be added: \(error)"))
            }
        }
        return outcome.map { $0 ?? .failure(WriteError(.transient, "no result")) }
    }

    /// One CreateAttachment with all of a mail's files; answers the item's new ChangeKey. Spooled
    /// files go out as base64 read from disk while the request is sent.
    func createAttachments(_ attachments: [MailAttachment], itemID: String, changeKey: String) async throws -> String {
        let placeholder = "@@content-\(UUID().uuidString)-"
        var contents: [HTTPBodyPart] = []
        for attachment in attachments {
            switch attachment.content {
            case .inline(let data): contents.append(.data(Data(data.base64EncodedString().utf8)))
            case .file(let path):
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw EWSError.protocolError("attachment '\(attachment.name)': cannot read \(path)")
                }
                contents.append(.base64File(path: path))
            case .reference(let reference):
                throw EWSError.protocolError("attachment '\(attachment.name)': content \(reference) was not fetched")
            }
        }
        let request = client.envelope { w in
            w.element("m:CreateAttachment") { w in
                w.start("m:ParentItemId", [("Id", itemID), ("ChangeKey", changeKey)])
                w.end()
                w.element("m:Attachments") { w in
                    for (index, attachment) in attachments.enumerated() {
                        w.element("t:FileAttachment") { w in
                            w.element("t:Name", attachment.name)
                            w.element("t:ContentType", attachment.mediaType)
                            w.element("t:ContentId", ifPresent: attachment.contentID)
                            if attachment.contentID != nil { w.element("t:IsInline", "true") }
                            w.element("t:Content", "\(placeholder)\(index)@@")
                        }
                    }
                }
            }
        }
        // The request cut at each placeholder, the contents in between.
        var parts: [HTTPBodyPart] = []
        var rest = request[...]
        for (index, content) in contents.enumerated() {
            guard let marker = rest.range(of: Data("\(placeholder)\(index)@@".utf8)) else {
                throw EWSError.protocolError("the CreateAttachment request could not be built")
            }
            parts += [.data(Data(rest[rest.startIndex..<marker.lowerBound])), content]
            rest = rest[marker.upperBound...]
        }
        parts.append(.data(Data(rest)))
        let messages = try await client.call("CreateAttachment", parts: parts, streamText: { nil })
        // One message per attachment; each is saved as a version of the item, the last one's key is current.
        for (index, attachment) in attachments.enumerated() {
            let message = index < messages.count ? messages[index] : nil
            guard let message, message.success else {
                throw EWSFault(
                    code: message?.code ?? "no response",
                    message: "CreateAttachment '\(attachment.name)' failed: \(message?.text ?? "")",
                    backOff: message?.backOff, httpStatus: 200)
            }
        }
        guard
            let newKey = messages.last?.element.child("Attachments")?.children.first?.child("AttachmentId")?.attributes[
                "RootItemChangeKey"]
        else {
            throw EWSError.protocolError("CreateAttachment answered without the item's new ChangeKey")
        }
        return newKey
    }

    // MARK: Finding mails

    /// Mails in a folder by message-id (keyed as asked) and stamped key (keyed `key:<key>`), with the
    /// state FindItem can show.
    func findMails(messageIDs: [String], syncKeys: [SyncKey] = [], folderID: String) async throws -> [String:
        ItemState]
    {
        var result: [String: ItemState] = [:]
        let wanted = Dictionary(
            messageIDs.compactMap { id in MailMessage.normalizedMessageID(id).map { ($0, id) } },
            uniquingKeysWith: { first, _ in first })
        let keys = Set(syncKeys)
        for element in try await findItems(folderID: folderID, messageIDs: messageIDs, syncKeys: syncKeys) {
            let item = try codec.decode(element, kind: .mail)
            guard case .mail(let message) = item.record else { continue }
            let state = item.state
            if let key = message.matchKey, let asked = wanted[key] { result[asked] = state }
            if let key = item.syncKey, keys.contains(key) { result["key:" + key.rawValue] = state }
        }
        return result
    }

    /// FindItem in one folder for any of the message-ids or stamped keys (50 per request). The
    /// items carry what FindItem can show: ids, the stamped key and, for mail, subject, dates,
    /// message-id and read flag (never bodies or recipient lists, which FindItem refuses or omits).
    func findItems(folderID: String, messageIDs: [String] = [], syncKeys: [SyncKey]) async throws -> [XMLElement] {
        enum Term {
            case message(String)
            case key(SyncKey)
        }
        let terms = messageIDs.map(Term.message) + syncKeys.map(Term.key)
        let shown =
            kind == .mail
            ? [
                "item:Subject", "item:DateTimeReceived", "item:LastModifiedTime", "message:InternetMessageId",
                "message:IsRead",
            ] : []
        var items: [XMLElement] = []
        for start in stride(from: 0, to: terms.count, by: 50) {
            let chunk = Array(terms[start..<min(start + 50, terms.count)])
            let messages = try await client.call("FindItem") { w in
                w.element("m:FindItem", [("Traversal", "Shallow")]) { w in
                    w.element("m:ItemShape") { w in
                        w.element("t:BaseShape", "IdOnly")
                        w.element("t:AdditionalProperties") { w in
                            for uri in shown {
                                w.start("t:FieldURI", [("FieldURI", uri)])
                                w.end()
                            }
                            EWSRecordCodec.syncKey.writeURI(&w)
                        }
                    }
                    w.start(
                        "m:IndexedPageItemView",
                        [("MaxEntriesReturned", "1000"), ("Offset", "0"), ("BasePoint", "Beginning")]
                    )
                    w.end()
                    w.element("m:Restriction") { w in
                        func equal(_ term: Term, _ w: inout XMLWriter) {
                            w.element("t:IsEqualTo") { w in
                                switch term {
                                case .message:
                                    w.start("t:FieldURI", [("FieldURI", "message:InternetMessageId")])
                                    w.end()
                                case .key: EWSRecordCodec.syncKey.writeURI(&w)
                                }
                                let value: String =
                                    switch term {
                                    case .message(let id): id
                                    case .key(let key): key.rawValue
                                    }
                                w.element("t:FieldURIOrConstant") { w in
                                    w.start("t:Constant", [("Value", value)])
                                    w.end()
                                }
                            }
                        }
                        if chunk.count == 1 {
                            equal(chunk[0], &w)
                        } else {
                            w.element("t:Or") { w in for term in chunk { equal(term, &w) } }
                        }
                    }
                    w.element("m:ParentFolderIds") { w in
                        w.start("t:FolderId", [("Id", folderID)])
                        w.end()
                    }
                }
            }
            guard let message = messages.first else { continue }
            guard message.success else {
                throw EWSFault(
                    code: message.code,
                    message:
                        "cannot search a mail folder of \(client.mailbox) for mails by key or message-id: \(message.text)",
                    backOff: message.backOff, httpStatus: 200)
            }
            items += message.element.child("RootFolder")?.child("Items")?.children ?? []
        }
        return items
    }

    /// Ids of every mail folder of the mailbox (under the top of the information store) and of
    /// Deleted Items, for following moved mails.
    func mailFolders() async throws -> (all: [String], deleted: String) {
        let client = self.client
        let folders = try await client.findFolders(
            "Deep", property: "folder:FolderClass", what: "the mail folders"
        ) { w in client.distinguishedFolder("msgfolderroot", &w) }
        let all = folders.compactMap { folder -> String? in
            let folderClass = folder.string("FolderClass") ?? "IPF.Note"
            guard folderClass.isEmpty || folderClass.hasPrefix("IPF.Note") else { return nil }
            return folder.child("FolderId")?.attributes["Id"]
        }
        return (all, try await client.folderID(distinguished: "deleteditems"))
    }
}

extension EWSEndpoint: RelocatingEndpoint {
    /// Looks for mails that left the synced folder in every mail folder of the mailbox, by their
    /// stamped key and their message-id. Found in Deleted Items (or nowhere): deleted.
    func relocate(_ lost: [LostItem]) async throws -> [ItemID: Relocation] {
        guard kind == .mail, !lost.isEmpty else { return [:] }
        let messageIDs = lost.compactMap { item -> String? in
            if case .mail(let message)? = item.counterpart { return message.messageID }
            return nil
        }
        let keys = lost.compactMap(\.syncKey)
        let folders = try await mailFolders()
        let own = try await folder.id()
        var answers: [ItemID: Relocation] = [:]
        for folderID in folders.all where folderID != own {
            let found = try await findMails(messageIDs: messageIDs, syncKeys: keys, folderID: folderID)
            guard !found.isEmpty else { continue }
            for item in lost where answers[item.id] == nil {
                var state: ItemState?
                if let key = item.syncKey { state = found["key:" + key.rawValue] }
                if state == nil, case .mail(let message)? = item.counterpart, let id = message.messageID {
                    state = found[id]
                }
                guard var state else { continue }
                if folderID == folders.deleted {
                    answers[item.id] = .deleted
                } else {
                    if case .mail(var message) = state.record, let mail {
                        // Filed away: it keeps the place (incoming or sent) it had.
                        message.folder = mail.mailFolder
                        state.record = .mail(message)
                    }
                    answers[item.id] = .moved(state)
                }
            }
        }
        return answers
    }
}

/// The spool files one GetAttachment's contents are decoded into, one per response message.
final class SpoolFiles: @unchecked Sendable {
    let urls: [URL]
    var message = -1
    var handle: FileHandle?
    var failure: Error?

    init(_ urls: [URL]) { self.urls = urls }

    /// Starts over: the next response message is the first.
    func restart() {
        close()
        message = -1
        failure = nil
    }

    /// A response message begins.
    func nextMessage() { message += 1 }

    /// A decoder writing the current message's content into its (emptied) file.
    func decoder() -> Base64StreamDecoder? {
        close()
        guard urls.indices.contains(message) else { return nil }
        let url = urls[message]
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        guard let handle = try? FileHandle(forWritingTo: url) else {
            failure = EWSError.protocolError("cannot write \(url.path)")
            return nil
        }
        self.handle = handle
        return Base64StreamDecoder { [unowned self] bytes in
            do { try handle.write(contentsOf: bytes) } catch {
                self.failure = error
                throw error
            }
        }
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}
