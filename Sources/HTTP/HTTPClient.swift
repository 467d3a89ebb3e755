import Foundation

/// An HTTP/1.1 client over libcurl, made for EWS: SOAP requests with Basic, Digest, NTLM or
/// Negotiate authentication, many of them in parallel, with large streamed responses.
///
/// - Connections: libcurl easy handles are pooled by origin (`scheme://host:port`) and credential,
///   so keep-alive connections are reused, and an NTLM-authenticated connection is only ever used
///   with the credential it was authenticated with. A handle serves one request at a time.
/// - Concurrency: at most ``concurrencyLimit`` requests are in flight; later ones wait in FIFO order.
/// - Threads: each transfer runs the blocking `curl_easy_perform` on a thread of its own, never on
///   Swift's cooperative pool; the body callback is called on that thread.
/// - Cancellation: cancelling the calling task aborts the transfer (or leaves the queue) and the
///   call throws ``HTTPError/Kind-swift.enum/cancelled``.
/// - Redirects are not followed: a 3xx is returned like any other status.
public final class HTTPClient: Sendable {
    /// The settings every request uses.
    public let configuration: HTTPClientConfiguration
    private let limiter: ConcurrencyLimiter
    private let pool = HandlePool()

    /// A client with its own connections and concurrency limit.
    public init(configuration: HTTPClientConfiguration = .init()) {
        _ = CurlGlobal.initialized
        self.configuration = configuration
        limiter = ConcurrencyLimiter(limit: configuration.maxConcurrency)
    }

    deinit { pool.closeAll() }

    /// Sends a request and streams the response body to `onBody` in chunks as it arrives (at most
    /// 64 KiB each, decoded if compressed), so the caller can parse it incrementally; returns the head.
    ///
    /// `onBody` is called on the transfer's thread, one chunk after another, and only for the final
    /// response (not for the 401 legs of NTLM). An HTTP error status is returned, not thrown.
    ///
    /// - Throws: ``HTTPError`` when no response arrived: connection, TLS, proxy, timeout, transport
    ///   failures, or cancellation of the calling task.
    public func send(_ request: HTTPRequest, onBody: @escaping @Sendable (Data) -> Void) async throws
        -> HTTPResponseHead
    {
        try await send(request, onHead: nil, onBody: onBody)
    }

    /// Sends a request like ``send(_:onBody:)``; `onHead` sees the final response's status and
    /// headers before its first body bytes and answers whether the body goes to `onBody` (e.g. not
    /// a login page where a protocol answer was expected). It is not called for an empty body.
    public func send(
        _ request: HTTPRequest, onHead: (@Sendable (HTTPResponseHead) -> Bool)?,
        onBody: @escaping @Sendable (Data) -> Void
    ) async throws -> HTTPResponseHead {
        let safeURL = URLParts.redacted(request.url)
        guard let origin = URLParts.origin(request.url) else {
            throw HTTPError(kind: .transport, message: "not an absolute http or https URL", url: safeURL)
        }
        guard CurlGlobal.initialized else {
            throw HTTPError(kind: .transport, message: "libcurl could not be initialised", url: safeURL)
        }
        do {
            try await limiter.acquire()
        } catch {
            throw HTTPError(kind: .cancelled, message: "cancelled while waiting for a free request slot", url: safeURL)
        }
        defer { limiter.release() }
        if Task.isCancelled {
            throw HTTPError(kind: .cancelled, message: "the request was cancelled", url: safeURL)
        }
        let key = HandlePool.Key(origin: origin, auth: request.auth)
        guard let handle = pool.checkout(key) else {
            throw HTTPError(kind: .transport, message: "libcurl could not allocate a handle", url: safeURL)
        }
        defer { pool.checkin(handle, key: key, keep: max(limiter.limit, configuration.maxConcurrency)) }
        let transfer = Transfer(request: request, configuration: configuration, onHead: onHead, onBody: onBody)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<HTTPResponseHead, HTTPError>, Never>) in
                let thread = Thread {
                    continuation.resume(returning: transfer.perform(on: handle))
                }
                thread.name = "HTTP transfer"
                thread.start()
            }
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }

    /// Sends a request and collects the whole response body.
    ///
    /// - Throws: ``HTTPError`` as ``send(_:onBody:)`` does.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = BodyCollector()
        let head = try await send(request) { body.append($0) }
        return HTTPResponse(head: head, body: body.data)
    }

    /// How many requests may be in flight at once now.
    public var concurrencyLimit: Int { limiter.limit }

    /// Changes how many requests may be in flight (at least 1), e.g. lower when Exchange reports too
    /// many concurrent connections. Requests in flight go on; new ones start only below the new limit.
    public func setConcurrencyLimit(_ limit: Int) { limiter.setLimit(limit) }

    /// Closes the cached connections. The client stays usable and opens new connections as needed;
    /// connections of requests in flight are closed when those requests end.
    public func shutdown() { pool.closeAll() }

    /// Idle pooled handles, for tests.
    var idleHandleCount: Int { pool.idleCount }
}

/// Collects body chunks; they arrive one after another on the transfer thread.
private final class BodyCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()

    func append(_ chunk: Data) { lock.withLock { buffer.append(chunk) } }

    var data: Data { lock.withLock { buffer } }
}
