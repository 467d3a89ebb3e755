import ConnectorAPI
import EWS
import Foundation
import XML

/// Canonical records ↔ EWS items (Contact, CalendarItem, Task, Message), in schema order.
struct EWSRecordCodec: Sendable {
    /// Zone for all-day events and task dates when a record does not name one.
    let zone: TimeZone

    static func elementName(_ kind: DataKind) -> String {
        switch kind {
        case .address: "Contact"
        case .calendar: "CalendarItem"
        case .task: "Task"
        case .mail: "Message"
        }
    }

    static func distinguishedFolder(_ kind: DataKind) -> String {
        switch kind {
        case .address: "contacts"
        case .calendar: "calendar"
        case .task: "tasks"
        case .mail: "inbox"
        }
    }

    static func folderClass(_ kind: DataKind) -> String {
        switch kind {
        case .address: "IPF.Contact"
        case .calendar: "IPF.Appointment"
        case .task: "IPF.Task"
        case .mail: "IPF.Note"
        }
    }

    // MARK: Extended properties

    struct Extended: Sendable {
        var attributes: [(String, String)]
        /// The attribute set as compared, to recognise the property in responses.
        var key: String { Self.key(attributes) }
        func matches(_ uri: XMLElement) -> Bool { Self.key(uri.attributes.map { ($0.key, $0.value) }) == key }
        /// Attributes compared case-insensitively, and a PropertyTag by its number: Exchange answers
        /// "0xe07" for a property asked for as "0x0E07" (or "3591").
        static func key(_ attributes: [(String, String)]) -> String {
            attributes.map { name, value in
                let text = value.lowercased()
                guard name == "PropertyTag" else { return "\(name)=\(text)" }
                let number = text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
                return "\(name)=" + (number.map { "0x" + String($0, radix: 16) } ?? text)
            }.sorted().joined(separator: ";")
        }
        func writeURI(_ w: inout XMLWriter) {
            w.start("t:ExtendedFieldURI", attributes)
            w.end()
        }
        func write(_ value: String, _ w: inout XMLWriter) {
            w.element("t:ExtendedProperty") { w in
                writeURI(&w)
                w.element("t:Value", value)
            }
        }
    }

    static let syncKey = Extended(attributes: [
        ("PropertySetId", EWSPropertySet.id), ("PropertyName", EWSPropertySet.syncKey), ("PropertyType", "String"),
    ])
    static let salutation = Extended(attributes: [
        ("PropertySetId", EWSPropertySet.id), ("PropertyName", EWSPropertySet.salutation), ("PropertyType", "String"),
    ])
    /// PR_DISPLAY_NAME_PREFIX: the contact's title ("Dr.").
    static let title = Extended(attributes: [("PropertyTag", "0x3A45"), ("PropertyType", "String")])

    // MARK: Property paths read back

    static func fieldURIs(_ kind: DataKind) -> [String] {
        let item = ["item:Subject", "item:Body", "item:Categories", "item:LastModifiedTime"]
        switch kind {
        case .address:
            return item + [
                "contacts:DisplayName", "contacts:GivenName", "contacts:MiddleName", "contacts:Surname",
                "contacts:CompanyName",
                "contacts:Department",
                "contacts:JobTitle", "contacts:EmailAddresses", "contacts:PhoneNumbers", "contacts:PhysicalAddresses",
                "contacts:Birthday", "contacts:BusinessHomePage",
            ]
        case .calendar:
            return item + [
                "item:Sensitivity", "item:ReminderIsSet", "item:ReminderMinutesBeforeStart", "calendar:Start",
                "calendar:End",
                "calendar:IsAllDayEvent", "calendar:LegacyFreeBusyStatus", "calendar:Location", "calendar:Organizer",
                "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources", "calendar:Recurrence",
                "calendar:ModifiedOccurrences", "calendar:DeletedOccurrences", "calendar:StartTimeZone",
                "calendar:IsRecurring",
            ]
        case .task:
            return item + [
                "item:Importance", "item:ReminderIsSet", "item:ReminderDueBy", "task:CompleteDate", "task:DueDate",
                "task:PercentComplete", "task:Recurrence", "task:StartDate", "task:Status",
            ]
        case .mail:
            return item + [
                "item:DateTimeReceived", "item:DateTimeSent", "item:InReplyTo", "item:Attachments", "item:IsDraft",
                "message:From", "message:ToRecipients", "message:CcRecipients", "message:BccRecipients",
                "message:InternetMessageId", "message:IsRead", "message:References",
            ]
        }
    }

