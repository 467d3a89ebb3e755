import ConnectorAPI
import Foundation

/// Days since 1970-01-01 in the proleptic Gregorian calendar, and back.
enum CivilDays {
    /// The day number of a date (may be negative).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number.
    static func date(days: Int) -> LocalDate {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return LocalDate(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// 0 = Sunday … 6 = Saturday.
    static func weekday(days: Int) -> Int {
        ((days % 7) + 7 + 4) % 7
    }

    /// The number of days of a month.
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Whether the fields name a real date.
    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        (1...12).contains(month) && day >= 1 && day <= daysInMonth(year: year, month: month)
    }
}

extension LocalDate {
    /// Days since 1970-01-01.
    var dayNumber: Int { CivilDays.days(year: year, month: month, day: day) }

    /// The date `count` days later (earlier when negative).
    func adding(days count: Int) -> LocalDate { CivilDays.date(days: dayNumber + count) }

    /// The weekday of the date.
    var weekday: Weekday { Weekday.allCases[CivilDays.weekday(days: dayNumber)] }
}

extension Weekday {
    /// The two-letter iCalendar code, e.g. `MO`.
    var code: String {
        switch self {
        case .sunday: "SU"
        case .monday: "MO"
        case .tuesday: "TU"
        case .wednesday: "WE"
        case .thursday: "TH"
        case .friday: "FR"
        case .saturday: "SA"
        }
    }

    /// The weekday of a two-letter iCalendar code (any case).
    init?(code: String) {
        guard let day = Weekday.allCases.first(where: { $0.code == code.uppercased() }) else { return nil }
        self = day
    }

    /// 0 = Sunday … 6 = Saturday.
    var number: Int { Weekday.allCases.firstIndex(of: self)! }
}

/// A wall-clock date and time without zone.
struct LocalDateTime: Hashable, Comparable, Sendable {
    var date: LocalDate
    /// Seconds since midnight, 0..<86400 (a leap second 60 is folded into the next minute).
    var secondOfDay: Int

    init(date: LocalDate, secondOfDay: Int = 0) {
        self.date = date
        self.secondOfDay = secondOfDay
    }

    /// The wall-clock time `seconds` after 1970-01-01T00:00:00.
    init(epochSeconds seconds: Int) {
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        date = CivilDays.date(days: days)
        secondOfDay = seconds - days * 86_400
    }

    /// Seconds since 1970-01-01T00:00:00, reading the fields as if they were UTC.
    var epochSeconds: Int { date.dayNumber * 86_400 + secondOfDay }

    var hour: Int { secondOfDay / 3600 }
    var minute: Int { secondOfDay / 60 % 60 }
    var second: Int { secondOfDay % 60 }

    static func < (lhs: LocalDateTime, rhs: LocalDateTime) -> Bool { lhs.epochSeconds < rhs.epochSeconds }

    /// The same wall clock read in UTC.
    var utcInstant: Date { Date(timeIntervalSince1970: TimeInterval(epochSeconds)) }

    /// The UTC wall clock of an instant (fractions of a second dropped).
    init(utc instant: Date) {
        self.init(epochSeconds: Int(instant.timeIntervalSince1970.rounded(.down)))
    }
}

/// Parsing and formatting of DATE, DATE-TIME, DURATION and UTC-OFFSET values.
enum ValueFormat {
    /// `YYYYMMDD`.
    static func date(_ text: String) -> LocalDate? {
        let digits = Array(text.utf8)
        guard digits.count == 8, let year = number(digits[0..<4]), let month = number(digits[4..<6]),
            let day = number(digits[6..<8]), CivilDays.isValid(year: year, month: month, day: day)
        else { return nil }
        return LocalDate(year: year, month: month, day: day)
    }

