import Foundation

/// One pass over a streamed request body: libcurl asks it for the next bytes as it sends them.
///
/// A reader is used on the transfer's thread only, by one transfer, from the first byte on.
public protocol HTTPBodyReader: AnyObject {
    /// Copies the next bytes of the body into `buffer` (at most `buffer.count`) and returns how many;
    /// 0 means the body has ended.
    ///
    /// - Throws: when the body cannot be produced (e.g. a file vanished); the request then fails
    ///   with an ``HTTPError`` of kind ``HTTPError/Kind-swift.enum/transport`` naming the error.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A request body produced in pieces as libcurl sends it, instead of one `Data` in memory.
///
/// The source is a factory of readers, so the body can be sent more than once: libcurl starts a
/// fresh reader (and skips to the position it wants) whenever it must rewind, e.g. after an
/// NTLM, Negotiate or Digest authentication leg or to retry on a new connection.
///
/// With a known ``length`` the request carries `Content-Length` (what EWS and IIS expect); with
/// `nil` libcurl falls back to `Transfer-Encoding: chunked`.
public struct HTTPBodySource: Sendable {
    /// The exact number of bytes every reader produces, or `nil` when unknown.
    public var length: Int64?
    /// Creates a reader positioned at the first byte of the body.
    public var makeReader: @Sendable () throws -> any HTTPBodyReader

    /// A source of the given length whose readers `makeReader` creates.
    public init(length: Int64?, makeReader: @escaping @Sendable () throws -> any HTTPBodyReader) {
        self.length = length
        self.makeReader = makeReader
    }

    /// A fresh reader advanced to `offset` by reading and discarding, for libcurl's rewinds.
    ///
    /// - Throws: ``HTTPBodyError`` when the body is shorter than `offset`, or what the reader throws.
    func makeReader(at offset: Int64) throws -> any HTTPBodyReader {
        guard offset >= 0 else { throw HTTPBodyError(message: "cannot seek the request body to \(offset)") }
        let reader = try makeReader()
        var remaining = offset
        guard remaining > 0 else { return reader }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { scratch.deallocate() }
        while remaining > 0 {
            let wanted = Int(min(Int64(scratch.count), remaining))
            let count = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<wanted]))
            guard count > 0 else {
                throw HTTPBodyError(message: "the request body ended before offset \(offset)")
            }
            remaining -= Int64(count)
        }
        return reader
    }

    /// The concatenation of `parts`, e.g. an XML prefix, a file encoded as base64 on the fly and an
    /// XML suffix. The length is computed here (the base64 of an `n`-byte file is `4 * ceil(n / 3)`
    /// bytes), so files are looked at (not read) now and must keep their size until the request ends.
    ///
    /// Memory stays bounded: a reader holds one chunk of a file (``HTTPBodyPartsReader/fileChunkSize``)
    /// and its base64 at a time, never a whole file.
    ///
    /// - Throws: when a file's size cannot be determined (e.g. it does not exist).
    public static func concatenating(_ parts: [HTTPBodyPart]) throws -> HTTPBodySource {
        let resolved = try parts.map { part -> HTTPBodyPartsReader.Resolved in
            switch part {
            case .data(let data):
                return .data(data)
            case .base64File(let path):
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                guard let size = (attributes[.size] as? NSNumber)?.int64Value else {
                    throw HTTPBodyError(message: "cannot determine the size of \(path)")
                }
                return .base64File(path: path, size: size)
            }
        }
        let length = resolved.reduce(Int64(0)) { $0 + $1.encodedLength }
        return HTTPBodySource(length: length) { HTTPBodyPartsReader(resolved: resolved) }
    }
}

/// One part of a body made by ``HTTPBodySource/concatenating(_:)``.
public enum HTTPBodyPart: Sendable {
    /// Bytes sent as they are.
    case data(Data)
    /// The contents of the file at `path`, sent base64-encoded (standard alphabet, padded, no line
    /// breaks), read and encoded chunk by chunk while sending.
    case base64File(path: String)
}

