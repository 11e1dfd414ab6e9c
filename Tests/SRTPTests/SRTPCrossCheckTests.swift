import SkylarkBase
import SRTPReference
import Testing

@testable import SRTP

/// Random traffic through both implementations: every packet one protects, the other must unprotect, and
/// both must produce the same bytes (SRTP is deterministic given keys, SSRC and index).
@Suite struct SRTPCrossCheckTests {
    /// A random RTP packet: 0-3 CSRCs, sometimes a one-byte-header extension, 0-1200 bytes of payload.
    static func randomRTP(ssrc: UInt32, sequence: UInt16, using random: inout SplitMix64) -> [UInt8] {
        let csrcCount = Int.random(in: 0...3, using: &random) == 0 ? Int.random(in: 1...3, using: &random) : 0
        let hasExtension = Bool.random(using: &random)
        var packet: [UInt8] = [
            0x80 | (hasExtension ? 0x10 : 0) | UInt8(csrcCount),
            UInt8.random(in: 0...1, using: &random) << 7 | 111,
        ]
        packet += bigEndian(UInt32(sequence), bytes: 2)
        packet += bigEndian(UInt32.random(in: 0...UInt32.max, using: &random), bytes: 4)
        packet += bigEndian(ssrc, bytes: 4)
        for _ in 0..<csrcCount { packet += bigEndian(UInt32.random(in: 0...UInt32.max, using: &random), bytes: 4) }
        if hasExtension {
            let words = Int.random(in: 0...4, using: &random)
            packet += [0xBE, 0xDE, 0, UInt8(words)]
            packet += randomBytes(4 * words, using: &random)
        }
        return packet + randomBytes(Int.random(in: 0...1200, using: &random), using: &random)
    }

    /// A random RTCP packet with a consistent length field: sender SSRC then 0-60 words.
    static func randomRTCP(ssrc: UInt32, using random: inout SplitMix64) -> [UInt8] {
        let words = Int.random(in: 0...60, using: &random)
        var packet: [UInt8] = [0x80 | UInt8.random(in: 0...31, using: &random), UInt8.random(in: 200...206, using: &random)]
        packet += bigEndian(UInt32(words + 1), bytes: 2)
        packet += bigEndian(ssrc, bytes: 4)
        return packet + randomBytes(4 * words, using: &random)
    }

