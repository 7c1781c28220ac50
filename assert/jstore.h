/* jstore.h: what requests.c (the journal store) and pages.c (reading
 * pages of /test/requests as they arrive) share; private to mockassert's
 * journal, not for other files. Names start ma_js_. */
#ifndef MA_JSTORE_H
#define MA_JSTORE_H

#include <jansson.h>
#include <stddef.h>

#include "gojson.h"
#include "requests.h"
#include "util.h"

/* One entry as read from a page, before it is interned: strings as
 * (pointer, length), already decoded. */
typedef struct {
    long long seq;
    const char *time; /* NUL-terminated, or NULL */
    const char *method, *path, *route;
    size_t method_len, path_len, route_len;
    int status;
    int test;
    const json_t *fault; /* the "fault" member (an object), or NULL */
    int region;          /* the "region" member, or -1 */
    const char *body; /* decoded text, or NULL (no body string) */
    size_t body_len;
    const char *body_lit; /* or the JSON string literal, quotes included, */
    size_t body_lit_len;  /* decoded only when a check reads it */
    int base64;
    /* the whole entry: its JSON text, or (ma_journal_add_page) its object;
     * read only for checks on headers, query or the response */
    const char *text;
    size_t text_len;
    const json_t *obj;
} raw_entry;

/* One member of an entry object: key literal [ks, ke), value [vs, ve). */
typedef struct {
    size_t ks, ke, vs, ve;
    gj_kind k;
    int decoded; /* the body string: decoded while walked, into the reader's body buffer */
} member;

#define MAX_MEMBERS 64 /* an entry has about twenty */

/* The store of j, made empty on first use. */
ma_jstore *ma_js_store(ma_journal *j);
/* Adds r unless its seq is not above the last held, applying the checks
 * announced for its shape. 0, or -1 if its body literal does not decode. */
int ma_js_add_entry(ma_journal *j, const raw_entry *r);
/* Keeps the text of the entry just added (the last) within the budget. */
void ma_js_keep_text(ma_journal *j, const char *t, size_t len);
/* Keeps text as the fetched text of the entry with this seq, if asked for. */
void ma_js_put_text(ma_journal *j, long long seq, const char *text, size_t len);
/* Applies a page's counters (next_seq, oldest_seq, evicted, max_entries). */
void ma_js_page_counters(ma_journal *j, const json_t *page);

/* Decodes the JSON string literal lit[0, n) (quotes included) as jansson
 * does, into b. 0, or -1 (a bad escape, a lone surrogate). */
int ma_js_decode_string(const char *lit, size_t n, ma_buf *b);
/* Walks the entry object at b[i] == '{' in one pass, its "body" string
 * decoded into body: 1 with its members (at most MAX_MEMBERS) and *end, 0
 * if b ends first, -1 if it is not an object of members. */
int ma_js_walk_entry(const char *b, size_t i, size_t n, member *m, size_t *nm, size_t *end, ma_buf *body);

#endif
