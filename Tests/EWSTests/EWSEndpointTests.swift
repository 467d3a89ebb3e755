import ConnectorAPI
import Connectors
import EWS
import ExchangeSim
import Foundation
import TestSupport
import Testing
import XML

@testable import EWSConnector

@Suite("EWS endpoint against the simulator (in process)")
struct EWSEndpointTests {
    @Test("a full read (the sync state lost) reports known items the folder no longer holds as deleted")
    func fullReadReportsDeletions() async throws {
        let sim = try SimFixture()
        let endpoint = sim.endpoint(.address)
        let results = try await endpoint.apply(
            (0..<3).map { i in
                .create(
                    syncKey: SyncKey(rawValue: "k\(i)"),
                    record: .address(Address(givenName: "P\(i)", familyName: "Voll")))
            })
        let ids = results.compactMap { if case .success(let id, _, _) = $0 { id } else { nil } }
        #expect(ids.count == 3)
        let first = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        var known: [ItemID: Version] = [:]
        for case .upsert(let state) in first.changes { known[state.id] = state.version }
        #expect(known.count == 3)
        _ = try await endpoint.apply([.delete(id: ids[1])])
        let again = try await endpoint.changes(ChangeRequest(cursor: nil, known: known))
        #expect(again.isFullScan)
        let deleted = again.changes.compactMap { if case .deleted(let id) = $0 { id } else { nil } }
        #expect(deleted == [ids[1]])
        // The two still there are present (unchanged, so not fetched again).
        #expect(again.unchanged == Set([ids[0], ids[2]]))
    }

    let berlin = "Europe/Berlin"

    @Test("contacts: create, read back every field, update single fields, delete; all requests schema-valid")
    func contactRoundTrip() async throws {
        let sim = try SimFixture()
        let endpoint = sim.endpoint(.address)
        let address = Address(
            salutation: "Frau", title: "Dr.", givenName: "Käthe", middleName: "M.", familyName: "Groß",
            company: "Glück & Söhne",
            department: "Vertrieb", jobTitle: "Leiterin", emails: ["k@example.test", "k2@example.test"],
            phones: [.business: "+49 30 1", .mobile: "+49 171 2", .pager: "123"],
            businessAddress: PostalAddress(street: "Straße 1", postalCode: "10115", city: "Berlin", country: "DE"),
            homeAddress: PostalAddress(city: "Köln"), birthday: LocalDate(year: 1980, month: 2, day: 29),
            webPage: "https://x.test",
            notes: "Notiz <mit> & Zeichen 😀", categories: ["Kunde", "CRM"])
        let key = SyncKey(rawValue: "ch1:contacts:s:AD-1")
        let created = try await endpoint.apply([.create(syncKey: key, record: .address(address))])
        guard case .success(let id, let changeKey, _) = created[0] else {
            Issue.record("create failed: \(created)")
            return
        }
        let first = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(first.isFullScan)
        guard case .upsert(let state)? = first.changes.first else {
            Issue.record("no upsert: \(first.changes)")
            return
        }
        #expect(state.id == id)
        #expect(state.version == changeKey)
        #expect(state.syncKey == key)
        #expect(state.record == .address(address))

        // Nothing changed: no GetItem for items whose change key is known.
        let quiet = try await endpoint.changes(ChangeRequest(cursor: first.cursor, known: [id: changeKey]))
        #expect(quiet.changes.isEmpty)

        var changed = address
        changed.jobTitle = nil
        changed.emails = ["neu@example.test"]
        changed.businessAddress?.city = "Hamburg"
        changed.phones[.mobile] = nil
        let updated = try await endpoint.apply([
            .update(
                id: id, expectedVersion: changeKey, record: .address(changed),
                fields: ["jobTitle", "emails", "businessAddress", "phones"])
        ])
        guard case .success(_, let newKey, _) = updated[0] else {
            Issue.record("update failed: \(updated)")
            return
        }
        #expect(newKey != changeKey)
        let read = try await endpoint.read(ids: [id])
        #expect(read[id]?.record == .address(changed))

        // A stale change key is a conflict.
        let stale = try await endpoint.apply([
            .update(id: id, expectedVersion: changeKey, record: .address(address), fields: ["jobTitle"])
        ])
        #expect(stale.first.map { if case .failure(let e) = $0 { e.kind == .conflict } else { false } } == true)

        // Adoption finds the item by its stamped key.
        let found = try await endpoint.find(syncKeys: [key, SyncKey(rawValue: "ch1:contacts:s:none")])
        #expect(found.keys.map(\.rawValue) == [key.rawValue])

        let deleted = try await endpoint.apply([.delete(id: id), .delete(id: id)])
        #expect(deleted.allSatisfy { if case .success = $0 { true } else { false } })
        let after = try await endpoint.changes(ChangeRequest(cursor: quiet.cursor, known: [id: newKey]))
        #expect(after.changes.contains(.deleted(id)))
        #expect(sim.transport.invalid.withLock { $0 }.isEmpty, "\(sim.transport.invalid.withLock { $0 })")
    }

