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
    /// `2026-11-29T10:00:00Z`: every instant goes out in UTC (whole seconds).
    public static func format(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        let (y, m, d) = civil(fromDays: days)
        var text = ""
        text.reserveCapacity(20)
        pad(y, 4, &text)
        text.append("-")
        pad(m, 2, &text)
        text.append("-")
        pad(d, 2, &text)
        text.append("T")
        pad(time / 3600, 2, &text)
        text.append(":")
        pad(time / 60 % 60, 2, &text)
        text.append(":")
        pad(time % 60, 2, &text)
        text.append("Z")
        return text
    }

    /// Appends `value` with leading zeros to `width` digits.
    static func pad(_ value: Int, _ width: Int, _ text: inout String) {
        let digits = String(value)
        if digits.count < width { text.append(String(repeating: "0", count: width - digits.count)) }
        text.append(digits)
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of ``civil(fromDays:)``).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
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
        guard (1...12).contains(mo), (1...31).contains(d), (0...24).contains(h), (0...59).contains(mi),
            (0...60).contains(s)
        else { return nil }
        let seconds = days(year: y, month: mo, day: d) * 86_400 + h * 3600 + mi * 60 + s
        return Date(timeIntervalSince1970: Double(seconds) + fraction - Double(offset))
    }

    /// `xs:date` text of a calendar date.
    public static func format(_ date: LocalDateParts) -> String {
        var text = ""
        pad(date.year, 4, &text)
        text.append("-")
        pad(date.month, 2, &text)
        text.append("-")
        pad(date.day, 2, &text)
        return text
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
