/* pages.c: reading pages of GET /test/requests as they arrive (see
 * requests.h, ma_page_reader). The answer is scanned entry by entry in one
 * pass per entry: members found, strings skipped eight bytes at a time,
 * the body decoded as it is walked; an entry cut by the end of a piece is
 * walked again once the text has doubled. Each entry is handed to the
 * store (jstore.h) and its text dropped: the answer is never held whole.
 * No I/O; nothing shared between threads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jstore.h"

static const char page_open[] = "{\"entries\":[";

enum { R_OPEN, R_BETWEEN, R_IN, R_TAIL, R_WHOLE, R_FAILED };
enum { X_FIRST, X_SEP, X_ENTRY }; /* an entry or ']', ',' or ']', an entry */

struct ma_page_reader {
    ma_journal *j;
    int fetched;       /* hand wanted entries to ma_journal_put instead of adding */
    int state;
    char *buf;         /* unread text: [0, len) */
    size_t len, cap;
    size_t start;      /* R_IN: where the entry began */
    size_t need;       /* R_IN: bytes from start before walking it again */
    member members[MAX_MEMBERS];
    ma_buf body;       /* the entry's body, decoded as walked */
    long long stop_after; /* fetched: the last seq wanted (0: read on) */
    int done;          /* fetched: past it; the rest is not read */
    long count;        /* entries in the page */
    long long last;    /* the highest seq among them */
    int expect;        /* R_BETWEEN: X_* */
    json_t *tail;      /* the counters after the list, once finished */
    ma_buf scratch;    /* decoded strings */
};

ma_page_reader *ma_page_reader_new(ma_journal *j, int fetched)
{
    ma_page_reader *r = ma_xcalloc(1, sizeof *r);
    r->j = j;
    r->fetched = fetched;
    ma_js_store(j);
    return r;
}

void ma_page_reader_free(ma_page_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    ma_buf_free(&r->body);
    json_decref(r->tail);
    ma_buf_free(&r->scratch);
    free(r);
}

const char *ma_page_whole(const ma_page_reader *r, size_t *len)
{
    *len = r->len;
    return r->buf ? r->buf : "";
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

/* Writes code point cp as UTF-8 at o; returns the end. */
static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes the JSON string literal lit[0, n) (quotes included) into b as
 * jansson does (escapes resolved, surrogate pairs joined; a lone
 * surrogate or a bad escape is an error, as in jansson). 0 or -1. The
 * text never grows in decoding, so b is sized once and written directly. */
int ma_js_decode_string(const char *lit, size_t n, ma_buf *b)
{
    if (b->cap < n + 1) {
        b->p = ma_xrealloc(b->p, n + 1);
        b->cap = n + 1;
    }
    char *o = b->p;
    size_t i = 1, end = n - 1;
    while (i < end) {
        const char *q = memchr(lit + i, '\\', end - i);
        size_t run = q ? (size_t)(q - lit) - i : end - i;
        memcpy(o, lit + i, run);
        o += run;
        i += run;
        if (i + 1 >= end)
            break;
        char c = lit[i + 1];
        i += 2;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (i + 4 > end || hex4(lit + i, &cp) < 0)
                return -1;
            i += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 6 > end || lit[i] != '\\' || lit[i + 1] != 'u' || hex4(lit + i + 2, &lo) < 0 || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return -1;
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o = put_utf8(o, cp); /* at most as long as the escape */
            break;
        }
        default:
            return -1;
        }
    }
    if (i < end && lit[i] == '\\')
        return -1; /* a backslash just before the closing quote */
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
    return 0;
}

/* A string member's text: the literal's bytes when it has no escape, else
 * decoded into a fresh copy (*owned, caller frees). -1 if not a string. */
