import COpenSSL
import COpenSSLShims
import SkylarkBase

/// One side of a DTLS 1.2 association for DTLS-SRTP (RFC 5764), as a sans-IO state machine.
///
/// OpenSSL runs over two memory BIOs: received datagrams go in with `handleReceive`, records to send come out of
/// `pollTransmit` packed into datagrams no larger than the MTU. Not thread-safe: drive it from one queue.
///
/// OpenSSL keeps the handshake retransmission timer on the wall clock, so `nextDeadline` is derived from the
/// `now` of the latest call plus OpenSSL's remaining time.
public final class DTLSConnection {
    /// Which side of the handshake this is (RFC 5763 §5: `a=setup:active` is the client).
    public enum Role: Sendable, Equatable { case client, server }

    /// Lifecycle, matching the W3C `RTCDtlsTransportState` values.
    public enum State: Sendable, Equatable { case new, connecting, connected, closed, failed }

    /// What the connection reports to its owner.
    public enum Event: Sendable, Equatable {
        /// Handshake done, fingerprint verified; carries the SRTP profile and the exported keying material.
        case connected(SRTPKeyExport)
        /// Application data (SCTP for data channels) arrived.
        case applicationData([UInt8])
        /// The peer closed the association (close_notify).
        case closed
        /// The handshake or the association failed.
        case failed(DTLSError)
    }

    /// The negotiated SRTP profile and its keying material (RFC 5764 §4.2).
    public struct SRTPKeyExport: Sendable, Equatable {
        public var profile: DTLSSRTPProfile
        /// client_write_key | server_write_key | client_write_salt | server_write_salt.
        public var keyingMaterial: [UInt8]
        /// True when this side was the DTLS client (it then sends with the client keys).
        public var isClient: Bool
    }

    public let role: Role
    public private(set) var state: State = .new
    /// Fingerprints the remote certificate must match (from the remote SDP); empty means "not known yet".
    public var remoteFingerprints: [CertificateFingerprint]
    /// The remote certificate's fingerprint once seen (SHA-256, or the SDP's algorithm).
    public private(set) var remoteCertificateFingerprint: CertificateFingerprint?
    /// Largest datagram `pollTransmit` returns.
    public let mtu: Int
    /// The negotiated cipher suite's IANA name once connected (what webrtc-stats calls `dtlsCipher`).
    public private(set) var cipherSuite: String?
    /// Received records discarded without effect, per reason (RFC 6347 §4.1.2.7).
    public var discardedRecords: DTLSDiscardCounts { screen.discards }

    private let context: DTLSContext
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private var outgoing: [[UInt8]] = []
    private var outgoingHead = 0
    private var events: [Event] = []
    private var lastNow: Instant = .zero
    private var started = false
    /// The read and write buffers were handed back with SSL_free_buffers; `restoreBuffers` precedes any use.
    private var buffersReleased = false
    private var screen = DTLSRecordScreen()
    /// Checks records after the handshake; set once connected.
    private var authenticator: DTLSRecordAuthenticator?

    /// Records a datagram is demultiplexed to DTLS by its first byte, 20...63 (RFC 7983 §7).
    public static func looksLikeDTLS(firstByte: UInt8) -> Bool { (20...63).contains(firstByte) }

    public init(context: DTLSContext, role: Role, remoteFingerprints: [CertificateFingerprint] = [], mtu: Int = 1200,
                initialRetransmitMilliseconds: UInt32 = 100) throws(DTLSError) {
        guard let ssl = SSL_new(context.context) else { throw .setupFailed(DTLSError.openSSLErrors("SSL_new")) }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .setupFailed("BIO_new")
        }
        // An empty read BIO means "no data yet", not end of stream.
        skylark_bio_set_mem_eof_return(readBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        skylark_ssl_set_mtu(ssl, mtu)
        skylark_dtls_set_initial_timeout(ssl, initialRetransmitMilliseconds)
        if role == .client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.context = context
        self.role = role
        self.remoteFingerprints = remoteFingerprints
        self.mtu = mtu
    }

