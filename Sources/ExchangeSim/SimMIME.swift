import EWS
import Foundation
import XML

/// The MIME form (RFC 5322 with MIME parts) of an item the simulator holds only as properties, as
/// Exchange produces `MimeContent` from the properties of a stored item: the address and date
/// headers, the message ids, and the body as one base64 part in its own type.
enum SimMIME {
    /// The message text of `item` (a `Message` or any other item element with EWS properties).
    static func message(from item: XMLElement, now: Date = Date()) -> Data {
        var headers: [(String, String)] = []
        let from = item.child("From")?.child("Mailbox") ?? item.child("Sender")?.child("Mailbox")
        if let from { headers.append(("From", address(from))) }
        for (field, container) in [("To", "ToRecipients"), ("Cc", "CcRecipients")] {
            let mailboxes = item.child(container)?.children("Mailbox") ?? []
            if !mailboxes.isEmpty { headers.append((field, mailboxes.map(address).joined(separator: ", "))) }
        }
        headers.append(("Subject", encodedWord(item.string("Subject") ?? "")))
        headers.append(("Date", rfc5322Date(sentDate(item) ?? now)))
        if let id = item.string("InternetMessageId") { headers.append(("Message-ID", id)) }
        if let id = item.string("InReplyTo") { headers.append(("In-Reply-To", id)) }
        if let references = item.string("References") { headers.append(("References", references)) }
        let body = item.child("Body")
        let html = body?.attributes["BodyType"] == "HTML"
        headers.append(("MIME-Version", "1.0"))
        headers.append(("Content-Type", "\(html ? "text/html" : "text/plain"); charset=\"utf-8\""))
        headers.append(("Content-Transfer-Encoding", "base64"))
        var text = headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        let encoded = Data((body?.text ?? "").utf8).base64EncodedString(options: [.lineLength76Characters])
        text += encoded.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        text += "\r\n"
        return Data(text.utf8)
    }

    /// `"Name" <address>`, or the bare address; a name with other than printable ASCII as an encoded word.
    static func address(_ mailbox: XMLElement) -> String {
        let email = mailbox.string("EmailAddress") ?? ""
        guard let name = mailbox.string("Name"), !name.isEmpty, name != email else { return email }
        let printable = name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
        let quoted =
            printable
            ? "\"\(name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
            : encodedWord(name)
        return "\(quoted) <\(email)>"
    }

    /// The text as is when it is printable ASCII, else as an RFC 2047 encoded word (UTF-8, base64).
    static func encodedWord(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) { return text }
        return "=?utf-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// When the item was sent: `DateTimeSent` if given, else PR_CLIENT_SUBMIT_TIME.
    static func sentDate(_ item: XMLElement) -> Date? {
        item.string("DateTimeSent").flatMap(EWSDate.parse)
            ?? SimService.extendedValue(SimService.Tag.clientSubmitTime, in: item.children).flatMap(EWSDate.parse)
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
