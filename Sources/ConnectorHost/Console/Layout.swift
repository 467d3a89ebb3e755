import Foundation

/// What every page needs to know about its request.
struct PageContext: Sendable {
    var text: ConsoleText
    /// The CSRF token for this browser's forms.
    var csrf: String
    var readOnly: Bool
    /// The page's path, where actions return to.
    var path: String
    /// Only the live part of the page (the script's refresh).
    var live: Bool
}

/// Escapes text for HTML element content and attribute values.
func h(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.append(character)
        }
    }
    return result
}

/// The frame of every page, the forms of the actions, and the console's style sheet and script.
enum Layout {
    static func page(_ context: PageContext, title: String, body: String) -> String {
        let text = context.text
        return """
            <!DOCTYPE html>
            <html lang="\(text.language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(h(title)) – connector-host</title>
            <link rel="stylesheet" href="/console.css">
            <script src="/console.js" defer></script>
            </head>
            <body>
            <header><a href="/" class="home">connector-host</a> <span>\(h(text.title))</span></header>
            <main>
            \(context.readOnly ? "<p class=\"notice\">\(h(text.readOnly))</p>" : "")
            \(body)
            </main>
            </body>
            </html>
            """
    }

    /// The live part of a page: replaced by the script every 2 s while a run is in progress.
    static func live(_ context: PageContext, running: Bool, _ content: String) -> String {
        let source = context.path + "?live=1"
        return """
            <div id="live" data-src="\(h(source))"\(running ? " data-running=\"1\"" : "")>
            \(content)
            </div>
            """
    }

    /// A POST form with one button and the CSRF token; nothing in read-only mode.
    static func action(
        _ context: PageContext, _ path: String, _ label: String, fields: [String: String] = [:], style: String = ""
    ) -> String {
        guard !context.readOnly else { return "" }
        var inputs = "<input type=\"hidden\" name=\"csrf\" value=\"\(h(context.csrf))\">"
        inputs += "<input type=\"hidden\" name=\"return\" value=\"\(h(context.path))\">"
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            inputs += "<input type=\"hidden\" name=\"\(h(name))\" value=\"\(h(value))\">"
        }
        return """
            <form method="post" action="\(h(path))" class="action">\(inputs)<button type="submit"\
            \(style.isEmpty ? "" : " class=\"\(style)\"")>\(h(label))</button></form>
            """
    }

    static func badge(_ status: AccountState.Status, _ text: ConsoleText) -> String {
        "<span class=\"badge \(status.rawValue)\">\(h(text.status(status)))</span>"
    }

    static func error(_ message: String) -> String { "<p class=\"error\">\(h(message))</p>" }

    static let css = """
        :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232b; background: #f4f6f8; }
        body { margin: 0; }
        header { background: #1f3a5f; color: #fff; padding: .7rem 1.5rem; font-size: 1.05rem; }
        header a.home { color: #fff; font-weight: 600; text-decoration: none; margin-right: .6rem; }
        header span { opacity: .8; }
        main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
        h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
        a { color: #1d5fa8; }
        table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
        th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e3e7ec; vertical-align: top; font-size: .92rem; }
        th { background: #eef1f5; font-weight: 600; }
        tr.account td { background: #f9fafb; border-top: 2px solid #d5dbe3; }
        .muted { color: #66707c; font-size: .85rem; }
        .badge { display: inline-block; padding: .1rem .5rem; border-radius: .8rem; font-size: .8rem; font-weight: 600; }
        .badge.enabled { background: #dcf3e3; color: #17613a; }
        .badge.failing { background: #fdf0d5; color: #7a4b00; }
        .badge.disabled { background: #fbe0e0; color: #8c1d1d; }
        .count { font-weight: 600; }
        .count.alert { color: #a11d1d; }
        .running { color: #1d5fa8; font-weight: 600; }
        .bar { display: inline-block; width: 8rem; height: .55rem; background: #dfe5ec; border-radius: .3rem; vertical-align: middle; overflow: hidden; }
        .bar span { display: block; height: 100%; background: #3d7fd1; }
        form.action { display: inline; margin: 0 .3rem 0 0; }
        button { font: inherit; font-size: .85rem; padding: .25rem .7rem; border: 1px solid #9aa8b8; border-radius: .3rem; background: #fff; cursor: pointer; }
        button:hover { background: #eef3fa; }
        button.primary { background: #1f5fa8; border-color: #1f5fa8; color: #fff; }
        button.primary:hover { background: #174d8a; }
        .notice { background: #e8f1fb; border-left: 4px solid #3d7fd1; padding: .5rem .8rem; }
        .error { background: #fbe0e0; border-left: 4px solid #a11d1d; padding: .5rem .8rem; }
        .reason { color: #8c1d1d; }
        details summary { cursor: pointer; }
        .summary { display: flex; gap: 1rem; margin-bottom: 1rem; flex-wrap: wrap; }
        .summary div { background: #fff; padding: .6rem 1rem; box-shadow: 0 1px 2px rgba(0,0,0,.08); min-width: 8rem; }
        .summary strong { display: block; font-size: 1.3rem; }
        table.versions td.value { width: 38%; white-space: pre-wrap; word-break: break-word; }
        table.versions tr.differs td { background: #fff4d6; }
        table.versions tr.differs td.field::before { content: "≠ "; color: #a15c00; font-weight: 700; }
        .choices { margin: 1rem 0; display: flex; gap: .6rem; flex-wrap: wrap; }
        .choices button { font-size: .95rem; padding: .45rem 1rem; }
        """

    static let script = """
        // Refreshes the live part of a console page: every 2 s while a run is in progress, every 15 s otherwise.
        (function () {
          "use strict";
          function schedule() {
            var live = document.getElementById("live");
            if (!live) { return; }
            setTimeout(refresh, live.hasAttribute("data-running") ? 2000 : 15000);
          }
          function refresh() {
            var live = document.getElementById("live");
            fetch(live.getAttribute("data-src"), { credentials: "same-origin" })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (html) {
                if (html !== null) { live.outerHTML = html; }
                schedule();
              })
              .catch(schedule);
          }
          schedule();
        })();
        """
}
