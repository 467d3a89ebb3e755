import ConnectorAPI
import Crypto
import Foundation
import Logging

/// The operator's console: web pages served by `connector-host run` beside `/metrics` and
/// `/health`, where an office's IT person sees every account of every connector, settles
/// conflicts, retries dead letters, enables disabled accounts and starts a sync.
///
/// - Bound to loopback by default; on another address the configuration must give a credential
///   (`console: { token_file: PATH }`), which every console request must then carry.
/// - Every action is a POST carrying a CSRF token bound to the browser's session cookie.
/// - `console: { read_only: true }` shows everything and offers no action.
/// - Pages are server-rendered HTML in German or English, by the browser's language.
public final class Console: Sendable {
    let host: SyncHost
    let scheduler: Scheduler?
    let deployment: Deployment
    let settings: ConsoleSettings
    let store: StateStore
    let logger: Logger
    /// This process's key for CSRF tokens: a restart invalidates forms left open.
    let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }

    /// A console over the host's state; `scheduler` (the running service's) lets it show the next
    /// runs and start jobs now.
    public init(host: SyncHost, scheduler: Scheduler?, logger: Logger = Logger(label: "connector-host.console")) {
        self.host = host
        self.scheduler = scheduler
        deployment = host.deployment
        settings = host.deployment.console
        store = host.store
        self.logger = logger
    }

    /// Answers one request (any path but `/metrics` and `/health`).
    func handle(_ request: HTTPRequestData) async -> HTTPResponseData {
        if let refusal = authorize(request) { return secured(refusal) }
        let text = ConsoleText(language: ConsoleLanguage.preferred(request.headers["accept-language"]))
        var session = request.cookies[Self.sessionCookie].flatMap { Self.isSession($0) ? $0 : nil }
        var newSession = false
        if session == nil {
            session = Self.newSession()
            newSession = true
        }
        let context = PageContext(
            text: text, csrf: csrfToken(session!), readOnly: settings.readOnly, path: request.path,
            live: request.query["live"] == "1")
        var response: HTTPResponseData
        do {
            switch request.method {
            case "GET", "HEAD":
                response = try await get(request, context)
            case "POST":
                if let refusal = checkPost(request, session: newSession ? nil : session) {
                    response = refusal
                } else {
                    response = try await post(request, context)
                }
            default:
                response = .text("method not allowed", status: 405)
                response.headers.append(("Allow", "GET, HEAD, POST"))
            }
        } catch {
            logger.error("console request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            response = .html(Layout.page(context, title: text.title, body: Layout.error("\(error)")), status: 500)
        }
        if newSession {
            response.headers.append(
                ("Set-Cookie", "\(Self.sessionCookie)=\(session!); Path=/; HttpOnly; SameSite=Strict"))
        }
        return secured(response)
    }

    func get(_ request: HTTPRequestData, _ context: PageContext) async throws -> HTTPResponseData {
        let segments = request.segments
        switch segments.first {
        case nil:
            return try await OverviewPage(console: self, context: context).response()
        case "console.css" where segments.count == 1:
            return HTTPResponseData(status: 200, type: "text/css; charset=utf-8", body: Layout.css)
        case "console.js" where segments.count == 1:
            return HTTPResponseData(status: 200, type: "text/javascript; charset=utf-8", body: Layout.script)
        case "accounts" where segments.count == 3:
            guard let account = try await account(adapter: segments[1], name: segments[2]) else { break }
            return try AccountPage(console: self, context: context, view: account).response()
        case "conflicts" where segments.count == 2:
            guard let id = Int64(segments[1]), let entry = try store.conflictEntry(id: id) else { break }
            return ConflictPage(console: self, context: context, entry: entry).response()
        default: break
        }
        return .html(
            Layout.page(context, title: context.text.notFound, body: Layout.error(context.text.notFound)), status: 404)
    }

    // MARK: Security

    static let sessionCookie = "connector_console"

    /// 401 unless the request carries the credential (when one is configured) or comes from
    /// loopback (when none is).
    func authorize(_ request: HTTPRequestData) -> HTTPResponseData? {
        if let credential = settings.credential {
            if let offered = Self.offeredToken(request.headers["authorization"]), credential.accepts(offered) {
                return nil
            }
        } else if let peer = request.peer, ConsoleSettings.isLoopback(host: peer) {
            return nil
        }
        logger.notice("console request refused: no valid credential", metadata: ["peer": "\(request.peer ?? "-")"])
        var response = HTTPResponseData.text("a credential is required (console: token)", status: 401)
        response.headers.append(("WWW-Authenticate", "Basic realm=\"connector-host console\", charset=\"UTF-8\""))
        return response
    }

    /// The token in `Authorization: Bearer T` or the password of `Authorization: Basic` (any user name).
    static func offeredToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        switch parts[0].lowercased() {
        case "bearer": return String(parts[1]).trimmingCharacters(in: .whitespaces)
        case "basic":
            guard let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
                return nil
            }
            let pair = String(decoding: data, as: UTF8.self)
            return pair.firstIndex(of: ":").map { String(pair[pair.index(after: $0)...]) }
        default: return nil
        }
    }

    /// 403 for a POST in read-only mode, from another site, or without the session's CSRF token.
    func checkPost(_ request: HTTPRequestData, session: String?) -> HTTPResponseData? {
        if settings.readOnly { return .text("the console is read-only (console: read_only)", status: 403) }
        // Browsers name the page a form was sent from (`null` for an opaque origin, which is refused
        // too); the CSRF token below is the defence that does not depend on them.
        if let origin = request.headers["origin"],
            URL(string: origin).map({ "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" }) != request.headers["host"]
        {
            return .text("refused: the form came from another site (\(origin))", status: 403)
        }
        guard let session, let token = request.form["csrf"], Self.same(token, csrfToken(session)) else {
            logger.notice("console POST refused: missing or wrong CSRF token", metadata: ["path": "\(request.path)"])
            return .text("refused: missing or wrong CSRF token; reload the page and try again", status: 403)
        }
        return nil
    }

    /// The CSRF token of a session: an HMAC under this process's key.
    func csrfToken(_ session: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(session.utf8), using: SymmetricKey(data: key)).map {
            String(format: "%02x", $0)
        }
        .joined()
    }

    static func newSession() -> String {
        SymmetricKey(size: .bits128).withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
    }

    static func isSession(_ text: String) -> Bool { text.count == 32 && text.allSatisfy(\.isHexDigit) }

    static func same(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        return left.count == right.count && zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Headers every console answer carries: no framing, no sniffing, scripts and styles from here
    /// only, and no address sent to other sites (same-origin referrers let forms carry their Origin).
    func secured(_ response: HTTPResponseData) -> HTTPResponseData {
        var response = response
        response.headers += [
            ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
            ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
        ]
        return response
    }
}
