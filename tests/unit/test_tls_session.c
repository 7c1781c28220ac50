/* test_tls_session.c: non-blocking TLS sessions (tls_session.c) against an
 * mbedTLS client in the same thread, over a non-blocking socketpair. Each
 * side is stepped in turn until both are done: no threads (but one test),
 * no sleeps, and a step bound so that a stuck exchange fails instead of
 * hanging. The certificates are certs.c's, and the client verifies them
 * (CA, host name localhost), so the chain is checked as well. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "certs.h"
#include "tls_session.h"
#include "unit.h"

enum { MAX_STEPS = 10000 };

typedef struct fixture {
    mk_tls_job *job;
    const mk_tls *tls;
    mk_tls_server *srv;
} fixture;

/* An mbedTLS client on one end of the pair. */
typedef struct client {
    int fd;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
} client;

/* A connected pair: fds[0] for the session under test, fds[1] the client's */
typedef struct conn {
    int fds[2];
    mk_tls_session *s;
    client *c;
} conn;

static int cli_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int cli_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

/* A client that requires the server's chain to verify against ca_pem for
 * host name "localhost"; tls12_only caps it at TLS 1.2 (else the build's
 * newest version). Returns NULL on any setup failure. */
static client *client_new(int fd, const char *ca_pem, int tls12_only)
{
    client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_ssl_init(&c->ssl);
    int rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, NULL, 0);
    if (rc == 0)
        rc = mbedtls_x509_crt_parse(&c->ca, (const unsigned char *)ca_pem, strlen(ca_pem) + 1);
    if (rc == 0)
        rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc == 0) {
        mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        if (tls12_only) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
            mbedtls_ssl_conf_max_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
            mbedtls_ssl_conf_max_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                         MBEDTLS_SSL_MINOR_VERSION_3);
#endif
        }
        rc = mbedtls_ssl_setup(&c->ssl, &c->conf);
    }
    if (rc == 0)
        rc = mbedtls_ssl_set_hostname(&c->ssl, "localhost");
    if (rc == 0)
        mbedtls_ssl_set_bio(&c->ssl, &c->fd, cli_send, cli_recv, NULL);
    if (rc != 0) {
        mbedtls_ssl_free(&c->ssl);
        mbedtls_ssl_config_free(&c->conf);
        mbedtls_x509_crt_free(&c->ca);
        mbedtls_ctr_drbg_free(&c->drbg);
        mbedtls_entropy_free(&c->entropy);
        free(c);
        return NULL;
    }
    return c;
}

static void client_free(client *c)
{
    if (!c)
        return;
    mbedtls_ssl_free(&c->ssl); /* sends nothing: no close_notify */
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c);
}

static int setup(void **st)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256] = "";
    if (!f || mk_tls_job_new(&f->job) != 0)
        return -1;
    f->tls = mk_tls_job_get(f->job, err, sizeof err);
    if (!f->tls || mk_tls_server_new(&f->srv, f->tls->chain_pem, err, sizeof err) != 0) {
        print_error("setup: %s\n", err);
        return -1;
    }
    *st = f;
    return 0;
}

static int teardown(void **st)
{
    fixture *f = *st;
    mk_tls_server_free(f->srv);
    mk_tls_job_free(f->job);
    free(f);
    return 0;
}

static void conn_open(fixture *f, conn *k, int tls12_only)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, k->fds), 0);
    k->s = mk_tls_session_new(f->srv, k->fds[0]);
    assert_non_null(k->s);
    k->c = client_new(k->fds[1], f->tls->ca_pem, tls12_only);
    assert_non_null(k->c);
}

static void conn_close(conn *k)
{
    mk_tls_session_free(k->s);
    client_free(k->c);
    if (k->fds[0] >= 0)
        close(k->fds[0]);
    if (k->fds[1] >= 0)
        close(k->fds[1]);
}

/* Steps both handshakes until both are done; the server side may only
 * ever say 1 or WANT_*. */