    @Test("calendar items: timed with zone, all-day across DST, weekly series; tasks with dates and status")
    func calendarAndTasks() async throws {
        let sim = try SimFixture()
        let calendar = sim.endpoint(.calendar)
        let tasks = sim.endpoint(.task)
        let start = Date(timeIntervalSince1970: 1_774_000_000)
        let events: [CalendarEvent] = [
            CalendarEvent(
                subject: "Besichtigung", location: "Königsallee 1", body: "Text",
                timing: .timed(start: start, end: start.addingTimeInterval(3600), timeZone: berlin),
                reminderMinutes: 15, busyStatus: .tentative, isPrivate: true, categories: ["Termin"],
                attendees: [
                    Attendee(email: "a@example.test", name: "A"), Attendee(email: "raum@example.test", role: .resource),
                ]),
            CalendarEvent(
                subject: "Messe",
                timing: .allDay(
                    start: LocalDate(year: 2026, month: 3, day: 28),
                    endExclusive: LocalDate(year: 2026, month: 3, day: 31))),
            CalendarEvent(
                subject: "Jour fixe",
                timing: .timed(start: start, end: start.addingTimeInterval(1800), timeZone: berlin),
                recurrence: Recurrence(
                    pattern: .weekly(interval: 1, days: [.monday, .thursday], firstDayOfWeek: .monday),
                    range: .numbered(start: LocalDate(year: 2026, month: 3, day: 23), count: 10))),
        ]
        let results = try await calendar.apply(
            events.enumerated().map {
                .create(syncKey: SyncKey(rawValue: "k\($0.offset)"), record: .calendar($0.element))
            })
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } }, "\(results)")
        let read = try await calendar.changes(ChangeRequest(cursor: nil, known: [:]))
        let back = read.changes.compactMap {
            if case .upsert(let s) = $0, case .calendar(let e) = s.record { e } else { nil }
        }
        #expect(Set(back) == Set(events))

        let task = TaskItem(
            subject: "Exposé", body: "b", startDate: LocalDate(year: 2026, month: 12, day: 1),
            dueDate: LocalDate(year: 2026, month: 12, day: 24),
            status: .inProgress, percentComplete: 50, importance: .high,
            reminderAt: Date(timeIntervalSince1970: 1_798_000_000), categories: ["x"])
        _ = try await tasks.apply([.create(syncKey: SyncKey(rawValue: "t1"), record: .task(task))])
        let taskBack = try await tasks.changes(ChangeRequest(cursor: nil, known: [:]))
        guard case .upsert(let state)? = taskBack.changes.first else {
            Issue.record("no task")
            return
        }
        #expect(state.record == .task(task))
        #expect(sim.transport.invalid.withLock { $0 }.isEmpty, "\(sim.transport.invalid.withLock { $0 })")
    }

    @Test("a named subfolder is created on demand and reused")
    func subfolder() async throws {
        let sim = try SimFixture()
        let endpoint = sim.endpoint(.address, folder: "CRM Kontakte")
        _ = try await endpoint.apply([
            .create(syncKey: SyncKey(rawValue: "a"), record: .address(Address(givenName: "A")))
        ])
        let again = sim.endpoint(.address, folder: "crm kontakte")
        let changes = try await again.changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(changes.changes.count == 1)
        #expect(sim.transport.operations.filter { $0 == "CreateFolder" }.count == 1)
        // The distinguished contacts folder stays empty.
        let plain = try await sim.endpoint(.address).changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(plain.changes.isEmpty)
    }

    @Test("SyncFolderItems pages by 512 and a corrupt sync state leads to a full resync")
    func paging() async throws {
        let sim = try SimFixture()
        let endpoint = sim.endpoint(.address)
        for start in stride(from: 0, to: 1100, by: 100) {
            let batch: [WriteOperation] = (start..<(start + 100)).map {
                .create(syncKey: SyncKey(rawValue: "p\($0)"), record: .address(Address(givenName: "P\($0)")))
            }
            _ = try await endpoint.apply(batch)
        }
        let all = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(all.changes.count == 1100)
        #expect(sim.transport.operations.filter { $0 == "SyncFolderItems" }.count == 3)
        let broken = try JSONEncoder().encode(EWSCursor(folderID: try await endpoint.folder.id(), syncState: "AAAA"))
        let resync = try await endpoint.changes(ChangeRequest(cursor: broken, known: [:]))
        #expect(resync.isFullScan)
        #expect(resync.changes.count == 1100)
    }

    @Test("an incremental run takes the folder from its cursor (no GetFolder); a vanished folder is found again")
    func folderFromCursor() async throws {
        let sim = try SimFixture()
        let first = sim.endpoint(.address, folder: "CRM")
        _ = try await first.apply([.create(syncKey: SyncKey(rawValue: "a"), record: .address(Address(givenName: "A")))])
        let initial = try await sim.endpoint(.address, folder: "CRM").changes(ChangeRequest(cursor: nil, known: [:]))
        let before = sim.transport.operations.count
        // A new endpoint, as in the next run of the service: only SyncFolderItems.
        let next = try await sim.endpoint(.address, folder: "CRM").changes(
            ChangeRequest(cursor: initial.cursor, known: [:]))
        #expect(Array(sim.transport.operations.dropFirst(before)) == ["SyncFolderItems"])
        #expect(!next.isFullScan)
        #expect(next.changes.isEmpty)
        // Another folder option does not reuse the id.
        let other = try await sim.endpoint(.address, folder: "Andere").changes(
            ChangeRequest(cursor: initial.cursor, known: [:]))
        #expect(other.isFullScan)
        #expect(other.changes.isEmpty)
        // An id that no longer exists: found again by name and read in full.
        var gone = try JSONDecoder().decode(EWSCursor.self, from: initial.cursor!)
        gone.folderID = Data("AQMkF:mm@example.test:deleted-folder".utf8).base64EncodedString()
        let recovered = try await sim.endpoint(.address, folder: "CRM").changes(
            ChangeRequest(cursor: try JSONEncoder().encode(gone), known: [:]))
        #expect(recovered.isFullScan)
        #expect(recovered.changes.count == 1)
    }
}

