/* test_match.c: mockassert's pure core (assert/match.c, jpath.c, requests.c,
 * util.c): JSON equality and subset, diffs, every operator, and/or/not,
 * JSON paths, journal filters and globs, durations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* assert/{match,jpath,requests,util}.c are compiled into unit_tests
 * (premake5.lua): mockassert's pure cores, tested without a server. */
#include "match.h"
#include "number.h"
#include "requests.h"
#include "util.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    assert_non_null(v);
    return v;
}

static const ma_mark here = {"t.yaml", 1, 1};

/* An OP check on path (NULL: $) with the operand given as JSON text. */
static ma_check *op(const char *path, ma_op o, const char *operand)
{
    ma_path *p = NULL;
    if (path) {
        size_t pos;
        const char *why;
        p = ma_path_parse(path, &pos, &why);
        assert_non_null(p);
    }
    char why[200];
    ma_check *c = ma_check_op(here, p, o, J(operand), why, sizeof why);
    assert_non_null(c);
    return c;
}

/* Evaluates one operator against doc text; frees everything. */
static int holds(const char *doc, const char *path, ma_op o, const char *operand)
{
    json_t *d = J(doc);
    ma_check *c = op(path, o, operand);
    ma_failures f = {0};
    int r = ma_check_eval(c, d, &f);
    /* a failure always explains itself; a pass never does */
    if (r)
        assert_int_equal(f.n, 0);
    else
        assert_true(f.n > 0);
    ma_failures_free(&f);
    ma_check_free(c);
    json_decref(d);
    return r;
}

static void test_equality(void **st)
{
    (void)st;
    json_t *a = J("{\"a\":1,\"b\":[1,2,{\"c\":null}]}");
    json_t *b = J("{ \"b\" : [1, 2.0, {\"c\": null}], \"a\": 1.0 }");
    json_t *c = J("{\"a\":1,\"b\":[2,1,{\"c\":null}]}");
    assert_true(ma_json_equal(a, b));
    assert_false(ma_json_equal(a, c)); /* arrays keep their order */
    json_t *big1 = J("9007199254740993"), *big2 = J("9007199254740992");
    assert_false(ma_json_equal(big1, big2)); /* integers compare exactly */
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(big1);
    json_decref(big2);
}

