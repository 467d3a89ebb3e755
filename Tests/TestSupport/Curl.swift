import Foundation

/// Runs `curl -s` with `arguments` (the real curl client, an independent HTTP implementation):
/// the status, the response headers and the body.
public func runCurl(_ arguments: [String]) throws -> (status: Int, headers: String, body: String) {
    let headers = FileManager.default.temporaryDirectory.appendingPathComponent("h-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: headers) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-m", "20", "-D", headers.path, "-w", "\n%{http_code}"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
    let head = (try? String(contentsOf: headers, encoding: .utf8)) ?? ""
    return (Int(lines.last ?? "") ?? -1, head, lines.dropLast().joined(separator: "\n"))
}
