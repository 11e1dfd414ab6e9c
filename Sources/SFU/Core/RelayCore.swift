import DTLS
import ICE
import RTP
import SkylarkBase
import SRTP
import Transport

/// The relay of one shard, without I/O: datagrams, API calls and `now` go in; datagrams, events and the next
/// deadline come out (the shape of str0m's `Rtc`).
///
/// It owns its sessions outright (their transports: ICE-lite, DTLS, SRTP), routes each datagram to one by the
/// ufrag in a STUN USERNAME (RFC 8445 §7.3) or by the address ICE confirmed, forwards a publisher's packets to its
/// viewers with their own SSRC, sequence numbers and timestamps, answers NACKs with RTX, throttles PLI/FIR, sends
/// RTCP reports and ends sessions whose consent expired or that never connected. What concerns another shard (its
/// viewers of a publisher here, its publisher of a viewer here) leaves as an event; `SFUDirectory` is the one
/// table the shards share.
///
/// After every input the driver polls `pollEvent()` and `pollTransmit(into:)` until they return nil, then calls
/// `handleTimeout(now:)` once `nextDeadline` has passed. A publisher's packet is written to each viewer straight
/// into the driver's send slot, encrypted there: the per-packet path allocates nothing.
final class RelayCore {
    let shard: Int
    let localAddress: SocketAddress
    private let configuration: SFUConfiguration
    private let dtlsContext: DTLSContext
    let directory: SFUDirectory
    /// Credentials, SSRCs and report times come from here: a CSPRNG in the server, a seeded one in tests.
    var random: any RandomNumberGenerator
    /// The wall clock at one `Instant`, for session records and RTCP's NTP timestamps.
    let wallClock: WallClockAnchor

    // The tables and outputs below are the media half's too (RelayCore+Media.swift).
    var sessions: [String: MediaSession] = [:]
    private var byUfrag: [String: MediaSession] = [:]
    private var byAddress: [SocketAddress: MediaSession] = [:]
    /// This shard's viewers per stream.
    var viewers: [String: [MediaSession]] = [:]

    private var transmits: [BundleTransport.Transmit] = []
    private var transmitHead = 0
    var events: [RelayEvent] = []
    private var eventHead = 0
    var fanOut = FanOut()

    /// The earliest session timer or report, as of the last timeout and every session touched since.
    private var sessionWake: Instant?
    /// Sessions touched since the last check of whether they should end are checked this soon after.
    private var endCheckDue: Instant?
    private var lastEndCheck: Instant?
    /// The most sessions since free heap was last handed back, and when it will be next.
    private var sessionsPeak = 0
    private var trims: [Instant] = []
    /// After many sessions ended, free heap is handed back soon, and again once the session records, logs and
    /// HTTP exchanges on other queues (which finish later after a burst) have let go of theirs.
    private static let trimDelays: [Duration] = [.seconds(1), .seconds(10)]
    private static let endCheckDelay: Duration = .milliseconds(20)

    /// Traffic of sessions that have ended, so totals only grow.
    private(set) var endedTotals = SessionCounters()
    /// Datagrams that matched no session, and everything ended sessions dropped.
    private(set) var drops = DatagramDrops()
    private(set) var dtlsFailures: UInt64 = 0
    private(set) var isStopped = false

    init(shard: Int, configuration: SFUConfiguration, localAddress: SocketAddress, dtlsContext: DTLSContext,
         directory: SFUDirectory, random: any RandomNumberGenerator, wallClock: WallClockAnchor) {
        self.shard = shard
        self.configuration = configuration
        self.localAddress = localAddress
        self.dtlsContext = dtlsContext
        self.directory = directory
        self.random = random
        self.wallClock = wallClock
    }

    // MARK: - Outputs

    /// The next event, or nil.
    func pollEvent() -> RelayEvent? {
        guard eventHead < events.count else {
            if !events.isEmpty { events.removeAll(keepingCapacity: true); eventHead = 0 }
            return nil
        }
        defer { eventHead += 1 }
        return events[eventHead]
    }