static int string_value(const char *t, gj_kind k, size_t s, size_t e, const char **out, size_t *len, char **owned,
                        ma_buf *scratch)
{
    if (k != GJ_STRING)
        return -1;
    if (!memchr(t + s, '\\', e - s)) {
        *out = t + s + 1;
        *len = e - s - 2;
        return 0;
    }
    if (ma_js_decode_string(t + s, e - s, scratch) < 0)
        return -1;
    *len = scratch->len;
    *out = *owned = ma_xstrndup(scratch->p ? scratch->p : "", scratch->len);
    /* a NUL inside: the string ends there for C readers, as jansson's
     * json_string_value would */
    return 0;
}

/* A JSON integer's value: 0 and *v, or -1 (not an integer, or too big). */
static int integer_value(const char *t, gj_kind k, size_t s, size_t e, long long *v)
{
    if (k != GJ_NUMBER)
        return -1;
    size_t i = s;
    int neg = t[i] == '-';
    if (neg)
        i++;
    if (i == e)
        return -1;
    unsigned long long u = 0;
    for (; i < e; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1; /* a fraction or an exponent: a real, not an integer */
        unsigned d = (unsigned)(t[i] - '0');
        if (u > (9223372036854775807ULL - d) / 10 + (neg ? 1 : 0))
            return -1;
        u = u * 10 + d;
    }
    *v = neg ? -(long long)(u - 1) - 1 : (long long)u;
    return 0;
}

/* ---- walking an entry's text ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The string literal at b[i] == '"': 1 with *end just after it, 0 if b
 * ends first. */
static int walk_string(const char *b, size_t i, size_t n, size_t *end)
{
    size_t j = i + 1;
    for (;;) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* to the next quote or backslash eight bytes at a time (a body
         * string is mostly escaped quotes: memchr would stop at each) */
        while (j + 8 <= n) {
            uint64_t w;
            memcpy(&w, b + j, 8);
            uint64_t q = w ^ 0x2222222222222222ULL, k = w ^ 0x5C5C5C5C5C5C5C5CULL;
            uint64_t m = ((q - 0x0101010101010101ULL) & ~q) | ((k - 0x0101010101010101ULL) & ~k);
            m &= 0x8080808080808080ULL;
            if (m) {
                j += (size_t)__builtin_ctzll(m) / 8;
                break;
            }
            j += 8;
        }
#endif
        while (j < n && b[j] != '"' && b[j] != '\\')
            j++;
        if (j >= n)
            return 0;
        if (b[j] == '"') {
            *end = j + 1;
            return 1;
        }
        j += 2; /* an escape: the byte after the backslash is part of it */
    }
}

static void buf_room(ma_buf *o, size_t more)
{
    if (o->len + more + 1 > o->cap) {
        o->cap = (o->len + more + 1) * 2;
        o->p = ma_xrealloc(o->p, o->cap);
    }
}

/* The string literal at b[i] == '"', walked and decoded (as decode_string)
 * into o in the same pass: 1 with *end, 0 if b ends first, -1 if an
 * escape is bad. The text never grows in decoding: o gets room for all of
 * b after i (and a word more) at once, and words are copied as found. */
static int walk_decode(const char *b, size_t i, size_t n, size_t *end, ma_buf *o)
{
    size_t j = i + 1;
    o->len = 0;
    buf_room(o, n - i + 8);
    char *d = o->p;
    for (;;) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        while (j + 8 <= n) {
            uint64_t w;
            memcpy(&w, b + j, 8);
            memcpy(d, &w, 8); /* kept up to the quote or backslash, if any */
            uint64_t q = w ^ 0x2222222222222222ULL, k = w ^ 0x5C5C5C5C5C5C5C5CULL;
            uint64_t m = ((q - 0x0101010101010101ULL) & ~q) | ((k - 0x0101010101010101ULL) & ~k);
            m &= 0x8080808080808080ULL;
            if (m) {
                size_t z = (size_t)__builtin_ctzll(m) / 8;
                j += z;
                d += z;
                break;
            }
            j += 8;
            d += 8;
        }
#endif
        while (j < n && b[j] != '"' && b[j] != '\\')
            *d++ = b[j++];
        if (j >= n)
            return 0;
        if (b[j] == '"') {
            *d = '\0';
            o->len = (size_t)(d - o->p);
            *end = j + 1;
            return 1;
        }
        if (j + 1 >= n)
            return 0;
        char c = b[j + 1];
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (j + 6 > n)
                return 0;
            if (hex4(b + j + 2, &cp) < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j + 12 > n)
                    return 0;
                if (b[j + 6] != '\\' || b[j + 7] != 'u' || hex4(b + j + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j += 6;
            }
            d = put_utf8(d, cp); /* at most as long as the escape */
            j += 6;
            continue;
        }
        default:
            return -1;
        }
        j += 2;
    }
}

