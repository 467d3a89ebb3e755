import AdapterSupport
import ConnectorAPI
import Foundation
import ODBC

/// What becomes of a mail whose sender (incoming) or recipients (outgoing) match no address.
enum UnknownSenderPolicy: String, Sendable, CaseIterable {
    /// Import it as an activity without an address.
    case importUnlinked = "import"
    /// Do not import it (reported as skipped, not as a failure).
    case skip
}

/// The rules for mails written into FlowFact: one activity per message (found again by its
/// message-id), linked to the address it was exchanged with, and to the activity it answers.
extension FlowFactDatabase {
    /// Creates the activity of a mail, or answers the one that already holds this message.
    func createMail(
        _ mail: MailMessage, key: SyncKey, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames, now: Date
    ) throws -> WriteResult {
        if let messageID = mail.messageID, let existing = try activity(withMessageID: messageID, scope, db, n) {
            // Imported before (state lost, restored, or the mail reached FlowFact another way).
            guard let state = try read(scope, ids: [existing], now: now, inScopeOnly: false).first else {
                return .success(id: existing, version: "", stored: nil)
            }
            return .success(id: existing, version: state.version, stored: nil)
        }
        var extra: [String: ODBCValue] = [:]
        let parent = try answeredActivity(mail, db, n)
        if let parent, try n.column("activities.parent") != nil { extra["parent"] = .text(parent.id) }
        let candidates = Self.linkCandidates(mail)
        if let address = try address(matching: candidates.map(\.email), db, n) ?? parent?.address {
            extra["address"] = .text(address)
        } else if options.unknownSender == .skip {
            let who = candidates.map(\.email).joined(separator: ", ")
            return .skipped(
                reason:
                    "no FlowFact address has the e-mail address \(who.isEmpty ? "(none given)" : who) (unknown_sender: skip)"
            )
        }
        let result = try insert(.mail(mail), key: key, scope, db, n, now: now, extra: extra)
        if case .success(let id, _, _) = result, let messageID = mail.messageID?.trimmed, !messageID.isEmpty {
            // A later mail of the same batch finds this one (the same message twice, or a reply to it).
            let type = try columnValues(.mail(mail), scope)["type"]?.string ?? ""
            lookups.activitiesByMessageID?[messageID.lowercased(), default: []].append(
                BatchLookups.MailActivity(id: id, owner: scope.userID, type: type, address: extra["address"]?.string))
        }
        return result
    }

    /// The forms a stored message-id may take for `messageID`: as given, without and with angle
    /// brackets, and lower-cased.
    static func messageIDForms(_ messageID: String) -> [String] {
        guard let key = MailMessage.normalizedMessageID(messageID) else { return [] }
        let bare = messageID.trimmingCharacters(in: CharacterSet(charactersIn: " <>\t\r\n"))
        return Array(Set([messageID, bare, "<\(bare)>", key, "<\(key)>"]))
    }

    /// The activities holding one of `forms` (in any case, as SQL Server's default collation
    /// compares), lowest id first: from the batch's lookups, or looked up now outside a batch.
    func activities(holding forms: [String], _ db: ODBCConnection, _ n: SQLNames) throws
        -> [BatchLookups.MailActivity]
    {
        let byMessageID = try lookups.activitiesByMessageID ?? activitiesByMessageID(forms, db, n)
        return Set(forms.map { $0.lowercased() }).flatMap { byMessageID[$0] ?? [] }.sorted { $0.id < $1.id }
    }

    /// The activities whose message-id is one of `forms`, by message-id in lower case.
    func activitiesByMessageID(_ forms: [String], _ db: ODBCConnection, _ n: SQLNames) throws -> [String: [BatchLookups
        .MailActivity]]
    {
        var found: [String: [BatchLookups.MailActivity]] = [:]
        for chunk in forms.chunked(into: 200) {
            try db.query(
                """
                SELECT \(try n.required("activities.id")), \(try n.required("activities.message_id")), \
                \(try n.required("activities.owner")), \(try n.required("activities.type")), \(try n.required("activities.address")) \
                FROM \(try n.table("activities")) WHERE \(try n.required("activities.message_id")) IN (\(Self.placeholders(chunk.count)))
                """, chunk.map { .text($0) }
            ) { row in
                guard let id = row[0].string?.trimmed, let messageID = row[1].string?.trimmed else { return }
                found[messageID.lowercased(), default: []].append(
                    BatchLookups.MailActivity(
                        id: id, owner: row[2].string?.trimmed ?? "", type: row[3].string?.trimmed ?? "",
                        address: row[4].string?.trimmed.nonEmpty))
            }
        }
        return found
    }

