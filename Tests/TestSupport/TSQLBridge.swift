import Foundation
import ODBC

/// Runs SQL written for Microsoft SQL Server on PostgreSQL, checking it on the way: connections it is
/// installed for report `Microsoft SQL Server` and `[` as their quote, so the FlowFact adapter writes
/// its SQL Server statements; each statement is parsed with sqlglot's T-SQL parser
/// (`tsql_bridge.py`, which says what it refuses and which rewrites it makes), transpiled to
/// PostgreSQL and run there. A refused statement fails its call and is kept in ``refused``.
///
/// One Python process serves the test process; translations are remembered by statement text.
public final class TSQLBridge: ODBCDialectBridge, @unchecked Sendable {
    public let dbmsName = "Microsoft SQL Server"
    public let identifierQuote = "["

    /// The process-wide bridge (the Python process starts on first use).
    public static let shared = TSQLBridge()

    /// A bridge of its own (its own Python process and catalogue).
    public init() {}

    private let lock = NSLock()
    private var process: Process?
    private var input: FileHandle?
    private var output: FileHandle?
    private var buffer = Data()
    private var translations: [String: (sql: String, parameterOrder: [Int])] = [:]
    private var refusals: [String: String] = [:]

    /// A statement sqlglot's T-SQL parser refused, with the reason.
    public struct Refused: Error, CustomStringConvertible {
        public var sql: String
        public var reason: String
        public var description: String { "not valid for SQL Server: \(reason)\nstatement: \(sql)" }
    }

    /// Every statement translated so far, with its PostgreSQL form.
    public var statements: [String: String] { lock.withLock { translations.mapValues(\.sql) } }

    /// Statements refused so far, with the reasons.
    public var refused: [String: String] { lock.withLock { refusals } }

    public func translate(_ sql: String) throws -> (sql: String, parameterOrder: [Int]) {
        try lock.withLock {
            if let known = translations[sql] { return known }
            if let reason = refusals[sql] { throw Refused(sql: sql, reason: reason) }
            let answer = try ask(sql)
            if let reason = answer["error"] as? String {
                refusals[sql] = reason
                throw Refused(sql: sql, reason: reason)
            }
            guard let translated = answer["sql"] as? String, let order = answer["order"] as? [Int] else {
                throw Refused(sql: sql, reason: "the bridge answered \(answer)")
            }
            translations[sql] = (translated, order)
            return (translated, order)
        }
    }

    /// Installs the bridge for connections opened with `connectionString` (or a longer one).
    public func install(for connectionString: String) {
        ODBCDialectBridges.install(self, forConnectionStringsStartingWith: connectionString)
    }

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tsql_bridge.py")
    }

    private func ask(_ sql: String) throws -> [String: Any] {
        if process == nil { try start() }
        var line = try JSONSerialization.data(withJSONObject: ["sql": sql])
        line.append(0x0A)
        try input!.write(contentsOf: line)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let answer = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                guard let object = try JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                    throw Refused(sql: sql, reason: "the bridge answered no JSON object")
                }
                return object
            }
            // `availableData` returns what the pipe holds (`read(upToCount:)` would wait for all of it).
            let chunk = output!.availableData
            guard !chunk.isEmpty else {
                process = nil
                throw Refused(
                    sql: sql, reason: "the T-SQL checker (python3 \(Self.script.path)) ended; is sqlglot installed?")
            }
            buffer.append(chunk)
        }
    }

    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", Self.script.path]
        let toChild = Pipe()
        let fromChild = Pipe()
        process.standardInput = toChild
        process.standardOutput = fromChild
        try process.run()
        self.process = process
        input = toChild.fileHandleForWriting
        output = fromChild.fileHandleForReading
    }
}