@Suite("Exchange simulator behaves like Exchange")
struct SimulatorTests {
    @Test("a request that breaks the schema is refused with ErrorSchemaValidation in a SOAP fault")
    func schemaValidation() throws {
        let sim = try SimFixture()
        let bad = try Data(
            contentsOf: Schemas.directory.appendingPathComponent(
                "validation/samples/createitem-contact-envelope-BAD-order.xml"))
        let (status, body) = sim.service.handle(body: bad, account: "svc@example.test")
        #expect(status == 500)
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("a:ErrorSchemaValidation"))
        #expect(text.contains("LineNumber"))
        #expect(Schemas.validator.validate(body).isEmpty, "the fault itself must validate")
    }

    @Test("the simulator's responses validate against the schema")
    func responsesValidate() async throws {
        let sim = try SimFixture()
        let endpoint = sim.endpoint(.calendar)
        let start = Date(timeIntervalSince1970: 1_774_000_000)
        _ = try await endpoint.apply([
            .create(
                syncKey: SyncKey(rawValue: "x"),
                record: .calendar(
                    CalendarEvent(subject: "A", timing: .timed(start: start, end: start, timeZone: "UTC"))))
        ])
        let samples = Schemas.directory.appendingPathComponent("validation/samples")
        for name in [
            "syncfolderitems.xml", "getfolder-delegate.xml", "findfolder.xml", "deleteitem.xml",
            "updateitem-contact.xml", "getitem-additionalprops.xml",
        ] {
            let request = try Data(contentsOf: samples.appendingPathComponent(name))
            let (_, body) = sim.service.handle(body: request, account: "svc@example.test")
            #expect(
                Schemas.validator.validate(body).isEmpty,
                "\(name): \(Schemas.validator.validate(body)) \(String(decoding: body, as: UTF8.self))")
        }
    }

    @Test("impersonation without the right is refused; an unknown mailbox is named")
    func impersonationRights() async throws {
        let denied = try SimFixture(impersonation: false)
        do {
            _ = try await denied.endpoint(.address).changes(ChangeRequest(cursor: nil, known: [:]))
            Issue.record("expected a fault")
        } catch let fault as EWSFault {
            #expect(fault.code == "ErrorImpersonateUserDenied")
        }
        let sim = try SimFixture()
        do {
            _ = try await sim.endpoint(.address, mailbox: "nobody@example.test").changes(
                ChangeRequest(cursor: nil, known: [:]))
            Issue.record("expected a fault")
        } catch let fault as EWSFault {
            #expect(fault.code == "ErrorNonExistentMailbox")
        }
    }
}

