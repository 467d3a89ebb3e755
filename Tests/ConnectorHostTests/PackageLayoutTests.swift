import ConnectorAPI
import Connectors
import Foundation
import Testing

/// Where knowledge lives, checked on the package as SwiftPM describes it: the host knows no
/// product, each adapter is a target of its own that the umbrella registers, and the service links
/// neither the simulator nor the development database.
@Suite("Package layout: a host that knows no product, one target per adapter")
struct PackageLayoutTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Each target's folder and direct target dependencies, from the manifest as SwiftPM reads it
    /// (`dump-package`, with a scratch folder of its own: the test run holds `.build`'s lock).
    static func targets() throws -> [String: (path: String, dependencies: [String])] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("layout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try #require(json["targets"] as? [[String: Any]])
        var result: [String: (String, [String])] = [:]
        for target in list {
            guard let name = target["name"] as? String else { continue }
            let folder = target["type"] as? String == "test" ? "Tests" : "Sources"
            var dependencies: [String] = []
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                // `byName` and `target` name a target of this package (or a product); products are left out.
                for key in ["byName", "target"] {
                    if let name = (dependency[key] as? [Any])?.first as? String { dependencies.append(name) }
                }
            }
            result[name] = (target["path"] as? String ?? "\(folder)/\(name)", dependencies)
        }
        return result
    }

    /// Every target `name` reaches through target dependencies, itself included.
    static func closure(_ name: String, _ targets: [String: (path: String, dependencies: [String])]) -> Set<String> {
        var seen: Set<String> = []
        var queue = [name]
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue += targets[next]?.dependencies ?? []
        }
        return seen
    }

    @Test("connector-host links the adapters but not the simulator or the FlowFact-like development database")
    func productionLinksNoDevelopmentCode() throws {
        let targets = try Self.targets()
        let linked = Self.closure("connector-host", targets)
        #expect(linked.isSuperset(of: ["ConnectorHost", "Connectors", "EWSConnector", "FlowFactConnector"]))
        #expect(linked.isDisjoint(with: ["ExchangeSim", "FlowFactDevelopment", "TestSupport", "NTLM"]), "\(linked)")
        // The developer's tool has them.
        #expect(Self.closure("connector-dev", targets).isSuperset(of: ["ExchangeSim", "FlowFactDevelopment"]))
    }

    @Test("the host and the API depend on no adapter")
    func hostKnowsNoAdapter() throws {
        let targets = try Self.targets()
        let adapters = Set(targets.filter { $0.value.path.hasPrefix("Sources/Connectors/") }.keys)
        #expect(!adapters.isEmpty)
        for module in ["ConnectorHost", "ConnectorAPI", "AdapterSupport"] {
            #expect(Self.closure(module, targets).isDisjoint(with: adapters), "\(module)")
        }
    }

    @Test("every folder under Sources/Connectors is a target of its own that the umbrella depends on and registers")
    func oneTargetPerAdapterFolder() throws {
        let targets = try Self.targets()
        let folders = try FileManager.default.contentsOfDirectory(
            atPath: Self.root.appendingPathComponent("Sources/Connectors").path
        ).filter { name in
            var directory: ObjCBool = false
            return FileManager.default.fileExists(
                atPath: Self.root.appendingPathComponent("Sources/Connectors/\(name)").path, isDirectory: &directory)
                && directory.boolValue
        }
        let umbrella = try #require(targets["Connectors"])
        for folder in folders {
            let target = targets.first { $0.value.path == "Sources/Connectors/\(folder)" }
            #expect(target != nil, "Sources/Connectors/\(folder) is no target")
            if let target {
                #expect(umbrella.dependencies.contains(target.key), "Connectors does not link \(target.key)")
            }
        }
        // One registered adapter type per folder (the registration line is not forgotten).
        #expect(BuiltinAdapters.all.count == folders.count)
        #expect(Set(BuiltinAdapters.all.map(\.name)).count == BuiltinAdapters.all.count)
    }

    @Test("the host's and the API's code names no product: FlowFact, Exchange, EWS, mailbox or WebDAV")
    func noProductNames() throws {
        let pattern = try Regex("(?i)flowfact|exchange|\\bews|mailbox|webdav")
        var found: [String] = []
        for module in ["ConnectorHost", "ConnectorAPI", "AdapterSupport"] {
            let folder = Self.root.appendingPathComponent("Sources/\(module)")
            let files = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.trimmingCharacters(in: .whitespaces)
                    guard !code.hasPrefix("//"), code.contains(pattern) else { continue }
                    found.append("\(module)/\(file):\(number + 1): \(code)")
                }
            }
        }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }
}
