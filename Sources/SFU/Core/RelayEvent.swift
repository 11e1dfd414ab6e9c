import RTP

/// What a `RelayCore` asks its driver to do besides sending datagrams.
enum RelayEvent: Sendable {
    /// A session was created; its answer is about to go back to the client.
    case sessionStarted(SessionInfo)
    /// A session ended, with why (for the log and the session history).
    case sessionEnded(SessionInfo, reason: String)
    /// A publisher's packet for the viewers of other shards: deliver it to each shard in the bit set with
    /// `RelayCore.handleRelayed`.
    case relay(RelayedPacket, shards: UInt64)
    /// A message for the core of another shard: deliver it with `RelayCore.handle(_:now:)`.
    case message(ShardMessage, shard: Int)
    /// Many sessions ended a while ago: hand free heap back to the system.
    case releaseFreeMemory
}

/// A publisher's packet on its way to the viewers another shard owns: copied once per shard, not per viewer.
struct RelayedPacket: Sendable {
    var stream: String
    var header: RTPHeader
    var payload: [UInt8]
    /// For video: its codec, layer and whether it starts a keyframe.
    var video: VideoPacketInfo?
}

/// What one shard's core asks of another's: the shards share no session state.
enum ShardMessage: Sendable {
    /// A viewer of the other shard needs a keyframe from this shard's publisher: of one layer, or of every layer.
    case requestKeyframe(publisherID: String, layer: UInt32?, force: Bool)
    /// A viewer of `viewerShard` lost video packets this shard's publisher sent.
    case fetchRetransmissions(RetransmissionRequest)
    /// The packets a `fetchRetransmissions` found, for the viewer to get as RTX.
    case retransmit(viewerID: String, packets: [RetransmissionRequest.Packet])
}

/// Video packets a viewer reported lost (RFC 4585 §6.2.1), in the publisher's numbering and the viewer's.
struct RetransmissionRequest: Sendable {
    /// One packet to send again: the viewer's sequence number for it, and the publisher's packet as received.
    struct Packet: Sendable {
        var viewerSequence: UInt16
        var original: [UInt8]
    }

    var publisherID: String
    /// The publisher SSRC the viewer's numbering was computed for: a replaced publisher's packets are gone.
    var sourceSSRC: UInt32
    var sequences: [(viewer: UInt16, source: UInt16)]
    var viewerShard: Int
    var viewerID: String
}
