import ConnectorAPI
import Connectors
import ExchangeSim
import Foundation
import TestSupport
import Testing

/// What an administrator reads when the legacy server says no: each error names the mailbox, the
/// URL and the cause, and says whether trying again can help.
@Suite("exchange-webdav: errors name the mailbox, the URL and the cause", .serialized)
struct WebDAVErrorTests {
    func adapter(_ base: String, auth: String = "basic", user: String = "svc", password: String = "pw") throws
        -> any Adapter
    {
        try WebDAVAdapter.type.make(
            Settings([
                "url": .string(base + "/exchange/"), "auth": .string(auth), "username": .string(user),
                "password": .secret(Secret(password)),
            ]),
            AdapterContext(instanceName: "legacy", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
    }

    func endpoint(_ adapter: any Adapter, _ mailbox: String, _ kind: DataKind = .task) async throws
        -> any SyncEndpoint
    {
        try await adapter.endpoint(
            for: EndpointScope(
                connector: "errors", kind: kind, role: .target, user: "U",
                account: WebDAVAdapter.type.account(on: "legacy", ["mailbox": mailbox])))
    }

    /// The error a full read ends with.
    func readError(_ endpoint: any SyncEndpoint) async -> (any Error)? {
        do {
            _ = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
            return nil
        } catch {
            return error
        }
    }

    @Test("a mailbox that does not exist, and one the account may not open, are permanent and say what to check")
    func missingMailboxAndRights() async throws {
        let (server, base) = try await webdavServer { $0.delegates = [] }
        defer { Task { await server.stop() } }
        let legacy = try adapter(base)
        defer { Task { await legacy.shutdown() } }
        let missing = await readError(try await endpoint(legacy, "nobody"))
        #expect((missing as? ClassifiedError)?.isPermanent == true)
        #expect("\(missing.map { "\($0)" } ?? "")".contains("mailbox nobody"))
        #expect("\(missing.map { "\($0)" } ?? "")".contains("HTTP 404"))
        #expect("\(missing.map { "\($0)" } ?? "")".contains("/exchange/nobody/"))
        let denied = await readError(try await endpoint(legacy, "jdoe"))
        #expect((denied as? ClassifiedError)?.isPermanent == true)
        #expect(
            "\(denied.map { "\($0)" } ?? "")".contains("no full access to this mailbox"),
            "\(String(describing: denied))")
    }

    @Test("NTLM signs in as Windows authentication does; a wrong NTLM password is HTTP 401, permanent, never printed")
    func ntlm() async throws {
        let (server, base) = try await webdavServer { $0.auth = .ntlm }
        defer { Task { await server.stop() } }
        let legacy = try adapter(base, auth: "ntlm")
        defer { Task { await legacy.shutdown() } }
        let tasks = try await endpoint(legacy, "jdoe")
        let results = try await tasks.apply([
            .create(syncKey: SyncKey(rawValue: "ntlm-1"), record: .task(TaskItem(subject: "Über NTLM")))
        ])
        guard case .success? = results.first else {
            Issue.record("not written over NTLM: \(results)")
            return
        }
        #expect(server.service.davItemCount(mailbox: "jdoe@example.test", folder: "tasks") == 1)
        let wrong = try adapter(base, auth: "ntlm", password: "Falsch-4711")
        defer { Task { await wrong.shutdown() } }
        let error = await readError(try await endpoint(wrong, "jdoe"))
        #expect((error as? ClassifiedError)?.isPermanent == true)
        #expect("\(error.map { "\($0)" } ?? "")".contains("HTTP 401"))
        #expect(!"\(error.map { "\($0)" } ?? "")".contains("Falsch-4711"))
    }

    @Test("a mailbox over its quota: the write fails as permanent with 507 named; nothing else is held up")
    func quota() async throws {
        let (server, base) = try await webdavServer { $0.davQuotaExceeded = ["jdoe@example.test"] }
        defer { Task { await server.stop() } }
        let legacy = try adapter(base)
        defer { Task { await legacy.shutdown() } }
        let full = try await endpoint(legacy, "jdoe").apply([
            .create(syncKey: SyncKey(rawValue: "q-1"), record: .task(TaskItem(subject: "voll")))
        ])
        guard case .failure(let error)? = full.first else {
            Issue.record("a write to a full mailbox went through: \(full)")
            return
        }
        #expect(error.kind == .permanent)
        #expect(error.code == "HTTP507")
        #expect(error.message.contains("quota"))
        let other = try await endpoint(legacy, "ann").apply([
            .create(syncKey: SyncKey(rawValue: "q-2"), record: .task(TaskItem(subject: "frei")))
        ])
        guard case .success? = other.first else {
            Issue.record("the other mailbox was held up: \(other)")
            return
        }
    }

    @Test("a 'url' that is not the server's /exchange/ root: 404, named with the URL and what to check")
    func wrongRoot() async throws {
        let (server, base) = try await webdavServer()
        defer { Task { await server.stop() } }
        let legacy = try WebDAVAdapter.type.make(
            Settings([
                "url": .string(base + "/owa/"), "auth": .string("basic"), "username": .string("svc"),
                "password": .secret(Secret("pw")),
            ]),
            AdapterContext(instanceName: "legacy", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
        defer { Task { await legacy.shutdown() } }
        let error = await readError(try await endpoint(legacy, "jdoe"))
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains("HTTP 404"), "\(text)")
        #expect(text.contains("/owa/jdoe/"))
        #expect(text.contains("check the user's 'mailbox' and 'url'"))
        #expect((error as? ClassifiedError)?.isPermanent == true)
    }
}
