import ConnectorHost
import Foundation
import Testing

/// Loads `connectors.yaml` text as the tests' file `connectors.yaml` in the temporary folder.
func loadConfig(_ yaml: String, registry: AdapterRegistry, env: [String: String] = [:]) throws -> Deployment {
    try ConfigLoader(registry: registry, environment: env).load(
        yaml: yaml, file: "connectors.yaml", baseDirectory: URL(fileURLWithPath: NSTemporaryDirectory()))
}

/// The diagnostics for `yaml`, which must be invalid (recorded as an issue when it loads).
func configProblems(_ yaml: String, registry: AdapterRegistry, env: [String: String] = [:]) -> [ConfigDiagnostic] {
    do {
        _ = try loadConfig(yaml, registry: registry, env: env)
        Issue.record("expected the configuration to be rejected")
        return []
    } catch let error as ConfigError {
        return error.diagnostics
    } catch {
        Issue.record("unexpected error \(error)")
        return []
    }
}
