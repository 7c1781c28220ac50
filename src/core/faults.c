/* faults.c: the fault rules and the per-request decision; see faults.h. */
#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "clock.h"
#include "glob.h"
#include "gojson.h"
#include "suggest.h"

struct mk_fault_rule {
    /* what the decision reads for every request first, together */
    mk_fault_rule *next;
    int route;        /* mk_route_id, or -1: a path rule */
    bool stream;      /* uses stream-only keys: applies to the events route only */
    char method[16];  /* "": any */
    /* path rules: the first bytes of the glob's literal prefix, a quick
     * refusal before the glob (its automaton is ~10 KiB: a hundred of them
     * do not stay in cache) */
    unsigned char qlen;
    char quick[30];
    mk_glob *glob;    /* compiled (path rules) */
    char *path;       /* the glob as given (path rules) */
    int id;
    mk_fault_source source;
    mk_fault fault;
    char spec[MK_FAULT_SPEC_MAX];
    unsigned ttl_ms;
    int64_t expires_ms; /* 0: never */
    /* moved by the decision under the read lock, hence atomics; selected:
     * the matches the p= draw let through, which first= counts */
    atomic_ullong matched, selected, applied;
    uint64_t seed;              /* the draws start from it (again after a reset) */
    atomic_uint_fast64_t rng;
};

/* A header's first/p state, per (route, canonical spec). */
struct mk_fault_hkey {
    int route;  /* -1: keyed by path instead */
    char *path; /* with route -1 */
    char spec[MK_FAULT_SPEC_MAX];
    atomic_ullong matched, selected;
    atomic_uint_fast64_t rng;
    mk_fault_hkey *next;
};

/* What the decision compares for one rule, in one contiguous array
 * (mk_faults.idx, in decision order): a hundred rules are read from a few
 * cache lines instead of a hundred scattered ones. */
struct mk_fault_mrec {
    mk_fault_rule *r;
    int32_t route;     /* as r->route */
    uint32_t regions;  /* r->fault.regions */
    bool stream;
    unsigned char qlen;
    bool any_method;
    uint64_t method[2]; /* r->method, NUL-padded: two compares, not a strcmp */
    char quick[30];    /* r->quick (path rules) */
};

const char *mk_fault_source_name(mk_fault_source s)
{
    switch (s) {
    case MK_FSRC_HEADER: return "header";
    case MK_FSRC_RULE: return "rule";
    case MK_FSRC_FLAG: return "flag";
    case MK_FSRC_NONE: break;
    }
    return NULL;
}

/* The words of GET /test/assertions?faults=1 for mk_fault_wire's values. */
static const char *const wire_names[MK_FAULT_WIRE_KINDS] = {"response", "fin",     "rst",
                                                            "timeout",  "partial", "garbage"};

int mk_faults_init(mk_faults *s)
{
    memset(s, 0, sizeof *s);
    s->next_id = 1;
    s->now_ms = mk_mono_ms;
    atomic_init(&s->nrules, 0);
    atomic_init(&s->applied, 0);
    atomic_init(&s->route_mask, 0);
    atomic_init(&s->npath, 0);
    /* writers (a rule added, deleted, listed) go before new readers, so
     * that steady traffic cannot keep a test's POST /test/faults waiting */
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&s->lock, &a);
    pthread_rwlockattr_destroy(&a);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&s->hlock, NULL) != 0) {
        pthread_rwlock_destroy(&s->lock);
        return -1;
    }
    return 0;
}

static void rule_free(mk_fault_rule *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->glob);
    free(r);
}

static void free_rules(mk_fault_rule *r)
{
    while (r) {
        mk_fault_rule *n = r->next;
        rule_free(r);
        r = n;
    }
}

static void free_hkeys(mk_fault_hkey *k)
{
    while (k) {
        mk_fault_hkey *n = k->next;
        free(k->path);
        free(k);
        k = n;
    }
}

