import EWS
import Foundation
import XML

extension SimService {
    /// What a request asks to see of each item.
    struct Shape {
        var idOnly: Bool
        var additional: [PropertyPath]

        init(_ element: XMLElement?) {
            idOnly = (element?.string("BaseShape") ?? "IdOnly") == "IdOnly"
            additional = element?.child("AdditionalProperties")?.children.compactMap(PropertyPath.init) ?? []
        }
    }

    static let itemClasses = [
        "Contact": "IPM.Contact", "CalendarItem": "IPM.Appointment", "Task": "IPM.Task", "Message": "IPM.Note",
    ]
    static let defaultFolders = [
        "Contact": "contacts", "CalendarItem": "calendar", "Task": "tasks", "Message": "drafts",
    ]

    /// Stored plus computed properties of an item (computed: ItemClass, dates, calendar type).
    func allProperties(_ item: SimItem) -> [XMLElement] {
        func element(_ name: String, _ text: String) -> XMLElement {
            XMLElement(name: name, namespace: EWSNamespace.types, text: text)
        }
        var properties = item.properties
        properties.append(element("ItemClass", Self.itemClasses[item.elementName] ?? "IPM.Note"))
        properties.append(element("DateTimeCreated", EWSDate.format(item.created)))
        properties.append(element("LastModifiedTime", EWSDate.format(item.modified)))
        if !item.attachments.isEmpty { properties.append(Self.attachmentsElement(item)) }
        properties.append(element("HasAttachments", item.attachments.isEmpty ? "false" : "true"))
        if item.elementName == "Message" {
            properties.append(element("DateTimeReceived", EWSDate.format(item.received ?? item.created)))
            properties.append(element("IsDraft", item.isDraft ? "true" : "false"))
            if let sent = item.sent { properties.append(element("DateTimeSent", EWSDate.format(sent))) }
            // PR_MESSAGE_SIZE, roughly: the stored properties as XML plus the attachments' bytes.
            let size =
                item.properties.reduce(0) { $0 + $1.xml.utf8.count }
                + item.attachments.reduce(0) { $0 + $1.content.count }
            properties.append(element("Size", "\(size)"))
        }
        if item.elementName == "CalendarItem" {
            properties += occurrenceProperties(item)
            let recurring = item.properties.contains { $0.name == "Recurrence" }
            properties.append(element("IsRecurring", recurring || item.occurrenceType != nil ? "true" : "false"))
            properties.append(
                element("CalendarItemType", item.occurrenceType ?? (recurring ? "RecurringMaster" : "Single")))
        }
        if item.elementName == "Task" {
            properties.append(
                element(
                    "IsComplete", item.properties.first { $0.name == "Status" }?.text == "Completed" ? "true" : "false")
            )
        }
        return properties
    }

    /// Properties FindItem refuses when asked for by name ("The property Body can't be used in
    /// FindItem requests.", ErrorInvalidPropertyRequest).
    static let refusedByFindItem: Set<String> = ["Body", "UniqueBody", "MimeContent"]
    /// Properties FindItem does not return (message bodies and recipient lists; GetItem has them).
    static let withheldByFindItem: Set<String> = [
        "Body", "UniqueBody", "MimeContent", "Attachments", "ToRecipients", "CcRecipients", "BccRecipients",
        "RequiredAttendees", "OptionalAttendees", "Resources",
    ]

