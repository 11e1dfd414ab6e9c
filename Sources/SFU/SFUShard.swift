import CMemoryHints
import Dispatch
import DTLS
import Runtime
import SkylarkBase
import UDPRuntime

/// One shard of the SFU at run time: a `RelayCore` with the serial queue it runs on, its timer, the clock and the
/// shared socket.
///
/// The core is touched only on `queue`. After every input (a datagram, a packet or message from another shard, an
/// API call, a timer) the shard delivers the core's events — another shard's work onto that shard's queue (no
/// queue hop per viewer: a packet crosses once per shard), callbacks to the SFU — and then writes the core's
/// datagrams into a `sendmmsg` batch on the socket.
final class SFUShard: @unchecked Sendable {
    let index: Int
    let queue: DispatchQueue
    /// The sessions and all relay logic; only on `queue`.
    let core: RelayCore
    private let socket: UDPSocket
    private let started: CallbackSlot<@Sendable (SessionInfo) -> Void>
    private let ended: CallbackSlot<@Sendable (SessionInfo, String) -> Void>
    /// Every shard of the SFU (weakly: they outlive each other only during teardown).
    private var peers: [WeakShard] = []
    private var timer: DispatchSourceTimer?
    private let outgoing = DatagramBatch()
    private var stopped = false

    private struct WeakShard {
        weak var shard: SFUShard?
    }

    init(index: Int, configuration: SFUConfiguration, socket: UDPSocket, dtlsContext: DTLSContext,
         directory: SFUDirectory, started: CallbackSlot<@Sendable (SessionInfo) -> Void>,
         ended: CallbackSlot<@Sendable (SessionInfo, String) -> Void>) {
        self.index = index
        queue = DispatchQueue(label: "skylark.sfu.\(index)")
        core = RelayCore(shard: index, configuration: configuration, localAddress: socket.localAddress,
                         dtlsContext: dtlsContext, directory: directory, random: SystemRandomNumberGenerator(),
                         wallClock: WallClockAnchor(instant: Instant.now(), unixNanoseconds: WallClock.nanosecondsSince1970()))
        self.socket = socket
        self.started = started
        self.ended = ended
    }

    /// Connects the shards and starts the timer; called once, before any datagram arrives.
    func start(peers: [SFUShard]) {
        self.peers = peers.map { WeakShard(shard: $0) }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        // The core's deadlines are polled every 20 ms: finer than any ICE-lite, DTLS or RTCP timer needs, and
        // cheaper than re-arming a timer after every datagram.
        timer.schedule(deadline: .now() + .milliseconds(20), repeating: .milliseconds(20), leeway: .milliseconds(5))
        timer.setEventHandler { [unowned self] in self.tick() }
        timer.resume()
        self.timer = timer
    }

    // MARK: - Inputs, on `queue`

    /// Runs `body` on the queue and then sends what it produced.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(SFUError) -> T) async throws(SFUError) -> T {
        let result: Result<T, SFUError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(SFUError) {
                    let value = try body()
                    self.flush()
                    continuation.resume(returning: .success(value))
                } catch {
                    self.flush()
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// One datagram from the shared socket, for a session of this shard (or none).
    func receive(_ bytes: UnsafeMutableRawBufferPointer, from remote: SocketAddress) {
        core.handleDatagram(bytes, from: remote, now: Instant.now())
        flush()
    }

    private func tick() {
        guard !stopped else { return }
        let now = Instant.now()
        if let deadline = core.nextDeadline, deadline <= now { core.handleTimeout(now: now) }
        flush()
    }

    /// Ends every session and stops the timer.
    func shutdown() {
        guard !stopped else { return }
        core.shutdown(now: Instant.now())
        flush()
        stopped = true
        timer?.cancel()
        timer = nil
    }

    // MARK: - Outputs

    /// Delivers the core's events, then sends its datagrams (`sendmmsg` is safe from several threads at once).
    func flush() {
        while let event = core.pollEvent() { deliver(event) }
        while true {
            if outgoing.isFull { send() }
            guard outgoing.appendInPlace({ core.pollTransmit(into: $0) }) else { break }
        }
        send()
        // Writing to viewers can ask other shards for keyframes.
        while let event = core.pollEvent() { deliver(event) }
    }

    private func send() {
        if stopped { outgoing.removeAll() } else { outgoing.send(on: socket) }
    }

    private func deliver(_ event: RelayEvent) {
        switch event {
        case let .sessionStarted(info):
            started.function?(info)
        case let .sessionEnded(info, reason):
            ended.function?(info, reason)
        case let .relay(packet, shards):
            var targets = shards
            while targets != 0 {
                let target = targets.trailingZeroBitCount
                targets &= targets - 1
                guard let shard = peer(target) else { continue }
                shard.queue.async {
                    guard !shard.stopped else { return }
                    shard.core.handleRelayed(packet, now: Instant.now())
                    shard.flush()
                }
            }
        case let .message(message, target):
            guard let shard = peer(target) else { return }
            shard.queue.async {
                guard !shard.stopped else { return }
                shard.core.handle(message, now: Instant.now())
                shard.flush()
            }
        case .releaseFreeMemory:
            // glibc keeps freed pages in its per-thread arenas: without a trim, after a burst of sessions the
            // server would stay at its peak size.
            skylark_release_free_memory()
        }
    }

    private func peer(_ index: Int) -> SFUShard? {
        index < peers.count ? peers[index].shard : nil
    }
}
