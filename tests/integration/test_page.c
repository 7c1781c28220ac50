/* test_page.c: the live page's server side (README "The live page"),
 * tests named pg_*:
 *
 *  - the feed, GET /test/events: its head (retry, hello), one `requests`
 *    event per batch whose entries are exactly GET /test/requests' objects
 *    and whose id is the last seq examined, /test/ requests left out unless
 *    include_test, `counters` with only what moved;
 *  - resume: Last-Event-ID and since give every entry after the position
 *    once, in order (Last-Event-ID wins); `gap` for what was evicted while
 *    away; `reset` when the journal was cleared (live, or in the head of a
 *    stream resumed from before it);
 *  - batching: a burst comes in few frames of <= 512 entries, a steady load
 *    is flushed at most ~10 times a second, a 10,000-entry backlog arrives
 *    whole;
 *  - a feed that does not read is ended at the stall deadline, without
 *    slowing requests or other feeds; an open feed costs the server's
 *    threads no wake per request (pg_feed_wakes); /test/ requests passed
 *    over move the page's position (an id alone), so they are no gap;
 *  - however a feed ends (the page, disconnect, stall, session end, server
 *    stop) its feed count and session reference are given back, and a
 *    storm of pages coming and going amid resets, disconnects and session
 *    ends gets a head (200) every time;
 *  - sessions: a feed sees its session only and ends with it;
 *    POST /test/sse/disconnect?feed=1 ends feeds only, without it node
 *    streams only; /test/sse neither lists nor counts feeds;
 *  - the page (GET /test/, a browser's Accept on any /test/ page, the
 *    redirects of "/" and "/test", HEAD, its no-JavaScript view escaped);
 *  - the browser guard, the admin token's cookie, hostile feed input and
 *    the stream cap.
 * The wire-exact refusals (query errors, guard bodies, the CA without TLS,
 * Accept negotiation) are tests/cases/page_*.case. Every wait has a
 * deadline; nothing sleeps to synchronise. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"
#include "server.h"
#include "session.h"
#include "sse_client.h"

enum { WAIT_MS = 15000 };

/* ---- requests ---------------------------------------------------------- */

/* One request with up to 4 extra header lines (NULL-terminated list) and an
 * optional body; the response in *r (free it), the status returned. */
static long req(const mt_server *s, const char *method, const char *path, const char *const *hdrs,
                const char *body, mt_response *r)
{
    size_t nh = 0;
    while (hdrs && hdrs[nh])
        nh++;
    mt_request rq = {.method = method, .path = path, .headers = hdrs, .nheaders = nh, .body = body,
                     .body_len = body ? strlen(body) : 0, .send_body = body != NULL, .timeout_ms = WAIT_MS};
    mt_perform(NULL, s->base, &rq, r);
    return r->status;
}

/* The same, the response dropped. */
static long call(const mt_server *s, const char *method, const char *path, const char *const *hdrs,
                 const char *body)
{
    mt_response r;
    long st = req(s, method, path, hdrs, body, &r);
    mt_response_free(&r);
    return st;
}

/* n pings on one connection, pipelined in chunks (a chunk's answers read
 * before the next is sent: nobody's buffers fill up). */
static void pings(const mt_server *s, int n)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    for (int done = 0; done < n;) {
        int k = n - done < 500 ? n - done : 500;
        char *p = rc_pings(k);
        rc_send(c, p);
        free(p);
        rc_expect_pings(c, k, "pings");
        done += k;
    }
    rc_close(c);
}

/* A counter's value from GET /test/assertions (session path prefix pre). */
static int64_t counter(const mt_server *s, const char *name)
{
    mt_response r;
    assert_int_equal(req(s, "GET", "/test/assertions", NULL, NULL, &r), 200);
    int64_t v = -1;
    assert_int_equal(mt_assertion_value(r.body, r.len, name, &v), 0);
    mt_response_free(&r);
    return v;
}

/* GET path (a /test/requests query): its "entries" array (json_decref the
 * returned object; *entries borrowed from it). */
static json_t *journal(const mt_server *s, const char *path, json_t **entries)
{
    mt_response r;
    assert_int_equal(req(s, "GET", path, NULL, NULL, &r), 200);
    json_t *j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    *entries = json_object_get(j, "entries");
    assert_non_null(*entries);
    return j;
}

/* ---- the feed ---------------------------------------------------------- */

static void feed_open_port(sse_client *c, int port, const char *path, const char *const *hdrs)
{
    size_t nh = 0;
    while (hdrs && hdrs[nh])
        nh++;
    int st = sse_open(c, port, path, hdrs, nh, mt_now_ms() + WAIT_MS);
    if (st != 200)
        fail_msg("GET %s: status %d, head [%s]", path, st, c->head ? c->head : "");
    const char *ct = sse_header(c, "Content-Type");
    if (!ct || strcmp(ct, "text/event-stream") != 0)
        fail_msg("GET %s: Content-Type %s", path, ct ? ct : "(none)");
}

static void feed_open(sse_client *c, const mt_server *s, const char *path, const char *const *hdrs)
{
    feed_open_port(c, rc_http_port(s), path, hdrs);
}

/* The next frame, by WAIT_MS; fails the test on the deadline or the end. */
static void next_ev(sse_client *c, sse_event *ev, const char *what)
{
    int r = sse_next(c, ev, mt_now_ms() + WAIT_MS);
    if (r != 1)
        fail_msg("%s: no frame (%s) after %d frames", what, r == 0 ? "deadline" : "stream ended", (int)c->frames);
}

/* The next frame must be `event` (the data parsed into *data when data). */
static void expect_ev(sse_client *c, const char *event, json_t **data, const char *what)
{
    sse_event ev;
    next_ev(c, &ev, what);
    if (!ev.event || strcmp(ev.event, event) != 0) {
        char *sh = mt_show(ev.raw, ev.raw_len);
        fail_msg("%s: a %s event, not [%s]", what, event, sh);
    }
    if (ev.ndata != 1)
        fail_msg("%s: %zu data lines, not 1", what, ev.ndata);
    if (data)
        *data = mt_parse_json(ev.data, strlen(ev.data));
    sse_event_free(&ev);
}

/* The stream's head: "retry: 1000" then hello (returned; json_decref it). */
static json_t *expect_head(sse_client *c)
{
    sse_event ev;
    next_ev(c, &ev, "retry");
    if (ev.raw_len != 13 || memcmp(ev.raw, "retry: 1000\n\n", 13) != 0) {
        char *sh = mt_show(ev.raw, ev.raw_len);
        fail_msg("the first frame is [%s], not retry: 1000", sh);
    }
    sse_event_free(&ev);
    next_ev(c, &ev, "hello");
    if (!ev.event || strcmp(ev.event, "hello") != 0 || ev.id) {
        char *sh = mt_show(ev.raw, ev.raw_len);
        fail_msg("the second frame is [%s], not hello (without id)", sh);
    }
    json_t *j = mt_parse_json(ev.data, strlen(ev.data));
    sse_event_free(&ev);
    return j;
}

/* What a feed delivered, event by event. */
typedef struct got {
    json_t *entries; /* every entry of every requests event, in order */
    int frames;      /* requests events */
    size_t max_batch;
    uint64_t last_id;
    json_t *gap, *reset, *counters; /* the last of each (NULL: none) */
    int ngaps, nresets;
    int idonly; /* frames with an id alone (/test/ requests passed over) */
} got;

static void got_init(got *g)
{
    memset(g, 0, sizeof *g);
    g->entries = json_array();
}

static void got_free(got *g)
{
    json_decref(g->entries);
    json_decref(g->gap);
    json_decref(g->reset);
    json_decref(g->counters);
    memset(g, 0, sizeof *g);
}

/* Reads one frame into g: 1, or 0 on the deadline, -1 at the end. A
 * requests event is checked: an id no smaller than its last entry's seq,
 * growing from frame to frame, and at most 512 entries. */
