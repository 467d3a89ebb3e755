import ConnectorAPI

/// Every adapter type this build knows. To add one: create a folder beside `Memory/` with an
/// `AdapterType` and add it here; the host needs no other change.
public enum BuiltinAdapters {
    public static let all: [AdapterType] = [
        MemoryAdapter.type,
        FlowFactAdapter.type,
        EWSAdapter.type,
    ]
}
