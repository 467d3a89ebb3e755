import EWS
import Foundation
import XML

/// Recurring series: occurrences addressed by `OccurrenceItemId` (master + instance index) or by
/// an occurrence's own id; changed occurrences become exceptions of the master, deleted ones are
/// listed in DeletedOccurrences, as Exchange keeps them.
extension SimService {
    func property(_ item: SimItem, _ name: String) -> XMLElement? { item.properties.first { $0.name == name } }

    /// The occurrence starts of a series master.
    func occurrenceStarts(_ master: SimItem) -> [Date] {
        guard let recurrence = property(master, "Recurrence").flatMap(EWSRecurrence.init),
            let start = property(master, "Start").flatMap({ EWSDate.parse($0.text) })
        else { return [] }
        let zone =
            property(master, "StartTimeZone")?.attributes["Id"].flatMap(WindowsZones.zone(forWindows:)) ?? TimeZone(
                identifier: "UTC")!
        return recurrence.starts(firstStart: start, zone: zone)
    }

    func duration(_ master: SimItem) -> TimeInterval {
        guard let start = property(master, "Start").flatMap({ EWSDate.parse($0.text) }),
            let end = property(master, "End").flatMap({ EWSDate.parse($0.text) })
        else { return 3600 }
        return end.timeIntervalSince(start)
    }

    /// Resolves an `OccurrenceItemId` or the id of an exception to (mailbox, master, original start).
    func occurrence(_ reference: XMLElement, _ context: Context) throws -> (SimMailbox, SimItem, Date)? {
        if reference.name == "OccurrenceItemId" {
            let (mailbox, master) = try item(reference.attributes["RecurringMasterId"], context)
            let starts = occurrenceStarts(master)
            guard let index = Int(reference.attributes["InstanceIndex"] ?? ""), index >= 1, index <= starts.count else {
                throw SimItemError(
                    code: "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
                    message: "The occurrence index is out of the recurrence range.")
            }
            return (mailbox, master, starts[index - 1])
        }
        guard let id = reference.attributes["Id"], let masterID = occurrenceIndex[id] else { return nil }
        let (mailbox, master) = try item(masterID, context)
        guard let original = master.exceptions.values.first(where: { $0.id == id })?.originalStart else { return nil }
        return (mailbox, master, original)
    }

    /// The occurrence as a CalendarItem element (for GetItem).
    func occurrenceElement(_ master: SimItem, _ original: Date) -> [XMLElement] {
        func element(_ name: String, _ text: String) -> XMLElement {
            XMLElement(name: name, namespace: EWSNamespace.types, text: text)
        }
        var properties = master.properties.filter {
            ["Subject", "Body", "Location", "Start", "End", "IsAllDayEvent", "StartTimeZone", "EndTimeZone"].contains(
                $0.name)
        }
        let exception = master.exceptions[original]
        let id = exception?.id ?? master.id
        for changed in exception?.properties ?? [] {
            properties.removeAll { $0.name == changed.name }
            properties.append(changed)
        }
        if exception == nil {
            properties.removeAll { $0.name == "Start" || $0.name == "End" }
            properties.append(element("Start", EWSDate.format(original)))
            properties.append(element("End", EWSDate.format(original.addingTimeInterval(duration(master)))))
        }
        properties.append(
            XMLElement(
                name: "ItemId", namespace: EWSNamespace.types, attributes: ["Id": id, "ChangeKey": master.changeKey]))
        properties.append(element("OriginalStart", EWSDate.format(original)))
        properties.append(element("CalendarItemType", exception == nil ? "Occurrence" : "Exception"))
        return catalog.sorted(properties, ofItem: "CalendarItem")
    }

