import ConnectorAPI
import Foundation
import GRDB

/// How an account is doing, as the service and `status` show it. The account a job runs for is
/// the user's account on the connector's target; its jobs share its health.
public struct AccountState: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Syncing normally.
        case enabled
        /// The last runs failed for a reason that may pass; retried with backoff.
        case failing
        /// Repeated permanent errors (credentials, rights, account gone): not synced until
        /// `connector-host enable --account` is run.
        case disabled
    }
    /// The adapter instance; empty for a state kept by an earlier release (which knew the name
    /// only), until the account next runs.
    public var adapter: String
    /// The account's name (see ``Account/name``).
    public var name: String
    public var status: Status
    /// Consecutive failed runs.
    public var failures: Int
    /// Consecutive runs that failed for a permanent reason.
    public var permanentFailures: Int
    public var reason: String?
    public var lastSuccess: Date?
    public var lastError: Date?

    /// `adapter:name`, or the name alone for a state from an earlier release.
    public var label: String { adapter.isEmpty ? name : "\(adapter):\(name)" }
}

extension StateStore {
    public func accountStates() throws -> [AccountState] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account_state ORDER BY adapter, name").map(Self.accountState)
        }
    }

    /// The state of an account (or the one an earlier release kept under its name).
    public func accountState(_ account: Account) throws -> AccountState {
        try database.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM account_state WHERE name = ? AND adapter IN (?, '') ORDER BY adapter DESC LIMIT 1",
                arguments: [account.name, account.adapter]
            ).map(Self.accountState)
        }.map { state in
            var state = state
            state.adapter = account.adapter
            return state
        }
            ?? AccountState(
                adapter: account.adapter, name: account.name, status: .enabled, failures: 0, permanentFailures: 0)
    }

    static func accountState(_ row: Row) -> AccountState {
        AccountState(
            adapter: row["adapter"], name: row["name"],
            status: AccountState.Status(rawValue: row["status"]) ?? .enabled,
            failures: row["failures"],
            permanentFailures: row["permanent_failures"], reason: row["reason"],
            lastSuccess: (row["last_success"] as Double?).map { Date(timeIntervalSince1970: $0) },
            lastError: (row["last_error"] as Double?).map { Date(timeIntervalSince1970: $0) })
    }

    func save(_ state: AccountState) throws {
        try database.write { db in
            // A state kept by an earlier release under the name alone now belongs to this instance.
            try db.execute(
                sql: "DELETE FROM account_state WHERE adapter = '' AND name = ? AND ? <> ''",
                arguments: [state.name, state.adapter])
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO account_state (adapter, name, status, failures, permanent_failures, reason, last_success, last_error, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    state.adapter, state.name, state.status.rawValue, state.failures, state.permanentFailures,
                    state.reason, state.lastSuccess?.timeIntervalSince1970, state.lastError?.timeIntervalSince1970,
                    Date().timeIntervalSince1970,
                ])
        }
    }

    /// A run of the account succeeded: failure counts reset (a disabled account stays disabled).
    @discardableResult
    public func recordSuccess(_ account: Account) throws -> AccountState {
        var state = try accountState(account)
        guard state.status != .disabled else { return state }
        state.status = .enabled
        state.failures = 0
        state.permanentFailures = 0
        state.reason = nil
        state.lastSuccess = Date()
        try save(state)
        return state
    }

    /// A run failed. After `disableAfter` consecutive permanent failures the account is disabled.
    /// `newRound` is false for a further failed job of a round already counted: the account's
    /// connectors fail together when its server is down, and that is one failure, not one per job.
    @discardableResult
    public func recordFailure(
        _ account: Account, reason: String, permanent: Bool, disableAfter: Int, newRound: Bool = true
    ) throws -> AccountState {
        var state = try accountState(account)
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

    /// Re-enables the accounts of this name (on any instance, or on `adapter`) after the cause was
    /// fixed; names compare ignoring case. Returns the accounts' states before, empty when the
    /// state knows no such account.
    @discardableResult
    public func enable(_ name: String, adapter: String? = nil) throws -> [AccountState] {
        let found = try accountStates().filter {
            $0.name.lowercased() == name.lowercased() && (adapter == nil || $0.adapter == adapter || $0.adapter.isEmpty)
        }
        for var state in found {
            state.status = .enabled
            state.failures = 0
            state.permanentFailures = 0
            state.reason = nil
            try save(state)
        }
        return found
    }
}
