/* test_faults.c: faults on the wire (issue 14, fault.h), as a real client
 * sees them: libcurl's result codes (drop: nothing, 52; reset: 56; partial:
 * 18, or 56 with then=rst; hang: the client's own timeout, 28, or 52 when
 * hang=ms ends it), raw sockets for the bytes themselves (garbage, what a
 * partial writes, the close), on plain, keep-alive and TLS connections.
 * Delay and slow are measured against their deadlines: the lower bound
 * tightly (the fault must not come early), the upper one loosely and only
 * with wall-clock bounds on (not under valgrind). Stop ends held requests
 * at once, and many faulted requests leave no connection or descriptor
 * behind. The fault is asked for with the X-Mockapi-Fault header. */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"

/* A loose upper bound: the expected time plus slack for a loaded machine
 * (2 cores shared); no bound at all without wall-clock bounds. */
#define LOOSE_MS 3000

static bool tls_of(void **state)
{
    return *state != NULL;
}

/* One request through libcurl with `X-Mockapi-Fault: spec` (NULL: none) on
 * h (NULL: a fresh handle); *ms the time it took. Returns the result. */
static CURLcode faulted(CURL *h, mt_server *s, bool tls, const char *path, const char *spec,
                        long timeout_ms, mt_response *r, int64_t *ms)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr, "X-Mockapi-Fault: %s", spec ? spec : "");
    const char *hs[] = {hdr};
    mt_request rq = {.method = "GET",
                     .path = path,
                     .headers = hs,
                     .nheaders = spec ? 1 : 0,
                     .timeout_ms = timeout_ms,
                     .insecure = tls};
    int64_t t0 = mt_now_ms();
    mt_perform(h, tls ? s->tls_base : s->base, &rq, r);
    if (ms)
        *ms = mt_now_ms() - t0;
    return r->rc;
}

/* The cheapest GET of the listener (the TLS one has no /v1/ping). */
static const char *ping_path(bool tls)
{
    return tls ? "/test/assertions" : "/v1/ping";
}

/* Whether curl's code is the one wanted. A TLS connection cut with no
 * close_notify (a drop, a hang's end, a partial) is an empty reply (52) or
 * a partial file (18) to a client on OpenSSL 3.0 (Debian 12), and a
 * receive error (56: "unexpected eof while reading") on OpenSSL 3.5
 * (Debian 13), which reports the missing close_notify first. */
static bool code_is(bool tls, CURLcode got, CURLcode want)
{
    return got == want || (tls && (want == CURLE_GOT_NOTHING || want == CURLE_PARTIAL_FILE) &&
                           got == CURLE_RECV_ERROR);
}

static void expect_code(mt_server *s, bool tls, const char *spec, CURLcode want)
{
    mt_response r;
    CURLcode got = faulted(NULL, s, tls, ping_path(tls), spec, 10000, &r, NULL);
    if (!code_is(tls, got, want))
        fail_msg("%s %s: curl %d (%s), not %d", tls ? "TLS" : "plain", spec, (int)got, r.error,
                 (int)want);
    mt_response_free(&r);
}

/* The curl codes of the cutting faults. */
static void flt_curl_codes(void **state)
{
    bool tls = tls_of(state);
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, tls);
    expect_code(&s, tls, "drop", CURLE_GOT_NOTHING);
    expect_code(&s, tls, "reset", CURLE_RECV_ERROR);
    expect_code(&s, tls, "partial=1", CURLE_PARTIAL_FILE);
    expect_code(&s, tls, "partial=1; then=rst", CURLE_RECV_ERROR);
    expect_code(&s, tls, "partial=0", CURLE_PARTIAL_FILE);
    /* the same fault after a delay */
    expect_code(&s, tls, "delay=50; drop", CURLE_GOT_NOTHING);
    expect_code(&s, tls, "delay=50; reset", CURLE_RECV_ERROR);

    /* partial: exactly the head and that many body bytes arrive */
    mt_response r;
    assert_true(code_is(tls, faulted(NULL, &s, tls, ping_path(tls), "partial=2", 10000, &r, NULL),
                        CURLE_PARTIAL_FILE));
    assert_int_equal(r.len, 2);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);

    /* hang: the client gives up first (28); hang=ms ends it with a FIN (52) */
    int64_t ms;
    assert_int_equal(faulted(NULL, &s, tls, ping_path(tls), "hang", 300, &r, &ms),
                     CURLE_OPERATION_TIMEDOUT);
    assert_true(ms >= 299);
    mt_response_free(&r);
    assert_true(code_is(tls, faulted(NULL, &s, tls, ping_path(tls), "hang=300", 10000, &r, &ms),
                        CURLE_GOT_NOTHING));
    assert_true(ms >= 299);
    if (mt_timing_on() && ms > 300 + LOOSE_MS)
        fail_msg("hang=300 ended after %lld ms", (long long)ms);
    mt_response_free(&r);
    rc_healthy(&s, tls, "after the cutting faults");
}

