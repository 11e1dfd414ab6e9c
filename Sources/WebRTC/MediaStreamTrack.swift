import SkylarkBase
import Synchronization

/// One audio or video track (W3C `MediaStreamTrack`).
///
/// A local audio track comes from an `RTCAudioSource` (`createTrack()`) or `getUserMedia`; a remote one is the
/// `track` of an `RTCRtpReceiver`. Read a track's audio with `RTCAudioSink`.
public final class MediaStreamTrack: Sendable {
    /// A unique identifier (UUID).
    public let id: String
    /// Audio or video; never changes.
    public let kind: MediaType
    /// Whether this track belongs to a receiver (remote media) rather than a local source.
    public let isRemote: Bool
    let source: RTCAudioSource?
    /// For a clone of a remote track: the receiver's own track, whose media this clone follows.
    let origin: MediaStreamTrack?

    struct WeakTrack { weak var track: MediaStreamTrack? }

    struct State {
        var enabled = true
        var muted = false
        var readyState = MediaStreamTrackState.live
        var encodedSinks: [ObjectIdentifier: EncodedAudioSink] = [:]
        var pcmSinks: [ObjectIdentifier: RTCAudioSink] = [:]
        /// On a receiver's track: its clones, which hear the same remote media.
        var followers: [WeakTrack] = []
    }

    let state: Mutex<State>

    init(kind: MediaType, source: RTCAudioSource?, isRemote: Bool, id: String = Identifiers.uuid(), muted: Bool = false,
         origin: MediaStreamTrack? = nil) {
        self.id = id
        self.kind = kind
        self.source = source
        self.isRemote = isRemote
        self.origin = origin
        var initial = State()
        initial.muted = muted
        self.state = Mutex(initial)
    }

    /// When false the track renders silence: senders keep sending, with silent audio.
    public var enabled: Bool {
        get { state.withLock { $0.enabled } }
        set { state.withLock { $0.enabled = newValue } }
    }

    /// True while the track cannot provide media (a remote track before its first packet).
    public var muted: Bool { state.withLock { $0.muted } }

    /// `live` until `stop()` (or the end of the source or of the receiver).
    public var readyState: MediaStreamTrackState { state.withLock { $0.readyState } }

    /// Ends the track: it stops delivering to senders and sinks. Irreversible.
    public func stop() {
        let wasLive = state.withLock { state -> Bool in
            defer { state.readyState = .ended; state.encodedSinks = [:] }
            return state.readyState == .live
        }
        if wasLive { source?.trackEnded(self) }
    }

    /// A new track with a new id on the same source (W3C `clone()`): a clone of a local track is fed by the same
    /// `RTCAudioSource`; a clone of a remote track hears the same receiver. It starts with this track's `enabled`,
    /// `muted` and `readyState`, and from then on is independent: stopping one does not stop the other.
    public func clone() -> MediaStreamTrack {
        let copy: MediaStreamTrack
        if let source {
            copy = source.createTrack()
        } else {
            let root = origin ?? self
            copy = MediaStreamTrack(kind: kind, source: nil, isRemote: isRemote, muted: muted, origin: root)
            root.state.withLock { state in
                state.followers.removeAll { $0.track == nil }
                state.followers.append(WeakTrack(track: copy))
            }
        }
        copy.enabled = enabled
        if readyState == .ended { copy.stop() }
        return copy
    }

    /// The media behind a receiver's track has ended (its transceiver stopped or its connection closed): the
    /// track and every clone of it end.
    func endSource() {
        stop()
        for follower in followers { follower.stop() }
    }

    private var followers: [MediaStreamTrack] { state.withLock { $0.followers.compactMap(\.track) } }

    // MARK: - Delivery

    func addEncodedSink(_ sink: EncodedAudioSink) {
        state.withLock { if $0.readyState == .live { $0.encodedSinks[ObjectIdentifier(sink)] = sink } }
    }

    func removeEncodedSink(_ sink: EncodedAudioSink) {
        _ = state.withLock { $0.encodedSinks.removeValue(forKey: ObjectIdentifier(sink)) }
    }

    func addPCMSink(_ sink: RTCAudioSink) {
        state.withLock { $0.pcmSinks[ObjectIdentifier(sink)] = sink }
    }

    func removePCMSink(_ sink: RTCAudioSink) {
        _ = state.withLock { $0.pcmSinks.removeValue(forKey: ObjectIdentifier(sink)) }
    }

    /// Whether anyone reads this track's PCM (itself or, for a receiver's track, a live clone).
    /// The lowest `maxBitrate` among the senders of this track, or nil when none sets one.
    var bitrateCap: Int? {
        let sinks = state.withLock { $0.readyState == .live ? Array($0.encodedSinks.values) : [] }
        return sinks.compactMap(\.bitrateCap).min()
    }

    var hasPCMSinks: Bool {
        state.withLock { !$0.pcmSinks.isEmpty } || followers.contains { $0.readyState == .live && $0.hasPCMSinks }
    }

    /// Hands an encoded frame to every sender of this track (silence when disabled).
    func deliver(encoded frame: EncodedAudioFrame, silence: @autoclosure () -> EncodedAudioFrame) {
        let (sinks, enabled) = state.withLock { ($0.readyState == .live ? Array($0.encodedSinks.values) : [], $0.enabled) }
        guard !sinks.isEmpty else { return }
        let chosen = enabled ? frame : silence()
        for sink in sinks { sink.consume(chosen) }
    }

    /// Hands PCM to every `RTCAudioSink` on this track and on its clones (zeros where disabled).
    func deliver(pcm event: RTCOnDataEvent) {
        deliverToOwnSinks(pcm: event)
        for follower in followers { follower.deliverToOwnSinks(pcm: event) }
    }

    private func deliverToOwnSinks(pcm event: RTCOnDataEvent) {
        let (sinks, enabled, live) = state.withLock { (Array($0.pcmSinks.values), $0.enabled, $0.readyState == .live) }
        guard live, !sinks.isEmpty else { return }
        let chosen = enabled ? event : event.silenced()
        for sink in sinks { sink.onData?(chosen) }
    }

    /// Media arrived: this track and its clones are no longer muted.
    func markUnmuted() {
        state.withLock { $0.muted = false }
        for follower in followers { follower.state.withLock { $0.muted = false } }
    }
}

/// An Opus frame ready to packetize: payload and its duration in 48 kHz samples (RFC 7587 §4.1).
struct EncodedAudioFrame: Sendable {
    var payload: [UInt8]
    var samples: UInt32
    /// The frame's audio level in -dBov (0 loudest, 127 silence), for RFC 6464.
    var levelDBov: UInt8
}

/// Receives encoded frames from a track (an `RTCRtpSender`).
protocol EncodedAudioSink: AnyObject, Sendable {
    func consume(_ frame: EncodedAudioFrame)
    /// The most bits per second this sink wants (its encoding's `maxBitrate`), or nil for no limit.
    var bitrateCap: Int? { get }
}
