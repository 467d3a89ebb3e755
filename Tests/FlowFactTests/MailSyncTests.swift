import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import ODBC
import TestSupport
import Testing

/// Mail semantics between FlowFact (real drivers) and a mailbox (the memory adapter): import with
/// address links, threading and attachments; no duplicates; only state travels afterwards.
@Suite struct MailSyncTests {
    static let incomingType = "7A000000-0000-4000-8000-000000000002"
    static let outgoingType = "7A000000-0000-4000-8000-000000000003"
    static let deletedMerkmal = "3B000000-0000-4000-8000-000000000005"

    func harness(_ database: TestDatabase, settings: String = "", deletion: String = "", mails: String = "incoming")
        throws -> Harness
    {
        let h = try Harness(database, seed: Harness.counts())
        h.adapterSettings = settings
        h.connectors = """
              - name: mail
                kind: mail
                source: flowfact
                target: \(h.exchange)
                source_options: { mail: \(mails) }
            \(deletion.isEmpty ? "" : "    deletion: \(deletion)")
            """
        return h
    }

    func mail(
        _ subject: String, from: String = "Erika Muster <erika@kunde.test>", id: String? = nil,
        inReplyTo: String? = nil, read: Bool = false, attachments: [MailAttachment] = []
    ) -> Record {
        .mail(
            MailMessage(
                messageID: id ?? "<\(UUID().uuidString)@kunde.test>", inReplyTo: inReplyTo,
                from: Self.address(from), to: [MailAddress(name: "Max Müller", email: "mm@example.test")],
                subject: subject, sentAt: Date().addingTimeInterval(-3600),
                receivedAt: Date().addingTimeInterval(-3540), textBody: "Guten Tag,\nanbei das Exposé.",
                htmlBody: "<p>Guten Tag,<br>anbei das <b>Exposé</b>.</p>", attachments: attachments, isRead: read))
    }

    static func address(_ text: String) -> MailAddress {
        guard let open = text.firstIndex(of: "<"), let close = text.firstIndex(of: ">") else {
            return MailAddress(email: text)
        }
        return MailAddress(
            name: text[..<open].trimmingCharacters(in: .whitespaces),
            email: String(text[text.index(after: open)..<close]))
    }

    func activities(_ h: Harness) throws -> [ODBCRow] {
        try h.db.rows(
            "SELECT \"ID\", \"BETREFF\", \"AD_ID\", \"VORGANG_ID\", \"MAIL_MSGID\", \"AKTART_ID\" FROM \"AKT\" ORDER BY \"DATUM\", \"BETREFF\""
        )
    }