/// Why a streamed body could not be produced.
public struct HTTPBodyError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// An error with the given message.
    public init(message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// The reader of ``HTTPBodySource/concatenating(_:)``: data parts are copied straight into
/// libcurl's buffer; a file part is read ``fileChunkSize`` bytes at a time and each chunk's base64
/// (``encodedChunkSize`` bytes) is handed out before the next chunk is read.
public final class HTTPBodyPartsReader: HTTPBodyReader {
    /// Bytes of a file read at once: a multiple of 3, so the chunks' base64 concatenate without padding.
    public static let fileChunkSize = 48 * 1024
    /// The base64 of one full file chunk.
    public static let encodedChunkSize = fileChunkSize / 3 * 4

    enum Resolved: Sendable {
        case data(Data)
        case base64File(path: String, size: Int64)

        var encodedLength: Int64 {
            switch self {
            case .data(let data): Int64(data.count)
            case .base64File(_, let size): (size + 2) / 3 * 4
            }
        }
    }

    private let parts: [Resolved]
    private var partIndex = 0
    /// Position in the current data part.
    private var dataOffset = 0
    /// The open file of the current file part, and how many of its bytes were read.
    private var file: FileHandle?
    private var fileRead: Int64 = 0
    /// Encoded bytes of the current file chunk not yet handed out.
    private var pending = Data()
    private var pendingOffset = 0

    /// The most bytes this reader has held at once (file chunk plus its base64), for tests and diagnostics.
    public private(set) var peakBufferedBytes = 0

    /// A reader over the parts of a source.
    init(resolved: [Resolved]) { parts = resolved }

    deinit { try? file?.close() }

    /// The next bytes of the concatenation; 0 at its end.
    ///
    /// - Throws: ``HTTPBodyError`` when a file cannot be opened or read, or is shorter than it was
    ///   when the source was made.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        while written < buffer.count, partIndex < parts.count {
            switch parts[partIndex] {
            case .data(let data):
                let count = min(buffer.count - written, data.count - dataOffset)
                if count > 0 {
                    let start = data.startIndex + dataOffset
                    data.copyBytes(
                        to: UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + count)]),
                        from: start..<(start + count))
                    written += count
                    dataOffset += count
                }
                if dataOffset == data.count { nextPart() }
            case .base64File(let path, let size):
                if pendingOffset == pending.count {
                    guard fileRead < size else {
                        nextPart()
                        continue
                    }
                    try refill(path: path, size: size)
                }
                let count = min(buffer.count - written, pending.count - pendingOffset)
                pending.copyBytes(
                    to: UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + count)]),
                    from: pendingOffset..<(pendingOffset + count))
                written += count
                pendingOffset += count
            }
        }
        return written
    }

    private func nextPart() {
        partIndex += 1
        dataOffset = 0
        try? file?.close()
        file = nil
        fileRead = 0
        pending = Data()
        pendingOffset = 0
    }

    /// Reads the next chunk of the file and encodes it into `pending`.
    private func refill(path: String, size: Int64) throws {
        if file == nil {
            guard let opened = FileHandle(forReadingAtPath: path) else {
                throw HTTPBodyError(message: "cannot open \(path) for the request body")
            }
            file = opened
        }
        guard let file else { return }
        let wanted = Int(min(Int64(Self.fileChunkSize), size - fileRead))
        var chunk = Data(capacity: wanted)
        do {
            while chunk.count < wanted {
                guard let piece = try file.read(upToCount: wanted - chunk.count), !piece.isEmpty else { break }
                chunk.append(piece)
            }
        } catch {
            throw HTTPBodyError(message: "reading \(path) for the request body failed: \(error)")
        }
        guard chunk.count == wanted else {
            throw HTTPBodyError(message: "\(path) became shorter than its \(size) bytes while being sent")
        }
        fileRead += Int64(wanted)
        pending = chunk.base64EncodedData()
        pendingOffset = 0
        peakBufferedBytes = max(peakBufferedBytes, chunk.count + pending.count)
    }
}
