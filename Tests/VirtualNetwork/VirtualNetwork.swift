import SkylarkBase

/// An in-memory datagram network on a virtual clock, for tests of every layer that takes `now` as an argument:
/// the ICE agent, `BundleTransport`, the relay core, and (through `SimulatedNetwork`) whole peer connections.
///
/// Datagrams are lost, delayed and reordered as `conditions` say, deterministically for a given seed, and come
/// out of `nextDue()` in the order they fall due; time moves only when the test calls `advance(to:)`. The network
/// does not know its endpoints: the caller delivers each datagram to whoever owns its destination address.
public struct VirtualNetwork: Sendable {
    /// How a link behaves.
    public struct Conditions: Sendable, Equatable {
        /// Fraction of datagrams dropped (0...1).
        public var loss: Double
        /// One-way delay.
        public var delay: Duration
        /// Extra random delay up to this much per datagram: datagrams sent closer together than this are reordered.
        public var jitter: Duration

        public init(loss: Double = 0, delay: Duration = .milliseconds(10), jitter: Duration = .zero) {
            self.loss = loss
            self.delay = delay
            self.jitter = jitter
        }

        /// No loss, no delay, no reordering: a datagram arrives at the instant it was sent.
        public static let perfect = Conditions(delay: .zero)
    }

    /// One datagram on the wire.
    public struct Datagram: Sendable {
        public var bytes: [UInt8]
        public var from: SocketAddress
        public var to: SocketAddress
        /// When it arrives.
        public var due: Instant
        fileprivate var order: UInt64
    }

    /// Datagrams sent (injected ones not included), lost to `conditions`, and taken off the wire by `nextDue()`.
    public struct Counters: Sendable, Equatable {
        public var sent = 0
        public var lost = 0
        public var arrived = 0
    }

    /// Virtual time.
    public private(set) var now: Instant
    /// Conditions of every link that `linkConditions` does not name.
    public var conditions: Conditions
    /// Conditions for datagrams from one address (e.g. only a publisher's uplink is lossy).
    public var linkConditions: [SocketAddress: Conditions] = [:]
    public private(set) var counters = Counters()
    private var inFlight: [Datagram] = []  // sorted by (due, order)
    private var order: UInt64 = 0
    private var random: SplitMix64

    public init(conditions: Conditions = Conditions(), seed: UInt64 = 1,
                start: Instant = Instant(nanoseconds: 1_000_000_000)) {
        self.conditions = conditions
        self.random = SplitMix64(seed: seed)
        self.now = start
    }

    /// Puts a datagram on the wire, subject to the sender's link conditions.
    public mutating func send(_ bytes: [UInt8], from: SocketAddress, to: SocketAddress) {
        counters.sent += 1
        let link = linkConditions[from] ?? conditions
        if link.loss > 0, random.nextUnitInterval() < link.loss {
            counters.lost += 1
            return
        }
        var due = now + link.delay
        if link.jitter > .zero {
            due += .nanoseconds(Int64(random.nextUnitInterval() * Double(link.jitter.nanoseconds)))
        }
        enqueue(Datagram(bytes: bytes, from: from, to: to, due: due, order: 0))
    }

    /// Puts a datagram on the wire now as if `from` had sent it, past every condition: forged input in hostile tests.
    public mutating func inject(_ bytes: [UInt8], from: SocketAddress, to: SocketAddress) {
        enqueue(Datagram(bytes: bytes, from: from, to: to, due: now, order: 0))
    }

    /// When the next datagram arrives, if any is on the wire.
    public var nextArrival: Instant? { inFlight.first?.due }

    /// Takes the earliest datagram that has arrived by `now` off the wire.
    public mutating func nextDue() -> Datagram? {
        guard let first = inFlight.first, first.due <= now else { return nil }
        counters.arrived += 1
        return inFlight.removeFirst()
    }

    /// Moves the clock to `instant`; time never goes backwards.
    public mutating func advance(to instant: Instant) {
        now = max(now, instant)
    }

    /// Moves the clock forward by `duration`.
    public mutating func advance(by duration: Duration) {
        now = now + duration
    }

    /// Datagrams still on the wire.
    public var inFlightCount: Int { inFlight.count }

    private mutating func enqueue(_ datagram: Datagram) {
        var datagram = datagram
        order &+= 1
        datagram.order = order
        // Insertion keeps (due, order): equal arrival times leave in the order they were sent.
        var index = inFlight.count
        while index > 0, (inFlight[index - 1].due, inFlight[index - 1].order) > (datagram.due, datagram.order) { index -= 1 }
        inFlight.insert(datagram, at: index)
    }
}

extension SplitMix64 {
    /// Uniform in [0, 1), from the top 53 bits.
    mutating func nextUnitInterval() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension Duration {
    /// The whole duration in nanoseconds.
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
