/* test_faults.c: the fault rules and the per-request decision (core/faults.c):
 * first=N per rule and per header (route, spec), seeded probability
 * reproducible run to run, region filters, precedence header > rules >
 * flag rules, TTLs on an injected clock, and the refusals of a rule. */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "faults.h"

static mk_faults S;
static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static int setup(void **st)
{
    (void)st;
    if (mk_faults_init(&S) != 0)
        return -1;
    fake_now = 1000;
    S.now_ms = fake_clock;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mk_faults_dispose(&S);
    return 0;
}

static mk_fault parse(const char *spec)
{
    mk_fault f;
    char err[256];
    if (mk_fault_parse(spec, strlen(spec), &f, err, sizeof err) != 0)
        fail_msg("%s: %s", spec, err);
    return f;
}

static int add(mk_fault_source src, const char *route, const char *path, const char *method, const char *spec,
               unsigned ttl)
{
    mk_fault f = parse(spec);
    mk_fault_target t = {.route = route, .path = path, .method = method};
    char err[256];
    int id = 0;
    assert_int_equal(mk_faults_check(&t, &f, NULL, err, sizeof err), 0);
    assert_int_equal(mk_faults_add(&S, src, &t, &f, ttl, &id, err, sizeof err), 0);
    return id;
}

static const mk_fault_req HB = {.route = MK_ROUTE_HEARTBEAT, .method = "POST",
                                .path = "/v1/nodes/n1/heartbeat", .path_len = 22, .region = 0};
static const mk_fault_req PING = {.route = MK_ROUTE_PING, .method = "GET", .path = "/v1/ping",
                                  .path_len = 8, .region = 0};

/* The decision's source and rule for one request (header hdr may be NULL). */
static int decide(const mk_fault *hdr, const mk_fault_req *q, mk_fault_decision *d)
{
    char err[256];
    int r = mk_faults_decide(&S, hdr, q, d, err, sizeof err);
    assert_true(r >= 0);
    return r;
}

static void test_no_rules_no_fault(void **st)
{
    (void)st;
    mk_fault_decision d;
    assert_int_equal(decide(NULL, &HB, &d), 0);
    assert_int_equal(d.source, MK_FSRC_NONE);
    assert_int_equal(atomic_load(&S.applied), 0);
}

static void test_first_counts_per_rule(void **st)
{
    (void)st;
    int id = add(MK_FSRC_RULE, "heartbeat", NULL, NULL, "status=503; first=2", 0);
    mk_fault_decision d;
    assert_int_equal(decide(NULL, &HB, &d), 1);
    assert_int_equal(d.rule, id);
    assert_int_equal(d.fault.status, 503);
    assert_string_equal(d.spec, "status=503; first=2");
    assert_int_equal(decide(NULL, &PING, &d), 0); /* another route: not counted */
    assert_int_equal(decide(NULL, &HB, &d), 1);
    assert_int_equal(decide(NULL, &HB, &d), 0);
    assert_int_equal(decide(NULL, &HB, &d), 0);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_faults_list(&S, &b);
    assert_non_null(strstr(b.data, "\"matched\":4,\"applied\":2"));
    mk_buf_free(&b);
    assert_int_equal(atomic_load(&S.applied), 2);
    assert_int_equal(atomic_load(&S.by_route[MK_ROUTE_HEARTBEAT]), 2);
}

/* status=503; first=2 sent three times: 503, 503, then nothing; the count
 * is per (route, spec): another route or another spec starts its own. */
static void test_header_counts_per_route_and_spec(void **st)
{
    (void)st;
    mk_fault h = parse("status=503;first=2"), h2 = parse("status=503; first=2; retry-after=1");
    mk_fault_decision d;
    assert_int_equal(decide(&h, &HB, &d), 1);
    assert_int_equal(d.source, MK_FSRC_HEADER);
    assert_int_equal(d.rule, 0);
    assert_int_equal(decide(&h, &PING, &d), 1);
    assert_int_equal(decide(&h, &HB, &d), 1);
    assert_int_equal(decide(&h, &HB, &d), 0);
    assert_int_equal(decide(&h2, &HB, &d), 1); /* another spec */
    assert_int_equal(decide(&h, &PING, &d), 1);
    assert_int_equal(decide(&h, &PING, &d), 0);
    /* a header without first/p applies every time, and needs no slot */
    mk_fault plain = parse("delay=5");
    for (int i = 0; i < 3; i++)
        assert_int_equal(decide(&plain, &HB, &d), 1);
    assert_int_equal(S.nhkeys, 3);
    mk_faults_reset(&S);
    assert_int_equal(S.nhkeys, 0);
    assert_int_equal(decide(&h, &HB, &d), 1); /* counting starts over */
}

