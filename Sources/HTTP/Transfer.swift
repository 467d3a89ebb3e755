import CCurl
import Foundation

/// libcurl's process-wide initialisation, done once before the first handle.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(ch_global_default) == CURLE_OK
}

/// One request on one handle, performed by a blocking loop of `curl_multi_perform` and
/// `curl_multi_poll` on the thread that calls ``perform(on:)``. The callbacks reach this object
/// through libcurl's user-data pointers.
final class Transfer: @unchecked Sendable {
    private let request: HTTPRequest
    private let configuration: HTTPClientConfiguration
    private let onBody: @Sendable (Data) -> Void
    /// Asked once, at the final response's first body bytes, whether its body goes to `onBody`.
    private let onHead: (@Sendable (HTTPResponseHead) -> Bool)?
    /// The answer of `onHead` (nil until asked). Transfer thread only.
    private var deliverBody: Bool?
    /// The easy handle while the transfer runs. Transfer thread only.
    private var currentEasy: UnsafeMutableRawPointer?
    private let lock = NSLock()
    private var cancelled = false
    /// The multi handle while the transfer runs, to wake its poll on cancellation.
    private var activeMulti: UnsafeMutableRawPointer?
    /// What failed when a multi-handle call did (transfer thread only).
    private var multiFailure: String?
    /// Headers of the response being received; reset at each status line. Transfer thread only.
    private var headers: [(String, String)] = []
    /// The reader of a streamed request body, replaced by a fresh one when libcurl rewinds. Transfer thread only.
    private var bodyReader: (any HTTPBodyReader)?
    /// Why the streamed request body failed, if it did. Transfer thread only.
    private var bodyFailure: String?

    init(
        request: HTTPRequest, configuration: HTTPClientConfiguration,
        onHead: (@Sendable (HTTPResponseHead) -> Bool)? = nil, onBody: @escaping @Sendable (Data) -> Void
    ) {
        self.request = request
        self.configuration = configuration
        self.onHead = onHead
        self.onBody = onBody
    }

    /// Body bytes of the final response (libcurl skips those of authentication legs): to
    /// `onBody`, unless `onHead` declined them.
    private func received(_ data: Data) {
        if deliverBody == nil {
            if let onHead, let curl = currentEasy {
                var status = 0
                _ = ch_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
                deliverBody = onHead(HTTPResponseHead(status: status, headers: headers))
            } else {
                deliverBody = true
            }
        }
        if deliverBody == true { onBody(data) }
    }

    /// Stops the transfer: wakes its poll at once, and the loop then abandons it.
    func cancel() {
        lock.withLock {
            cancelled = true
            // Under the lock: `perform` clears it before the handle can be closed.
            if let activeMulti { curl_multi_wakeup(activeMulti) }
        }
    }

    var isCancelled: Bool { lock.withLock { cancelled } }

    /// The request's URL without user information, for errors.
    var safeURL: String { URLParts.redacted(request.url) }

