import ConnectorAPI
import Foundation

/// `/conflicts/{id}`: both versions of an item side by side, the differing fields marked, and the
/// three ways to settle it: take the source's version, take the target's, or skip.
struct ConflictPage {
    let console: Console
    let context: PageContext
    let entry: ConflictEntry

    func response() -> HTTPResponseData {
        let text = context.text
        let record = entry.record
        let config = console.deployment.connectors.first { $0.definition.name == entry.job.connector }
        let source = config?.source.name ?? text.pick("source", "Quelle")
        let target = config?.target.name ?? text.pick("target", "Ziel")
        let userEntry = console.deployment.users.first { $0.binding.id == entry.job.user }
        let account = config.flatMap { userEntry?.binding.account(on: $0.target.name) }
        var html = ""
        if let account {
            html +=
                "<p><a href=\"\(h(Console.accountPath(adapter: account.adapter, name: account.name)))\">← \(h(text.back)) \(h(account.name))</a></p>\n"
        }
        html += "<h1>\(h(text.conflictOf(entry.title)))</h1>\n"
        html +=
            "<p class=\"muted\">\(h(text.connector)) \(h(entry.job.connector)) · \(h(text.user)) \(h(entry.job.user))"
        html +=
            " · \(h(text.detected)) \(h(text.time(record.detectedAt))) · \(h(text.policy)) \(h(text.policyName(record.policy)))</p>\n"
        if !record.open {
            html += "<p class=\"notice\">\(h(text.settled)) \(h(record.resolution))</p>\n"
        } else if let decision = record.decision.flatMap(ConflictDecision.init(rawValue:)) {
            html +=
                "<p class=\"notice\" id=\"decided\">\(h(text.decided(decision, source: source, target: target)))</p>\n"
        }
        html += """
            <table class="versions"><tr><th>\(h(text.field))</th>\
            <th>\(h(text.version(source)))\(modified(record.sourceModifiedAt))</th>\
            <th>\(h(text.version(target)))\(modified(record.targetModifiedAt))</th></tr>

            """
        for field in entry.fields {
            html += """
                <tr\(field.differs ? " class=\"differs\"" : "")><td class="field" title="\(h(field.name))">\
                \(h(text.fieldName(field.name)))</td><td class="value source">\(value(field.source))</td>\
                <td class="value target">\(value(field.target))</td></tr>

                """
        }
        html += "</table>\n"
        if record.open && !context.readOnly {
            let path = "/conflicts/\(record.id)/resolve"
            html += "<div class=\"choices\">"
            html += Layout.action(context, path, text.take(source), fields: ["take": "source"], style: "primary")
            html += Layout.action(context, path, text.take(target), fields: ["take": "target"], style: "primary")
            html += Layout.action(context, path, text.skip, fields: ["take": "skip"])
            html += "</div>\n"
        }
        return .html(Layout.page(context, title: text.conflictOf(entry.title), body: html))
    }

    func value(_ text: String?) -> String {
        text.map { h(Self.readable($0, context.text)) } ?? "<span class=\"muted\">\(h(context.text.empty))</span>"
    }

    /// A field's value as an office reads it: a list one entry a line, an address or a set of phone
    /// numbers as `label: value` lines; plain text as it is.
    static func readable(_ value: String, _ text: ConsoleText) -> String {
        guard value.hasPrefix("[") || value.hasPrefix("{"),
            let json = try? JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
        else { return value }
        func render(_ item: Any) -> String {
            switch item {
            case let list as [Any]: return list.map(render).joined(separator: "\n")
            case let map as [String: Any]:
                let first = ["street", "postalCode", "city", "state", "country"].filter { map[$0] != nil }
                let keys = first + map.keys.filter { !first.contains($0) }.sorted()
                return keys.map { "\(text.partName($0)): \(render(map[$0]!))" }.joined(separator: "\n")
            case let string as String: return string
            default: return "\(item)"
            }
        }
        return render(json)
    }

    func modified(_ date: Date?) -> String {
        date.map { "<br><span class=\"muted\">\(h(context.text.changed)) \(h(context.text.time($0)))</span>" } ?? ""
    }
}
