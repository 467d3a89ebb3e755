import Foundation

/// Where an adapter instance keeps the files it streams to disk (attachment contents) until the
/// other side has stored them, so no attachment is ever held whole in memory.
///
/// One folder per adapter instance and process under the system's temporary folder
/// (`connector-host-spool/<adapter>-<instance>-<random>`), so two instances or two processes never
/// share a file; a subfolder per endpoint, which the endpoint empties when it reads its next
/// changes (the previous run's files are stored by then); all of it removed at shutdown.
public struct SpoolDirectory: Sendable, Hashable {
    /// The instance's folder.
    public let root: URL

    /// The spool of one adapter instance in this process; `base` is the system's temporary folder
    /// unless a test gives another.
    public init(adapter: String, instance: String, base: URL = FileManager.default.temporaryDirectory) {
        let name = [adapter, instance, String(UUID().uuidString.prefix(8))].map(Self.safe).joined(separator: "-")
        root = base.appendingPathComponent("connector-host-spool", isDirectory: true)
            .appendingPathComponent(name, isDirectory: true)
    }

    /// The subfolder for one endpoint or purpose; each part is made safe for a file name (letters,
    /// digits, `.`, `_` and `-` stay, anything else becomes `_`). Not created until written to.
    public func folder(_ parts: String...) -> URL {
        root.appendingPathComponent(parts.map(Self.safe).joined(separator: "-"), isDirectory: true)
    }

    /// A name for a new file in `folder` that no other file has (nothing is created).
    public static func file(in folder: URL) -> URL {
        folder.appendingPathComponent(UUID().uuidString)
    }

    /// Removes a folder and the files in it (nothing happens when it does not exist).
    public static func empty(_ folder: URL) {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Removes the instance's whole spool (at shutdown).
    public func remove() {
        try? FileManager.default.removeItem(at: root)
    }

    static func safe(_ part: String) -> String {
        String(
            part.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
    }
}
