import Testing

@testable import NTLM

/// The NTLMv2 example of [MS-NLMP] section 4.2.4: user "User", domain "Domain", password "Password", server
/// challenge 0123456789abcdef, client challenge aaaaaaaaaaaaaaaa, time 0, server name "Server", workstation
/// "COMPUTER". The AUTHENTICATE_MESSAGE is assembled here from those field values, not taken from the server.
@Suite("[MS-NLMP] 4.2.4 NTLMv2 authentication")
struct SpecVectorTests {
    static let serverChallenge = hex("0123456789abcdef")
    static let clientChallenge = hex("aaaaaaaaaaaaaaaa")
    /// NTProofStr, [MS-NLMP] 4.2.4.2.2.
    static let ntProofStr = hex("68cd0ab851e51c96aabc927bebef6a1c")
    /// LMv2 response, [MS-NLMP] 4.2.4.2.1.
    static let lmv2Response = hex("86c35097ac9cec102554764a57cccc19") + clientChallenge
    /// EncryptedRandomSessionKey, [MS-NLMP] 4.2.4.2.3.
    static let encryptedSessionKey = hex("c5dad2544fc9799094ce1ce90bc9d03e")
    /// NegotiateFlags of the example, [MS-NLMP] 4.2.4 (KEY_EXCH, 56, 128, VERSION, TARGET_INFO, TARGET_TYPE_SERVER,
    /// ALWAYS_SIGN, NTLM, SEAL, SIGN, OEM, UNICODE).
    static let flags: UInt32 = 0xe28a_8233

    /// "temp" of [MS-NLMP] 4.2.4.1.3 assembled from its fields: RespType 1, HiRespType 1, six
    /// zero bytes, Time, ClientChallenge, four zero bytes, the AV pairs (MsvAvNbDomainName "Domain",
    /// MsvAvNbComputerName "Server", MsvAvEOL), four zero bytes.
    static var temp: [UInt8] {
        [1, 1] + [UInt8](repeating: 0, count: 6) + le64(0) + clientChallenge + [0, 0, 0, 0]
            + avPair(2, utf16le("Domain")) + avPair(1, utf16le("Server")) + avPair(0, []) + [0, 0, 0, 0]
    }

    static let account = NTLMAccount(user: "User", domain: "Domain", password: "Password")

    static func server(accounts: [NTLMAccount] = [account]) -> NTLMServer {
        NTLMServer(targetName: "Domain", dnsDomain: "", computer: "Server", accounts: accounts)
    }

    static func state(serverChallenge: [UInt8] = serverChallenge) -> NTLMChallengeState {
        challengeState(serverChallenge: serverChallenge, flags: flags, challengeMessage: specChallengeMessage())
    }

    /// The example's AUTHENTICATE_MESSAGE, with Unicode strings (as in the spec) or OEM strings.
    static func authenticateMessage(
        user: String = "User", domain: String = "Domain", unicode: Bool = true, ntResponse: [UInt8]? = nil
    ) -> [UInt8] {
        let encode: (String) -> [UInt8] = { unicode ? utf16le($0) : Array($0.utf8) }
        return AuthenticateMessageBuilder(
            flags: unicode ? flags : flags & ~NTLMWire.Flag.unicode,
            lmResponse: lmv2Response,
            ntResponse: ntResponse ?? ntProofStr + temp,
            domain: encode(domain),
            user: encode(user),
            workstation: encode("COMPUTER"),
            encryptedSessionKey: encryptedSessionKey
        ).build()
    }

    @Test("temp has the bytes printed in [MS-NLMP] 4.2.4.1.3")
    func tempBytes() {
        let printed = hex(
            """
            01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c00
            44006f006d00610069006e0001000c005300650072007600650072000000000000000000
            """)
        #expect(Self.temp == printed)
    }

