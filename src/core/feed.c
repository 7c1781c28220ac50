/* feed.c: the live page's feed; see feed.h. */
#include "feed.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "journal.h"
#include "query.h"
#include "respond.h"
#include "state.h"

typedef struct feed {
    mk_session *S;          /* a reference */
    uint64_t epoch, last;   /* the cursor: entries up to `last` of `epoch` were sent */
    uint64_t backlog_end;   /* the newest entry when it opened: until then, as fast as it reads */
    bool include_test, brief;
    bool fresh;             /* no position given: from the oldest entry there is at the first pull */
    int64_t sent[MOCKAPI_COUNTER_COUNT]; /* the counters as the page has them */
} feed;

/* The counters that differ from what was sent, as one JSON object (all of
 * them with all true), recorded as sent. Returns how many. */
static int counters_json(feed *f, bool all, mk_buf *out)
{
    int n = 0;
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++) {
        int64_t v = mk_state_counter(&f->S->state, i);
        if (!all && v == f->sent[i])
            continue;
        mk_buf_puts(out, n++ ? ",\"" : "{\"");
        mk_buf_puts(out, mockapi_counter_name((mockapi_counter)i));
        mk_buf_printf(out, "\":%lld", (long long)v);
        f->sent[i] = v;
    }
    if (n)
        mk_buf_puts(out, "}");
    return n;
}

static void put_gap(mk_buf *out, uint64_t after, uint64_t next, const char *why)
{
    mk_buf_printf(out, "event: gap\ndata: {\"after\":%llu,\"next\":%llu,\"missed\":%llu,\"reason\":\"%s\"}\n\n",
                  (unsigned long long)after, (unsigned long long)next, (unsigned long long)(next - after - 1), why);
}

static int pull(void *arg, mk_buf *out, mk_sse_more *more)
{
    feed *f = arg;
    mk_jentry *e[MK_FEED_MAX_ENTRIES];
    mk_jstats st;
    mk_state_journal_next(&f->S->state, UINT64_MAX, e, 0, &st); /* the figures only */
    bool live = f->last >= f->backlog_end;
    /* Following, a page gets at most one frame per flush: a server at full
     * load would otherwise render every entry it serves again for it.
     * Further behind than MK_FEED_FOLLOW_MAX, it skips to the newest frame,
     * and says so. */
    if (st.epoch == f->epoch && live && st.next_seq - 1 > f->last + MK_FEED_FOLLOW_MAX) {
        uint64_t to = st.next_seq - 1 - MK_FEED_MAX_ENTRIES;
        put_gap(out, f->last, to + 1, "behind");
        f->last = to;
    }
    size_t n = mk_state_journal_next(&f->S->state, f->last, e, MK_FEED_MAX_ENTRIES, &st);
    if (st.epoch != f->epoch) {
        /* cleared since: start over from its beginning, as a backlog */
        for (size_t i = 0; i < n; i++)
            mk_jentry_unref(e[i]);
        f->epoch = st.epoch;
        f->last = 0;
        f->backlog_end = st.next_seq - 1;
        mk_buf_printf(out, "event: reset\ndata: {\"epoch\":%llu}\n\n", (unsigned long long)st.epoch);
        *more = MK_SSE_MORE_NOW;
        return 0;
    }
    /* evicted before this page got them: said, never a silent hole */
    uint64_t first = n ? e[0]->seq : st.next_seq;
    if (first > f->last + 1) {
        /* a reader that asked for no position missed nothing: the oldest
         * entry went (its own request's, maybe) after it opened */
        if (!f->fresh)
            put_gap(out, f->last, first, "evicted");
        f->last = first - 1;
    }
    f->fresh = false;
    size_t used = 0, shown = 0, bytes = 0;
    for (; used < n && bytes < MK_FEED_MAX_BYTES; used++) {
        const mk_jentry *x = e[used];
        f->last = x->seq;
        if (x->test && !f->include_test)
            continue;
        mk_buf_puts(out, shown++ ? "," : "event: requests\ndata: [");
        size_t before = out->len;
        if (f->brief)
            mk_jentry_json_brief(x, out);
        else
            mk_jentry_json(x, out);
        bytes += out->len - before;
    }
    if (shown) /* a field's place in an event does not matter: the id, known now, last */
        mk_buf_printf(out, "]\nid: %llu\n\n", (unsigned long long)f->last);
    else if (used) /* /test/ requests only: an id alone (no event for the page, but
                    * EventSource keeps it for Last-Event-ID), so that a resume
                    * does not report them as a gap once they are evicted */
        mk_buf_printf(out, "id: %llu\n\n", (unsigned long long)f->last);
    /* a backlog goes on at once; a follower waits for the next flush */
    if (used < n || n == MK_FEED_MAX_ENTRIES)
        *more = live ? MK_SSE_MORE_LATER : MK_SSE_MORE_NOW;
    for (size_t i = 0; i < n; i++)
        mk_jentry_unref(e[i]);
    size_t cmark = out->len;
    mk_buf_puts(out, "event: counters\ndata: ");
    if (counters_json(f, false, out))
        mk_buf_puts(out, "\n\n");
    else
        out->len = cmark; /* none moved */
    return 0;
}

