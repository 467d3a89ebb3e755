import CCurl
import Foundation

/// A libcurl easy handle with a multi handle of its own that drives it. The multi handle holds the
/// connection cache, which outlives each transfer, so keeping the pair keeps its keep-alive
/// connections; and `curl_multi_wakeup` lets another thread interrupt a transfer at once.
final class EasyHandle: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    let multi: UnsafeMutableRawPointer
    /// The pool generation it was created in; a handle from before `closeAll` is not pooled again.
    let generation: Int

    init?(generation: Int) {
        guard let easy = curl_easy_init() else { return nil }
        guard let multi = curl_multi_init() else {
            curl_easy_cleanup(easy)
            return nil
        }
        self.easy = easy
        self.multi = multi
        self.generation = generation
    }

    /// Closes the handles and their connections.
    func close() {
        curl_easy_cleanup(easy)
        curl_multi_cleanup(multi)
    }
}

/// Idle easy handles, by origin and credential.
///
/// NTLM and Negotiate authenticate a connection, so a handle (and the connections it caches) stays
/// with one credential: the key holds the whole `HTTPAuth`. A handle is out of the pool while a
/// request uses it, so two requests never share one.
final class HandlePool: @unchecked Sendable {
    struct Key: Hashable {
        /// `scheme://host:port`.
        var origin: String
        var auth: HTTPAuth
    }

    private let lock = NSLock()
    private var idle: [Key: [EasyHandle]] = [:]
    private var generation = 0

    /// An idle handle for `key`, the one used last, or a new one; `nil` if libcurl cannot allocate one.
    func checkout(_ key: Key) -> EasyHandle? {
        let (handle, current): (EasyHandle?, Int) = lock.withLock {
            (idle[key]?.popLast(), generation)
        }
        return handle ?? EasyHandle(generation: current)
    }

    /// Returns a handle after its transfer; it is closed instead when `keep` handles of the key are
    /// already idle or the pool was closed since the handle was made.
    func checkin(_ handle: EasyHandle, key: Key, keep: Int) {
        let pooled: Bool = lock.withLock {
            guard handle.generation == generation, idle[key, default: []].count < keep else { return false }
            idle[key, default: []].append(handle)
            return true
        }
        if !pooled { handle.close() }
    }

    /// Closes every idle handle and its connections; handles in use are closed when they come back.
    func closeAll() {
        let handles: [EasyHandle] = lock.withLock {
            generation += 1
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for handle in handles { handle.close() }
    }

    /// How many handles are idle, for tests and diagnostics.
    var idleCount: Int { lock.withLock { idle.values.reduce(0) { $0 + $1.count } } }

    deinit {
        for handle in idle.values.flatMap({ $0 }) { handle.close() }
    }
}
