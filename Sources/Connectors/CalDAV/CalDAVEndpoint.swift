import AdapterSupport
import ConnectorAPI
import ExchangeWebDAV
import Foundation
import HTTP
import HTTPAdapterSupport
import Synchronization
import XML

/// Where a CalDAV/CardDAV endpoint left off: the collection, its WebDAV-Sync token (nil when
/// the server has no sync support and every run lists the collection's etags), and the items of
/// another kind in a shared calendar (events beside tasks) with their etags, so they are fetched
/// again only when they change.
struct CalDAVCursor: Codable, Equatable {
    var collection: String
    var syncToken: String?
    var others: [ItemID: Version]?
}

/// The ETags an endpoint last saw, by item id: the engine's known versions handed to
/// ``CalDAVEndpoint/changes(_:)``, the etags read in that run, and those of its own writes. A
/// DELETE is sent under `If-Match` of the etag kept here (the engine's delete carries no version).
final class CalDAVVersions: Sendable {
    let versions = Mutex<[ItemID: Version]>([:])

    subscript(_ id: ItemID) -> Version? { versions.withLock { $0[id] } }

    func note(_ id: ItemID, _ version: Version?) {
        versions.withLock { $0[id] = version.flatMap { $0.isEmpty ? nil : $0 } }
    }

    func note(_ known: [ItemID: Version]) {
        versions.withLock { $0.merge(known.filter { !$0.value.isEmpty }) { $1 } }
    }
}

/// One collection (calendar, task list or address book) of one user over CalDAV/CardDAV.
///
/// Changes come from a `sync-collection` REPORT (RFC 6578) with the last token as the cursor; a
/// first run, a token the server no longer accepts, or a server without sync support read the
/// collection's etags in full (`isFullScan`). Items whose etag the engine knows are not fetched;
/// the others come in `calendar-multiget`/`addressbook-multiget` batches. Writes are PUTs under
/// `If-None-Match: *` (creates, named after the sync key) or `If-Match` (updates), so a concurrent
/// change is a conflict; the version is the ETag. A DELETE carries `If-Match` of the last etag
/// the endpoint saw for the item (see ``CalDAVVersions``), and is unconditional without one.
struct CalDAVEndpoint: SyncEndpoint, RetryReporting {
    let client: CalDAVClient
    let kind: DataKind
    let codec: CalDAVCodec
    let collection: CalDAVCollectionResolver
    let maxBatchSize: Int
    let parallelRequests: Int
    let versions = CalDAVVersions()

    func takeRetryStatistics() -> RetryStatistics { client.ledger.take() }

    // MARK: URLs and ids

    /// An item's id is its path (decoded); its URL is the collection's origin and the encoded path.
    func url(of id: ItemID, in collectionURL: String) -> String {
        (URLParts.origin(collectionURL) ?? "") + DAVPath.encode(id)
    }

    static func parent(of id: ItemID) -> String {
        guard let slash = id.dropLast().lastIndex(of: "/") else { return "/" }
        return String(id[...slash])
    }

