import COpus

/// An Opus decoder (RFC 6716) producing 16-bit interleaved PCM, with packet loss concealment and in-band FEC.
///
/// Not safe for concurrent use: confine a decoder to one queue.
public final class OpusDecoder {
    public let sampleRate: Int
    public let channels: Int

    private let state: OpaquePointer

    /// - Parameters:
    ///   - sampleRate: output rate: 8, 12, 16, 24 or 48 kHz (any Opus stream decodes at any of them).
    ///   - channels: 1 or 2 (a stereo stream decoded to mono is downmixed, and mono to stereo duplicated).
    public init(sampleRate: Int = 48_000, channels: Int) throws(OpusError) {
        guard opusSampleRates.contains(sampleRate), channels == 1 || channels == 2 else { throw .badArgument }
        var error: Int32 = OPUS_OK
        guard let state = opus_decoder_create(Int32(sampleRate), Int32(channels), &error), error == OPUS_OK else {
            throw OpusError(code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error)
        }
        self.state = state
        self.sampleRate = sampleRate
        self.channels = channels
    }

    deinit {
        opus_decoder_destroy(state)
    }

    /// Samples per channel in the longest packet Opus allows, 120 ms (RFC 6716 §3.2.5).
    public var maximumFrameSize: Int { sampleRate * 120 / 1000 }

    /// Samples per channel in 20 ms, the usual WebRTC packet duration.
    public var twentyMilliseconds: Int { sampleRate / 50 }

    // MARK: In place

    /// Decodes into `pcm` without allocating.
    /// - Parameters:
    ///   - packet: an Opus packet, or nil when the packet was lost: libopus then conceals exactly
    ///     `pcm.count / channels` samples per channel, which must be a multiple of 2.5 ms.
    ///   - pcm: interleaved output. For a packet, room for the packet's duration (`maximumFrameSize × channels`
    ///     always suffices); for concealment or FEC, exactly the missing duration.
    ///   - decodeFEC: decode the in-band FEC copy of the *previous* (lost) packet carried in `packet` instead of
    ///     `packet` itself; falls back to concealment when `packet` has no FEC data.
    /// - Returns: samples per channel written.
    public func decode(
        _ packet: UnsafeRawBufferPointer?, into pcm: UnsafeMutableBufferPointer<Int16>, decodeFEC: Bool = false
    ) throws(OpusError) -> Int {
        let frameCapacity = pcm.count / channels
        guard frameCapacity > 0, let output = pcm.baseAddress else { throw .bufferTooSmall }
        let data: UnsafePointer<UInt8>?
        let length: Int32
        if let packet {
            // An empty packet would silently mean "lost" to libopus; make the caller say so with nil.
            guard let base = packet.baseAddress, !packet.isEmpty else { throw .invalidPacket }
            guard packet.count <= Int(Int32.max) else { throw .invalidPacket }
            data = base.assumingMemoryBound(to: UInt8.self)
            length = Int32(packet.count)
        } else {
            guard !decodeFEC else { throw .badArgument }
            data = nil
            length = 0
        }
        let result = opus_decode(state, data, length, output, Int32(clamping: frameCapacity), decodeFEC ? 1 : 0)
        guard result >= 0 else { throw OpusError(code: result) }
        return Int(result)
    }

    // MARK: Arrays

    /// Decodes a packet, or conceals a lost one when `packet` is nil.
    /// - Parameter frameSize: samples per channel to conceal when `packet` is nil (default 20 ms); ignored otherwise.
    /// - Returns: interleaved samples, `channels ×` the packet's duration.
    public func decode(_ packet: [UInt8]?, frameSize: Int? = nil) throws(OpusError) -> [Int16] {
        guard let packet else { return try conceal(frameSize: frameSize ?? twentyMilliseconds, fec: nil) }
        var pcm = [Int16](repeating: 0, count: maximumFrameSize * channels)
        let result: Result<Int, OpusError> = packet.withUnsafeBytes { bytes in
            pcm.withUnsafeMutableBufferPointer { output in
                do throws(OpusError) {
                    return .success(try decode(bytes, into: output))
                } catch {
                    return .failure(error)
                }
            }
        }
        let frames = try result.get()
        pcm.removeLast(pcm.count - frames * channels)
        return pcm
    }

    /// Recovers a lost packet from the in-band FEC data in the packet that followed it (RFC 6716 §2.1.7).
    /// - Parameter frameSize: the lost packet's duration in samples per channel (e.g. 20 ms).
    public func decodeFEC(from nextPacket: [UInt8], frameSize: Int) throws(OpusError) -> [Int16] {
        try conceal(frameSize: frameSize, fec: nextPacket)
    }

    private func conceal(frameSize: Int, fec packet: [UInt8]?) throws(OpusError) -> [Int16] {
        guard frameSize > 0, frameSize <= maximumFrameSize else { throw .badArgument }
        var pcm = [Int16](repeating: 0, count: frameSize * channels)
        let result: Result<Int, OpusError> = pcm.withUnsafeMutableBufferPointer { output in
            do throws(OpusError) {
                if let packet {
                    let decoded: Result<Int, OpusError> = packet.withUnsafeBytes { bytes in
                        do throws(OpusError) {
                            return .success(try decode(bytes, into: output, decodeFEC: true))
                        } catch {
                            return .failure(error)
                        }
                    }
                    return .success(try decoded.get())
                }
                return .success(try decode(nil, into: output))
            } catch {
                return .failure(error)
            }
        }
        let frames = try result.get()
        pcm.removeLast(pcm.count - frames * channels)
        return pcm
    }

    // MARK: State

    /// Duration of the last decoded or concealed packet, in samples per channel.
    public var lastPacketDuration: Int {
        Int((try? OpusControl.decoderGet(state, OpusControl.getLastPacketDuration)) ?? 0)
    }

    /// Forgets all history, as if newly created.
    public func reset() throws(OpusError) {
        try OpusControl.decoderReset(state)
    }

    // MARK: Packet inspection

    /// Samples per channel the packet decodes to at `sampleRate` (`opus_packet_get_nb_samples`), from its TOC byte
    /// and frame count alone (RFC 6716 §3.1).
    /// - Throws: `invalidPacket` for an empty or malformed packet.
    public static func frameCount(of packet: UnsafeRawBufferPointer, sampleRate: Int = 48_000) throws(OpusError) -> Int {
        guard let base = packet.baseAddress, !packet.isEmpty, packet.count <= Int(Int32.max) else {
            throw .invalidPacket
        }
        guard opusSampleRates.contains(sampleRate) else { throw .badArgument }
        let result = opus_packet_get_nb_samples(
            base.assumingMemoryBound(to: UInt8.self), Int32(packet.count), Int32(sampleRate))
        guard result >= 0 else { throw OpusError(code: result) }
        return Int(result)
    }

    /// Samples per channel the packet decodes to at `sampleRate` (48 kHz: the RTP timestamp step, RFC 7587 §4.1).
    public static func frameCount(of packet: [UInt8], sampleRate: Int = 48_000) throws(OpusError) -> Int {
        let result: Result<Int, OpusError> = packet.withUnsafeBytes { bytes in
            do throws(OpusError) {
                return .success(try frameCount(of: bytes, sampleRate: sampleRate))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
