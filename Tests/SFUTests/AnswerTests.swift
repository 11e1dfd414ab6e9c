import SDP
import SkylarkBase
import Testing

@testable import SFU

/// What the answer to one offer must say, read off the offer by hand.
struct OfferCase: Sendable, CustomTestStringConvertible {
    var name: String
    var publisher: Bool
    var mids: [String]
    var opusPayloadType: UInt8
    /// The video codec and payload type the server should pick, when the offer has video.
    var video: (codec: String, payloadType: UInt8)?
    /// The answer's a=setup (FFmpeg offers setup:passive, so the server must be the DTLS client).
    var answerSetup: String

    var testDescription: String { name }
    var text: String { name == "obs-whip-audio-video" ? obsOffer : CapturedOffers.text(name) }
}

let offerCases: [OfferCase] = [
    OfferCase(name: "aiortc-whep-audio", publisher: false, mids: ["0"], opusPayloadType: 96, answerSetup: "passive"),
    OfferCase(name: "aiortc-whip-audio", publisher: true, mids: ["0"], opusPayloadType: 96, answerSetup: "passive"),
    OfferCase(name: "chromium-whep-audio", publisher: false, mids: ["0"], opusPayloadType: 111, answerSetup: "passive"),
    OfferCase(name: "chromium-whip-audio", publisher: true, mids: ["0"], opusPayloadType: 111, answerSetup: "passive"),
    // Chromium lists VP8 first, and the answer keeps the offerer's preference (RFC 3264 §6.1).
    OfferCase(name: "chromium-whip-audio-video", publisher: true, mids: ["0", "1"], opusPayloadType: 111,
              video: ("VP8", 96), answerSetup: "passive"),
    OfferCase(name: "ffmpeg-whip-audio", publisher: true, mids: ["0"], opusPayloadType: 111, answerSetup: "active"),
    OfferCase(name: "firefox-whep-audio", publisher: false, mids: ["0"], opusPayloadType: 109, answerSetup: "passive"),
    OfferCase(name: "firefox-whip-audio", publisher: true, mids: ["0"], opusPayloadType: 109, answerSetup: "passive"),
    // Firefox's video offer has no H.264: VP8.
    OfferCase(name: "firefox-whip-audio-video", publisher: true, mids: ["0", "1"], opusPayloadType: 109,
              video: ("VP8", 120), answerSetup: "passive"),
    OfferCase(name: "obs-whip-audio-video", publisher: true, mids: ["0", "1"], opusPayloadType: 111,
              video: ("H264", 96), answerSetup: "passive"),
]

