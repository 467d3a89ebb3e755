@testable import NTLM

/// Bytes from a hex string; spaces are ignored. Traps on bad input (test data only).
func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// Lower-case hex of bytes.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined()
}

/// UTF-16LE bytes, written out independently of the module's own helper.
func utf16le(_ string: String) -> [UInt8] {
    string.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
}

func le16(_ value: Int) -> [UInt8] {
    [UInt8(value & 0xff), UInt8((value >> 8) & 0xff)]
}

func le32(_ value: UInt32) -> [UInt8] {
    [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
}

func le64(_ value: UInt64) -> [UInt8] {
    le32(UInt32(value & 0xffff_ffff)) + le32(UInt32(value >> 32))
}

/// One AV_PAIR: id, length, value.
func avPair(_ id: Int, _ value: [UInt8]) -> [UInt8] {
    le16(id) + le16(value.count) + value
}

let ntlmSignature: [UInt8] = Array("NTLMSSP".utf8) + [0]

/// Builds an AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3) from field values, independently of the server code.
///
/// Header (64 bytes, plus 8 for Version and 16 for the MIC when given), then the payloads in the order LM, NT,
/// domain, user, workstation, session key. An empty field points at the start of the payload.
struct AuthenticateMessageBuilder {
    var flags: UInt32
    var lmResponse: [UInt8] = []
    var ntResponse: [UInt8] = []
    var domain: [UInt8] = []
    var user: [UInt8] = []
    var workstation: [UInt8] = []
    var encryptedSessionKey: [UInt8] = []
    var version: [UInt8]?
    var mic: [UInt8]?

    func build() -> [UInt8] {
        var headerLength = 64
        if version != nil || mic != nil { headerLength += 8 }
        if mic != nil { headerLength += 16 }
        let payloads = [lmResponse, ntResponse, domain, user, workstation, encryptedSessionKey]
        var descriptors: [[UInt8]] = []
        var payload: [UInt8] = []
        for field in payloads {
            let offset = field.isEmpty ? headerLength : headerLength + payload.count
            descriptors.append(le16(field.count) + le16(field.count) + le32(UInt32(offset)))
            payload += field
        }
        var message = ntlmSignature + le32(3)
        for descriptor in descriptors {
            message += descriptor
        }
        message += le32(flags)
        if version != nil || mic != nil {
            message += version ?? [UInt8](repeating: 0, count: 8)
        }
        if let mic {
            message += mic
        }
        precondition(message.count == headerLength)
        return message + payload
    }
}

/// The CHALLENGE_MESSAGE of [MS-NLMP] 4.2.4.3, built from its field values: target name "Server", flags
/// 0xe28a8233, server challenge 0123456789abcdef, target info MsvAvNbDomainName "Domain",
/// MsvAvNbComputerName "Server", version 6.0.6000 revision 15.
func specChallengeMessage() -> [UInt8] {
    let targetName = utf16le("Server")
    let targetInfo = avPair(2, utf16le("Domain")) + avPair(1, utf16le("Server")) + avPair(0, [])
    var message = ntlmSignature + le32(2)
    message += le16(targetName.count) + le16(targetName.count) + le32(56)
    message += le32(0xe28a_8233)
    message += hex("0123456789abcdef")
    message += [UInt8](repeating: 0, count: 8)
    message += le16(targetInfo.count) + le16(targetInfo.count) + le32(UInt32(56 + targetName.count))
    message += hex("060070170000000f")
    return message + targetName + targetInfo
}

/// A NEGOTIATE_MESSAGE with the given flags and empty domain and workstation fields.
func negotiateMessage(flags: UInt32) -> [UInt8] {
    ntlmSignature + le32(1) + le32(flags) + le16(0) + le16(0) + le32(32) + le16(0) + le16(0) + le32(32)
}

/// The state a server would hold after sending `challengeMessage` in answer to `negotiate`.
func challengeState(
    serverChallenge: [UInt8], flags: UInt32, negotiate: [UInt8] = [], challengeMessage: [UInt8] = []
) -> NTLMChallengeState {
    NTLMChallengeState(
        serverChallenge: serverChallenge, negotiatedFlags: flags, negotiateMessage: negotiate,
        challengeMessage: challengeMessage)
}
