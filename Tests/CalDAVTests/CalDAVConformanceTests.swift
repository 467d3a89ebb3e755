import ConnectorAPI
import Connectors
import EndpointConformance
import Foundation
import TestSupport
import Testing

/// A CalDAV/CardDAV server with one user, `jdoe`, and a `caldav` adapter on it: Radicale with a
/// calendar of events, one of tasks and an address book; or Xandikos with one calendar for
/// events and tasks and an address book.
final class DAVServerSubject: StoppableConformanceSubject, @unchecked Sendable {
    static let user = "jdoe"
    static let password = "geheim"
    /// The server's base URL, and how to stop it.
    let server: (baseURL: String, stop: @Sendable () -> Void)
    let adapter: any Adapter
    let account: [String: String]
    var kinds: [DataKind] { [.address, .calendar, .task] }

    /// The proxy between the adapter and the server, when there is one.
    let proxy: DAVProxy?

    /// Xandikos with its default collections (events and tasks in one calendar), found by
    /// discovery from `path` (the principal unless given), behind a ``DAVProxy`` when asked.
    init(xandikos: Void, path: String = "/jdoe/", behind behaviour: DAVProxy.Behaviour? = nil) throws {
        let xandikos = try XandikosServer(user: Self.user)
        do {
            proxy = try behaviour.map { try DAVProxy(upstream: xandikos.baseURL, behaviour: $0) }
        } catch {
            xandikos.stop()
            throw error
        }
        let proxy = proxy
        server = (
            proxy?.baseURL ?? xandikos.baseURL,
            {
                proxy?.stop()
                xandikos.stop()
            }
        )
        account = ["url": server.baseURL + path]
        adapter = try Self.make()
    }

    /// DAViCal (PHP on PostgreSQL) with a calendar of events, one of tasks and an address book made
    /// by a client, found by discovery from the principal.
    init(davical: Void) throws {
        let davical = try DAViCalServer(users: [Self.user: Self.password])
        proxy = nil
        server = (davical.baseURL, { davical.stop() })
        let home = DAViCalServer.principal(Self.user)
        do {
            try davical.makeCalendar(
                home + "calendar/", user: Self.user, password: Self.password, components: ["VEVENT"])
            try davical.makeCalendar(home + "tasks/", user: Self.user, password: Self.password, components: ["VTODO"])
            try davical.makeAddressBook(home + "contacts/", user: Self.user, password: Self.password)
        } catch {
            davical.stop()
            throw error
        }
        account = ["url": server.baseURL + home]
        adapter = try Self.make()
    }

    /// `explicit`: the account names each collection; otherwise they are discovered from the
    /// principal's home sets (or from `path`: `/` is the server's own name). With a behaviour, the
    /// adapter reaches Radicale through a ``DAVProxy``.
    init(
        explicit: Bool = false, settings extra: [String: SettingValue] = [:], path: String = "/jdoe/",
        behind behaviour: DAVProxy.Behaviour? = nil
    ) throws {
        let radicale = try RadicaleServer(users: [Self.user: Self.password])
        do {
            proxy = try behaviour.map { try DAVProxy(upstream: radicale.baseURL, behaviour: $0) }
        } catch {
            radicale.stop()
            throw error
        }
        let proxy = proxy
        server = (
            proxy?.baseURL ?? radicale.baseURL,
            {
                proxy?.stop()
                radicale.stop()
            }
        )
        do {
            try radicale.makeCalendar(
                "/jdoe/calendar/", user: Self.user, password: Self.password, components: ["VEVENT"])
            try radicale.makeCalendar("/jdoe/tasks/", user: Self.user, password: Self.password, components: ["VTODO"])
            try radicale.makeAddressBook("/jdoe/contacts/", user: Self.user, password: Self.password)
        } catch {
            radicale.stop()
            throw error
        }
        var account = ["url": server.baseURL + path]
        if explicit {
            account["calendar"] = server.baseURL + "/jdoe/calendar/"
            account["tasks"] = server.baseURL + "/jdoe/tasks/"
            account["addressbook"] = server.baseURL + "/jdoe/contacts/"
        }
        self.account = account
        adapter = try Self.make(extra)
    }

    static func make(_ extra: [String: SettingValue] = [:]) throws -> any Adapter {
        try CalDAVAdapter.type.make(
            Settings(
                [
                    "username": .string(user), "password": .secret(Secret(password)), "batch_size": .integer(5),
                    "timezone": .string("Europe/Berlin"),
                ].merging(extra) { $1 }),
            AdapterContext(instanceName: "groupware", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
    }

    func scope(_ kind: DataKind, account: [String: String]? = nil) -> EndpointScope {
        EndpointScope(
            connector: "conformance", kind: kind, role: .target, user: "JD",
            account: CalDAVAdapter.type.account(on: "groupware", account ?? self.account))
    }

    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint { try await adapter.endpoint(for: scope(kind)) }

    /// Deletes the item as another client would.
    func removeBehind(_ kind: DataKind, id: ItemID) async throws {
        let result = try runCurl(["-X", "DELETE", "-u", "\(Self.user):\(Self.password)", server.baseURL + id])
        guard result.status == 200 || result.status == 204 else {
            throw ConformanceFailure(check: "setup", message: "DELETE \(id): HTTP \(result.status)")
        }
    }

    func fields(_ kind: DataKind) -> Set<String> {
        CalDAVAdapter.type.capabilities(Settings()).fields[kind] ?? Set(RecordFields.names(for: kind))
    }

    func stop() async {
        await adapter.shutdown()
        server.stop()
    }
}

@Suite("Conformance: caldav against Radicale", .serialized)
struct CalDAVConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await DAVServerSubject().using { try await check.run(on: $0) }
    }

    @Test("Conformance holds with collections named in the account (no discovery)")
    func explicitCollections() async throws {
        try await DAVServerSubject(explicit: true).using { subject in
            for check in [ConformanceCheck.createAndRead, .changeFeed, .syncKeys] { try await check.run(on: subject) }
        }
    }
}

@Suite("Conformance: caldav against Xandikos", .serialized)
struct CalDAVXandikosConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await DAVServerSubject(xandikos: ()).using { try await check.run(on: $0) }
    }
}

@Suite("Conformance: caldav against DAViCal", .serialized)
struct CalDAVDAViCalConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await DAVServerSubject(davical: ()).using { try await check.run(on: $0) }
    }
}
