import ConnectorAPI
import Foundation
import ICalendar
import TestSupport
import Testing

@Suite("iCalendar events: what is written reads back the same")
struct EventRoundTripTests {
    let stamp = instant("2030-01-02T03:04:05Z")

    func roundTrip(_ event: CalendarEvent, in defaultZone: TimeZone = zone("Europe/Berlin")) throws -> String {
        let text = ICalendarEvent.write(event, uid: "uid-1@example.test", stamp: stamp, method: "REQUEST")
        let parsed = try ICalendarEvent.read(text, defaultZone: defaultZone)
        #expect(parsed.event == event)
        #expect(parsed.uid == "uid-1@example.test")
        return text
    }

    @Test("a timed event in Europe/Berlin with every field: TZID times, VTIMEZONE, people, alarm")
    func berlinEverything() throws {
        let event = CalendarEvent(
            subject: "Besichtigung, Objekt; 4711 \\ Süd", location: "Köln, Domplatz 1",
            body: "Zeile 1\nZeile 2, mit Komma; und Semikolon",
            timing: .timed(
                start: instant("2030-07-01T08:00:00Z"), end: instant("2030-07-01T09:30:00Z"),
                timeZone: "Europe/Berlin"),
            reminderMinutes: 15, busyStatus: .tentative, isPrivate: true, categories: ["Kunde, A", "CRM"],
            organizer: Attendee(email: "chef@example.com", name: "Chef, Der", role: .required, response: .organizer),
            attendees: [
                Attendee(email: "anna@example.com", name: "Anna \"Ann\" Lee", role: .required, response: .accepted),
                Attendee(email: "bob@example.com", name: nil, role: .optional, response: .tentative),
                Attendee(email: "raum1@example.com", name: "Raum 1", role: .resource, response: .noResponse),
                Attendee(email: "carl@example.com", name: "Carl", role: .required, response: .declined),
                Attendee(email: "dora@example.com", name: "Dora", role: .optional, response: .unknown),
            ])
        let text = try roundTrip(event)
        #expect(text.hasPrefix("BEGIN:VCALENDAR\r\nPRODID:"))
        #expect(text.contains("\r\nVERSION:2.0\r\n"))
        #expect(text.contains("\r\nMETHOD:REQUEST\r\n"))
        #expect(text.contains("DTSTART;TZID=Europe/Berlin:20300701T100000\r\n"))
        #expect(text.contains("DTEND;TZID=Europe/Berlin:20300701T113000\r\n"))
        #expect(text.contains("DTSTAMP:20300102T030405Z\r\n"))
        #expect(text.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"))
        #expect(text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"))
        #expect(text.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"))
        #expect(text.contains("CLASS:PRIVATE\r\n"))
        #expect(text.contains("X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\r\n"))
        #expect(text.contains("TRIGGER:-PT15M\r\n"))
        #expect(text.contains("ACTION:DISPLAY\r\n"))
        #expect(text.contains("ROLE=NON-PARTICIPANT"))
        #expect(text.contains("PARTSTAT=ACCEPTED"))
        #expect(text.contains(#"CATEGORIES:Kunde\, A,CRM"#))
        #expect(!text.contains("\n\n"))
    }

    @Test("a timed event in America/New_York across the November change keeps its instants and zone")
    func newYork() throws {
        let event = CalendarEvent(
            subject: "Call",
            timing: .timed(
                start: instant("2030-11-02T13:00:00Z"), end: instant("2030-11-04T15:00:00Z"),
                timeZone: "America/New_York"), busyStatus: .outOfOffice)
        let text = try roundTrip(event, in: zone("Asia/Tokyo"))
        #expect(text.contains("DTSTART;TZID=America/New_York:20301102T090000\r\n"))
        #expect(text.contains("DTEND;TZID=America/New_York:20301104T100000\r\n"))
        #expect(text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"))
        #expect(text.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"))
        #expect(text.contains("X-MICROSOFT-CDO-BUSYSTATUS:OOF"))
    }

