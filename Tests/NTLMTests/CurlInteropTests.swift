import Foundation
import NTLM
import Testing

/// The result of one curl run: HTTP status (from `-w '%{http_code}'`) and body.
struct CurlResult {
    var status: Int
    var body: String
}

enum CurlError: Error {
    case timedOut
    case unexpectedOutput(String)
}

/// Runs `curl --ntlm -u <credentials> http://127.0.0.1:<port>/x` and waits at most `timeout` seconds.
func runCurl(credentials: String, port: UInt16, timeout: TimeInterval = 30) async throws -> CurlResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = [
        "-q", "-s", "--noproxy", "*", "--max-time", "20", "-o", "-", "-w", "%{http_code}", "--ntlm",
        "-u", credentials, "http://127.0.0.1:\(port)/x",
    ]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline {
        try await Task.sleep(for: .milliseconds(20))
    }
    if process.isRunning {
        process.terminate()
        throw CurlError.timedOut
    }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard text.count >= 3, let status = Int(text.suffix(3)) else {
        throw CurlError.unexpectedOutput(text)
    }
    return CurlResult(status: status, body: String(text.dropLast(3)))
}

/// Interoperability with an independent NTLM client: the curl command-line tool (libcurl).
@Suite("curl as the NTLM client", .timeLimit(.minutes(1)))
struct CurlInteropTests {
    static let oemFlag: UInt32 = 0x0000_0002

    /// Starts a test server with one account `svc` / `S3cret!` in `accountDomain`, runs `body`, stops it.
    static func withServer<T>(
        accountDomain: String = "EXAMPLE", _ body: (NTLMTestHTTPServer) async throws -> T
    ) async throws -> T {
        let ntlm = NTLMServer(
            targetName: "EXAMPLE", dnsDomain: "example.test", computer: "exch01",
            accounts: [NTLMAccount(user: "svc", domain: accountDomain, password: "S3cret!")])
        let server = try NTLMTestHTTPServer(ntlm: ntlm)
        server.start()
        do {
            let result = try await body(server)
            #expect(server.stop(), "the test server thread did not stop")
            return result
        } catch {
            server.stop()
            throw error
        }
    }

    @Test(
        "curl authenticates with the right password",
        arguments: [
            ("EXAMPLE\\svc:S3cret!", "EXAMPLE"),
            ("svc:S3cret!", "EXAMPLE"),
            ("svc:S3cret!", ""),
            ("example\\SVC:S3cret!", "EXAMPLE"),
            ("OTHER\\svc:S3cret!", ""),
        ])
    func rightPassword(credentials: String, accountDomain: String) async throws {
        try await Self.withServer(accountDomain: accountDomain) { server in
            let result = try await runCurl(credentials: credentials, port: server.port)
            #expect(result.status == 200)
            #expect(result.body == "hello svc")
            let outcomes = server.outcomes
            #expect(outcomes.count == 1)
            guard case .authenticated(let account) = outcomes.first else {
                Issue.record("expected an authenticated outcome, got \(outcomes)")
                return
            }
            #expect(account == NTLMAccount(user: "svc", domain: accountDomain, password: "S3cret!"))
            // curl 7.88 asks for OEM strings, so this exercises the OEM path end to end.
            #expect(server.challengeFlags.count == 1)
            #expect(server.challengeFlags.allSatisfy { $0 & Self.oemFlag != 0 })
        }
    }

    @Test("curl with a wrong password gets 401 and the server reports the wrong password")
    func wrongPassword() async throws {
        try await Self.withServer { server in
            let result = try await runCurl(credentials: "EXAMPLE\\svc:Wrong-Passw0rd", port: server.port)
            #expect(result.status == 401)
            #expect(result.body.isEmpty)
            let outcomes = server.outcomes
            #expect(outcomes.count == 1)
            guard case .refused(let error) = outcomes.first else {
                Issue.record("expected a refusal, got \(outcomes)")
                return
            }
            #expect(error == .wrongPassword(user: "svc", domain: "EXAMPLE"))
            #expect(!error.description.contains("Wrong-Passw0rd"))
            #expect(!error.description.contains("S3cret"))
        }
    }

    @Test("curl with an unknown user gets 401")
    func unknownUser() async throws {
        try await Self.withServer { server in
            let result = try await runCurl(credentials: "EXAMPLE\\nobody:S3cret!", port: server.port)
            #expect(result.status == 401)
            guard case .refused(let error) = server.outcomes.first else {
                Issue.record("expected a refusal, got \(server.outcomes)")
                return
            }
            #expect(error == .unknownUser(user: "nobody", domain: "EXAMPLE"))
        }
    }
}
