import Foundation

/// A date and time as a database stores it: no time zone. The adapter decides which zone it means.
public struct ODBCTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Fraction of the second in nanoseconds.
    public var nanosecond: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, nanosecond: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.nanosecond = nanosecond
    }

    /// The wall-clock time of `date` in `zone`, to millisecond precision.
    public init(_ date: Date, in zone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let millis = Int((date.timeIntervalSince1970 * 1000).rounded(.down)) % 1000
        self.init(
            year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!,
            second: parts.second!, nanosecond: (millis < 0 ? millis + 1000 : millis) * 1_000_000)
    }

    /// The instant this wall-clock time means in `zone`.
    public func date(in zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let base = calendar.date(
            from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
        return base?.addingTimeInterval(Double(nanosecond / 1_000_000) / 1000)
    }

    /// `YYYY-MM-DD HH:MM:SS.mmm`.
    public var description: String {
        var text = ""
        text.reserveCapacity(23)
        for (value, width, separator) in [
            (year, 4, "-"), (month, 2, "-"), (day, 2, " "), (hour, 2, ":"), (minute, 2, ":"), (second, 2, "."),
            (nanosecond / 1_000_000, 3, ""),
        ] {
            let digits = String(value)
            if digits.count < width { text.append(String(repeating: "0", count: width - digits.count)) }
            text.append(digits)
            text.append(separator)
        }
        return text
    }

    public static func < (a: ODBCTimestamp, b: ODBCTimestamp) -> Bool {
        (a.year, a.month, a.day, a.hour, a.minute, a.second) < (b.year, b.month, b.day, b.hour, b.minute, b.second)
            || ((a.year, a.month, a.day, a.hour, a.minute, a.second) == (
                b.year, b.month, b.day, b.hour, b.minute, b.second
            )
                && a.nanosecond < b.nanosecond)
    }

    /// Parses `YYYY-MM-DD[ HH:MM[:SS[.fff]]]` (also with `T`).
    public init?(text: String) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard let datePart = parts.first else { return nil }
        // Exactly year-month-day: a text such as a GUID (`81944325-A1B2-8573-4017-…`) is no date.
        let pieces = datePart.split(separator: "-", omittingEmptySubsequences: false)
        let ymd = pieces.compactMap { Int($0) }
        guard pieces.count == 3, ymd.count == 3, (1...12).contains(ymd[1]), (1...31).contains(ymd[2]) else {
            return nil
        }
        var hms = [0, 0, 0]
        var nanos = 0
        if parts.count > 1 {
            let timeParts = parts[1].split(separator: ":")
            for (index, piece) in timeParts.prefix(3).enumerated() {
                if index == 2, let dot = piece.firstIndex(of: ".") {
                    hms[2] = Int(piece[..<dot]) ?? 0
                    let fraction = String(piece[piece.index(after: dot)...].prefix(9))
                    nanos = (Int(fraction) ?? 0) * Int(pow(10, Double(9 - fraction.count)))
                } else {
                    hms[index] = Int(piece) ?? 0
                }
            }
        }
        self.init(
            year: ymd[0], month: ymd[1], day: ymd[2], hour: hms[0], minute: hms[1], second: hms[2], nanosecond: nanos)
    }
}

/// A value passed to or read from a statement.
public enum ODBCValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case double(Double)
    /// An exact numeric (DECIMAL/NUMERIC) as text, so no precision is lost.
    case decimal(String)
    case text(String)
    case binary(Data)
    /// A date without time.
    case date(year: Int, month: Int, day: Int)
    case timestamp(ODBCTimestamp)
    /// A binary parameter whose bytes are read from `source` in chunks while the statement executes
    /// (ODBC data-at-execution: `SQLParamData` / `SQLPutData`), so this layer never holds the whole
    /// value. Whether the driver does is the driver's business (see `ODBCBinarySource`). Only
    /// meaningful as a parameter; never read from a result.
    case binaryStream(ODBCBinarySource)

    public var isNull: Bool { self == .null }

    /// The value as text: text as is, numbers and dates formatted.
    public var string: String? {
        switch self {
        case .null: nil
        case .text(let value), .decimal(let value): value
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .binary(let value): String(data: value, encoding: .utf8)
        case .date(let y, let m, let d): String(format: "%04d-%02d-%02d", y, m, d)
        case .timestamp(let value): value.description
        case .binaryStream: nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .double(let value): Int64(exactly: value.rounded())
        case .text(let value), .decimal(let value):
            Int64(value.trimmingCharacters(in: .whitespaces)) ?? Double(value).flatMap { Int64(exactly: $0.rounded()) }
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .double(let value): value
        case .integer(let value): Double(value)
        case .text(let value), .decimal(let value): Double(value)
        default: nil
        }
    }

    public var data: Data? {
        switch self {
        case .binary(let value): value
        case .text(let value): Data(value.utf8)
        default: nil
        }
    }

    public var timestamp: ODBCTimestamp? {
        switch self {
        case .timestamp(let value): value
        case .date(let y, let m, let d): ODBCTimestamp(year: y, month: m, day: d)
        case .text(let value): ODBCTimestamp(text: value)
        default: nil
        }
    }
}

/// One fetched row, by column position and by (case-insensitive) name.
public struct ODBCRow: Sendable {
    public let columns: [String]
    public let values: [ODBCValue]

    public subscript(index: Int) -> ODBCValue { values[index] }

    public subscript(name: String) -> ODBCValue {
        guard let index = columns.firstIndex(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) else {
            return .null
        }
        return values[index]
    }
}
