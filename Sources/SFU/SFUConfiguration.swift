import SkylarkBase
import Transport

/// How the media side of the server runs.
public struct SFUConfiguration: Sendable {
    /// The one UDP address every session's media uses.
    public var udpAddress: SocketAddress
    /// Addresses to announce in candidates instead of the bound one (1:1 NAT, e.g. a cloud VM's public IP),
    /// in the order clients should try them. Empty: the bound address.
    public var announcedAddresses: [IPAddress]
    /// Sessions beyond this get `SFUError.full`.
    public var maximumSessions: Int
    /// How long a session may take from its offer to a connected DTLS association before it is ended: an offer
    /// whose client never does ICE holds a slot of `maximumSessions` until then. (Consent of a connected session
    /// expires after RFC 7675 §5.1's 30 s, in the ICE agent.)
    public var connectTimeout: Duration
    /// Serial queues the sessions are spread over (1...64); about one per core the server may use.
    public var workers: Int

    public init(udpAddress: SocketAddress = SocketAddress(ip: .loopbackV4, port: 8189),
                announcedAddresses: [IPAddress] = [], maximumSessions: Int = 10_000,
                connectTimeout: Duration = .seconds(15), workers: Int = 1) {
        self.udpAddress = udpAddress
        self.announcedAddresses = announcedAddresses
        self.maximumSessions = maximumSessions
        self.connectTimeout = connectTimeout
        self.workers = workers
    }
}

/// A session as the API and metrics see it.
public struct SessionInfo: Sendable, Equatable {
    public var id: String
    public var stream: String
    /// "publisher" or "viewer".
    public var role: String
    /// ICE state name ("checking", "connected", ...).
    public var iceState: String
    /// Whether DTLS finished and media can flow.
    public var connected: Bool
    /// The client's address on the selected ICE pair.
    public var remoteAddress: String?
    /// The server's address on the selected ICE pair.
    public var localAddress: String?
    /// Seconds since the Unix epoch when the session was created.
    public var createdAt: Double
    public var seconds: Double
    public var counters: SessionCounters
    /// Bits per second over the session's life, in and out.
    public var bitrateIn: Double
    public var bitrateOut: Double
    public var hasVideo: Bool
}

/// A stream as the index page sees it.
public struct StreamInfo: Sendable, Equatable {
    public var name: String
    public var publishing: Bool
    public var viewers: Int
    public var hasVideo: Bool
}

/// The outcome of a PATCH on a session.
public enum PatchResult: Sendable, Equatable {
    /// Candidates were added (204).
    case trickled
    /// ICE restarted: the server's new credentials and candidates as an SDP fragment, and the new ETag (200).
    case restarted(fragment: String, etag: String)
}

/// What `/metrics` shows of the media side.
public struct SFUMetrics: Sendable, Equatable {
    public var publishers = 0
    public var viewers = 0
    public var viewersByStream: [String: Int] = [:]
    /// Traffic of every session since the server started (ended ones included).
    public var totals = SessionCounters()
    /// Packets the live sessions lost, as their clients or the server counted.
    public var packetsLost: Int64 = 0
    /// Datagrams on the media port dropped without effect, per reason: those that belonged to no session, and
    /// what every session (ended ones included) dropped.
    public var drops = DatagramDrops()
    public var dtlsFailures: UInt64 = 0

    public init() {}
}
