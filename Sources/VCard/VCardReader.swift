import ConnectorAPI
import Foundation
import ICalendar

/// Reads the address of one VCARD component.
struct VCardReader {
    let card: ICalComponent

    /// A property with what the mapping looks at.
    struct Entry {
        var property: ICalProperty
        /// The raw value, quoted-printable decoded.
        var value: String
        /// The `TYPE` values, split on commas and lower-cased, and (vCard 2.1) the names of
        /// parameters without a value, such as `WORK` of `TEL;WORK;VOICE:`.
        var types: Set<String>

        init(_ property: ICalProperty) {
            self.property = property
            var types: Set<String> = []
            var quotedPrintable = false
            for parameter in property.parameters {
                if parameter.name == "TYPE" {
                    for value in parameter.values {
                        types.formUnion(value.split(separator: ",").map { String($0).trimmingSpaces.lowercased() })
                    }
                } else if parameter.values.isEmpty {
                    types.insert(parameter.name.lowercased())
                }
                if parameter.name == "ENCODING", parameter.values.first?.uppercased() == "QUOTED-PRINTABLE" {
                    quotedPrintable = true
                }
            }
            self.types = types
            quotedPrintable = quotedPrintable || types.contains("quoted-printable")
            value =
                quotedPrintable
                ? VCardText.decodeQuotedPrintable(property.value, charset: property.parameter("CHARSET"))
                    .replacingOccurrences(of: "\r\n", with: "\n") : property.value
        }

        /// The value read as TEXT.
        var text: String { ICalText.unescape(value) }

        /// The components of a structured value (`N`, `ORG`, `ADR`), padded to `count`, still escaped.
        func components(_ count: Int) -> [String] {
            let parts = VCardText.split(value, on: ";")
            return parts + Array(repeating: "", count: max(0, count - parts.count))
        }
    }

    func read() throws -> VCardContact.ParsedContact {
        let entries = card.properties.map(Entry.init)
        let version = try readVersion()
        let labels = Dictionary(
            entries.compactMap { entry in
                entry.property.name == "X-ABLABEL" ? entry.property.group.map { ($0, entry.text) } : nil
            },
            uniquingKeysWith: { first, _ in first })
        var address = Address()
        var uid: String?
        var revision: Date?
        var formattedName: String?
        var consumed = Set<Int>()
        var seen = Set<String>()
        var emails: [(rank: Int, index: Int, value: String)] = []

        /// Takes the first property of a single-valued name; later ones stay unknown.
        func once(_ index: Int, _ read: () -> Void) {
            guard seen.insert(entries[index].property.name).inserted else { return }
            read()
            consumed.insert(index)
        }

        for (index, entry) in entries.enumerated() {
            switch entry.property.name {
            case "VERSION", "PRODID": consumed.insert(index)
            case "UID": once(index) { uid = nonEmpty(entry.text.trimmingSpaces) }
            case "REV": once(index) { revision = VCardText.timestamp(entry.value) }
            case "FN": once(index) { formattedName = nonEmpty(entry.text) }
            case "N": once(index) { readName(entry, into: &address) }
            case "X-SALUTATION": once(index) { address.salutation = nonEmpty(entry.text) }
            case "ORG":
                once(index) {
                    let units = entry.components(2).map(ICalText.unescape)
                    address.company = nonEmpty(units[0])
                    address.department = nonEmpty(units.dropFirst().filter { !$0.isEmpty }.joined(separator: ", "))
                }
            case "TITLE": once(index) { address.jobTitle = nonEmpty(entry.text) }
            case "URL": once(index) { address.webPage = nonEmpty(entry.text.trimmingSpaces) }
            case "NOTE": once(index) { address.notes = nonEmpty(entry.text) }
            case "CATEGORIES":
                address.categories += ICalText.splitList(entry.value).map(\.trimmingSpaces).filter { !$0.isEmpty }
                consumed.insert(index)
            case "BDAY":
                guard let birthday = VCardText.birthday(entry.property, value: entry.value) else { continue }
                once(index) { address.birthday = birthday }
            case "EMAIL":
                guard let email = nonEmpty(entry.text.trimmingSpaces) else {
                    consumed.insert(index)
                    continue
                }
                let rank =
                    entry.property.parameter("PREF").flatMap { Int($0) } ?? (entry.types.contains("pref") ? 1 : 101)
                emails.append((rank, index, email))
            case "TEL":
                var number = entry.text.trimmingSpaces
                if number.lowercased().hasPrefix("tel:") { number.removeFirst(4) }
                guard !number.isEmpty else {
                    consumed.insert(index)
                    continue
                }
                let label = entry.property.group.flatMap { labels[$0] }
                guard let kind = Self.phoneKinds(entry.types, label: label).first(where: { address.phones[$0] == nil })
                else { continue }
                address.phones[kind] = number
                consumed.insert(index)
            case "ADR":
                guard let postal = Self.postalAddress(entry) else {
                    consumed.insert(index)
                    continue
                }
                let slot: WritableKeyPath<Address, PostalAddress?> =
                    entry.types.contains("work")
                    ? \.businessAddress : entry.types.contains("home") ? \.homeAddress : \.otherAddress
                guard address[keyPath: slot] == nil else { continue }
                address[keyPath: slot] = postal
                consumed.insert(index)
            default: continue
            }
        }
        for email in emails.sorted(by: { ($0.rank, $0.index) < ($1.rank, $1.index) }).prefix(3) {
            address.emails.append(email.value)
            consumed.insert(email.index)
        }
        if address.givenName == nil, address.familyName == nil, address.middleName == nil, address.company == nil {
            address.familyName = formattedName
        }
        let consumedGroups = Set(consumed.compactMap { entries[$0].property.group })
        let unknown = entries.indices.filter { index in
            !consumed.contains(index) && !(entries[index].property.group.map(consumedGroups.contains) ?? false)
        }.map { entries[$0].property }
        return VCardContact.ParsedContact(
            address: address, uid: uid, version: version, revision: revision, unknown: unknown)
    }

