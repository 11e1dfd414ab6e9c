import Dispatch
import Opus
import Synchronization

/// What `getUserMedia` should capture.
public struct MediaStreamConstraints: Sendable {
    /// Capture audio. A server has no microphone: Skylark's audio "device" is a generated sine tone.
    public var audio: Bool
    /// Capture video. There is no video device; asking for video throws `NotFoundError`.
    public var video: Bool
    /// Frequency of the generated tone in hertz.
    public var toneFrequency: Double
    /// Peak amplitude of the tone, 0...1.
    public var toneAmplitude: Double

    public init(audio: Bool = true, video: Bool = false, toneFrequency: Double = 440, toneAmplitude: Double = 0.25) {
        self.audio = audio
        self.video = video
        self.toneFrequency = toneFrequency
        self.toneAmplitude = toneAmplitude
    }
}

/// Returns a stream with one live audio track whose "microphone" is a generated sine tone (440 Hz at -12 dBFS
/// unless the constraints say otherwise), produced in real time, 10 ms at a time, until every track of it ends.
/// Throws `RTCException` ("NotFoundError") when video is asked for or neither kind is.
public func getUserMedia(constraints: MediaStreamConstraints? = nil) throws -> MediaStream {
    let constraints = constraints ?? MediaStreamConstraints()
    if constraints.video { throw RTCException("NotFoundError", "no video capture device exists on this machine") }
    guard constraints.audio else { throw RTCException("TypeError", "getUserMedia needs audio or video") }
    let source = RTCAudioSource()
    let track = source.createTrack()
    ToneDevice.start(source: source, track: track, frequency: constraints.toneFrequency,
                     amplitude: constraints.toneAmplitude)
    return MediaStream(tracks: [track])
}

/// Feeds a source with a tone every 10 ms on its own queue while its track lives.
enum ToneDevice {
    static func start(source: RTCAudioSource, track: MediaStreamTrack, frequency: Double, amplitude: Double) {
        let queue = DispatchQueue(label: "skylark.tone")
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let generator = Mutex(ToneGenerator(frequency: frequency, amplitude: amplitude, sampleRate: 48_000, channels: 1))
        weak let weakTrack = track
        timer.schedule(deadline: .now(), repeating: .milliseconds(10), leeway: .milliseconds(1))
        timer.setEventHandler {
            guard let track = weakTrack, track.readyState == .live else {
                timer.cancel()
                return
            }
            let samples = generator.withLock { $0.nextFrame() }
            source.onData(RTCOnDataEvent(samples: samples, sampleRate: 48_000, channelCount: 1))
        }
        timer.resume()
    }
}