    @Test(arguments: TestDatabase.allCases)
    func importLinksToTheSendersAddressAndStoresAttachments(database: TestDatabase) async throws {
        let h = try harness(database)
        let erika = try h.insertAddress(given: "Erika", family: "Muster", extra: ["EMAIL": .text("Erika@Kunde.test")])
        let pdf = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let logo = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3])
        try h.mailbox(.mail).insert(
            mail(
                "Exposé Lindenstraße", id: "<expose-1@kunde.test>",
                attachments: [
                    MailAttachment(
                        name: "Exposé Müller.pdf", mediaType: "application/pdf", size: 70_000, content: .inline(pdf)),
                    MailAttachment(
                        name: "logo.png", mediaType: "image/png", size: 7, contentID: "logo@kunde",
                        content: .inline(logo)),
                ]))
        try h.mailbox(.mail).insert(mail("Werbung", from: "spam@unbekannt.test"))
        let reports = try await h.sync()
        #expect(reports.of("mail")?.status == .ok)

        let rows = try activities(h)
        #expect(rows.count == 2)
        let expose = try #require(rows.first { $0[1].string == "Exposé Lindenstraße" })
        #expect(expose[2].string?.trimmingCharacters(in: .whitespaces) == erika)
        #expect(expose[4].string == "<expose-1@kunde.test>")
        #expect(expose[5].string?.trimmingCharacters(in: .whitespaces) == Self.incomingType)
        let unknown = try #require(rows.first { $0[1].string == "Werbung" })
        #expect(unknown[2].isNull, "an unknown sender is imported without an address by default")

        let blobs = try h.db.rows(
            "SELECT \"DATEINAME\", \"INHALT\", \"CONTENT_ID\", \"GROESSE\" FROM \"BLOB\" WHERE \"DATENSATZ_ID\" = ? ORDER BY \"DATEINAME\"",
            [expose[0]])
        #expect(blobs.map { $0[0].string } == ["Exposé Müller.pdf", "logo.png"])
        #expect(blobs[0][1].data == pdf)
        #expect(blobs[1][1].data == logo)
        #expect(blobs[1][2].string == "logo@kunde")
        #expect(blobs[0][3].integer == 70_000)
        let text = try h.value("SELECT \"TEXT\" FROM \"AKT\" WHERE \"ID\" = ?", [expose[0]]).string
        #expect(text == "Guten Tag,\nanbei das Exposé.")
    }

    @Test(arguments: TestDatabase.allCases)
    func unknownSendersAreSkippedWhenTheSettingSaysSo(database: TestDatabase) async throws {
        let h = try harness(database, settings: "unknown_sender: skip")
        try h.insertAddress(given: "Erika", family: "Muster", extra: ["EMAIL": .text("erika@kunde.test")])
        try h.mailbox(.mail).insert(mail("Anfrage"))
        try h.mailbox(.mail).insert(mail("Werbung", from: "Spam <spam@unbekannt.test>"))
        let reports = try await h.sync()
        let report = try #require(reports.of("mail"))
        #expect(report.status == .ok, "a skipped mail is not a failure")
        #expect(report.failures.isEmpty)
        #expect(report.counts["target→source skipped"] == 1)
        #expect(try activities(h).map { $0[1].string } == ["Anfrage"])
        // Nothing retries it: the next run is quiet.
        let again = try #require(try await h.sync().of("mail"))
        #expect(again.counts["target→source create"] == nil && again.failures.isEmpty)
        #expect(try activities(h).count == 1)
    }

    @Test(arguments: TestDatabase.allCases)
    func neverImportsTwiceAfterStateLoss(database: TestDatabase) async throws {
        let h = try harness(database)
        for index in 1...3 { try h.mailbox(.mail).insert(mail("Mail \(index)", id: "<m\(index)@kunde.test>")) }
        try await h.sync()
        #expect(try activities(h).count == 3)
        // The state database is lost (or an old backup restored): everything is read again.
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(at: h.directory.appendingPathComponent("state.sqlite" + suffix))
        }
        let report = try #require(try await h.sync().of("mail"))
        #expect(report.status == .ok)
        #expect(try activities(h).count == 3, "the same messages are recognised by their message-id")
        #expect(h.mailboxCount() == 3, "and nothing is placed back into the mailbox")
        // A further mail still comes in.
        try h.mailbox(.mail).insert(mail("Mail 4", id: "<m4@kunde.test>"))
        try await h.sync()
        #expect(try activities(h).count == 4)
    }

    @Test(arguments: TestDatabase.allCases)
    func repliesJoinTheThreadOfTheMailTheyAnswer(database: TestDatabase) async throws {
        let h = try harness(database)
        let erika = try h.insertAddress(given: "Erika", family: "Muster", extra: ["EMAIL": .text("erika@kunde.test")])
        try h.mailbox(.mail).insert(mail("Besichtigung", id: "<thread-1@kunde.test>"))
        try await h.sync()
        // Her reply comes from another address nobody knows; the thread still holds it.
        var reply = mail("AW: Besichtigung", from: "Erika Muster <erika.privat@web.test>", id: "<thread-2@web.test>")
        if case .mail(var message) = reply {
            message.references = ["<thread-1@kunde.test>"]
            message.inReplyTo = "<thread-1@kunde.test>"
            reply = .mail(message)
        }
        try h.mailbox(.mail).insert(reply)
        try await h.sync()
        let rows = try activities(h)
        let first = try #require(rows.first { $0[1].string == "Besichtigung" })
        let answer = try #require(rows.first { $0[1].string == "AW: Besichtigung" })
        #expect(
            answer[3].string?.trimmingCharacters(in: .whitespaces)
                == first[0].string?.trimmingCharacters(in: .whitespaces))
        #expect(answer[2].string?.trimmingCharacters(in: .whitespaces) == erika, "the thread's address is taken over")
    }

    @Test(arguments: TestDatabase.allCases)
    func readFlagTravelsBothWaysAndNothingElse(database: TestDatabase) async throws {
        let h = try harness(database)
        let id = try h.mailbox(.mail).insert(mail("Rückruf", id: "<rr@kunde.test>"))
        try await h.sync()
        let activity = try #require(try activities(h).first?[0])
        func unread() throws -> Int64? {
            try h.value(
                "SELECT \"AKTIV\" FROM \"AKTMKM\" WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
                [activity, .text(Harness.userMerkmalMM)]
            ).integer
        }
        #expect(try unread() == 1)
        // Read in Outlook, and the subject edited there: only the flag comes over.
        try h.mailbox(.mail).update(id) { record in
            if case .mail(var message) = record {
                message.isRead = true
                message.subject = "geändert"
                record = .mail(message)
            }
        }
        try await h.sync()
        #expect(try unread() == 0)
        #expect(try activities(h).first?[1].string == "Rückruf")
        // Marked unread in FlowFact (user Merkmal active again): Outlook shows it unread.
        try h.db.execute(
            "UPDATE \"AKTMKM\" SET \"AKTIV\" = 1 WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
            [activity, .text(Harness.userMerkmalMM)])
        try h.db.execute(
            "UPDATE \"AKT\" SET \"AENDDATUM\" = ? WHERE \"ID\" = ?", [h.stamp(Date().addingTimeInterval(1)), activity])
        try await h.sync()
        guard case .mail(let message)? = try h.mailbox(.mail).item(id)?.record else {
            Issue.record("mail gone")
            return
        }
        #expect(message.isRead == false)
        #expect(message.subject == "geändert", "a mail's content is not synced after import")
    }

    /// FlowFact's mail system marks a mail read by deactivating the user Merkmal's link, without
    /// touching the activity's AENDDATUM. The next run notices (long before the hourly comparison).
    @Test(arguments: TestDatabase.allCases)
    func aReadFlagFlippedInFlowFactAloneIsSeenNextRun(database: TestDatabase) async throws {
        let h = try harness(database)
        let first = try h.mailbox(.mail).insert(mail("Erste", id: "<e1@kunde.test>"))
        let second = try h.mailbox(.mail).insert(mail("Zweite", id: "<e2@kunde.test>", read: true))
        try h.mailbox(.mail).insert(mail("Neu", id: "<e3@kunde.test>"))
        try await h.sync()
        let rows = try activities(h)
        let erste = try #require(rows.first { $0[1].string == "Erste" }?[0])
        let zweite = try #require(rows.first { $0[1].string == "Zweite" }?[0])
        // Both were last changed two days ago: outside any window of changed rows.
        for activity in [erste, zweite] {
            try h.db.execute(
                "UPDATE \"AKT\" SET \"AENDDATUM\" = ? WHERE \"ID\" = ?",
                [h.stamp(Date().addingTimeInterval(-2 * 86_400)), activity])
        }
        func isRead(_ id: ItemID) throws -> Bool? {
            guard case .mail(let message)? = try h.mailbox(.mail).item(id)?.record else { return nil }
            return message.isRead
        }
        func setActive(_ activity: ODBCValue, _ active: Int64) throws {
            try h.db.execute(
                "UPDATE \"AKTMKM\" SET \"AKTIV\" = ? WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
                [.integer(active), activity, .text(Harness.userMerkmalMM)])
        }
        func sync() async throws -> RunReport { try #require(try await h.sync().of("mail")) }
        #expect(try await sync().failures.isEmpty)
        #expect(try await sync().counts.isEmpty)

        try setActive(erste, 0)
        #expect(try await sync().failures.isEmpty)
        #expect(try isRead(first) == true, "read in FlowFact, read in the mailbox")
        #expect(try isRead(second) == true)
        try setActive(zweite, 1)
        try await sync()
        #expect(try isRead(second) == false, "unread in FlowFact, unread in the mailbox")
        #expect(try isRead(first) == true)
        // Only the flags travelled; nothing was imported or placed again.
        #expect(try activities(h).count == 3)
        #expect(h.mailboxCount() == 3)
        let after = try await sync()
        #expect(after.counts.isEmpty, "\(after.counts)")
    }

    @Test(arguments: TestDatabase.allCases)
    func aMailDeletedInTheMailboxIsMarkedNotDeleted(database: TestDatabase) async throws {
        let h = try harness(database)
        let id = try h.mailbox(.mail).insert(mail("Kündigung", id: "<k@kunde.test>"))
        try h.mailbox(.mail).insert(mail("Bleibt", id: "<b@kunde.test>"))
        try await h.sync()
        try h.mailbox(.mail).delete(id)
        let report = try #require(try await h.sync().of("mail"))
        #expect(report.status == .ok)
        let rows = try activities(h)
        #expect(rows.count == 2, "the activity stays in FlowFact")
        let marked = try h.count(
            "SELECT COUNT(*) FROM \"AKTMKM\" m JOIN \"AKT\" a ON a.\"ID\" = m.\"AKT_ID\" WHERE m.\"MKM_ID\" = ? AND a.\"BETREFF\" = ?",
            [.text(Self.deletedMerkmal), .text("Kündigung")])
        #expect(marked == 1)
        #expect(
            try h.count("SELECT COUNT(*) FROM \"AKTMKM\" WHERE \"MKM_ID\" = ?", [.text(Self.deletedMerkmal)]) == 1)
        // With deletion: { target: propagate } the activity goes.
        let h2 = try harness(database, deletion: "{ target: propagate }")
        let id2 = try h2.mailbox(.mail).insert(mail("Weg", id: "<w@kunde.test>"))
        try await h2.sync()
        try h2.mailbox(.mail).delete(id2)
        try await h2.sync()
        #expect(try activities(h2).isEmpty)
    }

    @Test(arguments: TestDatabase.allCases)
    func flowFactOnlyMailsArePlacedOnceAsReceivedMails(database: TestDatabase) async throws {
        let h = try harness(database)
        // A mail FlowFact's own mail service fetched: only in FlowFact.
        let activity = UUID().uuidString
        let at = h.stamp(Date())
        try h.db.execute(
            """
            INSERT INTO "AKT" ("ID", "AKTART_ID", "BETREFF", "TEXT", "DATUM", "BESITZER_ID", "MAIL_VON", "MAIL_AN", "MAIL_MSGID",
              "MAIL_DATUM", "ERLEDIGT", "GANZTAEGIG", "ERFDATUM", "AENDDATUM") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
            """,
            [
                .text(activity), .text(Self.incomingType), .text("Mietvertrag"), .text("Bitte prüfen."), at,
                .text(Harness.userMM), .text("Hans Wolf <hans@wolf.test>"), .text("mm@example.test"),
                .text("<ff-1@wolf.test>"), at, at, at,
            ])
        try h.db.execute(
            "INSERT INTO \"AKTMKM\" (\"AKT_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\") VALUES (?, ?, 0, ?)",
            [.text(activity), .text(Harness.userMerkmalMM), at])
        try await h.sync()
        let items = try h.mailbox(.mail).items
        #expect(items.count == 1)
        guard case .mail(let placed)? = items.first?.record else {
            Issue.record("not placed")
            return
        }
        #expect(placed.subject == "Mietvertrag")
        #expect(placed.from?.email == "hans@wolf.test")
        #expect(placed.messageID == "<ff-1@wolf.test>")
        #expect(placed.isRead, "the user Merkmal is inactive: read")
        #expect(placed.folder == .inbox)
        // Runs after that place nothing again, and do not import it back.
        try await h.sync()
        try await h.sync()
        #expect(try h.mailbox(.mail).items.count == 1)
        #expect(try activities(h).count == 1)
    }
}

