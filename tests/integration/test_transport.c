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
 * The client is raw_client.c's: mbedTLS's over a non-blocking socket polled
 * with a deadline, so a record boundary is wherever a test puts it (one
 * rc_send, at most 16 KiB, is one record). Nothing sleeps to synchronise:
 * every wait is a poll with a deadline or a loop on a condition with one;
 * the only fixed waits assert that nothing arrives meanwhile.
 *
 * The number of parked waits is read from the instance itself
 * (rc_waiters: m->def->state.waiters, through server.h): a wait whose client
 * left must stop being counted, and nothing outside says so directly. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/ssl.h>

#include "harness.h"
#include "raw_client.h"

#define QUIET_MS 30  /* how long "nothing arrives" is watched for */

/* A journal count over HTTP on c: GET /test/wait with value 0 answers at once. */
static int64_t journal_count(rc_conn *c, const char *filter)
{
    char *req =
        rc_fmt("GET /test/wait?%s&op=gte&value=0&timeout_ms=1 HTTP/1.1\r\nHost: x\r\n\r\n", filter);
    rc_resp r;
    rc_send(c, req);
    free(req);
    rc_expect_status(c, &r, 200, "GET /test/wait (count)");
    const char *v = strstr((const char *)r.body, "\"value\":");
    int64_t n = v ? strtoll(v + 8, NULL, 10) : -1;
    rc_resp_free(&r);
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
    rc_conn *c = rc_connect(rc_http_port(s), false);
    char *big = malloc(n + 1);
    if (!big)
        fail_msg("out of memory");
    memset(big, 'x', n);
    big[n] = '\0';
    char *head =
        rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    rc_send(c, head);
    rc_send(c, big);
    free(head);
    free(big);
    rc_resp r;
    rc_expect_status(c, &r, 400, "POST of a large non-JSON heartbeat (captured)");
    rc_resp_free(&r);
    rc_close(c);
    /* gone on the server's side too: the tests that count descriptors
     * start from here */
    if (!fds_reach(base, mt_now_ms() + RC_WAIT_MS))
        fail_msg("the server kept the capturing connection");
}

/* Every journal entry of route (include_test) has an empty body: a request
 * whose body was never read must not be recorded with one. */
static void expect_journal_bodies_empty(rc_conn *c, const char *route)
{
    char *req =
        rc_fmt("GET /test/requests?include_test=1&route=%s HTTP/1.1\r\nHost: x\r\n\r\n", route);
    rc_resp r;
    rc_send(c, req);
    free(req);
    rc_expect_status(c, &r, 200, "GET /test/requests");
    int all = 0, empty = 0;
    /* the request's body_size follows its body_encoding (the response
     * object has a body_size of its own) */
    for (const char *p = (const char *)r.body; (p = strstr(p, "\"body_encoding\":")); p++) {
        p = strstr(p, "\"body_size\":");
        if (!p)
            break;
        all++;
        if (strncmp(p, "\"body_size\":0,", 14) == 0)
            empty++;
    }
    if (all == 0 || all != empty) {
        char *s = mt_show(r.body, r.body_len);
        fail_msg("journal of %s: %d entries, %d with an empty body: %s", route, all, empty,
                 s ? s : "?");
    }
    rc_resp_free(&r);
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
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 1000;
    rc_start(&s, &cfg, false);

    /* over the limit: parked unread, answered at its own deadline, then
     * closed (long before the idle deadline, 10 s) */
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_send(c, "GET /test/wait?route=ping&value=1&timeout_ms=100 HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 5000\r\n\r\n");
    rc_expect_status(c, &r, 408, "wait with a body over the limit");
    rc_resp_free(&r);
    rc_expect_closed(c, "after answering a wait whose body was not read");
    rc_close(c);
    c = rc_connect(rc_http_port(&s), false);
    expect_journal_bodies_empty(c, "wait");
    rc_close(c);
    mt_server_untrack_free(&s);

    /* incomplete: the request deadline passes, the wait parks, a ping
     * (journaled) releases it; then the connection closes, before its idle
     * deadline */
    cfg.request_timeout_ms = 1000;
    rc_start(&s, &cfg, false);
    c = rc_connect(rc_http_port(&s), false);
    rc_send(c, "GET /test/wait?route=ping&value=1&timeout_ms=10000 HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 10\r\n\r\nabc");
    /* run (and parked) once the request deadline has passed */
    if (!rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS))
        fail_msg("the wait did not park after its request deadline");
    rc_healthy(&s, false, "the ping that releases the wait");
    rc_expect_status(c, &r, 200, "wait with an incomplete body, released");
    rc_resp_free(&r);
    int64_t answered = mt_now_ms();
    rc_expect_closed(c, "after answering a wait whose body did not arrive");
    if (mt_timing_on() && mt_now_ms() - answered > 500)
        fail_msg("closed %lld ms after the answer: at the idle deadline, not at once",
                 (long long)(mt_now_ms() - answered));
    rc_close(c);
    assert_true(rc_waiters_reach(&s, 0, mt_now_ms() + RC_WAIT_MS));
    c = rc_connect(rc_http_port(&s), false);
    expect_journal_bodies_empty(c, "wait");
    rc_close(c);
}

