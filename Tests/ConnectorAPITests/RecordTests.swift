import Foundation
import Testing

@testable import ConnectorAPI

@Suite("Canonical records")
struct RecordTests {
    static let berlin = "Europe/Berlin"

    static let full: [Record] = [
        .address(
            Address(
                salutation: "Frau", title: "Dr.", givenName: "Jürgen", middleName: "K.", familyName: "Groß",
                company: "Glück & Söhne GmbH", department: "Vertrieb", jobTitle: "Leiter", emails: ["a@example.test"],
                phones: [.business: "+49 30 1234", .mobile: "+49 171 5555"],
                businessAddress: PostalAddress(
                    street: "Hauptstraße 1", postalCode: "10115", city: "Berlin", country: "DE"),
                homeAddress: PostalAddress(city: "Köln"), otherAddress: PostalAddress(city: "Bonn"),
                birthday: LocalDate(year: 1970, month: 2, day: 28), webPage: "https://example.test", notes: "🏠 Notiz",
                categories: ["Kunde"])),
        .calendar(
            CalendarEvent(
                subject: "Besichtigung", location: "Straße 5", body: "Text",
                timing: .timed(
                    start: Date(timeIntervalSince1970: 1_700_000_000), end: Date(timeIntervalSince1970: 1_700_003_600),
                    timeZone: berlin),
                reminderMinutes: 15, busyStatus: .tentative, isPrivate: true, categories: ["Termin"],
                organizer: Attendee(email: "o@example.test", response: .organizer),
                attendees: [Attendee(email: "b@example.test", name: "B", role: .optional)],
                recurrence: Recurrence(
                    pattern: .weekly(interval: 1, days: [.monday, .thursday], firstDayOfWeek: .monday),
                    range: .numbered(start: LocalDate(year: 2026, month: 1, day: 5), count: 10),
                    modifiedOccurrences: [
                        OccurrenceException(
                            originalStart: Date(timeIntervalSince1970: 1_700_600_000),
                            start: Date(timeIntervalSince1970: 1_700_603_600),
                            end: Date(timeIntervalSince1970: 1_700_607_200))
                    ], deletedOccurrences: [Date(timeIntervalSince1970: 1_701_200_000)]))),
        .task(
            TaskItem(
                subject: "Exposé schicken", body: "b", startDate: LocalDate(year: 2026, month: 3, day: 1),
                dueDate: LocalDate(year: 2026, month: 3, day: 5), status: .inProgress, percentComplete: 50,
                completedAt: Date(timeIntervalSince1970: 1_700_000_000), importance: .high,
                reminderAt: Date(timeIntervalSince1970: 1_700_000_000), categories: ["x"],
                recurrence: Recurrence(
                    pattern: .daily(interval: 2), range: .noEnd(start: LocalDate(year: 2026, month: 1, day: 1))))),
        .mail(
            MailMessage(
                messageID: "<1@example.test>", inReplyTo: "<0@example.test>", references: ["<0@example.test>"],
                from: MailAddress(name: "Ä", email: "a@example.test"), to: [MailAddress(email: "b@example.test")],
                cc: [MailAddress(email: "c@example.test")], bcc: [MailAddress(email: "d@example.test")],
                subject: "Betreff",
                sentAt: Date(timeIntervalSince1970: 1_700_000_000),
                receivedAt: Date(timeIntervalSince1970: 1_700_000_100),
                textBody: "t", htmlBody: "<p>h</p>",
                attachments: [
                    MailAttachment(
                        name: "Grundriss.pdf", mediaType: "application/pdf", size: 3, contentID: "c1",
                        content: .inline(Data([1, 2, 3])))
                ],
                isRead: true, folder: .sentItems, deletedOnOtherSide: true)),
    ]

    @Test("field names of each kind are exactly the keys a fully filled record encodes")
    func fieldNamesComplete() {
        for record in Self.full {
            let keys = Set(RecordFields.map(record).keys)
            #expect(keys == Set(RecordFields.names(for: record.kind)), "\(record.kind)")
        }
    }

    @Test("the direct field map equals the map through JSON text, so hashes stay as they were")
    func directMapMatchesJSON() {
        var records = Self.full
        records.append(.address(Address(givenName: "Nur", emails: [], phones: [:])))
        records.append(
            .calendar(
                CalendarEvent(
                    subject: "Ganztägig",
                    timing: .allDay(
                        start: LocalDate(year: 2026, month: 5, day: 1),
                        endExclusive: LocalDate(year: 2026, month: 5, day: 2))
                )))
        records.append(.task(TaskItem(subject: "leer")))
        for record in records {
            let direct = RecordFields.map(record)
            #expect(direct == RecordFields.mapThroughJSON(record), "\(record.kind)")
            #expect(RecordFields.canonicalBytes(of: record, fields: Set(direct.keys)).count > 2)
        }
    }

