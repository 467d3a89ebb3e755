import Foundation
import Testing

@testable import NTLM

/// A CHALLENGE_MESSAGE as a client reads it, parsed here independently of the server code.
struct ParsedChallenge {
    var flags: UInt32
    var serverChallenge: [UInt8]
    var targetName: [UInt8]
    var targetInfo: [UInt8]
    var avPairs: [(id: Int, value: [UInt8])]

    init(_ message: [UInt8]) throws {
        func u16(_ at: Int) -> Int { Int(message[at]) | Int(message[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        func field(_ at: Int) throws -> [UInt8] {
            let length = u16(at)
            let offset = Int(u32(at + 4))
            try #require(offset + length <= message.count)
            return Array(message[offset..<(offset + length)])
        }
        try #require(message.count >= 56)
        try #require(Array(message[0..<8]) == ntlmSignature)
        try #require(u32(8) == 2)
        flags = u32(20)
        serverChallenge = Array(message[24..<32])
        targetName = try field(12)
        targetInfo = try field(40)
        avPairs = []
        var offset = 0
        while offset + 4 <= targetInfo.count {
            let id = Int(targetInfo[offset]) | Int(targetInfo[offset + 1]) << 8
            let length = Int(targetInfo[offset + 2]) | Int(targetInfo[offset + 3]) << 8
            try #require(offset + 4 + length <= targetInfo.count)
            avPairs.append((id, Array(targetInfo[(offset + 4)..<(offset + 4 + length)])))
            offset += 4 + length
            if id == 0 { break }
        }
    }

    func pair(_ id: Int) -> [UInt8]? {
        avPairs.first { $0.id == id }?.value
    }
}

/// A minimal NTLMv2 client written from [MS-NLMP] 3.1.5.1.2, used to drive the server end to end.
func clientAuthenticate(
    challenge: [UInt8], user: String, domain: String, password: String, unicode: Bool
) throws -> [UInt8] {
    let parsed = try ParsedChallenge(challenge)
    let clientChallenge: [UInt8] = [9, 8, 7, 6, 5, 4, 3, 2]
    let time = try #require(parsed.pair(7))
    let blob = [1, 1, 0, 0, 0, 0, 0, 0] + time + clientChallenge + [0, 0, 0, 0] + parsed.targetInfo + [0, 0, 0, 0]
    let key = NTLMCrypto.ntowfv2(password: password, user: user, domain: domain)
    let proof = NTLMCrypto.hmacMD5(key: key, data: parsed.serverChallenge + blob)
    let encode: (String) -> [UInt8] = { unicode ? utf16le($0) : Array($0.utf8) }
    return AuthenticateMessageBuilder(
        flags: parsed.flags,
        lmResponse: [UInt8](repeating: 0, count: 24),
        ntResponse: proof + blob,
        domain: encode(domain),
        user: encode(user),
        workstation: encode("WS01")
    ).build()
}

@Suite("Server challenge and full exchange")
struct ServerFlowTests {
    static let server = NTLMServer(
        targetName: "EXAMPLE", dnsDomain: "example.test", computer: "exch01",
        accounts: [
            NTLMAccount(user: "svc", domain: "EXAMPLE", password: "S3cret!"),
            NTLMAccount(user: "any", password: "Anywhere1"),
        ])
    /// UNICODE | OEM | REQUEST_TARGET | NTLM | ALWAYS_SIGN | EXTENDED_SESSIONSECURITY | VERSION | 128 | 56.
    static let unicodeNegotiate = negotiateMessage(flags: 0xa208_8207)
    /// What curl 7.88 sends: OEM | REQUEST_TARGET | NTLM | ALWAYS_SIGN | EXTENDED_SESSIONSECURITY.
    static let oemNegotiate = negotiateMessage(flags: 0x0008_8206)

    @Test("the CHALLENGE_MESSAGE announces the target and the AV pairs that make clients use NTLMv2")
    func challengeContents() throws {
        let before = UInt64(Date().timeIntervalSince1970) + 11_644_473_600
        let (message, state) = try Self.server.challenge(negotiate: Self.unicodeNegotiate)
        let after = UInt64(Date().timeIntervalSince1970) + 11_644_473_600
        let parsed = try ParsedChallenge(message)

        #expect(parsed.serverChallenge == state.serverChallenge)
        #expect(state.negotiatedFlags == parsed.flags)
        #expect(parsed.flags & 0x0000_0001 != 0)  // UNICODE
        #expect(parsed.flags & 0x0000_0002 == 0)  // not OEM
        #expect(parsed.flags & 0x0000_0200 != 0)  // NTLM
        #expect(parsed.flags & 0x0080_0000 != 0)  // TARGET_INFO
        #expect(parsed.flags & 0x4000_0000 == 0)  // no KEY_EXCH offered
        #expect(parsed.targetName == utf16le("EXAMPLE"))
        #expect(parsed.pair(2) == utf16le("EXAMPLE"))
        #expect(parsed.pair(1) == utf16le("EXCH01"))
        #expect(parsed.pair(4) == utf16le("example.test"))
        #expect(parsed.pair(3) == utf16le("exch01.example.test"))
        #expect(parsed.avPairs.last?.id == 0)
        let time = try #require(parsed.pair(7))
        try #require(time.count == 8)
        let fileTime = time.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(fileTime >= before * 10_000_000 && fileTime <= (after + 1) * 10_000_000)
    }

    @Test("an OEM-only client gets OEM strings")
    func oemChallenge() throws {
        let (message, _) = try Self.server.challenge(negotiate: Self.oemNegotiate)
        let parsed = try ParsedChallenge(message)
        #expect(parsed.flags & 0x0000_0002 != 0)
        #expect(parsed.flags & 0x0000_0001 == 0)
        #expect(parsed.targetName == Array("EXAMPLE".utf8))
        #expect(parsed.pair(2) == utf16le("EXAMPLE"))  // AV pairs are always Unicode
    }

    @Test("each challenge is fresh")
    func freshChallenges() throws {
        var challenges = Set<[UInt8]>()
        for _ in 0..<20 {
            challenges.insert(try Self.server.challenge(negotiate: Self.unicodeNegotiate).state.serverChallenge)
        }
        #expect(challenges.count == 20)
    }

    @Test("header round trip: type 1 -> type 2 -> type 3 -> account", arguments: [true, false])
    func headerRoundTrip(unicode: Bool) throws {
        let negotiate = unicode ? Self.unicodeNegotiate : Self.oemNegotiate
        let first = try Self.server.handle(
            authorization: "NTLM " + Data(negotiate).base64EncodedString(), state: nil)
        guard case .challenge(let header, let state) = first else {
            Issue.record("expected a challenge, got \(first)")
            return
        }
        #expect(header.hasPrefix("NTLM "))
        let challenge = try #require(Data(base64Encoded: String(header.dropFirst(5))))
        let type3 = try clientAuthenticate(
            challenge: [UInt8](challenge), user: "SVC", domain: "example", password: "S3cret!", unicode: unicode)
        let second = try Self.server.handle(
            authorization: "ntlm " + Data(type3).base64EncodedString(), state: state)
        guard case .authenticated(let account) = second else {
            Issue.record("expected an account, got \(second)")
            return
        }
        #expect(account.user == "svc")
        #expect(account.domain == "EXAMPLE")
    }

    @Test(
        "domain rules: the server's NetBIOS and DNS names and an empty domain mean the server's domain",
        arguments: [
            ("svc", "EXAMPLE", "S3cret!", true),
            ("svc", "example.test", "S3cret!", true),
            ("svc", "", "S3cret!", true),
            ("svc", "OTHER", "S3cret!", false),
            ("any", "OTHER", "Anywhere1", true),
            ("any", "", "Anywhere1", true),
        ])
    func domainRules(user: String, domain: String, password: String, accepted: Bool) throws {
        let (challenge, state) = try Self.server.challenge(negotiate: Self.unicodeNegotiate)
        let type3 = try clientAuthenticate(
            challenge: challenge, user: user, domain: domain, password: password, unicode: true)
        if accepted {
            #expect(try Self.server.authenticate(type3, state: state).user == user)
        } else {
            #expect(throws: NTLMError.unknownUser(user: user, domain: domain)) {
                try Self.server.authenticate(type3, state: state)
            }
        }
    }

    @Test("a response to one challenge does not verify against another")
    func replayAgainstNewChallenge() throws {
        let (challenge, _) = try Self.server.challenge(negotiate: Self.unicodeNegotiate)
        let (_, otherState) = try Self.server.challenge(negotiate: Self.unicodeNegotiate)
        let type3 = try clientAuthenticate(
            challenge: challenge, user: "svc", domain: "EXAMPLE", password: "S3cret!", unicode: true)
        #expect(throws: NTLMError.wrongPassword(user: "svc", domain: "EXAMPLE")) {
            try Self.server.authenticate(type3, state: otherState)
        }
    }

    @Test("descriptions never contain passwords")
    func noPasswordsInDescriptions() throws {
        let account = NTLMAccount(user: "svc", domain: "EXAMPLE", password: "S3cret!")
        var dumped = ""
        dump(account, to: &dumped)
        let texts = [
            account.description, account.debugDescription, String(describing: account), String(reflecting: account),
            "\(account)", dumped, String(describing: Self.server), String(reflecting: Self.server),
            String(describing: [account]),
        ]
        for text in texts {
            #expect(!text.contains("S3cret"), "\(text)")
        }
        #expect(account.description == "EXAMPLE\\svc")
    }
}
