import ConnectorAPI
import ConnectorHost
import Connectors
import ExchangeSim
import ExchangeWebDAV
import FlowFactDevelopment
import Foundation
import Logging
import ODBC
import TestSupport
import Testing

/// FlowFact on SQLite through ODBC ↔ the `exchange-webdav` adapter over HTTP (libcurl) ↔
/// exchange-sim as Exchange 2003/2007, wired by YAML and run by the host: the BlackBerry firm's
/// deployment end to end.
final class LegacyEndToEnd: @unchecked Sendable {
    let directory: URL
    let db: ODBCConnection
    let connection: String
    let server: SimServer
    let base: String
    /// The service account's password (distinctive, so a test can look for it in messages).
    static let secret = "Geheim-4711"
    var password = LegacyEndToEnd.secret
    var auth = "basic"
    var connectors = ""
    var users = """
          - { id: MM, flowfact: MM, legacy: mm }
          - { id: JS, flowfact: JS, legacy: js }
        """
    var extraAdapters = ""

    init(
        database: TestDatabase = .sqlite,
        counts: FlowFactSeeder.Counts = FlowFactSeeder.Counts(
            users: 2, addresses: 6, appointments: 4, tasks: 3, mails: 0),
        configure: (inout SimOptions) -> Void = { _ in }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("legacy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        connection =
            database == .sqlite
            ? "Driver=SQLite3;Database=\(directory.path)/flowfact.sqlite" : try database.freshConnectionString()
        db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        try seeder.seed(counts)
        (server, base) = try await webdavServer { options in
            options.mailboxes = ["mm@example.test", "js@example.test"]
            options.accounts = [
                SimAccount(name: "svc", password: LegacyEndToEnd.secret), SimAccount(name: "mm", password: "mm-pw"),
            ]
            options.delegates = ["svc"]
            configure(&options)
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var yaml: String {
        """
        state: { path: \(directory.path)/state.sqlite }
        engine: { retry_backoff: 1ms }
        adapters:
          flowfact: { type: flowfact-odbc, connection: "\(connection)" }
          legacy:
            type: exchange-webdav
            url: \(base)/exchange/
            auth: \(auth)
            username: svc
            password: "${DAV_PASSWORD}"
            page_size: 50
        \(extraAdapters)
        users:
        \(users)
        connectors:
        \(connectors)
        """
    }

    func sync() async throws -> [RunReport] {
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all), environment: ["DAV_PASSWORD": password]
        ).load(yaml: yaml, file: "legacy.yaml", baseDirectory: directory)
        var logger = Logger(label: "legacy-e2e")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce()
        await host.shutdown()
        return reports
    }

    func count(_ sql: String, _ parameters: [ODBCValue] = []) throws -> Int {
        Int(try db.rows(sql, parameters).first?[0].integer ?? -1)
    }

    /// The mailbox owner's own change, over HTTP as Outlook Web Access or DavMail would make it.
    func ownerPatch(_ path: String, _ set: [(String, DAVValue)]) throws -> Int {
        try dav(
            "PROPPATCH", base + DAVPath.encode(path), user: "mm:mm-pw",
            body: String(decoding: DAVBody.propertyUpdate(set: set), as: UTF8.self)
        ).status
    }

    static func describe(_ reports: [RunReport]) -> String {
        reports.map { "\($0.job) \($0.status) \($0.counts) \($0.message ?? "")" }.joined(separator: "\n")
    }
}

@Suite("End to end: FlowFact (SQLite ODBC) ↔ exchange-webdav ↔ exchange-sim as Exchange 2003/2007", .serialized)
struct WebDAVEndToEndTests {
    @Test(
        "contacts, calendar and tasks both ways; quiet runs cost one PROPFIND per folder; edits and deletions in the mailbox come back",
        arguments: [TestDatabase.sqlite, .postgres])
    func twoWay(_ database: TestDatabase) async throws {
        let e = try await LegacyEndToEnd(database: database)
        defer { Task { await e.server.stop() } }
        e.connectors = """
              - { name: contacts, kind: address, source: flowfact, target: legacy }
              - { name: calendar, kind: calendar, source: flowfact, target: legacy }
              - { name: tasks, kind: task, source: flowfact, target: legacy }
            """
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(LegacyEndToEnd.describe(first))")
        #expect(
            first.first { $0.job.connector == "calendar" && $0.job.user == "MM" }?.counts["source→target create"] == 4)
        #expect(first.first { $0.job.connector == "tasks" && $0.job.user == "JS" }?.counts["source→target create"] == 3)
        #expect(e.server.service.davItemCount(mailbox: "mm@example.test", folder: "calendar") == 4)
        #expect(e.server.service.davItemCount(mailbox: "js@example.test", folder: "tasks") == 3)
        // The run's own writes are not read back as changes.
        let second = try await e.sync()
        #expect(second.allSatisfy { $0.counts.isEmpty }, "\(LegacyEndToEnd.describe(second))")
        // A quiet run asks each folder for its content tag and nothing else.
        let before = e.server.service.counts
        let quiet = try await e.sync()
        #expect(quiet.allSatisfy { $0.counts.isEmpty && $0.status == .ok })
        let after = e.server.service.counts
        #expect(after["davSEARCH", default: 0] == before["davSEARCH", default: 0])
        #expect(after["davPROPFIND", default: 0] - before["davPROPFIND", default: 0] == quiet.count)

