/* requests.c: see requests.h. The journal's parts, in ma_jstore:
 *  - strings: method, path and route texts, interned (one copy each, in
 *    an arena), so a shape is a handful of pointers;
 *  - shapes: entries alike in method, path, route, status and test; each
 *    lists its entries, the remembered selections that take it (kept up
 *    to date as entries arrive) and the announced checks that apply to it,
 *    with the projection (project.h) of their paths;
 *  - selections: per distinct filter, the entries it selects (ascending
 *    indexes into v) and, per shape, whether it takes it;
 *  - wants: the announced (filter, check) pairs and, per entry their
 *    selection holds, the verdict (unknown, fails, holds);
 *  - fetched: entries fetched again (their text; the object and body read
 *    from it when asked for), until released.
 * Pages are read into it by pages.c (jstore.h). Nothing here is shared
 * between threads. */
#include "requests.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "glob.h"
#include "gojson.h"
#include "jstore.h"
#include "match.h"
#include "project.h"

#define MERGE_MAX 8 /* a new selection of this many shapes or fewer merges their lists */
/* The text of the most recent entries is kept up to this many bytes, so
 * that showing them needs no request: the server may have evicted them
 * since (mockassert's own requests are journaled too), and a journal of
 * the default size (10,000 entries) is usually kept whole. */
#define KEEP_TEXT_BYTES ((size_t)16 << 20)

/* ---- interned strings ---- */

typedef struct {
    char **slot; /* open addressing; NULL: empty */
    size_t cap, n;
    char **chunks; /* the arena: every string lives in one of these */
    size_t nchunks, left;
    char *at;
} strtab;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static char *arena_copy(strtab *t, const char *p, size_t n)
{
    if (t->left < n + 1) {
        size_t sz = n + 1 > 65536 ? n + 1 : 65536;
        t->chunks = ma_xrealloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
        t->chunks[t->nchunks++] = t->at = ma_xmalloc(sz);
        t->left = sz;
    }
    char *r = t->at;
    memcpy(r, p, n);
    r[n] = '\0';
    t->at += n + 1;
    t->left -= n + 1;
    return r;
}

/* The one copy of p[0, n) (no NUL inside: journal strings are JSON text
 * the server wrote from C strings). */
static const char *intern(strtab *t, const char *p, size_t n)
{
    if (t->n * 2 >= t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        char **ns = ma_xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slot[i])
                continue;
            size_t k = hash_bytes(t->slot[i], strlen(t->slot[i])) & (ncap - 1);
            while (ns[k])
                k = (k + 1) & (ncap - 1);
            ns[k] = t->slot[i];
        }
        free(t->slot);
        t->slot = ns;
        t->cap = ncap;
    }
    size_t k = hash_bytes(p, n) & (t->cap - 1);
    while (t->slot[k]) {
        if (strncmp(t->slot[k], p, n) == 0 && t->slot[k][n] == '\0')
            return t->slot[k];
        k = (k + 1) & (t->cap - 1);
    }
    t->n++;
    return t->slot[k] = arena_copy(t, p, n);
}

/* The one copy of p[0, n) if there is one, else NULL (nothing added). */
static const char *intern_find(const strtab *t, const char *p, size_t n)
{
    if (!t->cap)
        return NULL;
    for (size_t k = hash_bytes(p, n) & (t->cap - 1); t->slot[k]; k = (k + 1) & (t->cap - 1))
        if (strncmp(t->slot[k], p, n) == 0 && t->slot[k][n] == '\0')
            return t->slot[k];
    return NULL;
}

static void strtab_free(strtab *t)
{
    for (size_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* ---- the store ---- */



typedef struct {
    uint32_t *v;
    size_t n, cap;
} idxlist;

static void idx_push(idxlist *l, uint32_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = ma_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = x;
}

/* Lists by key (a pointer, or a string's hash with the string): which
 * shapes have an (interned) path, which eager selections ask for a path
 * without a star. They let a journal with many different paths (an id in
 * each) match a filter against the shapes of its path only. */
typedef struct {
    const void *key; /* NULL: empty slot */
    idxlist list;
} keyed;

typedef struct {
    keyed *slot;
    size_t cap, n;
} keymap;

static size_t key_hash(const void *key)
{
    return (size_t)(((uintptr_t)key >> 3) * 0x9E3779B97F4A7C15ULL);
}

/* The list under key, made if absent when make. */
static idxlist *keymap_get(keymap *m, const void *key, int make)
{
    if (make && (m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        keyed *ns = ma_xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slot[i].key)
                continue;
            size_t k = key_hash(m->slot[i].key) & (ncap - 1);
            while (ns[k].key)
                k = (k + 1) & (ncap - 1);
            ns[k] = m->slot[i];
        }
        free(m->slot);
        m->slot = ns;
        m->cap = ncap;
    }
    if (!m->cap)
        return NULL;
    size_t k = key_hash(key) & (m->cap - 1);
    for (; m->slot[k].key; k = (k + 1) & (m->cap - 1))
        if (m->slot[k].key == key)
            return &m->slot[k].list;
    if (!make)
        return NULL;
    m->slot[k].key = key;
    m->n++;
    return &m->slot[k].list;
}

static void keymap_free(keymap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slot[i].list.v);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

/* Verdicts of a shape's announced checks per projected document (its key,
 * project.h): the same document, the same verdicts. Bodies of one shape
 * tend to repeat what the checks read (a node's id, a status) while the
 * rest changes, so most bodies are checked by a lookup. */
typedef struct {
    uint64_t hash;
    char *key;
    size_t klen;
    uint8_t *verdicts; /* per want of the shape, in its wants order */
} memo_slot;

typedef struct {
    memo_slot *slot; /* open addressing; key NULL: empty */
    size_t cap, n;
    int off;         /* too many different documents: not worth the keys */
} verdict_memo;

#define MEMO_MAX 256 /* documents remembered per shape */

typedef struct {
    ma_entry like; /* method, path, route, fault, status, region, test (seq, time, idx unused) */
    idxlist entries;
    idxlist sels;  /* eager selections that take this shape */
    idxlist wants; /* announced checks whose selection takes this shape */
    ma_proj *proj; /* their paths; NULL when none */
    int reads_entry; /* a want reads headers, query or the response: no memo */
    int reads_body;  /* a want reads the body (else only the entry: no body is read) */
    json_t *kept;  /* what the journal keeps of the shape's entries beyond the
                      shape's strings: {"fault":{...},"region":N}, for checks on
                      fault and region (made when first needed) */
    verdict_memo memo;
    unsigned gen;  /* the store's gen these lists were made for */
} shape;

static void memo_clear(verdict_memo *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slot[i].key);
        free(m->slot[i].verdicts);
    }
    free(m->slot);
    memset(m, 0, sizeof *m);
}

typedef struct {
    char *method, *path, *route; /* owned copies of the filter's fields */
    int status, fault, has_region, region;
    ma_filter f;      /* the same, as a filter (pointing at the copies) */
    uint64_t hash;
    uint8_t *takes;   /* per shape: 0 not known yet, 1 no, 2 yes */
    size_t ntakes;
    idxlist sel;      /* the entries [0, upto) it selects, ascending */
    size_t upto;
    int eager;        /* extended as entries are added (a want uses it) */
    idxlist wants;    /* the announced checks on it */
} selection;

/* V_UNKNOWN: not checked yet; V_NOJUDGE: checked, and a path selected
 * nothing (MA_UNKNOWN) */
enum { V_UNKNOWN = 0, V_FAILS = 1, V_HOLDS = 2, V_NOJUDGE = 3 };

static uint8_t verdict_of(ma_truth t)
{
    return t == MA_TRUE ? V_HOLDS : t == MA_FALSE ? V_FAILS : V_NOJUDGE;
}

static ma_truth truth_of(uint8_t v)
{
    return v == V_HOLDS ? MA_TRUE : v == V_FAILS ? MA_FALSE : MA_UNKNOWN;
}

typedef struct {
    size_t sel;         /* its selection */
    const ma_check *c;  /* borrowed */
    size_t next_same;   /* another want with the same check: its index + 1, or 0 */
    uint8_t *verdict;   /* per entry of the selection, by position: V_* */
    size_t cap;
    size_t hint;        /* the position last asked about: entries come in order */
    ma_proj *proj;      /* c's paths, for the entries fetched again (made when needed) */
} want;

enum { F_NO = 0, F_ASKED, F_GOT, F_FAILED };