    /// `t:AdditionalProperties` content for reading items of a kind.
    static func writeAdditionalProperties(_ kind: DataKind, _ w: inout XMLWriter) {
        w.element("t:AdditionalProperties") { w in
            for uri in fieldURIs(kind) {
                w.start("t:FieldURI", [("FieldURI", uri)])
                w.end()
            }
            syncKey.writeURI(&w)
            if kind == .address {
                salutation.writeURI(&w)
                title.writeURI(&w)
            }
        }
    }

    // MARK: Writing whole items

    static let phoneKeys: [(PhoneKind, String)] = [
        (.business, "BusinessPhone"), (.business2, "BusinessPhone2"), (.home, "HomePhone"), (.home2, "HomePhone2"),
        (.mobile, "MobilePhone"), (.businessFax, "BusinessFax"), (.assistant, "AssistantPhone"), (.car, "CarPhone"),
        (.pager, "Pager"), (.other, "OtherTelephone"),
    ]

    /// Writes the item for CreateItem.
    func writeItem(_ record: Record, syncKey: SyncKey?, _ w: inout XMLWriter) {
        switch record {
        case .address(let a): writeContact(a, syncKey: syncKey, &w)
        case .calendar(let e): writeCalendarItem(e, syncKey: syncKey, &w)
        case .task(let t): writeTask(t, syncKey: syncKey, &w)
        case .mail(let m): writeMessage(m, syncKey: syncKey, &w)
        }
    }

    func writeBody(_ text: String?, html: Bool = false, _ w: inout XMLWriter) {
        guard let text else { return }
        w.element("t:Body", text, [("BodyType", html ? "HTML" : "Text")])
    }

    func writeCategories(_ categories: [String], _ w: inout XMLWriter) {
        guard !categories.isEmpty else { return }
        w.element("t:Categories") { w in for category in categories { w.element("t:String", category) } }
    }

    /// The name Outlook shows: "Dr. Änne Luise Weiß-Großmann", or the company.
    static func displayName(_ a: Address) -> String? {
        let parts = [a.title, a.givenName, a.middleName, a.familyName].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? a.company : parts.joined(separator: " ")
    }

    /// The title in front of the names in a display name, for contacts that have no
    /// PidTagDisplayNamePrefix (written by clients that set only the display name).
    static func title(inDisplayName displayName: String?, given: String?, middle: String?, family: String?) -> String? {
        guard let displayName else { return nil }
        let names = [given, middle, family].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        guard !names.isEmpty, displayName.hasSuffix(" " + names) else { return nil }
        let prefix = displayName.dropLast(names.count + 1).trimmingCharacters(in: .whitespaces)
        return prefix.isEmpty ? nil : prefix
    }

    static func fileAs(_ a: Address) -> String? {
        if let family = a.familyName {
            return [family, a.givenName].compactMap { $0 }.joined(separator: ", ")
        }
        return a.givenName ?? a.company
    }

    func writeContact(_ a: Address, syncKey: SyncKey?, _ w: inout XMLWriter) {
        w.element("t:Contact") { w in
            writeBody(a.notes, &w)
            writeCategories(a.categories, &w)
            if let syncKey { Self.syncKey.write(syncKey.rawValue, &w) }
            if let value = a.salutation { Self.salutation.write(value, &w) }
            if let value = a.title { Self.title.write(value, &w) }
            w.element("t:FileAs", ifPresent: Self.fileAs(a))
            w.element("t:DisplayName", ifPresent: Self.displayName(a))
            w.element("t:GivenName", ifPresent: a.givenName)
            w.element("t:MiddleName", ifPresent: a.middleName)
            w.element("t:CompanyName", ifPresent: a.company)
            if !a.emails.isEmpty {
                w.element("t:EmailAddresses") { w in
                    for (index, email) in a.emails.prefix(3).enumerated() {
                        w.element("t:Entry", email, [("Key", "EmailAddress\(index + 1)")])
                    }
                }
            }
            let addresses = [("Business", a.businessAddress), ("Home", a.homeAddress), ("Other", a.otherAddress)]
                .compactMap { key, value in
                    value.map { (key, $0) }
                }
            if !addresses.isEmpty {
                w.element("t:PhysicalAddresses") { w in
                    for (key, address) in addresses { writeAddressEntry(key, address, &w) }
                }
            }
            let phones = Self.phoneKeys.compactMap { kind, key in a.phones[kind].map { (key, $0) } }
            if !phones.isEmpty {
                w.element("t:PhoneNumbers") { w in
                    for (key, number) in phones { w.element("t:Entry", number, [("Key", key)]) }
                }
            }
            if let birthday = a.birthday { w.element("t:Birthday", Self.birthday(birthday)) }
            w.element("t:BusinessHomePage", ifPresent: a.webPage)
            w.element("t:Department", ifPresent: a.department)
            w.element("t:JobTitle", ifPresent: a.jobTitle)
            w.element("t:Surname", ifPresent: a.familyName)
        }
    }

