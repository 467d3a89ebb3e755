import ConnectorAPI
import Connectors
import Foundation
import HTTP
import Testing

@testable import EWSConnector

/// Resources/misbehaving_server.py as a subprocess: each path answers EWS the way a broken or
/// misconfigured server does.
final class MisbehavingServer: @unchecked Sendable {
    let port: Int
    let process: Process

    static var resources: URL {
        Bundle.module.url(forResource: "Resources", withExtension: nil)
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")
    }

    /// The self-signed test certificate of the HTTP tests (for 127.0.0.1), to serve TLS with.
    static let certificate = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("HTTPTests/Resources")

    init(tls: Bool = false) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", "-u", Self.resources.appendingPathComponent("misbehaving_server.py").path]
        if tls {
            arguments += [
                "--tls", Self.certificate.appendingPathComponent("test-cert.pem").path,
                Self.certificate.appendingPathComponent("test-key.pem").path,
            ]
        }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = ""
        let deadline = Date().addingTimeInterval(15)
        while !line.contains("\n") && Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        try? output.fileHandleForReading.close()
        guard
            let port = Int(
                line.replacingOccurrences(of: "listening on ", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            )
        else {
            kill(process.processIdentifier, SIGKILL)
            throw NSError(
                domain: "test", code: 1, userInfo: [NSLocalizedDescriptionKey: "server did not start: \(line)"])
        }
        self.port = port
    }

    deinit {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite("Answers that are not EWS are explained", .serialized)
struct AnswerCheckTests {
    let server: MisbehavingServer

    init() throws { server = try MisbehavingServer() }

    /// The error a first sync against `url` ends with, and what `check` says.
    func outcome(url: String, extra: Settings = Settings()) async throws -> (error: String, check: String) {
        var settings = Settings([
            "url": .string(url), "auth": .string("basic"), "username": .string("svc@example.test"),
            "password": .secret(Secret("geheim")), "connect_timeout": .duration(.seconds(5)),
            "timeout": .duration(.seconds(20)),
        ])
        settings.values.merge(extra.values) { $1 }
        let adapter = try EWSAdapter.type.make(
            settings,
            AdapterContext(instanceName: "exchange", baseDirectory: URL(fileURLWithPath: "/tmp"), log: { _, _ in }))
        defer { Task { await adapter.shutdown() } }
        let scope = EndpointScope(
            connector: "contacts", kind: .address, role: .target,
            user: "MM", account: EWSAdapter.type.account(on: "exchange", ["mailbox": "mm@example.test"]))
        var error = "no error"
        do {
            let endpoint = try await adapter.endpoint(for: scope)
            _ = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        } catch let caught {
            error = "\(caught)"
        }
        let check = await (adapter as! EWSAdapter).check(for: scope).map(\.message).joined(separator: "\n")
        return (error, check)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(server.port)/\(path)/EWS/Exchange.asmx" }

    @Test("an HTML login page: says so, quotes its title and names the forms login in front of EWS")
    func loginPage() async throws {
        let (error, check) = try await outcome(url: url("login-page"))
        #expect(error.contains("HTML page \"Outlook Web App\" instead of EWS XML"), "\(error)")
        #expect(error.contains("forms-based login"))
        #expect(error.contains("set 'auth: forms'"))
        #expect(check.contains("HTML page \"Outlook Web App\""), "\(check)")
        #expect(!error.contains("geheim") && !check.contains("geheim"))
    }

    @Test("a redirect to the OWA logon page: names the target and the forms login")
    func redirect() async throws {
        let (error, check) = try await outcome(url: url("redirect"))
        #expect(error.contains("redirected (HTTP 302) to https://mail.example.test/owa/auth/logon.aspx"), "\(error)")
        #expect(error.contains("forms-based login"))
        #expect(error.contains("set 'auth: forms'"))
        #expect(check.contains("redirected (HTTP 302)"), "\(check)")
    }

    @Test("a wrong path: the server's 404 page is named, with the usual EWS path")
    func wrongPath() async throws {
        let (error, _) = try await outcome(url: url("wrong-path"))
        #expect(error.contains("HTTP 404 with an HTML page \"404 - File or directory not found.\""), "\(error)")
        #expect(error.contains("/EWS/Exchange.asmx"))
    }

    @Test("an empty body, another content type, XML that is not SOAP: each says what came")
    func otherAnswers() async throws {
        #expect(try await outcome(url: url("empty")).error.contains("HTTP 200 with an empty body"))
        let json = try await outcome(url: url("json")).error
        #expect(json.contains("with 'application/json' (21 bytes) instead of EWS XML"), "\(json)")
        let xml = try await outcome(url: url("not-soap")).error
        #expect(xml.contains("root element <status>, not a SOAP envelope"), "\(xml)")
    }

    @Test("a body cut off and XML that ends early: bytes received against bytes announced")
    func cutOff() async throws {
        let cut = try await outcome(url: url("cut-off")).error
        #expect(cut.contains("cut off"), "\(cut)")
        let truncated = try await outcome(url: url("truncated-xml")).error
        #expect(truncated.contains("is not well-formed XML"), "\(truncated)")
        #expect(truncated.contains("bytes"))
    }

    @Test("a SOAP fault outside a response message carries the server's own words")
    func soapFault() async throws {
        let error = try await outcome(url: url("soap-fault")).error
        #expect(error.contains("The proxy could not reach the mailbox server."), "\(error)")
    }

    @Test("a refused connection names host and port and what to check")
    func refused() async throws {
        // A port nothing listens on: bound and closed again.
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(probe)
        let (error, check) = try await outcome(url: "http://127.0.0.1:\(port)/EWS/Exchange.asmx")
        #expect(error.contains("cannot connect to 127.0.0.1:\(port): nothing answers there"), "\(error)")
        #expect(check.contains("nothing answers there"), "\(check)")
    }

    @Test("a certificate the system does not trust: names the problem and ca_file")
    func untrustedCertificate() async throws {
        let tls = try MisbehavingServer(tls: true)
        let (error, check) = try await outcome(url: "https://127.0.0.1:\(tls.port)/login-page/EWS/Exchange.asmx")
        #expect(error.contains("the TLS connection to 127.0.0.1:\(tls.port) failed"), "\(error)")
        #expect(error.contains("certificate"))
        #expect(error.contains("'ca_file'"))
        #expect(check.contains("'ca_file'"), "\(check)")
        // With the CA given, the same server is reached (and its login page explained).
        let trusted = try await outcome(
            url: "https://127.0.0.1:\(tls.port)/login-page/EWS/Exchange.asmx",
            extra: Settings([
                "ca_file": .string(MisbehavingServer.certificate.appendingPathComponent("test-cert.pem").path)
            ]))
        #expect(trusted.error.contains("HTML page \"Outlook Web App\""), "\(trusted.error)")
    }

    @Test("a name that does not resolve is named as a DNS problem")
    func hostNotFound() {
        let fault = EWSAnswerCheck.transport(
            HTTPError(
                kind: .connect, message: "Could not resolve host: mail.example.invalid",
                url: "https://mail.example.invalid/EWS/Exchange.asmx", curlCode: 6))
        #expect(fault.message.contains("the server name mail.example.invalid cannot be resolved (DNS)"))
        #expect(fault.code == "HostNotFound")
    }
}
