import Testing

@testable import SRTP

/// Published test vectors, fed to the internal pieces they describe (the RFCs give session keys, which the
/// public API never takes).
@Suite struct SRTPVectorTests {
    /// RFC 3711 Appendix B.3: session keys from the master key and salt, key_derivation_rate 0.
    @Test func keyDerivationRFC3711AppendixB3() throws {
        let masterKey = Fixture.bytes(hex: "E1F97A0D3E018BE0D64FA32C06DE4139")
        let masterSalt = Fixture.bytes(hex: "0EC675AD498AFEEBB6960B3AABE6")
        #expect(
            try SRTPKeyDerivation.derive(masterKey: masterKey, masterSalt: masterSalt, label: 0x00, length: 16)
                == Fixture.bytes(hex: "C61E7A93744F39EE10734AFE3FF7A087"))
        #expect(
            try SRTPKeyDerivation.derive(masterKey: masterKey, masterSalt: masterSalt, label: 0x01, length: 20)
                == Fixture.bytes(hex: "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
        #expect(
            try SRTPKeyDerivation.derive(masterKey: masterKey, masterSalt: masterSalt, label: 0x02, length: 14)
                == Fixture.bytes(hex: "30CBBC08863D8C85D49DB34A9AE1"))

        let keys = try SRTPSessionKeys(profile: .aes128CmHmacSha1_80, masterKey: masterKey, masterSalt: masterSalt)
        #expect(keys.rtpKey == Fixture.bytes(hex: "C61E7A93744F39EE10734AFE3FF7A087"))
        #expect(keys.rtpAuthenticationKey == Fixture.bytes(hex: "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
        #expect(keys.rtpSalt == Fixture.bytes(hex: "30CBBC08863D8C85D49DB34A9AE1"))
        // SRTCP labels give different keys.
        #expect(keys.rtcpKey != keys.rtpKey && keys.rtcpSalt != keys.rtpSalt)
        #expect(keys.rtcpAuthenticationKey.count == 20 && keys.rtcpAuthenticationKey != keys.rtpAuthenticationKey)

        let gcm = try SRTPSessionKeys(
            profile: .aeadAes128Gcm, masterKey: masterKey, masterSalt: Array(masterSalt[0..<12]))
        #expect(gcm.rtpKey.count == 16 && gcm.rtpSalt.count == 12 && gcm.rtpAuthenticationKey.isEmpty)
    }

    /// RFC 3711 Appendix B.2: AES-CM keystream for SSRC 0 and index 0, read off as the ciphertext of zeros.
    @Test func counterModeKeystreamRFC3711AppendixB2() throws {
        let transform = try SRTPTransform(
            profile: .aes128CmHmacSha1_80, direction: .protect,
            key: Fixture.bytes(hex: "2B7E151628AED2A6ABF7158809CF4F3C"),
            salt: Fixture.bytes(hex: "F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
            authenticationKey: Array(repeating: 0, count: 20))
        var packet = Fixture.rtp(sequence: 0, ssrc: 0, payload: Array(repeating: 0, count: 48))
        packet += Array(repeating: 0, count: 10)
        let length = try packet.withUnsafeMutableBytes { buffer throws(SRTPError) in
            try transform.protectRTP(buffer.baseAddress!, headerLength: 12, length: 60, ssrc: 0, index: 0)
        }
        #expect(length == 70)
        #expect(
            Array(packet[12..<60])
                == Fixture.bytes(
                    hex: "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0"))
    }

    static let gcmKey = Fixture.bytes(hex: "000102030405060708090a0b0c0d0e0f")
    static let gcmSalt = Fixture.bytes(hex: "517569642070726f2071756f")  // "Quid pro quo"

    /// RFC 7714 §16.1: AEAD_AES_128_GCM SRTP, SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b.
    @Test func gcmRTPRFC7714Section16() throws {
        let plain = Fixture.bytes(
            hex: "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573")
        let expected = Fixture.bytes(
            hex: "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833"
                + "899d7f27beb16a9152cf765ee4390cce")
        let sealer = try SRTPTransform(
            profile: .aeadAes128Gcm, direction: .protect, key: Self.gcmKey, salt: Self.gcmSalt, authenticationKey: [])
        var packet = plain + Array(repeating: 0, count: 16)
        let length = try packet.withUnsafeMutableBytes { buffer throws(SRTPError) in
            try sealer.protectRTP(
                buffer.baseAddress!, headerLength: 12, length: plain.count, ssrc: 0x5501_A0B2, index: 0xF17B)
        }
        #expect(length == expected.count)
        #expect(packet == expected)

        let opener = try SRTPTransform(
            profile: .aeadAes128Gcm, direction: .unprotect, key: Self.gcmKey, salt: Self.gcmSalt,
            authenticationKey: [])
        let plainLength = try packet.withUnsafeMutableBytes { buffer throws(SRTPError) in
            try opener.unprotectRTP(
                buffer.baseAddress!, headerLength: 12, length: expected.count, ssrc: 0x5501_A0B2, index: 0xF17B)
        }
        #expect(Array(packet[0..<plainLength]) == plain)
    }

    /// RFC 7714 §17.1: AEAD_AES_128_GCM SRTCP, SSRC "Mars", SRTCP index 0x5d4, E = 1.
    @Test func gcmRTCPRFC7714Section17() throws {
        let plain = Fixture.bytes(
            hex: "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61"
                + "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef")
        let expected = Fixture.bytes(
            hex: "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda"
                + "4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4")
        let sealer = try SRTPTransform(
            profile: .aeadAes128Gcm, direction: .protect, key: Self.gcmKey, salt: Self.gcmSalt, authenticationKey: [])
        var packet = plain + Array(repeating: 0, count: 20)
        let length = try packet.withUnsafeMutableBytes { buffer throws(SRTPError) in
            try sealer.protectRTCP(buffer.baseAddress!, length: plain.count, ssrc: 0x4D61_7273, index: 0x5D4)
        }
        #expect(length == expected.count)
        #expect(packet == expected)

        let opener = try SRTPTransform(
            profile: .aeadAes128Gcm, direction: .unprotect, key: Self.gcmKey, salt: Self.gcmSalt,
            authenticationKey: [])
        let word = packet.withUnsafeBytes { opener.rtcpIndexWord($0.baseAddress!, length: expected.count) }
        #expect(word == 0x8000_05D4)
        let plainLength = try packet.withUnsafeMutableBytes { buffer throws(SRTPError) in
            try opener.unprotectRTCP(buffer.baseAddress!, length: expected.count, ssrc: 0x4D61_7273, index: 0x5D4)
        }
        #expect(Array(packet[0..<plainLength]) == plain)
    }
}