    func writeAddressEntry(_ key: String, _ address: PostalAddress, only part: String? = nil, _ w: inout XMLWriter) {
        w.element("t:Entry", [("Key", key)]) { w in
            let parts: [(String, String?)] = [
                ("Street", address.street), ("City", address.city), ("State", address.state),
                ("CountryOrRegion", address.country),
                ("PostalCode", address.postalCode),
            ]
            for (name, value) in parts where part == nil || part == name { w.element("t:\(name)", ifPresent: value) }
        }
    }

    /// A birthday as EWS keeps it: the date at 11:59 UTC, the same day in every zone.
    static func birthday(_ date: LocalDate) -> String {
        String(format: "%04d-%02d-%02dT11:59:00Z", date.year, date.month, date.day)
    }

    func windowsZone(_ timing: EventTiming) -> String {
        switch timing {
        case .timed(_, _, let zone): WindowsZones.windowsID(forIANA: zone)
        case .allDay: WindowsZones.windowsID(forIANA: zone.identifier)
        }
    }

    func startEnd(_ timing: EventTiming) -> (Date, Date, Bool) {
        switch timing {
        case .timed(let start, let end, _): (start, end, false)
        case .allDay(let first, let endExclusive):
            (Self.parts(first).start(in: zone), Self.parts(endExclusive).start(in: zone), true)
        }
    }

    static func parts(_ date: LocalDate) -> LocalDateParts {
        LocalDateParts(year: date.year, month: date.month, day: date.day)
    }
    static func local(_ parts: LocalDateParts) -> LocalDate {
        LocalDate(year: parts.year, month: parts.month, day: parts.day)
    }

    static func busy(_ status: BusyStatus) -> String {
        switch status {
        case .free: "Free"
        case .tentative: "Tentative"
        case .busy, .workingElsewhere: "Busy"
        case .outOfOffice: "OOF"
        }
    }

    func writeAttendees(_ name: String, _ attendees: [Attendee], _ w: inout XMLWriter) {
        guard !attendees.isEmpty else { return }
        w.element("t:\(name)") { w in
            for attendee in attendees {
                w.element("t:Attendee") { w in
                    w.element("t:Mailbox") { w in
                        w.element("t:Name", ifPresent: attendee.name)
                        w.element("t:EmailAddress", attendee.email)
                    }
                }
            }
        }
    }

    func writeCalendarItem(_ e: CalendarEvent, syncKey: SyncKey?, _ w: inout XMLWriter) {
        let (start, end, allDay) = startEnd(e.timing)
        let zoneID = windowsZone(e.timing)
        w.element("t:CalendarItem") { w in
            w.element("t:Subject", e.subject)
            w.element("t:Sensitivity", e.isPrivate ? "Private" : "Normal")
            writeBody(e.body, &w)
            writeCategories(e.categories, &w)
            w.element("t:ReminderIsSet", e.reminderMinutes == nil ? "false" : "true")
            if let minutes = e.reminderMinutes { w.element("t:ReminderMinutesBeforeStart", "\(minutes)") }
            if let syncKey { Self.syncKey.write(syncKey.rawValue, &w) }
            w.element("t:Start", EWSDate.format(start))
            w.element("t:End", EWSDate.format(end))
            w.element("t:IsAllDayEvent", allDay ? "true" : "false")
            w.element("t:LegacyFreeBusyStatus", Self.busy(e.busyStatus))
            w.element("t:Location", ifPresent: e.location)
            writeAttendees("RequiredAttendees", e.attendees.filter { $0.role == .required }, &w)
            writeAttendees("OptionalAttendees", e.attendees.filter { $0.role == .optional }, &w)
            writeAttendees("Resources", e.attendees.filter { $0.role == .resource }, &w)
            if let recurrence = e.recurrence { Self.ewsRecurrence(recurrence).write(&w) }
            w.start("t:StartTimeZone", [("Id", zoneID)])
            w.end()
            w.start("t:EndTimeZone", [("Id", zoneID)])
            w.end()
        }
    }

