import ConnectorAPI
import ConnectorHost
import Connectors
import EWS
import ExchangeSim
import FlowFactDevelopment
import Foundation
import Logging
import ODBC
import Synchronization
import TestSupport
import Testing
import XML

@testable import EWSConnector

/// A mail user acting in the simulated mailbox as Outlook would, through EWS (in-process, every
/// request and response checked against the schema).
struct Outlook {
    let client: EWSClient
    let transport: InProcessTransport

    init(_ service: SimService, mailbox: String = "mm@example.test") {
        transport = InProcessTransport(service: service, account: "svc@example.test")
        client = EWSClient(
            transport: transport, url: "http://sim/EWS/Exchange.asmx", mailbox: mailbox, access: .impersonation,
            version: "Exchange2010_SP2", throttle: EWSThrottle(), log: { _, _ in })
    }

    struct File {
        var name: String
        var type: String
        var data: Data
        var contentID: String? = nil
    }

    /// A mail attached as an item (as Outlook forwards "as attachment").
    struct AttachedMail {
        var name: String
        var subject: String
        var from: String
        var html: String
    }

    /// A mail arriving in the Inbox (as the transport service delivers it: finished, unread).
    @discardableResult
    func deliver(
        _ subject: String, from: MailAddress = MailAddress(name: "Erika Muster", email: "erika@kunde.test"),
        messageID: String, inReplyTo: String? = nil, html: String? = nil, text: String = "Hallo",
        files: [File] = [], attachedMails: [AttachedMail] = [], received: Date = Date().addingTimeInterval(-600),
        folder: String = "inbox", to: [String]? = nil
    ) async throws -> String {
        let messages = try await client.call("CreateItem") { w in
            w.element("m:CreateItem", [("MessageDisposition", "SaveOnly")]) { w in
                w.element("m:SavedItemFolderId") { w in client.distinguishedFolder(folder, &w) }
                w.element("m:Items") { w in
                    w.element("t:Message") { w in
                        w.element("t:Subject", subject)
                        if let html {
                            w.element("t:Body", html, [("BodyType", "HTML")])
                        } else {
                            w.element("t:Body", text, [("BodyType", "Text")])
                        }
                        if !files.isEmpty || !attachedMails.isEmpty {
                            w.element("t:Attachments") { w in
                                for mail in attachedMails {
                                    w.element("t:ItemAttachment") { w in
                                        w.element("t:Name", mail.name)
                                        w.element("t:Message") { w in
                                            w.element("t:Subject", mail.subject)
                                            w.element("t:Body", mail.html, [("BodyType", "HTML")])
                                            w.element("t:From") { w in
                                                w.element("t:Mailbox") { w in w.element("t:EmailAddress", mail.from) }
                                            }
                                        }
                                    }
                                }
                                for file in files {
                                    w.element("t:FileAttachment") { w in
                                        w.element("t:Name", file.name)
                                        w.element("t:ContentType", file.type)
                                        w.element("t:ContentId", ifPresent: file.contentID)
                                        w.element("t:IsInline", file.contentID == nil ? "false" : "true")
                                        w.element("t:Content", file.data.base64EncodedString())
                                    }
                                }
                            }
                        }
                        w.element("t:InReplyTo", ifPresent: inReplyTo)
                        EWSRecordCodec.messageFlags.write("0", &w)
                        EWSRecordCodec.deliveryTime.write(EWSDate.format(received), &w)
                        EWSRecordCodec.submitTime.write(EWSDate.format(received.addingTimeInterval(-30)), &w)
                        w.element("t:ToRecipients") { w in
                            for address in to ?? [client.mailbox] {
                                w.element("t:Mailbox") { w in w.element("t:EmailAddress", address) }
                            }
                        }
                        w.element("t:From") { w in
                            w.element("t:Mailbox") { w in
                                w.element("t:Name", ifPresent: from.name)
                                w.element("t:EmailAddress", from.email)
                            }
                        }
                        w.element("t:InternetMessageId", messageID)
                        if let inReplyTo { w.element("t:References", inReplyTo) }
                    }
                }
            }
        }
        let id = messages.first?.element.path("Items", "Message", "ItemId")?.attributes["Id"]
        return try #require(id, "delivery failed: \(messages.first?.code ?? "") \(messages.first?.text ?? "")")
    }

    /// The messages of a folder (distinguished name or folder id), with every property.
    func messages(in folder: String) async throws -> [XMLElement] {
        let ids =
            try await client.call("FindItem") { w in
                w.element("m:FindItem", [("Traversal", "Shallow")]) { w in
                    w.element("m:ItemShape") { w in w.element("t:BaseShape", "IdOnly") }
                    w.element("m:ParentFolderIds") { w in
                        if folder.count > 20 {
                            w.start("t:FolderId", [("Id", folder)])
                            w.end()
                        } else {
                            client.distinguishedFolder(folder, &w)
                        }
                    }
                }
            }.first?.element.path("RootFolder", "Items")?.children.compactMap { $0.child("ItemId")?.attributes["Id"] }
            ?? []
        var result: [XMLElement] = []
        for id in ids { if let item = try await get(id) { result.append(item) } }
        return result
    }

