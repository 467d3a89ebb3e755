import ConnectorAPI
import Connectors
import EndpointConformance
import ExchangeSim
import Foundation
import TestSupport
import Testing

/// The `ews` adapter over HTTP (libcurl) against exchange-sim, under the endpoint conformance suite.
final class EWSSubject: StoppableConformanceSubject, @unchecked Sendable {
    let server: SimServer
    let adapter: any Adapter
    /// A second instance that deletes for good, as another client would behind the endpoint's back.
    let other: any Adapter
    var kinds: [DataKind] { [.address, .calendar, .task] }
    var pagingCount: Int { 12 }

    init() async throws {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "pw")]
        options.impersonation = ["svc@example.test"]
        server = SimServer(service: try SimService(options: options))
        try await server.start()
        adapter = try Self.make(server.url, [:])
        other = try Self.make(server.url, ["delete_type": .string("HardDelete")])
    }

    static func make(_ url: String, _ extra: [String: SettingValue]) throws -> any Adapter {
        try EWSAdapter.type.make(
            Settings(
                [
                    "url": .string(url), "auth": .string("basic"), "username": .string("svc@example.test"),
                    "password": .secret(Secret("pw")), "batch_size": .integer(5), "read_batch_size": .integer(5),
                ].merging(extra) { $1 }),
            AdapterContext(instanceName: "exchange", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
    }

    func scope(_ kind: DataKind) -> EndpointScope {
        EndpointScope(
            connector: "conformance", kind: kind, role: .target, user: "MM",
            account: EWSAdapter.type.account(on: "exchange", ["mailbox": "mm@example.test"]))
    }

    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint { try await adapter.endpoint(for: scope(kind)) }

    func removeBehind(_ kind: DataKind, id: ItemID) async throws {
        let results = try await other.endpoint(for: scope(kind)).apply([.delete(id: id)])
        guard case .success? = results.first else { throw ConformanceFailure(check: "setup", message: "\(results)") }
    }

    func fields(_ kind: DataKind) -> Set<String> {
        EWSAdapter.type.capabilities(Settings()).fields[kind] ?? Set(RecordFields.names(for: kind))
    }

    func stop() async {
        await adapter.shutdown()
        await other.shutdown()
        await server.stop()
    }
}

@Suite("Conformance: ews against exchange-sim", .serialized)
struct EWSConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await await EWSSubject().using { try await check.run(on: $0) }
    }
}
