import COpenSSL
import SkylarkBase

/// Why a DTLS operation failed.
public enum DTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// OpenSSL refused to build a certificate, context or connection.
    case setupFailed(String)
    /// The handshake failed (OpenSSL's reason, or an alert from the peer).
    case handshakeFailed(String)
    /// The established association ended on an authenticated fatal alert or protocol error from the peer.
    case associationFailed(String)
    /// The peer's certificate does not match any fingerprint from its SDP (RFC 8842 §5).
    case fingerprintMismatch(expected: [CertificateFingerprint], actual: CertificateFingerprint?)
    /// The peer did not offer any SRTP protection profile we support (RFC 5764 §4.1.2).
    case noSRTPProfile
    /// Data was sent before the handshake completed or after close.
    case notConnected

    public var description: String {
        switch self {
        case let .setupFailed(reason): return "DTLS setup failed: \(reason)"
        case let .handshakeFailed(reason): return "DTLS handshake failed: \(reason)"
        case let .associationFailed(reason): return "DTLS association failed: \(reason)"
        case let .fingerprintMismatch(expected, actual):
            return "DTLS certificate fingerprint \(actual?.sdpValue ?? "(none)") does not match the SDP's "
                + expected.map(\.sdpValue).joined(separator: ", ")
        case .noSRTPProfile: return "DTLS peer offered no supported SRTP protection profile"
        case .notConnected: return "DTLS is not connected"
        }
    }

    /// Drains OpenSSL's thread-local error queue into one line.
    static func openSSLErrors(_ context: String) -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? context : "\(context): \(reasons.joined(separator: "; "))"
    }
}
