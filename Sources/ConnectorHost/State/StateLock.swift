import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeps two processes from running jobs on one state file at once: the service (`run`) and an
/// administrator's `sync --once`, `resolve` or `retry` would otherwise read the same cursors and
/// write the same items side by side (two creates for one item). An advisory lock (`flock`) on
/// the file `<state>.lock` beside the state, holding the holder's process id; the kernel releases
/// it when the process ends, however it ends (SIGKILL, power cut), so a stale lock never blocks.
public final class StateLock: Sendable {
    /// Whether the lock was taken, or which process holds it.
    public enum Outcome: Sendable {
        /// This process holds the lock until the ``StateLock`` is released.
        case acquired(StateLock)
        /// Another process holds it; its process id when it could be read.
        case held(by: Int32?)
    }

    /// The lock file.
    public let path: URL
    private let descriptor: Int32
    private let released = Mutex(false)

    private init(path: URL, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Releases the lock (also when the value goes away, or the process ends).
    public func release() {
        let first = released.withLock { done in
            defer { done = true }
            return !done
        }
        if first { close(descriptor) }
    }

    /// The lock file of a state database: `<state>.lock` beside it.
    public static func lockPath(forState statePath: URL) -> URL {
        statePath.deletingLastPathComponent().appendingPathComponent(statePath.lastPathComponent + ".lock")
    }

    /// Takes the lock of the state at `statePath` without waiting, creating the state's folder and
    /// the lock file when needed.
    public static func acquire(statePath: URL) throws -> Outcome {
        let path = lockPath(forState: statePath)
        try FileManager.default.createDirectory(
            at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StateLockError(path: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let cause = errno
            close(descriptor)
            guard cause == EWOULDBLOCK else {
                throw StateLockError(path: path, reason: String(cString: strerror(cause)))
            }
            return .held(by: holder(path))
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return .acquired(StateLock(path: path, descriptor: descriptor))
    }

    /// The process id written by the lock's holder, if the file holds one.
    static func holder(_ path: URL) -> Int32? {
        guard let text = try? String(contentsOf: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The lock file of a state cannot be opened or locked (a folder without write access).
public struct StateLockError: Error, CustomStringConvertible {
    public var path: URL
    public var reason: String
    public var description: String { "cannot lock the state (\(path.path)): \(reason)" }
}
