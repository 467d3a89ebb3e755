import AdapterSupport
import ConnectorAPI
import ExchangeWebDAV
import Foundation
import HTTP
import HTTPAdapterSupport
import Synchronization

/// The `exchange-webdav` adapter: Exchange 2003 and 2007 over Exchange WebDAV, the legacy profile
/// where BlackBerry devices read the mailboxes. Contacts, calendar and tasks both ways; mail is
/// read-only (imported, never written, no read flags, deletions, moves or replies), as its
/// capabilities declare.
public final class WebDAVAdapter: CheckableAdapter {
    static let settingsDeclared = WebDAVSettings()
    static let accountDeclared = WebDAVAccountSettings()
    static let optionsDeclared = WebDAVEndpointOptions()

    /// The registration of the `exchange-webdav` type.
    public static let type = AdapterType(
        name: "exchange-webdav",
        summary:
            "Microsoft Exchange 2003/2007 over WebDAV (legacy, BlackBerry): contacts, calendar and tasks; mail read-only.",
        settings: ConfigSpec(declaredIn: settingsDeclared),
        users: UserSpec(
            settings: ConfigSpec(declaredIn: accountDeclared), primaryKey: "mailbox",
            accountName: { ($0[accountDeclared.mailbox] ?? "").lowercased() },
            validate: { settings in
                let mailbox = settings[accountDeclared.mailbox] ?? ""
                let valid = !mailbox.isEmpty && !mailbox.contains("/") && !mailbox.contains(where: \.isWhitespace)
                return valid ? [] : [("mailbox", "'\(mailbox)' is not a mailbox alias or SMTP address")]
            }),
        endpointOptions: ConfigSpec(declaredIn: optionsDeclared),
        capabilities: { _ in
            var fields: [DataKind: Set<String>] = [:]
            // Recurring tasks cannot be written over WebDAV; organizer and attendees are the
            // meeting's, not the CRM's.
            fields[.task] = Set(RecordFields.names(for: .task)).subtracting(["recurrence"])
            fields[.calendar] = Set(RecordFields.names(for: .calendar)).subtracting(["organizer", "attendees"])
            return Capabilities(
                kinds: Set(DataKind.allCases), mailStateChanges: [], fields: fields, readOnlyKinds: [.mail])
        },
        make: { settings, context in try WebDAVAdapter(settings: settings, context: context) })

    let settings: Settings
    let context: AdapterContext
    let auth: HTTPAuth
    let codec: WebDAVCodec
    let clients = Mutex<[String: HTTPClient]>([:])
    let formsSessions = Mutex<[String: FormsSession]>([:])
    let ledgers = Mutex<[String: RetryLedger]>([:])
    let resolvers = Mutex<[String: WebDAVFolderResolver]>([:])
    let spool: SpoolDirectory

    init(settings: Settings, context: AdapterContext) throws {
        self.settings = settings
        self.context = context
        let declared = Self.settingsDeclared
        let user = settings[declared.username] ?? ""
        let password = settings[declared.password]?.value ?? ""
        switch settings[declared.auth] {
        case "basic": auth = .basic(user: user, password: password)
        case "ntlm": auth = .ntlm(user: user, password: password)
        default: auth = .none
        }
        codec = WebDAVCodec(zone: settings[declared.timezone])
        spool = SpoolDirectory(adapter: "exchange-webdav", instance: context.instanceName)
        declared.http.warnIfInsecure(
            settings, server: settings[declared.url] ?? "the Exchange server", log: context.log)
    }

    /// The `/exchange/` URL of a user's server.
    func serverURL(_ account: Account) -> String {
        var url = account.settings[Self.accountDeclared.url] ?? settings[Self.settingsDeclared.url] ?? ""
        if !url.hasSuffix("/") { url += "/" }
        return url
    }

