import ExchangeWebDAV
import Foundation
import XML

/// A WebDAV request as the HTTP front hands it over, authenticated.
public struct SimDAVRequest: Sendable {
    public var method: String
    /// The request path, still percent-encoded, without the query.
    public var path: String
    public var query: String?
    /// Header fields by lower-case name.
    public var headers: [String: String]
    public var body: Data
    /// The authenticated account (lower case).
    public var account: String
    /// `http://host:port`, for absolute hrefs.
    public var base: String

    public init(
        method: String, path: String, query: String? = nil, headers: [String: String], body: Data, account: String,
        base: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.account = account
        self.base = base
    }
}

/// The answer to a WebDAV request.
public struct SimDAVAnswer: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    init(_ status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func text(_ status: Int, _ text: String) -> SimDAVAnswer {
        SimDAVAnswer(status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Data(text.utf8))
    }

    static func multistatus(_ writer: SimDAVWriter, headers: [(String, String)] = []) -> SimDAVAnswer {
        // Exactly `text/xml`: DavMail's parser takes nothing else.
        SimDAVAnswer(207, headers: [("Content-Type", "text/xml")] + headers, body: writer.document)
    }
}

/// What a request's path names.
enum SimDAVTarget {
    case exchangeRoot
    case mailbox(SimDAVMailbox)
    case folder(SimDAVMailbox, String)
    case item(SimDAVMailbox, String, String)
    case attachment(SimDAVMailbox, String, String, String)
}

/// Exchange 2003/2007's WebDAV access to the mailboxes (`/exchange/<alias>/…`): PROPFIND, SEARCH
/// with Exchange SQL and row ranges, PROPPATCH, PUT and GET of MIME with `Translate: f`, DELETE,
/// BDELETE, MOVE, BPROPFIND and X-MS-ENUMATTS, with the conditional headers and status codes the
/// real server answers.
extension SimService {
    /// Answers one WebDAV request.
    public func handleDAV(_ request: SimDAVRequest) -> SimDAVAnswer {
        lock.withLock {
            operationCounts["dav" + request.method.uppercased(), default: 0] += 1
            operationCounts["bytesIn", default: 0] += request.body.count
            let answer: SimDAVAnswer
            do {
                answer = try dispatchDAV(request)
            } catch let error as SimDAVError {
                answer = .text(error.status, error.message)
            } catch {
                answer = .text(400, "\(error)")
            }
            operationCounts["bytesOut", default: 0] += answer.body.count
            if answer.status < 300,
                !["PROPFIND", "SEARCH", "GET", "HEAD", "BPROPFIND", "X-MS-ENUMATTS"].contains(
                    request.method.uppercased())
            {
                saveDAV()
            }
            return answer
        }
    }

    /// How many writes an account made to a mailbox folder over WebDAV (for tests: nothing may
    /// ever write to a mail folder of the legacy profile).
    public func davWrites(account: String? = nil, mailbox: String, folder: String) -> Int {
        lock.withLock {
            let prefix = "davWrite:\(mailbox.lowercased()):\(folder):"
            return operationCounts.filter {
                $0.key.hasPrefix(prefix) && (account == nil || $0.key == prefix + account!.lowercased())
            }.values.reduce(0, +)
        }
    }

    /// The number of items in a mailbox's well-known folder over WebDAV (for tests and the demo).
    public func davItemCount(mailbox: String, folder: String) -> Int {
        lock.withLock { davMailbox(mailbox)?.folders[folder]?.items.count ?? 0 }
    }

    /// The stored properties of a folder's items by item name (for tests).
    public func davItems(mailbox: String, folder: String) -> [String: [String: DAVValue]] {
        lock.withLock {
            (davMailbox(mailbox)?.folders[folder]?.items.values).map {
                Dictionary(uniqueKeysWithValues: $0.map { ($0.name, $0.properties) })
            } ?? [:]
        }
    }

    func davMailbox(_ address: String) -> SimDAVMailbox? {
        let key = address.lowercased()
        if let known = davMailboxes[key] { return known }
        guard mailboxes[key] != nil else { return nil }
        let mailbox = SimDAVMailbox(address: key, language: options.davLanguage)
        davMailboxes[key] = mailbox
        return mailbox
    }

