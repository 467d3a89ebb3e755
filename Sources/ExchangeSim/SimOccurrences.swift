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

    /// Resolves an `OccurrenceItemId`, the id of an exception or an occurrence's id (as GetItem and
    /// CalendarView give it) to (mailbox, master, original start); nil for any other item.
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
        guard let id = reference.attributes["Id"] else { return nil }
        if let masterID = occurrenceIndex[id] {
            // An exception, by the id listed in its master's ModifiedOccurrences.
            let (mailbox, master) = try item(masterID, context)
            guard let original = master.exceptions.values.first(where: { $0.id == id })?.originalStart else {
                return nil
            }
            return (mailbox, master, original)
        }
        guard let (masterID, original) = SimIDs.occurrenceOf(id) else { return nil }
        let (mailbox, master) = try item(masterID, context)
        guard occurrenceStarts(master).contains(original) else {
            throw SimItemError(code: "ErrorItemNotFound", message: "The specified object was not found in the store.")
        }
        guard !master.deletedOccurrences.contains(original) else {
            throw SimItemError(
                code: "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
                message: "Occurrence was deleted from the recurrence.")
        }
        return (mailbox, master, original)
    }

    /// Properties only a series master has; its occurrences never show them.
    static let seriesOnly: Set<String> = [
        "Recurrence", "ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence", "LastOccurrence",
    ]
    /// What belongs to the whole series, so UpdateItem refuses it on an occurrence
    /// (ErrorInvalidPropertyForOperation): the pattern and the series' UID (exchangelib leaves both
    /// out when it saves an occurrence, since Exchange refuses them there).
    static let seriesFields: Set<String> = ["Recurrence", "UID"]
    /// Calendar properties Exchange computes, read-only: refused on an occurrence (ErrorInvalidPropertySet).
    static let computedCalendarFields: Set<String> = [
        "IsRecurring", "CalendarItemType", "OriginalStart", "FirstOccurrence", "LastOccurrence",
        "ModifiedOccurrences", "DeletedOccurrences",
    ]

    /// The key of a stored property as an update path names it (an extended property by its URI).
    static func propertyKey(_ property: XMLElement) -> String {
        PropertyPath.paths(of: [property]).first?.key ?? property.name
    }

    /// An occurrence as GetItem and a CalendarView show it: the master's properties (without what
    /// only a series has) at the occurrence's own times (its original start unless it was moved),
    /// with the exception's changes and deletions, its own id, OriginalStart and type.
    func occurrenceItem(_ master: SimItem, _ original: Date) -> SimItem {
        func element(_ name: String, _ text: String) -> XMLElement {
            XMLElement(name: name, namespace: EWSNamespace.types, text: text)
        }
        let exception = master.exceptions[original]
        let deleted = exception?.deleted ?? []
        var properties = master.properties.filter {
            !Self.seriesOnly.contains($0.name) && $0.name != "Start" && $0.name != "End"
                && !deleted.contains(Self.propertyKey($0))
        }
        properties.append(element("Start", EWSDate.format(original)))
        properties.append(element("End", EWSDate.format(original.addingTimeInterval(duration(master)))))
        for changed in exception?.properties ?? [] {
            let key = Self.propertyKey(changed)
            properties.removeAll { Self.propertyKey($0) == key }
            properties.append(changed)
        }
        properties.append(element("OriginalStart", EWSDate.format(original)))
        var occurrence = master
        occurrence.id = exception?.id ?? SimIDs.occurrence(master: master.id, original: original)
        occurrence.occurrenceType = exception == nil ? "Occurrence" : "Exception"
        occurrence.properties = catalog.sorted(properties, ofItem: "CalendarItem")
        occurrence.exceptions = [:]
        occurrence.deletedOccurrences = []
        return occurrence
    }

    /// FindItem with a CalendarView: single items and the occurrences of series that overlap the
    /// range, by start; at most MaxEntriesReturned, the rest cut off (IncludesLastItemInRange false).
    func calendarView(
        _ view: XMLElement, shape: Shape, parents: [XMLElement], _ context: Context
    ) throws -> Data {
        let rangeStart = view.attributes["StartDate"].flatMap(EWSDate.parse)
        let rangeEnd = view.attributes["EndDate"].flatMap(EWSDate.parse)
        let limit = view.attributes["MaxEntriesReturned"].flatMap { Int($0) } ?? Int.max
        return SimWriter.operation(
            "FindItem",
            perItem(parents, operation: "FindItem", container: nil) { reference, _ in
                guard let rangeStart, let rangeEnd else {
                    throw SimItemError(code: "ErrorInvalidRequest", message: "The request is invalid.")
                }
                guard rangeEnd >= rangeStart else {
                    throw SimItemError(
                        code: "ErrorCalendarEndDateIsEarlierThanStartDate",
                        message: "EndDate is earlier than StartDate")
                }
                let (mailbox, folder) = try self.folder(reference, context)
                func span(_ item: SimItem) -> (Date, Date)? {
                    guard let start = self.property(item, "Start").flatMap({ EWSDate.parse($0.text) }) else {
                        return nil
                    }
                    return (start, self.property(item, "End").flatMap { EWSDate.parse($0.text) } ?? start)
                }
                var entries: [(start: Date, item: SimItem)] = []
                for item in mailbox.items.values where item.folderID == folder.id && item.elementName == "CalendarItem"
                {
                    let shown =
                        self.property(item, "Recurrence") == nil
                        ? [item]
                        : self.occurrenceStarts(item).filter { !item.deletedOccurrences.contains($0) }.map {
                            self.occurrenceItem(item, $0)
                        }
                    for entry in shown {
                        // Ends after the range starts (or is a point at its start), starts before it ends.
                        guard let (start, end) = span(entry), start < rangeEnd,
                            end > rangeStart || start == rangeStart
                        else { continue }
                        entries.append((start, entry))
                    }
                }
                entries.sort { ($0.start, $0.item.id) < ($1.start, $1.item.id) }
                let page = entries.prefix(limit)
                return { w in
                    w.element(
                        "m:RootFolder",
                        [
                            ("TotalItemsInView", "\(entries.count)"),
                            ("IncludesLastItemInRange", page.count == entries.count ? "true" : "false"),
                        ]
                    ) { w in
                        w.element("t:Items") { w in
                            for entry in page { self.writeItem(entry.item, mailbox, shape: shape, findItem: true, &w) }
                        }
                    }
                }
            })
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
    /// As on Exchange 2010, an occurrence takes what an item takes (Subject, Body, Start, End,
    /// StartTimeZone, EndTimeZone or 2007's MeetingTimeZone, Location, reminders, free/busy,
    /// Categories, extended properties …) except the series' pattern and UID; a changed Start or
    /// End is kept in UTC, as Exchange returns it.
    func updateOccurrence(_ mailbox: SimMailbox, _ master: SimItem, _ original: Date, _ updates: [XMLElement]) throws
        -> String
    {
        var master = master
        var exception =
            master.exceptions[original]
            ?? SimOccurrence(
                id: SimIDs.occurrence(master: master.id, original: original), originalStart: original, properties: [])
        for update in updates {
            guard let pathElement = update.children.first, let path = PropertyPath(pathElement) else {
                throw SimItemError(code: "ErrorInvalidPropertyRequest", message: "The property path is not valid.")
            }
            if case .field(let name) = path {
                let uri = pathElement.attributes["FieldURI"]
                if Self.seriesFields.contains(name) {
                    throw SimItemError(
                        code: "ErrorInvalidPropertyForOperation",
                        message: "This property can't be changed on an occurrence.", fieldURI: uri)
                }
                if Self.computedFields.contains(name) || Self.computedCalendarFields.contains(name) {
                    throw SimItemError(
                        code: "ErrorInvalidPropertySet", message: "Set action is invalid for property.", fieldURI: uri)
                }
            }
            switch update.name {
            case "SetItemField", "AppendToItemField":
                guard let payload = update.children.dropFirst().first, payload.children.count == 1,
                    let given = payload.children.first
                else {
                    throw SimItemError(
                        code: "ErrorIncorrectUpdatePropertyCount",
                        message:
                            "An object within a change description must contain one and only one property to modify.")
                }
                var value = catalog.canonicalBooleans([given])[0]
                if value.name == "Start" || value.name == "End", let date = EWSDate.parse(value.text) {
                    value.text = EWSDate.format(date)
                }
                if update.name == "AppendToItemField",
                    let existing = path.extract(from: occurrenceItem(master, original).properties)
                {
                    value.text = existing.text + value.text
                }
                path.set(value, in: &exception.properties, catalog: catalog, itemElement: "CalendarItem")
                exception.deleted.remove(path.key)
            case "DeleteItemField":
                path.delete(from: &exception.properties)
                exception.deleted.insert(path.key)
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
