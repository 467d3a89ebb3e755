import ConnectorAPI
import Connectors
import EndpointConformance
import Foundation
import HTTP
import TestSupport
import Testing

@testable import CalDAVConnector

/// Radicale behind lighttpd asking for HTTP Digest (two servers no one here wrote): lighttpd's
/// `mod_auth` checks the Digest response against an `htdigest` file and passes the request on to
/// Radicale with the user in `X-Remote-User` (Radicale's `http_x_remote_user`), so the collections
/// belong to the Digest user. `jdoe` has a calendar of events, one of tasks and an address book;
/// the `caldav` adapter signs in with `auth: digest`.
final class DigestDAVSubject: StoppableConformanceSubject, @unchecked Sendable {
    static let user = "jdoe"
    static let password = "geheim-Digest"
    let radicale: RadicaleServer
    let proxy: LighttpdDigestProxy
    let adapter: any Adapter
    let account: [String: String]
    var kinds: [DataKind] { [.address, .calendar, .task] }

    /// `algorithm`: the hash lighttpd's challenge asks for.
    init(algorithm: LighttpdDigestProxy.Algorithm = .md5, settings extra: [String: SettingValue] = [:]) throws {
        radicale = try RadicaleServer(users: [:], authentication: .remoteUserHeader)
        do {
            try radicale.makeCalendar(
                "/jdoe/calendar/", user: Self.user, password: Self.password, components: ["VEVENT"])
            try radicale.makeCalendar("/jdoe/tasks/", user: Self.user, password: Self.password, components: ["VTODO"])
            try radicale.makeAddressBook("/jdoe/contacts/", user: Self.user, password: Self.password)
            proxy = try LighttpdDigestProxy(
                backend: radicale.baseURL, users: [Self.user: Self.password], algorithm: algorithm)
        } catch {
            radicale.stop()
            throw error
        }
        account = ["url": proxy.baseURL + "/jdoe/"]
        do {
            adapter = try Self.make(extra)
        } catch {
            proxy.stop()
            radicale.stop()
            throw error
        }
    }

    /// A `caldav` adapter with the service login `jdoe` and `auth: digest` unless `extra` says otherwise.
    static func make(_ extra: [String: SettingValue] = [:]) throws -> any Adapter {
        try CalDAVAdapter.type.make(
            Settings(
                [
                    "username": .string(user), "password": .secret(Secret(password)), "auth": .string("digest"),
                    "batch_size": .integer(5), "timezone": .string("Europe/Berlin"),
                ].merging(extra) { $1 }),
            AdapterContext(instanceName: "groupware", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
    }

    func scope(_ kind: DataKind) -> EndpointScope {
        EndpointScope(
            connector: "digest", kind: kind, role: .target, user: "JD",
            account: CalDAVAdapter.type.account(on: "groupware", account))
    }

    func endpoint(_ kind: DataKind) async throws -> any SyncEndpoint { try await adapter.endpoint(for: scope(kind)) }

    /// Deletes the item as another client would: curl with Digest through the proxy.
    func removeBehind(_ kind: DataKind, id: ItemID) async throws {
        let result = try runCurl(
            ["-X", "DELETE"] + LighttpdDigestProxy.login(user: Self.user, password: Self.password) + [
                proxy.baseURL + id
            ])
        guard result.status == 200 || result.status == 204 else {
            throw ConformanceFailure(check: "setup", message: "DELETE \(id): HTTP \(result.status)")
        }
    }

    func fields(_ kind: DataKind) -> Set<String> {
        CalDAVAdapter.type.capabilities(Settings()).fields[kind] ?? Set(RecordFields.names(for: kind))
    }

    func stop() async {
        await adapter.shutdown()
        proxy.stop()
        radicale.stop()
    }
}

/// Runs `body` on a fresh subject and stops it afterwards, also when `body` throws.
func withDigestSubject(
    algorithm: LighttpdDigestProxy.Algorithm = .md5, _ body: (DigestDAVSubject) async throws -> Void
) async throws {
    try await DigestDAVSubject(algorithm: algorithm).using(body)
}

@Suite("Conformance: caldav with Digest against Radicale behind lighttpd", .serialized)
struct CalDAVDigestConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        try await withDigestSubject { subject in try await check.run(on: subject) }
    }

