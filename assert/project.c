/* project.c: see project.h. The paths become a trie; the body is checked
 * once for being plain, validated with the server's scanner (gojson.h, Go's
 * grammar), then walked along the trie with gj_iter, which skips what no
 * path reaches without looking inside it.
 *
 * Why "plain" is enough for the shortcut to read what jansson reads: on
 * UTF-8 text without backslashes, jansson's grammar (json_loadb with
 * JSON_DECODE_ANY) and Go's are the same except for nesting (jansson stops
 * at 2048, hence the bracket count); a string without escapes is its bytes;
 * a number of at most 15 digits without exponent is an exact int64 or an
 * ordinary double, never one of the numbers ma_json_from_body treats apart
 * (integers beyond 64 bits, overflowing or underflowing reals, reals from
 * 2^53), and it is built by ma_json_from_body itself anyway unless it is an
 * integer. Duplicate member names are set in text order with jansson's own
 * setter, so the last one wins at the first one's place, as in json_loadb. */
#include "project.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"
#include "util.h"

#define PLAIN_MAX_OPEN 2000 /* brackets: jansson refuses nesting deeper than 2048 */
#define PLAIN_MAX_DIGITS 15 /* digits in a row, outside strings */
#define SET_MAX 64          /* trie nodes applying at once to one value */

typedef struct pnode pnode;

typedef struct {
    int is_key;
    char *key; /* is_key */
    size_t klen;
    long long idx; /* !is_key: an index, negative from the end */
    pnode *n;
} pkid;

struct pnode {
    int whole;  /* a path ends here: the value is kept whole */
    pnode *all; /* [*] / .* */
    pkid *kids;
    size_t nkids;
};

struct ma_proj {
    pnode *root;
    int wide; /* more trie nodes than SET_MAX: bodies are read whole */
};

static pnode *node_new(void)
{
    return ma_xcalloc(1, sizeof(pnode));
}

static void node_free(pnode *n)
{
    if (!n)
        return;
    node_free(n->all);
    for (size_t i = 0; i < n->nkids; i++) {
        free(n->kids[i].key);
        node_free(n->kids[i].n);
    }
    free(n->kids);
    free(n);
}

ma_proj *ma_proj_new(void)
{
    ma_proj *p = ma_xcalloc(1, sizeof *p);
    p->root = node_new();
    return p;
}

void ma_proj_free(ma_proj *p)
{
    if (!p)
        return;
    node_free(p->root);
    free(p);
}

static pnode *kid(pnode *n, int is_key, const char *key, long long idx)
{
    size_t klen = is_key ? strlen(key) : 0;
    for (size_t i = 0; i < n->nkids; i++) {
        pkid *k = &n->kids[i];
        if (k->is_key == is_key &&
            (is_key ? k->klen == klen && memcmp(k->key, key, klen) == 0 : k->idx == idx))
            return k->n;
    }
    n->kids = ma_xrealloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
    pkid *k = &n->kids[n->nkids++];
    k->is_key = is_key;
    k->key = is_key ? ma_xstrdup(key) : NULL;
    k->klen = klen;
    k->idx = idx;
    k->n = node_new();
    return k->n;
}

/* The number of trie nodes under n: a bound on how many apply at once to
 * one value (they are distinct nodes). */
static size_t width(const pnode *n)
{
    size_t w = (n->all ? 1 : 0) + n->nkids;
    if (n->all)
        w += width(n->all);
    for (size_t i = 0; i < n->nkids; i++)
        w += width(n->kids[i].n);
    return w;
}

void ma_proj_add_path(ma_proj *p, const ma_path *path)
{
    pnode *n = p->root;
    size_t steps = ma_path_nsteps(path);
    for (size_t i = 0; i < steps; i++) {
        const char *key;
        long long idx;
        switch (ma_path_step(path, i, &key, &idx)) {
        case MA_STEP_KEY:
            n = kid(n, 1, key, 0);
            break;
        case MA_STEP_INDEX:
            n = kid(n, 0, NULL, idx);
            break;
        case MA_STEP_ALL:
            if (!n->all)
                n->all = node_new();
            n = n->all;
            break;
        }
    }
    n->whole = 1;
    p->wide = width(p->root) >= SET_MAX;
}

