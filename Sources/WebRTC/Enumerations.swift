/// The enumerations of python-webrtc's `webrtc` package. Each exposes `name` (the member's name as the reference
/// spells it) and `value` (its integer value, the member's position in the reference's list).
public protocol WebRTCEnumeration: CaseIterable, Hashable, Sendable {
    /// The member's name ("new", "checking" ...).
    var name: String { get }
    /// The member's integer value.
    var value: Int { get }
}

extension WebRTCEnumeration where Self: RawRepresentable, RawValue == Int {
    public var value: Int { rawValue }
    /// The case name, as Swift prints an enumeration case that has no description of its own.
    public var name: String { String(describing: self) }
}

/// ICE gathering state of the W3C API (`RTCPeerConnection.iceGatheringState`).
public enum RTCIceGatheringState: Int, WebRTCEnumeration { case new, gathering, complete }

/// ICE gathering state as the transport reports it (`RTCIceTransport.gatheringState`).
public enum CricketIceGatheringState: Int, WebRTCEnumeration { case new, gathering, complete }

/// `RTCDtlsTransport.state`.
public enum DtlsTransportState: Int, WebRTCEnumeration { case new, connecting, connected, closed, failed }

/// `MediaStreamTrack` source state.
public enum MediaStreamSourceState: Int, WebRTCEnumeration { case initializing, live, ended, muted }

/// `MediaStreamTrack.readyState`.
public enum MediaStreamTrackState: Int, WebRTCEnumeration { case live, ended }

/// The kind of a track or transceiver.
public enum MediaType: Int, WebRTCEnumeration { case audio, video, data, unsupported }

/// `RTCIceTransport.component`: the RTP or RTCP component (values are the ICE component IDs).
public enum RTCIceComponent: Int, WebRTCEnumeration {
    case rtp = 1
    case rtcp = 2
    public var name: String { self == .rtp ? "RTP" : "RTCP" }
}

/// `RTCPeerConnection.iceConnectionState`.
public enum RTCIceConnectionState: Int, WebRTCEnumeration {
    case new, checking, connected, completed, failed, disconnected, closed, max
}

/// `RTCIceTransport.role`.
public enum RTCIceRole: Int, WebRTCEnumeration { case controlling, controlled, unknown }

/// `RTCIceTransport.state`.
public enum RTCIceTransportState: Int, WebRTCEnumeration {
    case new, checking, connected, completed, disconnected, failed, closed
}

/// `RTCPeerConnection.connectionState`.
public enum RTCPeerConnectionState: Int, WebRTCEnumeration {
    case new, connecting, connected, disconnected, failed, closed
}

/// The type of a session description.
public enum RTCSdpType: Int, WebRTCEnumeration { case offer, pranswer, answer, rollback }

/// `RTCSctpTransport.state`.
public enum SctpTransportState: Int, WebRTCEnumeration { case new, connecting, connected, closed }

/// A transceiver's direction (`RTCRtpTransceiver.direction` / `currentDirection`).
public enum TransceiverDirection: Int, WebRTCEnumeration {
    case sendrecv, sendonly, recvonly, inactive, stopped

    var sends: Bool { self == .sendrecv || self == .sendonly }
    var receives: Bool { self == .sendrecv || self == .recvonly }
}

/// `RTCPeerConnection.signalingState` (W3C; the python reference omits it but every negotiation needs it).
public enum RTCSignalingState: Int, WebRTCEnumeration {
    case stable, haveLocalOffer, haveRemoteOffer, haveLocalPranswer, haveRemotePranswer, closed

    public var name: String {
        switch self {
        case .stable: return "stable"
        case .haveLocalOffer: return "have-local-offer"
        case .haveRemoteOffer: return "have-remote-offer"
        case .haveLocalPranswer: return "have-local-pranswer"
        case .haveRemotePranswer: return "have-remote-pranswer"
        case .closed: return "closed"
        }
    }
}
