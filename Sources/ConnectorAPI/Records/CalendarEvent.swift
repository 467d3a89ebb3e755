import Foundation

/// How an appointment shows the owner's time.
public enum BusyStatus: String, Codable, Sendable, Hashable {
    case free, tentative, busy, outOfOffice, workingElsewhere
}

/// An attendee of a meeting.
public struct Attendee: Codable, Sendable, Hashable {
    public enum Role: String, Codable, Sendable, Hashable { case required, optional, resource }
    public enum Response: String, Codable, Sendable, Hashable {
        case unknown, organizer, tentative, accepted, declined, noResponse
    }
    public var email: String
    public var name: String?
    public var role: Role
    public var response: Response

    public init(email: String, name: String? = nil, role: Role = .required, response: Response = .unknown) {
        self.email = email
        self.name = name
        self.role = role
        self.response = response
    }
}

/// When an appointment takes place: instants in a named zone, or whole days.
public enum EventTiming: Codable, Sendable, Hashable {
    /// A timed event. `timeZone` is an IANA id (e.g. `Europe/Berlin`) that keeps wall-clock
    /// times stable for recurrences and across daylight-saving changes.
    case timed(start: Date, end: Date, timeZone: String)
    /// An all-day event from `start` up to and excluding `endExclusive`.
    case allDay(start: LocalDate, endExclusive: LocalDate)
}

/// An appointment: a FlowFact calendar activity or an Exchange calendar item.
public struct CalendarEvent: SyncRecord {
    public static let kind = DataKind.calendar

    public var subject: String
    public var location: String?
    public var body: String?
    public var timing: EventTiming
    /// Minutes before the start; nil when no reminder is set.
    public var reminderMinutes: Int?
    public var busyStatus: BusyStatus
    public var isPrivate: Bool
    public var categories: [String]
    public var organizer: Attendee?
    public var attendees: [Attendee]
    public var recurrence: Recurrence?

    public init(
        subject: String, location: String? = nil, body: String? = nil, timing: EventTiming,
        reminderMinutes: Int? = nil, busyStatus: BusyStatus = .busy, isPrivate: Bool = false,
        categories: [String] = [], organizer: Attendee? = nil, attendees: [Attendee] = [],
        recurrence: Recurrence? = nil
    ) {
        self.subject = subject
        self.location = location
        self.body = body
        self.timing = timing
        self.reminderMinutes = reminderMinutes
        self.busyStatus = busyStatus
        self.isPrivate = isPrivate
        self.categories = categories
        self.organizer = organizer
        self.attendees = attendees
        self.recurrence = recurrence
    }

    public var displayName: String { subject }

    public func validate() -> [String] {
        var problems: [String] = []
        switch timing {
        case .timed(let start, let end, let zone):
            if end < start { problems.append("ends before it starts") }
            if TimeZone(identifier: zone) == nil { problems.append("unknown time zone \(zone)") }
        case .allDay(let start, let end):
            if end <= start { problems.append("all-day event ends on or before its first day") }
        }
        if let minutes = reminderMinutes, minutes < 0 { problems.append("negative reminder") }
        return problems
    }
}
