import Dispatch
import DTLS
import Glibc
import ICE
import RTP
import Runtime
import SDP
import SkylarkBase
import SRTP
import Synchronization
import UDPRuntime
import Transport

/// The media half of the server: WHIP publishers and WHEP viewers on one UDP port, each publisher's RTP relayed
/// to all of its stream's viewers.
///
/// Every session is a `BundleTransport` (ICE-lite, DTLS, SRTP) fed from the shared socket: STUN is routed by the
/// ufrag in its USERNAME (RFC 8445 §7.3), everything else by the sender's address once ICE has seen it.
/// Sessions are spread over `SFUConfiguration.workers` shards, each a serial queue owning its sessions outright;
/// a publisher's packet is forwarded to its own shard's viewers in place and handed once to each other shard with
/// viewers, and every shard sends its datagrams in `sendmmsg` batches on the one socket.
public final class SFU: @unchecked Sendable {
    public let configuration: SFUConfiguration
    /// The bound UDP address.
    public let localAddress: SocketAddress
    /// Called on the queue of the session's shard when a session ends, with why.
    public var onSessionEnded: (@Sendable (SessionInfo, String) -> Void)? {
        get { endedHandler.function }
        set { endedHandler.function = newValue }
    }
    /// Called on the queue of the session's shard when a session is created (its answer is about to be sent).
    public var onSessionStarted: (@Sendable (SessionInfo) -> Void)? {
        get { startedHandler.function }
        set { startedHandler.function = newValue }
    }