    /// `<sync key>.ics` / `.vcf`, with characters a URL segment should not carry replaced.
    func itemName(for key: SyncKey) -> String {
        String(key.rawValue.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
            + CalDAVCodec.fileExtension(kind)
    }

    func isCollection(_ response: CalDAVResponse, of collectionPath: String) -> Bool {
        let path = response.path.hasSuffix("/") ? response.path : response.path + "/"
        return path == collectionPath || response[DAVName.resourceType]?.child("collection") != nil
    }

    // MARK: Reading

    func changes(_ request: ChangeRequest) async throws -> ChangeSet {
        let saved = CursorCoding.decode(CalDAVCursor.self, from: request.cursor)
        if let saved { await collection.prime(saved.collection) }
        let collectionURL = try await collection.url()
        let cursor = saved.flatMap { $0.collection == collectionURL ? $0 : nil }
        versions.note(request.known)

        var listing: [ItemID: Version]?
        var changed: [ItemID: Version] = [:]
        var deleted: Set<ItemID> = []
        var token: String?
        if let previous = cursor?.syncToken {
            switch try await syncCollection(collectionURL, since: previous) {
            case .listed(let entries, let next):
                token = next
                for (id, etag) in entries {
                    if let etag {
                        changed[id] = etag
                        deleted.remove(id)
                    } else {
                        deleted.insert(id)
                        changed[id] = nil
                    }
                }
            case .refused(let answer):
                guard answer.text.contains("valid-sync-token") else {
                    throw client.explain(answer, method: "REPORT", url: collectionURL)
                }
                client.ledger.record("sync token refused")
            }
        }
        if token == nil, cursor == nil || cursor?.syncToken != nil {
            // A first read, or a token the server refused: the whole collection with a new token.
            if case .listed(let entries, let next) = try await syncCollection(collectionURL, since: nil) {
                token = next
                var listed: [ItemID: Version] = [:]
                // A later part may report a member gone that an earlier one listed.
                for (id, etag) in entries { listed[id] = etag }
                listing = listed
            }
        }
        for (id, etag) in listing ?? changed { versions.note(id, etag) }
        if token == nil, listing == nil {
            // No WebDAV-Sync here: the etags of every member, every run.
            let collectionPath = DAVPath.path(of: collectionURL)
            var listed: [ItemID: Version] = [:]
            for response in try await client.propfind(
                collectionURL, depth: "1", properties: ["D:getetag", "D:resourcetype"])
            where response.status != 404 && !isCollection(response, of: collectionPath) {
                listed[response.path] = response.text(DAVName.getETag) ?? ""
            }
            listing = listed
        }

        // Items of the other kind in a shared calendar, as far as they are still there unchanged.
        var others: [ItemID: Version] = [:]
        for (id, etag) in cursor?.others ?? [:] where !etag.isEmpty {
            if let listing {
                if listing[id] == etag { others[id] = etag }
            } else if !deleted.contains(id), changed[id] == nil || changed[id] == etag {
                others[id] = etag
            }
        }
        var changes: [Change] = []
        var unchanged: Set<ItemID> = []
        var wanted: [ItemID] = []
        if let listing {
            for id in request.known.keys where listing[id] == nil { changes.append(.deleted(id)) }
            for (id, etag) in listing where others[id] == nil {
                if let known = request.known[id], known == etag, !etag.isEmpty {
                    unchanged.insert(id)
                } else {
                    wanted.append(id)
                }
            }
        } else {
            for id in deleted { changes.append(.deleted(id)) }
            for (id, etag) in changed where others[id] == nil {
                if let known = request.known[id], known == etag {
                    unchanged.insert(id)
                } else {
                    wanted.append(id)
                }
            }
        }
        var unreadable: [UnreadableItem] = []
        let states = try await read(ids: wanted, unreadable: &unreadable, others: &others)
        for id in wanted { if let state = states[id] { changes.append(.upsert(state)) } }
        let next = CalDAVCursor(collection: collectionURL, syncToken: token, others: others.isEmpty ? nil : others)
        return ChangeSet(
            changes: changes, cursor: try CursorCoding.encode(next), isFullScan: listing != nil,
            unreadable: unreadable, unchanged: unchanged)
    }

    /// What a `sync-collection` REPORT gave: the members' etags (nil for a member that is gone)
    /// and the new token, or the answer of a server that refused it.
    enum SyncListing {
        case listed([(ItemID, Version?)], token: String?)
        case refused(CalDAVAnswer)
    }

    /// The members changed since `token` (all with none), following a server that answers in
    /// parts: a `507` for the collection itself means more follow under the new token (RFC 6578
    /// section 3.6). A refused token (403/409 `valid-sync-token`, or Xandikos's 500 for a token
    /// it does not know) and a server without the report (400, 403, 405, 501) are answered.
    func syncCollection(_ collectionURL: String, since token: String?) async throws -> SyncListing {
        let collectionPath = DAVPath.path(of: collectionURL)
        var entries: [(ItemID, Version?)] = []
        var current = token
        for page in 0..<10_000 {
            let answer: CalDAVAnswer
            do {
                answer = try await syncCollection(collectionURL, token: current)
            } catch let error as CalDAVError where error.status == 500 && page == 0 && token != nil {
                // Xandikos fails on a token it does not know instead of answering 403
                // valid-sync-token; the full read that follows shows whether the server is failing.
                return .refused(CalDAVAnswer(status: 500, headers: [:], body: Data("valid-sync-token".utf8)))
            }
            guard answer.status == 207 else {
                if page == 0 { return .refused(answer) }
                throw client.explain(answer, method: "REPORT", url: collectionURL)
            }
            let result = try client.multistatus(answer, method: "REPORT", url: collectionURL)
            var truncated = false
            for response in result.responses {
                if isCollection(response, of: collectionPath) {
                    if response.status == 507 { truncated = true }
                } else if response.status == 404 {
                    entries.append((response.path, nil))
                } else {
                    entries.append((response.path, response.text(DAVName.getETag) ?? ""))
                }
            }
            guard truncated else { return .listed(entries, token: result.syncToken) }
            guard let next = result.syncToken, next != current else {
                throw CalDAVError(
                    user: client.user, method: "REPORT", url: collectionURL, status: 507,
                    cause: "the server answered the sync-collection REPORT in part (507) without a new sync token",
                    isPermanent: false)
            }
            client.ledger.record("sync-collection answered in parts (507)")
            current = next
        }
        throw CalDAVError(
            user: client.user, method: "REPORT", url: collectionURL, status: 507,
            cause: "the server kept answering the sync-collection REPORT in parts (10,000 parts)", isPermanent: false)
    }

    /// A `sync-collection` REPORT for the members' etags: since `token`, or all with none. A
    /// refused token (403/409 `valid-sync-token`) and a server without the report (403, 405, 501,
    /// 400) are answered, not thrown.
    func syncCollection(_ collectionURL: String, token: String?) async throws -> CalDAVAnswer {
        var xml = XMLWriter()
        xml.element("D:sync-collection", DAVName.prefixes) { xml in
            xml.element("D:sync-token", token ?? "")
            xml.element("D:sync-level", "1")
            xml.element("D:prop") { xml in
                xml.start("D:getetag")
                xml.end()
            }
        }
        return try await client.report(
            collectionURL, depth: "0", body: xml.text, expect: [207, 400, 403, 405, 409, 501])
    }

    func read(ids: [ItemID]) async throws -> [ItemID: ItemState] {
        var unreadable: [UnreadableItem] = []
        var others: [ItemID: Version] = [:]
        return try await read(ids: ids, unreadable: &unreadable, others: &others)
    }

    /// Items by id in multiget batches per collection; ids that are gone or hold another kind are
    /// absent (those of another kind are added to `others` with their etags), items that cannot be
    /// parsed are listed as unreadable.
    func read(ids: [ItemID], unreadable: inout [UnreadableItem], others: inout [ItemID: Version]) async throws
        -> [ItemID: ItemState]
    {
        var states: [ItemID: ItemState] = [:]
        for (id, item) in try await multiget(ids) {
            do {
                guard let decoded = try codec.decode(item.text, kind: kind) else {
                    if let etag = item.etag, !etag.isEmpty { others[id] = etag }
                    continue
                }
                versions.note(id, item.etag)
                states[id] = ItemState(
                    id: id, version: item.etag ?? "", record: decoded.record, syncKey: decoded.syncKey)
            } catch {
                unreadable.append(UnreadableItem(id: id, name: id, reason: "\(error)"))
            }
        }
        return states
    }

    /// The stored text and etag of items by id, in `calendar-multiget`/`addressbook-multiget`
    /// batches per collection; ids that are gone are absent.
    func multiget(_ ids: [ItemID]) async throws -> [ItemID: (text: String, etag: String?)] {
        guard !ids.isEmpty else { return [:] }
        let collectionURL = try await collection.url()
        let dataName = kind == .address ? DAVName.addressData : DAVName.calendarData
        var items: [ItemID: (text: String, etag: String?)] = [:]
        for (parent, group) in Dictionary(grouping: ids, by: Self.parent(of:)) {
            for batch in group.chunked(into: maxBatchSize) {
                let target = url(of: parent, in: collectionURL)
                var xml = XMLWriter()
                let report = kind == .address ? "CR:addressbook-multiget" : "C:calendar-multiget"
                xml.element(report, DAVName.prefixes) { xml in
                    xml.element("D:prop") { xml in
                        xml.start("D:getetag")
                        xml.end()
                        xml.start(kind == .address ? "CR:address-data" : "C:calendar-data")
                        xml.end()
                    }
                    for id in batch { xml.element("D:href", DAVPath.encode(id)) }
                }
                let answer = try await client.report(target, depth: "1", body: xml.text)
                for response in try client.multistatus(answer, method: "REPORT", url: target).responses {
                    guard response.status == nil || response.status == 200,
                        let text = response[dataName]?.text, !text.isEmpty
                    else { continue }
                    items[response.path] = (text, response.text(DAVName.getETag))
                }
            }
        }
        return items
    }

    // MARK: Writing

    var maxParallelBatches: Int { 1 }

    func apply(_ batch: [WriteOperation]) async throws -> [WriteResult] {
        let collectionURL = try await collection.url()
        // The items to update, in one multiget instead of a GET each (an update merges into the
        // stored item); an item missing here is fetched on its own, and fails there as it must.
        let updated = batch.compactMap { if case .update(let id, _, _, _) = $0 { id } else { nil } }
        let stored = (try? await multiget(updated)) ?? [:]
        var results = [WriteResult?](repeating: nil, count: batch.count)
        try await withThrowingTaskGroup(of: (Int, WriteResult).self) { group in
            var next = 0
            func start() {
                guard next < batch.count else { return }
                let index = next
                let operation = batch[index]
                next += 1
                group.addTask {
                    (index, try await self.write(operation, collectionURL: collectionURL, stored: stored))
                }
            }
            for _ in 0..<min(parallelRequests, batch.count) { start() }
            while let (index, result) = try await group.next() {
                results[index] = result
                start()
            }
        }
        return results.map {
            $0
                ?? .failure(
                    WriteError(.transient, "user \(client.user): the write was not sent (the batch stopped first)"))
        }
    }

    /// One write. A refused login fails the whole batch; other failures are the item's.
    func write(
        _ operation: WriteOperation, collectionURL: String, stored: [ItemID: (text: String, etag: String?)] = [:]
    ) async throws -> WriteResult {
        do {
            switch operation {
            case .create(let key, let record):
                let id =
                    DAVPath.path(of: collectionURL.hasSuffix("/") ? collectionURL : collectionURL + "/")
                    + itemName(for: key)
                let version = try await create(record, id: id, key: key, collectionURL: collectionURL)
                versions.note(id, version)
                return .success(id: id, version: version, stored: nil)
            case .update(let id, let expected, let record, let fields):
                let version = try await update(
                    id: id, expected: expected, record: record, fields: fields, collectionURL: collectionURL,
                    stored: stored[id])
                versions.note(id, version)
                return .success(id: id, version: version, stored: nil)
            case .delete(let id):
                try await delete(id: id, collectionURL: collectionURL)
                versions.note(id, nil)
                return .success(id: id, version: "", stored: nil)
            }
        } catch let error as CalDAVError {
            if error.status == 401 { throw error }
            return .failure(Self.writeError(error))
        } catch {
            return .failure(WriteError(.permanent, "user \(client.user): \(error)"))
        }
    }

    /// A DELETE under `If-Match` of the last etag seen (unconditional without one). An item that is
    /// gone counts as deleted; a 412 is a conflict: the item changed on the server since.
    func delete(id: ItemID, collectionURL: String) async throws {
        let target = url(of: id, in: collectionURL)
        let headers = versions[id].map { [("If-Match", $0)] } ?? []
        do {
            _ = try await client.send("DELETE", target, headers: headers, expect: [200, 204, 404])
        } catch let error as CalDAVError where error.status == 412 {
            let explained = await conflictOrGone(target, error)
            if explained.status != 404 { throw explained }
        }
    }

    /// PUTs a new item under `If-None-Match: *`. When the name is taken by an item carrying the
    /// same sync key (an earlier attempt got through before a crash), that item is written over.
    func create(_ record: Record, id: ItemID, key: SyncKey, collectionURL: String) async throws -> Version {
        let target = url(of: id, in: collectionURL)
        let text = try codec.encode(record, uid: key.rawValue, syncKey: key, previous: nil)
        let answer = try await put(target, text, condition: ("If-None-Match", "*"), allow412: true)
        if answer.status != 412 { return try await version(of: answer, target) }
        let existing = try await client.send("GET", target, expect: [200, 404])
        guard existing.status == 200, let decoded = try? codec.decode(existing.text, kind: kind),
            decoded.syncKey == key, let etag = existing.headers["etag"]
        else {
            throw CalDAVError(
                user: client.user, method: "PUT", url: target, status: 409,
                cause: "the name is taken by another item (not created with sync key \(key))", isPermanent: true)
        }
        let again = try await put(target, text, condition: ("If-Match", etag), allow412: false)
        return try await version(of: again, target)
    }

    /// Merges the changed fields into the stored item (`stored`, else read with a GET; a PUT
    /// replaces the whole item) and PUTs it under `If-Match` of the version the engine saw.
    func update(
        id: ItemID, expected: Version?, record: Record, fields: Set<String>, collectionURL: String,
        stored: (text: String, etag: String?)? = nil
    ) async throws -> Version {
        let target = url(of: id, in: collectionURL)
        let current: (text: String, etag: String?)
        if let stored {
            current = stored
        } else {
            let answer = try await client.send("GET", target, expect: [200])
            current = (answer.text, answer.headers["etag"])
        }
        let old = try codec.decode(current.text, kind: kind)
        var merged = record
        if let old, !Set(RecordFields.names(for: kind)).isSubset(of: fields) {
            merged = try RecordFields.merge(old.record, taking: fields, from: record)
        }
        let uid = old?.uid ?? String(id.split(separator: "/").last ?? "")
        let text = try codec.encode(merged, uid: uid, syncKey: nil, previous: current.text)
        guard let condition = expected ?? current.etag else {
            throw CalDAVError(
                user: client.user, method: "PUT", url: target, status: 0,
                cause: "the server gives the item no ETag, so it cannot be updated safely", isPermanent: true)
        }
        let answer = try await put(target, text, condition: ("If-Match", condition), allow412: false)
        return try await version(of: answer, target)
    }

    func put(_ target: String, _ text: String, condition: (String, String), allow412: Bool) async throws
        -> CalDAVAnswer
    {
        let headers = [("Content-Type", CalDAVCodec.contentType(kind)), condition]
        do {
            return try await client.send(
                "PUT", target, headers: headers, body: Data(text.utf8),
                expect: allow412 ? [200, 201, 204, 412] : [200, 201, 204])
        } catch let error as CalDAVError where error.status == 412 || error.status == 404 {
            throw await conflictOrGone(target, error)
        }
    }

    /// The new version: the PUT's ETag, else (a server that changed what it stored) a PROPFIND.
    func version(of answer: CalDAVAnswer, _ target: String) async throws -> Version {
        if let etag = answer.headers["etag"], !etag.isEmpty, !etag.hasPrefix("W/") { return etag }
        let responses = try await client.propfind(target, depth: "0", properties: ["D:getetag"])
        return responses.first?.text(DAVName.getETag) ?? ""
    }

    /// What a failed `If-Match` means: the item changed (a conflict), or it is gone (not found).
    func conflictOrGone(_ target: String, _ error: CalDAVError) async -> CalDAVError {
        var gone = error.status == 404
        if !gone,
            let answer = try? await client.send("PROPFIND", target, headers: [("Depth", "0")], expect: [207, 404])
        {
            gone = answer.status == 404
        }
        var result = error
        result.status = gone ? 404 : 412
        result.cause =
            gone
            ? "the item is no longer in the collection" : "the item changed on the server since it was read (If-Match)"
        return result
    }

    static func writeError(_ error: CalDAVError) -> WriteError { error.writeError(error.description) }

    // MARK: Finding by sync key

    /// The items at the names the keys give, when they carry those keys.
    func find(syncKeys: [SyncKey]) async throws -> [SyncKey: ItemState] {
        guard !syncKeys.isEmpty else { return [:] }
        let collectionURL = try await collection.url()
        let base = DAVPath.path(of: collectionURL.hasSuffix("/") ? collectionURL : collectionURL + "/")
        let ids = Dictionary(syncKeys.map { (base + itemName(for: $0), $0) }) { first, _ in first }
        var found: [SyncKey: ItemState] = [:]
        for (id, state) in try await read(ids: Array(ids.keys)) {
            if let key = ids[id], state.syncKey == key { found[key] = state }
        }
        return found
    }
}

/// The collection of one user and kind: given in the account, or found once from its `url` (the
/// collection itself, or the principal's home set).
actor CalDAVCollectionResolver {
    let client: CalDAVClient
    let kind: DataKind
    let start: String
    let given: String?
    var cached: String?

    init(client: CalDAVClient, kind: DataKind, start: String, given: String?) {
        self.client = client
        self.kind = kind
        self.start = start
        self.given = given
    }

    /// Takes a URL found earlier (kept in the cursor).
    func prime(_ url: String) {
        if cached == nil, given == nil { cached = url }
    }

    func url() async throws -> String {
        if let given { return given }
        if let cached { return cached }
        let found = try await discover()
        cached = found
        return found
    }

    var kindName: String {
        switch kind {
        case .address: "address book"
        case .task: "calendar supporting VTODO"
        default: "calendar supporting VEVENT"
        }
    }

    /// Whether a PROPFIND response is a collection of this kind.
    func fits(_ response: CalDAVResponse) -> Bool {
        guard let type = response[DAVName.resourceType] else { return false }
        if kind == .address { return type.children.contains { $0.name == "addressbook" } }
        guard type.children.contains(where: { $0.name == "calendar" }) else { return false }
        guard let set = response[DAVName.componentSet] else { return true }
        let wanted = CalDAVCodec.component(kind)
        return set.children.contains { ($0.attributes["name"] ?? "").uppercased() == wanted }
    }

    /// An href as a URL on the server of `base` (the account's URL unless given).
    func absolute(_ href: String, base: String? = nil) -> String {
        let origin = href.contains("://") ? URLParts.origin(href) : URLParts.origin(base ?? start)
        return (origin ?? "") + DAVPath.encode(DAVPath.path(of: href))
    }

    /// Where a server's own name (`https://cloud.example.com/`) leads: the target of its
    /// `/.well-known/caldav` or `/.well-known/carddav` (RFC 6764), or nil when the server has none.
    func wellKnown() async throws -> String? {
        guard let origin = URLParts.origin(start) else { return nil }
        let url = origin + (kind == .address ? "/.well-known/carddav" : "/.well-known/caldav")
        let answer = try await client.send(
            "PROPFIND", url, headers: [("Depth", "0")],
            body: Data(
                "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop><D:current-user-principal/></D:prop></D:propfind>"
                    .utf8),
            expect: [207, 301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 501])
        switch answer.status {
        case 301, 302, 303, 307, 308:
            guard let location = answer.headers["location"], !location.isEmpty else { return nil }
            return location.contains("://") ? location : origin + (location.hasPrefix("/") ? "" : "/") + location
        case 207:
            // The server answers there itself: its principal, when it names one.
            let principal = try client.multistatus(answer, method: "PROPFIND", url: url).responses.first?[
                DAVName.currentUserPrincipal]?.child("href")?.text
            return principal.map { absolute($0) }
        case 401:
            throw client.explain(answer, method: "PROPFIND", url: url)
        default:
            return nil
        }
    }

    /// `url` itself when it is a collection of the kind; else the first such collection in the
    /// home set of `url`'s principal (or of `url` when it is a home). A server's bare name is
    /// first looked up under `/.well-known/` (RFC 6764).
    func discover() async throws -> String {
        var start = self.start
        if ["", "/"].contains(DAVPath.path(of: start)), let found = try await wellKnown() {
            start = found
        }
        let homeSet = kind == .address ? "CR:addressbook-home-set" : "C:calendar-home-set"
        let homeName = kind == .address ? DAVName.addressbookHomeSet : DAVName.calendarHomeSet
        let properties = ["D:resourcetype", "C:supported-calendar-component-set", "D:current-user-principal", homeSet]
        let own = try await client.propfind(start, depth: "0", properties: properties).first
        if let own, fits(own) { return start }
        var home = own?[homeName]?.child("href")?.text
        if home == nil, let principal = own?[DAVName.currentUserPrincipal]?.child("href")?.text {
            home = try await client.propfind(absolute(principal, base: start), depth: "0", properties: [homeSet])
                .first?[homeName]?
                .child("href")?.text
        }
        let homeURL = home.map { absolute($0, base: start) } ?? start
        let members = try await client.propfind(
            homeURL, depth: "1", properties: ["D:resourcetype", "C:supported-calendar-component-set"])
        let homePath = DAVPath.path(of: homeURL)
        guard
            let match = members.sorted(by: { $0.path < $1.path }).first(where: {
                $0.path != homePath && fits($0)
            })
        else {
            throw CalDAVError(
                user: client.user, method: "PROPFIND", url: homeURL, status: 207,
                cause:
                    "no \(kindName) in this home set: create one, or name it in the user's '\(kind == .address ? "addressbook" : kind == .task ? "tasks" : "calendar")'",
                isPermanent: true)
        }
        return absolute(match.path, base: start)
    }
}
