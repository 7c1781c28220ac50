/* suggest.h: error messages about a word a user typed: "did you mean" (the
 * closest of a few known names: a query parameter, a route, a counter),
 * and the word itself made safe to quote. Pure; no allocation. */
#ifndef MK_SUGGEST_H
#define MK_SUGGEST_H

#include <stddef.h>

/* The candidate closest to word by edit distance (insertions, deletions,
 * substitutions and swaps of two adjacent bytes; case ignored), or NULL
 * when none is close enough to be a likely typo: at most 1 edit for words
 * up to 3 bytes, 2 up to 8, 3 beyond. Ties go to the earlier candidate.
 * Words or candidates over 63 bytes are never suggested. */
const char *mk_suggest(const char *word, const char *const *candidates, size_t n);

/* Copies the first n bytes of s into out (cap bytes, at least 4) for a
 * one-line message: control bytes, quotes and backslashes become '?', and
 * text past cap-1 bytes is cut with "...". Returns out. */
char *mk_shown(const char *s, size_t n, char *out, size_t cap);

#endif
