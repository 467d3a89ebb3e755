import ExchangeWebDAV
import Foundation
import XML

/// Writes a 207 Multi-Status as Exchange 2003/2007 does: prefixes declared on the root (`a` for
/// `DAV:`, `b` for the data types, `c` for `xml:` values, then one per namespace in order of use),
/// typed values with `b:dt`, multi-valued ones as `<c:v>`, each propstat's `<a:status>` before its
/// `<a:prop>`, 404 propstats for absent properties (left out under `Brief: t`), and named MAPI
/// properties under element names that start with a digit (`<d:0x8101>`), which Exchange sends
/// although no XML parser takes them (switchable, to test a client both ways).
struct SimDAVWriter {
    var prefixes: [String: String] = [
        DAVNamespace.dav: "a", DAVNamespace.datatypes: "b", DAVNamespace.values: "c",
    ]
    var order: [String] = []
    var body = ""
    let digitNames: Bool
    let brief: Bool

    init(digitNames: Bool, brief: Bool) {
        self.digitNames = digitNames
        self.brief = brief
    }

    mutating func prefix(_ namespace: String) -> String {
        if let known = prefixes[namespace] { return known }
        // Letters only, as Exchange assigns them (d, e, f …): DavMail's repair of digit-leading
        // names also rewrites a digit at the start of what follows a prefix's letter.
        let letters = Array("defghijklmnopqrstuvwxyz")
        let index = order.count
        let prefix =
            index < letters.count
            ? String(letters[index])
            : "z" + String(letters[index % letters.count]) + String(letters[(index / letters.count) % letters.count])
        prefixes[namespace] = prefix
        order.append(namespace)
        return prefix
    }

    /// The element name of a property: `prefix:local`, or the bare alias of a SEARCH column.
    mutating func elementName(_ name: String, alias: String?) -> String {
        if let alias { return DAVPropertyName.xmlLocalName(alias) }
        let (namespace, local) = DAVPropertyName.split(name)
        let digitLeading = local.first?.isNumber == true
        let localName = digitLeading && digitNames ? local : DAVPropertyName.xmlLocalName(local)
        return "\(prefix(namespace)):\(localName)"
    }

    /// One `<a:response>`.
    mutating func response(
        href: String, status: Int? = nil, found: [(name: String, alias: String?, value: DAVValue)],
        missing: [(name: String, alias: String?)] = [], failed: [(name: String, status: Int)] = []
    ) {
        body += "<a:response><a:href>\(XMLWriter.escape(href, attribute: false))</a:href>"
        if let status { body += "<a:status>\(Self.statusLine(status))</a:status>" }
        if !found.isEmpty || (status == nil && missing.isEmpty && failed.isEmpty) {
            body += "<a:propstat><a:status>HTTP/1.1 200 OK</a:status><a:prop>"
            for property in found { body += value(property.name, alias: property.alias, property.value) }
            body += "</a:prop></a:propstat>"
        }
        if !missing.isEmpty, !brief {
            body += "<a:propstat><a:status>HTTP/1.1 404 Resource Not Found</a:status><a:prop>"
            for property in missing { body += "<\(elementName(property.name, alias: property.alias))/>" }
            body += "</a:prop></a:propstat>"
        }
        for (status, names) in Dictionary(grouping: failed, by: \.status).sorted(by: { $0.key < $1.key }) {
            body += "<a:propstat><a:status>\(Self.statusLine(status))</a:status><a:prop>"
            for property in names { body += "<\(elementName(property.name, alias: nil))/>" }
            body += "</a:prop></a:propstat>"
        }
        body += "</a:response>"
    }

    mutating func value(_ name: String, alias: String?, _ value: DAVValue) -> String {
        let element = elementName(name, alias: alias)
        let escaped = { (text: String) in XMLWriter.escape(text, attribute: false) }
        switch value {
        case .string(let text): return "<\(element)>\(escaped(text))</\(element)>"
        case .strings(let values):
            return "<\(element) b:dt=\"mv.string\">" + values.map { "<c:v>\(escaped($0))</c:v>" }.joined()
                + "</\(element)>"
        default:
            return "<\(element) b:dt=\"\(value.dataType ?? "string")\">\(escaped(value.text))</\(element)>"
        }
    }

    /// The whole document.
    var document: Data {
        var root = "<?xml version=\"1.0\"?><a:multistatus"
        let namespaces = [DAVNamespace.dav, DAVNamespace.datatypes, DAVNamespace.values] + order
        for namespace in namespaces {
            root += " xmlns:\(prefixes[namespace]!)=\"\(XMLWriter.escape(namespace, attribute: true))\""
        }
        return Data((root + ">" + body + "</a:multistatus>").utf8)
    }

    static func statusLine(_ status: Int) -> String {
        let reason =
            switch status {
            case 200: "OK"
            case 201: "Created"
            case 204: "No Content"
            case 403: "Forbidden"
            case 404: "Resource Not Found"
            case 409: "Conflict"
            case 412: "Precondition Failed"
            case 424: "Method Failure"
            default: "Error"
            }
        return "HTTP/1.1 \(status) \(reason)"
    }
}