static void release(void *arg)
{
    feed *f = arg;
    mk_state_feed_end(&f->S->state);
    mk_session_release(f->S);
    free(f);
}

int mk_feed_open(mk_session *S, bool has_since, uint64_t since, const uint64_t *epoch, bool include_test,
                 bool brief, mk_buf *head, mk_sse_source *src)
{
    feed *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->S = mk_session_ref(S);
    f->include_test = include_test;
    f->brief = brief;
    /* counted from here: every append after this point wakes the hub */
    mk_state_feed_begin(&S->state);
    mk_jentry *none[1];
    mk_jstats st;
    mk_state_journal_next(&S->state, UINT64_MAX, none, 0, &st);
    f->epoch = st.epoch;
    /* a position past the journal's end is from before a reset: the page
     * starts over (told so); none: from the oldest entry kept, no gap */
    bool stale = has_since && (since >= st.next_seq || (epoch && *epoch != st.epoch));
    f->last = stale ? 0 : has_since ? since : st.oldest_seq - 1;
    f->backlog_end = st.next_seq - 1;
    f->fresh = !has_since;
    mk_buf_puts(head, "retry: 1000\n\nevent: hello\ndata: {\"session\":");
    gj_write_string(head, S->id, strlen(S->id));
    mk_buf_printf(head, ",\"epoch\":%llu,\"next_seq\":%llu,\"oldest_seq\":%llu,\"counters\":",
                  (unsigned long long)st.epoch, (unsigned long long)st.next_seq,
                  (unsigned long long)st.oldest_seq);
    counters_json(f, true, head);
    mk_buf_puts(head, "}\n\n");
    if (stale)
        mk_buf_printf(head, "event: reset\ndata: {\"epoch\":%llu}\n\n", (unsigned long long)st.epoch);
    *src = (mk_sse_source){.pull = pull, .release = release, .arg = f};
    return 0;
}

/* Parses a journal position: digits only, at most 19 of them. */
static bool parse_seq(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
        return false;
    *out = strtoull(s, NULL, 10);
    return true;
}

void mk_respond_feed(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    static const char *const keys[] = {"since", "include_test", "brief", "epoch"};
    char err[200], v[32];
    if (mk_query_check(req->query, keys, 4, err, sizeof err) != 0) {
        mk_err_bad_query(req, resp, err);
        return;
    }
    uint64_t since = 0;
    bool has_since = false, include_test = false;
    int r = mk_query_get(req->query, "since", v, sizeof v);
    if (r != 0 && !(r > 0 && (has_since = parse_seq(v, &since)))) {
        mk_err_bad_query(req, resp, "since must be a journal seq (a whole number: the entries after it follow)");
        return;
    }
    r = mk_query_get(req->query, "include_test", v, sizeof v);
    if (r != 0 && !(r > 0 && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "0") == 0 ||
                              strcmp(v, "false") == 0))) {
        mk_err_bad_query(req, resp, "include_test must be 1, true, 0 or false");
        return;
    }
    include_test = r > 0 && (v[0] == '1' || v[0] == 't');
    r = mk_query_get(req->query, "brief", v, sizeof v);
    if (r != 0 && !(r > 0 && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "0") == 0 ||
                              strcmp(v, "false") == 0))) {
        mk_err_bad_query(req, resp, "brief must be 1, true, 0 or false");
        return;
    }
    bool brief = r > 0 && (v[0] == '1' || v[0] == 't');
    uint64_t epoch;
    r = mk_query_get(req->query, "epoch", v, sizeof v);
    if (r != 0 && !(r > 0 && parse_seq(v, &epoch))) {
        mk_err_bad_query(req, resp, "epoch must be a whole number (the hello event's epoch of the position)");
        return;
    }
    bool has_epoch = r > 0;
    /* a reconnecting EventSource sends the last id it saw: the position */
    const char *leid = mk_req_header(req, "Last-Event-ID");
    if (leid && *leid) {
        if (!parse_seq(leid, &since)) {
            mk_err_bad_query(req, resp, "Last-Event-ID must be a journal seq, as this feed's ids are");
            return;
        }
        has_since = true;
    }
    bool head = strcmp(req->method, "HEAD") == 0;
    if (!head && mk_sse_count(m->sse, NULL, -1) >= (int)m->cfg.sse_max_clients) {
        resp->close = true;
        mk_err_streams_full(req, resp);
        return;
    }
    mk_buf *o = &resp->out;
    resp->status = 200;
    mk_buf_puts(o, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n");
    mk_put_region(req, o);
    mk_put_date(o);
    if (head) {
        mk_buf_puts(o, "\r\n");
        return;
    }
    mk_buf_puts(o, "Connection: close\r\n\r\n"); /* close-delimited, as the node streams */
    if (mk_feed_open(S, has_since, since, has_epoch ? &epoch : NULL, include_test, brief, o, &resp->stream_src) != 0) {
        mk_buf_reset(o);
        mk_err_internal(req, resp, "out of memory");
        return;
    }
    resp->close = true;
    resp->stream = true;
    resp->stream_topic = MK_TOPIC_FEED;
    resp->stream_space = mk_sse_space_ref(S->sse);
}
