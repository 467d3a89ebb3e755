import ConnectorAPI
import Foundation

/// Converts between a ``TaskItem`` and a VCALENDAR holding its VTODO (RFC 5545).
public enum ICalendarTask {
    /// The non-standard property that keeps the two task states iCalendar's STATUS lacks.
    static let statusProperty = "X-MICROSOFT-CDO-TASKSTATUS"

    /// A whole VCALENDAR (PRODID, VERSION 2.0) with the task's VTODO: SUMMARY, DESCRIPTION,
    /// `DTSTART;VALUE=DATE`, `DUE;VALUE=DATE`, STATUS (waiting on others and deferred also as
    /// `X-MICROSOFT-CDO-TASKSTATUS`), PERCENT-COMPLETE, COMPLETED (UTC), PRIORITY (1 high, 5 normal,
    /// 9 low), CATEGORIES, RRULE (UNTIL as a DATE) and a VALARM at `reminderAt`.
    ///
    /// A recurring task without start and due date gets its series' first date as DTSTART, which
    /// iCalendar requires for a rule.
    ///
    /// - Parameters:
    ///   - task: The task.
    ///   - uid: The UID of the VTODO.
    ///   - stamp: DTSTAMP, the time the object is written.
    public static func write(_ task: TaskItem, uid: String, stamp: Date) -> String {
        var calendar = CalendarObject.calendar(method: nil)
        var todo = ICalComponent("VTODO")
        todo.add(.text("UID", uid))
        todo.add("DTSTAMP", ValueFormat.utc(stamp))
        todo.add(.text("SUMMARY", task.subject))
        if let body = task.body, !body.isEmpty { todo.add(.text("DESCRIPTION", body)) }
        var start = task.startDate
        if start == nil, task.dueDate == nil, let range = task.recurrence?.range { start = rangeStart(range) }
        if let start { todo.add(date("DTSTART", start)) }
        if let due = task.dueDate { todo.add(date("DUE", due)) }
        switch task.status {
        case .notStarted: todo.add("STATUS", "NEEDS-ACTION")
        case .inProgress: todo.add("STATUS", "IN-PROCESS")
        case .completed: todo.add("STATUS", "COMPLETED")
        case .waitingOnOthers:
            todo.add("STATUS", task.percentComplete > 0 ? "IN-PROCESS" : "NEEDS-ACTION")
            todo.add(statusProperty, "WAITINGONOTHERS")
        case .deferred:
            todo.add("STATUS", task.percentComplete > 0 ? "IN-PROCESS" : "NEEDS-ACTION")
            todo.add(statusProperty, "DEFERRED")
        }
        todo.add("PERCENT-COMPLETE", String(min(100, max(0, task.percentComplete))))
        if let completed = task.completedAt { todo.add("COMPLETED", ValueFormat.utc(completed)) }
        let priority =
            switch task.importance {
            case .high: "1"
            case .normal: "5"
            case .low: "9"
            }
        todo.add("PRIORITY", priority)
        if let categories = EventFields.categoriesProperty(task.categories) { todo.add(categories) }
        if let recurrence = task.recurrence {
            let rule = RecurrenceMapping.rule(recurrence.pattern, range: recurrence.range, until: ValueFormat.format)
            todo.add("RRULE", rule.text)
        }
        if let reminder = task.reminderAt { todo.components.append(Alarm.at(reminder)) }
        calendar.components.append(todo)
        return calendar.serialized()
    }

