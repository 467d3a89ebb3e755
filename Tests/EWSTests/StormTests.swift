import ConnectorAPI
import ConnectorHost
import Connectors
import ExchangeSim
import Foundation
import Logging
import TestSupport
import Testing

/// Throttling storms over real HTTP: the simulator answers ErrorServerBusy (as a SOAP fault and
/// per item, stopping the rest of a batch), HTTP 503 with Retry-After, and drops connections,
/// while connector-host syncs FlowFact (SQLite through ODBC) into two mailboxes through libcurl.
@Suite("Throttling storms", .serialized)
struct StormTests {
    @Test(
        "an initial sync under 15 % ErrorServerBusy, 5 % HTTP 503 and 5 % dropped connections finishes in one run with nothing lost or duplicated"
    )
    func initialSyncInAStorm() async throws {
        let f = try await ServiceFixture(addresses: 40, appointments: 60, tasks: 20) { options in
            options.busyRate = 0.15
            options.backOffMilliseconds = 20
            options.unavailableRate = 0.05
            options.dropRate = 0.05
            options.seed = 15
        }
        defer { Task { await f.server.stop() } }
        let yaml =
            f.yaml(batch: 20)
            + "\n  - { name: calendar, kind: calendar, source: flowfact, target: exchange }"
            + "\n  - { name: tasks, kind: task, source: flowfact, target: exchange }"
        let host = try SyncHost(deployment: try f.deployment(yaml), logger: Logger.quiet)
        let reports = await host.syncOnce()
        #expect(reports.count == 6)
        for report in reports {
            #expect(report.status == .ok, "\(report.job): \(report.message ?? "") \(report.failures.map(\.message))")
        }
        let counts = f.server.service.counts
        // The storm really happened, and was absorbed within the run.
        #expect(counts["ErrorServerBusy", default: 0] >= 5, "\(counts)")
        let absorbed = reports.reduce(into: RetryStatistics()) { $0.add($1.retries) }
        #expect(absorbed.retries >= 5)
        #expect(absorbed.causes.keys.contains("ErrorServerBusy"), "\(absorbed.causes)")
        #expect(counts["faultUnavailable", default: 0] >= 1, "\(counts)")
        #expect(counts["faultDropped", default: 0] >= 1, "\(counts)")
        #expect(absorbed.causes.keys.contains("HTTP503"), "\(absorbed.causes)")
        // Reported as one line per connector run, never one per item.
        let text = ReportFormatter.reports(reports, detailed: false)
        #expect(text.contains("transient faults absorbed"))
        #expect(!text.contains("✗"))
        for report in reports { #expect(try host.store.failures(report.job).isEmpty) }

        // Nothing lost, nothing duplicated: each mailbox holds exactly FlowFact's items, once.
        f.server.service.update {
            $0.busyRate = 0
            $0.unavailableRate = 0
            $0.dropRate = 0
        }
        for (user, mailbox) in [("MM", "mm@example.test"), ("JS", "js@example.test")] {
            for kind in [DataKind.address, .calendar, .task] {
                let expected = try await f.flowfactItems(user: user, kind: kind)
                let items = try await f.exchangeItems(mailbox, kind: kind)
                #expect(expected.count > 0)
                #expect(items.count == expected.count, "\(mailbox) \(kind)")
                #expect(Set(items.compactMap(\.syncKey)).count == items.count, "\(mailbox) \(kind)")
                #expect(
                    Set(items.map(\.record.displayName)) == Set(expected.map(\.record.displayName)),
                    "\(mailbox) \(kind)")
            }
        }
        // And the next run has nothing left to do.
        let again = await host.syncOnce()
        await host.shutdown()
        #expect(again.allSatisfy { $0.status == .ok })
        #expect(again.allSatisfy { $0.counts.isEmpty }, "\(again.map(\.counts))")
    }
}
