import EWS
import Foundation
import XML

/// Saving and loading the mailboxes (`--state FILE`): JSON with each item's properties as XML.
extension SimService {
    struct StoredItem: Codable {
        var id: String
        var changeKey: String
        var folderID: String
        var elementName: String
        var xml: String
        var createdSequence: Int
        var version: Int
        var propertyVersions: [String: Int]
        var created: Date
        var modified: Date
        var exceptions: [StoredOccurrence]?
        var deletedOccurrences: [Date]?
        var attachments: [SimAttachment]?
        var isDraft: Bool?
        var sent: Date?
        var received: Date?
    }

    struct StoredOccurrence: Codable {
        var id: String
        var originalStart: Date
        var xml: String
        var deleted: [String]?
    }

    struct StoredMailbox: Codable {
        var address: String
        var folders: [SimFolder]
        var items: [StoredItem]
        var logs: [String: [SimLogEntry]]
        var sequence: Int
    }

    func save() {
        guard let path = options.statePath else { return }
        let stored = mailboxes.values.sorted { $0.address < $1.address }.map { mailbox in
            StoredMailbox(
                address: mailbox.address, folders: Array(mailbox.folders.values),
                items: mailbox.items.values.map { item in
                    StoredItem(
                        id: item.id, changeKey: item.changeKey, folderID: item.folderID, elementName: item.elementName,
                        xml: XMLElement(
                            name: item.elementName, namespace: EWSNamespace.types, children: item.properties
                        ).xml,
                        createdSequence: item.createdSequence, version: item.version,
                        propertyVersions: item.propertyVersions,
                        created: item.created, modified: item.modified,
                        exceptions: item.exceptions.values.map { exception in
                            StoredOccurrence(
                                id: exception.id, originalStart: exception.originalStart,
                                xml: XMLElement(
                                    name: "CalendarItem", namespace: EWSNamespace.types, children: exception.properties
                                ).xml, deleted: exception.deleted.isEmpty ? nil : exception.deleted.sorted())
                        }, deletedOccurrences: item.deletedOccurrences,
                        attachments: item.attachments.isEmpty ? nil : item.attachments, isDraft: item.isDraft,
                        sent: item.sent, received: item.received)
                }, logs: mailbox.logs, sequence: mailbox.sequence)
        }
        if let data = try? JSONEncoder().encode(stored) { try? data.write(to: path, options: .atomic) }
    }

    func load(from path: URL) throws {
        let stored = try JSONDecoder().decode([StoredMailbox].self, from: Data(contentsOf: path))
        for box in stored {
            let mailbox = mailboxes[box.address] ?? SimMailbox(address: box.address)
            mailbox.folders = Dictionary(uniqueKeysWithValues: box.folders.map { ($0.id, $0) })
            mailbox.logs = box.logs
            mailbox.sequence = box.sequence
            for item in box.items {
                let element = try XMLStreamParser.parse(item.xml)
                mailbox.items[item.id] = SimItem(
                    id: item.id, changeKey: item.changeKey, folderID: item.folderID, elementName: item.elementName,
                    properties: element.children, createdSequence: item.createdSequence, version: item.version,
                    propertyVersions: item.propertyVersions, changeKeyVersions: [item.changeKey: item.version],
                    created: item.created,
                    modified: item.modified, attachments: item.attachments ?? [], isDraft: item.isDraft ?? false,
                    sent: item.sent, received: item.received)
                itemIndex[item.id] = box.address
                for stored in item.exceptions ?? [] {
                    let properties = try XMLStreamParser.parse(stored.xml).children
                    mailbox.items[item.id]?.exceptions[stored.originalStart] = SimOccurrence(
                        id: stored.id, originalStart: stored.originalStart, properties: properties,
                        deleted: Set(stored.deleted ?? []))
                    occurrenceIndex[stored.id] = item.id
                }
                mailbox.items[item.id]?.deletedOccurrences = item.deletedOccurrences ?? []
            }
            mailboxes[box.address] = mailbox
        }
    }
}

/// Saving and loading the WebDAV view of the mailboxes, beside the state file (`FILE.webdav.json`).
extension SimService {
    struct StoredDAVMailbox: Codable {
        var address: String
        var folders: [SimDAVFolder]
        var articleCounter: Int
    }

    var davStatePath: URL? { options.statePath.map { URL(fileURLWithPath: $0.path + ".webdav.json") } }

    func saveDAV() {
        guard let path = davStatePath else { return }
        let stored = davMailboxes.values.sorted { $0.address < $1.address }.map {
            StoredDAVMailbox(address: $0.address, folders: Array($0.folders.values), articleCounter: $0.articleCounter)
        }
        if let data = try? JSONEncoder().encode(stored) { try? data.write(to: path, options: .atomic) }
    }

    func loadDAV() throws {
        guard let path = davStatePath, FileManager.default.fileExists(atPath: path.path) else { return }
        for box in try JSONDecoder().decode([StoredDAVMailbox].self, from: Data(contentsOf: path)) {
            let mailbox = SimDAVMailbox(address: box.address, language: options.davLanguage)
            mailbox.folders = Dictionary(uniqueKeysWithValues: box.folders.map { ($0.key, $0) })
            mailbox.articleCounter = box.articleCounter
            davMailboxes[box.address] = mailbox
        }
    }
}
