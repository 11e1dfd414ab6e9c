import SkylarkBase
import Testing

@testable import SDP

/// Facts read off each captured offer by hand.
struct OfferFacts: Sendable, CustomTestStringConvertible {
    var file: String
    var mids: [String]
    var kinds: [String]
    var opusPayloadType: UInt8
    var ufrag: String
    var password: String
    var fingerprintCount: Int
    var firstFingerprintByte: UInt8
    var setup: SetupRole
    var directions: [MediaDirection]
    var candidatesPerSection: [Int]
    var endOfCandidates: Bool
    var iceOptions: [String]
    var ssrcs: [[UInt32]]

    var testDescription: String { file }
}

let capturedOffers: [OfferFacts] = [
    OfferFacts(
        file: "aiortc-whep-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 96, ufrag: "G8vD",
        password: "ea8Yhz6PSnWlfCKtE5MJVY", fingerprintCount: 3, firstFingerprintByte: 0x9B, setup: .actpass,
        directions: [.recvonly], candidatesPerSection: [2], endOfCandidates: true, iceOptions: [],
        ssrcs: [[1_222_578_356]]),
    OfferFacts(
        file: "aiortc-whip-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 96, ufrag: "OLGL",
        password: "m7QWOYMtqIULBq2waDRfAp", fingerprintCount: 3, firstFingerprintByte: 0xC5, setup: .actpass,
        directions: [.sendonly], candidatesPerSection: [2], endOfCandidates: true, iceOptions: [],
        ssrcs: [[3_746_087_618]]),
    OfferFacts(
        file: "chromium-whep-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 111, ufrag: "eIZa",
        password: "QjKlGX7SQkdFek8kZgGpyKSD", fingerprintCount: 1, firstFingerprintByte: 0x97, setup: .actpass,
        directions: [.recvonly], candidatesPerSection: [8], endOfCandidates: false, iceOptions: ["trickle"],
        ssrcs: [[]]),
    OfferFacts(
        file: "chromium-whip-audio-video", mids: ["0", "1"], kinds: ["audio", "video"], opusPayloadType: 111,
        ufrag: "y7ql", password: "rLJXofYOU+kcUKFcY7bk8qVk", fingerprintCount: 1, firstFingerprintByte: 0x20,
        setup: .actpass, directions: [.sendonly, .sendonly], candidatesPerSection: [8, 8], endOfCandidates: false,
        iceOptions: ["trickle"], ssrcs: [[2_738_063_851], [1_405_074_301, 4_174_913_465]]),
    OfferFacts(
        file: "chromium-whip-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 111, ufrag: "Csqz",
        password: "kEO6TrdgulgduyTsY2SLL08V", fingerprintCount: 1, firstFingerprintByte: 0x8D, setup: .actpass,
        directions: [.sendonly], candidatesPerSection: [8], endOfCandidates: false, iceOptions: ["trickle"],
        ssrcs: [[3_421_315_154]]),
    OfferFacts(
        file: "ffmpeg-whip-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 111, ufrag: "2384be97",
        password: "a273051c32f6f9816e02355f3150ed26", fingerprintCount: 1, firstFingerprintByte: 0xCD,
        setup: .passive, directions: [.sendonly], candidatesPerSection: [0], endOfCandidates: false, iceOptions: [],
        ssrcs: [[1_933_216_618]]),
    OfferFacts(
        file: "firefox-whep-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 109, ufrag: "691a94fc",
        password: "c264b012822d306b2652199c682a973a", fingerprintCount: 1, firstFingerprintByte: 0x00,
        setup: .actpass, directions: [.recvonly], candidatesPerSection: [8], endOfCandidates: true,
        iceOptions: ["trickle"], ssrcs: [[1_372_268_810]]),
    OfferFacts(
        file: "firefox-whip-audio-video", mids: ["0", "1"], kinds: ["audio", "video"], opusPayloadType: 109,
        ufrag: "93028b5c", password: "7783f22819e60d987ab4ac300ed459c1", fingerprintCount: 1,
        firstFingerprintByte: 0xBD, setup: .actpass, directions: [.sendonly, .sendonly],
        candidatesPerSection: [8, 8], endOfCandidates: true, iceOptions: ["trickle"],
        ssrcs: [[3_906_671_686], [3_702_121_163, 4_088_998_303]]),
    OfferFacts(
        file: "firefox-whip-audio", mids: ["0"], kinds: ["audio"], opusPayloadType: 109, ufrag: "46e730f7",
        password: "3b0db9068be5274d18a1b58dba9b64f3", fingerprintCount: 1, firstFingerprintByte: 0xBF,
        setup: .actpass, directions: [.sendonly], candidatesPerSection: [8], endOfCandidates: true,
        iceOptions: ["trickle"], ssrcs: [[3_190_150_094]]),
]

