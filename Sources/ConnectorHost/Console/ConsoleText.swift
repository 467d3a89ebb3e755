import ConnectorAPI
import Foundation

/// The console's languages: German for the German-speaking firms that use FlowFact, English
/// otherwise, chosen by the browser's `Accept-Language`.
enum ConsoleLanguage: String, Sendable {
    case en, de

    /// The first of the browser's languages (by weight) that the console speaks; English when none.
    static func preferred(_ header: String?) -> ConsoleLanguage {
        var choices: [(language: String, weight: Double, order: Int)] = []
        for (order, item) in (header ?? "").split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first?.lowercased(), !tag.isEmpty else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                weight = Double(parameter.dropFirst(2)) ?? 0
            }
            let primary = String(tag.split(separator: "-").first ?? "")
            choices.append((primary, weight, order))
        }
        let ranked = choices.filter { $0.weight > 0 }.sorted { ($1.weight, $0.order) < ($0.weight, $1.order) }
        for choice in ranked {
            if let language = ConsoleLanguage(rawValue: choice.language) { return language }
        }
        return .en
    }
}

/// The console's words in English and German, in one table.
struct ConsoleText: Sendable {
    let language: ConsoleLanguage

    func pick(_ en: String, _ de: String) -> String { language == .de ? de : en }

    var title: String { pick("console", "Konsole") }
    var overview: String { pick("Overview", "Übersicht") }
    var accounts: String { pick("Accounts", "Konten") }
    var account: String { pick("Account", "Konto") }
    var user: String { pick("User", "Benutzer") }
    var state: String { pick("State", "Zustand") }
    var connector: String { pick("Connector", "Verbindung") }
    var lastRun: String { pick("Last run", "Letzter Lauf") }
    var nextRun: String { pick("Next run", "Nächster Lauf") }
    var linked: String { pick("Linked", "Verknüpft") }
    var conflicts: String { pick("Conflicts", "Konflikte") }
    var deadLetters: String { pick("Dead letters", "Nicht übertragbar") }
    var retrying: String { pick("Being retried", "Wird wiederholt") }
    var actions: String { pick("Actions", "Aktionen") }
    var never: String { pick("never", "noch nie") }
    var none: String { pick("none", "keine") }
    var syncNow: String { pick("Sync now", "Jetzt abgleichen") }
    var enable: String { pick("Enable", "Aktivieren") }
    var retry: String { pick("Retry", "Erneut versuchen") }
    var open: String { pick("Open", "Öffnen") }
    var recentRuns: String { pick("Recent runs", "Letzte Läufe") }
    var started: String { pick("Started", "Begonnen") }
    var finished: String { pick("Finished", "Beendet") }
    var result: String { pick("Result", "Ergebnis") }
    var counts: String { pick("Changes", "Änderungen") }
    var message: String { pick("Message", "Meldung") }
    var item: String { pick("Item", "Eintrag") }
    var operation: String { pick("Write", "Schreibvorgang") }
    var cause: String { pick("Cause", "Ursache") }
    var attempts: String { pick("Attempts", "Versuche") }
    var since: String { pick("Since", "Seit") }
    var field: String { pick("Field", "Feld") }
    var detected: String { pick("Detected", "Erkannt") }
    var changed: String { pick("changed", "geändert") }
    var policy: String { pick("Policy", "Regel") }
    var skip: String { pick("Skip: keep both as they are", "Überspringen: beide unverändert lassen") }
    var readOnly: String {
        pick(
            "Read-only: actions are switched off (console: read_only).",
            "Nur lesen: Aktionen sind abgeschaltet (console: read_only).")
    }
    var waitsForEnable: String { pick("waits to be enabled", "wartet auf Aktivieren") }
    var disabledUsers: String { pick("Switched off in connectors.yaml", "In connectors.yaml abgeschaltet") }
    var noConflicts: String { pick("No open conflicts.", "Keine offenen Konflikte.") }
    var noDeadLetters: String { pick("No dead letters.", "Keine nicht übertragbaren Einträge.") }
    var noRuns: String { pick("No runs yet.", "Noch keine Läufe.") }
    var differingFields: String { pick("Differing fields", "Unterschiedliche Felder") }
    var empty: String { pick("(empty)", "(leer)") }
    var settled: String { pick("This conflict is settled.", "Dieser Konflikt ist erledigt.") }
    var back: String { pick("Back to the account", "Zurück zum Konto") }
    var notFound: String { pick("Not found.", "Nicht gefunden.") }
    var refreshes: String {
        pick(
            "This page refreshes itself while a run is in progress.",
            "Diese Seite aktualisiert sich, während ein Lauf läuft.")
    }
    var deadLetterHelp: String {
        pick(
            "Items the other side refused. They are not tried again until they change, or until you retry them here.",
            "Einträge, die die andere Seite abgelehnt hat. Sie werden erst wieder versucht, wenn sie sich ändern oder wenn Sie sie hier erneut versuchen."
        )
    }

