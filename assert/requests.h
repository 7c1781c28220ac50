/* requests.h: the request journal as mockassert holds it (pure: the server
 * is reached only through a callback the caller sets). Applies the same
 * filters as the server (method, path glob, route, status), ranks entries
 * by similarity to a filter, and parses RFC 3339 times.
 *
 * Built for journals of 100,000 entries and more (bench/assert_bench.sh):
 *  - An entry is kept compact: seq, time, status, and method, path and
 *    route interned. Neither its JSON object nor its body is kept.
 *  - Entries with the same method, path, route, status and test flag share
 *    a shape; a filter is matched once per shape, not once per entry, and
 *    each filter's selection is remembered (and extended as the journal
 *    grows) for the run.
 *  - A check that will be applied to each body a filter selects (each /
 *    any / none) is announced before the journal is read (ma_journal_want);
 *    it is then evaluated once per entry as the entry streams in, on a
 *    document holding only what the check's paths reach (project.h), and
 *    only its verdict is kept; bodies of a shape that read the same to the
 *    checks get the remembered verdicts.
 *  - The entry object and the whole body, needed to explain a failure and
 *    to show entries, come from the text of the most recent entries (kept
 *    up to a budget, ma_journal_set_keep) or are fetched again from the
 *    server (ma_journal_set_fetch), and are kept until ma_journal_release.
 * Pages are read by pages.c. Not thread-safe. */
#ifndef MA_REQUESTS_H
#define MA_REQUESTS_H

#include <jansson.h>
#include <stdint.h>

#include "spec.h"

/* The fault the server applied to a request: its entry's "fault" member,
 * {"source":"rule","rule":3,"spec":"status=503; first=2","wire":"response"}.
 * Interned by the journal (entries with the same fault share one). */
typedef struct {
    const char *source; /* "header", "rule" or "flag" (interned; "" if absent) */
    long long rule;     /* the rule's id; -1 when the entry names none (header) */
    const char *spec;   /* the canonical spec (interned; "" if absent) */
    const char *wire;   /* what went on the wire: response, fin, rst, partial:128, ... */
} ma_fault;

typedef struct {
    long long seq;
    int64_t time_ns;    /* since the epoch; 0 if unknown */
    const char *method; /* interned by the journal ("" if absent) */
    const char *path;   /* likewise ("" if absent) */
    const char *route;  /* likewise; NULL if no route matched */
    const ma_fault *fault; /* NULL: none was applied */
    int status;
    int16_t region;     /* the region (listener) that received it; -1: none (regions off, TLS) */
    uint8_t test;       /* a request to a /test/ route */
    uint32_t shape;     /* entries alike in all of the above but seq and time */
    uint32_t idx;       /* this entry's index in its journal's v */
} ma_entry;

typedef struct ma_jstore ma_jstore;

typedef struct ma_journal {
    ma_entry *v;
    size_t n;
    long long next_seq;   /* from the last page */
    long long oldest_seq;
    long long evicted;    /* entries the server evicted */
    long long max_entries;
    int max_known;        /* a page said max_entries (0 there: the journal is off) */
    ma_jstore *s;         /* interned strings, shapes, selections, checks, fetched entries (owned) */
} ma_journal;

/* Appends the entries of one /test/requests answer, already parsed
 * (entries with a seq not above the last one held are skipped, so pages
 * may overlap). Returns the number of entries in the page, or -1 with why
 * set when it is not a journal page. */
long ma_journal_add_page(ma_journal *j, const json_t *page, const char **why);

/* The same from the answer's text as it arrives, piece by piece: entries
 * are taken as soon as they are complete, so the answer is never held
 * whole. An answer that does not start as mockapi's pages do is kept whole
 * instead (ma_page_whole), for the caller to read as JSON.
 * With fetched set, the reader adds nothing: it keeps the text of each
 * entry whose seq the journal wants (ma_journal_wants) as fetched. */