/* Two runs with the same seed give the same pattern of applied requests;
 * p=0.5 applies to about half of them; another seed gives another one. */
static void run_pattern(const char *spec, char *out, int n)
{
    mk_faults_reset(&S);
    add(MK_FSRC_RULE, "heartbeat", NULL, NULL, spec, 0);
    mk_fault_decision d;
    for (int i = 0; i < n; i++)
        out[i] = decide(NULL, &HB, &d) ? 'x' : '.';
    out[n] = '\0';
}

static void test_seeded_probability_is_reproducible(void **st)
{
    (void)st;
    char a[201], b[201], c[201];
    run_pattern("status=500; p=0.5; seed=7", a, 200);
    run_pattern("status=500; p=0.5; seed=7", b, 200);
    run_pattern("status=500; p=0.5; seed=8", c, 200);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    int hits = 0;
    for (int i = 0; i < 200; i++)
        hits += a[i] == 'x';
    assert_in_range(hits, 70, 130);
    /* the header's draws are seeded the same way */
    mk_faults_reset(&S);
    mk_fault h = parse("status=500; p=0.5; seed=7");
    mk_fault_decision d;
    for (int i = 0; i < 200; i++)
        b[i] = decide(&h, &HB, &d) ? 'x' : '.';
    assert_string_equal(a, b);
    /* first= with p=: the first N requests the draw selected */
    char d3[201];
    run_pattern("status=500; p=0.5; seed=7; first=3", d3, 200);
    int seen = 0;
    for (int i = 0; i < 200; i++) {
        if (a[i] == 'x' && seen < 3) {
            assert_int_equal(d3[i], 'x');
            seen++;
        } else {
            assert_int_equal(d3[i], '.');
        }
    }
    assert_int_equal(seen, 3);
    /* and a flag rule's start over at reset */
    mk_faults_reset(&S);
    add(MK_FSRC_FLAG, "heartbeat", NULL, NULL, "status=500; p=0.5; seed=7", 0);
    for (int i = 0; i < 50; i++)
        b[i] = decide(NULL, &HB, &d) ? 'x' : '.';
    mk_faults_reset(&S);
    for (int i = 0; i < 50; i++)
        c[i] = decide(NULL, &HB, &d) ? 'x' : '.';
    assert_memory_equal(a, b, 50);
    assert_memory_equal(a, c, 50);
}

static void test_jitter_is_drawn_in_range_and_seeded(void **st)
{
    (void)st;
    add(MK_FSRC_RULE, "heartbeat", NULL, NULL, "delay=100; jitter=30; p=1; seed=3", 0);
    mk_fault_decision d;
    unsigned first[20], lo = 1000, hi = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(decide(NULL, &HB, &d), 1);
        first[i] = d.delay_ms;
        lo = d.delay_ms < lo ? d.delay_ms : lo;
        hi = d.delay_ms > hi ? d.delay_ms : hi;
    }
    assert_true(lo >= 70 && hi <= 130 && lo < hi);
    mk_faults_reset(&S);
    add(MK_FSRC_RULE, "heartbeat", NULL, NULL, "delay=100; jitter=30; p=1; seed=3", 0);
    for (int i = 0; i < 20; i++) {
        decide(NULL, &HB, &d);
        assert_int_equal(d.delay_ms, first[i]);
    }
}