    func get(_ id: String) async throws -> XMLElement? {
        try await client.call("GetItem") { w in
            w.element("m:GetItem") { w in
                w.element("m:ItemShape") { w in
                    w.element("t:BaseShape", "AllProperties")
                    w.element("t:AdditionalProperties") { w in EWSRecordCodec.syncKey.writeURI(&w) }
                }
                w.element("m:ItemIds") { w in
                    w.start("t:ItemId", [("Id", id)])
                    w.end()
                }
            }
        }.first?.element.child("Items")?.children.first
    }

    func setRead(_ id: String, _ read: Bool) async throws {
        let messages = try await client.call("UpdateItem") { w in
            w.element("m:UpdateItem", [("ConflictResolution", "AlwaysOverwrite"), ("MessageDisposition", "SaveOnly")]) {
                w in
                w.element("m:ItemChanges") { w in
                    w.element("t:ItemChange") { w in
                        w.start("t:ItemId", [("Id", id)])
                        w.end()
                        w.element("t:Updates") { w in
                            w.element("t:SetItemField") { w in
                                w.start("t:FieldURI", [("FieldURI", "message:IsRead")])
                                w.end()
                                w.element("t:Message") { w in w.element("t:IsRead", read ? "true" : "false") }
                            }
                        }
                    }
                }
            }
        }
        #expect(messages.first?.success == true)
    }

    /// Moves an item to a folder id or distinguished folder; returns the new id.
    func move(_ id: String, to folder: String) async throws -> String {
        let messages = try await client.call("MoveItem") { w in
            w.element("m:MoveItem") { w in
                w.element("m:ToFolderId") { w in
                    if folder.count > 20 {
                        w.start("t:FolderId", [("Id", folder)])
                        w.end()
                    } else {
                        client.distinguishedFolder(folder, &w)
                    }
                }
                w.element("m:ItemIds") { w in
                    w.start("t:ItemId", [("Id", id)])
                    w.end()
                }
            }
        }
        return try #require(messages.first?.element.path("Items", "Message", "ItemId")?.attributes["Id"])
    }

    /// Creates a mail folder under the Inbox; returns its id.
    func createFolder(_ name: String) async throws -> String {
        let messages = try await client.call("CreateFolder") { w in
            w.element("m:CreateFolder") { w in
                w.element("m:ParentFolderId") { w in client.distinguishedFolder("inbox", &w) }
                w.element("m:Folders") { w in
                    w.element("t:Folder") { w in
                        w.element("t:FolderClass", "IPF.Note")
                        w.element("t:DisplayName", name)
                    }
                }
            }
        }
        return try #require(messages.first?.element.path("Folders", "Folder", "FolderId")?.attributes["Id"])
    }

    /// GetAttachment: the decoded content of one file attachment.
    func attachment(_ id: String) async throws -> Data? {
        let message = try await client.call("GetAttachment") { w in
            w.element("m:GetAttachment") { w in
                w.element("m:AttachmentIds") { w in
                    w.start("t:AttachmentId", [("Id", id)])
                    w.end()
                }
            }
        }.first
        return message?.element.path("Attachments", "FileAttachment")?.string("Content").flatMap {
            Data(base64Encoded: $0)
        }
    }

    var invalid: [String] { transport.invalid.withLock { $0 } }
}

/// FlowFact (SQLite or PostgreSQL through ODBC) ↔ `ews` over HTTP/NTLM ↔ exchange-sim, for mail.
final class MailEndToEnd: @unchecked Sendable {
    let directory: URL
    let db: ODBCConnection
    let connection: String
    let server: SimServer
    let outlook: Outlook
    var connectors: String
    var adapterSettings = ""

    static let incomingType = "7A000000-0000-4000-8000-000000000002"
    static let outgoingType = "7A000000-0000-4000-8000-000000000003"
    static let userMM = "BE000000-0000-4000-8000-000000000000"
    static let userMerkmalMM = "3B000000-0000-4000-8000-000000001000"
    static let deletedMerkmal = "3B000000-0000-4000-8000-000000000005"