    func writeItem(_ item: SimItem, _ mailbox: SimMailbox, shape: Shape, findItem: Bool = false, _ w: inout XMLWriter) {
        var all = allProperties(item)
        if findItem { all.removeAll { Self.withheldByFindItem.contains($0.name) } }
        var chosen: [XMLElement] = []
        if !shape.idOnly {
            chosen = all.filter { $0.name != "ExtendedProperty" }
        }
        for path in shape.additional {
            guard let value = path.extract(from: all) else { continue }
            switch path {
            case .indexed(let container, _, _):
                guard let index = chosen.firstIndex(where: { $0.name == container }) else {
                    chosen.append(value)
                    continue
                }
                // One entry per key, as Exchange answers: the parts of a physical address asked
                // for one by one (City, Street, …) go into the entry of their key, in schema order.
                for entry in value.children {
                    guard
                        let existing = chosen[index].children.firstIndex(where: {
                            $0.attributes["Key"] == entry.attributes["Key"]
                        })
                    else {
                        chosen[index].children.append(entry)
                        continue
                    }
                    var merged = chosen[index].children[existing]
                    guard !merged.children.isEmpty, !entry.children.isEmpty else { continue }
                    for part in entry.children where !merged.children.contains(where: { $0.name == part.name }) {
                        merged.children.append(part)
                    }
                    merged.children = catalog.sorted(merged.children, ofType: "PhysicalAddressDictionaryEntryType")
                    chosen[index].children[existing] = merged
                }
            case .field(let name):
                // A whole dictionary asked for after some of its entries replaces them.
                if let index = chosen.firstIndex(where: { $0.name == name }) {
                    chosen[index] = value
                } else {
                    chosen.append(value)
                }
            case .extended:
                if !chosen.contains(value) { chosen.append(value) }
            }
        }
        chosen.insert(
            XMLElement(
                name: "ItemId", namespace: EWSNamespace.types, attributes: ["Id": item.id, "ChangeKey": item.changeKey]),
            at: 0)
        if !shape.idOnly {
            chosen.insert(
                XMLElement(
                    name: "ParentFolderId", namespace: EWSNamespace.types,
                    attributes: ["Id": item.folderID, "ChangeKey": mailbox.folders[item.folderID]?.changeKey ?? ""]),
                at: 1)
        }
        let ordered = catalog.sorted(chosen, ofItem: item.elementName)
        w.element("t:\(item.elementName)") { w in for property in ordered { SimWriter.write(property, &w) } }
    }

    // MARK: SyncFolderItems

    func syncState(folder: String, sequence: Int) -> String {
        Data("SS1:\(folder):\(sequence):\(Self.checksum("\(folder):\(sequence)"))".utf8).base64EncodedString()
    }

    static func checksum(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }

    func parseSyncState(_ state: String, folder: String) -> Int? {
        guard let data = Data(base64Encoded: state), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 4, parts[0] == "SS1", String(parts[1]) == folder, let sequence = Int(parts[2]),
            UInt32(parts[3]) == Self.checksum("\(folder):\(sequence)")
        else { return nil }
        return sequence
    }

    func syncFolderItems(_ operation: XMLElement, _ context: Context) throws -> Data {
        guard let reference = operation.child("SyncFolderId")?.children.first else {
            throw SimFault(code: "ErrorInvalidRequest", message: "SyncFolderId is missing.")
        }
        let shape = Shape(operation.child("ItemShape"))
        let maximum = min(512, Int(operation.string("MaxChangesReturned") ?? "512") ?? 512)
        let ignore = Set(operation.child("Ignore")?.children.compactMap { $0.attributes["Id"] } ?? [])
        return SimWriter.operation(
            "SyncFolderItems",
            perItem([reference], operation: "SyncFolderItems", container: nil) { reference, _ in
                let (mailbox, folder) = try self.folder(reference, context)
                var since = 0
                if let state = operation.string("SyncState"), !state.isEmpty {
                    guard let parsed = self.parseSyncState(state, folder: folder.id) else {
                        throw SimItemError(
                            code: "ErrorInvalidSyncStateData",
                            message: "Synchronization state data is corrupt or otherwise invalid.")
                    }
                    since = parsed
                }
                // The last change of each item after `since`, in order.
                var last: [String: Int] = [:]
                var kinds: [String: Set<SimLogEntry.Kind>] = [:]
                for entry in mailbox.logs[folder.id] ?? [] where entry.sequence > since {
                    last[entry.itemID] = entry.sequence
                    kinds[entry.itemID, default: []].insert(entry.kind)
                }
                let ordered = last.sorted { $0.value < $1.value }.filter { !ignore.contains($0.key) }
                var changes: [(inout XMLWriter) -> Void] = []
                var newState = mailbox.sequence
                var included = 0
                for (id, sequence) in ordered {
                    if included == maximum {
                        newState = ordered[ordered.firstIndex { $0.key == id }! - 1].value
                        break
                    }
                    if let item = mailbox.items[id], item.folderID == folder.id {
                        let kind = kinds[id] ?? []
                        if item.createdSequence > since && kind.contains(.create) {
                            changes.append { w in
                                w.element("t:Create") { w in
                                    self.writeItem(item, mailbox, shape: shape, findItem: true, &w)
                                }
                            }
                        } else if kind == [.readFlag] {
                            let read = item.properties.first { $0.name == "IsRead" }?.text ?? "false"
                            changes.append { w in
                                w.element("t:ReadFlagChange") { w in
                                    w.start("t:ItemId", [("Id", id), ("ChangeKey", item.changeKey)])
                                    w.end()
                                    w.element("t:IsRead", read)
                                }
                            }
                        } else {
                            changes.append { w in
                                w.element("t:Update") { w in
                                    self.writeItem(item, mailbox, shape: shape, findItem: true, &w)
                                }
                            }
                        }
                    } else {
                        // Gone (deleted or moved away). Items created and removed since the state never show.
                        if kinds[id]?.contains(.create) == true
                            && !(self.existedBefore(id, folder: folder.id, since: since, mailbox))
                        {
                            continue
                        }
                        changes.append { w in
                            w.element("t:Delete") { w in
                                w.start("t:ItemId", [("Id", id)])
                                w.end()
                            }
                        }
                    }
                    included += 1
                    _ = sequence
                }
                let complete = included < maximum || ordered.count <= maximum
                let state = self.syncState(folder: folder.id, sequence: complete ? mailbox.sequence : newState)
                return { w in
                    w.element("m:SyncState", state)
                    w.element("m:IncludesLastItemInRange", complete ? "true" : "false")
                    w.element("m:Changes") { w in for change in changes { change(&w) } }
                }
            })
    }