static void test_subset(void **st)
{
    (void)st;
    json_t *have = J("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":[1,{\"f\":1,\"g\":2}]}");
    json_t *yes = J("{\"b\":{\"d\":3},\"e\":[1,{\"g\":2}]}");
    json_t *no1 = J("{\"b\":{\"d\":4}}");
    json_t *no2 = J("{\"e\":[1]}"); /* arrays: same length */
    json_t *no3 = J("{\"x\":null}");
    assert_true(ma_json_subset(yes, have));
    assert_false(ma_json_subset(no1, have));
    assert_false(ma_json_subset(no2, have));
    assert_false(ma_json_subset(no3, have));
    json_decref(have);
    json_decref(yes);
    json_decref(no1);
    json_decref(no2);
    json_decref(no3);
}

static void test_diff_names_each_place(void **st)
{
    (void)st;
    json_t *want = J("{\"a\":1,\"b\":{\"c\":[1,2]},\"m\":true}");
    json_t *have = J("{\"a\":2,\"b\":{\"c\":[1]},\"x\":0}");
    ma_failures f = {0};
    ma_json_diff(want, have, "$", 0, here, 0, 20, &f);
    assert_int_equal(f.n, 4);
    assert_string_equal(f.v[0].path, "$.a");
    assert_string_equal(f.v[0].what, "value differs");
    assert_string_equal(f.v[1].path, "$.b.c");
    assert_string_equal(f.v[2].path, "$.m");
    assert_string_equal(f.v[2].what, "missing member");
    assert_null(f.v[2].actual);
    assert_string_equal(f.v[3].path, "$.x");
    assert_string_equal(f.v[3].what, "unexpected member");
    ma_failures_free(&f);
    /* subset: extra members are fine */
    ma_json_diff(want, have, "$", 1, here, 0, 20, &f);
    assert_int_equal(f.n, 3);
    ma_failures_free(&f);
    /* the limit */
    ma_json_diff(want, have, "$", 0, here, 0, 2, &f);
    assert_int_equal(f.n, 3);
    assert_string_equal(f.v[2].what, "... further differences not shown");
    ma_failures_free(&f);
    json_decref(want);
    json_decref(have);
}

static const char *doc =
    "{\"status\":\"healthy\",\"n\":2,\"r\":12.5,\"s\":\"sha256:abc\",\"tags\":[\"edge\",\"eu\"],"
    "\"peers\":[{\"id\":\"p1\",\"rtt\":10},{\"id\":\"p2\",\"rtt\":30}],\"m\":{\"k\":\"v\"},\"z\":null,"
    "\"t\":\"2026-01-02T00:00:00Z\",\"odd key\":{\"a.b\":1}}";

static void test_operators(void **st)
{
    (void)st;
    assert_true(holds(doc, "$.status", MA_OP_EQUALS, "\"healthy\""));
    assert_false(holds(doc, "$.status", MA_OP_EQUALS, "\"sick\""));
    assert_true(holds(doc, "$.n", MA_OP_EQUALS, "2.0"));
    assert_true(holds(doc, "$.z", MA_OP_EQUALS, "null"));
    assert_true(holds(doc, "$.status", MA_OP_NOT_EQUALS, "\"sick\""));
    assert_false(holds(doc, "$.status", MA_OP_NOT_EQUALS, "\"healthy\""));
    assert_true(holds(doc, "$.s", MA_OP_CONTAINS, "\"abc\""));
    assert_true(holds(doc, "$.tags", MA_OP_CONTAINS, "\"eu\""));
    assert_true(holds(doc, "$.m", MA_OP_CONTAINS, "\"k\""));
    assert_true(holds(doc, "$.peers", MA_OP_CONTAINS, "{\"id\":\"p2\"}"));
    assert_false(holds(doc, "$.peers", MA_OP_CONTAINS, "{\"id\":\"p3\"}"));
    assert_false(holds(doc, "$.n", MA_OP_CONTAINS, "\"2\"")); /* wrong kind */
    assert_true(holds(doc, "$.tags", MA_OP_NOT_CONTAINS, "\"us\""));
    assert_false(holds(doc, "$.tags", MA_OP_NOT_CONTAINS, "\"edge\""));
    assert_true(holds(doc, "$.s", MA_OP_STARTS_WITH, "\"sha256:\""));
    assert_false(holds(doc, "$.n", MA_OP_STARTS_WITH, "\"2\""));
    assert_true(holds(doc, "$.s", MA_OP_ENDS_WITH, "\"abc\""));
    assert_false(holds(doc, "$.s", MA_OP_ENDS_WITH, "\"sha256:abcd\""));
    assert_true(holds(doc, "$.n", MA_OP_GREATER_THAN, "1"));
    assert_false(holds(doc, "$.n", MA_OP_GREATER_THAN, "2"));
    assert_true(holds(doc, "$.r", MA_OP_LESS_THAN, "13"));
    assert_true(holds(doc, "$.n", MA_OP_AT_LEAST, "2"));
    assert_true(holds(doc, "$.n", MA_OP_AT_MOST, "2"));
    assert_false(holds(doc, "$.n", MA_OP_AT_MOST, "1.5"));
    assert_true(holds(doc, "$.t", MA_OP_GREATER_THAN, "\"2026-01-01T00:00:00Z\""));
    assert_false(holds(doc, "$.status", MA_OP_GREATER_THAN, "1")); /* wrong kind */
    assert_true(holds(doc, "$.n", MA_OP_BETWEEN, "[2, 3]"));
    assert_false(holds(doc, "$.n", MA_OP_BETWEEN, "[3, 4]"));
    assert_true(holds(doc, "$.status", MA_OP_EXISTS, "true"));
    assert_true(holds(doc, "$.nope", MA_OP_EXISTS, "false"));
    assert_false(holds(doc, "$.nope", MA_OP_EXISTS, "true"));
    assert_true(holds(doc, "$.nope", MA_OP_NOT_EXISTS, "true"));
    assert_false(holds(doc, "$.z", MA_OP_NOT_EXISTS, "true")); /* null is a value */
    assert_true(holds(doc, "$.status", MA_OP_IN, "[\"a\", \"healthy\"]"));
    assert_false(holds(doc, "$.status", MA_OP_IN, "[\"a\"]"));
    assert_true(holds(doc, "$.status", MA_OP_NOT_IN, "[\"a\"]"));
    assert_true(holds(doc, "$.s", MA_OP_MATCHES, "\"^sha[0-9]+:\""));
    assert_false(holds(doc, "$.s", MA_OP_MATCHES, "\"^md5\""));
    assert_true(holds(doc, "$.s", MA_OP_NOT_MATCHES, "\"^md5\""));
    assert_false(holds(doc, "$.n", MA_OP_MATCHES, "\"2\"")); /* wrong kind */
    assert_true(holds(doc, "$.m", MA_OP_SUBSET, "{\"k\":\"v\"}"));
    assert_false(holds(doc, "$.m", MA_OP_SUBSET, "{\"k\":\"w\"}"));
    /* a missing value fails every operator but exists/notExists */
    assert_false(holds(doc, "$.nope", MA_OP_NOT_EQUALS, "1"));
    assert_false(holds(doc, "$.nope", MA_OP_NOT_IN, "[1]"));
}

/* A string holding a NUL (\u0000) is matched as a whole: regexec alone
 * stops at the NUL, so "^abc$" held for "abc\u0000evil" and "evil" was
 * not found (a false pass for matches and notMatches). */
static void test_matches_sees_past_nul(void **st)
{
    (void)st;
    static const char body[] = "{\"s\": \"abc\\u0000evil\"}";
    json_t *d = ma_json_from_body(body, sizeof body - 1);
    assert_non_null(d);
    struct {
        ma_op op;
        const char *re;
        int want;
    } cases[] = {
        {MA_OP_MATCHES, "\"^abc$\"", 0},    {MA_OP_MATCHES, "\"evil$\"", 1},
        {MA_OP_NOT_MATCHES, "\"evil\"", 0}, {MA_OP_NOT_MATCHES, "\"^abc$\"", 1},
        {MA_OP_MATCHES, "\"^abc\"", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ma_check *c = op("$.s", cases[i].op, cases[i].re);
        if (ma_check_eval(c, d, NULL) != cases[i].want)
            fail_msg("%s %s: expected %d", ma_op_name(cases[i].op), cases[i].re, cases[i].want);
        ma_check_free(c);
    }
    json_decref(d);
}

static void test_operands_are_checked(void **st)
{
    (void)st;
    char why[200];
    assert_null(ma_check_op(here, NULL, MA_OP_BETWEEN, J("[1]"), why, sizeof why));
    assert_non_null(strstr(why, "between"));
    assert_null(ma_check_op(here, NULL, MA_OP_MATCHES, J("\"(\""), why, sizeof why));
    assert_non_null(strstr(why, "regular expression"));
    assert_null(ma_check_op(here, NULL, MA_OP_STARTS_WITH, J("1"), why, sizeof why));
    assert_null(ma_check_op(here, NULL, MA_OP_IN, J("1"), why, sizeof why));
    assert_null(ma_check_op(here, NULL, MA_OP_EXISTS, J("1"), why, sizeof why));
    /* operands that make a check vacuous (never holds; under not:/none:
     * always passes) are refused */
    assert_null(ma_check_op(here, NULL, MA_OP_BETWEEN, J("[10, 1]"), why, sizeof why));
    assert_non_null(strstr(why, "low first"));
    assert_null(ma_check_op(here, NULL, MA_OP_BETWEEN, J("[\"b\", \"a\"]"), why, sizeof why));
    json_t *rev = json_pack("[o,o]", ma_number_parse("1e400", 5), ma_number_parse("1e399", 5));
    assert_null(ma_check_op(here, NULL, MA_OP_BETWEEN, rev, why, sizeof why));
    assert_null(ma_check_op(here, NULL, MA_OP_IN, J("[]"), why, sizeof why));
    assert_non_null(strstr(why, "at least one"));
    assert_null(ma_check_op(here, NULL, MA_OP_NOT_IN, J("[]"), why, sizeof why));
    ma_check *ok = ma_check_op(here, NULL, MA_OP_BETWEEN, J("[1, 1]"), why, sizeof why); /* one value */
    assert_non_null(ok);
    ma_check_free(ok);
    ma_op o;
    assert_int_equal(ma_op_by_name("notMatches", &o), 0);
    assert_int_equal(o, MA_OP_NOT_MATCHES);
    assert_int_equal(ma_op_by_name("atleast", &o), -1);
}

static void test_wildcards_need_every_value(void **st)
{
    (void)st;
    json_t *d = J(doc);
    ma_check *c = op("$.peers[*].rtt", MA_OP_LESS_THAN, "20");
    ma_failures f = {0};
    assert_false(ma_check_eval(c, d, &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].path, "$.peers[1].rtt"); /* the concrete path */
    ma_failures_free(&f);
    ma_check_free(c);
    c = op("$.peers[*].id", MA_OP_STARTS_WITH, "\"p\"");
    assert_true(ma_check_eval(c, d, NULL));
    ma_check_free(c);
    json_decref(d);
}

static void test_and_or_not(void **st)
{
    (void)st;
    json_t *d = J(doc);
    ma_check *any = ma_check_group(MA_CHECK_OR, here);
    ma_check_add(any, op("$.status", MA_OP_EQUALS, "\"sick\""));
    ma_check_add(any, op("$.n", MA_OP_EQUALS, "2"));
    assert_true(ma_check_eval(any, d, NULL));
    ma_check *none = ma_check_group(MA_CHECK_OR, here);
    ma_check_add(none, op("$.status", MA_OP_EQUALS, "\"sick\""));
    ma_check_add(none, op("$.n", MA_OP_EQUALS, "3"));
    ma_failures f = {0};
    assert_false(ma_check_eval(none, d, &f));
    assert_int_equal(f.n, 3); /* the or, then each alternative one level deeper */
    assert_int_equal(f.v[0].depth, 0);
    assert_int_equal(f.v[1].depth, 1);
    assert_int_equal(f.v[2].depth, 1);
    ma_failures_free(&f);
    ma_check *not = ma_check_group(MA_CHECK_NOT, here);
    ma_check_add(not, none);
    assert_true(ma_check_eval(not, d, NULL));
    ma_check *all = ma_check_group(MA_CHECK_AND, here);
    ma_check_add(all, any);
    ma_check_add(all, not);
    assert_true(ma_check_eval(all, d, NULL));
    ma_check *not2 = ma_check_group(MA_CHECK_NOT, here);
    ma_check_add(not2, op("$.status", MA_OP_EQUALS, "\"healthy\""));
    assert_false(ma_check_eval(not2, d, &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].what, "not equals (it held)");
    ma_failures_free(&f);
    ma_check_free(not2);
    ma_check_free(all);
    json_decref(d);
}

static void test_paths(void **st)
{
    (void)st;
    size_t pos;
    const char *why;
    json_t *d = J(doc);
    static const struct {
        const char *in, *canon;
        size_t hits;
    } ok[] = {
        {"$", "$", 1},
        {"$.status", "$.status", 1},
        {"status", "$.status", 1},
        {"$['odd key']['a.b']", "$['odd key']['a.b']", 1},
        {"$[\"odd key\"]", "$['odd key']", 1},
        {"$.peers[-1].id", "$.peers[-1].id", 1},
        {"$.peers[2]", "$.peers[2]", 0},
        {"$.peers[*]", "$.peers[*]", 2},
        {"$.m.*", "$.m[*]", 1},
        {"[0]", "$[0]", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ma_path *p = ma_path_parse(ok[i].in, &pos, &why);
        assert_non_null(p);
        assert_string_equal(ma_path_text(p), ok[i].canon);
        ma_hit *h;
        size_t n = ma_path_select(p, d, &h);
        assert_int_equal(n, ok[i].hits);
        ma_hits_free(h, n);
        ma_path_free(p);
    }
    ma_hit *h;
    ma_path *p = ma_path_parse("$['odd key']['a.b']", &pos, &why);
    size_t n = ma_path_select(p, d, &h);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].path, "$['odd key']['a.b']");
    ma_hits_free(h, n);
    ma_path_free(p);
    static const struct {
        const char *in;
        size_t pos;
    } bad[] = {{"$.a..b", 4}, {"$.a[", 4}, {"$.a[x]", 4}, {"$['a", 4}, {"$.a[1", 5}, {"$x", 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(ma_path_parse(bad[i].in, &pos, &why));
        assert_int_equal(pos, bad[i].pos);
    }
    json_decref(d);
}

static void test_bodies(void **st)
{
    (void)st;
    json_t *v = ma_json_from_body("{\"a\":1}", 7);
    assert_true(json_is_object(v));
    json_decref(v);
    v = ma_json_from_body("not json", 8);
    assert_string_equal(json_string_value(v), "not json");
    json_decref(v);
    v = ma_json_from_body("", 0);
    assert_string_equal(json_string_value(v), "");
    json_decref(v);
    v = ma_json_from_body("123456789012345678901234567890", 30); /* too big: kept as its text */
    assert_string_equal(ma_number_text(v), "123456789012345678901234567890");
    json_decref(v);
    assert_null(ma_json_from_body("\xff\xfe", 2));
    char *s = ma_json_show(NULL);
    assert_string_equal(s, "(missing)");
    free(s);
}

static ma_entry entry(const char *method, const char *path, const char *route, int status, int test)
{
    ma_entry e;
    memset(&e, 0, sizeof e);
    e.method = method;
    e.path = path;
    e.route = route;
    e.status = status;
    e.test = test;
    return e;
}

static void test_globs_and_filters(void **st)
{
    (void)st;
    assert_true(ma_glob_match("/v1/nodes/*/heartbeat", "/v1/nodes/n1/heartbeat"));
    assert_false(ma_glob_match("/v1/nodes/*/heartbeat", "/v1/nodes/a/b/heartbeat"));
    assert_true(ma_glob_match("/v1/**/heartbeat", "/v1/nodes/a/b/heartbeat"));
    assert_true(ma_glob_match("/v1/**", "/v1/x"));
    assert_false(ma_glob_match("/v1/*", "/v1/x/y"));
    assert_true(ma_glob_match("/v1/n*", "/v1/nodes"));
    assert_false(ma_glob_match("/v1/ping", "/v1/ping/"));
    ma_filter f = {0};
    f.method = "POST";
    f.path = "/v1/nodes/*/heartbeat";
    ma_entry hb = entry("POST", "/v1/nodes/n1/heartbeat", "heartbeat", 200, 0);
    ma_entry typo = entry("POST", "/v1/node/n1/heartbeat", NULL, 404, 0);
    ma_entry other = entry("GET", "/v1/ping", "ping", 200, 0);
    assert_true(ma_filter_match(&f, &hb));
    assert_false(ma_filter_match(&f, &typo));
    assert_int_equal(ma_filter_similarity(&f, &hb), 100);
    assert_true(ma_filter_similarity(&f, &typo) > ma_filter_similarity(&f, &other));
    ma_filter r = {0};
    r.route = "heartbeat";
    assert_true(ma_filter_match(&r, &hb));
    assert_true(ma_filter_similarity(&r, &typo) > ma_filter_similarity(&r, &other));
    /* /test/ requests only for filters that ask for them */
    ma_entry t = entry("GET", "/test/assertions", "assertions", 200, 1);
    ma_filter any = {0};
    assert_false(ma_filter_match(&any, &t));
    ma_filter tr = {0};
    tr.route = "assertions";
    assert_true(ma_filter_match(&tr, &t));
    char *q = ma_filter_query(&f);
    assert_string_equal(q, "method=POST&path=%2Fv1%2Fnodes%2F*%2Fheartbeat");
    free(q);
}

/* The glob by its definition, by brute force: the reference the iterative
 * matcher is checked against. */
static int ref_glob(const char *g, const char *p)
{
    if (!*g)
        return !*p;
    if (g[0] == '*' && g[1] == '*') {
        while (*g == '*')
            g++;
        for (const char *q = p;; q++) {
            if (ref_glob(g, q))
                return 1;
            if (!*q)
                return 0;
        }
    }
    if (*g == '*') {
        for (const char *q = p;; q++) {
            if (ref_glob(g + 1, q))
                return 1;
            if (!*q || *q == '/')
                return 0;
        }
    }
    return *g == *p && ref_glob(g + 1, p + 1);
}

/* Every pattern and path up to a few bytes over {a, b, /, *}, seeded: the
 * matcher (shared by the server and mockassert) agrees with the reference,
 * and the cases that once failed (a '*' after a '**') hold. */
static void test_glob_against_reference(void **state)
{
    static const char alpha[] = "ab/*";
    uint32_t x = 12345;
    (void)state;
    assert_true(ma_glob_match("/v1/**/*beat", "/v1/nodes/n1/heartbeat"));
    assert_true(ma_glob_match("/**/n*/heartbeat", "/v1/nodes/n1/heartbeat"));
    assert_true(ma_glob_match("/**/x/*", "/a/x/b/x/c"));
    assert_true(ma_glob_match("/v1/**/*", "/v1/nodes/node-1/metrics"));
    for (int it = 0; it < 200000; it++) {
        char g[10], p[12];
        size_t gn, pn;
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        gn = x % 9;
        for (size_t k = 0; k < gn; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            g[k] = alpha[x % 4];
        }
        g[gn] = '\0';
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        pn = x % 11;
        for (size_t k = 0; k < pn; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            p[k] = alpha[x % 3];
        }
        p[pn] = '\0';
        if (ma_glob_match(g, p) != ref_glob(g, p))
            fail_msg("glob \"%s\" on \"%s\": %d, reference %d", g, p, ma_glob_match(g, p), ref_glob(g, p));
    }
}

static void test_journal_pages(void **st)
{
    (void)st;
    json_t *p1 = J("{\"entries\":[{\"seq\":1,\"time\":\"2026-11-24T07:03:01.5Z\",\"method\":\"POST\","
                   "\"path\":\"/v1/register\",\"body\":\"{\\\"a\\\":1}\",\"body_encoding\":\"utf8\","
                   "\"status\":200,\"route\":\"register\",\"test\":false}],"
                   "\"next_seq\":2,\"oldest_seq\":1,\"evicted\":0}");
    json_t *p2 = J("{\"entries\":[{\"seq\":1},{\"seq\":2,\"time\":\"2026-11-24T07:03:02Z\",\"method\":\"GET\","
                   "\"path\":\"/x\",\"body\":\"/w==\",\"body_encoding\":\"base64\",\"status\":404,\"route\":null,"
                   "\"test\":false}],\"next_seq\":3,\"oldest_seq\":1,\"evicted\":4}");
    ma_journal j = {0};
    const char *why;
    assert_int_equal(ma_journal_add_page(&j, p1, &why), 1);
    assert_int_equal(ma_journal_add_page(&j, p2, &why), 2);
    assert_int_equal(j.n, 2); /* seq 1 again is skipped */
    assert_int_equal(j.evicted, 4);
    assert_int_equal(ma_journal_last_seq(&j), 2);
    /* bodies are not kept: a check announced before the page is read is
     * applied as it arrives (see test_journal_reader) */
    assert_null(j.v[1].route);
    assert_true(j.v[1].time_ns - j.v[0].time_ns == 500000000LL);
    json_t *bad = J("{\"nope\":1}");
    assert_int_equal(ma_journal_add_page(&j, bad, &why), -1);
    ma_journal_free(&j);
    json_decref(p1);
    json_decref(p2);
    json_decref(bad);
    int64_t a, b;
    assert_int_equal(ma_parse_rfc3339("2026-01-02T03:04:05+01:00", &a), 0);
    assert_int_equal(ma_parse_rfc3339("2026-01-02T02:04:05Z", &b), 0);
    assert_true(a == b);
    assert_int_equal(ma_parse_rfc3339("yesterday", &a), -1);
}

static void test_durations(void **st)
{
    (void)st;
    int64_t ns;
    const char *why;
    assert_int_equal(ma_parse_duration("10s", &ns, &why), 0);
    assert_true(ns == 10000000000LL);
    assert_int_equal(ma_parse_duration("200ms", &ns, &why), 0);
    assert_true(ns == 200000000LL);
    assert_int_equal(ma_parse_duration("1.5s", &ns, &why), 0);
    assert_true(ns == 1500000000LL);
    assert_int_equal(ma_parse_duration("10", &ns, &why), -1);
    assert_int_equal(ma_parse_duration("10 parsecs", &ns, &why), -1);
    ma_buf b = {0};
    ma_format_duration(&b, 1200000000LL);
    ma_buf_puts(&b, " ");
    ma_format_duration(&b, 350000000LL);
    ma_buf_puts(&b, " ");
    ma_format_duration(&b, 2000000000LL);
    assert_string_equal(ma_buf_str(&b), "1.2s 350ms 2s");
    ma_buf_free(&b);
    static const char *const words[] = {"atLeast", "atMost", "equals"};
    assert_string_equal(ma_suggest("atleast", words, 3), "atLeast");
    assert_null(ma_suggest("banana", words, 3));
}

int run_match_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_diff_names_each_place),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_operands_are_checked),
        cmocka_unit_test(test_matches_sees_past_nul),
        cmocka_unit_test(test_wildcards_need_every_value),
        cmocka_unit_test(test_and_or_not),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_globs_and_filters),
        cmocka_unit_test(test_glob_against_reference),
        cmocka_unit_test(test_journal_pages),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests_name("match", tests, NULL, NULL);
}
