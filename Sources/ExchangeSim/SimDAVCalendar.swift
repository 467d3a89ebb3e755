import ConnectorAPI
import ExchangeWebDAV
import Foundation
import ICalendar

/// Appointments over WebDAV: what Exchange promotes into `urn:schemas:calendar:` properties from
/// the iCalendar of a PUT (start and end in UTC, all-day flag, busy status, instance type, uid,
/// recurrence rule, reminder), and the iCalendar it makes of an appointment stored as properties.
enum SimDAVCalendar {
    /// Properties a PUT replaces as a whole.
    static let promotedNames: [String] = [
        DAVProperty.subject, DAVProperty.location, DAVProperty.textDescription, DAVProperty.dtStart,
        DAVProperty.dtEnd, DAVProperty.allDayEvent, DAVProperty.busyStatus, DAVProperty.instanceType,
        DAVProperty.calendarUID, DAVProperty.rrule, DAVProperty.exdate, DAVProperty.reminderSet,
        DAVProperty.reminderDelta, DAVProperty.reminderOffset, DAVProperty.sensitivity, DAVProperty.keywords,
        DAVProperty.timezoneID,
    ]

    static func promote(_ calendar: String, zone: TimeZone) throws -> [String: DAVValue] {
        let parsed = try ICalendarEvent.read(calendar, defaultZone: zone)
        let event = parsed.event
        var properties: [String: DAVValue] = [
            DAVProperty.messageClass: .string("IPM.Appointment"),
            DAVProperty.contentClass: .string("urn:content-classes:appointment"),
            DAVProperty.subject: .string(event.subject),
            DAVProperty.busyStatus: .string(busyName(event.busyStatus)),
            DAVProperty.instanceType: .int(event.recurrence == nil ? 0 : 1),
            DAVProperty.sensitivity: .int(event.isPrivate ? 2 : 0),
        ]
        if let uid = parsed.uid { properties[DAVProperty.calendarUID] = .string(uid) }
        if let location = event.location { properties[DAVProperty.location] = .string(location) }
        if let body = event.body { properties[DAVProperty.textDescription] = .string(body) }
        if !event.categories.isEmpty { properties[DAVProperty.keywords] = .strings(event.categories) }
        switch event.timing {
        case .timed(let start, let end, let zoneName):
            properties[DAVProperty.dtStart] = .date(start)
            properties[DAVProperty.dtEnd] = .date(end)
            properties[DAVProperty.allDayEvent] = .bool(false)
            properties[DAVProperty.timezoneID] = .string(zoneName)
        case .allDay(let first, let endExclusive):
            // Exchange keeps all-day events as local midnights of the server's zone, in UTC.
            properties[DAVProperty.dtStart] = .date(midnight(first, zone))
            properties[DAVProperty.dtEnd] = .date(midnight(endExclusive, zone))
            properties[DAVProperty.allDayEvent] = .bool(true)
        }
        if let minutes = event.reminderMinutes {
            properties[DAVProperty.reminderSet] = .bool(true)
            properties[DAVProperty.reminderDelta] = .int(minutes)
            properties[DAVProperty.reminderOffset] = .int(minutes * 60)
        } else {
            properties[DAVProperty.reminderSet] = .bool(false)
        }
        if let component = try? ICalComponent.parse(calendar),
            let master = component.components(named: "VEVENT").first(where: { $0.property("RECURRENCE-ID") == nil }),
            !master.properties(named: "RRULE").isEmpty
        {
            properties[DAVProperty.rrule] = .strings(master.properties(named: "RRULE").map(\.value))
            if let deleted = event.recurrence?.deletedOccurrences, !deleted.isEmpty {
                properties[DAVProperty.exdate] = .strings(deleted.map(DAVDate.format))
            }
        }
        return properties
    }

    static func midnight(_ date: LocalDate, _ zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day)) ?? Date()
    }

    static func localDate(_ date: Date, _ zone: TimeZone) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return LocalDate(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    static func busyName(_ status: BusyStatus) -> String {
        switch status {
        case .free: "FREE"
        case .tentative: "TENTATIVE"
        case .busy, .workingElsewhere: "BUSY"
        case .outOfOffice: "OOF"
        }
    }

    static func busyStatus(_ name: String?) -> BusyStatus {
        switch name?.uppercased() {
        case "FREE": .free
        case "TENTATIVE": .tentative
        case "OOF": .outOfOffice
        default: .busy
        }
    }

    /// The iCalendar of an appointment held as properties (made with PROPPATCH): its recurrence
    /// rule as stored, no exceptions. Nil without a start.
    static func calendar(from properties: [String: DAVValue], zone: TimeZone) -> String? {
        guard let start = properties[DAVProperty.dtStart]?.date else { return nil }
        let end = properties[DAVProperty.dtEnd]?.date ?? start
        let timing: EventTiming
        if properties[DAVProperty.allDayEvent]?.bool == true {
            timing = .allDay(start: localDate(start, zone), endExclusive: localDate(end, zone))
        } else {
            let zoneName = properties[DAVProperty.timezoneID]?.string.flatMap { TimeZone(identifier: $0)?.identifier }
            timing = .timed(start: start, end: end, timeZone: zoneName ?? zone.identifier)
        }
        let event = CalendarEvent(
            subject: properties[DAVProperty.subject]?.string ?? "", location: properties[DAVProperty.location]?.string,
            body: properties[DAVProperty.textDescription]?.string, timing: timing,
            reminderMinutes: properties[DAVProperty.reminderSet]?.bool == true
                ? properties[DAVProperty.reminderDelta]?.int : nil,
            busyStatus: busyStatus(properties[DAVProperty.busyStatus]?.string),
            isPrivate: properties[DAVProperty.sensitivity]?.int == 2,
            categories: properties[DAVProperty.keywords]?.strings ?? [])
        var text = ICalendarEvent.write(
            event, uid: properties[DAVProperty.calendarUID]?.string ?? UUID().uuidString, stamp: Date())
        let rules = properties[DAVProperty.rrule]?.strings ?? []
        if !rules.isEmpty, let end = text.range(of: "END:VEVENT") {
            text.insert(contentsOf: rules.map { "RRULE:\($0)\r\n" }.joined(), at: end.lowerBound)
        }
        return text
    }
}
