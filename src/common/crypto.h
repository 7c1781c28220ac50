/* crypto.h: the server's keys and the two crypto operations of the
 * credential chain (docs/contract.md §6, 7).
 *  - Ed25519 event signing (libsodium; mbedTLS 2.28 has no Ed25519).
 *  - AES-256-GCM secret encryption with the NSK, zero nonce, no AAD, Go's
 *    Seal layout ct||tag (libsodium where the CPU has AES-NI, else mbedTLS
 *    GCM, which is bit-identical).
 * mk_keys is immutable after mk_keys_init; all functions are reentrant. */
#ifndef MK_CRYPTO_H
#define MK_CRYPTO_H

#include <stddef.h>

#define MK_NSK "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
#define MK_BEARER_TOKEN "e2e-local-bearer-token"

typedef struct mk_keys {
    unsigned char sk[64];  /* libsodium secret key (seed || public) */
    unsigned char pk[32];
    char pk_b64[45];       /* base64 std, padded */
    char secret_ct_b64[64];/* base64 of AES-GCM(NSK, bearer token) */
} mk_keys;

/* Creates the key pair: from seed_file if it exists (32 raw bytes), else a
 * fresh random one, which is then written to seed_file when given (0600).
 * Returns a MOCKAPI_E* code, reason in err. */
int mk_keys_init(mk_keys *k, const char *seed_file, char *err, size_t errlen);

/* Base64 (std, padded, 88 chars + NUL) of the Ed25519 signature of msg. */
void mk_sign_b64(const mk_keys *k, const void *msg, size_t n, char out[89]);

/* AES-256-GCM with a zero 12-byte nonce: ct receives n + 16 bytes. 0 / -1. */
int mk_gcm_seal(const unsigned char key[32], const void *pt, size_t n, unsigned char *ct);
/* Opens ct||tag (n >= 16) into pt (n - 16 bytes) with the given nonce. 0 / -1. */
int mk_gcm_open(const unsigned char key[32], const unsigned char nonce[12], const unsigned char *ct,
                size_t n, unsigned char *pt);

/* Base64 std with padding; out needs 4*ceil(n/3)+1 bytes. */
void mk_b64_encode(const void *in, size_t n, char *out);
/* Strict base64 std decode; returns the length or -1. out needs n/4*3+3 bytes. */
long mk_b64_decode(const char *in, size_t n, unsigned char *out);

#endif
