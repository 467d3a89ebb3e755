import ExchangeSim
import Foundation
import TestSupport
import Testing
import XML

/// Raw EWS requests against the simulator's service, each request and response checked against
/// Microsoft's 2010 SP2 schema.
struct SimSOAP {
    let service: SimService
    let statePath: URL?

    init(statePath: URL? = nil) throws {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test"]
        options.accounts = [SimAccount(name: "mm@example.test", password: "secret")]
        options.statePath = statePath
        self.statePath = statePath
        service = try SimService(options: options)
    }

    /// Sends one operation (the `m:` element) and returns its response messages.
    func call(_ operation: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [XMLElement] {
        let body = Data(
            """
            <?xml version="1.0" encoding="utf-8"?>
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" \
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">\
            <soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/></soap:Header>\
            <soap:Body>\(operation)</soap:Body></soap:Envelope>
            """.utf8)
        let requestErrors = Schemas.validator.validate(body)
        #expect(requestErrors.isEmpty, "request: \(requestErrors)", sourceLocation: sourceLocation)
        let (status, response) = service.handle(body: body, account: "mm@example.test")
        let responseErrors = Schemas.validator.validate(response)
        #expect(
            responseErrors.isEmpty,
            "response: \(responseErrors) in \(String(decoding: response.prefix(4000), as: UTF8.self))",
            sourceLocation: sourceLocation)
        #expect(
            status == 200, "\(String(decoding: response.prefix(4000), as: UTF8.self))", sourceLocation: sourceLocation)
        let root = try XMLStreamParser.parse(response)
        return root.child("Body")?.children.first?.child("ResponseMessages")?.children ?? []
    }

    /// CreateItem of messages; returns the response messages.
    func create(_ items: String, folder: String = "inbox", disposition: String = "SaveOnly") throws -> [XMLElement] {
        try call(
            """
            <m:CreateItem MessageDisposition="\(disposition)"><m:SavedItemFolderId>\
            <t:DistinguishedFolderId Id="\(folder)"/></m:SavedItemFolderId><m:Items>\(items)</m:Items></m:CreateItem>
            """)
    }

    /// The id and change key of a created item.
    func created(_ item: String, folder: String = "inbox") throws -> (id: String, changeKey: String) {
        let messages = try create(item, folder: folder)
        let id = messages.first?.path("Items", "Message", "ItemId")
        return (id?.attributes["Id"] ?? "", id?.attributes["ChangeKey"] ?? "")
    }

    /// GetItem with AllProperties plus `additional`; returns the item element.
    func get(_ id: String, additional: String = "") throws -> XMLElement? {
        let messages = try call(
            """
            <m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>\
            \(additional.isEmpty ? "" : "<t:AdditionalProperties>\(additional)</t:AdditionalProperties>")\
            </m:ItemShape><m:ItemIds><t:ItemId Id="\(id)"/></m:ItemIds></m:GetItem>
            """)
        return messages.first?.child("Items")?.children.first
    }

    func getAttachment(_ id: String) throws -> XMLElement? {
        try call(
            """
            <m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="\(id)"/></m:AttachmentIds></m:GetAttachment>
            """
        ).first
    }
}

func extended(_ tag: String, _ type: String, _ value: String) -> String {
    """
    <t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="\(tag)" PropertyType="\(type)"/>\
    <t:Value>\(value)</t:Value></t:ExtendedProperty>
    """
}

func fileAttachment(_ name: String, _ type: String, _ content: Data, contentID: String? = nil, inline: Bool = false)
    -> String
{
    "<t:FileAttachment><t:Name>\(name)</t:Name><t:ContentType>\(type)</t:ContentType>"
        + (contentID.map { "<t:ContentId>\($0)</t:ContentId>" } ?? "")
        + "<t:IsInline>\(inline)</t:IsInline><t:Content>\(content.base64EncodedString())</t:Content></t:FileAttachment>"
}

