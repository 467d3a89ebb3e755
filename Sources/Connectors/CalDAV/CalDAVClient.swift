import ConnectorAPI
import ExchangeWebDAV
import Foundation
import HTTP
import HTTPAdapterSupport
import XML

/// A failed CalDAV/CardDAV request, named by user, method, URL and cause, in words an
/// administrator can act on. Permanent when the same call will keep failing (wrong password, no
/// rights, no such collection); transient for overload and connection trouble.
struct CalDAVError: Error, ClassifiedError, HTTPRequestFailure {
    var user: String
    var method: String
    var url: String
    /// The HTTP status, or 0 when no answer came.
    var status: Int
    var cause: String
    var isPermanent: Bool
    var retryAfter: Duration?

    var description: String { "\(method) \(URLParts.redacted(url)) for user \(user): \(cause)" }
}

/// One answer: status, header fields by lower-case name, body.
struct CalDAVAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
    /// Every `WWW-Authenticate` field of the answer, in order (a server may offer several schemes).
    var challenges: [String] = []

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// One `<response>` of a multistatus: its path (decoded), its own status, and its properties of
/// status 200 by `namespace + local name` as elements (other statuses in `failed`).
struct CalDAVResponse: Sendable {
    var path: String
    var status: Int?
    var properties: [String: XMLElement] = [:]
    var failed: [String: Int] = [:]

    subscript(_ name: String) -> XMLElement? { properties[name] }

    /// A property's text, trimmed.
    func text(_ name: String) -> String? {
        properties[name]?.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A parsed multistatus: the responses and the `sync-token` of a sync-collection REPORT.
struct CalDAVMultistatus: Sendable {
    var responses: [CalDAVResponse]
    var syncToken: String?

    /// Parses a 207 body over the XML module's stream parser (no DTD, no entities, no network).
    static func parse(_ data: Data) throws -> CalDAVMultistatus {
        var responses: [CalDAVResponse] = []
        let parser = XMLStreamParser(
            deliver: { $0.count == 2 && $0[1] == "response" },
            onElement: { element, _ in responses.append(response(element)) })
        try parser.feed(data)
        let root = try parser.finish()
        guard root.name == "multistatus", root.namespace == DAVName.dav else {
            throw XMLParseError(
                line: root.line,
                message: "expected a DAV: multistatus, found <\(root.name)> in \(root.namespace ?? "no namespace")")
        }
        let token = root.string("sync-token")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return CalDAVMultistatus(responses: responses, syncToken: token)
    }

    static func response(_ element: XMLElement) -> CalDAVResponse {
        let href = element.string("href")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var result = CalDAVResponse(
            path: DAVPath.path(of: href), status: element.string("status").flatMap(DAVMultistatus.statusCode))
        for propstat in element.children("propstat") {
            let status = propstat.string("status").flatMap(DAVMultistatus.statusCode) ?? 200
            for property in propstat.child("prop")?.children ?? [] {
                let name = (property.namespace ?? "") + property.name
                if status == 200 { result.properties[name] = property } else { result.failed[name] = status }
            }
        }
        return result
    }
}

/// Full names of the properties the adapter reads (namespace + local name).
enum DAVName {
    static let dav = "DAV:"
    static let caldav = "urn:ietf:params:xml:ns:caldav"
    static let carddav = "urn:ietf:params:xml:ns:carddav"
    static let getETag = dav + "getetag"
    static let resourceType = dav + "resourcetype"
    static let currentUserPrincipal = dav + "current-user-principal"
    static let calendarHomeSet = caldav + "calendar-home-set"
    static let addressbookHomeSet = carddav + "addressbook-home-set"
    static let componentSet = caldav + "supported-calendar-component-set"
    static let calendarData = caldav + "calendar-data"
    static let addressData = carddav + "address-data"
    /// The namespace declarations of request bodies: `D:`, `C:` (CalDAV), `CR:` (CardDAV).
    static let prefixes = [("xmlns:D", dav), ("xmlns:C", caldav), ("xmlns:CR", carddav)]
}

/// Requests to one user's CalDAV/CardDAV server over the libcurl client, with Basic or Digest
/// authentication, retries of transient failures, and answers checked before they are parsed.
struct CalDAVClient: Sendable {
    let client: HTTPClient
    let auth: HTTPAuth
    /// The user (for messages).
    let user: String
    let ledger: RetryLedger
    var attempts = 4

    /// Sends a request; retries 503, 5xx other than 507, dropped connections and timeouts with a
    /// growing pause (or the server's Retry-After). Statuses the caller expects are returned;
    /// every other answer becomes a ``CalDAVError``.
    func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: Data = Data(),
        expect: Set<Int>
    ) async throws -> CalDAVAnswer {
        var request = HTTPRequest(url: url, method: method, headers: headers, body: body, auth: auth)
        if !body.isEmpty, !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            request.headers.append(("Content-Type", "application/xml; charset=utf-8"))
        }
        return try await HTTPRetries.run(attempts: attempts, ledger: ledger, failure: CalDAVError.self) {
            let answer = try await perform(request)
            if expect.contains(answer.status) { return answer }
            throw explain(answer, method: method, url: url)
        }
    }

    func perform(_ request: HTTPRequest) async throws -> CalDAVAnswer {
        let response: HTTPResponse
        do {
            response = try await client.send(request)
        } catch let error as HTTPError {
            let permanent = error.kind == .tls || error.kind == .cancelled
            var cause = "\(error)"
            if error.kind == .tls { cause += " (set 'ca_file' to the certificate authority that signed the server)" }
            throw CalDAVError(
                user: user, method: request.method, url: request.url, status: 0, cause: cause, isPermanent: permanent)
        }
        var headers: [String: String] = [:]
        var challenges: [String] = []
        for (name, value) in response.head.headers {
            headers[name.lowercased()] = value
            if name.lowercased() == "www-authenticate" { challenges.append(value) }
        }
        return CalDAVAnswer(
            status: response.head.status, headers: headers, body: response.body, challenges: challenges)
    }

