/* gojson.h: JSON exactly as Go's encoding/json reads and writes it.
 *
 * The reference mock is a Go program and agents verify Ed25519 signatures
 * over Go-marshalled bytes, so our output must be byte-identical to
 * json.Marshal: compact, HTML-escaped (<, >, & as \u003c \u003e \u0026,
 * U+2028/9 as \u2028 \u2029), invalid UTF-8 replaced by U+FFFD, times as
 * RFC 3339 with trimmed fractional zeros. No C library writes that form.
 *
 * Reading side: a validating scanner with Go's grammar (it accepts what
 * Go accepts, e.g. invalid UTF-8 inside strings, which jansson rejects) and
 * byte spans, which json.RawMessage fields need (Go keeps their original
 * text, escapes and number spelling included). All functions are pure and
 * reentrant. */
#ifndef MK_GOJSON_H
#define MK_GOJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* ---- time.Time ---------------------------------------------------------- */

typedef struct gj_time {
    int64_t sec;    /* seconds since the Unix epoch (UTC instant) */
    int32_t nsec;   /* 0..999999999 */
    int32_t offset; /* zone offset east of UTC in seconds; 0 prints as "Z" */
} gj_time;

/* Parses an RFC 3339 string the way Go 1.24's time.Time.UnmarshalJSON
 * does, i.e. with time.Parse(time.RFC3339, s) rules: 4-digit year, 2-digit
 * month/day/minute/second, 1- or 2-digit hour, uppercase 'T', optional
 * fraction after '.' or ',' (digits past the ninth are dropped), uppercase
 * 'Z' or +hh:mm / -hh:mm (hh <= 24, mm <= 60), ranges and day-of-month
 * checked. s is the text between the quotes (Go does not unescape it).
 * Returns 0 or -1. */
int gj_time_parse(const char *s, size_t n, gj_time *out);
/* Appends the RFC3339Nano form Go's MarshalJSON produces, *with* quotes:
 * "2006-01-02T15:04:05.999999999Z07:00" with trailing fraction zeros
 * trimmed; offset 0 prints "Z". Returns -1 (and appends nothing) for a year
 * outside 0..9999, as Go refuses to marshal those. */
int gj_time_write(mk_buf *b, const gj_time *t);
/* The proleptic Gregorian date of day z (days since 1970-01-01, any sign):
 * no gmtime, so no time_t range or TZ to worry about. */
void gj_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* Current wall clock in UTC (offset 0), nanosecond resolution. */
gj_time gj_time_now(void);

/* ---- writing ------------------------------------------------------------ */

/* Appends a quoted JSON string from raw bytes, Go 1.22+ style (see top):
 * \b \f \n \r \t short escapes, other controls as \u00XX, and each invalid
 * UTF-8 byte as the escape \ufffd (Go writes the escape, not the rune). */
void gj_write_string(mk_buf *b, const char *s, size_t n);
/* The number of bytes gj_write_string appends for s (quotes included),
 * without writing them. */
size_t gj_string_len(const char *s, size_t n);
/* Appends an int64 in decimal. */
void gj_write_int(mk_buf *b, int64_t v);
/* Appends `raw` (one valid JSON value, as checked by gj_scan_value) as Go's
 * json.Compact + HTML escaping does for a json.RawMessage: insignificant
 * whitespace removed; key order, duplicates, number spelling and escape
 * sequences kept; raw <, >, &, U+2028, U+2029 inside strings escaped.
 * Returns 0, or -1 if raw is not exactly one valid JSON value. */
int gj_write_raw(mk_buf *b, const char *raw, size_t n);

/* ---- scanning ----------------------------------------------------------- */

typedef enum gj_kind {
    GJ_NULL, GJ_FALSE, GJ_TRUE, GJ_NUMBER, GJ_STRING, GJ_ARRAY, GJ_OBJECT
} gj_kind;

/* Skips whitespace, then validates one JSON value starting at p[*pos] with
 * Go's grammar (RFC 8259; strings may hold any byte >= 0x20 except an
 * unescaped quote or backslash; nesting capped at 10000 like Go).
 * On success stores the value's kind and [start, end) span and sets *pos to
 * end; returns 0. On error returns -1 and sets *pos to the offending byte
 * offset. Trailing bytes after the value are not examined. */
int gj_scan_value(const char *p, size_t n, size_t *pos, gj_kind *kind, size_t *start, size_t *end);

/* Decodes the JSON string literal span (including its quotes, as returned by
 * gj_scan_value) into bytes the way Go does: escapes resolved, surrogate
 * pairs joined, lone surrogates and invalid UTF-8 replaced by U+FFFD.
 * Appends to out. Returns 0 or -1 (not a valid string literal). */
int gj_string_decode(const char *lit, size_t n, mk_buf *out);

/* Iteration over a validated container span (from gj_scan_value).
 * For objects each step yields the key literal span and the value span; for
 * arrays only the value span. Returns 1 while there is an element, 0 at the
 * end, -1 where the structure between elements is wrong. Values are not
 * validated again: on input gj_scan_value did not accept, the spans are
 * unspecified (but within the container). */
typedef struct gj_iter {
    const char *p;
    size_t end;
    size_t pos;
    bool object;
    bool first;
} gj_iter;
void gj_iter_init(gj_iter *it, const char *p, size_t start, size_t end);
int gj_iter_next(gj_iter *it, size_t *key_start, size_t *key_end,
                 gj_kind *kind, size_t *val_start, size_t *val_end);

#endif
