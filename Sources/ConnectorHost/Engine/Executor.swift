import ConnectorAPI
import Foundation
import Logging

/// A failed item's identity in the failure table.
struct FailureKey: Hashable {
    var side: EndpointRole
    var id: ItemID
}

/// A write waiting to go out, with what the engine needs to book its result.
struct PendingWrite {
    var action: SyncAction
    var operation: WriteOperation
    var result: WriteResult?
    /// For a create: the origin's content hash, computed once for the intent and reused when booking.
    var originHash: String? = nil
}

extension Run {
    /// Applies a plan: bookkeeping first, then the writes on each side in batches.
    mutating func apply(_ plan: SyncPlan) async throws {
        var bookkeeping = StateChanges()
        for action in plan.actions {
            switch action {
            case .link(let mapping, _):
                bookkeeping.mappings.append(mapping)
            case .unlink(let mapping, let detach, let reason):
                if detach { bookkeeping.mappings.append(mapping) } else { bookkeeping.removedMappings.append(mapping) }
                counts["unlink", default: 0] += 1
                logger.info(
                    "unlinked a pair",
                    metadata: [
                        "source": "\(mapping.sourceID ?? "-")", "target": "\(mapping.targetID ?? "-")",
                        "reason": "\(reason)",
                    ])
            default: break
            }
            if case .link(_, true) = action { counts["adopt", default: 0] += 1 }
        }
        bookkeeping.closedConflicts = plan.closedConflicts
        for conflict in plan.conflicts {
            bookkeeping.conflicts.append(
                ConflictRecord(
                    id: 0, sourceID: conflict.sourceID, targetID: conflict.targetID,
                    sourceRecord: conflict.source.map { Self.json($0.record) },
                    targetRecord: conflict.target.map { Self.json($0.record) },
                    policy: conflict.policy.rawValue, resolution: conflict.resolution, detectedAt: Date(),
                    open: conflict.open, sourceModifiedAt: conflict.source?.modifiedAt,
                    targetModifiedAt: conflict.target?.modifiedAt, decision: conflict.decision?.rawValue))
            counts["conflicts", default: 0] += 1
            logger.notice(
                "conflict",
                metadata: [
                    "source": "\(conflict.sourceID ?? "-")", "target": "\(conflict.targetID ?? "-")",
                    "resolution": "\(conflict.resolution)",
                ])
        }
        for skipped in plan.skipped {
            bookkeeping.failures.append(
                invalidData(
                    side: skipped.role, id: skipped.id, name: skipped.name, operation: "create", reason: skipped.reason)
            )
        }
        try store.commit(job.key, bookkeeping)

        for side in [EndpointRole.target, .source] {
            let actions = plan.writes(on: side)
            guard !actions.isEmpty else { continue }
            try await write(actions, on: side)
        }
    }

