import ConnectorAPI
import Foundation
import ODBC

/// Converts between FlowFact rows (by logical column key) and canonical records.
struct FlowFactRecords {
    let zone: TimeZone
    /// Activity type id → folder for mail types.
    let mailFolders: [String: MailFolder]

    /// A row by logical column key: its values in select order and one key → position map shared
    /// by all rows of a read (no dictionary built per row).
    struct Row {
        let positions: [String: Int]
        let values: [ODBCValue]

        subscript(key: String) -> ODBCValue? { positions[key].map { values[$0] } }
    }

    /// Which fields the instance holds, and where.
    var holding = Holding()

    var middleNameColumn: Bool { holding.middleNameColumn }
    var privateColumn: Bool { holding.privateColumn }
    /// Without its own column, a middle name that FlowFact keeps shows in the first-name column,
    /// after the given name.
    var middleNameInGivenName: Bool { !holding.middleNameColumn && holding.keepOtherFields }

    /// Fields each kind holds in FlowFact's own columns (and Merkmale), visible to its users.
    static let fields: [DataKind: Set<String>] = [
        .address: [
            "salutation", "title", "givenName", "familyName", "company", "department", "jobTitle", "emails", "phones",
            "businessAddress", "birthday", "webPage", "notes",
        ],
        .calendar: ["subject", "location", "body", "timing", "reminderMinutes", "recurrence"],
        .task: [
            "subject", "body", "startDate", "dueDate", "status", "completedAt", "importance", "reminderAt",
            "recurrence",
        ],
        .mail: [
            "messageID", "from", "to", "cc", "bcc", "subject", "sentAt", "receivedAt", "textBody", "htmlBody",
            "attachments",
            "isRead", "folder",
        ],
    ]

    /// Fields of appointments that never travel through FlowFact: a meeting's organizer and
    /// attendees stay in the mailbox (copying them would send invitations from another mailbox).
    static let neverHeld: [DataKind: Set<String>] = [.calendar: ["organizer", "attendees"]]

    /// What an instance holds and how: the visible fields (columns, and categories as Merkmale when
    /// mapped), and with the connector table every other field of the record, kept for the mailbox.
    struct Holding: Sendable, Hashable {
        var middleNameColumn = false
        var privateColumn = false
        var categoriesMapped = false
        var keepOtherFields = true

        /// The fields FlowFact's users see and edit.
        func visible(_ kind: DataKind) -> Set<String> {
            var result = FlowFactRecords.fields[kind] ?? []
            if kind == .address, middleNameColumn { result.insert("middleName") }
            if kind == .calendar, privateColumn { result.insert("isPrivate") }
            if kind != .mail, categoriesMapped { result.insert("categories") }
            return result
        }

        /// Every field the instance holds for a kind.
        func held(_ kind: DataKind) -> Set<String> {
            guard keepOtherFields, kind != .mail else { return visible(kind) }
            return Set(RecordFields.names(for: kind)).subtracting(FlowFactRecords.neverHeld[kind] ?? [])
        }

        /// The fields only the connector table keeps (see ``Capabilities/keptFields``). The middle
        /// name without its column shows in the first-name column, but is kept: a record from before the
        /// table does not know it.
        func kept(_ kind: DataKind) -> Set<String> {
            var result = held(kind).subtracting(visible(kind))
            if kind == .address, !middleNameColumn, keepOtherFields { result.insert("middleName") }
            return result
        }
    }

    /// Record field → the activity/address column keys (without table prefix) that hold it.
    static let columnsOfField: [DataKind: [String: [String]]] = [
        .address: [
            "salutation": ["salutation"], "title": ["title"], "givenName": ["given_name"],
            "middleName": ["middle_name", "given_name"], "familyName": ["family_name"],
            "company": ["company"], "department": ["department"], "jobTitle": ["job_title"],
            "emails": ["email", "email2", "email3"],
            "phones": [
                "phone_business", "phone_business2", "phone_home", "phone_home2", "phone_mobile", "phone_assistant",
                "phone_car", "fax",
            ],
            "businessAddress": ["street", "postal_code", "city", "country"], "birthday": ["birthday"],
            "webPage": ["web"],
            "notes": ["notes"],
        ],
        .calendar: [
            "subject": ["subject"], "location": ["location"], "body": ["text"], "timing": ["date", "end", "all_day"],
            "reminderMinutes": ["follow_up"], "recurrence": ["recurrence"], "isPrivate": ["private"],
        ],
        .task: [
            "subject": ["subject"], "body": ["text"], "startDate": ["date"], "dueDate": ["follow_up"],
            "reminderAt": ["follow_up"], "status": ["done", "status"], "completedAt": ["done_at"],
            "importance": ["priority"], "recurrence": ["recurrence"],
        ],
        .mail: [
            "messageID": ["message_id"], "from": ["mail_from"], "to": ["mail_to"], "cc": ["mail_cc"],
            "bcc": ["mail_bcc"],
            "subject": ["subject"], "sentAt": ["mail_date"], "receivedAt": ["date"], "textBody": ["text"],
            "htmlBody": ["html"], "folder": ["type"],
        ],
    ]