extension MailSyncTests {
    /// The legacy (BlackBerry) profile narrows the mailbox side: mail is read-only there, and
    /// the user's own (sent) mails are not booked into FlowFact.
    @Test(arguments: TestDatabase.allCases)
    func theLegacyProfileKeepsMailReadOnly(database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.profiles = "  legacy:\n    target: { mail_states: [] }\n"
        h.connectors = """
              - name: mail
                kind: mail
                source: flowfact
                target: \(h.exchange)
                profile: legacy
            """
        let incoming = try h.mailbox(.mail).insert(mail("Anfrage", id: "<in@kunde.test>"))
        var sent = mail("AW: Anfrage", from: "Max Müller <mm@example.test>", id: "<out@example.test>")
        if case .mail(var message) = sent {
            message.folder = .sentItems
            sent = .mail(message)
        }
        try h.mailbox(.mail).insert(sent)
        try await h.sync()
        #expect(try activities(h).map { $0[1].string } == ["Anfrage"], "replies are not booked into FlowFact")
        let activity = try #require(try activities(h).first?[0])
        try h.mailbox(.mail).update(incoming) { record in
            if case .mail(var message) = record {
                message.isRead = true
                record = .mail(message)
            }
        }
        try await h.sync()
        let unread = try h.value(
            "SELECT \"AKTIV\" FROM \"AKTMKM\" WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
            [activity, .text(Harness.userMerkmalMM)]
        ).integer
        #expect(unread == 1, "no read-flag sync")
        try h.mailbox(.mail).delete(incoming)
        try await h.sync()
        #expect(try activities(h).count == 1)
        #expect(try h.count("SELECT COUNT(*) FROM \"AKTMKM\" WHERE \"MKM_ID\" = ?", [.text(Self.deletedMerkmal)]) == 0)

        // Without the profile the same sent mail is booked.
        let plain = try harness(database, mails: "both")
        try plain.mailbox(.mail).insert(sent)
        try await plain.sync()
        let rows = try activities(plain)
        #expect(rows.map { $0[1].string } == ["AW: Anfrage"])
        #expect(rows.first?[5].string?.trimmingCharacters(in: .whitespaces) == Self.outgoingType)
    }
}

