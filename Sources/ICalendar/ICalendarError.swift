/// Why iCalendar text could not be read: the content line it happened on (1-based, the first
/// physical line of a folded line) when known, and a reason that names the offending value or rule.
public struct ICalendarError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line of the input, or nil when the problem is not tied to one line.
    public var line: Int?
    /// What is wrong, naming the value, property or rule.
    public var reason: String

    /// An error at `line` (nil when not tied to a line) with a human-readable `reason`.
    public init(line: Int?, _ reason: String) {
        self.line = line
        self.reason = reason
    }

    /// "line 12: reason", or just the reason when no line is known.
    public var description: String {
        if let line { return "line \(line): \(reason)" }
        return reason
    }

    /// The same error, placed on `line` unless it already names one.
    func placed(at line: Int?) -> ICalendarError {
        self.line == nil ? ICalendarError(line: line, reason) : self
    }
}
