import Foundation
import XML

/// A property value as Exchange types it with the `dt` attribute: a string when untyped, `int`,
/// `boolean` (`1`/`0`), `float`, `dateTime.tz`, `bin.base64`, or a multi-valued `mv.*` with one
/// `<v>` element per value.
public enum DAVValue: Sendable, Hashable, Codable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case float(Double)
    case date(Date)
    case binary(Data)
    case strings([String])

    /// The `dt` type name, nil for a plain string.
    public var dataType: String? {
        switch self {
        case .string: nil
        case .int: "int"
        case .bool: "boolean"
        case .float: "float"
        case .date: "dateTime.tz"
        case .binary: "bin.base64"
        case .strings: "mv.string"
        }
    }

    /// The value as text (a multi-valued one joined with commas).
    public var text: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .bool(let value): value ? "1" : "0"
        case .float(let value): String(value)
        case .date(let value): DAVDate.format(value)
        case .binary(let value): value.base64EncodedString()
        case .strings(let values): values.joined(separator: ",")
        }
    }

    /// The value of a parsed property element, by its `dt` attribute. A value that does not read
    /// as its type is kept as a string.
    public static func parse(_ element: XMLElement) -> DAVValue {
        let text = element.text
        switch element.attributes["dt"]?.lowercased() {
        case "int", "i2", "i4", "i8", "ui1", "ui2", "ui4":
            return Int(text.trimmingCharacters(in: .whitespaces)).map(DAVValue.int) ?? .string(text)
        case "boolean":
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            return .bool(trimmed == "1" || trimmed == "true")
        case "float", "r4", "r8", "number":
            return Double(text.trimmingCharacters(in: .whitespaces)).map(DAVValue.float) ?? .string(text)
        case "datetime.tz", "datetime", "date":
            return DAVDate.parse(text).map(DAVValue.date) ?? .string(text)
        case "bin.base64":
            return Data(base64Encoded: text.filter { !$0.isWhitespace }).map(DAVValue.binary) ?? .string(text)
        case let type? where type.hasPrefix("mv."):
            return .strings(element.children.filter { $0.name == "v" }.map(\.text))
        default:
            return .string(text)
        }
    }

    /// The value as text, for a string property.
    public var string: String? {
        switch self {
        case .string(let value): value
        case .strings(let values): values.first
        default: text
        }
    }

    public var int: Int? {
        switch self {
        case .int(let value): value
        case .bool(let value): value ? 1 : 0
        case .float(let value): Int(value)
        case .string(let value): Int(value.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    public var bool: Bool? {
        switch self {
        case .bool(let value): value
        case .int(let value): value != 0
        case .string(let value):
            switch value.trimmingCharacters(in: .whitespaces).lowercased() {
            case "1", "true": true
            case "0", "false": false
            default: nil
            }
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .float(let value): value
        case .int(let value): Double(value)
        case .string(let value): Double(value.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    public var date: Date? {
        switch self {
        case .date(let value): value
        case .string(let value): DAVDate.parse(value)
        default: nil
        }
    }

    public var strings: [String] {
        switch self {
        case .strings(let values): values
        case .string(let value): value.isEmpty ? [] : [value]
        default: [text]
        }
    }
}

/// Exchange's `dateTime.tz` text (`2009-08-24T15:00:00.000Z`) and the date forms its SQL takes.
public enum DAVDate {
    /// `yyyy-MM-ddTHH:mm:ss.SSSZ`, in UTC.
    public static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let fraction = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), fraction)
    }

    /// A date in any of the forms Exchange and its clients write: ISO 8601 with or without
    /// fractions and zone (`Z` or `+01:00`; none means UTC), or SQL's `2009/08/24 15:00:00`.
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let scalars = Array(trimmed.utf8)
        guard scalars.count >= 10 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var fraction = 0.0
        var offset = 0
        var index = 10
        if scalars.count > 10, scalars[10] == UInt8(ascii: "T") || scalars[10] == UInt8(ascii: " ") {
            guard let h = number(11..<13), let m = number(14..<16) else { return nil }
            hour = h
            minute = m
            index = 16
            if scalars.count >= 19, scalars[16] == UInt8(ascii: ":"), let s = number(17..<19) {
                second = s
                index = 19
            }
            if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
                var end = index + 1
                while end < scalars.count, (48...57).contains(scalars[end]) { end += 1 }
                fraction = Double("0" + String(decoding: scalars[index..<end], as: UTF8.self)) ?? 0
                index = end
            }
            if index < scalars.count {
                let sign = scalars[index]
                if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                    guard let oh = number(index + 1..<index + 3) else { return nil }
                    let colon = index + 3 < scalars.count && scalars[index + 3] == UInt8(ascii: ":")
                    let om = number((index + (colon ? 4 : 3))..<(index + (colon ? 6 : 5))) ?? 0
                    offset = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
                } else if sign != UInt8(ascii: "Z") {
                    return nil
                }
            }
        }
        var components = DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        components.timeZone = TimeZone(identifier: "UTC")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61,
            let date = calendar.date(from: components)
        else { return nil }
        return date.addingTimeInterval(fraction - Double(offset))
    }

    /// `CAST("2009-08-24T15:00:00Z" as 'dateTime.tz')`, a date literal of Exchange SQL.
    public static func sqlLiteral(_ date: Date) -> String {
        "CAST(\"\(format(date))\" as 'dateTime.tz')"
    }
}
