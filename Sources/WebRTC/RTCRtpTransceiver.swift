import Runtime
import SkylarkBase
import Synchronization

/// A sender and a receiver that share one m-section (mid).
public final class RTCRtpTransceiver: Sendable {
    struct State {
        var mid: String?
        var direction: TransceiverDirection
        var currentDirection: TransceiverDirection?
        var stopped = false
        /// Payload type negotiated for Opus, and header-extension IDs.
        var payloadType: UInt8 = 111
        var midExtensionID: UInt8?
        var audioLevelExtensionID: UInt8?
        /// Whether this transceiver was created by `addTrack` (may be reused for a remote offer, JSEP §5.10).
        var createdByAddTrack = false
        /// Rejected by the answer (port 0).
        var rejected = false
        /// The track event for this receiver has been fired.
        var trackEventFired = false
    }

    /// Audio or video.
    public let kind: MediaType
    /// Sends this transceiver's media.
    public let sender: RTCRtpSender
    /// Receives this transceiver's media.
    public let receiver: RTCRtpReceiver
    let state: Mutex<State>
    let onStop = CallbackSlot<@Sendable (RTCRtpTransceiver) -> Void>()

    init(kind: MediaType, sender: RTCRtpSender, receiver: RTCRtpReceiver, direction: TransceiverDirection) {
        self.kind = kind
        self.sender = sender
        self.receiver = receiver
        self.state = Mutex(State(direction: direction))
    }

    /// The m-section's media ID once negotiated, else nil.
    public var mid: String? { state.withLock { $0.mid } }

    /// The preferred direction; setting it takes effect at the next negotiation.
    public var direction: TransceiverDirection {
        get { state.withLock { $0.direction } }
        set {
            state.withLock { state in
                if !state.stopped && newValue != .stopped { state.direction = newValue }
            }
        }
    }

    /// The direction negotiated last, nil before any negotiation, `stopped` after `stop()`.
    public var currentDirection: TransceiverDirection? { state.withLock { $0.currentDirection } }

    /// Deprecated in W3C: true once stopped.
    public var stopped: Bool { state.withLock { $0.stopped } }

    /// Stops sending and receiving for good.
    public func stop() {
        let first = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.stopped = true
            state.direction = .stopped
            state.currentDirection = .stopped
            return true
        }
        guard first else { return }
        sender.detach()
        receiver.track.endSource()
        onStop.function?(self)
    }
}
