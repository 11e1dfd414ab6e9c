import SkylarkBase
import Testing

@testable import SFU

/// Feeds `OutgoingStream` the way the relay does (map, then count the packet).
struct Relay {
    var stream: OutgoingStream = {
        var random = SplitMix64(seed: 0x5EED)
        return OutgoingStream(ssrc: 0x1234_5678, payloadType: 111, clockRate: 48_000, using: &random)
    }()
    var clock = Instant(nanoseconds: 1_000_000_000)

    mutating func send(ssrc: UInt32, sequence: UInt16, timestamp: UInt32) -> (sequence: UInt16, timestamp: UInt32) {
        let mapped = stream.map(sourceSSRC: ssrc, sequence: sequence, timestamp: timestamp, now: clock)
        stream.packetsSent &+= 1
        return mapped
    }

    /// 20 ms Opus packets from `ssrc`, one every 20 ms of clock.
    mutating func sendRun(ssrc: UInt32, firstSequence: UInt16, firstTimestamp: UInt32, count: Int) -> [(sequence: UInt16, timestamp: UInt32)] {
        (0..<count).map { index in
            if index > 0 { clock += .milliseconds(20) }
            return send(ssrc: ssrc, sequence: firstSequence &+ UInt16(index), timestamp: firstTimestamp &+ UInt32(index) * 960)
        }
    }
}

func expectContinuous(_ packets: [(sequence: UInt16, timestamp: UInt32)], step: UInt32 = 960,
                      sourceLocation: SourceLocation = #_sourceLocation) {
    for (previous, next) in zip(packets, packets.dropFirst()) {
        #expect(next.sequence == previous.sequence &+ 1, sourceLocation: sourceLocation)
        #expect(next.timestamp &- previous.timestamp == step, sourceLocation: sourceLocation)
    }
}

@Suite struct OutgoingStreamTests {
    @Test func oneSourceKeepsItsSpacing() {
        var relay = Relay()
        let out = relay.sendRun(ssrc: 1, firstSequence: 40_000, firstTimestamp: 7_777, count: 50)
        expectContinuous(out)
    }

    /// RFC 3550 §8.2 / §5.1: a new publisher (new SSRC, unrelated sequence and timestamp) continues the viewer's
    /// sequence by one and its timestamp by the wall-clock time that passed.
    @Test(arguments: [(UInt16(3), UInt32(5)), (UInt16(65_530), UInt32.max - 100), (UInt16(30_000), UInt32(1) << 31)])
    func publisherChangeContinues(_ second: (UInt16, UInt32)) {
        var relay = Relay()
        let first = relay.sendRun(ssrc: 0xAAAA, firstSequence: 1_000, firstTimestamp: 90_000, count: 50)
        relay.clock += .milliseconds(20)
        let next = relay.sendRun(ssrc: 0xBBBB, firstSequence: second.0, firstTimestamp: second.1, count: 50)
        expectContinuous(first + next)
        #expect(relay.stream.sourceSSRC == 0xBBBB)
        // A NACK for the new publisher's packets finds the publisher's own numbers; one for the old publisher's,
        // or for a number not sent yet, finds nothing (the new publisher's history cannot answer it).
        #expect(relay.stream.sourceSequence(forViewerSequence: next[3].sequence) == second.0 &+ 3)
        #expect(relay.stream.sourceSequence(forViewerSequence: first[49].sequence) == nil)
        #expect(relay.stream.sourceSequence(forViewerSequence: next[49].sequence &+ 1) == nil)
    }

    /// A gap between publishers is kept as time in the timestamp (a receiver's jitter buffer sees silence, not a jump back).
    @Test func gapBetweenPublishersAdvancesTheTimestamp() {
        var relay = Relay()
        let first = relay.sendRun(ssrc: 1, firstSequence: 10, firstTimestamp: 0, count: 10)
        relay.clock += .milliseconds(1_500)
        let next = relay.send(ssrc: 2, sequence: 9_999, timestamp: 123_456)
        #expect(next.sequence == first[9].sequence &+ 1)
        #expect(next.timestamp &- first[9].timestamp == 72_000)  // 1.5 s at 48 kHz
    }

    /// A late packet keeps its place (its own mapped number) but the next publisher continues from the newest.
    @Test func reorderedPacketsDoNotRewind() {
        var relay = Relay()
        let a = relay.send(ssrc: 1, sequence: 100, timestamp: 0)
        relay.clock += .milliseconds(40)
        let c = relay.send(ssrc: 1, sequence: 102, timestamp: 1_920)
        relay.clock += .milliseconds(1)
        let b = relay.send(ssrc: 1, sequence: 101, timestamp: 960)  // late
        #expect(b.sequence == a.sequence &+ 1 && c.sequence == a.sequence &+ 2)
        #expect(b.timestamp == a.timestamp &+ 960 && c.timestamp == a.timestamp &+ 1_920)
        #expect(relay.stream.lastSequence == c.sequence && relay.stream.lastTimestamp == c.timestamp)
        relay.clock += .milliseconds(19)
        let d = relay.send(ssrc: 2, sequence: 5, timestamp: 5)
        #expect(d.sequence == c.sequence &+ 1, "continued from \(d.sequence), the newest was \(c.sequence)")
        #expect(d.timestamp &- c.timestamp == 960)
    }

    /// The same across the 16-bit wrap: 65535 → 0 is forward, so a late 65534 after 0 is not.
    @Test func reorderingAcrossTheSequenceWrap() {
        var relay = Relay()
        _ = relay.send(ssrc: 1, sequence: 65_533, timestamp: 0)
        relay.clock += .milliseconds(20)
        _ = relay.send(ssrc: 1, sequence: 65_535, timestamp: 1_920)
        relay.clock += .milliseconds(20)
        let newest = relay.send(ssrc: 1, sequence: 0, timestamp: 2_880)
        _ = relay.send(ssrc: 1, sequence: 65_534, timestamp: 960)  // late
        #expect(relay.stream.lastSequence == newest.sequence)
        relay.clock += .milliseconds(20)
        let next = relay.send(ssrc: 7, sequence: 1_234, timestamp: 99)
        #expect(next.sequence == newest.sequence &+ 1)
        #expect(next.timestamp == newest.timestamp &+ 960)
    }

    @Test func viewerSSRCAndPayloadTypeAreItsOwn() {
        let stream = OutgoingStream(ssrc: 42, payloadType: 109, clockRate: 48_000, initialSequence: 7, initialTimestamp: 9)
        #expect(stream.ssrc == 42 && stream.payloadType == 109 && stream.clockRate == 48_000)
    }
}
