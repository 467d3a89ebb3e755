import ConnectorAPI
import Connectors
import Foundation
import Testing

@testable import ConnectorHost

@Suite("connectors.yaml validation")
struct ConfigTests {
    static let registry: AdapterRegistry = {
        var registry = AdapterRegistry(BuiltinAdapters.all)
        // A read-only type with a secret setting, to check combinations and secrets.
        registry.register(
            AdapterType(
                name: "readonly-test", summary: "test",
                settings: ConfigSpec([
                    SettingSpec("url", .string, required: true, doc: "endpoint"),
                    SettingSpec("password", .secret, doc: "password"),
                    SettingSpec("timeout", .duration, default: "30s", doc: "timeout"),
                ]),
                users: MemoryAdapter.type.users,
                capabilities: { _ in Capabilities(kinds: [.address, .calendar], canWrite: false, canDelete: false) },
                make: { settings, context in try MemoryAdapter.type.make(settings, context) }))
        return registry
    }()

    static let valid = """
        adapters:
          crm: { type: memory }
          mail: { type: memory }
        users:
          - { id: MM, crm: MM, mail: m@example.test }
        connectors:
          - { name: contacts, kind: address, source: crm, target: mail }

        """

    func load(_ yaml: String, env: [String: String] = [:]) throws -> Deployment {
        try loadConfig(yaml, registry: Self.registry, env: env)
    }

    /// The diagnostics for `yaml`, which must be invalid.
    func problems(_ yaml: String, env: [String: String] = [:]) -> [ConfigDiagnostic] {
        configProblems(yaml, registry: Self.registry, env: env)
    }

    /// Asserts exactly one problem, positioned at the first occurrence of `token` in `yaml`, whose
    /// message contains `text`.
    func expectProblem(
        _ yaml: String, at token: String, _ text: String, env: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let lines = yaml.components(separatedBy: "\n")
        guard let lineIndex = lines.firstIndex(where: { $0.contains(token) }),
            let range = lines[lineIndex].range(of: token)
        else {
            Issue.record("token \(token) not in the YAML", sourceLocation: sourceLocation)
            return
        }
        let line = lineIndex + 1
        let column = lines[lineIndex].distance(from: lines[lineIndex].startIndex, to: range.lowerBound) + 1
        let found = problems(yaml, env: env)
        #expect(found.count == 1, "\(found)", sourceLocation: sourceLocation)
        guard let problem = found.first else { return }
        #expect(problem.line == line && problem.column == column, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.message.contains(text), "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.description.hasPrefix("connectors.yaml:\(line):\(column): "), sourceLocation: sourceLocation)
    }

    @Test func validFileLoads() throws {
        let deployment = try load(Self.valid)
        #expect(deployment.connectors.count == 1)
        #expect(deployment.connectors[0].definition.direction == .twoWay)
        #expect(deployment.users[0].binding.account(on: "mail")?.name == "m@example.test")
    }

    @Test("a time zone setting is checked by validate, with a suggestion, for every adapter that has one")
    func timeZones() throws {
        let yaml = Self.valid.replacingOccurrences(
            of: "crm: { type: memory }",
            with: "crm: { type: memory }\n  ff: { type: flowfact-odbc, connection: x, timezone: europe/berlin }")
        expectProblem(
            yaml, at: "europe/berlin",
            "must be a time zone such as Europe/Berlin or UTC, not 'europe/berlin'; did you mean 'Europe/Berlin'?")
        let ews = Self.valid.replacingOccurrences(
            of: "crm: { type: memory }",
            with:
                "crm: { type: memory }\n  ex: { type: ews, url: \"https://mail.example.test/EWS/Exchange.asmx\", username: svc, timezone: Mars/Olympus }"
        )
        expectProblem(ews, at: "Mars/Olympus", "must be a time zone")
        let fine = Self.valid.replacingOccurrences(
            of: "crm: { type: memory }",
            with: "crm: { type: memory }\n  ff: { type: flowfact-odbc, connection: x, timezone: America/New_York }")
        let settings = try #require(try load(fine).adapters["ff"]).settings
        #expect(settings.string("timezone") == "America/New_York")
    }

