/// Wire-format pieces shared by the three NTLM messages ([MS-NLMP] 2.2).
enum NTLMWire {
    /// "NTLMSSP\0", the first eight bytes of every message.
    static let signature: [UInt8] = Array("NTLMSSP".utf8) + [0]

    /// Message types (the 32-bit field after the signature).
    enum MessageType: UInt32 {
        case negotiate = 1
        case challenge = 2
        case authenticate = 3
    }

    /// NEGOTIATE flags ([MS-NLMP] 2.2.2.5) this server reads or sets.
    enum Flag {
        static let unicode: UInt32 = 0x0000_0001
        static let oem: UInt32 = 0x0000_0002
        static let requestTarget: UInt32 = 0x0000_0004
        static let ntlm: UInt32 = 0x0000_0200
        static let anonymous: UInt32 = 0x0000_0800
        static let alwaysSign: UInt32 = 0x0000_8000
        static let targetTypeDomain: UInt32 = 0x0001_0000
        static let extendedSessionSecurity: UInt32 = 0x0008_0000
        static let targetInfo: UInt32 = 0x0080_0000
        static let version: UInt32 = 0x0200_0000
        static let negotiate128: UInt32 = 0x2000_0000
        static let keyExchange: UInt32 = 0x4000_0000
        static let negotiate56: UInt32 = 0x8000_0000
    }

    /// AV_PAIR identifiers ([MS-NLMP] 2.2.2.1).
    enum AvID: UInt16 {
        case eol = 0
        case nbComputerName = 1
        case nbDomainName = 2
        case dnsComputerName = 3
        case dnsDomainName = 4
        case dnsTreeName = 5
        case flags = 6
        case timestamp = 7
        case singleHost = 8
        case targetName = 9
        case channelBindings = 10
    }

    /// MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC.
    static let avFlagMICPresent: UInt32 = 0x0000_0002

    /// Offset and length of the MIC in an AUTHENTICATE_MESSAGE (after the 8-byte Version field).
    static let micOffset = 72
    static let micLength = 16

    /// Seconds between the FILETIME epoch (1601-01-01) and the Unix epoch.
    static let fileTimeEpochOffset: UInt64 = 11_644_473_600
}

/// Bounds-checked little-endian reading of an NTLM message. Every read throws instead of trapping.
struct NTLMReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func uint16(at offset: Int) throws(NTLMError) -> UInt16 {
        guard offset >= 0, offset + 2 <= bytes.count else {
            throw .malformedMessage("message too short: needs \(offset + 2) bytes, has \(bytes.count)")
        }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func uint32(at offset: Int) throws(NTLMError) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else {
            throw .malformedMessage("message too short: needs \(offset + 4) bytes, has \(bytes.count)")
        }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    func uint64(at offset: Int) throws(NTLMError) -> UInt64 {
        UInt64(try uint32(at: offset)) | UInt64(try uint32(at: offset + 4)) << 32
    }

    func slice(at offset: Int, count: Int, name: String) throws(NTLMError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw .malformedMessage(
                "\(name) (offset \(offset), length \(count)) lies outside the \(bytes.count)-byte message")
        }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Checks the signature and message type.
    func expectHeader(_ type: NTLMWire.MessageType) throws(NTLMError) {
        guard bytes.count >= 12 else {
            throw .malformedMessage("message too short for an NTLM header: \(bytes.count) bytes")
        }
        guard Array(bytes[0..<8]) == NTLMWire.signature else {
            throw .malformedMessage("missing NTLMSSP signature")
        }
        let actual = try uint32(at: 8)
        guard actual == type.rawValue else {
            throw .unexpectedMessageType(expected: type.rawValue, actual: actual)
        }
    }

    /// Reads the payload that a security-buffer descriptor (length, max length, offset) at `descriptor` points
    /// to. An empty field yields no bytes whatever its offset.
    func field(at descriptor: Int, name: String) throws(NTLMError) -> [UInt8] {
        let length = Int(try uint16(at: descriptor))
        let offset = Int(try uint32(at: descriptor + 4))
        if length == 0 { return [] }
        return try slice(at: offset, count: length, name: name)
    }
}

/// Little-endian writing of NTLM messages.
struct NTLMWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func append(_ value: UInt32) {
        append(UInt16(truncatingIfNeeded: value))
        append(UInt16(truncatingIfNeeded: value >> 16))
    }

    mutating func append(_ value: UInt64) {
        append(UInt32(truncatingIfNeeded: value))
        append(UInt32(truncatingIfNeeded: value >> 32))
    }

    mutating func append(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
    }

    /// Appends a security-buffer descriptor (length, max length, offset).
    mutating func appendField(length: Int, offset: Int) {
        append(UInt16(truncatingIfNeeded: length))
        append(UInt16(truncatingIfNeeded: length))
        append(UInt32(truncatingIfNeeded: offset))
    }

    /// Appends one AV_PAIR.
    mutating func appendAvPair(_ id: NTLMWire.AvID, _ value: [UInt8]) {
        append(id.rawValue)
        append(UInt16(truncatingIfNeeded: value.count))
        append(value)
    }
}

/// One AV_PAIR read from a target info list.
struct NTLMAvPair: Equatable {
    var id: UInt16
    var value: [UInt8]

    /// Parses an AV_PAIR list up to and including MsvAvEOL. Bytes after the terminator are ignored.
    static func parseList(_ bytes: [UInt8]) throws(NTLMError) -> [NTLMAvPair] {
        let reader = NTLMReader(bytes)
        var pairs: [NTLMAvPair] = []
        var offset = 0
        while true {
            let id = try reader.uint16(at: offset)
            let length = Int(try reader.uint16(at: offset + 2))
            if id == NTLMWire.AvID.eol.rawValue { return pairs }
            let value = try reader.slice(at: offset + 4, count: length, name: "AV pair \(id)")
            pairs.append(NTLMAvPair(id: id, value: value))
            offset += 4 + length
        }
    }
}

/// Text in NTLM messages: UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE was negotiated, otherwise the OEM code page.
enum NTLMText {
    static func encode(_ string: String, unicode: Bool) -> [UInt8] {
        unicode ? NTLMCrypto.utf16LittleEndian(string) : Array(string.utf8)
    }

    /// Decodes UTF-16LE strictly (odd lengths and unpaired surrogates are errors). OEM text is decoded as
    /// UTF-8 when it is valid UTF-8, else as ISO 8859-1, so that no byte sequence is rejected or lost.
    static func decode(_ bytes: [UInt8], unicode: Bool, name: String) throws(NTLMError) -> String {
        if unicode {
            guard bytes.count % 2 == 0 else {
                throw .malformedMessage("\(name) has an odd number of bytes for UTF-16")
            }
            var units: [UInt16] = []
            units.reserveCapacity(bytes.count / 2)
            for index in stride(from: 0, to: bytes.count, by: 2) {
                units.append(UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8)
            }
            var scalars = String.UnicodeScalarView()
            var iterator = units.makeIterator()
            var decoder = UTF16()
            loop: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar):
                    scalars.append(scalar)
                case .emptyInput:
                    break loop
                case .error:
                    throw .malformedMessage("\(name) is not valid UTF-16")
                }
            }
            return String(scalars)
        }
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                scalars.append(scalar)
            case .emptyInput:
                return String(scalars)
            case .error:
                return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
            }
        }
    }
}
