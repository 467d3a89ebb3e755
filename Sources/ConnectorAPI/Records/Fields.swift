import Foundation

/// A JSON value: the neutral form in which the engine compares, hashes and merges record fields.
public enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// True for values that mean "nothing there": null, "", [] and {}.
    /// Sides differ in how they store absence, so the engine treats these alike.
    public var isEmpty: Bool {
        switch self {
        case .null: true
        case .string(let value): value.isEmpty
        case .array(let value): value.isEmpty
        case .object(let value): value.values.allSatisfy(\.isEmpty)
        case .bool, .number: false
        }
    }
}

/// Field names of each kind and the conversion between records and field maps.
///
/// A field is a top-level property of a record (`givenName`, `phones`, `timing`, …). Field mappings
/// in `connectors.yaml`, capabilities of endpoints and partial updates all speak in these names.
public enum RecordFields {
    /// Every field name of a kind, in declaration order.
    public static func names(for kind: DataKind) -> [String] {
        switch kind {
        case .address:
            [
                "salutation", "title", "givenName", "middleName", "familyName", "company", "department",
                "jobTitle", "emails", "phones", "businessAddress", "homeAddress", "otherAddress", "birthday",
                "webPage", "notes", "categories",
            ]
        case .calendar:
            [
                "subject", "location", "body", "timing", "reminderMinutes", "busyStatus", "isPrivate",
                "categories", "organizer", "attendees", "recurrence",
            ]
        case .task:
            [
                "subject", "body", "startDate", "dueDate", "status", "percentComplete", "completedAt",
                "importance", "reminderAt", "categories", "recurrence",
            ]
        case .mail:
            [
                "messageID", "inReplyTo", "references", "from", "to", "cc", "bcc", "subject", "sentAt",
                "receivedAt", "textBody", "htmlBody", "attachments", "isRead", "folder", "deletedOnOtherSide",
            ]
        }
    }

    /// Fields a record of this kind cannot be created without.
    public static func required(for kind: DataKind) -> Set<String> {
        switch kind {
        case .address: []
        case .calendar: ["subject", "timing"]
        case .task: ["subject"]
        case .mail: ["subject"]
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    /// The record's fields as JSON values; absent optionals are missing from the map.
    public static func map(_ record: Record) -> [String: JSONValue] {
        let encoder = JSONValueEncoder()
        do {
            let value: JSONValue
            switch record {
            case .address(let record): value = try encoder.encode(record)
            case .calendar(let record): value = try encoder.encode(record)
            case .task(let record): value = try encoder.encode(record)
            case .mail(let record): value = try encoder.encode(record)
            }
            guard case .object(let fields) = value else { preconditionFailure("a record encodes as an object") }
            return fields
        } catch {
            preconditionFailure("record fields did not encode: \(error)")
        }
    }

    /// ``map(_:)`` the slow way, through JSON text; the reference the fast path is tested against.
    static func mapThroughJSON(_ record: Record) -> [String: JSONValue] {
        do {
            let data: Data
            switch record {
            case .address(let value): data = try encoder.encode(value)
            case .calendar(let value): data = try encoder.encode(value)
            case .task(let value): data = try encoder.encode(value)
            case .mail(let value): data = try encoder.encode(value)
            }
            return try decoder.decode([String: JSONValue].self, from: data)
        } catch {
            // Encoding our own value types to JSON cannot fail; a failure is a programming error.
            preconditionFailure("record fields did not encode: \(error)")
        }
    }

    /// Values a missing field takes: empty lists, `false`, the default enum case.
    static func defaults(for kind: DataKind) -> [String: JSONValue] {
        let epoch = Date(timeIntervalSince1970: 0)
        let blank: Record =
            switch kind {
            case .address: .address(Address())
            case .calendar:
                .calendar(CalendarEvent(subject: "", timing: .timed(start: epoch, end: epoch, timeZone: "UTC")))
            case .task: .task(TaskItem(subject: ""))
            case .mail: .mail(MailMessage(subject: ""))
            }
        return map(blank).filter { !required(for: kind).contains($0.key) }
    }

    /// Builds a record of `kind` from a field map; missing optional fields take their defaults.
    public static func record(kind: DataKind, fields: [String: JSONValue]) throws -> Record {
        var complete = defaults(for: kind)
        for (name, value) in fields where value != .null { complete[name] = value }
        let data = try encoder.encode(complete)
        switch kind {
        case .address: return .address(try decoder.decode(Address.self, from: data))
        case .calendar: return .calendar(try decoder.decode(CalendarEvent.self, from: data))
        case .task: return .task(try decoder.decode(TaskItem.self, from: data))
        case .mail: return .mail(try decoder.decode(MailMessage.self, from: data))
        }
    }

    /// `base` with the named fields taken from `other`; used for partial updates.
    public static func merge(_ base: Record, taking names: Set<String>, from other: Record) throws -> Record {
        var fields = map(base)
        let incoming = map(other)
        for name in names { fields[name] = incoming[name] ?? .null }
        return try record(kind: base.kind, fields: fields)
    }

    /// A canonical byte string of the named fields, with empty values left out, for hashing: the
    /// bytes `JSONEncoder` writes with sorted keys and unescaped slashes, written directly.
    public static func canonicalBytes(of record: Record, fields names: Set<String>) -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        CanonicalJSON.write(.object(hashed(record, names)), into: &bytes)
        return Data(bytes)
    }

    /// The fields that count for a hash: the named ones that are not empty.
    static func hashed(_ record: Record, _ names: Set<String>) -> [String: JSONValue] {
        map(record).filter { names.contains($0.key) && !$0.value.isEmpty }
    }

    /// ``canonicalBytes(of:fields:)`` through `JSONEncoder`; the reference the direct writer is tested against.
    static func canonicalBytesThroughEncoder(of record: Record, fields names: Set<String>) -> Data {
        (try? encoder.encode(hashed(record, names))) ?? Data()
    }
}

/// Writes JSON values the way `JSONEncoder` does with `.sortedKeys` and `.withoutEscapingSlashes`.
enum CanonicalJSON {
    static func write(_ value: JSONValue, into bytes: inout [UInt8]) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): bytes.append(contentsOf: format(number).utf8)
        case .string(let text): string(text, into: &bytes)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item, into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                write(members[key]!, into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 9_007_199_254_740_992 { return String(Int64(number)) }
        return "\(number)"
    }

    static func string(_ text: String, into bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0f)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
