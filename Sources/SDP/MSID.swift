/// A media stream and track identification from `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
/// The stream id `-` means "no stream".
public struct MSID: Sendable, Equatable {
    public var stream: String
    public var track: String?

    /// A stream id and optional track id.
    public init(stream: String, track: String? = nil) {
        self.stream = stream
        self.track = track
    }

    /// Lenient: any non-empty value has a stream id.
    init?(value: String) {
        let fields = Scan.fields(value)
        guard let stream = fields.first else { return nil }
        self.init(stream: String(stream), track: fields.count > 1 ? String(fields[1]) : nil)
    }

    /// `a=msid:<stream> [<track>]`.
    public var attribute: Attribute {
        Attribute(name: "msid", value: track.map { "\(stream) \($0)" } ?? stream)
    }
}
