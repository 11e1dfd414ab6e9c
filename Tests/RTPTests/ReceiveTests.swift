import SkylarkBase
import Testing

@testable import RTP

@Suite struct SequenceNumberUnwrapperTests {
    @Test func unwrapsAcrossRollover() {
        var unwrapper = SequenceNumberUnwrapper()
        #expect(unwrapper.unwrap(65533) == 65533)
        #expect(unwrapper.unwrap(65535) == 65535)
        #expect(unwrapper.unwrap(0) == 65536)
        #expect(unwrapper.unwrap(65534) == 65534)  // reordered from before the wrap
        #expect(unwrapper.unwrap(1) == 65537)
        var seq: UInt16 = 1
        var expected: Int64 = 65537
        for _ in 0..<200_000 {
            seq &+= 7
            expected += 7
            #expect(unwrapper.unwrap(seq) == expected)
        }
        #expect(expected > 3 * 65536)
    }

    @Test func earlierThanFirstGoesNegative() {
        var unwrapper = SequenceNumberUnwrapper()
        #expect(unwrapper.unwrap(2) == 2)
        #expect(unwrapper.unwrap(65535) == -1)
    }
}

@Suite struct RTPReceiveStatisticsTests {
    /// 8 kHz, 20 ms packets.
    static func arrival(_ index: Int, offsetMilliseconds: Int = 0) -> Instant {
        Instant(nanoseconds: 1_000_000_000 + UInt64(index * 20 + offsetMilliseconds) * 1_000_000)
    }

    @Test func lossAcrossWrapWithReorder() {
        var stats = RTPReceiveStatistics(clockRate: 8000)
        let first: UInt16 = 65500
        var order = Array(0..<100).filter { ![10, 20, 21].contains($0) }
        order.swapAt(48, 49)  // reorder two packets
        for i in order {
            stats.record(sequenceNumber: first &+ UInt16(i), rtpTimestamp: UInt32(i * 160), arrival: Self.arrival(i))
        }
        #expect(stats.packetsReceived == 97)
        #expect(stats.highestSequence == 65599)
        #expect(stats.cumulativeLost == 3)
        #expect(stats.jitter == 0)  // arrivals exactly on the media clock

        let block = stats.makeReportBlock(ssrc: 77, lastSenderReport: 0x1234_5678, delaySinceLastSenderReport: 99)
        #expect(block.ssrc == 77)
        #expect(block.fractionLost == 7)  // 3 * 256 / 100
        #expect(block.cumulativeLost == 3)
        #expect(block.highestSequence == 0x1_0000 | 63)  // one cycle, seq 63
        #expect(block.lastSenderReport == 0x1234_5678 && block.delaySinceLastSenderReport == 99)

        // A late packet fills a hole; the next interval has no new loss.
        stats.record(sequenceNumber: first &+ 10, rtpTimestamp: 1600, arrival: Self.arrival(101))
        for i in 100..<150 {
            stats.record(sequenceNumber: first &+ UInt16(i), rtpTimestamp: UInt32(i * 160), arrival: Self.arrival(i))
        }
        let second = stats.makeReportBlock(ssrc: 77, lastSenderReport: 0, delaySinceLastSenderReport: 0)
        #expect(second.fractionLost == 0)
        #expect(second.cumulativeLost == 2)
        #expect(stats.cumulativeLost == 2)
    }

    @Test func jitterConvergesOnAlternatingDelay() {
        var stats = RTPReceiveStatistics(clockRate: 8000)
        for i in 0..<300 {
            // Every other packet 5 ms late: |D| is 40 timestamp units each time.
            stats.record(sequenceNumber: UInt16(i), rtpTimestamp: UInt32(i * 160) &+ 0xFFFF_0000,
                         arrival: Self.arrival(i, offsetMilliseconds: i % 2 == 0 ? 0 : 5))
        }
        #expect(stats.jitter == 39 || stats.jitter == 40)
        #expect(abs(stats.jitterSeconds - 0.005) < 0.0002)
        #expect(stats.cumulativeLost == 0)
    }