    /// Midnight of a task date in the default zone.
    func taskDate(_ date: LocalDate) -> String { EWSDate.format(Self.parts(date).start(in: zone)) }

    static func importance(_ value: Importance) -> String {
        switch value {
        case .low: "Low"
        case .normal: "Normal"
        case .high: "High"
        }
    }

    static func status(_ value: TaskStatus) -> String {
        switch value {
        case .notStarted: "NotStarted"
        case .inProgress: "InProgress"
        case .completed: "Completed"
        case .waitingOnOthers: "WaitingOnOthers"
        case .deferred: "Deferred"
        }
    }

    func writeTask(_ t: TaskItem, syncKey: SyncKey?, _ w: inout XMLWriter) {
        w.element("t:Task") { w in
            w.element("t:Subject", t.subject)
            writeBody(t.body, &w)
            writeCategories(t.categories, &w)
            w.element("t:Importance", Self.importance(t.importance))
            if let reminder = t.reminderAt { w.element("t:ReminderDueBy", EWSDate.format(reminder)) }
            w.element("t:ReminderIsSet", t.reminderAt == nil ? "false" : "true")
            if let syncKey { Self.syncKey.write(syncKey.rawValue, &w) }
            if t.status == .completed, let done = t.completedAt { w.element("t:CompleteDate", EWSDate.format(done)) }
            if let due = t.dueDate { w.element("t:DueDate", taskDate(due)) }
            w.element("t:PercentComplete", "\(t.status == .completed ? 100 : t.percentComplete)")
            if let recurrence = t.recurrence { Self.ewsRecurrence(recurrence).write(&w) }
            if let start = t.startDate { w.element("t:StartDate", taskDate(start)) }
            w.element("t:Status", Self.status(t.status))
        }
    }

    func writeMailboxes(_ name: String, _ addresses: [MailAddress], _ w: inout XMLWriter) {
        guard !addresses.isEmpty else { return }
        w.element("t:\(name)") { w in
            for address in addresses {
                w.element("t:Mailbox") { w in
                    w.element("t:Name", ifPresent: address.name)
                    w.element("t:EmailAddress", address.email)
                }
            }
        }
    }

    /// PR_MESSAGE_FLAGS: set at creation without MSGFLAG_UNSENT, so a placed mail is a finished
    /// message, not a draft; MSGFLAG_READ (1) for a read one.
    static let messageFlags = Extended(attributes: [("PropertyTag", "0x0E07"), ("PropertyType", "Integer")])
    /// PR_MESSAGE_DELIVERY_TIME: becomes DateTimeReceived (which EWS does not let a client set).
    static let deliveryTime = Extended(attributes: [("PropertyTag", "0x0E06"), ("PropertyType", "SystemTime")])
    /// PR_CLIENT_SUBMIT_TIME: becomes DateTimeSent.
    static let submitTime = Extended(attributes: [("PropertyTag", "0x0039"), ("PropertyType", "SystemTime")])

    /// Writes a mail for CreateItem (SaveOnly): a finished message with its own dates, sender and
    /// read state, never sent. Attachments follow with CreateAttachment.
    func writeMessage(_ m: MailMessage, syncKey: SyncKey?, _ w: inout XMLWriter) {
        w.element("t:Message") { w in
            w.element("t:Subject", m.subject)
            if let html = m.htmlBody { writeBody(html, html: true, &w) } else { writeBody(m.textBody ?? "", &w) }
            w.element("t:InReplyTo", ifPresent: m.inReplyTo)
            if let syncKey { Self.syncKey.write(syncKey.rawValue, &w) }
            Self.messageFlags.write(m.isRead ? "1" : "0", &w)
            if let received = m.receivedAt ?? m.sentAt { Self.deliveryTime.write(EWSDate.format(received), &w) }
            if let sent = m.sentAt ?? m.receivedAt { Self.submitTime.write(EWSDate.format(sent), &w) }
            if let from = m.from { writeMailboxes("Sender", [from], &w) }
            writeMailboxes("ToRecipients", m.to, &w)
            writeMailboxes("CcRecipients", m.cc, &w)
            writeMailboxes("BccRecipients", m.bcc, &w)
            if let from = m.from { writeMailboxes("From", [from], &w) }
            w.element("t:InternetMessageId", ifPresent: m.messageID)
            w.element("t:IsRead", m.isRead ? "true" : "false")
            if !m.references.isEmpty { w.element("t:References", m.references.joined(separator: " ")) }
        }
    }