    deinit { SSL_free(ssl) }  // frees both BIOs too

    /// Starts the handshake: the client sends its ClientHello; the server waits for one.
    public func start(now: Instant) {
        guard !started else { return }
        started = true
        lastNow = now
        state = .connecting
        if role == .client { advanceHandshake() }
    }

    /// Feeds one received datagram (one or more DTLS records). Records that are malformed, or after the
    /// handshake not authenticated by the peer, are discarded and counted in `discardedRecords`; they never
    /// change the state.
    public func handleReceive(_ datagram: UnsafeRawBufferPointer, now: Instant) {
        lastNow = now
        guard state != .closed, state != .failed, !datagram.isEmpty else { return }
        var delivered = false
        screen.filter(datagram, established: state == .connected, authenticator: authenticator) { record in
            _ = BIO_write(readBIO, record.baseAddress, Int32(clamping: record.count))
            delivered = true
        }
        guard delivered else { return }
        if !started { start(now: now) }
        restoreBuffers()
        if state == .connecting {
            advanceHandshake()
        }
        if state == .connected {
            readApplicationData()
        }
    }

    /// Convenience for tests and cold paths.
    public func handleReceive(_ datagram: [UInt8], now: Instant) {
        datagram.withUnsafeBytes { handleReceive($0, now: now) }
    }

    /// Retransmits the last flight if OpenSSL's timer expired.
    public func handleTimeout(now: Instant) {
        lastNow = now
        guard state == .connecting else { return }
        if skylark_dtls_handle_timeout(ssl) < 0 {
            fail(.handshakeFailed(DTLSError.openSSLErrors("retransmission")))
            return
        }
        drainWriteBIO()
    }

    /// When `handleTimeout` should next be called, or nil when no timer runs.
    public var nextDeadline: Instant? {
        guard state == .connecting else { return nil }
        let milliseconds = skylark_dtls_get_timeout_ms(ssl)
        guard milliseconds >= 0 else { return nil }
        return lastNow + .milliseconds(milliseconds)
    }

    /// The next datagram to send to the peer.
    public func pollTransmit() -> [UInt8]? {
        guard outgoingHead < outgoing.count else {
            if !outgoing.isEmpty { outgoing.removeAll(keepingCapacity: true); outgoingHead = 0 }
            return nil
        }
        defer { outgoingHead += 1 }
        return outgoing[outgoingHead]
    }

    /// The next event for the owner.
    public func pollEvent() -> Event? {
        events.isEmpty ? nil : events.removeFirst()
    }

