/// Writes the SDP Skylark sends (JSEP, RFC 8829 §5.2 for offers, §5.3 for answers): one BUNDLE transport,
/// rtcp-mux, Opus, with candidates when they have been gathered.
struct SessionDescriptionWriter {
    /// One m-section to write.
    struct Section {
        var kind: String
        var mid: String
        /// Rejected sections get port 0 and no attributes beyond the mid (JSEP §5.3.1).
        var rejected: Bool
        var proto = "UDP/TLS/RTP/SAVPF"
        /// Formats for a rejected section (copied from the offer).
        var rejectedFormats: [String] = []
        var direction: TransceiverDirection = .sendrecv
        var payloadType: UInt8 = 111
        var audioLevelExtensionID: UInt8?
        var midExtensionID: UInt8?
        var ssrc: UInt32 = 0
        var streamIDs: [String] = []
        var trackID: String?
    }

    var sessionID: UInt64
    var sessionVersion: UInt64
    var iceUfrag: String
    var icePassword: String
    var fingerprint: String
    /// actpass (offers), active or passive (answers).
    var setup: String
    var iceLite: Bool
    var cname: String
    var candidates: [String]
    var endOfCandidates: Bool
    var sections: [Section]

    var text: String {
        var lines: [String] = [
            "v=0",
            "o=- \(sessionID) \(sessionVersion) IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
        ]
        let bundled = sections.filter { !$0.rejected }.map(\.mid)
        if !bundled.isEmpty { lines.append("a=group:BUNDLE " + bundled.joined(separator: " ")) }
        if iceLite { lines.append("a=ice-lite") }
        lines.append("a=msid-semantic: WMS *")
        var first = true
        for section in sections {
            if section.rejected {
                let formats = section.rejectedFormats.isEmpty ? ["0"] : section.rejectedFormats
                lines.append("m=\(section.kind) 0 \(section.proto) " + formats.joined(separator: " "))
                lines.append("c=IN IP4 0.0.0.0")
                lines.append("a=mid:\(section.mid)")
                lines.append("a=inactive")
                continue
            }
            // The default candidate goes in the m-line and c-line (RFC 8839 §4.2.1.2): the first one gathered.
            var port = "9", address = "IN IP4 0.0.0.0"
            if first, let candidate = candidates.first, let (ip, p) = Self.address(ofCandidate: candidate) {
                port = p
                address = ip.contains(":") ? "IN IP6 \(ip)" : "IN IP4 \(ip)"
            }
            lines.append("m=\(section.kind) \(first ? port : "9") \(section.proto) \(section.payloadType)")
            lines.append("c=\(first ? address : "IN IP4 0.0.0.0")")
            lines.append("a=rtcp:9 IN IP4 0.0.0.0")
            if first {
                // With BUNDLE the candidates belong to the first (tagged) m-section only.
                for candidate in candidates { lines.append("a=candidate:\(candidate)") }
                if endOfCandidates { lines.append("a=end-of-candidates") }
            }
            lines.append("a=ice-ufrag:\(iceUfrag)")
            lines.append("a=ice-pwd:\(icePassword)")
            if !iceLite { lines.append("a=ice-options:trickle") }
            lines.append("a=fingerprint:\(fingerprint)")
            lines.append("a=setup:\(setup)")
            lines.append("a=mid:\(section.mid)")
            if let id = section.audioLevelExtensionID {
                lines.append("a=extmap:\(id) urn:ietf:params:rtp-hdrext:ssrc-audio-level")
            }
            if let id = section.midExtensionID { lines.append("a=extmap:\(id) urn:ietf:params:rtp-hdrext:sdes:mid") }
            lines.append("a=\(section.direction.name)")
            let sends = section.direction.sends
            if sends, let trackID = section.trackID {
                let streams = section.streamIDs.isEmpty ? ["-"] : section.streamIDs
                for stream in streams { lines.append("a=msid:\(stream) \(trackID)") }
            }
            lines.append("a=rtcp-mux")
            lines.append("a=rtcp-rsize")
            lines.append("a=rtpmap:\(section.payloadType) opus/48000/2")
            lines.append("a=fmtp:\(section.payloadType) minptime=10;useinbandfec=1")
            if sends {
                lines.append("a=ssrc:\(section.ssrc) cname:\(cname)")
                if let trackID = section.trackID {
                    lines.append("a=ssrc:\(section.ssrc) msid:\(section.streamIDs.first ?? "-") \(trackID)")
                }
            }
            first = false
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Address and port of an `a=candidate` value (fields 5 and 6, RFC 8839 §5.1).
    static func address(ofCandidate candidate: String) -> (String, String)? {
        let fields = candidate.split(separator: " ")
        guard fields.count >= 6 else { return nil }
        return (String(fields[4]), String(fields[5]))
    }
}
