/* test_transport2.c: attacks on the event loop's input and idle handling
 * (src/transport/loop.c): the thread's read buffer that connections borrow
 * while they read (what a connection keeps after a read must be its own,
 * whatever the other connections of that thread read next), the release
 * list that frees idle connections' buffers, and parked waits.
 *
 * Every test runs the server with one loop thread, so that all of its
 * connections share one read buffer. The client helpers are those of
 * test_transport.c (a raw socket or mbedTLS's client, polled with a
 * deadline); nothing sleeps to synchronise, and the fixed waits assert that
 * nothing arrives meanwhile (they outlast the release delay, 100 ms). */
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

#define MAX_CONNS 160
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



static int http_port(const mt_server *s) { return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP); }
static int tls_port(const mt_server *s) { return mockapi_port(s->m, MOCKAPI_LISTENER_TLS); }

static int port_of(const mt_server *s, bool tls) { return tls ? tls_port(s) : http_port(s); }


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


#define IDLE_MS 250 /* past the release delay (100 ms) and a round of the loop */

/* A heartbeat of node id (n1 is the one HB_BODY names). */
static char *hb_for(const char *id)
{
    char *body = fmt("{\"node_id\":\"%s\",\"timestamp\":\"2025-01-01T00:00:00Z\","
                     "\"status\":\"healthy\",\"binary_checksum\":\"abc\",\"mesh\":{\"interface\":"
                     "\"wg0\",\"peer_count\":2,\"listen_port\":51820},\"nat\":{\"public_endpoint\":"
                     "\"198.51.100.1:51820\",\"type\":\"full_cone\"}}",
                     id);
    char *req = fmt("POST /v1/nodes/%s/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                    id, strlen(body), body);
    free(body);
    return req;
}

static void start1(mt_server *s, mockapi_config *cfg, bool tls)
{
    cfg->threads = 1; /* one loop thread: every connection reads into one buffer */
    start(s, cfg, tls);
}

/* Another connection on the same thread reads a lot of other bytes: were a
 * connection still pointing into the thread's buffer, they would overwrite
 * its input. Heartbeats of node n2 (a request of n1 corrupted into one of
 * n2 would fail its checks: the node id in the path and body disagree). */
static void other_traffic(mt_server *s, const char *what)
{
    tconn *b = tc_connect(http_port(s), false);
    char *hb = hb_for("n2");
    for (int round = 0; round < 3; round++) {
        char *all = fmt("%s%s%s%s%s%s%s%s", hb, hb, hb, hb, hb, hb, hb, hb);
        tc_send(b, all);
        free(all);
        for (int i = 0; i < 8; i++) {
            tresp r;
            expect_status(b, &r, 200, what);
            tresp_free(&r);
        }
    }
    free(hb);
    tc_close(b);
}

/* A parked wait keeps its request and the requests pipelined behind it
 * (a heartbeat with a body, then pings) while other connections of the
 * thread read: they are answered intact once the wait is released. */
static void tr2_parked_input_survives(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start1(&s, &cfg, false);
    tconn *a = tc_connect(http_port(&s), false);
    char *hb = hb_for("n1");
    char *p = pings(10);
    char *req = fmt("GET /test/wait?route=heartbeat&value=25&timeout_ms=5000 HTTP/1.1\r\n"
                    "Host: x\r\n\r\n%s%s",
                    hb, p);
    free(p);
    free(hb);
    tc_send(a, req);
    free(req);
    assert_true(waiters_reach(&s, 1, mt_now_ms() + WAIT_MS));
    other_traffic(&s, "n2 heartbeats while a wait is parked"); /* 24 heartbeats */
    expect_quiet(a, QUIET_MS, "the wait at 24 heartbeats");
    tconn *c = tc_connect(http_port(&s), false);
    char *one = hb_for("n3");
    tc_send(c, one);
    free(one);
    expect_status(c, &r, 200, "the 25th heartbeat");
    tresp_free(&r);
    expect_status(a, &r, 200, "the wait");
    assert_non_null(strstr((const char *)r.body, "\"value\":25,"));
    tresp_free(&r);
    expect_status(a, &r, 200, "the n1 heartbeat behind the wait");
    tresp_free(&r);
    expect_pings(a, 10, "behind the wait");
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 26);
    assert_int_equal(waiters(&s), 0);
}

/* A request whose head came alone with Expect: 100-continue keeps that
 * head (its own copy) while the thread reads other connections, and its
 * body, sent after the 100, completes it. */
static void tr2_continue_keeps_head(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start1(&s, &cfg, false);
    tconn *a = tc_connect(http_port(&s), false);
    tc_send(a, "POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ");
    char *cl = fmt("%zu\r\n\r\n", strlen(HB_BODY));
    tc_send(a, cl);
    free(cl);
    expect_status(a, &r, 100, "100 Continue");
    tresp_free(&r);
    other_traffic(&s, "n2 heartbeats while a body is awaited");
    tc_send(a, HB_BODY);
    expect_status(a, &r, 200, "the heartbeat after its 100");
    tresp_free(&r);
    ping(a, "after it");
}

