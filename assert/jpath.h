/* jpath.h: the small JSON path language of expectation files (pure).
 *
 *   $            the whole document
 *   .name        a member (name: letters, digits, _ and -)
 *   ['any key']  a member by any name ("..." works too; \\ \' \" escape)
 *   [3], [-1]    an array element (negative counts from the end)
 *   [*], .*      every element / every member value
 *
 * A path that does not start with $ is read as if "$." (or "$" before a
 * '[') preceded it: "status" is "$.status". */
#ifndef MA_JPATH_H
#define MA_JPATH_H

#include <jansson.h>
#include <stddef.h>

typedef struct ma_path ma_path;

/* One selected value: its concrete path ("$.peers[2].id", owned) and the
 * value (borrowed from the document). */
typedef struct {
    char *path;
    json_t *value;
} ma_hit;

/* Parses text. Returns the path (free with ma_path_free) or NULL with
 * *errpos (byte offset into text) and *why (static) set. */
ma_path *ma_path_parse(const char *text, size_t *errpos, const char **why);
void ma_path_free(ma_path *p);
/* 1 if the path has a [*] or .* step (it may select many values). */
int ma_path_is_multi(const ma_path *p);
/* The canonical text of the path ("$.a['b c'][0]"), borrowed. */
const char *ma_path_text(const ma_path *p);

/* Selects every value at p in doc (p NULL means $). Returns the number of
 * hits; *hits is an array the caller frees with ma_hits_free. */
size_t ma_path_select(const ma_path *p, json_t *doc, ma_hit **hits);
void ma_hits_free(ma_hit *hits, size_t n);

/* The steps of p, for code that walks a document by them (project.c):
 * how many, and the i-th: MA_STEP_KEY with *key (borrowed), MA_STEP_INDEX
 * with *index (negative: from the end), MA_STEP_ALL ([*] or .*). */
typedef enum { MA_STEP_KEY, MA_STEP_INDEX, MA_STEP_ALL } ma_step_kind;
size_t ma_path_nsteps(const ma_path *p);
ma_step_kind ma_path_step(const ma_path *p, size_t i, const char **key, long long *index);

/* Replace *path (owned) with itself plus ".key" or "['key']" / "[index]". */
void ma_path_append_key(char **path, const char *key);
void ma_path_append_index(char **path, size_t index);

#endif
