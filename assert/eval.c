/* eval.c: see eval.h. One expectation at a time, in file order. `within`
 * never sleeps: it asks the server to hold a GET /test/wait until the
 * condition (or a new matching request) arrives, then re-evaluates. */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "group.h"
#include "requests.h"
#include "session_id.h"

#define WAIT_CHUNK_MS 60000 /* the server's largest timeout_ms */
#define PAGE_LIMIT 100000   /* the server's largest limit */

typedef struct {
    char *key;
    int found;
    char *body;
    size_t len;
} capture;

struct ma_evaluator {
    ma_eval_opts o;
    char *down;         /* set once the server could not be reached, or is not a mockapi */
    int identified;     /* ma_identify ran (once per run) */
    json_t *counters;   /* cached /test/assertions, or NULL */
    ma_journal journal; /* cached journal */
    int journal_loaded;
    int journal_fresh;  /* nothing waited for since the last fetch */
    capture *caps;
    size_t ncaps;
};

int64_t ma_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fetch_entries(void *ctx, ma_journal *j, const ma_entry *const *v, size_t n, size_t span,
                         const ma_filter *f);

ma_evaluator *ma_eval_new(const ma_eval_opts *o)
{
    ma_evaluator *ev = ma_xcalloc(1, sizeof *ev);
    ev->o = *o;
    ma_journal_set_fetch(&ev->journal, fetch_entries, ev);
    return ev;
}

/* The checks e applies to each body of its selection, announced to the
 * journal so it applies them as the bodies stream in. */
static void announce(ma_evaluator *ev, const ma_expectation *e)
{
    if (e->kind != MA_EXP_REQUESTS)
        return;
    const ma_check *checks[3] = {e->each, e->any, e->none};
    for (int i = 0; i < 3; i++)
        if (checks[i])
            ma_journal_want(&ev->journal, &e->filter, checks[i]);
}

void ma_eval_prepare(ma_evaluator *ev, const ma_expectation *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        announce(ev, &e[i]);
}

static void drop_caches(ma_evaluator *ev)
{
    json_decref(ev->counters);
    ev->counters = NULL;
    for (size_t i = 0; i < ev->ncaps; i++) {
        free(ev->caps[i].key);
        free(ev->caps[i].body);
    }
    free(ev->caps);
    ev->caps = NULL;
    ev->ncaps = 0;
    ev->journal_fresh = 0;
}

void ma_eval_free(ma_evaluator *ev)
{
    if (!ev)
        return;
    drop_caches(ev);
    ma_journal_free(&ev->journal);
    free(ev->down);
    free(ev);
}

void ma_result_free(ma_result *r)
{
    free(r->actual);
    free(r->reason);
    free(r->near_title);
    ma_failures_free(&r->failures);
    for (size_t i = 0; i < r->nnear; i++) {
        json_decref(r->near[i].entry);
        ma_failures_free(&r->near[i].why);
    }
    free(r->near);
    memset(r, 0, sizeof *r);
}

/* ---- talking to the server ---- */

/* What a server answered, for a reason: its status and the start of its
 * body on one line, printable ASCII only. */
static char *describe_answer(long status, const char *body, size_t len)
{
    ma_buf b = {0};
    ma_buf_printf(&b, "HTTP %ld", status);
    size_t n = 0, rest;
    while (n < len && n < 60 && (body[n] == '\t' || (body[n] >= ' ' && body[n] < 127)))
        n++;
    for (rest = n; rest < len && (body[rest] == '\r' || body[rest] == '\n' || body[rest] == ' '); rest++)
        ;
    while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t'))
        n--;
    if (n)
        ma_buf_printf(&b, " \"%.*s%s\"", (int)n, body, rest < len ? "..." : "");
    else if (len)
        ma_buf_printf(&b, ", %zu bytes", len);
    return ma_buf_steal(&b);
}

int ma_identify(const ma_source *src, const char *server, json_t **assertions, char **why)
{
    static const char *const names[] = {
#define NAME_(id, name) name,
        MOCKAPI_COUNTERS(NAME_)
#undef NAME_
    };
    const char *who = server ? server : "the server";
    char *body = NULL, err[512];
    size_t len = 0;
    long st = 0;
    if (src->get(src->ctx, "/test/assertions", 0, &st, &body, &len, err, sizeof err) < 0) {
        *why = ma_xasprintf("server unreachable: %s", err);
        return -1;
    }
    char *what = NULL;
    json_t *v = NULL;
    /* a mockapi that has no such session, or wants one: said as such, not "not a mockapi" */
    char *problem = st != 200 ? ma_session_problem(st, body, len, server, "GET /test/assertions") : NULL;
    if (problem) {
        free(body);
        *why = problem;
        return -1;
    }
    if (st != 200) {
        char *a = describe_answer(st, body, len);
        what = ma_xasprintf("GET /test/assertions answered %s", a);
        free(a);
    } else {
        json_error_t je;
        v = json_loadb(body, len, JSON_DECODE_ANY, &je);
        if (!json_is_object(v)) {
            char *a = describe_answer(st, body, len);
            what = ma_xasprintf("GET /test/assertions answered %s, not a JSON object", a);
            free(a);
        } else {
            for (size_t i = 0; i < sizeof names / sizeof names[0] && !what; i++)
                if (!json_is_integer(json_object_get(v, names[i])))
                    what = ma_xasprintf("GET /test/assertions answered a JSON object without the counter %s",
                                        names[i]);
        }
    }
    free(body);
    if (what) {
        json_decref(v);
        if (st == 401 || st == 403)
            *why = ma_xasprintf("%s refused mockassert's identification (%s): is it a mockapi, and is the admin "
                                "token right?", who, what);
        else
            *why = ma_xasprintf("%s is not a mockapi (%s)", who, what);
        free(what);
        return -1;
    }
    if (assertions)
        *assertions = v;
    else
        json_decref(v);
    return 0;
}

int ma_is_no_capture(const char *body, size_t len)
{
    json_t *v = json_loadb(body, len, 0, NULL);
    const char *e = json_string_value(json_object_get(v, "error"));
    int yes = json_is_object(v) && json_object_size(v) == 1 && e && strcmp(e, "no captured request for endpoint") == 0;
    json_decref(v);
    return yes;
}

/* A 404 saying the session is gone (it ended during the run) or a 428
 * (one is required): like an unreachable server, every verdict from here
 * on is untrusted, for that reason. 1 (ev->down set, *body freed), or 0. */
static int session_gone(ma_evaluator *ev, const char *pq, long st, char **body, size_t len)
{
    char *req = ma_xasprintf("GET %s", pq);
    char *problem = ma_session_problem(st, *body, len, ev->o.server, req);
    free(req);
    if (!problem)
        return 0;
    ev->down = problem;
    free(*body);
    *body = NULL;
    return 1;
}

/* GET; on success 0 with status/body. -1: unreachable, or the session is
 * gone (ev->down set and *why pointing at it). */
static int get(ma_evaluator *ev, const char *pq, long extra_ms, long *status, char **body, size_t *len,
               const char **why)
{
    if (ev->down) {
        *why = ev->down;
        return -1;
    }
    char err[512];
    if (ev->o.src.get(ev->o.src.ctx, pq, extra_ms, status, body, len, err, sizeof err) < 0) {
        ev->down = ma_xasprintf("server unreachable: %s", err);
        *why = ev->down;
        return -1;
    }
    if (session_gone(ev, pq, *status, body, *len)) {
        *why = ev->down;
        return -1;
    }
    return 0;
}

/* GET returning JSON for a 200 (or the statuses in ok2). -1 with *why
 * (owned by the caller: free) on any problem. */
static json_t *get_json(ma_evaluator *ev, const char *pq, long extra_ms, long ok2, long *status, char **why)
{
    char *body = NULL;
    size_t len = 0;
    const char *w;
    long st = 0;
    if (get(ev, pq, extra_ms, &st, &body, &len, &w) < 0) {
        *why = ma_xstrdup(w);
        return NULL;
    }
    if (status)
        *status = st;
    if (st != 200 && st != ok2) {
        *why = ma_xasprintf("GET %s answered HTTP %ld%s", pq, st,
                            st == 404 ? " (does this mockapi have the request journal?)" : "");
        free(body);
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_DECODE_ANY, &je);
    free(body);
    if (!v)
        *why = ma_xasprintf("GET %s: the answer is not JSON (%s)", pq, je.text);
    return v;
}

