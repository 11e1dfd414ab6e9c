import SDP
import SkylarkBase

/// The media a session agreed on for one m-section of the client's offer.
struct NegotiatedSection: Sendable {
    enum Kind: Sendable, Equatable { case audio, video }

    var index: Int
    var mid: String
    var kind: Kind?
    /// The offer's media type, protocol and first format, for answering a rejected section in kind
    /// (RFC 3264 §6: a rejected stream keeps its media type).
    var offeredKind = "audio"
    var offeredProto = "UDP/TLS/RTP/SAVPF"
    var offeredFormat = "0"
    /// The payload type the client uses for the chosen codec (Opus for audio, H.264 or VP8 for video).
    var payloadType: UInt8 = 0
    var codecName = ""
    var clockRate = 48_000
    var channels: Int?
    var formatParameters = ""
    var feedback: [String] = []
    /// The client's RTX payload type for the chosen video codec (RFC 4588 §8.6, `apt`), when it offered one and
    /// NACK: lost video is retransmitted as RTX, never by encrypting a packet index twice.
    var retransmissionPayloadType: UInt8?
    /// Whether the client sends on this section (publishers) or receives (viewers).
    var clientSends = false
    var clientReceives = false
    /// SSRCs the client announced (publishers).
    var ssrcs: [UInt32] = []
    var rtcpReducedSize = false
    /// Rejected sections are answered with port 0.
    var accepted: Bool { kind != nil }
}

/// What the server needs from a client's offer, read once when the offer arrives.
struct NegotiatedOffer: Sendable {
    var sections: [NegotiatedSection]
    var remoteCredentials: (ufrag: String, password: String)
    var fingerprints: [CertificateFingerprint]
    var remoteSetup: SetupRole?
    /// `a=candidate` values (without the `candidate:` prefix) of the bundled transport.
    var candidates: [String]
    var bundleMids: [String]

    var audio: NegotiatedSection? { sections.first { $0.kind == .audio } }
    var video: NegotiatedSection? { sections.first { $0.kind == .video } }

    /// Reads an offer. `publisher` says which direction the client must offer: publishers send, viewers receive.
    init(offer: SessionDescription, publisher: Bool, preferredVideoCodec: String? = nil) throws(SFUError) {
        guard !offer.media.isEmpty else { throw .badOffer("the offer has no m= sections") }
        var sections: [NegotiatedSection] = []
        var firstAccepted: Int?
        for (index, media) in offer.media.enumerated() {
            var section = NegotiatedSection(index: index, mid: media.mid ?? String(index))
            section.offeredKind = media.kind
            section.offeredProto = media.proto
            section.offeredFormat = media.formats.first ?? "0"
            let direction = offer.direction(forMedia: index)
            section.clientSends = direction.sends
            section.clientReceives = direction.receives
            let wanted = publisher ? direction.sends : direction.receives
            if media.port != 0, wanted, media.proto.uppercased().contains("RTP/") {
                switch media.kind {
                case "audio": NegotiatedOffer.chooseAudio(media, into: &section)
                case "video":
                    NegotiatedOffer.chooseVideo(media, preferring: preferredVideoCodec, into: &section)
                    // Only what the server sends is retransmitted; a publisher's RTX is not asked for.
                    if publisher { section.retransmissionPayloadType = nil }
                default: break
                }
            }
            section.ssrcs = media.ssrcs
            section.rtcpReducedSize = !media.attributes(named: "rtcp-rsize").isEmpty
            if section.accepted && firstAccepted == nil { firstAccepted = index }
            sections.append(section)
        }
        guard let transportIndex = firstAccepted else {
            let directions = offer.media.indices.map { offer.direction(forMedia: $0).rawValue }
            if !offer.media.indices.contains(where: { publisher ? offer.direction(forMedia: $0).sends : offer.direction(forMedia: $0).receives }) {
                throw .badOffer(publisher
                    ? "a WHIP offer must send media (sendonly or sendrecv); this one is \(directions.joined(separator: ", "))"
                    : "a WHEP offer must receive media (recvonly or sendrecv); this one is \(directions.joined(separator: ", "))")
            }
            throw .unsupportedMedia("offer Opus audio (48 kHz) and optionally H.264 or VP8 video")
        }
        guard let credentials = offer.iceCredentials(forMedia: transportIndex) else {
            throw .badOffer("no ICE credentials (a=ice-ufrag and a=ice-pwd)")
        }
        let fingerprints = offer.fingerprints(forMedia: transportIndex)
        guard !fingerprints.isEmpty else { throw .badOffer("no DTLS fingerprint (a=fingerprint)") }
        guard fingerprints.contains(where: { $0.algorithm == "sha-256" || $0.algorithm == "sha-384" || $0.algorithm == "sha-512" || $0.algorithm == "sha-1" }) else {
            throw .badOffer("no fingerprint with a supported hash (sha-256)")
        }
        self.sections = sections
        remoteCredentials = (credentials.ufrag, credentials.password)
        self.fingerprints = fingerprints
        remoteSetup = offer.setup(forMedia: transportIndex)
        if remoteSetup == .holdconn { throw .badOffer("a=setup:holdconn cannot be answered") }
        var candidates: [String] = []
        for media in offer.media where media.port != 0 { candidates.append(contentsOf: media.candidates) }
        self.candidates = candidates
        bundleMids = sections.filter(\.accepted).map(\.mid)
    }