struct ma_jstore {
    strtab strs;
    ma_fault **faults; /* interned faults (each its own allocation: entries point at them) */
    size_t nfaults;
    uint32_t *fault_slot; /* hash of faults: index + 1, 0 empty */
    size_t fault_cap;
    size_t vcap;      /* entries j->v has room for */
    ma_buf scratch;   /* decoded body literals */
    ma_buf key;       /* a body's projection key */
    ma_buf fbody;     /* a fetched entry's body, decoded */
    member *fmembers; /* its members (MAX_MEMBERS) */
    shape *shapes;
    size_t nshapes, capshapes;
    uint32_t *shape_slot; /* hash of shapes: index + 1, 0 empty */
    size_t shape_cap;
    selection *sels;
    size_t nsels, capsels;
    uint32_t *sel_slot; /* hash of selections: index + 1 */
    size_t sel_cap;
    want *wants;
    size_t nwants;
    keymap path_shapes;  /* interned path -> the shapes with it */
    keymap eager_path;   /* interned path -> the eager selections asking for exactly it */
    idxlist eager_other; /* eager selections with a star in their path, or none */
    size_t *want_slot; /* by check pointer: the first want's index + 1 */
    size_t want_cap;
    unsigned gen; /* bumped when a selection turns eager or a check is announced */
    /* fetching */
    ma_fetch_fn fetch;
    void *fetch_ctx;
    uint8_t *fstate;  /* per entry: F_* */
    char **ftext;     /* per entry: its text, fetched (or copied from the kept text) */
    size_t *ftext_len;
    json_t **objs;    /* per entry: the object, parsed from ftext when asked for (or a stand-in) */
    json_t **bodies;  /* per entry: its body read as JSON */
    uint8_t *body_read;
    size_t fcap;      /* entries the three arrays have room for */
    idxlist fetched;  /* entries with something to release */
    /* the entries' JSON text, kept for [kept_from, n) */
    char **text;
    uint32_t *text_len;
    size_t kept_from, kept_bytes;
    size_t keep; /* the budget for them */
};

ma_jstore *ma_js_store(ma_journal *j)
{
    if (!j->s) {
        j->s = ma_xcalloc(1, sizeof *j->s);
        j->s->keep = KEEP_TEXT_BYTES;
    }
    return j->s;
}

void ma_journal_set_keep(ma_journal *j, size_t bytes)
{
    ma_js_store(j)->keep = bytes;
}

long long ma_journal_last_seq(const ma_journal *j)
{
    return j->n ? j->v[j->n - 1].seq : 0;
}

/* ---- shapes ---- */

/* What an entry is alike in with the others of its shape. */
typedef struct {
    const char *m, *p, *r; /* interned */
    const ma_fault *fault; /* interned */
    int status, region, test;
} shape_key;

static uint64_t hash_shape(const shape_key *k)
{
    uint64_t h = (uintptr_t)k->m * 0x9E3779B97F4A7C15ULL;
    h ^= (uintptr_t)k->p + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
    h ^= (uintptr_t)k->r + 0x85EBCA77C2B2AE63ULL + (h << 6) + (h >> 2);
    h ^= (uintptr_t)k->fault + 0x2545F4914F6CDD1DULL + (h << 6) + (h >> 2);
    h ^= (uint64_t)(unsigned)k->status * 31 + (uint64_t)k->test + ((uint64_t)(unsigned)(k->region + 1) << 40);
    return h * 0x9E3779B97F4A7C15ULL;
}

static shape_key key_of(const ma_entry *e)
{
    shape_key k = {e->method, e->path, e->route, e->fault, e->status, e->region, e->test};
    return k;
}

static int same_shape(const ma_entry *e, const shape_key *k)
{
    return e->method == k->m && e->path == k->p && e->route == k->r && e->fault == k->fault &&
           e->status == k->status && e->region == k->region && e->test == k->test;
}

static int sel_takes(ma_jstore *s, selection *x, uint32_t sh);

/* Makes shape sh's lists of eager selections and wants current. */
static void shape_lists(ma_jstore *s, uint32_t sh)
{
    shape *p = &s->shapes[sh];
    if (p->gen == s->gen)
        return;
    p->gen = s->gen;
    p->sels.n = 0;
    p->wants.n = 0;
    ma_proj_free(p->proj);
    p->proj = NULL;
    p->reads_entry = 0;
    p->reads_body = 0;
    memo_clear(&p->memo);
    /* the eager selections that can take it: those asking for exactly its
     * path, and those with a star or no path */
    const idxlist *lists[2] = {keymap_get(&s->eager_path, p->like.path, 0), &s->eager_other};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && i < lists[l]->n; i++) {
            selection *x = &s->sels[lists[l]->v[i]];
            if (!sel_takes(s, x, sh))
                continue;
            idx_push(&p->sels, lists[l]->v[i]);
            for (size_t k = 0; k < x->wants.n; k++) {
                idx_push(&p->wants, x->wants.v[k]);
                if (!p->proj)
                    p->proj = ma_proj_new();
                ma_proj_add_check(p->proj, s->wants[x->wants.v[k]].c);
                int reads = ma_check_reads_entry(s->wants[x->wants.v[k]].c);
                if (reads > p->reads_entry)
                    p->reads_entry = reads;
                p->reads_body |= ma_check_reads_body(s->wants[x->wants.v[k]].c);
            }
        }
    }
}

static uint32_t shape_of(ma_jstore *s, const shape_key *key)
{
    uint64_t h = hash_shape(key);
    if (s->shape_cap) {
        for (size_t k = h & (s->shape_cap - 1); s->shape_slot[k]; k = (k + 1) & (s->shape_cap - 1)) {
            shape *x = &s->shapes[s->shape_slot[k] - 1];
            if (same_shape(&x->like, key))
                return s->shape_slot[k] - 1;
        }
    }
    if ((s->nshapes + 1) * 2 >= s->shape_cap) {
        size_t ncap = s->shape_cap ? s->shape_cap * 2 : 64;
        uint32_t *ns = ma_xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < s->nshapes; i++) {
            shape_key lk = key_of(&s->shapes[i].like);
            size_t k = hash_shape(&lk) & (ncap - 1);
            while (ns[k])
                k = (k + 1) & (ncap - 1);
            ns[k] = (uint32_t)i + 1;
        }
        free(s->shape_slot);
        s->shape_slot = ns;
        s->shape_cap = ncap;
    }
    if (s->nshapes == s->capshapes) {
        s->capshapes = s->capshapes ? s->capshapes * 2 : 32;
        s->shapes = ma_xrealloc(s->shapes, s->capshapes * sizeof *s->shapes);
    }
    uint32_t id = (uint32_t)s->nshapes++;
    shape *x = &s->shapes[id];
    memset(x, 0, sizeof *x);
    x->like.method = key->m;
    x->like.path = key->p;
    x->like.route = key->r;
    x->like.fault = key->fault;
    x->like.status = key->status;
    x->like.region = (int16_t)key->region;
    x->like.test = (uint8_t)key->test;
    x->like.shape = id;
    x->gen = s->gen - 1; /* lists not made yet */
    idx_push(keymap_get(&s->path_shapes, key->p, 1), id);
    size_t k = h & (s->shape_cap - 1);
    while (s->shape_slot[k])
        k = (k + 1) & (s->shape_cap - 1);
    s->shape_slot[k] = id + 1;
    return id;
}

json_t *ma_fault_json(const ma_fault *f)
{
    json_t *o = json_pack("{ssssss}", "source", f->source, "spec", f->spec, "wire", f->wire);
    if (!o || (f->rule >= 0 && json_object_set_new(o, "rule", json_integer(f->rule))))
        ma_oom();
    return o;
}

/* {"fault":{...},"region":N}: what the shape's entries have of an entry
 * object beyond its strings (a check on fault or region reads this, not
 * the entry, which is neither parsed nor fetched for it). Borrowed. */
static json_t *shape_kept(shape *p)
{
    if (!p->kept) {
        p->kept = json_object();
        if (!p->kept)
            ma_oom();
        if (p->like.fault && json_object_set_new(p->kept, "fault", ma_fault_json(p->like.fault)))
            ma_oom();
        if (p->like.region >= 0 && json_object_set_new(p->kept, "region", json_integer(p->like.region)))
            ma_oom();
    }
    return p->kept;
}

/* ---- selections ---- */

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static uint64_t hash_filter(const ma_filter *f)
{
    uint64_t h = (uint64_t)(unsigned)f->status ^ ((uint64_t)(unsigned)(f->fault + 1) << 32) ^
                 ((uint64_t)(unsigned)(f->has_region ? f->region + 1 : 0) << 40);
    const char *parts[3] = {f->method, f->path, f->route};
    for (int i = 0; i < 3; i++)
        h = (h * 1099511628211ULL) ^ (parts[i] ? hash_bytes(parts[i], strlen(parts[i])) : (uint64_t)i);
    return h;
}

