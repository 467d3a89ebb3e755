/// The four kinds of data the service synchronises.
///
/// FlowFact keeps addresses in one table and appointments, tasks and mails as activities of
/// different types; Exchange keeps them as contacts, calendar items, tasks and messages.
/// A connector binds two endpoints of one kind.
public enum DataKind: String, Sendable, Codable, CaseIterable, Hashable, CustomStringConvertible {
    /// A person or company: FlowFact address, Exchange contact.
    case address
    /// An appointment: FlowFact activity shown in the calendar, Exchange calendar item.
    case calendar
    /// A task: FlowFact activity with a follow-up date, Exchange task.
    case task
    /// An e-mail: FlowFact mail activity, Exchange message.
    case mail

    public var description: String { rawValue }
}