    static let phoneColumns: [(PhoneKind, String)] = [
        (.business, "phone_business"), (.business2, "phone_business2"), (.home, "phone_home"), (.home2, "phone_home2"),
        (.mobile, "phone_mobile"), (.assistant, "phone_assistant"), (.car, "phone_car"), (.businessFax, "fax"),
    ]

    // MARK: Reading

    func text(_ row: Row, _ key: String) -> String? {
        guard let value = row[key]?.string?.trimmed, !value.isEmpty else {
            return nil
        }
        return value
    }

    func date(_ row: Row, _ key: String) -> Date? { row[key]?.timestamp?.date(in: zone) }

    func localDate(_ row: Row, _ key: String) -> LocalDate? {
        guard let stamp = row[key]?.timestamp else { return nil }
        return LocalDate(year: stamp.year, month: stamp.month, day: stamp.day)
    }

    func address(_ row: Row) -> Address {
        var phones: [PhoneKind: String] = [:]
        for (kind, key) in Self.phoneColumns { if let number = text(row, key) { phones[kind] = number } }
        let postal = PostalAddress(
            street: text(row, "street"), postalCode: text(row, "postal_code"), city: text(row, "city"),
            country: text(row, "country"))
        return Address(
            salutation: text(row, "salutation"), title: text(row, "title"), givenName: text(row, "given_name"),
            middleName: middleNameColumn ? text(row, "middle_name") : nil, familyName: text(row, "family_name"),
            company: text(row, "company"), department: text(row, "department"),
            jobTitle: text(row, "job_title"), emails: ["email", "email2", "email3"].compactMap { text(row, $0) },
            phones: phones,
            businessAddress: postal == PostalAddress() ? nil : postal, birthday: localDate(row, "birthday"),
            webPage: text(row, "web"), notes: row["notes"]?.string.flatMap { $0.isEmpty ? nil : $0 })
    }

    func recurrence(_ row: Row, table: String, id: String) throws -> Recurrence? {
        guard let json = text(row, "recurrence") else { return nil }
        do {
            return try JSONDecoder().decode(Recurrence.self, from: Data(json.utf8))
        } catch {
            throw FlowFactError.invalidData(
                table: table, id: id, message: "the recurrence (PERIODE) is not readable: \(error)")
        }
    }

    func calendar(_ row: Row, table: String, id: String) throws -> CalendarEvent {
        guard let startStamp = row["date"]?.timestamp, let start = startStamp.date(in: zone) else {
            throw FlowFactError.invalidData(table: table, id: id, message: "an appointment without a date (DATUM)")
        }
        let timing: EventTiming
        if row["all_day"]?.integer == 1 {
            let first = LocalDate(year: startStamp.year, month: startStamp.month, day: startStamp.day)
            let last = localDate(row, "end") ?? first
            timing = .allDay(start: first, endExclusive: Self.day(after: max(first, last)))
        } else {
            timing = .timed(
                start: start, end: date(row, "end") ?? start.addingTimeInterval(3600), timeZone: zone.identifier)
        }
        var reminder: Int?
        if let followUp = date(row, "follow_up"), followUp <= start {
            reminder = Int((start.timeIntervalSince(followUp) / 60).rounded())
        }
        return CalendarEvent(
            subject: text(row, "subject") ?? "", location: text(row, "location"),
            body: row["text"]?.string.flatMap { $0.isEmpty ? nil : $0 },
            timing: timing, reminderMinutes: reminder, isPrivate: privateColumn && row["private"]?.integer == 1,
            recurrence: try recurrence(row, table: table, id: id))
    }

