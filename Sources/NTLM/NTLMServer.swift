import Foundation

/// One NTLM account the server accepts.
///
/// The password never appears in `description`, `debugDescription` or a mirror (`dump`).
public struct NTLMAccount: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// User name; matched case-insensitively.
    public var user: String
    /// NetBIOS or DNS domain of the account; empty accepts whatever domain the client names.
    public var domain: String
    /// Clear-text password the NT hash is derived from.
    public var password: String

    /// Creates an account; `domain` defaults to empty, which accepts any domain the client names.
    public init(user: String, domain: String = "", password: String) {
        self.user = user
        self.domain = domain
        self.password = password
    }

    /// `DOMAIN\user` (or `user`), without the password.
    public var description: String {
        domain.isEmpty ? user : "\(domain)\\\(user)"
    }

    /// Like `description`, marked as an account; the password is redacted.
    public var debugDescription: String {
        "NTLMAccount(\(description), password: <redacted>)"
    }

    /// A mirror without the password, so that `dump` and reflection-based printing cannot reveal it.
    public var customMirror: Mirror {
        Mirror(self, children: ["user": user, "domain": domain], displayStyle: .struct)
    }
}

/// The server challenge issued for one connection (keep it with the connection between the two legs).
///
/// It also keeps the NEGOTIATE and CHALLENGE messages exactly as exchanged, which a client's MIC covers.
/// Use a state for one AUTHENTICATE_MESSAGE only and drop it afterwards.
public struct NTLMChallengeState: Sendable {
    /// The 8 random bytes sent to the client in the CHALLENGE_MESSAGE.
    public let serverChallenge: [UInt8]
    /// The NEGOTIATE flags the server announced in the CHALLENGE_MESSAGE.
    public let negotiatedFlags: UInt32
    /// The client's NEGOTIATE_MESSAGE as received.
    let negotiateMessage: [UInt8]
    /// The CHALLENGE_MESSAGE as sent.
    let challengeMessage: [UInt8]

    init(serverChallenge: [UInt8], negotiatedFlags: UInt32, negotiateMessage: [UInt8], challengeMessage: [UInt8]) {
        precondition(serverChallenge.count == 8, "an NTLM server challenge has 8 bytes")
        self.serverChallenge = serverChallenge
        self.negotiatedFlags = negotiatedFlags
        self.negotiateMessage = negotiateMessage
        self.challengeMessage = challengeMessage
    }
}

/// Why an NTLM message or header was refused. No case ever carries a password.
public enum NTLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message is truncated, lacks the signature, or has fields pointing outside it.
    case malformedMessage(String)
    /// A well-formed NTLM message of another type than the one expected at this step.
    case unexpectedMessageType(expected: UInt32, actual: UInt32)
    /// The `Authorization` header is not `NTLM <base64>`; the reason never repeats the header's content.
    case invalidAuthorizationHeader(String)
    /// An AUTHENTICATE_MESSAGE arrived without the state of a preceding challenge.
    case missingChallengeState
    /// The client tried anonymous authentication, which this server does not allow.
    case anonymousNotAccepted
    /// The client answered with a scheme this server refuses (NTLMv1, LM only).
    case unsupported(String)
    /// No account has this user name in this domain.
    case unknownUser(user: String, domain: String)
    /// The NTLMv2 response does not match the account's password.
    case wrongPassword(user: String, domain: String)
    /// The NTLMv2 response was right but the message integrity code over the three messages was not.
    case messageIntegrityCheckFailed(user: String, domain: String)

    /// A one-line explanation, without any secret.
    public var description: String {
        switch self {
        case .malformedMessage(let reason):
            return "malformed NTLM message: \(reason)"
        case .unexpectedMessageType(let expected, let actual):
            return "unexpected NTLM message type \(actual), expected \(expected)"
        case .invalidAuthorizationHeader(let reason):
            return "invalid NTLM Authorization header: \(reason)"
        case .missingChallengeState:
            return "NTLM AUTHENTICATE message without a preceding challenge on this connection"
        case .anonymousNotAccepted:
            return "anonymous NTLM authentication is not accepted"
        case .unsupported(let reason):
            return "unsupported NTLM response: \(reason)"
        case .unknownUser(let user, let domain):
            return "unknown NTLM user \(Self.qualified(user, domain))"
        case .wrongPassword(let user, let domain):
            return "wrong password for NTLM user \(Self.qualified(user, domain))"
        case .messageIntegrityCheckFailed(let user, let domain):
            return "NTLM message integrity check failed for user \(Self.qualified(user, domain))"
        }
    }

    private static func qualified(_ user: String, _ domain: String) -> String {
        domain.isEmpty ? "'\(user)'" : "'\(domain)\\\(user)'"
    }
}

