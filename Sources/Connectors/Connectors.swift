// The adapters built into connector-host, one module per folder beside this file. `import
// Connectors` brings them all.
@_exported import CalDAVConnector
import ConnectorAPI
@_exported import EWSConnector
@_exported import FlowFactConnector
@_exported import MemoryConnector
@_exported import WebDAVConnector

/// Every adapter type this build knows. To add one: create a folder beside `Memory/` holding an
/// `AdapterType`, add a line to the `adapters` table at the top of Package.swift and add the type
/// here; the host needs no other change.
public enum BuiltinAdapters {
    public static let all: [AdapterType] = [
        MemoryAdapter.type,
        FlowFactAdapter.type,
        EWSAdapter.type,
        WebDAVAdapter.type,
        CalDAVAdapter.type,
    ]
}
