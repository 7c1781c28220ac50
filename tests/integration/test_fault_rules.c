/* test_fault_rules.c: faults by header, by rule (/test/faults, the C API) and
 * by configuration (mockapi_config.faults, the -fault flag's), as a client
 * on a raw keep-alive connection sees them: the injected answer and its
 * counting (first=2: 503, 503, then the route's own answer), the 400s of
 * bad input that change nothing, the journal's "fault" member and the
 * totals of /test/assertions?faults=1 (the plain body unchanged), and
 * rules added and removed while other threads send faulted requests (run
 * under TSan by ci/test.sh). What the transport does with the wire keys is
 * the transport's tests' business. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "raw_client.h"

/* Sends one request on c (keep-alive) and reads its answer into *r, which
 * must have status want; extra is more header lines ("Name: v\r\n"). */
static void ask(rc_conn *c, rc_resp *r, int want, const char *method, const char *path, const char *extra,
                const char *body)
{
    char *req = rc_fmt("%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s", method, path,
                       extra ? extra : "", body ? strlen(body) : 0, body ? body : "");
    rc_send(c, req);
    rc_expect_status(c, r, want, req);
    free(req);
}

/* ask, then the body must contain `part` (NULL: no check); r freed. */
static void ask_has(rc_conn *c, int want, const char *method, const char *path, const char *extra,
                    const char *body, const char *part)
{
    rc_resp r;
    ask(c, &r, want, method, path, extra, body);
    if (part && !strstr((const char *)r.body, part))
        fail_msg("%s %s: the answer lacks %s:\n%s%.*s", method, path, part, r.head, (int)r.body_len, r.body);
    rc_resp_free(&r);
}

static const char HB_BODY[] = "{\"node_id\":\"n1\"}";
#define FAULT_HDR(spec) "X-Mockapi-Fault: " spec "\r\n"

static long long counter(mt_server *s, mockapi_counter c)
{
    return (long long)mockapi_counter_get(s->m, c);
}

/* The example: `status=503; first=2` three times gives 503, 503,
 * then the normal answer; the faulted ones run nothing (no count). */
static void rul_header_first_two(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    const char *inj = "{\"error\":\"injected fault: status=503; retry-after=2; first=2\",\"injected\":true}\n";
    for (int i = 0; i < 2; i++) {
        rc_resp r;
        ask(c, &r, 503, "POST", "/v1/nodes/n1/heartbeat", FAULT_HDR("status=503;retry-after=2;first=2"), HB_BODY);
        assert_string_equal((const char *)r.body, inj);
        assert_non_null(strstr(r.head, "HTTP/1.1 503 Service Unavailable\r\n"));
        assert_non_null(strstr(r.head, "\r\nRetry-After: 2\r\n"));
        assert_non_null(strstr(r.head, "\r\nX-Mockapi-Fault: injected\r\n"));
        rc_resp_free(&r);
    }
    assert_int_equal(counter(&s, MOCKAPI_HEARTBEAT_COUNT), 0);
    /* nothing captured either */
    char *body = NULL;
    assert_int_equal(mockapi_last_request(s.m, "heartbeat", &body, NULL), MOCKAPI_ENOTFOUND);
    ask_has(c, 200, "POST", "/v1/nodes/n1/heartbeat", FAULT_HDR("status=503; retry-after=2; first=2"), HB_BODY,
            "\"reconcile\"");
    assert_int_equal(counter(&s, MOCKAPI_HEARTBEAT_COUNT), 1);
    /* the same spec on another route counts on its own */
    ask_has(c, 503, "GET", "/v1/ping", FAULT_HDR("status=503; retry-after=2; first=2"), NULL, "injected");
    /* any 4xx/5xx, with Go's reason phrase */
    rc_resp r;
    ask(c, &r, 429, "GET", "/v1/ping", FAULT_HDR("status=429"), NULL);
    assert_non_null(strstr(r.head, "HTTP/1.1 429 Too Many Requests\r\n"));
    assert_null(strstr(r.head, "Retry-After"));
    rc_resp_free(&r);
    rc_ping(c, "the connection goes on");
    /* HEAD: the head only (read to the close: the head announces a body) */
    rc_send(c, "HEAD /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Fault: status=500\r\nConnection: close\r\n\r\n");
    rc_expect_closed(c, "HEAD with a status fault");
    const char *h = (const char *)c->buf;
    assert_non_null(strstr(h, "HTTP/1.1 500 Internal Server Error\r\n"));
    size_t hl = strlen(h);
    assert_true(hl > 4 && strcmp(h + hl - 4, "\r\n\r\n") == 0);
    rc_close(c);
}

