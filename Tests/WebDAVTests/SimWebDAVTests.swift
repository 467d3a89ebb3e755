import ExchangeSim
import ExchangeWebDAV
import Foundation
import TestSupport
import Testing

/// A WebDAV request with curl: method, URL, headers and an optional body file.
func dav(
    _ method: String, _ url: String, user: String = "svc:pw", headers: [String] = [], body: String? = nil,
    cookies: URL? = nil
) throws -> (status: Int, headers: String, body: String) {
    var arguments = ["-X", method, url]
    if !user.isEmpty { arguments += ["-u", user] }
    for header in headers { arguments += ["-H", header] }
    if let cookies { arguments += ["-b", cookies.path, "-c", cookies.path] }
    var file: URL?
    if let body {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dav-\(UUID().uuidString)")
        try Data(body.utf8).write(to: path)
        file = path
        arguments += ["--data-binary", "@\(path.path)"]
        if !headers.contains(where: { $0.lowercased().hasPrefix("content-type") }) {
            arguments += ["-H", "Content-Type: text/xml"]
        }
    }
    defer { if let file { try? FileManager.default.removeItem(at: file) } }
    return try runCurl(arguments)
}

/// A simulator serving WebDAV (Exchange 2003/2007) for mailbox jdoe@example.test, with a
/// service account `svc` that has full access.
func webdavServer(configure: (inout SimOptions) -> Void = { _ in }) async throws -> (SimServer, String) {
    var options = SimOptions(schemaDirectory: Schemas.directory)
    options.mailboxes = ["jdoe@example.test", "ann@example.test"]
    options.accounts = [
        SimAccount(name: "svc", password: "pw"), SimAccount(name: "jdoe", password: "jdoe-pw"),
        SimAccount(name: "ann", password: "ann-pw"),
    ]
    options.delegates = ["svc"]
    options.protocols = [.webdav]
    configure(&options)
    let server = SimServer(service: try SimService(options: options))
    let url = try await server.start()
    return (server, url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: ""))
}

@Suite("exchange-sim speaks Exchange 2003/2007 WebDAV (checked with curl)", .serialized)
struct SimWebDAVTests {
    @Test("PROPFIND on the mailbox root names the localised well-known folders with absolute URLs")
    func folderDiscovery() async throws {
        let (server, base) = try await webdavServer()
        defer { Task { await server.stop() } }
        let answer = try dav(
            "PROPFIND", "\(base)/exchange/jdoe/", headers: ["Depth: 0"],
            body:
                #"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:h="urn:schemas:httpmail:"><D:prop><h:contacts/><h:calendar/><h:tasks/><h:inbox/><h:sentitems/><h:journal/></D:prop></D:propfind>"#
        )
        #expect(answer.status == 207)
        #expect(answer.headers.lowercased().contains("content-type: text/xml\r\n"))
        let root = try #require(try DAVMultistatus.parse(Data(answer.body.utf8)).first)
        #expect(root[DAVNamespace.httpmail + "contacts"]?.string == "\(base)/exchange/jdoe/Kontakte")
        #expect(root[DAVNamespace.httpmail + "calendar"]?.string == "\(base)/exchange/jdoe/Kalender")
        #expect(root[DAVNamespace.httpmail + "sentitems"]?.string == "\(base)/exchange/jdoe/Gesendete%20Objekte")
        #expect(root.failed[DAVNamespace.httpmail + "journal"] == 404)
        // The SMTP address names the same mailbox; another user's mailbox is refused without rights.
        let bySMTP = try dav("PROPFIND", "\(base)/exchange/jdoe@example.test/", headers: ["Depth: 0"])
        #expect(bySMTP.status == 207)
        let foreign = try dav("PROPFIND", "\(base)/exchange/ann/", user: "jdoe:jdoe-pw", headers: ["Depth: 0"])
        #expect(foreign.status == 403)
        let wrongPassword = try dav("PROPFIND", "\(base)/exchange/jdoe/", user: "svc:nope", headers: ["Depth: 0"])
        #expect(wrongPassword.status == 401)
        let missing = try dav("PROPFIND", "\(base)/exchange/nobody/", headers: ["Depth: 0"])
        #expect(missing.status == 404)
    }