static int got_one(sse_client *c, got *g, int64_t deadline)
{
    sse_event ev;
    int r = sse_next(c, &ev, deadline);
    if (r != 1)
        return r;
    json_t *d = ev.data ? mt_parse_json(ev.data, strlen(ev.data)) : NULL;
    const char *e = ev.event ? ev.event : "";
    if (strcmp(e, "requests") == 0) {
        assert_true(json_is_array(d));
        size_t n = json_array_size(d);
        assert_true(n >= 1 && n <= 512);
        assert_non_null(ev.id);
        uint64_t id = strtoull(ev.id, NULL, 10);
        uint64_t lastseq = (uint64_t)json_integer_value(json_object_get(json_array_get(d, n - 1), "seq"));
        if (id < lastseq || (g->frames && id <= g->last_id && !g->nresets))
            fail_msg("requests event id %llu: its last entry is seq %llu, the previous id %llu",
                     (unsigned long long)id, (unsigned long long)lastseq, (unsigned long long)g->last_id);
        g->last_id = id;
        g->frames++;
        if (n > g->max_batch)
            g->max_batch = n;
        json_array_extend(g->entries, d);
        json_decref(d);
    } else if (!ev.event && !ev.data && ev.id) {
        uint64_t id = strtoull(ev.id, NULL, 10);
        if (id <= g->last_id && !g->nresets)
            fail_msg("an id-only frame %llu after id %llu", (unsigned long long)id, (unsigned long long)g->last_id);
        g->last_id = id;
        g->idonly++;
    } else if (strcmp(e, "gap") == 0) {
        assert_null(ev.id);
        json_decref(g->gap);
        g->gap = d;
        g->ngaps++;
    } else if (strcmp(e, "reset") == 0) {
        json_decref(g->reset);
        g->reset = d;
        g->nresets++;
    } else if (strcmp(e, "counters") == 0) {
        assert_null(ev.id);
        json_decref(g->counters);
        g->counters = d;
    } else {
        char *sh = mt_show(ev.raw, ev.raw_len);
        fail_msg("an unexpected frame [%s]", sh);
    }
    sse_event_free(&ev);
    return 1;
}

/* The entries of route `route` in g (or all with route NULL). */
static size_t count_route(const json_t *entries, const char *route)
{
    size_t i, n = 0;
    json_t *x;
    json_array_foreach(entries, i, x)
    {
        const char *r = json_string_value(json_object_get(x, "route"));
        if (!route || (r && strcmp(r, route) == 0))
            n++;
    }
    return n;
}

/* Reads until g holds `want` entries of route (NULL: any), by WAIT_MS. */
static void got_until(sse_client *c, got *g, const char *route, size_t want, const char *what)
{
    int64_t dl = mt_now_ms() + WAIT_MS * 2;
    while (count_route(g->entries, route) < want) {
        int r = got_one(c, g, dl);
        if (r != 1)
            fail_msg("%s: %zu of %zu entries (%s), %d frames", what, count_route(g->entries, route), want,
                     r == 0 ? "deadline" : "stream ended", g->frames);
    }
}

static uint64_t seq_of(const json_t *e)
{
    return (uint64_t)json_integer_value(json_object_get(e, "seq"));
}

/* The entries of a (g's, a list) must be exactly those of b (GET
 * /test/requests'), same order, same objects. */
static void same_entries(const json_t *a, const json_t *b, const char *what)
{
    if (json_array_size(a) != json_array_size(b))
        fail_msg("%s: %zu entries, GET /test/requests has %zu", what, json_array_size(a), json_array_size(b));
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_equal(json_array_get(a, i), json_array_get(b, i))) {
            char *x = json_dumps(json_array_get(a, i), JSON_COMPACT);
            char *y = json_dumps(json_array_get(b, i), JSON_COMPACT);
            fail_msg("%s: entry %zu differs:\nfeed:     %s\nrequests: %s", what, i, x, y);
        }
}

/* The stream must end (EOF) by WAIT_MS, whatever frames come first. */
static void expect_end(sse_client *c, const char *what)
{
    int64_t dl = mt_now_ms() + WAIT_MS;
    for (;;) {
        sse_event ev;
        int r = sse_next(c, &ev, dl);
        if (r == 1) {
            sse_event_free(&ev);
            continue;
        }
        if (r == -1 && c->eof)
            return;
        fail_msg("%s: the stream did not end (%s)", what, r == 0 ? "deadline" : "read error");
    }
}

/* ---- the feed's frames ---------------------------------------------------- */

static void pg_hello_and_frames(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    assert_int_equal(call(&s, "POST", RC_HB_PATH, NULL, RC_HB_BODY), 200);
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    assert_string_equal(sse_header(&c, "Cache-Control"), "no-store");
    json_t *h = expect_head(&c);
    assert_string_equal(mt_jstr(h, "session"), "default");
    assert_int_equal(mt_jint(h, "epoch"), 0);
    assert_int_equal(mt_jint(h, "next_seq"), 3); /* the feed's own request is journaled after */
    assert_int_equal(mt_jint(h, "oldest_seq"), 1);
    json_t *cn = json_object_get(h, "counters");
    assert_int_equal(json_object_size(cn), MOCKAPI_COUNTER_COUNT);
    assert_int_equal(mt_jint(cn, "heartbeat_count"), 1);
    assert_int_equal(mt_jint(cn, "registration_count"), 0);
    json_decref(h);

    got g;
    got_init(&g);
    got_until(&c, &g, NULL, 2, "the two requests made before");
    assert_int_equal(g.frames, 1);
    json_t *all, *j = journal(&s, "/test/requests", &all);
    same_entries(g.entries, all, "the backlog");
    json_decref(j);
    assert_null(g.counters); /* the hello had them all: none moved */

    /* live: one request, one frame with it, then counters with the one that moved */
    assert_int_equal(call(&s, "POST", RC_HB_PATH, NULL, RC_HB_BODY), 200);
    got_until(&c, &g, "heartbeat", 2, "a live heartbeat");
    while (!g.counters)
        assert_int_equal(got_one(&c, &g, mt_now_ms() + WAIT_MS), 1);
    assert_int_equal(json_object_size(g.counters), 1);
    assert_int_equal(mt_jint(g.counters, "heartbeat_count"), 2);
    j = journal(&s, "/test/requests", &all);
    same_entries(g.entries, all, "after a live heartbeat");
    json_decref(j);
    /* the id is the last journal seq examined: the /test/ requests after
     * the heartbeat (left out) may be counted in it, never before it */
    assert_true(g.last_id >= seq_of(json_array_get(g.entries, 2)));
    got_free(&g);
    sse_close(&c);
}

static void pg_include_test(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    sse_client a, b;
    feed_open(&a, &s, "/test/events", NULL);
    feed_open(&b, &s, "/test/events?include_test=1", NULL);
    json_decref(expect_head(&a));
    json_decref(expect_head(&b));
    assert_int_equal(call(&s, "GET", "/test/assertions", NULL, NULL), 200);
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    got ga, gb;
    got_init(&ga);
    got_init(&gb);
    got_until(&a, &ga, "ping", 1, "the ping, without /test/");
    got_until(&b, &gb, "ping", 1, "the ping, with /test/");
    /* a: the ping only, and its id is at least the ping's (the /test/
     * entries before it were examined and skipped, not a gap) */
    assert_int_equal(json_array_size(ga.entries), 1);
    assert_int_equal(ga.ngaps, 0);
    /* b: both feeds' own requests, the assertions and the ping */
    assert_int_equal(count_route(gb.entries, "feed"), 2);
    assert_int_equal(count_route(gb.entries, "assertions"), 1);
    json_t *all, *j = journal(&s, "/test/requests?include_test=1", &all);
    for (size_t i = 0; i < json_array_size(gb.entries); i++) /* a prefix of the whole journal */
        assert_true(json_equal(json_array_get(gb.entries, i), json_array_get(all, i)));
    json_decref(j);
    got_free(&ga);
    got_free(&gb);
    sse_close(&a);
    sse_close(&b);
}

/* ---- resume -------------------------------------------------------------- */

/* Reads a feed opened at `path` with header hdr (NULL: none) until it has
 * every ping the journal has after seq `after`, and checks they are exactly
 * GET /test/requests' entries after it, once each, in order. */
static void resume_check(const mt_server *s, const char *path, const char *hdr, uint64_t after, size_t want)
{
    const char *hs[] = {hdr, NULL};
    sse_client c;
    feed_open(&c, s, path, hdr ? hs : NULL);
    json_t *h = expect_head(&c);
    json_decref(h);
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", want, path);
    assert_int_equal(g.ngaps, 0);
    assert_int_equal(g.nresets, 0);
    char q[64];
    snprintf(q, sizeof q, "/test/requests?since=%llu", (unsigned long long)after);
    json_t *all, *j = journal(s, q, &all);
    /* entries keep coming only if requests do: none after the pings */
    same_entries(g.entries, all, path);
    assert_true(seq_of(json_array_get(g.entries, 0)) == after + 1 || after == 0);
    json_decref(j);
    got_free(&g);
    sse_close(&c);
}

static void pg_resume_lossless(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    pings(&s, 5);
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 5, "the first five");
    uint64_t last = g.last_id;
    got_free(&g);
    sse_close(&c); /* the page goes away */

    pings(&s, 300);
    char leid[64];
    snprintf(leid, sizeof leid, "Last-Event-ID: %llu", (unsigned long long)last);
    resume_check(&s, "/test/events", leid, last, 300);
    char path[64];
    snprintf(path, sizeof path, "/test/events?since=%llu", (unsigned long long)last);
    resume_check(&s, path, NULL, last, 300);
    /* both: Last-Event-ID wins (since=0 would bring the first five too) */
    resume_check(&s, "/test/events?since=0", leid, last, 300);
    /* since=0: everything */
    resume_check(&s, "/test/events?since=0", NULL, 0, 305);
}

