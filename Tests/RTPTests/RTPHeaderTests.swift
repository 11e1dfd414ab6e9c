import Testing

@testable import RTP

func parse(_ bytes: [UInt8]) throws(RTPError) -> RTPHeader {
    try RTPHeader(parsing: bytes)
}

func element(_ bytes: [UInt8], _ header: RTPHeader, id: UInt8) -> [UInt8]? {
    bytes.withUnsafeBytes { raw in header.extensionElement(id: id, in: raw).map { Array($0) } }
}

func payload(_ bytes: [UInt8], _ header: RTPHeader) -> [UInt8] {
    bytes.withUnsafeBytes { Array(header.payload(in: $0)) }
}

@Suite struct RTPHeaderTests {
    /// Written by hand from RFC 3550 §5.1 and RFC 8285 §4.2.
    static let knownPacket: [UInt8] = [
        0x90, 0xEF, 0x12, 0x34,  // V=2 X=1 CC=0, M=1 PT=111, seq 0x1234
        0x00, 0x00, 0x01, 0x00,  // timestamp 256
        0xDE, 0xAD, 0xBE, 0xEF,  // SSRC
        0xBE, 0xDE, 0x00, 0x01,  // one-byte extension, 1 word
        0x10, 0x30, 0x00, 0x00,  // id 1, length 1: "0"; two padding bytes
        0xAA, 0xBB,  // payload
    ]

