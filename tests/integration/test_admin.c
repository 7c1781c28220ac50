/* test_admin.c: the admin token and the other start-up guards, through the
 * C API (tests named adm_*).
 *
 *  - admin_token: every /test/ route on both listeners needs it (401 with
 *    WWW-Authenticate and a JSON body otherwise), either header form works,
 *    other routes do not need it, a refused request changes nothing, and
 *    the journal never holds the token;
 *  - without a token, a TLS listener that is not on loopback serves no
 *    /test/ route (403): driven through mk_dispatch on an instance created
 *    for "0.0.0.0:0" and never started, so no test binds every interface;
 *  - invalid tokens, a missing fixtures folder and an unknown fixture file
 *    are create's errors, with a message;
 *  - inject-event refuses event_id / event_type with CR or LF (400 naming
 *    the field), and counts nothing;
 *  - every /test/ route is on the TLS listener too (issue 13): the journal
 *    and a wait over https, a wrong method there is the TLS table's 405
 *    text, and the admin policy covers them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dispatch.h"
#include "harness.h"

#define TOKEN "s3cret-T0ken"

/* GET path on base with the one extra header line hdr (NULL: none). */
static long get_with(const char *base, const char *path, const char *hdr, bool tls_ca_of_m,
                     const mockapi *m, mt_response *r)
{
    const char *hs[1] = {hdr};
    mt_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = path;
    rq.headers = hs;
    rq.nheaders = hdr ? 1 : 0;
    if (tls_ca_of_m)
        rq.ca_pem = mockapi_tls_ca_pem(m);
    mt_perform(NULL, base, &rq, r);
    return r->status;
}

static void expect_401(const char *base, const char *path, const char *hdr, bool tls, const mockapi *m)
{
    mt_response r;
    assert_int_equal(get_with(base, path, hdr, tls, m, &r), 401);
    const char *wa = mt_header_get(&r, "WWW-Authenticate");
    assert_non_null(wa);
    assert_string_equal(wa, "Bearer realm=\"mockapi-test\"");
    assert_string_equal(mt_header_get(&r, "Content-Type"), "application/json");
    assert_non_null(strstr((const char *)r.body, "\"error\":"));
    assert_non_null(strstr((const char *)r.body, "X-Mockapi-Admin-Token"));
    mt_response_free(&r);
}

static void expect_status(const char *base, const char *path, const char *hdr, bool tls,
                          const mockapi *m, long want)
{
    mt_response r;
    get_with(base, path, hdr, tls, m, &r);
    if (r.status != want)
        fail_msg("GET %s%s with [%s]: %ld, want %ld", base, path, hdr ? hdr : "", r.status, want);
    mt_response_free(&r);
}