    /// Sends one side's writes: deletes, updates, then creates (after looking for existing copies).
    mutating func write(_ actions: [SyncAction], on side: EndpointRole) async throws {
        var pending: [PendingWrite] = []
        var creates: [(SyncAction, SyncKey, ItemState)] = []
        for action in actions {
            switch action {
            case .delete(_, let id, _):
                pending.append(PendingWrite(action: action, operation: .delete(id: id)))
            case .update(_, let id, let expected, let origin, let fields, _):
                pending.append(
                    PendingWrite(
                        action: action,
                        operation: .update(id: id, expectedVersion: expected, record: origin.record, fields: fields)))
            case .create(_, let origin, let key):
                creates.append((action, key, origin))
            default: break
            }
        }
        try await send(&pending, on: side)

        guard !creates.isEmpty else { return }
        // A copy may already exist (state lost, filter re-entered): unless this side was just read in
        // full, look the keys up and adopt what is there instead of creating it twice.
        var existing: [SyncKey: ItemState] = [:]
        if fullScan[side] != true {
            let batch = max(1, endpoint(side).maxBatchSize)
            for start in stride(from: 0, to: creates.count, by: batch) {
                let keys = creates[start..<min(start + batch, creates.count)].map(\.1)
                do {
                    existing.merge(try await endpoint(side).find(syncKeys: keys)) { $1 }
                } catch {
                    throw RunError(
                        description:
                            "cannot look up existing copies on the \(side.rawValue) side (\(job.account(side).name)): \(error)",
                        cause: error
                    )
                }
            }
        }
        var adopted = StateChanges()
        var toCreate: [PendingWrite] = []
        var intents: [Intent] = []
        for (action, key, origin) in creates {
            if let copy = existing[key] {
                adopted.mappings.append(
                    mapping(
                        created: copy.id, version: copy.version, stored: copy.record, on: side, origin: origin, key: key
                    ))
                adopted.clearedFailures.append((side.other, origin.id))
                counts["adopt", default: 0] += 1
                continue
            }
            let originHash = planner.hash(origin.record, on: side.other)
            toCreate.append(
                PendingWrite(
                    action: action, operation: .create(syncKey: key, record: origin.record), originHash: originHash))
            intents.append(
                Intent(
                    side: side, syncKey: key, originID: origin.id, originVersion: origin.version,
                    originHash: originHash))
        }
        try store.commit(job.key, adopted)
        try store.addIntents(job.key, intents)
        try await send(&toCreate, on: side)
    }

    /// Applies writes in batches with in-run retries for transient failures, committing each batch.
    /// Up to the endpoint's `maxParallelBatches` batches are in flight at once; each is booked as it
    /// completes. A stop request launches no further batch but books those already sent.
    mutating func send(_ writes: inout [PendingWrite], on side: EndpointRole) async throws {
        guard !writes.isEmpty else { return }
        let target = endpoint(side)
        let batchSize = max(1, target.maxBatchSize)
        let parallel = max(1, target.maxParallelBatches)
        var open = Array(writes.indices)
        var delay = engine.settings.retryBackoff
        for attempt in 1...engine.settings.retryAttempts {
            var retry: [Int] = []
            var wait: Duration = .zero
            var stopped = false
            let chunks = stride(from: 0, to: open.count, by: batchSize).map {
                Array(open[$0..<min($0 + batchSize, open.count)])
            }
            try await withThrowingTaskGroup(of: (Int, [WriteResult]).self) { group in
                var launched = 0
                var inFlight = 0
                while true {
                    while !stopped, inFlight < parallel, launched < chunks.count {
                        if engine.hooks.shouldStop?() == true {
                            stopped = true
                            break
                        }
                        let operations = chunks[launched].map { writes[$0].operation }
                        group.addTask { [launched] in
                            (launched, await Self.applyBatch(operations, to: target, side: side))
                        }
                        launched += 1
                        inFlight += 1
                    }
                    guard let (index, results) = try await group.next() else { break }
                    inFlight -= 1
                    let chunk = chunks[index]
                    try engine.hooks.afterApply?(side, chunk.map { writes[$0].operation })
                    var changes = StateChanges()
                    for (slot, result) in zip(chunk, results) {
                        writes[slot].result = result
                        if case .failure(let error) = result, error.kind == .transient,
                            attempt < engine.settings.retryAttempts
                        {
                            retry.append(slot)
                            if let after = error.retryAfter, after > wait { wait = after }
                            continue
                        }
                        book(writes[slot], on: side, into: &changes)
                    }
                    try store.commit(job.key, changes)
                }
            }
            if stopped { throw RunError.shutdown }
            guard !retry.isEmpty else { break }
            logger.info(
                "retrying transient failures", metadata: ["items": "\(retry.count)", "attempt": "\(attempt + 1)"])
            let pause = max(delay, wait)
            for slot in retry {
                if case .failure(let error) = writes[slot].result { retries.record(Self.cause(error)) }
            }
            retries.waited += pause
            try await Task.sleep(for: pause)
            delay *= 2
            open = try await adoptCopies(of: retry.sorted(), in: &writes, on: side)
        }
    }

