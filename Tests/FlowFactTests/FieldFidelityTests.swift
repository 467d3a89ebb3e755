import ConnectorAPI
import Connectors
import FlowFactDevelopment
import Foundation
import ODBC
import TestSupport
import Testing

@testable import FlowFactConnector

/// What FlowFact has no column for passes through it unchanged (the connector table), and what a
/// FlowFact user changes wins over what was kept.
@Suite("FlowFact: field fidelity", .serialized)
struct FieldFidelityTests {
    static let contact = Address(
        title: "Dr.", givenName: "Änne", middleName: "Luise", familyName: "Weiß-Großmann",
        phones: [.mobile: "+49 170 300", .pager: "+49 221 400", .other: "+49 221 500"],
        businessAddress: PostalAddress(street: "Hohe Straße 1", postalCode: "50667", city: "Köln", state: "NRW"),
        homeAddress: PostalAddress(street: "Ringstraße 9", postalCode: "50674", city: "Köln"),
        categories: ["Privat", "VIP"])

    /// A whole hour in the coming days, Berlin time (inside the calendar window).
    static func soon(days: Int, hour: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        return calendar.date(
            byAdding: DateComponents(day: days, hour: hour), to: calendar.startOfDay(for: Date()))!
    }

    func create(_ record: Record, on endpoint: any SyncEndpoint) async throws -> ItemID {
        let results = try await endpoint.apply([.create(syncKey: SyncKey(rawValue: UUID().uuidString), record: record)])
        guard case .success(let id, _, _)? = results.first else { throw TestFailure("create failed: \(results)") }
        return id
    }

    func read(_ id: ItemID, on endpoint: any SyncEndpoint) async throws -> Record {
        guard let record = try await endpoint.read(ids: [id])[id]?.record else { throw TestFailure("\(id) is gone") }
        return record
    }

    @Test(
        "a contact's middle name, home address, pager and categories come back; FlowFact's edits win",
        arguments: TestDatabase.allCases)
    func contact(_ database: TestDatabase) async throws {
        let subject = try FlowFactSubject(database)
        defer { Task { await subject.adapter.shutdown() } }
        let endpoint = try await subject.endpoint(.address)
        let id = try await create(.address(Self.contact), on: endpoint)
        #expect(try await read(id, on: endpoint) == .address(Self.contact))

        // FlowFact shows the middle name in the first-name column and VIP as the Merkmal "Kunde".
        let row = try #require(try subject.db.rows("SELECT * FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]).first)
        #expect(row["VORNAME"].string == "Änne Luise")
        #expect(row["TEL_MOBIL"].string == "+49 170 300")
        let kunde = FlowFactSeeder.fixedID("mkm", 1)
        #expect(
            try subject.db.rows(
                "SELECT 1 FROM \"ADMKM\" WHERE \"AD_ID\" = ? AND \"MKM_ID\" = ?", [.text(id), .text(kunde)]
            ).count == 1)

        // A FlowFact user changes the mobile number, the first name and removes the Merkmal: their
        // values win; the pager, the other number and the home address stay.
        try subject.db.execute(
            "UPDATE \"AD\" SET \"TEL_MOBIL\" = ?, \"VORNAME\" = ? WHERE \"ID\" = ?",
            [.text("+49 170 999"), .text("Anna"), .text(id)])
        try subject.db.execute(
            "DELETE FROM \"ADMKM\" WHERE \"AD_ID\" = ? AND \"MKM_ID\" = ?", [.text(id), .text(kunde)])
        guard case .address(let edited) = try await read(id, on: endpoint) else { throw TestFailure("not an address") }
        #expect(edited.givenName == "Anna")
        #expect(edited.middleName == nil)
        #expect(edited.phones == [.mobile: "+49 170 999", .pager: "+49 221 400", .other: "+49 221 500"])
        #expect(edited.homeAddress == Self.contact.homeAddress)
        #expect(edited.businessAddress?.state == "NRW")
        #expect(edited.categories == ["Privat"])

        // Linking the Merkmal again in FlowFact brings the category back.
        try subject.db.execute(
            "INSERT INTO \"ADMKM\" (\"AD_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\") VALUES (?, ?, 1, ?)",
            [.text(id), .text(kunde), .timestamp(ODBCTimestamp(Date(), in: TimeZone(identifier: "UTC")!))])
        guard case .address(let linked) = try await read(id, on: endpoint) else { throw TestFailure("not an address") }
        #expect(linked.categories == ["Privat", "VIP"])