static json_t *counters(ma_evaluator *ev, char **why)
{
    if (!ev->counters) {
        json_t *v = get_json(ev, "/test/assertions", 0, 0, NULL, why);
        if (!v)
            return NULL;
        if (!json_is_object(v)) {
            json_decref(v);
            *why = ma_xstrdup("GET /test/assertions: not a JSON object");
            return NULL;
        }
        ev->counters = v;
    }
    return ev->counters;
}

typedef struct {
    ma_page_reader *rd;
    const char *why; /* the reader refused the text */
} feed_ctx;

static int feed(void *arg, const char *p, size_t n)
{
    feed_ctx *f = arg;
    return ma_page_reader_feed(f->rd, p, n, &f->why) != 0 ? -1 : 0; /* 1: enough read */
}

/* One GET of /test/requests (pq) read into the journal as it arrives (with
 * fetched: only handing the entries it wants to ma_journal_put). 0 with
 * *rd, the reader (its page's entries read, *n of them, and *next_seq;
 * free it), or with *page when the answer is not laid out as mockapi's
 * pages (then *page is the answer parsed, for ma_journal_add_page; nothing
 * was read into the journal); -1 with *why (caller frees). */
static int read_page(ma_evaluator *ev, const char *pq, int fetched, long long stop_after, ma_page_reader **rd_out,
                     json_t **page, long *n, long long *next_seq, char **why)
{
    ma_page_reader *rd = ma_page_reader_new(&ev->journal, fetched);
    ma_page_reader_stop_after(rd, stop_after);
    feed_ctx fc = {rd, NULL};
    char *body = NULL;
    size_t len = 0;
    long st = 0;
    *page = NULL;
    *rd_out = NULL;
    if (ev->down) {
        *why = ma_xstrdup(ev->down);
        goto fail;
    }
    if (ev->o.src.stream) {
        char err[512];
        if (ev->o.src.stream(ev->o.src.ctx, pq, &st, &body, &len, feed, &fc, err, sizeof err) < 0) {
            ev->down = ma_xasprintf("server unreachable: %s", err);
            *why = ma_xstrdup(ev->down);
            goto fail;
        }
        if (st != 200 && session_gone(ev, pq, st, &body, len)) {
            *why = ma_xstrdup(ev->down);
            goto fail;
        }
    } else {
        const char *w;
        if (get(ev, pq, 0, &st, &body, &len, &w) < 0) {
            *why = ma_xstrdup(w);
            goto fail;
        }
        if (st == 200)
            ma_page_reader_feed(rd, body, len, &fc.why);
    }
    if (st != 200) {
        *why = ma_xasprintf("GET %s answered HTTP %ld%s", pq, st,
                            st == 404 ? " (does this mockapi have the request journal?)" : "");
        goto fail;
    }
    if (fc.why) {
        *why = ma_xasprintf("GET /test/requests: %s", fc.why);
        goto fail;
    }
    const char *w = NULL;
    int rc = ma_page_reader_finish(rd, n, next_seq, &w);
    if (rc < 0) {
        *why = ma_xasprintf("GET /test/requests: %s", w);
        goto fail;
    }
    if (rc == 1) {
        size_t wl;
        const char *text = ma_page_whole(rd, &wl);
        json_error_t je;
        json_t *v = json_loadb(text, wl, JSON_DECODE_ANY, &je);
        if (!v) {
            *why = ma_xasprintf("GET %s: the answer is not JSON (%s)", pq, je.text);
            goto fail;
        }
        *page = v;
        ma_page_reader_free(rd);
        free(body);
        return 0;
    }
    *rd_out = rd;
    free(body);
    return 0;
fail:
    ma_page_reader_free(rd);
    free(body);
    return -1;
}

/* 1 if the server still has, as seq held, the entry mockassert read last
 * (its time the same), 0 if not, -1 with *why. A reset followed by at
 * least as many requests numbers them past since again: the pages alone
 * would add the new requests to the old ones, and never show the first. An
 * entry evicted since (below oldest_seq) cannot tell: taken as the same. */
static int journal_same(ma_evaluator *ev, long long held, int64_t held_ns, char **why)
{
    char pq[128];
    snprintf(pq, sizeof pq, "/test/requests?include_test=1&limit=1&since=%lld", held - 1);
    json_t *v = get_json(ev, pq, 0, 0, NULL, why);
    if (!v)
        return -1;
    json_t *e = json_array_get(json_object_get(v, "entries"), 0);
    json_t *oldest = json_object_get(v, "oldest_seq");
    int64_t ns = 0;
    int same;
    if (e && json_integer_value(json_object_get(e, "seq")) == held)
        same = json_is_string(json_object_get(e, "time")) &&
               ma_parse_rfc3339(json_string_value(json_object_get(e, "time")), &ns) == 0 && ns == held_ns;
    else
        same = json_is_integer(oldest) && json_integer_value(oldest) > held; /* evicted */
    json_decref(v);
    return same;
}

/* Brings the journal up to date. 0, or -1 with *why (caller frees). */
static int journal(ma_evaluator *ev, char **why)
{
    if (ev->journal_loaded && ev->journal_fresh)
        return 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        long long since = ev->journal_loaded ? ma_journal_last_seq(&ev->journal) : 0;
        /* the entry read last, checked once the pages are read (journal_same) */
        long long held = since;
        int64_t held_ns = since > 0 ? ev->journal.v[ev->journal.n - 1].time_ns : 0;
        for (;;) {
            char pq[128];
            snprintf(pq, sizeof pq, "/test/requests?include_test=1&limit=%d&since=%lld", PAGE_LIMIT, since);
            ma_page_reader *rd = NULL;
            json_t *page = NULL;
            long n = 0;
            long long next = 0;
            if (read_page(ev, pq, 0, 0, &rd, &page, &n, &next, why) < 0)
                return -1;
            if (page)
                next = json_integer_value(json_object_get(page, "next_seq"));
            if (ev->journal_loaded && since > 0 && next > 0 && next <= since) {
                /* seqs went back: the journal was reset; start over (the
                 * page, numbered below since, added nothing) */
                json_decref(page);
                ma_page_reader_free(rd);
                ma_journal_reset(&ev->journal);
                ev->journal_loaded = 0;
                break;
            }
            if (page) {
                const char *w = NULL;
                n = ma_journal_add_page(&ev->journal, page, &w);
                json_decref(page);
                if (n < 0) {
                    *why = ma_xasprintf("GET /test/requests: %s", w);
                    return -1;
                }
            } else {
                ma_page_reader_apply(rd);
                ma_page_reader_free(rd);
            }
            ev->journal_loaded = 1;
            if (n < PAGE_LIMIT)
                break;
            since = ma_journal_last_seq(&ev->journal);
        }
        if (ev->journal_loaded && held > 0 && held_ns) {
            int same = journal_same(ev, held, held_ns, why);
            if (same < 0)
                return -1;
            if (!same) { /* reset since: read it all again */
                ma_journal_reset(&ev->journal);
                ev->journal_loaded = 0;
                continue;
            }
        }
        if (ev->journal_loaded) {
            ev->journal_fresh = 1;
            return 0;
        }
    }
    *why = ma_xstrdup("the journal kept being reset while it was read");
    return -1;
}

/* The journal's fetcher (ma_journal_set_fetch): entry objects again, for
 * explanations. A few entries one request each (since=seq-1, limit=1);
 * many, when one filter selects them all, with that filter from the first
 * on, in pages. */
