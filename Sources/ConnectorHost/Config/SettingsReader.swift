import ConnectorAPI
import Foundation
import Yams

extension YAMLReader {
    /// Validates a mapping against a spec: unknown keys, types, required settings and defaults.
    /// A secret setting `x` may instead be given as `x_file: PATH` (the file's content, trailing
    /// newline removed). `ignoring` names keys handled by the caller (e.g. `type`).
    mutating func settings(
        _ pairs: [(key: String, keyNode: Node, value: Node)], spec: ConfigSpec, at parent: Node, _ what: String,
        ignoring: [String] = []
    ) -> Settings {
        var result = Settings()
        let secretFiles = spec.settings.filter { $0.type == .secret }.map { $0.name + "_file" }
        checkKeys(
            pairs.filter { !ignoring.contains($0.key) }, allowed: spec.settings.map(\.name) + secretFiles, what)
        for setting in spec.settings {
            let label = "\(what): '\(setting.name)'"
            let direct = pairs.first { $0.key == setting.name }
            let file = pairs.first { $0.key == setting.name + "_file" }
            if direct != nil, let file {
                error(file.keyNode, "\(label) is given twice, inline and as '\(file.key)'; keep one")
                continue
            }
            if let file {
                guard let path = string(file.value, "\(what): '\(file.key)'") else { continue }
                let url = URL(fileURLWithPath: path, relativeTo: baseDirectory)
                guard let data = FileManager.default.contents(atPath: url.path) else {
                    error(file.value, "\(what): '\(file.key)': cannot read secret file \(url.path)")
                    continue
                }
                var text = String(decoding: data, as: UTF8.self)
                while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                result.values[setting.name] = .secret(Secret(text))
                continue
            }
            if let direct {
                if let value = value(direct.value, type: setting.type, label) { result.values[setting.name] = value }
            } else if let defaultValue = setting.defaultValue {
                if let value = value(Node(defaultValue), type: setting.type, label) {
                    result.values[setting.name] = value
                }
            } else if setting.required {
                error(parent, "\(what): missing required setting '\(setting.name)' (\(setting.doc))")
            }
        }
        return result
    }

    mutating func value(_ node: Node, type: SettingType, _ what: String) -> SettingValue? {
        switch type {
        case .string: string(node, what).map(SettingValue.string)
        case .secret: string(node, what).map { .secret(Secret($0)) }
        case .integer(let range): integer(node, what, in: range).map(SettingValue.integer)
        case .boolean: boolean(node, what).map(SettingValue.boolean)
        case .duration: duration(node, what).map(SettingValue.duration)
        case .positiveDuration:
            duration(node, what).flatMap { value -> SettingValue? in
                guard value > .zero else {
                    error(node, "\(what) must be longer than 0s: a request could never finish")
                    return nil
                }
                return .duration(value)
            }
        case .url:
            string(node, what).flatMap { text -> SettingValue? in
                let components = URLComponents(string: text)
                guard let scheme = components?.scheme?.lowercased(), ["http", "https"].contains(scheme),
                    let host = components?.host, !host.isEmpty
                else {
                    error(
                        node,
                        text.isEmpty
                            ? "\(what) is empty; give an absolute URL such as https://server.example.com/path"
                            : "\(what) must be an absolute http:// or https:// URL with a host, not '\(text)'")
                    return nil
                }
                return .string(text)
            }
        case .timeZone:
            string(node, what).flatMap { text -> SettingValue? in
                if TimeZone(identifier: text) != nil { return .string(text) }
                var message = "\(what) must be a time zone such as Europe/Berlin or UTC, not '\(text)'"
                if let suggestion = Self.closest(text, in: TimeZone.knownTimeZoneIdentifiers) {
                    message += "; did you mean '\(suggestion)'?"
                }
                error(node, message)
                return nil
            }
        case .oneOf(let allowed):
            string(node, what).flatMap { text -> SettingValue? in
                if allowed.contains(text) { return .string(text) }
                var message = "\(what) must be one of \(allowed.joined(separator: ", ")), not '\(text)'"
                if let suggestion = Self.closest(text, in: allowed) { message += "; did you mean '\(suggestion)'?" }
                error(node, message)
                return nil
            }
        case .mapping(let keys, let valueType, _):
            mapping(node, what).map { pairs in
                // No keys declared: any key (a free mapping such as category → Merkmal).
                if !keys.isEmpty { checkKeys(pairs, allowed: keys, what) }
                var entries: [String: SettingValue] = [:]
                for pair in pairs where keys.isEmpty || keys.contains(pair.key) {
                    if let value = value(pair.value, type: valueType, "\(what): \(pair.key)") {
                        entries[pair.key] = value
                    }
                }
                return .mapping(entries)
            }
        case .list(let element):
            if case .scalar = node, case .string = element {
                string(node, what).map { .list([.string($0)]) }
            } else {
                sequence(node, what).map { items in
                    .list(items.compactMap { value($0, type: element, "an entry of \(what)") })
                }
            }
        }
    }
}
