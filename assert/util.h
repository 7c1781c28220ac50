/* util.h: small shared helpers for mockassert: a growable string, checked
 * allocation (out of memory ends the program with exit status 3, see
 * main.c), source marks, and duration parsing. Pure; no I/O. */
#ifndef MA_UTIL_H
#define MA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A position in an expectation file: 1-based line and column. file is
 * borrowed (it lives as long as the loaded spec). line 0 means "no mark". */
typedef struct {
    const char *file;
    int line;
    int col;
} ma_mark;

/* A growable NUL-terminated string. Zero-initialise ({0}) before use. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
} ma_buf;

void ma_buf_add(ma_buf *b, const char *s, size_t n);
void ma_buf_puts(ma_buf *b, const char *s);
void ma_buf_putc(ma_buf *b, char c);
void ma_buf_printf(ma_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ma_buf_vprintf(ma_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The contents (never NULL: "" when empty); valid until the next change. */
const char *ma_buf_str(const ma_buf *b);
/* Hands the string over (caller frees) and resets b. Never NULL. */
char *ma_buf_steal(ma_buf *b);
void ma_buf_free(ma_buf *b);

/* Allocation that cannot fail: out of memory prints a line on stderr and
 * exits with status 3 (the verdict cannot be trusted). */
_Noreturn void ma_oom(void);
void *ma_xmalloc(size_t n);
void *ma_xcalloc(size_t n, size_t size);
void *ma_xrealloc(void *p, size_t n);
char *ma_xstrdup(const char *s);
char *ma_xstrndup(const char *s, size_t n);
/* printf into a fresh string (caller frees). */
char *ma_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a duration: a decimal number followed by a unit, one of ns, us,
 * ms, s, m, h (e.g. "10s", "200ms", "1.5s"). Writes nanoseconds to *ns.
 * Returns 0, or -1 (with *why set to a static reason) if s is not one. */
int ma_parse_duration(const char *s, int64_t *ns, const char **why);
/* Formats ns the way a person reads it ("1.2s", "350ms", "12us"). */
void ma_format_duration(ma_buf *b, int64_t ns);

/* Levenshtein distance between two short strings (for "did you mean"). */
size_t ma_edit_distance(const char *a, const char *b);
/* The candidate nearest to word (NULL if none is close enough). */
const char *ma_suggest(const char *word, const char *const *candidates, size_t n);

#endif
