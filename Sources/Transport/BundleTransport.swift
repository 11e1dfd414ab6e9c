import DTLS
import ICE
import SkylarkBase
import SRTP

/// The sans-IO transport of one peer connection: ICE, then DTLS over the selected pair, then SRTP keyed by
/// DTLS, all multiplexed on one 5-tuple (BUNDLE with rtcp-mux, RFC 8843 / RFC 5761).
///
/// Datagrams are demultiplexed by their first byte (RFC 7983 §7): 0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP.
/// Media never goes through the event queue: `handleReceive` hands each decrypted packet to a closure so the
/// buffer is used in place.
public final class BundleTransport {
    /// A datagram to send from one of our local addresses.
    public struct Transmit: Sendable {
        public var source: SocketAddress
        public var destination: SocketAddress
        public var bytes: [UInt8]
    }

    /// Control-plane happenings, polled by the owner.
    public enum Event: Sendable {
        case iceStateChanged(ICEConnectionState)
        case selectedPairChanged(local: ICECandidate, remote: ICECandidate)
        case iceRoleChanged(ICERole)
        case dtlsStateChanged(DTLSConnection.State)
        /// DTLS failed; the reason, for logs and errors.
        case dtlsFailed(DTLSError)
        /// SCTP bytes over DTLS (data channels).
        case dtlsApplicationData([UInt8])
    }

    /// What arrived from the network and was decrypted.
    public enum MediaPacket {
        case rtp(UnsafeMutableRawBufferPointer)
        case rtcp(UnsafeMutableRawBufferPointer)
    }

    /// Traffic, and input dropped without effect; the connection keeps working through every drop.
    public struct Counters: Sendable, Equatable {
        public var datagramsReceived: UInt64 = 0
        public var bytesReceived: UInt64 = 0
        public var datagramsSent: UInt64 = 0
        public var bytesSent: UInt64 = 0
        /// Received datagrams (DTLS: records) dropped, per reason.
        public var drops = DatagramDrops()
        /// RTP/RTCP that could not be sent (no pair yet, no keys yet).
        public var sendsDropped: UInt64 = 0

        public init() {}
    }

    public let ice: ICEAgent
    public private(set) var dtls: DTLSConnection?
    public private(set) var srtp: SRTPSession?
    /// Traffic and drops so far, the DTLS association's discarded records included.
    public var counters: Counters {
        var counters = ownCounters
        if let dtls { counters.drops.add(dtls.discardedRecords) }
        return counters
    }
    /// The pair media flows on, once ICE selected one.
    public private(set) var selectedPair: (local: ICECandidate, remote: ICECandidate)?
    public private(set) var iceState: ICEConnectionState = .new

    private let dtlsContext: DTLSContext
    private var pendingDTLS: (role: DTLSConnection.Role, fingerprints: [CertificateFingerprint])?
    private var transmits: [Transmit] = []
    private var transmitHead = 0
    private var events: [Event] = []
    private var now: Instant = .zero
    private var closed = false
    private var ownCounters = Counters()

    public init(ice: ICEAgent, dtlsContext: DTLSContext) {
        self.ice = ice
        self.dtlsContext = dtlsContext
    }

    /// Sets the DTLS role and the remote fingerprints (from the negotiated SDP). The handshake starts once ICE has
    /// a selected pair; a server may also be woken by an early ClientHello.
    public func configureDTLS(role: DTLSConnection.Role, remoteFingerprints: [CertificateFingerprint]) throws(DTLSError) {
        if let dtls {
            // Renegotiation keeps the association; only the fingerprints may be learnt late.
            if dtls.remoteFingerprints.isEmpty { dtls.remoteFingerprints = remoteFingerprints }
            return
        }
        let connection = try DTLSConnection(context: dtlsContext, role: role, remoteFingerprints: remoteFingerprints)
        dtls = connection
        pendingDTLS = (role, remoteFingerprints)
        if selectedPair != nil { startDTLS() }
    }

