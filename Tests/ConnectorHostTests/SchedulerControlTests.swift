import ConnectorAPI
import Foundation
import Testing

@testable import ConnectorHost

/// What the console asks of the running scheduler: where each job stands, and a job run now.
@Suite("Scheduler: sync now and the schedule")
struct SchedulerControlTests {
    @Test("a job asked to run now runs within seconds, though its interval is an hour; the schedule shows the next run")
    func runSoon() async throws {
        let f = try ConsoleFixture()
        let job = JobKey(connector: "contacts", user: "MM")
        let service = Task { await f.scheduler.run() }
        defer { f.stop.raise() }
        func runs() throws -> Int { try f.host.store.recentRuns(job, limit: 100).count }
        // Generous deadlines: the whole suite shares 2 cores.
        var deadline = Date().addingTimeInterval(60)
        while try runs() < 1 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try runs() == 1, "the first run at start")
        // Once the scheduler booked the run, the job waits for its interval.
        var schedule = await f.scheduler.schedule()
        deadline = Date().addingTimeInterval(60)
        while (schedule[job]?.nextRun?.timeIntervalSinceNow ?? 0) < 3000 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            schedule = await f.scheduler.schedule()
        }
        let next = try #require(schedule[job]?.nextRun)
        #expect(next.timeIntervalSinceNow > 3000, "next run in about an hour: \(next)")
        #expect(schedule[job]?.runningSince == nil)

        #expect(await f.scheduler.runSoon(job))
        #expect(await f.scheduler.runSoon(JobKey(connector: "contacts", user: "NOBODY")) == false)
        let started = Date()
        while try runs() < 2 && Date().timeIntervalSince(started) < 60 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try runs() == 2, "ran again at once")
        // Not after its hour: at once (within 30 s even on a loaded machine).
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(try f.host.store.recentRuns(JobKey(connector: "contacts", user: "JS"), limit: 100).count == 1)
        f.stop.raise()
        await service.value
    }

    @Test(
        "a run asked for through the state, as resolve and retry do from another process, runs within seconds; the asker gets that run, not one that started before"
    )
    func requestedThroughTheState() async throws {
        let f = try ConsoleFixture()
        let job = JobKey(connector: "contacts", user: "MM")
        let service = Task { await f.scheduler.run() }
        defer { f.stop.raise() }
        func runs() throws -> Int { try f.host.store.recentRuns(job, limit: 100).count }
        let deadline = Date().addingTimeInterval(60)
        while try runs() < 1 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try runs() == 1, "the first run at start")
        let first = try f.host.store.latestRunID(job)

        let asked = Date()
        let answered = try await ServiceRuns.request([job], store: f.host.store, timeout: .seconds(60))
        let run = try #require(answered[job], "the service ran the job")
        #expect(run.startedAt >= asked.addingTimeInterval(-0.001))
        #expect(try f.host.store.latestRunID(job) > first)
        #expect(Date().timeIntervalSince(asked) < 30, "at once, not after its hour")
        #expect(try f.host.store.takeRunRequests().isEmpty, "the request was taken")
        #expect(try f.host.store.recentRuns(JobKey(connector: "contacts", user: "JS"), limit: 100).count == 1)
        #expect(ServiceRuns.describe(run).hasPrefix("contacts / MM: run by the service: ok"))

        // A job the service does not run is not run; the asker is told after its wait.
        let unknown = JobKey(connector: "contacts", user: "NOBODY")
        #expect(try await ServiceRuns.request([unknown], store: f.host.store, timeout: .seconds(2)).isEmpty)
        f.stop.raise()
        await service.value
    }
}
