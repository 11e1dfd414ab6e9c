import ICE
import RTP
import SDP
import SFU
import SkylarkBase
import Testing

@testable import LoadTool

/// The load tool's video is what the server reads as video: offers it answers with every layer, and packets whose
/// keyframes, rids and frame boundaries it finds.
@Suite struct VideoLoadTests {
    static func offer(sends: Bool, video: VideoLoad) -> String {
        OfferWriter(credentials: SignallingTests.credentials, fingerprint: SignallingTests.fingerprint,
                    candidate: .host(address: SocketAddress(ip: .loopbackV4, port: 40000)), sends: sends, ssrc: 1000,
                    video: video, videoSSRC: 2000).write()
    }

    @Test func theServerAcceptsEveryLayerAndGivesViewersVideo() async throws {
        let sfu = try SFU(configuration: SFUConfiguration(udpAddress: SocketAddress(ip: .loopbackV4, port: 0), workers: 1))
        defer { sfu.shutdown() }
        for video in [VideoLoad.single, .simulcast] {
            let stream = "load-\(video.rawValue)"
            let published = try SessionDescription(parsing: try await sfu.publish(stream: stream, offer: Self.offer(sends: true, video: video)).answer)
            let section = try #require(published.media.first { $0.kind == "video" })
            #expect(section.port != 0)
            #expect(section.rtpMaps.first?.encodingName.uppercased() == "VP8")
            if video == .simulcast {
                #expect(section.restrictionIdentifiers == ["q", "h", "f"].map { RestrictionIdentifier(id: $0, direction: .recv) })
                #expect(section.simulcast == SimulcastDescription(receive: [[.init(rid: "q")], [.init(rid: "h")], [.init(rid: "f")]]))
                #expect(section.extensionMaps.contains { $0.id == Int(VideoLoad.ridExtensionID) && $0.uri == OfferWriter.ridExtension })
            } else {
                #expect(section.simulcast == nil)
            }
            let played = try await sfu.play(stream: stream, offer: Self.offer(sends: false, video: video))
            let answer = try AnswerSummary(parsing: played.answer)
            #expect(answer.acceptsVideo)
        }
        // Audio-only offers are answered as before.
        let audio = try AnswerSummary(parsing: try await sfu.publish(stream: "audio", offer: Self.offer(sends: true, video: .none)).answer)
        #expect(!audio.acceptsVideo)
    }

    /// Every packet a sender wrote in `frames` frame intervals from time 0, parsed.
    static func packets(_ sender: inout VideoSender, frames: Int, from start: Int = 0) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for frame in start..<(start + frames) {
            sender.sendDue(clock: UInt64(frame) * VideoSender.frameInterval, wallClock: { 0x0102_0304_0506_0708 }) { out.append($0) }
        }
        return out
    }

    @Test func framesStartWithKeyframesNamedByRidAndEndWithTheMarker() throws {
        var sender = VideoSender(video: .simulcast, ssrcs: [11, 22, 33])
        let first = Self.packets(&sender, frames: 1)
        for (index, ssrc) in [UInt32(11), 22, 33].enumerated() {
            let layer = try first.filter { try RTPHeader(parsing: $0.withUnsafeBytes { $0 }).ssrc == ssrc }.map { bytes in
                try bytes.withUnsafeBytes { raw in
                    let header = try RTPHeader(parsing: raw)
                    let payload = UnsafeRawBufferPointer(rebasing: raw[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
                    let rid = header.extensionElement(id: VideoLoad.ridExtensionID, in: raw).map { String(decoding: $0, as: UTF8.self) }
                    let measured = header.payloadOffset + VideoLoad.measurementOffset
                    let sentAt = raw[measured..<(measured + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    return (header, VideoPayloadFormat.vp8.startsKeyframe(payload), rid, sentAt, raw[measured + 16])
                }
            }
            #expect(!layer.isEmpty)
            #expect(layer.first?.1 == true, "layer \(index) starts with a keyframe")
            #expect(layer.dropFirst().allSatisfy { !$0.1 })
            #expect(layer.allSatisfy { $0.2 == VideoLoad.simulcastLayers[index].rid })
            #expect(layer.allSatisfy { $0.3 == 0x0102_0304_0506_0708 && $0.4 == UInt8(index) })
            #expect(layer.map(\.0.marker) == Array(repeating: false, count: layer.count - 1) + [true])
            let sequences = layer.map(\.0.sequenceNumber)
            #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
            #expect(layer.allSatisfy { $0.0.payloadType == VideoLoad.vp8PayloadType })
        }
    }

    @Test func aPictureLossIndicationBringsAKeyframeOnThatLayerOnly() throws {
        var sender = VideoSender(video: .simulcast, ssrcs: [11, 22, 33])
        _ = Self.packets(&sender, frames: 2)
        sender.requestKeyframe(ssrc: 22)
        let next = Self.packets(&sender, frames: 1, from: 2)
        let keyframes = try next.compactMap { bytes -> UInt32? in
            try bytes.withUnsafeBytes { raw in
                let header = try RTPHeader(parsing: raw)
                let payload = UnsafeRawBufferPointer(rebasing: raw[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
                return VideoPayloadFormat.vp8.startsKeyframe(payload) ? header.ssrc : nil
            }
        }
        #expect(keyframes == [22])
    }

    @Test func eachLayerSendsAboutItsRate() throws {
        var sender = VideoSender(video: .simulcast, ssrcs: [11, 22, 33])
        // Two seconds: one periodic keyframe per layer in it.
        let packets = Self.packets(&sender, frames: 2 * VideoLoad.framesPerSecond)
        for (index, ssrc) in [UInt32(11), 22, 33].enumerated() {
            let bytes = try packets.filter { try RTPHeader(parsing: $0.withUnsafeBytes { $0 }).ssrc == ssrc }.map {
                try RTPHeader(parsing: $0.withUnsafeBytes { $0 }).payloadLength
            }.reduce(0, +)
            let rate = Double(bytes) * 8 / 2
            let target = Double(VideoLoad.simulcastLayers[index].bitsPerSecond)
            #expect(rate > 0.95 * target && rate < 1.2 * target, "layer \(index): \(rate) bit/s for \(target)")
        }
    }

    @Test func oneStreamCarriesNoRid() throws {
        var sender = VideoSender(video: .single, ssrcs: [44])
        for bytes in Self.packets(&sender, frames: 3) {
            try bytes.withUnsafeBytes { raw in
                let header = try RTPHeader(parsing: raw)
                #expect(header.ssrc == 44)
                #expect(header.extensionElement(id: VideoLoad.ridExtensionID, in: raw) == nil)
            }
        }
    }
}
