import ConnectorAPI
import Crypto
import Foundation

/// Sync keys name the connector, the user (each user's mailbox holds its own copies) and the item a
/// copy was made from: `ch1:<connector>:<user>:<s|t>:<origin id>`. They are deterministic, so a
/// copy is recognised even when all state was lost.
enum SyncKeys {
    /// The part of a key that names the job: `<connector>:<user>`.
    static func scope(connector: String, user: String) -> String { "\(connector):\(user.uppercased())" }

    static func make(scope: String, origin: EndpointRole, id: ItemID) -> SyncKey {
        SyncKey(rawValue: "ch1:\(scope):\(origin == .source ? "s" : "t"):\(id)")
    }

    /// The origin side and id a key names, when it belongs to this job's scope.
    static func origin(of key: SyncKey, scope: String) -> (role: EndpointRole, id: ItemID)? {
        let prefix = "ch1:\(scope):"
        guard key.rawValue.hasPrefix(prefix) else { return nil }
        let rest = key.rawValue.dropFirst(prefix.count)
        guard rest.count > 2, rest.dropFirst().first == ":" else { return nil }
        switch rest.first {
        case "s": return (.source, String(rest.dropFirst(2)))
        case "t": return (.target, String(rest.dropFirst(2)))
        default: return nil
        }
    }
}

/// Content hashes over a set of fields (SHA-256 of the canonical JSON, empty values left out).
enum ContentHash {
    static func of(_ record: Record, fields: Set<String>) -> String {
        let digest = SHA256.hash(data: RecordFields.canonicalBytes(of: record, fields: fields))
        let hex = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
