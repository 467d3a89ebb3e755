import AdapterSupport
import Foundation
import Testing

@Suite("Adapter support: chunking, cursors, spool folders")
struct AdapterSupportTests {
    @Test("chunks cover every element once, in order, none larger than asked")
    func chunking() {
        let ids = Array(0..<2101)
        let chunks = ids.chunked(into: 500)
        #expect(chunks.map(\.count) == [500, 500, 500, 500, 101])
        #expect(chunks.flatMap { $0 } == ids)
        #expect([Int]().chunked(into: 3).isEmpty)
        #expect([1, 2].chunked(into: 5).map(Array.init) == [[1, 2]])
    }

    struct Cursor: Codable, Equatable {
        var watermark: String
        var ids: [String]
    }

    @Test("a cursor reads back as written; none, empty or unreadable bytes read as none")
    func cursors() throws {
        let cursor = Cursor(watermark: "2026-12-03 10:00:00.000", ids: ["Ä", "b"])
        let data = try CursorCoding.encode(cursor)
        #expect(CursorCoding.decode(Cursor.self, from: data) == cursor)
        #expect(try CursorCoding.encode(cursor) == data, "the same cursor gives the same bytes")
        #expect(CursorCoding.decode(Cursor.self, from: nil) == nil)
        #expect(CursorCoding.decode(Cursor.self, from: Data()) == nil)
        // A cursor of an older release (another shape) or damaged bytes: start over, do not fail.
        #expect(CursorCoding.decode(Cursor.self, from: Data(#"{"folder":"x"}"#.utf8)) == nil)
        #expect(CursorCoding.decode(Cursor.self, from: Data([0xFF, 0x00, 0x7B])) == nil)
    }

    @Test("each instance gets its own spool; folder names are safe; empty and remove clear files")
    func spool() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let a = SpoolDirectory(adapter: "ews", instance: "exchange", base: base)
        let b = SpoolDirectory(adapter: "ews", instance: "exchange", base: base)
        #expect(a.root != b.root, "two processes or instances never share a spool")
        #expect(a.root.path.hasPrefix(base.appendingPathComponent("connector-host-spool").path))
        let folder = a.folder("mail-in", "m.müller@example.test/../x")
        #expect(folder.deletingLastPathComponent() == a.root)
        #expect(folder.lastPathComponent == "mail-in-m.m_ller_example.test_.._x")
        let file = SpoolDirectory.file(in: folder)
        #expect(file != SpoolDirectory.file(in: folder))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: file)
        SpoolDirectory.empty(folder)
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        a.remove()
        #expect(!FileManager.default.fileExists(atPath: a.root.path))
        SpoolDirectory.empty(folder)  // nothing there: no error
    }
}