/* The value at b[i]: 1 with its kind and *end, 0 if b ends first, -1 if
 * no value starts there. Containers are skipped by their brackets (and
 * strings), not validated: the server wrote them. */
static int walk_value(const char *b, size_t i, size_t n, gj_kind *k, size_t *end)
{
    char c = b[i];
    if (c == '"') {
        *k = GJ_STRING;
        return walk_string(b, i, n, end);
    }
    if (c == '{' || c == '[') {
        *k = c == '{' ? GJ_OBJECT : GJ_ARRAY;
        size_t depth = 0;
        while (i < n) {
            c = b[i];
            if (c == '"') {
                if (!walk_string(b, i, n, &i))
                    return 0;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0) {
                *end = i + 1;
                return 1;
            }
            i++;
        }
        return 0;
    }
    static const struct {
        const char *w;
        size_t n;
        gj_kind k;
    } words[] = {{"true", 4, GJ_TRUE}, {"false", 5, GJ_FALSE}, {"null", 4, GJ_NULL}};
    for (size_t w = 0; w < 3; w++) {
        if (c != words[w].w[0])
            continue;
        if (n - i < words[w].n)
            return memcmp(b + i, words[w].w, n - i) == 0 ? 0 : -1;
        if (memcmp(b + i, words[w].w, words[w].n) != 0)
            return -1;
        *k = words[w].k;
        *end = i + words[w].n;
        return 1;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t j = i;
        while (j < n && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' ||
                         (b[j] >= '0' && b[j] <= '9')))
            j++;
        if (j == n)
            return 0; /* an entry goes on after a number: it may not be complete */
        *k = GJ_NUMBER;
        *end = j;
        return 1;
    }
    return -1;
}

/* The entry object at b[i] == '{' in one pass: 1 with its members and
 * *end, 0 if b ends first, -1 if it is not an object of members. */
int ma_js_walk_entry(const char *b, size_t i, size_t n, member *m, size_t *nm, size_t *end, ma_buf *body)
{
    *nm = 0;
    i++;
    for (int first = 1;; first = 0) {
        while (i < n && is_space(b[i]))
            i++;
        if (i >= n)
            return 0;
        if (first && b[i] == '}') {
            *end = i + 1;
            return 1;
        }
        if (b[i] != '"' || *nm == MAX_MEMBERS)
            return -1;
        member *x = &m[(*nm)++];
        x->ks = i;
        if (!walk_string(b, i, n, &x->ke))
            return 0;
        i = x->ke;
        while (i < n && is_space(b[i]))
            i++;
        if (i >= n)
            return 0;
        if (b[i++] != ':')
            return -1;
        while (i < n && is_space(b[i]))
            i++;
        if (i >= n)
            return 0;
        x->vs = i;
        x->decoded = 0;
        int r;
        if (b[i] == '"' && x->ke - x->ks == 6 && memcmp(b + x->ks, "\"body\"", 6) == 0) {
            /* the body: decoded as it is walked (a check may read it) */
            x->k = GJ_STRING;
            x->decoded = 1;
            r = walk_decode(b, i, n, &x->ve, body);
        } else {
            r = walk_value(b, i, n, &x->k, &x->ve);
        }
        if (r <= 0)
            return r;
        for (i = x->ve; i < n && is_space(b[i]); i++)
            ;
        if (i >= n)
            return 0;
        if (b[i] == '}') {
            *end = i + 1;
            return 1;
        }
        if (b[i++] != ',')
            return -1;
    }
}