    @Test func parsesKnownBytes() throws {
        let header = try parse(Self.knownPacket)
        #expect(header.marker)
        #expect(header.payloadType == 111)
        #expect(header.sequenceNumber == 0x1234)
        #expect(header.timestamp == 256)
        #expect(header.ssrc == 0xDEAD_BEEF)
        #expect(header.csrcCount == 0)
        #expect(!header.hasPadding)
        #expect(header.extensionProfile == 0xBEDE)
        #expect(header.payloadOffset == 20)
        #expect(header.payloadLength == 2)
        #expect(element(Self.knownPacket, header, id: 1) == Array("0".utf8))
        #expect(element(Self.knownPacket, header, id: 2) == nil)
        #expect(payload(Self.knownPacket, header) == [0xAA, 0xBB])

        var builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 0x1234, timestamp: 256, ssrc: 0xDEAD_BEEF,
                                       marker: true)
        builder.addExtension(id: 1, value: Array("0".utf8))
        #expect(builder.serialize(payload: [0xAA, 0xBB]) == Self.knownPacket)
    }

    @Test func oneByteExtensionsRoundTrip() throws {
        var builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 7, timestamp: 960, ssrc: 42)
        builder.addExtension(id: 1, value: Array("0".utf8))  // mid
        builder.addExtension(id: 2, value: [0x80 | 30])  // ssrc-audio-level: voice, -30 dBov
        builder.addExtension(id: 3, value: [1, 2, 3])
        let body: [UInt8] = (0..<50).map { UInt8($0) }
        let packet = builder.serialize(payload: body)
        #expect(packet.capacity >= packet.count + 16)
        #expect(packet[12] == 0xBE && packet[13] == 0xDE)
        let header = try parse(packet)
        #expect(header.extensionProfile == RTPHeader.oneByteExtensionProfile)
        #expect(element(packet, header, id: 1) == [0x30])
        #expect(element(packet, header, id: 2) == [0x9E])
        #expect(element(packet, header, id: 3) == [1, 2, 3])
        #expect(element(packet, header, id: 4) == nil)
        #expect(payload(packet, header) == body)
        #expect(header.headerLength == builder.headerLength)
        #expect(!header.marker)

        var seen: [UInt8] = []
        packet.withUnsafeBytes { raw in header.forEachExtensionElement(in: raw) { id, _ in seen.append(id); return true } }
        #expect(seen == [1, 2, 3])
    }

    @Test func twoByteExtensionsRoundTrip() throws {
        // A 17-byte value, an id above 14 and an empty value each force the two-byte form.
        for (id, value) in [(UInt8(1), [UInt8](repeating: 7, count: 17)), (20, [1, 2]), (5, [])] {
            var builder = RTPPacketBuilder(payloadType: 96, sequenceNumber: 65535, timestamp: .max, ssrc: 1)
            builder.addExtension(id: 1, value: Array("video".utf8))
            builder.addExtension(id: id, value: value)
            let packet = builder.serialize(payload: [9, 9, 9])
            let header = try parse(packet)
            #expect(header.extensionProfile == RTPHeader.twoByteExtensionProfile)
            #expect(element(packet, header, id: id) == value)
            if id != 1 { #expect(element(packet, header, id: 1) == Array("video".utf8)) }
            #expect(payload(packet, header) == [9, 9, 9])
            #expect(header.sequenceNumber == 65535 && header.timestamp == .max)
        }
    }

    @Test func addExtensionReplacesSameID() throws {
        var builder = RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1)
        builder.addExtension(id: 4, value: [1])
        builder.addExtension(id: 4, value: [2, 3])
        #expect(builder.extensions.count == 1)
        let packet = builder.serialize(payload: [])
        #expect(element(packet, try parse(packet), id: 4) == [2, 3])
    }

    @Test func paddingAndCSRCsRoundTrip() throws {
        var builder = RTPPacketBuilder(payloadType: 100, sequenceNumber: 3, timestamp: 4, ssrc: 5, marker: true)
        builder.csrcs = [0x0102_0304, 0x0A0B_0C0D]
        builder.paddingLength = 7
        builder.addExtension(id: 2, value: [0x55])
        let packet = builder.serialize(payload: [1, 2, 3, 4, 5])
        #expect(packet.count == 12 + 8 + 8 + 5 + 7)
        #expect(packet[0] == 0x80 | 0x20 | 0x10 | 2)
        #expect(packet.last == 7)
        let header = try parse(packet)
        #expect(header.csrcCount == 2)
        #expect(header.paddingLength == 7)
        #expect(header.payloadLength == 5)
        #expect(payload(packet, header) == [1, 2, 3, 4, 5])
        #expect(element(packet, header, id: 2) == [0x55])
        packet.withUnsafeBytes { raw in
            #expect(header.csrc(at: 0, in: raw) == 0x0102_0304)
            #expect(header.csrc(at: 1, in: raw) == 0x0A0B_0C0D)
            #expect(header.csrc(at: 2, in: raw) == nil)
        }
    }

    @Test func serializeIntoAppends() {
        let builder = RTPPacketBuilder(payloadType: 0, sequenceNumber: 9, timestamp: 8, ssrc: 7)
        var out: [UInt8] = [0xFF]
        [UInt8](arrayLiteral: 1, 2).withUnsafeBytes { builder.serialize(payload: $0, into: &out) }
        #expect(out == [0xFF, 0x80, 0x00, 0x00, 0x09, 0, 0, 0, 8, 0, 0, 0, 7, 1, 2])
    }

    @Test func malformedPacketsThrow() {
        let valid = Self.knownPacket
        #expect(throws: RTPError.tooShort(length: 11)) { try parse(Array(valid.prefix(11))) }
        var v1 = valid
        v1[0] = 0x50
        #expect(throws: RTPError.badVersion(1)) { try parse(v1) }
        var csrcs = valid
        csrcs[0] = 0x8F  // 15 CSRCs need 72 bytes
        #expect(throws: RTPError.csrcOverrun(csrcCount: 15, length: valid.count)) { try parse(csrcs) }
        #expect(throws: RTPError.extensionOverrun) { try parse(Array(valid.prefix(14))) }
        var longExtension = valid
        longExtension[15] = 3  // three words claimed, one present
        #expect(throws: RTPError.extensionOverrun) { try parse(longExtension) }
        var padding = valid
        padding[0] |= 0x20
        padding[padding.count - 1] = 3  // only 2 payload bytes
        #expect(throws: RTPError.badPadding(count: 3)) { try parse(padding) }
        padding[padding.count - 1] = 0
        #expect(throws: RTPError.badPadding(count: 0)) { try parse(padding) }
        padding[padding.count - 1] = 2
        #expect((try? parse(padding))?.payloadLength == 0)
        #expect("\(RTPError.badVersion(1))" == "RTP version 1, expected 2")
    }

    @Test func extensionWalkStopsOnReservedIDAndOverrun() throws {
        // id 15 ends processing (RFC 8285 §4.2); an element overrunning the block is not returned.
        var packet: [UInt8] = [0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0xF0, 0x21, 0, 0]
        var header = try parse(packet)
        #expect(element(packet, header, id: 2) == nil)
        packet[16] = 0x13  // id 1 claims 4 data bytes, 3 remain
        header = try parse(packet)
        #expect(element(packet, header, id: 1) == nil)
        // An unknown profile yields no elements.
        packet[12] = 0x12
        header = try parse(packet)
        #expect(element(packet, header, id: 1) == nil)
    }
}

