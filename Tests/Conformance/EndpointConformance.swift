import ConnectorAPI
import Foundation

/// An endpoint implementation under the conformance suite: how to get an endpoint over a fresh,
/// empty scope of a kind, and how to change that scope behind the endpoint's back.
///
/// A new adapter joins the suite with a subject and one parameterized test:
///
/// ```swift
/// @Test(arguments: ConformanceCheck.allCases)
/// func conformance(_ check: ConformanceCheck) async throws {
///     try await check.run(on: try await MySubject())
/// }
/// ```
public protocol ConformanceSubject: Sendable {
    /// The kinds the adapter serves (the suite checks these).
    var kinds: [DataKind] { get }
    /// An endpoint over the scope of a kind. Every call for a kind gives an endpoint over the same
    /// data, as a new run would get; the scope is empty before the first write.
    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint
    /// Deletes an item behind the endpoint's back, as another user would.
    func removeBehind(_ kind: DataKind, id: ItemID) async throws
    /// Fields of a kind that must survive a round trip (what the adapter declares it stores).
    func fields(_ kind: DataKind) -> Set<String>
    /// Items to create so that a full read spans more than one page of the endpoint's reads.
    var pagingCount: Int { get }
    /// Runs a read; a subject may set small page sizes around it.
    func reading<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T
}

extension ConformanceSubject {
    public var pagingCount: Int { 12 }
    public func reading<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T { try await body() }
}

/// A subject with servers or connections of its own, released by ``stop()`` after its checks.
public protocol StoppableConformanceSubject: ConformanceSubject {
    /// Releases the subject's adapter and servers.
    func stop() async
}

extension StoppableConformanceSubject {
    /// Runs `body` on this subject and stops it afterwards, whether `body` throws or not.
    public func using(_ body: (Self) async throws -> Void) async throws {
        do {
            try await body(self)
        } catch {
            await stop()
            throw error
        }
        await stop()
    }
}

/// A broken promise of an endpoint, with what was expected.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var check: String
    public var message: String
    public init(check: String, message: String) {
        self.check = check
        self.message = message
    }
    public var description: String { "\(check): \(message)" }
}

/// The behaviour every endpoint owes the engine, one check each (vdirsyncer's storage tests are
/// the model).
public enum ConformanceCheck: String, CaseIterable, Sendable, CustomStringConvertible {
    /// An item written reads back with a version, its sync key and its fields.
    case createAndRead
    /// Every field the adapter stores comes back as written, for each kind.
    case fieldRoundTrip
    /// An update with the current version is applied; one with an outdated version is a conflict.
    case updateWithVersionCheck
    /// A deleted item is gone from reads and from a full read.
    case delete
    /// The change feed after a cursor reports each create, update and delete, and nothing twice.
    case changeFeed
    /// Items are found by the sync key they were created with; unknown keys are absent.
    case syncKeys
    /// Umlauts, ß, emoji and right-to-left text, and a long text field, come back unchanged.
    case unicodeAndLongFields
    /// A full read past one page delivers every item once.
    case paging
    /// An item deleted behind the endpoint's back: update fails as not found, delete does no harm,
    /// read leaves it out.
    case vanishedItem

    public var description: String { rawValue }

    /// Runs the check for every kind the subject serves.
    public func run(on subject: any ConformanceSubject) async throws {
        for kind in subject.kinds {
            let context = Context(check: self, kind: kind, subject: subject)
            try await context.run()
        }
    }
}

/// One check on one kind.
struct Context {
    let check: ConformanceCheck
    let kind: DataKind
    let subject: any ConformanceSubject

