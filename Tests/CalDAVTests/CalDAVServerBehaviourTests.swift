import AdapterSupport
import ConnectorAPI
import EndpointConformance
import Foundation
import TestSupport
import Testing

@testable import CalDAVConnector

/// The `caldav` adapter against servers that behave as other servers do: Radicale or Xandikos
/// behind ``DAVProxy``, which refuses WebDAV-Sync or answers it in parts, and Xandikos's calendar
/// that holds events and tasks together.
@Suite("caldav against servers that behave otherwise", .serialized)
struct CalDAVServerBehaviourTests {
    static let event = CalDAVProtocolTests.event

    func with(_ subject: DAVServerSubject, _ body: (DAVServerSubject) async throws -> Void) async throws {
        try await subject.using(body)
    }

    /// Lines of the proxy's log that start with `prefix` (`REPORT[sync-collection]`, `PROPFIND` …).
    static func count(_ proxy: DAVProxy?, _ prefix: String) -> Int {
        (proxy?.log ?? "").split(separator: "\n").filter { $0.hasPrefix(prefix) }.count
    }

    static func created(_ results: [WriteResult]) throws -> [(ItemID, Version)] {
        try results.map {
            guard case .success(let id, let version, _) = $0 else { throw RadicaleError("create failed: \($0)") }
            return (id, version)
        }
    }

    /// Another client's edit of an event's SUMMARY, straight to the server.
    static func edit(_ subject: DAVServerSubject, _ id: ItemID, summary: String) throws {
        let credentials = "\(DAVServerSubject.user):\(DAVServerSubject.password)"
        let current = try runCurl(["-u", credentials, subject.server.baseURL + id])
        let edited = current.body.replacingOccurrences(of: "SUMMARY:Besichtigung", with: "SUMMARY:\(summary)")
        let put = try runCurl([
            "-X", "PUT", "-u", credentials, "-H", "Content-Type: text/calendar", "--data-binary", edited,
            subject.server.baseURL + id,
        ])
        guard put.status == 201 || put.status == 204 else { throw RadicaleError("PUT \(id): \(put.status)") }
    }

    @Test(
        "Without WebDAV-Sync (Radicale behind a proxy that refuses sync-collection) the conformance suite holds on getetag listings",
        arguments: ConformanceCheck.allCases)
    func withoutSync(_ check: ConformanceCheck) async throws {
        try await with(DAVServerSubject(behind: .noSync)) { subject in
            try await check.run(on: subject)
            let log = subject.proxy?.log ?? ""
            let syncs = log.split(separator: "\n").filter { $0.hasPrefix("REPORT[sync-collection]") }
            #expect(syncs.allSatisfy { $0.hasSuffix("-> 403") }, "\(log)")
            print("without sync, \(check): \(syncs.count) refused sync-collection, then PROPFIND listings")
        }
    }

    @Test(
        "Without WebDAV-Sync every run lists the etags: changes and deletions are found, known items are not fetched, and the refused report is not asked again"
    )
    func getetagListing() async throws {
        try await with(DAVServerSubject(behind: .noSync)) { subject in
            let endpoint = try await subject.endpoint(.calendar)
            let items = try Self.created(
                try await endpoint.apply(
                    (0..<4).map { .create(syncKey: SyncKey(rawValue: "etag-\($0)"), record: Self.event) }))
            let first = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
            #expect(first.isFullScan)
            #expect(first.changes.count == 4)
            let cursor = try #require(CursorCoding.decode(CalDAVCursor.self, from: first.cursor))
            #expect(cursor.syncToken == nil, "no token from a server without WebDAV-Sync")
            let reportsBefore = Self.count(subject.proxy, "REPORT[sync-collection]")
            let multigetsBefore = Self.count(subject.proxy, "REPORT[calendar-multiget]")
            let known = Dictionary(uniqueKeysWithValues: items)
            let quiet = try await endpoint.changes(ChangeRequest(cursor: first.cursor, known: known))
            #expect(quiet.isFullScan && quiet.changes.isEmpty && quiet.unchanged.count == 4)
            #expect(Self.count(subject.proxy, "REPORT[sync-collection]") == reportsBefore)
            #expect(Self.count(subject.proxy, "REPORT[calendar-multiget]") == multigetsBefore)
            // Another client: one item changed, one deleted.
            try Self.edit(subject, items[0].0, summary: "Vom Handy")
            try await subject.removeBehind(.calendar, id: items[1].0)
            let next = try await endpoint.changes(ChangeRequest(cursor: quiet.cursor, known: known))
            #expect(next.changes.contains(.deleted(items[1].0)), "\(next.changes)")
            let upserts = next.changes.compactMap { if case .upsert(let state) = $0 { state } else { nil } }
            #expect(upserts.map(\.id) == [items[0].0])
            #expect(upserts.first?.record.displayName == "Vom Handy")
            #expect(next.changes.count == 2)
        }
    }

