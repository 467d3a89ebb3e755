import ConnectorHost
import Connectors
import Foundation
import Testing

/// `console:` and the rule that a console reachable from other machines needs a credential.
@Suite("Console settings")
struct ConsoleConfigTests {
    let registry = AdapterRegistry(BuiltinAdapters.all)

    func yaml(service: String, console: String? = nil) -> String {
        """
        service: { \(service) }
        \(console.map { "console: { \($0) }" } ?? "")
        adapters:
          crm: { type: memory }
          mail: { type: memory }
        users:
          - { id: MM, crm: MM, mail: mm@example.test }
        connectors:
          - { name: contacts, kind: address, source: crm, target: mail }
        """
    }

    @Test("the default: loopback, console on, no credential, actions allowed")
    func defaults() throws {
        let deployment = try loadConfig(yaml(service: "concurrency: 1"), registry: registry)
        #expect(deployment.service.metricsAddress == "127.0.0.1:9464")
        #expect(deployment.console.enabled && !deployment.console.readOnly && deployment.console.credential == nil)
        #expect(
            try loadConfig(yaml(service: "metrics_address: \"localhost:9464\""), registry: registry).console.enabled)
        #expect(
            try loadConfig(yaml(service: "metrics_address: \"127.0.0.2:9464\""), registry: registry).console.enabled)
    }

    @Test("an address beyond loopback without a credential is refused at metrics_address's line, naming the keys")
    func exposedNeedsCredential() {
        let problems = configProblems(yaml(service: "metrics_address: \"0.0.0.0:9464\""), registry: registry)
        #expect(problems.count == 1)
        #expect(problems.first?.line == 1, "\(problems)")
        let message = problems.first?.message ?? ""
        #expect(message.contains("metrics_address 0.0.0.0:9464"), "\(message)")
        #expect(message.contains("console: { token_file: PATH }"))
        #expect(message.contains("console: { enabled: false }"))
    }

    @Test("a token (inline, ${ENV}, token_file or its SHA-256) lets it through; a switched-off console needs none")
    func credentials() throws {
        let exposed = "metrics_address: \"10.1.2.3:9464\""
        #expect(
            try loadConfig(yaml(service: exposed, console: "enabled: false"), registry: registry).console.enabled
                == false)
        let env = try loadConfig(
            yaml(service: exposed, console: "token: \"${CONSOLE_TOKEN}\""), registry: registry,
            env: ["CONSOLE_TOKEN": "an-example-token-of-32-characters"])
        #expect(env.console.credential?.accepts("an-example-token-of-32-characters") == true)
        #expect(env.console.credential?.accepts("an-example-token-of-32-characterz") == false)
        #expect("\(env.console.credential!)" == "<redacted>")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString).token")
        try "from-a-file-0123456789\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try loadConfig(yaml(service: exposed, console: "token_file: \(file.path)"), registry: registry)
        #expect(fromFile.console.credential?.accepts("from-a-file-0123456789") == true)
        let hashed = try loadConfig(
            yaml(service: exposed, console: "token_sha256: \(ConsoleConfigTests.sha256("from-a-file-0123456789"))"),
            registry: registry)
        #expect(hashed.console.credential?.accepts("from-a-file-0123456789") == true)
    }

    @Test("refused: a short token, a malformed SHA-256, both forms at once, an unknown key")
    func refused() {
        func message(_ console: String) -> String {
            configProblems(yaml(service: "concurrency: 1", console: console), registry: registry).map(\.message)
                .joined(separator: "\n")
        }
        #expect(message("token: short").contains("at least 16 characters"))
        #expect(message("token_sha256: abc").contains("64 hex digits"))
        #expect(
            message("token: 0123456789abcdef0, token_sha256: \(Self.sha256("x"))").contains("either 'token'"))
        #expect(message("readonly: true").contains("did you mean 'read_only'?"))
    }

    static func sha256(_ text: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }
}
