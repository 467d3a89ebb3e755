import ConnectorAPI
import Foundation

/// `/accounts/{instance}/{name}`: one account with its connectors, its recent runs, its open
/// conflicts and its dead letters, and what can be done about them.
struct AccountPage {
    let console: Console
    let context: PageContext
    let view: AccountView

    func response() throws -> HTTPResponseData {
        let live = Layout.live(context, running: view.isRunning, try content())
        if context.live { return .html(live) }
        let text = context.text
        let title = "\(text.account) \(view.account.name)"
        return .html(
            Layout.page(
                context, title: title,
                body: """
                    <p><a href="/">← \(h(text.overview))</a></p>
                    <h1>\(h(view.account.name)) <span class="muted">\(h(view.account.adapter)) · \(h(text.user)) \
                    \(h(view.users.joined(separator: ", ")))</span></h1>
                    \(live)
                    <p class="muted">\(h(text.refreshes))</p>
                    """))
    }

    func content() throws -> String {
        let text = context.text
        let state = view.state
        var html = "<p>\(Layout.badge(state.status, text))"
        if state.status != .enabled {
            html += " \(h(text.failures(state.failures)))"
            if let reason = state.reason { html += ": <span class=\"reason\">\(h(reason))</span>" }
        }
        if let success = state.lastSuccess {
            html +=
                " <span class=\"muted\">· \(h(text.pick("last success", "zuletzt erfolgreich"))) \(h(text.time(success)))</span>"
        }
        html += "</p>\n"
        if state.status == .disabled {
            let path = Console.accountPath(adapter: view.account.adapter, name: view.account.name)
            html += "<p>\(Layout.action(context, path + "/enable", text.enable, style: "primary"))</p>\n"
        }
        html += "<table>\n\(JobTable.header(text))"
        for job in view.jobs { html += JobTable.row(job, context, account: view.state) }
        html += "</table>\n"
        html += try conflicts()
        html += try deadLetters()
        html += try runs()
        return html
    }

    func job(_ key: JobKey) -> JobView? { view.jobs.first { $0.key == key } }

    func conflicts() throws -> String {
        let text = context.text
        var entries: [ConflictEntry] = []
        for job in view.jobs {
            entries += try console.store.conflictEntries(connector: job.key.connector, user: job.key.user)
                .filter(\.record.open)
        }
        var html = "<h2 id=\"conflicts\">\(h(text.conflicts)) (\(entries.count))</h2>\n"
        guard !entries.isEmpty else { return html + "<p class=\"muted\">\(h(text.noConflicts))</p>\n" }
        html +=
            "<table class=\"conflicts\"><tr><th>\(h(text.item))</th><th>\(h(text.connector))</th>"
            + "<th>\(h(text.differingFields))</th><th>\(h(text.detected))</th><th></th></tr>\n"
        for entry in entries.sorted(by: { $0.record.id < $1.record.id }) {
            let differing = entry.fields.filter(\.differs).map { text.fieldName($0.name) }
            var status = h(differing.joined(separator: ", "))
            if let decision = entry.record.decision.flatMap(ConflictDecision.init(rawValue:)), let job = job(entry.job)
            {
                status += "<br><span class=\"running\">\(h(Self.decisionLabel(decision, job, text)))</span>"
            }
            html += """
                <tr><td><a href="/conflicts/\(entry.record.id)">\(h(entry.title))</a></td>\
                <td>\(h(entry.job.connector))</td><td>\(status)</td><td>\(h(text.time(entry.record.detectedAt)))</td>\
                <td><a href="/conflicts/\(entry.record.id)">\(h(text.open))</a></td></tr>

                """
        }
        return html + "</table>\n"
    }

    static func decisionLabel(_ decision: ConflictDecision, _ job: JobView, _ text: ConsoleText) -> String {
        let choice =
            switch decision {
            case .source: text.take(job.sourceName)
            case .target: text.take(job.targetName)
            case .skip: text.skip
            }
        return text.pick("decided: \(choice); waiting for the run", "entschieden: \(choice); wartet auf den Lauf")
    }