void mk_faults_dispose(mk_faults *s)
{
    free_rules(s->rules);
    free_rules(s->flags);
    free_hkeys(s->hkeys);
    free(s->idx);
    pthread_mutex_destroy(&s->hlock);
    pthread_rwlock_destroy(&s->lock);
    memset(s, 0, sizeof *s);
}

/* Rebuilds idx (room was made by mk_faults_add: it never grows here) and
 * route_mask, npath and nttl from the rules; write lock held. */
static void refresh_index(mk_faults *s)
{
    uint_fast64_t mask = 0;
    int npath = 0, n = 0;
    s->nttl = 0;
    for (int pass = 0; pass < 2; pass++)
        for (mk_fault_rule *r = pass ? s->flags : s->rules; r; r = r->next) {
            mk_fault_mrec *m = &s->idx[n++];
            m->r = r;
            m->route = r->route;
            m->regions = r->fault.regions;
            m->stream = r->stream;
            m->qlen = r->qlen < sizeof m->quick ? r->qlen : (unsigned char)sizeof m->quick;
            memcpy(m->quick, r->quick, m->qlen);
            m->any_method = !r->method[0];
            memcpy(m->method, r->method, sizeof m->method); /* r->method is NUL-padded (calloc) */
            s->nttl += r->expires_ms != 0;
            if (r->route >= 0 && r->route < 64)
                mask |= (uint_fast64_t)1 << r->route;
            else
                npath++;
        }
    s->nidx = n;
    atomic_store_explicit(&s->route_mask, mask, memory_order_release);
    atomic_store_explicit(&s->npath, npath, memory_order_release);
}

static void zero_totals(mk_faults *s)
{
    atomic_store_explicit(&s->applied, 0, memory_order_relaxed);
    for (int i = 0; i < 4; i++)
        atomic_store_explicit(&s->by_source[i], 0, memory_order_relaxed);
    for (int i = 0; i <= MK_ROUTE_COUNT; i++)
        atomic_store_explicit(&s->by_route[i], 0, memory_order_relaxed);
    for (int i = 0; i < MK_FAULT_WIRE_KINDS; i++)
        atomic_store_explicit(&s->by_wire[i], 0, memory_order_relaxed);
}

void mk_faults_reset(mk_faults *s)
{
    pthread_rwlock_wrlock(&s->lock);
    free_rules(s->rules);
    s->rules = s->rules_tail = NULL;
    int nflags = 0;
    for (mk_fault_rule *r = s->flags; r; r = r->next, nflags++) {
        atomic_store_explicit(&r->matched, 0, memory_order_relaxed);
        atomic_store_explicit(&r->selected, 0, memory_order_relaxed);
        atomic_store_explicit(&r->applied, 0, memory_order_relaxed);
        atomic_store_explicit(&r->rng, r->seed, memory_order_relaxed);
    }
    s->nuser = 0;
    atomic_store_explicit(&s->nrules, nflags, memory_order_relaxed);
    refresh_index(s);
    zero_totals(s);
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_lock(&s->hlock);
    free_hkeys(s->hkeys);
    s->hkeys = NULL;
    s->nhkeys = 0;
    pthread_mutex_unlock(&s->hlock);
}

/* ---- checking a rule ---------------------------------------------------- */

/* The route id of a name, or -1. */
static int route_by_name(const char *name)
{
    for (int i = 0; i < MK_ROUTE_COUNT; i++)
        if (strcmp(mk_route_id_name((mk_route_id)i), name) == 0)
            return i;
    return -1;
}

/* Whether route id is served under /test/ (the mock's control routes). */
static bool is_test_route(int id)
{
    size_t n;
    const mk_route *rt = mk_routes(&n);
    for (size_t i = 0; i < n; i++)
        if ((int)rt[i].name == id && strncmp(rt[i].pattern, "/test/", 6) == 0)
            return true;
    return false;
}

/* The events route's pattern: a path glob reaches it when it matches the
 * pattern itself ("{id}" is one segment, as '*' is). */
