/// One encoding of an `RTCRtpSender`.
public struct RtpEncodingParameters: Hashable, Sendable {
    /// Whether the encoding is sent. Default true.
    public var active: Bool
    /// Upper bound on bits per second of the encoded media; for Opus it caps the encoder's bitrate.
    public var maxBitrate: Int?
    /// Upper bound on frames per second (video only).
    public var maxFramerate: Double?
    /// RTP stream ID (RFC 8851), checked by `addTransceiver` and fixed once the transceiver exists. Skylark sends one
    /// stream per sender and negotiates no RID header extension, so the value is kept but not put on the wire.
    public var rid: String?
    /// Down-scaling factor for video (≥ 1).
    public var scaleResolutionDownBy: Double?

    public init(active: Bool = true, maxBitrate: Int? = nil, maxFramerate: Double? = nil, rid: String? = nil,
                scaleResolutionDownBy: Double? = nil) {
        self.active = active
        self.maxBitrate = maxBitrate
        self.maxFramerate = maxFramerate
        self.rid = rid
        self.scaleResolutionDownBy = scaleResolutionDownBy
    }
}

/// Options for `RTCPeerConnection.addTransceiver`.
public struct RtpTransceiverInit: Sendable {
    /// The new transceiver's direction; sendrecv by default.
    public var direction: TransceiverDirection
    /// Encodings for the sender.
    public var sendEncodings: [RtpEncodingParameters]
    /// Streams the remote side's track event will name.
    public var streams: [MediaStream]

    public init(direction: TransceiverDirection = .sendrecv, sendEncodings: [RtpEncodingParameters] = [],
                streams: [MediaStream] = []) {
        self.direction = direction
        self.sendEncodings = sendEncodings
        self.streams = streams
    }
}

extension RtpEncodingParameters {
    /// The encodings a new transceiver's sender starts with: W3C `addTransceiver` "sendEncodings validation"
    /// (webrtc-pc §5.1). Throws `TypeError` for a malformed, duplicate or partial set of `rid`s and `RangeError`
    /// for `scaleResolutionDownBy` below 1 or a `maxFramerate` that is not positive. Audio encodings lose their
    /// video-only members. Skylark sends one RTP stream per sender (no simulcast), so the list is trimmed to its
    /// first entry; an empty list becomes one active encoding.
    static func validated(_ encodings: [RtpEncodingParameters], kind: MediaType) throws(RTCException) -> [RtpEncodingParameters] {
        var encodings = encodings
        let rids = encodings.compactMap(\.rid)
        // RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_").
        for rid in rids where rid.isEmpty || !rid.unicodeScalars.allSatisfy({ scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
        }) {
            throw .type("rid \"\(rid)\" is not alphanumeric, '-' or '_' (RFC 8851 §10)")
        }
        if !rids.isEmpty && rids.count != encodings.count {
            throw .type("either every encoding has a rid or none does")
        }
        if Set(rids).count != rids.count { throw .type("two encodings have the same rid") }
        if kind == .audio {
            for index in encodings.indices {
                encodings[index].scaleResolutionDownBy = nil
                encodings[index].maxFramerate = nil
            }
        }
        if let bad = encodings.compactMap(\.scaleResolutionDownBy).first(where: { !($0 >= 1) }) {
            throw .range("scaleResolutionDownBy must be at least 1, not \(bad)")
        }
        if let bad = encodings.compactMap(\.maxFramerate).first(where: { !($0 > 0) }) {
            throw .range("maxFramerate must be positive, not \(bad)")
        }
        if let bad = encodings.compactMap(\.maxBitrate).first(where: { $0 < 0 }) {
            throw .range("maxBitrate must not be negative, not \(bad)")
        }
        if encodings.isEmpty { encodings = [RtpEncodingParameters()] }
        if kind == .video && encodings[0].scaleResolutionDownBy == nil { encodings[0].scaleResolutionDownBy = 1 }
        return Array(encodings.prefix(1))
    }
}
