import Runtime
import SkylarkBase
import Synchronization

/// Sends one track's media to the remote peer.
public final class RTCRtpSender: Sendable, EncodedAudioSink {
    struct State {
        var track: MediaStreamTrack?
        var transport: RTCDtlsTransport?
        var streamIDs: [String]
        var encodings: [RtpEncodingParameters]
        var packetsSent: UInt64 = 0
        var bytesSent: UInt64 = 0
        /// RTP sequence number and timestamp of the next packet (random starts, RFC 3550 §5.1).
        var sequenceNumber = UInt16.random(in: 0...UInt16.max)
        var timestamp = UInt32.random(in: 0...UInt32.max)
        var sentFirstPacket = false
        /// For sender reports: the RTP timestamp and wall time of the latest packet.
        var lastPacketTimestamp: UInt32 = 0
    }

    let kind: MediaType
    /// The SSRC this sender's RTP carries (chosen at random, RFC 3550 §8.1).
    public let ssrc: UInt32
    /// The track id SDP announces while no track is attached (`a=msid`).
    let placeholderTrackID = Identifiers.uuid()
    let state: Mutex<State>
    /// Where encoded frames go: the owning connection, which packetizes and sends them on its queue.
    private let deliver = CallbackSlot<@Sendable (RTCRtpSender, EncodedAudioFrame) -> Void>()

    init(kind: MediaType, track: MediaStreamTrack?, streamIDs: [String], encodings: [RtpEncodingParameters]) {
        self.kind = kind
        var generator = SystemRandomNumberGenerator()
        self.ssrc = UInt32.random(in: 1...UInt32.max, using: &generator)
        self.state = Mutex(State(track: track, streamIDs: streamIDs, encodings: encodings))
    }

    /// The track being sent, or nil when the sender sends nothing.
    public var track: MediaStreamTrack? { state.withLock { $0.track } }

    /// The DTLS transport, once negotiated.
    public var transport: RTCDtlsTransport? { state.withLock { $0.transport } }

    /// RTP packets and payload bytes sent so far.
    public var packetsSent: UInt64 { state.withLock { $0.packetsSent } }
    public var bytesSent: UInt64 { state.withLock { $0.bytesSent } }

    /// Swaps the track being sent without renegotiation (W3C `replaceTrack`); nil sends nothing.
    public func replaceTrack(_ track: MediaStreamTrack?) throws(RTCException) {
        if let track, track.kind != kind {
            throw .invalidAccess("a \(track.kind) track cannot replace a \(kind) sender's track")
        }
        let old = state.withLock { state -> MediaStreamTrack? in
            defer { state.track = track }
            return state.track
        }
        old?.removeEncodedSink(self)
        if deliver.function != nil { track?.addEncodedSink(self) }
    }

    func attach(_ handler: @escaping @Sendable (RTCRtpSender, EncodedAudioFrame) -> Void) {
        deliver.function = handler
        track?.addEncodedSink(self)
    }

    func detach() {
        deliver.function = nil
        track?.removeEncodedSink(self)
    }

    /// Sends the frame unless the encoding is inactive (W3C: an encoding with `active == false` sends nothing).
    func consume(_ frame: EncodedAudioFrame) {
        guard state.withLock({ $0.encodings.first?.active ?? true }) else { return }
        deliver.function?(self, frame)
    }

    /// The `maxBitrate` of the encoding while it is active.
    var bitrateCap: Int? {
        state.withLock { state in state.encodings.first.flatMap { $0.active ? $0.maxBitrate : nil } }
    }
}
