import SDP

/// What Skylark needs from one remote m-section, read once when the remote description is set.
struct RemoteSection {
    var index: Int
    var kind: String
    var mid: String
    var port: UInt16
    var proto: String
    var formats: [String]
    var direction: TransceiverDirection
    /// The payload type the remote uses for Opus 48 kHz / 2 channels, nil when it offers no Opus.
    var opusPayloadType: UInt8?
    var audioLevelExtensionID: UInt8?
    var midExtensionID: UInt8?
    var ssrcs: [UInt32]
    var streamIDs: [String]
    var trackID: String?

    /// Whether Skylark's library can take part in this section: audio over (S)AVPF with Opus, port not 0.
    var isUsableAudio: Bool {
        kind == "audio" && port != 0 && opusPayloadType != nil && proto.uppercased().contains("RTP/")
    }

    init(description sdp: SessionDescription, index: Int) {
        let media = sdp.media[index]
        self.index = index
        kind = media.kind
        mid = media.mid ?? String(index)
        port = media.port
        proto = media.proto
        formats = media.formats
        direction = RemoteSection.direction(sdp.direction(forMedia: index))
        opusPayloadType = media.rtpMaps.first {
            $0.encodingName.lowercased() == "opus" && $0.clockRate == 48_000
        }?.payloadType
        audioLevelExtensionID = media.extensionMaps.first { $0.uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level" }
            .map { UInt8(truncatingIfNeeded: $0.id) }
        midExtensionID = media.extensionMaps.first { $0.uri == "urn:ietf:params:rtp-hdrext:sdes:mid" }
            .map { UInt8(truncatingIfNeeded: $0.id) }
        var ssrcs: [UInt32] = []
        for attribute in media.ssrcAttributes where !ssrcs.contains(attribute.ssrc) { ssrcs.append(attribute.ssrc) }
        self.ssrcs = ssrcs
        // a=msid:<stream> <track> (RFC 8830); "-" means no stream.
        var streams: [String] = []
        var track: String?
        for value in media.attributes(named: "msid").compactMap(\.value) {
            let parts = value.split(separator: " ")
            if let first = parts.first, first != "-" { streams.append(String(first)) }
            if parts.count > 1 { track = String(parts[1]) }
        }
        streamIDs = streams
        trackID = track
    }

    static func direction(_ direction: MediaDirection) -> TransceiverDirection {
        switch direction {
        case .sendrecv: return .sendrecv
        case .sendonly: return .sendonly
        case .recvonly: return .recvonly
        case .inactive: return .inactive
        }
    }
}

extension TransceiverDirection {
    /// The direction seen from the other side (sendonly ↔ recvonly).
    var reversed: TransceiverDirection {
        switch self {
        case .sendonly: return .recvonly
        case .recvonly: return .sendonly
        default: return self
        }
    }

    /// The directions both allow (RFC 8829 §5.3.1: the answer's direction is the intersection).
    func intersection(_ other: TransceiverDirection) -> TransceiverDirection {
        let sends = self.sends && other.sends
        let receives = self.receives && other.receives
        switch (sends, receives) {
        case (true, true): return .sendrecv
        case (true, false): return .sendonly
        case (false, true): return .recvonly
        case (false, false): return .inactive
        }
    }
}
