/// One parameter of a content line, such as `TZID=Europe/Berlin` or `MEMBER="a","b"`: a name
/// (upper-cased when parsed) and its values, unquoted.
public struct ICalParameter: Sendable, Hashable {
    /// The parameter name, e.g. `TZID`.
    public var name: String
    /// The values in order; most parameters have exactly one.
    public var values: [String]

    /// A parameter with one or more values.
    public init(_ name: String, _ values: [String]) {
        self.name = name.uppercased()
        self.values = values
    }

    /// A parameter with a single value.
    public init(_ name: String, _ value: String) {
        self.init(name, [value])
    }
}

/// One content line of iCalendar text: `NAME;PARAM=value:value`, or `group.NAME;PARAM=value:value`
/// in vCard and other RFC 2425 directory text.
///
/// `value` is the raw value as it stands in the text: TEXT values are still escaped (use
/// ``textValue`` and ``listValues``, or ``text(_:_:parameters:)`` to build one), dates and rules
/// are as written.
public struct ICalProperty: Sendable, Hashable {
    /// The property name, upper-cased when parsed, e.g. `DTSTART`.
    public var name: String
    /// The group of a grouped content line (`item1` of `item1.EMAIL`, RFC 6350 §3.3), upper-cased
    /// when parsed; nil for the ungrouped lines iCalendar has. Name lookups ignore it.
    public var group: String?
    /// The parameters in the order they were written.
    public var parameters: [ICalParameter]
    /// The raw value.
    public var value: String
    /// The input line the property started on, when it was parsed; not part of equality.
    public var line: Int?

    /// A property with a raw (already escaped) value, in `group` when given.
    public init(
        _ name: String, group: String? = nil, parameters: [ICalParameter] = [], value: String, line: Int? = nil
    ) {
        self.name = name.uppercased()
        self.group = group?.uppercased()
        self.parameters = parameters
        self.value = value
        self.line = line
    }

    /// A TEXT property whose value is escaped from `text`.
    public static func text(_ name: String, _ text: String, parameters: [ICalParameter] = []) -> ICalProperty {
        ICalProperty(name, parameters: parameters, value: ICalText.escape(text))
    }

    /// The first value of the named parameter (case-insensitive), or nil when absent.
    public func parameter(_ name: String) -> String? {
        parameterValues(name)?.first
    }

    /// All values of the named parameter (case-insensitive), or nil when absent.
    public func parameterValues(_ name: String) -> [String]? {
        let wanted = name.uppercased()
        return parameters.first { $0.name == wanted }?.values
    }

    /// The value read as TEXT: escapes resolved.
    public var textValue: String { ICalText.unescape(value) }

    /// The value read as a comma-separated list of TEXT values (CATEGORIES, RESOURCES).
    public var listValues: [String] { ICalText.splitList(value) }

    /// Equal when name, group, content and order agree; `line` is ignored.
    public static func == (lhs: ICalProperty, rhs: ICalProperty) -> Bool {
        lhs.name == rhs.name && lhs.group == rhs.group && lhs.parameters == rhs.parameters && lhs.value == rhs.value
    }

    /// Hashes what equality compares (not `line`).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(group)
        hasher.combine(parameters)
        hasher.combine(value)
    }
}