    func countDAVWrite(_ mailbox: SimDAVMailbox, _ folder: String, _ account: String) {
        operationCounts["davWrite:\(mailbox.address):\(folder):\(account)", default: 0] += 1
    }

    // MARK: Paths and rights

    func resolve(_ path: String, account: String) throws -> SimDAVTarget {
        let segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        guard let first = segments.first, first.lowercased() == "exchange" else {
            throw SimDAVError(404, "not found: \(path)")
        }
        guard segments.count > 1 else { return .exchangeRoot }
        let name = segments[1].lowercased()
        guard
            let address = mailboxes.keys.first(where: {
                $0 == name || $0.split(separator: "@").first.map(String.init) == name
            }), let mailbox = davMailbox(address)
        else { throw SimDAVError(404, "no mailbox \(segments[1]) on this server") }
        guard mayOpen(mailbox, account: account) else {
            throw SimDAVError(403, "\(account) has no access to the mailbox \(mailbox.address)")
        }
        guard segments.count > 2 else { return .mailbox(mailbox) }
        if segments[2] == "-FlatUrlSpace-", segments.count > 3 {
            let rid = "rid:" + segments[3]
            for folder in mailbox.folders.values {
                if let item = folder.items.values.first(where: { $0.replUID == rid }) {
                    return .item(mailbox, folder.key, item.name)
                }
            }
            throw SimDAVError(404, "no item with the permanent URL \(path)")
        }
        guard let folder = mailbox.folder(segment: segments[2]) else {
            throw SimDAVError(404, "no folder \(segments[2]) in \(mailbox.address)")
        }
        if segments.count == 3 { return .folder(mailbox, folder.key) }
        if segments.count == 4 { return .item(mailbox, folder.key, segments[3]) }
        return .attachment(mailbox, folder.key, segments[3], segments[4...].joined(separator: "/"))
    }

    /// The owner, and accounts with full access (the delegates), may open a mailbox.
    func mayOpen(_ mailbox: SimDAVMailbox, account: String) -> Bool {
        account == mailbox.address || account == mailbox.alias || options.delegates.contains(account)
    }

    func rootURL(_ base: String, _ mailbox: SimDAVMailbox) -> String { "\(base)/exchange/\(mailbox.alias)/" }

    func folderURL(_ base: String, _ mailbox: SimDAVMailbox, _ key: String) -> String {
        rootURL(base, mailbox) + DAVPath.encode(mailbox.folders[key]?.segment ?? key)
    }

    func itemURL(_ base: String, _ mailbox: SimDAVMailbox, _ key: String, _ name: String) -> String {
        folderURL(base, mailbox, key) + "/" + DAVPath.encode(name)
    }

    func permanentURL(_ base: String, _ mailbox: SimDAVMailbox, _ item: SimDAVItem) -> String {
        rootURL(base, mailbox) + "-FlatUrlSpace-/" + item.replUID.dropFirst(4)
    }

    // MARK: Dispatch

    func dispatchDAV(_ request: SimDAVRequest) throws -> SimDAVAnswer {
        if request.method.uppercased() == "MKCOL" { return try makeFolder(request) }
        let target = try resolve(request.path, account: request.account)
        switch request.method.uppercased() {
        case "PROPFIND": return try propfind(request, target)
        case "BPROPFIND": return try batchPropfind(request, target)
        case "SEARCH": return try search(request, target)
        case "PROPPATCH": return try proppatch(request, target)
        case "PUT": return try put(request, target)
        case "GET", "HEAD": return try get(request, target)
        case "DELETE": return try delete(request, target)
        case "BDELETE": return try batchDelete(request, target)
        case "MOVE": return try move(request, target)
        case "X-MS-ENUMATTS": return try enumerateAttachments(request, target)
        case "POST": return try post(request, target)
        case "OPTIONS":
            return SimDAVAnswer(
                200,
                headers: [
                    ("DAV", "1, 2"), ("MS-Author-Via", "DAV"),
                    (
                        "Allow",
                        "OPTIONS, GET, HEAD, PUT, DELETE, MOVE, PROPFIND, PROPPATCH, SEARCH, BPROPFIND, BDELETE, X-MS-ENUMATTS"
                    ),
                ])
        default:
            return .text(501, "\(request.method) is not implemented")
        }
    }

