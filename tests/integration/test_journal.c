/* test_journal.c: the journal under hostile filters (jr_*), issue 12.
 *
 * The measurement that opened the issue: 300 journal entries with 8 KB
 * paths, then GET /test/requests?limit=1&path=**a*a*b froze the whole
 * server for 10 s (a backtracking glob, run under the lock every request
 * takes to append). Here the same journal and query, with a good client
 * pinging on other connections all along: every ping must answer within a
 * deadline, and so must the query. And the waits that now read only the
 * entries new since their previous check: still exact, and a reset starts
 * their count over, parked (over HTTP) or blocking (the C API). */
#include <pthread.h>
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

enum { ENTRIES = 300, PATH_BYTES = 8000 };

/* Wall-clock bounds with timing on; longer (still bounded) under valgrind. */
static int64_t span(int64_t ms)
{
    return mt_timing_on() ? ms : ms * 10 + 5000;
}

static int http_port(const mt_server *s)
{
    return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP);
}

/* ENTRIES requests with PATH_BYTES-byte paths of 'a's (segments of 64), each
 * answered 404 and journaled, on one keep-alive connection. */
static void fill_journal(int port)
{
    char *req = malloc(PATH_BYTES + 64);
    assert_non_null(req);
    int n = sprintf(req, "GET /");
    for (int i = 1; i < PATH_BYTES; i++)
        req[n++] = i % 64 ? 'a' : '/';
    n += sprintf(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_conn *c = rc_connect(port, false);
    for (int i = 0; i < ENTRIES; i++) {
        rc_resp r = {0};
        assert_int_equal(rc_send_n(c, req, (size_t)n), 0);
        rc_expect_status(c, &r, 404, "a long path");
        rc_resp_free(&r);
    }
    rc_close(c);
    free(req);
}

/* Sends the query on its own connection, then pings on another until the
 * query's answer is there: each ping within ping_ms, the query within
 * query_ms. Returns the query's status, its body in *body (free it). */
static int query_while_pinging(int port, const char *target, int64_t ping_ms, int64_t query_ms,
                               char **body, int *pings)
{
    rc_conn *q = rc_connect(port, false);
    rc_conn *g = rc_connect(port, false);
    char head[512];
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    int64_t t0 = mt_now_ms();
    rc_send(q, head);
    rc_resp qr = {0};
    int status = 0;
    *pings = 0;
    int64_t worst = 0;
    while (!status) {
        int64_t a = mt_now_ms();
        rc_resp pr = {0};
        rc_send(g, RC_PING);
        int st = rc_read(g, a + ping_ms, &pr);
        int64_t took = mt_now_ms() - a;
        rc_resp_free(&pr);
        if (st != 200)
            fail_msg("a ping during the journal query: no answer in %lld ms (status %d)",
                     (long long)ping_ms, st);
        if (took > worst)
            worst = took;
        (*pings)++;
        /* the query: answered yet? (a short look, then ping again) */
        status = rc_read(q, mt_now_ms() + 5, &qr);
        if (!status && mt_now_ms() - t0 > query_ms)
            fail_msg("GET %s: no answer in %lld ms", target, (long long)query_ms);
    }
    print_message("GET %.60s: %d in %lld ms; %d pings meanwhile, the slowest %lld ms\n", target,
                  status, (long long)(mt_now_ms() - t0), *pings, (long long)worst);
    *body = strndup((const char *)qr.body, qr.body_len);
    rc_resp_free(&qr);
    rc_close(q);
    rc_close(g);
    return status;
}

static void jr_glob_query_does_not_freeze(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.threads = 2; /* the query and the pings on loop threads of their own, mostly */
    assert_int_equal(mt_server_start_tracked(&s, &cfg), MOCKAPI_OK);
    int port = http_port(&s);
    fill_journal(port);

    char *body = NULL;
    int pings;
    /* no entry ends in 'b': the worst case for a backtracking matcher */
    int status = query_while_pinging(port, "/test/requests?limit=1&path=**a*a*b", span(500),
                                     span(2000), &body, &pings);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "{\"entries\":[],"));
    free(body);
    /* the same shape that does match: one entry, the first */
    status = query_while_pinging(port, "/test/requests?limit=1&path=**a*a", span(500), span(2000),
                                 &body, &pings);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "{\"entries\":[{\"seq\":1,"));
    free(body);
    /* a pattern that ends like the paths, so only the automaton can say no;
     * many stars; every entry read (no limit reached) */
    status = query_while_pinging(port, "/test/requests?path=/**a*a*a*a*a*a*a*a*a*a*a*a*a*b*a",
                                 span(500), span(2000), &body, &pings);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "{\"entries\":[],"));
    free(body);
    mt_server_untrack_free(&s);
}

/* Waits parked on the full journal with the adversarial glob must not slow
 * the appends that wake them: 10 of them, then 100 pings must still answer
 * in time, and a matching request ends each wait with the exact count. */
