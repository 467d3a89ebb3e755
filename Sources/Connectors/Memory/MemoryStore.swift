import ConnectorAPI
import Foundation
import Synchronization

/// An item held by a `MemoryStore`.
public struct MemoryItem: Codable, Sendable, Hashable {
    public var id: ItemID
    public var version: Int
    public var record: Record
    public var modifiedAt: Date
    public var syncKey: SyncKey?
    /// Tags standing in for FlowFact's Merkmale, for filter tests and demos.
    public var tags: Set<String>
}

/// A collection of items of one kind with a change log: the data behind the `memory` adapter.
///
/// It behaves like a well-mannered remote side (versions bump on every write, deletions are logged,
/// changes are read by cursor) and lets tests change items "by hand" and inject faults.
public final class MemoryStore: Sendable {
    struct LogEntry: Codable, Hashable {
        var sequence: Int
        var id: ItemID
    }

    struct State: Codable {
        var items: [ItemID: MemoryItem] = [:]
        var log: [LogEntry] = []
        var sequence = 0
        var nextID = 1
    }

    /// Faults a test can switch on.
    public struct Faults: Sendable {
        /// Every read and write throws this message (side unreachable).
        public var unavailable: String?
        /// Writes of records whose display name is listed fail with the given error.
        public var failingRecords: [String: WriteError] = [:]
        /// Reads report nothing at all as a full scan (a side that suddenly looks empty).
        public var looksEmpty = false
        /// Runs at the start of every `apply`, before the batch is applied (to change items under the writer's feet).
        public var beforeApply: (@Sendable (MemoryStore) -> Void)?
        /// The next this many `apply` calls write their batch and then throw, as a connection dropped
        /// after the server did the work but before its answer arrived.
        public var lostAnswers = 0
        public init() {}
    }

    private let state: Mutex<State>
    private let faultState = Mutex(Faults())
    private let counters = Mutex([String: Int]())
    /// File the store is saved to after every change, when set.
    public let path: URL?
    private let saveError = Mutex<String?>(nil)

