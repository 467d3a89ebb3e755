import Foundation

/// Executables the package builds, for tests that run them as an administrator would.
public enum Binary {
    /// `connector-host`: beside the test bundle, else in `.build/debug`.
    public static var connectorHost: URL { executable("connector-host") }

    /// `connector-dev`, the developer's tool (demo, FlowFact-like database).
    public static var connectorDev: URL { executable("connector-dev") }

    static func executable(_ name: String) -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            name)
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/\(name)")
    }
}
