import Foundation

/// A request as the service's HTTP server hands it on: the head, the body and the peer.
struct HTTPRequestData: Sendable {
    var method: String
    /// The path, percent-decoded per segment by ``segments``.
    var path: String
    var query: [String: String]
    /// Header names in lower case.
    var headers: [String: String]
    var body: [UInt8]
    /// The peer's IP address; nil when unknown (a Unix socket).
    var peer: String?

    init(method: String, uri: String, headers: [(String, String)], body: [UInt8], peer: String?) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "/")
        query = parts.count > 1 ? Self.form(String(parts[1])) : [:]
        var table: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            table[key] = table[key].map { "\($0), \(value)" } ?? value
        }
        self.headers = table
        self.body = body
        self.peer = peer
    }

    /// The path's segments, percent-decoded (`/accounts/exchange/mm%40x.test` → accounts, exchange, mm@x.test).
    var segments: [String] {
        path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
    }

    /// The body as `application/x-www-form-urlencoded` fields.
    var form: [String: String] { Self.form(String(decoding: body, as: UTF8.self)) }

    /// Cookies by name.
    var cookies: [String: String] {
        var result: [String: String] = [:]
        for pair in (headers["cookie"] ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            result[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    static func form(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }
}

/// A response: status, headers and body.
struct HTTPResponseData: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    init(status: Int, type: String, body: String, headers: [(String, String)] = []) {
        self.status = status
        self.headers = [("Content-Type", type)] + headers
        self.body = Array(body.utf8)
    }

    static func html(_ body: String, status: Int = 200) -> HTTPResponseData {
        HTTPResponseData(status: status, type: "text/html; charset=utf-8", body: body)
    }

    static func text(_ body: String, status: Int) -> HTTPResponseData {
        HTTPResponseData(status: status, type: "text/plain; charset=utf-8", body: body + "\n")
    }

    /// 303 See Other: after a POST the browser loads `location` with a GET.
    static func redirect(_ location: String) -> HTTPResponseData {
        HTTPResponseData(status: 303, type: "text/plain; charset=utf-8", body: "", headers: [("Location", location)])
    }
}

/// Percent-encoding for one path segment or one query value.
func urlComponent(_ text: String) -> String {
    let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~@")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
