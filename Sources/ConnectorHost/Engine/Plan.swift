import ConnectorAPI
import Foundation

/// One step the engine will take for a connector and user. The dry run prints these.
public enum SyncAction: Sendable {
    /// Create a copy of `origin` on `side` (the other side holds `origin`), stamped with `key`.
    case create(on: EndpointRole, origin: ItemState, key: SyncKey)
    /// Write `fields` of `origin` to item `id` on `side`.
    case update(
        on: EndpointRole, id: ItemID, expectedVersion: Version?, origin: ItemState, fields: Set<String>,
        mapping: Mapping)
    /// Delete item `id` on `side`.
    case delete(on: EndpointRole, id: ItemID, mapping: Mapping)
    /// Record `mapping` without writing anything (new versions, an adopted copy, equal content).
    case link(Mapping, adopted: Bool)
    /// Forget `mapping` (a filter-leave with `keep`, both sides gone) or mark it detached (`unlink`).
    case unlink(Mapping, detach: Bool, reason: String)

    /// The side the action writes to, if it writes.
    public var writesTo: EndpointRole? {
        switch self {
        case .create(let side, _, _), .update(let side, _, _, _, _, _), .delete(let side, _, _): side
        case .link, .unlink: nil
        }
    }
}

/// A conflict found while planning and how the policy settled it.
public struct PlannedConflict: Sendable {
    public var source: ItemState?
    public var target: ItemState?
    public var sourceID: ItemID?
    public var targetID: ItemID?
    public var policy: ConflictPolicy
    /// `source-wins`, `target-wins`, `reported`, `kept-changed` (a change beat a deletion).
    public var resolution: String
    /// True when the conflict stays open for an administrator.
    public var open: Bool
    /// The administrator's decision this conflict was settled by, if any.
    public var decision: ConflictDecision? = nil
}

/// What a run will do.
public struct SyncPlan: Sendable {
    public var actions: [SyncAction] = []
    public var conflicts: [PlannedConflict] = []
    /// Pairs whose open conflict no longer holds.
    public var closedConflicts: [(ItemID?, ItemID?)] = []
    /// Items the plan skips, with the reason (invalid data, for example).
    public var skipped: [(role: EndpointRole, id: ItemID, name: String, reason: String)] = []

    /// Writes the plan makes on `side`.
    public func writes(on side: EndpointRole) -> [SyncAction] { actions.filter { $0.writesTo == side } }

    /// Counts by direction and operation, e.g. `source→target created`.
    public var counts: [String: Int] {
        var counts: [String: Int] = [:]
        for action in actions {
            switch action {
            case .create(let side, _, _): counts["\(Self.direction(side)) create", default: 0] += 1
            case .update(let side, _, _, _, _, _): counts["\(Self.direction(side)) update", default: 0] += 1
            case .delete(let side, _, _): counts["\(Self.direction(side)) delete", default: 0] += 1
            case .unlink(_, _, _): counts["unlink", default: 0] += 1
            case .link(_, let adopted): if adopted { counts["adopt", default: 0] += 1 }
            }
        }
        if !conflicts.isEmpty { counts["conflicts"] = conflicts.count }
        return counts
    }

    /// `source→target` for writes on the target, `target→source` for writes on the source.
    public static func direction(_ writtenSide: EndpointRole) -> String {
        writtenSide == .target ? "source→target" : "target→source"
    }
}
