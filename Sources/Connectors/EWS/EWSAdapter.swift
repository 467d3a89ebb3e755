import ConnectorAPI
import EWS
import Foundation
import HTTP
import Synchronization
import XML

/// The `ews` adapter: Exchange 2010 SP2 and later over Exchange Web Services. One service account
/// reaches every mapped mailbox by impersonation or delegate access; a user's `ews_url` puts
/// that mailbox on another server.
public final class EWSAdapter: Adapter {
    /// The settings of an `ews` instance.
    static let settingsSpec = ConfigSpec([
        SettingSpec(
            "url", .url, required: true, doc: "EWS endpoint, e.g. https://mail.example.com/EWS/Exchange.asmx."),
        SettingSpec(
            "autodiscover_url", .url,
            doc:
                "Autodiscover endpoint (https://autodiscover.example.com/autodiscover/autodiscover.xml): each mailbox's EWS URL is asked there, 'url' is the fallback."
        ),
        SettingSpec(
            "auth", .oneOf(["ntlm", "basic", "negotiate"]), default: "ntlm",
            doc: "HTTP authentication of the service account."),
        SettingSpec(
            "username", .string, required: true,
            doc: "Service account, e.g. EXAMPLE\\svc-sync or svc-sync@example.com."),
        SettingSpec("password", .secret, doc: "Service account password: ${ENV_VAR} or password_file."),
        SettingSpec(
            "access", .oneOf(["impersonation", "delegate"]), default: "impersonation",
            doc: "How the account reaches the mailboxes."),
        SettingSpec(
            "version", .oneOf(["Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2016"]),
            default: "Exchange2010_SP2", doc: "RequestServerVersion sent with every request."),
        SettingSpec("timezone", .string, default: "Europe/Berlin", doc: "Zone for all-day events and task dates."),
        SettingSpec(
            "ca_file", .string, doc: "CA certificates (PEM) to verify the server with, instead of the system's."),
        SettingSpec(
            "insecure", .boolean, default: "false",
            doc: "Do not verify the server's TLS certificate (logged as a warning on every start)."),
        SettingSpec("proxy", .string, doc: "HTTP proxy, e.g. http://proxy:3128."),
        SettingSpec("connect_timeout", .positiveDuration, default: "15s", doc: "Connect timeout."),
        SettingSpec("timeout", .positiveDuration, default: "120s", doc: "Total timeout per request."),
        SettingSpec(
            "max_concurrency", .integer(1...64), default: "8", doc: "Parallel requests per Exchange server."),
        SettingSpec(
            "batch_size", .integer(1...500), default: "50", doc: "Items per CreateItem/UpdateItem/DeleteItem."),
        SettingSpec("read_batch_size", .integer(1...500), default: "100", doc: "Items per GetItem."),
        SettingSpec(
            "parallel_batches", .integer(1...16), default: "4",
            doc: "Write batches one mailbox folder may have in flight at once (within max_concurrency)."),
        SettingSpec(
            "delete_type", .oneOf(["MoveToDeletedItems", "SoftDelete", "HardDelete"]),
            default: "MoveToDeletedItems",
            doc: "How deletions are made (MoveToDeletedItems keeps them recoverable)."),
    ])

    /// The registration of the `ews` type.
    public static let type = AdapterType(
        name: "ews",
        summary:
            "Microsoft Exchange 2010 SP2 and later over EWS: contacts, calendar, tasks and mail of the mapped mailboxes.",
        settings: settingsSpec,
        users: UserSpec(
            settings: ConfigSpec([
                SettingSpec("mailbox", .string, required: true, doc: "The mailbox's primary SMTP address."),
                SettingSpec(
                    "url", .url,
                    doc:
                        "EWS URL of this mailbox's server, when it is not the instance's 'url' (another Exchange server; no Autodiscover)."
                ),
            ]),
            primaryKey: "mailbox",
            formerKeys: ["mailbox": .setting("mailbox"), "ews_url": .setting("url"), "exchange": .instance],
            accountName: { ($0.string("mailbox") ?? "").lowercased() },
            validate: { settings in
                let mailbox = settings.string("mailbox") ?? ""
                return isMailAddress(mailbox) ? [] : [("mailbox", "'\(mailbox)' is not an e-mail address")]
            }),
        endpointOptions: ConfigSpec([
            SettingSpec(
                "folder", .string, doc: "A subfolder of the kind's default folder to sync instead (created on demand)."),
            SettingSpec(
                "mail_folder", .oneOf(["inbox", "sentitems"]), default: "inbox",
                doc:
                    "For mail connectors: the folder of received (inbox) or sent (sentitems) mails; pair it with the FlowFact side's 'mail: incoming' or 'mail: outgoing'."
            ),
            SettingSpec(
                "mail_window", .duration, default: "30d",
                doc: "For mail connectors: mails received longer ago are not imported (0s imports all)."),
        ]),
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
    /// Attachments read from Exchange wait here (one directory per adapter instance and process).
    let spool = FileManager.default.temporaryDirectory.appendingPathComponent("connector-host-spool")
        .appendingPathComponent("ews-\(UUID().uuidString.prefix(8))")

    init(settings: Settings, context: AdapterContext) throws {
        self.settings = settings
        self.context = context
        let user = settings.string("username") ?? ""
        let password = settings.secret("password")?.value ?? ""
        switch settings.string("auth") ?? "ntlm" {
        case "basic": auth = .basic(user: user, password: password)
        case "negotiate":
            auth = .negotiate(user: user.isEmpty ? nil : user, password: password.isEmpty ? nil : password)
        default: auth = .ntlm(user: user, password: password)
        }
        let zoneName = settings.string("timezone") ?? "Europe/Berlin"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw EWSError.protocolError("unknown time zone '\(zoneName)' in 'timezone'")
        }
        self.zone = zone
        if settings.boolean("insecure") == true {
            context.log(
                .warning,
                "TLS certificate verification is OFF for \(settings.string("url") ?? "the EWS server") ('insecure: true')"
            )
        }
    }