    @Test("canonical bytes are written exactly as JSONEncoder writes them")
    func canonicalMatchesEncoder() {
        var records = Self.full
        records.append(
            .address(
                Address(
                    givenName: "Quote \" Backslash \\ Slash / Tab \t Bell \u{07} Unit \u{1f} Zeilen\r\nEnde ✓",
                    notes: "Ümlaut 🏠")))
        records.append(
            .calendar(
                CalendarEvent(
                    subject: "Bruchteil",
                    timing: .timed(
                        start: Date(timeIntervalSince1970: 1_700_000_000.125),
                        end: Date(timeIntervalSince1970: -86_400.5),
                        timeZone: "UTC"), reminderMinutes: 0)))
        for record in records {
            let names = Set(RecordFields.names(for: record.kind))
            let direct = RecordFields.canonicalBytes(of: record, fields: names)
            let reference = RecordFields.canonicalBytesThroughEncoder(of: record, fields: names)
            #expect(
                direct == reference,
                "\(String(decoding: direct, as: UTF8.self)) vs \(String(decoding: reference, as: UTF8.self))")
        }
        for number in [0, 1, -1, 0.5, 1e15, 9e15, 1e17, 1e20, 123_456_789.987_654_3, -0.000_1] {
            let direct = CanonicalJSON.format(number)
            let reference = String(decoding: try! JSONEncoder().encode(number), as: UTF8.self)
            #expect(direct == reference, "\(number)")
        }
    }

    @Test("records survive the field-map round trip unchanged")
    func roundTrip() throws {
        for record in Self.full {
            let back = try RecordFields.record(kind: record.kind, fields: RecordFields.map(record))
            #expect(back == record)
            let coded = try JSONDecoder().decode(Record.self, from: JSONEncoder().encode(record))
            #expect(coded == record)
        }
    }

    @Test("merge takes only the named fields")
    func merge() throws {
        let base = Record.address(Address(givenName: "A", familyName: "B", notes: "alt", categories: ["x"]))
        let other = Record.address(Address(givenName: "Z", notes: nil, categories: []))
        let merged = try RecordFields.merge(base, taking: ["notes", "categories"], from: other)
        #expect(merged == .address(Address(givenName: "A", familyName: "B")))
    }

    @Test("a record missing a required field is rejected, with the field named")
    func requiredField() {
        #expect(throws: DecodingError.self) {
            try RecordFields.record(kind: .calendar, fields: ["subject": .string("x")])
        }
    }

    @Test("canonical bytes ignore empty values and fields outside the set")
    func canonical() {
        let a = Record.address(Address(givenName: "A", emails: [], notes: ""))
        let b = Record.address(Address(givenName: "A", notes: nil, categories: []))
        #expect(
            RecordFields.canonicalBytes(of: a, fields: ["givenName", "emails", "notes"])
                == RecordFields.canonicalBytes(of: b, fields: ["givenName", "emails", "notes"]))
        let c = Record.address(Address(givenName: "A", jobTitle: "X"))
        #expect(
            RecordFields.canonicalBytes(of: a, fields: ["givenName"])
                == RecordFields.canonicalBytes(of: c, fields: ["givenName"]))
        #expect(
            RecordFields.canonicalBytes(of: a, fields: ["givenName", "jobTitle"])
                != RecordFields.canonicalBytes(of: c, fields: ["givenName", "jobTitle"]))
    }

    @Test("local dates parse strictly")
    func localDates() {
        #expect(LocalDate(iso: "2024-02-29") == LocalDate(year: 2024, month: 2, day: 29))
        #expect(LocalDate(iso: "2023-02-29") == nil)
        #expect(LocalDate(iso: "24-02-01") == nil)
        #expect(LocalDate(iso: "2024-13-01") == nil)
        #expect(LocalDate(year: 2024, month: 1, day: 9).description == "2024-01-09")
    }

    @Test("validation names the problem")
    func validation() {
        #expect(Address(emails: ["1", "2", "3", "4"]).validate().contains { $0.contains("more than 3 e-mail") })
        let zone = CalendarEvent(subject: "x", timing: .timed(start: Date(), end: Date(), timeZone: "Mars/Olympus"))
        #expect(zone.validate() == ["unknown time zone Mars/Olympus"])
        #expect(TaskItem(subject: "x", percentComplete: 120).validate().count == 1)
    }
}

@Suite("Connector definitions and capabilities")
struct DefinitionTests {
    let all = Capabilities(kinds: Set(DataKind.allCases))

    @Test("field directions follow the connector's direction unless a field says otherwise")
    func fieldFlows() {
        var definition = ConnectorDefinition(
            name: "c", kind: .address, fieldDirections: ["notes": .sourceToTarget, "categories": .none])
        let toTarget = definition.fieldsToTarget(source: all, target: all)
        let toSource = definition.fieldsToSource(source: all, target: all)
        #expect(toTarget.contains("notes") && !toSource.contains("notes"))
        #expect(!toTarget.contains("categories") && !toSource.contains("categories"))
        #expect(toTarget.contains("givenName") && toSource.contains("givenName"))
        definition.direction = .sourceToTarget
        #expect(definition.fieldsToSource(source: all, target: all).isEmpty)
    }

    @Test("only fields both sides hold are synced")
    func commonFields() {
        let definition = ConnectorDefinition(name: "c", kind: .address)
        let narrow = Capabilities(kinds: [.address], fields: [.address: ["givenName", "familyName", "notes"]])
        #expect(definition.fieldsToTarget(source: all, target: narrow) == ["givenName", "familyName", "notes"])
    }

    @Test("restrictions only take away")
    func narrowing() {
        let restricted = all.narrowed(
            by: CapabilityRestriction(
                kinds: [.address, .mail], write: false, mailStateChanges: [], excludedFields: [.address: ["notes"]]))
        #expect(restricted.kinds == [.address, .mail])
        #expect(!restricted.canWrite && restricted.canDelete)
        #expect(restricted.mailStateChanges.isEmpty)
        #expect(!restricted.fields(of: .address).contains("notes"))
        let back = restricted.narrowed(by: CapabilityRestriction(kinds: Set(DataKind.allCases), write: true))
        #expect(back.kinds == [.address, .mail] && !back.canWrite)
    }

    @Test("secrets never print")
    func secrets() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect(!"\(Settings(["password": .secret(secret)]))".contains("hunter2"))
    }
}
