import ConnectorAPI
import Connectors
import Foundation
import Logging
import Testing

@testable import ConnectorHost

/// Two memory stores, a temporary state database and a connector between them.
final class Fixture: @unchecked Sendable {
    let directory: URL
    let source: MemoryStore
    let target: MemoryStore
    var store: StateStore
    var definition: ConnectorDefinition
    var sourceTags: Set<String> = []
    var sourceCapabilities = Capabilities(kinds: Set(DataKind.allCases))
    var targetCapabilities = Capabilities(kinds: Set(DataKind.allCases))
    var settings = EngineSettings()
    var hooks = EngineHooks()
    let user = "MM"
    let accounts = (
        source: Account(adapter: "crm", name: "MM"),
        target: Account(adapter: "exchange", name: "m.mueller@example.test")
    )

    init(kind: DataKind = .address, _ configure: (inout ConnectorDefinition) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ch-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        source = try MemoryStore()
        target = try MemoryStore()
        store = try StateStore(path: directory.appendingPathComponent("state.sqlite"))
        var definition = ConnectorDefinition(name: "contacts", kind: kind)
        configure(&definition)
        self.definition = definition
        settings.retryBackoff = .milliseconds(1)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var job: SyncJob {
        SyncJob(
            definition: definition, user: user, accounts: accounts,
            source: source.endpoint(kind: definition.kind, tags: sourceTags),
            target: target.endpoint(kind: definition.kind), sourceCapabilities: sourceCapabilities,
            targetCapabilities: targetCapabilities)
    }

    var engine: SyncEngine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return SyncEngine(store: store, settings: settings, logger: logger, hooks: hooks)
    }

    @discardableResult
    func sync(dryRun: Bool = false) async -> RunReport {
        await engine.run(job, dryRun: dryRun)
    }

    /// Opens the state database again, as a restarted process would.
    func reopenState() throws {
        store = try StateStore(path: directory.appendingPathComponent("state.sqlite"))
    }

    /// Throws away all sync state, as a re-installation would.
    func loseState() throws {
        let path = directory.appendingPathComponent("lost-\(UUID().uuidString).sqlite")
        store = try StateStore(path: path)
    }

    var mappings: [Mapping] { (try? store.mappings(JobKey(connector: definition.name, user: user))) ?? [] }
    var jobKey: JobKey { JobKey(connector: definition.name, user: user) }
}

func contact(_ given: String, _ family: String, email: String? = nil, notes: String? = nil) -> Record {
    .address(Address(givenName: given, familyName: family, emails: email.map { [$0] } ?? [], notes: notes))
}

extension MemoryStore {
    /// Display names of all items, sorted.
    var names: [String] { items.map(\.record.displayName).sorted() }

    func address(named name: String) -> Address? {
        guard case .address(let address)? = items(named: name).first?.record else { return nil }
        return address
    }

    func id(named name: String) -> ItemID? { items(named: name).first?.id }
}
