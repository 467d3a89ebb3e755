import ConnectorAPI
import FlowFactConnector
import Foundation
import ODBC

/// Creates and fills a FlowFact-like database for demos, tests and benchmarks: realistic German
/// data with umlauts and ß, long notes, companies with several contacts, recurring and all-day
/// appointments, tasks with and without due dates, mails with attachments, and records with and
/// without the sync Merkmal. The same seed gives the same data.
public struct FlowFactSeeder {
    /// How much to create, per user.
    public struct Counts: Sendable {
        public var users = 2
        public var addresses = 20
        public var appointments = 10
        public var tasks = 5
        public var mails = 5
        public var seed: UInt64 = 1
        /// Share of addresses carrying the sync Merkmal.
        public var syncShare = 0.7

        /// Counts per user; what is not given keeps its default.
        public init(
            users: Int = 2, addresses: Int = 20, appointments: Int = 10, tasks: Int = 5, mails: Int = 5,
            seed: UInt64 = 1, syncShare: Double = 0.7
        ) {
            self.users = users
            self.addresses = addresses
            self.appointments = appointments
            self.tasks = tasks
            self.mails = mails
            self.seed = seed
            self.syncShare = syncShare
        }
    }

    /// The Merkmal the demo connectors filter on.
    public static let syncMerkmal = "Outlook-Sync"
    static let merkmale = [syncMerkmal, "Kunde", "Interessent", "Eigentümer", "Presse", "Gelöscht in Exchange"]
    static let activityTypes = ["Termin", "Aufgabe", "E E-Mail", "A E-Mail", "Telefonat", "Aktennotiz"]
    /// The first users; more get generated short names.
    public static let knownUsers: [(short: String, name: String)] = [
        ("MM", "Max Müller"), ("JS", "Julia Schäfer"), ("AZ", "Anna Zöllner"), ("KB", "Klaus Bäcker"),
        ("SW", "Sören Weiß"),
        ("GO", "Gül Öztürk"), ("FG", "Frank Groß"), ("LK", "Lena Köhler"),
    ]

    public let connection: ODBCConnection
    public let schema: FlowFactSchema
    public let zone: TimeZone
    let names: SQLNames

    public init(
        connection: ODBCConnection, schema: FlowFactSchema = FlowFactSchema(),
        zone: TimeZone = TimeZone(identifier: "Europe/Berlin")!
    ) {
        self.connection = connection
        self.schema = schema
        self.zone = zone
        names = SQLNames(schema: schema, quote: connection.quote)
    }

    /// The short name of user number `index` (0-based).
    public static func shortName(_ index: Int) -> String {
        index < knownUsers.count ? knownUsers[index].short : "U\(index + 1)"
    }

    /// Creates the tables and the fixed rows (activity types, Merkmale).
    public func initialize() throws {
        for statement in try FlowFactTables.statements(
            for: SQLDialect.of(connection), schema: schema, quote: connection.quote)
        {
            try connection.execute(statement)
        }
        try connection.transaction {
            for (index, name) in Self.activityTypes.enumerated() {
                try names.insert(
                    "activity_types", ["id": .text(Self.fixedID("type", index)), "name": .text(name)], into: connection)
            }
            for (index, name) in Self.merkmale.enumerated() {
                try names.insert(
                    "merkmale", ["id": .text(Self.fixedID("mkm", index)), "name": .text(name), "active": .integer(1)],
                    into: connection)
            }
        }
    }

    /// The fixed id of a seeded row: activity type (`type`), Merkmal (`mkm`) or user (`user`) number `index`.
    public static func fixedID(_ kind: String, _ index: Int) -> String {
        let prefix: String =
            switch kind {
            case "type": "7A000000"
            case "mkm": "3B000000"
            case "user": "BE000000"
            default: "00000000"
            }
        return String(format: "%@-0000-4000-8000-%012d", prefix, index)
    }

