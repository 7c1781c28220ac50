/* test_sessions.c: sessions (issue 15, README "Sessions"), tests named ses_*.
 *
 *  - six sessions driven in parallel (one thread and one CURL handle each),
 *    two through each selector (X-Mockapi-Session, the /s/{id}/ prefix, a
 *    bearer token the session minted): exact, separate counters, captures
 *    and journals (with "session" and "session_via"), read through the
 *    session's own selector and through ?session=; event streams opened
 *    through /s/{id}/ get only their own session's events, /test/sse shows
 *    only its own streams, /test/sse/disconnect ends only its own;
 *  - POST /test/reset resets its session only; ?scope=all ends every
 *    session but default (their prefixes then 404) and resets default;
 *  - TTL: an idle session ends after ttl_ms, a used one lives on, and ends
 *    ttl_ms after its last request; a wait parked in it keeps it;
 *  - the cap (-max-sessions): 429, nothing evicted; -session-journal-bytes;
 *  - fixtures and fault rules given at creation;
 *  - required mode (428 naming the three ways), off mode (/s/ is a path);
 *  - an agent addressed by base URL only (register, heartbeat, state,
 *    secrets decrypted with its session's NSK, events, the TLS local
 *    endpoints with its session's bearer);
 *  - the default session's answers stay byte for byte the golden ones
 *    while other sessions are live;
 *  - unknown ids (404 naming the selector), bad and taken ids (400, 409),
 *    DELETE default (400), the session header twice (400);
 *  - a parked wait whose session is deleted answers at once (404), one in
 *    another session goes on, and counts as one request;
 *  - the C API (session handles), reading through a handle after its
 *    session ended, and ending a session while clients use it (TSan).
 * Every wait is on a condition with a deadline; ports are 0. */
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
#include "sse_client.h"

#define WAIT_MS 5000

/* A session as POST /test/sessions answered it. */
typedef struct ses {
    char id[80];
    char nsk[40];
    char bearer[80];
} ses;

/* How a request names its session. */
enum { SEL_HEADER, SEL_PREFIX, SEL_TOKEN, SEL_BEARER, SEL_QUERY, SEL_NONE };
/* The journal's session_via of each (SEL_BEARER is a token too). */
static const char *const sel_via[] = {"header", "prefix", "token", "token", "query", NULL};

/* One request in session x through selector sel (SEL_TOKEN: its NSK as a
 * bearer, SEL_BEARER: its local bearer token). Thread-safe (distinct h). */
static int sreq(CURL *h, const mt_server *s, const ses *x, int sel, const char *method, const char *path,
                const char *body, mt_response *r)
{
    char p[1024], hdr[200];
    const char *hs[1];
    size_t nh = 0;
    snprintf(p, sizeof p, "%s", path);
    switch (sel) {
    case SEL_HEADER:
        snprintf(hdr, sizeof hdr, "X-Mockapi-Session: %s", x->id);
        hs[nh++] = hdr;
        break;
    case SEL_PREFIX:
        snprintf(p, sizeof p, "/s/%s%s", x->id, path);
        break;
    case SEL_TOKEN:
    case SEL_BEARER:
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", sel == SEL_TOKEN ? x->nsk : x->bearer);
        hs[nh++] = hdr;
        break;
    case SEL_QUERY:
        snprintf(p, sizeof p, "%s%csession=%s", path, strchr(path, '?') ? '&' : '?', x->id);
        break;
    default:
        break;
    }
    mt_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = p;
    rq.headers = hs;
    rq.nheaders = nh;
    if (body) {
        rq.body = body;
        rq.body_len = strlen(body);
        rq.send_body = true;
    }
    return mt_perform(h, s->base, &rq, r);
}

/* sreq that fails the test unless the status is want; the response is
 * left in *r (free it) when r is not NULL. */
static void sexpect(CURL *h, const mt_server *s, const ses *x, int sel, const char *method, const char *path,
                    const char *body, long want, mt_response *r)
{
    mt_response own;
    mt_response *rr = r ? r : &own;
    sreq(h, s, x, sel, method, path, body, rr);
    if (rr->status != want) {
        char *shown = mt_show(rr->body, rr->len);
        fail_msg("%s %s in session %s (selector %d): status %ld (%s), want %ld; body %s", method, path,
                 x ? x->id : "-", sel, rr->status, curl_easy_strerror(rr->rc), want, shown ? shown : "?");
    }
    if (!r)
        mt_response_free(&own);
}

/* The body of r is exactly want. */
static void body_is(const mt_response *r, const char *want, const char *what)
{
    if (r->len != strlen(want) || memcmp(r->body, want, r->len) != 0) {
        char *shown = mt_show(r->body, r->len);
        fail_msg("%s: body %s, want %s", what, shown ? shown : "?", want);
    }
}

/* The "error" member of a JSON error body contains every string in the
 * NULL-terminated list. */
static void error_names(const mt_response *r, const char *what, ...)
{
    json_t *j = mt_parse_json(r->body, r->len);
    const char *e = mt_jstr(j, "error");
    va_list ap;
    va_start(ap, what);
    for (const char *w; (w = va_arg(ap, const char *));)
        if (!strstr(e, w))
            fail_msg("%s: error \"%s\" does not name \"%s\"", what, e, w);
    va_end(ap);
    json_decref(j);
}

/* POST /test/sessions with body (NULL: "{}"): 201, and the answer's
 * members as the design says. */
