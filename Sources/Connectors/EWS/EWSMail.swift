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
    /// Directory for attachments read from Exchange until the other side has stored them.
    var spool: URL

    /// The folder records of this endpoint belong to.
    var mailFolder: MailFolder { folder == "sentitems" ? .sentItems : .inbox }
}

extension EWSRecordCodec {
    /// Content references of attachments still in Exchange: the prefix, then the AttachmentId.
    static let attachmentReference = "ews-attachment:"
}

extension EWSEndpoint {
    // MARK: Reading mails

    /// Prepares mails read from Exchange for the other side: the endpoint's folder, attachments
    /// fetched into spool files (streamed, never whole in memory).
    func completeMails(_ items: [EWSItem]) async throws -> [EWSItem] {
        guard let mail else { return items }
        var result: [EWSItem] = []
        for var item in items {
            guard case .mail(var message) = item.record else {
                result.append(item)
                continue
            }
            message.folder = mail.mailFolder
            for index in message.attachments.indices {
                guard case .reference(let reference) = message.attachments[index].content,
                    reference.hasPrefix(EWSRecordCodec.attachmentReference)
                else { continue }
                let attachmentID = String(reference.dropFirst(EWSRecordCodec.attachmentReference.count))
                let file = try await fetchAttachment(attachmentID, into: mail.spool)
                message.attachments[index].content = .file(path: file.path)
                if let size = try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64 {
                    message.attachments[index].size = size
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
        try? FileManager.default.removeItem(at: mail.spool)
    }

    /// GetAttachment of one file attachment, its base64 content decoded into a spool file as the
    /// response streams in (the content is never whole in memory, neither as text nor as bytes).
    func fetchAttachment(_ attachmentID: String, into directory: URL) async throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(UUID().uuidString)
        let request = client.envelope { w in
            w.element("m:GetAttachment") { w in
                w.element("m:AttachmentIds") { w in
                    w.start("t:AttachmentId", [("Id", attachmentID)])
                    w.end()
                }
            }
        }
        let spool = SpoolFile(file)
        defer { spool.close() }
        let messages = try await client.call("GetAttachment", parts: [.data(request)]) {
            // Each attempt (a throttled one is repeated) starts the file again.
            spool.restart()
            return { path in
                path.last == "Content" && path.dropLast().last == "FileAttachment" ? spool.decoder : nil
            }
        }
        guard let message = messages.first else {
            throw EWSError.protocolError("GetAttachment returned no response message")
        }
        guard message.success,
            let attachment = message.element.child("Attachments")?.children.first(where: { $0.name == "FileAttachment" }
            )
        else {
            throw EWSFault(
                code: message.code.isEmpty ? "ErrorInvalidRequest" : message.code,
                message: "cannot read attachment \(attachmentID) in \(client.mailbox): \(message.text)",
                backOff: message.backOff, httpStatus: 200)
        }
        _ = attachment
        if let failure = spool.failure {
            throw EWSError.protocolError(
                "attachment \(attachmentID) of \(client.mailbox) could not be spooled: \(failure)")
        }
        return file
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
            for (key, state) in try await findMails(messageIDs: Array(byMessage.keys), folderIDs: [folderID]) {
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
                for attachment in message.attachments {
                    changeKey = try await createAttachment(attachment, itemID: id, changeKey: changeKey)
                }
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
                    (error as? EWSFault).map { $0.isThrottling ? .transient : .permanent } ?? .transient
                outcome[index] = .failure(
                    WriteError(kind, "mail '\(message.displayName)': an attachment could not be added: \(error)"))
            }
        }
        return outcome.map { $0 ?? .failure(WriteError(.transient, "no result")) }
    }

    /// CreateAttachment of one file; answers the item's new ChangeKey. A spooled file goes out as
    /// base64 read from disk while the request is sent.
    func createAttachment(_ attachment: MailAttachment, itemID: String, changeKey: String) async throws -> String {
        let placeholder = "@@content-\(UUID().uuidString)@@"
        var content: HTTPBodyPart
        switch attachment.content {
        case .inline(let data): content = .data(Data(data.base64EncodedString().utf8))
        case .file(let path):
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw EWSError.protocolError("attachment '\(attachment.name)': cannot read \(path)")
            }
            content = .base64File(path: path)
        case .reference(let reference):
            throw EWSError.protocolError("attachment '\(attachment.name)': content \(reference) was not fetched")
        }
        let request = client.envelope { w in
            w.element("m:CreateAttachment") { w in
                w.start("m:ParentItemId", [("Id", itemID), ("ChangeKey", changeKey)])
                w.end()
                w.element("m:Attachments") { w in
                    w.element("t:FileAttachment") { w in
                        w.element("t:Name", attachment.name)
                        w.element("t:ContentType", attachment.mediaType)
                        w.element("t:ContentId", ifPresent: attachment.contentID)
                        if attachment.contentID != nil { w.element("t:IsInline", "true") }
                        w.element("t:Content", placeholder)
                    }
                }
            }
        }
        guard let marker = request.range(of: Data(placeholder.utf8)) else {
            throw EWSError.protocolError("the CreateAttachment request could not be built")
        }
        let parts: [HTTPBodyPart] = [
            .data(request.subdata(in: request.startIndex..<marker.lowerBound)), content,
            .data(request.subdata(in: marker.upperBound..<request.endIndex)),
        ]
        let messages = try await client.call("CreateAttachment", parts: parts, streamText: { nil })
        guard let message = messages.first, message.success,
            let reference = message.element.child("Attachments")?.children.first?.child("AttachmentId"),
            let newKey = reference.attributes["RootItemChangeKey"]
        else {
            let message = messages.first
            throw EWSFault(
                code: message?.code ?? "no response",
                message: "CreateAttachment '\(attachment.name)' failed: \(message?.text ?? "")",
                backOff: message?.backOff, httpStatus: 200)
        }
        return newKey
    }

