/* number.c: exact JSON numbers (see number.h): make, recognise, text,
 * compare, print; and the span walker that reads a document keeping them.
 * Pure: no I/O, no globals that change. */
#include "number.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"
#include "util.h"

/* 2^53: from here up, not every integer is a double */
#define EXACT_DOUBLE_LIMIT 9007199254740992.0
/* jansson's JSON_PARSER_MAX_DEPTH: the walker refuses what jansson refuses */
#define JANSSON_MAX_DEPTH 2048

/* ---- the text of a number ---- */

typedef struct {
    int neg;
    const char *ip; /* integer digits */
    size_t il;
    const char *fp; /* fraction digits (none: fl 0) */
    size_t fl;
    int eneg;       /* exponent sign */
    const char *ep; /* exponent digits without leading zeros (exponent 0: el 0) */
    size_t el;
} parts;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int split(const char *s, size_t n, parts *p)
{
    size_t i = 0;
    memset(p, 0, sizeof *p);
    if (i < n && s[i] == '-') {
        p->neg = 1;
        i++;
    }
    if (i >= n || !is_digit(s[i]))
        return -1;
    p->ip = s + i;
    if (s[i] == '0')
        i++;
    else
        while (i < n && is_digit(s[i]))
            i++;
    p->il = (size_t)(s + i - p->ip);
    if (i < n && s[i] == '.') {
        p->fp = s + ++i;
        while (i < n && is_digit(s[i]))
            i++;
        p->fl = (size_t)(s + i - p->fp);
        if (p->fl == 0)
            return -1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            p->eneg = s[i++] == '-';
        size_t from = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == from)
            return -1;
        while (from < i && s[from] == '0')
            from++;
        p->ep = s + from;
        p->el = i - from;
    }
    return i == n ? 0 : -1;
}

int ma_number_syntax_ok(const char *text, size_t len)
{
    parts p;
    return split(text, len, &p) == 0;
}

/* The k-th mantissa digit, counting integer then fraction digits. */
static char digit_at(const parts *p, size_t k)
{
    return k < p->il ? p->ip[k] : p->fp[k - p->il];
}

/* ---- exponents of any length: signed decimal integers ---- */

typedef struct {
    int neg;
    char *d; /* most significant first, no leading zeros; n 0 is zero */
    size_t n;
} bigint;

static int mag_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    if (an == 0)
        return 0; /* two zeros (whose digits may be NULL) */
    int c = memcmp(a, b, an);
    return (c > 0) - (c < 0);
}

static void strip_zeros(bigint *r)
{
    size_t z = 0;
    while (z < r->n && r->d[z] == '0')
        z++;
    memmove(r->d, r->d + z, r->n - z);
    r->n -= z;
    if (r->n == 0)
        r->neg = 0;
}

/* r = |a| + |b| (add) or |a| - |b| (|a| >= |b|), sign set by the caller */
static void mag_op(const bigint *a, const bigint *b, int add, bigint *r)
{
    size_t n = (a->n > b->n ? a->n : b->n) + 1;
    r->d = ma_xmalloc(n);
    r->n = n;
    int carry = 0;
    for (size_t k = 0; k < n; k++) {
        int x = k < a->n ? a->d[a->n - 1 - k] - '0' : 0;
        int y = k < b->n ? b->d[b->n - 1 - k] - '0' : 0;
        int s = add ? x + y + carry : x - y - carry;
        carry = add ? s / 10 : s < 0;
        if (s < 0)
            s += 10;
        r->d[n - 1 - k] = (char)('0' + s % 10);
    }
    strip_zeros(r);
}

static void big_add(const bigint *a, const bigint *b, bigint *r)
{
    memset(r, 0, sizeof *r);
    if (a->neg == b->neg) {
        mag_op(a, b, 1, r);
        r->neg = r->n ? a->neg : 0;
        return;
    }
    int c = mag_cmp(a->d, a->n, b->d, b->n);
    if (c == 0)
        return; /* zero */
    const bigint *hi = c > 0 ? a : b, *lo = c > 0 ? b : a;
    mag_op(hi, lo, 0, r);
    r->neg = r->n ? hi->neg : 0;
}