@Suite("exchange-sim: e-mail messages and file attachments")
struct SimMessageTests {
    @Test("SaveOnly with PR_MESSAGE_FLAGS=1: not a draft, read, dates from the delivery and submit times")
    func importedMessage() throws {
        let sim = try SimSOAP()
        let (id, _) = try sim.created(
            """
            <t:Message><t:Subject>Angebot</t:Subject><t:Body BodyType="HTML">&lt;p&gt;Hallo&lt;/p&gt;</t:Body>\
            <t:InReplyTo>&lt;prev@example.test&gt;</t:InReplyTo>\
            \(extended("0x0E07", "Integer", "1"))\(extended("3590", "SystemTime", "2024-03-01T10:00:00Z"))\
            \(extended("0x0039", "SystemTime", "2024-03-01T09:58:00Z"))\
            <t:Sender><t:Mailbox><t:EmailAddress>anna@example.test</t:EmailAddress></t:Mailbox></t:Sender>\
            <t:ToRecipients><t:Mailbox><t:Name>Max Müller</t:Name><t:EmailAddress>mm@example.test</t:EmailAddress>\
            </t:Mailbox></t:ToRecipients>\
            <t:CcRecipients><t:Mailbox><t:EmailAddress>cc@example.test</t:EmailAddress></t:Mailbox></t:CcRecipients>\
            <t:From><t:Mailbox><t:EmailAddress>anna@example.test</t:EmailAddress></t:Mailbox></t:From>\
            <t:InternetMessageId>&lt;a1@example.test&gt;</t:InternetMessageId>\
            <t:References>&lt;prev@example.test&gt;</t:References></t:Message>
            """)
        let item = try #require(
            try sim.get(id, additional: #"<t:ExtendedFieldURI PropertyTag="3591" PropertyType="Integer"/>"#))
        #expect(item.string("IsDraft") == "false")
        #expect(item.string("IsRead") == "true")
        #expect(item.string("DateTimeReceived") == "2024-03-01T10:00:00Z")
        #expect(item.string("DateTimeSent") == "2024-03-01T09:58:00Z")
        #expect(item.string("HasAttachments") == "false")
        #expect(Int(item.string("Size") ?? "") ?? 0 > 0)
        #expect(item.child("Body")?.attributes["BodyType"] == "HTML")
        #expect(item.string("InternetMessageId") == "<a1@example.test>")
        #expect(item.string("InReplyTo") == "<prev@example.test>")
        #expect(item.string("References") == "<prev@example.test>")
        #expect(item.path("From", "Mailbox")?.string("EmailAddress") == "anna@example.test")
        #expect(item.path("ToRecipients", "Mailbox")?.string("Name") == "Max Müller")
        #expect(item.path("CcRecipients", "Mailbox")?.string("EmailAddress") == "cc@example.test")
        // The flags are still there when asked for (by the decimal tag as well as the hex one).
        #expect(item.children("ExtendedProperty").map { $0.string("Value") } == ["1"])
    }

    @Test("FindItem refuses Body by name and leaves bodies and recipient lists out of AllProperties")
    func findItemShapes() throws {
        let sim = try SimSOAP()
        _ = try sim.created(
            """
            <t:Message><t:Subject>Suche</t:Subject><t:Body BodyType="Text">geheim</t:Body>\
            <t:ToRecipients><t:Mailbox><t:EmailAddress>mm@example.test</t:EmailAddress></t:Mailbox></t:ToRecipients>\
            <t:InternetMessageId>&lt;s1@example.test&gt;</t:InternetMessageId></t:Message>
            """)
        func find(_ shape: String) throws -> XMLElement? {
            try sim.call(
                """
                <m:FindItem Traversal="Shallow"><m:ItemShape>\(shape)</m:ItemShape>\
                <m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>
                """
            ).first
        }
        let refused = try #require(
            try find(
                #"<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/></t:AdditionalProperties>"#
            ))
        #expect(refused.string("ResponseCode") == "ErrorInvalidPropertyRequest")
        #expect(refused.string("MessageText") == "The property Body can't be used in FindItem requests.")
        let all = try #require(try find("<t:BaseShape>AllProperties</t:BaseShape>"))
        let item = try #require(all.path("RootFolder", "Items", "Message"))
        #expect(item.string("Subject") == "Suche")
        #expect(item.string("InternetMessageId") == "<s1@example.test>")
        #expect(item.child("Body") == nil && item.child("ToRecipients") == nil)
    }

