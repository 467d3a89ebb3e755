/// A component of iCalendar text (`BEGIN:NAME` … `END:NAME`): its properties and nested
/// components in the order they were written. Names are upper-cased when parsed.
public struct ICalComponent: Sendable, Hashable {
    /// The component name, e.g. `VCALENDAR`, `VEVENT`, `VALARM`.
    public var name: String
    /// The properties in input order.
    public var properties: [ICalProperty]
    /// The nested components in input order.
    public var components: [ICalComponent]
    /// The input line of its `BEGIN`, when it was parsed; not part of equality.
    public var line: Int?

    /// A component with the given content.
    public init(
        _ name: String, properties: [ICalProperty] = [], components: [ICalComponent] = [], line: Int? = nil
    ) {
        self.name = name.uppercased()
        self.properties = properties
        self.components = components
        self.line = line
    }

    /// The first property with this name (case-insensitive), or nil.
    public func property(_ name: String) -> ICalProperty? {
        let wanted = name.uppercased()
        return properties.first { $0.name == wanted }
    }

    /// Every property with this name (case-insensitive), in order.
    public func properties(named name: String) -> [ICalProperty] {
        let wanted = name.uppercased()
        return properties.filter { $0.name == wanted }
    }

    /// Every direct subcomponent with this name (case-insensitive), in order.
    public func components(named name: String) -> [ICalComponent] {
        let wanted = name.uppercased()
        return components.filter { $0.name == wanted }
    }

    /// Appends a property.
    public mutating func add(_ property: ICalProperty) {
        properties.append(property)
    }

    /// Appends a property with a raw value and optional parameters.
    public mutating func add(_ name: String, _ value: String, _ parameters: ICalParameter...) {
        properties.append(ICalProperty(name, parameters: parameters, value: value))
    }

    /// Equal when name, content and order agree; `line` is ignored.
    public static func == (lhs: ICalComponent, rhs: ICalComponent) -> Bool {
        lhs.name == rhs.name && lhs.properties == rhs.properties && lhs.components == rhs.components
    }

    /// Hashes what equality compares (not `line`).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(properties)
        hasher.combine(components)
    }
}