/* The page comes back while the requests keep coming: every entry once. */
static void pg_resume_under_load(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    uint64_t last = 0;
    json_t *seen = json_array();
    for (int round = 0; round < 5; round++) {
        sse_client c;
        char leid[64];
        snprintf(leid, sizeof leid, "Last-Event-ID: %llu", (unsigned long long)last);
        const char *hs[] = {leid, NULL};
        feed_open(&c, &s, "/test/events", round ? hs : NULL);
        json_decref(expect_head(&c));
        pings(&s, 100);
        got g;
        got_init(&g);
        got_until(&c, &g, "ping", 60, "some of the pings"); /* then away, mid-stream */
        last = g.last_id;
        json_array_extend(seen, g.entries);
        got_free(&g);
        /* the server ends it this time (the page's resume as tested by the page) */
        mt_response r;
        assert_int_equal(req(&s, "POST", "/test/sse/disconnect?feed=1", NULL, "", &r), 200);
        assert_string_equal((const char *)r.body, "{\"disconnected\":1}\n");
        mt_response_free(&r);
        expect_end(&c, "disconnect?feed=1");
        sse_close(&c);
    }
    /* what is left, then compare with the journal */
    char leid[64];
    snprintf(leid, sizeof leid, "Last-Event-ID: %llu", (unsigned long long)last);
    const char *hs[] = {leid, NULL};
    sse_client c;
    feed_open(&c, &s, "/test/events", hs);
    json_decref(expect_head(&c));
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 500 - count_route(seen, "ping"), "the rest");
    json_array_extend(seen, g.entries);
    got_free(&g);
    sse_close(&c);
    json_t *all, *j = journal(&s, "/test/requests", &all);
    same_entries(seen, all, "five pages, one after the other");
    json_decref(j);
    json_decref(seen);
}

static void pg_gap(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.journal_max_entries = 20;
    mt_server s;
    rc_start(&s, &cfg, false);
    pings(&s, 3);
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 3, "three pings");
    uint64_t last = g.last_id;
    got_free(&g);
    sse_close(&c);

    pings(&s, 50); /* 30 more than the journal keeps */
    char leid[64];
    snprintf(leid, sizeof leid, "Last-Event-ID: %llu", (unsigned long long)last);
    const char *hs[] = {leid, NULL};
    feed_open(&c, &s, "/test/events", hs);
    json_t *h = expect_head(&c);
    uint64_t oldest = (uint64_t)mt_jint(h, "oldest_seq");
    json_decref(h);
    assert_true(oldest > last + 1);
    got_init(&g);
    sse_event ev;
    /* the gap comes first, before any entry */
    assert_int_equal(got_one(&c, &g, mt_now_ms() + WAIT_MS), 1);
    assert_int_equal(g.ngaps, 1);
    assert_int_equal(g.frames, 0);
    uint64_t next = (uint64_t)mt_jint(g.gap, "next");
    assert_int_equal(mt_jint(g.gap, "after"), last);
    assert_true(next >= oldest); /* the feed's own entry may have evicted one more */
    assert_int_equal(mt_jint(g.gap, "missed"), next - last - 1);
    assert_int_equal(json_object_size(g.gap), 4);
    assert_string_equal(json_string_value(json_object_get(g.gap, "reason")), "evicted");
    /* then the rest: every ping the journal still has, from `next` on */
    char q[64];
    snprintf(q, sizeof q, "/test/requests?since=%llu", (unsigned long long)(next - 1));
    json_t *all, *j = journal(&s, q, &all);
    got_until(&c, &g, "ping", count_route(all, "ping"), "after the gap");
    same_entries(g.entries, all, "after the gap");
    assert_true(seq_of(json_array_get(g.entries, 0)) >= next);
    json_decref(j);
    (void)ev;
    got_free(&g);
    sse_close(&c);
}

/* /test/ requests passed over while the page is there move its position
 * on (an id alone), so their eviction while it is away is no gap: the
 * design says they are skipped silently. */
static void pg_skipped_not_gap(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.journal_max_entries = 20;
    mt_server s;
    rc_start(&s, &cfg, false);
    pings(&s, 3); /* seqs 1-3; the feed's own request is 4 */
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 3, "three pings");
    for (int i = 0; i < 30; i++) /* a test polls: seqs 5-34 */
        assert_int_equal(call(&s, "GET", "/test/assertions", NULL, NULL), 200);
    while (g.last_id < 34)
        if (got_one(&c, &g, mt_now_ms() + WAIT_MS) != 1)
            fail_msg("the position stays at %llu, the journal is at 34", (unsigned long long)g.last_id);
    assert_int_equal(g.last_id, 34);
    assert_int_equal(json_array_size(g.entries), 3);
    assert_true(g.idonly >= 1);
    uint64_t last = g.last_id;
    got_free(&g);
    sse_close(&c);
    /* more polling while away evicts what the page passed over */
    for (int i = 0; i < 10; i++)
        assert_int_equal(call(&s, "GET", "/test/assertions", NULL, NULL), 200);
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    char leid[64];
    snprintf(leid, sizeof leid, "Last-Event-ID: %llu", (unsigned long long)last);
    const char *hs[] = {leid, NULL};
    feed_open(&c, &s, "/test/events", hs);
    json_t *h = expect_head(&c);
    assert_true((uint64_t)mt_jint(h, "oldest_seq") <= last + 1); /* nothing after it evicted */
    json_decref(h);
    got_init(&g);
    got_until(&c, &g, "ping", 1, "the ping after");
    assert_int_equal(g.ngaps, 0);
    got_free(&g);
    sse_close(&c);
}

static void pg_reset(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    pings(&s, 20);
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 20, "twenty pings");
    uint64_t before = g.last_id;
    assert_int_equal(call(&s, "POST", "/test/reset", NULL, ""), 204);
    while (!g.nresets)
        assert_int_equal(got_one(&c, &g, mt_now_ms() + WAIT_MS), 1);
    uint64_t epoch = (uint64_t)mt_jint(g.reset, "epoch");
    assert_true(epoch > 0);
    /* rows restart at 1 */
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    got_until(&c, &g, "ping", 21, "a ping after the reset");
    uint64_t after = seq_of(json_array_get(g.entries, json_array_size(g.entries) - 1));
    assert_true(after <= 3);
    json_t *all, *j = journal(&s, "/test/requests", &all);
    assert_int_equal(json_array_size(all), 1);
    assert_true(json_equal(json_array_get(all, 0), json_array_get(g.entries, json_array_size(g.entries) - 1)));
    json_decref(j);
    got_free(&g);
    sse_close(&c);

    /* a page from before the reset comes back: its position is past the end */
    char leid[64];
    snprintf(leid, sizeof leid, "Last-Event-ID: %llu", (unsigned long long)before);
    const char *hs[] = {leid, NULL};
    feed_open(&c, &s, "/test/events", hs);
    json_t *h = expect_head(&c);
    assert_int_equal(mt_jint(h, "epoch"), epoch);
    json_decref(h);
    json_t *r;
    expect_ev(&c, "reset", &r, "the head of a stream from before the reset");
    assert_int_equal(mt_jint(r, "epoch"), epoch);
    json_decref(r);
    got_init(&g);
    got_until(&c, &g, "ping", 1, "the new journal from its start");
    assert_int_equal(seq_of(json_array_get(g.entries, 0)), after);
    got_free(&g);
    sse_close(&c);
}

/* ---- batching ---------------------------------------------------------- */

static void pg_burst_batched(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    int64_t t0 = mt_now_ms();
    pings(&s, 2000);
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 2000, "a burst of 2,000");
    int64_t t1 = mt_now_ms();
    printf("pg_burst_batched: 2000 requests in %d frames (largest %zu entries), %lld ms\n", g.frames,
           g.max_batch, (long long)(t1 - t0));
    assert_true(g.frames <= 100); /* far fewer than 2,000 */
    assert_true(g.max_batch <= 512);
    if (mt_timing_on()) /* at most one flush per 100 ms, plus the first */
        assert_true(g.frames <= (t1 - t0) / 100 + 6);
    json_t *all, *j = journal(&s, "/test/requests?last=2000", &all);
    same_entries(g.entries, all, "the burst");
    json_decref(j);
    got_free(&g);
    sse_close(&c);
}

/* A load of `rate` requests a second (0: as fast as it goes), paced by
 * the clock (a load's shape, not a synchronisation). */
typedef struct loadgen {
    const mt_server *s;
    int rate;
    atomic_bool stop;
    atomic_int done;
} loadgen;

