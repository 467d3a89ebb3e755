import CLibXML2
import Foundation
import Synchronization

/// One schema violation.
public struct XMLValidationError: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// Validates documents against an XML Schema, compiled once and reused (libxml2).
///
/// Schema imports are read from local files only; no network access ever happens.
public final class XMLSchemaValidator: @unchecked Sendable {
    let schema: xmlSchemaPtr
    let lock = NSLock()
    public let path: String

    /// Compiles the schema at `path` (for EWS: the wrapper `ews-2010sp2-envelope.xsd`).
    public init(path: String) throws {
        Self.installLocalOnlyLoader()
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XMLParseError(line: 0, message: "schema file not found: \(path)")
        }
        guard let parserContext = xmlSchemaNewParserCtxt(path) else {
            throw XMLParseError(line: 0, message: "cannot read schema \(path)")
        }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        let collector = Collector()
        xmlSchemaSetParserStructuredErrors(
            parserContext, Collector.callback, Unmanaged.passUnretained(collector).toOpaque())
        guard let compiled = xmlSchemaParse(parserContext) else {
            throw XMLParseError(
                line: 0,
                message: "cannot compile schema \(path): "
                    + collector.errors.prefix(3).map(\.description).joined(separator: "; "))
        }
        schema = compiled
    }

    deinit { xmlSchemaFree(schema) }

    /// The violations of `data` (empty when it is valid); a malformed document gives one error.
    public func validate(_ data: Data) -> [XMLValidationError] {
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil {
            return [XMLValidationError(line: 1, message: "a document type declaration (DTD) is not allowed")]
        }
        return lock.withLock {
            // Most documents are valid: a streaming pass without a tree says so at a fraction of
            // the cost. Anything else is validated again as a tree, for the exact messages.
            if validatesStreaming(data) { return [] }
            let collector = Collector()
            // XML_PARSE_HUGE lifts libxml2's 10 MB limit on one text node, which a 25 MB file
            // attachment (33 MB of base64 in one element) exceeds. Safe here: a document with a
            // DTD was refused above and entities are never substituted.
            let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_HUGE.rawValue)
            let document = data.withUnsafeBytes { bytes in
                xmlReadMemory(
                    bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), "document.xml", "utf-8",
                    options)
            }
            guard let document else {
                return [XMLValidationError(line: 0, message: "the document is not well-formed XML")]
            }
            defer { xmlFreeDoc(document) }
            guard let context = xmlSchemaNewValidCtxt(schema) else {
                return [XMLValidationError(line: 0, message: "cannot create a validation context")]
            }
            defer { xmlSchemaFreeValidCtxt(context) }
            xmlSchemaSetValidStructuredErrors(
                context, Collector.callback, Unmanaged.passUnretained(collector).toOpaque())
            let rc = xmlSchemaValidateDoc(context, document)
            if rc != 0 && collector.errors.isEmpty {
                return [XMLValidationError(line: 0, message: "invalid (libxml2 code \(rc))")]
            }
            return collector.errors
        }
    }

    /// True when `data` is valid by a streaming (SAX) pass; false on any problem, or for documents
    /// near libxml2's 10 MB limit on one text node, which only the tree pass lifts.
    func validatesStreaming(_ data: Data) -> Bool {
        guard data.count < 9_000_000, let context = xmlSchemaNewValidCtxt(schema) else { return false }
        defer { xmlSchemaFreeValidCtxt(context) }
        // This pass says nothing (neither validation nor parser messages); the tree pass reports
        // what is wrong.
        xmlSchemaSetValidStructuredErrors(context, { _, _ in }, nil)
        xmlSetStructuredErrorFunc(nil) { _, _ in }
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        return data.withUnsafeBytes { bytes in
            guard
                let input = xmlParserInputBufferCreateMem(
                    bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), XML_CHAR_ENCODING_NONE)
            else { return false }
            // The parser created for the pass takes the input buffer and frees it.
            return xmlSchemaValidateStream(context, input, XML_CHAR_ENCODING_NONE, nil, nil) == 0
        }
    }

    final class Collector {
        var errors: [XMLValidationError] = []
        static let callback: xmlStructuredErrorFunc = { context, error in
            guard let context, let error else { return }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            let message =
                error.pointee.message.map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines)
                ?? "invalid"
            collector.errors.append(XMLValidationError(line: Int(error.pointee.line), message: message))
        }
    }

    static let loaderInstalled = Mutex(false)

    /// Makes libxml2 refuse every external resource that is not a local file.
    static func installLocalOnlyLoader() {
        loaderInstalled.withLock { installed in
            guard !installed else { return }
            installed = true
            xmlSetExternalEntityLoader { url, id, context in
                guard let url else { return nil }
                let text = String(cString: url)
                if text.contains("://") && !text.hasPrefix("file://") { return nil }
                return xmlNoNetExternalEntityLoader(url, id, context)
            }
        }
    }
}