    /// A requested property: the name as the client wrote it (the answer uses it) and the name
    /// it is stored under.
    typealias Requested = (raw: String, name: String)

    /// The requested properties of a PROPFIND body; nil for `allprop` or no body.
    func requestedProperties(_ body: Data) throws -> [Requested]? {
        guard !body.isEmpty else { return nil }
        let root = try parseDAVBody(body)
        guard root.child("allprop") == nil, let prop = root.child("prop") else { return nil }
        return prop.children.map(Self.requested)
    }

    static func requested(_ element: XMLElement) -> Requested {
        let raw = ((element.namespace ?? "") + DAVPropertyName.decodeLocalName(element.name))
            .replacingOccurrences(of: "%7B", with: "{").replacingOccurrences(of: "%7D", with: "}")
        return (raw, DAVPropertyName.canonical(raw))
    }

    static func propertyName(_ element: XMLElement) -> String { requested(element).name }

    /// A request body parsed after repairing digit-leading names (DavMail sends `<g:32899>`).
    func parseDAVBody(_ body: Data) throws -> XMLElement {
        do {
            return try XMLStreamParser.parse(DAVXMLRepair.escapeDigitLeadingNames(body))
        } catch {
            throw SimDAVError(400, "the request body is not XML: \(error)")
        }
    }

    func writer(_ request: SimDAVRequest) -> SimDAVWriter {
        SimDAVWriter(digitNames: options.davDigitNames, brief: request.headers["brief"]?.lowercased() == "t")
    }

    /// Adds one response for a resource's properties: the requested ones (or all) as found, the
    /// rest as 404.
    func respond(
        _ writer: inout SimDAVWriter, href: String, properties: [String: DAVValue], requested: [Requested]?
    ) {
        guard let requested else {
            writer.response(
                href: href, found: properties.sorted { $0.key < $1.key }.map { ($0.key, nil, $0.value) })
            return
        }
        var found: [(name: String, alias: String?, value: DAVValue)] = []
        var missing: [(name: String, alias: String?)] = []
        for (raw, name) in requested {
            if let value = properties[name] { found.append((raw, nil, value)) } else { missing.append((raw, nil)) }
        }
        writer.response(href: href, found: found, missing: missing)
    }

    func mailboxRootProperties(_ base: String, _ mailbox: SimDAVMailbox) -> [String: DAVValue] {
        var properties: [String: DAVValue] = [
            DAVProperty.href: .string(rootURL(base, mailbox)),
            DAVProperty.displayName: .string(mailbox.alias),
            DAVProperty.isFolder: .bool(true),
            DAVProperty.hasSubs: .bool(true),
            DAVProperty.folderClass: .string("IPF.Note"),
            DAVNamespace.httpmail + "msgfolderroot": .string(rootURL(base, mailbox)),
            DAVNamespace.httpmail + "sendmsg": .string(rootURL(base, mailbox) + "##DavMailSubmissionURI##/"),
        ]
        for key in mailbox.folders.keys where !key.hasPrefix("sub:") {
            properties[DAVNamespace.httpmail + key] = .string(folderURL(base, mailbox, key))
        }
        return properties
    }

    func propfind(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        let requested = try requestedProperties(request.body)
        let depth = request.headers["depth"]?.lowercased() ?? "infinity"
        var writer = writer(request)
        switch target {
        case .exchangeRoot:
            respond(
                &writer, href: request.base + "/exchange/",
                properties: [DAVProperty.displayName: .string("exchange"), DAVProperty.isFolder: .bool(true)],
                requested: requested)
        case .mailbox(let mailbox):
            respond(
                &writer, href: rootURL(request.base, mailbox), properties: mailboxRootProperties(request.base, mailbox),
                requested: requested)
            if depth.hasPrefix("1") {
                for key in mailbox.folders.keys.sorted() {
                    let url = folderURL(request.base, mailbox, key)
                    respond(
                        &writer, href: url, properties: SimDAVComputed.folder(mailbox.folders[key]!, url: url),
                        requested: requested)
                }
            }
        case .folder(let mailbox, let key):
            let folder = mailbox.folders[key]!
            let url = folderURL(request.base, mailbox, key)
            if !depth.contains("noroot") {
                respond(&writer, href: url, properties: SimDAVComputed.folder(folder, url: url), requested: requested)
            }
            if depth.hasPrefix("1") || depth.hasPrefix("infinity") && request.headers["depth"] != nil {
                for item in folder.items.values.sorted(by: { $0.name < $1.name }) {
                    respond(
                        &writer, href: itemURL(request.base, mailbox, key, item.name),
                        properties: itemProperties(request.base, mailbox, key, item, withContent: true),
                        requested: requested)
                }
            }
        case .item(let mailbox, let key, let name):
            guard let item = mailbox.folders[key]?.items[name.lowercased()] else {
                throw SimDAVError(404, "no item \(name) in \(mailbox.folders[key]?.segment ?? key)")
            }
            respond(
                &writer, href: itemURL(request.base, mailbox, key, item.name),
                properties: itemProperties(request.base, mailbox, key, item, withContent: true), requested: requested)
        case .attachment(let mailbox, let key, let name, let file):
            let attachment = try findAttachment(mailbox, key, name, file)
            respond(
                &writer, href: itemURL(request.base, mailbox, key, name) + "/" + DAVPath.encode(file),
                properties: attachmentProperties(attachment), requested: requested)
        }
        return .multistatus(writer)
    }

