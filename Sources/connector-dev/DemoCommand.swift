import ArgumentParser
import ConnectorAPI
import ConnectorHost
import Connectors
import ExchangeSim
import ExchangeWebDAV
import FlowFactDevelopment
import Foundation
import Logging
import ODBC

/// `connector-dev demo`: the whole product on embedded defaults, in one command.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Runs the product end to end on embedded defaults: exchange-sim, a seeded FlowFact database, two syncs.",
        discussion: """
            Two firms. The first is on Exchange 2010 and later (EWS): the Exchange simulator with two mailboxes, a \\
            FlowFact-like database on SQLite through ODBC, a demo connectors.yaml, a full two-way sync, changes on \\
            both sides, another sync. The second is on Exchange 2007 over WebDAV with BlackBerry devices: the same \\
            with the wiring of deploy/examples/blackberry-exchange2007.yaml (mail read-only). Each prints what \\
            happened per user, kind and direction.
            """)

    @Option(help: "Folder for the demo's database, configuration, state and log (recreated).") var directory =
        "state/demo"
    @Option(help: "Microsoft's EWS schema set, for the simulator.") var schemas = "../shared/ews-schema"
    @Option(help: "The legacy firm's wiring (Exchange 2007 over WebDAV), run with the demo's addresses and names.")
    var legacyExample = "deploy/examples/blackberry-exchange2007.yaml"

    func run() async throws {
        let started = Date()
        let dir = URL(fileURLWithPath: directory).standardizedFileURL
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("connector-host.log").path, contents: nil)
        let log = try FileHandle(forWritingTo: dir.appendingPathComponent("connector-host.log"))
        LoggingSystem.bootstrap { StructuredLogHandler(label: $0, format: .logfmt, level: .info, output: log) }
        let logger = Logger(label: "connector-host")

        // 1. Exchange: the simulator with two mailboxes, NTLM, a service account with impersonation.
        var options = SimOptions(schemaDirectory: URL(fileURLWithPath: schemas))
        options.mailboxes = ["mm@example.test", "js@example.test"]
        options.accounts = [SimAccount(name: "svc-sync@example.test", password: "Demo-Passw0rd")]
        options.impersonation = ["svc-sync@example.test"]
        options.auth = .ntlm
        options.statePath = dir.appendingPathComponent("exchange.json")
        let server: SimServer
        do {
            server = SimServer(service: try SimService(options: options))
        } catch {
            printError("cannot start the Exchange simulator (is --schemas right?): \(error)")
            throw ExitCode(1)
        }
        let url = try await server.start()
        print("Exchange simulator: \(url) (mailboxes mm@example.test, js@example.test; NTLM)")

        // 2. FlowFact: a seeded database on SQLite through the SQLite3 ODBC driver.
        let connection = "Driver=SQLite3;Database=\(dir.appendingPathComponent("flowfact.sqlite").path)"
        let db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        let seeded = try seeder.seed(
            FlowFactSeeder.Counts(users: 2, addresses: 30, appointments: 12, tasks: 6, mails: 6))
        print("FlowFact database: \(dir.appendingPathComponent("flowfact.sqlite").path) (\(seeded))")

        // 3. The wiring, with the password in a file of its own.
        try "Demo-Passw0rd\n".write(to: dir.appendingPathComponent("ews.pw"), atomically: true, encoding: .utf8)
        let yaml = """
            # Written by `connector-dev demo`.
            state: { path: state.sqlite }
            adapters:
              flowfact: { type: flowfact-odbc, connection: "\(connection)", timezone: Europe/Berlin }
              exchange:
                type: ews
                url: \(url)
                auth: ntlm
                username: svc-sync@example.test
                password_file: ews.pw
                access: impersonation
            users:
              - { id: MM, flowfact: MM, exchange: mm@example.test }
              - { id: JS, flowfact: JS, exchange: js@example.test }
            connectors:
              - { name: contacts, kind: address, source: flowfact, target: exchange, filter: { merkmale: [Outlook-Sync] }, conflict: newest-wins }
              - { name: calendar, kind: calendar, source: flowfact, target: exchange, conflict: newest-wins }
              - { name: tasks, kind: task, source: flowfact, target: exchange }
              - { name: mail-in, kind: mail, source: flowfact, target: exchange, source_options: { mail: incoming }, target_options: { mail_folder: inbox } }
              - { name: mail-out, kind: mail, source: flowfact, target: exchange, source_options: { mail: outgoing }, target_options: { mail_folder: sentitems } }
            """
        let configPath = dir.appendingPathComponent("connectors.yaml")
        try yaml.write(to: configPath, atomically: true, encoding: .utf8)
        let deployment = try ConfigLoader(registry: registry).load(path: configPath.path)
        print("Configuration: \(configPath.path)\n")

        // 4. First sync.
        let first = try await sync(deployment, logger)
        print("First sync (everything is new):")
        print(Self.summary(first))

        // 5. Changes on both sides.
        let now = ODBCValue.timestamp(ODBCTimestamp(Date(), in: TimeZone(identifier: "Europe/Berlin")!))
        let address = try db.rows(
            "SELECT \"ID\", \"VORNAME\", \"NAME\" FROM \"AD\" a WHERE EXISTS (SELECT 1 FROM \"ADMKM\" m WHERE m.\"AD_ID\" = a.\"ID\") ORDER BY \"ID\" LIMIT 1"
        )
        if let row = address.first {
            try db.execute(
                "UPDATE \"AD\" SET \"POSITION\" = ?, \"AENDDATUM\" = ?, \"AENDBEN\" = 'MM' WHERE \"ID\" = ?",
                [.text("Prokuristin"), now, row[0]])
            print("changed in FlowFact: job title of \(row[1].string ?? "") \(row[2].string ?? "")")
        }
        let appointment = try db.rows(
            "SELECT \"ID\", \"BETREFF\" FROM \"AKT\" WHERE \"AKTART_ID\" = ? AND \"BESITZER_ID\" = ? ORDER BY \"ID\" LIMIT 1",
            [.text("7A000000-0000-4000-8000-000000000000"), .text("BE000000-0000-4000-8000-000000000000")])
        if let row = appointment.first {
            try db.execute("DELETE FROM \"AKTMKM\" WHERE \"AKT_ID\" = ?", [row[0]])
            try db.execute("DELETE FROM \"AKT\" WHERE \"ID\" = ?", [row[0]])
            try db.execute(
                "INSERT INTO \"DELLOG\" (\"TABELLE\", \"DATENSATZ_ID\", \"GELOESCHT_AM\", \"GELOESCHT_VON\") VALUES ('AKT', ?, ?, 'MM')",
                [row[0], now])
            print("deleted in FlowFact: appointment '\(row[1].string ?? "")' of MM")
        }
        let exchange = try EWSAdapter.type.make(
            deployment.adapters["exchange"]!.settings,
            AdapterContext(instanceName: "outlook", baseDirectory: dir, log: { _, _ in }))
        let js = EWSAdapter.type.account(on: "exchange", ["mailbox": "js@example.test"])
        let contacts = try await exchange.endpoint(
            for: EndpointScope(connector: "outlook", kind: .address, role: .target, user: "JS", account: js))
        _ = try await contacts.apply([
            .create(
                syncKey: SyncKey(rawValue: "outlook-demo"),
                record: .address(
                    Address(
                        salutation: "Frau", givenName: "Zoë", familyName: "Weiß", company: "Bäckerei Weiß",
                        emails: ["zoe@baeckerei-weiss.example"],
                        phones: [.mobile: "+49 171 2345678"], notes: "Neu in Outlook angelegt")))
        ])
        print("created in Outlook (JS): contact Zoë Weiß")
        let tasks = try await exchange.endpoint(
            for: EndpointScope(connector: "outlook", kind: .task, role: .target, user: "JS", account: js))
        if case .upsert(let task)? = try await tasks.changes(ChangeRequest(cursor: nil, known: [:])).changes.first,
            case .task(var item) = task.record
        {
            item.status = .completed
            item.percentComplete = 100
            item.completedAt = Date()
            _ = try await tasks.apply([
                .update(
                    id: task.id, expectedVersion: task.version, record: .task(item),
                    fields: ["status", "percentComplete", "completedAt"])
            ])
            print("completed in Outlook (JS): task '\(item.subject)'")
        }
        let inbox = try await exchange.endpoint(
            for: EndpointScope(connector: "outlook", kind: .mail, role: .target, user: "JS", account: js))
        _ = try await inbox.apply([
            .create(
                syncKey: SyncKey(rawValue: "outlook-demo-mail"),
                record: .mail(
                    MailMessage(
                        messageID: "<besichtigung-\(UUID().uuidString.prefix(8))@baeckerei-weiss.example>",
                        from: MailAddress(name: "Zoë Weiß", email: "zoe@baeckerei-weiss.example"),
                        to: [MailAddress(name: "Julia Schäfer", email: "js@example.test")],
                        subject: "Besichtigung am Freitag?", sentAt: Date().addingTimeInterval(-120),
                        receivedAt: Date().addingTimeInterval(-60),
                        textBody: "Hallo Frau Schäfer,\npasst Ihnen Freitag um 10 Uhr?\nZoë Weiß",
                        attachments: [
                            MailAttachment(
                                name: "Grundriss Ladenlokal.pdf", mediaType: "application/pdf", size: 4,
                                content: .inline(Data("%PDF".utf8)))
                        ])))
        ])
        print("arrived in Outlook (JS): mail 'Besichtigung am Freitag?' from Zoë Weiß, with an attachment")
        await exchange.shutdown()

        // 6. Second sync.
        let second = try await sync(deployment, logger)
        print("\nSecond sync (the changes travel; nothing else is touched):")
        print(Self.summary(second))
        // A record that came into FlowFact from one mailbox reaches the other mailboxes next.
        var round = 3
        while round <= 5 {
            let next = try await sync(deployment, logger)
            if next.allSatisfy({ $0.counts.isEmpty }) {
                print("\nSync \(round): no changes anywhere (nothing echoes, nothing is duplicated)")
                break
            }
            print("\nSync \(round) (what the last sync brought into FlowFact reaches the other mailboxes):")
            print(Self.summary(next))
            round += 1
        }

        await server.stop()
        print(
            """

            State:    \(deployment.statePath.path) (mappings, cursors, conflicts, dead letters; `connector-host status --config \(configPath.path)`)
            Log:      \(dir.appendingPathComponent("connector-host.log").path)
            Exchange: \(dir.appendingPathComponent("exchange.json").path) (the simulator's mailboxes)
            """)
        try await legacyFirm(dir.appendingPathComponent("legacy"), logger)
        print("\nDone in \(String(format: "%.1f", Date().timeIntervalSince(started))) s.")
    }

    /// The second firm: Exchange 2007 over WebDAV with a forms login, BlackBerry devices reading
    /// the mailboxes, mail read-only; the wiring of `deploy/examples/blackberry-exchange2007.yaml`.
    func legacyFirm(_ dir: URL, _ logger: Logger) async throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        print("\n=== Firm 2: Exchange 2007 over WebDAV (BlackBerry devices; mail read-only) ===\n")
        var options = SimOptions(schemaDirectory: URL(fileURLWithPath: schemas))
        options.mailboxes = ["mm@example.test", "js@example.test"]
        options.accounts = [SimAccount(name: "svc-sync", password: "Demo-Passw0rd")]
        options.delegates = ["svc-sync"]
        options.protocols = [.webdav]
        options.auth = .forms2007
        options.statePath = dir.appendingPathComponent("exchange.json")
        let server = SimServer(service: try SimService(options: options))
        let base = try await server.start().replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/exchange/")
        print(
            "Exchange 2007 simulator: \(base) (WebDAV, forms login; folders Kontakte, Kalender, Aufgaben, Posteingang)")
        let connection = "Driver=SQLite3;Database=\(dir.appendingPathComponent("flowfact.sqlite").path)"
        let db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        let seeded = try seeder.seed(
            FlowFactSeeder.Counts(users: 2, addresses: 20, appointments: 8, tasks: 4, mails: 0))
        print("FlowFact database: \(dir.appendingPathComponent("flowfact.sqlite").path) (\(seeded))")
        guard var yaml = try? String(contentsOfFile: legacyExample, encoding: .utf8) else {
            printError("cannot read \(legacyExample) (run the demo from the project folder, or pass --legacy-example)")
            throw ExitCode(1)
        }
        for (from, to) in [
            ("/var/lib/connector-host/state.sqlite", "state.sqlite"),
            ("https://mail.example.com/exchange/", base),
            ("\"EXAMPLE\\\\svc-sync\"", "svc-sync"),
            ("password: \"${EXCHANGE_PASSWORD}\"", "password_file: exchange.pw"),
            ("exchange: mmustermann", "exchange: mm"), ("exchange: jschaefer", "exchange: js"),
            ("merkmale: [BlackBerry]", "merkmale: [Outlook-Sync]"),
        ] {
            yaml = yaml.replacingOccurrences(of: from, with: to)
        }
        yaml = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.trimmingCharacters(in: .whitespaces).hasPrefix("connection: \"Driver=FreeTDS")
                ? "    connection: \"\(connection)\"" : String(line)
        }.joined(separator: "\n")
        try "Demo-Passw0rd\n".write(to: dir.appendingPathComponent("exchange.pw"), atomically: true, encoding: .utf8)
        let configPath = dir.appendingPathComponent("connectors.yaml")
        try
            ("# \(legacyExample) with the demo's server, database and names (written by `connector-dev demo`).\n" + yaml)
            .write(to: configPath, atomically: true, encoding: .utf8)
        let deployment = try ConfigLoader(registry: registry).load(path: configPath.path)
        print("Configuration: \(configPath.path)\n")

        let first = try await sync(deployment, logger)
        print("First sync (everything is new):")
        print(Self.summary(first))

        // In the mailboxes: a contact created on JS's BlackBerry, a task completed, two mails arriving.
        let legacy = try WebDAVAdapter.type.make(
            deployment.adapters["exchange"]!.settings,
            AdapterContext(instanceName: "blackberry", baseDirectory: dir, log: { _, _ in }))
        let js = WebDAVAdapter.type.account(on: "exchange", ["mailbox": "js"])
        let contacts = try await legacy.endpoint(
            for: EndpointScope(connector: "blackberry", kind: .address, role: .target, user: "JS", account: js))
        _ = try await contacts.apply([
            .create(
                syncKey: SyncKey(rawValue: "blackberry-demo"),
                record: .address(
                    Address(
                        givenName: "Jürgen", familyName: "Öztürk", company: "Hausverwaltung Öztürk",
                        emails: ["j.oeztuerk@hv-oeztuerk.example"], phones: [.mobile: "+49 172 9876543"])))
        ])
        print("created on the BlackBerry (JS): contact Jürgen Öztürk")
        let tasks = try await legacy.endpoint(
            for: EndpointScope(connector: "blackberry", kind: .task, role: .target, user: "JS", account: js))
        if case .upsert(let task)? = try await tasks.changes(ChangeRequest(cursor: nil, known: [:])).changes.first,
            case .task(var item) = task.record
        {
            item.status = .completed
            item.percentComplete = 100
            _ = try await tasks.apply([
                .update(
                    id: task.id, expectedVersion: task.version, record: .task(item),
                    fields: ["status", "percentComplete"])
            ])
            print("completed on the BlackBerry (JS): task '\(item.subject)'")
        }
        await legacy.shutdown()
        for (mailbox, subject) in [("js@example.test", "Exposé Südhang"), ("mm@example.test", "Rückruf erbeten")] {
            let mime = """
                From: "Jürgen Öztürk" <j.oeztuerk@hv-oeztuerk.example>\r
                To: \(mailbox)\r
                Subject: =?utf-8?B?\(Data(subject.utf8).base64EncodedString())?=\r
                Message-ID: <\(UUID().uuidString.prefix(8))@hv-oeztuerk.example>\r
                Date: \(DAVMIME.rfc5322Date(Date()))\r
                MIME-Version: 1.0\r
                Content-Type: multipart/mixed; boundary="demo"\r
                \r
                --demo\r
                Content-Type: text/plain; charset=utf-8\r
                \r
                Guten Tag, anbei die Unterlagen.\r
                --demo\r
                Content-Type: application/pdf\r
                Content-Disposition: attachment; filename="Grundriss.pdf"\r
                Content-Transfer-Encoding: base64\r
                \r
                JVBERi0xLjQK\r
                --demo--\r

                """
            server.service.deliverDAVMail(to: mailbox, mime: Data(mime.utf8))
            print("arrived in the inbox of \(mailbox): mail '\(subject)' with an attachment")
        }

        let second = try await sync(deployment, logger)
        print("\nSecond sync:")
        print(Self.summary(second))
        var round = 3
        while round <= 5 {
            let next = try await sync(deployment, logger)
            if next.allSatisfy({ $0.counts.isEmpty }) {
                print("\nSync \(round): no changes anywhere")
                break
            }
            print("\nSync \(round):")
            print(Self.summary(next))
            round += 1
        }
        let written = ["inbox", "sentitems", "deleteditems", "drafts", "outbox"].reduce(0) { total, folder in
            total
                + ["mm@example.test", "js@example.test"].reduce(0) {
                    $0 + server.service.davWrites(account: "svc-sync", mailbox: $1, folder: folder)
                }
        }
        print("Writes to mail folders by the service: \(written) (mail is read-only on this profile)")
        await server.stop()
        print(
            """

            State:    \(deployment.statePath.path)
            Exchange: \(dir.appendingPathComponent("exchange.json").path).webdav.json (the simulator's mailboxes)
            """)
    }

    func sync(_ deployment: Deployment, _ logger: Logger) async throws -> [RunReport] {
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce()
        await host.shutdown()
        if let failed = reports.first(where: { $0.status == .failed }) {
            printError("sync of \(failed.job) failed: \(failed.message ?? "")")
            throw ExitCode(1)
        }
        return reports
    }

    /// A table per user, kind and direction.
    static func summary(_ reports: [RunReport]) -> String {
        let kinds = [
            "contacts": "contacts", "calendar": "appointments", "tasks": "tasks", "mail-in": "mail received",
            "mail-out": "mail sent",
        ]
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        func number(_ value: Int, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - "\(value)".count)) + "\(value)"
        }
        var lines = [
            "  " + pad("user", 6) + pad("kind", 14) + pad("direction", 21) + "created  updated  deleted  conflicts"
        ]
        for report in reports.sorted(by: { ($0.job.user, $0.job.connector) < ($1.job.user, $1.job.connector) }) {
            for (direction, label) in [
                ("source→target", "FlowFact → Exchange"), ("target→source", "Exchange → FlowFact"),
            ] {
                let created = report.counts["\(direction) create"] ?? 0
                let updated = report.counts["\(direction) update"] ?? 0
                let deleted = report.counts["\(direction) delete"] ?? 0
                let conflicts = direction == "source→target" ? report.counts["conflicts"] ?? 0 : 0
                lines.append(
                    "  " + pad(report.job.user, 6) + pad(kinds[report.job.connector] ?? report.job.connector, 14)
                        + pad(label, 21)
                        + number(created, 7) + number(updated, 9) + number(deleted, 9) + number(conflicts, 11))
            }
        }
        return lines.joined(separator: "\n")
    }
}