typedef struct ma_page_reader ma_page_reader;
ma_page_reader *ma_page_reader_new(ma_journal *j, int fetched);
/* 0; 1 when the rest of the answer is not wanted (see
 * ma_page_reader_stop_after): stop reading; or -1 (why set) when the text
 * cannot be a journal page: stop. */
int ma_page_reader_feed(ma_page_reader *r, const char *p, size_t n, const char **why);
/* With fetched: the answer is read only up to the first entry past seq
 * (a fetcher that knows the last entry it wants). */
void ma_page_reader_stop_after(ma_page_reader *r, long long seq);
/* At the end of the answer: 1 when the answer was kept whole (read it with
 * ma_page_whole), else 0 with *entries (the number in the page) and
 * *next_seq (the page's next_seq, -1 if it had none), or -1 with why. The
 * page's counters (next_seq, oldest_seq, evicted, max_entries) are applied
 * to the journal only by ma_page_reader_apply, so a caller that finds the
 * journal was reset can discard the page. */
int ma_page_reader_finish(ma_page_reader *r, long *entries, long long *next_seq, const char **why);
void ma_page_reader_apply(ma_page_reader *r);
/* The highest seq among the page's entries so far (0: none). */
long long ma_page_reader_last_seq(const ma_page_reader *r);
/* The answer kept whole (NUL-terminated), when finish returned 1. */
const char *ma_page_whole(const ma_page_reader *r, size_t *len);
void ma_page_reader_free(ma_page_reader *r);

/* Frees everything (j is then empty, as {0}). */
void ma_journal_free(ma_journal *j);
/* Drops every entry (the server's journal was reset) but keeps the checks
 * announced with ma_journal_want and the fetcher, for the entries to come. */
void ma_journal_reset(ma_journal *j);
/* The highest seq held (0 if none). */
long long ma_journal_last_seq(const ma_journal *j);

/* Announces that check c will be applied to the body of every entry f
 * selects (ma_entry_check): from now on each entry is checked as it is
 * added. c and f are borrowed and must outlive the journal. Announcing the
 * same pair again does nothing. Entries held before the announcement are
 * checked when first asked about, from their fetched bodies. */
void ma_journal_want(ma_journal *j, const ma_filter *f, const ma_check *c);

/* The entries f selects, oldest first: *out is an array the caller frees
 * (its pointers are into j->v, valid until the journal changes). */
size_t ma_journal_select(ma_journal *j, const ma_filter *f, const ma_entry ***out);
/* The first entry f selects, or NULL. */
const ma_entry *ma_journal_first(ma_journal *j, const ma_filter *f);
/* Up to max entries that f does not exclude as a /test/ request, most
 * similar to f first (ma_filter_similarity), then most recent; into out
 * (room for max). Returns how many. */
size_t ma_journal_nearest(ma_journal *j, const ma_filter *f, size_t max, const ma_entry **out);

/* Fetching entries again (the whole object, body included). fetch is
 * called with entries of j (seq ascending) that are wanted and, when all
 * of them are selected by one filter, that filter (else NULL) and span,
 * how many entries the filter selects from the first of them through the
 * last (0: not known); it hands each entry it gets to ma_journal_put (or,
 * reading an answer with a page reader made with fetched set, the reader
 * does) and returns 0, or -1 when the server could not be asked (then the
 * entries stay unfetched). */
typedef int (*ma_fetch_fn)(void *ctx, ma_journal *j, const ma_entry *const *v, size_t n, size_t span,
                           const ma_filter *f);
void ma_journal_set_fetch(ma_journal *j, ma_fetch_fn fetch, void *ctx);
/* Keeps obj (an entry object; borrowed) for the entry of j with its seq,
 * if j holds one that is wanted. */
void ma_journal_put(ma_journal *j, const json_t *obj);
/* 1 if the entry with this seq is held and was asked for but not fetched
 * yet (a fetcher's filter for ma_journal_put). */