    @Test("1: YAML syntax error") func syntax() {
        expectProblem(
            "adapters:\n  crm: { type: memory\nusers: []\n", at: ": []", "YAML syntax: while parsing a flow mapping")
    }

    @Test("2: unknown top-level key, with a suggestion") func unknownTopLevel() {
        expectProblem(Self.valid + "conectors: []\n", at: "conectors", "did you mean 'connectors'")
    }

    @Test("3: unknown adapter type") func unknownType() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "crm: { type: memory }", with: "crm: { type: memroy }"), at: "memroy",
            "unknown adapter type 'memroy'")
    }

    @Test("4: unknown adapter setting") func unknownSetting() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "crm: { type: memory }", with: "crm: { type: memory, batchsize: 5 }"),
            at: "batchsize", "unknown key 'batchsize'")
    }

    @Test("5: wrong type for a setting") func wrongType() {
        expectProblem(
            Self.valid.replacingOccurrences(
                of: "crm: { type: memory }", with: "crm: { type: memory, batch_size: many }"), at: "many",
            "must be a whole number")
    }

    @Test("6: value out of range") func outOfRange() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "crm: { type: memory }", with: "crm: { type: memory, batch_size: 0 }"),
            at: "0 }", "between 1 and 10000")
    }

    /// The valid configuration with an `ews` adapter as the target, with extra settings.
    static func ews(_ settings: String) -> String {
        valid.replacingOccurrences(
            of: "mail: { type: memory }",
            with:
                "mail: { type: ews, url: \"https://mail.example.test/EWS/Exchange.asmx\", username: svc, \(settings) }")
    }

    @Test("6b: settings that could never work: an empty or relative URL, a zero timeout or interval")
    func neverWorking() throws {
        // The valid form loads, with autodiscover_url (declared, so usable from YAML).
        _ = try load(Self.ews("autodiscover_url: \"https://autodiscover.example.test/autodiscover/autodiscover.xml\""))
        expectProblem(
            Self.valid.replacingOccurrences(
                of: "mail: { type: memory }", with: "mail: { type: ews, url: \"\", username: svc }"),
            at: "\"\"", "'url' is empty; give an absolute URL")
        expectProblem(
            Self.valid.replacingOccurrences(
                of: "mail: { type: memory }", with: "mail: { type: ews, url: mail.example.test/EWS, username: svc }"),
            at: "mail.example.test/EWS", "must be an absolute http:// or https:// URL with a host")
        expectProblem(Self.ews("timeout: 0s"), at: "0s", "'timeout' must be longer than 0s")
        expectProblem(Self.ews("autodiscover_url: ftp://x"), at: "ftp://x", "'autodiscover_url' must be an absolute")
        expectProblem(
            Self.valid.replacingOccurrences(of: "target: mail }", with: "target: mail, interval: 0s }"), at: "0s",
            "interval must be longer than 0s")
    }

    @Test("7: missing required setting") func missingRequired() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "mail: { type: memory }", with: "mail: { type: readonly-test }")
                .replacingOccurrences(of: "target: mail }", with: "target: mail, direction: target-to-source }"),
            at: "{ type: readonly-test }", "missing required setting 'url'")
    }

    @Test("8: connector references an unknown adapter") func unknownReference() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "target: mail", with: "target: mial"), at: "mial",
            "target 'mial' is not defined")
    }

    @Test("9: unknown kind") func unknownKind() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "kind: address", with: "kind: contact"), at: "contact,",
            "kind must be one of address")
    }

    @Test("10: two-way against a read-only adapter") func twoWayReadOnly() {
        let yaml = Self.valid.replacingOccurrences(
            of: "mail: { type: memory }", with: "mail: { type: readonly-test, url: x }"
        )
        .replacingOccurrences(of: "target: mail }", with: "target: mail, direction: two-way }")
        expectProblem(yaml, at: "two-way", "needs to write to 'mail', which is read-only")
    }

    @Test("11: a kind the adapter cannot hold") func kindNotHeld() {
        let yaml = Self.valid.replacingOccurrences(
            of: "mail: { type: memory }", with: "mail: { type: readonly-test, url: x }"
        )
        .replacingOccurrences(
            of: "kind: address, source: crm, target: mail }",
            with: "kind: task, source: mail, target: crm, direction: source-to-target }")
        expectProblem(yaml, at: "task,", "cannot hold task")
    }

    @Test("12: duplicate connector name") func duplicateConnector() {
        expectProblem(
            Self.valid + "  - { name: contacts, kind: task, source: crm, target: mail }\n",
            at: "{ name: contacts, kind: task", "used twice")
    }

    @Test("13: mailbox that is not an address (the ews adapter's user spec)") func badMailbox() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "m@example.test", with: "mueller").replacingOccurrences(
                of: "mail: { type: memory }",
                with:
                    "mail: { type: ews, url: \"https://mail.example.test/EWS/Exchange.asmx\", username: u, password: p }"
            ), at: "mueller",
            "user 'MM': mail: mailbox 'mueller' is not an e-mail address")
    }

    @Test("14: environment variable not set") func missingEnv() {
        let yaml = Self.valid.replacingOccurrences(
            of: "mail: { type: memory }", with: "mail: { type: readonly-test, url: x, password: \"${EWS_PASSWORD}\" }"
        )
        .replacingOccurrences(of: "target: mail }", with: "target: mail, direction: target-to-source }")
        expectProblem(yaml, at: "\"${EWS_PASSWORD}\"", "environment variable EWS_PASSWORD is not set")
    }

    @Test("15: unreadable secret file") func missingSecretFile() {
        let yaml = Self.valid.replacingOccurrences(
            of: "mail: { type: memory }", with: "mail: { type: readonly-test, url: x, password_file: /nonexistent/pw }"
        )
        .replacingOccurrences(of: "target: mail }", with: "target: mail, direction: target-to-source }")
        expectProblem(yaml, at: "/nonexistent/pw", "cannot read secret file")
    }

    @Test("16: unknown field in a field mapping") func unknownField() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "target: mail }", with: "target: mail, fields: { note: none } }"),
            at: "note: none", "did you mean 'notes'")
    }

    @Test("17: bad enum value with suggestion") func badPolicy() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "target: mail }", with: "target: mail, conflict: newest-win }"),
            at: "newest-win }", "did you mean 'newest-wins'")
    }

    @Test("18: user mapped twice") func duplicateUser() {
        expectProblem(
            Self.valid.replacingOccurrences(
                of: "  - { id: MM, crm: MM, mail: m@example.test }",
                with: "  - { id: MM, crm: MM, mail: m@example.test }\n  - { id: mm, crm: XX, mail: x@example.test }"),
            at: "mm, crm: XX", "user id 'mm' is used twice")
    }

    @Test("19: filter key the source adapter does not know") func badFilter() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "target: mail }", with: "target: mail, filter: { merkmale: [A] } }"),
            at: "merkmale", "unknown key 'merkmale'")
    }

    @Test("20: explicit propagate to a side that cannot delete") func propagateToReadOnly() {
        let yaml = Self.valid.replacingOccurrences(
            of: "crm: { type: memory }", with: "crm: { type: readonly-test, url: x }"
        )
        .replacingOccurrences(of: "target: mail }", with: "target: mail, direction: source-to-target }")
        .replacingOccurrences(of: "source: crm, target: mail", with: "source: mail, target: crm")
        let found = problems(yaml)
        #expect(found.contains { $0.message.contains("needs to write to 'crm'") && $0.line == 7 })
    }

    @Test("21: deletion 'mark' on a connector that is not for mail") func markOutsideMail() {
        expectProblem(
            Self.valid.replacingOccurrences(of: "target: mail }", with: "target: mail, deletion: { target: mark } }"),
            at: "mark", "'mark' is for mail connectors only")
    }

    @Test("mail connectors keep CRM mails by default: mark deletions from the mailbox, unlink the other way")
    func mailDefaults() throws {
        let deployment = try load(
            Self.valid.replacingOccurrences(
                of: "{ name: contacts, kind: address, source: crm, target: mail }",
                with: "{ name: mails, kind: mail, source: crm, target: mail }"))
        let definition = try #require(deployment.connectors.first?.definition)
        #expect(definition.targetDeletion == .mark)
        #expect(definition.sourceDeletion == .unlink)
    }

    @Test("all problems are reported at once, in file order") func allAtOnce() {
        let yaml = """
            adapters:
              crm: { type: memroy }
            users:
              - { flowfact: MM, mailbox: nope }
            connectors:
              - { name: contacts, kind: adress, source: crm, target: mail }
            extra: 1
            """
        let found = problems(yaml)
        #expect(found.count >= 4)
        #expect(found.map(\.line) == found.map(\.line).sorted())
        #expect(Set(found.map(\.line)).isSuperset(of: [2, 4, 6, 7]))
    }

    @Test("secrets from env and files are resolved and never printed") func secrets() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
        try "s3cr3t-from-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let yaml = Self.valid.replacingOccurrences(
            of: "mail: { type: memory }",
            with: "mail: { type: readonly-test, url: \"https://${HOST}/EWS\", password_file: \(file.path) }"
        ).replacingOccurrences(of: "target: mail }", with: "target: mail, direction: target-to-source }")
        let deployment = try load(yaml, env: ["HOST": "mail.example.test"])
        let settings = try #require(deployment.adapters["mail"]).settings
        #expect(settings.string("url") == "https://mail.example.test/EWS")
        #expect(settings.secret("password")?.value == "s3cr3t-from-file")
        #expect(!"\(settings)".contains("s3cr3t"))
        #expect("\(settings.secret("password")!)" == "<redacted>")
    }

    @Test("a secret in an error message is never echoed") func secretNotEchoed() {
        let yaml = Self.valid.replacingOccurrences(
            of: "mail: { type: memory }", with: "mail: { type: readonly-test, url: x, password: [hunter2] }")
        let found = problems(yaml)
        #expect(!found.isEmpty)
        #expect(!found.map(\.description).joined().contains("hunter2"))
    }

    @Test("profiles narrow capabilities; the engine sees the narrowed set") func profiles() throws {
        let yaml =
            Self.valid.replacingOccurrences(of: "target: mail }", with: "target: mail, profile: safe }")
            + "profiles:\n  safe: { source: { delete: false }, target: { kinds: [address, calendar] } }\n"
        let deployment = try load(yaml)
        let connector = deployment.connectors[0]
        #expect(connector.sourceCapabilities.canDelete == false)
        #expect(connector.targetCapabilities.kinds == [.address, .calendar])
        // Deletions no longer travel to the source: the default turned into unlink.
        #expect(connector.definition.targetDeletion == .unlink)
        #expect(connector.definition.sourceDeletion == .propagate)
    }

    @Test("the example connectors.yaml in the repository validates") func exampleFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let deployment = try ConfigLoader(registry: Self.registry, environment: [:]).load(
            path: root.appendingPathComponent("connectors.yaml").path)
        #expect(
            deployment.connectors.map(\.definition.name) == ["contacts", "calendar", "tasks", "mail-in", "mail-out"])
        let mail = try #require(deployment.connectors.first { $0.definition.name == "mail-in" })
        #expect(mail.definition.targetDeletion == .mark, "a mail deleted in the mailbox is marked in FlowFact")
        #expect(deployment.profiles["blackberry-legacy"] != nil)
    }
}