/* ---- pipelined requests ------------------------------------------------------- */

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
    rc_start(&s, &cfg, true);
    rc_conn *c = rc_connect(rc_tls_port(&s), true);
    int n = 16384 / (int)strlen(RC_TLS_PING); /* one full record */
    char *p = rc_pings_for(true, n);
    rc_send(c, p);
    free(p);
    rc_expect_pings(c, n, "one record of pipelined pings");
    rc_ping(c, "after them");
}

/* Pipelined requests behind a parked /test/wait are answered after it, in
 * order, and not run while it is parked (more of them than the loop's
 * buffer holds: max_header_bytes 1024). The TLS listener has no waits. */
static void tr_pipelined_behind_wait(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_header_bytes = 1024;
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    const int n = 100;
    char *p = rc_pings(n);
    char *req =
        rc_fmt("GET /test/wait?route=ping&value=1&timeout_ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n"
               "%sPOST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
               p, strlen(RC_HB_BODY), RC_HB_BODY);
    free(p);
    rc_send(c, req);
    free(req);
    assert_true(rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS));
    rc_expect_quiet(c, QUIET_MS, "a parked wait with requests behind it");
    /* the pings behind it were not run: the journal has none yet */
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    rc_healthy(&s, false, "the ping that releases the wait");
    rc_expect_status(c, &r, 200, "the wait");
    assert_non_null(strstr((const char *)r.body, "\"value\":1,"));
    rc_resp_free(&r);
    rc_expect_pings(c, n, "behind the wait");
    rc_expect_status(c, &r, 200, "the heartbeat behind the pings");
    rc_resp_free(&r);
    rc_ping(c, "after them");
    assert_int_equal(rc_waiters(&s), 0);
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
    rc_start(&s, &cfg, false);
    capture_large(&s, big);
    const size_t totals[] = {4095, 8191, 4096, 3000};
    for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++) {
        size_t total = totals[k];
        rc_conn *c = rc_connect_with(rc_http_port(&s), false, NULL, 4096);
        rc_resp r;
        char what[96];
        rc_send(c, "GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
        /* the answer has begun: the GET was read alone, the rest is stuck */
        if (!rc_wait_fd(c->fd, POLLIN, mt_now_ms() + RC_WAIT_MS))
            fail_msg("no answer to GET /test/last-request/heartbeat");
        /* n pings, the last padded with a header to make the total exact */
        int n = (int)(total / RC_PING_LEN) - 1;
        char *p = rc_pings(n);
        size_t pad = total - (size_t)n * RC_PING_LEN - (RC_PING_LEN + 5);
        char *last = rc_fmt("GET /v1/ping HTTP/1.1\r\nHost: x\r\nX: %*s\r\n\r\n", (int)pad, "");
        assert_int_equal(strlen(p) + strlen(last), total);
        rc_send(c, p);
        rc_send(c, last);
        free(p);
        free(last);
        shutdown(c->fd, SHUT_WR);
        /* now the 8 MiB may come faster (within the window scale that the
         * small buffer set at connect allows) */
        int rcv = 1 << 20;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        snprintf(what, sizeof what, "%zu bytes pipelined, then SHUT_WR", total);
        rc_expect_status(c, &r, 200, what);
        assert_int_equal(r.body_len, big);
        rc_resp_free(&r);
        rc_expect_pings(c, n + 1, what);
        rc_expect_closed(c, what);
        assert_int_equal(c->len, 0);
        rc_close(c);
    }
}

/* ---- header lines the head parser does not return --------------------------- */

/* req is refused with status and nothing else is answered on the
 * connection (no part of it is taken for a next request). */