    @Test("NTOWFv2, NTProofStr, SessionBaseKey and LMv2 match the spec")
    func derivedValues() {
        let key = NTLMCrypto.ntowfv2(password: "Password", user: "User", domain: "Domain")
        #expect(hexString(key) == "0c868a403bfd7a93a3001ef22ef02e3f")
        let proof = NTLMCrypto.hmacMD5(key: key, data: Self.serverChallenge + Self.temp)
        #expect(proof == Self.ntProofStr)
        // SessionBaseKey, [MS-NLMP] 4.2.4.1.2.
        #expect(hexString(NTLMCrypto.hmacMD5(key: key, data: proof)) == "8de40ccadbc14a82f15cb0ad0de95ca3")
        let lmv2 = NTLMCrypto.hmacMD5(key: key, data: Self.serverChallenge + Self.clientChallenge)
        #expect(lmv2 + Self.clientChallenge == Self.lmv2Response)
    }

    @Test("the spec's AUTHENTICATE_MESSAGE verifies")
    func specMessageVerifies() throws {
        let account = try Self.server().authenticate(Self.authenticateMessage(), state: Self.state())
        #expect(account == Self.account)
    }

    @Test("OEM strings verify too (NTLMSSP_NEGOTIATE_UNICODE clear)")
    func oemStrings() throws {
        let message = Self.authenticateMessage(unicode: false)
        #expect(try Self.server().authenticate(message, state: Self.state()) == Self.account)
    }

    @Test("the user name matches case-insensitively; NTOWFv2 uses the client's strings")
    func caseInsensitiveUser() throws {
        let stored = NTLMAccount(user: "uSER", domain: "DOMAIN", password: "Password")
        let account = try Self.server(accounts: [stored]).authenticate(Self.authenticateMessage(), state: Self.state())
        #expect(account == stored)
    }

    @Test("an account without a domain accepts the client's domain")
    func accountWithoutDomain() throws {
        let stored = NTLMAccount(user: "User", password: "Password")
        let account = try Self.server(accounts: [stored]).authenticate(Self.authenticateMessage(), state: Self.state())
        #expect(account == stored)
    }

    @Test("the first account whose password verifies wins among same-named accounts")
    func severalCandidates() throws {
        let other = NTLMAccount(user: "User", domain: "Domain", password: "Other")
        let server = Self.server(accounts: [other, Self.account])
        #expect(try server.authenticate(Self.authenticateMessage(), state: Self.state()) == Self.account)
    }

    @Test("a wrong password is refused without revealing either password")
    func wrongPassword() {
        let stored = NTLMAccount(user: "User", domain: "Domain", password: "Passw0rd-secret")
        let server = Self.server(accounts: [stored])
        let error = #expect(throws: NTLMError.self) {
            try server.authenticate(Self.authenticateMessage(), state: Self.state())
        }
        #expect(error == .wrongPassword(user: "User", domain: "Domain"))
        #expect(error?.description.contains("Passw") == false)
    }

    @Test("the proof is bound to the server challenge")
    func otherServerChallenge() {
        let error = #expect(throws: NTLMError.self) {
            try Self.server().authenticate(
                Self.authenticateMessage(), state: Self.state(serverChallenge: hex("0123456789abcdee")))
        }
        #expect(error == .wrongPassword(user: "User", domain: "Domain"))
    }

    @Test("a changed blob or proof is refused")
    func tamperedResponse() {
        var blob = Self.temp
        blob[16] ^= 0x01  // a client challenge byte
        var proof = Self.ntProofStr
        proof[15] ^= 0x80
        for ntResponse in [Self.ntProofStr + blob, proof + Self.temp] {
            let error = #expect(throws: NTLMError.self) {
                try Self.server().authenticate(
                    Self.authenticateMessage(ntResponse: ntResponse), state: Self.state())
            }
            #expect(error == .wrongPassword(user: "User", domain: "Domain"))
        }
    }

    @Test("an unknown user or another domain is refused as unknown")
    func unknownUserOrDomain() {
        let server = Self.server(accounts: [NTLMAccount(user: "User", domain: "Other", password: "Password")])
        let error = #expect(throws: NTLMError.self) {
            try server.authenticate(Self.authenticateMessage(), state: Self.state())
        }
        #expect(error == .unknownUser(user: "User", domain: "Domain"))
        let unknown = #expect(throws: NTLMError.self) {
            try Self.server().authenticate(Self.authenticateMessage(user: "Nobody"), state: Self.state())
        }
        #expect(unknown == .unknownUser(user: "Nobody", domain: "Domain"))
    }
}