void ma_proj_add_check(ma_proj *p, const ma_check *c)
{
    if (!c)
        return;
    if (c->kind == MA_CHECK_OP) {
        /* an operator's own checks (length's count) look at a number it
         * derives, not at the body: adding their $ would read every body
         * whole and turn the memo off. Nor does a check on a subject
         * (header, fault, ...) read the body: its NULL path is no $ */
        if (!c->subject)
            ma_proj_add_path(p, c->path);
        return;
    }
    for (size_t i = 0; i < c->nkids; i++)
        ma_proj_add_check(p, c->kids[i]);
}

/* ---- plain text ---- */

/* Length of the UTF-8 sequence at s (n bytes left) that jansson accepts:
 * no overlong forms, no surrogates, nothing past U+10FFFF; 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (need >= n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

/* 1 if the text is plain (project.h). The validity of the JSON itself is
 * the scanner's to check. */
static int plain(const unsigned char *s, size_t n)
{
    size_t open = 0, digits = 0;
    int in_string = 0; /* no backslash, so every quote opens or closes one */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_len(s + i, n - i);
            if (!k)
                return 0;
            i += k;
            digits = 0;
            continue;
        }
        i++;
        if (c == '\\')
            return 0;
        if (c == '"') {
            in_string = !in_string;
            digits = 0;
            continue;
        }
        if (in_string)
            continue;
        if (c >= '0' && c <= '9') {
            if (++digits > PLAIN_MAX_DIGITS)
                return 0;
            continue;
        }
        if ((c == 'e' || c == 'E') && digits)
            return 0; /* an exponent: the digits before it belong to a number */
        digits = 0;
        if ((c == '[' || c == '{') && ++open >= PLAIN_MAX_OPEN)
            return 0;
    }
    return 1;
}

/* ---- the walk ---- */

typedef struct {
    const char *t;
} walk;

static json_t *oom_check(json_t *v)
{
    if (!v)
        ma_oom();
    return v;
}

/* The value at [s, e) whole, as ma_json_from_body reads it (the text is
 * plain: strings have no escapes and are UTF-8). */
static json_t *leaf(const walk *w, gj_kind kind, size_t s, size_t e)
{
    switch (kind) {
    case GJ_NULL:
        return json_null();
    case GJ_TRUE:
        return json_true();
    case GJ_FALSE:
        return json_false();
    case GJ_STRING:
        return oom_check(json_stringn_nocheck(w->t + s + 1, e - s - 2));
    case GJ_NUMBER:
        if (!memchr(w->t + s, '.', e - s)) {
            /* at most 15 digits: an int64, as jansson makes it */
            char tmp[24];
            memcpy(tmp, w->t + s, e - s);
            tmp[e - s] = '\0';
            return oom_check(json_integer(strtoll(tmp, NULL, 10)));
        }
        break;
    case GJ_ARRAY:
    case GJ_OBJECT:
        break;
    }
    return oom_check(ma_json_from_body(w->t + s, e - s));
}

