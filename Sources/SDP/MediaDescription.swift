/// One media section: the `m=` line and the lines up to the next `m=` (RFC 8866 §5.14).
///
/// Attributes are kept as parsed, in order; the typed views below read them on demand, so
/// ``add(_:)`` and direct edits of ``attributes`` are always reflected. Typed views skip entries
/// they cannot read (the parser has already rejected malformed ones it validates).
public struct MediaDescription: Sendable, Equatable {
    /// "audio", "video", "application", ...
    public var kind: String
    public var port: UInt16
    /// The `/<number of ports>` suffix of the port, if present.
    public var portCount: Int?
    /// "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ...
    public var proto: String
    /// Payload types for RTP profiles, or other format names ("webrtc-datachannel").
    public var formats: [String]
    /// The raw value of this section's `c=` line.
    public var connection: String?
    /// Raw values of the `b=` lines.
    public var bandwidths: [String]
    public var attributes: [Attribute]
    /// `i=`, `k=` and unknown lines, kept as text.
    public var otherLines: [SDPLine]

    /// A media section from its parts; `formats` must not be empty for the text to parse again.
    public init(
        kind: String, port: UInt16, portCount: Int? = nil, proto: String, formats: [String],
        connection: String? = nil, bandwidths: [String] = [], attributes: [Attribute] = [],
        otherLines: [SDPLine] = []
    ) {
        self.kind = kind
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
        self.connection = connection
        self.bandwidths = bandwidths
        self.attributes = attributes
        self.otherLines = otherLines
    }

    /// Appends an attribute at the end of the section.
    public mutating func add(_ attribute: Attribute) {
        attributes.append(attribute)
    }

    /// Every attribute with this (case-sensitive) name, in order.
    public func attributes(named name: String) -> [Attribute] {
        attributes.filter { $0.name == name }
    }

    func firstValue(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    func has(_ name: String) -> Bool {
        attributes.contains { $0.name == name }
    }

    /// `a=mid` (RFC 9143 §9.1 via RFC 5888 §4); the first one if repeated.
    public var mid: String? { firstValue("mid") }

    /// The direction attribute of this section only; see ``SessionDescription/direction(forMedia:)``
    /// for the value with the session-level fallback.
    public var direction: MediaDirection? { MediaDirection.last(in: attributes) }

    /// `a=rtpmap` lines, in order.
    public var rtpMaps: [RTPMap] {
        attributes(named: "rtpmap").compactMap { $0.value.flatMap { try? RTPMap(value: $0) } }
    }

    /// The rtpmaps whose encoding name matches, ignoring case (RFC 4855 §3: MIME subtypes are case-insensitive).
    public func rtpMaps(named encodingName: String) -> [RTPMap] {
        let wanted = encodingName.lowercased()
        return rtpMaps.filter { $0.encodingName.lowercased() == wanted }
    }

    /// Parameters of `a=fmtp:<pt> k=v;k=v` (RFC 8866 §6.15), keys lowercased, values as written.
    /// A parameter without `=` (telephone-event's `0-15`, RED's `111/111`) is a key with an empty value.
    /// Several fmtp lines for one payload type merge, later ones winning.
    public func formatParameters(for payloadType: UInt8) -> [String: String] {
        var parameters: [String: String] = [:]
        for attribute in attributes where attribute.name == "fmtp" {
            guard let value = attribute.value, let (format, rest) = Scan.head(value),
                format == String(payloadType)
            else { continue }
            for pair in rest.split(separator: ";") {
                let trimmed = pair.trimmingSpaces
                guard !trimmed.isEmpty else { continue }
                if let equals = trimmed.firstIndex(of: "=") {
                    let key = trimmed[..<equals].trimmingSpaces.lowercased()
                    parameters[key] = String(trimmed[trimmed.index(after: equals)...].trimmingSpaces)
                } else {
                    parameters[trimmed.lowercased()] = ""
                }
            }
        }
        return parameters
    }

    /// Values of `a=rtcp-fb:<pt> <feedback>` for this payload type and for the `*` wildcard (RFC 4585 §4.2),
    /// in order: "nack", "nack pli", "transport-cc", ...
    public func rtcpFeedback(for payloadType: UInt8) -> [String] {
        let number = String(payloadType)
        var feedback: [String] = []
        for attribute in attributes where attribute.name == "rtcp-fb" {
            guard let value = attribute.value, let (format, rest) = Scan.head(value),
                format == number || format == "*", !rest.isEmpty
            else { continue }
            feedback.append(String(rest))
        }
        return feedback
    }

    /// `a=extmap` lines, in order.
    public var extensionMaps: [ExtensionMap] {
        attributes(named: "extmap").compactMap { $0.value.flatMap { try? ExtensionMap(value: $0) } }
    }

    /// `a=ssrc` lines, in order.
    public var ssrcAttributes: [SSRCAttribute] {
        attributes(named: "ssrc").compactMap { $0.value.flatMap { try? SSRCAttribute(value: $0) } }
    }

    /// `a=rid` lines, in order (RFC 8851).
    public var restrictionIdentifiers: [RestrictionIdentifier] {
        attributes(named: "rid").compactMap { $0.value.flatMap { try? RestrictionIdentifier(value: $0) } }
    }

    /// The `a=simulcast` line (RFC 8853), if any.
    public var simulcast: SimulcastDescription? {
        attributes(named: "simulcast").lazy.compactMap { $0.value.flatMap { try? SimulcastDescription(value: $0) } }.first
    }

    /// `a=ssrc-group` lines, in order.
    public var ssrcGroups: [SSRCGroup] {
        attributes(named: "ssrc-group").compactMap { $0.value.flatMap { try? SSRCGroup(value: $0) } }
    }

    /// Every SSRC named by `a=ssrc` (then `a=ssrc-group`) lines, each once, in order of first appearance.
    public var ssrcs: [UInt32] {
        var seen = Set<UInt32>()
        var result: [UInt32] = []
        for ssrc in ssrcAttributes.map(\.ssrc) + ssrcGroups.flatMap(\.ssrcs) where seen.insert(ssrc).inserted {
            result.append(ssrc)
        }
        return result
    }

    /// `a=msid` lines (RFC 8830). When there are none, the distinct `a=ssrc:<n> msid:<stream> <track>`
    /// values that older stacks send instead.
    public var msids: [MSID] {
        let direct = attributes(named: "msid").compactMap { $0.value.flatMap(MSID.init(value:)) }
        guard direct.isEmpty else { return direct }
        var result: [MSID] = []
        for attribute in ssrcAttributes where attribute.name == "msid" {
            if let msid = attribute.value.flatMap(MSID.init(value:)), !result.contains(msid) {
                result.append(msid)
            }
        }
        return result
    }

    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    public var isRTCPMux: Bool { has("rtcp-mux") }

    /// The values of the `a=candidate` lines, without the `candidate:` prefix (RFC 8839 §5.1).
    public var candidates: [String] {
        attributes(named: "candidate").compactMap(\.value)
    }

    /// `a=end-of-candidates` (RFC 8840 §8.2).
    public var hasEndOfCandidates: Bool { has("end-of-candidates") }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
