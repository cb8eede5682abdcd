#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>

/* Wrappers for OpenSSL's function-like macros, which Swift cannot import. Prefixed mg_. */

static inline long mg_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long mg_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long mg_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline void mg_SSL_CTX_set_read_ahead(SSL_CTX *ctx, int yes) { SSL_CTX_set_read_ahead(ctx, yes); }
static inline long mg_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return SSL_CTX_set1_groups_list(ctx, list);
}
static inline long mg_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long mg_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *cert) { return SSL_CTX_add1_chain_cert(ctx, cert); }
static inline long mg_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/* The key-exchange group of the last handshake (a NID; 0 when none was negotiated). */
static inline int mg_SSL_get_negotiated_group(SSL *ssl) { return (int)SSL_get_negotiated_group(ssl); }
/* Frees a certificate stack and releases each certificate's reference. */
static inline void mg_sk_X509_pop_free(STACK_OF(X509) *chain) { sk_X509_pop_free(chain, X509_free); }

static inline int mg_BIO_pending(BIO *bio) { return BIO_pending(bio); }
/* A memory BIO's read result when empty: -1 (retry, more may come) or 0 (end of stream). */
static inline long mg_BIO_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }

static inline int mg_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline int mg_sk_X509_num(const STACK_OF(X509) *chain) { return sk_X509_num(chain); }
/* Objects (certificates, CRLs) held by a certificate store. */
static inline int mg_X509_STORE_object_count(X509_STORE *store) { return sk_X509_OBJECT_num(X509_STORE_get0_objects(store)); }
static inline X509 *mg_sk_X509_value(const STACK_OF(X509) *chain, int i) { return sk_X509_value(chain, i); }
static inline GENERAL_NAME *mg_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int i) {
    return sk_GENERAL_NAME_value(names, i);
}

#if defined(__linux__)
#include <stddef.h>
#include <linux/tls.h>
/* MeshgateTLS serializes these byte for byte (KTLSKeys.cryptoInfo); pin the layout it assumes. */
_Static_assert(sizeof(struct tls12_crypto_info_aes_gcm_128) == 40, "tls12_crypto_info_aes_gcm_128 size");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_128, iv) == 4, "aes_gcm_128 iv offset");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_128, key) == 12, "aes_gcm_128 key offset");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_128, salt) == 28, "aes_gcm_128 salt offset");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_128, rec_seq) == 32, "aes_gcm_128 rec_seq offset");
_Static_assert(sizeof(struct tls12_crypto_info_aes_gcm_256) == 56, "tls12_crypto_info_aes_gcm_256 size");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_256, key) == 12, "aes_gcm_256 key offset");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_256, salt) == 44, "aes_gcm_256 salt offset");
_Static_assert(offsetof(struct tls12_crypto_info_aes_gcm_256, rec_seq) == 48, "aes_gcm_256 rec_seq offset");
#endif
