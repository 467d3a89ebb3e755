import EWS
import Foundation
import XML

/// Task state as Exchange's store keeps it: Status, PercentComplete and CompleteDate move together.
/// Completing a task (Status Completed, PercentComplete 100, or a CompleteDate) stamps CompleteDate
/// and sets PercentComplete to 100; any other status removes CompleteDate (Exchange's
/// `Task.SetStatusCompleted`, `SetStatusInternal` and `PercentComplete` setter, which EWS calls for
/// task:Status, task:PercentComplete and task:CompleteDate in the order a request gives them).
extension SimService {
    /// The task properties whose setting changes the task's state.
    static let taskStateFields: Set<String> = ["Status", "PercentComplete", "CompleteDate"]

    struct TaskState: Equatable {
        var status: String?
        var percent: String?
        var completeDate: String?
        /// A CompleteDate the request itself gave, kept when the task ends up completed.
        var given: String?

        init(_ properties: [XMLElement], given: String? = nil) {
            status = properties.first { $0.name == "Status" }?.text
            percent = properties.first { $0.name == "PercentComplete" }?.text
            completeDate = properties.first { $0.name == "CompleteDate" }?.text
            self.given = given
        }

        /// Applies one task:Status, task:PercentComplete or task:CompleteDate value.
        mutating func set(_ element: XMLElement, now: Date) throws {
            let text = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch element.name {
            case "Status":
                guard text != "Completed" else { return complete(at: now) }
                status = text
                completeDate = nil
                given = nil
                if text == "NotStarted" || percent.flatMap { Double($0) } == 100 { percent = "0" }
            case "PercentComplete":
                guard let value = Double(text), (0...100).contains(value) else {
                    throw SimItemError(
                        code: "ErrorInvalidPercentCompleteValue",
                        message: "PercentComplete must be between 0 and 100.", fieldURI: "task:PercentComplete")
                }
                guard value < 100 else { return complete(at: now) }
                completeDate = nil
                given = nil
                if value == 0 {
                    status = "NotStarted"
                } else if status == nil || status == "NotStarted" || status == "Completed" {
                    status = "InProgress"
                }
                percent = value == value.rounded() ? String(Int(value)) : String(value)
            case "CompleteDate":
                guard let date = EWSDate.parse(text) else { return }
                complete(at: date)
                given = completeDate
            default:
                return
            }
        }

        mutating func complete(at date: Date) {
            status = "Completed"
            percent = "100"
            completeDate = EWSDate.format(date)
        }

        /// The state at the end of a request. Exchange applies the values in order, so a
        /// CompleteDate followed by Status Completed or PercentComplete 100 (schema order in
        /// CreateItem) ends with the time of the request; the simulator keeps the CompleteDate the
        /// client gave, which is what a client sending one means.
        func finished() -> TaskState {
            var state = self
            if let given, state.status == "Completed" { state.completeDate = given }
            return state
        }

        /// Writes the state into a task's properties, in schema order.
        func write(to properties: inout [XMLElement], catalog: SchemaCatalog) {
            properties.removeAll { SimService.taskStateFields.contains($0.name) }
            for (name, value) in [("CompleteDate", completeDate), ("PercentComplete", percent), ("Status", status)] {
                guard let value else { continue }
                properties.append(XMLElement(name: name, namespace: EWSNamespace.types, text: value))
            }
            properties = catalog.sorted(properties, ofItem: "Task")
        }
    }

    /// The Status, PercentComplete and CompleteDate of a task being created, from the values the
    /// CreateItem element gives, in their order.
    func prepareTaskState(_ element: XMLElement, _ properties: inout [XMLElement], now: Date) throws {
        guard element.children.contains(where: { Self.taskStateFields.contains($0.name) }) else { return }
        var state = TaskState([])
        for field in element.children where Self.taskStateFields.contains(field.name) {
            try state.set(field, now: now)
        }
        state.finished().write(to: &properties, catalog: catalog)
    }
}