static void *load_main(void *arg)
{
    loadgen *L = arg;
    CURL *h = curl_easy_init();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&L->stop)) {
        mt_response r;
        mt_get(h, L->s->base, "/v1/ping", &r);
        if (r.status == 200)
            atomic_fetch_add(&L->done, 1);
        mt_response_free(&r);
        if (L->rate) {
            next.tv_nsec += 1000000000L / L->rate;
            if (next.tv_nsec >= 1000000000L) {
                next.tv_sec++;
                next.tv_nsec -= 1000000000L;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* Frames of a feed over 1.5 s of load at `rate`: frames per second. */
static double feed_fps(int rate, got *g, int *done)
{
    mt_server s;
    rc_start(&s, NULL, false);
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    loadgen L = {.s = &s, .rate = rate};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, load_main, &L), 0);
    got_init(g);
    got_until(&c, g, "ping", 1, "the first of the load");
    int f0 = g->frames;
    int64_t t0 = mt_now_ms();
    while (mt_now_ms() - t0 < 1500)
        if (got_one(&c, g, t0 + 1500) == -1)
            break;
    int64_t t1 = mt_now_ms();
    atomic_store(&L.stop, true);
    pthread_join(t, NULL);
    sse_close(&c);
    mt_server_untrack_free(&s);
    double secs = (double)(t1 - t0) / 1000.0;
    *done = (int)(atomic_load(&L.done) / secs);
    return (g->frames - f0) / secs;
}

static void pg_steady_rate(void **st)
{
    (void)st;
    mt_timing_test();
    got g;
    int rps;
    /* caught up (1,000 requests/s, about 100 a flush): one flush per 100 ms */
    double fps = feed_fps(1000, &g, &rps);
    printf("pg_steady_rate: %d requests/s, %.1f frames/s, largest %zu entries\n", rps, fps, g.max_batch);
    assert_true(rps > 300);  /* a load it is */
    assert_true(fps <= 11.5); /* at most one flush per 100 ms */
    assert_true(fps >= 5.0);  /* and they do come, batched */
    got_free(&g);
    /* flat out: more than 512 a flush, so frames as fast as it reads, each full */
    fps = feed_fps(0, &g, &rps);
    printf("pg_steady_rate: flat out %d requests/s, %.1f frames/s, largest %zu entries\n", rps, fps, g.max_batch);
    if (rps > 512 * 10 * 2)
        assert_true(g.max_batch == 512);
    got_free(&g);
}

/* The threads of this process (tids into t, at most max): how many. */
static int tids(long *t, int max)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;)
        if (e->d_name[0] != '.')
            t[n++] = atol(e->d_name);
    closedir(d);
    return n;
}

/* The voluntary context switches of the threads in t but not in not. */
static long switches(const long *t, int nt, const long *not, int nn)
{
    long sum = 0;
    for (int i = 0; i < nt; i++) {
        bool old = false;
        for (int k = 0; k < nn; k++)
            old |= not[k] == t[i];
        if (old)
            continue;
        char path[64], line[128];
        snprintf(path, sizeof path, "/proc/self/task/%ld/status", t[i]);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
                sum += atol(line + 24);
        if (f)
            fclose(f);
    }
    return sum;
}

/* An open feed costs a request nothing but a flag: the hub is woken about
 * once per flush however many requests come, not once per request (it was:
 * every state change woke it, and it cleared the flag at once). Counted as
 * the voluntary context switches of the server's threads over 5,000
 * pipelined requests, without and then with a feed open. Skipped under
 * valgrind (mt_timing_test). */
static void pg_feed_wakes(void **st)
{
    (void)st;
    /* wakes per flush: under valgrind a flush spans far fewer requests and
     * its threads switch for their own reasons; the other runs count */
    mt_timing_test();
    long before[256], all[256];
    int nb = tids(before, 256);
    mt_server s;
    rc_start(&s, NULL, false);
    int na = tids(all, 256); /* the server's threads are the new ones */
    long a = switches(all, na, before, nb);
    pings(&s, 5000);
    long without = switches(all, na, before, nb) - a;
    sse_client c;
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 5000, "the first 5,000");
    a = switches(all, na, before, nb);
    int64_t t0 = mt_now_ms();
    pings(&s, 5000);
    int64_t ms = mt_now_ms() - t0;
    long with = switches(all, na, before, nb) - a;
    got_until(&c, &g, "ping", 10000, "the next 5,000");
    printf("pg_feed_wakes: 5000 requests, the server's threads switched %ld times without a feed, %ld with "
           "one (%lld ms)\n",
           without, with, (long long)ms);
    /* a wake and a write or two per 100 ms flush, some slack */
    if (with > without + 50 + ms / 4)
        fail_msg("a feed costs %ld context switches over 5,000 requests (%ld without one)", with, without);
    got_free(&g);
    sse_close(&c);
}

static void pg_backlog(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.journal_max_entries = 20000;
    mt_server s;
    rc_start(&s, &cfg, false);
    pings(&s, 10000);
    int64_t t0 = mt_now_ms();
    sse_client c;
    feed_open(&c, &s, "/test/events?since=0", NULL);
    json_t *h = expect_head(&c);
    assert_int_equal(mt_jint(h, "next_seq"), 10001);
    json_decref(h);
    got g;
    got_init(&g);
    got_until(&c, &g, "ping", 10000, "a backlog of 10,000");
    int64_t t1 = mt_now_ms();
    printf("pg_backlog: 10000 entries in %d frames (largest %zu) in %lld ms\n", g.frames, g.max_batch,
           (long long)(t1 - t0));
    assert_int_equal(json_array_size(g.entries), 10000);
    for (size_t i = 0; i < 10000; i++)
        assert_int_equal(seq_of(json_array_get(g.entries, i)), i + 1);
    assert_true(g.max_batch == 512);
    assert_true(g.frames <= 10000 / 512 + 2);
#if defined(__SANITIZE_THREAD__)
    enum { SLOW = 5 }; /* TSan renders the entries several times slower */
#else
    enum { SLOW = 1 };
#endif
    if (mt_timing_on()) /* as fast as it reads: not one frame per 100 ms */
        assert_true(t1 - t0 < SLOW * 10000 / 512 * 100);
    got_free(&g);
    sse_close(&c);
}

/* ---- a feed that does not read ----------------------------------------- */

static void pg_stalled_feed(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.request_timeout_ms = 1000; /* the stall deadline of streams */
    mt_server s;
    rc_start(&s, &cfg, false);
    sse_client slow, good;
    assert_int_equal(sse_connect(&slow, rc_http_port(&s), 4096), 0);
    assert_int_equal(sse_send_request(&slow, "GET", "/test/events", NULL, 0), 0);
    feed_open(&good, &s, "/test/events", NULL);
    json_decref(expect_head(&good));
    /* far more than the socket buffers hold: 32 requests of 64 KB each,
     * journaled with their bodies */
    char *body = malloc(65536 + 1);
    memset(body, 'x', 65536); /* journaled whole, whatever the route */
    body[65536] = '\0';
    got g;
    got_init(&g);
    int64_t t0 = mt_now_ms();
    for (int i = 0; i < 32; i++) {
        int64_t a = mt_now_ms();
        assert_int_equal(call(&s, "POST", "/v1/nodes/n1/no-such-route", NULL, body), 404);
        if (mt_timing_on() && mt_now_ms() - a > 2000)
            fail_msg("a request took %lld ms while a feed did not read", (long long)(mt_now_ms() - a));
        got_until(&good, &g, NULL, (size_t)i + 1, "the good feed keeps up");
    }
    free(body);
    got_free(&g);
    /* the slow one is ended within the stall deadline and some */
    int64_t dl = t0 + WAIT_MS;
    unsigned char *buf = NULL;
    size_t len = 0;
    int r = mt_read_until_close(slow.fd, dl, &buf, &len);
    if (r != 1)
        fail_msg("the feed that did not read was not ended (%d, %zu bytes)", r, len);
    printf("pg_stalled_feed: ended after %lld ms having received %zu bytes (2 MB made)\n",
           (long long)(mt_now_ms() - t0), len);
    assert_true(len < 2 * 1024 * 1024);
    free(buf);
    sse_close(&slow);
    /* the good feed and the server live on */
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    got_init(&g);
    got_until(&good, &g, "ping", 1, "after the stall");
    got_free(&g);
    sse_close(&good);
    rc_healthy(&s, false, "after a stalled feed");
}

/* ---- sessions and disconnects ------------------------------------------ */

