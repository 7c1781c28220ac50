/* query.h: reading the query string of a /test route, strictly.
 *
 * A route lists the keys it understands; mk_query_check refuses anything
 * else (an unknown key, with a "did you mean", or a key given twice), so a
 * misspelt parameter is never taken as absent. Values are read with
 * mk_query_get, percent-decoded. Keys are compared as sent (not decoded).
 * Empty parameters ("a=1&&b=2", a trailing '&') are skipped. Pure. */
#ifndef MK_QUERY_H
#define MK_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* 0 when every key of query (NULL: none) is one of known[0..n) and none is
 * repeated, and no value holds a malformed percent-escape ('%' without two
 * hex digits) or %00; else -1 with the message in err, e.g.
 * unknown query parameter "mehtod" (did you mean "method"?), or
 * query parameter "path": malformed percent-escape "%zz". */
int mk_query_check(const char *query, const char *const *known, size_t n, char *err,
                   size_t errlen);

/* Finds key in query and decodes its value (%XX, '+' as space) into out.
 * Returns 1 when found (a key without '=' has the value ""), 0 when absent,
 * -1 when the decoded value does not fit in outlen (with its NUL). */
int mk_query_get(const char *query, const char *key, char *out, size_t outlen);

/* Parses a decimal integer value in [min, max]: digits only (a leading '-'
 * only when min < 0), no spaces, no '+'. Returns 0 or -1, with
 * `<key> must be <what> from <min> to <max>, not "<v>"` in err. */
int mk_query_int(const char *key, const char *v, long long min, long long max, const char *what,
                 long long *out, char *err, size_t errlen);

#endif
