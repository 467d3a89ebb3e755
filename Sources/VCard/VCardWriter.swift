import ConnectorAPI
import Foundation
import ICalendar

/// Builds the VCARD component of one address.
struct VCardWriter {
    let address: Address
    let version: VCardVersion

    /// The `TYPE` names of each phone kind, in the order the numbers are written.
    static let phoneTypes: [(kind: PhoneKind, types: [String])] = [
        (.business, ["work", "voice"]),
        (.business2, ["work", "voice", PhoneMarker.business2]),
        (.home, ["home"]),
        (.home2, ["home", PhoneMarker.home2]),
        (.mobile, ["cell"]),
        (.businessFax, ["work", "fax"]),
        (.assistant, [PhoneMarker.assistant]),
        (.car, ["car"]),
        (.pager, ["pager"]),
        (.other, ["other"]),
    ]

    func card(uid: String, extra: [ICalProperty]) -> ICalComponent {
        var card = ICalComponent("VCARD")
        card.add("VERSION", version.rawValue)
        card.add(.text("PRODID", VCardContact.productID))
        card.add(.text("UID", uid))
        let name = [address.familyName, address.givenName, address.middleName, address.title, nil]
        card.add("N", name.map { ICalText.escape($0 ?? "") }.joined(separator: ";"))
        card.add(.text("FN", formattedName))
        if let salutation = nonEmpty(address.salutation) { card.add(.text("X-SALUTATION", salutation)) }
        let company = nonEmpty(address.company)
        let department = nonEmpty(address.department)
        if company != nil || department != nil {
            let units = department.map { [company ?? "", $0] } ?? [company ?? ""]
            card.add("ORG", units.map(ICalText.escape).joined(separator: ";"))
        }
        if let jobTitle = nonEmpty(address.jobTitle) { card.add(.text("TITLE", jobTitle)) }
        addEmails(to: &card)
        for (kind, types) in Self.phoneTypes {
            guard let number = nonEmpty(address.phones[kind]) else { continue }
            card.add(ICalProperty("TEL", parameters: [typeParameter(types)], value: number))
        }
        let postal: [(String, PostalAddress?)] = [
            ("work", address.businessAddress), ("home", address.homeAddress), ("other", address.otherAddress),
        ]
        for (type, postal) in postal {
            guard let postal else { continue }
            let fields = [postal.street, postal.city, postal.state, postal.postalCode, postal.country]
            guard fields.contains(where: { nonEmpty($0) != nil }) else { continue }
            let value = ";;" + fields.map { ICalText.escape($0 ?? "") }.joined(separator: ";")
            card.add(ICalProperty("ADR", parameters: [typeParameter([type])], value: value))
        }
        if let birthday = address.birthday {
            let text =
                version == .v4
                ? String(format: "%04d%02d%02d", birthday.year, birthday.month, birthday.day) : birthday.description
            card.add("BDAY", text)
        }
        if let webPage = nonEmpty(address.webPage) { card.add("URL", webPage) }
        if let notes = nonEmpty(address.notes) { card.add(.text("NOTE", notes)) }
        let categories = address.categories.filter { !$0.isEmpty }
        if !categories.isEmpty { card.add("CATEGORIES", categories.map(ICalText.escape).joined(separator: ",")) }
        card.properties += extra
        return card
    }

    /// "title given middle family", else the company, else the first e-mail address.
    var formattedName: String {
        let person = [address.title, address.givenName, address.middleName, address.familyName]
            .compactMap(nonEmpty).joined(separator: " ")
        if !person.isEmpty { return person }
        return nonEmpty(address.company) ?? address.emails.lazy.compactMap(nonEmpty).first ?? ""
    }

    /// The e-mail addresses in order: 3.0 marks the first `TYPE=INTERNET,PREF`, the others
    /// `TYPE=INTERNET`; 4.0 numbers them `PREF=1`, `PREF=2`, ….
    func addEmails(to card: inout ICalComponent) {
        for (index, email) in address.emails.compactMap(nonEmpty).enumerated() {
            let parameter =
                switch version {
                case .v3: ICalParameter("TYPE", index == 0 ? ["INTERNET", "PREF"] : ["INTERNET"])
                case .v4: ICalParameter("PREF", String(index + 1))
                }
            card.add(.text("EMAIL", email, parameters: [parameter]))
        }
    }

    /// `TYPE=WORK,VOICE` in 3.0, `TYPE="work,voice"` (one quoted value) in 4.0.
    func typeParameter(_ types: [String]) -> ICalParameter {
        switch version {
        case .v3: ICalParameter("TYPE", types.map { $0.uppercased() })
        case .v4: ICalParameter("TYPE", types.joined(separator: ","))
        }
    }
}

/// The `TYPE` values this library adds to phone numbers vCard has no type for.
enum PhoneMarker {
    static let assistant = "x-assistant"
    static let business2 = "x-business2"
    static let home2 = "x-home2"
}

/// The string, or nil when it is nil or empty.
func nonEmpty(_ text: String?) -> String? {
    guard let text, !text.isEmpty else { return nil }
    return text
}
