import Dispatch
import DTLS
import ICE
import SDP
import SkylarkBase
import Synchronization
import Transport

/// A connection to a remote peer (W3C `RTCPeerConnection`, with the members of python-webrtc's `webrtc` package).
///
/// Negotiation is JSEP (RFC 8829): `createOffer`/`createAnswer`, `setLocalDescription`, `setRemoteDescription`.
/// Host candidates are gathered when the local description is set and are included in `localDescription`
/// (so it can be sent without trickle), and are also reported one by one through `onIceCandidate`.
///
/// Events: set the `on...` closures (called on the connection's internal queue; do not block in them), or
/// iterate `events`, an `AsyncStream` of every event. Both see the same events.
///
/// Thread-safety: every method may be called from any thread; the connection serialises its work on one queue.
public final class RTCPeerConnection: @unchecked Sendable {
    // MARK: Public state

    /// Called with each remote track as its transceiver starts receiving (after `setRemoteDescription`).
    public var onTrack: (@Sendable (RTCTrackEvent) -> Void)? {
        get { handlers.withLock { $0.track } }
        set { handlers.withLock { $0.track = newValue } }
    }
    /// Called with each gathered local candidate, then with nil.
    public var onIceCandidate: (@Sendable (RTCIceCandidate?) -> Void)? {
        get { handlers.withLock { $0.iceCandidate } }
        set { handlers.withLock { $0.iceCandidate = newValue } }
    }
    public var onConnectionStateChange: (@Sendable (RTCPeerConnectionState) -> Void)? {
        get { handlers.withLock { $0.connectionState } }
        set { handlers.withLock { $0.connectionState = newValue } }
    }
    public var onIceConnectionStateChange: (@Sendable (RTCIceConnectionState) -> Void)? {
        get { handlers.withLock { $0.iceConnectionState } }
        set { handlers.withLock { $0.iceConnectionState = newValue } }
    }
    public var onIceGatheringStateChange: (@Sendable (RTCIceGatheringState) -> Void)? {
        get { handlers.withLock { $0.iceGatheringState } }
        set { handlers.withLock { $0.iceGatheringState = newValue } }
    }
    public var onSignalingStateChange: (@Sendable (RTCSignalingState) -> Void)? {
        get { handlers.withLock { $0.signalingState } }
        set { handlers.withLock { $0.signalingState = newValue } }
    }

    /// Every event, in order. Iterate it from one task.
    public let events: AsyncStream<RTCPeerConnectionEvent>

    // MARK: Internals shared with the extensions

    struct Handlers {
        var track: (@Sendable (RTCTrackEvent) -> Void)?
        var iceCandidate: (@Sendable (RTCIceCandidate?) -> Void)?
        var connectionState: (@Sendable (RTCPeerConnectionState) -> Void)?
        var iceConnectionState: (@Sendable (RTCIceConnectionState) -> Void)?
        var iceGatheringState: (@Sendable (RTCIceGatheringState) -> Void)?
        var signalingState: (@Sendable (RTCSignalingState) -> Void)?
    }

    let handlers = Mutex(Handlers())
    let eventContinuation: AsyncStream<RTCPeerConnectionEvent>.Continuation
    let queue: DispatchQueue
    private let queueKey = DispatchSpecificKey<ObjectIdentifier>()
    let configuration: RTCConfiguration
    let network: PeerNetwork
    let dtlsContext: DTLSContext
    var timer: PeerTimer?

    // Everything below is only touched on `queue`.
    var transceivers: [RTCRtpTransceiver] = []
    var signalingStateValue = RTCSignalingState.stable
    var connectionStateValue = RTCPeerConnectionState.new
    var iceConnectionStateValue = RTCIceConnectionState.new
    var iceGatheringStateValue = RTCIceGatheringState.new
    var currentLocal: RTCSessionDescription?
    var pendingLocal: RTCSessionDescription?
    var currentRemote: RTCSessionDescription?
    var pendingRemote: RTCSessionDescription?
    var localCredentials = ICECredentials.random()
    var iceRestartPending = false
    var sessionID = UInt64.random(in: 1...(UInt64(1) << 62))
    var sessionVersion: UInt64 = 1
    let cname = Identifiers.token(length: 16)
    var nextMid = 0
    var transport: BundleTransport?
    var localAddresses: [SocketAddress] = []
    var localCandidates: [ICECandidate] = []
    var remoteStreams: [String: MediaStream] = [:]
    var isClosed = false
    var dtlsStateValue = DtlsTransportState.new
    var lastRTCPReport: Instant = .zero
    var remoteSections: [RemoteSection]?
    var remoteIsLite = false
    var remoteSetup: SetupRole?
    var remoteICECredentials: ICECredentials?
    var remoteFingerprints: [CertificateFingerprint] = []

    /// The ICE and DTLS transports every sender and receiver shares (bundle).
    let iceTransport = RTCIceTransport()
    let dtlsTransport: RTCDtlsTransport