static void pg_session_feed(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    assert_int_equal(call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"a\"}"), 201);
    sse_client a, d;
    feed_open(&a, &s, "/test/events?session=a", NULL);
    feed_open(&d, &s, "/s/a/test/events?include_test=1", NULL); /* the prefix too */
    json_t *h = expect_head(&a);
    assert_string_equal(mt_jstr(h, "session"), "a");
    json_decref(h);
    h = expect_head(&d);
    assert_string_equal(mt_jstr(h, "session"), "a");
    json_decref(h);
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);            /* default */
    assert_int_equal(call(&s, "POST", "/s/a" RC_HB_PATH, NULL, RC_HB_BODY), 200); /* a */
    const char *hx[] = {"X-Mockapi-Session: a", NULL};
    assert_int_equal(call(&s, "GET", "/v1/ping", hx, NULL), 200); /* a */
    got g;
    got_init(&g);
    got_until(&a, &g, NULL, 2, "a's two");
    assert_int_equal(count_route(g.entries, "heartbeat"), 1);
    assert_int_equal(count_route(g.entries, "ping"), 1);
    size_t i;
    json_t *x;
    json_array_foreach(g.entries, i, x) assert_string_equal(mt_jstr(x, "session"), "a");
    while (!g.counters)
        assert_int_equal(got_one(&a, &g, mt_now_ms() + WAIT_MS), 1);
    assert_int_equal(mt_jint(g.counters, "heartbeat_count"), 1);
    got_free(&g);
    /* the session ends: so do its feeds */
    assert_int_equal(call(&s, "DELETE", "/test/sessions/a", NULL, NULL), 200);
    expect_end(&a, "the session ended");
    expect_end(&d, "the session ended (prefix)");
    sse_close(&a);
    sse_close(&d);
    /* a feed of a session that is gone: 404 */
    mt_response r;
    assert_int_equal(req(&s, "GET", "/test/events?session=a", NULL, NULL, &r), 404);
    mt_response_free(&r);
    rc_healthy(&s, false, "after the session's feeds");
}

static void pg_disconnect_kinds(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    sse_client f, n;
    feed_open(&f, &s, "/test/events", NULL);
    feed_open(&n, &s, "/v1/nodes/n1/events", NULL);
    json_decref(expect_head(&f));
    /* /test/sse: the node's stream only */
    mt_response r;
    assert_int_equal(req(&s, "GET", "/test/sse", NULL, NULL, &r), 200);
    json_t *j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mt_jint(j, "connected"), 1);
    assert_int_equal(mt_jint(j, "attached"), 1);
    assert_int_equal(json_array_size(json_object_get(j, "clients")), 1);
    assert_string_equal(mt_jstr(json_array_get(json_object_get(j, "clients"), 0), "node_id"), "n1");
    json_decref(j);

    assert_int_equal(req(&s, "POST", "/test/sse/disconnect?feed=1", NULL, "", &r), 200);
    assert_string_equal((const char *)r.body, "{\"disconnected\":1}\n");
    mt_response_free(&r);
    expect_end(&f, "disconnect?feed=1 ends the feed");
    sse_close(&f);
    /* the node stream is there still: the plain disconnect finds it */
    assert_int_equal(req(&s, "POST", "/test/sse/disconnect", NULL, "", &r), 200);
    assert_string_equal((const char *)r.body, "{\"disconnected\":1}\n");
    mt_response_free(&r);
    expect_end(&n, "disconnect ends the node stream");
    sse_close(&n);

    /* the other way round: the plain disconnect leaves the feed alone */
    feed_open(&f, &s, "/test/events", NULL);
    feed_open(&n, &s, "/v1/nodes/n1/events", NULL);
    json_decref(expect_head(&f));
    assert_int_equal(req(&s, "POST", "/test/sse/disconnect", NULL, "", &r), 200);
    assert_string_equal((const char *)r.body, "{\"disconnected\":1}\n");
    mt_response_free(&r);
    expect_end(&n, "disconnect ends the node stream");
    sse_close(&n);
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    got g;
    got_init(&g);
    got_until(&f, &g, "ping", 1, "the feed lives on");
    got_free(&g);
    /* and the node streams' totals never counted it */
    assert_int_equal(req(&s, "GET", "/test/sse", NULL, NULL, &r), 200);
    j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mt_jint(j, "connected"), 0);
    assert_int_equal(mt_jint(j, "attached"), 2);
    assert_int_equal(mt_jint(j, "closed"), 2);
    assert_int_equal(mt_jint(j, "delivered"), 0);
    json_decref(j);
    /* feed=1 with a node, or another value: refused */
    assert_int_equal(call(&s, "POST", "/test/sse/disconnect?feed=1&node=n1", NULL, ""), 400);
    assert_int_equal(call(&s, "POST", "/test/sse/disconnect?feed=2", NULL, ""), 400);
    sse_close(&f);
}

/* A feed counts in its session state's feeds (an append wakes the hub)
 * and holds a reference to the session: both are given back however the
 * stream ends (the valgrind run finds a session or source left behind). */
static void feeds_zero(const mt_server *s, const char *what)
{
    if (!rc_feeds_reach(s, 0, mt_now_ms() + WAIT_MS))
        fail_msg("%s: %d feeds left, not 0", what, rc_feeds(s));
}

static void pg_feed_ends(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.request_timeout_ms = 500; /* the stall deadline */
    mt_server s;
    rc_start(&s, &cfg, false);
    sse_client c;
    /* the client goes */
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    assert_int_equal(rc_feeds(&s), 1);
    sse_close(&c);
    feeds_zero(&s, "the page closed");
    /* the server ends it */
    feed_open(&c, &s, "/test/events", NULL);
    json_decref(expect_head(&c));
    assert_int_equal(call(&s, "POST", "/test/sse/disconnect?feed=1", NULL, ""), 200);
    expect_end(&c, "disconnect?feed=1");
    sse_close(&c);
    feeds_zero(&s, "disconnect?feed=1");
    /* the page stops reading (a 4 KB window, entries far larger) */
    assert_int_equal(sse_connect(&c, rc_http_port(&s), 4096), 0);
    assert_int_equal(sse_send_request(&c, "GET", "/test/events", NULL, 0), 0);
    assert_true(rc_feeds_reach(&s, 1, mt_now_ms() + WAIT_MS));
    char *body = malloc(256 * 1024 + 1);
    memset(body, 'y', 256 * 1024);
    body[256 * 1024] = '\0';
    for (int i = 0; i < 8; i++)
        assert_int_equal(call(&s, "POST", "/v1/nodes/n1/no-such-route", NULL, body), 404);
    free(body);
    feeds_zero(&s, "a stalled feed");
    unsigned char *buf = NULL;
    size_t len = 0;
    assert_int_equal(mt_read_until_close(c.fd, mt_now_ms() + WAIT_MS, &buf, &len), 1);
    free(buf);
    sse_close(&c);
    /* its session ends */
    assert_int_equal(call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"a\"}"), 201);
    feed_open(&c, &s, "/test/events?session=a", NULL);
    json_decref(expect_head(&c));
    mk_session *S = mk_session_find(s.m, "a", 1);
    assert_non_null(S);
    assert_int_equal(atomic_load(&S->state.feeds), 1);
    assert_int_equal(call(&s, "DELETE", "/test/sessions/a", NULL, NULL), 200);
    expect_end(&c, "the session ended");
    sse_close(&c);
    int64_t dl = mt_now_ms() + WAIT_MS;
    while (atomic_load(&S->state.feeds) != 0) { /* the hub frees the stream after the FIN */
        if (mt_now_ms() > dl)
            fail_msg("the ended session's feed still counts in feeds");
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    mk_session_release(S);
    /* the server stops with feeds open, in default and in a session */
    assert_int_equal(call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"b\"}"), 201);
    sse_client d;
    feed_open(&c, &s, "/test/events", NULL);
    feed_open(&d, &s, "/test/events?session=b", NULL);
    json_decref(expect_head(&c));
    json_decref(expect_head(&d));
    assert_int_equal(call(&s, "GET", "/v1/ping", NULL, NULL), 200);
    mt_server_untrack_free(&s);
    expect_end(&c, "the server stopped");
    expect_end(&d, "the server stopped (session)");
    sse_close(&c);
    sse_close(&d);
}

/* A storm: pages come and go (all kinds of positions, with and without
 * /test/ requests, in default and in a session that is made and ended
 * over and over) while requests, resets and disconnects go on. Only the
 * statuses the feed can give, frames that parse, and afterwards no feed
 * left and a healthy server (the ASan, TSan and valgrind runs look for the
 * races and leaks of the sources). Thread-safe pieces only (no cmocka). */
typedef struct storm {
    const mt_server *s;
    int port, role;
    atomic_bool *stop;
    char bad[256];
    int feeds, frames;
} storm;