#define KEY_IS(lit) (kl == sizeof(lit) - 1 && memcmp(key, lit, kl) == 0)

/* Reads the entry object t[s, e), walked into its members m[0, nm), and
 * adds it (or hands it to ma_journal_put); -1 with why. */
static int take_entry(ma_page_reader *rd, const char *t, size_t s, size_t e, const member *m, size_t nm,
                      const char **why)
{
    raw_entry r;
    memset(&r, 0, sizeof r);
    r.seq = -1;
    r.region = -1;
    json_t *fault = NULL; /* only faulted requests have one: parsed whole, it is small */
    char *owned[5] = {0}, *time_copy = NULL;
    const char *enc = NULL;
    size_t enc_len = 0, body_s = 0, body_e = 0;
    int body_string = 0, body_decoded = 0;
    int step = 1, rc = 0;
    for (size_t mi = 0; mi < nm; mi++) {
        size_t ks = m[mi].ks, ke = m[mi].ke, vs = m[mi].vs, ve = m[mi].ve;
        gj_kind k = m[mi].k;
        const char *key = t + ks + 1;
        size_t kl = ke - ks - 2;
        char *dk = NULL;
        if (memchr(key, '\\', kl)) {
            if (ma_js_decode_string(t + ks, ke - ks, &rd->scratch) < 0) {
                step = -1;
                break;
            }
            key = dk = ma_xstrndup(rd->scratch.p, rd->scratch.len);
            kl = rd->scratch.len;
        }
        const char *sv;
        size_t sl;
        long long iv;
        if (KEY_IS("seq")) {
            r.seq = integer_value(t, k, vs, ve, &iv) == 0 && iv >= 0 ? iv : -1;
        } else if (KEY_IS("time")) {
            free(time_copy);
            time_copy = NULL;
            free(owned[0]);
            owned[0] = NULL;
            if (string_value(t, k, vs, ve, &sv, &sl, &owned[0], &rd->scratch) == 0)
                time_copy = ma_xstrndup(sv, sl);
        } else if (KEY_IS("method")) {
            free(owned[1]);
            owned[1] = NULL;
            r.method = NULL;
            if (string_value(t, k, vs, ve, &sv, &sl, &owned[1], &rd->scratch) == 0) {
                r.method = sv;
                r.method_len = strnlen(sv, sl);
            }
        } else if (KEY_IS("path")) {
            free(owned[2]);
            owned[2] = NULL;
            r.path = NULL;
            if (string_value(t, k, vs, ve, &sv, &sl, &owned[2], &rd->scratch) == 0) {
                r.path = sv;
                r.path_len = strnlen(sv, sl);
            }
        } else if (KEY_IS("route")) {
            free(owned[3]);
            owned[3] = NULL;
            r.route = NULL;
            if (string_value(t, k, vs, ve, &sv, &sl, &owned[3], &rd->scratch) == 0) {
                r.route = sv;
                r.route_len = strnlen(sv, sl);
            }
        } else if (KEY_IS("status")) {
            r.status = integer_value(t, k, vs, ve, &iv) == 0 ? (int)iv : 0;
        } else if (KEY_IS("test")) {
            r.test = k == GJ_TRUE;
        } else if (KEY_IS("fault")) {
            json_decref(fault);
            fault = k == GJ_OBJECT ? json_loadb(t + vs, ve - vs, 0, NULL) : NULL;
        } else if (KEY_IS("region")) {
            r.region = integer_value(t, k, vs, ve, &iv) == 0 && iv >= 0 && iv <= INT16_MAX ? (int)iv : -1;
        } else if (KEY_IS("body")) {
            body_string = k == GJ_STRING;
            body_s = vs;
            body_e = ve;
            body_decoded = m[mi].decoded;
        } else if (KEY_IS("body_encoding")) {
            free(owned[4]);
            owned[4] = NULL;
            enc = NULL;
            if (string_value(t, k, vs, ve, &sv, &sl, &owned[4], &rd->scratch) == 0) {
                enc = sv;
                enc_len = sl;
            }
        }
        free(dk);
    }
    if (step < 0) {
        *why = "the answer is not JSON";
        rc = -1;
        goto out;
    }
    if (r.seq < 0) {
        *why = "a journal entry has no seq";
        rc = -1;
        goto out;
    }
    r.time = time_copy;
    r.fault = fault;
    if (r.seq > rd->last)
        rd->last = r.seq;
    if (rd->fetched) {
        if (rd->stop_after && r.seq > rd->stop_after) {
            rd->done = 1; /* past the last entry wanted */
            goto out;
        }
        if (ma_journal_wants(rd->j, r.seq))
            ma_js_put_text(rd->j, r.seq, t + s, e - s);
        goto out;
    }
    if (body_string && body_decoded) {
        r.body = rd->body.p ? rd->body.p : "";
        r.body_len = rd->body.len;
        r.base64 = enc && enc_len == 6 && memcmp(enc, "base64", 6) == 0;
    } else if (body_string) {
        r.body_lit = t + body_s;
        r.body_lit_len = body_e - body_s;
        r.base64 = enc && enc_len == 6 && memcmp(enc, "base64", 6) == 0;
    }
    r.text = t + s;
    r.text_len = e - s;
    size_t before = rd->j->n;
    if (ma_js_add_entry(rd->j, &r) < 0) {
        *why = "the answer is not JSON";
        rc = -1;
    } else if (rd->j->n > before) {
        ma_js_keep_text(rd->j, t + s, e - s);
    }
out:
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
    free(time_copy);
    json_decref(fault);
    return rc;
}