static int fetch_entries(void *ctx, ma_journal *j, const ma_entry *const *v, size_t n, size_t span,
                         const ma_filter *f)
{
    ma_evaluator *ev = ctx;
    char *fq = f && n > 4 ? ma_filter_query(f) : NULL;
    /* the filter's entries from the first wanted through the last: no more */
    long limit = span > 0 && span < PAGE_LIMIT ? (long)span : PAGE_LIMIT;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        if (!ma_journal_wants(j, v[i]->seq)) {
            i++;
            continue;
        }
        char *pq = fq ? ma_xasprintf("/test/requests?%s%slimit=%ld&since=%lld", fq, *fq ? "&" : "", limit,
                                     v[i]->seq - 1)
                      : ma_xasprintf("/test/requests?include_test=1&limit=1&since=%lld", v[i]->seq - 1);
        ma_page_reader *rd = NULL;
        json_t *page = NULL;
        long got = 0;
        long long next = 0, last = v[i]->seq;
        char *why = NULL;
        if (read_page(ev, pq, 1, fq ? v[n - 1]->seq : 0, &rd, &page, &got, &next, &why) < 0) {
            free(why);
            rc = -1;
        } else if (page) {
            json_t *es = json_object_get(page, "entries");
            for (size_t k = 0; k < json_array_size(es); k++)
                ma_journal_put(j, json_array_get(es, k));
            json_decref(page);
            got = 0;
        } else {
            last = ma_page_reader_last_seq(rd);
            ma_page_reader_free(rd);
        }
        free(pq);
        if (!fq)
            i++; /* asked: got, or gone */
        else if (got < limit)
            break; /* everything the filter selects from there: what is missing is gone */
        else
            while (i < n && v[i]->seq <= last)
                i++; /* a full page: on from after its last */
    }
    free(fq);
    return rc;
}

/* The capture under key: 0 with *c, or -1 with *why (caller frees). */
static int last_request(ma_evaluator *ev, const char *key, capture **out, char **why)
{
    for (size_t i = 0; i < ev->ncaps; i++) {
        if (strcmp(ev->caps[i].key, key) == 0) {
            *out = &ev->caps[i];
            return 0;
        }
    }
    char pq[128];
    snprintf(pq, sizeof pq, "/test/last-request/%s", key);
    char *body = NULL;
    size_t len = 0;
    long st = 0;
    const char *w;
    if (get(ev, pq, 0, &st, &body, &len, &w) < 0) {
        *why = ma_xstrdup(w);
        return -1;
    }
    if (st != 200 && !(st == 404 && ma_is_no_capture(body, len))) {
        /* not mockapi's "nothing captured": what was captured is unknown */
        char *a = describe_answer(st, body, len);
        *why = ma_xasprintf("GET %s answered %s, not a capture nor mockapi's \"no captured request\"", pq, a);
        free(a);
        free(body);
        return -1;
    }
    ev->caps = ma_xrealloc(ev->caps, (ev->ncaps + 1) * sizeof *ev->caps);
    capture *c = &ev->caps[ev->ncaps++];
    c->key = ma_xstrdup(key);
    c->found = st == 200;
    c->body = body;
    c->len = len;
    *out = c;
    return 0;
}

/* Holds GET /test/wait?query until it is met or the deadline passes.
 * 1 met, 0 not met by the deadline, -1 error (*why, caller frees). The
 * caches are dropped either way: the server has moved on. */
static int wait_for(ma_evaluator *ev, const char *query, int64_t deadline_ns, char **why)
{
    for (;;) {
        int64_t left_ms = (deadline_ns - ma_now_ns()) / 1000000;
        if (left_ms <= 0)
            return 0;
        long t = left_ms > WAIT_CHUNK_MS ? WAIT_CHUNK_MS : (long)left_ms;
        char *pq = ma_xasprintf("/test/wait?%s&timeout_ms=%ld", query, t);
        long st = 0;
        json_t *v = get_json(ev, pq, t, 408, &st, why);
        free(pq);
        drop_caches(ev);
        if (!v)
            return -1;
        int met = json_is_true(json_object_get(v, "met"));
        json_decref(v);
        if (st == 200 && met)
            return 1;
        if (st != 408 && st != 200) {
            *why = ma_xasprintf("GET /test/wait answered HTTP %ld", st);
            return -1;
        }
    }
}

/* ---- results ---- */

static void untrusted(ma_result *r, char *why)
{
    r->status = MA_UNTRUSTED;
    free(r->reason);
    r->reason = why;
}

/* Brings the local copy of the journal up to date; on failure the result
 * becomes untrusted (exit 3) and -1 tells the caller to stop. */
static int refresh(ma_evaluator *ev, ma_result *r)
{
    char *why = NULL;
    if (journal(ev, &why) < 0) {
        untrusted(r, why);
        return -1;
    }
    return 0;
}

/* The journal is off (-journal-entries 0): nothing can be counted or
 * ordered, so a journal verdict cannot be known. -1 (r untrusted) then. */
static int journal_off(ma_evaluator *ev, ma_result *r)
{
    if (!ev->journal.max_known || ev->journal.max_entries != 0)
        return 0;
    untrusted(r, ma_xstrdup("the journal is off on this server (-journal-entries 0): nothing it received was "
                            "recorded (start mockapi with -journal-entries above 0)"));
    return -1;
}

/* Renames the root path "$" of failures on a number to name. */
static void rename_root(ma_failures *f, size_t from, const char *name)
{
    for (size_t i = from; i < f->n; i++) {
        if (strcmp(f->v[i].path, "$") == 0) {
            free(f->v[i].path);
            f->v[i].path = ma_xstrdup(name);
        }
    }
}

static void add_near(ma_result *r, json_t *entry, ma_failures *why)
{
    r->near = ma_xrealloc(r->near, (r->nnear + 1) * sizeof *r->near);
    r->near[r->nnear].entry = json_incref(entry);
    if (why) {
        r->near[r->nnear].why = *why;
        memset(why, 0, sizeof *why);
    } else
        memset(&r->near[r->nnear].why, 0, sizeof r->near[r->nnear].why);
    r->nnear++;
}

/* Fills r->near with the entries most similar to f, then most recent. */
static void nearest_to_filter(ma_evaluator *ev, ma_result *r, const ma_filter *f, const char *title)
{
    char *why = NULL;
    if (journal(ev, &why) < 0) {
        free(why);
        return;
    }
    ma_journal *j = &ev->journal;
    const ma_entry **v = ma_xcalloc(ev->o.max_nearest ? ev->o.max_nearest : 1, sizeof *v);
    size_t n = ma_journal_nearest(j, f, ev->o.max_nearest, v);
    for (size_t i = 0; i < n; i++)
        add_near(r, ma_entry_object(j, v[i]), NULL);
    if (r->nnear) {
        free(r->near_title);
        r->near_title = ma_xstrdup(title ? title : "requests that did arrive, most similar first, then most recent");
    }
    free(v);
}

/* ---- counters ---- */

/* Collects the OP checks of a (possibly AND) count check. */
static void flatten(const ma_check *c, const ma_check **out, size_t *n, size_t cap)
{
    if (c->kind == MA_CHECK_OP) {
        if (*n < cap)
            out[(*n)++] = c;
        return;
    }
    if (c->kind == MA_CHECK_AND)
        for (size_t i = 0; i < c->nkids; i++)
            flatten(c->kids[i], out, n, cap);
}

/* What a count needs at least (from atLeast, greaterThan, equals, between);
 * -1 if nothing. */
static long long lower_bound(const ma_check *count)
{
    const ma_check *ops[16];
    size_t n = 0;
    long long lb = -1;
    flatten(count, ops, &n, 16);
    for (size_t i = 0; i < n; i++) {
        long long v = -1;
        const json_t *x = ops[i]->value;
        switch (ops[i]->op) {
        case MA_OP_AT_LEAST:
        case MA_OP_EQUALS:
            v = json_integer_value(x);
            break;
        case MA_OP_GREATER_THAN:
            v = json_integer_value(x) + 1;
            break;
        case MA_OP_BETWEEN:
            v = json_integer_value(json_array_get(x, 0));
            break;
        default:
            break;
        }
        if (v > lb)
            lb = v;
    }
    return lb;
}

/* 1 if every operator of the count only bounds it from below (more
 * entries cannot turn a pass into a failure). */
static int only_lower_bounds(const ma_check *count)
{
    const ma_check *ops[16];
    size_t n = 0;
    flatten(count, ops, &n, 16);
    for (size_t i = 0; i < n; i++)
        if (ops[i]->op != MA_OP_AT_LEAST && ops[i]->op != MA_OP_GREATER_THAN)
            return 0;
    return n > 0;
}

/* 1 if every operator only bounds it from above (more entries cannot turn
 * a failure into a pass). */
static int only_upper_bounds(const ma_check *count)
{
    const ma_check *ops[16];
    size_t n = 0;
    flatten(count, ops, &n, 16);
    for (size_t i = 0; i < n; i++)
        if (ops[i]->op != MA_OP_AT_MOST && ops[i]->op != MA_OP_LESS_THAN)
            return 0;
    return n > 0;
}