static int sel_takes(ma_jstore *s, selection *x, uint32_t sh)
{
    if (x->ntakes <= sh) {
        size_t n = s->capshapes > sh ? s->capshapes : sh + 1;
        x->takes = ma_xrealloc(x->takes, n);
        memset(x->takes + x->ntakes, 0, n - x->ntakes);
        x->ntakes = n;
    }
    if (!x->takes[sh])
        x->takes[sh] = ma_filter_match(&x->f, &s->shapes[sh].like) ? 2 : 1;
    return x->takes[sh] == 2;
}

/* The selection of filter f, made (empty, upto 0) if new. */
static size_t selection_of(ma_jstore *s, const ma_filter *f)
{
    uint64_t h = hash_filter(f);
    if (s->sel_cap) {
        for (size_t k = h & (s->sel_cap - 1); s->sel_slot[k]; k = (k + 1) & (s->sel_cap - 1)) {
            selection *x = &s->sels[s->sel_slot[k] - 1];
            if (x->hash == h && x->status == f->status && x->fault == f->fault && x->has_region == f->has_region &&
                (!f->has_region || x->region == f->region) && same_str(x->method, f->method) &&
                same_str(x->path, f->path) && same_str(x->route, f->route))
                return s->sel_slot[k] - 1;
        }
    }
    if ((s->nsels + 1) * 2 >= s->sel_cap) {
        size_t ncap = s->sel_cap ? s->sel_cap * 2 : 64;
        uint32_t *ns = ma_xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < s->nsels; i++) {
            size_t k = s->sels[i].hash & (ncap - 1);
            while (ns[k])
                k = (k + 1) & (ncap - 1);
            ns[k] = (uint32_t)i + 1;
        }
        free(s->sel_slot);
        s->sel_slot = ns;
        s->sel_cap = ncap;
    }
    if (s->nsels == s->capsels) {
        s->capsels = s->capsels ? s->capsels * 2 : 32;
        s->sels = ma_xrealloc(s->sels, s->capsels * sizeof *s->sels);
    }
    size_t id = s->nsels++;
    selection *x = &s->sels[id];
    memset(x, 0, sizeof *x);
    x->method = f->method ? ma_xstrdup(f->method) : NULL;
    x->path = f->path ? ma_xstrdup(f->path) : NULL;
    x->route = f->route ? ma_xstrdup(f->route) : NULL;
    x->status = f->status;
    x->fault = f->fault;
    x->has_region = f->has_region;
    x->region = f->has_region ? f->region : 0;
    x->f.method = x->method;
    x->f.path = x->path;
    x->f.route = x->route;
    x->f.status = x->status;
    x->f.fault = x->fault;
    x->f.has_region = x->has_region;
    x->f.region = x->region;
    x->hash = h;
    size_t k = h & (s->sel_cap - 1);
    while (s->sel_slot[k])
        k = (k + 1) & (s->sel_cap - 1);
    s->sel_slot[k] = (uint32_t)id + 1;
    return id;
}

/* Brings selection x up to j's entries. A new one is made from the lists
 * of the shapes it takes when they are few, else by one pass over the
 * entries; after that only the entries added since are looked at. */
static void sel_update(ma_journal *j, selection *x)
{
    ma_jstore *s = j->s;
    if (x->eager || x->upto == j->n) {
        x->upto = j->n; /* an eager one took every entry as it came */
        return;
    }
    if (x->upto == 0) {
        /* a path without a star: only the shapes with exactly that path */
        const idxlist *cand = NULL;
        if (x->path && !strchr(x->path, '*')) {
            const char *ip = intern_find(&s->strs, x->path, strlen(x->path));
            cand = ip ? keymap_get(&s->path_shapes, ip, 0) : NULL;
            if (!cand) {
                x->upto = j->n; /* no entry has that path */
                return;
            }
        }
        uint32_t picked[MERGE_MAX];
        size_t np = 0, total = 0, nc = cand ? cand->n : s->nshapes;
        int many = 0;
        for (size_t c = 0; c < nc && !many; c++) {
            uint32_t sh = cand ? cand->v[c] : (uint32_t)c;
            if (!sel_takes(s, x, sh))
                continue;
            if (np == MERGE_MAX)
                many = 1;
            else {
                picked[np++] = sh;
                total += s->shapes[sh].entries.n;
            }
        }
        if (!many) {
            /* merge the shapes' lists (each ascending) */
            size_t at[MERGE_MAX] = {0};
            x->sel.n = 0;
            for (size_t t = 0; t < total; t++) {
                size_t best = MERGE_MAX;
                for (size_t q = 0; q < np; q++) {
                    const idxlist *l = &s->shapes[picked[q]].entries;
                    if (at[q] < l->n && (best == MERGE_MAX || l->v[at[q]] < s->shapes[picked[best]].entries.v[at[best]]))
                        best = q;
                }
                idx_push(&x->sel, s->shapes[picked[best]].entries.v[at[best]++]);
            }
            x->upto = j->n;
            return;
        }
    }
    for (size_t i = x->upto; i < j->n; i++)
        if (sel_takes(s, x, j->v[i].shape))
            idx_push(&x->sel, (uint32_t)i);
    x->upto = j->n;
}

size_t ma_journal_select(ma_journal *j, const ma_filter *f, const ma_entry ***out)
{
    ma_jstore *s = ma_js_store(j);
    size_t si = selection_of(s, f); /* it may move s->sels */
    selection *x = &s->sels[si];
    sel_update(j, x);
    const ma_entry **v = ma_xcalloc(x->sel.n ? x->sel.n : 1, sizeof *v);
    for (size_t i = 0; i < x->sel.n; i++)
        v[i] = &j->v[x->sel.v[i]];
    *out = v;
    return x->sel.n;
}

const ma_entry *ma_journal_first(ma_journal *j, const ma_filter *f)
{
    ma_jstore *s = ma_js_store(j);
    size_t si = selection_of(s, f); /* it may move s->sels */
    selection *x = &s->sels[si];
    sel_update(j, x);
    return x->sel.n ? &j->v[x->sel.v[0]] : NULL;
}

typedef struct {
    uint32_t sh;
    int score;
} shape_score;

static int by_score(const void *a, const void *b)
{
    const shape_score *x = a, *y = b;
    return x->score != y->score ? y->score - x->score : (x->sh > y->sh) - (x->sh < y->sh);
}

static int by_seq_desc(const void *a, const void *b)
{
    const ma_entry *x = *(const ma_entry *const *)a, *y = *(const ma_entry *const *)b;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

size_t ma_journal_nearest(ma_journal *j, const ma_filter *f, size_t max, const ma_entry **out)
{
    ma_jstore *s = ma_js_store(j);
    int want_test = ma_filter_wants_test(f);
    shape_score *sc = ma_xcalloc(s->nshapes ? s->nshapes : 1, sizeof *sc);
    size_t ns = 0, have = 0;
    for (uint32_t sh = 0; sh < s->nshapes; sh++) {
        if ((s->shapes[sh].like.test && !want_test) || !s->shapes[sh].entries.n)
            continue;
        sc[ns].sh = sh;
        sc[ns].score = ma_filter_similarity(f, &s->shapes[sh].like);
        ns++;
    }
    qsort(sc, ns, sizeof *sc, by_score);
    /* equal scores: the most recent first, across the shapes that have it */
    const ma_entry **cand = NULL;
    for (size_t a = 0; a < ns && have < max;) {
        size_t b = a, nc = 0;
        while (b < ns && sc[b].score == sc[a].score)
            b++;
        for (size_t q = a; q < b; q++) {
            const idxlist *l = &s->shapes[sc[q].sh].entries;
            size_t take = l->n < max - have ? l->n : max - have;
            cand = ma_xrealloc(cand, (nc + take + 1) * sizeof *cand);
            for (size_t i = l->n - take; i < l->n; i++)
                cand[nc++] = &j->v[l->v[i]];
        }
        qsort(cand, nc, sizeof *cand, by_seq_desc);
        for (size_t i = 0; i < nc && have < max; i++)
            out[have++] = cand[i];
        a = b;
    }
    free(cand);
    free(sc);
    return have;
}

/* ---- announced checks ---- */

static size_t ptr_slot(const ma_jstore *s, const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL) & (s->want_cap - 1);
}

/* Files want i under its check in want_slot (chained by next_same). */
static void want_index(ma_jstore *s, size_t i)
{
    size_t k = ptr_slot(s, s->wants[i].c);
    while (s->want_slot[k] && s->wants[s->want_slot[k] - 1].c != s->wants[i].c)
        k = (k + 1) & (s->want_cap - 1);
    if (s->want_slot[k]) {
        size_t at = s->want_slot[k] - 1;
        while (s->wants[at].next_same)
            at = s->wants[at].next_same - 1;
        s->wants[at].next_same = i + 1;
    } else {
        s->want_slot[k] = i + 1;
    }
}

