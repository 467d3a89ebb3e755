import Foundation

/// Progress of a task, as EWS names it.
public enum TaskStatus: String, Codable, Sendable, Hashable {
    case notStarted, inProgress, completed, waitingOnOthers, deferred
}

/// Importance of a task or message.
public enum Importance: String, Codable, Sendable, Hashable { case low, normal, high }

/// A task: a FlowFact activity with a follow-up date, or an Exchange task.
public struct TaskItem: SyncRecord {
    public static let kind = DataKind.task

    public var subject: String
    public var body: String?
    public var startDate: LocalDate?
    public var dueDate: LocalDate?
    public var status: TaskStatus
    /// 0...100.
    public var percentComplete: Int
    public var completedAt: Date?
    public var importance: Importance
    /// The instant of the reminder (FlowFact's Vorlage with a time); nil for none.
    public var reminderAt: Date?
    public var categories: [String]
    public var recurrence: Recurrence?

    public init(
        subject: String, body: String? = nil, startDate: LocalDate? = nil, dueDate: LocalDate? = nil,
        status: TaskStatus = .notStarted, percentComplete: Int = 0, completedAt: Date? = nil,
        importance: Importance = .normal, reminderAt: Date? = nil, categories: [String] = [],
        recurrence: Recurrence? = nil
    ) {
        self.subject = subject
        self.body = body
        self.startDate = startDate
        self.dueDate = dueDate
        self.status = status
        self.percentComplete = percentComplete
        self.completedAt = completedAt
        self.importance = importance
        self.reminderAt = reminderAt
        self.categories = categories
        self.recurrence = recurrence
    }

    public var displayName: String { subject }

    public func validate() -> [String] {
        var problems: [String] = []
        if !(0...100).contains(percentComplete) {
            problems.append("percent complete \(percentComplete) outside 0...100")
        }
        if let start = startDate, let due = dueDate, due < start { problems.append("due before its start") }
        return problems
    }
}
