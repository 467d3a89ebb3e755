import Foundation
import Synchronization

/// A forms-based login as Outlook Web Access asks for it (Exchange 2003 `/exchweb/bin/auth/owaauth.dll`,
/// Exchange 2007 `/owa/auth/owaauth.dll`, or an ISA/TMG form in front of a server): the form is
/// posted once, the session cookies it sets (`sessionid`/`cadata` on 2003, `UserContext`/`cadata`
/// on 2007) go with every later request, and a server that asks to sign in again (`440 Login
/// Timeout`, or a redirect to the logon page) when the session expired gets one new login and the
/// request once more. Asking again right after a login means the login was not accepted: Exchange
/// 2007 answers the form with cookies whether or not the password was right, so a wrong password
/// only shows on the next request. (Once requests have gone through, a session that expires again
/// before the replay arrives gets one more login.) Never a loop: at most two logins per request.
///
/// Requests sent in parallel share one session; when several meet the expiry, one logs in and the
/// others wait for it.
public final class FormsSession: Sendable {
    /// The URL the form is posted to.
    public let loginURL: String
    /// Where the form says to go after the login (the page or service the session is for).
    public let destination: String
    let user: String
    let password: String
    let client: HTTPClient
    let state = Mutex(State())

    struct State {
        var cookies: [(name: String, value: String)] = []
        /// Counts logins; a request remembers the one its cookies came from.
        var generation = 0
        /// Whether a request ever went through with this session's cookies.
        var accepted = false
        var pending: Task<Void, Error>?
    }

    /// A session for `user` through the form at `loginURL`; nothing is sent before the first request.
    public init(client: HTTPClient, loginURL: String, destination: String, user: String, password: String) {
        self.client = client
        self.loginURL = loginURL
        self.destination = destination
        self.user = user
        self.password = password
    }

    /// The login form's URL on the server of `url`: Exchange 2007's (`/owa/auth/owaauth.dll`)
    /// unless `exchange2003`.
    public static func loginURL(forServerOf url: String, exchange2003: Bool = false) -> String? {
        guard let origin = URLParts.origin(url) else { return nil }
        return origin + (exchange2003 ? "/exchweb/bin/auth/owaauth.dll" : "/owa/auth/owaauth.dll")
    }

    /// Sends `request` with the session's cookies (logging in first when there is no session yet)
    /// and streams the body of the answer to `onBody`. An answer asking to sign in is not passed
    /// on: the session logs in again and the request is sent once more (twice when the new session
    /// expired too before it arrived, once requests have gone through before).
    ///
    /// - Throws: ``FormsLoginError`` when the form is missing or refuses the login, or the server
    ///   asks to sign in right after one; ``HTTPError`` as ``HTTPClient/send(_:onBody:)`` does.
    public func send(_ request: HTTPRequest, onBody: @escaping @Sendable (Data) -> Void) async throws
        -> HTTPResponseHead
    {
        for attempt in 1...3 {
            let (cookie, generation) = try await cookies()
            var signed = request
            signed.headers.append(("Cookie", cookie))
            let head = try await client.send(signed, onHead: { !Self.asksToSignIn($0) }, onBody: onBody)
            guard Self.asksToSignIn(head) else {
                state.withLock { $0.accepted = true }
                return head
            }
            // Refused again right after a login: the login is not accepted, unless this session's
            // logins have let requests through before (then the new session expired too, as on a
            // slow machine with short sessions: one more login, no more).
            let accepted = state.withLock { $0.accepted }
            if attempt == 3 || (attempt == 2 && !accepted) { break }
            try await renew(after: generation)
        }
        throw FormsLoginError.notAccepted(user: user, loginURL: loginURL)
    }

    /// Whether an answer asks the client to sign in (again): `440 Login Timeout`, or a redirect to a
    /// logon page.
    public static func asksToSignIn(_ head: HTTPResponseHead) -> Bool {
        if head.status == 440 { return true }
        guard (300..<400).contains(head.status), let location = head.header("Location")?.lowercased() else {
            return false
        }
        return ["logon", "owaauth", "/auth/", "login"].contains { location.contains($0) }
    }

    /// The cookie header of the current session and its login's number, logging in when needed.
    func cookies() async throws -> (String, Int) {
        while true {
            let (current, generation, pending) = state.withLock { ($0.cookies, $0.generation, $0.pending) }
            if let pending {
                // Finished logins are no longer pending (see renew), so this waits, never spins.
                try await pending.value
                continue
            }
            if !current.isEmpty {
                return (current.map { "\($0.name)=\($0.value)" }.joined(separator: "; "), generation)
            }
            try await renew(after: generation)
        }
    }

