import ConnectorAPI
import Connectors
import EndpointConformance
import ExchangeSim
import ExchangeWebDAV
import Foundation
import TestSupport
import Testing

/// Appointments over WebDAV as Exchange 2003/2007 keep them: series with changed and deleted
/// occurrences, all-day events across a DST change, and what other clients (DavMail, Outlook)
/// leave in the calendar.
@Suite("exchange-webdav: appointments as Exchange 2003/2007 keep them", .serialized)
struct WebDAVCalendarTests {
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    static func date(_ text: String) -> Date { DAVDate.parse(text)! }

    /// A fresh endpoint's full read of the calendar (as a new run would see it).
    func readAll(_ subject: WebDAVSubject) async throws -> [ItemState] {
        let changes = try await subject.endpoint(.calendar).changes(ChangeRequest(cursor: nil, known: [:]))
        return changes.changes.compactMap { if case .upsert(let state) = $0 { state } else { nil } }
    }

    @Test("a weekly series with a moved and a deleted occurrence comes back as written")
    func seriesWithExceptions() async throws {
        let subject = try await WebDAVSubject()
        defer { Task { await subject.stop() } }
        let start = Self.date("2027-03-02T09:00:00Z")  // a Tuesday, 10:00 in Berlin
        let moved = OccurrenceException(
            originalStart: Self.date("2027-03-09T09:00:00Z"), start: Self.date("2027-03-10T13:00:00Z"),
            end: Self.date("2027-03-10T14:00:00Z"), subject: "Besichtigung (verschoben)", location: "Büro")
        let event = CalendarEvent(
            subject: "Besichtigung Südstraße", location: "Südstraße 5",
            timing: .timed(start: start, end: start.addingTimeInterval(3600), timeZone: "Europe/Berlin"),
            reminderMinutes: 15,
            recurrence: Recurrence(
                pattern: .weekly(interval: 1, days: [.tuesday], firstDayOfWeek: .monday),
                range: .numbered(start: LocalDate(year: 2027, month: 3, day: 2), count: 6),
                modifiedOccurrences: [moved], deletedOccurrences: [Self.date("2027-03-16T09:00:00Z")]))
        let results = try await subject.endpoint(.calendar).apply([
            .create(syncKey: SyncKey(rawValue: "series-1"), record: .calendar(event))
        ])
        guard case .success(let id, let version, _)? = results.first else {
            Issue.record("not written: \(results)")
            return
        }
        #expect(!version.isEmpty)
        let stored = try #require(try await readAll(subject).first { $0.id == id })
        guard case .calendar(let back) = stored.record else { throw ConformanceFailure(check: "kind", message: "") }
        #expect(back.recurrence == event.recurrence)
        #expect(back.timing == event.timing)
        #expect(back.reminderMinutes == 15)
        #expect(stored.syncKey == SyncKey(rawValue: "series-1"))
        // Exchange's view: a recurring master with the rule promoted.
        let item = try #require(
            subject.server.service.davItems(mailbox: "jdoe@example.test", folder: "calendar").values.first)
        #expect(item[DAVProperty.instanceType]?.int == 1)
        #expect(item[DAVProperty.rrule]?.strings.first?.contains("FREQ=WEEKLY") == true)
    }

    @Test("an all-day event across the March DST change keeps its days; Exchange stores local midnights")
    func allDayAcrossDST() async throws {
        let subject = try await WebDAVSubject()
        defer { Task { await subject.stop() } }
        let event = CalendarEvent(
            subject: "Messe",
            timing: .allDay(
                start: LocalDate(year: 2027, month: 3, day: 27), endExclusive: LocalDate(year: 2027, month: 3, day: 30)),
            busyStatus: .outOfOffice)
        _ = try await subject.endpoint(.calendar).apply([
            .create(syncKey: SyncKey(rawValue: "fair"), record: .calendar(event))
        ])
        let item = try #require(
            subject.server.service.davItems(mailbox: "jdoe@example.test", folder: "calendar").values.first)
        #expect(item[DAVProperty.allDayEvent]?.bool == true)
        #expect(item[DAVProperty.dtStart]?.date == Self.date("2027-03-26T23:00:00Z"))
        #expect(item[DAVProperty.dtEnd]?.date == Self.date("2027-03-29T22:00:00Z"))
        #expect(item[DAVProperty.busyStatus]?.string == "OOF")
        let back = try #require(try await readAll(subject).first)
        #expect(back.record == .calendar(event))
    }

    @Test("an appointment DavMail PUT (Windows TZID, UTC values, its own VTIMEZONE) reads in its zone")
    func davMailAppointment() async throws {
        let subject = try await WebDAVSubject()
        defer { Task { await subject.stop() } }
        let calendar = """
            BEGIN:VCALENDAR\r
            PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r
            VERSION:2.0\r
            METHOD:PUBLISH\r
            BEGIN:VTIMEZONE\r
            TZID:W. Europe Standard Time\r
            BEGIN:STANDARD\r
            DTSTART:16010101T030000\r
            TZOFFSETFROM:+0200\r
            TZOFFSETTO:+0100\r
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
            END:STANDARD\r
            BEGIN:DAYLIGHT\r
            DTSTART:16010101T020000\r
            TZOFFSETFROM:+0100\r
            TZOFFSETTO:+0200\r
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
            END:DAYLIGHT\r
            END:VTIMEZONE\r
            BEGIN:VEVENT\r
            UID:davmail-1\r
            SUMMARY:Prüfung Überstunden\r
            ORGANIZER:MAILTO:jdoe@example.test\r
            DTSTART;TZID=W. Europe Standard Time:20300601T100000Z\r
            DTEND;TZID=W. Europe Standard Time:20300601T110000Z\r
            END:VEVENT\r
            END:VCALENDAR\r

            """
        let mime = String(
            decoding: DAVMIME.appointment(calendar: calendar, subject: "x", description: nil, date: Date()),
            as: UTF8.self)
        let (_, base) = (subject.server, subject.server.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: ""))
        let put = try dav(
            "PUT", "\(base)/exchange/jdoe/Kalender/davmail-1.ics", user: "jdoe:jdoe-pw",
            headers: ["Translate: f", "Overwrite: f", "Content-Type: message/rfc822"], body: mime)
        #expect(put.status == 201)
        let back = try #require(try await readAll(subject).first)
        guard case .calendar(let event) = back.record else { throw ConformanceFailure(check: "kind", message: "") }
        #expect(event.subject == "Prüfung Überstunden")
        #expect(
            event.timing
                == .timed(
                    start: Self.date("2030-06-01T10:00:00Z"), end: Self.date("2030-06-01T11:00:00Z"),
                    timeZone: "Europe/Berlin"))
    }

    @Test("an appointment held only as properties (made with PROPPATCH, no MIME) is read from the MIME Exchange makes")
    func propertyOnlyAppointment() async throws {
        let subject = try await WebDAVSubject()
        defer { Task { await subject.stop() } }
        let base = subject.server.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "")
        let body = DAVBody.propertyUpdate(set: [
            (DAVProperty.messageClass, .string("IPM.Appointment")), (DAVProperty.subject, .string("Notartermin")),
            (DAVProperty.dtStart, .date(Self.date("2027-05-04T08:00:00Z"))),
            (DAVProperty.dtEnd, .date(Self.date("2027-05-04T09:30:00Z"))),
            (DAVProperty.location, .string("Kanzlei")), (DAVProperty.busyStatus, .string("TENTATIVE")),
        ])
        let created = try dav(
            "PROPPATCH", "\(base)/exchange/jdoe/Kalender/outlook-1.EML", user: "jdoe:jdoe-pw",
            body: String(decoding: body, as: UTF8.self))
        #expect(created.status == 207)
        let back = try #require(try await readAll(subject).first)
        guard case .calendar(let event) = back.record else { throw ConformanceFailure(check: "kind", message: "") }
        #expect(event.subject == "Notartermin")
        #expect(event.location == "Kanzlei")
        #expect(event.busyStatus == .tentative)
        guard case .timed(let start, let end, _) = event.timing else {
            throw ConformanceFailure(check: "timing", message: "")
        }
        #expect(start == Self.date("2027-05-04T08:00:00Z"))
        #expect(end == Self.date("2027-05-04T09:30:00Z"))
    }

    @Test("an appointment changed in the mailbox through its properties (as Outlook does) reads back changed")
    func changedInMailbox() async throws {
        let subject = try await WebDAVSubject()
        defer { Task { await subject.stop() } }
        let start = Self.date("2027-06-01T08:00:00Z")
        let endpoint = try await subject.endpoint(.calendar)
        let results = try await endpoint.apply([
            .create(
                syncKey: SyncKey(rawValue: "moved-1"),
                record: .calendar(
                    CalendarEvent(
                        subject: "Übergabe", timing: .timed(start: start, end: start + 3600, timeZone: "Europe/Berlin"))
                ))
        ])
        guard case .success(let id, let version, _)? = results.first else {
            Issue.record("not written: \(results)")
            return
        }
        let base = subject.server.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "")
        let body = DAVBody.propertyUpdate(set: [
            (DAVProperty.subject, .string("Übergabe verschoben")),
            (DAVProperty.dtStart, .date(Self.date("2027-06-02T12:00:00Z"))),
            (DAVProperty.dtEnd, .date(Self.date("2027-06-02T13:00:00Z"))),
        ])
        #expect(
            try dav(
                "PROPPATCH", base + DAVPath.encode(id), user: "jdoe:jdoe-pw",
                body: String(decoding: body, as: UTF8.self)
            )
            .status == 207)
        let changed = try await subject.endpoint(.calendar).read(ids: [id])
        let state = try #require(changed[id])
        #expect(state.version != version)
        guard case .calendar(let event) = state.record else { throw ConformanceFailure(check: "kind", message: "") }
        #expect(event.subject == "Übergabe verschoben")
        #expect(
            event.timing
                == .timed(
                    start: Self.date("2027-06-02T12:00:00Z"), end: Self.date("2027-06-02T13:00:00Z"),
                    timeZone: "Europe/Berlin"))
    }
}
