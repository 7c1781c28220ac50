/* tls_session.c: non-blocking mbedTLS server sessions for the event loops;
 * see tls_session.h.
 *
 * A session is an mbedtls_ssl_context whose BIO callbacks do one send() or
 * recv() on the loop's socket and turn EAGAIN into WANT_WRITE / WANT_READ:
 * mbedTLS then stops where it is and returns, and the loop calls again on
 * the matching epoll event. mbedTLS keeps the handshake state between
 * calls, so nothing here waits or retries except on EINTR.
 *
 * Sharing: mk_tls_server is written only in mk_tls_server_new; afterwards
 * sessions on any thread read its config, certificate chain and key. Two
 * things in it are not read-only by nature, and are made safe here:
 *  - the CTR-DRBG, which every handshake draws from: guarded by rng_lock
 *    (see server_rng);
 *  - on mbedTLS 2.28, the key's elliptic-curve group, which computes its
 *    table of multiples of the generator on first use and stores it in the
 *    group: one signature at creation fills it (see warm_key).
 * Sessions hold no lock and share nothing with one another. */

/* On mbedTLS 3 the fields of mbedtls_ssl_context are private; mk_tls_trim
 * and mk_tls_write read the record buffers and their fill levels (in_buf,
 * out_buf, in_left, out_left), which no accessor exposes. 2.28 has them
 * public and ignores this. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include "tls_session.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "certs.h"

struct mk_tls_server {
    mbedtls_ssl_config conf;   /* immutable after mk_tls_server_new */
    mbedtls_x509_crt chain;    /* leaf, then CA; immutable */
    mbedtls_pk_context key;    /* the leaf's key; immutable after warm_key */
    mbedtls_entropy_context entropy; /* used only by drbg, under rng_lock */
    mbedtls_ctr_drbg_context drbg;   /* rng_lock */
    pthread_mutex_t rng_lock;
};

struct mk_tls_session {
    mbedtls_ssl_context ssl;
    int fd;          /* borrowed; &fd is the BIO context */
    bool done;       /* the handshake finished */
    bool failed;     /* a fatal error happened: every call fails from now on */
    bool trimmed;    /* mk_tls_trim released the buffers' pages; no I/O since */
    int last_err;    /* mbedTLS code of the last failure, 0 for a peer that left */
    size_t wtaken;   /* bytes in the record a WANT_WRITE left queued, else 0 */
};

/* The RNG every session of a server uses (handshake nonces, ECDHE keys,
 * ECDSA blinding). One locked CTR-DRBG rather than one per session: a
 * session's own DRBG (392 bytes) would need seeding at every connection,
 * from the shared entropy source (locked as well) or from an entropy
 * context of its own (38 KB on 2.28), against a lock held for microseconds
 * a few times per handshake. The lock is ours even though Debian builds
 * mbedTLS with MBEDTLS_THREADING_C (which gives the DRBG a mutex of its
 * own), because other builds need not. (TLS 1.3 on mbedTLS 3 makes its
 * ephemeral keys with PSA's internal RNG, which locks itself under
 * MBEDTLS_THREADING_C.) */
static int server_rng(void *arg, unsigned char *out, size_t len)
{
    mk_tls_server *s = arg;
    pthread_mutex_lock(&s->rng_lock);
    int rc = mbedtls_ctr_drbg_random(&s->drbg, out, len);
    pthread_mutex_unlock(&s->rng_lock);
    return rc;
}

/* mbedTLS 2.28 computes the table of multiples of the curve's generator on
 * the first scalar multiplication by it and stores it in the key's group
 * (ecp.c, ecp_mul_comb): two first handshakes on two threads would both
 * write it. One signature here, before the server is shared, fills it;
 * later signatures only read it. mbedTLS 3.6 ships the table as static
 * data, so there is nothing to fill (the signature is still a cheap check
 * that the key works). */
