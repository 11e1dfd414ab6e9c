@testable import SRTP

/// Builders shared by the SRTP tests.
enum Fixture {
    static func keys(_ profile: SRTPProtectionProfile, seed: UInt8 = 1) -> SRTPKeyingMaterial {
        SRTPKeyingMaterial(
            localKey: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: Int($0) &* 7 &+ Int(seed)) },
            localSalt: (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: Int($0) &* 13 &+ Int(seed)) },
            remoteKey: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: Int($0) &* 11 &+ Int(seed) &+ 100) },
            remoteSalt: (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: Int($0) &* 17 &+ Int(seed) &+ 50) })
    }

    /// Two sessions wired to each other: `a`'s outbound keys are `b`'s inbound keys and vice versa.
    static func pair(_ profile: SRTPProtectionProfile, seed: UInt8 = 1) throws -> (a: SRTPSession, b: SRTPSession) {
        let keys = keys(profile, seed: seed)
        return (try SRTPSession(profile: profile, keys: keys), try SRTPSession(profile: profile, keys: keys.swapped))
    }

    /// An RTP packet (RFC 3550 §5.1) with payload type 111.
    static func rtp(sequence: UInt16, ssrc: UInt32 = 0x1234_5678, timestamp: UInt32 = 960, payload: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [0x80, 111]
        packet.appendUInt16(sequence)
        packet.appendUInt32(timestamp)
        packet.appendUInt32(ssrc)
        return packet + payload
    }

    /// A 28-byte RTCP sender report (RFC 3550 §6.4.1) without report blocks.
    static func senderReport(ssrc: UInt32 = 0x1234_5678, packetCount: UInt32 = 42) -> [UInt8] {
        var packet: [UInt8] = [0x80, 200, 0, 6]
        packet.appendUInt32(ssrc)
        packet.appendUInt64(0xE8F0_1234_5678_9ABC)
        packet.appendUInt32(123_456)
        packet.appendUInt32(packetCount)
        packet.appendUInt32(packetCount * 160)
        return packet
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map { index in
            UInt8(nibble(digits[index]) << 4 | nibble(digits[index + 1]))
        }
    }

    private static func nibble(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: 0
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    fileprivate mutating func appendUInt32(_ value: UInt32) {
        appendUInt16(UInt16(value >> 16))
        appendUInt16(UInt16(truncatingIfNeeded: value))
    }

    fileprivate mutating func appendUInt64(_ value: UInt64) {
        appendUInt32(UInt32(value >> 32))
        appendUInt32(UInt32(truncatingIfNeeded: value))
    }
}
