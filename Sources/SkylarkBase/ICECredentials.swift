/// An ICE username fragment and password (RFC 8445 §5.3), as SDP carries them in `a=ice-ufrag` and `a=ice-pwd`
/// (RFC 8839 §5.4) and as the agent checks them in STUN.
public struct ICECredentials: Sendable, Hashable {
    public var ufrag: String
    public var password: String

    public init(ufrag: String, password: String) {
        self.ufrag = ufrag
        self.password = password
    }
}