    @Test("PROPPATCH creates an item (201 inside the 207), If-None-Match and If-Match give 412, writes are counted")
    func proppatchCreateAndConditions() async throws {
        let (server, base) = try await webdavServer()
        defer { Task { await server.stop() } }
        let url = "\(base)/exchange/jdoe/Kontakte/crm-1.EML"
        let body = String(
            decoding: DAVBody.propertyUpdate(set: [
                (DAVProperty.messageClass, .string("IPM.Contact")),
                (DAVNamespace.contacts + "givenName", .string("Jörg")),
                (DAVNamespace.contacts + "sn", .string("Müller")),
                (DAVProperty.syncKey, .string("k-1")),
                (DAVProperty.taskStatus, .int(2)),
            ]), as: UTF8.self)
        let created = try dav("PROPPATCH", url, headers: ["If-None-Match: *"], body: body)
        #expect(created.status == 207)
        #expect(created.body.contains("HTTP/1.1 201 Created"))
        #expect(created.headers.contains("Repl-UID: <rid:"))
        let again = try dav("PROPPATCH", url, headers: ["If-None-Match: *"], body: body)
        #expect(again.status == 412)
        let stale = try dav("PROPPATCH", url, headers: ["If-Match: \"stale\""], body: body)
        #expect(stale.status == 412)
        #expect(server.service.davWrites(account: "svc", mailbox: "jdoe@example.test", folder: "contacts") == 1)
        // Read back: a named MAPI property comes back under a digit-leading element name, as
        // Exchange sends it; the repair makes it readable.
        let read = try dav(
            "PROPFIND", url, headers: ["Depth: 0"],
            body: String(
                decoding: DAVBody.propfind([
                    DAVProperty.taskStatus, DAVProperty.getETag, DAVProperty.contentClass,
                    DAVNamespace.contacts + "givenName",
                ]), as: UTF8.self))
        #expect(read.body.contains(":0x8101"))
        let item = try #require(try DAVMultistatus.parse(Data(read.body.utf8)).first)
        #expect(item[DAVProperty.taskStatus]?.int == 2)
        #expect(item[DAVNamespace.contacts + "givenName"]?.string == "Jörg")
        #expect(item[DAVProperty.contentClass]?.string == "urn:content-classes:person")
        let etag = try #require(item[DAVProperty.getETag]?.string)
        let update = try dav("PROPPATCH", url, headers: ["If-Match: \(etag)"], body: body)
        #expect(update.status == 207)
        #expect(!update.body.contains("201 Created"))
        // A read-only property fails the whole PROPPATCH: 403 for it, 424 for the rest.
        let refused = try dav(
            "PROPPATCH", url,
            body: String(
                decoding: DAVBody.propertyUpdate(set: [
                    (DAVProperty.getETag, .string("x")), (DAVNamespace.contacts + "sn", .string("Y")),
                ]), as: UTF8.self))
        let response = try #require(try DAVMultistatus.parse(Data(refused.body.utf8)).first)
        #expect(response.failed[DAVProperty.getETag] == 403)
        #expect(response.failed[DAVNamespace.contacts + "sn"] == 424)
    }

    @Test("SEARCH takes DavMail's and Evolution's SQL, pages with Range rows and answers Content-Range, then 416")
    func searchAndRanges() async throws {
        let (server, base) = try await webdavServer()
        defer { Task { await server.stop() } }
        for index in 0..<7 {
            let body = String(
                decoding: DAVBody.propertyUpdate(set: [
                    (DAVProperty.messageClass, .string("IPM.Task")), (DAVProperty.subject, .string("Aufgabe \(index)")),
                    (DAVProperty.taskPercentComplete, .float(Double(index) / 10)),
                ]), as: UTF8.self)
            #expect(try dav("PROPPATCH", "\(base)/exchange/jdoe/Aufgaben/t\(index).EML", body: body).status == 207)
        }
        // DavMail's shape: SCOPE with the decoded path, aliases, And/Or in mixed case, a date in SQL form.
        let davmail = """
            SELECT "http://schemas.microsoft.com/exchange/permanenturl","urn:schemas:httpmail:subject" as subject,"DAV:getetag" FROM SCOPE('Shallow TRAVERSAL OF "/exchange/jdoe/Aufgaben"') WHERE ("DAV:isfolder" = false And "DAV:ishidden" = false And ("http://schemas.microsoft.com/exchange/outlookmessageclass" = 'IPM.Task' Or "http://schemas.microsoft.com/exchange/outlookmessageclass" = 'IPM.Task.X') And "DAV:getlastmodified" > '2001/01/01 00:00:00') ORDER BY "urn:schemas:httpmail:subject" DESC
            """
        let page = try dav(
            "SEARCH", "\(base)/exchange/jdoe/Aufgaben/", headers: ["Range: rows=0-4"],
            body: String(decoding: DAVBody.search(davmail), as: UTF8.self))
        #expect(page.status == 207)
        #expect(page.headers.contains("Content-Range: rows 0-4; total=7"))
        let rows = try DAVMultistatus.parse(Data(page.body.utf8))
        #expect(rows.count == 5)
        #expect(rows.first?["subject"]?.string == "Aufgabe 6")
        let rest = try dav(
            "SEARCH", "\(base)/exchange/jdoe/Aufgaben/", headers: ["Range: rows=5-9"],
            body: String(decoding: DAVBody.search(davmail), as: UTF8.self))
        #expect(rest.headers.contains("Content-Range: rows 5-6; total=7"))
        let beyond = try dav(
            "SEARCH", "\(base)/exchange/jdoe/Aufgaben/", headers: ["Range: rows=10-19"],
            body: String(decoding: DAVBody.search(davmail), as: UTF8.self))
        #expect(beyond.status == 416)
        // Evolution's shape: FROM "", CAST dates, NOT, float comparison.
        let evolution = """
            SELECT "DAV:getetag" FROM "" WHERE NOT ("http://schemas.microsoft.com/mapi/id/{00062003-0000-0000-C000-000000000046}/0x00008102" < 0.5) AND "DAV:getlastmodified" > CAST("2001-01-01T00:00:00Z" as 'dateTime.tz')
            """
        let filtered = try dav(
            "SEARCH", "\(base)/exchange/jdoe/Aufgaben/",
            body: String(decoding: DAVBody.search(evolution), as: UTF8.self))
        #expect(try DAVMultistatus.parse(Data(filtered.body.utf8)).count == 2)
        let broken = try dav(
            "SEARCH", "\(base)/exchange/jdoe/Aufgaben/",
            body: String(decoding: DAVBody.search("SELECT FROM nowhere"), as: UTF8.self))
        #expect(broken.status == 400)
        #expect(broken.body.contains("Exchange SQL"))
    }