static void expect_refused_alone(mt_server *s, const char *req, int status, const char *what)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    rc_resp r;
    rc_send(c, req);
    rc_expect_status(c, &r, status, what);
    rc_resp_free(&r);
    rc_expect_closed(c, what);
    if (c->len != 0) {
        char *shown = mt_show(c->buf, c->len);
        fail_msg("%s: more came after the refusal: %s", what, shown ? shown : "?");
    }
    rc_close(c);
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
    rc_start(&s, &cfg, false);
    const char *chunked = "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

    char many[4096] = "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 70; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: y\r\n", i);
    strcat(many, chunked);
    expect_refused_alone(&s, many, 431, "70 header fields, then Transfer-Encoding: chunked");

    char *folded =
        rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n%s", chunked);
    expect_refused_alone(&s, folded, 400, "a folded line, then Transfer-Encoding: chunked");
    free(folded);

    /* 64 fields is what the parser holds: still served; so are blank lines
     * before a request line */
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    char full[4096] = "GET /v1/ping HTTP/1.1\r\n";
    for (int i = 0; i < 63; i++)
        snprintf(full + strlen(full), sizeof full - strlen(full), "X-%d: y\r\n", i);
    strcat(full, "Host: x\r\n\r\n");
    rc_send(c, full);
    rc_expect_exact(c, 200, "{}\n", "64 header fields");
    rc_send(c, "\r\n" RC_PING);
    rc_expect_exact(c, 200, "{}\n", "a blank line before the request line");
    rc_ping(c, "after them");
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
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_send(c, "GET /v1/ping HTTP/1.1\nHost: x\n\n" RC_PING);
    rc_expect_exact(c, 200, "{}\n", "a bare-LF head, pipelined");
    rc_expect_exact(c, 200, "{}\n", "the CRLF request behind it");
    char *lf = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\nHost: x\nContent-Length: %zu\n\n%s",
                      strlen(RC_HB_BODY) + 4, RC_HB_BODY "\r\n\r\n");
    rc_send(c, lf);
    free(lf);
    rc_expect_status(c, &r, 200, "a bare-LF head, a body with CRLFCRLF in it");
    rc_resp_free(&r);
    rc_ping(c, "after them");
}

/* ---- requests split at every byte ------------------------------------------- */

/* A POST of RC_HB_BODY framed by chunks, with an extension, a bare-LF data
 * line end and a trailer field; malloc'd. */
static char *hb_chunked(const char *extra_head)
{
    size_t n = strlen(RC_HB_BODY);
    return rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n"
                  "10;name=\"v\"\r\n%.16s\r\n%zx\r\n%s\n0\r\nX-Trailer: 1\r\n\r\n",
                  extra_head ? extra_head : "", RC_HB_BODY, n - 16, RC_HB_BODY + 16);
}

/* Each request is sent in two parts, split after every byte, the server
 * given time to read the first part alone (it must not answer it); every
 * one is answered as if sent whole. Over TLS each part is its own record. */
