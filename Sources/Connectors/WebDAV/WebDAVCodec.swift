import ConnectorAPI
import ExchangeWebDAV
import Foundation
import ICalendar

/// Records ↔ Exchange 2003/2007's WebDAV properties. Contacts and tasks are properties only
/// (written with PROPPATCH); appointments are iCalendar (PUT as MIME, read back from the item's
/// internet content or its MIME); mails are read from their properties.
struct WebDAVCodec: Sendable {
    /// The server's zone: all-day appointments are kept as its local midnights.
    let zone: TimeZone

    // MARK: Property names

    static let contactFields: [(field: String, property: String)] = [
        ("title", DAVNamespace.contacts + "personaltitle"), ("givenName", DAVNamespace.contacts + "givenName"),
        ("middleName", DAVNamespace.contacts + "middlename"), ("familyName", DAVNamespace.contacts + "sn"),
        ("company", DAVNamespace.contacts + "o"), ("department", DAVNamespace.contacts + "department"),
        ("jobTitle", DAVNamespace.contacts + "title"), ("webPage", DAVNamespace.contacts + "businesshomepage"),
        ("notes", DAVProperty.textDescription),
    ]
    static let salutation = DAVNamespace.publicStrings + "connector-salutation"
    static let phoneProperties: [(PhoneKind, String)] = [
        (PhoneKind.business, "telephoneNumber"), (.business2, "telephonenumber2"), (.home, "homePhone"),
        (.home2, "homephone2"), (.mobile, "mobile"), (.businessFax, "facsimiletelephonenumber"),
        (.assistant, "secretaryphone"), (.car, "othermobile"), (.pager, "pager"), (.other, "otherTelephone"),
    ].map { (kind: PhoneKind, name: String) in (kind, DAVNamespace.contacts + name) }
    /// Street, postal code, city, state, country per address field.
    static let addressProperties: [(field: String, names: [String])] = [
        ("businessAddress", ["street", "postalcode", "l", "st", "co"]),
        ("homeAddress", ["homeStreet", "homePostalCode", "homeCity", "homeState", "homeCountry"]),
        ("otherAddress", ["otherstreet", "otherpostalcode", "othercity", "otherstate", "othercountry"]),
    ].map { (field: String, names: [String]) in (field, names.map { DAVNamespace.contacts + $0 }) }
    /// Written by their friendly names; answers name them as PSETID_Address's named properties.
    static func emailProperty(_ index: Int) -> String { DAVNamespace.mapi + "email\(index)emailaddress" }
    static func emailTypeProperty(_ index: Int) -> String { DAVNamespace.mapi + "email\(index)addrtype" }
    static func emailDisplayProperty(_ index: Int) -> String {
        DAVNamespace.mapi + "email\(index)originaldisplayname"
    }
    /// PSETID_Address's e-mail addresses, as Outlook and DavMail set them.
    static let emailIDs = [0x8083, 0x8093, 0x80A3].map { DAVNamespace.addressSet + String(format: "0x%04x", $0) }
    static let birthday = DAVNamespace.contacts + "bday"

    static let bookkeeping: [String] = [
        DAVProperty.getETag, DAVProperty.getLastModified, DAVProperty.syncKey, DAVProperty.messageClass,
    ]

    /// The properties to read for a kind.
    static func properties(for kind: DataKind) -> [String] {
        var names = bookkeeping + [DAVProperty.subject, DAVProperty.keywords]
        switch kind {
        case .address:
            names += contactFields.map(\.property) + [salutation, birthday]
            names += phoneProperties.map(\.1) + addressProperties.flatMap(\.names)
            names += emailIDs
        case .task:
            names += [
                DAVProperty.textDescription, DAVProperty.taskStatus, DAVProperty.taskPercentComplete,
                DAVProperty.taskStartDate, DAVProperty.taskDueDate, DAVProperty.taskDateCompleted,
                DAVProperty.taskComplete, DAVProperty.importance, DAVProperty.reminderSet, DAVProperty.reminderTime,
            ]
        case .calendar:
            names += [
                DAVProperty.dtStart, DAVProperty.dtEnd, DAVProperty.location, DAVProperty.allDayEvent,
                DAVProperty.busyStatus, DAVProperty.instanceType, DAVProperty.calendarUID, DAVProperty.textDescription,
                DAVProperty.reminderSet, DAVProperty.reminderDelta, DAVProperty.sensitivity, DAVProperty.timezoneID,
            ]
        case .mail:
            names += [
                DAVProperty.from, DAVProperty.fromEmail, DAVProperty.fromName, DAVProperty.to, DAVProperty.cc,
                DAVProperty.date, DAVProperty.dateReceived, DAVProperty.read, DAVProperty.hasAttachment,
                DAVProperty.messageID, DAVProperty.inReplyTo, DAVProperty.references, DAVProperty.textDescription,
                DAVProperty.htmlDescription,
            ]
        }
        return names
    }

