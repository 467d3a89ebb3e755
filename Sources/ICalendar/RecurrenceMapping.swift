import ConnectorAPI

/// Translation between the record's recurrence pattern and range and an RRULE.
enum RecurrenceMapping {
    /// The RRULE of a pattern; `until` is the formatted UNTIL value for an end-dated range.
    static func rule(_ pattern: RecurrencePattern, range: RecurrenceRange, until: (LocalDate) -> String)
        -> RecurrenceRule
    {
        var rule: RecurrenceRule
        switch pattern {
        case .daily(let interval):
            rule = RecurrenceRule(frequency: "DAILY")
            rule.interval = max(1, interval)
        case .weekly(let interval, let days, let firstDayOfWeek):
            rule = RecurrenceRule(frequency: "WEEKLY")
            rule.interval = max(1, interval)
            rule.byDay = days.map { .init(ordinal: nil, weekday: $0) }
            rule.weekStart = firstDayOfWeek
        case .monthlyAbsolute(let interval, let dayOfMonth):
            rule = RecurrenceRule(frequency: "MONTHLY")
            rule.interval = max(1, interval)
            rule.byMonthDay = [dayOfMonth]
        case .monthlyRelative(let interval, let week, let day):
            rule = RecurrenceRule(frequency: "MONTHLY")
            rule.interval = max(1, interval)
            rule.byDay = [.init(ordinal: ordinal(week), weekday: day)]
        case .yearlyAbsolute(let month, let dayOfMonth):
            rule = RecurrenceRule(frequency: "YEARLY")
            rule.byMonth = [month]
            rule.byMonthDay = [dayOfMonth]
        case .yearlyRelative(let month, let week, let day):
            rule = RecurrenceRule(frequency: "YEARLY")
            rule.byMonth = [month]
            rule.byDay = [.init(ordinal: ordinal(week), weekday: day)]
        }
        switch range {
        case .noEnd: break
        case .numbered(_, let count): rule.count = max(1, count)
        case .endDate(_, let end): rule.until = until(end)
        }
        return rule
    }

    /// The pattern and range of an RRULE for a series whose first occurrence is on `start`;
    /// `until` turns the UNTIL value into the local date of the last day.
    ///
    /// - Throws: ``ICalendarError`` (without a line) naming the rule when it cannot be expressed:
    ///   another FREQ than DAILY/WEEKLY/MONTHLY/YEARLY, BYHOUR/BYWEEKNO/…, several BYDAY ordinals or
    ///   months, a fifth week, COUNT together with UNTIL, or an unreadable UNTIL.
    static func recurrence(_ rule: RecurrenceRule, start: LocalDate, until: (String) -> LocalDate?) throws
        -> (RecurrencePattern, RecurrenceRange)
    {
        func unsupported(_ why: String) -> ICalendarError {
            ICalendarError(line: nil, "unsupported RRULE \(rule.source): \(why)")
        }
        if let part = rule.unmodelledParts.first { throw unsupported("\(part) is not supported") }
        let pattern: RecurrencePattern
        switch rule.frequency {
        case "DAILY":
            guard rule.byMonthDay.isEmpty, rule.byMonth.isEmpty, rule.bySetPosition.isEmpty else {
                throw unsupported("a daily rule with BYMONTH, BYMONTHDAY or BYSETPOS")
            }
            if rule.byDay.isEmpty {
                pattern = .daily(interval: rule.interval)
            } else {
                // "Every weekday" as some clients write it: daily on some days is weekly on them.
                guard rule.interval == 1, rule.byDay.allSatisfy({ $0.ordinal == nil }) else {
                    throw unsupported("a daily rule with BYDAY")
                }
                pattern = .weekly(
                    interval: 1, days: rule.byDay.map(\.weekday), firstDayOfWeek: rule.weekStart ?? .monday)
            }
        case "WEEKLY":
            guard rule.byMonthDay.isEmpty, rule.byMonth.isEmpty, rule.bySetPosition.isEmpty else {
                throw unsupported("a weekly rule with BYMONTH, BYMONTHDAY or BYSETPOS")
            }
            guard rule.byDay.allSatisfy({ $0.ordinal == nil }) else {
                throw unsupported("BYDAY ordinals in a weekly rule")
            }
            let days = rule.byDay.isEmpty ? [start.weekday] : rule.byDay.map(\.weekday)
            pattern = .weekly(interval: rule.interval, days: days, firstDayOfWeek: rule.weekStart ?? .monday)
        case "MONTHLY":
            guard rule.byMonth.isEmpty else { throw unsupported("BYMONTH in a monthly rule") }
            if !rule.byDay.isEmpty {
                guard rule.byMonthDay.isEmpty else { throw unsupported("BYDAY together with BYMONTHDAY") }
                let (week, day) = try relative(rule, unsupported)
                pattern = .monthlyRelative(interval: rule.interval, week: week, day: day)
            } else {
                pattern = .monthlyAbsolute(
                    interval: rule.interval, dayOfMonth: try dayOfMonth(rule, start, unsupported))
            }
        case "YEARLY":
            guard rule.byMonth.count <= 1 else { throw unsupported("several months") }
            let month = rule.byMonth.first ?? start.month
            if !rule.byDay.isEmpty {
                guard rule.byMonthDay.isEmpty else { throw unsupported("BYDAY together with BYMONTHDAY") }
                let (week, day) = try relative(rule, unsupported)
                if rule.interval == 1 {
                    pattern = .yearlyRelative(month: month, week: week, day: day)
                } else if month == start.month {
                    pattern = .monthlyRelative(interval: 12 * rule.interval, week: week, day: day)
                } else {
                    throw unsupported("INTERVAL=\(rule.interval) in a yearly rule for another month than DTSTART's")
                }
            } else {
                let day = try dayOfMonth(rule, start, unsupported)
                if rule.interval == 1 {
                    pattern = .yearlyAbsolute(month: month, dayOfMonth: day)
                } else if month == start.month {
                    pattern = .monthlyAbsolute(interval: 12 * rule.interval, dayOfMonth: day)
                } else {
                    throw unsupported("INTERVAL=\(rule.interval) in a yearly rule for another month than DTSTART's")
                }
            }
        default:
            throw unsupported("FREQ=\(rule.frequency) is not supported")
        }
        let range: RecurrenceRange
        switch (rule.count, rule.until) {
        case (.some, .some): throw ICalendarError(line: nil, "malformed RRULE \(rule.source): both COUNT and UNTIL")
        case (let count?, nil): range = .numbered(start: start, count: count)
        case (nil, let value?):
            guard let end = until(value) else { throw ICalendarError(line: nil, "bad UNTIL in RRULE \(rule.source)") }
            range = .endDate(start: start, end: end)
        case (nil, nil): range = .noEnd(start: start)
        }
        return (pattern, range)
    }

