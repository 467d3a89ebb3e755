import ConnectorAPI
import Foundation

/// The offsets a VTIMEZONE component defines: its STANDARD and DAYLIGHT observances with their
/// onsets (DTSTART, yearly RRULE, RDATE) — the zone a TZID means inside one calendar.
struct TimeZoneRules: ZoneOffsets {
    /// One STANDARD or DAYLIGHT sub-component.
    struct Observance {
        var isDaylight: Bool
        /// The first onset, local time in the offset before it (`offsetFrom`).
        var start: LocalDateTime
        var offsetFrom: Int
        var offsetTo: Int
        /// A yearly rule for further onsets.
        var rule: RecurrenceRule?
        /// The last onset the rule allows, UTC seconds.
        var until: Int?
        /// Onsets listed by RDATE, local.
        var listed: [LocalDateTime] = []
        /// All rule onsets (local) when the rule has a COUNT.
        var counted: [LocalDateTime]?
    }

    /// The TZID, unescaped.
    var identifier: String
    var observances: [Observance]

    /// Reads a VTIMEZONE.
    ///
    /// - Throws: ``ICalendarError`` naming the line of an observance without DTSTART, TZOFFSETFROM
    ///   or TZOFFSETTO, with a malformed value, or with a rule other than a yearly one.
    init(_ component: ICalComponent) throws {
        identifier = component.property("TZID")?.textValue ?? ""
        observances = []
        for part in component.components where part.name == "STANDARD" || part.name == "DAYLIGHT" {
            let line = part.line ?? component.line
            guard let startProperty = part.property("DTSTART"),
                let start = ValueFormat.dateTime(startProperty.value)?.value
                    ?? ValueFormat.date(startProperty.value).map({ LocalDateTime(date: $0) })
            else { throw ICalendarError(line: line, "\(part.name) of VTIMEZONE \(identifier) has no valid DTSTART") }
            guard let from = part.property("TZOFFSETFROM").flatMap({ ValueFormat.utcOffset($0.value) }),
                let to = part.property("TZOFFSETTO").flatMap({ ValueFormat.utcOffset($0.value) })
            else {
                throw ICalendarError(
                    line: line, "\(part.name) of VTIMEZONE \(identifier) lacks a valid TZOFFSETFROM/TZOFFSETTO")
            }
            var observance = Observance(
                isDaylight: part.name == "DAYLIGHT", start: start, offsetFrom: from, offsetTo: to)
            if let ruleProperty = part.property("RRULE") {
                let rule: RecurrenceRule
                do { rule = try RecurrenceRule(parsing: ruleProperty.value) } catch let error as ICalendarError {
                    throw error.placed(at: ruleProperty.line)
                }
                guard rule.frequency == "YEARLY", rule.unmodelledParts.isEmpty else {
                    throw ICalendarError(
                        line: ruleProperty.line, "unsupported RRULE \(rule.source) in VTIMEZONE \(identifier)")
                }
                if let until = rule.until {
                    if let value = ValueFormat.dateTime(until) {
                        observance.until = value.value.epochSeconds - (value.isUTC ? 0 : from)
                    } else if let date = ValueFormat.date(until) {
                        observance.until = LocalDateTime(date: date.adding(days: 1)).epochSeconds - from - 1
                    } else {
                        throw ICalendarError(line: ruleProperty.line, "bad UNTIL in RRULE \(rule.source)")
                    }
                }
                observance.rule = rule
            }
            for rdate in part.properties(named: "RDATE") {
                for item in rdate.value.split(separator: ",") where !item.contains("/") {
                    if let value = ValueFormat.dateTime(String(item))?.value {
                        observance.listed.append(value)
                    } else if let date = ValueFormat.date(String(item)) {
                        observance.listed.append(LocalDateTime(date: date))
                    }
                }
            }
            if let count = observance.rule?.count {
                observance.counted = Self.countedOnsets(observance, count: count)
            }
            observances.append(observance)
        }
        guard !observances.isEmpty else {
            throw ICalendarError(line: component.line, "VTIMEZONE \(identifier) has no STANDARD or DAYLIGHT")
        }
    }

    func offset(atUTC seconds: Int) -> Int {
        var best: (onset: Int, offset: Int)?
        for observance in observances {
            if let onset = latestOnset(observance, atOrBefore: seconds), onset >= best?.onset ?? Int.min {
                best = (onset, observance.offsetTo)
            }
        }
        if let best { return best.offset }
        // Before every onset: the offset the earliest observance changes from.
        let earliest = observances.min { $0.start.epochSeconds - $0.offsetFrom < $1.start.epochSeconds - $1.offsetFrom }
        return earliest?.offsetFrom ?? 0
    }

    func offsetChanges(in window: Range<Int>) -> OffsetChanges {
        let firstYear = LocalDateTime(epochSeconds: window.lowerBound).date.year - 1
        let lastYear = LocalDateTime(epochSeconds: window.upperBound).date.year + 1
        let allOnsets = Set(observances.flatMap { onsets($0, years: firstYear...lastYear) })
            .filter { window.lowerBound < $0 && $0 < window.upperBound }.sorted()
        var current = offset(atUTC: window.lowerBound)
        var result = OffsetChanges(initial: current, changes: [])
        for onset in allOnsets {
            let offset = offset(atUTC: onset)
            if offset != current {
                result.changes.append(.init(instant: onset, offset: offset))
                current = offset
            }
        }
        return result
    }

