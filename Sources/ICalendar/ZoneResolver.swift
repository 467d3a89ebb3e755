import EWS
import Foundation

/// The zone of a DATE-TIME as the reader resolved it.
struct ResolvedZone {
    enum Kind {
        /// `Z` without TZID.
        case utc
        /// No TZID and no `Z`: the caller's default zone.
        case floating
        /// A TZID that names an IANA zone (directly, as a Windows name or a display name) and that
        /// the calendar does not define.
        case named
        /// A TZID the calendar defines with a VTIMEZONE; `named` is what its name suggests, if anything.
        case defined
    }

    var kind: Kind
    var offsets: any ZoneOffsets
    /// The IANA zone the TZID names, with the identifier to report.
    var named: (zone: TimeZone, identifier: String)?
}

/// Resolves TZIDs within one calendar: IANA ids, Windows names (`W. Europe Standard Time`),
/// Outlook's display names (`(UTC+01:00) Amsterdam, Berlin, …`), old Mozilla prefixes, and custom
/// names defined by the calendar's own VTIMEZONEs.
final class ZoneResolver {
    let defaultZone: TimeZone
    private let definitions: [String: ICalComponent]
    private var cache: [String: ResolvedZone] = [:]

    /// The resolver for the VTIMEZONEs of `calendar`; floating times are read in `defaultZone`.
    init(calendar: ICalComponent, defaultZone: TimeZone) {
        self.defaultZone = defaultZone
        var definitions: [String: ICalComponent] = [:]
        for component in calendar.components(named: "VTIMEZONE") {
            guard let tzid = component.property("TZID")?.textValue else { continue }
            let key = Self.clean(tzid)
            if definitions[key] == nil { definitions[key] = component }
        }
        self.definitions = definitions
    }

    /// `Z` values.
    var utc: ResolvedZone { ResolvedZone(kind: .utc, offsets: FixedZone(seconds: 0)) }

    /// Values without TZID or `Z`.
    var floating: ResolvedZone { ResolvedZone(kind: .floating, offsets: FoundationZone(zone: defaultZone)) }

    /// The zone a TZID parameter means.
    ///
    /// - Throws: ``ICalendarError`` when the calendar's VTIMEZONE for it is malformed and the TZID
    ///   names no known zone either.
    func zone(tzid raw: String) throws -> ResolvedZone {
        let tzid = Self.clean(raw)
        if let known = cache[tzid] { return known }
        let named = Self.namedZone(tzid)
        let definition =
            definitions[tzid]
            ?? definitions.first { $0.key.caseInsensitiveCompare(tzid) == .orderedSame }?.value
        let result: ResolvedZone
        if let definition, let rules = try Self.rules(definition, fallback: named) {
            result = ResolvedZone(kind: .defined, offsets: rules, named: named)
        } else if let named {
            result = ResolvedZone(kind: .named, offsets: FoundationZone(zone: named.zone), named: named)
        } else if let offset = Self.displayOffset(tzid),
            FoundationZone.standardOffset(of: defaultZone, year: 2030) != offset
        {
            // An unknown display name such as "(UTC+03:00) Somewhere" without a definition: its offset.
            let zone = TimeZone(secondsFromGMT: offset) ?? defaultZone
            result = ResolvedZone(
                kind: .named, offsets: FixedZone(seconds: offset), named: (zone, Self.fixedIdentifier(offset)))
        } else {
            result = floating
        }
        cache[tzid] = result
        return result
    }

    /// The offsets a VTIMEZONE defines; nil when it is malformed but the TZID names a known zone.
    private static func rules(_ definition: ICalComponent, fallback: (zone: TimeZone, identifier: String)?) throws
        -> TimeZoneRules?
    {
        do {
            return try TimeZoneRules(definition)
        } catch {
            if fallback != nil { return nil }
            throw error
        }
    }

    /// The IANA identifier (or fixed-offset identifier) to report for an event in `zone` around
    /// `instant`: the named zone, or for a calendar-defined zone the first of its named zone, the
    /// default zone, the Windows zones and all known zones whose offsets agree with the definition
    /// from a year before to a year after; a fixed offset when none does.
    func identifier(of zone: ResolvedZone, near instant: Date) -> String {
        switch zone.kind {
        case .utc: return "UTC"
        case .floating: return defaultZone.identifier
        case .named: return zone.named?.identifier ?? defaultZone.identifier
        case .defined:
            let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
            let year = LocalDateTime(epochSeconds: seconds).date.year
            let window =
                LocalDateTime(date: .init(year: year - 1, month: 1, day: 1))
                .epochSeconds..<LocalDateTime(date: .init(year: year + 2, month: 1, day: 1)).epochSeconds
            let wanted = zone.offsets.offsetChanges(in: window)
            let offset = zone.offsets.offset(atUTC: seconds)
            var candidates: [(TimeZone, String)] = []
            if let named = zone.named { candidates.append((named.zone, named.identifier)) }
            candidates.append((defaultZone, defaultZone.identifier))
            for candidate in candidates + Self.candidateZones {
                let foundation = FoundationZone(zone: candidate.0)
                if foundation.offset(atUTC: seconds) == offset, foundation.offsetChanges(in: window) == wanted {
                    return candidate.1
                }
            }
            return Self.fixedIdentifier(offset)
        }
    }

