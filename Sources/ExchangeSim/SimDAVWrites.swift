import ExchangeWebDAV
import Foundation
import XML

/// The writing and reading methods of the WebDAV front: PROPPATCH (which creates an item that is
/// not there yet), PUT and GET of MIME with `Translate: f`, DELETE, BDELETE, MOVE and X-MS-ENUMATTS.
extension SimService {
    /// Properties a client cannot set (Exchange answers 403 for them).
    static let readOnlyDAVProperties: Set<String> = [
        DAVProperty.getETag, DAVProperty.getLastModified, DAVProperty.href, DAVProperty.creationDate,
        DAVProperty.isFolder, DAVProperty.replUID, DAVProperty.permanentURL, DAVProperty.urlCompName,
        DAVProperty.articleNumber, DAVProperty.getContentLength, DAVProperty.uid,
    ]

    /// `If-Match` / `If-None-Match` against the item as it is (nil: absent): 412 when they fail.
    func checkConditions(_ request: SimDAVRequest, _ existing: SimDAVItem?, name: String) throws {
        if let match = request.headers["if-match"]?.trimmingCharacters(in: .whitespaces) {
            let tags = match.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let existing, match == "*" || tags.contains(existing.etag) else {
                throw SimDAVError(
                    412, existing == nil ? "\(name) does not exist (If-Match)" : "\(name) has changed (If-Match)")
            }
        }
        if let noneMatch = request.headers["if-none-match"]?.trimmingCharacters(in: .whitespaces), let existing {
            let tags = noneMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if noneMatch == "*" || tags.contains(existing.etag) {
                throw SimDAVError(412, "\(name) exists (If-None-Match)")
            }
        }
    }

    /// A mailbox whose quota is used up answers 507 to every write.
    func checkQuota(_ mailbox: SimDAVMailbox) throws {
        if options.davQuotaExceeded.contains(mailbox.address) {
            throw SimDAVError(507, "The mailbox \(mailbox.address) has exceeded its storage quota")
        }
    }

    static func defaultMessageClass(folderClass: String) -> String {
        switch folderClass {
        case "IPF.Contact": "IPM.Contact"
        case "IPF.Task": "IPM.Task"
        case "IPF.Appointment": "IPM.Appointment"
        default: "IPM.Note"
        }
    }

    /// Stores a new or changed item and marks the folder changed.
    func store(
        _ item: inout SimDAVItem, in mailbox: SimDAVMailbox, _ key: String, account: String?, now: Date = Date()
    ) {
        item.version += 1
        item.modified = max(now, item.modified.addingTimeInterval(0.001))
        item.articleNumber = mailbox.nextArticle()
        mailbox.folders[key]!.items[item.name.lowercased()] = item
        mailbox.folders[key]!.contentTag += 1
        mailbox.folders[key]!.modified = now
        if let account { countDAVWrite(mailbox, key, account) }
    }

    func newItem(name: String, mailbox: SimDAVMailbox, key: String, now: Date = Date()) -> SimDAVItem {
        SimDAVItem(
            name: name,
            properties: [
                DAVProperty.messageClass: .string(
                    Self.defaultMessageClass(folderClass: mailbox.folders[key]!.folderClass))
            ],
            replUID: SimDAVMailbox.newReplUID(), version: 0, created: now, modified: now, articleNumber: 0)
    }

    func writeHeaders(_ item: SimDAVItem) -> [(String, String)] {
        [("Repl-UID", "<\(item.replUID)>"), ("ResourceTag", "<rt:\(item.replUID.dropFirst(4))\(item.version)>")]
    }

    func proppatch(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        guard case .item(let mailbox, let key, let name) = target else {
            throw SimDAVError(403, "PROPPATCH on a folder is not supported by this simulator")
        }
        try checkQuota(mailbox)
        let existing = mailbox.folders[key]!.items[name.lowercased()]
        try checkConditions(request, existing, name: name)
        let root = try parseDAVBody(request.body)
        guard root.name == "propertyupdate" else { throw SimDAVError(400, "a PROPPATCH body is a DAV:propertyupdate") }
        var changes: [(name: String, value: DAVValue?)] = []
        for operation in root.children where operation.name == "set" || operation.name == "remove" {
            for property in operation.child("prop")?.children ?? [] {
                changes.append((Self.propertyName(property), operation.name == "set" ? DAVValue.parse(property) : nil))
            }
        }
        let refused = changes.filter { Self.readOnlyDAVProperties.contains($0.name) }
        var writer = writer(request)
        let href = itemURL(request.base, mailbox, key, existing?.name ?? name)
        guard refused.isEmpty else {
            // PROPPATCH is all or nothing: the refused properties 403, the others 424.
            writer.response(
                href: href,
                found: [],
                failed: changes.map { ($0.name, Self.readOnlyDAVProperties.contains($0.name) ? 403 : 424) })
            return .multistatus(writer)
        }
        var item = existing ?? newItem(name: name, mailbox: mailbox, key: key)
        for change in changes {
            if let value = change.value {
                item.properties[change.name] = value
            } else {
                item.properties[change.name] = nil
            }
        }
        // A change of what the MIME says (start, subject, rule …) leaves the item without its
        // internet content, as an edit in Outlook does; GET then makes MIME from the properties.
        if changes.contains(where: { SimDAVCalendar.promotedNames.contains($0.name) }) { item.mime = nil }
        store(&item, in: mailbox, key, account: request.account)
        writer.response(
            href: href, status: existing == nil ? 201 : nil,
            found: changes.map { ($0.name, nil, DAVValue.string("")) })
        return .multistatus(writer, headers: writeHeaders(item))
    }

