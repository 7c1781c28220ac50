/* raw_client.c: the raw plain/TLS HTTP client of the transport tests; see
 * raw_client.h. Moved here from test_transport.c and test_transport2.c,
 * which had a copy each. */
#include "raw_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#include "server.h"

/* ---- the TLS client --------------------------------------------------------- */

static struct {
    bool ready;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;       /* any version the build has, no verification */
    mbedtls_ssl_config conf_reneg; /* TLS 1.2 with renegotiation on (the attacker's) */
} tcli;

/* Undoes rc_tls_init, if it was done. */
static void tls_free(void)
{
    if (!tcli.ready)
        return;
    mbedtls_ssl_config_free(&tcli.conf);
    mbedtls_ssl_config_free(&tcli.conf_reneg);
    mbedtls_ctr_drbg_free(&tcli.drbg);
    mbedtls_entropy_free(&tcli.entropy);
    memset(&tcli, 0, sizeof tcli);
}

/* A client configuration on tcli.drbg, verifying nothing. */
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

void rc_tls_init(void)
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

mbedtls_ssl_config *rc_tls_conf(void)
{
    rc_tls_init();
    return &tcli.conf;
}

mbedtls_ssl_config *rc_tls_conf_reneg(void)
{
    rc_tls_init();
    return &tcli.conf_reneg;
}

int rc_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return MBEDTLS_ERR_NET_CONN_RESET;
}

int rc_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_READ;
    return MBEDTLS_ERR_NET_CONN_RESET;
}

/* ---- connections, closed by the teardown even when a test fails --------- */

static rc_conn conns[RC_MAX_CONNS];

void rc_close(rc_conn *c)
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

int rc_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < RC_MAX_CONNS; i++)
        rc_close(&conns[i]);
    mt_server_free_tracked_all();
    tls_free();
    return 0;
}

int rc_wait_fd(int fd, short ev, int64_t deadline)
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

/* Fails the test if fd cannot be made non-blocking. */
static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        fail_msg("fcntl: %s", strerror(errno));
}

rc_conn *rc_connect_with(int port, bool tls, mbedtls_ssl_config *conf, int rcvbuf)
{
    for (int i = 0; i < RC_MAX_CONNS; i++) {
        rc_conn *c = &conns[i];
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
            mbedtls_ssl_set_bio(&c->ssl, &c->fd, rc_bio_send, rc_bio_recv, NULL);
            int64_t deadline = mt_now_ms() + RC_WAIT_MS;
            for (;;) {
                int rc = mbedtls_ssl_handshake(&c->ssl);
                if (rc == 0)
                    break;
                if ((rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) ||
                    !rc_wait_fd(c->fd, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT,
                                deadline))
                    fail_msg("TLS handshake with 127.0.0.1:%d: -0x%04x", port, (unsigned)-rc);
            }
        }
        return c;
    }
    fail_msg("connection pool exhausted");
    return NULL;
}

rc_conn *rc_connect(int port, bool tls)
{
    if (tls)
        rc_tls_init();
    return rc_connect_with(port, tls, tls ? &tcli.conf : NULL, 0);
}

int rc_send_n(rc_conn *c, const void *p, size_t n)
{
    const unsigned char *b = p;
    int64_t deadline = mt_now_ms() + RC_WAIT_MS;
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
        if (!rc_wait_fd(c->fd, want, deadline))
            fail_msg("send: the server took nothing for %d ms", RC_WAIT_MS);
    }
    return 0;
}

void rc_send(rc_conn *c, const char *s)
{
    if (rc_send_n(c, s, strlen(s)) != 0)
        fail_msg("send: the server has gone");
}

/* Appends n bytes to c->buf, kept NUL-terminated; geometric growth. */
static void conn_append(rc_conn *c, const void *p, size_t n)
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

int rc_fill(rc_conn *c, int64_t deadline)
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
            conn_append(c, tmp, (size_t)r);
            return 1;
        }
        if (r == 0) {
            c->eof = true;
            return -1;
        }
        if (!rc_wait_fd(c->fd, want, deadline))
            return 0;
    }
}

/* ---- responses -------------------------------------------------------------- */

