/* test_stats.c: GET /test/stats, the transport's own counts (server.h
 * MK_TSTATS): every refusal of the framing by its status, every deadline by
 * what it cut (handshake, request, idle connection; the stalled write is
 * checked by mem_write_deadline), and the connections open. Each event is caused once on its own connection and the
 * figure must move by exactly one; the closes the server makes are seen by
 * the client only after the server counted them, so no wait is needed
 * beyond reading to EOF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"

/* GET /test/stats over a connection of its own; json_decref the answer. */
static json_t *stats(mt_server *s)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    rc_send(c, "GET /test/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    rc_resp r;
    rc_expect_status(c, &r, 200, "GET /test/stats");
    json_error_t je;
    json_t *j = json_loadb((const char *)r.body, r.body_len, 0, &je);
    if (!j)
        fail_msg("/test/stats is not JSON (%s): %.*s", je.text, (int)r.body_len, r.body);
    rc_resp_free(&r);
    rc_close(c);
    return j;
}

static long long stat_of(json_t *j, const char *name)
{
    json_t *v = json_object_get(j, name);
    if (!json_is_integer(v))
        fail_msg("/test/stats has no integer \"%s\"", name);
    return (long long)json_integer_value(v);
}

/* Runs what, then checks that the figure `name` moved by exactly one. */
#define EXPECT_ONE_MORE(s, name, what)                                                      \
    do {                                                                                    \
        json_t *b_ = stats(s);                                                              \
        long long before_ = stat_of(b_, name);                                              \
        json_decref(b_);                                                                    \
        what;                                                                               \
        json_t *a_ = stats(s);                                                              \
        long long after_ = stat_of(a_, name);                                               \
        json_decref(a_);                                                                    \
        if (after_ != before_ + 1)                                                          \
            fail_msg("%s: \"%s\" went from %lld to %lld, not up by one", #what, name, before_, \
                     after_);                                                               \
    } while (0)

/* Sends head on a fresh connection and reads the refusal with status, then
 * the close. */
static void refused(mt_server *s, const char *head, int status)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    rc_send(c, head);
    rc_resp r;
    rc_expect_status(c, &r, status, head);
    rc_resp_free(&r);
    rc_expect_closed(c, head);
    rc_close(c);
}

/* A connection that sends `bytes` (or nothing) and then waits for the
 * server to close it at the deadline. */
static void cut(mt_server *s, bool tls_port, const char *bytes)
{
    rc_conn *c = rc_connect_with(rc_port_of(s, tls_port), false, NULL, 0);
    if (bytes)
        rc_send(c, bytes);
    if (!rc_closed_by(c, mt_now_ms() + RC_WAIT_MS + 2000))
        fail_msg("the server did not close a connection that sent \"%s\"", bytes ? bytes : "");
    rc_close(c);
}

static void st_refusals_and_deadlines(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    cfg.request_timeout_ms = mt_timing_on() ? 300 : 2000;
    rc_start(&s, &cfg, true);

    EXPECT_ONE_MORE(&s, "refused_400",
                    refused(&s, "POST /v1/ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                "Content-Length: 3\r\n\r\n0\r\n\r\n", 400));
    char many[4096] = "GET /v1/ping HTTP/1.1\r\n";
    for (int i = 0; i < 70; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: y\r\n", i);
    strcat(many, "\r\n");
    EXPECT_ONE_MORE(&s, "refused_431", refused(&s, many, 431));
    EXPECT_ONE_MORE(&s, "refused_501",
                    refused(&s, "POST /v1/ping HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501));
    EXPECT_ONE_MORE(&s, "refused_505", refused(&s, "GET /v1/ping HTTP/2.0\r\n\r\n", 505));

    EXPECT_ONE_MORE(&s, "timeout_idle", cut(&s, false, NULL));
    EXPECT_ONE_MORE(&s, "timeout_request", cut(&s, false, "GET /v1/ping HTTP/1.1\r\nHost"));
    /* a TLS client that sends part of a ClientHello and stops */
    EXPECT_ONE_MORE(&s, "timeout_handshake", cut(&s, true, "\x16\x03\x01\x00\x40\x01"));

    /* every connection above is gone; only the one asking is open (the
     * count of closes made by clients settles as the loop sees them) */
    int64_t deadline = mt_now_ms() + RC_WAIT_MS;
    long long open = -1;
    while (mt_now_ms() < deadline) {
        json_t *j = stats(&s);
        open = stat_of(j, "open");
        long long acc = stat_of(j, "accepted");
        json_decref(j);
        assert_true(acc >= 15);
        if (open == 1)
            break;
        rc_conn *c = rc_connect(rc_http_port(&s), false); /* a round of the loop */
        rc_ping(c, "while the closes settle");
        rc_close(c);
    }
    assert_int_equal(open, 1);
    rc_healthy(&s, true, "after the refusals and deadlines");
}

static void st_no_query(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_send(c, "GET /test/stats?reset=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_resp r;
    rc_expect_status(c, &r, 400, "a query on /test/stats");
    assert_non_null(strstr((const char *)r.body, "unknown query parameter \\\"reset\\\""));
    rc_resp_free(&r);
    rc_close(c);
}

int mt_run_stats_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(st_refusals_and_deadlines, rc_teardown),
        cmocka_unit_test_teardown(st_no_query, rc_teardown),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
