/// State changes of a mail that can travel after the mail itself was placed or imported.
public enum MailStateChange: String, Sendable, Hashable, Codable, CaseIterable {
    /// Read/unread flag.
    case readFlag = "read-flag"
    /// Deletion of the mail.
    case delete
    /// Move between folders.
    case move
    /// Replies booked against the mail they answer.
    case replies
}

/// What an endpoint can do. The engine plans from these, never from an adapter's name; profiles
/// only narrow them.
public struct Capabilities: Sendable, Hashable {
    /// Data kinds the adapter holds.
    public var kinds: Set<DataKind>
    public var canRead: Bool
    public var canWrite: Bool
    public var canDelete: Bool
    /// Mail state changes the adapter can carry (empty: mail is read-only after import).
    public var mailStateChanges: Set<MailStateChange>
    /// Fields held per kind; a kind missing here holds every field of its record.
    public var fields: [DataKind: Set<String>]
    /// Kinds the adapter only reads: nothing is created, changed or deleted in them (the legacy
    /// Exchange profile's mail). A connector of such a kind can only flow away from this side.
    public var readOnlyKinds: Set<DataKind>
    /// Fields per kind this side only keeps for the other side: it stores them but its users cannot
    /// see or edit them (FlowFact's connector table). An empty or default value there (no middle
    /// name, not private, 0 % done) means "not known here" (a record from before the side kept the
    /// field, or made on this side), never "cleared", so an update from this side leaves such a
    /// field out instead of clearing it on the other side.
    public var keptFields: [DataKind: Set<String>]

    public init(
        kinds: Set<DataKind>, canRead: Bool = true, canWrite: Bool = true, canDelete: Bool = true,
        mailStateChanges: Set<MailStateChange> = Set(MailStateChange.allCases), fields: [DataKind: Set<String>] = [:],
        readOnlyKinds: Set<DataKind> = [], keptFields: [DataKind: Set<String>] = [:]
    ) {
        self.kinds = kinds
        self.canRead = canRead
        self.canWrite = canWrite
        self.canDelete = canDelete
        self.mailStateChanges = mailStateChanges
        self.fields = fields
        self.readOnlyKinds = readOnlyKinds
        self.keptFields = keptFields
    }

    /// The fields of `fields` an update from this side writes for `record`: all of them, less the
    /// kept fields that are empty or at their default in the record (unknown here, so the other
    /// side's value stays).
    public func fieldsToWrite(_ fields: Set<String>, of record: Record) -> Set<String> {
        guard let kept = keptFields[record.kind], !kept.isDisjoint(with: fields) else { return fields }
        let values = RecordFields.map(record)
        let defaults = RecordFields.defaults(for: record.kind)
        return fields.filter { name in
            guard kept.contains(name), let value = values[name], !value.isEmpty else { return !kept.contains(name) }
            return value != defaults[name]
        }
    }

    /// The capabilities a connector of `kind` has: without writing or deleting when the kind is
    /// read-only here.
    public func forKind(_ kind: DataKind) -> Capabilities {
        guard readOnlyKinds.contains(kind) else { return self }
        var result = self
        result.canWrite = false
        result.canDelete = false
        return result
    }

    /// The fields of `kind` this side holds.
    public func fields(of kind: DataKind) -> Set<String> {
        fields[kind] ?? Set(RecordFields.names(for: kind))
    }

    /// These capabilities with a restriction applied. A restriction can only take away.
    public func narrowed(by restriction: CapabilityRestriction) -> Capabilities {
        var result = self
        if let kinds = restriction.kinds { result.kinds.formIntersection(kinds) }
        if restriction.write == false { result.canWrite = false }
        if restriction.delete == false { result.canDelete = false }
        if let states = restriction.mailStateChanges { result.mailStateChanges.formIntersection(states) }
        for (kind, excluded) in restriction.excludedFields {
            result.fields[kind] = result.fields(of: kind).subtracting(excluded)
        }
        return result
    }
}

/// A narrowing of capabilities, as a profile in `connectors.yaml` declares it. Nil means "no change".
public struct CapabilityRestriction: Sendable, Hashable {
    public var kinds: Set<DataKind>?
    public var write: Bool?
    public var delete: Bool?
    public var mailStateChanges: Set<MailStateChange>?
    public var excludedFields: [DataKind: Set<String>]

    public init(
        kinds: Set<DataKind>? = nil, write: Bool? = nil, delete: Bool? = nil,
        mailStateChanges: Set<MailStateChange>? = nil, excludedFields: [DataKind: Set<String>] = [:]
    ) {
        self.kinds = kinds
        self.write = write
        self.delete = delete
        self.mailStateChanges = mailStateChanges
        self.excludedFields = excludedFields
    }
}
