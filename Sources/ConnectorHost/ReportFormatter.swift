import ConnectorAPI
import Foundation

/// Human-readable text for run reports, plans and status.
public enum ReportFormatter {
    /// One block per job: status, counts and, for dry runs, every planned action.
    public static func reports(_ reports: [RunReport], detailed: Bool) -> String {
        var lines: [String] = []
        for report in reports {
            let counts = report.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                separator: ", ")
            lines.append(
                "\(report.job.connector) / \(report.job.user) <\(report.account.name)>: \(report.status.rawValue)"
                    + (counts.isEmpty ? ", no changes" : ": \(counts)"))
            if let message = report.message { lines.append("  ! \(message)") }
            if let line = retrySummary(report.retries) { lines.append("  ~ \(line)") }
            // Items the side was too busy for are one line: they say nothing about the items.
            let transient = report.failures.filter { $0.kind == WriteError.Kind.transient.rawValue && !$0.dead }
            if let first = transient.first {
                lines.append(
                    "  ~ \(transient.count) item\(transient.count == 1 ? "" : "s") postponed by transient errors, "
                        + "tried again on the next run (first: \(first.operation) '\(first.name)': \(first.message))")
            }
            for failure in report.failures where !(failure.kind == WriteError.Kind.transient.rawValue && !failure.dead)
            {
                lines.append(
                    "  ✗ \(failure.operation) '\(failure.name)' (\(failure.side.rawValue) item \(failure.itemID)): \(failure.kind): \(failure.message)"
                        + (failure.dead ? " [dead letter]" : " [will retry]"))
            }
            if detailed, let plan = report.plan {
                for action in plan.actions { if let line = describe(action) { lines.append("  " + line) } }
                for conflict in plan.conflicts {
                    let name = conflict.source?.record.displayName ?? conflict.target?.record.displayName ?? "?"
                    lines.append(
                        "  conflict '\(name)' (source \(conflict.sourceID ?? "-"), target \(conflict.targetID ?? "-")): \(conflict.resolution)"
                    )
                }
                for skipped in plan.skipped {
                    lines.append(
                        "  skip '\(skipped.name)' (\(skipped.role.rawValue) item \(skipped.id)): \(skipped.reason)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One line for the transient faults a run absorbed, or nil when there were none.
    public static func retrySummary(_ retries: RetryStatistics) -> String? {
        guard !retries.isEmpty else { return nil }
        let causes = retries.causes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        let seconds = Double(retries.waited.components.seconds) + Double(retries.waited.components.attoseconds) / 1e18
        return "transient faults absorbed: \(retries.retries) retries"
            + String(format: ", %.1f s waited", seconds) + (causes.isEmpty ? "" : " (\(causes))")
    }

    /// The closing line of `sync` while dead letters are open in the given jobs, or nil.
    public static func deadLetterLine(store: StateStore, jobs: [JobKey]) throws -> String? {
        var dead = 0
        var jobsWithDead = 0
        for job in jobs {
            let count = try store.failures(job).filter(\.dead).count
            dead += count
            if count > 0 { jobsWithDead += 1 }
        }
        guard dead > 0 else { return nil }
        return
            "\(dead) dead letter\(dead == 1 ? " is" : "s are") open in \(jobsWithDead) connector run\(jobsWithDead == 1 ? "" : "s"): "
            + "these items are not synced until they change or are fixed (connector-host status lists them)"
    }

    static func describe(_ action: SyncAction) -> String? {
        switch action {
        case .create(let side, let origin, _):
            "\(SyncPlan.direction(side)) create '\(origin.record.displayName)' (from \(side == .target ? "source" : "target") item \(origin.id))"
        case .update(let side, let id, _, let origin, let fields, _):
            "\(SyncPlan.direction(side)) update '\(origin.record.displayName)' (\(side.rawValue) item \(id); fields \(fields.sorted().joined(separator: ", ")))"
        case .delete(let side, let id, _):
            "\(SyncPlan.direction(side)) delete \(side.rawValue) item \(id)"
        case .unlink(let mapping, _, let reason):
            "unlink source \(mapping.sourceID ?? "-") / target \(mapping.targetID ?? "-"): \(reason)"
        case .link(let mapping, true):
            "adopt source \(mapping.sourceID ?? "-") / target \(mapping.targetID ?? "-") (an existing copy)"
        case .link:
            nil
        }
    }

    /// Per connector and user: last run, counts, open conflicts, dead letters.
    public static func status(store: StateStore, jobs: [JobKey]) throws -> String {
        let runs = Dictionary(try store.lastRuns().map { ($0.job, $0) }, uniquingKeysWith: { $1 })
        var lines: [String] = []
        let formatter = ISO8601DateFormatter()
        let failuresByJob = Dictionary(
            try jobs.map { ($0, try store.failures($0)) }, uniquingKeysWith: { first, _ in first })
        // Dead letters first: they are what an administrator has to act on.
        var dead: [String] = []
        for job in jobs {
            for failure in failuresByJob[job] ?? [] where failure.dead {
                dead.append(
                    "  \(job.connector) / \(job.user): \(failure.operation) '\(failure.name)' (\(failure.side.rawValue) item \(failure.itemID)), "
                        + "\(failure.attempts) attempts: \(failure.kind): \(failure.message)")
            }
        }
        if !dead.isEmpty {
            lines.append("dead letters (\(dead.count)): not synced until the item changes or the cause is fixed")
            lines.append(contentsOf: dead)
        }
        for job in jobs {
            let mappings = try store.mappings(job)
            let failures = failuresByJob[job] ?? []
            let conflicts = try store.conflicts(job, openOnly: true)
            var line = "\(job.connector) / \(job.user): "
            if let run = runs[job] {
                let counts = run.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                    separator: ", ")
                line +=
                    "last run \(formatter.string(from: run.finishedAt)) \(run.status)"
                    + (counts.isEmpty ? "" : " (\(counts))")
            } else {
                line += "never run"
            }
            line += "; \(mappings.filter { $0.status == .linked }.count) linked"
            line += ", \(conflicts.count) open conflicts"
            line += ", \(failures.filter { !$0.dead }.count) retrying, \(failures.filter(\.dead).count) dead letters"
            lines.append(line)
            if let message = runs[job]?.message { lines.append("  ! \(message)") }
            for conflict in conflicts {
                lines.append(
                    "  conflict: source \(conflict.sourceID ?? "-") / target \(conflict.targetID ?? "-") since \(formatter.string(from: conflict.detectedAt))"
                )
            }
            for failure in failures where !failure.dead {
                lines.append(
                    "  retrying: \(failure.operation) '\(failure.name)' (\(failure.side.rawValue) item \(failure.itemID)), "
                        + "\(failure.attempts) attempts: \(failure.kind): \(failure.message)")
            }
        }
        return lines.isEmpty ? "no sync state yet" : lines.joined(separator: "\n")
    }

    /// Registered adapter types with their settings.
    public static func adapters(_ registry: AdapterRegistry) -> String {
        var lines: [String] = []
        for type in registry.all {
            lines.append("\(type.name): \(type.summary)")
            for (title, spec) in [
                ("settings", type.settings),
                ("users (a user's account: a scalar is its \(type.users.primaryKey))", type.users.settings),
                ("filter", type.filter),
                ("source_options / target_options", type.endpointOptions),
            ]
            where !spec.settings.isEmpty {
                lines.append("  \(title):")
                for setting in spec.settings {
                    var line = "    \(setting.name) (\(setting.type)"
                    if setting.required { line += ", required" }
                    if let value = setting.defaultValue { line += ", default \(value)" }
                    if setting.type == .secret { line += "; or \(setting.name)_file" }
                    lines.append(line + "): \(setting.doc)")
                    if case .mapping(let keys, _, let defaults) = setting.type {
                        for key in keys { lines.append("      \(key)" + (defaults[key].map { ": \($0)" } ?? "")) }
                    }
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
