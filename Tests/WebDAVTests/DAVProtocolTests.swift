import ExchangeWebDAV
import Foundation
import Testing
import XML

@Suite("Exchange WebDAV protocol pieces")
struct DAVProtocolTests {
    @Test("Element names that start with a digit and braces in namespaces are repaired, then read back by their names")
    func digitLeadingNames() throws {
        let body = """
            <?xml version="1.0"?><a:multistatus xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" \
            xmlns:c="xml:" xmlns:e="http://schemas.microsoft.com/mapi/id/{00062003-0000-0000-C000-000000000046}/">\
            <a:response><a:href>https://mail.example.com/exchange/jdoe/Aufgaben/x.EML</a:href>\
            <a:propstat><a:status>HTTP/1.1 200 OK</a:status><a:prop><e:0x00008101 b:dt="int">2</e:0x00008101>\
            <e:33026 b:dt="float">0.5</e:33026><subject>Prüfung</subject>\
            <a:getlastmodified b:dt="dateTime.tz">2009-08-24T15:00:00.250Z</a:getlastmodified>\
            <k b:dt="mv.string"><c:v>A</c:v><c:v>B, C</c:v></k></a:prop></a:propstat>\
            <a:propstat><a:status>HTTP/1.1 404 Resource Not Found</a:status><a:prop><a:getetag/></a:prop></a:propstat>\
            </a:response></a:multistatus>
            """
        #expect(throws: XMLParseError.self) { try XMLStreamParser.parse(Data(body.utf8)) }
        let response = try #require(try DAVMultistatus.parse(Data(body.utf8)).first)
        #expect(response.path == "/exchange/jdoe/Aufgaben/x.EML")
        #expect(response[DAVProperty.taskStatus]?.int == 2)
        // 33026 is 0x8102 in decimal: the same property.
        #expect(response[DAVProperty.taskPercentComplete]?.double == 0.5)
        #expect(response["subject"]?.string == "Prüfung")
        #expect(response[DAVProperty.getLastModified]?.date == Date(timeIntervalSince1970: 1_251_126_000.25))
        #expect(response["k"]?.strings == ["A", "B, C"])
        #expect(response.failed[DAVProperty.getETag] == 404)
        // Text that looks like a tag inside CDATA or comments is left alone.
        let other = Data("<a><!-- <b:0x1> --><![CDATA[<c:9>]]></a>".utf8)
        #expect(DAVXMLRepair.escapeDigitLeadingNames(other) == other)
    }

    @Test("Request bodies declare their namespaces, escape names and type values; they parse as XML")
    func requestBodies() throws {
        let body = DAVBody.propertyUpdate(
            set: [
                (DAVProperty.taskStatus, .int(1)), (DAVProperty.keywords, .strings(["Kunde", "A&B"])),
                (DAVProperty.subject, .string("<Ärger>")),
                (DAVProperty.taskDueDate, .date(Date(timeIntervalSince1970: 0))),
            ], remove: [DAVNamespace.contacts + "pager"])
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("_x0030_x8101"))
        #expect(text.contains("T:dt=\"int\""))
        #expect(text.contains("1970-01-01T00:00:00.000Z"))
        let root = try XMLStreamParser.parse(DAVXMLRepair.escapeDigitLeadingNames(body))
        #expect(root.name == "propertyupdate")
        #expect(root.child("set")?.child("prop")?.children.count == 4)
        let search = String(decoding: DAVBody.search("SELECT \"a\" FROM \"\" WHERE \"b\" < 'x'"), as: UTF8.self)
        #expect(search.contains("&lt; 'x'"))
        #expect(ExchangeSQL.string("O'Brien") == "'O''Brien'")
    }

    @Test("Dates: Exchange's dateTime.tz, ISO forms with offsets, and SQL's form")
    func dates() {
        let date = Date(timeIntervalSince1970: 1_251_126_000)
        #expect(DAVDate.format(date) == "2009-08-24T15:00:00.000Z")
        #expect(DAVDate.parse("2009-08-24T15:00:00Z") == date)
        #expect(DAVDate.parse("2009-08-24T17:00:00+02:00") == date)
        #expect(DAVDate.parse("2009/08/24 15:00:00") == date)
        #expect(DAVDate.parse("2009-13-24T15:00:00Z") == nil)
        #expect(DAVDate.parse("yesterday") == nil)
    }

    @Test("MIME: the text/calendar part is found in an appointment, base64 or 8bit, at any depth")
    func calendarPart() throws {
        let mime = DAVMIME.appointment(
            calendar: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", subject: "Prüfung", description: "Text", date: Date())
        #expect(DAVMIME.calendarPart(of: mime) == "BEGIN:VCALENDAR\r\nEND:VCALENDAR")
        let nested = """
            Subject: x\r
            Content-Type: multipart/mixed; boundary=outer\r
            \r
            --outer\r
            Content-Type: multipart/alternative; boundary="inner"\r
            \r
            --inner\r
            Content-Type: text/plain\r
            \r
            hi\r
            --inner\r
            Content-Type: text/calendar; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r
            \(Data("BEGIN:VCALENDAR\r\nSUMMARY:Ä\r\n".utf8).base64EncodedString())\r
            --inner--\r
            --outer--\r

            """
        #expect(DAVMIME.calendarPart(of: Data(nested.utf8)) == "BEGIN:VCALENDAR\r\nSUMMARY:Ä\r\n")
        #expect(DAVMIME.calendarPart(of: Data("Subject: none\r\n\r\nbody".utf8)) == nil)
    }
}