        // In the mailbox: MM renames a contact and deletes a task.
        let contacts = e.server.service.davItems(mailbox: "mm@example.test", folder: "contacts")
        let (name, properties) = try #require(contacts.first)
        #expect(properties[DAVNamespace.contacts + "sn"]?.string != nil)
        #expect(
            try e.ownerPatch("/exchange/mm/Kontakte/\(name)", [(DAVNamespace.contacts + "sn", .string("Großmann"))])
                == 207)
        let task = try #require(e.server.service.davItems(mailbox: "mm@example.test", folder: "tasks").keys.first)
        #expect(try dav("DELETE", e.base + "/exchange/mm/Aufgaben/" + task, user: "mm:mm-pw").status == 200)
        let third = try await e.sync()
        #expect(third.allSatisfy { $0.status == .ok }, "\(LegacyEndToEnd.describe(third))")
        #expect(
            third.first { $0.job.connector == "contacts" && $0.job.user == "MM" }?.counts["target→source update"] == 1)
        #expect(third.first { $0.job.connector == "tasks" && $0.job.user == "MM" }?.counts["target→source delete"] == 1)
        #expect(try e.count("SELECT COUNT(*) FROM \"AD\" WHERE \"NAME\" = ?", [.text("Großmann")]) == 1)
        // MM's change reaches JS's mailbox too (addresses are shared), once: in this run or the
        // next, depending on which job ran first; then all is quiet.
        let fourth = try await e.sync()
        let toJS = [third, fourth].compactMap {
            $0.first { $0.job.connector == "contacts" && $0.job.user == "JS" }?.counts["source→target update"]
        }
        #expect(toJS.reduce(0, +) == 1, "\(LegacyEndToEnd.describe(third + fourth))")
        let fifth = try await e.sync()
        #expect(fifth.allSatisfy { $0.counts.isEmpty }, "\(LegacyEndToEnd.describe(fifth))")
    }

    @Test(
        "a contact changed on both sides is a conflict the policy settles (source wins), reported, and nothing is lost")
    func conflict() async throws {
        let e = try await LegacyEndToEnd()
        defer { Task { await e.server.stop() } }
        e.users = "  - { id: MM, flowfact: MM, legacy: mm }"
        e.connectors = "  - { name: contacts, kind: address, source: flowfact, target: legacy, conflict: source-wins }"
        #expect(try await e.sync().allSatisfy { $0.status == .ok })
        let (name, properties) = try #require(
            e.server.service.davItems(mailbox: "mm@example.test", folder: "contacts").first)
        let family = try #require(properties[DAVNamespace.contacts + "sn"]?.string)
        #expect(
            try e.ownerPatch("/exchange/mm/Kontakte/\(name)", [(DAVNamespace.contacts + "sn", .string("Outlook-Name"))])
                == 207)
        try e.db.execute(
            "UPDATE \"AD\" SET \"NAME\" = ?, \"AENDDATUM\" = ? WHERE \"NAME\" = ?",
            [
                .text("CRM-Name"),
                .timestamp(ODBCTimestamp(Date().addingTimeInterval(5), in: TimeZone(identifier: "Europe/Berlin")!)),
                .text(family),
            ])
        let reports = try await e.sync()
        let report = try #require(reports.first)
        #expect(report.status == .ok, "\(LegacyEndToEnd.describe(reports))")
        #expect(report.counts["conflicts"] == 1, "\(report.counts)")
        let after = e.server.service.davItems(mailbox: "mm@example.test", folder: "contacts")[name]
        #expect(after?[DAVNamespace.contacts + "sn"]?.string == "CRM-Name")
    }

    @Test(
        "mail is read-only: imported once with attachments; reads, moves and deletions in the mailbox change nothing; nothing is written to a mail folder"
    )
    func mailImportOnly() async throws {
        let e = try await LegacyEndToEnd(
            counts: FlowFactSeeder.Counts(users: 2, addresses: 3, appointments: 0, tasks: 0, mails: 0))
        defer { Task { await e.server.stop() } }
        e.users = "  - { id: MM, flowfact: MM, legacy: mm }"
        e.connectors =
            "  - { name: mail-in, kind: mail, source: flowfact, target: legacy, direction: target-to-source, source_options: { mail: incoming }, target_options: { mail_folder: inbox } }"
        let mime = { (id: String, subject: String) in
            """
            From: "Ann Lee" <ann@example.test>\r
            To: mm@example.test\r
            Subject: \(subject)\r
            Message-ID: <\(id)@example.test>\r
            Date: \(DAVMIME.rfc5322Date(Date().addingTimeInterval(-3600)))\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b"\r
            \r
            --b\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Grüße aus Köln\r
            --b\r
            Content-Type: application/pdf\r
            Content-Disposition: attachment; filename="Exposé Südhang.pdf"\r
            Content-Transfer-Encoding: base64\r
            \r
            JVBERi0xLjQK\r
            --b--\r

            """
        }
        let first = try #require(
            e.server.service.deliverDAVMail(to: "mm@example.test", mime: Data(mime("m1", "Anfrage Wohnung").utf8)))
        e.server.service.deliverDAVMail(to: "mm@example.test", mime: Data(mime("m2", "Rückruf").utf8))
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok }, "\(LegacyEndToEnd.describe(reports))")
        #expect(reports.first?.counts["target→source create"] == 2, "\(LegacyEndToEnd.describe(reports))")
        let mails = try e.count("SELECT COUNT(*) FROM \"AKT\"")
        #expect(try e.count("SELECT COUNT(*) FROM \"AKT\" WHERE \"BETREFF\" = ?", [.text("Rückruf")]) == 1)
        #expect(
            try e.count("SELECT COUNT(*) FROM \"BLOB\" WHERE \"DATEINAME\" = ?", [.text("Exposé Südhang.pdf")]) == 2)
        // In the mailbox: read, move to Deleted Items, delete.
        #expect(try e.ownerPatch("/exchange/mm/Posteingang/\(first)", [(DAVProperty.read, .bool(true))]) == 207)
        let names = Array(e.server.service.davItems(mailbox: "mm@example.test", folder: "inbox").keys)
        let other = try #require(names.first { $0 != first })
        #expect(
            try dav(
                "MOVE", e.base + "/exchange/mm/Posteingang/" + first, user: "mm:mm-pw",
                headers: ["Destination: \(e.base)/exchange/mm/Gel%C3%B6schte%20Objekte/\(first)"]
            ).status == 201)
        #expect(try dav("DELETE", e.base + "/exchange/mm/Posteingang/" + other, user: "mm:mm-pw").status == 200)
        let later = try await e.sync()
        #expect(later.allSatisfy { $0.status == .ok }, "\(LegacyEndToEnd.describe(later))")
        #expect(try e.count("SELECT COUNT(*) FROM \"AKT\"") == mails)
        #expect(try await e.sync().allSatisfy { $0.counts.isEmpty })
        for folder in ["inbox", "sentitems", "deleteditems", "drafts", "outbox"] {
            #expect(e.server.service.davWrites(account: "svc", mailbox: "mm@example.test", folder: folder) == 0)
        }
    }

    @Test("2,000 contacts go out and are read back in pages: nothing missing, nothing twice")
    func manyContactsPaged() async throws {
        let e = try await LegacyEndToEnd(
            counts: FlowFactSeeder.Counts(users: 1, addresses: 2000, appointments: 0, tasks: 0, mails: 0, syncShare: 1))
        defer { Task { await e.server.stop() } }
        e.users = "  - { id: MM, flowfact: MM, legacy: mm }"
        e.connectors = "  - { name: contacts, kind: address, source: flowfact, target: legacy }"
        let first = try await e.sync()
        #expect(first.first?.status == .ok, "\(LegacyEndToEnd.describe(first))")
        let created = try #require(first.first?.counts["source→target create"])
        #expect(created >= 2000)
        #expect(e.server.service.davItemCount(mailbox: "mm@example.test", folder: "contacts") == created)
        // A full read by a new endpoint pages through SEARCH (50 rows a page here).
        let before = e.server.service.counts["davSEARCH", default: 0]
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all), environment: ["DAV_PASSWORD": e.password]
        ).load(yaml: e.yaml, file: "legacy.yaml", baseDirectory: e.directory)
        let adapter = try WebDAVAdapter.type.make(
            deployment.adapters["legacy"]!.settings,
            AdapterContext(instanceName: "legacy", baseDirectory: e.directory, log: { _, _ in }))
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "read", kind: .address, role: .target, user: "MM",
                account: WebDAVAdapter.type.account(on: "legacy", ["mailbox": "mm"])))
        let all = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        await adapter.shutdown()
        let ids = all.changes.map(\.id)
        #expect(ids.count == created)
        #expect(Set(ids).count == created)
        #expect(all.isFullScan)
        #expect(e.server.service.counts["davSEARCH", default: 0] - before >= created / 50)
        #expect(try await e.sync().allSatisfy { $0.counts.isEmpty })
    }

    @Test("a mail connector that would write into the legacy mailbox is refused before anything runs")
    func mailWritesRefused() async throws {
        let e = try await LegacyEndToEnd()
        defer { Task { await e.server.stop() } }
        e.connectors = "  - { name: mail-out, kind: mail, source: flowfact, target: legacy }"
        do {
            _ = try await e.sync()
            Issue.record("a mail connector writing to the legacy mailbox was accepted")
        } catch {
            #expect("\(error)".contains("'legacy'") && "\(error)".contains("read-only"), "\(error)")
        }
    }

    @Test("forms login (Exchange 2007) whose session expires mid-run: one new login per expiry, the run completes")
    func formsExpiry() async throws {
        // Sessions of 12 requests (by count, so a loaded machine does not change where they end):
        // each run outlasts several.
        let e = try await LegacyEndToEnd(
            counts: FlowFactSeeder.Counts(users: 2, addresses: 0, appointments: 0, tasks: 20, mails: 0)
        ) { options in
            options.auth = .forms2007
            options.formsSessionRequests = 12
        }
        defer { Task { await e.server.stop() } }
        e.auth = "forms"
        e.connectors = "  - { name: tasks, kind: task, source: flowfact, target: legacy }"
        let first = try await e.sync()
        #expect(first.allSatisfy { $0.status == .ok }, "\(LegacyEndToEnd.describe(first))")
        #expect(e.server.service.davItemCount(mailbox: "mm@example.test", folder: "tasks") == 20)
        #expect(e.server.service.davItemCount(mailbox: "js@example.test", folder: "tasks") == 20)
        // Sessions ended during the run and were renewed, not looped on: one login per ended
        // session that requests met (requests in flight share it).
        let logins = e.server.service.counts["formsLogin", default: 0]
        let timeouts = e.server.service.counts["formsLoginTimeout", default: 0]
        #expect(timeouts > 0)
        #expect(logins >= 3 && logins <= timeouts + 1, "logins \(logins), timeouts \(timeouts)")
        let second = try await e.sync()
        #expect(second.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(LegacyEndToEnd.describe(second))")
    }

    @Test(
        "a wrong password for one server's mailbox fails that mailbox, names it, never prints the password; the other syncs"
    )
    func wrongPasswordOneServer() async throws {
        let e = try await LegacyEndToEnd()
        defer { Task { await e.server.stop() } }
        // JS's mailbox lives on a second server that does not know the service account's password.
        let (second, secondBase) = try await webdavServer { options in
            options.mailboxes = ["js@example.test"]
            options.accounts = [SimAccount(name: "svc", password: "anders-9q")]
            options.delegates = ["svc"]
        }
        defer { Task { await second.stop() } }
        e.users = """
              - { id: MM, flowfact: MM, legacy: mm }
              - { id: JS, flowfact: JS, legacy: { mailbox: js, url: "\(secondBase)/exchange/" } }
            """
        e.connectors = "  - { name: tasks, kind: task, source: flowfact, target: legacy }"
        let reports = try await e.sync()
        let mm = try #require(reports.first { $0.job.user == "MM" })
        let js = try #require(reports.first { $0.job.user == "JS" })
        #expect(mm.status == .ok)
        #expect(mm.counts["source→target create"] == 3)
        #expect(js.status == .failed)
        #expect(js.permanent)
        #expect(js.message?.contains("401") == true, "\(js.message ?? "")")
        #expect(js.message?.contains("js") == true)
        #expect(reports.allSatisfy { !"\($0.message ?? "") \($0.failures)".contains(LegacyEndToEnd.secret) })
    }
}

