import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import ODBC
import TestSupport
import Testing

@testable import FlowFactConnector

/// A scope bigger than a page is read whole, once each, past its first page: ids listed a chunk at a
/// time and rows read by id.
@Suite struct ReadPagingTests {
    func read(_ h: Harness, kind: DataKind, filter: String, pages: FlowFactReadPages) async throws -> (
        states: [ItemState], statements: Int
    ) {
        h.connectors = "  - { name: c, kind: \(kind.rawValue), source: flowfact, target: \(h.exchange)\(filter) }"
        let adapter = try FlowFactAdapter.type.make(
            try h.deployment().adapters["flowfact"]!.settings,
            AdapterContext(instanceName: "flowfact", baseDirectory: h.directory, log: { _, _ in }))
        defer { Task { await adapter.shutdown() } }
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "c", kind: kind, role: .source, user: "MM",
                account: FlowFactAdapter.type.account(on: "flowfact", ["user": "MM"])))
        let counter = ODBCStatementCounter()
        let set = try await FlowFactReadPages.$current.withValue(pages) {
            try await ODBCStatistics.$counter.withValue(counter) {
                try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
            }
        }
        let states = set.changes.compactMap { change -> ItemState? in
            if case .upsert(let state) = change { state } else { nil }
        }
        return (states, counter.statements)
    }

    @Test(arguments: TestDatabase.allCases)
    func aScopeOfSeveralPagesIsReadWholeAndOnce(database: TestDatabase) async throws {
        var counts = Harness.counts(users: 2, addresses: 40, appointments: 30, mails: 12)
        counts.syncShare = 1
        let h = try Harness(database, seed: counts)
        let small = FlowFactReadPages(keyset: 4, idList: 7, byID: 3)
        for (kind, filter) in [
            (DataKind.address, ", filter: { merkmale: [Outlook-Sync], user_merkmal: true, match: all }"),
            (.calendar, ""), (.mail, ""),
        ] {
            let whole = try await read(h, kind: kind, filter: filter, pages: FlowFactReadPages())
            let paged = try await read(h, kind: kind, filter: filter, pages: small)
            #expect(whole.states.count > small.keyset + small.idList, "\(kind): enough records for several lists")
            #expect(Set(paged.states.map(\.id)).count == paged.states.count, "\(kind): no record twice")
            #expect(paged.states.map(\.id).sorted() == whole.states.map(\.id).sorted(), "\(kind): the same records")
            let versions = Dictionary(uniqueKeysWithValues: whole.states.map { ($0.id, $0.version) })
            #expect(paged.states.allSatisfy { versions[$0.id] == $0.version }, "\(kind): the same versions")
            if kind == .mail {
                let attachments = { (states: [ItemState]) -> Int in
                    states.reduce(0) { sum, state in
                        if case .mail(let mail) = state.record { sum + mail.attachments.count } else { sum }
                    }
                }
                #expect(attachments(paged.states) == attachments(whole.states), "mail: the same attachments")
            }
            // The first page, then per list of 7 ids one statement and one per 3 of them.
            let rest = whole.states.count - small.keyset
            let lists = rest / small.idList + 1
            let byID = (0..<lists).reduce(0) { sum, list in
                sum + (min(small.idList, rest - list * small.idList) + small.byID - 1) / small.byID
            }
            #expect(paged.statements >= 1 + lists + byID, "\(kind): \(paged.statements) statements")
        }
    }
}
