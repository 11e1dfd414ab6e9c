import SDP
import SkylarkBase

/// Writes the server's answer (RFC 8829 §5.3.1 shape, with what WHIP/WHEP clients rely on): ICE-lite, every
/// server candidate (the server never trickles), BUNDLE, rtcp-mux and a mid on every section.
struct AnswerWriter {
    var sessionID: UInt64
    var sessionVersion: UInt64 = 1
    var ufrag: String
    var password: String
    var fingerprint: String
    /// "passive" (the client is the DTLS client) or "active" (FFmpeg offers setup:passive).
    var setup: String
    /// Host candidates, the one clients should use first.
    var candidates: [String]
    /// The SSRC and stream/track ids the server sends with, per kind, and for video retransmissions (viewers only).
    var sendSSRC: (audio: UInt32, video: UInt32, retransmission: UInt32)
    var cname: String
    var streamID: String
    /// Whether the server sends (WHEP) or receives (WHIP).
    var serverSends: Bool

    func write(_ offer: NegotiatedOffer) -> String {
        var lines = [
            "v=0",
            "o=skylark \(sessionID) \(sessionVersion) IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "a=ice-lite",
        ]
        if !offer.bundleMids.isEmpty { lines.append("a=group:BUNDLE " + offer.bundleMids.joined(separator: " ")) }
        lines.append("a=msid-semantic: WMS \(streamID)")
        for section in offer.sections {
            guard section.accepted, let kind = section.kind else {
                // Rejected: port 0 with the offer's media type, protocol and a format it offered, and the mid (RFC 3264 §6).
                lines.append("m=\(section.offeredKind) 0 \(section.offeredProto) \(section.offeredFormat)")
                lines.append("c=IN IP4 0.0.0.0")
                lines.append("a=mid:\(section.mid)")
                lines.append("a=inactive")
                continue
            }
            let kindName = kind == .audio ? "audio" : "video"
            let port = candidatePort
            let retransmission = serverSends ? section.retransmissionPayloadType : nil
            let formats = "\(section.payloadType)" + (retransmission.map { " \($0)" } ?? "")
            lines.append("m=\(kindName) \(port) UDP/TLS/RTP/SAVPF \(formats)")
            // RFC 8866 §5.7: the address type says which family the connection address is.
            lines.append("c=IN \(candidateAddress.contains(":") ? "IP6" : "IP4") \(candidateAddress)")
            lines.append("a=mid:\(section.mid)")
            lines.append("a=ice-ufrag:\(ufrag)")
            lines.append("a=ice-pwd:\(password)")
            lines.append("a=fingerprint:\(fingerprint)")
            lines.append("a=setup:\(setup)")
            lines.append(serverSends ? "a=sendonly" : "a=recvonly")
            lines.append("a=rtcp-mux")
            if section.rtcpReducedSize { lines.append("a=rtcp-rsize") }
            let channels = section.channels.map { "/\($0)" } ?? ""
            lines.append("a=rtpmap:\(section.payloadType) \(section.codecName)/\(section.clockRate)\(channels)")
            if !section.formatParameters.isEmpty { lines.append("a=fmtp:\(section.payloadType) \(section.formatParameters)") }
            for feedback in section.feedback { lines.append("a=rtcp-fb:\(section.payloadType) \(feedback)") }
            for map in section.headerExtensions { lines.append("a=\(map.attribute.name):\(map.attribute.value ?? "")") }
            if !section.simulcast.isEmpty {
                // RFC 8853 §5.3: the answerer receives what the offerer sends, each rid answered with recv.
                for layer in section.simulcast { lines.append("a=rid:\(layer.rid) recv") }
                let simulcast = SimulcastDescription(receive: section.simulcast.map { [$0] })
                lines.append("a=simulcast:\(simulcast.attribute.value ?? "")")
            }
            if let retransmission {
                // RFC 4588 §8.6: RTX carries the original payload type's packets again, on its own SSRC.
                lines.append("a=rtpmap:\(retransmission) rtx/\(section.clockRate)")
                lines.append("a=fmtp:\(retransmission) apt=\(section.payloadType)")
            }
            if serverSends {
                let ssrc = kind == .audio ? sendSSRC.audio : sendSSRC.video
                let track = "\(streamID)-\(kindName)"
                lines.append("a=msid:\(streamID) \(track)")
                if retransmission != nil {
                    // RFC 5576 §4.2 / RFC 4588 §8.7: the retransmission SSRC is paired with the media SSRC.
                    lines.append("a=ssrc-group:FID \(ssrc) \(sendSSRC.retransmission)")
                }
                lines.append("a=ssrc:\(ssrc) cname:\(cname)")
                lines.append("a=ssrc:\(ssrc) msid:\(streamID) \(track)")
                if retransmission != nil {
                    lines.append("a=ssrc:\(sendSSRC.retransmission) cname:\(cname)")
                    lines.append("a=ssrc:\(sendSSRC.retransmission) msid:\(streamID) \(track)")
                }
            }
            // Every candidate in every bundled section: some clients read only the first section's.
            for candidate in candidates { lines.append("a=candidate:\(candidate)") }
            lines.append("a=end-of-candidates")
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The first candidate's address and port go into c= and m= (RFC 8839 §4.2.1.2 default candidate).
    private var candidateAddress: String {
        guard let first = candidates.first else { return "0.0.0.0" }
        let parts = first.split(separator: " ")
        return parts.count > 4 ? String(parts[4]) : "0.0.0.0"
    }

    private var candidatePort: String {
        guard let first = candidates.first else { return "9" }
        let parts = first.split(separator: " ")
        return parts.count > 5 ? String(parts[5]) : "9"
    }
}

extension AnswerWriter {
    /// The body of a 200 answer to an ICE-restart PATCH (RFC 9725 §4.3.2, an SDP fragment as in RFC 8840 §9): the
    /// new credentials, and per accepted section its m-line, mid and every candidate.
    static func restartFragment(ufrag: String, password: String, offer: NegotiatedOffer, candidates: [String]) -> String {
        var lines = ["a=ice-lite", "a=ice-ufrag:\(ufrag)", "a=ice-pwd:\(password)"]
        for section in offer.sections where section.accepted {
            lines.append("m=\(section.kind == .video ? "video" : "audio") 9 UDP/TLS/RTP/SAVPF \(section.payloadType)")
            lines.append("a=mid:\(section.mid)")
            for candidate in candidates { lines.append("a=candidate:\(candidate)") }
            lines.append("a=end-of-candidates")
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
