import ConnectorAPI
import Foundation
import Synchronization

/// Builds the VTIMEZONE of a Foundation zone: yearly STANDARD and DAYLIGHT observances with an
/// nth-weekday RRULE when the zone's changes in the covered years follow one, otherwise one
/// observance per change; a single STANDARD for zones without changes.
enum TimeZoneWriter {
    /// One change of offset.
    struct Transition {
        /// UTC seconds of the change.
        var instant: Int
        var offsetFrom: Int
        var offsetTo: Int
        var isDaylight: Bool
        var name: String?
        /// The local time of the change in the offset before it (the observance's DTSTART).
        var onset: LocalDateTime { LocalDateTime(epochSeconds: instant + offsetFrom) }
    }

    /// Components made before, by identifier, zone and years: every appointment of a sync names
    /// the same few zones, and finding a zone's changes is the costly part of writing one.
    private static let cache = Mutex<[String: ICalComponent]>([:])

    /// A VTIMEZONE with TZID `identifier` describing `zone` for wall-clock times in `years`.
    static func component(identifier: String, zone: TimeZone, years: ClosedRange<Int>) -> ICalComponent {
        let key = "\(identifier)|\(zone.identifier)|\(years.lowerBound)|\(years.upperBound)"
        if let known = cache.withLock({ $0[key] }) { return known }
        let component = make(identifier: identifier, zone: zone, years: years)
        cache.withLock { cache in
            if cache.count > 256 { cache.removeAll() }
            cache[key] = component
        }
        return component
    }

    static func make(identifier: String, zone: TimeZone, years: ClosedRange<Int>) -> ICalComponent {
        var component = ICalComponent("VTIMEZONE")
        component.add(.text("TZID", identifier))
        let changes = transitions(of: zone, years: years)
        guard !changes.isEmpty else {
            let instant = LocalDateTime(date: LocalDate(year: years.lowerBound, month: 1, day: 1)).utcInstant
            let offset = zone.secondsFromGMT(for: instant)
            component.components.append(
                observance(
                    isDaylight: false, onset: LocalDateTime(date: LocalDate(year: 1970, month: 1, day: 1)),
                    from: offset, to: offset, name: name(zone, instant), rule: nil))
            return component
        }
        let standard = changes.filter { !$0.isDaylight }
        let daylight = changes.filter(\.isDaylight)
        if !standard.isEmpty, !daylight.isEmpty, let standardRule = yearlyRule(standard, years: years),
            let daylightRule = yearlyRule(daylight, years: years)
        {
            for (list, rule) in [(standard, standardRule), (daylight, daylightRule)] {
                let first = list[0]
                component.components.append(
                    observance(
                        isDaylight: first.isDaylight, onset: first.onset, from: first.offsetFrom, to: first.offsetTo,
                        name: first.name, rule: rule))
            }
        } else {
            for change in changes {
                component.components.append(
                    observance(
                        isDaylight: change.isDaylight, onset: change.onset, from: change.offsetFrom,
                        to: change.offsetTo, name: change.name, rule: nil))
            }
        }
        return component
    }

    /// The zone's changes of offset whose local onset falls in `years`.
    static func transitions(of zone: TimeZone, years: ClosedRange<Int>) -> [Transition] {
        let start = LocalDateTime(date: LocalDate(year: years.lowerBound, month: 1, day: 1)).epochSeconds - 2 * 86_400
        let end = LocalDateTime(date: LocalDate(year: years.upperBound + 1, month: 1, day: 1)).epochSeconds + 2 * 86_400
        var result: [Transition] = []
        var cursor = Date(timeIntervalSince1970: TimeInterval(start))
        while result.count < 2000, let next = zone.nextDaylightSavingTimeTransition(after: cursor),
            next.timeIntervalSince1970 < TimeInterval(end)
        {
            cursor = next
            let instant = Int(next.timeIntervalSince1970.rounded(.down))
            let from = zone.secondsFromGMT(for: next.addingTimeInterval(-1))
            let to = zone.secondsFromGMT(for: next)
            guard from != to else { continue }
            let change = Transition(
                instant: instant, offsetFrom: from, offsetTo: to, isDaylight: zone.isDaylightSavingTime(for: next),
                name: name(zone, next))
            if years.contains(change.onset.date.year) { result.append(change) }
        }
        return result
    }

    /// `FREQ=YEARLY;BYMONTH=m;BYDAY=nDD` when the changes happen once a year in every one of
    /// `years`, in the same month, on the same weekday and nth (or last) week, at the same time and
    /// between the same offsets.
    static func yearlyRule(_ changes: [Transition], years: ClosedRange<Int>) -> RecurrenceRule? {
        guard changes.count == years.count, changes.map(\.onset.date.year) == Array(years), let first = changes.first
        else { return nil }
        let month = first.onset.date.month
        let weekday = first.onset.date.weekday
        let consistent = changes.allSatisfy {
            $0.onset.date.month == month && $0.onset.date.weekday == weekday
                && $0.onset.secondOfDay == first.onset.secondOfDay && $0.offsetFrom == first.offsetFrom
                && $0.offsetTo == first.offsetTo
        }
        guard consistent else { return nil }
        let isLast = changes.allSatisfy {
            $0.onset.date.day + 7 > CivilDays.daysInMonth(year: $0.onset.date.year, month: month)
        }
        let ordinals = Set(changes.map { ($0.onset.date.day - 1) / 7 + 1 })
        let ordinal: Int
        if isLast {
            ordinal = -1
        } else if ordinals.count == 1, let only = ordinals.first {
            ordinal = only
        } else {
            return nil
        }
        var rule = RecurrenceRule(frequency: "YEARLY")
        rule.byMonth = [month]
        rule.byDay = [.init(ordinal: ordinal, weekday: weekday)]
        return rule
    }

    private static func observance(
        isDaylight: Bool, onset: LocalDateTime, from: Int, to: Int, name: String?, rule: RecurrenceRule?
    ) -> ICalComponent {
        var component = ICalComponent(isDaylight ? "DAYLIGHT" : "STANDARD")
        component.add("DTSTART", ValueFormat.format(onset))
        component.add("TZOFFSETFROM", ValueFormat.utcOffset(from))
        component.add("TZOFFSETTO", ValueFormat.utcOffset(to))
        if let name { component.add(.text("TZNAME", name)) }
        if let rule { component.add("RRULE", rule.text) }
        return component
    }

    /// The zone's abbreviation at an instant when it is a real one (letters only, like `CEST`).
    private static func name(_ zone: TimeZone, _ instant: Date) -> String? {
        guard let abbreviation = zone.abbreviation(for: instant), !abbreviation.isEmpty,
            abbreviation.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) })
        else { return nil }
        return abbreviation
    }
}
