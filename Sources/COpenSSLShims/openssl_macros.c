#include "COpenSSLShims.h"
#include <pthread.h>
#include <sys/time.h>

long skylark_dtls_get_timeout_ms(SSL *ssl) {
    struct timeval tv;
    if (DTLSv1_get_timeout(ssl, &tv) != 1) return -1;
    return (long)tv.tv_sec * 1000 + (long)(tv.tv_usec / 1000);
}

int skylark_dtls_handle_timeout(SSL *ssl) { return (int)DTLSv1_handle_timeout(ssl); }

size_t skylark_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }

void skylark_bio_set_mem_eof_return(BIO *bio, int value) { BIO_set_mem_eof_return(bio, value); }

void skylark_ssl_ctx_set_dtls_options(SSL_CTX *ctx) {
    /* No renegotiation: WebRTC never renegotiates DTLS, and a ClientHello on an established association is
       then answered with a no_renegotiation warning instead of a second handshake (RFC 5746 §4.5). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    /* Idle connections keep no read/write buffers: after the handshake DTLS carries almost nothing
       (media is SRTP), and a server holds thousands of them. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

void skylark_ssl_set_mtu(SSL *ssl, long mtu) {
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, mtu);
    SSL_set_mtu(ssl, mtu);
}

void skylark_ssl_ctx_set_read_ahead(SSL_CTX *ctx, int yes) { SSL_CTX_set_read_ahead(ctx, yes); }

int skylark_ssl_ctx_require_dtls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
}

int skylark_ssl_ctx_set_groups(SSL_CTX *ctx, const char *groups) {
    return (int)SSL_CTX_set1_groups_list(ctx, groups);
}

static int skylark_timer_index = -1;

static unsigned int skylark_dtls_timer(SSL *ssl, unsigned int previous_us) {
    if (previous_us == 0) {
        void *initial = SSL_get_ex_data(ssl, skylark_timer_index);
        return (unsigned int)(uintptr_t)initial * 1000u;
    }
    unsigned int next = previous_us * 2;
    return next > 4000000u ? 4000000u : next;
}

static pthread_once_t skylark_timer_once = PTHREAD_ONCE_INIT;
static void skylark_timer_index_init(void) {
    skylark_timer_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void skylark_dtls_set_initial_timeout(SSL *ssl, unsigned int initial_ms) {
    pthread_once(&skylark_timer_once, skylark_timer_index_init);
    SSL_set_ex_data(ssl, skylark_timer_index, (void *)(uintptr_t)initial_ms);
    DTLS_set_timer_cb(ssl, skylark_dtls_timer);
}
