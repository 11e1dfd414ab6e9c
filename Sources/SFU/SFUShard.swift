import CMemoryHints
import Dispatch
import DTLS
import ICE
import RTP
import SkylarkBase
import SRTP
import UDPRuntime
import Transport

/// A publisher's packet on its way to the viewers another shard owns: copied once per shard, not per viewer.
struct RelayedPacket: Sendable {
    var stream: String
    var header: RTPHeader
    var payload: [UInt8]
    var isVideo: Bool
}

/// One serial queue and the sessions it owns: their transports (ICE-lite, DTLS, SRTP), the fan-out to its own
/// viewers, its timers and an outgoing `sendmmsg` batch on the shared socket.
///
/// A session lives on one shard from start to end. A publisher's packet is forwarded to the viewers of its own
/// shard in place, and handed once to every other shard that has viewers of the stream (DESIGN.md: no queue hop per
/// viewer). All state below is touched only on `queue`.
final class SFUShard: @unchecked Sendable {
    let index: Int
    let queue: DispatchQueue
    private let configuration: SFUConfiguration
    private let socket: UDPSocket
    private let localAddress: SocketAddress
    private let dtlsContext: DTLSContext
    private let directory: SFUDirectory
    private let started: CallbackSlot<@Sendable (SessionInfo) -> Void>
    private let ended: CallbackSlot<@Sendable (SessionInfo, String) -> Void>
    /// Every shard of the SFU (weakly: they outlive each other only during teardown).
    private var peers: [WeakShard] = []
    private var timer: DispatchSourceTimer?

    private var sessions: [String: MediaSession] = [:]
    private var byUfrag: [String: MediaSession] = [:]
    private var byAddress: [SocketAddress: MediaSession] = [:]
    /// This shard's viewers per stream.
    private var viewers: [String: [MediaSession]] = [:]
    private let outgoing = DatagramBatch()
    private var lastEndCheck: Instant = .zero
    /// The most sessions the shard had since it last handed free heap back, and when it will next (see `tick`).
    private var sessionsPeak = 0
    private var trims: [Instant] = []
    /// After many sessions ended, the free heap is handed back soon, and again once the session records, logs and
    /// HTTP exchanges on other queues (which finish later after a burst) have let go of theirs.
    private static let trimDelays: [Duration] = [.seconds(1), .seconds(10)]
    /// Traffic of sessions that have ended, so totals only grow.
    private(set) var endedTotals = SessionCounters()
    /// Datagrams that matched no session, and everything ended sessions dropped.
    private(set) var drops = DatagramDrops()
    private(set) var dtlsFailures: UInt64 = 0
    private var stopped = false

    private struct WeakShard {
        weak var shard: SFUShard?
    }

    init(index: Int, configuration: SFUConfiguration, socket: UDPSocket, dtlsContext: DTLSContext,
         directory: SFUDirectory, started: CallbackSlot<@Sendable (SessionInfo) -> Void>,
         ended: CallbackSlot<@Sendable (SessionInfo, String) -> Void>) {
        self.index = index
        queue = DispatchQueue(label: "skylark.sfu.\(index)")
        self.configuration = configuration
        self.socket = socket
        localAddress = socket.localAddress
        self.dtlsContext = dtlsContext
        self.directory = directory
        self.started = started
        self.ended = ended
    }

    /// Connects the shards and starts the timer; called once, before any datagram arrives.
    func start(peers: [SFUShard]) {
        self.peers = peers.map { WeakShard(shard: $0) }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        // 20 ms is finer than any ICE-lite or DTLS timer needs, and the tick visits every session.
        timer.schedule(deadline: .now() + .milliseconds(20), repeating: .milliseconds(20), leeway: .milliseconds(5))
        timer.setEventHandler { [unowned self] in self.tick() }
        timer.resume()
        self.timer = timer
    }

    private func peer(_ index: Int) -> SFUShard? {
        index < peers.count ? peers[index].shard : nil
    }

    // MARK: - Called on `queue` by the SFU

    /// Ends every session and stops the timer.
    func shutdown() {
        guard !stopped else { return }
        for session in Array(sessions.values) { end(session, reason: "server shutting down") }
        flush()
        stopped = true
        timer?.cancel()
        timer = nil
    }

