/// An SRTP protection profile that DTLS can negotiate in its `use_srtp` extension (RFC 5764 §4.1.2).
///
/// Only the two profiles browsers and FFmpeg offer are supported: AES-CM with an 80-bit HMAC-SHA1 tag (RFC 3711)
/// and AES-128-GCM with a 16-byte tag (RFC 7714).
public enum SRTPProtectionProfile: Sendable, Hashable, CaseIterable {
    /// `SRTP_AES128_CM_HMAC_SHA1_80`, DTLS-SRTP profile 0x0001 (RFC 5764 §4.1.2).
    case aes128CmHmacSha1_80
    /// `SRTP_AEAD_AES_128_GCM`, DTLS-SRTP profile 0x0007 (RFC 7714 §14.2).
    case aeadAes128Gcm

    /// The two-byte identifier carried in the DTLS `use_srtp` extension.
    public var dtlsProfileID: UInt16 {
        switch self {
        case .aes128CmHmacSha1_80: 0x0001
        case .aeadAes128Gcm: 0x0007
        }
    }

    /// The name OpenSSL uses for this profile in `SSL_CTX_set_tlsext_use_srtp` and `SSL_get_selected_srtp_profile`.
    public var openSSLName: String {
        switch self {
        case .aes128CmHmacSha1_80: "SRTP_AES128_CM_SHA1_80"
        case .aeadAes128Gcm: "SRTP_AEAD_AES_128_GCM"
        }
    }

    /// Master key length in bytes.
    public var keyLength: Int { 16 }

    /// Master salt length in bytes: 112 bits for AES-CM (RFC 3711 §8.2), 96 bits for GCM (RFC 7714 §12).
    public var saltLength: Int {
        switch self {
        case .aes128CmHmacSha1_80: 14
        case .aeadAes128Gcm: 12
        }
    }

    /// Bytes `protectRTP` appends: the authentication tag (RFC 3711 §4.2, RFC 7714 §7).
    public var rtpOverhead: Int {
        switch self {
        case .aes128CmHmacSha1_80: 10
        case .aeadAes128Gcm: 16
        }
    }

    /// Bytes `protectRTCP` appends: the E flag and SRTCP index word plus the tag (RFC 3711 §3.4, RFC 7714 §9).
    public var rtcpOverhead: Int { rtpOverhead + 4 }

    /// Bytes to request from the DTLS exporter: keys and salts for both directions (RFC 5764 §4.2).
    public var exportedKeyingMaterialLength: Int { 2 * (keyLength + saltLength) }

    /// The profile with the given DTLS `use_srtp` identifier, or nil for one this library does not implement.
    public init?(dtlsProfileID: UInt16) {
        switch dtlsProfileID {
        case 0x0001: self = .aes128CmHmacSha1_80
        case 0x0007: self = .aeadAes128Gcm
        default: return nil
        }
    }

    /// The profile with the given OpenSSL name, or nil for one this library does not implement.
    public init?(openSSLName: String) {
        guard let profile = Self.allCases.first(where: { $0.openSSLName == openSSLName }) else { return nil }
        self = profile
    }
}
