import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import ODBC
import TestSupport
import Testing

/// What a run costs the database when nothing changed: one statement per connector and user.
@Suite struct QuietRunTests {
    func endpoint(_ h: Harness, kind: DataKind) async throws -> (any SyncEndpoint, any Adapter) {
        // A mail connector holds both mail types.
        let options = kind == .mail ? ", source_options: { mail: both }" : ""
        h.connectors = "  - { name: c, kind: \(kind.rawValue), source: flowfact, target: \(h.exchange)\(options) }"
        let adapter = try FlowFactAdapter.type.make(
            try h.deployment().adapters["flowfact"]!.settings,
            AdapterContext(instanceName: "flowfact", baseDirectory: h.directory, log: { _, _ in }))
        let endpoint = try await adapter.endpoint(
            for: EndpointScope(
                connector: "c", kind: kind, role: .source, user: "MM",
                account: FlowFactAdapter.type.account(on: "flowfact", ["user": "MM"])))
        return (endpoint, adapter)
    }

    /// Reads changes and counts the statements that took.
    func changes(_ endpoint: any SyncEndpoint, _ request: ChangeRequest) async throws -> (ChangeSet, Int) {
        let counter = ODBCStatementCounter()
        let set = try await ODBCStatistics.$counter.withValue(counter) { try await endpoint.changes(request) }
        return (set, counter.statements)
    }

    func known(_ set: ChangeSet) -> [ItemID: Version] {
        Dictionary(
            set.changes.compactMap { change -> (ItemID, Version)? in
                if case .upsert(let state) = change { (state.id, state.version) } else { nil }
            }, uniquingKeysWith: { $1 })
    }