@Suite("Simulator state file")
struct SimPersistenceTests {
    @Test("mailboxes survive a restart from the state file, series exceptions included")
    func persistence() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "x")]
        options.impersonation = ["svc@example.test"]
        options.statePath = file
        let first = try SimService(options: options)
        let transport = InProcessTransport(service: first, account: "svc@example.test")
        func endpoint(_ transport: InProcessTransport) -> EWSEndpoint {
            let client = EWSClient(
                transport: transport, url: "x", mailbox: "mm@example.test", access: .impersonation,
                version: "Exchange2010_SP2",
                throttle: EWSThrottle(), log: { _, _ in })
            return EWSEndpoint(
                client: client, kind: .calendar, codec: EWSRecordCodec(zone: TimeZone(identifier: "Europe/Berlin")!),
                folder: EWSFolderResolver(client: client, kind: .calendar, subfolder: nil), maxBatchSize: 50,
                maxParallelBatches: 4,
                readBatchSize: 50,
                deleteType: "HardDelete")
        }
        var event = RecurrenceTests.series
        event.recurrence?.deletedOccurrences = [RecurrenceTests.occurrence(2)]
        let original = RecurrenceTests.occurrence(3)
        event.recurrence?.modifiedOccurrences = [
            OccurrenceException(
                originalStart: original, start: original, end: original.addingTimeInterval(600), subject: "Kurz")
        ]
        _ = try await endpoint(transport).apply([.create(syncKey: SyncKey(rawValue: "s"), record: .calendar(event))])
        let before = try await endpoint(transport).changes(ChangeRequest(cursor: nil, known: [:]))
        let second = try SimService(options: options)
        let after = try await endpoint(InProcessTransport(service: second, account: "svc@example.test")).changes(
            ChangeRequest(cursor: nil, known: [:]))
        #expect(after.changes == before.changes)
        #expect(after.changes.count == 1)
    }
}

