import ConnectorAPI
import Foundation

extension FlowFactAdapter: CheckableAdapter {
    /// Connects, checks every mapped table and column, and resolves the user, Merkmale and types.
    public func check(for scope: EndpointScope) async -> [AdapterCheck] {
        var results: [AdapterCheck] = []
        do {
            try await database.verify()
            results.append(
                AdapterCheck(
                    name: "FlowFact database and mapping", ok: true,
                    message: "connected; every mapped table and column answers"))
        } catch {
            return [AdapterCheck(name: "FlowFact database and mapping", ok: false, message: "\(error)")]
        }
        do {
            _ = try await endpoint(for: scope)
            results.append(
                AdapterCheck(
                    name: "FlowFact user \(scope.account.name) (\(scope.kind))", ok: true,
                    message: "user, Merkmale and activity types found"))
        } catch {
            results.append(
                AdapterCheck(
                    name: "FlowFact user \(scope.account.name) (\(scope.kind))", ok: false, message: "\(error)"))
        }
        return results
    }
}
