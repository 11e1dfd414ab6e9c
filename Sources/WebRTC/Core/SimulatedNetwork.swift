import Dispatch
import SkylarkBase
import Synchronization

/// An in-memory network with its own clock, for tests: datagrams between endpoints are delayed, dropped and
/// reordered as configured, and time only moves when `run(for:)` moves it. Deterministic for a given seed.
///
/// Peer connections created with it do everything they do on real sockets (ICE, DTLS, SRTP, RTP) except that
/// OpenSSL keeps its DTLS retransmission timer on the wall clock.
public final class SimulatedNetwork: PeerNetwork, @unchecked Sendable {
    /// Link behaviour.
    public struct Conditions: Sendable {
        /// Fraction of datagrams dropped (0...1).
        public var loss: Double
        /// One-way delay.
        public var delay: Duration
        /// Extra random delay up to this much, which reorders datagrams.
        public var jitter: Duration

        public init(loss: Double = 0, delay: Duration = .milliseconds(10), jitter: Duration = .zero) {
            self.loss = loss
            self.delay = delay
            self.jitter = jitter
        }
    }

    private struct Endpoint {
        var queue: DispatchQueue
        var receive: (UnsafeMutableRawBufferPointer, SocketAddress, SocketAddress) -> Void
    }

    private struct InFlight {
        var due: Instant
        var order: UInt64
        var bytes: [UInt8]
        var from: SocketAddress
        var to: SocketAddress
    }

    private let lock = NSLockLike()
    private var clock: Instant = Instant(nanoseconds: 1_000_000_000)
    private var endpoints: [SocketAddress: Endpoint] = [:]
    private var inFlight: [InFlight] = []
    private var timers: [SimulatedTimer] = []
    private var nextPort: UInt16 = 40_000
    private var order: UInt64 = 0
    private var random: SplitMix64
    /// Conditions applied to every datagram.
    public var conditions: Conditions
    /// Datagrams sent, dropped and delivered so far.
    public private(set) var sent = 0, dropped = 0, delivered = 0

    public init(conditions: Conditions = Conditions(), seed: UInt64 = 1) {
        self.conditions = conditions
        self.random = SplitMix64(seed: seed)
    }

    public func now() -> Instant { lock.locked { clock } }

    public func open(addresses: [SocketAddress], queue: DispatchQueue,
                     receive: @escaping (UnsafeMutableRawBufferPointer, SocketAddress, SocketAddress) -> Void) throws -> [SocketAddress] {
        lock.locked {
            addresses.map { requested in
                var address = requested
                if address.port == 0 {
                    address.port = nextPort
                    nextPort &+= 1
                }
                endpoints[address] = Endpoint(queue: queue, receive: receive)
                return address
            }
        }
    }

    public func send(_ bytes: [UInt8], from local: SocketAddress, to remote: SocketAddress) {
        let observer = lock.locked { tap }
        observer?(bytes, local, remote)
        lock.locked {
            sent += 1
            if random.nextDouble() < conditions.loss {
                dropped += 1
                return
            }
            var due = clock + conditions.delay
            if conditions.jitter > .zero {
                let jitterNanos = Double(conditions.jitter.components.seconds) * 1e9
                    + Double(conditions.jitter.components.attoseconds) / 1e9
                due += .nanoseconds(Int64(random.nextDouble() * jitterNanos))
            }
            order &+= 1
            inFlight.append(InFlight(due: due, order: order, bytes: bytes, from: local, to: remote))
        }
    }

    /// Puts a datagram on the wire as if `from` had sent it (for hostile-input tests); subject to no loss.
    public func inject(_ bytes: [UInt8], from: SocketAddress, to: SocketAddress) {
        lock.locked {
            order &+= 1
            inFlight.append(InFlight(due: clock, order: order, bytes: bytes, from: from, to: to))
        }
    }

    /// Every datagram sent, before loss is applied: (bytes, from, to). Set it before traffic starts.
    public var onSend: (@Sendable ([UInt8], SocketAddress, SocketAddress) -> Void)? {
        get { lock.locked { tap } }
        set { lock.locked { tap = newValue } }
    }

    private var tapStorage: (@Sendable ([UInt8], SocketAddress, SocketAddress) -> Void)?
    private var tap: (@Sendable ([UInt8], SocketAddress, SocketAddress) -> Void)? {
        get { tapStorage }
        set { tapStorage = newValue }
    }

    public func close(_ locals: [SocketAddress]) {
        lock.locked { for local in locals { endpoints.removeValue(forKey: local) } }
    }

    public func makeTimer(queue: DispatchQueue, handler: @escaping () -> Void) -> PeerTimer {
        let timer = SimulatedTimer(queue: queue, handler: handler, network: self)
        lock.locked { timers.append(timer) }
        return timer
    }

    /// Advances the clock by `duration` in steps of at most `step`, delivering datagrams and firing timers that
    /// fall due, each on its owner's queue (synchronously, so the caller must not be on one of those queues).
    /// `tick` runs at every step, e.g. to feed an audio source.
    public func run(for duration: Duration, step: Duration = .milliseconds(1), tick: ((Instant) -> Void)? = nil) {
        let end = now() + duration
        while now() < end {
            let stepEnd = min(now() + step, end)
            lock.locked { clock = stepEnd }
            tick?(stepEnd)
            deliverDue()
        }
    }

    private func deliverDue() {
        while true {
            let work: (() -> Void)? = lock.locked {
                let now = clock
                if let index = inFlight.indices.filter({ inFlight[$0].due <= now })
                    .min(by: { (inFlight[$0].due, inFlight[$0].order) < (inFlight[$1].due, inFlight[$1].order) }) {
                    let packet = inFlight.remove(at: index)
                    guard let endpoint = endpoints[packet.to] else {
                        dropped += 1
                        return {}
                    }
                    delivered += 1
                    return {
                        endpoint.queue.sync {
                            var bytes = packet.bytes
                            bytes.withUnsafeMutableBytes { endpoint.receive($0, packet.from, packet.to) }
                        }
                    }
                }
                timers.removeAll { $0.isCancelled }
                if let timer = timers.filter({ ($0.deadline ?? .init(nanoseconds: .max)) <= now }).first {
                    timer.deadline = nil
                    return { timer.queue.sync { timer.handler() } }
                }
                return nil
            }
            guard let work else { return }
            work()
        }
    }

    fileprivate func withLock<R>(_ body: () -> R) -> R { lock.locked(body) }
}

final class SimulatedTimer: PeerTimer, @unchecked Sendable {
    let queue: DispatchQueue
    let handler: () -> Void
    weak var network: SimulatedNetwork?
    var deadline: Instant?
    var isCancelled = false

    init(queue: DispatchQueue, handler: @escaping () -> Void, network: SimulatedNetwork) {
        self.queue = queue
        self.handler = handler
        self.network = network
    }

    func schedule(at deadline: Instant) {
        if let network { network.withLock { self.deadline = deadline } } else { self.deadline = deadline }
    }

    func cancel() {
        if let network { network.withLock { isCancelled = true; deadline = nil } } else { isCancelled = true }
    }
}

extension SplitMix64 {
    /// Uniform in [0, 1), from the top 53 bits.
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// A plain mutual-exclusion lock around a closure.
final class NSLockLike: @unchecked Sendable {
    private let mutex = Mutex(())
    func locked<R>(_ body: () -> R) -> R { mutex.withLock { _ in body() } }
}