static void adm_token_both_listeners(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    cfg.admin_token = TOKEN;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    const mockapi *m = s.m;

    for (int tls = 0; tls < 2; tls++) {
        const char *base = tls ? s.tls_base : s.base;
        expect_401(base, "/test/assertions", NULL, tls, m);
        expect_401(base, "/test/assertions", "Authorization: Bearer wrong", tls, m);
        expect_401(base, "/test/assertions", "Authorization: Bearer " TOKEN "x", tls, m);
        expect_401(base, "/test/assertions", "Authorization: Basic " TOKEN, tls, m);
        expect_401(base, "/test/assertions", "X-Mockapi-Admin-Token: " TOKEN " extra", tls, m);
        expect_401(base, "/test/last-request/register", NULL, tls, m);
        expect_status(base, "/test/assertions", "Authorization: Bearer " TOKEN, tls, m, 200);
        expect_status(base, "/test/assertions", "Authorization: bearer " TOKEN, tls, m, 200);
        expect_status(base, "/test/assertions", "X-Mockapi-Admin-Token: " TOKEN, tls, m, 200);
    }
    /* every route of the family, known or not, percent-encoded or not */
    expect_401(s.base, "/test/requests", NULL, false, m);
    expect_401(s.tls_base, "/test/requests", NULL, true, m);
    expect_401(s.tls_base, "/test/wait?counter=heartbeat_count&timeout_ms=1", NULL, true, m);
    expect_401(s.tls_base, "/test/stats", NULL, true, m);
    expect_status(s.tls_base, "/test/requests", "X-Mockapi-Admin-Token: " TOKEN, true, m, 200);
    expect_401(s.base, "/test/no-such-route", NULL, false, m);
    expect_401(s.base, "/%74est/assertions", NULL, false, m);
    expect_status(s.base, "/%74est/assertions", "X-Mockapi-Admin-Token: " TOKEN, false, m, 200);
    expect_status(s.base, "/test/no-such-route", "X-Mockapi-Admin-Token: " TOKEN, false, m, 404);
    /* the agent's routes need no admin token */
    expect_status(s.base, "/v1/ping", NULL, false, m, 200);

    /* a refused control request changes nothing */
    mt_response r;
    assert_int_equal(mt_send(NULL, s.base, "POST", "/v1/nodes/n1/heartbeat", "{}", &r), 0);
    mt_response_free(&r);
    assert_int_equal(mockapi_counter_get(m, MOCKAPI_HEARTBEAT_COUNT), 1);
    assert_int_equal(mt_send(NULL, s.base, "POST", "/test/reset", NULL, &r), 0);
    assert_int_equal(r.status, 401);
    mt_response_free(&r);
    assert_int_equal(mockapi_counter_get(m, MOCKAPI_HEARTBEAT_COUNT), 1);

    /* the journal has the requests, never the token */
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(mockapi_requests(s.m, "include_test=1", &json, &len), MOCKAPI_OK);
    assert_non_null(strstr(json, "\"X-Mockapi-Admin-Token\",\"redacted sha256:"));
    assert_non_null(strstr(json, "\"status\":401"));
    assert_null(strstr(json, TOKEN));
    mockapi_free_buf(json);
    mt_server_untrack_free(&s);
}

static void adm_token_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "with space", "tab\there", "nl\n"};
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mockapi_config cfg;
        mt_config_init(&cfg);
        cfg.admin_token = bad[i];
        mockapi *m = NULL;
        err[0] = '\0';
        assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
        assert_null(m);
        assert_non_null(strstr(err, "admin_token"));
    }
    char *longtok = malloc(1026);
    assert_non_null(longtok);
    memset(longtok, 'a', 1025);
    longtok[1025] = '\0';
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.admin_token = longtok;
    mockapi *m = NULL;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    longtok[1024] = '\0'; /* 1024 is the most */
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    mockapi_free(m);
    free(longtok);
}

/* One GET through mk_dispatch on m as if it came in on listener idx (kind
 * kind); returns the status, the body into body (at most n - 1 bytes). */
static int direct_get(mockapi *m, mk_listener_kind kind, int idx, const char *path, const char *hdr_name,
                      const char *hdr_value, char *body, size_t n)
{
    mk_header_kv hs[2] = {{.name = "Host", .value = "x"}, {.name = hdr_name, .value = hdr_value}};
    char pathbuf[128];
    snprintf(pathbuf, sizeof pathbuf, "%s", path);
    mk_request req;
    memset(&req, 0, sizeof req);
    req.kind = kind;
    req.listener = idx;
    req.method = "GET";
    mk_request_target(&req, pathbuf);
    req.headers = hs;
    req.nheaders = hdr_name ? 2 : 1;
    req.body_status = MK_BODY_COMPLETE;
    mk_response resp = {0};
    mk_buf_init(&resp.out, 0);
    mk_dispatch(m, &req, &resp);
    const char *eoh = resp.out.data ? strstr(resp.out.data, "\r\n\r\n") : NULL;
    snprintf(body, n, "%s", eoh ? eoh + 4 : "");
    int st = resp.status;
    mk_buf_free(&resp.out);
    free(resp.stream_node);
    return st;
}