static const char *events_pattern(void)
{
    size_t n;
    const mk_route *rt = mk_routes(&n);
    for (size_t i = 0; i < n; i++)
        if (rt[i].name == MK_ROUTE_EVENTS)
            return rt[i].pattern;
    return "/v1/nodes/{id}/events";
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

/* A rule's method must be one a request can carry to its target, since the
 * match is exact: "get", "PSOT" or GET on the POST-only heartbeat route would
 * make a rule that never applies, kept without a word. The methods are the
 * route table's (HEAD too, which the router serves with a GET route). */
static int check_method(const mk_fault_target *t, char *err, size_t errlen)
{
    static const char *const known[] = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"};
    enum { NKNOWN = sizeof known / sizeof known[0] };
    const char *m = t->method;
    int k = -1;
    for (int i = 0; i < NKNOWN; i++)
        if (strcmp(known[i], m) == 0)
            k = i;
    if (k < 0) {
        for (int i = 0; i < NKNOWN; i++)
            if (strcasecmp(known[i], m) == 0) {
                snprintf(err, errlen, "method \"%.20s\": methods are upper case (did you mean \"%s\"?)",
                         m, known[i]);
                return -1;
            }
        const char *near = mk_suggest(m, known, NKNOWN);
        snprintf(err, errlen, "method \"%.20s\" is not a method the mock serves%s%s%s", m,
                 near ? " (did you mean \"" : " (DELETE, GET, HEAD, OPTIONS, PATCH, POST or PUT)",
                 near ? near : "", near ? "\"?)" : "");
        return -1;
    }
    if (!t->route)
        return 0;
    int id = route_by_name(t->route);
    size_t n;
    const mk_route *rt = mk_routes(&n);
    unsigned mask = 0; /* bit i: known[i] reaches the route */
    for (size_t i = 0; i < n; i++) {
        if ((int)rt[i].name != id || !rt[i].method)
            continue;
        for (int j = 0; j < NKNOWN; j++)
            if (strcmp(known[j], rt[i].method) == 0 ||
                (strcmp(rt[i].method, "GET") == 0 && strcmp(known[j], "HEAD") == 0))
                mask |= 1u << j;
    }
    if (mask & (1u << k))
        return 0;
    char list[64] = "";
    size_t w = 0;
    for (int j = 0; j < NKNOWN; j++)
        if (mask & (1u << j)) {
            int r = snprintf(list + w, sizeof list - w, "%s%s", w ? ", " : "", known[j]);
            if (r > 0 && (size_t)r < sizeof list - w)
                w += (size_t)r;
        }
    snprintf(err, errlen, "route \"%s\" answers %s, not %s", t->route, list, m);
    return -1;
}

int mk_faults_check(const mk_fault_target *t, const mk_fault *f, bool *events, char *err,
                    size_t errlen)
{
    bool ev = false;
    if ((t->route != NULL) == (t->path != NULL)) {
        snprintf(err, errlen, "give either a route name or a path glob (starting with '/'), not %s",
                 t->route ? "both" : "neither");
        return -1;
    }
    if (t->route) {
        int id = route_by_name(t->route);
        if (id < 0) {
            const char *names[MK_ROUTE_COUNT];
            for (int i = 0; i < MK_ROUTE_COUNT; i++)
                names[i] = mk_route_id_name((mk_route_id)i);
            const char *near = mk_suggest(t->route, names, MK_ROUTE_COUNT);
            if (near)
                snprintf(err, errlen, "unknown route \"%.64s\" (did you mean \"%s\"?)", t->route, near);
            else
                snprintf(err, errlen, "unknown route \"%.64s\" (a route name as the journal shows it, "
                                      "e.g. heartbeat, or a path glob starting with '/')", t->route);
            return -1;
        }
        if (is_test_route(id)) {
            snprintf(err, errlen, "route \"%s\" is a /test/ route: faults never apply to the mock's "
                                  "control routes", t->route);
            return -1;
        }
        ev = id == MK_ROUTE_EVENTS;
    } else {
        size_t n = strlen(t->path);
        if (t->path[0] != '/') {
            snprintf(err, errlen, "path \"%.64s\" must start with '/' (a glob such as /v1/nodes/*/heartbeat)",
                     t->path);
            return -1;
        }
        if (n > MK_GLOB_MAX) {
            snprintf(err, errlen, "path glob longer than %d bytes (the limit)", MK_GLOB_MAX);
            return -1;
        }
        /* matched against the path alone: a query or a fragment in the glob
         * would make a rule that never applies */
        if (strpbrk(t->path, "?#")) {
            snprintf(err, errlen, "path \"%.64s\": a glob matches the path only; leave out the '%c' and "
                                  "what follows", t->path, *strpbrk(t->path, "?#"));
            return -1;
        }
        if (strncmp(t->path, "/test/", 6) == 0 || strcmp(t->path, "/test") == 0) {
            snprintf(err, errlen, "path \"%.64s\" is under /test/: faults never apply to the mock's "
                                  "control routes", t->path);
            return -1;
        }
        ev = mk_path_glob(t->path, events_pattern());
    }
    if (t->method && *t->method && (strlen(t->method) >= 16 || !is_token(t->method))) {
        snprintf(err, errlen, "method \"%.20s\" is not an HTTP method (e.g. POST)", t->method);
        return -1;
    }
    if (t->method && *t->method && check_method(t, err, errlen) != 0)
        return -1;
    if (mk_fault_is_stream(f) && !ev) {
        snprintf(err, errlen, "cut-after, cut-mid, stall and retry apply to event streams only: "
                              "target the events route (route \"events\" or a path such as "
                              "/v1/nodes/*/events)");
        return -1;
    }
    if (events)
        *events = ev;
    return 0;
}

/* ---- the store ------------------------------------------------------------ */

static uint64_t random_seed(void)
{
    uint64_t s;
    randombytes_buf(&s, sizeof s);
    return s;
}

int mk_faults_add(mk_faults *s, mk_fault_source src, const mk_fault_target *t, const mk_fault *f,
                  unsigned ttl_ms, int *id, char *err, size_t errlen)
{
    mk_fault_rule *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->source = src;
    r->route = t->route ? route_by_name(t->route) : -1;
    if (t->path) {
        r->path = strdup(t->path);
        r->glob = malloc(sizeof *r->glob);
        if (!r->path || !r->glob) {
            rule_free(r);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        mk_glob_compile(r->glob, t->path, strlen(t->path));
        r->qlen = (unsigned char)(r->glob->prefix < sizeof r->quick ? r->glob->prefix : sizeof r->quick);
        memcpy(r->quick, r->glob->fixed, r->qlen);
    }
    if (t->method)
        snprintf(r->method, sizeof r->method, "%s", t->method);
    r->fault = *f;
    r->stream = mk_fault_is_stream(f);
    mk_fault_format(f, r->spec, sizeof r->spec);
    r->seed = MK_FAULT_HAS(f, SEED) ? f->seed : random_seed();
    atomic_init(&r->rng, r->seed);
    atomic_init(&r->matched, 0);
    atomic_init(&r->selected, 0);
    atomic_init(&r->applied, 0);
    r->ttl_ms = ttl_ms;

    pthread_rwlock_wrlock(&s->lock);
    if (src != MK_FSRC_FLAG && s->nuser >= MK_FAULT_MAX_RULES) {
        pthread_rwlock_unlock(&s->lock);
        rule_free(r);
        snprintf(err, errlen, "%d fault rules are installed (the limit); delete some first",
                 MK_FAULT_MAX_RULES);
        return -1;
    }
    if (s->nidx + 1 > s->idx_cap) { /* room in the index first: rebuilding it never fails */
        int cap = s->idx_cap ? s->idx_cap * 2 : 16;
        mk_fault_mrec *ni = realloc(s->idx, (size_t)cap * sizeof *ni);
        if (!ni) {
            pthread_rwlock_unlock(&s->lock);
            rule_free(r);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        s->idx = ni;
        s->idx_cap = cap;
    }
    r->id = s->next_id++;
    r->expires_ms = ttl_ms ? s->now_ms() + ttl_ms : 0;
    mk_fault_rule **head = src == MK_FSRC_FLAG ? &s->flags : &s->rules;
    mk_fault_rule **tail = src == MK_FSRC_FLAG ? &s->flags_tail : &s->rules_tail;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
    if (src != MK_FSRC_FLAG)
        s->nuser++;
    atomic_fetch_add_explicit(&s->nrules, 1, memory_order_release);
    refresh_index(s);
    if (id)
        *id = r->id;
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

/* Unlinks r (whose predecessor in s->rules is prev, NULL for the head);
 * call with the lock held. */
static void unlink_rule(mk_faults *s, mk_fault_rule *prev, mk_fault_rule *r)
{
    if (prev)
        prev->next = r->next;
    else
        s->rules = r->next;
    if (s->rules_tail == r)
        s->rules_tail = prev;
    s->nuser--;
    atomic_fetch_sub_explicit(&s->nrules, 1, memory_order_relaxed);
    rule_free(r);
}

int mk_faults_delete(mk_faults *s, int id)
{
    int rc = -1;
    pthread_rwlock_wrlock(&s->lock);
    for (mk_fault_rule *r = s->flags; r; r = r->next)
        if (r->id == id)
            rc = -2;
    for (mk_fault_rule *prev = NULL, *r = s->rules; r && rc == -1; prev = r, r = r->next)
        if (r->id == id) {
            unlink_rule(s, prev, r);
            rc = 0;
            break;
        }
    refresh_index(s);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

void mk_faults_count_streams(mk_faults *s, int id, const mk_fault *f, int n)
{
    if (n <= 0)
        return;
    pthread_rwlock_rdlock(&s->lock);
    for (int k = 0; k < 2; k++)
        for (mk_fault_rule *r = k ? s->flags : s->rules; r; r = r->next)
            if (r->id == id) {
                atomic_fetch_add_explicit(&r->applied, (unsigned long long)n, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->applied, (unsigned long long)n, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->by_source[r->source], (unsigned long long)n,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&s->by_route[MK_ROUTE_EVENTS], (unsigned long long)n,
                                          memory_order_relaxed);
                unsigned w = (unsigned)f->wire < MK_FAULT_WIRE_KINDS ? (unsigned)f->wire : 0;
                atomic_fetch_add_explicit(&s->by_wire[w], (unsigned long long)n, memory_order_relaxed);
            }
    pthread_rwlock_unlock(&s->lock);
}

int mk_faults_clear(mk_faults *s)
{
    pthread_rwlock_wrlock(&s->lock);
    int n = s->nuser;
    free_rules(s->rules);
    s->rules = s->rules_tail = NULL;
    s->nuser = 0;
    atomic_fetch_sub_explicit(&s->nrules, n, memory_order_relaxed);
    refresh_index(s);
    pthread_rwlock_unlock(&s->lock);
    return n;
}

/* Drops the rules whose TTL has passed; lock held. */
static void expire(mk_faults *s, int64_t now)
{
    bool gone = false;
    for (mk_fault_rule *prev = NULL, *r = s->rules; r;) {
        mk_fault_rule *next = r->next;
        if (r->expires_ms && now >= r->expires_ms) {
            unlink_rule(s, prev, r);
            gone = true;
        } else {
            prev = r;
        }
        r = next;
    }
    if (gone)
        refresh_index(s);
}

/* ---- listing ---------------------------------------------------------------- */

static void put_str_or_null(mk_buf *out, const char *s)
{
    if (s)
        gj_write_string(out, s, strlen(s));
    else
        mk_buf_puts(out, "null");
}

static void rule_json(const mk_fault_rule *r, int64_t now, mk_buf *out)
{
    mk_buf_printf(out, "{\"id\":%d,\"source\":\"%s\",\"route\":", r->id, mk_fault_source_name(r->source));
    put_str_or_null(out, r->route >= 0 ? mk_route_id_name((mk_route_id)r->route) : NULL);
    mk_buf_puts(out, ",\"path\":");
    put_str_or_null(out, r->path);
    mk_buf_puts(out, ",\"method\":");
    put_str_or_null(out, r->method[0] ? r->method : NULL);
    mk_buf_puts(out, ",\"spec\":");
    put_str_or_null(out, r->spec);
    if (r->ttl_ms)
        mk_buf_printf(out, ",\"ttl_ms\":%u,\"expires_in_ms\":%lld", r->ttl_ms,
                      (long long)(r->expires_ms > now ? r->expires_ms - now : 0));
    else
        mk_buf_puts(out, ",\"ttl_ms\":null,\"expires_in_ms\":null");
    mk_buf_printf(out, ",\"matched\":%llu,\"applied\":%llu}",
                  (unsigned long long)atomic_load_explicit(&r->matched, memory_order_relaxed),
                  (unsigned long long)atomic_load_explicit(&r->applied, memory_order_relaxed));
}

void mk_faults_list(mk_faults *s, mk_buf *out)
{
    mk_buf_puts(out, "{\"rules\":[");
    pthread_rwlock_wrlock(&s->lock); /* it drops the expired rules */
    int64_t now = s->now_ms();
    expire(s, now);
    bool first = true;
    for (int pass = 0; pass < 2; pass++)
        for (const mk_fault_rule *r = pass ? s->flags : s->rules; r; r = r->next) {
            if (!first)
                mk_buf_putc(out, ',');
            first = false;
            rule_json(r, now, out);
        }
    pthread_rwlock_unlock(&s->lock);
    mk_buf_puts(out, "]}\n");
}

void mk_faults_rule_json(mk_faults *s, int id, mk_buf *out)
{
    pthread_rwlock_rdlock(&s->lock);
    int64_t now = s->now_ms();
    for (int pass = 0; pass < 2; pass++)
        for (const mk_fault_rule *r = pass ? s->flags : s->rules; r; r = r->next)
            if (r->id == id) {
                rule_json(r, now, out);
                pass = 2;
                break;
            }
    pthread_rwlock_unlock(&s->lock);
}

/* ---- the decision ---------------------------------------------------------- */

static bool region_ok(const mk_fault *f, int region)
{
    if (!f->regions)
        return true;
    return region >= 0 && region <= MK_FAULT_MAX_REGION && ((f->regions >> region) & 1u);
}

/* One draw of a shared random source: the state moves as mk_fault_rand
 * moves it, whichever thread draws (a compare-and-swap loop). */
static uint64_t draw(atomic_uint_fast64_t *rng)
{
    uint_fast64_t cur = atomic_load_explicit(rng, memory_order_relaxed);
    for (;;) {
        uint64_t next = cur, x = mk_fault_rand(&next);
        if (atomic_compare_exchange_weak_explicit(rng, &cur, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return x;
    }
}

/* p= then first= for one more matching request (counted in *matched):
 * the draw decides first, and first=N takes the first N requests the
 * draw selected (docs/faults.md). */
static bool gate(const mk_fault *f, atomic_ullong *matched, atomic_ullong *selected,
                 atomic_uint_fast64_t *rng)
{
    atomic_fetch_add_explicit(matched, 1, memory_order_relaxed);
    if (MK_FAULT_HAS(f, P) && f->p < 1.0) {
        double u = (double)(draw(rng) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
        if (u >= f->p)
            return false;
    }
    unsigned long long n = atomic_fetch_add_explicit(selected, 1, memory_order_relaxed) + 1;
    return !f->first || n <= f->first;
}

/* The delay with its jitter drawn: uniform in [delay - jitter, delay +
 * jitter] (never below 0), from rng (NULL: at random). */
static unsigned draw_delay(const mk_fault *f, atomic_uint_fast64_t *rng)
{
    if (!f->jitter_ms)
        return f->delay_ms;
    unsigned lo = f->delay_ms > f->jitter_ms ? f->delay_ms - f->jitter_ms : 0;
    unsigned span = f->delay_ms + f->jitter_ms - lo;
    uint64_t x = rng ? draw(rng) : (uint64_t)randombytes_random();
    return lo + (unsigned)(x % ((uint64_t)span + 1));
}

static bool rule_matches(const mk_fault_mrec *m, const mk_fault_req *q, const uint64_t qmethod[2])
{
    if (m->route >= 0) {
        if (m->route != q->route)
            return false;
    } else if (q->path_len < m->qlen || memcmp(q->path, m->quick, m->qlen) != 0 ||
               !mk_glob_match(m->r->glob, q->path, q->path_len)) {
        return false;
    }
    if (!m->any_method && (m->method[0] != qmethod[0] || m->method[1] != qmethod[1]))
        return false;
    if (m->stream && !q->events)
        return false;
    return !m->regions || (q->region >= 0 && q->region <= MK_FAULT_MAX_REGION && ((m->regions >> q->region) & 1u));
}

/* The header's counting slot for (route, spec), made when missing; lock
 * held. NULL when the table is full or memory is short. */
static mk_fault_hkey *hkey_of(mk_faults *s, const mk_fault_req *q, const char *spec,
                              const mk_fault *f)
{
    for (mk_fault_hkey *k = s->hkeys; k; k = k->next)
        if (k->route == q->route && strcmp(k->spec, spec) == 0 &&
            (q->route >= 0 || (strlen(k->path) == q->path_len && memcmp(k->path, q->path, q->path_len) == 0)))
            return k;
    if (s->nhkeys >= MK_FAULT_HEADER_KEYS)
        return NULL;
    mk_fault_hkey *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->route = q->route;
    if (q->route < 0 && !(k->path = strndup(q->path, q->path_len))) {
        free(k);
        return NULL;
    }
    snprintf(k->spec, sizeof k->spec, "%s", spec);
    atomic_init(&k->rng, MK_FAULT_HAS(f, SEED) ? f->seed : random_seed());
    atomic_init(&k->matched, 0);
    atomic_init(&k->selected, 0);
    k->next = s->hkeys;
    s->hkeys = k;
    s->nhkeys++;
    return k;
}

static void count_applied(mk_faults *s, const mk_fault_decision *d, const mk_fault_req *q)
{
    atomic_fetch_add_explicit(&s->applied, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->by_source[d->source], 1, memory_order_relaxed);
    int ri = q->route >= 0 && q->route < MK_ROUTE_COUNT ? q->route : MK_ROUTE_COUNT;
    atomic_fetch_add_explicit(&s->by_route[ri], 1, memory_order_relaxed);
    unsigned w = (unsigned)d->fault.wire < MK_FAULT_WIRE_KINDS ? (unsigned)d->fault.wire : 0;
    atomic_fetch_add_explicit(&s->by_wire[w], 1, memory_order_relaxed);
}

/* Offers the request to the rules in decision order (the index); read
 * lock held. A rule past its TTL is passed over, and *expired set for the
 * caller to drop it. */
static bool try_rules(const mk_faults *s, const mk_fault_req *q, int64_t now, bool *expired,
                      mk_fault_decision *d)
{
    uint64_t qm[2] = {0, 0}; /* the request's method as the index keeps methods */
    size_t ml = strlen(q->method);
    if (ml < sizeof qm)
        memcpy(qm, q->method, ml);
    else
        qm[0] = qm[1] = UINT64_MAX; /* longer than any rule's: matches none but "any" */
    for (int i = 0; i < s->nidx; i++) {
        if (!rule_matches(&s->idx[i], q, qm))
            continue;
        mk_fault_rule *r = s->idx[i].r;
        if (r->expires_ms && now >= r->expires_ms) {
            *expired = true;
            continue;
        }
        if (!gate(&r->fault, &r->matched, &r->selected, &r->rng))
            continue;
        atomic_fetch_add_explicit(&r->applied, 1, memory_order_relaxed);
        d->source = r->source;
        d->rule = r->id;
        d->fault = r->fault;
        d->delay_ms = draw_delay(&r->fault, &r->rng);
        memcpy(d->spec, r->spec, sizeof d->spec);
        return true;
    }
    return false;
}

int mk_faults_decide(mk_faults *s, const mk_fault *hdr, const mk_fault_req *q,
                     mk_fault_decision *d, char *err, size_t errlen)
{
    d->source = MK_FSRC_NONE;
    d->rule = 0;
    if (hdr && region_ok(hdr, q->region)) {
        char spec[MK_FAULT_SPEC_MAX];
        mk_fault_format(hdr, spec, sizeof spec);
        bool counted = hdr->first || MK_FAULT_HAS(hdr, P);
        bool apply = true;
        if (counted) {
            pthread_mutex_lock(&s->hlock);
            mk_fault_hkey *k = hkey_of(s, q, spec, hdr);
            if (!k) {
                pthread_mutex_unlock(&s->hlock);
                snprintf(err, errlen, "X-Mockapi-Fault: %d distinct specs with first= or p= are being "
                                      "counted (the limit); POST /test/reset starts over",
                         MK_FAULT_HEADER_KEYS);
                return -1;
            }
            apply = gate(hdr, &k->matched, &k->selected, &k->rng);
            if (apply)
                d->delay_ms = draw_delay(hdr, &k->rng);
            pthread_mutex_unlock(&s->hlock);
        } else {
            d->delay_ms = draw_delay(hdr, NULL);
        }
        if (apply) {
            d->source = MK_FSRC_HEADER;
            d->fault = *hdr;
            memcpy(d->spec, spec, sizeof spec);
            count_applied(s, d, q);
            return 1;
        }
    }
    if (q->header_only || atomic_load_explicit(&s->nrules, memory_order_acquire) == 0)
        return 0;
    /* no rule for this route and no path rule: nothing can match (a rule
     * added meanwhile sees the next request) */
    if (!(q->route >= 0 && q->route < 64 &&
          ((atomic_load_explicit(&s->route_mask, memory_order_acquire) >> q->route) & 1u)) &&
        atomic_load_explicit(&s->npath, memory_order_acquire) == 0)
        return 0;
    /* matched under the read lock: threads decide at the same time, the
     * counts and draws of a rule being atomics */
    pthread_rwlock_rdlock(&s->lock);
    int64_t now = s->nttl ? s->now_ms() : 0;
    bool expired = false;
    bool hit = try_rules(s, q, now, &expired, d);
    pthread_rwlock_unlock(&s->lock);
    if (expired) {
        pthread_rwlock_wrlock(&s->lock);
        expire(s, s->now_ms());
        pthread_rwlock_unlock(&s->lock);
    }
    if (hit)
        count_applied(s, d, q);
    return hit;
}

void mk_faults_totals_json(mk_faults *s, mk_buf *out)
{
    mk_buf_printf(out, "{\"applied\":%llu,\"sources\":{",
                  (unsigned long long)atomic_load_explicit(&s->applied, memory_order_relaxed));
    for (int i = MK_FSRC_HEADER; i <= MK_FSRC_FLAG; i++)
        mk_buf_printf(out, "%s\"%s\":%llu", i > MK_FSRC_HEADER ? "," : "",
                      mk_fault_source_name((mk_fault_source)i),
                      (unsigned long long)atomic_load_explicit(&s->by_source[i], memory_order_relaxed));
    mk_buf_puts(out, "},\"routes\":{");
    bool first = true;
    for (int i = 0; i <= MK_ROUTE_COUNT; i++) {
        unsigned long long v = atomic_load_explicit(&s->by_route[i], memory_order_relaxed);
        if (!v)
            continue;
        const char *name = i < MK_ROUTE_COUNT ? mk_route_id_name((mk_route_id)i) : "(none)";
        mk_buf_printf(out, "%s\"%s\":%llu", first ? "" : ",", name, v);
        first = false;
    }
    mk_buf_puts(out, "},\"wire\":{");
    for (int i = 0; i < MK_FAULT_WIRE_KINDS; i++)
        mk_buf_printf(out, "%s\"%s\":%llu", i ? "," : "", wire_names[i],
                      (unsigned long long)atomic_load_explicit(&s->by_wire[i], memory_order_relaxed));
    mk_buf_puts(out, "}}");
}
