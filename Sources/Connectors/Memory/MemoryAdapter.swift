import ConnectorAPI
import Foundation
import Synchronization

/// The `memory` adapter: items held in memory (optionally saved to a JSON file per collection).
///
/// It is a complete two-way endpoint for every data kind. Tests use it as the engine's test double,
/// and it lets anyone try a `connectors.yaml` wiring without a database or an Exchange server.
/// Collections are partitioned per kind and per account (a user's `account` on the instance).
public final class MemoryAdapter: Adapter {
    /// Settings of an instance: each declared once (spec, default and reading).
    struct InstanceSettings {
        let directory = Setting<String?>.string(
            "directory", doc: "Folder for one JSON file per collection; in memory only when absent.")
        let readOnly = Setting<Bool>.boolean("read_only", default: false, doc: "Refuse writes (like a read-only side).")
        let batchSize = Setting<Int>.integer("batch_size", in: 1...10_000, default: 100, doc: "Largest write batch.")
    }

    /// A user's account: any name.
    struct AccountSettings {
        let account = Setting<String?>.string(
            "account", required: true,
            doc: "The user's name here (any text, e.g. a mailbox address): one collection per kind and account.")
    }

    /// A connector's `filter:` when this adapter is its source.
    struct Filter {
        let tags = Setting<[String]>.list(
            "tags", doc: "Only items carrying any of these tags (stand-ins for Merkmale).")
    }

    /// A connector's `source_options:` / `target_options:`.
    struct Options {
        let collection = Setting<String?>.string("collection", doc: "Collection name instead of the kind's name.")
    }

    static let settingsDeclared = InstanceSettings()
    static let accountDeclared = AccountSettings()
    static let filterDeclared = Filter()
    static let optionsDeclared = Options()

    /// The registration of the `memory` type.
    public static let type = AdapterType(
        name: "memory",
        summary: "Items held in memory, optionally saved as JSON files; for tests, demos and trying out a wiring.",
        settings: ConfigSpec(declaredIn: settingsDeclared),
        users: UserSpec(
            settings: ConfigSpec(declaredIn: accountDeclared),
            primaryKey: "account", formerKeys: ["mailbox": .setting("account")],
            accountName: { $0[accountDeclared.account] ?? "" },
            validate: { settings in
                (settings[accountDeclared.account] ?? "").isEmpty ? [("account", "is empty")] : []
            }),
        filter: ConfigSpec(declaredIn: filterDeclared),
        endpointOptions: ConfigSpec(declaredIn: optionsDeclared),
        capabilities: { settings in
            let readOnly = settings[settingsDeclared.readOnly]
            return Capabilities(kinds: Set(DataKind.allCases), canWrite: !readOnly, canDelete: !readOnly)
        },
        make: { settings, context in
            let directory = settings[settingsDeclared.directory].map {
                URL(fileURLWithPath: $0, relativeTo: context.baseDirectory).standardizedFileURL
            }
            return MemoryAdapter(
                instance: context.instanceName, directory: directory, batchSize: settings[settingsDeclared.batchSize])
        })

    let instance: String
    let directory: URL?
    let batchSize: Int

    init(instance: String, directory: URL?, batchSize: Int) {
        self.instance = instance
        self.directory = directory
        self.batchSize = batchSize
    }

    /// Stores shared by every adapter instance of this process, by instance and collection name,
    /// so tests can reach the data the adapter works on.
    private static let stores = Mutex([String: MemoryStore]())

    /// The store of an instance's collection; created empty on first use.
    public static func store(instance: String, collection: String, directory: URL? = nil) throws -> MemoryStore {
        let key = "\(instance)/\(collection)"
        return try stores.withLock { stores in
            if let store = stores[key] { return store }
            let file = directory.map {
                $0.appendingPathComponent(collection.replacingOccurrences(of: "/", with: "_") + ".json")
            }
            if let directory {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            let store = try MemoryStore(path: file)
            stores[key] = store
            return store
        }
    }

    /// Forgets every store (between tests).
    public static func reset() { stores.withLock { $0.removeAll() } }

    /// The collection name a scope maps to.
    public func collection(for scope: EndpointScope) -> String {
        let base = scope.options[Self.optionsDeclared.collection] ?? scope.kind.rawValue
        return "\(base)/\(scope.account.name)"
    }

    public func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint {
        let store = try Self.store(instance: instance, collection: collection(for: scope), directory: directory)
        return store.endpoint(
            kind: scope.kind, tags: Set(scope.filter[Self.filterDeclared.tags]), maxBatchSize: batchSize)
    }

    public func shutdown() async {}
}

/// One collection of a `MemoryStore` seen as a sync endpoint.
struct MemoryEndpoint: SyncEndpoint {
    let store: MemoryStore
    let kind: DataKind
    let tags: Set<String>
    let maxBatchSize: Int

    func inScope(_ item: MemoryItem) -> Bool {
        item.record.kind == kind && (tags.isEmpty || !item.tags.isDisjoint(with: tags))
    }

    func changes(_ request: ChangeRequest) async throws -> ChangeSet {
        try store.changes(since: request.cursor, inScope: inScope)
    }

    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        try store.read(ids: ids).filter { store.item($0.key).map(inScope) ?? false }
    }

    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        // Items created through a filtered endpoint carry its tags so they stay in scope.
        try store.apply(batch, tags: tags.isEmpty ? [] : [tags.sorted()[0]])
    }

    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] {
        try store.find(syncKeys: syncKeys)
    }
}
