import COpenSSL
import SkylarkBase

/// A private key and its self-signed X.509 certificate, as WebRTC uses for DTLS (RFC 8827 §6.5): ECDSA P-256,
/// identified to the peer only by its fingerprint in SDP.
///
/// Immutable once built, so one certificate can serve every connection of a process from any thread.
public final class DTLSCertificate: @unchecked Sendable {
    let key: OpaquePointer
    let certificate: OpaquePointer
    /// The SHA-256 fingerprint to put in `a=fingerprint`.
    public let fingerprint: CertificateFingerprint

    /// Generates a fresh ECDSA P-256 key and a self-signed certificate valid from a day ago for `validDays` days.
    public init(commonName: String = "skylark", validDays: Int = 30) throws(DTLSError) {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .setupFailed(DTLSError.openSSLErrors("EVP_PKEY_CTX_new_from_name"))
        }
        defer { EVP_PKEY_CTX_free(context) }
        var generated: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
              EVP_PKEY_generate(context, &generated) == 1, let key = generated else {
            throw .setupFailed(DTLSError.openSSLErrors("ECDSA P-256 key generation"))
        }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw .setupFailed(DTLSError.openSSLErrors("X509_new"))
        }
        let serial = UInt64.random(in: 1...UInt64(Int64.max))
        let ok: Bool = {
            guard X509_set_version(x509, 2) == 1,
                  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial) == 1,
                  X509_gmtime_adj(X509_getm_notBefore(x509), -86_400) != nil,
                  X509_gmtime_adj(X509_getm_notAfter(x509), validDays * 86_400) != nil,
                  X509_set_pubkey(x509, key) == 1,
                  let name = X509_get_subject_name(x509) else { return false }
            let added = commonName.withCString { cn in
                cn.withMemoryRebound(to: UInt8.self, capacity: commonName.utf8.count) {
                    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, $0, -1, -1, 0)
                }
            }
            return added == 1 && X509_set_issuer_name(x509, name) == 1 && X509_sign(x509, key, EVP_sha256()) > 0
        }()
        guard ok else {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw .setupFailed(DTLSError.openSSLErrors("self-signed certificate"))
        }
        self.key = key
        self.certificate = x509
        guard let fingerprint = DTLSCertificate.fingerprint(of: x509, algorithm: "sha-256") else {
            throw .setupFailed("cannot hash the certificate")
        }
        self.fingerprint = fingerprint
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// The digest of a DER certificate with the named hash (sha-1, sha-224, sha-256, sha-384, sha-512).
    static func fingerprint(of x509: OpaquePointer, algorithm: String) -> CertificateFingerprint? {
        let md: OpaquePointer?
        switch algorithm.lowercased() {
        case "sha-1": md = EVP_sha1()
        case "sha-224": md = EVP_sha224()
        case "sha-256": md = EVP_sha256()
        case "sha-384": md = EVP_sha384()
        case "sha-512": md = EVP_sha512()
        default: return nil
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, md, &digest, &length) == 1 else { return nil }
        return CertificateFingerprint(algorithm: algorithm, bytes: Array(digest.prefix(Int(length))))
    }
}
