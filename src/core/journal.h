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
    int nheaders;
    const char **hname, **hvalue;
    const char *body; /* decoded body */
    size_t body_len;
    size_t raw_size;  /* body size on the wire */
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
 * limit, include_test). Strings point into `storage`. */
typedef struct mk_jfilter {
    const char *method, *path, *route;
    int status;         /* 0: any */
    uint64_t since;     /* seq > since */
    size_t limit;
    bool include_test;
    char storage[1024];
} mk_jfilter;

/* Parses a raw query string (NULL = no filter). Returns 0, or -1 with a
 * reason in err for a malformed value. */
int mk_jfilter_parse(const char *query, mk_jfilter *f, char *err, size_t errlen);
bool mk_jfilter_match(const mk_jfilter *f, const mk_jentry *e);

/* Iteration from the oldest entry: i in [0, len). */
mk_jentry *mk_journal_at(const mk_journal *j, size_t i);

/* Renders one entry as the JSON object of GET /test/requests. */
void mk_jentry_json(const mk_jentry *e, mk_buf *out);

#endif