static void split_every_byte(bool tls)
{
    mockapi_config cfg;
    mt_server s;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, tls);
    rc_conn *c = rc_connect(rc_port_of(&s, tls), tls);
    char *reqs[3];
    int status[3];
    reqs[0] = strdup(tls ? RC_TLS_PING : RC_PING);
    status[0] = 200;
    if (tls) { /* a TLS body route: POST /local/metrics, a JSON array */
        const char *auth = "Authorization: Bearer e2e-local-bearer-token\r\n";
        reqs[1] = rc_fmt("POST /local/metrics HTTP/1.1\r\nHost: x\r\n%sContent-Length: 9\r\n\r\n"
                         "[1,2,3,4]",
                         auth);
        reqs[2] =
            rc_fmt("POST /local/metrics HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n"
                   "\r\n3;a=b\r\n[1,\r\n6\r\n2,3,4]\n0\r\nX-T: 1\r\n\r\n",
                   auth);
        status[1] = status[2] = 204;
    } else {
        reqs[1] = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                         strlen(RC_HB_BODY), RC_HB_BODY);
        reqs[2] = hb_chunked(NULL);
        status[1] = status[2] = 200;
    }
    int answered = 0;
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(reqs[k]);
        for (size_t cut = 1; cut < len; cut++) {
            char what[96];
            rc_resp r;
            snprintf(what, sizeof what, "request %d split after byte %zu of %zu", k, cut, len);
            if (rc_send_n(c, reqs[k], cut) != 0)
                fail_msg("%s: the server has gone", what);
            rc_expect_quiet(c, 2, what);
            if (rc_send_n(c, reqs[k] + cut, len - cut) != 0)
                fail_msg("%s: the server has gone", what);
            rc_expect_status(c, &r, status[k], what);
            rc_resp_free(&r);
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
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);

    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_send(c, WAIT_PING1);
    assert_true(rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS));
    rc_close(c);
    if (!rc_waiters_reach(&s, 0, mt_now_ms() + RC_WAIT_MS))
        fail_msg("a wait whose client closed is still counted: %d", rc_waiters(&s));

    c = rc_connect(rc_http_port(&s), false);
    rc_send(c, WAIT_PING1);
    assert_true(rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS));
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    rc_close(c); /* a reset */
    if (!rc_waiters_reach(&s, 0, mt_now_ms() + RC_WAIT_MS))
        fail_msg("a wait whose client reset is still counted: %d", rc_waiters(&s));

    rc_conn *many[20];
    for (int i = 0; i < 20; i++) {
        many[i] = rc_connect(rc_http_port(&s), false);
        rc_send(many[i], WAIT_PING1);
    }
    assert_true(rc_waiters_reach(&s, 20, mt_now_ms() + RC_WAIT_MS));
    for (int i = 0; i < 20; i++)
        rc_close(many[i]);
    if (!rc_waiters_reach(&s, 0, mt_now_ms() + RC_WAIT_MS))
        fail_msg("20 waits whose clients closed: %d still counted", rc_waiters(&s));

    c = rc_connect(rc_http_port(&s), false);
    rc_send(c, WAIT_PING1);
    assert_true(rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS));
    rc_expect_quiet(c, QUIET_MS, "a later wait, before its condition");
    rc_healthy(&s, false, "the ping that releases it");
    rc_expect_status(c, &r, 200, "a later wait");
    rc_resp_free(&r);
    assert_int_equal(rc_waiters(&s), 0);
    rc_ping(c, "the same connection after it");
}

/* /test/wait with a body (Content-Length, chunked): parked with it, answered,
 * and the pipelined request behind the body is served next. */
static void tr_wait_with_body(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    const char *framing[2] = {"Content-Length: 5\r\n\r\nhello",
                              "Transfer-Encoding: chunked\r\n\r\n2;x\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"};
    for (int k = 0; k < 2; k++) {
        int64_t pings_now = journal_count(c, "route=ping");
        char *req = rc_fmt("GET /test/wait?route=ping&value=%lld&timeout_ms=20000 HTTP/1.1\r\n"
                           "Host: x\r\n%s" RC_PING,
                           (long long)pings_now + 1, framing[k]);
        rc_send(c, req);
        free(req);
        assert_true(rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS));
        rc_expect_quiet(c, QUIET_MS, "a parked wait with a body");
        rc_healthy(&s, false, "the ping that releases the wait");
        rc_expect_status(c, &r, 200, k ? "a wait with a chunked body" : "a wait with a body");
        rc_resp_free(&r);
        rc_expect_exact(c, 200, "{}\n", "the ping behind the wait's body");
        assert_int_equal(rc_waiters(&s), 0);
    }
}

/* ---- chunked bodies at and over their limits ------------------------------- */

