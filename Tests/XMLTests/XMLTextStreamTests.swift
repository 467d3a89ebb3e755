import Foundation
import Testing

@testable import XML

/// Deterministic pseudo-random bytes (xorshift), the same for the same seed and call sequence.
struct ByteGenerator {
    var state: UInt64

    mutating func next(_ count: Int) -> Data {
        var data = Data(count: (count + 7) / 8 * 8)
        data.withUnsafeMutableBytes { bytes in
            for index in bytes.bindMemory(to: UInt64.self).indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                bytes.storeBytes(of: state, toByteOffset: index * 8, as: UInt64.self)
            }
        }
        return data.prefix(count)
    }
}

func randomBytes(_ count: Int, seed: UInt64) -> Data {
    var generator = ByteGenerator(state: seed)
    return generator.next(count)
}

/// Counts the pieces a sink receives and passes them on.
final class CountingSink: XMLTextSink {
    let inner: any XMLTextSink
    var pieces = 0
    var bytes = 0
    var largestPiece = 0
    var finished = 0

    init(_ inner: any XMLTextSink) { self.inner = inner }

    func write(_ text: UnsafeRawBufferPointer) throws {
        pieces += 1
        bytes += text.count
        largestPiece = max(largestPiece, text.count)
        try inner.write(text)
    }

    func finish() throws {
        finished += 1
        try inner.finish()
    }
}

/// Resident memory of this process in bytes (Linux), or 0.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }
    return 0
}

let envelopeStart = """
    <?xml version="1.0" encoding="utf-8"?>
    <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" \
    xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" \
    xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
    <s:Body><m:GetAttachmentResponse><m:ResponseMessages>
    <m:GetAttachmentResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
    <m:Attachments><t:FileAttachment><t:AttachmentId Id="AAMk="/><t:Name>report.pdf</t:Name>
    <t:ContentType>application/pdf</t:ContentType><t:Content>
    """
let envelopeEnd = """
    </t:Content></t:FileAttachment></m:Attachments></m:GetAttachmentResponseMessage>
    </m:ResponseMessages></m:GetAttachmentResponse></s:Body></s:Envelope>
    """

@Suite("Streaming the text of chosen elements; base64 decoding in pieces")
struct XMLTextStreamTests {
    @Test("a 30 MB base64 <t:Content> fed in 64 KiB chunks decodes to the exact bytes in a file")
    func largeAttachment() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("attachment-\(UUID()).bin")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let file = try FileHandle(forWritingTo: output)
        var outputChunks = 0
        var largestOutputChunk = 0
        let decoder = Base64StreamDecoder { chunk in
            outputChunks += 1
            largestOutputChunk = max(largestOutputChunk, chunk.count)
            try file.write(contentsOf: chunk)
        }
        let sink = CountingSink(decoder)
        var attachments: [XMLElement] = []
        let parser = XMLStreamParser(
            deliver: { $0.last == "FileAttachment" },
            onElement: { element, _ in attachments.append(element) },
            streamText: { $0.last == "Content" ? sink : nil })

        // 22.5 MiB of bytes are 30 MiB of base64, produced and fed in 64 KiB pieces: the document
        // never exists whole in this test either.
        let size = 22 * 1024 * 1024 + 512 * 1024 + 1
        var generator = ByteGenerator(state: 0x2545_F491_4F6C_DD1D)
        var pending = Data(envelopeStart.utf8)
        var produced = 0
        var fed = 0
        var feeds = 0
        let residentBefore = residentBytes()
        var residentPeak = residentBefore
        func feedFull(_ final: Bool) throws {
            while pending.count >= 65_536 || (final && !pending.isEmpty) {
                let piece = pending.prefix(65_536)
                try parser.feed(piece)
                fed += piece.count
                feeds += 1
                // Not removeFirst: on Data that slices, keeping the storage (and the whole document).
                pending.removeSubrange(pending.startIndex..<(pending.startIndex + piece.count))
                if feeds % 16 == 0 { residentPeak = max(residentPeak, residentBytes()) }
            }
        }
        while produced < size {
            let count = min(48 * 1024, size - produced)
            pending.append(generator.next(count).base64EncodedData())
            produced += count
            try feedFull(false)
        }
        pending.append(Data(envelopeEnd.utf8))
        try feedFull(true)
        let root = try parser.finish()
        try file.close()

