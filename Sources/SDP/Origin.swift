/// The `o=` line (RFC 8866 §5.2): `<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
public struct Origin: Sendable, Equatable {
    public var username: String
    /// Kept as text: it is an opaque identifier, and some stacks use values wider than 64 bits.
    public var sessionID: String
    public var sessionVersion: UInt64
    public var netType: String
    public var addressType: String
    public var address: String

    /// An origin; the defaults (`-`, `IN IP4 0.0.0.0`) suit an endpoint whose address means nothing to the peer.
    public init(
        username: String = "-", sessionID: String, sessionVersion: UInt64,
        netType: String = "IN", addressType: String = "IP4", address: String = "0.0.0.0"
    ) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.netType = netType
        self.addressType = addressType
        self.address = address
    }

    var line: String {
        "\(username) \(sessionID) \(sessionVersion) \(netType) \(addressType) \(address)"
    }
}
