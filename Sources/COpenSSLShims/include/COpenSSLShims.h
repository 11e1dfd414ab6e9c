#ifndef COPENSSL_SHIMS_H
#define COPENSSL_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include "skylark_hmac_sha1.h"
#include "skylark_dtls_record.h"

/* OpenSSL function-like macros are invisible to Swift; these wrap them. */

/// DTLSv1_get_timeout: milliseconds until the next retransmission, or -1 when no timer runs.
long skylark_dtls_get_timeout_ms(SSL *ssl);
/// DTLSv1_handle_timeout.
int skylark_dtls_handle_timeout(SSL *ssl);
/// BIO_ctrl_pending.
size_t skylark_bio_pending(BIO *bio);
/// BIO_set_mem_eof_return(bio, -1) so an empty memory BIO reads as "retry", not EOF.
void skylark_bio_set_mem_eof_return(BIO *bio, int value);
/// SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION) and
/// SSL_MODE_RELEASE_BUFFERS.
void skylark_ssl_ctx_set_dtls_options(SSL_CTX *ctx);
/// DTLS_set_link_mtu / SSL_set_mtu with SSL_OP_NO_QUERY_MTU.
void skylark_ssl_set_mtu(SSL *ssl, long mtu);
/// SSL_CTX_set_read_ahead.
void skylark_ssl_ctx_set_read_ahead(SSL_CTX *ctx, int yes);

/// SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION).
int skylark_ssl_ctx_require_dtls12(SSL_CTX *ctx);
/// SSL_CTX_set1_groups_list.
int skylark_ssl_ctx_set_groups(SSL_CTX *ctx, const char *groups);
/// Installs a DTLS retransmission timer that starts at `initial_ms` and doubles up to 4 s (RFC 6347 §4.2.4.1
/// allows a shorter first timer; WebRTC peers commonly start well under OpenSSL's default 1 s).
void skylark_dtls_set_initial_timeout(SSL *ssl, unsigned int initial_ms);

#endif