/* partial cuts the flattened response wherever its body comes from: a
 * shared capture written by reference (over 16 KiB) and the journal's
 * listing made by a producer (over 64 KiB). */
static void flt_partial_sources(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    size_t big = 20000;
    char *body = malloc(big + 1);
    assert_non_null(body);
    memset(body, 'a', big);
    body[big] = '\0';
    mt_response r;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    for (int i = 0; i < 5; i++) { /* 5 x 20 KB in the journal: its listing is produced */
        mt_send(h, s.base, "POST", "/v1/nodes/n1/metrics", body, &r);
        assert_int_equal(r.status, 400); /* not a metric batch, captured all the same */
        mt_response_free(&r);
    }
    free(body);
    const char *paths[] = {"/test/last-request/metrics", "/test/requests"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(faulted(h, &s, false, paths[i], NULL, 10000, &r, NULL), CURLE_OK);
        assert_true(r.len >= big);
        mt_response_free(&r);
        assert_int_equal(faulted(h, &s, false, paths[i], "partial=100", 10000, &r, NULL),
                         CURLE_PARTIAL_FILE);
        if (r.len != 100)
            fail_msg("%s partial=100: %zu body bytes", paths[i], r.len);
        mt_response_free(&r);
        /* the reset waits until the bytes written have left the socket */
        assert_int_equal(faulted(h, &s, false, paths[i], "partial=15000; then=rst", 10000, &r, NULL),
                         CURLE_RECV_ERROR);
        if (r.len != 15000)
            fail_msg("%s partial=15000; then=rst: %zu body bytes", paths[i], r.len);
        mt_response_free(&r);
    }
    curl_easy_cleanup(h);
    rc_healthy(&s, false, "after partial bodies");
}

/* delay: the answer comes whole, no earlier than asked, even past the
 * request deadline (the fault's clock rules); slow: the whole response at
 * the pace asked, also past that deadline. */
static void flt_delay_slow(void **state)
{
    bool tls = tls_of(state);
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    /* shorter than the delay and the slowed transfer: neither is a timeout */
    cfg.request_timeout_ms = mt_timing_on() ? 200 : 2000;
    unsigned delay = cfg.request_timeout_ms * 2;
    rc_start(&s, &cfg, tls);
    mt_response plain, r;
    assert_int_equal(faulted(NULL, &s, tls, ping_path(tls), NULL, 10000, &plain, NULL), CURLE_OK);

    char spec[64];
    int64_t ms;
    snprintf(spec, sizeof spec, "delay=%u", delay);
    assert_int_equal(faulted(NULL, &s, tls, ping_path(tls), spec, 30000, &r, &ms), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, plain.len);
    assert_memory_equal(r.body, plain.body, plain.len);
    if (ms < delay)
        fail_msg("%s answered after %lld ms", spec, (long long)ms);
    if (mt_timing_on() && ms > delay + LOOSE_MS)
        fail_msg("%s answered after %lld ms", spec, (long long)ms);
    mt_response_free(&r);

    /* slow: the response (head and body) is about 150 bytes plain and
     * 700 TLS; at bps it takes at least its size / bps, less one slice */
    unsigned bps = tls ? 1400 : 300;
    snprintf(spec, sizeof spec, "slow=%u", bps);
    assert_int_equal(faulted(NULL, &s, tls, ping_path(tls), spec, 60000, &r, &ms), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, plain.len);
    size_t head = 0;
    for (size_t i = 0; i < r.nheaders; i++)
        head += strlen(r.headers[i].name) + strlen(r.headers[i].value) + 4;
    int64_t total = (int64_t)(head + 17 + 2 + r.len); /* status line, blank line */
    int64_t least = total * 1000 / bps - 20 - 20;       /* a slice's worth, a rounding */
    if (ms < least)
        fail_msg("%s: %lld bytes in %lld ms, under %lld", spec, (long long)total, (long long)ms,
                 (long long)least);
    if (mt_timing_on() && ms > total * 1000 / bps + LOOSE_MS)
        fail_msg("%s: %lld bytes in %lld ms", spec, (long long)total, (long long)ms);
    mt_response_free(&r);

    /* hang=ms longer than the request deadline: its own clock ends it */
    snprintf(spec, sizeof spec, "hang=%u", delay);
    assert_true(code_is(tls, faulted(NULL, &s, tls, ping_path(tls), spec, 30000, &r, &ms),
                        CURLE_GOT_NOTHING));
    if (ms < delay)
        fail_msg("%s ended after %lld ms", spec, (long long)ms);
    mt_response_free(&r);

    /* both, with a cut: delay, then a paced partial */
    snprintf(spec, sizeof spec, "delay=%u; slow=%u; partial=1", delay, bps);
    assert_true(code_is(tls, faulted(NULL, &s, tls, ping_path(tls), spec, 60000, &r, &ms),
                        CURLE_PARTIAL_FILE));
    assert_int_equal(r.len, 1);
    assert_true(ms >= delay);
    mt_response_free(&r);
    mt_response_free(&plain);
    rc_healthy(&s, tls, "after delays and slow answers");
}