    func client(for server: String) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[server] { return client }
            let declared = Self.settingsDeclared
            let configuration = declared.http.configuration(
                settings, maxConcurrency: settings[declared.maxConcurrency],
                userAgent: "connector-host (Exchange WebDAV)")
            let client = HTTPClient(configuration: configuration)
            clients[server] = client
            return client
        }
    }

    /// The forms-login session of a server (one per server, shared by its mailboxes).
    func formsSession(for server: String) -> FormsSession? {
        let declared = Self.settingsDeclared
        guard settings[declared.auth] == "forms",
            let loginURL = settings[declared.formsLoginURL]
                ?? FormsSession.loginURL(forServerOf: server, exchange2003: settings[declared.version] == "2003")
        else { return nil }
        return formsSessions.withLock { sessions in
            if let session = sessions[loginURL] { return session }
            let session = FormsSession(
                client: client(for: server), loginURL: loginURL, destination: server,
                user: settings[declared.username] ?? "", password: settings[declared.password]?.value ?? "")
            sessions[loginURL] = session
            return session
        }
    }

    /// The client of one mailbox.
    func mailboxClient(_ account: Account) -> WebDAVClient {
        let server = serverURL(account)
        let mailbox = account.settings[Self.accountDeclared.mailbox] ?? account.name
        let ledger = ledgers.withLock { ledgers in
            if let known = ledgers[server] { return known }
            let ledger = RetryLedger()
            ledgers[server] = ledger
            return ledger
        }
        return WebDAVClient(
            client: client(for: server), auth: auth, forms: formsSession(for: server), mailbox: mailbox,
            root: server + DAVPath.encode(mailbox) + "/", ledger: ledger, log: context.log)
    }

    /// The folder resolver of a mailbox's folder (one per mailbox and folder, so discovery runs once).
    func resolver(_ client: WebDAVClient, key: String) -> WebDAVFolderResolver {
        resolvers.withLock { resolvers in
            let name = client.root + "#" + key
            if let known = resolvers[name] { return known }
            let resolver = WebDAVFolderResolver(client: client, key: key)
            resolvers[name] = resolver
            return resolver
        }
    }

    static func folderKey(_ kind: DataKind, mailFolder: String) -> String {
        switch kind {
        case .address: "contacts"
        case .calendar: "calendar"
        case .task: "tasks"
        case .mail: mailFolder
        }
    }

    public func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint {
        let declared = Self.settingsDeclared
        let options = Self.optionsDeclared
        let client = mailboxClient(scope.account)
        var mail: WebDAVMailOptions?
        if scope.kind == .mail {
            let window = Double(scope.options[options.mailWindow].components.seconds)
            mail = WebDAVMailOptions(
                folder: scope.options[options.mailFolder], window: window > 0 ? window : nil,
                spool: spool.folder(scope.connector, scope.account.name))
        }
        let key = Self.folderKey(scope.kind, mailFolder: mail?.folder ?? "inbox")
        return WebDAVEndpoint(
            client: client, kind: scope.kind, codec: codec, folder: resolver(client, key: key),
            pageSize: settings[declared.pageSize], maxBatchSize: settings[declared.batchSize],
            parallelRequests: settings[declared.maxConcurrency], fullListing: settings[declared.fullListing], mail: mail
        )
    }

    public func check(for scope: EndpointScope) async -> [AdapterCheck] {
        let client = mailboxClient(scope.account)
        let key = Self.folderKey(scope.kind, mailFolder: scope.options[Self.optionsDeclared.mailFolder])
        var checks: [AdapterCheck] = []
        let folderURL: String
        do {
            folderURL = try await resolver(client, key: key).url()
            checks.append(
                AdapterCheck(
                    name: "login and folders of \(client.mailbox)", ok: true,
                    message: "signed in; the \(key) folder is \(DAVPath.path(of: folderURL))"))
        } catch {
            checks.append(AdapterCheck(name: "login and folders of \(client.mailbox)", ok: false, message: "\(error)"))
            return checks
        }
        do {
            let sql =
                "SELECT \"DAV:getetag\" FROM \(ExchangeSQL.shallowScope(DAVPath.path(of: folderURL))) WHERE \"DAV:isfolder\" = false"
            let page = try await client.search(folderURL, sql: sql, rows: 0...0)
            checks.append(
                AdapterCheck(
                    name: "read \(key) of \(client.mailbox)", ok: true,
                    message: "SEARCH works" + (page.total.map { "; \($0) items" } ?? "")))
        } catch {
            checks.append(AdapterCheck(name: "read \(key) of \(client.mailbox)", ok: false, message: "\(error)"))
        }
        return checks
    }

    public func shutdown() async {
        for client in clients.withLock({ Array($0.values) }) { client.shutdown() }
        spool.remove()
    }
}