    /// ModifiedOccurrences and DeletedOccurrences of a master, as Exchange reports them.
    func occurrenceProperties(_ master: SimItem) -> [XMLElement] {
        func element(_ name: String, _ text: String) -> XMLElement {
            XMLElement(name: name, namespace: EWSNamespace.types, text: text)
        }
        var result: [XMLElement] = []
        if !master.exceptions.isEmpty {
            let occurrences = master.exceptions.values.sorted { $0.originalStart < $1.originalStart }.map { exception in
                let start =
                    exception.properties.first { $0.name == "Start" }?.text ?? EWSDate.format(exception.originalStart)
                let end =
                    exception.properties.first { $0.name == "End" }?.text
                    ?? EWSDate.format(exception.originalStart.addingTimeInterval(duration(master)))
                return XMLElement(
                    name: "Occurrence", namespace: EWSNamespace.types,
                    children: [
                        XMLElement(
                            name: "ItemId", namespace: EWSNamespace.types,
                            attributes: ["Id": exception.id, "ChangeKey": master.changeKey]),
                        element("Start", start), element("End", end),
                        element("OriginalStart", EWSDate.format(exception.originalStart)),
                    ])
            }
            result.append(XMLElement(name: "ModifiedOccurrences", namespace: EWSNamespace.types, children: occurrences))
        }
        if !master.deletedOccurrences.isEmpty {
            let deleted = master.deletedOccurrences.sorted().map { start in
                XMLElement(
                    name: "DeletedOccurrence", namespace: EWSNamespace.types,
                    children: [element("Start", EWSDate.format(start))])
            }
            result.append(XMLElement(name: "DeletedOccurrences", namespace: EWSNamespace.types, children: deleted))
        }
        return result
    }

    /// Applies an ItemChange to one occurrence: it becomes (or stays) an exception of the master.
    func updateOccurrence(_ mailbox: SimMailbox, _ master: SimItem, _ original: Date, _ updates: [XMLElement]) throws
        -> String
    {
        var master = master
        var exception =
            master.exceptions[original] ?? SimOccurrence(id: SimIDs.item(), originalStart: original, properties: [])
        let allowed: Set<String> = [
            "Start", "End", "Subject", "Location", "Body", "ReminderMinutesBeforeStart", "ReminderIsSet",
            "LegacyFreeBusyStatus",
        ]
        for update in updates {
            guard let path = update.children.first.flatMap(PropertyPath.init), case .field(let name) = path,
                allowed.contains(name)
            else {
                throw SimItemError(
                    code: "ErrorInvalidPropertyForOperation",
                    message: "This property can't be changed on an occurrence.")
            }
            switch update.name {
            case "SetItemField":
                guard let value = update.children.dropFirst().first?.children.first else {
                    throw SimItemError(
                        code: "ErrorIncorrectUpdatePropertyCount",
                        message:
                            "An object within a change description must contain one and only one property to modify.")
                }
                path.set(
                    catalog.canonicalBooleans([value])[0], in: &exception.properties, catalog: catalog,
                    itemElement: "CalendarItem")
            case "DeleteItemField":
                path.delete(from: &exception.properties)
            default:
                throw SimItemError(code: "ErrorInvalidRequest", message: "Unknown change \(update.name).")
            }
        }
        master.exceptions[original] = exception
        occurrenceIndex[exception.id] = master.id
        bump(&master, mailbox)
        return exception.id
    }

    func deleteOccurrence(_ mailbox: SimMailbox, _ master: SimItem, _ original: Date) {
        var master = master
        if let exception = master.exceptions.removeValue(forKey: original) {
            occurrenceIndex.removeValue(forKey: exception.id)
        }
        if !master.deletedOccurrences.contains(original) { master.deletedOccurrences.append(original) }
        bump(&master, mailbox)
    }

    func bump(_ item: inout SimItem, _ mailbox: SimMailbox) {
        item.version += 1
        item.changeKey = SimIDs.changeKey(item.version)
        item.changeKeyVersions[item.changeKey] = item.version
        item.modified = Date()
        item.propertyVersions["Recurrence"] = item.version
        mailbox.items[item.id] = item
        mailbox.log(item.folderID, item.id, .update)
    }
}
