import ConnectorAPI
import Foundation
import ICalendar
import TestSupport
import Testing
import VCard

@Suite("vCard reading: types, dates, tolerance, errors")
struct ParsingTests {
    /// The address of a card holding `lines` between BEGIN and END.
    func read(_ lines: String...) throws -> VCardContact.ParsedContact {
        try VCardContact.read((["BEGIN:VCARD", "VERSION:3.0"] + lines + ["END:VCARD"]).joined(separator: "\r\n"))
    }

    static let phoneLines: [(String, PhoneKind?)] = [
        ("TEL;TYPE=WORK,VOICE:1", .business),
        ("TEL;WORK;VOICE:1", .business),
        (#"TEL;TYPE="work,voice":1"#, .business),
        ("tel;type=work;type=voice:1", .business),
        ("TEL;TYPE=HOME:1", .home),
        ("TEL;TYPE=HOME,VOICE:1", .home),
        ("TEL;TYPE=CELL:1", .mobile),
        ("TEL;TYPE=iPhone:1", .mobile),
        ("TEL;TYPE=WORK,FAX:1", .businessFax),
        ("TEL;FAX:1", .businessFax),
        ("TEL;TYPE=HOME,FAX:1", nil),
        ("TEL;TYPE=PAGER:1", .pager),
        ("TEL;TYPE=CAR:1", .car),
        ("TEL:1", .other),
        ("TEL;TYPE=VOICE:1", .other),
        ("TEL;TYPE=OTHER:1", .other),
        ("TEL;TYPE=X-ASSISTANT:1", .assistant),
        ("TEL;TYPE=x-evolution-assistant:1", .assistant),
        ("TEL;TYPE=WORK,VOICE,X-BUSINESS2:1", .business2),
        ("TEL;TYPE=HOME,X-HOME2:1", .home2),
        (#"TEL;VALUE=uri;TYPE="work,cell,voice,video,text":tel:1"#, .mobile),
    ]

    @Test("TEL types map to phone kinds", arguments: phoneLines)
    func phoneKinds(line: String, kind: PhoneKind?) throws {
        let parsed = try read(line)
        if let kind {
            #expect(parsed.address.phones == [kind: "1"])
            #expect(parsed.unknown.isEmpty)
        } else {
            #expect(parsed.address.phones.isEmpty)
            #expect(parsed.unknown.map(\.name) == ["TEL"])
        }
    }

    static let birthdays: [(String, LocalDate?)] = [
        ("BDAY:1975-04-12", LocalDate(year: 1975, month: 4, day: 12)),
        ("BDAY:19750412", LocalDate(year: 1975, month: 4, day: 12)),
        ("BDAY;VALUE=DATE:1975-04-12", LocalDate(year: 1975, month: 4, day: 12)),
        ("BDAY:1975-04-12T00:00:00Z", LocalDate(year: 1975, month: 4, day: 12)),
        ("BDAY:19750412T120000", LocalDate(year: 1975, month: 4, day: 12)),
        ("BDAY:--0412", nil),
        ("BDAY:--04-12", nil),
        ("BDAY:1975-04", nil),
        ("BDAY:1975-02-30", nil),
        ("BDAY;VALUE=text:circa 1975", nil),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12", nil),
    ]

    @Test(
        "BDAY: dates in both forms and date-times read; partial and impossible dates stay unknown", arguments: birthdays
    )
    func birthday(line: String, date: LocalDate?) throws {
        let parsed = try read(line)
        #expect(parsed.address.birthday == date)
        #expect(parsed.unknown.count == (date == nil ? 1 : 0))
    }

    static let revisions: [(String, String?)] = [
        ("REV:20240311T093012Z", "2024-03-11T09:30:12Z"),
        ("REV:2014-07-11T10:00:07Z", "2014-07-11T10:00:07Z"),
        ("REV;VALUE=DATE-AND-OR-TIME:20240311T093012Z", "2024-03-11T09:30:12Z"),
        ("REV:2024-03-11T10:30:12+01:00", "2024-03-11T09:30:12Z"),
        ("REV:20240311T043012-0500", "2024-03-11T09:30:12Z"),
        ("REV:2024-03-11T09:30:12.345Z", "2024-03-11T09:30:12Z"),
        ("REV:1997-11-15", "1997-11-15T00:00:00Z"),
        ("REV:yesterday", nil),
    ]

    @Test("REV in basic and extended form, UTC or with an offset", arguments: revisions)
    func revision(line: String, expected: String?) throws {
        #expect(try read(line).revision == expected.map(instant))
    }

    @Test("names and parameters in any case, \\N escapes, CHARSET, LF and CR line ends, a byte order mark")
    func tolerance() throws {
        let lines = [
            "\u{FEFF}begin:vcard", "version:4.0", "n:Kern;Ada;;;", "Note;Charset=UTF-8:eins\\Nzwei\\nDrei\\;",
            "email;pref=2:b@example.org", "EMAIL;Pref=1:a@example.org", "Item1.Tel;Type=Work:1", "item1.x-ablabel:x",
            "categories:a\\,b,c", "end:vcard",
        ]
        for separator in ["\n", "\r", "\r\n"] {
            let parsed = try VCardContact.read(lines.joined(separator: separator))
            #expect(parsed.version == .v4)
            #expect(parsed.address.familyName == "Kern")
            #expect(parsed.address.notes == "eins\nzwei\nDrei;")
            #expect(parsed.address.emails == ["a@example.org", "b@example.org"])
            #expect(parsed.address.phones == [.business: "1"])
            #expect(parsed.address.categories == ["a,b", "c"])
            #expect(parsed.unknown.isEmpty)
        }
    }

    @Test("a card with FN only is read as a family name; a fourth e-mail address is kept as unknown")
    func fallbacks() throws {
        let fnOnly = try VCardContact.read("BEGIN:VCARD\nVERSION:4.0\nFN:Hausmeister Krause\nEND:VCARD")
        #expect(fnOnly.address.familyName == "Hausmeister Krause")
        #expect(fnOnly.address.validate().isEmpty)
        let company = try read("N:;;;;", "FN:ACME", "ORG:ACME")
        #expect(company.address.familyName == nil)
        #expect(company.address.company == "ACME")
        let mails = try read(
            "EMAIL;PREF=3:c@x", "EMAIL:d@x", "EMAIL;TYPE=PREF:a@x", "EMAIL;PREF=2:b@x", "EMAIL;TYPE=INTERNET:")
        #expect(mails.address.emails == ["a@x", "b@x", "c@x"])
        #expect(mails.unknown.map(\.value) == ["d@x"])
    }

    @Test("content-line groups: ICalendar parses them only when asked, and writes them back")
    func groups() throws {
        let text = "BEGIN:VCARD\r\nitem1.EMAIL;type=INTERNET:a@example.org\r\nEND:VCARD\r\n"
        #expect(throws: ICalendarError.self) { try ICalComponent.parse(text) }
        let card = try ICalComponent.parse(text, allowingGroups: true)
        let email = try #require(card.property("email"))
        #expect(email.group == "ITEM1")
        #expect(email.name == "EMAIL")
        #expect(email != ICalProperty("EMAIL", parameters: email.parameters, value: email.value))
        #expect(card.serialized() == "BEGIN:VCARD\r\nITEM1.EMAIL;TYPE=INTERNET:a@example.org\r\nEND:VCARD\r\n")
        #expect(throws: ICalendarError.self) {
            try ICalComponent.parse("BEGIN:X\r\n.EMAIL:a\r\nEND:X", allowingGroups: true)
        }
    }

    @Test("broken input throws a VCardError naming the problem and its line")
    func errors() {
        let empty = readError("")
        #expect(empty?.line == nil)
        #expect(empty?.reason.contains("no BEGIN:VCARD") == true)
        let calendar = readError("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
        #expect(calendar?.line == 1)
        #expect(calendar?.reason.contains("BEGIN:VCALENDAR") == true)
        #expect(readError("\n\nHello, world")?.line == 3)
        #expect(readError("\n\nHello, world")?.reason.hasPrefix("not a vCard") == true)
        let open = readError("BEGIN:VCARD\nVERSION:3.0\nFN:x")
        #expect(open?.line == 1)
        #expect(open?.reason.contains("never closed") == true)
        #expect(readError("BEGIN:VCARD\nVERSION:3.0\nthis line has no colon\nEND:VCARD")?.line == 3)
        #expect(readError("BEGIN:VCARD\nVERSION:3.0\nTEL;TYPE=\"work:+1\nEND:VCARD")?.line == 3)
        #expect(readError("BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\nBEGIN:VCARD\nEND:VCARD")?.line == 4)
        let version = readError("BEGIN:VCARD\nVERSION:5.0\nEND:VCARD")
        #expect(version?.line == 2)
        #expect(version?.reason.contains("VERSION:5.0") == true)
        #expect(version?.description.hasPrefix("line 2: unsupported VERSION:5.0") == true)
    }
}
