import SkylarkBase
import Testing

@testable import RTP

@Suite struct RTPFuzzTests {
    static func seeds(_ random: inout SplitMix64) -> (rtp: [[UInt8]], rtcp: [[UInt8]]) {
        var rtp: [[UInt8]] = []
        for i in 0..<16 {
            var builder = RTPPacketBuilder(payloadType: UInt8(96 + i), sequenceNumber: UInt16(i), timestamp: 1, ssrc: 2)
            builder.csrcs = Array(repeating: 7, count: i % 4)
            builder.paddingLength = UInt8(i % 3 == 0 ? 0 : i)
            builder.addExtension(id: 1, value: Array("0".utf8))
            if i % 2 == 0 { builder.addExtension(id: UInt8(2 + i), value: Array(repeating: 3, count: i + 1)) }
            rtp.append(builder.serialize(payload: (0..<i * 5).map { UInt8(truncatingIfNeeded: $0) }))
        }
        let rtcp: [[UInt8]] = [
            RTCPTests.senderReportBytes,
            RTCPPacket.serializeCompound([
                .receiverReport(ReceiverReport(ssrc: 1, reports: RTCPTests.senderReport.reports)),
                .sourceDescription([SDESChunk(ssrc: 1, items: [.cname("abc"), .other(type: 2, value: [1])])]),
                .goodbye(Goodbye(ssrcs: [1, 2], reason: "x")),
            ]),
            RTCPPacket.serializeCompound([
                .nack(GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [1, 5, 40])),
                .pli(PictureLossIndication(senderSSRC: 1, mediaSSRC: 2)),
                .fir(FullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 3, sequenceNumber: 4)])),
                .remb(REMB(senderSSRC: 1, bitrate: 500_000, ssrcs: [2, 3])),
            ]),
        ]
        return (rtp, rtcp)
    }

    /// 5000 random and mutated buffers through every parser and the in-place rewriters: nothing may trap (the
    /// standard library's debug bounds checks on the raw buffers are live in test builds), and whatever parses must
    /// serialize and parse again.
    @Test func garbageNeverTraps() {
        var random = SplitMix64(seed: 0x5EED)
        let (rtpSeeds, rtcpSeeds) = Self.seeds(&random)
        var parsedRTP = 0
        var parsedRTCP = 0
        for round in 0..<5000 {
            var input: [UInt8]
            switch round % 3 {
            case 0:  // random bytes, usually with version 2
                input = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if !input.isEmpty, Bool.random(using: &random) { input[0] = input[0] & 0x3F | 0x80 }
            case 1:  // a mutated valid RTP packet
                input = rtpSeeds[Int.random(in: 0..<rtpSeeds.count, using: &random)]
                mutate(&input, &random)
            default:  // a mutated valid RTCP compound
                input = rtcpSeeds[Int.random(in: 0..<rtcpSeeds.count, using: &random)]
                mutate(&input, &random)
            }

            input.withUnsafeBytes { raw in
                if let header = try? RTPHeader(parsing: raw) {
                    parsedRTP += 1
                    #expect(header.payloadOffset + header.payloadLength + header.paddingLength == raw.count)
                    for id in UInt8(0)...16 { _ = header.extensionElement(id: id, in: raw) }
                    for id in UInt8(250)...255 { _ = header.extensionElement(id: id, in: raw) }
                    _ = header.payload(in: raw).count
                    // A shorter buffer than the one parsed must not be read past.
                    let short = UnsafeRawBufferPointer(rebasing: raw[0..<raw.count / 2])
                    for id in UInt8(0)...16 { _ = header.extensionElement(id: id, in: short) }
                    _ = header.payload(in: short).count
                    _ = header.csrc(at: header.csrcCount - 1, in: short)
                }
                if let packets = try? RTCPPacket.parseCompound(raw) {
                    parsedRTCP += 1
                    let again = RTCPPacket.serializeCompound(packets)
                    #expect((try? again.withUnsafeBytes { try RTCPPacket.parseCompound($0) })?.count == packets.count)
                }
                var scanner = RTCPScanner.packets(in: raw)
                while let item = scanner.next() { _ = item.feedbackSSRCs(in: raw) }
            }
            var copy = input
            copy.withUnsafeMutableBytes { raw in
                RTPHeaderRewriter.setExtensionValue(raw, id: UInt8.random(in: 0...15, using: &random), value: [1])
                RTPHeaderRewriter.rewrite(raw, ssrc: 1, sequenceNumber: 2, timestamp: 3, payloadType: 4)
            }
        }
        #expect(parsedRTP > 500)
        #expect(parsedRTCP > 100)
    }

    func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !bytes.isEmpty:  // flip a byte
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int.random(in: 1...min(bytes.count, 8), using: &random))
            case 2:  // append junk
                bytes += (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            default:  // poke a length-ish field near the start
                if bytes.count > 4 { bytes[Int.random(in: 0..<min(bytes.count, 20), using: &random)] ^= 0xFF }
            }
        }
    }
}
