import SkylarkBase
import Testing

@testable import SRTP

@Suite struct SRTPFuzzTests {
    /// 20,000 random and mutated inputs through all four operations: every one must come back as an error (a
    /// forged tag verifying is a 2^-80 event), and nothing may trap or write outside the packet.
    @Test(arguments: SRTPProtectionProfile.allCases)
    func garbageNeverCrashesOrPasses(profile: SRTPProtectionProfile) throws {
        var random = SplitMix64(seed: profile == .aeadAes128Gcm ? 7 : 11)
        let (a, b) = try Fixture.pair(profile)
        var validRTP: [[UInt8]] = []
        var validRTCP: [[UInt8]] = []
        for sequence in UInt16(0)..<64 {
            var rtp = Fixture.rtp(sequence: sequence, payload: (0..<Int(sequence) * 3).map { UInt8(truncatingIfNeeded: $0) })
            try a.protectRTP(&rtp)
            validRTP.append(rtp)
            var rtcp = Fixture.senderReport(packetCount: UInt32(sequence))
            try a.protectRTCP(&rtcp)
            validRTCP.append(rtcp)
        }

        var accepted = 0
        for round in 0..<20_000 {
            var input: [UInt8]
            switch round % 4 {
            case 0:  // random bytes, often with a plausible RTP/RTCP first byte
                input = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if !input.isEmpty, Bool.random(using: &random) { input[0] = 0x80 | (input[0] & 0x3F) }
            case 1:  // a valid SRTP packet with one to four bytes flipped
                input = validRTP[Int.random(in: 0..<validRTP.count, using: &random)]
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    input[Int.random(in: 0..<input.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                }
            case 2:  // a valid SRTCP packet flipped
                input = validRTCP[Int.random(in: 0..<validRTCP.count, using: &random)]
                input[Int.random(in: 0..<input.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            default:  // truncated or extended valid packets
                let source = Bool.random(using: &random)
                    ? validRTP[Int.random(in: 0..<validRTP.count, using: &random)]
                    : validRTCP[Int.random(in: 0..<validRTCP.count, using: &random)]
                let cut = Int.random(in: 0..<source.count, using: &random)
                input = Array(source[0..<cut])
                if Bool.random(using: &random) { input += (0..<Int.random(in: 1...8, using: &random)).map { _ in 0xEE } }
            }
            // Exact-size copies so any read or write past the packet would hit the allocation's end.
            var rtpCopy = input
            var rtcpCopy = input
            if (try? b.unprotectRTP(&rtpCopy)) != nil { accepted += 1 }
            if (try? b.unprotectRTCP(&rtcpCopy)) != nil { accepted += 1 }
            var outbound = input
            _ = try? a.protectRTP(&outbound)
            var outboundRTCP = input
            _ = try? a.protectRTCP(&outboundRTCP)
        }
        #expect(accepted == 0)
        #expect(b.counters.unprotectFailures == 40_000)

        // The sessions still work after the barrage.
        // A fresh SSRC: the garbage protected above may have advanced the test SSRC's outbound index.
        let plain = Fixture.rtp(sequence: 9000, ssrc: 0x0BAD_F00D, payload: [1, 2, 3])
        var packet = plain
        try a.protectRTP(&packet)
        try b.unprotectRTP(&packet)
        #expect(packet == plain)
    }
}
