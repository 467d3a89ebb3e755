import Foundation
import XML

/// One `<response>` of a 207 Multi-Status: the resource's href, its own status when it has one
/// (`201 Created` for a PROPPATCH that created the item), and its properties by full name.
public struct DAVResponse: Sendable, Hashable {
    /// The href as sent (absolute or a path, percent-encoded).
    public var href: String
    /// The resource-level `<status>`, if any.
    public var status: Int?
    /// Properties of the `200` propstats by full name (a SEARCH column selected `AS alias` by its
    /// alias). Named MAPI properties by their canonical name (``DAVPropertyName/canonical(_:)``).
    public var properties: [String: DAVValue]
    /// Properties reported with another status (404 for absent ones, 403/409 for a refused
    /// PROPPATCH), by full name.
    public var failed: [String: Int]
    /// A `<responsedescription>` or `<error>` text, if any.
    public var description: String?

    public init(
        href: String, status: Int? = nil, properties: [String: DAVValue] = [:], failed: [String: Int] = [:],
        description: String? = nil
    ) {
        self.href = href
        self.path = DAVPath.path(of: href)
        self.status = status
        self.properties = properties
        self.failed = failed
        self.description = description
    }

    /// The path of `href` (an absolute href loses its scheme and host), percent-decoded.
    public let path: String

    public subscript(_ name: String) -> DAVValue? { properties[name] }
}

/// Reading a 207 Multi-Status body.
public enum DAVMultistatus {
    /// Every response of the body, in order. Exchange's digit-leading element names are repaired
    /// first; a body that is not a `DAV:multistatus` is an error naming what the root was.
    public static func parse(_ data: Data) throws -> [DAVResponse] {
        var responses: [DAVResponse] = []
        try parse(data) { responses.append($0) }
        return responses
    }

    /// Streams the responses to `each` as they close, so a large SEARCH answer is never held whole.
    public static func parse(_ data: Data, each: @escaping (DAVResponse) throws -> Void) throws {
        let parser = XMLStreamParser(
            deliver: { $0.count == 2 && $0[1] == "response" },
            onElement: { element, _ in try each(response(element)) })
        try parser.feed(DAVXMLRepair.escapeDigitLeadingNames(data))
        let root = try parser.finish()
        guard root.name == "multistatus", root.namespace == DAVNamespace.dav else {
            throw XMLParseError(
                line: root.line,
                message: "expected a DAV: multistatus, found <\(root.name)> in \(root.namespace ?? "no namespace")")
        }
    }

    static func response(_ element: XMLElement) -> DAVResponse {
        var result = DAVResponse(href: element.string("href")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        result.status = element.string("status").flatMap(statusCode)
        result.description = element.string("responsedescription")
        for propstat in element.children("propstat") {
            let status = propstat.string("status").flatMap(statusCode) ?? 200
            for property in propstat.child("prop")?.children ?? [] {
                let name = DAVPropertyName.canonical(
                    (property.namespace ?? "") + DAVPropertyName.decodeLocalName(property.name))
                if status == 200 {
                    result.properties[name] = DAVValue.parse(property)
                } else {
                    result.failed[name] = status
                }
            }
        }
        return result
    }

    /// `HTTP/1.1 404 Resource Not Found` → 404.
    public static func statusCode(_ line: String) -> Int? {
        let parts = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard parts.count >= 2 else { return nil }
        return Int(parts[1])
    }
}

/// Percent-encoding of WebDAV paths and the path of an href.
public enum DAVPath {
    /// The path of an absolute or relative href, percent-decoded.
    public static func path(of href: String) -> String {
        var rest = Substring(href)
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            rest = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        return String(rest).removingPercentEncoding ?? String(rest)
    }

    /// A path with each segment percent-encoded as Exchange writes hrefs (spaces, umlauts, `#`, `%`
    /// … encoded; `/` kept).
    public static func encode(_ path: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "/-._~!$&'()*+,;=:@")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
