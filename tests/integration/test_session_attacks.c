/* test_session_attacks.c: sessions (README "Sessions") attacked as a
 * hostile or careless user would, tests named sat_*:
 *
 *  - X-Mockapi-Session sent twice is refused (400), as X-Mockapi-Fault
 *    twice is, never the first one silently (the wire-exact refusals of
 *    ?session= twice, the redirects that must keep the session, gzip
 *    bodies and the limits' messages are in tests/cases/session_attacks.case);
 *  - a wait parked in a session with a TTL is a request in progress: the
 *    session does not expire under it, and the wait is counted once in the
 *    session's `requests`;
 *  - ending a session wakes a blocking mockapi_session_wait at once, and
 *    FINs its event streams;
 *  - the cap under concurrent creates: exactly max_sessions made, every
 *    other 429, refused_full counts them, nothing evicted;
 *  - a storm of creates, deletes, uses, waits, resets and listings of the
 *    same few ids from many threads: only the statuses the README names,
 *    GET /test/sessions consistent (live <= max, one row per live session)
 *    all along, and the server healthy and empty after (ASan, TSan and
 *    valgrind runs find the races and leaks).
 *
 * Every wait has a deadline; time passing (a TTL) is waited for by
 * polling the condition (the session's idle_ms), never by a fixed sleep. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"
#include "server.h"
#include "session.h"

/* One request with an optional header and body; the status (0: none). The
 * body, when want is not NULL, parsed into *want (NULL when not JSON).
 * Thread-safe (no cmocka calls). */
static long call(CURL *h, const mt_server *s, const char *method, const char *path, const char *hdr,
                 const char *body, json_t **want)
{
    const char *hs[1] = {hdr};
    mt_request rq = {.method = method, .path = path, .headers = hdr ? hs : NULL, .nheaders = hdr ? 1 : 0,
                     .body = body, .body_len = body ? strlen(body) : 0, .send_body = body != NULL,
                     .timeout_ms = 20000};
    mt_response r;
    mt_perform(h, s->base, &rq, &r);
    long st = r.status;
    if (want)
        *want = json_loadb((const char *)r.body, r.len, 0, NULL);
    mt_response_free(&r);
    return st;
}

/* GET /test/sessions, checked: live <= max and one row per live session
 * besides default. Returns the listing (json_decref it) or NULL with why
 * filled in. Thread-safe. */
