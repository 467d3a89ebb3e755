import Foundation

/// A postal address as both FlowFact and Exchange hold it.
public struct PostalAddress: Codable, Sendable, Hashable {
    public var street: String?
    public var postalCode: String?
    public var city: String?
    public var state: String?
    public var country: String?

    public init(
        street: String? = nil, postalCode: String? = nil, city: String? = nil, state: String? = nil,
        country: String? = nil
    ) {
        self.street = street
        self.postalCode = postalCode
        self.city = city
        self.state = state
        self.country = country
    }
}

/// A calendar date without time or zone (birthdays, all-day events).
public struct LocalDate: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; returns nil for anything else or an impossible date.
    public init?(iso: String) {
        let parts = iso.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]),
            let d = Int(parts[2]), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        var components = DateComponents(year: y, month: m, day: d)
        components.calendar = Calendar(identifier: .gregorian)
        guard components.isValidDate else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = LocalDate(iso: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a date (YYYY-MM-DD): \(text)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Kinds of phone numbers both sides know.
public enum PhoneKind: String, Codable, CodingKeyRepresentable, Sendable, Hashable, CaseIterable {
    case business, business2, home, home2, mobile, businessFax, assistant, car, pager, other
}

/// A contact: a FlowFact address or an Exchange contact.
public struct Address: SyncRecord {
    public static let kind = DataKind.address

    /// Salutation such as "Herr" or "Frau" (FlowFact Anrede).
    public var salutation: String?
    /// Academic or honorary title such as "Dr." (FlowFact Titel).
    public var title: String?
    public var givenName: String?
    public var middleName: String?
    public var familyName: String?
    public var company: String?
    public var department: String?
    public var jobTitle: String?
    /// Up to three e-mail addresses, in order of preference.
    public var emails: [String]
    /// Phone numbers by kind.
    public var phones: [PhoneKind: String]
    public var businessAddress: PostalAddress?
    public var homeAddress: PostalAddress?
    public var otherAddress: PostalAddress?
    public var birthday: LocalDate?
    public var webPage: String?
    public var notes: String?
    public var categories: [String]

    public init(
        salutation: String? = nil, title: String? = nil, givenName: String? = nil,
        middleName: String? = nil, familyName: String? = nil, company: String? = nil,
        department: String? = nil, jobTitle: String? = nil, emails: [String] = [],
        phones: [PhoneKind: String] = [:], businessAddress: PostalAddress? = nil,
        homeAddress: PostalAddress? = nil, otherAddress: PostalAddress? = nil,
        birthday: LocalDate? = nil, webPage: String? = nil, notes: String? = nil,
        categories: [String] = []
    ) {
        self.salutation = salutation
        self.title = title
        self.givenName = givenName
        self.middleName = middleName
        self.familyName = familyName
        self.company = company
        self.department = department
        self.jobTitle = jobTitle
        self.emails = emails
        self.phones = phones
        self.businessAddress = businessAddress
        self.homeAddress = homeAddress
        self.otherAddress = otherAddress
        self.birthday = birthday
        self.webPage = webPage
        self.notes = notes
        self.categories = categories
    }

    /// "Given Family" or the company, for messages and logs.
    public var displayName: String {
        let person = [givenName, familyName].compactMap { $0 }.joined(separator: " ")
        return person.isEmpty ? (company ?? "(unnamed address)") : person
    }

    /// Errors a target would reject: Exchange holds at most three e-mail addresses.
    public func validate() -> [String] {
        var problems: [String] = []
        if emails.count > 3 { problems.append("more than 3 e-mail addresses (\(emails.count))") }
        if givenName == nil && familyName == nil && company == nil {
            problems.append("neither a name nor a company")
        }
        return problems
    }
}
