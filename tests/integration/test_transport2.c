/* test_transport2.c: attacks on the event loop's input and idle handling
 * (src/transport/loop.c): the thread's read buffer that connections borrow
 * while they read (what a connection keeps after a read must be its own,
 * whatever the other connections of that thread read next), the release
 * list that frees idle connections' buffers, and parked waits.
 *
 * Every test runs the server with one loop thread, so that all of its
 * connections share one read buffer. The client is raw_client.c's, as
 * test_transport.c's (a raw socket or mbedTLS's client, polled with a
 * deadline); nothing sleeps to synchronise, and the fixed waits assert that
 * nothing arrives meanwhile (they outlast the release delay, 100 ms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "raw_client.h"

#define QUIET_MS 30  /* how long "nothing arrives" is watched for */

#define IDLE_MS 250 /* past the release delay (100 ms) and a round of the loop */

/* A heartbeat of node id (n1 is the one RC_HB_BODY names). */
static char *hb_for(const char *id)
{
    char *body =
        rc_fmt("{\"node_id\":\"%s\",\"timestamp\":\"2025-01-01T00:00:00Z\","
               "\"status\":\"healthy\",\"binary_checksum\":\"abc\",\"mesh\":{\"interface\":"
               "\"wg0\",\"peer_count\":2,\"listen_port\":51820},\"nat\":{\"public_endpoint\":"
               "\"198.51.100.1:51820\",\"type\":\"full_cone\"}}",
               id);
    char *req =
        rc_fmt("POST /v1/nodes/%s/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
               id, strlen(body), body);
    free(body);
    return req;
}

static void start1(mt_server *s, mockapi_config *cfg, bool tls)
{
    cfg->threads = 1; /* one loop thread: every connection reads into one buffer */
    rc_start(s, cfg, tls);
}

/* Another connection on the same thread reads a lot of other bytes: were a
 * connection still pointing into the thread's buffer, they would overwrite
 * its input. Heartbeats of node n2 (a request of n1 corrupted into one of
 * n2 would fail its checks: the node id in the path and body disagree). */
static void other_traffic(mt_server *s, const char *what)
{
    rc_conn *b = rc_connect(rc_http_port(s), false);
    char *hb = hb_for("n2");
    for (int round = 0; round < 3; round++) {
        char *all = rc_fmt("%s%s%s%s%s%s%s%s", hb, hb, hb, hb, hb, hb, hb, hb);
        rc_send(b, all);
        free(all);
        for (int i = 0; i < 8; i++) {
            rc_resp r;
            rc_expect_status(b, &r, 200, what);
            rc_resp_free(&r);
        }
    }
    free(hb);
    rc_close(b);
}

/* A parked wait keeps its request and the requests pipelined behind it
 * (a heartbeat with a body, then pings) while other connections of the
 * thread read: they are answered intact once the wait is released. */
static void tr2_parked_input_survives(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    start1(&s, &cfg, false);
    rc_conn *a = rc_connect(rc_http_port(&s), false);
    char *hb = hb_for("n1");
    char *p = rc_pings(10);
    char *req = rc_fmt("GET /test/wait?route=heartbeat&value=25&timeout_ms=5000 HTTP/1.1\r\n"
                       "Host: x\r\n\r\n%s%s",
                       hb, p);
    free(p);
    free(hb);
    rc_send(a, req);
    free(req);
    assert_true(rc_waiters_reach(&s, 1, mt_now_ms() + RC_WAIT_MS));
    other_traffic(&s, "n2 heartbeats while a wait is parked"); /* 24 heartbeats */
    rc_expect_quiet(a, QUIET_MS, "the wait at 24 heartbeats");
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    char *one = hb_for("n3");
    rc_send(c, one);
    free(one);
    rc_expect_status(c, &r, 200, "the 25th heartbeat");
    rc_resp_free(&r);
    rc_expect_status(a, &r, 200, "the wait");
    assert_non_null(strstr((const char *)r.body, "\"value\":25,"));
    rc_resp_free(&r);
    rc_expect_status(a, &r, 200, "the n1 heartbeat behind the wait");
    rc_resp_free(&r);
    rc_expect_pings(a, 10, "behind the wait");
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 26);
    assert_int_equal(rc_waiters(&s), 0);
}

/* A request whose head came alone with Expect: 100-continue keeps that
 * head (its own copy) while the thread reads other connections, and its
 * body, sent after the 100, completes it. */
