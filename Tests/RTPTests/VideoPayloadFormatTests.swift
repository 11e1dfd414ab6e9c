import SkylarkBase
import Testing

@testable import RTP

/// Where keyframes start, per payload format, as a simulcast switch needs it.
@Suite struct VideoPayloadFormatTests {
    func starts(_ format: VideoPayloadFormat, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { format.startsKeyframe($0) }
    }

    /// RFC 7741 §4.2: Chromium's descriptor (X, I with a 15-bit PictureID, L, T/K), then the payload header.
    @Test func vp8() {
        let descriptor: [UInt8] = [0x90, 0xE0, 0x80, 0x2A, 0x07, 0x20]
        #expect(starts(.vp8, descriptor + [0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]))  // P = 0: key frame
        #expect(!starts(.vp8, descriptor + [0x11, 0x02, 0x00]))                   // P = 1: inter frame
        #expect(!starts(.vp8, [0x80, 0xE0, 0x80, 0x2A, 0x07, 0x10]))              // S = 0: not the start
        #expect(!starts(.vp8, [0x91, 0x00, 0x10]))                                // partition 1
        #expect(starts(.vp8, [0x10, 0x10]))                                       // no extensions
        #expect(!starts(.vp8, [0x90, 0xE0, 0x80]))                                // truncated
    }

    /// RFC 6184: an SPS or IDR as a single NAL unit, inside a STAP-A, or at the start of an FU-A.
    @Test func h264() {
        #expect(starts(.h264, [0x67, 0x42, 0xE0]))                                 // SPS
        #expect(starts(.h264, [0x65, 0x88]))                                       // IDR slice
        #expect(!starts(.h264, [0x41, 0x9A]))                                      // non-IDR slice
        #expect(starts(.h264, [0x78, 0x00, 0x03, 0x67, 0x42, 0xE0, 0x00, 0x02, 0x68, 0xCE]))  // STAP-A with SPS
        #expect(!starts(.h264, [0x78, 0x00, 0x02, 0x06, 0x05]))                   // STAP-A with SEI only
        #expect(!starts(.h264, [0x78, 0xFF, 0xFF]))                                // STAP-A size past the end
        #expect(starts(.h264, [0x7C, 0x85, 0x88]))                                 // FU-A start of an IDR
        #expect(!starts(.h264, [0x7C, 0x05, 0x88]))                                // FU-A continuation
        #expect(!starts(.h264, [0x7C]))                                            // truncated FU-A
    }

    @Test func vp9AndAV1() {
        #expect(starts(.vp9, [0x08]))                          // B, not inter-predicted, no layers
        #expect(!starts(.vp9, [0x48]))                         // inter-predicted
        #expect(starts(.vp9, [0xA8, 0x85, 0x01, 0x00]))        // I, L: SID 0
        #expect(!starts(.vp9, [0xA8, 0x05, 0x02]))             // SID 1
        #expect(starts(.av1, [0x18]))                          // N: a new coded video sequence
        #expect(!starts(.av1, [0x10]))
        for format in [VideoPayloadFormat.h264, .vp8, .vp9, .av1] { #expect(!starts(format, [])) }
    }

    /// Payloads from the network never trap, whatever they hold.
    @Test func randomPayloadsNeverTrap() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            for format in [VideoPayloadFormat.h264, .vp8, .vp9, .av1] { _ = starts(format, bytes) }
        }
    }
}
