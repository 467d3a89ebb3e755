import ConnectorAPI
import HTTP

/// How an adapter reaches its server over HTTP — TLS trust, proxy, timeouts — declared once for
/// every HTTP adapter. An adapter's settings hold it as one property (`let http =
/// HTTPConnectionSettings()`); ``ConfigSpec/init(declaredIn:)`` lists its settings in place.
public struct HTTPConnectionSettings: DeclaredSettingGroup, Sendable {
    public let caFile = Setting<String?>.string(
        "ca_file", doc: "CA certificates (PEM) to verify the server with, instead of the system's.")
    public let insecure = Setting<Bool>.boolean(
        "insecure", default: false,
        doc: "Do not verify the server's TLS certificate (logged as a warning on every start).")
    public let proxy = Setting<String?>.string("proxy", doc: "HTTP proxy, e.g. http://proxy:3128.")
    public let connectTimeout = Setting<Duration>.duration(
        "connect_timeout", default: "15s", positive: true, doc: "Connect timeout.")
    public let timeout = Setting<Duration>.duration(
        "timeout", default: "120s", positive: true, doc: "Total timeout per request.")

    public init() {}

    /// The HTTP client configuration these settings give, with the adapter's own concurrency and
    /// user agent.
    public func configuration(_ settings: Settings, maxConcurrency: Int, userAgent: String)
        -> HTTPClientConfiguration
    {
        var configuration = HTTPClientConfiguration()
        configuration.maxConcurrency = maxConcurrency
        configuration.caFile = settings[caFile]
        configuration.insecure = settings[insecure]
        configuration.proxy = settings[proxy]
        configuration.connectTimeout = settings[connectTimeout]
        configuration.totalTimeout = settings[timeout]
        configuration.userAgent = userAgent
        return configuration
    }

    /// Logs a warning when certificate verification is off (`insecure: true`), naming the server.
    public func warnIfInsecure(_ settings: Settings, server: String, log: (AdapterLogLevel, String) -> Void) {
        guard settings[insecure] else { return }
        log(.warning, "TLS certificate verification is OFF for \(server) ('insecure: true')")
    }
}
