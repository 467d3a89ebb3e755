import Foundation

/// Days of the week, as EWS names them.
public enum Weekday: String, Codable, Sendable, Hashable, CaseIterable {
    case sunday, monday, tuesday, wednesday, thursday, friday, saturday
}

/// Which week of the month a relative monthly or yearly pattern means.
public enum WeekOfMonth: String, Codable, Sendable, Hashable {
    case first, second, third, fourth, last
}

/// How often a series repeats. Mirrors the EWS recurrence patterns, which FlowFact's "Periode" maps onto.
public enum RecurrencePattern: Codable, Sendable, Hashable {
    /// Every `interval` days.
    case daily(interval: Int)
    /// Every `interval` weeks on the given days.
    case weekly(interval: Int, days: [Weekday], firstDayOfWeek: Weekday)
    /// Every `interval` months on a day of the month.
    case monthlyAbsolute(interval: Int, dayOfMonth: Int)
    /// Every `interval` months on, for example, the second Tuesday.
    case monthlyRelative(interval: Int, week: WeekOfMonth, day: Weekday)
    /// Every year on a day of a month.
    case yearlyAbsolute(month: Int, dayOfMonth: Int)
    /// Every year on, for example, the last Sunday of March.
    case yearlyRelative(month: Int, week: WeekOfMonth, day: Weekday)
}

/// When a series ends.
public enum RecurrenceRange: Codable, Sendable, Hashable {
    case noEnd(start: LocalDate)
    case endDate(start: LocalDate, end: LocalDate)
    case numbered(start: LocalDate, count: Int)
}

/// A single occurrence that differs from its series.
public struct OccurrenceException: Codable, Sendable, Hashable {
    /// The start the occurrence would have had without the change; identifies it within the series.
    public var originalStart: Date
    /// The occurrence as it now is.
    public var start: Date
    public var end: Date
    public var subject: String?
    public var location: String?
    public var body: String?

    public init(
        originalStart: Date, start: Date, end: Date, subject: String? = nil, location: String? = nil,
        body: String? = nil
    ) {
        self.originalStart = originalStart
        self.start = start
        self.end = end
        self.subject = subject
        self.location = location
        self.body = body
    }
}

/// A repeating series with its pattern, range and the occurrences that were changed or deleted.
public struct Recurrence: Codable, Sendable, Hashable {
    public var pattern: RecurrencePattern
    public var range: RecurrenceRange
    /// Occurrences moved or edited, keyed by their original start.
    public var modifiedOccurrences: [OccurrenceException]
    /// Original starts of occurrences that were deleted from the series.
    public var deletedOccurrences: [Date]

    public init(
        pattern: RecurrencePattern, range: RecurrenceRange,
        modifiedOccurrences: [OccurrenceException] = [], deletedOccurrences: [Date] = []
    ) {
        self.pattern = pattern
        self.range = range
        self.modifiedOccurrences = modifiedOccurrences
        self.deletedOccurrences = deletedOccurrences
    }
}
