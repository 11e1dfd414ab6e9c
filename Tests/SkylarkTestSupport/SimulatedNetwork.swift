import Dispatch
import SkylarkBase
import Synchronization
import VirtualNetwork
import WebRTC

/// A `PeerNetwork` on a `VirtualNetwork`: peer connections created with it do everything they do on real sockets
/// (ICE, DTLS, SRTP, RTP) in memory, with loss, delay and reordering, and time only moves when `run(for:)` moves it.
/// Deterministic for a given seed, except that OpenSSL keeps its DTLS retransmission timer on the wall clock.
public final class SimulatedNetwork: PeerNetwork, @unchecked Sendable {
    public typealias Conditions = VirtualNetwork.Conditions

    private struct Endpoint {
        var queue: DispatchQueue
        var receive: (UnsafeMutableRawBufferPointer, SocketAddress, SocketAddress) -> Void
    }

    private let lock = Lock()
    private var wire: VirtualNetwork
    private var endpoints: [SocketAddress: Endpoint] = [:]
    private var timers: [SimulatedTimer] = []
    private var nextPort: UInt16 = 40_000
    private var tap: (@Sendable ([UInt8], SocketAddress, SocketAddress) -> Void)?

    public init(conditions: Conditions = Conditions(), seed: UInt64 = 1) {
        wire = VirtualNetwork(conditions: conditions, seed: seed)
    }

    /// Conditions applied to every datagram from now on.
    public var conditions: Conditions {
        get { lock.locked { wire.conditions } }
        set { lock.locked { wire.conditions = newValue } }
    }

    /// Datagrams sent, lost and delivered so far.
    public var counters: VirtualNetwork.Counters { lock.locked { wire.counters } }

    public func now() -> Instant { lock.locked { wire.now } }

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
        lock.locked { wire.send(bytes, from: local, to: remote) }
    }

    /// Puts a datagram on the wire as if `from` had sent it (for hostile-input tests); subject to no loss.
    public func inject(_ bytes: [UInt8], from: SocketAddress, to: SocketAddress) {
        lock.locked { wire.inject(bytes, from: from, to: to) }
    }

    /// Every datagram sent, before loss is applied: (bytes, from, to). Set it before traffic starts.
    public var onSend: (@Sendable ([UInt8], SocketAddress, SocketAddress) -> Void)? {
        get { lock.locked { tap } }
        set { lock.locked { tap = newValue } }
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
            lock.locked { wire.advance(to: stepEnd) }
            tick?(stepEnd)
            deliverDue()
        }
    }

    private func deliverDue() {
        while true {
            let work: (() -> Void)? = lock.locked {
                if let packet = wire.nextDue() {
                    // An endpoint closed while its datagram was on the wire loses it, as a closed socket would.
                    guard let endpoint = endpoints[packet.to] else { return {} }
                    return {
                        endpoint.queue.sync {
                            var bytes = packet.bytes
                            bytes.withUnsafeMutableBytes { endpoint.receive($0, packet.from, packet.to) }
                        }
                    }
                }
                let now = wire.now
                timers.removeAll { $0.isCancelled }
                if let timer = timers.first(where: { ($0.deadline ?? .init(nanoseconds: .max)) <= now }) {
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

/// A plain mutual-exclusion lock around a closure.
private final class Lock: @unchecked Sendable {
    private let mutex = Mutex(())
    func locked<R>(_ body: () -> R) -> R { mutex.withLock { _ in body() } }
}
