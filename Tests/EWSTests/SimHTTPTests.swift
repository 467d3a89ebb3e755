import ExchangeSim
import Foundation
import Synchronization
import TestSupport
import Testing

/// Runs the real `curl` client against the simulator over loopback, posting `body` as XML.
func curl(_ arguments: [String], body: Data) throws -> (status: Int, body: String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("req-\(UUID().uuidString).xml")
    try body.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let result = try runCurl(
        ["-H", "Content-Type: text/xml; charset=utf-8", "--data-binary", "@\(file.path)"] + arguments)
    return (result.status, result.body)
}

let getFolder = Data(
    """
    <?xml version="1.0" encoding="utf-8"?>
    <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
    <soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>mm@example.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>
    <soap:Body><m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder></soap:Body></soap:Envelope>
    """.utf8)

@Suite("exchange-sim over HTTP with an independent client (curl)", .serialized)
struct SimHTTPTests {
    func server(_ auth: SimOptions.Auth, configure: (inout SimOptions) -> Void = { _ in }) async throws -> SimServer {
        var options = SimOptions(schemaDirectory: Schemas.directory)
        options.mailboxes = ["mm@example.test"]
        options.accounts = [SimAccount(name: "svc@example.test", password: "S3cret!")]
        options.impersonation = ["svc@example.test"]
        options.auth = auth
        configure(&options)
        let server = SimServer(service: try SimService(options: options))
        try await server.start()
        return server
    }

    @Test("Basic: the right password is let in, a wrong one gets 401")
    func basic() async throws {
        let server = try await server(.basic)
        defer { Task { await server.stop() } }
        let ok = try curl(["-u", "svc@example.test:S3cret!", server.url], body: getFolder)
        #expect(ok.status == 200)
        #expect(ok.body.contains("t:ContactsFolder"))
        #expect(try curl(["-u", "svc@example.test:wrong", server.url], body: getFolder).status == 401)
        #expect(try curl([server.url], body: getFolder).status == 401)
    }

    @Test("NTLM: libcurl's NTLMv2 logs in; a wrong password is refused")
    func ntlm() async throws {
        let server = try await server(.ntlm)
        defer { Task { await server.stop() } }
        let ok = try curl(["--ntlm", "-u", "svc@example.test:S3cret!", server.url], body: getFolder)
        #expect(ok.status == 200, "\(ok.body)")
        #expect(ok.body.contains("t:ContactsFolder"))
        #expect(try curl(["--ntlm", "-u", "svc@example.test:wrong", server.url], body: getFolder).status == 401)
        // Basic is not offered when the server runs NTLM.
        #expect(try curl(["-u", "svc@example.test:S3cret!", server.url], body: getFolder).status == 401)
    }

    @Test("faults: HTTP 503 with Retry-After, the concurrency limit, and latency")
    func faults() async throws {
        let unavailable = try await server(.basic) { $0.unavailableRate = 1 }
        defer { Task { await unavailable.stop() } }
        #expect(try curl(["-u", "svc@example.test:S3cret!", unavailable.url], body: getFolder).status == 503)

        let slow = try await server(.basic) {
            // Long enough that the second curl starts while the first is still served, even on a busy machine.
            $0.latency = .milliseconds(6000)
            $0.maxConcurrency = 1
        }
        defer { Task { await slow.stop() } }
        // Two clients at once: one is served (after the latency), the other is over the limit. On
        // threads of their own: tasks of the cooperative pool may wait for a thread while the
        // rest of the suite blocks them, and start one after the other.
        let started = Date()
        let results = try await withCheckedThrowingContinuation { continuation in
            let collected = Mutex<[Result<(status: Int, body: String), any Error>]>([])
            let group = DispatchGroup()
            for _ in 0..<2 {
                group.enter()
                Thread.detachNewThread {
                    let result = Result { try curl(["-u", "svc@example.test:S3cret!", slow.url], body: getFolder) }
                    collected.withLock { $0.append(result) }
                    group.leave()
                }
            }
            group.notify(queue: .global()) {
                continuation.resume(with: Result { try collected.withLock { try $0.map { try $0.get() } } })
            }
        }
        #expect(Date().timeIntervalSince(started) >= 6)
        #expect(results.map(\.0).sorted() == [200, 500], "\(results.map(\.0))")
        #expect(results.contains { $0.1.contains("ErrorExceededConnectionCount") })
    }
}