static int big_cmp(const bigint *a, const bigint *b)
{
    if (a->neg != b->neg)
        return a->neg ? -1 : 1;
    int c = mag_cmp(a->d, a->n, b->d, b->n);
    return a->neg ? -c : c;
}

/* ---- decimals: value = sign * 0.DIGITS * 10^e ---- */

typedef struct {
    int sign; /* -1, 0 (zero), 1 */
    parts p;
    size_t first, last; /* the significant digits, by digit_at index */
    bigint e;
} decimal;

static int decimal_of(const char *s, size_t n, decimal *d)
{
    memset(d, 0, sizeof *d);
    if (split(s, n, &d->p) < 0)
        return -1;
    size_t nd = d->p.il + d->p.fl, f = 0;
    while (f < nd && digit_at(&d->p, f) == '0')
        f++;
    if (f == nd)
        return 0; /* zero, whatever its sign or exponent */
    size_t l = nd - 1;
    while (digit_at(&d->p, l) == '0')
        l--;
    d->sign = d->p.neg ? -1 : 1;
    d->first = f;
    d->last = l;
    /* e = exponent + (integer digits - leading zeros) */
    long long adj = (long long)d->p.il - (long long)f;
    char buf[32];
    int bn = snprintf(buf, sizeof buf, "%lld", adj < 0 ? -adj : adj);
    bigint a = {adj < 0, buf, (size_t)bn}, x = {d->p.eneg, (char *)d->p.ep, d->p.el};
    if (adj == 0)
        a.n = 0, a.neg = 0;
    if (x.n == 0)
        x.neg = 0;
    big_add(&x, &a, &d->e);
    return 0;
}

int ma_decimal_compare(const char *a, size_t alen, const char *b, size_t blen)
{
    decimal x, y;
    int r = 0, bad = decimal_of(a, alen, &x) < 0;
    bad |= decimal_of(b, blen, &y) < 0;
    if (!bad && x.sign != y.sign) {
        r = x.sign < y.sign ? -1 : 1;
    } else if (!bad && x.sign != 0) {
        int m = big_cmp(&x.e, &y.e);
        for (size_t k = 0; m == 0; k++) {
            int xe = x.first + k > x.last, ye = y.first + k > y.last;
            if (xe || ye) {
                m = xe && ye ? 0 : xe ? -1 : 1;
                break;
            }
            char cx = digit_at(&x.p, x.first + k), cy = digit_at(&y.p, y.first + k);
            if (cx != cy)
                m = cx < cy ? -1 : 1;
        }
        r = x.sign * m;
    }
    free(x.e.d);
    free(y.e.d);
    return r;
}

/* ---- exact numbers as values ---- */

json_t *ma_number_make(const char *text, size_t len)
{
    if (!ma_number_syntax_ok(text, len))
        return NULL;
    json_t *o = json_object(), *s = json_stringn(text, len);
    if (!o || !s || json_object_set_new_nocheck(o, MA_NUMBER_KEY, s))
        ma_oom();
    return o;
}

int ma_number_is(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 &&
           json_is_string(json_object_get(v, MA_NUMBER_KEY));
}

const char *ma_number_text(const json_t *v)
{
    return ma_number_is(v) ? json_string_value(json_object_get(v, MA_NUMBER_KEY)) : NULL;
}

int ma_is_number(const json_t *v)
{
    return json_is_number(v) || ma_number_is(v);
}

int ma_is_object(const json_t *v)
{
    return json_is_object(v) && !ma_number_is(v);
}

int ma_number_is_integer(const json_t *v)
{
    const char *t = ma_number_text(v);
    return json_is_integer(v) || (t && !strpbrk(t, ".eE"));
}

static int has_nonzero_digit(const parts *p)
{
    for (size_t k = 0; k < p->il + p->fl; k++)
        if (digit_at(p, k) != '0')
            return 1;
    return 0;
}

/* The decimal a double stands for: its exact value from 2^53 up (every
 * such double is an integer), else the shortest text that reads back as
 * it. buf: at least 400 bytes (%.0f of DBL_MAX is 309 digits). */