    /// `YYYYMMDDTHHMMSS` with an optional `Z`; also tolerates a missing seconds field.
    static func dateTime(_ text: String) -> (value: LocalDateTime, isUTC: Bool)? {
        var bytes = Array(text.utf8)
        var isUTC = false
        if let last = bytes.last, last == UInt8(ascii: "Z") || last == UInt8(ascii: "z") {
            isUTC = true
            bytes.removeLast()
        }
        guard bytes.count == 15 || bytes.count == 13, bytes[8] == UInt8(ascii: "T") || bytes[8] == UInt8(ascii: "t"),
            let date = date(String(decoding: bytes[0..<8], as: UTF8.self)),
            let hour = number(bytes[9..<11]), let minute = number(bytes[11..<13])
        else { return nil }
        let second = bytes.count == 15 ? number(bytes[13..<15]) : 0
        guard let second, hour <= 23, minute <= 59, second <= 60 else { return nil }
        let value = LocalDateTime(date: date, secondOfDay: hour * 3600 + minute * 60 + min(second, 59))
        return (value, isUTC)
    }

    /// `YYYYMMDD`.
    static func format(_ date: LocalDate) -> String {
        pad(date.year, 4) + pad(date.month, 2) + pad(date.day, 2)
    }

    /// `YYYYMMDDTHHMMSS`, with `Z` when `utc`.
    static func format(_ value: LocalDateTime, utc: Bool = false) -> String {
        format(value.date) + "T" + pad(value.hour, 2) + pad(value.minute, 2) + pad(value.second, 2) + (utc ? "Z" : "")
    }

    /// An instant as a UTC DATE-TIME, e.g. `20300601T080000Z`.
    static func utc(_ instant: Date) -> String { format(LocalDateTime(utc: instant), utc: true) }

    /// A DURATION: `[+-]P[nW][nD][T[nH][nM][nS]]`, as nominal days and exact seconds, both carrying
    /// the sign. Tolerates zero-padded fields (`-PT00H15M00S`) and weeks beside other fields.
    static func duration(_ text: String) -> (days: Int, seconds: Int)? {
        var scalars = Substring(text.trimmingSpaces.uppercased())
        var sign = 1
        if scalars.first == "+" || scalars.first == "-" {
            if scalars.first == "-" { sign = -1 }
            scalars = scalars.dropFirst()
        }
        guard scalars.first == "P" else { return nil }
        scalars = scalars.dropFirst()
        var days = 0
        var seconds = 0
        var inTime = false
        var digits = ""
        var sawField = false
        for character in scalars {
            if character.isASCII, character.isNumber {
                digits.append(character)
                guard digits.count <= 9 else { return nil }
                continue
            }
            if character == "T" {
                guard digits.isEmpty, !inTime else { return nil }
                inTime = true
                continue
            }
            guard let value = Int(digits) else { return nil }
            digits = ""
            sawField = true
            switch (character, inTime) {
            case ("W", false): days += value * 7
            case ("D", false): days += value
            case ("H", true): seconds += value * 3600
            case ("M", true): seconds += value * 60
            case ("S", true): seconds += value
            default: return nil
            }
        }
        guard digits.isEmpty, sawField else { return nil }
        return (days * sign, seconds * sign)
    }

    /// A UTC offset `+HHMM` or `+HHMMSS` in seconds.
    static func utcOffset(_ text: String) -> Int? {
        let bytes = Array(text.trimmingSpaces.utf8)
        guard bytes.count == 5 || bytes.count == 7, let signByte = bytes.first,
            signByte == UInt8(ascii: "+") || signByte == UInt8(ascii: "-"),
            let hours = number(bytes[1..<3]), let minutes = number(bytes[3..<5]), minutes < 60
        else { return nil }
        let seconds = bytes.count == 7 ? number(bytes[5..<7]) : 0
        guard let seconds else { return nil }
        let total = hours * 3600 + minutes * 60 + seconds
        return signByte == UInt8(ascii: "-") ? -total : total
    }

    /// `+HHMM`, or `+HHMMSS` when there are seconds.
    static func utcOffset(_ seconds: Int) -> String {
        let magnitude = abs(seconds)
        var text = (seconds < 0 ? "-" : "+") + pad(magnitude / 3600, 2) + pad(magnitude / 60 % 60, 2)
        if magnitude % 60 != 0 { text += pad(magnitude % 60, 2) }
        return text
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(abs(value))
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
