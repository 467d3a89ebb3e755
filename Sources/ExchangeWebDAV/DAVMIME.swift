import Foundation

/// The `message/rfc822` form of an appointment as Exchange 2003/2007 takes it by `PUT` (and gives
/// it back by `GET` with `Translate: f`): mail headers, then a `text/calendar` part.
public enum DAVMIME {
    /// An appointment message whose `text/calendar` part is `calendar` (8bit UTF-8), with a
    /// `text/plain` part for the description when there is one.
    public static func appointment(calendar: String, subject: String, description: String?, date: Date) -> Data {
        let boundary = "----=_connector_\(UUID().uuidString.prefix(12))"
        var text = ""
        text += "Content-class: urn:content-classes:appointment\r\n"
        text += "Subject: \(encodedWord(subject))\r\n"
        text += "Date: \(rfc5322Date(date))\r\n"
        text += "MIME-Version: 1.0\r\n"
        text += "Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n\r\n"
        if let description, !description.isEmpty {
            text +=
                "--\(boundary)\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            text += description.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
                of: "\n", with: "\r\n")
            text += "\r\n"
        }
        text += "--\(boundary)\r\nContent-Type: text/calendar; method=REQUEST; charset=\"utf-8\"\r\n"
        text += "Content-Transfer-Encoding: 8bit\r\n\r\n"
        text += calendar
        if !calendar.hasSuffix("\r\n") { text += "\r\n" }
        text += "--\(boundary)--\r\n"
        return Data(text.utf8)
    }

    /// The first `text/calendar` (or `application/ics`) part of a MIME message at any depth,
    /// decoded (base64, quoted-printable or 8bit); nil when there is none.
    public static func calendarPart(of message: Data) -> String? {
        part(of: message, depth: 0)
    }

    static func part(of entity: Data, depth: Int) -> String? {
        guard depth < 8 else { return nil }
        let (headers, body) = split(entity)
        let type = headers["content-type"] ?? "text/plain"
        let mediaType =
            type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if mediaType == "text/calendar" || mediaType == "application/ics" {
            let decoded = decode(body, encoding: headers["content-transfer-encoding"])
            return String(decoding: decoded, as: UTF8.self)
        }
        if mediaType.hasPrefix("multipart/"), let boundary = parameter("boundary", in: type) {
            for part in parts(of: body, boundary: boundary) {
                if let found = self.part(of: part, depth: depth + 1) { return found }
            }
        }
        if mediaType == "message/rfc822" { return part(of: body, depth: depth + 1) }
        return nil
    }

    /// Header fields (lower-case names, unfolded) and the body after the first empty line.
    public static func split(_ entity: Data) -> (headers: [String: String], body: Data) {
        let bytes = [UInt8](entity)
        var end = bytes.count
        var bodyStart = bytes.count
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                    end = index
                    bodyStart = index + 2
                    break
                }
                if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
                    end = index
                    bodyStart = index + 3
                    break
                }
            }
            index += 1
        }
        if index == 0 || (bytes.first == 0x0D && bytes.count > 1 && bytes[1] == 0x0A) {
            // No headers at all.
            if bytes.starts(with: [0x0D, 0x0A]) { return ([:], Data(bytes.dropFirst(2))) }
            if bytes.first == 0x0A { return ([:], Data(bytes.dropFirst())) }
        }
        // "\r\n" is one Character in Swift: lines are split on line feeds after dropping the CRs.
        let headerText = String(decoding: bytes[0..<end], as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        var headers: [String: String] = [:]
        var current: (String, String)?
        for rawLine in headerText.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }) {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            if let first = line.first, first == " " || first == "\t", current != nil {
                current!.1 += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            if let current, headers[current.0] == nil { headers[current.0] = current.1 }
            guard let colon = line.firstIndex(of: ":") else {
                current = nil
                continue
            }
            current = (
                line[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        if let current, headers[current.0] == nil { headers[current.0] = current.1 }
        return (headers, Data(bytes[min(bodyStart, bytes.count)...]))
    }

    /// The parts of a multipart body.
    public static func parts(of body: Data, boundary: String) -> [Data] {
        let text = [UInt8](body)
        let marker = Array("--\(boundary)".utf8)
        var starts: [(start: Int, lineEnd: Int)] = []
        var index = 0
        while index + marker.count <= text.count {
            let atLineStart = index == 0 || text[index - 1] == 0x0A
            if atLineStart, text[index] == 0x2D, Array(text[index..<index + marker.count]) == marker {
                var lineEnd = index + marker.count
                while lineEnd < text.count, text[lineEnd] != 0x0A { lineEnd += 1 }
                starts.append((index, min(lineEnd + 1, text.count)))
                index = lineEnd
            }
            index += 1
        }
        var result: [Data] = []
        for (offset, start) in starts.enumerated() where offset + 1 < starts.count {
            var end = starts[offset + 1].start
            if end > start.lineEnd, text[end - 1] == 0x0A { end -= 1 }
            if end > start.lineEnd, text[end - 1] == 0x0D { end -= 1 }
            if end >= start.lineEnd { result.append(Data(text[start.lineEnd..<end])) }
        }
        return result
    }

    /// A header parameter's value (`boundary="abc"` → `abc`).
    public static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }

    /// A body decoded by its Content-Transfer-Encoding.
    public static func decode(_ body: Data, encoding: String?) -> Data {
        switch encoding?.lowercased().trimmingCharacters(in: .whitespaces) {
        case "base64":
            let text = String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }
            return Data(base64Encoded: text) ?? body
        case "quoted-printable":
            var output: [UInt8] = []
            let bytes = [UInt8](body)
            var index = 0
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "="), index + 1 < bytes.count {
                    if bytes[index + 1] == 0x0A {
                        index += 2
                        continue
                    }
                    if bytes[index + 1] == 0x0D, index + 2 < bytes.count, bytes[index + 2] == 0x0A {
                        index += 3
                        continue
                    }
                    if index + 2 < bytes.count,
                        let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
                    {
                        output.append(value)
                        index += 3
                        continue
                    }
                }
                output.append(bytes[index])
                index += 1
            }
            return Data(output)
        default:
            return body
        }
    }

    /// The text as is when it is printable ASCII, else an RFC 2047 encoded word (UTF-8, base64).
    public static func encodedWord(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) { return text }
        return "=?utf-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// `Mon, 24 Aug 2009 15:00:00 +0000`.
    public static func rfc5322Date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let time = String(
            format: "%02d %04d %02d:%02d:%02d +0000", Int(parts.tm_mday), Int(parts.tm_year) + 1900,
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        let day = time.prefix(2)
        return "\(days[Int(parts.tm_wday)]), \(day) \(months[Int(parts.tm_mon)]) \(time.dropFirst(3))"
    }
}
