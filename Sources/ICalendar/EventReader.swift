import ConnectorAPI
import Foundation

/// A DTSTART-like value as read: a date, or an instant with the zone it was given in.
enum TimeValue {
    case date(LocalDate)
    case dateTime(Date, ResolvedZone)
}

/// Reading of DATE and DATE-TIME properties within one calendar.
struct TimeReader {
    let resolver: ZoneResolver

    var defaultZone: TimeZone { resolver.defaultZone }

    /// The value of a single-valued DATE or DATE-TIME property.
    func time(_ property: ICalProperty) throws -> TimeValue {
        guard let value = try times(property).first else {
            throw ICalendarError(line: property.line, "empty \(property.name) value")
        }
        return value
    }

    /// The values of a DATE or DATE-TIME property (EXDATE may list several, separated by commas).
    ///
    /// - Throws: ``ICalendarError`` naming the line for a malformed value or VTIMEZONE.
    func times(_ property: ICalProperty) throws -> [TimeValue] {
        let forcedDate = property.parameter("VALUE")?.uppercased() == "DATE"
        let zone: ResolvedZone?
        do { zone = try property.parameter("TZID").map(resolver.zone(tzid:)) } catch let error as ICalendarError {
            throw error.placed(at: property.line)
        }
        return try property.value.split(separator: ",").map { item in
            let text = String(item).trimmingSpaces
            if forcedDate || (text.count == 8 && !text.contains("T")) {
                guard let date = ValueFormat.date(text) else {
                    throw ICalendarError(line: property.line, "bad date \"\(text)\" in \(property.name)")
                }
                return .date(date)
            }
            guard let (local, isUTC) = ValueFormat.dateTime(text) else {
                throw ICalendarError(line: property.line, "bad date-time \"\(text)\" in \(property.name)")
            }
            let resolved = zone ?? (isUTC ? resolver.utc : resolver.floating)
            // DavMail writes TZID together with Z: the value is UTC, the TZID names the event's zone.
            let instant = isUTC ? local.utcInstant : resolved.offsets.instant(for: local)
            return .dateTime(instant, resolved)
        }
    }

    /// The calendar date an all-day value means: a DATE as is; a DATE-TIME at a local midnight of
    /// its zone (UTC values: of the default zone) that date, otherwise the nearest midnight's date.
    func allDayDate(_ value: TimeValue) -> LocalDate {
        switch value {
        case .date(let date): return date
        case .dateTime(let instant, let zone):
            let offsets: any ZoneOffsets = zone.kind == .utc ? FoundationZone(zone: defaultZone) : zone.offsets
            let local = offsets.local(for: instant)
            return local.secondOfDay == 0 ? local.date : CalendarObject.nearestDate(instant)
        }
    }

    /// Local midnight of a date in the default zone.
    func midnight(_ date: LocalDate) -> Date {
        FoundationZone(zone: defaultZone).instant(for: LocalDateTime(date: date))
    }

    /// `instant` plus a DURATION: nominal days on the wall clock of `zone`, then exact seconds.
    func adding(_ duration: (days: Int, seconds: Int), to instant: Date, in zone: ResolvedZone) -> Date {
        var local = zone.offsets.local(for: instant)
        local.date = local.date.adding(days: duration.days)
        let base = duration.days == 0 ? instant : zone.offsets.instant(for: local)
        return base.addingTimeInterval(TimeInterval(duration.seconds))
    }
}

/// Reads the event of one VCALENDAR.
struct EventReader {
    let calendar: ICalComponent
    let reader: TimeReader

    init(calendar: ICalComponent, defaultZone: TimeZone) {
        self.calendar = calendar
        reader = TimeReader(resolver: ZoneResolver(calendar: calendar, defaultZone: defaultZone))
    }

    /// How the series' occurrences are dated.
    enum Series {
        case allDay(first: LocalDate, days: Int)
        case timed(start: Date, duration: TimeInterval, zone: ResolvedZone)
    }