static json_t *listing(CURL *h, const mt_server *s, char *why, size_t whylen)
{
    json_t *j = NULL;
    long st = call(h, s, "GET", "/test/sessions", NULL, NULL, &j);
    if (st != 200 || !j) {
        snprintf(why, whylen, "GET /test/sessions: %ld, %s", st, j ? "JSON" : "not JSON");
        json_decref(j);
        return NULL;
    }
    json_int_t live = json_integer_value(json_object_get(j, "live"));
    json_int_t max = json_integer_value(json_object_get(j, "max"));
    size_t rows = json_array_size(json_object_get(j, "sessions"));
    if (live > max || rows != (size_t)live + 1) {
        snprintf(why, whylen, "GET /test/sessions: live %lld, max %lld, %zu rows", (long long)live,
                 (long long)max, rows);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The row of session id in a listing, or NULL. */
static json_t *row_of(json_t *list, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(list, "sessions"), i, r)
    {
        const char *v = json_string_value(json_object_get(r, "id"));
        if (v && strcmp(v, id) == 0)
            return r;
    }
    return NULL;
}

static void make(mt_server *s, const char *body)
{
    long st = call(NULL, s, "POST", "/test/sessions", NULL, body, NULL);
    if (st != 201)
        fail_msg("POST /test/sessions %s: %ld, not 201", body, st);
}

/* The waits parked (or blocking) in session id, read from the instance. */
static int waiters_in(const mt_server *s, const char *id)
{
    mk_session *S = mk_session_find(s->m, id, strlen(id));
    int n = S ? atomic_load(&S->state.waiters) : -1;
    mk_session_release(S);
    return n;
}

static void waiters_reach(const mt_server *s, const char *id, int n)
{
    int64_t dl = mt_now_ms() + RC_WAIT_MS;
    while (waiters_in(s, id) != n) {
        if (mt_now_ms() >= dl)
            fail_msg("session %s: %d waiters, not %d, after %d ms", id, waiters_in(s, id), n, RC_WAIT_MS);
        struct timespec ts = {0, 1000000}; /* the count moves on a loop thread: nothing to poll on */
        nanosleep(&ts, NULL);
    }
}

/* ---- selectors ----------------------------------------------------------- */

static void sat_header_twice(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    make(&s, "{\"id\":\"a\"}");
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    /* different values, then the same one twice: which was meant is not known */
    rc_send(c, "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Session: a\r\nX-Mockapi-Session: default\r\n\r\n");
    rc_expect_exact(c, 400, "{\"error\":\"X-Mockapi-Session given more than once: send one session id\"}\n",
                    "two X-Mockapi-Session headers");
    rc_send(c, "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Session: a\r\nx-mockapi-session: a\r\n\r\n");
    rc_expect_exact(c, 400, "{\"error\":\"X-Mockapi-Session given more than once: send one session id\"}\n",
                    "the same X-Mockapi-Session twice");
    /* one is fine on the same connection */
    rc_send(c, "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Mockapi-Session: a\r\n\r\n");
    rc_expect_exact(c, 200, "{}\n", "one X-Mockapi-Session");
    rc_close(c);
    /* the refusals reached no session: a has the one ping only */
    json_t *j = NULL;
    assert_int_equal(call(NULL, &s, "GET", "/test/requests?route=ping", "X-Mockapi-Session: a", NULL, &j), 200);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
    json_decref(j);
}

/* ---- waits and TTL --------------------------------------------------------- */

static void sat_parked_wait_keeps_ttl(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    make(&s, "{\"id\":\"tw\",\"ttl_ms\":200}");
    rc_conn *w = rc_connect(rc_http_port(&s), false);
    rc_send(w, "GET /s/tw/test/wait?route=ping&value=1&timeout_ms=8000 HTTP/1.1\r\nHost: x\r\n\r\n");
    waiters_reach(&s, "tw", 1);
    /* the TTL passes while the wait is parked; every listing sweeps */
    char why[200];
    int64_t dl = mt_now_ms() + RC_WAIT_MS;
    for (;;) {
        json_t *l = listing(NULL, &s, why, sizeof why);
        if (!l)
            fail_msg("%s", why);
        json_t *r = row_of(l, "tw");
        json_int_t idle = r ? json_integer_value(json_object_get(r, "idle_ms")) : -1;
        json_decref(l);
        if (!r)
            fail_msg("session tw ended while a wait was parked in it");
        if (idle >= 400)
            break;
        if (mt_now_ms() >= dl)
            fail_msg("idle_ms did not reach 400 in %d ms", RC_WAIT_MS);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    /* the session is still there: the wait is met by its ping */
    assert_int_equal(call(NULL, &s, "GET", "/s/tw/v1/ping", NULL, NULL, NULL), 200);
    rc_resp r;
    rc_expect_status(w, &r, 200, "the wait parked across the TTL");
    assert_non_null(strstr((const char *)r.body, "\"met\":true"));
    rc_resp_free(&r);
    /* counted once, with the ping and the listings' none: 2 requests */
    json_t *l = listing(NULL, &s, why, sizeof why);
    if (!l)
        fail_msg("%s", why);
    json_t *row = row_of(l, "tw");
    assert_non_null(row);
    assert_int_equal(json_integer_value(json_object_get(row, "requests")), 2);
    json_decref(l);
    rc_close(w);
}

static void sat_wait_counted_once(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    make(&s, "{\"id\":\"wc\"}");
    rc_conn *w = rc_connect(rc_http_port(&s), false);
    rc_send(w, "GET /test/wait?session=wc&route=ping&value=3&timeout_ms=8000 HTTP/1.1\r\nHost: x\r\n\r\n");
    waiters_reach(&s, "wc", 1);
    for (int i = 0; i < 3; i++) /* each wakes the wait, the last one meets it */
        assert_int_equal(call(NULL, &s, "GET", "/v1/ping", "X-Mockapi-Session: wc", NULL, NULL), 200);
    rc_resp r;
    rc_expect_status(w, &r, 200, "the parked wait");
    rc_resp_free(&r);
    rc_close(w);
    json_t *j = NULL;
    assert_int_equal(call(NULL, &s, "DELETE", "/test/sessions/wc", NULL, NULL, &j), 200);
    assert_non_null(j);
    /* 3 pings and 1 wait: as many as its journal has */
    assert_int_equal(json_integer_value(json_object_get(j, "requests")), 4);
    json_decref(j);
}

typedef struct api_wait {
    mockapi_session *h;
    int rc;
    int64_t took_ms;
} api_wait;

static void *api_wait_run(void *arg)
{
    api_wait *a = arg;
    int64_t t0 = mt_now_ms();
    a->rc = mockapi_session_wait(a->h, "route=ping&value=5", 10000, NULL);
    a->took_ms = mt_now_ms() - t0;
    return NULL;
}

static void sat_end_wakes_api_wait(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    mockapi_session *h = NULL;
    char err[200];
    mockapi_session_config cfg = {.id = "aw", .ttl_ms = 100};
    assert_int_equal(mockapi_session_create(s.m, &cfg, &h, err, sizeof err), MOCKAPI_OK);
    api_wait a = {.h = h};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, api_wait_run, &a), 0);
    waiters_reach(&s, "aw", 1);
    /* a blocking wait is a request in progress too: past its TTL, still live */
    int64_t dl = mt_now_ms() + RC_WAIT_MS;
    char why[200];
    for (;;) {
        json_t *l = listing(NULL, &s, why, sizeof why);
        if (!l)
            fail_msg("%s", why);
        json_t *r = row_of(l, "aw");
        json_int_t idle = r ? json_integer_value(json_object_get(r, "idle_ms")) : -1;
        json_decref(l);
        if (!r)
            fail_msg("session aw expired under a blocking mockapi_session_wait");
        if (idle >= 250)
            break;
        if (mt_now_ms() >= dl)
            fail_msg("idle_ms did not reach 250 in %d ms", RC_WAIT_MS);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    assert_true(mockapi_session_live(h));
    /* ended: the wait returns now, not in 10 s */
    assert_int_equal(mockapi_session_end(h), MOCKAPI_OK);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, MOCKAPI_ETIMEDOUT);
    if (mt_timing_on() && a.took_ms > 5000)
        fail_msg("mockapi_session_wait returned %lld ms after it began: the end did not wake it",
                 (long long)a.took_ms);
    assert_int_equal(mockapi_session_end(h), MOCKAPI_ENOTFOUND);
    mockapi_session_free(h);
}

