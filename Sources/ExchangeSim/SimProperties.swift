import EWS
import Foundation
import XML

/// A property as EWS addresses it: `t:FieldURI`, `t:IndexedFieldURI` or `t:ExtendedFieldURI`.
enum PropertyPath: Hashable, CustomStringConvertible {
    /// A plain property: the element of that name.
    case field(String)
    /// An entry of a dictionary property (`EmailAddresses/Entry[@Key]`), or one part of it
    /// (`PhysicalAddresses/Entry[@Key]/City`).
    case indexed(container: String, key: String, part: String?)
    /// An extended (MAPI) property, identified by its URI attributes.
    case extended([String: String])

    static let containers = [
        "contacts:EmailAddress": "EmailAddresses", "contacts:PhoneNumber": "PhoneNumbers",
        "contacts:ImAddress": "ImAddresses",
        "contacts:PhysicalAddress": "PhysicalAddresses",
    ]

    /// Reads a path element; nil for anything else.
    init?(_ element: XMLElement) {
        switch element.name {
        case "FieldURI":
            guard let uri = element.attributes["FieldURI"], let name = uri.split(separator: ":").last else {
                return nil
            }
            self = .field(String(name))
        case "IndexedFieldURI":
            guard let uri = element.attributes["FieldURI"], let key = element.attributes["FieldIndex"] else {
                return nil
            }
            let parts = uri.split(separator: ":")
            guard parts.count >= 2, let container = Self.containers["\(parts[0]):\(parts[1])"] else { return nil }
            self = .indexed(container: container, key: key, part: parts.count > 2 ? String(parts[2]) : nil)
        case "ExtendedFieldURI":
            self = .extended(element.attributes)
        default:
            return nil
        }
    }

    /// A stable key for per-property versions.
    var key: String {
        switch self {
        case .field(let name): name
        case .indexed(let container, let key, let part): "\(container)/\(key)" + (part.map { "/\($0)" } ?? "")
        case .extended(let attributes):
            "ext:"
                + attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.normalized($0.key, $0.value))" }
                .joined(separator: ";")
        }
    }

    var description: String { key }

    /// An attribute value for comparison: case-insensitive, and a PropertyTag the same whether
    /// written in hex ("0x0E07") or decimal ("3591").
    static func normalized(_ name: String, _ value: String) -> String {
        if name == "PropertyTag", let tag = SimService.propertyTag(["PropertyTag": value]) {
            return "0x" + String(tag, radix: 16)
        }
        return value.lowercased()
    }

    /// `ExtendedFieldURI` attributes as Exchange answers them, however the request spelled them: a
    /// PropertyTag in lower-case hex without leading zeros ("0x0E07", "0X0e07" and "3591" all come
    /// back as "0xe07"; exchangelib compares the tag as that string), a PropertySetId GUID in lower
    /// case. The other attributes stay as written.
    static func canonical(_ attributes: [String: String]) -> [String: String] {
        var canonical = attributes
        if let tag = SimService.propertyTag(attributes) { canonical["PropertyTag"] = "0x" + String(tag, radix: 16) }
        if let set = attributes["PropertySetId"] { canonical["PropertySetId"] = set.lowercased() }
        return canonical
    }

    /// Whether an `ExtendedProperty` element carries this extended path.
    static func matches(_ property: XMLElement, _ attributes: [String: String]) -> Bool {
        guard property.name == "ExtendedProperty", let uri = property.child("ExtendedFieldURI") else { return false }
        return PropertyPath.extended(uri.attributes).key == PropertyPath.extended(attributes).key
    }

    /// The value of this property in an item's properties, as an element to return (a whole
    /// element, a dictionary with the one entry, or an extended property); nil when not set.
    func extract(from properties: [XMLElement]) -> XMLElement? {
        switch self {
        case .field(let name):
            return properties.first { $0.name == name }
        case .indexed(let container, let key, let part):
            guard var holder = properties.first(where: { $0.name == container }),
                var entry = holder.children.first(where: { $0.attributes["Key"] == key })
            else { return nil }
            if let part {
                guard let value = entry.child(part) else { return nil }
                entry.children = [value]
            }
            holder.children = [entry]
            return holder
        case .extended(let attributes):
            return properties.first { Self.matches($0, attributes) }
        }
    }

    /// Sets the property from the single property element of an update payload.
    func set(_ value: XMLElement, in properties: inout [XMLElement], catalog: SchemaCatalog, itemElement: String) {
        switch self {
        case .field(let name):
            properties.removeAll { $0.name == name }
            properties.append(value)
        case .indexed(let container, let key, let part):
            guard let newEntry = value.children.first(where: { $0.attributes["Key"] == key }) else { return }
            var holder =
                properties.first { $0.name == container } ?? XMLElement(name: container, namespace: EWSNamespace.types)
            properties.removeAll { $0.name == container }
            if let part, let newValue = newEntry.child(part) {
                var entry =
                    holder.children.first { $0.attributes["Key"] == key }
                    ?? XMLElement(name: "Entry", namespace: EWSNamespace.types, attributes: ["Key": key])
                entry.children.removeAll { $0.name == part }
                entry.children.append(newValue)
                entry.children = catalog.sorted(entry.children, ofType: "PhysicalAddressDictionaryEntryType")
                holder.children.removeAll { $0.attributes["Key"] == key }
                holder.children.append(entry)
            } else {
                holder.children.removeAll { $0.attributes["Key"] == key }
                holder.children.append(newEntry)
            }
            properties.append(holder)
        case .extended(let attributes):
            properties.removeAll { Self.matches($0, attributes) }
            properties.append(value)
        }
        properties = catalog.sorted(properties, ofItem: itemElement)
    }

    /// Removes the property.
    func delete(from properties: inout [XMLElement]) {
        switch self {
        case .field(let name):
            properties.removeAll { $0.name == name }
        case .indexed(let container, let key, let part):
            guard let index = properties.firstIndex(where: { $0.name == container }) else { return }
            if let part {
                for entryIndex in properties[index].children.indices
                where properties[index].children[entryIndex].attributes["Key"] == key {
                    properties[index].children[entryIndex].children.removeAll { $0.name == part }
                }
                properties[index].children.removeAll { $0.attributes["Key"] == key && $0.children.isEmpty }
            } else {
                properties[index].children.removeAll { $0.attributes["Key"] == key }
            }
            if properties[index].children.isEmpty { properties.remove(at: index) }
        case .extended(let attributes):
            properties.removeAll { Self.matches($0, attributes) }
        }
    }

    /// All paths an item's stored properties occupy (for conflict bookkeeping of a new item).
    static func paths(of properties: [XMLElement]) -> [PropertyPath] {
        properties.flatMap { property -> [PropertyPath] in
            if property.name == "ExtendedProperty", let uri = property.child("ExtendedFieldURI") {
                return [.extended(uri.attributes)]
            }
            if containers.values.contains(property.name) {
                return property.children.compactMap { entry in
                    entry.attributes["Key"].map { PropertyPath.indexed(container: property.name, key: $0, part: nil) }
                }
            }
            return [.field(property.name)]
        }
    }

    /// The coarse key used for conflict checks: a physical-address part conflicts with its entry.
    var conflictKey: String {
        if case .indexed(let container, let key, _) = self { return "\(container)/\(key)" }
        return key
    }
}