void ma_journal_want(ma_journal *j, const ma_filter *f, const ma_check *c)
{
    ma_jstore *s = ma_js_store(j);
    size_t si = selection_of(s, f);
    for (size_t i = 0; i < s->nwants; i++)
        if (s->wants[i].sel == si && s->wants[i].c == c)
            return;
    selection *x = &s->sels[si];
    sel_update(j, x); /* entries held now stay V_UNKNOWN until asked about */
    if (!x->eager) {
        x->eager = 1;
        if (x->path && !strchr(x->path, '*'))
            idx_push(keymap_get(&s->eager_path, intern(&s->strs, x->path, strlen(x->path)), 1), (uint32_t)si);
        else
            idx_push(&s->eager_other, (uint32_t)si);
    }
    idx_push(&x->wants, (uint32_t)s->nwants);
    s->wants = ma_xrealloc(s->wants, (s->nwants + 1) * sizeof *s->wants);
    want *w = &s->wants[s->nwants++];
    memset(w, 0, sizeof *w);
    w->sel = si;
    w->c = c;
    if ((s->nwants + 1) * 2 >= s->want_cap) {
        s->want_cap = s->want_cap ? s->want_cap * 2 : 64;
        free(s->want_slot);
        s->want_slot = ma_xcalloc(s->want_cap, sizeof *s->want_slot);
        for (size_t i = 0; i < s->nwants; i++)
            s->wants[i].next_same = 0;
        for (size_t i = 0; i < s->nwants; i++)
            want_index(s, i);
    } else {
        want_index(s, s->nwants - 1);
    }
    w->cap = x->sel.n + 16;
    w->verdict = ma_xcalloc(w->cap, 1);
    s->gen++;
}

static void want_grow(want *w, size_t n)
{
    if (n <= w->cap)
        return;
    size_t ncap = w->cap * 2 > n ? w->cap * 2 : n;
    w->verdict = ma_xrealloc(w->verdict, ncap);
    memset(w->verdict + w->cap, 0, ncap - w->cap);
    w->cap = ncap;
}

/* Position of entry idx in selection x (which is up to date), or -1. */
static long sel_pos(const selection *x, uint32_t idx)
{
    size_t lo = 0, hi = x->sel.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->sel.v[mid] < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->sel.n && x->sel.v[lo] == idx ? (long)lo : -1;
}

/* ---- adding entries ---- */


/* Applies the announced checks of shape p to the entry just added. -1 if
 * its body literal does not decode. */
static int check_wants(ma_journal *j, shape *p, const raw_entry *r)
{
    ma_jstore *s = j->s;
    json_t *doc = NULL;
    const char *text = r->body;
    size_t len = r->body_len;
    if (!p->reads_body) {
        text = NULL; /* checks on the entry only (fault, headers, ...): no body to read */
    } else if (r->body_lit) {
        if (!memchr(r->body_lit, '\\', r->body_lit_len)) {
            text = r->body_lit + 1;
            len = r->body_lit_len - 2;
        } else {
            if (ma_js_decode_string(r->body_lit, r->body_lit_len, &s->scratch) < 0)
                return -1;
            text = s->scratch.p ? s->scratch.p : "";
            len = s->scratch.len;
        }
    }
    verdict_memo *m = &p->memo;
    memo_slot *hit = NULL, *fresh = NULL;
    uint64_t h = 0;
    /* fault and region are the shape's: the memo holds for checks on them */
    if (text && !r->base64 && !m->off && p->reads_entry != MA_READS_WHOLE && ma_proj_key(p->proj, text, len, &s->key)) {
        h = hash_bytes(s->key.p, s->key.len);
        size_t k = m->cap ? h & (m->cap - 1) : 0;
        for (; m->cap && m->slot[k].key; k = (k + 1) & (m->cap - 1)) {
            if (m->slot[k].hash == h && m->slot[k].klen == s->key.len && memcmp(m->slot[k].key, s->key.p, s->key.len) == 0) {
                hit = &m->slot[k];
                break;
            }
        }
        if (!hit && m->n >= MEMO_MAX) {
            m->off = 1;
        } else if (!hit) {
            if ((m->n + 1) * 2 > m->cap) {
                /* grow: rehash what is there */
                size_t ncap = m->cap ? m->cap * 2 : 16;
                memo_slot *ns = ma_xcalloc(ncap, sizeof *ns);
                for (size_t i = 0; i < m->cap; i++) {
                    if (!m->slot[i].key)
                        continue;
                    size_t q = m->slot[i].hash & (ncap - 1);
                    while (ns[q].key)
                        q = (q + 1) & (ncap - 1);
                    ns[q] = m->slot[i];
                }
                free(m->slot);
                m->slot = ns;
                m->cap = ncap;
            }
            size_t q = h & (m->cap - 1);
            while (m->slot[q].key)
                q = (q + 1) & (m->cap - 1);
            fresh = &m->slot[q];
            fresh->hash = h;
            fresh->key = ma_xstrndup(s->key.p, s->key.len);
            fresh->klen = s->key.len;
            fresh->verdicts = ma_xcalloc(p->wants.n ? p->wants.n : 1, 1);
            m->n++;
        }
    }
    if (text && !hit)
        doc = r->base64 ? json_stringn(text, len) : ma_proj_body(p->proj, text, len);
    /* checks on headers, query or the response read the entry itself:
     * parsed once here for all of them (the memo above is off for such a
     * shape, as its key covers the body only) */
    json_t *obj = NULL;
    if (p->reads_entry == MA_READS_WHOLE) {
        if (r->obj)
            obj = json_incref((json_t *)r->obj);
        else if (r->text)
            obj = json_loadb(r->text, r->text_len, JSON_ALLOW_NUL, NULL);
    } else if (p->reads_entry == MA_READS_KEPT) {
        obj = json_incref(shape_kept(p));
    }
    for (size_t i = 0; i < p->wants.n; i++) {
        want *w = &s->wants[p->wants.v[i]];
        const selection *x = &s->sels[w->sel];
        /* the entry was just added to the selection: it is the last */
        want_grow(w, x->sel.n);
        uint8_t v = hit ? hit->verdicts[i] : verdict_of(ma_check_truth(w->c, doc, obj, NULL));
        w->verdict[x->sel.n - 1] = v;
        if (fresh)
            fresh->verdicts[i] = v;
    }
    json_decref(doc);
    json_decref(obj);
    return 0;
}

/* ---- faults ---- */

static const char *intern_member(ma_jstore *s, const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? intern(&s->strs, json_string_value(v), strnlen(json_string_value(v), json_string_length(v)))
                             : intern(&s->strs, "", 0);
}

static uint64_t hash_fault(const ma_fault *f)
{
    uint64_t h = (uintptr_t)f->source * 0x9E3779B97F4A7C15ULL;
    h ^= (uintptr_t)f->spec + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
    h ^= (uintptr_t)f->wire + 0x85EBCA77C2B2AE63ULL + (h << 6) + (h >> 2);
    h ^= (uint64_t)f->rule * 0x2545F4914F6CDD1DULL;
    return h * 0x9E3779B97F4A7C15ULL;
}

/* The one copy of the fault an entry's "fault" member o describes. Few
 * differ (one per rule and what it did on the wire, one per header spec):
 * every entry with the same fault points at it. */
static const ma_fault *fault_of(ma_jstore *s, const json_t *o)
{
    ma_fault f;
    f.source = intern_member(s, o, "source");
    f.spec = intern_member(s, o, "spec");
    f.wire = intern_member(s, o, "wire");
    json_t *rule = json_object_get(o, "rule");
    f.rule = json_is_integer(rule) && json_integer_value(rule) >= 0 ? (long long)json_integer_value(rule) : -1;
    uint64_t h = hash_fault(&f);
    if (s->fault_cap) {
        for (size_t k = h & (s->fault_cap - 1); s->fault_slot[k]; k = (k + 1) & (s->fault_cap - 1)) {
            const ma_fault *x = s->faults[s->fault_slot[k] - 1];
            if (x->source == f.source && x->spec == f.spec && x->wire == f.wire && x->rule == f.rule)
                return x;
        }
    }
    if ((s->nfaults + 1) * 2 >= s->fault_cap) {
        size_t ncap = s->fault_cap ? s->fault_cap * 2 : 16;
        uint32_t *ns = ma_xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < s->nfaults; i++) {
            size_t k = hash_fault(s->faults[i]) & (ncap - 1);
            while (ns[k])
                k = (k + 1) & (ncap - 1);
            ns[k] = (uint32_t)i + 1;
        }
        free(s->fault_slot);
        s->fault_slot = ns;
        s->fault_cap = ncap;
        s->faults = ma_xrealloc(s->faults, ncap * sizeof *s->faults);
    }
    ma_fault *x = ma_xmalloc(sizeof *x);
    *x = f;
    s->faults[s->nfaults++] = x;
    size_t k = h & (s->fault_cap - 1);
    while (s->fault_slot[k])
        k = (k + 1) & (s->fault_cap - 1);
    s->fault_slot[k] = (uint32_t)s->nfaults;
    return x;
}

