/* journal.h: the bounded request journal (pure data structure; no locks).
 *
 * An entry is one immutable allocation, refcounted so that readers can take
 * references under the state lock and render after releasing it. The ring
 * is bounded by entry count and by bytes; the oldest entries are evicted
 * first and every eviction is counted. The owner (mk_state) serialises all
 * calls on one journal with its lock. */
#ifndef MK_JOURNAL_H
#define MK_JOURNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "glob.h"
#include "gojson.h"

typedef struct mk_jentry {
    atomic_int refs;
    uint64_t seq;
    gj_time time;
    int listener;
    bool tls;
    bool gzipped;
    bool test; /* a request under /test/ */
    int status;
    int counter;       /* mockapi_counter moved, or -1 */
    const char *route; /* static name, or NULL when nothing matched */
    const char *method, *path, *query; /* NUL-terminated, inside the entry */
    size_t path_len;
    int nheaders;
    const char **hname, **hvalue;
    const char *body; /* decoded body */
    size_t body_len;
    size_t raw_size;  /* body size on the wire (a refused body: as declared) */
    /* what the mock answered: its header lines but Date (the time is
     * e->time), its body's size, the time from the request's arrival in
     * dispatch to the response being built, and the error reason of a 4xx
     * or 5xx: its X-Mockapi-Error header, else the text of the error body
     * (the "error" member of a JSON one); NULL when there is none */
    int rnheaders;
    const char **rhname, **rhvalue;
    size_t rbody_size;
    int64_t duration_us;
    const char *error;
    /* the fault applied (faults.h), when fault_source is not NULL: its
     * source ("header", "rule", "flag"), rule id (0 for the header), its
     * canonical spec and what went on the wire (fault.h
     * mk_fault_wire_text); and the region that served it (-1: regions off) */
    const char *fault_source; /* static */
    int fault_rule;
    const char *fault_spec, *fault_wire; /* inside the entry */
    int region;
    /* the session it reached and how (session.h), when it named one: via
     * NULL for a request that fell to "default" */
    const char *session, *session_via; /* inside the entry; static */
    /* the credential a strict session's request carried (strict.h), when
     * auth_class is not NULL: its class, the fingerprint of the token
     * ("sha256:" and 8 hex digits; NULL when none), the node it belongs to
     * (NULL: none), and whether the skip-auth fault key skipped the check */
    const char *auth_class;             /* static */
    const char *auth_token, *auth_node; /* inside the entry */
    bool auth_skipped;
    size_t bytes;     /* this entry's allocation, for the byte bound */
    struct mk_jentry *dead_next; /* once out of the journal: the list to release */
} mk_jentry;

/* One request header as the transport hands it over. */
typedef struct mk_header_kv {
    const char *name;
    const char *value;
} mk_header_kv;

typedef struct mk_jentry_in {
    int listener;
    bool tls, gzipped;
    int status, counter;
    const char *route;
    const char *method, *path, *query;
    size_t path_len;
    int nheaders;
    const mk_header_kv *headers;
    const char *body;
    size_t body_len, raw_size;
    /* the response: its head as written (status line, header lines; parsed
     * here), the size of the body that follows it, and the duration */
    const char *rhead;
    size_t rhead_len;
    size_t rbody_size;
    /* the body when it was built inline (error answers are), else NULL */
    const char *rbody;
    size_t rbody_len;
    int64_t duration_us;
    /* the fault applied (as in mk_jentry; fault_source NULL: none), and the
     * region, recorded only with has_region (regions on) */
    const char *fault_source;
    int fault_rule;
    const char *fault_spec, *fault_wire;
    bool has_region;
    int region;
    const char *session, *session_via; /* recorded with session_via set */
    const char *auth_class, *auth_token, *auth_node; /* recorded with auth_class set */
    bool auth_skipped;
} mk_jentry_in;

/* Builds an entry (refs = 1, seq 0 until appended); secrets in headers are
 * replaced by a short fingerprint. NULL on out-of-memory. */
mk_jentry *mk_jentry_new(const mk_jentry_in *in);
mk_jentry *mk_jentry_ref(mk_jentry *e);
void mk_jentry_unref(mk_jentry *e);

typedef struct mk_journal {
    size_t max_entries; /* 0: journal off */
    size_t max_bytes;
    mk_jentry **ring;
    size_t cap, head, len;
    size_t bytes;
    uint64_t next_seq; /* seq of the next entry, from 1 */
    uint64_t epoch;    /* how many times it was cleared: seqs restart at 1 then */
    uint64_t evicted, evicted_bytes;
} mk_journal;