    @Test("SaveOnly without flags: a draft without DateTimeSent; flags without the read bit leave it unread")
    func drafts() throws {
        let sim = try SimSOAP()
        let (draft, _) = try sim.created("<t:Message><t:Subject>Entwurf</t:Subject></t:Message>", folder: "drafts")
        let item = try #require(try sim.get(draft))
        #expect(item.string("IsDraft") == "true")
        #expect(item.child("DateTimeSent") == nil)
        #expect(item.string("DateTimeReceived") == item.string("DateTimeCreated"))

        let (unread, _) = try sim.created(
            "<t:Message><t:Subject>Neu</t:Subject>\(extended("0x0E07", "Integer", "0"))</t:Message>")
        let second = try #require(try sim.get(unread))
        #expect(second.string("IsDraft") == "false")
        #expect(second.string("IsRead") == "false")
        #expect(second.string("DateTimeSent") != nil)

        // An explicit IsRead wins over the flag.
        let (explicit, _) = try sim.created(
            "<t:Message>\(extended("0x0E07", "Integer", "1"))<t:IsRead>false</t:IsRead></t:Message>")
        #expect(try sim.get(explicit)?.string("IsRead") == "false")
    }

    @Test("read-only properties in CreateItem fail that item only with ErrorInvalidPropertySet")
    func readOnly() throws {
        let sim = try SimSOAP()
        let messages = try sim.create(
            """
            <t:Message><t:Subject>gut</t:Subject></t:Message>\
            <t:Message><t:Subject>schlecht</t:Subject><t:DateTimeSent>2024-01-01T00:00:00Z</t:DateTimeSent></t:Message>\
            <t:Message><t:Subject>auch schlecht</t:Subject><t:IsDraft>false</t:IsDraft></t:Message>
            """)
        #expect(messages.map { $0.attributes["ResponseClass"] } == ["Success", "Error", "Error"])
        #expect(messages[1].string("ResponseCode") == "ErrorInvalidPropertySet")
        #expect(messages[1].path("MessageXml", "FieldURI")?.attributes["FieldURI"] == "item:DateTimeSent")
        #expect(messages[2].string("ResponseCode") == "ErrorInvalidPropertySet")
        #expect(sim.service.itemCount(mailbox: "mm@example.test", folder: "inbox") == 1)

        // UpdateItem refuses them as well.
        let id = try #require(messages[0].path("Items", "Message", "ItemId")?.attributes["Id"])
        let update = try sim.call(
            """
            <m:UpdateItem MessageDisposition="SaveOnly" ConflictResolution="AlwaysOverwrite"><m:ItemChanges>\
            <t:ItemChange><t:ItemId Id="\(id)"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:IsDraft"/>\
            <t:Message><t:IsDraft>false</t:IsDraft></t:Message></t:SetItemField></t:Updates></t:ItemChange>\
            </m:ItemChanges></m:UpdateItem>
            """)
        #expect(update.first?.string("ResponseCode") == "ErrorInvalidPropertySet")
        #expect(try sim.get(id)?.string("IsDraft") == "true")
    }

