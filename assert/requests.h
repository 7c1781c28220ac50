/* requests.h: the request journal as mockassert sees it (pure). Parses the
 * pages of GET /test/requests, applies the same filters as the server
 * (method, path glob, route, status), ranks entries by similarity to a
 * filter, and parses RFC 3339 times. No I/O. */
#ifndef MA_REQUESTS_H
#define MA_REQUESTS_H

#include <jansson.h>
#include <stdint.h>

#include "spec.h"

typedef struct {
    long long seq;
    int64_t time_ns;    /* since the epoch; 0 if unknown */
    const char *method; /* borrowed from entry ("" if absent) */
    const char *path;
    const char *route;  /* NULL if no route matched */
    int status;
    int test;           /* a request to a /test/ route */
    json_t *entry;      /* the entry object (borrowed from the journal) */
    json_t *body;       /* the body as JSON (see ma_json_from_body); owned; NULL if none */
} ma_entry;

typedef struct {
    ma_entry *v;
    size_t n;
    long long next_seq;   /* from the last page */
    long long oldest_seq;
    long long evicted;    /* entries the server evicted */
    long long max_entries;
    int max_known;        /* a page said max_entries (0 there: the journal is off) */
    json_t *raw;          /* array holding every entry object (owned) */
} ma_journal;

/* Appends the entries of one /test/requests answer (entries with a seq
 * not above the last one held are skipped, so pages may overlap). Returns
 * the number of entries in the page, or -1 with why set when it is not a
 * journal page. */
long ma_journal_add_page(ma_journal *j, const json_t *page, const char **why);
void ma_journal_free(ma_journal *j);
/* The highest seq held (0 if none). */
long long ma_journal_last_seq(const ma_journal *j);

/* 1 if the glob matches path: '*' matches within a segment, '**' across
 * segments (README, "The request journal"). */
int ma_glob_match(const char *glob, const char *path);
/* 1 if e passes every field of f. Test entries pass only filters that ask
 * for a /test route or path (see ma_filter_wants_test). */
int ma_filter_match(const ma_filter *f, const ma_entry *e);
/* 1 if the filter is about /test/ routes (they are hidden otherwise). */
int ma_filter_wants_test(const ma_filter *f);
/* How similar e is to what f asks for, 0..100 (100: it matches). */
int ma_filter_similarity(const ma_filter *f, const ma_entry *e);

/* Parses "2026-11-24T07:03:01.245643716Z" (or a +hh:mm offset). 0 or -1. */
int ma_parse_rfc3339(const char *s, int64_t *ns);

/* The URL query for f (e.g. "method=POST&path=%2Fv1%2F..."), "" when f is
 * empty; test entries included when f wants them. Caller frees. */
char *ma_filter_query(const ma_filter *f);

#endif