    public init(path: URL? = nil) throws {
        self.path = path
        if let path {
            try FileManager.default.createDirectory(
                at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        if let path, FileManager.default.fileExists(atPath: path.path) {
            let data = try Data(contentsOf: path)
            state = Mutex(try JSONDecoder().decode(State.self, from: data))
        } else {
            state = Mutex(State())
        }
    }

    /// Current faults; set them to make the store misbehave.
    public var faults: Faults {
        get { faultState.withLock { $0 } }
        set { faultState.withLock { $0 = newValue } }
    }

    /// How often each operation (`changes`, `read`, `apply`, `find`) was called.
    public func callCount(_ operation: String) -> Int { counters.withLock { $0[operation, default: 0] } }

    func count(_ operation: String) throws {
        counters.withLock { $0[operation, default: 0] += 1 }
        if let message = faults.unavailable { throw MemoryStoreError.unavailable(message) }
        if let message = saveError.withLock({ $0 }) { throw MemoryStoreError.unavailable(message) }
    }

    /// All items, in id order.
    public var items: [MemoryItem] {
        state.withLock { $0.items.values.sorted { $0.id.localizedStandardCompare($1.id) == .orderedAscending } }
    }

    public func item(_ id: ItemID) -> MemoryItem? { state.withLock { $0.items[id] } }

    /// Items whose display name is `name`.
    public func items(named name: String) -> [MemoryItem] { items.filter { $0.record.displayName == name } }

    /// Inserts an item as a user of this side would; returns its id.
    @discardableResult
    public func insert(_ record: Record, tags: Set<String> = [], syncKey: SyncKey? = nil, at date: Date = Date())
        -> ItemID
    {
        mutate { state in
            let id = "m\(state.nextID)"
            state.nextID += 1
            state.sequence += 1
            state.items[id] = MemoryItem(
                id: id, version: state.sequence, record: record, modifiedAt: date, syncKey: syncKey, tags: tags)
            state.log.append(LogEntry(sequence: state.sequence, id: id))
            return id
        }
    }

    /// Changes an item as a user of this side would.
    public func update(_ id: ItemID, at date: Date = Date(), _ change: (inout Record) -> Void) {
        mutate { state in
            guard var item = state.items[id] else { return }
            change(&item.record)
            Self.touch(&item, in: &state, at: date)
        }
    }

    /// Replaces an item's tags (like adding or removing a Merkmal).
    public func setTags(_ id: ItemID, _ tags: Set<String>) {
        mutate { state in
            guard var item = state.items[id] else { return }
            item.tags = tags
            Self.touch(&item, in: &state, at: item.modifiedAt)
        }
    }

    /// Deletes an item as a user of this side would.
    public func delete(_ id: ItemID) {
        mutate { state in
            guard state.items.removeValue(forKey: id) != nil else { return }
            state.sequence += 1
            state.log.append(LogEntry(sequence: state.sequence, id: id))
        }
    }

    private static func touch(_ item: inout MemoryItem, in state: inout State, at date: Date) {
        state.sequence += 1
        item.version = state.sequence
        item.modifiedAt = date
        state.items[item.id] = item
        state.log.append(LogEntry(sequence: state.sequence, id: item.id))
    }

    private func mutate<T>(_ body: (inout State) -> T) -> T {
        let (result, snapshot) = state.withLock { state -> (T, Data?) in
            let result = body(&state)
            return (result, path == nil ? nil : try? JSONEncoder().encode(state))
        }
        if let path, let snapshot {
            do {
                try snapshot.write(to: path, options: .atomic)
            } catch {
                saveError.withLock { $0 = "cannot save \(path.path): \(error)" }
            }
        }
        return result
    }

    /// This store as an endpoint for one kind; with `tags`, only items carrying one of them are in scope.
    public func endpoint(kind: DataKind, tags: Set<String> = [], maxBatchSize: Int = 100) -> any SyncEndpoint {
        MemoryEndpoint(store: self, kind: kind, tags: tags, maxBatchSize: maxBatchSize)
    }

    // MARK: Endpoint operations

    func changes(since cursor: Data?, inScope: (MemoryItem) -> Bool) throws -> ChangeSet {
        try count("changes")
        return state.withLock { state in
            let last = cursor.flatMap { Int(String(decoding: $0, as: UTF8.self)) }
            let newCursor = Data(String(state.sequence).utf8)
            if faults.looksEmpty { return ChangeSet(changes: [], cursor: newCursor, isFullScan: true) }
            guard let last else {
                let all = state.items.values.filter(inScope).sorted { $0.version < $1.version }
                return ChangeSet(changes: all.map { .upsert(Self.itemState($0)) }, cursor: newCursor, isFullScan: true)
            }
            var seen = Set<ItemID>()
            var changes: [Change] = []
            for entry in state.log.reversed() where entry.sequence > last {
                guard seen.insert(entry.id).inserted else { continue }
                if let item = state.items[entry.id] {
                    changes.append(inScope(item) ? .upsert(Self.itemState(item)) : .leftScope(item.id))
                } else {
                    changes.append(.deleted(entry.id))
                }
            }
            return ChangeSet(changes: changes.reversed(), cursor: newCursor, isFullScan: false)
        }
    }

    func read(ids: [ItemID]) throws -> [ItemID: ItemState] {
        try count("read")
        return state.withLock { state in
            var result: [ItemID: ItemState] = [:]
            for id in ids { if let item = state.items[id] { result[id] = Self.itemState(item) } }
            return result
        }
    }

    func find(syncKeys: [SyncKey]) throws -> [SyncKey: ItemState] {
        try count("find")
        let wanted = Set(syncKeys)
        return state.withLock { state in
            var result: [SyncKey: ItemState] = [:]
            for item in state.items.values {
                if let key = item.syncKey, wanted.contains(key) { result[key] = Self.itemState(item) }
            }
            return result
        }
    }

    func apply(_ batch: [WriteOperation], tags: Set<String>) throws -> [WriteResult] {
        try count("apply")
        faults.beforeApply?(self)
        let failing = faults.failingRecords
        let loseAnswer = faultState.withLock { faults in
            guard faults.lostAnswers > 0 else { return false }
            faults.lostAnswers -= 1
            return true
        }
        let results = mutate { state in
            batch.map { operation -> WriteResult in
                switch operation {
                case .create(let key, let record):
                    if let error = failing[record.displayName] { return .failure(error) }
                    let id = "m\(state.nextID)"
                    state.nextID += 1
                    let record = Self.keepingAttachments(record)
                    var item = MemoryItem(
                        id: id, version: 0, record: record, modifiedAt: Date(), syncKey: key, tags: tags)
                    Self.touch(&item, in: &state, at: Date())
                    return .success(id: id, version: String(item.version), stored: nil)
                case .update(let id, let expected, let record, let fields):
                    if let error = failing[record.displayName] { return .failure(error) }
                    guard var item = state.items[id] else { return .failure(WriteError(.notFound, "no item \(id)")) }
                    if let expected, expected != String(item.version) {
                        return .failure(
                            WriteError(.conflict, "item \(id) is at version \(item.version), not \(expected)"))
                    }
                    do {
                        item.record = try RecordFields.merge(item.record, taking: fields, from: record)
                    } catch {
                        return .failure(WriteError(.permanent, "cannot merge fields of \(id): \(error)"))
                    }
                    Self.touch(&item, in: &state, at: Date())
                    return .success(id: id, version: String(item.version), stored: nil)
                case .delete(let id):
                    if state.items.removeValue(forKey: id) != nil {
                        state.sequence += 1
                        state.log.append(LogEntry(sequence: state.sequence, id: id))
                    }
                    return .success(id: id, version: "", stored: nil)
                }
            }
        }
        if loseAnswer { throw MemoryStoreError.unavailable("the connection was dropped before the answer arrived") }
        return results
    }

    /// A mail's attachments in spool files are taken in (the spool is emptied on the next read).
    static func keepingAttachments(_ record: Record) -> Record {
        guard case .mail(var mail) = record else { return record }
        for index in mail.attachments.indices {
            if case .file(let path) = mail.attachments[index].content,
                let data = FileManager.default.contents(atPath: path)
            {
                mail.attachments[index].content = .inline(data)
            }
        }
        return .mail(mail)
    }

    static func itemState(_ item: MemoryItem) -> ItemState {
        ItemState(
            id: item.id, version: String(item.version), record: item.record, modifiedAt: item.modifiedAt,
            syncKey: item.syncKey)
    }
}

/// Errors of the memory adapter.
public enum MemoryStoreError: Error, CustomStringConvertible {
    case unavailable(String)

    public var description: String {
        switch self {
        case .unavailable(let message): "memory store unavailable: \(message)"
        }
    }
}
