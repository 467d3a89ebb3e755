import AdapterSupport
import ConnectorAPI
import EWS
import Foundation
import HTTP
import HTTPAdapterSupport
import Synchronization
import XML

/// The `ews` adapter: Exchange 2010 SP2 and later over Exchange Web Services. One service account
/// reaches every mapped mailbox by impersonation or delegate access; a user's account `url` puts
/// that mailbox on another server.
public final class EWSAdapter: Adapter {
    /// The settings of an instance, of a user's account and of an endpoint, declared once.
    static let settingsDeclared = EWSSettings()
    static let accountDeclared = EWSAccountSettings()
    static let optionsDeclared = EWSEndpointOptions()

    /// The registration of the `ews` type.
    public static let type = AdapterType(
        name: "ews",
        summary:
            "Microsoft Exchange 2010 SP2 and later over EWS: contacts, calendar, tasks and mail of the mapped mailboxes.",
        settings: ConfigSpec(declaredIn: settingsDeclared),
        users: UserSpec(
            settings: ConfigSpec(declaredIn: accountDeclared),
            primaryKey: "mailbox",
            formerKeys: ["mailbox": .setting("mailbox"), "ews_url": .setting("url"), "exchange": .instance],
            accountName: { ($0[accountDeclared.mailbox] ?? "").lowercased() },
            validate: { settings in
                let mailbox = settings[accountDeclared.mailbox] ?? ""
                return isMailAddress(mailbox) ? [] : [("mailbox", "'\(mailbox)' is not an e-mail address")]
            }),
        endpointOptions: ConfigSpec(declaredIn: optionsDeclared),
        capabilities: { _ in
            var fields: [DataKind: Set<String>] = [:]
            fields[.calendar] = Set(RecordFields.names(for: .calendar)).subtracting(["organizer"])
            return Capabilities(
                kinds: Set(DataKind.allCases), mailStateChanges: Set(MailStateChange.allCases), fields: fields)
        },
        make: { settings, context in try EWSAdapter(settings: settings, context: context) })

    let settings: Settings
    let context: AdapterContext
    let auth: HTTPAuth
    let zone: TimeZone
    let clients = Mutex<[String: HTTPClient]>([:])
    let throttles = Mutex<[String: EWSThrottle]>([:])
    let discovered = Mutex<[String: String]>([:])
    let formsSessions = Mutex<[String: FormsSession]>([:])
    /// Attachments read from Exchange wait here.
    let spool: SpoolDirectory

    init(settings: Settings, context: AdapterContext) throws {
        self.settings = settings
        self.context = context
        spool = SpoolDirectory(adapter: "ews", instance: context.instanceName)
        let declared = Self.settingsDeclared
        let user = settings[declared.username] ?? ""
        let password = settings[declared.password]?.value ?? ""
        switch settings[declared.auth] {
        case "basic": auth = .basic(user: user, password: password)
        case "negotiate":
            auth = .negotiate(user: user.isEmpty ? nil : user, password: password.isEmpty ? nil : password)
        case "forms": auth = .none
        default: auth = .ntlm(user: user, password: password)
        }
        zone = settings[declared.timezone]
        declared.http.warnIfInsecure(settings, server: settings[declared.url] ?? "the EWS server", log: context.log)
    }

