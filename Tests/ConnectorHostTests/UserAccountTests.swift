import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import Testing

/// `users:`: each user an id and an account per adapter instance, as the adapter types declare them.
@Suite("users: accounts declared by the adapters")
struct UserAccountTests {
    static let adapters = """
        adapters:
          flowfact: { type: flowfact-odbc, connection: "Driver=SQLite3;Database=/tmp/none.sqlite" }
          exchange: { type: ews, url: "https://mail.example.test/EWS/Exchange.asmx", username: svc, password: pw }
          stale: { type: ews, url: "https://old.example.test/EWS/Exchange.asmx", username: svc, password: pw }
        """
    static let connectors = """
        connectors:
          - { name: contacts, kind: address, source: flowfact, target: exchange }
        """

    func yaml(_ users: String) -> String { Self.adapters + "\nusers:\n" + users + "\n" + Self.connectors }

    func load(_ yaml: String) throws -> Deployment {
        try loadConfig(yaml, registry: AdapterRegistry(BuiltinAdapters.all))
    }

    func problems(_ yaml: String) -> [ConfigDiagnostic] {
        configProblems(yaml, registry: AdapterRegistry(BuiltinAdapters.all))
    }

    @Test("a scalar fills the adapter's primary key; the long form carries the rest; names are the adapters'")
    func shortAndLongForm() throws {
        let deployment = try load(
            yaml(
                """
                  - { id: MM, flowfact: mm, exchange: M.Mueller@Example.test }
                  - id: JS
                    flowfact: JS
                    exchange: { mailbox: js@example.test, url: "https://mail2.example.test/EWS/Exchange.asmx" }
                    enabled: false
                """))
        let mm = try #require(deployment.users.first { $0.binding.id == "MM" })
        #expect(
            mm.binding.account(on: "flowfact")?.name == "MM", "FlowFact names users by their short name in capitals")
        #expect(mm.binding.account(on: "flowfact")?.settings.string("user") == "mm")
        #expect(mm.binding.account(on: "exchange")?.name == "m.mueller@example.test", "EWS: the address in lower case")
        #expect(mm.binding.account(on: "exchange")?.settings.string("mailbox") == "M.Mueller@Example.test")
        let js = try #require(deployment.users.first { $0.binding.id == "JS" })
        #expect(!js.enabled)
        #expect(
            js.binding.account(on: "exchange")?.settings.string("url") == "https://mail2.example.test/EWS/Exchange.asmx"
        )
    }

    @Test("an entry of the form before accounts is refused with that very entry in the new form")
    func formerEntry() {
        let found = problems(
            yaml(
                """
                  - { flowfact: MM, mailbox: mm@example.test }
                  - { flowfact: JS, mailbox: js@example.test, ews_url: "https://mail2.example.test/EWS/Exchange.asmx", enabled: false }
                  - { flowfact: KB, mailbox: kb@example.test, exchange: stale }
                """))
        let messages = found.map(\.description)
        #expect(found.count == 3, "\(messages)")
        #expect(
            messages.contains {
                $0.hasPrefix("connectors.yaml:6:5: ")
                    && $0.hasSuffix("- { id: MM, flowfact: MM, exchange: mm@example.test }")
            }, "\(messages)")
        #expect(
            messages.contains {
                $0.hasPrefix("connectors.yaml:7:5: ")
                    && $0.hasSuffix(
                        "- { id: JS, flowfact: JS, exchange: { mailbox: js@example.test, url: https://mail2.example.test/EWS/Exchange.asmx }, enabled: false }"
                    )
            }, "\(messages)")
        #expect(
            messages.contains {
                $0.hasPrefix("connectors.yaml:8:5: ")
                    && $0.hasSuffix("- { id: KB, flowfact: KB, stale: kb@example.test }")
            }, "\(messages)")
    }

    @Test("an account's keys are checked against the adapter's user spec, with positions and suggestions")
    func accountKeys() {
        let found = problems(
            yaml(
                """
                  - id: MM
                    flowfact: MM
                    exchange: { mailbx: mm@example.test, url: "not a url" }
                """))
        let messages = found.map(\.description)
        #expect(
            messages.contains { $0.hasPrefix("connectors.yaml:8:17: ") && $0.contains("did you mean 'mailbox'") },
            "\(messages)")
        #expect(messages.contains { $0.contains("'url'") }, "\(messages)")
        #expect(messages.contains { $0.contains("missing required setting 'mailbox'") }, "\(messages)")
    }

    @Test("an account belongs to one user; an id is used once; a user needs an account; unknown instances are named")
    func ownership() {
        let found = problems(
            yaml(
                """
                  - { id: MM, flowfact: MM, exchange: mm@example.test }
                  - { id: KB, flowfact: KB, exchange: MM@example.test }
                  - { id: mm, flowfact: XX, exchange: xx@example.test }
                  - { id: AZ }
                  - { id: JS, flowfact: JS, exchnge: js@example.test }
                """))
        let messages = found.map(\.description)
        #expect(messages.contains { $0.contains("account 'mm@example.test' is user 'MM's already") }, "\(messages)")
        #expect(messages.contains { $0.contains("user id 'mm' is used twice") }, "\(messages)")
        #expect(messages.contains { $0.contains("user 'AZ' has no account") }, "\(messages)")
        #expect(messages.contains { $0.contains("unknown key 'exchnge'") && $0.contains("did you mean 'exchange'") })
    }

    @Test("a connector runs for the users with accounts on both its instances")
    func selection() async throws {
        let deployment = try load(
            yaml(
                """
                  - { id: MM, flowfact: MM, exchange: mm@example.test }
                  - { id: KB, flowfact: KB, stale: kb@example.test }
                """))
        let host = try SyncHost(deployment: deployment, logger: .init(label: "test"))
        let selected = await host.selection().map { $0.1.binding.id }
        #expect(selected == ["MM"])
        await host.shutdown()
    }
}
