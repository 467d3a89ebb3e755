import ConnectorAPI
import Foundation
import Metrics

/// The service's metrics (swift-metrics; exported as Prometheus text at /metrics).
public struct SyncMetrics: Sendable {
    public init() {}

    /// Counts of a finished run: items by kind, direction and operation, conflicts, failures, runs by status.
    func record(_ report: RunReport, kind: DataKind) {
        Counter(
            label: "connector_runs_total",
            dimensions: [("connector", report.job.connector), ("status", report.status.rawValue)]
        ).increment()
        for (key, value) in report.counts where value > 0 {
            let parts = key.split(separator: " ")
            if parts.count == 2 {
                Counter(
                    label: "connector_items_total",
                    dimensions: [
                        ("kind", kind.rawValue), ("direction", String(parts[0])), ("operation", String(parts[1])),
                    ]
                ).increment(by: value)
            } else if key == "conflicts" {
                Counter(label: "connector_conflicts_total", dimensions: [("kind", kind.rawValue)]).increment(by: value)
            } else if key == "failed" {
                Counter(label: "connector_item_failures_total", dimensions: [("kind", kind.rawValue)]).increment(
                    by: value)
            } else if key == "postponed" {
                Counter(label: "connector_items_postponed_total", dimensions: [("kind", kind.rawValue)]).increment(
                    by: value)
            }
        }
        let dead = report.failures.filter(\.dead).count
        if dead > 0 {
            Counter(label: "connector_dead_letters_total", dimensions: [("kind", kind.rawValue)]).increment(by: dead)
        }
        if !report.retries.isEmpty {
            Counter(label: "connector_transient_retries_total", dimensions: [("kind", kind.rawValue)]).increment(
                by: report.retries.retries)
        }
        if report.status == .failed {
            Counter(label: "connector_errors_total", dimensions: [("permanent", report.permanent ? "true" : "false")])
                .increment()
        }
    }

    /// The time of an account's last successful run (seconds since 1970).
    func succeeded(_ account: Account) {
        Gauge(
            label: "connector_last_success_timestamp_seconds",
            dimensions: [("adapter", account.adapter), ("account", account.name)]
        ).record(Date().timeIntervalSince1970)
    }

    /// 0 enabled, 1 failing, 2 disabled.
    func accountStatus(_ account: Account, _ status: AccountState.Status) {
        let value: Int =
            switch status {
            case .enabled: 0
            case .failing: 1
            case .disabled: 2
            }
        Gauge(label: "connector_account_status", dimensions: [("adapter", account.adapter), ("account", account.name)])
            .record(value)
    }
}
