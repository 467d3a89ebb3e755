import ConnectorAPI
import Crypto
import Foundation

/// The operator's console, from `console:`: web pages served beside `/metrics` and `/health` on
/// `service.metrics_address`.
public struct ConsoleSettings: Sendable, Hashable {
    /// False serves no console pages (`/metrics` and `/health` stay).
    public var enabled = true
    /// Shows everything and offers no action; a POST is refused.
    public var readOnly = false
    /// The credential every console request must carry when one is set (the password of HTTP Basic
    /// authentication, any user name, or an `Authorization: Bearer` token). Required when the
    /// address is not a loopback address.
    public var credential: ConsoleCredential?
    public init() {}
}

/// A console credential: the token itself (`token`, `${ENV}` or `token_file`) or its SHA-256
/// (`token_sha256`), so the configuration need not hold the token.
public struct ConsoleCredential: Sendable, Hashable, CustomStringConvertible {
    /// SHA-256 of the token.
    let digest: [UInt8]

    /// A credential that accepts `token`.
    public init(token: Secret) { digest = Array(SHA256.hash(data: Data(token.value.utf8))) }

    /// A credential given by the token's SHA-256 as 64 hex digits; nil for anything else.
    public init?(sha256 hex: String) {
        let text = hex.lowercased()
        guard text.count == 64, text.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        digest = bytes
    }

    /// Whether `candidate` is the token; compares digests in constant time.
    public func accepts(_ candidate: String) -> Bool {
        let other = Array(SHA256.hash(data: Data(candidate.utf8)))
        return zip(digest, other).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    public var description: String { "<redacted>" }
}

extension ServiceSettings {
    /// Whether `metricsAddress` is bound to a loopback address only (127.0.0.0/8, ::1, localhost).
    public var isLoopbackOnly: Bool {
        guard let address = metricsAddress else { return true }
        return ConsoleSettings.isLoopback(host: ServiceSettings.host(of: address))
    }

    /// The host part of `HOST:PORT` (`[::1]:9464` gives `::1`).
    static func host(of address: String) -> String {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<close])
        }
        return String(address.split(separator: ":").first ?? "")
    }
}

extension ConsoleSettings {
    /// Whether a host name or address is this machine's loopback.
    public static func isLoopback(host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        if host.hasPrefix("::ffff:") { return isLoopback(host: String(host.dropFirst(7))) }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