    func existedBefore(_ id: String, folder: String, since: Int, _ mailbox: SimMailbox) -> Bool {
        (mailbox.logs[folder] ?? []).contains { $0.itemID == id && $0.sequence <= since }
    }

    // MARK: GetItem

    func getItem(_ operation: XMLElement, _ context: Context) throws -> Data {
        let shape = Shape(operation.child("ItemShape"))
        let ids = operation.child("ItemIds")?.children ?? []
        return SimWriter.operation(
            "GetItem",
            perItem(ids, operation: "GetItem") { reference, _ in
                if let (mailbox, master, original) = try self.occurrence(reference, context) {
                    let occurrence = self.occurrenceItem(master, original)
                    return { w in w.element("m:Items") { w in self.writeItem(occurrence, mailbox, shape: shape, &w) } }
                }
                let (mailbox, item) = try self.item(reference.attributes["Id"], context)
                return { w in w.element("m:Items") { w in self.writeItem(item, mailbox, shape: shape, &w) } }
            })
    }

    // MARK: CreateItem

    func createItem(_ operation: XMLElement, _ context: Context) throws -> Data {
        let items = operation.child("Items")?.children ?? []
        let disposition = operation.attributes["MessageDisposition"]
        if items.contains(where: { $0.name == "Message" }) && disposition == nil {
            throw SimFault(
                code: "ErrorMessageDispositionRequired", message: "MessageDisposition is required for messages.")
        }
        if items.contains(where: { $0.name == "CalendarItem" }) && operation.attributes["SendMeetingInvitations"] == nil
        {
            throw SimFault(
                code: "ErrorSendMeetingInvitationsRequired",
                message: "SendMeetingInvitations is required for calendar items.")
        }
        let target = operation.child("SavedItemFolderId")?.children.first
        return SimWriter.operation(
            "CreateItem",
            perItem(items, operation: "CreateItem") { element, _ in
                let sent = element.name == "Message" && (disposition == "SendOnly" || disposition == "SendAndSaveCopy")
                if disposition == "SendOnly" {
                    // Sent and gone: Exchange keeps no copy and answers with an empty Items.
                    _ = try self.prepare(element, disposition: disposition, id: SimIDs.item())
                    if sent { self.operationCounts["messagesSent", default: 0] += 1 }
                    return { w in w.element("m:Items") { _ in } }
                }
                let (mailbox, folder): (SimMailbox, SimFolder)
                if let target {
                    (mailbox, folder) = try self.folder(target, context)
                } else {
                    let box = try self.mailbox(nil, context)
                    let name =
                        disposition == "SendAndSaveCopy" ? "sentitems" : Self.defaultFolders[element.name] ?? "drafts"
                    guard let found = box.folder(distinguished: name) else {
                        throw SimItemError(code: "ErrorFolderNotFound", message: "No \(name) folder.")
                    }
                    (mailbox, folder) = (box, found)
                }
                let item = try self.insert(element, into: folder, mailbox, disposition: disposition)
                if sent {
                    // Not part of Exchange: counted so tests can assert that nothing was ever sent.
                    self.operationCounts["messagesSent", default: 0] += 1
                    // Exchange sends asynchronously and returns no id for the saved copy.
                    return { w in w.element("m:Items") { _ in } }
                }
                return { w in
                    w.element("m:Items") { w in
                        w.element("t:\(item.elementName)") { w in
                            w.start("t:ItemId", [("Id", item.id), ("ChangeKey", item.changeKey)])
                            w.end()
                        }
                    }
                }
            })
    }

