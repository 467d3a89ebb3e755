import Foundation

/// One HTTP request.
public struct HTTPRequest: Sendable {
    /// An absolute `http` or `https` URL.
    public var url: String
    /// The method, `POST` by default (EWS is SOAP over POST).
    public var method: String = "POST"
    /// Extra request headers in order, e.g. `("Content-Type", "text/xml; charset=utf-8")`. CR and LF
    /// in names or values are replaced by spaces so a header cannot inject another.
    public var headers: [(String, String)]
    /// The request body; empty for none. Ignored when ``bodyStream`` is set.
    public var body: Data
    /// A body produced in pieces while it is sent (e.g. a large file as base64 inside XML), instead
    /// of ``body``; `nil` (the default) sends ``body``.
    public var bodyStream: HTTPBodySource?
    /// How the request authenticates.
    public var auth: HTTPAuth

    /// A request; `method` defaults to `POST`.
    public init(
        url: String, method: String = "POST", headers: [(String, String)] = [], body: Data = Data(),
        auth: HTTPAuth = .none
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.auth = auth
    }

    /// A request whose body is streamed from `bodyStream`; `method` defaults to `POST`.
    public init(
        url: String, method: String = "POST", headers: [(String, String)] = [], bodyStream: HTTPBodySource,
        auth: HTTPAuth = .none
    ) {
        self.init(url: url, method: method, headers: headers, auth: auth)
        self.bodyStream = bodyStream
    }

    /// Whether a body is sent: a stream, or a non-empty ``body``.
    var hasBody: Bool { bodyStream != nil || !body.isEmpty }
}

extension HTTPRequest: CustomStringConvertible {
    /// Method, URL without user information, body size and auth scheme; never a password or the body.
    public var description: String {
        let size =
            if let bodyStream { bodyStream.length.map { "\($0) bytes streamed" } ?? "streamed body" } else {
                "\(body.count) bytes"
            }
        return "\(method) \(URLParts.redacted(url)) (\(size), auth: \(auth))"
    }
}

/// The status line and headers of the final response (after authentication legs and `100 Continue`).
public struct HTTPResponseHead: Sendable {
    /// The HTTP status code, e.g. 200, 401 or 503.
    public var status: Int
    /// The headers in the order received; names as sent by the server.
    public var headers: [(String, String)]

    /// A head with the given status and headers.
    public init(status: Int, headers: [(String, String)] = []) {
        self.status = status
        self.headers = headers
    }

    /// The value of a header, compared case-insensitively; if it occurs more than once, the last one.
    public func header(_ name: String) -> String? {
        headers.last { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}

/// A response with its whole body.
public struct HTTPResponse: Sendable {
    /// Status and headers.
    public var head: HTTPResponseHead
    /// The body, decoded if it was compressed.
    public var body: Data

    /// A response of the given head and body.
    public init(head: HTTPResponseHead, body: Data) {
        self.head = head
        self.body = body
    }
}

/// A request that produced no HTTP response. An HTTP error status (401, 500, 503 ...) is not an
/// `HTTPError`: it is a normal response.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely, for deciding whether to retry.
    public enum Kind: String, Sendable, Hashable {
        /// The connection could not be made: refused, host name not resolved, unreachable.
        case connect
        /// The connect timeout or the total timeout elapsed.
        case timeout
        /// TLS failed: handshake, certificate verification, host name mismatch.
        case tls
        /// The proxy could not be resolved, reached, or refused the tunnel.
        case proxy
        /// The connection failed during the exchange: reset, dropped mid-response, nothing received,
        /// and every other libcurl failure.
        case transport
        /// The calling task was cancelled.
        case cancelled
    }

    /// The kind of failure.
    public var kind: Kind
    /// libcurl's explanation (its error buffer), without credentials.
    public var message: String
    /// The request URL without user information.
    public var url: String
    /// libcurl's result code (`CURLcode`), or 0 when the failure did not come from libcurl.
    public var curlCode: Int

    /// An error; `url` should already be free of credentials.
    public init(kind: Kind, message: String, url: String, curlCode: Int = 0) {
        self.kind = kind
        self.message = message
        self.url = url
        self.curlCode = curlCode
    }

    /// `HTTP <kind> error for <url>: <message>`.
    public var description: String {
        "HTTP \(kind.rawValue) error for \(url): \(message)" + (curlCode != 0 ? " (curl code \(curlCode))" : "")
    }
}

/// String operations on URLs that must not fail or allocate a `URL`.
public enum URLParts {
    /// The scheme, lowercased, or `nil` without `://`.
    public static func scheme(_ url: String) -> String? {
        guard let range = url.range(of: "://") else { return nil }
        return url[..<range.lowerBound].lowercased()
    }

    /// The authority part (user information, host, port) and where it ends.
    private static func authority(_ url: String) -> (userInfo: Substring?, hostPort: Substring, rest: Substring)? {
        guard let range = url.range(of: "://") else { return nil }
        let afterScheme = url[range.upperBound...]
        let end = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<end]
        if let at = authority.lastIndex(of: "@") {
            return (authority[..<at], authority[authority.index(after: at)...], afterScheme[end...])
        }
        return (nil, authority, afterScheme[end...])
    }

    /// The URL without `user:password@`.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let parts = authority(url), parts.userInfo != nil else { return url }
        return String(url[..<scheme.upperBound]) + parts.hostPort + parts.rest
    }

    /// The password in the URL's user information, if any.
    static func password(_ url: String) -> String? {
        guard let userInfo = authority(url)?.userInfo, let colon = userInfo.firstIndex(of: ":") else { return nil }
        return String(userInfo[userInfo.index(after: colon)...])
    }

    /// `scheme://host:port`, lowercased, for `http` and `https` URLs; `nil` for anything else.
    public static func origin(_ url: String) -> String? {
        guard let scheme = scheme(url), scheme == "http" || scheme == "https", let parts = authority(url),
            !parts.hostPort.isEmpty
        else { return nil }
        return scheme + "://" + parts.hostPort.lowercased()
    }
}
