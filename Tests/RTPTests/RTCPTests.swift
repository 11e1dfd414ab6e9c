import Testing

@testable import RTP

func parseRTCP(_ bytes: [UInt8]) throws(RTCPError) -> [RTCPPacket] {
    try RTCPPacket.parseCompound(bytes)
}

@Suite struct RTCPTests {
    /// An SR with one report block, written by hand from RFC 3550 §6.4.1.
    static let senderReportBytes: [UInt8] = [
        0x81, 0xC8, 0x00, 0x0C,  // V=2 RC=1, PT=200, length 12 (52 bytes)
        0x11, 0x22, 0x33, 0x44,  // SSRC of sender
        0x83, 0xAA, 0x7E, 0x80, 0x80, 0x00, 0x00, 0x00,  // NTP timestamp (1970-01-01 + 0.5 s)
        0x00, 0x00, 0x10, 0x00,  // RTP timestamp
        0x00, 0x00, 0x00, 0x0A,  // packet count
        0x00, 0x00, 0x03, 0xE8,  // octet count
        0x55, 0x66, 0x77, 0x88,  // SSRC_1
        0x40, 0xFF, 0xFF, 0xFE,  // fraction lost 64/256, cumulative lost -2
        0x00, 0x01, 0x00, 0x05,  // extended highest sequence: cycle 1, seq 5
        0x00, 0x00, 0x00, 0x20,  // jitter
        0x7E, 0x80, 0x80, 0x00,  // LSR
        0x00, 0x01, 0x00, 0x00,  // DLSR: 1 s
    ]

    static let senderReport = SenderReport(
        ssrc: 0x1122_3344, ntpTimestamp: NTPTime(seconds: 0x83AA_7E80, fraction: 0x8000_0000), rtpTimestamp: 0x1000,
        packetCount: 10, octetCount: 1000,
        reports: [RTCPReportBlock(ssrc: 0x5566_7788, fractionLost: 64, cumulativeLost: -2, highestSequence: 0x1_0005,
                                  jitter: 32, lastSenderReport: 0x7E80_8000, delaySinceLastSenderReport: 0x1_0000)])

    @Test func senderReportKnownBytes() throws {
        #expect(try parseRTCP(Self.senderReportBytes) == [.senderReport(Self.senderReport)])
        #expect(RTCPPacket.serializeCompound([.senderReport(Self.senderReport)]) == Self.senderReportBytes)
        #expect(Self.senderReport.ntpTimestamp.unixNanoseconds == 500_000_000)
        #expect(Self.senderReport.ntpTimestamp.middle32 == 0x7E80_8000)
    }