static int warm_key(mk_tls_server *s)
{
    unsigned char hash[32] = {0};
    unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t sig_len = 0;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    return mbedtls_pk_sign(&s->key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, sizeof sig, &sig_len,
                           server_rng, s);
#else
    return mbedtls_pk_sign(&s->key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &sig_len, server_rng,
                           s);
#endif
}

static void set_err(char *err, size_t errlen, const char *step, int rc)
{
    if (!err || !errlen)
        return;
    char why[128] = "";
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(rc, why, sizeof why);
#endif
    snprintf(err, errlen, "TLS %s failed (mbedTLS -0x%04x%s%s)", step, (unsigned)-rc,
             why[0] ? ": " : "", why);
}

int mk_tls_server_new(mk_tls_server **out, const char *chain_pem, char *err, size_t errlen)
{
    mk_tls_server *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "TLS server: out of memory");
        return -1;
    }
    pthread_mutex_init(&s->rng_lock, NULL);
    mbedtls_ssl_config_init(&s->conf);
    mbedtls_x509_crt_init(&s->chain);
    mbedtls_pk_init(&s->key);
    mbedtls_entropy_init(&s->entropy);
    mbedtls_ctr_drbg_init(&s->drbg);

    /* the PEM parsers want the terminating NUL counted in the length */
    size_t pem_len = chain_pem ? strlen(chain_pem) + 1 : 0;
    const unsigned char *pem = (const unsigned char *)chain_pem;
    if (mk_tls_crypto_init() != 0) {
        if (err && errlen)
            snprintf(err, errlen, "TLS server: PSA crypto initialisation failed");
        mk_tls_server_free(s);
        return -1;
    }
    const char *step = "random seed";
    int rc = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
                                   (const unsigned char *)"mockapi-tls-session", 19);
    if (rc == 0) {
        /* x509_crt_parse finds each CERTIFICATE block and skips the key's */
        step = "certificate chain";
        rc = pem ? mbedtls_x509_crt_parse(&s->chain, pem, pem_len)
                 : MBEDTLS_ERR_X509_BAD_INPUT_DATA;
        if (rc > 0) /* that many blocks failed to parse */
            rc = MBEDTLS_ERR_X509_INVALID_FORMAT;
    }
    if (rc == 0) {
        step = "private key";
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        rc = mbedtls_pk_parse_key(&s->key, pem, pem_len, NULL, 0, server_rng, s);
#else
        rc = mbedtls_pk_parse_key(&s->key, pem, pem_len, NULL, 0);
#endif
    }
    if (rc == 0) {
        step = "key check";
        rc = warm_key(s);
    }
    if (rc == 0) {
        step = "configuration";
        rc = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER,
                                         MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    }
    if (rc == 0) {
        mbedtls_ssl_conf_rng(&s->conf, server_rng, s);
        /* TLS 1.2 at least; the maximum stays the build's newest (1.3 on 3.6) */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        mbedtls_ssl_conf_min_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
        mbedtls_ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
#endif
        /* No client certificates (the server default, said out loud), no
         * renegotiation (the default: a client could otherwise make the
         * server redo a handshake mid-connection), no session tickets or
         * cache (none configured): under TLS 1.2 a session keeps nothing
         * after its handshake beyond the record layer (mbedTLS 3.6 keeps
         * its TLS 1.3 handshake state, ~5 KB, until the session is freed). */
        mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_NONE);
        /* Key exchange groups, cheapest first: mbedTLS otherwise prefers the
         * strongest curve both sides have (P-521 with OpenSSL clients), ~5 ms
         * of server CPU per handshake instead of well under one. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        static const uint16_t groups[] = {
            MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
            MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1,
            MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
        mbedtls_ssl_conf_groups(&s->conf, groups);
#else
        static const mbedtls_ecp_group_id curves[] = {
            MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
            MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_NONE};
        mbedtls_ssl_conf_curves(&s->conf, curves);
#endif
        step = "certificate";
        rc = mbedtls_ssl_conf_own_cert(&s->conf, &s->chain, &s->key);
    }
    if (rc != 0) {
        set_err(err, errlen, step, rc);
        mk_tls_server_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void mk_tls_server_free(mk_tls_server *s)
{
    if (!s)
        return;
    mbedtls_ssl_config_free(&s->conf);
    mbedtls_x509_crt_free(&s->chain);
    mbedtls_pk_free(&s->key);
    mbedtls_ctr_drbg_free(&s->drbg);
    mbedtls_entropy_free(&s->entropy);
    pthread_mutex_destroy(&s->rng_lock);
    free(s);
}

/* BIO callbacks: one system call each (EINTR aside). Return a byte count,
 * WANT_* when the socket has no room or no data, or an error code. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    int fd = *(const int *)ctx;
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        if (errno == EPIPE || errno == ECONNRESET)
            return MBEDTLS_ERR_NET_CONN_RESET;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    int fd = *(const int *)ctx;
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return (int)n; /* 0: the peer closed; mbedTLS reports MBEDTLS_ERR_SSL_CONN_EOF */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_READ;
        if (errno == ECONNRESET)
            return MBEDTLS_ERR_NET_CONN_RESET;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

