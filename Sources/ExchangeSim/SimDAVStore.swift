import ExchangeWebDAV
import Foundation

/// An item of a mailbox as Exchange 2003/2007's store shows it over WebDAV: a resource named by
/// its URL's last segment, holding properties (set by PROPPATCH or promoted from a PUT's MIME).
struct SimDAVItem: Codable, Sendable {
    /// The last URL segment, decoded (`crm-4711.EML`).
    var name: String
    /// Stored properties by canonical full name.
    var properties: [String: DAVValue]
    /// `repl-uid`: unique, never changes.
    var replUID: String
    /// Bumped by every write; the etag names it.
    var version: Int
    var created: Date
    var modified: Date
    /// PR_INTERNET_ARTICLE_NUMBER: changes when the item changes.
    var articleNumber: Int
    /// The MIME a client PUT (PR_INTERNET_CONTENT); nil for items made of properties only.
    var mime: Data?
    var attachments: [SimDAVAttachment] = []

    var etag: String { "\"\(replUID.suffix(12))-\(version)\"" }
    var messageClass: String { properties[DAVProperty.messageClass]?.string ?? "IPM.Note" }
}

/// A file attached to a mail item (X-MS-ENUMATTS lists them, GET reads one).
struct SimDAVAttachment: Codable, Sendable {
    var name: String
    var contentType: String
    var contentID: String?
    var content: Data
}

/// A well-known folder of a mailbox, under its localised name.
struct SimDAVFolder: Codable, Sendable {
    /// The well-known name (`inbox`, `calendar` …), as `urn:schemas:httpmail:` names it.
    var key: String
    /// The URL segment: the localised display name (`Kalender`).
    var segment: String
    var folderClass: String
    /// Items by lower-cased name.
    var items: [String: SimDAVItem] = [:]
    /// `repl:contenttag`'s counter: changes with every write to the folder's contents.
    var contentTag = 1
    var modified: Date
    var replUID: String
}

/// A mailbox's WebDAV view.
final class SimDAVMailbox: @unchecked Sendable {
    let address: String
    var folders: [String: SimDAVFolder] = [:]
    var articleCounter = 0

    /// The alias (the address's local part), as `/exchange/<alias>/` names the mailbox.
    var alias: String { String(address.split(separator: "@").first ?? Substring(address)) }

    /// Exchange 2003/2007's well-known folders, in German or English.
    static func wellKnown(language: String) -> [(key: String, segment: String, folderClass: String)] {
        let german = language.lowercased().hasPrefix("de")
        return [
            ("inbox", german ? "Posteingang" : "Inbox", "IPF.Note"),
            ("sentitems", german ? "Gesendete Objekte" : "Sent Items", "IPF.Note"),
            ("deleteditems", german ? "Gelöschte Objekte" : "Deleted Items", "IPF.Note"),
            ("drafts", german ? "Entwürfe" : "Drafts", "IPF.Note"),
            ("outbox", german ? "Postausgang" : "Outbox", "IPF.Note"),
            ("contacts", german ? "Kontakte" : "Contacts", "IPF.Contact"),
            ("calendar", german ? "Kalender" : "Calendar", "IPF.Appointment"),
            ("tasks", german ? "Aufgaben" : "Tasks", "IPF.Task"),
        ]
    }

    init(address: String, language: String, now: Date = Date()) {
        self.address = address
        for folder in Self.wellKnown(language: language) {
            folders[folder.key] = SimDAVFolder(
                key: folder.key, segment: folder.segment, folderClass: folder.folderClass, modified: now,
                replUID: SimDAVMailbox.newReplUID())
        }
    }

    /// The folder whose URL segment is `segment` (case-insensitive).
    func folder(segment: String) -> SimDAVFolder? {
        folders.values.first { $0.segment.caseInsensitiveCompare(segment) == .orderedSame }
    }

    static func newReplUID() -> String {
        "rid:" + SimIDs.randomBytes(16).map { String(format: "%02x", $0) }.joined()
    }

    func nextArticle() -> Int {
        articleCounter += 1
        return articleCounter
    }
}

/// The properties Exchange computes for a resource, beside the stored ones.
enum SimDAVComputed {
    /// `urn:content-classes:…` from the message class, when the item does not carry one.
    static func contentClass(messageClass: String) -> String {
        let lower = messageClass.lowercased()
        if lower.hasPrefix("ipm.contact") { return "urn:content-classes:person" }
        if lower.hasPrefix("ipm.distlist") { return "urn:content-classes:group" }
        if lower.hasPrefix("ipm.task") { return "urn:content-classes:task" }
        if lower.hasPrefix("ipm.appointment") { return "urn:content-classes:appointment" }
        if lower.hasPrefix("ipm.schedule") { return "urn:content-classes:calendarmessage" }
        return "urn:content-classes:message"
    }

    /// An item's properties as PROPFIND and SEARCH see them (the internet content only when
    /// `withContent`: Exchange never returns it to SEARCH).
    static func item(_ item: SimDAVItem, url: String, permanentURL: String, withContent: Bool) -> [String: DAVValue] {
        var properties = item.properties
        properties[DAVProperty.href] = .string(url)
        properties[DAVProperty.displayName] = .string(item.name)
        properties[DAVProperty.getETag] = .string(item.etag)
        properties[DAVProperty.getLastModified] = .date(item.modified)
        properties[DAVProperty.creationDate] = .date(item.created)
        properties[DAVProperty.isFolder] = .bool(false)
        properties[DAVProperty.isHidden] = .bool(false)
        properties[DAVProperty.replUID] = .string(item.replUID)
        properties[DAVProperty.permanentURL] = .string(permanentURL)
        properties[DAVProperty.urlCompName] = .string(item.name)
        properties[DAVProperty.articleNumber] = .int(item.articleNumber)
        properties[DAVProperty.uid] = .string(item.replUID)
        if properties[DAVProperty.messageClass] == nil { properties[DAVProperty.messageClass] = .string("IPM.Note") }
        if properties[DAVProperty.contentClass] == nil {
            properties[DAVProperty.contentClass] = .string(contentClass(messageClass: item.messageClass))
        }
        properties[DAVProperty.hasAttachment] = .bool(!item.attachments.isEmpty)
        properties[DAVProperty.getContentLength] = .int(item.mime?.count ?? 0)
        if withContent, let mime = item.mime { properties[DAVProperty.internetContent] = .binary(mime) }
        return properties
    }

    /// A folder's properties.
    static func folder(_ folder: SimDAVFolder, url: String) -> [String: DAVValue] {
        [
            DAVProperty.href: .string(url),
            DAVProperty.displayName: .string(folder.segment),
            DAVProperty.folderClass: .string(folder.folderClass),
            DAVProperty.contentTag: .string("\(folder.replUID.suffix(8))\(folder.contentTag)"),
            DAVProperty.getLastModified: .date(folder.modified),
            DAVProperty.objectCount: .int(folder.items.count),
            DAVProperty.isFolder: .bool(true),
            DAVProperty.isHidden: .bool(false),
            DAVProperty.hasSubs: .bool(false),
            "DAV:nosubs": .bool(true),
            "urn:schemas:httpmail:unreadcount": .int(
                folder.items.values.filter { $0.properties[DAVProperty.read]?.bool != true }.count),
            DAVProperty.contentClass: .string("urn:content-classes:folder"),
        ]
    }
}