    func itemProperties(
        _ base: String, _ mailbox: SimDAVMailbox, _ key: String, _ item: SimDAVItem, withContent: Bool
    ) -> [String: DAVValue] {
        SimDAVComputed.item(
            item, url: itemURL(base, mailbox, key, item.name), permanentURL: permanentURL(base, mailbox, item),
            withContent: withContent)
    }

    func batchPropfind(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        guard case .folder(let mailbox, let key) = target else {
            throw SimDAVError(400, "BPROPFIND goes to a folder")
        }
        let root = try parseDAVBody(request.body)
        let requested = root.child("prop").map { $0.children.map(Self.requested) }
        var writer = writer(request)
        for href in root.child("target")?.children("href").map(\.text) ?? [] {
            let name = itemName(href)
            if let item = mailbox.folders[key]?.items[name.lowercased()] {
                respond(
                    &writer, href: itemURL(request.base, mailbox, key, item.name),
                    properties: itemProperties(request.base, mailbox, key, item, withContent: true),
                    requested: requested)
            } else {
                writer.response(href: href, status: 404, found: [])
            }
        }
        return .multistatus(writer)
    }

    /// The item name of a batch target (`a.EML`, `/exchange/jdoe/Inbox/a.EML` or an absolute URL).
    func itemName(_ href: String) -> String {
        let path = DAVPath.path(of: href)
        return String(path.split(separator: "/").last ?? Substring(path))
    }

    func findAttachment(_ mailbox: SimDAVMailbox, _ key: String, _ name: String, _ file: String) throws
        -> SimDAVAttachment
    {
        guard let item = mailbox.folders[key]?.items[name.lowercased()] else {
            throw SimDAVError(404, "no item \(name)")
        }
        guard let attachment = item.attachments.first(where: { $0.name == file }) else {
            throw SimDAVError(404, "no attachment \(file) on \(name)")
        }
        return attachment
    }

    func attachmentProperties(_ attachment: SimDAVAttachment) -> [String: DAVValue] {
        var properties: [String: DAVValue] = [
            DAVProperty.attachmentFilename: .string(attachment.name),
            "http://schemas.microsoft.com/mapi/proptag/x3704001f": .string(attachment.name),
            DAVProperty.attachmentMimeTag: .string(attachment.contentType),
            DAVProperty.attachmentSize: .int(attachment.content.count),
            "http://schemas.microsoft.com/mapi/proptag/x37050003": .int(1),
            DAVProperty.displayName: .string(attachment.name),
        ]
        if let id = attachment.contentID { properties[DAVProperty.attachmentContentID] = .string(id) }
        return properties
    }

    // MARK: SEARCH