static void tr2_continue_keeps_head(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    start1(&s, &cfg, false);
    rc_conn *a = rc_connect(rc_http_port(&s), false);
    rc_send(a,
            "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ");
    char *cl = rc_fmt("%zu\r\n\r\n", strlen(RC_HB_BODY));
    rc_send(a, cl);
    free(cl);
    rc_expect_status(a, &r, 100, "100 Continue");
    rc_resp_free(&r);
    other_traffic(&s, "n2 heartbeats while a body is awaited");
    rc_send(a, RC_HB_BODY);
    rc_expect_status(a, &r, 200, "the heartbeat after its 100");
    rc_resp_free(&r);
    rc_ping(a, "after it");
}

/* A head split over reads, with the thread's other connections read in
 * between, idle past the release delay in the middle: completed intact. */
static void tr2_partial_head_kept(bool tls)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    mt_config_init(&cfg);
    start1(&s, &cfg, tls);
    rc_conn *a = rc_connect(rc_port_of(&s, tls), tls);
    const char *req = tls ? RC_TLS_PING : RC_PING;
    size_t half = strlen(req) / 2;
    if (rc_send_n(a, req, half) != 0)
        fail_msg("send: the server has gone");
    other_traffic(&s, "n2 heartbeats while a head is half read");
    rc_expect_quiet(a, IDLE_MS, "half a head");
    rc_send(a, req + half);
    rc_expect_status(a, &r, 200, "the head completed after the others read");
    rc_resp_free(&r);
    /* idle (buffers released), then used again, several times */
    for (int i = 0; i < 3; i++) {
        rc_expect_quiet(a, IDLE_MS, "idle between requests");
        rc_ping(a, "after being idle past the release delay");
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
    rc_conn *w = rc_connect(rc_http_port(&s), false);
    char *x = malloc(big + 1);
    if (!x)
        fail_msg("out of memory");
    memset(x, 'x', big);
    x[big] = '\0';
    char *head =
        rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", big);
    rc_send(w, head);
    rc_send(w, x);
    free(head);
    free(x);
    rc_resp r;
    rc_expect_status(w, &r, 400, "a large non-JSON heartbeat (captured)");
    rc_resp_free(&r);
    rc_close(w);

    rc_tls_init();
    rc_conn *a = rc_connect_with(rc_http_port(&s), false, NULL, 4096);
    char *hb = hb_for("n1");
    char *p = rc_pings(20);
    char *req = rc_fmt("GET /test/last-request/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n%s%s", hb, p);
    free(hb);
    free(p);
    rc_send(a, req);
    free(req);
    other_traffic(&s, "n2 heartbeats while a response is stuck");
    rc_expect_status(a, &r, 200, "the large response");
    if (r.body_len < big)
        fail_msg("the large response has %zu bytes, want at least %zu", r.body_len, big);
    rc_resp_free(&r);
    rc_expect_status(a, &r, 200, "the heartbeat behind it");
    rc_resp_free(&r);
    rc_expect_pings(a, 20, "behind the large response");
}

/* More connections than release_idle's heap-trim threshold (64) go idle
 * together, plain and TLS, and are used again after their buffers were
 * released; one of them had half a request when the rest went idle. */
static void tr2_many_idle_reused(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    start1(&s, &cfg, true);
    enum { NPLAIN = 80, NTLS = 8 };
    rc_conn *c[NPLAIN + NTLS];
    for (int i = 0; i < NPLAIN + NTLS; i++) {
        c[i] = rc_connect(rc_port_of(&s, i >= NPLAIN), i >= NPLAIN);
        rc_ping(c[i], "first request");
    }
    if (rc_send_n(c[0], RC_PING, 10) != 0)
        fail_msg("send: the server has gone");
    rc_expect_quiet(c[0], IDLE_MS, "all idle, one with half a head");
    rc_send(c[0], RC_PING + 10);
    rc_expect_exact(c[0], 200, "{}\n", "the half head completed");
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NPLAIN + NTLS; i++)
            rc_ping(c[i], "after the idle release");
        rc_expect_quiet(c[NPLAIN], IDLE_MS, "idle again");
    }
    /* heartbeats with bodies on the released connections */
    char *hb = hb_for("n1");
    for (int i = 0; i < NPLAIN; i += 7) {
        rc_send(c[i], hb);
        rc_expect_status(c[i], &r, 200, "a heartbeat on a released connection");
        rc_resp_free(&r);
    }
    free(hb);
}

int mt_run_transport2_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(tr2_parked_input_survives, rc_teardown),
        cmocka_unit_test_teardown(tr2_continue_keeps_head, rc_teardown),
        cmocka_unit_test_teardown(tr2_partial_head_kept_plain, rc_teardown),
        cmocka_unit_test_teardown(tr2_partial_head_kept_tls, rc_teardown),
        cmocka_unit_test_teardown(tr2_pipelined_behind_blocked_write, rc_teardown),
        cmocka_unit_test_teardown(tr2_many_idle_reused, rc_teardown),
    };
    return cmocka_run_group_tests_name("transport2", tests, NULL, NULL);
}