    func read() throws -> ICalendarEvent.ParsedEvent {
        let events = calendar.components(named: "VEVENT")
        guard !events.isEmpty else {
            throw ICalendarError(line: calendar.line, "the \(calendar.name) has no VEVENT")
        }
        let masterIndex = events.firstIndex { $0.property("RECURRENCE-ID") == nil } ?? 0
        let master = events[masterIndex]
        let uid = master.property("UID")?.textValue

        guard let startProperty = master.property("DTSTART") else {
            throw ICalendarError(line: master.line, "VEVENT without DTSTART")
        }
        let start = try reader.time(startProperty)
        let (timing, series) = try timing(master, start: start)

        let subject = master.property("SUMMARY")?.textValue ?? ""
        let location = EventFields.text(master, "LOCATION")
        let body = EventFields.text(master, "DESCRIPTION")
        let organizer = EventFields.organizer(master)
        var event = CalendarEvent(
            subject: subject, location: location, body: body, timing: timing,
            reminderMinutes: reminder(master, series: series), busyStatus: EventFields.busyStatus(master),
            isPrivate: EventFields.isPrivate(master), categories: EventFields.categories(master), organizer: organizer,
            attendees: EventFields.attendees(master, organizer: organizer))

        let overrides = events.indices.filter { $0 != masterIndex }.map { events[$0] }.filter { component in
            guard component.property("RECURRENCE-ID") != nil else { return false }
            guard let uid, let other = component.property("UID")?.textValue else { return true }
            return other == uid
        }
        event.recurrence = try recurrence(master, series: series, overrides: overrides, event: event)

        var lastModified: Date?
        if let property = master.property("LAST-MODIFIED"), case .dateTime(let instant, _)? = try? reader.time(property)
        {
            lastModified = instant
        }
        let sequence = master.property("SEQUENCE").flatMap { Int($0.value.trimmingSpaces) }
        return ICalendarEvent.ParsedEvent(event: event, uid: uid, lastModified: lastModified, sequence: sequence)
    }

    /// The timing from DTSTART and DTEND, DURATION or the RFC defaults (one day for dates, no
    /// length for times); midnight times flagged all-day by Exchange become all-day dates.
    func timing(_ master: ICalComponent, start: TimeValue) throws -> (EventTiming, Series) {
        let duration = try master.property("DURATION").map { property in
            guard let value = ValueFormat.duration(property.value) else {
                throw ICalendarError(line: property.line, "bad DURATION \"\(property.value)\"")
            }
            return value
        }
        let endValue = try master.property("DTEND").map(reader.time)
        switch start {
        case .date(let first):
            var end = first.adding(days: 1)
            if let endValue {
                end = reader.allDayDate(endValue)
            } else if let duration {
                end = first.adding(days: duration.days + (duration.seconds + 86_399) / 86_400)
            }
            if end <= first { end = first.adding(days: 1) }
            return (
                .allDay(start: first, endExclusive: end), .allDay(first: first, days: end.dayNumber - first.dayNumber)
            )
        case .dateTime(let instant, let zone):
            var end = instant
            switch endValue {
            case .dateTime(let value, _)?: end = value
            case .date(let date)?: end = zone.offsets.instant(for: LocalDateTime(date: date))
            case nil: if let duration { end = reader.adding(duration, to: instant, in: zone) }
            }
            let flagged = ["X-MICROSOFT-CDO-ALLDAYEVENT", "X-MICROSOFT-MSNCALENDAR-ALLDAYEVENT"].contains {
                master.property($0)?.value.trimmingSpaces.uppercased() == "TRUE"
            }
            if flagged {
                let first = reader.allDayDate(start)
                var last = reader.allDayDate(endValue ?? .dateTime(end, zone))
                if last <= first { last = first.adding(days: 1) }
                return (
                    .allDay(start: first, endExclusive: last),
                    .allDay(first: first, days: last.dayNumber - first.dayNumber)
                )
            }
            let identifier = reader.resolver.identifier(of: zone, near: instant)
            return (
                .timed(start: instant, end: end, timeZone: identifier),
                .timed(start: instant, duration: end.timeIntervalSince(instant), zone: zone)
            )
        }
    }

    /// Minutes before the start of the first alarm that fires at or before it (relative to the
    /// start, or at an instant); nil for none.
    func reminder(_ master: ICalComponent, series: Series) -> Int? {
        let start: Date
        switch series {
        case .allDay(let first, _): start = reader.midnight(first)
        case .timed(let instant, _, _): start = instant
        }
        for trigger in Alarm.triggers(master, zone: reader.defaultZone) {
            switch trigger {
            case .relative(let seconds, false) where seconds <= 0: return (-seconds + 30) / 60
            case .absolute(let instant) where instant <= start: return Int(start.timeIntervalSince(instant) + 30) / 60
            default: continue
            }
        }
        return nil
    }

