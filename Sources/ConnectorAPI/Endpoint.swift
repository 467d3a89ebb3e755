import Foundation
import Synchronization

/// An item's identifier on one side (FlowFact GUID, EWS ItemId). Opaque to the engine.
public typealias ItemID = String

/// A key the engine stamps on every item it creates, so the item can be found again after a crash
/// or a loss of state instead of being created twice. Adapters store it with the item (EWS: an
/// extended property; FlowFact: a column or a GUID derived from it) and can search by it.
public struct SyncKey: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// A version token of an item on one side (FlowFact changed-at stamp, EWS ChangeKey). Opaque.
public typealias Version = String

/// One item as an endpoint sees it now.
public struct ItemState: Sendable, Hashable {
    public var id: ItemID
    public var version: Version
    public var record: Record
    /// When the item was last modified on its side, if the side knows; used by `newest-wins`.
    public var modifiedAt: Date?
    /// The sync key stamped on the item, if it carries one.
    public var syncKey: SyncKey?

    public init(id: ItemID, version: Version, record: Record, modifiedAt: Date? = nil, syncKey: SyncKey? = nil) {
        self.id = id
        self.version = version
        self.record = record
        self.modifiedAt = modifiedAt
        self.syncKey = syncKey
    }
}

/// A change an endpoint reports.
public enum Change: Sendable, Hashable {
    /// The item is new or changed (re-reporting an unchanged item is harmless).
    case upsert(ItemState)
    /// The item was deleted.
    case deleted(ItemID)
    /// The item still exists but no longer matches the connector's filter (a Merkmal was removed,
    /// the item moved out of the synced folder or window). Never a deletion.
    case leftScope(ItemID)

    public var id: ItemID {
        switch self {
        case .upsert(let state): state.id
        case .deleted(let id), .leftScope(let id): id
        }
    }
}

/// What the engine asks a source for.
public struct ChangeRequest: Sendable {
    /// The cursor returned by the last successful run; nil for a first (full) read.
    public var cursor: Data?
    /// Items of this side the engine has mapped, with the version it last saw. A source may leave
    /// out an item whose version is unchanged (EWS skips the GetItem), and a source that finds
    /// deletions by comparing id sets (FlowFact without DELLOG) compares against these ids.
    public var known: [ItemID: Version]

    public init(cursor: Data?, known: [ItemID: Version]) {
        self.cursor = cursor
        self.known = known
    }
}

/// What a source answers: changes since the cursor and the cursor to resume from.
public struct ChangeSet: Sendable {
    public var changes: [Change]
    /// Opaque position to pass next time. Committed by the engine only after the run applied it.
    public var cursor: Data?
    /// True when `changes` lists every item in scope (a first read or a resynchronisation).
    /// The engine's empty-side guard uses it: a full read that finds nothing while items are mapped
    /// is refused instead of being taken as a mass deletion.
    public var isFullScan: Bool

    /// Items the source could not turn into records (invalid data). They are skipped and reported
    /// by id and reason; the rest of the changes are applied.
    public var unreadable: [UnreadableItem]
    /// Items the source saw in scope but did not fetch because their version equals the known one
    /// (they count as present for the empty-side guard).
    public var unchanged: Set<ItemID>

    public init(
        changes: [Change], cursor: Data?, isFullScan: Bool, unreadable: [UnreadableItem] = [],
        unchanged: Set<ItemID> = []
    ) {
        self.changes = changes
        self.cursor = cursor
        self.isFullScan = isFullScan
        self.unreadable = unreadable
        self.unchanged = unchanged
    }
}

/// An item a source skipped because its data could not be read as a record.
public struct UnreadableItem: Sendable, Hashable {
    public var id: ItemID
    /// A short name to find the item by (subject, name), when one could be read.
    public var name: String
    public var reason: String

    public init(id: ItemID, name: String, reason: String) {
        self.id = id
        self.name = name
        self.reason = reason
    }
}

/// One write of a batch.
public enum WriteOperation: Sendable, Hashable {
    /// Create `record` and stamp `syncKey` on it.
    case create(syncKey: SyncKey, record: Record)
    /// Change the named `fields` of item `id` to the values in `record`, leaving other fields as
    /// they are. `expectedVersion` is the last version the engine saw; a side that can detect
    /// concurrent change answers `.conflict` when the item has moved on.
    case update(id: ItemID, expectedVersion: Version?, record: Record, fields: Set<String>)
    /// Delete item `id`. Deleting an item that is already gone counts as done.
    case delete(id: ItemID)
}

/// How a single write went.
public enum WriteResult: Sendable, Hashable {
    /// Done. For a create or update: the item's id and new version (and the record as stored, when
    /// the side normalised it). For a delete: the id and an empty version.
    case success(id: ItemID, version: Version, stored: Record?)
    /// Failed for this item; see `WriteError`.
    case failure(WriteError)
    /// Not written on purpose, by a rule of this side (a mail from a sender no address knows, with
    /// `unknown_sender: skip`). Not a failure: nothing is retried or reported as a dead letter.
    case skipped(reason: String)
}