/* A keep-alive connection: the second request on it is faulted (delayed,
 * then slowed), the connection stays and serves a third; a cutting fault
 * on a kept-alive connection ends it. */
static void flt_keepalive(void **state)
{
    bool tls = tls_of(state);
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, tls);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    mt_response r;
    long connects;
    const char *specs[] = {NULL, "delay=200", "slow=5000", NULL};
    for (size_t i = 0; i < 4; i++) {
        int64_t ms;
        assert_int_equal(faulted(h, &s, tls, ping_path(tls), specs[i], 10000, &r, &ms), CURLE_OK);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        if (i > 0 && connects != 0)
            fail_msg("request %zu (%s) opened a new connection", i, specs[i] ? specs[i] : "none");
        if (i == 1)
            assert_true(ms >= 200);
    }
    assert_int_equal(faulted(h, &s, tls, ping_path(tls), "reset", 10000, &r, NULL), CURLE_RECV_ERROR);
    mt_response_free(&r);
    assert_int_equal(faulted(h, &s, tls, ping_path(tls), NULL, 10000, &r, NULL), CURLE_OK);
    mt_response_free(&r);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    assert_int_equal(connects, 1); /* the reset ended the kept one */
    curl_easy_cleanup(h);

    /* raw: a delayed request with two pipelined behind it, answered in order */
    rc_conn *c = rc_connect(rc_port_of(&s, tls), tls);
    const char *p = tls ? RC_TLS_PING : RC_PING;
    char *three = rc_fmt("GET %s HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: delay=200\r\n\r\n%s%s",
                         ping_path(tls), p, p);
    int64_t t0 = mt_now_ms();
    rc_send(c, three);
    free(three);
    rc_resp rr;
    rc_expect_status(c, &rr, 200, "the delayed one");
    assert_true(mt_now_ms() - t0 >= 200);
    rc_resp_free(&rr);
    rc_expect_pings(c, 2, "behind the delayed one");
    rc_ping(c, "after");
    rc_close(c);
}

/* The bytes on a raw socket: garbage is not HTTP and ends with the close;
 * drop and hang=ms write nothing before theirs. */
static void flt_raw_bytes(void **state)
{
    bool tls = tls_of(state);
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, tls);
    const char *specs[] = {"garbage", "drop", "hang=100", "delay=100; garbage"};
    for (size_t i = 0; i < 4; i++) {
        rc_conn *c = rc_connect(rc_port_of(&s, tls), tls);
        char *req = rc_fmt("GET %s HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: %s\r\n\r\n", ping_path(tls),
                           specs[i]);
        rc_send(c, req);
        free(req);
        rc_expect_closed(c, specs[i]);
        if (strstr(specs[i], "garbage")) {
            assert_true(c->len > 0);
            assert_false(c->len >= 5 && memcmp(c->buf, "HTTP/", 5) == 0);
        } else if (c->len != 0) {
            fail_msg("%s: %zu bytes came", specs[i], c->len);
        }
        rc_close(c);
    }
    /* hang without end: quiet until the client leaves, which frees it */
    rc_conn *c = rc_connect(rc_port_of(&s, tls), tls);
    char *req = rc_fmt("GET %s HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: hang\r\n\r\n", ping_path(tls));
    rc_send(c, req);
    free(req);
    rc_expect_quiet(c, 300, "a hung request");
    rc_close(c);
    rc_healthy(&s, tls, "after raw faults");
}

