import Foundation

/// How adapters keep their cursors: a `Codable` value as JSON, opaque to the host, which stores it
/// between runs. A cursor that cannot be read back (written by an older release, or damaged)
/// decodes as none, so the adapter starts over with a full read instead of failing every run.
public enum CursorCoding {
    /// The cursor's bytes for the host to store.
    public static func encode<Cursor: Encodable>(_ cursor: Cursor) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(cursor)
    }

    /// The cursor a run stored; nil for none, or for one this release cannot read.
    public static func decode<Cursor: Decodable>(_ type: Cursor.Type, from data: Data?) -> Cursor? {
        guard let data, !data.isEmpty else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}