static const char *double_text(double d, char *buf, size_t size)
{
    if (fabs(d) >= EXACT_DOUBLE_LIMIT) {
        snprintf(buf, size, "%.0f", d);
        return buf;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return buf;
}

json_t *ma_number_parse(const char *text, size_t len)
{
    parts p;
    if (split(text, len, &p) < 0)
        return NULL;
    json_error_t err;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &err);
    if (!v) {
        /* a valid number jansson refuses is one it cannot hold */
        if (json_error_code(&err) != json_error_numeric_overflow)
            ma_oom();
        return ma_number_make(text, len);
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        int exact = 1;
        if (d == 0)
            exact = !has_nonzero_digit(&p); /* else an underflow */
        else if (fabs(d) < DBL_MIN)
            exact = 0; /* subnormal: a partial underflow, fewer digits (3e-324 reads as 5e-324) */
        else if (fabs(d) >= EXACT_DOUBLE_LIMIT) {
            char buf[512];
            const char *t = double_text(d, buf, sizeof buf);
            exact = ma_decimal_compare(text, len, t, strlen(t)) == 0;
        }
        if (!exact) {
            json_decref(v);
            return ma_number_make(text, len);
        }
    }
    return v;
}

/* An integer and a double, by their exact values. */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    json_int_t t = (json_int_t)d; /* d's integer part: exact in this range */
    if (i != t)
        return i < t ? -1 : 1;
    double frac = d - (double)t; /* exact: the low bits of d */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

int ma_number_compare(const json_t *a, const json_t *b, int *cmp)
{
    if (!ma_is_number(a) || !ma_is_number(b))
        return -1;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t x = json_integer_value(a), y = json_integer_value(b);
            *cmp = x < y ? -1 : x > y;
        } else if (json_is_integer(a)) {
            *cmp = cmp_int_real(json_integer_value(a), json_real_value(b));
        } else if (json_is_integer(b)) {
            *cmp = -cmp_int_real(json_integer_value(b), json_real_value(a));
        } else {
            double x = json_real_value(a), y = json_real_value(b);
            *cmp = x < y ? -1 : x > y;
        }
        return 0;
    }
    char ba[512], bb[512];
    const char *t[2];
    const json_t *v[2] = {a, b};
    char *bufs[2] = {ba, bb};
    for (int k = 0; k < 2; k++) {
        if (ma_number_is(v[k]))
            t[k] = ma_number_text(v[k]);
        else if (json_is_integer(v[k])) {
            snprintf(bufs[k], sizeof ba, "%" JSON_INTEGER_FORMAT, json_integer_value(v[k]));
            t[k] = bufs[k];
        } else
            t[k] = double_text(json_real_value(v[k]), bufs[k], sizeof ba);
    }
    *cmp = ma_decimal_compare(t[0], strlen(t[0]), t[1], strlen(t[1]));
    return 0;
}

/* ---- printing ---- */

/* A real as the shortest text that reads back as it, as a JSON real
 * ("0.30000000000000004", "0.1", "100.0", "1e+300"): what output shows.
 * jansson prints a fixed number of digits, so with 15 two different
 * doubles could both show as 0.3, and with 17, 0.1 shows as
 * 0.10000000000000001. buf: at least 400 bytes. */
static const char *real_text(double d, char *buf, size_t size)
{
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* %g writes 100 with one digit as 1e+02: below 1e17 write the integer
     * digits out, as jansson would (100.0) */
    snprintf(buf, size, "%.*e", prec - 1, d);
    long x = strtol(strchr(buf, 'e') + 1, NULL, 10);
    if (x >= prec && x < 17)
        prec = (int)x + 1;
    snprintf(buf, size, "%.*g", prec, d);
    /* From 2^53 up mockassert reads a real's text as the decimal written
     * (ma_number_parse), so the text must be the double's exact value:
     * 1e22 is, but the shortest text of a double jansson rounded (a body
     * the walker refuses) is not; then write every digit. */
    char exact[400];
    if (fabs(d) >= EXACT_DOUBLE_LIMIT && size >= sizeof exact) {
        double_text(d, exact, sizeof exact);
        if (ma_decimal_compare(buf, strlen(buf), exact, strlen(exact)) != 0)
            snprintf(buf, size, "%s", exact);
    }
    if (!strpbrk(buf, ".eE"))
        strncat(buf, ".0", size - strlen(buf) - 1); /* still a real when read back */
    return buf;
}

/* 1 if v is or holds an exact number or a real (what ma_number_dumps writes itself) */
static int holds_exact(const json_t *v)
{
    if (ma_number_is(v) || json_is_real(v))
        return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (holds_exact(json_array_get(v, i)))
                return 1;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (holds_exact(x))
                return 1;
        }
    }
    return 0;
}