/// Server side of NTLM over HTTP.
///
/// Only NTLMv2 responses are accepted; they are verified against the accounts' passwords. If the client marks
/// its AUTHENTICATE_MESSAGE as carrying a MIC, the MIC is verified too. The server offers no session security
/// (signing, sealing, key exchange): HTTP authentication does not use it.
public struct NTLMServer: Sendable, CustomStringConvertible {
    /// NetBIOS domain name announced in the challenge.
    public let targetName: String
    /// DNS domain name announced in the target info.
    public let dnsDomain: String
    /// Computer name announced in the target info.
    public let computer: String
    private let accounts: [NTLMAccount]

    /// `targetName` is the NetBIOS domain name announced in the challenge (e.g. "EXAMPLE"); `dnsDomain`/`computer`
    /// go into the target info.
    ///
    /// The target info carries `computer` upper-cased as the NetBIOS computer name and `computer.dnsDomain` as
    /// the DNS computer name.
    public init(targetName: String, dnsDomain: String, computer: String, accounts: [NTLMAccount]) {
        for name in [targetName, dnsDomain, computer] {
            precondition(name.utf16.count <= 8_000, "NTLM names must be short enough for a 16-bit length field")
        }
        self.targetName = targetName
        self.dnsDomain = dnsDomain
        self.computer = computer
        self.accounts = accounts
    }

    /// Names and the number of accounts; no passwords.
    public var description: String {
        "NTLMServer(targetName: \(targetName), dnsDomain: \(dnsDomain), computer: \(computer), "
            + "accounts: \(accounts.count))"
    }

    // MARK: - Leg 1 -> leg 2

    /// Leg 1 -> leg 2: parse a NEGOTIATE_MESSAGE (type 1) and build the CHALLENGE_MESSAGE (type 2) with a fresh
    /// random server challenge and a TargetInfo (AV pairs: MsvAvNbDomainName, MsvAvNbComputerName,
    /// MsvAvDnsDomainName, MsvAvDnsComputerName, MsvAvTimestamp, MsvAvEOL) so that clients answer with NTLMv2.
    public func challenge(negotiate: [UInt8]) throws -> (message: [UInt8], state: NTLMChallengeState) {
        var generator = SystemRandomNumberGenerator()
        let random: UInt64 = generator.next()
        let serverChallenge = (0..<8).map { UInt8(truncatingIfNeeded: random >> (8 * UInt64($0))) }
        let seconds = UInt64(max(0, Date().timeIntervalSince1970))
        let fileTime = (seconds + NTLMWire.fileTimeEpochOffset) * 10_000_000
        return try challenge(negotiate: negotiate, serverChallenge: serverChallenge, timestamp: fileTime)
    }

