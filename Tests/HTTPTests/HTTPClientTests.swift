import CCurl
import Foundation
import Testing

@testable import HTTP

/// Decoded `/echo` answer.
struct Echo: Decodable {
    var method: String
    var path: String
    var headers: [[String]]
    var body: String
    var connection: String

    func header(_ name: String) -> String? {
        headers.last { $0[0].caseInsensitiveCompare(name) == .orderedSame }?[1]
    }

    var bodyData: Data { Data(base64Encoded: body) ?? Data() }
}

/// Decoded `/conn` answer.
struct ConnectionInfo: Decodable {
    var connection: String
    var requests: Int
}

/// Decoded `/stats` answer.
struct SlowStats: Decodable {
    var current: Int
    var max: Int
    var total: Int
    /// Requests whose client hung up before the answer.
    var aborted: Int
}

/// The server's statistics of the `/slow` requests in `group`, fetched by a client of its own.
func slowStats(_ server: TestServer, group: String) async throws -> SlowStats {
    try decode(
        SlowStats.self,
        try await HTTPClient().send(HTTPRequest(url: server.url("/stats?group=\(group)"), method: "GET")))
}

/// Asks the server until `condition` holds for the group's statistics (at most `seconds`); the last answer.
func awaitSlowStats(
    _ server: TestServer, group: String, seconds: Double = 20, _ condition: @escaping @Sendable (SlowStats) -> Bool
) async throws -> SlowStats {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while true {
        let stats = try await slowStats(server, group: group)
        if condition(stats) || ContinuousClock.now >= deadline { return stats }
        try await Task.sleep(for: .milliseconds(50))
    }
}

func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) throws -> T {
    try JSONDecoder().decode(type, from: response.body)
}

/// Expects `body` to throw an `HTTPError` and returns it.
func httpError(_ body: () async throws -> some Any) async -> HTTPError? {
    do {
        _ = try await body()
        Issue.record("expected an HTTPError, got a response")
        return nil
    } catch let error as HTTPError {
        return error
    } catch {
        Issue.record("expected an HTTPError, got \(error)")
        return nil
    }
}

let password = "s3cret-pass"

@Suite("HTTP client over libcurl against a local Python server")
struct HTTPClientTests {
    @Test("POST body and headers round trip; GET sends no body; no Expect, no credentials with .none")
    func postRoundTrip() async throws {
        let server = try TestServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.userAgent = "connector-host-tests"
        let client = HTTPClient(configuration: configuration)
        let xml = "<?xml version=\"1.0\"?><soap:Envelope>Grüße 🏠 &amp; more</soap:Envelope>"
        let request = HTTPRequest(
            url: server.url("/echo?x=1"),
            headers: [("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", "\"FindItem\""), ("X-Empty", "")],
            body: Data(xml.utf8))
        let response = try await withDeadline(20) { try await client.send(request) }
        #expect(response.head.status == 200)
        #expect(response.head.header("content-type") == "application/json")
        let echo = try decode(Echo.self, response)
        #expect(echo.method == "POST")
        #expect(echo.path == "/echo?x=1")
        #expect(String(decoding: echo.bodyData, as: UTF8.self) == xml)
        #expect(echo.header("Content-Type") == "text/xml; charset=utf-8")
        #expect(echo.header("SOAPAction") == "\"FindItem\"")
        #expect(echo.header("X-Empty") == "")
        #expect(echo.header("Content-Length") == String(Data(xml.utf8).count))
        #expect(echo.header("User-Agent") == "connector-host-tests")
        #expect(echo.header("Expect") == nil)
        #expect(echo.header("Authorization") == nil)

        let get = try await withDeadline(20) {
            try await client.send(HTTPRequest(url: server.url("/echo"), method: "GET"))
        }
        let getEcho = try decode(Echo.self, get)
        #expect(getEcho.method == "GET")
        #expect(getEcho.body.isEmpty)
        #expect(getEcho.header("Content-Type") == nil)

        let put = try await withDeadline(20) {
            try await client.send(HTTPRequest(url: server.url("/echo"), method: "PUT", body: Data("x".utf8)))
        }
        #expect(try decode(Echo.self, put).method == "PUT")
        #expect(try decode(Echo.self, put).bodyData == Data("x".utf8))
    }

