import SkylarkBase

/// Which side decides the nominated pair (RFC 8445 §6.1.1).
public enum ICERole: Sendable, Equatable {
    case controlling, controlled
}

/// The agent's overall state, mirroring `RTCIceConnectionState`.
public enum ICEConnectionState: Sendable, Equatable {
    case new, checking, connected, completed, failed, disconnected, closed
}

/// A datagram the owner must send from `source` (one of its sockets) to `destination`.
public struct ICETransmit: Sendable {
    public var source: SocketAddress
    public var destination: SocketAddress
    public var bytes: [UInt8]

    public init(source: SocketAddress, destination: SocketAddress, bytes: [UInt8]) {
        self.source = source
        self.destination = destination
        self.bytes = bytes
    }
}

/// Something the owner should know about; drain with `ICEAgent.pollEvent()`.
public enum ICEEvent: Sendable {
    case connectionStateChanged(ICEConnectionState)
    case selectedPairChanged(local: ICECandidate, remote: ICECandidate)
    case roleChanged(ICERole)
}

/// Counters for monitoring an agent.
public struct ICEStats: Sendable, Equatable {
    /// Binding requests sent, including retransmissions and consent checks.
    public var requestsSent = 0
    /// Authenticated Binding requests received.
    public var requestsReceived = 0
    /// Binding responses (success and error) sent.
    public var responsesSent = 0
    /// Authenticated Binding responses received for our transactions.
    public var responsesReceived = 0
    /// Consent freshness checks started on the selected pair (RFC 7675).
    public var consentRequestsSent = 0
    /// Round-trip time of the last check answered on the selected pair (never from a retransmitted request).
    public var roundTripTime: Duration?
    /// Messages dropped because MESSAGE-INTEGRITY did not verify.
    public var rejectedIntegrity = 0
    /// Messages dropped because FINGERPRINT did not verify (RFC 8489 §14.7).
    public var rejectedFingerprint = 0
    /// Requests dropped because USERNAME did not start with our ufrag.
    public var rejectedUsername = 0

    /// All rejected messages.
    public var rejected: Int { rejectedIntegrity + rejectedFingerprint + rejectedUsername }

    public init() {}
}
