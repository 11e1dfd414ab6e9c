#ifndef SKYLARK_DTLS_RECORD_H
#define SKYLARK_DTLS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

/* Authenticates received DTLS 1.2 records of the current epoch before OpenSSL sees them.
 *
 * RFC 6347 §4.1.2.7 says invalid records are silently discarded, but how OpenSSL 3.0 reacts to a short or
 * forged record after the handshake varies between patch releases (some end the association with a fatal
 * error). Checking the AEAD tag here first means only records the peer really sent reach OpenSSL, whatever
 * its version does with the rest. */

typedef struct {
    EVP_CIPHER_CTX *context;
    int chacha;          /* 1: ChaCha20-Poly1305 (RFC 7905), 0: AES-GCM (RFC 5288) */
    uint8_t iv[12];      /* the peer's write IV: 4-byte salt for AES-GCM, 12 bytes for ChaCha20-Poly1305 */
} skylark_dtls_record_opener;

/// Derives the peer's write key and IV for the negotiated cipher suite from the session's master secret
/// (RFC 5246 §6.3). `we_are_server` picks the client's write keys. Returns 1, or 0 when the cipher suite is not
/// an AEAD this knows (the opener is then unusable) or derivation failed.
int skylark_dtls_record_opener_init(skylark_dtls_record_opener *opener, SSL *ssl, int we_are_server);
/// 1 when `record` (13-byte header and its body, exactly) carries a valid AEAD tag, else 0. Never reads
/// outside `record`.
int skylark_dtls_record_opener_authenticates(skylark_dtls_record_opener *opener, const uint8_t *record,
                                             size_t length);
/// Frees the cipher context and overwrites the keys.
void skylark_dtls_record_opener_free(skylark_dtls_record_opener *opener);

#endif