/* A malformed spec is a 400 naming the item; the route does not run and
 * nothing is counted; the connection goes on. */
static void rul_header_malformed(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    ask_has(c, 400, "POST", "/v1/nodes/n1/heartbeat", FAULT_HDR("stauts=503"), HB_BODY,
            "{\"error\":\"X-Mockapi-Fault: unknown key \\\"stauts\\\" (did you mean \\\"status\\\"?)\"}");
    ask_has(c, 400, "GET", "/v1/ping", FAULT_HDR("delay=99999999"), NULL, "delay=99999999");
    ask_has(c, 400, "GET", "/v1/ping", FAULT_HDR("cut-after=2"), NULL, "event streams only");
    ask_has(c, 400, "GET", "/v1/ping", FAULT_HDR(""), NULL, "X-Mockapi-Fault: ");
    ask_has(c, 400, "GET", "/v1/ping", FAULT_HDR("delay=1") "x-mockapi-fault: delay=2\r\n", NULL,
            "X-Mockapi-Fault given more than once");
    /* the control routes: a request's own header applies (no rule does),
     * but not on the waits, which may run twice for one request */
    ask_has(c, 400, "GET", "/test/wait?counter=heartbeat_count&value=0", FAULT_HDR("status=503"), NULL,
            "does not apply to /test/wait, /test/sse/wait and /test/events");
    ask_has(c, 400, "GET", "/test/sse/wait?clients=0", FAULT_HDR("delay=1"), NULL, "does not apply");
    ask_has(c, 503, "GET", "/test/assertions", FAULT_HDR("status=503"), NULL, "injected fault: status=503");
    assert_int_equal(counter(&s, MOCKAPI_HEARTBEAT_COUNT), 0);
    rc_ping(c, "after the refusals");
    /* a fault on a path no route serves: the header still applies */
    ask_has(c, 503, "GET", "/v1/nope", FAULT_HDR("status=503"), NULL, "injected");
    rc_close(c);
}

