/// What the fan-out needs to know about a publisher's video packet besides its bytes: whether a viewer can
/// decode it, which layer it is and whether a viewer may switch to that layer here.
struct VideoPacketInfo: Sendable {
    var codec: VideoCodec?
    var ssrc: UInt32
    /// The first packet of a keyframe (looked for only with simulcast).
    var startsKeyframe: Bool
    var ranking: LayerRanking
}