    /// The zones tried for a calendar-defined TZID: the Windows table's (by Windows name), then all
    /// zones Foundation knows (by identifier).
    static let candidateZones: [(TimeZone, String)] = {
        let windows = WindowsZones.toIANA.sorted { $0.key < $1.key }.map(\.value)
        let known = TimeZone.knownTimeZoneIdentifiers.sorted()
        var seen: Set<String> = []
        return (windows + known).compactMap { identifier in
            guard seen.insert(identifier).inserted, let zone = TimeZone(identifier: identifier) else { return nil }
            return (zone, identifier)
        }
    }()

    /// Known zone identifiers by their lower-cased city (last path component, `_` for spaces).
    static let cities: [String: String] = {
        var index: [String: String] = [:]
        for identifier in TimeZone.knownTimeZoneIdentifiers.sorted() + WindowsZones.fromIANA.keys.sorted() {
            guard identifier.contains("/"), let city = identifier.split(separator: "/").last else { continue }
            let key = city.lowercased()
            if index[key] == nil { index[key] = identifier }
        }
        return index
    }()

    /// A TZID without surrounding spaces or quotes.
    static func clean(_ tzid: String) -> String {
        var text = tzid.trimmingSpaces
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
        return text
    }

    /// The IANA zone a TZID names, with the identifier to report; nil for custom names.
    static func namedZone(_ tzid: String) -> (zone: TimeZone, identifier: String)? {
        if ["UTC", "GMT", "Z", "UT"].contains(tzid.uppercased()), let utc = TimeZone(identifier: "UTC") {
            return (utc, "UTC")
        }
        if !tzid.contains(" "), let zone = TimeZone(identifier: tzid) { return (zone, tzid) }
        if tzid.hasPrefix("/") {
            // Old Mozilla and Citadel ids: /mozilla.org/20050126_1/Europe/Berlin.
            let parts = tzid.split(separator: "/")
            for start in parts.indices {
                let candidate = parts[start...].joined(separator: "/")
                if candidate.contains("/"), let zone = TimeZone(identifier: candidate) { return (zone, candidate) }
            }
        }
        if let found = windowsZone(tzid) { return found }
        return displayZone(tzid)
    }

    /// A Windows zone name, compared without regard to case.
    static func windowsZone(_ name: String) -> (zone: TimeZone, identifier: String)? {
        let key =
            WindowsZones.toIANA[name] != nil
            ? name : WindowsZones.toIANA.keys.first { $0.caseInsensitiveCompare(name) == .orderedSame }
        guard let key, let identifier = WindowsZones.toIANA[key], let zone = WindowsZones.zone(forWindows: key) else {
            return nil
        }
        return (zone, identifier)
    }

    /// Outlook's display names: `(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien`,
    /// `(GMT+01.00) Amsterdam/Berlin/Bern/Rome/Stockholm/Vienna`, `(UTC-05:00) Eastern Time (US &
    /// Canada)`: a Windows name derived from the words, else the first city that is a known zone,
    /// mapped to the Windows table's zone of the same rules; only when its standard offset agrees
    /// with the one in parentheses.
    static func displayZone(_ tzid: String) -> (zone: TimeZone, identifier: String)? {
        let offset = displayOffset(tzid)
        var rest = tzid.trimmingSpaces
        if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") {
            rest = String(rest[rest.index(after: close)...]).trimmingSpaces
        }
        func accept(_ found: (zone: TimeZone, identifier: String)) -> (zone: TimeZone, identifier: String)? {
            guard let offset else { return found }
            return FoundationZone.standardOffset(of: found.zone, year: 2030) == offset ? found : nil
        }
        var words = rest
        if let open = words.firstIndex(of: "(") { words = String(words[..<open]).trimmingSpaces }
        if words.hasSuffix(" Time"), let found = windowsZone(words.dropLast(5) + " Standard Time"),
            let accepted = accept(found)
        {
            return accepted
        }
        for token in rest.split(whereSeparator: { ",/;".contains($0) }) {
            let city = String(token).trimmingSpaces.replacingOccurrences(of: " ", with: "_").lowercased()
            guard let identifier = cities[city] else { continue }
            let canonical = WindowsZones.fromIANA[identifier].flatMap { WindowsZones.toIANA[$0] } ?? identifier
            guard let zone = TimeZone(identifier: canonical) else { continue }
            if let accepted = accept((zone, canonical)) { return accepted }
        }
        return nil
    }

    /// The offset in a display name's parentheses: `(UTC+01:00)`, `(GMT-03.30)`, `(UTC)`.
    static func displayOffset(_ tzid: String) -> Int? {
        let text = tzid.trimmingSpaces.uppercased()
        guard text.hasPrefix("("), let close = text.firstIndex(of: ")") else { return nil }
        var inner = text[text.index(after: text.startIndex)..<close]
        guard inner.hasPrefix("UTC") || inner.hasPrefix("GMT") else { return nil }
        inner = inner.dropFirst(3)
        if inner.isEmpty { return 0 }
        guard let sign = inner.first, sign == "+" || sign == "-" else { return nil }
        let digits = inner.dropFirst().split(whereSeparator: { $0 == ":" || $0 == "." })
        guard (1...2).contains(digits.count), let hours = Int(digits[0]), hours <= 14 else { return nil }
        let minutes = digits.count == 2 ? Int(digits[1]) : 0
        guard let minutes, minutes < 60 else { return nil }
        return (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
    }

    /// An identifier `TimeZone(identifier:)` accepts for a fixed offset: `UTC` or `GMT+0130`.
    static func fixedIdentifier(_ seconds: Int) -> String {
        guard seconds != 0, let zone = TimeZone(secondsFromGMT: seconds) else { return "UTC" }
        return zone.identifier
    }
}
