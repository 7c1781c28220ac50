/* test_transport.c: attacks on the event-loop transport (src/transport/:
 * loop.c, http1.c, tls_session.c) over raw sockets, plain and TLS.
 *
 * Each test plays a client the loop must survive: requests split at every
 * byte, pipelined requests behind a parked /test/wait, waiting clients that
 * leave, bodies on waits, chunked bodies at and over their limits, framing
 * tricks (Transfer-Encoding with Content-Length, HTTP/1.0 with chunked,
 * header lines civetweb's parser would not see), TLS clients that stall,
 * send garbage or try to renegotiate, half-closes, resets, thousands of
 * connections opened and dropped, and stops with all of that in flight.
 * A test that came with a fix says in its comment what failed before it.
 *
 * The TLS client is mbedTLS's, over a non-blocking socket polled with a
 * deadline, so a record boundary is wherever a test puts it (one
 * tc_send, at most 16 KiB, is one record). Nothing sleeps to synchronise:
 * every wait is a poll with a deadline or a loop on a condition with one;
 * the only fixed waits assert that nothing arrives meanwhile.
 *
 * The number of parked waits is read from the instance itself
 * (m->state.waiters, through server.h): a wait whose client left must stop
 * being counted, and nothing outside says so directly. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "harness.h"
#include "server.h"

#define WAIT_MS 5000 /* deadline for things that take microseconds */
#define QUIET_MS 30  /* how long "nothing arrives" is watched for */

#define PING "GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"
#define PING_LEN (sizeof PING - 1)
/* The TLS listener has no /v1/ping (and no /test/wait): its cheapest GET. */
#define TLS_PING "GET /test/assertions HTTP/1.1\r\nHost: x\r\n\r\n"

/* A valid heartbeat body (as in test_keepalive.c): 200, heartbeat_count + 1. */
#define HB_BODY                                                                                    \
    "{\"node_id\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"status\":\"healthy\","           \
    "\"binary_checksum\":\"abc\",\"mesh\":{\"interface\":\"wg0\",\"peer_count\":2,"                \
    "\"listen_port\":51820},\"nat\":{\"public_endpoint\":\"198.51.100.1:51820\","                  \
    "\"type\":\"full_cone\"}}"
#define HB_PATH "/v1/nodes/n1/heartbeat"

/* ---- the TLS client --------------------------------------------------------- */

static struct {
    bool ready;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;       /* any version the build has, no verification */
    mbedtls_ssl_config conf_reneg; /* TLS 1.2 with renegotiation on (the attacker's) */
} tcli;

static void tcli_free(void)
{
    if (!tcli.ready)
        return;
    mbedtls_ssl_config_free(&tcli.conf);
    mbedtls_ssl_config_free(&tcli.conf_reneg);
    mbedtls_ctr_drbg_free(&tcli.drbg);
    mbedtls_entropy_free(&tcli.entropy);
    memset(&tcli, 0, sizeof tcli);
}

static void conf_client(mbedtls_ssl_config *conf)
{
    mbedtls_ssl_config_init(conf);
    assert_int_equal(mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    /* the server's chain is checked elsewhere (tls_* tests); here it is the
     * transport under attack */
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &tcli.drbg);
}

