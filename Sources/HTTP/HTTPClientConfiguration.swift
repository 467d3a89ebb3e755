/// Settings of one ``HTTPClient``, applied to every request it sends.
public struct HTTPClientConfiguration: Sendable {
    /// How many requests may be in flight at once on one client (at least 1). It can be lowered
    /// later with ``HTTPClient/setConcurrencyLimit(_:)``.
    public var maxConcurrency = 8
    /// How long establishing a connection (TCP, proxy and TLS) may take.
    public var connectTimeout: Duration = .seconds(15)
    /// How long a whole request may take, connection and body included. Zero means no limit.
    public var totalTimeout: Duration = .seconds(120)
    /// A PEM file of trusted certificate authorities (CURLOPT_CAINFO), e.g. an on-premises CA;
    /// `nil` uses the system's store.
    public var caFile: String? = nil
    /// Turns off verification of the server's certificate and host name. For tests only.
    public var insecure = false
    /// A proxy URL (CURLOPT_PROXY), e.g. `http://proxy:3128`. `nil` connects directly and ignores
    /// the `http_proxy`/`https_proxy` environment variables, so behaviour depends on configuration only.
    public var proxy: String? = nil
    /// Asks for compressed responses (gzip, deflate and what else libcurl supports) and decodes them
    /// transparently (CURLOPT_ACCEPT_ENCODING "").
    public var gzip = true
    /// The User-Agent header.
    public var userAgent = "connector-host"

    /// The defaults: 8 parallel requests, 15 s to connect, 120 s per request, verified TLS, no proxy, gzip.
    public init() {}
}
