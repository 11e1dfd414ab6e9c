import Testing

@testable import STUN

@Suite struct TURNRESTCredentialTests {
    /// The password coturn's use-auth-secret recomputes: base64(HMAC-SHA1(secret, "<expiry>:<user>")), checked
    /// against Python's hmac and base64 modules.
    @Test func matchesTheRESTConvention() {
        let made = TURNRESTCredential(secret: "north-wind", user: "radio", expiresAt: 1_765_000_000)
        #expect(made.username == "1765000000:radio")
        #expect(made.credential == "rw8dLVYQYB1ITyuDXhXpkxHkhNk=")
        #expect(TURNRESTCredential(secret: "other", user: "radio", expiresAt: 1_765_000_000).credential != made.credential)
        #expect(TURNRESTCredential(secret: "north-wind", user: "radio", expiresAt: 1_765_000_001).credential != made.credential)
    }
}
