import Foundation

/// A value that must never be printed: passwords, connection strings with credentials.
/// Its description is always `<redacted>`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret text. Pass it to the protocol that needs it, never to a log or message.
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// The type of a configuration setting.
public indirect enum SettingType: Sendable, Hashable, CustomStringConvertible {
    case string
    /// A secret: written inline (discouraged), as `${ENV_VAR}`, or through a `<name>_file` key.
    case secret
    case integer(ClosedRange<Int>)
    case boolean
    /// A duration such as `90s`, `5m`, `1h`, `250ms`.
    case duration
    /// A duration above zero (a timeout: `0s` could never work).
    case positiveDuration
    /// An absolute `http://` or `https://` URL with a host.
    case url
    /// A time zone by its IANA name (`Europe/Berlin`, `UTC`).
    case timeZone
    case oneOf([String])
    case list(SettingType)
    /// A mapping from the given keys (any subset) to values of one type; `defaults` documents
    /// the value each key has when it is not given. No keys: any key is allowed.
    case mapping(keys: [String], value: SettingType, defaults: [String: String])

    public var description: String {
        switch self {
        case .string: "string"
        case .secret: "secret"
        case .integer(let range): "integer \(range.lowerBound)...\(range.upperBound)"
        case .boolean: "boolean"
        case .duration: "duration"
        case .positiveDuration: "duration above 0"
        case .url: "http(s) URL"
        case .timeZone: "time zone (IANA name)"
        case .oneOf(let values): "one of " + values.joined(separator: ", ")
        case .list(let element): "list of \(element)"
        case .mapping(let keys, let value, _):
            keys.isEmpty ? "mapping of names to \(value)" : "mapping of \(keys.count) keys to \(value)"
        }
    }
}

/// One setting an adapter (or a filter) accepts.
public struct SettingSpec: Sendable, Hashable {
    public var name: String
    public var type: SettingType
    public var required: Bool
    /// The value used when the setting is absent, as written in YAML.
    public var defaultValue: String?
    /// One line of documentation, shown by `connector-host adapters`.
    public var doc: String

    public init(
        _ name: String, _ type: SettingType, required: Bool = false, default defaultValue: String? = nil, doc: String
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// The settings an adapter type declares; the host validates configuration against it before anything runs.
public struct ConfigSpec: Sendable, Hashable {
    public var settings: [SettingSpec]
    public init(_ settings: [SettingSpec]) { self.settings = settings }
    public static let empty = ConfigSpec([])

    public subscript(name: String) -> SettingSpec? { settings.first { $0.name == name } }
}

/// A validated setting value.
public enum SettingValue: Sendable, Hashable {
    case string(String)
    case secret(Secret)
    case integer(Int)
    case boolean(Bool)
    case duration(Duration)
    case list([SettingValue])
    case mapping([String: SettingValue])
}

/// Validated settings, read with typed accessors. Absent settings without a default are nil.
public struct Settings: Sendable, Hashable {
    public var values: [String: SettingValue]
    public init(_ values: [String: SettingValue] = [:]) { self.values = values }

    public func string(_ name: String) -> String? {
        if case .string(let value)? = values[name] { return value }
        return nil
    }

    public func secret(_ name: String) -> Secret? {
        switch values[name] {
        case .secret(let value)?: value
        case .string(let value)?: Secret(value)
        default: nil
        }
    }

    public func integer(_ name: String) -> Int? {
        if case .integer(let value)? = values[name] { return value }
        return nil
    }

    public func boolean(_ name: String) -> Bool? {
        if case .boolean(let value)? = values[name] { return value }
        return nil
    }

    public func duration(_ name: String) -> Duration? {
        if case .duration(let value)? = values[name] { return value }
        return nil
    }

    /// A mapping setting's entries as text.
    public func mapping(_ name: String) -> [String: String] {
        guard case .mapping(let entries)? = values[name] else { return [:] }
        return entries.compactMapValues { if case .string(let value) = $0 { value } else { nil } }
    }

    public func strings(_ name: String) -> [String] {
        guard case .list(let items)? = values[name] else { return [] }
        return items.compactMap { if case .string(let value) = $0 { value } else { nil } }
    }
}