    /// What an unexpected answer means.
    func explain(_ answer: CalDAVAnswer, method: String, url: String) -> CalDAVError {
        let status = answer.status
        let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        var permanent = true
        var retryAfter: Duration?
        let cause: String
        switch status {
        case 401:
            cause = refusedLogin(answer.challenges)
        case 403:
            cause = "HTTP 403 forbidden: the login has no rights here" + (text.isEmpty ? "" : " — \(text)")
        case 404:
            cause = "HTTP 404 not found: no collection or item at this URL (check the user's 'url')"
        case 405, 501:
            cause = "HTTP \(status): the server does not support \(method) here (is this a CalDAV/CardDAV collection?)"
        case 300..<400:
            cause = "the server redirected (HTTP \(status)) to \(answer.headers["location"] ?? "nowhere"): check 'url'"
        case 409:
            cause = "HTTP 409 conflict: the server refused the item or the collection is missing — \(text)"
        case 412:
            cause = "HTTP 412 precondition failed: the item changed or exists"
        case 413:
            cause = "HTTP 413: the item is larger than the server accepts"
        case 415:
            cause = "HTTP 415: the server does not accept this kind of item here — \(text)"
        case 507:
            cause = "HTTP 507 insufficient storage: the collection is over its quota"
        case 429, 500, 502, 503, 504:
            permanent = false
            retryAfter = answer.headers["retry-after"].flatMap(Int.init).map { .seconds(min($0, 60)) }
            cause = "HTTP \(status): the server is busy or failing" + (text.isEmpty ? "" : " — \(text)")
        default:
            cause = "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")
        }
        return CalDAVError(
            user: user, method: method, url: url, status: status, cause: cause, isPermanent: permanent,
            retryAfter: retryAfter)
    }

    /// The cause of a 401: a scheme the server does not offer (with the `auth` value that fits), or
    /// refused credentials. Challenges are shown as scheme and realm only (no nonce).
    func refusedLogin(_ challenges: [String]) -> String {
        let login = "'\(auth.user ?? "")'"
        let offered = challenges.map(Self.challengeSummary)
        let asks = offered.isEmpty ? "" : "; the server asks for " + offered.map { "'\($0)'" }.joined(separator: " or ")
        let schemes = challenges.compactMap { $0.split(separator: " ", maxSplits: 1).first?.lowercased() }
        let configured: String? =
            switch auth {
            case .basic: "basic"
            case .digest: "digest"
            default: nil
            }
        if let configured, !schemes.isEmpty, !schemes.contains(configured) {
            let fitting = ["basic", "digest"].first { schemes.contains($0) }
            return "HTTP 401: the server does not take the '\(configured)' authentication of \(login)"
                + (fitting.map { " (set 'auth: \($0)'" } ?? " (the caldav adapter offers 'basic' and 'digest'")
                + asks + ")"
        }
        if auth == .none {
            return "HTTP 401: the server asks for a login (set 'username' and 'password'" + asks + ")"
        }
        return "HTTP 401: the server refused the credentials of \(login) (check 'username' and 'password'" + asks + ")"
    }

    /// A challenge's scheme and realm, e.g. `Digest realm="CalDAV"`.
    static func challengeSummary(_ challenge: String) -> String {
        let parts = challenge.split(separator: " ", maxSplits: 1)
        guard let scheme = parts.first else { return "" }
        guard parts.count > 1,
            let range = parts[1].range(of: #"realm="[^"]*""#, options: [.regularExpression, .caseInsensitive])
        else { return String(scheme) }
        return "\(scheme) \(parts[1][range])"
    }

    /// Parses a 207 body; an answer that is HTML, or XML that is not a multistatus, is named as such.
    func multistatus(_ answer: CalDAVAnswer, method: String, url: String) throws -> CalDAVMultistatus {
        let type = answer.headers["content-type"]?.lowercased() ?? ""
        if type.contains("html") {
            throw CalDAVError(
                user: user, method: method, url: url, status: answer.status,
                cause: "the server answered with an HTML page instead of WebDAV XML: check 'url'", isPermanent: true)
        }
        do {
            return try CalDAVMultistatus.parse(answer.body)
        } catch {
            throw CalDAVError(
                user: user, method: method, url: url, status: answer.status,
                cause: "the answer is not a WebDAV multistatus (\(answer.body.count) bytes, '\(type)'): \(error)",
                isPermanent: false)
        }
    }

    /// A PROPFIND of `properties` (`<prefix:name>` in the request's namespaces).
    func propfind(_ url: String, depth: String, properties: [String]) async throws -> [CalDAVResponse] {
        var xml = XMLWriter()
        xml.element("D:propfind", DAVName.prefixes) { xml in
            xml.element("D:prop") { xml in
                for property in properties {
                    xml.start(property)
                    xml.end()
                }
            }
        }
        let answer = try await send(
            "PROPFIND", url, headers: [("Depth", depth)], body: Data(xml.text.utf8), expect: [207])
        return try multistatus(answer, method: "PROPFIND", url: url).responses
    }

    /// A REPORT; `expect` beyond 207 are returned as answers (a refused sync token).
    func report(_ url: String, depth: String, body: String, expect: Set<Int> = [207]) async throws -> CalDAVAnswer {
        try await send("REPORT", url, headers: [("Depth", depth)], body: Data(body.utf8), expect: expect)
    }
}