    /// Feeds one received datagram. Media packets are decrypted in place and given to `media`.
    public func handleReceive(_ datagram: UnsafeMutableRawBufferPointer, from remote: SocketAddress,
                              localAddress: SocketAddress, now: Instant, media: (MediaPacket) -> Void) {
        self.now = now
        guard !closed, let first = datagram.first else { return }
        ownCounters.datagramsReceived &+= 1
        ownCounters.bytesReceived &+= UInt64(datagram.count)
        switch first {
        case 0...3:
            // The agent checks FINGERPRINT, USERNAME and MESSAGE-INTEGRITY before anything changes (RFC 8445
            // §7.3), so a forged check cannot move the selected pair or refresh consent (RFC 7675 §5.1).
            let before = ice.stats
            if !ice.handleReceive(UnsafeRawBufferPointer(datagram), from: remote, localAddress: localAddress, now: now) {
                let after = ice.stats
                let reason: DatagramDropReason
                if after.rejectedFingerprint > before.rejectedFingerprint {
                    reason = .stunFingerprint
                } else if after.rejectedIntegrity > before.rejectedIntegrity {
                    reason = .stunIntegrity
                } else if after.rejectedUsername > before.rejectedUsername {
                    reason = .stunUsername
                } else {
                    reason = .stunUnexpected
                }
                ownCounters.drops[reason] &+= 1
            }
            drainICE()
        case 20...63:
            // RFC 8445 §12.1 / RFC 5764 §5.1.2: DTLS only from the selected pair's remote once there is one.
            guard let dtls, selectedPair == nil || isFromSelectedRemote(remote) else {
                ownCounters.drops[.dtlsWrongAddress] &+= 1
                return
            }
            if dtls.state == .new { dtls.start(now: now) }
            // Until ICE selects a pair (the peer may select first), DTLS answers where the record came from.
            dtlsReturnRoute = (localAddress, remote)
            dtls.handleReceive(UnsafeRawBufferPointer(datagram), now: now)
            drainDTLS()
        case 128...191:
            guard let srtp else {
                ownCounters.drops[.srtpNoKeys] &+= 1
                return
            }
            guard datagram.count >= 2 else {
                ownCounters.drops[.srtpMalformed] &+= 1
                return
            }
            // RFC 5761 §4: RTCP packet types 192–223 put 64–95 in the RTP payload-type position.
            let isRTCP = (64...95).contains(datagram[1] & 0x7F)
            do {
                if isRTCP {
                    let length = try srtp.unprotectRTCP(datagram, length: datagram.count)
                    media(.rtcp(UnsafeMutableRawBufferPointer(rebasing: datagram[0..<length])))
                } else {
                    let length = try srtp.unprotectRTP(datagram, length: datagram.count)
                    media(.rtp(UnsafeMutableRawBufferPointer(rebasing: datagram[0..<length])))
                }
            } catch {
                // SRTPSession changes no state (replay window, rollover counter) for a packet that fails.
                switch error {
                case .authenticationFailed: ownCounters.drops[.srtpAuthentication] &+= 1
                case .replayed, .tooOld: ownCounters.drops[.srtpReplay] &+= 1
                case .badInput, .badLength, .other: ownCounters.drops[.srtpMalformed] &+= 1
                }
            }
        default:
            ownCounters.drops[.unknownProtocol] &+= 1
        }
    }

    /// Runs timers that are due.
    public func handleTimeout(now: Instant) {
        self.now = now
        guard !closed else { return }
        ice.handleTimeout(now: now)
        drainICE()
        if let dtls, let deadline = dtls.nextDeadline, deadline <= now {
            dtls.handleTimeout(now: now)
            drainDTLS()
        }
    }

    /// The earliest time `handleTimeout` must run.
    public var nextDeadline: Instant? {
        guard !closed else { return nil }
        // Called for every session on every timer tick of a server: no temporary arrays.
        let iceDeadline = ice.nextDeadline
        guard let dtlsDeadline = dtls?.nextDeadline else { return iceDeadline }
        guard let iceDeadline else { return dtlsDeadline }
        return min(iceDeadline, dtlsDeadline)
    }

    public func pollTransmit() -> Transmit? {
        guard transmitHead < transmits.count else {
            if !transmits.isEmpty { transmits.removeAll(keepingCapacity: true); transmitHead = 0 }
            return nil
        }
        defer { transmitHead += 1 }
        return transmits[transmitHead]
    }

    public func pollEvent() -> Event? { events.isEmpty ? nil : events.removeFirst() }

    /// Encrypts an RTP packet in place (growing the array by the SRTP tag) and queues it on the selected pair.
    @discardableResult
    public func sendRTP(_ packet: inout [UInt8]) -> Bool { protectAndQueue(&packet, rtcp: false) }

    /// Encrypts a (compound) RTCP packet and queues it.
    @discardableResult
    public func sendRTCP(_ packet: inout [UInt8]) -> Bool { protectAndQueue(&packet, rtcp: true) }

