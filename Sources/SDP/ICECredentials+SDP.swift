import SkylarkBase

extension ICECredentials {
    /// `a=ice-ufrag` and `a=ice-pwd`, in that order (RFC 8839 §5.4).
    public var attributes: [Attribute] {
        [Attribute(name: "ice-ufrag", value: ufrag), Attribute(name: "ice-pwd", value: password)]
    }
}
