import AdapterSupport
import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import TestSupport
import Testing

@testable import CalDAVConnector

/// The `caldav` adapter's protocol behaviour against Radicale: ETag races, refused sync tokens,
/// repeated creates, and errors that name the user, the method and the URL.
@Suite("caldav against Radicale: protocol and errors", .serialized)
struct CalDAVProtocolTests {
    static let event = Record.calendar(
        CalendarEvent(
            subject: "Besichtigung",
            timing: .timed(
                start: Date(timeIntervalSince1970: 1_900_000_000), end: Date(timeIntervalSince1970: 1_900_003_600),
                timeZone: "Europe/Berlin")))

    func withSubject(_ body: (DAVServerSubject) async throws -> Void) async throws {
        let subject = try DAVServerSubject()
        do {
            try await body(subject)
        } catch {
            await subject.stop()
            throw error
        }
        await subject.stop()
    }

    func created(_ results: [WriteResult]) throws -> (ItemID, Version) {
        guard case .success(let id, let version, _)? = results.first else {
            throw RadicaleError("create failed: \(results)")
        }
        return (id, version)
    }

    @Test("Another client's PUT between read and update makes the update a conflict")
    func etagRace() async throws {
        try await withSubject { subject in
            let endpoint = try await subject.endpoint(.calendar)
            let key = SyncKey(rawValue: "race-1")
            let (id, version) = try created(try await endpoint.apply([.create(syncKey: key, record: Self.event)]))
            // Another client rewrites the item (its own text, no If-Match).
            let current = try runCurl(["-u", "jdoe:geheim", subject.server.baseURL + id])
            let edited = current.body.replacingOccurrences(of: "SUMMARY:Besichtigung", with: "SUMMARY:Vom Handy")
            let put = try runCurl([
                "-X", "PUT", "-u", "jdoe:geheim", "-H", "Content-Type: text/calendar", "--data-binary", edited,
                subject.server.baseURL + id,
            ])
            #expect(put.status == 201 || put.status == 204)
            guard case .calendar(var event) = Self.event else { return }
            event.subject = "Vom CRM"
            let results = try await endpoint.apply([
                .update(id: id, expectedVersion: version, record: .calendar(event), fields: ["subject"])
            ])
            guard case .failure(let error)? = results.first else {
                Issue.record("the update went through: \(results)")
                return
            }
            #expect(error.kind == .conflict)
            #expect(error.message.contains("jdoe") && error.message.contains(id))
            let state = try await endpoint.read(ids: [id])[id]
            #expect(state?.record.displayName == "Vom Handy")
            #expect(state?.syncKey == key, "another client's edit keeps the sync key")
        }
    }

    @Test(
        "A DELETE carries If-Match of the last etag seen: another client's change in between is a conflict; gone or unseen, it is done"
    )
    func deleteIfMatch() async throws {
        try await withSubject { subject in
            let endpoint = try await subject.endpoint(.calendar)
            let (id, version) = try created(
                try await endpoint.apply([.create(syncKey: SyncKey(rawValue: "del-1"), record: Self.event)]))
            let (other, _) = try created(
                try await endpoint.apply([.create(syncKey: SyncKey(rawValue: "del-2"), record: Self.event)]))
            // The engine hands the versions it knows to the next read.
            _ = try await endpoint.changes(ChangeRequest(cursor: nil, known: [id: version]))
            let current = try runCurl(["-u", "jdoe:geheim", subject.server.baseURL + id])
            let edited = current.body.replacingOccurrences(of: "SUMMARY:Besichtigung", with: "SUMMARY:Vom Handy")
            let put = try runCurl([
                "-X", "PUT", "-u", "jdoe:geheim", "-H", "Content-Type: text/calendar", "--data-binary", edited,
                subject.server.baseURL + id,
            ])
            #expect(put.status == 201 || put.status == 204)
            let refused = try await endpoint.apply([.delete(id: id)])
            guard case .failure(let error)? = refused.first else {
                Issue.record("the delete went through over another client's change: \(refused)")
                return
            }
            #expect(error.kind == .conflict, "\(error)")
            #expect(try await endpoint.read(ids: [id])[id]?.record.displayName == "Vom Handy")
            // Once the change was read, the delete goes through; an item already gone counts as deleted.
            _ = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
            let done = try await endpoint.apply([.delete(id: id), .delete(id: other)])
            #expect(done.allSatisfy { if case .success = $0 { true } else { false } }, "\(done)")
            #expect(try await endpoint.read(ids: [id, other]).isEmpty)
            let again = try await endpoint.apply([.delete(id: id)])
            #expect(again.allSatisfy { if case .success = $0 { true } else { false } }, "\(again)")
            // A fresh endpoint (no etag seen) deletes without a condition.
            let fresh = try await subject.endpoint(.calendar)
            let (third, _) = try created(
                try await fresh.apply([.create(syncKey: SyncKey(rawValue: "del-3"), record: Self.event)]))
            let unseen = try await subject.endpoint(.calendar)
            let gone = try await unseen.apply([.delete(id: third)])
            #expect(gone.allSatisfy { if case .success = $0 { true } else { false } }, "\(gone)")
        }
    }

