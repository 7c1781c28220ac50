/* suggest.h: "did you mean": the closest of a few known names to a word a
 * user typed (a query parameter, a route, a counter), for error messages.
 * Pure; no allocation. */
#ifndef MK_SUGGEST_H
#define MK_SUGGEST_H

#include <stddef.h>

/* The candidate closest to word by edit distance (insertions, deletions,
 * substitutions and swaps of two adjacent bytes; case ignored), or NULL
 * when none is close enough to be a likely typo: at most 1 edit for words
 * up to 3 bytes, 2 up to 8, 3 beyond. Ties go to the earlier candidate.
 * Words or candidates over 63 bytes are never suggested. */
const char *mk_suggest(const char *word, const char *const *candidates, size_t n);

#endif
