import AdapterSupport
import ConnectorAPI
import ExchangeWebDAV
import Foundation
import HTTP
import HTTPAdapterSupport
import Synchronization
import VCard
import XML

/// The `caldav` adapter: a user's calendar, task list and address book on a CalDAV/CardDAV server
/// (Radicale, Nextcloud, SOGo, Baïkal …). Appointments are VEVENTs, tasks VTODOs, addresses
/// vCards; mail is not a kind here. Changes come from WebDAV-Sync (RFC 6578), writes are PUTs under
/// `If-Match`/`If-None-Match`, and the sync key is the `X-CONNECTOR-SYNCKEY` property and the
/// item's name.
public final class CalDAVAdapter: CheckableAdapter {
    static let settingsDeclared = CalDAVSettings()
    static let accountDeclared = CalDAVAccountSettings()

    /// The registration of the `caldav` type.
    public static let type = AdapterType(
        name: "caldav",
        summary:
            "CalDAV/CardDAV servers (Radicale, Nextcloud, SOGo …): addresses (vCard), calendar (VEVENT), tasks (VTODO).",
        settings: ConfigSpec(declaredIn: settingsDeclared),
        users: UserSpec(
            settings: ConfigSpec(declaredIn: accountDeclared), primaryKey: "url",
            accountName: { settings in
                settings[accountDeclared.username]?.lowercased()
                    ?? URLParts.redacted(settings[accountDeclared.url] ?? "")
            }),
        capabilities: { _ in
            var fields: [DataKind: Set<String>] = [:]
            // Organizer and attendees belong to the meeting: a server with implicit scheduling
            // would send invitations for them.
            fields[.calendar] = Set(RecordFields.names(for: .calendar)).subtracting(["organizer", "attendees"])
            fields[.task] = Set(RecordFields.names(for: .task))
            fields[.address] = Set(RecordFields.names(for: .address))
            return Capabilities(kinds: [.address, .calendar, .task], mailStateChanges: [], fields: fields)
        },
        make: { settings, context in try CalDAVAdapter(settings: settings, context: context) })

    let settings: Settings
    let context: AdapterContext
    let client: HTTPClient
    let codec: CalDAVCodec
    let ledgers = Mutex<[String: RetryLedger]>([:])
    let resolvers = Mutex<[String: CalDAVCollectionResolver]>([:])

    init(settings: Settings, context: AdapterContext) throws {
        self.settings = settings
        self.context = context
        let declared = Self.settingsDeclared
        let configuration = declared.http.configuration(
            settings, maxConcurrency: settings[declared.maxConcurrency], userAgent: "connector-host (CalDAV)")
        client = HTTPClient(configuration: configuration)
        codec = CalDAVCodec(
            zone: settings[declared.timezone],
            vcardVersion: VCardVersion(rawValue: settings[declared.vcardVersion]) ?? .v3)
        declared.http.warnIfInsecure(settings, server: "'\(context.instanceName)'", log: context.log)
    }

    /// The client of one user: the user's own login, else the service login.
    func userClient(_ account: Account) -> CalDAVClient {
        let declared = Self.settingsDeclared
        let own = Self.accountDeclared
        let user = account.settings[own.username] ?? settings[declared.username]
        let password =
            (account.settings[own.username] != nil ? account.settings[own.password] : settings[declared.password])?
            .value ?? ""
        let auth: HTTPAuth = user.map { Self.auth(settings[declared.auth], user: $0, password: password) } ?? .none
        let ledger = ledgers.withLock { ledgers in
            if let known = ledgers[account.name] { return known }
            let ledger = RetryLedger()
            ledgers[account.name] = ledger
            return ledger
        }
        return CalDAVClient(client: client, auth: auth, user: account.name, ledger: ledger)
    }

    /// The HTTP authentication the `auth` setting names (`basic` or `digest`) with a login.
    static func auth(_ scheme: String, user: String, password: String) -> HTTPAuth {
        switch scheme {
        case "digest": return .digest(user: user, password: password)
        default: return .basic(user: user, password: password)
        }
    }