static void handshake_both(conn *k)
{
    int sdone = 0, cdone = 0;
    for (int i = 0; i < MAX_STEPS && !(sdone && cdone); i++) {
        if (!sdone) {
            int r = mk_tls_handshake(k->s);
            if (r == 1)
                sdone = 1;
            else
                assert_true(r == MK_TLS_WANT_READ || r == MK_TLS_WANT_WRITE);
        }
        if (!cdone) {
            int r = mbedtls_ssl_handshake(&k->c->ssl);
            if (r == 0)
                cdone = 1;
            else
                assert_true(r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);
        }
    }
    assert_true(sdone && cdone);
    assert_int_equal(mbedtls_ssl_get_verify_result(&k->c->ssl), 0);
    assert_int_equal(mk_tls_handshake(k->s), 1); /* stays done */
}

/* Client writes all of buf (stepping on WANT_WRITE; nothing drains it, so
 * it must fit the socket buffer). */
static void client_write_all(client *c, const void *buf, size_t len)
{
    size_t off = 0;
    for (int i = 0; i < MAX_STEPS && off < len; i++) {
        int r = mbedtls_ssl_write(&c->ssl, (const unsigned char *)buf + off, len - off);
        if (r > 0)
            off += (size_t)r;
        else
            assert_int_equal(r, MBEDTLS_ERR_SSL_WANT_WRITE);
    }
    assert_int_equal(off, len);
}

/* Client reads what is there into out (cap bytes) until WANT_READ; returns
 * the count. */
static size_t client_drain(client *c, unsigned char *out, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        int r = mbedtls_ssl_read(&c->ssl, out + got, cap - got);
        if (r == MBEDTLS_ERR_SSL_WANT_READ)
            break;
        assert_true(r > 0);
        got += (size_t)r;
    }
    return got;
}

/* Server reads exactly len bytes that are on their way. */
static void server_read_exact(mk_tls_session *s, void *buf, size_t len)
{
    size_t off = 0;
    for (int i = 0; i < MAX_STEPS && off < len; i++) {
        long r = mk_tls_read(s, (char *)buf + off, len - off);
        if (r > 0)
            off += (size_t)r;
        else
            assert_int_equal(r, MK_TLS_WANT_READ);
    }
    assert_int_equal(off, len);
}

static void echo_both_ways(conn *k)
{
    char buf[64];
    client_write_all(k->c, "ping over tls", 13);
    server_read_exact(k->s, buf, 13);
    assert_memory_equal(buf, "ping over tls", 13);
    assert_int_equal(mk_tls_read(k->s, buf, sizeof buf), MK_TLS_WANT_READ);
    assert_int_equal(mk_tls_write(k->s, "pong", 4), 4);
    unsigned char in[64];
    assert_int_equal(client_drain(k->c, in, sizeof in), 4);
    assert_memory_equal(in, "pong", 4);
}

static void test_handshake_and_echo(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    /* the newest version both sides have */
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    assert_string_equal(mbedtls_ssl_get_version(&k.c->ssl), "TLSv1.3");
#else
    assert_string_equal(mbedtls_ssl_get_version(&k.c->ssl), "TLSv1.2");
#endif
    echo_both_ways(&k);
    conn_close(&k);
}

/* On mbedTLS 3.6 the default handshake is TLS 1.3; TLS 1.2 must work too. */
static void test_tls12_client(void **st)
{
    conn k;
    conn_open(*st, &k, 1);
    handshake_both(&k);
    assert_string_equal(mbedtls_ssl_get_version(&k.c->ssl), "TLSv1.2");
    echo_both_ways(&k);
    conn_close(&k);
}

