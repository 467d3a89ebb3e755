import Foundation
import Testing

@testable import NTLM

/// A small deterministic generator (SplitMix64) so that mutation tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite("Malformed messages throw NTLMError")
struct MalformedMessageTests {
    static let server = SpecVectorTests.server()
    static let state = SpecVectorTests.state()
    static let valid = SpecVectorTests.authenticateMessage()

    /// Overwrites 4 bytes at `offset` with a little-endian value.
    static func patched(_ message: [UInt8], at offset: Int, _ value: UInt32) -> [UInt8] {
        var copy = message
        copy.replaceSubrange(offset..<(offset + 4), with: le32(value))
        return copy
    }

    static func patched16(_ message: [UInt8], at offset: Int, _ value: Int) -> [UInt8] {
        var copy = message
        copy.replaceSubrange(offset..<(offset + 2), with: le16(value))
        return copy
    }

    static func authenticateError(_ message: [UInt8]) -> NTLMError? {
        #expect(throws: NTLMError.self) {
            try server.authenticate(message, state: state)
        }
    }

    static func isMalformed(_ error: NTLMError?) -> Bool {
        if case .malformedMessage = error { return true }
        return false
    }

    @Test("NEGOTIATE: truncated, wrong signature, wrong type, fields outside the buffer")
    func badNegotiate() {
        let valid = negotiateMessage(flags: 0x0008_8207)
        var wrongSignature = valid
        wrongSignature[6] = UInt8(ascii: "X")
        let cases: [[UInt8]] = [
            [],
            Array(valid.prefix(7)),
            Array(valid.prefix(11)),
            Array(valid.prefix(15)),
            Array(valid.prefix(20)),
            Array(valid.prefix(31)),
            wrongSignature,
            Self.patched16(valid, at: 16, 4),  // domain of 4 bytes at offset 32 = end of message
            Self.patched(Self.patched16(valid, at: 24, 1), at: 28, 0xffff_ffff),
        ]
        for message in cases {
            let error = #expect(throws: NTLMError.self) {
                try Self.server.challenge(negotiate: message)
            }
            #expect(Self.isMalformed(error), "\(String(describing: error)) for \(hexString(message))")
        }
        #expect(throws: NTLMError.unexpectedMessageType(expected: 1, actual: 3)) {
            try Self.server.challenge(negotiate: Self.valid)
        }
        // A 16-byte NEGOTIATE without the optional fields is valid.
        #expect(throws: Never.self) {
            try Self.server.challenge(negotiate: Array(valid.prefix(16)))
        }
    }

    @Test("AUTHENTICATE: every truncation throws")
    func everyTruncation() {
        for length in 0..<Self.valid.count {
            let error = #expect(throws: NTLMError.self) {
                try Self.server.authenticate(Array(Self.valid.prefix(length)), state: Self.state)
            }
            #expect(Self.isMalformed(error), "length \(length): \(String(describing: error))")
        }
    }

    @Test("AUTHENTICATE: wrong signature or type")
    func badHeader() {
        var wrongSignature = Self.valid
        wrongSignature[0] = UInt8(ascii: "M")
        #expect(Self.isMalformed(Self.authenticateError(wrongSignature)))
        #expect(
            Self.authenticateError(Self.patched(Self.valid, at: 8, 2))
                == .unexpectedMessageType(expected: 3, actual: 2))
    }

    @Test(
        "AUTHENTICATE: security buffers pointing outside the message",
        arguments: [12, 20, 28, 36, 44, 52])
    func fieldsOutside(descriptor: Int) {
        let count = Self.valid.count
        let cases = [
            Self.patched(Self.valid, at: descriptor + 4, 0xffff_ffff),
            Self.patched(Self.valid, at: descriptor + 4, 0x7fff_fff0),
            Self.patched(Self.valid, at: descriptor + 4, UInt32(count - 1)),
            Self.patched16(Self.patched(Self.valid, at: descriptor + 4, 64), at: descriptor, 0xffff),
        ]
        for message in cases {
            let error = Self.authenticateError(message)
            #expect(Self.isMalformed(error), "\(String(describing: error))")
        }
    }

    @Test("AUTHENTICATE: unsupported or anonymous responses")
    func unsupportedResponses() {
        let unicodeUser = utf16le("User")
        let v1 = AuthenticateMessageBuilder(
            flags: SpecVectorTests.flags, lmResponse: [UInt8](repeating: 1, count: 24),
            ntResponse: [UInt8](repeating: 2, count: 24), user: unicodeUser
        ).build()
        #expect(Self.authenticateError(v1) == .unsupported("NTLMv1 response; only NTLMv2 is accepted"))
        let lmOnly = AuthenticateMessageBuilder(
            flags: SpecVectorTests.flags, lmResponse: [UInt8](repeating: 1, count: 24), user: unicodeUser
        ).build()
        #expect(Self.authenticateError(lmOnly) == .unsupported("LM response only"))
        let anonymous = AuthenticateMessageBuilder(flags: SpecVectorTests.flags, lmResponse: [0]).build()
        #expect(Self.authenticateError(anonymous) == .anonymousNotAccepted)
    }

    @Test("AUTHENTICATE: malformed NTLMv2 responses and strings")
    func malformedContents() {
        let proof = SpecVectorTests.ntProofStr
        let temp = SpecVectorTests.temp
        var wrongVersion = temp
        wrongVersion[0] = 2
        // The AV pair list ends in the middle of a pair header.
        let cutAvPairs = Array(temp.prefix(28 + 6))
        // An AV pair claims more bytes than the blob has.
        var longAvPair = temp
        longAvPair.replaceSubrange(30..<32, with: le16(0x4000))
        // MsvAvFlags with 2 bytes instead of 4.
        let badFlags =
            Array(temp.prefix(28)) + avPair(6, [2, 0]) + avPair(0, []) + [0, 0, 0, 0]
        let responses = [
            Array((proof + temp).prefix(30)),
            proof + wrongVersion,
            proof + cutAvPairs,
            proof + longAvPair,
            proof + badFlags,
        ]
        for response in responses {
            let error = Self.authenticateError(SpecVectorTests.authenticateMessage(ntResponse: response))
            #expect(Self.isMalformed(error), "\(String(describing: error))")
        }

        // A Unicode user name with an odd number of bytes, and one with an unpaired surrogate.
        let oddUser = AuthenticateMessageBuilder(
            flags: SpecVectorTests.flags, ntResponse: proof + temp, user: [0x55, 0x00, 0x73]
        ).build()
        #expect(Self.isMalformed(Self.authenticateError(oddUser)))
        let surrogate = AuthenticateMessageBuilder(
            flags: SpecVectorTests.flags, ntResponse: proof + temp, user: [0x00, 0xd8, 0x41, 0x00]
        ).build()
        #expect(Self.isMalformed(Self.authenticateError(surrogate)))
    }

    @Test("AUTHENTICATE: random mutations never crash and only throw NTLMError")
    func mutations() {
        var generator = SplitMix64(state: 0x4e54_4c4d)
        let messages = [Self.valid, MICTests.message()]
        for base in messages {
            for _ in 0..<3_000 {
                var message = base
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let index = Int.random(in: 0..<message.count, using: &generator)
                    message[index] = UInt8.random(in: 0...255, using: &generator)
                }
                if Bool.random(using: &generator) {
                    message = Array(message.prefix(Int.random(in: 0...message.count, using: &generator)))
                }
                do {
                    _ = try Self.server.authenticate(message, state: MICTests.state())
                } catch is NTLMError {
                    continue
                } catch {
                    Issue.record("unexpected error type: \(error)")
                }
            }
        }
    }

    @Test("Authorization headers that are not NTLM tokens")
    func badHeaders() throws {
        let basic = #expect(throws: NTLMError.self) {
            try Self.server.handle(authorization: "Basic dXNlcjpzZWNyZXRwYXNz", state: nil)
        }
        #expect(basic == .invalidAuthorizationHeader("scheme is not NTLM"))
        #expect(basic?.description.contains("dXNlcjpzZWNyZXRwYXNz") == false)

        for header in ["", "NTLM", "NTLM a b", "NTLM !!!!", "Negotiate TlRMTVNTUAABAAAA"] {
            let error = #expect(throws: NTLMError.self) {
                try Self.server.handle(authorization: header, state: nil)
            }
            guard case .invalidAuthorizationHeader = error else {
                Issue.record("\(header): \(String(describing: error))")
                continue
            }
        }
        let notNTLM = "NTLM " + Data("hello, world".utf8).base64EncodedString()
        let notNTLMError = #expect(throws: NTLMError.self) {
            try Self.server.handle(authorization: notNTLM, state: nil)
        }
        #expect(Self.isMalformed(notNTLMError))

        let type3 = "NTLM " + Data(Self.valid).base64EncodedString()
        #expect(throws: NTLMError.missingChallengeState) {
            try Self.server.handle(authorization: type3, state: nil)
        }
        let type2 = "NTLM " + Data(specChallengeMessage()).base64EncodedString()
        #expect(throws: NTLMError.unexpectedMessageType(expected: 1, actual: 2)) {
            try Self.server.handle(authorization: type2, state: Self.state)
        }
        // The same type 3 with its state authenticates.
        guard case .authenticated(let account) = try Self.server.handle(authorization: type3, state: Self.state)
        else {
            Issue.record("expected an account")
            return
        }
        #expect(account == SpecVectorTests.account)
    }
}
