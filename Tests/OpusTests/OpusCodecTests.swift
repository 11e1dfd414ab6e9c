import Foundation
import Testing

@testable import Opus

/// Encodes `milliseconds` of tone in frames of `frameMilliseconds` and returns the packets.
func encodeTone(
    encoder: OpusEncoder, tone: inout ToneGenerator, milliseconds: Int, frameMilliseconds: Int
) throws -> (packets: [[UInt8]], input: [Int16]) {
    var packets: [[UInt8]] = []
    var input: [Int16] = []
    for _ in 0..<(milliseconds / frameMilliseconds) {
        var frame: [Int16] = []
        for _ in 0..<(frameMilliseconds / 10) { frame += tone.nextFrame() }
        input += frame
        packets.append(try encoder.encode(frame, frameSize: encoder.frameSize(milliseconds: frameMilliseconds)))
    }
    return (packets, input)
}

@Suite struct OpusCodecTests {
    @Test func stereoToneRoundTripKeepsPitchAndLevel() throws {
        let encoder = try OpusEncoder(channels: 2, application: .audio, bitrate: 64_000)
        let decoder = try OpusDecoder(channels: 2)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.5, channels: 2)
        let (packets, input) = try encodeTone(encoder: encoder, tone: &tone, milliseconds: 1000, frameMilliseconds: 20)
        #expect(packets.count == 50)

        var decoded: [Int16] = []
        for packet in packets {
            #expect(try OpusDecoder.frameCount(of: packet) == 960)
            let pcm = try decoder.decode(packet)
            #expect(pcm.count == 960 * 2)
            decoded += pcm
        }
        #expect(decoded.count == 48_000 * 2)

