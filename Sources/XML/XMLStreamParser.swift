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
/// The text of elements chosen by `streamText` is not collected: it goes to an ``XMLTextSink`` in
/// pieces as libxml2 reports it (e.g. ``Base64StreamDecoder`` writing an attachment to a file),
/// and the element itself is built, delivered or kept as usual with empty ``XMLElement/text``.
///
/// Security: no DTD is accepted (a document with a DOCTYPE is refused), no entity is expanded
/// beyond XML's five predefined ones, and the network is never used.
///
/// Size limits: libxml2's default limits stay on (XML_PARSE_HUGE is not set). They cap what the
/// parser must hold whole: names (50,000 bytes), nesting depth (256), attribute values and
/// comments (10,000,000 bytes each), and how far ahead it may look for the end of a tag (10,000,000
/// bytes). HUGE would lift all of them at once, including those that protect against deeply nested
/// or pathological documents. It is not needed for large text: libxml2's 10,000,000-byte text
/// limit applies where libxml2 builds a tree itself (its own SAX2 characters handler), which this
/// parser replaces; the push parser reports character data in pieces as it parses (its input
/// buffer stays near the size of one fed chunk), so a 33 MB base64 text node is accepted, and with
/// `streamText` never held whole.
public final class XMLStreamParser {
    /// Decides, for an element's path of local names from the root (including the element),
    /// whether its subtree is delivered on its own.
    public typealias Selector = (_ path: [String]) -> Bool
    public typealias Handler = (_ element: XMLElement, _ path: [String]) throws -> Void
    /// Decides, for an element's path of local names from the root (including the element), whether
    /// its text goes to a sink instead of ``XMLElement/text``: returns the sink, or `nil`.
    public typealias TextStreamSelector = (_ path: [String]) -> (any XMLTextSink)?

    let deliver: Selector
    let onElement: Handler
    let streamText: TextStreamSelector
    /// The element whose text is being streamed: its depth (stack count), sink and path.
    var textStream: (depth: Int, sink: any XMLTextSink, path: [String])?
    var context: xmlParserCtxtPtr?
    var handler = xmlSAXHandler()
    /// Elements under construction, innermost last; `delivered` marks the depth at which a
    /// delivered subtree starts (elements inside it are not selectable again).
    var stack: [XMLElement] = []
    var path: [String] = []
    var deliveredDepth: Int?
    var root: XMLElement?
    var failure: Error?
    /// The most input libxml2 has held at once after a chunk was parsed (for tests).
    var peakBufferedInput = 0

    /// A parser.
    ///
    /// - Parameters:
    ///   - deliver: chooses the elements whose subtrees go to `onElement` on their own.
    ///   - onElement: receives each chosen subtree when it closes, with its path.
    ///   - streamText: chooses the elements whose own text (not their children's) goes to the sink
    ///     it returns, in pieces, followed by ``XMLTextSink/finish()`` when the element closes.
    ///     Inside an element whose text is streamed, no other is chosen. An error thrown by the sink
    ///     stops the parse with an ``XMLParseError`` naming the element.
    public init(
        deliver: @escaping Selector = { _ in false }, onElement: @escaping Handler = { _, _ in },
        streamText: @escaping TextStreamSelector = { _ in nil }
    ) {
        self.deliver = deliver
        self.onElement = onElement
        self.streamText = streamText
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
        if textStream == nil, let sink = streamText(path) { textStream = (stack.count, sink, path) }
    }

    /// Stops the parse because the sink of a streamed element failed.
    func sinkFailed(_ error: Error, path: [String]) {
        refuse("the text of element \(path.joined(separator: "/")) could not be streamed: \(error)")
    }

    func end() {
        if let stream = textStream, stream.depth == stack.count {
            textStream = nil
            if failure == nil {
                do { try stream.sink.finish() } catch { sinkFailed(error, path: stream.path) }
            }
        }
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
        if let stream = textStream, stream.depth == stack.count {
            do { try stream.sink.write(UnsafeRawBufferPointer(start: characters, count: length)) } catch {
                sinkFailed(error, path: stream.path)
            }
            return
        }
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
            if let input = context?.pointee.input, let base = input.pointee.base, let end = input.pointee.end {
                peakBufferedInput = max(peakBufferedInput, end - base)
            }
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
        // No network, no entity substitution, no DTD loading; libxml2's size limits stay (no
        // XML_PARSE_HUGE, see the type's documentation).
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

/// Receives the text of an element chosen by ``XMLStreamParser``'s `streamText`, in pieces.
public protocol XMLTextSink: AnyObject {
    /// The next piece of the element's own text as UTF-8, entity and character references resolved.
    /// Pieces are as libxml2 reports them: their boundaries carry no meaning, and may in principle
    /// fall inside a multi-byte character. The bytes are valid only during the call.
    func write(_ text: UnsafeRawBufferPointer) throws
    /// The element has closed: no more text follows.
    func finish() throws
}