mk_tls_session *mk_tls_session_new(mk_tls_server *s, int fd)
{
    mk_tls_session *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fd = fd;
    mbedtls_ssl_init(&t->ssl);
    /* setup allocates the two record buffers, ~16.7 KB each */
    if (mbedtls_ssl_setup(&t->ssl, &s->conf) != 0) {
        mbedtls_ssl_free(&t->ssl);
        free(t);
        return NULL;
    }
    mbedtls_ssl_set_bio(&t->ssl, &t->fd, bio_send, bio_recv, NULL);
    return t;
}

/* The peer closed, reset or said close_notify: an ordinary end. */
static bool peer_left(int rc)
{
    return rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF ||
           rc == MBEDTLS_ERR_NET_CONN_RESET;
}

/* Maps an mbedTLS failure code; anything but WANT_* is final. */
static int fail_or_want(mk_tls_session *t, int rc)
{
    if (rc == MBEDTLS_ERR_SSL_WANT_READ)
        return MK_TLS_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return MK_TLS_WANT_WRITE;
    t->failed = true;
    t->last_err = peer_left(rc) ? 0 : rc;
    return MK_TLS_FAIL;
}

int mk_tls_handshake(mk_tls_session *t)
{
    if (t->done)
        return 1;
    if (t->failed)
        return MK_TLS_FAIL;
    /* runs handshake steps until one needs the socket, then returns */
    int rc = mbedtls_ssl_handshake(&t->ssl);
    if (rc == 0) {
        t->done = true;
        return 1;
    }
    return fail_or_want(t, rc);
}

long mk_tls_read(mk_tls_session *t, void *buf, size_t len)
{
    if (!t->done) {
        int h = mk_tls_handshake(t);
        if (h != 1)
            return h;
    }
    if (t->failed || len == 0)
        return MK_TLS_FAIL;
    t->trimmed = false;
    int rc = mbedtls_ssl_read(&t->ssl, buf, len > INT_MAX ? INT_MAX : len);
    if (rc > 0)
        return rc;
    if (rc == 0 || peer_left(rc)) {
        t->last_err = 0;
        return MK_TLS_EOF;
    }
    return fail_or_want(t, rc);
}

