import CSRTP
import Glibc

import SRTP

// The libsrtp2-backed implementation SRTPSession used before its own OpenSSL one, kept as the reference the
// cross-check and throughput tests compare against. Same API as SRTPSession.

/// Result of the one `srtp_init()` call per process. Swift initialises globals lazily under `swift_once`, so the
/// first session to touch this runs `srtp_init()` exactly once, even when sessions are created on several threads.
private let srtpInitResult: (status: UInt32, nssInitialisedHere: Bool) = {
    let nssInitialisedHere = LibSRTPNSSBackend.initialiseForManySessions()
    return (srtp_init().rawValue, nssInitialisedHere)
}()

public enum LibSRTPLibrary {
    /// Runs `srtp_init()` if no one has yet; throws if libsrtp could not initialise (e.g. its self-tests failed).
    public static func ensureInitialised() throws(SRTPError) {
        let status = srtpInitResult.status
        guard status == srtp_err_status_ok.rawValue else { throw SRTPError(libSRTPStatus: status) }
    }

    /// Whether libsrtp runs on NSS initialised by `NSSBackend` (false when libsrtp uses another crypto library).
    public static var nssInitialisedHere: Bool { srtpInitResult.nssInitialisedHere }

    /// libsrtp's version string, e.g. "libsrtp2 2.5.0".
    public static var version: String { String(cString: srtp_get_version_string()) }
}

extension SRTPError {
    /// Maps a non-ok `srtp_err_status_t` value.
    init(libSRTPStatus status: UInt32) {
        switch status {
        case srtp_err_status_auth_fail.rawValue: self = .authenticationFailed
        case srtp_err_status_replay_fail.rawValue: self = .replayed
        case srtp_err_status_replay_old.rawValue: self = .tooOld
        case srtp_err_status_bad_param.rawValue, srtp_err_status_parse_err.rawValue: self = .badInput
        default: self = .other(code: Int32(truncatingIfNeeded: status))
        }
    }
}

/// Debian builds libsrtp2 against NSS. When libsrtp initialises NSS itself it passes NSS_INIT_OPTIMIZESPACE, which
/// gives the software token a 32-bucket session table; every cipher and HMAC context is a token session, so with
/// thousands of SRTP sessions each packet walks long chains. Measured on this machine with 2,000 session pairs:
/// GCM protect+unprotect 50 k/s with libsrtp's init, 430 k/s with this one; AES-CM+HMAC 28 k/s vs 85 k/s.
///
/// Initialising NSS first, without that flag, makes libsrtp reuse our context (it only initialises NSS when
/// `NSS_IsInitialized()` is false). NSS is reached through `dlsym` because its headers are not part of the CSRTP
/// module; nothing happens when libsrtp was built with another crypto library (libnss3 is then not loaded).
enum LibSRTPNSSBackend {
    private typealias IsInitialized = @convention(c) () -> Int32
    private typealias InitContext = @convention(c) (
        UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
        UnsafeMutableRawPointer?, UInt32
    ) -> OpaquePointer?

    // nss.h: NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB | NSS_INIT_FORCEOPEN | NSS_INIT_NOROOTINIT,
    // i.e. libsrtp's own flags minus NSS_INIT_OPTIMIZESPACE (0x20), plus no root certificate module.
    private static let flags: UInt32 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10

    /// Called once, from the `srtpInitResult` initialiser, before `srtp_init()`. Returns whether NSS was
    /// initialised here (false when libsrtp does not use NSS or something else initialised NSS already).
    static func initialiseForManySessions() -> Bool {
        // RTLD_NOLOAD: only use NSS if libsrtp already pulled it in.
        guard let handle = dlopen("libnss3.so", RTLD_NOW | RTLD_NOLOAD) else { return false }
        guard let isInitializedSymbol = dlsym(handle, "NSS_IsInitialized"),
            let initContextSymbol = dlsym(handle, "NSS_InitContext")
        else { return false }
        let isInitialized = unsafeBitCast(isInitializedSymbol, to: IsInitialized.self)
        let initContext = unsafeBitCast(initContextSymbol, to: InitContext.self)
        guard isInitialized() == 0 else { return false }
        // The context lives for the rest of the process, like libsrtp's own would.
        return initContext("", "", "", "", nil, flags) != nil
    }
}

public final class LibSRTPSession {
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
        try LibSRTPLibrary.ensureInitialised()
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
        guard status == srtp_err_status_ok.rawValue, let context else { throw SRTPError(libSRTPStatus: status) }
        return context
    }

    // MARK: In place

    /// Encrypts and authenticates the RTP packet in `buffer[0..<length]` in place, appending the tag.
    /// - Returns: the SRTP packet's length (`length + profile.rtpOverhead`).
    /// - Throws: `.badLength` when `buffer` has less than `profile.rtpOverhead` bytes of room after the packet,
    ///   `.badInput` for a malformed RTP header, `.replayed` when this index was already protected.
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        do throws(SRTPError) {
            guard let base = buffer.baseAddress, length <= SRTPSession.maximumPacketLength, length >= 0,
                length <= buffer.count, buffer.count - length >= profile.rtpOverhead
            else { throw SRTPError.badLength }
            guard SRTPSession.rtpHeaderLength(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) != nil else {
                throw SRTPError.badInput
            }
            var newLength = Int32(length)
            let status = srtp_protect(outbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(libSRTPStatus: status) }
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
            guard let base = buffer.baseAddress, length <= SRTPSession.maximumPacketLength, length >= 0,
                length <= buffer.count, length >= 12 + profile.rtpOverhead
            else { throw SRTPError.badLength }
            guard let headerLength = SRTPSession.rtpHeaderLength(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            guard headerLength <= length - profile.rtpOverhead else { throw SRTPError.badLength }
            var newLength = Int32(length)
            let status = srtp_unprotect(inbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(libSRTPStatus: status) }
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
            guard let base = buffer.baseAddress, length <= SRTPSession.maximumPacketLength, length >= 0,
                length <= buffer.count, buffer.count - length >= profile.rtcpOverhead
            else { throw SRTPError.badLength }
            guard SRTPSession.isRTCPHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            var newLength = Int32(length)
            let status = srtp_protect_rtcp(outbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(libSRTPStatus: status) }
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
            guard let base = buffer.baseAddress, length <= SRTPSession.maximumPacketLength, length >= 0,
                length <= buffer.count, length >= 8 + profile.rtcpOverhead
            else { throw SRTPError.badLength }
            guard SRTPSession.isRTCPHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<length])) else {
                throw SRTPError.badInput
            }
            var newLength = Int32(length)
            let status = srtp_unprotect_rtcp(inbound, base, &newLength).rawValue
            guard status == srtp_err_status_ok.rawValue else { throw SRTPError(libSRTPStatus: status) }
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
}
