import ConnectorAPI
import Connectors
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import ConnectorHost

/// The operator's console over real HTTP on loopback (curl as the client): pages, actions,
/// CSRF, credentials, read-only mode and the language.
@Suite("Operator's console over HTTP")
struct ConsoleTests {
    @Test(
        "the overview lists every account with its connector, state, counts and a sync button; /metrics and /health stay"
    )
    func overview() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        try await f.seed()
        let page = try await f.curl("/")
        #expect(page.status == 200)
        #expect(page.headers.lowercased().contains("content-type: text/html; charset=utf-8"))
        #expect(page.body.contains("mm-\(f.id)@example.test") && page.body.contains("js-\(f.id)@example.test"))
        #expect(page.body.contains("contacts"))
        #expect(page.body.contains("crm ↔ mail"))
        // One open conflict and one dead letter for MM, linked to the account page.
        #expect(page.body.contains("#conflicts\">1</a>"), "\(page.body)")
        #expect(page.body.contains("#dead-letters\">1</a>"))
        #expect(page.body.contains("Sync now"))
        #expect(page.headers.contains("Set-Cookie: connector_console="))
        #expect(page.headers.contains("Content-Security-Policy: default-src 'self'"))
        #expect(try await f.curl("/metrics").status == 200)
        let health = try await f.curl("/health")
        #expect(health.status == 200 && health.body.contains("\"status\":\"ok\""))
        #expect(try await f.curl("/nothing-here").status == 404)
    }

    @Test("the account page names the conflict's record, the dead letter's item and cause; markup in names is escaped")
    func accountPage() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        try await f.seed()
        let page = try await f.curl("/accounts/mail/mm-\(f.id)%40example.test")
        #expect(page.status == 200)
        #expect(page.body.contains("Anna Schäfer"))
        #expect(page.body.contains("Bruno &lt;Bad&gt;"), "names are escaped")
        #expect(!page.body.contains("Bruno <Bad>"))
        #expect(page.body.contains("the mailbox refused the item"))
        #expect(page.body.contains("create crm → mail"))
        #expect(page.body.contains("Retry"))
        #expect(page.body.contains("Recent runs"))
        #expect(try await f.curl("/accounts/mail/nobody%40example.test").status == 404)
    }

    @Test("the conflict page shows both versions side by side with the differing field marked")
    func conflictPage() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        try await f.seed()
        let conflict = try #require(try f.host.store.conflictEntries().first)
        let page = try await f.curl("/conflicts/\(conflict.record.id)")
        #expect(page.status == 200)
        #expect(page.body.contains("Conflict: Anna Schäfer"))
        #expect(page.body.contains("crm&#39;s version") && page.body.contains("mail&#39;s version"))
        let notes = try #require(page.body.range(of: "<tr class=\"differs\"><td class=\"field\" title=\"notes\">"))
        let row = page.body[notes.lowerBound...].prefix(300)
        #expect(row.contains("aus FlowFact") && row.contains("aus Outlook"), "\(row)")
        #expect(page.body.contains("<tr><td class=\"field\" title=\"givenName\">"), "an equal field is not marked")
        #expect(page.body.contains("Take crm&#39;s version") && page.body.contains("Take mail&#39;s version"))
        #expect(page.body.contains("Skip: keep both as they are"))
    }

    @Test("a POST without the CSRF token, with a wrong one, without the session, or from another site is refused (403)")
    func csrf() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        try await f.seed()
        let conflict = try #require(try f.host.store.conflictEntries().first)
        let path = "/conflicts/\(conflict.record.id)/resolve"
        let token = try #require(ConsoleFixture.csrf(in: try await f.curl("/conflicts/\(conflict.record.id)").body))
        #expect(try await f.curl(path, ["-d", "take=source"]).status == 403)
        #expect(try await f.curl(path, ["-d", "take=source&csrf=\(String(repeating: "0", count: 64))"]).status == 403)
        // The token alone, without the session cookie it belongs to.
        #expect(try await f.curl(path, ["-d", "take=source&csrf=\(token)"], jar: false).status == 403)
        #expect(
            try await f.curl(path, ["-d", "take=source&csrf=\(token)", "-H", "Origin: http://evil.example"]).status
                == 403)
        #expect(try await f.curl(path, ["-d", "take=source&csrf=\(token)", "-H", "Origin: null"]).status == 403)
        #expect(try f.host.store.conflictEntry(id: conflict.record.id)?.record.decision == nil)
        // With the session and its token it goes through.
        let accepted = try await f.curl(path, ["-d", "take=source&csrf=\(token)", "-H", "Origin: \(f.url)"])
        #expect(accepted.status == 303)
        #expect(accepted.headers.contains("Location: /conflicts/\(conflict.record.id)"))
        #expect(try f.host.store.conflictEntry(id: conflict.record.id)?.record.decision == "source")
        #expect(await f.scheduler.requested.contains(conflict.job), "the job is asked to run now")
    }

    @Test("actions: resolve is applied by the job's run, retry puts the dead letter back, enable re-enables, sync now")
    func actions() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        try await f.seed()
        let mail = try f.contacts("mail", user: "MM")
        let conflict = try #require(try f.host.store.conflictEntries().first)
        let token = try #require(ConsoleFixture.csrf(in: try await f.curl("/").body))

        let resolved = try await f.curl(
            "/conflicts/\(conflict.record.id)/resolve", ["-d", "take=source&csrf=\(token)"])
        #expect(resolved.status == 303)
        let page = try await f.curl("/conflicts/\(conflict.record.id)")
        #expect(page.body.contains("Decided: Take crm&#39;s version"), "\(page.body)")
        _ = await f.host.syncOnce(user: "MM")  // what the scheduler's run does
        #expect(mail.items(named: "Anna Schäfer").first.map { "\($0.record)".contains("aus FlowFact") } == true)
        #expect(try await f.curl("/conflicts/\(conflict.record.id)").body.contains("This conflict is settled."))

        let dead = try #require(try f.host.store.deadLetters().first)
        #expect(dead.failure.name == "Bruno <Bad>")
        let retried = try await f.curl("/dead-letters/\(dead.id)/retry", ["-d", "csrf=\(token)"])
        #expect(retried.status == 303)
        #expect(try f.host.store.deadLetters().isEmpty)
        #expect(try f.host.store.deadLetters(includeRetrying: true).count == 1)

        let account = Account(adapter: "mail", name: "js-\(f.id)@example.test")
        try f.host.store.recordFailure(
            account, reason: "HTTP 401: the password was refused", permanent: true, disableAfter: 1)
        let overview = try await f.curl("/").body
        #expect(overview.contains("HTTP 401: the password was refused"))
        #expect(overview.contains("/accounts/mail/js-\(f.id)@example.test/enable"))
        let enabled = try await f.curl(
            "/accounts/mail/js-\(f.id)%40example.test/enable", ["-d", "csrf=\(token)&return=/"])
        #expect(enabled.status == 303 && enabled.headers.contains("Location: /\r"))
        #expect(try f.host.store.accountState(account).status == .enabled)
        #expect(await f.scheduler.requested.contains(JobKey(connector: "contacts", user: "JS")))

        #expect(try await f.curl("/jobs/contacts/MM/run", ["-d", "csrf=\(token)"]).status == 303)
        #expect(await f.scheduler.requested.contains(JobKey(connector: "contacts", user: "MM")))
        #expect(try await f.curl("/jobs/contacts/NOBODY/run", ["-d", "csrf=\(token)"]).status == 404)
        // A return path to another site is not followed.
        let elsewhere = try await f.curl("/jobs/contacts/MM/run", ["-d", "csrf=\(token)&return=//evil.example/"])
        #expect(elsewhere.headers.contains("Location: /\r"))
    }

    @Test("with a credential configured every console request needs it (Basic or Bearer); /metrics and /health do not")
    func credential() async throws {
        let token = "s3cret-console-token-0123"
        let f = try ConsoleFixture(console: "token: \(token)")
        try await f.start()
        let refused = try await f.curl("/")
        #expect(refused.status == 401)
        #expect(refused.headers.contains("WWW-Authenticate: Basic realm=\"connector-host console\""))
        #expect(!refused.body.contains(token))
        #expect(try await f.curl("/", ["-u", "admin:wrong-token-000000000"]).status == 401)
        #expect(try await f.curl("/", ["-u", "admin:\(token)"]).status == 200)
        #expect(try await f.curl("/", ["-H", "Authorization: Bearer \(token)"]).status == 200)
        #expect(
            try await f.curl("/jobs/contacts/MM/run", ["-X", "POST"]).status == 401, "checked before anything else")
        #expect(try await f.curl("/metrics").status == 200)
        #expect(try await f.curl("/health").status == 200)
    }

    @Test("on an address beyond loopback the token is required from every peer (bound to 0.0.0.0, asked on 127.0.0.1)")
    func credentialWhenExposed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "console-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("console.token")
        try "0123456789abcdef0123\n".write(to: file, atomically: true, encoding: .utf8)
        let f = try ConsoleFixture(console: "token_file: \(file.path)", address: "0.0.0.0:0")
        try await f.start()
        #expect(try await f.curl("/").status == 401)
        #expect(try await f.curl("/", ["-u", "it:0123456789abcdef0123"]).status == 200)
    }

    @Test("read-only: pages show no action and a POST with a valid token is refused")
    func readOnly() async throws {
        let f = try ConsoleFixture(console: "read_only: true")
        try await f.start()
        try await f.seed()
        let overview = try await f.curl("/")
        #expect(overview.body.contains("Read-only"))
        #expect(!overview.body.contains("<form"))
        let conflict = try #require(try f.host.store.conflictEntries().first)
        let page = try await f.curl("/conflicts/\(conflict.record.id)")
        #expect(!page.body.contains("<form") && page.body.contains("aus Outlook"))
        let refused = try await f.curl("/conflicts/\(conflict.record.id)/resolve", ["-d", "take=source"])
        #expect(refused.status == 403 && refused.body.contains("read-only"))
        #expect(try f.host.store.conflictEntry(id: conflict.record.id)?.record.decision == nil)
    }

    @Test("German or English by the browser's Accept-Language, by weight; English when neither is asked for")
    func language() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        let german = try await f.curl("/", ["-H", "Accept-Language: de-DE,de;q=0.9,en;q=0.8"]).body
        #expect(
            german.contains("<html lang=\"de\">") && german.contains("Übersicht") && german.contains("Jetzt abgleichen")
        )
        let english = try await f.curl("/", ["-H", "Accept-Language: en-US,en;q=0.9"]).body
        #expect(english.contains("<html lang=\"en\">") && english.contains("Overview"))
        #expect(
            try await f.curl("/", ["-H", "Accept-Language: fr-CH, en;q=0.2, de;q=0.5"]).body.contains("lang=\"de\""))
        #expect(try await f.curl("/", ["-H", "Accept-Language: fr"]).body.contains("lang=\"en\""))
        #expect(ConsoleLanguage.preferred("de;q=0, en") == .en)
    }

    @Test("the live part of a page alone, marked while a run is in progress")
    func live() async throws {
        let f = try ConsoleFixture()
        try await f.start()
        let fragment = try await f.curl("/?live=1").body
        #expect(fragment.hasPrefix("<div id=\"live\" data-src=\"/?live=1\">"), "\(fragment.prefix(200))")
        #expect(!fragment.contains("<html"))
        f.host.progress.started(JobKey(connector: "contacts", user: "MM"))
        f.host.progress.wrote(JobKey(connector: "contacts", user: "MM"), 40)
        f.host.progress.planned(JobKey(connector: "contacts", user: "MM"), 100)
        let running = try await f.curl("/?live=1").body
        #expect(running.contains("data-running=\"1\""))
        #expect(running.contains("40 of 100 items written"))
        #expect(running.range(of: "running for [0-9]+ s", options: .regularExpression) != nil, "\(running)")
        #expect(try await f.curl("/console.js").body.contains("data-running"))
    }

    @Test("a run's writes are counted batch by batch on the host's progress board while it runs")
    func progressBoard() async throws {
        let f = try ConsoleFixture(batch: 2)
        let crm = try f.contacts("crm", user: "MM")
        for index in 1...6 { crm.insert(.address(Address(givenName: "Person", familyName: "Nr. \(index)"))) }
        let seen = Mutex<[Int]>([])
        let job = JobKey(connector: "contacts", user: "MM")
        var faults = try f.contacts("mail", user: "MM").faults
        faults.beforeApply = { _ in seen.withLock { $0.append(f.host.progress.snapshot()[job]?.written ?? -1) } }
        try f.contacts("mail", user: "MM").faults = faults
        let report = try #require(await f.host.syncOnce(user: "MM").first)
        #expect(report.counts["source→target create"] == 6)
        #expect(seen.withLock { $0 } == [0, 2, 4])
        #expect(f.host.progress.snapshot().isEmpty, "gone when the run ends")
    }
}
