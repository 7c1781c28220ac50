/* glob.h: the path glob of the journal filters, one matcher for the server
 * (/test/requests, /test/wait) and mockassert (which compiles this file
 * too), so both always agree on what a pattern selects.
 *
 * '*' matches within one path segment (never '/'), '**' (or more stars)
 * across segments, every other byte itself.
 *
 * A pattern is compiled once into a small automaton whose state set is a
 * few 64-bit words; matching then reads each path byte once, so its cost
 * is O(path length x pattern words) whatever the pattern: no input can make
 * it backtrack. The price is a bound on the pattern: at most MK_GLOB_MAX
 * bytes (the server refuses a longer one with a 400 naming the limit). */
#ifndef MK_GLOB_H
#define MK_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MK_GLOB_MAX 256 /* pattern bytes */
#define MK_GLOB_WORDS ((MK_GLOB_MAX + 1 + 63) / 64)

/* A compiled pattern: plain data, no allocation, copyable. State i means
 * "the first i tokens matched"; a token is a literal byte, '*' or '**'. */
typedef struct mk_glob {
    unsigned ntok;   /* tokens; state ntok accepts */
    unsigned nwords; /* words in use: (ntok + 1 + 63) / 64 */
    unsigned nclass; /* distinct literal bytes */
    uint16_t cls[256];                  /* byte -> its literal class, 0: none */
    uint64_t star[MK_GLOB_WORDS];       /* token i is '*' */
    uint64_t dstar[MK_GLOB_WORDS];      /* token i is '**' */
    uint64_t anystar[MK_GLOB_WORDS];    /* star | dstar */
    uint64_t lit[MK_GLOB_MAX + 1][MK_GLOB_WORDS]; /* per class: token i is that byte */
    /* the literal bytes before the first star and after the last one: a
     * path that does not start and end with them is refused at once */
    char fixed[MK_GLOB_MAX];
    unsigned prefix, suffix; /* fixed[0..prefix), fixed[prefix..prefix+suffix) */
    bool starless;           /* no star: the pattern is the prefix */
} mk_glob;

/* Compiles pattern[0..len). Returns 0, or -1 when len > MK_GLOB_MAX (g is
 * then a pattern that matches nothing). Pure. */
int mk_glob_compile(mk_glob *g, const char *pattern, size_t len);
/* Whether path[0..len) matches. Pure, no allocation, linear in len. */
bool mk_glob_match(const mk_glob *g, const char *path, size_t len);

/* Compiles and matches NUL-terminated strings in one call (mockassert's
 * use). A pattern over MK_GLOB_MAX bytes matches nothing. */
bool mk_path_glob(const char *pattern, const char *path);

#endif
