import ConnectorAPI
import Foundation
import TestSupport
import Testing

@testable import ICalendar

@Suite("VTIMEZONE: what is written agrees with Foundation's zone, read by this library's own rules")
struct TimeZoneTests {
    /// The VTIMEZONE written for an event at `start` in `identifier`.
    func writtenZone(_ identifier: String, start: Date) throws -> (ICalComponent, TimeZoneRules) {
        let event = CalendarEvent(
            subject: "x", timing: .timed(start: start, end: start.addingTimeInterval(3600), timeZone: identifier))
        let calendar = try ICalComponent.parse(ICalendarEvent.write(event, uid: "z", stamp: start))
        let component = try #require(calendar.components(named: "VTIMEZONE").first)
        #expect(component.property("TZID")?.value == identifier)
        return (component, try TimeZoneRules(component))
    }

    /// Instants around every change of `zone` between the years, and the middle of each month.
    func probes(_ zone: TimeZone, years: ClosedRange<Int>) -> [Date] {
        var result: [Date] = []
        var cursor = instant("\(years.lowerBound)-01-01T00:00:00Z")
        let end = instant("\(years.upperBound + 1)-01-01T00:00:00Z")
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < end {
            result += [-3601, -1, 0, 1, 3599, 86_400].map { next.addingTimeInterval($0) }
            cursor = next
        }
        for year in years {
            for month in 1...12 {
                result.append(instant(String(format: "%04d-%02d-15T12:00:00Z", year, month)))
            }
        }
        return result
    }