static void tcli_init(void)
{
    if (tcli.ready)
        return;
    mbedtls_entropy_init(&tcli.entropy);
    mbedtls_ctr_drbg_init(&tcli.drbg);
    assert_int_equal(mbedtls_ctr_drbg_seed(&tcli.drbg, mbedtls_entropy_func, &tcli.entropy,
                                           (const unsigned char *)"tr", 2),
                     0);
    conf_client(&tcli.conf);
    conf_client(&tcli.conf_reneg);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_ssl_conf_max_tls_version(&tcli.conf_reneg, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_max_version(&tcli.conf_reneg, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mbedtls_ssl_conf_renegotiation(&tcli.conf_reneg, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
#endif
    tcli.ready = true;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return MBEDTLS_ERR_NET_CONN_RESET;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_READ;
    return MBEDTLS_ERR_NET_CONN_RESET;
}

/* ---- connections, closed by the teardown even when a test fails --------- */

typedef struct tconn {
    bool used;
    int fd; /* non-blocking; -1 when closed */
    bool tls;
    bool ssl_init;
    mbedtls_ssl_context ssl;
    unsigned char *buf; /* received, not consumed, NUL-terminated */
    size_t len, cap;
    bool eof; /* the server closed (EOF, reset, close_notify) */
} tconn;

#define MAX_CONNS 64
static tconn conns[MAX_CONNS];

static void tc_close(tconn *c)
{
    if (!c || !c->used)
        return;
    if (c->ssl_init)
        mbedtls_ssl_free(&c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_CONNS; i++)
        tc_close(&conns[i]);
    mt_server_free_tracked_all();
    tcli_free();
    return 0;
}

/* Waits until fd is ready for ev or the deadline passes: 1 ready, 0 not. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mt_now_ms();
        struct pollfd p = {.fd = fd, .events = ev};
        if (left <= 0)
            return 0;
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 0;
    }
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        fail_msg("fcntl: %s", strerror(errno));
}

/* A connection (no request sent; TLS: handshaken with conf, or only
 * connected when conf is NULL and tls is true). rcvbuf > 0 sets SO_RCVBUF
 * before connecting (a small window: the server's writes block soon). */
static tconn *tc_connect_with(int port, bool tls, mbedtls_ssl_config *conf, int rcvbuf)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        tconn *c = &conns[i];
        if (c->used)
            continue;
        memset(c, 0, sizeof *c);
        c->used = true;
        c->fd = mt_connect_rcvbuf(port, rcvbuf);
        if (c->fd < 0)
            fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
        set_nonblock(c->fd);
        /* small writes go out at once (Nagle would hold a request's second
         * part until the first is acknowledged: a delayed ACK, 40 ms) */
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->tls = tls;
        if (tls && conf) {
            mbedtls_ssl_init(&c->ssl);
            c->ssl_init = true;
            assert_int_equal(mbedtls_ssl_setup(&c->ssl, conf), 0);
            mbedtls_ssl_set_bio(&c->ssl, &c->fd, bio_send, bio_recv, NULL);
            int64_t deadline = mt_now_ms() + WAIT_MS;
            for (;;) {
                int rc = mbedtls_ssl_handshake(&c->ssl);
                if (rc == 0)
                    break;
                if ((rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) ||
                    !wait_fd(c->fd, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline))
                    fail_msg("TLS handshake with 127.0.0.1:%d: -0x%04x", port, (unsigned)-rc);
            }
        }
        return c;
    }
    fail_msg("connection pool exhausted");
    return NULL;
}

static tconn *tc_connect(int port, bool tls)
{
    if (tls)
        tcli_init();
    return tc_connect_with(port, tls, tls ? &tcli.conf : NULL, 0);
}

/* Sends all of p (TLS: in records of at most 16 KiB, one per call of
 * mbedtls_ssl_write). 0, or -1 when the server has gone. */
static int tc_send_n(tconn *c, const void *p, size_t n)
{
    const unsigned char *b = p;
    int64_t deadline = mt_now_ms() + WAIT_MS;
    while (n > 0) {
        long w;
        short want = POLLOUT;
        if (c->tls) {
            int rc = mbedtls_ssl_write(&c->ssl, b, n);
            w = rc;
            if (rc == MBEDTLS_ERR_SSL_WANT_READ)
                want = POLLIN;
            else if (rc < 0 && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
                return -1;
        } else {
            ssize_t r = send(c->fd, b, n, MSG_NOSIGNAL);
            if (r < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            w = r;
        }
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (!wait_fd(c->fd, want, deadline))
            fail_msg("send: the server took nothing for %d ms", WAIT_MS);
    }
    return 0;
}

static void tc_send(tconn *c, const char *s)
{
    if (tc_send_n(c, s, strlen(s)) != 0)
        fail_msg("send: the server has gone");
}

static void tc_append(tconn *c, const void *p, size_t n)
{
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 8192;
        while (cap < c->len + n + 1)
            cap *= 2;
        unsigned char *nb = realloc(c->buf, cap);
        if (!nb)
            fail_msg("out of memory");
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

/* Reads what arrives, once: 1 bytes appended, 0 the deadline passed, -1 the
 * server closed (c->eof set). */
static int tc_fill(tconn *c, int64_t deadline)
{
    unsigned char tmp[65536];
    if (c->eof)
        return -1;
    for (;;) {
        long r;
        short want = POLLIN;
        if (c->tls) {
            int rc = mbedtls_ssl_read(&c->ssl, tmp, sizeof tmp);
            r = rc;
            if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
                want = POLLOUT;
            else if (rc == 0 || (rc < 0 && rc != MBEDTLS_ERR_SSL_WANT_READ))
                r = 0; /* close_notify, EOF, reset or a fatal alert: the end */
        } else {
            ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                n = 0; /* a reset ends it as well */
            r = n < 0 ? -1 : (long)n;
        }
        if (r > 0) {
            tc_append(c, tmp, (size_t)r);
            return 1;
        }
        if (r == 0) {
            c->eof = true;
            return -1;
        }
        if (!wait_fd(c->fd, want, deadline))
            return 0;
    }
}

/* ---- responses -------------------------------------------------------------- */

typedef struct tresp {
    int status;
    char *head; /* through the blank line */
    unsigned char *body;
    size_t body_len;
} tresp;

static void tresp_free(tresp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Whether a head has "Connection: close". */
static bool says_close(const tresp *r)
{
    return r->head && strcasestr(r->head, "\r\nConnection: close\r\n") != NULL;
}

/* Takes one response off c->buf when it is all there: 1, 0 (more needed),
 * -1 (not a response). Every answer of mockapi with a body has a
 * Content-Length (1xx, 204 and 304 have none). */
static int take(tconn *c, tresp *r)
{
    const unsigned char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    if (!end)
        return 0;
    size_t hl = (size_t)(end - c->buf) + 4, body = 0;
    int status = 0;
    if (sscanf((const char *)c->buf, "HTTP/1.%*d %3d", &status) != 1 || status < 100)
        return -1;
    const char *cl = NULL;
    for (size_t i = 0; i + 16 < hl; i++)
        if (strncasecmp((const char *)c->buf + i, "\r\nContent-Length:", 17) == 0) {
            cl = (const char *)c->buf + i + 17;
            break;
        }
    if (status >= 200 && status != 204 && status != 304) {
        if (!cl)
            return -1;
        body = strtoul(cl, NULL, 10);
    }
    if (c->len < hl + body)
        return 0;
    memset(r, 0, sizeof *r);
    r->status = status;
    r->head = strndup((const char *)c->buf, hl);
    r->body = malloc(body + 1);
    if (!r->head || !r->body)
        fail_msg("out of memory");
    memcpy(r->body, c->buf + hl, body);
    r->body[body] = '\0';
    r->body_len = body;
    c->len -= hl + body;
    memmove(c->buf, c->buf + hl + body, c->len);
    c->buf[c->len] = '\0';
    return 1;
}

/* One response by the deadline: its status, 0 on deadline or close first. */
static int tc_read(tconn *c, int64_t deadline, tresp *r)
{
    memset(r, 0, sizeof *r);
    for (;;) {
        int t = take(c, r);
        if (t > 0)
            return r->status;
        if (t < 0) {
            char *s = mt_show(c->buf, c->len);
            fail_msg("not an HTTP response: %s", s ? s : "?");
        }
        if (tc_fill(c, deadline) <= 0)
            return 0;
    }
}

static void expect_status(tconn *c, tresp *r, int want, const char *what)
{
    int st = tc_read(c, mt_now_ms() + WAIT_MS, r);
    if (st != want) {
        char *s = mt_show(c->buf, c->len);
        fail_msg("%s: status %d (0: none%s), want %d; unparsed bytes %s", what, st,
                 c->eof ? ", closed" : "", want, s ? s : "?");
    }
}

static void expect_exact(tconn *c, int want, const char *body, const char *what)
{
    tresp r;
    expect_status(c, &r, want, what);
    if (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len) != 0) {
        char *s = mt_show(r.body, r.body_len);
        fail_msg("%s: body %s, want %s", what, s ? s : "?", body);
    }
    tresp_free(&r);
}

/* A cheap request on c (/v1/ping plain, /test/assertions TLS) answered 200. */
static void ping(tconn *c, const char *what)
{
    tc_send(c, c->tls ? TLS_PING : PING);
    if (c->tls) {
        tresp r;
        expect_status(c, &r, 200, what);
        tresp_free(&r);
    } else {
        expect_exact(c, 200, "{}\n", what);
    }
}

/* Nothing arrives on c for ms: the server is still waiting (or holding). */
static void expect_quiet(tconn *c, int ms, const char *what)
{
    if (c->tls && mbedtls_ssl_get_bytes_avail(&c->ssl) > 0)
        fail_msg("%s: bytes arrived early", what);
    if (wait_fd(c->fd, POLLIN, mt_now_ms() + ms))
        fail_msg("%s: the server answered or closed early", what);
}

/* The server closes c by the deadline; what came before is kept in c->buf. */
static bool closed_by(tconn *c, int64_t deadline)
{
    while (!c->eof)
        if (tc_fill(c, deadline) == 0)
            return false;
    return true;
}

static void expect_closed(tconn *c, const char *what)
{
    if (!closed_by(c, mt_now_ms() + WAIT_MS))
        fail_msg("%s: the server did not close the connection within %d ms", what, WAIT_MS);
}

static int http_port(const mt_server *s) { return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP); }
static int tls_port(const mt_server *s) { return mockapi_port(s->m, MOCKAPI_LISTENER_TLS); }

static int port_of(const mt_server *s, bool tls) { return tls ? tls_port(s) : http_port(s); }

/* A fresh connection is served: the server is healthy. */
static void healthy(mt_server *s, bool tls, const char *what)
{
    tconn *c = tc_connect(port_of(s, tls), tls);
    ping(c, what);
    tc_close(c);
}

static void start(mt_server *s, mockapi_config *cfg, bool tls)
{
    if (tls)
        cfg->tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start_tracked(s, cfg), 0);
}

/* The number of waits the state counts (blocking and parked ones). */
static int waiters(const mt_server *s)
{
    return atomic_load(&s->m->state.waiters);
}

/* Waits until waiters(s) == n or the deadline: whether it got there. */
static bool waiters_reach(const mt_server *s, int n, int64_t deadline)
{
    while (waiters(s) != n) {
        if (mt_now_ms() >= deadline)
            return false;
        /* the count moves on a loop thread; nothing to poll on from here */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s)
        fail_msg("out of memory");
    return s;
}

/* A journal count over HTTP on c: GET /test/wait with value 0 answers at once. */
static int64_t journal_count(tconn *c, const char *filter)
{
    char *req = fmt("GET /test/wait?%s&op=gte&value=0&timeout_ms=1 HTTP/1.1\r\nHost: x\r\n\r\n",
                    filter);
    tresp r;
    tc_send(c, req);
    free(req);
    expect_status(c, &r, 200, "GET /test/wait (count)");
    const char *v = strstr((const char *)r.body, "\"value\":");
    int64_t n = v ? strtoll(v + 8, NULL, 10) : -1;
    tresp_free(&r);
    return n;
}

/* Count of open descriptors of this process. */
static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

static bool fds_reach(int n, int64_t deadline);

/* Makes GET /test/last-request/heartbeat answer n bytes (a POST of n bytes
 * that are not JSON: 400, but captured, as the reference does): a large
 * response for a client that does not read it yet, during which the
 * server reads nothing more from that connection. */
static void capture_large(mt_server *s, size_t n)
{
    int base = fd_count();
    tconn *c = tc_connect(http_port(s), false);
    char *big = malloc(n + 1);
    if (!big)
        fail_msg("out of memory");
    memset(big, 'x', n);
    big[n] = '\0';
    char *head = fmt("POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    tc_send(c, head);
    tc_send(c, big);
    free(head);
    free(big);
    tresp r;
    expect_status(c, &r, 400, "POST of a large non-JSON heartbeat (captured)");
    tresp_free(&r);
    tc_close(c);
    /* gone on the server's side too: the tests that count descriptors
     * start from here */
    if (!fds_reach(base, mt_now_ms() + WAIT_MS))
        fail_msg("the server kept the capturing connection");
}

/* Every journal entry of route (include_test) has an empty body: a request
 * whose body was never read must not be recorded with one. */
static void expect_journal_bodies_empty(tconn *c, const char *route)
{
    char *req = fmt("GET /test/requests?include_test=1&route=%s HTTP/1.1\r\nHost: x\r\n\r\n", route);
    tresp r;
    tc_send(c, req);
    free(req);
    expect_status(c, &r, 200, "GET /test/requests");
    int all = 0, empty = 0;
    for (const char *p = (const char *)r.body; (p = strstr(p, "\"body_size\":")); p++) {
        all++;
        if (strncmp(p, "\"body_size\":0,", 14) == 0)
            empty++;
    }
    if (all == 0 || all != empty) {
        char *s = mt_show(r.body, r.body_len);
        fail_msg("journal of %s: %d entries, %d with an empty body: %s", route, all, empty,
                 s ? s : "?");
    }
    tresp_free(&r);
}

/* ---- waits whose body failed ------------------------------------------------ */

/* /test/wait takes no body, so a body over max_body_bytes, or one that does
 * not arrive in time, does not stop it from being answered; but the body
 * was never read, so the connection must close after the answer (as for
 * any other request whose body failed). Before the fix, a wait that parked
 * was replayed later as if its whole body had arrived: the journal recorded
 * Content-Length bytes of whatever the buffer held (a fresh allocation of
 * that size when over the limit) and the connection stayed open, the
 * unread body due to be parsed as the next request. */
static void tr_wait_failed_body(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 1000;
    start(&s, &cfg, false);

    /* over the limit: parked unread, answered at its own deadline, then
     * closed (long before the idle deadline, 10 s) */
    tconn *c = tc_connect(http_port(&s), false);
    tc_send(c, "GET /test/wait?route=ping&value=1&timeout_ms=100 HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 5000\r\n\r\n");
    expect_status(c, &r, 408, "wait with a body over the limit");
    tresp_free(&r);
    expect_closed(c, "after answering a wait whose body was not read");
    tc_close(c);
    c = tc_connect(http_port(&s), false);
    expect_journal_bodies_empty(c, "wait");
    tc_close(c);
    mt_server_untrack_free(&s);

    /* incomplete: the request deadline passes, the wait parks, a ping
     * (journaled) releases it; then the connection closes, before its idle
     * deadline */
    cfg.request_timeout_ms = 1000;
    start(&s, &cfg, false);
    c = tc_connect(http_port(&s), false);
    tc_send(c, "GET /test/wait?route=ping&value=1&timeout_ms=10000 HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 10\r\n\r\nabc");
    /* run (and parked) once the request deadline has passed */
    if (!waiters_reach(&s, 1, mt_now_ms() + WAIT_MS))
        fail_msg("the wait did not park after its request deadline");
    healthy(&s, false, "the ping that releases the wait");
    expect_status(c, &r, 200, "wait with an incomplete body, released");
    tresp_free(&r);
    int64_t answered = mt_now_ms();
    expect_closed(c, "after answering a wait whose body did not arrive");
    if (mt_timing_on() && mt_now_ms() - answered > 500)
        fail_msg("closed %lld ms after the answer: at the idle deadline, not at once",
                 (long long)(mt_now_ms() - answered));
    tc_close(c);
    assert_true(waiters_reach(&s, 0, mt_now_ms() + WAIT_MS));
    c = tc_connect(http_port(&s), false);
    expect_journal_bodies_empty(c, "wait");
    tc_close(c);
}

/* ---- pipelined requests ------------------------------------------------------- */

/* n pings (plain or TLS ones) in one string; free() it. */
static char *pings_for(bool tls, int n)
{
    const char *one = tls ? TLS_PING : PING;
    size_t len = strlen(one);
    char *p = malloc((size_t)n * len + 1);
    if (!p)
        fail_msg("out of memory");
    for (int i = 0; i < n; i++)
        memcpy(p + (size_t)i * len, one, len);
    p[(size_t)n * len] = '\0';
    return p;
}

static char *pings(int n) { return pings_for(false, n); }

/* n answers to pings, in order. */
static void expect_pings(tconn *c, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        char w[160];
        snprintf(w, sizeof w, "%s: ping %d of %d", what, i + 1, n);
        if (c->tls) {
            tresp r;
            expect_status(c, &r, 200, w);
            tresp_free(&r);
        } else {
            expect_exact(c, 200, "{}\n", w);
        }
    }
}

/* One TLS record of pipelined pings, many times what the loop reads at once
 * (max_header_bytes 1024 here): what is left decrypted inside mbedTLS is
 * invisible to epoll, and no more bytes come on the socket to wake it.
 * Before the fix, the loop read it for 9 rounds and then forgot it: the
 * client waited for the last ~200 answers until the idle deadline. */
static void tr_tls_pipelined_record(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_header_bytes = 1024;
    start(&s, &cfg, true);
    tconn *c = tc_connect(tls_port(&s), true);
    int n = 16384 / (int)strlen(TLS_PING); /* one full record */
    char *p = pings_for(true, n);
    tc_send(c, p);
    free(p);
    expect_pings(c, n, "one record of pipelined pings");
    ping(c, "after them");
}

/* Pipelined requests behind a parked /test/wait are answered after it, in
 * order, and not run while it is parked (more of them than the loop's
 * buffer holds: max_header_bytes 1024). The TLS listener has no waits. */
static void tr_pipelined_behind_wait(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_header_bytes = 1024;
    start(&s, &cfg, false);
    tconn *c = tc_connect(http_port(&s), false);
    const int n = 100;
    char *p = pings(n);
    char *req = fmt("GET /test/wait?route=ping&value=1&timeout_ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "%sPOST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                    p, strlen(HB_BODY), HB_BODY);
    free(p);
    tc_send(c, req);
    free(req);
    assert_true(waiters_reach(&s, 1, mt_now_ms() + WAIT_MS));
    expect_quiet(c, QUIET_MS, "a parked wait with requests behind it");
    /* the pings behind it were not run: the journal has none yet */
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    healthy(&s, false, "the ping that releases the wait");
    expect_status(c, &r, 200, "the wait");
    assert_non_null(strstr((const char *)r.body, "\"value\":1,"));
    tresp_free(&r);
    expect_pings(c, n, "behind the wait");
    expect_status(c, &r, 200, "the heartbeat behind the pings");
    tresp_free(&r);
    ping(c, "after them");
    assert_int_equal(waiters(&s), 0);
}

/* ---- a half-close right behind pipelined requests --------------------------- */

/* The client pipelines requests, then shuts its side (SHUT_WR): every one of
 * them is answered, in order, then the connection closes. The requests and
 * the FIN are made to arrive while the server is not reading: an 8 MiB
 * response (more than any socket buffer here) is stuck in front of them
 * until the client reads it, so the server then reads them in one go. The
 * totals are the sizes at which that read fills the connection's buffer
 * exactly, so that the next read in the same pass sees the FIN. Before the
 * fix, the server closed after the first answer then, as if nothing else
 * were buffered. */
static void tr_half_close_pipelined(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    const size_t big = 8u << 20;
    cfg.max_body_bytes = big + 1024;
    start(&s, &cfg, false);
    capture_large(&s, big);
    const size_t totals[] = {4095, 8191, 4096, 3000};
    for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++) {
        size_t total = totals[k];
        tconn *c = tc_connect_with(http_port(&s), false, NULL, 4096);
        tresp r;
        char what[96];
        tc_send(c, "GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
        /* the answer has begun: the GET was read alone, the rest is stuck */
        if (!wait_fd(c->fd, POLLIN, mt_now_ms() + WAIT_MS))
            fail_msg("no answer to GET /test/last-request/heartbeat");
        /* n pings, the last padded with a header to make the total exact */
        int n = (int)(total / PING_LEN) - 1;
        char *p = pings(n);
        size_t pad = total - (size_t)n * PING_LEN - (PING_LEN + 5);
        char *last = fmt("GET /v1/ping HTTP/1.1\r\nHost: x\r\nX: %*s\r\n\r\n", (int)pad, "");
        assert_int_equal(strlen(p) + strlen(last), total);
        tc_send(c, p);
        tc_send(c, last);
        free(p);
        free(last);
        shutdown(c->fd, SHUT_WR);
        /* now the 8 MiB may come faster (within the window scale that the
         * small buffer set at connect allows) */
        int rcv = 1 << 20;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        snprintf(what, sizeof what, "%zu bytes pipelined, then SHUT_WR", total);
        expect_status(c, &r, 200, what);
        assert_int_equal(r.body_len, big);
        tresp_free(&r);
        expect_pings(c, n + 1, what);
        expect_closed(c, what);
        assert_int_equal(c->len, 0);
        tc_close(c);
    }
}

/* ---- header lines the head parser does not return --------------------------- */

/* req is refused with status and nothing else is answered on the
 * connection (no part of it is taken for a next request). */
static void expect_refused_alone(mt_server *s, const char *req, int status, const char *what)
{
    tconn *c = tc_connect(http_port(s), false);
    tresp r;
    tc_send(c, req);
    expect_status(c, &r, status, what);
    tresp_free(&r);
    expect_closed(c, what);
    if (c->len != 0) {
        char *shown = mt_show(c->buf, c->len);
        fail_msg("%s: more came after the refusal: %s", what, shown ? shown : "?");
    }
    tc_close(c);
}

/* civetweb's parser returns at most 64 header fields and stops at a line
 * that begins with white space (obs-fold), silently: a Transfer-Encoding or
 * Content-Length after that point was not seen, and the body was taken for
 * the next request (two answers to one request, as a smuggling front end
 * would exploit). Both are refused now: 431 for too many fields, 400 for a
 * folded line (RFC 9112 §5.2 allows either rejecting or unfolding). */
static void tr_head_fields_unseen(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);
    const char *chunked = "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

    char many[4096] = "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 70; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: y\r\n", i);
    strcat(many, chunked);
    expect_refused_alone(&s, many, 431, "70 header fields, then Transfer-Encoding: chunked");

    char *folded = fmt("POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n%s", chunked);
    expect_refused_alone(&s, folded, 400, "a folded line, then Transfer-Encoding: chunked");
    free(folded);

    /* 64 fields is what the parser holds: still served; so are blank lines
     * before a request line */
    tconn *c = tc_connect(http_port(&s), false);
    char full[4096] = "GET /v1/ping HTTP/1.1\r\n";
    for (int i = 0; i < 63; i++)
        snprintf(full + strlen(full), sizeof full - strlen(full), "X-%d: y\r\n", i);
    strcat(full, "Host: x\r\n\r\n");
    tc_send(c, full);
    expect_exact(c, 200, "{}\n", "64 header fields");
    tc_send(c, "\r\n" PING);
    expect_exact(c, 200, "{}\n", "a blank line before the request line");
    ping(c, "after them");
}

