import Glibc
import Opus
import Runtime
import SkylarkBase
import Synchronization

/// A source of local audio: push 10 ms of PCM with `onData` and every live track made by `createTrack()` sends
/// it, Opus-encoded, on the peer connections it was added to.
///
/// Audio is encoded once per source (20 ms Opus frames) and the packets are shared by every sender; the encoder's
/// bitrate is the lowest `maxBitrate` of those senders' encodings (libopus's own choice when none sets one).
public final class RTCAudioSource: Sendable {
    private struct State {
        var tracks: [ObjectIdentifier: WeakTrack] = [:]
        var encoder: OpusEncoder?
        var encoderFormat: (rate: Int, channels: Int) = (0, 0)
        var pending: [Int16] = []
        var silence: EncodedAudioFrame?
        /// The bitrate last given to `encoder` (nil: libopus's automatic choice), once one was given.
        var appliedBitrate: Int??
    }

    private struct WeakTrack { weak var track: MediaStreamTrack? }

    private let state = Mutex(State())
    /// Opus frame duration.
    static let frameMilliseconds = 20

    public init() {}

    /// A new live audio track fed by this source.
    public func createTrack() -> MediaStreamTrack {
        let track = MediaStreamTrack(kind: .audio, source: self, isRemote: false)
        state.withLock { $0.tracks[ObjectIdentifier(track)] = WeakTrack(track: track) }
        return track
    }

    /// Pushes PCM (ideally 10 ms) to every live track of this source. Formats Opus cannot take directly
    /// (sample rates other than 8/12/16/24/48 kHz, more than 2 channels, other sample sizes) are dropped.
    public func onData(_ data: RTCOnDataEvent) {
        guard data.bitsPerSample == 16, [8_000, 12_000, 16_000, 24_000, 48_000].contains(data.sampleRate),
              (1...2).contains(data.channelCount), data.samples.count == data.numberOfFrames * data.channelCount else { return }
        // Local PCM sinks hear the raw input.
        let tracks = liveTracks()
        guard !tracks.isEmpty else { return }
        for track in tracks where track.hasPCMSinks { track.deliver(pcm: data) }
        // One encoder serves every sender, so it keeps under the lowest `maxBitrate` any of them asks for.
        let bitrateCap = tracks.compactMap(\.bitrateCap).min()
        let frames: [(EncodedAudioFrame, EncodedAudioFrame)] = state.withLock { state in
            if state.encoderFormat != (data.sampleRate, data.channelCount) || state.encoder == nil {
                state.encoder = try? OpusEncoder(sampleRate: data.sampleRate, channels: data.channelCount, application: .audio)
                state.encoderFormat = (data.sampleRate, data.channelCount)
                state.pending.removeAll()
                state.silence = nil
                state.appliedBitrate = nil
            }
            guard let encoder = state.encoder else { return [] }
            if state.appliedBitrate != .some(bitrateCap) {
                try? encoder.setBitrate(bitrateCap.map { min(max($0, 500), 512_000) })
                state.appliedBitrate = .some(bitrateCap)
            }
            state.pending.append(contentsOf: data.samples)
            let frameSamples = data.sampleRate * RTCAudioSource.frameMilliseconds / 1000 * data.channelCount
            var out: [(EncodedAudioFrame, EncodedAudioFrame)] = []
            while state.pending.count >= frameSamples {
                let pcm = Array(state.pending.prefix(frameSamples))
                state.pending.removeFirst(frameSamples)
                let frameSize = frameSamples / data.channelCount
                guard let payload = try? encoder.encode(pcm, frameSize: frameSize) else { continue }
                let samples48k = UInt32(RTCAudioSource.frameMilliseconds * 48)
                let frame = EncodedAudioFrame(payload: payload, samples: samples48k, levelDBov: Self.levelDBov(pcm))
                if state.silence == nil {
                    let zeros = [Int16](repeating: 0, count: frameSamples)
                    if let silent = try? OpusEncoder(sampleRate: data.sampleRate, channels: data.channelCount,
                                                     application: .audio).encode(zeros, frameSize: frameSize) {
                        state.silence = EncodedAudioFrame(payload: silent, samples: samples48k, levelDBov: 127)
                    }
                }
                out.append((frame, state.silence ?? frame))
            }
            return out
        }
        for (frame, silence) in frames {
            for track in tracks { track.deliver(encoded: frame, silence: silence) }
        }
    }

    func trackEnded(_ track: MediaStreamTrack) {
        _ = state.withLock { $0.tracks.removeValue(forKey: ObjectIdentifier(track)) }
    }

    private func liveTracks() -> [MediaStreamTrack] {
        state.withLock { state in
            state.tracks = state.tracks.filter { $0.value.track != nil }
            return state.tracks.values.compactMap(\.track).filter { $0.readyState == .live }
        }
    }

    /// RFC 6464 §3: the level in -dBov, 0 (loudest) to 127 (silence).
    static func levelDBov(_ pcm: [Int16]) -> UInt8 {
        guard !pcm.isEmpty else { return 127 }
        var sum = 0.0
        for sample in pcm { let v = Double(sample) / 32768; sum += v * v }
        let rms = (sum / Double(pcm.count)).squareRoot()
        guard rms > 0 else { return 127 }
        let dB = 20 * log10(rms)
        return UInt8(min(127, max(0, -dB.rounded())))
    }
}

/// Reads the audio of a track as PCM (as node-webrtc's nonstandard `RTCAudioSink`): remote tracks give decoded
/// Opus at 48 kHz, local tracks give what their source was fed.
public final class RTCAudioSink: Sendable {
    /// The track being read.
    public let track: MediaStreamTrack
    private let handler = CallbackSlot<@Sendable (RTCOnDataEvent) -> Void>()

    /// Called with each chunk of audio, on the thread that produced it (a remote track's peer-connection queue).
    public var onData: (@Sendable (RTCOnDataEvent) -> Void)? {
        get { handler.function }
        set { handler.function = newValue }
    }

    /// Starts reading `track`.
    public init(track: MediaStreamTrack) {
        self.track = track
        track.addPCMSink(self)
    }

    /// Stops reading.
    public func stop() { track.removePCMSink(self) }
}
