import ConnectorAPI
import Foundation

/// Where a job stands in the running service, for the operator's console.
public struct JobSchedule: Sendable, Hashable {
    public var job: JobKey
    /// When the run in progress started; nil while the job waits.
    public var runningSince: Date?
    /// When the job is due next (while it waits); it may start later when all slots are busy.
    public var nextRun: Date?
}

extension Scheduler {
    /// Asks for a job to run as soon as its account is free and a slot is open (within about a
    /// second when the service is idle). A disabled account's job still waits for `enable`.
    /// Answers false when the service runs no such job.
    @discardableResult
    public func runSoon(_ job: JobKey) -> Bool {
        let known = host.deployment.jobs().contains { config, entry in
            config.definition.name == job.connector && entry.binding.id == job.user
        }
        guard known else { return false }
        requested.insert(job)
        return true
    }

    /// Every job of the service with its run in progress or its next run.
    public func schedule() -> [JobKey: JobSchedule] { published }

    /// Makes the requested jobs due now: those asked for in this process (the console) and those
    /// another process stored in the state (`resolve` or `retry` while the service runs).
    func takeRequests(_ slots: inout [Slot], now: ContinuousClock.Instant) {
        do {
            for job in try host.store.takeRunRequests() where !runSoon(job) {
                logger.warning(
                    "a run was asked for a job this service does not run",
                    metadata: ["connector": "\(job.connector)", "user": "\(job.user)"])
            }
        } catch {
            logger.warning("cannot read the runs asked for", metadata: ["error": "\(error)"])
        }
        guard !requested.isEmpty else { return }
        for index in slots.indices where requested.contains(slots[index].key) && slots[index].startedAt == nil {
            slots[index].due = now
            slots[index].idleRuns = 0
            requested.remove(slots[index].key)
        }
    }

    /// Records where every job stands.
    func publish(_ slots: [Slot]) {
        let now = clock.now
        let wall = Date()
        var result: [JobKey: JobSchedule] = [:]
        for slot in slots {
            let wait = slot.due - now
            let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
            result[slot.key] = JobSchedule(
                job: slot.key, runningSince: slot.startedAt,
                nextRun: slot.startedAt == nil ? wall.addingTimeInterval(max(0, seconds)) : nil)
        }
        published = result
    }
}
