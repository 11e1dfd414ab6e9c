/// One encoding of an `RTCRtpSender`.
public struct RtpEncodingParameters: Hashable, Sendable {
    /// Whether the encoding is sent. Default true.
    public var active: Bool
    /// Upper bound on bits per second; for Opus this sets the encoder's bitrate.
    public var maxBitrate: Int?
    /// Upper bound on frames per second (video only).
    public var maxFramerate: Double?
    /// RTP stream ID (simulcast); fixed once the transceiver exists.
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
