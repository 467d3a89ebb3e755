import EWS
import Foundation
import Synchronization
import XML

/// A folder of a simulated mailbox.
struct SimFolder: Codable, Sendable {
    var id: String
    var changeKey: String
    var distinguished: String?
    var displayName: String
    var folderClass: String
    var parentID: String?
}

/// One change in a folder's log, for SyncFolderItems.
struct SimLogEntry: Codable, Sendable {
    enum Kind: String, Codable { case create, update, delete, readFlag }
    var sequence: Int
    var itemID: String
    var kind: Kind
}

/// An item as the simulator stores it: the properties as XML (in schema order), plus the
/// bookkeeping Exchange keeps (ids, change key, versions per property for conflict detection).
struct SimItem: Sendable {
    var id: String
    var changeKey: String
    var folderID: String
    /// `Contact`, `CalendarItem`, `Task` or `Message`.
    var elementName: String
    /// Stored properties (children of the item element), without ItemId/ParentFolderId.
    var properties: [XMLElement]
    var createdSequence: Int
    var version: Int
    /// Property key → version at which it last changed.
    var propertyVersions: [String: Int]
    /// Change key → version it names (for AutoResolve against stale keys).
    var changeKeyVersions: [String: Int]
    var created: Date
    var modified: Date
    /// Occurrences of a series that were changed, by original start.
    var exceptions: [Date: SimOccurrence] = [:]
    /// Original starts of occurrences deleted from a series.
    var deletedOccurrences: [Date] = []
    /// File attachments, in the order they were added.
    var attachments: [SimAttachment] = []
    /// Messages: a draft (MSGFLAG_UNSENT), as Exchange marks every item saved with SaveOnly unless
    /// PR_MESSAGE_FLAGS says otherwise.
    var isDraft = false
    /// Messages: PR_CLIENT_SUBMIT_TIME (`DateTimeSent`); nil for a draft that never had one.
    var sent: Date?
    /// Messages: PR_MESSAGE_DELIVERY_TIME (`DateTimeReceived`); the creation time when nil.
    var received: Date?
    /// An occurrence of a series as a CalendarView shows it (`Occurrence` or `Exception`); nil for
    /// stored items.
    var occurrenceType: String? = nil
}

/// A file or item attachment of an item. The content is kept as bytes (for an item attachment:
/// the attached item's MIME form); ids embed the item's id, as Exchange's do, so they change when
/// the item moves.
struct SimAttachment: Codable, Sendable {
    var id: String
    var name: String?
    var contentType: String?
    var contentID: String?
    var contentLocation: String?
    var isInline: Bool?
    var isContactPhoto: Bool?
    var content: Data
    var modified: Date
    /// An item attachment's item (`Message`, `CalendarItem` …) as XML, its properties in schema
    /// order; nil for a file attachment.
    var attachedItem: String? = nil

    var isItem: Bool { attachedItem != nil }
    /// `FileAttachment` or `ItemAttachment`.
    var elementName: String { isItem ? "ItemAttachment" : "FileAttachment" }
}

/// A changed occurrence of a recurring calendar item.
struct SimOccurrence: Sendable {
    var id: String
    var originalStart: Date
    /// Its own properties (Start, End, Subject, Location, Body …), in schema order.
    var properties: [XMLElement]
    /// Keys (``PropertyPath/key``) of the series' properties deleted on this occurrence.
    var deleted: Set<String> = []
}

/// A simulated mailbox: folders, items and per-folder change logs.
final class SimMailbox: @unchecked Sendable {
    let address: String
    var folders: [String: SimFolder] = [:]
    var items: [String: SimItem] = [:]
    var logs: [String: [SimLogEntry]] = [:]
    var sequence = 0

    init(address: String) {
        self.address = address
        let root = SimFolder(
            id: SimIDs.folder(address, "root"), changeKey: SimIDs.changeKey(1), distinguished: "root",
            displayName: "Root", folderClass: "", parentID: nil)
        folders[root.id] = root
        let top = SimFolder(
            id: SimIDs.folder(address, "msgfolderroot"), changeKey: SimIDs.changeKey(1), distinguished: "msgfolderroot",
            displayName: "Top of Information Store", folderClass: "IPF.Note", parentID: root.id)
        folders[top.id] = top
        let standard: [(String, String, String)] = [
            ("inbox", "Posteingang", "IPF.Note"), ("sentitems", "Gesendete Elemente", "IPF.Note"),
            ("deleteditems", "Gelöschte Elemente", "IPF.Note"), ("drafts", "Entwürfe", "IPF.Note"),
            ("outbox", "Postausgang", "IPF.Note"), ("contacts", "Kontakte", "IPF.Contact"),
            ("calendar", "Kalender", "IPF.Appointment"), ("tasks", "Aufgaben", "IPF.Task"),
        ]
        for (name, display, folderClass) in standard {
            let folder = SimFolder(
                id: SimIDs.folder(address, name), changeKey: SimIDs.changeKey(1), distinguished: name,
                displayName: display,
                folderClass: folderClass, parentID: top.id)
            folders[folder.id] = folder
        }
    }

