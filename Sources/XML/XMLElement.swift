/// An element with its attributes, text and children: the tree the parser builds for the parts
/// of a document a caller asks for.
public struct XMLElement: Sendable, Hashable {
    /// The local name (without prefix).
    public var name: String
    /// The namespace URI, if the element is in one.
    public var namespace: String?
    /// Attributes by local name.
    public var attributes: [String: String]
    public var children: [XMLElement]
    /// The element's own text (the concatenation of its direct text nodes).
    public var text: String
    /// 1-based line of the start tag.
    public var line: Int

    public init(
        name: String, namespace: String? = nil, attributes: [String: String] = [:], children: [XMLElement] = [],
        text: String = "", line: Int = 0
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
        self.text = text
        self.line = line
    }

    /// The first child with this local name.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }

    /// All children with this local name.
    public func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// The element at a path of local names below this one.
    public func path(_ names: String...) -> XMLElement? {
        var current: XMLElement? = self
        for name in names { current = current?.child(name) }
        return current
    }

    /// The text of a child, if present.
    public func string(_ name: String) -> String? { child(name)?.text }

    /// The first descendant (depth first) with this local name.
    public func descendant(_ name: String) -> XMLElement? {
        for child in children {
            if child.name == name { return child }
            if let found = child.descendant(name) { return found }
        }
        return nil
    }

    /// The element and its subtree as XML text (with the namespace declared on this element).
    public var xml: String {
        var writer = XMLWriter(declaration: false)
        write(to: &writer, parentNamespace: nil)
        return writer.text
    }

    func write(to writer: inout XMLWriter, parentNamespace: String?) {
        var attributes = self.attributes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let namespace, namespace != parentNamespace { attributes.insert(("xmlns", namespace), at: 0) }
        writer.start(name, attributes)
        writer.text(text)
        for child in children { child.write(to: &writer, parentNamespace: namespace) }
        writer.end()
    }
}