    /// What was created.
    public struct Summary: Sendable, CustomStringConvertible {
        public var users = 0
        public var addresses = 0
        public var appointments = 0
        public var tasks = 0
        public var mails = 0
        public var attachments = 0
        public var description: String {
            "\(users) users, \(addresses) addresses, \(appointments) appointments, \(tasks) tasks, \(mails) mails with \(attachments) attachments"
        }
    }

    /// Adds users and their records. Users that exist already (by short name) are skipped.
    @discardableResult
    public func seed(_ counts: Counts, now: Date = Date()) throws -> Summary {
        var random = SeededRandom(seed: counts.seed)
        var summary = Summary()
        let existing = Set(
            try connection.rows("SELECT \(try names.required("users.short_name")) FROM \(try names.table("users"))")
                .compactMap { $0[0].string })
        for index in 0..<counts.users {
            let short = Self.shortName(index)
            guard !existing.contains(short) else { continue }
            try connection.transaction {
                try seedUser(index, short: short, counts, now: now, &random, &summary)
            }
        }
        return summary
    }

    func seedUser(
        _ index: Int, short: String, _ counts: Counts, now: Date, _ random: inout SeededRandom, _ summary: inout Summary
    ) throws {
        let userID = Self.fixedID("user", index)
        let userMerkmal = Self.fixedID("mkm", 1000 + index)
        let name = index < Self.knownUsers.count ? Self.knownUsers[index].name : "Benutzer \(index + 1)"
        try names.insert(
            "merkmale", ["id": .text(userMerkmal), "name": .text("Benutzer \(short)"), "active": .integer(1)],
            into: connection)
        try names.insert(
            "users",
            [
                "id": .text(userID), "short_name": .text(short), "name": .text(name),
                "email": .text("\(short.lowercased())@example.test"),
                "merkmal": .text(userMerkmal), "active": .integer(1),
            ],
            into: connection)
        summary.users += 1
        let syncMerkmal = Self.fixedID("mkm", 0)
        func stamp(_ date: Date) -> ODBCValue { .timestamp(ODBCTimestamp(date, in: zone)) }
        func bookkeeping(_ date: Date) -> [String: ODBCValue] {
            [
                "created": stamp(date), "created_by": .text(short), "changed": stamp(date), "changed_by": .text(short),
                "owner": .text(userID),
            ]
        }
        func link(_ table: String, _ record: String, _ merkmal: String, active: Int64 = 1, at date: Date) throws {
            try names.insert(
                table,
                [
                    "record": .text(record), "merkmal": .text(merkmal), "active": .integer(active),
                    "created": stamp(date), "created_by": .text(short),
                ],
                into: connection)
        }

        // Addresses: every fifth is a company followed by contact persons of that company.
        var company: String?
        for i in 0..<counts.addresses {
            let id = random.uuid()
            let created = now.addingTimeInterval(-Double(random.next(below: 400 * 86400)) - 3600)
            var values = bookkeeping(created)
            let given = random.pick(Self.givenNames)
            let family = random.pick(Self.familyNames)
            if i % 5 == 0 { company = "\(random.pick(Self.familyNames)) \(random.pick(Self.companyForms))" }
            values["id"] = .text(id)
            values["salutation"] = .text(random.next(below: 2) == 0 ? "Herr" : "Frau")
            if random.next(below: 8) == 0 { values["title"] = .text("Dr.") }
            values["given_name"] = .text(given)
            values["family_name"] = .text(family)
            if let company, i % 5 != 4 {
                values["company"] = .text(company)
                values["job_title"] = .text(random.pick(Self.jobTitles))
            }
            values["street"] = .text("\(random.pick(Self.streets)) \(1 + random.next(below: 120))")
            let (plz, city) = random.pick(Self.cities)
            values["postal_code"] = .text(plz)
            values["city"] = .text(city)
            values["country"] = .text("Deutschland")
            values["phone_business"] = .text(
                "+49 \(30 + random.next(below: 60)) \(100000 + random.next(below: 899999))")
            if random.next(below: 2) == 0 {
                values["phone_mobile"] = .text(
                    "+49 17\(random.next(below: 10)) \(1_000_000 + random.next(below: 8_999_999))")
            }
            values["email"] = .text("\(Self.ascii(given)).\(Self.ascii(family))\(i)@example.test".lowercased())
            if random.next(below: 4) == 0 {
                values["email2"] = .text("\(Self.ascii(family))\(i)@privat.example.test".lowercased())
            }
            if random.next(below: 5) == 0 {
                values["birthday"] = .date(
                    year: 1950 + random.next(below: 50), month: 1 + random.next(below: 12),
                    day: 1 + random.next(below: 28))
            }
            values["notes"] = .text(random.next(below: 10) == 0 ? Self.longNote(&random) : random.pick(Self.notes))
            values["archived"] = .integer(0)
            try names.insert("addresses", values, into: connection)
            if random.unit() < counts.syncShare { try link("address_merkmale", id, syncMerkmal, at: created) }
            // The owner's user Merkmal marks whose address it is.
            try link("address_merkmale", id, userMerkmal, at: created)
            if random.next(below: 3) == 0 {
                try link("address_merkmale", id, Self.fixedID("mkm", 1 + random.next(below: 4)), at: created)
            }
            summary.addresses += 1
        }

        // Appointments: some all-day, some weekly series.
        for i in 0..<counts.appointments {
            let id = random.uuid()
            let startDay = now.addingTimeInterval(Double(random.next(below: 90) - 30) * 86400)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let start = calendar.date(
                bySettingHour: 8 + random.next(below: 10), minute: [0, 15, 30, 45][random.next(below: 4)], second: 0,
                of: startDay)!
            let created = now.addingTimeInterval(-Double(random.next(below: 30 * 86400)) - 3600)
            var values = bookkeeping(created)
            values["id"] = .text(id)
            values["type"] = .text(Self.fixedID("type", 0))
            values["subject"] = .text("\(random.pick(Self.appointmentSubjects)) \(random.pick(Self.familyNames))")
            values["location"] = .text(
                "\(random.pick(Self.streets)) \(1 + random.next(below: 80)), \(random.pick(Self.cities).1)")
            values["text"] = .text(random.pick(Self.notes))
            if i % 10 == 3 {
                let first = calendar.startOfDay(for: start)
                values["date"] = stamp(first)
                values["end"] = stamp(first.addingTimeInterval(Double(random.next(below: 3)) * 86400))
                values["all_day"] = .integer(1)
            } else {
                values["date"] = stamp(start)
                values["end"] = stamp(start.addingTimeInterval(Double(30 + 30 * random.next(below: 4)) * 60))
                values["all_day"] = .integer(0)
                if random.next(below: 2) == 0 { values["follow_up"] = stamp(start.addingTimeInterval(-15 * 60)) }
            }
            if i % 10 == 7 {
                let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: start)
                let recurrence = Recurrence(
                    pattern: .weekly(
                        interval: 1, days: [Weekday.allCases[parts.weekday! - 1]], firstDayOfWeek: .monday),
                    range: .numbered(
                        start: LocalDate(year: parts.year!, month: parts.month!, day: parts.day!), count: 10))
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                values["recurrence"] = .text(String(decoding: try encoder.encode(recurrence), as: UTF8.self))
            }
            try names.insert("activities", values, into: connection)
            // Linked when entered, as in a database that has been in use for a while.
            try link("activity_merkmale", id, userMerkmal, at: created)
            summary.appointments += 1
        }