    /// The id of this user's mail activity holding `messageID` (with or without angle brackets).
    func activity(withMessageID messageID: String, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames)
        throws -> String?
    {
        let types = scope.allMailTypeIDs.isEmpty ? scope.typeIDs : scope.allMailTypeIDs
        let forms = Self.messageIDForms(messageID)
        guard !forms.isEmpty, !types.isEmpty else { return nil }
        return try activities(holding: forms, db, n).first { $0.owner == scope.userID && types.contains($0.type) }?.id
    }

    /// The activity a mail answers (by In-Reply-To, then References, nearest first), with its address.
    func answeredActivity(_ mail: MailMessage, _ db: ODBCConnection, _ n: SQLNames) throws -> (
        id: String, address: String?
    )? {
        for key in mail.answeredMessageIDs {
            if let first = try activities(holding: ["<\(key)>", key], db, n).first { return (first.id, first.address) }
        }
        return nil
    }

    /// Whom a mail is linked to: the recipients of a sent mail, the sender of any other.
    static func linkCandidates(_ mail: MailMessage) -> [MailAddress] {
        mail.folder == .sentItems ? (mail.to + mail.cc + mail.bcc) : [mail.from].compactMap { $0 }
    }

    /// The e-mail columns of the address table that are mapped.
    func emailColumns(_ n: SQLNames) throws -> [String] {
        try ["addresses.email", "addresses.email2", "addresses.email3"].compactMap { try n.column($0) }
    }

    /// Looks up, for a write batch, what its records would otherwise look up one by one: the
    /// copies of its creates by sync key (one statement instead of one per create) and, for its
    /// mails, the activities holding their message-ids or the ones they answer, and every e-mail
    /// address they may be linked to (a few statements instead of up to five per mail; of a page of
    /// newsletters from unknown senders, each would otherwise cost a scan of the address table).
    func prepareLookups(_ batch: [WriteOperation], _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames)
        throws
    {
        lookups = BatchLookups()
        var keys: [SyncKey] = []
        for case .create(let key, _) in batch { keys.append(key) }
        if !keys.isEmpty { lookups.copiesByKey = try find(scope, keys: keys) }
        try prepareMessageIDs(batch, db, n)
        try prepareAddresses(batch, db, n)
    }

    /// The activities holding the message-ids of the batch's mails and of the mails they answer.
    func prepareMessageIDs(_ batch: [WriteOperation], _ db: ODBCConnection, _ n: SQLNames) throws {
        var forms: Set<String> = []
        for case .create(_, .mail(let mail)) in batch {
            if let messageID = mail.messageID { forms.formUnion(Self.messageIDForms(messageID)) }
            for key in mail.answeredMessageIDs { forms.formUnion(["<\(key)>", key]) }
        }
        guard !forms.isEmpty else { return }
        lookups.activitiesByMessageID = try activitiesByMessageID(Array(forms), db, n)
    }

    /// Every e-mail address the batch's mails may be linked to.
    func prepareAddresses(_ batch: [WriteOperation], _ db: ODBCConnection, _ n: SQLNames) throws {
        var emails: [String] = []
        for case .create(_, .mail(let mail)) in batch { emails += Self.linkCandidates(mail).map(\.email) }
        try lookUpAddresses(emails, db, n)
    }