    func put(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        guard case .item(let mailbox, let key, let name) = target else {
            throw SimDAVError(405, "PUT goes to an item URL")
        }
        guard request.headers["translate"]?.lowercased() == "f" else {
            throw SimDAVError(403, "PUT to the store needs 'Translate: f'")
        }
        try checkQuota(mailbox)
        let existing = mailbox.folders[key]!.items[name.lowercased()]
        try checkConditions(request, existing, name: name)
        var item = existing ?? newItem(name: name, mailbox: mailbox, key: key)
        try promote(request.body, into: &item, folderClass: mailbox.folders[key]!.folderClass)
        store(&item, in: mailbox, key, account: request.account)
        return SimDAVAnswer(
            existing == nil ? 201 : 200, headers: writeHeaders(item) + [("GetETag", item.etag), ("ETag", item.etag)])
    }

    /// Reads a PUT's MIME into the item: an appointment's calendar part, or a mail's headers, body
    /// and attachments, as Exchange promotes them into properties.
    func promote(_ mime: Data, into item: inout SimDAVItem, folderClass: String) throws {
        let (headers, _) = DAVMIME.split(mime)
        let contentClass = headers["content-class"]?.lowercased() ?? ""
        if folderClass == "IPF.Appointment" || contentClass.contains("appointment") {
            guard let calendar = DAVMIME.calendarPart(of: mime) else {
                throw SimDAVError(400, "the appointment has no text/calendar part")
            }
            let promoted: [String: DAVValue]
            do {
                promoted = try SimDAVCalendar.promote(calendar, zone: davZone)
            } catch {
                throw SimDAVError(400, "the appointment's calendar cannot be read: \(error)")
            }
            for name in SimDAVCalendar.promotedNames { item.properties[name] = nil }
            item.properties.merge(promoted) { $1 }
            item.mime = mime
            return
        }
        let mail = SimDAVMail.read(mime)
        item.properties.merge(mail.properties) { $1 }
        if item.properties[DAVProperty.dateReceived] == nil {
            item.properties[DAVProperty.dateReceived] = .date(Date())
        }
        item.attachments = mail.attachments
        item.mime = mime
    }

    var davZone: TimeZone { TimeZone(identifier: options.davTimeZone) ?? TimeZone(identifier: "UTC")! }

    func get(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        let head = request.method.uppercased() == "HEAD"
        func answer(_ status: Int, _ headers: [(String, String)], _ body: Data) -> SimDAVAnswer {
            SimDAVAnswer(status, headers: headers, body: head ? Data() : body)
        }
        switch target {
        case .exchangeRoot, .mailbox:
            // Outlook Web Access's frameset, whose BASE names the mailbox (DavMail reads it).
            var own: SimDAVMailbox?
            if case .mailbox(let mailbox) = target { own = mailbox }
            own =
                own
                ?? mailboxes.keys.sorted().compactMap(davMailbox).first {
                    $0.alias == request.account || $0.address == request.account
                } ?? mailboxes.keys.sorted().compactMap(davMailbox).first { mayOpen($0, account: request.account) }
            let base = own.map { rootURL(request.base, $0) } ?? request.base + "/exchange/"
            let page =
                "<html><head><title>Microsoft Outlook Web Access</title><BASE href=\"\(base)\"></head><body>Outlook Web Access</body></html>"
            return answer(200, [("Content-Type", "text/html; charset=utf-8")], Data(page.utf8))
        case .folder(_, let key):
            return answer(
                200, [("Content-Type", "text/html; charset=utf-8")],
                Data("<html><body>Outlook Web Access: \(key)</body></html>".utf8))
        case .attachment(let mailbox, let key, let name, let file):
            let attachment = try findAttachment(mailbox, key, name, file)
            return answer(200, [("Content-Type", attachment.contentType)], attachment.content)
        case .item(let mailbox, let key, let name):
            guard let item = mailbox.folders[key]?.items[name.lowercased()] else {
                throw SimDAVError(404, "no item \(name) in \(mailbox.folders[key]?.segment ?? key)")
            }
            guard request.headers["translate"]?.lowercased() == "f" else {
                return answer(
                    200, [("Content-Type", "text/html; charset=utf-8")],
                    Data("<html><body>Outlook Web Access</body></html>".utf8))
            }
            let mime = item.mime ?? synthesizedMIME(item)
            return answer(200, [("Content-Type", "message/rfc822"), ("ETag", item.etag)], mime)
        }
    }