@Suite struct OfferTests {
    @Test func everyOfferFileIsCovered() {
        #expect(Offers.all.count == capturedOffers.count)
        #expect(Set(Offers.all.keys) == Set(capturedOffers.map(\.file)))
    }

    @Test(arguments: capturedOffers) func matchesHandReadFacts(_ facts: OfferFacts) throws {
        let offer = try Offers.parsed(facts.file)
        #expect(offer.media.map(\.mid) == facts.mids)
        #expect(offer.media.map(\.kind) == facts.kinds)
        #expect(offer.bundleGroup == Group(semantics: "BUNDLE", mids: facts.mids))
        #expect(!offer.isICELite)
        for (index, section) in offer.media.enumerated() {
            #expect(offer.mediaIndex(forMID: facts.mids[index]) == index)
            #expect(section.proto == "UDP/TLS/RTP/SAVPF")
            #expect(section.isRTCPMux)
            #expect(offer.iceCredentials(forMedia: index) == ICECredentials(ufrag: facts.ufrag, password: facts.password))
            #expect(offer.iceOptions(forMedia: index) == facts.iceOptions)
            let fingerprints = offer.fingerprints(forMedia: index)
            #expect(fingerprints.count == facts.fingerprintCount)
            #expect(fingerprints.first?.algorithm == "sha-256")
            #expect(fingerprints.first?.bytes.count == 32)
            #expect(fingerprints.first?.bytes.first == facts.firstFingerprintByte)
            #expect(offer.setup(forMedia: index) == facts.setup)
            #expect(offer.direction(forMedia: index) == facts.directions[index])
            #expect(section.candidates.count == facts.candidatesPerSection[index])
            #expect(section.candidates.allSatisfy { !$0.hasPrefix("candidate:") && $0.contains(" typ host") })
            #expect(section.hasEndOfCandidates == facts.endOfCandidates)
            #expect(section.ssrcs == facts.ssrcs[index])
            #expect(section.formats.allSatisfy { UInt8($0).map { $0 < 128 } ?? false })
            #expect(section.rtpMaps.allSatisfy { section.formats.contains(String($0.payloadType)) })
        }
        let audio = try #require(offer.media.first)
        let opus = audio.rtpMaps(named: "opus")
        #expect(opus == [RTPMap(payloadType: facts.opusPayloadType, encodingName: "opus", clockRate: 48000, channels: 2)])
        #expect(audio.formats.first == String(facts.opusPayloadType))
        #expect(offer.mediaIndex(forMID: "nope") == nil)
        // An index past the end sees only the session level.
        #expect(offer.direction(forMedia: 99) == .sendrecv)
        #expect(offer.iceCredentials(forMedia: 99) == nil)
        #expect(offer.setup(forMedia: -1) == nil)
    }

