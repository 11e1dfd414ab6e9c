import SkylarkBase
import Synchronization

/// A set of tracks that belong together (W3C `MediaStream`).
public final class MediaStream: Sendable {
    /// A 36-character UUID.
    public let id: String
    private let tracks: Mutex<[MediaStreamTrack]>

    /// An empty stream with a fresh id.
    public convenience init() { self.init(tracks: []) }

    /// A stream holding `tracks`.
    public init(tracks: [MediaStreamTrack], id: String = Identifiers.uuid()) {
        self.id = id
        var unique: [MediaStreamTrack] = []
        for track in tracks where !unique.contains(where: { $0 === track }) { unique.append(track) }
        self.tracks = Mutex(unique)
    }

    /// True while at least one track is live.
    public var active: Bool { tracks.withLock { $0.contains { $0.readyState == .live } } }

    /// Adds `track`; nothing happens if it is already in the stream.
    public func addTrack(_ track: MediaStreamTrack) {
        tracks.withLock { list in
            if !list.contains(where: { $0 === track }) { list.append(track) }
        }
    }

    /// Removes `track`; nothing happens if it is not in the stream.
    public func removeTrack(_ track: MediaStreamTrack) {
        tracks.withLock { $0.removeAll { $0 === track } }
    }

    /// All tracks, audio and video.
    public func getTracks() -> [MediaStreamTrack] { tracks.withLock { $0 } }
    /// The audio tracks.
    public func getAudioTracks() -> [MediaStreamTrack] { getTracks().filter { $0.kind == .audio } }
    /// The video tracks.
    public func getVideoTracks() -> [MediaStreamTrack] { getTracks().filter { $0.kind == .video } }
    /// The first track with this id, or nil.
    public func getTrackById(_ trackId: String) -> MediaStreamTrack? { getTracks().first { $0.id == trackId } }

    /// A new stream with a new id holding clones of this stream's tracks.
    public func clone() -> MediaStream { MediaStream(tracks: getTracks().map { $0.clone() }) }
}
