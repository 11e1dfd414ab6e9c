import COpus

/// The coding mode libopus optimises for (`OPUS_APPLICATION_*`).
public enum OpusApplication: Sendable, Hashable {
    /// Speech: favours intelligibility (`OPUS_APPLICATION_VOIP`).
    case voip
    /// Music and mixed content: favours fidelity (`OPUS_APPLICATION_AUDIO`).
    case audio
    /// CELT only, lowest algorithmic delay (`OPUS_APPLICATION_RESTRICTED_LOWDELAY`).
    case lowDelay

    var rawValue: Int32 {
        switch self {
        case .voip: OPUS_APPLICATION_VOIP
        case .audio: OPUS_APPLICATION_AUDIO
        case .lowDelay: OPUS_APPLICATION_RESTRICTED_LOWDELAY
        }
    }
}

/// Sample rates libopus accepts for PCM (RFC 6716 §2). The RTP clock is 48 kHz regardless (RFC 7587 §4.1).
let opusSampleRates: Set<Int> = [8_000, 12_000, 16_000, 24_000, 48_000]

/// An Opus encoder (RFC 6716) for 16-bit interleaved PCM.
///
/// Not safe for concurrent use: confine an encoder to one queue.
public final class OpusEncoder {
    /// Largest packet one frame can produce: 3 × 1275 bytes of frames plus framing (RFC 6716 §3.2.5). Output
    /// buffers of this size never fail with `bufferTooSmall`.
    public static let maximumPacketSize = 3 * 1275 + 7

    public let sampleRate: Int
    public let channels: Int
    public let application: OpusApplication

    private let state: OpaquePointer

    /// - Parameters:
    ///   - sampleRate: PCM rate: 8, 12, 16, 24 or 48 kHz.
    ///   - channels: 1 or 2.
    ///   - bitrate: bits per second (500...512,000), or nil to let libopus choose from rate and channels.
    public init(
        sampleRate: Int = 48_000, channels: Int, application: OpusApplication = .audio, bitrate: Int? = nil
    ) throws(OpusError) {
        guard opusSampleRates.contains(sampleRate), channels == 1 || channels == 2 else { throw .badArgument }
        var error: Int32 = OPUS_OK
        guard let state = opus_encoder_create(Int32(sampleRate), Int32(channels), application.rawValue, &error),
            error == OPUS_OK
        else { throw OpusError(code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error) }
        self.state = state
        self.sampleRate = sampleRate
        self.channels = channels
        self.application = application
        if let bitrate { try setBitrate(bitrate) }
    }

    deinit {
        opus_encoder_destroy(state)
    }

    /// Samples per channel in a frame of `milliseconds` (2.5 ms is not expressible here; use 10, 20, 40 or 60).
    public func frameSize(milliseconds: Int) -> Int { sampleRate * milliseconds / 1000 }

    // MARK: Encoding

    /// Encodes one frame into `output` without allocating.
    /// - Parameters:
    ///   - pcm: at least `frameSize × channels` interleaved samples.
    ///   - frameSize: samples per channel: 2.5, 5, 10, 20, 40 or 60 ms at `sampleRate`.
    ///   - output: room for the packet; `maximumPacketSize` bytes always suffice.
    /// - Returns: the packet's length in bytes (1 or 2 bytes means DTX/silence when DTX is on).
    public func encode(
        _ pcm: UnsafeBufferPointer<Int16>, frameSize: Int, into output: UnsafeMutableRawBufferPointer
    ) throws(OpusError) -> Int {
        guard frameSize > 0, frameSize <= sampleRate * 120 / 1000, pcm.count >= frameSize * channels,
            let input = pcm.baseAddress
        else { throw .badArgument }
        guard let bytes = output.baseAddress?.assumingMemoryBound(to: UInt8.self), !output.isEmpty else {
            throw .bufferTooSmall
        }
        let result = opus_encode(state, input, Int32(frameSize), bytes, Int32(clamping: output.count))
        guard result >= 0 else { throw OpusError(code: result) }
        return Int(result)
    }

    /// Encodes one frame and returns the packet.
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, frameSize: Int) throws(OpusError) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: Self.maximumPacketSize)
        let result: Result<Int, OpusError> = packet.withUnsafeMutableBytes { output in
            do throws(OpusError) {
                return .success(try encode(pcm, frameSize: frameSize, into: output))
            } catch {
                return .failure(error)
            }
        }
        let length = try result.get()
        packet.removeLast(packet.count - length)
        return packet
    }

    /// Encodes one frame of interleaved samples and returns the packet.
    public func encode(_ pcm: [Int16], frameSize: Int) throws(OpusError) -> [UInt8] {
        let result: Result<[UInt8], OpusError> = pcm.withUnsafeBufferPointer { samples in
            do throws(OpusError) {
                return .success(try encode(samples, frameSize: frameSize))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    // MARK: Settings

    /// The target bitrate in bits per second as libopus currently resolves it.
    public var bitrate: Int { (try? Int(OpusControl.encoderGet(state, OpusControl.getBitrate))) ?? 0 }

    /// Sets the target bitrate (500...512,000 bits/s), or nil for libopus's automatic choice.
    public func setBitrate(_ bitsPerSecond: Int?) throws(OpusError) {
        let value: Int32
        if let bitsPerSecond {
            guard (500...512_000).contains(bitsPerSecond) else { throw .badArgument }
            value = Int32(bitsPerSecond)
        } else {
            value = OPUS_AUTO
        }
        try OpusControl.encoderSet(state, OpusControl.setBitrate, value)
    }

    /// Whether in-band forward error correction is on (RFC 7587 `useinbandfec`).
    public var inbandFEC: Bool { ((try? OpusControl.encoderGet(state, OpusControl.getInbandFEC)) ?? 0) != 0 }

    /// Turns in-band FEC on or off. It only takes effect in SILK modes and with a packet loss percentage above 0.
    public func setInbandFEC(_ enabled: Bool) throws(OpusError) {
        try OpusControl.encoderSet(state, OpusControl.setInbandFEC, enabled ? 1 : 0)
    }

    /// The expected packet loss (0...100 %) the encoder plans FEC and robustness for.
    public var packetLossPercent: Int {
        Int((try? OpusControl.encoderGet(state, OpusControl.getPacketLossPercent)) ?? 0)
    }

    public func setPacketLossPercent(_ percent: Int) throws(OpusError) {
        guard (0...100).contains(percent) else { throw .badArgument }
        try OpusControl.encoderSet(state, OpusControl.setPacketLossPercent, Int32(percent))
    }

    /// Whether discontinuous transmission is on (RFC 7587 `usedtx`): during silence the encoder emits 1-2 byte
    /// packets, which the sender may skip.
    public var dtx: Bool { ((try? OpusControl.encoderGet(state, OpusControl.getDTX)) ?? 0) != 0 }

    public func setDTX(_ enabled: Bool) throws(OpusError) {
        try OpusControl.encoderSet(state, OpusControl.setDTX, enabled ? 1 : 0)
    }

    /// Encoder delay in samples per channel at `sampleRate` (6.5 ms for `.audio`/`.voip` at 48 kHz).
    public var lookahead: Int { Int((try? OpusControl.encoderGet(state, OpusControl.getLookahead)) ?? 0) }

    /// Forgets all history, as if newly created (settings are kept).
    public func reset() throws(OpusError) {
        try OpusControl.encoderReset(state)
    }
}