    /// The MIME Exchange makes from an item that was stored as properties.
    func synthesizedMIME(_ item: SimDAVItem) -> Data {
        if item.messageClass.lowercased().hasPrefix("ipm.appointment"),
            let calendar = SimDAVCalendar.calendar(from: item.properties, zone: davZone)
        {
            return DAVMIME.appointment(
                calendar: calendar, subject: item.properties[DAVProperty.subject]?.string ?? "",
                description: item.properties[DAVProperty.textDescription]?.string, date: item.modified)
        }
        return SimDAVMail.message(item)
    }

    func delete(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        if case .folder(let mailbox, let key) = target {
            // Folders a client made (MKCOL) can go; the well-known ones cannot.
            guard key.hasPrefix("sub:") else { throw SimDAVError(403, "a well-known folder cannot be deleted") }
            mailbox.folders[key] = nil
            return SimDAVAnswer(200)
        }
        guard case .item(let mailbox, let key, let name) = target else {
            throw SimDAVError(403, "this resource cannot be deleted")
        }
        let existing = mailbox.folders[key]!.items[name.lowercased()]
        guard existing != nil else { throw SimDAVError(404, "no item \(name)") }
        try checkConditions(request, existing, name: name)
        remove(name, from: mailbox, key, account: request.account)
        // 200, not the SDK's 204: DavMail, which works against the real servers, accepts only 200
        // (and 404) for a DELETE.
        return SimDAVAnswer(200)
    }

    func remove(_ name: String, from mailbox: SimDAVMailbox, _ key: String, account: String?) {
        mailbox.folders[key]!.items[name.lowercased()] = nil
        mailbox.folders[key]!.contentTag += 1
        mailbox.folders[key]!.modified = Date()
        if let account { countDAVWrite(mailbox, key, account) }
    }

    func batchDelete(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        guard case .folder(let mailbox, let key) = target else { throw SimDAVError(400, "BDELETE goes to a folder") }
        let root = try parseDAVBody(request.body)
        var writer = writer(request)
        var failures = 0
        for href in root.child("target")?.children("href").map(\.text) ?? [] {
            let name = itemName(href)
            if mailbox.folders[key]!.items[name.lowercased()] != nil {
                remove(name, from: mailbox, key, account: request.account)
            } else {
                failures += 1
                writer.response(href: href, status: 404, found: [])
            }
        }
        return failures == 0 ? SimDAVAnswer(204) : .multistatus(writer)
    }

    func move(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        guard case .item(let mailbox, let key, let name) = target,
            var item = mailbox.folders[key]!.items[name.lowercased()]
        else { throw SimDAVError(404, "MOVE needs an existing item") }
        guard let destination = request.headers["destination"] else {
            throw SimDAVError(400, "MOVE needs a Destination")
        }
        let destinationPath = DAVPath.path(of: destination)
        let segments = destinationPath.split(separator: "/").map(String.init)
        guard segments.count >= 3,
            case .folder(let toMailbox, let toKey) = try resolve(
                "/" + segments.prefix(3).map { DAVPath.encode($0) }.joined(separator: "/"), account: request.account)
        else { throw SimDAVError(409, "the destination folder does not exist") }
        try checkQuota(toMailbox)
        var newName = segments.count > 3 ? segments[3] : item.name
        if toMailbox.folders[toKey]!.items[newName.lowercased()] != nil {
            if request.headers["allow-rename"]?.lowercased() == "t" {
                let stem = (newName as NSString).deletingPathExtension
                let ext = (newName as NSString).pathExtension
                var counter = 2
                while toMailbox.folders[toKey]!.items["\(stem)-\(counter).\(ext)".lowercased()] != nil { counter += 1 }
                newName = "\(stem)-\(counter).\(ext)"
            } else if request.headers["overwrite"]?.lowercased() == "f" {
                throw SimDAVError(412, "\(newName) exists in the destination (Overwrite: F)")
            }
        }
        remove(item.name, from: mailbox, key, account: request.account)
        item.name = newName
        store(&item, in: toMailbox, toKey, account: request.account)
        return SimDAVAnswer(201, headers: [("Location", itemURL(request.base, toMailbox, toKey, newName))])
    }