    /// Runs the request to completion. Blocks: call it on a dedicated thread.
    func perform(on handle: EasyHandle) -> Result<HTTPResponseHead, HTTPError> {
        let curl = handle.easy
        currentEasy = curl
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer {
            // Forget every pointer into this transfer (keeps the connections), then free.
            curl_easy_reset(curl)
            currentEasy = nil
            bodyReader = nil
            curl_slist_free_all(headerList)
            errorBuffer.deallocate()
        }
        curl_easy_reset(curl)
        let context = Unmanaged.passUnretained(self).toOpaque()
        var setupFailure: CURLcode?
        func set(_ code: CURLcode) {
            if code != CURLE_OK && setupFailure == nil { setupFailure = code }
        }

        set(ch_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer))
        set(ch_setopt_string(curl, CURLOPT_URL, request.url))
        set(ch_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ch_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        // One request per connection at a time and NTLM both need HTTP/1.1.
        set(ch_setopt_long(curl, CURLOPT_HTTP_VERSION, ch_http_version_1_1))
        set(ch_setopt_long(curl, CURLOPT_TCP_KEEPALIVE, 1))
        set(ch_setopt_long(curl, CURLOPT_BUFFERSIZE, 64 * 1024))
        set(ch_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout)))
        set(ch_setopt_long(curl, CURLOPT_TIMEOUT_MS, Self.milliseconds(configuration.totalTimeout)))
        set(ch_setopt_string(curl, CURLOPT_USERAGENT, configuration.userAgent))
        if configuration.gzip { set(ch_setopt_string(curl, CURLOPT_ACCEPT_ENCODING, "")) }
        if configuration.insecure {
            set(ch_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0))
            set(ch_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0))
        }
        if let caFile = configuration.caFile { set(ch_setopt_string(curl, CURLOPT_CAINFO, caFile)) }
        // "" means no proxy, not even one from the environment.
        set(ch_setopt_string(curl, CURLOPT_PROXY, configuration.proxy ?? ""))
        set(ch_setopt_long(curl, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1))

        switch request.auth {
        case .none:
            break
        case .basic(let user, let password):
            set(ch_setopt_long(curl, CURLOPT_HTTPAUTH, ch_auth_basic))
            set(ch_setopt_string(curl, CURLOPT_USERNAME, user))
            set(ch_setopt_string(curl, CURLOPT_PASSWORD, password))
        case .digest(let user, let password):
            // Digest only (not CURLAUTH_ANY): a server that offers Basic as well never gets the
            // password in the clear. libcurl probes with an empty body, answers the 401 challenge
            // and then sends the body; the nonce is forgotten with the handle's reset after the
            // transfer, so each request starts with a challenge.
            set(ch_setopt_long(curl, CURLOPT_HTTPAUTH, ch_auth_digest))
            set(ch_setopt_string(curl, CURLOPT_USERNAME, user))
            set(ch_setopt_string(curl, CURLOPT_PASSWORD, password))
        case .ntlm(let user, let password):
            set(ch_setopt_long(curl, CURLOPT_HTTPAUTH, ch_auth_ntlm))
            set(ch_setopt_string(curl, CURLOPT_USERNAME, user))
            set(ch_setopt_string(curl, CURLOPT_PASSWORD, password))
        case .negotiate(let user, let password):
            // libcurl attempts authentication only when a user name is set, even an empty one.
            set(ch_setopt_long(curl, CURLOPT_HTTPAUTH, ch_auth_negotiate))
            set(ch_setopt_string(curl, CURLOPT_USERNAME, user ?? ""))
            set(ch_setopt_string(curl, CURLOPT_PASSWORD, password ?? ""))
        }

        let method = request.method.uppercased()
        if method == "HEAD" {
            set(ch_setopt_long(curl, CURLOPT_NOBODY, 1))
        } else if let stream = request.bodyStream {
            // Read as libcurl sends; with a length, Content-Length rather than chunked encoding.
            do {
                bodyReader = try stream.makeReader()
            } catch {
                return .failure(
                    HTTPError(
                        kind: .transport, message: "the request body could not be started: \(error)", url: safeURL))
            }
            set(ch_setopt_long(curl, CURLOPT_POST, 1))
            set(ch_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(stream.length ?? -1)))
            set(
                ch_setopt_readfunction(curl) { data, size, count, context in
                    guard let data, let context else { return ch_readfunc_abort }
                    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                    if transfer.isCancelled { return ch_readfunc_abort }
                    return transfer.readBody(into: UnsafeMutableRawBufferPointer(start: data, count: size * count))
                })
            set(ch_setopt_pointer(curl, CURLOPT_READDATA, context))
            set(
                ch_setopt_seekfunction(curl) { context, offset, origin in
                    guard let context, origin == SEEK_SET else { return ch_seekfunc_cantseek }
                    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                    return transfer.rewindBody(to: Int64(offset)) ? ch_seekfunc_ok : ch_seekfunc_fail
                })
            set(ch_setopt_pointer(curl, CURLOPT_SEEKDATA, context))
            if method != "POST" { set(ch_setopt_string(curl, CURLOPT_CUSTOMREQUEST, request.method)) }
        } else if request.body.isEmpty && method != "POST" {
            if method == "GET" {
                set(ch_setopt_long(curl, CURLOPT_HTTPGET, 1))
            } else {
                set(ch_setopt_string(curl, CURLOPT_CUSTOMREQUEST, request.method))
            }
        } else {
            // libcurl copies the body, and can send it again for an authentication leg.
            set(ch_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            request.body.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    set(ch_setopt_pointer(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
                } else {
                    set(ch_setopt_string(curl, CURLOPT_COPYPOSTFIELDS, ""))
                }
            }
            if method != "POST" { set(ch_setopt_string(curl, CURLOPT_CUSTOMREQUEST, request.method)) }
        }

        var lines = request.headers.map { name, value in
            let clean = { (text: String) in
                String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
            }
            // libcurl sends "Name;" as a header with an empty value ("Name:" would remove it).
            return value.isEmpty ? "\(clean(name));" : "\(clean(name)): \(clean(value))"
        }
        // No "Expect: 100-continue" round trip before POST bodies.
        lines.append("Expect:")
        if request.hasBody || method == "POST",
            !request.headers.contains(where: { $0.0.caseInsensitiveCompare("Content-Type") == .orderedSame })
        {
            // Not libcurl's default application/x-www-form-urlencoded.
            lines.append("Content-Type:")
        }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                set(CURLE_OUT_OF_MEMORY)
                break
            }
            headerList = appended
        }
        set(ch_setopt_slist(curl, CURLOPT_HTTPHEADER, headerList))

        set(
            ch_setopt_datafunction(curl, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                let length = size * count
                guard let data, let context else { return length }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                transfer.receivedHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
                return length
            })
        set(ch_setopt_pointer(curl, CURLOPT_HEADERDATA, context))
        set(
            ch_setopt_datafunction(curl, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let length = size * count
                guard let data, let context else { return length }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                // A short count makes libcurl stop with CURLE_WRITE_ERROR.
                if transfer.isCancelled { return 0 }
                if length > 0 { transfer.received(Data(bytes: data, count: length)) }
                return length
            })
        set(ch_setopt_pointer(curl, CURLOPT_WRITEDATA, context))

        if let setupFailure {
            return .failure(error(for: setupFailure, curl: curl, errorBuffer: errorBuffer))
        }
        let code = withExtendedLifetime(self) { run(handle) }
        if code != CURLE_OK { return .failure(error(for: code, curl: curl, errorBuffer: errorBuffer)) }
        var status = 0
        _ = ch_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponseHead(status: status, headers: headers))
    }

    /// Drives the transfer to its end, or until cancelled; returns its result code.
    private func run(_ handle: EasyHandle) -> CURLcode {
        let multi = handle.multi
        let admitted: Bool = lock.withLock {
            if cancelled { return false }
            activeMulti = multi
            return true
        }
        guard admitted else { return CURLE_ABORTED_BY_CALLBACK }
        defer { lock.withLock { activeMulti = nil } }
        func failed(_ call: String, _ code: CURLMcode) -> CURLcode {
            multiFailure = "\(call) failed: \(String(cString: curl_multi_strerror(code)))"
            return CURLE_FAILED_INIT
        }
        let added = curl_multi_add_handle(multi, handle.easy)
        guard added == CURLM_OK else { return failed("curl_multi_add_handle", added) }
        // Removing an unfinished transfer closes its connection, which is what an abort needs.
        defer { curl_multi_remove_handle(multi, handle.easy) }
        while true {
            var running: Int32 = 0
            let performed = curl_multi_perform(multi, &running)
            guard performed == CURLM_OK else { return failed("curl_multi_perform", performed) }
            if running == 0 { break }
            if isCancelled { return CURLE_ABORTED_BY_CALLBACK }
            // Returns on socket activity, a libcurl timer (timeouts included), or a wakeup.
            let polled = curl_multi_poll(multi, nil, 0, 1000, nil)
            guard polled == CURLM_OK else { return failed("curl_multi_poll", polled) }
            if isCancelled { return CURLE_ABORTED_BY_CALLBACK }
        }
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            if message.pointee.msg == CURLMSG_DONE { return message.pointee.data.result }
        }
        multiFailure = "libcurl reported no result for the transfer"
        return CURLE_FAILED_INIT
    }

    /// The next bytes of the streamed body for libcurl; on failure remembers why and aborts the transfer.
    private func readBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let bodyReader else { return ch_readfunc_abort }
        do {
            return try bodyReader.read(into: buffer)
        } catch {
            bodyFailure = "reading the request body failed: \(error)"
            return ch_readfunc_abort
        }
    }

    /// Starts the streamed body again at `offset` (libcurl rewinds to 0 to resend it).
    private func rewindBody(to offset: Int64) -> Bool {
        guard let stream = request.bodyStream else { return false }
        do {
            bodyReader = try stream.makeReader(at: offset)
            return true
        } catch {
            bodyFailure = "rewinding the request body failed: \(error)"
            return false
        }
    }

    private var cancelledError: HTTPError {
        HTTPError(kind: .cancelled, message: "the request was cancelled", url: safeURL)
    }

    /// One header line from libcurl: a status line, a header, a folded continuation or the blank end.
    private func receivedHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        var line = String(decoding: bytes, as: UTF8.self)
        while line.hasSuffix("\n") || line.hasSuffix("\r") || line.hasSuffix("\r\n") { line.removeLast() }
        if line.hasPrefix("HTTP/") {
            // A new response (after a 401 leg, a 100 Continue or a redirect): only the last counts.
            headers = []
        } else if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
            headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
    }

    /// Maps a libcurl failure to an ``HTTPError`` with libcurl's message, minus any password.
    private func error(for code: CURLcode, curl: UnsafeMutableRawPointer, errorBuffer: UnsafePointer<CChar>)
        -> HTTPError
    {
        if isCancelled { return cancelledError }
        if let bodyFailure {
            return HTTPError(kind: .transport, message: bodyFailure, url: safeURL, curlCode: Int(code.rawValue))
        }
        if code == CURLE_ABORTED_BY_CALLBACK { return cancelledError }
        var message = multiFailure ?? String(cString: errorBuffer)
        if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
        // libcurl's messages hold no credentials; this makes sure. Very short secrets are left alone:
        // starring every occurrence of one or two characters would reveal more than it hides.
        let secrets = request.auth.secrets + [URLParts.password(request.url)].compactMap { $0 }
        for secret in secrets where secret.count >= 4 {
            message = message.replacingOccurrences(of: secret, with: "***")
        }
        var connectCode = 0
        _ = ch_getinfo_long(curl, CURLINFO_HTTP_CONNECTCODE, &connectCode)
        return HTTPError(
            kind: Self.kind(of: code, proxyConfigured: configuration.proxy != nil, connectCode: connectCode),
            message: message, url: safeURL, curlCode: Int(code.rawValue))
    }

    /// The ``HTTPError/Kind`` of a libcurl result code.
    static func kind(of code: CURLcode, proxyConfigured: Bool, connectCode: Int) -> HTTPError.Kind {
        switch code {
        case CURLE_COULDNT_CONNECT:
            // Through a proxy, the only connection libcurl makes itself is the one to the proxy.
            return proxyConfigured ? .proxy : .connect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_INTERFACE_FAILED:
            return .connect
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            return .tls
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_PROXY:
            return .proxy
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled
        default:
            // A tunnel the proxy refused (e.g. CONNECT answered with 407 or 502).
            if proxyConfigured && connectCode >= 300 { return .proxy }
            return .transport
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(0, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
