import TestSupport

/// vCards in the shapes other software writes them, for the reading tests. Each is written after
/// what that software emits (its PRODID, parameter spelling, grouping, escaping and folding).
enum Fixture {
    /// Nextcloud Contacts, stored by Sabre VObject as vCard 3.0: `TYPE=FAX,WORK`, `VALUE=` on BDAY,
    /// URL and REV, a line folded at 75 octets.
    static let nextcloud = crlf(
        #"""
        BEGIN:VCARD
        VERSION:3.0
        PRODID:-//Sabre//Sabre VObject 4.5.4//EN
        UID:5f1c6a0e-3c1b-4b7e-9d55-2a8f1e0c9b71
        FN:Dr. Jürgen Weiß
        ADR;TYPE=WORK:;;Königsallee 12;Düsseldorf;NRW;40212;Deutschland
        ADR;TYPE=HOME:;;Am Bach 3;Ratingen;;40878;Deutschland
        EMAIL;TYPE=WORK:j.weiss@weiss-partner.example
        EMAIL;TYPE=HOME:juergen@privat.example
        TEL;TYPE=WORK,VOICE:+49 211 555 0100
        TEL;TYPE=CELL:+49 171 555 0199
        TEL;TYPE=FAX,WORK:+49 211 555 0101
        TEL;TYPE=HOME,VOICE:+49 2102 555 77
        N:Weiß;Jürgen;;Dr.;
        ORG:Weiß & Partner;Steuerberatung
        TITLE:Partner
        BDAY;VALUE=DATE:1971-02-28
        CATEGORIES:Mandanten,Düsseldorf
        NOTE:Termine nur vormittags.\nRückruf über das Sekretariat\, bitte. Unterl
         agen für 2024 liegen vor.
        URL;VALUE=URI:https://weiss-partner.example
        X-SOCIALPROFILE;TYPE=linkedin:https://linkedin.example/in/jweiss
        REV;VALUE=DATE-AND-OR-TIME:20240311T093012Z
        END:VCARD

        """#)

    /// Apple Contacts (macOS) vCard 3.0: repeated lower-case `type=` parameters, `item1.` groups with
    /// `X-ABLabel`, an escaped `\:`, a preferred e-mail address that is not the first, a birthday
    /// without year, a folded PHOTO.
    static let apple = crlf(
        #"""
        BEGIN:VCARD
        VERSION:3.0
        PRODID:-//Apple Inc.//macOS 14.4.1//EN
        N:Appleseed;Johnny;;;
        FN:Johnny Appleseed
        ORG:Apple Inc.;
        TITLE:Product Manager
        EMAIL;type=INTERNET;type=WORK:jappleseed@apple.example
        item1.EMAIL;type=INTERNET;type=pref:johnny.appleseed@icloud.example
        item1.X-ABLabel:_$!<Other>!$_
        EMAIL;type=INTERNET;type=HOME:johnny@home.example
        TEL;type=CELL;type=VOICE;type=pref:+1 (408) 555-0100
        TEL;type=WORK;type=VOICE:+1 (408) 555-0101
        item2.TEL:+1 (408) 555-0102
        item2.X-ABLabel:Assistant
        TEL;type=MAIN:+1 (408) 555-0000
        item3.ADR;type=HOME;type=pref:;;1 Infinite Loop;Cupertino;CA;95014;United States
        item3.X-ABADR:us
        item4.URL;type=pref:https\://www.apple.example/johnny
        item4.X-ABLabel:_$!<HomePage>!$_
        item5.X-ABRELATEDNAMES:Jane Appleseed
        item5.X-ABLabel:_$!<Spouse>!$_
        BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-01
        NOTE:Met at WWDC.
        PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAw
         MDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2Q==
        X-ABUID:2E4CB084-4767-4C85-BBCA-805B1DCB1C8E\:ABPerson
        END:VCARD

        """#)

    /// A Google Contacts export (vCard 3.0): `TYPE=INTERNET;TYPE=HOME`, more e-mail addresses and
    /// home numbers than an Address holds, `item1.URL` with an escaped colon, `CATEGORIES:myContacts`.
    static let google = crlf(
        #"""
        BEGIN:VCARD
        VERSION:3.0
        FN:Erika Mustermann
        N:Mustermann;Erika;;;
        NICKNAME:Eri
        EMAIL;TYPE=INTERNET;TYPE=HOME:erika@example.org
        EMAIL;TYPE=INTERNET;TYPE=WORK:e.mustermann@firma.example
        EMAIL;TYPE=INTERNET:erika.m@mail.example
        EMAIL;TYPE=INTERNET:erika.alt@mail.example
        TEL;TYPE=CELL:+49 170 1234567
        TEL;TYPE=WORK:+49 30 9876543
        TEL;TYPE=WORK:+49 30 9876544
        TEL;TYPE=HOME:+49 30 1111
        TEL;TYPE=HOME:+49 30 2222
        TEL;TYPE=HOME:+49 30 3333
        ADR;TYPE=HOME:;;Heidestraße 17;Köln;;51147;Deutschland
        ORG:Firma GmbH
        TITLE:Einkauf
        BDAY:1964-08-12
        item1.URL:https\://erika.example.org
        item1.X-ABLabel:Blog
        NOTE:Kennt sich aus\, mag Kaffee
        CATEGORIES:myContacts,Kunden
        END:VCARD

        """#)

    /// A card DAVx5 (ez-vcard) uploaded to Radicale, as Radicale stores it: LF line ends, two
    /// additional names in N, two CATEGORIES lines, an ADR with post office box and extended address.
    static let radicale = #"""
        BEGIN:VCARD
        VERSION:3.0
        PRODID:+//IDN bitfire.at//DAVx5/4.3.9-ose ez-vcard/0.11.3
        UID:1b4e28ba-2fa1-11d2-883f-0016d3cca427
        BDAY:1970-01-01
        CATEGORIES:Familie
        CATEGORIES:Nachbarn
        EMAIL;TYPE=home:pretty@example.com
        FN:Pretty Long With-Hyphen Name
        N:Name;Pretty;Long,With-Hyphen;;
        NICKNAME:PL
        ADR;TYPE=work:Postfach 12;c/o Agentur;Ringstraße 1;Wien;;1010;Österreich
        REV:2023-01-03T17:46:41Z
        TEL;TYPE=cell:+43 660 1234567
        TEL;TYPE=pager:+43 1 5555
        END:VCARD

        """#

    /// The vCard 4.0 of RFC 6350 section 8 (Simon Perreault), with its folds.
    static let rfc6350 = crlf(
        #"""
        BEGIN:VCARD
        VERSION:4.0
        FN:Simon Perreault
        N:Perreault;Simon;;;ing. jr,M.Sc.
        BDAY:--0203
        ANNIVERSARY:20090808T1430-0500
        GENDER:M
        LANG;PREF=1:fr
        LANG;PREF=2:en
        ORG;TYPE=work:Viagenie
        ADR;TYPE=work:;Suite D2-630;2875 Laurier;
         Quebec;QC;G1V 2M2;Canada
        TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+1-418-656-9254;ext=102
        TEL;VALUE=uri;TYPE="work,cell,voice,video,text":tel:+1-418-262-6501
        EMAIL;TYPE=work:simon.perreault@viagenie.ca
        GEO;TYPE=work:geo:46.772673,-71.282945
        KEY;TYPE=work;VALUE=uri:
         http://www.viagenie.ca/simon.perreault/simon.asc
        TZ:-0500
        URL;TYPE=home:http://nomis80.org
        END:VCARD
        """#)

    /// An Outlook-style vCard 2.1: types without `TYPE=`, quoted-printable values with soft line
    /// breaks in UTF-8 and Windows-1252.
    static let outlook21 = crlf(
        #"""
        BEGIN:VCARD
        VERSION:2.1
        N;LANGUAGE=de:Müller;Hans;;Dr.
        FN:Dr. Hans Müller
        ORG:Müller AG;Einkauf
        TITLE:Leiter Einkauf
        TEL;WORK;VOICE:+49 69 1234-0
        TEL;WORK;VOICE:+49 69 1234-100
        TEL;HOME;VOICE:+49 69 5555
        TEL;CELL;VOICE:+49 171 5555
        TEL;WORK;FAX:+49 69 1234-99
        TEL;HOME;FAX:+49 69 5556
        TEL;CAR;VOICE:+49 172 0000
        ADR;WORK;PREF:;;Zeil 5;Frankfurt am Main;Hessen;60313;Deutschland
        LABEL;WORK;PREF;ENCODING=QUOTED-PRINTABLE:Zeil 5=0D=0A=
        Frankfurt am Main 60313
        EMAIL;PREF;INTERNET:hans.mueller@mueller-ag.example
        NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=Windows-1252:Gr=FC=DFe aus Frankfurt=0D=0A=
        Zweite Zeile mit =3D Zeichen
        URL;WORK;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:https://m=C3=BCller-ag.example/=
        kontakt
        X-MS-OL-DEFAULT-POSTAL-ADDRESS:2
        REV:20240102T101112Z
        END:VCARD
        """#)
}
