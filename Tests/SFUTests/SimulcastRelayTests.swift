import RTP
import SkylarkBase
import Testing

@testable import SFU

/// Simulcast through the relay core on virtual time: an OBS-style publisher sends three layers named by rid, and
/// each viewer gets one, switched only at a keyframe of the new layer, with one continuous numbering.
@Suite struct SimulcastRelayTests {
    /// OBS's rids; layer 0 is the full picture here (its packets are the largest), 2 the smallest.
    static let rids = ["0", "1", "2"]
    static let sizes = [1_100, 450, 120]

    /// 30 frames a second of every layer in `layers` for `seconds`; a keyframe every second (frame 0, 30, ...) unless
    /// `keyframes` is false.
    static func stream(_ relay: VirtualRelay, _ publisher: VirtualClient, seconds: Double, layers: [Int] = [0, 1, 2],
                       keyframes: Bool = true, frame start: Int = 0) -> Int {
        let frames = Int(seconds * 30)
        for frame in start..<(start + frames) {
            for layer in layers {
                publisher.sendLayer(layer, keyframe: keyframes && frame % 30 == 0, size: sizes[layer])
            }
            relay.pump()
            relay.run(for: .microseconds(33_333))
        }
        return start + frames
    }

    /// The simulcast layer each video packet a viewer got came from (the byte the publisher put after the VP8
    /// payload header), and whether it starts a keyframe.
    static func layers(_ viewer: VirtualClient) -> [(layer: UInt8, keyframe: Bool)] {
        viewer.rtp.filter { $0.header.payloadType == VirtualClient.vp8 && $0.payload.count > 3 }
            .map { ($0.payload[2], $0.payload[1] & 0x01 == 0) }
    }

    static func expectOneContinuousStream(_ viewer: VirtualClient, sourceLocation: SourceLocation = #_sourceLocation) {
        let video = viewer.rtp.filter { $0.header.payloadType == VirtualClient.vp8 }
        #expect(Set(video.map(\.header.ssrc)).count == 1, sourceLocation: sourceLocation)
        for (previous, next) in zip(video, video.dropFirst()) {
            #expect(next.header.sequenceNumber == previous.header.sequenceNumber &+ 1, sourceLocation: sourceLocation)
            #expect(Int32(bitPattern: next.header.timestamp &- previous.header.timestamp) > 0, sourceLocation: sourceLocation)
        }
    }

