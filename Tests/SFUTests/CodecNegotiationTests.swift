import SDP
import Testing

@testable import SFU

/// Video codecs both ways: a publisher is answered in its own order of preference, a viewer only with a codec
/// that decodes what the publisher sends (RFC 6184 §8.2.2 for H.264), or its video section is rejected.
@Suite struct CodecNegotiationTests {
    static let constrainedBaseline1 = VideoCodec(name: .h264, h264Profile: .constrainedBaseline, packetizationMode: 1)

    /// A viewer offering VP8 (96), H.264 constrained baseline in both packetization modes (102, 104), and H.264
    /// main (106), with or without audio.
    static func viewerOffer(audio: Bool = true, video formats: [String] = ["96", "102", "104", "106"]) -> String {
        let lines: [String] = [
            "m=video 9 UDP/TLS/RTP/SAVPF " + formats.joined(separator: " "),
            "c=IN IP4 0.0.0.0",
            "a=mid:v",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB:31:FF:2D:E2:8E:51:53:9E:8D:5F:6B:1E:AB:38:13:7E",
            "a=setup:actpass",
            "a=recvonly",
            "a=rtcp-mux",
            "a=rtpmap:96 VP8/90000",
            "a=rtpmap:102 H264/90000",
            "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            "a=rtcp-fb:102 nack pli",
            "a=rtpmap:104 H264/90000",
            "a=fmtp:104 packetization-mode=0;profile-level-id=42e01f",
            "a=rtpmap:106 H264/90000",
            "a=fmtp:106 packetization-mode=1;profile-level-id=4d001f",
        ]
        let head = audio ? minimalLines.map { $0 == "a=sendonly" ? "a=recvonly" : $0 } : Array(minimalLines.prefix(4))
        return sdp(head + lines)
    }

    @Test func profileLevelIDsNameTheirProfile() {
        #expect(VideoCodec.H264Profile(profileLevelID: "42e01f") == .constrainedBaseline)
        #expect(VideoCodec.H264Profile(profileLevelID: "42001f") == .baseline)
        #expect(VideoCodec.H264Profile(profileLevelID: "4d001f") == .main)
        #expect(VideoCodec.H264Profile(profileLevelID: "4D401F") == .main)
        #expect(VideoCodec.H264Profile(profileLevelID: "64001f") == .high)
        #expect(VideoCodec.H264Profile(profileLevelID: "640c1f") == .constrainedHigh)
        #expect(VideoCodec.H264Profile(profileLevelID: "f4001f") == .other(profileIDC: 0xF4))
        #expect(VideoCodec.H264Profile(profileLevelID: "42e0") == nil)
        #expect(VideoCodec.H264Profile(profileLevelID: "zzzzzz") == nil)
    }

    @Test func aViewerDecodesTheSameProfileAndPacketizationMode() {
        let baseline1 = VideoCodec(name: .h264, h264Profile: .baseline, packetizationMode: 1)
        let main1 = VideoCodec(name: .h264, h264Profile: .main, packetizationMode: 1)
        let constrainedBaseline0 = VideoCodec(name: .h264, h264Profile: .constrainedBaseline, packetizationMode: 0)
        #expect(Self.constrainedBaseline1.decodes(Self.constrainedBaseline1))
        #expect(baseline1.decodes(Self.constrainedBaseline1))
        #expect(!Self.constrainedBaseline1.decodes(baseline1))
        #expect(!main1.decodes(Self.constrainedBaseline1))
        #expect(!constrainedBaseline0.decodes(Self.constrainedBaseline1))
        #expect(!VideoCodec(name: .vp8).decodes(Self.constrainedBaseline1))
        #expect(!VideoCodec(name: .vp9, profile: 2).decodes(VideoCodec(name: .vp9, profile: 0)))
    }

    /// RFC 3264 §6.1: Chromium lists VP8 before H.264; its offer is answered with VP8. An offer listing H.264 first
    /// gets H.264.
    @Test func aPublisherIsAnsweredInItsOwnOrder() throws {
        let chromium = CapturedOffers.text("chromium-whip-audio-video")
        #expect(try negotiated(chromium, publisher: true).video?.codecName == "VP8")
        let h264First = chromium.replacingOccurrences(of: "SAVPF 96 97 102 ", with: "SAVPF 102 96 97 ")
        let video = try #require(try negotiated(h264First, publisher: true).video)
        #expect(video.codecName == "H264")
        #expect(video.videoCodec == Self.constrainedBaseline1.with(profile: .baseline))
    }

    /// With no publisher yet, a viewer gets its own first codec; with one, a codec that decodes the publisher's.
    @Test func aViewerIsAnsweredWithWhatThePublisherSends() throws {
        #expect(try negotiated(Self.viewerOffer(), publisher: false).video?.payloadType == 96)
        #expect(try negotiated(Self.viewerOffer(), publisher: false, publisherVideo: VideoCodec(name: .vp8))
            .video?.payloadType == 96)
        let h264 = try #require(try negotiated(Self.viewerOffer(), publisher: false,
                                               publisherVideo: Self.constrainedBaseline1).video)
        #expect(h264.payloadType == 102)
        #expect(h264.feedback == ["nack pli"])
        #expect(try negotiated(Self.viewerOffer(), publisher: false,
                               publisherVideo: VideoCodec(name: .h264, h264Profile: .main, packetizationMode: 1))
            .video?.payloadType == 106)
    }

    /// A VP8-only viewer of an H.264 stream keeps its audio and gets a rejected video section (port 0), so it is
    /// never sent packets it cannot decode.
    @Test func aViewerThatCannotDecodeTheVideoKeepsItsAudio() async throws {
        let offer = Self.viewerOffer(video: ["96"])
        let negotiatedOffer = try negotiated(offer, publisher: false, publisherVideo: Self.constrainedBaseline1)
        #expect(negotiatedOffer.audio != nil)
        #expect(negotiatedOffer.video == nil)
        #expect(negotiatedOffer.sections.map(\.accepted) == [true, false])
        #expect(negotiatedOffer.videoRefusal?.contains("H.264 constrained baseline, packetization-mode 1") == true)

        let writer = AnswerWriter(sessionID: 1, ufrag: "u", password: "p", fingerprint: "sha-256 5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB:31:FF:2D:E2:8E:51:53:9E:8D:5F:6B:1E:AB:38:13:7E", setup: "passive",
                                  candidates: [], sendSSRC: (1, 2, 3), cname: "c", streamID: "s", serverSends: true)
        let answer = try SessionDescription(parsing: writer.write(negotiatedOffer))
        #expect(answer.media.map(\.port) == [9, 0])
        #expect(answer.media[1].kind == "video")
    }

    /// An offer with nothing the viewer could be sent is refused with 406 and says what the stream sends.
    @Test func aVideoOnlyViewerThatCannotDecodeIsRefused() async throws {
        let offer = Self.viewerOffer(audio: false, video: ["96", "106"])
        let parsed = try SessionDescription(parsing: offer)
        let error = await expectSFUError { () throws(SFUError) in
            _ = try NegotiatedOffer(offer: parsed, publisher: false, publisherVideo: Self.constrainedBaseline1)
        }
        #expect(error?.status == 406)
        #expect(error?.description.contains("the stream sends H.264 constrained baseline, packetization-mode 1 video") == true)
        #expect(error?.description.contains("VP8") == true)
    }
}

extension VideoCodec {
    func with(profile: H264Profile) -> VideoCodec {
        var codec = self
        codec.h264Profile = profile
        return codec
    }
}