static int mentions(const char *s, size_t n, const char *marker)
{
    return memmem(s, n, marker, strlen(marker)) != NULL;
}

/* 1 if a string or a member name under v contains marker */
static int holds_marker(const json_t *v, const char *marker)
{
    if (json_is_string(v))
        return mentions(json_string_value(v), json_string_length(v), marker);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (holds_marker(json_array_get(v, i), marker))
                return 1;
    } else if (json_is_object(v) && !ma_number_is(v)) {
        const char *k;
        size_t kl;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, kl, x) {
            if (mentions(k, kl, marker) || holds_marker(x, marker))
                return 1;
        }
    }
    return 0;
}

typedef struct {
    const char *marker;
    char **texts; /* owned copies */
    size_t n;
} stand_ins;

/* A copy of v with each exact number and real replaced by the string MARKER<i>. */
static json_t *with_stand_ins(const json_t *v, stand_ins *s)
{
    json_t *r = NULL;
    if (ma_number_is(v) || json_is_real(v)) {
        char buf[400];
        s->texts = ma_xrealloc(s->texts, (s->n + 1) * sizeof *s->texts);
        s->texts[s->n] = ma_xstrdup(ma_number_is(v) ? ma_number_text(v) : real_text(json_real_value(v), buf, sizeof buf));
        char *m = ma_xasprintf("%s%zu", s->marker, s->n++);
        r = json_string(m);
        free(m);
    } else if (json_is_array(v)) {
        r = json_array();
        for (size_t i = 0; r && i < json_array_size(v); i++)
            if (json_array_append_new(r, with_stand_ins(json_array_get(v, i), s)))
                ma_oom();
    } else if (json_is_object(v)) {
        r = json_object();
        const char *k;
        size_t kl;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, kl, x) {
            if (!r || json_object_setn_new_nocheck(r, k, kl, with_stand_ins(x, s)))
                ma_oom();
        }
    } else {
        r = json_deep_copy(v);
    }
    if (!r)
        ma_oom();
    return r;
}

static void free_texts(stand_ins *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->texts[i]);
    free(s->texts);
}

char *ma_number_dumps(const json_t *v, size_t flags)
{
    if (!holds_exact(v))
        return json_dumps(v, flags);
    /* Each exact number (and real) becomes a string "\1#N#<i>" that no
     * string or member name of v contains, so its quoted form in jansson's
     * text, "\u0001#N#<i>", can only be a stand-in: it is replaced by the
     * number's text. */
    char marker[32];
    unsigned nonce = 0;
    do
        snprintf(marker, sizeof marker, "\001#%u#", nonce++);
    while (holds_marker(v, marker));
    stand_ins s = {marker, NULL, 0};
    json_t *copy = with_stand_ins(v, &s);
    char *text = json_dumps(copy, flags);
    json_decref(copy);
    if (!text) {
        free_texts(&s);
        return NULL;
    }
    char quoted[48];
    int ql = snprintf(quoted, sizeof quoted, "\"\\u0001#%u#", nonce - 1);
    ma_buf out = {0};
    const char *p = text, *hit;
    while ((hit = strstr(p, quoted)) != NULL) {
        char *end;
        unsigned long i = strtoul(hit + ql, &end, 10);
        if (*end != '"' || i >= s.n) { /* cannot happen: the marker is unique */
            ma_buf_add(&out, p, (size_t)(hit + ql - p));
            p = hit + ql;
            continue;
        }
        ma_buf_add(&out, p, (size_t)(hit - p));
        ma_buf_puts(&out, s.texts[i]);
        p = end + 1;
    }
    ma_buf_puts(&out, p);
    free(text);
    free_texts(&s);
    /* hand over plain malloc'd text, as json_dumps does */
    char *r = ma_buf_steal(&out);
    return r;
}

/* ---- documents: the span walker ---- */

/* The text is first validated whole by gj_scan_value (gojson.h); then one
 * pass builds the document: every byte is looked at a bounded number of
 * times. (Iterating each container with gj_iter rescanned every nested
 * value once per level: a 900 KB body nested 2000 deep took 2 s.) */
