import Foundation

/// A time zone as the reader and writer need it: the UTC offset in effect at each instant.
protocol ZoneOffsets {
    /// Seconds east of UTC at the instant `seconds` after 1970-01-01T00:00:00Z.
    func offset(atUTC seconds: Int) -> Int
    /// The offset at `window.lowerBound` and each later change of offset inside `window`.
    func offsetChanges(in window: Range<Int>) -> OffsetChanges
}

/// The offsets of a zone over a window: where it starts and when and to what it changes.
struct OffsetChanges: Hashable {
    var initial: Int
    var changes: [Change]

    struct Change: Hashable {
        var instant: Int
        var offset: Int
    }
}

extension ZoneOffsets {
    /// The instant of a wall-clock time (RFC 5545 §3.3.5): a time that occurs twice means the first
    /// (earlier) instant; a time skipped by a change is read with the offset before the change.
    func instant(for local: LocalDateTime) -> Date {
        let wall = local.epochSeconds
        let candidates = Set([offset(atUTC: wall - 86_400), offset(atUTC: wall), offset(atUTC: wall + 86_400)])
        if let offset = candidates.filter({ self.offset(atUTC: wall - $0) == $0 }).max() {
            return Date(timeIntervalSince1970: TimeInterval(wall - offset))
        }
        let before = offset(atUTC: wall - (candidates.max() ?? 0))
        return Date(timeIntervalSince1970: TimeInterval(wall - before))
    }

    /// The wall-clock time of an instant (fractions of a second dropped).
    func local(for instant: Date) -> LocalDateTime {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        return LocalDateTime(epochSeconds: seconds + offset(atUTC: seconds))
    }

    /// The UTC offset at an instant.
    func offset(at instant: Date) -> Int { offset(atUTC: Int(instant.timeIntervalSince1970.rounded(.down))) }
}

/// A Foundation (IANA) zone.
struct FoundationZone: ZoneOffsets {
    var zone: TimeZone

    func offset(atUTC seconds: Int) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    func offsetChanges(in window: Range<Int>) -> OffsetChanges {
        var current = offset(atUTC: window.lowerBound)
        var result = OffsetChanges(initial: current, changes: [])
        var instant = Date(timeIntervalSince1970: TimeInterval(window.lowerBound))
        var steps = 0
        while steps < 200, let next = zone.nextDaylightSavingTimeTransition(after: instant),
            Int(next.timeIntervalSince1970) < window.upperBound
        {
            let seconds = Int(next.timeIntervalSince1970.rounded(.down))
            let offset = offset(atUTC: seconds)
            if offset != current {
                result.changes.append(.init(instant: seconds, offset: offset))
                current = offset
            }
            instant = next
            steps += 1
        }
        return result
    }

    /// The zone's standard offset: the smaller of its January and July offsets in `year`.
    static func standardOffset(of zone: TimeZone, year: Int) -> Int {
        let january = LocalDateTime(date: .init(year: year, month: 1, day: 15)).epochSeconds
        let july = LocalDateTime(date: .init(year: year, month: 7, day: 15)).epochSeconds
        let zone = FoundationZone(zone: zone)
        return min(zone.offset(atUTC: january), zone.offset(atUTC: july))
    }
}

/// A zone with one offset for all time (UTC, or a fixed offset).
struct FixedZone: ZoneOffsets {
    var seconds: Int

    func offset(atUTC _: Int) -> Int { seconds }

    func offsetChanges(in _: Range<Int>) -> OffsetChanges { OffsetChanges(initial: seconds, changes: []) }
}
