/// Which way records flow between a connector's source and target.
public enum SyncDirection: String, Sendable, Hashable, Codable, CaseIterable {
    case twoWay = "two-way"
    case sourceToTarget = "source-to-target"
    case targetToSource = "target-to-source"

    public var sourceFlowsToTarget: Bool { self != .targetToSource }
    public var targetFlowsToSource: Bool { self != .sourceToTarget }
}

/// Per-field direction in a connector's `fields:` mapping.
public enum FieldDirection: String, Sendable, Hashable, Codable, CaseIterable {
    case both
    case sourceToTarget = "source-to-target"
    case targetToSource = "target-to-source"
    /// The field is not synchronised.
    case none
}

/// How a conflict (both sides changed since the last sync) is resolved.
public enum ConflictPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case sourceWins = "source-wins"
    case targetWins = "target-wins"
    /// The side modified last wins; when a side cannot tell, the source wins.
    case newestWins = "newest-wins"
    /// Change neither side; record the conflict for an administrator.
    case report
}

/// What a deletion on one side does to the other side.
public enum DeletionPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Delete the other side's item too.
    case propagate
    /// Keep the other side's item and stop syncing it.
    case unlink
    /// Keep the other side's item, mark it as deleted on this side, and stop syncing it (mail only:
    /// FlowFact links a Merkmal to the activity of a mail deleted in the mailbox).
    case mark
}

/// What happens on the target when a source record leaves the connector's filter.
public enum FilterLeavePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Keep the target's item and stop syncing it (the default: nothing is deleted by a filter change).
    case keep
    /// Remove the target's item. The source record is never deleted.
    case remove
}

/// The engine-facing definition of a connector of one data kind: two endpoints and the rules
/// between them. The host builds it from `connectors.yaml`; one sync job runs it per mapped user.
public struct ConnectorDefinition: Sendable, Hashable {
    public var name: String
    public var kind: DataKind
    public var direction: SyncDirection
    public var conflict: ConflictPolicy
    /// Deletion on the source → target.
    public var sourceDeletion: DeletionPolicy
    /// Deletion on the target → source.
    public var targetDeletion: DeletionPolicy
    public var filterLeave: FilterLeavePolicy
    /// Field directions; a field not named here flows as `direction` says.
    public var fieldDirections: [String: FieldDirection]
    /// Share of mapped items (0...1) a run may delete before the guard stops it.
    public var massDeleteThreshold: Double
    /// Guard off: propagate mass deletions and empty sides (`--force`).
    public var force: Bool

    public init(
        name: String, kind: DataKind, direction: SyncDirection = .twoWay, conflict: ConflictPolicy = .sourceWins,
        sourceDeletion: DeletionPolicy = .propagate, targetDeletion: DeletionPolicy = .propagate,
        filterLeave: FilterLeavePolicy = .keep, fieldDirections: [String: FieldDirection] = [:],
        massDeleteThreshold: Double = 0.25, force: Bool = false
    ) {
        self.name = name
        self.kind = kind
        self.direction = direction
        self.conflict = conflict
        self.sourceDeletion = sourceDeletion
        self.targetDeletion = targetDeletion
        self.filterLeave = filterLeave
        self.fieldDirections = fieldDirections
        self.massDeleteThreshold = massDeleteThreshold
        self.force = force
    }

    /// Fields that flow from source to target, given what both sides hold.
    public func fieldsToTarget(source: Capabilities, target: Capabilities) -> Set<String> {
        fields(source: source, target: target) { direction, field in
            switch field ?? .both {
            case .both, .sourceToTarget: direction.sourceFlowsToTarget
            case .targetToSource, .none: false
            }
        }
    }

    /// Fields that flow from target to source, given what both sides hold.
    public func fieldsToSource(source: Capabilities, target: Capabilities) -> Set<String> {
        fields(source: source, target: target) { direction, field in
            switch field ?? .both {
            case .both, .targetToSource: direction.targetFlowsToSource
            case .sourceToTarget, .none: false
            }
        }
    }

    private func fields(
        source: Capabilities, target: Capabilities, flows: (SyncDirection, FieldDirection?) -> Bool
    ) -> Set<String> {
        let common = source.fields(of: kind).intersection(target.fields(of: kind))
        return common.filter { flows(direction, fieldDirections[$0]) }
    }
}