    init(_ database: TestDatabase) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        connection = try database.freshConnectionString()
        db = try ODBCConnection(connectionString: connection)
        let seeder = FlowFactSeeder(connection: db)
        try seeder.initialize()
        try seeder.seed(FlowFactSeeder.Counts(users: 1, addresses: 0, appointments: 0, tasks: 0, mails: 0))
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "S3cret!")]
        options.impersonation = ["svc@example.test"]
        options.auth = .ntlm
        server = SimServer(service: try SimService(options: options))
        try await server.start()
        outlook = Outlook(server.service)
        connectors = """
              - { name: mail-in, kind: mail, source: flowfact, target: exchange, source_options: { mail: incoming }, target_options: { mail_folder: inbox } }
              - { name: mail-out, kind: mail, source: flowfact, target: exchange, source_options: { mail: outgoing }, target_options: { mail_folder: sentitems } }
            """
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var yaml: String {
        """
        state: { path: \(directory.path)/state.sqlite }
        engine: { retry_backoff: 1ms }
        adapters:
          flowfact:
            type: flowfact-odbc
            connection: "\(connection)"
        \(adapterSettings.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
          exchange:
            type: ews
            url: \(server.url)
            auth: ntlm
            username: svc@example.test
            password: "S3cret!"
        users:
          - { id: MM, flowfact: MM, exchange: mm@example.test }
        connectors:
        \(connectors)
        """
    }

    @discardableResult
    func sync() async throws -> [RunReport] {
        let deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "mail.yaml", baseDirectory: directory)
        var logger = Logger(label: "mail")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        let reports = await host.syncOnce()
        await host.shutdown()
        for report in reports where report.status != .ok {
            print("mail sync \(report.job): \(report.status) \(report.message ?? "") \(report.failures)")
        }
        return reports
    }

    func activities() throws -> [ODBCRow] {
        try db.rows(
            "SELECT \"ID\", \"BETREFF\", \"AD_ID\", \"VORGANG_ID\", \"MAIL_MSGID\", \"AKTART_ID\", \"TEXT\", \"HTML\", \"MAIL_VON\" FROM \"AKT\" ORDER BY \"DATUM\", \"BETREFF\""
        )
    }

    func count(_ sql: String, _ parameters: [ODBCValue] = []) throws -> Int {
        Int(try db.rows(sql, parameters).first?[0].integer ?? -1)
    }

    func insertAddress(email: String) throws -> String {
        let id = UUID().uuidString
        let now = ODBCValue.timestamp(ODBCTimestamp(Date(), in: TimeZone(identifier: "Europe/Berlin")!))
        try db.execute(
            "INSERT INTO \"AD\" (\"ID\", \"VORNAME\", \"NAME\", \"EMAIL\", \"ARCHIVIERT\", \"ERFDATUM\", \"AENDDATUM\") VALUES (?, 'Erika', 'Muster', ?, 0, ?, ?)",
            [.text(id), .text(email), now, now])
        return id
    }

    /// Whether the activity's user Merkmal is active (unread in FlowFact).
    func unread(_ activity: ODBCValue) throws -> Bool {
        try db.rows(
            "SELECT \"AKTIV\" FROM \"AKTMKM\" WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
            [activity, .text(Self.userMerkmalMM)]
        ).first?[0].integer == 1
    }

    /// Stores an attachment of an activity in the BLOB table, as FlowFact's mail service does.
    /// An attachment kept as a file on the FlowFact share: the BLOB row holds its path (PFAD).
    func insertShareBlob(activity: String, name: String, type: String, path: String, size: Int) throws {
        let at = ODBCValue.timestamp(ODBCTimestamp(Date(), in: TimeZone(identifier: "Europe/Berlin")!))
        try db.execute(
            "INSERT INTO \"BLOB\" (\"ID\", \"TABELLE\", \"DATENSATZ_ID\", \"DATEINAME\", \"DATEITYP\", \"GROESSE\", \"PFAD\", \"ERFDATUM\", \"AENDDATUM\") VALUES (?, 'AKT', ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(UUID().uuidString), .text(activity), .text(name), .text(type), .integer(Int64(size)),
                .text(path), at, at,
            ])
    }

    func insertBlob(activity: String, name: String, type: String, data: Data) throws {
        let at = ODBCValue.timestamp(ODBCTimestamp(Date(), in: TimeZone(identifier: "Europe/Berlin")!))
        try db.execute(
            "INSERT INTO \"BLOB\" (\"ID\", \"TABELLE\", \"DATENSATZ_ID\", \"DATEINAME\", \"DATEITYP\", \"GROESSE\", \"INHALT\", \"ERFDATUM\", \"AENDDATUM\") VALUES (?, 'AKT', ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(UUID().uuidString), .text(activity), .text(name), .text(type), .integer(Int64(data.count)),
                .binary(data), at, at,
            ])
    }

    /// Inserts a mail activity as FlowFact's own mail service would; returns its id.
    func insertFlowFactMail(
        subject: String, outgoing: Bool, messageID: String, read: Bool, date: Date = Date().addingTimeInterval(-1800),
        answering parent: String? = nil
    ) throws -> String {
        let id = UUID().uuidString
        let zone = TimeZone(identifier: "Europe/Berlin")!
        let at = ODBCValue.timestamp(ODBCTimestamp(date, in: zone))
        let me = "Max Müller <mm@example.test>"
        let partner = "Hans Wolf <hans@wolf.test>"
        try db.execute(
            """
            INSERT INTO "AKT" ("ID", "AKTART_ID", "BETREFF", "TEXT", "DATUM", "BESITZER_ID", "MAIL_VON", "MAIL_AN", "MAIL_MSGID",
              "MAIL_DATUM", "ERLEDIGT", "GANZTAEGIG", "ERFDATUM", "AENDDATUM") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
            """,
            [
                .text(id), .text(outgoing ? Self.outgoingType : Self.incomingType), .text(subject),
                .text("Sehr geehrter Herr Wolf,\nanbei der Vertrag."), at, .text(Self.userMM),
                .text(outgoing ? me : partner), .text(outgoing ? partner : me), .text(messageID), at, at, at,
            ])
        try db.execute(
            "INSERT INTO \"AKTMKM\" (\"AKT_ID\", \"MKM_ID\", \"AKTIV\", \"ERFDATUM\") VALUES (?, ?, ?, ?)",
            [.text(id), .text(Self.userMerkmalMM), .integer(read ? 0 : 1), at])
        if let parent {
            try db.execute("UPDATE \"AKT\" SET \"VORGANG_ID\" = ? WHERE \"ID\" = ?", [.text(parent), .text(id)])
        }
        return id
    }
}