extension MailSyncTests {
    @Test(arguments: TestDatabase.allCases)
    func attachmentsCanGoToTheFlowFactShare(database: TestDatabase) async throws {
        let h0 = try Harness(database, seed: Harness.counts())
        let share = h0.directory.appendingPathComponent("FlowFact")
        let h = try harness(database, settings: "flowfact_directory: \(share.path)\nattachment_storage: files")
        let plan = Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let other = Data("zweiter Plan".utf8)
        try h.mailbox(.mail).insert(
            mail(
                "Pläne", id: "<plaene@kunde.test>",
                attachments: [
                    MailAttachment(
                        name: "Grundriss: EG.pdf", mediaType: "application/pdf", size: 40_000, content: .inline(plan)),
                    MailAttachment(
                        name: "Grundriss: EG.pdf", mediaType: "application/pdf", size: 12, content: .inline(other)),
                ]))
        let report = try #require(try await h.sync().of("mail"))
        #expect(report.status == .ok)
        let rows = try h.db.rows(
            "SELECT \"PFAD\", \"INHALT\", \"GROESSE\" FROM \"BLOB\" ORDER BY \"GROESSE\" DESC")
        #expect(rows.count == 2)
        let paths = rows.compactMap { $0[0].string }
        #expect(paths.count == 2 && paths.allSatisfy { $0.hasPrefix("Anhaenge\\") && !$0.contains("/") })
        #expect(rows.allSatisfy { $0[1].isNull }, "the bytes are on the share, not in the database")
        let files = paths.map { share.appendingPathComponent($0.replacingOccurrences(of: "\\", with: "/")) }
        #expect(FileManager.default.contents(atPath: files[0].path) == plan)
        #expect(FileManager.default.contents(atPath: files[1].path) == other)
        #expect(files[0].lastPathComponent == "Grundriss_ EG.pdf")
        #expect(files[1].lastPathComponent == "Grundriss_ EG (2).pdf")
    }
}

