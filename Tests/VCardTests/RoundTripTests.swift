import ConnectorAPI
import Foundation
import ICalendar
import TestSupport
import Testing
import VCard

@Suite("vCard writing and round trips of an Address")
struct RoundTripTests {
    @Test("every field survives a round trip", arguments: VCardVersion.allCases)
    func fullRoundTrip(version: VCardVersion) throws {
        let text = VCardContact.write(fullAddress, uid: "urn:uuid:0b6a4f0e-1c2d", version: version)
        let parsed = try VCardContact.read(text)
        #expect(parsed.address == fullAddress)
        #expect(parsed.uid == "urn:uuid:0b6a4f0e-1c2d")
        #expect(parsed.version == version)
        #expect(parsed.revision == nil)
        #expect(parsed.unknown.isEmpty)
        #expect(VCardContact.write(parsed.address, uid: "urn:uuid:0b6a4f0e-1c2d", version: version) == text)
    }

    @Test("vCard 3.0 shape: CRLF lines, N, FN, ORG, TYPE=INTERNET,PREF, upper-case TYPE lists, BDAY 1975-04-12")
    func version3Shape() {
        let text = VCardContact.write(fullAddress, uid: "u-1")
        #expect(text.hasPrefix("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//connector-host//VCard//EN\r\n"))
        #expect(text.hasSuffix("\r\nEND:VCARD\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "only CRLF line ends")
        let lines = contentLines(text)
        #expect(lines.contains(#"N:Weiß-Müller\; von Öz;Jürgen-Émilie 👩‍💻;Maria\, Anna;Prof. Dr.;"#))
        #expect(lines.contains(#"FN:Prof. Dr. Jürgen-Émilie 👩‍💻 Maria\, Anna Weiß-Müller\; von Öz"#))
        #expect(lines.contains("X-SALUTATION:Frau"))
        #expect(lines.contains(#"ORG:Müller & Söhne\; Logistik\, Nord;Einkauf\\Zentral"#))
        #expect(lines.contains(#"TITLE:Leiterin\, Einkauf\; Süd"#))
        #expect(
            lines.filter { $0.hasPrefix("EMAIL") } == [
                "EMAIL;TYPE=INTERNET,PREF:j.weiss@example.de", "EMAIL;TYPE=INTERNET:jw+crm@example.org",
                "EMAIL;TYPE=INTERNET:privat@example.net",
            ])
        #expect(
            lines.filter { $0.hasPrefix("TEL") } == [
                "TEL;TYPE=WORK,VOICE:+49 211 555-0100", "TEL;TYPE=WORK,VOICE,X-BUSINESS2:+49 211 555-0102",
                "TEL;TYPE=HOME:+49 2102 555 77", "TEL;TYPE=HOME,X-HOME2:+49 2102 555 78",
                "TEL;TYPE=CELL:+49 171 555 0199", "TEL;TYPE=WORK,FAX:+49 211 555-0101",
                "TEL;TYPE=X-ASSISTANT:+49 211 555-0110", "TEL;TYPE=CAR:+49 172 555 0000",
                "TEL;TYPE=PAGER:+49 160 555 0001", "TEL;TYPE=OTHER:+1 (408) 555-0100",
            ])
        #expect(
            lines.contains(
                #"ADR;TYPE=WORK:;;Königsallee 12\nHinterhaus\, 3. OG\; links;Düsseldorf;NRW;40212;Deutschland"#))
        #expect(lines.contains("ADR;TYPE=HOME:;;Am Bach 3;Ratingen;;40878;Deutschland"))
        #expect(lines.contains("ADR;TYPE=OTHER:;;Rue de l'Église 1;Bruxelles;;1000;België"))
        #expect(lines.contains("BDAY:1975-04-12"))
        #expect(lines.contains("URL:https://example.de/~jw?a=1,2;b=3"))
        #expect(lines.contains(#"NOTE:Zeile 1\nZeile 2\; mit\, Zeichen \\ und 😀🇩🇪\n\nEnde."#))
        #expect(lines.contains(#"CATEGORIES:Kunde\, wichtig,VIP\;Gold,Düsseldorf"#))
        #expect(lines.contains("UID:u-1"))
    }

    @Test("vCard 4.0 shape: PREF=1, lower-case quoted TYPE lists, BDAY 19750412")
    func version4Shape() {
        let lines = contentLines(VCardContact.write(fullAddress, uid: "u-1", version: .v4))
        #expect(lines[1] == "VERSION:4.0")
        #expect(
            lines.filter { $0.hasPrefix("EMAIL") } == [
                "EMAIL;PREF=1:j.weiss@example.de", "EMAIL;PREF=2:jw+crm@example.org", "EMAIL;PREF=3:privat@example.net",
            ])
        #expect(lines.contains(#"TEL;TYPE="work,voice":+49 211 555-0100"#))
        #expect(lines.contains(#"TEL;TYPE="work,voice,x-business2":+49 211 555-0102"#))
        #expect(lines.contains("TEL;TYPE=home:+49 2102 555 77"))
        #expect(lines.contains("TEL;TYPE=cell:+49 171 555 0199"))
        #expect(lines.contains(#"TEL;TYPE="work,fax":+49 211 555-0101"#))
        #expect(lines.contains("TEL;TYPE=x-assistant:+49 211 555-0110"))
        #expect(lines.contains("ADR;TYPE=home:;;Am Bach 3;Ratingen;;40878;Deutschland"))
        #expect(lines.contains("BDAY:19750412"))
    }

    @Test("a 100 KB note with umlauts and emoji folds at 75 octets on UTF-8 boundaries and unfolds exactly")
    func longNoteFolding() throws {
        var note = ""
        var line = 0
        while note.utf8.count < 100_000 {
            line += 1
            note += "Zeile \(line): Grüße aus Köln, Straße; 😀👩‍👩‍👧 — \\ Ende\n"
        }
        var address = fullAddress
        address.notes = note
        address.familyName = String(repeating: "Ä", count: 200)
        for version in VCardVersion.allCases {
            let text = VCardContact.write(address, uid: "long", version: version)
            let lines = physicalLines(text)
            #expect(lines.count > 1_350)
            for line in lines {
                #expect(line.count <= 75)
                #expect(String(validating: line, as: UTF8.self) != nil, "each physical line is valid UTF-8 alone")
            }
            let parsed = try VCardContact.read(text)
            #expect(parsed.address.notes == note)
            #expect(parsed.address == address)
        }
    }

    @Test("sparse records: a company alone, a lone second phone, empty strings left out")
    func sparseRecords() throws {
        let company = Address(company: "ACME; Inc.", phones: [.business2: "+1 555 2", .home2: "+1 555 3"])
        let text = VCardContact.write(company, uid: "c", version: .v4)
        let lines = contentLines(text)
        #expect(lines.contains("N:;;;;"))
        #expect(lines.contains(#"FN:ACME\; Inc."#))
        #expect(lines.contains(#"ORG:ACME\; Inc."#))
        #expect(try VCardContact.read(text).address == company)

        let blank = Address(givenName: "", familyName: "Nur", company: "", notes: "", categories: ["", "A"])
        let blankLines = contentLines(VCardContact.write(blank, uid: "b"))
        #expect(!blankLines.contains { $0.hasPrefix("ORG") || $0.hasPrefix("NOTE") })
        #expect(blankLines.contains("CATEGORIES:A"))
        #expect(try VCardContact.read(VCardContact.write(blank, uid: "b")).address.categories == ["A"])

        let mailOnly = Address(emails: ["solo@example.org"])
        #expect(contentLines(VCardContact.write(mailOnly, uid: "m")).contains("FN:solo@example.org"))
    }

    @Test("extra properties are written after the mapped ones; unknown ones read back and are kept by a writer")
    func extraAndUnknown() throws {
        let extra = [
            ICalProperty.text("X-CONNECTOR-SYNCKEY", "flowfact:4711"),
            ICalProperty(
                "PHOTO", parameters: [ICalParameter("ENCODING", "b"), ICalParameter("TYPE", "JPEG")], value: "AAAA"),
            ICalProperty("X-ABLABEL", group: "item9", value: "Custom, label"),
        ]
        let text = VCardContact.write(Address(familyName: "Kern"), uid: "k", extra: extra)
        let lines = contentLines(text)
        #expect(
            lines.suffix(4) == [
                "X-CONNECTOR-SYNCKEY:flowfact:4711", "PHOTO;ENCODING=b;TYPE=JPEG:AAAA",
                "ITEM9.X-ABLABEL:Custom, label", "END:VCARD",
            ])
        let parsed = try VCardContact.read(text)
        #expect(parsed.unknown == extra)
        #expect(parsed.unknown.first?.textValue == "flowfact:4711")
        #expect(VCardContact.write(parsed.address, uid: "k", extra: parsed.unknown) == text)
    }
}