static void jr_parked_glob_waits(void **st)
{
    (void)st;
    enum { WAITERS = 10, PINGS = 100 };
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    assert_int_equal(mt_server_start_tracked(&s, &cfg), MOCKAPI_OK);
    int port = http_port(&s);
    fill_journal(port);
    rc_conn *w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = rc_connect(port, false);
        rc_send(w[i], "GET /test/wait?path=**a*a*b*a&op=eq&value=1&timeout_ms=30000 HTTP/1.1\r\n"
                      "Host: x\r\n\r\n");
    }
    /* each wait's first check reads the whole journal (300 x 8 KB through
     * the automaton: under TSan on a busy machine, seconds for ten); what
     * is measured is the cost of parked waits on later requests */
    if (!rc_waiters_reach(&s, WAITERS, mt_now_ms() + span(30000)))
        fail_msg("the %d glob waits did not park", WAITERS);
    rc_conn *g = rc_connect(port, false);
    int64_t worst = 0;
    for (int i = 0; i < PINGS; i++) {
        int64_t a = mt_now_ms();
        rc_resp pr = {0};
        rc_send(g, RC_PING);
        assert_int_equal(rc_read(g, a + span(1000), &pr), 200);
        rc_resp_free(&pr);
        if (mt_now_ms() - a > worst)
            worst = mt_now_ms() - a;
    }
    print_message("%d pings with %d glob waits parked over %d entries of 8 KB: slowest %lld ms\n",
                  PINGS, WAITERS, ENTRIES, (long long)worst);
    /* none of them is met yet */
    for (int i = 0; i < WAITERS; i++) {
        rc_resp r = {0};
        assert_int_equal(rc_read(w[i], mt_now_ms() + 1, &r), 0);
    }
    rc_send(g, "GET /aaba HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_resp r = {0};
    rc_expect_status(g, &r, 404, "the one matching path");
    rc_resp_free(&r);
    for (int i = 0; i < WAITERS; i++) {
        rc_expect_status(w[i], &r, 200, "a glob wait");
        if (!strstr((const char *)r.body, "\"met\":true,\"value\":1,"))
            fail_msg("wait %d: %s", i, (const char *)r.body);
        rc_resp_free(&r);
    }
    mt_server_untrack_free(&s);
}

/* A parked wait counts each entry once across its checks, and a reset
 * while it waits starts its count over. */
static void jr_parked_wait_counts_and_resets(void **st)
{
    (void)st;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, NULL), MOCKAPI_OK);
    int port = http_port(&s);
    rc_conn *g = rc_connect(port, false);
    rc_resp r = {0};
    static const char hb[] = "POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s";
    char req[1024];
    snprintf(req, sizeof req, hb, sizeof RC_HB_BODY - 1, RC_HB_BODY);
    rc_send(g, req);
    rc_expect_status(g, &r, 200, "heartbeat 1");
    rc_resp_free(&r);

    rc_conn *w = rc_connect(port, false);
    rc_send(w, "GET /test/wait?route=heartbeat&op=eq&value=3&timeout_ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n");
    /* pings wake it (the journal grows) but do not match: not met */
    for (int i = 0; i < 5; i++) {
        rc_send(g, RC_PING);
        rc_expect_status(g, &r, 200, "ping");
        rc_resp_free(&r);
    }
    rc_send(g, req);
    rc_expect_status(g, &r, 200, "heartbeat 2");
    rc_resp_free(&r);
    assert_int_equal(rc_read(w, mt_now_ms() + 50, &r), 0); /* 2 of 3 */
    rc_send(g, "POST /test/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    rc_expect_status(g, &r, 204, "reset");
    rc_resp_free(&r);
    /* a second wait, begun after the reset with a glob: the two are checked
     * together (one read of the journal for both) though one began before
     * the reset */
    rc_conn *w2 = rc_connect(port, false);
    rc_send(w2, "GET /test/wait?path=/v1/nodes/**&op=eq&value=3&timeout_ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 2; i++) {
        rc_send(g, req);
        rc_expect_status(g, &r, 200, "heartbeat after the reset");
        rc_resp_free(&r);
    }
    assert_int_equal(rc_read(w, mt_now_ms() + 50, &r), 0); /* 2 since the reset, not 4 */
    assert_int_equal(rc_read(w2, mt_now_ms() + 50, &r), 0);
    rc_send(g, req);
    rc_expect_status(g, &r, 200, "heartbeat 3 after the reset");
    rc_resp_free(&r);
    rc_expect_status(w, &r, 200, "the wait");
    if (!strstr((const char *)r.body, "\"met\":true,\"value\":3,"))
        fail_msg("wait: %s", (const char *)r.body);
    rc_resp_free(&r);
    rc_expect_status(w2, &r, 200, "the wait begun after the reset");
    if (!strstr((const char *)r.body, "\"met\":true,\"value\":3,"))
        fail_msg("second wait: %s", (const char *)r.body);
    rc_resp_free(&r);
    mt_server_untrack_free(&s);
}