    @Test("A sync token the server refuses (403 valid-sync-token) leads to a full read with a new token")
    func invalidSyncToken() async throws {
        try await withSubject { subject in try await Self.invalidSyncToken(subject) }
    }

    /// A task, a cursor with a token the server never gave, and a known item that is gone.
    static func invalidSyncToken(_ subject: DAVServerSubject) async throws {
        let endpoint = try await subject.endpoint(.task)
        guard
            case .success(let id, let version, _)? = try await endpoint.apply([
                .create(syncKey: SyncKey(rawValue: "token-1"), record: .task(TaskItem(subject: "Anrufen")))
            ]).first
        else { throw RadicaleError("create failed") }
        let first = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        #expect(first.isFullScan)
        let saved = try #require(CursorCoding.decode(CalDAVCursor.self, from: first.cursor))
        #expect(saved.syncToken != nil)
        let bogus = try CursorCoding.encode(
            CalDAVCursor(collection: saved.collection, syncToken: "http://radicale.org/ns/sync/0000"))
        let gone = CalDAVEndpoint.parent(of: id) + "gone.ics"
        let set = try await endpoint.changes(
            ChangeRequest(cursor: bogus, known: [id: version, gone: "x"]))
        #expect(set.isFullScan)
        #expect(set.unchanged == [id], "an item whose etag is known is not fetched again")
        #expect(set.changes == [.deleted(gone)])
        let next = try #require(CursorCoding.decode(CalDAVCursor.self, from: set.cursor))
        #expect(next.syncToken != nil && next.syncToken != "http://radicale.org/ns/sync/0000")
        let quiet = try await endpoint.changes(ChangeRequest(cursor: set.cursor, known: [id: version]))
        #expect(!quiet.isFullScan && quiet.changes.isEmpty)
    }

    @Test("A create repeated after a crash finds its own item and writes over it")
    func repeatedCreate() async throws {
        try await withSubject { subject in
            let endpoint = try await subject.endpoint(.address)
            let key = SyncKey(rawValue: "Müller/1")
            let record = Record.address(Address(givenName: "Max", familyName: "Müller"))
            let (id, _) = try created(try await endpoint.apply([.create(syncKey: key, record: record)]))
            #expect(id == "/jdoe/contacts/M-ller-1.vcf")
            let (again, _) = try created(try await endpoint.apply([.create(syncKey: key, record: record)]))
            #expect(again == id)
            let other = try await endpoint.apply([
                .create(syncKey: SyncKey(rawValue: "Müller?1"), record: record)
            ])
            guard case .failure(let error)? = other.first else {
                Issue.record("a create over another key's item went through: \(other)")
                return
            }
            #expect(error.kind == .permanent)
        }
    }

    @Test("An update keeps what another client stored beyond the record, and the sync key")
    func updateKeepsForeignProperties() async throws {
        try await withSubject { subject in
            let endpoint = try await subject.endpoint(.calendar)
            let key = SyncKey(rawValue: "keep-1")
            let (id, _) = try created(try await endpoint.apply([.create(syncKey: key, record: Self.event)]))
            let current = try runCurl(["-u", "jdoe:geheim", subject.server.baseURL + id])
            let edited = current.body.replacingOccurrences(
                of: "SUMMARY:Besichtigung",
                with: "SUMMARY:Besichtigung\r\nURL:https://crm.example/1\r\nX-CLIENT-NOTE:vom Handy")
            _ = try runCurl([
                "-X", "PUT", "-u", "jdoe:geheim", "-H", "Content-Type: text/calendar", "--data-binary", edited,
                subject.server.baseURL + id,
            ])
            let version = try #require(try await endpoint.read(ids: [id])[id]).version
            guard case .calendar(var event) = Self.event else { return }
            event.location = "Lindenstraße 5"
            let results = try await endpoint.apply([
                .update(id: id, expectedVersion: version, record: .calendar(event), fields: ["location"])
            ])
            guard case .success? = results.first else {
                Issue.record("update failed: \(results)")
                return
            }
            let stored = try runCurl(["-u", "jdoe:geheim", subject.server.baseURL + id]).body
            #expect(stored.contains("URL:https://crm.example/1") && stored.contains("X-CLIENT-NOTE:vom Handy"))
            #expect(stored.contains("LOCATION:Lindenstraße 5") && stored.contains("SUMMARY:Besichtigung"))
            #expect(try await endpoint.read(ids: [id])[id]?.syncKey == key)
        }
    }

