import ConnectorAPI
import EWS
import Foundation
import XML

/// An item read from Exchange.
struct EWSItem: Sendable {
    var id: String
    var changeKey: String
    var record: Record
    var modified: Date?
    var syncKey: SyncKey?
    /// For a series: its changed occurrences' ids and original starts.
    var occurrences: [(id: String, original: Date)] = []

    var state: ItemState {
        ItemState(id: id, version: changeKey, record: record, modifiedAt: modified, syncKey: syncKey)
    }
}

extension EWSRecordCodec {
    func extended(_ item: XMLElement, _ property: Extended) -> String? {
        item.children("ExtendedProperty").first { $0.child("ExtendedFieldURI").map(property.matches) ?? false }?.string(
            "Value")
    }

    func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }

    func date(_ item: XMLElement, _ name: String) -> Date? { item.string(name).flatMap(EWSDate.parse) }

    func mailbox(_ element: XMLElement?) -> MailAddress? {
        guard let box = element?.child("Mailbox") ?? element, let email = box.string("EmailAddress") else { return nil }
        return MailAddress(name: nonEmpty(box.string("Name")), email: email)
    }

    func mailboxes(_ element: XMLElement?) -> [MailAddress] {
        (element?.children("Mailbox") ?? []).compactMap { mailbox($0) }
    }

    /// Reads an item element of `kind`.
    func decode(_ item: XMLElement, kind: DataKind) throws -> EWSItem {
        guard let reference = item.child("ItemId"), let id = reference.attributes["Id"] else {
            throw EWSError.protocolError("an item without ItemId in the response")
        }
        let categories = item.child("Categories")?.children("String").map(\.text) ?? []
        let body = nonEmpty(item.string("Body"))
        let record: Record
        switch kind {
        case .address:
            var phones: [PhoneKind: String] = [:]
            for entry in item.child("PhoneNumbers")?.children("Entry") ?? [] {
                if let kind = Self.phoneKeys.first(where: { $0.1 == entry.attributes["Key"] })?.0,
                    let number = nonEmpty(entry.text)
                {
                    phones[kind] = number
                }
            }
            var addresses: [String: PostalAddress] = [:]
            for entry in item.child("PhysicalAddresses")?.children("Entry") ?? [] {
                guard let key = entry.attributes["Key"] else { continue }
                let address = PostalAddress(
                    street: nonEmpty(entry.string("Street")), postalCode: nonEmpty(entry.string("PostalCode")),
                    city: nonEmpty(entry.string("City")),
                    state: nonEmpty(entry.string("State")), country: nonEmpty(entry.string("CountryOrRegion")))
                if address != PostalAddress() { addresses[key] = address }
            }
            let emails = (item.child("EmailAddresses")?.children("Entry") ?? [])
                .sorted { ($0.attributes["Key"] ?? "") < ($1.attributes["Key"] ?? "") }.compactMap { nonEmpty($0.text) }
            let birthday = item.string("Birthday").flatMap(EWSDate.parseDate).map(Self.local)
            let given = nonEmpty(item.string("GivenName"))
            let middle = nonEmpty(item.string("MiddleName"))
            let family = nonEmpty(item.string("Surname"))
            let title =
                extended(item, Self.title)
                ?? Self.title(inDisplayName: item.string("DisplayName"), given: given, middle: middle, family: family)
            record = .address(
                Address(
                    salutation: extended(item, Self.salutation), title: title, givenName: given,
                    middleName: middle, familyName: family,
                    company: nonEmpty(item.string("CompanyName")), department: nonEmpty(item.string("Department")),
                    jobTitle: nonEmpty(item.string("JobTitle")), emails: emails, phones: phones,
                    businessAddress: addresses["Business"],
                    homeAddress: addresses["Home"], otherAddress: addresses["Other"], birthday: birthday,
                    webPage: nonEmpty(item.string("BusinessHomePage")), notes: body, categories: categories))
        case .calendar:
            guard let start = date(item, "Start"), let end = date(item, "End") else {
                throw EWSError.protocolError("calendar item \(id) has no Start or End")
            }
            let zoneID = item.child("StartTimeZone")?.attributes["Id"]
            let eventZone = zoneID.flatMap(WindowsZones.zone(forWindows:)) ?? zone
            let timing: EventTiming =
                item.string("IsAllDayEvent") == "true"
                ? .allDay(
                    start: Self.local(LocalDateParts(start, in: eventZone)),
                    endExclusive: Self.local(LocalDateParts(end, in: eventZone)))
                : .timed(start: start, end: end, timeZone: eventZone.identifier)
            var attendees: [Attendee] = []
            for (name, role) in [
                ("RequiredAttendees", Attendee.Role.required), ("OptionalAttendees", .optional),
                ("Resources", .resource),
            ] {
                for attendee in item.child(name)?.children("Attendee") ?? [] {
                    if let box = mailbox(attendee.child("Mailbox")) {
                        attendees.append(Attendee(email: box.email, name: box.name, role: role))
                    }
                }
            }
            var recurrence = item.child("Recurrence").flatMap(EWSRecurrence.init).map(Self.recurrence)
            if recurrence != nil {
                recurrence?.modifiedOccurrences = (item.child("ModifiedOccurrences")?.children("Occurrence") ?? [])
                    .compactMap { occurrence in
                        guard let original = date(occurrence, "OriginalStart"), let start = date(occurrence, "Start"),
                            let end = date(occurrence, "End")
                        else { return nil }
                        return OccurrenceException(originalStart: original, start: start, end: end)
                    }
                recurrence?.deletedOccurrences = (item.child("DeletedOccurrences")?.children("DeletedOccurrence") ?? [])
                    .compactMap { date($0, "Start") }
            }
            let busy: BusyStatus =
                switch item.string("LegacyFreeBusyStatus") {
                case "Free"?: .free
                case "Tentative"?: .tentative
                case "OOF"?: .outOfOffice
                default: .busy
                }
            record = .calendar(
                CalendarEvent(
                    subject: item.string("Subject") ?? "", location: nonEmpty(item.string("Location")), body: body,
                    timing: timing,
                    reminderMinutes: item.string("ReminderIsSet") == "true"
                        ? Int(item.string("ReminderMinutesBeforeStart") ?? "15") : nil,
                    busyStatus: busy, isPrivate: item.string("Sensitivity") == "Private", categories: categories,
                    organizer: mailbox(item.child("Organizer")).map {
                        Attendee(email: $0.email, name: $0.name, response: .organizer)
                    },
                    attendees: attendees, recurrence: recurrence))
        case .task:
            let status: TaskStatus =
                switch item.string("Status") {
                case "InProgress"?: .inProgress
                case "Completed"?: .completed
                case "WaitingOnOthers"?: .waitingOnOthers
                case "Deferred"?: .deferred
                default: .notStarted
                }
            let importance: Importance =
                switch item.string("Importance") {
                case "High"?: .high
                case "Low"?: .low
                default: .normal
                }
            record = .task(
                TaskItem(
                    subject: item.string("Subject") ?? "", body: body,
                    startDate: date(item, "StartDate").map { Self.local(LocalDateParts($0, in: zone)) },
                    dueDate: date(item, "DueDate").map { Self.local(LocalDateParts($0, in: zone)) }, status: status,
                    percentComplete: Int(item.string("PercentComplete") ?? "0").map { Int($0) } ?? 0,
                    completedAt: status == .completed ? date(item, "CompleteDate") : nil, importance: importance,
                    reminderAt: item.string("ReminderIsSet") == "true" ? date(item, "ReminderDueBy") : nil,
                    categories: categories,
                    recurrence: item.child("Recurrence").flatMap(EWSRecurrence.init).map(Self.recurrence)))
        case .mail:
            let html = item.child("Body")?.attributes["BodyType"] == "HTML"
            // Files as they are; an attached item (a forwarded mail, say) as its MIME form, an .eml file.
            let attachments = (item.child("Attachments")?.children ?? []).compactMap {
                attachment -> MailAttachment? in
                guard attachment.name == "FileAttachment" || attachment.name == "ItemAttachment",
                    let attachmentID = attachment.child("AttachmentId")?.attributes["Id"]
                else { return nil }
                let isItem = attachment.name == "ItemAttachment"
                return MailAttachment(
                    name: isItem
                        ? Self.emlName(attachment.string("Name")) : (attachment.string("Name") ?? "attachment"),
                    mediaType: isItem
                        ? "message/rfc822"
                        : (nonEmpty(attachment.string("ContentType")) ?? "application/octet-stream"),
                    size: Int64(attachment.string("Size") ?? "") ?? 0,
                    contentID: isItem ? nil : nonEmpty(attachment.string("ContentId")),
                    content: .reference(Self.attachmentReference + attachmentID))
            }
            record = .mail(
                MailMessage(
                    messageID: item.string("InternetMessageId"), inReplyTo: item.string("InReplyTo"),
                    references: (item.string("References") ?? "").split(whereSeparator: \.isWhitespace).map(
                        String.init),
                    from: mailbox(item.child("From")) ?? mailbox(item.child("Sender")),
                    to: mailboxes(item.child("ToRecipients")), cc: mailboxes(item.child("CcRecipients")),
                    bcc: mailboxes(item.child("BccRecipients")), subject: item.string("Subject") ?? "",
                    sentAt: date(item, "DateTimeSent"),
                    receivedAt: date(item, "DateTimeReceived"),
                    textBody: html ? body.map(MailText.plain(fromHTML:)) : body,
                    htmlBody: html ? body.map(MailText.declaringUTF8) : nil, attachments: attachments,
                    isRead: item.string("IsRead") == "true"))
        }
        let occurrences = (item.child("ModifiedOccurrences")?.children("Occurrence") ?? []).compactMap {
            occurrence -> (id: String, original: Date)? in
            guard let occurrenceID = occurrence.child("ItemId")?.attributes["Id"],
                let original = date(occurrence, "OriginalStart")
            else { return nil }
            return (occurrenceID, original)
        }
        return EWSItem(
            id: id, changeKey: reference.attributes["ChangeKey"] ?? "", record: record,
            modified: date(item, "LastModifiedTime"),
            syncKey: extended(item, Self.syncKey).map(SyncKey.init(rawValue:)), occurrences: occurrences)
    }
}

/// Errors of the EWS adapter.
enum EWSError: Error, CustomStringConvertible, Sendable {
    case protocolError(String)
    var description: String {
        switch self {
        case .protocolError(let message): "unexpected EWS response: \(message)"
        }
    }
}