    func task(_ row: Row, table: String, id: String) throws -> TaskItem {
        let done = row["done"]?.integer == 1
        var status = TaskStatus.notStarted
        if done {
            status = .completed
        } else if let raw = text(row, "status"), let parsed = TaskStatus(rawValue: raw) {
            status = parsed
        }
        let followUp = row["follow_up"]?.timestamp
        let hasTime = followUp.map { $0.hour != 0 || $0.minute != 0 || $0.second != 0 } ?? false
        let importance: Importance =
            switch row["priority"]?.integer {
            case 1?: .high
            case 3?: .low
            default: .normal
            }
        return TaskItem(
            subject: text(row, "subject") ?? "", body: row["text"]?.string.flatMap { $0.isEmpty ? nil : $0 },
            startDate: localDate(row, "date"), dueDate: localDate(row, "follow_up"), status: status,
            percentComplete: done ? 100 : 0, completedAt: done ? date(row, "done_at") : nil, importance: importance,
            reminderAt: hasTime ? date(row, "follow_up") : nil, recurrence: try recurrence(row, table: table, id: id))
    }

    /// A mail activity; `answering` is the message-id of the activity it answers (`VORGANG_ID`),
    /// which becomes its In-Reply-To and References, so mail clients thread it under that mail.
    func mail(_ row: Row, unread: Bool, answering: String? = nil, attachments: [MailAttachment]) -> MailMessage {
        let folder = row["type"]?.string.flatMap { mailFolders[$0] } ?? .inbox
        let bare = answering?.trimmingCharacters(in: CharacterSet(charactersIn: " <>\t\r\n"))
        let inReplyTo = bare.flatMap { $0.isEmpty ? nil : "<\($0)>" }
        return MailMessage(
            messageID: text(row, "message_id"), inReplyTo: inReplyTo, references: inReplyTo.map { [$0] } ?? [],
            from: text(row, "mail_from").flatMap { Self.addresses($0).first },
            to: text(row, "mail_to").map(Self.addresses) ?? [], cc: text(row, "mail_cc").map(Self.addresses) ?? [],
            bcc: text(row, "mail_bcc").map(Self.addresses) ?? [], subject: text(row, "subject") ?? "",
            sentAt: date(row, "mail_date"), receivedAt: date(row, "date"),
            textBody: row["text"]?.string.flatMap { $0.isEmpty ? nil : $0 },
            htmlBody: row["html"]?.string.flatMap { $0.isEmpty ? nil : $0 }, attachments: attachments, isRead: !unread,
            folder: folder)
    }

    // MARK: Writing

    func value(_ text: String?) -> ODBCValue { text.map { .text($0) } ?? .null }
    func value(_ date: Date?) -> ODBCValue { date.map { .timestamp(ODBCTimestamp($0, in: zone)) } ?? .null }
    func value(_ date: LocalDate?) -> ODBCValue {
        date.map { .date(year: $0.year, month: $0.month, day: $0.day) } ?? .null
    }
    func timestamp(_ date: LocalDate?) -> ODBCValue {
        date.map { .timestamp(ODBCTimestamp(year: $0.year, month: $0.month, day: $0.day)) } ?? .null
    }

    /// Column values (by column key without table prefix) of an address.
    func columns(_ a: Address) -> [String: ODBCValue] {
        var result: [String: ODBCValue] = [
            "salutation": value(a.salutation), "title": value(a.title),
            "given_name": value(middleNameInGivenName ? Self.joined(a.givenName, a.middleName) : a.givenName),
            "middle_name": value(a.middleName),
            "family_name": value(a.familyName), "company": value(a.company), "department": value(a.department),
            "job_title": value(a.jobTitle), "street": value(a.businessAddress?.street),
            "postal_code": value(a.businessAddress?.postalCode), "city": value(a.businessAddress?.city),
            "country": value(a.businessAddress?.country), "birthday": value(a.birthday), "web": value(a.webPage),
            "notes": value(a.notes),
        ]
        for (index, key) in ["email", "email2", "email3"].enumerated() {
            result[key] = value(index < a.emails.count ? a.emails[index] : nil)
        }
        for (kind, key) in Self.phoneColumns { result[key] = value(a.phones[kind]) }
        return result
    }