@Suite struct SRTPReplayWindowTests {
    @Test func slidesAndRemembers() {
        var window = SRTPReplayWindow(size: 100)
        #expect(throws: Never.self) { try window.check(5) }
        window.accept(5)
        #expect(throws: SRTPReplayWindow.Refusal.replayed) { try window.check(5) }
        #expect(throws: Never.self) { try window.check(4) }
        window.accept(200)
        #expect(throws: SRTPReplayWindow.Refusal.tooOld) { try window.check(100) }  // 200 - 100 = window size
        #expect(throws: Never.self) { try window.check(101) }
        window.accept(101)
        #expect(throws: SRTPReplayWindow.Refusal.replayed) { try window.check(101) }
        // Jumping far ahead forgets everything; the old ring positions do not alias new indices.
        window.accept(101 + 128 * 10)
        #expect(throws: Never.self) { try window.check(101 + 128 * 10 - 1) }
        #expect(throws: SRTPReplayWindow.Refusal.replayed) { try window.check(101 + 128 * 10) }
        // Every index of a long run is seen exactly once, with the ring wrapping many times.
        var run = SRTPReplayWindow(size: 64)
        for index in UInt64(0)..<1000 {
            #expect(throws: Never.self) { try run.check(index) }
            run.accept(index)
            #expect(throws: SRTPReplayWindow.Refusal.replayed) { try run.check(index) }
            if index >= 64 { #expect(throws: SRTPReplayWindow.Refusal.tooOld) { try run.check(index - 64) } }
        }
    }

    /// RFC 3711 Appendix A: the guessed ROC is the one putting the packet nearest the highest index.
    @Test func indexEstimation() {
        #expect(SRTPPacketIndex.estimate(sequence: 7, highest: 0) == 7)
        #expect(SRTPPacketIndex.estimate(sequence: 60000, highest: 10) == 60000)  // no ROC -1 at the start
        #expect(SRTPPacketIndex.estimate(sequence: 2, highest: 65530) == 65538)  // wrap: ROC + 1
        #expect(SRTPPacketIndex.estimate(sequence: 65530, highest: 65538) == 65530)  // late packet: ROC - 1
        #expect(SRTPPacketIndex.estimate(sequence: 100, highest: 3 << 16 | 90) == 3 << 16 | 100)
        #expect(SRTPPacketIndex.estimate(sequence: 40000, highest: 3 << 16 | 90) == 2 << 16 | 40000)
    }
}
