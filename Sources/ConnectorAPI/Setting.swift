import Foundation

/// One setting declared once: its spec (name, type, default, documentation) and how its value is
/// read, so what `validate` accepts, what `connector-host adapters` documents and what the adapter
/// reads cannot drift apart.
///
/// An adapter declares its settings as properties of one value and builds its spec from it:
///
/// ```swift
/// struct MySettings {
///     let url = Setting<String?>.url("url", required: true, doc: "The server.")
///     let batchSize = Setting<Int>.integer("batch_size", in: 1...500, default: 50, doc: "Items per request.")
/// }
/// static let settings = MySettings()
/// static let spec = ConfigSpec(declaredIn: settings)   // every `Setting` property, in order
/// …
/// let size = settings[Self.settings.batchSize]          // 50 when absent
/// ```
public struct Setting<Value: Sendable>: Sendable, DeclaredSetting {
    public let spec: SettingSpec
    let read: @Sendable (Settings) -> Value

    /// A setting of any type; `read` gets the validated settings.
    public init(spec: SettingSpec, read: @escaping @Sendable (Settings) -> Value) {
        self.spec = spec
        self.read = read
    }
}

/// Anything that declares one setting (for ``ConfigSpec/init(declaredIn:)``).
public protocol DeclaredSetting {
    var spec: SettingSpec { get }
}

extension ConfigSpec {
    /// The spec of every ``Setting`` stored property of `declarations`, in declaration order.
    /// A property that is a ``DeclaredSettingGroup`` contributes its settings at its place.
    public init(declaredIn declarations: Any) {
        self.init(Self.specs(declaredIn: declarations))
    }

    static func specs(declaredIn declarations: Any) -> [SettingSpec] {
        Mirror(reflecting: declarations).children.flatMap { child -> [SettingSpec] in
            if let setting = child.value as? any DeclaredSetting { return [setting.spec] }
            if child.value is any DeclaredSettingGroup { return specs(declaredIn: child.value) }
            return []
        }
    }
}

/// A group of settings declared together and shared by several adapters (e.g. how to reach an
/// HTTP server); a property of this type in an adapter's settings declares all of them.
public protocol DeclaredSettingGroup {}

extension Settings {
    /// The value of a declared setting: as given, else its declared default.
    public subscript<Value>(_ setting: Setting<Value>) -> Value { setting.read(self) }
}

extension Setting where Value == String {
    /// A text setting with a default.
    public static func string(_ name: String, default value: String, doc: String) -> Setting<String> {
        Setting(spec: SettingSpec(name, .string, default: value, doc: doc)) { $0.string(name) ?? value }
    }

    /// One of a list of words, with a default.
    public static func oneOf(_ name: String, _ values: [String], default value: String, doc: String) -> Setting<String>
    {
        Setting(spec: SettingSpec(name, .oneOf(values), default: value, doc: doc)) { $0.string(name) ?? value }
    }
}

extension Setting where Value == String? {
    /// A text setting without a default.
    public static func string(_ name: String, required: Bool = false, doc: String) -> Setting<String?> {
        Setting(spec: SettingSpec(name, .string, required: required, doc: doc)) { $0.string(name) }
    }

    /// An absolute http(s) URL without a default.
    public static func url(_ name: String, required: Bool = false, doc: String) -> Setting<String?> {
        Setting(spec: SettingSpec(name, .url, required: required, doc: doc)) { $0.string(name) }
    }

    /// One of a list of words, without a default.
    public static func oneOf(_ name: String, _ values: [String], doc: String) -> Setting<String?> {
        Setting(spec: SettingSpec(name, .oneOf(values), doc: doc)) { $0.string(name) }
    }
}

extension Setting where Value == Secret? {
    /// A secret (`${ENV_VAR}`, `<name>_file`, or inline).
    public static func secret(_ name: String, required: Bool = false, doc: String) -> Setting<Secret?> {
        Setting(spec: SettingSpec(name, .secret, required: required, doc: doc)) { $0.secret(name) }
    }
}

extension Setting where Value == Int {
    /// A whole number in a range, with a default.
    public static func integer(_ name: String, in range: ClosedRange<Int>, default value: Int, doc: String)
        -> Setting<Int>
    {
        Setting(spec: SettingSpec(name, .integer(range), default: String(value), doc: doc)) {
            $0.integer(name) ?? value
        }
    }
}

extension Setting where Value == Bool {
    /// A boolean with a default.
    public static func boolean(_ name: String, default value: Bool, doc: String) -> Setting<Bool> {
        Setting(spec: SettingSpec(name, .boolean, default: value ? "true" : "false", doc: doc)) {
            $0.boolean(name) ?? value
        }
    }
}

extension Setting where Value == Duration {
    /// A duration (`90s`, `5m`, `1h`, `250ms`, `30d`) with a default written that way; `positive`
    /// refuses zero (a timeout of `0s` could never work).
    public static func duration(_ name: String, default text: String, positive: Bool = false, doc: String)
        -> Setting<Duration>
    {
        guard let value = SettingValue.duration(parsing: text) else {
            preconditionFailure("the default '\(text)' of setting '\(name)' is not a duration")
        }
        return Setting(
            spec: SettingSpec(name, positive ? .positiveDuration : .duration, default: text, doc: doc)
        ) { $0.duration(name) ?? value }
    }
}

extension Setting where Value == TimeZone {
    /// A time zone by its IANA name, with a default; `validate` refuses a name the system does
    /// not know, so the reading code always gets a zone.
    public static func timeZone(_ name: String, default identifier: String, doc: String) -> Setting<TimeZone> {
        guard let fallback = TimeZone(identifier: identifier) else {
            preconditionFailure("the default '\(identifier)' of setting '\(name)' is not a time zone")
        }
        return Setting(spec: SettingSpec(name, .timeZone, default: identifier, doc: doc)) {
            $0.string(name).flatMap(TimeZone.init(identifier:)) ?? fallback
        }
    }
}

extension Setting where Value == [String] {
    /// A list of words; `default` when absent (one word at most: a default is written as one word).
    public static func list(_ name: String, default value: [String] = [], doc: String) -> Setting<[String]> {
        precondition(value.count <= 1, "the default of list setting '\(name)' is one word at most")
        return Setting(spec: SettingSpec(name, .list(.string), default: value.first, doc: doc)) { settings in
            settings.values[name] == nil ? value : settings.strings(name)
        }
    }
}

extension Setting where Value == [String: String] {
    /// A mapping from the given keys to text; `defaults` documents each key's value when absent
    /// (the reading code gets only the keys given).
    public static func mapping(_ name: String, keys: [String], defaults: [String: String], doc: String)
        -> Setting<[String: String]>
    {
        Setting(spec: SettingSpec(name, .mapping(keys: keys, value: .string, defaults: defaults), doc: doc)) {
            $0.mapping(name)
        }
    }
}

extension Setting where Value == [String: String] {
    /// A mapping of free names to strings (e.g. Outlook category → Merkmal); empty by default.
    public static func names(_ name: String, doc: String) -> Setting<[String: String]> {
        Setting(spec: SettingSpec(name, .mapping(keys: [], value: .string, defaults: [:]), doc: doc)) {
            $0.mapping(name)
        }
    }
}

extension SettingValue {
    /// A duration as settings write it: a number and `ms`, `s`, `m`, `h` or `d` (`90s`, `30d`).
    public static func duration(parsing text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0 else { return nil }
            return .milliseconds(Int64((value * factor * 1000).rounded()))
        }
        return nil
    }
}
