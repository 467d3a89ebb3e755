import ExchangeWebDAV
import Foundation

/// Mail over WebDAV: a message's MIME read into the properties Exchange promotes (subject,
/// addresses, dates, ids, bodies) and its attachments, and the MIME made back from them.
enum SimDAVMail {
    struct Read {
        var properties: [String: DAVValue]
        var attachments: [SimDAVAttachment]
    }

    static func read(_ mime: Data) -> Read {
        let (headers, _) = DAVMIME.split(mime)
        var properties: [String: DAVValue] = [
            DAVProperty.messageClass: .string("IPM.Note"),
            DAVProperty.read: .bool(false),
        ]
        let subject = decodeWords(headers["subject"] ?? "")
        properties[DAVProperty.subject] = .string(subject)
        if let from = headers["from"].map(decodeWords) {
            properties[DAVProperty.from] = .string(from)
            let (name, email) = splitAddress(from)
            properties[DAVProperty.fromEmail] = .string(email)
            if let name { properties[DAVProperty.fromName] = .string(name) }
        }
        if let to = headers["to"] { properties[DAVProperty.to] = .string(decodeWords(to)) }
        if let cc = headers["cc"] { properties[DAVProperty.cc] = .string(decodeWords(cc)) }
        if let date = headers["date"].flatMap(parseDate) { properties[DAVProperty.date] = .date(date) }
        if let id = headers["message-id"] { properties[DAVProperty.messageID] = .string(id) }
        if let id = headers["in-reply-to"] { properties[DAVProperty.inReplyTo] = .string(id) }
        if let references = headers["references"] { properties[DAVProperty.references] = .string(references) }
        var attachments: [SimDAVAttachment] = []
        collect(mime, into: &properties, attachments: &attachments, depth: 0)
        properties[DAVProperty.hasAttachment] = .bool(!attachments.isEmpty)
        return Read(properties: properties, attachments: attachments)
    }

    /// Walks the MIME tree: the first text/plain and text/html parts are the bodies, parts with a
    /// file name are attachments.
    static func collect(
        _ entity: Data, into properties: inout [String: DAVValue], attachments: inout [SimDAVAttachment], depth: Int
    ) {
        guard depth < 8 else { return }
        let (headers, body) = DAVMIME.split(entity)
        let type = headers["content-type"] ?? "text/plain"
        let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if media.hasPrefix("multipart/"), let boundary = DAVMIME.parameter("boundary", in: type) {
            for part in DAVMIME.parts(of: body, boundary: boundary) {
                collect(part, into: &properties, attachments: &attachments, depth: depth + 1)
            }
            return
        }
        let decoded = DAVMIME.decode(body, encoding: headers["content-transfer-encoding"])
        let disposition = headers["content-disposition"] ?? ""
        let fileName = (DAVMIME.parameter("filename", in: disposition) ?? DAVMIME.parameter("name", in: type)).map(
            decodeWords)
        if let fileName, !fileName.isEmpty || disposition.lowercased().hasPrefix("attachment") {
            var id = headers["content-id"]?.trimmingCharacters(in: .whitespaces)
            if id?.hasPrefix("<") == true, id?.hasSuffix(">") == true { id = String(id!.dropFirst().dropLast()) }
            attachments.append(SimDAVAttachment(name: fileName, contentType: media, contentID: id, content: decoded))
            return
        }
        if media == "text/plain", properties[DAVProperty.textDescription] == nil {
            properties[DAVProperty.textDescription] = .string(String(decoding: decoded, as: UTF8.self))
        } else if media == "text/html", properties[DAVProperty.htmlDescription] == nil {
            properties[DAVProperty.htmlDescription] = .string(String(decoding: decoded, as: UTF8.self))
        }
    }

    /// `"Name" <a@b>` → (Name, a@b); a bare address → (nil, address).
    static func splitAddress(_ text: String) -> (String?, String) {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else {
            return (nil, text.trimmingCharacters(in: .whitespaces))
        }
        let email = String(text[text.index(after: open)..<close])
        var name = text[..<open].trimmingCharacters(in: .whitespaces)
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        return (name.isEmpty ? nil : name, email)
    }