extension MailSyncTests {
    /// PostgreSQL refuses a subject longer than its column: the batch rolls back and is repeated item
    /// by item. The files the rolled-back batch put on the share go with it.
    @Test func aRolledBackBatchLeavesNoFilesOnTheShare() async throws {
        let h0 = try Harness(.postgres, seed: Harness.counts())
        let share = h0.directory.appendingPathComponent("FlowFact")
        let h = try harness(.postgres, settings: "flowfact_directory: \(share.path)\nattachment_storage: files")
        try h.mailbox(.mail).insert(
            mail(
                "Plan", id: "<plan@kunde.test>",
                attachments: [
                    MailAttachment(
                        name: "Plan.pdf", mediaType: "application/pdf", size: 4, content: .inline(Data("%PDF".utf8)))
                ]))
        try h.mailbox(.mail).insert(mail(String(repeating: "Betreff ", count: 40), id: "<lang@kunde.test>"))
        let report = try #require(try await h.sync().of("mail"))
        #expect(report.failures.count == 1, "the mail with the long subject fails alone")
        #expect(try activities(h).map { $0[1].string } == ["Plan"])
        let files =
            FileManager.default.enumerator(atPath: share.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".pdf") } ?? []
        #expect(files.count == 1, "\(files)")
        #expect(files.allSatisfy { !$0.contains("(2)") })
    }
}