    /// Builds the CHALLENGE_MESSAGE with a given server challenge and FILETIME timestamp.
    func challenge(
        negotiate: [UInt8], serverChallenge: [UInt8], timestamp: UInt64
    ) throws(NTLMError) -> (message: [UInt8], state: NTLMChallengeState) {
        let reader = NTLMReader(negotiate)
        try reader.expectHeader(.negotiate)
        let clientFlags = try reader.uint32(at: 12)
        if negotiate.count > 16 {
            // Optional OEM domain and workstation fields: they must be whole and point inside the message.
            _ = try reader.field(at: 16, name: "DomainName")
            _ = try reader.field(at: 24, name: "Workstation")
        }

        typealias Flag = NTLMWire.Flag
        var flags = Flag.ntlm | Flag.requestTarget | Flag.targetTypeDomain | Flag.targetInfo
        let unicode = clientFlags & Flag.unicode != 0 || clientFlags & Flag.oem == 0
        flags |= unicode ? Flag.unicode : Flag.oem
        let echoed = [
            Flag.alwaysSign, Flag.extendedSessionSecurity, Flag.version, Flag.negotiate128, Flag.negotiate56,
        ]
        for flag in echoed where clientFlags & flag != 0 {
            flags |= flag
        }

        let target = NTLMText.encode(targetName, unicode: unicode)
        let info = targetInfo(timestamp: timestamp)
        let headerLength = 56

        var writer = NTLMWriter()
        writer.append(NTLMWire.signature)
        writer.append(NTLMWire.MessageType.challenge.rawValue)
        writer.appendField(length: target.count, offset: headerLength)
        writer.append(flags)
        writer.append(serverChallenge)
        writer.append(UInt64(0))  // Reserved
        writer.appendField(length: info.count, offset: headerLength + target.count)
        // Version: 10.0 build 20348, NTLM revision 15. Clients only read it for debugging.
        writer.append([10, 0])
        writer.append(UInt16(20_348))
        writer.append([0, 0, 0, 15])
        writer.append(target)
        writer.append(info)

        let state = NTLMChallengeState(
            serverChallenge: serverChallenge, negotiatedFlags: flags, negotiateMessage: negotiate,
            challengeMessage: writer.bytes)
        return (writer.bytes, state)
    }

    private func targetInfo(timestamp: UInt64) -> [UInt8] {
        let dnsComputer = dnsDomain.isEmpty ? computer : "\(computer).\(dnsDomain)"
        var writer = NTLMWriter()
        writer.appendAvPair(.nbDomainName, NTLMCrypto.utf16LittleEndian(targetName))
        writer.appendAvPair(.nbComputerName, NTLMCrypto.utf16LittleEndian(computer.uppercased()))
        writer.appendAvPair(.dnsDomainName, NTLMCrypto.utf16LittleEndian(dnsDomain))
        writer.appendAvPair(.dnsComputerName, NTLMCrypto.utf16LittleEndian(dnsComputer))
        var time = NTLMWriter()
        time.append(timestamp)
        writer.appendAvPair(.timestamp, time.bytes)
        writer.appendAvPair(.eol, [])
        return writer.bytes
    }

    // MARK: - Leg 3

    /// Leg 3: parse the AUTHENTICATE_MESSAGE (type 3) and verify the NTLMv2 response (NTProofStr =
    /// HMAC-MD5(NTOWFv2, serverChallenge + blob)) against the account's password. Returns the authenticated
    /// account.
    ///
    /// User names match case-insensitively. The client's domain must match the account's domain
    /// case-insensitively; an account with an empty domain accepts any domain. The server's own NetBIOS and DNS
    /// domain names (`targetName`, `dnsDomain`) count as the same domain, and a client that names no domain is
    /// taken to mean the server's domain. NTOWFv2 is always computed with the user and domain strings exactly as
    /// the client sent them. Strings are read as UTF-16LE or OEM according to NTLMSSP_NEGOTIATE_UNICODE.
    public func authenticate(_ message: [UInt8], state: NTLMChallengeState) throws -> NTLMAccount {
        try verify(message, state: state)
    }

