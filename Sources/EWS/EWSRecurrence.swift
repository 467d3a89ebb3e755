import Foundation
import XML

/// EWS recurrence XML ↔ a neutral description, shared by the adapter and the simulator.
public struct EWSRecurrence: Sendable, Hashable {
    public enum Pattern: Sendable, Hashable {
        case daily(interval: Int)
        case weekly(interval: Int, days: [String], firstDayOfWeek: String?)
        case absoluteMonthly(interval: Int, dayOfMonth: Int)
        case relativeMonthly(interval: Int, days: String, index: String)
        case absoluteYearly(dayOfMonth: Int, month: String)
        case relativeYearly(days: String, index: String, month: String)
    }
    public enum Range: Sendable, Hashable {
        case noEnd(start: LocalDateParts)
        case endDate(start: LocalDateParts, end: LocalDateParts)
        case numbered(start: LocalDateParts, count: Int)
    }
    public var pattern: Pattern
    public var range: Range

    public init(pattern: Pattern, range: Range) {
        self.pattern = pattern
        self.range = range
    }

    public static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    /// Writes `<t:Recurrence>` (pattern then range, in schema order).
    public func write(_ w: inout XMLWriter, element: String = "t:Recurrence") {
        w.element(element) { w in
            switch pattern {
            case .daily(let interval):
                w.element("t:DailyRecurrence") { w in w.element("t:Interval", "\(interval)") }
            case .weekly(let interval, let days, let first):
                w.element("t:WeeklyRecurrence") { w in
                    w.element("t:Interval", "\(interval)")
                    w.element("t:DaysOfWeek", days.joined(separator: " "))
                    w.element("t:FirstDayOfWeek", ifPresent: first)
                }
            case .absoluteMonthly(let interval, let day):
                w.element("t:AbsoluteMonthlyRecurrence") { w in
                    w.element("t:Interval", "\(interval)")
                    w.element("t:DayOfMonth", "\(day)")
                }
            case .relativeMonthly(let interval, let days, let index):
                w.element("t:RelativeMonthlyRecurrence") { w in
                    w.element("t:Interval", "\(interval)")
                    w.element("t:DaysOfWeek", days)
                    w.element("t:DayOfWeekIndex", index)
                }
            case .absoluteYearly(let day, let month):
                w.element("t:AbsoluteYearlyRecurrence") { w in
                    w.element("t:DayOfMonth", "\(day)")
                    w.element("t:Month", month)
                }
            case .relativeYearly(let days, let index, let month):
                w.element("t:RelativeYearlyRecurrence") { w in
                    w.element("t:DaysOfWeek", days)
                    w.element("t:DayOfWeekIndex", index)
                    w.element("t:Month", month)
                }
            }
            switch range {
            case .noEnd(let start):
                w.element("t:NoEndRecurrence") { w in w.element("t:StartDate", EWSDate.format(start)) }
            case .endDate(let start, let end):
                w.element("t:EndDateRecurrence") { w in
                    w.element("t:StartDate", EWSDate.format(start))
                    w.element("t:EndDate", EWSDate.format(end))
                }
            case .numbered(let start, let count):
                w.element("t:NumberedRecurrence") { w in
                    w.element("t:StartDate", EWSDate.format(start))
                    w.element("t:NumberOfOccurrences", "\(count)")
                }
            }
        }
    }

    /// Reads a `Recurrence` element.
    public init?(_ element: XMLElement) {
        var pattern: Pattern?
        var range: Range?
        for child in element.children {
            let interval = Int(child.string("Interval") ?? "1") ?? 1
            switch child.name {
            case "DailyRecurrence": pattern = .daily(interval: interval)
            case "WeeklyRecurrence":
                pattern = .weekly(
                    interval: interval, days: (child.string("DaysOfWeek") ?? "").split(separator: " ").map(String.init),
                    firstDayOfWeek: child.string("FirstDayOfWeek"))
            case "AbsoluteMonthlyRecurrence":
                pattern = .absoluteMonthly(interval: interval, dayOfMonth: Int(child.string("DayOfMonth") ?? "1") ?? 1)
            case "RelativeMonthlyRecurrence":
                pattern = .relativeMonthly(
                    interval: interval, days: child.string("DaysOfWeek") ?? "",
                    index: child.string("DayOfWeekIndex") ?? "First")
            case "AbsoluteYearlyRecurrence":
                pattern = .absoluteYearly(
                    dayOfMonth: Int(child.string("DayOfMonth") ?? "1") ?? 1, month: child.string("Month") ?? "January")
            case "RelativeYearlyRecurrence":
                pattern = .relativeYearly(
                    days: child.string("DaysOfWeek") ?? "", index: child.string("DayOfWeekIndex") ?? "First",
                    month: child.string("Month") ?? "January")
            case "NoEndRecurrence":
                if let start = child.string("StartDate").flatMap(EWSDate.parseDate) { range = .noEnd(start: start) }
            case "EndDateRecurrence":
                if let start = child.string("StartDate").flatMap(EWSDate.parseDate),
                    let end = child.string("EndDate").flatMap(EWSDate.parseDate)
                {
                    range = .endDate(start: start, end: end)
                }
            case "NumberedRecurrence":
                if let start = child.string("StartDate").flatMap(EWSDate.parseDate) {
                    range = .numbered(start: start, count: Int(child.string("NumberOfOccurrences") ?? "1") ?? 1)
                }
            default: break
            }
        }
        guard let pattern, let range else { return nil }
        self.init(pattern: pattern, range: range)
    }
}