extension MailSyncTests {
    /// Writes `records` as one batch of creates straight to the FlowFact endpoint of user MM; the
    /// results and the statements the batch took.
    func applyBatch(_ h: Harness, _ records: [Record]) async throws -> ([WriteResult], Int) {
        let adapter = try FlowFactAdapter.type.make(
            try h.deployment().adapters["flowfact"]!.settings,
            AdapterContext(instanceName: "flowfact", baseDirectory: h.directory, log: { _, _ in }))
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "mail", kind: .mail, role: .source,
                user: "MM", account: FlowFactAdapter.type.account(on: "flowfact", ["user": "MM"])))
        let batch = records.map { WriteOperation.create(syncKey: SyncKey(rawValue: UUID().uuidString), record: $0) }
        let counter = ODBCStatementCounter()
        let results = try await ODBCStatistics.$counter.withValue(counter) { try await endpoint.apply(batch) }
        await adapter.shutdown()
        return (results, counter.statements)
    }

    /// Senders are looked up for a whole batch at once: a page of mails from unknown senders costs
    /// no more than a page from one known sender (it used to cost two statements, one a scan of the
    /// address table, per mail). The links are the same as one by one.
    @Test(arguments: TestDatabase.allCases)
    func sendersAreLookedUpOncePerBatch(database: TestDatabase) async throws {
        let h = try harness(database, mails: "both")
        let erika = try h.insertAddress(given: "Erika", family: "Muster", extra: ["EMAIL": .text("erika@kunde.test")])
        let jonas = try h.insertAddress(
            given: "Jonas", family: "Berg", extra: ["EMAIL3": .text("Jonas.Berg@Kunde.test")])
        let known = (1...30).map { mail("Anfrage \($0)") }
        let (knownResults, knownStatements) = try await applyBatch(h, known)
        #expect(knownResults.allSatisfy { if case .success = $0 { true } else { false } })
        let unknown = (1...30).map { mail("Newsletter \($0)", from: "News <news\($0)@versand.test>") }
        let (unknownResults, unknownStatements) = try await applyBatch(h, unknown)
        #expect(unknownResults.allSatisfy { if case .success = $0 { true } else { false } })
        #expect(
            unknownStatements <= knownStatements + 2,
            "30 unknown senders: \(unknownStatements) statements; 30 mails from one known sender: \(knownStatements)")

        // One batch of every case: as written, in other case, in the third e-mail column, unknown,
        // and a sent mail linked to its first known recipient.
        var sent = MailMessage(
            messageID: "<sent-1@example.test>", from: MailAddress(email: "mm@example.test"),
            to: [MailAddress(email: "neu@unbekannt.test"), MailAddress(email: "JONAS.BERG@kunde.test")],
            subject: "Angebot", sentAt: Date().addingTimeInterval(-600), receivedAt: Date().addingTimeInterval(-600),
            textBody: "Anbei.")
        sent.folder = .sentItems
        let mixed = [
            mail("Genau", from: "erika@kunde.test"), mail("Grossschreibung", from: "ERIKA@Kunde.TEST"),
            mail("Dritte Spalte", from: "jonas.berg@kunde.test"), mail("Fremd", from: "x@unbekannt.test"),
            .mail(sent),
        ]
        let (results, _) = try await applyBatch(h, mixed)
        var linked: [String: String?] = [:]
        for result in results {
            guard case .success(let id, _, _) = result else {
                Issue.record("\(result)")
                continue
            }
            let row = try h.db.rows("SELECT \"BETREFF\", \"AD_ID\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(id)])
            linked.updateValue(row[0][1].string?.trimmingCharacters(in: .whitespaces), forKey: row[0][0].string ?? "")
        }
        #expect(linked["Genau"] == .some(erika))
        #expect(linked["Grossschreibung"] == .some(erika))
        #expect(linked["Dritte Spalte"] == .some(jonas))
        #expect(linked["Fremd"] == .some(nil))
        #expect(linked["Angebot"] == .some(jonas))
    }
}

