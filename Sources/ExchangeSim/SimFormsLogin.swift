import Foundation
import NIOHTTP1
import Synchronization
import XML

/// Outlook Web Access's forms-based login, as Exchange 2003 and 2007 (or an ISA/TMG form in front
/// of them) present it to a client that has no session yet:
///
/// - the form: `GET /exchweb/bin/auth/owalogon.asp` (2003) or `GET /owa/auth/logon.aspx` (2007),
///   an HTML page;
/// - the login: `POST …/owaauth.dll` with `username`, `password` and `destination`, answered with
///   `302` to the destination and the session cookies: `sessionid` and `cadata` (2003),
///   `UserContext` and `cadata` (2007). A wrong password on 2003 goes back to the logon page with
///   `reason=2` and no cookies; 2007 sets cookies whether or not the password was right, and the
///   session then fails on the next request, as the real server does;
/// - a request without a valid session: `440 Login Timeout` (a `GET` is redirected to the logon
///   page instead), with the session cookies cleared. Sessions end after
///   ``SimOptions/formsSessionLifetime``.
final class SimFormsLogin: Sendable {
    let options: SimOptions
    let passwords: [String: String]
    /// Session token (the `cadata` cookie) → the account it signed in, nil for a refused login
    /// (2007), and when it expires.
    /// Sessions by their `cadata` token: the account (nil for a refused login), when the session
    /// ends, and how many requests it still takes (nil: no limit).
    let sessions = Mutex<[String: (account: String?, expires: Date, requests: Int?)]>([:])

    init(options: SimOptions) {
        self.options = options
        passwords = Dictionary(options.accounts.map { ($0.name.lowercased(), $0.password) }, uniquingKeysWith: { $1 })
    }

    struct Answer {
        var status: Int
        var headers: [(String, String)]
        var body: Data
    }

    enum Session {
        case valid(String)
        case missing, expired, invalid
    }

    var is2003: Bool { options.auth == .forms2003 }
    var logonPage: String { is2003 ? "/exchweb/bin/auth/owalogon.asp" : "/owa/auth/logon.aspx" }
    var loginPath: String { is2003 ? "/exchweb/bin/auth/owaauth.dll" : "/owa/auth/owaauth.dll" }

    /// The answer to a request of the login pages, nil for any other path (or when forms are off).
    func answer(_ method: String, uri: String, body: Data, server: SimServer) -> Answer? {
        guard options.auth.isForms else { return nil }
        let path = uri.split(separator: "?", maxSplits: 1).first.map { String($0).lowercased() } ?? ""
        if path == logonPage.lowercased(), method == "GET" {
            // As OWA's page does, the form sends the user back to where the redirect came from.
            var destination = ""
            if let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first {
                for pair in query.split(separator: "&") where pair.lowercased().hasPrefix("url=") {
                    destination = String(pair.dropFirst(4)).removingPercentEncoding ?? ""
                }
            }
            return Answer(
                status: 200, headers: [("Content-Type", "text/html; charset=utf-8")],
                body: Data(form(destination: destination).utf8))
        }
        if path == loginPath.lowercased() {
            guard method == "POST" else { return Answer(status: 405, headers: [("Allow", "POST")], body: Data()) }
            return login(body, server: server)
        }
        return nil
    }

    /// Checks the form's credentials and starts a session.
    func login(_ body: Data, server: SimServer) -> Answer {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        var user = (fields["username"] ?? "").lowercased()
        // DOMAIN\user signs in the account named user.
        if let slash = user.lastIndex(of: "\\") { user = String(user[user.index(after: slash)...]) }
        let accepted = passwords[user].map { $0 == fields["password"] } ?? false
        // An empty destination goes to the mailbox root (2003) or Outlook Web Access (2007).
        let destination = fields["destination"].flatMap { $0.isEmpty ? nil : $0 } ?? (is2003 ? "/exchange/" : "/owa/")
        if !accepted && is2003 {
            let back =
                logonPage
                + "?url=\(destination.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&reason=2"
            return Answer(status: 302, headers: [("Location", back)], body: Data())
        }
        let token = UUID().uuidString
        let expires = Date().addingTimeInterval(
            Double(options.formsSessionLifetime.components.seconds)
                + Double(options.formsSessionLifetime.components.attoseconds) / 1e18)
        let requests = options.formsSessionRequests > 0 ? options.formsSessionRequests : nil
        sessions.withLock { $0[token] = (accepted ? user : nil, expires, requests) }
        server.service.countFault(accepted ? "formsLogin" : "formsLoginRefused")
        let session =
            is2003
            ? "sessionid=\(UUID().uuidString),0x409; path=/" : "UserContext=\(UUID().uuidString); path=/"
        return Answer(
            status: 302,
            headers: [
                ("Location", destination), ("Set-Cookie", session),
                ("Set-Cookie", "cadata=\"\(token)\"; HttpOnly; path=/"),
            ], body: Data())
    }

    /// The session a request's `Cookie` header names.
    func session(cookie header: String?) -> Session {
        guard let header else { return .missing }
        var token: String?
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2, pair[0].lowercased() == "cadata" {
                token = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        guard let token else { return .missing }
        // Each request uses one of the session's requests, when they are counted.
        let session = sessions.withLock { sessions -> (account: String?, expires: Date, requests: Int?)? in
            guard var session = sessions[token] else { return nil }
            if let left = session.requests {
                session.requests = left - 1
                sessions[token] = session
            }
            return session
        }
        guard let session else { return .invalid }
        guard session.expires > Date(), (session.requests ?? 0) >= 0 else { return .expired }
        guard let account = session.account else { return .invalid }
        return .valid(account)
    }

    /// What a request without a valid session gets: 440 for a protocol request, the logon page
    /// for a browser's GET; the session cookies are cleared either way.
    func signInFirst(method: String, uri: String, server: SimServer) -> Answer {
        server.service.countFault("formsLoginTimeout")
        var headers = [
            ("Set-Cookie", "cadata=; expires=Thu, 01-Jan-1970 00:00:00 GMT; path=/"),
            ("Set-Cookie", "\(is2003 ? "sessionid" : "UserContext")=; expires=Thu, 01-Jan-1970 00:00:00 GMT; path=/"),
        ]
        if method == "GET" {
            headers.append(
                (
                    "Location",
                    logonPage
                        + "?url=\(uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&reason=0"
                ))
            return Answer(status: 302, headers: headers, body: Data())
        }
        headers.append(("Content-Type", "text/html"))
        return Answer(status: 440, headers: headers, body: Data("<html><body>Login Timeout</body></html>".utf8))
    }

    /// The response status of a code; 440 with Exchange's reason phrase.
    static func status(_ code: Int) -> HTTPResponseStatus {
        code == 440 ? .custom(code: 440, reasonPhrase: "Login Timeout") : HTTPResponseStatus(statusCode: code)
    }

    /// The logon page (what a browser would fill in).
    func form(destination: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><title>Outlook Web Access</title></head><body>
        <form action="\(loginPath)" method="POST" name="logonForm">
        <input type="hidden" name="destination" value="\(XMLWriter.escape(destination, attribute: true))">
        <input type="hidden" name="flags" value="4">
        <label for="username">Domain\\user name:</label><input id="username" name="username" type="text">
        <label for="password">Password:</label><input id="password" name="password" type="password">
        <input type="submit" name="SubmitCreds" value="Log On">
        </form></body></html>
        """
    }
}

extension SimOptions.Auth {
    /// Whether clients sign in through Outlook Web Access's form.
    public var isForms: Bool { self == .forms2003 || self == .forms2007 }
}
