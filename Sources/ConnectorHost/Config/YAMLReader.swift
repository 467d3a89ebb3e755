import ConnectorAPI
import Foundation
import Yams

/// Walks a composed YAML tree, converting values and collecting positioned diagnostics.
struct YAMLReader {
    let file: String
    let environment: [String: String]
    let baseDirectory: URL
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, environment: [String: String], baseDirectory: URL) {
        self.file = file
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    mutating func error(_ node: Node?, _ message: String) {
        diagnostics.append(
            ConfigDiagnostic(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, message: message)
        )
    }

    /// Key/value pairs of a mapping, or an error naming `what` when the node is something else.
    mutating func mapping(_ node: Node, _ what: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping of keys to values")
            return nil
        }
        var seen: Set<String> = []
        var pairs: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                error(keyNode, "\(what): keys must be plain names")
                continue
            }
            if !seen.insert(scalar.string).inserted {
                error(keyNode, "\(what): duplicate key '\(scalar.string)'")
                continue
            }
            pairs.append((scalar.string, keyNode, value))
        }
        return pairs
    }

    /// Reports keys outside `allowed`, suggesting the closest allowed key.
    mutating func checkKeys(_ pairs: [(key: String, keyNode: Node, value: Node)], allowed: [String], _ what: String) {
        for pair in pairs where !allowed.contains(pair.key) {
            var message = "unknown key '\(pair.key)' in \(what)"
            if let suggestion = Self.closest(pair.key, in: allowed) { message += "; did you mean '\(suggestion)'?" }
            message += " (allowed: \(allowed.joined(separator: ", ")))"
            error(pair.keyNode, message)
        }
    }

    mutating func sequence(_ node: Node, _ what: String) -> [Node]? {
        if case .sequence(let sequence) = node { return Array(sequence) }
        error(node, "\(what) must be a list")
        return nil
    }

    /// A scalar as text, with `${VAR}` replaced from the environment.
    mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error(node, "\(what) must be a single value, not a list or mapping")
            return nil
        }
        return interpolate(scalar.string, node, what)
    }

    mutating func interpolate(_ text: String, _ node: Node, _ what: String) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                error(node, "\(what): unterminated '${' reference")
                return nil
            }
            let name = String(rest[open.upperBound..<close])
            guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                error(node, "\(what): '${\(name)}' is not a valid environment variable reference")
                return nil
            }
            guard let value = environment[name] else {
                error(node, "\(what): environment variable \(name) is not set")
                return nil
            }
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    mutating func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, what) else { return nil }
        guard let value = Int(text) else {
            error(node, "\(what) must be a whole number, not '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
            return nil
        }
        return value
    }

    mutating func number(_ node: Node, _ what: String, in range: ClosedRange<Double>) -> Double? {
        guard let text = string(node, what) else { return nil }
        guard let value = Double(text.hasSuffix("%") ? String(text.dropLast()) : text) else {
            error(node, "\(what) must be a number, not '\(text)'")
            return nil
        }
        let scaled = text.hasSuffix("%") ? value / 100 : value
        guard range.contains(scaled) else {
            error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), not '\(text)'")
            return nil
        }
        return scaled
    }

    mutating func boolean(_ node: Node, _ what: String) -> Bool? {
        guard let text = string(node, what) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(what) must be true or false, not '\(text)'")
            return nil
        }
    }

    mutating func duration(_ node: Node, _ what: String) -> Duration? {
        guard let text = string(node, what) else { return nil }
        guard let value = Self.parseDuration(text) else {
            error(node, "\(what) must be a duration such as 250ms, 30s, 5m or 1h, not '\(text)'")
            return nil
        }
        return value
    }

    /// A duration that must be above zero (an interval or backoff of 0s would spin).
    mutating func positiveDuration(_ node: Node, _ what: String) -> Duration? {
        guard let value = duration(node, what) else { return nil }
        guard value > .zero else {
            error(node, "\(what) must be longer than 0s")
            return nil
        }
        return value
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, as: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, what) else { return nil }
        if let value = T(rawValue: text) { return value }
        let allowed = T.allCases.map(\.rawValue)
        var message = "\(what) must be one of \(allowed.joined(separator: ", ")), not '\(text)'"
        if let suggestion = Self.closest(text, in: allowed) { message += "; did you mean '\(suggestion)'?" }
        error(node, message)
        return nil
    }

    mutating func stringList(_ node: Node, _ what: String) -> [String]? {
        if case .scalar = node, let single = string(node, what) { return [single] }
        guard let items = sequence(node, what) else { return nil }
        return items.compactMap { string($0, "an entry of \(what)") }
    }

    static func parseDuration(_ text: String) -> Duration? { SettingValue.duration(parsing: text) }

    /// The allowed word closest to `word` by edit distance, if it is close enough to be a typo.
    static func closest(_ word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
