import ConnectorAPI

/// A recurrence rule value (RFC 5545 §3.3.10): the parts this library reads and writes, and the
/// names of the ones it does not model.
struct RecurrenceRule: Hashable {
    /// A BYDAY entry: a weekday with an optional ordinal (`2TU`, `-1FR`, `MO`).
    struct Day: Hashable {
        var ordinal: Int?
        var weekday: Weekday

        var text: String { (ordinal.map(String.init) ?? "") + weekday.code }
    }

    /// The rule as written, for messages.
    var source: String
    var frequency: String
    var interval = 1
    var count: Int?
    /// The raw UNTIL value (a DATE or DATE-TIME).
    var until: String?
    var byDay: [Day] = []
    var byMonthDay: [Int] = []
    var byMonth: [Int] = []
    var bySetPosition: [Int] = []
    var weekStart: Weekday?
    /// Names of parts that are valid iCalendar but not modelled here (BYHOUR, BYWEEKNO, …).
    var unmodelledParts: [String] = []

    /// A rule to be filled in and written.
    init(frequency: String) {
        self.frequency = frequency
        source = "FREQ=\(frequency)"
    }

    /// Parses a rule value such as `FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20301231T225959Z`.
    ///
    /// - Throws: ``ICalendarError`` (without a line) naming the rule when a part is malformed.
    init(parsing text: String) throws {
        source = text
        frequency = ""
        func bad(_ why: String) -> ICalendarError { ICalendarError(line: nil, "malformed RRULE \(text): \(why)") }
        func integers(_ value: Substring, _ key: Substring, _ range: ClosedRange<Int>) throws -> [Int] {
            try value.split(separator: ",").map { item in
                guard let number = Int(item.trimming(" ")), range.contains(number), number != 0 else {
                    throw bad("\(key)=\(value)")
                }
                return number
            }
        }
        for part in text.trimmingSpaces.split(separator: ";", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { throw bad("part \"\(part)\" is not NAME=VALUE") }
            let key = pair[0].uppercased().trimmingSpaces
            let value = pair[1]
            switch key {
            case "FREQ": frequency = value.uppercased().trimmingSpaces
            case "INTERVAL":
                guard let number = Int(value), (1...1_000_000).contains(number) else { throw bad("INTERVAL=\(value)") }
                interval = number
            case "COUNT":
                guard let number = Int(value), number >= 1 else { throw bad("COUNT=\(value)") }
                count = number
            case "UNTIL": until = String(value).trimmingSpaces
            case "BYDAY":
                byDay = try value.split(separator: ",").map { item in
                    let text = item.trimming(" ").uppercased()
                    guard text.count >= 2, let weekday = Weekday(code: String(text.suffix(2))) else {
                        throw bad("BYDAY=\(value)")
                    }
                    let prefix = text.dropLast(2)
                    if prefix.isEmpty { return Day(ordinal: nil, weekday: weekday) }
                    guard let ordinal = Int(prefix.hasPrefix("+") ? prefix.dropFirst() : prefix), ordinal != 0,
                        (-53...53).contains(ordinal)
                    else { throw bad("BYDAY=\(value)") }
                    return Day(ordinal: ordinal, weekday: weekday)
                }
            case "BYMONTHDAY": byMonthDay = try integers(value, "BYMONTHDAY", -31...31)
            case "BYMONTH": byMonth = try integers(value, "BYMONTH", 1...12)
            case "BYSETPOS": bySetPosition = try integers(value, "BYSETPOS", -366...366)
            case "WKST":
                guard let day = Weekday(code: String(value).trimmingSpaces) else { throw bad("WKST=\(value)") }
                weekStart = day
            case "RSCALE" where value.uppercased() == "GREGORIAN": break
            default:
                if !key.hasPrefix("X-") { unmodelledParts.append(key) }
            }
        }
        guard !frequency.isEmpty else { throw bad("no FREQ") }
    }

    /// The rule in a fixed part order: FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST,
    /// COUNT, UNTIL.
    var text: String {
        var parts = ["FREQ=\(frequency)"]
        if interval != 1 || ["DAILY", "WEEKLY", "MONTHLY"].contains(frequency) { parts.append("INTERVAL=\(interval)") }
        if !byMonth.isEmpty { parts.append("BYMONTH=" + byMonth.map(String.init).joined(separator: ",")) }
        if !byMonthDay.isEmpty { parts.append("BYMONTHDAY=" + byMonthDay.map(String.init).joined(separator: ",")) }
        if !byDay.isEmpty { parts.append("BYDAY=" + byDay.map(\.text).joined(separator: ",")) }
        if !bySetPosition.isEmpty { parts.append("BYSETPOS=" + bySetPosition.map(String.init).joined(separator: ",")) }
        if let weekStart { parts.append("WKST=\(weekStart.code)") }
        if let count { parts.append("COUNT=\(count)") }
        if let until { parts.append("UNTIL=\(until)") }
        return parts.joined(separator: ";")
    }
}

extension Substring {
    /// Without leading and trailing occurrences of `character`.
    func trimming(_ character: Character) -> Substring {
        var result = self
        while result.first == character { result = result.dropFirst() }
        while result.last == character { result = result.dropLast() }
        return result
    }
}