static json_t *project(const walk *w, gj_kind kind, size_t s, size_t e, const pnode *const *set, size_t nset)
{
    for (size_t i = 0; i < nset; i++)
        if (set[i]->whole)
            return leaf(w, kind, s, e);
    if (kind != GJ_OBJECT && kind != GJ_ARRAY)
        return leaf(w, kind, s, e); /* no path goes on into a scalar; kept for its kind */
    const pnode *next[SET_MAX];
    gj_iter it;
    size_t ks = 0, ke = 0, vs, ve;
    gj_kind k;
    if (kind == GJ_OBJECT) {
        json_t *o = oom_check(json_object());
        gj_iter_init(&it, w->t, s, e);
        while (gj_iter_next(&it, &ks, &ke, &k, &vs, &ve) == 1) {
            const char *key = w->t + ks + 1;
            size_t klen = ke - ks - 2, nn = 0;
            for (size_t i = 0; i < nset; i++) {
                if (set[i]->all && nn < SET_MAX)
                    next[nn++] = set[i]->all;
                for (size_t j = 0; j < set[i]->nkids; j++) {
                    const pkid *kd = &set[i]->kids[j];
                    if (kd->is_key && kd->klen == klen && memcmp(kd->key, key, klen) == 0 && nn < SET_MAX)
                        next[nn++] = kd->n;
                }
            }
            if (!nn)
                continue;
            if (json_object_setn_new_nocheck(o, key, klen, project(w, k, vs, ve, next, nn)))
                ma_oom();
        }
        return o;
    }
    /* an array: its length first (negative indexes count from the end) */
    size_t count = 0;
    gj_iter_init(&it, w->t, s, e);
    while (gj_iter_next(&it, NULL, NULL, &k, &vs, &ve) == 1)
        count++;
    json_t *a = oom_check(json_array());
    gj_iter_init(&it, w->t, s, e);
    for (size_t idx = 0; gj_iter_next(&it, NULL, NULL, &k, &vs, &ve) == 1; idx++) {
        size_t nn = 0;
        for (size_t i = 0; i < nset; i++) {
            if (set[i]->all && nn < SET_MAX)
                next[nn++] = set[i]->all;
            for (size_t j = 0; j < set[i]->nkids; j++) {
                const pkid *kd = &set[i]->kids[j];
                long long at = kd->idx < 0 ? (long long)count + kd->idx : kd->idx;
                if (!kd->is_key && at == (long long)idx && nn < SET_MAX)
                    next[nn++] = kd->n;
            }
        }
        /* an element no path reaches holds its place */
        if (json_array_append_new(a, nn ? project(w, k, vs, ve, next, nn) : json_null()))
            ma_oom();
    }
    return a;
}

