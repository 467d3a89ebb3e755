import Foundation
import Testing

@testable import ConnectorHost

/// One process at a time runs jobs on a state: the lock beside it, released when its holder ends.
@Suite("State lock")
struct StateLockTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)")
    var state: URL { directory.appendingPathComponent("state/state.sqlite") }

    @Test("the first taker holds the lock with its process id; a second is told who holds it; released, it is free")
    func inProcess() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            guard case .acquired(let lock) = try StateLock.acquire(statePath: state) else {
                Issue.record("a free lock was not taken")
                return
            }
            #expect(lock.path.lastPathComponent == "state.sqlite.lock")
            #expect(try String(contentsOf: lock.path, encoding: .utf8) == "\(getpid())\n")
            guard case .held(let pid) = try StateLock.acquire(statePath: state) else {
                Issue.record("a held lock was taken twice")
                return
            }
            #expect(pid == getpid())
            lock.release()
        }
        guard case .acquired = try StateLock.acquire(statePath: state) else {
            Issue.record("a released lock was not taken again")
            return
        }
    }

    @Test("a lock held by a process that was killed (SIGKILL) is free again at once")
    func killedHolder() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(
            at: state.deletingLastPathComponent(), withIntermediateDirectories: true)
        let path = StateLock.lockPath(forState: state).path
        // util-linux flock(1) holds the same kind of lock while its command runs (-o: flock alone holds it).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--exclusive", "-o", path, "sleep", "61.4242"]
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer { _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/pkill"), arguments: ["-f", "sleep 61.4242"]) }
        let deadline = Date().addingTimeInterval(30)
        // Taken here while flock(1) starts (and released at once), until flock(1) has it.
        func heldElsewhere() throws -> Bool {
            if case .held = try StateLock.acquire(statePath: state) { return true }
            return false
        }
        while try !heldElsewhere() && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try heldElsewhere(), "the other process's lock was seen")
        // The kernel releases the lock as the process dies, before anyone reaps it.
        kill(holder.processIdentifier, SIGKILL)
        var free = false
        while !free && Date() < deadline {
            if case .acquired = try StateLock.acquire(statePath: state) {
                free = true
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        #expect(free, "the dead holder's lock was released by the kernel")
    }
}