/* A head that ends with a bare-LF blank line ends there (civetweb's rule,
 * and Go's), even when a CRLFCRLF comes later: that one belongs to a
 * pipelined request, or to the body. Before the fix the head was taken to
 * run to the CRLFCRLF, civetweb's parser disagreed, and the request was
 * refused with 400. */
static void tr_head_bare_lf(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);
    tconn *c = tc_connect(http_port(&s), false);
    tc_send(c, "GET /v1/ping HTTP/1.1\nHost: x\n\n" PING);
    expect_exact(c, 200, "{}\n", "a bare-LF head, pipelined");
    expect_exact(c, 200, "{}\n", "the CRLF request behind it");
    char *lf = fmt("POST " HB_PATH " HTTP/1.1\nHost: x\nContent-Length: %zu\n\n%s",
                   strlen(HB_BODY) + 4, HB_BODY "\r\n\r\n");
    tc_send(c, lf);
    free(lf);
    expect_status(c, &r, 200, "a bare-LF head, a body with CRLFCRLF in it");
    tresp_free(&r);
    ping(c, "after them");
}

/* ---- requests split at every byte ------------------------------------------- */

/* A POST of HB_BODY framed by chunks, with an extension, a bare-LF data
 * line end and a trailer field; malloc'd. */
static char *hb_chunked(const char *extra_head)
{
    size_t n = strlen(HB_BODY);
    return fmt("POST " HB_PATH " HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n"
               "10;name=\"v\"\r\n%.16s\r\n%zx\r\n%s\n0\r\nX-Trailer: 1\r\n\r\n",
               extra_head ? extra_head : "", HB_BODY, n - 16, HB_BODY + 16);
}

