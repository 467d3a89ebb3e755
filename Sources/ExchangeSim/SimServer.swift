import EWS
import ExchangeWebDAV
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NTLM
import Synchronization
import XML

/// The simulator's HTTP/1.1 front: `POST /EWS/Exchange.asmx` with Basic, NTLM or forms-based
/// authentication (see ``SimFormsLogin``), keep-alive, and the switchable faults (latency, per-account concurrency limit, HTTP 503,
/// dropped connections). Usable in-process by tests and the demo.
public final class SimServer: @unchecked Sendable {
    public let service: SimService
    let group: MultiThreadedEventLoopGroup
    var channel: Channel?
    let ntlm: NTLMServer
    let passwords: [String: String]
    let inFlight = Mutex<[String: Int]>([:])
    let faultRandom: Mutex<SimRandom>
    let forms: SimFormsLogin

    public init(service: SimService, threads: Int = 2) {
        self.service = service
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        passwords = Dictionary(
            service.options.accounts.map { ($0.name.lowercased(), $0.password) }, uniquingKeysWith: { $1 })
        ntlm = NTLMServer(
            targetName: "EXAMPLE", dnsDomain: "example.test", computer: "EXSIM",
            accounts: service.options.accounts.map { NTLMAccount(user: $0.name, domain: "", password: $0.password) })
        faultRandom = Mutex(SimRandom(seed: service.options.seed &+ 7))
        forms = SimFormsLogin(options: service.options)
    }

    /// Starts listening; returns the EWS URL.
    @discardableResult
    public func start() async throws -> String {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // WebDAV's methods (BPROPFIND, BDELETE, X-MS-ENUMATTS …) need a decoder that takes
                // any method; EWS alone keeps NIO's.
                guard self.service.options.protocols.contains(.webdav) else {
                    return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                        channel.pipeline.addHandler(SimHTTPHandler(server: self))
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTPResponseEncoder(), ByteToMessageHandler(SimHTTPRequestDecoder()),
                        HTTPServerPipelineHandler(), SimHTTPHandler(server: self),
                    ])
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        let channel = try await bootstrap.bind(host: service.options.host, port: service.options.port).get()
        self.channel = channel
        return url
    }

    /// `http://HOST:PORT/EWS/Exchange.asmx`.
    public var url: String {
        "http://\(service.options.host):\(channel?.localAddress?.port ?? service.options.port)/EWS/Exchange.asmx"
    }

    public func stop() async {
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    func chance(_ rate: Double) -> Bool { rate > 0 && faultRandom.withLock { $0.unit() } < rate }

    /// Accounts the concurrency of one request; false when the limit is exceeded.
    func enter(_ account: String) -> Bool {
        inFlight.withLock { counts in
            let next = counts[account, default: 0] + 1
            if service.options.maxConcurrency > 0 && next > service.options.maxConcurrency { return false }
            counts[account] = next
            return true
        }
    }

    func leave(_ account: String) { inFlight.withLock { $0[account, default: 1] -= 1 } }
}

