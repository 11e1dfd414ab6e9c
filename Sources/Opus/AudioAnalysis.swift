import Glibc

/// Measurements of 16-bit PCM: level and pitch of a signal, for tests and for audio-level statistics.
///
/// Levels are relative to full scale (32768): a full-scale square wave has RMS 1.0 (0 dBFS), a full-scale sine
/// 0.707 (−3.01 dBFS).
public enum AudioAnalysis {
    /// Root mean square of the samples, 0...1 of full scale; 0 for no samples.
    public static func rms(_ samples: UnsafeBufferPointer<Int16>) -> Double {
        guard !samples.isEmpty else { return 0 }
        var sum = 0.0
        for sample in samples {
            let value = Double(sample)
            sum += value * value
        }
        return min((sum / Double(samples.count)).squareRoot() / 32768, 1)
    }

    public static func rms(_ samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { rms($0) }
    }

    /// Lowest level reported, as in RFC 6464's audio level (−127 dBov), instead of −∞ for silence.
    public static let silenceDBFS = -127.0

    /// RMS level in dBFS (20·log10 of `rms`), clamped below at `silenceDBFS`.
    public static func levelDBFS(_ samples: UnsafeBufferPointer<Int16>) -> Double {
        let value = rms(samples)
        guard value > 0 else { return silenceDBFS }
        return max(20 * log10(value), silenceDBFS)
    }

    public static func levelDBFS(_ samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { levelDBFS($0) }
    }

    /// The W3C `audioLevel` of these samples (webrtc-stats, RTCAudioSourceStats / RTCInboundRtpStreamStats):
    /// linear 0...1 where 1.0 is 0 dBov and 0 is silence, so that `totalAudioEnergy` accumulates
    /// `audioLevel² × duration`. Computed as the RMS amplitude relative to full scale. (Chrome reports the peak
    /// absolute sample of the last ~100 ms instead; `peak(_:)` gives that figure.)
    public static func audioLevel(_ samples: UnsafeBufferPointer<Int16>) -> Double {
        rms(samples)
    }

    public static func audioLevel(_ samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { audioLevel($0) }
    }

    /// Largest absolute sample, 0...1 of full scale.
    public static func peak(_ samples: UnsafeBufferPointer<Int16>) -> Double {
        var largest = 0
        for sample in samples { largest = max(largest, abs(Int(sample))) }
        return min(Double(largest) / 32767, 1)
    }

    public static func peak(_ samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { peak($0) }
    }

    /// One channel of interleaved samples.
    public static func channel(_ index: Int, of interleaved: [Int16], channels: Int) -> [Int16] {
        guard channels > 0, (0..<channels).contains(index) else { return [] }
        return stride(from: index, to: interleaved.count - (channels - 1 - index), by: channels).map { interleaved[$0] }
    }

    /// The frequency in Hz of the strongest tone in mono `samples`, or nil for silence or fewer than 64 samples.
    ///
    /// Method: a Goertzel scan over every DFT bin of a Hann-windowed block of up to 4096 samples taken from the
    /// middle of the input (so encoder start-up at the edges is skipped), then parabolic interpolation of the
    /// log magnitudes of the strongest bin and its two neighbours. For a pure tone at 48 kHz (11.7 Hz bins) the
    /// error is well under 1 Hz; two tones closer than about two bins are not separated.
    public static func dominantFrequency(samples: UnsafeBufferPointer<Int16>, sampleRate: Int) -> Double? {
        guard samples.count >= 64, sampleRate > 0 else { return nil }
        let length = min(samples.count, 4096)
        let start = (samples.count - length) / 2
        var block = [Double](repeating: 0, count: length)
        var energy = 0.0
        for index in 0..<length {
            let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(index) / Double(length - 1))
            let value = Double(samples[start + index]) * window
            block[index] = value
            energy += value * value
        }
        guard energy > 0 else { return nil }

        let binCount = length / 2
        var powers = [Double](repeating: 0, count: binCount + 1)
        block.withUnsafeBufferPointer { block in
            for bin in 1..<binCount {
                powers[bin] = goertzelPower(block, normalisedFrequency: Double(bin) / Double(length))
            }
        }
        var best = 1
        for bin in 1..<binCount where powers[bin] > powers[best] { best = bin }
        guard powers[best] > 0 else { return nil }

        // Parabola through the log powers of the peak bin and its neighbours.
        var offset = 0.0
        if best > 1, best < binCount - 1 {
            let left = log(max(powers[best - 1], .leastNormalMagnitude))
            let centre = log(powers[best])
            let right = log(max(powers[best + 1], .leastNormalMagnitude))
            let denominator = left - 2 * centre + right
            if denominator < 0 { offset = min(max(0.5 * (left - right) / denominator, -0.5), 0.5) }
        }
        return (Double(best) + offset) * Double(sampleRate) / Double(length)
    }

    public static func dominantFrequency(samples: [Int16], sampleRate: Int) -> Double? {
        samples.withUnsafeBufferPointer { dominantFrequency(samples: $0, sampleRate: sampleRate) }
    }

    /// Squared magnitude of the DFT of `block` at `normalisedFrequency` cycles per sample (Goertzel algorithm).
    private static func goertzelPower(_ block: UnsafeBufferPointer<Double>, normalisedFrequency: Double) -> Double {
        let coefficient = 2 * cos(2 * Double.pi * normalisedFrequency)
        var previous = 0.0
        var beforePrevious = 0.0
        for value in block {
            let current = value + coefficient * previous - beforePrevious
            beforePrevious = previous
            previous = current
        }
        return previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
    }
}