    /// RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`) decoded.
    static func decodeWords(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var result = ""
        var rest = Substring(text)
        var afterWord = false
        while let start = rest.range(of: "=?") {
            let pieces = rest[start.upperBound...].split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard pieces.count == 4, pieces[3].hasPrefix("=") else { break }
            let before = rest[..<start.lowerBound]
            // Space between two encoded words is not part of the text.
            if !(afterWord && before.allSatisfy(\.isWhitespace)) { result += before }
            let charset = pieces[0].lowercased()
            let payload = String(pieces[2])
            let bytes: Data? =
                switch pieces[1].uppercased() {
                case "B": Data(base64Encoded: payload)
                case "Q":
                    DAVMIME.decode(
                        Data(payload.replacingOccurrences(of: "_", with: " ").utf8), encoding: "quoted-printable")
                default: nil
                }
            guard let bytes else { break }
            let latin = charset.contains("8859") || charset.contains("1252")
            result +=
                (latin ? String(data: bytes, encoding: .isoLatin1) : String(data: bytes, encoding: .utf8))
                ?? String(decoding: bytes, as: UTF8.self)
            rest = pieces[3].dropFirst()
            afterWord = true
        }
        return result + rest
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        for format in ["EEE, d MMM yyyy HH:mm:ss Z", "d MMM yyyy HH:mm:ss Z", "EEE, d MMM yyyy HH:mm Z"] {
            formatter.dateFormat = format
            let cleaned = text.replacingOccurrences(of: "\\s*\\(.*\\)$", with: "", options: .regularExpression)
            if let date = formatter.date(from: cleaned.trimmingCharacters(in: .whitespaces)) { return date }
        }
        return nil
    }

    /// The RFC 822 form Exchange makes of a mail held as properties, with its attachments.
    static func message(_ item: SimDAVItem) -> Data {
        let properties = item.properties
        var text = ""
        if let from = properties[DAVProperty.from]?.string { text += "From: \(DAVMIME.encodedWord(from))\r\n" }
        if let to = properties[DAVProperty.to]?.string { text += "To: \(DAVMIME.encodedWord(to))\r\n" }
        if let cc = properties[DAVProperty.cc]?.string { text += "Cc: \(DAVMIME.encodedWord(cc))\r\n" }
        text += "Subject: \(DAVMIME.encodedWord(properties[DAVProperty.subject]?.string ?? ""))\r\n"
        text += "Date: \(DAVMIME.rfc5322Date(properties[DAVProperty.date]?.date ?? item.created))\r\n"
        if let id = properties[DAVProperty.messageID]?.string { text += "Message-ID: \(id)\r\n" }
        if let id = properties[DAVProperty.inReplyTo]?.string { text += "In-Reply-To: \(id)\r\n" }
        text += "MIME-Version: 1.0\r\n"
        let body = properties[DAVProperty.textDescription]?.string ?? ""
        let bodyPart =
            "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Data(body.utf8).base64EncodedString(options: [
                .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
            ])
            + "\r\n"
        guard !item.attachments.isEmpty else { return Data((text + bodyPart).utf8) }
        let boundary = "----=_sim_\(item.replUID.suffix(10))"
        text += "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\n--\(boundary)\r\n" + bodyPart
        for attachment in item.attachments {
            text +=
                "--\(boundary)\r\nContent-Type: \(attachment.contentType); name=\"\(DAVMIME.encodedWord(attachment.name))\"\r\n"
            text += "Content-Disposition: attachment; filename=\"\(DAVMIME.encodedWord(attachment.name))\"\r\n"
            if let id = attachment.contentID { text += "Content-ID: <\(id)>\r\n" }
            text += "Content-Transfer-Encoding: base64\r\n\r\n"
            text +=
                attachment.content.base64EncodedString(options: [
                    .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
                ]) + "\r\n"
        }
        text += "--\(boundary)--\r\n"
        return Data(text.utf8)
    }
}