long mk_tls_write(mk_tls_session *t, const void *buf, size_t len)
{
    if (!t->done) {
        int h = mk_tls_handshake(t);
        if (h != 1)
            return h;
    }
    if (t->failed || len == 0)
        return MK_TLS_FAIL;
    t->trimmed = false;
    int rc;
    if (t->wtaken) {
        /* Our record is queued. A read in between may have pushed it out
         * (mbedTLS flushes pending output before it sends an alert). */
        size_t n = t->wtaken;
        if (t->ssl.out_left == 0) {
            t->wtaken = 0;
            return (long)n;
        }
        if (len < n) {
            t->failed = true;
            t->last_err = MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
            return MK_TLS_FAIL;
        }
        /* with output pending, mbedtls_ssl_write only flushes and then
         * reports n: the bytes in buf are not looked at again */
        rc = mbedtls_ssl_write(&t->ssl, buf, n);
        if (rc >= 0) {
            t->wtaken = 0;
            return (long)n;
        }
        return fail_or_want(t, rc);
    }
    if (t->ssl.out_left != 0) {
        /* Something not ours is queued (an alert a read could not send at
         * once). mbedtls_ssl_write would flush it and claim our bytes sent:
         * flush it alone first (a write of 0 bytes only flushes). */
        rc = mbedtls_ssl_write(&t->ssl, buf, 0);
        if (rc < 0)
            return fail_or_want(t, rc);
    }
    int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
    if (max <= 0)
        return fail_or_want(t, max < 0 ? max : MBEDTLS_ERR_SSL_INTERNAL_ERROR);
    size_t n = len < (size_t)max ? len : (size_t)max;
    rc = mbedtls_ssl_write(&t->ssl, buf, n);
    if (rc >= 0)
        return rc;
    bool want = rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ;
    if (want && t->ssl.out_left != 0)
        t->wtaken = n; /* encrypted into out_buf, partly sent */
    return fail_or_want(t, rc);
}

size_t mk_tls_pending(const mk_tls_session *t)
{
    return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

/* Releases the whole pages of a malloc'd buffer that lie after its first
 * page. The first page keeps the record sequence number (in_ctr is the
 * first 8 bytes of in_buf in TLS, on 2.28 and 3.6 alike). Pages wholly
 * inside the allocation hold only this buffer's bytes, never the
 * allocator's bookkeeping, so zeroing them is invisible to malloc. */
#if !defined(MBEDTLS_PLATFORM_MEMORY)
static size_t release_tail(unsigned char *p)
{
    if (!p)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)p + page) & ~(page - 1);
    uintptr_t to = ((uintptr_t)p + malloc_usable_size(p)) & ~(page - 1);
    if (to <= from || madvise((void *)from, to - from, MADV_DONTNEED) != 0)
        return 0;
    return to - from;
}
#endif

size_t mk_tls_trim(mk_tls_session *t)
{
#if defined(MBEDTLS_PLATFORM_MEMORY)
    /* the buffers may come from an allocator malloc_usable_size knows
     * nothing of (Debian's builds do not enable this) */
    (void)t;
    return 0;
#else
    if (!t || !t->done || t->failed || t->trimmed)
        return 0;
    /* a partial record being read or written, or decrypted bytes unread */
    if (t->ssl.in_left != 0 || t->ssl.out_left != 0 || mbedtls_ssl_check_pending(&t->ssl))
        return 0;
    t->trimmed = true;
    return release_tail(t->ssl.in_buf) + release_tail(t->ssl.out_buf);
#endif
}

int mk_tls_last_error(const mk_tls_session *t, char *buf, size_t buflen)
{
    if (buf && buflen) {
        buf[0] = '\0';
        if (t->last_err) {
#if defined(MBEDTLS_ERROR_C)
            mbedtls_strerror(t->last_err, buf, buflen);
#else
            snprintf(buf, buflen, "mbedTLS -0x%04x", (unsigned)-t->last_err);
#endif
        }
    }
    return t->last_err;
}

void mk_tls_session_drop(mk_tls_session *t)
{
    if (!t)
        return;
    mbedtls_ssl_free(&t->ssl);
    free(t);
}

void mk_tls_session_free(mk_tls_session *t)
{
    if (!t)
        return;
    /* one try: on a full socket the alert is simply not sent */
    if (t->done && !t->failed)
        (void)mbedtls_ssl_close_notify(&t->ssl);
    mbedtls_ssl_free(&t->ssl);
    free(t);
}
