import Foundation
import GRDB

/// How a mailbox is doing, as the service and `status` show it.
public struct MailboxState: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Syncing normally.
        case enabled
        /// The last runs failed for a reason that may pass; retried with backoff.
        case failing
        /// Repeated permanent errors (credentials, rights, mailbox gone): not synced until
        /// `connector-host enable --mailbox` is run.
        case disabled
    }
    public var address: String
    public var status: Status
    /// Consecutive failed runs.
    public var failures: Int
    /// Consecutive runs that failed for a permanent reason.
    public var permanentFailures: Int
    public var reason: String?
    public var lastSuccess: Date?
    public var lastError: Date?
}

extension StateStore {
    public func mailboxStates() throws -> [MailboxState] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM mailbox ORDER BY address").map(Self.mailboxState)
        }
    }

    public func mailboxState(_ address: String) throws -> MailboxState {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mailbox WHERE address = ?", arguments: [address.lowercased()]).map(
                Self.mailboxState)
        } ?? MailboxState(address: address.lowercased(), status: .enabled, failures: 0, permanentFailures: 0)
    }

    static func mailboxState(_ row: Row) -> MailboxState {
        MailboxState(
            address: row["address"], status: MailboxState.Status(rawValue: row["status"]) ?? .enabled,
            failures: row["failures"],
            permanentFailures: row["permanent_failures"], reason: row["reason"],
            lastSuccess: (row["last_success"] as Double?).map { Date(timeIntervalSince1970: $0) },
            lastError: (row["last_error"] as Double?).map { Date(timeIntervalSince1970: $0) })
    }

    func save(_ state: MailboxState) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO mailbox (address, status, failures, permanent_failures, reason, last_success, last_error, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    state.address, state.status.rawValue, state.failures, state.permanentFailures, state.reason,
                    state.lastSuccess?.timeIntervalSince1970, state.lastError?.timeIntervalSince1970,
                    Date().timeIntervalSince1970,
                ])
        }
    }

    /// A run of the mailbox succeeded: failure counts reset (a disabled mailbox stays disabled).
    @discardableResult
    public func recordSuccess(_ address: String) throws -> MailboxState {
        var state = try mailboxState(address)
        guard state.status != .disabled else { return state }
        state.status = .enabled
        state.failures = 0
        state.permanentFailures = 0
        state.reason = nil
        state.lastSuccess = Date()
        try save(state)
        return state
    }

    /// A run failed. After `disableAfter` consecutive permanent failures the mailbox is disabled.
    /// `newRound` is false for a further failed job of a round already counted: the mailbox's
    /// connectors fail together when its server is down, and that is one failure, not one per job.
    @discardableResult
    public func recordFailure(
        _ address: String, reason: String, permanent: Bool, disableAfter: Int, newRound: Bool = true
    ) throws -> MailboxState {
        var state = try mailboxState(address)
        guard state.status != .disabled else { return state }
        if newRound {
            state.failures += 1
            state.permanentFailures = permanent ? state.permanentFailures + 1 : 0
        } else if !permanent {
            state.permanentFailures = 0
        }
        state.reason = reason
        state.lastError = Date()
        state.status = permanent && state.permanentFailures >= disableAfter ? .disabled : .failing
        try save(state)
        return state
    }

    /// Re-enables a mailbox after its cause was fixed. Returns false when the state knows no such mailbox.
    @discardableResult
    public func enable(_ address: String) throws -> Bool {
        let known = try database.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM mailbox WHERE address = ?", arguments: [address.lowercased()]) ?? 0
        }
        guard known > 0 else { return false }
        var state = try mailboxState(address)
        state.status = .enabled
        state.failures = 0
        state.permanentFailures = 0
        state.reason = nil
        try save(state)
        return true
    }
}
