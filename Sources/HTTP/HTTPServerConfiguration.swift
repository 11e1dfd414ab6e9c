/// Where the server listens and the limits it enforces.
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// An IPv4 or IPv6 literal (`127.0.0.1`, `::1`, `[::1]`), `localhost`, or `""`/`*` for all addresses (IPv6
    /// wildcard, which also accepts IPv4 unless the system disables dual-stack sockets).
    public var host: String
    /// The TCP port; 0 picks an ephemeral port (read it from `start`'s result).
    public var port: UInt16
    /// Request line plus header section larger than this: 431 (also bounds chunked trailers).
    public var maximumHeaderBytes: Int
    /// Request body larger than this: 413.
    public var maximumBodyBytes: Int
    /// Time from a request's first byte (or from accept) until its header section is complete: 408 after it.
    public var headerTimeout: Duration
    /// Time for a request's body to arrive once its header section is complete: 408 after it.
    public var bodyTimeout: Duration
    /// How long a keep-alive connection may sit idle between requests before it is closed (quietly, since no
    /// request is pending), and how long a client may stall reading a response.
    public var idleTimeout: Duration
    /// Open connections beyond this get 503 with `Retry-After` and are closed.
    public var maximumConnections: Int
    /// Seconds sent in `Retry-After` with a 503 for too many connections.
    public var retryAfterSeconds: Int
    /// HTTPS when set.
    public var tls: TLSConfiguration?

    public init(host: String = "127.0.0.1", port: UInt16 = 8080, maximumHeaderBytes: Int = 16_384,
                maximumBodyBytes: Int = 1 << 20, headerTimeout: Duration = .seconds(10),
                bodyTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60),
                maximumConnections: Int = 1024, retryAfterSeconds: Int = 1, tls: TLSConfiguration? = nil) {
        self.host = host
        self.port = port
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumBodyBytes = maximumBodyBytes
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
        self.retryAfterSeconds = retryAfterSeconds
        self.tls = tls
    }
}

/// A snapshot of the server's counters, for metrics.
public struct HTTPServerCounters: Sendable, Equatable {
    /// Connections currently open (not counting ones being turned away with 503).
    public var connectionsOpen = 0
    /// Connections accepted since start, including turned-away ones.
    public var connectionsAccepted = 0
    /// Connections answered with 503 because `maximumConnections` were open.
    public var connectionsRejected = 0
    /// Complete requests handed to the handler.
    public var requests = 0
    /// Final responses sent, by status class: index 0 is 1xx, 1 is 2xx ... 4 is 5xx (including the server's own
    /// 400/408/413/431/503/505 answers).
    public var responsesByClass = [0, 0, 0, 0, 0]
    /// Connections answered with 408 because a header or body timeout expired.
    public var timeouts = 0

    public init() {}

    /// Responses with status `100 * statusClass ..< 100 * (statusClass + 1)`, e.g. `responses(class: 4)`.
    public func responses(class statusClass: Int) -> Int {
        (1...5).contains(statusClass) ? responsesByClass[statusClass - 1] : 0
    }

    mutating func record(status: Int) {
        let index = status / 100 - 1
        if (0..<5).contains(index) { responsesByClass[index] += 1 }
    }
}
