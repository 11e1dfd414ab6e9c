import SkylarkBase

/// One RTP stream of a publisher's video: its only one, or one simulcast layer (RFC 8853), known by its rid
/// (RFC 8852) or its SSRC. It keeps its recent packets for viewers' NACKs and measures its own bitrate, by
/// which layers are ranked.
struct VideoLayer {
    var rid: String?
    var ssrc: UInt32?
    /// Recent packets, indexed by sequence number modulo the size; empty where none is kept. A slot's storage is
    /// reused by the next packet, so keeping packets stops allocating once every slot has held one.
    private var history: [[UInt8]] = []
    private(set) var lastArrival: Instant?
    private var windowStart: Instant?
    private var windowBytes = 0
    /// Bits per second over the last whole window; nil until one has passed.
    private(set) var bitrate: Double?
    var lastKeyframeRequest: Instant = .zero

    static let historySize = 512
    static let window: Duration = .seconds(1)

    init(rid: String? = nil, ssrc: UInt32? = nil) {
        self.rid = rid
        self.ssrc = ssrc
    }

    /// Counts a packet's bytes; a window that ended is turned into `bitrate`.
    mutating func record(bytes: Int, now: Instant) {
        lastArrival = now
        guard let start = windowStart else {
            windowStart = now
            windowBytes = bytes
            return
        }
        let elapsed = now - start
        if elapsed >= Self.window {
            bitrate = Double(windowBytes * 8) / elapsed.seconds
            windowStart = now
            windowBytes = 0
        }
        windowBytes += bytes
    }

    /// Bits per second: the last whole window's, or the current window's so far.
    func estimate(now: Instant) -> Double {
        if let bitrate { return bitrate }
        guard let windowStart else { return 0 }
        return Double(windowBytes * 8) / max((now - windowStart).seconds, 0.1)
    }

    /// Whether packets arrived lately: a layer the publisher stopped sending (its encoder dropped it for
    /// bandwidth, or the source stopped) is skipped.
    func isActive(now: Instant) -> Bool { lastArrival.map { now - $0 < .seconds(2) } ?? false }

    mutating func remember(_ packet: UnsafeRawBufferPointer, sequence: UInt16) {
        if history.isEmpty { history = Array(repeating: [], count: Self.historySize) }
        let slot = Int(sequence) % Self.historySize
        history[slot].removeAll(keepingCapacity: true)
        history[slot].append(contentsOf: packet)
    }

    func packet(sequence: UInt16) -> [UInt8]? {
        guard !history.isEmpty else { return nil }
        let packet = history[Int(sequence) % Self.historySize]
        guard packet.count >= 4, UInt16(packet[2]) << 8 | UInt16(packet[3]) == sequence else { return nil }
        return packet
    }
}

/// A publisher's active video layers, lowest first, as viewers choose among them. Each packet carries the
/// ranking (a shared array, so copying it allocates nothing) to the viewers of every shard.
struct LayerRanking: Sendable, Equatable {
    /// The active layers' SSRCs, by rising bitrate.
    var ssrcs: [UInt32] = []
    /// Their rids, where the publisher named them.
    var rids: [String?] = []
    /// Whether the publisher sends simulcast: viewers then switch only at keyframes.
    var isSimulcast = false
    /// Changes whenever the layers do, so viewers re-choose only then.
    var generation: UInt32 = 0
}

/// What a publisher's video is made of: one layer, or the simulcast layers its offer announced.
struct PublisherVideo {
    var layers: [VideoLayer]
    let isSimulcast: Bool
    /// The rtp-stream-id extension's id, when layers are named by rid.
    let ridExtensionID: UInt8?
    private(set) var ranking = LayerRanking()
    private var lastRanked: Instant?

    init(section: NegotiatedSection?) {
        if let section, !section.simulcast.isEmpty {
            layers = section.simulcast.map { VideoLayer(rid: $0.rid) }
            ridExtensionID = section.ridExtensionID
        } else if let section, !section.simulcastSSRCs.isEmpty {
            layers = section.simulcastSSRCs.map { VideoLayer(ssrc: $0) }
            ridExtensionID = nil
        } else {
            layers = [VideoLayer(ssrc: section?.ssrcs.first)]
            ridExtensionID = nil
        }
        isSimulcast = layers.count > 1
        ranking.isSimulcast = isSimulcast
    }

    /// The layer a packet belongs to: by SSRC once known, else by the rid it carries (RFC 8852 §3.1; browsers
    /// stop sending it once they have had a receiver report). Without simulcast, every SSRC is the one layer.
    mutating func layer(ssrc: UInt32, rid: () -> String?) -> Int? {
        if let index = layers.firstIndex(where: { $0.ssrc == ssrc }) { return index }
        guard isSimulcast else {
            layers[0].ssrc = ssrc
            return 0
        }
        guard ridExtensionID != nil, let name = rid(), let index = layers.firstIndex(where: { $0.rid == name }) else {
            return nil
        }
        layers[index].ssrc = ssrc
        return index
    }

    func layer(ssrc: UInt32) -> Int? { layers.firstIndex { $0.ssrc == ssrc } }

    /// Ranks the active layers by bitrate, at most twice a second.
    mutating func rank(now: Instant) {
        if let lastRanked, now - lastRanked < .milliseconds(500) { return }
        lastRanked = now
        let active = layers.indices.filter { layers[$0].ssrc != nil && layers[$0].isActive(now: now) }
        // Until a whole window has passed, the bytes so far: the layers started together, and a layer's first
        // keyframe already says how large its pictures are.
        let ordered = active.sorted { layers[$0].estimate(now: now) < layers[$1].estimate(now: now) }
        let ssrcs = ordered.compactMap { layers[$0].ssrc }
        guard ssrcs != ranking.ssrcs else { return }
        ranking.ssrcs = ssrcs
        ranking.rids = ordered.map { layers[$0].rid }
        ranking.generation &+= 1
    }
}
