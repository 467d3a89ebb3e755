import ConnectorAPI
import Foundation
import GRDB
import Testing

@testable import ConnectorHost

@Suite("State store")
struct StateStoreTests {
    func store() throws -> (StateStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
        return (try StateStore(path: directory.appendingPathComponent("state.sqlite")), directory)
    }

    @Test("a new pairing replaces every row that held either of its ids, and only within its job")
    func repairingReplacesStaleRows() throws {
        let (store, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = JobKey(connector: "addresses", user: "MM")
        let other = JobKey(connector: "addresses", user: "AB")
        var first = StateChanges()
        first.mappings = [
            Mapping(sourceID: "s1", targetID: "t1", sourceVersion: "1", targetVersion: "1"),
            Mapping(sourceID: "s2", targetID: "t2", sourceVersion: "1", targetVersion: "1"),
        ]
        try store.commit(job, first)
        try store.commit(other, first)
        // s1 is paired anew with t2: both old rows (s1–t1 and s2–t2) held one of its ids.
        var second = StateChanges()
        second.mappings = [Mapping(sourceID: "s1", targetID: "t2", sourceVersion: "2", targetVersion: "2")]
        try store.commit(job, second)
        let mappings = try store.mappings(job)
        #expect(mappings.count == 1)
        #expect(mappings.first?.sourceID == "s1" && mappings.first?.targetID == "t2")
        #expect(mappings.first?.sourceVersion == "2")
        // The other job's rows with the same ids are untouched.
        #expect(try store.mappings(other).count == 2)
        // A pair with one side only (a detached half) replaces the row holding that id too.
        var third = StateChanges()
        third.mappings = [Mapping(sourceID: nil, targetID: "t2", targetVersion: "3", status: .detached)]
        try store.commit(job, third)
        let last = try store.mappings(job)
        #expect(last.count == 1 && last.first?.sourceID == nil && last.first?.status == .detached)
    }

    @Test("upgrading a state file brings items that earlier releases dead-lettered for transient reasons back to retry")
    func transientDeadLettersRevived() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("state.sqlite")
        // A state file as the previous release left it: schema up to v4, two dead letters.
        do {
            let queue = try DatabaseQueue(path: path.path)
            try StateStore.migrator.migrate(queue, upTo: "v4-intent-key-index")
            try queue.write { db in
                for (id, kind) in [("s1", "transient"), ("s2", "permanent")] {
                    try db.execute(
                        sql: """
                            INSERT INTO failure (connector, user, side, item_id, operation, name, kind, message,
                              attempts, dead, first_at, last_at) VALUES ('calendar', 'MM', 'source', ?, 'create', ?, ?,
                              'ErrorBatchProcessingStopped', 5, 1, 0, 0)
                            """, arguments: [id, "Termin \(id)", kind])
                }
            }
        }
        let store = try StateStore(path: path)
        let failures = try store.failures(JobKey(connector: "calendar", user: "MM"))
        #expect(failures.first { $0.itemID == "s1" }?.dead == false)
        #expect(failures.first { $0.itemID == "s2" }?.dead == true)
        #expect(failures.first { $0.itemID == "s1" }?.attempts == 5)
    }

    @Test("runs asked for through the state are taken once each, however often they were asked")
    func runRequests() throws {
        let (store, directory) = try store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mm = JobKey(connector: "contacts", user: "MM")
        let js = JobKey(connector: "calendar", user: "JS")
        #expect(try store.takeRunRequests().isEmpty)
        try store.requestRuns([mm, js])
        try store.requestRuns([mm])
        #expect(Set(try store.takeRunRequests()) == [mm, js])
        #expect(try store.takeRunRequests().isEmpty, "taken")
        try store.requestRuns([js])
        #expect(try store.takeRunRequests() == [js])
    }
}
