import Foundation
import Logging

/// Log lines in `text`, `logfmt` or `json`, to standard error. Metadata carries connector, user,
/// account and record; secrets are never passed to the logger in the first place.
public struct StructuredLogHandler: LogHandler {
    public enum Format: String, Sendable { case text, logfmt, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let format: Format
    let output: FileHandle

    /// Logs to `output` (standard error by default).
    public init(label: String, format: Format, level: Logger.Level, output: FileHandle = .standardError) {
        self.label = label
        self.format = format
        self.output = output
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = Self.render(
            format: format, time: Date(), level: event.level, message: "\(event.message)", metadata: merged,
            label: label)
        output.write(Data((line + "\n").utf8))
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// One log line.
    public static func render(
        format: Format, time: Date, level: Logger.Level, message: String, metadata: Logger.Metadata, label: String
    ) -> String {
        let fields = metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        switch format {
        case .text:
            return "\(timestamp(time)) \(level) \(label): \(message)" + fields.map { " \($0.0)=\($0.1)" }.joined()
        case .logfmt:
            let pairs = [("time", timestamp(time)), ("level", "\(level)"), ("msg", message)] + fields
            return pairs.map { "\($0.0)=\(logfmtValue($0.1))" }.joined(separator: " ")
        case .json:
            var object: [String: String] = [
                "time": timestamp(time), "level": "\(level)", "msg": message, "logger": label,
            ]
            for (key, value) in fields { object[key] = value }
            let data =
                (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}
