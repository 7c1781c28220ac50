/* project.h: reading only the parts of a JSON body that some JSON paths can
 * reach (pure).
 *
 * A check on a body (match.h) looks at the values its paths select and at
 * nothing else. So a document that holds just those values, at the same
 * places (the same member names, the same array indexes and lengths, the
 * same kinds of containers on the way), gives the same verdict and the same
 * failures as the whole body. Building it costs a scan of the text and a
 * handful of jansson values, where json_loadb builds every value (a 0.7 KB
 * heartbeat takes ~15 us): this is how mockassert checks 100,000 journal
 * bodies (requests.c).
 *
 * The shortcut is taken only for bodies whose every byte it understands as
 * jansson does (see ma_proj_body); any other body is read whole with
 * ma_json_from_body, so the result is always what the check would see in
 * ma_json_from_body's document. */
#ifndef MA_PROJECT_H
#define MA_PROJECT_H

#include <jansson.h>
#include <stddef.h>

#include "jpath.h"
#include "match.h"

/* A set of paths (a trie of their steps). */
typedef struct ma_proj ma_proj;

ma_proj *ma_proj_new(void);
void ma_proj_free(ma_proj *p);
/* Adds path (NULL: $, the whole body). */
void ma_proj_add_path(ma_proj *p, const ma_path *path);
/* Adds the path of every operator in c (and, or, not included). */
void ma_proj_add_check(ma_proj *p, const ma_check *c);

/* The body text read as ma_json_from_body reads it, keeping only what the
 * paths of p reach: containers on the way keep the members the paths name
 * (every member for .*), arrays keep their length (elements no path reaches
 * are null), the values where paths end are whole. Returns a new reference,
 * or NULL exactly when ma_json_from_body does (the text is not UTF-8).
 * Whenever the text is not "plain" (not valid JSON by Go's grammar with only
 * whitespace around it, not UTF-8, any backslash, a number with an exponent
 * or 16 digits in a row, 2,000 brackets or more) or a path is $, the
 * result is ma_json_from_body's own. */
json_t *ma_proj_body(const ma_proj *p, const char *text, size_t len);

/* Validates the text and describes, in key, the document ma_proj_body
 * builds from it: the members and elements kept (names, indexes, array
 * lengths) and the text of every value kept. Two texts with the same key
 * give equal documents, so whatever checks on p's paths say of one they
 * say of the other. Returns 1 with key set (replaced) when the text is
 * plain JSON: valid (RFC 8259, as jansson reads it), UTF-8, without
 * backslashes, without numbers with an exponent or 16 digits in a row,
 * nested at most 1,000 deep; 0 otherwise, and when a path of p is $ or
 * p has too many paths. One pass over the text. */
int ma_proj_key(const ma_proj *p, const char *text, size_t len, ma_buf *key);

#endif