    /// Logs in again, unless another request already did since login `generation`. One login at a
    /// time: the others wait for it. The login's task installs its cookies and clears itself in one
    /// step, so a waiting request never finds a finished login still pending.
    func renew(after generation: Int) async throws {
        let task: Task<Void, Error>? = state.withLock { state in
            if let pending = state.pending { return pending }
            if state.generation != generation { return nil }
            // Created under the lock: the task's own updates take the lock, so they come after this.
            let task = Task {
                do {
                    let cookies = try await self.login()
                    self.state.withLock {
                        $0.cookies = cookies
                        $0.generation += 1
                        $0.pending = nil
                    }
                } catch {
                    self.state.withLock { $0.pending = nil }
                    throw error
                }
            }
            state.pending = task
            return task
        }
        try await task?.value
    }

    /// Posts the form; answers the session cookies it sets.
    func login() async throws -> [(name: String, value: String)] {
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "destination", value: destination), URLQueryItem(name: "flags", value: "4"),
            URLQueryItem(name: "forcedownlevel", value: "0"), URLQueryItem(name: "trusted", value: "4"),
            URLQueryItem(name: "username", value: user), URLQueryItem(name: "password", value: password),
            URLQueryItem(name: "isUtf8", value: "1"), URLQueryItem(name: "SubmitCreds", value: "Log On"),
        ]
        // URLComponents leaves `+` and `&`-free reserved characters alone; a form wants them encoded.
        let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        let response = try await client.send(
            HTTPRequest(
                url: loginURL, method: "POST", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Data(body.utf8)))
        let head = response.head
        if head.status == 404 || head.status == 405 {
            throw FormsLoginError.noLoginForm(loginURL: loginURL, status: head.status)
        }
        let location = head.header("Location") ?? ""
        let cookies = Self.sessionCookies(head)
        // OWA sends a refused login back to the logon page with a reason (2: wrong credentials,
        // 4: the account may not sign in here); a login that set no session cookie did not happen.
        let refused = location.contains("reason=2") || location.contains("reason=4")
        guard !refused, head.status < 400, cookies.contains(where: { Self.isSessionCookie($0.name) }) else {
            throw FormsLoginError.refused(user: user, loginURL: loginURL, status: head.status)
        }
        return cookies
    }

    /// The cookies a response sets (name and value), without those it deletes.
    static func sessionCookies(_ head: HTTPResponseHead) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for (name, value) in head.headers where name.lowercased() == "set-cookie" {
            let attributes = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let pair = attributes.first, let equals = pair.firstIndex(of: "=") else { continue }
            let cookieName = String(pair[..<equals])
            let cookieValue = String(pair[pair.index(after: equals)...])
            let expired = attributes.dropFirst().contains {
                $0.lowercased().hasPrefix("expires=") && $0.contains("1970")
            }
            result.removeAll { $0.name == cookieName }
            if !cookieValue.isEmpty && !expired { result.append((cookieName, cookieValue)) }
        }
        return result
    }

    static func isSessionCookie(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower == "sessionid" || lower.hasPrefix("cadata") || lower == "usercontext"
    }
}

extension FormsSession: CustomStringConvertible, CustomReflectable {
    /// The user and the login URL; never the password.
    public var description: String { "forms login of \(user) at \(loginURL)" }

    /// A mirror without the password, so `dump` and reflection do not reveal it either.
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}

/// Why a forms-based login failed. The password never appears.
public enum FormsLoginError: Error, Sendable, CustomStringConvertible {
    /// Nothing takes the form at that URL.
    case noLoginForm(loginURL: String, status: Int)
    /// The form sent the login back (wrong user name or password, or no right to sign in there).
    case refused(user: String, loginURL: String, status: Int)
    /// The server asked to sign in again right after a login it seemed to accept.
    case notAccepted(user: String, loginURL: String)

    public var description: String {
        switch self {
        case .noLoginForm(let url, let status):
            "no forms login at \(url) (HTTP \(status)): check the login URL (Exchange 2007: /owa/auth/owaauth.dll, "
                + "Exchange 2003: /exchweb/bin/auth/owaauth.dll)"
        case .refused(let user, let url, let status):
            "the forms login at \(url) refused user \(user) (HTTP \(status)): check the user name and password"
        case .notAccepted(let user, let url):
            "the server asks to sign in again right after the forms login of user \(user) at \(url): "
                + "the user name or password is wrong, or the account may not sign in there"
        }
    }
}