    func client(for url: String) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[url] { return client }
            var configuration = HTTPClientConfiguration()
            configuration.maxConcurrency = settings.integer("max_concurrency") ?? 8
            configuration.caFile = settings.string("ca_file")
            configuration.insecure = settings.boolean("insecure") ?? false
            configuration.proxy = settings.string("proxy")
            configuration.connectTimeout = settings.duration("connect_timeout") ?? .seconds(15)
            configuration.totalTimeout = settings.duration("timeout") ?? .seconds(120)
            configuration.userAgent = "connector-host (EWS)"
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
        if let url = account.settings.string("url") { return url }
        let fallback = settings.string("url") ?? ""
        guard let autodiscover = settings.string("autodiscover_url") else { return fallback }
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
        let url = await ewsURL(for: scope.account)
        let client = EWSClient(
            transport: HTTPTransport(client: client(for: url), auth: auth), url: url,
            mailbox: scope.account.settings.string("mailbox") ?? scope.account.name,
            access: EWSAccess(rawValue: settings.string("access") ?? "impersonation") ?? .impersonation,
            version: settings.string("version") ?? "Exchange2010_SP2", throttle: throttle(for: url), log: context.log)
        let batch = settings.integer("batch_size") ?? 50
        var mail: EWSMailOptions?
        if scope.kind == .mail {
            let window = scope.options.duration("mail_window").map { Double($0.components.seconds) } ?? 30 * 86_400
            let safe = scope.account.name.map { $0.isLetter || $0.isNumber ? $0 : "_" }
            mail = EWSMailOptions(
                folder: scope.options.string("mail_folder") ?? "inbox", window: window > 0 ? window : nil,
                spool: spool.appendingPathComponent("\(scope.connector)-\(String(safe))"))
        }
        return EWSEndpoint(
            client: client, kind: scope.kind, codec: EWSRecordCodec(zone: zone),
            folder: EWSFolderResolver(
                client: client, kind: scope.kind, subfolder: scope.options.string("folder"), distinguished: mail?.folder
            ),
            maxBatchSize: batch,
            maxParallelBatches: settings.integer("parallel_batches") ?? 4,
            readBatchSize: settings.integer("read_batch_size") ?? 100,
            deleteType: settings.string("delete_type") ?? "MoveToDeletedItems", mail: mail)
    }

    public func shutdown() async {
        for client in clients.withLock({ Array($0.values) }) { client.shutdown() }
        try? FileManager.default.removeItem(at: spool)
    }
}

/// EWS over the libcurl HTTP client.
struct HTTPTransport: EWSTransport {
    let client: HTTPClient
    let auth: HTTPAuth

    func post(url: String, mailbox: String, body: Data, onBody: @escaping @Sendable (Data) -> Void) async throws -> (
        status: Int, headers: [String: String]
    ) {
        let request = HTTPRequest(
            url: url, method: "POST",
            headers: [
                ("Content-Type", "text/xml; charset=utf-8"), ("X-AnchorMailbox", mailbox), ("Accept", "text/xml"),
            ], body: body,
            auth: auth)
        let head = try await client.send(request, onBody: onBody)
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
        let head = try await client.send(request, onBody: onBody)
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        return (head.status, headers)
    }

    func reduceConcurrency() { client.setConcurrencyLimit(max(1, client.concurrencyLimit - 1)) }
}