    func client(for url: String) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[url] { return client }
            let declared = Self.settingsDeclared
            let configuration = declared.http.configuration(
                settings, maxConcurrency: settings[declared.maxConcurrency], userAgent: "connector-host (EWS)")
            let client = HTTPClient(configuration: configuration)
            clients[url] = client
            return client
        }
    }

    func throttle(for url: String) -> EWSThrottle {
        throttles.withLock { throttles in
            if let throttle = throttles[url] { return throttle }
            let throttle = EWSThrottle()
            throttles[url] = throttle
            return throttle
        }
    }

    /// Whether `text` looks like an e-mail address (one `@`, a dot in the domain, no spaces).
    static func isMailAddress(_ text: String) -> Bool {
        text.range(of: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", options: .regularExpression) != nil
    }

    /// The EWS URL of a mailbox: the account's `url`, else Autodiscover's answer, else `url`.
    func ewsURL(for account: Account) async -> String {
        if let url = account.settings[Self.accountDeclared.url] { return url }
        let fallback = settings[Self.settingsDeclared.url] ?? ""
        guard let autodiscover = settings[Self.settingsDeclared.autodiscoverURL] else { return fallback }
        let mailbox = account.name
        if let known = discovered.withLock({ $0[mailbox] }) { return known }
        var address = mailbox
        var endpoint = autodiscover
        for _ in 0..<3 {
            do {
                let response = try await client(for: endpoint).send(
                    HTTPRequest(
                        url: endpoint, method: "POST", headers: [("Content-Type", "text/xml; charset=utf-8")],
                        body: Autodiscover.request(email: address), auth: auth))
                guard response.head.status == 200 else {
                    context.log(
                        .warning, "Autodiscover for \(mailbox) answered HTTP \(response.head.status); using \(fallback)"
                    )
                    return fallback
                }
                switch Autodiscover.parse(try XMLStreamParser.parse(response.body)) {
                case .ewsURL(let url):
                    discovered.withLock { $0[mailbox] = url }
                    context.log(.info, "Autodiscover: \(mailbox) is served by \(url)")
                    return url
                case .redirectAddress(let next): address = next
                case .redirectURL(let next): endpoint = next
                case .error(let code, let message):
                    context.log(.warning, "Autodiscover for \(mailbox) failed (\(code): \(message)); using \(fallback)")
                    return fallback
                }
            } catch {
                context.log(.warning, "Autodiscover for \(mailbox) failed (\(error)); using \(fallback)")
                return fallback
            }
        }
        return fallback
    }

    public func endpoint(for scope: EndpointScope) async throws -> any SyncEndpoint {
        let declared = Self.settingsDeclared
        let options = Self.optionsDeclared
        let url = await ewsURL(for: scope.account)
        let client = EWSClient(
            transport: HTTPTransport(client: client(for: url), auth: auth, forms: formsSession(for: url)), url: url,
            mailbox: scope.account.settings[Self.accountDeclared.mailbox] ?? scope.account.name,
            access: EWSAccess(rawValue: settings[declared.access]) ?? .impersonation,
            version: settings[declared.version], throttle: throttle(for: url), log: context.log)
        let batch = settings[declared.batchSize]
        var mail: EWSMailOptions?
        if scope.kind == .mail {
            let window = Double(scope.options[options.mailWindow].components.seconds)
            mail = EWSMailOptions(
                folder: scope.options[options.mailFolder], window: window > 0 ? window : nil,
                spool: spool.folder(scope.connector, scope.account.name))
        }
        return EWSEndpoint(
            client: client, kind: scope.kind, codec: EWSRecordCodec(zone: zone),
            folder: EWSFolderResolver(
                client: client, kind: scope.kind, subfolder: scope.options[options.folder], distinguished: mail?.folder
            ),
            maxBatchSize: batch,
            maxParallelBatches: settings[declared.parallelBatches],
            readBatchSize: settings[declared.readBatchSize],
            deleteType: settings[declared.deleteType], mail: mail)
    }

    /// The forms-login session of the server of `url` (one per server, shared by its mailboxes),
    /// with `auth: forms`.
    func formsSession(for url: String) -> FormsSession? {
        let declared = Self.settingsDeclared
        guard settings[declared.auth] == "forms",
            let loginURL = settings[declared.formsLoginURL] ?? FormsSession.loginURL(forServerOf: url)
        else { return nil }
        return formsSessions.withLock { sessions in
            if let session = sessions[loginURL] { return session }
            let session = FormsSession(
                client: client(for: url), loginURL: loginURL, destination: url,
                user: settings[declared.username] ?? "", password: settings[declared.password]?.value ?? "")
            sessions[loginURL] = session
            return session
        }
    }

    public func shutdown() async {
        for client in clients.withLock({ Array($0.values) }) { client.shutdown() }
        spool.remove()
    }
}

/// EWS over the libcurl HTTP client.
struct HTTPTransport: EWSTransport {
    let client: HTTPClient
    let auth: HTTPAuth
    /// The forms-login session, with `auth: forms`.
    var forms: FormsSession? = nil

    func post(url: String, mailbox: String, body: Data, onBody: @escaping @Sendable (Data) -> Void) async throws -> (
        status: Int, headers: [String: String]
    ) {
        let request = HTTPRequest(
            url: url, method: "POST",
            headers: [
                ("Content-Type", "text/xml; charset=utf-8"), ("X-AnchorMailbox", mailbox), ("Accept", "text/xml"),
            ], body: body,
            auth: auth)
        let head = try await send(request, onBody: onBody)
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        return (head.status, headers)
    }

    func post(url: String, mailbox: String, parts: [HTTPBodyPart], onBody: @escaping @Sendable (Data) -> Void)
        async throws -> (status: Int, headers: [String: String])
    {
        let request = HTTPRequest(
            url: url, method: "POST",
            headers: [
                ("Content-Type", "text/xml; charset=utf-8"), ("X-AnchorMailbox", mailbox), ("Accept", "text/xml"),
            ], bodyStream: try HTTPBodySource.concatenating(parts), auth: auth)
        let head = try await send(request, onBody: onBody)
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        return (head.status, headers)
    }

    func reduceConcurrency() { client.setConcurrencyLimit(max(1, client.concurrencyLimit - 1)) }

    /// Through the forms-login session when there is one. A login that fails (no form at the URL,
    /// refused, not accepted) is a permanent fault `FormsLogin` naming the user and the login URL.
    func send(_ request: HTTPRequest, onBody: @escaping @Sendable (Data) -> Void) async throws -> HTTPResponseHead {
        guard let forms else { return try await client.send(request, onBody: onBody) }
        do {
            return try await forms.send(request, onBody: onBody)
        } catch let error as FormsLoginError {
            let status: Int =
                switch error {
                case .noLoginForm(_, let status), .refused(_, _, let status): status
                case .notAccepted: 440
                }
            throw EWSFault(code: "FormsLogin", message: "\(error)", httpStatus: status)
        }
    }
}
