import CMemoryHints
import COpenSSLShims

/// Packet counts of one `SRTPSession`.
public struct SRTPCounters: Sendable, Hashable {
    public var rtpProtected: UInt64 = 0
    public var rtcpProtected: UInt64 = 0
    public var rtpUnprotected: UInt64 = 0
    public var rtcpUnprotected: UInt64 = 0
    /// Packets `protectRTP`/`protectRTCP` refused (bad input, no room, repeated index).
    public var protectFailures: UInt64 = 0
    /// Packets `unprotectRTP`/`unprotectRTCP` rejected for any reason, including the two below.
    public var unprotectFailures: UInt64 = 0
    /// Of `unprotectFailures`: tags that did not verify.
    public var authenticationFailures: UInt64 = 0
    /// Of `unprotectFailures`: replayed or too old for the replay window.
    public var replayFailures: UInt64 = 0

    public init() {}
}

/// One SRTP/SRTCP association (RFC 3711; RFC 7714 for GCM): outbound transforms keyed from the local master key
/// and inbound transforms keyed from the remote one, each matching any SSRC in its direction.
///
/// The cryptography is OpenSSL's AES-128-CTR and AES-128-GCM (AES-NI, PCLMULQDQ where the CPU has them) through
/// EVP cipher contexts created once per session and only given a new IV per packet, and HMAC-SHA1 from keyed
/// states computed once. Per SSRC the session keeps a small record: the outbound replay window (so one index is
/// never encrypted twice) and SRTCP index, and the inbound SRTP and SRTCP replay windows. All four operations work
/// in place on the caller's buffer and allocate nothing once the SSRC's record exists (it is created when an SSRC
/// is first protected, or first unprotected successfully).
///
/// Cost: four cipher contexts (SRTP and SRTCP, each way) and, for AES-CM, four HMAC states. Measured with
/// OpenSSL 3.0 over 2,000 sessions with one SSRC each way: about 4.8 KB of heap per session for AES-CM/HMAC-SHA1
/// and 5.9 KB for GCM (libsrtp on NSS: 58 KB and 34 KB). An SFU sending one publisher's packets to N viewers
/// needs N sessions, one per viewer's keys.
///
/// Not safe for concurrent use: confine a session to one serial queue.
public final class SRTPSession {
    /// The most bytes any supported profile appends to a packet (SRTCP with GCM: 4-byte index + 16-byte tag).
    /// Buffers passed to the protect functions need at least this much room after the packet.
    public static let maximumOverhead = 20

    /// Longest packet accepted: the largest UDP payload.
    public static let maximumPacketLength = 65_535

    /// Default inbound replay window in packets, for SRTP and SRTCP alike.
    public static let defaultReplayWindowSize = 1024

    /// Outbound replay window: only guards against protecting one index twice (a repeated index would reuse a
    /// keystream, and for GCM a nonce). libsrtp's default size.
    static let outboundReplayWindowSize = 128

    public let profile: SRTPProtectionProfile
    public private(set) var counters = SRTPCounters()

    private let outboundRTP: SRTPTransform
    /// `outboundRTP`'s cipher context, kept here too so `prefetchForProtect` need not read the transform first.
    private let outboundCipher: OpaquePointer
    private let outboundRTCP: SRTPTransform
    private let inboundRTP: SRTPTransform
    private let inboundRTCP: SRTPTransform
    private let replayWindowSize: Int

    // Per-SSRC records are classes so the hot path looks one up once and updates it in place: a struct in the
    // dictionary would be mutated through Dictionary's modify accessor, which allocates its coroutine frame.
    private final class OutboundStream {
        var rtp = SRTPReplayWindow(size: SRTPSession.outboundReplayWindowSize)
        /// The last SRTCP index sent; the first packet carries 1, as libsrtp's do.
        var rtcpIndex: UInt32 = 0
    }

    private final class InboundStream {
        var rtp: SRTPReplayWindow
        var rtcp: SRTPReplayWindow

        init(windowSize: Int) {
            rtp = SRTPReplayWindow(size: windowSize)
            rtcp = SRTPReplayWindow(size: windowSize)
        }
    }