    /// The message classes of a kind's items, for SEARCH's WHERE.
    static func messageClassCondition(for kind: DataKind) -> String {
        let name = ExchangeSQL.name(DAVProperty.messageClass)
        switch kind {
        case .address: return "\(name) = 'IPM.Contact'"
        case .task: return "\(name) = 'IPM.Task'"
        case .calendar: return "(\(name) = 'IPM.Appointment' OR \(name) LIKE 'IPM.Appointment.%')"
        case .mail: return "\(name) LIKE 'IPM.Note%'"
        }
    }

    // MARK: Contacts

    func address(_ p: [String: DAVValue]) -> Address {
        var address = Address()
        func text(_ name: String) -> String? {
            guard let value = p[name]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                return nil
            }
            return value
        }
        address.salutation = text(Self.salutation)
        address.title = text(Self.contactFields[0].property)
        address.givenName = text(DAVNamespace.contacts + "givenName")
        address.middleName = text(DAVNamespace.contacts + "middlename")
        address.familyName = text(DAVNamespace.contacts + "sn")
        address.company = text(DAVNamespace.contacts + "o")
        address.department = text(DAVNamespace.contacts + "department")
        address.jobTitle = text(DAVNamespace.contacts + "title")
        address.webPage = text(DAVNamespace.contacts + "businesshomepage")
        address.notes = p[DAVProperty.textDescription]?.string.flatMap { $0.isEmpty ? nil : $0 }
        for index in 1...3 {
            if let email = text(DAVPropertyName.canonical(Self.emailProperty(index))) ?? text(Self.emailIDs[index - 1])
            {
                address.emails.append(email)
            }
        }
        for (kind, name) in Self.phoneProperties { if let phone = text(name) { address.phones[kind] = phone } }
        for (field, names) in Self.addressProperties {
            let postal = PostalAddress(
                street: text(names[0]), postalCode: text(names[1]), city: text(names[2]), state: text(names[3]),
                country: text(names[4]))
            guard postal != PostalAddress() else { continue }
            switch field {
            case "businessAddress": address.businessAddress = postal
            case "homeAddress": address.homeAddress = postal
            default: address.otherAddress = postal
            }
        }
        if let birthday = p[Self.birthday]?.date { address.birthday = localDate(birthday) }
        address.categories = p[DAVProperty.keywords]?.strings ?? []
        return address
    }

    /// PROPPATCH sets and removals for a contact; `fields` limits an update (nil: a create).
    func contactChanges(_ address: Address, fields: Set<String>?) -> (set: [(String, DAVValue)], remove: [String]) {
        var set: [(String, DAVValue)] = []
        var remove: [String] = []
        func wants(_ field: String) -> Bool { fields?.contains(field) ?? true }
        func put(_ name: String, _ value: String?) {
            if let value, !value.isEmpty {
                set.append((name, .string(value)))
            } else if fields != nil {
                remove.append(name)
            }
        }
        let values: [String: String?] = [
            "title": address.title, "givenName": address.givenName, "middleName": address.middleName,
            "familyName": address.familyName, "company": address.company, "department": address.department,
            "jobTitle": address.jobTitle, "webPage": address.webPage, "notes": address.notes,
        ]
        for (field, name) in Self.contactFields where wants(field) { put(name, values[field] ?? nil) }
        if wants("salutation") { put(Self.salutation, address.salutation) }
        if wants("emails") {
            for index in 1...3 {
                let email = index <= address.emails.count ? address.emails[index - 1] : nil
                put(Self.emailProperty(index), email)
                // Outlook, BlackBerry and DavMail show the address by its original display name.
                put(Self.emailDisplayProperty(index), email)
                if email != nil { set.append((Self.emailTypeProperty(index), .string("SMTP"))) }
            }
        }
        if wants("phones") { for (kind, name) in Self.phoneProperties { put(name, address.phones[kind]) } }
        for (field, names) in Self.addressProperties where wants(field) {
            let postal: PostalAddress? =
                switch field {
                case "businessAddress": address.businessAddress
                case "homeAddress": address.homeAddress
                default: address.otherAddress
                }
            for (name, value) in zip(
                names, [postal?.street, postal?.postalCode, postal?.city, postal?.state, postal?.country])
            {
                put(name, value)
            }
        }
        if wants("birthday") {
            // Noon UTC: the same date in every zone a client may show it in.
            if let birthday = address.birthday {
                set.append((Self.birthday, .date(utcNoon(birthday))))
            } else if fields != nil {
                remove.append(Self.birthday)
            }
        }
        if wants("categories") {
            if address.categories.isEmpty {
                if fields != nil { remove.append(DAVProperty.keywords) }
            } else {
                set.append((DAVProperty.keywords, .strings(address.categories)))
            }
        }
        // What Outlook shows: the display name, file-as and subject follow the name fields.
        if fields == nil || !(fields ?? []).isDisjoint(with: ["givenName", "familyName", "company", "middleName"]) {
            let name = address.displayName
            set.append((DAVNamespace.contacts + "cn", .string(name)))
            set.append((DAVProperty.subject, .string(name)))
            let fileAs = [address.familyName, address.givenName].compactMap { $0 }.joined(separator: ", ")
            set.append((DAVNamespace.contacts + "fileas", .string(fileAs.isEmpty ? name : fileAs)))
        }
        if fields == nil { set.append((DAVProperty.messageClass, .string("IPM.Contact"))) }
        return (set, remove)
    }

    // MARK: Tasks

    func task(_ p: [String: DAVValue]) -> TaskItem {
        var task = TaskItem(subject: p[DAVProperty.subject]?.string ?? "")
        task.body = p[DAVProperty.textDescription]?.string.flatMap { $0.isEmpty ? nil : $0 }
        // PSETID_Task's dates are the local date at 00:00 UTC.
        task.startDate = p[DAVProperty.taskStartDate]?.date.map(utcDate)
        task.dueDate = p[DAVProperty.taskDueDate]?.date.map(utcDate)
        task.status =
            switch p[DAVProperty.taskStatus]?.int ?? 0 {
            case 1: .inProgress
            case 2: .completed
            case 3: .waitingOnOthers
            case 4: .deferred
            default: p[DAVProperty.taskComplete]?.bool == true ? .completed : .notStarted
            }
        if let fraction = p[DAVProperty.taskPercentComplete]?.double {
            task.percentComplete = max(0, min(100, Int((fraction * 100).rounded())))
        }
        task.completedAt = p[DAVProperty.taskDateCompleted]?.date
        task.importance =
            switch p[DAVProperty.importance]?.string?.lowercased() {
            case "high", "2": .high
            case "low", "0": .low
            default: .normal
            }
        if p[DAVProperty.reminderSet]?.bool == true { task.reminderAt = p[DAVProperty.reminderTime]?.date }
        task.categories = p[DAVProperty.keywords]?.strings ?? []
        return task
    }

    func taskChanges(_ task: TaskItem, fields: Set<String>?) -> (set: [(String, DAVValue)], remove: [String]) {
        var set: [(String, DAVValue)] = []
        var remove: [String] = []
        func wants(_ field: String) -> Bool { fields?.contains(field) ?? true }
        func put(_ name: String, _ value: DAVValue?) {
            if let value { set.append((name, value)) } else if fields != nil { remove.append(name) }
        }
        if wants("subject") { set.append((DAVProperty.subject, .string(task.subject))) }
        if wants("body") { put(DAVProperty.textDescription, task.body.flatMap { $0.isEmpty ? nil : .string($0) }) }
        if wants("startDate") {
            put(DAVProperty.taskStartDate, task.startDate.map { .date(utcMidnight($0)) })
            put(DAVProperty.commonStart, task.startDate.map { .date(localMidnight($0)) })
        }
        if wants("dueDate") {
            put(DAVProperty.taskDueDate, task.dueDate.map { .date(utcMidnight($0)) })
            put(DAVProperty.commonEnd, task.dueDate.map { .date(localMidnight($0)) })
        }
        if wants("status") {
            let code =
                switch task.status {
                case .notStarted: 0
                case .inProgress: 1
                case .completed: 2
                case .waitingOnOthers: 3
                case .deferred: 4
                }
            set.append((DAVProperty.taskStatus, .int(code)))
            set.append((DAVProperty.taskComplete, .bool(task.status == .completed)))
        }
        if wants("percentComplete") {
            set.append((DAVProperty.taskPercentComplete, .float(Double(task.percentComplete) / 100)))
        }
        if wants("completedAt") { put(DAVProperty.taskDateCompleted, task.completedAt.map(DAVValue.date)) }
        if wants("importance") { set.append((DAVProperty.importance, .string(task.importance.rawValue))) }
        if wants("reminderAt") {
            set.append((DAVProperty.reminderSet, .bool(task.reminderAt != nil)))
            put(DAVProperty.reminderTime, task.reminderAt.map(DAVValue.date))
        }
        if wants("categories") {
            put(DAVProperty.keywords, task.categories.isEmpty ? nil : .strings(task.categories))
        }
        if fields == nil {
            set.append((DAVProperty.messageClass, .string("IPM.Task")))
            set.append((DAVProperty.contentClass, .string("urn:content-classes:task")))
        }
        return (set, remove)
    }

    // MARK: Appointments

    /// The MIME an appointment is PUT as.
    func appointmentMIME(_ event: CalendarEvent, uid: String) -> Data {
        let calendar = ICalendarEvent.write(event, uid: uid, stamp: Date(), method: "PUBLISH")
        return DAVMIME.appointment(calendar: calendar, subject: event.subject, description: event.body, date: Date())
    }

    /// An appointment from its iCalendar.
    func event(calendar text: String) throws -> (event: CalendarEvent, uid: String?) {
        let parsed = try ICalendarEvent.read(text, defaultZone: zone)
        return (parsed.event, parsed.uid)
    }

    // MARK: Mail

    func mail(_ p: [String: DAVValue], attachments: [MailAttachment], folder: MailFolder) -> MailMessage {
        var message = MailMessage(subject: p[DAVProperty.subject]?.string ?? "")
        message.messageID = p[DAVProperty.messageID]?.string
        message.inReplyTo = p[DAVProperty.inReplyTo]?.string
        message.references = (p[DAVProperty.references]?.string ?? "").split(whereSeparator: \.isWhitespace).map(
            String.init)
        if let email = p[DAVProperty.fromEmail]?.string, !email.isEmpty {
            message.from = MailAddress(name: p[DAVProperty.fromName]?.string, email: email)
        } else if let from = p[DAVProperty.from]?.string {
            message.from = Self.addresses(from).first
        }
        message.to = Self.addresses(p[DAVProperty.to]?.string ?? "")
        message.cc = Self.addresses(p[DAVProperty.cc]?.string ?? "")
        message.sentAt = p[DAVProperty.date]?.date
        message.receivedAt = p[DAVProperty.dateReceived]?.date
        message.textBody = p[DAVProperty.textDescription]?.string
        message.htmlBody = p[DAVProperty.htmlDescription]?.string
        message.isRead = p[DAVProperty.read]?.bool ?? false
        message.attachments = attachments
        message.folder = folder
        return message
    }

    /// `"Ann Lee" <ann@example.com>, bob@example.com` → addresses (commas inside quotes kept).
    static func addresses(_ text: String) -> [MailAddress] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var angle = false
        for character in text {
            switch character {
            case "\"": quoted.toggle()
            case "<": angle = true
            case ">": angle = false
            case ",",
                ";" where !quoted && !angle:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        parts.append(current)
        return parts.compactMap { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return nil }
            if let open = trimmed.lastIndex(of: "<"), let close = trimmed.lastIndex(of: ">"), open < close {
                var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                    name = String(name.dropFirst().dropLast())
                }
                return MailAddress(
                    name: name.isEmpty ? nil : name, email: String(trimmed[trimmed.index(after: open)..<close]))
            }
            return MailAddress(email: trimmed)
        }
    }

    // MARK: Dates

    var gregorian: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    func localDate(_ date: Date) -> LocalDate {
        let parts = gregorian.dateComponents([.year, .month, .day], from: date)
        return LocalDate(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    func utcDate(_ date: Date) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return LocalDate(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    func utcMidnight(_ date: LocalDate) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day)) ?? Date()
    }

    func utcNoon(_ date: LocalDate) -> Date { utcMidnight(date).addingTimeInterval(12 * 3600) }

    func localMidnight(_ date: LocalDate) -> Date {
        gregorian.date(from: DateComponents(year: date.year, month: date.month, day: date.day)) ?? Date()
    }
}