@Suite("Mail end to end: FlowFact (ODBC) ↔ EWS ↔ exchange-sim", .serialized)
struct MailEndToEndTests {
    static let pdf = Data((0..<150_000).map { UInt8(truncatingIfNeeded: ($0 &* 7919) >> 3) })
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<500).map { UInt8($0 % 251) })

    @Test(
        "mails arriving in the Inbox are imported with attachments, HTML and text, linked to the sender",
        arguments: TestDatabase.allCases)
    func importWithAttachments(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        let erika = try e.insertAddress(email: "erika@kunde.test")
        try await e.outlook.deliver(
            "Exposé Lindenstraße 5", messageID: "<expose-5@kunde.test>",
            html:
                "<html><head><meta charset=\"iso-8859-1\"><style>p{}</style></head><body><p>Guten Tag,</p><p>anbei das <b>Exposé</b> &amp; der Grundriss.<img src=\"cid:grundriss@kunde\"></p></body></html>",
            files: [
                .init(name: "Exposé Müller.pdf", type: "application/pdf", data: MailEndToEndTests.pdf),
                .init(
                    name: "grundriss.png", type: "image/png", data: MailEndToEndTests.png, contentID: "grundriss@kunde"),
            ])
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok })
        let rows = try e.activities()
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row[1].string == "Exposé Lindenstraße 5")
        #expect(row[2].string?.trimmingCharacters(in: .whitespaces) == erika)
        #expect(row[4].string == "<expose-5@kunde.test>")
        #expect(row[5].string?.trimmingCharacters(in: .whitespaces) == MailEndToEnd.incomingType)
        #expect(row[6].string == "Guten Tag,\nanbei das Exposé & der Grundriss.")
        #expect(row[7].string?.contains("charset=\"utf-8") == true, "stored as UTF-8 and declared so")
        #expect(row[8].string?.contains("erika@kunde.test") == true)
        let blobs = try e.db.rows(
            "SELECT \"DATEINAME\", \"INHALT\", \"CONTENT_ID\", \"DATEITYP\" FROM \"BLOB\" WHERE \"DATENSATZ_ID\" = ? ORDER BY \"DATEINAME\"",
            [row[0]])
        #expect(blobs.map { $0[0].string } == ["Exposé Müller.pdf", "grundriss.png"])
        #expect(blobs.first?[1].data == MailEndToEndTests.pdf)
        #expect(blobs.last?[1].data == MailEndToEndTests.png)
        #expect(blobs.last?[2].string == "grundriss@kunde")
        #expect(blobs.first?[3].string == "application/pdf")
        #expect(e.outlook.invalid.isEmpty, "\(e.outlook.invalid)")
        // Quiet afterwards: nothing placed back, nothing imported again.
        let quiet = try await e.sync()
        #expect(quiet.allSatisfy { $0.counts.isEmpty }, "\(quiet.map(\.counts))")
        #expect(try await e.outlook.messages(in: "inbox").count == 1)
    }

    @Test(
        "a mail attached to a mail (forwarded as attachment) is imported as an .eml file beside the other files",
        arguments: TestDatabase.allCases)
    func importAttachedMail(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        try await e.outlook.deliver(
            "WG: Besichtigung", messageID: "<fwd-1@kunde.test>", text: "Siehe die angehängte Mail.",
            files: [.init(name: "Grundriss.pdf", type: "application/pdf", data: MailEndToEndTests.pdf)],
            attachedMails: [
                .init(
                    name: "Besichtigung Lindenstraße", subject: "Besichtigung Lindenstraße",
                    from: "joerg@kunde.test", html: "<p>Termin am Montag, Grüße Jörg</p>"),
                .init(name: "Alt.msg", subject: "Alt", from: "a@kunde.test", html: "<p>alt</p>"),
            ])
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok }, "\(reports.map(\.failures))")
        let row = try #require(try e.activities().first)
        let blobs = try e.db.rows(
            "SELECT \"DATEINAME\", \"INHALT\", \"DATEITYP\", \"GROESSE\" FROM \"BLOB\" WHERE \"DATENSATZ_ID\" = ? ORDER BY \"DATEINAME\"",
            [row[0]])
        #expect(blobs.map { $0[0].string } == ["Alt.eml", "Besichtigung Lindenstraße.eml", "Grundriss.pdf"])
        #expect(blobs.last?[1].data == MailEndToEndTests.pdf)
        let eml = try #require(blobs.dropFirst().first)
        #expect(eml[2].string == "message/rfc822")
        let text = String(decoding: eml[1].data ?? Data(), as: UTF8.self)
        #expect(eml[3].integer == Int64(text.utf8.count), "the size is that of the stored file")
        #expect(text.contains("From: joerg@kunde.test\r\n"))
        let subject = "Subject: =?utf-8?B?\(Data("Besichtigung Lindenstraße".utf8).base64EncodedString())?="
        #expect(text.contains(subject), "\(text)")
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined()
        #expect(
            Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: "")).map {
                String(decoding: $0, as: UTF8.self)
            } == "<p>Termin am Montag, Grüße Jörg</p>")
        #expect(e.outlook.invalid.isEmpty, "\(e.outlook.invalid)")
        let quiet = try await e.sync()
        #expect(quiet.allSatisfy { $0.counts.isEmpty }, "\(quiet.map(\.counts))")
    }

    @Test(
        "FlowFact-only mails appear as finished mails in Inbox and Sent Items, never sent",
        arguments: TestDatabase.allCases)
    func placedMails(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        let received = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 3600)
        let contract = try e.insertFlowFactMail(
            subject: "Mietvertrag", outgoing: false, messageID: "<in-1@wolf.test>", read: false, date: received)
        let bytes = Data((0..<2_500_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
        try e.insertBlob(activity: contract, name: "Mietvertrag Weiß.pdf", type: "application/pdf", data: bytes)
        let plan = Data("Grundriss".utf8)
        try e.insertBlob(activity: contract, name: "Grundriss.png", type: "image/png", data: plan)
        _ = try e.insertFlowFactMail(
            subject: "AW: Mietvertrag", outgoing: true, messageID: "<out-1@example.test>", read: true,
            answering: contract)
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok })
        let inbox = try await e.outlook.messages(in: "inbox")
        let sent = try await e.outlook.messages(in: "sentitems")
        #expect(inbox.map { $0.string("Subject") } == ["Mietvertrag"])
        #expect(sent.map { $0.string("Subject") } == ["AW: Mietvertrag"])
        let mail = try #require(inbox.first)
        #expect(mail.string("IsDraft") == "false", "not shown as a draft")
        #expect(mail.string("IsRead") == "false")
        #expect(mail.string("DateTimeReceived").flatMap(EWSDate.parse) == received)
        #expect(mail.path("From", "Mailbox")?.string("EmailAddress") == "hans@wolf.test")
        #expect(mail.string("InternetMessageId") == "<in-1@wolf.test>")
        let files = mail.child("Attachments")?.children ?? []
        #expect(files.map { $0.string("Name") } == ["Grundriss.png", "Mietvertrag Weiß.pdf"])
        #expect(mail.string("HasAttachments") == "true")
        let attachmentIDs = files.compactMap { $0.child("AttachmentId")?.attributes["Id"] }
        #expect(
            try await e.outlook.attachment(try #require(attachmentIDs.last)) == bytes, "the BLOB arrives byte for byte")
        #expect(try await e.outlook.attachment(try #require(attachmentIDs.first)) == plan)
        #expect(e.server.service.counts["CreateAttachment"] == 1, "both files in one CreateAttachment")
        #expect(sent.first?.string("IsDraft") == "false")
        #expect(sent.first?.string("IsRead") == "true")
        // The reply written in FlowFact (VORGANG_ID = the contract mail) is threaded under it.
        #expect(sent.first?.string("InReplyTo") == "<in-1@wolf.test>")
        #expect(sent.first?.string("References") == "<in-1@wolf.test>")
        #expect(mail.string("InReplyTo") == nil)
        #expect(e.server.service.counts["messagesSent"] ?? 0 == 0, "nothing was ever sent")
        let quiet = try await e.sync()
        #expect(quiet.allSatisfy { $0.counts.isEmpty }, "\(quiet.map(\.counts))")
        #expect(try e.activities().count == 2, "placed mails are not imported back")
    }

    @Test(
        "attachments on the FlowFact share travel with their mail; a missing one holds its mail back, named, until it is there",
        arguments: TestDatabase.allCases)
    func shareAttachments(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        let share = e.directory.appendingPathComponent("FlowFact")
        let folder = share.appendingPathComponent("Anhaenge/2026")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        e.adapterSettings = "flowfact_directory: \(share.path)"
        let plan = Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        try plan.write(to: folder.appendingPathComponent("Plan.pdf"))
        let present = try e.insertFlowFactMail(
            subject: "Plan", outgoing: false, messageID: "<plan@wolf.test>", read: true)
        try e.insertShareBlob(
            activity: present, name: "Plan.pdf", type: "application/pdf", path: "Anhaenge\\2026\\Plan.pdf",
            size: plan.count)
        let missing = try e.insertFlowFactMail(
            subject: "Vertrag", outgoing: false, messageID: "<vertrag@wolf.test>", read: true)
        try e.insertShareBlob(
            activity: missing, name: "Vertrag.pdf", type: "application/pdf", path: "Anhaenge\\2026\\Vertrag.pdf",
            size: 4)

        let reports = try await e.sync()
        let report = try #require(reports.first { $0.job.connector == "mail-in" })
        let inbox = try await e.outlook.messages(in: "inbox")
        #expect(inbox.map { $0.string("Subject") } == ["Plan"], "the mail whose file is missing is held back")
        let attachmentID = try #require(
            inbox.first?.path("Attachments", "FileAttachment", "AttachmentId")?.attributes["Id"])
        #expect(try await e.outlook.attachment(attachmentID) == plan)
        let failure = report.failures.first { $0.message.contains("Vertrag.pdf") }
        #expect(failure != nil, "\(report.failures)")
        #expect(failure?.message.contains("FlowFact share") == true)

        // The file appears: the mail is placed once, with it.
        let contract = Data("%PDF".utf8)
        try contract.write(to: folder.appendingPathComponent("Vertrag.pdf"))
        try e.db.execute(
            "UPDATE \"AKT\" SET \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [.timestamp(ODBCTimestamp(Date(), in: TimeZone(identifier: "Europe/Berlin")!)), .text(missing)])
        try await e.sync()
        let after = try await e.outlook.messages(in: "inbox")
        #expect(after.compactMap { $0.string("Subject") }.sorted() == ["Plan", "Vertrag"])
        let placed = try #require(after.first { $0.string("Subject") == "Vertrag" })
        let contractID = try #require(placed.path("Attachments", "FileAttachment", "AttachmentId")?.attributes["Id"])
        #expect(try await e.outlook.attachment(contractID) == contract)
        #expect(e.outlook.invalid.isEmpty, "\(e.outlook.invalid)")
    }

    @Test("read flags follow both ways; content edits do not", arguments: TestDatabase.allCases)
    func readFlags(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        let id = try await e.outlook.deliver("Rückruf bitte", messageID: "<rr@kunde.test>")
        try await e.sync()
        let activity = try #require(try e.activities().first?[0])
        #expect(try e.unread(activity))
        try await e.outlook.setRead(id, true)
        try await e.sync()
        #expect(try e.unread(activity) == false)
        // Unread again in FlowFact: Outlook follows.
        try e.db.execute(
            "UPDATE \"AKTMKM\" SET \"AKTIV\" = 1 WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
            [activity, .text(MailEndToEnd.userMerkmalMM)])
        try e.db.execute(
            "UPDATE \"AKT\" SET \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [
                .timestamp(ODBCTimestamp(Date().addingTimeInterval(2), in: TimeZone(identifier: "Europe/Berlin")!)),
                activity,
            ])
        try await e.sync()
        #expect(try await e.outlook.get(id)?.string("IsRead") == "false")
        #expect(e.server.service.counts["GetAttachment"] ?? 0 == 0)
    }

    @Test(
        "a deleted mail marks its activity; a mail filed into another folder stays linked",
        arguments: TestDatabase.allCases)
    func deleteAndMove(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        let gone = try await e.outlook.deliver("Kündigung", messageID: "<kuendigung@kunde.test>")
        let filed = try await e.outlook.deliver("Angebot", messageID: "<angebot@kunde.test>")
        try await e.sync()
        #expect(try e.activities().count == 2)
        // Outlook deletes one (to Deleted Items) and files the other into a folder of its own.
        _ = try await e.outlook.move(gone, to: "deleteditems")
        let kunden = try await e.outlook.createFolder("Kunden")
        let newID = try await e.outlook.move(filed, to: kunden)
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok })
        #expect(reports.first { $0.job.connector == "mail-in" }?.counts["moved"] == 1)
        #expect(try e.activities().count == 2, "nothing is deleted in FlowFact")
        let marked = try e.db.rows(
            "SELECT a.\"BETREFF\" FROM \"AKTMKM\" m JOIN \"AKT\" a ON a.\"ID\" = m.\"AKT_ID\" WHERE m.\"MKM_ID\" = ?",
            [.text(MailEndToEnd.deletedMerkmal)])
        #expect(marked.map { $0[0].string } == ["Kündigung"])
        // The filed mail is still linked: reading it in FlowFact marks it read in its new folder.
        let angebot = try #require(try e.activities().first { $0[1].string == "Angebot" }?[0])
        try e.db.execute(
            "UPDATE \"AKTMKM\" SET \"AKTIV\" = 0 WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
            [angebot, .text(MailEndToEnd.userMerkmalMM)])
        try e.db.execute(
            "UPDATE \"AKT\" SET \"AENDDATUM\" = ? WHERE \"ID\" = ?",
            [
                .timestamp(ODBCTimestamp(Date().addingTimeInterval(2), in: TimeZone(identifier: "Europe/Berlin")!)),
                angebot,
            ])
        try await e.sync()
        #expect(try await e.outlook.get(newID)?.string("IsRead") == "true")
        #expect(try await e.outlook.messages(in: "inbox").isEmpty, "nothing placed back into the Inbox")
    }

    @Test("replies are threaded; state loss imports nothing twice", arguments: TestDatabase.allCases)
    func threadingAndStateLoss(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        try await e.outlook.deliver(
            "Besichtigung", messageID: "<t1@kunde.test>", received: Date().addingTimeInterval(-900))
        try await e.outlook.deliver(
            "AW: Besichtigung", messageID: "<t2@kunde.test>", inReplyTo: "<t1@kunde.test>",
            received: Date().addingTimeInterval(-300))
        try await e.sync()
        let rows = try e.activities()
        #expect(rows.count == 2)
        let first = try #require(rows.first { $0[1].string == "Besichtigung" })
        let reply = try #require(rows.first { $0[1].string == "AW: Besichtigung" })
        #expect(
            reply[3].string?.trimmingCharacters(in: .whitespaces)
                == first[0].string?.trimmingCharacters(in: .whitespaces))
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(at: e.directory.appendingPathComponent("state.sqlite" + suffix))
        }
        let again = try await e.sync()
        #expect(again.allSatisfy { $0.status == .ok })
        #expect(try e.activities().count == 2)
        #expect(try await e.outlook.messages(in: "inbox").count == 2)
        #expect(try await e.outlook.messages(in: "sentitems").isEmpty)
    }

    @Test(
        "a 9 MB attachment arrives byte for byte (in slices where the driver would buffer it)",
        arguments: TestDatabase.allCases)
    func largeAttachment(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        var state: UInt32 = 7
        let big = Data(
            (0..<9_437_185).map { _ in
                state = state &* 1_664_525 &+ 1_013_904_223
                return UInt8(truncatingIfNeeded: state >> 24)
            })
        try await e.outlook.deliver(
            "Pläne", messageID: "<plaene@architekt.test>",
            files: [.init(name: "Pläne.pdf", type: "application/pdf", data: big)])
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok })
        let stored = try e.db.rows("SELECT \"INHALT\", \"GROESSE\" FROM \"BLOB\" WHERE \"DATEINAME\" = 'Pläne.pdf'")
        #expect(stored.count == 1)
        #expect(stored.first?[1].integer == Int64(big.count))
        #expect(stored.first?[0].data == big)
    }

    @Test(
        "sent mails are booked as sent, linked to the recipient; a mail moved between synced folders stays one activity",
        arguments: [TestDatabase.sqlite])
    func sentMailsAndMovesBetweenSyncedFolders(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        let erika = try e.insertAddress(email: "erika@kunde.test")
        // Written in Outlook: in Sent Items, from the user to Erika.
        let sentID = try await e.outlook.deliver(
            "Ihr Termin", from: MailAddress(name: "Max Müller", email: "mm@example.test"),
            messageID: "<sent@example.test>",
            folder: "sentitems", to: ["info@unbekannt.test", "ERIKA@kunde.test"])
        _ = sentID
        let received = try await e.outlook.deliver("Frage", messageID: "<frage@kunde.test>")
        try await e.sync()
        let rows = try e.activities()
        #expect(rows.count == 2)
        let sent = try #require(rows.first { $0[1].string == "Ihr Termin" })
        #expect(sent[5].string?.trimmingCharacters(in: .whitespaces) == MailEndToEnd.outgoingType)
        #expect(sent[2].string?.trimmingCharacters(in: .whitespaces) == erika, "the first known recipient")
        #expect(
            try #require(rows.first { $0[1].string == "Frage" })[2].string?.trimmingCharacters(in: .whitespaces)
                == erika)
        // Filed from the Inbox into Sent Items (both are synced): still one activity.
        _ = try await e.outlook.move(received, to: "sentitems")
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok })
        #expect(try e.activities().count == 2, "no second activity for the moved mail")
        #expect(
            try e.count("SELECT COUNT(*) FROM \"AKTMKM\" WHERE \"MKM_ID\" = ?", [.text(MailEndToEnd.deletedMerkmal)])
                == 0)
    }

    @Test("old mails stay out; mails from unknown senders follow the policy", arguments: [TestDatabase.sqlite])
    func windowAndUnknownSenders(database: TestDatabase) async throws {
        let e = try await MailEndToEnd(database)
        defer { Task { await e.server.stop() } }
        e.adapterSettings = "unknown_sender: skip"
        _ = try e.insertAddress(email: "erika@kunde.test")
        try await e.outlook.deliver(
            "Alt", messageID: "<alt@kunde.test>", received: Date().addingTimeInterval(-90 * 86_400))
        try await e.outlook.deliver("Neu", messageID: "<neu@kunde.test>")
        try await e.outlook.deliver(
            "Gewinnspiel", from: MailAddress(email: "spam@unbekannt.test"), messageID: "<spam@unbekannt.test>")
        let reports = try await e.sync()
        #expect(reports.allSatisfy { $0.status == .ok && $0.failures.isEmpty })
        #expect(try e.activities().map { $0[1].string } == ["Neu"])
    }
}