    static func randomBytes(_ count: Int, using random: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    static func bigEndian(_ value: UInt32, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// 1000 RTP packets on 8 random SSRCs whose sequence numbers start just before 65535 and wrap, with
    /// occasional loss; delivered with occasional neighbours swapped.
    @Test(arguments: SRTPProtectionProfile.allCases)
    func rtpAgreesWithLibSRTP(profile: SRTPProtectionProfile) throws {
        var random = SplitMix64(seed: profile == .aeadAes128Gcm ? 101 : 202)
        let keys = Fixture.keys(profile, seed: 42)
        let ours = try SRTPSession(profile: profile, keys: keys)
        let theirs = try LibSRTPSession(profile: profile, keys: keys)
        let ourReceiver = try SRTPSession(profile: profile, keys: keys.swapped)
        let theirReceiver = try LibSRTPSession(profile: profile, keys: keys.swapped)

        let ssrcs = (0..<8).map { _ in UInt32.random(in: 1...UInt32.max, using: &random) }
        var sequences = ssrcs.map { _ in UInt16(65536 - Int.random(in: 20...120, using: &random)) }
        var plains: [[UInt8]] = []
        var protected: [[UInt8]] = []
        for _ in 0..<1000 {
            let stream = Int.random(in: 0..<ssrcs.count, using: &random)
            let plain = Self.randomRTP(ssrc: ssrcs[stream], sequence: sequences[stream], using: &random)
            sequences[stream] &+= Int.random(in: 0..<10, using: &random) == 0 ? UInt16.random(in: 2...5, using: &random) : 1
            var mine = plain
            try ours.protectRTP(&mine)
            var reference = plain
            try theirs.protectRTP(&reference)
            #expect(mine == reference)
            plains.append(plain)
            protected.append(mine)
        }
        #expect(sequences.contains { $0 < 1000 })  // the test really crossed a wrap

        var order = Array(plains.indices)
        for index in stride(from: 0, to: order.count - 1, by: 1) where Int.random(in: 0..<8, using: &random) == 0 {
            order.swapAt(index, index + 1)
        }
        for index in order {
            var viaOurs = protected[index]
            try ourReceiver.unprotectRTP(&viaOurs)
            #expect(viaOurs == plains[index])
            var viaTheirs = protected[index]
            try theirReceiver.unprotectRTP(&viaTheirs)
            #expect(viaTheirs == plains[index])
        }
        #expect(ourReceiver.counters.rtpUnprotected == 1000)

        // Replays are refused, with the same verdict as libsrtp (same 1024-packet window).
        for _ in 0..<100 {
            let index = Int.random(in: 0..<protected.count, using: &random)
            var mine = protected[index]
            var reference = protected[index]
            let ourError = #expect(throws: SRTPError.self) { try ourReceiver.unprotectRTP(&mine) }
            let theirError = #expect(throws: SRTPError.self) { try theirReceiver.unprotectRTP(&reference) }
            #expect(ourError == .replayed || ourError == .tooOld)
            #expect(ourError == theirError)
        }

        // Tampering: a flipped bit after the header fails authentication; anywhere it is refused somehow.
        for round in 0..<200 {
            let stream = round % ssrcs.count
            let plain = Self.randomRTP(ssrc: ssrcs[stream], sequence: sequences[stream], using: &random)
            sequences[stream] &+= 1
            var packet = plain
            try theirs.protectRTP(&packet)
            var tampered = packet
            let headerLength = plain.withUnsafeBytes { SRTPSession.rtpHeaderLength($0) } ?? 12
            let position = round % 4 == 0
                ? Int.random(in: 0..<packet.count, using: &random)
                : Int.random(in: headerLength..<packet.count, using: &random)
            tampered[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
            let error = #expect(throws: SRTPError.self) { try ourReceiver.unprotectRTP(&tampered) }
            if position >= headerLength { #expect(error == .authenticationFailed) }
            try ourReceiver.unprotectRTP(&packet)
            #expect(packet == plain)
        }
    }

    /// 1000 compound-ish RTCP packets on 8 SSRCs, both ways, plus replays and tampering.
    @Test(arguments: SRTPProtectionProfile.allCases)
    func rtcpAgreesWithLibSRTP(profile: SRTPProtectionProfile) throws {
        var random = SplitMix64(seed: profile == .aeadAes128Gcm ? 303 : 404)
        let keys = Fixture.keys(profile, seed: 43)
        let ours = try SRTPSession(profile: profile, keys: keys)
        let theirs = try LibSRTPSession(profile: profile, keys: keys)
        let ourReceiver = try SRTPSession(profile: profile, keys: keys.swapped)
        let theirReceiver = try LibSRTPSession(profile: profile, keys: keys.swapped)

        let ssrcs = (0..<8).map { _ in UInt32.random(in: 1...UInt32.max, using: &random) }
        var plains: [[UInt8]] = []
        var protected: [[UInt8]] = []
        for _ in 0..<1000 {
            let plain = Self.randomRTCP(ssrc: ssrcs[Int.random(in: 0..<ssrcs.count, using: &random)], using: &random)
            var mine = plain
            try ours.protectRTCP(&mine)
            var reference = plain
            try theirs.protectRTCP(&reference)
            #expect(mine == reference)
            plains.append(plain)
            protected.append(mine)
        }
        for index in protected.indices {
            var viaOurs = protected[index]
            try ourReceiver.unprotectRTCP(&viaOurs)
            #expect(viaOurs == plains[index])
            var viaTheirs = protected[index]
            try theirReceiver.unprotectRTCP(&viaTheirs)
            #expect(viaTheirs == plains[index])
        }
        #expect(ourReceiver.counters.rtcpUnprotected == 1000)

        for _ in 0..<100 {
            var replay = protected[Int.random(in: 0..<protected.count, using: &random)]
            let error = #expect(throws: SRTPError.self) { try ourReceiver.unprotectRTCP(&replay) }
            #expect(error == .replayed || error == .tooOld)
        }

        for round in 0..<200 {
            let plain = Self.randomRTCP(ssrc: ssrcs[round % ssrcs.count], using: &random)
            var packet = plain
            try theirs.protectRTCP(&packet)
            var tampered = packet
            // Past the first 8 bytes: payload, index word or tag. A flipped E flag is refused as unencrypted.
            let position = Int.random(in: 8..<packet.count, using: &random)
            tampered[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
            let error = #expect(throws: SRTPError.self) { try ourReceiver.unprotectRTCP(&tampered) }
            #expect(error == .authenticationFailed || error == .badInput || error == .tooOld || error == .replayed)
            try ourReceiver.unprotectRTCP(&packet)
            #expect(packet == plain)
        }
    }
}
