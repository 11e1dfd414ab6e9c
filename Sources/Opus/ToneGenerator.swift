import Glibc

/// A sine tone as successive 10 ms frames of interleaved 16-bit PCM, phase-continuous across frames, with the
/// same sample in every channel. Used as a synthetic microphone and as a known signal in tests.
public struct ToneGenerator: Sendable {
    /// Tone frequency in Hz; may be changed between frames without a phase jump.
    public var frequency: Double
    /// Peak amplitude as a fraction of full scale, 0...1.
    public var amplitude: Double
    public let sampleRate: Int
    public let channels: Int
    /// Current phase in radians, 0..<2π.
    public private(set) var phase: Double = 0

    public init(frequency: Double = 440, amplitude: Double = 0.5, sampleRate: Int = 48_000, channels: Int = 1) {
        self.frequency = frequency
        self.amplitude = min(max(amplitude, 0), 1)
        self.sampleRate = max(sampleRate, 1)
        self.channels = max(channels, 1)
    }

    /// Samples per channel in one 10 ms frame.
    public var samplesPerFrame: Int { sampleRate / 100 }

    /// The next 10 ms of audio: `samplesPerFrame × channels` interleaved samples.
    public mutating func nextFrame() -> [Int16] {
        var frame = [Int16](repeating: 0, count: samplesPerFrame * channels)
        frame.withUnsafeMutableBufferPointer { fill($0) }
        return frame
    }

    /// Fills `buffer` with the next `buffer.count / channels` samples per channel (a trailing partial sample
    /// group is left untouched).
    public mutating func fill(_ buffer: UnsafeMutableBufferPointer<Int16>) {
        let step = 2 * Double.pi * frequency / Double(sampleRate)
        let scale = amplitude * Double(Int16.max)
        var index = 0
        while index + channels <= buffer.count {
            let sample = Int16((sin(phase) * scale).rounded())
            for channel in 0..<channels { buffer[index + channel] = sample }
            index += channels
            phase += step
            if phase >= 2 * Double.pi { phase -= 2 * Double.pi }
        }
    }
}