    /// Elements of a CreateItem that are not stored as properties.
    static let notStored: Set<String> = [
        "ItemId", "ParentFolderId", "ItemClass", "CalendarItemType", "IsRecurring", "Attachments",
    ]

    /// An item about to be created: its stored properties, attachments and message state.
    struct PreparedItem {
        var properties: [XMLElement]
        var attachments: [SimAttachment]
        var isDraft = false
        var sent: Date?
        var received: Date?
    }

    /// Checks and reads a CreateItem element: computed properties are refused
    /// (ErrorInvalidPropertySet), attachments are split off, and for messages the draft state,
    /// read flag and dates follow PR_MESSAGE_FLAGS, PR_MESSAGE_DELIVERY_TIME and PR_CLIENT_SUBMIT_TIME.
    func prepare(_ element: XMLElement, disposition: String?, id: String, now: Date = Date()) throws -> PreparedItem {
        if let computed = element.children.first(where: { Self.computedFields.contains($0.name) }) {
            throw Self.invalidSet(computed.name)
        }
        var properties = catalog.sorted(
            catalog.canonicalBooleans(element.children.filter { !Self.notStored.contains($0.name) }),
            ofItem: element.name)
        if element.name == "Task" { try prepareTaskState(element, &properties, now: now) }
        var prepared = PreparedItem(
            properties: properties, attachments: try parseAttachments(element.child("Attachments"), itemID: id))
        guard element.name == "Message" else { return prepared }
        let flags = Self.extendedValue(Tag.messageFlags, in: properties).flatMap { Int($0) }
        prepared.received = Self.extendedValue(Tag.deliveryTime, in: properties).flatMap(EWSDate.parse)
        prepared.sent = Self.extendedValue(Tag.clientSubmitTime, in: properties).flatMap(EWSDate.parse)
        if disposition == "SaveOnly" || disposition == nil {
            // MSGFLAG_UNSENT (0x8): without PR_MESSAGE_FLAGS every saved message is a draft.
            prepared.isDraft = flags.map { $0 & 0x8 != 0 } ?? true
        }
        if !prepared.isDraft && prepared.sent == nil { prepared.sent = now }
        if !properties.contains(where: { $0.name == "IsRead" }) {
            // MSGFLAG_READ (0x1); a message the owner saves without flags is read, as in Outlook.
            let read = flags.map { $0 & 0x1 != 0 } ?? true
            properties.append(XMLElement(name: "IsRead", namespace: EWSNamespace.types, text: read ? "true" : "false"))
            prepared.properties = catalog.sorted(properties, ofItem: element.name)
        }
        return prepared
    }

