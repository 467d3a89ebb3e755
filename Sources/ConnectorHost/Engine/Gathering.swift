import ConnectorAPI
import Foundation
import Logging

/// Gathering changes: every pass that runs before planning, in order, in one place. Each pass
/// adds to the changes what the planner needs beyond the two deltas; none writes anything.
extension Run {
    /// What gathering found: the changes of both sides, or a report that stops the run (a side
    /// that suddenly looks empty).
    enum Gathered {
        case changes([EndpointRole: [Change]])
        case guarded(RunReport)
    }

    /// Reads both sides' changes since their cursors, then
    /// 1. adds the items that failed last time and the two sides of open conflicts (``addRetries``);
    /// 2. reads the sending side of a one-way connector whose copy was deleted (``addCounterparts``);
    /// 3. finds mails that moved instead of being deleted (``relocateMovedMails``);
    /// 4. looks up the originals of stamped copies, so the pair is adopted (``resolveStampedCopies``).
    mutating func gatherChanges(_ mappings: inout [Mapping], time: (String) -> Void) async throws -> Gathered {
        var changes: [EndpointRole: [Change]] = [:]
        for role in [EndpointRole.source, .target] where capabilities(role).canRead {
            let cursor = try store.cursor(job.key, side: role)
            var known: [ItemID: Version] = [:]
            for mapping in mappings where mapping.status == .linked {
                if let id = mapping.id(on: role) { known[id] = mapping.version(on: role) }
            }
            let set: ChangeSet
            do {
                set = try await endpoint(role).changes(ChangeRequest(cursor: cursor, known: known))
            } catch {
                throw RunError(
                    description:
                        "cannot read changes from the \(role.rawValue) side (\(job.account(role).name)): \(error)",
                    cause: error)
            }
            time("read_\(role.rawValue)")
            changes[role] = set.changes
            unreadable[role] = set.unreadable
            newCursors[role] = set.cursor
            fullScan[role] = set.isFullScan
            if set.isFullScan, set.unchanged.isEmpty,
                !set.changes.contains(where: { if case .upsert = $0 { true } else { false } }),
                !known.isEmpty, !job.definition.force
            {
                return .guarded(
                    guarded(
                        "the \(role.rawValue) side looks empty: a full read found no items while \(known.count) are mapped. "
                            + "Nothing was changed. If the items were really removed, run again with --force."))
            }
        }
        try await addRetries(&changes, mappings: mappings)
        try await addCounterparts(&changes, mappings: mappings)
        try await relocateMovedMails(&changes, mappings: &mappings)
        try await resolveStampedCopies(&changes, mappings: &mappings)
        return .changes(changes)
    }

    /// Re-reads items that failed before (not dead letters) and the two sides of open conflicts.
    mutating func addRetries(_ changes: inout [EndpointRole: [Change]], mappings: [Mapping]) async throws {
        var wanted: [EndpointRole: Set<ItemID>] = [.source: [], .target: []]
        var deletes: [EndpointRole: Set<ItemID>] = [.source: [], .target: []]
        for failure in previousFailures.values where !failure.dead {
            if failure.operation == "delete" {
                deletes[failure.side]!.insert(failure.itemID)
            } else {
                wanted[failure.side]!.insert(failure.itemID)
            }
        }
        for conflict in try store.conflicts(job.key, openOnly: true) {
            if let id = conflict.sourceID { wanted[.source]!.insert(id) }
            if let id = conflict.targetID { wanted[.target]!.insert(id) }
        }
        // A retried item needs its counterpart's state too, to see a conflict instead of overwriting.
        for mapping in mappings where mapping.status == .linked {
            if let s = mapping.sourceID, let t = mapping.targetID {
                if wanted[.source]!.contains(s) { wanted[.target]!.insert(t) }
                if wanted[.target]!.contains(t) { wanted[.source]!.insert(s) }
            }
        }
        for side in [EndpointRole.source, .target] {
            let present = Set((changes[side] ?? []).map(\.id))
            for id in deletes[side]!.subtracting(present) { changes[side, default: []].append(.deleted(id)) }
            let ids = wanted[side]!.subtracting(present)
            guard !ids.isEmpty, capabilities(side).canRead else { continue }
            let states = try await read(side, Array(ids))
            changes[side, default: []].append(contentsOf: states.values.map(Change.upsert))
        }
    }

    /// Reads the sending side of a one-way connector whose copy was deleted.
    func addCounterparts(_ changes: inout [EndpointRole: [Change]], mappings: [Mapping]) async throws {
        let source = Dictionary((changes[.source] ?? []).map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        let target = Dictionary((changes[.target] ?? []).map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        let needed = planner.idsToRead(mappings: mappings, source: source, target: target)
        for (side, ids) in [(EndpointRole.source, needed.source), (.target, needed.target)] where !ids.isEmpty {
            let states = try await read(side, ids)
            changes[side, default: []].append(contentsOf: states.values.map(Change.upsert))
        }
    }

    /// Unmapped copies (stamped by this connector) whose origin is not among the changes: look the
    /// origin up so the pair is adopted; a copy whose origin is gone is treated as a new item.
    func resolveStampedCopies(_ changes: inout [EndpointRole: [Change]], mappings: inout [Mapping]) async throws {
        let mapped: [EndpointRole: Set<ItemID>] = [
            .source: Set(mappings.compactMap(\.sourceID)), .target: Set(mappings.compactMap(\.targetID)),
        ]
        for side in [EndpointRole.source, .target] {
            let other = side.other
            let present = Set((changes[other] ?? []).map(\.id))
            var lookups: [ItemID: [Int]] = [:]
            for (index, change) in (changes[side] ?? []).enumerated() {
                guard case .upsert(let state) = change, !mapped[side]!.contains(state.id), let key = state.syncKey,
                    let origin = SyncKeys.origin(of: key, scope: planner.keyScope), origin.role == other,
                    !present.contains(origin.id), !mapped[other]!.contains(origin.id)
                else { continue }
                lookups[origin.id, default: []].append(index)
            }
            guard !lookups.isEmpty else { continue }
            let found = capabilities(other).canRead ? try await read(other, Array(lookups.keys)) : [:]
            changes[other, default: []].append(contentsOf: found.values.map(Change.upsert))
            for (originID, indices) in lookups where found[originID] == nil {
                for index in indices {
                    guard case .upsert(var state) = changes[side]![index] else { continue }
                    logger.notice(
                        "a copy's original is gone; treating the copy as a new item", metadata: ["item": "\(state.id)"])
                    state.syncKey = nil
                    changes[side]![index] = .upsert(state)
                }
            }
        }
    }

    func read(_ side: EndpointRole, _ ids: [ItemID], fieldsOnly: Bool = false) async throws -> [ItemID: ItemState] {
        do {
            return fieldsOnly ? try await endpoint(side).readFields(ids: ids) : try await endpoint(side).read(ids: ids)
        } catch {
            throw RunError(
                description:
                    "cannot read \(ids.count) items from the \(side.rawValue) side (\(job.account(side).name)): \(error)",
                cause: error)
        }
    }
}