static void faults_free(ma_jstore *s)
{
    for (size_t i = 0; i < s->nfaults; i++)
        free(s->faults[i]);
    free(s->faults);
    free(s->fault_slot);
    s->faults = NULL;
    s->fault_slot = NULL;
    s->nfaults = s->fault_cap = 0;
}

/* Adds r unless its seq is not above the last held. -1 if its body
 * literal, needed, does not decode. */
int ma_js_add_entry(ma_journal *j, const raw_entry *r)
{
    if (r->seq <= ma_journal_last_seq(j))
        return 0;
    ma_jstore *s = ma_js_store(j);
    shape_key key;
    key.m = intern(&s->strs, r->method ? r->method : "", r->method ? r->method_len : 0);
    key.p = intern(&s->strs, r->path ? r->path : "", r->path ? r->path_len : 0);
    key.r = r->route ? intern(&s->strs, r->route, r->route_len) : NULL;
    key.fault = json_is_object(r->fault) ? fault_of(s, r->fault) : NULL;
    key.status = r->status;
    key.region = r->region >= 0 && r->region <= INT16_MAX ? r->region : -1;
    key.test = r->test != 0;
    uint32_t sh = shape_of(s, &key);
    if (j->n == s->vcap) {
        s->vcap = s->vcap ? s->vcap * 2 : 1024;
        j->v = ma_xrealloc(j->v, s->vcap * sizeof *j->v);
        s->text = ma_xrealloc(s->text, s->vcap * sizeof *s->text);
        s->text_len = ma_xrealloc(s->text_len, s->vcap * sizeof *s->text_len);
    }
    s->text[j->n] = NULL;
    s->text_len[j->n] = 0;
    ma_entry *e = &j->v[j->n];
    memset(e, 0, sizeof *e);
    e->seq = r->seq;
    if (!r->time || ma_parse_rfc3339(r->time, &e->time_ns) < 0)
        e->time_ns = 0;
    e->method = key.m;
    e->path = key.p;
    e->route = key.r;
    e->fault = key.fault;
    e->status = r->status;
    e->region = (int16_t)key.region;
    e->test = (uint8_t)key.test;
    e->shape = sh;
    e->idx = (uint32_t)j->n;
    j->n++;
    shape *x = &s->shapes[sh];
    idx_push(&x->entries, e->idx);
    shape_lists(s, sh);
    for (size_t i = 0; i < x->sels.n; i++) {
        selection *q = &s->sels[x->sels.v[i]];
        idx_push(&q->sel, e->idx);
        q->upto = j->n;
    }
    return x->wants.n ? check_wants(j, x, r) : 0;
}

/* Keeps the text of the entry just added (the last), dropping the oldest
 * kept texts beyond KEEP_TEXT_BYTES. */
void ma_js_keep_text(ma_journal *j, const char *t, size_t len)
{
    ma_jstore *s = j->s;
    size_t last = j->n - 1;
    if (len <= s->keep && len <= UINT32_MAX) {
        s->text[last] = ma_xstrndup(t, len);
        s->text_len[last] = (uint32_t)len;
        s->kept_bytes += len;
    }
    while (s->kept_bytes > s->keep && s->kept_from < j->n) {
        s->kept_bytes -= s->text_len[s->kept_from];
        free(s->text[s->kept_from]);
        s->text[s->kept_from++] = NULL;
    }
}

static long long int_field(const json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

void ma_js_page_counters(ma_journal *j, const json_t *page)
{
    j->next_seq = int_field(page, "next_seq", j->next_seq);
    j->oldest_seq = int_field(page, "oldest_seq", j->oldest_seq);
    j->evicted = int_field(page, "evicted", j->evicted);
    j->max_entries = int_field(page, "max_entries", j->max_entries);
    j->max_known |= json_is_integer(json_object_get(page, "max_entries"));
}

long ma_journal_add_page(ma_journal *j, const json_t *page, const char **why)
{
    json_t *entries = json_object_get(page, "entries");
    if (!json_is_object(page) || !json_is_array(entries)) {
        *why = "the answer has no \"entries\" list";
        return -1;
    }
    ma_js_store(j);
    ma_js_page_counters(j, page);
    size_t n = json_array_size(entries);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        raw_entry r;
        memset(&r, 0, sizeof r);
        r.seq = int_field(e, "seq", -1);
        if (!json_is_object(e) || r.seq < 0) {
            *why = "a journal entry has no seq";
            return -1;
        }
        r.time = json_string_value(json_object_get(e, "time"));
        json_t *m = json_object_get(e, "method"), *p = json_object_get(e, "path"), *rt = json_object_get(e, "route");
        if (json_is_string(m)) {
            r.method = json_string_value(m);
            r.method_len = strlen(r.method);
        }
        if (json_is_string(p)) {
            r.path = json_string_value(p);
            r.path_len = strlen(r.path);
        }
        if (json_is_string(rt)) {
            r.route = json_string_value(rt);
            r.route_len = strlen(r.route);
        }
        r.status = (int)int_field(e, "status", 0);
        r.test = json_is_true(json_object_get(e, "test"));
        r.fault = json_object_get(e, "fault");
        r.region = (int)int_field(e, "region", -1);
        json_t *b = json_object_get(e, "body");
        if (json_is_string(b)) {
            const char *enc = json_string_value(json_object_get(e, "body_encoding"));
            r.body = json_string_value(b);
            r.body_len = json_string_length(b);
            r.base64 = enc && strcmp(enc, "base64") == 0;
        }
        r.obj = e;
        size_t before = j->n;
        if (ma_js_add_entry(j, &r) < 0) {
            *why = "a journal entry's body does not decode";
            return -1;
        }
        if (j->n > before) {
            char *text = json_dumps(e, JSON_COMPACT);
            if (!text)
                ma_oom();
            ma_js_keep_text(j, text, strlen(text));
            free(text);
        }
    }
    return (long)n;
}

/* ---- fetching entries again ---- */

void ma_journal_set_fetch(ma_journal *j, ma_fetch_fn fetch, void *ctx)
{
    ma_jstore *s = ma_js_store(j);
    s->fetch = fetch;
    s->fetch_ctx = ctx;
}

static void fetch_room(ma_jstore *s, size_t n)
{
    if (n <= s->fcap)
        return;
    size_t ncap = s->fcap * 2 > n ? s->fcap * 2 : n;
    s->fstate = ma_xrealloc(s->fstate, ncap);
    s->ftext = ma_xrealloc(s->ftext, ncap * sizeof *s->ftext);
    s->ftext_len = ma_xrealloc(s->ftext_len, ncap * sizeof *s->ftext_len);
    memset(s->ftext + s->fcap, 0, (ncap - s->fcap) * sizeof *s->ftext);
    memset(s->ftext_len + s->fcap, 0, (ncap - s->fcap) * sizeof *s->ftext_len);
    s->objs = ma_xrealloc(s->objs, ncap * sizeof *s->objs);
    s->bodies = ma_xrealloc(s->bodies, ncap * sizeof *s->bodies);
    s->body_read = ma_xrealloc(s->body_read, ncap);
    memset(s->fstate + s->fcap, F_NO, ncap - s->fcap);
    memset(s->objs + s->fcap, 0, (ncap - s->fcap) * sizeof *s->objs);
    memset(s->bodies + s->fcap, 0, (ncap - s->fcap) * sizeof *s->bodies);
    memset(s->body_read + s->fcap, 0, ncap - s->fcap);
    s->fcap = ncap;
}

