import ConnectorAPI
import Foundation
import HTTPAdapterSupport

/// The settings of a `caldav` instance, each declared once (spec, default and reading).
struct CalDAVSettings {
    let username = Setting<String?>.string(
        "username",
        doc: "Service login for every user's collections (a user's own 'username' and 'password' take precedence).")
    let password = Setting<Secret?>.secret(
        "password", doc: "The service login's password: ${ENV_VAR} or password_file.")
    let auth = Setting<String>.oneOf(
        "auth", ["basic", "digest"], default: "basic",
        doc:
            "HTTP authentication: 'basic' (the password in every request; use HTTPS) or 'digest' (RFC 7616, the server's challenge answered with a hash; each request takes a second round trip)."
    )
    let timezone = Setting<TimeZone>.timeZone(
        "timezone", default: "Europe/Berlin",
        doc: "The zone floating times and task dates are read in.")
    let vcardVersion = Setting<String>.oneOf(
        "vcard_version", ["3.0", "4.0"], default: "3.0", doc: "The vCard version written to address books.")
    /// TLS trust, proxy and timeouts (`ca_file`, `insecure`, `proxy`, `connect_timeout`, `timeout`).
    let http = HTTPConnectionSettings()
    let maxConcurrency = Setting<Int>.integer(
        "max_concurrency", in: 1...32, default: 4, doc: "Parallel requests per instance.")
    let batchSize = Setting<Int>.integer(
        "batch_size", in: 1...500, default: 50,
        doc: "Items per write batch and per calendar-multiget/addressbook-multiget.")
}

/// A user's account on a `caldav` instance: where the collections are and, optionally, the
/// user's own credentials.
struct CalDAVAccountSettings {
    let url = Setting<String?>.url(
        "url", required: true,
        doc:
            "The user's collection, principal or home URL: a collection of the connector's kind is used as it is, else the principal's calendar-home-set/addressbook-home-set is searched for one."
    )
    let calendar = Setting<String?>.url(
        "calendar", doc: "The calendar collection for appointments, when not found from 'url'.")
    let tasks = Setting<String?>.url(
        "tasks", doc: "The calendar collection for tasks (VTODO), when not found from 'url'.")
    let addressbook = Setting<String?>.url(
        "addressbook", doc: "The address book collection for addresses, when not found from 'url'.")
    let username = Setting<String?>.string("username", doc: "The user's own login, instead of the service login.")
    let password = Setting<Secret?>.secret("password", doc: "The user's password: ${ENV_VAR} or password_file.")
}