/* 1 if the count check, failing at n, holds for some larger count (counts
 * only grow, so otherwise waiting cannot help). */
static int count_can_hold_later(const ma_check *count, long long n)
{
    const ma_check *ops[16];
    size_t nops = 0;
    long long top = n + 1;
    flatten(count, ops, &nops, 16);
    for (size_t i = 0; i < nops; i++) {
        const json_t *x = ops[i]->value;
        long long v = json_is_array(x) ? json_integer_value(json_array_get(x, 1)) : json_integer_value(x);
        if (v + 1 > top)
            top = v + 1;
    }
    if (top > n + 100000)
        top = n + 100000;
    for (long long k = n + 1; k <= top; k++) {
        json_t *jk = json_integer(k);
        int ok = ma_check_eval(count, jk, NULL);
        json_decref(jk);
        if (ok)
            return 1;
    }
    return 0;
}

static int eval_counter_once(ma_evaluator *ev, const ma_expectation *e, ma_result *r, long long *value)
{
    char *why = NULL;
    json_t *c = counters(ev, &why);
    if (!c) {
        untrusted(r, why);
        return -1;
    }
    json_t *v = json_object_get(c, e->counter);
    if (!json_is_integer(v)) {
        untrusted(r, ma_xasprintf("the server did not report %s", e->counter));
        return -1;
    }
    *value = json_integer_value(v);
    return ma_check_eval(e->count, v, NULL);
}

static void eval_counter(ma_evaluator *ev, const ma_expectation *e, ma_result *r)
{
    long long value = 0;
    int ok = eval_counter_once(ev, e, r, &value);
    if (ok < 0)
        return;
    if (!ok && e->within_ns) {
        int64_t deadline = ev->o.start_ns + e->within_ns;
        const ma_check *ops[16];
        size_t n = 0;
        flatten(e->count, ops, &n, 16);
        for (size_t i = 0; i < n; i++) {
            const char *sop = NULL;
            long long val = 0;
            switch (ops[i]->op) {
            case MA_OP_EQUALS:
            case MA_OP_AT_LEAST:
                sop = "gte";
                val = json_integer_value(ops[i]->value);
                break;
            case MA_OP_NOT_EQUALS:
                sop = "ne";
                val = json_integer_value(ops[i]->value);
                break;
            case MA_OP_GREATER_THAN:
                sop = "gt";
                val = json_integer_value(ops[i]->value);
                break;
            case MA_OP_BETWEEN:
                sop = "gte";
                val = json_integer_value(json_array_get(ops[i]->value, 0));
                break;
            default: /* lessThan, atMost: a counter only grows, waiting cannot help */
                break;
            }
            if (!sop)
                continue;
            char *q = ma_xasprintf("counter=%s&op=%s&value=%lld", e->counter, sop, val);
            char *why = NULL;
            int w = wait_for(ev, q, deadline, &why);
            free(q);
            if (w < 0) {
                untrusted(r, why);
                return;
            }
            if (w == 0)
                break;
        }
        ok = eval_counter_once(ev, e, r, &value);
        if (ok < 0)
            return;
    }
    r->actual = ma_xasprintf("%s is %lld", e->counter, value);
    if (ok) {
        r->status = MA_PASS;
        return;
    }
    r->status = MA_FAIL;
    json_t *jv = json_integer(value);
    ma_check_eval(e->count, jv, &r->failures);
    json_decref(jv);
    char *name = ma_xasprintf("$.%s", e->counter);
    rename_root(&r->failures, 0, name);
    free(name);
    const char *route = ma_counter_route(e->counter);
    if (route) {
        ma_filter f = {0};
        f.route = (char *)route;
        nearest_to_filter(ev, r, &f, "requests that did arrive, most similar to the counted route first, then most recent");
    }
}

/* ---- last request ---- */

static void eval_last(ma_evaluator *ev, const ma_expectation *e, ma_result *r)
{
    int64_t deadline = ev->o.start_ns + e->within_ns;
    for (;;) {
        char *why = NULL;
        long long since = 0;
        if (e->within_ns) {
            /* the journal first: a request arriving after this point wakes the wait below */
            if (refresh(ev, r) < 0)
                return;
            since = ma_journal_last_seq(&ev->journal);
        }
        capture *c = NULL;
        if (last_request(ev, e->key, &c, &why) < 0) {
            untrusted(r, why);
            return;
        }
        int ok = 0;
        json_t *doc = NULL;
        if (c->found) {
            doc = ma_json_from_body(c->body, c->len);
            ok = !e->body || ma_check_eval(e->body, doc, NULL);
        }
        if (ok || !e->within_ns || ma_now_ns() >= deadline) {
            if (ok) {
                r->status = MA_PASS;
            } else if (!c->found) {
                r->status = MA_FAIL;
                r->actual = ma_xasprintf("nothing was captured under %s", e->key);
                ma_failures_add(&r->failures, e->mark, 0, "", "a captured request", NULL, NULL, 0);
                ma_filter f = {0};
                f.route = e->key;
                nearest_to_filter(ev, r, &f, NULL);
            } else {
                r->status = MA_FAIL;
                if (!doc)
                    r->actual = ma_xasprintf("the last %s body (%zu bytes) is not UTF-8", e->key, c->len);
                ma_check_eval(e->body, doc, &r->failures);
            }
            json_decref(doc);
            return;
        }
        json_decref(doc);
        char *q = ma_xasprintf("route=%s&since=%lld&op=gte&value=1%s", e->key, since,
                               ma_filter_wants_test(&(ma_filter){.route = e->key}) ? "&include_test=1" : "");
        int w = wait_for(ev, q, deadline, &why);
        free(q);
        if (w < 0) {
            untrusted(r, why);
            return;
        }
    }
}

/* ---- journal expectations ---- */

typedef struct {
    const ma_entry **v;
    size_t n;
    ma_journal *j; /* the journal the entries are in */
} matched;

/* The entries f selects (remembered per filter by the journal). */
static matched select_entries(ma_journal *j, const ma_filter *f)
{
    matched m = {NULL, 0, j};
    m.n = ma_journal_select(j, f, &m.v);
    return m;
}

static char *evicted_reason(const ma_journal *j)
{
    return ma_xasprintf("the journal evicted %lld entr%s (oldest kept: #%lld); this expectation needs the full "
                        "history (start mockapi with a larger -journal-entries / -journal-bytes)",
                        j->evicted, j->evicted == 1 ? "y" : "ies", j->oldest_seq);
}

typedef struct {
    int ok;
    int count_ok, each_ok, any_ok, none_ok;
    size_t count;
    int inorder_ok;     /* as many entries as inOrder has checks, each passing its own */
    int inorder_broken; /* an entry there fails its check: more entries cannot help */
} req_verdict;

static req_verdict judge_requests(const ma_expectation *e, const matched *m)
{
    req_verdict v = {0, 1, 1, 1, 1, m->n, 1, 0};
    json_t *n = json_integer((json_int_t)m->n);
    v.count_ok = ma_check_eval(e->count, n, NULL);
    json_decref(n);
    if (e->each)
        for (size_t i = 0; i < m->n && v.each_ok; i++)
            v.each_ok = ma_entry_check(m->j, m->v[i], e->each, NULL) == MA_TRUE;
    if (e->any) {
        v.any_ok = 0;
        for (size_t i = 0; i < m->n && !v.any_ok; i++)
            v.any_ok = ma_entry_check(m->j, m->v[i], e->any, NULL) == MA_TRUE;
    }
    if (e->none)
        for (size_t i = 0; i < m->n && v.none_ok; i++)
            /* a path that selects nothing breaks a none: too (ma_truth) */
            v.none_ok = ma_entry_check(m->j, m->v[i], e->none, NULL) == MA_FALSE;
    for (size_t i = 0; i < e->ninorder && i < m->n && !v.inorder_broken; i++)
        v.inorder_broken = ma_entry_check(m->j, m->v[i], e->inorder[i], NULL) != MA_TRUE;
    v.inorder_ok = !v.inorder_broken && m->n >= e->ninorder;
    v.ok = v.count_ok && v.each_ok && v.any_ok && v.none_ok && v.inorder_ok;
    return v;
}

