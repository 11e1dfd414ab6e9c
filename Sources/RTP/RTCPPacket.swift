import SkylarkBase

/// One RTCP packet of a compound (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb).
public enum RTCPPacket: Sendable, Hashable {
    case senderReport(SenderReport)
    case receiverReport(ReceiverReport)
    case sourceDescription([SDESChunk])
    case goodbye(Goodbye)
    case nack(GenericNACK)
    case pli(PictureLossIndication)
    case fir(FullIntraRequest)
    case remb(REMB)
    /// Any other packet (e.g. APP, XR, transport-wide CC feedback), kept as its body (after the 4-byte common
    /// header, padding removed) so it serializes back.
    case unknown(packetType: UInt8, count: UInt8, body: [UInt8])

    public static let senderReportType: UInt8 = 200
    public static let receiverReportType: UInt8 = 201
    public static let sourceDescriptionType: UInt8 = 202
    public static let goodbyeType: UInt8 = 203
    public static let applicationType: UInt8 = 204
    /// Transport-layer feedback (RFC 4585 §6.1).
    public static let transportFeedbackType: UInt8 = 205
    /// Payload-specific feedback (RFC 4585 §6.1).
    public static let payloadFeedbackType: UInt8 = 206

    // MARK: Parsing

    /// Parses every packet of a compound. Throws when framing is broken (a length field past the end, bad
    /// version or padding) or a known packet's body is inconsistent with its counts.
    public static func parseCompound(_ bytes: UnsafeRawBufferPointer) throws(RTCPError) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        var scanner = RTCPScanner.packets(in: bytes)
        while let item = scanner.next() {
            out.append(try parse(item, in: bytes))
        }
        if let error = scanner.error { throw error }
        return out
    }

    /// Parses a compound held in an array.
    public static func parseCompound(_ bytes: [UInt8]) throws(RTCPError) -> [RTCPPacket] {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(RTCPError) in try parseCompound(raw) }
        }
        return try result.get()
    }

    /// Parses one packet framed by `RTCPScanner`.
    public static func parse(_ item: RTCPScanner.Item, in bytes: UnsafeRawBufferPointer) throws(RTCPError)
        -> RTCPPacket
    {
        guard item.bodyRange.upperBound <= bytes.count else { throw .truncated(offset: item.range.lowerBound) }
        let type = item.packetType
        let count = Int(item.count)
        let start = item.bodyRange.lowerBound
        let bodyLength = item.bodyRange.count
        func require(_ condition: Bool, _ reason: String) throws(RTCPError) {
            if !condition { throw .malformed(packetType: type, reason: reason) }
        }

        switch type {
        case senderReportType:
            // RFC 3550 §6.4.1: SSRC, NTP (8), RTP timestamp, packet count, octet count, then RC blocks.
            try require(bodyLength >= 24 + 24 * count, "\(bodyLength) bytes for \(count) report blocks")
            var reports: [RTCPReportBlock] = []
            reports.reserveCapacity(count)
            for i in 0..<count { reports.append(RTCPReportBlock(reading: bytes, at: start + 24 + 24 * i)) }
            return .senderReport(SenderReport(
                ssrc: bytes.be32(start),
                ntpTimestamp: NTPTime(seconds: bytes.be32(start + 4), fraction: bytes.be32(start + 8)),
                rtpTimestamp: bytes.be32(start + 12), packetCount: bytes.be32(start + 16),
                octetCount: bytes.be32(start + 20), reports: reports))

        case receiverReportType:
            try require(bodyLength >= 4 + 24 * count, "\(bodyLength) bytes for \(count) report blocks")
            var reports: [RTCPReportBlock] = []
            reports.reserveCapacity(count)
            for i in 0..<count { reports.append(RTCPReportBlock(reading: bytes, at: start + 4 + 24 * i)) }
            return .receiverReport(ReceiverReport(ssrc: bytes.be32(start), reports: reports))

        case sourceDescriptionType:
            return .sourceDescription(try parseSDES(bytes, item))

        case goodbyeType:
            // RFC 3550 §6.6: SC SSRCs, then an optional length-prefixed reason.
            try require(bodyLength >= 4 * count, "\(bodyLength) bytes for \(count) sources")
            var ssrcs: [UInt32] = []
            ssrcs.reserveCapacity(count)
            for i in 0..<count { ssrcs.append(bytes.be32(start + 4 * i)) }
            var reason: String?
            let reasonOffset = start + 4 * count
            if reasonOffset < item.bodyRange.upperBound {
                let reasonLength = Int(bytes[reasonOffset])
                try require(reasonOffset + 1 + reasonLength <= item.bodyRange.upperBound, "reason overruns")
                reason = String(decoding: bytes[reasonOffset + 1..<reasonOffset + 1 + reasonLength], as: UTF8.self)
            }
            return .goodbye(Goodbye(ssrcs: ssrcs, reason: reason))

        case transportFeedbackType where count == 1:
            // RFC 4585 §6.2.1: sender SSRC, media SSRC, then (PID, BLP) pairs.
            try require(bodyLength >= 8 && (bodyLength - 8) % 4 == 0, "\(bodyLength)-byte generic NACK")
            var lost: [UInt16] = []
            var i = start + 8
            while i + 4 <= item.bodyRange.upperBound {
                let pid = bytes.be16(i)
                let blp = bytes.be16(i + 2)
                lost.append(pid)
                for bit in 0..<16 where blp & (1 << bit) != 0 { lost.append(pid &+ UInt16(bit + 1)) }
                i += 4
            }
            return .nack(GenericNACK(
                senderSSRC: bytes.be32(start), mediaSSRC: bytes.be32(start + 4), lostSequenceNumbers: lost))

        case payloadFeedbackType where count == 1:
            // RFC 4585 §6.3.1: no FCI.
            try require(bodyLength >= 8, "\(bodyLength)-byte PLI")
            return .pli(PictureLossIndication(senderSSRC: bytes.be32(start), mediaSSRC: bytes.be32(start + 4)))

        case payloadFeedbackType where count == 4:
            // RFC 5104 §4.3.1: media SSRC unused; FCI entries of SSRC, seq nr, 3 reserved bytes.
            try require(bodyLength >= 8 && (bodyLength - 8) % 8 == 0, "\(bodyLength)-byte FIR")
            var entries: [FullIntraRequest.Entry] = []
            var i = start + 8
            while i + 8 <= item.bodyRange.upperBound {
                entries.append(FullIntraRequest.Entry(ssrc: bytes.be32(i), sequenceNumber: bytes[i + 4]))
                i += 8
            }
            return .fir(FullIntraRequest(senderSSRC: bytes.be32(start), entries: entries))

        case payloadFeedbackType where count == 15
            && bodyLength >= 12 && bytes.be32(start + 8) == REMB.identifier:
            // draft-alvestrand-rmcat-remb §2.2: "REMB", Num SSRC, BR Exp (6), BR Mantissa (18), SSRCs.
            try require(bodyLength >= 16, "\(bodyLength)-byte REMB")
            let word = bytes.be32(start + 12)
            let ssrcCount = Int(word >> 24)
            try require(bodyLength >= 16 + 4 * ssrcCount, "\(bodyLength) bytes for \(ssrcCount) REMB sources")
            let exponent = (word >> 18) & 0x3F
            let mantissa = UInt64(word & 0x3FFFF)
            let bitrate = mantissa == 0 || mantissa.leadingZeroBitCount >= exponent
                ? mantissa << exponent : UInt64.max
            var ssrcs: [UInt32] = []
            ssrcs.reserveCapacity(ssrcCount)
            for i in 0..<ssrcCount { ssrcs.append(bytes.be32(start + 16 + 4 * i)) }
            return .remb(REMB(senderSSRC: bytes.be32(start), bitrate: bitrate, ssrcs: ssrcs))

        default:
            return .unknown(packetType: type, count: item.count, body: Array(bytes[item.bodyRange]))
        }
    }

    private static func parseSDES(_ bytes: UnsafeRawBufferPointer, _ item: RTCPScanner.Item) throws(RTCPError)
        -> [SDESChunk]
    {
        // RFC 3550 §6.5: SC chunks, each an SSRC then items (type, length, value) ended by null octets up to the
        // next 32-bit boundary.
        let end = item.bodyRange.upperBound
        var i = item.bodyRange.lowerBound
        var chunks: [SDESChunk] = []
        for _ in 0..<item.count {
            guard i + 4 <= end else { throw .malformed(packetType: sourceDescriptionType, reason: "missing chunk") }
            let ssrc = bytes.be32(i)
            i += 4
            var items: [SDESItem] = []
            while true {
                guard i < end else {
                    throw .malformed(packetType: sourceDescriptionType, reason: "chunk without terminating null")
                }
                let type = bytes[i]
                if type == 0 {
                    i = (i - item.range.lowerBound + 4) / 4 * 4 + item.range.lowerBound
                    break
                }
                guard i + 2 <= end, i + 2 + Int(bytes[i + 1]) <= end else {
                    throw .malformed(packetType: sourceDescriptionType, reason: "item overruns")
                }
                let value = bytes[i + 2..<i + 2 + Int(bytes[i + 1])]
                if type == SDESItem.cnameType {
                    items.append(.cname(String(decoding: value, as: UTF8.self)))
                } else {
                    items.append(.other(type: type, value: Array(value)))
                }
                i += 2 + value.count
            }
            chunks.append(SDESChunk(ssrc: ssrc, items: items))
        }
        return chunks
    }

    // MARK: Serializing

    /// Serializes the packets back to back as one compound.
    public static func serializeCompound(_ packets: [RTCPPacket]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 * packets.count + 16)
        for packet in packets { packet.serialize(into: &out) }
        return out
    }

    /// Appends this packet, common header included, to `out`.
    public func serialize(into out: inout [UInt8]) {
        let start = out.count
        // Common header; the length is patched once the body is written.
        func header(_ count: Int, _ type: UInt8) {
            out.append(0x80 | UInt8(min(count, 31)))
            out.append(type)
            out.appendUInt16(0)
        }

        switch self {
        case let .senderReport(sr):
            let reports = sr.reports.prefix(31)
            header(reports.count, RTCPPacket.senderReportType)
            out.appendUInt32(sr.ssrc)
            out.appendUInt32(sr.ntpTimestamp.seconds)
            out.appendUInt32(sr.ntpTimestamp.fraction)
            out.appendUInt32(sr.rtpTimestamp)
            out.appendUInt32(sr.packetCount)
            out.appendUInt32(sr.octetCount)
            for block in reports { block.serialize(into: &out) }

        case let .receiverReport(rr):
            let reports = rr.reports.prefix(31)
            header(reports.count, RTCPPacket.receiverReportType)
            out.appendUInt32(rr.ssrc)
            for block in reports { block.serialize(into: &out) }

        case let .sourceDescription(chunks):
            let chunks = chunks.prefix(31)
            header(chunks.count, RTCPPacket.sourceDescriptionType)
            for chunk in chunks {
                out.appendUInt32(chunk.ssrc)
                for item in chunk.items {
                    switch item {
                    case let .cname(text):
                        let value = Array(text.utf8.prefix(255))
                        out.append(SDESItem.cnameType)
                        out.append(UInt8(value.count))
                        out.append(contentsOf: value)
                    case let .other(type, value):
                        out.append(type)
                        out.append(UInt8(min(value.count, 255)))
                        out.append(contentsOf: value.prefix(255))
                    }
                }
                // At least one null octet, up to the next 32-bit boundary.
                out.append(contentsOf: repeatElement(0, count: 4 - (out.count - start) % 4))
            }

        case let .goodbye(bye):
            let ssrcs = bye.ssrcs.prefix(31)
            header(ssrcs.count, RTCPPacket.goodbyeType)
            for ssrc in ssrcs { out.appendUInt32(ssrc) }
            if let reason = bye.reason {
                let text = Array(reason.utf8.prefix(255))
                out.append(UInt8(text.count))
                out.append(contentsOf: text)
            }

        case let .nack(nack):
            header(1, RTCPPacket.transportFeedbackType)
            out.appendUInt32(nack.senderSSRC)
            out.appendUInt32(nack.mediaSSRC)
            for pair in nack.pairs {
                out.appendUInt16(pair.pid)
                out.appendUInt16(pair.blp)
            }

        case let .pli(pli):
            header(1, RTCPPacket.payloadFeedbackType)
            out.appendUInt32(pli.senderSSRC)
            out.appendUInt32(pli.mediaSSRC)

        case let .fir(fir):
            header(4, RTCPPacket.payloadFeedbackType)
            out.appendUInt32(fir.senderSSRC)
            out.appendUInt32(0)
            for entry in fir.entries {
                out.appendUInt32(entry.ssrc)
                out.append(entry.sequenceNumber)
                out.appendUInt24(0)
            }

        case let .remb(remb):
            header(15, RTCPPacket.payloadFeedbackType)
            out.appendUInt32(remb.senderSSRC)
            out.appendUInt32(0)
            out.appendUInt32(REMB.identifier)
            var mantissa = remb.bitrate
            var exponent: UInt32 = 0
            while mantissa > 0x3FFFF {
                mantissa >>= 1
                exponent += 1
            }
            let ssrcs = remb.ssrcs.prefix(255)
            out.appendUInt32(UInt32(ssrcs.count) << 24 | exponent << 18 | UInt32(mantissa))
            for ssrc in ssrcs { out.appendUInt32(ssrc) }

        case let .unknown(type, count, body):
            header(Int(count), type)
            out.append(contentsOf: body)
        }

        // Zero-fill to a 32-bit boundary (no padding bit) and write the length in words minus one.
        out.append(contentsOf: repeatElement(0, count: (4 - (out.count - start) % 4) % 4))
        out.setUInt16(UInt16(truncatingIfNeeded: (out.count - start) / 4 - 1), at: start + 2)
    }
}