        // Tasks: with and without due dates, some done.
        for i in 0..<counts.tasks {
            let id = random.uuid()
            let created = now.addingTimeInterval(-Double(random.next(below: 30 * 86400)) - 3600)
            var values = bookkeeping(created)
            values["id"] = .text(id)
            values["type"] = .text(Self.fixedID("type", 1))
            values["subject"] = .text("\(random.pick(Self.taskSubjects)) \(random.pick(Self.familyNames))")
            values["text"] = .text(random.pick(Self.notes))
            values["date"] = stamp(now.addingTimeInterval(-Double(random.next(below: 10)) * 86400))
            if i % 3 != 0 {
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                let due = calendar.startOfDay(for: now.addingTimeInterval(Double(random.next(below: 30)) * 86400))
                values["follow_up"] = stamp(i % 2 == 0 ? due.addingTimeInterval(9 * 3600) : due)
            }
            values["done"] = .integer(i % 7 == 6 ? 1 : 0)
            if i % 7 == 6 { values["done_at"] = stamp(now.addingTimeInterval(-86400)) }
            values["priority"] = .integer(Int64(1 + random.next(below: 3)))
            try names.insert("activities", values, into: connection)
            try link("activity_merkmale", id, userMerkmal, at: created)
            summary.tasks += 1
        }