    /// Before creates are sent again: a create whose answer was lost, or that half succeeded, may
    /// have left its copy on the side. Copies found by their sync keys are booked as created;
    /// answers the slots still to send.
    mutating func adoptCopies(of slots: [Int], in writes: inout [PendingWrite], on side: EndpointRole) async throws
        -> [Int]
    {
        var keys: [SyncKey: Int] = [:]
        for slot in slots {
            if case .create(_, _, let key) = writes[slot].action { keys[key] = slot }
        }
        guard !keys.isEmpty else { return slots }
        let found: [SyncKey: ItemState]
        do {
            found = try await endpoint(side).find(syncKeys: Array(keys.keys))
        } catch {
            // Not knowing is not safe for a create: those wait for the next run, which adopts
            // what its intents find. Updates and deletes go on.
            logger.info(
                "cannot look up copies before retrying creates; they wait for the next run",
                metadata: ["error": "\(error)"])
            var changes = StateChanges()
            let creates = Set(keys.values)
            for slot in creates { book(writes[slot], on: side, into: &changes) }
            try store.commit(job.key, changes)
            return slots.filter { !creates.contains($0) }
        }
        guard !found.isEmpty else { return slots }
        var changes = StateChanges()
        var adopted: Set<Int> = []
        for (key, copy) in found {
            guard let slot = keys[key] else { continue }
            writes[slot].result = .success(id: copy.id, version: copy.version, stored: copy.record)
            book(writes[slot], on: side, into: &changes)
            adopted.insert(slot)
        }
        try store.commit(job.key, changes)
        return slots.filter { !adopted.contains($0) }
    }

    /// A short name of a transient failure's cause for the run's retry summary.
    static func cause(_ error: WriteError) -> String {
        if let code = error.code { return code }
        return String(error.message.prefix(60))
    }

    /// One batch's results, one per operation; a batch that did not reach the side is transient.
    static func applyBatch(_ operations: [WriteOperation], to target: any TargetEndpoint, side: EndpointRole) async
        -> [WriteResult]
    {
        do {
            let results = try await target.apply(operations)
            if results.count == operations.count { return results }
            return Array(
                repeating: .failure(
                    WriteError(
                        .transient,
                        "the \(side.rawValue) side answered \(results.count) results for \(operations.count) writes")),
                count: operations.count)
        } catch {
            return Array(repeating: .failure(WriteError(.transient, "\(error)")), count: operations.count)
        }
    }

