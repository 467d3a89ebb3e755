import NIOCore
import NIOHTTP1

/// An HTTP/1.1 request decoder that takes any method token, for the WebDAV front: Exchange's
/// methods `BPROPFIND`, `BDELETE`, `BMOVE`, `BPROPPATCH` and `X-MS-ENUMATTS` are not in the fixed
/// list of NIO's parser, which refuses them. Emits the same request parts as NIO's decoder
/// (head, body pieces, end); bodies by Content-Length or chunked transfer coding.
final class SimHTTPRequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPServerRequestPart

    enum State {
        case head
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    var state = State.head
    static let maximumHead = 64 * 1024

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .head:
            guard let end = Self.find([13, 10, 13, 10], in: buffer) else {
                if buffer.readableBytes > Self.maximumHead { throw Malformed(description: "request head too large") }
                return .needMoreData
            }
            let text = buffer.readString(length: end + 4) ?? ""
            var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
            guard !lines.isEmpty else { return .continue }
            let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: true)
            guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
                throw Malformed(description: "bad request line")
            }
            var headers = HTTPHeaders()
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { throw Malformed(description: "bad header line") }
                headers.add(
                    name: String(line[..<colon]),
                    value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            let version: HTTPVersion = requestLine[2] == "HTTP/1.0" ? .http1_0 : .http1_1
            let head = HTTPRequestHead(
                version: version, method: HTTPMethod(rawValue: String(requestLine[0])),
                uri: String(requestLine[1]), headers: headers)
            context.fireChannelRead(wrapInboundOut(.head(head)))
            if headers.first(name: "Transfer-Encoding")?.lowercased().contains("chunked") == true {
                state = .chunkSize
            } else if let length = headers.first(name: "Content-Length").flatMap(Int.init), length > 0 {
                state = .body(remaining: length)
            } else {
                context.fireChannelRead(wrapInboundOut(.end(nil)))
            }
            return .continue
        case .body(let remaining), .chunkData(let remaining):
            guard buffer.readableBytes > 0 else { return .needMoreData }
            let count = min(remaining, buffer.readableBytes)
            let slice = buffer.readSlice(length: count)!
            context.fireChannelRead(wrapInboundOut(.body(slice)))
            let left = remaining - count
            if case .body = state {
                if left == 0 {
                    context.fireChannelRead(wrapInboundOut(.end(nil)))
                    state = .head
                } else {
                    state = .body(remaining: left)
                }
            } else {
                state = left == 0 ? .chunkEnd : .chunkData(remaining: left)
            }
            return .continue
        case .chunkSize:
            guard let end = Self.find([13, 10], in: buffer) else { return .needMoreData }
            let line = buffer.readString(length: end + 2) ?? ""
            let size = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            guard let value = Int(size, radix: 16) else { throw Malformed(description: "bad chunk size") }
            state = value == 0 ? .trailers : .chunkData(remaining: value)
            return .continue
        case .chunkEnd:
            guard buffer.readableBytes >= 2 else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 2)
            state = .chunkSize
            return .continue
        case .trailers:
            guard let end = Self.find([13, 10], in: buffer) else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: end + 2)
            if end == 0 {
                context.fireChannelRead(wrapInboundOut(.end(nil)))
                state = .head
            }
            return .continue
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }

    /// The offset of `needle` in the readable bytes, if there.
    static func find(_ needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        let view = buffer.readableBytesView
        guard view.count >= needle.count else { return nil }
        var index = view.startIndex
        let last = view.endIndex - needle.count
        while index <= last {
            if view[index] == needle[0] {
                var matches = true
                for offset in 1..<needle.count where view[index + offset] != needle[offset] {
                    matches = false
                    break
                }
                if matches { return index - view.startIndex }
            }
            index += 1
        }
        return nil
    }
}
