import Dispatch
import Runtime
import SkylarkBase
import Synchronization
import UDPRuntime

/// Where a peer connection's datagrams and timers live: real UDP sockets and the monotonic clock
/// (`UDPPeerNetwork`, the default), or an in-memory network with a virtual clock (the tests' `SimulatedNetwork`).
///
/// Every callback runs on the queue the peer connection passes in.
public protocol PeerNetwork: AnyObject, Sendable {
    /// The current time on this network's clock.
    func now() -> Instant
    /// Opens one endpoint per address (port 0 picks a free port) and delivers what arrives to `receive`
    /// (datagram, sender, the local endpoint it arrived on). Returns the bound addresses.
    func open(addresses: [SocketAddress], queue: DispatchQueue,
              receive: @escaping (UnsafeMutableRawBufferPointer, SocketAddress, SocketAddress) -> Void) throws -> [SocketAddress]
    /// Sends from one of the opened endpoints.
    func send(_ bytes: [UInt8], from local: SocketAddress, to remote: SocketAddress)
    /// Closes endpoints opened with `open`.
    func close(_ locals: [SocketAddress])
    /// A one-shot timer that calls `handler` on `queue`; rescheduling replaces the previous deadline.
    func makeTimer(queue: DispatchQueue, handler: @escaping () -> Void) -> PeerTimer
}

/// A timer made by a `PeerNetwork`.
public protocol PeerTimer: AnyObject, Sendable {
    func schedule(at deadline: Instant)
    func cancel()
}

/// Real UDP sockets (one per local address) over Dispatch, and the process's monotonic clock.
public final class UDPPeerNetwork: PeerNetwork {
    private let sockets = Mutex<[SocketAddress: UDPSocket]>([:])

    public init() {}

    public func now() -> Instant { Instant.now() }

    public func open(addresses: [SocketAddress], queue: DispatchQueue,
                     receive: @escaping (UnsafeMutableRawBufferPointer, SocketAddress, SocketAddress) -> Void) throws -> [SocketAddress] {
        var opened: [UDPSocket] = []
        do {
            for address in addresses { opened.append(try UDPSocket(bindTo: address)) }
        } catch {
            for socket in opened { socket.close() }
            throw error
        }
        for socket in opened {
            let local = socket.localAddress
            socket.startReceiving(on: queue) { bytes, from in receive(bytes, from, local) }
        }
        sockets.withLock { table in
            for socket in opened { table[socket.localAddress] = socket }
        }
        return opened.map(\.localAddress)
    }

    public func send(_ bytes: [UInt8], from local: SocketAddress, to remote: SocketAddress) {
        let socket = sockets.withLock { $0[local] }
        socket?.send(bytes, to: remote)
    }

    public func close(_ locals: [SocketAddress]) {
        let closing = sockets.withLock { table in locals.compactMap { table.removeValue(forKey: $0) } }
        for socket in closing { socket.close() }
    }

    /// Number of sockets open, for leak checks.
    public var openSocketCount: Int { sockets.withLock { $0.count } }

    public func makeTimer(queue: DispatchQueue, handler: @escaping () -> Void) -> PeerTimer {
        DispatchPeerTimer(queue: queue, handler: handler)
    }
}

final class DispatchPeerTimer: PeerTimer, @unchecked Sendable {
    private let source: DispatchSourceTimer
    private let lock = Mutex(false)

    init(queue: DispatchQueue, handler: @escaping () -> Void) {
        source = DispatchSource.makeTimerSource(queue: queue)
        source.setEventHandler(handler: handler)
        source.schedule(deadline: .distantFuture)
        source.resume()
    }

    func schedule(at deadline: Instant) {
        let delay = deadline - Instant.now()
        let nanoseconds = max(0, delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000)
        lock.withLock { cancelled in
            guard !cancelled else { return }
            source.schedule(deadline: .now() + .nanoseconds(Int(nanoseconds)), leeway: .microseconds(500))
        }
    }

    func cancel() {
        lock.withLock { cancelled in
            guard !cancelled else { return }
            cancelled = true
            source.cancel()
        }
    }

    deinit { cancel() }
}
