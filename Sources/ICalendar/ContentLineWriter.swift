extension ICalComponent {
    /// The component as iCalendar text: CRLF line ends (also after the last line), lines folded
    /// at 75 octets without splitting a UTF-8 sequence, parameter values quoted where they hold
    /// `:`, `;` or `,` (RFC 6868 caret escapes for `"`, `^` and line breaks).
    ///
    /// Property values are written as they are; a line break in a raw value is written as `\n`
    /// so it can never end the line.
    public func serialized() -> String {
        var output = ""
        append(to: &output)
        return output
    }

    private func append(to output: inout String) {
        ContentLine.write("BEGIN:\(name)", to: &output)
        for property in properties {
            ContentLine.write(ContentLine.text(of: property), to: &output)
        }
        for component in components {
            component.append(to: &output)
        }
        ContentLine.write("END:\(name)", to: &output)
    }
}

/// Formatting and folding of single content lines.
enum ContentLine {
    /// The longest line in octets, without its CRLF (RFC 5545 §3.1).
    static let maximumOctets = 75

    /// `NAME;PARAM=value:value` (`group.NAME…` when grouped) of a property, unfolded.
    static func text(of property: ICalProperty) -> String {
        var line = property.group.map { $0 + "." + property.name } ?? property.name
        for parameter in property.parameters {
            line += ";" + parameter.name
            guard !parameter.values.isEmpty else { continue }
            line += "=" + parameter.values.map(quotedParameterValue).joined(separator: ",")
        }
        line += ":"
        var previousWasCR = false
        for scalar in property.value.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\r": line += "\\n"
            case "\n": if !previousWasCR { line += "\\n" }
            default: line.unicodeScalars.append(scalar)
            }
        }
        return line
    }

    /// A parameter value with RFC 6868 escapes, in quotes when it holds `:`, `;` or `,`.
    static func quotedParameterValue(_ value: String) -> String {
        var escaped = ""
        var needsQuotes = false
        var previousWasCR = false
        for scalar in value.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "^": escaped += "^^"
            case "\"": escaped += "^'"
            case "\r": escaped += "^n"
            case "\n": if !previousWasCR { escaped += "^n" }
            case ":", ";", ",":
                needsQuotes = true
                escaped.unicodeScalars.append(scalar)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return needsQuotes ? "\"\(escaped)\"" : escaped
    }

    /// Appends `line` folded at ``maximumOctets`` (continuations start with a space), each
    /// physical line ended by CRLF. Folds fall between Unicode scalars, never inside one.
    static func write(_ line: String, to output: inout String) {
        var octets = 0
        for scalar in line.unicodeScalars {
            let size = UTF8.width(scalar)
            if octets + size > maximumOctets {
                output += "\r\n "
                octets = 1
            }
            output.unicodeScalars.append(scalar)
            octets += size
        }
        output += "\r\n"
    }
}
