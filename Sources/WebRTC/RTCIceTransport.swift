import Synchronization

/// The ICE layer under a peer connection's DTLS transport (one per connection: everything is bundled).
public final class RTCIceTransport: Sendable {
    struct State {
        var gatheringState = CricketIceGatheringState.new
        var role = RTCIceRole.unknown
        var state = RTCIceTransportState.new
        var selectedPair: (local: String, remote: String)?
    }

    let stateBox = Mutex(State())

    init() {}

    /// Always `RTP`: with rtcp-mux there is no separate RTCP component.
    public var component: RTCIceComponent { .rtp }
    /// Whether local candidates are being gathered.
    public var gatheringState: CricketIceGatheringState { stateBox.withLock { $0.gatheringState } }
    /// Whether this agent decides the pair (controlling) or follows (controlled).
    public var role: RTCIceRole { stateBox.withLock { $0.role } }
    /// The ICE connection state.
    public var state: RTCIceTransportState { stateBox.withLock { $0.state } }
    /// The candidate pair in use as SDP candidate values (local, remote), once one is selected.
    public var selectedCandidatePair: (local: String, remote: String)? { stateBox.withLock { $0.selectedPair } }
}
