import Foundation

/// Text conversions for mail bodies.
enum MailText {
    /// A readable plain-text version of an HTML body: tags dropped, block ends as line breaks,
    /// the common entities decoded, runs of blank lines folded.
    static func plain(fromHTML html: String) -> String {
        var output = ""
        var index = html.startIndex
        var skipping: String?  // inside <style> or <script>
        while index < html.endIndex {
            let character = html[index]
            if character == "<", let close = html[index...].firstIndex(of: ">") {
                let tag = html[html.index(after: index)..<close].lowercased()
                let closing = tag.hasPrefix("/")
                let base =
                    (closing ? tag.dropFirst() : Substring(tag)).split(whereSeparator: {
                        $0 == " " || $0 == "/" || $0 == "\t" || $0 == "\n" || $0 == "\r"
                    }).first.map(String.init) ?? ""
                let name = closing ? "/" + base : base
                if let open = skipping {
                    if tag.hasPrefix("/" + open) { skipping = nil }
                } else if name == "style" || name == "script" || name == "head" {
                    skipping = name
                } else if ["br", "/p", "/div", "/tr", "li", "/li", "/table", "/h1", "/h2", "/h3", "/h4", "/h5", "/h6"]
                    .contains(name)
                {
                    if output.last == " " { output.removeLast() }
                    output.append("\n")
                } else if name == "td" || name == "th" {
                    output.append("\t")
                }
                index = html.index(after: close)
                continue
            }
            if skipping == nil {
                // Source line breaks and runs of white space are one space in HTML; only tags break lines.
                if character.isWhitespace {
                    if let last = output.last, last != " ", last != "\n", last != "\t" { output.append(" ") }
                } else {
                    output.append(character)
                }
            }
            index = html.index(after: index)
        }
        return fold(decodeEntities(output))
    }

    /// The HTML with any declared charset replaced by UTF-8: the text is stored as Unicode, so a
    /// `<meta charset="iso-8859-1">` carried over would make a browser misread it.
    static func declaringUTF8(_ html: String) -> String {
        guard html.range(of: "charset", options: .caseInsensitive) != nil else { return html }
        let pattern = #"charset\s*=\s*(["']?)[A-Za-z0-9_\-:.]+"#
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return html }
        let range = NSRange(html.startIndex..., in: html)
        return regex.stringByReplacingMatches(in: html, range: range, withTemplate: "charset=$1utf-8")
    }

    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "auml": "ä", "ouml": "ö",
        "uuml": "ü", "Auml": "Ä", "Ouml": "Ö", "Uuml": "Ü", "szlig": "ß", "euro": "€", "eacute": "é", "copy": "©",
    ]

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "&", let semicolon = text[index...].prefix(12).firstIndex(of: ";") {
                let name = String(text[text.index(after: index)..<semicolon])
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    replacement = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
                } else if name.hasPrefix("#") {
                    replacement = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
                } else {
                    replacement = entities[name]
                }
                if let replacement {
                    output += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            output.append(text[index])
            index = text.index(after: index)
        }
        return output
    }

    /// Trims each line's trailing space and folds three or more line breaks into two.
    static func fold(_ text: String) -> String {
        var lines: [String] = []
        var blank = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = String(line.replacingOccurrences(of: "\r", with: "")).replacingOccurrences(
                of: "\\s+$", with: "", options: .regularExpression)
            if trimmed.trimmingCharacters(in: .whitespaces).isEmpty {
                blank += 1
                if blank > 1 { continue }
                lines.append("")
            } else {
                blank = 0
                lines.append(trimmed)
            }
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