    /// Turns one write's result into state changes and counts.
    mutating func book(_ write: PendingWrite, on side: EndpointRole, into changes: inout StateChanges) {
        let originSide = side.other
        let direction = SyncPlan.direction(side)
        switch (write.action, write.result) {
        case (.create(_, let origin, let key), .success(let id, let version, let stored)?):
            changes.mappings.append(
                mapping(
                    created: id, version: version, stored: stored, on: side, origin: origin, key: key,
                    originHash: write.originHash))
            changes.clearedIntents.append(key)
            changes.clearedFailures.append((originSide, origin.id))
            counts["\(direction) create", default: 0] += 1
        case (.update(_, _, _, let origin, let fields, let mapping), .success(_, let version, let stored)?):
            var updated = mapping
            let writtenHash = hashAfterWrite(side: side, stored: stored, origin: origin.record, fields: fields)
            if side == .target {
                updated.sourceVersion = origin.version
                updated.sourceHash = planner.hash(origin.record, on: .source)
                updated.targetVersion = version
                updated.targetHash = writtenHash
            } else {
                updated.targetVersion = origin.version
                updated.targetHash = planner.hash(origin.record, on: .target)
                updated.sourceVersion = version
                updated.sourceHash = writtenHash
            }
            changes.mappings.append(updated)
            changes.clearedFailures.append((originSide, origin.id))
            counts["\(direction) update", default: 0] += 1
        case (.delete(_, _, let mapping), .success?):
            changes.removedMappings.append(mapping)
            if let originID = mapping.id(on: originSide) {
                changes.clearedFailures.append((originSide, originID))
            }
            counts["\(direction) delete", default: 0] += 1
        case (.delete(_, _, let mapping), .failure(let error)?) where error.kind == .notFound:
            changes.removedMappings.append(mapping)
            counts["\(direction) delete", default: 0] += 1
        case (let action, .skipped(let reason)?):
            let (originID, name, operation) = describe(action)
            if case .create(_, _, let key) = action { changes.clearedIntents.append(key) }
            if let originID { changes.clearedFailures.append((originSide, originID)) }
            counts["\(direction) skipped", default: 0] += 1
            logger.info(
                "not written by a rule of the \(side.rawValue) side",
                metadata: [
                    "item": "\(originID ?? "-")", "name": "\(name)", "operation": "\(operation)", "reason": "\(reason)",
                ])
        case (_, .failure(let error)?):
            let (originID, name, operation) = describe(write.action)
            guard let originID else { return }
            let key = FailureKey(side: originSide, id: originID)
            let attempts = (previousFailures[key]?.attempts ?? 0) + 1
            // A transient failure says nothing about the item: it is tried again on every run, however
            // many it lasts, and never becomes a dead letter. Dead letters are for errors of the item.
            let dead =
                error.kind == .permanent
                || (error.kind != .transient && attempts >= engine.settings.deadLetterAfterRuns)
            let failure = FailureRecord(
                side: originSide, itemID: originID, operation: operation, name: name, kind: error.kind.rawValue,
                message: error.message, attempts: attempts, dead: dead, lastAt: Date())
            changes.failures.append(failure)
            newFailures.append(failure)
            counts[error.kind == .transient ? "postponed" : "failed", default: 0] += 1
            logger.log(
                level: error.kind == .transient ? .info : .error,
                "could not \(operation) an item on the \(side.rawValue) side",
                metadata: [
                    "item": "\(originID)", "name": "\(name)", "error": "\(error)", "deadLetter": "\(failure.dead)",
                ])
        default:
            break
        }
    }

    func describe(_ action: SyncAction) -> (ItemID?, String, String) {
        switch action {
        case .create(_, let origin, _): (origin.id, origin.record.displayName, "create")
        case .update(_, _, _, let origin, _, _): (origin.id, origin.record.displayName, "update")
        case .delete(let side, let id, let mapping):
            (mapping.id(on: side.other), "item \(id)", "delete")
        default: (nil, "", "")
        }
    }

    /// The mapping for a copy created (or found) on `side` from `origin`. `originHash`, when given,
    /// is the origin's hash already computed for its intent.
    func mapping(
        created id: ItemID, version: Version, stored: Record?, on side: EndpointRole, origin: ItemState, key: SyncKey,
        originHash known: String? = nil
    ) -> Mapping {
        let originSide = side.other
        let originHash = known ?? planner.hash(origin.record, on: originSide)
        let fields = planner.fields(onto: side)
        // With the same fields flowing both ways, the copy's hash of the origin's content is the same hash.
        let copyHash =
            stored == nil && planner.toTarget == planner.toSource
            ? originHash : hashAfterWrite(side: side, stored: stored, origin: origin.record, fields: fields)
        return side == .target
            ? Mapping(
                sourceID: origin.id, targetID: id, sourceVersion: origin.version, targetVersion: version,
                sourceHash: originHash, targetHash: copyHash, syncKey: key)
            : Mapping(
                sourceID: id, targetID: origin.id, sourceVersion: version, targetVersion: origin.version,
                sourceHash: copyHash, targetHash: originHash, syncKey: key)
    }

    /// The hash of the written item over the fields that leave its side, when it can be known.
    func hashAfterWrite(side: EndpointRole, stored: Record?, origin: Record, fields written: Set<String>) -> String? {
        if let stored { return planner.hash(stored, on: side) }
        let outgoing = planner.fields(onto: side.other)
        return outgoing.isSubset(of: written) ? planner.hash(origin, on: side) : nil
    }

    static func json(_ record: Record) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(record)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
