import EWS
import Foundation
import XML

/// File and item attachments (inline in CreateItem, CreateAttachment, GetAttachment,
/// DeleteAttachment) and the computed message properties Exchange derives from MAPI flags.
extension SimService {
    /// Properties Exchange computes itself: setting one in CreateItem or UpdateItem fails that item
    /// with ErrorInvalidPropertySet.
    static let computedFields: Set<String> = [
        "DateTimeSent", "DateTimeReceived", "IsDraft", "HasAttachments", "Size", "DateTimeCreated", "LastModifiedTime",
    ]

    static func invalidSet(_ name: String) -> SimItemError {
        SimItemError(
            code: "ErrorInvalidPropertySet", message: "Set action is invalid for property.", fieldURI: "item:\(name)")
    }

    /// MAPI property tags the simulator interprets.
    enum Tag {
        static let messageFlags = 0x0E07  // PR_MESSAGE_FLAGS
        static let deliveryTime = 0x0E06  // PR_MESSAGE_DELIVERY_TIME
        static let clientSubmitTime = 0x0039  // PR_CLIENT_SUBMIT_TIME
    }

    /// The numeric PropertyTag of an `ExtendedFieldURI` ("0x0E07" or "3591"); nil for named properties.
    static func propertyTag(_ attributes: [String: String]) -> Int? {
        guard let tag = attributes["PropertyTag"] else { return nil }
        if tag.lowercased().hasPrefix("0x") { return Int(tag.dropFirst(2), radix: 16) }
        return Int(tag)
    }

    /// The value of a tagged extended property among an item's properties.
    static func extendedValue(_ tag: Int, in properties: [XMLElement]) -> String? {
        properties.first { property in
            property.name == "ExtendedProperty"
                && property.child("ExtendedFieldURI").flatMap { propertyTag($0.attributes) } == tag
        }?.string("Value")
    }

    // MARK: Reading attachments from requests

    /// The attachments of a `t:Attachments` element, with new ids for `itemID`.
    func parseAttachments(_ container: XMLElement?, itemID: String) throws -> [SimAttachment] {
        try (container?.children ?? []).map { try parseAttachment($0, itemID: itemID) }
    }

    /// The kinds of item an item attachment may hold here.
    static let attachableItems: Set<String> = ["Item", "Message", "CalendarItem", "Contact", "Task"]