/* POST/GET/DELETE /test/faults, and what a rule does to the route. */
static void rul_rules_routes(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    ask_has(c, 201, "POST", "/test/faults", NULL, "{\"route\":\"heartbeat\",\"spec\":\"status=503;first=2\"}",
            "{\"id\":1,\"source\":\"rule\",\"route\":\"heartbeat\",\"path\":null,\"method\":null,"
            "\"spec\":\"status=503; first=2\",\"ttl_ms\":null,\"expires_in_ms\":null,\"matched\":0,\"applied\":0}\n");
    ask_has(c, 201, "POST", "/test/faults", NULL,
            "{\"path\":\"/v1/nodes/*/state\",\"method\":\"GET\",\"spec\":\"status=502\",\"ttl_ms\":60000}",
            "\"id\":2,");
    /* refusals: precise, and nothing installed */
    ask_has(c, 400, "POST", "/test/faults", NULL, "{\"route\":\"hartbeat\",\"spec\":\"status=503\"}",
            "unknown route \\\"hartbeat\\\" (did you mean \\\"heartbeat\\\"?)");
    ask_has(c, 400, "POST", "/test/faults", NULL, "{\"route\":\"wait\",\"spec\":\"status=503\"}", "/test/ route");
    ask_has(c, 400, "POST", "/test/faults", NULL, "{\"route\":\"heartbeat\",\"spec\":\"status=503; drop\"}",
            "spec: ");
    ask_has(c, 400, "POST", "/test/faults", NULL, "{\"route\":\"heartbeat\",\"spec\":\"status=503\",\"ttl\":5}",
            "unknown member \\\"ttl\\\"");
    ask_has(c, 400, "POST", "/test/faults", NULL, "{\"route\":\"ping\",\"spec\":\"stall=10\"}", "event streams only");
    ask_has(c, 400, "POST", "/test/faults?x=1", NULL, "{\"route\":\"ping\",\"spec\":\"drop\"}", NULL);
    ask_has(c, 400, "POST", "/test/faults", NULL, "not json", "not valid JSON");
    /* a value spread over lines comes back on one line */
    ask_has(c, 400, "POST", "/test/faults", NULL, "{\"route\":\"ping\",\"spec\":\"drop\",\"ttl_ms\":[1,\n2]}",
            "from 0 to 86400000, not [1,?2]\"}");

    ask_has(c, 503, "POST", "/v1/nodes/n1/heartbeat", NULL, HB_BODY, "injected fault: status=503; first=2");
    ask_has(c, 503, "POST", "/v1/nodes/n1/heartbeat", NULL, HB_BODY, NULL);
    ask_has(c, 200, "POST", "/v1/nodes/n1/heartbeat", NULL, HB_BODY, NULL);
    ask_has(c, 502, "GET", "/v1/nodes/n1/state", NULL, NULL, "status=502");
    rc_resp r;
    ask(c, &r, 200, "GET", "/test/faults", NULL, NULL);
    assert_non_null(strstr((const char *)r.body, "\"id\":1,"));
    assert_non_null(strstr((const char *)r.body, "\"matched\":3,\"applied\":2}"));
    assert_non_null(strstr((const char *)r.body, "\"path\":\"/v1/nodes/*/state\",\"method\":\"GET\""));
    assert_non_null(strstr((const char *)r.body, "\"ttl_ms\":60000,\"expires_in_ms\":"));
    assert_null(strstr((const char *)r.body, "\"id\":3"));
    rc_resp_free(&r);

    ask_has(c, 404, "DELETE", "/test/faults/7", NULL, NULL, "no fault rule with id 7");
    ask_has(c, 404, "DELETE", "/test/faults/x", NULL, NULL, "no fault rule with id x");
    ask(c, &r, 204, "DELETE", "/test/faults/2", NULL, NULL);
    rc_resp_free(&r);
    ask_has(c, 200, "GET", "/v1/nodes/n1/state", NULL, NULL, NULL);
    ask_has(c, 200, "DELETE", "/test/faults", NULL, NULL, "{\"deleted\":1}\n");
    ask_has(c, 200, "GET", "/test/faults", NULL, NULL, "{\"rules\":[]}\n");
    /* a path rule whose glob covers /test/ paths leaves them alone */
    ask_has(c, 201, "POST", "/test/faults", NULL, "{\"path\":\"/**\",\"spec\":\"status=500\"}", NULL);
    ask_has(c, 500, "GET", "/v1/ping", NULL, NULL, NULL);
    ask_has(c, 200, "GET", "/test/assertions", NULL, NULL, "heartbeat_count");
    ask_has(c, 200, "DELETE", "/test/faults", NULL, NULL, "{\"deleted\":1}\n");
    /* reset clears rules too */
    ask_has(c, 201, "POST", "/test/faults", NULL, "{\"route\":\"ping\",\"spec\":\"status=500\"}", NULL);
    ask_has(c, 500, "GET", "/v1/ping", NULL, NULL, NULL);
    ask(c, &r, 204, "POST", "/test/reset", NULL, NULL);
    rc_resp_free(&r);
    ask_has(c, 200, "GET", "/v1/ping", NULL, NULL, "{}");
    rc_close(c);
}

/* The journal says which fault a request got, from where, and what went
 * on the wire; /test/assertions?faults=1 sums them; the plain body is the
 * reference's. */
