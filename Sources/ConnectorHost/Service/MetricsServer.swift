import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves `/metrics` (Prometheus text format) and `/health` (JSON) on a configured address,
/// loopback by default. Runs as a service of the service group and stops with it.
public final class MetricsServer: Service, @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    let host: String
    let port: Int
    let health: @Sendable () -> (ok: Bool, body: String)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var channel: Channel?

    public init(
        address: String, registry: PrometheusCollectorRegistry,
        health: @escaping @Sendable () -> (ok: Bool, body: String)
    ) {
        let parts = address.split(separator: ":")
        host = String(parts.first ?? "127.0.0.1")
        port = Int(parts.last ?? "9464") ?? 9464
        self.registry = registry
        self.health = health
    }

    /// Binds the socket; returns the port actually bound (for port 0).
    @discardableResult
    public func start() async throws -> Int {
        let registry = self.registry
        let health = self.health
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(registry: registry, health: health))
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

final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let registry: PrometheusCollectorRegistry
    let health: @Sendable () -> (ok: Bool, body: String)

    init(registry: PrometheusCollectorRegistry, health: @escaping @Sendable () -> (ok: Bool, body: String)) {
        self.registry = registry
        self.health = health
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let status: HTTPResponseStatus
        let body: String
        let type: String
        switch head.uri.split(separator: "?").first.map(String.init) ?? "" {
        case "/metrics":
            status = .ok
            body = registry.emitToString()
            type = "text/plain; version=0.0.4; charset=utf-8"
        case "/health":
            let result = health()
            status = result.ok ? .ok : .serviceUnavailable
            body = result.body
            type = "application/json"
        default:
            status = .notFound
            body = "not found\n"
            type = "text/plain"
        }
        var headers = HTTPHeaders([
            ("Content-Type", type), ("Content-Length", "\(body.utf8.count)"), ("Connection", "close"),
        ])
        headers.add(name: "Cache-Control", value: "no-store")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel  // Sendable, unlike the context
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
