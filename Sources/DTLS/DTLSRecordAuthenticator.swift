import COpenSSLShims

/// Checks the AEAD tag of each received record of the established epoch with the peer's write key, before
/// OpenSSL reads it.
///
/// RFC 6347 §4.1.2.7 has invalid records silently discarded, but OpenSSL 3.0 patch releases differ in what a
/// short or forged record does to an established association (some end it). With this check only records the
/// peer really sent reach OpenSSL, so its version no longer matters. The check is stateless: OpenSSL still does
/// replay detection and decryption. Post-handshake DTLS is rare (media is SRTP), so checking twice costs little.
final class DTLSRecordAuthenticator {
    private var opener = skylark_dtls_record_opener()

    /// Derives the peer's record key from the handshake's master secret; nil when the suite is not an AEAD
    /// (the context only offers AEAD suites) or derivation failed.
    init?(ssl: OpaquePointer, isServer: Bool) {
        guard skylark_dtls_record_opener_init(&opener, ssl, isServer ? 1 : 0) == 1 else { return nil }
    }

    deinit { skylark_dtls_record_opener_free(&opener) }

    /// True when `record` (header and body, exactly) carries a valid tag.
    func authenticates(_ record: UnsafeRawBufferPointer) -> Bool {
        guard let base = record.baseAddress else { return false }
        return skylark_dtls_record_opener_authenticates(&opener, base.assumingMemoryBound(to: UInt8.self),
                                                        record.count) == 1
    }
}
