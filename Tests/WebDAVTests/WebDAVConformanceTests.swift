import ConnectorAPI
import Connectors
import EndpointConformance
import ExchangeSim
import Foundation
import TestSupport
import Testing

/// The `exchange-webdav` adapter over HTTP (libcurl) against exchange-sim speaking Exchange
/// 2003/2007 WebDAV, under the endpoint conformance suite.
final class WebDAVSubject: StoppableConformanceSubject, @unchecked Sendable {
    let server: SimServer
    let adapter: any Adapter
    /// A second instance, as another client deleting behind the endpoint's back.
    let other: any Adapter
    var kinds: [DataKind] { [.address, .calendar, .task] }
    var pagingCount: Int { 23 }

    init(configure: (inout SimOptions) -> Void = { _ in }) async throws {
        let (server, base) = try await webdavServer(configure: configure)
        self.server = server
        adapter = try Self.make(base + "/exchange/")
        other = try Self.make(base + "/exchange/")
    }

    static func make(_ url: String, _ extra: [String: SettingValue] = [:]) throws -> any Adapter {
        try WebDAVAdapter.type.make(
            Settings(
                [
                    "url": .string(url), "auth": .string("basic"), "username": .string("svc"),
                    "password": .secret(Secret("pw")), "batch_size": .integer(5), "page_size": .integer(10),
                ].merging(extra) { $1 }),
            AdapterContext(instanceName: "legacy", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
    }

    func scope(_ kind: DataKind) -> EndpointScope {
        EndpointScope(
            connector: "conformance", kind: kind, role: .target, user: "JD",
            account: WebDAVAdapter.type.account(on: "legacy", ["mailbox": "jdoe"]))
    }

    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint { try await adapter.endpoint(for: scope(kind)) }

    func removeBehind(_ kind: DataKind, id: ItemID) async throws {
        let results = try await other.endpoint(for: scope(kind)).apply([.delete(id: id)])
        guard case .success? = results.first else { throw ConformanceFailure(check: "setup", message: "\(results)") }
    }

    func fields(_ kind: DataKind) -> Set<String> {
        WebDAVAdapter.type.capabilities(Settings()).fields[kind] ?? Set(RecordFields.names(for: kind))
    }

    func stop() async {
        await adapter.shutdown()
        await other.shutdown()
        await server.stop()
    }
}

@Suite("Conformance: exchange-webdav against exchange-sim", .serialized)
struct WebDAVConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await await WebDAVSubject().using { try await check.run(on: $0) }
    }

    @Test("Conformance holds with the escaped MAPI names too (a server or proxy that rewrites them)")
    func escapedNames() async throws {
        let subject = try await WebDAVSubject { $0.davDigitNames = false }
        do {
            try await ConformanceCheck.fieldRoundTrip.run(on: subject)
        } catch {
            await subject.stop()
            throw error
        }
        await subject.stop()
    }
}