    private func verify(_ message: [UInt8], state: NTLMChallengeState) throws(NTLMError) -> NTLMAccount {
        typealias Flag = NTLMWire.Flag
        let reader = NTLMReader(message)
        try reader.expectHeader(.authenticate)
        guard message.count >= 64 else {
            throw .malformedMessage("AUTHENTICATE_MESSAGE header needs 64 bytes, has \(message.count)")
        }
        let lmResponse = try reader.field(at: 12, name: "LmChallengeResponse")
        let ntResponse = try reader.field(at: 20, name: "NtChallengeResponse")
        let domainBytes = try reader.field(at: 28, name: "DomainName")
        let userBytes = try reader.field(at: 36, name: "UserName")
        _ = try reader.field(at: 44, name: "Workstation")
        let encryptedSessionKey = try reader.field(at: 52, name: "EncryptedRandomSessionKey")
        let flags = try reader.uint32(at: 60)

        let unicode = flags & Flag.unicode != 0
        let domain = try NTLMText.decode(domainBytes, unicode: unicode, name: "DomainName")
        let user = try NTLMText.decode(userBytes, unicode: unicode, name: "UserName")

        if flags & Flag.anonymous != 0 || user.isEmpty {
            throw .anonymousNotAccepted
        }
        switch ntResponse.count {
        case 0:
            throw .unsupported(lmResponse.isEmpty ? "no NT response" : "LM response only")
        case 24:
            throw .unsupported("NTLMv1 response; only NTLMv2 is accepted")
        case ..<(16 + 28):
            throw .malformedMessage("NTLMv2 response too short: \(ntResponse.count) bytes")
        default:
            break
        }
        let proof = Array(ntResponse[0..<16])
        let blob = Array(ntResponse[16...])
        guard blob[0] == 1, blob[1] == 1 else {
            throw .malformedMessage("NTLMv2 client challenge has version \(blob[0]).\(blob[1]), expected 1.1")
        }
        let avPairs = try NTLMAvPair.parseList(Array(blob[28...]))
        var micPresent = false
        for pair in avPairs where pair.id == NTLMWire.AvID.flags.rawValue {
            guard pair.value.count == 4 else { throw .malformedMessage("MsvAvFlags must have 4 bytes") }
            micPresent = try NTLMReader(pair.value).uint32(at: 0) & NTLMWire.avFlagMICPresent != 0
        }

        let named = accounts.filter { Self.sameName($0.user, user) }
        let candidates = named.filter { domainMatches(account: $0.domain, client: domain) }
        guard !candidates.isEmpty else {
            throw .unknownUser(user: user, domain: domain)
        }
        for account in candidates {
            let key = NTLMCrypto.ntowfv2(password: account.password, user: user, domain: domain)
            let expected = NTLMCrypto.hmacMD5(key: key, data: state.serverChallenge + blob)
            guard NTLMCrypto.constantTimeEqual(expected, proof) else { continue }
            if micPresent {
                try verifyMIC(
                    message, state: state, key: key, proof: proof, flags: flags,
                    encryptedSessionKey: encryptedSessionKey, user: user, domain: domain)
            }
            return account
        }
        throw .wrongPassword(user: user, domain: domain)
    }

    /// MIC = HMAC-MD5(ExportedSessionKey, NEGOTIATE + CHALLENGE + AUTHENTICATE with the MIC zeroed)
    /// ([MS-NLMP] 3.1.5.1.2, 3.2.5.1.2). For NTLMv2, KeyExchangeKey = SessionBaseKey = HMAC-MD5(NTOWFv2, NTProofStr).
    private func verifyMIC(
        _ message: [UInt8], state: NTLMChallengeState, key: [UInt8], proof: [UInt8], flags: UInt32,
        encryptedSessionKey: [UInt8], user: String, domain: String
    ) throws(NTLMError) {
        let micEnd = NTLMWire.micOffset + NTLMWire.micLength
        guard message.count >= micEnd else {
            throw .malformedMessage("MsvAvFlags announces a MIC but the message has no room for it")
        }
        let sessionBaseKey = NTLMCrypto.hmacMD5(key: key, data: proof)
        var exportedSessionKey = sessionBaseKey
        if flags & NTLMWire.Flag.keyExchange != 0 {
            guard encryptedSessionKey.count == 16 else {
                throw .malformedMessage("key exchange requested without a 16-byte EncryptedRandomSessionKey")
            }
            exportedSessionKey = NTLMCrypto.rc4(key: sessionBaseKey, data: encryptedSessionKey)
        }
        var zeroed = message
        zeroed.replaceSubrange(NTLMWire.micOffset..<micEnd, with: [UInt8](repeating: 0, count: NTLMWire.micLength))
        let expected = NTLMCrypto.hmacMD5(
            key: exportedSessionKey, data: state.negotiateMessage + state.challengeMessage + zeroed)
        guard NTLMCrypto.constantTimeEqual(expected, Array(message[NTLMWire.micOffset..<micEnd])) else {
            throw .messageIntegrityCheckFailed(user: user, domain: domain)
        }
    }

