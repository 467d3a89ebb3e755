import ConnectorAPI

/// A mapped pair's ids, for set lookups.
struct PairKey: Hashable {
    var source: ItemID?
    var target: ItemID?
    init(_ mapping: Mapping) {
        source = mapping.sourceID
        target = mapping.targetID
    }
    init(source: ItemID?, target: ItemID?) {
        self.source = source
        self.target = target
    }
}