/* "1st", "2nd", "3rd", "4th", "11th", "22nd" */
static char *ordinal(size_t n)
{
    const char *suf = "th";
    if (n % 100 < 11 || n % 100 > 13)
        suf = n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
    return ma_xasprintf("%zu%s", n, suf);
}

/* inOrder failed: each of the first matching entries that fails its check
 * is named (at that check), then whether too few matched (in group key,
 * when not NULL); with show, the entries shown are the first ones, in
 * journal order, each with what failed (a group adds to those of the
 * groups before it, up to --nearest). */
static void inorder_failures(ma_evaluator *ev, const ma_expectation *e, const matched *m, const char *key, int show,
                             ma_result *r)
{
    size_t k = m->n < e->ninorder ? m->n : e->ninorder, nfail = 0;
    char *in = key ? ma_xasprintf(" in group %s", key) : ma_xstrdup("");
    for (size_t i = 0; i < k; i++) {
        ma_failures f = {0};
        ma_truth t = ma_entry_check(m->j, m->v[i], e->inorder[i], show ? &f : NULL);
        if (t != MA_TRUE) {
            char *nth = ordinal(i + 1);
            char *what = ma_xasprintf("inOrder: the %s matching request%s (#%lld) fails check %zu of %zu%s", nth, in,
                                      m->v[i]->seq, i + 1, e->ninorder,
                                      t == MA_UNKNOWN ? " (cannot tell: a path selects nothing)" : "");
            ma_failures_add(&r->failures, e->inorder_marks[i], 0, "", what, NULL, NULL, 0);
            free(what);
            free(nth);
        }
        /* alone: the first ones and every failing one; a group: its failing
         * ones (or, too few, its first ones) while --nearest allows */
        int fails_here = t != MA_TRUE;
        nfail += (size_t)fails_here;
        if (show && (key ? fails_here && r->nnear < ev->o.max_nearest
                         : i < ev->o.max_nearest || (fails_here && ev->o.max_nearest)))
            add_near(r, ma_entry_object(m->j, m->v[i]), fails_here ? &f : NULL);
        ma_failures_free(&f);
    }
    for (size_t i = 0; show && key && !nfail && i < k && r->nnear < ev->o.max_nearest; i++)
        add_near(r, ma_entry_object(m->j, m->v[i]), NULL);
    if (m->n < e->ninorder) {
        char *what = ma_xasprintf("inOrder: %zu matching request%s%s, fewer than its %zu check%s", m->n,
                                  m->n == 1 ? "" : "s", in, e->ninorder, e->ninorder == 1 ? "" : "s");
        ma_failures_add(&r->failures, e->inorder_mark, 0, "", what, NULL, NULL, 0);
        free(what);
    }
    free(in);
}

static void explain_inorder(ma_evaluator *ev, const ma_expectation *e, const matched *m, ma_result *r)
{
    size_t k = m->n < e->ninorder ? m->n : e->ninorder;
    inorder_failures(ev, e, m, NULL, 1, r);
    if (!m->n) {
        nearest_to_filter(ev, r, &e->filter, NULL);
        return;
    }
    if (r->nnear) {
        free(r->near_title);
        r->near_title = k == 1 ? ma_xstrdup("the first matching request")
                               : ma_xasprintf("the first %zu matching requests, in journal order", k);
    }
}

typedef struct {
    const ma_entry *e;
    size_t nfail;    /* the sort key: failed checks (any), else 0: recency alone */
    ma_failures f;   /* what the check said about e */
} by_fail;

static int fewest_failures_then_recent(const void *a, const void *b)
{
    const by_fail *x = a, *y = b;
    if (x->nfail != y->nfail)
        return x->nfail < y->nfail ? -1 : 1;
    return x->e->seq < y->e->seq ? 1 : x->e->seq > y->e->seq ? -1 : 0;
}

/* "none: 2 of 4 matching requests pass the check, 1 cannot be judged (a
 * path selects nothing)": an entry of either kind breaks a none: (where
 * is, e.g., " in group \"n1\"") */
static char *none_what(size_t held, size_t unknown, size_t n, const char *where)
{
    if (!unknown)
        return ma_xasprintf("none: %zu of %zu matching requests%s pass the check", held, n, where);
    if (!held)
        return ma_xasprintf("none: %zu of %zu matching requests%s cannot be judged (a path selects nothing)", unknown,
                            n, where);
    return ma_xasprintf("none: %zu of %zu matching requests%s pass the check, %zu cannot be judged (a path selects "
                        "nothing)",
                        held, n, where, unknown);
}

/* Fills r->near with the entries of m that show why chk (e's each, any or
 * none) failed: for each/none those that break it, most recent first; for
 * any every entry, fewest failed checks first. Returns how many break it. */
static size_t show_breakers(ma_evaluator *ev, const ma_expectation *e, const ma_check *chk, const matched *m,
                            ma_result *r, size_t *unknown)
{
    *unknown = 0;
    const char *word = chk == e->each ? "each" : chk == e->any ? "any" : "none";
    by_fail *list = ma_xcalloc(m->n ? m->n : 1, sizeof *list);
    size_t nl = 0, bad = 0;
    for (size_t i = 0; i < m->n; i++) {
        ma_failures f = {0};
        /* any: every entry's failures rank it; each/none: only the entries
         * shown are explained (below), the rest need only a verdict */
        ma_truth t = ma_entry_check(m->j, m->v[i], chk, chk == e->any ? &f : NULL);
        int breaks = chk == e->none ? t != MA_FALSE : t != MA_TRUE;
        bad += (size_t)breaks;
        *unknown += (size_t)(t == MA_UNKNOWN);
        if (chk == e->any || breaks) {
            list[nl].e = m->v[i];
            list[nl].nfail = chk == e->any ? f.n : 0;
            list[nl].f = f;
            nl++;
        } else {
            ma_failures_free(&f);
        }
    }
    qsort(list, nl, sizeof *list, fewest_failures_then_recent);
    for (size_t i = 0; i < nl; i++) {
        if (i < ev->o.max_nearest) {
            /* a "none" entry that held its check has nothing failed to show;
             * one that could not be judged shows the path that selects nothing */
            if (chk != e->any)
                ma_entry_check(m->j, list[i].e, chk, &list[i].f);
            add_near(r, ma_entry_object(m->j, list[i].e), &list[i].f);
        }
        ma_failures_free(&list[i].f);
    }
    free(r->near_title);
    r->near_title = ma_xasprintf(chk == e->any ? "matching requests, fewest failed checks first, then most recent"
                                               : "matching requests that break \"%s\", most recent first",
                                 word);
    free(list);
    return bad;
}

static void explain_requests(ma_evaluator *ev, const ma_expectation *e, const matched *m, const req_verdict *v,
                             ma_result *r)
{
    if (!v->count_ok) {
        size_t from = r->failures.n;
        json_t *n = json_integer((json_int_t)m->n);
        ma_check_eval(e->count, n, &r->failures);
        json_decref(n);
        rename_root(&r->failures, from, "count");
        nearest_to_filter(ev, r, &e->filter, NULL);
        return;
    }
    if (v->each_ok && v->any_ok && v->none_ok) {
        explain_inorder(ev, e, m, r);
        return;
    }
    const ma_check *chk = !v->each_ok ? e->each : !v->any_ok ? e->any : e->none;
    size_t unknown;
    size_t bad = show_breakers(ev, e, chk, m, r, &unknown);
    char *what;
    if (chk == e->each)
        what = ma_xasprintf("each: %zu of %zu matching requests fail the check", bad, m->n);
    else if (chk == e->any)
        what = ma_xasprintf("any: none of the %zu matching requests passes the check", m->n);
    else
        what = none_what(bad - unknown, unknown, m->n, "");
    ma_failures_add(&r->failures, chk->mark, 0, "", what, NULL, NULL, 0);
    free(what);
}

static int wait_journal(ma_evaluator *ev, const ma_filter *f, long long need, int64_t deadline, char **why)
{
    char *fq = ma_filter_query(f);
    char *q;
    /* the server's count would include entries f's fault or region leave
     * out (it would be met at once, again and again): wait for the next */
    if (need > 0 && !ma_filter_local(f))
        q = ma_xasprintf("%s%sop=gte&value=%lld", fq, *fq ? "&" : "", need);
    else
        q = ma_xasprintf("%s%ssince=%lld&op=gte&value=1", fq, *fq ? "&" : "", ma_journal_last_seq(&ev->journal));
    int w = wait_for(ev, q, deadline, why);
    free(q);
    free(fq);
    return w;
}