    /// `2TU`, `-1FR`, or `TU` with `BYSETPOS=2`: one weekday in the first to fourth or the last week.
    private static func relative(_ rule: RecurrenceRule, _ unsupported: (String) -> ICalendarError) throws
        -> (WeekOfMonth, Weekday)
    {
        guard rule.byDay.count == 1, let entry = rule.byDay.first else {
            if rule.byDay.filter({ $0.ordinal != nil }).count > 1 { throw unsupported("several BYDAY ordinals") }
            throw unsupported("several BYDAY days")
        }
        let position: Int
        switch (entry.ordinal, rule.bySetPosition.count) {
        case (let ordinal?, 0): position = ordinal
        case (nil, 1): position = rule.bySetPosition[0]
        case (nil, 0): throw unsupported("every \(entry.weekday.code) of the period")
        default: throw unsupported("BYSETPOS together with a BYDAY ordinal or several BYSETPOS")
        }
        switch position {
        case 1: return (.first, entry.weekday)
        case 2: return (.second, entry.weekday)
        case 3: return (.third, entry.weekday)
        case 4: return (.fourth, entry.weekday)
        case -1: return (.last, entry.weekday)
        default: throw unsupported("week \(position) of the period")
        }
    }

    /// The single BYMONTHDAY (`-1` as 31, the last day), or DTSTART's day without one.
    private static func dayOfMonth(
        _ rule: RecurrenceRule, _ start: LocalDate, _ unsupported: (String) -> ICalendarError
    )
        throws -> Int
    {
        guard rule.bySetPosition.isEmpty else { throw unsupported("BYSETPOS with BYMONTHDAY") }
        guard rule.byMonthDay.count <= 1 else { throw unsupported("several BYMONTHDAY days") }
        guard let day = rule.byMonthDay.first else { return start.day }
        if day == -1 { return 31 }
        guard day > 0 else { throw unsupported("BYMONTHDAY=\(day)") }
        return day
    }

    private static func ordinal(_ week: WeekOfMonth) -> Int {
        switch week {
        case .first: 1
        case .second: 2
        case .third: 3
        case .fourth: 4
        case .last: -1
        }
    }
}