@Suite struct AnswerTests {
    @Test func everyCapturedOfferIsCovered() {
        let covered = Set(offerCases.map(\.name))
        #expect(CapturedOffers.names.count == 9)
        for name in CapturedOffers.names { #expect(covered.contains(name), "\(name) has no case") }
    }

    /// The offer is taken in the role its file name says, and refused in the other one.
    @Test(arguments: offerCases) func negotiatesInItsRole(_ item: OfferCase) throws {
        let offer = try negotiated(item.text, publisher: item.publisher)
        #expect(offer.sections.map(\.mid) == item.mids)
        #expect(offer.bundleMids == item.mids)
        let audio = try #require(offer.audio)
        #expect(audio.payloadType == item.opusPayloadType)
        #expect(audio.codecName.lowercased() == "opus" && audio.clockRate == 48_000)
        if item.publisher {
            #expect(audio.clientSends && !audio.clientReceives)
        } else {
            #expect(audio.clientReceives && !audio.clientSends)
        }
        if let video = item.video {
            let section = try #require(offer.video)
            #expect(section.codecName.uppercased() == video.codec)
            #expect(section.payloadType == video.payloadType)
            #expect(section.clockRate == 90_000)
        } else {
            #expect(offer.video == nil)
        }
        #expect(!offer.remoteCredentials.ufrag.isEmpty && !offer.remoteCredentials.password.isEmpty)
        #expect(!offer.fingerprints.isEmpty)
        // The other role: a WHIP offer only sends, a WHEP offer only receives.
        #expect(throws: SFUError.self) { try negotiated(item.text, publisher: !item.publisher) }
    }

    /// The answer the server really sends for each offer, read back with the SDP parser.
    @Test(arguments: offerCases) func answerIsWhatClientsNeed(_ item: OfferCase) async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let result = item.publisher
            ? try await sfu.publish(stream: "s", offer: item.text)
            : try await sfu.play(stream: "s", offer: item.text)
        let answer = try SessionDescription(parsing: result.answer)
        let offer = try SessionDescription(parsing: item.text)

        #expect(answer.isICELite)
        #expect(answer.bundleGroup?.mids == item.mids)
        // RFC 3264 §6: as many m= sections as the offer, in its order, each with the offer's mid.
        #expect(answer.media.count == offer.media.count)
        #expect(answer.media.map(\.mid) == offer.media.map(\.mid))
        #expect(answer.media.map(\.kind) == offer.media.map(\.kind))
        for index in answer.media.indices {
            let media = answer.media[index]
            #expect(media.isRTCPMux, "section \(index)")
            #expect(answer.direction(forMedia: index) == (item.publisher ? .recvonly : .sendonly))
            #expect(answer.setup(forMedia: index)?.rawValue == item.answerSetup)
            let credentials = try #require(answer.iceCredentials(forMedia: index))
            #expect(credentials.ufrag.count >= 4 && credentials.password.count >= 22)  // RFC 8839 §5.4
            #expect(result.etag == "\"\(credentials.ufrag)\"")
            let fingerprint = try #require(answer.fingerprints(forMedia: index).first)
            #expect(fingerprint.algorithm == "sha-256" && fingerprint.bytes.count == 32)
            // Host candidates, the server's bound address first, and no trickling (ICE-lite, RFC 8445 §5.1.1).
            let candidates = media.candidates
            let first = try #require(candidates.first).split(separator: " ")
            #expect(first.count >= 8 && first[6] == "typ" && first[7] == "host", "\(candidates)")
            #expect(first[4] == "127.0.0.1" && first[5] == Substring(String(sfu.localAddress.port)))
            #expect(media.hasEndOfCandidates)
            // The default candidate (RFC 8839 §4.2.1.2) is in m= and c=.
            #expect(media.port == sfu.localAddress.port)
            #expect(media.connection == "IN IP4 127.0.0.1")
        }
        let audio = try #require(answer.media.first { $0.kind == "audio" })
        #expect(audio.formats == [String(item.opusPayloadType)])
        let opus = try #require(audio.rtpMaps.first)
        #expect(opus.payloadType == item.opusPayloadType && opus.encodingName.lowercased() == "opus")
        #expect(opus.clockRate == 48_000 && opus.channels == 2)
        // transport-cc needs the transport-wide sequence extension, which the server does not negotiate.
        #expect(!audio.rtcpFeedback(for: item.opusPayloadType).contains("transport-cc"))
        if let video = item.video {
            let section = try #require(answer.media.first { $0.kind == "video" })
            #expect(section.formats == [String(video.payloadType)])
            #expect(section.rtpMaps.first?.encodingName.uppercased() == video.codec)
        }
        if !item.publisher {
            // A viewer is told the SSRC and stream it will receive (RFC 8830).
            #expect(!audio.ssrcs.isEmpty)
            #expect(!audio.msids.isEmpty)
        }
        #expect(await sfu.end(sessionID: result.id, reason: "test"))
        #expect(await sfu.sessionList().isEmpty)
    }

    /// Sections the server does not take are answered with port 0, keeping the offer's media type and mid
    /// (RFC 3264 §6, RFC 8843 §7.3.3); the rest of the answer is unaffected.
    @Test func rejectedSectionsHavePortZeroAndKeepTheirKind() async throws {
        // Chromium's WHIP offer plus a data channel and a video section with only H.263.
        let extra = [
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "c=IN IP4 0.0.0.0",
            "a=mid:2",
            "a=sctp-port:5000",
            "m=video 9 UDP/TLS/RTP/SAVPF 34",
            "c=IN IP4 0.0.0.0",
            "a=mid:3",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:34 H263/90000",
        ]
        let text = CapturedOffers.text("chromium-whip-audio") + sdp(extra)
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let result = try await sfu.publish(stream: "s", offer: text)
        let answer = try SessionDescription(parsing: result.answer)
        #expect(answer.media.count == 3)
        #expect(answer.media.map(\.mid) == ["0", "2", "3"])
        #expect(answer.bundleGroup?.mids == ["0"])
        #expect(answer.media.map(\.port) == [sfu.localAddress.port, 0, 0])
        #expect(answer.media.map(\.kind) == ["audio", "application", "video"], "\(result.answer)")
        #expect(answer.media[1].proto == "UDP/DTLS/SCTP", "\(result.answer)")
    }