/* Each request is sent in two parts, split after every byte, the server
 * given time to read the first part alone (it must not answer it); every
 * one is answered as if sent whole. Over TLS each part is its own record. */
static void split_every_byte(bool tls)
{
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    start(&s, &cfg, tls);
    tconn *c = tc_connect(port_of(&s, tls), tls);
    char *reqs[3];
    int status[3];
    reqs[0] = strdup(tls ? TLS_PING : PING);
    status[0] = 200;
    if (tls) { /* a TLS body route: POST /local/metrics, a JSON array */
        const char *auth = "Authorization: Bearer e2e-local-bearer-token\r\n";
        reqs[1] = fmt("POST /local/metrics HTTP/1.1\r\nHost: x\r\n%sContent-Length: 9\r\n\r\n"
                      "[1,2,3,4]", auth);
        reqs[2] = fmt("POST /local/metrics HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n"
                      "\r\n3;a=b\r\n[1,\r\n6\r\n2,3,4]\n0\r\nX-T: 1\r\n\r\n", auth);
        status[1] = status[2] = 204;
    } else {
        reqs[1] = fmt("POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                      strlen(HB_BODY), HB_BODY);
        reqs[2] = hb_chunked(NULL);
        status[1] = status[2] = 200;
    }
    int answered = 0;
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(reqs[k]);
        for (size_t cut = 1; cut < len; cut++) {
            char what[96];
            tresp r;
            snprintf(what, sizeof what, "request %d split after byte %zu of %zu", k, cut, len);
            if (tc_send_n(c, reqs[k], cut) != 0)
                fail_msg("%s: the server has gone", what);
            expect_quiet(c, 2, what);
            if (tc_send_n(c, reqs[k] + cut, len - cut) != 0)
                fail_msg("%s: the server has gone", what);
            expect_status(c, &r, status[k], what);
            tresp_free(&r);
            answered++;
        }
    }
    /* every body arrived whole: each counted once */
    mockapi_counter body_counter = tls ? MOCKAPI_LOCAL_METRICS_COUNT : MOCKAPI_HEARTBEAT_COUNT;
    int64_t want = (int64_t)(strlen(reqs[1]) - 1 + strlen(reqs[2]) - 1);
    assert_int_equal(mockapi_counter_get(s.m, body_counter), want);
    for (int k = 0; k < 3; k++)
        free(reqs[k]);
    assert_true(answered > 0);
}