static void ses_make(CURL *h, const mt_server *s, const char *body, ses *x)
{
    mt_response r;
    mt_send(h, s->base, "POST", "/test/sessions", body ? body : "{}", &r);
    if (r.status != 201) {
        char *shown = mt_show(r.body, r.len);
        fail_msg("POST /test/sessions %s: status %ld, body %s", body ? body : "{}", r.status, shown ? shown : "?");
    }
    json_t *j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", mt_jstr(j, "id"));
    snprintf(x->nsk, sizeof x->nsk, "%s", mt_jstr(j, "node_secret_key"));
    snprintf(x->bearer, sizeof x->bearer, "%s", mt_jstr(j, "bearer_token"));
    char want[128];
    snprintf(want, sizeof want, "/s/%s", x->id);
    assert_string_equal(mt_jstr(j, "prefix"), want);
    snprintf(want, sizeof want, "session=%s", x->id);
    assert_string_equal(mt_jstr(j, "query"), want);
    assert_string_equal(mt_jstr(j, "header"), "X-Mockapi-Session");
    assert_int_equal(strlen(x->nsk), 32);
    assert_string_not_equal(x->nsk, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");
    assert_true(strlen(x->bearer) > 0);
    assert_string_not_equal(x->bearer, "e2e-local-bearer-token");
    json_decref(j);
}

/* A session with this id (the body's only member). */
static void ses_make_id(CURL *h, const mt_server *s, const char *id, ses *x)
{
    char body[160];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    ses_make(h, s, body, x);
    assert_string_equal(x->id, id);
}

/* GET /test/sessions, parsed (200 or the test fails). */
static json_t *sessions_list(CURL *h, const mt_server *s)
{
    mt_response r;
    mt_get(h, s->base, "/test/sessions", &r);
    if (r.status != 200)
        fail_msg("GET /test/sessions: status %ld", r.status);
    json_t *j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    return j;
}

/* The listing's entry of id, or NULL. */
static json_t *listed(json_t *list, const char *id)
{
    json_t *a = json_object_get(list, "sessions"), *e;
    size_t i;
    json_array_foreach(a, i, e) {
        if (strcmp(mt_jstr(e, "id"), id) == 0)
            return e;
    }
    return NULL;
}

/* A heartbeat naming the session and its number in binary_checksum. */
static void hb_body(char *out, size_t n, const char *id, int j)
{
    snprintf(out, n,
             "{\"node_id\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"status\":\"healthy\","
             "\"binary_checksum\":\"%s-%d\",\"mesh\":{\"interface\":\"wg0\",\"peer_count\":2,"
             "\"listen_port\":51820},\"nat\":{\"public_endpoint\":\"198.51.100.1:51820\","
             "\"type\":\"full_cone\"}}",
             id, j);
}

/* A counter of a /test/assertions answer (fails when absent). */
static int64_t counter_of(const mt_response *r, const char *name)
{
    int64_t v = -1;
    if (mt_assertion_value(r->body, r->len, name, &v) != 0)
        fail_msg("no %s in %.*s", name, (int)r->len, (const char *)r->body);
    return v;
}

/* A counter of session x read through its selector. */
static int64_t scount(CURL *h, const mt_server *s, const ses *x, int sel, const char *name)
{
    mt_response r;
    sexpect(h, s, x, sel, "GET", "/test/assertions", NULL, 200, &r);
    int64_t v = counter_of(&r, name);
    mt_response_free(&r);
    return v;
}

/* An event envelope with this event_id. */
static void envelope(char *out, size_t n, const char *id)
{
    snprintf(out, n, "{\"event_type\":\"test_event\",\"event_id\":\"%s\",\"nonce\":\"nonce-%s\","
                     "\"payload\":{\"seq\":1}}", id, id);
}

/* The next frame on c by WAIT_MS has id want. */
static void next_frame_is(sse_client *c, const char *want, const char *what)
{
    sse_event ev;
    int r = sse_next(c, &ev, mt_now_ms() + WAIT_MS);
    if (r != 1)
        fail_msg("%s: no frame (%d), want id %s", what, r, want);
    if (!ev.id || strcmp(ev.id, want) != 0)
        fail_msg("%s: frame id %s, want %s (frame %s)", what, ev.id ? ev.id : "(none)", want,
                 ev.raw ? ev.raw : "");
    sse_event_free(&ev);
}

/* Waits until session id has n waits parked (polled each millisecond: the
 * count moves on a loop thread, with nothing to poll on), as
 * rc_waiters_reach does for default. */
static bool session_waiters_reach(const mt_server *s, const char *id, int n, int64_t deadline)
{
    for (;;) {
        mk_session *S = mk_session_find(s->m, id, strlen(id));
        int w = S ? atomic_load(&S->state.waiters) : -1;
        mk_session_release(S);
        if (w == n)
            return true;
        if (mt_now_ms() >= deadline)
            return false;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* A pause between two checks of a condition polled with a deadline. */
static void poll_pause(void)
{
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
}

/* ---- 1. sessions in parallel, through each selector ----------------------- */

typedef struct worker {
    const mt_server *s;
    ses x;
    int sel;
    int k; /* heartbeats it sends */
    pthread_barrier_t *sent;
    char err[1600];
} worker;

#define WFAIL(w, ...)                                                                              \
    do {                                                                                           \
        if (!(w)->err[0])                                                                          \
            snprintf((w)->err, sizeof(w)->err, __VA_ARGS__);                                       \
    } while (0)

/* Its agent's traffic: register (its own NSK back), k heartbeats. */
static void worker_send(worker *w, CURL *h)
{
    mt_response r;
    sreq(h, w->s, &w->x, w->sel, "POST", "/v1/register", "{}", &r);
    if (r.status != 200 || !strstr((const char *)r.body, w->x.nsk))
        WFAIL(w, "register: status %ld, body %.300s (want its NSK %s)", r.status, (const char *)r.body, w->x.nsk);
    mt_response_free(&r);
    char body[512];
    for (int j = 0; j < w->k; j++) {
        hb_body(body, sizeof body, w->x.id, j);
        sreq(h, w->s, &w->x, w->sel, "POST", "/v1/nodes/n1/heartbeat", body, &r);
        if (r.status != 200)
            WFAIL(w, "heartbeat %d: status %ld (%s)", j, r.status, curl_easy_strerror(r.rc));
        mt_response_free(&r);
    }
}

/* Once every session's traffic is in: its counters, capture and journal
 * are its own, exactly. */
static void worker_check(worker *w, CURL *h)
{
    mt_response r;
    int64_t v;
    sreq(h, w->s, &w->x, w->sel, "GET", "/test/assertions", NULL, &r);
    if (r.status != 200)
        WFAIL(w, "assertions: status %ld", r.status);
    else if (mt_assertion_value(r.body, r.len, "heartbeat_count", &v) != 0 || v != w->k)
        WFAIL(w, "heartbeat_count %lld, want %d: %.400s", (long long)v, w->k, (const char *)r.body);
    else if (mt_assertion_value(r.body, r.len, "registration_count", &v) != 0 || v != 1)
        WFAIL(w, "registration_count %lld, want 1", (long long)v);
    mt_response_free(&r);

    char want[512];
    hb_body(want, sizeof want, w->x.id, w->k - 1);
    sreq(h, w->s, &w->x, w->sel, "GET", "/test/last-request/heartbeat", NULL, &r);
    if (r.status != 200 || r.len != strlen(want) || memcmp(r.body, want, r.len) != 0)
        WFAIL(w, "last heartbeat: status %ld, body %.300s, want %.400s", r.status, (const char *)r.body, want);
    mt_response_free(&r);

    sreq(h, w->s, &w->x, w->sel, "GET", "/test/requests", NULL, &r);
    json_error_t je;
    json_t *j = r.status == 200 ? json_loadb((const char *)r.body, r.len, 0, &je) : NULL;
    json_t *es = json_object_get(j, "entries");
    if (!json_is_array(es)) {
        WFAIL(w, "requests: status %ld, body %.300s", r.status, (const char *)r.body);
    } else if (json_array_size(es) != (size_t)w->k + 1) {
        WFAIL(w, "requests: %zu entries, want %d (register and its heartbeats only): %.600s", json_array_size(es),
              w->k + 1, (const char *)r.body);
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(es, i, e) {
            const char *sid = json_string_value(json_object_get(e, "session"));
            const char *via = json_string_value(json_object_get(e, "session_via"));
            const char *path = json_string_value(json_object_get(e, "path"));
            if (!sid || strcmp(sid, w->x.id) != 0 || !via || strcmp(via, sel_via[w->sel]) != 0)
                WFAIL(w, "entry %zu: session %s via %s, want %s via %s", i, sid ? sid : "(none)",
                      via ? via : "(none)", w->x.id, sel_via[w->sel]);
            const char *wantp = i == 0 ? "/v1/register" : "/v1/nodes/n1/heartbeat";
            if (!path || strcmp(path, wantp) != 0)
                WFAIL(w, "entry %zu: path %s, want %s (the prefix stripped)", i, path ? path : "(none)", wantp);
        }
    }
    json_decref(j);
    mt_response_free(&r);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    CURL *h = curl_easy_init();
    if (!h)
        WFAIL(w, "curl_easy_init failed");
    else
        worker_send(w, h);
    /* every thread reaches the barrier, whatever failed */
    pthread_barrier_wait(w->sent);
    if (h)
        worker_check(w, h);
    curl_easy_cleanup(h);
    return NULL;
}

static void ses_parallel_selectors(void **st)
{
    (void)st;
    enum { N = 6 };
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    static const int sels[N] = {SEL_HEADER, SEL_PREFIX, SEL_TOKEN, SEL_HEADER, SEL_PREFIX, SEL_BEARER};
    worker w[N];
    pthread_t th[N];
    pthread_barrier_t sent;
    assert_int_equal(pthread_barrier_init(&sent, NULL, N), 0);
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].s = &s;
        w[i].sel = sels[i];
        w[i].k = 2 + i;
        w[i].sent = &sent;
        ses_make(h, &s, NULL, &w[i].x);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&sent);
    for (int i = 0; i < N; i++)
        if (w[i].err[0])
            fail_msg("session %s (via %s): %s", w[i].x.id, sel_via[w[i].sel], w[i].err);

    /* the listing: six live, each with exactly the requests its thread made
     * (register, k heartbeats, three reads); none fell to default */
    json_t *l = sessions_list(h, &s);
    assert_string_equal(mt_jstr(l, "mode"), "on");
    assert_int_equal(mt_jint(l, "live"), N);
    assert_int_equal(mt_jint(l, "unsessioned"), 0);
    assert_int_equal(json_array_size(json_object_get(l, "sessions")), N + 1);
    assert_string_equal(mt_jstr(json_array_get(json_object_get(l, "sessions"), 0), "id"), "default");
    for (int i = 0; i < N; i++) {
        json_t *e = listed(l, w[i].x.id);
        assert_non_null(e);
        assert_int_equal(mt_jint(e, "requests"), w[i].k + 4);
    }
    json_decref(l);

    /* the same through ?session= on the /test/ routes, from outside */
    for (int i = 0; i < N; i++) {
        assert_int_equal(scount(h, &s, &w[i].x, SEL_QUERY, "heartbeat_count"), w[i].k);
        mt_response r;
        sexpect(h, &s, &w[i].x, SEL_QUERY, "GET", "/test/requests?path=/v1/nodes/n1/heartbeat", NULL, 200, &r);
        json_t *j = mt_parse_json(r.body, r.len);
        assert_int_equal(json_array_size(json_object_get(j, "entries")), (size_t)w[i].k);
        json_decref(j);
        mt_response_free(&r);
        /* the reads themselves, journaled as test requests, say "query" */
        sexpect(h, &s, &w[i].x, SEL_QUERY, "GET", "/test/requests?include_test=1&path=/test/assertions", NULL, 200,
                &r);
        j = mt_parse_json(r.body, r.len);
        json_t *es = json_object_get(j, "entries");
        assert_int_equal(json_array_size(es), 2); /* the thread's, then the one above */
        assert_string_equal(mt_jstr(json_array_get(es, 1), "session_via"), "query");
        assert_string_equal(mt_jstr(json_array_get(es, 1), "session"), w[i].x.id);
        assert_string_equal(mt_jstr(json_array_get(es, 0), "session_via"), sel_via[w[i].sel]);
        json_decref(j);
        mt_response_free(&r);
    }
    /* default saw none of it */
    unsigned char *zero = NULL;
    size_t zn = 0;
    assert_int_equal(mt_golden("assertions_zero", s.key, &zero, &zn), 0);
    mt_response r;
    mt_get(h, s.base, "/test/assertions", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, zn);
    assert_memory_equal(r.body, zero, zn);
    mt_response_free(&r);
    free(zero);
    mt_get(h, s.base, "/test/requests", &r);
    assert_int_equal(r.status, 200);
    json_t *j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 0);
    json_decref(j);
    mt_response_free(&r);
    /* a request without a session while others live: unsessioned */
    mt_get(h, s.base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "unsessioned"), 1);
    json_decref(l);

    /* event streams, each opened through its session's prefix: each
     * session numbers its own streams, counts only its own, and delivers
     * only its own events */
    sse_client c[N];
    memset(c, 0, sizeof c);
    int port = rc_http_port(&s);
    char path[256], body[512];
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/s/%s/v1/nodes/n1/events", w[i].x.id);
        assert_int_equal(sse_open(&c[i], port, path, NULL, 0, mt_now_ms() + WAIT_MS), 200);
        next_frame_is(&c[i], "evt-mock-001", "the initial event");
    }
    for (int i = 0; i < N; i++) {
        sexpect(h, &s, &w[i].x, w[i].sel, "GET", "/test/sse/wait?clients=1&timeout_ms=5000", NULL, 200, &r);
        body_is(&r, "{\"connected\":1,\"wanted\":1,\"reached\":true}\n", "its own streams only");
        mt_response_free(&r);
    }
    for (int i = 0; i < N; i++) { /* every stream is attached now: each still sees one */
        sexpect(h, &s, &w[i].x, w[i].sel, "GET", "/test/sse", NULL, 200, &r);
        j = mt_parse_json(r.body, r.len);
        assert_int_equal(mt_jint(j, "connected"), 1);
        assert_int_equal(json_array_size(json_object_get(j, "clients")), 1);
        assert_string_equal(mt_jstr(json_array_get(json_object_get(j, "clients"), 0), "node_id"), "n1");
        json_decref(j);
        mt_response_free(&r);
    }
    mt_get(h, s.base, "/test/sse", &r);
    j = mt_parse_json(r.body, r.len);
    assert_int_equal(mt_jint(j, "connected"), 0);
    json_decref(j);
    mt_response_free(&r);
    /* two rounds of injections, interleaved over the sessions: a frame of
     * another session would come between a stream's two */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            char id[120];
            snprintf(id, sizeof id, "%s-%s", round ? "end" : "ev", w[i].x.id);
            envelope(body, sizeof body, id);
            sexpect(h, &s, &w[i].x, w[i].sel, "POST", "/test/inject-event", body, 204, NULL);
        }
    for (int i = 0; i < N; i++) {
        char id[120];
        snprintf(id, sizeof id, "ev-%s", w[i].x.id);
        next_frame_is(&c[i], id, "its first event");
        snprintf(id, sizeof id, "end-%s", w[i].x.id);
        next_frame_is(&c[i], id, "its second event, nothing between");
        assert_int_equal(scount(h, &s, &w[i].x, w[i].sel, "inject_event_count"), 2);
        sexpect(h, &s, &w[i].x, w[i].sel, "GET", "/test/sse", NULL, 200, &r);
        j = mt_parse_json(r.body, r.len);
        assert_int_equal(mt_jint(j, "published"), 2);
        json_decref(j);
        mt_response_free(&r);
    }
    /* /test/sse/disconnect ends the streams of its session only */
    sexpect(h, &s, &w[0].x, w[0].sel, "POST", "/test/sse/disconnect", NULL, 200, &r);
    body_is(&r, "{\"disconnected\":1}\n", "disconnect in one session");
    mt_response_free(&r);
    sse_event ev;
    if (sse_next(&c[0], &ev, mt_now_ms() + WAIT_MS) != -1 || !c[0].eof)
        fail_msg("the disconnected stream did not end");
    envelope(body, sizeof body, "after");
    sexpect(h, &s, &w[1].x, w[1].sel, "POST", "/test/inject-event", body, 204, NULL);
    next_frame_is(&c[1], "after", "another session's stream, still open");
    for (int i = 0; i < N; i++)
        sse_close(&c[i]);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 2. reset ------------------------------------------------------------- */