    @Test func chromiumDetails() throws {
        let offer = try Offers.parsed("chromium-whip-audio-video")
        #expect(offer.origin == Origin(username: "-", sessionID: "5675389680487397666", sessionVersion: 2,
                                       netType: "IN", addressType: "IP4", address: "127.0.0.1"))
        #expect(offer.sessionName == "-")
        #expect(offer.attributes(named: "msid-semantic") == [Attribute(name: "msid-semantic", value: " WMS")])
        let audio = offer.media[0]
        let video = offer.media[1]
        #expect(audio.port == 49759 && audio.portCount == nil)
        #expect(audio.connection == "IN IP4 127.0.0.1")
        #expect(audio.formatParameters(for: 111) == ["minptime": "10", "useinbandfec": "1"])
        #expect(audio.formatParameters(for: 63) == ["111/111": ""])
        #expect(audio.formatParameters(for: 9) == [:])
        #expect(audio.rtcpFeedback(for: 111) == ["transport-cc"])
        #expect(audio.msids == [MSID(stream: "-", track: "9795a115-0f6d-4bd1-aa56-2cb68d8008f6")])
        #expect(audio.extensionMaps.first == ExtensionMap(id: 1, uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
        #expect(video.rtpMaps(named: "h264").map(\.payloadType) == [102, 104, 108, 114, 116, 39])
        #expect(video.rtpMaps(named: "VP8") == [RTPMap(payloadType: 96, encodingName: "VP8", clockRate: 90000)])
        #expect(video.rtcpFeedback(for: 96) == ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"])
        #expect(video.formatParameters(for: 102)["profile-level-id"] == "42001f")
        #expect(video.formatParameters(for: 97) == ["apt": "96"])
        #expect(video.ssrcGroups == [SSRCGroup(semantics: "FID", ssrcs: [1_405_074_301, 4_174_913_465])])
        #expect(video.ssrcAttributes.count == 4)
        #expect(video.ssrcAttributes.first == SSRCAttribute(ssrc: 1_405_074_301, name: "cname", value: "jyBVNg1qBDCBk9Gc"))
        #expect(video.extensionMaps.map(\.id) == [14, 2, 13, 3, 5, 6, 7, 8, 4, 10, 11])
        #expect(video.formats.count == 23)
        // Attribute order is kept.
        #expect(video.attributes.first == Attribute(name: "rtcp", value: "9 IN IP4 0.0.0.0"))
        #expect(video.attributes.last == Attribute(name: "ssrc", value: "4174913465 msid:- cb46f7e4-9f90-443f-80ef-8dfe1a155107"))
    }

    @Test func firefoxDetails() throws {
        let offer = try Offers.parsed("firefox-whep-audio")
        // The fingerprint is only at session level; the media section falls back to it.
        #expect(offer.media[0].attributes(named: "fingerprint").isEmpty)
        let fingerprint = try #require(offer.fingerprints(forMedia: 0).first)
        #expect(fingerprint.bytes.last == 0x00 && fingerprint.bytes[1] == 0xE4)
        #expect(fingerprint.hexString == "00:E4:64:81:C2:FA:B2:B0:DC:E0:4A:3D:2A:4C:19:3F:BF:FC:7B:52:32:EA:A3:F5:FA:56:B2:60:2F:D8:9E:00")
        // Session says sendrecv, the media section says recvonly: media wins.
        #expect(offer.attributes(named: "sendrecv").count == 1)
        #expect(offer.media[0].direction == .recvonly)
        let audio = offer.media[0]
        #expect(audio.rtpMaps(named: "G722") == [RTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000, channels: 1)])
        #expect(audio.formatParameters(for: 109) == ["maxplaybackrate": "48000", "stereo": "1", "useinbandfec": "1"])
        #expect(audio.formatParameters(for: 101) == ["0-15": ""])
        #expect(audio.extensionMaps[1] == ExtensionMap(id: 2, direction: .recvonly, uri: "urn:ietf:params:rtp-hdrext:csrc-audio-level"))
        #expect(audio.candidates.first == "0 1 UDP 2122187007 192.0.2.2 48452 typ host")
        #expect(audio.msids.isEmpty)
        #expect(offer.origin.username == "mozilla...THIS_IS_SDPARTA-99.0")
        #expect(offer.origin.sessionVersion == 0)
    }

    @Test func ffmpegDetails() throws {
        let offer = try Offers.parsed("ffmpeg-whip-audio")
        #expect(offer.origin.username == "FFmpeg")
        #expect(offer.sessionName == "FFmpegPublishSession")
        let audio = offer.media[0]
        #expect(audio.port == 9 && audio.formats == ["111"])
        #expect(audio.connection == "IN IP4 0.0.0.0")
        #expect(audio.candidates.isEmpty && !audio.hasEndOfCandidates)
        #expect(audio.msids == [MSID(stream: "FFmpeg", track: "audio")])
        #expect(offer.setup(forMedia: 0)?.answerRole == .active)
    }

    @Test func aiortcDetails() throws {
        let offer = try Offers.parsed("aiortc-whep-audio")
        let algorithms = offer.fingerprints(forMedia: 0).map(\.algorithm)
        #expect(algorithms == ["sha-256", "sha-384", "sha-512"])
        #expect(offer.fingerprints(forMedia: 0).map(\.bytes.count) == [32, 48, 64])
        #expect(offer.media[0].connection == "IN IP4 192.0.2.2")
        #expect(offer.media[0].port == 51634)
        #expect(offer.otherLines == [SDPLine(type: "t", value: "0 0")])
    }
}
