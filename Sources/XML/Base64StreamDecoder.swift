import Foundation

/// Why base64 text could not be decoded.
public struct Base64DecodingError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with the text.
    public var message: String
    /// Position (0-based, in bytes of text fed) of the offending character, or of the end.
    public var offset: Int64

    /// An error at `offset`.
    public init(message: String, offset: Int64) {
        self.message = message
        self.offset = offset
    }

    /// `<message> at offset <offset>`.
    public var description: String { "\(message) at offset \(offset)" }
}

/// Decodes base64 text that arrives in arbitrary pieces (e.g. the text of an EWS `<t:Content>`
/// element as libxml2 reports it) and hands the bytes to `output` in chunks, so neither the text
/// nor the decoded bytes are ever held whole.
///
/// - Pieces may split the text anywhere; the 0-3 characters of an incomplete quantum are kept
///   until the next piece.
/// - Whitespace (space, tab, CR, LF) anywhere is ignored.
/// - Standard alphabet (`A-Z a-z 0-9 + /`); `=` padding only at the end. A final quantum of 2 or
///   3 characters without padding is accepted; 1 character is not.
/// - Anything else throws ``Base64DecodingError`` with the offset of the character.
///
/// As an ``XMLTextSink`` it decodes the text of an element chosen by ``XMLStreamParser``'s
/// `streamText`; for example, to a file:
///
/// ```swift
/// let decoder = Base64StreamDecoder { try file.write(contentsOf: $0) }
/// let parser = XMLStreamParser(streamText: { $0.last == "Content" ? decoder : nil })
/// ```
public final class Base64StreamDecoder: XMLTextSink {
    /// Decoded bytes are passed on when this many have been collected, and at ``finish()``.
    public let outputChunkSize: Int
    private let output: (Data) throws -> Void
    private let buffer: UnsafeMutablePointer<UInt8>
    private var buffered = 0
    /// Bits of the incomplete quantum and how many characters it has.
    private var accumulator: UInt32 = 0
    private var quantumCount = 0
    /// `=` seen: only more `=` (to complete the quantum) or whitespace may follow.
    private var padding = 0
    private var finished = false

    /// Text bytes fed so far.
    public private(set) var textCount: Int64 = 0
    /// Bytes decoded so far (including any not yet passed to `output`).
    public private(set) var decodedCount: Int64 = 0

    /// A decoder that passes decoded bytes to `output` in chunks of `outputChunkSize` (the last one smaller).
    public init(outputChunkSize: Int = 48 * 1024, output: @escaping (Data) throws -> Void) {
        self.outputChunkSize = max(3, outputChunkSize)
        self.output = output
        buffer = .allocate(capacity: self.outputChunkSize)
    }

    deinit { buffer.deallocate() }

    /// Values of the base64 characters; 64 for whitespace, 65 for `=`, 255 for anything else.
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        for character in [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n")] {
            table[Int(character)] = 64
        }
        table[Int(UInt8(ascii: "="))] = 65
        return table
    }()

    /// Decodes the next piece of text.
    ///
    /// - Throws: ``Base64DecodingError`` for a character outside the alphabet, misplaced padding or
    ///   data after the padding; what `output` throws.
    public func write(_ text: UnsafeRawBufferPointer) throws {
        guard !finished else { throw Base64DecodingError(message: "text after the end", offset: textCount) }
        try Self.table.withUnsafeBufferPointer { table in
            for (index, character) in text.enumerated() {
                let value = table[Int(character)]
                if value < 64 {
                    guard padding == 0 else {
                        throw Base64DecodingError(
                            message: "base64 data after the padding", offset: textCount + Int64(index))
                    }
                    accumulator = accumulator << 6 | UInt32(value)
                    quantumCount += 1
                    if quantumCount == 4 {
                        if buffered + 3 > outputChunkSize { try flush() }
                        buffer[buffered] = UInt8(truncatingIfNeeded: accumulator >> 16)
                        buffer[buffered + 1] = UInt8(truncatingIfNeeded: accumulator >> 8)
                        buffer[buffered + 2] = UInt8(truncatingIfNeeded: accumulator)
                        buffered += 3
                        decodedCount += 3
                        accumulator = 0
                        quantumCount = 0
                    }
                } else if value == 64 {
                    continue
                } else if value == 65 {
                    // "xx==" or "xxx=": padding completes a quantum of 2 or 3 characters.
                    guard quantumCount + padding >= 2, quantumCount + padding < 4 else {
                        throw Base64DecodingError(message: "misplaced base64 padding", offset: textCount + Int64(index))
                    }
                    padding += 1
                    if quantumCount + padding == 4 { try endQuantum(offset: textCount + Int64(index)) }
                } else {
                    throw Base64DecodingError(
                        message: "invalid base64 character \(Self.describe(character))",
                        offset: textCount + Int64(index))
                }
            }
        }
        textCount += Int64(text.count)
    }

    /// Decodes the next piece of text.
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes the next piece of text.
    public func write(_ text: Data) throws { try text.withUnsafeBytes { try write($0) } }

    /// Ends the text: decodes an unpadded final quantum and passes the remaining bytes to `output`.
    ///
    /// - Throws: ``Base64DecodingError`` when the text ends inside a quantum that cannot be complete
    ///   (1 character, or an incomplete padding); what `output` throws.
    public func finish() throws {
        guard !finished else { return }
        if padding > 0, quantumCount + padding < 4 {
            throw Base64DecodingError(message: "incomplete base64 padding", offset: textCount)
        }
        if quantumCount == 1 {
            throw Base64DecodingError(message: "base64 text ends with a single character", offset: textCount)
        }
        if quantumCount > 0 { try endQuantum(offset: textCount) }
        finished = true
        try flush()
    }

    /// Decodes a final quantum of 2 or 3 characters (padded or not) into 1 or 2 bytes.
    private func endQuantum(offset: Int64) throws {
        let bytes = quantumCount - 1
        if buffered + bytes > outputChunkSize { try flush() }
        let bits = accumulator << (6 * UInt32(4 - quantumCount))
        buffer[buffered] = UInt8(truncatingIfNeeded: bits >> 16)
        if bytes == 2 { buffer[buffered + 1] = UInt8(truncatingIfNeeded: bits >> 8) }
        buffered += bytes
        decodedCount += Int64(bytes)
        accumulator = 0
        quantumCount = 0
        // Keep `padding` so only whitespace may follow; mark the quantum as done.
        padding = max(padding, 4)
    }

    private func flush() throws {
        guard buffered > 0 else { return }
        let data = Data(bytes: buffer, count: buffered)
        buffered = 0
        try output(data)
    }

    private static func describe(_ character: UInt8) -> String {
        if character >= 0x21 && character < 0x7F { return "\"\(Character(UnicodeScalar(character)))\"" }
        return "0x" + String(character, radix: 16, uppercase: true)
    }
}