void mk_journal_init(mk_journal *j, size_t max_entries, size_t max_bytes);
/* Entries leaving the journal are chained onto a caller's list (*dead,
 * through dead_next) for mk_jentry_release_list after the caller unlocks:
 * however many go, nothing is freed under the lock and nothing is lost. */

/* Drops every entry and the eviction counts; seq starts over at 1. */
void mk_journal_clear(mk_journal *j, mk_jentry **dead);
/* Appends e (ownership taken) and evicts the oldest until both bounds hold.
 * Returns the seq given to e, or 0 when the journal is off (e then goes to
 * *dead too). */
uint64_t mk_journal_append(mk_journal *j, mk_jentry *e, mk_jentry **dead);
/* Unrefs every entry of a dead list. */
void mk_jentry_release_list(mk_jentry *dead);

/* A filter, parsed from a query string (method, path, route, status, since,
 * limit or last, include_test). Strings point into the filter itself; the path glob
 * is compiled once, here, so matching an entry costs one pass over its path
 * (glob.h). Plain data: copyable, nothing to free. */
typedef struct mk_jfilter {
    const char *method, *path, *route; /* NULL: any */
    int status;         /* 0: any */
    uint64_t since;     /* seq > since */
    size_t limit;
    bool last;          /* `last=N`: the newest `limit` matches, not the oldest */
    bool include_test;
    mk_glob glob;       /* path, compiled */
    char method_buf[32], route_buf[32], path_buf[MK_GLOB_MAX + 1];
} mk_jfilter;

#define MK_JFILTER_MAX_LIMIT 100000 /* `limit` (default 1000) and `last` */

/* The query keys a filter reads, for the routes that add their own. */
#define MK_JFILTER_KEYS "method", "path", "route", "status", "since", "limit", "last", "include_test"

/* Parses a raw query string (NULL = no filter). Strict: a key that is not a
 * filter's, a key given twice or a malformed value is refused. Returns 0,
 * or -1 with a message naming the parameter in err (query.h's forms, and
 * for `route` the unknown route with a "did you mean"). */
int mk_jfilter_parse(const char *query, mk_jfilter *f, char *err, size_t errlen);
/* The same, with more[0..nmore) accepted as well and left to the caller
 * (e.g. /test/wait's op, value, timeout_ms). */
int mk_jfilter_parse_with(const char *query, mk_jfilter *f, const char *const *more, size_t nmore,
                          char *err, size_t errlen);
/* Whether e passes f. Pure: callers run it outside every lock, on entries
 * they hold references to. */
bool mk_jfilter_match(const mk_jfilter *f, const mk_jentry *e);

/* A waiter's progress over the journal, so that each check reads only the
 * entries that arrived since the previous one: entries up to last_seq were
 * read (in epoch `epoch`), `count` of them matched. All zero: nothing read
 * yet. An entry evicted after it was counted stays counted. */
typedef struct mk_jprogress {
    uint64_t epoch, last_seq;
    int64_t count;
} mk_jprogress;

/* Iteration from the oldest entry: i in [0, len). */
mk_jentry *mk_journal_at(const mk_journal *j, size_t i);

/* Renders one entry as the JSON object of GET /test/requests. */
void mk_jentry_json(const mk_jentry *e, mk_buf *out);
/* The same without the request's and the response's headers and the
 * request body (their sizes and the body's encoding stay): what a list of
 * many entries shows, the rest fetched for the one a reader opens. */
void mk_jentry_json_brief(const mk_jentry *e, mk_buf *out);
/* The number of bytes mk_jentry_json appends for e, without writing the
 * body (most of them): for the length of a listing sent in pieces.
 * scratch holds the rest meanwhile (its contents are replaced; its err
 * set when out of memory). */
size_t mk_jentry_json_len(const mk_jentry *e, mk_buf *scratch);

/* The journal's figures a GET /test/requests answer ends with, taken with
 * the entries (under the same lock). */
typedef struct mk_jstats {
    uint64_t next_seq, oldest_seq, evicted, evicted_bytes;
    uint64_t epoch; /* resets so far (mk_journal.epoch) */
    size_t max_entries, max_bytes;
} mk_jstats;

/* The answer is: mk_jresult_open, the entries separated by ',' (the first
 * without), then mk_jresult_close, so a writer can stream it in pieces. */
/* The listing's opening bytes (a constant so a streaming writer can count them). */
#define MK_JRESULT_OPEN "{\"entries\":["
void mk_jresult_open(mk_buf *out);
void mk_jresult_close(const mk_jstats *st, mk_buf *out);

#endif