    @Test("attachments in CreateItem: metadata in GetItem without Content, GetAttachment with the bytes")
    func inlineAttachments() throws {
        let sim = try SimSOAP()
        let pdf = Data((0..<3000).map { UInt8($0 % 251) })
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF])
        let (id, _) = try sim.created(
            """
            <t:Message><t:Subject>Exposé</t:Subject><t:Body BodyType="HTML">&lt;img src="cid:logo@x"&gt;</t:Body>\
            <t:Attachments>\(fileAttachment("Exposé Müller.pdf", "application/pdf", pdf))\
            \(fileAttachment("logo.png", "image/png", png, contentID: "logo@x", inline: true))</t:Attachments>\
            \(extended("0x0E07", "Integer", "1"))</t:Message>
            """)
        let item = try #require(try sim.get(id))
        #expect(item.string("HasAttachments") == "true")
        let attachments = item.child("Attachments")?.children ?? []
        #expect(attachments.map(\.name) == ["FileAttachment", "FileAttachment"])
        #expect(attachments.map { $0.string("Name") } == ["Exposé Müller.pdf", "logo.png"])
        #expect(attachments.allSatisfy { $0.child("Content") == nil })
        #expect(attachments.map { $0.string("Size") } == ["3000", "10"])
        #expect(attachments[1].string("ContentId") == "logo@x")
        #expect(attachments[1].string("IsInline") == "true")
        #expect(attachments.allSatisfy { $0.string("LastModifiedTime") != nil })
        let ids = attachments.compactMap { $0.child("AttachmentId")?.attributes["Id"] }
        #expect(Set(ids).count == 2)

        let first = try #require(try sim.getAttachment(ids[0]))
        let file = try #require(first.path("Attachments", "FileAttachment"))
        #expect(file.string("Name") == "Exposé Müller.pdf")
        #expect(file.string("ContentType") == "application/pdf")
        #expect(Data(base64Encoded: file.string("Content") ?? "") == pdf)
        let second = try #require(try sim.getAttachment(ids[1])?.path("Attachments", "FileAttachment"))
        #expect(Data(base64Encoded: second.string("Content") ?? "") == png)
        #expect(second.string("ContentId") == "logo@x")

        // Only AdditionalProperties item:Attachments with IdOnly: still metadata only.
        let shaped = try sim.call(
            """
            <m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
            <t:FieldURI FieldURI="item:Attachments"/><t:FieldURI FieldURI="item:HasAttachments"/>\
            </t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="\(id)"/></m:ItemIds></m:GetItem>
            """
        ).first?.path("Items", "Message")
        #expect(shaped?.child("Attachments")?.children.count == 2)
        #expect(shaped?.child("Subject") == nil)

        // A well-formed id of an attachment that is gone, and a malformed one.
        _ = try sim.call(
            """
            <m:DeleteAttachment><m:AttachmentIds><t:AttachmentId Id="\(ids[0])"/></m:AttachmentIds>\
            </m:DeleteAttachment>
            """)
        #expect(try sim.getAttachment(ids[0])?.string("ResponseCode") == "ErrorItemNotFound")
        #expect(try sim.getAttachment("bm90LWFuLWlk")?.string("ResponseCode") == "ErrorInvalidIdMalformed")
        #expect(try sim.get(id)?.child("Attachments")?.children.count == 1)
    }

    @Test(
        "CreateAttachment: a new ChangeKey, an Update in SyncFolderItems; attachments survive moves and the state file")
    func createAttachment() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: state) }
        let sim = try SimSOAP(statePath: state)
        let (id, changeKey) = try sim.created("<t:Message><t:Subject>Später</t:Subject></t:Message>")
        let sync = """
            <m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>\
            <t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>%@<m:MaxChangesReturned>100</m:MaxChangesReturned>\
            </m:SyncFolderItems>
            """
        let syncState = try sim.call(String(format: sync, "")).first?.string("SyncState") ?? ""

        let content = Data("Grüße aus Köln".utf8)
        let messages = try sim.call(
            """
            <m:CreateAttachment><m:ParentItemId Id="\(id)" ChangeKey="\(changeKey)"/><m:Attachments>\
            \(fileAttachment("Grüße.txt", "text/plain", content))</m:Attachments></m:CreateAttachment>
            """)
        #expect(messages.map(\.name) == ["CreateAttachmentResponseMessage"])
        let attachmentID = try #require(messages.first?.path("Attachments", "FileAttachment", "AttachmentId"))
        #expect(attachmentID.attributes["RootItemId"] == id)
        let newKey = try #require(attachmentID.attributes["RootItemChangeKey"])
        #expect(newKey != changeKey)
        #expect(try sim.get(id)?.child("ItemId")?.attributes["ChangeKey"] == newKey)
        #expect(try sim.get(id)?.string("HasAttachments") == "true")

        let changes = try sim.call(String(format: sync, "<m:SyncState>\(syncState)</m:SyncState>")).first?.child(
            "Changes")
        #expect(changes?.children.map(\.name) == ["Update"])
        #expect(changes?.child("Update")?.path("Message", "ItemId")?.attributes["Id"] == id)

        // An unknown parent fails the attachment with an (empty) Attachments container.
        let failed = try sim.call(
            """
            <m:CreateAttachment><m:ParentItemId Id="AAMkAGNvbmUu"/><m:Attachments>\
            \(fileAttachment("x.txt", "text/plain", content))</m:Attachments></m:CreateAttachment>
            """)
        #expect(failed.first?.string("ResponseCode") == "ErrorItemNotFound")

        // Moved to Deleted Items: a new item id, new attachment ids, the same bytes.
        _ = try sim.call(
            """
            <m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="\(id)"/></m:ItemIds></m:DeleteItem>
            """)
        #expect(
            try sim.getAttachment(attachmentID.attributes["Id"] ?? "")?.string("ResponseCode") == "ErrorItemNotFound")
        let moved = try sim.call(
            """
            <m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>\
            <m:ParentFolderIds><t:DistinguishedFolderId Id="deleteditems"/></m:ParentFolderIds></m:FindItem>
            """
        ).first?.path("RootFolder", "Items", "Message", "ItemId")?.attributes["Id"]
        let movedID = try #require(moved)
        #expect(movedID != id)

        // Loaded from the state file by a fresh simulator.
        let reloaded = try SimSOAP(statePath: state)
        let item = try #require(try reloaded.get(movedID))
        let newAttachmentID = try #require(item.path("Attachments", "FileAttachment", "AttachmentId")?.attributes["Id"])
        #expect(newAttachmentID != attachmentID.attributes["Id"])
        let file = try reloaded.getAttachment(newAttachmentID)?.path("Attachments", "FileAttachment")
        #expect(file?.string("Name") == "Grüße.txt")
        #expect(Data(base64Encoded: file?.string("Content") ?? "") == content)
        #expect(item.string("IsDraft") == "true")
    }

    @Test(
        "item attachments: metadata in GetItem, the attached item in GetAttachment, its MIME form on request; a state file keeps them"
    )
    func itemAttachments() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: state) }
        let sim = try SimSOAP(statePath: state)
        let forwarded = """
            <t:ItemAttachment><t:Name>WG: Besichtigung</t:Name><t:Message>\
            <t:Subject>Besichtigung Lindenstraße</t:Subject>\
            <t:Body BodyType="HTML">&lt;p&gt;Grüße, Jörg&lt;/p&gt;</t:Body>\
            <t:ToRecipients><t:Mailbox><t:Name>Max Müller</t:Name><t:EmailAddress>mm@example.test</t:EmailAddress>\
            </t:Mailbox></t:ToRecipients>\
            <t:From><t:Mailbox><t:Name>Jörg Kunde</t:Name><t:EmailAddress>joerg@kunde.test</t:EmailAddress>\
            </t:Mailbox></t:From>\
            <t:InternetMessageId>&lt;orig-1@kunde.test&gt;</t:InternetMessageId></t:Message></t:ItemAttachment>
            """
        let (id, changeKey) = try sim.created(
            """
            <t:Message><t:Subject>WG: Besichtigung</t:Subject><t:Body BodyType="Text">Siehe unten.</t:Body>\
            <t:Attachments>\(forwarded)\(fileAttachment("a.txt", "text/plain", Data("A".utf8)))</t:Attachments>\
            \(extended("0x0E07", "Integer", "1"))</t:Message>
            """)
        let item = try #require(try sim.get(id))
        #expect(item.string("HasAttachments") == "true")
        let attachments = item.child("Attachments")?.children ?? []
        #expect(attachments.map(\.name) == ["ItemAttachment", "FileAttachment"])
        let metadata = attachments[0]
        #expect(metadata.string("Name") == "WG: Besichtigung")
        #expect(metadata.child("Message") == nil, "GetItem lists the attachment, not the attached item")
        #expect(metadata.child("IsContactPhoto") == nil)
        #expect(Int(metadata.string("Size") ?? "") ?? 0 > 100)
        let attachmentID = try #require(metadata.child("AttachmentId")?.attributes["Id"])

        // Without an AttachmentShape: the attached item's properties, no MIME.
        let plain = try #require(try sim.getAttachment(attachmentID)?.path("Attachments", "ItemAttachment"))
        #expect(plain.path("Message", "Subject")?.text == "Besichtigung Lindenstraße")
        #expect(plain.path("Message", "From", "Mailbox", "EmailAddress")?.text == "joerg@kunde.test")
        #expect(plain.path("Message", "MimeContent") == nil)

        // With IncludeMimeContent: the message as RFC 5322 text, headers encoded, body decodable.
        let shaped = try sim.call(
            """
            <m:GetAttachment><m:AttachmentShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:AttachmentShape>\
            <m:AttachmentIds><t:AttachmentId Id="\(attachmentID)"/></m:AttachmentIds></m:GetAttachment>
            """
        ).first?.path("Attachments", "ItemAttachment", "Message")
        let mimeElement = try #require(shaped?.child("MimeContent"))
        #expect(mimeElement.attributes["CharacterSet"] == "UTF-8")
        let mime = String(decoding: Data(base64Encoded: mimeElement.text) ?? Data(), as: UTF8.self)
        let (head, body) = try #require(
            mime.range(of: "\r\n\r\n").map { (mime[..<$0.lowerBound], mime[$0.upperBound...]) })
        #expect(head.contains("Subject: =?utf-8?B?\(Data("Besichtigung Lindenstraße".utf8).base64EncodedString())?="))
        #expect(head.contains("From: =?utf-8?B?\(Data("Jörg Kunde".utf8).base64EncodedString())?= <joerg@kunde.test>"))
        #expect(head.contains("To: \"Max Müller\"") == false, "a non-ASCII name is an encoded word")
        #expect(head.contains("Message-ID: <orig-1@kunde.test>"))
        #expect(head.contains("Content-Type: text/html; charset=\"utf-8\""))
        let decoded = Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))
        #expect(decoded.map { String(decoding: $0, as: UTF8.self) } == "<p>Grüße, Jörg</p>")

        // CreateAttachment of an item with MIME of its own: that MIME comes back byte for byte.
        let own = Data("From: a@b.test\r\nSubject: Eigen\r\n\r\nText\r\n".utf8)
        let created = try sim.call(
            """
            <m:CreateAttachment><m:ParentItemId Id="\(id)" ChangeKey="\(changeKey)"/><m:Attachments>\
            <t:ItemAttachment><t:Name>Eigen</t:Name><t:Message><t:MimeContent>\(own.base64EncodedString())</t:MimeContent>\
            <t:Subject>Eigen</t:Subject></t:Message></t:ItemAttachment></m:Attachments></m:CreateAttachment>
            """)
        let ownID = try #require(created.first?.path("Attachments", "ItemAttachment", "AttachmentId")?.attributes["Id"])

        // Kept by the state file; an attached item's own attachments are refused by name.
        let reloaded = try SimSOAP(statePath: state)
        let again = try reloaded.call(
            """
            <m:GetAttachment><m:AttachmentShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:AttachmentShape>\
            <m:AttachmentIds><t:AttachmentId Id="\(ownID)"/></m:AttachmentIds></m:GetAttachment>
            """
        ).first?.path("Attachments", "ItemAttachment", "Message", "MimeContent")?.text
        #expect(again.flatMap { Data(base64Encoded: $0) } == own)
        let nested = try reloaded.create(
            """
            <t:Message><t:Subject>x</t:Subject><t:Attachments><t:ItemAttachment><t:Name>n</t:Name><t:Message>\
            <t:Subject>n</t:Subject><t:Attachments>\(fileAttachment("b.txt", "text/plain", Data("B".utf8)))</t:Attachments>\
            </t:Message></t:ItemAttachment></t:Attachments></t:Message>
            """)
        #expect(nested.first?.string("ResponseCode") == "ErrorInvalidRequest")
        #expect(nested.first?.string("MessageText")?.contains("attached item") == true)
    }

    @Test("GetFolder answers the asked-for folder properties (UnreadCount for mail folders)")
    func folderProperties() throws {
        let sim = try SimSOAP()
        _ = try sim.created(
            "<t:Message><t:Subject>ungelesen</t:Subject>\(extended("0x0E07", "Integer", "0"))</t:Message>")
        _ = try sim.created(
            "<t:Message><t:Subject>gelesen</t:Subject>\(extended("0x0E07", "Integer", "1"))</t:Message>")
        let folders = try sim.call(
            """
            <m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
            <t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:ParentFolderId"/>\
            <t:FieldURI FieldURI="folder:TotalCount"/><t:FieldURI FieldURI="folder:UnreadCount"/>\
            </t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/>\
            <t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>
            """
        ).compactMap { $0.child("Folders")?.children.first }
        #expect(folders.map(\.name) == ["Folder", "CalendarFolder"])
        #expect(folders.first?.string("DisplayName") == "Posteingang")
        #expect(folders.first?.child("ParentFolderId") != nil)
        #expect(folders.first?.string("TotalCount") == "2")
        #expect(folders.first?.string("UnreadCount") == "1")
        #expect(folders.last?.child("UnreadCount") == nil, "a calendar folder has no UnreadCount")
        let idOnly = try sim.call(
            """
            <m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>\
            <t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>
            """
        ).first?.child("Folders")?.children.first
        #expect(idOnly?.children.map(\.name) == ["FolderId"])

    }

    @Test("booleans sent as 1/0 are stored and answered as true/false, as Exchange does; extended values stay as sent")
    func booleansInExchangesForm() throws {
        let sim = try SimSOAP()
        let (id, changeKey) = try sim.created(
            """
            <t:Message><t:Subject>Zahlen</t:Subject><t:ReminderIsSet>1</t:ReminderIsSet>\
            \(extended("0x0E07", "Integer", "1"))<t:IsRead>0</t:IsRead></t:Message>
            """)
        let item = try #require(
            try sim.get(id, additional: #"<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/>"#))
        #expect(item.string("IsRead") == "false")
        #expect(item.string("ReminderIsSet") == "true")
        let flags = item.children("ExtendedProperty").first {
            $0.child("ExtendedFieldURI")?.attributes["PropertyTag"] == "0xe07"
        }
        #expect(flags?.string("Value") == "1")
        _ = try sim.call(
            """
            <m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges>\
            <t:ItemChange><t:ItemId Id="\(id)" ChangeKey="\(changeKey)"/><t:Updates><t:SetItemField>\
            <t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>1</t:IsRead></t:Message></t:SetItemField>\
            </t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>
            """)
        #expect(try sim.get(id)?.string("IsRead") == "true")
    }

    @Test("FindItem with IsEqualTo on message:InternetMessageId finds the message")
    func findByMessageID() throws {
        let sim = try SimSOAP()
        for index in 1...3 {
            _ = try sim.created(
                "<t:Message><t:Subject>M\(index)</t:Subject><t:InternetMessageId>&lt;m\(index)@example.test&gt;</t:InternetMessageId></t:Message>"
            )
        }
        let root = try sim.call(
            """
            <m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
            <t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape><m:Restriction><t:IsEqualTo>\
            <t:FieldURI FieldURI="message:InternetMessageId"/><t:FieldURIOrConstant>\
            <t:Constant Value="&lt;m2@example.test&gt;"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>\
            <m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>
            """
        ).first?.child("RootFolder")
        #expect(root?.attributes["TotalItemsInView"] == "1")
        #expect(root?.child("Items")?.children.map { $0.string("Subject") } == ["M2"])
    }

    @Test("SendAndSaveCopy and SendOnly are counted as sent; SaveOnly is not")
    func sending() throws {
        let sim = try SimSOAP()
        _ = try sim.created("<t:Message><t:Subject>nur gespeichert</t:Subject></t:Message>")
        #expect(sim.service.counts["messagesSent", default: 0] == 0)
        let saved = try sim.create(
            "<t:Message><t:Subject>gesendet</t:Subject></t:Message>", folder: "sentitems",
            disposition: "SendAndSaveCopy")
        #expect(saved.first?.attributes["ResponseClass"] == "Success")
        #expect(saved.first?.child("Items")?.children.isEmpty == true)
        _ = try sim.create("<t:Message><t:Subject>weg</t:Subject></t:Message>", disposition: "SendOnly")
        #expect(sim.service.counts["messagesSent"] == 2)
        #expect(sim.service.itemCount(mailbox: "mm@example.test", folder: "sentitems") == 1)
        #expect(sim.service.itemCount(mailbox: "mm@example.test", folder: "inbox") == 1)
        let copy = try sim.call(
            """
            <m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>\
            <m:ParentFolderIds><t:DistinguishedFolderId Id="sentitems"/></m:ParentFolderIds></m:FindItem>
            """
        ).first?.path("RootFolder", "Items", "Message")
        #expect(copy?.string("IsDraft") == "false")
        #expect(copy?.string("DateTimeSent") != nil)
    }

    @Test("a 5 MB attachment round trip")
    func largeAttachment() throws {
        let sim = try SimSOAP()
        var generator = SystemRandomNumberGenerator()
        let content = Data((0..<(5 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let (id, _) = try sim.created("<t:Message><t:Subject>groß</t:Subject></t:Message>")
        let messages = try sim.call(
            """
            <m:CreateAttachment><m:ParentItemId Id="\(id)"/><m:Attachments>\
            \(fileAttachment("daten.bin", "application/octet-stream", content))</m:Attachments></m:CreateAttachment>
            """)
        let attachmentID = try #require(
            messages.first?.path("Attachments", "FileAttachment", "AttachmentId")?.attributes["Id"])
        #expect(try sim.get(id)?.path("Attachments", "FileAttachment")?.string("Size") == "\(content.count)")
        let file = try sim.getAttachment(attachmentID)?.path("Attachments", "FileAttachment")
        #expect(Data(base64Encoded: file?.string("Content") ?? "") == content)
    }

    @Test("a 25 MB attachment (33 MB of base64 in one request) over HTTP")
    func hugeAttachmentOverHTTP() async throws {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test"]
        options.accounts = [SimAccount(name: "mm@example.test", password: "secret")]
        let server = SimServer(service: try SimService(options: options))
        try await server.start()
        defer { Task { await server.stop() } }
        let content = Data((0..<(25 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 12)) })
        func post(_ operation: String) throws -> (status: Int, body: String) {
            let body = Data(
                ("<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
                    + "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                    + "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" "
                    + "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><soap:Header>"
                    + "<t:RequestServerVersion Version=\"Exchange2010_SP2\"/></soap:Header><soap:Body>" + operation
                    + "</soap:Body></soap:Envelope>").utf8)
            return try curl(["-u", "mm@example.test:secret", server.url], body: body)
        }
        let created = try post(
            "<m:CreateItem MessageDisposition=\"SaveOnly\"><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"inbox\"/>"
                + "</m:SavedItemFolderId><m:Items><t:Message><t:Subject>groß</t:Subject><t:Attachments>"
                + fileAttachment("scan.tif", "image/tiff", content)
                + "</t:Attachments></t:Message></m:Items></m:CreateItem>")
        #expect(created.status == 200, "\(created.body.prefix(2000))")
        let itemID = try #require(try XMLStreamParser.parse(created.body).descendant("ItemId")?.attributes["Id"])
        let item = try post(
            "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>"
                + "<t:ItemId Id=\"\(itemID)\"/></m:ItemIds></m:GetItem>")
        #expect(item.body.count < 10_000, "metadata only")
        let attachmentID = try #require(
            try XMLStreamParser.parse(item.body).descendant("AttachmentId")?.attributes["Id"])
        let fetched = try post(
            "<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id=\"\(attachmentID)\"/></m:AttachmentIds></m:GetAttachment>"
        )
        #expect(fetched.status == 200)
        #expect(Schemas.validator.validate(Data(fetched.body.utf8)).isEmpty)
        let file = try XMLStreamParser.parse(fetched.body).descendant("FileAttachment")
        #expect(Data(base64Encoded: file?.string("Content") ?? "") == content)
    }
}