    @discardableResult
    func insert(_ element: XMLElement, into folder: SimFolder, _ mailbox: SimMailbox, disposition: String? = nil)
        throws -> SimItem
    {
        let id = SimIDs.item()
        let now = Date()
        let prepared = try prepare(element, disposition: disposition, id: id, now: now)
        let sequence = mailbox.nextSequence()
        let changeKey = SimIDs.changeKey(1)
        var item = SimItem(
            id: id, changeKey: changeKey, folderID: folder.id, elementName: element.name,
            properties: prepared.properties,
            createdSequence: sequence, version: 1, propertyVersions: [:], changeKeyVersions: [changeKey: 1],
            created: now, modified: now, attachments: prepared.attachments, isDraft: prepared.isDraft,
            sent: prepared.sent, received: prepared.received)
        for path in PropertyPath.paths(of: prepared.properties) { item.propertyVersions[path.conflictKey] = 1 }
        mailbox.items[item.id] = item
        itemIndex[item.id] = mailbox.address
        mailbox.logs[folder.id, default: []].append(SimLogEntry(sequence: sequence, itemID: item.id, kind: .create))
        return item
    }

    // MARK: UpdateItem

    func updateItem(_ operation: XMLElement, _ context: Context) throws -> Data {
        let resolution = operation.attributes["ConflictResolution"] ?? "AutoResolve"
        let changes = operation.child("ItemChanges")?.children ?? []
        return SimWriter.operation(
            "UpdateItem",
            perItem(changes, operation: "UpdateItem") { change, _ in
                if let target = change.child("OccurrenceItemId") ?? change.child("ItemId"),
                    let (mailbox, master, original) = try self.occurrence(target, context)
                {
                    let id = try self.updateOccurrence(
                        mailbox, master, original, change.child("Updates")?.children ?? [])
                    let changeKey = mailbox.items[master.id]?.changeKey ?? ""
                    return { w in
                        w.element("m:Items") { w in
                            w.element("t:CalendarItem") { w in
                                w.start("t:ItemId", [("Id", id), ("ChangeKey", changeKey)])
                                w.end()
                            }
                        }
                        w.element("m:ConflictResults") { w in w.element("t:Count", "0") }
                    }
                }
                guard let reference = change.child("ItemId") else {
                    throw SimItemError(
                        code: "ErrorInvalidRequest", message: "Only ItemId targets are supported by the simulator.")
                }
                var (mailbox, item) = try self.item(reference.attributes["Id"], context)
                let updates = change.child("Updates")?.children ?? []
                let paths = updates.compactMap { update in update.children.first.flatMap(PropertyPath.init) }
                if let key = reference.attributes["ChangeKey"], key != item.changeKey {
                    switch resolution {
                    case "AlwaysOverwrite": break
                    case "NeverOverwrite":
                        throw SimItemError(
                            code: "ErrorIrresolvableConflict",
                            message:
                                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
                        )
                    default:
                        let since = item.changeKeyVersions[key] ?? 0
                        if since == 0 || paths.contains(where: { (item.propertyVersions[$0.conflictKey] ?? 0) > since })
                        {
                            throw SimItemError(
                                code: "ErrorIrresolvableConflict",
                                message:
                                    "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
                            )
                        }
                    }
                } else if reference.attributes["ChangeKey"] == nil && resolution != "AlwaysOverwrite" {
                    throw SimItemError(
                        code: "ErrorChangeKeyRequired",
                        message:
                            "When making a request that uses AutoResolve or NeverOverwrite, a change key is required.")
                }
                var readFlagOnly = true
                let taskBefore = item.elementName == "Task" ? TaskState(item.properties) : nil
                var taskState = taskBefore
                let now = Date()
                for update in updates {
                    guard let pathElement = update.children.first, let path = PropertyPath(pathElement) else {
                        throw SimItemError(
                            code: "ErrorInvalidPropertyRequest", message: "The property path is not valid.")
                    }
                    if case .field(let name) = path, name != "IsRead" {
                        readFlagOnly = false
                    } else if case .field = path {
                    } else {
                        readFlagOnly = false
                    }
                    if case .field(let name) = path, Self.computedFields.contains(name) {
                        throw Self.invalidSet(name)
                    }
                    switch update.name {
                    case "SetItemField", "AppendToItemField":
                        guard let payload = update.children.dropFirst().first, payload.children.count == 1,
                            let value = payload.children.first
                        else {
                            throw SimItemError(
                                code: "ErrorIncorrectUpdatePropertyCount",
                                message:
                                    "An object within a change description must contain one and only one property to modify."
                            )
                        }
                        var newValue = self.catalog.canonicalBooleans([value])[0]
                        if update.name == "AppendToItemField", let existing = path.extract(from: item.properties) {
                            newValue.text = existing.text + value.text
                        }
                        if var state = taskState, case .field(let name) = path, Self.taskStateFields.contains(name) {
                            try state.set(newValue, now: now)
                            state.write(to: &item.properties, catalog: self.catalog)
                            taskState = state
                        } else {
                            path.set(
                                newValue, in: &item.properties, catalog: self.catalog, itemElement: item.elementName)
                        }
                    case "DeleteItemField":
                        path.delete(from: &item.properties)
                        if let state = taskState { taskState = TaskState(item.properties, given: state.given) }
                    default:
                        throw SimItemError(code: "ErrorInvalidRequest", message: "Unknown change \(update.name).")
                    }
                }
                var changed = paths
                if let taskBefore, let final = taskState?.finished() {
                    final.write(to: &item.properties, catalog: self.catalog)
                    // What a status change did to the other two counts as changed for conflicts.
                    if final.status != taskBefore.status { changed.append(.field("Status")) }
                    if final.percent != taskBefore.percent { changed.append(.field("PercentComplete")) }
                    if final.completeDate != taskBefore.completeDate { changed.append(.field("CompleteDate")) }
                }
                item.version += 1
                item.changeKey = SimIDs.changeKey(item.version)
                item.changeKeyVersions[item.changeKey] = item.version
                item.modified = Date()
                for path in changed { item.propertyVersions[path.conflictKey] = item.version }
                mailbox.items[item.id] = item
                mailbox.log(item.folderID, item.id, readFlagOnly && item.elementName == "Message" ? .readFlag : .update)
                let updated = item
                return { w in
                    w.element("m:Items") { w in
                        w.element("t:\(updated.elementName)") { w in
                            w.start("t:ItemId", [("Id", updated.id), ("ChangeKey", updated.changeKey)])
                            w.end()
                        }
                    }
                    w.element("m:ConflictResults") { w in w.element("t:Count", "0") }
                }
            })
    }

