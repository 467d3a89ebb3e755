import ConnectorAPI
import ConnectorHost
import Connectors
import FlowFactDevelopment
import Foundation
import ODBC
import TestSupport
import Testing

@testable import Connectors
@testable import FlowFactConnector

/// The FlowFact adapter's SQL for Microsoft SQL Server, checked without a SQL Server: connected
/// through ``TSQLBridge``, the adapter believes it talks to SQL Server and writes T-SQL; each
/// statement is parsed by sqlglot's T-SQL parser (one it cannot parse, or that uses syntax SQL
/// Server lacks, fails), transpiled to PostgreSQL and run there. The same workload on PostgreSQL
/// with the adapter's own PostgreSQL statements must give the same results.
///
/// Every other FlowFact test runs on this dialect too (`TestDatabase.sqlServerDialect`); this suite
/// checks that the checker refuses what SQL Server would, that the workload reaches each kind of
/// statement, and that both dialects' results agree.
@Suite("SQL Server dialect: the adapter's T-SQL parsed by sqlglot and run on PostgreSQL")
struct SQLServerDialectTests {
    @Test("the checker refuses what SQL Server would refuse, and follows parameters through TOP")
    func theCheckerRefusesWhatSQLServerWould() throws {
        let bridge = TSQLBridge()
        for (sql, why) in [
            ("SELECT [A] FROM [T] ORDER BY [A] LIMIT ?", "LIMIT"),
            ("SELECT [A] || [B] FROM [T]", "||"),
            ("SELECT [A] FROM [T] WHERE [B] = TRUE", "TRUE"),
            ("SELECT [A]::INT FROM [T]", "::"),
            ("INSERT INTO [T] ([A]) VALUES (?) RETURNING [ID]", "RETURNING"),
            ("SELECT [A] FROM WHERE", "Expected"),
            (
                "SELECT [A] FROM [T] WHERE [B] IN (\(Array(repeating: "?", count: 2101).joined(separator: ", ")))",
                "2101"
            ),
        ] {
            #expect(throws: TSQLBridge.Refused.self, "\(why)") { try bridge.translate(sql) }
            #expect(
                bridge.refused[sql]?.contains(why) == true, "\(bridge.refused[sql] ?? "accepted"): \(sql.prefix(60))")
        }
        let most = "SELECT [A] FROM [T] WHERE [B] IN (\(Array(repeating: "?", count: 2100).joined(separator: ", ")))"
        #expect(try bridge.translate(most).parameterOrder == Array(0..<2100))
        // TOP (?) becomes LIMIT ? at the end: the first parameter is bound last.
        let top = try bridge.translate("SELECT TOP (?) [A] FROM [T] WHERE [B] > ? AND [C] = '?' ORDER BY [A]")
        #expect(top.parameterOrder == [1, 0])
        #expect(top.sql.hasSuffix("LIMIT ?"))
        #expect(top.sql.contains("'?'"), "a ? in a string is no parameter")
        // The append form of .WRITE becomes ||; (MAX) lengths are dropped for PostgreSQL.
        #expect(
            try bridge.translate("UPDATE [B] SET [C].WRITE(?, NULL, NULL) WHERE [ID] = ?").sql
                == "UPDATE \"B\" SET \"C\" = \"C\" || ? WHERE \"ID\" = ?")
        #expect(
            try bridge.translate("CREATE TABLE [X] ([A] NVARCHAR(MAX), [B] VARBINARY(MAX))").sql.contains("BYTEA,")
                == false)
    }

    /// What a run leaves behind, with ids and the run's own timestamps replaced, so two runs compare.
    struct Outcome: Equatable {
        var reports: [String] = []
        var mailbox: [String] = []
        var tables: [String: [String]] = [:]
    }

    static func normalized(_ text: String) -> String {
        text.replacing(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/, with: "<id>")
    }

    func run(_ database: TestDatabase, now: Date, bridge: TSQLBridge?) async throws -> Outcome {
        let h = try Harness(database, initialize: false)
        // The adapter's connections (the longer string) go through this test's own bridge, so its
        // catalogue holds this workload's statements alone; the DDL and seed go through it too.
        bridge?.install(for: h.adapterConnectionString)
        defer { if bridge != nil { ODBCDialectBridges.remove(prefix: h.adapterConnectionString) } }
        let setup = try ODBCConnection(connectionString: h.adapterConnectionString)
        try FlowFactSeeder(connection: setup).initialize()
        var counts = Harness.counts(users: 2, addresses: 24, appointments: 12, tasks: 8, mails: 8)
        counts.syncShare = 1
        try FlowFactSeeder(connection: setup).seed(counts, now: now)
        setup.close()
        h.connectors = """
              - { name: contacts, kind: address, source: flowfact, target: \(h.exchange), filter: { merkmale: [Outlook-Sync], user_merkmal: true, match: all } }
              - { name: calendar, kind: calendar, source: flowfact, target: \(h.exchange) }
              - { name: tasks, kind: task, source: flowfact, target: \(h.exchange) }
              - { name: mail, kind: mail, source: flowfact, target: \(h.exchange), source_options: { mail: both } }
            """
        h.adapterSettings = "categories: { VIP: Kunde }"
        var outcome = Outcome()
        func record(_ reports: [RunReport]) {
            for report in reports.sorted(by: { $0.job.connector < $1.job.connector }) {
                let counts = report.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                outcome.reports.append(
                    "\(report.job.connector) \(report.status) \(counts.joined(separator: " ")) \(report.failures.map(\.message))"
                )
            }
            outcome.reports.append("--")
        }
        // First run in small pages: keyset page, id lists and reads by id.
        record(
            try await FlowFactReadPages.$current.withValue(FlowFactReadPages(keyset: 5, idList: 7, byID: 3)) {
                try await h.sync()
            })

        // FlowFact users change, add and delete (with the deletion log).
        let later = h.stamp(now.addingTimeInterval(5))
        let address = try #require(try h.db.rows("SELECT \"ID\" FROM \"AD\" ORDER BY \"ID\"").first?[0])
        try h.db.execute(
            "UPDATE \"AD\" SET \"POSITION\" = ?, \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [.text("Prokuristin"), later, address])
        try h.insertAddress(
            given: "Neu", family: "Aus FlowFact", merkmale: [Harness.syncMerkmal, Harness.userMerkmalMM])
        let appointment = try #require(
            try h.db.rows(
                "SELECT \"ID\" FROM \"AKT\" WHERE \"AKTART_ID\" = ? AND \"BESITZER_ID\" = ? ORDER BY \"ID\"",
                [.text(Harness.termin), .text(Harness.userMM)]
            ).first?[0])
        try h.db.execute("DELETE FROM \"AKTMKM\" WHERE \"AKT_ID\" = ?", [appointment])
        try h.db.execute("DELETE FROM \"AKT\" WHERE \"ID\" = ?", [appointment])
        try h.db.execute(
            "INSERT INTO \"DELLOG\" (\"TABELLE\", \"DATENSATZ_ID\", \"GELOESCHT_AM\") VALUES ('AKT', ?, ?)",
            [appointment, later])

        // Mailbox users change, add and delete; a mail arrives with an attachment bigger than one
        // appended slice (4 MiB), which SQL Server gets in .WRITE slices.
        let contacts = try h.mailbox(.address)
        let contact = try #require(contacts.items.sorted { $0.record.displayName < $1.record.displayName }.first)
        contacts.update(contact.id) {
            if case .address(var a) = $0 {
                a.notes = "Rückruf erbeten – ☎"
                // What FlowFact has no column for goes to the connector table; VIP is a Merkmal.
                a.middleName = "Luise"
                a.homeAddress = PostalAddress(street: "Ringstraße 9", postalCode: "50674", city: "Köln")
                a.categories = ["VIP", "Privat"]
                $0 = .address(a)
            }
        }
        contacts.insert(.address(Address(givenName: "Zoë", familyName: "Aus Outlook", emails: ["zoe@kunde.test"])))
        let tasks = try h.mailbox(.task)
        let task = try #require(tasks.items.sorted { $0.record.displayName < $1.record.displayName }.first)
        tasks.delete(task.id)
        let big = h.directory.appendingPathComponent("plan.pdf")
        // 5 MiB and a bit: a 4 KiB pattern repeated (cheap to make in a debug build).
        let block = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) })
        var bytes = Data(capacity: (5 << 20) + 123)
        for _ in 0..<1280 { bytes.append(block) }
        bytes.append(block.prefix(123))
        try bytes.write(to: big)
        try h.mailbox(.mail).insert(
            .mail(
                MailMessage(
                    messageID: "<plan-1@kunde.test>", from: MailAddress(name: "Zoë", email: "zoe@kunde.test"),
                    to: [MailAddress(name: "Max Müller", email: "mm@example.test")], subject: "Grundriss",
                    sentAt: now.addingTimeInterval(-60), receivedAt: now.addingTimeInterval(-50),
                    textBody: "Anbei der Plan.",
                    attachments: [
                        MailAttachment(
                            name: "plan.pdf", mediaType: "application/pdf", size: Int64(bytes.count),
                            content: .file(path: big.path))
                    ])))
        record(try await h.sync())
        record(try await h.sync())

        for kind in DataKind.allCases {
            for item in try h.mailbox(kind).items {
                var record = item.record
                if case .mail(var mail) = record {
                    for index in mail.attachments.indices {
                        if case .file(let path) = mail.attachments[index].content {
                            // Compared by size and hash: encoding megabytes into the text to compare
                            // (and searching it for ids) would hold a test thread for seconds.
                            let data = try Data(contentsOf: URL(fileURLWithPath: path))
                            mail.attachments[index].content = .reference("\(data.count) bytes \(data.hashValue)")
                        } else if case .inline(let data) = mail.attachments[index].content {
                            mail.attachments[index].content = .reference("\(data.count) bytes \(data.hashValue)")
                        }
                    }
                    record = .mail(mail)
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                let json = String(decoding: try encoder.encode(record.value), as: UTF8.self)
                outcome.mailbox.append(Self.normalized("\(kind) \(json)"))
            }
        }
        outcome.mailbox.sort()
        let written = h.stamp(now.addingTimeInterval(-1)).timestamp!
        for table in [
            "AD", "ADMKM", "AKT", "AKTMKM", "BLOB", "DELLOG", "MKM", "BEN", "Aktivitätenarten", "CONNECTOR_SYNCKEY",
            "CONNECTOR_FIELDS",
        ] {
            let rows = try h.db.rows("SELECT * FROM \"\(table)\"")
            outcome.tables[table] = rows.map { row in
                Self.normalized(
                    zip(row.columns, row.values).map { column, value in
                        // Stamps the run wrote itself (creation, change, sync-key times) differ per run.
                        if let stamp = value.timestamp, stamp > written { return "\(column)=<now>" }
                        if case .binary(let data) = value { return "\(column)=\(data.count) bytes \(data.hashValue)" }
                        return "\(column)=\(value.string?.trimmingCharacters(in: .whitespaces) ?? "\(value)")"
                    }.joined(separator: "|"))
            }.sorted()
        }
        return outcome
    }

    /// What only one of two lists holds, for a readable failure.
    static func difference(_ sqlServer: [String], _ postgres: [String]) -> String {
        let only = { (a: [String], b: [String]) in a.filter { !b.contains($0) } }
        return
            "only with SQL Server's statements: \(only(sqlServer, postgres)); only with PostgreSQL's: \(only(postgres, sqlServer))"
    }

    @Test("every kind of statement parses as T-SQL and returns what the PostgreSQL statements return")
    func bothDialectsAgree() async throws {
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let bridge = TSQLBridge()
        let sqlServer = try await run(.sqlServerDialect, now: now, bridge: bridge)
        let postgres = try await run(.postgres, now: now, bridge: nil)

        #expect(bridge.refused.isEmpty, "\(bridge.refused)")
        #expect(sqlServer.reports == postgres.reports)
        #expect(sqlServer.reports.first?.contains("create=") == true, "\(sqlServer.reports)")
        #expect(sqlServer.mailbox == postgres.mailbox, "\(Self.difference(sqlServer.mailbox, postgres.mailbox))")
        #expect(sqlServer.mailbox.count > 40)
        for (table, rows) in postgres.tables {
            #expect(
                sqlServer.tables[table] == rows,
                "table \(table): \(Self.difference(sqlServer.tables[table] ?? [], rows))")
        }
        #expect(sqlServer.tables["BLOB"]?.contains { $0.contains("\((5 << 20) + 123) bytes") } == true)

        // The workload reached each kind of statement the adapter writes for SQL Server.
        let statements = bridge.statements.keys
        for (what, marker) in [
            ("the sync-key table's DDL", "CREATE TABLE [CONNECTOR_SYNCKEY]"),
            ("a keyset page", "SELECT TOP (?)"),
            ("reads by id", "IN (?, ?, ?)"),
            ("the change query", "[AENDDATUM] >= ?"),
            ("the deletion log", "FROM [DELLOG]"),
            ("attachment slices read", "SUBSTRING([INHALT], ?, ?)"),
            ("attachment slices appended", "[INHALT].WRITE(?, NULL, NULL)"),
            ("addresses written", "INSERT INTO [AD]"),
            ("addresses updated", "UPDATE [AD] SET"),
            ("activities written", "INSERT INTO [AKT]"),
            ("activities deleted", "DELETE FROM [AKT]"),
            ("Merkmal links", "INSERT INTO [AKTMKM]"),
            ("sync keys stamped", "INSERT INTO [CONNECTOR_SYNCKEY]"),
            ("sync keys found", "FROM [CONNECTOR_SYNCKEY]"),
            ("the kept-fields table's DDL", "CREATE TABLE [CONNECTOR_FIELDS]"),
            ("kept fields read", "LEFT JOIN [CONNECTOR_FIELDS]"),
            ("kept fields written", "INSERT INTO [CONNECTOR_FIELDS]"),
            ("mapped categories read", "SELECT MAX(c.[AKTIV])"),
            ("mapped categories linked", "INSERT INTO [ADMKM]"),
        ] {
            #expect(statements.contains { $0.contains(marker) }, "\(what): no statement with \(marker)")
        }
        // Without a real SQL Server there is nothing to compare against; print what was checked.
        let most = statements.map { $0.filter { $0 == "?" }.count }.max() ?? 0
        print("SQL Server dialect: \(statements.count) distinct statements parsed as T-SQL, at most \(most) parameters")
        #expect(most <= 2100)
    }
}