json_t *ma_proj_body(const ma_proj *p, const char *text, size_t len)
{
    if (!p || p->root->whole || p->wide || !plain((const unsigned char *)text, len))
        return ma_json_from_body(text, len);
    size_t pos = 0, s, e;
    gj_kind kind;
    if (gj_scan_value(text, len, &pos, &kind, &s, &e) < 0)
        return ma_json_from_body(text, len);
    for (size_t i = e; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return ma_json_from_body(text, len);
    walk w = {text};
    const pnode *root = p->root;
    return project(&w, kind, s, e, &root, 1);
}

/* ---- keys: validating and describing in one pass ---- */

#define KEY_MAX_DEPTH 1000

typedef struct {
    const unsigned char *t;
    size_t n, i;
    int depth;
    ma_buf *key;
} keyer;

static void key_add(keyer *k, char tag, const void *p, size_t n)
{
    char head[1 + sizeof(size_t)];
    head[0] = tag;
    memcpy(head + 1, &n, sizeof n); /* lengths make the encoding unambiguous */
    ma_buf_add(k->key, head, sizeof head);
    ma_buf_add(k->key, p, n);
}

static void skip_ws(keyer *k)
{
    while (k->i < k->n && (k->t[k->i] == ' ' || k->t[k->i] == '\t' || k->t[k->i] == '\n' || k->t[k->i] == '\r'))
        k->i++;
}

/* A string without escapes (plain): valid UTF-8, no control bytes. */
static int key_string(keyer *k)
{
    size_t i = k->i + 1;
    const unsigned char *t = k->t;
    for (;;) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* eight ASCII bytes at a time while none ends or breaks the string
         * (little-endian: the first byte is the lowest) */
        while (i + 8 <= k->n) {
            uint64_t w;
            memcpy(&w, t + i, 8);
            uint64_t high = w & 0x8080808080808080ULL;
            uint64_t ctl = (w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL;
            uint64_t q = w ^ 0x2222222222222222ULL, bs = w ^ 0x5C5C5C5C5C5C5C5CULL;
            uint64_t quote = (q - 0x0101010101010101ULL) & ~q & 0x8080808080808080ULL;
            uint64_t back = (bs - 0x0101010101010101ULL) & ~bs & 0x8080808080808080ULL;
            uint64_t m = high | ctl | quote | back;
            if (m) {
                i += (size_t)__builtin_ctzll(m) / 8; /* exact up to the first */
                break;
            }
            i += 8;
        }
#endif
        if (i >= k->n)
            return 0;
        unsigned char c = t[i];
        if (c == '"') {
            k->i = i + 1;
            return 1;
        }
        if (c == '\\' || c < 0x20)
            return 0;
        if (c >= 0x80) {
            size_t l = utf8_len(t + i, k->n - i);
            if (!l)
                return 0;
            i += l;
        } else {
            i++;
        }
    }
}

static int key_digits(keyer *k)
{
    size_t d = 0;
    while (k->i < k->n && k->t[k->i] >= '0' && k->t[k->i] <= '9') {
        k->i++;
        d++;
    }
    return d >= 1 && d <= PLAIN_MAX_DIGITS;
}

/* A number without an exponent, no run of more than 15 digits. */
static int key_number(keyer *k)
{
    if (k->t[k->i] == '-')
        k->i++;
    if (k->i >= k->n)
        return 0;
    if (k->t[k->i] == '0') {
        k->i++;
    } else if (k->t[k->i] >= '1' && k->t[k->i] <= '9') {
        if (!key_digits(k))
            return 0;
    } else {
        return 0;
    }
    if (k->i < k->n && k->t[k->i] == '.') {
        k->i++;
        if (!key_digits(k))
            return 0;
    }
    if (k->i < k->n && (k->t[k->i] == 'e' || k->t[k->i] == 'E' || (k->t[k->i] >= '0' && k->t[k->i] <= '9')))
        return 0; /* an exponent (not plain), or a leading zero followed by digits */
    return 1;
}

static int key_word(keyer *k, const char *w, size_t n)
{
    if (k->n - k->i < n || memcmp(k->t + k->i, w, n) != 0)
        return 0;
    k->i += n;
    return 1;
}

/* The nodes applying to member key[0, klen) (or to array element idx of
 * count, when key is NULL) after set: into next, returns how many. */
static size_t next_nodes(const pnode *const *set, size_t nset, const char *key, size_t klen, size_t idx,
                         size_t count, const pnode **next)
{
    size_t nn = 0;
    for (size_t i = 0; i < nset; i++) {
        if (set[i]->all)
            next[nn++] = set[i]->all;
        for (size_t j = 0; j < set[i]->nkids; j++) {
            const pkid *kd = &set[i]->kids[j];
            if (key ? kd->is_key && kd->klen == klen && memcmp(kd->key, key, klen) == 0
                    : !kd->is_key && (kd->idx < 0 ? (long long)count + kd->idx : kd->idx) == (long long)idx)
                next[nn++] = kd->n;
        }
    }
    return nn;
}

static int has_negative(const pnode *const *set, size_t nset)
{
    for (size_t i = 0; i < nset; i++)
        for (size_t j = 0; j < set[i]->nkids; j++)
            if (!set[i]->kids[j].is_key && set[i]->kids[j].idx < 0)
                return 1;
    return 0;
}

/* One value at k->i: validated, and described when set is not empty. */
static int key_value(keyer *k, const pnode *const *set, size_t nset)
{
    skip_ws(k);
    if (k->i >= k->n)
        return 0;
    size_t s = k->i;
    unsigned char c = k->t[s];
    int whole = 0;
    for (size_t i = 0; i < nset; i++)
        whole |= set[i]->whole;
    int describe = nset && !whole; /* a container kept in part */
    const pnode *next[SET_MAX];
    if (c == '{' || c == '[') {
        if (++k->depth > KEY_MAX_DEPTH)
            return 0;
        int object = c == '{';
        k->i++;
        if (describe)
            key_add(k, object ? '{' : '[', "", 0);
        int two_phase = describe && !object && has_negative(set, nset);
        size_t *starts = NULL, count = 0, cap = 0;
        skip_ws(k);
        if (k->i < k->n && k->t[k->i] == (object ? '}' : ']')) {
            k->i++;
        } else {
            for (;;) {
                size_t nn = 0;
                if (object) {
                    skip_ws(k);
                    if (k->i >= k->n || k->t[k->i] != '"')
                        return free(starts), 0;
                    size_t ks = k->i;
                    if (!key_string(k))
                        return free(starts), 0;
                    const char *key = (const char *)k->t + ks + 1;
                    size_t klen = k->i - ks - 2;
                    skip_ws(k);
                    if (k->i >= k->n || k->t[k->i] != ':')
                        return free(starts), 0;
                    k->i++;
                    if (describe && (nn = next_nodes(set, nset, key, klen, 0, 0, next)) > 0)
                        key_add(k, 'k', key, klen);
                } else if (two_phase) {
                    skip_ws(k);
                    if (count == cap) {
                        cap = cap ? cap * 2 : 16;
                        starts = ma_xrealloc(starts, cap * sizeof *starts);
                    }
                    starts[count] = k->i;
                } else if (describe && (nn = next_nodes(set, nset, NULL, 0, count, 0, next)) > 0) {
                    key_add(k, 'i', &count, sizeof count);
                }
                if (!key_value(k, next, nn))
                    return free(starts), 0;
                count++;
                skip_ws(k);
                if (k->i >= k->n)
                    return free(starts), 0;
                if (k->t[k->i] == ',') {
                    k->i++;
                    continue;
                }
                if (k->t[k->i] != (object ? '}' : ']'))
                    return free(starts), 0;
                k->i++;
                break;
            }
        }
        if (two_phase) {
            /* negative indexes: the elements they reach, now that the length is known */
            size_t end = k->i;
            for (size_t idx = 0; idx < count; idx++) {
                size_t nn = next_nodes(set, nset, NULL, 0, idx, count, next);
                if (!nn)
                    continue;
                key_add(k, 'i', &idx, sizeof idx);
                k->i = starts[idx];
                int depth = k->depth;
                if (!key_value(k, next, nn))
                    return free(starts), 0; /* cannot happen: it was valid the first time */
                k->depth = depth;
            }
            k->i = end;
        }
        free(starts);
        if (describe && !object)
            key_add(k, 'n', &count, sizeof count);
        if (describe)
            key_add(k, object ? '}' : ']', "", 0);
        k->depth--;
    } else if (c == '"') {
        if (!key_string(k))
            return 0;
    } else if (c == 't' || c == 'f' || c == 'n') {
        if (!(c == 't' ? key_word(k, "true", 4) : c == 'f' ? key_word(k, "false", 5) : key_word(k, "null", 4)))
            return 0;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!key_number(k))
            return 0;
    } else {
        return 0;
    }
    /* a value kept whole, or a scalar a path goes on into (kept for its kind) */
    if (whole || (nset && c != '{' && c != '['))
        key_add(k, 'v', k->t + s, k->i - s);
    return 1;
}

int ma_proj_key(const ma_proj *p, const char *text, size_t len, ma_buf *key)
{
    if (!p || p->root->whole || p->wide)
        return 0;
    key->len = 0;
    if (key->p)
        key->p[0] = '\0';
    keyer k = {(const unsigned char *)text, len, 0, 0, key};
    const pnode *root = p->root;
    if (!key_value(&k, &root, 1))
        return 0;
    skip_ws(&k);
    return k.i == k.n;
}