    @Test func duplicatesMakeLossNegativeAndBigJumpRestarts() {
        var stats = RTPReceiveStatistics(clockRate: 90000)
        for i in 0..<10 { stats.record(sequenceNumber: UInt16(i), rtpTimestamp: 0, arrival: .zero) }
        stats.record(sequenceNumber: 9, rtpTimestamp: 0, arrival: .zero)
        #expect(stats.cumulativeLost == -1)
        // One stray jump is ignored; a second packet in sequence after it confirms a restart (RFC 3550 §A.1).
        stats.record(sequenceNumber: 20_000, rtpTimestamp: 0, arrival: .zero)
        #expect(stats.packetsReceived == 11 && stats.highestSequence == 9)
        stats.record(sequenceNumber: 30_000, rtpTimestamp: 0, arrival: .zero)
        stats.record(sequenceNumber: 30_001, rtpTimestamp: 0, arrival: .zero)
        #expect(stats.packetsReceived == 1)
        #expect(stats.highestSequence == 30_001 && stats.baseSequence == 30_001)
        #expect(stats.cumulativeLost == 0)
    }
}

@Suite struct NACKGeneratorTests {
    static func ms(_ value: Int) -> Instant { Instant(nanoseconds: UInt64(value) * 1_000_000) }

    @Test func requestsGapsAgainEachRTT() {
        var nack = NACKGenerator()
        for seq: UInt16 in [0, 1, 2, 5] { nack.record(seq, now: Self.ms(0)) }
        #expect(nack.missingSequenceNumbers == [3, 4])
        #expect(nack.pendingNACKs(now: Self.ms(0), rtt: .milliseconds(100)) == [3, 4])
        #expect(nack.pendingNACKs(now: Self.ms(50), rtt: .milliseconds(100)) == [])
        nack.record(3, now: Self.ms(60))  // retransmission arrives
        nack.record(9, now: Self.ms(60))  // new gap 6, 7, 8
        #expect(nack.pendingNACKs(now: Self.ms(70), rtt: .milliseconds(100)) == [6, 7, 8])
        #expect(nack.pendingNACKs(now: Self.ms(100), rtt: .milliseconds(100)) == [4])
        nack.record(7, now: Self.ms(110))
        #expect(nack.pendingNACKs(now: Self.ms(170), rtt: .milliseconds(100)) == [6, 8])
        #expect(nack.missingCount == 3)
    }

    @Test func retryLimitAndMaxAge() {
        var nack = NACKGenerator(maxRetries: 3, maxAge: .milliseconds(500))
        nack.record(10, now: Self.ms(0))
        nack.record(12, now: Self.ms(0))
        var requests = 0
        for t in stride(from: 0, to: 400, by: 10) {
            requests += nack.pendingNACKs(now: Self.ms(t), rtt: .milliseconds(10)).count
        }
        #expect(requests == 3)
        #expect(nack.missingCount == 0)

        nack.record(20, now: Self.ms(1000))
        #expect(nack.pendingNACKs(now: Self.ms(1000), rtt: .seconds(10)).count == 7)  // 13 ... 19
        #expect(nack.pendingNACKs(now: Self.ms(1501), rtt: .milliseconds(1)) == [])  // too old
        #expect(nack.missingCount == 0)
    }

    @Test func wrapAndLargeGap() {
        var nack = NACKGenerator(maxMissing: 50)
        nack.record(65534, now: .zero)
        nack.record(1, now: .zero)
        #expect(nack.pendingNACKs(now: .zero, rtt: .milliseconds(10)) == [65535, 0])
        nack.record(1001, now: .zero)  // 999 missing: only the newest 50 are kept
        let pending = nack.pendingNACKs(now: Self.ms(20), rtt: .milliseconds(10))
        #expect(pending.count == 50)
        #expect(pending.first == 951 && pending.last == 1000)
        // Duplicates and old packets change nothing.
        nack.record(1001, now: .zero)
        nack.record(5, now: .zero)
        #expect(nack.missingCount == 50)
    }
}
