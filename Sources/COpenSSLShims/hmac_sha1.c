#define OPENSSL_SUPPRESS_DEPRECATED
#include "skylark_hmac_sha1.h"
#include <openssl/crypto.h>
#include <string.h>

void skylark_hmac_sha1_init(skylark_hmac_sha1_key *state, const uint8_t *key, size_t key_length) {
    uint8_t block[SHA_CBLOCK];
    uint8_t pad[SHA_CBLOCK];
    memset(block, 0, sizeof block);
    if (key_length > SHA_CBLOCK) {
        SHA1(key, key_length, block);
    } else if (key_length > 0) {
        memcpy(block, key, key_length);
    }
    for (size_t i = 0; i < SHA_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA1_Init(&state->inner);
    SHA1_Update(&state->inner, pad, SHA_CBLOCK);
    for (size_t i = 0; i < SHA_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA1_Init(&state->outer);
    SHA1_Update(&state->outer, pad, SHA_CBLOCK);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

void skylark_hmac_sha1(const skylark_hmac_sha1_key *state, const void *data, size_t length, const void *suffix,
                       size_t suffix_length, uint8_t *digest) {
    SHA_CTX context = state->inner;
    uint8_t inner[SHA_DIGEST_LENGTH];
    SHA1_Update(&context, data, length);
    if (suffix_length > 0) SHA1_Update(&context, suffix, suffix_length);
    SHA1_Final(inner, &context);
    context = state->outer;
    SHA1_Update(&context, inner, sizeof inner);
    SHA1_Final(digest, &context);
    OPENSSL_cleanse(&context, sizeof context);
}

void skylark_hmac_sha1_clear(skylark_hmac_sha1_key *state) { OPENSSL_cleanse(state, sizeof *state); }
