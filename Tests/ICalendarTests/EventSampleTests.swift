import ConnectorAPI
import Foundation
import ICalendar
import TestSupport
import Testing

/// Calendars in the shapes real servers and clients write, with instants computed by hand.
@Suite("iCalendar events as Exchange 2003/2007, Outlook and DavMail write them")
struct EventSampleTests {
    let berlin = zone("Europe/Berlin")

    static let exchangeTimeZone = """
        BEGIN:VTIMEZONE
        X-MICROSOFT-CDO-TZID:4
        TZID:(GMT+01.00) Amsterdam/Berlin/Bern/Rome/Stockholm/Vienna
        BEGIN:STANDARD
        DTSTART:16010101T030000
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        RRULE:FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=10;BYDAY=-1SU
        END:STANDARD
        BEGIN:DAYLIGHT
        DTSTART:16010101T020000
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0200
        RRULE:FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=3;BYDAY=-1SU
        END:DAYLIGHT
        END:VTIMEZONE
        """

    @Test("Exchange 2003: CDO display TZID, weekly series with EXDATE and a moved occurrence, CDO properties")
    func exchange2003Series() throws {
        let tzid = "\"(GMT+01.00) Amsterdam/Berlin/Bern/Rome/Stockholm/Vienna\""
        let text = crlf(
            """
            BEGIN:VCALENDAR
            METHOD:PUBLISH
            PRODID:Microsoft CDO for Microsoft Exchange
            VERSION:2.0
            \(Self.exchangeTimeZone)
            BEGIN:VEVENT
            DTSTAMP:20300523T094300Z
            DTSTART;TZID=\(tzid):20300610T090000
            SUMMARY:Wochenbesprechung
            UID:040000008200E00074C5B7101A82E00800000000D0A1
            ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN="Meier, Anna":MAILTO:anna.meier@example.com
            ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Bob:mailto:bob@example.com
            ATTENDEE;CUTYPE=RESOURCE;ROLE=NON-PARTICIPANT;CN=Raum 1:MAILTO:raum1@example.com
            ATTENDEE;CN=Ohne Adresse:invalid:nomail
            ORGANIZER;CN="Schmidt, Peter":MAILTO:peter.schmidt@example.com
            LOCATION:Raum 1
            DTEND;TZID=\(tzid):20300610T103000
            RRULE:FREQ=WEEKLY;UNTIL=20300729T070000Z;INTERVAL=1;BYDAY=MO;WKST=SU
            EXDATE;TZID=\(tzid):20300624T090000
            DESCRIPTION:Tagesordnung:\\n1. Zahlen\\, Daten
            SEQUENCE:3
            PRIORITY:5
            CLASS:PRIVATE
            CATEGORIES:Kunde
            CATEGORIES:Team\\, intern,CRM
            CREATED:20300523T094300Z
            LAST-MODIFIED:20300524T101500Z
            STATUS:CONFIRMED
            TRANSP:OPAQUE
            X-MICROSOFT-CDO-BUSYSTATUS:OOF
            X-MICROSOFT-CDO-INSTTYPE:1
            X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY
            X-MICROSOFT-CDO-ALLDAYEVENT:FALSE
            X-MICROSOFT-CDO-IMPORTANCE:1
            BEGIN:VALARM
            ACTION:DISPLAY
            DESCRIPTION:REMINDER
            TRIGGER;RELATED=START:-PT00H15M00S
            END:VALARM
            END:VEVENT
            BEGIN:VEVENT
            UID:040000008200E00074C5B7101A82E00800000000D0A1
            RECURRENCE-ID;TZID=\(tzid):20300701T090000
            DTSTART;TZID=\(tzid):20300702T140000
            DTEND;TZID=\(tzid):20300702T150000
            SUMMARY:Wochenbesprechung (verschoben)
            LOCATION:Raum 1
            X-MICROSOFT-CDO-INSTTYPE:3
            END:VEVENT
            BEGIN:VEVENT
            UID:040000008200E00074C5B7101A82E00800000000D0A1
            RECURRENCE-ID;TZID=\(tzid):20300708T090000
            DTSTART;TZID=\(tzid):20300708T090000
            DTEND;TZID=\(tzid):20300708T103000
            STATUS:CANCELLED
            END:VEVENT
            BEGIN:VTODO
            SUMMARY:ignored
            END:VTODO
            END:VCALENDAR
            """)
        let parsed = try ICalendarEvent.read(text, defaultZone: zone("America/Chicago"))
        let event = parsed.event
        #expect(parsed.uid == "040000008200E00074C5B7101A82E00800000000D0A1")
        #expect(parsed.sequence == 3)
        #expect(parsed.lastModified == instant("2030-05-24T10:15:00Z"))
        // 09:00 CEST = 07:00 UTC; the display name's city maps to the Windows zone's IANA id.
        #expect(
            event.timing
                == .timed(
                    start: instant("2030-06-10T07:00:00Z"), end: instant("2030-06-10T08:30:00Z"),
                    timeZone: "Europe/Berlin"))
        #expect(event.subject == "Wochenbesprechung")
        #expect(event.body == "Tagesordnung:\n1. Zahlen, Daten")
        #expect(event.location == "Raum 1")
        #expect(event.busyStatus == .outOfOffice, "X-MICROSOFT-CDO-BUSYSTATUS wins over TRANSP")
        #expect(event.isPrivate)
        #expect(event.categories == ["Kunde", "Team, intern", "CRM"])
        #expect(event.reminderMinutes == 15)
        #expect(
            event.organizer
                == Attendee(email: "peter.schmidt@example.com", name: "Schmidt, Peter", response: .organizer))
        #expect(
            event.attendees == [
                Attendee(email: "anna.meier@example.com", name: "Meier, Anna", role: .required, response: .noResponse),
                Attendee(email: "bob@example.com", name: "Bob", role: .optional, response: .accepted),
                Attendee(email: "raum1@example.com", name: "Raum 1", role: .resource, response: .unknown),
            ])
        let recurrence = try #require(event.recurrence)
        #expect(recurrence.pattern == .weekly(interval: 1, days: [.monday], firstDayOfWeek: .sunday))
        #expect(
            recurrence.range
                == .endDate(
                    start: LocalDate(year: 2030, month: 6, day: 10), end: LocalDate(year: 2030, month: 7, day: 29)))
        #expect(recurrence.deletedOccurrences == [instant("2030-06-24T07:00:00Z"), instant("2030-07-08T07:00:00Z")])
        #expect(
            recurrence.modifiedOccurrences == [
                OccurrenceException(
                    originalStart: instant("2030-07-01T07:00:00Z"), start: instant("2030-07-02T12:00:00Z"),
                    end: instant("2030-07-02T13:00:00Z"), subject: "Wochenbesprechung (verschoben)")
            ])
    }

    @Test("Exchange all-day events: midnight times with a Windows TZID or in UTC plus the CDO flag")
    func exchangeAllDay() throws {
        let windows = crlf(
            """
            BEGIN:VCALENDAR
            VERSION:2.0
            BEGIN:VEVENT
            UID:a1
            DTSTART;TZID="W. Europe Standard Time":20300330T000000
            DTEND;TZID="W. Europe Standard Time":20300401T000000
            X-MICROSOFT-CDO-ALLDAYEVENT:TRUE
            SUMMARY:Messe
            END:VEVENT
            END:VCALENDAR
            """)
        let expected = EventTiming.allDay(
            start: LocalDate(year: 2030, month: 3, day: 30), endExclusive: LocalDate(year: 2030, month: 4, day: 1))
        #expect(try ICalendarEvent.read(windows, defaultZone: zone("America/New_York")).event.timing == expected)
        // Local midnights in UTC: 2030-03-30 00:00 CET and 2030-04-01 00:00 CEST.
        let utc = crlf(
            """
            BEGIN:VCALENDAR
            BEGIN:VEVENT
            DTSTART:20300329T230000Z
            DTEND:20300331T220000Z
            X-MICROSOFT-CDO-ALLDAYEVENT:TRUE
            SUMMARY:Messe
            RRULE:FREQ=DAILY;INTERVAL=1;UNTIL=20300404T220000Z
            EXDATE:20300331T220000Z
            END:VEVENT
            END:VCALENDAR
            """)
        let parsed = try ICalendarEvent.read(utc, defaultZone: berlin).event
        #expect(parsed.timing == expected)
        #expect(
            parsed.recurrence?.range
                == .endDate(
                    start: LocalDate(year: 2030, month: 3, day: 30), end: LocalDate(year: 2030, month: 4, day: 5)))
        #expect(parsed.recurrence?.deletedOccurrences == [instant("2030-03-31T22:00:00Z")])
    }

    @Test("Outlook: quoted display TZID with commas, VTIMEZONE from 1601, monthly relative, numbered")
    func outlookDisplayName() throws {
        let text = crlf(
            """
            BEGIN:VCALENDAR
            PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
            VERSION:2.0
            METHOD:REQUEST
            X-MS-OLK-FORCEINSPECTOROPEN:TRUE
            BEGIN:VTIMEZONE
            TZID:(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rom\\, Stockholm\\, Wien
            BEGIN:STANDARD
            DTSTART:16011028T030000
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
            TZOFFSETFROM:+0200
            TZOFFSETTO:+0100
            END:STANDARD
            BEGIN:DAYLIGHT
            DTSTART:16010325T020000
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
            TZOFFSETFROM:+0100
            TZOFFSETTO:+0200
            END:DAYLIGHT
            END:VTIMEZONE
            BEGIN:VEVENT
            CLASS:PUBLIC
            CREATED:20300301T120000Z
            DTEND;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien":20300315T103000
            DTSTAMP:20300301T120000Z
            DTSTART;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien":20300315T093000
            LAST-MODIFIED:20300301T120000Z
            PRIORITY:5
            RRULE:FREQ=MONTHLY;COUNT=10;BYDAY=3FR
            SEQUENCE:0
            SUMMARY;LANGUAGE=de:Monatsrunde
            TRANSP:TRANSPARENT
            UID:040000008200E00074C5B7101A82E0080000000050B1
            X-MICROSOFT-CDO-IMPORTANCE:1
            X-MICROSOFT-DISALLOW-COUNTER:FALSE
            BEGIN:VALARM
            TRIGGER:-PT1H30M
            ACTION:DISPLAY
            DESCRIPTION:Reminder
            END:VALARM
            END:VEVENT
            END:VCALENDAR
            """)
        let event = try ICalendarEvent.read(text, defaultZone: zone("Asia/Tokyo")).event
        // 09:30 CET = 08:30 UTC.
        #expect(
            event.timing
                == .timed(
                    start: instant("2030-03-15T08:30:00Z"), end: instant("2030-03-15T09:30:00Z"),
                    timeZone: "Europe/Berlin"))
        #expect(event.busyStatus == .free)
        #expect(event.reminderMinutes == 90)
        #expect(event.subject == "Monatsrunde")
        #expect(
            event.recurrence
                == Recurrence(
                    pattern: .monthlyRelative(interval: 1, week: .third, day: .friday),
                    range: .numbered(start: LocalDate(year: 2030, month: 3, day: 15), count: 10)))
    }

    @Test("Outlook's Customized Time Zone with US rules reads as America/New_York, instants from its VTIMEZONE")
    func customizedTimeZone() throws {
        let text = crlf(
            """
            BEGIN:VCALENDAR
            BEGIN:VEVENT
            DTSTART;TZID=Customized Time Zone:20301101T090000
            DTEND;TZID=Customized Time Zone:20301104T090000
            SUMMARY:Lange Sitzung
            END:VEVENT
            BEGIN:VTIMEZONE
            TZID:Customized Time Zone
            BEGIN:STANDARD
            DTSTART:16010101T020000
            TZOFFSETFROM:-0400
            TZOFFSETTO:-0500
            RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11
            END:STANDARD
            BEGIN:DAYLIGHT
            DTSTART:16010101T020000
            TZOFFSETFROM:-0500
            TZOFFSETTO:-0400
            RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3
            END:DAYLIGHT
            END:VTIMEZONE
            END:VCALENDAR
            """)
        let event = try ICalendarEvent.read(text, defaultZone: berlin).event
        // 09:00 EDT = 13:00 UTC; after the change on 2030-11-03, 09:00 EST = 14:00 UTC.
        #expect(
            event.timing
                == .timed(
                    start: instant("2030-11-01T13:00:00Z"), end: instant("2030-11-04T14:00:00Z"),
                    timeZone: "America/New_York"))
    }

    @Test("a custom VTIMEZONE whose offsets match no known zone gives a fixed-offset zone")
    func unmatchedCustomZone() throws {
        let text = crlf(
            """
            BEGIN:VCALENDAR
            BEGIN:VTIMEZONE
            TZID:Somewhere
            BEGIN:DAYLIGHT
            DTSTART:20000507T020000
            RRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=1SU
            TZOFFSETFROM:+0300
            TZOFFSETTO:+0400
            END:DAYLIGHT
            BEGIN:STANDARD
            DTSTART:20000903T030000
            RRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=1SU
            TZOFFSETFROM:+0400
            TZOFFSETTO:+0300
            END:STANDARD
            END:VTIMEZONE
            BEGIN:VEVENT
            DTSTART;TZID=Somewhere:20300610T120000
            DURATION:PT2H
            SUMMARY:x
            END:VEVENT
            END:VCALENDAR
            """)
        let event = try ICalendarEvent.read(text, defaultZone: berlin).event
        guard case .timed(let start, let end, let identifier) = event.timing else {
            Issue.record("not timed")
            return
        }
        // In June the zone is at +04:00: 12:00 local = 08:00 UTC.
        #expect(start == instant("2030-06-10T08:00:00Z"))
        #expect(end == instant("2030-06-10T10:00:00Z"))
        #expect(TimeZone(identifier: identifier)?.secondsFromGMT(for: start) == 4 * 3600)
        #expect(event.validate().isEmpty)
    }

    @Test("DavMail: TZID together with a UTC value, raw UTF-8, MAILTO organizer")
    func davMail() throws {
        let text = crlf(
            """
            BEGIN:VCALENDAR
            PRODID:-//davmail.sf.net/6.2.2
            VERSION:2.0
            METHOD:PUBLISH
            BEGIN:VTIMEZONE
            TZID:W. Europe Standard Time
            BEGIN:STANDARD
            DTSTART:16010101T030000
            TZOFFSETFROM:+0200
            TZOFFSETTO:+0100
            RRULE:FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=10;BYDAY=-1SU
            END:STANDARD
            BEGIN:DAYLIGHT
            DTSTART:16010101T020000
            TZOFFSETFROM:+0100
            TZOFFSETTO:+0200
            RRULE:FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=3;BYDAY=-1SU
            END:DAYLIGHT
            END:VTIMEZONE
            BEGIN:VEVENT
            UID:9a3c7e2f-davmail
            SUMMARY:Prüfung Überstunden
            ORGANIZER:MAILTO:jdoe@example.com
            DTSTART;TZID=W. Europe Standard Time:20300601T100000Z
            DTEND;TZID=W. Europe Standard Time:20300601T113000Z
            DTSTAMP:20300520T080000Z
            END:VEVENT
            END:VCALENDAR
            """)
        let parsed = try ICalendarEvent.read(text, defaultZone: zone("America/New_York"))
        #expect(
            parsed.event.timing
                == .timed(
                    start: instant("2030-06-01T10:00:00Z"), end: instant("2030-06-01T11:30:00Z"),
                    timeZone: "Europe/Berlin"))
        #expect(parsed.event.subject == "Prüfung Überstunden")
        #expect(parsed.event.organizer?.email == "jdoe@example.com")
        #expect(parsed.uid == "9a3c7e2f-davmail")
        #expect(parsed.event.recurrence == nil)
    }

    @Test("zones without VTIMEZONE: IANA, Windows, Mozilla prefix; floating times use the default zone")
    func zonesByName() throws {
        func timing(_ start: String, _ zone: TimeZone = zone("Europe/Berlin")) throws -> EventTiming {
            let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\n\(start)\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n"
            return try ICalendarEvent.read(text, defaultZone: zone).event.timing
        }
        // The US change on 2030-03-10 happened at 02:00: 09:00 is EDT, 13:00 UTC.
        #expect(
            try timing("DTSTART;TZID=America/New_York:20300310T090000")
                == .timed(
                    start: instant("2030-03-10T13:00:00Z"), end: instant("2030-03-10T13:00:00Z"),
                    timeZone: "America/New_York"))
        #expect(
            try timing("DTSTART;TZID=Eastern Standard Time:20300309T090000")
                == .timed(
                    start: instant("2030-03-09T14:00:00Z"), end: instant("2030-03-09T14:00:00Z"),
                    timeZone: "America/New_York"))
        #expect(
            try timing("DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20300101T120000")
                == .timed(
                    start: instant("2030-01-01T11:00:00Z"), end: instant("2030-01-01T11:00:00Z"),
                    timeZone: "Europe/Berlin"))
        #expect(
            try timing("DTSTART:20300601T100000", zone("America/New_York"))
                == .timed(
                    start: instant("2030-06-01T14:00:00Z"), end: instant("2030-06-01T14:00:00Z"),
                    timeZone: "America/New_York"))
        // A TZID that names nothing and has no VTIMEZONE is read like a floating time.
        #expect(
            try timing("DTSTART;TZID=Nowhere Special:20300601T100000", zone("America/New_York"))
                == .timed(
                    start: instant("2030-06-01T14:00:00Z"), end: instant("2030-06-01T14:00:00Z"),
                    timeZone: "America/New_York"))
        #expect(
            try timing("DTSTART;TZID=\"(UTC-05:00) Eastern Time (US & Canada)\":20300601T100000")
                == .timed(
                    start: instant("2030-06-01T14:00:00Z"), end: instant("2030-06-01T14:00:00Z"),
                    timeZone: "America/New_York"))
    }

    @Test("DURATION instead of DTEND counts nominal days across the change; missing ends take RFC defaults")
    func durations() throws {
        func timing(_ lines: String) throws -> EventTiming {
            let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\n\(lines)\nEND:VEVENT\nEND:VCALENDAR"
            return try ICalendarEvent.read(text, defaultZone: zone("Europe/Berlin")).event.timing
        }
        // 12:00 CET on 2030-03-30 = 11:00 UTC; one day later is 12:00 CEST = 10:00 UTC.
        #expect(
            try timing("DTSTART;TZID=Europe/Berlin:20300330T120000\nDURATION:P1D")
                == .timed(
                    start: instant("2030-03-30T11:00:00Z"), end: instant("2030-03-31T10:00:00Z"),
                    timeZone: "Europe/Berlin"))
        #expect(
            try timing("DTSTART:20300330T120000Z\nDURATION:PT1H30M")
                == .timed(
                    start: instant("2030-03-30T12:00:00Z"), end: instant("2030-03-30T13:30:00Z"), timeZone: "UTC"))
        #expect(
            try timing("DTSTART;VALUE=DATE:20300330\nDURATION:P2D")
                == .allDay(
                    start: LocalDate(year: 2030, month: 3, day: 30),
                    endExclusive: LocalDate(year: 2030, month: 4, day: 1)))
        #expect(
            try timing("DTSTART;VALUE=DATE:20300330")
                == .allDay(
                    start: LocalDate(year: 2030, month: 3, day: 30),
                    endExclusive: LocalDate(year: 2030, month: 3, day: 31)))
        #expect(
            try timing("DTSTART:20300330T120000Z")
                == .timed(
                    start: instant("2030-03-30T12:00:00Z"), end: instant("2030-03-30T12:00:00Z"), timeZone: "UTC"))
    }

    @Test("EXDATE in several properties, comma lists, DATE and UTC forms")
    func exdates() throws {
        let text = crlf(
            """
            BEGIN:VCALENDAR
            BEGIN:VEVENT
            UID:x
            DTSTART;TZID=Europe/Berlin:20300325T090000
            DTEND;TZID=Europe/Berlin:20300325T100000
            RRULE:FREQ=DAILY;COUNT=20
            EXDATE;TZID=Europe/Berlin:20300326T090000,20300327T090000
            EXDATE:20300328T080000Z
            EXDATE;VALUE=DATE:20300329,20300331
            SUMMARY:Täglich
            END:VEVENT
            END:VCALENDAR
            """)
        let recurrence = try #require(try ICalendarEvent.read(text, defaultZone: zone("UTC")).event.recurrence)
        #expect(recurrence.pattern == .daily(interval: 1))
        #expect(recurrence.range == .numbered(start: LocalDate(year: 2030, month: 3, day: 25), count: 20))
        // Dates take the series' time of day: 09:00 CET (08:00 UTC), and 09:00 CEST on 2030-03-31 (07:00 UTC).
        #expect(
            recurrence.deletedOccurrences == [
                instant("2030-03-26T08:00:00Z"), instant("2030-03-27T08:00:00Z"), instant("2030-03-28T08:00:00Z"),
                instant("2030-03-29T08:00:00Z"), instant("2030-03-31T07:00:00Z"),
            ])
    }

    @Test("RRULE forms: BYSETPOS, yearly relative, weekday dailies, WKST default, minus-one month day")
    func ruleForms() throws {
        func recurrence(_ rule: String, start: String = "20300315T090000") throws -> Recurrence? {
            let text =
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Europe/Berlin:\(start)\nRRULE:\(rule)\n"
                + "END:VEVENT\nEND:VCALENDAR"
            return try ICalendarEvent.read(text, defaultZone: zone("Europe/Berlin")).event.recurrence
        }
        let start = LocalDate(year: 2030, month: 3, day: 15)
        #expect(
            try recurrence("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1")?.pattern
                == .monthlyRelative(interval: 1, week: .last, day: .friday))
        #expect(
            try recurrence("FREQ=YEARLY;BYMONTH=3;BYDAY=FR;BYSETPOS=3")?.pattern
                == .yearlyRelative(month: 3, week: .third, day: .friday))
        #expect(
            try recurrence("FREQ=YEARLY;BYMONTH=3;BYDAY=3FR;UNTIL=20350315T080000Z")
                == Recurrence(
                    pattern: .yearlyRelative(month: 3, week: .third, day: .friday),
                    range: .endDate(start: start, end: LocalDate(year: 2035, month: 3, day: 15))))
        #expect(
            try recurrence("FREQ=YEARLY")?.pattern == .yearlyAbsolute(month: 3, dayOfMonth: 15))
        #expect(
            try recurrence("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR")?.pattern
                == .weekly(
                    interval: 1, days: [.monday, .tuesday, .wednesday, .thursday, .friday], firstDayOfWeek: .monday))
        #expect(
            try recurrence("FREQ=WEEKLY;INTERVAL=2")?.pattern
                == .weekly(interval: 2, days: [.friday], firstDayOfWeek: .monday))
        #expect(try recurrence("FREQ=MONTHLY;BYMONTHDAY=-1")?.pattern == .monthlyAbsolute(interval: 1, dayOfMonth: 31))
        #expect(try recurrence("FREQ=YEARLY;INTERVAL=2")?.pattern == .monthlyAbsolute(interval: 24, dayOfMonth: 15))
        #expect(try recurrence("FREQ=MONTHLY")?.range == .noEnd(start: start))
    }

    @Test("alarms: -PT15M, -P1D, -PT1H30M, absolute; RELATED=END and later triggers are no reminder")
    func alarms() throws {
        func reminder(_ trigger: String) throws -> Int? {
            let text =
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20300601T100000Z\nBEGIN:VALARM\nACTION:AUDIO\n"
                + "\(trigger)\nEND:VALARM\nEND:VEVENT\nEND:VCALENDAR"
            return try ICalendarEvent.read(text, defaultZone: zone("UTC")).event.reminderMinutes
        }
        #expect(try reminder("TRIGGER:-PT15M") == 15)
        #expect(try reminder("TRIGGER;RELATED=START:-P1D") == 1440)
        #expect(try reminder("TRIGGER:-PT1H30M") == 90)
        #expect(try reminder("TRIGGER:-P1W") == 10_080)
        #expect(try reminder("TRIGGER;VALUE=DATE-TIME:20300601T094500Z") == 15)
        #expect(try reminder("TRIGGER;RELATED=END:-PT15M") == nil)
        #expect(try reminder("TRIGGER:PT5M") == nil)
        #expect(try reminder("TRIGGER:soon") == nil)
    }

    @Test("unsupported rules, bad dates and missing parts are errors that name the line and the rule")
    func errors() throws {
        func error(_ body: String) -> ICalendarError? {
            do {
                _ = try ICalendarEvent.read(body, defaultZone: zone("UTC"))
                return nil
            } catch let error as ICalendarError {
                return error
            } catch {
                Issue.record("not an ICalendarError: \(error)")
                return nil
            }
        }
        func event(_ lines: String) -> String {
            "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n\(lines)\nEND:VEVENT\nEND:VCALENDAR\n"
        }
        let hourly = error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=HOURLY;INTERVAL=2"))
        #expect(hourly?.line == 6)
        #expect(hourly?.reason.contains("FREQ=HOURLY") == true)
        let ordinals = error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=MONTHLY;BYDAY=1MO,3MO"))
        #expect(ordinals?.line == 6)
        #expect(ordinals?.reason.contains("FREQ=MONTHLY;BYDAY=1MO,3MO") == true)
        #expect(
            error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=DAILY;BYHOUR=9,17"))?.reason.contains("BYHOUR") == true)
        #expect(
            error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=SOMETIMES"))?.reason.contains("FREQ=SOMETIMES") == true)
        #expect(error(event("DTSTART:20300601T100000Z\nRRULE:INTERVAL=2"))?.line == 6)
        #expect(error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=DAILY;COUNT=2;UNTIL=20300701"))?.line == 6)
        #expect(error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=MONTHLY;BYDAY=5MO")) != nil)
        #expect(error(event("DTSTART:20300601T100000Z\nRDATE:20300605T100000Z"))?.line == 6)
        let badDate = error(event("DTSTART:2030-06-01T10:00:00Z"))
        #expect(badDate?.line == 5)
        #expect(badDate?.reason.contains("2030-06-01T10:00:00Z") == true)
        #expect(error(event("DTSTART;VALUE=DATE:20300231"))?.line == 5)
        #expect(error(event("DTSTART:20300601T250000"))?.line == 5)
        #expect(error(event("DTSTART:20300601T100000Z\nRRULE:FREQ=DAILY\nEXDATE:20300608T10000Z"))?.line == 7)
        #expect(error(event("SUMMARY:no start"))?.line == 3)
        #expect(
            error("BEGIN:VCALENDAR\nBEGIN:VTODO\nSUMMARY:x\nEND:VTODO\nEND:VCALENDAR")?.reason.contains("VEVENT")
                == true)
        #expect(error("BEGIN:VCARD\nFN:x\nEND:VCARD") != nil)
        let unterminated = error("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20300601T100000Z\n")
        #expect(unterminated?.line == 2)
    }

    @Test("a malformed VTIMEZONE: a known TZID falls back to its zone, a custom one is an error naming the line")
    func malformedTimeZone() throws {
        func calendar(_ tzid: String) -> String {
            """
            BEGIN:VCALENDAR
            BEGIN:VTIMEZONE
            TZID:\(tzid)
            BEGIN:STANDARD
            DTSTART:16010101T030000
            TZOFFSETFROM:+0200
            END:STANDARD
            END:VTIMEZONE
            BEGIN:VEVENT
            DTSTART;TZID=\(tzid):20300601T100000
            END:VEVENT
            END:VCALENDAR
            """
        }
        let known = try ICalendarEvent.read(calendar("W. Europe Standard Time"), defaultZone: zone("UTC"))
        #expect(
            known.event.timing
                == .timed(
                    start: instant("2030-06-01T08:00:00Z"), end: instant("2030-06-01T08:00:00Z"),
                    timeZone: "Europe/Berlin"))
        #expect(throws: ICalendarError(line: 4, "STANDARD of VTIMEZONE Custom lacks a valid TZOFFSETFROM/TZOFFSETTO")) {
            try ICalendarEvent.read(calendar("Custom"), defaultZone: zone("UTC"))
        }
    }

    @Test("truncated and damaged input never crashes: it reads or throws ICalendarError")
    func truncations() {
        let full = ICalendarEvent.write(
            CalendarEvent(
                subject: "Serie",
                timing: .timed(
                    start: instant("2030-03-18T08:00:00Z"), end: instant("2030-03-18T09:00:00Z"),
                    timeZone: "Europe/Berlin"),
                reminderMinutes: 5, attendees: [Attendee(email: "a@example.com", name: "A")],
                recurrence: Recurrence(
                    pattern: .weekly(interval: 1, days: [.monday], firstDayOfWeek: .monday),
                    range: .numbered(start: LocalDate(year: 2030, month: 3, day: 18), count: 4),
                    modifiedOccurrences: [
                        OccurrenceException(
                            originalStart: instant("2030-03-25T08:00:00Z"), start: instant("2030-03-25T10:00:00Z"),
                            end: instant("2030-03-25T11:00:00Z"))
                    ])),
            uid: "t", stamp: instant("2030-01-01T00:00:00Z"))
        let characters = Array(full)
        var failures = 0
        for length in stride(from: 0, to: characters.count, by: 3) {
            for text in [String(characters[..<length]), String(characters[length...])] {
                do {
                    _ = try ICalendarEvent.read(text, defaultZone: zone("Europe/Berlin"))
                } catch is ICalendarError {
                    failures += 1
                } catch {
                    Issue.record("unexpected error type: \(error)")
                }
            }
        }
        #expect(failures > 0)
    }
}
