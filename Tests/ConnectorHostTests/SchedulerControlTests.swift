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
}
