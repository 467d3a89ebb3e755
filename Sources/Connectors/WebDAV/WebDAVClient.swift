import ConnectorAPI
import ExchangeWebDAV
import Foundation
import HTTP
import HTTPAdapterSupport

/// A failed WebDAV request, named by mailbox, method, URL and cause, in words an administrator
/// can act on. Permanent when the same call will keep failing (wrong password, no rights, no such
/// mailbox, a refused forms login); transient for overload and connection trouble.
struct WebDAVError: Error, ClassifiedError, HTTPRequestFailure {
    var mailbox: String
    var method: String
    var url: String
    /// The HTTP status, or 0 when no answer came.
    var status: Int
    var cause: String
    var isPermanent: Bool
    var retryAfter: Duration?

    var description: String { "\(method) \(URLParts.redacted(url)) for mailbox \(mailbox): \(cause)" }
}

/// One answer: status, header fields by lower-case name, body.
struct WebDAVAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
}

/// WebDAV requests to one mailbox over the libcurl client, with the service account's HTTP
/// authentication or forms-login session, retries of transient failures, and answers checked
/// before they are parsed.
struct WebDAVClient: Sendable {
    let client: HTTPClient
    let auth: HTTPAuth
    let forms: FormsSession?
    /// The mailbox (for messages) and its root URL, ending in `/`.
    let mailbox: String
    let root: String
    let ledger: RetryLedger
    let log: @Sendable (AdapterLogLevel, String) -> Void
    var attempts = 4

