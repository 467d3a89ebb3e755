import Foundation

/// EWS XML namespaces.
public enum EWSNamespace {
    public static let soap = "http://schemas.xmlsoap.org/soap/envelope/"
    public static let messages = "http://schemas.microsoft.com/exchange/services/2006/messages"
    public static let types = "http://schemas.microsoft.com/exchange/services/2006/types"
    public static let errors = "http://schemas.microsoft.com/exchange/services/2006/errors"
}

/// The property set of the service's own extended properties (the sync key, values Exchange has no field for).
public enum EWSPropertySet {
    public static let id = "5c9e7d2a-3f61-4b8e-9d1f-0a7b2c4e6f81"
    /// The stamped sync key.
    public static let syncKey = "ConnectorSyncKey"
    /// Salutation (Herr/Frau), which Exchange contacts have no field for.
    public static let salutation = "ConnectorSalutation"
}

/// Date and time values in EWS form.
public enum EWSDate {
    /// `2026-11-29T10:00:00Z`: every instant goes out in UTC.
    public static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// Parses `xs:dateTime` with `Z`, an offset, or none (then UTC), with optional fractions.
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 19 else { return nil }
        let chars = Array(trimmed)
        func number(_ from: Int, _ length: Int) -> Int? { Int(String(chars[from..<(from + length)])) }
        guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2), let h = number(11, 2),
            let mi = number(14, 2),
            let s = number(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < chars.count, chars[index] == "." {
            var digits = ""
            index += 1
            while index < chars.count, chars[index].isNumber {
                digits.append(chars[index])
                index += 1
            }
            fraction = Double("0." + digits) ?? 0
        }
        var offset = 0
        if index < chars.count {
            let zone = String(chars[index...])
            if zone != "Z" {
                guard zone.count == 6, let zh = Int(zone.dropFirst().prefix(2)), let zm = Int(zone.suffix(2)) else {
                    return nil
                }
                offset = (zh * 3600 + zm * 60) * (zone.first == "-" ? -1 : 1)
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let base = calendar.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s))
        else { return nil }
        return base.addingTimeInterval(fraction - Double(offset))
    }

    /// `xs:date` text of a calendar date.
    public static func format(_ date: LocalDateParts) -> String {
        String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
    }

    /// Parses `xs:date`, accepting a zone suffix (`2025-03-03Z`, `2025-03-03+01:00`) as Exchange sends it.
    public static func parseDate(_ text: String) -> LocalDateParts? {
        let parts = text.prefix(10).split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        return LocalDateParts(year: y, month: m, day: d)
    }
}

/// A calendar date without zone, independent of ConnectorAPI so the simulator can use it too.
public struct LocalDateParts: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
    public static func < (a: LocalDateParts, b: LocalDateParts) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// Midnight of this date in `zone`.
    public func start(in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: year, month: month, day: day))!
    }

    /// The date of an instant in `zone`.
    public init(_ date: Date, in zone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        self.init(year: c.year!, month: c.month!, day: c.day!)
    }

    public func adding(days: Int) -> LocalDateParts {
        let utc = TimeZone(identifier: "UTC")!
        return LocalDateParts(start(in: utc).addingTimeInterval(Double(days) * 86400), in: utc)
    }
}
