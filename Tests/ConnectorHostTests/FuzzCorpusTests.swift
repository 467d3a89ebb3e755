import Foundation
import FuzzSupport
import Testing

/// The fuzz targets' seed corpus and every fixed finding, replayed through the same functions the
/// fuzzers run (scripts/fuzz.sh), so a finding stays fixed.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    @Test(
        "every input of every fuzz target's corpus runs through without a crash",
        arguments: FuzzBodies.all.keys.sorted())
    func replay(_ target: String) throws {
        let files = FuzzCorpus.files(at: Self.corpus.appendingPathComponent(target))
        #expect(!files.isEmpty, "no corpus for \(target)")
        let body = try #require(FuzzBodies.all[target])
        for file in files { body(try Data(contentsOf: file)) }
    }
}
