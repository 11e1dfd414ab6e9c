import Opus
import Synchronization
import WebRTC

/// What a test listener hears: the first channel of everything an `RTCAudioSink` on `track` decodes.
public final class HeardAudio: Sendable {
    private final class Samples: Sendable {
        let value = Mutex<[Int16]>([])
    }

    private let samples = Samples()
    public let sink: RTCAudioSink

    public init(track: MediaStreamTrack) {
        sink = RTCAudioSink(track: track)
        sink.onData = { [samples] event in
            samples.value.withLock { all in
                var index = 0
                while index < event.samples.count {
                    all.append(event.samples[index])
                    index += max(event.channelCount, 1)
                }
            }
        }
    }

    /// Every sample heard so far (48 kHz).
    public var all: [Int16] { samples.value.withLock { $0 } }

    public var count: Int { samples.value.withLock { $0.count } }

    /// Dominant frequency after skipping the first 100 ms (decoder warm-up); 0 when less than 200 ms was heard.
    public var frequency: Double {
        let pcm = all
        guard pcm.count > 9_600 else { return 0 }
        return AudioAnalysis.dominantFrequency(samples: Array(pcm.dropFirst(4_800)), sampleRate: 48_000) ?? 0
    }

    /// Dominant frequency of what was heard after sample `start`; 0 when that is 200 ms or less.
    public func frequency(after start: Int) -> Double {
        let pcm = samples.value.withLock { Array($0.dropFirst(start)) }
        guard pcm.count > 9_600 else { return 0 }
        return AudioAnalysis.dominantFrequency(samples: pcm, sampleRate: 48_000) ?? 0
    }
}