/* A head split over reads, with the thread's other connections read in
 * between, idle past the release delay in the middle: completed intact. */
static void tr2_partial_head_kept(bool tls)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    mt_config_init(&cfg);
    start1(&s, &cfg, tls);
    tconn *a = tc_connect(port_of(&s, tls), tls);
    const char *req = tls ? TLS_PING : PING;
    size_t half = strlen(req) / 2;
    if (tc_send_n(a, req, half) != 0)
        fail_msg("send: the server has gone");
    other_traffic(&s, "n2 heartbeats while a head is half read");
    expect_quiet(a, IDLE_MS, "half a head");
    tc_send(a, req + half);
    expect_status(a, &r, 200, "the head completed after the others read");
    tresp_free(&r);
    /* idle (buffers released), then used again, several times */
    for (int i = 0; i < 3; i++) {
        expect_quiet(a, IDLE_MS, "idle between requests");
        ping(a, "after being idle past the release delay");
    }
}

static void tr2_partial_head_kept_plain(void **state)
{
    (void)state;
    tr2_partial_head_kept(false);
}

static void tr2_partial_head_kept_tls(void **state)
{
    (void)state;
    tr2_partial_head_kept(true);
}

/* A response the client does not read yet, with pipelined requests behind
 * it: the server stops reading, keeps what it read of them, and answers
 * them once the client reads; other connections read meanwhile. */
static void tr2_pipelined_behind_blocked_write(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    const size_t big = 4u << 20;
    cfg.max_body_bytes = big + 1024;
    start1(&s, &cfg, false);
    tconn *w = tc_connect(http_port(&s), false);
    char *x = malloc(big + 1);
    if (!x)
        fail_msg("out of memory");
    memset(x, 'x', big);
    x[big] = '\0';
    char *head = fmt("POST " HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", big);
    tc_send(w, head);
    tc_send(w, x);
    free(head);
    free(x);
    tresp r;
    expect_status(w, &r, 400, "a large non-JSON heartbeat (captured)");
    tresp_free(&r);
    tc_close(w);

    tcli_init();
    tconn *a = tc_connect_with(http_port(&s), false, NULL, 4096);
    char *hb = hb_for("n1");
    char *p = pings(20);
    char *req = fmt("GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n%s%s", hb, p);
    free(hb);
    free(p);
    tc_send(a, req);
    free(req);
    other_traffic(&s, "n2 heartbeats while a response is stuck");
    expect_status(a, &r, 200, "the large response");
    if (r.body_len < big)
        fail_msg("the large response has %zu bytes, want at least %zu", r.body_len, big);
    tresp_free(&r);
    expect_status(a, &r, 200, "the heartbeat behind it");
    tresp_free(&r);
    expect_pings(a, 20, "behind the large response");
}

/* More connections than release_idle's heap-trim threshold (64) go idle
 * together, plain and TLS, and are used again after their buffers were
 * released; one of them had half a request when the rest went idle. */
static void tr2_many_idle_reused(void **state)
{
    mockapi_config cfg;
    mt_server s;
    tresp r;
    (void)state;
    mt_config_init(&cfg);
    start1(&s, &cfg, true);
    enum { NPLAIN = 80, NTLS = 8 };
    tconn *c[NPLAIN + NTLS];
    for (int i = 0; i < NPLAIN + NTLS; i++) {
        c[i] = tc_connect(port_of(&s, i >= NPLAIN), i >= NPLAIN);
        ping(c[i], "first request");
    }
    if (tc_send_n(c[0], PING, 10) != 0)
        fail_msg("send: the server has gone");
    expect_quiet(c[0], IDLE_MS, "all idle, one with half a head");
    tc_send(c[0], PING + 10);
    expect_exact(c[0], 200, "{}\n", "the half head completed");
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NPLAIN + NTLS; i++)
            ping(c[i], "after the idle release");
        expect_quiet(c[NPLAIN], IDLE_MS, "idle again");
    }
    /* heartbeats with bodies on the released connections */
    char *hb = hb_for("n1");
    for (int i = 0; i < NPLAIN; i += 7) {
        tc_send(c[i], hb);
        expect_status(c[i], &r, 200, "a heartbeat on a released connection");
        tresp_free(&r);
    }
    free(hb);
}

int mt_run_transport2_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(tr2_parked_input_survives, teardown),
        cmocka_unit_test_teardown(tr2_continue_keeps_head, teardown),
        cmocka_unit_test_teardown(tr2_partial_head_kept_plain, teardown),
        cmocka_unit_test_teardown(tr2_partial_head_kept_tls, teardown),
        cmocka_unit_test_teardown(tr2_pipelined_behind_blocked_write, teardown),
        cmocka_unit_test_teardown(tr2_many_idle_reused, teardown),
    };
    return cmocka_run_group_tests_name("transport2", tests, NULL, NULL);
}