    /// Runs `body` on the queue and flushes what it queued.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(SFUError) -> T) async throws(SFUError) -> T {
        let result: Result<T, SFUError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(SFUError) {
                    let value = try body()
                    self.flush()
                    continuation.resume(returning: .success(value))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    func session(id: String) -> MediaSession? { sessions[id] }

    /// Creates a session with its answer. The caller has claimed the stream (publishers).
    func makeSession(id: String, role: MediaSession.Role, stream: String, offer: NegotiatedOffer) throws(SFUError) -> MediaSession {
        guard !stopped, directory.reserve(sessionID: id, shard: index, maximum: configuration.maximumSessions) else {
            throw .full
        }
        let credentials = ICECredentials.random()
        let agent = ICEAgent(role: .controlled, isLite: true, localCredentials: credentials)
        agent.addLocalCandidate(.host(address: localAddress))
        agent.setRemoteCredentials(ICECredentials(ufrag: offer.remoteCredentials.ufrag,
                                                  password: offer.remoteCredentials.password))
        for value in offer.candidates {
            if let candidate = try? ICECandidate(parsing: value) { agent.addRemoteCandidate(candidate) }
        }
        let transport = BundleTransport(ice: agent, dtlsContext: dtlsContext)
        // RFC 8842 §5.3: answer actpass with passive (the client connects); a passive offer (FFmpeg) makes the
        // server the DTLS client.
        let dtlsRole: DTLSConnection.Role = offer.remoteSetup == .passive ? .client : .server
        do {
            try transport.configureDTLS(role: dtlsRole, remoteFingerprints: offer.fingerprints.map {
                DTLSFingerprint(algorithm: $0.algorithm, bytes: $0.bytes)
            })
        } catch {
            directory.release(sessionID: id, ufrags: [], addresses: [])
            throw .badOffer("DTLS cannot start: \(error)")
        }
        let writer = AnswerWriter(
            sessionID: UInt64.random(in: 1...(1 << 62)), ufrag: credentials.ufrag, password: credentials.password,
            fingerprint: dtlsContext.certificate.fingerprint.sdpValue, setup: dtlsRole == .client ? "active" : "passive",
            candidates: candidateLines(),
            sendSSRC: (UInt32.random(in: 1...UInt32.max), UInt32.random(in: 1...UInt32.max), UInt32.random(in: 1...UInt32.max)),
            cname: Identifiers.token(length: 16), streamID: SFU.streamID(stream), serverSends: role == .viewer)
        let answer = writer.write(offer)
        let session = MediaSession(id: id, role: role, stream: stream, transport: transport, offer: offer,
                                   etag: "\"\(credentials.ufrag)\"", answer: answer, now: Instant.now(),
                                   wallClock: WallClock.nanosecondsSince1970())
        if role == .viewer {
            if let audio = offer.audio {
                session.audioOut = OutgoingStream(ssrc: writer.sendSSRC.audio, payloadType: audio.payloadType, clockRate: 48_000)
            }
            if let video = offer.video {
                session.videoOut = OutgoingStream(ssrc: writer.sendSSRC.video, payloadType: video.payloadType, clockRate: 90_000)
                if let rtx = video.retransmissionPayloadType {
                    session.videoOut?.retransmission = (rtx, writer.sendSSRC.retransmission, UInt16.random(in: 0...UInt16.max))
                }
            }
            viewers[stream, default: []].append(session)
            directory.addViewer(stream: stream, shard: index)
        } else {
            session.audioSSRC = offer.audio?.ssrcs.first
            session.videoSSRC = offer.video?.ssrcs.first
        }
        session.deadline = transport.nextDeadline
        session.nextReport = session.created + Self.reportInterval()
        sessions[id] = session
        sessionsPeak = max(sessionsPeak, sessions.count)
        byUfrag[credentials.ufrag] = session
        if directory.shardCount > 1 { directory.setUfrag(credentials.ufrag, shard: index) }
        started.function?(info(session, now: session.created))
        return session
    }

    /// Applies a PATCH (RFC 9725 §4.3): trickled candidates, or an ICE restart when the fragment has new credentials.
    func patch(_ session: MediaSession, fragment: SDPFragment, ifMatch: String) throws(SFUError) -> PatchResult {
        let isRestart = fragment.ufrag != nil && fragment.ufrag != session.offer.remoteCredentials.ufrag
        guard ifMatch == "*" || ifMatch == session.etag else { throw .preconditionFailed }
        if isRestart { return restart(session, fragment: fragment) }
        for candidate in fragment.parsedCandidates { session.transport.ice.addRemoteCandidate(candidate) }
        if fragment.endOfCandidates { session.transport.ice.setRemoteEndOfCandidates() }
        drain(session)
        return .trickled
    }

    private func restart(_ session: MediaSession, fragment: SDPFragment) -> PatchResult {
        let old = session.transport.ice.localCredentials.ufrag
        let credentials = ICECredentials.random()
        session.transport.ice.restart(localCredentials: credentials)
        session.transport.ice.addLocalCandidate(.host(address: localAddress))
        if let ufrag = fragment.ufrag, let password = fragment.password {
            session.transport.ice.setRemoteCredentials(ICECredentials(ufrag: ufrag, password: password))
            session.offer.remoteCredentials = (ufrag, password)
        }
        for candidate in fragment.parsedCandidates { session.transport.ice.addRemoteCandidate(candidate) }
        byUfrag[old] = nil
        byUfrag[credentials.ufrag] = session
        if directory.shardCount > 1 {
            directory.setUfrag(old, shard: nil)
            directory.setUfrag(credentials.ufrag, shard: index)
        }
        session.etag = "\"\(credentials.ufrag)\""
        var lines = ["a=ice-lite", "a=ice-ufrag:\(credentials.ufrag)", "a=ice-pwd:\(credentials.password)"]
        for section in session.offer.sections where section.accepted {
            lines.append("m=\(section.kind == .video ? "video" : "audio") 9 UDP/TLS/RTP/SAVPF \(section.payloadType)")
            lines.append("a=mid:\(section.mid)")
            for candidate in candidateLines() { lines.append("a=candidate:\(candidate)") }
            lines.append("a=end-of-candidates")
        }
        drain(session)
        return .restarted(fragment: lines.joined(separator: "\r\n") + "\r\n", etag: session.etag)
    }

    /// Ends a session: DTLS close_notify, the session leaves every table, `ended` is called.
    func end(_ session: MediaSession, reason: String) {
        guard sessions.removeValue(forKey: session.id) != nil else { return }
        let now = Instant.now()
        let info = self.info(session, now: now)
        endedTotals.packetsIn &+= info.counters.packetsIn
        endedTotals.bytesIn &+= info.counters.bytesIn
        endedTotals.packetsOut &+= info.counters.packetsOut
        endedTotals.bytesOut &+= info.counters.bytesOut
        endedTotals.rejected &+= info.counters.rejected
        drops.add(sessionDrops(session))
        session.transport.close()
        drain(session)
        let ufrag = session.transport.ice.localCredentials.ufrag
        if byUfrag[ufrag] === session { byUfrag[ufrag] = nil }
        for address in session.remoteAddresses where byAddress[address] === session { byAddress[address] = nil }
        directory.release(sessionID: session.id, ufrags: [ufrag], addresses: session.remoteAddresses)
        switch session.role {
        case .publisher:
            directory.releasePublisher(stream: session.stream, sessionID: session.id)
        case .viewer:
            viewers[session.stream]?.removeAll { $0 === session }
            if viewers[session.stream]?.isEmpty == true { viewers[session.stream] = nil }
            directory.removeViewer(stream: session.stream, shard: index)
        }
        ended.function?(info, reason)
        // The last session, or half of them (at least 64) since the last trim: a stream ended, a flood expired.
        if sessionsPeak > 0, sessions.isEmpty || (sessions.count * 2 <= sessionsPeak && sessionsPeak - sessions.count >= 64) {
            trims = Self.trimDelays.map { now + $0 }
            sessionsPeak = sessions.count
        }
    }

    /// Every live session's info.
    func sessionInfos(now: Instant) -> [SessionInfo] {
        sessions.values.map { info($0, now: now) }
    }

    /// This shard's part of `/metrics`.
    func addMetrics(to metrics: inout SFUMetrics) {
        var totals = endedTotals
        for session in sessions.values {
            let counters = countersWithTransport(session)
            totals.packetsIn &+= counters.packetsIn
            totals.bytesIn &+= counters.bytesIn
            totals.packetsOut &+= counters.packetsOut
            totals.bytesOut &+= counters.bytesOut
            totals.rejected &+= counters.rejected
            metrics.packetsLost += counters.packetsLost
            if session.role == .viewer { metrics.viewers += 1 }
        }
        metrics.totals.packetsIn &+= totals.packetsIn
        metrics.totals.bytesIn &+= totals.bytesIn
        metrics.totals.packetsOut &+= totals.packetsOut
        metrics.totals.bytesOut &+= totals.bytesOut
        metrics.totals.rejected &+= totals.rejected
        metrics.drops.add(drops)
        for session in sessions.values { metrics.drops.add(sessionDrops(session)) }
        metrics.dtlsFailures &+= dtlsFailures
    }

    /// Host candidates: the announced addresses (1:1 NAT) first, else the bound one (RFC 8445 §5.1.1.1).
    private func candidateLines() -> [String] {
        let addresses = configuration.announcedAddresses.isEmpty ? [localAddress.ip] : configuration.announcedAddresses
        return addresses.enumerated().map { index, ip in
            ICECandidate.host(address: SocketAddress(ip: ip, port: localAddress.port),
                              localPreference: UInt16(clamping: 65_535 - index)).sdpValue
        }
    }

    func info(_ session: MediaSession, now: Instant) -> SessionInfo {
        let seconds = max((now - session.created).seconds, 0.001)
        return SessionInfo(
            id: session.id, stream: session.stream, role: session.role.rawValue,
            iceState: "\(session.transport.iceState)", connected: session.isConnected,
            remoteAddress: session.transport.selectedPair?.remote.address?.description,
            localAddress: session.transport.selectedPair?.local.address?.description,
            createdAt: Double(session.createdWallClock) / 1e9, seconds: seconds,
            counters: countersWithTransport(session),
            bitrateIn: Double(session.counters.bytesIn) * 8 / seconds,
            bitrateOut: Double(session.counters.bytesOut) * 8 / seconds,
            hasVideo: session.offer.video != nil)
    }

    /// What the session's transport dropped, and the RTCP the relay could not parse.
    private func sessionDrops(_ session: MediaSession) -> DatagramDrops {
        var drops = session.transport.counters.drops
        drops.add(session.drops)
        return drops
    }

    private func countersWithTransport(_ session: MediaSession) -> SessionCounters {
        var counters = session.counters
        counters.rejected = sessionDrops(session).total
        if session.role == .publisher {
            counters.packetsLost = session.receiveStatistics.values.reduce(0) { $0 + $1.cumulativeLost }
            counters.jitter = session.receiveStatistics.values.map(\.jitterSeconds).max() ?? 0
        }
        return counters
    }

    // MARK: - Packets in

    /// One datagram from the shared socket, for a session of this shard (or none).
    func receive(_ bytes: UnsafeMutableRawBufferPointer, from remote: SocketAddress) {
        guard let first = bytes.first else { return }
        let now = Instant.now()
        var session = byAddress[remote]
        if first <= 3 {
            // STUN: route by the ufrag the client put in USERNAME ("<ours>:<theirs>").
            if let fragments = ICEAgent.usernameFragments(ofRequest: UnsafeRawBufferPointer(bytes)),
               let owner = byUfrag[fragments.local] {
                session = owner
            }
        }
        guard let session else {
            drops[.noSession] &+= 1
            return
        }
        let wasConnected = session.isConnected
        session.transport.handleReceive(bytes, from: remote, localAddress: localAddress, now: now) { packet in
            switch packet {
            case let .rtp(buffer): self.receiveRTP(buffer, on: session, now: now)
            case let .rtcp(buffer): self.receiveRTCP(buffer, on: session, now: now)
            }
        }
        if first <= 3, !session.remoteAddresses.contains(remote), session.transport.selectedRemoteAddress == remote {
            session.remoteAddresses.insert(remote)
            byAddress[remote] = session
            // Before the check's response leaves: the client's DTLS follows it, and must find this shard.
            if directory.shardCount > 1 { directory.setAddress(remote, shard: index) }
        }
        drain(session)
        if !wasConnected && session.isConnected { sessionConnected(session, now: now) }
        flush()
    }

    private func sessionConnected(_ session: MediaSession, now: Instant) {
        session.connectedAt = now
        if session.role == .viewer, session.videoOut != nil {
            requestKeyframe(stream: session.stream, force: true)
        }
    }

    private func receiveRTP(_ buffer: UnsafeMutableRawBufferPointer, on session: MediaSession, now: Instant) {
        guard session.role == .publisher,
              let header = try? RTPHeader(parsing: UnsafeRawBufferPointer(buffer)) else { return }
        session.counters.packetsIn &+= 1
        session.counters.bytesIn &+= UInt64(buffer.count)
        let isVideo: Bool
        if header.payloadType == session.offer.audio?.payloadType {
            isVideo = false
            session.audioSSRC = header.ssrc
        } else if header.payloadType == session.offer.video?.payloadType {
            isVideo = true
            session.videoSSRC = header.ssrc
            session.rememberVideo(UnsafeRawBufferPointer(buffer), sequence: header.sequenceNumber)
        } else {
            return  // RTX, FEC or anything not negotiated: not relayed.
        }
        session.receiveStatistics[header.ssrc, default: RTPReceiveStatistics(clockRate: isVideo ? 90_000 : 48_000)]
            .record(sequenceNumber: header.sequenceNumber, rtpTimestamp: header.timestamp, arrival: now)
        let payload = UnsafeRawBufferPointer(rebasing: buffer[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
        // The other shards first, so their fan-out runs alongside this one's.
        if directory.shardCount > 1 { relay(payload: payload, header: header, isVideo: isVideo, stream: session.stream) }
        if let audience = viewers[session.stream] {
            fanOut(payload: payload, header: header, isVideo: isVideo, to: audience, now: now)
        }
    }

    /// Forwards one packet to every connected viewer in `audience`, loading the next viewers' state into the cache
    /// while this one's copy is made: each viewer's session, transport and SRTP context have gone cold in the 20 ms
    /// since the last packet, and fetching them one pointer after another costs more than the copy itself. Each
    /// step follows a pointer in an object the step before asked for, one viewer earlier.
    private func fanOut(payload: UnsafeRawBufferPointer, header: RTPHeader, isVideo: Bool, to audience: [MediaSession],
                        now: Instant) {
        let count = audience.count
        for index in 0..<count {
            if index + 4 < count { skylark_prefetch(Unmanaged.passUnretained(audience[index + 4]).toOpaque()) }
            if index + 3 < count { skylark_prefetch(Unmanaged.passUnretained(audience[index + 3].transport).toOpaque()) }
            if index + 2 < count, let srtp = audience[index + 2].transport.srtp {
                skylark_prefetch(Unmanaged.passUnretained(srtp).toOpaque())
            }
            if index + 1 < count { audience[index + 1].transport.srtp?.prefetchForProtect() }
            let viewer = audience[index]
            if viewer.isConnected { forward(payload: payload, header: header, isVideo: isVideo, to: viewer, now: now) }
        }
    }

    /// Hands a publisher's packet to every other shard with viewers of the stream.
    private func relay(payload: UnsafeRawBufferPointer, header: RTPHeader, isVideo: Bool, stream: String) {
        var others = directory.shardsWithViewers(of: stream) & ~(1 << UInt64(index))
        guard others != 0 else { return }
        let relayed = RelayedPacket(stream: stream, header: header, payload: Array(payload), isVideo: isVideo)
        while others != 0 {
            let target = others.trailingZeroBitCount
            others &= others - 1
            guard let shard = peer(target) else { continue }
            shard.queue.async { shard.forward(relayed) }
        }
    }

    /// A packet another shard's publisher sent, for this shard's viewers.
    private func forward(_ packet: RelayedPacket) {
        guard !stopped, let audience = viewers[packet.stream] else { return }
        let now = Instant.now()
        packet.payload.withUnsafeBytes { payload in
            fanOut(payload: payload, header: packet.header, isVideo: packet.isVideo, to: audience, now: now)
        }
        flush()
    }

    /// Rewrites one packet for one viewer (its SSRC, sequence, timestamp and payload type; header extensions are
    /// dropped since their ids are per-session) and queues it encrypted.
    private func forward(payload: UnsafeRawBufferPointer, header: RTPHeader, isVideo: Bool, to viewer: MediaSession, now: Instant) {
        guard let mapped = isVideo ? viewer.videoOut?.forward(header, payloadBytes: payload.count, now: now)
                                   : viewer.audioOut?.forward(header, payloadBytes: payload.count, now: now),
              let stream = isVideo ? viewer.videoOut : viewer.audioOut else { return }
        if queueRTP(to: viewer, marker: header.marker, payloadType: stream.payloadType, sequence: mapped.sequence,
                    timestamp: mapped.timestamp, ssrc: stream.ssrc, payload: payload) {
            viewer.counters.packetsOut &+= 1
            viewer.counters.bytesOut &+= UInt64(12 + payload.count)
        }
    }

    /// Writes a 12-byte RTP header and the payload, encrypts and queues it in the outgoing batch's own memory: no
    /// allocation per viewer. Header extensions are dropped since their ids are per-session.
    /// `originalSequence`: an RTX packet's OSN, written ahead of the payload (RFC 4588 §4).
    private func queueRTP(to viewer: MediaSession, marker: Bool, payloadType: UInt8, sequence: UInt16,
                          timestamp: UInt32, ssrc: UInt32, payload: UnsafeRawBufferPointer,
                          originalSequence: UInt16? = nil) -> Bool {
        if outgoing.isFull { flush() }
        let transport = viewer.transport
        return outgoing.appendInPlace { slot -> (length: Int, destination: SocketAddress)? in
            let headerLength = originalSequence == nil ? 12 : 14
            let length = headerLength + payload.count
            guard length + SRTPSession.maximumOverhead <= slot.count, let base = slot.baseAddress else { return nil }
            slot[0] = 0x80
            slot[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
            slot.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
            slot.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
            slot.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
            if let originalSequence { slot.storeBytes(of: originalSequence.bigEndian, toByteOffset: 12, as: UInt16.self) }
            if let source = payload.baseAddress { (base + headerLength).copyMemory(from: source, byteCount: payload.count) }
            return transport.protectRTPInPlace(slot, length: length)
        }
    }

    private func receiveRTCP(_ buffer: UnsafeMutableRawBufferPointer, on session: MediaSession, now: Instant) {
        guard let packets = try? RTCPPacket.parseCompound(UnsafeRawBufferPointer(buffer)) else {
            session.drops[.rtcpMalformed] &+= 1
            return
        }
        for packet in packets {
            switch packet {
            case let .senderReport(report) where session.role == .publisher:
                session.lastSenderReport[report.ssrc] = (report.ntpTimestamp.middle32, now)
            case let .receiverReport(report):
                applyReceiverReports(report.reports, on: session, now: now)
            case let .senderReport(report):
                applyReceiverReports(report.reports, on: session, now: now)
            case .pli, .fir:
                if session.role == .viewer { requestKeyframe(stream: session.stream, force: false) }
            case let .nack(nack) where session.role == .viewer:
                resend(nack.lostSequenceNumbers, to: session)
            default:
                break
            }
        }
    }

    /// Viewers' reports: loss, jitter and RTT (RFC 3550 §6.4.1: RTT = now − LSR − DLSR, in 1/65536 s).
    private func applyReceiverReports(_ blocks: [RTCPReportBlock], on session: MediaSession, now: Instant) {
        for block in blocks where block.ssrc == session.audioOut?.ssrc || block.ssrc == session.videoOut?.ssrc {
            session.counters.packetsLost = Int64(block.cumulativeLost)
            session.counters.jitter = Double(block.jitter) / Double(block.ssrc == session.videoOut?.ssrc ? 90_000 : 48_000)
            if block.lastSenderReport != 0 {
                let nowMiddle = NTPTime.now().middle32
                let rtt = Double(nowMiddle &- block.lastSenderReport &- block.delaySinceLastSenderReport) / 65_536
                if rtt >= 0 && rtt < 60 { session.counters.roundTripTime = rtt }
            }
        }
    }

    /// Asks the stream's publisher, on whichever shard it lives, for a keyframe.
    private func requestKeyframe(stream: String, force: Bool) {
        guard let publisher = directory.publisher(of: stream) else { return }
        if publisher.shard == index {
            if let session = sessions[publisher.sessionID] { requestKeyframe(from: session, now: Instant.now(), force: force) }
            return
        }
        guard let owner = peer(publisher.shard) else { return }
        owner.queue.async {
            guard let session = owner.sessions[publisher.sessionID] else { return }
            owner.requestKeyframe(from: session, now: Instant.now(), force: force)
            owner.flush()
        }
    }

    /// Picture Loss Indication to the publisher (RFC 4585 §6.3.1), at most every 500 ms unless forced.
    private func requestKeyframe(from publisher: MediaSession, now: Instant, force: Bool) {
        guard let videoSSRC = publisher.videoSSRC, publisher.isConnected else { return }
        guard force || now - publisher.lastKeyframeRequest >= .milliseconds(500) else { return }
        publisher.lastKeyframeRequest = now
        var packet = RTCPPacket.serializeCompound([
            .receiverReport(ReceiverReport(ssrc: publisher.rtcpSSRC, reports: [])),
            .pli(PictureLossIndication(senderSSRC: publisher.rtcpSSRC, mediaSSRC: videoSSRC)),
        ])
        publisher.transport.sendRTCP(&packet)
        drain(publisher)
    }

    /// Retransmits video a viewer lost (RFC 4585 §6.2.1) as RTX (RFC 4588), from the publisher's recent packets —
    /// fetched on the publisher's shard when it lives elsewhere. A viewer without RTX gets no retransmission:
    /// sending a packet again under its own index would encrypt a second time with the same keystream
    /// (RFC 3711 §9.1) or GCM nonce (RFC 7714 §14.1), and the SRTP layer refuses that.
    private func resend(_ sequences: [UInt16], to viewer: MediaSession) {
        guard let stream = viewer.videoOut, stream.retransmission != nil, let sourceSSRC = stream.sourceSSRC,
              let publisher = directory.publisher(of: viewer.stream) else { return }
        let wanted = sequences.prefix(64).compactMap { sequence in
            stream.sourceSequence(forViewerSequence: sequence).map { (sequence, $0) }
        }
        guard !wanted.isEmpty else { return }
        let fetch: @Sendable (SFUShard) -> [(UInt16, [UInt8])] = { owner in
            guard let source = owner.sessions[publisher.sessionID] else { return [] }
            return wanted.compactMap { sequence, original in
                // Only the source the viewer's numbering was computed for (a replaced publisher's are gone).
                guard let packet = source.videoPacket(sequence: original), packet.count >= 12,
                      UInt32(packet[8]) << 24 | UInt32(packet[9]) << 16 | UInt32(packet[10]) << 8 | UInt32(packet[11]) == sourceSSRC
                else { return nil }
                return (sequence, packet)
            }
        }
        if publisher.shard == index {
            resend(fetch(self), to: viewer)
            return
        }
        guard let owner = peer(publisher.shard) else { return }
        let viewerID = viewer.id
        owner.queue.async {
            let packets = fetch(owner)
            guard !packets.isEmpty else { return }
            self.queue.async {
                guard let viewer = self.sessions[viewerID] else { return }
                self.resend(packets, to: viewer)
                self.flush()
            }
        }
    }

    /// Queues each packet as RTX: the viewer's RTX SSRC, payload type and sequence number, and the original
    /// sequence number (OSN) ahead of the payload (RFC 4588 §4).
    private func resend(_ packets: [(UInt16, [UInt8])], to viewer: MediaSession) {
        for (sequence, original) in packets {
            guard let stream = viewer.videoOut, let rtx = stream.retransmission else { return }
            let sent = original.withUnsafeBytes { raw -> Bool in
                guard let header = try? RTPHeader(parsing: raw) else { return false }
                let payload = UnsafeRawBufferPointer(rebasing: raw[header.payloadOffset..<(header.payloadOffset + header.payloadLength)])
                return queueRTP(to: viewer, marker: header.marker, payloadType: rtx.payloadType, sequence: rtx.nextSequence,
                                timestamp: header.timestamp &+ stream.timestampOffset, ssrc: rtx.ssrc, payload: payload,
                                originalSequence: sequence)
            }
            if sent {
                viewer.videoOut?.retransmission?.nextSequence &+= 1
                viewer.counters.packetsOut &+= 1
                viewer.counters.bytesOut &+= UInt64(14 + original.count)
            }
        }
        drain(viewer)
    }

    // MARK: - Timers, reports, sending

    /// Runs due timers. A session's next deadline is kept from the last time it was touched (`drain`), so a tick
    /// over thousands of idle sessions only compares instants; whether a session should end is checked when it
    /// changed, and for all sessions once a second. RTCP reports go out per session about once a second at a
    /// randomised time (RFC 3550 §6.3.1), so they are spread over the ticks instead of delaying one packet's
    /// fan-out behind a report to every session.
    private func tick() {
        guard !stopped else { return }
        let now = Instant.now()
        var finished: [(MediaSession, String)] = []
        let everySecond = now - lastEndCheck >= .seconds(1)
        if everySecond { lastEndCheck = now }
        for session in sessions.values {
            if let deadline = session.deadline, deadline <= now {
                session.transport.handleTimeout(now: now)
                drain(session)
            }
            if session.changed || everySecond {
                session.changed = false
                if let reason = endReason(session, now: now) { finished.append((session, reason)) }
            }
            if session.nextReport <= now, session.isConnected {
                session.nextReport = now + Self.reportInterval()
                sendReports(session, now: now)
            }
        }
        for (session, reason) in finished { end(session, reason: reason) }
        flush()
        // glibc keeps freed pages in its per-thread arenas: without a trim, after a burst of sessions the server
        // would stay at its peak size.
        if let next = trims.first, next <= now {
            trims.removeFirst()
            skylark_release_free_memory()
        }
    }

    /// 1 s × a random factor in [0.5, 1.5] (RFC 3550 §6.3.1).
    static func reportInterval() -> Duration { .milliseconds(Int64.random(in: 500...1_500)) }

    private func endReason(_ session: MediaSession, now: Instant) -> String? {
        switch session.transport.iceState {
        case .failed: return session.connectedAt == nil ? "ICE failed: no connectivity check arrived" : "ICE consent expired (RFC 7675)"
        case .closed: return "closed"
        default: break
        }
        if session.transport.dtls?.state == .failed {
            dtlsFailures &+= 1
            return session.failure ?? "DTLS handshake failed"
        }
        if session.transport.dtls?.state == .closed { return "the client closed DTLS" }
        if session.connectedAt == nil, now - session.created > configuration.connectTimeout {
            return "never connected: no ICE and DTLS within \(configuration.connectTimeout.seconds) s of the offer"
        }
        return nil
    }

    /// Receiver reports to publishers, sender reports to viewers, each with an SDES CNAME (RFC 3550 §6.1).
    private func sendReports(_ session: MediaSession, now: Instant) {
        var packets: [RTCPPacket] = []
        switch session.role {
        case .publisher:
            var blocks: [RTCPReportBlock] = []
            for ssrc in session.receiveStatistics.keys.sorted() {
                var lsr: UInt32 = 0, dlsr: UInt32 = 0
                if let last = session.lastSenderReport[ssrc] {
                    lsr = last.middle
                    dlsr = UInt32(clamping: Int64((now - last.arrival).seconds * 65_536))
                }
                if let block = session.receiveStatistics[ssrc]?.makeReportBlock(ssrc: ssrc, lastSenderReport: lsr,
                                                                                  delaySinceLastSenderReport: dlsr) {
                    blocks.append(block)
                }
            }
            packets.append(.receiverReport(ReceiverReport(ssrc: session.rtcpSSRC, reports: blocks)))
            packets.append(.sourceDescription([SDESChunk(ssrc: session.rtcpSSRC, items: [.cname("skylark")])]))
        case .viewer:
            let ntp = NTPTime.now()
            for stream in [session.audioOut, session.videoOut].compactMap({ $0 }) where stream.packetsSent > 0 {
                let elapsed = stream.lastSendTime.map { (now - $0).seconds } ?? 0
                let rtpNow = stream.lastTimestamp &+ UInt32(clamping: Int64(elapsed * Double(stream.clockRate)))
                packets.append(.senderReport(SenderReport(ssrc: stream.ssrc, ntpTimestamp: ntp, rtpTimestamp: rtpNow,
                                                          packetCount: stream.packetsSent, octetCount: stream.octetsSent,
                                                          reports: [])))
                packets.append(.sourceDescription([SDESChunk(ssrc: stream.ssrc, items: [.cname("skylark")])]))
            }
        }
        guard !packets.isEmpty else { return }
        var compound = RTCPPacket.serializeCompound(packets)
        session.transport.sendRTCP(&compound)
        drain(session)
    }

    /// Moves a session's queued datagrams into the outgoing batch.
    func drain(_ session: MediaSession) {
        while let transmit = session.transport.pollTransmit() {
            if outgoing.isFull { flush() }
            outgoing.append(transmit.bytes, to: transmit.destination)
        }
        while let event = session.transport.pollEvent() {
            if case let .dtlsFailed(error) = event, session.failure == nil { session.failure = "\(error)" }
        }
        session.deadline = session.transport.nextDeadline
        session.changed = true
    }

    /// Sends the outgoing batch on the shared socket (`sendmmsg` is safe from several threads at once).
    func flush() {
        guard !stopped else { return outgoing.removeAll() }
        outgoing.send(on: socket)
    }
}
