/* query.c: see query.h. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "suggest.h"

/* The next non-empty parameter at *q: key [k, k + klen), value after '='. */
static bool next_param(const char **q, const char **k, size_t *klen, const char **v, size_t *vlen,
                       bool *has_eq)
{
    while (*q && **q) {
        const char *p = *q;
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        *q = amp ? amp + 1 : p + len;
        if (len == 0)
            continue;
        const char *eq = memchr(p, '=', len);
        *k = p;
        *klen = eq ? (size_t)(eq - p) : len;
        *v = eq ? eq + 1 : p + len;
        *vlen = eq ? len - *klen - 1 : 0;
        *has_eq = eq != NULL;
        return true;
    }
    return false;
}

/* The offset of the first bad escape in [v, v + vlen): a '%' without two
 * hex digits after it (Go's ParseQuery refuses it), or %00 (values are C
 * strings: a NUL would cut the value short and match something else);
 * vlen when there is none. */
static size_t bad_escape(const char *v, size_t vlen)
{
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] != '%')
            continue;
        if (i + 2 >= vlen || mk_hexval(v[i + 1]) < 0 || mk_hexval(v[i + 2]) < 0 ||
            (v[i + 1] == '0' && v[i + 2] == '0'))
            return i;
        i += 2;
    }
    return vlen;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

int mk_query_check(const char *query, const char *const *known, size_t n, char *err, size_t errlen)
{
    const char *q = query, *k, *v;
    size_t klen, vlen;
    bool has_eq;
    unsigned long long seen = 0; /* one bit per known key (n <= 64) */
    while (next_param(&q, &k, &klen, &v, &vlen, &has_eq)) {
        size_t i = 0;
        while (i < n && !key_is(k, klen, known[i]))
            i++;
        if (i == n) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(klen < 63 ? klen : 63), k);
            const char *s = klen < 64 ? mk_suggest(word, known, n) : NULL;
            if (n == 0) {
                snprintf(err, errlen, "unknown query parameter \"%s\" (this route takes none)", word);
            } else if (s) {
                snprintf(err, errlen, "unknown query parameter \"%s\" (did you mean \"%s\"?)", word, s);
            } else {
                int w = snprintf(err, errlen, "unknown query parameter \"%s\" (known:", word);
                for (size_t j = 0; j < n && w > 0 && (size_t)w < errlen; j++)
                    w += snprintf(err + w, errlen - (size_t)w, " %s", known[j]);
                if (w > 0 && (size_t)w < errlen)
                    snprintf(err + w, errlen - (size_t)w, ")");
            }
            return -1;
        }
        size_t bad = bad_escape(v, vlen);
        if (bad < vlen) {
            size_t rest = vlen - bad;
            if (rest >= 3 && v[bad + 1] == '0' && v[bad + 2] == '0')
                snprintf(err, errlen, "query parameter \"%s\": %%00 (a NUL byte) is not allowed",
                         known[i]);
            else
                snprintf(err, errlen, "query parameter \"%s\": malformed percent-escape \"%.*s\"",
                         known[i], (int)(rest < 3 ? rest : 3), v + bad);
            return -1;
        }
        if (i < 64) {
            if (seen >> i & 1) {
                snprintf(err, errlen, "query parameter \"%s\" given more than once", known[i]);
                return -1;
            }
            seen |= 1ULL << i;
        }
    }
    return 0;
}

int mk_query_get(const char *query, const char *key, char *out, size_t outlen)
{
    const char *q = query, *k, *v;
    size_t klen, vlen;
    bool has_eq;
    while (next_param(&q, &k, &klen, &v, &vlen, &has_eq)) {
        if (!key_is(k, klen, key))
            continue;
        if (outlen == 0)
            return -1;
        size_t o = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (o + 1 >= outlen)
                return -1;
            if (v[i] == '%' && i + 2 < vlen && mk_hexval(v[i + 1]) >= 0 && mk_hexval(v[i + 2]) >= 0) {
                out[o++] = (char)(mk_hexval(v[i + 1]) << 4 | mk_hexval(v[i + 2]));
                i += 2;
            } else {
                out[o++] = v[i] == '+' ? ' ' : v[i];
            }
        }
        out[o] = '\0';
        return 1;
    }
    return 0;
}

int mk_query_int(const char *key, const char *v, long long min, long long max, const char *what,
                 long long *out, char *err, size_t errlen)
{
    const char *d = v[0] == '-' && min < 0 ? v + 1 : v;
    bool digits = *d != '\0';
    for (const char *p = d; *p; p++)
        if (*p < '0' || *p > '9')
            digits = false;
    errno = 0;
    long long x = digits ? strtoll(v, NULL, 10) : 0;
    if (!digits || errno == ERANGE || x < min || x > max) {
        snprintf(err, errlen, "%s must be %s from %lld to %lld, not \"%.40s\"", key, what, min, max, v);
        return -1;
    }
    *out = x;
    return 0;
}