/* Index of the entry with this seq, or -1. */
static long find_seq(const ma_journal *j, long long seq)
{
    size_t lo = 0, hi = j->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->v[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < j->n && j->v[lo].seq == seq ? (long)lo : -1;
}

int ma_journal_wants(const ma_journal *j, long long seq)
{
    long i = find_seq(j, seq);
    return i >= 0 && j->s && (size_t)i < j->s->fcap && j->s->fstate[i] == F_ASKED;
}

/* Keeps text[0, len) as the fetched text of the entry with this seq, if
 * it was asked for. */
void ma_js_put_text(ma_journal *j, long long seq, const char *text, size_t len)
{
    long i = find_seq(j, seq);
    if (i < 0 || !j->s || (size_t)i >= j->s->fcap || j->s->fstate[i] != F_ASKED)
        return;
    j->s->ftext[i] = ma_xstrndup(text, len);
    j->s->ftext_len[i] = len;
    j->s->fstate[i] = F_GOT;
}

void ma_journal_put(ma_journal *j, const json_t *obj)
{
    json_t *seq = json_object_get(obj, "seq");
    if (!json_is_integer(seq) || !j->s)
        return;
    long i = find_seq(j, (long long)json_integer_value(seq));
    if (i < 0 || (size_t)i >= j->s->fcap || j->s->fstate[i] != F_ASKED)
        return;
    j->s->objs[i] = json_incref((json_t *)obj);
    j->s->fstate[i] = F_GOT;
}

void ma_journal_fetch(ma_journal *j, const ma_entry *const *v, size_t n, size_t span, const ma_filter *f)
{
    ma_jstore *s = ma_js_store(j);
    fetch_room(s, j->n);
    const ma_entry **ask = ma_xcalloc(n ? n : 1, sizeof *ask);
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = v[i]->idx;
        if (s->fstate[x] != F_NO)
            continue;
        idx_push(&s->fetched, x);
        if (s->text[x]) {
            /* kept: copied, as adding entries may drop the kept text */
            s->ftext[x] = ma_xstrndup(s->text[x], s->text_len[x]);
            s->ftext_len[x] = s->text_len[x];
            s->fstate[x] = F_GOT;
            continue;
        }
        s->fstate[x] = F_ASKED;
        ask[na++] = v[i];
    }
    if (na && s->fetch) {
        ma_filter sf;
        if (f && ma_filter_local(f)) {
            /* the server selects more (it knows no fault or region): its
             * own selection's span from the first asked to the last */
            sf = *f;
            sf.fault = sf.has_region = sf.region = 0;
            f = &sf;
            size_t si = selection_of(s, &sf);
            selection *x = &s->sels[si];
            sel_update(j, x);
            long a = sel_pos(x, ask[0]->idx), b = sel_pos(x, ask[na - 1]->idx);
            span = a >= 0 && b >= a ? (size_t)(b - a + 1) : 0;
            s->fetch(s->fetch_ctx, j, ask, na, span, f);
        } else {
            s->fetch(s->fetch_ctx, j, ask, na, na == n ? span : 0, f);
        }
    }
    for (size_t i = 0; i < na; i++)
        if (s->fstate[ask[i]->idx] == F_ASKED)
            s->fstate[ask[i]->idx] = F_FAILED;
    free(ask);
}

void ma_journal_release(ma_journal *j)
{
    ma_jstore *s = j->s;
    if (!s)
        return;
    for (size_t i = 0; i < s->fetched.n; i++) {
        uint32_t x = s->fetched.v[i];
        free(s->ftext[x]);
        s->ftext[x] = NULL;
        json_decref(s->objs[x]);
        json_decref(s->bodies[x]);
        s->objs[x] = s->bodies[x] = NULL;
        s->body_read[x] = 0;
        s->fstate[x] = F_NO;
    }
    s->fetched.n = 0;
}

/* What the journal keeps of e, as an object (the entry could not be
 * fetched). */
static json_t *stand_in(const ma_entry *e)
{
    json_t *o = json_pack("{sIsssssIsbss?}", "seq", (json_int_t)e->seq, "method", e->method, "path", e->path,
                          "status", (json_int_t)e->status, "test", e->test, "route", e->route);
    if (!o)
        ma_oom();
    if (e->fault && json_object_set_new(o, "fault", ma_fault_json(e->fault)))
        ma_oom();
    if (e->region >= 0 && json_object_set_new(o, "region", json_integer(e->region)))
        ma_oom();
    return o;
}

/* The object a check reads for e (ma_check_reads_entry): the whole entry,
 * or only what the journal keeps of it (fault, region), or none. */
static const json_t *entry_for(ma_journal *j, const ma_entry *e, const ma_check *c)
{
    int reads = ma_check_reads_entry(c);
    if (reads == MA_READS_WHOLE)
        return ma_entry_object(j, e);
    return reads == MA_READS_KEPT ? shape_kept(&j->s->shapes[e->shape]) : NULL;
}

json_t *ma_entry_object(ma_journal *j, const ma_entry *e)
{
    ma_jstore *s = ma_js_store(j);
    fetch_room(s, j->n);
    if (s->fstate[e->idx] == F_NO)
        ma_journal_fetch(j, &e, 1, 0, NULL);
    if (!s->objs[e->idx] && s->ftext[e->idx])
        s->objs[e->idx] = json_loadb(s->ftext[e->idx], s->ftext_len[e->idx], JSON_ALLOW_NUL, NULL);
    if (!s->objs[e->idx]) {
        s->objs[e->idx] = stand_in(e);
        if (s->fstate[e->idx] == F_NO) {
            s->fstate[e->idx] = F_FAILED;
            idx_push(&s->fetched, e->idx);
        }
    }
    return s->objs[e->idx];
}

int ma_entry_gone(const ma_journal *j, const ma_entry *e)
{
    return j->s && e->idx < j->s->fcap && j->s->fstate[e->idx] == F_FAILED;
}

/* The body of fetched entry idx, decoded, into s->fbody: 1 with *base64,
 * 0 when it has none (no body string). */
static int body_text(ma_jstore *s, uint32_t idx, int *base64)
{
    const char *enc = NULL;
    size_t enc_len = 0;
    int has = 0;
    json_t *o = s->objs[idx];
    if (o && !s->ftext[idx]) {
        json_t *b = json_object_get(o, "body");
        if (!json_is_string(b))
            return 0;
        s->fbody.len = 0;
        ma_buf_add(&s->fbody, json_string_value(b), json_string_length(b));
        enc = json_string_value(json_object_get(o, "body_encoding"));
        *base64 = enc && strcmp(enc, "base64") == 0;
        return 1;
    }
    const char *t = s->ftext[idx];
    size_t nm = 0, end = 0;
    if (!s->fmembers)
        s->fmembers = ma_xcalloc(MAX_MEMBERS, sizeof *s->fmembers);
    if (!t || ma_js_walk_entry(t, 0, s->ftext_len[idx], s->fmembers, &nm, &end, &s->fbody) != 1)
        return 0;
    for (size_t i = 0; i < nm; i++) {
        const member *x = &s->fmembers[i];
        size_t kl = x->ke - x->ks - 2;
        const char *key = t + x->ks + 1;
        if (kl == 4 && memcmp(key, "body", 4) == 0)
            has = x->k == GJ_STRING && x->decoded;
        else if (kl == 13 && memcmp(key, "body_encoding", 13) == 0 && x->k == GJ_STRING) {
            enc = t + x->vs + 1;
            enc_len = x->ve - x->vs - 2;
        }
    }
    *base64 = enc && enc_len == 6 && memcmp(enc, "base64", 6) == 0;
    return has;
}

json_t *ma_entry_body(ma_journal *j, const ma_entry *e)
{
    ma_jstore *s = ma_js_store(j);
    fetch_room(s, j->n);
    if (s->fstate[e->idx] == F_NO)
        ma_journal_fetch(j, &e, 1, 0, NULL);
    if (s->fstate[e->idx] != F_GOT)
        return NULL;
    if (!s->body_read[e->idx]) {
        s->body_read[e->idx] = 1;
        int b64 = 0;
        if (body_text(s, e->idx, &b64)) {
            const char *t = s->fbody.p ? s->fbody.p : "";
            s->bodies[e->idx] = b64 ? json_stringn(t, s->fbody.len) : ma_json_from_body(t, s->fbody.len);
        }
    }
    return s->bodies[e->idx];
}

/* The document check c of want w reads in fetched entry idx's body: only
 * what c's paths reach (project.h), NULL when there is no body. New
 * reference. */
static json_t *checked_doc(ma_jstore *s, want *w, uint32_t idx)
{
    int b64 = 0;
    if (!body_text(s, idx, &b64))
        return NULL;
    const char *t = s->fbody.p ? s->fbody.p : "";
    if (b64)
        return json_stringn(t, s->fbody.len);
    if (!w->proj) {
        w->proj = ma_proj_new();
        ma_proj_add_check(w->proj, w->c);
    }
    return ma_proj_body(w->proj, t, s->fbody.len);
}

/* The announced check c whose selection holds e: its want, and e's place
 * in the selection; NULL if none. */