    @Test("UTC events are written with Z and no VTIMEZONE", arguments: ["UTC", "GMT"])
    func utc(_ zoneName: String) throws {
        var event = CalendarEvent(
            subject: "UTC",
            timing: .timed(
                start: instant("2030-03-31T00:30:00Z"), end: instant("2030-03-31T01:30:00Z"), timeZone: zoneName),
            busyStatus: .free)
        let text = ICalendarEvent.write(event, uid: "u", stamp: stamp)
        #expect(text.contains("DTSTART:20300331T003000Z\r\n"))
        #expect(text.contains("DTEND:20300331T013000Z\r\n"))
        #expect(!text.contains("VTIMEZONE"))
        #expect(!text.contains("METHOD"))
        #expect(text.contains("TRANSP:TRANSPARENT"))
        event.timing = .timed(
            start: instant("2030-03-31T00:30:00Z"), end: instant("2030-03-31T01:30:00Z"), timeZone: "UTC")
        #expect(try ICalendarEvent.read(text, defaultZone: zone("Europe/Berlin")).event == event)
    }

    @Test("an all-day event across the March change: DATE values, exclusive end, Exchange's flag")
    func allDayAcrossDST() throws {
        let event = CalendarEvent(
            subject: "Messe",
            timing: .allDay(
                start: LocalDate(year: 2030, month: 3, day: 30), endExclusive: LocalDate(year: 2030, month: 4, day: 2)),
            reminderMinutes: 0, busyStatus: .workingElsewhere)
        let text = try roundTrip(event)
        #expect(text.contains("DTSTART;VALUE=DATE:20300330\r\n"))
        #expect(text.contains("DTEND;VALUE=DATE:20300402\r\n"))
        #expect(text.contains("X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r\n"))
        #expect(text.contains("X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE"))
        #expect(!text.contains("VTIMEZONE"))
        _ = try roundTrip(event, in: zone("America/Los_Angeles"))
    }

    @Test("a weekly series with a moved and a deleted occurrence, ending on a date")
    func weeklyWithExceptions() throws {
        // Mondays and Wednesdays at 09:00 Berlin from 2030-03-18 (CET) to 2030-04-10 (CEST).
        let moved = OccurrenceException(
            originalStart: instant("2030-03-25T08:00:00Z"), start: instant("2030-03-26T12:00:00Z"),
            end: instant("2030-03-26T13:00:00Z"), subject: "Verschoben", location: "Raum 2", body: nil)
        let retitled = OccurrenceException(
            originalStart: instant("2030-04-03T07:00:00Z"), start: instant("2030-04-03T07:00:00Z"),
            end: instant("2030-04-03T08:00:00Z"), subject: nil, location: nil, body: "Nur diesmal")
        let event = CalendarEvent(
            subject: "Jour fixe", location: "Raum 1", body: "Agenda",
            timing: .timed(
                start: instant("2030-03-18T08:00:00Z"), end: instant("2030-03-18T09:00:00Z"),
                timeZone: "Europe/Berlin"),
            reminderMinutes: 10,
            recurrence: Recurrence(
                pattern: .weekly(interval: 1, days: [.monday, .wednesday], firstDayOfWeek: .sunday),
                range: .endDate(
                    start: LocalDate(year: 2030, month: 3, day: 18), end: LocalDate(year: 2030, month: 4, day: 10)),
                modifiedOccurrences: [moved, retitled], deletedOccurrences: [instant("2030-04-01T07:00:00Z")]))
        let text = try roundTrip(event)
        #expect(text.contains("RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;WKST=SU;UNTIL=20300410T215959Z\r\n"))
        #expect(text.contains("EXDATE;TZID=Europe/Berlin:20300401T090000\r\n"))
        #expect(text.contains("RECURRENCE-ID;TZID=Europe/Berlin:20300325T090000\r\n"))
        #expect(text.contains("DTSTART;TZID=Europe/Berlin:20300326T130000\r\n"))
        #expect(text.components(separatedBy: "BEGIN:VEVENT").count == 4)
        #expect(text.components(separatedBy: "UID:uid-1@example.test").count == 4)
        // The override repeats the master's title where the occurrence keeps it.
        #expect(text.components(separatedBy: "SUMMARY:Jour fixe").count == 3)
    }

    @Test("monthly relative, numbered: the last Friday, every second month, ten times")
    func monthlyRelative() throws {
        let event = CalendarEvent(
            subject: "Review",
            timing: .timed(
                start: instant("2030-03-29T15:00:00Z"), end: instant("2030-03-29T16:00:00Z"),
                timeZone: "America/New_York"),
            recurrence: Recurrence(
                pattern: .monthlyRelative(interval: 2, week: .last, day: .friday),
                range: .numbered(start: LocalDate(year: 2030, month: 3, day: 29), count: 10)))
        let text = try roundTrip(event)
        #expect(text.contains("RRULE:FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;COUNT=10\r\n"))
        let second = CalendarEvent(
            subject: "Stammtisch",
            timing: .timed(
                start: instant("2030-06-11T17:00:00Z"), end: instant("2030-06-11T20:00:00Z"),
                timeZone: "Europe/Berlin"),
            recurrence: Recurrence(
                pattern: .monthlyRelative(interval: 1, week: .second, day: .tuesday),
                range: .noEnd(start: LocalDate(year: 2030, month: 6, day: 11))))
        #expect(try roundTrip(second).contains("RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=2TU\r\n"))
    }