static void test_region_filter(void **st)
{
    (void)st;
    add(MK_FSRC_RULE, "heartbeat", NULL, NULL, "status=503; region=1,2", 0);
    mk_fault_req q = HB;
    mk_fault_decision d;
    q.region = 0;
    assert_int_equal(decide(NULL, &q, &d), 0);
    q.region = 2;
    assert_int_equal(decide(NULL, &q, &d), 1);
    q.region = -1; /* TLS: no region */
    assert_int_equal(decide(NULL, &q, &d), 0);
    mk_fault h = parse("status=502; region=3");
    q.region = 2; /* the header does not apply there: the rule does */
    assert_int_equal(decide(&h, &q, &d), 1);
    assert_int_equal(d.source, MK_FSRC_RULE);
    q.region = 3;
    assert_int_equal(decide(&h, &q, &d), 1);
    assert_int_equal(d.source, MK_FSRC_HEADER);
}

/* header > rules (oldest first) > flag rules; the first that applies wins
 * and the ones after it do not count the request. */
static void test_precedence(void **st)
{
    (void)st;
    int flag = add(MK_FSRC_FLAG, "heartbeat", NULL, NULL, "status=500", 0);
    int old = add(MK_FSRC_RULE, NULL, "/v1/nodes/*/heartbeat", NULL, "status=501; first=1", 0);
    int young = add(MK_FSRC_RULE, "heartbeat", NULL, "POST", "status=502; first=1", 0);
    mk_fault h = parse("status=503; first=1");
    mk_fault_decision d;
    assert_int_equal(decide(&h, &HB, &d), 1);
    assert_int_equal(d.fault.status, 503);
    assert_int_equal(decide(&h, &HB, &d), 1);
    assert_int_equal(d.rule, old);
    assert_int_equal(decide(&h, &HB, &d), 1);
    assert_int_equal(d.rule, young);
    assert_int_equal(decide(&h, &HB, &d), 1);
    assert_int_equal(d.rule, flag);
    assert_int_equal(d.source, MK_FSRC_FLAG);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_faults_list(&S, &b);
    /* the header's request was never offered to the rules */
    char want[160];
    snprintf(want, sizeof want, "{\"id\":%d,\"source\":\"rule\",\"route\":null,\"path\":\"/v1/nodes/*/heartbeat\"", old);
    assert_non_null(strstr(b.data, want));
    assert_non_null(strstr(b.data, "\"spec\":\"status=501; first=1\",\"ttl_ms\":null,\"expires_in_ms\":null,"
                                   "\"matched\":3,\"applied\":1}"));
    mk_buf_free(&b);
    /* a method filter: GET does not match young's POST */
    mk_fault_req get = HB;
    get.method = "GET";
    assert_int_equal(decide(NULL, &get, &d), 1);
    assert_int_equal(d.rule, flag);
    /* delete: rules go, flag rules stay */
    assert_int_equal(mk_faults_delete(&S, flag), -2);
    assert_int_equal(mk_faults_delete(&S, 999), -1);
    assert_int_equal(mk_faults_delete(&S, young), 0);
    assert_int_equal(mk_faults_delete(&S, young), -1);
    assert_int_equal(mk_faults_clear(&S), 1);
    assert_int_equal(atomic_load(&S.nrules), 1);
}

static void test_ttl_expires_on_the_clock(void **st)
{
    (void)st;
    add(MK_FSRC_RULE, "ping", NULL, NULL, "status=503", 500);
    mk_fault_decision d;
    fake_now += 499;
    assert_int_equal(decide(NULL, &PING, &d), 1);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_faults_list(&S, &b);
    assert_non_null(strstr(b.data, "\"ttl_ms\":500,\"expires_in_ms\":1,"));
    fake_now += 1;
    assert_int_equal(decide(NULL, &PING, &d), 0);
    assert_int_equal(atomic_load(&S.nrules), 0);
    mk_buf_reset(&b);
    mk_faults_list(&S, &b);
    assert_string_equal(b.data, "{\"rules\":[]}\n");
    mk_buf_free(&b);
}