int ma_page_reader_feed(ma_page_reader *rd, const char *p, size_t n, const char **why)
{
    if (rd->state == R_FAILED) {
        *why = "the answer is not a journal page";
        return -1;
    }
    if (rd->len + n + 1 > rd->cap) {
        rd->cap = (rd->len + n + 1) * 2;
        rd->buf = ma_xrealloc(rd->buf, rd->cap);
    }
    memcpy(rd->buf + rd->len, p, n);
    rd->len += n;
    rd->buf[rd->len] = '\0';
    size_t used = 0; /* text before this is done with */
    for (;;) {
        if (rd->state == R_WHOLE || rd->state == R_TAIL)
            return 0; /* kept as it comes */
        if (rd->state == R_OPEN) {
            size_t have = rd->len < sizeof page_open - 1 ? rd->len : sizeof page_open - 1;
            if (memcmp(rd->buf, page_open, have) != 0) {
                rd->state = R_WHOLE;
                return 0;
            }
            if (have < sizeof page_open - 1)
                return 0;
            used = sizeof page_open - 1;
            rd->state = R_BETWEEN;
        }
        if (rd->state == R_BETWEEN) {
            /* after '[' an entry or ']'; after an entry ',' or ']'; after ',' an entry */
            size_t i = used;
            while (i < rd->len && is_space(rd->buf[i]))
                i++;
            used = i;
            if (i == rd->len)
                break;
            char c = rd->buf[i];
            if (rd->expect == X_SEP && c == ',') {
                rd->expect = X_ENTRY;
                used = i + 1;
                continue;
            }
            if (c == ']' && rd->expect != X_ENTRY) {
                /* the rest is the page object's other members: kept */
                used = i + 1;
                memmove(rd->buf, rd->buf + used, rd->len - used);
                rd->len -= used;
                rd->buf[rd->len] = '\0';
                rd->state = R_TAIL;
                return 0;
            }
            if (c != '{' || rd->expect == X_SEP) {
                rd->state = R_FAILED;
                *why = c == '{' || c == ',' || c == ']' ? "the answer is not JSON" : "a journal entry is not an object";
                return -1;
            }
            rd->state = R_IN;
            rd->start = i;
        }
        if (rd->state == R_IN) {
            /* an entry cut by the end of the text is walked again from its
             * start once the text has doubled: a huge one costs twice its
             * length, not its length times the pieces it came in */
            size_t have = rd->len - rd->start, end = 0, nm = 0;
            int w = have < rd->need ? 0 : ma_js_walk_entry(rd->buf, rd->start, rd->len, rd->members, &nm, &end, &rd->body);
            if (w == 0) {
                if (have >= rd->need)
                    rd->need = have * 2;
                used = rd->start;
                break;
            }
            if (w < 0 || take_entry(rd, rd->buf, rd->start, end, rd->members, nm, why) < 0) {
                if (w < 0)
                    *why = "the answer is not JSON";
                rd->state = R_FAILED;
                return -1;
            }
            rd->count++;
            rd->expect = X_SEP;
            rd->need = 0;
            used = end;
            rd->state = R_BETWEEN;
            if (rd->done)
                return 1; /* what is left is not wanted */
        }
    }
    /* drop what was read; an unfinished entry moves to the front */
    if (used) {
        memmove(rd->buf, rd->buf + used, rd->len - used);
        rd->len -= used;
        rd->buf[rd->len] = '\0';
        if (rd->state == R_IN)
            rd->start -= used;
    }
    return 0;
}