    @Test(
        "sync-collection answered in parts (507 for the collection and a token for the rest) is followed to the end, for a first read and for changes"
    )
    func pagedSync() async throws {
        try await with(DAVServerSubject(behind: .pages(3))) { subject in
            let endpoint = try await subject.endpoint(.calendar)
            let items = try Self.created(
                try await endpoint.apply(
                    (0..<10).map { .create(syncKey: SyncKey(rawValue: "page-\($0)"), record: Self.event) }))
            let first = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
            #expect(first.isFullScan)
            #expect(
                Set(first.changes.compactMap { if case .upsert(let s) = $0 { s.id } else { nil } })
                    == Set(items.map(\.0)))
            #expect(Self.count(subject.proxy, "part of 3 responses") >= 3, "\(subject.proxy?.log ?? "")")
            let cursor = try #require(CursorCoding.decode(CalDAVCursor.self, from: first.cursor))
            #expect(cursor.syncToken?.contains("proxy.test/part") == false, "the cursor holds the server's last token")
            // Another client: five changed, two deleted; the changes come in three parts.
            for (id, _) in items[0..<5] { try Self.edit(subject, id, summary: "Geändert") }
            for (id, _) in items[5..<7] { try await subject.removeBehind(.calendar, id: id) }
            let known = Dictionary(uniqueKeysWithValues: items)
            let next = try await endpoint.changes(ChangeRequest(cursor: first.cursor, known: known))
            #expect(!next.isFullScan)
            let upserts = next.changes.compactMap { if case .upsert(let s) = $0 { s } else { nil } }
            #expect(Set(upserts.map(\.id)) == Set(items[0..<5].map(\.0)))
            #expect(upserts.allSatisfy { $0.record.displayName == "Geändert" })
            #expect(
                Set(next.changes.compactMap { if case .deleted(let id) = $0 { id } else { nil } })
                    == Set(items[5..<7].map(\.0)))
            let quiet = try await endpoint.changes(
                ChangeRequest(
                    cursor: next.cursor,
                    known: known.merging(upserts.map { ($0.id, $0.version) }) { $1 }.filter {
                        !items[5..<7].map(\.0).contains($0.key)
                    }))
            #expect(quiet.changes.isEmpty && !quiet.isFullScan, "\(quiet.changes)")
        }
    }

    @Test("The conformance suite holds when sync-collection comes in parts of two")
    func pagedConformance() async throws {
        for check in [ConformanceCheck.createAndRead, .changeFeed, .syncKeys] {
            try await with(DAVServerSubject(behind: .pages(2))) { subject in try await check.run(on: subject) }
        }
    }

    @Test(
        "In Xandikos's calendar of events and tasks, each kind's endpoint fetches the other kind's items once and again only when they change"
    )
    func mixedCalendar() async throws {
        try await with(DAVServerSubject(xandikos: (), behind: .plain)) { subject in
            let events = try await subject.endpoint(.calendar)
            let tasks = try await subject.endpoint(.task)
            let madeTasks = try Self.created(
                try await tasks.apply(
                    (0..<3).map {
                        .create(
                            syncKey: SyncKey(rawValue: "mixed-task-\($0)"),
                            record: .task(TaskItem(subject: "Aufgabe \($0)")))
                    }))
            let madeEvents = try Self.created(
                try await events.apply(
                    (0..<2).map { .create(syncKey: SyncKey(rawValue: "mixed-event-\($0)"), record: Self.event) }))
            #expect(CalDAVEndpoint.parent(of: madeTasks[0].0) == CalDAVEndpoint.parent(of: madeEvents[0].0))
            let first = try await events.changes(ChangeRequest(cursor: nil, known: [:]))
            #expect(first.changes.count == 2)
            let cursor = try #require(CursorCoding.decode(CalDAVCursor.self, from: first.cursor))
            #expect(Set(cursor.others?.keys.map { $0 } ?? []) == Set(madeTasks.map(\.0)))
            let known = Dictionary(uniqueKeysWithValues: madeEvents)
            // A full read again (a token the server does not know): nothing fetched.
            let bogus = try CursorCoding.encode(
                CalDAVCursor(collection: cursor.collection, syncToken: "unknown-token", others: cursor.others))
            let multigets = Self.count(subject.proxy, "REPORT[calendar-multiget]")
            let full = try await events.changes(ChangeRequest(cursor: bogus, known: known))
            #expect(full.isFullScan && full.changes.isEmpty && full.unchanged.count == 2, "\(full.changes)")
            #expect(Self.count(subject.proxy, "REPORT[calendar-multiget]") == multigets)
            // A task changed: fetched once by the events' endpoint, then left alone.
            _ = try await tasks.apply([
                .update(
                    id: madeTasks[0].0, expectedVersion: madeTasks[0].1, record: .task(TaskItem(subject: "Neu")),
                    fields: ["subject"])
            ])
            let updated = Self.count(subject.proxy, "REPORT[calendar-multiget]")  // the update's own read
            let changed = try await events.changes(ChangeRequest(cursor: full.cursor, known: known))
            #expect(changed.changes.isEmpty)
            #expect(Self.count(subject.proxy, "REPORT[calendar-multiget]") == updated + 1)
            let quiet = try await events.changes(ChangeRequest(cursor: changed.cursor, known: known))
            #expect(quiet.changes.isEmpty)
            #expect(Self.count(subject.proxy, "REPORT[calendar-multiget]") == updated + 1)
            // A task deleted leaves the cursor.
            _ = try await tasks.apply([.delete(id: madeTasks[1].0)])
            let after = try await events.changes(ChangeRequest(cursor: quiet.cursor, known: known))
            let left = try #require(CursorCoding.decode(CalDAVCursor.self, from: after.cursor))
            #expect(Set(left.others?.keys.map { $0 } ?? []) == [madeTasks[0].0, madeTasks[2].0])
        }
    }

    @Test(
        "A server's bare name is enough: discovery goes through /.well-known/caldav and /.well-known/carddav",
        arguments: [false, true])
    func wellKnown(_ xandikos: Bool) async throws {
        let subject =
            xandikos
            ? try DAVServerSubject(xandikos: (), path: "/", behind: .plain)
            : try DAVServerSubject(path: "/", behind: .plain)
        try await with(subject) { subject in
            for check in [ConformanceCheck.createAndRead, .changeFeed] { try await check.run(on: subject) }
            let log = subject.proxy?.log ?? ""
            #expect(log.contains("PROPFIND /.well-known/caldav -> 30"), "\(log)")
            #expect(log.contains("PROPFIND /.well-known/carddav -> 30"), "\(log)")
        }
    }

    @Test(
        "A batch of updates reads the stored items in one multiget, not a GET each, and keeps what they hold beyond the record"
    )
    func updatesReadInOneMultiget() async throws {
        try await with(DAVServerSubject(behind: .plain)) { subject in
            let endpoint = try await subject.endpoint(.calendar)
            let items = try Self.created(
                try await endpoint.apply(
                    (0..<3).map { .create(syncKey: SyncKey(rawValue: "batch-\($0)"), record: Self.event) }))
            // Another client adds a property the record does not hold to the first item.
            let credentials = "\(DAVServerSubject.user):\(DAVServerSubject.password)"
            let first = try runCurl(["-u", credentials, subject.server.baseURL + items[0].0])
            let extended = first.body.replacingOccurrences(
                of: "END:VEVENT", with: "X-OTHER-CLIENT:bleibt\r\nEND:VEVENT")
            let put = try runCurl([
                "-X", "PUT", "-u", credentials, "-H", "Content-Type: text/calendar", "--data-binary", extended,
                subject.server.baseURL + items[0].0,
            ])
            #expect(put.status == 204 || put.status == 201)
            let current = try await endpoint.read(ids: items.map(\.0))
            let multigets = Self.count(subject.proxy, "REPORT[calendar-multiget]")
            guard case .calendar(var event) = Self.event else { return }
            event.subject = "Neu"
            let results = try await endpoint.apply(
                items.map {
                    .update(
                        id: $0.0, expectedVersion: current[$0.0]?.version, record: .calendar(event),
                        fields: ["subject"])
                })
            #expect(results.allSatisfy { if case .success = $0 { true } else { false } }, "\(results)")
            #expect(Self.count(subject.proxy, "REPORT[calendar-multiget]") == multigets + 1)
            #expect(Self.count(subject.proxy, "GET ") == 1, "only the other client's GET: \(subject.proxy?.log ?? "")")
            let after = try await endpoint.read(ids: items.map(\.0))
            #expect(after.values.allSatisfy { $0.record.displayName == "Neu" })
            #expect(
                try runCurl(["-u", credentials, subject.server.baseURL + items[0].0]).body.contains(
                    "X-OTHER-CLIENT:bleibt"))
        }
    }
}
