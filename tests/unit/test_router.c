/* test_router.c: Go 1.22 ServeMux behaviour of the route table (docs/contract.md §2.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi.h"
#include "router.h"
#include "unit.h"

static mk_verdict match(mk_listener_kind k, const char *method, const char *path, const char *query,
                        mk_match *m)
{
    return mk_route_match(k, false, method, path, strlen(path), query, m);
}

static void test_exact_routes(void **st)
{
    (void)st;
    mk_match m;
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/ping", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_PING);
    assert_int_equal(match(MK_LISTEN_HTTP, "POST", "/v1/nodes/n1/heartbeat", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->counter, MOCKAPI_HEARTBEAT_COUNT);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0].s, "n1");
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/artifacts/plexd/1.2/linux/amd64", NULL, &m), MK_MATCH);
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[2].s, "amd64");
}

static void test_params_are_unescaped_per_segment(void **st)
{
    (void)st;
    mk_match m;
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/nodes/n/secrets/a%2Fb", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_SECRETS);
    assert_string_equal(m.params[1].s, "a/b");
    /* a literal segment matches its unescaped spelling too */
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/p%69ng", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_PING);
    /* control bytes are just bytes */
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/nodes/%00%01/state", NULL, &m), MK_MATCH);
    assert_int_equal(m.params[0].len, 2);
}