    func recurrenceValue(_ recurrence: Recurrence?) -> ODBCValue {
        guard let recurrence else { return .null }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(recurrence)).map { .text(String(decoding: $0, as: UTF8.self)) } ?? .null
    }

    func columns(_ e: CalendarEvent) -> [String: ODBCValue] {
        var result: [String: ODBCValue] = [
            "subject": value(e.subject), "location": value(e.location), "text": value(e.body),
            "recurrence": recurrenceValue(e.recurrence), "private": .integer(e.isPrivate ? 1 : 0),
        ]
        let start: Date
        switch e.timing {
        case .timed(let s, let end, _):
            start = s
            result["date"] = value(s)
            result["end"] = value(end)
            result["all_day"] = .integer(0)
        case .allDay(let first, let endExclusive):
            result["date"] = timestamp(first)
            result["end"] = timestamp(Self.day(before: endExclusive))
            result["all_day"] = .integer(1)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            start = calendar.date(from: DateComponents(year: first.year, month: first.month, day: first.day)) ?? Date()
        }
        result["follow_up"] = e.reminderMinutes.map { value(start.addingTimeInterval(-Double($0) * 60)) } ?? .null
        return result
    }

    func columns(_ t: TaskItem) -> [String: ODBCValue] {
        [
            "subject": value(t.subject), "text": value(t.body), "date": timestamp(t.startDate),
            "follow_up": t.reminderAt.map { value($0) } ?? timestamp(t.dueDate),
            "done": .integer(t.status == .completed ? 1 : 0),
            "status": value(t.status == .completed ? nil : t.status.rawValue),
            "done_at": t.status == .completed ? value(t.completedAt ?? Date()) : .null,
            "priority": .integer(t.importance == .high ? 1 : t.importance == .low ? 3 : 2),
            "recurrence": recurrenceValue(t.recurrence),
        ]
    }

    func columns(_ m: MailMessage, typeID: String) -> [String: ODBCValue] {
        [
            "message_id": value(m.messageID), "mail_from": value(m.from.map(Self.format)),
            "mail_to": value(m.to.isEmpty ? nil : m.to.map(Self.format).joined(separator: "; ")),
            "mail_cc": value(m.cc.isEmpty ? nil : m.cc.map(Self.format).joined(separator: "; ")),
            "mail_bcc": value(m.bcc.isEmpty ? nil : m.bcc.map(Self.format).joined(separator: "; ")),
            "subject": value(m.subject), "mail_date": value(m.sentAt),
            "date": value(m.receivedAt ?? m.sentAt ?? Date()),
            "text": value(m.textBody), "html": value(m.htmlBody), "type": .text(typeID),
        ]
    }

    // MARK: Helpers

    /// "Given Middle", or whichever is there.
    static func joined(_ given: String?, _ middle: String?) -> String? {
        let parts = [given, middle].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    static func day(after date: LocalDate) -> LocalDate { shift(date, by: 1) }
    static func day(before date: LocalDate) -> LocalDate { shift(date, by: -1) }

    static func shift(_ date: LocalDate, by days: Int) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let base = calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day))!
        let moved = calendar.dateComponents(
            [.year, .month, .day], from: calendar.date(byAdding: .day, value: days, to: base)!)
        return LocalDate(year: moved.year!, month: moved.month!, day: moved.day!)
    }

    /// `Name <addr>` or `addr`.
    static func format(_ address: MailAddress) -> String {
        guard let name = address.name, !name.isEmpty else { return address.email }
        return "\(name) <\(address.email)>"
    }

    /// Parses `Name <a@b>; c@d, "E, F" <e@f>`.
    static func addresses(_ text: String) -> [MailAddress] {
        var result: [MailAddress] = []
        var current = ""
        var quoted = false
        var angle = false
        func flush() {
            let part = current.trimmingCharacters(in: .whitespaces)
            current = ""
            guard !part.isEmpty else { return }
            if let open = part.lastIndex(of: "<"), let close = part.lastIndex(of: ">"), open < close {
                let name = part[..<open].trimmingCharacters(in: CharacterSet(charactersIn: " \""))
                result.append(
                    MailAddress(name: name.isEmpty ? nil : name, email: String(part[part.index(after: open)..<close])))
            } else {
                result.append(MailAddress(email: part))
            }
        }
        for character in text {
            switch character {
            case "\"":
                quoted.toggle()
                current.append(character)
            case "<":
                angle = true
                current.append(character)
            case ">":
                angle = false
                current.append(character)
            case ";" where !quoted && !angle, "," where !quoted && !angle: flush()
            default: current.append(character)
            }
        }
        flush()
        return result
    }
}
