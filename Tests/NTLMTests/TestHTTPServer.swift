import Foundation
import NTLM

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for interoperability tests: one background thread, one connection at a
/// time, keep-alive (NTLM authenticates the TCP connection, so the three legs arrive on one connection).
///
/// - no `Authorization`: 401 with `WWW-Authenticate: NTLM`;
/// - a type-1: 401 with the type-2;
/// - a type-3 that verifies: 200 with body "hello <user>"; otherwise 401 and the connection is closed.
///
/// Request bodies up to `maxBody` bytes are read and recorded with the status they were answered with.
///
/// Every wait is bounded: accept polls in 100 ms steps, reads time out after 5 s, a connection is served for at
/// most 15 s and 16 requests, and the server stops by itself after `lifetime`.
final class NTLMTestHTTPServer: @unchecked Sendable {
    /// What the server concluded from one AUTHENTICATE_MESSAGE.
    enum Outcome: Sendable {
        case authenticated(NTLMAccount)
        case refused(NTLMError)
    }

    /// One request as the server saw it.
    struct Request: Sendable {
        /// The status the server answered with.
        var status: Int
        /// The request body.
        var body: [UInt8]
    }

    let port: UInt16
    private let listener: Int32
    private let maxBody: Int
    private var recordedRequests: [Request] = []
    private let ntlm: NTLMServer
    private let lifetime: TimeInterval
    private let lock = NSLock()
    private var recordedOutcomes: [Outcome] = []
    private var recordedChallengeFlags: [UInt32] = []
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)

    init(ntlm: NTLMServer, lifetime: TimeInterval = 60, maxBody: Int = 65_536) throws {
        self.ntlm = ntlm
        self.maxBody = maxBody
        self.lifetime = lifetime
        #if os(Linux)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestServerError.socket("socket", errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let code = errno
            close(fd)
            throw TestServerError.socket("bind/listen", code)
        }
        var actual = sockaddr_in()
        var actualLength = length
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        guard named == 0 else {
            let code = errno
            close(fd)
            throw TestServerError.socket("getsockname", code)
        }
        listener = fd
        port = UInt16(bigEndian: actual.sin_port)
    }

    /// Outcomes of the AUTHENTICATE messages seen so far.
    var outcomes: [Outcome] {
        lock.lock()
        defer { lock.unlock() }
        return recordedOutcomes
    }

    /// Every request answered so far, in order.
    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return recordedRequests
    }

    /// NEGOTIATE flags of every challenge sent so far.
    var challengeFlags: [UInt32] {
        lock.lock()
        defer { lock.unlock() }
        return recordedChallengeFlags
    }

    func start() {
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// Asks the server thread to stop and waits up to 10 s for it; returns whether it stopped.
    @discardableResult
    func stop() -> Bool {
        lock.lock()
        stopRequested = true
        lock.unlock()
        return finished.wait(timeout: .now() + 10) == .success
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    private func record(_ outcome: Outcome) {
        lock.lock()
        recordedOutcomes.append(outcome)
        lock.unlock()
    }

    private func serve() {
        defer { close(listener) }
        let deadline = Date().addingTimeInterval(lifetime)
        while !shouldStop, Date() < deadline {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            serveConnection(connection)
            close(connection)
        }
    }

    private func serveConnection(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)

        let deadline = Date().addingTimeInterval(15)
        var buffer: [UInt8] = []
        var state: NTLMChallengeState?
        var authenticated: NTLMAccount?
        for _ in 0..<16 where Date() < deadline && !shouldStop {
            guard let (headers, body) = readRequest(connection, buffer: &buffer, deadline: deadline) else { return }
            func respond(_ connection: Int32, status: Int, headers: [String], body responseBody: String) {
                lock.lock()
                recordedRequests.append(Request(status: status, body: body))
                lock.unlock()
                self.respond(connection, status: status, headers: headers, body: responseBody)
            }
            let authorization = headers.first { $0.name == "authorization" }?.value
            guard let authorization, authorization.lowercased().hasPrefix("ntlm") else {
                if let authenticated {
                    respond(connection, status: 200, headers: [], body: "hello \(authenticated.user)")
                } else {
                    respond(connection, status: 401, headers: ["WWW-Authenticate: NTLM"], body: "")
                }
                continue
            }
            do {
                switch try ntlm.handle(authorization: authorization, state: state) {
                case .challenge(let header, let newState):
                    state = newState
                    lock.lock()
                    recordedChallengeFlags.append(newState.negotiatedFlags)
                    lock.unlock()
                    respond(connection, status: 401, headers: ["WWW-Authenticate: \(header)"], body: "")
                case .authenticated(let account):
                    state = nil
                    authenticated = account
                    record(.authenticated(account))
                    respond(connection, status: 200, headers: [], body: "hello \(account.user)")
                }
            } catch {
                record(.refused(error as? NTLMError ?? .malformedMessage("\(error)")))
                respond(connection, status: 401, headers: ["WWW-Authenticate: NTLM", "Connection: close"], body: "")
                return
            }
        }
    }

    /// Reads one request head and the body announced by Content-Length; nil on EOF, timeout or excess.
    private func readRequest(
        _ connection: Int32, buffer: inout [UInt8], deadline: Date
    ) -> (headers: [(name: String, value: String)], body: [UInt8])? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        while Date() < deadline {
            if let end = find(terminator, in: buffer) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + terminator.count)
                var headers: [(name: String, value: String)] = []
                for line in head.split(separator: "\r\n").dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    headers.append((name, value))
                }
                let bodyLength = headers.first { $0.name == "content-length" }.flatMap { Int($0.value) } ?? 0
                guard bodyLength <= maxBody else { return nil }
                while buffer.count < bodyLength {
                    guard Date() < deadline, receive(connection, into: &buffer) else { return nil }
                }
                let body = Array(buffer[..<bodyLength])
                buffer.removeFirst(bodyLength)
                return (headers, body)
            }
            guard buffer.count <= 65_536, receive(connection, into: &buffer) else { return nil }
        }
        return nil
    }

    private func receive(_ connection: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let count = recv(connection, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle
        {
            return start
        }
        return nil
    }

    private func respond(_ connection: Int32, status: Int, headers: [String], body: String) {
        let reason = status == 200 ? "OK" : "Unauthorized"
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        for header in headers {
            head += header + "\r\n"
        }
        head += "Content-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let bytes = Array((head + body).utf8)
        var sent = 0
        while sent < bytes.count {
            #if os(Linux)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, flags) }
            guard count > 0 else { return }
            sent += count
        }
    }
}

enum TestServerError: Error {
    case socket(String, Int32)
}