static void rul_journal_and_totals(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_resp plain0, plain1, r;
    ask(c, &plain0, 200, "GET", "/test/assertions", NULL, NULL);
    ask_has(c, 201, "POST", "/test/faults", NULL, "{\"route\":\"heartbeat\",\"spec\":\"status=503; first=1\"}", NULL);
    ask_has(c, 503, "POST", "/v1/nodes/n1/heartbeat", NULL, HB_BODY, NULL);
    ask_has(c, 503, "GET", "/v1/ping", FAULT_HDR("status=503"), NULL, NULL);
    ask_has(c, 200, "POST", "/v1/nodes/n1/heartbeat", NULL, HB_BODY, NULL);
    ask(c, &r, 200, "GET", "/test/requests?route=heartbeat", NULL, NULL);
    const char *j = (const char *)r.body;
    const char *rule = "\"fault\":{\"source\":\"rule\",\"rule\":1,\"spec\":\"status=503; first=1\",\"wire\":\"response\"}";
    const char *first = strstr(j, rule);
    if (!first)
        fail_msg("no rule fault in %s", j);
    assert_null(strstr(first + 1, "\"fault\":")); /* the second heartbeat got none */
    assert_non_null(strstr(j, "\"error\":\"injected fault: status=503; first=1\""));
    assert_null(strstr(j, "\"region\":")); /* one plain listener: regions off */
    rc_resp_free(&r);
    ask_has(c, 200, "GET", "/test/requests?route=ping", NULL, NULL,
            "\"fault\":{\"source\":\"header\",\"spec\":\"status=503\",\"wire\":\"response\"}");
    ask_has(c, 200, "GET", "/test/assertions?faults=1", NULL, NULL,
            "\"local_audit_count\":0,\"faults\":{\"applied\":2,\"sources\":{\"header\":1,\"rule\":1,\"flag\":0},"
            "\"routes\":{\"heartbeat\":1,\"ping\":1},\"wire\":{\"response\":2,\"fin\":0,\"rst\":0,\"timeout\":0,"
            "\"partial\":0,\"garbage\":0}}}\n");
    ask_has(c, 400, "GET", "/test/assertions?faults=2", NULL, NULL, "faults must be 1, true, 0 or false");
    ask(c, &plain1, 200, "GET", "/test/assertions", NULL, NULL);
    assert_null(strstr((const char *)plain1.body, "faults"));
    /* the same 24 counters (heartbeat_count moved by one) */
    assert_int_equal(plain1.body_len, plain0.body_len);
    assert_non_null(strstr((const char *)plain1.body, "\"heartbeat_count\":1,"));
    rc_resp_free(&plain0);
    rc_resp_free(&plain1);
    ask(c, &r, 204, "POST", "/test/reset", NULL, NULL);
    rc_resp_free(&r);
    ask_has(c, 200, "GET", "/test/assertions?faults=true", NULL, NULL, "\"faults\":{\"applied\":0,");
    rc_close(c);
}

/* What the journal says went on the wire is what did: a cut at or past
 * the body's end sent the whole answer; a rule that reached open streams
 * when it was added counts them as applied. */