static void tr_split_every_byte(void **state)
{
    (void)state;
    split_every_byte(false);
}

static void tr_tls_split_every_byte(void **state)
{
    (void)state;
    split_every_byte(true);
}

/* ---- waits ---------------------------------------------------------------- */

#define WAIT_PING1 "GET /test/wait?route=ping&value=1&timeout_ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n"

/* Clients that leave while their wait is parked (a close, a reset, twenty
 * at once) stop being counted at once, and a later wait still works. */
static void tr_wait_client_leaves(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);

    tconn *c = tc_connect(http_port(&s), false);
    tc_send(c, WAIT_PING1);
    assert_true(waiters_reach(&s, 1, mt_now_ms() + WAIT_MS));
    tc_close(c);
    if (!waiters_reach(&s, 0, mt_now_ms() + WAIT_MS))
        fail_msg("a wait whose client closed is still counted: %d", waiters(&s));

    c = tc_connect(http_port(&s), false);
    tc_send(c, WAIT_PING1);
    assert_true(waiters_reach(&s, 1, mt_now_ms() + WAIT_MS));
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    tc_close(c); /* a reset */
    if (!waiters_reach(&s, 0, mt_now_ms() + WAIT_MS))
        fail_msg("a wait whose client reset is still counted: %d", waiters(&s));

    tconn *many[20];
    for (int i = 0; i < 20; i++) {
        many[i] = tc_connect(http_port(&s), false);
        tc_send(many[i], WAIT_PING1);
    }
    assert_true(waiters_reach(&s, 20, mt_now_ms() + WAIT_MS));
    for (int i = 0; i < 20; i++)
        tc_close(many[i]);
    if (!waiters_reach(&s, 0, mt_now_ms() + WAIT_MS))
        fail_msg("20 waits whose clients closed: %d still counted", waiters(&s));

    c = tc_connect(http_port(&s), false);
    tc_send(c, WAIT_PING1);
    assert_true(waiters_reach(&s, 1, mt_now_ms() + WAIT_MS));
    expect_quiet(c, QUIET_MS, "a later wait, before its condition");
    healthy(&s, false, "the ping that releases it");
    expect_status(c, &r, 200, "a later wait");
    tresp_free(&r);
    assert_int_equal(waiters(&s), 0);
    ping(c, "the same connection after it");
}

/* /test/wait with a body (Content-Length, chunked): parked with it, answered,
 * and the pipelined request behind the body is served next. */
static void tr_wait_with_body(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);
    tconn *c = tc_connect(http_port(&s), false);
    const char *framing[2] = {"Content-Length: 5\r\n\r\nhello",
                              "Transfer-Encoding: chunked\r\n\r\n2;x\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"};
    for (int k = 0; k < 2; k++) {
        int64_t pings_now = journal_count(c, "route=ping");
        char *req = fmt("GET /test/wait?route=ping&value=%lld&timeout_ms=20000 HTTP/1.1\r\n"
                        "Host: x\r\n%s" PING,
                        (long long)pings_now + 1, framing[k]);
        tc_send(c, req);
        free(req);
        assert_true(waiters_reach(&s, 1, mt_now_ms() + WAIT_MS));
        expect_quiet(c, QUIET_MS, "a parked wait with a body");
        healthy(&s, false, "the ping that releases the wait");
        expect_status(c, &r, 200, k ? "a wait with a chunked body" : "a wait with a body");
        tresp_free(&r);
        expect_exact(c, 200, "{}\n", "the ping behind the wait's body");
        assert_int_equal(waiters(&s), 0);
    }
}

/* ---- chunked bodies at and over their limits ------------------------------- */

/* A heartbeat of exactly n bytes (HB_BODY and trailing spaces, still JSON). */
static char *hb_padded(size_t n)
{
    size_t b = strlen(HB_BODY);
    char *p = malloc(n + 1);
    if (!p || n < b)
        fail_msg("hb_padded(%zu)", n);
    memcpy(p, HB_BODY, b);
    memset(p + b, ' ', n - b);
    p[n] = '\0';
    return p;
}

/* Sends head + body on a new connection and returns the answer's status;
 * with must_close, the connection must be closed after it. Every answer
 * comes long before the request deadline (10 s): a malformed or endless
 * framing is refused as soon as it is seen. */