    /// Reads the first VTODO of a VCALENDAR.
    ///
    /// Dates may be DATEs or DATE-TIMEs (read as the date of their local midnight, UTC values by
    /// the nearest midnight); STATUS CANCELLED reads as deferred; PRIORITY 1–4 is high, 5 and 0
    /// normal, 6–9 low; the reminder is the first alarm's absolute TRIGGER, or a relative one from
    /// the start (or with `RELATED=END` the due date) at midnight in `defaultZone`.
    ///
    /// - Throws: ``ICalendarError`` for malformed text, a calendar without VTODO, unreadable dates
    ///   and recurrence rules the record cannot express.
    public static func read(_ text: String, defaultZone: TimeZone) throws -> (task: TaskItem, uid: String?) {
        let calendar = try CalendarObject.parse(text)
        guard let todo = calendar.components(named: "VTODO").first else {
            throw ICalendarError(line: calendar.line, "the \(calendar.name) has no VTODO")
        }
        let reader = TimeReader(resolver: ZoneResolver(calendar: calendar, defaultZone: defaultZone))
        func day(_ name: String) throws -> LocalDate? {
            try todo.property(name).map { try reader.allDayDate(reader.time($0)) }
        }
        let startDate = try day("DTSTART")
        let dueDate = try day("DUE")
        var completedAt: Date?
        if let property = todo.property("COMPLETED") {
            switch try reader.time(property) {
            case .dateTime(let instant, _): completedAt = instant
            case .date(let date): completedAt = reader.midnight(date)
            }
        }
        let percent = todo.property("PERCENT-COMPLETE").flatMap { Int($0.value.trimmingSpaces) }
        var task = TaskItem(
            subject: todo.property("SUMMARY")?.textValue ?? "", body: EventFields.text(todo, "DESCRIPTION"),
            startDate: startDate, dueDate: dueDate,
            status: status(todo, completed: completedAt != nil, percent: percent ?? 0),
            percentComplete: min(100, max(0, percent ?? 0)), completedAt: completedAt, importance: importance(todo),
            categories: EventFields.categories(todo))
        for trigger in Alarm.triggers(todo, zone: defaultZone) {
            switch trigger {
            case .absolute(let instant): task.reminderAt = instant
            case .relative(let seconds, let fromEnd):
                guard let base = fromEnd ? dueDate : startDate else { continue }
                task.reminderAt = reader.midnight(base).addingTimeInterval(TimeInterval(seconds))
            }
            break
        }
        if let property = todo.property("RRULE") {
            guard let first = startDate ?? dueDate else {
                throw ICalendarError(line: property.line, "RRULE in a VTODO without DTSTART or DUE")
            }
            do {
                let rule = try RecurrenceRule(parsing: property.value)
                let (pattern, range) = try RecurrenceMapping.recurrence(rule, start: first) { text in
                    if let date = ValueFormat.date(text) { return date }
                    guard let (local, isUTC) = ValueFormat.dateTime(text) else { return nil }
                    return isUTC ? FoundationZone(zone: defaultZone).local(for: local.utcInstant).date : local.date
                }
                task.recurrence = Recurrence(pattern: pattern, range: range)
            } catch let error as ICalendarError {
                throw error.placed(at: property.line)
            }
        }
        return (task, todo.property("UID")?.textValue)
    }

    private static func date(_ name: String, _ date: LocalDate) -> ICalProperty {
        ICalProperty(name, parameters: [ICalParameter("VALUE", "DATE")], value: ValueFormat.format(date))
    }

    private static func rangeStart(_ range: RecurrenceRange) -> LocalDate {
        switch range {
        case .noEnd(let start), .endDate(let start, _), .numbered(let start, _): start
        }
    }

    /// `X-MICROSOFT-CDO-TASKSTATUS` when known, else STATUS, else completed when COMPLETED is given,
    /// in progress when some percent is done, not started otherwise.
    private static func status(_ todo: ICalComponent, completed: Bool, percent: Int) -> TaskStatus {
        switch todo.property(statusProperty)?.value.trimmingSpaces.uppercased() {
        case "WAITINGONOTHERS"?: return .waitingOnOthers
        case "DEFERRED"?: return .deferred
        case "NOTSTARTED"?: return .notStarted
        case "INPROGRESS"?: return .inProgress
        case "COMPLETED"?: return .completed
        default: break
        }
        switch todo.property("STATUS")?.value.trimmingSpaces.uppercased() {
        case "NEEDS-ACTION"?: return .notStarted
        case "IN-PROCESS"?: return .inProgress
        case "COMPLETED"?: return .completed
        case "CANCELLED"?: return .deferred
        default: return completed ? .completed : percent > 0 ? .inProgress : .notStarted
        }
    }

    /// PRIORITY 1–4 high, 6–9 low, otherwise normal.
    private static func importance(_ todo: ICalComponent) -> Importance {
        switch todo.property("PRIORITY").flatMap({ Int($0.value.trimmingSpaces) }) {
        case (1...4)?: .high
        case (6...9)?: .low
        default: .normal
        }
    }
}