@Suite("EWS attachments in batches")
struct AttachmentBatchTests {
    @Test("one GetAttachment for several attachments; each content lands in its own file, a refused one is named")
    func batchedDownload() async throws {
        let sim = try SimFixture(mailboxes: ["mm@example.test"])
        let outlook = Outlook(sim.service)
        let first = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let second = Data("zweite Datei".utf8)
        let id = try await outlook.deliver(
            "Zwei Anhänge", messageID: "<zwei@kunde.test>",
            files: [
                .init(name: "a.bin", type: "application/octet-stream", data: first),
                .init(name: "b.txt", type: "text/plain", data: second),
            ])
        let item = try #require(try await outlook.get(id))
        let ids = (item.child("Attachments")?.children ?? []).compactMap { $0.child("AttachmentId")?.attributes["Id"] }
        #expect(ids.count == 2)
        let endpoint = sim.endpoint(.mail)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A refused id between the two: the files still go to the right attachments.
        let bogus = Data("no such attachment".utf8).base64EncodedString()
        let before = sim.transport.operations.filter { $0 == "GetAttachment" }.count
        let files = try await endpoint.fetchAttachments([ids[0], bogus, ids[1]], into: directory)
        #expect(sim.transport.operations.filter { $0 == "GetAttachment" }.count - before == 1)
        guard case .success(let a)? = files[ids[0]], case .success(let b)? = files[ids[1]] else {
            Issue.record("attachments not fetched: \(files)")
            return
        }
        #expect(FileManager.default.contents(atPath: a.path) == first)
        #expect(FileManager.default.contents(atPath: b.path) == second)
        guard case .failure(let fault)? = files[bogus] else {
            Issue.record("the bogus id was not refused")
            return
        }
        #expect(fault.code.hasPrefix("Error"))
        #expect(sim.transport.invalid.withLock { $0 }.isEmpty)
    }
}

