/// The TEXT value escapes of RFC 5545 §3.3.11: backslash, semicolon, comma and line breaks.
public enum ICalText {
    /// `text` with `\`, `;` and `,` escaped and every line break (CRLF, CR or LF) written as `\n`.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\\": result += "\\\\"
            case ";": result += "\\;"
            case ",": result += "\\,"
            case "\r": result += "\\n"
            case "\n": if !previousWasCR { result += "\\n" }
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `value` with its escapes resolved: `\\`, `\;`, `\,`, `\n` and `\N`. An unknown escape keeps
    /// the escaped character, a trailing lone backslash stays.
    public static func unescape(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var result = ""
        var escaping = false
        for scalar in value.unicodeScalars {
            if escaping {
                escaping = false
                switch scalar {
                case "n", "N": result += "\n"
                default: result.unicodeScalars.append(scalar)
                }
            } else if scalar == "\\" {
                escaping = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        if escaping { result += "\\" }
        return result
    }

    /// A multi-value TEXT value split on its unescaped commas, each part unescaped. An empty value
    /// gives no parts.
    public static func splitList(_ value: String) -> [String] {
        guard !value.isEmpty else { return [] }
        var parts: [String] = []
        var current = ""
        var escaping = false
        for scalar in value.unicodeScalars {
            if escaping {
                escaping = false
                current.unicodeScalars.append(scalar)
            } else if scalar == "\\" {
                escaping = true
                current += "\\"
            } else if scalar == "," {
                parts.append(unescape(current))
                current = ""
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        parts.append(unescape(current))
        return parts
    }
}