/// Message integrity: the MIC example published with Chromium's NTLM client tests, which extends the [MS-NLMP]
/// 4.2.4 example with a client timestamp, MsvAvFlags (MIC present), channel bindings and an SPN. The messages
/// are assembled here from those field values.
@Suite("NTLMv2 with a MIC")
struct MICTests {
    static let negotiate = negotiateMessage(flags: 0x0008_8207)
    static let proof = hex("8c0260dbef690662af9c42d50782d2ed")
    static let mic = hex("f7361633f0ad9bdf4a7c421bc6b824a3")

    static var blob: [UInt8] {
        let targetInfo =
            avPair(2, utf16le("Domain")) + avPair(1, utf16le("Server")) + avPair(6, le32(2))
            + avPair(10, hex("6586e99d81c2fc984e47172fd4dd0310")) + avPair(9, utf16le("HTTP/Server")) + avPair(0, [])
        return [1, 1] + [UInt8](repeating: 0, count: 6) + le64(131_400_439_870_000_000)
            + SpecVectorTests.clientChallenge + [0, 0, 0, 0] + targetInfo + [0, 0, 0, 0]
    }

    static func message(mic: [UInt8] = mic, workstation: String = "COMPUTER") -> [UInt8] {
        AuthenticateMessageBuilder(
            flags: 0x0008_8203,
            lmResponse: [UInt8](repeating: 0, count: 24),
            ntResponse: proof + blob,
            domain: utf16le("Domain"),
            user: utf16le("User"),
            workstation: utf16le(workstation),
            version: [UInt8](repeating: 0, count: 8),
            mic: mic
        ).build()
    }

    static func state(negotiate: [UInt8] = negotiate) -> NTLMChallengeState {
        challengeState(
            serverChallenge: SpecVectorTests.serverChallenge, flags: SpecVectorTests.flags, negotiate: negotiate,
            challengeMessage: specChallengeMessage())
    }

    @Test("the proof of the example matches")
    func proofMatches() {
        let key = NTLMCrypto.ntowfv2(password: "Password", user: "User", domain: "Domain")
        #expect(NTLMCrypto.hmacMD5(key: key, data: SpecVectorTests.serverChallenge + Self.blob) == Self.proof)
    }

    @Test("a correct MIC verifies")
    func micVerifies() throws {
        let account = try SpecVectorTests.server().authenticate(Self.message(), state: Self.state())
        #expect(account == SpecVectorTests.account)
    }

    @Test("a changed MIC, a changed unprotected field or different earlier messages are refused")
    func micRefused() {
        var badMIC = Self.mic
        badMIC[0] ^= 0x01
        let otherNegotiate = negotiateMessage(flags: 0x0008_8205)
        let cases: [([UInt8], NTLMChallengeState)] = [
            (Self.message(mic: badMIC), Self.state()),
            (Self.message(workstation: "COMPUTES"), Self.state()),
            (Self.message(), Self.state(negotiate: otherNegotiate)),
        ]
        for (message, state) in cases {
            let error = #expect(throws: NTLMError.self) {
                try SpecVectorTests.server().authenticate(message, state: state)
            }
            #expect(error == .messageIntegrityCheckFailed(user: "User", domain: "Domain"))
        }
    }
}