    /// The collection resolver of a user and kind (one each, so discovery runs once).
    func resolver(_ account: Account, kind: DataKind, client: CalDAVClient) -> CalDAVCollectionResolver {
        let own = Self.accountDeclared
        let given: String? =
            switch kind {
            case .address: account.settings[own.addressbook]
            case .task: account.settings[own.tasks]
            default: account.settings[own.calendar]
            }
        let start = account.settings[own.url] ?? ""
        return resolvers.withLock { resolvers in
            let name = "\(account.name)#\(kind.rawValue)"
            if let known = resolvers[name] { return known }
            let resolver = CalDAVCollectionResolver(client: client, kind: kind, start: start, given: given)
            resolvers[name] = resolver
            return resolver
        }
    }

    public func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint {
        guard scope.kind != .mail else {
            throw CalDAVError(
                user: scope.account.name, method: "-", url: scope.account.settings[Self.accountDeclared.url] ?? "",
                status: 0, cause: "mail is not a CalDAV/CardDAV kind", isPermanent: true)
        }
        let client = userClient(scope.account)
        return CalDAVEndpoint(
            client: client, kind: scope.kind, codec: codec,
            collection: resolver(scope.account, kind: scope.kind, client: client),
            maxBatchSize: settings[Self.settingsDeclared.batchSize],
            parallelRequests: settings[Self.settingsDeclared.maxConcurrency])
    }

    /// Finds the collection (discovery or the configured one), counts its items, and reads the
    /// login's rights on it (`current-user-privilege-set`, RFC 3744) and whether it offers
    /// WebDAV-Sync (`supported-report-set`).
    public func check(for scope: EndpointScope) async -> [AdapterCheck] {
        let client = userClient(scope.account)
        let name = "\(scope.kind.rawValue) collection of \(scope.account.name)"
        do {
            let url = try await resolver(scope.account, kind: scope.kind, client: client).url()
            let members = try await client.propfind(url, depth: "1", properties: ["D:getetag"])
            let own = try await client.propfind(
                url, depth: "0", properties: ["D:current-user-privilege-set", "D:supported-report-set"]
            ).first
            let privileges = own?["DAV:current-user-privilege-set"].map { Self.names(in: $0) }
            let reports = own?["DAV:supported-report-set"].map { Self.names(in: $0) } ?? []
            let changes =
                reports.contains("sync-collection")
                ? "changes through WebDAV-Sync" : "no WebDAV-Sync: every run lists the collection's etags"
            var checks = [
                AdapterCheck(
                    name: name, ok: true,
                    message:
                        "signed in as \(client.user); found \(URLParts.redacted(url)), holding \(max(0, members.count - 1)) items; \(changes)"
                )
            ]
            let rights = "rights of \(client.user) on the \(scope.kind.rawValue) collection"
            if let privileges {
                let writes = !privileges.isDisjoint(with: ["all", "write", "write-content"])
                let binds = !privileges.isDisjoint(with: ["all", "write", "bind"])
                checks.append(
                    AdapterCheck(
                        name: rights, ok: writes && binds,
                        message: writes && binds
                            ? "may read, create, change and delete items"
                            : "read-only (\(privileges.sorted().joined(separator: ", "))): writes to this collection will fail; grant write access or let the connector only read it"
                    ))
            } else {
                checks.append(
                    AdapterCheck(
                        name: rights, ok: true,
                        message: "the server does not report rights (current-user-privilege-set)"))
            }
            return checks
        } catch {
            return [AdapterCheck(name: name, ok: false, message: "\(error)")]
        }
    }

    /// The local names of the innermost elements below `element`: the privileges of a
    /// `current-user-privilege-set`, the reports of a `supported-report-set`.
    static func names(in element: XMLElement) -> Set<String> {
        var names: Set<String> = []
        for child in element.children {
            if child.children.isEmpty { names.insert(child.name) } else { names.formUnion(Self.names(in: child)) }
        }
        return names
    }

    public func shutdown() async { client.shutdown() }
}
