import ArgumentParser
import ConnectorHost
import Foundation
import Logging

/// Who runs jobs on a deployment's state: this command (it holds the ``StateLock``), or the
/// service (`connector-host run`), which does not share it.
enum StateAccess {
    case own(StateLock)
    case service(pid: Int32?)

    /// Takes the state's lock for a command that runs jobs.
    static func take(_ deployment: Deployment) throws -> StateAccess {
        do {
            switch try StateLock.acquire(statePath: deployment.statePath) {
            case .acquired(let lock): return .own(lock)
            case .held(let pid): return .service(pid: pid)
            }
        } catch let error as StateLockError {
            printError(error.description)
            throw ExitCode(1)
        }
    }

    /// "connector-host (pid 4711)", the process holding the lock.
    static func holder(_ pid: Int32?) -> String { "connector-host" + (pid.map { " (pid \($0))" } ?? "") }

    /// Takes the lock or exits with a message naming the process that holds it: for commands
    /// that must not run beside the service (`sync`, a second `run`).
    static func require(_ deployment: Deployment, for command: String) throws -> StateLock {
        switch try take(deployment) {
        case .own(let lock): return lock
        case .service(let pid):
            printError(
                "\(holder(pid)) is already running jobs on the state \(deployment.statePath.path); "
                    + "\(command) would sync the same items beside it. Ask the running service for a run "
                    + "(the console's 'Sync now', or `connector-host resolve`/`retry`, which go through it), "
                    + "or stop it first.")
            throw ExitCode(1)
        }
    }
}

/// Options of the commands that hand their jobs to a running service.
struct ServiceWait: ParsableArguments {
    @Option(
        help:
            "While the service runs: how long to wait for it to run the jobs, in seconds (the decision stays for its next run either way)."
    )
    var wait = 300

    /// Runs the jobs and prints each run: here, holding the state's lock, or by the service when
    /// it holds it. Answers how many did not run (failed to start, or not run by the service in time).
    func run(_ jobs: [JobKey], deployment: Deployment, store: StateStore, logger: Logger) async throws -> (
        notRun: Int, byService: Bool
    ) {
        switch try StateAccess.take(deployment) {
        case .own(let lock):
            let host = try SyncHost(deployment: deployment, logger: logger)
            var notRun = 0
            for job in jobs {
                do {
                    print(ReportFormatter.reports([try await host.run(job)], detailed: false))
                } catch {
                    printError("\(error)")
                    notRun += 1
                }
            }
            await host.shutdown()
            withExtendedLifetime(lock) {}
            return (notRun, false)
        case .service(let pid):
            // A job the configuration no longer runs would never be run by the service either.
            let known = Set(deployment.jobs().map { JobKey(connector: $0.0.definition.name, user: $0.1.binding.id) })
            let unknown = jobs.filter { !known.contains($0) }
            for job in unknown { printError(OperatorError.notConfigured(job).description) }
            let runnable = jobs.filter { known.contains($0) }
            guard !runnable.isEmpty else { return (unknown.count, true) }
            return (try await hand(runnable, to: pid, store: store).count + unknown.count, true)
        }
    }

    /// Asks the service for the jobs and prints each run; answers the jobs it has not run yet.
    func hand(_ jobs: [JobKey], to pid: Int32?, store: StateStore) async throws -> [JobKey] {
        print(
            "\(StateAccess.holder(pid)) is running as the service: it runs \(jobs.count == 1 ? "the job" : "the jobs") now"
        )
        let runs = try await ServiceRuns.request(jobs, store: store, timeout: .seconds(wait))
        var waiting: [JobKey] = []
        for job in jobs {
            if let run = runs[job] {
                print(ServiceRuns.describe(run))
            } else {
                print(
                    "\(job.connector) / \(job.user): not run by the service within \(wait) s; its next run applies it")
                waiting.append(job)
            }
        }
        return waiting
    }
}
