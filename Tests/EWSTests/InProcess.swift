import ConnectorAPI
import Connectors
import EWS
import ExchangeSim
import Foundation
import Logging
import Synchronization
import TestSupport
import XML

@testable import ConnectorHost
@testable import EWSConnector

/// Calls the simulator's service directly (no HTTP), checking every request against Microsoft's
/// schema on the way, and recording the operations sent.
final class InProcessTransport: EWSTransport, @unchecked Sendable {
    let service: SimService
    let account: String
    let sent = Mutex<[String]>([])
    let invalid = Mutex<[String]>([])

    init(service: SimService, account: String) {
        self.service = service
        self.account = account
    }

    func post(url: String, mailbox: String, body: Data, onBody: @escaping @Sendable (Data) -> Void) async throws -> (
        status: Int, headers: [String: String]
    ) {
        let errors = Schemas.validator.validate(body)
        if !errors.isEmpty { invalid.withLock { $0.append("\(errors) in \(String(decoding: body, as: UTF8.self))") } }
        let root = try XMLStreamParser.parse(body)
        sent.withLock { $0.append(root.child("Body")?.children.first?.name ?? "?") }
        let (status, response) = service.handle(body: body, account: account)
        let responseErrors = Schemas.validator.validate(response)
        if !responseErrors.isEmpty {
            invalid.withLock {
                $0.append("response: \(responseErrors) in \(String(decoding: response, as: UTF8.self))")
            }
        }
        onBody(response)
        return (status, [:])
    }

    func reduceConcurrency() {}

    var operations: [String] { sent.withLock { $0 } }
}

/// A simulator with mailboxes and an EWS endpoint factory over the in-process transport.
struct SimFixture {
    let service: SimService
    let transport: InProcessTransport

    init(
        mailboxes: [String] = ["mm@example.test", "js@example.test"], busyRate: Double = 0, impersonation: Bool = true
    ) throws {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = mailboxes
        options.accounts = [SimAccount(name: "svc@example.test", password: "secret")]
        if impersonation { options.impersonation = ["svc@example.test"] }
        options.busyRate = busyRate
        options.backOffMilliseconds = 1
        service = try SimService(options: options)
        transport = InProcessTransport(service: service, account: "svc@example.test")
    }

    /// A mail endpoint of the Inbox whose attachments go to `spool`, over `transport` (this
    /// fixture's own unless given).
    func mailEndpoint(spool: URL, transport: (any EWSTransport)? = nil) -> EWSEndpoint {
        let client = EWSClient(
            transport: transport ?? self.transport, url: "http://sim/EWS/Exchange.asmx", mailbox: "mm@example.test",
            access: .impersonation, version: "Exchange2010_SP2", throttle: EWSThrottle(), log: { _, _ in })
        return EWSEndpoint(
            client: client, kind: .mail, codec: EWSRecordCodec(zone: TimeZone(identifier: "Europe/Berlin")!),
            folder: EWSFolderResolver(client: client, kind: .mail, subfolder: nil), maxBatchSize: 50,
            maxParallelBatches: 1, readBatchSize: 50, deleteType: "MoveToDeletedItems",
            mail: EWSMailOptions(folder: "inbox", window: nil, spool: spool))
    }

    func endpoint(_ kind: DataKind, mailbox: String = "mm@example.test", folder: String? = nil) -> EWSEndpoint {
        let client = EWSClient(
            transport: transport, url: "http://sim/EWS/Exchange.asmx", mailbox: mailbox, access: .impersonation,
            version: "Exchange2010_SP2", throttle: EWSThrottle(), log: { _, _ in })
        return EWSEndpoint(
            client: client, kind: kind, codec: EWSRecordCodec(zone: TimeZone(identifier: "Europe/Berlin")!),
            folder: EWSFolderResolver(client: client, kind: kind, subfolder: folder), maxBatchSize: 50,
            maxParallelBatches: 4,
            readBatchSize: 50,
            deleteType: "MoveToDeletedItems")
    }
}