    @Test("A wrong password is a permanent error naming the user, the method and the URL")
    func wrongPassword() async throws {
        try await withSubject { subject in
            let adapter = try DAVServerSubject.make(["password": .secret(Secret("falsch"))])
            defer { Task { await adapter.shutdown() } }
            let scope = subject.scope(.calendar, account: subject.account)
            do {
                _ = try await adapter.endpoint(for: scope).changes(ChangeRequest(cursor: nil, known: [:]))
                Issue.record("a wrong password was accepted")
            } catch let error as CalDAVError {
                #expect(error.isPermanent)
                #expect(error.status == 401)
                let text = "\(error)"
                #expect(text.contains("jdoe") && text.contains("PROPFIND") && text.contains(subject.server.baseURL))
                #expect(!text.contains("falsch"))
            }
            let checks = await (adapter as? CalDAVAdapter)?.check(for: scope) ?? []
            #expect(checks.count == 1 && checks.first?.ok == false)
        }
    }

    @Test("A server that is down is a transient error naming the URL")
    func serverDown() async throws {
        let port = try freeLoopbackPort()
        let adapter = try DAVServerSubject.make()
        defer { Task { await adapter.shutdown() } }
        let url = "http://127.0.0.1:\(port)/jdoe/calendar/"
        let scope = EndpointScope(
            connector: "down", kind: .calendar, role: .source, user: "JD",
            account: CalDAVAdapter.type.account(on: "groupware", ["url": url, "calendar": url]))
        do {
            _ = try await adapter.endpoint(for: scope).changes(ChangeRequest(cursor: nil, known: [:]))
            Issue.record("a server that is down answered")
        } catch let error as CalDAVError {
            #expect(!error.isPermanent)
            #expect("\(error)".contains(url))
        }
    }

    @Test("check finds the collections and counts their items")
    func check() async throws {
        try await withSubject { subject in
            let adapter = try #require(subject.adapter as? CalDAVAdapter)
            for kind in [DataKind.address, .calendar, .task] {
                let checks = await adapter.check(for: subject.scope(kind))
                #expect(checks.allSatisfy { $0.ok }, "\(checks)")
            }
        }
    }
}

@Suite("caldav against Xandikos: protocol", .serialized)
struct CalDAVXandikosProtocolTests {
    @Test("A sync token Xandikos does not know (it answers 500) leads to a full read with a new token")
    func invalidSyncToken() async throws {
        let subject = try DAVServerSubject(xandikos: ())
        do {
            try await CalDAVProtocolTests.invalidSyncToken(subject)
        } catch {
            await subject.stop()
            throw error
        }
        await subject.stop()
    }
}

@Suite("The Nextcloud deployment example")
struct NextcloudExampleTests {
    static var example: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/examples/caldav-nextcloud.yaml")
    }

    @Test("deploy/examples/caldav-nextcloud.yaml validates: contacts, calendar and tasks two-way with caldav")
    func validates() throws {
        let deployment = try ConfigLoader(
            registry: AdapterRegistry(BuiltinAdapters.all),
            environment: ["FF_DB_PASSWORD": "x", "NEXTCLOUD_PASSWORD_MM": "y", "NEXTCLOUD_PASSWORD_JS": "z"]
        ).load(path: Self.example.path)
        #expect(deployment.adapters["cloud"]?.type.name == "caldav")
        #expect(deployment.connectors.map(\.definition.name).sorted() == ["calendar", "contacts", "tasks"])
        #expect(deployment.connectors.allSatisfy { $0.definition.direction == .twoWay })
    }
}