    // MARK: DeleteItem, MoveItem

    func deleteItem(_ operation: XMLElement, _ context: Context) throws -> Data {
        let deleteType = operation.attributes["DeleteType"] ?? "HardDelete"
        let ids = operation.child("ItemIds")?.children ?? []
        return SimWriter.operation(
            "DeleteItem",
            perItem(ids, operation: "DeleteItem", container: nil) { reference, _ in
                if let (mailbox, master, original) = try self.occurrence(reference, context) {
                    self.deleteOccurrence(mailbox, master, original)
                    return { _ in }
                }
                let (mailbox, item) = try self.item(reference.attributes["Id"], context)
                if deleteType == "MoveToDeletedItems", let trash = mailbox.folder(distinguished: "deleteditems"),
                    item.folderID != trash.id
                {
                    self.move(item, to: trash, mailbox)
                } else {
                    mailbox.items.removeValue(forKey: item.id)
                    self.itemIndex.removeValue(forKey: item.id)
                    mailbox.log(item.folderID, item.id, .delete)
                }
                return { _ in }
            })
    }

    @discardableResult
    func move(_ item: SimItem, to folder: SimFolder, _ mailbox: SimMailbox) -> SimItem {
        mailbox.items.removeValue(forKey: item.id)
        itemIndex.removeValue(forKey: item.id)
        mailbox.log(item.folderID, item.id, .delete)
        var moved = item
        moved.id = SimIDs.item()
        moved.folderID = folder.id
        moved.version += 1
        moved.changeKey = SimIDs.changeKey(moved.version)
        moved.changeKeyVersions = [moved.changeKey: moved.version]
        moved.createdSequence = mailbox.nextSequence()
        // Attachment ids embed the item's id, so they change with it (as Exchange's do).
        for index in moved.attachments.indices { moved.attachments[index].id = SimIDs.attachment(item: moved.id) }
        mailbox.items[moved.id] = moved
        itemIndex[moved.id] = mailbox.address
        mailbox.logs[folder.id, default: []].append(
            SimLogEntry(sequence: moved.createdSequence, itemID: moved.id, kind: .create))
        return moved
    }