    /// Opus at 48 kHz (RFC 7587 §7); OBS writes it in upper case.
    private static func chooseAudio(_ media: MediaDescription, into section: inout NegotiatedSection) {
        guard let opus = media.rtpMaps.first(where: {
            $0.encodingName.lowercased() == "opus" && $0.clockRate == 48_000 && media.formats.contains(String($0.payloadType))
        }) else { return }
        section.kind = .audio
        section.payloadType = opus.payloadType
        section.codecName = "opus"
        section.clockRate = 48_000
        section.channels = 2
        section.formatParameters = fmtpText(media, opus.payloadType) ?? "minptime=10;useinbandfec=1"
        section.feedback = media.rtcpFeedback(for: opus.payloadType).filter { $0 == "transport-cc" ? false : true }
    }

    /// H.264 (packetization-mode 1 preferred, then any) or VP8: video is passed through untouched, so a viewer
    /// gets the publisher's codec when it offers it.
    private static func chooseVideo(_ media: MediaDescription, preferring preferred: String?,
                                    into section: inout NegotiatedSection) {
        let offered = media.rtpMaps.filter { media.formats.contains(String($0.payloadType)) && $0.clockRate == 90_000 }
        let h264 = offered.filter { $0.encodingName.lowercased() == "h264" }
        let bestH264 = h264.first { media.formatParameters(for: $0.payloadType)["packetization-mode"] == "1" } ?? h264.first
        let vp8 = offered.first { $0.encodingName.lowercased() == "vp8" }
        let chosen = preferred?.lowercased() == "vp8" ? (vp8 ?? bestH264) : (bestH264 ?? vp8)
        guard let codec = chosen else { return }
        section.kind = .video
        section.payloadType = codec.payloadType
        section.codecName = codec.encodingName
        section.clockRate = 90_000
        section.formatParameters = fmtpText(media, codec.payloadType) ?? ""
        let feedback = media.rtcpFeedback(for: codec.payloadType)
        section.feedback = ["nack", "nack pli", "ccm fir"].filter { feedback.contains($0) }
        if section.feedback.contains("nack") {
            section.retransmissionPayloadType = offered.first {
                $0.encodingName.lowercased() == "rtx"
                    && media.formatParameters(for: $0.payloadType)["apt"] == String(codec.payloadType)
            }?.payloadType
        }
    }

    private static func fmtpText(_ media: MediaDescription, _ payloadType: UInt8) -> String? {
        let prefix = "\(payloadType) "
        for attribute in media.attributes(named: "fmtp") {
            if let value = attribute.value, value.hasPrefix(prefix) { return String(value.dropFirst(prefix.count)) }
        }
        return nil
    }
}