/* A heartbeat of exactly n bytes (RC_HB_BODY and trailing spaces, still JSON). */
static char *hb_padded(size_t n)
{
    size_t b = strlen(RC_HB_BODY);
    char *p = malloc(n + 1);
    if (!p || n < b)
        fail_msg("hb_padded(%zu)", n);
    memcpy(p, RC_HB_BODY, b);
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
    rc_conn *c = rc_connect(rc_http_port(s), false);
    rc_resp r;
    rc_send(c, "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    (void)rc_send_n(c, body, strlen(body)); /* a refusal may close before the end */
    int st = rc_read(c, mt_now_ms() + RC_WAIT_MS, &r);
    if (st == 0)
        fail_msg("%s: no answer", what);
    rc_resp_free(&r);
    if (must_close)
        rc_expect_closed(c, what);
    rc_close(c);
    return st;
}

static void tr_chunked_limits(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 1000;
    rc_start(&s, &cfg, false);

    char *full = hb_padded(1000);
    char *b = rc_fmt("3e8\r\n%s\r\n0\r\n\r\n", full);
    assert_int_equal(chunked_answer(&s, b, false, "one chunk of exactly max_body_bytes"), 200);
    free(b);
    b = rc_fmt("3e7\r\n%.999s\r\n1\r\n%s\r\n0\r\n\r\n", full, full + 999);
    assert_int_equal(chunked_answer(&s, b, false, "two chunks adding up to max_body_bytes"), 200);
    free(b);
    char *over = hb_padded(1001);
    b = rc_fmt("3e9\r\n%s\r\n0\r\n\r\n", over);
    assert_int_equal(chunked_answer(&s, b, true, "a chunk one byte over"), 413);
    free(b);
    b = rc_fmt("258\r\n%.600s\r\n191\r\n%s\r\n0\r\n\r\n", over, over + 600);
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
    b = rc_fmt("%s%zx\r\n%s\r\n0\r\n\r\n", zeros, strlen(RC_HB_BODY), RC_HB_BODY);
    assert_int_equal(chunked_answer(&s, b, true, "a size line of 20000 zeros"), 400);
    free(b);
    memset(zeros, 'a', n);
    b = rc_fmt("5;%s\r\nhello\r\n0\r\n\r\n", zeros);
    assert_int_equal(chunked_answer(&s, b, true, "a 20000-byte chunk extension"), 400);
    free(b);
    free(zeros);
    static const char field[] = "X-Trailer: abc\r\n"; /* 16 bytes */
    char *trailers = malloc(2000 * 16 + 1);
    assert_non_null(trailers);
    for (int i = 0; i < 2000; i++)
        memcpy(trailers + (size_t)i * 16, field, 16);
    trailers[2000 * 16] = '\0';
    b = rc_fmt("%zx\r\n%s\r\n0\r\n%s\r\n", strlen(RC_HB_BODY), RC_HB_BODY, trailers);
    assert_int_equal(chunked_answer(&s, b, true, "32000 bytes of trailer fields"), 400);
    free(b);
    free(trailers);
    rc_healthy(&s, false, "after the chunked attacks");
}

/* ---- Expect, TE with CL, HTTP/1.0 with chunked -------------------------------- */

static void tr_expect_continue_chunked(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    char *whole = hb_chunked("Expect: 100-continue\r\n");
    char *body = strstr(whole, "\r\n\r\n") + 4;

    /* the head alone: 100 Continue, then the body, then the answer */
    rc_send_n(c, whole, (size_t)(body - whole));
    rc_expect_status(c, &r, 100, "Expect: 100-continue with chunked, head alone");
    rc_resp_free(&r);
    rc_expect_quiet(c, QUIET_MS, "after 100 Continue, before the body");
    rc_send(c, body);
    rc_expect_status(c, &r, 200, "the chunked body after 100 Continue");
    rc_resp_free(&r);

    /* head and body at once: a 100 may come first, then the answer */
    rc_send(c, whole);
    int st = rc_read(c, mt_now_ms() + RC_WAIT_MS, &r);
    rc_resp_free(&r);
    if (st == 100)
        st = rc_read(c, mt_now_ms() + RC_WAIT_MS, &r), rc_resp_free(&r);
    assert_int_equal(st, 200);
    rc_ping(c, "after them");
    free(whole);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 2);
}

/* One answer, saying Connection: close, then the close: nothing of the body
 * is taken for a request. */
static void expect_one_answer(mt_server *s, const char *req, int want, const char *what)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    rc_resp r;
    rc_send(c, req);
    rc_expect_status(c, &r, want, what);
    bool said = rc_says_close(&r);
    rc_resp_free(&r);
    if (!said)
        fail_msg("%s: the answer does not say Connection: close", what);
    rc_expect_closed(c, what);
    if (c->len != 0) {
        char *shown = mt_show(c->buf, c->len);
        fail_msg("%s: more came after the answer: %s", what, shown ? shown : "?");
    }
    rc_close(c);
}