    /// With announced addresses (1:1 NAT) those come first, in order, with falling priority.
    @Test func announcedAddressesAreTheCandidates() async throws {
        let sfu = try makeLoopbackSFU(announced: [.v4(203, 0, 113, 7), .v4(198, 51, 100, 9)])
        defer { sfu.shutdown() }
        let result = try await sfu.publish(stream: "s", offer: CapturedOffers.text("chromium-whip-audio"))
        let answer = try SessionDescription(parsing: result.answer)
        let candidates = answer.media[0].candidates.map { $0.split(separator: " ") }
        #expect(candidates.count == 2)
        #expect(candidates.map { String($0[4]) } == ["203.0.113.7", "198.51.100.9"])
        #expect(candidates.allSatisfy { $0[5] == Substring(String(sfu.localAddress.port)) && $0[7] == "host" })
        #expect(UInt32(candidates[0][3])! > UInt32(candidates[1][3])!)
        #expect(answer.media[0].connection == "IN IP4 203.0.113.7")
    }

    /// RFC 4588: a viewer that offers RTX for the chosen codec (and NACK) gets an RTX stream paired with the video
    /// (`apt`, `ssrc-group:FID`); without NACK, and for publishers, there is none.
    @Test func viewersWithNACKGetAnRTXStream() async throws {
        func offer(direction: String, feedback: [String]) -> String {
            sdp(minimalLines.map { $0 == "a=sendonly" ? "a=\(direction)" : $0 } + [
                "m=video 9 UDP/TLS/RTP/SAVPF 102 103 96 97",
                "c=IN IP4 0.0.0.0",
                "a=mid:v",
                "a=\(direction)",
                "a=rtcp-mux",
                "a=rtpmap:96 VP8/90000",
                "a=rtpmap:97 rtx/90000",
                "a=fmtp:97 apt=96",
                "a=rtpmap:102 H264/90000",
                "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f",
                "a=rtpmap:103 rtx/90000",
                "a=fmtp:103 apt=102",
            ] + feedback + ["a=ssrc:4242 cname:x"])
        }
        let withNACK = offer(direction: "recvonly", feedback: ["a=rtcp-fb:102 nack", "a=rtcp-fb:102 nack pli"])
        #expect(try negotiated(withNACK, publisher: false).video?.retransmissionPayloadType == 103)
        #expect(try negotiated(offer(direction: "recvonly", feedback: ["a=rtcp-fb:102 nack pli"]), publisher: false)
            .video?.retransmissionPayloadType == nil)
        #expect(try negotiated(offer(direction: "sendonly", feedback: ["a=rtcp-fb:102 nack"]), publisher: true)
            .video?.retransmissionPayloadType == nil)

        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let answer = try SessionDescription(parsing: try await sfu.play(stream: "s", offer: withNACK).answer)
        let video = try #require(answer.media.first { $0.kind == "video" })
        #expect(video.formats == ["102", "103"])
        #expect(video.rtpMaps.contains { $0.payloadType == 103 && $0.encodingName == "rtx" && $0.clockRate == 90_000 })
        #expect(video.formatParameters(for: 103)["apt"] == "102")
        let group = try #require(video.attributes(named: "ssrc-group").first?.value)
        let ssrcs = group.split(separator: " ").dropFirst().compactMap { UInt32($0) }
        #expect(group.hasPrefix("FID ") && ssrcs.count == 2 && Set(ssrcs) == Set(video.ssrcs), "\(group) \(video.ssrcs)")
    }
}
