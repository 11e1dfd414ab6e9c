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
    /// The video codec, as far as decoding goes.
    var videoCodec: VideoCodec?
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
    /// Simulcast a publisher sends (RFC 8853 §5.1), one rid per layer in its a=simulcast order (the first
    /// alternative of each entry); answered with `a=rid:<id> recv` and `a=simulcast:recv`.
    var simulcast: [SimulcastDescription.Stream] = []
    /// Simulcast signalled by SSRC instead (`a=ssrc-group:SIM`, lowest layer first).
    var simulcastSSRCs: [UInt32] = []
    /// The header extensions simulcast needs, as the offer numbered them (RFC 8285): answered with the same ids.
    var headerExtensions: [ExtensionMap] = []
    /// The id of `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852 §3.1), which names a packet's layer.
    var ridExtensionID: UInt8?
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

    /// Why a viewer's video section was rejected: none of its codecs decodes what the publisher sends.
    var videoRefusal: String?

    var audio: NegotiatedSection? { sections.first { $0.kind == .audio } }
    var video: NegotiatedSection? { sections.first { $0.kind == .video } }

    /// Reads an offer. `publisher` says which direction the client must offer: publishers send, viewers receive.
    /// A viewer's video is answered with a codec that decodes `publisherVideo`, the stream's publisher's, or
    /// rejected; with no publisher (yet), with the viewer's first codec the relay carries.
    init(offer: SessionDescription, publisher: Bool, publisherVideo: VideoCodec? = nil) throws(SFUError) {
        guard !offer.media.isEmpty else { throw .badOffer("the offer has no m= sections") }
        var sections: [NegotiatedSection] = []
        var firstAccepted: Int?
        var refusal: String?
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
                    let stream = publisher ? nil : publisherVideo
                    NegotiatedOffer.chooseVideo(media, decoding: stream, into: &section)
                    if publisher, section.accepted { NegotiatedOffer.readSimulcast(media, into: &section) }
                    if let stream, !section.accepted {
                        let offered = NegotiatedOffer.videoCodecs(media).map { "\($0.codec)" }
                        refusal = "the stream sends \(stream) video; this offer's video has "
                            + (offered.isEmpty ? "no codec the server relays" : Set(offered).sorted().joined(separator: ", "))
                    }
                    // Only what the server sends is retransmitted; a publisher's RTX is not asked for.
                    if publisher { section.retransmissionPayloadType = nil }
                default: break
                }
            }
            // The relay carries one audio and one video stream per session: later sections of a kind are rejected.
            if let kind = section.kind, sections.contains(where: { $0.kind == kind }) { section = NegotiatedSection(
                index: index, mid: section.mid, offeredKind: section.offeredKind, offeredProto: section.offeredProto,
                offeredFormat: section.offeredFormat) }
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
            if let refusal { throw .unsupportedMedia(refusal) }
            throw .unsupportedMedia("offer Opus audio (48 kHz) and optionally H.264, VP8, VP9 or AV1 video")
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
        videoRefusal = refusal
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

    /// The video codecs the relay carries (H.264, VP8, VP9, AV1), in the offer's order of preference (the m= line's
    /// format order, RFC 8866 §5.14).
    static func videoCodecs(_ media: MediaDescription) -> [(payloadType: UInt8, codec: VideoCodec)] {
        let maps = media.rtpMaps
        return media.formats.compactMap { format in
            guard let map = maps.first(where: { String($0.payloadType) == format }),
                  let codec = VideoCodec(rtpMap: map, parameters: media.formatParameters(for: map.payloadType))
            else { return nil }
            return (map.payloadType, codec)
        }
    }

    /// A publisher's first codec the relay carries, keeping the offerer's preference (RFC 3264 §6.1); a viewer's
    /// first codec that decodes `stream`, the publisher's (any carried codec when there is no publisher yet). Video
    /// is passed through untouched, so a viewer is never answered with a codec it would not be sent.
    private static func chooseVideo(_ media: MediaDescription, decoding stream: VideoCodec?,
                                    into section: inout NegotiatedSection) {
        let offered = videoCodecs(media)
        guard let (payloadType, codec) = offered.first(where: { stream.map($0.codec.decodes) ?? true }),
              let map = media.rtpMaps.first(where: { $0.payloadType == payloadType }) else { return }
        section.kind = .video
        section.payloadType = payloadType
        section.codecName = map.encodingName
        section.videoCodec = codec
        section.clockRate = 90_000
        section.formatParameters = fmtpText(media, payloadType) ?? ""
        let feedback = media.rtcpFeedback(for: payloadType)
        section.feedback = ["nack", "nack pli", "ccm fir"].filter { feedback.contains($0) }
        if section.feedback.contains("nack") {
            section.retransmissionPayloadType = media.rtpMaps.first {
                $0.encodingName.lowercased() == "rtx" && media.formats.contains(String($0.payloadType))
                    && media.formatParameters(for: $0.payloadType)["apt"] == String(payloadType)
            }?.payloadType
        }
    }

    static let midExtension = "urn:ietf:params:rtp-hdrext:sdes:mid"
    static let ridExtension = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    static let repairedRidExtension = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

    /// A publisher's simulcast layers: the rids of `a=simulcast:send` that an `a=rid … send` line describes, when
    /// the offer also maps the rtp-stream-id extension (without it packets could not be told apart); else the
    /// SSRCs of an `a=ssrc-group:SIM`.
    private static func readSimulcast(_ media: MediaDescription, into section: inout NegotiatedSection) {
        let extensions = media.extensionMaps
        if let simulcast = media.simulcast, !simulcast.send.isEmpty,
           let rid = extensions.first(where: { $0.uri == ridExtension }), rid.id <= 255 {
            let described = Set(media.restrictionIdentifiers.filter { $0.direction == .send }.map(\.id))
            let layers = simulcast.send.compactMap { $0.first(where: { described.contains($0.rid) }) }
            if layers.count > 1 {
                section.simulcast = Array(layers.prefix(4))
                section.ridExtensionID = UInt8(rid.id)
                let wanted = [midExtension, ridExtension, repairedRidExtension]
                section.headerExtensions = extensions.filter { wanted.contains($0.uri) && $0.id <= 255 }
                    .map { ExtensionMap(id: $0.id, uri: $0.uri) }
                return
            }
        }
        if let group = media.ssrcGroups.first(where: { $0.semantics == "SIM" }), group.ssrcs.count > 1 {
            section.simulcastSSRCs = Array(group.ssrcs.prefix(4))
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
