import ConnectorAPI
import Foundation
import TestSupport
import VCard

/// The unfolded content lines of serialized text.
func contentLines(_ text: String) -> [String] {
    text.replacingOccurrences(of: "\r\n ", with: "").components(separatedBy: "\r\n").filter { !$0.isEmpty }
}

/// The error `VCardContact.read` throws for `text`, or nil when it reads it.
func readError(_ text: String) -> VCardError? {
    do {
        _ = try VCardContact.read(text)
        return nil
    } catch let error as VCardError {
        return error
    } catch {
        return nil
    }
}

/// An address with every field set: umlauts, emoji, commas, semicolons, backslashes and line breaks
/// in the structured fields, every phone kind, three postal addresses.
let fullAddress = Address(
    salutation: "Frau", title: "Prof. Dr.", givenName: "Jürgen-Émilie 👩‍💻", middleName: "Maria, Anna",
    familyName: "Weiß-Müller; von Öz", company: "Müller & Söhne; Logistik, Nord", department: "Einkauf\\Zentral",
    jobTitle: "Leiterin, Einkauf; Süd",
    emails: ["j.weiss@example.de", "jw+crm@example.org", "privat@example.net"],
    phones: [
        .business: "+49 211 555-0100", .business2: "+49 211 555-0102", .home: "+49 2102 555 77",
        .home2: "+49 2102 555 78", .mobile: "+49 171 555 0199", .businessFax: "+49 211 555-0101",
        .assistant: "+49 211 555-0110", .car: "+49 172 555 0000", .pager: "+49 160 555 0001",
        .other: "+1 (408) 555-0100",
    ],
    businessAddress: PostalAddress(
        street: "Königsallee 12\nHinterhaus, 3. OG; links", postalCode: "40212", city: "Düsseldorf", state: "NRW",
        country: "Deutschland"),
    homeAddress: PostalAddress(street: "Am Bach 3", postalCode: "40878", city: "Ratingen", country: "Deutschland"),
    otherAddress: PostalAddress(street: "Rue de l'Église 1", postalCode: "1000", city: "Bruxelles", country: "België"),
    birthday: LocalDate(year: 1975, month: 4, day: 12), webPage: "https://example.de/~jw?a=1,2;b=3",
    notes: "Zeile 1\nZeile 2; mit, Zeichen \\ und 😀🇩🇪\n\nEnde.",
    categories: ["Kunde, wichtig", "VIP;Gold", "Düsseldorf"])