    func search(_ request: SimDAVRequest, _ target: SimDAVTarget) throws -> SimDAVAnswer {
        let root = try parseDAVBody(request.body)
        guard root.name == "searchrequest", let sql = root.child("sql")?.text else {
            throw SimDAVError(400, "a SEARCH body is a DAV:searchrequest with a DAV:sql element")
        }
        let query: SimSQLQuery
        do {
            query = try SimSQLParser.parse(sql)
        } catch {
            throw SimDAVError(400, "bad Exchange SQL: \(error)")
        }
        let scopeTarget =
            query.scope.isEmpty
            ? target
            : try resolve(
                DAVPath.path(of: query.scope).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)
                    ?? query.scope, account: request.account)
        var rows: [(href: String, properties: [String: DAVValue])] = []
        func addItems(_ mailbox: SimDAVMailbox, _ key: String) {
            for item in mailbox.folders[key]!.items.values {
                rows.append(
                    (
                        itemURL(request.base, mailbox, key, item.name),
                        itemProperties(request.base, mailbox, key, item, withContent: false)
                    ))
            }
        }
        switch scopeTarget {
        case .folder(let mailbox, let key): addItems(mailbox, key)
        case .mailbox(let mailbox):
            for key in mailbox.folders.keys.sorted() {
                let url = folderURL(request.base, mailbox, key)
                rows.append((url, SimDAVComputed.folder(mailbox.folders[key]!, url: url)))
                if query.deep { addItems(mailbox, key) }
            }
        default: throw SimDAVError(400, "the scope of a SEARCH is a folder or a mailbox")
        }
        if let condition = query.condition { rows = rows.filter { condition.evaluate($0.properties) == true } }
        if query.order.isEmpty {
            rows.sort { $0.href < $1.href }
        } else {
            rows.sort { left, right in
                for (property, descending) in query.order {
                    let a = left.properties[property]
                    let b = right.properties[property]
                    if a == b { continue }
                    guard let a else { return !descending }
                    guard let b else { return descending }
                    let order = Self.order(a, b)
                    if order == .orderedSame { continue }
                    return (order == .orderedAscending) != descending
                }
                return left.href < right.href
            }
        }
        let total = rows.count
        var headers: [(String, String)] = []
        if let range = request.headers["range"] {
            guard let (first, last) = Self.rowRange(range, total: total) else {
                return SimDAVAnswer(
                    416, headers: [("Content-Range", "rows */\(total)")],
                    body: Data("Requested Range Not Satisfiable".utf8))
            }
            rows = Array(rows[first...last])
            headers.append(("Content-Range", "rows \(first)-\(last); total=\(total)"))
        }
        var writer = writer(request)
        for row in rows {
            if query.selectAll {
                respond(&writer, href: row.href, properties: row.properties, requested: nil)
                continue
            }
            var found: [(name: String, alias: String?, value: DAVValue)] = []
            var missing: [(name: String, alias: String?)] = []
            for column in query.columns {
                if let value = row.properties[column.property] {
                    found.append((column.raw, column.alias, value))
                } else {
                    missing.append((column.raw, column.alias))
                }
            }
            writer.response(href: row.href, found: found, missing: missing)
        }
        return .multistatus(writer, headers: headers + [("Accept-Ranges", "rows")])
    }

    static func order(_ a: DAVValue, _ b: DAVValue) -> ComparisonResult {
        if let x = a.date, let y = b.date, case .date = a {
            return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        }
        if case .int(let x) = a, case .int(let y) = b {
            return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        }
        return (a.string ?? "").compare(b.string ?? "", options: .caseInsensitive)
    }

    /// `rows=0-499`, `rows=-50` (the last 50), `rows=228-` → the first and last row, clamped to the
    /// result; nil when the range starts beyond it (416). An empty result answers any range with no rows.
    static func rowRange(_ header: String, total: Int) -> (Int, Int)? {
        guard let equals = header.firstIndex(of: "=") else { return total == 0 ? nil : (0, total - 1) }
        let spec =
            header[header.index(after: equals)...].split(separator: ",").first.map {
                $0.trimmingCharacters(in: .whitespaces)
            } ?? ""
        let parts = spec.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return nil }
        var first: Int
        var last: Int
        if parts[0].isEmpty {
            guard let count = Int(parts[1]) else { return nil }
            first = max(0, total - count)
            last = total - 1
        } else {
            guard let start = Int(parts[0]) else { return nil }
            first = start
            last = Int(parts[1]) ?? (total - 1)
        }
        last = min(last, total - 1)
        guard first < total, first <= last else { return nil }
        return (first, last)
    }
}

/// A WebDAV error answer: status and a plain-text reason.
struct SimDAVError: Error {
    var status: Int
    var message: String
    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}
