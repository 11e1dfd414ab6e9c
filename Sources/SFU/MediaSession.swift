import DTLS
import ICE
import RTP
import SkylarkBase
import Transport

/// What a viewer sends for one kind of media: its own SSRC, and the mapping from the publisher's sequence
/// numbers and timestamps to its own, kept continuous when the publisher changes (RFC 3550 §5.1 / §8.2).
struct OutgoingStream {
    let ssrc: UInt32
    let payloadType: UInt8
    let clockRate: UInt32
    /// The publisher SSRC the offsets were computed for.
    var sourceSSRC: UInt32?
    var sequenceOffset: UInt16 = 0
    var timestampOffset: UInt32 = 0
    var lastSequence = UInt16.random(in: 0...UInt16.max)
    var lastTimestamp = UInt32.random(in: 0...UInt32.max)
    var lastSendTime: Instant?
    var packetsSent: UInt32 = 0
    var octetsSent: UInt32 = 0
    /// The viewer sequence number the current source started at: older ones belong to another source.
    var sourceStartSequence: UInt16 = 0
    /// RTX (RFC 4588) for this stream, when the viewer negotiated it: its payload type, SSRC and sequence numbers.
    var retransmission: (payloadType: UInt8, ssrc: UInt32, nextSequence: UInt16)?

    init(ssrc: UInt32, payloadType: UInt8, clockRate: UInt32) {
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.clockRate = clockRate
    }

    /// The viewer's sequence number and timestamp for a publisher packet.
    mutating func map(sourceSSRC: UInt32, sequence: UInt16, timestamp: UInt32, now: Instant) -> (UInt16, UInt32) {
        if self.sourceSSRC != sourceSSRC {
            // A new source continues right after what the viewer last got, as if a packet was merely late.
            let elapsed = lastSendTime.map { now - $0 } ?? .milliseconds(20)
            let ticks = UInt32(clamping: Int64(Double(clockRate) * elapsed.seconds))
            sequenceOffset = lastSequence &+ 1 &- sequence
            timestampOffset = lastTimestamp &+ max(ticks, 1) &- timestamp
            self.sourceSSRC = sourceSSRC
            sourceStartSequence = lastSequence &+ 1
        }
        let outSequence = sequence &+ sequenceOffset
        let outTimestamp = timestamp &+ timestampOffset
        // Only move forward: a reordered packet keeps its place but does not rewind the state.
        if Int16(bitPattern: outSequence &- lastSequence) > 0 || packetsSent == 0 {
            lastSequence = outSequence
            lastTimestamp = outTimestamp
            lastSendTime = now
        }
        return (outSequence, outTimestamp)
    }

    /// Maps a publisher packet for this viewer and counts it for the sender reports.
    mutating func forward(_ header: RTPHeader, payloadBytes: Int, now: Instant) -> (sequence: UInt16, timestamp: UInt32) {
        let (sequence, timestamp) = map(sourceSSRC: header.ssrc, sequence: header.sequenceNumber,
                                        timestamp: header.timestamp, now: now)
        packetsSent &+= 1
        octetsSent &+= UInt32(truncatingIfNeeded: payloadBytes)
        return (sequence, timestamp)
    }

    /// The publisher's sequence number for one this viewer was sent, for answering NACKs; nil when it was sent
    /// from an earlier source or not sent yet.
    func sourceSequence(forViewerSequence sequence: UInt16) -> UInt16? {
        guard sourceSSRC != nil, Int16(bitPattern: sequence &- sourceStartSequence) >= 0,
              Int16(bitPattern: lastSequence &- sequence) >= 0 else { return nil }
        return sequence &- sequenceOffset
    }
}

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

    // Publisher side
    var receiveStatistics: [UInt32: RTPReceiveStatistics] = [:]
    var lastSenderReport: [UInt32: (middle: UInt32, arrival: Instant)] = [:]
    /// Recent video packets for answering viewers' NACKs, indexed by sequence number modulo the size.
    var videoHistory: [[UInt8]?] = []
    var videoSSRC: UInt32?
    var audioSSRC: UInt32?
    /// A fixed SSRC for the RTCP the server sends as a receiver.
    let rtcpSSRC = UInt32.random(in: 1...UInt32.max)

    init(id: String, role: Role, stream: String, transport: BundleTransport, offer: NegotiatedOffer, etag: String,
         answer: String, now: Instant, wallClock: UInt64) {
        self.id = id
        self.role = role
        self.stream = stream
        self.transport = transport
        self.offer = offer
        self.etag = etag
        self.answer = answer
        self.created = now
        self.createdWallClock = wallClock
    }

    static let videoHistorySize = 512

    func rememberVideo(_ packet: UnsafeRawBufferPointer, sequence: UInt16) {
        if videoHistory.isEmpty { videoHistory = Array(repeating: nil, count: MediaSession.videoHistorySize) }
        videoHistory[Int(sequence) % MediaSession.videoHistorySize] = Array(packet)
    }

    func videoPacket(sequence: UInt16) -> [UInt8]? {
        guard !videoHistory.isEmpty, let packet = videoHistory[Int(sequence) % MediaSession.videoHistorySize],
              packet.count >= 4, UInt16(packet[2]) << 8 | UInt16(packet[3]) == sequence else { return nil }
        return packet
    }
}
