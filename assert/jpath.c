/* jpath.c: parsing and evaluating the JSON path subset of jpath.h. Pure. */
#include "jpath.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "util.h"

typedef enum { STEP_KEY, STEP_INDEX, STEP_ALL } step_kind;

typedef struct {
    step_kind kind;
    char *key;     /* STEP_KEY */
    long long idx; /* STEP_INDEX */
} step;

struct ma_path {
    step *steps;
    size_t n;
    int multi;
    char *text;
};

static int ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static int ident_key(const char *k)
{
    if (!*k)
        return 0;
    for (const char *p = k; *p; p++)
        if (!ident_char((unsigned char)*p))
            return 0;
    return 1;
}

void ma_path_append_key(char **path, const char *key)
{
    ma_buf b = {0};
    ma_buf_puts(&b, *path);
    if (ident_key(key)) {
        ma_buf_putc(&b, '.');
        ma_buf_puts(&b, key);
    } else {
        ma_buf_puts(&b, "['");
        for (const char *p = key; *p; p++) {
            if (*p == '\'' || *p == '\\')
                ma_buf_putc(&b, '\\');
            ma_buf_putc(&b, *p);
        }
        ma_buf_puts(&b, "']");
    }
    free(*path);
    *path = ma_buf_steal(&b);
}

void ma_path_append_index(char **path, size_t index)
{
    char *n = ma_xasprintf("%s[%zu]", *path, index);
    free(*path);
    *path = n;
}

static void add_step(ma_path *p, step s)
{
    p->steps = ma_xrealloc(p->steps, (p->n + 1) * sizeof *p->steps);
    p->steps[p->n++] = s;
}

void ma_path_free(ma_path *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->steps[i].key);
    free(p->steps);
    free(p->text);
    free(p);
}

ma_path *ma_path_parse(const char *text, size_t *errpos, const char **why)
{
    ma_path *p = ma_xcalloc(1, sizeof *p);
    const char *s = text;
    size_t base = 0; /* how many implied characters precede text */
    ma_buf canon = {0};
    ma_buf_putc(&canon, '$');
    if (*s == '$')
        s++;
    else if (*s == '[')
        base = 0;
    else if (*s != '\0') {
        /* "status" reads as "$.status": parse as if a '.' came first */
        base = 1;
    }
    int implied_dot = base == 1;
    while (*s || implied_dot) {
        if (implied_dot || *s == '.') {
            if (!implied_dot)
                s++;
            implied_dot = 0;
            if (*s == '*') {
                s++;
                add_step(p, (step){STEP_ALL, NULL, 0});
                p->multi = 1;
                ma_buf_puts(&canon, "[*]");
                continue;
            }
            const char *start = s;
            while (*s && ident_char((unsigned char)*s))
                s++;
            if (s == start) {
                *why = "expected a member name after '.' (use ['...'] for other characters)";
                goto fail;
            }
            char *key = ma_xstrndup(start, (size_t)(s - start));
            add_step(p, (step){STEP_KEY, key, 0});
            ma_buf_putc(&canon, '.');
            ma_buf_puts(&canon, key);
        } else if (*s == '[') {
            s++;
            if (*s == '*' && s[1] == ']') {
                s += 2;
                add_step(p, (step){STEP_ALL, NULL, 0});
                p->multi = 1;
                ma_buf_puts(&canon, "[*]");
            } else if (*s == '\'' || *s == '"') {
                char q = *s++;
                ma_buf key = {0};
                while (*s && *s != q) {
                    if (*s == '\\' && (s[1] == q || s[1] == '\\' || s[1] == '\'' || s[1] == '"'))
                        s++;
                    ma_buf_putc(&key, *s++);
                }
                if (*s != q || s[1] != ']') {
                    ma_buf_free(&key);
                    *why = *s != q ? "unterminated quoted member name" : "expected ']' after the quoted name";
                    goto fail;
                }
                s += 2;
                char *k = ma_buf_steal(&key);
                add_step(p, (step){STEP_KEY, k, 0});
                char *tmp = ma_xstrdup("");
                ma_path_append_key(&tmp, k);
                ma_buf_puts(&canon, tmp);
                free(tmp);
            } else if (*s == '-' || isdigit((unsigned char)*s)) {
                const char *start = s;
                if (*s == '-')
                    s++;
                if (!isdigit((unsigned char)*s)) {
                    *why = "expected an index";
                    goto fail;
                }
                long long v = 0;
                while (isdigit((unsigned char)*s)) {
                    if (v > 100000000000LL) {
                        *why = "index too large";
                        goto fail;
                    }
                    v = v * 10 + (*s++ - '0');
                }
                if (*start == '-')
                    v = -v;
                if (*s != ']') {
                    *why = "expected ']' after the index";
                    goto fail;
                }
                s++;
                add_step(p, (step){STEP_INDEX, NULL, v});
                ma_buf_printf(&canon, "[%lld]", v);
            } else {
                *why = "expected an index, *, or a quoted name after '['";
                goto fail;
            }
        } else {
            *why = "expected '.' or '[' (paths look like $.a.b[0] or $['a b'][*])";
            goto fail;
        }
    }
    p->text = ma_buf_steal(&canon);
    return p;
fail:
    *errpos = (size_t)(s - text);
    ma_buf_free(&canon);
    ma_path_free(p);
    return NULL;
}