    /// `MKCOL /exchange/<alias>/<name>`: a folder below the mailbox root, of the class its
    /// property update names (DavMail's `davmailtemp` for its time-zone probe).
    func makeFolder(_ request: SimDAVRequest) throws -> SimDAVAnswer {
        let segments = request.path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        guard segments.count == 3, segments[0].lowercased() == "exchange" else {
            throw SimDAVError(403, "folders can only be made below a mailbox root here")
        }
        guard
            case .mailbox(let mailbox) = try resolve(
                "/exchange/\(DAVPath.encode(segments[1]))/", account: request.account)
        else { throw SimDAVError(404, "no mailbox \(segments[1])") }
        if mailbox.folder(segment: segments[2]) != nil { return .text(405, "the folder exists") }
        var folderClass = "IPF.Note"
        if !request.body.isEmpty {
            let root = try parseDAVBody(request.body)
            for property in root.child("set")?.child("prop")?.children ?? []
            where Self.propertyName(property) == DAVProperty.folderClass {
                folderClass = property.text
            }
        }
        let key = "sub:" + segments[2].lowercased()
        mailbox.folders[key] = SimDAVFolder(
            key: key, segment: segments[2], folderClass: folderClass, modified: Date(),
            replUID: SimDAVMailbox.newReplUID())
        countDAVWrite(mailbox, key, request.account)
        return SimDAVAnswer(201)
    }

    /// Outlook Web Access's form posts to a folder. Only Exchange 2003's `Cmd=saveappt` is served:
    /// it saves an empty appointment in the server's zone and names it in `<span id="itemHREF">`,
    /// which DavMail reads to learn the server's VTIMEZONE.
    func post(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        let form = String(decoding: request.body, as: UTF8.self) + "&" + (request.query ?? "")
        guard case .folder(let mailbox, let key) = target, form.lowercased().contains("cmd=saveappt") else {
            return .text(501, "only Outlook Web Access's Cmd=saveappt is served here")
        }
        let name = "\(UUID().uuidString.prefix(8)).EML"
        var item = newItem(name: name, mailbox: mailbox, key: key)
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        item.properties[DAVProperty.messageClass] = .string("IPM.Appointment")
        item.properties[DAVProperty.subject] = .string("")
        item.properties[DAVProperty.dtStart] = .date(start)
        item.properties[DAVProperty.dtEnd] = .date(start.addingTimeInterval(1800))
        item.properties[DAVProperty.timezoneID] = .string(davZone.identifier)
        item.properties[DAVProperty.instanceType] = .int(0)
        store(&item, in: mailbox, key, account: request.account)
        let href = itemURL(request.base, mailbox, key, name)
        return SimDAVAnswer(
            200, headers: [("Content-Type", "text/html; charset=utf-8")],
            body: Data("<html><body><span id=\"itemHREF\">\(href)</span></body></html>".utf8))
    }

    func enumerateAttachments(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        guard case .item(let mailbox, let key, let name) = target,
            let item = mailbox.folders[key]!.items[name.lowercased()]
        else { throw SimDAVError(404, "X-MS-ENUMATTS needs an existing item") }
        var writer = writer(request)
        for attachment in item.attachments {
            respond(
                &writer, href: itemURL(request.base, mailbox, key, item.name) + "/" + DAVPath.encode(attachment.name),
                properties: attachmentProperties(attachment), requested: nil)
        }
        return .multistatus(writer)
    }

    /// Puts a mail into a mailbox's folder as delivery would (not counted as a client's write):
    /// the MIME's headers, bodies and attachments become the item's properties. Returns its name.
    @discardableResult
    public func deliverDAVMail(to address: String, folder: String = "inbox", mime: Data, received: Date = Date())
        -> String?
    {
        lock.withLock {
            guard let mailbox = davMailbox(address), mailbox.folders[folder] != nil else { return nil }
            let name = "\(UUID().uuidString.prefix(8)).EML"
            var item = newItem(name: name, mailbox: mailbox, key: folder, now: received)
            let mail = SimDAVMail.read(mime)
            item.properties.merge(mail.properties) { $1 }
            item.properties[DAVProperty.dateReceived] = .date(received)
            item.properties[DAVProperty.deliveryTime] = .date(received)
            item.attachments = mail.attachments
            item.mime = mime
            store(&item, in: mailbox, folder, account: nil, now: received)
            saveDAV()
            return name
        }
    }
}
