import Foundation

/// An account that may log in to the simulator.
public struct SimAccount: Sendable, Hashable {
    public var name: String
    public var password: String
    public init(name: String, password: String) {
        self.name = name
        self.password = password
    }
}

/// Everything the simulator is told at start: mailboxes, accounts, rights and faults.
public struct SimOptions: Sendable {
    /// How clients sign in: HTTP Basic, NTLM, or the forms-based login of Outlook Web Access in front
    /// of the server (Exchange 2003's `/exchweb/bin/auth/owaauth.dll` or 2007's `/owa/auth/owaauth.dll`),
    /// whose session cookies then go with every request.
    public enum Auth: String, Sendable, CaseIterable { case basic, ntlm, forms2003, forms2007 }
    public var host = "127.0.0.1"
    public var port = 0
    public var mailboxes: [String] = []
    public var accounts: [SimAccount] = []
    public var auth: Auth = .basic
    /// Accounts holding the ApplicationImpersonation right (for every mailbox).
    public var impersonation: Set<String> = []
    /// Mailboxes outside the impersonation right's management scope (impersonating them is denied).
    public var impersonationDenied: Set<String> = []
    /// Accounts with full (delegate) access to every mailbox.
    public var delegates: Set<String> = []
    /// Folder with Microsoft's schema files (`types.xsd`, `validation/…`).
    public var schemaDirectory: URL
    /// Latency added to every request.
    public var latency: Duration = .zero
    /// Share of requests answered with ErrorServerBusy (0...1).
    public var busyRate = 0.0
    /// BackOffMilliseconds announced with ErrorServerBusy.
    public var backOffMilliseconds = 100
    /// Concurrent requests per account before ErrorExceededConnectionCount; 0 for no limit.
    public var maxConcurrency = 0
    /// Share of requests answered with HTTP 503 and Retry-After.
    public var unavailableRate = 0.0
    /// Share of connections dropped without an answer.
    public var dropRate = 0.0
    /// File the mailboxes are saved to and loaded from.
    public var statePath: URL?
    /// How long a forms-login session lasts; a request after that is answered `440 Login Timeout`.
    public var formsSessionLifetime: Duration = .seconds(24 * 3600)
    /// How many requests a forms-login session takes before requests get `440 Login Timeout`
    /// (0: no limit). Expiry by count does not depend on how fast a loaded machine runs, so tests
    /// use it to have sessions end mid-run.
    public var formsSessionRequests = 0
    /// Seed of the fault generator, for repeatable runs.
    public var seed: UInt64 = 42
    /// The protocols served: EWS (`/EWS/Exchange.asmx`, Exchange 2007 and later), WebDAV
    /// (`/exchange/<alias>/`, Exchange 2003 and 2007), or both, as an Exchange 2007 serves them.
    public var protocols: Set<SimProtocol> = [.ews]
    /// Language of the WebDAV folder names (`de`: Posteingang, Kalender …; `en`: Inbox, Calendar …).
    public var davLanguage = "de"
    /// WebDAV answers name MAPI properties with element names that start with a digit, as
    /// Exchange does (`<e:0x8101>`); false writes the escaped form (`_x0030_x8101`).
    public var davDigitNames = true
    /// Mailboxes whose quota is used up: every WebDAV write answers 507 Insufficient Storage.
    public var davQuotaExceeded: Set<String> = []
    /// The server's time zone, in which it stores all-day appointments (IANA name).
    public var davTimeZone = "Europe/Berlin"

    public init(schemaDirectory: URL) { self.schemaDirectory = schemaDirectory }
}

/// A protocol the simulator serves.
public enum SimProtocol: String, Sendable, CaseIterable { case ews, webdav }