    @Test func eachViewerGetsItsLayerFromTheFirstKeyframe() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "obs", simulcast: Self.rids)
        let high = try relay.play(stream: "obs", video: true)
        let low = try relay.play(stream: "obs", video: true, layer: .low)
        let medium = try relay.play(stream: "obs", video: true, layer: .rid("1"))
        _ = Self.stream(relay, publisher, seconds: 3)

        for (viewer, layer) in [(high, UInt8(0)), (low, 2), (medium, 1)] {
            let got = Self.layers(viewer)
            #expect(got.first?.keyframe == true, "a viewer starts on a keyframe")
            // From the second keyframe on (the layers are measured by then) only its own layer.
            #expect(got.suffix(45).allSatisfy { $0.layer == layer }, "\(got.map(\.layer))")
            #expect(got.count > 45)
            Self.expectOneContinuousStream(viewer)
        }
        let ranking = try #require(relay.session(of: publisher)).video.ranking
        #expect(ranking.rids == ["2", "1", "0"], "ranked by bitrate, lowest first")
    }

    /// A viewer that asks for another layer keeps its current one until the new one's keyframe, which the server
    /// asks the publisher for (PLI on that layer's SSRC).
    @Test func aSwitchWaitsForAKeyframeOfTheNewLayerAndAsksForIt() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "obs", simulcast: Self.rids)
        let viewer = try relay.play(stream: "obs", video: true)
        var frame = Self.stream(relay, publisher, seconds: 2.1)
        let before = Self.layers(viewer).count
        let requests = publisher.rtcp.count

        try #require(relay.session(of: viewer)).layers.preference = .low
        frame = Self.stream(relay, publisher, seconds: 0.5, keyframes: false, frame: frame)
        let waiting = Self.layers(viewer).dropFirst(before)
        #expect(!waiting.isEmpty && waiting.allSatisfy { $0.layer == 0 }, "the viewer stays on its layer meanwhile")
        let asked = publisher.rtcp.dropFirst(requests).compactMap { packet -> UInt32? in
            if case let .pli(pli) = packet { return pli.mediaSSRC } else { return nil }
        }
        #expect(asked.first == publisher.layerSSRC(2), "\(asked)")
        #expect(asked.count == 1, "at most one request per 500 ms: \(asked)")

        let switchAt = Self.layers(viewer).count
        publisher.sendLayer(2, keyframe: true, size: Self.sizes[2])
        relay.pump()
        _ = Self.stream(relay, publisher, seconds: 0.5, keyframes: false, frame: frame + 1)
        let after = Self.layers(viewer).dropFirst(switchAt)
        #expect(after.first.map { $0.layer == 2 && $0.keyframe } == true)
        #expect(after.allSatisfy { $0.layer == 2 })
        Self.expectOneContinuousStream(viewer)
    }

    /// Receiver reports that say a quarter was lost step the viewer down a layer; a run of clean ones brings it back.
    @Test func reportedLossStepsDownAndRecoveryStepsBackUp() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "obs", simulcast: Self.rids)
        let viewer = try relay.play(stream: "obs", video: true)
        var frame = Self.stream(relay, publisher, seconds: 2.1)
        let session = try #require(relay.session(of: viewer))
        let videoSSRC = try #require(session.videoOut?.ssrc)
        func report(lost: UInt8) {
            viewer.sendRTCP([.receiverReport(ReceiverReport(ssrc: 7, reports: [RTCPReportBlock(
                ssrc: videoSSRC, fractionLost: lost, cumulativeLost: 0, highestSequence: 0, jitter: 0,
                lastSenderReport: 0, delaySinceLastSenderReport: 0)]))])
            relay.pump()
        }
        report(lost: 64)
        frame = Self.stream(relay, publisher, seconds: 1.5, frame: frame)
        #expect(Self.layers(viewer).suffix(10).allSatisfy { $0.layer == 1 }, "\(Self.layers(viewer).suffix(10).map(\.layer))")

        for _ in 0..<5 {
            report(lost: 0)
            frame = Self.stream(relay, publisher, seconds: 1, frame: frame)
        }
        #expect(Self.layers(viewer).suffix(10).allSatisfy { $0.layer == 0 }, "\(Self.layers(viewer).suffix(10).map(\.layer))")
        Self.expectOneContinuousStream(viewer)
    }

    /// The publisher stops sending its top layer (its encoder dropped it): the viewer moves to the best one left.
    @Test func aLayerThatStopsArrivingIsSkipped() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "obs", simulcast: Self.rids)
        let viewer = try relay.play(stream: "obs", video: true)
        let frame = Self.stream(relay, publisher, seconds: 2.1)
        _ = Self.stream(relay, publisher, seconds: 4, layers: [1, 2], frame: frame)
        #expect(Self.layers(viewer).suffix(20).allSatisfy { $0.layer == 1 }, "\(Self.layers(viewer).suffix(20).map(\.layer))")
        Self.expectOneContinuousStream(viewer)
    }

    /// A layer whose SSRC no rid has named yet cannot be placed: it is dropped and counted, not guessed.
    @Test func packetsWithoutAKnownRidAreCountedDrops() throws {
        let relay = try VirtualRelay()
        let publisher = try relay.publish(stream: "obs", simulcast: Self.rids)
        let viewer = try relay.play(stream: "obs", video: true)
        for _ in 0..<10 { publisher.sendLayer(1, keyframe: true, size: 300, withRid: false) }
        relay.pump()
        #expect(Self.layers(viewer).isEmpty)
        #expect(try #require(relay.session(of: publisher)).drops[.rtpUnknownLayer] == 10)
    }
}