    @Test("Basic auth: right password 200, wrong password and no credentials are 401 responses")
    func basicAuth() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = HTTPClient()
        let good = try await withDeadline(20) {
            try await client.send(
                HTTPRequest(url: server.url("/basic"), auth: .basic(user: "alice", password: password)))
        }
        #expect(good.head.status == 200)
        let bad = try await withDeadline(20) {
            try await client.send(
                HTTPRequest(url: server.url("/basic"), auth: .basic(user: "alice", password: "wrong")))
        }
        #expect(bad.head.status == 401)
        #expect(bad.head.header("WWW-Authenticate") == "Basic realm=\"x\"")
        #expect(String(decoding: bad.body, as: UTF8.self) == "unauthorized")
        let none = try await withDeadline(20) { try await client.send(HTTPRequest(url: server.url("/basic"))) }
        #expect(none.head.status == 401)
    }

    @Test("NTLM: type 1, challenge and type 3 on one connection; the POST body arrives on the final leg")
    func ntlmHandshake() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = HTTPClient()
        let body = Data("<soap:Envelope>ntlm</soap:Envelope>".utf8)
        let response = try await withDeadline(20) {
            try await client.send(
                HTTPRequest(
                    url: server.url("/ntlm"), headers: [("Content-Type", "text/xml")], body: body,
                    auth: .ntlm(user: "CORP\\alice", password: password)))
        }
        struct NTLMResult: Decodable {
            var user: String
            var domain: String
            var ntResponseLength: Int
            var negotiatedOnThisConnection: Bool
            var legsOnThisConnection: Int
            var body: String
        }
        #expect(response.head.status == 200)
        let result = try JSONDecoder().decode(NTLMResult.self, from: response.body)
        #expect(result.user == "alice")
        #expect(result.domain == "CORP")
        #expect(result.negotiatedOnThisConnection)
        #expect(result.legsOnThisConnection == 2)
        #expect(result.ntResponseLength > 24)  // NTLMv2
        #expect(Data(base64Encoded: result.body) == body)
        // The 401 legs are not part of the head.
        #expect(response.head.header("WWW-Authenticate") == nil)
    }

    @Test("Negotiate without a Kerberos ticket ends as a 401 response, not an error")
    func negotiateWithoutTicket() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = HTTPClient()
        let response = try await withDeadline(20) {
            try await client.send(
                HTTPRequest(url: server.url("/negotiate"), auth: .negotiate(user: nil, password: nil)))
        }
        #expect(response.head.status == 401)
        #expect(response.head.header("WWW-Authenticate") == "Negotiate")
    }

    @Test("gzip is requested and decoded transparently; off, the body comes unencoded")
    func gzip() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let expected = String(repeating: "Grüße aus dem gzip-Endpunkt, viele Male. ", count: 2000)
        let compressed = try await withDeadline(20) {
            try await HTTPClient().send(HTTPRequest(url: server.url("/gzip"), method: "GET"))
        }
        #expect(compressed.head.header("Content-Encoding") == "gzip")
        #expect(String(decoding: compressed.body, as: UTF8.self) == expected)
        var configuration = HTTPClientConfiguration()
        configuration.gzip = false
        let client = HTTPClient(configuration: configuration)
        let plain = try await withDeadline(20) {
            try await client.send(HTTPRequest(url: server.url("/gzip"), method: "GET"))
        }
        #expect(plain.head.header("X-Encoded") == "identity")
        #expect(String(decoding: plain.body, as: UTF8.self) == expected)
    }

    @Test("keep-alive connections are reused per credential; shutdown closes them")
    func connectionReuse() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = HTTPClient()
        let alice = HTTPAuth.basic(user: "alice", password: password)
        func connection(_ auth: HTTPAuth) async throws -> ConnectionInfo {
            let response = try await withDeadline(20) {
                try await client.send(HTTPRequest(url: server.url("/conn"), method: "GET", auth: auth))
            }
            return try decode(ConnectionInfo.self, response)
        }
        let first = try await connection(alice)
        let second = try await connection(alice)
        #expect(first.connection == second.connection)
        #expect(second.requests == first.requests + 1)
        // Another credential never gets alice's connection.
        let bob = try await connection(.basic(user: "bob", password: "other-pass"))
        #expect(bob.connection != first.connection)
        let third = try await connection(alice)
        #expect(third.connection == first.connection)
        #expect(client.idleHandleCount == 2)
        client.shutdown()
        #expect(client.idleHandleCount == 0)
        let afterShutdown = try await connection(alice)
        #expect(afterShutdown.connection != first.connection)
        #expect(afterShutdown.requests == 1)
    }

    /// Sends `count` parallel `/slow` requests in `group` and returns the server's statistics.
    func runSlow(_ client: HTTPClient, server: TestServer, count: Int, group: String) async throws -> SlowStats {
        try await withDeadline(30) {
            try await withThrowingTaskGroup(of: Int.self) { tasks in
                for _ in 0..<count {
                    tasks.addTask {
                        try await client.send(
                            HTTPRequest(url: server.url("/slow?ms=300&group=\(group)"), method: "GET")
                        )
                        .head.status
                    }
                }
                for try await status in tasks { #expect(status == 200) }
            }
        }
        let stats = try await client.send(HTTPRequest(url: server.url("/stats?group=\(group)"), method: "GET"))
        return try decode(SlowStats.self, stats)
    }

    @Test("at most maxConcurrency requests are in flight")
    func concurrencyLimit() async throws {
        let server = try TestServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxConcurrency = 2
        let client = HTTPClient(configuration: configuration)
        let started = ContinuousClock.now
        let stats = try await runSlow(client, server: server, count: 6, group: "limit2")
        let elapsed = ContinuousClock.now - started
        #expect(stats.total == 6)
        #expect(stats.max == 2)
        #expect(elapsed >= .milliseconds(850))  // three waves of 300 ms
    }

    @Test("setConcurrencyLimit lowers and raises the limit for new requests, never below 1")
    func adjustConcurrency() async throws {
        let server = try TestServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxConcurrency = 4
        let client = HTTPClient(configuration: configuration)
        #expect(client.concurrencyLimit == 4)
        client.setConcurrencyLimit(1)
        #expect(client.concurrencyLimit == 1)
        let one = try await runSlow(client, server: server, count: 4, group: "limit1")
        #expect(one.total == 4)
        #expect(one.max == 1)
        client.setConcurrencyLimit(0)
        #expect(client.concurrencyLimit == 1)
        client.setConcurrencyLimit(3)
        let three = try await runSlow(client, server: server, count: 6, group: "limit3")
        #expect(three.total == 6)
        #expect(three.max == 3)
    }

    @Test("the total timeout gives .timeout")
    func timeout() async throws {
        let server = try TestServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.totalTimeout = .milliseconds(300)
        let client = HTTPClient(configuration: configuration)
        let started = ContinuousClock.now
        let error = await httpError {
            try await withDeadline(50) {
                try await client.send(HTTPRequest(url: server.url("/slow?ms=60000&group=timeout"), method: "GET"))
            }
        }
        #expect(error?.kind == .timeout)
        // Well before the server would answer (60 s), with room for a heavily loaded machine.
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test("a refused connection gives .connect, without credentials in the error")
    func connectionRefused() async throws {
        let server = try TestServer()
        let url = server.url("/echo").replacingOccurrences(of: "http://", with: "http://carol:url-secret@")
        server.stop()  // nothing listens on its port now
        let client = HTTPClient()
        let error = await httpError {
            try await withDeadline(20) {
                try await client.send(HTTPRequest(url: url, auth: .basic(user: "alice", password: password)))
            }
        }
        #expect(error?.kind == .connect)
        let text = error.map { "\($0) \($0.message) \($0.url)" } ?? ""
        #expect(!text.contains(password))
        #expect(!text.contains("url-secret"))
        #expect(error?.url == url.replacingOccurrences(of: "carol:url-secret@", with: ""))
    }

    @Test(
        "a connection dropped mid-response or before any response gives .transport", arguments: ["partial", "nothing"])
    func droppedConnection(mode: String) async throws {
        let server = try TestServer()
        defer { server.stop() }
        let error = await httpError {
            try await withDeadline(20) {
                try await HTTPClient().send(HTTPRequest(url: server.url("/drop?mode=\(mode)"), method: "GET"))
            }
        }
        #expect(error?.kind == .transport)
    }

    @Test("503 with Retry-After is a response, the header readable case-insensitively")
    func retryAfter() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try await withDeadline(20) {
            try await HTTPClient().send(HTTPRequest(url: server.url("/status?code=503&retry_after=2"), method: "GET"))
        }
        #expect(response.head.status == 503)
        #expect(response.head.header("Retry-After") == "2")
        #expect(response.head.header("retry-after") == "2")
    }

    @Test("20 MiB are streamed to onBody in chunks as they arrive, with flat memory")
    func streaming() async throws {
        let server = try TestServer()
        defer { server.stop() }
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var bytes = 0
            var chunks = 0
            var largestChunk = 0
            var checksum: UInt64 = 0
            /// Resident memory at the first chunk and the most seen after it (sampled every MiB).
            var firstResident = 0
            var peakResident = 0
            var firstChunkAt: ContinuousClock.Instant?
        }
        let counter = Counter()
        let started = ContinuousClock.now
        let head = try await withDeadline(60) {
            try await HTTPClient().send(HTTPRequest(url: server.url("/big?mb=20&pause_ms=400"), method: "GET")) {
                chunk in
                counter.lock.withLock {
                    if counter.chunks == 0 {
                        counter.firstResident = residentMemory() ?? 0
                        counter.firstChunkAt = .now
                    }
                    let before = counter.bytes
                    counter.bytes += chunk.count
                    counter.chunks += 1
                    counter.largestChunk = max(counter.largestChunk, chunk.count)
                    for byte in chunk { counter.checksum &+= UInt64(byte) }
                    if before / 1_048_576 != counter.bytes / 1_048_576 {
                        counter.peakResident = max(counter.peakResident, residentMemory() ?? 0)
                    }
                }
            }
        }
        let finished = ContinuousClock.now
        let elapsed = finished - started
        let growth = counter.peakResident - counter.firstResident
        #expect(head.status == 200)
        #expect(counter.bytes == 20 * 1024 * 1024)
        #expect(counter.chunks > 100)
        #expect(counter.largestChunk <= 64 * 1024)
        // Each 256-byte run of 0...255 sums to 32640.
        #expect(counter.checksum == UInt64(20 * 1024 * 1024 / 256) * 32640)
        // Streamed, not buffered: the first chunk came before the server's 400 ms pause after 1 MiB.
        #expect(counter.firstChunkAt.map { finished - $0 >= .milliseconds(350) } == true)
        // Resident memory is printed, not asserted: other tests allocate in parallel in this process,
        // so the figure is noisy here. That the body is never held is shown above: it arrived in
        // small chunks while the server was still sending.
        print(
            "streamed 20 MiB in \(counter.chunks) chunks (largest \(counter.largestChunk) B) in \(elapsed);"
                + " resident memory +\(growth / 1024) KiB during the transfer")
    }

    @Test("cancelling the task aborts a slow transfer at once with .cancelled")
    func cancelInFlight() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = HTTPClient()
        let task = Task {
            try await client.send(HTTPRequest(url: server.url("/slow?ms=30000&group=cancel"), method: "GET"))
        }
        // Cancel once the request is at the server, so the transfer is truly in flight.
        #expect(try await awaitSlowStats(server, group: "cancel") { $0.current == 1 }.current == 1)
        let started = ContinuousClock.now
        task.cancel()
        let error = await httpError { try await withDeadline(20) { try await task.value } }
        let elapsed = ContinuousClock.now - started
        #expect(error?.kind == .cancelled)
        // The connection was closed under the server, long before its 30 s answer: the server saw the
        // hang-up and never answered. Asked of the server, so the figure does not depend on how soon a
        // busy test process gets round to resuming this task.
        let stats = try await awaitSlowStats(server, group: "cancel") { $0.aborted == 1 }
        #expect(stats.aborted == 1)
        #expect(stats.current == 0)
        #expect(stats.total == 1)
        print("cancelled an in-flight transfer; the error arrived after \(elapsed)")
    }

    @Test("cancelling a request waiting for a slot throws .cancelled at once; the queue goes on")
    func cancelQueued() async throws {
        let server = try TestServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxConcurrency = 1
        let client = HTTPClient(configuration: configuration)
        let slow = Task { try await client.send(HTTPRequest(url: server.url("/slow?ms=60000&group=q"), method: "GET")) }
        // The slow request holds the only slot once it is at the server.
        #expect(try await awaitSlowStats(server, group: "q") { $0.current == 1 }.current == 1)
        let queued = Task { try await client.send(HTTPRequest(url: server.url("/echo"), method: "GET")) }
        let next = Task { try await client.send(HTTPRequest(url: server.url("/echo"), method: "GET")) }
        try await Task.sleep(for: .milliseconds(200))
        queued.cancel()
        let error = await httpError { try await withDeadline(20) { try await queued.value } }
        #expect(error?.kind == .cancelled)
        // The cancelled request did not wait for the slot: the slow transfer (60 s) still holds it.
        let during = try await slowStats(server, group: "q")
        #expect(during.current == 1)
        #expect(during.aborted == 0)
        // The queue goes on: once the slot is free, the request behind the cancelled one is sent.
        slow.cancel()
        #expect(await httpError { try await withDeadline(20) { try await slow.value } }?.kind == .cancelled)
        #expect(try await withDeadline(20) { try await next.value }.head.status == 200)
    }

    @Test("https to a plain-HTTP server fails with .tls or .connect")
    func httpsToPlainServer() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let url = server.url("/echo").replacingOccurrences(of: "http://", with: "https://")
        let error = await httpError {
            try await withDeadline(20) { try await HTTPClient().send(HTTPRequest(url: url)) }
        }
        #expect(error?.kind == .tls || error?.kind == .connect)
    }

    @Test("TLS: an untrusted certificate gives .tls; caFile or insecure let the request through")
    func tlsVerification() async throws {
        let server = try TestServer(tls: true)
        defer { server.stop() }
        let request = HTTPRequest(url: server.url("/echo"), method: "GET")
        let error = await httpError { try await withDeadline(20) { try await HTTPClient().send(request) } }
        #expect(error?.kind == .tls)
        var trusted = HTTPClientConfiguration()
        trusted.caFile = TestServer.certificatePath
        let trustingClient = HTTPClient(configuration: trusted)
        #expect(try await withDeadline(20) { try await trustingClient.send(request) }.head.status == 200)
        var insecure = HTTPClientConfiguration()
        insecure.insecure = true
        let insecureClient = HTTPClient(configuration: insecure)
        #expect(try await withDeadline(20) { try await insecureClient.send(request) }.head.status == 200)
    }

    @Test("requests go through the configured proxy; an unreachable proxy gives .proxy")
    func proxy() async throws {
        let server = try TestServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.proxy = "http://127.0.0.1:\(server.port)"
        // The proxy (the test server) gets the absolute URL; the client never resolves the host.
        let proxied = HTTPClient(configuration: configuration)
        let response = try await withDeadline(20) {
            try await proxied.send(HTTPRequest(url: "http://exchange.example.invalid/echo", method: "GET"))
        }
        #expect(try decode(Echo.self, response).path == "http://exchange.example.invalid/echo")

        let gone = try TestServer()
        let gonePort = gone.port
        gone.stop()
        configuration.proxy = "http://127.0.0.1:\(gonePort)"
        let unreachable = HTTPClient(configuration: configuration)
        let error = await httpError {
            try await withDeadline(20) {
                try await unreachable.send(
                    HTTPRequest(url: "http://exchange.example.invalid/echo", method: "GET"))
            }
        }
        #expect(error?.kind == .proxy)
    }

    @Test("a URL that is not http or https is rejected without a transfer")
    func badURL() async throws {
        let error = await httpError { try await HTTPClient().send(HTTPRequest(url: "file:///etc/passwd")) }
        #expect(error?.kind == .transport)
    }
}

