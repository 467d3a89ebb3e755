import ConnectorAPI
import EWS
import Foundation
import XML

/// Exceptions of recurring calendar items: read from the master's ModifiedOccurrences (with the
/// occurrences' own subject, location and body), and written as occurrence updates and deletions
/// addressed by master id and instance index, so a series stays one series.
extension EWSEndpoint {
    /// Adds the subject, location and body of changed occurrences to decoded series.
    func completeExceptions(_ items: [EWSItem]) async throws -> [EWSItem] {
        guard kind == .calendar else { return items }
        let occurrenceIDs = items.flatMap { $0.occurrences.map(\.id) }
        guard !occurrenceIDs.isEmpty else { return items }
        var details: [String: XMLElement] = [:]
        for start in stride(from: 0, to: occurrenceIDs.count, by: readBatchSize) {
            let batch = Array(occurrenceIDs[start..<min(start + readBatchSize, occurrenceIDs.count)])
            let messages = try await client.call("GetItem") { w in
                w.element("m:GetItem") { w in
                    w.element("m:ItemShape") { w in
                        w.element("t:BaseShape", "IdOnly")
                        w.element("t:BodyType", "Text")
                        w.element("t:AdditionalProperties") { w in
                            for uri in ["item:Subject", "item:Body", "calendar:Location"] {
                                w.start("t:FieldURI", [("FieldURI", uri)])
                                w.end()
                            }
                        }
                    }
                    w.element("m:ItemIds") { w in
                        for id in batch {
                            w.start("t:ItemId", [("Id", id)])
                            w.end()
                        }
                    }
                }
            }
            for (id, message) in zip(batch, padded(messages, batch.count)) {
                if let message, message.success, let element = message.element.child("Items")?.children.first {
                    details[id] = element
                }
            }
        }
        return items.map { item in
            var item = item
            guard case .calendar(var event) = item.record, var recurrence = event.recurrence else { return item }
            recurrence.modifiedOccurrences = recurrence.modifiedOccurrences.map { exception in
                var exception = exception
                guard let occurrence = item.occurrences.first(where: { $0.original == exception.originalStart }),
                    let element = details[occurrence.id]
                else { return exception }
                let subject = element.string("Subject")
                let location = element.string("Location").flatMap { $0.isEmpty ? nil : $0 }
                let body = element.string("Body").flatMap { $0.isEmpty ? nil : $0 }
                exception.subject = subject == event.subject ? nil : subject
                exception.location = location == event.location ? nil : location
                exception.body = body == event.body ? nil : body
                return exception
            }
            event.recurrence = recurrence
            item.record = .calendar(event)
            return item
        }
    }

    /// Makes the occurrences of master `id` match the record's exceptions; returns the master's final change key.
    func writeExceptions(masterID: String, record: Record, current: CalendarEvent?) async throws -> String? {
        guard case .calendar(let event) = record, let recurrence = event.recurrence else { return nil }
        let existing = current?.recurrence
        let alreadyModified = Dictionary(
            uniqueKeysWithValues: (existing?.modifiedOccurrences ?? []).map { ($0.originalStart, $0) })
        let alreadyDeleted = Set(existing?.deletedOccurrences ?? [])
        let toModify = recurrence.modifiedOccurrences.filter { alreadyModified[$0.originalStart] != $0 }
        let toDelete = recurrence.deletedOccurrences.filter { !alreadyDeleted.contains($0) }
        guard !toModify.isEmpty || !toDelete.isEmpty else { return nil }
        let (start, _, _) = codec.startEnd(event.timing)
        let zone: TimeZone =
            if case .timed(_, _, let name) = event.timing { TimeZone(identifier: name) ?? codec.zone } else {
                codec.zone
            }
        let starts = EWSRecordCodec.ewsRecurrence(recurrence).starts(firstStart: start, zone: zone)
        func index(_ original: Date) -> Int? {
            starts.firstIndex { abs($0.timeIntervalSince(original)) < 1 }.map { $0 + 1 }
        }
        if !toModify.isEmpty {
            let messages = try await client.call("UpdateItem") { w in
                w.element(
                    "m:UpdateItem",
                    [
                        ("ConflictResolution", "AlwaysOverwrite"),
                        ("SendMeetingInvitationsOrCancellations", "SendToNone"),
                    ]
                ) { w in
                    w.element("m:ItemChanges") { w in
                        for exception in toModify {
                            guard let instance = index(exception.originalStart) else { continue }
                            w.element("t:ItemChange") { w in
                                w.start(
                                    "t:OccurrenceItemId",
                                    [("RecurringMasterId", masterID), ("InstanceIndex", "\(instance)")])
                                w.end()
                                w.element("t:Updates") { w in
                                    func set(_ uri: String, _ name: String, _ value: String) {
                                        w.element("t:SetItemField") { w in
                                            w.start("t:FieldURI", [("FieldURI", uri)])
                                            w.end()
                                            w.element("t:CalendarItem") { w in
                                                if name == "Body" {
                                                    w.element("t:Body", value, [("BodyType", "Text")])
                                                } else {
                                                    w.element("t:\(name)", value)
                                                }
                                            }
                                        }
                                    }
                                    set("item:Subject", "Subject", exception.subject ?? event.subject)
                                    if let body = exception.body ?? event.body { set("item:Body", "Body", body) }
                                    set("calendar:Start", "Start", EWSDate.format(exception.start))
                                    set("calendar:End", "End", EWSDate.format(exception.end))
                                    if let location = exception.location ?? event.location {
                                        set("calendar:Location", "Location", location)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if let failed = messages.first(where: { !$0.success }) {
                throw EWSFault(
                    code: failed.code, message: "an occurrence of \(masterID) could not be changed: \(failed.text)",
                    backOff: failed.backOff, httpStatus: 200)
            }
        }
        let deletable = toDelete.compactMap(index)
        if !deletable.isEmpty {
            let messages = try await client.call("DeleteItem") { w in
                w.element("m:DeleteItem", [("DeleteType", "HardDelete"), ("SendMeetingCancellations", "SendToNone")]) {
                    w in
                    w.element("m:ItemIds") { w in
                        for instance in deletable {
                            w.start(
                                "t:OccurrenceItemId",
                                [("RecurringMasterId", masterID), ("InstanceIndex", "\(instance)")])
                            w.end()
                        }
                    }
                }
            }
            if let failed = messages.first(where: { !$0.success && $0.code != "ErrorItemNotFound" }) {
                throw EWSFault(
                    code: failed.code, message: "an occurrence of \(masterID) could not be deleted: \(failed.text)",
                    backOff: failed.backOff, httpStatus: 200)
            }
        }
        return try await changeKey(of: masterID)
    }

    /// The current change key of an item.
    func changeKey(of id: String) async throws -> String? {
        let messages = try await client.call("GetItem") { w in
            w.element("m:GetItem") { w in
                w.element("m:ItemShape") { w in w.element("t:BaseShape", "IdOnly") }
                w.element("m:ItemIds") { w in
                    w.start("t:ItemId", [("Id", id)])
                    w.end()
                }
            }
        }
        return messages.first?.element.child("Items")?.children.first?.child("ItemId")?.attributes["ChangeKey"]
    }
}