    private let socket: UDPSocket
    private let endedHandler = CallbackSlot<@Sendable (SessionInfo, String) -> Void>()
    private let startedHandler = CallbackSlot<@Sendable (SessionInfo) -> Void>()
    private let directory: SFUDirectory
    private let shards: [SFUShard]
    /// Round-robin over the shards for new sessions.
    private let nextShard = Atomic<Int>(0)
    /// Datagrams no shard claimed (counted where they are read, on the first shard's queue).
    private let unroutedDatagrams = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)

    /// Binds the UDP port and starts the shards. Throws when the port cannot be bound.
    /// Bound to a wildcard address (`0.0.0.0`, or `::` for both families) without announced addresses, the
    /// candidates are the machine's own addresses of the families the socket takes (loopback only when there is
    /// nothing else), read once here: `configuration.announcedAddresses` says which.
    public init(configuration: SFUConfiguration = SFUConfiguration(), dtlsContext: DTLSContext? = nil) throws {
        var configuration = configuration
        if configuration.udpAddress.ip.isUnspecified && configuration.announcedAddresses.isEmpty {
            let ipv6 = !configuration.udpAddress.ip.isIPv4
            let found = NetworkInterfaces.addresses(includeLoopback: false, includeIPv6: ipv6)
            configuration.announcedAddresses = found.isEmpty ? NetworkInterfaces.addresses(includeLoopback: true, includeIPv6: ipv6) : found
        }
        self.configuration = configuration
        let context = try dtlsContext ?? DTLSContext()
        socket = try UDPSocket(bindTo: configuration.udpAddress, receiveBufferBytes: 1 << 23)
        localAddress = socket.localAddress
        let directory = SFUDirectory(shardCount: configuration.workers)
        self.directory = directory
        shards = (0..<directory.shardCount).map { [socket, endedHandler, startedHandler] index in
            SFUShard(index: index, configuration: configuration, socket: socket, dtlsContext: context,
                     directory: directory, started: startedHandler, ended: endedHandler)
        }
        for shard in shards { shard.start(peers: shards) }
        // The socket is read on the first shard's queue; datagrams for other shards are copied over.
        let first = shards[0]
        socket.startReceiving(on: first.queue, using: DatagramReceiver()) { [unowned self] bytes, from, _ in
            self.route(bytes, from: from)
        }
    }

    /// Ends every session and releases the port.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for shard in shards { shard.queue.sync { shard.shutdown() } }
        shards[0].queue.sync { socket.close() }
    }

    // MARK: - Sessions

    /// Accepts a WHIP offer for `stream`. With `replace`, an existing publisher is ended instead of refusing.
    public func publish(stream: String, offer: String, replace: Bool = false) async throws(SFUError) -> (id: String, answer: String, etag: String) {
        let negotiated = try NegotiatedOffer(offer: Self.parse(offer), publisher: true)
        if let current = directory.publisher(of: stream) {
            guard replace else { throw .streamBusy(stream) }
            await end(sessionID: current.sessionID, reason: "replaced by a new publisher")
        }
        let shard = pickShard()
        let directory = self.directory
        let (result, displaced) = try await shard.run { () throws(SFUError) in
            let id = Identifiers.token(length: 22)
            let claim = directory.claimPublisher(
                stream: stream, SFUDirectory.Publisher(sessionID: id, shard: shard.index, videoCodec: negotiated.video?.videoCodec),
                replace: replace)
            guard case let .claimed(displaced) = claim else { throw .streamBusy(stream) }
            do throws(SFUError) {
                let session = try shard.core.makeSession(id: id, role: .publisher, stream: stream, offer: negotiated,
                                                          now: Instant.now())
                return ((session.id, session.answer, session.etag), displaced)
            } catch {
                directory.releasePublisher(stream: stream, sessionID: id)
                // A publisher displaced on the way is still ended, as `replace` asked.
                if let displaced { Task { await self.end(sessionID: displaced.sessionID, reason: "replaced by a new publisher") } }
                throw error
            }
        }
        // Another publisher arrived in between and was replaced as asked.
        if let displaced { await end(sessionID: displaced.sessionID, reason: "replaced by a new publisher") }
        return result
    }

    /// Accepts a WHEP offer for `stream`. Viewers may come before the publisher: they hear it when it arrives.
    /// `layer` is the simulcast layer the viewer gets while its network allows (the highest by default).
    public func play(stream: String, offer: String, layer: LayerPreference = .high) async throws(SFUError)
        -> (id: String, answer: String, etag: String)
    {
        let publisherVideo = directory.publisher(of: stream)?.videoCodec
        let negotiated = try NegotiatedOffer(offer: Self.parse(offer), publisher: false, publisherVideo: publisherVideo)
        let shard = pickShard()
        return try await shard.run { () throws(SFUError) in
            let session = try shard.core.makeSession(id: Identifiers.token(length: 22), role: .viewer, stream: stream,
                                                      offer: negotiated, now: Instant.now())
            session.layers.preference = layer
            return (session.id, session.answer, session.etag)
        }
    }

    /// Applies a PATCH (RFC 9725 §4.3): trickled candidates, or an ICE restart when the fragment has new credentials.
    public func patch(sessionID: String, fragment text: String, ifMatch: String?) async throws(SFUError) -> PatchResult {
        guard let shard = shard(ofSession: sessionID) else { throw .unknownSession }
        guard let ifMatch else { throw .preconditionRequired }
        // Parsed here, on the caller's task: the shard's queue carries media and only applies the result.
        let fragment = try SDPFragment(parsing: text)
        return try await shard.run { () throws(SFUError) -> PatchResult in
            guard let session = shard.core.session(id: sessionID) else { throw .unknownSession }
            return try shard.core.patch(session, fragment: fragment, ifMatch: ifMatch, now: Instant.now())
        }
    }

    /// Ends a session (DELETE, or an operator's kick). Returns false when there was none.
    @discardableResult
    public func end(sessionID: String, reason: String) async -> Bool {
        guard let shard = shard(ofSession: sessionID) else { return false }
        return await withCheckedContinuation { continuation in
            shard.queue.async {
                guard let session = shard.core.session(id: sessionID) else { return continuation.resume(returning: false) }
                shard.core.end(session, reason: session.failure.map { "\(reason) after \($0)" } ?? reason, now: Instant.now())
                shard.flush()
                continuation.resume(returning: true)
            }
        }
    }

    /// Every live session.
    public func sessionList() async -> [SessionInfo] {
        var all: [(created: Double, info: SessionInfo)] = []
        for shard in shards {
            let infos = await withCheckedContinuation { continuation in
                shard.queue.async { continuation.resume(returning: shard.core.sessionInfos(now: Instant.now())) }
            }
            all += infos.map { ($0.createdAt, $0) }
        }
        return all.sorted { $0.created < $1.created }.map(\.info)
    }

    /// One live session.
    public func session(id: String) async -> SessionInfo? {
        guard let shard = shard(ofSession: id) else { return nil }
        return await withCheckedContinuation { continuation in
            shard.queue.async {
                continuation.resume(returning: shard.core.session(id: id).map { shard.core.info($0, now: Instant.now()) })
            }
        }
    }

    /// Streams with a publisher or viewers.
    public func streamList() async -> [StreamInfo] {
        directory.streams().sorted { $0.name < $1.name }.map { entry in
            StreamInfo(name: entry.name, publishing: entry.publisher != nil, viewers: entry.viewers,
                       hasVideo: entry.publisher?.videoCodec != nil)
        }
    }

    /// Everything `/metrics` reports, read in one go.
    public func metrics() async -> SFUMetrics {
        var metrics = SFUMetrics()
        for shard in shards {
            let sofar = metrics
            metrics = await withCheckedContinuation { continuation in
                shard.queue.async {
                    var partial = sofar
                    shard.core.addMetrics(to: &partial)
                    continuation.resume(returning: partial)
                }
            }
        }
        for entry in directory.streams() {
            if entry.publisher != nil { metrics.publishers += 1 }
            metrics.viewersByStream[entry.name] = entry.viewers
        }
        metrics.drops[.noSession] &+= unroutedDatagrams.load(ordering: .relaxed)
        return metrics
    }

    // MARK: - Internals

    private func pickShard() -> SFUShard {
        shards[nextShard.add(1, ordering: .relaxed).oldValue % shards.count]
    }

    private func shard(ofSession id: String) -> SFUShard? {
        directory.shard(ofSession: id).map { shards[$0] }
    }

    private static func parse(_ offer: String) throws(SFUError) -> SessionDescription {
        do {
            return try SessionDescription(parsing: offer)
        } catch {
            throw .badOffer("SDP line \(error.line): \(error.reason)")
        }
    }

    /// On the first shard's queue: hands a datagram to the shard that owns its session. With one shard there is
    /// nothing to decide; otherwise the directory knows every ufrag and every address ICE has confirmed.
    private func route(_ bytes: UnsafeMutableRawBufferPointer, from remote: SocketAddress) {
        let first = shards[0]
        guard shards.count > 1 else { return first.receive(bytes, from: remote) }
        guard let kind = bytes.first else { return }
        let ufrag = kind <= 3 ? ICEAgent.usernameFragments(ofRequest: UnsafeRawBufferPointer(bytes))?.local : nil
        guard let target = directory.shard(forUfrag: ufrag, address: remote) else {
            unroutedDatagrams.add(1, ordering: .relaxed)
            return
        }
        if target == 0 { return first.receive(bytes, from: remote) }
        let copy = DatagramCopy(bytes)
        let shard = shards[target]
        shard.queue.async { copy.withBuffer { shard.receive($0, from: remote) } }
    }

    // MARK: - Helpers

    /// A stream id usable in a=msid (RFC 8830: token characters).
    static func streamID(_ stream: String) -> String {
        let allowed = stream.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
        let text = String(String.UnicodeScalarView(allowed))
        return text.isEmpty ? "skylark" : text
    }
}

/// A received datagram copied for another shard's queue (the receive buffers are reused at once).
private final class DatagramCopy: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer

    init(_ bytes: UnsafeMutableRawBufferPointer) {
        storage = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if let source = bytes.baseAddress, let target = storage.baseAddress {
            target.copyMemory(from: source, byteCount: bytes.count)
        }
        count = bytes.count
    }

    private let count: Int

    deinit { storage.deallocate() }

    /// The bytes, writable (SRTP decrypts in place), valid during `body`.
    func withBuffer(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
        body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }
}
