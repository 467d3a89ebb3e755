import ConnectorAPI
import Foundation

/// Converts between a ``CalendarEvent`` and a VCALENDAR holding its VEVENTs (RFC 5545), in the
/// shapes Exchange 2003/2007, Outlook and DavMail write and read.
public enum ICalendarEvent {
    /// An event read from iCalendar text, with the identifiers a store keeps beside it.
    public struct ParsedEvent: Sendable, Hashable {
        /// The event, its recurrence with moved and deleted occurrences included.
        public var event: CalendarEvent
        /// The VEVENT's UID, when it has one.
        public var uid: String?
        /// LAST-MODIFIED, when given.
        public var lastModified: Date?
        /// SEQUENCE, when given.
        public var sequence: Int?

        /// A parsed event.
        public init(event: CalendarEvent, uid: String?, lastModified: Date? = nil, sequence: Int? = nil) {
            self.event = event
            self.uid = uid
            self.lastModified = lastModified
            self.sequence = sequence
        }
    }

    /// A whole VCALENDAR (PRODID, VERSION 2.0, METHOD when given) with the event's VEVENT and one
    /// VEVENT per modified occurrence, CRLF line ends.
    ///
    /// Timed events are written as `DTSTART;TZID=<IANA id>:<local time>` with a VTIMEZONE for the
    /// zone; events in UTC (or an unknown zone) as UTC `Z` times without VTIMEZONE. All-day events
    /// use `VALUE=DATE` (end exclusive) and `X-MICROSOFT-CDO-ALLDAYEVENT:TRUE`; their deleted and
    /// moved occurrences, given as instants, are dated by the nearest midnight.
    ///
    /// - Parameters:
    ///   - event: The event.
    ///   - uid: The UID of the VEVENTs.
    ///   - stamp: DTSTAMP, the time the object is written.
    ///   - method: METHOD of the calendar (`REQUEST`, `PUBLISH`), nil for none.
    public static func write(_ event: CalendarEvent, uid: String, stamp: Date, method: String? = nil) -> String {
        EventWriter(event: event, uid: uid, stamp: stamp).calendar(method: method).serialized()
    }

    /// Reads the event of a VCALENDAR: the VEVENT without RECURRENCE-ID (else the first) and the
    /// overriding VEVENTs of the same UID.
    ///
    /// Times may carry an IANA, Windows, Outlook display or calendar-defined TZID, be UTC (also
    /// with a TZID, as DavMail writes) or floating (read in `defaultZone`). All-day events may be
    /// `VALUE=DATE` or midnight times with `X-MICROSOFT-CDO-ALLDAYEVENT:TRUE`; their occurrence
    /// instants (EXDATE, RECURRENCE-ID) are the local midnights in `defaultZone`.
    ///
    /// - Throws: ``ICalendarError`` for malformed text, a calendar without VEVENT, a VEVENT without
    ///   DTSTART, unreadable dates, and recurrence rules the record cannot express (naming the rule).
    public static func read(_ text: String, defaultZone: TimeZone) throws -> ParsedEvent {
        try EventReader(calendar: CalendarObject.parse(text), defaultZone: defaultZone).read()
    }
}

/// Builds the VCALENDAR of one event.
struct EventWriter {
    let event: CalendarEvent
    let uid: String
    let stamp: Date
    /// The event's zone and TZID; nil for UTC and all-day events.
    let zone: (zone: TimeZone, tzid: String)?

    init(event: CalendarEvent, uid: String, stamp: Date) {
        self.event = event
        self.uid = uid
        self.stamp = stamp
        if case .timed(_, _, let identifier) = event.timing, !Self.isUTC(identifier),
            let zone = TimeZone(identifier: identifier)
        {
            self.zone = (zone, identifier)
        } else {
            zone = nil
        }
    }

    static func isUTC(_ identifier: String) -> Bool {
        ["UTC", "GMT", "ETC/UTC", "ETC/GMT", "Z", "ZULU", "UNIVERSAL", "ETC/UNIVERSAL", "ETC/ZULU"]
            .contains(identifier.uppercased())
    }

    var isAllDay: Bool {
        if case .allDay = event.timing { return true }
        return false
    }

    func calendar(method: String?) -> ICalComponent {
        var calendar = CalendarObject.calendar(method: method)
        if let zone {
            calendar.components.append(TimeZoneWriter.component(identifier: zone.tzid, zone: zone.zone, years: years()))
        }
        calendar.components.append(master())
        for occurrence in event.recurrence?.modifiedOccurrences ?? [] {
            calendar.components.append(override(occurrence))
        }
        return calendar
    }

    /// The years the VTIMEZONE covers: from the year before the first instant to the last one
    /// (at least six years on, for the yearly rule check).
    func years() -> ClosedRange<Int> {
        guard let zone else { return 2000...2000 }
        var instants: [Date] = []
        if case .timed(let start, let end, _) = event.timing { instants += [start, end] }
        if let recurrence = event.recurrence {
            instants += recurrence.deletedOccurrences
            instants += recurrence.modifiedOccurrences.flatMap { [$0.originalStart, $0.start, $0.end] }
        }
        let local = FoundationZone(zone: zone.zone)
        var years = instants.map { local.local(for: $0).date.year }
        if case .endDate(_, let end)? = event.recurrence?.range { years.append(end.year) }
        let first = (years.min() ?? 2000) - 1
        let last = min(max(years.max() ?? first, first + 6), first + 60)
        return first...last
    }

