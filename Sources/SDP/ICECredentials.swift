/// The ICE username fragment and password from `a=ice-ufrag` and `a=ice-pwd` (RFC 8839 §5.4).
public struct ICECredentials: Sendable, Equatable {
    public var ufrag: String
    public var password: String

    /// Credentials from their two parts.
    public init(ufrag: String, password: String) {
        self.ufrag = ufrag
        self.password = password
    }

    /// `a=ice-ufrag` and `a=ice-pwd`, in that order.
    public var attributes: [Attribute] {
        [Attribute(name: "ice-ufrag", value: ufrag), Attribute(name: "ice-pwd", value: password)]
    }
}
