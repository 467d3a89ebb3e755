import EWS
import ExchangeSim
import Foundation
import TestSupport
import Testing
import XML

@testable import EWSConnector

/// Item properties the simulator answers as Exchange 2010 SP2 does, whatever form the client asked
/// in: indexed contact entries, extended property URIs, a task's completion.
@Suite("exchange-sim: item properties in Exchange's form")
struct SimItemPropertyTests {
    /// CreateItem of one item in `folder`; returns the new item's id (empty when it failed).
    static func create(_ sim: SimSOAP, _ item: String, folder: String) throws -> String {
        try sim.create(item, folder: folder).first?.descendant("ItemId")?.attributes["Id"] ?? ""
    }

    static func get(_ sim: SimSOAP, _ id: String, base: String = "IdOnly", _ additional: String) throws -> XMLElement? {
        try sim.call(
            """
            <m:GetItem><m:ItemShape><t:BaseShape>\(base)</t:BaseShape>\
            <t:AdditionalProperties>\(additional)</t:AdditionalProperties></m:ItemShape>\
            <m:ItemIds><t:ItemId Id="\(id)"/></m:ItemIds></m:GetItem>
            """
        ).first?.child("Items")?.children.first
    }

    static func indexed(_ uri: String, _ key: String) -> String {
        #"<t:IndexedFieldURI FieldURI="\#(uri)" FieldIndex="\#(key)"/>"#
    }

    @Test("address parts asked for one by one come back as one entry per key, parts in schema order")
    func physicalAddressPartsGrouped() throws {
        let sim = try SimSOAP()
        let id = try Self.create(
            sim,
            """
            <t:Contact><t:GivenName>Änne</t:GivenName><t:EmailAddresses>\
            <t:Entry Key="EmailAddress1">aenne@example.test</t:Entry></t:EmailAddresses><t:PhysicalAddresses>\
            <t:Entry Key="Home"><t:Street>Reichenstraße 3</t:Street><t:City>Füssen</t:City><t:State>Bayern</t:State>\
            <t:CountryOrRegion>Deutschland</t:CountryOrRegion><t:PostalCode>87629</t:PostalCode></t:Entry>\
            <t:Entry Key="Business"><t:City>Kempten</t:City><t:PostalCode>87435</t:PostalCode></t:Entry>\
            </t:PhysicalAddresses><t:PhoneNumbers><t:Entry Key="BusinessPhone">+49 831 1</t:Entry>\
            <t:Entry Key="MobilePhone">+49 171 2</t:Entry></t:PhoneNumbers><t:ImAddresses>\
            <t:Entry Key="ImAddress1">aenne@im.example.test</t:Entry></t:ImAddresses>\
            <t:Surname>Weiß</t:Surname></t:Contact>
            """, folder: "contacts")
        // The order exchangelib happens to ask in: not the schema's.
        let parts = ["City", "CountryOrRegion", "Street", "PostalCode", "State"]
        let additional =
            parts.map { Self.indexed("contacts:PhysicalAddress:\($0)", "Home") }.joined()
            + Self.indexed("contacts:PhysicalAddress:City", "Business")
            + Self.indexed("contacts:PhysicalAddress:PostalCode", "Business")
            + Self.indexed("contacts:PhoneNumber", "BusinessPhone")
            + Self.indexed("contacts:PhoneNumber", "MobilePhone")
            + Self.indexed("contacts:EmailAddress", "EmailAddress1")
            + Self.indexed("contacts:ImAddress", "ImAddress1")
        func check(_ contact: XMLElement?, _ what: String) {
            let addresses = contact?.child("PhysicalAddresses")?.children ?? []
            #expect(addresses.compactMap { $0.attributes["Key"] } == ["Home", "Business"], "\(what)")
            #expect(
                addresses.first?.children.map(\.name) == ["Street", "City", "State", "CountryOrRegion", "PostalCode"],
                "\(what)")
            #expect(addresses.first?.string("City") == "Füssen", "\(what)")
            #expect(addresses.last?.children.map(\.name) == ["City", "PostalCode"], "\(what)")
            let phones = contact?.child("PhoneNumbers")?.children ?? []
            #expect(phones.compactMap { $0.attributes["Key"] } == ["BusinessPhone", "MobilePhone"], "\(what)")
            #expect(contact?.child("EmailAddresses")?.children.count == 1, "\(what)")
            #expect(contact?.child("ImAddresses")?.children.map(\.text) == ["aenne@im.example.test"], "\(what)")
            #expect(contact?.children("PhysicalAddresses").count == 1, "\(what)")
        }
        check(try Self.get(sim, id, additional), "GetItem")
        let found = try sim.call(
            """
            <m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>\
            <t:AdditionalProperties>\(additional)</t:AdditionalProperties></m:ItemShape>\
            <m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>
            """
        ).first?.path("RootFolder", "Items")?.children.first
        check(found, "FindItem")
        // AllProperties already holds the whole entries: parts asked for besides add nothing.
        check(try Self.get(sim, id, base: "AllProperties", additional), "AllProperties")
        // The whole dictionary asked for after some of its parts: the whole of it, once.
        let whole = try Self.get(
            sim, id,
            Self.indexed("contacts:PhysicalAddress:City", "Home")
                + #"<t:FieldURI FieldURI="contacts:PhysicalAddresses"/>"#)
        #expect(whole?.children("PhysicalAddresses").count == 1)
        #expect(whole?.child("PhysicalAddresses")?.children.first?.children.count == 5)
    }