    // MARK: Times

    /// A DATE-TIME (TZID form, or UTC) of an instant; for all-day events the DATE nearest to it.
    func time(_ name: String, _ instant: Date) -> ICalProperty {
        if isAllDay { return date(name, CalendarObject.nearestDate(instant)) }
        guard let zone else { return ICalProperty(name, value: ValueFormat.utc(instant)) }
        let local = FoundationZone(zone: zone.zone).local(for: instant)
        return ICalProperty(name, parameters: [ICalParameter("TZID", zone.tzid)], value: ValueFormat.format(local))
    }

    func date(_ name: String, _ date: LocalDate) -> ICalProperty {
        ICalProperty(name, parameters: [ICalParameter("VALUE", "DATE")], value: ValueFormat.format(date))
    }

    /// UNTIL: the DATE for all-day events, else the end of the last day in the event's zone, in UTC.
    func until(_ end: LocalDate) -> String {
        if isAllDay { return ValueFormat.format(end) }
        let nextMidnight = LocalDateTime(date: end.adding(days: 1))
        guard let zone else { return ValueFormat.utc(nextMidnight.utcInstant.addingTimeInterval(-1)) }
        return ValueFormat.utc(FoundationZone(zone: zone.zone).instant(for: nextMidnight).addingTimeInterval(-1))
    }

    // MARK: Components

    func master() -> ICalComponent {
        var vevent = ICalComponent("VEVENT")
        vevent.add(.text("UID", uid))
        vevent.add("DTSTAMP", ValueFormat.utc(stamp))
        switch event.timing {
        case .timed(let start, let end, _):
            vevent.add(time("DTSTART", start))
            vevent.add(time("DTEND", end))
        case .allDay(let start, let endExclusive):
            vevent.add(date("DTSTART", start))
            vevent.add(date("DTEND", endExclusive > start ? endExclusive : start.adding(days: 1)))
        }
        addTexts(to: &vevent, subject: event.subject, location: event.location, body: event.body)
        addShared(to: &vevent)
        if let recurrence = event.recurrence {
            let rule = RecurrenceMapping.rule(recurrence.pattern, range: recurrence.range, until: until)
            vevent.add("RRULE", rule.text)
            for deleted in recurrence.deletedOccurrences {
                vevent.add(time("EXDATE", deleted))
            }
        }
        addAlarm(to: &vevent)
        return vevent
    }

    /// The VEVENT of a moved or edited occurrence: RECURRENCE-ID of its original start, its own
    /// times and texts (the master's where nil), and the master's other properties.
    func override(_ occurrence: OccurrenceException) -> ICalComponent {
        var vevent = ICalComponent("VEVENT")
        vevent.add(.text("UID", uid))
        vevent.add("DTSTAMP", ValueFormat.utc(stamp))
        vevent.add(time("RECURRENCE-ID", occurrence.originalStart))
        if isAllDay {
            let first = CalendarObject.nearestDate(occurrence.start)
            let last = CalendarObject.nearestDate(occurrence.end)
            vevent.add(date("DTSTART", first))
            vevent.add(date("DTEND", last > first ? last : first.adding(days: 1)))
        } else {
            vevent.add(time("DTSTART", occurrence.start))
            vevent.add(time("DTEND", occurrence.end))
        }
        addTexts(
            to: &vevent, subject: occurrence.subject ?? event.subject, location: occurrence.location ?? event.location,
            body: occurrence.body ?? event.body)
        addShared(to: &vevent)
        addAlarm(to: &vevent)
        return vevent
    }

    func addTexts(to vevent: inout ICalComponent, subject: String, location: String?, body: String?) {
        vevent.add(.text("SUMMARY", subject))
        if let location, !location.isEmpty { vevent.add(.text("LOCATION", location)) }
        if let body, !body.isEmpty { vevent.add(.text("DESCRIPTION", body)) }
    }

    /// Sensitivity, categories, busy state, the all-day flag and the people.
    func addShared(to vevent: inout ICalComponent) {
        vevent.add("CLASS", event.isPrivate ? "PRIVATE" : "PUBLIC")
        if let categories = EventFields.categoriesProperty(event.categories) { vevent.add(categories) }
        vevent.add("TRANSP", event.busyStatus == .free ? "TRANSPARENT" : "OPAQUE")
        vevent.add("X-MICROSOFT-CDO-BUSYSTATUS", EventFields.busyValue(event.busyStatus))
        vevent.add("X-MICROSOFT-CDO-ALLDAYEVENT", isAllDay ? "TRUE" : "FALSE")
        if let organizer = event.organizer { vevent.add(EventFields.organizerProperty(organizer)) }
        for attendee in event.attendees { vevent.add(EventFields.attendeeProperty(attendee)) }
    }

    func addAlarm(to vevent: inout ICalComponent) {
        if let minutes = event.reminderMinutes, minutes >= 0 {
            vevent.components.append(Alarm.before(minutes: minutes))
        }
    }
}