/// Answers FindFolder with an error response message; everything else goes to the simulator.
final class RefusingFindFolderTransport: EWSTransport, @unchecked Sendable {
    let inner: InProcessTransport
    init(_ inner: InProcessTransport) { self.inner = inner }

    func post(url: String, mailbox: String, body: Data, onBody: @escaping @Sendable (Data) -> Void) async throws -> (
        status: Int, headers: [String: String]
    ) {
        guard String(decoding: body, as: UTF8.self).contains("<m:FindFolder") else {
            return try await inner.post(url: url, mailbox: mailbox, body: body, onBody: onBody)
        }
        inner.sent.withLock { $0.append("FindFolder") }
        onBody(
            Data(
                """
                <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>\
                <m:FindFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" \
                xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>\
                <m:FindFolderResponseMessage ResponseClass="Error"><m:MessageText>Access is denied.</m:MessageText>\
                <m:ResponseCode>ErrorAccessDenied</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>\
                </m:FindFolderResponseMessage></m:ResponseMessages></m:FindFolderResponse></s:Body></s:Envelope>
                """.utf8))
        return (200, [:])
    }

    func reduceConcurrency() {}
}

@Suite("EWS subfolders")
struct EWSSubfolderTests {
    @Test("a refused listing of subfolders is an error naming the folder and mailbox; no folder is created")
    func refusedListing() async throws {
        let sim = try SimFixture()
        let client = EWSClient(
            transport: RefusingFindFolderTransport(sim.transport), url: "http://sim/EWS/Exchange.asmx",
            mailbox: "mm@example.test", access: .impersonation, version: "Exchange2010_SP2", throttle: EWSThrottle(),
            log: { _, _ in })
        let resolver = EWSFolderResolver(client: client, kind: .address, subfolder: "CRM Kontakte")
        do {
            _ = try await resolver.id()
            Issue.record("the refused listing was not reported")
        } catch {
            let text = "\(error)"
            #expect(text.contains("ErrorAccessDenied") || text.contains("Access is denied"), "\(text)")
            #expect(text.contains("mm@example.test"), "\(text)")
        }
        #expect(!sim.transport.operations.contains("CreateFolder"))
    }
}

@Suite("EWS contacts: the title and the display name")
struct EWSContactNameTests {
    @Test("a contact written by a client that sets only the display name reads its title from it")
    func titleFromDisplayName() throws {
        let xml = """
            <t:Contact xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">\
            <t:ItemId Id="c1" ChangeKey="k1"/><t:DisplayName>Dr. Änne Luise Weiß-Großmann</t:DisplayName>\
            <t:GivenName>Änne</t:GivenName><t:MiddleName>Luise</t:MiddleName><t:Surname>Weiß-Großmann</t:Surname>\
            </t:Contact>
            """
        let codec = EWSRecordCodec(zone: TimeZone(identifier: "Europe/Berlin")!)
        let item = try codec.decode(XMLStreamParser.parse(xml), kind: .address)
        guard case .address(let contact) = item.record else {
            Issue.record("not a contact")
            return
        }
        #expect(contact.title == "Dr.")
        #expect(contact.middleName == "Luise")
        #expect(
            EWSRecordCodec.title(inDisplayName: "Änne Weiß", given: "Änne", middle: nil, family: "Weiß") == nil)
        #expect(
            EWSRecordCodec.title(inDisplayName: "Weiß, Änne", given: "Änne", middle: nil, family: "Weiß") == nil)
    }

    @Test("the display name written holds the title and all three names")
    func displayNameWritten() async throws {
        let sim = try SimFixture()
        let endpoint = sim.endpoint(.address)
        let contact = Address(title: "Dr.", givenName: "Änne", middleName: "Luise", familyName: "Weiß-Großmann")
        let created = try await endpoint.apply([.create(syncKey: SyncKey(rawValue: "dn-1"), record: .address(contact))])
        guard case .success(let id, _, _)? = created.first else {
            Issue.record("create failed: \(created)")
            return
        }
        #expect(EWSRecordCodec.displayName(contact) == "Dr. Änne Luise Weiß-Großmann")
        let request = """
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" \
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header>\
            <t:RequestServerVersion Version="Exchange2010_SP2"/><t:ExchangeImpersonation><t:ConnectingSID>\
            <t:PrimarySmtpAddress>mm@example.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>\
            </soap:Header><soap:Body><m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>\
            <t:AdditionalProperties><t:FieldURI FieldURI="contacts:DisplayName"/></t:AdditionalProperties>\
            </m:ItemShape><m:ItemIds><t:ItemId Id="\(id)"/></m:ItemIds></m:GetItem></soap:Body></soap:Envelope>
            """
        let (_, body) = sim.service.handle(body: Data(request.utf8), account: "svc@example.test")
        let answer = String(decoding: body, as: UTF8.self)
        #expect(answer.contains("<t:DisplayName>Dr. Änne Luise Weiß-Großmann</t:DisplayName>"), "\(answer)")
    }
}

