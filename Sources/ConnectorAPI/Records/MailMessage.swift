import Foundation

/// A mailbox: display name and address.
public struct MailAddress: Codable, Sendable, Hashable {
    public var name: String?
    public var email: String

    public init(name: String? = nil, email: String) {
        self.name = name
        self.email = email
    }
}

/// Where an attachment's bytes are; they are never required to be in memory as a whole.
public enum AttachmentContent: Codable, Sendable, Hashable {
    /// Small content held inline.
    case inline(Data)
    /// A file on disk (FlowFact directory or a spool file), read as a stream.
    case file(path: String)
    /// Content an adapter fetches on demand, named by an adapter-specific reference.
    case reference(String)
}

/// A file attached to a mail.
public struct MailAttachment: Codable, Sendable, Hashable {
    public var name: String
    public var mediaType: String
    public var size: Int64
    /// Content-ID for inline images referenced from the HTML body.
    public var contentID: String?
    public var content: AttachmentContent

    public init(name: String, mediaType: String, size: Int64, contentID: String? = nil, content: AttachmentContent) {
        self.name = name
        self.mediaType = mediaType
        self.size = size
        self.contentID = contentID
        self.content = content
    }
}

/// Which folder a mail lives in.
public enum MailFolder: String, Codable, Sendable, Hashable { case inbox, sentItems, other }

/// An e-mail: a FlowFact mail activity or an Exchange message.
public struct MailMessage: SyncRecord {
    public static let kind = DataKind.mail

    /// RFC 5322 Message-ID including the angle brackets.
    public var messageID: String?
    public var inReplyTo: String?
    public var references: [String]
    public var from: MailAddress?
    public var to: [MailAddress]
    public var cc: [MailAddress]
    public var bcc: [MailAddress]
    public var subject: String
    public var sentAt: Date?
    public var receivedAt: Date?
    public var textBody: String?
    public var htmlBody: String?
    public var attachments: [MailAttachment]
    public var isRead: Bool
    public var folder: MailFolder
    /// Set by the `mark` deletion policy: the copy on the other side was deleted, this one is kept
    /// and marked (FlowFact links a Merkmal). Nil on records read from a side.
    public var deletedOnOtherSide: Bool?

    public init(
        messageID: String? = nil, inReplyTo: String? = nil, references: [String] = [], from: MailAddress? = nil,
        to: [MailAddress] = [], cc: [MailAddress] = [], bcc: [MailAddress] = [], subject: String,
        sentAt: Date? = nil, receivedAt: Date? = nil, textBody: String? = nil, htmlBody: String? = nil,
        attachments: [MailAttachment] = [], isRead: Bool = false, folder: MailFolder = .inbox,
        deletedOnOtherSide: Bool? = nil
    ) {
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subject = subject
        self.sentAt = sentAt
        self.receivedAt = receivedAt
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.attachments = attachments
        self.isRead = isRead
        self.folder = folder
        self.deletedOnOtherSide = deletedOnOtherSide
    }

    public var displayName: String { subject.isEmpty ? (messageID ?? "(no subject)") : subject }

    /// The message-id in the form used for matching: without angle brackets and surrounding
    /// space, lower-cased; nil when the mail has none.
    public var matchKey: String? { messageID.flatMap(Self.normalizedMessageID) }

    /// A message-id without angle brackets and surrounding space, lower-cased; nil when empty.
    public static func normalizedMessageID(_ text: String) -> String? {
        var trimmed = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if trimmed.hasPrefix("<") { trimmed = trimmed.dropFirst() }
        if trimmed.hasSuffix(">") { trimmed = trimmed.dropLast() }
        let key = trimmed.trimmingCharacters(in: .whitespaces).lowercased()
        return key.isEmpty ? nil : key
    }

    /// The message-ids this mail answers, nearest first: `In-Reply-To`, then `References` from the end.
    public var answeredMessageIDs: [String] {
        var result: [String] = []
        for id in [inReplyTo].compactMap({ $0 }) + references.reversed() {
            if let key = Self.normalizedMessageID(id), !result.contains(key) { result.append(key) }
        }
        return result
    }

    /// The record fields that carry the given state changes after a mail was placed or imported;
    /// everything else of a mail travels only once, when it is created on the other side.
    public static func stateFields(_ changes: Set<MailStateChange>) -> Set<String> {
        changes.contains(.readFlag) ? ["isRead"] : []
    }

    public func validate() -> [String] {
        textBody == nil && htmlBody == nil && subject.isEmpty && attachments.isEmpty ? ["empty mail"] : []
    }
}
