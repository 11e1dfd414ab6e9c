import Testing

@testable import SRTP

@Suite struct SRTPProtectionProfileTests {
    @Test func identifiersAndLengths() {
        #expect(SRTPProtectionProfile(dtlsProfileID: 0x0001) == .aes128CmHmacSha1_80)
        #expect(SRTPProtectionProfile(dtlsProfileID: 0x0007) == .aeadAes128Gcm)
        #expect(SRTPProtectionProfile(dtlsProfileID: 0x0002) == nil)  // SHA1_32: not offered by browsers
        #expect(SRTPProtectionProfile(openSSLName: "SRTP_AES128_CM_SHA1_80") == .aes128CmHmacSha1_80)
        #expect(SRTPProtectionProfile(openSSLName: "SRTP_AEAD_AES_128_GCM") == .aeadAes128Gcm)
        #expect(SRTPProtectionProfile(openSSLName: "SRTP_AES128_CM_SHA1_32") == nil)
        for profile in SRTPProtectionProfile.allCases {
            #expect(SRTPProtectionProfile(dtlsProfileID: profile.dtlsProfileID) == profile)
            #expect(SRTPProtectionProfile(openSSLName: profile.openSSLName) == profile)
            #expect(profile.rtcpOverhead <= SRTPSession.maximumOverhead)
        }
        #expect(SRTPProtectionProfile.aes128CmHmacSha1_80.exportedKeyingMaterialLength == 60)
        #expect(SRTPProtectionProfile.aeadAes128Gcm.exportedKeyingMaterialLength == 56)
        #expect(SRTPKeyingMaterial.exporterLabel == "EXTRACTOR-dtls_srtp")
    }
}

@Suite struct SRTPKeyingMaterialTests {
    let exported60: [UInt8] = (0..<60).map { UInt8($0) }

    @Test func splitAsDTLSClient() throws {
        let keys = try SRTPKeyingMaterial(profile: .aes128CmHmacSha1_80, exported: exported60, isDTLSClient: true)
        // RFC 5764 §4.2: client key | server key | client salt | server salt.
        #expect(keys.localKey == Array(0..<16))
        #expect(keys.remoteKey == Array(16..<32))
        #expect(keys.localSalt == Array(32..<46))
        #expect(keys.remoteSalt == Array(46..<60))
    }

    @Test func splitAsDTLSServer() throws {
        let keys = try SRTPKeyingMaterial(profile: .aes128CmHmacSha1_80, exported: exported60, isDTLSClient: false)
        #expect(keys.localKey == Array(16..<32))
        #expect(keys.remoteKey == Array(0..<16))
        #expect(keys.localSalt == Array(46..<60))
        #expect(keys.remoteSalt == Array(32..<46))
        let client = try SRTPKeyingMaterial(profile: .aes128CmHmacSha1_80, exported: exported60, isDTLSClient: true)
        #expect(client.swapped == keys)
    }

    @Test func splitGCM() throws {
        let exported: [UInt8] = (0..<56).map { UInt8($0) }
        let keys = try SRTPKeyingMaterial(profile: .aeadAes128Gcm, exported: exported, isDTLSClient: true)
        #expect(keys.localKey == Array(0..<16))
        #expect(keys.remoteKey == Array(16..<32))
        #expect(keys.localSalt == Array(32..<44))
        #expect(keys.remoteSalt == Array(44..<56))
    }

    @Test func wrongLengthIsRejected() {
        #expect(throws: SRTPError.badLength) {
            try SRTPKeyingMaterial(profile: .aeadAes128Gcm, exported: exported60, isDTLSClient: true)
        }
        #expect(throws: SRTPError.badLength) {
            try SRTPKeyingMaterial(profile: .aes128CmHmacSha1_80, exported: [], isDTLSClient: false)
        }
    }

    @Test func sessionRejectsKeysOfTheWrongSize() {
        let gcmKeys = Fixture.keys(.aeadAes128Gcm)
        #expect(throws: SRTPError.badLength) { try SRTPSession(profile: .aes128CmHmacSha1_80, keys: gcmKeys) }
        #expect(throws: SRTPError.badInput) {
            try SRTPSession(profile: .aeadAes128Gcm, keys: gcmKeys, replayWindowSize: 32)
        }
    }
}
