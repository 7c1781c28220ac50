/* group.c: see group.h. */
#include "group.h"

#include <stdlib.h>
#include <string.h>

#include "number.h"

static ma_groupby *new_groupby(ma_mark mark, ma_group_kind kind)
{
    ma_groupby *g = ma_xcalloc(1, sizeof *g);
    g->kind = kind;
    g->mark = mark;
    return g;
}

ma_groupby *ma_groupby_segment(ma_mark mark, int segment)
{
    ma_groupby *g = new_groupby(mark, MA_GROUP_SEGMENT);
    g->segment = segment;
    g->text = ma_xasprintf("segment %d", segment);
    return g;
}

ma_groupby *ma_groupby_subject(ma_mark mark, ma_subject *s)
{
    ma_groupby *g = new_groupby(mark, s->kind == MA_SUBJ_QUERY  ? MA_GROUP_QUERY
                                      : s->kind == MA_SUBJ_AUTH ? MA_GROUP_AUTH
                                                                : MA_GROUP_HEADER);
    g->subject = s;
    g->text = ma_xstrdup(s->text);
    return g;
}

ma_groupby *ma_groupby_path(ma_mark mark, ma_path *p)
{
    ma_groupby *g = new_groupby(mark, MA_GROUP_PATH);
    g->path = p;
    g->text = ma_xasprintf("path %s", ma_path_text(p));
    return g;
}

void ma_groupby_free(ma_groupby *g)
{
    if (!g)
        return;
    ma_subject_free(g->subject);
    ma_path_free(g->path);
    free(g->text);
    free(g);
}

static char *dump(const json_t *v, size_t flags)
{
    /* ma_number_dumps: an exact number (18446744073709551615, 1e400) is
     * keyed and shown by its text, not by its internal member */
    char *s = ma_number_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags);
    if (!s)
        ma_oom();
    char *r = ma_xstrdup(s); /* jansson's malloc: hand over a plain copy */
    free(s);
    return r;
}

static char *string_key(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (!j)
        return NULL; /* not UTF-8: the journal's JSON cannot hold such a value */
    char *k = dump(j, 0);
    json_decref(j);
    return k;
}

/* The segment-th segment of path ("/v1/nodes/n1/heartbeat": v1, nodes,
 * n1, heartbeat), as written (not decoded), or NULL past either end. */
static char *segment_key(const char *path, int segment)
{
    if (!path)
        return NULL;
    if (*path == '/')
        path++;
    size_t count = 1;
    for (const char *p = path; *p; p++)
        count += *p == '/';
    long want = segment > 0 ? segment - 1 : (long)count + segment;
    if (want < 0 || (size_t)want >= count)
        return NULL;
    const char *p = path;
    for (long i = 0; i < want; i++)
        p = strchr(p, '/') + 1;
    const char *end = strchr(p, '/');
    return string_key(p, end ? (size_t)(end - p) : strlen(p));
}

char *ma_group_key(const ma_groupby *g, const json_t *entry, json_t *body)
{
    switch (g->kind) {
    case MA_GROUP_SEGMENT:
        return segment_key(json_string_value(json_object_get(entry, "path")), g->segment);
    case MA_GROUP_PATH: {
        ma_hit *hits = NULL;
        size_t n = ma_path_select(g->path, body, &hits);
        /* members in name order: {"a":1,"b":2} and {"b":2,"a":1} are one group */
        char *k = n ? dump(hits[0].value, JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
        ma_hits_free(hits, n);
        return k;
    }
    case MA_GROUP_AUTH: {
        /* one value per entry: a string or null (no token, no node, a
         * reference session: missing), or skipped's true/false */
        ma_hit *hits = NULL;
        size_t n = ma_subject_select(g->subject, entry, &hits);
        char *k = n && !json_is_null(hits[0].value) ? dump(hits[0].value, 0) : NULL;
        ma_subject_hits_free(hits, n);
        return k;
    }
    default: {
        ma_hit *hits = NULL;
        size_t n = ma_subject_select(g->subject, entry, &hits);
        if (!n)
            return NULL;
        /* a repeated header (or parameter) is one value, as HTTP combines them */
        ma_buf b = {0};
        for (size_t i = 0; i < n; i++) {
            if (i)
                ma_buf_puts(&b, ", ");
            ma_buf_add(&b, json_string_value(hits[i].value), json_string_length(hits[i].value));
        }
        ma_subject_hits_free(hits, n);
        char *k = string_key(ma_buf_str(&b), b.len);
        ma_buf_free(&b);
        return k;
    }
    }
}

char *ma_group_show(const char *key)
{
    if (!key)
        return ma_xstrdup("(missing)");
    size_t l = strlen(key);
    if (l <= MA_GROUP_SHOW_MAX)
        return ma_xstrdup(key);
    size_t k = MA_GROUP_SHOW_MAX;
    while (k > 0 && ((unsigned char)key[k] & 0xC0) == 0x80)
        k--;
    return ma_xasprintf("%.*s... (%zu bytes)", (int)k, key, l);
}

typedef struct {
    const char *key;
    size_t i;
} keyed;

static int by_key_then_index(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (!x->key != !y->key)
        return x->key ? -1 : 1; /* missing last */
    int c = x->key ? strcmp(x->key, y->key) : 0;
    if (c)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

size_t ma_group_split(char *const *keys, size_t n, ma_group **groups)
{
    *groups = NULL;
    if (!n)
        return 0;
    keyed *v = ma_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i].key = keys[i];
        v[i].i = i;
    }
    qsort(v, n, sizeof *v, by_key_then_index);
    size_t ng = 0;
    ma_group *g = ma_xcalloc(n, sizeof *g); /* at most one group per item */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !v[j].key == !v[i].key && (!v[i].key || strcmp(v[j].key, v[i].key) == 0))
            j++;
        g[ng].key = v[i].key ? ma_xstrdup(v[i].key) : NULL;
        g[ng].n = j - i;
        g[ng].idx = ma_xcalloc(j - i, sizeof *g[ng].idx);
        for (size_t k = i; k < j; k++)
            g[ng].idx[k - i] = v[k].i;
        ng++;
        i = j;
    }
    free(v);
    *groups = g;
    return ng;
}

void ma_groups_free(ma_group *groups, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(groups[i].key);
        free(groups[i].idx);
    }
    free(groups);
}