    @Test("Forms login: WebDAV without a session gets 440, the form's cookies open the mailbox, wrong passwords fail")
    func formsLogin() async throws {
        let (server, base) = try await webdavServer { $0.auth = .forms2003 }
        defer { Task { await server.stop() } }
        let jar = FileManager.default.temporaryDirectory.appendingPathComponent("jar-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: jar) }
        let anonymous = try dav("PROPFIND", "\(base)/exchange/jdoe/", user: "", headers: ["Depth: 0"])
        #expect(anonymous.status == 440)
        let login = try runCurl([
            "-c", jar.path, "-X", "POST", "\(base)/exchweb/bin/auth/owaauth.dll",
            "--data", "destination=\(base)/exchange/&flags=4&username=svc&password=pw&trusted=4",
        ])
        #expect(login.status == 302)
        let opened = try dav("PROPFIND", "\(base)/exchange/jdoe/", user: "", headers: ["Depth: 0"], cookies: jar)
        #expect(opened.status == 207)
        // DavMail reads the mailbox path from the BASE of the OWA page.
        let page = try dav("GET", "\(base)/exchange/", user: "", cookies: jar)
        #expect(page.body.contains("<BASE href=\"\(base)/exchange/"))
    }

    @Test("PUT of an appointment's MIME is promoted into calendar properties; GET Translate: f returns it")
    func putAppointment() async throws {
        let (server, base) = try await webdavServer()
        defer { Task { await server.stop() } }
        let calendar = """
            BEGIN:VCALENDAR\r
            VERSION:2.0\r
            PRODID:-//test//EN\r
            BEGIN:VEVENT\r
            UID:event-1\r
            DTSTART:20300601T100000Z\r
            DTEND:20300601T110000Z\r
            SUMMARY:Besichtigung Südstraße\r
            RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=SA\r
            END:VEVENT\r
            END:VCALENDAR\r

            """
        let mime = String(
            decoding: DAVMIME.appointment(calendar: calendar, subject: "x", description: nil, date: Date()),
            as: UTF8.self)
        let url = "\(base)/exchange/jdoe/Kalender/event-1.EML"
        let put = try dav(
            "PUT", url, headers: ["Translate: f", "Content-Type: message/rfc822", "Overwrite: f"], body: mime)
        #expect(put.status == 201, "\(put.body)")
        #expect(put.headers.contains("GetETag: "))
        let items = server.service.davItems(mailbox: "jdoe@example.test", folder: "calendar")
        let item = try #require(items["event-1.EML"])
        #expect(item[DAVProperty.subject]?.string == "Besichtigung Südstraße")
        #expect(item[DAVProperty.instanceType]?.int == 1)
        #expect(item[DAVProperty.dtStart]?.date == DAVDate.parse("2030-06-01T10:00:00Z"))
        #expect(item[DAVProperty.rrule]?.strings == ["FREQ=WEEKLY;COUNT=4;BYDAY=SA"])
        let get = try dav("GET", url, headers: ["Translate: f"])
        #expect(get.status == 200)
        #expect(get.body.contains("SUMMARY:Besichtigung Südstraße"))
        let html = try dav("GET", url)
        #expect(html.headers.contains("text/html"))
        let deleted = try dav("DELETE", url)
        #expect(deleted.status == 200)
        #expect(try dav("DELETE", url).status == 404)
    }

    @Test("Mail with attachments: X-MS-ENUMATTS lists them, GET reads them; BDELETE and MOVE work and are counted")
    func mailAndAttachments() async throws {
        let (server, base) = try await webdavServer()
        defer { Task { await server.stop() } }
        let mime = """
            From: "Ann Lee" <ann@example.test>\r
            To: jdoe@example.test\r
            Subject: =?utf-8?B?RXhwb3PDqQ==?=\r
            Message-ID: <m1@example.test>\r
            Date: Mon, 24 Aug 2026 15:00:00 +0000\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Hallo\r
            --b1\r
            Content-Type: application/pdf; name="Grundriss Küche.pdf"\r
            Content-Disposition: attachment; filename="Grundriss Küche.pdf"\r
            Content-Transfer-Encoding: base64\r
            \r
            JVBERi0xLjQK\r
            --b1--\r

            """
        let name = try #require(server.service.deliverDAVMail(to: "jdoe@example.test", mime: Data(mime.utf8)))
        let url = "\(base)/exchange/jdoe/Posteingang/\(name)"
        let listing = try dav("X-MS-ENUMATTS", url)
        #expect(listing.status == 207, "\(listing.body)")
        let attachment = try #require(try DAVMultistatus.parse(Data(listing.body.utf8)).first)
        #expect(attachment[DAVProperty.attachmentFilename]?.string == "Grundriss Küche.pdf")
        let content = try dav("GET", attachment.href)
        #expect(content.body == "%PDF-1.4\n")
        let search = try dav(
            "SEARCH", "\(base)/exchange/jdoe/Posteingang/",
            body: String(
                decoding: DAVBody.search(
                    #"SELECT "urn:schemas:httpmail:subject", "urn:schemas:httpmail:fromemail" FROM SCOPE('shallow traversal of "/exchange/jdoe/Posteingang/"') WHERE "urn:schemas:httpmail:hasattachment" = True"#
                ), as: UTF8.self))
        let row = try #require(try DAVMultistatus.parse(Data(search.body.utf8)).first)
        #expect(row[DAVProperty.subject]?.string == "Exposé")
        #expect(row[DAVProperty.fromEmail]?.string == "ann@example.test")
        #expect(server.service.davWrites(mailbox: "jdoe@example.test", folder: "inbox") == 0)
        let moved = try dav(
            "MOVE", url, user: "jdoe:jdoe-pw",
            headers: ["Destination: \(base)/exchange/jdoe/Gel%C3%B6schte%20Objekte/\(name)"])
        #expect(moved.status == 201)
        #expect(server.service.davItemCount(mailbox: "jdoe@example.test", folder: "deleteditems") == 1)
        #expect(server.service.davWrites(account: "jdoe", mailbox: "jdoe@example.test", folder: "inbox") == 1)
        #expect(server.service.davWrites(account: "svc", mailbox: "jdoe@example.test", folder: "inbox") == 0)
        let batch = try dav(
            "BDELETE", "\(base)/exchange/jdoe/Gel%C3%B6schte%20Objekte/",
            body: String(decoding: DAVBody.batchDelete(hrefs: [name, "missing.EML"]), as: UTF8.self))
        #expect(batch.status == 207)
        #expect(batch.body.contains("missing.EML"))
        #expect(server.service.davItemCount(mailbox: "jdoe@example.test", folder: "deleteditems") == 0)
    }

    @Test("A mailbox over its quota answers 507 to writes; the EWS path is absent with --protocol webdav")
    func quotaAndProtocols() async throws {
        let (server, base) = try await webdavServer { $0.davQuotaExceeded = ["jdoe@example.test"] }
        defer { Task { await server.stop() } }
        let body = String(decoding: DAVBody.propertyUpdate(set: [(DAVProperty.subject, .string("x"))]), as: UTF8.self)
        #expect(try dav("PROPPATCH", "\(base)/exchange/jdoe/Aufgaben/a.EML", body: body).status == 507)
        #expect(try dav("PROPPATCH", "\(base)/exchange/ann/Aufgaben/a.EML", body: body).status == 207)
        #expect(try dav("POST", "\(base)/EWS/Exchange.asmx", body: "<x/>").status == 404)
    }
}