    /// The recurrence: RRULE, EXDATEs, and the overriding VEVENTs (cancelled ones as deleted).
    func recurrence(_ master: ICalComponent, series: Series, overrides: [ICalComponent], event: CalendarEvent) throws
        -> Recurrence?
    {
        for name in ["EXRULE", "RDATE"] {
            if let property = master.property(name) {
                throw ICalendarError(line: property.line, "\(name):\(property.value) is not supported")
            }
        }
        let rules = master.properties(named: "RRULE")
        guard let ruleProperty = rules.first else { return nil }
        if rules.count > 1 {
            throw ICalendarError(line: rules[1].line, "several RRULEs are not supported (second: \(rules[1].value))")
        }
        let firstDate: LocalDate
        switch series {
        case .allDay(let first, _): firstDate = first
        case .timed(let start, _, let zone): firstDate = zone.offsets.local(for: start).date
        }
        let pattern: RecurrencePattern
        let range: RecurrenceRange
        do {
            let rule = try RecurrenceRule(parsing: ruleProperty.value)
            (pattern, range) = try RecurrenceMapping.recurrence(rule, start: firstDate, until: { until($0, series) })
        } catch let error as ICalendarError {
            throw error.placed(at: ruleProperty.line)
        }
        var deleted: [Date] = []
        for property in master.properties(named: "EXDATE") {
            deleted += try reader.times(property).map { occurrence($0, series) }
        }
        var modified: [OccurrenceException] = []
        for component in overrides {
            guard let recurrenceID = component.property("RECURRENCE-ID") else { continue }
            if let range = recurrenceID.parameter("RANGE"), range.uppercased() != "THISINSTANCE" {
                throw ICalendarError(line: recurrenceID.line, "RECURRENCE-ID;RANGE=\(range) is not supported")
            }
            let original = occurrence(try reader.time(recurrenceID), series)
            if component.property("STATUS")?.value.trimmingSpaces.uppercased() == "CANCELLED" {
                deleted.append(original)
                continue
            }
            let (start, end) = try times(of: component, original: original, series: series)
            func changed(_ value: String?, _ master: String?) -> String? { value == master ? nil : value }
            modified.append(
                OccurrenceException(
                    originalStart: original, start: start, end: end,
                    subject: changed(component.property("SUMMARY")?.textValue, event.subject),
                    location: changed(EventFields.text(component, "LOCATION"), event.location),
                    body: changed(EventFields.text(component, "DESCRIPTION"), event.body)))
        }
        return Recurrence(
            pattern: pattern, range: range,
            modifiedOccurrences: modified.sorted { $0.originalStart < $1.originalStart },
            deletedOccurrences: Array(Set(deleted)).sorted())
    }

    /// The local date of UNTIL: a DATE as is; a time in the event's zone (all-day: the default zone).
    func until(_ text: String, _ series: Series) -> LocalDate? {
        if let date = ValueFormat.date(text) { return date }
        guard let (local, isUTC) = ValueFormat.dateTime(text) else { return nil }
        switch series {
        case .allDay:
            return isUTC ? FoundationZone(zone: reader.defaultZone).local(for: local.utcInstant).date : local.date
        case .timed(_, _, let zone):
            return isUTC ? zone.offsets.local(for: local.utcInstant).date : local.date
        }
    }

    /// The instant that identifies an occurrence (EXDATE, RECURRENCE-ID): for all-day series the
    /// local midnight of its date in the default zone; for timed series the instant, or for a bare
    /// date the series' time of day on it.
    func occurrence(_ value: TimeValue, _ series: Series) -> Date {
        switch (series, value) {
        case (.allDay, _): return reader.midnight(reader.allDayDate(value))
        case (.timed, .dateTime(let instant, _)): return instant
        case (.timed(let start, _, let zone), .date(let date)):
            let time = zone.offsets.local(for: start).secondOfDay
            return zone.offsets.instant(for: LocalDateTime(date: date, secondOfDay: time))
        }
    }

    /// Start and end of an overriding VEVENT; without DTSTART the original start, without DTEND
    /// or DURATION the series' length.
    func times(of component: ICalComponent, original: Date, series: Series) throws -> (Date, Date) {
        let startValue = try component.property("DTSTART").map(reader.time)
        let endValue = try component.property("DTEND").map(reader.time)
        let duration = component.property("DURATION").flatMap { ValueFormat.duration($0.value) }
        switch series {
        case .allDay(_, let days):
            let first =
                startValue.map(reader.allDayDate) ?? FoundationZone(zone: reader.defaultZone).local(for: original).date
            var last = first.adding(days: max(1, days))
            if let endValue {
                last = reader.allDayDate(endValue)
            } else if let duration {
                last = first.adding(days: duration.days + (duration.seconds + 86_399) / 86_400)
            }
            if last <= first { last = first.adding(days: 1) }
            return (reader.midnight(first), reader.midnight(last))
        case .timed(_, let length, let zone):
            var start = original
            var startZone = zone
            switch startValue {
            case .dateTime(let instant, let valueZone)?:
                start = instant
                startZone = valueZone
            case .date(let date)?: start = zone.offsets.instant(for: LocalDateTime(date: date))
            case nil: break
            }
            switch endValue {
            case .dateTime(let instant, _)?: return (start, instant)
            case .date(let date)?: return (start, zone.offsets.instant(for: LocalDateTime(date: date)))
            case nil:
                if let duration { return (start, reader.adding(duration, to: start, in: startZone)) }
                return (start, start.addingTimeInterval(length))
            }
        }
    }
}