/* Many held requests with delays and hang=ms in no order: each is answered
 * (or closed) no earlier than its own time, and all of them are (the
 * thread's timer heap keeps them in order whatever order they came in). */
static void flt_many_delays(void **state)
{
    (void)state;
    enum { N = 300 };
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    int port = rc_http_port(&s);
    int fd[N];
    unsigned ms[N];
    int64_t sent[N], came[N];
    for (int i = 0; i < N; i++) {
        ms[i] = 20 + (unsigned)((i * 37) % 100) * 4; /* 20..416 ms, shuffled */
        fd[i] = mt_connect(port);
        if (fd[i] < 0)
            fail_msg("connect %d failed", i);
        char *req = rc_fmt("GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: %s=%u\r\n\r\n",
                           i % 3 == 2 ? "hang" : "delay", ms[i]);
        sent[i] = mt_now_ms();
        if (mt_send_all(fd[i], req, strlen(req)) != 0)
            fail_msg("send %d failed", i);
        free(req);
        came[i] = 0;
    }
    int left = N;
    int64_t deadline = mt_now_ms() + 420 + RC_WAIT_MS * (mt_timing_on() ? 2 : 10);
    while (left > 0 && mt_now_ms() < deadline) {
        struct pollfd p[N];
        int map[N], np = 0;
        for (int i = 0; i < N; i++)
            if (!came[i]) {
                p[np] = (struct pollfd){.fd = fd[i], .events = POLLIN};
                map[np++] = i;
            }
        if (poll(p, (nfds_t)np, 100) <= 0)
            continue;
        int64_t now = mt_now_ms();
        for (int k = 0; k < np; k++)
            if (p[k].revents) {
                came[map[k]] = now;
                left--;
            }
    }
    if (left > 0)
        fail_msg("%d of %d held requests got nothing by the deadline", left, N);
    for (int i = 0; i < N; i++) {
        if (came[i] - sent[i] < (int64_t)ms[i])
            fail_msg("request %d (%s=%u) answered after %lld ms", i, i % 3 == 2 ? "hang" : "delay",
                     ms[i], (long long)(came[i] - sent[i]));
        char b[256];
        ssize_t r = recv(fd[i], b, sizeof b, 0);
        if (i % 3 == 2 ? r != 0 : r < 12 || memcmp(b, "HTTP/1.1 200", 12) != 0)
            fail_msg("request %d: %zd bytes, not %s", i, r, i % 3 == 2 ? "a close" : "its answer");
        close(fd[i]);
    }
    rc_healthy(&s, false, "after many delays");
}

/* A region taken down ends the requests a fault holds on it (a hang, a
 * delay not yet answered) at once, as its other connections; a slowed
 * answer already being written ends when written. */
static void flt_region_down(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    cfg.regions = 2;
    rc_start(&s, &cfg, false);
    int port = mockapi_region_port(s.m, 1);
    const char *specs[] = {"hang", "delay=60000", "slow=2000"};
    rc_conn *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = rc_connect(port, false);
        char *req = rc_fmt("GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: %s\r\n\r\n", specs[i]);
        rc_send(c[i], req);
        free(req);
    }
    /* all three run (journaled) and held */
    mt_response r;
    assert_int_equal(mt_get(NULL, s.base, "/test/wait?path=/v1/ping&op=gte&value=3&timeout_ms=10000", &r), 0);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    char err[256];
    if (mockapi_region_down(s.m, 1, err, sizeof err) != 0)
        fail_msg("region 1 down: %s", err);
    for (int i = 0; i < 3; i++) {
        if (!rc_closed_by(c[i], mt_now_ms() + RC_WAIT_MS))
            fail_msg("%s on a downed region not ended", specs[i]);
        if (i < 2 && c[i]->len != 0)
            fail_msg("%s: %zu bytes came", specs[i], c[i]->len);
        rc_close(c[i]);
    }
    rc_healthy(&s, false, "region 0 after region 1 went down");
}

/* GET /test/stats' figure `name`, and `name2`'s from the same answer into
 * *v2 (name2 NULL: none). */
