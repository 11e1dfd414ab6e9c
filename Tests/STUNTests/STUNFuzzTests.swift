import SkylarkBase
import Testing

@testable import STUN

@Suite struct STUNFuzzTests {
    @Test func truncatedMessagesThrow() {
        let bytes = Vectors.request
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            #expect(throws: STUNError.self) { try STUNMessage(parsing: prefix) }
            #expect(!STUNMessage.isSTUN(prefix))
            #expect(!STUNMessage.verifyIntegrity(prefix, key: Vectors.password))
            #expect(!STUNMessage.verifyFingerprint(prefix))
        }
    }

    @Test func garbageThrowsTypedErrors() {
        #expect(throws: STUNError.tooShort) { try STUNMessage(parsing: [0, 1, 0]) }
        var notSTUN = Vectors.request
        notSTUN[0] = 0x80
        #expect(throws: STUNError.notSTUN) { try STUNMessage(parsing: notSTUN) }
        var badCookie = Vectors.request
        badCookie[4] = 0
        #expect(throws: STUNError.badMagicCookie) { try STUNMessage(parsing: badCookie) }
        #expect(throws: STUNError.badLength) { try STUNMessage(parsing: Vectors.request + [0, 0, 0, 0]) }
        // An attribute whose length runs past the end.
        var overlong = Vectors.request
        overlong[22] = 0x7F
        #expect(throws: STUNError.truncatedAttribute(type: 0x8022)) { try STUNMessage(parsing: overlong) }
    }

    @Test func randomAndMutatedBuffersNeverTrap() {
        var random = SplitMix64(seed: 0x5354_554E)
        let seeds = [Vectors.request, Vectors.ipv4Response, Vectors.ipv6Response]
        var parsedCount = 0
        for round in 0..<5000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int.random(in: 0..<120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if bytes.count >= 20, round % 2 == 0 {
                    // Give random bodies a valid header so attribute parsing is exercised.
                    bytes[0] = 0; bytes[1] = 1
                    bytes[4] = 0x21; bytes[5] = 0x12; bytes[6] = 0xA4; bytes[7] = 0x42
                    bytes.removeLast(bytes.count % 4)
                    let length = bytes.count - 20
                    bytes[2] = UInt8(length >> 8); bytes[3] = UInt8(length & 0xFF)
                }
            } else {
                bytes = seeds[round % seeds.count]
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let index = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
                if round % 7 == 0 { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            }
            if let message = try? STUNMessage(parsing: bytes) {
                parsedCount += 1
                _ = message.username; _ = message.xorMappedAddress; _ = message.mappedAddress
                _ = message.errorCode; _ = message.priority; _ = message.iceControlled; _ = message.fingerprint
                _ = message.serialize(integrityKey: [1], addFingerprint: true)
            }
            _ = STUNMessage.isSTUN(bytes)
            _ = STUNMessage.verifyIntegrity(bytes, key: Vectors.password)
            _ = STUNMessage.verifyFingerprint(bytes)
        }
        #expect(parsedCount > 100)
    }
}