@Suite("EWS updates set only the fields that flow")
struct EWSUntouchedFieldsTests {
    static func soap(_ body: String) -> Data {
        Data(
            """
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" \
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header>\
            <t:RequestServerVersion Version="Exchange2010_SP2"/><t:ExchangeImpersonation><t:ConnectingSID>\
            <t:PrimarySmtpAddress>mm@example.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>\
            </soap:Header><soap:Body>\(body)</soap:Body></soap:Envelope>
            """.utf8)
    }

    @Test("a contact's nickname and spouse (no record field) survive an update of every record field")
    func outlookOnlyFieldsSurvive() async throws {
        let sim = try SimFixture()
        let (_, created) = sim.service.handle(
            body: Self.soap(
                """
                <m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/></m:SavedItemFolderId>\
                <m:Items><t:Contact><t:GivenName>Änne</t:GivenName><t:Nickname>Änni</t:Nickname>\
                <t:SpouseName>Karl</t:SpouseName><t:Surname>Weiß</t:Surname></t:Contact></m:Items></m:CreateItem>
                """), account: "svc@example.test")
        let answer = try XMLStreamParser.parse(created)
        let id = try #require(answer.descendant("ItemId")?.attributes["Id"])
        let changeKey = answer.descendant("ItemId")?.attributes["ChangeKey"]
        let endpoint = sim.endpoint(.address)
        let update = Address(
            title: "Dr.", givenName: "Änne", middleName: "Luise", familyName: "Weiß-Großmann", notes: "Rückruf")
        let results = try await endpoint.apply([
            .update(
                id: id, expectedVersion: changeKey, record: .address(update),
                fields: Set(RecordFields.names(for: .address)))
        ])
        guard case .success? = results.first else {
            Issue.record("update failed: \(results)")
            return
        }
        let (_, read) = sim.service.handle(
            body: Self.soap(
                """
                <m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
                <t:FieldURI FieldURI="contacts:Nickname"/><t:FieldURI FieldURI="contacts:SpouseName"/>\
                <t:FieldURI FieldURI="contacts:Surname"/></t:AdditionalProperties></m:ItemShape>\
                <m:ItemIds><t:ItemId Id="\(id)"/></m:ItemIds></m:GetItem>
                """), account: "svc@example.test")
        let item = try #require(try XMLStreamParser.parse(read).descendant("Contact"))
        #expect(item.string("Surname") == "Weiß-Großmann")
        #expect(item.string("Nickname") == "Änni")
        #expect(item.string("SpouseName") == "Karl")
    }
}
