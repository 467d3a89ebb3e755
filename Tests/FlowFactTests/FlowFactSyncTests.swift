import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import ODBC
import TestSupport
import Testing

@Suite("FlowFact adapter over real ODBC drivers")
struct FlowFactSyncTests {
    static let contacts =
        "  - { name: contacts, kind: address, source: flowfact, target: EX, filter: { merkmale: [Outlook-Sync] } }"

    func contactsConnector(_ h: Harness, _ extra: String = "") -> String {
        "  - { name: contacts, kind: address, source: flowfact, target: \(h.exchange), filter: { merkmale: [Outlook-Sync] }\(extra) }"
    }

    @Test(
        "addresses with umlauts, emoji, NULLs and a 1 MB note go both ways unchanged", arguments: TestDatabase.allCases)
    func unicodeRoundTrip(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.connectors = contactsConnector(h)
        let note = String(repeating: "Grüße aus Köln, Straße 5 – ß ẞ 🏠😀\n", count: 1_048_576 / 36)
        try h.insertAddress(given: "Jürgen", family: "Groß-Öztürk 😀", notes: note)
        let reports = try await h.sync()
        #expect(reports.of("contacts")?.status == .ok, "\(reports.of("contacts")?.message ?? "")")
        let exchange = try h.mailbox(.address)
        let copy = try #require(exchange.address(named: "Jürgen Groß-Öztürk 😀"))
        #expect(copy.notes == note)
        #expect(copy.jobTitle == nil)  // NULL stays absent
        #expect(copy.emails.isEmpty)

        // Exchange → FlowFact: a new contact with umlauts and a phone number arrives as an AD row.
        exchange.insert(
            .address(
                Address(
                    salutation: "Frau", givenName: "Zoë", familyName: "Weiß", company: "Bäckerei Kühn",
                    emails: ["zoe@weiss.example.test"],
                    phones: [.mobile: "+49 171 1234567"],
                    businessAddress: PostalAddress(street: "Schloßstraße 1", postalCode: "01067", city: "Dresden"),
                    birthday: LocalDate(year: 1980, month: 2, day: 29), notes: "Emoji 🎉")))
        let second = try await h.sync()
        #expect(second.of("contacts")?.counts["target→source create"] == 1)
        let rows = try h.db.rows("SELECT * FROM \"AD\" WHERE \"NAME\" = ?", [.text("Weiß")])
        let row = try #require(rows.first)
        #expect(row["VORNAME"].string == "Zoë")
        #expect(row["FIRMA"].string == "Bäckerei Kühn")
        #expect(row["STRASSE"].string == "Schloßstraße 1")
        #expect(row["TEL_MOBIL"].string == "+49 171 1234567")
        #expect(row["GEBURTSTAG"].timestamp == ODBCTimestamp(year: 1980, month: 2, day: 29))
        #expect(row["NOTIZ"].string == "Emoji 🎉")
        #expect(row["ERFBEN"].string == "MM")
        #expect(row["BESITZER_ID"].string == Harness.userMM)
        let id = try #require(row["ID"].string)
        #expect(UUID(uuidString: id) != nil)
        // It carries the filter's Merkmal, so it stays in scope, and its sync key is recorded.
        #expect(
            try h.count(
                "SELECT COUNT(*) FROM \"ADMKM\" WHERE \"AD_ID\" = ? AND \"MKM_ID\" = ?",
                [.text(id), .text(Harness.syncMerkmal)]) == 1)
        #expect(try h.count("SELECT COUNT(*) FROM \"CONNECTOR_SYNCKEY\" WHERE \"DATENSATZ_ID\" = ?", [.text(id)]) == 1)
        // Nothing echoes.
        let third = try await h.sync()
        #expect(third.of("contacts")?.counts.isEmpty == true)
    }

    @Test("Merkmal filters: all records, any of, all of, and the user's own Merkmal", arguments: TestDatabase.allCases)
    func merkmalFilters(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        let kunde = "3B000000-0000-4000-8000-000000000001"
        try h.insertAddress(given: "Nur", family: "Sync", merkmale: [Harness.syncMerkmal])
        try h.insertAddress(given: "Nur", family: "Kunde", merkmale: [kunde])
        try h.insertAddress(given: "Sync", family: "Kunde", merkmale: [Harness.syncMerkmal, kunde])
        try h.insertAddress(
            given: "Eigener", family: "Kontakt", merkmale: [Harness.syncMerkmal, Harness.userMerkmalMM])
        try h.insertAddress(given: "Ohne", family: "Merkmal", merkmale: [])
        let ex = h.exchange
        h.connectors = """
              - { name: all, kind: address, source: flowfact, target: \(ex), direction: source-to-target, target_options: { collection: all } }
              - { name: any, kind: address, source: flowfact, target: \(ex), direction: source-to-target, target_options: { collection: any }, filter: { merkmale: [Outlook-Sync, Kunde] } }
              - { name: both, kind: address, source: flowfact, target: \(ex), direction: source-to-target, target_options: { collection: both }, filter: { merkmale: [Outlook-Sync, Kunde], match: all } }
              - { name: mine, kind: address, source: flowfact, target: \(ex), direction: source-to-target, target_options: { collection: mine }, filter: { merkmale: [Outlook-Sync], user_merkmal: true, match: all } }
            """
        try await h.sync()
        func names(_ collection: String) throws -> [String] {
            try MemoryAdapter.store(instance: ex, collection: "\(collection)/mm@example.test").names
        }
        #expect(try names("all").count == 5)
        #expect(try names("any") == ["Eigener Kontakt", "Nur Kunde", "Nur Sync", "Sync Kunde"])
        #expect(try names("both") == ["Sync Kunde"])
        #expect(try names("mine") == ["Eigener Kontakt"])
    }

    @Test(
        "deletions are found through DELLOG, and by the periodic id comparison without it",
        arguments: TestDatabase.allCases)
    func deletionDetection(_ database: TestDatabase) async throws {
        for useDellog in [true, false] {
            let h = try Harness(database, seed: Harness.counts())
            h.adapterSettings = useDellog ? "use_dellog: true" : "use_dellog: false\nfull_scan_interval: 0s"
            h.connectors = contactsConnector(h)
            let ids = try (0..<10).map { try h.insertAddress(given: "P\($0)", family: "Müller") }
            try await h.sync()
            #expect(try h.mailbox(.address).items.count == 10)
            // A FlowFact user deletes a record (the client writes DELLOG when it is in use).
            try h.db.execute("DELETE FROM \"ADMKM\" WHERE \"AD_ID\" = ?", [.text(ids[0])])
            try h.db.execute("DELETE FROM \"AD\" WHERE \"ID\" = ?", [.text(ids[0])])
            if useDellog {
                try h.db.execute(
                    "INSERT INTO \"DELLOG\" (\"TABELLE\", \"DATENSATZ_ID\", \"GELOESCHT_AM\") VALUES ('AD', ?, ?)",
                    [.text(ids[0]), h.stamp(Date())])
            }
            let report = try await h.sync()
            #expect(report.of("contacts")?.counts["source→target delete"] == 1, "DELLOG \(useDellog)")
            #expect(try h.mailbox(.address).names.contains("P0 Müller") == false)
        }
    }

    @Test(
        "removing the Merkmal unlinks the contact (it stays in Outlook); deleting it removes it",
        arguments: TestDatabase.allCases)
    func filterLeaveVersusDelete(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.adapterSettings = "full_scan_interval: 0s"
        h.connectors = contactsConnector(h)
        let leaving = try h.insertAddress(given: "Anna", family: "Schäfer")
        let deleted = try h.insertAddress(given: "Bernd", family: "Weiß")
        for i in 0..<8 { try h.insertAddress(given: "P\(i)", family: "Bleibt") }
        try await h.sync()
        try h.db.execute("DELETE FROM \"ADMKM\" WHERE \"AD_ID\" = ?", [.text(leaving)])  // does not touch AENDDATUM
        try h.db.execute("DELETE FROM \"ADMKM\" WHERE \"AD_ID\" = ?", [.text(deleted)])
        try h.db.execute("DELETE FROM \"AD\" WHERE \"ID\" = ?", [.text(deleted)])
        let report = try await h.sync()
        let counts = try #require(report.of("contacts")?.counts)
        #expect(counts["unlink"] == 1)
        #expect(counts["source→target delete"] == 1)
        let names = try h.mailbox(.address).names
        #expect(names.contains("Anna Schäfer"))
        #expect(!names.contains("Bernd Weiß"))
        // The CRM record that left the filter is untouched.
        #expect(try h.count("SELECT COUNT(*) FROM \"AD\" WHERE \"ID\" = ?", [.text(leaving)]) == 1)
    }

    @Test(
        "a Merkmal added later brings a record into scope without a change of its date",
        arguments: TestDatabase.allCases)
    func merkmalLinkAdded(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.connectors = contactsConnector(h)
        let old = h.now.addingTimeInterval(-30 * 86400)
        let id = try h.insertAddress(given: "Später", family: "Dabei", merkmale: [], changed: old)
        try await h.sync()
        #expect(try h.mailbox(.address).items.isEmpty)
        try h.db.execute(
            "INSERT INTO \"ADMKM\" (\"AD_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\") VALUES (?, ?, 1, ?)",
            [.text(id), .text(Harness.syncMerkmal), h.stamp(Date())])
        let report = try await h.sync()
        #expect(report.of("contacts")?.counts["source→target create"] == 1)
    }

    @Test(
        "changes inside the overlap window are not missed and re-reads are harmless", arguments: TestDatabase.allCases)
    func watermarkOverlap(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.connectors = contactsConnector(h)
        try h.insertAddress(given: "Erst", family: "Einmal")
        try await h.sync()
        // A client with a clock two minutes behind commits a change stamped before the watermark.
        try h.insertAddress(given: "Spät", family: "Gestempelt", changed: Date().addingTimeInterval(-120))
        let report = try await h.sync()
        #expect(report.of("contacts")?.counts["source→target create"] == 1)
        #expect(try await h.sync().of("contacts")?.counts.isEmpty == true)
        #expect(try await h.sync().of("contacts")?.counts.isEmpty == true)
        // After quiet runs, a late row still shows.
        try h.insertAddress(given: "Noch", family: "Später", changed: Date().addingTimeInterval(-60))
        #expect(try await h.sync().of("contacts")?.counts["source→target create"] == 1)
        // A Merkmal linked late, to a record stamped long ago, shows too.
        let old = try h.insertAddress(
            given: "Alt", family: "Verknüpft", merkmale: [], changed: Date().addingTimeInterval(-86_400))
        #expect(try await h.sync().of("contacts")?.counts.isEmpty == true)
        try h.db.execute(
            "INSERT INTO \"ADMKM\" (\"AD_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\") VALUES (?, ?, 1, ?)",
            [.text(old), .text(Harness.syncMerkmal), h.stamp(Date().addingTimeInterval(-30))])
        #expect(try await h.sync().of("contacts")?.counts["source→target create"] == 1)
    }

    @Test("updates and deletions from Exchange are written the way FlowFact does", arguments: TestDatabase.allCases)
    func writesFromExchange(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.connectors = contactsConnector(h)
        let id = try h.insertAddress(given: "Anna", family: "Schäfer")
        for i in 0..<8 { try h.insertAddress(given: "P\(i)", family: "Bleibt") }
        try await h.sync()
        let exchange = try h.mailbox(.address)
        let copy = try #require(exchange.items(named: "Anna Schäfer").first)
        exchange.update(copy.id) {
            if case .address(var a) = $0 {
                a.jobTitle = "Maklerin"
                a.emails = ["anna@example.test"]
                $0 = .address(a)
            }
        }
        let update = try await h.sync()
        #expect(update.of("contacts")?.counts["target→source update"] == 1)
        let row = try #require(try h.db.rows("SELECT * FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]).first)
        #expect(row["POSITION"].string == "Maklerin")
        #expect(row["EMAIL"].string == "anna@example.test")
        #expect(row["AENDBEN"].string == "MM")
        exchange.delete(copy.id)
        let delete = try await h.sync()
        #expect(delete.of("contacts")?.counts["target→source delete"] == 1)
        #expect(try h.count("SELECT COUNT(*) FROM \"AD\" WHERE \"ID\" = ?", [.text(id)]) == 0)
        #expect(try h.count("SELECT COUNT(*) FROM \"ADMKM\" WHERE \"AD_ID\" = ?", [.text(id)]) == 0)
        #expect(try h.count("SELECT COUNT(*) FROM \"DELLOG\" WHERE \"DATENSATZ_ID\" = ?", [.text(id)]) == 1)
        #expect(try await h.sync().of("contacts")?.counts.isEmpty == true)
    }

    @Test(
        "after losing all sync state, copies in FlowFact are recognised by their sync key",
        arguments: TestDatabase.allCases)
    func stateLossNoDuplicates(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts())
        h.connectors = contactsConnector(h)
        try h.insertAddress(given: "Aus", family: "FlowFact")
        let exchange = try h.mailbox(.address)
        exchange.insert(.address(Address(givenName: "Aus", familyName: "Outlook")))
        try await h.sync()
        try FileManager.default.removeItem(at: h.directory.appendingPathComponent("state.sqlite"))
        let report = try await h.sync()
        #expect(report.of("contacts")?.counts["adopt"] == 2)
        #expect(try h.count("SELECT COUNT(*) FROM \"AD\"") == 2)
        #expect(exchange.items.count == 2)
    }

    @Test("appointments (timed, all-day, series) and tasks map both ways", arguments: TestDatabase.allCases)
    func calendarAndTasks(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts(appointments: 10, tasks: 7))
        h.connectors = """
              - { name: calendar, kind: calendar, source: flowfact, target: \(h.exchange) }
              - { name: tasks, kind: task, source: flowfact, target: \(h.exchange) }
            """
        let first = try await h.sync()
        #expect(first.of("calendar")?.counts["source→target create"] == 10)
        #expect(first.of("tasks")?.counts["source→target create"] == 7)
        let calendar = try h.mailbox(.calendar)
        let events = calendar.items.compactMap { if case .calendar(let e) = $0.record { e } else { nil } }
        #expect(events.contains { if case .allDay = $0.timing { true } else { false } })
        #expect(events.contains { $0.recurrence != nil })
        #expect(
            events.allSatisfy { if case .timed(_, _, let zone) = $0.timing { zone == "Europe/Berlin" } else { true } })

        // An all-day event created in Exchange keeps its dates in FlowFact.
        calendar.insert(
            .calendar(
                CalendarEvent(
                    subject: "Betriebsausflug",
                    timing: .allDay(
                        start: LocalDate(year: 2026, month: 3, day: 28),
                        endExclusive: LocalDate(year: 2026, month: 3, day: 30)))))
        let tasks = try h.mailbox(.task)
        tasks.insert(
            .task(
                TaskItem(
                    subject: "Exposé prüfen", dueDate: LocalDate(year: 2026, month: 12, day: 24), importance: .high)))
        let second = try await h.sync()
        #expect(second.of("calendar")?.counts["target→source create"] == 1)
        #expect(second.of("tasks")?.counts["target→source create"] == 1)
        let row = try #require(
            try h.db.rows("SELECT * FROM \"AKT\" WHERE \"BETREFF\" = ?", [.text("Betriebsausflug")]).first)
        #expect(row["GANZTAEGIG"].integer == 1)
        #expect(row["DATUM"].timestamp == ODBCTimestamp(year: 2026, month: 3, day: 28))
        #expect(row["ENDE"].timestamp == ODBCTimestamp(year: 2026, month: 3, day: 29))
        #expect(row["AKTART_ID"].string == Harness.termin)
        let task = try #require(
            try h.db.rows("SELECT * FROM \"AKT\" WHERE \"BETREFF\" = ?", [.text("Exposé prüfen")]).first)
        #expect(task["VORLAGE"].timestamp == ODBCTimestamp(year: 2026, month: 12, day: 24))
        #expect(task["PRIORITAET"].integer == 1)
        // The activity carries its owner's user Merkmal.
        #expect(
            try h.count(
                "SELECT COUNT(*) FROM \"AKTMKM\" WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
                [task["ID"], .text(Harness.userMerkmalMM)]) == 1)
        let third = try await h.sync()
        #expect(third.allSatisfy { $0.counts.isEmpty })
        // The all-day event comes back unchanged from FlowFact.
        let back = calendar.items(named: "Betriebsausflug")
        #expect(back.count == 1)
    }

    @Test("mails with binary attachments are read from BLOB", arguments: TestDatabase.allCases)
    func mailsWithAttachments(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts(mails: 6))
        h.connectors =
            "  - { name: mail, kind: mail, source: flowfact, target: \(h.exchange), direction: source-to-target }"
        try await h.sync()
        let mails = try h.mailbox(.mail).items.compactMap { if case .mail(let m) = $0.record { m } else { nil } }
        #expect(mails.count == 6)
        #expect(mails.filter { $0.folder == .sentItems }.count == 3)
        let withAttachment = try #require(mails.first { !$0.attachments.isEmpty })
        let attachment = withAttachment.attachments[0]
        // The content travelled through a spool file (copied out of the BLOB row slice by slice).
        guard case .inline(let content) = attachment.content else {
            Issue.record("expected the content in the mailbox, found \(attachment.content)")
            return
        }
        #expect(Int64(content.count) == attachment.size)
        let stored = try h.value(
            "SELECT \"INHALT\" FROM \"BLOB\" WHERE \"DATEINAME\" = ? AND \"GROESSE\" = ?",
            [.text(attachment.name), .integer(attachment.size)])
        #expect(stored.data == content)
        #expect(mails.allSatisfy { $0.messageID?.hasPrefix("<") == true })
    }

    @Test("reads that span several pages (2,000 rows each) deliver every record once", arguments: TestDatabase.allCases)
    func paging(_ database: TestDatabase) async throws {
        var counts = Harness.counts(addresses: 4_100)
        counts.syncShare = 1
        let h = try Harness(database, seed: counts)
        h.connectors = contactsConnector(h, ", direction: source-to-target")
        let report = try #require(try await h.sync().of("contacts"))
        #expect(report.counts["source→target create"] == 4_100)
        #expect(try h.mailbox(.address).items.count == 4_100)
        #expect(Set(try h.mailbox(.address).items.compactMap(\.syncKey)).count == 4_100)
    }

    @Test("an unreadable record is skipped and reported by id; the others sync", arguments: TestDatabase.allCases)
    func invalidData(_ database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts(appointments: 3))
        h.connectors = "  - { name: calendar, kind: calendar, source: flowfact, target: \(h.exchange) }"
        let broken = UUID().uuidString
        try h.db.execute(
            """
            INSERT INTO "AKT" ("ID", "AKTART_ID", "BETREFF", "DATUM", "PERIODE", "BESITZER_ID", "ERFDATUM", "AENDDATUM")
            VALUES (?, ?, 'Kaputte Serie', ?, 'jeden zweiten Dienstag', ?, ?, ?)
            """,
            [
                .text(broken), .text(Harness.termin), h.stamp(Date()), .text(Harness.userMM), h.stamp(Date()),
                h.stamp(Date()),
            ])
        let report = try #require(try await h.sync().of("calendar"))
        #expect(report.status == .partial)
        #expect(report.counts["source→target create"] == 3)
        let failure = try #require(report.failures.first)
        #expect(failure.itemID == broken)
        #expect(failure.message.contains("recurrence (PERIODE) is not readable"))
    }
}
