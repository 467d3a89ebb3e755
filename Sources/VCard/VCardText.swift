import ConnectorAPI
import Foundation
import ICalendar

/// The vCard pieces around ICalendar's content lines: finding the card, quoted-printable, structured
/// values, dates.
enum VCardText {
    /// The VCARD component of `text`.
    ///
    /// - Throws: ``VCardError`` when the first line is not `BEGIN:VCARD`, and for what
    ///   ``ICalComponent/parse(_:allowingGroups:)`` rejects, on the same line.
    static func parse(_ text: String) throws -> ICalComponent {
        try requireBegin(text)
        let root: ICalComponent
        do {
            root = try ICalComponent.parse(joiningSoftLineBreaks(text), allowingGroups: true)
        } catch let error as ICalendarError {
            throw VCardError(line: error.line, error.reason)
        }
        guard root.name == "VCARD" else {
            throw VCardError(line: root.line, "not a vCard: expected BEGIN:VCARD, found BEGIN:\(root.name)")
        }
        return root
    }

    /// The physical lines of `text` as ICalendar's parser counts them (CRLF, LF or CR).
    static func physicalLines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }
    }

    /// Throws unless the first non-blank line is `BEGIN:VCARD` (any case, a byte order mark allowed).
    static func requireBegin(_ text: String) throws {
        for (index, line) in physicalLines(text).enumerated() {
            let trimmed = line.drop { $0 == "\u{FEFF}" }.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.uppercased() == "BEGIN:VCARD" { return }
            throw VCardError(
                line: index + 1, "not a vCard: expected BEGIN:VCARD, found \"\(trimmed.prefix(60))\"")
        }
        throw VCardError(line: nil, "not a vCard: the text is empty (no BEGIN:VCARD)")
    }

    /// `text` with the soft line breaks of quoted-printable values (vCard 2.1: a line ending in
    /// `=`) turned into folds: the `=` is dropped and the next line starts with a space, so the
    /// line numbers stay those of the input.
    static func joiningSoftLineBreaks(_ text: String) -> String {
        guard text.range(of: "QUOTED-PRINTABLE", options: .caseInsensitive) != nil else { return text }
        var lines = physicalLines(text).map(String.init)
        var quotedPrintable = false
        var softBreak = false
        for index in lines.indices {
            let line = lines[index]
            if softBreak {
                lines[index] = " " + line
            } else if line.first != " " && line.first != "\t" {
                let head = line.prefix { $0 != ":" }
                quotedPrintable = head.range(of: "QUOTED-PRINTABLE", options: .caseInsensitive) != nil
            }
            softBreak = quotedPrintable && line.hasSuffix("=")
            if softBreak { lines[index].removeLast() }
        }
        return lines.joined(separator: "\n")
    }

    /// Decodes a quoted-printable value (`=XX` octets) in `charset` (UTF-8 when nil or unknown;
    /// ISO-8859-1 and Windows-1252 as named). An `=` not followed by two hex digits stays.
    static func decodeQuotedPrintable(_ value: String, charset: String?) -> String {
        let bytes = Array(value.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "="), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        let encoding: String.Encoding =
            switch charset?.lowercased() {
            case "iso-8859-1", "iso8859-1", "latin1", "latin-1": .isoLatin1
            case "windows-1252", "cp1252": .windowsCP1252
            default: .utf8
            }
        return String(bytes: decoded, encoding: encoding) ?? String(decoding: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// `value` split on its unescaped `separator`s, the parts still escaped (a structured value's
    /// components, or a component's comma-separated values).
    static func split(_ value: String, on separator: Unicode.Scalar) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaping = false
        for scalar in value.unicodeScalars {
            if escaping {
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else if scalar == separator {
                parts.append(current)
                current = ""
                continue
            }
            current.unicodeScalars.append(scalar)
        }
        parts.append(current)
        return parts
    }

    /// The birthday of a `BDAY` value: `1975-04-12`, `19750412`, or the date of a date-time
    /// (`1975-04-12T00:00:00Z`). Nil for partial dates (`--0412`, `1975-04`), text values, and the
    /// year Apple writes for a birthday without one (`X-APPLE-OMIT-YEAR`).
    static func birthday(_ property: ICalProperty, value: String) -> LocalDate? {
        if property.parameter("VALUE")?.lowercased() == "text" { return nil }
        let text = value.trimmingCharacters(in: .whitespaces)
        let datePart = text.prefix { $0 != "T" && $0 != "t" }
        let date: LocalDate?
        if datePart.count == 10 {
            date = LocalDate(iso: String(datePart))
        } else if datePart.count == 8, datePart.allSatisfy(\.isASCIIDigit) {
            date = LocalDate(iso: "\(datePart.prefix(4))-\(datePart.dropFirst(4).prefix(2))-\(datePart.suffix(2))")
        } else {
            date = nil
        }
        if let date, let omitted = property.parameter("X-APPLE-OMIT-YEAR"), Int(omitted) == date.year { return nil }
        return date
    }

    /// The instant of a `REV` value: a UTC, offset or floating (read as UTC) date-time in basic or
    /// extended form (`20240311T093012Z`, `2014-07-11T10:00:07Z`, `2024-03-11T10:30:12+01:00`,
    /// with fractions of seconds), or a date (its midnight in UTC). Nil for anything else.
    static func timestamp(_ value: String) -> Date? {
        let text = value.trimmingCharacters(in: .whitespaces)
        let halves = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let day = halves[0].filter { $0 != "-" }
        guard day.count == 8, day.allSatisfy(\.isASCIIDigit) else { return nil }
        var time = halves.count > 1 ? String(halves[1]) : "000000"
        var offset = 0
        if time.hasSuffix("Z") || time.hasSuffix("z") {
            time.removeLast()
        } else if let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = time[time.index(after: sign)...].filter { $0 != ":" }
            guard zone.count == 2 || zone.count == 4, zone.allSatisfy(\.isASCIIDigit) else { return nil }
            let seconds = Int(zone.prefix(2))! * 3600 + (zone.count == 4 ? Int(zone.suffix(2))! * 60 : 0)
            offset = time[sign] == "-" ? -seconds : seconds
            time = String(time[..<sign])
        }
        let clock = time.prefix { $0 != "." && $0 != "," }.filter { $0 != ":" }
        guard clock.count == 4 || clock.count == 6, clock.allSatisfy(\.isASCIIDigit) else { return nil }
        func number(_ text: some StringProtocol, _ start: Int, _ length: Int) -> Int {
            Int(text.dropFirst(start).prefix(length))!
        }
        var components = DateComponents(
            year: number(day, 0, 4), month: number(day, 4, 2), day: number(day, 6, 2), hour: number(clock, 0, 2),
            minute: number(clock, 2, 2), second: clock.count == 6 ? number(clock, 4, 2) : 0)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        components.calendar = calendar
        guard components.isValidDate, let local = calendar.date(from: components) else { return nil }
        return local.addingTimeInterval(TimeInterval(-offset))
    }
}

extension Character {
    /// `0` to `9`.
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