        // Skip the first 100 ms: encoder lookahead and start-up.
        let inputLevel = AudioAnalysis.levelDBFS(Array(input[9600...]))
        for channel in 0..<2 {
            let samples = Array(AudioAnalysis.channel(channel, of: decoded, channels: 2)[4800...])
            let frequency = try #require(AudioAnalysis.dominantFrequency(samples: samples, sampleRate: 48_000))
            #expect(abs(frequency - 440) <= 5, "channel \(channel): \(frequency) Hz")
            let level = AudioAnalysis.levelDBFS(samples)
            #expect(abs(level - inputLevel) < 1.5, "channel \(channel): \(level) dBFS vs \(inputLevel) dBFS in")
        }
    }

    @Test(arguments: [10, 20, 40, 60])
    func frameDurations(milliseconds: Int) throws {
        let encoder = try OpusEncoder(channels: 2)
        let decoder = try OpusDecoder(channels: 2)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.4, channels: 2)
        let (packets, _) = try encodeTone(encoder: encoder, tone: &tone, milliseconds: 600, frameMilliseconds: milliseconds)
        var decoded: [Int16] = []
        for packet in packets {
            #expect(try OpusDecoder.frameCount(of: packet) == 48 * milliseconds)
            #expect(try OpusDecoder.frameCount(of: packet, sampleRate: 16_000) == 16 * milliseconds)
            let pcm = try decoder.decode(packet)
            #expect(pcm.count == 48 * milliseconds * 2)
            #expect(decoder.lastPacketDuration == 48 * milliseconds)
            decoded += pcm
        }
        let left = Array(AudioAnalysis.channel(0, of: decoded, channels: 2)[4800...])
        let frequency = try #require(AudioAnalysis.dominantFrequency(samples: left, sampleRate: 48_000))
        #expect(abs(frequency - 440) <= 5)
    }

    @Test func monoVoice() throws {
        let encoder = try OpusEncoder(channels: 1, application: .voip, bitrate: 24_000)
        #expect(encoder.bitrate == 24_000)
        let decoder = try OpusDecoder(channels: 1)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.3, channels: 1)
        let (packets, input) = try encodeTone(encoder: encoder, tone: &tone, milliseconds: 1000, frameMilliseconds: 20)
        var decoded: [Int16] = []
        for packet in packets { decoded += try decoder.decode(packet) }
        #expect(decoded.count == 48_000)
        let steady = Array(decoded[4800...])
        let frequency = try #require(AudioAnalysis.dominantFrequency(samples: steady, sampleRate: 48_000))
        #expect(abs(frequency - 440) <= 5)
        #expect(abs(AudioAnalysis.levelDBFS(steady) - AudioAnalysis.levelDBFS(Array(input[4800...]))) < 2)
    }

    @Test func lowDelayAndOtherRates() throws {
        let encoder = try OpusEncoder(sampleRate: 16_000, channels: 1, application: .lowDelay)
        let decoder = try OpusDecoder(sampleRate: 16_000, channels: 1)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.3, sampleRate: 16_000, channels: 1)
        let (packets, _) = try encodeTone(encoder: encoder, tone: &tone, milliseconds: 500, frameMilliseconds: 10)
        var decoded: [Int16] = []
        for packet in packets {
            #expect(try OpusDecoder.frameCount(of: packet) == 480)  // RTP clock: always 48 kHz (RFC 7587 §4.1)
            decoded += try decoder.decode(packet)
        }
        #expect(decoded.count == 8000)
        let frequency = try #require(AudioAnalysis.dominantFrequency(samples: Array(decoded[1600...]), sampleRate: 16_000))
        #expect(abs(frequency - 440) <= 5)
    }

    @Test func packetLossConcealment() throws {
        let encoder = try OpusEncoder(channels: 2)
        let decoder = try OpusDecoder(channels: 2)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.5, channels: 2)
        let (packets, _) = try encodeTone(encoder: encoder, tone: &tone, milliseconds: 200, frameMilliseconds: 20)
        for packet in packets { _ = try decoder.decode(packet) }

        let concealed = try decoder.decode(nil)
        #expect(concealed.count == 960 * 2)
        #expect(decoder.lastPacketDuration == 960)
        // Concealment continues the tone rather than dropping to silence.
        #expect(AudioAnalysis.rms(concealed) > 0.05)
        let short = try decoder.decode(nil, frameSize: 480)
        #expect(short.count == 480 * 2)

        // The in-place variant conceals exactly the buffer's duration.
        var buffer = [Int16](repeating: 0, count: 240 * 2)
        let frames = try buffer.withUnsafeMutableBufferPointer { try decoder.decode(nil, into: $0) }
        #expect(frames == 240)
        #expect(throws: OpusError.badArgument) { try decoder.decode(nil, frameSize: 100_000) }
    }

    @Test func inBandFECRecoversALostPacket() throws {
        let encoder = try OpusEncoder(channels: 1, application: .voip, bitrate: 32_000)
        try encoder.setInbandFEC(true)
        try encoder.setPacketLossPercent(20)
        #expect(encoder.inbandFEC)
        #expect(encoder.packetLossPercent == 20)
        var tone = ToneGenerator(frequency: 300, amplitude: 0.4, channels: 1)
        let (packets, _) = try encodeTone(encoder: encoder, tone: &tone, milliseconds: 400, frameMilliseconds: 20)

        // Three decoders in the same state: one receives packet 10, one recovers it from packet 11's FEC data,
        // one can only conceal it.
        let received = try OpusDecoder(channels: 1)
        let recovering = try OpusDecoder(channels: 1)
        let concealing = try OpusDecoder(channels: 1)
        for packet in packets[0..<10] {
            _ = try received.decode(packet)
            _ = try recovering.decode(packet)
            _ = try concealing.decode(packet)
        }
        let reference = try received.decode(packets[10])
        let recovered = try recovering.decodeFEC(from: packets[11], frameSize: 960)
        let concealed = try concealing.decode(nil)
        #expect(recovered.count == 960)
        #expect(AudioAnalysis.rms(recovered) > 0.05)
        func distance(_ a: [Int16], _ b: [Int16]) -> Double {
            AudioAnalysis.rms(zip(a, b).map { Int16(clamping: Int($0) - Int($1)) })
        }
        // FEC carries a coarser copy of the lost frame, so it lands nearer the real thing than concealment.
        #expect(recovered != concealed)
        #expect(distance(recovered, reference) < distance(concealed, reference),
            "FEC \(distance(recovered, reference)) vs PLC \(distance(concealed, reference))")
        #expect(try recovering.decode(packets[11]).count == 960)
    }

    @Test func settings() throws {
        let encoder = try OpusEncoder(channels: 2, application: .audio)
        try encoder.setBitrate(96_000)
        #expect(encoder.bitrate == 96_000)
        try encoder.setBitrate(nil)
        #expect(encoder.bitrate > 0)
        #expect(throws: OpusError.badArgument) { try encoder.setBitrate(10) }
        #expect(throws: OpusError.badArgument) { try encoder.setPacketLossPercent(101) }
        #expect(encoder.lookahead == 312)  // 6.5 ms at 48 kHz
        #expect(!encoder.dtx)
        try encoder.setDTX(true)
        #expect(encoder.dtx)

        // With DTX on, silence soon shrinks to 1-2 byte packets (RFC 7587 §3.1.3 / RFC 6716 §2.1.9).
        let silence = [Int16](repeating: 0, count: 960 * 2)
        var sizes: [Int] = []
        for _ in 0..<30 { sizes.append(try encoder.encode(silence, frameSize: 960).count) }
        #expect(sizes.suffix(10).allSatisfy { $0 <= 3 }, "\(sizes)")
        try encoder.reset()
    }

    @Test func invalidArguments() throws {
        #expect(throws: OpusError.badArgument) { try OpusEncoder(channels: 3) }
        #expect(throws: OpusError.badArgument) { try OpusEncoder(sampleRate: 44_100, channels: 2) }
        #expect(throws: OpusError.badArgument) { try OpusDecoder(sampleRate: 22_050, channels: 1) }
        let encoder = try OpusEncoder(channels: 2)
        // Too few samples for the frame: refused before libopus could read past the end.
        #expect(throws: OpusError.badArgument) { try encoder.encode([Int16](repeating: 0, count: 960), frameSize: 960) }
        // 7 ms is not an Opus frame duration.
        #expect(throws: OpusError.badArgument) { try encoder.encode([Int16](repeating: 0, count: 672), frameSize: 336) }
        var small = [UInt8](repeating: 0, count: 0)
        #expect(throws: OpusError.bufferTooSmall) {
            try small.withUnsafeMutableBytes { output in
                try [Int16](repeating: 0, count: 1920).withUnsafeBufferPointer {
                    try encoder.encode($0, frameSize: 960, into: output)
                }
            }
        }
        #expect(OpusError.invalidPacket.message == "corrupted stream")
        #expect(OpusError.badArgument.message == "invalid argument")
        #expect(OpusError(code: -4) == .invalidPacket)
    }

    @Test func encodesIntoACallerBuffer() throws {
        let encoder = try OpusEncoder(channels: 1)
        var tone = ToneGenerator(channels: 1)
        let frame = tone.nextFrame() + tone.nextFrame()
        var output = [UInt8](repeating: 0, count: OpusEncoder.maximumPacketSize)
        let length = try output.withUnsafeMutableBytes { bytes in
            try frame.withUnsafeBufferPointer { try encoder.encode($0, frameSize: 960, into: bytes) }
        }
        #expect(length > 0 && length < 400)
        #expect(try OpusDecoder.frameCount(of: Array(output[0..<length])) == 960)
    }
}