    // MARK: Finding mails

    /// Mails in the given folders by message-id (as given), with the state FindItem can show.
    func findMails(messageIDs: [String], syncKeys: [SyncKey] = [], folderIDs: [String]) async throws -> [String:
        ItemState]
    {
        var result: [String: ItemState] = [:]
        let wanted = Dictionary(
            messageIDs.compactMap { id in MailMessage.normalizedMessageID(id).map { ($0, id) } },
            uniquingKeysWith: { first, _ in first })
        let keys = Set(syncKeys)
        for folderID in folderIDs {
            for element in try await findItems(folderID: folderID, messageIDs: messageIDs, syncKeys: syncKeys) {
                let item = try codec.decode(element, kind: .mail)
                guard case .mail(let message) = item.record else { continue }
                let state = ItemState(
                    id: item.id, version: item.changeKey, record: item.record, modifiedAt: item.modified,
                    syncKey: item.syncKey)
                if let key = message.matchKey, let asked = wanted[key] { result[asked] = state }
                if let key = item.syncKey, keys.contains(key) { result["key:" + key.rawValue] = state }
            }
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
                throw EWSFault(code: message.code, message: message.text, backOff: message.backOff, httpStatus: 200)
            }
            items += message.element.child("RootFolder")?.child("Items")?.children ?? []
        }
        return items
    }

    /// Ids of every mail folder of the mailbox (under the top of the information store) and of
    /// Deleted Items, for following moved mails.
    func mailFolders() async throws -> (all: [String], deleted: String?) {
        let messages = try await client.call("FindFolder") { w in
            w.element("m:FindFolder", [("Traversal", "Deep")]) { w in
                w.element("m:FolderShape") { w in
                    w.element("t:BaseShape", "IdOnly")
                    w.element("t:AdditionalProperties") { w in
                        w.start("t:FieldURI", [("FieldURI", "folder:FolderClass")])
                        w.end()
                    }
                }
                w.element("m:ParentFolderIds") { w in client.distinguishedFolder("msgfolderroot", &w) }
            }
        }
        guard let message = messages.first, message.success else {
            throw EWSFault(
                code: messages.first?.code ?? "no response",
                message: "cannot list the mail folders of \(client.mailbox): \(messages.first?.text ?? "")",
                httpStatus: 200)
        }
        let folders = message.element.child("RootFolder")?.child("Folders")?.children ?? []
        let all = folders.compactMap { folder -> String? in
            let folderClass = folder.string("FolderClass") ?? "IPF.Note"
            guard folderClass.isEmpty || folderClass.hasPrefix("IPF.Note") else { return nil }
            return folder.child("FolderId")?.attributes["Id"]
        }
        let deleted = try await distinguishedFolderID("deleteditems")
        return (all, deleted)
    }

    func distinguishedFolderID(_ name: String) async throws -> String? {
        let messages = try await client.call("GetFolder") { w in
            w.element("m:GetFolder") { w in
                w.element("m:FolderShape") { w in w.element("t:BaseShape", "IdOnly") }
                w.element("m:FolderIds") { w in client.distinguishedFolder(name, &w) }
            }
        }
        return messages.first?.element.child("Folders")?.children.first?.child("FolderId")?.attributes["Id"]
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
            let found = try await findMails(messageIDs: messageIDs, syncKeys: keys, folderIDs: [folderID])
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

/// A spool file that GetAttachment's streamed content is decoded into.
final class SpoolFile: @unchecked Sendable {
    let url: URL
    var handle: FileHandle?
    var decoder: Base64StreamDecoder?
    var failure: Error?

    init(_ url: URL) { self.url = url }

    /// Empties the file and makes a fresh decoder writing into it.
    func restart() {
        close()
        failure = nil
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        guard let handle = try? FileHandle(forWritingTo: url) else {
            failure = EWSError.protocolError("cannot write \(url.path)")
            decoder = nil
            return
        }
        self.handle = handle
        decoder = Base64StreamDecoder { [unowned self] bytes in
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