        // Mails: received and sent, some with attachments.
        for i in 0..<counts.mails {
            let id = random.uuid()
            let incoming = i % 2 == 0
            let date = now.addingTimeInterval(-Double(random.next(below: 20 * 86400)) - 60)
            var values = bookkeeping(date)
            let partner = "\(random.pick(Self.givenNames)) \(random.pick(Self.familyNames))"
            let partnerMail =
                "\(Self.ascii(partner).replacingOccurrences(of: " ", with: ".").lowercased())@kunde.example.test"
            let me = "\(name) <\(short.lowercased())@example.test>"
            values["id"] = .text(id)
            values["type"] = .text(Self.fixedID("type", incoming ? 2 : 3))
            values["subject"] = .text(
                "\(incoming ? "Anfrage" : "Re: Anfrage"): \(random.pick(Self.appointmentSubjects))")
            values["text"] = .text(
                "Sehr geehrte Damen und Herren,\n\n\(random.pick(Self.notes))\n\nMit freundlichen Grüßen\n\(incoming ? partner : name)"
            )
            values["html"] = .text(
                "<p>Sehr geehrte Damen und Herren,</p><p>\(random.pick(Self.notes))</p><p>Mit freundlichen Grüßen<br>\(incoming ? partner : name)</p>"
            )
            values["date"] = stamp(date)
            values["mail_date"] = stamp(date)
            values["mail_from"] = .text(incoming ? "\(partner) <\(partnerMail)>" : me)
            values["mail_to"] = .text(incoming ? me : "\(partner) <\(partnerMail)>")
            values["message_id"] = .text("<\(id.lowercased())@seed.example.test>")
            try names.insert("activities", values, into: connection)
            try link("activity_merkmale", id, userMerkmal, active: incoming && i % 4 == 0 ? 1 : 0, at: date)
            if i % 3 == 0 {
                let size = 1024 + random.next(below: 20 * 1024)
                var bytes = [UInt8](repeating: 0, count: size)
                for j in 0..<size { bytes[j] = UInt8(truncatingIfNeeded: random.next(below: 256)) }
                try names.insert(
                    "attachments",
                    [
                        "id": .text(random.uuid()), "table": .text(schema.table("activities")), "record": .text(id),
                        "file_name": .text(
                            random.next(below: 2) == 0 ? "Exposé Wohnung Köln.pdf" : "Grundriss_Straße.png"),
                        "media_type": .text(random.next(below: 2) == 0 ? "application/pdf" : "image/png"),
                        "size": .integer(Int64(size)),
                        "content": .binary(Data(bytes)), "created": stamp(date), "created_by": .text(short),
                        "changed": stamp(date),
                    ],
                    into: connection)
                summary.attachments += 1
            }
            summary.mails += 1
        }
    }

    static func ascii(_ text: String) -> String {
        text.replacingOccurrences(of: "ä", with: "ae").replacingOccurrences(of: "ö", with: "oe").replacingOccurrences(
            of: "ü", with: "ue"
        )
        .replacingOccurrences(of: "Ä", with: "Ae").replacingOccurrences(of: "Ö", with: "Oe").replacingOccurrences(
            of: "Ü", with: "Ue"
        )
        .replacingOccurrences(of: "ß", with: "ss").replacingOccurrences(of: "ğ", with: "g").replacingOccurrences(
            of: "ç", with: "c")
    }

    static func longNote(_ random: inout SeededRandom) -> String {
        (0..<(20 + random.next(below: 40))).map { _ in random.pick(notes) }.joined(separator: "\n")
    }

    static let givenNames = [
        "Jürgen", "Björn", "Käthe", "Gül", "Sören", "Hans-Peter", "Grete", "Özlem", "Jörg", "Anna", "Lukas", "Zoë",
        "Matthias", "Hélène", "Ingrid", "Uwe",
    ]
    static let familyNames = [
        "Müller", "Schäfer", "Groß", "Weiß", "Bäcker", "Öztürk", "Köhler", "Schröder", "Krüger", "Hoffmann",
        "Straßburger", "Ußner", "Zöllner", "Fuchs", "Jäger", "Löwe",
    ]
    static let companyForms = [
        "Immobilien GmbH", "& Söhne KG", "Hausverwaltung e.K.", "Bauträger AG", "Grundbesitz GbR",
    ]
    static let jobTitles = [
        "Geschäftsführer", "Prokuristin", "Sachbearbeiter", "Hausmeister", "Maklerin", "Assistenz der Geschäftsführung",
    ]
    static let streets = [
        "Hauptstraße", "Königsallee", "Schloßstraße", "Mühlenweg", "Am Großen Garten", "Bürgerstraße", "Gärtnerplatz",
    ]
    static let cities = [
        ("10115", "Berlin"), ("50667", "Köln"), ("80331", "München"), ("20095", "Hamburg"), ("01067", "Dresden"),
        ("40213", "Düsseldorf"), ("97070", "Würzburg"),
    ]
    static let notes = [
        "Interessiert an einer 3-Zimmer-Wohnung mit Balkon, Budget ca. 450.000 €.",
        "Rückruf erbeten – bitte nicht vor 10 Uhr anrufen.",
        "Eigentümerin möchte das Objekt im Frühjahr verkaufen; Gutachten liegt vor.",
        "Besichtigung verlief gut, Finanzierungsbestätigung folgt.",
        "Hat Grundriss und Energieausweis per Post erhalten.",
        "Sucht Gewerbefläche ≥ 120 m² in zentraler Lage; Größe ist wichtiger als Preis.",
        "Schlüsselübergabe mit Hausmeister abgestimmt.",
    ]
    static let appointmentSubjects = [
        "Besichtigung", "Notartermin", "Beratungsgespräch", "Übergabe", "Eigentümerversammlung", "Bewertung vor Ort",
    ]
    static let taskSubjects = [
        "Exposé erstellen für", "Rückruf", "Unterlagen anfordern von", "Energieausweis prüfen für",
        "Mietvertrag vorbereiten für",
    ]
}

/// A small deterministic random generator (SplitMix64), so a seed always gives the same data.
public struct SeededRandom: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number from 0 to `bound` − 1.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func pick<T>(_ items: [T]) -> T { items[next(below: items.count)] }

    /// A random (version 4 layout) UUID, upper case as FlowFact writes them.
    mutating func uuid() -> String {
        let a = next()
        let b = next()
        return String(
            format: "%08X-%04X-4%03X-%04X-%012llX", UInt32(truncatingIfNeeded: a >> 32),
            UInt16(truncatingIfNeeded: a >> 16),
            UInt16(truncatingIfNeeded: a) & 0xFFF, (UInt16(truncatingIfNeeded: b >> 48) & 0x3FFF) | 0x8000,
            b & 0xFFFF_FFFF_FFFF)
    }
}
