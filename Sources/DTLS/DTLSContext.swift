import COpenSSL
import COpenSSLShims

/// An SRTP protection profile as negotiated by the DTLS `use_srtp` extension (RFC 5764 §4.1.2).
public struct DTLSSRTPProfile: Hashable, Sendable, CustomStringConvertible {
    /// The IANA identifier (0x0001, 0x0007 ...).
    public var id: UInt16
    /// OpenSSL's name for it.
    public var name: String
    /// Master key and salt lengths in bytes (RFC 5764 §4.1.2, RFC 7714 §12).
    public var keyLength: Int
    public var saltLength: Int

    /// SRTP_AES128_CM_HMAC_SHA1_80.
    public static let aes128CmSha1_80 = DTLSSRTPProfile(id: 0x0001, name: "SRTP_AES128_CM_SHA1_80", keyLength: 16, saltLength: 14)
    /// SRTP_AEAD_AES_128_GCM.
    public static let aeadAes128Gcm = DTLSSRTPProfile(id: 0x0007, name: "SRTP_AEAD_AES_128_GCM", keyLength: 16, saltLength: 12)

    /// The profiles this stack supports, most preferred first.
    public static let supported: [DTLSSRTPProfile] = [.aeadAes128Gcm, .aes128CmSha1_80]

    /// Bytes to export for this profile: both directions' keys and salts (RFC 5764 §4.2).
    public var keyingMaterialLength: Int { 2 * (keyLength + saltLength) }

    public var description: String { name }
}

/// Shared DTLS settings for many connections: the local certificate, DTLS 1.2 only, ECDHE AEAD ciphers and the
/// SRTP profiles. Building an `SSL_CTX` is costly, so a process makes one and shares it (it is thread-safe in
/// OpenSSL once configured).
public final class DTLSContext: @unchecked Sendable {
    let context: OpaquePointer
    /// The certificate every connection from this context presents.
    public let certificate: DTLSCertificate
    /// Offered SRTP profiles in preference order.
    public let srtpProfiles: [DTLSSRTPProfile]

    /// The cipher suites offered, in preference order. AEAD suites only (RFC 8827 §6.5 requires
    /// ECDHE-ECDSA-AES128-GCM-SHA256): their records are authenticated before OpenSSL reads them
    /// (`DTLSRecordAuthenticator`), which CBC suites would defeat.
    static let cipherSuites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-CHACHA20-POLY1305"

    public convenience init(certificate: DTLSCertificate,
                            srtpProfiles: [DTLSSRTPProfile] = DTLSSRTPProfile.supported) throws(DTLSError) {
        try self.init(certificate: certificate, srtpProfiles: srtpProfiles, cipherSuites: Self.cipherSuites)
    }

    /// `cipherSuites` narrows the offer (tests pin one suite with it).
    init(certificate: DTLSCertificate, srtpProfiles: [DTLSSRTPProfile], cipherSuites: String) throws(DTLSError) {
        guard let context = SSL_CTX_new(DTLS_method()) else {
            throw .setupFailed(DTLSError.openSSLErrors("SSL_CTX_new"))
        }
        self.context = context
        self.certificate = certificate
        self.srtpProfiles = srtpProfiles
        let profileList = srtpProfiles.map(\.name).joined(separator: ":")
        guard SSL_CTX_use_certificate(context, certificate.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, certificate.key) == 1,
              SSL_CTX_check_private_key(context) == 1,
              skylark_ssl_ctx_require_dtls12(context) == 1,
              // P-224 too: FFmpeg's WHIP muxer signs its certificate with a secp224r1 key, and in DTLS 1.2 the
              // peer's certificate curve must be one of our groups (RFC 8422 §5.1).
              skylark_ssl_ctx_set_groups(context, "X25519:P-256:P-384:P-521:P-224") == 1,
              SSL_CTX_set_cipher_list(context, cipherSuites) == 1,
              // SSL_CTX_set_tlsext_use_srtp returns 0 on success.
              SSL_CTX_set_tlsext_use_srtp(context, profileList) == 0 else {
            let reason = DTLSError.openSSLErrors("DTLS context")
            SSL_CTX_free(context)
            throw .setupFailed(reason)
        }
        // Peers use self-signed certificates: accept any chain here and check the SDP fingerprint once the
        // handshake is done (RFC 8827 §6.5). Requesting the client's certificate is mandatory in WebRTC.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        skylark_ssl_ctx_set_dtls_options(context)
    }

    /// A context with a freshly generated certificate.
    public convenience init() throws(DTLSError) {
        try self.init(certificate: DTLSCertificate())
    }

    deinit { SSL_CTX_free(context) }
}
