import Foundation
import Logging
import ServiceLifecycle

/// The scheduler as a service of the service group: a graceful shutdown raises the stop flag,
/// so running jobs end after their current batch and nothing new starts.
public struct SyncService: Service {
    let scheduler: Scheduler
    let stop: StopFlag

    public init(scheduler: Scheduler, stop: StopFlag) {
        self.scheduler = scheduler
        self.stop = stop
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await scheduler.run()
        } onGracefulShutdown: {
            stop.raise()
        }
    }
}
