import Crypto

/// The hash functions NTLM is built from: MD4 (RFC 1320), the NT hash and NTOWFv2 ([MS-NLMP] 3.3.2).
public enum NTLMCrypto {
    /// MD4 message digest (RFC 1320) of `data`; returns 16 bytes.
    ///
    /// MD4 is broken as a general-purpose hash. It is here only because NTLM's NT hash is defined with it.
    public static func md4(_ data: [UInt8]) -> [UInt8] {
        var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)

        // Padding: a 1 bit, zeros up to 56 mod 64 bytes, then the bit length as a 64-bit little-endian number.
        var message = data
        let bitLength = UInt64(truncatingIfNeeded: data.count) &* 8
        message.append(0x80)
        while message.count % 64 != 56 {
            message.append(0)
        }
        for index in 0..<8 {
            message.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(index))))
        }

        var words = [UInt32](repeating: 0, count: 16)
        for blockStart in stride(from: 0, to: message.count, by: 64) {
            for index in 0..<16 {
                let byte = blockStart + 4 * index
                words[index] =
                    UInt32(message[byte]) | UInt32(message[byte + 1]) << 8 | UInt32(message[byte + 2]) << 16
                    | UInt32(message[byte + 3]) << 24
            }
            state = md4Block(state, words)
        }

        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        for word in [state.0, state.1, state.2, state.3] {
            digest.append(contentsOf: littleEndianBytes(word))
        }
        return digest
    }

    /// NT hash: MD4(UTF-16LE(password)), called NTOWFv1 in [MS-NLMP].
    public static func ntHash(password: String) -> [UInt8] {
        md4(utf16LittleEndian(password))
    }

    /// NTOWFv2 = HMAC-MD5(ntHash, UTF-16LE(uppercase(user) + domain)) ([MS-NLMP] 3.3.2).
    ///
    /// Only the user name is upper-cased; the domain is used exactly as given.
    public static func ntowfv2(password: String, user: String, domain: String) -> [UInt8] {
        hmacMD5(key: ntHash(password: password), data: utf16LittleEndian(windowsUppercase(user) + domain))
    }

    // MARK: - Internal helpers

    /// HMAC-MD5 of `data` under `key`.
    static func hmacMD5(key: [UInt8], data: [UInt8]) -> [UInt8] {
        Array(HMAC<Insecure.MD5>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// RC4 keystream applied to `data` (encryption and decryption are the same operation).
    ///
    /// Needed only to recover the exported session key when a client used NTLMSSP_NEGOTIATE_KEY_EXCH.
    static func rc4(key: [UInt8], data: [UInt8]) -> [UInt8] {
        precondition(!key.isEmpty, "RC4 needs a key")
        var box = [UInt8](0...255)
        var j = 0
        for i in 0..<256 {
            j = (j + Int(box[i]) + Int(key[i % key.count])) & 0xff
            box.swapAt(i, j)
        }
        var output = [UInt8]()
        output.reserveCapacity(data.count)
        var i = 0
        j = 0
        for byte in data {
            i = (i + 1) & 0xff
            j = (j + Int(box[i])) & 0xff
            box.swapAt(i, j)
            output.append(byte ^ box[(Int(box[i]) + Int(box[j])) & 0xff])
        }
        return output
    }

    /// The string as UTF-16 code units in little-endian byte order ("UNICODE" in [MS-NLMP]).
    static func utf16LittleEndian(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf16.count * 2)
        for unit in string.utf16 {
            bytes.append(UInt8(truncatingIfNeeded: unit))
            bytes.append(UInt8(truncatingIfNeeded: unit >> 8))
        }
        return bytes
    }

    /// Upper-cases the way Windows does for NTOWFv2: character by character, keeping characters whose upper
    /// case would be longer than one character (e.g. "ß") unchanged.
    static func windowsUppercase(_ string: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in string.unicodeScalars {
            let mapped = scalar.properties.uppercaseMapping.unicodeScalars
            if mapped.count == 1, let upper = mapped.first {
                scalars.append(upper)
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// Compares two byte arrays in time that depends only on their lengths.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    private static func littleEndianBytes(_ word: UInt32) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: word), UInt8(truncatingIfNeeded: word >> 8),
            UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 24),
        ]
    }

    /// One 64-byte block of MD4 (RFC 1320 section 3.4): three rounds of sixteen operations.
    private static func md4Block(
        _ state: (UInt32, UInt32, UInt32, UInt32), _ x: [UInt32]
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        var (a, b, c, d) = state

        // Round 1: F(x, y, z) = (x AND y) OR (NOT x AND z).
        func f(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (~x & z) }
        for k in stride(from: 0, to: 16, by: 4) {
            a = rotateLeft(a &+ f(b, c, d) &+ x[k], 3)
            d = rotateLeft(d &+ f(a, b, c) &+ x[k + 1], 7)
            c = rotateLeft(c &+ f(d, a, b) &+ x[k + 2], 11)
            b = rotateLeft(b &+ f(c, d, a) &+ x[k + 3], 19)
        }

        // Round 2: G(x, y, z) = majority, plus the constant sqrt(2) * 2^30.
        func g(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (x & z) | (y & z) }
        let round2: UInt32 = 0x5a82_7999
        for k in 0..<4 {
            a = rotateLeft(a &+ g(b, c, d) &+ x[k] &+ round2, 3)
            d = rotateLeft(d &+ g(a, b, c) &+ x[k + 4] &+ round2, 5)
            c = rotateLeft(c &+ g(d, a, b) &+ x[k + 8] &+ round2, 9)
            b = rotateLeft(b &+ g(c, d, a) &+ x[k + 12] &+ round2, 13)
        }

        // Round 3: H(x, y, z) = parity, plus the constant sqrt(3) * 2^30, words in bit-reversed order.
        func h(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { x ^ y ^ z }
        let round3: UInt32 = 0x6ed9_eba1
        for k in [0, 2, 1, 3] {
            a = rotateLeft(a &+ h(b, c, d) &+ x[k] &+ round3, 3)
            d = rotateLeft(d &+ h(a, b, c) &+ x[k + 8] &+ round3, 9)
            c = rotateLeft(c &+ h(d, a, b) &+ x[k + 4] &+ round3, 11)
            b = rotateLeft(b &+ h(c, d, a) &+ x[k + 12] &+ round3, 15)
        }

        return (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }

    private static func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value << count) | (value >> (32 - count))
    }
}