void rc_resp_free(rc_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

bool rc_says_close(const rc_resp *r)
{
    return r->head && strcasestr(r->head, "\r\nConnection: close\r\n") != NULL;
}

/* Takes one response off c->buf when it is all there: 1, 0 (more needed),
 * -1 (not a response). Every answer of mockapi with a body has a
 * Content-Length (1xx, 204 and 304 have none). */
static int take_response(rc_conn *c, rc_resp *r)
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

int rc_read(rc_conn *c, int64_t deadline, rc_resp *r)
{
    memset(r, 0, sizeof *r);
    for (;;) {
        int t = take_response(c, r);
        if (t > 0)
            return r->status;
        if (t < 0) {
            char *s = mt_show(c->buf, c->len);
            fail_msg("not an HTTP response: %s", s ? s : "?");
        }
        if (rc_fill(c, deadline) <= 0)
            return 0;
    }
}

void rc_expect_status(rc_conn *c, rc_resp *r, int want, const char *what)
{
    int st = rc_read(c, mt_now_ms() + RC_WAIT_MS, r);
    if (st != want) {
        char *s = mt_show(c->buf, c->len);
        fail_msg("%s: status %d (0: none%s), want %d; unparsed bytes %s", what, st,
                 c->eof ? ", closed" : "", want, s ? s : "?");
    }
}

void rc_expect_exact(rc_conn *c, int want, const char *body, const char *what)
{
    rc_resp r;
    rc_expect_status(c, &r, want, what);
    if (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len) != 0) {
        char *s = mt_show(r.body, r.body_len);
        fail_msg("%s: body %s, want %s", what, s ? s : "?", body);
    }
    rc_resp_free(&r);
}

/* The answer to one ping by RC_WAIT_MS: 200 ("{}\n" on plain; the TLS
 * listener's /test/assertions body varies). */
static void expect_ping_answer(rc_conn *c, const char *what)
{
    if (c->tls) {
        rc_resp r;
        rc_expect_status(c, &r, 200, what);
        rc_resp_free(&r);
    } else {
        rc_expect_exact(c, 200, "{}\n", what);
    }
}

void rc_ping(rc_conn *c, const char *what)
{
    rc_send(c, c->tls ? RC_TLS_PING : RC_PING);
    expect_ping_answer(c, what);
}

void rc_expect_quiet(rc_conn *c, int ms, const char *what)
{
    if (c->tls && mbedtls_ssl_get_bytes_avail(&c->ssl) > 0)
        fail_msg("%s: bytes arrived early", what);
    if (rc_wait_fd(c->fd, POLLIN, mt_now_ms() + ms))
        fail_msg("%s: the server answered or closed early", what);
}

bool rc_closed_by(rc_conn *c, int64_t deadline)
{
    while (!c->eof)
        if (rc_fill(c, deadline) == 0)
            return false;
    return true;
}

void rc_expect_closed(rc_conn *c, const char *what)
{
    if (!rc_closed_by(c, mt_now_ms() + RC_WAIT_MS))
        fail_msg("%s: the server did not close the connection within %d ms", what, RC_WAIT_MS);
}

int rc_http_port(const mt_server *s) { return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP); }
int rc_tls_port(const mt_server *s) { return mockapi_port(s->m, MOCKAPI_LISTENER_TLS); }

int rc_port_of(const mt_server *s, bool tls) { return tls ? rc_tls_port(s) : rc_http_port(s); }

void rc_healthy(mt_server *s, bool tls, const char *what)
{
    rc_conn *c = rc_connect(rc_port_of(s, tls), tls);
    rc_ping(c, what);
    rc_close(c);
}

void rc_start(mt_server *s, mockapi_config *cfg, bool tls)
{
    if (tls)
        cfg->tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start_tracked(s, cfg), 0);
}

int rc_waiters(const mt_server *s) { return atomic_load(&s->m->def->state.waiters); }
int rc_feeds(const mt_server *s) { return atomic_load(&s->m->def->state.feeds); }

static bool count_reach(int (*count)(const mt_server *), const mt_server *s, int n, int64_t deadline)
{
    while (count(s) != n) {
        if (mt_now_ms() >= deadline)
            return false;
        /* the count moves on a loop thread; nothing to poll on from here */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

bool rc_waiters_reach(const mt_server *s, int n, int64_t deadline) { return count_reach(rc_waiters, s, n, deadline); }
bool rc_feeds_reach(const mt_server *s, int n, int64_t deadline) { return count_reach(rc_feeds, s, n, deadline); }

char *rc_fmt(const char *f, ...)
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

char *rc_pings_for(bool tls, int n)
{
    const char *one = tls ? RC_TLS_PING : RC_PING;
    size_t len = strlen(one);
    char *p = malloc((size_t)n * len + 1);
    if (!p)
        fail_msg("out of memory");
    for (int i = 0; i < n; i++)
        memcpy(p + (size_t)i * len, one, len);
    p[(size_t)n * len] = '\0';
    return p;
}

char *rc_pings(int n) { return rc_pings_for(false, n); }

void rc_expect_pings(rc_conn *c, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        char w[160];
        snprintf(w, sizeof w, "%s: ping %d of %d", what, i + 1, n);
        expect_ping_answer(c, w);
    }
}