void ma_page_reader_stop_after(ma_page_reader *rd, long long seq)
{
    rd->stop_after = seq;
}

int ma_page_reader_finish(ma_page_reader *rd, long *entries, long long *next_seq, const char **why)
{
    if (rd->done) {
        *entries = rd->count;
        *next_seq = -1;
        return 0;
    }
    if (rd->state == R_IN) {
        /* the last entry may wait for the text to double: there is no more */
        rd->need = 0;
        if (ma_page_reader_feed(rd, "", 0, why) < 0)
            return -1;
    }
    if (rd->state == R_WHOLE || (rd->state == R_OPEN && rd->len < sizeof page_open - 1))
        return 1;
    if (rd->state == R_FAILED) {
        *why = "the answer is not a journal page";
        return -1;
    }
    if (rd->state != R_TAIL) {
        *why = "the answer is not JSON (it ends inside the entries list)";
        return -1;
    }
    /* ",\"next_seq\":...}" or "}": an object once the comma is a brace */
    size_t i = 0;
    while (i < rd->len && is_space(rd->buf[i]))
        i++;
    json_t *tail = NULL;
    if (i < rd->len && rd->buf[i] == ',') {
        rd->buf[i] = '{';
        tail = json_loadb(rd->buf + i, rd->len - i, 0, NULL);
    } else if (i < rd->len && rd->buf[i] == '}') {
        size_t k = i + 1;
        while (k < rd->len && is_space(rd->buf[k]))
            k++;
        tail = k == rd->len ? json_object() : NULL;
    }
    if (!json_is_object(tail)) {
        json_decref(tail);
        *why = "the answer is not JSON";
        return -1;
    }
    rd->tail = tail;
    *entries = rd->count;
    json_t *ns = json_object_get(tail, "next_seq");
    *next_seq = json_is_integer(ns) ? (long long)json_integer_value(ns) : -1;
    return 0;
}

long long ma_page_reader_last_seq(const ma_page_reader *rd)
{
    return rd->last;
}

void ma_page_reader_apply(ma_page_reader *rd)
{
    if (rd->tail)
        ma_js_page_counters(rd->j, rd->tail);
}

