import ConnectorAPI
import Foundation
import ODBC

/// What becomes of a mail whose sender (incoming) or recipients (outgoing) match no address.
enum UnknownSenderPolicy: String, Sendable {
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

    /// The prepared activities holding one of `forms` (in any case, as SQL Server's default
    /// collation compares), lowest id first; nil when not prepared.
    func preparedActivities(_ forms: [String]) -> [BatchLookups.MailActivity]? {
        guard let prepared = lookups.activitiesByMessageID else { return nil }
        return Set(forms.map { $0.lowercased() }).flatMap { prepared[$0] ?? [] }.sorted { $0.id < $1.id }
    }

    /// The id of this user's mail activity holding `messageID` (with or without angle brackets).
    func activity(withMessageID messageID: String, _ scope: FlowFactScope, _ db: ODBCConnection, _ n: SQLNames)
        throws -> String?
    {
        let types = scope.allMailTypeIDs.isEmpty ? scope.typeIDs : scope.allMailTypeIDs
        let forms = Self.messageIDForms(messageID)
        guard !forms.isEmpty, !types.isEmpty else { return nil }
        if let prepared = preparedActivities(forms) {
            return prepared.first { $0.owner == scope.userID && types.contains($0.type) }?.id
        }
        let rows = try db.rows(
            """
            SELECT \(try n.required("activities.id")) FROM \(try n.table("activities")) \
            WHERE \(try n.required("activities.message_id")) IN (\(Self.placeholders(forms.count))) \
            AND \(try n.required("activities.owner")) = ? \
            AND \(try n.required("activities.type")) IN (\(Self.placeholders(types.count)))
            """, forms.map { .text($0) } + [.text(scope.userID)] + types.map { .text($0) })
        return rows.first?[0].string?.trimmed
    }

    /// The activity a mail answers (by In-Reply-To, then References, nearest first), with its address.
    func answeredActivity(_ mail: MailMessage, _ db: ODBCConnection, _ n: SQLNames) throws -> (
        id: String, address: String?
    )? {
        for key in mail.answeredMessageIDs {
            if let prepared = preparedActivities(["<\(key)>", key]) {
                if let first = prepared.first { return (first.id, first.address?.nonEmpty) }
                continue
            }
            let rows = try db.rows(
                """
                SELECT \(try n.required("activities.id")), \(try n.required("activities.address")) FROM \(try n.table("activities")) \
                WHERE \(try n.required("activities.message_id")) IN (?, ?)
                """, [.text("<\(key)>"), .text(key)])
            if let row = rows.first, let id = row[0].string?.trimmed {
                return (id, row[1].string?.trimmed.nonEmpty)
            }
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
        var found: [String: [BatchLookups.MailActivity]] = [:]
        for chunk in Array(forms).chunked(into: 200) {
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
        lookups.activitiesByMessageID = found
    }

    /// Every e-mail address the batch's mails may be linked to, exact first, then ignoring case.
    func prepareAddresses(_ batch: [WriteOperation], _ db: ODBCConnection, _ n: SQLNames) throws {
        var emails: [String] = []
        var seen: Set<String> = []
        for case .create(_, .mail(let mail)) in batch {
            for candidate in Self.linkCandidates(mail) {
                let key = candidate.email.trimmed.lowercased()
                if !key.isEmpty, seen.insert(key).inserted { emails.append(candidate.email.trimmed) }
            }
        }
        let columns = try emailColumns(n)
        guard !emails.isEmpty, !columns.isEmpty else { return }
        var found: [String: String] = [:]
        /// Runs one pass over the address table: `expressions` are the e-mail columns as compared
        /// (plain or LOWER); the first address (lowest id) whose value is one of `values` is
        /// recorded under that value in lower case.
        func pass(_ expressions: [String], _ values: [String]) throws {
            let id = try n.required("addresses.id")
            let condition = expressions.map { "\($0) IN (\(Self.placeholders(values.count)))" }.joined(
                separator: " OR ")
            let rows = try db.rows(
                "SELECT \(id), \(expressions.joined(separator: ", ")) FROM \(try n.table("addresses")) WHERE \(condition) ORDER BY \(id)",
                Array(repeating: values.map { ODBCValue.text($0) }, count: expressions.count).flatMap { $0 })
            let wanted = Set(values)
            for row in rows {
                guard let address = row[0].string?.trimmed else { continue }
                for index in expressions.indices {
                    if let value = row[index + 1].string?.trimmed, wanted.contains(value) {
                        found[value.lowercased()] = found[value.lowercased()] ?? address
                    }
                }
            }
        }
        // As written first (the columns' indexes serve it).
        for chunk in emails.chunked(into: 100) {
            try pass(columns, Array(Set(chunk.flatMap { [$0, $0.lowercased()] })))
        }
        // Then ignoring case, for the rest only (a scan of the table, once per batch).
        let rest = emails.map { $0.lowercased() }.filter { found[$0] == nil }
        for chunk in rest.chunked(into: 100) { try pass(columns.map { "LOWER(\($0))" }, Array(chunk)) }
        for email in emails { lookups.addressesByEmail[email.lowercased()] = .some(found[email.lowercased()]) }
    }

    /// The first address whose e-mail columns hold one of `emails`, tried in order.
    func address(matching emails: [String], _ db: ODBCConnection, _ n: SQLNames) throws -> String? {
        let columns = try emailColumns(n)
        guard !columns.isEmpty else { return nil }
        for email in emails {
            let trimmed = email.trimmed
            guard !trimmed.isEmpty else { continue }
            if let prepared = lookups.addressesByEmail[trimmed.lowercased()] {
                if let prepared { return prepared }
                continue
            }
            // As written first (the columns' indexes serve it), then ignoring case (a scan).
            let forms = Array(Set([trimmed, trimmed.lowercased()]))
            let exact = columns.map { "\($0) IN (\(Self.placeholders(forms.count)))" }.joined(separator: " OR ")
            var parameters: [ODBCValue] = []
            for _ in columns { parameters += forms.map { .text($0) } }
            let folded = columns.map { "LOWER(\($0)) = ?" }.joined(separator: " OR ")
            for (condition, values) in [
                (exact, parameters),
                (folded, Array(repeating: ODBCValue.text(trimmed.lowercased()), count: columns.count)),
            ] {
                let rows = try db.rows(
                    "SELECT \(try n.required("addresses.id")) FROM \(try n.table("addresses")) WHERE \(condition) ORDER BY \(try n.required("addresses.id"))",
                    values)
                if let id = rows.first?[0].string?.trimmed { return id }
            }
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

extension Array {
    /// The elements in consecutive slices of at most `size` (the last may be shorter).
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
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
