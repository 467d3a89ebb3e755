import Testing

@testable import NTLM

@Suite("MD4 and NTLM hashes")
struct NTLMCryptoTests {
    /// The test suite of RFC 1320, appendix A.5.
    @Test(
        "MD4 RFC 1320 test vectors",
        arguments: [
            ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
            ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
            ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
            ("message digest", "d9130a8164549fe818874806e1c7014b"),
            ("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "e33b4ddc9c38f2199c3e7b164fcc0536"
            ),
        ])
    func md4Vectors(input: String, digest: String) {
        #expect(hexString(NTLMCrypto.md4(Array(input.utf8))) == digest)
    }

    /// Lengths around the 56- and 64-byte padding boundaries, where a padding bug would show. Expected digests
    /// were computed with an independent MD4 (OpenSSL 3's legacy provider: `openssl dgst -md4`).
    @Test(
        "MD4 across padding boundaries",
        arguments: [
            (55, "c889c81dd86c4d2e025778944ea02881"),
            (56, "d5f9a9e9257077a5f08b0b92f348b0ad"),
            (63, "7ea3da77432d44c323671097d1348fc8"),
            (64, "52f5076fabd22680234a3fa9f9dc5732"),
            (65, "330e377bf231f3cacfecc2c182fe7e5b"),
            (119, "e65dd227ccef97fa1d34d70189120f76"),
            (120, "b03ddbd470b47c013e0c7ab2ddd763db"),
            (1000, "5f1bf26a8067c9159b91f1440f7c9e8a"),
        ])
    func md4PaddingBoundaries(length: Int, digest: String) {
        #expect(hexString(NTLMCrypto.md4([UInt8](repeating: 0x61, count: length))) == digest)
    }

    @Test("NT hash of \"Password\" ([MS-NLMP] 4.2.2.1.2)")
    func ntHash() {
        #expect(hexString(NTLMCrypto.ntHash(password: "Password")) == "a4f49c406510bdcab6824ee7c30fd852")
    }

    @Test("NTOWFv2 of User/Domain/Password ([MS-NLMP] 4.2.4.1.1)")
    func ntowfv2() {
        let key = NTLMCrypto.ntowfv2(password: "Password", user: "User", domain: "Domain")
        #expect(hexString(key) == "0c868a403bfd7a93a3001ef22ef02e3f")
        // The user name is upper-cased, the domain is not.
        #expect(NTLMCrypto.ntowfv2(password: "Password", user: "uSeR", domain: "Domain") == key)
        #expect(NTLMCrypto.ntowfv2(password: "Password", user: "User", domain: "DOMAIN") != key)
    }

    @Test("RC4 recovers the spec's encrypted session key ([MS-NLMP] 4.2.4.2.3)")
    func rc4() {
        let sessionBaseKey = hex("8de40ccadbc14a82f15cb0ad0de95ca3")
        let randomSessionKey = [UInt8](repeating: 0x55, count: 16)
        let encrypted = NTLMCrypto.rc4(key: sessionBaseKey, data: randomSessionKey)
        #expect(hexString(encrypted) == "c5dad2544fc9799094ce1ce90bc9d03e")
        #expect(NTLMCrypto.rc4(key: sessionBaseKey, data: encrypted) == randomSessionKey)
    }

    @Test("Windows-style upper case keeps one-to-many mappings unchanged")
    func uppercase() {
        #expect(NTLMCrypto.windowsUppercase("svc-müller") == "SVC-MÜLLER")
        #expect(NTLMCrypto.windowsUppercase("straße") == "STRAßE")
    }
}