    func folder(distinguished name: String) -> SimFolder? { folders.values.first { $0.distinguished == name } }

    func nextSequence() -> Int {
        sequence += 1
        return sequence
    }

    func log(_ folderID: String, _ itemID: String, _ kind: SimLogEntry.Kind) {
        logs[folderID, default: []].append(SimLogEntry(sequence: nextSequence(), itemID: itemID, kind: kind))
    }
}

/// Identifiers in Exchange's style: opaque base64, case-sensitive.
enum SimIDs {
    static func item() -> String {
        var bytes: [UInt8] = [0x00, 0x00, 0x4D, 0x6B]  // "AAMk" prefix when encoded, as Exchange's ids start
        bytes.append(contentsOf: randomBytes(40))
        return Data(bytes).base64EncodedString()
    }

    /// `count` random-looking bytes for ids: a SplitMix64 sequence seeded once from the system
    /// generator (ids need uniqueness, not secrecy; a system call per id cost more than the rest
    /// of a create).
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        idState.withLock { state in
            while bytes.count < count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                withUnsafeBytes(of: z ^ (z >> 31)) { bytes.append(contentsOf: $0) }
            }
        }
        return Array(bytes.prefix(count))
    }

    static let idState = Mutex<UInt64>(UInt64.random(in: 0...UInt64.max))

    /// The id of an occurrence of a series: the "AAMk" prefix, an occurrence marker, the master's
    /// id and the occurrence's original start. Like Exchange's, it names the occurrence for GetItem,
    /// UpdateItem and DeleteItem, and it is the same every time the occurrence is listed.
    static func occurrence(master: String, original: Date) -> String {
        var bytes: [UInt8] = [0x00, 0x00, 0x4D, 0x6B, 0x4F]
        bytes.append(contentsOf: Array(master.utf8))
        bytes.append(0x00)
        withUnsafeBytes(of: Int64(original.timeIntervalSince1970).bigEndian) { bytes.append(contentsOf: $0) }
        return Data(bytes).base64EncodedString()
    }

    /// The master id and original start inside an occurrence id; nil for other ids.
    static func occurrenceOf(_ id: String) -> (master: String, original: Date)? {
        guard let data = Data(base64Encoded: id), data.count > 6 + 8,
            data.starts(with: [0x00, 0x00, 0x4D, 0x6B, 0x4F]),
            let end = data.dropFirst(5).firstIndex(of: 0x00), data.count == end + 1 + 8,
            let master = String(data: data[5..<end], encoding: .utf8)
        else { return nil }
        let seconds = data[(end + 1)...].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return (master, Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// An attachment id: the "AAMk" prefix, an attachment marker, the item's id and random bytes.
    static func attachment(item: String) -> String {
        var bytes: [UInt8] = [0x00, 0x00, 0x4D, 0x6B, 0x41]
        bytes.append(contentsOf: Array(item.utf8))
        bytes.append(0x00)
        bytes.append(contentsOf: randomBytes(12))
        return Data(bytes).base64EncodedString()
    }

    /// The item id inside an attachment id; nil when the id is not one of ours (malformed).
    static func itemOfAttachment(_ id: String) -> String? {
        guard let data = Data(base64Encoded: id), data.count > 6 + 12,
            data.starts(with: [0x00, 0x00, 0x4D, 0x6B, 0x41]),
            let end = data.dropFirst(5).firstIndex(of: 0x00)
        else { return nil }
        return String(data: data[5..<end], encoding: .utf8)
    }

    static func folder(_ mailbox: String, _ name: String) -> String {
        Data("AQMkF:\(mailbox.lowercased()):\(name)".utf8).base64EncodedString()
    }

    static func changeKey(_ version: Int) -> String {
        var bytes: [UInt8] = [0x09, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00]
        withUnsafeBytes(of: UInt64(version).bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: randomBytes(4))
        return Data(bytes).base64EncodedString()
    }
}