    @Test(arguments: TestDatabase.allCases)
    func aQuietRunIsOneStatementAndDeletionsStillShow(database: TestDatabase) async throws {
        var counts = Harness.counts(addresses: 40, appointments: 10)
        counts.syncShare = 1
        let h = try Harness(database, seed: counts)
        for kind in [DataKind.address, .calendar] {
            let (endpoint, adapter) = try await endpoint(h, kind: kind)
            let (first, _) = try await changes(endpoint, ChangeRequest(cursor: nil, known: [:]))
            var known = known(first)
            #expect(!known.isEmpty)
            let (quiet, statements) = try await changes(endpoint, ChangeRequest(cursor: first.cursor, known: known))
            #expect(statements == 1, "\(kind): a quiet run is one statement")
            #expect(
                quiet.changes.allSatisfy { if case .upsert(let s) = $0 { known[s.id] == s.version } else { false } })

            // A deletion logged in DELLOG is found in the same run (the window read says the log grew).
            let gone = try #require(known.keys.sorted().first)
            try h.db.execute(
                "INSERT INTO \"DELLOG\" (\"TABELLE\", \"DATENSATZ_ID\", \"GELOESCHT_AM\") VALUES (?, ?, ?)",
                [.text(kind == .address ? "AD" : "AKT"), .text(gone), h.stamp(Date())])
            let (next, _) = try await changes(endpoint, ChangeRequest(cursor: quiet.cursor, known: known))
            #expect(next.changes.contains(.deleted(gone)), "\(kind): the logged deletion is reported")
            known.removeValue(forKey: gone)
            let (after, statements2) = try await changes(endpoint, ChangeRequest(cursor: next.cursor, known: known))
            #expect(statements2 == 1)
            #expect(!after.changes.contains(.deleted(gone)), "reported once")
            await adapter.shutdown()
        }
    }

    /// FlowFact marks a mail read by deactivating the user Merkmal's link alone (AENDDATUM stays).
    /// The window read counts the user's read and unread links in the same statement, so a quiet
    /// run stays one statement and a flipped flag is still seen on the next run.
    @Test(arguments: TestDatabase.allCases)
    func aQuietMailRunIsOneStatementAndReadFlagsStillShow(database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts(mails: 16))
        let (endpoint, adapter) = try await endpoint(h, kind: .mail)
        let (first, _) = try await changes(endpoint, ChangeRequest(cursor: nil, known: [:]))
        var known = known(first)
        #expect(known.count >= 4)
        let (quiet, statements) = try await changes(endpoint, ChangeRequest(cursor: first.cursor, known: known))
        #expect(statements == 1, "a quiet mail run is one statement")
        #expect(quiet.changes.allSatisfy { if case .upsert(let s) = $0 { known[s.id] == s.version } else { false } })

        // An unread mail read in FlowFact, and a read one marked unread, one run apart.
        let windowIDs = Set(quiet.changes.compactMap { if case .upsert(let s) = $0 { s.id } else { nil } })
        let unread = try #require(known.first { $0.value.hasSuffix("|u") && !windowIDs.contains($0.key) }?.key)
        let read = try #require(known.first { $0.value.hasSuffix("|r") && !windowIDs.contains($0.key) }?.key)
        var cursor = quiet.cursor
        for (id, active) in [(unread, 0), (read, 1)] {
            try h.db.execute(
                "UPDATE \"AKTMKM\" SET \"AKTIV\" = ? WHERE \"AKT_ID\" = ? AND \"MKM_ID\" = ?",
                [.integer(Int64(active)), .text(id), .text(Harness.userMerkmalMM)])
            let (next, _) = try await changes(endpoint, ChangeRequest(cursor: cursor, known: known))
            let state = next.changes.compactMap { if case .upsert(let s) = $0, s.id == id { s } else { nil } }.first
            #expect(state?.version.hasSuffix(active == 1 ? "|u" : "|r") == true, "\(id): \(String(describing: state))")
            guard case .mail(let mail)? = state?.record else {
                Issue.record("the flipped mail was not read again")
                continue
            }
            #expect(mail.isRead == (active == 0))
            known = self.known(next).merging(known) { new, _ in new }
            cursor = next.cursor
            let (after, quietStatements) = try await changes(endpoint, ChangeRequest(cursor: cursor, known: known))
            #expect(quietStatements == 1)
            #expect(
                after.changes.allSatisfy { if case .upsert(let s) = $0 { known[s.id] == s.version } else { false } })
            cursor = after.cursor
        }
        await adapter.shutdown()
    }

    /// A crash during a first run leaves the pairs it committed but no cursor: the next read is a
    /// full one again. A known row deleted in between must show as deleted, or its copy stays.
    @Test(arguments: TestDatabase.allCases)
    func aFullReadReportsKnownRowsDeletedInBetween(database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts(appointments: 6))
        let (endpoint, adapter) = try await endpoint(h, kind: .calendar)
        let first = try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))
        let known = self.known(first)
        #expect(known.count == 6)
        let victim = try #require(known.keys.sorted().first)
        try h.db.execute("DELETE FROM \"AKTMKM\" WHERE \"AKT_ID\" = ?", [.text(victim)])
        try h.db.execute("DELETE FROM \"AKT\" WHERE \"ID\" = ?", [.text(victim)])
        let again = try await endpoint.changes(ChangeRequest(cursor: nil, known: known))
        #expect(again.isFullScan)
        let deleted = again.changes.compactMap { if case .deleted(let id) = $0 { id } else { nil } }
        #expect(deleted == [victim])
        #expect(self.known(again).count == 5)
        await adapter.shutdown()
    }

    /// The engine's look at a mail's fields (where a moved mail went) reads the rows alone: one
    /// statement, no attachment list, no BLOB copied into the spool; a full read has them.
    @Test(arguments: TestDatabase.allCases)
    func aFieldsReadIsTheRowsAlone(database: TestDatabase) async throws {
        let h = try Harness(database, seed: Harness.counts(mails: 12))
        let (endpoint, adapter) = try await endpoint(h, kind: .mail)
        let ids = Array(known(try await endpoint.changes(ChangeRequest(cursor: nil, known: [:]))).keys)
        #expect(ids.count >= 4)
        func count<T>(_ body: () async throws -> T) async throws -> (T, Int) {
            let counter = ODBCStatementCounter()
            let value = try await ODBCStatistics.$counter.withValue(counter) { try await body() }
            return (value, counter.statements)
        }
        let (whole, wholeStatements) = try await count { try await endpoint.read(ids: ids) }
        let (fields, fieldStatements) = try await count { try await endpoint.readFields(ids: ids) }
        func mails(_ states: [ItemID: ItemState]) -> [ItemID: MailMessage] {
            states.compactMapValues { if case .mail(let mail) = $0.record { mail } else { nil } }
        }
        let full = mails(whole)
        let light = mails(fields)
        #expect(Set(light.keys) == Set(ids))
        #expect(light.mapValues(\.messageID) == full.mapValues(\.messageID))
        #expect(light.mapValues(\.isRead) == full.mapValues(\.isRead))
        #expect(full.values.contains { !$0.attachments.isEmpty }, "the seed has mails with attachments")
        #expect(light.values.allSatisfy { $0.attachments.isEmpty })
        #expect(fieldStatements == 1, "the rows alone")
        #expect(wholeStatements > fieldStatements)
        await adapter.shutdown()
    }

    @Test(arguments: TestDatabase.allCases)
    func anEmptyScopeStillSeesTheLog(database: TestDatabase) async throws {
        // Nothing in scope: the window read returns no row to carry the log's count, so the log is read.
        let h = try Harness(database, seed: Harness.counts(tasks: 0))
        let (endpoint, adapter) = try await endpoint(h, kind: .task)
        let (first, _) = try await changes(endpoint, ChangeRequest(cursor: nil, known: [:]))
        #expect(first.changes.isEmpty)
        let (_, statements) = try await changes(endpoint, ChangeRequest(cursor: first.cursor, known: [:]))
        #expect(statements == 2)
        await adapter.shutdown()
    }
}
