import ConnectorAPI
import Foundation
import Yams

extension Validation {
    static let consoleSpec = ConfigSpec([
        SettingSpec("enabled", .boolean, default: "true", doc: "serve the operator's console beside /metrics"),
        SettingSpec("read_only", .boolean, default: "false", doc: "show everything, offer no action"),
        SettingSpec("token", .secret, doc: "the credential console requests must carry (HTTP Basic password)"),
        SettingSpec("token_sha256", .string, doc: "the token's SHA-256 (64 hex digits) instead of the token"),
    ])

    /// `console:`; `section` is nil when the file has none. A console on an address beyond loopback
    /// must have a credential: the error names `service: metrics_address` where it is set.
    func consoleSettings(
        _ section: (keyNode: Node, value: Node)?, service: ServiceSettings, serviceNode: Node?,
        _ reader: inout YAMLReader
    ) -> ConsoleSettings {
        var result = ConsoleSettings()
        if let section, let pairs = reader.mapping(section.value, "console") {
            let settings = reader.settings(pairs, spec: Self.consoleSpec, at: section.value, "console")
            result.enabled = settings.boolean("enabled") ?? true
            result.readOnly = settings.boolean("read_only") ?? false
            let token = settings.secret("token")
            let digest = settings.string("token_sha256")
            if token != nil, digest != nil {
                reader.error(
                    section.keyNode, "console: give either 'token' (or 'token_file') or 'token_sha256', not both")
            }
            if let token {
                if token.value.count < 16 {
                    reader.error(
                        section.value, "console: the token must have at least 16 characters (e.g. openssl rand -hex 16)"
                    )
                }
                result.credential = ConsoleCredential(token: token)
            } else if let digest, let node = pairs.first(where: { $0.key == "token_sha256" })?.value {
                result.credential = ConsoleCredential(sha256: digest)
                if result.credential == nil {
                    reader.error(node, "console: token_sha256 must be 64 hex digits (sha256sum of the token)")
                }
            }
        }
        if result.enabled, result.credential == nil, !service.isLoopbackOnly, let address = service.metricsAddress {
            reader.error(
                serviceNode ?? section?.keyNode,
                "service: metrics_address \(address) is reachable from other machines, so the console needs a "
                    + "credential: set console: { token_file: PATH } (or token_sha256), bind to 127.0.0.1, "
                    + "or switch the console off with console: { enabled: false }")
        }
        return result
    }
}
