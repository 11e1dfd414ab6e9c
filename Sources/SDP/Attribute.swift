/// One `a=name[:value]` line (RFC 8866 §5.13). The value is kept verbatim, including any leading space.
public struct Attribute: Sendable, Equatable {
    public var name: String
    /// Everything after the first colon; `nil` for a property attribute such as `a=rtcp-mux`.
    public var value: String?

    /// An attribute with an explicit name and optional value.
    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// Shorthand: `Attribute("rtcp-mux")`, `Attribute("mid", "0")`.
    public init(_ name: String, _ value: String? = nil) {
        self.init(name: name, value: value)
    }

    /// The text after `a=`.
    var line: String {
        if let value { return name + ":" + value }
        return name
    }
}

/// A line this library keeps as text only: `i=`, `u=`, `e=`, `p=`, `t=`, `r=`, `z=`, `k=` and lines of
/// unknown type, so that a parsed description serializes back with nothing lost.
public struct SDPLine: Sendable, Equatable {
    /// The type letter before `=`.
    public var type: Character
    public var value: String

    /// A line of the given type letter.
    public init(type: Character, value: String) {
        self.type = type
        self.value = value
    }
}