size_t ma_path_nsteps(const ma_path *p)
{
    return p ? p->n : 0;
}

ma_step_kind ma_path_step(const ma_path *p, size_t i, const char **key, long long *index)
{
    const step *st = &p->steps[i];
    *key = st->key;
    *index = st->idx;
    return st->kind == STEP_KEY ? MA_STEP_KEY : st->kind == STEP_INDEX ? MA_STEP_INDEX : MA_STEP_ALL;
}

int ma_path_is_multi(const ma_path *p)
{
    return p && p->multi;
}

const char *ma_path_text(const ma_path *p)
{
    return p ? p->text : "$";
}

typedef struct {
    ma_hit *v;
    size_t n;
} hitlist;

static void select_from(const ma_path *p, size_t i, json_t *cur, char *where, hitlist *out)
{
    if (i == p->n) {
        out->v = ma_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n].path = where;
        out->v[out->n].value = cur;
        out->n++;
        return;
    }
    const step *st = &p->steps[i];
    switch (st->kind) {
    case STEP_KEY: {
        /* an exact number is a number, not an object with members */
        json_t *v = ma_is_object(cur) ? json_object_get(cur, st->key) : NULL;
        if (v) {
            ma_path_append_key(&where, st->key);
            select_from(p, i + 1, v, where, out);
            return;
        }
        break;
    }
    case STEP_INDEX: {
        if (json_is_array(cur)) {
            long long n = (long long)json_array_size(cur);
            long long k = st->idx < 0 ? n + st->idx : st->idx;
            if (k >= 0 && k < n) {
                ma_path_append_index(&where, (size_t)k);
                select_from(p, i + 1, json_array_get(cur, (size_t)k), where, out);
                return;
            }
        }
        break;
    }
    case STEP_ALL:
        if (json_is_array(cur)) {
            for (size_t k = 0; k < json_array_size(cur); k++) {
                char *w = ma_xstrdup(where);
                ma_path_append_index(&w, k);
                select_from(p, i + 1, json_array_get(cur, k), w, out);
            }
        } else if (ma_is_object(cur)) {
            const char *key;
            json_t *v;
            json_object_foreach(cur, key, v) {
                char *w = ma_xstrdup(where);
                ma_path_append_key(&w, key);
                select_from(p, i + 1, v, w, out);
            }
        }
        break;
    }
    free(where);
}

size_t ma_path_select(const ma_path *p, json_t *doc, ma_hit **hits)
{
    hitlist out = {0};
    if (!p || p->n == 0) {
        if (doc) {
            out.v = ma_xmalloc(sizeof *out.v);
            out.v[0].path = ma_xstrdup("$");
            out.v[0].value = doc;
            out.n = 1;
        }
    } else if (doc) {
        select_from(p, 0, doc, ma_xstrdup("$"), &out);
    }
    *hits = out.v;
    return out.n;
}

void ma_hits_free(ma_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(hits[i].path);
    free(hits);
}
