import Foundation

/// One problem in a configuration file, with its position.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line; 0 when the problem has no position (e.g. an unreadable file).
    public var line: Int
    /// 1-based column.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, the form editors and CI logs understand.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}

/// A configuration that did not validate; carries every problem found, not just the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]
    public init(_ diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
