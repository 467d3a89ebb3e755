import ConnectorHost
import Connectors
import Foundation
import XML

/// What each fuzz target does with one input. The normal test suite replays the corpus
/// (`Fuzz/corpus/`) through the same functions, so every finding stays a regression test.
public enum FuzzBodies {
    /// The XML stream parser: the whole document at once, then fed in two pieces.
    public static func xml(_ data: Data) {
        _ = try? XMLStreamParser.parse(data)
        let split = data.isEmpty ? 0 : Int(data[data.startIndex]) % (data.count + 1)
        let parser = XMLStreamParser(deliver: { path in path.count == 2 }, onElement: { _, _ in })
        do {
            try parser.feed(data.prefix(split))
            try parser.feed(data.dropFirst(split))
            _ = try parser.finish()
        } catch {}
    }

    /// EWS responses and the decoders of their items.
    public static func ewsResponse(_ data: Data) { EWSFuzzingEntryPoints.ewsResponse(data) }

    /// The YAML configuration loader with every built-in adapter type.
    public static func config(_ data: Data) {
        let loader = ConfigLoader(registry: registry, environment: ["FUZZ_SECRET": "geheim"])
        _ = try? loader.load(
            yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml",
            baseDirectory: URL(fileURLWithPath: "/nonexistent-fuzz-directory"))
    }

    /// HTML mail bodies to text.
    public static func mailText(_ data: Data) { EWSFuzzingEntryPoints.mailText(data) }

    /// Exchange WebDAV multistatus answers and the decoders of their properties.
    public static func webdavResponse(_ data: Data) { WebDAVFuzzingEntryPoints.multistatus(data) }

    /// Appointments as MIME or iCalendar, read as events and tasks.
    public static func icalendar(_ data: Data) { WebDAVFuzzingEntryPoints.calendar(data) }

    /// CalDAV/CardDAV multistatus answers with their calendar and address data, vCards and
    /// iCalendar objects as the caldav adapter reads them.
    public static func caldavResponse(_ data: Data) { CalDAVFuzzingEntryPoints.response(data) }

    /// The bodies by target name (`fuzz-<name>`), for the replay test.
    public static let all: [String: @Sendable (Data) -> Void] = [
        "xml": xml, "ews-response": ewsResponse, "config": config, "mail-text": mailText,
        "webdav-response": webdavResponse, "icalendar": icalendar, "caldav-response": caldavResponse,
    ]

    static let registry = AdapterRegistry(BuiltinAdapters.all)
}

nonisolated(unsafe) var currentBody: ((Data) -> Void)?

/// libFuzzer's entry point: one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let body = currentBody else { fatalError("no fuzz body set") }
    body(start.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func llvmFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt
#endif

/// Runs a fuzz target. Built with `-sanitize=fuzzer,address -DFUZZING` (scripts/fuzz.sh) it is
/// libFuzzer with its usual options; built normally it replays the files and folders it is given.
public func runFuzzTarget(_ body: @escaping (Data) -> Void) -> Never {
    currentBody = body
    #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(llvmFuzzerRunDriver(&argc, &argv, fuzzTestOneInput))
    #else
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            for file in FuzzCorpus.files(at: URL(fileURLWithPath: path)) {
                body((try? Data(contentsOf: file)) ?? Data())
                count += 1
            }
        }
        print("replayed \(count) inputs")
        exit(0)
    #endif
}

/// The files of a corpus folder (or the file itself), sorted.
public enum FuzzCorpus {
    public static func files(at url: URL) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [url] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { url.appendingPathComponent($0) }
    }
}