static want *want_for(ma_journal *j, const ma_entry *e, const ma_check *c, long *pos)
{
    ma_jstore *s = j->s;
    if (!s || !s->want_cap)
        return NULL;
    size_t k = ptr_slot(s, c);
    while (s->want_slot[k] && s->wants[s->want_slot[k] - 1].c != c)
        k = (k + 1) & (s->want_cap - 1);
    for (size_t i = s->want_slot[k]; i; i = s->wants[i - 1].next_same) {
        want *w = &s->wants[i - 1];
        selection *x = &s->sels[w->sel];
        sel_update(j, x);
        long at;
        if (w->hint < x->sel.n && x->sel.v[w->hint] == e->idx)
            at = (long)w->hint;
        else if (w->hint + 1 < x->sel.n && x->sel.v[w->hint + 1] == e->idx)
            at = (long)w->hint + 1;
        else
            at = sel_pos(x, e->idx);
        if (at >= 0) {
            w->hint = (size_t)at;
            want_grow(w, x->sel.n);
            *pos = at;
            return w;
        }
    }
    return NULL;
}

#define FETCH_WINDOW 256 /* entries fetched again at once to explain or check */

/* From position at on, up to FETCH_WINDOW entries of w's selection not
 * fetched yet and whose verdict is unknown (unknown_only) or not "holds":
 * fetched in one request with the selection's filter, which the server
 * answers in the selection's order (the fetcher stops reading after the
 * last one wanted). Explaining a check over a large selection thus holds
 * a window of entries, not all of them. */
static void fetch_window(ma_journal *j, want *w, size_t at, int unknown_only)
{
    ma_jstore *s = j->s;
    selection *x = &s->sels[w->sel];
    const ma_entry *v[FETCH_WINDOW];
    size_t n = 0, first = 0, last = 0;
    fetch_room(s, j->n);
    for (size_t i = at; i < x->sel.n && n < FETCH_WINDOW; i++) {
        uint8_t vd = w->verdict[i];
        if ((unknown_only ? vd == V_UNKNOWN : vd != V_HOLDS) && s->fstate[x->sel.v[i]] == F_NO) {
            if (!n)
                first = i;
            last = i;
            v[n++] = &j->v[x->sel.v[i]];
        }
    }
    /* the filter selects last - first + 1 entries from the first to the last */
    ma_journal_fetch(j, v, n, n ? last - first + 1 : 0, &x->f);
}

/* Drops entry idx's fetched object and body (its turn is over). */
static void drop_fetched(ma_jstore *s, uint32_t idx)
{
    if (s->fstate[idx] != F_GOT)
        return;
    free(s->ftext[idx]);
    s->ftext[idx] = NULL;
    json_decref(s->objs[idx]);
    json_decref(s->bodies[idx]);
    s->objs[idx] = s->bodies[idx] = NULL;
    s->body_read[idx] = 0;
    s->fstate[idx] = F_NO; /* still on the fetched list: release skips it */
}

ma_truth ma_entry_check(ma_journal *j, const ma_entry *e, const ma_check *c, ma_failures *out)
{
    ma_jstore *s = ma_js_store(j);
    long at = -1;
    want *w = want_for(j, e, c, &at);
    if (!w) {
        json_t *body = ma_entry_body(j, e);
        return ma_check_truth(c, body, entry_for(j, e, c), out);
    }
    if (w->verdict[at] == V_HOLDS || (w->verdict[at] != V_UNKNOWN && !out))
        return truth_of(w->verdict[at]); /* the usual case: nothing to fetch */
    fetch_room(s, j->n);
    if (w->verdict[at] == V_UNKNOWN) {
        /* announced after this entry was read: a window of such entries
         * is fetched and checked */
        fetch_window(j, w, (size_t)at, 1);
        selection *x = &s->sels[w->sel];
        for (size_t i = (size_t)at; i < x->sel.n; i++) {
            const ma_entry *q = &j->v[x->sel.v[i]];
            if (w->verdict[i] != V_UNKNOWN || s->fstate[q->idx] != F_GOT)
                continue;
            json_t *doc = checked_doc(s, w, q->idx);
            w->verdict[i] = verdict_of(ma_check_truth(c, doc, entry_for(j, q, c), NULL));
            json_decref(doc);
            if (q != e || w->verdict[i] == V_HOLDS || !out)
                drop_fetched(s, q->idx);
        }
        if (w->verdict[at] == V_UNKNOWN) /* it could not be fetched: what the journal says without a body */
            return ma_check_truth(c, NULL, ma_check_reads_entry(c) == MA_READS_KEPT ? entry_for(j, e, c) : NULL, out);
    }
    if (w->verdict[at] == V_HOLDS || !out)
        return truth_of(w->verdict[at]);
    /* a failure to explain: its body, fetched with the failing entries
     * after it, each dropped once explained */
    if (s->fstate[e->idx] == F_NO)
        fetch_window(j, w, (size_t)at, 0);
    if (s->fstate[e->idx] != F_GOT) {
        ma_failures_add(out, c->mark, 0, "",
                        "(the server no longer has this request: what failed cannot be shown)", NULL, NULL, 0);
        return truth_of(w->verdict[at]);
    }
    json_t *doc = checked_doc(s, w, e->idx);
    ma_truth t = ma_check_truth(c, doc, entry_for(j, e, c), out);
    json_decref(doc);
    drop_fetched(s, e->idx);
    return t;
}

/* ---- freeing ---- */

static void drop_entries(ma_journal *j)
{
    ma_jstore *s = j->s;
    size_t n = j->n;
    free(j->v);
    j->v = NULL;
    j->n = 0;
    if (!s)
        return;
    ma_journal_release(j);
    for (size_t i = s->kept_from; i < n; i++)
        free(s->text[i]);
    free(s->text);
    free(s->text_len);
    s->text = NULL;
    s->text_len = NULL;
    s->kept_from = s->kept_bytes = 0;
    s->vcap = 0;
    free(s->fstate);
    free(s->ftext);
    free(s->ftext_len);
    s->ftext = NULL;
    s->ftext_len = NULL;
    free(s->objs);
    free(s->bodies);
    free(s->body_read);
    s->fstate = s->body_read = NULL;
    s->objs = s->bodies = NULL;
    s->fcap = 0;
    free(s->fetched.v);
    memset(&s->fetched, 0, sizeof s->fetched);
    for (size_t i = 0; i < s->nshapes; i++) {
        free(s->shapes[i].entries.v);
        free(s->shapes[i].sels.v);
        free(s->shapes[i].wants.v);
        ma_proj_free(s->shapes[i].proj);
        json_decref(s->shapes[i].kept);
        memo_clear(&s->shapes[i].memo);
    }
    free(s->shapes);
    free(s->shape_slot);
    keymap_free(&s->path_shapes);
    s->shapes = NULL;
    s->shape_slot = NULL;
    s->nshapes = s->capshapes = s->shape_cap = 0;
    faults_free(s); /* their strings were interned */
    strtab_free(&s->strs);
    /* the eager selections' paths were interned: again, in the new table */
    keymap_free(&s->eager_path);
    for (size_t i = 0; i < s->nsels; i++) {
        selection *x = &s->sels[i];
        if (x->eager && x->path && !strchr(x->path, '*'))
            idx_push(keymap_get(&s->eager_path, intern(&s->strs, x->path, strlen(x->path)), 1), (uint32_t)i);
    }
    for (size_t i = 0; i < s->nsels; i++) {
        selection *x = &s->sels[i];
        free(x->takes);
        x->takes = NULL;
        x->ntakes = 0;
        x->sel.n = 0;
        x->upto = 0;
    }
    for (size_t i = 0; i < s->nwants; i++)
        memset(s->wants[i].verdict, V_UNKNOWN, s->wants[i].cap);
    s->gen++;
}

void ma_journal_reset(ma_journal *j)
{
    drop_entries(j);
    j->next_seq = j->oldest_seq = j->evicted = j->max_entries = 0;
    j->max_known = 0;
}

void ma_journal_free(ma_journal *j)
{
    drop_entries(j);
    ma_jstore *s = j->s;
    if (s) {
        keymap_free(&s->eager_path);
        strtab_free(&s->strs); /* drop_entries interned the eager paths again */
        free(s->eager_other.v);
        for (size_t i = 0; i < s->nsels; i++) {
            free(s->sels[i].wants.v);
            free(s->sels[i].method);
            free(s->sels[i].path);
            free(s->sels[i].route);
            free(s->sels[i].sel.v);
        }
        free(s->sels);
        free(s->sel_slot);
        for (size_t i = 0; i < s->nwants; i++) {
            free(s->wants[i].verdict);
            ma_proj_free(s->wants[i].proj);
        }
        free(s->wants);
        free(s->want_slot);
        ma_buf_free(&s->scratch);
        ma_buf_free(&s->key);
        ma_buf_free(&s->fbody);
        free(s->fmembers);
        free(s);
    }
    memset(j, 0, sizeof *j);
}

