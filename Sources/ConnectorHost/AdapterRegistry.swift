import ConnectorAPI

/// Adapter types by name. The executable registers the built-in ones; tests may register their own.
public struct AdapterRegistry: Sendable {
    private var types: [String: AdapterType] = [:]

    public init(_ types: [AdapterType] = []) {
        for type in types { register(type) }
    }

    /// Adds an adapter type. A second registration of the same name is a programming error.
    public mutating func register(_ type: AdapterType) {
        precondition(types[type.name] == nil, "adapter type '\(type.name)' registered twice")
        types[type.name] = type
    }

    public func type(named name: String) -> AdapterType? { types[name] }

    /// Registered type names, sorted.
    public var names: [String] { types.keys.sorted() }

    /// Registered types, sorted by name.
    public var all: [AdapterType] { names.compactMap { types[$0] } }
}