static void test_stream_keys_only_on_the_events_route(void **st)
{
    (void)st;
    int id = add(MK_FSRC_RULE, "events", NULL, NULL, "cut-after=2", 0);
    mk_fault_req ev = {.route = MK_ROUTE_EVENTS, .events = true, .method = "GET",
                       .path = "/v1/nodes/a/events", .path_len = 18};
    mk_fault_decision d;
    assert_int_equal(decide(NULL, &ev, &d), 1);
    assert_int_equal(d.rule, id);
    /* which rules reach the events route (and so its open streams) */
    bool reach = false;
    char err[256];
    mk_fault plain = parse("reset");
    assert_int_equal(mk_faults_check(&(mk_fault_target){.route = "events"}, &plain, &reach, err, sizeof err), 0);
    assert_true(reach);
    assert_int_equal(mk_faults_check(&(mk_fault_target){.path = "/v1/nodes/*/events"}, &plain, &reach, err, sizeof err), 0);
    assert_true(reach);
    assert_int_equal(mk_faults_check(&(mk_fault_target){.path = "/v1/ping"}, &plain, &reach, err, sizeof err), 0);
    assert_false(reach);
    assert_int_equal(mk_faults_check(&(mk_fault_target){.route = "heartbeat"}, &plain, &reach, err, sizeof err), 0);
    assert_false(reach);
    /* a path rule reaching the events route may carry them, and they
     * apply there only */
    add(MK_FSRC_RULE, NULL, "/v1/nodes/**", NULL, "stall=100", 0);
    assert_int_equal(decide(NULL, &HB, &d), 0);
}

