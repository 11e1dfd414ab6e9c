import SkylarkBase
import Testing

@Suite struct Base64Tests {
    @Test func urlRoundTripsUnpaddedAndRejectsJunk() {
        var random = SplitMix64(seed: 42)
        for count in 0..<70 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            let text = Base64.url.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64.url.decode(text) == bytes)
        }
        #expect(Base64.url.encode(Array("f".utf8)) == "Zg")         // RFC 4648 §10 vectors, unpadded
        #expect(Base64.url.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.url.encode([0xFB, 0xFF]) == "-_8")
        for junk in ["A", "Zg==", "Zh", "a b", "+/", "Zm9vY"] {
            #expect(Base64.url.decode(junk) == nil, "\(junk)")
        }
    }

    @Test func standardIsPaddedAndRoundTrips() {
        // RFC 4648 §10.
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.standard.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.standard.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.standard.encode([0xFB, 0xFF]) == "+/8=")
        var random = SplitMix64(seed: 7)
        for count in 0..<70 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(Base64.standard.decode(Base64.standard.encode(bytes)) == bytes)
        }
        for junk in ["Zg", "Zg=", "Zg===", "Zm8==", "Z===", "-_8=", "Zm9v\n"] {
            #expect(Base64.standard.decode(junk) == nil, "\(junk)")
        }
    }
}