static void *storm_main(void *arg)
{
    storm *a = arg;
    unsigned seed = (unsigned)a->role * 7919u + 1;
    CURL *h = curl_easy_init();
    while (!atomic_load(a->stop) && !a->bad[0]) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 16;
        if (a->role == 0) { /* the agent and the test around it */
            mt_response x;
            const char *paths[] = {"/v1/ping", "/s/x/v1/ping", "/test/assertions"};
            mt_get(h, a->s->base, paths[r % 3], &x);
            mt_response_free(&x);
            if (r % 50 == 0) {
                mt_send(h, a->s->base, "POST", r % 100 ? "/test/reset" : "/test/sse/disconnect?feed=1", "", &x);
                mt_response_free(&x);
            }
            if (r % 40 == 1) {
                mt_send(h, a->s->base, "DELETE", "/test/sessions/x", NULL, &x);
                mt_response_free(&x);
                mt_send(h, a->s->base, "POST", "/test/sessions", "{\"id\":\"x\"}", &x);
                mt_response_free(&x);
            }
            continue;
        }
        char path[128];
        snprintf(path, sizeof path, "/test/events?%s%s%s", r % 2 ? "include_test=1&" : "",
                 r % 3 == 0 ? "session=x&" : "", r % 5 == 0 ? "since=0" : r % 5 == 1 ? "since=999999" : "since=3");
        sse_client c;
        int64_t t0 = mt_now_ms();
        int st = sse_open(&c, a->port, path, NULL, 0, t0 + WAIT_MS);
        if (st != 200 && st != 404) { /* 404: session x between its end and its return */
            char *sh = mt_show(c.buf, c.len);
            snprintf(a->bad, sizeof a->bad, "GET %s: %d after %lld ms, eof %d, [%s]", path, st,
                     (long long)(mt_now_ms() - t0), c.eof, sh);
            free(sh);
        }
        if (st == 200) {
            a->feeds++;
            int want = (int)(r % 6);
            for (int i = 0; i < want; i++) {
                sse_event ev;
                int k = sse_next(&c, &ev, mt_now_ms() + 300);
                if (k != 1)
                    break;
                a->frames++;
                json_t *j = ev.data ? json_loadb(ev.data, strlen(ev.data), 0, NULL) : NULL;
                if (ev.data && !j)
                    snprintf(a->bad, sizeof a->bad, "a frame that is not JSON: %.80s", ev.data);
                json_decref(j);
                sse_event_free(&ev);
            }
        }
        sse_close(&c);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void pg_storm(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.journal_max_entries = 200;
    mt_server s;
    rc_start(&s, &cfg, false);
    assert_int_equal(call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"x\"}"), 201);
    atomic_bool stop = false;
    enum { N = 5 };
    storm a[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        a[i] = (storm){.s = &s, .port = rc_http_port(&s), .role = i, .stop = &stop};
        assert_int_equal(pthread_create(&t[i], NULL, storm_main, &a[i]), 0);
    }
    int64_t end = mt_now_ms() + 2000;
    while (mt_now_ms() < end) { /* the storm's length: a clock, nothing to wait for */
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, true);
    int feeds = 0, frames = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        feeds += a[i].feeds;
        frames += a[i].frames;
    }
    for (int i = 0; i < N; i++)
        if (a[i].bad[0])
            fail_msg("role %d: %s", a[i].role, a[i].bad);
    printf("pg_storm: %d feeds, %d frames read\n", feeds, frames);
    assert_true(feeds > 0);
    feeds_zero(&s, "after the storm");
    rc_healthy(&s, false, "after the storm");
}

/* ---- the page ------------------------------------------------------------ */

#define BROWSER_ACCEPT "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

static void pg_page(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    assert_int_equal(call(&s, "POST", RC_HB_PATH, NULL, RC_HB_BODY), 200);
    assert_int_equal(call(&s, "GET", "/v1/<script>alert(1)</script>?a=<b>&c=\"'", NULL, NULL), 404);
    const char *hb[] = {BROWSER_ACCEPT, NULL};
    mt_response r;
    assert_int_equal(req(&s, "GET", "/test/", hb, NULL, &r), 200);
    assert_string_equal(mt_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
    const char *csp = mt_header_get(&r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "connect-src 'self'"));
    assert_string_equal(mt_header_get(&r, "Cache-Control"), "no-store");
    const char *b = (const char *)r.body;
    assert_non_null(strstr(b, "<div id=\"plain\">"));
    assert_null(strstr(b, "<!--MOCKAPI_PLAIN-->"));
    assert_non_null(strstr(b, "<tr><td>heartbeat_count</td><td>1</td></tr>"));
    assert_non_null(strstr(b, "/v1/&lt;script&gt;alert(1)&lt;/script&gt;?a=&lt;b&gt;&amp;c=&quot;&#39;"));
    assert_null(strstr(b, "<script>alert"));
    assert_null(strstr(b, "<b>&c"));
    assert_null(strstr(b, "/v1/nodes/n1/heartbeat?")); /* no query: no '?' */
    /* no link to a /test/ page a browser would get this page for */
    assert_null(strstr(b, "href=\"requests"));
    size_t page_len = r.len;
    mt_response_free(&r);

    /* HEAD: the same head, no body */
    mt_request rh = {.method = "HEAD", .path = "/test/", .headers = hb, .nheaders = 1, .timeout_ms = WAIT_MS};
    mt_perform(NULL, s.base, &rh, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_string_equal(mt_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
    assert_true(strtoul(mt_header_get(&r, "Content-Length"), NULL, 10) >= page_len - 200);
    mt_response_free(&r);

    /* any /test/ page asked for by a browser: the page; by a program: JSON */
    assert_int_equal(req(&s, "GET", "/test/requests", hb, NULL, &r), 200);
    assert_string_equal(mt_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
    mt_response_free(&r);
    const char *accepts[] = {"Accept: */*", "Accept: application/json", "Accept: application/json, text/html",
                             "Accept: text/html;q=0, application/json", "Accept:"};
    for (size_t i = 0; i < sizeof accepts / sizeof *accepts; i++) {
        const char *ha[] = {accepts[i], NULL};
        assert_int_equal(req(&s, "GET", "/test/requests", ha, NULL, &r), 200);
        if (strcmp(mt_header_get(&r, "Content-Type"), "application/json") != 0)
            fail_msg("%s: %s", accepts[i], mt_header_get(&r, "Content-Type"));
        mt_response_free(&r);
    }
    /* the redirects, the session kept */
    const char *paths[][2] = {{"/", "/test/"}, {"/test", "/test/"}, {"/s/a/test", "/s/a/test/"},
                              {"/s/a/", "/s/a/test/"}, {"/test?session=a", "/test/?session=a"}};
    assert_int_equal(call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"a\"}"), 201);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        assert_int_equal(req(&s, "GET", paths[i][0], hb, NULL, &r), 302);
        const char *loc = mt_header_get(&r, "Location");
        if (!loc || strcmp(loc, paths[i][1]) != 0)
            fail_msg("GET %s: Location %s, not %s", paths[i][0], loc ? loc : "(none)", paths[i][1]);
        mt_response_free(&r);
    }
    /* the page of a session shows it */
    assert_int_equal(req(&s, "GET", "/s/a/test/", hb, NULL, &r), 200);
    assert_non_null(strstr((const char *)r.body, "Session <b>a</b>"));
    mt_response_free(&r);
    /* the feed and the CA are never the page */
    assert_int_equal(req(&s, "GET", "/test/ca.pem", hb, NULL, &r), 404);
    mt_response_free(&r);
    /* a program's "/" is what it was */
    assert_int_equal(req(&s, "GET", "/", NULL, NULL, &r), 404);
    mt_response_free(&r);
}

static void pg_ca_pem(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    mt_server s;
    rc_start(&s, &cfg, true);
    mt_response r;
    assert_int_equal(req(&s, "GET", "/test/ca.pem", NULL, NULL, &r), 200);
    assert_string_equal(mt_header_get(&r, "Content-Type"), "application/x-pem-file");
    assert_string_equal(mt_header_get(&r, "Content-Disposition"), "attachment; filename=\"mockapi-ca.pem\"");
    assert_true(strncmp((const char *)r.body, "-----BEGIN CERTIFICATE-----", 27) == 0);
    /* the CA the TLS listener's certificate is signed by: a client trusting it gets through */
    mt_request rt = {.method = "GET", .path = "/test/assertions", .ca_pem = (const char *)r.body,
                     .timeout_ms = WAIT_MS};
    mt_response r2;
    mt_perform(NULL, s.tls_base, &rt, &r2);
    assert_int_equal(r2.status, 200);
    mt_response_free(&r2);
    /* the guard on the TLS listener: its page's origin is https:// */
    char own[300], plain[300];
    snprintf(own, sizeof own, "Origin: %s", s.tls_base);
    snprintf(plain, sizeof plain, "Origin: http://%s", s.tls_base + 8);
    const char *hs[] = {own, "Sec-Fetch-Site: same-origin", NULL};
    rt = (mt_request){.method = "POST", .path = "/test/reset", .headers = hs, .nheaders = 2,
                      .ca_pem = (const char *)r.body, .send_body = true, .timeout_ms = WAIT_MS};
    mt_perform(NULL, s.tls_base, &rt, &r2);
    assert_int_equal(r2.status, 204);
    mt_response_free(&r2);
    hs[0] = plain;
    mt_perform(NULL, s.tls_base, &rt, &r2);
    assert_int_equal(r2.status, 403);
    mt_response_free(&r2);
    /* the page and the feed are the plain listener's */
    const char *hb[] = {"Accept: text/html", NULL};
    rt = (mt_request){.method = "GET", .path = "/test/", .headers = hb, .nheaders = 1,
                      .ca_pem = (const char *)r.body, .timeout_ms = WAIT_MS};
    mt_perform(NULL, s.tls_base, &rt, &r2);
    assert_int_equal(r2.status, 404);
    mt_response_free(&r2);
    mt_response_free(&r);
    assert_int_equal(call(&s, "GET", "/test/ca.pem?x=1", NULL, NULL), 400);
}

/* ---- the browser guard ------------------------------------------------- */

static void pg_guard(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    assert_int_equal(call(&s, "POST", RC_HB_PATH, NULL, RC_HB_BODY), 200);
    char own[400], host[400];
    snprintf(own, sizeof own, "Origin: %s", s.base);
    snprintf(host, sizeof host, "Host: %s", s.base + 7);
    mt_response r;
    /* cross-site: refused, nothing reset */
    const char *h1[] = {"Origin: http://evil.example", NULL};
    assert_int_equal(req(&s, "POST", "/test/reset", h1, "", &r), 403);
    char want[800];
    snprintf(want, sizeof want,
             "{\"error\":\"a browser request from another origin (http://evil.example) may not change the mock's "
             "state: only its own page (%s/test/) may\"}\n",
             s.base);
    assert_string_equal((const char *)r.body, want);
    mt_response_free(&r);
    assert_int_equal(counter(&s, "heartbeat_count"), 1);
    const char *h2[] = {"Sec-Fetch-Site: cross-site", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h2, ""), 403);
    /* another site's page opening feeds (each a stream slot): refused; a
     * GET of the journal from it is only read by nobody (CORS), allowed */
    assert_int_equal(call(&s, "GET", "/test/events", h2, NULL), 403);
    assert_int_equal(call(&s, "GET", "/test/events", h1, NULL), 403);
    const char *h3[] = {own, "Sec-Fetch-Site: same-site", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h3, ""), 403);
    const char *h4[] = {"Origin: null", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h4, ""), 403);
    /* the https origin of the same host is another origin */
    char other[400];
    snprintf(other, sizeof other, "Origin: https://%s", s.base + 7);
    const char *h5[] = {other, NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h5, ""), 403);
    assert_int_equal(counter(&s, "heartbeat_count"), 1);
    /* an agent route from another origin: refused too, not counted */
    assert_int_equal(call(&s, "POST", RC_HB_PATH, h1, RC_HB_BODY), 403);
    assert_int_equal(counter(&s, "heartbeat_count"), 1);
    /* its own page: fine */
    const char *ok[] = {own, "Sec-Fetch-Site: same-origin", NULL};
    assert_int_equal(call(&s, "POST", RC_HB_PATH, ok, RC_HB_BODY), 200);
    assert_int_equal(counter(&s, "heartbeat_count"), 2);
    assert_int_equal(call(&s, "POST", "/test/reset", ok, ""), 204);
    assert_int_equal(counter(&s, "heartbeat_count"), 0);
    /* a rebinding name from a browser, on /test/ even for a GET: refused */
    const char *h6[] = {"Host: evil.example", "Sec-Fetch-Site: same-origin", BROWSER_ACCEPT, NULL};
    assert_int_equal(req(&s, "GET", "/test/", h6, NULL, &r), 403);
    assert_string_equal((const char *)r.body,
                        "{\"error\":\"a browser reached the mock as \\\"evil.example\\\": only an IP address, "
                        "localhost or a name given with -allow-host may be used from a browser (a guard against "
                        "DNS rebinding)\"}\n");
    mt_response_free(&r);
    const char *h7[] = {"Host: evil.example:80", "Origin: http://evil.example:80", NULL};
    assert_int_equal(call(&s, "GET", "/test/events", h7, NULL), 403);
    assert_int_equal(call(&s, "POST", "/test/reset", h7, ""), 403);
    /* localhost and IP literals are fine (same-origin) */
    const char *h8[] = {"Host: localhost:1", "Origin: http://localhost:1", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h8, ""), 204);
    const char *h9[] = {"Host: [::1]:1", "Origin: http://[::1]:1", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h9, ""), 204);
    /* programs are never refused, whatever the Host */
    const char *hp[] = {"Host: evil.example", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", hp, ""), 204);
    assert_int_equal(call(&s, "GET", "/test/assertions", hp, NULL), 200);
    /* a browser reading an agent route by any name: not /test/, safe */
    const char *h10[] = {"Host: evil.example", "Sec-Fetch-Site: cross-site", NULL};
    assert_int_equal(call(&s, "GET", "/v1/ping", h10, NULL), 200);
}

