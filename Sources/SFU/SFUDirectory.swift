import SkylarkBase
import Synchronization

/// What the shards share: which shard owns each session, ufrag and remote address (so a datagram reaches the
/// shard that can read it), and each stream's publisher and where its viewers are.
///
/// Everything here changes when sessions come, go or connect — not per forwarded packet — so one lock is enough.
final class SFUDirectory: Sendable {
    /// The publisher of a stream, as other shards need to know it.
    struct Publisher: Sendable {
        var sessionID: String
        var shard: Int
        /// The codec of its video, if any: viewers are answered only with a codec that decodes it.
        var videoCodec: VideoCodec?
    }

    private struct Stream {
        var publisher: Publisher?
        /// Viewers of the stream per shard.
        var viewers: [Int]
        /// Bit i set: shard i has viewers.
        var shardsWithViewers: UInt64 = 0
    }

    private struct State {
        var sessions: [String: Int] = [:]
        var ufrags: [String: Int] = [:]
        var addresses: [SocketAddress: Int] = [:]
        var streams: [String: Stream] = [:]
    }

    /// Outcome of claiming a stream for a publisher.
    enum Claim {
        case claimed(replacing: Publisher?)
        case busy
    }

    let shardCount: Int
    private let state = Mutex(State())

    /// At most 64 shards: which of them have a stream's viewers fits in one word.
    static let maximumShards = 64

    init(shardCount: Int) {
        self.shardCount = min(max(shardCount, 1), Self.maximumShards)
    }

    // MARK: - Sessions, ufrags, addresses

    /// Reserves a place for a new session; false when `maximum` sessions exist.
    func reserve(sessionID: String, shard: Int, maximum: Int) -> Bool {
        state.withLock { state in
            guard state.sessions.count < maximum else { return false }
            state.sessions[sessionID] = shard
            return true
        }
    }

    /// Forgets a session and every ufrag and address that led to it.
    func release(sessionID: String, ufrags: [String], addresses: Set<SocketAddress>) {
        state.withLock { state in
            state.sessions[sessionID] = nil
            for ufrag in ufrags { state.ufrags[ufrag] = nil }
            for address in addresses { state.addresses[address] = nil }
        }
    }

    func shard(ofSession id: String) -> Int? { state.withLock { $0.sessions[id] } }

    var sessionCount: Int { state.withLock { $0.sessions.count } }

    func setUfrag(_ ufrag: String, shard: Int?) { state.withLock { $0.ufrags[ufrag] = shard } }

    func setAddress(_ address: SocketAddress, shard: Int) { state.withLock { $0.addresses[address] = shard } }

    /// The shard a datagram goes to: by the ufrag of a STUN request when given (RFC 8445 §7.3), else by the sender.
    func shard(forUfrag ufrag: String?, address: SocketAddress) -> Int? {
        state.withLock { state in
            if let ufrag, let shard = state.ufrags[ufrag] { return shard }
            return state.addresses[address]
        }
    }

    // MARK: - Streams

    /// Makes `publisher` the stream's publisher unless another one is there and `replace` is false.
    func claimPublisher(stream: String, _ publisher: Publisher, replace: Bool) -> Claim {
        state.withLock { state in
            let current = state.streams[stream]?.publisher
            if current != nil && !replace { return .busy }
            state.streams[stream, default: Stream(viewers: Array(repeating: 0, count: shardCount))].publisher = publisher
            return .claimed(replacing: current)
        }
    }

    /// Clears the stream's publisher if it is still `sessionID` (a replacement may have taken over).
    func releasePublisher(stream: String, sessionID: String) {
        state.withLock { state in
            guard state.streams[stream]?.publisher?.sessionID == sessionID else { return }
            state.streams[stream]?.publisher = nil
            Self.dropIfEmpty(stream, in: &state)
        }
    }

    func publisher(of stream: String) -> Publisher? { state.withLock { $0.streams[stream]?.publisher } }

    func addViewer(stream: String, shard: Int) {
        state.withLock { state in
            var entry = state.streams[stream] ?? Stream(viewers: Array(repeating: 0, count: shardCount))
            entry.viewers[shard] += 1
            entry.shardsWithViewers |= 1 << UInt64(shard)
            state.streams[stream] = entry
        }
    }

    func removeViewer(stream: String, shard: Int) {
        state.withLock { state in
            guard var entry = state.streams[stream], entry.viewers[shard] > 0 else { return }
            entry.viewers[shard] -= 1
            if entry.viewers[shard] == 0 { entry.shardsWithViewers &= ~(1 << UInt64(shard)) }
            state.streams[stream] = entry
            Self.dropIfEmpty(stream, in: &state)
        }
    }

    /// Bit i set: shard i has viewers of `stream`.
    func shardsWithViewers(of stream: String) -> UInt64 {
        state.withLock { $0.streams[stream]?.shardsWithViewers ?? 0 }
    }

    /// Streams with a publisher or viewers: name, publisher, viewer count.
    func streams() -> [(name: String, publisher: Publisher?, viewers: Int)] {
        state.withLock { state in
            state.streams.map { ($0.key, $0.value.publisher, $0.value.viewers.reduce(0, +)) }
        }
    }

    private static func dropIfEmpty(_ stream: String, in state: inout State) {
        if let entry = state.streams[stream], entry.publisher == nil, entry.shardsWithViewers == 0 {
            state.streams[stream] = nil
        }
    }
}
