import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import Testing
import Yams

/// What an adapter declares is what `validate` accepts and what the documents show: a sample
/// value of every declared setting (instance, user account, filter, endpoint options) validates,
/// and so does every YAML example of an adapter instance in README.md and docs/.
@Suite("Adapter specs: every declared and documented setting validates")
struct AdapterSpecTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A valid YAML value of a setting type.
    static func sample(_ type: SettingType) -> String {
        switch type {
        case .string: "\"sample@example.test\""
        case .secret: "\"s3cret\""
        case .integer(let range): "\(range.upperBound)"
        case .boolean: "true"
        case .duration, .positiveDuration: "90s"
        case .url: "\"https://server.example.test/path\""
        case .timeZone: "Europe/Vienna"
        case .oneOf(let values): values.last ?? ""
        case .list(let element): "[\(sample(element)), \(sample(element))]"
        case .mapping(let keys, let value, _): "{ \(keys.first ?? "k"): \(sample(value)) }"
        }
    }

    static func mapping(_ spec: ConfigSpec) -> String {
        "{ " + spec.settings.map { "\($0.name): \(sample($0.type))" }.joined(separator: ", ") + " }"
    }

    func load(_ yaml: String, environment: [String: String] = [:]) throws -> Deployment {
        try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: environment).load(
            yaml: yaml, file: "spec.yaml", baseDirectory: URL(fileURLWithPath: NSTemporaryDirectory()))
    }

    @Test("a sample value of every setting of every registered adapter type validates and is listed")
    func everyDeclaredSetting() throws {
        let listing = ReportFormatter.adapters(AdapterRegistry(BuiltinAdapters.all))
        for type in BuiltinAdapters.all {
            let filter = type.filter.settings.isEmpty ? "" : ", filter: \(Self.mapping(type.filter))"
            let yaml = """
                adapters:
                  a: \(Self.mapping(type.settings).dropLast(2)), type: \(type.name) }
                  b: { type: memory }
                users:
                  - { id: U, a: \(Self.mapping(type.users.settings)), b: u }
                connectors:
                  - { name: c, kind: address, source: a, target: b, direction: source-to-target\(filter), source_options: \(Self.mapping(type.endpointOptions)) }
                """
            do {
                let deployment = try load(yaml)
                let settings = try #require(deployment.adapters["a"]).settings
                for spec in type.settings.settings {
                    #expect(settings.values[spec.name] != nil, "\(type.name): \(spec.name) is read back")
                }
            } catch {
                Issue.record("\(type.name): \(error)\n\(yaml)")
            }
            for spec in type.settings.settings + type.users.settings.settings + type.filter.settings
                + type.endpointOptions.settings
            {
                #expect(listing.contains("    \(spec.name) ("), "\(type.name): 'adapters' lists \(spec.name)")
            }
        }
    }

    /// The YAML examples in the documents that are adapter instances (`name: { type: <registered> … }`).
    static func documentedInstances() throws -> [(file: String, yaml: String)] {
        let registered = Set(BuiltinAdapters.all.map(\.name))
        var result: [(String, String)] = []
        let docs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
        for file in ["README.md"] + docs.sorted() {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for block in text.components(separatedBy: "```yaml\n").dropFirst() {
                guard let end = block.range(of: "\n```") else { continue }
                let yaml = String(block[..<end.lowerBound])
                guard case .mapping(let top)? = try? Yams.compose(yaml: yaml),
                    top.allSatisfy({ _, value in
                        if case .mapping(let instance) = value, let type = instance["type"]?.string {
                            registered.contains(type)
                        } else {
                            false
                        }
                    })
                else { continue }
                result.append((file, yaml))
            }
        }
        return result
    }

    @Test("every adapter instance shown in README.md and docs/ validates")
    func everyDocumentedInstance() throws {
        let examples = try Self.documentedInstances()
        #expect(examples.count >= 3, "the ews, Autodiscover and FlowFact examples are found")
        #expect(examples.contains { $0.yaml.contains("autodiscover_url:") })
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("doc-secret-\(UUID().uuidString)")
        try "secret\n".write(to: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: secret) }
        for (file, yaml) in examples {
            // Secret files the example names are stood in for; ${VARS} get a value.
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                if let range = line.range(of: #"_file: \S+"#, options: .regularExpression) {
                    let key = line[range].prefix { $0 != ":" }
                    return line.replacingCharacters(in: range, with: "\(key): \(secret.path)")
                }
                return String(line)
            }
            var environment: [String: String] = [:]
            for match in yaml.matches(of: /\$\{([A-Z_]+)\}/) { environment[String(match.1)] = "value" }
            let config =
                "adapters:\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\nusers: []\nconnectors: []\n"
            do {
                _ = try load(config, environment: environment)
            } catch {
                Issue.record("\(file): the example does not validate: \(error)\n\(yaml)")
            }
        }
    }
}