    func moveItem(_ operation: XMLElement, _ context: Context) throws -> Data {
        guard let target = operation.child("ToFolderId")?.children.first else {
            throw SimFault(code: "ErrorInvalidRequest", message: "ToFolderId is missing.")
        }
        let ids = operation.child("ItemIds")?.children ?? []
        return SimWriter.operation(
            "MoveItem",
            perItem(ids, operation: "MoveItem") { reference, _ in
                let (mailbox, item) = try self.item(reference.attributes["Id"], context)
                let (targetMailbox, folder) = try self.folder(target, context)
                guard targetMailbox === mailbox else {
                    throw SimItemError(
                        code: "ErrorMoveCopyFailed", message: "Moves between mailboxes are not supported.")
                }
                let moved = self.move(item, to: folder, mailbox)
                return { w in
                    w.element("m:Items") { w in
                        w.element("t:\(moved.elementName)") { w in
                            w.start("t:ItemId", [("Id", moved.id), ("ChangeKey", moved.changeKey)])
                            w.end()
                        }
                    }
                }
            })
    }

    // MARK: FindItem

    func findItem(_ operation: XMLElement, _ context: Context) throws -> Data {
        let shape = Shape(operation.child("ItemShape"))
        let parents = operation.child("ParentFolderIds")?.children ?? []
        if let view = operation.child("CalendarView") {
            return try calendarView(view, shape: shape, parents: parents, context)
        }
        let restriction = operation.child("Restriction")?.children.first
        let view = operation.child("IndexedPageItemView")
        let limit = view.flatMap { Int($0.attributes["MaxEntriesReturned"] ?? "") } ?? Int.max
        let offset = view.flatMap { Int($0.attributes["Offset"] ?? "") } ?? 0
        return SimWriter.operation(
            "FindItem",
            perItem(parents, operation: "FindItem", container: nil) { reference, _ in
                for case .field(let name) in shape.additional where Self.refusedByFindItem.contains(name) {
                    throw SimItemError(
                        code: "ErrorInvalidPropertyRequest",
                        message: "The property \(name) can't be used in FindItem requests.")
                }
                let (mailbox, folder) = try self.folder(reference, context)
                let matching = mailbox.items.values.filter { $0.folderID == folder.id }
                    .filter { item in restriction.map { self.matches($0, self.allProperties(item)) } ?? true }
                    .sorted { $0.createdSequence < $1.createdSequence }
                let page = Array(matching.dropFirst(offset).prefix(limit))
                let last = offset + page.count >= matching.count
                return { w in
                    w.element(
                        "m:RootFolder",
                        [
                            ("IndexedPagingOffset", "\(offset + page.count)"),
                            ("TotalItemsInView", "\(matching.count)"),
                            ("IncludesLastItemInRange", last ? "true" : "false"),
                        ]
                    ) { w in
                        w.element("t:Items") { w in
                            for item in page { self.writeItem(item, mailbox, shape: shape, findItem: true, &w) }
                        }
                    }
                }
            })
    }

    /// Evaluates a restriction (`IsEqualTo`, `Exists`, `And`, `Or`, `Not`) against an item's properties.
    func matches(_ restriction: XMLElement, _ properties: [XMLElement]) -> Bool {
        switch restriction.name {
        case "And": return restriction.children.allSatisfy { matches($0, properties) }
        case "Or": return restriction.children.contains { matches($0, properties) }
        case "Not": return !(restriction.children.first.map { matches($0, properties) } ?? false)
        case "Exists":
            return restriction.children.first.flatMap(PropertyPath.init).flatMap { $0.extract(from: properties) } != nil
        case "IsEqualTo":
            guard let path = restriction.children.first.flatMap(PropertyPath.init),
                let constant = restriction.child("FieldURIOrConstant")?.child("Constant")?.attributes["Value"],
                let value = path.extract(from: properties)
            else { return false }
            let text = value.name == "ExtendedProperty" ? value.string("Value") ?? "" : value.text
            return text.caseInsensitiveCompare(constant) == .orderedSame
        default:
            return false
        }
    }
}
