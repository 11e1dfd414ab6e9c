/// A sender report (RFC 3550 §6.4.1), packet type 200.
public struct SenderReport: Sendable, Hashable {
    public var ssrc: UInt32
    public var ntpTimestamp: NTPTime
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    /// Reception report blocks; at most 31 are serialized.
    public var reports: [RTCPReportBlock]

    public init(
        ssrc: UInt32, ntpTimestamp: NTPTime, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
        reports: [RTCPReportBlock]
    ) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }
}

/// A receiver report (RFC 3550 §6.4.2), packet type 201.
public struct ReceiverReport: Sendable, Hashable {
    public var ssrc: UInt32
    /// Reception report blocks; at most 31 are serialized.
    public var reports: [RTCPReportBlock]

    public init(ssrc: UInt32, reports: [RTCPReportBlock]) {
        self.ssrc = ssrc
        self.reports = reports
    }
}

/// One SDES chunk (RFC 3550 §6.5): a source and its items.
public struct SDESChunk: Sendable, Hashable {
    public var ssrc: UInt32
    public var items: [SDESItem]

    public init(ssrc: UInt32, items: [SDESItem]) {
        self.ssrc = ssrc
        self.items = items
    }
}

/// One SDES item (RFC 3550 §6.5). Values longer than 255 bytes are cut when serialized.
public enum SDESItem: Sendable, Hashable {
    /// CNAME, item type 1 (decoded as UTF-8; invalid bytes become U+FFFD).
    case cname(String)
    /// Any other item type (NAME 2 ... PRIV 8) with its raw value.
    case other(type: UInt8, value: [UInt8])

    public static let cnameType: UInt8 = 1
}

/// A BYE packet (RFC 3550 §6.6), packet type 203.
public struct Goodbye: Sendable, Hashable {
    /// Sources leaving; at most 31 are serialized.
    public var ssrcs: [UInt32]
    /// The optional reason for leaving (at most 255 bytes are serialized).
    public var reason: String?

    public init(ssrcs: [UInt32], reason: String? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason
    }
}
