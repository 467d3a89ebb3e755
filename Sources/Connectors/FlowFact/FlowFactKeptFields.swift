import ConnectorAPI
import Foundation
import ODBC

/// What FlowFact's columns cannot hold of a record, kept in the connector table (`CONNECTOR_FIELDS`)
/// as one JSON document per record, so a field the mailbox has comes back unchanged.
///
/// For each field that the columns do not reproduce, `values` holds the record's value and `bases`
/// what the columns held when it was written. Reading puts a value back only while its columns
/// still hold that base: once a FlowFact user changed the field, FlowFact's value wins (for
/// objects such as phone numbers, keys the columns have no place for are kept). `categories` is the
/// record's category list in its order; mapped categories follow their Merkmale, the rest are kept.
struct KeptFields: Codable, Sendable, Hashable {
    var values: [String: JSONValue] = [:]
    var bases: [String: JSONValue] = [:]
    var categories: [String]?

    var isEmpty: Bool { values.isEmpty && (categories ?? []).isEmpty }

    /// The JSON text stored in the table.
    var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads the stored text; nil for no row. Text that is not ours is reported, not guessed at.
    static func parse(_ text: String?, table: String, id: String) throws -> KeptFields? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try JSONDecoder().decode(KeptFields.self, from: Data(text.utf8))
        } catch {
            throw FlowFactError.invalidData(
                table: table, id: id, message: "its kept fields (connector table) are not readable: \(error)")
        }
    }
}

extension FlowFactRecords {
    /// The record as FlowFact's columns would give it back (what a read returns without kept fields).
    func columnsOnly(_ record: Record, _ values: [String: ODBCValue], table: String, id: String) throws -> Record {
        let keys = Array(values.keys)
        let row = Row(
            positions: Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) }),
            values: keys.map { values[$0]! })
        switch record {
        case .address: return .address(address(row))
        case .calendar: return .calendar(try calendar(row, table: table, id: id))
        case .task: return .task(try task(row, table: table, id: id))
        case .mail: return record
        }
    }

    /// What the connector table must keep of `record`, whose columns are `values`: the held fields
    /// the columns do not give back as they are, and the categories.
    func kept(_ record: Record, columns values: [String: ODBCValue], table: String, id: String) throws -> KeptFields {
        var result = KeptFields()
        guard holding.keepOtherFields, record.kind != .mail else { return result }
        let fromColumns = RecordFields.map(try columnsOnly(record, values, table: table, id: id))
        let wanted = RecordFields.map(record)
        for field in holding.held(record.kind) where field != "categories" {
            let value = wanted[field] ?? .null
            let base = fromColumns[field] ?? .null
            if !Self.same(value, base) {
                result.values[field] = value
                result.bases[field] = base
            }
        }
        if case .array(let items)? = wanted["categories"], !items.isEmpty {
            result.categories = items.compactMap { if case .string(let name) = $0 { name } else { nil } }
        }
        return result
    }

    /// `record` as read from the columns, with what the connector table kept put back, and its
    /// categories: the kept list in its order (mapped ones while their Merkmal is linked), then
    /// mapped ones linked in FlowFact since.
    func overlay(_ record: Record, kept: KeptFields?, linked: [String], mapped: Set<String>) throws -> Record {
        // Most records have neither (made in FlowFact, or all their fields fit the columns).
        guard record.kind != .mail, kept != nil || !linked.isEmpty else { return record }
        var fields = RecordFields.map(record)
        if let kept {
            var givenNameChanged = false
            for (field, value) in kept.values {
                let current = fields[field] ?? .null
                let base = kept.bases[field] ?? .null
                if Self.same(current, base) {
                    fields[field] = value
                    continue
                }
                if field == "givenName" { givenNameChanged = true }
                fields[field] = Self.merged(field, current: current, base: base, kept: value)
            }
            // The middle name shows in the first-name column: changed there in FlowFact, it is not kept.
            if givenNameChanged, middleNameInGivenName, kept.values["middleName"] != nil {
                fields["middleName"] = nil
            }
        }
        var categories: [String] = []
        for name in kept?.categories ?? [] where !mapped.contains(name) || linked.contains(name) {
            if !categories.contains(name) { categories.append(name) }
        }
        for name in linked where !categories.contains(name) { categories.append(name) }
        fields["categories"] = .array(categories.map { .string($0) })
        return try RecordFields.record(kind: record.kind, fields: fields)
    }

    /// A field FlowFact's user changed: FlowFact's value, with the parts its columns have no place
    /// for taken from the kept value (keys missing from the base; an appointment's own time zone).
    static func merged(_ field: String, current: JSONValue, base: JSONValue, kept: JSONValue) -> JSONValue {
        guard case .object(var now) = current, case .object(let keptObject) = kept else { return current }
        if field == "timing" {
            // Moved in FlowFact: its new times, in the appointment's own zone.
            if case .object(var timed)? = now["timed"], case .object(let keptTimed)? = keptObject["timed"],
                let zone = keptTimed["timeZone"]
            {
                timed["timeZone"] = zone
                now["timed"] = .object(timed)
            }
            return .object(now)
        }
        let baseObject: [String: JSONValue] = if case .object(let object) = base { object } else { [:] }
        for (key, value) in keptObject where baseObject[key] == nil && now[key] == nil { now[key] = value }
        return .object(now)
    }

    /// Equal, counting every kind of emptiness (null, "", [], {}) as one.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if a.isEmpty && b.isEmpty { return true }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            let keys = Set(x.keys).union(y.keys)
            return keys.allSatisfy { same(x[$0] ?? .null, y[$0] ?? .null) }
        case (.number(let x), .number(let y)): return abs(x - y) < 0.001
        default: return a == b
        }
    }
}