/* Two heartbeats and a register in x (NULL: default). */
static void some_traffic(CURL *h, const mt_server *s, const ses *x, int sel)
{
    char body[512];
    sexpect(h, s, x, sel, "POST", "/v1/register", "{}", 200, NULL);
    for (int j = 0; j < 2; j++) {
        hb_body(body, sizeof body, x ? x->id : "default", j);
        sexpect(h, s, x, sel, "POST", "/v1/nodes/n1/heartbeat", body, 200, NULL);
    }
}

/* x's counters and capture are what some_traffic left. */
static void traffic_intact(CURL *h, const mt_server *s, const ses *x, int sel)
{
    assert_int_equal(scount(h, s, x, sel, "heartbeat_count"), 2);
    assert_int_equal(scount(h, s, x, sel, "registration_count"), 1);
    char want[512];
    hb_body(want, sizeof want, x ? x->id : "default", 1);
    mt_response r;
    sexpect(h, s, x, sel, "GET", "/test/last-request/heartbeat", NULL, 200, &r);
    body_is(&r, want, "the capture");
    mt_response_free(&r);
}

static void ses_reset_scopes(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses a, b, c;
    ses_make_id(h, &s, "ra", &a);
    ses_make_id(h, &s, "rb", &b);
    ses_make_id(h, &s, "rc", &c);
    some_traffic(h, &s, &a, SEL_HEADER);
    some_traffic(h, &s, &b, SEL_PREFIX);
    some_traffic(h, &s, &c, SEL_TOKEN);
    some_traffic(h, &s, NULL, SEL_NONE);

    /* reset in ra: ra is back to zero (and still lives), the rest intact */
    sexpect(h, &s, &a, SEL_HEADER, "POST", "/test/reset", NULL, 204, NULL);
    unsigned char *zero = NULL;
    size_t zn = 0;
    assert_int_equal(mt_golden("assertions_zero", s.key, &zero, &zn), 0);
    mt_response r;
    sexpect(h, &s, &a, SEL_PREFIX, "GET", "/test/assertions", NULL, 200, &r);
    assert_int_equal(r.len, zn);
    assert_memory_equal(r.body, zero, zn);
    mt_response_free(&r);
    sexpect(h, &s, &a, SEL_HEADER, "GET", "/test/last-request/heartbeat", NULL, 404, NULL);
    sexpect(h, &s, &a, SEL_HEADER, "GET", "/test/requests", NULL, 200, &r);
    json_t *j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 0);
    json_decref(j);
    mt_response_free(&r);
    traffic_intact(h, &s, &b, SEL_PREFIX);
    traffic_intact(h, &s, &c, SEL_QUERY);
    traffic_intact(h, &s, NULL, SEL_NONE);
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "live"), 3);
    json_decref(l);
    sexpect(h, &s, &a, SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);

    /* a bad scope changes nothing */
    sexpect(h, &s, &b, SEL_HEADER, "POST", "/test/reset?scope=everything", NULL, 400, &r);
    error_names(&r, "a bad scope", "scope must be session", (const char *)NULL);
    mt_response_free(&r);
    traffic_intact(h, &s, &b, SEL_HEADER);

    /* ?scope=all, sent from inside rb (its own session ends under it): every
     * session but default ends, default is reset */
    sexpect(h, &s, &b, SEL_HEADER, "POST", "/test/reset?scope=all", NULL, 204, NULL);
    l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "live"), 0);
    assert_int_equal(mt_jint(l, "unsessioned"), 0);
    assert_int_equal(json_array_size(json_object_get(l, "sessions")), 1);
    assert_int_equal(mt_jint(json_object_get(l, "ended"), "deleted"), 3);
    json_decref(l);
    sexpect(h, &s, &a, SEL_PREFIX, "GET", "/v1/ping", NULL, 404, &r);
    body_is(&r,
            "{\"error\":\"no session \\\"ra\\\" (it ended, expired or never existed; named by the path prefix "
            "/s/{id}/)\"}\n",
            "an ended session's prefix");
    mt_response_free(&r);
    sexpect(h, &s, &b, SEL_PREFIX, "GET", "/test/assertions", NULL, 404, NULL);
    sexpect(h, &s, &c, SEL_HEADER, "GET", "/v1/ping", NULL, 404, NULL);
    mt_get(h, s.base, "/test/assertions", &r);
    assert_int_equal(r.len, zn);
    assert_memory_equal(r.body, zero, zn);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/last-request/heartbeat", &r);
    assert_int_equal(r.status, 404);
    mt_response_free(&r);
    /* an ended session's token selects nothing any more: default's */
    sexpect(h, &s, &c, SEL_TOKEN, "GET", "/test/assertions", NULL, 200, &r);
    assert_int_equal(r.len, zn);
    mt_response_free(&r);
    /* its id can be taken again: a fresh session */
    ses a2;
    ses_make_id(h, &s, "ra", &a2);
    assert_string_not_equal(a2.nsk, a.nsk);
    sexpect(h, &s, &a2, SEL_PREFIX, "GET", "/test/assertions", NULL, 200, &r);
    assert_int_equal(r.len, zn);
    assert_memory_equal(r.body, zero, zn);
    mt_response_free(&r);
    free(zero);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 3. TTL ----------------------------------------------------------------- */

static void ses_ttl(void **st)
{
    (void)st;
    mt_timing_test();
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses idle, used;
    int64_t t_idle = mt_now_ms();
    ses_make(h, &s, "{\"id\":\"ttl-idle\",\"ttl_ms\":300}", &idle);
    int64_t t_used = mt_now_ms();
    ses_make(h, &s, "{\"id\":\"ttl-used\",\"ttl_ms\":300,\"name\":\"kept busy\"}", &used);
    json_t *l = sessions_list(h, &s);
    json_t *e = listed(l, "ttl-used");
    assert_non_null(e);
    assert_int_equal(mt_jint(e, "ttl_ms"), 300);
    assert_string_equal(mt_jstr(e, "name"), "kept busy");
    json_decref(l);

    /* keep ttl-used busy until ttl-idle has gone and 3 TTLs have passed */
    int64_t deadline = mt_now_ms() + 5000, t_gone = 0, t_last = 0;
    for (;;) {
        t_last = mt_now_ms();
        sexpect(h, &s, &used, SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);
        l = sessions_list(h, &s);
        bool idle_there = listed(l, "ttl-idle") != NULL, used_there = listed(l, "ttl-used") != NULL;
        json_decref(l);
        int64_t now = mt_now_ms();
        if (!used_there)
            fail_msg("ttl-used ended %lld ms after its creation, though used every few ms", (long long)(now - t_used));
        if (!idle_there && !t_gone) {
            t_gone = now;
            if (t_gone - t_idle < 295) /* 5 ms for the two clocks' rounding */
                fail_msg("ttl-idle ended after %lld ms, before its 300 ms TTL", (long long)(t_gone - t_idle));
        }
        if (t_gone && now - t_used >= 900)
            break;
        if (now >= deadline)
            fail_msg("ttl-idle still listed %lld ms after its creation (TTL 300 ms)", (long long)(now - t_idle));
        poll_pause();
    }
    sexpect(h, &s, &idle, SEL_PREFIX, "GET", "/v1/ping", NULL, 404, NULL);
    sexpect(h, &s, &idle, SEL_QUERY, "GET", "/test/assertions", NULL, 404, NULL);
    /* left alone, ttl-used ends a TTL after its last request */
    deadline = mt_now_ms() + 5000;
    for (;;) {
        l = sessions_list(h, &s);
        bool there = listed(l, "ttl-used") != NULL;
        json_decref(l);
        int64_t now = mt_now_ms();
        if (!there) {
            if (now - t_last < 295)
                fail_msg("ttl-used ended %lld ms after its last request (TTL 300 ms)", (long long)(now - t_last));
            break;
        }
        if (now >= deadline)
            fail_msg("ttl-used still listed %lld ms after its last request", (long long)(now - t_last));
        poll_pause();
    }
    l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "live"), 0);
    assert_int_equal(mt_jint(json_object_get(l, "ended"), "ttl"), 2);
    assert_int_equal(mt_jint(json_object_get(l, "ended"), "deleted"), 0);
    json_decref(l);
    sexpect(h, &s, &used, SEL_HEADER, "GET", "/v1/ping", NULL, 404, NULL);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 4. the cap ------------------------------------------------------------- */

static void ses_cap(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_sessions = 3;
    rc_start(&s, &cfg, false);
    CURL *h = curl_easy_init();
    ses x[3];
    for (int i = 0; i < 3; i++)
        ses_make(h, &s, NULL, &x[i]);
    mt_response r;
    mt_send(h, s.base, "POST", "/test/sessions", "{\"id\":\"fourth\"}", &r);
    assert_int_equal(r.status, 429);
    error_names(&r, "the 4th session", "3 sessions are live", "-max-sessions", "none is evicted",
                (const char *)NULL);
    mt_response_free(&r);
    char err[256] = "";
    mockapi_session *hs = NULL;
    assert_int_equal(mockapi_session_create(s.m, NULL, &hs, err, sizeof err), MOCKAPI_EFULL);
    assert_null(hs);
    assert_non_null(strstr(err, "-max-sessions"));
    /* nothing was evicted: the three answer in their own sessions */
    for (int i = 0; i < 3; i++)
        sexpect(h, &s, &x[i], SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "max"), 3);
    assert_int_equal(mt_jint(l, "live"), 3);
    assert_int_equal(mt_jint(l, "refused_full"), 2);
    assert_null(listed(l, "fourth"));
    json_decref(l);
    sexpect(h, &s, NULL, SEL_NONE, "GET", "/s/fourth/v1/ping", NULL, 404, NULL);
    /* one ends: there is room again */
    char path[128];
    snprintf(path, sizeof path, "/test/sessions/%s", x[1].id);
    mt_send(h, s.base, "DELETE", path, NULL, &r);
    assert_int_equal(r.status, 200);
    char want[160];
    snprintf(want, sizeof want, "{\"ended\":\"%s\",\"requests\":1}\n", x[1].id);
    body_is(&r, want, "DELETE");
    mt_response_free(&r);
    ses f;
    ses_make_id(h, &s, "fourth", &f);
    sexpect(h, &s, &f, SEL_HEADER, "GET", "/v1/ping", NULL, 200, NULL);
    sexpect(h, &s, &x[0], SEL_HEADER, "GET", "/v1/ping", NULL, 200, NULL);
    sexpect(h, &s, &x[2], SEL_HEADER, "GET", "/v1/ping", NULL, 200, NULL);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* -session-journal-bytes bounds each session's journal but default's. */
