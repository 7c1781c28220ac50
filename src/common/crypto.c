/* crypto.c: keys, signing and the secret cipher; see crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/gcm.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mockapi.h"

void mk_b64_encode(const void *in, size_t n, char *out)
{
    sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), in, n,
                      sodium_base64_VARIANT_ORIGINAL);
}

long mk_b64_decode(const char *in, size_t n, unsigned char *out)
{
    size_t len = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, n / 4 * 3 + 3, in, n, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || end != in + n)
        return -1;
    return (long)len;
}

static int read_seed(const char *path, unsigned char seed[32], char *err, size_t errlen)
{
    char eb[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "signing key file %s: %s", path, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    unsigned char buf[33];
    ssize_t got = read(fd, buf, sizeof buf);
    int rerr = errno;
    close(fd);
    if (got < 0) { /* a folder (EISDIR) or an I/O error: say which */
        snprintf(err, errlen, "signing key file %s: %s", path, strerror_r(rerr, eb, sizeof eb));
        return MOCKAPI_EINVAL;
    }
    if (got != 32) {
        snprintf(err, errlen, "signing key file %s: expected 32 bytes, found %s", path,
                 got > 32 ? "more" : "fewer");
        return MOCKAPI_EINVAL;
    }
    memcpy(seed, buf, 32);
    sodium_memzero(buf, sizeof buf);
    return 1;
}

static int write_seed(const char *path, const unsigned char seed[32], char *err, size_t errlen)
{
    char eb[128];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "signing key file %s: %s", path, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    ssize_t put = write(fd, seed, 32);
    int bad = put != 32 || fsync(fd) != 0;
    close(fd);
    if (bad) {
        unlink(path);
        snprintf(err, errlen, "signing key file %s: write failed", path);
        return MOCKAPI_EIO;
    }
    return MOCKAPI_OK;
}

int mk_keys_init(mk_keys *k, const char *seed_file, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return MOCKAPI_ECRYPTO;
    }
    unsigned char seed[32];
    int have = 0;
    if (seed_file) {
        have = read_seed(seed_file, seed, err, errlen);
        if (have < 0)
            return have;
    }
    if (!have) {
        randombytes_buf(seed, sizeof seed);
        if (seed_file) {
            int rc = write_seed(seed_file, seed, err, errlen);
            if (rc != MOCKAPI_OK) {
                sodium_memzero(seed, sizeof seed);
                return rc;
            }
        }
    }
    int rc = crypto_sign_ed25519_seed_keypair(k->pk, k->sk, seed);
    sodium_memzero(seed, sizeof seed);
    if (rc != 0) {
        snprintf(err, errlen, "Ed25519 key generation failed");
        return MOCKAPI_ECRYPTO;
    }
    mk_b64_encode(k->pk, sizeof k->pk, k->pk_b64);

    const char *tok = MK_BEARER_TOKEN;
    unsigned char ct[sizeof MK_BEARER_TOKEN - 1 + 16];
    if (mk_gcm_seal((const unsigned char *)MK_NSK, tok, strlen(tok), ct) != 0) {
        snprintf(err, errlen, "AES-256-GCM failed");
        return MOCKAPI_ECRYPTO;
    }
    mk_b64_encode(ct, sizeof ct, k->secret_ct_b64);
    return MOCKAPI_OK;
}

void mk_sign_b64(const mk_keys *k, const void *msg, size_t n, char out[89])
{
    unsigned char sig[crypto_sign_ed25519_BYTES];
    crypto_sign_ed25519_detached(sig, NULL, msg, n, k->sk);
    mk_b64_encode(sig, sizeof sig, out);
}

/* libsodium's AES-GCM needs AES-NI (and sodium_init, which is idempotent and
 * thread-safe, to have probed for it); mbedTLS is the bit-identical fallback. */
static int sodium_aes(void)
{
    return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
}

int mk_gcm_seal(const unsigned char key[32], const void *pt, size_t n, unsigned char *ct)
{
    static const unsigned char zero_nonce[12];
    if (sodium_aes()) {
        unsigned long long clen = 0;
        return crypto_aead_aes256gcm_encrypt(ct, &clen, pt, n, NULL, 0, NULL, zero_nonce, key);
    }
    mbedtls_gcm_context g;
    mbedtls_gcm_init(&g);
    int rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
    if (rc == 0)
        rc = mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, n, zero_nonce, 12, NULL, 0, pt, ct,
                                       16, ct + n);
    mbedtls_gcm_free(&g);
    return rc == 0 ? 0 : -1;
}

int mk_gcm_open(const unsigned char key[32], const unsigned char nonce[12], const unsigned char *ct,
                size_t n, unsigned char *pt)
{
    if (n < 16)
        return -1;
    if (sodium_aes()) {
        unsigned long long plen = 0;
        return crypto_aead_aes256gcm_decrypt(pt, &plen, NULL, ct, n, NULL, 0, nonce, key) == 0 ? 0 : -1;
    }
    mbedtls_gcm_context g;
    mbedtls_gcm_init(&g);
    int rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
    if (rc == 0)
        rc = mbedtls_gcm_auth_decrypt(&g, n - 16, nonce, 12, NULL, 0, ct + n - 16, 16, ct, pt);
    mbedtls_gcm_free(&g);
    return rc == 0 ? 0 : -1;
}
