#include "skylark_dtls_record.h"
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <string.h>

enum { header_length = 13, tag_length = 16, gcm_explicit_nonce_length = 8 };

/* TLS 1.2 PRF (RFC 5246 §5) with the suite's hash: key_block = PRF(master, "key expansion", server || client). */
static int key_block(SSL *ssl, const EVP_MD *digest, uint8_t *out, size_t length) {
    uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
    size_t master_length = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof master);
    uint8_t seed[13 + 2 * SSL3_RANDOM_SIZE];
    memcpy(seed, "key expansion", 13);
    if (master_length == 0 || SSL_get_server_random(ssl, seed + 13, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE
        || SSL_get_client_random(ssl, seed + 13 + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE) {
        return 0;
    }
    int ok = 0;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
    EVP_KDF_CTX *context = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (context) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(digest), 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, master_length),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_KDF_derive(context, out, length, params) == 1;
    }
    EVP_KDF_CTX_free(context);
    EVP_KDF_free(kdf);
    OPENSSL_cleanse(master, sizeof master);
    return ok;
}

int skylark_dtls_record_opener_init(skylark_dtls_record_opener *opener, SSL *ssl, int we_are_server) {
    memset(opener, 0, sizeof *opener);
    const SSL_CIPHER *suite = SSL_get_current_cipher(ssl);
    if (!suite) return 0;
    const EVP_CIPHER *cipher;
    size_t key_length, iv_length;
    switch (SSL_CIPHER_get_cipher_nid(suite)) {
    case NID_aes_128_gcm: cipher = EVP_aes_128_gcm(); key_length = 16; iv_length = 4; break;
    case NID_aes_256_gcm: cipher = EVP_aes_256_gcm(); key_length = 32; iv_length = 4; break;
    case NID_chacha20_poly1305: cipher = EVP_chacha20_poly1305(); key_length = 32; iv_length = 12;
        opener->chacha = 1; break;
    default: return 0;
    }
    const EVP_MD *digest = SSL_CIPHER_get_handshake_digest(suite);
    /* AEAD suites have no MAC keys: client key, server key, client IV, server IV. */
    uint8_t block[2 * 32 + 2 * 12];
    size_t block_length = 2 * key_length + 2 * iv_length;
    if (!digest || !key_block(ssl, digest, block, block_length)) return 0;
    const uint8_t *key = we_are_server ? block : block + key_length;
    const uint8_t *iv = block + 2 * key_length + (we_are_server ? 0 : iv_length);
    memcpy(opener->iv, iv, iv_length);
    opener->context = EVP_CIPHER_CTX_new();
    int ok = opener->context
        && EVP_DecryptInit_ex(opener->context, cipher, NULL, NULL, NULL) == 1
        && EVP_CIPHER_CTX_ctrl(opener->context, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1
        && EVP_DecryptInit_ex(opener->context, NULL, NULL, key, NULL) == 1;
    OPENSSL_cleanse(block, sizeof block);
    if (!ok) skylark_dtls_record_opener_free(opener);
    return ok;
}

int skylark_dtls_record_opener_authenticates(skylark_dtls_record_opener *opener, const uint8_t *record,
                                             size_t length) {
    if (!opener->context || length < header_length) return 0;
    const uint8_t *body = record + header_length;
    size_t body_length = length - header_length;
    size_t overhead = tag_length + (opener->chacha ? 0 : gcm_explicit_nonce_length);
    if (body_length < overhead || ((size_t)record[11] << 8 | record[12]) != body_length) return 0;
    size_t plaintext_length = body_length - overhead;

    uint8_t nonce[12];
    const uint8_t *sequence = record + 3; /* epoch (2) and sequence number (6): RFC 6347 §4.1 */
    if (opener->chacha) {
        /* RFC 7905 §2: the 64-bit sequence number, left-padded, XORed into the IV. */
        memcpy(nonce, opener->iv, 12);
        for (int i = 0; i < 8; i++) nonce[4 + i] ^= sequence[i];
    } else {
        /* RFC 5288 §3: the implicit salt, then the explicit nonce carried at the start of the body. */
        memcpy(nonce, opener->iv, 4);
        memcpy(nonce + 4, body, gcm_explicit_nonce_length);
        body += gcm_explicit_nonce_length;
    }
    /* RFC 5246 §6.2.3.3 with the DTLS sequence number: seq_num, type, version, plaintext length. */
    uint8_t aad[13];
    memcpy(aad, sequence, 8);
    aad[8] = record[0];
    aad[9] = record[1];
    aad[10] = record[2];
    aad[11] = (uint8_t)(plaintext_length >> 8);
    aad[12] = (uint8_t)plaintext_length;

    EVP_CIPHER_CTX *context = opener->context;
    int out_length = 0;
    uint8_t scratch[512];
    if (EVP_DecryptInit_ex(context, NULL, NULL, NULL, nonce) != 1
        || EVP_DecryptUpdate(context, NULL, &out_length, aad, sizeof aad) != 1) {
        return 0;
    }
    /* Decrypt in pieces into a scratch buffer: only the tag matters, OpenSSL decrypts the record again. */
    for (size_t offset = 0; offset < plaintext_length;) {
        size_t piece = plaintext_length - offset < sizeof scratch ? plaintext_length - offset : sizeof scratch;
        if (EVP_DecryptUpdate(context, scratch, &out_length, body + offset, (int)piece) != 1) return 0;
        offset += piece;
    }
    if (EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, tag_length, (void *)(body + plaintext_length)) != 1) {
        return 0;
    }
    int authentic = EVP_DecryptFinal_ex(context, scratch, &out_length) == 1;
    OPENSSL_cleanse(scratch, sizeof scratch);
    return authentic;
}

void skylark_dtls_record_opener_free(skylark_dtls_record_opener *opener) {
    EVP_CIPHER_CTX_free(opener->context);
    OPENSSL_cleanse(opener, sizeof *opener);
}
