import Foundation
import SDP
import SkylarkBase
import Testing

@testable import SFU

/// The captured offers of Tests/SDPTests/Offers, read where they live rather than copied.
enum CapturedOffers {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SDPTests/Offers")

    static func text(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(name + ".sdp"), encoding: .utf8)) ?? ""
    }

    static var names: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".sdp") }.map { String($0.dropLast(4)) }.sorted()
    }
}

/// What OBS (libdatachannel) sends: everything transport-related at session level, `a=group:LS`, upper-case
/// `OPUS`, H.264 video, no candidates.
let obsOffer = """
    v=0\r
    o=rtc 3741520327 0 IN IP4 127.0.0.1\r
    s=-\r
    t=0 0\r
    a=group:LS 0 1\r
    a=group:BUNDLE 0 1\r
    a=msid-semantic:WMS *\r
    a=setup:actpass\r
    a=ice-ufrag:K3fe\r
    a=ice-pwd:vM9ZqHWPwBvyIFpyIVrjwm\r
    a=ice-options:ice2,trickle\r
    a=fingerprint:sha-256 5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB:31:FF:2D:E2:8E:51:53:9E:8D:5F:6B:1E:AB:38:13:7E\r
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r
    c=IN IP4 0.0.0.0\r
    a=mid:0\r
    a=sendonly\r
    a=ssrc:1453290837 cname:ZzoXFKeD1Q4PDBSR\r
    a=ssrc:1453290837 msid:obs-stream obs-audio\r
    a=msid:obs-stream obs-audio\r
    a=rtcp-mux\r
    a=rtpmap:111 OPUS/48000/2\r
    a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1\r
    m=video 9 UDP/TLS/RTP/SAVPF 96\r
    c=IN IP4 0.0.0.0\r
    a=mid:1\r
    a=sendonly\r
    a=ssrc:1453290838 cname:ZzoXFKeD1Q4PDBSR\r
    a=ssrc:1453290838 msid:obs-stream obs-video\r
    a=msid:obs-stream obs-video\r
    a=rtcp-mux\r
    a=rtpmap:96 H264/90000\r
    a=rtcp-fb:96 nack\r
    a=rtcp-fb:96 nack pli\r
    a=rtcp-fb:* goog-remb\r
    a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1\r

    """

/// A minimal, valid WHIP audio offer whose lines tests take out or change.
let minimalLines = [
    "v=0",
    "o=- 1 1 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE a",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "c=IN IP4 0.0.0.0",
    "a=mid:a",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuvwx",
    "a=fingerprint:sha-256 5D:0B:23:34:4E:D6:2C:5C:8C:7F:E7:A4:B3:47:F2:DB:31:FF:2D:E2:8E:51:53:9E:8D:5F:6B:1E:AB:38:13:7E",
    "a=setup:actpass",
    "a=sendonly",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
]

func sdp(_ lines: [String]) -> String { lines.joined(separator: "\r\n") + "\r\n" }

/// Runs `body` expecting it to throw exactly `SFUError`, and returns the error.
func expectSFUError(sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () async throws(SFUError) -> Void) async -> SFUError? {
    do {
        try await body()
        Issue.record("expected an SFUError, got success", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Parses an offer and negotiates it, reporting failures with the SFU's error.
func negotiated(_ text: String, publisher: Bool, publisherVideo: VideoCodec? = nil) throws -> NegotiatedOffer {
    try NegotiatedOffer(offer: SessionDescription(parsing: text), publisher: publisher,
                        publisherVideo: publisherVideo)
}

/// An SFU on an ephemeral loopback port.
func makeLoopbackSFU(announced: [IPAddress] = [], workers: Int = 1) throws -> SFU {
    try SFU(configuration: SFUConfiguration(udpAddress: SocketAddress(ip: .loopbackV4, port: 0),
                                            announcedAddresses: announced, workers: workers))
}
