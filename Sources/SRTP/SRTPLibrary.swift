import CSRTP
import Glibc

/// Result of the one `srtp_init()` call per process. Swift initialises globals lazily under `swift_once`, so the
/// first session to touch this runs `srtp_init()` exactly once, even when sessions are created on several threads.
private let srtpInitResult: (status: UInt32, nssInitialisedHere: Bool) = {
    let nssInitialisedHere = NSSBackend.initialiseForManySessions()
    return (srtp_init().rawValue, nssInitialisedHere)
}()

enum SRTPLibrary {
    /// Runs `srtp_init()` if no one has yet; throws if libsrtp could not initialise (e.g. its self-tests failed).
    static func ensureInitialised() throws(SRTPError) {
        let status = srtpInitResult.status
        guard status == srtp_err_status_ok.rawValue else { throw SRTPError(status: status) }
    }

    /// Whether libsrtp runs on NSS initialised by `NSSBackend` (false when libsrtp uses another crypto library).
    static var nssInitialisedHere: Bool { srtpInitResult.nssInitialisedHere }

    /// libsrtp's version string, e.g. "libsrtp2 2.5.0".
    static var version: String { String(cString: srtp_get_version_string()) }
}

extension SRTPError {
    /// Maps a non-ok `srtp_err_status_t` value.
    init(status: UInt32) {
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
enum NSSBackend {
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