    /// Writes the next datagram into `slot` and says its length and destination; nil when there is nothing left to
    /// send. `slot` must hold the largest datagram (1,500 bytes).
    func pollTransmit(into slot: UnsafeMutableRawBufferPointer) -> (length: Int, destination: SocketAddress)? {
        while transmitHead < transmits.count {
            let transmit = transmits[transmitHead]
            transmitHead += 1
            guard transmit.bytes.count <= slot.count, let base = slot.baseAddress else { continue }
            transmit.bytes.withUnsafeBytes { bytes in
                if let source = bytes.baseAddress { base.copyMemory(from: source, byteCount: bytes.count) }
            }
            return (transmit.bytes.count, transmit.destination)
        }
        if !transmits.isEmpty { transmits.removeAll(keepingCapacity: true); transmitHead = 0 }
        return fanOut.isPending ? nextFanOutDatagram(into: slot) : nil
    }

    /// When `handleTimeout` must run next; nil when nothing waits.
    var nextDeadline: Instant? {
        guard !isStopped else { return nil }
        var next = trims.first
        for candidate in [sessionWake, endCheckDue] {
            if let candidate, next.map({ candidate < $0 }) ?? true { next = candidate }
        }
        if !sessions.isEmpty, let lastEndCheck {
            let everySecond = lastEndCheck + .seconds(1)
            if next.map({ everySecond < $0 }) ?? true { next = everySecond }
        }
        return next
    }

    // MARK: - Sessions

    func session(id: String) -> MediaSession? { sessions[id] }

    var sessionCount: Int { sessions.count }

