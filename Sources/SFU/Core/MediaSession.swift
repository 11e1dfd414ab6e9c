import DTLS
import ICE
import RTP
import SkylarkBase
import Transport

/// Traffic counters of a session, for the API, metrics and history.
public struct SessionCounters: Sendable, Equatable {
    public var packetsIn: UInt64 = 0
    public var bytesIn: UInt64 = 0
    public var packetsOut: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Packets the client reported lost (viewers, from RTCP receiver reports) or that never arrived (publishers).
    public var packetsLost: Int64 = 0
    /// Interarrival jitter in seconds.
    public var jitter: Double = 0
    /// Round-trip time from RTCP (viewers) in seconds.
    public var roundTripTime: Double?
    /// Datagrams dropped as garbage, unauthenticated or replayed.
    public var rejected: UInt64 = 0
}

/// One WHIP (publisher) or WHEP (viewer) session: the transport and what it negotiated.
final class MediaSession {
    enum Role: String, Sendable { case publisher, viewer }

    let id: String
    let role: Role
    let stream: String
    let transport: BundleTransport
    var offer: NegotiatedOffer
    var etag: String
    let created: Instant
    let createdWallClock: UInt64
    var answer: String
    /// The client's address once a check arrived; media goes to the selected pair.
    var remoteAddresses: Set<SocketAddress> = []
    var connectedAt: Instant?
    var isConnected: Bool { transport.srtp != nil }
    var counters = SessionCounters()
    /// What the relay itself dropped for this session (the transport counts its own).
    var drops = DatagramDrops()
    /// Why the transport failed, for the log and the session history.
    var failure: String?
    /// The transport's next deadline, as of the last time the session was touched.
    var deadline: Instant?
    /// Touched since the last check of whether it should end.
    var changed = false
    /// When its next RTCP report is due.
    var nextReport: Instant = .zero

    // Viewer side
    var audioOut: OutgoingStream?
    var videoOut: OutgoingStream?
    var lastKeyframeRequest: Instant = .zero
    /// The publisher video codec last checked against this viewer's, and whether the viewer decodes it.
    var checkedVideoSource: VideoCodec?
    var decodesVideoSource = false
    /// Set when the stream's video turned out to be a codec this viewer's answer does not have: the session ends
    /// (the client reconnects to be answered with it) rather than be sent packets it cannot decode.
    var undecodableVideo: VideoCodec?
    /// Which of the publisher's video layers this viewer gets.
    var layers = LayerSelection()
    /// Video packets sent and asked for again (NACK) since the last receiver report, for the loss signal.
    var videoSentAtLastReport: UInt32 = 0
    var nackedSinceLastReport = 0

    // Publisher side
    var receiveStatistics: [UInt32: RTPReceiveStatistics] = [:]
    var lastSenderReport: [UInt32: (middle: UInt32, arrival: Instant)] = [:]
    /// Its video layers (one without simulcast), their recent packets and ranking.
    var video: PublisherVideo
    var audioSSRC: UInt32?
    /// A fixed SSRC for the RTCP the server sends as a receiver.
    let rtcpSSRC: UInt32

    init(id: String, role: Role, stream: String, transport: BundleTransport, offer: NegotiatedOffer, etag: String,
         answer: String, rtcpSSRC: UInt32, now: Instant, wallClock: UInt64) {
        self.id = id
        self.role = role
        self.stream = stream
        self.transport = transport
        self.offer = offer
        self.etag = etag
        self.answer = answer
        self.rtcpSSRC = rtcpSSRC
        self.created = now
        self.createdWallClock = wallClock
        video = PublisherVideo(section: role == .publisher ? offer.video : nil)
    }
}
