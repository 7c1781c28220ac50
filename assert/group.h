/* group.h: groupBy on a requests expectation. The matching journal entries
 * are split into groups by one key of each entry, and the count (and
 * each/any/none) must hold in every group:
 *
 *   segment: N      the Nth segment of the path (1-based; -1 is the last)
 *   header: NAME    the request header's value (repeated ones joined ", ")
 *   query: NAME     the query parameter's value (likewise)
 *   auth: FIELD     the request's auth field (subject.h): class, token
 *                   (a fingerprint), node, skipped; null is (missing)
 *   path: JSONPATH  a value in the body, by its compact JSON text
 *
 * An entry without the key is not dropped: it falls in the group shown as
 * "(missing)". Keys are kept as JSON text (a header value "n1" is "\"n1\"",
 * a body number 1 is "1"), which is also how a group is named in output.
 * Pure. */
#ifndef MA_GROUP_H
#define MA_GROUP_H

#include <jansson.h>
#include <stddef.h>

#include "jpath.h"
#include "subject.h"
#include "util.h"

typedef enum { MA_GROUP_SEGMENT, MA_GROUP_HEADER, MA_GROUP_QUERY, MA_GROUP_AUTH, MA_GROUP_PATH } ma_group_kind;

typedef struct ma_groupby {
    ma_group_kind kind;
    int segment;         /* SEGMENT: 1-based, negative from the end, never 0 */
    ma_subject *subject; /* HEADER, QUERY, AUTH (owned) */
    ma_path *path;       /* PATH: selects at most one value (owned) */
    char *text;          /* how output names it: "segment 3", "header X-Node" (owned) */
    ma_mark mark;        /* the groupBy key */
} ma_groupby;

/* Constructors; each takes its argument (subject, path) and fills text. */
ma_groupby *ma_groupby_segment(ma_mark mark, int segment);
ma_groupby *ma_groupby_subject(ma_mark mark, ma_subject *s);
ma_groupby *ma_groupby_path(ma_mark mark, ma_path *p);
void ma_groupby_free(ma_groupby *g);

/* The group of a journal entry (its object, and its body as JSON, NULL if
 * none): the key as JSON text (caller frees), or NULL when the entry does
 * not have it. */
char *ma_group_key(const ma_groupby *g, const json_t *entry, json_t *body);
/* The key as output shows it (caller frees): itself, or "(missing)" for
 * NULL; a key longer than MA_GROUP_SHOW_MAX bytes (a whole body, a long
 * header) is cut there, on a UTF-8 boundary, with "... (N bytes)" added,
 * as bodies are. */
#define MA_GROUP_SHOW_MAX 160
char *ma_group_show(const char *key);

typedef struct {
    char *key;   /* owned; NULL: the (missing) group */
    size_t *idx; /* the items in it, ascending (owned) */
    size_t n;
} ma_group;

/* Splits n items by their keys (keys[i] owned by the caller, NULL for
 * missing) into groups ordered by key, bytewise, the missing group last.
 * Returns the number of groups (free with ma_groups_free). */
size_t ma_group_split(char *const *keys, size_t n, ma_group **groups);
void ma_groups_free(ma_group *groups, size_t n);

#endif