static void adm_tls_off_loopback(void **state)
{
    (void)state;
    char err[256], body[512];
    mockapi_config cfg;
    mockapi *m = NULL;

    /* no token, TLS on every interface: its /test/ routes are off */
    mt_config_init(&cfg);
    cfg.tls_addr = "0.0.0.0:0"; /* created, never started: nothing is bound */
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", NULL, NULL, body, sizeof body), 403);
    assert_non_null(strstr(body, "-admin-token"));
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/last-request/register", NULL, NULL, body, sizeof body),
                     403);
    /* the routes TLS gained in issue 13 are off there the same way */
    static const char *const gained[] = {"/test/requests", "/test/wait?counter=heartbeat_count&timeout_ms=1",
                                         "/test/stats", "/test/sse", "/test/sse/wait?timeout_ms=1"};
    for (size_t i = 0; i < sizeof gained / sizeof gained[0]; i++)
        if (direct_get(m, MK_LISTEN_TLS, 1, gained[i], NULL, NULL, body, sizeof body) != 403)
            fail_msg("TLS %s off loopback without a token: not 403", gained[i]);
    /* the plain listener (loopback) still serves them */
    assert_int_equal(direct_get(m, MK_LISTEN_HTTP, 0, "/test/assertions", NULL, NULL, body, sizeof body), 200);
    mockapi_free(m);

    /* [::] and the IPv4-mapped loopback are told apart too */
    mt_config_init(&cfg);
    cfg.tls_addr = "[::]:0";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", NULL, NULL, body, sizeof body), 403);
    mockapi_free(m);
    mt_config_init(&cfg);
    cfg.tls_addr = "[::1]:0";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", NULL, NULL, body, sizeof body), 200);
    mockapi_free(m);
    mt_config_init(&cfg);
    cfg.tls_addr = "localhost:0";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", NULL, NULL, body, sizeof body), 200);
    mockapi_free(m);

    /* with a token, the same listener serves them to whoever has it */
    mt_config_init(&cfg);
    cfg.tls_addr = "0.0.0.0:0";
    cfg.admin_token = TOKEN;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", NULL, NULL, body, sizeof body), 401);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", "X-Mockapi-Admin-Token", TOKEN, body,
                                sizeof body),
                     200);
    assert_int_equal(direct_get(m, MK_LISTEN_TLS, 1, "/test/assertions", "Authorization", "Bearer " TOKEN, body,
                                sizeof body),
                     200);
    mockapi_free(m);
}

static void adm_fixtures_errors(void **state)
{
    (void)state;
    char err[512], dir[] = "/tmp/mockapi-adm-XXXXXX", path[600];
    mockapi_config cfg;
    mockapi *m = NULL;

    mt_config_init(&cfg);
    cfg.fixtures_dir = "/nonexistent/mockapi-fixtures";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EIO);
    assert_null(m);
    assert_non_null(strstr(err, "/nonexistent/mockapi-fixtures"));
    assert_non_null(strstr(err, "No such file or directory"));

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/hearbeat.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{}", fp);
    fclose(fp);
    cfg.fixtures_dir = dir;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    print_message("unknown fixture: %s\n", err);
    assert_non_null(strstr(err, "unknown file \"hearbeat.json\""));
    assert_non_null(strstr(err, "did you mean heartbeat.json?"));
    assert_non_null(strstr(err, "artifact.bin"));
    unlink(path);

    /* a file, not a folder */
    snprintf(path, sizeof path, "%s/plain", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    cfg.fixtures_dir = path;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EIO);
    assert_non_null(strstr(err, "Not a directory"));
    unlink(path);

    /* dot-files are left alone; an empty folder is fine */
    snprintf(path, sizeof path, "%s/.keep", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    cfg.fixtures_dir = dir;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    mockapi_free(m);
    unlink(path);
    rmdir(dir);
}

static void adm_inject_crlf(void **state)
{
    (void)state;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"event_type\":\"t\",\"event_id\":\"a\\nid: forged\",\"payload\":{}}", "event_id"},
        {"{\"event_type\":\"t\",\"event_id\":\"a\\rb\",\"payload\":{}}", "event_id"},
        {"{\"event_type\":\"x\\ndata: forged\",\"event_id\":\"e1\",\"payload\":{}}", "event_type"},
        {"{\"event_type\":\"x\\r\",\"event_id\":\"e1\",\"payload\":{}}", "event_type"},
    };
    mt_response r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mt_send(NULL, s.base, "POST", "/test/inject-event", bad[i].body, &r), 0);
        assert_int_equal(r.status, 400);
        const char *why = mt_header_get(&r, "X-Mockapi-Error");
        assert_non_null(why);
        assert_non_null(strstr(why, bad[i].field));
        assert_non_null(strstr(why, "CR or LF"));
        mt_response_free(&r);
    }
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_INJECT_EVENT_COUNT), 0);
    assert_int_equal(mt_send(NULL, s.base, "POST", "/test/inject-event",
                             "{\"event_type\":\"t\",\"event_id\":\"e1\",\"payload\":{}}", &r),
                     0);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_INJECT_EVENT_COUNT), 1);
    mt_server_untrack_free(&s);
}