static void tr_framing_conflicts(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    size_t n = strlen(RC_HB_BODY);
    char *req;

    /* TE and CL: refused (nginx's answer; RFC 9112 §6.1 allows no less
     * than closing), nothing of it run (test_framing.c has more) */
    req = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n" RC_PING,
                 n, RC_HB_BODY);
    expect_one_answer(&s, req, 400, "Transfer-Encoding: chunked with Content-Length");
    free(req);
    /* HTTP/1.0 with chunked: refused (nginx's answer) */
    req = rc_fmt("POST " RC_HB_PATH " HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "%zx\r\n%s\r\n0\r\n\r\n" RC_PING,
                 n, RC_HB_BODY);
    expect_one_answer(&s, req, 400, "HTTP/1.0 with chunked");
    free(req);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    expect_one_answer(&s,
                      "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\n"
                      "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      501, "Transfer-Encoding: gzip, chunked");
    expect_one_answer(&s,
                      "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      501, "two Transfer-Encoding lines");
    expect_one_answer(&s,
                      "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Content-Length: 6\r\n\r\nhello!",
                      400, "two different Content-Lengths");
    expect_one_answer(&s,
                      "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"
                      "hello",
                      400, "Content-Length: 5, 5");
    expect_one_answer(&s, "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                      400, "Content-Length: -1");
    expect_one_answer(&s, "GET /v1/ping HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0");
    rc_healthy(&s, false, "after the framing conflicts");
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
        if (!rc_wait_fd(fd, POLLIN, deadline))
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
    rc_start(&s, &cfg, true);
    capture_large(&s, big);
    rc_tls_init();
    int base = fd_count();
    rc_conn *c = rc_connect_with(rc_tls_port(&s), true, rc_tls_conf(), 4096);
    char *more = rc_pings_for(true, 20);
    char *req = rc_fmt("GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n%s", more);
    free(more);
    int64_t t0 = mt_now_ms();
    rc_send(c, req);
    free(req);
    /* the server's side goes away: one descriptor fewer (the client's stays) */
    if (!fds_reach(base + 1, t0 + timeout_ms + 4000))
        fail_msg("the server kept a TLS client that reads nothing for %lld ms (timeout %u)",
                 (long long)(mt_now_ms() - t0), timeout_ms);
    int64_t ms = mt_now_ms() - t0;
    print_message("TLS reader of nothing: closed by the server after %lld ms\n", (long long)ms);
    if (mt_timing_on() && ms < timeout_ms - 100)
        fail_msg("closed after %lld ms, before request_timeout_ms (%u)", (long long)ms, timeout_ms);
    rc_conn *p = rc_connect(rc_http_port(&s), false);
    assert_int_equal(journal_count(p, "route=assertions&include_test=1"), 0);
    assert_int_equal(journal_count(p, "route=last_request&include_test=1"), 1);
    rc_close(p);
    rc_close(c);
    rc_healthy(&s, true, "after the TLS reader of nothing");
}

/* A TLS client that sends a whole ClientHello, gets the server's flight and
 * goes silent is closed at the handshake deadline. */
static void tr_tls_stall_after_hello(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    /* under valgrind (timing off) a handshake alone can take longer than
     * 500 ms on a loaded machine, and the deadline would cut it */
    const unsigned timeout_ms = mt_timing_on() ? 500 : 3000;
    cfg.request_timeout_ms = timeout_ms;
    rc_start(&s, &cfg, true);
    rc_tls_init();
    rc_conn *c = rc_connect_with(rc_tls_port(&s), true, NULL, 0);
    int64_t t0 = mt_now_ms();
    mbedtls_ssl_init(&c->ssl);
    c->ssl_init = true;
    assert_int_equal(mbedtls_ssl_setup(&c->ssl, rc_tls_conf()), 0);
    mbedtls_ssl_set_bio(&c->ssl, &c->fd, rc_bio_send, rc_bio_recv, NULL);
    /* two steps of the client's state machine: the ClientHello goes out (a
     * whole handshake call could complete the handshake when the server is
     * quick); whatever the client read after that, it sends nothing more */
    for (int k = 0; k < 2; k++) {
        int r = mbedtls_ssl_handshake_step(&c->ssl);
        if (r != 0 && r != MBEDTLS_ERR_SSL_WANT_READ)
            fail_msg("client handshake step %d: -0x%04x", k, (unsigned)-r);
    }
    if (!rc_wait_fd(c->fd, POLLIN, t0 + RC_WAIT_MS))
        fail_msg("no ServerHello");
    if (!raw_closed_by(c->fd, t0 + timeout_ms + 4000))
        fail_msg("a TLS client silent after its ClientHello was not closed");
    int64_t ms = mt_now_ms() - t0;
    print_message("TLS client silent after ClientHello: closed after %lld ms\n", (long long)ms);
    if (mt_timing_on() && ms < timeout_ms - 100)
        fail_msg("closed after %lld ms, before request_timeout_ms (%u)", (long long)ms, timeout_ms);
    rc_healthy(&s, true, "after a stalled handshake");
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
    rc_start(&s, &cfg, true);
    static const unsigned char bad_mac[5 + 32] = {0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5};
    static const char plain_http[] = RC_PING;
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
        rc_conn *c = rc_connect(rc_tls_port(&s), true);
        if (cases[k].after_request)
            rc_ping(c, "before the garbage");
        assert_int_equal(mt_send_all(c->fd, cases[k].p, cases[k].n), 0);
        int64_t t0 = mt_now_ms();
        if (!raw_closed_by(c->fd, t0 + RC_WAIT_MS))
            fail_msg("%s: not closed within %d ms", cases[k].what, RC_WAIT_MS);
        rc_close(c);
    }
    rc_healthy(&s, true, "after the garbage");
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
    /* under valgrind (timing off) a handshake alone can take longer than
     * 500 ms on a loaded machine, and the deadline would cut it */
    const unsigned timeout_ms = mt_timing_on() ? 500 : 3000;
    cfg.request_timeout_ms = timeout_ms;
    rc_start(&s, &cfg, true);
    rc_tls_init();
    rc_conn *c = rc_connect_with(rc_tls_port(&s), true, rc_tls_conf_reneg(), 0);
    rc_ping(c, "before the renegotiation");
    int64_t t0 = mt_now_ms(), deadline = t0 + RC_WAIT_MS;
    int rc;
    while ((rc = mbedtls_ssl_renegotiate(&c->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
           rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        if (!rc_wait_fd(c->fd, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline))
            break;
    print_message("renegotiation: mbedtls_ssl_renegotiate -0x%04x\n", (unsigned)-rc);
    assert_int_equal(rc, MBEDTLS_ERR_SSL_WAITING_SERVER_HELLO_RENEGO); /* refused */
    rc_healthy(&s, true, "while the refused client is connected");
    if (!raw_closed_by(c->fd, t0 + timeout_ms + 4000))
        fail_msg("the refused client's connection was not closed at the idle deadline");
    int64_t ms = mt_now_ms() - t0;
    if (mt_timing_on() && ms < timeout_ms - 100)
        fail_msg("closed after %lld ms, before request_timeout_ms (%u)", (long long)ms, timeout_ms);
    rc_close(c);
    rc_healthy(&s, true, "after the renegotiation attempt");
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
    rc_start(&s, &cfg, true);
    const int n = 24;
    rc_conn *cs[24];
    for (int round = 0; round < 2; round++) {
        bool tls = round == 1;
        for (int i = 0; i < n; i++) {
            cs[i] = rc_connect(rc_port_of(&s, tls), tls);
            rc_send(cs[i], tls ? RC_TLS_PING : RC_PING);
            shutdown(cs[i]->fd, SHUT_WR);
        }
        for (int i = 0; i < n; i++) {
            char what[64];
            snprintf(what, sizeof what, "%s client %d after SHUT_WR", tls ? "TLS" : "plain", i);
            rc_expect_pings(cs[i], 1, what);
            rc_expect_closed(cs[i], what);
            rc_close(cs[i]);
        }
    }
    rc_healthy(&s, false, "after the half-closes");
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
    rc_start(&s, &cfg, true);
    capture_large(&s, big);
    rc_tls_init();
    int base = fd_count();
    for (int round = 0; round < 4; round++) {
        bool tls = round & 1;
        rc_conn *c = rc_connect_with(rc_port_of(&s, tls), tls, tls ? rc_tls_conf() : NULL, 4096);
        rc_send(c, "GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
        /* some of it arrived: the server is in the middle of writing */
        if (rc_fill(c, mt_now_ms() + RC_WAIT_MS) != 1)
            fail_msg("no answer to GET /test/last-request/heartbeat");
        if (round >= 2) /* and with more requests queued behind it */
            rc_send(c, tls ? RC_TLS_PING : RC_PING);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        rc_close(c);
        if (!fds_reach(base, mt_now_ms() + RC_WAIT_MS))
            fail_msg("round %d: the server kept a reset connection (%d descriptors, want %d)",
                     round, fd_count(), base);
    }
    rc_healthy(&s, false, "after the resets");
    rc_healthy(&s, true, "after the resets");
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
    rc_start(&s, &cfg, true);
    int base = fd_count(); /* no connection yet */
    int n = mt_timing_on() ? 10000 : 500;
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
    int64_t t0 = mt_now_ms();
    for (int i = 0; i < n + n / 10; i++) {
        bool tls = i >= n;
        int fd = mt_connect(rc_port_of(&s, tls));
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
                (void)mt_send_all(fd, RC_PING, RC_PING_LEN);
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
    rc_healthy(&s, false, "after the churn");
    rc_healthy(&s, true, "after the churn");
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
        bool ok = mt_send_all(fd, RC_PING, RC_PING_LEN) == 0;
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
    rc_start(&s, &cfg, false);
    atomic_bool stop = false;
    atomic_int answered = 0;
    hammer hs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        hs[i] = (hammer){.port = rc_http_port(&s), .stop = &stop, .answered = &answered,
                         .keep_alive = i % 2 == 1};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hs[i]), 0);
    }
    int64_t deadline = mt_now_ms() + RC_WAIT_MS;
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
    assert_int_equal(rc_waiters(&s), 0);
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
    rc_start(&s, &cfg, true);
    capture_large(&s, 2u << 20);
    rc_tls_init();
    rc_conn *cs[RC_MAX_CONNS];
    int n = 0;
    for (int i = 0; i < 5; i++) { /* waits nothing here releases */
        cs[n] = rc_connect(rc_http_port(&s), false);
        rc_send(cs[n++], "GET /test/wait?route=register&value=1&timeout_ms=20000 HTTP/1.1\r\n"
                         "Host: x\r\n\r\n");
    }
    for (int i = 0; i < 5; i++) {
        cs[n] = rc_connect(rc_tls_port(&s), true);
        if (i % 2)
            rc_ping(cs[n], "an idle TLS session's first request");
        n++;
    }
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
    for (int i = 0; i < 3; i++) {
        cs[n] = rc_connect_with(rc_tls_port(&s), true, NULL, 0);
        assert_int_equal(mt_send_all(cs[n++]->fd, hello_start, sizeof hello_start), 0);
    }
    cs[n] = rc_connect_with(rc_tls_port(&s), true, rc_tls_conf(), 4096);
    rc_send(cs[n++], "GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        cs[n] = rc_connect(rc_http_port(&s), false);
        rc_ping(cs[n++], "an idle keep-alive connection's first request");
    }
    cs[n] = rc_connect(rc_http_port(&s), false);
    rc_send(cs[n++], "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"no");
    assert_true(rc_waiters_reach(&s, 5, mt_now_ms() + RC_WAIT_MS));

    int64_t t0 = mt_now_ms();
    mockapi_stop(s.m);
    int64_t ms = mt_now_ms() - t0;
    print_message("stop with %d connections of every kind open: %lld ms\n", n, (long long)ms);
    if (mt_timing_on() && ms > 2000)
        fail_msg("mockapi_stop took %lld ms", (long long)ms);
    assert_int_equal(rc_waiters(&s), 0);
    for (int i = 0; i < n; i++)
        if (!raw_closed_by(cs[i]->fd, mt_now_ms() + RC_WAIT_MS))
            fail_msg("connection %d was not closed by the stop", i);
}

/* ---- the group ---------------------------------------------------------------- */

int mt_run_transport_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(tr_wait_failed_body, rc_teardown),
        cmocka_unit_test_teardown(tr_tls_pipelined_record, rc_teardown),
        cmocka_unit_test_teardown(tr_pipelined_behind_wait, rc_teardown),
        cmocka_unit_test_teardown(tr_half_close_pipelined, rc_teardown),
        cmocka_unit_test_teardown(tr_head_fields_unseen, rc_teardown),
        cmocka_unit_test_teardown(tr_head_bare_lf, rc_teardown),
        cmocka_unit_test_teardown(tr_split_every_byte, rc_teardown),
        cmocka_unit_test_teardown(tr_tls_split_every_byte, rc_teardown),
        cmocka_unit_test_teardown(tr_wait_client_leaves, rc_teardown),
        cmocka_unit_test_teardown(tr_wait_with_body, rc_teardown),
        cmocka_unit_test_teardown(tr_chunked_limits, rc_teardown),
        cmocka_unit_test_teardown(tr_expect_continue_chunked, rc_teardown),
        cmocka_unit_test_teardown(tr_framing_conflicts, rc_teardown),
        cmocka_unit_test_teardown(tr_tls_unread_big_response, rc_teardown),
        cmocka_unit_test_teardown(tr_tls_stall_after_hello, rc_teardown),
        cmocka_unit_test_teardown(tr_tls_garbage_after_handshake, rc_teardown),
        cmocka_unit_test_teardown(tr_tls_renegotiation, rc_teardown),
        cmocka_unit_test_teardown(tr_half_close_many, rc_teardown),
        cmocka_unit_test_teardown(tr_reset_mid_response, rc_teardown),
        cmocka_unit_test_teardown(tr_connect_close_churn, rc_teardown),
        cmocka_unit_test_teardown(tr_requests_during_stop, rc_teardown),
        cmocka_unit_test_teardown(tr_stop_with_everything, rc_teardown),
    };
    return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