    // MARK: Recurrence

    static let weekdayNames: [Weekday: String] = [
        .sunday: "Sunday", .monday: "Monday", .tuesday: "Tuesday", .wednesday: "Wednesday", .thursday: "Thursday",
        .friday: "Friday", .saturday: "Saturday",
    ]
    static let weekIndexNames: [WeekOfMonth: String] = [
        .first: "First", .second: "Second", .third: "Third", .fourth: "Fourth", .last: "Last",
    ]

    static func ewsRecurrence(_ r: Recurrence) -> EWSRecurrence {
        let pattern: EWSRecurrence.Pattern
        switch r.pattern {
        case .daily(let interval): pattern = .daily(interval: interval)
        case .weekly(let interval, let days, let first):
            pattern = .weekly(
                interval: interval, days: days.compactMap { weekdayNames[$0] }, firstDayOfWeek: weekdayNames[first])
        case .monthlyAbsolute(let interval, let day): pattern = .absoluteMonthly(interval: interval, dayOfMonth: day)
        case .monthlyRelative(let interval, let week, let day):
            pattern = .relativeMonthly(interval: interval, days: weekdayNames[day]!, index: weekIndexNames[week]!)
        case .yearlyAbsolute(let month, let day):
            pattern = .absoluteYearly(dayOfMonth: day, month: EWSRecurrence.months[month - 1])
        case .yearlyRelative(let month, let week, let day):
            pattern = .relativeYearly(
                days: weekdayNames[day]!, index: weekIndexNames[week]!, month: EWSRecurrence.months[month - 1])
        }
        let range: EWSRecurrence.Range
        switch r.range {
        case .noEnd(let start): range = .noEnd(start: parts(start))
        case .endDate(let start, let end): range = .endDate(start: parts(start), end: parts(end))
        case .numbered(let start, let count): range = .numbered(start: parts(start), count: count)
        }
        return EWSRecurrence(pattern: pattern, range: range)
    }

    static func recurrence(_ r: EWSRecurrence) -> Recurrence {
        let days = Dictionary(uniqueKeysWithValues: weekdayNames.map { ($1, $0) })
        let weeks = Dictionary(uniqueKeysWithValues: weekIndexNames.map { ($1, $0) })
        func month(_ name: String) -> Int { (EWSRecurrence.months.firstIndex(of: name) ?? 0) + 1 }
        let pattern: RecurrencePattern
        switch r.pattern {
        case .daily(let interval): pattern = .daily(interval: interval)
        case .weekly(let interval, let names, let first):
            pattern = .weekly(
                interval: interval, days: names.compactMap { days[$0] },
                firstDayOfWeek: first.flatMap { days[$0] } ?? .monday)
        case .absoluteMonthly(let interval, let day): pattern = .monthlyAbsolute(interval: interval, dayOfMonth: day)
        case .relativeMonthly(let interval, let day, let index):
            pattern = .monthlyRelative(interval: interval, week: weeks[index] ?? .first, day: days[day] ?? .monday)
        case .absoluteYearly(let day, let name): pattern = .yearlyAbsolute(month: month(name), dayOfMonth: day)
        case .relativeYearly(let day, let index, let name):
            pattern = .yearlyRelative(month: month(name), week: weeks[index] ?? .first, day: days[day] ?? .monday)
        }
        let range: RecurrenceRange
        switch r.range {
        case .noEnd(let start): range = .noEnd(start: local(start))
        case .endDate(let start, let end): range = .endDate(start: local(start), end: local(end))
        case .numbered(let start, let count): range = .numbered(start: local(start), count: count)
        }
        return Recurrence(pattern: pattern, range: range)
    }
}
