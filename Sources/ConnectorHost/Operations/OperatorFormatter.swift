import ConnectorAPI
import Foundation

/// The operator's commands' text and JSON: conflicts with both versions field by field, dead
/// letters with their reasons, and the line that says what is open.
public enum OperatorFormatter {
    /// Conflicts as text. With `color` (a terminal), the fields that differ are shown in bold
    /// yellow; without, they are marked with `≠`.
    public static func conflicts(_ entries: [ConflictEntry], color: Bool) -> String {
        guard !entries.isEmpty else { return "no open conflicts" }
        var lines: [String] = []
        for entry in entries {
            let record = entry.record
            var head =
                "#\(record.id) \(entry.job.connector) / \(entry.job.user): '\(entry.title)' "
                + (record.open ? "open" : "settled (\(record.resolution))")
                + " since \(time(record.detectedAt)), policy \(record.policy)"
            if record.open, let decision = record.decision {
                head += "; decided: take \(decision), applied by the next run"
            }
            lines.append(head)
            lines.append(
                "  source item \(record.sourceID ?? "-")"
                    + (record.sourceModifiedAt.map { ", changed \(time($0))" } ?? ""))
            lines.append(
                "  target item \(record.targetID ?? "-")"
                    + (record.targetModifiedAt.map { ", changed \(time($0))" } ?? ""))
            let width = min(24, entry.fields.map(\.name.count).max() ?? 0)
            let valueWidth = 36
            lines.append(
                "    " + pad("field", width) + "  " + pad("source", valueWidth) + "  target")
            for field in entry.fields {
                let mark = field.differs ? "≠ " : "  "
                var line =
                    "  " + mark + pad(field.name, width) + "  " + pad(clip(field.source ?? "—", valueWidth), valueWidth)
                    + "  " + clip(field.target ?? "—", valueWidth)
                if field.differs && color { line = "\u{1B}[1;33m" + line + "\u{1B}[0m" }
                lines.append(line)
            }
            if record.open {
                lines.append("  settle with: connector-host resolve \(record.id) --take source|target|skip")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Dead letters (and items still retried, when listed) as text.
    public static func deadLetters(_ entries: [DeadLetterEntry]) -> String {
        guard !entries.isEmpty else { return "no dead letters" }
        return entries.map { entry in
            let failure = entry.failure
            return
                "#\(entry.id) \(entry.job.connector) / \(entry.job.user): \(failure.operation) '\(failure.name)' "
                + "(\(failure.side.rawValue) item \(failure.itemID)), \(failure.attempts) attempt\(failure.attempts == 1 ? "" : "s"), "
                + (failure.dead ? "dead letter" : "retried on every run") + " since \(time(failure.lastAt))\n"
                + "  \(failure.kind): \(failure.message)"
        }.joined(separator: "\n")
    }

    /// `open at the end: 2 conflicts, 1 dead letter (…)`, the last line of `sync` and `run`.
    public static func openLine(conflicts: Int, deadLetters: Int) -> String {
        guard conflicts + deadLetters > 0 else { return "open at the end: no conflicts, no dead letters" }
        var hints: [String] = []
        if conflicts > 0 { hints.append("connector-host conflicts") }
        if deadLetters > 0 { hints.append("connector-host dead-letters") }
        return
            "open at the end: \(conflicts) conflict\(conflicts == 1 ? "" : "s"), \(deadLetters) dead letter\(deadLetters == 1 ? "" : "s") (see \(hints.joined(separator: ", ")))"
    }

    /// Conflicts as JSON (an array; times in ISO 8601).
    public static func conflictsJSON(_ entries: [ConflictEntry]) throws -> String {
        try json(
            entries.map { entry in
                ConflictJSON(
                    id: entry.record.id, connector: entry.job.connector, user: entry.job.user, title: entry.title,
                    open: entry.record.open, policy: entry.record.policy, resolution: entry.record.resolution,
                    decision: entry.record.decision, detectedAt: entry.record.detectedAt,
                    sourceID: entry.record.sourceID, targetID: entry.record.targetID,
                    sourceModifiedAt: entry.record.sourceModifiedAt, targetModifiedAt: entry.record.targetModifiedAt,
                    fields: entry.fields)
            })
    }

    /// Dead letters as JSON (an array; times in ISO 8601).
    public static func deadLettersJSON(_ entries: [DeadLetterEntry]) throws -> String {
        try json(
            entries.map { entry in
                DeadLetterJSON(
                    id: entry.id, connector: entry.job.connector, user: entry.job.user,
                    side: entry.failure.side.rawValue,
                    itemID: entry.failure.itemID, operation: entry.failure.operation, name: entry.failure.name,
                    kind: entry.failure.kind, message: entry.failure.message, attempts: entry.failure.attempts,
                    dead: entry.failure.dead, lastAt: entry.failure.lastAt)
            })
    }

    struct ConflictJSON: Encodable {
        var id: Int64
        var connector, user, title: String
        var open: Bool
        var policy, resolution: String
        var decision: String?
        var detectedAt: Date
        var sourceID, targetID: String?
        var sourceModifiedAt, targetModifiedAt: Date?
        var fields: [FieldDifference]
    }

    struct DeadLetterJSON: Encodable {
        var id: Int64
        var connector, user, side, itemID, operation, name, kind, message: String
        var attempts: Int
        var dead: Bool
        var lastAt: Date
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// One line of at most `width` characters.
    static func clip(_ text: String, _ width: Int) -> String {
        let line = text.replacingOccurrences(of: "\r\n", with: " ⏎ ").replacingOccurrences(of: "\n", with: " ⏎ ")
        return line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }
}
