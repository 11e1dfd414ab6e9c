import SkylarkBase
import Testing

@testable import Opus

@Suite struct OpusFuzzTests {
    @Test func malformedPacketsAreErrors() throws {
        let decoder = try OpusDecoder(channels: 2)
        #expect(throws: OpusError.invalidPacket) { try decoder.decode([]) }
        #expect(throws: OpusError.invalidPacket) { try OpusDecoder.frameCount(of: []) }
        // Code 3 (RFC 6716 §3.2.5) without its frame-count byte, and with a count of zero.
        #expect(throws: OpusError.invalidPacket) { try decoder.decode([0x03]) }
        #expect(throws: OpusError.invalidPacket) { try OpusDecoder.frameCount(of: [0x03]) }
        #expect(throws: OpusError.invalidPacket) { try decoder.decode([0x03, 0x00]) }
        // Code 3 claiming 48 frames of 20 ms: 960 ms, over the 120 ms limit.
        #expect(throws: OpusError.invalidPacket) { try OpusDecoder.frameCount(of: [0x0B, 48]) }
        // Code 2 whose first frame length runs past the end.
        #expect(throws: OpusError.invalidPacket) { try decoder.decode([0x02, 200, 1, 2, 3]) }
        // The decoder still works afterwards.
        var tone = ToneGenerator(channels: 2)
        let packet = try OpusEncoder(channels: 2).encode(tone.nextFrame() + tone.nextFrame(), frameSize: 960)
        #expect(try decoder.decode(packet).count == 1920)
    }

    /// Thousands of random and mutated packets: each either decodes to exactly the duration its TOC announces or
    /// throws an OpusError; nothing traps.
    @Test func randomAndMutatedPacketsNeverCrash() throws {
        var random = SplitMix64(seed: 2024)
        let encoder = try OpusEncoder(channels: 2, bitrate: 48_000)
        var tone = ToneGenerator(frequency: 523, amplitude: 0.4, channels: 2)
        var valid: [[UInt8]] = []
        for _ in 0..<50 { valid.append(try encoder.encode(tone.nextFrame() + tone.nextFrame(), frameSize: 960)) }

        let decoders = [try OpusDecoder(channels: 2), try OpusDecoder(channels: 1), try OpusDecoder(sampleRate: 8000, channels: 1)]
        var errors = 0
        var decoded = 0
        for round in 0..<4000 {
            var packet: [UInt8]
            if round % 2 == 0 {
                packet = (0..<Int.random(in: 0...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                packet = valid[Int.random(in: 0..<valid.count, using: &random)]
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    packet[Int.random(in: 0..<packet.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                }
                if Bool.random(using: &random) { packet = Array(packet.prefix(Int.random(in: 0...packet.count, using: &random))) }
            }
            let decoder = decoders[round % decoders.count]
            do {
                let pcm = try decoder.decode(packet)
                let expected = try OpusDecoder.frameCount(of: packet, sampleRate: decoder.sampleRate)
                #expect(pcm.count == expected * decoder.channels)
                decoded += 1
            } catch {
                errors += 1
                #expect(error.code < 0 && !error.message.isEmpty)
            }
            _ = try? OpusDecoder.frameCount(of: packet)
            // Concealment after garbage must still work.
            if round % 500 == 0 { #expect(try decoder.decode(nil).count == decoder.twentyMilliseconds * decoder.channels) }
        }
        // Opus accepts most byte strings with a sane TOC, but plenty of random ones are structurally invalid.
        #expect(errors > 100)
        #expect(decoded > 100)
    }
}