    private var outboundStreams: [UInt32: OutboundStream] = [:]
    /// The stream of the last RTP packet protected: a relay sends one SSRC per session almost always, so the
    /// dictionary (one more cold cache line per packet) is skipped.
    private var lastOutboundRTP: (ssrc: UInt32, stream: OutboundStream)?
    private var inboundStreams: [UInt32: InboundStream] = [:]

    /// Derives the session keys and creates the cipher contexts.
    /// - Parameters:
    ///   - keys: local key+salt protect what we send, remote key+salt unprotect what we receive.
    ///   - replayWindowSize: inbound SRTP and SRTCP replay window in packets, 64..<32768.
    /// - Throws: `.badLength` for keys or salts of the wrong size, `.badInput` for a window out of range.
    public init(
        profile: SRTPProtectionProfile,
        keys: SRTPKeyingMaterial,
        replayWindowSize: Int = SRTPSession.defaultReplayWindowSize
    ) throws(SRTPError) {
        guard keys.localKey.count == profile.keyLength, keys.remoteKey.count == profile.keyLength,
            keys.localSalt.count == profile.saltLength, keys.remoteSalt.count == profile.saltLength
        else { throw .badLength }
        guard (64..<0x8000).contains(replayWindowSize) else { throw .badInput }

        self.profile = profile
        self.replayWindowSize = replayWindowSize
        var local = try SRTPSessionKeys(profile: profile, masterKey: keys.localKey, masterSalt: keys.localSalt)
        defer { local.erase() }
        var remote = try SRTPSessionKeys(profile: profile, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt)
        defer { remote.erase() }
        outboundRTP = try SRTPTransform(
            profile: profile, direction: .protect, key: local.rtpKey, salt: local.rtpSalt,
            authenticationKey: local.rtpAuthenticationKey)
        outboundCipher = outboundRTP.cipherContext
        outboundRTCP = try SRTPTransform(
            profile: profile, direction: .protect, key: local.rtcpKey, salt: local.rtcpSalt,
            authenticationKey: local.rtcpAuthenticationKey)
        inboundRTP = try SRTPTransform(
            profile: profile, direction: .unprotect, key: remote.rtpKey, salt: remote.rtpSalt,
            authenticationKey: remote.rtpAuthenticationKey)
        inboundRTCP = try SRTPTransform(
            profile: profile, direction: .unprotect, key: remote.rtcpKey, salt: remote.rtcpSalt,
            authenticationKey: remote.rtcpAuthenticationKey)
    }

    /// Starts loading what protecting the next RTP packet touches into the CPU cache. A relay calls it for the
    /// next viewers while it encrypts for this one: with thousands of sessions each one's state has gone cold
    /// since its last packet, and waiting for it one object after another is much of a copy's cost.
    ///
    /// It reads only this object's own fields, so call it once this object is in the cache (prefetch the session
    /// itself a step earlier) or it waits for that load itself.
    public func prefetchForProtect() {
        skylark_prefetch(Unmanaged.passUnretained(outboundRTP).toOpaque())
        skylark_prefetch(UnsafeRawPointer(outboundCipher))
        if let last = lastOutboundRTP { skylark_prefetch(Unmanaged.passUnretained(last.stream).toOpaque()) }
    }

    // MARK: In place

