import EWS
import Foundation
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
}

/// A changed occurrence of a recurring calendar item.
struct SimOccurrence: Sendable {
    var id: String
    var originalStart: Date
    /// Its own properties (Start, End, Subject, Location, Body …), in schema order.
    var properties: [XMLElement]
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
        withUnsafeBytes(of: UUID().uuid) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: (0..<24).map { _ in UInt8.random(in: 0...255) })
        return Data(bytes).base64EncodedString()
    }

    static func folder(_ mailbox: String, _ name: String) -> String {
        Data("AQMkF:\(mailbox.lowercased()):\(name)".utf8).base64EncodedString()
    }

    static func changeKey(_ version: Int) -> String {
        var bytes: [UInt8] = [0x09, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00]
        withUnsafeBytes(of: UInt64(version).bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: (0..<4).map { _ in UInt8.random(in: 0...255) })
        return Data(bytes).base64EncodedString()
    }
}