extension MailSyncTests {
    /// A batch of mails costs its inserts and links; its lookups (copies by sync key, message-ids,
    /// the mails answered, the senders) are made once for the whole batch. Within a batch, a mail
    /// still finds one the batch created before it: the same message twice is one activity, and a
    /// reply joins the thread of a mail in the same batch.
    @Test(arguments: TestDatabase.allCases)
    func aBatchOfMailsCostsItsWritesNotItsLookups(database: TestDatabase) async throws {
        let h = try harness(database)
        try h.insertAddress(given: "Erika", family: "Muster", extra: ["EMAIL": .text("erika@kunde.test")])
        let (results, statements) = try await applyBatch(h, (1...40).map { mail("Anfrage \($0)") })
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        // Three writes a mail (the activity, its user Merkmal, its sync key), lookups for the batch.
        #expect(statements <= 40 * 3 + 5, "\(statements) statements for 40 mails")

        // The message-id again in other case (SQL Server's default collation matches it so).
        let first = mail("Exposé", id: "<Batch-1@Kunde.test>")
        let again = mail("Exposé (noch einmal)", id: "<batch-1@kunde.test>")
        let reply = mail("AW: Exposé", from: "Unbekannt <neu@unbekannt.test>", inReplyTo: "<batch-1@kunde.test>")
        let (mixed, _) = try await applyBatch(h, [first, again, reply])
        let ids = mixed.compactMap { if case .success(let id, _, _) = $0 { id } else { nil } }
        #expect(ids.count == 3)
        #expect(ids[0] == ids[1], "the same message twice in one batch is one activity")
        let row = try h.db.rows(
            "SELECT \"VORGANG_ID\", \"AD_ID\" FROM \"AKT\" WHERE \"ID\" = ?", [.text(ids[2])]
        ).first
        #expect(row?[0].string?.trimmingCharacters(in: .whitespaces) == ids[0], "the reply joins its thread")
        let erika = try h.value("SELECT \"ID\" FROM \"AD\" WHERE \"EMAIL\" = 'erika@kunde.test'").string
        #expect(row?[1].string?.trimmingCharacters(in: .whitespaces) == erika, "and takes its address")
    }
}

extension Harness {
    func mailboxCount() -> Int { (try? mailbox(.mail).items.count) ?? -1 }
}