static int chunked_answer(mt_server *s, const char *body, bool must_close, const char *what)
{
    tconn *c = tc_connect(http_port(s), false);
    tresp r;
    tc_send(c, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    (void)tc_send_n(c, body, strlen(body)); /* a refusal may close before the end */
    int st = tc_read(c, mt_now_ms() + WAIT_MS, &r);
    if (st == 0)
        fail_msg("%s: no answer", what);
    tresp_free(&r);
    if (must_close)
        expect_closed(c, what);
    tc_close(c);
    return st;
}

static void tr_chunked_limits(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 1000;
    start(&s, &cfg, false);

    char *full = hb_padded(1000);
    char *b = fmt("3e8\r\n%s\r\n0\r\n\r\n", full);
    assert_int_equal(chunked_answer(&s, b, false, "one chunk of exactly max_body_bytes"), 200);
    free(b);
    b = fmt("3e7\r\n%.999s\r\n1\r\n%s\r\n0\r\n\r\n", full, full + 999);
    assert_int_equal(chunked_answer(&s, b, false, "two chunks adding up to max_body_bytes"), 200);
    free(b);
    char *over = hb_padded(1001);
    b = fmt("3e9\r\n%s\r\n0\r\n\r\n", over);
    assert_int_equal(chunked_answer(&s, b, true, "a chunk one byte over"), 413);
    free(b);
    b = fmt("258\r\n%.600s\r\n191\r\n%s\r\n0\r\n\r\n", over, over + 600);
    assert_int_equal(chunked_answer(&s, b, true, "two chunks one byte over"), 413);
    free(b);
    assert_int_equal(chunked_answer(&s, "ffffffffffffffff\r\n", true, "a chunk of 2^64-1"), 413);
    assert_int_equal(chunked_answer(&s, "10000000000000000\r\n", true, "a size past 64 bits"), 400);
    free(full);
    free(over);

    /* endless size lines, extensions and trailers: refused at the line limit
     * (max_header_bytes, 16384), not at the deadline */
    size_t n = 20000;
    char *zeros = malloc(n + 1);
    assert_non_null(zeros);
    memset(zeros, '0', n);
    zeros[n] = '\0';
    /* before the fix, leading zeros were not counted: a size line of any
     * length was accepted and this heartbeat answered 200 */
    b = fmt("%s%zx\r\n%s\r\n0\r\n\r\n", zeros, strlen(HB_BODY), HB_BODY);
    assert_int_equal(chunked_answer(&s, b, true, "a size line of 20000 zeros"), 400);
    free(b);
    memset(zeros, 'a', n);
    b = fmt("5;%s\r\nhello\r\n0\r\n\r\n", zeros);
    assert_int_equal(chunked_answer(&s, b, true, "a 20000-byte chunk extension"), 400);
    free(b);
    free(zeros);
    static const char field[] = "X-Trailer: abc\r\n"; /* 16 bytes */
    char *trailers = malloc(2000 * 16 + 1);
    assert_non_null(trailers);
    for (int i = 0; i < 2000; i++)
        memcpy(trailers + (size_t)i * 16, field, 16);
    trailers[2000 * 16] = '\0';
    b = fmt("%zx\r\n%s\r\n0\r\n%s\r\n", strlen(HB_BODY), HB_BODY, trailers);
    assert_int_equal(chunked_answer(&s, b, true, "32000 bytes of trailer fields"), 400);
    free(b);
    free(trailers);
    healthy(&s, false, "after the chunked attacks");
}

/* ---- Expect, TE with CL, HTTP/1.0 with chunked -------------------------------- */

static void tr_expect_continue_chunked(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);
    tconn *c = tc_connect(http_port(&s), false);
    char *whole = hb_chunked("Expect: 100-continue\r\n");
    char *body = strstr(whole, "\r\n\r\n") + 4;

    /* the head alone: 100 Continue, then the body, then the answer */
    tc_send_n(c, whole, (size_t)(body - whole));
    expect_status(c, &r, 100, "Expect: 100-continue with chunked, head alone");
    tresp_free(&r);
    expect_quiet(c, QUIET_MS, "after 100 Continue, before the body");
    tc_send(c, body);
    expect_status(c, &r, 200, "the chunked body after 100 Continue");
    tresp_free(&r);

    /* head and body at once: a 100 may come first, then the answer */
    tc_send(c, whole);
    int st = tc_read(c, mt_now_ms() + WAIT_MS, &r);
    tresp_free(&r);
    if (st == 100)
        st = tc_read(c, mt_now_ms() + WAIT_MS, &r), tresp_free(&r);
    assert_int_equal(st, 200);
    ping(c, "after them");
    free(whole);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 2);
}

/* One answer, saying Connection: close, then the close: nothing of the body
 * is taken for a request. */
static void expect_one_answer(mt_server *s, const char *req, int want, const char *what)
{
    tconn *c = tc_connect(http_port(s), false);
    tresp r;
    tc_send(c, req);
    expect_status(c, &r, want, what);
    bool said = says_close(&r);
    tresp_free(&r);
    if (!said)
        fail_msg("%s: the answer does not say Connection: close", what);
    expect_closed(c, what);
    if (c->len != 0) {
        char *shown = mt_show(c->buf, c->len);
        fail_msg("%s: more came after the answer: %s", what, shown ? shown : "?");
    }
    tc_close(c);
}

