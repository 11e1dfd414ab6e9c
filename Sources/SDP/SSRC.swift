/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1), e.g. `cname`, `msid`.
public struct SSRCAttribute: Sendable, Equatable {
    public var ssrc: UInt32
    public var name: String
    public var value: String?

    /// An attribute of one SSRC.
    public init(ssrc: UInt32, name: String, value: String? = nil) {
        self.ssrc = ssrc
        self.name = name
        self.value = value
    }

    init(value text: String) throws(InvalidValue) {
        guard let (head, rest) = Scan.head(text), !rest.isEmpty else {
            throw InvalidValue("ssrc needs <ssrc> <attribute>[:<value>]")
        }
        guard let ssrc = Scan.unsigned(head, as: UInt32.self) else {
            throw InvalidValue("ssrc '\(head.prefix(16))' is not a 32-bit number")
        }
        if let colon = rest.firstIndex(of: ":") {
            self.init(ssrc: ssrc, name: String(rest[..<colon]), value: String(rest[rest.index(after: colon)...]))
        } else {
            self.init(ssrc: ssrc, name: String(rest))
        }
    }

    /// `a=ssrc:<ssrc> <name>[:<value>]`.
    public var attribute: Attribute {
        let tail = value.map { "\(name):\($0)" } ?? name
        return Attribute(name: "ssrc", value: "\(ssrc) \(tail)")
    }
}

/// `a=ssrc-group:<semantics> <ssrc> ...` (RFC 5576 §4.2), e.g. `FID` pairing a stream with its RTX stream.
public struct SSRCGroup: Sendable, Equatable {
    public var semantics: String
    public var ssrcs: [UInt32]

    /// A group of SSRCs.
    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    init(value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard let semantics = fields.first else { throw InvalidValue("ssrc-group needs <semantics> <ssrc> ...") }
        var ssrcs: [UInt32] = []
        for field in fields.dropFirst() {
            guard let ssrc = Scan.unsigned(field, as: UInt32.self) else {
                throw InvalidValue("ssrc-group member '\(field.prefix(16))' is not a 32-bit number")
            }
            ssrcs.append(ssrc)
        }
        self.init(semantics: String(semantics), ssrcs: ssrcs)
    }

    /// `a=ssrc-group:<semantics> <ssrc> ...`.
    public var attribute: Attribute {
        Attribute(name: "ssrc-group", value: ([semantics] + ssrcs.map { String($0) }).joined(separator: " "))
    }
}