    @Test("an extended property's PropertyTag comes back in lower-case hex, PropertySetId in lower case")
    func extendedFieldURICanonical() throws {
        let sim = try SimSOAP()
        let setID = "C11FF724-AA03-4555-9952-8FA248A11C3E"
        // Written as the connector writes it: "0x3A45".
        let id = try Self.create(
            sim,
            """
            <t:Contact>\(extended("0x3A45", "String", "Dr."))\
            <t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="\(setID)" PropertyName="External ID" \
            PropertyType="String"/><t:Value>crm-7</t:Value></t:ExtendedProperty><t:GivenName>Änne</t:GivenName>\
            <t:Surname>Weiß</t:Surname></t:Contact>
            """, folder: "contacts")
        // Asked for as exchangelib asks (hex(0x3a45), the set id in lower case), in decimal, as written.
        for tag in ["0x3a45", "14917", "0x3A45"] {
            let contact = try #require(
                try Self.get(
                    sim, id,
                    #"<t:ExtendedFieldURI PropertyTag="\#(tag)" PropertyType="String"/>"#
                        + #"<t:ExtendedFieldURI PropertySetId="\#(setID.lowercased())" PropertyName="External ID" "#
                        + #"PropertyType="String"/>"#))
            let uris = contact.children("ExtendedProperty").compactMap { $0.child("ExtendedFieldURI")?.attributes }
            #expect(uris.contains(["PropertyTag": "0x3a45", "PropertyType": "String"]), "asked as \(tag): \(uris)")
            #expect(
                uris.contains([
                    "PropertySetId": setID.lowercased(), "PropertyName": "External ID", "PropertyType": "String",
                ]), "asked as \(tag): \(uris)")
        }
        // Leading zeros go too: PR_MESSAGE_FLAGS written "0x0E07" is "0xe07".
        let (message, _) = try sim.created(
            "<t:Message><t:Subject>Flags</t:Subject>\(extended("0x0E07", "Integer", "1"))</t:Message>")
        let flags = try Self.get(sim, message, #"<t:ExtendedFieldURI PropertyTag="0xe07" PropertyType="Integer"/>"#)
        #expect(flags?.child("ExtendedProperty")?.child("ExtendedFieldURI")?.attributes["PropertyTag"] == "0xe07")
        #expect(flags?.child("ExtendedProperty")?.string("Value") == "1")
    }

    @Test("the connector recognises its extended properties in Exchange's spelling of the tag")
    func connectorMatchesCanonicalTag() {
        func uri(_ tag: String, _ type: String) -> XMLElement {
            XMLElement(name: "ExtendedFieldURI", attributes: ["PropertyTag": tag, "PropertyType": type])
        }
        #expect(EWSRecordCodec.title.matches(uri("0x3a45", "String")))
        #expect(EWSRecordCodec.title.matches(uri("14917", "String")))
        #expect(EWSRecordCodec.messageFlags.matches(uri("0xe07", "Integer")))
        #expect(EWSRecordCodec.submitTime.matches(uri("0x39", "SystemTime")))
        #expect(!EWSRecordCodec.title.matches(uri("0x3a46", "String")))
        #expect(!EWSRecordCodec.title.matches(uri("0x3a45", "Integer")))
    }

    @Test("a task's CompleteDate follows its status: stamped on completion, cleared when reopened")
    func taskCompleteDate() throws {
        let sim = try SimSOAP()
        func task(_ id: String) throws -> XMLElement? {
            try Self.get(
                sim, id, base: "AllProperties",
                #"<t:FieldURI FieldURI="task:CompleteDate"/><t:FieldURI FieldURI="task:PercentComplete"/>"#)
        }
        func update(_ id: String, _ field: String, _ value: String) throws -> XMLElement? {
            try sim.call(
                """
                <m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges>\
                <t:ItemChange><t:ItemId Id="\(id)"/><t:Updates><t:SetItemField>\
                <t:FieldURI FieldURI="task:\(field)"/><t:Task><t:\(field)>\(value)</t:\(field)></t:Task>\
                </t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>
                """
            ).first
        }
        /// Whether a CompleteDate is the time of a change made between `start` and now.
        func stamped(_ item: XMLElement?, since start: Date) -> Bool {
            guard let date = item?.string("CompleteDate").flatMap(EWSDate.parse) else { return false }
            return date >= start.addingTimeInterval(-1) && date <= Date().addingTimeInterval(1)
        }
        let start = Date()
        // Completed on creation: CompleteDate is now, PercentComplete 100.
        let done = try Self.create(
            sim, "<t:Task><t:Subject>Erledigt</t:Subject><t:Status>Completed</t:Status></t:Task>", folder: "tasks")
        var item = try task(done)
        #expect(stamped(item, since: start), "\(item?.string("CompleteDate") ?? "no CompleteDate")")
        #expect(item?.string("CompleteDate")?.hasSuffix("Z") == true)
        #expect(item?.string("PercentComplete") == "100")
        #expect(item?.string("IsComplete") == "true")
        // PercentComplete 100 alone completes the task.
        let full = try Self.create(
            sim, "<t:Task><t:Subject>Voll</t:Subject><t:PercentComplete>100</t:PercentComplete></t:Task>",
            folder: "tasks")
        item = try task(full)
        #expect(item?.string("Status") == "Completed")
        #expect(stamped(item, since: start))
        // A CompleteDate the client gives (as the connector writes a completed task) is kept.
        let given = try Self.create(
            sim,
            """
            <t:Task><t:Subject>Früher</t:Subject><t:CompleteDate>2024-03-01T09:30:00Z</t:CompleteDate>\
            <t:PercentComplete>100</t:PercentComplete><t:Status>Completed</t:Status></t:Task>
            """, folder: "tasks")
        #expect(try task(given)?.string("CompleteDate") == "2024-03-01T09:30:00Z")
        // Some progress without a status: in progress, no CompleteDate.
        let half = try Self.create(
            sim, "<t:Task><t:Subject>Halb</t:Subject><t:PercentComplete>50</t:PercentComplete></t:Task>",
            folder: "tasks")
        item = try task(half)
        #expect(item?.string("Status") == "InProgress")
        #expect(item?.child("CompleteDate") == nil)

        // Reopened: CompleteDate goes, and 100 % with it.
        #expect(try update(done, "Status", "InProgress")?.string("ResponseCode") == "NoError")
        item = try task(done)
        #expect(item?.string("Status") == "InProgress")
        #expect(item?.child("CompleteDate") == nil)
        #expect(item?.string("PercentComplete") == "0")
        #expect(item?.string("IsComplete") == "false")
        // Completed again by PercentComplete, then not started.
        let again = Date()
        _ = try update(done, "PercentComplete", "100")
        item = try task(done)
        #expect(item?.string("Status") == "Completed")
        #expect(stamped(item, since: again))
        _ = try update(done, "Status", "NotStarted")
        item = try task(done)
        #expect(item?.child("CompleteDate") == nil)
        #expect(item?.string("PercentComplete") == "0")
        // A CompleteDate set by update completes the task at that time (in UTC).
        _ = try update(done, "CompleteDate", "2024-03-02T08:00:00+01:00")
        item = try task(done)
        #expect(item?.string("CompleteDate") == "2024-03-02T07:00:00Z")
        #expect(item?.string("Status") == "Completed")
        #expect(item?.string("PercentComplete") == "100")
        // Out of range: ErrorInvalidPercentCompleteValue, the task unchanged.
        let refused = try update(done, "PercentComplete", "150")
        #expect(refused?.string("ResponseCode") == "ErrorInvalidPercentCompleteValue")
        #expect(try task(done)?.string("CompleteDate") == "2024-03-02T07:00:00Z")
    }
}
