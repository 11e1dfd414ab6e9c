import Foundation
import Testing

@testable import Opus

@Suite struct ToneGeneratorTests {
    @Test func framesArePhaseContinuous() {
        var framed = ToneGenerator(frequency: 440, amplitude: 0.5, sampleRate: 48_000, channels: 2)
        var joined: [Int16] = []
        for _ in 0..<10 { joined += framed.nextFrame() }
        #expect(joined.count == 10 * 480 * 2)

        var whole = ToneGenerator(frequency: 440, amplitude: 0.5, sampleRate: 48_000, channels: 2)
        var buffer = [Int16](repeating: 0, count: joined.count)
        buffer.withUnsafeMutableBufferPointer { whole.fill($0) }
        #expect(buffer == joined)

        // Both channels carry the same samples, and consecutive samples never jump at frame edges.
        let left = AudioAnalysis.channel(0, of: joined, channels: 2)
        let right = AudioAnalysis.channel(1, of: joined, channels: 2)
        #expect(left.count == 4800 && left.elementsEqual(right))
        let maximumStep = 2 * Double.pi * 440 / 48_000 * 0.5 * 32767  // largest slope of the sine per sample
        for index in 1..<left.count {
            #expect(abs(Double(left[index]) - Double(left[index - 1])) <= maximumStep + 1)
        }
    }

    @Test func samplesMatchTheFormula() {
        var tone = ToneGenerator(frequency: 1000, amplitude: 0.25, sampleRate: 16_000, channels: 1)
        let frame = tone.nextFrame()
        #expect(frame.count == 160)
        for (index, sample) in frame.enumerated() {
            let expected = sin(2 * Double.pi * 1000 * Double(index) / 16_000) * 0.25 * 32767
            #expect(abs(Double(sample) - expected) <= 0.5)
        }
    }
}

@Suite struct AudioAnalysisTests {
    @Test(arguments: [100.0, 440.0, 1000.0, 2500.0, 7333.0])
    func dominantFrequencyOfAPureTone(frequency: Double) throws {
        var tone = ToneGenerator(frequency: frequency, amplitude: 0.3, sampleRate: 48_000, channels: 1)
        var samples: [Int16] = []
        for _ in 0..<50 { samples += tone.nextFrame() }
        let measured = try #require(AudioAnalysis.dominantFrequency(samples: samples, sampleRate: 48_000))
        #expect(abs(measured - frequency) < 1.0, "measured \(measured) Hz for \(frequency) Hz")
    }

    @Test func dominantFrequencyPicksTheStrongerTone() throws {
        var strong = ToneGenerator(frequency: 600, amplitude: 0.4)
        var weak = ToneGenerator(frequency: 1800, amplitude: 0.1)
        var mixed: [Int16] = []
        for _ in 0..<20 {
            mixed += zip(strong.nextFrame(), weak.nextFrame()).map { $0 &+ $1 }
        }
        let measured = try #require(AudioAnalysis.dominantFrequency(samples: mixed, sampleRate: 48_000))
        #expect(abs(measured - 600) < 2)
    }

    @Test func levels() {
        var tone = ToneGenerator(frequency: 440, amplitude: 0.5)
        var samples: [Int16] = []
        for _ in 0..<100 { samples += tone.nextFrame() }
        let expectedRMS = 0.5 * 32767 / 32768 / 2.0.squareRoot()
        #expect(abs(AudioAnalysis.rms(samples) - expectedRMS) < 0.001)
        #expect(abs(AudioAnalysis.levelDBFS(samples) - 20 * log10(expectedRMS)) < 0.05)  // ≈ −9.03 dBFS
        #expect(abs(AudioAnalysis.audioLevel(samples) - expectedRMS) < 0.001)
        #expect(abs(AudioAnalysis.peak(samples) - 0.5) < 0.001)

        let square = [Int16](repeating: Int16.min, count: 100)
        #expect(AudioAnalysis.rms(square) == 1.0)
        #expect(AudioAnalysis.levelDBFS(square) == 0)

        let silence = [Int16](repeating: 0, count: 480)
        #expect(AudioAnalysis.rms(silence) == 0)
        #expect(AudioAnalysis.levelDBFS(silence) == AudioAnalysis.silenceDBFS)
        #expect(AudioAnalysis.audioLevel(silence) == 0)
        #expect(AudioAnalysis.dominantFrequency(samples: silence, sampleRate: 48_000) == nil)
        #expect(AudioAnalysis.dominantFrequency(samples: [1, 2, 3], sampleRate: 48_000) == nil)
        #expect(AudioAnalysis.rms([]) == 0)
    }

    @Test func channelExtraction() {
        let interleaved: [Int16] = [1, 10, 2, 20, 3, 30, 4]  // trailing partial group is dropped
        #expect(AudioAnalysis.channel(0, of: interleaved, channels: 2) == [1, 2, 3])
        #expect(AudioAnalysis.channel(1, of: interleaved, channels: 2) == [10, 20, 30])
        #expect(AudioAnalysis.channel(2, of: interleaved, channels: 2) == [])
        #expect(AudioAnalysis.channel(0, of: [], channels: 2) == [])
    }
}
