import DTLS
import ICE
import SDP
import SkylarkBase

/// The minimal offers the load tool sends: one bundled Opus audio section with rtcp-mux, full ICE credentials,
/// the shared certificate's fingerprint, `setup:actpass` and one host candidate (RFC 8829 §5.2.1 shape); with
/// video, a bundled VP8 section after it, whose simulcast layers are offered as `a=rid` + `a=simulcast:send`
/// with the rtp-stream-id extension (RFC 8853 §5.1, RFC 8852 §3.1).
public struct OfferWriter: Sendable {
    public var credentials: ICECredentials
    public var fingerprint: String
    public var candidate: ICECandidate
    /// Publishers send (WHIP), viewers receive (WHEP).
    public var sends: Bool
    /// The SSRC a publisher announces.
    public var ssrc: UInt32
    public var video: VideoLoad
    /// The SSRC a publisher of one video stream announces (simulcast layers are named by rid instead).
    public var videoSSRC: UInt32

    public init(credentials: ICECredentials, fingerprint: String, candidate: ICECandidate, sends: Bool, ssrc: UInt32 = 0,
                video: VideoLoad = .none, videoSSRC: UInt32 = 0) {
        self.credentials = credentials
        self.fingerprint = fingerprint
        self.candidate = candidate
        self.sends = sends
        self.ssrc = ssrc
        self.video = video
        self.videoSSRC = videoSSRC
    }

    public static let opusPayloadType: UInt8 = 111

    public func write() -> String {
        var lines = [
            "v=0",
            "o=- \(UInt64.random(in: 1...(1 << 62))) 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            video == .none ? "a=group:BUNDLE 0" : "a=group:BUNDLE 0 1",
            "a=msid-semantic: WMS" + (sends ? " load" : ""),
        ] + sectionStart(kind: "audio", payloadType: Self.opusPayloadType, mid: 0) + [
            "a=rtpmap:\(Self.opusPayloadType) opus/48000/2",
            "a=fmtp:\(Self.opusPayloadType) minptime=10;useinbandfec=1",
        ]
        if sends {
            lines.append("a=msid:load load-audio")
            lines.append("a=ssrc:\(ssrc) cname:load")
        }
        lines.append("a=candidate:\(candidate.sdpValue)")
        lines.append("a=end-of-candidates")
        if video != .none { lines += videoSection() }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    private func videoSection() -> [String] {
        let pt = VideoLoad.vp8PayloadType
        var lines = sectionStart(kind: "video", payloadType: pt, mid: 1) + [
            "a=rtcp-rsize",
            "a=rtpmap:\(pt) VP8/90000",
            "a=rtcp-fb:\(pt) nack",
            "a=rtcp-fb:\(pt) nack pli",
            "a=rtcp-fb:\(pt) ccm fir",
        ]
        guard sends else { return lines }
        lines.append("a=msid:load load-video")
        if video == .simulcast {
            lines.append("a=extmap:\(VideoLoad.ridExtensionID) \(Self.ridExtension)")
            for layer in video.layers { lines.append("a=rid:\(layer.rid) send") }
            lines.append("a=simulcast:send " + video.layers.map(\.rid).joined(separator: ";"))
        } else {
            lines.append("a=ssrc:\(videoSSRC) cname:load")
        }
        return lines
    }

    /// An m-section's first lines: the bundle's shared transport (ICE, DTLS) repeated in each, as JSEP writes it
    /// (RFC 8829 §5.2.1), then the direction.
    private func sectionStart(kind: String, payloadType: UInt8, mid: Int) -> [String] {
        [
            "m=\(kind) 9 UDP/TLS/RTP/SAVPF \(payloadType)",
            "c=IN IP4 0.0.0.0",
            "a=mid:\(mid)",
            "a=ice-ufrag:\(credentials.ufrag)",
            "a=ice-pwd:\(credentials.password)",
            "a=fingerprint:\(fingerprint)",
            "a=setup:actpass",
            sends ? "a=sendonly" : "a=recvonly",
            "a=rtcp-mux",
        ]
    }

    static let ridExtension = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
}

/// What a client needs from the server's answer.
public struct AnswerSummary: Sendable {
    public var credentials: ICECredentials
    public var fingerprints: [CertificateFingerprint]
    /// The server's `a=setup`: passive makes the client the DTLS client, active the DTLS server.
    public var setup: SetupRole
    public var candidates: [ICECandidate]
    public var isICELite: Bool
    /// Whether a video section was offered and accepted (not rejected with port 0).
    public var acceptsVideo: Bool

    /// The DTLS role the client takes (RFC 5763 §5).
    public var dtlsRole: DTLSConnection.Role { setup == .active ? .server : .client }

    /// Reads the first accepted section's transport (the bundle shares it).
    public init(parsing text: String) throws(AnswerError) {
        let description: SessionDescription
        do {
            description = try SessionDescription(parsing: text)
        } catch {
            throw .unreadable("SDP line \(error.line): \(error.reason)")
        }
        guard let index = description.media.firstIndex(where: { $0.port != 0 }) else {
            throw .unreadable("every m= section is rejected")
        }
        guard let credentials = description.iceCredentials(forMedia: index) else { throw .unreadable("no ICE credentials") }
        let fingerprints = description.fingerprints(forMedia: index)
        guard !fingerprints.isEmpty else { throw .unreadable("no fingerprint") }
        guard let setup = description.setup(forMedia: index), setup == .active || setup == .passive else {
            throw .unreadable("a=setup must be active or passive in an answer")
        }
        var candidates: [ICECandidate] = []
        for media in description.media where media.port != 0 {
            for value in media.candidates {
                if let candidate = try? ICECandidate(parsing: value), !candidates.contains(candidate) { candidates.append(candidate) }
            }
        }
        guard !candidates.isEmpty else { throw .unreadable("no usable candidate") }
        self.credentials = credentials
        self.fingerprints = fingerprints
        self.setup = setup
        self.candidates = candidates
        isICELite = description.isICELite
        acceptsVideo = description.media.contains { $0.kind == "video" && $0.port != 0 }
    }
}

public enum AnswerError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    public var description: String {
        switch self { case let .unreadable(reason): "unusable answer: \(reason)" }
    }
}