    func status(_ status: AccountState.Status) -> String {
        switch status {
        case .enabled: pick("enabled", "aktiv")
        case .failing: pick("failing", "gestört")
        case .disabled: pick("disabled", "abgeschaltet")
        }
    }

    func runStatus(_ status: String) -> String {
        switch status {
        case "ok": pick("ok", "ok")
        case "partial": pick("partly failed", "teilweise fehlgeschlagen")
        case "guarded": pick("stopped by the deletion guard", "von der Löschsperre angehalten")
        case "failed": pick("failed", "fehlgeschlagen")
        case "stopped": pick("stopped", "unterbrochen")
        default: status
        }
    }

    /// A run in progress and how long it has been running (`läuft seit 2 min`).
    func running(since start: Date, now: Date = Date()) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(start)))
        let length =
            seconds < 60
            ? "\(seconds) s" : seconds < 3600 ? "\(seconds / 60) min" : "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        return pick("running for \(length)", "läuft seit \(length)")
    }

    func progress(written: Int, planned: Int?) -> String {
        if let planned {
            return pick("\(written) of \(planned) items written", "\(written) von \(planned) Einträgen geschrieben")
        }
        return pick("\(written) items written", "\(written) Einträge geschrieben")
    }

    func failures(_ count: Int) -> String { pick("\(count) failed runs in a row", "\(count) Fehlläufe hintereinander") }

    func take(_ side: String) -> String { pick("Take \(side)'s version", "Fassung von \(side) übernehmen") }

    func version(_ side: String) -> String { pick("\(side)'s version", "Fassung in \(side)") }

    func decided(_ decision: ConflictDecision, source: String, target: String) -> String {
        let choice =
            switch decision {
            case .source: take(source)
            case .target: take(target)
            case .skip: skip
            }
        return pick(
            "Decided: \(choice). The next run applies it (started now).",
            "Entschieden: \(choice). Der nächste Lauf führt es aus (gerade angestoßen).")
    }

    func requested(_ what: String) -> String { pick("\(what): requested.", "\(what): angestoßen.") }

    func conflictOf(_ name: String) -> String { pick("Conflict: \(name)", "Konflikt: \(name)") }

    func direction(from: String, to: String) -> String { pick("\(from) → \(to)", "\(from) → \(to)") }

    func operationName(_ operation: String) -> String {
        switch operation {
        case "create": pick("create", "anlegen")
        case "update": pick("update", "ändern")
        case "delete": pick("delete", "löschen")
        default: operation
        }
    }

    /// A count key of a run (`source→target create`, `conflicts`) in words.
    func countName(_ key: String, source: String, target: String) -> String {
        var text = key.replacingOccurrences(of: "source→target", with: "\(source)→\(target)")
            .replacingOccurrences(of: "target→source", with: "\(target)→\(source)")
        if language == .de {
            for (en, de) in [
                ("create", "neu"), ("update", "geändert"), ("delete", "gelöscht"), ("conflicts", "Konflikte"),
                ("failed", "fehlgeschlagen"), ("adopt", "übernommen"), ("unlink", "entkoppelt"),
            ] {
                text = text.replacingOccurrences(of: en, with: de)
            }
        }
        return text
    }

    func ago(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 0 {
            let ahead = -seconds
            if ahead < 60 { return pick("in \(ahead) s", "in \(ahead) s") }
            if ahead < 3600 { return pick("in \(ahead / 60) min", "in \(ahead / 60) min") }
            return pick("in \(ahead / 3600) h", "in \(ahead / 3600) h")
        }
        if seconds < 60 { return pick("\(seconds) s ago", "vor \(seconds) s") }
        if seconds < 3600 { return pick("\(seconds / 60) min ago", "vor \(seconds / 60) min") }
        if seconds < 86400 { return pick("\(seconds / 3600) h ago", "vor \(seconds / 3600) h") }
        return pick("\(seconds / 86400) days ago", "vor \(seconds / 86400) Tagen")
    }

    /// A moment as a local date and time (`03.12.2025 16:05` in German).
    func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: language == .de ? "de_DE" : "en_GB")
        formatter.dateFormat = language == .de ? "dd.MM.yyyy HH:mm:ss" : "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// A part of a structured value (an address's street, a phone number's kind).
    func partName(_ name: String) -> String {
        let labels: [String: (String, String)] = [
            "street": ("Street", "Straße"), "postalCode": ("Postcode", "PLZ"), "city": ("City", "Ort"),
            "state": ("State", "Bundesland"), "country": ("Country", "Land"), "business": ("Business", "Geschäftlich"),
            "business2": ("Business 2", "Geschäftlich 2"), "home": ("Home", "Privat"), "home2": ("Home 2", "Privat 2"),
            "mobile": ("Mobile", "Mobil"), "fax": ("Fax", "Fax"), "businessFax": ("Business fax", "Fax geschäftlich"),
            "assistant": ("Assistant", "Sekretariat"), "car": ("Car", "Auto"), "other": ("Other", "Weitere"),
        ]
        return labels[name].map { pick($0.0, $0.1) } ?? name
    }

    /// A connector's conflict policy in words.
    func policyName(_ policy: String) -> String {
        switch policy {
        case "report": pick("report (decide here)", "melden (hier entscheiden)")
        case "source-wins": pick("source wins", "Quelle gewinnt")
        case "target-wins": pick("target wins", "Ziel gewinnt")
        case "newest-wins": pick("newest wins", "neueste gewinnt")
        default: policy
        }
    }

    /// A data kind in words.
    func kindName(_ kind: DataKind) -> String {
        switch kind {
        case .address: pick("addresses", "Adressen")
        case .calendar: pick("appointments", "Termine")
        case .task: pick("tasks", "Aufgaben")
        case .mail: pick("e-mails", "E-Mails")
        }
    }

    /// A record field's name as an office reads it; the field's own name when the table has none.
    func fieldName(_ name: String) -> String {
        let labels: [String: (String, String)] = [
            "salutation": ("Salutation", "Anrede"), "title": ("Title", "Titel"), "givenName": ("First name", "Vorname"),
            "middleName": ("Middle name", "Zweiter Vorname"), "familyName": ("Last name", "Nachname"),
            "company": ("Company", "Firma"), "department": ("Department", "Abteilung"),
            "jobTitle": ("Job title", "Position"), "emails": ("E-mail addresses", "E-Mail-Adressen"),
            "phones": ("Phone numbers", "Telefonnummern"), "businessAddress": ("Business address", "Geschäftsadresse"),
            "homeAddress": ("Home address", "Privatadresse"), "otherAddress": ("Other address", "Weitere Adresse"),
            "birthday": ("Birthday", "Geburtstag"), "webPage": ("Web page", "Webseite"), "notes": ("Notes", "Notizen"),
            "categories": ("Categories", "Kategorien"), "subject": ("Subject", "Betreff"),
            "location": ("Location", "Ort"),
            "body": ("Text", "Text"), "timing": ("Time", "Zeit"), "reminderMinutes": ("Reminder", "Erinnerung"),
            "busyStatus": ("Show as", "Anzeigen als"), "isPrivate": ("Private", "Privat"),
            "organizer": ("Organizer", "Organisator"), "attendees": ("Attendees", "Teilnehmer"),
            "recurrence": ("Recurrence", "Serie"), "startDate": ("Start", "Beginn"), "dueDate": ("Due", "Fällig"),
            "status": ("Status", "Status"), "percentComplete": ("% complete", "% erledigt"),
            "completedAt": ("Completed", "Erledigt am"), "importance": ("Importance", "Wichtigkeit"),
            "reminderAt": ("Reminder", "Erinnerung"),
        ]
        return labels[name].map { pick($0.0, $0.1) } ?? name
    }
}
