import DTLS
import SkylarkBase

/// A STUN or TURN server (W3C `RTCIceServer`). Skylark's library gathers host candidates only; the servers are
/// kept so applications (and WHIP `Link` headers) can pass them along.
public struct RTCIceServer: Hashable, Sendable {
    public var urls: [String]
    public var username: String?
    public var credential: String?

    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }
}

/// Settings for an `RTCPeerConnection`.
public struct RTCConfiguration: Sendable {
    /// STUN/TURN servers (see `RTCIceServer`).
    public var iceServers: [RTCIceServer]
    /// Local IP addresses to gather host candidates on. Empty means every interface that is up (loopback only
    /// when `includeLoopback` is set, or when nothing else exists).
    public var bindAddresses: [IPAddress]
    /// Gather 127.0.0.1 and ::1 too (off by default, as browsers do).
    public var includeLoopback: Bool
    /// Offer IPv6 host candidates.
    public var includeIPv6: Bool
    /// Act as an ICE-lite agent (RFC 8445 §2.5): answer checks, never send them. For servers with public addresses.
    public var iceLite: Bool
    /// The DTLS certificate and settings; by default one generated per process and shared.
    public var dtlsContext: DTLSContext?
    /// Where packets and timers go: real UDP (default), or any `PeerNetwork`, e.g. an in-memory one for tests.
    public var network: PeerNetwork?

    public init(iceServers: [RTCIceServer] = [], bindAddresses: [IPAddress] = [], includeLoopback: Bool = false,
                includeIPv6: Bool = true, iceLite: Bool = false, dtlsContext: DTLSContext? = nil,
                network: PeerNetwork? = nil) {
        self.iceServers = iceServers
        self.bindAddresses = bindAddresses
        self.includeLoopback = includeLoopback
        self.includeIPv6 = includeIPv6
        self.iceLite = iceLite
        self.dtlsContext = dtlsContext
        self.network = network
    }
}

/// A trickled ICE candidate (W3C `RTCIceCandidate`); `candidate` is the SDP `a=candidate` value with its
/// `candidate:` prefix, and an empty `candidate` means end of candidates.
public struct RTCIceCandidate: Hashable, Sendable {
    public var candidate: String
    public var sdpMid: String?
    public var sdpMLineIndex: Int?

    public init(candidate: String, sdpMid: String? = nil, sdpMLineIndex: Int? = nil) {
        self.candidate = candidate
        self.sdpMid = sdpMid
        self.sdpMLineIndex = sdpMLineIndex
    }
}

/// The `track` event: a remote track arrived with the transceiver carrying it.
public struct RTCTrackEvent: Sendable {
    public var track: MediaStreamTrack
    public var receiver: RTCRtpReceiver
    public var transceiver: RTCRtpTransceiver
    /// Streams the remote SDP associated with the track (`a=msid`).
    public var streams: [MediaStream]
}

/// Everything an `RTCPeerConnection` reports, as delivered on `events`.
public enum RTCPeerConnectionEvent: Sendable {
    case track(RTCTrackEvent)
    /// A gathered local candidate; nil after the last one.
    case iceCandidate(RTCIceCandidate?)
    case iceGatheringStateChange(RTCIceGatheringState)
    case iceConnectionStateChange(RTCIceConnectionState)
    case connectionStateChange(RTCPeerConnectionState)
    case signalingStateChange(RTCSignalingState)
}
