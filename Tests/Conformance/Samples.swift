import ConnectorAPI
import Foundation

/// Records the conformance checks write: plain ones named by a label, ones with every field set,
/// and ones with difficult text.
enum Samples {
    /// A date on a whole minute, in the coming weeks (inside any adapter's window).
    static func soon(days: Int, hour: Int, minute: Int = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        let today = calendar.startOfDay(for: Date())
        return calendar.date(byAdding: DateComponents(day: days, hour: hour, minute: minute), to: today)!
    }

    static func local(days: Int) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        let date = calendar.date(byAdding: .day, value: days, to: calendar.startOfDay(for: Date()))!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// A record whose display name contains `label`.
    static func plain(_ kind: DataKind, _ label: String) -> Record {
        switch kind {
        case .address: .address(Address(givenName: "Konformität", familyName: label))
        case .calendar:
            .calendar(
                CalendarEvent(
                    subject: label,
                    timing: .timed(
                        start: soon(days: 3, hour: 10), end: soon(days: 3, hour: 11), timeZone: "Europe/Berlin")))
        case .task: .task(TaskItem(subject: label, dueDate: local(days: 5)))
        case .mail:
            .mail(
                MailMessage(
                    messageID: "<\(UUID().uuidString)@conformance.test>",
                    from: MailAddress(name: "Erika Muster", email: "erika@kunde.test"),
                    to: [MailAddress(name: "Max Müller", email: "mm@example.test")], subject: label,
                    sentAt: soon(days: 0, hour: 8), receivedAt: soon(days: 0, hour: 8, minute: 1),
                    textBody: "Guten Tag."))
        }
    }

    /// Records of a kind with as many fields set as the kind has (more than one where a field has
    /// forms: timed and all-day events, tasks done and open).
    static func full(_ kind: DataKind) -> [Record] {
        switch kind {
        case .address:
            return [
                .address(
                    Address(
                        salutation: "Frau", title: "Dr.", givenName: "Erika", familyName: "Mustermann",
                        company: "Muster Immobilien GmbH", department: "Vertrieb", jobTitle: "Maklerin",
                        emails: ["erika@muster.example", "e.mustermann@privat.example"],
                        phones: [.business: "+49 30 123456", .mobile: "+49 171 2345678", .home: "+49 30 654321"],
                        businessAddress: PostalAddress(
                            street: "Friedrichstraße 10", postalCode: "10117", city: "Berlin", country: "Deutschland"),
                        birthday: LocalDate(year: 1975, month: 4, day: 12), webPage: "https://muster.example",
                        notes: "Sucht 3 Zimmer\nmit Balkon.")),
                // The fields FlowFact has no column for: middle name, home and other address, a
                // state, phone kinds without a column, categories.
                .address(
                    Address(
                        title: "Dr.", givenName: "Änne", middleName: "Luise", familyName: "Weiß-Großmann",
                        emails: ["aenne@weiss.example", "a.weiss@privat.example", "aenne@verein.example"],
                        phones: [
                            .business: "+49 221 100", .home: "+49 221 200", .mobile: "+49 170 300",
                            .businessFax: "+49 221 101", .pager: "+49 221 400", .other: "+49 221 500",
                        ],
                        businessAddress: PostalAddress(
                            street: "Hohe Straße 1", postalCode: "50667", city: "Köln", state: "NRW",
                            country: "Deutschland"),
                        homeAddress: PostalAddress(street: "Ringstraße 9", postalCode: "50674", city: "Köln"),
                        otherAddress: PostalAddress(street: "Strandweg 2", postalCode: "18225", city: "Kühlungsborn"),
                        categories: ["VIP", "Privat"])),
            ]
        case .calendar:
            return [
                .calendar(
                    CalendarEvent(
                        subject: "Besichtigung Lindenstraße", location: "Lindenstraße 5, Köln",
                        body: "Schlüssel beim Hausmeister.",
                        timing: .timed(
                            start: soon(days: 4, hour: 14, minute: 30), end: soon(days: 4, hour: 15, minute: 15),
                            timeZone: "Europe/Berlin"),
                        reminderMinutes: 30)),
                // In another zone than the service's, private, out of office, with categories.
                .calendar(
                    CalendarEvent(
                        subject: "Call mit New York",
                        timing: .timed(
                            start: soon(days: 5, hour: 16), end: soon(days: 5, hour: 17),
                            timeZone: "America/New_York"),
                        reminderMinutes: 60, busyStatus: .outOfOffice, isPrivate: true,
                        categories: ["Kunde", "VIP"])),
                .calendar(
                    CalendarEvent(
                        subject: "Betriebsausflug",
                        timing: .allDay(start: local(days: 10), endExclusive: local(days: 12)))),
            ]
        case .task:
            return [
                .task(
                    TaskItem(
                        subject: "Exposé prüfen", body: "Grundriss fehlt.", startDate: local(days: 1),
                        dueDate: local(days: 6), status: .inProgress, percentComplete: 40, importance: .high,
                        reminderAt: soon(days: 5, hour: 8), categories: ["Objekt"])),
                .task(
                    TaskItem(
                        subject: "Unterlagen geschickt", dueDate: local(days: 2), status: .completed,
                        percentComplete: 100, completedAt: soon(days: 0, hour: 7))),
            ]
        case .mail:
            return [plain(.mail, "Anfrage Wohnung")]
        }
    }

    /// Umlauts, ß, emoji, right-to-left text and a 200 KB text field.
    static func unicode(_ kind: DataKind) -> Record {
        let long = String(repeating: "Grüße aus Köln – ß ẞ 🏠😀 שלום\n", count: 200_000 / 32)
        switch kind {
        case .address:
            return .address(
                Address(givenName: "Zoë", familyName: "Groß-Öztürk 😀", company: "Bäckerei Kühn", notes: long))
        case .calendar:
            return .calendar(
                CalendarEvent(
                    subject: "Übergabe 🏠 in Köln", body: long,
                    timing: .timed(
                        start: soon(days: 6, hour: 9), end: soon(days: 6, hour: 10), timeZone: "Europe/Berlin"))
            )
        case .task: return .task(TaskItem(subject: "Rückruf Frau Weiß ☎", body: long))
        case .mail:
            guard case .mail(var mail) = plain(.mail, "Grüße 😀") else { return plain(.mail, "Grüße") }
            mail.textBody = long
            return .mail(mail)
        }
    }
}