static long long stat_of2(mt_server *s, const char *name, const char *name2, long long *v2)
{
    mt_response r;
    if (mt_get(NULL, s->base, "/test/stats", &r) != 0 || r.status != 200)
        fail_msg("GET /test/stats: %ld %s", r.status, r.error);
    json_t *j = json_loadb((const char *)r.body, r.len, 0, NULL);
    json_t *v = j ? json_object_get(j, name) : NULL;
    json_t *w = j && name2 ? json_object_get(j, name2) : NULL;
    if (!json_is_integer(v) || (name2 && !json_is_integer(w)))
        fail_msg("/test/stats lacks \"%s\" or \"%s\"", name, name2 ? name2 : "");
    long long n = (long long)json_integer_value(v);
    if (name2)
        *v2 = (long long)json_integer_value(w);
    json_decref(j);
    mt_response_free(&r);
    return n;
}

static long long stat_of(mt_server *s, const char *name)
{
    return stat_of2(s, name, NULL, NULL);
}

/* The descriptors of this process (the server runs in it). */
static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Waits until only the asking connection is open and the descriptors are
 * back to base. */
static void expect_settled(mt_server *s, int base, const char *what)
{
    int64_t deadline = mt_now_ms() + RC_WAIT_MS * (mt_timing_on() ? 1 : 6);
    long long open = -1;
    int fds = -1;
    while (mt_now_ms() < deadline) {
        open = stat_of(s, "open");
        fds = fd_count();
        if (open == 1 && fds == base)
            return;
        rc_conn *c = rc_connect(rc_http_port(s), false); /* a round of the loop */
        rc_ping(c, "while the closes settle");
        rc_close(c);
    }
    fail_msg("%s: %lld connections open (1 expected), %d descriptors (%d before)", what, open, fds,
             base);
}

/* Stop with 100 hung requests (hang without end) returns at once, and each
 * of their clients sees the close. */
static void flt_stop_hung(void **state)
{
    bool tls = tls_of(state);
    enum { N = 100 };
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, tls);
    rc_conn *c[N];
    for (int i = 0; i < N; i++) {
        c[i] = rc_connect(rc_port_of(&s, tls), tls);
        char *req = rc_fmt("POST %s HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: hang\r\n%s"
                           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                           tls ? "/local/metrics" : RC_HB_PATH,
                           tls ? "Authorization: Bearer e2e-local-bearer-token\r\n" : "",
                           tls ? (size_t)2 : strlen(RC_HB_BODY), tls ? "[]" : RC_HB_BODY);
        rc_send(c[i], req);
        free(req);
    }
    /* every one of them was run (journaled) and is now held */
    mt_response r;
    char path[128];
    snprintf(path, sizeof path, "/test/wait?path=%s&op=gte&value=%d&timeout_ms=30000",
             tls ? "/local/metrics" : RC_HB_PATH, N);
    assert_int_equal(mt_get(NULL, s.base, path, &r), 0);
    if (r.status != 200)
        fail_msg("%s: %ld %s", path, r.status, (const char *)r.body);
    mt_response_free(&r);
    rc_expect_quiet(c[N - 1], 100, "the last hung request");
    int64_t t0 = mt_now_ms();
    mt_server_untrack_free(&s);
    int64_t ms = mt_now_ms() - t0;
    if (mt_timing_on() && ms > 1000)
        fail_msg("stop with %d hung requests took %lld ms", N, (long long)ms);
    for (int i = 0; i < N; i++) {
        if (!rc_closed_by(c[i], mt_now_ms() + RC_WAIT_MS))
            fail_msg("hung request %d not closed by stop", i);
        assert_int_equal(c[i]->len, 0);
        rc_close(c[i]);
    }
}

/* Many faulted requests of every cutting kind (and delayed, slowed and
 * hung ones that end) leave no connection open and no descriptor behind;
 * ASan and valgrind see the memory. */
