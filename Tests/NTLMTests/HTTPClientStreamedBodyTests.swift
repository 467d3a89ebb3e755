import Foundation
import HTTP
import NTLM
import Testing

/// The HTTP module's client (libcurl) authenticating with NTLM against a server that verifies the
/// NTLMv2 response, while sending a streamed body: data + base64(file) + data.
@Suite("HTTPClient with NTLM and a streamed request body", .timeLimit(.minutes(1)))
struct HTTPClientStreamedBodyTests {
    /// A started test server that knows the account EXAMPLE\svc with the password "S3cret!".
    static func startServer() throws -> NTLMTestHTTPServer {
        let ntlm = NTLMServer(
            targetName: "EXAMPLE", dnsDomain: "example.test", computer: "exch01",
            accounts: [NTLMAccount(user: "svc", domain: "EXAMPLE", password: "S3cret!")])
        let server = try NTLMTestHTTPServer(ntlm: ntlm, maxBody: 4 << 20)
        server.start()
        return server
    }

    @Test("the server verifies the NTLM response and receives the streamed body intact on the final leg")
    func streamedBodyAfterHandshake() async throws {
        var bytes = [UInt8](repeating: 0, count: 1_000_001)
        var state: UInt32 = 2_463_534_242
        for index in bytes.indices {
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ntlm-body-\(UUID()).bin")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let prefix = Data("<m:CreateAttachment><t:Content>".utf8)
        let suffix = Data("</t:Content></m:CreateAttachment>".utf8)
        let expected = prefix + Data(Data(bytes).base64EncodedString().utf8) + suffix

        let server = try Self.startServer()
        defer { server.stop() }

        let source = try HTTPBodySource.concatenating([.data(prefix), .base64File(path: file.path), .data(suffix)])
        let response = try await HTTPClient().send(
            HTTPRequest(
                url: "http://127.0.0.1:\(server.port)/EWS/Exchange.asmx",
                headers: [("Content-Type", "text/xml; charset=utf-8")], bodyStream: source,
                auth: .ntlm(user: "EXAMPLE\\svc", password: "S3cret!")))
        #expect(response.head.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello svc")
        guard case .authenticated(let account) = server.outcomes.first else {
            Issue.record("expected an authenticated outcome, got \(server.outcomes)")
            return
        }
        #expect(account.user == "svc")
        let requests = server.requests
        // Type 1 (answered 401 with the challenge), then type 3 with the body.
        #expect(requests.map(\.status) == [401, 200])
        #expect(requests.last.map { Data($0.body) == expected } == true)
        // libcurl sends no body with the type-1 message.
        #expect(requests.first?.body.isEmpty == true)
        print("NTLM legs: " + requests.map { "\($0.status) with \($0.body.count) body bytes" }.joined(separator: ", "))
    }

    @Test("a wrong password ends as a 401 response; the streamed body is not an error")
    func wrongPassword() async throws {
        let server = try Self.startServer()
        defer { server.stop() }
        let source = try HTTPBodySource.concatenating([.data(Data(repeating: 65, count: 200_000))])
        let response = try await HTTPClient().send(
            HTTPRequest(
                url: "http://127.0.0.1:\(server.port)/x", bodyStream: source,
                auth: .ntlm(user: "EXAMPLE\\svc", password: "wrong")))
        #expect(response.head.status == 401)
    }
}