/* ---- glob ---- */

/* the server's own matcher (src/glob.c, compiled in): a filter selects the
 * same entries here as in /test/requests and /test/wait */
int ma_glob_match(const char *glob, const char *path)
{
    /* the bytes before the first star must start the path (and without a
     * star be all of it): most patterns are decided there, without
     * compiling the automaton, as mk_glob_match itself would first */
    size_t k = strcspn(glob, "*");
    if (strncmp(glob, path, k) != 0)
        return 0;
    if (!glob[k])
        return path[k] == '\0' && k <= MK_GLOB_MAX;
    return mk_path_glob(glob, path);
}

/* ---- filters ---- */

static const char *const test_routes[] = {"configure_state", "configure_heartbeat", "inject_event",   "assertions",
                                          "last_request",    "sse",                 "sse_wait",       "sse_disconnect",
                                          "requests",        "reset",               "wait",           "stats",
                                          "regions",         "faults"};

int ma_filter_wants_test(const ma_filter *f)
{
    if (f->path && strncmp(f->path, "/test/", 6) == 0)
        return 1;
    for (size_t i = 0; f->route && i < sizeof test_routes / sizeof test_routes[0]; i++)
        if (strcmp(f->route, test_routes[i]) == 0)
            return 1;
    return 0;
}

int ma_filter_match(const ma_filter *f, const ma_entry *e)
{
    if (e->test && !ma_filter_wants_test(f))
        return 0;
    if (f->method && strcasecmp(f->method, e->method) != 0)
        return 0;
    if (f->route && (!e->route || strcmp(f->route, e->route) != 0))
        return 0;
    if (f->status && f->status != e->status)
        return 0;
    if ((f->fault > 0 && !e->fault) || (f->fault < 0 && e->fault))
        return 0;
    if (f->has_region && f->region != e->region)
        return 0;
    if (f->path && !ma_glob_match(f->path, e->path))
        return 0;
    return 1;
}

int ma_filter_local(const ma_filter *f)
{
    return f->fault != 0 || f->has_region;
}

/* Where each capture key's route lives, so an entry that missed the route
 * (a typo in the path, a wrong method) can still be ranked as close. */
static const struct {
    const char *route, *method, *path;
} route_paths[] = {
    {"register", "POST", "/v1/register"},
    {"heartbeat", "POST", "/v1/nodes/*/heartbeat"},
    {"deregister", "POST", "/v1/nodes/*/deregister"},
    {"key_rotate", "POST", "/v1/keys/rotate"},
    {"capabilities", "PUT", "/v1/nodes/*/capabilities"},
    {"endpoint", "PUT", "/v1/nodes/*/endpoint"},
    {"drift", "POST", "/v1/nodes/*/drift"},
    {"report", "POST", "/v1/nodes/*/report"},
    {"execution_ack", "POST", "/v1/nodes/*/executions/*/ack"},
    {"execution_result", "POST", "/v1/nodes/*/executions/*/result"},
    {"metrics", "POST", "/v1/nodes/*/metrics"},
    {"logs", "POST", "/v1/nodes/*/logs"},
    {"audit", "POST", "/v1/nodes/*/audit"},
    {"tunnel_ready", "POST", "/v1/nodes/*/tunnels/*/ready"},
    {"tunnel_closed", "POST", "/v1/nodes/*/tunnels/*/closed"},
    {"integrity_violation", "POST", "/v1/nodes/*/integrity/violations"},
    {"configure_state", "PUT", "/test/state"},
    {"configure_heartbeat", "POST", "/test/configure-heartbeat"},
    {"inject_event", "POST", "/test/inject-event"},
    {"local_metrics", "POST", "/local/metrics"},
    {"local_logs", "POST", "/local/logs"},
    {"local_audit", "POST", "/local/audit"},
    {"ping", "GET", "/v1/ping"},
    {"state", "GET", "/v1/nodes/*/state"},
    {"metadata", "GET", "/v1/nodes/*/metadata"},
    {"events", "GET", "/v1/nodes/*/events"},
    {"secrets", "GET", "/v1/nodes/*/secrets/*"},
    {"artifact", "GET", "/v1/artifacts/plexd/*/*/*"},
};

/* Fraction (0..1000) of segments of path that match the glob's segments
 * at the same position. */
static int segment_similarity(const char *glob, const char *path)
{
    int same = 0, total = 0;
    const char *g = glob, *p = path;
    while (*g || *p) {
        const char *ge = g, *pe = p;
        while (*ge && *ge != '/')
            ge++;
        while (*pe && *pe != '/')
            pe++;
        char gs[256], ps[256];
        size_t gl = (size_t)(ge - g) < sizeof gs - 1 ? (size_t)(ge - g) : sizeof gs - 1;
        size_t pl = (size_t)(pe - p) < sizeof ps - 1 ? (size_t)(pe - p) : sizeof ps - 1;
        memcpy(gs, g, gl);
        gs[gl] = '\0';
        memcpy(ps, p, pl);
        ps[pl] = '\0';
        total++;
        if ((gl || pl) && (strcmp(gs, "**") == 0 || ma_glob_match(gs, ps)))
            same++;
        else if (gl && pl && ma_edit_distance(gs, ps) <= 2)
            same++; /* a typo still counts as close */
        g = *ge ? ge + 1 : ge;
        p = *pe ? pe + 1 : pe;
        if (total > 64)
            break;
    }
    return total ? same * 1000 / total : 0;
}

int ma_filter_similarity(const ma_filter *f, const ma_entry *e)
{
    if (ma_filter_match(f, e))
        return 100;
    const char *want_path = f->path, *want_method = f->method;
    for (size_t i = 0; f->route && i < sizeof route_paths / sizeof route_paths[0]; i++) {
        if (strcmp(route_paths[i].route, f->route) == 0) {
            if (!want_path)
                want_path = route_paths[i].path;
            if (!want_method)
                want_method = route_paths[i].method;
        }
    }
    int score = 0;
    if (f->route && e->route && strcmp(f->route, e->route) == 0)
        score += 30;
    if (want_method && strcmp(want_method, e->method) == 0)
        score += 10;
    if (f->status && f->status == e->status)
        score += 10;
    if ((f->fault > 0 && e->fault) || (f->fault < 0 && !e->fault))
        score += 5;
    if (f->has_region && f->region == e->region)
        score += 5;
    if (want_path)
        score += segment_similarity(want_path, e->path) * 49 / 1000;
    return score > 99 ? 99 : score;
}

/* ---- time ---- */

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**s))
            return -1;
        v = v * 10 + (*(*s)++ - '0');
    }
    *out = v;
    return 0;
}

int ma_parse_rfc3339(const char *s, int64_t *ns)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' || digits(&s, 2, &d) ||
        (*s != 'T' && *s != 't' && *s != ' '))
        return -1;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &se))
        return -1;
    int64_t frac = 0;
    if (*s == '.') {
        s++;
        int n = 0;
        while (isdigit((unsigned char)*s)) {
            if (n < 9) {
                frac = frac * 10 + (*s - '0');
                n++;
            }
            s++;
        }
        for (; n < 9; n++)
            frac *= 10;
    }
    int offset = 0;
    if (*s == 'Z' || *s == 'z')
        s++;
    else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om;
        if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om))
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else
        return -1;
    if (*s)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *ns = ((int64_t)t - offset) * 1000000000LL + frac;
    return 0;
}

/* ---- queries ---- */

static void url_escape(ma_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '*')
            ma_buf_putc(b, (char)c);
        else
            ma_buf_printf(b, "%%%02X", c);
    }
}

char *ma_filter_query(const ma_filter *f)
{
    ma_buf b = {0};
    const char *sep = "";
    if (f->method) {
        ma_buf_puts(&b, "method=");
        url_escape(&b, f->method);
        sep = "&";
    }
    if (f->path) {
        ma_buf_printf(&b, "%spath=", sep);
        url_escape(&b, f->path);
        sep = "&";
    }
    if (f->route) {
        ma_buf_printf(&b, "%sroute=", sep);
        url_escape(&b, f->route);
        sep = "&";
    }
    if (f->status) {
        ma_buf_printf(&b, "%sstatus=%d", sep, f->status);
        sep = "&";
    }
    if (ma_filter_wants_test(f))
        ma_buf_printf(&b, "%sinclude_test=1", sep);
    return ma_buf_steal(&b);
}
