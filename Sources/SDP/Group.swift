/// `a=group:<semantics> <mid> ...` (RFC 5888 §5), e.g. BUNDLE (RFC 9143) or LS (lip sync).
public struct Group: Sendable, Equatable {
    public var semantics: String
    public var mids: [String]

    /// A group of media sections by mid.
    public init(semantics: String, mids: [String]) {
        self.semantics = semantics
        self.mids = mids
    }

    init(value: String) throws(InvalidValue) {
        let fields = Scan.fields(value)
        guard let semantics = fields.first else { throw InvalidValue("group needs <semantics> [<mid> ...]") }
        self.semantics = String(semantics)
        self.mids = fields.dropFirst().map(String.init)
    }

    /// `a=group:<semantics> <mid> ...`.
    public var attribute: Attribute {
        Attribute(name: "group", value: ([semantics] + mids).joined(separator: " "))
    }
}
