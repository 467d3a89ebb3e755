import Foundation

extension EWSRecurrence {
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Weekday numbers (1 = Sunday … 7 = Saturday) a `DaysOfWeek` value names.
    static func weekdayNumbers(_ value: String) -> [Int] {
        value.split(separator: " ").flatMap { name -> [Int] in
            switch name {
            case "Day": Array(1...7)
            case "Weekday": Array(2...6)
            case "WeekendDay": [1, 7]
            default: weekdays.firstIndex(of: String(name)).map { [$0 + 1] } ?? []
            }
        }
    }

    /// The dates of the series, in order, up to `limit` (for endless series) — enough to find an
    /// occurrence's instance index and its original start.
    public func dates(limit: Int = 2000) -> [LocalDateParts] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let (start, end, count): (LocalDateParts, LocalDateParts?, Int?) =
            switch range {
            case .noEnd(let start): (start, nil, nil)
            case .endDate(let start, let end): (start, end, nil)
            case .numbered(let start, let count): (start, nil, count)
            }
        let maximum = min(count ?? limit, limit)
        var result: [LocalDateParts] = []
        func accept(_ date: LocalDateParts) -> Bool {
            guard date >= start else { return true }
            if let end, date > end { return false }
            result.append(date)
            return result.count < maximum
        }
        func date(_ y: Int, _ m: Int, _ d: Int) -> Date {
            calendar.date(from: DateComponents(year: y, month: m, day: d))!
        }
        func parts(_ date: Date) -> LocalDateParts {
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            return LocalDateParts(year: c.year!, month: c.month!, day: c.day!)
        }
        func daysIn(_ year: Int, _ month: Int) -> Int {
            calendar.range(of: .day, in: .month, for: date(year, month, 1))!.count
        }
        func relative(_ year: Int, _ month: Int, _ days: [Int], _ index: String) -> LocalDateParts? {
            let matching = (1...daysIn(year, month)).filter {
                days.contains(calendar.component(.weekday, from: date(year, month, $0)))
            }
            let position = ["First": 0, "Second": 1, "Third": 2, "Fourth": 3][index]
            guard let day = position.map({ $0 < matching.count ? matching[$0] : nil }) ?? matching.last else {
                return nil
            }
            return LocalDateParts(year: year, month: month, day: day)
        }
        let first = date(start.year, start.month, start.day)
        var guardCount = 0
        switch pattern {
        case .daily(let interval):
            var current = first
            while accept(parts(current)), guardCount < 100_000 {
                current = calendar.date(byAdding: .day, value: max(1, interval), to: current)!
                guardCount += 1
            }
        case .weekly(let interval, let names, let firstDay):
            let days = Set(names.flatMap(Self.weekdayNumbers))
            let weekStart = (Self.weekdays.firstIndex(of: firstDay ?? "Sunday") ?? 0) + 1
            let offset = (calendar.component(.weekday, from: first) - weekStart + 7) % 7
            var week = calendar.date(byAdding: .day, value: -offset, to: first)!
            outer: while guardCount < 10_000 {
                for day in 0..<7 {
                    let current = calendar.date(byAdding: .day, value: day, to: week)!
                    if days.contains(calendar.component(.weekday, from: current)), !accept(parts(current)) {
                        break outer
                    }
                }
                week = calendar.date(byAdding: .day, value: 7 * max(1, interval), to: week)!
                guardCount += 1
            }
        case .absoluteMonthly(let interval, let day):
            var (year, month) = (start.year, start.month)
            while guardCount < 10_000 {
                if !accept(LocalDateParts(year: year, month: month, day: min(day, daysIn(year, month)))) { break }
                month += max(1, interval)
                while month > 12 {
                    month -= 12
                    year += 1
                }
                guardCount += 1
            }
        case .relativeMonthly(let interval, let names, let index):
            var (year, month) = (start.year, start.month)
            while guardCount < 10_000 {
                if let next = relative(year, month, Self.weekdayNumbers(names), index), !accept(next) { break }
                month += max(1, interval)
                while month > 12 {
                    month -= 12
                    year += 1
                }
                guardCount += 1
            }
        case .absoluteYearly(let day, let monthName):
            let month = (Self.months.firstIndex(of: monthName) ?? 0) + 1
            var year = start.year
            while guardCount < 1000,
                accept(LocalDateParts(year: year, month: month, day: min(day, daysIn(year, month))))
            {
                year += 1
                guardCount += 1
            }
        case .relativeYearly(let names, let index, let monthName):
            let month = (Self.months.firstIndex(of: monthName) ?? 0) + 1
            var year = start.year
            while guardCount < 1000 {
                if let next = relative(year, month, Self.weekdayNumbers(names), index), !accept(next) { break }
                year += 1
                guardCount += 1
            }
        }
        return result
    }

    /// Occurrence starts: the series' dates at the first occurrence's wall-clock time in `zone`.
    public func starts(firstStart: Date, zone: TimeZone, limit: Int = 2000) -> [Date] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let time = calendar.dateComponents([.hour, .minute, .second], from: firstStart)
        return dates(limit: limit).compactMap { day in
            calendar.date(
                from: DateComponents(
                    year: day.year, month: day.month, day: day.day, hour: time.hour, minute: time.minute,
                    second: time.second))
        }
    }
}