@Suite("HTTP values")
struct HTTPValueTests {
    @Test("no textual form of HTTPAuth or HTTPRequest shows a password")
    func passwordsHidden() {
        let auths: [HTTPAuth] = [
            .basic(user: "alice", password: password), .digest(user: "alice", password: password),
            .ntlm(user: "CORP\\alice", password: password), .negotiate(user: "alice", password: password),
        ]
        for auth in auths {
            var dumped = ""
            dump(auth, to: &dumped)
            let request = HTTPRequest(url: "https://exchange/EWS/Exchange.asmx", auth: auth)
            var dumpedRequest = ""
            dump(request, to: &dumpedRequest)
            for text in [
                "\(auth)", String(reflecting: auth), dumped, "\(request)", String(reflecting: request), dumpedRequest,
                "\([auth])", "\(Optional(auth) as Any)",
            ] {
                #expect(!text.contains(password), "\(text)")
            }
        }
        #expect("\(HTTPAuth.basic(user: "alice", password: password))" == "basic(user: alice, password: ***)")
        #expect(HTTPAuth.ntlm(user: "CORP\\alice", password: password).user == "CORP\\alice")
        #expect("\(HTTPAuth.digest(user: "alice", password: password))" == "digest(user: alice, password: ***)")
        #expect(HTTPAuth.digest(user: "alice", password: password).secrets == [password])
    }