    /// Creates a connection. Throws `PythonWebRTCException` when the DTLS certificate cannot be made.
    public init(configuration: RTCConfiguration = RTCConfiguration()) throws {
        self.configuration = configuration
        self.network = configuration.network ?? UDPPeerNetwork()
        self.dtlsContext = try configuration.dtlsContext ?? RTCPeerConnection.sharedDTLSContext()
        self.queue = DispatchQueue(label: "skylark.peerconnection")
        self.dtlsTransport = RTCDtlsTransport(iceTransport: iceTransport)
        var continuation: AsyncStream<RTCPeerConnectionEvent>.Continuation!
        self.events = AsyncStream { continuation = $0 }
        self.eventContinuation = continuation
        queue.setSpecific(key: queueKey, value: ObjectIdentifier(self))
    }

    deinit {
        eventContinuation.finish()
    }

    private static let sharedContext = Mutex<DTLSContext?>(nil)

    /// One certificate per process unless the configuration brings its own (RFC 8827 allows reuse).
    static func sharedDTLSContext() throws -> DTLSContext {
        try sharedContext.withLock { shared in
            if let shared { return shared }
            let context: DTLSContext
            do { context = try DTLSContext() } catch {
                throw PythonWebRTCException("cannot make the DTLS certificate: \(error)")
            }
            shared = context
            return context
        }
    }

    /// Runs `body` on the connection's queue (inline when already there) and returns its result.
    func onQueue<T>(_ body: () throws -> T) rethrows -> T {
        if DispatchQueue.getSpecific(key: queueKey) == ObjectIdentifier(self) { return try body() }
        return try queue.sync(execute: body)
    }

    func onQueueAsync<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    // MARK: - State

    public var signalingState: RTCSignalingState { onQueue { signalingStateValue } }
    public var connectionState: RTCPeerConnectionState { onQueue { connectionStateValue } }
    public var iceConnectionState: RTCIceConnectionState { onQueue { iceConnectionStateValue } }
    public var iceGatheringState: RTCIceGatheringState { onQueue { iceGatheringStateValue } }

    /// The pending local description if any, else the current one; includes gathered candidates.
    public var localDescription: RTCSessionDescription? { onQueue { pendingLocal ?? currentLocal } }
    public var currentLocalDescription: RTCSessionDescription? { onQueue { currentLocal } }
    public var pendingLocalDescription: RTCSessionDescription? { onQueue { pendingLocal } }
    public var remoteDescription: RTCSessionDescription? { onQueue { pendingRemote ?? currentRemote } }
    public var currentRemoteDescription: RTCSessionDescription? { onQueue { currentRemote } }
    public var pendingRemoteDescription: RTCSessionDescription? { onQueue { pendingRemote } }

    /// Counters of the transport: datagrams, bytes, and input that was rejected (unknown protocol, SRTP that
    /// failed authentication or replay checks).
    public var transportCounters: BundleTransport.Counters { onQueue { transport?.counters ?? .init() } }

    /// The SCTP transport; nil because no data channel is negotiated.
    public var sctp: RTCSctpTransport? { nil }

    // MARK: - Tracks and transceivers

    /// Adds a track to send (W3C `addTrack`). Reuses a transceiver of the same kind that was created for
    /// receiving and has never sent, else creates one. Adding a track that is already being sent is a no-op that
    /// returns its sender.
    @discardableResult
    public func addTrack(_ track: MediaStreamTrack, _ streams: [MediaStream] = []) throws -> RTCRtpSender {
        try onQueue {
            guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
            if let existing = transceivers.first(where: { $0.sender.track === track && !$0.stopped }) {
                return existing.sender
            }
            // JSEP §5.2.2 / W3C addTrack: reuse a transceiver that was created for receiving and never sent.
            if let reusable = transceivers.first(where: { t in
                t.kind == track.kind && !t.stopped && t.sender.track == nil
                    && !t.state.withLock({ $0.createdByAddTrack })
            }) {
                try reusable.sender.replaceTrack(track)
                reusable.sender.state.withLock { $0.streamIDs = streams.map(\.id) }
                reusable.state.withLock { state in
                    if state.direction == .recvonly { state.direction = .sendrecv }
                    if state.direction == .inactive { state.direction = .sendonly }
                }
                attachSender(reusable.sender)
                return reusable.sender
            }
            let transceiver = makeTransceiver(kind: track.kind, track: track, direction: .sendrecv,
                                              streams: streams, encodings: [RtpEncodingParameters()])
            transceiver.state.withLock { $0.createdByAddTrack = true }
            return transceiver.sender
        }
    }

    /// Adds a track in one stream.
    @discardableResult
    public func addTrack(_ track: MediaStreamTrack, _ stream: MediaStream) throws -> RTCRtpSender {
        try addTrack(track, [stream])
    }

