/* number.h: exact JSON numbers.
 *
 * jansson holds a number as a 64-bit integer or a double. Where that is
 * not the number that was written, mockassert keeps the text instead:
 *  - an integer beyond 64 bits (18446744073709551615), which jansson
 *    refuses;
 *  - a real that overflows a double (1e400), which jansson refuses;
 *  - a real that underflows to zero (1e-400), which jansson reads as 0.0:
 *    kept, so that it cannot equal 0; or to a subnormal double, which
 *    holds fewer digits (3e-324 and 4e-324 both read as 5e-324);
 *  - a real of 2^53 or more that a double rounds (9007199254740993.0).
 * Such a number is a json_t of its own: an object with one member named
 * MA_NUMBER_KEY holding the text (a JSON number, as written) as a string.
 * That name is not UTF-8, and both ways values enter mockassert check
 * names (jansson when it parses a body, spec.c when it converts YAML), so
 * an object of that shape is always one of these numbers. Everything that
 * looks at values asks ma_number_is() (or ma_is_number / ma_is_object)
 * before treating an object as an object, and prints values with
 * ma_number_dumps(), which writes the text (json_dumps would write the
 * internal member).
 *
 * Comparison is exact: two 64-bit integers as integers, an integer and a
 * double by their exact values, two doubles as doubles, and whenever one
 * side is an exact number, both as decimals (sign, significant digits and
 * exponent, so 1e2 == 100 == 100.0 and -0 == 0). A double then stands for
 * the shortest decimal that reads back as it (what was written, for the
 * doubles this module lets through), or its exact value from 2^53 up.
 *
 * Also here: reading a JSON document with the span walker (gojson.h's
 * validating scanner, jansson decoding each string and number), for the
 * bodies jansson refuses or may have rounded, and for snapshot, which
 * writes every number as it was sent. Pure; no globals. */
#ifndef MA_NUMBER_H
#define MA_NUMBER_H

#include <jansson.h>
#include <stddef.h>

#define MA_NUMBER_KEY "\xff" "number"

/* 1 if text[0..len) is one JSON number (RFC 8259: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?). */
int ma_number_syntax_ok(const char *text, size_t len);

/* An exact number holding text (a JSON number, kept as written). New
 * reference, or NULL when the text is not a JSON number. */
json_t *ma_number_make(const char *text, size_t len);

/* What mockassert holds for the JSON number text: jansson's integer or
 * real when that is exact as described above, otherwise an exact number.
 * New reference, or NULL when the text is not a JSON number. */
json_t *ma_number_parse(const char *text, size_t len);

/* 1 if v is an exact number (and then its text, NUL-terminated, owned by v). */
int ma_number_is(const json_t *v);
const char *ma_number_text(const json_t *v); /* NULL unless ma_number_is(v) */

/* Kinds as the matcher sees them: a number is a jansson number or an
 * exact number; an object is a jansson object that is not one. */
int ma_is_number(const json_t *v);
int ma_is_object(const json_t *v);

/* 1 if the number is written as an integer: a jansson integer, or an
 * exact number whose text has no fraction and no exponent. 0 otherwise
 * (1.0 and 1e2 are numbers, not integers, as jansson reads them). */
int ma_number_is_integer(const json_t *v);

/* Compares two numbers (jansson's or exact), exactly: sets *cmp to -1, 0
 * or 1 and returns 0; returns -1 when either is not a number. */
int ma_number_compare(const json_t *a, const json_t *b, int *cmp);

/* Compares two JSON number texts as decimals: -1, 0, 1 (texts that are
 * not JSON numbers compare as 0; check with ma_number_syntax_ok). Exact
 * for any length of digits and of exponent. */
int ma_decimal_compare(const char *a, size_t alen, const char *b, size_t blen);

/* json_dumps(v, flags) with each exact number written as its text, which
 * jansson cannot do itself, and each real as the shortest text that reads
 * back as it (0.1, 0.30000000000000004, 100.0), whatever
 * JSON_REAL_PRECISION says: a fixed precision either hides a difference
 * (15 digits: both 0.3) or shows noise (17: 0.10000000000000001).
 * Returns malloc'd text (free it), or NULL when jansson fails (out of
 * memory). */
char *ma_number_dumps(const json_t *v, size_t flags);

/* ---- documents ---- */

/* ma_json_load_exact flags */
#define MA_JSON_KEEP_TEXT 1 /* every number becomes an exact number, keeping its text */

/* Reads text as one JSON value (surrounding whitespace allowed), as
 * jansson's json_loadb(JSON_DECODE_ANY | JSON_ALLOW_NUL) would, except
 * that numbers are made by ma_number_parse (or, with MA_JSON_KEEP_TEXT,
 * ma_number_make). The structure is walked with gojson.h's scanner; every
 * string and key is decoded by jansson. Returns a new reference, or NULL
 * when jansson would refuse the text for any reason but a number (bad
 * syntax, a string that is not UTF-8, a NUL in a key, nesting deeper than
 * jansson's 2048). */
json_t *ma_json_load_exact(const char *text, size_t len, int flags);

/* 1 if v (from json_loadb) holds a real that may not be what its text
 * said: 0.0 (perhaps an underflow) or a magnitude of 2^53 or more. Such
 * a document is worth reading again with ma_json_load_exact. */
int ma_json_may_be_inexact(const json_t *v);

#endif