@Suite("The BlackBerry deployment example")
struct BlackBerryExampleTests {
    static var example: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/examples/blackberry-exchange2007.yaml")
    }

    @Test(
        "deploy/examples/blackberry-exchange2007.yaml validates: contacts, calendar, tasks two-way, mail only into FlowFact"
    )
    func validates() throws {
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all),
            environment: ["FF_DB_PASSWORD": "x", "EXCHANGE_PASSWORD": "y"]
        ).load(path: Self.example.path)
        #expect(deployment.adapters["exchange"]?.type.name == "exchange-webdav")
        let connectors = Dictionary(uniqueKeysWithValues: deployment.connectors.map { ($0.definition.name, $0) })
        #expect(connectors["contacts"]?.definition.direction == .twoWay)
        #expect(connectors["mail-in"]?.definition.direction == .targetToSource)
        #expect(connectors["mail-in"]?.targetCapabilities.canWrite == false)
        #expect(connectors["mail-in"]?.targetCapabilities.mailStateChanges.isEmpty == true)
    }
}

@Suite("connector-host check on the WebDAV path", .serialized)
struct WebDAVCheckTests {
    @Test(
        "check signs in through the form, names the folders it found and reads them; a wrong password is named, never printed"
    )
    func check() async throws {
        let e = try await LegacyEndToEnd { $0.auth = .forms2003 }
        defer { Task { await e.server.stop() } }
        e.auth = "forms\n    version: \"2003\""
        e.users = "  - { id: MM, flowfact: MM, legacy: mm }"
        e.connectors = "  - { name: tasks, kind: task, source: flowfact, target: legacy }"
        try e.yaml.write(to: e.directory.appendingPathComponent("legacy.yaml"), atomically: true, encoding: .utf8)
        let good = try CLI.run(
            ["check", "--config", "legacy.yaml"], in: e.directory, environment: ["DAV_PASSWORD": e.password])
        #expect(good.status == 0, "\(good.out) \(good.err)")
        #expect(good.out.contains("/exchange/mm/Aufgaben"), "\(good.out)")
        #expect(good.out.contains("SEARCH works"), "\(good.out)")
        let bad = try CLI.run(
            ["check", "--config", "legacy.yaml"], in: e.directory, environment: ["DAV_PASSWORD": "Falsch-0815"])
        #expect(bad.status != 0)
        #expect((bad.out + bad.err).contains("forms login"), "\(bad.out) \(bad.err)")
        #expect((bad.out + bad.err).contains("mm"))
        #expect(!(bad.out + bad.err).contains("Falsch-0815"))
    }
}