    func fail(_ message: String) -> ConformanceFailure {
        ConformanceFailure(check: "\(check) (\(kind))", message: message)
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw fail(message()) }
    }

    func run() async throws {
        switch check {
        case .createAndRead: try await createAndRead()
        case .fieldRoundTrip: try await fieldRoundTrip()
        case .updateWithVersionCheck: try await updateWithVersionCheck()
        case .delete: try await delete()
        case .changeFeed: try await changeFeed()
        case .syncKeys: try await syncKeys()
        case .unicodeAndLongFields: try await unicodeAndLongFields()
        case .paging: try await paging()
        case .vanishedItem: try await vanishedItem()
        }
    }

    // MARK: Helpers

    static func key() -> SyncKey { SyncKey(rawValue: "conformance-\(UUID().uuidString.lowercased())") }

    /// Creates records; answers their ids in order.
    func create(_ records: [Record], on endpoint: any SyncEndpoint) async throws -> [(ItemID, SyncKey)] {
        var created: [(ItemID, SyncKey)] = []
        var start = 0
        while start < records.count {
            let chunk = Array(records[start..<min(records.count, start + max(1, endpoint.maxBatchSize))])
            let keys = chunk.map { _ in Self.key() }
            let results = try await endpoint.apply(zip(keys, chunk).map { .create(syncKey: $0, record: $1) })
            try expect(results.count == chunk.count, "apply answered \(results.count) results for \(chunk.count)")
            for (result, key) in zip(results, keys) {
                guard case .success(let id, let version, _) = result else {
                    throw fail("create of \(chunk[0].displayName) failed: \(result)")
                }
                try expect(!version.isEmpty, "a created item has a version")
                created.append((id, key))
            }
            start += chunk.count
        }
        return created
    }

    func read(_ id: ItemID, on endpoint: any SyncEndpoint) async throws -> ItemState? {
        try await subject.reading { try await endpoint.read(ids: [id]) }[id]
    }

    /// Every item of a full read, by id; fails when an id comes twice.
    func fullRead(_ endpoint: any SyncEndpoint) async throws -> [ItemID: ItemState] {
        let set = try await subject.reading { try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])) }
        var items: [ItemID: ItemState] = [:]
        for case .upsert(let state) in set.changes {
            try expect(items[state.id] == nil, "a full read delivered \(state.id) twice")
            items[state.id] = state
        }
        return items
    }

    /// The fields of `record` the subject stores, as JSON values, empty values left out.
    func stored(_ record: Record) -> [String: JSONValue] {
        let fields = subject.fields(kind)
        return RecordFields.map(record).filter { fields.contains($0.key) && !$0.value.isEmpty }
    }

    func sameStoredFields(_ written: Record, _ read: Record, _ what: String) throws {
        let a = stored(written)
        let b = stored(read)
        let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        try expect(
            differing.isEmpty,
            "\(what): fields differ: "
                + differing.map { "\($0): wrote \(a[$0].map { "\($0)" } ?? "-"), read \(b[$0].map { "\($0)" } ?? "-")" }
                .joined(separator: "; "))
    }

    // MARK: Checks

    func createAndRead() async throws {
        let endpoint = try await subject.endpoint(kind)
        let record = Samples.plain(kind, "Anlegen")
        let created = try await create([record], on: endpoint)
        let (id, key) = created[0]
        let state = try await read(id, on: endpoint)
        guard let state else { throw fail("the created item \(id) cannot be read") }
        try expect(!state.version.isEmpty, "the item read has a version")
        try expect(state.syncKey == key, "the item carries its sync key (\(state.syncKey?.rawValue ?? "none"))")
        try expect(state.record.displayName == record.displayName, "read back as \(state.record.displayName)")
        let full = try await fullRead(endpoint)
        try expect(full[id] != nil, "a full read includes the created item")
    }

    func fieldRoundTrip() async throws {
        let endpoint = try await subject.endpoint(kind)
        for (index, record) in Samples.full(kind).enumerated() {
            let (id, _) = try await create([record], on: endpoint)[0]
            guard let state = try await read(id, on: endpoint) else { throw fail("sample \(index) cannot be read") }
            try sameStoredFields(record, state.record, "sample \(index) (\(record.displayName))")
            // Read again through a new endpoint, as the next run would.
            let again = try await read(id, on: try await subject.endpoint(kind))
            try expect(again?.version == state.version, "the version is stable between reads of an unchanged item")
        }
    }

    func updateWithVersionCheck() async throws {
        let endpoint = try await subject.endpoint(kind)
        let (id, _) = try await create([Samples.plain(kind, "Vorher")], on: endpoint)[0]
        guard let before = try await read(id, on: endpoint) else { throw fail("cannot read \(id)") }
        let changed = Samples.plain(kind, "Nachher")
        let result = try await endpoint.apply([
            .update(id: id, expectedVersion: before.version, record: changed, fields: ["subject", "familyName"])
        ])
        guard case .success(_, let newVersion, _)? = result.first else {
            throw fail("an update with the current version failed: \(result)")
        }
        try expect(newVersion != before.version, "an update gives a new version")
        guard let after = try await read(id, on: endpoint) else { throw fail("cannot read \(id) after the update") }
        try expect(
            after.record.displayName == changed.displayName, "the update is stored (\(after.record.displayName))")
        let stale = try await endpoint.apply([
            .update(
                id: id, expectedVersion: before.version, record: Samples.plain(kind, "Veraltet"),
                fields: ["subject", "familyName"])
        ])
        guard case .failure(let error)? = stale.first, error.kind == .conflict else {
            throw fail("an update with an outdated version must be a conflict, not \(stale)")
        }
        let kept = try await read(id, on: endpoint)
        try expect(kept?.record.displayName == changed.displayName, "a refused update changes nothing")
    }

    func delete() async throws {
        let endpoint = try await subject.endpoint(kind)
        let created = try await create([Samples.plain(kind, "Bleibt"), Samples.plain(kind, "Geht")], on: endpoint)
        let result = try await endpoint.apply([.delete(id: created[1].0)])
        guard case .success? = result.first else { throw fail("delete failed: \(result)") }
        try expect(try await read(created[1].0, on: endpoint) == nil, "a deleted item is not read")
        try expect(try await read(created[0].0, on: endpoint) != nil, "the other item stays")
        let full = try await fullRead(endpoint)
        try expect(full[created[1].0] == nil && full[created[0].0] != nil, "a full read has the kept item only")
    }

    func changeFeed() async throws {
        let endpoint = try await subject.endpoint(kind)
        let first = try await subject.reading { try await endpoint.changes(ChangeRequest(cursor: nil, known: [:])) }
        var cursor = first.cursor
        var known: [ItemID: Version] = [:]
        for case .upsert(let state) in first.changes { known[state.id] = state.version }

        /// The changes since the cursor; the cursor and the known versions move on.
        func next() async throws -> [Change] {
            let request = ChangeRequest(cursor: cursor, known: known)
            let set = try await subject.reading { try await endpoint.changes(request) }
            cursor = set.cursor
            for change in set.changes {
                switch change {
                case .upsert(let state): known[state.id] = state.version
                case .deleted(let id), .leftScope(let id): known[id] = nil
                }
            }
            let ids = set.changes.map(\.id)
            try expect(Set(ids).count == ids.count, "the feed reported an item twice in one read: \(ids)")
            return set.changes
        }

        let (id, _) = try await create([Samples.plain(kind, "Neu im Feed")], on: endpoint)[0]
        let afterCreate = try await next()
        try expect(
            afterCreate.contains { if case .upsert(let state) = $0 { state.id == id } else { false } },
            "the feed reports the created item")
        guard let current = known[id] else { throw fail("the created item has no version") }
        let updated = try await endpoint.apply([
            .update(
                id: id, expectedVersion: current, record: Samples.plain(kind, "Geändert im Feed"),
                fields: ["subject", "familyName"])
        ])
        guard case .success? = updated.first else { throw fail("update failed: \(updated)") }
        let afterUpdate = try await next()
        try expect(
            afterUpdate.contains {
                if case .upsert(let state) = $0 {
                    state.id == id && state.record.displayName.contains("Geändert")
                } else {
                    false
                }
            }, "the feed reports the update")
        let deleted = try await endpoint.apply([.delete(id: id)])
        guard case .success? = deleted.first else { throw fail("delete failed: \(deleted)") }
        let afterDelete = try await next()
        try expect(
            afterDelete.contains { if case .deleted(let gone) = $0 { gone == id } else { false } },
            "the feed reports the deletion (got \(afterDelete))")
        let quiet = try await next()
        try expect(
            !quiet.contains { if case .deleted(let gone) = $0 { gone == id } else { false } },
            "a deletion is reported once")
    }

    func syncKeys() async throws {
        let endpoint = try await subject.endpoint(kind)
        let created = try await create(
            [Samples.plain(kind, "Schlüssel A"), Samples.plain(kind, "Schlüssel B")], on: endpoint)
        let unknown = Self.key()
        let found = try await endpoint.find(syncKeys: created.map(\.1) + [unknown])
        for (id, key) in created {
            try expect(found[key]?.id == id, "the item created with \(key) is found by it")
        }
        try expect(found[unknown] == nil, "a key no item carries finds nothing")
        let again = try await (try await subject.endpoint(kind)).find(syncKeys: [created[0].1])
        try expect(again[created[0].1]?.id == created[0].0, "keys are found by a new endpoint (after a restart)")
    }

    func unicodeAndLongFields() async throws {
        let endpoint = try await subject.endpoint(kind)
        let record = Samples.unicode(kind)
        let (id, _) = try await create([record], on: endpoint)[0]
        guard let state = try await read(id, on: endpoint) else { throw fail("cannot read \(id)") }
        try sameStoredFields(record, state.record, "unicode and a 200 KB text")
    }

    func paging() async throws {
        let endpoint = try await subject.endpoint(kind)
        let count = subject.pagingCount
        let records = (0..<count).map { Samples.plain(kind, String(format: "Seite %03d", $0)) }
        let created = Set(try await create(records, on: endpoint).map(\.0))
        let full = try await fullRead(endpoint)
        try expect(
            created.isSubset(of: Set(full.keys)),
            "a full read misses \(created.subtracting(full.keys).count) of \(count)")
        let read = try await subject.reading { try await endpoint.read(ids: Array(created)) }
        try expect(Set(read.keys) == created, "reading \(count) ids gives \(read.count)")
    }

    func vanishedItem() async throws {
        let endpoint = try await subject.endpoint(kind)
        let (id, _) = try await create([Samples.plain(kind, "Verschwindet")], on: endpoint)[0]
        guard let state = try await read(id, on: endpoint) else { throw fail("cannot read \(id)") }
        try await subject.removeBehind(kind, id: id)
        try expect(try await read(id, on: endpoint) == nil, "a vanished item is left out of reads")
        let update = try await endpoint.apply([
            .update(
                id: id, expectedVersion: state.version, record: Samples.plain(kind, "Zu spät"),
                fields: ["subject", "familyName"])
        ])
        guard case .failure(let error)? = update.first, error.kind == .notFound else {
            throw fail("an update of a vanished item must fail as not found, not \(update)")
        }
        let delete = try await endpoint.apply([.delete(id: id)])
        switch delete.first {
        case .success?: break
        case .failure(let error)? where error.kind == .notFound: break
        default: throw fail("a delete of a vanished item must succeed or say not found, not \(delete)")
        }
    }
}
