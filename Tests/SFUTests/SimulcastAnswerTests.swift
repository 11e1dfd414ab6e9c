import Foundation
import SDP
import Testing

@testable import SFU

/// A publisher's simulcast offer (RFC 8853) is answered so that it sends every layer: `a=rid:<id> recv`,
/// `a=simulcast:recv` and the extensions that name layers, with the offer's ids.
@Suite struct SimulcastAnswerTests {
    /// Chromium's video section with three encodings (rid q/h/f), as addTransceiver with sendEncodings writes it.
    static func offer(simulcast: [String] = ["a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f"])
        -> String
    {
        let chromium = CapturedOffers.text("chromium-whip-audio-video")
        return chromium.trimmingCharacters(in: .whitespacesAndNewlines) + "\r\n" + simulcast.joined(separator: "\r\n") + "\r\n"
    }

    @Test func threeRidsAreAcceptedWithTheirExtensions() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let answer = try SessionDescription(parsing: try await sfu.publish(stream: "s", offer: Self.offer()).answer)
        let video = try #require(answer.media.first { $0.kind == "video" })
        #expect(video.restrictionIdentifiers == ["q", "h", "f"].map { RestrictionIdentifier(id: $0, direction: .recv) })
        #expect(video.simulcast == SimulcastDescription(receive: [[.init(rid: "q")], [.init(rid: "h")], [.init(rid: "f")]]))
        let extensions = Dictionary(uniqueKeysWithValues: video.extensionMaps.map { ($0.uri, $0.id) })
        #expect(extensions[NegotiatedOffer.ridExtension] == 10)
        #expect(extensions[NegotiatedOffer.repairedRidExtension] == 11)
        #expect(extensions[NegotiatedOffer.midExtension] == 4)
        #expect(try negotiated(Self.offer(), publisher: true).video?.ridExtensionID == 10)
    }

    /// OBS-style alternatives and paused layers: the first alternative of each entry, paused kept paused.
    @Test func alternativesAndPausedLayers() throws {
        let offer = Self.offer(simulcast: ["a=rid:0 send", "a=rid:1 send", "a=rid:2 send", "a=simulcast:send 2;1,0;~0"])
        let video = try #require(try negotiated(offer, publisher: true).video)
        #expect(video.simulcast == [.init(rid: "2"), .init(rid: "1"), .init(rid: "0", paused: true)])
    }

    /// Without the rtp-stream-id extension the layers cannot be told apart: no simulcast, one stream.
    @Test func withoutTheRidExtensionThereIsNoSimulcast() throws {
        let offer = Self.offer().replacingOccurrences(of: "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n", with: "")
        let video = try #require(try negotiated(offer, publisher: true).video)
        #expect(video.simulcast.isEmpty)
        #expect(video.headerExtensions.isEmpty)
    }

    /// Legacy SSRC simulcast (`a=ssrc-group:SIM`): the layers are those SSRCs, lowest first.
    @Test func ssrcGroupSimulcast() throws {
        let offer = Self.offer(simulcast: ["a=ssrc-group:SIM 11 22 33", "a=ssrc:11 cname:x", "a=ssrc:22 cname:x", "a=ssrc:33 cname:x"])
        let video = try #require(try negotiated(offer, publisher: true).video)
        #expect(video.simulcastSSRCs == [11, 22, 33])
        #expect(PublisherVideo(section: video).layers.map(\.ssrc) == [11, 22, 33])
    }
}
