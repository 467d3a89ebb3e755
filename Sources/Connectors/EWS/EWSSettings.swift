import ConnectorAPI
import Foundation
import HTTPAdapterSupport

/// The settings of an `ews` instance, each declared once (spec, default and reading).
struct EWSSettings {
    let url = Setting<String?>.url(
        "url", required: true, doc: "EWS endpoint, e.g. https://mail.example.com/EWS/Exchange.asmx.")
    let autodiscoverURL = Setting<String?>.url(
        "autodiscover_url",
        doc:
            "Autodiscover endpoint (https://autodiscover.example.com/autodiscover/autodiscover.xml): each mailbox's EWS URL is asked there, 'url' is the fallback."
    )
    let auth = Setting<String>.oneOf(
        "auth", ["ntlm", "basic", "negotiate", "forms"], default: "ntlm",
        doc:
            "How the service account signs in: HTTP authentication, or 'forms' for EWS published behind Outlook Web Access's forms login (OWA, ISA/TMG)."
    )
    let formsLoginURL = Setting<String?>.url(
        "forms_login_url",
        doc:
            "With 'auth: forms': where the login form is posted; default https://<server of url>/owa/auth/owaauth.dll (Exchange 2003: /exchweb/bin/auth/owaauth.dll)."
    )
    let username = Setting<String?>.string(
        "username", required: true, doc: "Service account, e.g. EXAMPLE\\svc-sync or svc-sync@example.com.")
    let password = Setting<Secret?>.secret("password", doc: "Service account password: ${ENV_VAR} or password_file.")
    let access = Setting<String>.oneOf(
        "access", EWSAccess.allCases.map(\.rawValue), default: EWSAccess.impersonation.rawValue,
        doc: "How the account reaches the mailboxes.")
    let version = Setting<String>.oneOf(
        "version", ["Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2016"],
        default: "Exchange2010_SP2", doc: "RequestServerVersion sent with every request.")
    let timezone = Setting<TimeZone>.timeZone(
        "timezone", default: "Europe/Berlin", doc: "Zone for all-day events and task dates.")
    /// TLS trust, proxy and timeouts (`ca_file`, `insecure`, `proxy`, `connect_timeout`, `timeout`).
    let http = HTTPConnectionSettings()
    let maxConcurrency = Setting<Int>.integer(
        "max_concurrency", in: 1...64, default: 8, doc: "Parallel requests per Exchange server.")
    let batchSize = Setting<Int>.integer(
        "batch_size", in: 1...500, default: 50, doc: "Items per CreateItem/UpdateItem/DeleteItem.")
    let readBatchSize = Setting<Int>.integer("read_batch_size", in: 1...500, default: 100, doc: "Items per GetItem.")
    let parallelBatches = Setting<Int>.integer(
        "parallel_batches", in: 1...16, default: 4,
        doc: "Write batches one mailbox folder may have in flight at once (within max_concurrency).")
    let deleteType = Setting<String>.oneOf(
        "delete_type", ["MoveToDeletedItems", "SoftDelete", "HardDelete"], default: "MoveToDeletedItems",
        doc: "How deletions are made (MoveToDeletedItems keeps them recoverable).")
}

/// A user's account on an `ews` instance.
struct EWSAccountSettings {
    let mailbox = Setting<String?>.string("mailbox", required: true, doc: "The mailbox's primary SMTP address.")
    let url = Setting<String?>.url(
        "url",
        doc:
            "EWS URL of this mailbox's server, when it is not the instance's 'url' (another Exchange server; no Autodiscover)."
    )
}

/// A connector's `target_options:` (or `source_options:`) for an `ews` endpoint.
struct EWSEndpointOptions {
    let folder = Setting<String?>.string(
        "folder", doc: "A subfolder of the kind's default folder to sync instead (created on demand).")
    let mailFolder = Setting<String>.oneOf(
        "mail_folder", ["inbox", "sentitems"], default: "inbox",
        doc:
            "For mail connectors: the folder of received (inbox) or sent (sentitems) mails; pair it with the FlowFact side's 'mail: incoming' or 'mail: outgoing'."
    )
    let mailWindow = Setting<Duration>.duration(
        "mail_window", default: "30d",
        doc: "For mail connectors: mails received longer ago are not imported (0s imports all).")
}