    /// Encrypts and authenticates the RTP packet in `buffer[0..<length]` in place, appending the tag.
    /// - Returns: the SRTP packet's length (`length + profile.rtpOverhead`).
    /// - Throws: `.badLength` when `buffer` has less than `profile.rtpOverhead` bytes of room after the packet,
    ///   `.badInput` for a malformed RTP header, `.replayed` when this index was already protected, `.tooOld`
    ///   when it is more than 128 packets behind the newest one protected for its SSRC.
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= Self.maximumPacketLength, length >= 0,
                length <= buffer.count, buffer.count - length >= profile.rtpOverhead
            else { throw SRTPError.badLength }
            guard let headerLength = Self.rtpHeaderLength(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            let sequence = UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            let ssrc = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            // RFC 3711 §3.3.1: the sender keeps the ROC; estimating from the highest index sent increments it
            // when the sequence number wraps, exactly as the receiver will.
            let stream = lastOutboundRTP?.ssrc == ssrc ? lastOutboundRTP?.stream : outboundStreams[ssrc]
            let index = SRTPPacketIndex.estimate(sequence: sequence, highest: stream?.rtp.highest ?? 0)
            do throws(SRTPReplayWindow.Refusal) {
                try stream?.rtp.check(index)
            } catch {
                throw error.error
            }
            let newLength = try outboundRTP.protectRTP(
                base, headerLength: headerLength, length: length, ssrc: ssrc, index: index)
            let protected = outboundStream(stream, ssrc)
            protected.rtp.accept(index)
            lastOutboundRTP = (ssrc, protected)
            counters.rtpProtected &+= 1
            return newLength
        } catch {
            counters.protectFailures &+= 1
            throw error
        }
    }

    /// Verifies and decrypts the SRTP packet in `buffer[0..<length]` in place. When the tag does not verify the
    /// packet bytes are left unspecified (GCM decrypts while it authenticates).
    /// - Returns: the RTP packet's length (tag removed).
    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= Self.maximumPacketLength, length >= 0,
                length <= buffer.count, length >= 12 + profile.rtpOverhead
            else { throw SRTPError.badLength }
            guard let headerLength = Self.rtpHeaderLength(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            guard headerLength <= length - profile.rtpOverhead else { throw SRTPError.badLength }
            let sequence = UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            let ssrc = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            // RFC 3711 §3.3.1 / Appendix A estimate, then the replay check before spending time on the tag.
            let stream = inboundStreams[ssrc]
            let index = SRTPPacketIndex.estimate(sequence: sequence, highest: stream?.rtp.highest ?? 0)
            do throws(SRTPReplayWindow.Refusal) {
                try stream?.rtp.check(index)
            } catch {
                throw error.error
            }
            let newLength = try inboundRTP.unprotectRTP(
                base, headerLength: headerLength, length: length, ssrc: ssrc, index: index)
            // Only an authenticated packet creates state or moves the window (RFC 3711 §3.3.2).
            inboundStream(stream, ssrc).rtp.accept(index)
            counters.rtpUnprotected &+= 1
            return newLength
        } catch {
            countUnprotectFailure(error)
            throw error
        }
    }

    /// Encrypts and authenticates the compound RTCP packet in `buffer[0..<length]` in place, appending the
    /// SRTCP index and tag.
    /// - Returns: the SRTCP packet's length (`length + profile.rtcpOverhead`).
    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= Self.maximumPacketLength, length >= 0,
                length <= buffer.count, buffer.count - length >= profile.rtcpOverhead
            else { throw SRTPError.badLength }
            guard Self.isRTCPHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            let ssrc = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            // RFC 3711 §3.4: a 31-bit index per SSRC; at the end the keys must change (§9.2).
            let stream = outboundStreams[ssrc]
            let previous = stream?.rtcpIndex ?? 0
            guard previous < 0x7FFF_FFFF else { throw SRTPError.other(code: SRTPError.keyExhaustedCode) }
            let newLength = try outboundRTCP.protectRTCP(base, length: length, ssrc: ssrc, index: previous + 1)
            outboundStream(stream, ssrc).rtcpIndex = previous + 1
            counters.rtcpProtected &+= 1
            return newLength
        } catch {
            counters.protectFailures &+= 1
            throw error
        }
    }

    /// Verifies and decrypts the SRTCP packet in `buffer[0..<length]` in place.
    /// - Returns: the RTCP packet's length (index and tag removed).
    /// - Throws: besides the usual, `.badInput` for SRTCP with the E flag clear: this profile always encrypts
    ///   RTCP, so an unencrypted packet is not accepted (as libsrtp does not).
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= Self.maximumPacketLength, length >= 0,
                length <= buffer.count, length >= 8 + profile.rtcpOverhead
            else { throw SRTPError.badLength }
            guard Self.isRTCPHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            let ssrc = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let word = inboundRTCP.rtcpIndexWord(base, length: length)
            guard word & 0x8000_0000 != 0 else { throw SRTPError.badInput }
            let index = word & 0x7FFF_FFFF
            let stream = inboundStreams[ssrc]
            do throws(SRTPReplayWindow.Refusal) {
                try stream?.rtcp.check(UInt64(index))
            } catch {
                throw error.error
            }
            let newLength = try inboundRTCP.unprotectRTCP(base, length: length, ssrc: ssrc, index: index)
            inboundStream(stream, ssrc).rtcp.accept(UInt64(index))
            counters.rtcpUnprotected &+= 1
            return newLength
        } catch {
            countUnprotectFailure(error)
            throw error
        }
    }

    /// `existing`, or a new record for `ssrc` (the only allocation on these paths, once per SSRC).
    private func outboundStream(_ existing: OutboundStream?, _ ssrc: UInt32) -> OutboundStream {
        if let existing { return existing }
        let stream = OutboundStream()
        outboundStreams[ssrc] = stream
        return stream
    }

    private func inboundStream(_ existing: InboundStream?, _ ssrc: UInt32) -> InboundStream {
        if let existing { return existing }
        let stream = InboundStream(windowSize: replayWindowSize)
        inboundStreams[ssrc] = stream
        return stream
    }

    // MARK: Arrays

    /// Protects `packet` (RTP) in place, growing it by the tag. On error `packet` is unchanged in length; its bytes
    /// may have been partly processed.
    public func protectRTP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: profile.rtpOverhead) { buffer, length throws(SRTPError) in
            try protectRTP(buffer, length: length)
        }
    }

    /// Unprotects `packet` (SRTP) in place, shrinking it by the tag.
    public func unprotectRTP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: 0) { buffer, length throws(SRTPError) in
            try unprotectRTP(buffer, length: length)
        }
    }

    /// Protects `packet` (RTCP) in place, growing it by the SRTCP index and tag.
    public func protectRTCP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: profile.rtcpOverhead) { buffer, length throws(SRTPError) in
            try protectRTCP(buffer, length: length)
        }
    }

    /// Unprotects `packet` (SRTCP) in place, shrinking it by the SRTCP index and tag.
    public func unprotectRTCP(_ packet: inout [UInt8]) throws(SRTPError) {
        try transform(&packet, room: 0) { buffer, length throws(SRTPError) in
            try unprotectRTCP(buffer, length: length)
        }
    }

    private func transform(
        _ packet: inout [UInt8], room: Int,
        _ body: (UnsafeMutableRawBufferPointer, Int) throws(SRTPError) -> Int
    ) throws(SRTPError) {
        let length = packet.count
        if room > 0 { packet.append(contentsOf: repeatElement(0, count: room)) }
        let result: Result<Int, SRTPError> = packet.withUnsafeMutableBytes { buffer in
            do throws(SRTPError) {
                return .success(try body(buffer, length))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let newLength):
            packet.removeLast(packet.count - newLength)
        case .failure(let error):
            packet.removeLast(packet.count - length)
            throw error
        }
    }

    private func countUnprotectFailure(_ error: SRTPError) {
        counters.unprotectFailures &+= 1
        switch error {
        case .authenticationFailed: counters.authenticationFailures &+= 1
        case .replayed, .tooOld: counters.replayFailures &+= 1
        default: break
        }
    }

    // MARK: Header checks

    /// Length of the RTP header including CSRCs and the extension (RFC 3550 §5.1, §5.3.1), or nil when the
    /// packet is not version 2 or its header runs past the end.
    public static func rtpHeaderLength(_ packet: UnsafeRawBufferPointer) -> Int? {
        guard packet.count >= 12, packet[0] >> 6 == 2 else { return nil }
        var length = 12 + 4 * Int(packet[0] & 0x0F)
        if packet[0] & 0x10 != 0 {
            guard length + 4 <= packet.count else { return nil }
            let words = Int(packet[length + 2]) << 8 | Int(packet[length + 3])
            length += 4 + 4 * words
        }
        return length <= packet.count ? length : nil
    }

    /// Whether `packet` starts with an RTCP header and sender SSRC (RFC 3550 §6.4.1): version 2, at least 8 bytes.
    public static func isRTCPHeader(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet.count >= 8 && packet[0] >> 6 == 2
    }
}
