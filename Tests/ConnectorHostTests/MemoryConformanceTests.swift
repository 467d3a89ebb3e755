import ConnectorAPI
import Connectors
import EndpointConformance
import Foundation
import Testing

/// The `memory` adapter against the endpoint conformance suite.
struct MemorySubject: ConformanceSubject {
    let instance = "conformance-\(UUID().uuidString.prefix(8))"
    let adapter: any Adapter
    var kinds: [DataKind] { [.address, .calendar, .task, .mail] }

    init() throws {
        adapter = try MemoryAdapter.type.make(
            Settings(["batch_size": .integer(5)]),
            AdapterContext(instanceName: instance, baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
    }

    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint {
        try await adapter.endpoint(
            for: EndpointScope(
                connector: "conformance", kind: kind, role: .target, user: "MM",
                account: MemoryAdapter.type.account(on: instance, ["account": "mm@example.test"])))
    }

    func removeBehind(_ kind: DataKind, id: ItemID) async throws {
        try MemoryAdapter.store(instance: instance, collection: "\(kind.rawValue)/mm@example.test").delete(id)
    }

    func fields(_ kind: DataKind) -> Set<String> { Set(RecordFields.names(for: kind)) }
}

@Suite("Conformance: memory")
struct MemoryConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await check.run(on: try MemorySubject())
    }
}

/// An endpoint with one flaw, to show the suite catches it.
struct FlawedEndpoint: SyncEndpoint {
    enum Flaw: CaseIterable { case ignoresVersions, losesSyncKeys, forgetsDeletions, dropsNotes }
    let inner: any SyncEndpoint
    let flaw: Flaw

    var maxBatchSize: Int { inner.maxBatchSize }

    func damaged(_ state: ItemState) -> ItemState {
        var state = state
        if flaw == .losesSyncKeys { state.syncKey = nil }
        if flaw == .dropsNotes, case .address(var address) = state.record {
            address.notes = nil
            state.record = .address(address)
        }
        return state
    }

    func changes(_ request: ChangeRequest) async throws -> ChangeSet {
        var set = try await inner.changes(request)
        set.changes = set.changes.compactMap { change in
            switch change {
            case .upsert(let state): .upsert(damaged(state))
            case .deleted where flaw == .forgetsDeletions: nil
            default: change
            }
        }
        return set
    }

    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        try await inner.read(ids: ids).mapValues(damaged)
    }

    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        try await inner.apply(
            batch.map { operation in
                if flaw == .ignoresVersions, case .update(let id, _, let record, let fields) = operation {
                    return .update(id: id, expectedVersion: nil, record: record, fields: fields)
                }
                return operation
            })
    }

    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] {
        flaw == .losesSyncKeys ? [:] : try await inner.find(syncKeys: syncKeys).mapValues(damaged)
    }
}

struct FlawedSubject: ConformanceSubject {
    let inner: MemorySubject
    let flaw: FlawedEndpoint.Flaw
    var kinds: [DataKind] { [.address] }
    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint {
        FlawedEndpoint(inner: try await inner.endpoint(kind), flaw: flaw)
    }
    func removeBehind(_ kind: DataKind, id: ItemID) async throws { try await inner.removeBehind(kind, id: id) }
    func fields(_ kind: DataKind) -> Set<String> { inner.fields(kind) }
}

@Suite("Conformance: the suite catches a flawed endpoint")
struct ConformanceSelfTests {
    @Test(arguments: [
        (FlawedEndpoint.Flaw.ignoresVersions, ConformanceCheck.updateWithVersionCheck),
        (.losesSyncKeys, .syncKeys), (.losesSyncKeys, .createAndRead), (.forgetsDeletions, .changeFeed),
        (.dropsNotes, .fieldRoundTrip), (.dropsNotes, .unicodeAndLongFields),
    ])
    func caught(_ flaw: FlawedEndpoint.Flaw, _ check: ConformanceCheck) async throws {
        let subject = FlawedSubject(inner: try MemorySubject(), flaw: flaw)
        await #expect(throws: ConformanceFailure.self) { try await check.run(on: subject) }
    }
}