    /// Sends a request; retries 503, 5xx other than 507, dropped connections and timeouts with a
    /// growing pause (or the server's Retry-After). Statuses the caller expects are returned;
    /// every other answer becomes a ``WebDAVError``.
    func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: Data = Data(),
        expect: Set<Int>
    ) async throws -> WebDAVAnswer {
        var request = HTTPRequest(url: url, method: method, headers: headers, body: body, auth: auth)
        if !body.isEmpty, !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            request.headers.append(("Content-Type", "text/xml"))
        }
        return try await HTTPRetries.run(attempts: attempts, ledger: ledger, failure: WebDAVError.self) {
            let answer = try await perform(request)
            if expect.contains(answer.status) { return answer }
            throw explain(answer, method: method, url: url)
        }
    }

    func perform(_ request: HTTPRequest) async throws -> WebDAVAnswer {
        let collected = Collected()
        let head: HTTPResponseHead
        do {
            if let forms {
                head = try await forms.send(request) { collected.append($0) }
            } else {
                head = try await client.send(request) { collected.append($0) }
            }
        } catch let error as FormsLoginError {
            throw WebDAVError(
                mailbox: mailbox, method: request.method, url: request.url, status: 440,
                cause: "the forms login failed: \(error)", isPermanent: true)
        } catch let error as HTTPError {
            let permanent = error.kind == .tls || error.kind == .cancelled
            var cause = "\(error)"
            if error.kind == .tls { cause += " (set 'ca_file' to the certificate authority that signed the server)" }
            throw WebDAVError(
                mailbox: mailbox, method: request.method, url: request.url, status: 0, cause: cause,
                isPermanent: permanent)
        }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        return WebDAVAnswer(status: head.status, headers: headers, body: collected.data)
    }

    /// What an unexpected answer means.
    func explain(_ answer: WebDAVAnswer, method: String, url: String) -> WebDAVError {
        let status = answer.status
        let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        var permanent = true
        var retryAfter: Duration?
        let cause: String
        switch status {
        case 401:
            cause =
                "HTTP 401: the server refused the service account's credentials (check 'username' and 'password', and 'auth': this server may want "
                + (answer.headers["www-authenticate"].map { "'\($0)'" } ?? "another method") + ")"
        case 403:
            cause =
                "HTTP 403 access denied: the service account has no full access to this mailbox (grant it, or check the item)"
                + (text.isEmpty ? "" : " — \(text)")
        case 404:
            cause = "HTTP 404 not found: no mailbox or folder at this URL (check the user's 'mailbox' and 'url')"
        case 440:
            cause = "HTTP 440 Login Timeout: the server wants a forms login; set 'auth: forms'"
        case 300..<400:
            let location = answer.headers["location"] ?? "nowhere"
            cause =
                "the server redirected (HTTP \(status)) to \(location)"
                + (location.lowercased().contains("logon") || location.lowercased().contains("owaauth")
                    ? ": a forms-based login is in front of the server; set 'auth: forms'" : ": check 'url'")
        case 409:
            cause = "HTTP 409 conflict: the server refused a value or the folder is missing — \(text)"
        case 412:
            cause = "HTTP 412 precondition failed: the item changed or exists"
        case 507:
            cause = "HTTP 507 insufficient storage: the mailbox is over its quota"
        case 503, 500, 502, 504:
            permanent = false
            retryAfter = answer.headers["retry-after"].flatMap(Int.init).map { .seconds(min($0, 60)) }
            cause = "HTTP \(status): the server is busy or failing" + (text.isEmpty ? "" : " — \(text)")
        default:
            cause = "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")
        }
        return WebDAVError(
            mailbox: mailbox, method: method, url: url, status: status, cause: cause, isPermanent: permanent,
            retryAfter: retryAfter)
    }

    /// Parses a 207 body; an answer that is HTML or another type, or XML that is not a multistatus,
    /// is named as such.
    func multistatus(_ answer: WebDAVAnswer, method: String, url: String) throws -> [DAVResponse] {
        let type = answer.headers["content-type"]?.lowercased() ?? ""
        if type.contains("html") {
            throw WebDAVError(
                mailbox: mailbox, method: method, url: url, status: answer.status,
                cause: "the server answered with an HTML page instead of WebDAV XML: check 'url' and 'auth'",
                isPermanent: true)
        }
        do {
            return try DAVMultistatus.parse(answer.body)
        } catch {
            throw WebDAVError(
                mailbox: mailbox, method: method, url: url, status: answer.status,
                cause: "the answer is not a WebDAV multistatus (\(answer.body.count) bytes, '\(type)'): \(error)",
                isPermanent: false)
        }
    }

    // MARK: Methods

    func propfind(_ url: String, depth: String = "0", properties: [String]) async throws -> [DAVResponse] {
        try await propfindDated(url, depth: depth, properties: properties).responses
    }

    /// A PROPFIND and the server's clock when it answered (its `Date` header), when it gave one.
    func propfindDated(_ url: String, depth: String = "0", properties: [String]) async throws -> (
        responses: [DAVResponse], date: Date?
    ) {
        let answer = try await send(
            "PROPFIND", url, headers: [("Depth", depth), ("Brief", "t")], body: DAVBody.propfind(properties),
            expect: [207])
        return (try multistatus(answer, method: "PROPFIND", url: url), answer.headers["date"].flatMap(Self.httpDate))
    }

    /// An HTTP date (`Thu, 03 Dec 2026 10:08:02 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text.trimmingCharacters(in: .whitespaces))
    }

    func batchPropfind(_ folder: String, hrefs: [String], properties: [String]) async throws -> [DAVResponse] {
        let url = folder.hasSuffix("/") ? folder : folder + "/"
        let answer = try await send(
            "BPROPFIND", url, headers: [("Depth", "0"), ("Brief", "t")],
            body: DAVBody.batchPropfind(hrefs: hrefs, properties: properties), expect: [207])
        return try multistatus(answer, method: "BPROPFIND", url: url)
    }

    /// One page of a SEARCH: the rows and the total the server reports (nil when it gave none).
    func search(_ url: String, sql: String, rows: ClosedRange<Int>?) async throws -> (
        rows: [DAVResponse], total: Int?
    ) {
        var headers: [(String, String)] = [("Brief", "t")]
        if let rows { headers.append(("Range", "rows=\(rows.lowerBound)-\(rows.upperBound)")) }
        let answer = try await send(
            "SEARCH", url, headers: headers, body: DAVBody.search(sql), expect: [207, 206, 416])
        if answer.status == 416 { return ([], 0) }
        let total = answer.headers["content-range"].flatMap { range -> Int? in
            guard let part = range.components(separatedBy: "total=").last else { return nil }
            return Int(part.trimmingCharacters(in: .whitespaces))
        }
        return (try multistatus(answer, method: "SEARCH", url: url), total)
    }

    /// Every row of a SEARCH, page by page.
    func searchAll(_ url: String, sql: String, pageSize: Int) async throws -> [DAVResponse] {
        var all: [DAVResponse] = []
        var first = 0
        while true {
            let page = try await search(url, sql: sql, rows: first...(first + pageSize - 1))
            all += page.rows
            first += pageSize
            if page.rows.isEmpty || page.rows.count < pageSize { break }
            if let total = page.total, first >= total { break }
        }
        return all
    }
}

/// Collects a response body from the client's callbacks.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    func append(_ data: Data) { lock.withLock { buffer.append(data) } }
    var data: Data { lock.withLock { buffer } }
}
