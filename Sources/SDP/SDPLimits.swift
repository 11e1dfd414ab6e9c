/// Bounds on what the parser accepts, so a hostile peer cannot make it spend unbounded memory or time.
/// Exceeding any of them is an ``SDPParseError``.
public struct SDPLimits: Sendable {
    /// Largest accepted text, in UTF-8 bytes.
    public var maximumLength = 65_536
    /// Most m= sections.
    public var maximumMediaSections = 64
    /// Longest accepted line, in UTF-8 bytes, without its line ending.
    public var maximumLineLength = 4096
    /// Most a= lines in one section (the session level counts as a section).
    public var maximumAttributesPerSection = 1024

    /// The default limits; change the properties to adjust.
    public init() {}
}