/* A read before the handshake is done drives the handshake. */
static void test_read_drives_handshake(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    char buf[16];
    int cdone = 0;
    long r = MK_TLS_WANT_READ;
    for (int i = 0; i < MAX_STEPS && r < 0; i++) {
        r = mk_tls_read(k.s, buf, sizeof buf);
        if (r < 0)
            assert_true(r == MK_TLS_WANT_READ || r == MK_TLS_WANT_WRITE);
        if (!cdone) {
            int h = mbedtls_ssl_handshake(&k.c->ssl);
            if (h == 0) {
                cdone = 1;
                client_write_all(k.c, "hi", 2);
            }
        }
    }
    assert_int_equal(r, 2);
    assert_memory_equal(buf, "hi", 2);
    conn_close(&k);
}

/* 1 MiB from the server through a small socket buffer: mk_tls_write hits
 * WANT_WRITE many times, the loop offers the same bytes again, and every
 * byte arrives once and in order. */
static void test_large_write_through_want_write(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    int small = 4096;
    assert_int_equal(setsockopt(k.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    enum { BIG = 1 << 20 };
    unsigned char *out = malloc(BIG), *in = malloc(BIG);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < BIG; i++)
        out[i] = (unsigned char)(i * 131 + (i >> 12));
    size_t off = 0, got = 0;
    int wants = 0;
    for (int i = 0; i < 100 * MAX_STEPS && (off < BIG || got < BIG); i++) {
        if (off < BIG) {
            long r = mk_tls_write(k.s, out + off, BIG - off);
            if (r > 0) {
                assert_true(r <= 16384);
                off += (size_t)r;
            } else {
                assert_int_equal(r, MK_TLS_WANT_WRITE);
                wants++;
            }
        }
        got += client_drain(k.c, in + got, BIG - got);
    }
    assert_int_equal(off, BIG);
    assert_int_equal(got, BIG);
    assert_true(wants > 0);
    assert_memory_equal(in, out, BIG);
    free(out);
    free(in);
    conn_close(&k);
}

/* After WANT_WRITE the queued record holds the first bytes offered; a retry
 * from another buffer with the same bytes is accepted, a shorter one is a
 * caller's error. */
/* Client reads all there is; every byte must be c. Returns the count. */
static size_t drain_all_of(client *cl, unsigned char c)
{
    unsigned char sink[4096];
    size_t total = 0, n;
    while ((n = client_drain(cl, sink, sizeof sink)) > 0) {
        for (size_t i = 0; i < n; i++)
            assert_int_equal(sink[i], c);
        total += n;
    }
    return total;
}

static void test_write_retry_rules(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    static unsigned char block[16384];
    memset(block, 'x', sizeof block);
    /* one record's worth: 16384 bytes, or 16383 under TLS 1.3 on 3.6 */
    long record = mk_tls_write(k.s, block, sizeof block);
    assert_int_equal(drain_all_of(k.c, 'x'), record);
    int small = 4096;
    assert_int_equal(setsockopt(k.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    long r = 0, sent = 0;
    for (int i = 0; i < MAX_STEPS; i++) {
        r = mk_tls_write(k.s, block, sizeof block);
        if (r < 0)
            break;
        assert_int_equal(r, record);
        sent += r;
    }
    assert_int_equal(r, MK_TLS_WANT_WRITE);
    assert_true(record > 16000);
    /* A copy of the bytes, longer: only the queued record's count is taken,
     * and no 'y' is ever sent. */
    unsigned char *copy = malloc(2 * sizeof block);
    memcpy(copy, block, sizeof block);
    memset(copy + sizeof block, 'y', sizeof block);
    size_t got = 0;
    for (int i = 0; i < MAX_STEPS && r == MK_TLS_WANT_WRITE; i++) {
        got += drain_all_of(k.c, 'x');
        r = mk_tls_write(k.s, copy, 2 * sizeof block);
    }
    assert_int_equal(r, record);
    got += drain_all_of(k.c, 'x');
    assert_int_equal(got, sent + record);
    /* fill again, then retry shorter than the queued record */
    for (int i = 0; i < MAX_STEPS; i++) {
        r = mk_tls_write(k.s, block, sizeof block);
        if (r < 0)
            break;
    }
    assert_int_equal(r, MK_TLS_WANT_WRITE);
    assert_int_equal(mk_tls_write(k.s, block, 10), MK_TLS_FAIL);
    char why[128];
    assert_int_not_equal(mk_tls_last_error(k.s, why, sizeof why), 0);
    free(copy);
    conn_close(&k);
}

/* A whole record is decrypted at once; what the first read does not take
 * stays inside mbedTLS, where poll cannot see it but pending() can. 16000
 * bytes fit one record under TLS 1.2 and 1.3 alike. */
static void test_pending_after_large_record(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    static unsigned char rec[16000], back[16000];
    for (size_t i = 0; i < sizeof rec; i++)
        rec[i] = (unsigned char)i;
    client_write_all(k.c, rec, sizeof rec);
    assert_int_equal(mk_tls_pending(k.s), 0);
    long r = MK_TLS_WANT_READ;
    for (int i = 0; i < MAX_STEPS && r == MK_TLS_WANT_READ; i++)
        r = mk_tls_read(k.s, back, 100);
    assert_int_equal(r, 100);
    assert_int_equal(mk_tls_pending(k.s), sizeof rec - 100);
    struct pollfd p = {.fd = k.fds[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0); /* the socket itself is empty */
    assert_int_equal(mk_tls_trim(k.s), 0); /* nothing released while bytes wait */
    assert_int_equal(mk_tls_read(k.s, back + 100, sizeof back), (long)(sizeof rec - 100));
    assert_int_equal(mk_tls_pending(k.s), 0);
    assert_memory_equal(back, rec, sizeof rec);
    conn_close(&k);
}

static void test_peer_eof_without_close_notify(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    client_free(k.c); /* no close_notify */
    k.c = NULL;
    close(k.fds[1]);
    k.fds[1] = -1;
    char buf[16], why[128];
    assert_int_equal(mk_tls_read(k.s, buf, sizeof buf), MK_TLS_EOF);
    assert_int_equal(mk_tls_last_error(k.s, why, sizeof why), 0);
    assert_string_equal(why, "");
    conn_close(&k);
}

static void test_close_notify_both_ways(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    /* client -> server */
    assert_int_equal(mbedtls_ssl_close_notify(&k.c->ssl), 0);
    char buf[16];
    assert_int_equal(mk_tls_read(k.s, buf, sizeof buf), MK_TLS_EOF);
    conn_close(&k);

    /* server -> client: freeing the session says close_notify */
    conn_open(*st, &k, 0);
    handshake_both(&k);
    mk_tls_session_free(k.s);
    k.s = NULL;
    unsigned char in[16];
    assert_int_equal(mbedtls_ssl_read(&k.c->ssl, in, sizeof in), MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);
    conn_close(&k);
}

/* Plain HTTP on the TLS port: a failed handshake with a reason, for good. */
static void test_garbage_fails(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    const char req[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(send(k.fds[1], req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
    assert_int_equal(mk_tls_handshake(k.s), MK_TLS_FAIL);
    char why[128];
    assert_int_not_equal(mk_tls_last_error(k.s, why, sizeof why), 0);
    assert_true(why[0] != '\0');
    assert_int_equal(mk_tls_handshake(k.s), MK_TLS_FAIL);
    char buf[8];
    assert_int_equal(mk_tls_read(k.s, buf, sizeof buf), MK_TLS_FAIL);
    assert_int_equal(mk_tls_write(k.s, "x", 1), MK_TLS_FAIL);
    conn_close(&k);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A peer that connects and says nothing: every call returns WANT_READ at
 * once (no spinning inside), and the session is freed cleanly. */
static void test_silent_peer(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    double t0 = now_s();
    for (int i = 0; i < 1000; i++)
        assert_int_equal(mk_tls_handshake(k.s), MK_TLS_WANT_READ);
    /* 1000 calls are 1000 recv()s: milliseconds; a spin would be seconds */
    assert_true(now_s() - t0 < 2.0);
    char buf[8];
    assert_int_equal(mk_tls_read(k.s, buf, sizeof buf), MK_TLS_WANT_READ);
    assert_int_equal(mk_tls_write(k.s, "x", 1), MK_TLS_WANT_READ);
    assert_int_equal(mk_tls_trim(k.s), 0); /* not before the handshake */
    conn_close(&k);
}

/* A trimmed idle session keeps working in both directions. */
static void test_trim_idle_session(void **st)
{
    conn k;
    conn_open(*st, &k, 0);
    handshake_both(&k);
    size_t freed = mk_tls_trim(k.s);
#if !defined(MBEDTLS_PLATFORM_MEMORY) /* where trim does nothing */
    assert_true(freed >= 4096);
#endif
    assert_int_equal(mk_tls_trim(k.s), 0); /* already trimmed, or never */
    echo_both_ways(&k);
    assert_int_equal(mk_tls_trim(k.s), freed); /* I/O since: trims again */
    echo_both_ways(&k);
    conn_close(&k);
}

static void test_server_new_rejects_bad_pem(void **st)
{
    fixture *f = *st;
    mk_tls_server *s = NULL;
    char err[256] = "";
    assert_int_equal(mk_tls_server_new(&s, "not a pem", err, sizeof err), -1);
    assert_null(s);
    assert_true(err[0] != '\0');
    /* certificates without the key */
    err[0] = '\0';
    assert_int_equal(mk_tls_server_new(&s, f->tls->ca_pem, err, sizeof err), -1);
    assert_null(s);
    assert_non_null(strstr(err, "private key"));
    mk_tls_server_free(NULL);
    mk_tls_session_free(NULL);
}

/* Handshakes on several threads at once share one server (its RNG and,
 * on mbedTLS 2.28, its key's curve table). Meant for the tsan build;
 * elsewhere it checks that concurrent handshakes all succeed. */
enum { THREADS = 3, ROUNDS = 4 };
typedef struct worker {
    fixture *f;
    int failures;
} worker;

static void *handshake_worker(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            w->failures++;
            continue;
        }
        mk_tls_session *s = mk_tls_session_new(w->f->srv, fds[0]);
        client *c = client_new(fds[1], w->f->tls->ca_pem, 0);
        int sdone = 0, cdone = 0;
        for (int i = 0; s && c && i < MAX_STEPS && !(sdone && cdone); i++) {
            if (!sdone) {
                int r = mk_tls_handshake(s);
                if (r == 1)
                    sdone = 1;
                else if (r == MK_TLS_FAIL)
                    break;
            }
            if (!cdone) {
                int r = mbedtls_ssl_handshake(&c->ssl);
                if (r == 0)
                    cdone = 1;
                else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
                    break;
            }
        }
        if (!(sdone && cdone) || mk_tls_write(s, "ok", 2) != 2)
            w->failures++;
        mk_tls_session_free(s);
        client_free(c);
        close(fds[0]);
        close(fds[1]);
    }
    return NULL;
}

static void test_concurrent_handshakes(void **st)
{
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.f = *st};
        assert_int_equal(pthread_create(&th[i], NULL, handshake_worker, &w[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0);
}

int run_tls_session_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_echo),
        cmocka_unit_test(test_tls12_client),
        cmocka_unit_test(test_read_drives_handshake),
        cmocka_unit_test(test_large_write_through_want_write),
        cmocka_unit_test(test_write_retry_rules),
        cmocka_unit_test(test_pending_after_large_record),
        cmocka_unit_test(test_peer_eof_without_close_notify),
        cmocka_unit_test(test_close_notify_both_ways),
        cmocka_unit_test(test_garbage_fails),
        cmocka_unit_test(test_silent_peer),
        cmocka_unit_test(test_trim_idle_session),
        cmocka_unit_test(test_server_new_rejects_bad_pem),
        cmocka_unit_test(test_concurrent_handshakes),
    };
    return cmocka_run_group_tests_name("tls_session", tests, setup, teardown);
}
