import Opus
import Synchronization

/// An RTP packet as received, after decryption: header fields and payload.
public struct RTCRtpPacket: Sendable {
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var marker: Bool
    /// The codec payload (Opus frame for audio).
    public var payload: [UInt8]
    /// RFC 6464 audio level in -dBov when the sender included it.
    public var audioLevel: UInt8?
}

/// Receives one remote track.
public final class RTCRtpReceiver: Sendable {
    struct State {
        var transport: RTCDtlsTransport?
        var remoteSSRC: UInt32?
        var packetsReceived: UInt64 = 0
        var bytesReceived: UInt64 = 0
        var lastAudioLevel: Double = 0
        var decoder: OpusDecoder?
        var reorder = ReorderBuffer()
        /// Samples per channel of the last decoded frame, for concealing a lost one.
        var lastFrameSize = 960
        var onPacket: (@Sendable (RTCRtpPacket) -> Void)?
    }

    /// The remote track; it exists from the moment the receiver does and is muted until media arrives.
    public let track: MediaStreamTrack
    let state = Mutex(State())

    init(kind: MediaType) {
        track = MediaStreamTrack(kind: kind, source: nil, isRemote: true, muted: true)
    }

    /// The DTLS transport, once negotiated.
    public var transport: RTCDtlsTransport? { state.withLock { $0.transport } }

    /// Called with every RTP packet of this receiver, on the peer connection's queue.
    public var onPacket: (@Sendable (RTCRtpPacket) -> Void)? {
        get { state.withLock { $0.onPacket } }
        set { state.withLock { $0.onPacket = newValue } }
    }

    /// RTP packets and payload bytes received so far.
    public var packetsReceived: UInt64 { state.withLock { $0.packetsReceived } }
    public var bytesReceived: UInt64 { state.withLock { $0.bytesReceived } }
    /// Linear level (0...1) of the latest decoded audio, as W3C `audioLevel`; decoded only while an
    /// `RTCAudioSink` reads the track.
    public var audioLevel: Double { state.withLock { $0.lastAudioLevel } }
}