static void check_refused(const char *route, const char *path, const char *method, const char *spec,
                          const char *want)
{
    mk_fault f = parse(spec);
    mk_fault_target t = {.route = route, .path = path, .method = method};
    char err[256] = "";
    assert_int_equal(mk_faults_check(&t, &f, NULL, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s%s: \"%s\" lacks \"%s\"", route ? route : "", path ? path : "", err, want);
}

/* A rule's region= past the server's regions could never apply: refused by
 * the install step every carrier shares, which changes nothing then. */
static void test_region_past_the_regions(void **st)
{
    (void)st;
    char err[256] = "";
    int id = 0;
    mk_fault_target t = {.route = "ping"};
    S.nregions = 3;
    assert_int_equal(mk_faults_install(&S, NULL, NULL, MK_FSRC_RULE, &t, "status=503; region=1,7", 22, 0, &id,
                                       err, sizeof err), -1);
    assert_string_equal(err, "spec: region=7: there is no region 7 (the regions are 0 to 2)");
    assert_int_equal(atomic_load(&S.nrules), 0);
    assert_int_equal(mk_faults_install(&S, NULL, NULL, MK_FSRC_RULE, &t, "status=503; region=2", 20, 0, &id,
                                       err, sizeof err), 0);
    S.nregions = 1;
    assert_int_equal(mk_faults_install(&S, NULL, NULL, MK_FSRC_RULE, &t, "status=503; region=1", 20, 0, &id,
                                       err, sizeof err), -1);
    assert_non_null(strstr(err, "regions are off"));
    S.nregions = 0;
}

static void test_refusals(void **st)
{
    (void)st;
    check_refused("hartbeat", NULL, NULL, "status=503", "unknown route \"hartbeat\" (did you mean \"heartbeat\"?)");
    check_refused("reset", NULL, NULL, "status=503", "is a /test/ route");
    check_refused("assertions", NULL, NULL, "status=503", "is a /test/ route");
    check_refused("faults", NULL, NULL, "status=503", "is a /test/ route");
    check_refused(NULL, "/test/reset", NULL, "status=503", "under /test/");
    check_refused(NULL, "v1/ping", NULL, "status=503", "must start with '/'");
    check_refused(NULL, "/v1/ping?x=1", NULL, "status=503", "a glob matches the path only; leave out the '?'");
    check_refused(NULL, "/v1/ping#a", NULL, "status=503", "leave out the '#'");
    check_refused("ping", NULL, "GE T", "status=503", "not an HTTP method");
    /* methods the mock never serves, or the route does not answer: a rule
     * that could never match is refused, not kept silently */
    check_refused("ping", NULL, "get", "status=503", "method \"get\": methods are upper case (did you mean \"GET\"?)");
    check_refused("heartbeat", NULL, "PSOT", "status=503", "method \"PSOT\" is not a method the mock serves (did you mean \"POST\"?)");
    check_refused(NULL, "/v1/**", "FETCH", "status=503", "method \"FETCH\" is not a method the mock serves");
    check_refused("heartbeat", NULL, "GET", "status=503", "route \"heartbeat\" answers POST, not GET");
    check_refused("ping", NULL, "POST", "status=503", "route \"ping\" answers GET, HEAD, not POST");
    check_refused("heartbeat", NULL, NULL, "cut-after=1", "event streams only");
    check_refused(NULL, "/v1/ping", NULL, "retry=100", "event streams only");
    check_refused("ping", "/v1/ping", NULL, "status=503", "not both");
    check_refused(NULL, NULL, NULL, "status=503", "not neither");
}

static void body_refused(const char *body, const char *want)
{
    mk_fault_body b;
    char err[256] = "";
    assert_int_equal(mk_faults_parse_body(body, strlen(body), &b, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s: \"%s\" lacks \"%s\"", body, err, want);
}

static void test_body(void **st)
{
    (void)st;
    mk_fault_body b;
    char err[256];
    const char *ok = "{\"path\":\"/v1/nodes/*/heartbeat\",\"method\":\"POST\",\"spec\":\"status=503\",\"ttl_ms\":250}";
    assert_int_equal(mk_faults_parse_body(ok, strlen(ok), &b, err, sizeof err), 0);
    assert_true(b.has_path && !b.has_route);
    assert_string_equal(b.path, "/v1/nodes/*/heartbeat");
    assert_string_equal(b.method, "POST");
    assert_int_equal(b.ttl_ms, 250);
    /* what GET /test/faults lists can be posted back (nulls are absent) */
    const char *back = "{\"route\":\"ping\",\"path\":null,\"method\":null,\"spec\":\"delay=5\",\"ttl_ms\":null}";
    assert_int_equal(mk_faults_parse_body(back, strlen(back), &b, err, sizeof err), 0);
    body_refused("", "empty body");
    body_refused("[1]", "must be a JSON object");
    body_refused("{\"route\":\"ping\"", "not valid JSON");
    body_refused("{\"route\":\"ping\",\"spec\":\"drop\"} x", "bytes after");
    body_refused("{\"route\":\"ping\",\"spce\":\"drop\"}", "unknown member \"spce\" (did you mean \"spec\"?)");
    body_refused("{\"route\":\"ping\",\"spec\":\"drop\",\"spec\":\"drop\"}", "given twice");
    body_refused("{\"route\":1,\"spec\":\"drop\"}", "\"route\" must be a string");
    body_refused("{\"route\":\"ping\",\"spec\":null}", "\"spec\" must be a string");
    body_refused("{\"route\":\"ping\",\"spec\":\"drop\",\"ttl_ms\":-1}", "\"ttl_ms\" must be a whole number");
    body_refused("{\"route\":\"ping\",\"spec\":\"drop\",\"ttl_ms\":1.5}", "not 1.5");
    body_refused("{\"route\":\"ping\",\"spec\":\"drop\",\"ttl_ms\":86400001}", "from 0 to 86400000");
    body_refused("{\"route\":\"ping\"}", "\"spec\" is missing");
    body_refused("{\"spec\":\"drop\"}", "one is missing");
    body_refused("{\"route\":\"ping\",\"method\":\"\",\"spec\":\"drop\"}",
                 "\"method\" is empty (leave it out for any method)");
    body_refused("{\"route\":\"\",\"spec\":\"drop\"}", "\"route\" is empty");
    body_refused("{\"route\":\"ping\",\"path\":\"/x\",\"spec\":\"drop\"}", "not both");
}

static void test_split(void **st)
{
    (void)st;
    char m[16], t[300], err[256];
    const char *spec;
    assert_int_equal(mk_faults_split("heartbeat: status=503; first=2", m, sizeof m, t, sizeof t, &spec, err,
                                     sizeof err), 0);
    assert_string_equal(m, "");
    assert_string_equal(t, "heartbeat");
    assert_string_equal(spec, " status=503; first=2");
    assert_int_equal(mk_faults_split(" POST  /v1/nodes/*/heartbeat :drop", m, sizeof m, t, sizeof t, &spec,
                                     err, sizeof err), 0);
    assert_string_equal(m, "POST");
    assert_string_equal(t, "/v1/nodes/*/heartbeat");
    assert_string_equal(spec, "drop");
    assert_int_equal(mk_faults_split("heartbeat status=503", m, sizeof m, t, sizeof t, &spec, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected 'ROUTE: SPEC'"));
    assert_int_equal(mk_faults_split(" : drop", m, sizeof m, t, sizeof t, &spec, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing before ':'"));
}

static void test_totals_json(void **st)
{
    (void)st;
    mk_fault h = parse("reset");
    mk_fault_decision d;
    decide(&h, &HB, &d);
    decide(&h, &PING, &d);
    add(MK_FSRC_RULE, "ping", NULL, NULL, "partial=3", 0);
    decide(NULL, &PING, &d);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_faults_totals_json(&S, &b);
    assert_string_equal(b.data, "{\"applied\":3,\"sources\":{\"header\":2,\"rule\":1,\"flag\":0},"
                                "\"routes\":{\"heartbeat\":1,\"ping\":2},\"wire\":{\"response\":0,\"fin\":0,"
                                "\"rst\":2,\"timeout\":0,\"partial\":1,\"garbage\":0}}");
    mk_faults_reset(&S);
    mk_buf_reset(&b);
    mk_faults_totals_json(&S, &b);
    assert_string_equal(b.data, "{\"applied\":0,\"sources\":{\"header\":0,\"rule\":0,\"flag\":0},"
                                "\"routes\":{},\"wire\":{\"response\":0,\"fin\":0,"
                                "\"rst\":0,\"timeout\":0,\"partial\":0,\"garbage\":0}}");
    mk_buf_free(&b);
}

/* The bounds: MK_FAULT_MAX_RULES rules (flag rules apart) and
 * MK_FAULT_HEADER_KEYS counted header specs, each refused with a message
 * that says what to do, nothing else changed. */
static void test_limits(void **st)
{
    (void)st;
    mk_fault f = parse("status=503");
    mk_fault_target t = {.route = "ping"};
    char err[256];
    int id;
    for (int i = 0; i < MK_FAULT_MAX_RULES; i++)
        assert_int_equal(mk_faults_add(&S, MK_FSRC_RULE, &t, &f, 0, &id, err, sizeof err), 0);
    assert_int_equal(mk_faults_add(&S, MK_FSRC_RULE, &t, &f, 0, &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "1000 fault rules are installed (the limit)"));
    assert_int_equal(mk_faults_add(&S, MK_FSRC_FLAG, &t, &f, 0, &id, err, sizeof err), 0);
    assert_int_equal(atomic_load(&S.nrules), MK_FAULT_MAX_RULES + 1);
    mk_fault_decision d;
    assert_int_equal(decide(NULL, &PING, &d), 1);
    assert_int_equal(d.rule, 1); /* the oldest */
    assert_int_equal(mk_faults_clear(&S), MK_FAULT_MAX_RULES);

    mk_fault_req q = PING;
    char path[32];
    q.route = -1; /* no route: counted by path */
    q.path = path;
    for (int i = 0; i < MK_FAULT_HEADER_KEYS; i++) {
        q.path_len = (size_t)snprintf(path, sizeof path, "/v1/x%d", i);
        mk_fault h = parse("status=503; first=1");
        assert_int_equal(mk_faults_decide(&S, &h, &q, &d, err, sizeof err), 1);
    }
    q.path_len = (size_t)snprintf(path, sizeof path, "/v1/y");
    mk_fault h = parse("status=503; first=1");
    assert_int_equal(mk_faults_decide(&S, &h, &q, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "(the limit); POST /test/reset starts over"));
    mk_fault plain = parse("status=503"); /* uncounted headers need no slot */
    assert_int_equal(mk_faults_decide(&S, &plain, &q, &d, err, sizeof err), 1);
    mk_faults_reset(&S);
    assert_int_equal(mk_faults_decide(&S, &h, &q, &d, err, sizeof err), 1);
}

int run_faults_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_rules_no_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_counts_per_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_counts_per_route_and_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seeded_probability_is_reproducible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jitter_is_drawn_in_range_and_seeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_expires_on_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_keys_only_on_the_events_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_past_the_regions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_totals_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