    @Test(
        "monthly absolute, daily and yearly patterns, all-day yearly with an end date",
        arguments: [
            RecurrencePattern.monthlyAbsolute(interval: 3, dayOfMonth: 15), .daily(interval: 2),
            .yearlyAbsolute(month: 3, dayOfMonth: 15), .yearlyRelative(month: 3, week: .third, day: .friday),
        ])
    func otherPatterns(_ pattern: RecurrencePattern) throws {
        let timed = CalendarEvent(
            subject: "Serie",
            timing: .timed(
                start: instant("2030-03-15T08:00:00Z"), end: instant("2030-03-15T08:30:00Z"),
                timeZone: "Europe/Berlin"),
            recurrence: Recurrence(
                pattern: pattern, range: .numbered(start: LocalDate(year: 2030, month: 3, day: 15), count: 5)))
        _ = try roundTrip(timed)
        let allDay = CalendarEvent(
            subject: "Geburtstag",
            timing: .allDay(
                start: LocalDate(year: 2030, month: 3, day: 15),
                endExclusive: LocalDate(year: 2030, month: 3, day: 16)),
            busyStatus: .free,
            recurrence: Recurrence(
                pattern: pattern,
                range: .endDate(
                    start: LocalDate(year: 2030, month: 3, day: 15), end: LocalDate(year: 2035, month: 3, day: 15)),
                deletedOccurrences: [instant("2031-03-14T23:00:00Z")]))
        let text = try roundTrip(allDay)
        #expect(text.contains(";UNTIL=20350315\r\n"))
        #expect(text.contains("EXDATE;VALUE=DATE:20310315\r\n"))
    }

    @Test("yearly rules are written as BYMONTH with BYMONTHDAY or an nth weekday")
    func yearlyText() {
        let event = CalendarEvent(
            subject: "Jahrestag",
            timing: .allDay(
                start: LocalDate(year: 2030, month: 3, day: 31), endExclusive: LocalDate(year: 2030, month: 4, day: 1)),
            recurrence: Recurrence(
                pattern: .yearlyRelative(month: 3, week: .last, day: .sunday),
                range: .noEnd(start: LocalDate(year: 2030, month: 3, day: 31))))
        let text = ICalendarEvent.write(event, uid: "y", stamp: stamp)
        #expect(text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"))
        var absolute = event
        absolute.recurrence?.pattern = .yearlyAbsolute(month: 3, dayOfMonth: 31)
        #expect(
            ICalendarEvent.write(absolute, uid: "y", stamp: stamp).contains(
                "RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=31\r\n"))
    }

    @Test("an all-day series with a moved occurrence reads back with midnights of the default zone")
    func allDayException() throws {
        let berlin = zone("Europe/Berlin")
        let event = CalendarEvent(
            subject: "Urlaub",
            timing: .allDay(
                start: LocalDate(year: 2030, month: 3, day: 25),
                endExclusive: LocalDate(year: 2030, month: 3, day: 26)),
            recurrence: Recurrence(
                pattern: .daily(interval: 1),
                range: .numbered(start: LocalDate(year: 2030, month: 3, day: 25), count: 10),
                modifiedOccurrences: [
                    OccurrenceException(
                        originalStart: instant("2030-03-30T23:00:00Z"), start: instant("2030-04-05T22:00:00Z"),
                        end: instant("2030-04-07T22:00:00Z"), subject: "Verlängert")
                ],
                deletedOccurrences: [instant("2030-03-26T23:00:00Z"), instant("2030-04-01T22:00:00Z")]))
        let text = try roundTrip(event, in: berlin)
        #expect(text.contains("RECURRENCE-ID;VALUE=DATE:20300331\r\n"))
        #expect(text.contains("DTSTART;VALUE=DATE:20300406\r\n"))
        #expect(text.contains("DTEND;VALUE=DATE:20300408\r\n"))
        #expect(text.contains("EXDATE;VALUE=DATE:20300402\r\n"))
    }
}