static void ses_journal_bytes(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.session_journal_bytes = 8192;
    rc_start(&s, &cfg, false);
    CURL *h = curl_easy_init();
    ses a;
    ses_make(h, &s, NULL, &a);
    char hb[512];
    for (int i = 0; i < 40; i++) { /* about 40 KB of entries in each */
        hb_body(hb, sizeof hb, a.id, i);
        sexpect(h, &s, &a, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 200, NULL);
        sexpect(h, &s, NULL, SEL_NONE, "POST", "/v1/nodes/n1/heartbeat", hb, 200, NULL);
    }
    mt_response r;
    sexpect(h, &s, &a, SEL_HEADER, "GET", "/test/requests", NULL, 200, &r);
    json_t *j = mt_parse_json(r.body, r.len);
    assert_int_equal(mt_jint(j, "max_bytes"), 8192);
    assert_true(mt_jint(j, "evicted") > 0);
    size_t kept = json_array_size(json_object_get(j, "entries"));
    assert_true(kept > 0 && kept < 40);
    json_decref(j);
    mt_response_free(&r);
    assert_int_equal(scount(h, &s, &a, SEL_HEADER, "heartbeat_count"), 40); /* counters are not the journal */
    mt_get(h, s.base, "/test/requests", &r);
    j = mt_parse_json(r.body, r.len);
    assert_int_equal(mt_jint(j, "max_bytes"), 64 << 20);
    assert_int_equal(mt_jint(j, "evicted"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 40);
    json_decref(j);
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 5. modes --------------------------------------------------------------- */

static void ses_required_mode(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.sessions = MOCKAPI_SESSIONS_REQUIRED;
    rc_start(&s, &cfg, false);
    CURL *h = curl_easy_init();
    mt_response r;
    static const char *const paths[] = {"/v1/ping", "/test/assertions", "/v1/nodes/n1/state"};
    for (size_t i = 0; i < 3; i++) {
        mt_get(h, s.base, paths[i], &r);
        if (r.status != 428)
            fail_msg("GET %s without a session: %ld, want 428", paths[i], r.status);
        error_names(&r, "428", "X-Mockapi-Session", "/s/ID/", "bearer token", "node_secret_key",
                    "?session=ID", "POST /test/sessions", (const char *)NULL);
        mt_response_free(&r);
    }
    mt_send(h, s.base, "POST", "/v1/register", "{}", &r);
    assert_int_equal(r.status, 428);
    mt_response_free(&r);
    /* what belongs to no session works without one */
    json_t *l = sessions_list(h, &s);
    assert_string_equal(mt_jstr(l, "mode"), "required");
    assert_int_equal(mt_jint(l, "live"), 0);
    json_decref(l);
    mt_get(h, s.base, "/test/stats", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/regions", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    ses a, b;
    ses_make(h, &s, NULL, &a);
    ses_make_id(h, &s, "req-b", &b);
    /* each way of naming one works */
    sexpect(h, &s, &a, SEL_HEADER, "GET", "/v1/ping", NULL, 200, NULL);
    sexpect(h, &s, &a, SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);
    sexpect(h, &s, &a, SEL_TOKEN, "POST", "/v1/register", "{}", 200, NULL);
    sexpect(h, &s, &a, SEL_BEARER, "POST", "/v1/register", "{}", 200, NULL);
    assert_int_equal(scount(h, &s, &a, SEL_QUERY, "registration_count"), 2);
    /* default named explicitly is a session like the others */
    ses def = {.id = "default"};
    sexpect(h, &s, &def, SEL_HEADER, "GET", "/v1/ping", NULL, 200, NULL);
    sexpect(h, &s, &def, SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);
    /* the refusals are journaled in default, where a test without its
     * session looks */
    sexpect(h, &s, &def, SEL_QUERY, "GET", "/test/requests?status=428", NULL, 200, &r);
    json_t *j = mt_parse_json(r.body, r.len);
    json_t *es = json_object_get(j, "entries");
    assert_int_equal(json_array_size(es), 3); /* ping, state, register (the /test/ one is a test entry) */
    assert_string_equal(mt_jstr(json_array_get(es, 0), "path"), "/v1/ping");
    json_decref(j);
    mt_response_free(&r);
    /* a session still ends without one */
    mt_send(h, s.base, "DELETE", "/test/sessions/req-b", NULL, &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    sexpect(h, &s, &b, SEL_HEADER, "GET", "/v1/ping", NULL, 404, NULL);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

static void ses_off_mode(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.sessions = MOCKAPI_SESSIONS_OFF;
    rc_start(&s, &cfg, false);
    CURL *h = curl_easy_init();
    unsigned char *nf = NULL;
    size_t nfn = 0;
    assert_int_equal(mt_golden("unknown", s.key, &nf, &nfn), 0);
    mt_response r;
    mt_get(h, s.base, "/s/x/v1/ping", &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.len, nfn);
    assert_memory_equal(r.body, nf, nfn); /* the router's 404, as before sessions */
    mt_response_free(&r);
    free(nf);
    mt_send(h, s.base, "POST", "/test/sessions", "{}", &r);
    assert_int_equal(r.status, 409);
    error_names(&r, "POST /test/sessions, off", "sessions are off", (const char *)NULL);
    mt_response_free(&r);
    json_t *l = sessions_list(h, &s);
    assert_string_equal(mt_jstr(l, "mode"), "off");
    assert_int_equal(mt_jint(l, "live"), 0);
    json_decref(l);
    /* the header names nothing: default answers */
    ses ghost = {.id = "ghost"};
    sexpect(h, &s, &ghost, SEL_HEADER, "GET", "/v1/ping", NULL, 200, NULL);
    char err[256] = "";
    mockapi_session *hs = NULL;
    assert_int_equal(mockapi_session_create(s.m, NULL, &hs, err, sizeof err), MOCKAPI_ESTATE);
    assert_null(hs);
    assert_non_null(strstr(err, "sessions are off"));
    /* the journal has no session members */
    mt_get(h, s.base, "/test/requests", &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr((const char *)r.body, "\"session"));
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 6. an agent addressed by base URL only -------------------------------- */

/* POST /local/metrics on the TLS listener (base tls + path) with this
 * bearer: the status. */
static long local_metrics(CURL *h, const mt_server *s, const char *path, const char *bearer)
{
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    const char *hs[] = {auth};
    mt_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = path;
    rq.headers = hs;
    rq.nheaders = 1;
    rq.body = "[]";
    rq.body_len = 2;
    rq.send_body = true;
    rq.ca_pem = mockapi_tls_ca_pem(s->m);
    mt_response r;
    mt_perform(h, s->tls_base, &rq, &r);
    long st = r.status;
    mt_response_free(&r);
    return st;
}

static void ses_agent_by_base_url(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, true);
    CURL *h = curl_easy_init();
    /* a session with its own state fixture, and another one */
    unsigned char *state = NULL;
    size_t sn = 0;
    assert_int_equal(mt_golden("state", s.key, &state, &sn), 0);
    char *own_state = (char *)mt_subst(state, sn, s.key, &sn); /* a copy to edit */
    char *env = strstr(own_state, "\"e2e-test\"");
    assert_non_null(env);
    memcpy(env, "\"sess-env\"", 10);
    while (sn && own_state[sn - 1] == '\n')
        own_state[--sn] = '\0';
    char *body = rc_fmt("{\"id\":\"agent\",\"state\":%s}", own_state);
    ses a, b;
    ses_make(h, &s, body, &a);
    free(body);
    ses_make_id(h, &s, "other", &b);
    /* the agent knows its base URL only */
    char base[256];
    snprintf(base, sizeof base, "%s/s/agent", s.base);
    mt_response r;
    mt_send(h, base, "POST", "/v1/register", "{\"hostname\":\"e2e\"}", &r);
    assert_int_equal(r.status, 200);
    json_t *reg = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    const char *nsk = mt_jstr(reg, "node_secret_key");
    assert_string_equal(nsk, a.nsk); /* the session's own */
    assert_string_not_equal(nsk, mockapi_nsk(s.m));
    char hb[512];
    hb_body(hb, sizeof hb, "agent", 0);
    mt_send(h, base, "POST", "/v1/nodes/n1/heartbeat", hb, &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    mt_get(h, base, "/v1/nodes/n1/state", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"sess-env\""));
    assert_null(strstr((const char *)r.body, "\"e2e-test\""));
    mt_response_free(&r);
    /* default's state is still the golden one */
    mt_get(h, s.base, "/v1/nodes/n1/state", &r);
    assert_int_equal(r.len, strlen((const char *)state));
    assert_memory_equal(r.body, state, r.len);
    mt_response_free(&r);
    free(state);
    free(own_state);

    /* the secret: decrypted with the NSK its register gave, it is the
     * session's bearer token; default's NSK does not open it */
    mt_get(h, base, "/v1/nodes/n1/secrets/local-bearer-token", &r);
    assert_int_equal(r.status, 200);
    json_t *sec = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    char *pt = NULL;
    size_t ptn = 0;
    assert_int_equal(mockapi_decrypt_secret(nsk, strlen(nsk), mt_jstr(sec, "ciphertext"), mt_jstr(sec, "nonce"),
                                            &pt, &ptn),
                     MOCKAPI_OK);
    assert_int_equal(ptn, strlen(a.bearer));
    assert_string_equal(pt, a.bearer);
    mockapi_free_buf(pt);
    pt = NULL;
    assert_int_equal(mockapi_decrypt_secret(mockapi_nsk(s.m), 32, mt_jstr(sec, "ciphertext"),
                                            mt_jstr(sec, "nonce"), &pt, &ptn),
                     MOCKAPI_ECRYPTO);
    json_decref(sec);
    json_decref(reg);

    /* its event stream, by base URL too */
    sse_client c;
    memset(&c, 0, sizeof c);
    assert_int_equal(sse_open(&c, rc_http_port(&s), "/s/agent/v1/nodes/n1/events", NULL, 0, mt_now_ms() + WAIT_MS),
                     200);
    next_frame_is(&c, "evt-mock-001", "the agent's initial event");
    mt_get(h, base, "/test/sse/wait?clients=1&timeout_ms=5000", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    char ev[256];
    envelope(ev, sizeof ev, "evt-default"); /* in default: not for this stream */
    mt_send(h, s.base, "POST", "/test/inject-event", ev, &r);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    envelope(ev, sizeof ev, "evt-agent");
    mt_send(h, base, "POST", "/test/inject-event", ev, &r);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    next_frame_is(&c, "evt-agent", "the agent's own event, not default's");
    sse_close(&c);

    /* the TLS local endpoints: the session's bearer counts in the session
     * (selected by the token, or by the prefix); default's token through
     * the session's prefix is the wrong credential there (401), as is
     * another session's; default still takes its fixed token */
    assert_int_equal(local_metrics(h, &s, "/local/metrics", a.bearer), 204);
    assert_int_equal(local_metrics(h, &s, "/s/agent/local/metrics", a.bearer), 204);
    assert_int_equal(local_metrics(h, &s, "/s/agent/local/metrics", "e2e-local-bearer-token"), 401);
    assert_int_equal(local_metrics(h, &s, "/s/agent/local/metrics", b.bearer), 401);
    assert_int_equal(local_metrics(h, &s, "/local/metrics", "e2e-local-bearer-token"), 204);
    assert_int_equal(local_metrics(h, &s, "/local/metrics", "wrong-token"), 401);
    mt_get(h, base, "/test/assertions", &r);
    assert_int_equal(counter_of(&r, "local_metrics_count"), 2);
    assert_int_equal(counter_of(&r, "registration_count"), 1);
    assert_int_equal(counter_of(&r, "heartbeat_count"), 1);
    assert_int_equal(counter_of(&r, "secrets_count"), 1);
    assert_int_equal(counter_of(&r, "inject_event_count"), 1);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/assertions", &r);
    assert_int_equal(counter_of(&r, "local_metrics_count"), 1);
    assert_int_equal(counter_of(&r, "registration_count"), 0);
    assert_int_equal(counter_of(&r, "inject_event_count"), 1);
    mt_response_free(&r);
    assert_int_equal(scount(h, &s, &b, SEL_HEADER, "local_metrics_count"), 0);
    /* its journal: every agent request, by prefix, and the token one */
    mt_get(h, base, "/test/requests?path=/local/metrics", &r);
    json_t *j = mt_parse_json(r.body, r.len);
    json_t *es = json_object_get(j, "entries");
    assert_int_equal(json_array_size(es), 4);
    assert_string_equal(mt_jstr(json_array_get(es, 0), "session_via"), "token");
    assert_string_equal(mt_jstr(json_array_get(es, 0), "listener_kind"), "tls");
    assert_string_equal(mt_jstr(json_array_get(es, 1), "session_via"), "prefix");
    assert_int_equal(mt_jint(json_array_get(es, 2), "status"), 401);
    json_decref(j);
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 7. default stays golden ---------------------------------------------- */

static void golden_is(const mt_response *r, const char *name, const char *key)
{
    unsigned char *g = NULL;
    size_t gn = 0;
    if (mt_golden(name, key, &g, &gn) != 0)
        fail_msg("golden %s not found", name);
    if (r->len != gn || memcmp(r->body, g, gn) != 0) {
        char *shown = mt_show(r->body, r->len);
        fail_msg("default's answer is not golden %s: %s", name, shown ? shown : "?");
    }
    free(g);
}

static void ses_default_stays_golden(void **st)
{
    (void)st;
    unsigned char *probe = NULL;
    size_t pn = 0;
    if (mt_golden("register", "k", &probe, &pn) != 0) {
        skip(); /* no golden files in this tree */
        return;
    }
    free(probe);
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses x[3];
    for (int i = 0; i < 3; i++) {
        ses_make(h, &s, NULL, &x[i]);
        some_traffic(h, &s, &x[i], i % 2 ? SEL_PREFIX : SEL_HEADER);
    }
    mt_response r;
    mt_get(h, s.base, "/test/assertions", &r);
    assert_int_equal(r.status, 200);
    golden_is(&r, "assertions_zero", s.key);
    mt_response_free(&r);
    mt_send(h, s.base, "POST", "/v1/register",
            "{\"token\":\"tok\",\"public_key\":\"pk\",\"hostname\":\"h1\",\"metadata\":{\"a\":\"b\"},"
            "\"capabilities\":{\"builtin_actions\":[],\"hooks\":[]}}",
            &r);
    assert_int_equal(r.status, 200);
    golden_is(&r, "register", s.key);
    mt_response_free(&r);
    mt_send(h, s.base, "POST", RC_HB_PATH, RC_HB_BODY, &r);
    assert_int_equal(r.status, 200);
    golden_is(&r, "heartbeat", s.key);
    mt_response_free(&r);
    mt_get(h, s.base, "/v1/nodes/n1/state", &r);
    golden_is(&r, "state", s.key);
    mt_response_free(&r);
    mt_get(h, s.base, "/v1/nodes/node-mock-001/secrets/db-password", &r);
    golden_is(&r, "secrets", s.key);
    mt_response_free(&r);
    /* the sessions' answers differ from default's where their keys do */
    sexpect(h, &s, &x[0], SEL_HEADER, "POST", "/v1/register", "{}", 200, &r);
    assert_non_null(strstr((const char *)r.body, x[0].nsk));
    assert_null(strstr((const char *)r.body, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));
    mt_response_free(&r);
    /* default's journal entries read as before sessions: no session members */
    mt_get(h, s.base, "/test/requests", &r);
    assert_int_equal(r.status, 200);
    json_t *j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 4);
    json_decref(j);
    assert_null(strstr((const char *)r.body, "\"session"));
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- fixtures and faults given at creation --------------------------------- */

static void ses_created_with_fixtures(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses fx;
    ses_make(h, &s,
             "{\"id\":\"fx\",\"heartbeat\":{\"reconcile\":false,\"rotate_keys\":true},"
             "\"faults\":[{\"route\":\"heartbeat\",\"method\":\"POST\",\"spec\":\"status=418;first=1\"}]}",
             &fx);
    char hb[512];
    hb_body(hb, sizeof hb, "fx", 0);
    /* its rule: the first heartbeat 418, then its own heartbeat fixture */
    sexpect(h, &s, &fx, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 418, NULL);
    mt_response r;
    sexpect(h, &s, &fx, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 200, &r);
    body_is(&r, "{\"reconcile\":false,\"rotate_keys\":true}\n", "the session's heartbeat fixture");
    mt_response_free(&r);
    sexpect(h, &s, &fx, SEL_HEADER, "GET", "/test/faults", NULL, 200, &r);
    json_t *j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "rules")), 1);
    json_decref(j);
    mt_response_free(&r);
    sexpect(h, &s, &fx, SEL_HEADER, "GET", "/test/assertions?faults=1", NULL, 200, &r);
    assert_non_null(strstr((const char *)r.body, "\"faults\":"));
    assert_int_equal(counter_of(&r, "heartbeat_count"), 1);
    mt_response_free(&r);
    /* default has neither */
    mt_send(h, s.base, "POST", "/v1/nodes/n1/heartbeat", hb, &r);
    assert_int_equal(r.status, 200);
    golden_is(&r, "heartbeat", s.key);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/faults", &r);
    j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "rules")), 0);
    json_decref(j);
    mt_response_free(&r);
    /* a bad rule or fixture makes no session, and says which */
    mt_send(h, s.base, "POST", "/test/sessions",
            "{\"id\":\"fx2\",\"faults\":[{\"route\":\"hartbeat\",\"spec\":\"status=500\"}]}", &r);
    assert_int_equal(r.status, 400);
    error_names(&r, "a bad rule", "faults[0]", "hartbeat", (const char *)NULL);
    mt_response_free(&r);
    mt_send(h, s.base, "POST", "/test/sessions", "{\"id\":\"fx2\",\"heartbeat\":{\"reconcile\":\"yes\"}}", &r);
    assert_int_equal(r.status, 400);
    error_names(&r, "a bad heartbeat", "\"heartbeat\"", (const char *)NULL);
    mt_response_free(&r);
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "live"), 1);
    assert_null(listed(l, "fx2"));
    json_decref(l);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 8. unknown and bad ids -------------------------------------------------- */

