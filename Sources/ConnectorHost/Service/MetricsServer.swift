import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves `/metrics` (Prometheus text format), `/health` (JSON) and, when given one, the
/// operator's console on a configured address, loopback by default. Runs as a service of the
/// service group and stops with it.
///
/// `/metrics` and `/health` are answered on the server's event loop, so they answer while every
/// task of the process is busy syncing; console pages are rendered in a task.
public final class MetricsServer: Service, @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    let host: String
    let port: Int
    let health: @Sendable () -> (ok: Bool, body: String)
    let console: Console?
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var channel: Channel?

    /// `console` serves its pages beside `/metrics` and `/health`; without it other paths are 404.
    public init(
        address: String, registry: PrometheusCollectorRegistry, console: Console? = nil,
        health: @escaping @Sendable () -> (ok: Bool, body: String)
    ) {
        host = ServiceSettings.host(of: address)
        port = Int(address.split(separator: ":").last ?? "9464") ?? 9464
        self.registry = registry
        self.health = health
        self.console = console
    }

    /// Binds the socket; returns the port actually bound (for port 0).
    @discardableResult
    public func start() async throws -> Int {
        let registry = self.registry
        let health = self.health
        let console = self.console.flatMap { $0.settings.enabled ? $0 : nil }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(
                        ServiceHTTPHandler(registry: registry, health: health, console: console))
                }
            }
            .bind(host: host, port: port).get()
        self.channel = channel
        return channel.localAddress?.port ?? port
    }

    public func run() async throws {
        if channel == nil { try await start() }
        await withGracefulShutdownHandler {
            try? await channel?.closeFuture.get()
        } onGracefulShutdown: {
            self.channel?.close(promise: nil)
        }
        try? await group.shutdownGracefully()
    }
}

/// One connection: reads a request, answers it, closes.
final class ServiceHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    /// Larger request bodies are refused (the console's forms are a few hundred bytes).
    static let maximumBody = 64 * 1024
    let registry: PrometheusCollectorRegistry
    let health: @Sendable () -> (ok: Bool, body: String)
    let console: Console?
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    var tooLarge = false

    init(
        registry: PrometheusCollectorRegistry, health: @escaping @Sendable () -> (ok: Bool, body: String),
        console: Console?
    ) {
        self.registry = registry
        self.health = health
        self.console = console
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let value):
            head = value
            body = []
        case .body(let buffer):
            if body.count + buffer.readableBytes > Self.maximumBody {
                tooLarge = true
            } else {
                body += buffer.readableBytesView
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?").first.map(String.init) ?? ""
            switch path {
            case "/metrics":
                write(
                    HTTPResponseData(
                        status: 200, type: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToString()),
                    head, context)
            case "/health":
                let result = health()
                write(
                    HTTPResponseData(status: result.ok ? 200 : 503, type: "application/json", body: result.body), head,
                    context)
            default:
                guard let console else {
                    write(HTTPResponseData(status: 404, type: "text/plain", body: "not found\n"), head, context)
                    return
                }
                if tooLarge {
                    write(.text("request body too large", status: 413), head, context)
                    return
                }
                let request = HTTPRequestData(
                    method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                    body: body, peer: context.channel.remoteAddress?.ipAddress)
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                Task {
                    let response = await console.handle(request)
                    eventLoop.execute { self.write(response, head, bound.value) }
                }
            }
        }
    }

    func write(_ response: HTTPResponseData, _ request: HTTPRequestHead, _ context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Connection", value: "close")
        if !headers.contains(name: "Cache-Control") { headers.add(name: "Cache-Control", value: "no-store") }
        context.write(
            wrapOutboundOut(
                .head(
                    HTTPResponseHead(
                        version: request.version, status: HTTPResponseStatus(statusCode: response.status),
                        headers: headers))),
            promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let channel = context.channel  // Sendable, unlike the context
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
