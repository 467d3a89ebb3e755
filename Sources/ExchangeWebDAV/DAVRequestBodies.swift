import Foundation
import XML

/// The XML bodies of WebDAV requests, with the namespaces of the named properties declared on the
/// root and local names that are not XML names escaped (`_x0030_x8101`).
public enum DAVBody {
    /// `PROPFIND` for the named properties.
    public static func propfind(_ properties: [String]) -> Data {
        var names = NamespacePrefixes()
        let props = properties.map { names.emptyElement($0) }.joined()
        return document("propfind", names, "<D:prop>\(props)</D:prop>")
    }

    /// `BPROPFIND` on a folder for the named properties of the given items (hrefs relative to the
    /// folder or absolute).
    public static func batchPropfind(hrefs: [String], properties: [String]) -> Data {
        var names = NamespacePrefixes()
        let props = properties.map { names.emptyElement($0) }.joined()
        return document("propfind", names, targets(hrefs) + "<D:prop>\(props)</D:prop>")
    }

    /// `SEARCH` with an Exchange SQL statement.
    public static func search(_ sql: String) -> Data {
        let text =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:searchrequest xmlns:D=\"DAV:\"><D:sql>"
            + XMLWriter.escape(sql, attribute: false) + "</D:sql></D:searchrequest>"
        return Data(text.utf8)
    }

    /// `BDELETE` on a folder for the given items.
    public static func batchDelete(hrefs: [String]) -> Data {
        document("delete", NamespacePrefixes(), targets(hrefs))
    }

    /// `PROPPATCH`: properties to set (typed by their value) and properties to remove.
    public static func propertyUpdate(set: [(String, DAVValue)], remove: [String] = []) -> Data {
        var names = NamespacePrefixes()
        var body = ""
        if !set.isEmpty {
            body += "<D:set><D:prop>"
            for (name, value) in set { body += names.valueElement(name, value) }
            body += "</D:prop></D:set>"
        }
        if !remove.isEmpty {
            body += "<D:remove><D:prop>" + remove.map { names.emptyElement($0) }.joined() + "</D:prop></D:remove>"
        }
        return document("propertyupdate", names, body)
    }

    static func targets(_ hrefs: [String]) -> String {
        "<D:target>"
            + hrefs.map { "<D:href>\(XMLWriter.escape($0, attribute: false))</D:href>" }.joined() + "</D:target>"
    }

    static func document(_ root: String, _ names: NamespacePrefixes, _ content: String) -> Data {
        let text =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:\(root) xmlns:D=\"DAV:\"\(names.declarations)>" + content
            + "</D:\(root)>"
        return Data(text.utf8)
    }
}

/// Prefixes for the namespaces of a request body, assigned in order of first use.
struct NamespacePrefixes {
    var prefixes: [String: String] = ["DAV:": "D"]
    var order: [String] = []
    var valueTyped = false

    mutating func prefix(for namespace: String) -> String {
        if let known = prefixes[namespace] { return known }
        let prefix = "n\(order.count)"
        prefixes[namespace] = prefix
        order.append(namespace)
        return prefix
    }

    mutating func qualified(_ name: String) -> String {
        let (namespace, local) = DAVPropertyName.split(name)
        return "\(prefix(for: namespace)):\(DAVPropertyName.xmlLocalName(local))"
    }

    mutating func emptyElement(_ name: String) -> String { "<\(qualified(name))/>" }

    mutating func valueElement(_ name: String, _ value: DAVValue) -> String {
        let element = qualified(name)
        guard let type = value.dataType else {
            return "<\(element)>\(XMLWriter.escape(value.text, attribute: false))</\(element)>"
        }
        valueTyped = true
        if case .strings(let values) = value {
            let items = values.map { "<X:v>\(XMLWriter.escape($0, attribute: false))</X:v>" }.joined()
            return "<\(element) T:dt=\"\(type)\">\(items)</\(element)>"
        }
        return "<\(element) T:dt=\"\(type)\">\(XMLWriter.escape(value.text, attribute: false))</\(element)>"
    }

    var declarations: String {
        var text = order.map { " xmlns:\(prefixes[$0]!)=\"\(XMLWriter.escape($0, attribute: true))\"" }.joined()
        if valueTyped {
            text += " xmlns:T=\"\(DAVNamespace.datatypes)\" xmlns:X=\"\(DAVNamespace.values)\""
        }
        return text
    }
}

/// Pieces of Exchange SQL: quoted names and literals.
public enum ExchangeSQL {
    /// `"urn:schemas:contacts:sn"`.
    public static func name(_ property: String) -> String { "\"\(property)\"" }

    /// `'O''Brien'`.
    public static func string(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "''") + "'" }

    /// `SCOPE('shallow traversal of "/exchange/jdoe/Kontakte/"')`.
    public static func shallowScope(_ path: String) -> String {
        "SCOPE('shallow traversal of \"\(path.replacingOccurrences(of: "'", with: "''"))\"')"
    }
}
