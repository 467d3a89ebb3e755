import ConnectorAPI
import Foundation
import ICalendar
import TestSupport
import Testing
import VCard

@Suite("Reading vCards other software writes")
struct SampleTests {
    @Test("Nextcloud / Sabre VObject 3.0: every mapped field, a folded NOTE, VALUE= parameters")
    func nextcloud() throws {
        let parsed = try VCardContact.read(Fixture.nextcloud)
        let address = parsed.address
        #expect(parsed.uid == "5f1c6a0e-3c1b-4b7e-9d55-2a8f1e0c9b71")
        #expect(parsed.version == .v3)
        #expect(parsed.revision == instant("2024-03-11T09:30:12Z"))
        #expect(address.title == "Dr.")
        #expect(address.givenName == "Jürgen")
        #expect(address.familyName == "Weiß")
        #expect(address.middleName == nil)
        #expect(address.company == "Weiß & Partner")
        #expect(address.department == "Steuerberatung")
        #expect(address.jobTitle == "Partner")
        #expect(address.emails == ["j.weiss@weiss-partner.example", "juergen@privat.example"])
        #expect(
            address.phones == [
                .business: "+49 211 555 0100", .mobile: "+49 171 555 0199", .businessFax: "+49 211 555 0101",
                .home: "+49 2102 555 77",
            ])
        #expect(
            address.businessAddress
                == PostalAddress(
                    street: "Königsallee 12", postalCode: "40212", city: "Düsseldorf", state: "NRW",
                    country: "Deutschland"))
        #expect(address.homeAddress?.city == "Ratingen")
        #expect(address.homeAddress?.state == nil)
        #expect(address.otherAddress == nil)
        #expect(address.birthday == LocalDate(year: 1971, month: 2, day: 28))
        #expect(address.categories == ["Mandanten", "Düsseldorf"])
        #expect(
            address.notes
                == "Termine nur vormittags.\nRückruf über das Sekretariat, bitte. Unterlagen für 2024 liegen vor.")
        #expect(address.webPage == "https://weiss-partner.example")
        #expect(parsed.unknown.map(\.name) == ["X-SOCIALPROFILE"])
        #expect(parsed.unknown.first?.parameter("TYPE") == "linkedin")
    }

    @Test("Apple Contacts: item groups and X-ABLabel, type=pref ordering, a labelled assistant, omitted year")
    func apple() throws {
        let parsed = try VCardContact.read(Fixture.apple)
        let address = parsed.address
        #expect(parsed.uid == nil)
        #expect(address.givenName == "Johnny")
        #expect(address.familyName == "Appleseed")
        #expect(address.company == "Apple Inc.")
        #expect(address.department == nil)
        #expect(address.jobTitle == "Product Manager")
        #expect(
            address.emails == ["johnny.appleseed@icloud.example", "jappleseed@apple.example", "johnny@home.example"])
        #expect(
            address.phones == [
                .mobile: "+1 (408) 555-0100", .business: "+1 (408) 555-0101", .assistant: "+1 (408) 555-0102",
                .other: "+1 (408) 555-0000",
            ])
        #expect(
            address.homeAddress
                == PostalAddress(
                    street: "1 Infinite Loop", postalCode: "95014", city: "Cupertino", state: "CA",
                    country: "United States"))
        #expect(address.webPage == "https://www.apple.example/johnny")
        #expect(address.birthday == nil, "X-APPLE-OMIT-YEAR: a birthday without year")
        #expect(address.notes == "Met at WWDC.")
        // The labels of mapped items go with them; the rest is kept with groups and parameters.
        #expect(parsed.unknown.map(\.name) == ["X-ABRELATEDNAMES", "X-ABLABEL", "BDAY", "PHOTO", "X-ABUID"])
        #expect(parsed.unknown[0].group == "ITEM5")
        #expect(parsed.unknown[2].value == "1604-04-01")
        #expect(parsed.unknown[3].value.hasSuffix("EBD/2Q=="), "the folded PHOTO is unfolded")
        let rewritten = VCardContact.write(address, uid: "a", extra: parsed.unknown)
        #expect(rewritten.contains("ITEM5.X-ABLABEL:_$!<Spouse>!$_\r\n"))
        #expect(try VCardContact.read(rewritten).unknown == parsed.unknown)
    }

    @Test("Google export: the first three e-mail addresses, two work and home numbers, the rest kept")
    func google() throws {
        let parsed = try VCardContact.read(Fixture.google)
        let address = parsed.address
        #expect(address.givenName == "Erika")
        #expect(address.familyName == "Mustermann")
        #expect(address.emails == ["erika@example.org", "e.mustermann@firma.example", "erika.m@mail.example"])
        #expect(
            address.phones == [
                .mobile: "+49 170 1234567", .business: "+49 30 9876543", .business2: "+49 30 9876544",
                .home: "+49 30 1111", .home2: "+49 30 2222",
            ])
        #expect(address.homeAddress?.street == "Heidestraße 17")
        #expect(address.company == "Firma GmbH")
        #expect(address.jobTitle == "Einkauf")
        #expect(address.birthday == LocalDate(year: 1964, month: 8, day: 12))
        #expect(address.webPage == "https://erika.example.org")
        #expect(address.notes == "Kennt sich aus, mag Kaffee")
        #expect(address.categories == ["myContacts", "Kunden"])
        #expect(parsed.unknown.map(\.name) == ["NICKNAME", "EMAIL", "TEL"])
        #expect(parsed.unknown.map(\.value) == ["Eri", "erika.alt@mail.example", "+49 30 3333"])
        #expect(address.validate().isEmpty)
    }

    @Test(
        "Radicale-stored DAVx5 card: LF line ends, additional names, repeated CATEGORIES, PO box and extended address")
    func radicale() throws {
        let parsed = try VCardContact.read(Fixture.radicale)
        let address = parsed.address
        #expect(parsed.uid == "1b4e28ba-2fa1-11d2-883f-0016d3cca427")
        #expect(parsed.revision == instant("2023-01-03T17:46:41Z"))
        #expect(address.givenName == "Pretty")
        #expect(address.middleName == "Long With-Hyphen")
        #expect(address.familyName == "Name")
        #expect(address.birthday == LocalDate(year: 1970, month: 1, day: 1))
        #expect(address.categories == ["Familie", "Nachbarn"])
        #expect(address.emails == ["pretty@example.com"])
        #expect(address.phones == [.mobile: "+43 660 1234567", .pager: "+43 1 5555"])
        #expect(
            address.businessAddress
                == PostalAddress(
                    street: "Ringstraße 1\nc/o Agentur\nPostfach 12", postalCode: "1010", city: "Wien",
                    country: "Österreich"))
        #expect(parsed.unknown.map(\.name) == ["NICKNAME"])
    }

    @Test("RFC 6350 section 8: tel: URIs, TYPE lists in quotes, a partial birthday kept, folds inside values")
    func rfc6350Example() throws {
        let parsed = try VCardContact.read(Fixture.rfc6350)
        let address = parsed.address
        #expect(parsed.version == .v4)
        #expect(address.givenName == "Simon")
        #expect(address.familyName == "Perreault")
        #expect(address.title == nil)
        #expect(address.company == "Viagenie")
        #expect(address.phones == [.business: "+1-418-656-9254;ext=102", .mobile: "+1-418-262-6501"])
        #expect(
            address.businessAddress
                == PostalAddress(
                    street: "2875 Laurier\nSuite D2-630", postalCode: "G1V 2M2", city: "Quebec", state: "QC",
                    country: "Canada"))
        #expect(address.emails == ["simon.perreault@viagenie.ca"])
        #expect(address.webPage == "http://nomis80.org")
        #expect(address.birthday == nil)
        #expect(
            parsed.unknown.map(\.name) == ["BDAY", "ANNIVERSARY", "GENDER", "LANG", "LANG", "GEO", "KEY", "TZ"])
        #expect(parsed.unknown[0].value == "--0203")
        #expect(parsed.unknown[6].value == "http://www.viagenie.ca/simon.perreault/simon.asc")
    }

    @Test("vCard 2.1: WORK;VOICE without TYPE=, quoted-printable soft line breaks and charsets, line numbers kept")
    func outlook21() throws {
        let parsed = try VCardContact.read(Fixture.outlook21)
        let address = parsed.address
        #expect(parsed.version == .v3)
        #expect(parsed.revision == instant("2024-01-02T10:11:12Z"))
        #expect(address.title == "Dr.")
        #expect(address.familyName == "Müller")
        #expect(address.department == "Einkauf")
        #expect(
            address.phones == [
                .business: "+49 69 1234-0", .business2: "+49 69 1234-100", .home: "+49 69 5555",
                .mobile: "+49 171 5555", .businessFax: "+49 69 1234-99", .car: "+49 172 0000",
            ])
        #expect(address.businessAddress?.city == "Frankfurt am Main")
        #expect(address.emails == ["hans.mueller@mueller-ag.example"])
        #expect(address.notes == "Grüße aus Frankfurt\nZweite Zeile mit = Zeichen")
        #expect(address.webPage == "https://müller-ag.example/kontakt")
        #expect(parsed.unknown.map(\.name) == ["TEL", "LABEL", "X-MS-OL-DEFAULT-POSTAL-ADDRESS"])
        #expect(parsed.unknown.map(\.line) == [12, 15, 22])
        #expect(parsed.unknown[0].value == "+49 69 5556", "a home fax has no place in an Address")

        let utf8 = try VCardContact.read(
            crlf(
                """
                BEGIN:VCARD
                VERSION:2.1
                N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=BC=9F;;;
                ADR;HOME;CHARSET=UTF-8;QUOTED-PRINTABLE:;;=E5=8C=97=E4=BA=AC=E8=B7=AF 1;=E4=B8=8A=E6=B5=B7;;;
                END:VCARD
                """))
        #expect(utf8.address.familyName == "张")
        #expect(utf8.address.givenName == "伟")
        #expect(utf8.address.homeAddress == PostalAddress(street: "北京路 1", city: "上海"))
    }
}
