import ConnectorAPI
import Foundation

/// `/`: every account of every connector with its state, last and next run, progress and what
/// needs an administrator (conflicts, dead letters, disabled accounts).
struct OverviewPage {
    let console: Console
    let context: PageContext

    func response() async throws -> HTTPResponseData {
        let accounts = try await console.accounts()
        let running = accounts.contains(where: \.isRunning)
        let live = Layout.live(context, running: running, content(accounts))
        if context.live { return .html(live) }
        let text = context.text
        return .html(
            Layout.page(
                context, title: text.overview,
                body: "<h1>\(h(text.overview))</h1>\n\(live)\n<p class=\"muted\">\(h(text.refreshes))</p>"))
    }

    func content(_ accounts: [AccountView]) -> String {
        let text = context.text
        let jobs = accounts.flatMap(\.jobs)
        let failing = accounts.filter { $0.state.status == .failing }.count
        let disabled = accounts.filter { $0.state.status == .disabled }.count
        var html = "<div class=\"summary\">"
        html += tile(
            text.accounts, "\(accounts.count)",
            detail: failing + disabled > 0
                ? "\(failing) \(text.status(.failing)), \(disabled) \(text.status(.disabled))" : nil)
        html += tile(text.pick("Running now", "Laufen gerade"), "\(jobs.filter(\.isRunning).count)")
        html += tile(text.conflicts, "\(jobs.map(\.conflicts).reduce(0, +))")
        html += tile(text.deadLetters, "\(jobs.map(\.deadLetters).reduce(0, +))")
        html += "</div>\n<table class=\"overview\">\n"
        html += JobTable.header(text)
        for account in accounts {
            html += JobTable.accountRow(account, context)
            for job in account.jobs { html += JobTable.row(job, context, account: account.state) }
        }
        html += "</table>\n"
        let switchedOff = console.deployment.users.filter { !$0.enabled }.map(\.binding.id)
        if !switchedOff.isEmpty {
            html += "<p class=\"muted\">\(h(text.disabledUsers)): \(h(switchedOff.joined(separator: ", ")))</p>\n"
        }
        return html
    }

    func tile(_ label: String, _ value: String, detail: String? = nil) -> String {
        "<div><strong>\(h(value))</strong>\(h(label))\(detail.map { "<br><span class=\"muted\">\(h($0))</span>" } ?? "")</div>"
    }
}

/// The table of accounts and their connectors, shared by the overview and the account page.
enum JobTable {
    static func header(_ text: ConsoleText) -> String {
        """
        <tr><th>\(h(text.account)) / \(h(text.connector))</th><th>\(h(text.state)) / \(h(text.lastRun))</th>\
        <th>\(h(text.nextRun))</th><th>\(h(text.linked))</th><th>\(h(text.conflicts))</th>\
        <th>\(h(text.deadLetters))</th><th>\(h(text.actions))</th></tr>

        """
    }

    static func accountRow(_ account: AccountView, _ context: PageContext) -> String {
        let text = context.text
        let state = account.state
        var status = Layout.badge(state.status, text)
        if state.status != .enabled {
            status += " <span class=\"muted\">\(h(text.failures(state.failures)))</span>"
            if let reason = state.reason { status += "<br><span class=\"reason\">\(h(reason))</span>" }
        }
        let path = Console.accountPath(adapter: account.account.adapter, name: account.account.name)
        var actions = ""
        if state.status == .disabled {
            actions = Layout.action(context, path + "/enable", text.enable, style: "primary")
        }
        return """
            <tr class="account"><td><a href="\(h(path))"><strong>\(h(account.account.name))</strong></a>\
            <br><span class="muted">\(h(account.account.adapter)) · \(h(text.user)) \(h(account.users.joined(separator: ", ")))\
            </span></td><td colspan="5">\(status)</td><td>\(actions)</td></tr>

            """
    }

    /// `flowfact ↔ exchange`, with the arrow of the connector's direction.
    static func direction(_ job: JobView) -> String {
        let arrow =
            switch job.config.definition.direction {
            case .twoWay: "↔"
            case .sourceToTarget: "→"
            case .targetToSource: "←"
            }
        return "\(job.sourceName) \(arrow) \(job.targetName)"
    }

    static func row(_ job: JobView, _ context: PageContext, account: AccountState? = nil) -> String {
        let text = context.text
        let definition = job.config.definition
        var last = "<span class=\"muted\">\(h(text.never))</span>"
        if let run = job.lastRun {
            let counts = run.counts.sorted { $0.key < $1.key }.map {
                "\(text.countName($0.key, source: job.sourceName, target: job.targetName)) \($0.value)"
            }
            last = "\(h(text.runStatus(run.status))) · \(h(text.ago(run.finishedAt)))"
            last +=
                " <span class=\"muted\" title=\"\(h(text.time(run.finishedAt)))\">\(h(counts.joined(separator: ", ")))</span>"
            // The account's row shows the reason it is failing; the job's row does not repeat it.
            if let message = run.message, run.status != "ok", message != account?.reason {
                last += "<br><span class=\"reason\">\(h(message))</span>"
            }
        }
        var next = ""
        if let progress = job.progress {
            next = "<span class=\"running\">\(h(text.running(since: progress.startedAt)))</span><br>"
            if let planned = progress.planned, planned > 0 {
                let share = min(100, progress.written * 100 / planned)
                next += "<span class=\"bar\"><span style=\"width: \(share)%\"></span></span> "
            }
            next +=
                "<span class=\"muted progress\">\(h(text.progress(written: progress.written, planned: progress.planned)))</span>"
        } else if let since = job.schedule?.runningSince {
            next = "<span class=\"running\">\(h(text.running(since: since)))</span>"
        } else if account?.status == .disabled {
            next = "<span class=\"muted\">\(h(text.waitsForEnable))</span>"
        } else if let due = job.schedule?.nextRun {
            next = "<span title=\"\(h(text.time(due)))\">\(h(text.ago(due)))</span>"
        } else {
            next = "<span class=\"muted\">–</span>"
        }
        let accountPath = Console.accountPath(
            adapter: job.targetName, name: job.entry.binding.account(on: job.targetName)?.name ?? "")
        func count(_ value: Int, _ anchor: String) -> String {
            value == 0
                ? "<span class=\"muted\">0</span>"
                : "<a class=\"count alert\" href=\"\(h(accountPath))#\(anchor)\">\(value)</a>"
        }
        let idle = !job.isRunning && account?.status != .disabled
        let sync =
            !idle
            ? ""
            : Layout.action(
                context, "/jobs/\(urlComponent(job.key.connector))/\(urlComponent(job.key.user))/run", text.syncNow)
        return """
            <tr class="job"\(job.isRunning ? " data-job-running=\"1\"" : "")><td>\(h(definition.name)) \
            <span class="muted">\(h(text.kindName(definition.kind))) · \(h(direction(job)))\
            \(job.entry.binding.id == "" ? "" : " · \(h(job.entry.binding.id))")</span></td><td>\(last)</td><td>\(next)</td>\
            <td>\(job.linked)</td><td>\(count(job.conflicts, "conflicts"))</td><td>\(count(job.deadLetters, "dead-letters"))</td>\
            <td>\(sync)</td></tr>

            """
    }
}
