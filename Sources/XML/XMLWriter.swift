/// Writes XML text with correct escaping. Characters XML 1.0 does not allow (most control
/// characters, lone surrogates, U+FFFE/U+FFFF) are dropped, so a stray byte in a CRM note can
/// never make a request unparseable.
public struct XMLWriter: Sendable {
    public private(set) var text = ""
    private var open: [String] = []
    private var startTagOpen = false

    public init(declaration: Bool = true) {
        if declaration { text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>" }
    }

    /// Opens an element. Names are written as given (`t:Contact`); attribute values are escaped.
    public mutating func start(_ name: String, _ attributes: [(String, String)] = []) {
        closeStartTag()
        text += "<" + name
        for (key, value) in attributes { text += " \(key)=\"\(Self.escape(value, attribute: true))\"" }
        startTagOpen = true
        open.append(name)
    }

    /// Appends escaped text to the current element.
    public mutating func text(_ value: String) {
        guard !value.isEmpty else { return }
        closeStartTag()
        text += Self.escape(value, attribute: false)
    }

    /// Closes the innermost open element (as `<x/>` when it is empty).
    public mutating func end() {
        guard let name = open.popLast() else { return }
        if startTagOpen {
            text += "/>"
            startTagOpen = false
        } else {
            text += "</\(name)>"
        }
    }

    /// `<name attributes>text</name>`.
    public mutating func element(_ name: String, _ value: String, _ attributes: [(String, String)] = []) {
        start(name, attributes)
        text(value)
        end()
    }

    /// An element only when `value` is not nil.
    public mutating func element(_ name: String, ifPresent value: String?) {
        if let value { element(name, value) }
    }

    /// Writes `body` inside an element.
    public mutating func element(
        _ name: String, _ attributes: [(String, String)] = [], _ body: (inout XMLWriter) -> Void
    ) {
        start(name, attributes)
        body(&self)
        end()
    }

    /// Inserts already well-formed XML (from another writer).
    public mutating func raw(_ xml: String) {
        closeStartTag()
        text += xml
    }

    private mutating func closeStartTag() {
        if startTagOpen {
            text += ">"
            startTagOpen = false
        }
    }

    /// The UTF-8 bytes of the document so far (closing nothing).
    public var data: [UInt8] { Array(text.utf8) }

    /// Escapes markup characters and drops characters XML 1.0 forbids.
    public static func escape(_ value: String, attribute: Bool) -> String {
        // Most values need nothing escaped or dropped: check the bytes once and return the value as is.
        // (0xEF leads the only characters above ASCII that XML 1.0 forbids, U+FFFE and U+FFFF; values
        // with it take the careful path.)
        if value.utf8.allSatisfy({ byte in
            byte >= 0x20 && byte != UInt8(ascii: "&") && byte != UInt8(ascii: "<") && byte != UInt8(ascii: ">")
                && byte != UInt8(ascii: "\"") && byte != 0xEF
        }) {
            return value
        }
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where attribute: result += "&quot;"
            case "\n" where attribute: result += "&#10;"
            case "\r": result += "&#13;"
            case "\t" where attribute: result += "&#9;"
            default:
                if isAllowed(scalar) { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }

    /// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    public static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
