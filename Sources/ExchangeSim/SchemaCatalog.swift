import Foundation
import XML

/// What the simulator takes from Microsoft's `types.xsd`: the order of every complex type's
/// child elements (with the elements of its base types first), so the items it stores and returns
/// follow the schema exactly as Exchange's do.
public final class SchemaCatalog: Sendable {
    /// Complex type name → rank of each of its child elements in schema order (base types first).
    let ranks: [String: [String: Int]]
    /// Item element name (e.g. `Contact`) → complex type name (e.g. `ContactItemType`).
    let itemTypes: [String: String]
    /// Names of the elements typed `xs:boolean` (in any complex type): Exchange answers them as
    /// `true`/`false` whatever form (`1`/`0`) a client sent.
    let booleanElements: Set<String>

    /// Reads `types.xsd` from the schema directory's set (`exchange2010_sp2` by default).
    public init(typesXSD: URL) throws {
        let root = try XMLStreamParser.parse(try Data(contentsOf: typesXSD))
        var sequences: [String: [String]] = [:]
        var bases: [String: String] = [:]
        var booleans: Set<String> = []
        var others: Set<String> = []
        for type in root.children("complexType") {
            guard let name = type.attributes["name"] else { continue }
            var elements: [String] = []
            func collect(_ node: XMLElement) {
                for child in node.children {
                    switch child.name {
                    case "element":
                        if let element = child.attributes["name"] {
                            elements.append(element)
                            if child.attributes["type"] == "xs:boolean" {
                                booleans.insert(element)
                            } else {
                                others.insert(element)
                            }
                        }
                    case "sequence", "choice", "all": collect(child)
                    case "complexContent", "extension", "restriction":
                        if child.name == "extension", let base = child.attributes["base"] {
                            bases[name] = String(base.split(separator: ":").last ?? "")
                        }
                        collect(child)
                    default: break
                    }
                }
            }
            collect(type)
            sequences[name] = elements
        }
        // A name that is something else in another type is left as it is.
        booleanElements = booleans.subtracting(others)
        var ranks: [String: [String: Int]] = [:]
        for type in sequences.keys {
            ranks[type] = Self.rank(Self.order(ofType: type, sequences, bases))
        }
        self.ranks = ranks
        itemTypes = [
            "Item": "ItemType", "Contact": "ContactItemType", "CalendarItem": "CalendarItemType", "Task": "TaskType",
            "Message": "MessageType",
        ]
    }

    /// `elements` with every boolean value in Exchange's form (`1` → `true`, `0` → `false`), in
    /// the whole tree below them except inside extended properties (whose values are typed by
    /// their PropertyType, not by the schema).
    public func canonicalBooleans(_ elements: [XMLElement]) -> [XMLElement] {
        elements.map { element in
            guard element.name != "ExtendedProperty" else { return element }
            var copy = element
            if copy.children.isEmpty {
                if booleanElements.contains(copy.name) {
                    let text = copy.text.trimmingCharacters(in: .whitespaces)
                    if text == "1" { copy.text = "true" } else if text == "0" { copy.text = "false" }
                }
            } else {
                copy.children = canonicalBooleans(copy.children)
            }
            return copy
        }
    }

    /// The full element order of a complex type, base types first.
    static func order(ofType type: String, _ sequences: [String: [String]], _ bases: [String: String]) -> [String] {
        var chain: [String] = []
        var current: String? = type
        while let name = current {
            chain.insert(name, at: 0)
            current = bases[name]
        }
        return chain.flatMap { sequences[$0] ?? [] }
    }

    /// Sorts `children` into the order of the item element's type (`Contact`, …), with the ranks
    /// computed once per type when the catalog is read; unknown names keep their relative place at
    /// the end.
    public func sorted(_ children: [XMLElement], ofItem element: String) -> [XMLElement] {
        sorted(children, ofType: itemTypes[element] ?? "ItemType")
    }

    /// Sorts `children` into the order of the complex type `type`, with ranks computed once.
    public func sorted(_ children: [XMLElement], ofType type: String) -> [XMLElement] {
        guard let rank = ranks[type] else { return children }
        return Self.sorted(children, rank: rank)
    }

    static func rank(_ order: [String]) -> [String: Int] {
        Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func sorted(_ children: [XMLElement], rank: [String: Int]) -> [XMLElement] {
        // Clients mostly send properties in schema order already: then there is nothing to sort.
        var previous = -1
        var inOrder = true
        for child in children {
            let current = rank[child.name] ?? Int.max
            if current < previous {
                inOrder = false
                break
            }
            previous = current
        }
        if inOrder { return children }
        return children.enumerated().sorted { a, b in
            let ra = rank[a.element.name] ?? Int.max
            let rb = rank[b.element.name] ?? Int.max
            return ra == rb ? a.offset < b.offset : ra < rb
        }.map(\.element)
    }
}