static void rul_wire_as_sent(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_conn *cut = rc_connect(rc_http_port(&s), false);
    rc_resp r;
    ask(cut, &r, 200, "GET", "/v1/ping", FAULT_HDR("partial=100000"), NULL);
    assert_int_equal(r.body_len, 3); /* "{}\n": all of it */
    rc_resp_free(&r);
    rc_expect_closed(cut, "after a partial past the body");
    rc_close(cut);
    ask_has(c, 200, "GET", "/test/requests?route=ping", NULL, NULL,
            "\"fault\":{\"source\":\"header\",\"spec\":\"partial=100000\",\"wire\":\"response\"}");
    /* two streams open, then a rule on the events route resets them */
    rc_conn *ev[2];
    for (int i = 0; i < 2; i++) {
        ev[i] = rc_connect(rc_http_port(&s), false);
        rc_send(ev[i], "GET /v1/nodes/n1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    ask(c, &r, 200, "GET", "/test/sse/wait?clients=2", NULL, NULL);
    rc_resp_free(&r);
    ask_has(c, 201, "POST", "/test/faults", NULL, "{\"route\":\"events\",\"spec\":\"reset\"}",
            "\"matched\":0,\"applied\":2}");
    ask_has(c, 200, "GET", "/test/faults", NULL, NULL, "\"matched\":0,\"applied\":2}");
    ask_has(c, 200, "GET", "/test/assertions?faults=1", NULL, NULL,
            "\"faults\":{\"applied\":3,\"sources\":{\"header\":1,\"rule\":2,");
    for (int i = 0; i < 2; i++)
        rc_close(ev[i]);
    rc_close(c);
}

/* mockapi_config.faults (the -fault flag's): after the rules, kept by
 * reset (counts start over), not deletable; a bad one fails create. */
static void rul_config_and_api(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    const char *bad[] = {"ping: status=503", "hartbeat: status=503"};
    cfg.faults = bad;
    cfg.nfaults = 2;
    mockapi *m = NULL;
    char err[512] = "";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err, "faults[1]: unknown route \"hartbeat\" (did you mean \"heartbeat\"?)"));
    assert_int_equal(mockapi_fault_check("ping status=503", err, sizeof err), MOCKAPI_EINVAL);
    assert_non_null(strstr(err, "expected 'ROUTE: SPEC'"));
    assert_int_equal(mockapi_fault_check("GET ping: status=503; first=1", err, sizeof err), MOCKAPI_OK);

    const char *good[] = {"GET ping: status=501; first=1"};
    cfg.faults = good;
    cfg.nfaults = 1;
    mt_server s;
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    int id = 0;
    assert_int_equal(mockapi_fault_add(s.m, "ping", NULL, "status=502; first=1", 0, &id, err, sizeof err), 0);
    assert_int_equal(id, 2);
    assert_int_equal(mockapi_fault_add(s.m, "ping", NULL, "status=502; frist=1", 0, NULL, err, sizeof err),
                     MOCKAPI_EINVAL);
    assert_non_null(strstr(err, "spec: unknown key \"frist\" (did you mean \"first\"?)"));
    assert_int_equal(mockapi_fault_add(s.m, "/test/*", NULL, "status=502", 0, NULL, err, sizeof err), MOCKAPI_EINVAL);
    ask_has(c, 502, "GET", "/v1/ping", NULL, NULL, NULL); /* the API's rule first */
    ask_has(c, 501, "GET", "/v1/ping", NULL, NULL, "\"injected fault: status=501; first=1\"");
    ask_has(c, 200, "GET", "/v1/ping", NULL, NULL, NULL);
    ask_has(c, 200, "GET", "/test/requests?route=ping", NULL, NULL, "\"source\":\"flag\",\"rule\":1,");
    assert_int_equal(mockapi_fault_delete(s.m, 1), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_delete(s.m, 2), MOCKAPI_OK);
    assert_int_equal(mockapi_fault_delete(s.m, 2), MOCKAPI_ENOTFOUND);
    ask_has(c, 400, "DELETE", "/test/faults/1", NULL, NULL, "comes from the -fault flag");
    assert_int_equal(mockapi_fault_add(s.m, "/v1/p*", "GET", "status=503", 0, &id, err, sizeof err), 0);
    assert_int_equal(mockapi_fault_clear(s.m), MOCKAPI_OK);
    assert_int_equal(mockapi_reset(s.m), MOCKAPI_OK);
    ask_has(c, 501, "GET", "/v1/ping", NULL, NULL, NULL); /* the flag rule's first=1 starts over */
    ask_has(c, 200, "GET", "/v1/ping", NULL, NULL, NULL);
    rc_close(c);
}

/* region=: a fault only on the listed regions; the journal names the
 * region that served each request (regions on: cfg.regions). */
static void rul_regions(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.regions = 3;
    mt_server s;
    rc_start(&s, &cfg, false);
    assert_int_equal(mockapi_region_count(s.m), 3);
    char err[256];
    assert_int_equal(mockapi_fault_add(s.m, "ping", NULL, "status=503; region=1,2", 0, NULL, err, sizeof err), 0);
    int want[3] = {200, 503, 503};
    for (int i = 0; i < 3; i++) {
        rc_conn *c = rc_connect(mockapi_region_port(s.m, i), false);
        ask_has(c, want[i], "GET", "/v1/ping", NULL, NULL, NULL);
        /* the header's region= too: only region 2 */
        ask_has(c, i == 2 ? 502 : want[i], "GET", "/v1/ping", FAULT_HDR("status=502; region=2"), NULL, NULL);
        rc_close(c);
    }
    rc_conn *c = rc_connect(mockapi_region_port(s.m, 0), false);
    rc_resp r;
    ask(c, &r, 200, "GET", "/test/requests?route=ping", NULL, NULL);
    const char *j = (const char *)r.body;
    assert_non_null(strstr(j, "\"region\":1,\"fault\":{\"source\":\"rule\",\"rule\":1,\"spec\":\"status=503; region=1,2\""));
    assert_non_null(strstr(j, "\"region\":2,\"fault\":{\"source\":\"header\",\"spec\":\"status=502; region=2\""));
    assert_non_null(strstr(j, "\"region\":0}"));
    rc_resp_free(&r);
    rc_close(c);
}

