import SkylarkBase
import Testing

@testable import SDP

/// The shape OBS sends over WHIP: credentials, fingerprint and setup only at session level, a lip-sync group,
/// and an upper-case Opus encoding name.
let obsOffer = """
    v=0
    o=rtc 3741520327 0 IN IP4 127.0.0.1
    s=-
    t=0 0
    a=group:LS 0 1
    a=group:BUNDLE 0 1
    a=msid-semantic:WMS *
    a=setup:actpass
    a=ice-ufrag:K3fe
    a=ice-pwd:vM9ZqHWPwBvyIFpyIVrjwm
    a=ice-options:ice2,trickle
    a=fingerprint:sha-256 5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB:31:FF:2D:E2:8E:51:53:9E:8D:5F:6B:1E:AB:38:13:7E
    m=audio 9 UDP/TLS/RTP/SAVPF 111
    c=IN IP4 0.0.0.0
    a=mid:0
    a=sendonly
    a=ssrc:1453290837 cname:ZzoXFKeD1Q4PDBSR
    a=ssrc:1453290837 msid:obs-stream obs-audio
    a=msid:obs-stream obs-audio
    a=rtcp-mux
    a=rtpmap:111 OPUS/48000/2
    a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1
    m=video 9 UDP/TLS/RTP/SAVPF 96
    c=IN IP4 0.0.0.0
    a=mid:1
    a=sendonly
    a=ssrc:1453290838 cname:ZzoXFKeD1Q4PDBSR
    a=ssrc:1453290838 msid:obs-stream obs-video
    a=msid:obs-stream obs-video
    a=rtcp-mux
    a=rtpmap:96 H264/90000
    a=rtcp-fb:96 nack
    a=rtcp-fb:96 nack pli
    a=rtcp-fb:* goog-remb
    a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1

    """

@Suite struct SessionLevelTests {
    @Test func obsSessionLevelFallbacks() throws {
        let offer = try SessionDescription(parsing: obsOffer)
        #expect(offer.groups == [Group(semantics: "LS", mids: ["0", "1"]), Group(semantics: "BUNDLE", mids: ["0", "1"])])
        #expect(offer.bundleGroup == Group(semantics: "BUNDLE", mids: ["0", "1"]))
        for index in 0..<2 {
            #expect(offer.media[index].attributes(named: "ice-ufrag").isEmpty)
            #expect(offer.iceCredentials(forMedia: index) == ICECredentials(ufrag: "K3fe", password: "vM9ZqHWPwBvyIFpyIVrjwm"))
            #expect(offer.fingerprints(forMedia: index).first?.bytes.count == 32)
            #expect(offer.fingerprints(forMedia: index).first?.bytes.first == 0x5D)
            #expect(offer.setup(forMedia: index) == .actpass)
            #expect(offer.direction(forMedia: index) == .sendonly)
            #expect(offer.iceOptions(forMedia: index) == ["ice2,trickle"])
        }
        let audio = offer.media[0]
        #expect(audio.rtpMaps(named: "opus") == [RTPMap(payloadType: 111, encodingName: "OPUS", clockRate: 48000, channels: 2)])
        #expect(audio.rtpMaps(named: "Opus").count == 1)
        #expect(audio.formatParameters(for: 111)["sprop-stereo"] == "1")
        #expect(audio.msids == [MSID(stream: "obs-stream", track: "obs-audio")])
        let video = offer.media[1]
        #expect(video.rtpMaps(named: "h264").first?.payloadType == 96)
        #expect(video.rtcpFeedback(for: 96) == ["nack", "nack pli", "goog-remb"])
        #expect(video.formatParameters(for: 96)["packetization-mode"] == "1")
        #expect(video.ssrcs == [1_453_290_838])
    }