static void test_method_precedence_and_405(void **st)
{
    (void)st;
    mk_match m;
    /* HEAD is served by the GET pattern */
    assert_int_equal(match(MK_LISTEN_HTTP, "HEAD", "/v1/nodes/x/state", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_STATE);
    /* no fallback: text 405 with Allow */
    assert_int_equal(match(MK_LISTEN_HTTP, "POST", "/v1/nodes/x/state", NULL, &m), MK_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD");
    /* fallback: the JSON 405 responder */
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/register", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_METHOD_NOT_ALLOWED_JSON);
    assert_int_equal(match(MK_LISTEN_HTTP, "POST", "/v1/ping", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_METHOD_NOT_ALLOWED_JSON);
    /* PUT and POST on the two state aliases */
    assert_int_equal(match(MK_LISTEN_HTTP, "PUT", "/test/state", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_SET_STATE);
    assert_int_equal(match(MK_LISTEN_HTTP, "POST", "/test/state", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_METHOD_NOT_ALLOWED_JSON);
    /* the TLS mux has no fallbacks */
    assert_int_equal(match(MK_LISTEN_TLS, "GET", "/local/metrics", NULL, &m), MK_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(match(MK_LISTEN_TLS, "POST", "/test/assertions", NULL, &m), MK_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD");
    /* every /test/ route is on TLS too (issue 13), still without fallbacks */
    assert_int_equal(match(MK_LISTEN_TLS, "GET", "/test/requests", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_REQUESTS);
    assert_int_equal(match(MK_LISTEN_TLS, "GET", "/test/wait", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_WAIT);
    assert_int_equal(match(MK_LISTEN_TLS, "PUT", "/test/state", NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_SET_STATE);
    assert_int_equal(match(MK_LISTEN_TLS, "POST", "/test/state", NULL, &m), MK_NOT_ALLOWED);
    assert_string_equal(m.allow, "PUT");
    assert_int_equal(match(MK_LISTEN_TLS, "GET", "/test/reset", NULL, &m), MK_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST");
}

static void test_not_found(void **st)
{
    (void)st;
    mk_match m;
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/ping/", NULL, &m), MK_NOT_FOUND);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/", NULL, &m), MK_NOT_FOUND);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/nodes/x/unknown", NULL, &m), MK_NOT_FOUND);
    /* the plain listener does not serve /local, the TLS one not /v1 */
    assert_int_equal(match(MK_LISTEN_HTTP, "POST", "/local/metrics", NULL, &m), MK_NOT_FOUND);
    assert_int_equal(match(MK_LISTEN_TLS, "GET", "/v1/ping", NULL, &m), MK_NOT_FOUND);
}

static void test_redirects(void **st)
{
    (void)st;
    mk_match m;
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "//v1/ping", NULL, &m), MK_REDIRECT);
    assert_string_equal(m.location, "/v1/ping");
    free(m.location);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/./ping", "a=1&b", &m), MK_REDIRECT);
    assert_string_equal(m.location, "/v1/ping?a=1&b");
    free(m.location);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/x/../ping", NULL, &m), MK_REDIRECT);
    assert_string_equal(m.location, "/v1/ping");
    free(m.location);
    /* the trailing slash is kept through cleaning */
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1//ping/", NULL, &m), MK_REDIRECT);
    assert_string_equal(m.location, "/v1/ping/");
    free(m.location);
    /* cleaning runs on the decoded path; the location is re-escaped */
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/a%20b/../ping", NULL, &m), MK_REDIRECT);
    assert_string_equal(m.location, "/v1/ping");
    free(m.location);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/../../a b", NULL, &m), MK_REDIRECT);
    assert_string_equal(m.location, "/a%20b");
    free(m.location);
}

static void test_bad_input(void **st)
{
    (void)st;
    mk_match m;
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/nodes/%zz/state", NULL, &m), MK_BAD_REQUEST);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "/v1/nodes/%4", NULL, &m), MK_BAD_REQUEST);
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", "v1/ping", NULL, &m), MK_BAD_REQUEST);
    /* very long and very deep paths are refused, not overflowed */
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[0] = '/';
    big[19999] = '\0';
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", big, NULL, &m), MK_NOT_FOUND);
    for (int i = 0; i < 19998; i += 2) {
        big[i] = '/';
        big[i + 1] = 'a';
    }
    big[4000] = '\0';
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", big, NULL, &m), MK_NOT_FOUND);
    /* a 2000-byte id does not fit the parameter scratch: 404, no overflow */
    memcpy(big, "/v1/nodes/", 10);
    memset(big + 10, 'x', 2000);
    strcpy(big + 2010, "/state");
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", big, NULL, &m), MK_NOT_FOUND);
    free(big);
}

static void test_capture_names(void **st)
{
    (void)st;
    assert_int_equal(MK_CAP_COUNT, 22);
    for (int i = 0; i < MK_CAP_COUNT; i++) {
        const char *n = mk_capture_name((mk_capture)i);
        assert_non_null(n);
        assert_int_equal(mk_capture_by_name(n, strlen(n)), i);
    }
    assert_int_equal(mk_capture_by_name("nope", 4), MK_CAP_NONE);
    /* every counted body route captures under a key */
    size_t n;
    const mk_route *r = mk_routes(&n);
    for (size_t i = 0; i < n; i++)
        if (r[i].body != MK_BODY_NONE)
            assert_true(r[i].capture != MK_CAP_NONE);
}

/* The strict profile's table: its own routes, and no method-less
 * fallbacks (another method is 405 with Allow, answered as problem+json). */
static void test_strict_table(void **st)
{
    (void)st;
    mk_match m;
    static const char id[] = "/v1/nodes/0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b";
    char p[160];
    struct { const char *method, *suffix; mk_responder r; } own[] = {
        {"GET", "/reachability", MK_R_REACHABILITY},
        {"POST", "/keys/rotate", MK_R_ROTATE_TRIGGER},
        {"GET", "/keys/rotate/preview", MK_R_ROTATE_PREVIEW},
        {"POST", "/integrity-violations", MK_R_NO_CONTENT},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        snprintf(p, sizeof p, "%s%s", id, own[i].suffix);
        assert_int_equal(match(MK_LISTEN_HTTP, own[i].method, p, NULL, &m), MK_NOT_FOUND); /* reference */
        assert_int_equal(mk_route_match(MK_LISTEN_HTTP, true, own[i].method, p, strlen(p), NULL, &m), MK_MATCH);
        assert_int_equal(m.route->responder, own[i].r);
        assert_true(m.route->strict_only);
    }
    const char *topo = "/v1/domains/d1/mesh/topology";
    assert_int_equal(mk_route_match(MK_LISTEN_HTTP, true, "GET", topo, strlen(topo), NULL, &m), MK_MATCH);
    assert_string_equal(mk_route_name(m.route), "topology");
    /* the reference's JSON 405 fallback: strict answers 405 with Allow instead */
    const char *hb = "/v1/nodes/n1/heartbeat";
    assert_int_equal(match(MK_LISTEN_HTTP, "GET", hb, NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_METHOD_NOT_ALLOWED_JSON);
    assert_int_equal(mk_route_match(MK_LISTEN_HTTP, true, "GET", hb, strlen(hb), NULL, &m), MK_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST");
    /* the test routes are the same in both */
    assert_int_equal(mk_route_match(MK_LISTEN_HTTP, true, "POST", "/test/clock", 11, NULL, &m), MK_MATCH);
    assert_int_equal(m.route->responder, MK_R_CLOCK_ADVANCE);
}

static void test_suggest(void **st)
{
    (void)st;
    const char *p = "/v1/nodes/x/heartbeet";
    assert_string_equal(mk_route_suggest(MK_LISTEN_HTTP, false, p, strlen(p)), "/v1/nodes/{id}/heartbeat");
    p = "/v1/nodes/x/reachabilty";
    assert_null(mk_route_suggest(MK_LISTEN_HTTP, false, p, strlen(p))); /* strict only */
    assert_string_equal(mk_route_suggest(MK_LISTEN_HTTP, true, p, strlen(p)), "/v1/nodes/{id}/reachability");
    p = "/v1/nodes/x/completely-else";
    assert_null(mk_route_suggest(MK_LISTEN_HTTP, true, p, strlen(p)));
    p = "/v2/nodes/x/heartbeet"; /* two segments differ: no guess */
    assert_null(mk_route_suggest(MK_LISTEN_HTTP, true, p, strlen(p)));
    assert_null(mk_route_suggest(MK_LISTEN_HTTP, true, "", 0));
}

int run_router_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_routes),
        cmocka_unit_test(test_params_are_unescaped_per_segment),
        cmocka_unit_test(test_method_precedence_and_405),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_capture_names),
        cmocka_unit_test(test_strict_table),
        cmocka_unit_test(test_suggest),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