    @Test("Every request lighttpd passes on to Radicale carries a valid Digest response for jdoe")
    func everyRequestSignedIn() async throws {
        try await withDigestSubject { subject in
            for check in [ConformanceCheck.createAndRead, .updateWithVersionCheck, .delete, .changeFeed] {
                try await check.run(on: subject)
            }
            let requests = try subject.proxy.requests()
            let signedIn = requests.filter { $0.user == DigestDAVSubject.user }
            let challenges = requests.filter { $0.status == 401 }
            #expect(signedIn.contains { (200..<300).contains($0.status) })
            #expect(Set(signedIn.map(\.method)).isSuperset(of: ["PROPFIND", "REPORT", "PUT", "DELETE"]))
            #expect(!challenges.isEmpty && challenges.allSatisfy { $0.user == "-" })
            #expect(requests.allSatisfy { $0.status == 401 || $0.user == DigestDAVSubject.user }, "\(requests)")
            // libcurl probes with an empty body and sends the body once, with the Digest response.
            let probes = challenges.filter { ["PUT", "REPORT", "PROPFIND"].contains($0.method) }
            let probesWithBody = probes.filter { ($0.contentLength ?? 0) > 0 }.count
            print(
                "digest: \(signedIn.count) requests signed in, \(challenges.count) challenges, "
                    + "\(probesWithBody) of \(probes.count) challenged PUT/REPORT/PROPFIND legs carried a body")
        }
    }

    @Test("Digest with SHA-256 (RFC 7616) carries the same create, read and change feed")
    func sha256() async throws {
        try await withDigestSubject(algorithm: .sha256) { subject in
            for check in [ConformanceCheck.createAndRead, .changeFeed] { try await check.run(on: subject) }
            #expect(try subject.proxy.requests().contains { $0.user == "jdoe" && (200..<300).contains($0.status) })
        }
    }
}