    /// Encrypts an RTP packet in place in `buffer` (which must have `SRTPSession.maximumOverhead` bytes to spare
    /// after `length`) and says where to send it, without queueing: for relays that batch datagrams themselves.
    /// Returns nil when media cannot flow yet.
    public func protectRTPInPlace(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> (length: Int, destination: SocketAddress)? {
        guard let srtp, let (_, destination) = route, !closed,
              buffer.count >= length + SRTPSession.maximumOverhead else {
            ownCounters.sendsDropped &+= 1
            return nil
        }
        guard let protected = try? srtp.protectRTP(buffer, length: length) else {
            ownCounters.sendsDropped &+= 1
            return nil
        }
        ownCounters.datagramsSent &+= 1
        ownCounters.bytesSent &+= UInt64(protected)
        return (protected, destination)
    }

    /// Sends close_notify and stops the agents.
    public func close() {
        guard !closed else { return }
        dtls?.close()
        drainDTLS()
        ice.close()
        closed = true
    }

    // MARK: - Internals

    private func protectAndQueue(_ packet: inout [UInt8], rtcp: Bool) -> Bool {
        guard let srtp, let (source, destination) = route, !closed else {
            ownCounters.sendsDropped &+= 1
            return false
        }
        let length = packet.count
        packet.append(contentsOf: repeatElement(0, count: SRTPSession.maximumOverhead))
        let protected: Int
        do {
            protected = try packet.withUnsafeMutableBytes { buffer throws(SRTPError) -> Int in
                rtcp ? try srtp.protectRTCP(buffer, length: length) : try srtp.protectRTP(buffer, length: length)
            }
        } catch {
            ownCounters.sendsDropped &+= 1
            return false
        }
        packet.removeLast(packet.count - protected)
        enqueue(Transmit(source: source, destination: destination, bytes: packet))
        return true
    }

    /// Our address and the peer's on the selected pair, parsed once when the pair is selected (media uses it for
    /// every packet).
    private var route: (SocketAddress, SocketAddress)?

    /// The peer's address on the selected pair.
    public var selectedRemoteAddress: SocketAddress? { route?.1 }

    private func isFromSelectedRemote(_ address: SocketAddress) -> Bool {
        route?.1 == address
    }

    private func enqueue(_ transmit: Transmit) {
        ownCounters.datagramsSent &+= 1
        ownCounters.bytesSent &+= UInt64(transmit.bytes.count)
        transmits.append(transmit)
    }

    private func startDTLS() {
        guard let dtls, dtls.state == .new, pendingDTLS != nil else { return }
        pendingDTLS = nil
        dtls.start(now: now)
        drainDTLS()
    }

    private func drainICE() {
        while let transmit = ice.pollTransmit() {
            enqueue(Transmit(source: transmit.source, destination: transmit.destination, bytes: transmit.bytes))
        }
        while let event = ice.pollEvent() {
            switch event {
            case let .connectionStateChanged(state):
                iceState = state
                events.append(.iceStateChanged(state))
            case let .selectedPairChanged(local, remote):
                selectedPair = (local, remote)
                if let localAddress = local.address, let remoteAddress = remote.address {
                    route = (localAddress, remoteAddress)
                } else {
                    route = nil
                }
                events.append(.selectedPairChanged(local: local, remote: remote))
                startDTLS()
            case let .roleChanged(role):
                events.append(.iceRoleChanged(role))
            }
        }
    }

    private func drainDTLS() {
        guard let dtls else { return }
        if dtls.state != .new && !announcedConnecting {
            announcedConnecting = true
            events.append(.dtlsStateChanged(.connecting))
        }
        while let datagram = dtls.pollTransmit() {
            guard let (source, destination) = route ?? dtlsReturnRoute else { continue }
            enqueue(Transmit(source: source, destination: destination, bytes: datagram))
        }
        while let event = dtls.pollEvent() {
            switch event {
            case let .connected(export):
                guard let profile = SRTPProtectionProfile(dtlsProfileID: export.profile.id) else {
                    events.append(.dtlsFailed(.noSRTPProfile))
                    continue
                }
                do {
                    let keys = try SRTPKeyingMaterial(profile: profile, exported: export.keyingMaterial,
                                                      isDTLSClient: export.isClient)
                    srtp = try SRTPSession(profile: profile, keys: keys)
                    events.append(.dtlsStateChanged(.connected))
                } catch {
                    events.append(.dtlsFailed(.handshakeFailed("SRTP keys: \(error)")))
                    events.append(.dtlsStateChanged(.failed))
                }
            case let .applicationData(bytes):
                events.append(.dtlsApplicationData(bytes))
            case .closed:
                events.append(.dtlsStateChanged(.closed))
            case let .failed(error):
                events.append(.dtlsFailed(error))
                events.append(.dtlsStateChanged(.failed))
            }
        }
    }

    private var announcedConnecting = false
    private var dtlsReturnRoute: (SocketAddress, SocketAddress)?
}
