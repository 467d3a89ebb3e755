/// How a request authenticates, carried out by libcurl.
///
/// NTLM and Negotiate authenticate a TCP connection rather than a request, so the client keeps the
/// connections of each credential apart (see ``HTTPClient``). The textual forms of this type
/// (`description`, `debugDescription`, `dump`) never show a password.
public enum HTTPAuth: Sendable, Hashable {
    /// No credentials are sent.
    case none
    /// HTTP Basic, sent with the first request (only use it over HTTPS).
    case basic(user: String, password: String)
    /// HTTP Digest (RFC 7616; MD5 or SHA-256 as the server asks, `qop=auth`): the password itself
    /// never crosses the wire. Each request first gets the server's 401 challenge (libcurl sends
    /// that leg with an empty body), so every request costs a second round trip; the body goes
    /// out once, with the answer. Should libcurl have to send a body again, a `Data` body is
    /// copied and a streamed ``HTTPBodySource`` starts a new reader.
    case digest(user: String, password: String)
    /// NTLM (NTLMv2 when the server offers target information), the usual scheme of on-premises Exchange.
    /// `user` may carry a domain as `DOMAIN\user`.
    case ntlm(user: String, password: String)
    /// SPNEGO (Kerberos) through GSS-API. On Linux, GSS-API takes the credentials from the Kerberos
    /// credential cache (`kinit`); `user` and `password` are passed to libcurl but GSS-API does not use them.
    case negotiate(user: String?, password: String?)

    /// The user name, if any.
    public var user: String? {
        switch self {
        case .none: return nil
        case .basic(let user, _), .digest(let user, _), .ntlm(let user, _): return user
        case .negotiate(let user, _): return user
        }
    }

    /// The passwords this value holds, for redacting them from any text that leaves the client.
    var secrets: [String] {
        switch self {
        case .none: return []
        case .basic(_, let password), .digest(_, let password), .ntlm(_, let password): return [password]
        case .negotiate(_, let password): return password.map { [$0] } ?? []
        }
    }
}

extension HTTPAuth: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The scheme and user; a password shows as `***`.
    public var description: String {
        switch self {
        case .none: return "none"
        case .basic(let user, _): return "basic(user: \(user), password: ***)"
        case .digest(let user, _): return "digest(user: \(user), password: ***)"
        case .ntlm(let user, _): return "ntlm(user: \(user), password: ***)"
        case .negotiate(let user, let password):
            return "negotiate(user: \(user ?? "nil"), password: \(password == nil ? "nil" : "***"))"
        }
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// A mirror without the password, so `dump` and reflection do not reveal it either.
    public var customMirror: Mirror {
        Mirror(self, children: ["redacted": description], displayStyle: .enum)
    }
}