    @Test(
        "offsets derived from the written VTIMEZONE equal Foundation's around every change",
        arguments: [
            ("Europe/Berlin", "2030-06-01T08:00:00Z"), ("America/New_York", "2030-06-01T14:00:00Z"),
            ("Australia/Sydney", "2030-06-01T00:00:00Z"), ("Asia/Tokyo", "2030-06-01T00:00:00Z"),
            ("America/Sao_Paulo", "2018-06-01T12:00:00Z"), ("Europe/London", "2030-01-10T12:00:00Z"),
            ("Asia/Kolkata", "2030-01-10T12:00:00Z"), ("America/St_Johns", "2030-01-10T12:00:00Z"),
        ])
    func offsetsAgree(_ identifier: String, _ start: String) throws {
        let zone = zone(identifier)
        let (_, rules) = try writtenZone(identifier, start: instant(start))
        let year = FoundationZone(zone: zone).local(for: instant(start)).date.year
        for probe in probes(zone, years: (year - 1)...(year + 5)) {
            #expect(
                rules.offset(at: probe) == zone.secondsFromGMT(for: probe), "\(identifier) at \(probe)")
        }
    }

    @Test("wall-clock times in the written zone map to Foundation's instants, also in the gap and the overlap")
    func wallClock() throws {
        let berlin = zone("Europe/Berlin")
        let (_, rules) = try writtenZone("Europe/Berlin", start: instant("2030-06-01T08:00:00Z"))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = berlin
        for (day, month) in [(31, 3), (27, 10)] {
            for minute in stride(from: 0, to: 5 * 60, by: 15) {
                let local = LocalDateTime(
                    date: LocalDate(year: 2030, month: month, day: day), secondOfDay: minute * 60)
                let expected = calendar.date(
                    from: DateComponents(year: 2030, month: month, day: day, hour: minute / 60, minute: minute % 60))
                #expect(rules.instant(for: local) == expected, "2030-\(month)-\(day) minute \(minute)")
            }
        }
        // By hand: 02:30 on 2030-03-31 does not exist and reads as 01:30 UTC (the offset before the gap);
        // 02:30 on 2030-10-27 happens twice and reads as the first, 00:30 UTC.
        #expect(
            rules.instant(for: LocalDateTime(date: LocalDate(year: 2030, month: 3, day: 31), secondOfDay: 9000))
                == instant("2030-03-31T01:30:00Z"))
        #expect(
            rules.instant(for: LocalDateTime(date: LocalDate(year: 2030, month: 10, day: 27), secondOfDay: 9000))
                == instant("2030-10-27T00:30:00Z"))
    }

    @Test("regular zones get yearly nth-weekday rules; a zone that changed its rules gets explicit observances")
    func observanceShapes() throws {
        let (berlin, _) = try writtenZone("Europe/Berlin", start: instant("2030-06-01T08:00:00Z"))
        let berlinRules = berlin.components.compactMap { $0.property("RRULE")?.value }.sorted()
        #expect(berlinRules == ["FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"])
        let daylight = try #require(berlin.components(named: "DAYLIGHT").first)
        #expect(daylight.property("DTSTART")?.value == "20290325T020000")
        #expect(daylight.property("TZOFFSETFROM")?.value == "+0100")
        #expect(daylight.property("TZOFFSETTO")?.value == "+0200")
        let standard = try #require(berlin.components(named: "STANDARD").first)
        #expect(standard.property("DTSTART")?.value == "20291028T030000")

        let (sydney, _) = try writtenZone("Australia/Sydney", start: instant("2030-06-01T00:00:00Z"))
        #expect(
            sydney.components.compactMap { $0.property("RRULE")?.value }.sorted()
                == ["FREQ=YEARLY;BYMONTH=10;BYDAY=1SU", "FREQ=YEARLY;BYMONTH=4;BYDAY=1SU"])

        let (tokyo, _) = try writtenZone("Asia/Tokyo", start: instant("2030-06-01T00:00:00Z"))
        #expect(tokyo.components.count == 1)
        #expect(tokyo.components.first?.property("TZOFFSETTO")?.value == "+0900")

        // Brazil ended daylight saving time in 2019: no yearly rule fits 2017–2024.
        let (saoPaulo, _) = try writtenZone("America/Sao_Paulo", start: instant("2018-06-01T12:00:00Z"))
        #expect(saoPaulo.components.allSatisfy { $0.property("RRULE") == nil })
        #expect(saoPaulo.components.count >= 3)
    }

    @Test("an event in a zone that changed its rules reads back with its zone")
    func explicitObservancesRoundTrip() throws {
        let event = CalendarEvent(
            subject: "Reunião",
            timing: .timed(
                start: instant("2018-11-05T12:00:00Z"), end: instant("2018-11-05T13:00:00Z"),
                timeZone: "America/Sao_Paulo"))
        let text = ICalendarEvent.write(event, uid: "sp", stamp: instant("2018-01-01T00:00:00Z"))
        #expect(try ICalendarEvent.read(text, defaultZone: zone("UTC")).event == event)
    }

    @Test("VTIMEZONE rules: BYMONTHDAY with BYDAY, RDATE lists, UNTIL, and offsets before the first onset")
    func ruleVariants() throws {
        let text = """
            BEGIN:VTIMEZONE
            TZID:US-Eastern-Old
            BEGIN:STANDARD
            DTSTART:19671029T020000
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10;UNTIL=20061029T060000Z
            TZOFFSETFROM:-0400
            TZOFFSETTO:-0500
            END:STANDARD
            BEGIN:STANDARD
            DTSTART:20071104T020000
            RRULE:FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=1,2,3,4,5,6,7;BYDAY=SU
            TZOFFSETFROM:-0400
            TZOFFSETTO:-0500
            END:STANDARD
            BEGIN:DAYLIGHT
            DTSTART:19870405T020000
            RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4;UNTIL=20060402T070000Z
            TZOFFSETFROM:-0500
            TZOFFSETTO:-0400
            END:DAYLIGHT
            BEGIN:DAYLIGHT
            DTSTART:20070311T020000
            RDATE:20070311T020000,20080309T020000
            RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8,9,10,11,12,13,14;BYDAY=SU
            TZOFFSETFROM:-0500
            TZOFFSETTO:-0400
            END:DAYLIGHT
            END:VTIMEZONE
            """
        let rules = try TimeZoneRules(ICalComponent.parse(text))
        let newYork = zone("America/New_York")
        for probe in probes(newYork, years: 2005...2012) {
            #expect(rules.offset(at: probe) == newYork.secondsFromGMT(for: probe), "at \(probe)")
        }
        // Before the first onset (1967): the earliest observance's TZOFFSETFROM.
        #expect(rules.offset(at: instant("1960-01-01T00:00:00Z")) == -4 * 3600)
    }
}
