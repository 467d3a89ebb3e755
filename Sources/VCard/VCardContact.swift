import ConnectorAPI
import Foundation
import ICalendar

/// The vCard versions this library writes and reads.
public enum VCardVersion: String, Sendable, Hashable, CaseIterable {
    /// vCard 3.0 (RFC 2426), what most CardDAV servers and clients exchange.
    case v3 = "3.0"
    /// vCard 4.0 (RFC 6350).
    case v4 = "4.0"
}

/// Converts between an ``Address`` and a vCard (RFC 2426 3.0, RFC 6350 4.0), on ICalendar's
/// content-line parser and writer.
///
/// The mapping, both ways:
/// - `N` is `familyName;givenName;middleName;title;` (the prefix holds the title, the additional
///   names the middle name); the suffix is read but not kept. `FN` is derived: "title given middle
///   family", else the company, else the first e-mail address.
/// - `ORG` is `company;department`, `TITLE` the job title, `URL` the web page, `NOTE` the notes,
///   `CATEGORIES` the categories, `BDAY` the birthday (3.0 `1975-04-12`, 4.0 `19750412`).
/// - `X-SALUTATION` holds the salutation ("Herr", "Frau"): vCard has no property for it.
/// - `EMAIL`, in order of preference: 3.0 `TYPE=INTERNET,PREF` on the first, 4.0 `PREF=1`, `PREF=2`, ….
/// - `ADR;TYPE=work`, `home` and `other` hold the business, home and other address
///   (`;;street;city;state;postal code;country`).
/// - `TEL` by `TYPE`: business `work,voice`, home `home`, mobile `cell`, business fax `work,fax`,
///   pager `pager`, car `car`, other `other`. vCard has no type for the rest, so this library
///   chooses: the assistant's number is `TYPE=x-assistant`, the second business and home numbers
///   carry `x-business2` and `x-home2` beside `work,voice` and `home` (other software shows them as
///   ordinary work and home numbers). Reading also takes Evolution's `x-evolution-assistant` and an
///   Apple `X-ABLabel` naming an assistant; a second unmarked work or home number is the second one.
///   3.0 writes type names upper-case (`TYPE=WORK,VOICE`), 4.0 lower-case in one quoted value
///   (`TYPE="work,voice"`).
public enum VCardContact {
    /// A contact read from a vCard, with what a store keeps beside it.
    public struct ParsedContact: Sendable, Hashable {
        /// The address.
        public var address: Address
        /// `UID`, when given.
        public var uid: String?
        /// The vCard's version; 2.1 and a card without `VERSION` read as ``VCardVersion/v3``.
        public var version: VCardVersion
        /// `REV`, when given and readable.
        public var revision: Date?
        /// The properties the address does not hold (`PHOTO`, `NICKNAME`, a fourth e-mail address,
        /// a partial birthday, `X-` properties, …), in input order with their groups and parameters,
        /// so that a writer can keep them (``VCardContact/write(_:uid:version:extra:)``'s `extra`).
        /// `VERSION`, `PRODID`, `UID`, `REV`, `FN`, `N` and the properties grouped with a mapped one
        /// (an Apple `X-ABLabel`) are left out.
        public var unknown: [ICalProperty]

        /// A parsed contact.
        public init(
            address: Address, uid: String?, version: VCardVersion = .v3, revision: Date? = nil,
            unknown: [ICalProperty] = []
        ) {
            self.address = address
            self.uid = uid
            self.version = version
            self.revision = revision
            self.unknown = unknown
        }
    }

    /// The `PRODID` this library writes.
    public static let productID = "-//connector-host//VCard//EN"

    /// A complete vCard (`BEGIN:VCARD` … `END:VCARD`) of the address: CRLF line ends, lines folded
    /// at 75 octets between UTF-8 sequences, text values escaped.
    ///
    /// - Parameters:
    ///   - address: The address; empty strings are left out like nil.
    ///   - uid: The `UID`.
    ///   - version: 3.0 or 4.0.
    ///   - extra: Properties written after the mapped ones as they are, such as
    ///     `X-CONNECTOR-SYNCKEY` or the ``ParsedContact/unknown`` properties of the card it replaces.
    public static func write(
        _ address: Address, uid: String, version: VCardVersion = .v3, extra: [ICalProperty] = []
    ) -> String {
        VCardWriter(address: address, version: version).card(uid: uid, extra: extra).serialized()
    }

    /// Reads one vCard: 4.0, 3.0 and 2.1 (parameters without `TYPE=` such as `TEL;WORK;VOICE:`,
    /// `QUOTED-PRINTABLE` values with soft line breaks and `CHARSET`), Apple's `item1.` groups,
    /// names and parameters in any case, CRLF, LF or CR line ends.
    ///
    /// - Throws: ``VCardError`` naming the line for text that is not a vCard (no `BEGIN:VCARD`),
    ///   malformed content lines, a missing `END:VCARD` and an unknown `VERSION`.
    public static func read(_ text: String) throws -> ParsedContact {
        try VCardReader(card: VCardText.parse(text)).read()
    }
}

/// Why a vCard could not be read: the line it happened on (1-based, the first physical line of a
/// folded line) when known, and a reason that names the offending text.
public struct VCardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line of the input, or nil when the problem is not tied to one line.
    public var line: Int?
    /// What is wrong.
    public var reason: String

    /// An error at `line` (nil when not tied to a line) with a human-readable `reason`.
    public init(line: Int?, _ reason: String) {
        self.line = line
        self.reason = reason
    }

    /// "line 12: reason", or just the reason when no line is known.
    public var description: String {
        if let line { return "line \(line): \(reason)" }
        return reason
    }
}