        let encodedLength = (size + 2) / 3 * 4
        #expect(sink.bytes == encodedLength)
        #expect(sink.finished == 1)
        #expect(decoder.decodedCount == Int64(size))
        // libxml2 reports the text in many pieces, none larger than a fed chunk, and keeps no more
        // than about one fed chunk of input.
        #expect(sink.pieces > 100)
        #expect(sink.largestPiece <= 65_536)
        #expect(parser.peakBufferedInput <= 2 * 65_536, "libxml2 held \(parser.peakBufferedInput) bytes")
        #expect(outputChunks > 100)
        #expect(largestOutputChunk == 48 * 1024)
        // The other elements are delivered as before; Content with empty text.
        #expect(attachments.count == 1)
        #expect(attachments.first?.string("Name") == "report.pdf")
        #expect(attachments.first?.string("ContentType") == "application/pdf")
        #expect(attachments.first?.child("AttachmentId")?.attributes["Id"] == "AAMk=")
        #expect(attachments.first?.child("Content")?.text == "")
        #expect(
            root.path("Body", "GetAttachmentResponse", "ResponseMessages", "GetAttachmentResponseMessage")?
                .string("ResponseCode") == "NoError")

        // The file holds exactly the generated bytes.
        var check = ByteGenerator(state: 0x2545_F491_4F6C_DD1D)
        let written = try FileHandle(forReadingFrom: output)
        defer { try? written.close() }
        var compared = 0
        var mismatches = 0
        while compared < size {
            let count = min(48 * 1024, size - compared)
            if try written.read(upToCount: count) != check.next(count) { mismatches += 1 }
            compared += count
        }
        #expect(mismatches == 0)
        #expect(try written.readToEnd() == nil)
        // Resident memory is printed, not asserted: the other suites run in parallel in this
        // process (the EWS simulator tests add ~100 MiB), so it is noise there. Alone, it grows by
        // about 3 MiB. Bounded memory is asserted above: pieces of at most one fed chunk, libxml2's
        // input buffer, decoder output chunks, and the element's empty text.
        let growth = residentPeak - residentBefore
        print(
            "streamed \(sink.bytes) bytes of base64 text in \(sink.pieces) pieces (largest \(sink.largestPiece) B)"
                + " from \(feeds) feeds of 64 KiB into \(outputChunks) output chunks;"
                + " libxml2 held at most \(parser.peakBufferedInput) bytes of input;"
                + " resident memory +\(growth / 1024) KiB")
    }

    @Test("invalid base64 stops the parse with an error naming the element")
    func invalidBase64() throws {
        let decoder = Base64StreamDecoder { _ in }
        let parser = XMLStreamParser(streamText: { $0.last == "Content" ? decoder : nil })
        let document = envelopeStart + "QUJD\nRE!G" + envelopeEnd
        do {
            try parser.feed(Data(document.utf8))
            try parser.finish()
            Issue.record("invalid base64 was accepted")
        } catch let error as XMLParseError {
            #expect(error.message.contains("FileAttachment/Content"), "\(error)")
            #expect(error.message.contains("invalid base64 character \"!\" at offset 7"), "\(error)")
            #expect(error.line >= 6)
        }
        // A truncated text is noticed when the element closes.
        let truncated = XMLStreamParser(
            streamText: { $0.last == "Content" ? Base64StreamDecoder { _ in } : nil })
        #expect(throws: XMLParseError.self) {
            try truncated.feed(Data((envelopeStart + "QUJDR" + envelopeEnd).utf8))
            try truncated.finish()
        }
    }

    @Test("whitespace, line breaks and character references inside the base64 are ignored")
    func whitespace() throws {
        let bytes = randomBytes(10_000, seed: 99)
        let wrapped = bytes.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
        #expect(wrapped.contains("\r"))
        let text = "\n  " + wrapped.replacingOccurrences(of: "\r", with: "&#13;\n\t ") + "  \n"
        var decoded = Data()
        let parser = XMLStreamParser(
            streamText: { $0.last == "Content" ? Base64StreamDecoder(outputChunkSize: 1000) { decoded += $0 } : nil })
        let document = Data((envelopeStart + text + envelopeEnd).utf8)
        // Odd-sized feeds split the text at arbitrary places.
        var offset = 0
        while offset < document.count {
            let end = min(offset + 333, document.count)
            try parser.feed(document[offset..<end])
            offset = end
        }
        try parser.finish()
        #expect(decoded == bytes)
    }

    @Test("the decoder keeps leftovers across any split, handles padding and rejects bad input")
    func decoder() throws {
        for length in 0..<8 {
            let bytes = randomBytes(length, seed: UInt64(length) + 1)
            let text = Array(bytes.base64EncodedString().utf8)
            for split in 0...text.count {
                var decoded = Data()
                let decoder = Base64StreamDecoder(outputChunkSize: 3) { decoded += $0 }
                try decoder.write(Data(text[..<split]))
                try decoder.write(Data(text[split...]))
                try decoder.finish()
                #expect(decoded == bytes, "length \(length) split at \(split)")
            }
            // Without padding too.
            var unpadded = Data()
            let decoder = Base64StreamDecoder { unpadded += $0 }
            try decoder.write(bytes.base64EncodedString().replacingOccurrences(of: "=", with: ""))
            try decoder.finish()
            #expect(unpadded == bytes)
        }
        func fails(_ text: String, _ message: String) {
            do {
                let decoder = Base64StreamDecoder { _ in }
                try decoder.write(text)
                try decoder.finish()
                Issue.record("\(text) was accepted")
            } catch let error as Base64DecodingError {
                #expect(error.message.contains(message), "\(text): \(error)")
            } catch {
                Issue.record("\(text): unexpected \(error)")
            }
        }
        fails("QUJD-", "invalid base64 character \"-\"")
        fails("QUJDR", "single character")
        fails("QQ==QUJD", "after the padding")
        fails("Q===", "misplaced")
        fails("QUJD=", "misplaced")
        fails("QQ=", "incomplete")
        fails("QUJD\u{0}", "0x0")
    }

    @Test("libxml2's default limits stay on (no XML_PARSE_HUGE): a name over 50,000 bytes is refused")
    func limitsStay() throws {
        let name = String(repeating: "n", count: 60_000)
        let parser = XMLStreamParser(streamText: { _ in Base64StreamDecoder { _ in } })
        let error = #expect(throws: XMLParseError.self) {
            try parser.feed(Data("<Root><\(name)>QUJD</\(name)></Root>".utf8))
            try parser.finish()
        }
        #expect(error?.message.contains("too long") == true, "\(String(describing: error))")
        // Under the limit, fine.
        let short = String(repeating: "n", count: 40_000)
        #expect(throws: Never.self) { try XMLStreamParser.parse("<Root><\(short)>x</\(short)></Root>") }
    }

    @Test("a streamed element's children are built; documents with a DTD are still refused")
    func childrenAndDTD() throws {
        var pieces: [String] = []
        final class Collect: XMLTextSink {
            var text = ""
            var onFinish: (String) -> Void
            init(_ onFinish: @escaping (String) -> Void) { self.onFinish = onFinish }
            func write(_ text: UnsafeRawBufferPointer) throws { self.text += String(decoding: text, as: UTF8.self) }
            func finish() throws { onFinish(text) }
        }
        let parser = XMLStreamParser(streamText: { path in path.last == "A" ? Collect { pieces.append($0) } : nil })
        try parser.feed(Data("<R><A>x<B>inner</B>y<A>nested</A></A><A>z</A></R>".utf8))
        let root = try parser.finish()
        #expect(pieces == ["xy", "z"])
        #expect(root.children("A").map(\.text) == ["", ""])
        #expect(root.child("A")?.string("B") == "inner")
        // Inside a streamed element no other is chosen: the nested A keeps its text.
        #expect(root.child("A")?.string("A") == "nested")

        let dtd = XMLStreamParser(streamText: { _ in Collect { _ in } })
        #expect(throws: XMLParseError.self) {
            try dtd.feed(Data("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>".utf8))
            try dtd.finish()
        }
    }
}