/* The C API's blocking wait: the same incremental count, and it wakes on
 * appends from the transport. */
typedef struct api_wait {
    mockapi *m;
    int rc;
    int64_t v;
} api_wait;

static void *api_wait_thread(void *arg)
{
    api_wait *a = arg;
    a->rc = mockapi_wait(a->m, "route=heartbeat&op=gte&value=2", 20000, &a->v);
    return NULL;
}

static void jr_api_wait_incremental(void **st)
{
    (void)st;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, NULL), MOCKAPI_OK);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    mt_response r;
    assert_int_equal(mt_send(h, s.base, "POST", RC_HB_PATH, RC_HB_BODY, &r), 0);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    api_wait a = {.m = s.m, .rc = 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, api_wait_thread, &a), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(mt_get(h, s.base, "/v1/ping", &r), 0);
        mt_response_free(&r);
    }
    assert_int_equal(mt_send(h, s.base, "POST", RC_HB_PATH, RC_HB_BODY, &r), 0);
    mt_response_free(&r);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, MOCKAPI_OK);
    assert_int_equal(a.v, 2);
    /* strict parameters in the C API too */
    int64_t v = 0;
    assert_int_equal(mockapi_wait(s.m, "route=hearbeat", 10, &v), MOCKAPI_EINVAL);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(mockapi_requests(s.m, "mehtod=GET", &json, &len), MOCKAPI_EINVAL);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* A listing past one piece announces its length before rendering (the
 * bodies are measured, not written, in that pass): with bodies that need
 * every kind of escaping, invalid UTF-8 (base64) and U+2028, the length
 * announced is the length sent, and every body comes back as it went. */
static void jr_listing_length_escapes(void **state)
{
    (void)state;
    static const char *const kinds[] = {"{\"a\":\"q\\\"uote\",\"t\":\"<b>&amp;</b>\"}",
                                        "line\nbreak\ttab\r\x01\x1f\x7f",
                                        "caf\xc3\xa9 \xe2\x80\xa8 sep \xe2\x80\xa9 \xf0\x9f\x98\x80",
                                        "bad \xff\xfe utf8 \xc3",
                                        "\xed\xa0\x80 surrogate",
                                        "",
                                        "back\\slash /slash"};
    enum { N = 400 };
    mockapi_config cfg;
    mt_config_init(&cfg);
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    CURL *h = curl_easy_init();
    char body[512];
    for (int i = 0; i < N; i++) {
        const char *k = kinds[i % (sizeof kinds / sizeof kinds[0])];
        size_t kl = strlen(k);
        int n = snprintf(body, sizeof body, "%d ", i);
        memcpy(body + n, k, kl);
        mt_response r;
        mt_request rq = {.method = "POST", .path = "/v1/nodes/n/logs", .body = body, .body_len = (size_t)n + kl,
                         .send_body = true};
        mt_perform(h, s.base, &rq, &r);
        assert_true(r.status > 0);
        mt_response_free(&r);
    }
    mt_response r;
    mt_get(h, s.base, "/test/requests?path=/v1/nodes/n/logs&limit=100000", &r);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 65536);
    assert_int_equal(strtoull(mt_header_get(&r, "Content-Length"), NULL, 10), r.len);
    json_error_t je;
    json_t *doc = json_loadb((const char *)r.body, r.len, JSON_ALLOW_NUL, &je);
    assert_non_null(doc);
    json_t *es = json_object_get(doc, "entries");
    assert_int_equal(json_array_size(es), N);
    for (int i = 0; i < N; i++) {
        json_t *e = json_array_get(es, (size_t)i);
        const char *k = kinds[i % (sizeof kinds / sizeof kinds[0])];
        const char *enc = json_string_value(json_object_get(e, "body_encoding"));
        int n = snprintf(body, sizeof body, "%d ", i);
        memcpy(body + n, k, strlen(k) + 1);
        if (strcmp(enc, "utf8") == 0)
            assert_string_equal(json_string_value(json_object_get(e, "body")), body);
        else
            assert_int_equal(json_integer_value(json_object_get(e, "body_size")), (json_int_t)strlen(body));
    }
    json_decref(doc);
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

int mt_run_journal_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(jr_glob_query_does_not_freeze, rc_teardown),
        cmocka_unit_test_teardown(jr_parked_glob_waits, rc_teardown),
        cmocka_unit_test_teardown(jr_parked_wait_counts_and_resets, rc_teardown),
        cmocka_unit_test_teardown(jr_api_wait_incremental, rc_teardown),
        cmocka_unit_test_teardown(jr_listing_length_escapes, rc_teardown),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