/* wait_journal, with the same failure handling as refresh. */
static int wait_more(ma_evaluator *ev, ma_result *r, const ma_filter *f, long long need,
                     int64_t deadline)
{
    char *why = NULL;
    if (wait_journal(ev, f, need, deadline, &why) < 0) {
        untrusted(r, why);
        return -1;
    }
    return 0;
}

static void eval_grouped(ma_evaluator *ev, const ma_expectation *e, ma_result *r);

static void eval_requests(ma_evaluator *ev, const ma_expectation *e, ma_result *r)
{
    if (e->groupby) {
        eval_grouped(ev, e, r);
        return;
    }
    int64_t deadline = ev->o.start_ns + e->within_ns;
    for (;;) {
        if (refresh(ev, r) < 0)
            return;
        if (journal_off(ev, r) < 0)
            return;
        matched m = select_entries(&ev->journal, &e->filter);
        req_verdict v = judge_requests(e, &m);
        /* more entries cannot lower a count that is already too high, nor
         * undo an each/none that a kept entry broke */
        int hopeless = (!v.count_ok && !count_can_hold_later(e->count, (long long)m.n)) || !v.each_ok || !v.none_ok ||
                       v.inorder_broken;
        if (v.ok || hopeless || !e->within_ns || ma_now_ns() >= deadline) {
            r->actual = ma_xasprintf("%zu matching request%s", m.n, m.n == 1 ? "" : "s");
            if (ev->journal.evicted > 0) {
                /* inOrder is about the first entries: the evicted ones */
                int robust_pass = v.ok && only_lower_bounds(e->count) && !e->each && !e->none && !e->ninorder;
                int robust_fail = !v.ok && ((e->each && !v.each_ok) || (e->none && !v.none_ok) ||
                                            (!v.count_ok && only_upper_bounds(e->count)));
                if (!robust_pass && !robust_fail) {
                    untrusted(r, evicted_reason(&ev->journal));
                    free(m.v);
                    return;
                }
            }
            r->status = v.ok ? MA_PASS : MA_FAIL;
            if (!v.ok)
                explain_requests(ev, e, &m, &v, r);
            free(m.v);
            return;
        }
        long long lb = lower_bound(e->count);
        if ((long long)e->ninorder > lb)
            lb = (long long)e->ninorder;
        long long need = lb > (long long)m.n ? lb : 0;
        free(m.v);
        if (wait_more(ev, r, &e->filter, need, deadline) < 0)
            return;
    }
}

/* ---- groupBy ---- */

#define MAX_GROUPS_SHOWN 10 /* failing groups listed before "... and N more" */

typedef struct {
    matched all;          /* every matching entry */
    const ma_entry **flat; /* the same, group after group (gm point into it) */
    ma_group *g;          /* the groups, by key */
    size_t ng;
    matched *gm;          /* each group's entries */
    req_verdict *gv;      /* each group's verdict on count, each, any, none */
    int groups_ok;        /* the number of groups passes e->groups */
    int ok;
    size_t gone;          /* entries whose key could not be read: evicted since */
} grouping;

#define GROUP_WINDOW 256 /* entries fetched at once for their group keys */

static grouping judge_grouped(const ma_expectation *e, ma_journal *j)
{
    grouping G = {0};
    G.all = select_entries(j, &e->filter);
    char **keys = ma_xcalloc(G.all.n ? G.all.n : 1, sizeof *keys);
    for (size_t i = 0; i < G.all.n; i++) {
        const ma_entry *x = G.all.v[i];
        if (!e->groupby->segment && i % GROUP_WINDOW == 0) {
            /* a key from the entry: fetch the next window of the selection
             * in one request, after letting the previous one go (only the
             * keys are kept) */
            size_t w = G.all.n - i < GROUP_WINDOW ? G.all.n - i : GROUP_WINDOW;
            ma_journal_release(j);
            ma_journal_fetch(j, G.all.v + i, w, w, &e->filter);
        }
        if (e->groupby->segment) { /* the path is kept: nothing to fetch */
            json_t *o = json_pack("{ss}", "path", x->path);
            if (!o)
                ma_oom();
            keys[i] = ma_group_key(e->groupby, o, NULL);
            json_decref(o);
        } else {
            keys[i] = ma_group_key(e->groupby, ma_entry_object(j, x), e->groupby->path ? ma_entry_body(j, x) : NULL);
            /* its key is unknown, not "(missing)": the server evicted it
             * after the journal was read (mockassert's own requests count) */
            G.gone += (size_t)ma_entry_gone(j, x);
        }
    }
    G.ng = ma_group_split(keys, G.all.n, &G.g);
    for (size_t i = 0; i < G.all.n; i++)
        free(keys[i]);
    free(keys);
    G.flat = ma_xcalloc(G.all.n ? G.all.n : 1, sizeof *G.flat);
    G.gm = ma_xcalloc(G.ng ? G.ng : 1, sizeof *G.gm);
    G.gv = ma_xcalloc(G.ng ? G.ng : 1, sizeof *G.gv);
    G.ok = 1;
    size_t at = 0;
    for (size_t k = 0; k < G.ng; k++) {
        G.gm[k].v = G.flat + at;
        G.gm[k].n = G.g[k].n;
        G.gm[k].j = j;
        for (size_t i = 0; i < G.g[k].n; i++)
            G.flat[at++] = G.all.v[G.g[k].idx[i]];
        G.gv[k] = judge_requests(e, &G.gm[k]);
        G.ok &= G.gv[k].ok;
    }
    json_t *n = json_integer((json_int_t)G.ng);
    G.groups_ok = ma_check_eval(e->groups, n, NULL);
    json_decref(n);
    G.ok &= G.groups_ok;
    return G;
}

static void grouping_free(grouping *G)
{
    free(G->all.v);
    free(G->flat);
    ma_groups_free(G->g, G->ng);
    free(G->gm);
    free(G->gv);
}

/* 1 if more entries cannot make it pass: groups and their counts only
 * grow, and an each/none broken by an entry stays broken. */
static int grouped_hopeless(const ma_expectation *e, const grouping *G)
{
    if (!G->groups_ok && !count_can_hold_later(e->groups, (long long)G->ng))
        return 1;
    for (size_t k = 0; k < G->ng; k++) {
        const req_verdict *v = &G->gv[k];
        if (!v->each_ok || !v->none_ok || v->inorder_broken ||
            (!v->count_ok && !count_can_hold_later(e->count, (long long)v->count)))
            return 1;
    }
    return 0;
}

/* With entries evicted, the full history has every kept group (with at
 * least its kept entries) and maybe groups of its own. What the kept
 * entries show that cannot change with those: */
static int group_fails_for_sure(const ma_expectation *e, const req_verdict *v)
{
    return !v->each_ok || !v->none_ok || (!v->count_ok && only_upper_bounds(e->count));
}

static int grouped_robust(const ma_expectation *e, const grouping *G)
{
    if (G->ok) {
        /* a hidden group holds at least one entry: a count with lower
         * bounds met by 1 passes there too; each/any/none cannot be known */
        json_t *one = json_integer(1);
        int one_ok = ma_check_eval(e->count, one, NULL);
        json_decref(one);
        return !e->each && !e->any && !e->none && !e->ninorder && only_lower_bounds(e->count) && one_ok &&
               only_lower_bounds(e->groups);
    }
    if (!G->groups_ok && only_upper_bounds(e->groups))
        return 1;
    for (size_t k = 0; k < G->ng; k++)
        if (group_fails_for_sure(e, &G->gv[k]))
            return 1;
    return 0;
}

/* "each: 2 of 3 matching requests in group "n1" fail the check" and the like */
static void group_check_failure(const ma_expectation *e, const ma_check *chk, const matched *m, const char *key,
                                ma_result *r)
{
    size_t bad = 0, unknown = 0;
    for (size_t i = 0; chk != e->any && i < m->n; i++) {
        ma_truth t = ma_entry_check(m->j, m->v[i], chk, NULL);
        bad += (size_t)(chk == e->none ? t != MA_FALSE : t != MA_TRUE);
        unknown += (size_t)(t == MA_UNKNOWN);
    }
    char *what;
    if (chk == e->each)
        what = ma_xasprintf("each: %zu of %zu matching requests in group %s fail the check", bad, m->n, key);
    else if (chk == e->any)
        what = ma_xasprintf("any: none of the %zu matching requests in group %s passes the check", m->n, key);
    else {
        char *where = ma_xasprintf(" in group %s", key);
        what = none_what(bad - unknown, unknown, m->n, where);
        free(where);
    }
    ma_failures_add(&r->failures, chk->mark, 0, "", what, NULL, NULL, 0);
    free(what);
}