static void pg_guard_allow_hosts(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.allow_hosts = "mock.test,Other-Name.example";
    mt_server s;
    rc_start(&s, &cfg, false);
    const char *h1[] = {"Host: mock.test:8080", "Origin: http://mock.test:8080", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h1, ""), 204);
    const char *h2[] = {"Host: other-name.EXAMPLE", "Sec-Fetch-Site: same-origin", BROWSER_ACCEPT, NULL};
    assert_int_equal(call(&s, "GET", "/test/", h2, NULL), 200);
    const char *h3[] = {"Host: mock.test.evil", "Sec-Fetch-Site: same-origin", NULL};
    assert_int_equal(call(&s, "GET", "/test/assertions", h3, NULL), 403);
    const char *h4[] = {"Host: mock", "Sec-Fetch-Site: same-origin", NULL};
    assert_int_equal(call(&s, "GET", "/test/assertions", h4, NULL), 403);
    /* allowed by name, still another origin */
    const char *h5[] = {"Host: mock.test", "Origin: http://evil.example", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", h5, ""), 403);
    mt_server_untrack_free(&s);

    /* the configuration is checked */
    const char *bad[] = {"", "a,,b", "a b", "x_y", "ok,", "[::1]", "a:80", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mt_config_init(&cfg);
        cfg.allow_hosts = bad[i];
        mockapi *m = NULL;
        char err[512] = "";
        int rc = mockapi_create(&cfg, &m, err, sizeof err);
        if (rc != MOCKAPI_EINVAL || !strstr(err, "allow_hosts: \""))
            fail_msg("allow_hosts \"%s\": rc %d, [%s]", bad[i], rc, err);
        assert_null(m);
    }
    char many[600] = "";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sh%d", i ? "," : "", i);
    mt_config_init(&cfg);
    cfg.allow_hosts = many;
    mockapi *m = NULL;
    char err[512] = "";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "allow_hosts: more than 16 names");
}

/* ---- the admin token ------------------------------------------------------- */