/// One connection: collects a request, authenticates it (NTLM authenticates the connection),
/// and answers from the service.
final class SimHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: SimServer
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    var ntlmState: NTLMChallengeState?
    var ntlmAccount: String?

    init(server: SimServer) { self.server = server }

    /// `Thu, 03 Dec 2026 10:08:02 GMT`.
    static func httpDate(_ date: Date) -> String {
        DAVMIME.rfc5322Date(date).replacingOccurrences(of: "+0000", with: "GMT")
    }

    /// A request that cannot be parsed ends the connection.
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            self.head = nil
            handle(context: context, head: head, body: Data(body.readableBytesView))
        }
    }

    func handle(context: ChannelHandlerContext, head: HTTPRequestHead, body: Data) {
        let options = server.service.options
        if head.uri.lowercased().hasPrefix("/autodiscover/autodiscover.xml"), head.method == .POST {
            guard authenticate(context, head) != nil else { return }
            let email = (try? XMLStreamParser.parse(body))?.descendant("EMailAddress")?.text.lowercased() ?? ""
            let known = options.mailboxes.map { $0.lowercased() }.contains(email)
            respond(
                context, head, status: .ok, headers: [("Content-Type", "text/xml; charset=utf-8")],
                body: Autodiscover.response(email: email, ewsURL: known ? server.url : nil))
            return
        }
        if head.uri == "/sim/stats", head.method == .GET {
            // Not part of Exchange: request counts by operation, bytes and the simulator's CPU time,
            // so a benchmark running the simulator in its own process can measure it.
            var stats = server.service.counts.mapValues(Double.init)
            stats["items"] = Double(server.service.itemCount)
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            stats["cpuSeconds"] =
                Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
                + Double(usage.ru_stime.tv_usec) / 1e6
            let body = (try? JSONSerialization.data(withJSONObject: stats, options: [.sortedKeys])) ?? Data("{}".utf8)
            respond(context, head, status: .ok, headers: [("Content-Type", "application/json")], body: body)
            return
        }
        if let answer = server.forms.answer(head.method.rawValue, uri: head.uri, body: body, server: server) {
            respond(
                context, head, status: SimFormsLogin.status(answer.status), headers: answer.headers,
                body: answer.body)
            return
        }
        let path = head.uri.lowercased()
        if options.protocols.contains(.webdav), path == "/exchange" || path.hasPrefix("/exchange/") {
            handleDAV(context: context, head: head, body: body)
            return
        }
        guard options.protocols.contains(.ews), path.hasPrefix("/ews/exchange.asmx") else {
            respond(context, head, status: .notFound, headers: [], body: Data("not found".utf8))
            return
        }
        guard head.method == .POST || (head.method == .GET && options.auth.isForms) else {
            respond(context, head, status: .methodNotAllowed, headers: [("Allow", "POST")], body: Data())
            return
        }
        guard !injectedFault(context, head) else { return }
        guard let account = authenticate(context, head) else { return }
        guard server.enter(account) else {
            let fault = SimWriter.fault(
                SimFault(
                    code: "ErrorExceededConnectionCount",
                    message:
                        "You have exceeded the available concurrent connections for your account. Try again once your other requests have completed."
                ))
            respond(
                context, head, status: .internalServerError, headers: [("Content-Type", "text/xml; charset=utf-8")],
                body: fault)
            return
        }
        let service = server.service
        // Schema validation and the operation run off the event loop.
        offLoop(context, head) {
            let (status, response) = service.handle(body: body, account: account)
            self.server.leave(account)
            return (HTTPResponseStatus(statusCode: status), [("Content-Type", "text/xml; charset=utf-8")], response)
        }
    }

    /// The switchable faults: a dropped connection or HTTP 503 (true when one was answered).
    func injectedFault(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) -> Bool {
        let options = server.service.options
        if server.chance(options.dropRate) {
            server.service.countFault("faultDropped")
            context.close(promise: nil)
            return true
        }
        if server.chance(options.unavailableRate) {
            server.service.countFault("faultUnavailable")
            respond(
                context, head, status: .serviceUnavailable, headers: [("Retry-After", "1")],
                body: Data("Service Unavailable".utf8))
            return true
        }
        return false
    }

    /// Runs `work` off the event loop after the configured latency and answers with its result.
    func offLoop(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead,
        _ work: @escaping @Sendable () -> (HTTPResponseStatus, [(String, String)], Data)
    ) {
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let delay = server.service.options.latency
        DispatchQueue.global().async {
            if delay > .zero {
                Thread.sleep(
                    forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
            }
            let (status, headers, body) = work()
            loop.execute { self.respond(bound.value, head, status: status, headers: headers, body: body) }
        }
    }

    /// A WebDAV request (`/exchange/…`): the faults, authentication, latency, then the service off
    /// the event loop.
    func handleDAV(context: ChannelHandlerContext, head: HTTPRequestHead, body: Data) {
        let options = server.service.options
        guard !injectedFault(context, head) else { return }
        guard let account = authenticate(context, head, anyMethod: true) else { return }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let port = channelPort(context)
        let request = SimDAVRequest(
            method: head.method.rawValue, path: String(parts.first ?? ""),
            query: parts.count > 1 ? String(parts[1]) : nil,
            headers: headers, body: body, account: account,
            base: "http://" + (headers["host"] ?? "\(options.host):\(port)"))
        let service = server.service
        offLoop(context, head) {
            let answer = service.handleDAV(request)
            return (SimFormsLogin.status(answer.status), answer.headers, answer.body)
        }
    }

    func channelPort(_ context: ChannelHandlerContext) -> Int { context.channel.localAddress?.port ?? 0 }

    /// The authenticated account, or nil after answering 401 (or, with forms login, 440 or a
    /// redirect to the logon page). `anyMethod`: a forms session is good for every method (WebDAV),
    /// not only EWS's POST.
    func authenticate(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, anyMethod: Bool = false) -> String? {
        let options = server.service.options
        let authorization = head.headers.first(name: "Authorization") ?? ""
        switch options.auth {
        case .basic:
            if authorization.lowercased().hasPrefix("basic "),
                let decoded = Data(
                    base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            {
                let user = String(text[..<colon]).lowercased()
                if let password = server.passwords[user], password == String(text[text.index(after: colon)...]) {
                    return user
                }
            }
            unauthorized(context, head, challenge: "Basic realm=\"exchange-sim\"")
            return nil
        case .ntlm:
            if let account = ntlmAccount { return account }
            guard authorization.lowercased().hasPrefix("ntlm ") else {
                unauthorized(context, head, challenge: "NTLM")
                return nil
            }
            do {
                switch try server.ntlm.handle(authorization: authorization, state: ntlmState) {
                case .challenge(let header, let state):
                    ntlmState = state
                    unauthorized(context, head, challenge: header)
                    return nil
                case .authenticated(let account):
                    ntlmState = nil
                    ntlmAccount = account.user.lowercased()
                    return ntlmAccount
                }
            } catch {
                ntlmState = nil
                unauthorized(context, head, challenge: "NTLM")
                return nil
            }
        case .forms2003, .forms2007:
            switch server.forms.session(cookie: head.headers.first(name: "Cookie")) {
            case .valid(let account) where head.method == .POST || anyMethod: return account
            case .valid:
                // A browser's GET of the service page: nothing to show it.
                respond(context, head, status: .methodNotAllowed, headers: [("Allow", "POST")], body: Data())
            case .missing, .expired, .invalid:
                let answer = server.forms.signInFirst(method: head.method.rawValue, uri: head.uri, server: server)
                respond(
                    context, head, status: SimFormsLogin.status(answer.status), headers: answer.headers,
                    body: answer.body)
            }
            return nil
        }
    }

    func unauthorized(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, challenge: String) {
        respond(context, head, status: .unauthorized, headers: [("WWW-Authenticate", challenge)], body: Data())
    }

    func respond(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, status: HTTPResponseStatus,
        headers: [(String, String)], body: Data
    ) {
        var fields = HTTPHeaders(headers)
        fields.add(name: "Content-Length", value: "\(body.count)")
        fields.add(name: "Server", value: "exchange-sim")
        // As IIS does: the server's clock, which WebDAV clients take as their watermark.
        fields.add(name: "Date", value: Self.httpDate(Date()))
        let keepAlive = head.isKeepAlive
        fields.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: fields))),
            promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel  // Sendable, unlike the context
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
