import ConnectorAPI
import Foundation

extension Run {
    /// Mapped mails a side reports deleted may only have moved to another folder, where they got a
    /// new id. When both sides carry `move`, a side that can relocate items is asked where they went:
    /// a moved mail stays linked under its new id (its read flag keeps following), a mail in the
    /// wastebasket or gone is a deletion and the deletion policy decides.
    mutating func relocateMovedMails(_ changes: inout [EndpointRole: [Change]], mappings: inout [Mapping])
        async throws
    {
        guard job.definition.kind == .mail, planner.carries(.move) else { return }
        for side in [EndpointRole.source, .target] {
            guard let relocating = endpoint(side) as? any RelocatingEndpoint else { continue }
            let other = side.other
            let deleted = Set(
                (changes[side] ?? []).compactMap { change -> ItemID? in
                    if case .deleted(let id) = change { id } else { nil }
                })
            guard !deleted.isEmpty else { continue }
            var lostMappings: [ItemID: Int] = [:]
            for (index, mapping) in mappings.enumerated() where mapping.status == .linked {
                if let id = mapping.id(on: side), deleted.contains(id) {
                    lostMappings[id] = index
                }
            }
            guard !lostMappings.isEmpty else { continue }
            let counterpartIDs = lostMappings.values.compactMap {
                mappings[$0].id(on: other)
            }
            // Only the counterparts' fields are needed (a mail's message-id), not their attachments.
            let counterparts =
                capabilities(other).canRead ? try await read(other, counterpartIDs, fieldsOnly: true) : [:]
            let lost = lostMappings.map { id, index in
                let counterpartID = mappings[index].id(on: other)
                return LostItem(
                    id: id, syncKey: mappings[index].syncKey,
                    counterpart: counterpartID.flatMap { counterparts[$0]?.record }
                )
            }
            let answers: [ItemID: Relocation]
            do {
                answers = try await relocating.relocate(lost)
            } catch {
                throw RunError(
                    description:
                        "cannot look for \(lost.count) moved mails on the \(side.rawValue) side (\(job.account(side).name)): \(error)",
                    cause: error)
            }
            var moved = StateChanges()
            for (oldID, answer) in answers {
                guard case .moved(let state) = answer, let index = lostMappings[oldID] else { continue }
                // The new id replaces the old one; the new location's own report of the item (a
                // synced folder shows it as new) is the same item and goes.
                changes[side]!.removeAll { $0.id == state.id }
                if let position = changes[side]!.firstIndex(where: { $0.id == oldID }) {
                    changes[side]![position] = .upsert(state)
                }
                if side == .source { mappings[index].sourceID = state.id } else { mappings[index].targetID = state.id }
                moved.mappings.append(mappings[index])
                logger.info(
                    "mail moved to another folder; following it",
                    metadata: ["item": "\(oldID)", "newItem": "\(state.id)", "name": "\(state.record.displayName)"])
                counts["moved", default: 0] += 1
            }
            if !dryRun { try store.commit(job.key, moved) }
        }
    }
}
