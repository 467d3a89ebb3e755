import CLibXML2
import Foundation

/// Why a document could not be read.
public struct XMLParseError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "XML error at line \(line): \(message)" }
}

/// A streaming (push) parser over libxml2's SAX2 interface.
///
/// Feed it bytes as they arrive. Elements chosen by `deliver` are built as small trees and handed
/// to `onElement` as soon as they close, and then dropped, so a 20 MB response of many items never
/// exists as one tree. Everything else is kept and returned by `finish()`.
///
/// Security: no DTD is accepted (a document with a DOCTYPE is refused), no entity is expanded
/// beyond XML's five predefined ones, and the network is never used.
public final class XMLStreamParser {
    /// Decides, for an element's path of local names from the root (including the element),
    /// whether its subtree is delivered on its own.
    public typealias Selector = (_ path: [String]) -> Bool
    public typealias Handler = (_ element: XMLElement, _ path: [String]) throws -> Void

    let deliver: Selector
    let onElement: Handler
    var context: xmlParserCtxtPtr?
    var handler = xmlSAXHandler()
    /// Elements under construction, innermost last; `delivered` marks the depth at which a
    /// delivered subtree starts (elements inside it are not selectable again).
    var stack: [XMLElement] = []
    var path: [String] = []
    var deliveredDepth: Int?
    var root: XMLElement?
    var failure: Error?

    public init(deliver: @escaping Selector = { _ in false }, onElement: @escaping Handler = { _, _ in }) {
        self.deliver = deliver
        self.onElement = onElement
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = { ctx, localname, _, uri, _, _, count, _, attributes in
            guard let ctx else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue()
            parser.start(localname: localname, uri: uri, count: Int(count), attributes: attributes)
        }
        handler.endElementNs = { ctx, _, _, _ in
            guard let ctx else { return }
            Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue().end()
        }
        handler.characters = { ctx, characters, length in
            guard let ctx, let characters else { return }
            Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue().characters(characters, Int(length))
        }
        handler.cdataBlock = handler.characters
        handler.internalSubset = { ctx, _, _, _ in
            guard let ctx else { return }
            Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue().refuse(
                "a document type declaration (DTD) is not allowed")
        }
        handler.entityDecl = { ctx, _, _, _, _, _ in
            guard let ctx else { return }
            Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue().refuse(
                "entity declarations are not allowed")
        }
        handler.serror = { ctx, error in
            guard let ctx, let error else { return }
            let parser = Unmanaged<XMLStreamParser>.fromOpaque(ctx).takeUnretainedValue()
            guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, parser.failure == nil else { return }
            let message =
                error.pointee.message.map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines)
                ?? "malformed XML"
            parser.failure = XMLParseError(line: Int(error.pointee.line), message: message)
        }
    }

    deinit {
        if let context { xmlFreeParserCtxt(context) }
    }

    var line: Int { context.map { Int(xmlSAX2GetLineNumber(UnsafeMutableRawPointer($0))) } ?? 0 }

    func refuse(_ message: String) {
        if failure == nil { failure = XMLParseError(line: line, message: message) }
        if let context { xmlStopParser(context) }
    }

    func start(
        localname: UnsafePointer<xmlChar>?, uri: UnsafePointer<xmlChar>?, count: Int,
        attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    ) {
        guard failure == nil else { return }
        let name = localname.map { String(cString: $0) } ?? ""
        var element = XMLElement(name: name, namespace: uri.map { String(cString: $0) }, line: line)
        if let attributes {
            for index in 0..<count {
                let base = index * 5
                guard let key = attributes[base], let value = attributes[base + 3], let end = attributes[base + 4]
                else { continue }
                let bytes = UnsafeBufferPointer(start: value, count: end - value)
                // Without entity substitution libxml2 hands `&` in attribute values over as `&#38;`.
                let text = String(decoding: bytes, as: UTF8.self)
                element.attributes[String(cString: key)] =
                    bytes.contains(UInt8(ascii: "&")) ? text.replacingOccurrences(of: "&#38;", with: "&") : text
            }
        }
        path.append(name)
        stack.append(element)
        if deliveredDepth == nil, deliver(path) { deliveredDepth = stack.count }
    }

    func end() {
        guard failure == nil, let element = stack.popLast() else { return }
        defer { path.removeLast() }
        if let depth = deliveredDepth, depth == stack.count + 1 {
            deliveredDepth = nil
            do { try onElement(element, path) } catch {
                refuse("\(error)")
                failure = error
            }
            return
        }
        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
    }

    func characters(_ characters: UnsafePointer<xmlChar>, _ length: Int) {
        guard failure == nil, !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(
            decoding: UnsafeBufferPointer(start: characters, count: length), as: UTF8.self)
    }

    /// Parses the next chunk of the document.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws {
        try ensureContext()
        if let failure { throw failure }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, 1 << 20)
            let rc = xmlParseChunk(context, base + offset, Int32(length), 0)
            if let failure { throw failure }
            if rc != 0 { throw XMLParseError(line: line, message: "malformed XML (libxml2 error \(rc))") }
            offset += length
        }
    }

    public func feed(_ data: Data) throws { try data.withUnsafeBytes { try feed($0) } }

    /// Ends the document and returns its root (without the delivered subtrees).
    @discardableResult
    public func finish() throws -> XMLElement {
        try ensureContext()
        if let failure { throw failure }
        let rc = xmlParseChunk(context, nil, 0, 1)
        if let failure { throw failure }
        if rc != 0 { throw XMLParseError(line: line, message: "malformed XML (libxml2 error \(rc))") }
        guard let root else { throw XMLParseError(line: line, message: "the document has no root element") }
        return root
    }

    func ensureContext() throws {
        guard context == nil else { return }
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard let created = xmlCreatePushParserCtxt(&handler, me, nil, 0, nil) else {
            throw XMLParseError(line: 0, message: "cannot create an XML parser")
        }
        // No network, no entity substitution, no DTD loading; huge text nodes stay refused.
        xmlCtxtUseOptions(created, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue))
        context = created
    }

    /// Parses a whole document and returns its tree.
    public static func parse(_ data: Data) throws -> XMLElement {
        let parser = XMLStreamParser()
        try parser.feed(data)
        return try parser.finish()
    }

    public static func parse(_ text: String) throws -> XMLElement { try parse(Data(text.utf8)) }
}