    func parseAttachment(_ element: XMLElement, itemID: String) throws -> SimAttachment {
        if element.name == "ItemAttachment" { return try parseItemAttachment(element, itemID: itemID) }
        guard element.name == "FileAttachment" else {
            throw SimItemError(
                code: "ErrorInvalidRequest",
                message: "The simulator supports file and item attachments, not \(element.name).")
        }
        let text = element.string("Content") ?? ""
        guard let content = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
            throw SimItemError(code: "ErrorInvalidRequest", message: "The attachment content is not valid base64.")
        }
        return SimAttachment(
            id: SimIDs.attachment(item: itemID), name: element.string("Name"),
            contentType: element.string("ContentType"),
            contentID: element.string("ContentId"), contentLocation: element.string("ContentLocation"),
            isInline: element.string("IsInline").map { $0 == "true" || $0 == "1" },
            isContactPhoto: element.string("IsContactPhoto").map { $0 == "true" || $0 == "1" }, content: content,
            modified: Date())
    }

    /// An item attachment: the attached item's properties are kept in schema order, and its MIME
    /// form is the `MimeContent` it was given or, as Exchange makes it, one written from them.
    func parseItemAttachment(_ element: XMLElement, itemID: String) throws -> SimAttachment {
        guard let item = element.children.first(where: { $0.name != "Name" && Self.attachableItems.contains($0.name) })
        else {
            let kind = element.children.last?.name ?? "no item"
            throw SimItemError(
                code: "ErrorInvalidRequest",
                message: "An item attachment needs a Message, CalendarItem, Contact, Task or Item; got \(kind).")
        }
        if item.child("Attachments") != nil {
            throw SimItemError(
                code: "ErrorInvalidRequest",
                message: "The simulator does not support attachments inside an attached item.")
        }
        if let computed = item.children.first(where: { Self.computedFields.contains($0.name) }) {
            throw Self.invalidSet(computed.name)
        }
        var mime = SimMIME.message(from: item)
        if let text = item.string("MimeContent") {
            guard let given = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw SimItemError(code: "ErrorInvalidRequest", message: "The MimeContent is not valid base64.")
            }
            mime = given
        }
        let properties = catalog.sorted(
            catalog.canonicalBooleans(
                item.children.filter { $0.name != "MimeContent" && !Self.notStored.contains($0.name) }),
            ofItem: item.name)
        let stored = XMLElement(name: item.name, namespace: EWSNamespace.types, children: properties)
        return SimAttachment(
            id: SimIDs.attachment(item: itemID), name: element.string("Name") ?? item.string("Subject"),
            contentType: element.string("ContentType"), contentID: element.string("ContentId"),
            contentLocation: element.string("ContentLocation"),
            isInline: element.string("IsInline").map { $0 == "true" || $0 == "1" }, isContactPhoto: nil,
            content: mime, modified: Date(), attachedItem: stored.xml)
    }

    // MARK: Writing attachments

    /// The metadata of an attachment as Exchange returns it in an item (no Content).
    static func attachmentElement(_ attachment: SimAttachment, root: (id: String, changeKey: String)? = nil)
        -> XMLElement
    {
        func element(_ name: String, _ text: String) -> XMLElement {
            XMLElement(name: name, namespace: EWSNamespace.types, text: text)
        }
        var idAttributes = ["Id": attachment.id]
        if let root {
            idAttributes["RootItemId"] = root.id
            idAttributes["RootItemChangeKey"] = root.changeKey
        }
        var children = [XMLElement(name: "AttachmentId", namespace: EWSNamespace.types, attributes: idAttributes)]
        if let name = attachment.name { children.append(element("Name", name)) }
        if let type = attachment.contentType { children.append(element("ContentType", type)) }
        if let id = attachment.contentID { children.append(element("ContentId", id)) }
        if let location = attachment.contentLocation { children.append(element("ContentLocation", location)) }
        children.append(element("Size", "\(attachment.content.count)"))
        children.append(element("LastModifiedTime", EWSDate.format(attachment.modified)))
        children.append(element("IsInline", attachment.isInline == true ? "true" : "false"))
        if !attachment.isItem {
            children.append(element("IsContactPhoto", attachment.isContactPhoto == true ? "true" : "false"))
        }
        return XMLElement(name: attachment.elementName, namespace: EWSNamespace.types, children: children)
    }

    /// `t:Attachments` with the metadata of every attachment.
    static func attachmentsElement(_ item: SimItem) -> XMLElement {
        XMLElement(
            name: "Attachments", namespace: EWSNamespace.types, children: item.attachments.map { attachmentElement($0) }
        )
    }

    /// A whole attachment: a file with its Content, an item with its properties and, when the
    /// request's AttachmentShape asks for it, its MimeContent. The base64 text is written as is (it
    /// has no characters to escape), so a 25 MB attachment costs one encoding pass.
    static func writeWithContent(_ attachment: SimAttachment, includeMime: Bool, _ w: inout XMLWriter) {
        w.element("t:\(attachment.elementName)") { w in
            for child in attachmentElement(attachment).children { SimWriter.write(child, &w) }
            guard let xml = attachment.attachedItem else {
                w.start("t:Content")
                w.raw(attachment.content.base64EncodedString())
                w.end()
                return
            }
            guard let item = try? XMLStreamParser.parse(Data(xml.utf8)) else { return }
            w.element("t:\(item.name)") { w in
                if includeMime {
                    w.start("t:MimeContent", [("CharacterSet", "UTF-8")])
                    w.raw(attachment.content.base64EncodedString())
                    w.end()
                }
                for property in item.children { SimWriter.write(property, &w) }
            }
        }
    }

    // MARK: Operations

    /// The item holding an attachment id. An id that does not decode is ErrorInvalidIdMalformed; a
    /// well-formed id whose attachment (or item) is gone is ErrorItemNotFound, which is what
    /// Exchange answers for GetAttachment on a deleted or moved item's attachment id.
    func attachment(_ id: String?, _ context: Context) throws -> (SimMailbox, SimItem, Int) {
        guard let id, let itemID = SimIDs.itemOfAttachment(id) else {
            throw SimItemError(code: "ErrorInvalidIdMalformed", message: "Id is malformed.")
        }
        let (mailbox, item) = try self.item(itemID, context)
        guard let index = item.attachments.firstIndex(where: { $0.id == id }) else {
            throw SimItemError(code: "ErrorItemNotFound", message: "The specified object was not found in the store.")
        }
        return (mailbox, item, index)
    }

    /// Stores a changed item as a new version and logs the update for SyncFolderItems.
    func saveVersion(_ item: inout SimItem, _ mailbox: SimMailbox, changed key: String) {
        item.version += 1
        item.changeKey = SimIDs.changeKey(item.version)
        item.changeKeyVersions[item.changeKey] = item.version
        item.modified = Date()
        item.propertyVersions[key] = item.version
        mailbox.items[item.id] = item
        mailbox.log(item.folderID, item.id, .update)
    }

    /// CreateAttachment: one response message per attachment; each attachment is saved to the
    /// item on its own, so each answer carries the change key after it (the last one is current).
    func createAttachment(_ operation: XMLElement, _ context: Context) throws -> Data {
        let parentID = operation.child("ParentItemId")?.attributes["Id"]
        let attachments = operation.child("Attachments")?.children ?? []
        return SimWriter.operation(
            "CreateAttachment",
            perItem(attachments, operation: "CreateAttachment", container: "Attachments") { element, _ in
                var (mailbox, item) = try self.item(parentID, context)
                let attachment = try self.parseAttachment(element, itemID: item.id)
                item.attachments.append(attachment)
                self.saveVersion(&item, mailbox, changed: "Attachments")
                let reply = Self.attachmentElement(attachment, root: (item.id, item.changeKey))
                return { w in
                    w.element("m:Attachments") { w in
                        w.element("t:\(attachment.elementName)") { w in
                            SimWriter.write(reply.children[0], &w)
                        }
                    }
                }
            })
    }

    func getAttachment(_ operation: XMLElement, _ context: Context) throws -> Data {
        let ids = operation.child("AttachmentIds")?.children ?? []
        let includeMime = ["true", "1"].contains(operation.child("AttachmentShape")?.string("IncludeMimeContent"))
        return SimWriter.operation(
            "GetAttachment",
            perItem(ids, operation: "GetAttachment", container: "Attachments") { reference, _ in
                let (_, item, index) = try self.attachment(reference.attributes["Id"], context)
                let attachment = item.attachments[index]
                return { w in
                    w.element("m:Attachments") { w in
                        Self.writeWithContent(attachment, includeMime: includeMime, &w)
                    }
                }
            })
    }

    func deleteAttachment(_ operation: XMLElement, _ context: Context) throws -> Data {
        let ids = operation.child("AttachmentIds")?.children ?? []
        return SimWriter.operation(
            "DeleteAttachment",
            perItem(ids, operation: "DeleteAttachment", container: nil) { reference, _ in
                var (mailbox, item, index) = try self.attachment(reference.attributes["Id"], context)
                item.attachments.remove(at: index)
                self.saveVersion(&item, mailbox, changed: "Attachments")
                let root = (item.id, item.changeKey)
                return { w in
                    w.start("m:RootItemId", [("RootItemId", root.0), ("RootItemChangeKey", root.1)])
                    w.end()
                }
            })
    }
}