static void ses_unknown_and_bad_ids(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses live;
    ses_make_id(h, &s, "live-1", &live);
    ses ghost = {.id = "ghost"};
    mt_response r;
    sexpect(h, &s, &ghost, SEL_HEADER, "GET", "/v1/ping", NULL, 404, &r);
    body_is(&r,
            "{\"error\":\"no session \\\"ghost\\\" (it ended, expired or never existed; named by "
            "X-Mockapi-Session)\"}\n",
            "unknown header");
    mt_response_free(&r);
    sexpect(h, &s, &ghost, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", RC_HB_BODY, 404, &r);
    error_names(&r, "unknown prefix", "no session \"ghost\"", "the path prefix", (const char *)NULL);
    mt_response_free(&r);
    sexpect(h, &s, &ghost, SEL_QUERY, "GET", "/test/assertions", NULL, 404, &r);
    error_names(&r, "unknown ?session=", "no session \"ghost\"", "?session=", (const char *)NULL);
    mt_response_free(&r);
    /* ?session= is a /test/ selector only: elsewhere it is the route's query */
    sexpect(h, &s, &ghost, SEL_QUERY, "GET", "/v1/ping", NULL, 200, NULL);
    /* the header wins over the prefix: an unknown header is a 404 even
     * with a live prefix */
    {
        const char *hs[] = {"X-Mockapi-Session: ghost"};
        mt_request rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = "/s/live-1/v1/ping";
        rq.headers = hs;
        rq.nheaders = 1;
        mt_perform(h, s.base, &rq, &r);
        assert_int_equal(r.status, 404);
        error_names(&r, "header over prefix", "X-Mockapi-Session", (const char *)NULL);
        mt_response_free(&r);
    }
    /* the header twice: refused, as X-Mockapi-Fault twice is (which was
     * meant is not for the mock to guess) */
    {
        const char *hs[] = {"X-Mockapi-Session: live-1", "X-Mockapi-Session: ghost"};
        mt_request rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = "/v1/ping";
        rq.headers = hs;
        rq.nheaders = 2;
        mt_perform(h, s.base, &rq, &r);
        assert_int_equal(r.status, 400);
        body_is(&r, "{\"error\":\"X-Mockapi-Session given more than once: send one session id\"}\n",
                "the header twice");
        mt_response_free(&r);
    }
    /* an unknown bearer is no selector: default */
    ses nobody = {.id = "-", .nsk = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"};
    sexpect(h, &s, &nobody, SEL_TOKEN, "GET", "/v1/ping", NULL, 200, NULL);
    /* ids: bad characters, too long, ".", "default", taken */
    static const char *const bad[] = {
        "{\"id\":\"a b\"}", "{\"id\":\"a/b\"}", "{\"id\":\"\"}", "{\"id\":\".\"}", "{\"id\":\"..\"}",
        "{\"id\":\"d\\u00e9j\\u00e0\"}", "{\"id\":\"default\"}", "{\"id\":7}", "{\"idd\":\"x\"}",
        "{\"ttl_ms\":-1}", "{\"ttl_ms\":86400001}", "[]", "{\"faults\":{}}",
        "{\"state\":{\"peers\":7}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mt_send(h, s.base, "POST", "/test/sessions", bad[i], &r);
        if (r.status != 400)
            fail_msg("POST /test/sessions %s: %ld, want 400 (%.*s)", bad[i], r.status, (int)r.len,
                     (const char *)r.body);
        json_t *j = mt_parse_json(r.body, r.len);
        assert_true(strlen(mt_jstr(j, "error")) > 10);
        json_decref(j);
        mt_response_free(&r);
    }
    char longid[80];
    memset(longid, 'x', 65);
    longid[65] = '\0';
    char *body = rc_fmt("{\"id\":\"%s\"}", longid);
    mt_send(h, s.base, "POST", "/test/sessions", body, &r);
    assert_int_equal(r.status, 400);
    error_names(&r, "an id of 65", "1 to 64", (const char *)NULL);
    mt_response_free(&r);
    free(body);
    char huge[300];
    memset(huge, 'y', 200);
    huge[200] = '\0';
    body = rc_fmt("{\"id\":\"%s\"}", huge);
    mt_send(h, s.base, "POST", "/test/sessions", body, &r);
    assert_int_equal(r.status, 400);
    error_names(&r, "an id of 200", "longer than 64 bytes", (const char *)NULL);
    mt_response_free(&r);
    free(body);
    body = rc_fmt("{\"name\":\"%s\"}", huge);
    mt_send(h, s.base, "POST", "/test/sessions", body, &r);
    assert_int_equal(r.status, 400);
    error_names(&r, "a name of 200", "longer than 128 bytes", (const char *)NULL);
    mt_response_free(&r);
    free(body);
    longid[64] = '\0'; /* 64 is the most */
    ses l64;
    ses_make_id(h, &s, longid, &l64);
    mt_send(h, s.base, "POST", "/test/sessions", "{\"idd\":\"x\"}", &r);
    error_names(&r, "a misspelt member", "unknown member \"idd\"", "did you mean \"id\"", (const char *)NULL);
    mt_response_free(&r);
    mt_send(h, s.base, "POST", "/test/sessions", "{\"id\":\"live-1\"}", &r);
    assert_int_equal(r.status, 409);
    error_names(&r, "a taken id", "session \"live-1\" exists", (const char *)NULL);
    mt_response_free(&r);
    mt_send(h, s.base, "DELETE", "/test/sessions/default", NULL, &r);
    assert_int_equal(r.status, 400);
    error_names(&r, "DELETE default", "never ends", (const char *)NULL);
    mt_response_free(&r);
    mt_send(h, s.base, "DELETE", "/test/sessions/ghost", NULL, &r);
    assert_int_equal(r.status, 404);
    error_names(&r, "DELETE ghost", "no session \"ghost\"", (const char *)NULL);
    mt_response_free(&r);
    /* nothing above made or ended a session */
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "live"), 2);
    assert_int_equal(mt_jint(l, "created"), 2);
    json_decref(l);
    sexpect(h, &s, &live, SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);

    /* the refusals for unknown sessions are journaled in default */
    mt_get(h, s.base, "/test/requests?status=404&include_test=1", &r);
    assert_int_equal(r.status, 200);
    json_t *j = mt_parse_json(r.body, r.len);
    json_t *es = json_object_get(j, "entries");
    if (json_array_size(es) < 5)
        fail_msg("default's journal has %zu 404s: %.*s", json_array_size(es), (int)r.len, (const char *)r.body);
    json_t *e0 = json_array_get(es, 0);
    assert_string_equal(mt_jstr(e0, "path"), "/v1/ping");
    assert_int_equal(mt_jint(e0, "status"), 404);
    json_t *e1 = json_array_get(es, 1);
    /* as sent: the prefix kept, so no filter of default's own mistakes it for one of its requests */
    const char *p1 = mt_jstr(e1, "path");
    static const char tail[] = "/v1/nodes/n1/heartbeat";
    size_t l1 = strlen(p1);
    assert_true(strncmp(p1, "/s/", 3) == 0 && l1 > sizeof tail - 1 &&
                strcmp(p1 + l1 - (sizeof tail - 1), tail) == 0);
    assert_int_equal(mt_jint(e1, "status"), 404);
    /* nothing was counted or captured in default */
    json_decref(j);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/last-request/heartbeat", &r);
    assert_int_equal(r.status, 404);
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* A redirect (the router cleans a path) keeps what selected the session:
 * the prefix in front of Location, the query's session=, so a client that
 * follows it stays in its session. Default's redirect is as before. */
static void ses_redirect_keeps_session(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses a;
    ses_make_id(h, &s, "rd", &a);
    mt_response r;
    static const struct {
        const char *path, *location;
    } cases[] = {
        {"/s/rd/v1//ping", "/s/rd/v1/ping"},
        {"/s/rd/v1/nodes/n1/../../ping", "/s/rd/v1/ping"},
        {"/s/rd/test//assertions?faults=1", "/s/rd/test/assertions?faults=1"},
        {"/test//assertions?session=rd", "/test/assertions?session=rd"},
        {"/test//requests?limit=1&session=rd&path=/x", "/test/requests?limit=1&session=rd&path=/x"},
        {"/v1//ping", "/v1/ping"}, /* default: as before sessions */
        {"/v1//ping?session=rd", "/v1/ping?session=rd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mt_request rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = cases[i].path;
        mt_perform(h, s.base, &rq, &r);
        const char *loc = mt_header_get(&r, "Location");
        if (r.status != 301 || !loc || strcmp(loc, cases[i].location) != 0)
            fail_msg("GET %s: %ld, Location %s; want 301 to %s", cases[i].path, r.status, loc ? loc : "(none)",
                     cases[i].location);
        mt_response_free(&r);
        /* where it leads is served (in the session) */
        mt_get(h, s.base, cases[i].location, &r);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(listed(l, "rd"), "requests"), 10); /* 5 redirects and their 5 targets */
    json_decref(l);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 9. a parked wait whose session ends ----------------------------------- */

typedef struct waiter {
    const mt_server *s;
    ses x;
    int sel;
    const char *path;
    mt_response r;
    int64_t done_ms;
} waiter;

static void *waiter_run(void *arg)
{
    waiter *w = arg;
    CURL *h = curl_easy_init();
    sreq(h, w->s, &w->x, w->sel, "GET", w->path, NULL, &w->r);
    w->done_ms = mt_now_ms();
    curl_easy_cleanup(h);
    return NULL;
}

static void ses_parked_wait_session_deleted(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses a, b;
    ses_make_id(h, &s, "parked", &a);
    ses_make_id(h, &s, "bystander", &b);
    waiter w[3] = {
        {.s = &s, .x = a, .sel = SEL_HEADER, .path = "/test/wait?counter=heartbeat_count&value=1&timeout_ms=15000"},
        {.s = &s, .x = a, .sel = SEL_PREFIX, .path = "/test/sse/wait?clients=3&timeout_ms=15000"},
        {.s = &s, .x = b, .sel = SEL_PREFIX, .path = "/test/wait?counter=heartbeat_count&value=1&timeout_ms=15000"},
    };
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, waiter_run, &w[i]), 0);
    int64_t dl = mt_now_ms() + WAIT_MS;
    bool parked = session_waiters_reach(&s, "parked", 2, dl) && session_waiters_reach(&s, "bystander", 1, dl);
    int64_t t0 = mt_now_ms();
    mt_response r;
    mt_send(h, s.base, "DELETE", "/test/sessions/parked", NULL, &r);
    long del = r.status;
    mt_response_free(&r);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    /* the bystander's wait is still parked; a heartbeat in its session ends it */
    char hb[512];
    hb_body(hb, sizeof hb, "bystander", 0);
    sexpect(h, &s, &b, SEL_HEADER, "POST", "/v1/nodes/n1/heartbeat", hb, 200, NULL);
    pthread_join(th[2], NULL);
    assert_true(parked);
    assert_int_equal(del, 200);
    for (int i = 0; i < 2; i++) {
        if (mt_timing_on() && w[i].done_ms - t0 > 3000)
            fail_msg("wait %d answered %lld ms after its session ended", i, (long long)(w[i].done_ms - t0));
        /* its session is gone: as for any request naming it */
        if (w[i].r.status != 404)
            fail_msg("wait %d (%s): %ld, want 404 (%.*s)", i, w[i].path, w[i].r.status, (int)w[i].r.len,
                     (const char *)w[i].r.body);
        error_names(&w[i].r, "the parked wait", "no session \"parked\"", (const char *)NULL);
        mt_response_free(&w[i].r);
    }
    /* the bystander's wait was met in its own session, and only there */
    assert_int_equal(w[2].r.status, 200);
    json_t *j = mt_parse_json(w[2].r.body, w[2].r.len);
    assert_true(json_is_true(json_object_get(j, "met")));
    assert_int_equal(mt_jint(j, "value"), 1);
    json_decref(j);
    mt_response_free(&w[2].r);
    /* the bystander served two requests: the wait (parked, checked again
     * when met: one request) and the heartbeat */
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(listed(l, "bystander"), "requests"), 2);
    assert_null(listed(l, "parked"));
    json_decref(l);
    rc_healthy(&s, false, "after the parked waits' session ended");
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* A wait parked in a session is a request in progress: the session is not
 * idle while it waits, however long past its TTL, and its idle clock
 * starts again when the wait is answered. */
static void ses_ttl_parked_wait_keeps_alive(void **st)
{
    (void)st;
    mt_timing_test();
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses a;
    ses_make(h, &s, "{\"id\":\"tw\",\"ttl_ms\":200}", &a);
    waiter w = {.s = &s, .x = a, .sel = SEL_HEADER,
                .path = "/test/wait?counter=heartbeat_count&value=1&timeout_ms=5000"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
    bool parked = session_waiters_reach(&s, "tw", 1, mt_now_ms() + WAIT_MS);
    /* three TTLs of other traffic (each request may sweep) */
    int64_t t0 = mt_now_ms(), lost = 0;
    while (parked && !lost && mt_now_ms() - t0 < 600) {
        json_t *l = sessions_list(h, &s);
        if (!listed(l, "tw"))
            lost = mt_now_ms() - t0;
        json_decref(l);
        poll_pause();
    }
    char hb[512];
    hb_body(hb, sizeof hb, "tw", 0);
    int64_t t_hb = mt_now_ms();
    mt_response r;
    sreq(h, &s, &a, SEL_HEADER, "POST", "/v1/nodes/n1/heartbeat", hb, &r);
    long hbst = r.status;
    mt_response_free(&r);
    pthread_join(th, NULL);
    assert_true(parked);
    if (lost)
        fail_msg("the session ended %lld ms into a wait parked on it (TTL 200 ms); the wait got %ld %.*s",
                 (long long)lost, w.r.status, (int)w.r.len, (const char *)w.r.body);
    assert_int_equal(hbst, 200);
    assert_int_equal(w.r.status, 200);
    json_t *j = mt_parse_json(w.r.body, w.r.len);
    assert_true(json_is_true(json_object_get(j, "met")));
    json_decref(j);
    mt_response_free(&w.r);
    /* nothing running in it any more: it ends a TTL after its last request */
    int64_t deadline = mt_now_ms() + 5000;
    for (;;) {
        json_t *l = sessions_list(h, &s);
        bool there = listed(l, "tw") != NULL;
        json_decref(l);
        int64_t now = mt_now_ms();
        if (!there) {
            if (now - t_hb < 195)
                fail_msg("tw ended %lld ms after its last request (TTL 200 ms)", (long long)(now - t_hb));
            break;
        }
        if (now >= deadline)
            fail_msg("tw still listed %lld ms after its last request", (long long)(now - t_hb));
        poll_pause();
    }
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 10. the C API --------------------------------------------------------- */

typedef struct api_waiter {
    mockapi_session *h;
    int rc;
    int64_t value, done_ms;
} api_waiter;

static void *api_wait_run(void *arg)
{
    api_waiter *w = arg;
    w->rc = mockapi_session_wait(w->h, "counter=heartbeat_count&value=100", 15000, &w->value);
    w->done_ms = mt_now_ms();
    return NULL;
}

static void ses_c_api(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    char err[300] = "";
    mockapi_session *a = NULL, *b = NULL, *a2 = NULL, *d = NULL;
    mockapi_session_config cfg = {.id = "capi", .name = "the C API", .ttl_ms = 0};
    assert_int_equal(mockapi_session_create(s.m, &cfg, &a, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_session_create(s.m, NULL, &b, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_session_create(s.m, &cfg, &a2, err, sizeof err), MOCKAPI_EEXIST);
    assert_null(a2);
    assert_non_null(strstr(err, "exists"));
    mockapi_session_config badcfg = {.id = "no spaces"};
    assert_int_equal(mockapi_session_create(s.m, &badcfg, &a2, err, sizeof err), MOCKAPI_EINVAL);
    mockapi_session_config badstate = {.state_json = "{\"peers\":7}", .state_len = 11};
    assert_int_equal(mockapi_session_create(s.m, &badstate, &a2, err, sizeof err), MOCKAPI_EJSON);
    assert_null(a2);
    assert_string_equal(mockapi_session_id(a), "capi");
    assert_int_equal(strlen(mockapi_session_id(b)), 12);
    assert_int_equal(strlen(mockapi_session_nsk(a)), 32);
    assert_string_not_equal(mockapi_session_nsk(a), mockapi_session_nsk(b));
    assert_string_not_equal(mockapi_session_bearer_token(a), mockapi_session_bearer_token(b));
    assert_true(mockapi_session_live(a));
    assert_int_equal(mockapi_session_open(s.m, "capi", &a2), MOCKAPI_OK);
    assert_int_equal(mockapi_session_open(s.m, "nope", &d), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_session_open(s.m, "default", &d), MOCKAPI_OK);
    assert_int_equal(mockapi_session_end(d), MOCKAPI_EINVAL); /* default never ends */
    assert_int_equal(mockapi_session_end(NULL), MOCKAPI_EINVAL);

    /* urls: the session's base is the listener's and its prefix */
    char url[256], want[256];
    int n = mockapi_session_url(a, MOCKAPI_LISTENER_HTTP, url, sizeof url);
    snprintf(want, sizeof want, "%s/s/capi", s.base);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(url, want);
    assert_int_equal(mockapi_session_url(d, MOCKAPI_LISTENER_HTTP, url, sizeof url), (int)strlen(s.base));
    assert_string_equal(url, s.base);
    char small[10];
    assert_true(mockapi_session_url(a, MOCKAPI_LISTENER_HTTP, small, sizeof small) < 0);
    char tls[256];
    assert_true(mockapi_session_url(a, MOCKAPI_LISTENER_TLS, tls, sizeof tls) < 0); /* no TLS listener */
    char abase[256];
    assert_int_equal(mockapi_session_url(a, MOCKAPI_LISTENER_HTTP, abase, sizeof abase), n);

    /* fixtures and faults per session */
    unsigned char *state = NULL;
    size_t sn = 0;
    assert_int_equal(mt_golden("state", s.key, &state, &sn), 0);
    char *env = strstr((char *)state, "\"e2e-test\"");
    assert_non_null(env);
    memcpy(env, "\"capi-env\"", 10);
    assert_int_equal(mockapi_session_set_state(a, (const char *)state, sn, err, sizeof err), MOCKAPI_OK);
    free(state);
    assert_int_equal(mockapi_session_set_state(a, "{\"peers\":7}", 11, err, sizeof err), MOCKAPI_EJSON);
    int fid = 0;
    assert_int_equal(mockapi_session_fault_add(a, "heartbeat", "POST", "status=503", 0, &fid, err, sizeof err),
                     MOCKAPI_OK);
    assert_true(fid > 0);
    assert_int_equal(mockapi_session_set_heartbeat(b, false, true), MOCKAPI_OK);
    mt_response r;
    mt_get(h, abase, "/v1/nodes/n1/state", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "capi-env"));
    mt_response_free(&r);
    char *js = NULL;
    size_t jl = 0;
    assert_int_equal(mockapi_session_get_state(a, &js, &jl), MOCKAPI_OK);
    assert_non_null(strstr(js, "capi-env"));
    free(js);
    js = NULL;
    assert_int_equal(mockapi_session_get_state(d, &js, &jl), MOCKAPI_OK);
    assert_null(strstr(js, "capi-env"));
    free(js);
    js = NULL;
    ses xa = {.id = "capi"}, xb;
    snprintf(xb.id, sizeof xb.id, "%s", mockapi_session_id(b));
    char hb[512];
    hb_body(hb, sizeof hb, "capi", 0);
    /* a's rule: a's heartbeats fail; b's and default's do not */
    sexpect(h, &s, &xa, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 503, NULL);
    sexpect(h, &s, &xb, SEL_HEADER, "POST", "/v1/nodes/n1/heartbeat", hb, 200, &r);
    body_is(&r, "{\"reconcile\":false,\"rotate_keys\":true}\n", "b's heartbeat fixture");
    mt_response_free(&r);
    mt_send(h, s.base, "POST", "/v1/nodes/n1/heartbeat", hb, &r);
    assert_int_equal(r.status, 200);
    golden_is(&r, "heartbeat", s.key);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/faults", &r);
    assert_int_equal(r.status, 200);
    json_t *j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "rules")), 0);
    json_decref(j);
    mt_response_free(&r);
    sexpect(h, &s, &xa, SEL_HEADER, "GET", "/test/faults", NULL, 200, &r);
    j = mt_parse_json(r.body, r.len);
    assert_int_equal(json_array_size(json_object_get(j, "rules")), 1);
    json_decref(j);
    mt_response_free(&r);
    assert_int_equal(mockapi_session_fault_delete(a, fid), MOCKAPI_OK);
    assert_int_equal(mockapi_session_fault_delete(a, fid), MOCKAPI_ENOTFOUND);
    /* a path rule sees the path without the session's prefix */
    assert_int_equal(mockapi_session_fault_add(a, "/v1/nodes/*/heartbeat", NULL, "status=500", 0, NULL, err,
                                               sizeof err),
                     MOCKAPI_OK);
    sexpect(h, &s, &xa, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 500, NULL);
    sexpect(h, &s, &xb, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 200, NULL);
    assert_int_equal(mockapi_session_fault_clear(a), MOCKAPI_OK);
    hb_body(hb, sizeof hb, "capi", 1);
    sexpect(h, &s, &xa, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 200, NULL);

    /* counters, capture, journal, wait: a's own (the 503 and 500 counted nothing) */
    assert_int_equal(mockapi_session_counter_get(a, MOCKAPI_HEARTBEAT_COUNT), 1);
    assert_int_equal(mockapi_session_counter_get(b, MOCKAPI_HEARTBEAT_COUNT), 2);
    assert_int_equal(mockapi_session_counter_get(a2, MOCKAPI_HEARTBEAT_COUNT), 1); /* the same session */
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 1);
    char *body = NULL;
    size_t bl = 0;
    assert_int_equal(mockapi_session_last_request(a, "heartbeat", &body, &bl), MOCKAPI_OK);
    assert_int_equal(bl, strlen(hb));
    assert_memory_equal(body, hb, bl);
    free(body);
    body = NULL;
    assert_int_equal(mockapi_session_last_request(a, "register", &body, &bl), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_session_requests(a, "path=/v1/nodes/n1/heartbeat", &js, &jl), MOCKAPI_OK);
    j = mt_parse_json(js, jl);
    json_t *es = json_object_get(j, "entries");
    assert_int_equal(json_array_size(es), 3);
    assert_int_equal(mt_jint(json_array_get(es, 0), "status"), 503);
    assert_int_equal(mt_jint(json_array_get(es, 1), "status"), 500);
    assert_string_equal(mt_jstr(json_object_get(json_array_get(es, 1), "fault"), "source"), "rule");
    assert_string_equal(mt_jstr(json_array_get(es, 2), "session"), "capi");
    json_decref(j);
    free(js);
    js = NULL;
    assert_int_equal(mockapi_session_requests(a, "bogus=1", &js, &jl), MOCKAPI_EINVAL);
    int64_t v = -1;
    assert_int_equal(mockapi_session_wait(a, "counter=heartbeat_count&value=1", 1000, &v), MOCKAPI_OK);
    assert_int_equal(v, 1);
    assert_int_equal(mockapi_session_wait(a, "counter=heartbeat_count&value=2", 0, &v), MOCKAPI_ETIMEDOUT);
    assert_int_equal(mockapi_session_wait(a, "counter=nope", 0, &v), MOCKAPI_EINVAL);
    /* reset: a only */
    assert_int_equal(mockapi_session_reset(a), MOCKAPI_OK);
    assert_int_equal(mockapi_session_counter_get(a, MOCKAPI_HEARTBEAT_COUNT), 0);
    assert_int_equal(mockapi_session_counter_get(b, MOCKAPI_HEARTBEAT_COUNT), 2);
    sexpect(h, &s, &xa, SEL_PREFIX, "POST", "/v1/nodes/n1/heartbeat", hb, 200, NULL);

    /* a wait blocked in a when a ends returns at once */
    api_waiter aw = {.h = a, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, api_wait_run, &aw), 0);
    bool parked = session_waiters_reach(&s, "capi", 1, mt_now_ms() + WAIT_MS);
    int64_t t0 = mt_now_ms();
    assert_int_equal(mockapi_session_end(a2), MOCKAPI_OK); /* through the second handle */
    pthread_join(th, NULL);
    assert_true(parked);
    if (mt_timing_on() && aw.done_ms - t0 > 3000)
        fail_msg("the blocked wait returned %lld ms after its session ended", (long long)(aw.done_ms - t0));
    assert_int_equal(aw.rc, MOCKAPI_ETIMEDOUT);
    assert_int_equal(aw.value, 1);

    /* ended: the handles still read what the session had */
    assert_false(mockapi_session_live(a));
    assert_false(mockapi_session_live(a2));
    assert_int_equal(mockapi_session_end(a), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_session_counter_get(a, MOCKAPI_HEARTBEAT_COUNT), 1);
    assert_int_equal(mockapi_session_last_request(a, "heartbeat", &body, &bl), MOCKAPI_OK);
    assert_memory_equal(body, hb, bl);
    free(body);
    assert_int_equal(mockapi_session_requests(a, NULL, &js, &jl), MOCKAPI_OK);
    j = mt_parse_json(js, jl);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
    json_decref(j);
    free(js);
    assert_string_equal(mockapi_session_id(a), "capi");
    assert_int_equal(strlen(mockapi_session_nsk(a)), 32);
    assert_int_equal(mockapi_session_wait(a, "counter=heartbeat_count&value=1", 100, &v), MOCKAPI_OK);
    mockapi_session *gone = NULL;
    assert_int_equal(mockapi_session_open(s.m, "capi", &gone), MOCKAPI_ENOTFOUND);
    sexpect(h, &s, &xa, SEL_PREFIX, "GET", "/v1/ping", NULL, 404, NULL);
    /* b was not touched */
    assert_true(mockapi_session_live(b));
    sexpect(h, &s, &xb, SEL_PREFIX, "GET", "/v1/ping", NULL, 200, NULL);
    mockapi_session_free(a);
    mockapi_session_free(a2);
    mockapi_session_free(d);
    mockapi_session_free(NULL);
    assert_int_equal(mockapi_session_end(b), MOCKAPI_OK);
    mockapi_session_free(b);
    json_t *l = sessions_list(h, &s);
    assert_int_equal(mt_jint(l, "live"), 0);
    json_decref(l);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* The C API on an instance never started (no hub, no listeners), and a
 * handle that outlives its instance: readable until freed. */