    /// Creates a session and its answer. The caller has claimed the stream (publishers).
    func makeSession(id: String, role: MediaSession.Role, stream: String, offer: NegotiatedOffer,
                     now: Instant) throws(SFUError) -> MediaSession {
        guard !isStopped, directory.reserve(sessionID: id, shard: shard, maximum: configuration.maximumSessions) else {
            throw .full
        }
        let credentials = ICECredentials.random(using: &random)
        let agent = ICEAgent(role: .controlled, isLite: true, localCredentials: credentials,
                             tieBreaker: .random(in: 0 ... .max, using: &random))
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
            try transport.configureDTLS(role: dtlsRole, remoteFingerprints: offer.fingerprints)
        } catch {
            directory.release(sessionID: id, ufrags: [], addresses: [])
            throw .badOffer("DTLS cannot start: \(error)")
        }
        let writer = AnswerWriter(
            sessionID: .random(in: 1...(1 << 62), using: &random), ufrag: credentials.ufrag,
            password: credentials.password, fingerprint: dtlsContext.certificate.fingerprint.sdpValue,
            setup: dtlsRole == .client ? "active" : "passive", candidates: candidateLines(),
            sendSSRC: (randomSSRC(), randomSSRC(), randomSSRC()),
            cname: Identifiers.token(length: 16), streamID: SFU.streamID(stream), serverSends: role == .viewer)
        let session = MediaSession(id: id, role: role, stream: stream, transport: transport, offer: offer,
                                   etag: "\"\(credentials.ufrag)\"", answer: writer.write(offer), rtcpSSRC: randomSSRC(),
                                   now: now, wallClock: wallClock.nanosecondsSince1970(at: now))
        if role == .viewer {
            if let audio = offer.audio {
                session.audioOut = OutgoingStream(ssrc: writer.sendSSRC.audio, payloadType: audio.payloadType,
                                                  clockRate: 48_000, using: &random)
            }
            if let video = offer.video {
                session.videoOut = OutgoingStream(ssrc: writer.sendSSRC.video, payloadType: video.payloadType,
                                                  clockRate: 90_000, using: &random)
                if let rtx = video.retransmissionPayloadType {
                    session.videoOut?.retransmission = (rtx, writer.sendSSRC.retransmission,
                                                        .random(in: 0...UInt16.max, using: &random))
                }
            }
            viewers[stream, default: []].append(session)
            directory.addViewer(stream: stream, shard: shard)
        } else {
            session.audioSSRC = offer.audio?.ssrcs.first
        }
        session.nextReport = now + reportInterval()
        sessions[id] = session
        sessionsPeak = max(sessionsPeak, sessions.count)
        byUfrag[credentials.ufrag] = session
        if directory.shardCount > 1 { directory.setUfrag(credentials.ufrag, shard: shard) }
        if lastEndCheck == nil { lastEndCheck = now }
        drain(session, now: now)
        events.append(.sessionStarted(info(session, now: now)))
        return session
    }

    /// Applies a PATCH (RFC 9725 §4.3): trickled candidates, or an ICE restart when the fragment has new credentials.
    func patch(_ session: MediaSession, fragment: SDPFragment, ifMatch: String, now: Instant) throws(SFUError) -> PatchResult {
        let isRestart = fragment.ufrag != nil && fragment.ufrag != session.offer.remoteCredentials.ufrag
        guard ifMatch == "*" || ifMatch == session.etag else { throw .preconditionFailed }
        if isRestart { return restart(session, fragment: fragment, now: now) }
        for candidate in fragment.parsedCandidates { session.transport.ice.addRemoteCandidate(candidate) }
        if fragment.endOfCandidates { session.transport.ice.setRemoteEndOfCandidates() }
        drain(session, now: now)
        return .trickled
    }

    /// ICE restart (RFC 8445 §9): new local credentials, the client's new ones and candidates; DTLS and SRTP stay.
    private func restart(_ session: MediaSession, fragment: SDPFragment, now: Instant) -> PatchResult {
        let old = session.transport.ice.localCredentials.ufrag
        let credentials = ICECredentials.random(using: &random)
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
            directory.setUfrag(credentials.ufrag, shard: shard)
        }
        session.etag = "\"\(credentials.ufrag)\""
        drain(session, now: now)
        let body = AnswerWriter.restartFragment(ufrag: credentials.ufrag, password: credentials.password,
                                                offer: session.offer, candidates: candidateLines())
        return .restarted(fragment: body, etag: session.etag)
    }

    /// Ends a session: DTLS close_notify, the session leaves every table, `sessionEnded` follows.
    func end(_ session: MediaSession, reason: String, now: Instant) {
        guard sessions.removeValue(forKey: session.id) != nil else { return }
        let info = self.info(session, now: now)
        endedTotals.packetsIn &+= info.counters.packetsIn
        endedTotals.bytesIn &+= info.counters.bytesIn
        endedTotals.packetsOut &+= info.counters.packetsOut
        endedTotals.bytesOut &+= info.counters.bytesOut
        endedTotals.rejected &+= info.counters.rejected
        drops.add(sessionDrops(session))
        session.transport.close()
        drain(session, now: now)
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
            directory.removeViewer(stream: session.stream, shard: shard)
        }
        events.append(.sessionEnded(info, reason: reason))
        // The last session, or half of them (at least 64) since the last trim: a stream ended, a flood expired.
        if sessionsPeak > 0, sessions.isEmpty || (sessions.count * 2 <= sessionsPeak && sessionsPeak - sessions.count >= 64) {
            trims = Self.trimDelays.map { now + $0 }
            sessionsPeak = sessions.count
        }
    }

    /// Ends every session; the core takes no more.
    func shutdown(now: Instant) {
        guard !isStopped else { return }
        for session in Array(sessions.values) { end(session, reason: "server shutting down", now: now) }
        isStopped = true
    }

    // MARK: - Datagrams in

    /// One datagram from the shared socket, for a session of this shard (or none). The bytes are decrypted in
    /// place; they need not outlive the call.
    func handleDatagram(_ bytes: UnsafeMutableRawBufferPointer, from remote: SocketAddress, now: Instant) {
        guard !isStopped, let first = bytes.first else { return }
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
            if directory.shardCount > 1 { directory.setAddress(remote, shard: shard) }
        }
        drain(session, now: now)
        if !wasConnected && session.isConnected { sessionConnected(session, now: now) }
    }

    /// A packet another shard's publisher sent, for this shard's viewers.
    func handleRelayed(_ packet: RelayedPacket, now: Instant) {
        guard !isStopped, let audience = viewers[packet.stream] else { return }
        packet.payload.withUnsafeBytes { payload in
            startFanOut(payload: payload, header: packet.header, video: packet.video, to: audience, now: now)
        }
    }

    /// A message from another shard's core.
    func handle(_ message: ShardMessage, now: Instant) {
        guard !isStopped else { return }
        switch message {
        case let .requestKeyframe(publisherID, layer, force):
            if let publisher = sessions[publisherID] { requestKeyframe(from: publisher, layer: layer, now: now, force: force) }
        case let .fetchRetransmissions(request):
            let packets = retransmissionPackets(for: request)
            guard !packets.isEmpty else { return }
            events.append(.message(.retransmit(viewerID: request.viewerID, packets: packets), shard: request.viewerShard))
        case let .retransmit(viewerID, packets):
            if let viewer = sessions[viewerID] { retransmit(packets, to: viewer, now: now) }
        }
    }

    // MARK: - Timers

    /// Runs what is due: transport timers, end checks, RTCP reports, handing free heap back.
    ///
    /// A session's timer is kept from the last time it was touched, so a timeout over thousands of idle sessions
    /// mostly compares instants; whether a session should end is checked soon after it changed, and for all
    /// sessions once a second. RTCP reports go out about once a second per session at a randomised time
    /// (RFC 3550 §6.3.1), so they spread over time instead of delaying one packet's fan-out behind a report to
    /// every session.
    func handleTimeout(now: Instant) {
        guard !isStopped else { return }
        var finished: [(MediaSession, String)] = []
        let everySecond = lastEndCheck.map { now - $0 >= .seconds(1) } ?? true
        if everySecond { lastEndCheck = now }
        let checkChanged = endCheckDue.map { $0 <= now } ?? false
        endCheckDue = nil
        var wake: Instant?
        for session in sessions.values {
            if let deadline = session.deadline, deadline <= now {
                session.transport.handleTimeout(now: now)
                drain(session, now: now)
            }
            if (session.changed && checkChanged) || everySecond {
                session.changed = false
                if let reason = endReason(session, now: now) { finished.append((session, reason)) }
            }
            if session.isConnected {
                if session.nextReport <= now {
                    session.nextReport = now + reportInterval()
                    sendReports(session, now: now)
                }
                if wake.map({ session.nextReport < $0 }) ?? true { wake = session.nextReport }
            }
            if let deadline = session.deadline, wake.map({ deadline < $0 }) ?? true { wake = deadline }
        }
        sessionWake = wake
        for (session, reason) in finished { end(session, reason: reason, now: now) }
        // glibc keeps freed pages in its per-thread arenas: without a trim, after a burst of sessions the server
        // would stay at its peak size.
        if let next = trims.first, next <= now {
            trims.removeFirst()
            events.append(.releaseFreeMemory)
        }
    }

    /// 1 s × a random factor in [0.5, 1.5] (RFC 3550 §6.3.1).
    func reportInterval() -> Duration { .milliseconds(Int64.random(in: 500...1_500, using: &random)) }

    func randomSSRC() -> UInt32 { .random(in: 1...UInt32.max, using: &random) }

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
        if let codec = session.undecodableVideo, let mine = session.offer.video?.videoCodec {
            return "the stream's video is now \(codec), which this viewer was not answered with (\(mine)); "
                + "a new WHEP request is answered with it"
        }
        if session.connectedAt == nil, now - session.created > configuration.connectTimeout {
            return "never connected: no ICE and DTLS within \(configuration.connectTimeout.seconds) s of the offer"
        }
        return nil
    }

    private func sessionConnected(_ session: MediaSession, now: Instant) {
        session.connectedAt = now
        if session.role == .viewer, session.videoOut != nil {
            requestKeyframe(stream: session.stream, layer: nil, force: true, now: now)
        }
    }

    /// Has the session's end conditions checked soon, as after it was touched.
    func scheduleEndCheck(_ session: MediaSession, now: Instant) {
        session.changed = true
        if endCheckDue == nil { endCheckDue = now + Self.endCheckDelay }
    }

    /// Moves a session's queued datagrams to the output and notes its next timer.
    func drain(_ session: MediaSession, now: Instant) {
        while let transmit = session.transport.pollTransmit() { transmits.append(transmit) }
        while let event = session.transport.pollEvent() {
            if case let .dtlsFailed(error) = event, session.failure == nil { session.failure = "\(error)" }
        }
        session.deadline = session.transport.nextDeadline
        if let deadline = session.deadline, sessionWake.map({ deadline < $0 }) ?? true { sessionWake = deadline }
        if session.isConnected, sessionWake.map({ session.nextReport < $0 }) ?? true { sessionWake = session.nextReport }
        scheduleEndCheck(session, now: now)
    }

    // MARK: - Reading state

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

    /// Host candidates: the announced addresses (1:1 NAT) first, else the bound one (RFC 8445 §5.1.1.1).
    private func candidateLines() -> [String] {
        let addresses = configuration.announcedAddresses.isEmpty ? [localAddress.ip] : configuration.announcedAddresses
        return addresses.enumerated().map { index, ip in
            ICECandidate.host(address: SocketAddress(ip: ip, port: localAddress.port),
                              localPreference: UInt16(clamping: 65_535 - index)).sdpValue
        }
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
}