        // An update that drops the category unlinks the Merkmal.
        var update = linked
        update.categories = ["Privat"]
        let results = try await endpoint.apply([
            .update(id: id, expectedVersion: nil, record: .address(update), fields: ["categories"])
        ])
        guard case .success? = results.first else { throw TestFailure("update failed: \(results)") }
        #expect(
            try subject.db.rows(
                "SELECT 1 FROM \"ADMKM\" WHERE \"AD_ID\" = ? AND \"MKM_ID\" = ?", [.text(id), .text(kunde)]
            ).isEmpty)
        guard case .address(let after) = try await read(id, on: endpoint) else { throw TestFailure("not an address") }
        #expect(after.categories == ["Privat"])
        #expect(after.phones[.pager] == "+49 221 400")
    }

    @Test(
        "an appointment keeps its own zone, privacy and free/busy; moved in FlowFact it stays in its zone",
        arguments: TestDatabase.allCases)
    func appointment(_ database: TestDatabase) async throws {
        let subject = try FlowFactSubject(database)
        defer { Task { await subject.adapter.shutdown() } }
        let endpoint = try await subject.endpoint(.calendar)
        let start = Self.soon(days: 5, hour: 16)
        let event = CalendarEvent(
            subject: "Call mit New York",
            timing: .timed(start: start, end: start.addingTimeInterval(3600), timeZone: "America/New_York"),
            reminderMinutes: 60, busyStatus: .outOfOffice, isPrivate: true, categories: ["Kunde"])
        let id = try await create(.calendar(event), on: endpoint)
        #expect(try await read(id, on: endpoint) == .calendar(event))

        // FlowFact's user moves it by an hour (DATUM/ENDE are Berlin wall-clock times).
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        try subject.db.execute(
            "UPDATE \"AKT\" SET \"DATUM\" = ?, \"ENDE\" = ? WHERE \"ID\" = ?",
            [
                .timestamp(ODBCTimestamp(start.addingTimeInterval(3600), in: berlin)),
                .timestamp(ODBCTimestamp(start.addingTimeInterval(7200), in: berlin)), .text(id),
            ])
        guard case .calendar(let moved) = try await read(id, on: endpoint) else { throw TestFailure("not an event") }
        #expect(
            moved.timing
                == .timed(
                    start: start.addingTimeInterval(3600), end: start.addingTimeInterval(7200),
                    timeZone: "America/New_York"))
        #expect(moved.isPrivate && moved.busyStatus == .outOfOffice)
    }

    @Test(
        "with the optional columns mapped, the middle name and privacy live in them", arguments: [TestDatabase.sqlite])
    func optionalColumns(_ database: TestDatabase) async throws {
        let connection = try database.freshConnectionString()
        let db = try ODBCConnection(connectionString: connection)
        try FlowFactSeeder(connection: db).initialize()
        try db.execute("ALTER TABLE \"AD\" ADD COLUMN \"VORNAME2\" VARCHAR(100)")
        try db.execute("ALTER TABLE \"AKT\" ADD COLUMN \"PRIVAT\" SMALLINT")
        db.close()
        let subject = try FlowFactSubject(
            database, connection: connection,
            extra: [
                "columns": .mapping([
                    "addresses.middle_name": .string("VORNAME2"), "activities.private": .string("PRIVAT"),
                ])
            ])
        defer { Task { await subject.adapter.shutdown() } }
        let holding = FlowFactAdapter.holding(subject.settings)
        #expect(holding.visible(.address).contains("middleName"))
        #expect(!holding.kept(.address).contains("middleName"))
        let endpoint = try await subject.endpoint(.address)
        let id = try await create(.address(Self.contact), on: endpoint)
        let row = try #require(try subject.db.rows("SELECT * FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]).first)
        #expect(row["VORNAME"].string == "Änne")
        #expect(row["VORNAME2"].string == "Luise")
        try subject.db.execute("UPDATE \"AD\" SET \"VORNAME2\" = ? WHERE \"ID\" = ?", [.text("Maria"), .text(id)])
        guard case .address(let edited) = try await read(id, on: endpoint) else { throw TestFailure("not an address") }
        #expect(edited.middleName == "Maria")

        let calendar = try await subject.endpoint(.calendar)
        let start = Self.soon(days: 2, hour: 9)
        let event = CalendarEvent(
            subject: "Arzt",
            timing: .timed(start: start, end: start.addingTimeInterval(1800), timeZone: "Europe/Berlin"),
            isPrivate: true)
        let eventID = try await create(.calendar(event), on: calendar)
        #expect(
            try subject.db.rows("SELECT \"PRIVAT\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(eventID)]).first?[0].integer
                == 1)
        try subject.db.execute("UPDATE \"AKT\" SET \"PRIVAT\" = 0 WHERE \"ID\" = ?", [.text(eventID)])
        guard case .calendar(let opened) = try await read(eventID, on: calendar) else {
            throw TestFailure("not an event")
        }
        #expect(!opened.isPrivate)
    }

    @Test("a column switched off in the mapping: its field is kept instead of lost")
    func switchedOffColumn() async throws {
        let subject = try FlowFactSubject(.sqlite, extra: ["columns": .mapping(["activities.location": .string("")])])
        defer { Task { await subject.adapter.shutdown() } }
        let endpoint = try await subject.endpoint(.calendar)
        let start = Self.soon(days: 3, hour: 11)
        let event = CalendarEvent(
            subject: "Besichtigung", location: "Lindenstraße 5, Köln",
            timing: .timed(start: start, end: start.addingTimeInterval(3600), timeZone: "Europe/Berlin"))
        let id = try await create(.calendar(event), on: endpoint)
        #expect(try await read(id, on: endpoint) == .calendar(event))
        #expect(try subject.db.rows("SELECT \"ORT\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(id)]).first?[0] == .null)
    }

    @Test("keep_other_fields: false holds only FlowFact's own columns, and keeps nothing")
    func withoutConnectorTable() async throws {
        let subject = try FlowFactSubject(.sqlite, extra: ["keep_other_fields": .boolean(false)])
        defer { Task { await subject.adapter.shutdown() } }
        let caps = FlowFactAdapter.type.capabilities(subject.settings)
        #expect(caps.fields(of: .address) == FlowFactRecords.fields[.address])
        #expect(caps.keptFields[.address] == [])
        let endpoint = try await subject.endpoint(.address)
        _ = try await create(.address(Self.contact), on: endpoint)
        #expect(try subject.db.rows("SELECT 1 FROM \"AD\"").count == 1)
        #expect(try subject.db.rows("SELECT 1 FROM \"CONNECTOR_FIELDS\"").isEmpty)
    }

    @Test("kept fields that are not JSON make the record unreadable, named, and the others are read")
    func unreadableKeptFields() async throws {
        let subject = try FlowFactSubject(.sqlite)
        defer { Task { await subject.adapter.shutdown() } }
        let endpoint = try await subject.endpoint(.address)
        let bad = try await create(.address(Self.contact), on: endpoint)
        _ = try await create(.address(Address(givenName: "Otto", familyName: "Normal")), on: endpoint)
        try subject.db.execute(
            "UPDATE \"CONNECTOR_FIELDS\" SET \"FELDER\" = 'kaputt' WHERE \"DATENSATZ_ID\" = ?", [.text(bad)])
        let set = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(set.changes.count == 1)
        #expect(set.unreadable.map(\.id) == [bad])
        #expect(set.unreadable.first?.reason.contains("kept fields") == true)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite("FlowFact: updates set only the fields that flow", .serialized)
struct FlowingFieldsTests {
    @Test(
        "a FlowFact edit leaves the mailbox's fields FlowFact does not know (a pair from before the connector table)",
        arguments: [TestDatabase.sqlite, .postgres])
    func editKeepsUnknownFields(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.connectors =
            "  - { name: contacts, kind: address, source: flowfact, target: \(h.exchange), filter: { merkmale: [Outlook-Sync] } }"
        let id = try h.insertAddress(given: "Änne", family: "Weiß-Großmann")
        _ = try await h.sync()
        let exchange = try h.mailbox(.address)
        let copy = try #require(exchange.items(named: "Änne Weiß-Großmann").first)
        // The mailbox's user adds what FlowFact has no column for; it travels into the connector table.
        exchange.update(copy.id) { record in
            guard case .address(var address) = record else { return }
            address.middleName = "Luise"
            address.homeAddress = PostalAddress(street: "Ringstraße 9", postalCode: "50674", city: "Köln")
            record = .address(address)
        }
        h.now = h.now.addingTimeInterval(60)
        _ = try await h.sync()
        #expect(try h.count("SELECT COUNT(*) FROM \"CONNECTOR_FIELDS\"") == 1)
        #expect(
            try h.db.rows("SELECT \"VORNAME\" FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]).first?[0].string
                == "Änne Luise")

        // As after an upgrade (or with the table lost): FlowFact knows none of it. A FlowFact user
        // changes the note; the update sets the note and leaves the rest in the mailbox.
        try h.db.execute("DELETE FROM \"CONNECTOR_FIELDS\"")
        try h.db.execute(
            "UPDATE \"AD\" SET \"VORNAME\" = ?, \"NOTIZ\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [.text("Änne"), .text("Rückruf erbeten"), h.stamp(h.now.addingTimeInterval(120)), .text(id)])
        h.now = h.now.addingTimeInterval(180)
        let reports = try await h.sync(force: true)
        #expect(reports.of("contacts")?.status == .ok, "\(reports.of("contacts")?.message ?? "")")
        guard case .address(let after)? = exchange.item(copy.id)?.record else {
            Issue.record("the contact is gone")
            return
        }
        #expect(after.notes == "Rückruf erbeten")
        #expect(after.middleName == "Luise")
        #expect(after.homeAddress?.street == "Ringstraße 9")
    }
}