    func deadLetters() throws -> String {
        let text = context.text
        var entries: [DeadLetterEntry] = []
        for job in view.jobs {
            entries += try console.store.deadLetters(
                connector: job.key.connector, user: job.key.user, includeRetrying: true)
        }
        let dead = entries.filter(\.failure.dead)
        var html = "<h2 id=\"dead-letters\">\(h(text.deadLetters)) (\(dead.count))</h2>\n"
        html += "<p class=\"muted\">\(h(text.deadLetterHelp))</p>\n"
        guard !entries.isEmpty else { return html + "<p class=\"muted\">\(h(text.noDeadLetters))</p>\n" }
        html +=
            "<table class=\"dead-letters\"><tr><th>\(h(text.item))</th><th>\(h(text.connector))</th>"
            + "<th>\(h(text.operation))</th><th>\(h(text.cause))</th><th>\(h(text.attempts))</th>"
            + "<th>\(h(text.since))</th><th></th></tr>\n"
        for entry in dead + entries.filter({ !$0.failure.dead }) {
            let failure = entry.failure
            let job = job(entry.job)
            let from = failure.side == .source ? job?.sourceName : job?.targetName
            let to = failure.side == .source ? job?.targetName : job?.sourceName
            let write = "\(text.operationName(failure.operation)) \(from ?? "?") → \(to ?? "?")"
            let action =
                failure.dead
                ? Layout.action(context, "/dead-letters/\(entry.id)/retry", text.retry, style: "primary")
                : "<span class=\"muted\">\(h(text.retrying))</span>"
            html += """
                <tr\(failure.dead ? "" : " class=\"retrying\"")><td><strong>\(h(failure.name))</strong>\
                <br><span class="muted">\(h(failure.itemID))</span></td><td>\(h(entry.job.connector))</td>\
                <td>\(h(write))</td><td>\(Self.cause(failure.message)) \
                <span class="muted">(\(h(failure.kind)))</span></td><td>\(failure.attempts)</td>\
                <td>\(h(text.time(failure.lastAt)))</td><td>\(action)</td></tr>

                """
        }
        return html + "</table>\n"
    }

    /// A failure's message: its start, and the rest (an SQL statement, a server's answer) folded away.
    static func cause(_ message: String, shown: Int = 140) -> String {
        guard message.count > shown else { return "<span class=\"reason\">\(h(message))</span>" }
        let cut = message.index(message.startIndex, offsetBy: shown)
        return """
            <details><summary class="reason">\(h(String(message[..<cut])))…</summary>\
            <span class="reason">\(h(String(message[cut...])))</span></details>
            """
    }

    func runs() throws -> String {
        let text = context.text
        var runs: [(JobView, RunSummary)] = []
        for job in view.jobs {
            runs += try console.store.recentRuns(job.key, limit: 10).map { (job, $0) }
        }
        runs.sort { $0.1.finishedAt > $1.1.finishedAt }
        var html = "<h2 id=\"runs\">\(h(text.recentRuns))</h2>\n"
        guard !runs.isEmpty else { return html + "<p class=\"muted\">\(h(text.noRuns))</p>\n" }
        html +=
            "<table class=\"runs\"><tr><th>\(h(text.connector))</th><th>\(h(text.started))</th>"
            + "<th>\(h(text.finished))</th><th>\(h(text.result))</th><th>\(h(text.counts))</th></tr>\n"
        for (job, run) in runs.prefix(20) {
            let counts = run.counts.sorted { $0.key < $1.key }.map {
                "\(text.countName($0.key, source: job.sourceName, target: job.targetName)) \($0.value)"
            }
            html += """
                <tr><td>\(h(job.key.connector))</td><td>\(h(text.time(run.startedAt)))</td>\
                <td>\(h(text.time(run.finishedAt)))</td><td>\(h(text.runStatus(run.status)))\
                \(run.message.map { "<br><span class=\"reason\">\(h($0))</span>" } ?? "")</td>\
                <td>\(h(counts.isEmpty ? text.none : counts.joined(separator: ", ")))</td></tr>

                """
        }
        return html + "</table>\n"
    }
}