static void flt_no_leak(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, true);
    int port = rc_http_port(&s);
    int base = fd_count();
    (void)stat_of(&s, "open"); /* its connection counted before the base is taken */
    int n = mt_timing_on() ? 10000 : 600;
    static const char *const specs[] = {"drop", "reset", "partial=5", "partial=5; then=rst",
                                        "garbage", "hang=1", "delay=1; drop", "slow=100000",
                                        "delay=1", "partial=0; then=rst"};
    enum { NSPECS = sizeof specs / sizeof specs[0] };
    char *reqs[NSPECS];
    for (int k = 0; k < NSPECS; k++)
        reqs[k] = rc_fmt("GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         "X-Mockapi-Fault: %s\r\n\r\n",
                         specs[k]);
    for (int i = 0; i < n; i++) {
        int fd = mt_connect(port);
        if (fd < 0)
            fail_msg("connect %d failed", i);
        const char *q = reqs[i % NSPECS];
        if (mt_send_all(fd, q, strlen(q)) != 0)
            fail_msg("send %d (%s) failed", i, specs[i % NSPECS]);
        unsigned char *buf = NULL;
        size_t len = 0;
        if (mt_read_until_close(fd, mt_now_ms() + RC_WAIT_MS * 4, &buf, &len) != 1)
            fail_msg("request %d (%s) not closed", i, specs[i % NSPECS]);
        free(buf);
        close(fd);
    }
    for (int k = 0; k < NSPECS; k++)
        free(reqs[k]);
    /* hung without end: each is freed when its client leaves */
    int hung[50];
    for (int i = 0; i < 50; i++) {
        hung[i] = mt_connect(port);
        const char *q = "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: hang\r\n\r\n";
        if (hung[i] < 0 || mt_send_all(hung[i], q, strlen(q)) != 0)
            fail_msg("hung request %d not sent", i);
    }
    for (int i = 0; i < 50; i++)
        close(hung[i]);
    /* and a few through TLS */
    for (int i = 0; i < 60; i++) {
        mt_response r;
        faulted(NULL, &s, true, "/test/assertions", specs[i % NSPECS], 10000, &r, NULL);
        mt_response_free(&r);
    }
    expect_settled(&s, base, "after the faulted requests");
    long long closed;
    long long acc = stat_of2(&s, "accepted", "closed", &closed);
    assert_true(acc >= n);
    assert_int_equal(acc, closed + 1); /* the asking one */
}

/* Event streams: a delay delays the hand-over to the hub; a wire fault
 * other than the response keeps the stream from it. */
static void flt_stream(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    int64_t t0 = mt_now_ms();
    rc_send(c, "GET /v1/nodes/n1/events HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: delay=300\r\n\r\n");
    while (!strstr((const char *)c->buf ? (const char *)c->buf : "", "\r\n\r\n"))
        if (rc_fill(c, t0 + 300 + RC_WAIT_MS * 2) != 1)
            fail_msg("no stream head: %s", c->buf ? (const char *)c->buf : "");
    assert_true(mt_now_ms() - t0 >= 300);
    assert_non_null(strstr((const char *)c->buf, "text/event-stream"));
    mt_response r;
    assert_int_equal(mt_get(NULL, s.base, "/test/sse/wait?clients=1&timeout_ms=10000", &r), 0);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    rc_close(c);

    /* delayed, with a stream key: the hub gets the fault with the stream */
    c = rc_connect(rc_http_port(&s), false);
    t0 = mt_now_ms();
    rc_send(c, "GET /v1/nodes/n2/events HTTP/1.1\r\nHost: x\r\n"
               "X-Mockapi-Fault: delay=200; retry=4321\r\n\r\n");
    while (!strstr((const char *)c->buf ? (const char *)c->buf : "", "retry: 4321"))
        if (rc_fill(c, t0 + 200 + RC_WAIT_MS * 2) != 1)
            fail_msg("no retry: line after the delay: %s", c->buf ? (const char *)c->buf : "");
    assert_true(mt_now_ms() - t0 >= 200);
    rc_close(c);

    c = rc_connect(rc_http_port(&s), false);
    rc_send(c, "GET /v1/nodes/n1/events HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: drop\r\n\r\n");
    rc_expect_closed(c, "a dropped stream");
    assert_int_equal(c->len, 0);
    rc_close(c);
    rc_healthy(&s, false, "after faulted streams");
}

int mt_run_fault_tests(void)
{
    static int tls_on = 1;
#define BOTH(f)                                                                                  \
    cmocka_unit_test_prestate_setup_teardown(f, NULL, rc_teardown, NULL),                        \
        {#f "_tls", f, NULL, rc_teardown, &tls_on}
    const struct CMUnitTest tests[] = {
        BOTH(flt_curl_codes),
        BOTH(flt_delay_slow),
        BOTH(flt_keepalive),
        BOTH(flt_raw_bytes),
        BOTH(flt_stop_hung),
        cmocka_unit_test_teardown(flt_partial_sources, rc_teardown),
        cmocka_unit_test_teardown(flt_many_delays, rc_teardown),
        cmocka_unit_test_teardown(flt_region_down, rc_teardown),
        cmocka_unit_test_teardown(flt_stream, rc_teardown),
        cmocka_unit_test_teardown(flt_no_leak, rc_teardown),
    };
#undef BOTH
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
