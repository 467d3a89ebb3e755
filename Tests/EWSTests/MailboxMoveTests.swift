import ConnectorAPI
import ConnectorHost
import Connectors
import ExchangeSim
import Foundation
import Logging
import TestSupport
import Testing

/// A FlowFact user whose mailbox changes (a migration to a new server or mailbox): the ids the
/// state and the sync keys hold belong to the old mailbox, which the new one refuses as foreign.
@Suite("Mailboxes that move", .serialized)
struct MailboxMoveTests {
    func yaml(_ f: ServiceFixture, mailbox: String, state: String) -> String {
        f.yaml(users: "  - { id: MM, flowfact: MM, exchange: \(mailbox) }")
            .replacingOccurrences(of: "\(f.directory.path)/state.sqlite", with: "\(f.directory.path)/\(state)")
            + "\n  - { name: calendar, kind: calendar, source: flowfact, target: exchange }"
    }

    func sync(_ f: ServiceFixture, _ yaml: String) async throws -> [RunReport] {
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: Logger.quiet)
        let reports = await host.syncOnce()
        await host.shutdown()
        return reports
    }

    /// Display names of a mailbox's contacts and appointments, sorted (duplicates stay).
    func names(_ f: ServiceFixture, _ mailbox: String) async throws -> [String] {
        var names: [String] = []
        for kind in [DataKind.address, .calendar] {
            names += try await f.exchangeItems(mailbox, kind: kind).map(\.record.displayName)
        }
        return names.sorted()
    }

    func flowfactNames(_ f: ServiceFixture) async throws -> [String] {
        var names: [String] = []
        for kind in [DataKind.address, .calendar] {
            names += try await f.flowfactItems(user: "MM", kind: kind).map(\.record.displayName)
        }
        return names.sorted()
    }

    @Test(
        "a user remapped to another mailbox, with the state kept or lost: one copy of everything in the new mailbox, no duplicates in FlowFact, the old mailbox untouched",
        arguments: [true, false])
    func remapped(keepState: Bool) async throws {
        let f = try await ServiceFixture(addresses: 6, appointments: 4, tasks: 0)
        defer { Task { await f.server.stop() } }
        let old = "mm@example.test"
        let new = "js@example.test"
        #expect(try await sync(f, yaml(f, mailbox: old, state: "a.sqlite")).allSatisfy { $0.status == .ok })
        // A contact made in Outlook in the old mailbox reaches FlowFact (stamped with the old mailbox's id).
        let outlook = try await f.exchangeEndpoint(old, kind: .address)
        _ = try await outlook.apply([
            .create(
                syncKey: SyncKey(rawValue: "outlook"),
                record: .address(Address(givenName: "Olga", familyName: "Outlook", emails: ["olga@example.test"])))
        ])
        #expect(try await sync(f, yaml(f, mailbox: old, state: "a.sqlite")).allSatisfy { $0.status == .ok })
        let flowfactBefore = try await flowfactNames(f)
        let oldMailbox = try await names(f, old)
        #expect(flowfactBefore.contains("Olga Outlook"))
        #expect(oldMailbox == flowfactBefore)
        #expect(try await names(f, new).isEmpty)

        // The user is moved to the new mailbox.
        let moved = yaml(f, mailbox: new, state: keepState ? "a.sqlite" : "b.sqlite")
        let reports = try await sync(f, moved)
        for report in reports {
            #expect(report.status == .ok, "\(report.job): \(report.message ?? "") \(report.failures.map(\.message))")
        }
        #expect(try await names(f, new) == flowfactBefore)
        #expect(try await flowfactNames(f) == flowfactBefore)
        #expect(try await names(f, old) == oldMailbox)
        // Settled: the next run has nothing to do.
        let again = try await sync(f, moved)
        #expect(again.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(again.map(\.counts))")
        #expect(try await names(f, new) == flowfactBefore)
    }
}