static void pg_admin_token(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.admin_token = "s3cret";
    mt_server s;
    rc_start(&s, &cfg, false);
    int port = rc_http_port(&s);
    const char *hb[] = {BROWSER_ACCEPT, NULL};
    assert_int_equal(call(&s, "POST", RC_HB_PATH, NULL, RC_HB_BODY), 200);
    /* a browser opening the page without the token (it is in the URL's
     * fragment, #token=T, which is never sent): the page, none of the
     * mock's data in it (200: a 401 document is a console error); a
     * program: the JSON 401 */
    mt_response r;
    const char *paths[] = {"/test/", "/test/requests", "/s/default/test/assertions"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        assert_int_equal(req(&s, "GET", paths[i], hb, NULL, &r), 200);
        assert_string_equal(mt_header_get(&r, "Content-Type"), "text/html; charset=utf-8");
        assert_null(mt_header_get(&r, "WWW-Authenticate"));
        assert_non_null(mt_header_get(&r, "Content-Security-Policy"));
        assert_non_null(strstr((const char *)r.body, "<div id=\"plain\">"));
        assert_non_null(strstr((const char *)r.body, "#token="));
        assert_null(strstr((const char *)r.body, "plain-counters")); /* no counter, no request */
        assert_null(strstr((const char *)r.body, RC_HB_PATH));
        mt_response_free(&r);
    }
    const char *wrong[] = {BROWSER_ACCEPT, "Cookie: mockapi_admin_token=wrong", NULL};
    assert_int_equal(call(&s, "GET", "/test/", wrong, NULL), 200); /* the shell again */
    assert_int_equal(req(&s, "GET", "/test/", NULL, NULL, &r), 401);
    assert_string_equal(mt_header_get(&r, "Content-Type"), "application/json");
    mt_response_free(&r);
    assert_int_equal(req(&s, "GET", "/", hb, NULL, &r), 302);
    assert_string_equal(mt_header_get(&r, "Location"), "/test/");
    mt_response_free(&r);
    /* the guard before it, the rest of /test/ as before */
    const char *evil[] = {BROWSER_ACCEPT, "Host: evil.example", "Sec-Fetch-Site: none", NULL};
    assert_int_equal(call(&s, "GET", "/test/", evil, NULL), 403);
    const char *hr[] = {"Accept: application/json", NULL};
    assert_int_equal(call(&s, "GET", "/test/requests", hr, NULL), 401);
    assert_int_equal(call(&s, "GET", "/test/events", NULL, NULL), 401);
    assert_int_equal(call(&s, "GET", "/test/events", hb, NULL), 401);
    assert_int_equal(call(&s, "POST", "/test/reset", hb, ""), 401);
    const char *ck[] = {BROWSER_ACCEPT, "Cookie: theme=dark; mockapi_admin_token=s3cret; x=1", NULL};
    assert_int_equal(call(&s, "GET", "/test/", ck, NULL), 200);
    const char *bad[] = {"Cookie: mockapi_admin_token=wrong", "Cookie: mockapi_admin_token=", "Cookie: mockapi_admin_token",
                         "Cookie: xmockapi_admin_token=s3cret", "Cookie: mockapi_admin_token=s3cretX",
                         "Cookie: mockapi_admin_token=s3cre"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *h[] = {bad[i], NULL};
        if (call(&s, "GET", "/test/assertions", h, NULL) != 401)
            fail_msg("%s: not 401", bad[i]);
    }
    /* the feed, as an EventSource sends it: the cookie, no header */
    const char *hf[] = {"Cookie: mockapi_admin_token=s3cret", NULL};
    sse_client c;
    feed_open_port(&c, port, "/test/events", hf);
    json_decref(expect_head(&c));
    sse_close(&c);
    const char *hh[] = {"X-Mockapi-Admin-Token: s3cret", NULL};
    feed_open_port(&c, port, "/test/events", hh);
    json_decref(expect_head(&c));
    sse_close(&c);
    /* the cookie is no way around the guard */
    const char *hx[] = {"Cookie: mockapi_admin_token=s3cret", "Origin: http://evil.example", NULL};
    assert_int_equal(call(&s, "POST", "/test/reset", hx, ""), 403);
    /* the token stays out of the journal */
    const char *hj[] = {"Cookie: mockapi_admin_token=s3cret", NULL};
    assert_int_equal(req(&s, "GET", "/test/requests?include_test=1", hj, NULL, &r), 200);
    assert_null(strstr((const char *)r.body, "s3cret"));
    mt_response_free(&r);
}

/* ---- hostile input --------------------------------------------------------- */

static void pg_hostile(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.sse_max_clients = 4;
    mt_server s;
    rc_start(&s, &cfg, false);
    char big[9000];
    memcpy(big, "Last-Event-ID: ", 15);
    memset(big + 15, '9', sizeof big - 16);
    big[sizeof big - 1] = '\0';
    const char *leids[] = {"Last-Event-ID: abc", "Last-Event-ID: -1", "Last-Event-ID: 1.5",
                           "Last-Event-ID: 99999999999999999999", "Last-Event-ID: 0x10", big,
                           "Last-Event-ID: 1 2"};
    for (size_t i = 0; i < sizeof leids / sizeof *leids; i++) {
        const char *h[] = {leids[i], NULL};
        mt_response r;
        long stt = req(&s, "GET", "/test/events", h, NULL, &r);
        if (stt != 400 && !(i == 5 && stt == 431))
            fail_msg("%.40s: %ld", leids[i], stt);
        if (stt == 400)
            assert_string_equal((const char *)r.body,
                                "{\"error\":\"Last-Event-ID must be a journal seq, as this feed's ids are\"}\n");
        mt_response_free(&r);
    }
    const char *qs[] = {"/test/events?since=-1", "/test/events?since=99999999999999999999",
                        "/test/events?since=18446744073709551616", "/test/events?since=", "/test/events?since=+1",
                        "/test/events?include_test=2", "/test/events?include_test=", "/test/events?x=1",
                        "/test/events?since=1&since=1", "/test/events?since=%31%00"};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        if (call(&s, "GET", qs[i], NULL, NULL) != 400)
            fail_msg("%s: not 400", qs[i]);
    /* the largest seq: a position past the end, told as a reset */
    sse_client c;
    feed_open(&c, &s, "/test/events?since=9999999999999999999", NULL);
    json_decref(expect_head(&c));
    expect_ev(&c, "reset", NULL, "a position past the end");
    sse_close(&c);
    /* HEAD: the head, no stream, and the connection serves on */
    rc_conn *k = rc_connect(rc_http_port(&s), false);
    rc_send(k, "HEAD /test/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" RC_PING);
    int64_t dl = mt_now_ms() + WAIT_MS;
    while (!k->buf || !strstr((const char *)k->buf, "\r\n\r\n"))
        assert_int_equal(rc_fill(k, dl), 1);
    assert_true(strncmp((const char *)k->buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr((const char *)k->buf, "Content-Type: text/event-stream"));
    while (!strstr((const char *)k->buf, "\r\n\r\n{}\n")) /* then the ping's answer: no stream began */
        assert_int_equal(rc_fill(k, dl), 1);
    rc_close(k);
    assert_int_equal(call(&s, "GET", "/test/sse", NULL, NULL), 200);
    /* feeds up to the cap, then 503; closing one makes room */
    sse_client f[4];
    for (int i = 0; i < 4; i++) {
        feed_open(&f[i], &s, "/test/events", NULL);
        json_decref(expect_head(&f[i]));
    }
    mt_response r;
    assert_int_equal(req(&s, "GET", "/test/events", NULL, NULL, &r), 503);
    mt_response_free(&r);
    sse_client n;
    assert_int_equal(sse_open(&n, rc_http_port(&s), "/v1/nodes/n1/events", NULL, 0, mt_now_ms() + WAIT_MS), 503);
    sse_close(&n);
    sse_close(&f[0]);
    dl = mt_now_ms() + WAIT_MS;
    for (;;) { /* the hub sees the close when it polls it: a slot comes free */
        int stt = sse_open(&f[0], rc_http_port(&s), "/test/events", NULL, 0, dl);
        if (stt == 200)
            break;
        sse_close(&f[0]);
        if (stt != 503 || mt_now_ms() >= dl)
            fail_msg("a feed after one closed: %d", stt);
    }
    json_decref(expect_head(&f[0]));
    sse_close(&f[0]);
    for (int i = 1; i < 4; i++)
        sse_close(&f[i]);
    rc_healthy(&s, false, "after hostile feeds");
}

int mt_run_page_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pg_hello_and_frames, rc_teardown),
        cmocka_unit_test_teardown(pg_include_test, rc_teardown),
        cmocka_unit_test_teardown(pg_resume_lossless, rc_teardown),
        cmocka_unit_test_teardown(pg_resume_under_load, rc_teardown),
        cmocka_unit_test_teardown(pg_gap, rc_teardown),
        cmocka_unit_test_teardown(pg_skipped_not_gap, rc_teardown),
        cmocka_unit_test_teardown(pg_reset, rc_teardown),
        cmocka_unit_test_teardown(pg_burst_batched, rc_teardown),
        cmocka_unit_test_teardown(pg_steady_rate, rc_teardown),
        cmocka_unit_test_teardown(pg_feed_wakes, rc_teardown),
        cmocka_unit_test_teardown(pg_backlog, rc_teardown),
        cmocka_unit_test_teardown(pg_stalled_feed, rc_teardown),
        cmocka_unit_test_teardown(pg_session_feed, rc_teardown),
        cmocka_unit_test_teardown(pg_disconnect_kinds, rc_teardown),
        cmocka_unit_test_teardown(pg_feed_ends, rc_teardown),
        cmocka_unit_test_teardown(pg_storm, rc_teardown),
        cmocka_unit_test_teardown(pg_page, rc_teardown),
        cmocka_unit_test_teardown(pg_ca_pem, rc_teardown),
        cmocka_unit_test_teardown(pg_guard, rc_teardown),
        cmocka_unit_test_teardown(pg_guard_allow_hosts, rc_teardown),
        cmocka_unit_test_teardown(pg_admin_token, rc_teardown),
        cmocka_unit_test_teardown(pg_hostile, rc_teardown),
    };
    return cmocka_run_group_tests_name("page", tests, NULL, NULL);
}