    /// Looks up the addresses of `emails` not looked up yet into the batch's lookups: as written
    /// first (the columns' indexes serve it), then ignoring case for the rest (a scan of the
    /// table, once for all of them); the lowest address id wins.
    func lookUpAddresses(_ emails: [String], _ db: ODBCConnection, _ n: SQLNames) throws {
        var wanted: [String] = []
        var seen: Set<String> = []
        for email in emails.map(\.trimmed) where !email.isEmpty && lookups.addressesByEmail[email.lowercased()] == nil {
            if seen.insert(email.lowercased()).inserted { wanted.append(email) }
        }
        let columns = try emailColumns(n)
        guard !wanted.isEmpty, !columns.isEmpty else { return }
        var found: [String: String] = [:]
        /// One pass over the address table: `expressions` are the e-mail columns as compared
        /// (plain or LOWER); the first address whose value is one of `values` is recorded under
        /// that value in lower case.
        func pass(_ expressions: [String], _ values: [String]) throws {
            let id = try n.required("addresses.id")
            let condition = expressions.map { "\($0) IN (\(Self.placeholders(values.count)))" }.joined(
                separator: " OR ")
            let rows = try db.rows(
                "SELECT \(id), \(expressions.joined(separator: ", ")) FROM \(try n.table("addresses")) WHERE \(condition) ORDER BY \(id)",
                Array(repeating: values.map { ODBCValue.text($0) }, count: expressions.count).flatMap { $0 })
            let asked = Set(values)
            for row in rows {
                guard let address = row[0].string?.trimmed else { continue }
                for index in expressions.indices {
                    if let value = row[index + 1].string?.trimmed, asked.contains(value) {
                        found[value.lowercased()] = found[value.lowercased()] ?? address
                    }
                }
            }
        }
        for chunk in wanted.chunked(into: 100) {
            try pass(columns, Array(Set(chunk.flatMap { [$0, $0.lowercased()] })))
        }
        let rest = wanted.map { $0.lowercased() }.filter { found[$0] == nil }
        for chunk in rest.chunked(into: 100) { try pass(columns.map { "LOWER(\($0))" }, Array(chunk)) }
        for email in wanted { lookups.addressesByEmail[email.lowercased()] = .some(found[email.lowercased()]) }
    }

    /// The first address whose e-mail columns hold one of `emails`, tried in order.
    func address(matching emails: [String], _ db: ODBCConnection, _ n: SQLNames) throws -> String? {
        try lookUpAddresses(emails, db, n)
        for email in emails.map(\.trimmed) where !email.isEmpty {
            if let id = lookups.addressesByEmail[email.lowercased()] ?? nil { return id }
        }
        return nil
    }

    /// Marks the activity of a mail deleted in the mailbox: links the Merkmal named by
    /// `mail_deleted_merkmal` (the activity itself is kept).
    func markDeleted(_ id: ItemID, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames, now: Date) throws
        -> WriteResult
    {
        let name = options.deletedMailMerkmal
        if lookups.deletedMailMerkmalID == nil {
            let rows = try db.rows(
                "SELECT \(try n.required("merkmale.id")) FROM \(try n.table("merkmale")) WHERE \(try n.required("merkmale.name")) = ?",
                [.text(name)])
            lookups.deletedMailMerkmalID = .some(rows.first?[0].string?.trimmed)
        }
        guard let merkmal = lookups.deletedMailMerkmalID ?? nil else {
            throw WriteOutcome(
                error: WriteError(
                    .permanent,
                    "cannot mark activity \(id) as deleted in the mailbox: there is no Merkmal '\(name)' (setting 'mail_deleted_merkmal')"
                ))
        }
        let link = try n.table(scope.linkTable)
        let existing = try db.rows(
            "SELECT 1 FROM \(link) WHERE \(try n.required("\(scope.linkTable).record")) = ? AND \(try n.required("\(scope.linkTable).merkmal")) = ?",
            [.text(id), .text(merkmal)])
        let stamp = ODBCTimestamp(now, in: options.zone)
        if existing.isEmpty {
            try insertRow(
                scope.linkTable,
                [
                    "record": .text(id), "merkmal": .text(merkmal), "active": .integer(1), "created": .timestamp(stamp),
                    "created_by": .text(scope.userShortName),
                ], db, n)
        }
        let changed = try db.execute(
            "UPDATE \(try n.table(scope.table)) SET \(try n.required("\(scope.table).changed")) = ?, \(try n.required("\(scope.table).changed_by")) = ? WHERE \(try n.required("\(scope.table).id")) = ?",
            [.timestamp(stamp), .text(scope.userShortName), .text(id)])
        guard changed > 0 else {
            throw WriteOutcome(error: WriteError(.notFound, "no \(schema.table(scope.table)) record \(id)"))
        }
        return .success(id: id, version: Self.version(changed: stamp, unread: nil), stored: nil)
    }
}

extension String {
    /// Nil for an empty string.
    var nonEmpty: String? { isEmpty ? nil : self }

    /// The text without leading and trailing white space (CHAR columns pad with spaces). Text with
    /// none — nearly every value read — is returned after one look at each end.
    var trimmed: String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last,
            first.properties.isWhitespace || last.properties.isWhitespace
        else { return self }
        return trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
