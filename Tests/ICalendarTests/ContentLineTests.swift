import Foundation
import ICalendar
import TestSupport
import Testing

@Suite("iCalendar content lines: unfolding, parameters, folding, escaping, errors")
struct ContentLineTests {
    @Test("LF-only input without a final newline, folds with space and tab, names in any case")
    func tolerantParsing() throws {
        let text =
            "begin:vcalendar\nVERSION:2.0\nBEGIN:VEVENT\nsummary:Long \n  text that was\n\tfolded\n"
            + "\nX-Custom;x-param=\"a:b;c,d\",plain;Other=1:value:with:colons\nEND:VEVENT\nEnd:VCalendar"
        let root = try ICalComponent.parse(text)
        #expect(root.name == "VCALENDAR")
        #expect(root.property("version")?.value == "2.0")
        let event = try #require(root.components(named: "vevent").first)
        #expect(event.property("SUMMARY")?.value == "Long  text that wasfolded")
        let custom = try #require(event.property("X-CUSTOM"))
        #expect(custom.parameterValues("X-PARAM") == ["a:b;c,d", "plain"])
        #expect(custom.parameter("other") == "1")
        #expect(custom.value == "value:with:colons")
        #expect(custom.line == 8)
        #expect(event.line == 3)
    }

    @Test("CRLF input with a byte order mark and CR-only line ends parse alike")
    func lineEnds() throws {
        let lines = ["BEGIN:VCALENDAR", "PRODID:x", "BEGIN:VTODO", "SUMMARY:a", "END:VTODO", "END:VCALENDAR"]
        let crlf = try ICalComponent.parse("\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n")
        let cr = try ICalComponent.parse(lines.joined(separator: "\r"))
        #expect(crlf == cr)
        #expect(crlf.components(named: "VTODO").first?.property("SUMMARY")?.value == "a")
    }

    @Test("a long line of umlauts folds at 75 octets without splitting a UTF-8 sequence and unfolds exactly")
    func foldingUTF8() throws {
        let summary = String(repeating: "äöüß€", count: 40) + " 😀 end"
        var event = ICalComponent("VEVENT")
        event.add(.text("SUMMARY", summary))
        event.add("X-A", "x")  // "SUMMARY:" + one-byte prefix shifts the fold points against the two-byte letters
        let text = event.serialized()
        let lines = physicalLines(text)
        #expect(lines.count > 6)
        for line in lines {
            #expect(line.count <= 75)
            #expect(String(validating: line, as: UTF8.self) != nil, "every physical line is valid UTF-8 on its own")
        }
        #expect(lines[2].first == 32, "continuation lines start with a space")
        #expect(text.hasSuffix("END:VEVENT\r\n"))
        let parsed = try ICalComponent.parse(text)
        #expect(parsed.property("SUMMARY")?.textValue == summary)
        #expect(parsed == event)
    }

    @Test("exactly 75 octets stay on one line; 76 fold once")
    func foldBoundary() {
        var short = ICalComponent("X")
        short.add("SUMMARY", String(repeating: "a", count: 75 - 8))
        #expect(physicalLines(short.serialized())[1].count == 75)
        var long = ICalComponent("X")
        long.add("SUMMARY", String(repeating: "a", count: 76 - 8))
        let lines = physicalLines(long.serialized())
        #expect(lines.count == 4)
        #expect(lines[2] == Array(" a".utf8))
    }

    @Test("TEXT escaping of backslash, semicolon, comma and line breaks, and list splitting")
    func escaping() throws {
        let text = "a,b;c\\d\ne\r\nf"
        #expect(ICalText.escape(text) == #"a\,b\;c\\d\ne\nf"#)
        #expect(ICalText.unescape(#"a\,b\;c\\d\ne\Nf"#) == "a,b;c\\d\ne\nf")
        #expect(ICalText.unescape(#"trailing\"#) == #"trailing\"#)
        #expect(ICalText.splitList(#"one\,two,three\\,four\;"#) == ["one,two", "three\\", "four;"])
        #expect(ICalText.splitList("") == [])
        var component = ICalComponent("VEVENT")
        component.add(.text("DESCRIPTION", "Zeile 1\nZeile 2; mit, Zeichen \\ ok"))
        component.add("CATEGORIES", ["A,B", "C;D", "E\\F"].map(ICalText.escape).joined(separator: ","))
        let parsed = try ICalComponent.parse(component.serialized())
        #expect(parsed.property("DESCRIPTION")?.textValue == "Zeile 1\nZeile 2; mit, Zeichen \\ ok")
        #expect(parsed.property("CATEGORIES")?.listValues == ["A,B", "C;D", "E\\F"])
        #expect(component.serialized().contains(#"DESCRIPTION:Zeile 1\nZeile 2\; mit\, Zeichen \\ ok"#))
    }

    @Test("parameter values with :;, are quoted, quotes and line breaks use RFC 6868 carets")
    func parameterQuoting() throws {
        var component = ICalComponent("VEVENT")
        component.add(
            ICalProperty(
                "ATTENDEE",
                parameters: [ICalParameter("CN", "Meier, \"Anna\"\nSales"), ICalParameter("ROLE", "CHAIR")],
                value: "mailto:a@example.com"))
        let text = component.serialized()
        #expect(text.contains(#"ATTENDEE;CN="Meier, ^'Anna^'^nSales";ROLE=CHAIR:mailto:a@example.com"#))
        let parsed = try ICalComponent.parse(text)
        #expect(parsed.property("ATTENDEE")?.parameter("CN") == "Meier, \"Anna\"\nSales")
    }

    @Test("malformed structure gives an ICalendarError naming the line")
    func malformedStructure() {
        func error(_ text: String) -> ICalendarError? {
            do {
                _ = try ICalComponent.parse(text)
                return nil
            } catch let error as ICalendarError {
                return error
            } catch {
                return nil
            }
        }
        let unterminated = error("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VCALENDAR\n")
        #expect(unterminated?.line == 4)
        #expect(unterminated?.reason.contains("BEGIN:VEVENT") == true)
        let neverClosed = error("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:x")
        #expect(neverClosed?.line == 3)
        #expect(neverClosed?.reason.contains("never closed") == true)
        #expect(error("BEGIN:VCALENDAR\nthis line has no colon\nEND:VCALENDAR")?.line == 2)
        #expect(error("SUMMARY:outside\nBEGIN:VCALENDAR\nEND:VCALENDAR")?.line == 1)
        #expect(error("BEGIN:VCALENDAR\nX;P=\"open:value\nEND:VCALENDAR")?.line == 2)
        #expect(error("BEGIN:VCALENDAR\nBEGIN:VTIMEZONEnullEND:VTIMEZONE\nEND:VCALENDAR")?.line == 2)
        #expect(error("BEGIN:VCALENDAR\nEND:VCALENDAR\nBEGIN:VCALENDAR\nEND:VCALENDAR")?.line == 3)
        #expect(error("")?.line == nil)
        #expect(error("") != nil)
        #expect(ICalendarError(line: 7, "bad").description == "line 7: bad")
    }
}