extension AttachmentBatchTests {
    /// A mailbox with one mail in the Inbox carrying the file `a.txt`; the mail's id.
    static func mailboxWithOneFile(messageID: String) async throws -> (SimFixture, String) {
        let sim = try SimFixture(mailboxes: ["mm@example.test"])
        let id = try await Outlook(sim.service).deliver(
            "Mit Anhang", messageID: messageID, files: [.init(name: "a.txt", type: "text/plain", data: Data("a".utf8))])
        return (sim, id)
    }

    /// A fresh spool directory (the caller removes it).
    static func spool() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
    }

    @Test("a mail whose attachment Exchange refuses is reported as unreadable; the other mails go on")
    func refusedAttachment() async throws {
        let (sim, good) = try await Self.mailboxWithOneFile(messageID: "<gut@kunde.test>")
        let directory = Self.spool()
        defer { try? FileManager.default.removeItem(at: directory) }
        let endpoint = sim.mailEndpoint(spool: directory)
        var unreadable: [UnreadableItem] = []
        let fetched = try await endpoint.get([good], unreadable: &unreadable).compactMap(\.1)
        var broken = try #require(fetched.first)
        guard case .mail(var message) = broken.record else { return }
        #expect(message.attachments.first.map { if case .file = $0.content { true } else { false } } == true)
        // The same mail with an attachment id Exchange does not know.
        broken.id = "broken"
        message.attachments[0].content = .reference(
            EWSRecordCodec.attachmentReference + Data("gone".utf8).base64EncodedString())
        broken.record = .mail(message)
        unreadable = []
        let plainMail = EWSItem(id: "plain", changeKey: "", record: .mail(MailMessage(subject: "ohne Anhang")))
        let completed = try await endpoint.completeMails([broken, plainMail], unreadable: &unreadable)
        #expect(completed.map(\.id) == ["plain"])
        #expect(unreadable.map(\.id) == ["broken"])
        #expect(unreadable.first?.reason.contains("a.txt") == true)
        #expect(unreadable.first?.reason.contains("mm@example.test") == true)
    }

    @Test("a read of a mail's fields leaves its attachments in Exchange; a full read fetches them")
    func fieldsReadFetchesNoAttachments() async throws {
        let (sim, id) = try await Self.mailboxWithOneFile(messageID: "<felder@kunde.test>")
        let directory = Self.spool()
        defer { try? FileManager.default.removeItem(at: directory) }
        let endpoint = sim.mailEndpoint(spool: directory)
        func getAttachments() -> Int { sim.transport.operations.filter { $0 == "GetAttachment" }.count }
        let fields = try await endpoint.readFields(ids: [id])
        guard case .mail(let light)? = fields[id]?.record else {
            Issue.record("not read: \(fields)")
            return
        }
        #expect(light.messageID == "<felder@kunde.test>")
        #expect(getAttachments() == 0)
        #expect(light.attachments.allSatisfy { if case .reference = $0.content { true } else { false } })
        let whole = try await endpoint.read(ids: [id])
        guard case .mail(let full)? = whole[id]?.record else {
            Issue.record("not read: \(whole)")
            return
        }
        #expect(getAttachments() == 1)
        #expect(full.attachments.first.map { if case .file = $0.content { true } else { false } } == true)
    }

    /// A server that answers GetAttachment of an attached item without its MimeContent.
    final class WithoutMimeContent: EWSTransport, @unchecked Sendable {
        let inner: InProcessTransport
        init(_ inner: InProcessTransport) { self.inner = inner }

        func post(url: String, mailbox: String, body: Data, onBody: @escaping @Sendable (Data) -> Void) async throws
            -> (status: Int, headers: [String: String])
        {
            let response = Mutex(Data())
            let head = try await inner.post(url: url, mailbox: mailbox, body: body) { chunk in
                response.withLock { $0.append(chunk) }
            }
            let text = response.withLock { String(decoding: $0, as: UTF8.self) }
            onBody(Data(text.replacing(#/<t:MimeContent[^>]*>[^<]*</t:MimeContent>/#, with: "").utf8))
            return head
        }

        func reduceConcurrency() {}
    }

    @Test("an attached item answered without its MIME form is a named failure, not an empty file")
    func attachedItemWithoutMime() async throws {
        let sim = try SimFixture(mailboxes: ["mm@example.test"])
        let outlook = Outlook(sim.service)
        let id = try await outlook.deliver(
            "WG: Alt", messageID: "<wg@kunde.test>",
            attachedMails: [.init(name: "Alt", subject: "Alt", from: "a@kunde.test", html: "<p>alt</p>")])
        let item = try #require(try await outlook.get(id))
        let attachmentID = try #require(item.path("Attachments", "ItemAttachment", "AttachmentId")?.attributes["Id"])
        let directory = Self.spool()
        defer { try? FileManager.default.removeItem(at: directory) }

        let whole = try await sim.endpoint(.mail).fetchAttachments([attachmentID], into: directory)
        guard case .success(let file)? = whole[attachmentID] else {
            Issue.record("not fetched: \(whole)")
            return
        }
        #expect(
            FileManager.default.contents(atPath: file.path).map { String(decoding: $0, as: UTF8.self) }?
                .contains("Subject: Alt\r\n") == true)

        let stripped = sim.mailEndpoint(spool: directory, transport: WithoutMimeContent(sim.transport))
        let answer = try await stripped.fetchAttachments([attachmentID], into: directory)
        guard case .failure(let fault)? = answer[attachmentID] else {
            Issue.record("an attached item without content was taken: \(answer)")
            return
        }
        #expect(fault.message.contains("ItemAttachment without its content"), "\(fault)")
    }
}