@Suite struct RTPHeaderRewriterTests {
    @Test func rewriteKeepsPayloadAndExtensions() throws {
        var builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 100, timestamp: 5000, ssrc: 0x1111, marker: true)
        builder.addExtension(id: 1, value: Array("a".utf8))
        builder.addExtension(id: 2, value: [0x9E])
        let body: [UInt8] = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var packet = builder.serialize(payload: body)
        let original = packet

        let ok = packet.withUnsafeMutableBytes {
            RTPHeaderRewriter.rewrite($0, ssrc: 0xCAFE_F00D, sequenceNumber: 65535, timestamp: 0xFFFF_FFF0,
                                      payloadType: 109)
        }
        #expect(ok)
        let header = try parse(packet)
        #expect(header.ssrc == 0xCAFE_F00D)
        #expect(header.sequenceNumber == 65535)
        #expect(header.timestamp == 0xFFFF_FFF0)
        #expect(header.payloadType == 109)
        #expect(header.marker)
        #expect(payload(packet, header) == body)
        #expect(packet[12...] == original[12...])

        // Without a payload type, it stays.
        packet.withUnsafeMutableBytes { _ = RTPHeaderRewriter.rewrite($0, ssrc: 1, sequenceNumber: 2, timestamp: 3) }
        #expect(try parse(packet).payloadType == 109)

        // Same-length extension values are replaced in place; other lengths are refused.
        #expect(packet.withUnsafeMutableBytes { RTPHeaderRewriter.setExtensionValue($0, id: 1, value: Array("b".utf8)) })
        #expect(!packet.withUnsafeMutableBytes { RTPHeaderRewriter.setExtensionValue($0, id: 1, value: [1, 2]) })
        #expect(!packet.withUnsafeMutableBytes { RTPHeaderRewriter.setExtensionValue($0, id: 9, value: [1]) })
        let after = try parse(packet)
        #expect(element(packet, after, id: 1) == Array("b".utf8))
        #expect(element(packet, after, id: 2) == [0x9E])
        #expect(payload(packet, after) == body)

        packet.withUnsafeMutableBytes { _ = RTPHeaderRewriter.setMarker($0, false) }
        #expect(try !parse(packet).marker)
    }

    @Test func rewriteRefusesShortOrForeignPackets() {
        var short: [UInt8] = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(!short.withUnsafeMutableBytes { RTPHeaderRewriter.rewrite($0, ssrc: 1, sequenceNumber: 1, timestamp: 1) })
        #expect(short == [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        var notRTP = [UInt8](repeating: 0, count: 12)
        #expect(!notRTP.withUnsafeMutableBytes { RTPHeaderRewriter.rewrite($0, ssrc: 1, sequenceNumber: 1, timestamp: 1) })
    }
}