static void ses_api_unstarted(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    mockapi *m = NULL;
    char err[256] = "";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    mockapi_session *a = NULL, *b = NULL;
    mockapi_session_config sc = {.id = "early", .ttl_ms = 100000};
    assert_int_equal(mockapi_session_create(m, &sc, &a, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_session_create(m, NULL, &b, err, sizeof err), MOCKAPI_OK);
    int fid = 0;
    assert_int_equal(mockapi_session_fault_add(a, "heartbeat", NULL, "status=503", 0, &fid, err, sizeof err),
                     MOCKAPI_OK);
    assert_int_equal(mockapi_session_set_heartbeat(a, false, true), MOCKAPI_OK);
    assert_int_equal(mockapi_session_counter_get(a, MOCKAPI_HEARTBEAT_COUNT), 0);
    char url[128];
    assert_true(mockapi_session_url(a, MOCKAPI_LISTENER_HTTP, url, sizeof url) < 0); /* not listening */
    int64_t v = -1;
    assert_int_equal(mockapi_session_wait(a, "counter=heartbeat_count&value=1", 0, &v), MOCKAPI_ETIMEDOUT);
    assert_int_equal(mockapi_session_end(a), MOCKAPI_OK);
    assert_false(mockapi_session_live(a));
    assert_int_equal(mockapi_session_reset(a), MOCKAPI_OK); /* an ended session's own state: harmless */
    mockapi_session_free(a);
    /* b outlives the instance */
    mockapi_free(m);
    assert_int_equal(mockapi_session_counter_get(b, MOCKAPI_HEARTBEAT_COUNT), 0);
    assert_int_equal(strlen(mockapi_session_nsk(b)), 32);
    mockapi_session_free(b);
}

/* ---- ending a session while clients use it (TSan) ------------------------ */

typedef struct user {
    const mt_server *s;
    ses x;
    int sel;
    atomic_int ok;
    atomic_bool finished; /* it stopped: a 404, another status, or its deadline */
    bool saw_404;         /* read after the join */
    char err[300];
} user;

static void *user_run(void *arg)
{
    user *u = arg;
    CURL *h = curl_easy_init();
    char hb[512];
    hb_body(hb, sizeof hb, u->x.id, 0);
    int64_t deadline = mt_now_ms() + 20000;
    while (mt_now_ms() < deadline) {
        mt_response r;
        sreq(h, u->s, &u->x, u->sel, "POST", "/v1/nodes/n1/heartbeat", hb, &r);
        long st = r.status;
        bool named = st == 404 && strstr((const char *)r.body, "no session");
        mt_response_free(&r);
        if (st == 200) {
            atomic_fetch_add(&u->ok, 1);
        } else if (named) {
            u->saw_404 = true;
            break;
        } else {
            snprintf(u->err, sizeof u->err, "status %ld (neither 200 nor its session's 404)", st);
            break;
        }
    }
    atomic_store(&u->finished, true);
    curl_easy_cleanup(h);
    return NULL;
}

/* A handle's reader while its session ends. */
typedef struct reader {
    mockapi_session *h;
    atomic_bool *stop;
    atomic_int reads;
} reader;

static void *reader_run(void *arg)
{
    reader *rd = arg;
    while (!atomic_load(rd->stop)) {
        char *js = NULL, *b = NULL;
        size_t n = 0;
        (void)mockapi_session_counter_get(rd->h, MOCKAPI_HEARTBEAT_COUNT);
        if (mockapi_session_requests(rd->h, "limit=5", &js, &n) == MOCKAPI_OK)
            free(js);
        if (mockapi_session_last_request(rd->h, "heartbeat", &b, &n) == MOCKAPI_OK)
            free(b);
        atomic_fetch_add(&rd->reads, 1);
    }
    return NULL;
}

static void ses_end_under_load(void **st)
{
    (void)st;
    /* a load test: under valgrind (one CPU, threads serialised) the DELETE
     * can wait out its client's deadline behind the load; ASan and TSan
     * run it */
    mt_timing_test();
    mt_server s;
    rc_start(&s, NULL, false);
    CURL *h = curl_easy_init();
    ses x;
    ses_make_id(h, &s, "busy", &x);
    mockapi_session *hs = NULL;
    assert_int_equal(mockapi_session_open(s.m, "busy", &hs), MOCKAPI_OK);
    enum { U = 3 };
    user u[U];
    pthread_t th[U], rt;
    atomic_bool stop = false;
    reader rd = {.h = hs, .stop = &stop};
    for (int i = 0; i < U; i++) {
        memset(&u[i], 0, sizeof u[i]);
        u[i].s = &s;
        u[i].x = x;
        u[i].sel = i == 1 ? SEL_HEADER : SEL_PREFIX;
        assert_int_equal(pthread_create(&th[i], NULL, user_run, &u[i]), 0);
    }
    assert_int_equal(pthread_create(&rt, NULL, reader_run, &rd), 0);
    /* every client is through a few times and the reader has read, then the
     * session ends under them */
    int64_t dl = mt_now_ms() + 60000; /* generous: under valgrind next to two more valgrinds */
    for (int i = 0; i < U; i++)
        while (atomic_load(&u[i].ok) < 2 && !atomic_load(&u[i].finished) && mt_now_ms() < dl)
            poll_pause();
    while (atomic_load(&rd.reads) == 0 && mt_now_ms() < dl)
        poll_pause();
    int reads_before = atomic_load(&rd.reads);
    mt_response r;
    mt_send(h, s.base, "DELETE", "/test/sessions/busy", NULL, &r);
    long del = r.status;
    mt_response_free(&r);
    for (int i = 0; i < U; i++)
        pthread_join(th[i], NULL);
    while (atomic_load(&rd.reads) <= reads_before + 1 && mt_now_ms() < dl) /* and reads on after the end */
        poll_pause();
    atomic_store(&stop, true);
    pthread_join(rt, NULL);
    assert_int_equal(del, 200);
    int64_t total = 0;
    for (int i = 0; i < U; i++) {
        if (u[i].err[0] || !u[i].saw_404)
            fail_msg("client %d: %s (ok %d)", i, u[i].err[0] ? u[i].err : "never saw the 404", atomic_load(&u[i].ok));
        assert_true(atomic_load(&u[i].ok) >= 2);
        total += atomic_load(&u[i].ok);
    }
    /* every heartbeat answered 200 was counted in the session, and nowhere else */
    assert_int_equal(mockapi_session_counter_get(hs, MOCKAPI_HEARTBEAT_COUNT), total);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    assert_true(reads_before > 0);
    assert_true(atomic_load(&rd.reads) > reads_before + 1);
    mockapi_session_free(hs);
    rc_healthy(&s, false, "after the session ended under load");
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

int mt_run_session_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(ses_parallel_selectors, rc_teardown),
        cmocka_unit_test_teardown(ses_reset_scopes, rc_teardown),
        cmocka_unit_test_teardown(ses_ttl, rc_teardown),
        cmocka_unit_test_teardown(ses_cap, rc_teardown),
        cmocka_unit_test_teardown(ses_journal_bytes, rc_teardown),
        cmocka_unit_test_teardown(ses_required_mode, rc_teardown),
        cmocka_unit_test_teardown(ses_off_mode, rc_teardown),
        cmocka_unit_test_teardown(ses_agent_by_base_url, rc_teardown),
        cmocka_unit_test_teardown(ses_default_stays_golden, rc_teardown),
        cmocka_unit_test_teardown(ses_created_with_fixtures, rc_teardown),
        cmocka_unit_test_teardown(ses_unknown_and_bad_ids, rc_teardown),
        cmocka_unit_test_teardown(ses_redirect_keeps_session, rc_teardown),
        cmocka_unit_test_teardown(ses_parked_wait_session_deleted, rc_teardown),
        cmocka_unit_test_teardown(ses_ttl_parked_wait_keeps_alive, rc_teardown),
        cmocka_unit_test_teardown(ses_c_api, rc_teardown),
        cmocka_unit_test(ses_api_unstarted),
        cmocka_unit_test_teardown(ses_end_under_load, rc_teardown),
    };
    return cmocka_run_group_tests_name("sessions", tests, NULL, NULL);
}