/* ---- event streams ---------------------------------------------------------- */

static void sat_delete_fins_streams(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    make(&s, "{\"id\":\"ev\"}");
    make(&s, "{\"id\":\"other\"}");
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_send(c, "GET /s/ev/v1/nodes/n1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_conn *o = rc_connect(rc_http_port(&s), false);
    rc_send(o, "GET /s/other/v1/nodes/n1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    json_t *j = NULL;
    /* both attached before the end (the stream's first event arrives with its head) */
    int64_t dl = mt_now_ms() + RC_WAIT_MS;
    while (!strstr((char *)(c->buf ? c->buf : (unsigned char *)""), "\n\n") ||
           !strstr((char *)(o->buf ? o->buf : (unsigned char *)""), "\n\n")) {
        if (rc_fill(c, mt_now_ms() + 10) < 0 || rc_fill(o, mt_now_ms() + 10) < 0 || mt_now_ms() >= dl)
            fail_msg("the event streams did not start");
    }
    assert_int_equal(call(NULL, &s, "DELETE", "/test/sessions/ev", NULL, NULL, &j), 200);
    json_decref(j);
    rc_expect_closed(c, "the stream of an ended session");
    /* the other session's stream stays, and an event still reaches it */
    assert_int_equal(call(NULL, &s, "POST", "/s/other/test/inject-event", NULL,
                          "{\"event_type\":\"node_state_updated\",\"payload\":{\"node_id\":\"n1\"}}", NULL),
                     204);
    size_t had = o->len;
    dl = mt_now_ms() + RC_WAIT_MS;
    while (o->len == had) {
        if (rc_fill(o, dl) <= 0)
            fail_msg("the other session's stream got nothing after the inject");
    }
    assert_false(o->eof);
    rc_close(c);
    rc_close(o);
}

/* ---- the cap under concurrent creates ---------------------------------------- */

enum { CAP = 4, CAP_THREADS = 8, CAP_EACH = 4 };

typedef struct cap_arg {
    const mt_server *s;
    int made, full, other;
} cap_arg;

static void *cap_run(void *arg)
{
    cap_arg *a = arg;
    CURL *h = curl_easy_init();
    for (int i = 0; i < CAP_EACH; i++) {
        long st = call(h, a->s, "POST", "/test/sessions", NULL, "{}", NULL);
        if (st == 201)
            a->made++;
        else if (st == 429)
            a->full++;
        else
            a->other++;
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void sat_cap_concurrent(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_sessions = CAP;
    mt_server s;
    rc_start(&s, &cfg, false);
    pthread_t t[CAP_THREADS];
    cap_arg a[CAP_THREADS];
    for (int i = 0; i < CAP_THREADS; i++) {
        a[i] = (cap_arg){.s = &s};
        assert_int_equal(pthread_create(&t[i], NULL, cap_run, &a[i]), 0);
    }
    int made = 0, full = 0, other = 0;
    for (int i = 0; i < CAP_THREADS; i++) {
        pthread_join(t[i], NULL);
        made += a[i].made;
        full += a[i].full;
        other += a[i].other;
    }
    assert_int_equal(other, 0);
    assert_int_equal(made, CAP);
    assert_int_equal(full, CAP_THREADS * CAP_EACH - CAP);
    char why[200];
    json_t *l = listing(NULL, &s, why, sizeof why);
    if (!l)
        fail_msg("%s", why);
    assert_int_equal(json_integer_value(json_object_get(l, "live")), CAP);
    assert_int_equal(json_integer_value(json_object_get(l, "created")), CAP);
    assert_int_equal(json_integer_value(json_object_get(l, "refused_full")), full);
    json_decref(l);
}

/* ---- a storm on a few ids ----------------------------------------------------- */

enum { STORM_IDS = 4, STORM_MAX = 3, STORM_THREADS = 8 };

typedef struct storm_arg {
    const mt_server *s;
    int role;
    unsigned seed;
    int rounds;
    char bad[240]; /* the first unexpected thing, or "" */
} storm_arg;

static void *storm_run(void *arg)
{
    storm_arg *a = arg;
    CURL *h = curl_easy_init();
    char path[160], hdr[64], body[96];
    for (int i = 0; i < a->rounds && !a->bad[0]; i++) {
        int id = (int)(rand_r(&a->seed) % STORM_IDS);
        long st = 0;
        const char *what = path;
        bool ok;
        switch (a->role) {
        case 0: /* create (some with a short TTL) */
            snprintf(body, sizeof body, "{\"id\":\"r%d\",\"ttl_ms\":%d}", id, (int)(rand_r(&a->seed) % 3) * 30);
            snprintf(path, sizeof path, "POST /test/sessions %s", body);
            st = call(h, a->s, "POST", "/test/sessions", NULL, body, NULL);
            ok = st == 201 || st == 409 || st == 429;
            break;
        case 1: /* end */
            snprintf(path, sizeof path, "/test/sessions/r%d", id);
            st = call(h, a->s, "DELETE", path, NULL, NULL, NULL);
            ok = st == 200 || st == 404;
            break;
        case 2: /* use, by each selector */
            switch (i % 3) {
            case 0:
                snprintf(path, sizeof path, "/s/r%d/v1/ping", id);
                st = call(h, a->s, "GET", path, NULL, NULL, NULL);
                break;
            case 1:
                snprintf(path, sizeof path, "/v1/nodes/n1/heartbeat");
                snprintf(hdr, sizeof hdr, "X-Mockapi-Session: r%d", id);
                st = call(h, a->s, "POST", path, hdr, RC_HB_BODY, NULL);
                break;
            default:
                snprintf(path, sizeof path, "/test/requests?session=r%d&limit=2", id);
                st = call(h, a->s, "GET", path, NULL, NULL, NULL);
            }
            ok = st == 200 || st == 404;
            break;
        case 3: /* a short wait in it: answered, or its session gone */
            snprintf(path, sizeof path, "/s/r%d/test/wait?route=ping&value=2&timeout_ms=20", id);
            st = call(h, a->s, "GET", path, NULL, NULL, NULL);
            ok = st == 200 || st == 408 || st == 404;
            break;
        case 4: /* resets, one and all */
            if (i % 8 == 7)
                snprintf(path, sizeof path, "/test/reset?scope=all");
            else
                snprintf(path, sizeof path, "/s/r%d/test/reset", id);
            st = call(h, a->s, "POST", path, NULL, NULL, NULL);
            ok = st == 204 || st == 404;
            break;
        default: { /* listings stay consistent */
            json_t *l = listing(h, a->s, a->bad, sizeof a->bad);
            ok = l != NULL;
            json_decref(l);
            what = NULL;
        }
        }
        if (!ok && what && !a->bad[0])
            snprintf(a->bad, sizeof a->bad, "%s: %ld", what, st);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void sat_storm(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_sessions = STORM_MAX;
    mt_server s;
    rc_start(&s, &cfg, false);
    const char *r = getenv("MOCKAPI_IT_ROUNDS");
    int rounds = r ? atoi(r) : 60;
    if (rounds < 1)
        rounds = 1;
    pthread_t t[STORM_THREADS];
    storm_arg a[STORM_THREADS];
    static const int roles[STORM_THREADS] = {0, 0, 1, 2, 2, 3, 4, 5};
    for (int i = 0; i < STORM_THREADS; i++) {
        a[i] = (storm_arg){.s = &s, .role = roles[i], .seed = 0x5a7u + (unsigned)i, .rounds = rounds};
        assert_int_equal(pthread_create(&t[i], NULL, storm_run, &a[i]), 0);
    }
    for (int i = 0; i < STORM_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < STORM_THREADS; i++)
        if (a[i].bad[0])
            fail_msg("role %d: %s", a[i].role, a[i].bad);
    /* afterwards: everything ends, default is healthy and empty of them */
    assert_int_equal(call(NULL, &s, "POST", "/test/reset?scope=all", NULL, NULL, NULL), 204);
    char why[200];
    json_t *l = listing(NULL, &s, why, sizeof why);
    if (!l)
        fail_msg("%s", why);
    assert_int_equal(json_integer_value(json_object_get(l, "live")), 0);
    json_decref(l);
    rc_healthy(&s, false, "after the storm");
}

int mt_run_session_attack_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sat_header_twice, rc_teardown),
        cmocka_unit_test_teardown(sat_parked_wait_keeps_ttl, rc_teardown),
        cmocka_unit_test_teardown(sat_wait_counted_once, rc_teardown),
        cmocka_unit_test_teardown(sat_end_wakes_api_wait, rc_teardown),
        cmocka_unit_test_teardown(sat_delete_fins_streams, rc_teardown),
        cmocka_unit_test_teardown(sat_cap_concurrent, rc_teardown),
        cmocka_unit_test_teardown(sat_storm, rc_teardown),
    };
    return cmocka_run_group_tests_name("session_attacks", tests, NULL, NULL);
}
