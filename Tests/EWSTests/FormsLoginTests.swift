import ConnectorAPI
import ConnectorHost
import Connectors
import ExchangeSim
import Foundation
import Logging
import TestSupport
import Testing

/// curl with a cookie jar against the simulator: status, response headers and body.
func curlForms(_ arguments: [String], jar: URL) throws -> (status: Int, headers: String, body: String) {
    try runCurl(["-b", jar.path, "-c", jar.path] + arguments)
}

@Suite("Forms-based login (Outlook Web Access in front of EWS)", .serialized)
struct FormsLoginTests {
    var quietLogger: Logger { .quiet }

    func soap(_ url: String) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("soap-\(UUID().uuidString).xml")
        try getFolder.write(to: file)
        return ["-H", "Content-Type: text/xml; charset=utf-8", "--data-binary", "@\(file.path)", url]
    }

    @Test("the simulator's 2003 form: a session cookie after the login, 440 without it, reason=2 for a wrong password")
    func simulator2003() async throws {
        let f = try await ServiceFixture(addresses: 0, appointments: 0, tasks: 0) { $0.auth = .forms2003 }
        defer { Task { await f.server.stop() } }
        let origin = f.server.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "")
        let jar = f.directory.appendingPathComponent("jar")
        // No session: 440 Login Timeout for the protocol, the logon page for a browser.
        #expect(try curlForms(try soap(f.server.url), jar: jar).status == 440)
        let page = try curlForms(["\(origin)/exchweb/bin/auth/owalogon.asp"], jar: jar)
        #expect(page.status == 200 && page.body.contains("owaauth.dll"))
        // A wrong password goes back to the logon page with reason=2 and no session.
        let refused = try curlForms(
            [
                "--data", "destination=x&username=EXAMPLE%5Csvc%40example.test&password=wrong",
                "\(origin)/exchweb/bin/auth/owaauth.dll",
            ], jar: jar)
        #expect(refused.status == 302)
        #expect(refused.headers.contains("reason=2"))
        #expect(!refused.headers.lowercased().contains("cadata"))
        // The right one: 302 with sessionid and cadata, and EWS answers with them.
        let login = try curlForms(
            [
                "--data", "destination=\(f.server.url)&username=svc%40example.test&password=right",
                "\(origin)/exchweb/bin/auth/owaauth.dll",
            ], jar: jar)
        #expect(login.status == 302, "\(login.headers)")
        #expect(login.headers.contains("sessionid=") && login.headers.contains("cadata="))
        let ews = try curlForms(try soap(f.server.url), jar: jar)
        #expect(ews.status == 200, "\(ews.body)")
        #expect(ews.body.contains("t:ContactsFolder"))
    }

    @Test("ews with auth: forms signs in once for all mailboxes and requests, and syncs")
    func adapterSignsIn() async throws {
        let f = try await ServiceFixture(addresses: 3, appointments: 0, tasks: 0) { $0.auth = .forms2007 }
        defer { Task { await f.server.stop() } }
        let yaml = f.yaml()
        #expect(yaml.contains("auth: forms"))
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: quietLogger)
        let reports = await host.syncOnce()
        await host.shutdown()
        #expect(reports.allSatisfy { $0.status == .ok }, "\(reports.map { $0.message ?? "" })")
        #expect(reports.count == 2)
        // One session for the server: both mailboxes' jobs and all their requests share one login.
        #expect(f.server.service.counts["formsLogin"] == 1)
        #expect(f.server.service.counts["formsLoginTimeout", default: 0] == 0)
        #expect(try await f.exchangeContacts("mm@example.test").count == 6)
        #expect(try await f.exchangeContacts("js@example.test").count == 6)
    }

    @Test("a session that expires mid-run is renewed by one login and the request sent again; nothing is lost")
    func expiryMidRun() async throws {
        // Sessions of 6 requests; writes one batch at a time make the runs several sessions long.
        // (Sessions of 400 ms failed on a loaded machine: the first request after a login arrived
        // after its session had ended, twice, which reads as a refused login.)
        let f = try await ServiceFixture(addresses: 40, appointments: 0, tasks: 0) {
            $0.auth = .forms2007
            $0.formsSessionRequests = 6
        }
        defer { Task { await f.server.stop() } }
        let yaml = f.yaml(batch: 5).replacingOccurrences(
            of: "batch_size: 5", with: "batch_size: 5, parallel_batches: 1")
        #expect(yaml.contains("parallel_batches: 1"))
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: quietLogger)
        let reports = await host.syncOnce()
        let again = await host.syncOnce()
        await host.shutdown()
        #expect(reports.allSatisfy { $0.status == .ok }, "\(reports.map { $0.message ?? "" })")
        #expect(again.allSatisfy { $0.status == .ok && $0.counts.isEmpty }, "\(again.map(\.counts))")
        // Counted before the check below signs in with a session of its own.
        let logins = f.server.service.counts["formsLogin", default: 0]
        let timeouts = f.server.service.counts["formsLoginTimeout", default: 0]
        #expect(timeouts > 0, "the session expired during the runs")
        // A login per expiry that requests met, shared by the requests in flight: never a loop.
        #expect(logins >= 2 && logins <= timeouts + 1, "logins \(logins), timeouts \(timeouts)")
        #expect(try await f.exchangeContacts("mm@example.test").count == 80)
    }

    @Test(
        "a wrong password is named with the user and login URL, never shown, tried at most twice per request",
        arguments: [SimOptions.Auth.forms2003, .forms2007])
    func wrongPassword(_ flavor: SimOptions.Auth) async throws {
        let f = try await ServiceFixture(addresses: 1, appointments: 0, tasks: 0) { $0.auth = flavor }
        defer { Task { await f.server.stop() } }
        let login = flavor == .forms2003 ? "/exchweb/bin/auth/owaauth.dll" : "/owa/auth/owaauth.dll"
        let origin = f.server.url.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "")
        let yaml = f.yaml(users: "  - { id: MM, flowfact: MM, exchange: mm@example.test }")
            .replacingOccurrences(of: "auth: forms", with: "auth: forms, forms_login_url: \"\(origin)\(login)\"")
            .replacingOccurrences(of: "password: right", with: "password: Wr0ng-Passw0rd")
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: quietLogger)
        let report = try #require(await host.syncOnce().first)
        let refusedLogins = f.server.service.counts["formsLoginRefused", default: 0]
        // `check` names it the same way.
        let checks = await host.check(account: nil)
        await host.shutdown()
        let failed = checks.filter { !$0.ok }.map(\.message).joined(separator: " | ")
        #expect(failed.contains("\(origin)\(login)"), "\(failed)")
        #expect(report.status == .failed)
        let message = report.message ?? ""
        #expect(message.contains("svc@example.test") && message.contains("\(origin)\(login)"), "\(message)")
        #expect(
            message.contains(flavor == .forms2003 ? "refused user" : "sign in again right after the forms login"),
            "\(message)")
        #expect(!message.contains("Wr0ng-Passw0rd"))
        #expect(f.server.service.counts["formsLogin", default: 0] == 0)
        // 2003 refuses at the form; 2007 takes it and the next request shows it (a second try, no more).
        #expect(refusedLogins == (flavor == .forms2003 ? 0 : 2))
    }

    @Test("auth: forms against a server without a login form says where it looked")
    func noForm() async throws {
        let f = try await ServiceFixture(addresses: 1, appointments: 0, tasks: 0)
        defer { Task { await f.server.stop() } }
        let yaml = f.yaml(users: "  - { id: MM, flowfact: MM, exchange: mm@example.test }")
            .replacingOccurrences(of: "auth: basic", with: "auth: forms")
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: quietLogger)
        let report = try #require(await host.syncOnce().first)
        await host.shutdown()
        #expect(report.status == .failed)
        #expect(report.message?.contains("no forms login at") == true, "\(report.message ?? "")")
        #expect(report.message?.contains("/owa/auth/owaauth.dll (HTTP 404)") == true)
    }
}