    /// Adds a transceiver for a track or for a kind of media (W3C `addTransceiver`). `sendEncodings` are checked
    /// as W3C says (`TypeError` / `RangeError`); the sender keeps the first one: `active: false` sends nothing,
    /// `maxBitrate` caps the Opus bitrate.
    @discardableResult
    public func addTransceiver(_ track: MediaStreamTrack, _ initializer: RtpTransceiverInit = RtpTransceiverInit()) throws -> RTCRtpTransceiver {
        try onQueue {
            guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
            let encodings = try RtpEncodingParameters.validated(initializer.sendEncodings, kind: track.kind)
            return makeTransceiver(kind: track.kind, track: track, direction: initializer.direction,
                                   streams: initializer.streams, encodings: encodings)
        }
    }

    /// Adds a transceiver of a kind, with no track.
    @discardableResult
    public func addTransceiver(_ kind: MediaType, _ initializer: RtpTransceiverInit = RtpTransceiverInit()) throws -> RTCRtpTransceiver {
        try onQueue {
            guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
            guard kind == .audio || kind == .video else {
                throw RTCException("TypeError", "a transceiver is audio or video, not \(kind)")
            }
            let encodings = try RtpEncodingParameters.validated(initializer.sendEncodings, kind: kind)
            return makeTransceiver(kind: kind, track: nil, direction: initializer.direction,
                                   streams: initializer.streams, encodings: encodings)
        }
    }

    /// Stops sending the sender's track; the sender stays in `getSenders()` with a nil track (W3C `removeTrack`).
    public func removeTrack(_ sender: RTCRtpSender) throws {
        try onQueue {
            guard !isClosed else { throw RTCException.invalidState("the connection is closed") }
            guard let transceiver = transceivers.first(where: { $0.sender === sender }), sender.track != nil else { return }
            try sender.replaceTrack(nil)
            transceiver.state.withLock { state in
                if state.direction == .sendrecv { state.direction = .recvonly }
                if state.direction == .sendonly { state.direction = .inactive }
            }
        }
    }

    /// Senders of every transceiver that is not stopped, in transceiver order.
    public func getSenders() -> [RTCRtpSender] { onQueue { transceivers.filter { !$0.stopped }.map(\.sender) } }
    /// Receivers of every transceiver that is not stopped, in transceiver order.
    public func getReceivers() -> [RTCRtpReceiver] { onQueue { transceivers.filter { !$0.stopped }.map(\.receiver) } }
    /// All transceivers in the order they were added.
    public func getTransceivers() -> [RTCRtpTransceiver] { onQueue { transceivers } }

    /// Makes the next offer carry new ICE credentials (RFC 8445 §9).
    public func restartIce() {
        onQueue {
            guard !isClosed else { return }
            iceRestartPending = true
        }
    }

    /// Closes the connection: stops every transceiver, sends DTLS close_notify, frees sockets and timers.
    public func close() {
        onQueue {
            guard !isClosed else { return }
            isClosed = true
            for transceiver in transceivers {
                transceiver.sender.detach()
                transceiver.state.withLock { state in
                    state.stopped = true
                    state.direction = .stopped
                    state.currentDirection = .stopped
                }
                transceiver.receiver.track.endSource()
            }
            transport?.close()
            flushTransmits()
            timer?.cancel()
            timer = nil
            network.close(localAddresses)
            localAddresses = []
            setSignalingState(.closed)
            iceTransport.stateBox.withLock { $0.state = .closed }
            dtlsTransport.stateBox.withLock { $0 = .closed }
            iceConnectionStateValue = .closed
            connectionStateValue = .closed
            eventContinuation.finish()
        }
    }

    // MARK: - Internals

    func makeTransceiver(kind: MediaType, track: MediaStreamTrack?, direction: TransceiverDirection,
                         streams: [MediaStream], encodings: [RtpEncodingParameters]) -> RTCRtpTransceiver {
        let sender = RTCRtpSender(kind: kind, track: track, streamIDs: streams.map(\.id), encodings: encodings)
        let receiver = RTCRtpReceiver(kind: kind)
        let transceiver = RTCRtpTransceiver(kind: kind, sender: sender, receiver: receiver, direction: direction)
        transceiver.onStop.function = { [weak self] _ in
            guard let self else { return }
            self.queue.async { self.transceiverStopped() }
        }
        transceivers.append(transceiver)
        attachSender(sender)
        return transceiver
    }

    func attachSender(_ sender: RTCRtpSender) {
        sender.attach { [weak self] sender, frame in
            guard let self else { return }
            self.queue.async { self.sendAudioFrame(frame, from: sender) }
        }
    }

    private func transceiverStopped() {}

    func emit(_ event: RTCPeerConnectionEvent) {
        let handlers = self.handlers.withLock { $0 }
        switch event {
        case let .track(value): handlers.track?(value)
        case let .iceCandidate(value): handlers.iceCandidate?(value)
        case let .iceGatheringStateChange(value): handlers.iceGatheringState?(value)
        case let .iceConnectionStateChange(value): handlers.iceConnectionState?(value)
        case let .connectionStateChange(value): handlers.connectionState?(value)
        case let .signalingStateChange(value): handlers.signalingState?(value)
        }
        eventContinuation.yield(event)
    }

    func setSignalingState(_ state: RTCSignalingState) {
        guard signalingStateValue != state else { return }
        signalingStateValue = state
        emit(.signalingStateChange(state))
    }
}