    /// 4.0, or 3.0 for 3.0, 2.1 and a card without `VERSION`.
    func readVersion() throws -> VCardVersion {
        guard let property = card.property("VERSION") else { return .v3 }
        switch property.textValue.trimmingSpaces {
        case "4.0": return .v4
        case "3.0", "2.1": return .v3
        case let other:
            throw VCardError(line: property.line, "unsupported VERSION:\(other) (2.1, 3.0 and 4.0 are read)")
        }
    }

    /// `N`: family;given;additional;prefix;suffix; the values of a component joined by spaces.
    func readName(_ entry: Entry, into address: inout Address) {
        let parts = entry.components(5).map { component in
            nonEmpty(
                VCardText.split(component, on: ",").map { ICalText.unescape($0).trimmingSpaces }
                    .filter { !$0.isEmpty }.joined(separator: " "))
        }
        address.familyName = parts[0]
        address.givenName = parts[1]
        address.middleName = parts[2]
        address.title = parts[3]
    }

    /// `ADR`: post office box;extended;street;locality;region;postal code;country. The street
    /// holds the street, extended address and post office box, one per line. Nil when all are empty.
    static func postalAddress(_ entry: Entry) -> PostalAddress? {
        let parts = entry.components(7).map { nonEmpty(ICalText.unescape($0).trimmingSpaces) }
        let street = [parts[2], parts[1], parts[0]].compactMap { $0 }.joined(separator: "\n")
        let postal = PostalAddress(
            street: nonEmpty(street), postalCode: parts[5], city: parts[3], state: parts[4], country: parts[6])
        return postal == PostalAddress() ? nil : postal
    }

    /// The phone kinds a `TEL` of these types may hold, the first free one taken. `label` is the
    /// Apple `X-ABLabel` of its group (`_$!<Mobile>!$_` or a custom text).
    static func phoneKinds(_ types: Set<String>, label: String?) -> [PhoneKind] {
        let label = (label ?? "").lowercased()
        if types.contains(PhoneMarker.assistant) || types.contains("x-evolution-assistant")
            || types.contains("assistant") || label.contains("assistant")
        {
            return [.assistant]
        }
        if types.contains("fax") || label.contains("fax") {
            return types.contains("home") || label.contains("home") ? [] : [.businessFax]
        }
        if !types.isDisjoint(with: ["cell", "mobile", "iphone"]) || label.contains("mobile") { return [.mobile] }
        if types.contains("pager") || label.contains("pager") { return [.pager] }
        if types.contains("car") || label == "car" { return [.car] }
        if types.contains(PhoneMarker.business2) { return [.business2, .business] }
        if types.contains(PhoneMarker.home2) { return [.home2, .home] }
        if types.contains("work") || label.contains("work") { return [.business, .business2] }
        if types.contains("home") || label.contains("home") { return [.home, .home2] }
        return [.other]
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String { trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }
}
