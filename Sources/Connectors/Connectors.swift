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

extension Array {
    /// The elements in consecutive slices of at most `size` (the last may be shorter), for
    /// statements and requests that take a bounded number of ids.
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
