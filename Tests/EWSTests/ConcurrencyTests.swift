import ConnectorAPI
import Connectors
import ExchangeSim
import Foundation
import TestSupport
import Testing

@testable import EWSConnector

@Suite("EWS adapter under concurrency")
struct EWSConcurrencyTests {
    @Test("parallel requests for different mailboxes never get each other's answers")
    func noCrossTalk() async throws {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = (0..<6).map { "u\($0)@example.test" }
        options.accounts = [SimAccount(name: "svc@example.test", password: "pw")]
        options.impersonation = ["svc@example.test"]
        options.latency = .milliseconds(5)
        let server = SimServer(service: try SimService(options: options))
        try await server.start()
        defer { Task { await server.stop() } }
        let settings = Settings([
            "url": .string(server.url), "auth": .string("basic"), "username": .string("svc@example.test"),
            "password": .secret(Secret("pw")),
            "max_concurrency": .integer(8),
        ])
        let adapter = try EWSAdapter.type.make(
            settings, AdapterContext(instanceName: "x", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
        let results = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for round in 0..<5 {
                for mailbox in options.mailboxes {
                    group.addTask {
                        let endpoint = try await adapter.endpoint(
                            for: EndpointScope(
                                connector: "c\(round)", kind: .address, role: .target,
                                user: "X", account: EWSAdapter.type.account(on: "exchange", ["mailbox": mailbox])))
                        let id = try await (endpoint as! EWSEndpoint).folder.id()
                        return (mailbox, String(decoding: Data(base64Encoded: id) ?? Data(), as: UTF8.self))
                    }
                }
            }
            var all: [(String, String)] = []
            for try await result in group { all.append(result) }
            return all
        }
        await adapter.shutdown()
        #expect(results.count == 30)
        for (mailbox, folder) in results { #expect(folder.contains(mailbox), "\(mailbox) got \(folder)") }
    }
}