    @Test("header lookup is case-insensitive and the last occurrence wins")
    func headerLookup() {
        let head = HTTPResponseHead(status: 200, headers: [("Set-Cookie", "a=1"), ("X-A", "1"), ("set-cookie", "b=2")])
        #expect(head.header("SET-COOKIE") == "b=2")
        #expect(head.header("x-a") == "1")
        #expect(head.header("missing") == nil)
    }

    @Test("libcurl result codes map to error kinds")
    func errorKinds() {
        #expect(Transfer.kind(of: CURLE_COULDNT_RESOLVE_HOST, proxyConfigured: false, connectCode: 0) == .connect)
        #expect(Transfer.kind(of: CURLE_COULDNT_CONNECT, proxyConfigured: false, connectCode: 0) == .connect)
        #expect(Transfer.kind(of: CURLE_COULDNT_CONNECT, proxyConfigured: true, connectCode: 0) == .proxy)
        #expect(Transfer.kind(of: CURLE_COULDNT_RESOLVE_PROXY, proxyConfigured: true, connectCode: 0) == .proxy)
        #expect(Transfer.kind(of: CURLE_RECV_ERROR, proxyConfigured: true, connectCode: 407) == .proxy)
        #expect(Transfer.kind(of: CURLE_OPERATION_TIMEDOUT, proxyConfigured: false, connectCode: 0) == .timeout)
        #expect(Transfer.kind(of: CURLE_PEER_FAILED_VERIFICATION, proxyConfigured: false, connectCode: 0) == .tls)
        #expect(Transfer.kind(of: CURLE_SSL_CONNECT_ERROR, proxyConfigured: false, connectCode: 0) == .tls)
        for code in [CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE] {
            #expect(Transfer.kind(of: code, proxyConfigured: false, connectCode: 0) == .transport)
        }
        #expect(Transfer.kind(of: CURLE_ABORTED_BY_CALLBACK, proxyConfigured: false, connectCode: 0) == .cancelled)
    }

    @Test("URLs lose their user information in errors; origins key the pool")
    func urlParts() {
        #expect(URLParts.redacted("https://u:p@host:8443/EWS?x=1") == "https://host:8443/EWS?x=1")
        #expect(URLParts.redacted("https://host/EWS") == "https://host/EWS")
        #expect(URLParts.password("https://u:pw@host/") == "pw")
        #expect(URLParts.origin("HTTPS://Mail.Example.com:443/EWS/Exchange.asmx") == "https://mail.example.com:443")
        #expect(URLParts.origin("ftp://host/") == nil)
        #expect(URLParts.origin("no-scheme") == nil)
    }
}
