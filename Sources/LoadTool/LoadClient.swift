import DTLS
import ICE
import SkylarkBase
import UDPRuntime
import Transport

/// A client whose offer was answered, on its way to the shard that will own it.
struct PendingClient: Sendable {
    var role: LoadClient.Role
    var index: Int
    var socket: UDPSocket
    var credentials: ICECredentials
    var answer: AnswerSummary
    /// The session's path (from Location), for DELETE.
    var sessionPath: String
    var postSentAt: UInt64
    var ssrc: UInt32
    var video: VideoLoad
    /// A publisher's video SSRCs, one per layer, lowest first.
    var videoSSRCs: [UInt32]
}

/// One WHIP publisher or WHEP viewer: its own UDP socket and a full ICE (controlling) + DTLS + SRTP transport.
/// Owned by one shard's queue.
final class LoadClient {
    enum Role: String, Sendable { case publisher, viewer }
    enum Phase: Equatable { case connecting, secured, media, failed }

    let role: Role
    let index: Int
    let socket: UDPSocket
    let transport: BundleTransport
    let sessionPath: String
    let postSentAt: UInt64
    var phase: Phase = .connecting
    /// Cached `transport.nextDeadline`, refreshed after control traffic only (media does not move it).
    var deadline: Instant?
    var tracker = ReceiveTracker()
    var lastMediaAt: UInt64 = 0

    // Viewer video
    /// Whether this viewer asked for video (and so is not done joining until it arrives).
    let expectsVideo: Bool
    var videoTracker = ReceiveTracker()
    var hasVideo = false
    var lastVideoAt: UInt64 = 0
    /// The publisher's layer the last video packet came from (the index the payload carries).
    var videoLayer = 0

    // Publisher
    let ssrc: UInt32
    var sequence = UInt16.random(in: 0...UInt16.max)
    var rtpTimestamp = UInt32.random(in: 0...UInt32.max)
    var counter: UInt64 = 0
    var nextSendAt: UInt64 = 0
    var packet: [UInt8] = []
    var video: VideoSender?

    init(_ pending: PendingClient, context: DTLSContext) throws(DTLSError) {
        role = pending.role
        index = pending.index
        socket = pending.socket
        sessionPath = pending.sessionPath
        postSentAt = pending.postSentAt
        ssrc = pending.ssrc
        expectsVideo = pending.role == .viewer && pending.video != .none
        if pending.role == .publisher && pending.video != .none {
            video = VideoSender(video: pending.video, ssrcs: pending.videoSSRCs)
        }
        let agent = ICEAgent(role: .controlling, localCredentials: pending.credentials)
        agent.addLocalCandidate(.host(address: pending.socket.localAddress))
        agent.setRemoteCredentials(pending.answer.credentials)
        for candidate in pending.answer.candidates { agent.addRemoteCandidate(candidate) }
        agent.setRemoteEndOfCandidates()
        transport = BundleTransport(ice: agent, dtlsContext: context)
        try transport.configureDTLS(role: pending.answer.dtlsRole, remoteFingerprints: pending.answer.fingerprints)
    }

    /// What a stuck client was doing, for the failure reason.
    var stateDescription: String {
        let dtls = transport.dtls.map { "\($0.state)" } ?? "none"
        return "ICE \(transport.iceState), DTLS \(dtls)"
    }

    /// Writes the next 20 ms packet: RTP header, then the send time (CLOCK_REALTIME ns) and a counter, then filler.
    func nextPacket(payloadSize: Int, now: UInt64) -> [UInt8] {
        packet.removeAll(keepingCapacity: true)
        packet.reserveCapacity(12 + payloadSize + 32)
        packet.append(0x80)
        packet.append(OfferWriter.opusPayloadType)
        packet.appendUInt16(sequence)
        packet.appendUInt32(rtpTimestamp)
        packet.appendUInt32(ssrc)
        packet.appendUInt64(now)
        packet.appendUInt64(counter)
        if payloadSize > 16 { packet.append(contentsOf: repeatElement(0xA5, count: payloadSize - 16)) }
        sequence &+= 1
        rtpTimestamp &+= 960  // 20 ms at 48 kHz (RFC 7587 §4.1)
        counter &+= 1
        return packet
    }
}
