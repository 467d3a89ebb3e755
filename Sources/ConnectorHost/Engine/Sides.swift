import ConnectorAPI

/// Side-neutral access to the two sides of a job, so the engine reads "the item on `side`" and
/// "the other side" instead of a ternary on the side at every turn.
extension EndpointRole {
    /// The side across from this one.
    var other: EndpointRole { self == .source ? .target : .source }
}

extension Mapping {
    /// The id of the pair's item on `side`.
    func id(on side: EndpointRole) -> ItemID? { side == .source ? sourceID : targetID }

    /// The version last seen of the pair's item on `side`.
    func version(on side: EndpointRole) -> Version? { side == .source ? sourceVersion : targetVersion }

    /// Records the item on `side` at `state`'s version, with its content hash.
    mutating func record(_ state: ItemState, on side: EndpointRole, hash: String) {
        if side == .source {
            sourceVersion = state.version
            sourceHash = hash
        } else {
            targetVersion = state.version
            targetHash = hash
        }
    }
}

extension Planner {
    /// The capabilities of `side`.
    func capabilities(_ side: EndpointRole) -> Capabilities { side == .source ? sourceCaps : targetCaps }

    /// The fields that flow onto `side` (from the other).
    func fields(onto side: EndpointRole) -> Set<String> { side == .target ? toTarget : toSource }

    /// Whether changes flow from `side` to the other.
    func flows(from side: EndpointRole) -> Bool { side == .source ? flowsToTarget : flowsToSource }

    /// The deletion policy for an item deleted on `side`.
    func deletionPolicy(deletedOn side: EndpointRole) -> DeletionPolicy {
        side == .source ? definition.sourceDeletion : definition.targetDeletion
    }
}