static int by_seq(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const ma_entry *e;
    int score;
} ranked;

static int by_score_then_recent(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return y->score - x->score;
    return x->e->seq < y->e->seq ? 1 : x->e->seq > y->e->seq ? -1 : 0;
}

/* Like nearest_to_filter, without the entries of groups that passed: they
 * explain nothing, and with many groups they would crowd out the rest. */
static void nearest_grouped(ma_evaluator *ev, const ma_expectation *e, const grouping *G, ma_result *r)
{
    size_t npass = 0;
    for (size_t k = 0; G->groups_ok && k < G->ng; k++) /* a wrong number of groups: every group matters */
        npass += G->gv[k].ok ? G->gm[k].n : 0;
    if (!npass) {
        nearest_to_filter(ev, r, &e->filter, NULL);
        return;
    }
    long long *skip = ma_xcalloc(npass, sizeof *skip);
    size_t ns = 0;
    for (size_t k = 0; k < G->ng; k++)
        for (size_t i = 0; G->gv[k].ok && i < G->gm[k].n; i++)
            skip[ns++] = G->gm[k].v[i]->seq;
    qsort(skip, ns, sizeof *skip, by_seq);
    ma_journal *j = &ev->journal;
    ranked *v = ma_xcalloc(j->n ? j->n : 1, sizeof *v);
    size_t n = 0;
    int want_test = ma_filter_wants_test(&e->filter);
    for (size_t i = 0; i < j->n; i++) {
        if ((j->v[i].test && !want_test) || bsearch(&j->v[i].seq, skip, ns, sizeof *skip, by_seq))
            continue;
        v[n].e = &j->v[i];
        v[n].score = ma_filter_similarity(&e->filter, &j->v[i]);
        n++;
    }
    qsort(v, n, sizeof *v, by_score_then_recent);
    for (size_t i = 0; i < n && i < ev->o.max_nearest; i++)
        add_near(r, ma_entry_object(j, v[i].e), NULL);
    if (r->nnear) {
        free(r->near_title);
        r->near_title = ma_xstrdup("requests that did arrive, except those of groups that passed, most similar "
                                   "first, then most recent");
    }
    free(v);
    free(skip);
}

/* Names each failing group (at most MAX_GROUPS_SHOWN), in key order, with
 * its count or check; sure: only what eviction cannot change. */
static void explain_grouped(ma_evaluator *ev, const ma_expectation *e, const grouping *G, int sure, ma_result *r)
{
    int count_failed = 0;
    if (!G->groups_ok && (!sure || only_upper_bounds(e->groups))) {
        size_t from = r->failures.n;
        json_t *n = json_integer((json_int_t)G->ng);
        ma_check_eval(e->groups, n, &r->failures);
        json_decref(n);
        rename_root(&r->failures, from, "groups");
        count_failed = 1;
    }
    /* whose entries are shown: each, else any, else none, as without groupBy */
    const ma_check *chk = NULL;
    for (size_t k = 0; k < G->ng; k++) {
        const req_verdict *v = &G->gv[k];
        const ma_check *c = !v->each_ok ? e->each : !v->any_ok && !sure ? e->any : !v->none_ok ? e->none : NULL;
        if (c && (!chk || (chk != e->each && (c == e->each || (c == e->any && chk == e->none)))))
            chk = c;
    }
    matched shown = {ma_xcalloc(G->all.n ? G->all.n : 1, sizeof *shown.v), 0, G->all.j};
    size_t listed = 0, more = 0;
    int inorder_shown = 0;
    for (size_t k = 0; k < G->ng; k++) {
        const req_verdict *v = &G->gv[k];
        if (sure ? !group_fails_for_sure(e, v) : v->ok)
            continue;
        if (listed == MAX_GROUPS_SHOWN) {
            more++;
            continue;
        }
        listed++;
        char *key = ma_group_show(G->g[k].key);
        if (!v->count_ok && (!sure || only_upper_bounds(e->count))) {
            size_t from = r->failures.n;
            json_t *n = json_integer((json_int_t)v->count);
            ma_check_eval(e->count, n, &r->failures);
            json_decref(n);
            char *name = ma_xasprintf("count of group %s", key);
            rename_root(&r->failures, from, name);
            free(name);
            count_failed = 1;
        }
        const ma_check *failed[3] = {v->each_ok ? NULL : e->each, v->any_ok || sure ? NULL : e->any,
                                     v->none_ok ? NULL : e->none};
        for (int i = 0; i < 3; i++) {
            if (!failed[i])
                continue;
            group_check_failure(e, failed[i], &G->gm[k], key, r);
            if (chk == failed[i])
                for (size_t x = 0; x < G->gm[k].n; x++)
                    shown.v[shown.n++] = G->gm[k].v[x];
        }
        /* with entries evicted, the first ones may be gone: never sure */
        if (!v->inorder_ok && !sure) {
            inorder_failures(ev, e, &G->gm[k], key, !count_failed && !chk, r);
            inorder_shown = 1;
        }
        free(key);
    }
    if (more) {
        char *what = ma_xasprintf("... and %zu more failing group%s", more, more == 1 ? "" : "s");
        ma_failures_add(&r->failures, (ma_mark){0}, 0, "", what, NULL, NULL, 0);
        free(what);
    }
    if (count_failed)
        nearest_grouped(ev, e, G, r);
    else if (chk) {
        size_t unknown;
        show_breakers(ev, e, chk, &shown, r, &unknown);
    } else if (inorder_shown && r->nnear) {
        free(r->near_title);
        r->near_title = ma_xstrdup("the failing groups' first matching requests that break \"inOrder\" (all of "
                                   "them where too few matched), in journal order");
    }
    free(shown.v);
}

static void eval_grouped(ma_evaluator *ev, const ma_expectation *e, ma_result *r)
{
    int64_t deadline = ev->o.start_ns + e->within_ns;
    for (;;) {
        if (refresh(ev, r) < 0 || journal_off(ev, r) < 0)
            return;
        grouping G = judge_grouped(e, &ev->journal);
        if (G.ok || grouped_hopeless(e, &G) || !e->within_ns || ma_now_ns() >= deadline) {
            r->actual = ma_xasprintf("%zu matching request%s in %zu group%s by %s", G.all.n,
                                     G.all.n == 1 ? "" : "s", G.ng, G.ng == 1 ? "" : "s", e->groupby->text);
            int evicted = ev->journal.evicted > 0;
            if (G.gone) {
                untrusted(r, ma_xasprintf("the journal evicted %zu of the matching requests while they were read, so "
                                          "their groups are unknown (start mockapi with a larger -journal-entries / "
                                          "-journal-bytes)",
                                          G.gone));
            } else if (evicted && !grouped_robust(e, &G)) {
                untrusted(r, evicted_reason(&ev->journal));
            } else {
                r->status = G.ok ? MA_PASS : MA_FAIL;
                if (!G.ok)
                    explain_grouped(ev, e, &G, evicted, r);
            }
            grouping_free(&G);
            return;
        }
        grouping_free(&G);
        /* any new matching entry may change a group: re-evaluate after each */
        if (wait_more(ev, r, &e->filter, 0, deadline) < 0)
            return;
    }
}

static void describe_filter(ma_buf *b, const ma_filter *f)
{
    const char *sep = "";
    if (f->method) {
        ma_buf_printf(b, "%s", f->method);
        sep = " ";
    }
    if (f->path) {
        ma_buf_printf(b, "%s%s", sep, f->path);
        sep = " ";
    }
    if (f->route) {
        ma_buf_printf(b, "%s%s%s", sep, *sep ? "route=" : "", f->route);
        sep = " ";
    }
    if (f->status) {
        ma_buf_printf(b, "%sstatus=%d", sep, f->status);
        sep = " ";
    }
    if (f->fault) {
        ma_buf_printf(b, "%sfault=%s", sep, f->fault > 0 ? "true" : "false");
        sep = " ";
    }
    if (f->has_region)
        ma_buf_printf(b, "%sregion=%d", sep, f->region);
}