static void tr_framing_conflicts(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);
    size_t n = strlen(HB_BODY);
    char *req;

    /* TE and CL: chunked wins, the connection ends after the answer */
    req = fmt("POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
              "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n" PING, n, HB_BODY);
    expect_one_answer(&s, req, 200, "Transfer-Encoding: chunked with Content-Length");
    free(req);
    /* HTTP/1.0 with chunked: one answer, then the close (RFC 9112 §6.1) */
    req = fmt("POST " HB_PATH " HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "%zx\r\n%s\r\n0\r\n\r\n" PING, n, HB_BODY);
    expect_one_answer(&s, req, 200, "HTTP/1.0 with chunked");
    free(req);
    expect_one_answer(&s, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\n"
                          "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      501, "Transfer-Encoding: gzip, chunked");
    expect_one_answer(&s, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      400, "two Transfer-Encoding lines");
    expect_one_answer(&s, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Content-Length: 6\r\n\r\nhello!",
                      400, "two different Content-Lengths");
    expect_one_answer(&s, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"
                          "hello",
                      400, "Content-Length: 5, 5");
    expect_one_answer(&s, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                      400, "Content-Length: -1");
    expect_one_answer(&s, "GET /v1/ping HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0");
    healthy(&s, false, "after the framing conflicts");
}

/* ---- TLS clients that stall, send garbage or renegotiate --------------------- */

/* Reads and drops raw bytes until the server closes fd (EOF or reset) or
 * the deadline passes: whether it closed. */
static bool raw_closed_by(int fd, int64_t deadline)
{
    char tmp[65536];
    for (;;) {
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            return true;
        if (r > 0)
            continue;
        if (!wait_fd(fd, POLLIN, deadline))
            return false;
    }
}

/* Waits until the process has n descriptors open, or the deadline. */
static bool fds_reach(int n, int64_t deadline)
{
    while (fd_count() != n) {
        if (mt_now_ms() >= deadline)
            return false;
        /* the server closes on a loop thread; nothing to poll on from here */
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

/* A TLS client asks for 8 MiB and pipelines more requests, and never reads:
 * the server reads nothing more from it (none of the requests behind is
 * run, nothing more is buffered for it) and closes it once
 * request_timeout_ms has passed without progress. */
static void tr_tls_unread_big_response(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    const size_t big = 8u << 20;
    const unsigned timeout_ms = 1000;
    cfg.max_body_bytes = big + 1024;
    cfg.request_timeout_ms = timeout_ms;
    start(&s, &cfg, true);
    capture_large(&s, big);
    tcli_init();
    int base = fd_count();
    tconn *c = tc_connect_with(tls_port(&s), true, &tcli.conf, 4096);
    char *more = pings_for(true, 20);
    char *req = fmt("GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n%s", more);
    free(more);
    int64_t t0 = mt_now_ms();
    tc_send(c, req);
    free(req);
    /* the server's side goes away: one descriptor fewer (the client's stays) */
    if (!fds_reach(base + 1, t0 + timeout_ms + 4000))
        fail_msg("the server kept a TLS client that reads nothing for %lld ms (timeout %u)",
                 (long long)(mt_now_ms() - t0), timeout_ms);
    int64_t ms = mt_now_ms() - t0;
    print_message("TLS reader of nothing: closed by the server after %lld ms\n", (long long)ms);
    if (mt_timing_on() && ms < timeout_ms - 100)
        fail_msg("closed after %lld ms, before request_timeout_ms (%u)", (long long)ms, timeout_ms);
    tconn *p = tc_connect(http_port(&s), false);
    assert_int_equal(journal_count(p, "route=assertions&include_test=1"), 0);
    assert_int_equal(journal_count(p, "route=last_request&include_test=1"), 1);
    tc_close(p);
    tc_close(c);
    healthy(&s, true, "after the TLS reader of nothing");
}

/* A TLS client that sends a whole ClientHello, gets the server's flight and
 * goes silent is closed at the handshake deadline. */
static void tr_tls_stall_after_hello(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    const unsigned timeout_ms = 500;
    cfg.request_timeout_ms = timeout_ms;
    start(&s, &cfg, true);
    tcli_init();
    tconn *c = tc_connect_with(tls_port(&s), true, NULL, 0);
    int64_t t0 = mt_now_ms();
    mbedtls_ssl_init(&c->ssl);
    c->ssl_init = true;
    assert_int_equal(mbedtls_ssl_setup(&c->ssl, &tcli.conf), 0);
    mbedtls_ssl_set_bio(&c->ssl, &c->fd, bio_send, bio_recv, NULL);
    /* two steps of the client's state machine: the ClientHello goes out (a
     * whole handshake call could complete the handshake when the server is
     * quick); whatever the client read after that, it sends nothing more */
    for (int k = 0; k < 2; k++) {
        int r = mbedtls_ssl_handshake_step(&c->ssl);
        if (r != 0 && r != MBEDTLS_ERR_SSL_WANT_READ)
            fail_msg("client handshake step %d: -0x%04x", k, (unsigned)-r);
    }
    if (!wait_fd(c->fd, POLLIN, t0 + WAIT_MS))
        fail_msg("no ServerHello");
    if (!raw_closed_by(c->fd, t0 + timeout_ms + 4000))
        fail_msg("a TLS client silent after its ClientHello was not closed");
    int64_t ms = mt_now_ms() - t0;
    print_message("TLS client silent after ClientHello: closed after %lld ms\n", (long long)ms);
    if (mt_timing_on() && ms < timeout_ms - 100)
        fail_msg("closed after %lld ms, before request_timeout_ms (%u)", (long long)ms, timeout_ms);
    healthy(&s, true, "after a stalled handshake");
}

/* Bytes that are not TLS records, or records that do not decrypt, after a
 * finished handshake: the connection is closed at once (not at the
 * deadline, 10 s), before or after a served request. */
static void tr_tls_garbage_after_handshake(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, true);
    static const unsigned char bad_mac[5 + 32] = {0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5};
    static const char plain_http[] = PING;
    const struct {
        const void *p;
        size_t n;
        bool after_request;
        const char *what;
    } cases[] = {
        {plain_http, sizeof plain_http - 1, false, "plain HTTP after the handshake"},
        {bad_mac, sizeof bad_mac, false, "an application record that does not decrypt"},
        {bad_mac, sizeof bad_mac, true, "the same after a served request"},
        {"\x15\x03\x03\x00\x02\x02\x28", 7, false, "an unencrypted fatal alert"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tconn *c = tc_connect(tls_port(&s), true);
        if (cases[k].after_request)
            ping(c, "before the garbage");
        assert_int_equal(mt_send_all(c->fd, cases[k].p, cases[k].n), 0);
        int64_t t0 = mt_now_ms();
        if (!raw_closed_by(c->fd, t0 + WAIT_MS))
            fail_msg("%s: not closed within %d ms", cases[k].what, WAIT_MS);
        tc_close(c);
    }
    healthy(&s, true, "after the garbage");
}

/* A client that asks to renegotiate (TLS 1.2) does not get a second
 * handshake: the server refuses it (a no_renegotiation alert, which leaves
 * mbedTLS's client unusable), does not fail or spin, keeps the connection
 * as an idle one (closed at request_timeout_ms) and serves others. */
static void tr_tls_renegotiation(void **state)
{
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    const unsigned timeout_ms = 500;
    cfg.request_timeout_ms = timeout_ms;
    start(&s, &cfg, true);
    tcli_init();
    tconn *c = tc_connect_with(tls_port(&s), true, &tcli.conf_reneg, 0);
    ping(c, "before the renegotiation");
    int64_t t0 = mt_now_ms(), deadline = t0 + WAIT_MS;
    int rc;
    while ((rc = mbedtls_ssl_renegotiate(&c->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
           rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        if (!wait_fd(c->fd, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline))
            break;
    print_message("renegotiation: mbedtls_ssl_renegotiate -0x%04x\n", (unsigned)-rc);
    assert_int_equal(rc, MBEDTLS_ERR_SSL_WAITING_SERVER_HELLO_RENEGO); /* refused */
    healthy(&s, true, "while the refused client is connected");
    if (!raw_closed_by(c->fd, t0 + timeout_ms + 4000))
        fail_msg("the refused client's connection was not closed at the idle deadline");
    int64_t ms = mt_now_ms() - t0;
    if (mt_timing_on() && ms < timeout_ms - 100)
        fail_msg("closed after %lld ms, before request_timeout_ms (%u)", (long long)ms, timeout_ms);
    tc_close(c);
    healthy(&s, true, "after the renegotiation attempt");
#else
    (void)state;
    skip();
#endif
}

/* ---- half-closes, resets, connection churn ------------------------------------ */

/* Many clients each send a request and shut their side (SHUT_WR) at once:
 * every one gets its answer, then the close. */
static void tr_half_close_many(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, true);
    const int n = 24;
    tconn *cs[24];
    for (int round = 0; round < 2; round++) {
        bool tls = round == 1;
        for (int i = 0; i < n; i++) {
            cs[i] = tc_connect(port_of(&s, tls), tls);
            tc_send(cs[i], tls ? TLS_PING : PING);
            shutdown(cs[i]->fd, SHUT_WR);
        }
        for (int i = 0; i < n; i++) {
            char what[64];
            snprintf(what, sizeof what, "%s client %d after SHUT_WR", tls ? "TLS" : "plain", i);
            expect_pings(cs[i], 1, what);
            expect_closed(cs[i], what);
            tc_close(cs[i]);
        }
    }
    healthy(&s, false, "after the half-closes");
}

/* Clients that reset (SO_LINGER 0) in the middle of a large response, plain
 * and TLS: the server lets go of them (descriptors back to where they
 * were) and serves on. */
static void tr_reset_mid_response(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    const size_t big = 4u << 20;
    cfg.max_body_bytes = big + 1024;
    start(&s, &cfg, true);
    capture_large(&s, big);
    tcli_init();
    int base = fd_count();
    for (int round = 0; round < 4; round++) {
        bool tls = round & 1;
        tconn *c = tc_connect_with(port_of(&s, tls), tls, tls ? &tcli.conf : NULL, 4096);
        tc_send(c, "GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
        /* some of it arrived: the server is in the middle of writing */
        if (tc_fill(c, mt_now_ms() + WAIT_MS) != 1)
            fail_msg("no answer to GET /test/last-request/heartbeat");
        if (round >= 2) /* and with more requests queued behind it */
            tc_send(c, tls ? TLS_PING : PING);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        tc_close(c);
        if (!fds_reach(base, mt_now_ms() + WAIT_MS))
            fail_msg("round %d: the server kept a reset connection (%d descriptors, want %d)",
                     round, fd_count(), base);
    }
    healthy(&s, false, "after the resets");
    healthy(&s, true, "after the resets");
}

/* 10,000 connections opened and dropped on the plain listener (closed at
 * once, reset, closed mid-head, closed before reading an answer) and 1,000
 * on the TLS one (closed at once, reset, mid-ClientHello): afterwards the
 * process holds exactly the descriptors it held before. */
static void tr_connect_close_churn(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, true);
    int base = fd_count(); /* no connection yet */
    int n = mt_timing_on() ? 10000 : 500;
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
    int64_t t0 = mt_now_ms();
    for (int i = 0; i < n + n / 10; i++) {
        bool tls = i >= n;
        int fd = mt_connect(port_of(&s, tls));
        if (fd < 0)
            fail_msg("connect %d: %s", i, strerror(errno));
        switch (i % 4) {
        case 1: {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            break;
        }
        case 2:
            if (tls)
                (void)mt_send_all(fd, hello_start, sizeof hello_start);
            else
                (void)mt_send_all(fd, "GET /v1/pi", 10);
            break;
        case 3:
            if (!tls)
                (void)mt_send_all(fd, PING, PING_LEN);
            break;
        default:
            break;
        }
        close(fd);
    }
    int64_t opened = mt_now_ms() - t0;
    if (!fds_reach(base, mt_now_ms() + 10000))
        fail_msg("after %d connections came and went: %d descriptors open, %d before", n + n / 10,
                 fd_count(), base);
    print_message("%d connections opened and dropped in %lld ms; descriptors back to %d after "
                  "%lld ms more\n",
                  n + n / 10, (long long)opened, base, (long long)(mt_now_ms() - t0 - opened));
    healthy(&s, false, "after the churn");
    healthy(&s, true, "after the churn");
}

/* ---- stopping ------------------------------------------------------------------- */

typedef struct hammer {
    int port;
    atomic_bool *stop;
    atomic_int *answered;
    bool keep_alive;
} hammer;

/* Pings over new connections (or one keep-alive connection) until told to
 * stop or the server is gone; no cmocka here (another thread). */
static void *hammer_main(void *arg)
{
    hammer *h = arg;
    int fd = -1;
    char buf[4096];
    while (!atomic_load(h->stop)) {
        if (fd < 0 && (fd = mt_connect(h->port)) < 0)
            break; /* the listener is gone */
        size_t got = 0;
        bool ok = mt_send_all(fd, PING, PING_LEN) == 0;
        int64_t deadline = mt_now_ms() + 2000;
        while (ok && got < sizeof buf - 1) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, (int)(deadline - mt_now_ms())) <= 0)
                break;
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n{}\n"))
                break;
        }
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n{}\n"))
            atomic_fetch_add(h->answered, 1);
        else
            ok = false;
        if (!ok || !h->keep_alive) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Requests keep coming, on new and kept-alive connections, while the
 * instance stops: the stop returns promptly and nothing breaks (the
 * sanitizers watch the rest). */
static void tr_requests_during_stop(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    start(&s, &cfg, false);
    atomic_bool stop = false;
    atomic_int answered = 0;
    hammer hs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        hs[i] = (hammer){.port = http_port(&s), .stop = &stop, .answered = &answered,
                         .keep_alive = i % 2 == 1};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hs[i]), 0);
    }
    int64_t deadline = mt_now_ms() + WAIT_MS;
    while (atomic_load(&answered) < 200 && mt_now_ms() < deadline) {
        struct timespec ts = {0, 1000000}; /* a condition polled with a deadline */
        nanosleep(&ts, NULL);
    }
    int before = atomic_load(&answered);
    int64_t t0 = mt_now_ms();
    mockapi_stop(s.m);
    int64_t ms = mt_now_ms() - t0;
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    print_message("stop under load: %d answered before, stop took %lld ms\n", before,
                  (long long)ms);
    assert_true(before >= 200);
    if (mt_timing_on() && ms > 2000)
        fail_msg("mockapi_stop took %lld ms under load", (long long)ms);
    assert_int_equal(waiters(&s), 0);
}

/* Stop with all of it open: parked waits, idle and mid-handshake TLS
 * sessions, a TLS response stuck in a full socket, idle and half-sent plain
 * requests. The stop is prompt, every client sees its connection end, and
 * no wait is left counted (the sanitizers and valgrind check the rest). */
static void tr_stop_with_everything(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_body_bytes = (2u << 20) + 1024;
    start(&s, &cfg, true);
    capture_large(&s, 2u << 20);
    tcli_init();
    tconn *cs[MAX_CONNS];
    int n = 0;
    for (int i = 0; i < 5; i++) { /* waits nothing here releases */
        cs[n] = tc_connect(http_port(&s), false);
        tc_send(cs[n++], "GET /test/wait?route=register&value=1&timeout_ms=20000 HTTP/1.1\r\n"
                         "Host: x\r\n\r\n");
    }
    for (int i = 0; i < 5; i++) {
        cs[n] = tc_connect(tls_port(&s), true);
        if (i % 2)
            ping(cs[n], "an idle TLS session's first request");
        n++;
    }
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
    for (int i = 0; i < 3; i++) {
        cs[n] = tc_connect_with(tls_port(&s), true, NULL, 0);
        assert_int_equal(mt_send_all(cs[n++]->fd, hello_start, sizeof hello_start), 0);
    }
    cs[n] = tc_connect_with(tls_port(&s), true, &tcli.conf, 4096);
    tc_send(cs[n++], "GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        cs[n] = tc_connect(http_port(&s), false);
        ping(cs[n++], "an idle keep-alive connection's first request");
    }
    cs[n] = tc_connect(http_port(&s), false);
    tc_send(cs[n++], "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"no");
    assert_true(waiters_reach(&s, 5, mt_now_ms() + WAIT_MS));

    int64_t t0 = mt_now_ms();
    mockapi_stop(s.m);
    int64_t ms = mt_now_ms() - t0;
    print_message("stop with %d connections of every kind open: %lld ms\n", n, (long long)ms);
    if (mt_timing_on() && ms > 2000)
        fail_msg("mockapi_stop took %lld ms", (long long)ms);
    assert_int_equal(waiters(&s), 0);
    for (int i = 0; i < n; i++)
        if (!raw_closed_by(cs[i]->fd, mt_now_ms() + WAIT_MS))
            fail_msg("connection %d was not closed by the stop", i);
}

/* ---- the group ---------------------------------------------------------------- */

int mt_run_transport_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(tr_wait_failed_body, teardown),
        cmocka_unit_test_teardown(tr_tls_pipelined_record, teardown),
        cmocka_unit_test_teardown(tr_pipelined_behind_wait, teardown),
        cmocka_unit_test_teardown(tr_half_close_pipelined, teardown),
        cmocka_unit_test_teardown(tr_head_fields_unseen, teardown),
        cmocka_unit_test_teardown(tr_head_bare_lf, teardown),
        cmocka_unit_test_teardown(tr_split_every_byte, teardown),
        cmocka_unit_test_teardown(tr_tls_split_every_byte, teardown),
        cmocka_unit_test_teardown(tr_wait_client_leaves, teardown),
        cmocka_unit_test_teardown(tr_wait_with_body, teardown),
        cmocka_unit_test_teardown(tr_chunked_limits, teardown),
        cmocka_unit_test_teardown(tr_expect_continue_chunked, teardown),
        cmocka_unit_test_teardown(tr_framing_conflicts, teardown),
        cmocka_unit_test_teardown(tr_tls_unread_big_response, teardown),
        cmocka_unit_test_teardown(tr_tls_stall_after_hello, teardown),
        cmocka_unit_test_teardown(tr_tls_garbage_after_handshake, teardown),
        cmocka_unit_test_teardown(tr_tls_renegotiation, teardown),
        cmocka_unit_test_teardown(tr_half_close_many, teardown),
        cmocka_unit_test_teardown(tr_reset_mid_response, teardown),
        cmocka_unit_test_teardown(tr_connect_close_churn, teardown),
        cmocka_unit_test_teardown(tr_requests_during_stop, teardown),
        cmocka_unit_test_teardown(tr_stop_with_everything, teardown),
    };
    return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
