import CSRTP

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

/// One SRTP/SRTCP association (RFC 3711; RFC 7714 for GCM): an outbound context keyed with the local key and an
/// inbound context keyed with the remote key, each matching any SSRC in its direction.
///
/// All four operations work in place on the caller's buffer and allocate nothing once a stream exists (libsrtp
/// allocates one stream per SSRC the first time that SSRC is protected, or unprotected successfully).
///
/// Cost: one session is two libsrtp contexts (each a template stream plus one stream per SSRC in use). With
/// Debian's libsrtp 2.5.0 on NSS, measured with glibc's malloc accounting over 2,000 sessions with one SSRC each
/// way: about 59 KB of heap per session for AES-CM/HMAC-SHA1 and 35 KB for GCM, almost all of it NSS cipher and
/// HMAC contexts; each extra SSRC adds about 1 KB (its replay window and stream state). The Swift object adds
/// about 100 bytes. An SFU sending one publisher's packets to N viewers needs N sessions, one per viewer's keys,
/// so prefer GCM: it is smaller and about 2-3x faster per packet on this libsrtp.
///
/// Not safe for concurrent use: confine a session to one serial queue.
public final class SRTPSession {
    /// The most bytes any supported profile appends to a packet (SRTCP with GCM: 4-byte index + 16-byte tag).
    /// Buffers passed to the protect functions need at least this much room after the packet.
    public static let maximumOverhead = 20

    /// Longest packet accepted: the largest UDP payload.
    public static let maximumPacketLength = 65_535

    /// Default inbound RTP replay window in packets (libsrtp's own default is 128).
    public static let defaultReplayWindowSize = 1024

    public let profile: SRTPProtectionProfile
    public private(set) var counters = SRTPCounters()

    private let outbound: OpaquePointer
    private let inbound: OpaquePointer

    /// Creates the outbound and inbound contexts.
    /// - Parameters:
    ///   - keys: local key+salt protect what we send, remote key+salt unprotect what we receive.
    ///   - replayWindowSize: inbound SRTP replay window in packets, 64..<32768 (libsrtp's limits).
    ///     SRTCP always uses libsrtp's fixed 128-packet window.
    /// - Throws: `.badLength` for keys or salts of the wrong size, `.badInput` for a window out of range.
    public init(
        profile: SRTPProtectionProfile,
        keys: SRTPKeyingMaterial,
        replayWindowSize: Int = SRTPSession.defaultReplayWindowSize
    ) throws(SRTPError) {
        try SRTPLibrary.ensureInitialised()
        guard keys.localKey.count == profile.keyLength, keys.remoteKey.count == profile.keyLength,
            keys.localSalt.count == profile.saltLength, keys.remoteSalt.count == profile.saltLength
        else { throw .badLength }
        guard (64..<0x8000).contains(replayWindowSize) else { throw .badInput }

        self.profile = profile
        // Outbound keeps libsrtp's 128-packet window: it only guards against protecting one index twice.
        self.outbound = try Self.makeContext(
            profile: profile, key: keys.localKey + keys.localSalt, ssrcType: ssrc_any_outbound, windowSize: 128)
        do throws(SRTPError) {
            self.inbound = try Self.makeContext(
                profile: profile, key: keys.remoteKey + keys.remoteSalt, ssrcType: ssrc_any_inbound,
                windowSize: replayWindowSize)
        } catch {
            srtp_dealloc(outbound)
            throw error
        }
    }

    deinit {
        srtp_dealloc(outbound)
        srtp_dealloc(inbound)
    }

    private static func makeContext(
        profile: SRTPProtectionProfile, key: [UInt8], ssrcType: srtp_ssrc_type_t, windowSize: Int
    ) throws(SRTPError) -> OpaquePointer {
        var policy = srtp_policy_t()
        switch profile {
        case .aes128CmHmacSha1_80:
            // The AES-CM-128 + HMAC-SHA1-80 setter is a macro for the RTP/RTCP defaults.
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.ssrc = srtp_ssrc_t(type: ssrcType, value: 0)
        policy.window_size = UInt(windowSize)
        policy.allow_repeat_tx = 0
        policy.next = nil
        var keyCopy = key
        var context: OpaquePointer?
        // libsrtp derives session keys during srtp_create and keeps no pointer to the master key.
        let status = keyCopy.withUnsafeMutableBufferPointer { keyBuffer in
            policy.key = keyBuffer.baseAddress
            return srtp_create(&context, &policy).rawValue
        }
        for index in keyCopy.indices { keyCopy[index] = 0 }
        guard status == srtp_err_status_ok.rawValue, let context else { throw SRTPError(status: status) }
        return context
    }

    // MARK: In place

    /// Encrypts and authenticates the RTP packet in `buffer[0..<length]` in place, appending the tag.
    /// - Returns: the SRTP packet's length (`length + profile.rtpOverhead`).
    /// - Throws: `.badLength` when `buffer` has less than `profile.rtpOverhead` bytes of room after the packet,
    ///   `.badInput` for a malformed RTP header, `.replayed` when this index was already protected.
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= Self.maximumPacketLength, length >= 0,
                length <= buffer.count, buffer.count - length >= profile.rtpOverhead
            else { throw SRTPError.badLength }
            guard Self.rtpHeaderLength(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) != nil else {
                throw SRTPError.badInput
            }
            var newLength = Int32(length)
            let status = srtp_protect(outbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(status: status) }
            counters.rtpProtected &+= 1
            return Int(newLength)
        } catch {
            counters.protectFailures &+= 1
            throw error
        }
    }

    /// Verifies and decrypts the SRTP packet in `buffer[0..<length]` in place.
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
            var newLength = Int32(length)
            let status = srtp_unprotect(inbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(status: status) }
            counters.rtpUnprotected &+= 1
            return Int(newLength)
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
            var newLength = Int32(length)
            let status = srtp_protect_rtcp(outbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(status: status) }
            counters.rtcpProtected &+= 1
            return Int(newLength)
        } catch {
            counters.protectFailures &+= 1
            throw error
        }
    }

    /// Verifies and decrypts the SRTCP packet in `buffer[0..<length]` in place.
    /// - Returns: the RTCP packet's length (index and tag removed).
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= Self.maximumPacketLength, length >= 0,
                length <= buffer.count, length >= 8 + profile.rtcpOverhead
            else { throw SRTPError.badLength }
            guard Self.isRTCPHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            var newLength = Int32(length)
            let status = srtp_unprotect_rtcp(inbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(status: status) }
            counters.rtcpUnprotected &+= 1
            return Int(newLength)
        } catch {
            countUnprotectFailure(error)
            throw error
        }
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
    /// packet is not version 2 or its header runs past the end. libsrtp trusts these fields, so check them first.
    static func rtpHeaderLength(_ packet: UnsafeRawBufferPointer) -> Int? {
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
    static func isRTCPHeader(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet.count >= 8 && packet[0] >> 6 == 2
    }
}