static void eval_order(ma_evaluator *ev, const ma_expectation *e, ma_result *r)
{
    int64_t deadline = ev->o.start_ns + e->within_ns;
    const ma_entry **first = ma_xcalloc(e->nsteps, sizeof *first);
    for (;;) {
        if (refresh(ev, r) < 0 || journal_off(ev, r) < 0)
            break;
        ma_journal *j = &ev->journal;
        int ok = 1;
        for (size_t s = 0; s < e->nsteps; s++) {
            first[s] = ma_journal_first(j, &e->steps[s]);
            if (!first[s] || (s > 0 && first[s - 1] && first[s]->seq < first[s - 1]->seq))
                ok = 0;
        }
        /* every step seen but in the wrong order: later requests cannot fix it */
        int all_seen = 1;
        for (size_t k = 0; k < e->nsteps; k++)
            all_seen &= first[k] != NULL;
        if (ok || all_seen || !e->within_ns || ma_now_ns() >= deadline) {
            if (j->evicted > 0) {
                untrusted(r, evicted_reason(j));
                break;
            }
            r->status = ok ? MA_PASS : MA_FAIL;
            if (ok)
                break;
            for (size_t s = 0; s < e->nsteps; s++) {
                ma_buf d = {0};
                describe_filter(&d, &e->steps[s]);
                if (!first[s]) {
                    char *what = ma_xasprintf("no request matched %s", ma_buf_str(&d));
                    ma_failures_add(&r->failures, e->steps[s].mark, 0, "", what, NULL, NULL, 0);
                    free(what);
                } else if (s > 0 && first[s - 1] && first[s]->seq < first[s - 1]->seq) {
                    ma_buf p = {0};
                    describe_filter(&p, &e->steps[s - 1]);
                    char *what = ma_xasprintf("the first %s (#%lld) came before the first %s (#%lld)",
                                              ma_buf_str(&d), first[s]->seq, ma_buf_str(&p), first[s - 1]->seq);
                    ma_failures_add(&r->failures, e->steps[s].mark, 0, "", what, NULL, NULL, 0);
                    free(what);
                    ma_buf_free(&p);
                }
                ma_buf_free(&d);
            }
            for (size_t s = 0; s < e->nsteps; s++)
                if (first[s] && r->nnear < ev->o.max_nearest)
                    add_near(r, ma_entry_object(j, first[s]), NULL);
            if (r->nnear)
                r->near_title = ma_xstrdup("the first request of each step, in the expected order");
            break;
        }
        ma_filter any = {0};
        if (wait_more(ev, r, &any, 0, deadline) < 0)
            break;
    }
    free(first);
}

static void eval_interval(ma_evaluator *ev, const ma_expectation *e, ma_result *r)
{
    int64_t deadline = ev->o.start_ns + e->within_ns;
    for (;;) {
        if (refresh(ev, r) < 0)
            return;
        if (journal_off(ev, r) < 0)
            return;
        matched m = select_entries(&ev->journal, &e->filter);
        json_t *n = json_integer((json_int_t)m.n);
        int count_ok = ma_check_eval(e->count, n, NULL);
        json_decref(n);
        int gaps_ok = 1, times_ok = 1;
        for (size_t i = 0; i < m.n; i++)
            times_ok &= m.v[i]->time_ns != 0;
        for (size_t i = 1; i < m.n && times_ok; i++) {
            int64_t gap = m.v[i]->time_ns - m.v[i - 1]->time_ns;
            int64_t off = gap - e->every_ns;
            if (off < 0)
                off = -off;
            if (off > e->tolerance_ns)
                gaps_ok = 0;
        }
        int ok = count_ok && gaps_ok && times_ok;
        /* a gap that is off stays off, and so does a count already too high */
        if (ok || !gaps_ok || !times_ok || !e->within_ns || ma_now_ns() >= deadline ||
            (!count_ok && !count_can_hold_later(e->count, m.n))) {
            r->actual = ma_xasprintf("%zu matching request%s", m.n, m.n == 1 ? "" : "s");
            if (!times_ok) {
                untrusted(r, ma_xstrdup("a journal entry has no readable time"));
            } else if (ev->journal.evicted > 0 && gaps_ok) {
                /* a bad gap among kept entries is real (eviction is oldest
                 * first, so kept entries are consecutive); a pass is not */
                untrusted(r, evicted_reason(&ev->journal));
            } else {
                r->status = ok ? MA_PASS : MA_FAIL;
            }
            if (r->status == MA_FAIL) {
                if (!count_ok) {
                    size_t from = r->failures.n;
                    json_t *cn = json_integer((json_int_t)m.n);
                    ma_check_eval(e->count, cn, &r->failures);
                    json_decref(cn);
                    rename_root(&r->failures, from, "count");
                }
                ma_buf want = {0};
                ma_format_duration(&want, e->every_ns);
                ma_buf_puts(&want, " +/- ");
                ma_format_duration(&want, e->tolerance_ns);
                json_t *jwant = json_string(ma_buf_str(&want));
                int shown = 0;
                for (size_t i = 1; i < m.n; i++) {
                    int64_t gap = m.v[i]->time_ns - m.v[i - 1]->time_ns;
                    int64_t off = gap - e->every_ns;
                    if ((off < 0 ? -off : off) <= e->tolerance_ns)
                        continue;
                    ma_buf got = {0};
                    ma_format_duration(&got, gap);
                    json_t *jgot = json_string(ma_buf_str(&got));
                    char *path = ma_xasprintf("gap #%lld -> #%lld", m.v[i - 1]->seq, m.v[i]->seq);
                    ma_failures_add(&r->failures, e->every_mark, 0, path, "interval", jwant, jgot, 1);
                    free(path);
                    json_decref(jgot);
                    ma_buf_free(&got);
                    if (shown < (int)ev->o.max_nearest) {
                        if (!r->nnear || r->near[r->nnear - 1].entry != ma_entry_object(m.j, m.v[i - 1])) {
                            add_near(r, ma_entry_object(m.j, m.v[i - 1]), NULL);
                            shown++;
                        }
                        add_near(r, ma_entry_object(m.j, m.v[i]), NULL);
                        shown++;
                    }
                }
                json_decref(jwant);
                ma_buf_free(&want);
                if (r->nnear)
                    r->near_title = ma_xstrdup("the requests on each side of the gaps that were off");
                else if (!count_ok)
                    nearest_to_filter(ev, r, &e->filter, NULL);
            }
            free(m.v);
            return;
        }
        long long lb = lower_bound(e->count);
        long long need = !count_ok && lb > (long long)m.n ? lb : 0;
        free(m.v);
        if (wait_more(ev, r, &e->filter, need, deadline) < 0)
            return;
    }
}

void ma_eval_run(ma_evaluator *ev, const ma_expectation *e, const char *file, ma_result *r)
{
    memset(r, 0, sizeof *r);
    r->exp = e;
    r->file = file;
    int64_t t0 = ma_now_ns();
    /* entries fetched again for the last expectation's explanations are
     * not needed any more (its results hold their own references) */
    ma_journal_release(&ev->journal);
    announce(ev, e); /* nothing new when ma_eval_prepare saw e */
    if (!ev->identified && !ev->down) {
        /* once per run, before any verdict: its answer is the counters' cache */
        ev->identified = 1;
        json_t *a = NULL;
        char *why = NULL;
        if (ma_identify(&ev->o.src, ev->o.server, &a, &why) < 0)
            ev->down = why;
        else
            ev->counters = a;
    }
    if (ev->down) {
        untrusted(r, ma_xstrdup(ev->down));
    } else {
        switch (e->kind) {
        case MA_EXP_COUNTER:
            eval_counter(ev, e, r);
            break;
        case MA_EXP_LAST:
            eval_last(ev, e, r);
            break;
        case MA_EXP_REQUESTS:
            eval_requests(ev, e, r);
            break;
        case MA_EXP_ORDER:
            eval_order(ev, e, r);
            break;
        case MA_EXP_INTERVAL:
            eval_interval(ev, e, r);
            break;
        }
    }
    r->elapsed_ns = ma_now_ns() - t0;
}