int ma_journal_wants(const ma_journal *j, long long seq);
/* Fetches the entries of v not fetched yet, in as few requests as it can
 * (f: a filter selecting all of them, or NULL; span as for ma_fetch_fn). */
void ma_journal_fetch(ma_journal *j, const ma_entry *const *v, size_t n, size_t span, const ma_filter *f);
/* How many bytes of the most recent entries' text to keep (default 16
 * MiB): entries kept are shown and explained without asking the server
 * again, which may have evicted them since (mockassert's own requests are
 * journaled too). Set it before adding entries. */
void ma_journal_set_keep(ma_journal *j, size_t bytes);
/* Drops the fetched entries (pointers from ma_entry_object and
 * ma_entry_body become invalid). */
void ma_journal_release(ma_journal *j);

/* The entry as GET /test/requests shows it: fetched from the server (see
 * ma_journal_set_fetch) when not fetched yet. When it cannot be (the server
 * evicted it since, or cannot be reached), an object with what the journal
 * keeps (seq, method, path, status, route, test) and no body. Borrowed,
 * until ma_journal_release. Never NULL. */
json_t *ma_entry_object(ma_journal *j, const ma_entry *e);
/* 1 if e was asked for (ma_entry_object, ma_entry_body) and the server no
 * longer has it (evicted since the journal was read): what it returned is
 * a stand-in. */
int ma_entry_gone(const ma_journal *j, const ma_entry *e);
/* The entry's body as ma_json_from_body reads it (a base64 body is the
 * JSON string of its base64 text); NULL when it has none or it is not
 * UTF-8, or when the entry cannot be fetched. Borrowed, like
 * ma_entry_object. */
json_t *ma_entry_body(ma_journal *j, const ma_entry *e);
/* Evaluates c on e's body, like ma_check_truth(c, ma_entry_body(j, e),
 * entry, out) (true, false or unknown: match.h); a check with a subject
 * (ma_check_reads_entry) reads the entry object too (parsed from the
 * entry's text as it streams in when announced, else ma_entry_object). Without out the verdict comes from the check announced with
 * ma_journal_want when there is one, with nothing fetched. With out, a
 * failing check's details are computed on e fetched again (with the next
 * failing entries of the selection, up to 256, in one request), which is
 * then dropped; when the server no longer has e, the verdict stays and a
 * failure says its details cannot be shown. */
ma_truth ma_entry_check(ma_journal *j, const ma_entry *e, const ma_check *c, ma_failures *out);

/* 1 if the glob matches path: '*' matches within a segment, '**' across
 * segments (README, "The request journal"). */
int ma_glob_match(const char *glob, const char *path);
/* 1 if e passes every field of f. Test entries pass only filters that ask
 * for a /test route or path (see ma_filter_wants_test). */
int ma_filter_match(const ma_filter *f, const ma_entry *e);
/* 1 if f has keys the server's journal filter does not know (fault,
 * region): the server's selection (ma_filter_query) is then wider than
 * f's, and mockassert narrows it. */
int ma_filter_local(const ma_filter *f);
/* 1 if the filter is about /test/ routes (they are hidden otherwise). */
int ma_filter_wants_test(const ma_filter *f);
/* How similar e is to what f asks for, 0..100 (100: it matches). */
int ma_filter_similarity(const ma_filter *f, const ma_entry *e);

/* f as its entry's JSON has it: {"source":..,"rule":N,"spec":..,"wire":..}
 * ("rule" only when it names one). New reference. */
json_t *ma_fault_json(const ma_fault *f);

/* Parses "2026-11-24T07:03:01.245643716Z" (or a +hh:mm offset). 0 or -1. */
int ma_parse_rfc3339(const char *s, int64_t *ns);

/* The URL query for f (e.g. "method=POST&path=%2Fv1%2F..."), "" when f is
 * empty; test entries included when f wants them. The server does not
 * filter by fault or region: those keys are left out (a wider selection,
 * see ma_filter_local). Caller frees. */
char *ma_filter_query(const ma_filter *f);

#endif