typedef struct {
    const char *p;
    size_t n;
    int flags;
} walker;

static int ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const walker *w, size_t i)
{
    while (i < w->n && ws(w->p[i]))
        i++;
    return i;
}

/* The index after the string literal starting at w->p[i] (a '"'), in text
 * already validated: the first quote not escaped. */
static size_t string_end(const walker *w, size_t i)
{
    size_t body = i + 1;
    for (i = body; i < w->n;) {
        const char *q = memchr(w->p + i, '"', w->n - i);
        if (!q)
            return w->n;
        size_t j = (size_t)(q - w->p), k = j;
        while (k > body && w->p[k - 1] == '\\')
            k--;
        if ((j - k) % 2 == 0)
            return j + 1;
        i = j + 1;
    }
    return w->n;
}

/* A JSON string literal (with quotes) decoded by jansson; NULL if jansson refuses it. */
static json_t *string_at(const walker *w, size_t s, size_t e)
{
    return json_loadb(w->p + s, e - s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* The value at w->p[*pos] (after any whitespace); *pos is moved past it.
 * NULL where jansson would refuse the document. */
static json_t *build(const walker *w, size_t *pos, int depth)
{
    size_t i = skip_ws(w, *pos);
    if (i >= w->n)
        return NULL;
    char c = w->p[i];
    if (c == '"') {
        size_t e = string_end(w, i);
        *pos = e;
        return string_at(w, i, e);
    }
    if (c == 't' || c == 'f' || c == 'n') {
        *pos = i + (c == 'f' ? 5 : 4);
        return c == 't' ? json_true() : c == 'f' ? json_false() : json_null();
    }
    if (c != '[' && c != '{') {
        size_t e = i;
        while (e < w->n && (is_digit(w->p[e]) || w->p[e] == '-' || w->p[e] == '+' || w->p[e] == '.' ||
                            w->p[e] == 'e' || w->p[e] == 'E'))
            e++;
        *pos = e;
        return (w->flags & MA_JSON_KEEP_TEXT) ? ma_number_make(w->p + i, e - i) : ma_number_parse(w->p + i, e - i);
    }
    if (depth >= JANSSON_MAX_DEPTH)
        return NULL;
    int object = c == '{';
    char close = object ? '}' : ']';
    json_t *r = object ? json_object() : json_array();
    if (!r)
        ma_oom();
    i = skip_ws(w, i + 1);
    if (i < w->n && w->p[i] == close) {
        *pos = i + 1;
        return r;
    }
    for (;;) {
        json_t *key = NULL;
        if (object) {
            size_t ke = string_end(w, i);
            key = string_at(w, i, ke);
            /* jansson refuses a NUL in a member name */
            if (!key || memchr(json_string_value(key), '\0', json_string_length(key))) {
                json_decref(key);
                goto fail;
            }
            i = skip_ws(w, ke) + 1; /* past the ':' */
        }
        json_t *x = build(w, &i, depth + 1);
        if (!x) {
            json_decref(key);
            goto fail;
        }
        if (!object) {
            if (json_array_append_new(r, x))
                ma_oom();
        } else {
            /* a repeated name: the last one wins, as in jansson */
            if (json_object_set_new(r, json_string_value(key), x))
                ma_oom();
            json_decref(key);
        }
        i = skip_ws(w, i);
        if (i >= w->n)
            goto fail;
        if (w->p[i] == close) {
            *pos = i + 1;
            return r;
        }
        i = skip_ws(w, i + 1); /* past the ',' */
    }
fail:
    json_decref(r);
    return NULL;
}

json_t *ma_json_load_exact(const char *text, size_t len, int flags)
{
    size_t pos = 0, s, e;
    gj_kind kind;
    if (gj_scan_value(text, len, &pos, &kind, &s, &e) < 0)
        return NULL;
    for (size_t i = e; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return NULL;
    walker w = {text, e, flags};
    size_t at = s;
    return build(&w, &at, 0);
}

int ma_json_may_be_inexact(const json_t *v)
{
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return d == 0 || fabs(d) < DBL_MIN || fabs(d) >= EXACT_DOUBLE_LIMIT;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (ma_json_may_be_inexact(json_array_get(v, i)))
                return 1;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (ma_json_may_be_inexact(x))
                return 1;
        }
    }
    return 0;
}