    /// UTC onsets of an observance whose local year lies in `years`.
    func onsets(_ observance: Observance, years: ClosedRange<Int>) -> [Int] {
        var ruled: [LocalDateTime] = []
        if let counted = observance.counted {
            ruled = counted
        } else if observance.rule != nil {
            let first = max(years.lowerBound, observance.start.date.year)
            if first <= years.upperBound {
                for year in first...years.upperBound { ruled += Self.ruleStarts(observance, year: year) }
            }
        }
        let allowed = ruled.map { $0.epochSeconds - observance.offsetFrom }.filter { onset in
            observance.until.map { onset <= $0 } ?? true
        }
        let fixed = ([observance.start] + observance.listed).map { $0.epochSeconds - observance.offsetFrom }
        return (fixed + allowed).filter { onset in
            years.contains(LocalDateTime(epochSeconds: onset + observance.offsetFrom).date.year)
        }
    }

    /// The last onset of an observance at or before `seconds` (UTC), or nil.
    func latestOnset(_ observance: Observance, atOrBefore seconds: Int) -> Int? {
        var best: Int?
        func consider(_ local: LocalDateTime, ruled: Bool) {
            let onset = local.epochSeconds - observance.offsetFrom
            guard onset <= seconds, onset > best ?? Int.min else { return }
            if ruled, let until = observance.until, onset > until { return }
            best = onset
        }
        consider(observance.start, ruled: false)
        for local in observance.listed { consider(local, ruled: false) }
        if let counted = observance.counted {
            for local in counted { consider(local, ruled: true) }
            return best
        }
        guard observance.rule != nil else { return best }
        var year = LocalDateTime(epochSeconds: seconds + 2 * 86_400).date.year
        if let until = observance.until { year = min(year, LocalDateTime(epochSeconds: until).date.year + 1) }
        let lowest = max(observance.start.date.year, year - 60)
        while year >= lowest {
            // Every onset of this and earlier years lies before the one already found.
            let yearEnd = LocalDateTime(date: LocalDate(year: year + 1, month: 1, day: 1)).epochSeconds
            if let found = best, yearEnd - observance.offsetFrom < found { break }
            let before = best
            for local in Self.ruleStarts(observance, year: year) { consider(local, ruled: true) }
            if best != before, let found = best, found > observance.start.epochSeconds - observance.offsetFrom {
                break
            }
            year -= 1
        }
        return best
    }

    /// The rule's onsets (local) in one year, not before the observance's DTSTART.
    static func ruleStarts(_ observance: Observance, year: Int) -> [LocalDateTime] {
        guard let rule = observance.rule, year >= observance.start.date.year,
            (year - observance.start.date.year) % rule.interval == 0
        else { return [] }
        var result: [LocalDateTime] = []
        for month in rule.byMonth.isEmpty ? [observance.start.date.month] : rule.byMonth {
            let length = CivilDays.daysInMonth(year: year, month: month)
            var days: [Int]
            if !rule.byDay.isEmpty {
                days = (1...length).filter { day in
                    let weekday = CivilDays.weekday(days: CivilDays.days(year: year, month: month, day: day))
                    return rule.byDay.contains { entry in
                        guard entry.weekday.number == weekday else { return false }
                        guard let ordinal = entry.ordinal else { return true }
                        return ordinal > 0 ? (day - 1) / 7 + 1 == ordinal : (length - day) / 7 + 1 == -ordinal
                    }
                }
                if !rule.byMonthDay.isEmpty {
                    days = days.filter { rule.byMonthDay.contains($0) || rule.byMonthDay.contains($0 - length - 1) }
                }
            } else if !rule.byMonthDay.isEmpty {
                days = rule.byMonthDay.map { $0 > 0 ? $0 : length + 1 + $0 }.filter { (1...length).contains($0) }
            } else {
                days = observance.start.date.day <= length ? [observance.start.date.day] : []
            }
            result += days.map {
                LocalDateTime(
                    date: LocalDate(year: year, month: month, day: $0), secondOfDay: observance.start.secondOfDay)
            }
        }
        result.sort()
        if !rule.bySetPosition.isEmpty {
            result = rule.bySetPosition.compactMap { position in
                let index = position > 0 ? position - 1 : result.count + position
                return result.indices.contains(index) ? result[index] : nil
            }
        }
        return result.filter { $0 >= observance.start }
    }

    /// Every local onset of a rule with a COUNT (DTSTART is the first).
    static func countedOnsets(_ observance: Observance, count: Int) -> [LocalDateTime] {
        var result = [observance.start]
        var year = observance.start.date.year
        while result.count < count, year < observance.start.date.year + 1000 {
            for local in ruleStarts(observance, year: year) where local != observance.start && result.count < count {
                result.append(local)
            }
            year += 1
        }
        return result
    }
}
