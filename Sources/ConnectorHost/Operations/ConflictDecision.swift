import ConnectorAPI
import Foundation

/// How an administrator settles an open conflict. The job's next run applies it through the
/// engine: the chosen side is written to the other with the usual version check and bookkeeping,
/// or, skipped, both items stay as they are and become the pair's common state.
public enum ConflictDecision: String, Sendable, Hashable, Codable, CaseIterable {
    /// Write the source side's version to the target.
    case source
    /// Write the target side's version to the source.
    case target
    /// Write nothing; both versions stay.
    case skip
}

/// One field of a conflict's two versions.
public struct FieldDifference: Sendable, Hashable, Codable {
    /// The field's name (`givenName`, `subject`, …).
    public var name: String
    /// The source side's value as text, nil when the field is empty there.
    public var source: String?
    /// The target side's value as text, nil when the field is empty there.
    public var target: String?
    /// Whether the two values differ.
    public var differs: Bool
}

/// A conflict with its job and both versions compared field by field.
public struct ConflictEntry: Sendable {
    public var job: JobKey
    public var record: ConflictRecord
    /// Every field either version holds, in the kind's field order; differing fields are marked.
    public var fields: [FieldDifference]

    /// The record's name on either side, for lists (`Karl Bäcker`, `Besichtigung`).
    public var title: String {
        for text in [record.sourceRecord, record.targetRecord] {
            if let record = text.flatMap(Self.decode), !record.displayName.isEmpty { return record.displayName }
        }
        return record.sourceID ?? record.targetID ?? "#\(record.id)"
    }

    static func decode(_ json: String) -> Record? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(Record.self, from: Data(json.utf8))
    }

    /// Compares the two stored versions field by field.
    static func fields(source: String?, target: String?) -> [FieldDifference] {
        let sourceRecord = source.flatMap(decode)
        let targetRecord = target.flatMap(decode)
        let sourceFields = sourceRecord.map(RecordFields.map) ?? [:]
        let targetFields = targetRecord.map(RecordFields.map) ?? [:]
        guard let kind = sourceRecord?.kind ?? targetRecord?.kind else { return [] }
        let ordered = RecordFields.names(for: kind)
        let extra = Set(sourceFields.keys).union(targetFields.keys).subtracting(ordered).sorted()
        return (ordered + extra).compactMap { name in
            let s = sourceFields[name].flatMap(text)
            let t = targetFields[name].flatMap(text)
            guard s != nil || t != nil else { return nil }
            return FieldDifference(name: name, source: s, target: t, differs: s != t)
        }
    }

    /// A field value as an administrator reads it: strings as they are, other values as compact JSON.
    static func text(_ value: JSONValue) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return nil }
        let json = String(decoding: data, as: UTF8.self)
        if json == "null" || json == "\"\"" || json == "[]" || json == "{}" { return nil }
        if json.hasPrefix("\""), let string = try? JSONDecoder().decode(String.self, from: data) { return string }
        return json
    }
}

/// An item that failed to sync and is no longer retried on its own (a dead letter), or one still
/// being retried, with the row id an administrator names it by.
public struct DeadLetterEntry: Sendable {
    public var id: Int64
    public var job: JobKey
    public var failure: FailureRecord
}
