import ConnectorAPI
import Foundation

/// The console's actions. Each records what the administrator asked for in the state and asks
/// the scheduler to run the job now, so the engine does the work in the job's own run (never
/// beside a run of the same account); the page then shows the result as it comes.
extension Console {
    func post(_ request: HTTPRequestData, _ context: PageContext) async throws -> HTTPResponseData {
        let segments = request.segments
        let form = request.form
        switch (segments.first, segments.count, segments.last) {
        case ("conflicts", 3, "resolve"):
            guard let id = Int64(segments[1]), let take = form["take"].flatMap(ConflictDecision.init(rawValue:)) else {
                break
            }
            guard let job = try store.decide(conflict: id, take) else {
                return .text("no open conflict #\(id)", status: 404)
            }
            logger.notice(
                "conflict decided in the console",
                metadata: [
                    "conflict": "\(id)", "connector": "\(job.connector)", "user": "\(job.user)", "take": "\(take)",
                ])
            await scheduler?.runSoon(job)
            return .redirect("/conflicts/\(id)")
        case ("dead-letters", 3, "retry"):
            guard let id = Int64(segments[1]) else { break }
            guard let job = try store.retry(deadLetter: id) else { return .text("no dead letter #\(id)", status: 404) }
            logger.notice(
                "dead letter retried from the console",
                metadata: ["deadLetter": "\(id)", "connector": "\(job.connector)", "user": "\(job.user)"])
            await scheduler?.runSoon(job)
            return .redirect(Self.returnPath(form, or: accountPath(of: job)) + "#dead-letters")
        case ("accounts", 4, "enable"):
            let adapter = segments[1]
            let name = segments[2]
            let before = try store.enable(name, adapter: adapter)
            guard !before.isEmpty else { return .text("no state for account \(adapter):\(name)", status: 404) }
            logger.notice("account enabled from the console", metadata: ["account": "\(adapter):\(name)"])
            for (config, entry) in deployment.jobs()
            where entry.binding.account(on: config.target.name)?.name == name && config.target.name == adapter {
                await scheduler?.runSoon(JobKey(connector: config.definition.name, user: entry.binding.id))
            }
            return .redirect(Self.returnPath(form, or: Self.accountPath(adapter: adapter, name: name)))
        case ("jobs", 4, "run"):
            let job = JobKey(connector: segments[1], user: segments[2])
            guard await scheduler?.runSoon(job) == true else {
                return .text("no job \(job) runs in this service", status: 404)
            }
            logger.notice(
                "sync requested from the console", metadata: ["connector": "\(job.connector)", "user": "\(job.user)"])
            return .redirect(Self.returnPath(form, or: "/"))
        default: break
        }
        return .text("unknown action", status: 404)
    }

    /// Where to go after an action: the page it came from (a local path only), else `fallback`.
    static func returnPath(_ form: [String: String], or fallback: String) -> String {
        guard let path = form["return"], path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\") else {
            return fallback
        }
        return path
    }

    static func accountPath(adapter: String, name: String) -> String {
        "/accounts/\(urlComponent(adapter))/\(urlComponent(name))"
    }

    /// The page of the account a job runs for.
    func accountPath(of job: JobKey) -> String {
        for (config, entry) in deployment.jobs(connector: job.connector, user: job.user) {
            if let account = entry.binding.account(on: config.target.name) {
                return Self.accountPath(adapter: account.adapter, name: account.name)
            }
        }
        return "/"
    }
}