    @Test func genericNACKKnownBytes() throws {
        // RFC 4585 §6.2.1: PID 100, BLP bits 0 (101) and 4 (105).
        let bytes: [UInt8] = [
            0x81, 0xCD, 0x00, 0x03,
            0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x02,
            0x00, 0x64, 0x00, 0x11,
        ]
        let nack = GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [100, 101, 105])
        #expect(RTCPPacket.serializeCompound([.nack(nack)]) == bytes)
        #expect(try parseRTCP(bytes) == [.nack(nack)])
    }

    @Test func nackPairsAcrossWrapAndLongRuns() throws {
        let lost: [UInt16] = [65534, 65535, 0, 14, 15, 16, 40]
        let nack = GenericNACK(senderSSRC: 9, mediaSSRC: 8, lostSequenceNumbers: lost)
        let pairs = nack.pairs
        #expect(pairs.map(\.pid) == [65534, 15, 40])
        #expect(pairs[0].blp == 0b1000_0000_0000_0011)  // 65535, 0, 14
        #expect(pairs[1].blp == 0b1)  // 16
        #expect(try parseRTCP(RTCPPacket.serializeCompound([.nack(nack)])) == [.nack(nack)])
    }

    @Test func feedbackKnownBytes() throws {
        let pli: [UInt8] = [0x81, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2]
        #expect(try parseRTCP(pli) == [.pli(PictureLossIndication(senderSSRC: 1, mediaSSRC: 2))])
        #expect(RTCPPacket.serializeCompound([.pli(PictureLossIndication(senderSSRC: 1, mediaSSRC: 2))]) == pli)

        // RFC 5104 §4.3.1.
        let fir: [UInt8] = [0x84, 0xCE, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0xAB, 0xCD, 0xEF, 0x01, 7, 0, 0, 0]
        let firPacket = RTCPPacket.fir(FullIntraRequest(
            senderSSRC: 1, entries: [.init(ssrc: 0xABCD_EF01, sequenceNumber: 7)]))
        #expect(try parseRTCP(fir) == [firPacket])
        #expect(RTCPPacket.serializeCompound([firPacket]) == fir)

        // draft-alvestrand-rmcat-remb §2.2: 1 Mbit/s = 250000 << 2.
        let remb: [UInt8] = [
            0x8F, 0xCE, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4D, 0x42,
            0x01, 0x0B, 0xD0, 0x90, 0x12, 0x34, 0x56, 0x78,
        ]
        let rembPacket = RTCPPacket.remb(REMB(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [0x1234_5678]))
        #expect(try parseRTCP(remb) == [rembPacket])
        #expect(RTCPPacket.serializeCompound([rembPacket]) == remb)
    }

    @Test func sdesAndByeKnownBytes() throws {
        let sdes: [UInt8] = [0x81, 0xCA, 0x00, 0x03, 0, 0, 0, 5, 0x01, 0x04, 0x61, 0x62, 0x63, 0x64, 0, 0]
        let sdesPacket = RTCPPacket.sourceDescription([SDESChunk(ssrc: 5, items: [.cname("abcd")])])
        #expect(try parseRTCP(sdes) == [sdesPacket])
        #expect(RTCPPacket.serializeCompound([sdesPacket]) == sdes)

        let bye: [UInt8] = [0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 5, 0x03, 0x62, 0x79, 0x65]
        let byePacket = RTCPPacket.goodbye(Goodbye(ssrcs: [5], reason: "bye"))
        #expect(try parseRTCP(bye) == [byePacket])
        #expect(RTCPPacket.serializeCompound([byePacket]) == bye)
    }

    @Test func compoundRoundTrip() throws {
        let packets: [RTCPPacket] = [
            .senderReport(Self.senderReport),
            .receiverReport(ReceiverReport(ssrc: 7, reports: Self.senderReport.reports + Self.senderReport.reports)),
            .receiverReport(ReceiverReport(ssrc: 8, reports: [])),
            .sourceDescription([
                SDESChunk(ssrc: 1, items: [.cname("{a5e4b2c1-cname}"), .other(type: 6, value: Array("skylark".utf8))]),
                SDESChunk(ssrc: 2, items: [.cname("xyz")]),  // 4 + 5 bytes: 3 nulls
                SDESChunk(ssrc: 3, items: [.cname("ab")]),  // 4 + 4 bytes: a full null word
                SDESChunk(ssrc: 4, items: []),
            ]),
            .goodbye(Goodbye(ssrcs: [1, 2, 3], reason: nil)),
            .goodbye(Goodbye(ssrcs: [], reason: "gone")),
            .nack(GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [1, 2, 3, 100])),
            .pli(PictureLossIndication(senderSSRC: 3, mediaSSRC: 4)),
            .fir(FullIntraRequest(senderSSRC: 5, entries: [.init(ssrc: 6, sequenceNumber: 1), .init(ssrc: 7, sequenceNumber: 255)])),
            .remb(REMB(senderSSRC: 1, bitrate: 300_000 << 10 & ~0x3FF, ssrcs: [1, 2, 3])),
            .remb(REMB(senderSSRC: 1, bitrate: 12_345, ssrcs: [])),
            .unknown(packetType: 205, count: 15, body: [0, 0, 0, 1, 0, 0, 0, 2, 0xAA, 0xBB, 0xCC, 0xDD]),  // TWCC
            .unknown(packetType: 204, count: 3, body: [0, 0, 0, 1, 0x41, 0x42, 0x43, 0x44]),  // APP
        ]
        let bytes = RTCPPacket.serializeCompound(packets)
        #expect(bytes.count % 4 == 0)
        #expect(try parseRTCP(bytes) == packets)

        // The scanner frames the same packets without parsing them.
        bytes.withUnsafeBytes { raw in
            var iterator = RTCPScanner.packets(in: raw)
            var types: [UInt8] = []
            var feedback: [(UInt32, UInt32)] = []
            while let item = iterator.next() {
                types.append(item.packetType)
                if item.packetType == 206, item.count == 1, let ssrcs = item.feedbackSSRCs(in: raw) {
                    feedback.append((ssrcs.sender, ssrcs.media))
                }
            }
            #expect(iterator.error == nil)
            #expect(types == [200, 201, 201, 202, 203, 203, 205, 206, 206, 206, 206, 205, 204])
            #expect(feedback.count == 1 && feedback[0] == (3, 4))
            #expect(RTCPScanner.isRTCP(raw))
        }
        #expect(!Self.rtpLooksLikeRTCP())
    }

    static func rtpLooksLikeRTCP() -> Bool {
        RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, marker: true)
            .serialize(payload: [1]).withUnsafeBytes { RTCPScanner.isRTCP($0) }
    }

    @Test func paddedPacketParses() throws {
        // RR with 4 bytes of padding (P bit, last octet 4).
        let bytes: [UInt8] = [0xA0, 0xC9, 0x00, 0x02, 0, 0, 0, 9, 0, 0, 0, 4]
        #expect(try parseRTCP(bytes) == [.receiverReport(ReceiverReport(ssrc: 9, reports: []))])
        var bad = bytes
        bad[11] = 9
        #expect(throws: RTCPError.badPadding(offset: 0)) { try parseRTCP(bad) }
    }

    @Test func negativeAndClampedCumulativeLoss() throws {
        var block = Self.senderReport.reports[0]
        block.cumulativeLost = -10_000_000  // below the 24-bit range
        let packet = RTCPPacket.receiverReport(ReceiverReport(ssrc: 1, reports: [block]))
        guard case let .receiverReport(rr) = try parseRTCP(RTCPPacket.serializeCompound([packet]))[0] else {
            Issue.record("not an RR")
            return
        }
        #expect(rr.reports[0].cumulativeLost == -0x80_0000)
    }

    @Test func truncatedAndGarbageThrow() throws {
        let sr = Self.senderReportBytes
        #expect(throws: RTCPError.truncated(offset: 0)) { try parseRTCP(Array(sr.prefix(3))) }
        #expect(throws: RTCPError.truncated(offset: 0)) { try parseRTCP(Array(sr.dropLast(4))) }
        // A second packet cut short after a valid one.
        #expect(throws: RTCPError.truncated(offset: 52)) { try parseRTCP(sr + [0x81, 0xC9]) }
        var version = sr
        version[0] = 0x41
        #expect(throws: RTCPError.badVersion(1, offset: 0)) { try parseRTCP(version) }
        // RC says 2 blocks but the length holds one.
        var count = sr
        count[0] = 0x82
        #expect(throws: RTCPError.self) { try parseRTCP(count) }
        // SDES chunk without its terminating null.
        let sdes: [UInt8] = [0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 5, 0x01, 0x02, 0x61, 0x62]
        #expect(throws: RTCPError.self) { try parseRTCP(sdes) }
        // BYE reason longer than the packet.
        let bye: [UInt8] = [0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 5, 0x09, 0x62, 0x79, 0x65]
        #expect(throws: RTCPError.self) { try parseRTCP(bye) }
        // NACK without its media SSRC.
        #expect(throws: RTCPError.self) { try parseRTCP([0x81, 0xCD, 0x00, 0x01, 0, 0, 0, 1]) }
        #expect((try? parseRTCP([])) == [])
        #expect("\(RTCPError.truncated(offset: 4))" == "RTCP packet at offset 4 is truncated")
    }

    @Test func ntpTime() {
        let t = NTPTime(unixNanoseconds: 1_700_000_000_250_000_000)
        #expect(t.seconds == UInt32(1_700_000_000 + 2_208_988_800))
        #expect(t.fraction == 1 << 30)
        #expect(t.unixNanoseconds == 1_700_000_000_250_000_000)
        #expect(NTPTime(uint64: t.uint64) == t)
    }
}
