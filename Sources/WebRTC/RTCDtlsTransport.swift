import Synchronization

/// The DTLS layer RTP and RTCP flow over (one per connection: everything is bundled).
public final class RTCDtlsTransport: Sendable {
    /// The ICE transport underneath.
    public let iceTransport: RTCIceTransport
    let stateBox = Mutex(DtlsTransportState.new)

    init(iceTransport: RTCIceTransport) { self.iceTransport = iceTransport }

    /// The DTLS state.
    public var state: DtlsTransportState { stateBox.withLock { $0 } }
}

/// The SCTP transport for data channels. Skylark negotiates no data channels yet, so
/// `RTCPeerConnection.sctp` is nil; the type exists for API completeness.
public final class RTCSctpTransport: Sendable {
    /// The DTLS transport SCTP runs over.
    public let transport: RTCDtlsTransport
    /// The SCTP state.
    public let state: SctpTransportState
    /// How many data channels may be open at once, when known.
    public let maxChannels: Int?
    /// The largest message `send` accepts, in bytes, when known.
    public let maxMessageSize: Double?

    init(transport: RTCDtlsTransport, state: SctpTransportState, maxChannels: Int?, maxMessageSize: Double?) {
        self.transport = transport
        self.state = state
        self.maxChannels = maxChannels
        self.maxMessageSize = maxMessageSize
    }
}