    private static func sameName(_ lhs: String, _ rhs: String) -> Bool {
        NTLMCrypto.windowsUppercase(lhs) == NTLMCrypto.windowsUppercase(rhs)
    }

    /// Whether the client's domain matches an account's domain (see `authenticate(_:state:)`).
    private func domainMatches(account: String, client: String) -> Bool {
        if account.isEmpty || Self.sameName(account, client) { return true }
        let isServerDomain = { (name: String) in
            name.isEmpty || Self.sameName(name, targetName) || (!dnsDomain.isEmpty && Self.sameName(name, dnsDomain))
        }
        return isServerDomain(account) && isServerDomain(client)
    }

    // MARK: - HTTP

    /// Convenience for HTTP: given the value of an `Authorization` header ("NTLM <base64>"), returns the next
    /// `WWW-Authenticate` header value ("NTLM <base64 type-2>") for a type-1, or the account for a type-3.
    public enum HeaderResult: Sendable {
        /// Answer 401 with this `WWW-Authenticate` value and keep `state` with the connection.
        case challenge(header: String, state: NTLMChallengeState)
        /// The connection is authenticated as this account.
        case authenticated(NTLMAccount)
    }

    /// Handles one `Authorization` header value: a NEGOTIATE_MESSAGE yields `.challenge`, an
    /// AUTHENTICATE_MESSAGE (which needs the `state` from the challenge on the same connection) `.authenticated`.
    public func handle(authorization: String, state: NTLMChallengeState?) throws -> HeaderResult {
        let message = try Self.decodeAuthorization(authorization)
        let type = try NTLMReader(message).uint32(at: 8)
        switch type {
        case NTLMWire.MessageType.negotiate.rawValue:
            let (challenge, newState) = try challenge(negotiate: message)
            return .challenge(header: "NTLM " + Data(challenge).base64EncodedString(), state: newState)
        case NTLMWire.MessageType.authenticate.rawValue:
            guard let state else { throw NTLMError.missingChallengeState }
            return .authenticated(try authenticate(message, state: state))
        default:
            throw NTLMError.unexpectedMessageType(expected: NTLMWire.MessageType.negotiate.rawValue, actual: type)
        }
    }

    private static func decodeAuthorization(_ header: String) throws(NTLMError) -> [UInt8] {
        let parts = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let scheme = parts.first, scheme.lowercased() == "ntlm" else {
            throw .invalidAuthorizationHeader("scheme is not NTLM")
        }
        guard parts.count == 2 else {
            throw .invalidAuthorizationHeader("expected exactly one token after NTLM")
        }
        guard let data = Data(base64Encoded: String(parts[1])) else {
            throw .invalidAuthorizationHeader("token is not valid base64")
        }
        let message = [UInt8](data)
        let reader = NTLMReader(message)
        guard message.count >= 12, Array(message[0..<8]) == NTLMWire.signature else {
            throw .malformedMessage("token is not an NTLMSSP message")
        }
        _ = try reader.uint32(at: 8)
        return message
    }
}
