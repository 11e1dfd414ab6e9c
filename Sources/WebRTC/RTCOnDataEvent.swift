/// A chunk of PCM audio: what `RTCAudioSource.onData` takes and what `RTCAudioSink.onData` gives.
/// It should hold 10 ms of audio. Samples are 16-bit signed, interleaved when there are two channels.
public struct RTCOnDataEvent: Sendable {
    /// The samples, interleaved by channel.
    public var samples: [Int16]
    /// Samples per second per channel (8000, 12000, 16000, 24000 or 48000).
    public var sampleRate: Int
    /// Bits per sample of the audio this event describes. 16 for every event the library makes; an event built
    /// from `audioData` with another size carries no samples and `RTCAudioSource.onData` ignores it.
    public var bitsPerSample: Int
    /// 1 or 2.
    public var channelCount: Int
    /// Samples per channel (480 for 10 ms at 48 kHz).
    public var numberOfFrames: Int

    /// A chunk from interleaved samples; `numberOfFrames` is `samples.count / channelCount`.
    public init(samples: [Int16], sampleRate: Int = 48_000, channelCount: Int = 1) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.bitsPerSample = 16
        self.channelCount = max(1, channelCount)
        self.numberOfFrames = samples.count / max(1, channelCount)
    }

    /// A chunk from raw bytes, as the reference's `RTCOnDataEvent(audio_data, number_of_frames)`. With 16 bits per
    /// sample (the only size WebRTC audio sources take) the bytes are little-endian signed samples; with any other
    /// size the event keeps `bitsPerSample` but holds no samples, so a source drops it instead of misreading it.
    public init(audioData: [UInt8], numberOfFrames: Int, sampleRate: Int = 48_000, bitsPerSample: Int = 16,
                channelCount: Int = 1) {
        self.bitsPerSample = bitsPerSample
        var samples = [Int16](repeating: 0, count: bitsPerSample == 16 ? audioData.count / 2 : 0)
        for i in 0..<samples.count {
            samples[i] = Int16(bitPattern: UInt16(audioData[2 * i]) | UInt16(audioData[2 * i + 1]) << 8)
        }
        self.samples = samples
        self.sampleRate = sampleRate
        self.channelCount = max(1, channelCount)
        self.numberOfFrames = numberOfFrames
    }

    /// The samples as little-endian bytes (the reference's `audio_data`).
    public var audioData: [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(samples.count * 2)
        for sample in samples {
            let raw = UInt16(bitPattern: sample)
            bytes.append(UInt8(truncatingIfNeeded: raw))
            bytes.append(UInt8(truncatingIfNeeded: raw >> 8))
        }
        return bytes
    }

    func silenced() -> RTCOnDataEvent {
        var copy = self
        copy.samples = [Int16](repeating: 0, count: samples.count)
        return copy
    }
}