/// Why a write failed, typed so the engine knows whether to retry.
public struct WriteError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Worth retrying later: throttling, timeouts, a batch stopped early.
        case transient
        /// Will not succeed as is: invalid data, a value the side rejects.
        case permanent
        /// The item changed on this side since the engine read it.
        case conflict
        /// The item does not exist (any more).
        case notFound
    }

    public var kind: Kind
    public var message: String
    /// For throttling: how long the side asked to wait.
    public var retryAfter: Duration?
    /// The side's own error code (`ErrorServerBusy`, an SQLSTATE), when it gave one; summaries
    /// group transient failures by it.
    public var code: String?

    public init(_ kind: Kind, _ message: String, retryAfter: Duration? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
        self.code = code
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Reads changes from one side.
public protocol SourceEndpoint: Sendable {
    /// Changes since `request.cursor`.
    func changes(_ request: ChangeRequest) async throws -> ChangeSet
    /// The current state of the given items; ids that no longer exist are absent from the result.
    /// The engine uses it to retry failed items and to re-check open conflicts.
    func read(ids: [ItemID]) async throws -> [ItemID: ItemState]
    /// The current records of the given items for a look at their fields only (a mail's
    /// message-id, say): a mail's attachment contents are not fetched, and its attachments may be
    /// absent from the record. By default the same as ``read(ids:)``.
    func readFields(ids: [ItemID]) async throws -> [ItemID: ItemState]
}

extension SourceEndpoint {
    /// Endpoints whose reads cost no more with contents read them whole.
    public func readFields(ids: [ItemID]) async throws -> [ItemID: ItemState] { try await read(ids: ids) }
}

/// Writes to one side.
public protocol TargetEndpoint: Sendable {
    /// Largest batch `apply` takes; the engine splits larger work.
    var maxBatchSize: Int { get }
    /// Applies the batch and answers one result per operation, in order. Throws only when the
    /// whole batch failed to reach the side (the engine then treats every item as transient).
    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult]
    /// Items stamped with the given sync keys, by key. Keys with no item are absent.
    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState]
    /// How many `apply` calls the engine may have in flight at once for this endpoint; 1 (the
    /// default) sends batches one after another. Batches in flight together never touch the same item.
    var maxParallelBatches: Int { get }
}

extension TargetEndpoint {
    /// One batch at a time unless the endpoint says otherwise.
    public var maxParallelBatches: Int { 1 }
}

/// An endpoint that can be read and written: both sides of a two-way connector.
public typealias SyncEndpoint = SourceEndpoint & TargetEndpoint

/// Transient faults an endpoint absorbed by retrying (throttling, dropped connections), so a run
/// can report a storm as one line instead of one line per item.
public struct RetryStatistics: Sendable, Hashable {
    /// Requests (or item groups) sent again after a transient fault.
    public var retries: Int
    /// Time spent waiting before those retries (summed over parallel requests).
    public var waited: Duration
    /// Retries by cause (`ErrorServerBusy`, `HTTP503`, `connection dropped`, …).
    public var causes: [String: Int]

    public init(retries: Int = 0, waited: Duration = .zero, causes: [String: Int] = [:]) {
        self.retries = retries
        self.waited = waited
        self.causes = causes
    }

    public var isEmpty: Bool { retries == 0 && waited == .zero }

    /// Adds another set of counts to these.
    public mutating func add(_ other: RetryStatistics) {
        retries += other.retries
        waited += other.waited
        causes.merge(other.causes, uniquingKeysWith: +)
    }

    /// Records one retry for `cause` after waiting `waited`.
    public mutating func record(_ cause: String, waited pause: Duration = .zero) {
        retries += 1
        waited += pause
        causes[cause, default: 0] += 1
    }
}

/// An endpoint that counts the transient faults it absorbed. The engine takes the counts at the
/// end of a run (which resets them) and reports them in the run's summary.
public protocol RetryReporting: Sendable {
    /// The retries since the last call, and resets the counts.
    func takeRetryStatistics() -> RetryStatistics
}

/// A thread-safe tally of retries, for endpoints that adopt ``RetryReporting``.
public final class RetryLedger: Sendable {
    private let statistics = Mutex(RetryStatistics())
    public init() {}

    /// Records one retry for `cause` after waiting `waited`.
    public func record(_ cause: String, waited: Duration = .zero) {
        statistics.withLock { $0.record(cause, waited: waited) }
    }

    /// Adds waiting time without a retry (a request held back while its account was paused).
    public func addWait(_ waited: Duration) { statistics.withLock { $0.waited += waited } }

    /// The counts so far, reset to zero.
    public func take() -> RetryStatistics {
        statistics.withLock { value in
            defer { value = RetryStatistics() }
            return value
        }
    }
}

/// An error that says whether retrying can help. Adapters throw these so the service can tell
/// a mailbox that is briefly unreachable (retried with backoff) from one that cannot work until an
/// administrator fixes something (bad credentials, missing rights, a mailbox that does not exist),
/// which is disabled after repeated failures.
public protocol ClassifiedError: Error {
    /// True when the same call will keep failing until the configuration or rights change.
    var isPermanent: Bool { get }
}

/// An item that left the synced folder on its side: the engine asks where it went before it
/// treats the disappearance as a deletion.
public struct LostItem: Sendable, Hashable {
    /// The id the item had.
    public var id: ItemID
    /// The sync key of its pair, which the side may have stamped on the item.
    public var syncKey: SyncKey?
    /// The mapped item on the other side, when it could be read (its message-id finds a mail).
    public var counterpart: Record?

    public init(id: ItemID, syncKey: SyncKey?, counterpart: Record?) {
        self.id = id
        self.syncKey = syncKey
        self.counterpart = counterpart
    }
}

/// Where a lost item went.
public enum Relocation: Sendable, Hashable {
    /// Moved within the side; here is its new state (with its new id).
    case moved(ItemState)
    /// Deleted (gone, or in the side's wastebasket).
    case deleted
}

/// A side whose items can move out of the synced folder to another place on the same side, where
/// they get a new id (an Exchange mail filed into another folder). The engine asks it about mapped
/// mails reported deleted when both sides carry the `move` mail state change; ids missing from the
/// answer count as deleted.
public protocol RelocatingEndpoint: Sendable {
    func relocate(_ lost: [LostItem]) async throws -> [ItemID: Relocation]
}