static void adm_defaults_loopback(void **state)
{
    (void)state;
    mockapi_config cfg;
    mockapi_config_init(&cfg);
    assert_string_equal(cfg.addr, "127.0.0.1:0");
    assert_null(cfg.tls_addr);
    assert_null(cfg.admin_token);
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    char addr[64];
    assert_true(mockapi_addr(s.m, MOCKAPI_LISTENER_HTTP, addr, sizeof addr) > 0);
    assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
    mt_server_untrack_free(&s);
}

/* Every /test/ route over https (no token, TLS on loopback): the journal
 * lists what came in on TLS with what it answered, a wait sees it, the
 * others answer, and a wrong method is the TLS table's 405 text. */
static void adm_tls_test_routes(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    const char *ca = mockapi_tls_ca_pem(s.m);
    static const char *const auth[] = {"Authorization: Bearer e2e-local-bearer-token"};
    mt_request rq;
    mt_response r;

    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = "/local/metrics";
    rq.headers = auth;
    rq.nheaders = 1;
    rq.body = "[]";
    rq.body_len = 2;
    rq.send_body = true;
    rq.ca_pem = ca;
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);

    /* the wait, then the journal, both over TLS */
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = "/test/wait?path=/local/metrics&op=gte&value=1&timeout_ms=5000";
    rq.ca_pem = ca;
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"met\":true,\"value\":1"));
    mt_response_free(&r);
    rq.path = "/test/requests?last=1";
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 200);
    const char *b = (const char *)r.body;
    assert_non_null(strstr(b, "\"listener_kind\":\"tls\",\"method\":\"POST\",\"path\":\"/local/metrics\""));
    assert_non_null(strstr(b, "\"response\":{\"status\":204,\"headers\":[],\"body_size\":0,"));
    assert_null(strstr(b, "e2e-local-bearer-token")); /* the credential as a fingerprint only */
    mt_response_free(&r);
    /* the /test/ requests made over TLS are journaled as TLS too */
    rq.path = "/test/requests?route=wait&include_test=1";
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"listener_kind\":\"tls\",\"method\":\"GET\",\"path\":\"/test/wait\""));
    mt_response_free(&r);

    static const char *const gets[] = {"/test/stats", "/test/sse", "/test/assertions"};
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        rq.path = gets[i];
        assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
        if (r.status != 200)
            fail_msg("GET %s over TLS: %ld", gets[i], r.status);
        mt_response_free(&r);
    }
    rq.path = "/test/sse/wait?clients=0&timeout_ms=1000";
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);

    /* a wrong method: the TLS table's 405 (text, Allow), no JSON fallback */
    rq.method = "POST";
    rq.path = "/test/requests";
    rq.send_body = true;
    rq.body = "";
    rq.body_len = 0;
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(mt_header_get(&r, "Allow"), "GET, HEAD");
    assert_string_equal(mt_header_get(&r, "Content-Type"), "text/plain; charset=utf-8");
    mt_response_free(&r);

    /* reset over TLS empties the journal */
    rq.path = "/test/reset";
    assert_int_equal(mt_perform(NULL, s.tls_base, &rq, &r), 0);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(mockapi_requests(s.m, NULL, &json, &len), MOCKAPI_OK);
    assert_non_null(strstr(json, "{\"entries\":[],"));
    mockapi_free_buf(json);
    mt_server_untrack_free(&s);
}

static int teardown(void **state)
{
    (void)state;
    mt_server_free_tracked_all();
    return 0;
}

int mt_run_admin_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(adm_token_both_listeners, teardown),
        cmocka_unit_test(adm_token_invalid),
        cmocka_unit_test(adm_tls_off_loopback),
        cmocka_unit_test(adm_fixtures_errors),
        cmocka_unit_test_teardown(adm_inject_crlf, teardown),
        cmocka_unit_test_teardown(adm_defaults_loopback, teardown),
        cmocka_unit_test_teardown(adm_tls_test_routes, teardown),
    };
    return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