    @Test func mediaLevelOverridesSessionLevel() throws {
        let text = """
            v=0
            o=- 1 1 IN IP4 0.0.0.0
            s=-
            a=ice-ufrag:session
            a=ice-pwd:sessionpassword
            a=ice-options:trickle
            a=setup:active
            a=inactive
            a=ice-lite
            m=audio 9 UDP/TLS/RTP/SAVPF 0
            a=ice-ufrag:media
            a=setup:passive
            a=ice-options:renomination trickle
            m=audio 9 UDP/TLS/RTP/SAVPF 0
            """
        let offer = try SessionDescription(parsing: text)
        #expect(offer.isICELite)
        // Each credential falls back on its own (RFC 8839 §5.4 allows either at either level).
        #expect(offer.iceCredentials(forMedia: 0) == ICECredentials(ufrag: "media", password: "sessionpassword"))
        #expect(offer.iceCredentials(forMedia: 1) == ICECredentials(ufrag: "session", password: "sessionpassword"))
        #expect(offer.setup(forMedia: 0) == .passive)
        #expect(offer.setup(forMedia: 1) == .active)
        #expect(offer.iceOptions(forMedia: 0) == ["renomination", "trickle"])
        #expect(offer.iceOptions(forMedia: 1) == ["trickle"])
        #expect(offer.direction(forMedia: 0) == .inactive)
        #expect(offer.media[0].direction == nil)
        #expect(offer.fingerprints(forMedia: 0).isEmpty)
        #expect(offer.bundleGroup == nil)
        #expect(offer.otherLines.isEmpty)
    }

    @Test func roleAndDirectionHelpers() {
        #expect(SetupRole.actpass.answerRole == .active)
        #expect(SetupRole.active.answerRole == .passive)
        #expect(SetupRole.passive.answerRole == .active)
        #expect(MediaDirection.sendonly.reversed == .recvonly)
        #expect(MediaDirection.recvonly.reversed == .sendonly)
        #expect(MediaDirection.sendrecv.reversed == .sendrecv)
        #expect(MediaDirection.inactive.reversed == .inactive)
        #expect(MediaDirection.sendrecv.sends && MediaDirection.sendrecv.receives)
        #expect(MediaDirection.sendonly.sends && !MediaDirection.sendonly.receives)
        #expect(!MediaDirection.recvonly.sends && MediaDirection.recvonly.receives)
        #expect(!MediaDirection.inactive.sends && !MediaDirection.inactive.receives)
    }

    @Test func buildsAnAnswerFromParts() throws {
        let fingerprint = CertificateFingerprint(algorithm: "SHA-256", bytes: Array(0..<32))
        var audio = MediaDescription(
            kind: "audio", port: 9, proto: "UDP/TLS/RTP/SAVPF", formats: ["111"], connection: "IN IP4 0.0.0.0")
        audio.add(Attribute("mid", "0"))
        audio.add(MediaDirection.recvonly.rawValue == "recvonly" ? Attribute("recvonly") : Attribute("x"))
        for attribute in ICECredentials(ufrag: "abcd", password: "0123456789abcdefghijkl").attributes {
            audio.add(attribute)
        }
        audio.add(fingerprint.attribute)
        audio.add(SetupRole.active.attribute)
        audio.add(Attribute("rtcp-mux"))
        audio.add(RTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2).attribute)
        audio.add(ExtensionMap(id: 3, direction: .sendonly, uri: "urn:ietf:params:rtp-hdrext:sdes:mid").attribute)
        audio.add(SSRCAttribute(ssrc: 42, name: "cname", value: "skylark").attribute)
        audio.add(SSRCGroup(semantics: "FID", ssrcs: [42, 43]).attribute)
        audio.add(MSID(stream: "s", track: "t").attribute)
        audio.add(Attribute("candidate", "1 1 udp 2130706431 192.0.2.1 50000 typ host"))
        audio.add(Attribute("end-of-candidates"))
        let answer = SessionDescription(
            origin: Origin(sessionID: "123", sessionVersion: 1),
            attributes: [Group(semantics: "BUNDLE", mids: ["0"]).attribute, Attribute("ice-lite")],
            media: [audio])
        let text = answer.text
        #expect(text.hasPrefix("v=0\r\no=- 123 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"))
        #expect(text.contains("\r\na=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:"))
        #expect(text.contains("\r\na=extmap:3/sendonly urn:ietf:params:rtp-hdrext:sdes:mid\r\n"))
        #expect(text.hasSuffix("a=end-of-candidates\r\n"))
        let reparsed = try SessionDescription(parsing: text)
        #expect(reparsed == answer)
        #expect(reparsed.fingerprints(forMedia: 0) == [fingerprint])
        #expect(reparsed.setup(forMedia: 0) == .active)
        #expect(reparsed.direction(forMedia: 0) == .recvonly)
        #expect(reparsed.media[0].ssrcs == [42, 43])
        #expect(reparsed.media[0].extensionMaps == [ExtensionMap(id: 3, direction: .sendonly, uri: "urn:ietf:params:rtp-hdrext:sdes:mid")])
        #expect(reparsed.media[0].candidates == ["1 1 udp 2130706431 192.0.2.1 50000 typ host"])
        #expect(reparsed.isICELite)
    }
}