/* Rules added and deleted while threads send requests with and without
 * headers: every answer is a 200 or an injected 503, and the totals add
 * up (under TSan: no race). */
typedef struct rul_worker {
    int port;
    int n, injected, ok;
    const char *hdr;
} rul_worker;

static void *rul_send(void *arg)
{
    rul_worker *w = arg;
    int fd = mt_connect(w->port);
    if (fd < 0)
        return NULL;
    for (int i = 0; i < w->n; i++) {
        char req[256];
        int n = snprintf(req, sizeof req, "GET /v1/ping HTTP/1.1\r\nHost: x\r\n%s%s\r\n", w->hdr ? w->hdr : "",
                         i + 1 == w->n ? "Connection: close\r\n" : "");
        if (mt_send_all(fd, req, (size_t)n) != 0)
            break;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    mt_read_until_close(fd, mt_now_ms() + 20000, &buf, &len);
    for (const char *p = (const char *)buf; p && (p = strstr(p, "HTTP/1.1 ")); p += 9) {
        if (strncmp(p + 9, "200", 3) == 0)
            w->ok++;
        else if (strncmp(p + 9, "503", 3) == 0)
            w->injected++;
    }
    free(buf);
    close(fd);
    return NULL;
}

static void rul_concurrent_rules(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    enum { T = 4, N = 200 };
    rul_worker w[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        w[i] = (rul_worker){.port = rc_http_port(&s), .n = N,
                            .hdr = i % 2 ? "X-Mockapi-Fault: status=503; p=0.5; seed=9\r\n" : NULL};
        assert_int_equal(pthread_create(&th[i], NULL, rul_send, &w[i]), 0);
    }
    char err[256];
    for (int k = 0; k < 50; k++) {
        int id;
        assert_int_equal(mockapi_fault_add(s.m, k % 2 ? "ping" : "/v1/*", NULL, "status=503; first=3", 0, &id, err,
                                           sizeof err), 0);
        if (k % 3 == 0)
            mockapi_fault_delete(s.m, id);
        if (k % 10 == 9)
            mockapi_fault_clear(s.m);
    }
    int ok = 0, injected = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        injected += w[i].injected;
    }
    assert_int_equal(ok + injected, T * N);
    assert_true(injected > 0);
    /* every injected answer was counted once */
    char *json = NULL;
    int64_t applied = 0;
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_resp r;
    ask(c, &r, 200, "GET", "/test/assertions?faults=1", NULL, NULL);
    const char *a = strstr((const char *)r.body, "\"applied\":");
    assert_non_null(a);
    applied = strtoll(a + 10, NULL, 10);
    assert_int_equal(applied, injected);
    rc_resp_free(&r);
    rc_close(c);
    free(json);
}

int mt_run_fault_rule_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rul_header_first_two, rc_teardown),
        cmocka_unit_test_teardown(rul_header_malformed, rc_teardown),
        cmocka_unit_test_teardown(rul_rules_routes, rc_teardown),
        cmocka_unit_test_teardown(rul_journal_and_totals, rc_teardown),
        cmocka_unit_test_teardown(rul_wire_as_sent, rc_teardown),
        cmocka_unit_test_teardown(rul_config_and_api, rc_teardown),
        cmocka_unit_test_teardown(rul_regions, rc_teardown),
        cmocka_unit_test_teardown(rul_concurrent_rules, rc_teardown),
    };
    return cmocka_run_group_tests_name("fault rules", tests, NULL, NULL);
}
