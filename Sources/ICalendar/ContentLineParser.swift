extension ICalComponent {
    /// Parses iCalendar text into its top-level component (normally `VCALENDAR`).
    ///
    /// Lines may end in CRLF, LF or CR; a line starting with a space or tab continues the one
    /// before (the space or tab is dropped, the bytes are joined, so a fold inside a UTF-8 sequence
    /// is repaired). Blank lines, a byte order mark and a missing final line break are tolerated.
    /// Property, parameter and component names are upper-cased; quoted parameter values may hold
    /// `:`, `;` and `,`; RFC 6868 caret escapes are resolved.
    ///
    /// - Parameters:
    ///   - text: The text.
    ///   - allowingGroups: Whether a property name may carry a group (`item1.EMAIL`), as in vCard
    ///     and other RFC 2425 directory text; it goes to ``ICalProperty/group``. iCalendar has none.
    /// - Throws: ``ICalendarError`` naming the line for a line without `:`, a bad name, an
    ///   unterminated quote, a mismatched or missing `END`, or content outside any component.
    public static func parse(_ text: String, allowingGroups: Bool = false) throws -> ICalComponent {
        var stack: [ICalComponent] = []
        var root: ICalComponent?
        for line in ContentLineParser.unfold(text) {
            let property = try ContentLineParser.property(
                line.bytes, number: line.number, allowingGroups: allowingGroups)
            switch property.name {
            case "BEGIN":
                let name = property.value.trimmingSpaces.uppercased()
                guard !name.isEmpty, name.utf8.allSatisfy(ContentLineParser.isNameByte) else {
                    throw ICalendarError(line: line.number, "invalid component name in BEGIN:\(property.value)")
                }
                if stack.isEmpty, let root {
                    throw ICalendarError(
                        line: line.number, "BEGIN:\(name) after the end of the top-level \(root.name)")
                }
                stack.append(ICalComponent(name, line: line.number))
            case "END":
                let name = property.value.trimmingSpaces.uppercased()
                guard let open = stack.popLast() else {
                    throw ICalendarError(line: line.number, "END:\(name) without a matching BEGIN")
                }
                guard open.name == name else {
                    throw ICalendarError(
                        line: line.number,
                        "END:\(name) does not close BEGIN:\(open.name) of line \(open.line ?? 0)")
                }
                if stack.isEmpty {
                    root = open
                } else {
                    stack[stack.count - 1].components.append(open)
                }
            default:
                guard !stack.isEmpty else {
                    throw ICalendarError(line: line.number, "\(property.name) outside of any BEGIN/END component")
                }
                stack[stack.count - 1].properties.append(property)
            }
        }
        if let open = stack.last {
            throw ICalendarError(line: open.line, "BEGIN:\(open.name) is never closed by END:\(open.name)")
        }
        guard let root else { throw ICalendarError(line: nil, "no BEGIN line: not iCalendar text") }
        return root
    }
}

/// Unfolding and splitting of content lines.
enum ContentLineParser {
    /// A logical (unfolded) line and the physical line it started on.
    struct Line {
        var number: Int
        var bytes: [UInt8]
    }

    /// The logical lines of `text`, unfolded, without empty lines.
    static func unfold(_ text: String) -> [Line] {
        var lines: [Line] = []
        var current: [UInt8] = []
        var number = 1
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        func finish(_ physical: [UInt8], at number: Int) {
            guard let first = physical.first else { return }
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                if lines.isEmpty {
                    let rest = physical.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                    if !rest.isEmpty { lines.append(Line(number: number, bytes: Array(rest))) }
                } else {
                    lines[lines.count - 1].bytes += physical.dropFirst()
                }
            } else {
                lines.append(Line(number: number, bytes: physical))
            }
        }

        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
                finish(current, at: number)
                current.removeAll(keepingCapacity: true)
                number += 1
                if byte == UInt8(ascii: "\r"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") {
                    index += 1
                }
            } else {
                current.append(byte)
            }
            index += 1
        }
        finish(current, at: number)
        return lines
    }

    /// Letters, digits, `-` and (tolerated) `_`.
    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// Splits one logical line into name (with its group when `allowingGroups`), parameters and raw value.
    static func property(_ line: [UInt8], number: Int, allowingGroups: Bool = false) throws -> ICalProperty {
        func text(_ range: Range<Int>) -> String { String(decoding: line[range], as: UTF8.self) }
        let excerpt = String(decoding: line.prefix(60), as: UTF8.self)
        let colon = UInt8(ascii: ":")
        let semicolon = UInt8(ascii: ";")
        let comma = UInt8(ascii: ",")
        let quote = UInt8(ascii: "\"")

        var index = 0
        while index < line.count, line[index] != semicolon, line[index] != colon { index += 1 }
        var name = text(0..<index)
        var group: String?
        if allowingGroups, let dot = name.firstIndex(of: ".") {
            group = String(name[..<dot])
            name = String(name[name.index(after: dot)...])
        }
        guard !name.isEmpty, name.utf8.allSatisfy(isNameByte),
            group.map({ !$0.isEmpty && $0.utf8.allSatisfy(isNameByte) }) ?? true
        else {
            throw ICalendarError(line: number, "not a content line (bad property name): \(excerpt)")
        }
        guard index < line.count else {
            throw ICalendarError(line: number, "content line without ':': \(excerpt)")
        }
        var parameters: [ICalParameter] = []
        while line[index] == semicolon {
            index += 1
            let nameStart = index
            while index < line.count, ![UInt8(ascii: "="), semicolon, colon].contains(line[index]) { index += 1 }
            let parameterName = text(nameStart..<index)
            guard !parameterName.isEmpty, parameterName.utf8.allSatisfy(isNameByte) else {
                throw ICalendarError(line: number, "bad parameter name in \(excerpt)")
            }
            var values: [String] = []
            if index < line.count, line[index] == UInt8(ascii: "=") {
                repeat {
                    index += 1  // past "=" or ","
                    var value: [UInt8] = []
                    if index < line.count, line[index] == quote {
                        index += 1
                        let start = index
                        while index < line.count, line[index] != quote { index += 1 }
                        guard index < line.count else {
                            throw ICalendarError(
                                line: number, "unterminated quoted value of parameter \(parameterName)")
                        }
                        value += line[start..<index]
                        index += 1
                    }
                    let start = index
                    while index < line.count, ![comma, semicolon, colon].contains(line[index]) { index += 1 }
                    value += line[start..<index]
                    values.append(decodeCarets(String(decoding: value, as: UTF8.self)))
                } while index < line.count && line[index] == comma
            }
            parameters.append(ICalParameter(parameterName, values))
            guard index < line.count else {
                throw ICalendarError(line: number, "content line without ':' after its parameters: \(excerpt)")
            }
        }
        return ICalProperty(
            name, group: group, parameters: parameters, value: text((index + 1)..<line.count), line: number)
    }

    /// Resolves RFC 6868 escapes: `^n` line break, `^^` caret, `^'` double quote.
    static func decodeCarets(_ value: String) -> String {
        guard value.contains("^") else { return value }
        var result = ""
        var pending = false
        for scalar in value.unicodeScalars {
            if pending {
                pending = false
                switch scalar {
                case "n": result += "\n"
                case "^": result += "^"
                case "'": result += "\""
                default:
                    result += "^"
                    result.unicodeScalars.append(scalar)
                }
            } else if scalar == "^" {
                pending = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        if pending { result += "^" }
        return result
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(scalars[first...last])
    }
}