@Suite("caldav with Digest: errors and the HTTP client", .serialized)
struct CalDAVDigestTests {
    /// The error of a full read of the calendar through `adapter`, or nil when it succeeded; and
    /// how long it took.
    func failedRead(_ adapter: any Adapter, _ subject: DigestDAVSubject) async throws -> (CalDAVError?, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await adapter.endpoint(for: subject.scope(.calendar)).changes(
                ChangeRequest(cursor: nil, known: [:]))
            return (nil, clock.now - start)
        } catch let error as CalDAVError {
            return (error, clock.now - start)
        }
    }

    @Test("A wrong Digest password is a permanent 401 naming the user and the URL, without the password")
    func wrongPassword() async throws {
        try await withDigestSubject { subject in
            let wrong = "falsch-\(UUID().uuidString.prefix(8))"
            let adapter = try DigestDAVSubject.make(["password": .secret(Secret(wrong))])
            let (error, elapsed) = try await failedRead(adapter, subject)
            let failure = try #require(error, "a wrong password was accepted")
            #expect(failure.isPermanent)
            #expect(failure.status == 401)
            let text = "\(failure)"
            #expect(text.contains("jdoe") && text.contains("PROPFIND") && text.contains(subject.proxy.baseURL))
            #expect(text.contains("refused the credentials") && text.contains("Digest realm=\"CalDAV\""), "\(text)")
            #expect(!text.contains(wrong) && !text.contains(DigestDAVSubject.password), "\(text)")
            #expect(!text.contains("nonce"), "\(text)")
            // Refused at once, not retried until some limit (generous: the full suite loads 2 cores).
            #expect(elapsed < .seconds(60))
            // lighttpd checked the Digest response and found the password wrong.
            #expect(subject.proxy.errorLog.contains("auth failed for jdoe: wrong password"))
            #expect(try !subject.proxy.requests().contains { $0.user == "jdoe" })
            let checks = await (adapter as? CalDAVAdapter)?.check(for: subject.scope(.calendar)) ?? []
            #expect(checks.count == 1 && checks.first?.ok == false)
            #expect(checks.allSatisfy { !$0.message.contains(wrong) })
            await adapter.shutdown()
        }
    }

    @Test("auth: basic against a Digest-only server is a permanent 401 that says to set 'auth: digest'")
    func basicAgainstDigest() async throws {
        try await withDigestSubject { subject in
            let adapter = try DigestDAVSubject.make(["auth": .string("basic")])
            let (error, elapsed) = try await failedRead(adapter, subject)
            let failure = try #require(error, "Basic was let through a Digest-only server")
            #expect(failure.isPermanent)
            #expect(failure.status == 401)
            let text = "\(failure)"
            #expect(text.contains("'basic'") && text.contains("set 'auth: digest'"), "\(text)")
            #expect(text.contains("jdoe") && text.contains(subject.proxy.baseURL))
            #expect(!text.contains(DigestDAVSubject.password))
            #expect(elapsed < .seconds(10), "took \(elapsed)")
            #expect(try !subject.proxy.requests().contains { $0.user == "jdoe" })
            await adapter.shutdown()
        }
    }

    @Test("auth: digest against a Basic-only server (Radicale's own login) says to set 'auth: basic'")
    func digestAgainstBasic() async throws {
        let radicale = try RadicaleServer(users: ["jdoe": "geheim"])
        defer { radicale.stop() }
        let adapter = try CalDAVAdapter.type.make(
            Settings([
                "username": .string("jdoe"), "password": .secret(Secret("geheim")), "auth": .string("digest"),
            ]),
            AdapterContext(instanceName: "groupware", baseDirectory: URL(fileURLWithPath: "/"), log: { _, _ in }))
        let url = radicale.baseURL + "/jdoe/"
        let scope = EndpointScope(
            connector: "basic-only", kind: .calendar, role: .target, user: "JD",
            account: CalDAVAdapter.type.account(on: "groupware", ["url": url]))
        do {
            _ = try await adapter.endpoint(for: scope).changes(ChangeRequest(cursor: nil, known: [:]))
            Issue.record("Digest was accepted by a Basic-only server")
        } catch let error as CalDAVError {
            #expect(error.isPermanent && error.status == 401)
            #expect("\(error)".contains("set 'auth: basic'"), "\(error)")
            #expect(!"\(error)".contains("geheim"))
        }
        await adapter.shutdown()
    }

    @Test("The 'auth' setting takes basic and digest and nothing else")
    func authSetting() throws {
        let declared = CalDAVAdapter.settingsDeclared
        #expect(Settings()[declared.auth] == "basic")
        #expect(
            CalDAVAdapter.auth("digest", user: "u", password: "p") == .digest(user: "u", password: "p"))
        #expect(CalDAVAdapter.auth("basic", user: "u", password: "p") == .basic(user: "u", password: "p"))
        let spec = try #require(CalDAVAdapter.type.settings["auth"])
        #expect(spec.type == .oneOf(["basic", "digest"]))
        #expect(spec.defaultValue == "basic")
        #expect(spec.doc.contains("digest") && !spec.doc.contains("not supported"))
    }

    @Test("HTTPClient: a streamed PUT goes through the Digest challenge and arrives whole")
    func streamedBody() async throws {
        try await withDigestSubject { subject in
            let marker = UUID().uuidString
            // About 200 kB of NOTE, folded at 75 octets (RFC 6350).
            let note = String(repeating: "Grundriss \(marker) Lindenstraße 5 - 3. OG links. ", count: 3_000)
            var folded = ""
            var line = "NOTE:"
            for character in note {
                if line.utf8.count + character.utf8.count > 75 {
                    folded += line + "\r\n"
                    line = " "
                }
                line.append(character)
            }
            folded += line + "\r\n"
            let card = Data(
                ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:digest-\(marker)\r\nFN:Digest Test\r\nN:Test;Digest;;;\r\n" + folded
                    + "END:VCARD\r\n").utf8)
            let readers = ReaderCount()
            let base = try HTTPBodySource.concatenating([.data(card)])
            let stream = HTTPBodySource(length: base.length) {
                readers.increment()
                return try base.makeReader()
            }
            let url = subject.proxy.baseURL + "/jdoe/contacts/digest-\(marker).vcf"
            let client = HTTPClient()
            defer { client.shutdown() }
            let auth = HTTPAuth.digest(user: DigestDAVSubject.user, password: DigestDAVSubject.password)
            let put = try await client.send(
                HTTPRequest(
                    url: url, method: "PUT", headers: [("Content-Type", "text/vcard; charset=utf-8")],
                    bodyStream: stream, auth: auth))
            #expect(put.head.status == 201, "\(String(decoding: put.body, as: UTF8.self))")
            #expect(readers.value >= 1)
            let stored = try runCurl(
                LighttpdDigestProxy.login(user: "jdoe", password: DigestDAVSubject.password) + [url])
            #expect(stored.status == 200)
            let unfolded = stored.body.replacingOccurrences(of: "\r\n ", with: "").replacingOccurrences(
                of: "\n ", with: "")
            let whole = unfolded.contains(note)
            #expect(whole, "the NOTE did not arrive whole (\(stored.body.utf8.count) bytes back)")
            // A Data body (copied by libcurl) and a wrong password: an ordinary 401 response.
            let get = try await client.send(HTTPRequest(url: url, method: "GET", auth: auth))
            #expect(get.head.status == 200)
            let refused = try await client.send(
                HTTPRequest(url: url, method: "GET", auth: .digest(user: "jdoe", password: "nope")))
            #expect(refused.head.status == 401)
            #expect(refused.head.header("WWW-Authenticate")?.hasPrefix("Digest ") == true)
            let puts = try subject.proxy.requests().filter { $0.method == "PUT" }
            #expect(puts.map(\.status) == [401, 201], "\(puts)")
            #expect(puts.last?.contentLength == card.count)
            print("digest PUT legs: \(puts); streamed body readers made: \(readers.value)")
        }
    }
}

/// How many readers a streamed body made (one per send of the body).
final class ReaderCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
