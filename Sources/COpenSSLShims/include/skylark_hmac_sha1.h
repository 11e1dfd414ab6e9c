#ifndef SKYLARK_HMAC_SHA1_H
#define SKYLARK_HMAC_SHA1_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>

/* HMAC-SHA1 with the keyed inner and outer hash states computed once (RFC 2104 §2), for SRTP's per-packet tag.
 * OpenSSL 3.0 re-initialises an HMAC or EVP_MAC context by duplicating its digest context, one malloc per packet;
 * copying these two SHA_CTX values costs nothing. The low-level SHA1 calls are deprecated in 3.0 but are the
 * only allocation-free way to resume a keyed state, so they stay inside this file. */
typedef struct {
    SHA_CTX inner;
    SHA_CTX outer;
} skylark_hmac_sha1_key;

/// Computes the keyed states for `key` (any length; longer than 64 bytes is hashed first, RFC 2104 §2).
void skylark_hmac_sha1_init(skylark_hmac_sha1_key *state, const uint8_t *key, size_t key_length);
/// HMAC-SHA1 over `data` followed by `suffix` (may be NULL when `suffix_length` is 0) into `digest` (20 bytes).
void skylark_hmac_sha1(const skylark_hmac_sha1_key *state, const void *data, size_t length, const void *suffix,
                       size_t suffix_length, uint8_t *digest);
/// Overwrites the keyed states.
void skylark_hmac_sha1_clear(skylark_hmac_sha1_key *state);

#endif
