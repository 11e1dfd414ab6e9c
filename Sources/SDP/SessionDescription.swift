import SkylarkBase

/// A parsed SDP session description (RFC 8866): the session-level lines and the media sections.
///
/// Parse with ``init(parsing:limits:)``; serialize with ``text``. Parsing then serializing then parsing
/// again gives an equal value. The lookups taking a media index apply the usual session-level fallback;
/// an index out of range behaves like a media section without attributes (session-level values only).
public struct SessionDescription: Sendable, Equatable {
    /// The `o=` line.
    public typealias Origin = SDP.Origin

    /// The `o=` line.
    public var origin: Origin
    /// `s=`; "-" when there is nothing to say (RFC 8866 §5.3 asks for a non-empty value).
    public var sessionName: String
    /// The raw value of the session-level `c=` line.
    public var connection: String?
    /// Raw values of the session-level `b=` lines.
    public var bandwidths: [String]
    /// `i=`, `u=`, `e=`, `p=`, `t=`, `r=`, `z=`, `k=` and unknown lines, in RFC 8866 §5 order.
    public var otherLines: [SDPLine]
    /// Session-level attributes, in order.
    public var attributes: [Attribute]
    public var media: [MediaDescription]

    /// A description from its parts; by default with `t=0 0` and no media.
    public init(
        origin: Origin, sessionName: String = "-", connection: String? = nil, bandwidths: [String] = [],
        otherLines: [SDPLine] = [SDPLine(type: "t", value: "0 0")], attributes: [Attribute] = [],
        media: [MediaDescription] = []
    ) {
        self.origin = origin
        self.sessionName = sessionName
        self.connection = connection
        self.bandwidths = bandwidths
        self.otherLines = otherLines
        self.attributes = attributes
        self.media = media
    }

    /// Every session-level attribute with this (case-sensitive) name, in order.
    public func attributes(named name: String) -> [Attribute] {
        attributes.filter { $0.name == name }
    }

    func sessionValue(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    /// The media section's attributes with this name, or the session-level ones if the section has none.
    func values(_ name: String, media index: Int) -> [String] {
        if media.indices.contains(index) {
            let local = media[index].attributes(named: name).compactMap(\.value)
            if !local.isEmpty { return local }
        }
        return attributes(named: name).compactMap(\.value)
    }

    /// `a=ice-ufrag` and `a=ice-pwd`, each from the media section or else the session level (RFC 8839 §5.4).
    public func iceCredentials(forMedia index: Int) -> ICECredentials? {
        guard let ufrag = values("ice-ufrag", media: index).first,
            let password = values("ice-pwd", media: index).first
        else { return nil }
        return ICECredentials(ufrag: ufrag, password: password)
    }

    /// The tokens of `a=ice-options` (RFC 8839 §5.6), e.g. "trickle", media-level else session-level.
    public func iceOptions(forMedia index: Int) -> [String] {
        values("ice-options", media: index).flatMap { Scan.fields($0).map(String.init) }
    }

    /// `a=fingerprint` lines of the media section, else of the session (RFC 8122 §5).
    public func fingerprints(forMedia index: Int) -> [CertificateFingerprint] {
        values("fingerprint", media: index).compactMap { try? CertificateFingerprint(attributeValue: $0) }
    }

    /// `a=setup` of the media section, else of the session (RFC 4145 §4).
    public func setup(forMedia index: Int) -> SetupRole? {
        values("setup", media: index).first.flatMap { SetupRole(rawValue: $0) }
    }

    /// The media section's direction, else the session's, else sendrecv (RFC 8866 §6.7).
    public func direction(forMedia index: Int) -> MediaDirection {
        if media.indices.contains(index), let direction = media[index].direction { return direction }
        return MediaDirection.last(in: attributes) ?? .sendrecv
    }

    /// Session-level `a=group` lines (RFC 5888 §5).
    public var groups: [Group] {
        attributes(named: "group").compactMap { $0.value.flatMap { try? Group(value: $0) } }
    }

    /// The first BUNDLE group (RFC 9143 §7).
    public var bundleGroup: Group? {
        groups.first { $0.semantics == "BUNDLE" }
    }

    /// Session-level `a=ice-lite` (RFC 8839 §5.3).
    public var isICELite: Bool {
        attributes.contains { $0.name == "ice-lite" }
    }

    /// The index of the media section whose `a=mid` is `mid`.
    public func mediaIndex(forMID mid: String) -> Int? {
        media.firstIndex { $0.mid == mid }
    }
}
