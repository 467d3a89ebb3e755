import ConnectorAPI
import Foundation
import HTTPAdapterSupport

/// The settings of an `exchange-webdav` instance, each declared once (spec, default and reading).
struct WebDAVSettings {
    let url = Setting<String?>.url(
        "url", required: true,
        doc:
            "The Exchange 2003/2007 server's mailbox root, e.g. https://mail.example.com/exchange/ (mailboxes below it)."
    )
    let version = Setting<String>.oneOf(
        "version", ["2003", "2007"], default: "2007",
        doc:
            "Exchange version: where the forms login is (2003: /exchweb/bin/auth/owaauth.dll, 2007: /owa/auth/owaauth.dll)."
    )
    let auth = Setting<String>.oneOf(
        "auth", ["ntlm", "basic", "forms"], default: "forms",
        doc:
            "How the service account signs in: HTTP authentication, or Outlook Web Access's forms login (the usual for Exchange 2003/2007)."
    )
    let formsLoginURL = Setting<String?>.url(
        "forms_login_url", doc: "With 'auth: forms': where the login form is posted, when not at the version's default."
    )
    let username = Setting<String?>.string(
        "username", required: true, doc: "Service account with full access to the mailboxes, e.g. EXAMPLE\\svc-sync.")
    let password = Setting<Secret?>.secret("password", doc: "Service account password: ${ENV_VAR} or password_file.")
    let timezone = Setting<TimeZone>.timeZone(
        "timezone", default: "Europe/Berlin",
        doc: "The server's zone: all-day appointments and task dates are kept in it.")
    /// TLS trust, proxy and timeouts (`ca_file`, `insecure`, `proxy`, `connect_timeout`, `timeout`).
    let http = HTTPConnectionSettings()
    let maxConcurrency = Setting<Int>.integer(
        "max_concurrency", in: 1...32, default: 4, doc: "Parallel requests per Exchange server.")
    let pageSize = Setting<Int>.integer(
        "page_size", in: 10...5000, default: 500, doc: "Rows per SEARCH request (Range: rows=…).")
    let batchSize = Setting<Int>.integer(
        "batch_size", in: 1...500, default: 50, doc: "Items per write batch and per BPROPFIND.")
    let fullListing = Setting<Duration>.duration(
        "full_listing_interval", default: "6h", positive: true,
        doc: "How often a folder's item list is read in full to find deletions the item count did not show.")
}

/// A user's account on an `exchange-webdav` instance.
struct WebDAVAccountSettings {
    let mailbox = Setting<String?>.string(
        "mailbox", required: true,
        doc: "The mailbox: its alias (jdoe) or SMTP address, as /exchange/<mailbox>/ names it.")
    let url = Setting<String?>.url(
        "url", doc: "The /exchange/ URL of this mailbox's server, when it is not the instance's 'url'.")
}

/// A connector's `source_options:` (or `target_options:`) for an `exchange-webdav` endpoint.
struct WebDAVEndpointOptions {
    let mailFolder = Setting<String>.oneOf(
        "mail_folder", ["inbox", "sentitems"], default: "inbox",
        doc: "For mail connectors: the folder whose mails are imported (received: inbox; sent: sentitems).")
    let mailWindow = Setting<Duration>.duration(
        "mail_window", default: "30d",
        doc: "For mail connectors: mails received longer ago are not imported (0s imports all).")
}