    /// Sends application data (SCTP) over the association.
    public func send(_ data: [UInt8]) throws(DTLSError) {
        guard state == .connected else { throw .notConnected }
        restoreBuffers()
        let written = data.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32(clamping: $0.count)) }
        guard written > 0 else { throw .handshakeFailed(DTLSError.openSSLErrors("SSL_write")) }
        drainWriteBIO()
    }

    /// Sends close_notify and stops.
    public func close() {
        guard state == .connected || state == .connecting else {
            if state == .new { state = .closed }
            return
        }
        if state == .connected {
            restoreBuffers()
            _ = SSL_shutdown(ssl)
            drainWriteBIO()
        }
        state = .closed
    }

    // MARK: - Internals

    private func advanceHandshake() {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            drainWriteBIO()
            finishHandshake()
            return
        }
        let error = SSL_get_error(ssl, result)
        drainWriteBIO()
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return
        default:
            fail(.handshakeFailed(DTLSError.openSSLErrors("handshake")))
        }
    }

    private func finishHandshake() {
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            fail(.handshakeFailed("the peer presented no certificate"))
            return
        }
        defer { X509_free(peer) }
        // RFC 8122 §5: the fingerprint is checked with the hash function the SDP names.
        let algorithm = remoteFingerprints.first?.algorithm ?? "sha-256"
        let actual = DTLSCertificate.fingerprint(of: peer, algorithm: algorithm)
        remoteCertificateFingerprint = actual
        if !remoteFingerprints.isEmpty {
            let matches = remoteFingerprints.contains { expected in
                DTLSCertificate.fingerprint(of: peer, algorithm: expected.algorithm) == expected
            }
            guard matches else {
                fail(.fingerprintMismatch(expected: remoteFingerprints, actual: actual))
                return
            }
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl),
              let profile = context.srtpProfiles.first(where: { UInt(selected.pointee.id) == UInt($0.id) }) else {
            fail(.noSRTPProfile)
            return
        }
        var material = [UInt8](repeating: 0, count: profile.keyingMaterialLength)
        let label = "EXTRACTOR-dtls_srtp"
        let exported = material.withUnsafeMutableBytes { out in
            SSL_export_keying_material(ssl, out.baseAddress?.assumingMemoryBound(to: UInt8.self), out.count,
                                       label, label.utf8.count, nil, 0, 0)
        }
        guard exported == 1 else {
            fail(.handshakeFailed(DTLSError.openSSLErrors("exporting SRTP keys")))
            return
        }
        authenticator = DTLSRecordAuthenticator(ssl: ssl, isServer: role == .server)
        if let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_standard_name(cipher) {
            cipherSuite = String(cString: name)
        }
        state = .connected
        events.append(.connected(SRTPKeyExport(profile: profile, keyingMaterial: material, isClient: role == .client)))
        // Records that arrived with the final flight (e.g. early application data) are read now.
        readApplicationData()
    }

    private func readApplicationData() {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while state == .connected {
            var count = 0
            // SSL_read_ex: an empty application_data record is a success, not an error.
            let result = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if result == 1 {
                if count > 0 { events.append(.applicationData(Array(buffer.prefix(count)))) }
                continue
            }
            let error = SSL_get_error(ssl, result)
            drainWriteBIO()
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                releaseBuffers()
                return
            case SSL_ERROR_ZERO_RETURN:
                state = .closed
                events.append(.closed)
                return
            default:
                // Only authenticated records get here, so this is the peer's doing: a fatal alert, or a
                // message it should not have sent.
                fail(.associationFailed(DTLSError.openSSLErrors("read")))
                return
            }
        }
    }

    /// After the handshake records are rare (alerts, a retransmitted final flight), so a connected endpoint hands
    /// its ~17 KB read and write buffers back between them — a third of a relay session's memory otherwise.
    private func releaseBuffers() {
        if SSL_free_buffers(ssl) == 1 { buffersReleased = true }
    }

    /// OpenSSL's DTLS paths expect their buffers; allocate them again before any call that may read or write.
    private func restoreBuffers() {
        guard buffersReleased else { return }
        buffersReleased = SSL_alloc_buffers(ssl) != 1
    }

    private func fail(_ error: DTLSError) {
        guard state != .failed else { return }
        ERR_clear_error()
        state = .failed
        events.append(.failed(error))
    }

    /// Moves everything OpenSSL wrote into datagrams: records are packed whole, up to the MTU each
    /// (RFC 6347 §4.1.1 allows several records per datagram).
    private func drainWriteBIO() {
        let pending = skylark_bio_pending(writeBIO)
        guard pending > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress, Int32(clamping: $0.count)) }
        guard read > 0 else { return }
        var offset = 0
        var datagram: [UInt8] = []
        while offset + 13 <= Int(read) {
            let length = Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12])
            let end = min(offset + 13 + length, Int(read))
            if !datagram.isEmpty && datagram.count + (end - offset) > mtu {
                outgoing.append(datagram)
                datagram = []
            }
            datagram.append(contentsOf: bytes[offset..<end])
            offset = end
        }
        if !datagram.isEmpty { outgoing.append(datagram) }
    }
}
