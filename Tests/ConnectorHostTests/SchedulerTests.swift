import ConnectorAPI
import ConnectorHost
import Connectors
import Foundation
import Logging
import Testing

@Suite("Scheduling the service's jobs")
struct SchedulerTests {
    @Test("jobs due the longest run first: with every job due again at once, none is starved by the ones before it")
    func longestWaitingFirst() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sched-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let users = ["AA", "BB", "CC"]
        let yaml = """
            state: { path: \(directory.path)/state.sqlite }
            service: { concurrency: 1, max_idle_interval: 1ms, metrics_address: off }
            adapters:
              crm: { type: memory, directory: \(directory.path)/crm }
              mail: { type: memory, directory: \(directory.path)/mail }
            users:
            \(users.map { "  - { id: \($0), crm: \($0), mail: \($0.lowercased())@example.test }" }.joined(separator: "\n"))
            connectors:
              - { name: contacts, kind: address, source: crm, target: mail, interval: 1ms }
              - { name: calendar, kind: calendar, source: crm, target: mail, interval: 1ms }
              - { name: tasks, kind: task, source: crm, target: mail, interval: 1ms }
            """
        let deployment = try ConfigLoader(registry: AdapterRegistry(BuiltinAdapters.all), environment: [:]).load(
            yaml: yaml, file: "s.yaml", baseDirectory: directory)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try SyncHost(deployment: deployment, logger: logger)
        // Each job is due again 1 ms after it ran, before the others have had their turn. Nine
        // starts are enough for each of the nine jobs to run once, if the longest waiting goes first.
        let scheduler = Scheduler(host: host, settings: deployment.service, logger: logger, stop: StopFlag())
        await scheduler.run(rounds: 9)
        await host.shutdown()
        let ran = Set(try host.store.lastRuns().map { "\($0.job.connector)/\($0.job.user)" })
        #expect(ran.count == 9, "\(ran.sorted())")
    }
}
