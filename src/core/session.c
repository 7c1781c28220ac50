/* session.c: the session table and the session objects (session.h).
 *
 * Three hash indexes over the live sessions (by id, by NSK, by local
 * token), chained, with a fixed bucket count sized from max_sessions, so a
 * lookup is one probe whatever the number of sessions. Only the table lock
 * guards the indexes and the list; a session's own fields are immutable
 * after creation but for its atomics and its state (which has its own
 * locks). */
#include "session.h"
#include "nodes.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "faults.h"
#include "fixtures.h"
#include "gojson.h"
#include "gotype.h"
#include "server.h"
#include "sse.h"
#include "suggest.h"

enum { SWEEP_EVERY_MS = 100 };

static void sweep_walk(mockapi *m, int64_t now_ms);

static const char *const via_names[] = {"default", "header", "prefix", "token", "query"};

const char *mk_session_via_name(mk_session_via v)
{
    return (unsigned)v < sizeof via_names / sizeof via_names[0] ? via_names[v] : "default";
}

/* FNV-1a: ids and tokens are short, and an attacker gains nothing by
 * colliding them but a longer chain in a table bounded by max_sessions. */
static size_t hash(const char *p, size_t n, size_t nb)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h % nb);
}

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* The id rule (README "Sessions"): 1 to 64 of [A-Za-z0-9_.-]; "." and ".."
 * alone are refused, as a path segment would resolve them. */
static bool id_ok(const char *id, size_t n)
{
    if (n == 0 || n > MK_SESSION_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!id_char(id[i]))
            return false;
    return !(n == 1 && id[0] == '.') && !(n == 2 && id[0] == '.' && id[1] == '.');
}

static void random_alnum(char *out, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        out[i] = set[randombytes_uniform(sizeof set - 1)];
    out[n] = '\0';
}

static void random_id(char *out)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < 12; i++)
        out[i] = set[randombytes_uniform(sizeof set - 1)];
    out[12] = '\0';
}

/* register's answer with the session's NSK in node_secret_key: the
 * fixture is Go-encoded (compact: a member starts right after '{' or ','),
 * and inside a string every quote is escaped, so the key's literal after
 * one of those is the member and nothing else. */
static mk_blob *register_with(const mk_blob *fix, const char *nsk)
{
    static const char key[] = "\"node_secret_key\":\"";
    const char *p = fix->data, *end = fix->data + fix->len;
    const char *at = NULL;
    for (const char *q = p; (q = memmem(q, (size_t)(end - q), key, sizeof key - 1)); q++)
        if (q > p && (q[-1] == '{' || q[-1] == ',')) {
            at = q;
            break;
        }
    if (!at)
        return mk_blob_ref((mk_blob *)fix);
    const char *v = at + sizeof key - 1, *ve = v;
    while (ve < end && *ve != '"')
        ve += *ve == '\\' ? 2 : 1;
    if (ve >= end)
        return mk_blob_ref((mk_blob *)fix);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_append(&b, p, (size_t)(v - p));
    mk_buf_puts(&b, nsk);
    mk_buf_append(&b, ve, (size_t)(end - ve));
    mk_blob *out = b.err ? NULL : mk_blob_new(b.data, b.len);
    mk_buf_free(&b);
    return out;
}

/* A fixture body from JSON of type t, Go-encoded with its "\n" (as the
 * /test/ routes that replace them store them). */
static int fixture_blob(const gt_type *t, const char *what, const char *json, size_t len,
                        mk_blob **out, char *err, size_t errlen)
{
    char why[256] = "";
    int rc = mk_fixture_render(t, json, len, out, why, sizeof why);
    if (rc != MOCKAPI_OK)
        snprintf(err, errlen, "\"%s\": %s", what, why);
    return rc;
}

/* Installs the rules of a JSON array of POST /test/faults bodies in f. */
static int install_faults(mockapi *m, mk_session *s, const char *json, size_t len, char *err, size_t errlen)
{
    size_t pos = 0, st, en;
    gj_kind k;
    if (gj_scan_value(json, len, &pos, &k, &st, &en) != 0 || k != GJ_ARRAY) {
        snprintf(err, errlen, "\"faults\" must be an array of fault rules (as POST /test/faults takes them)");
        return MOCKAPI_EINVAL;
    }
    mk_fault_body *b = malloc(sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    gj_iter it;
    gj_iter_init(&it, json, st, en);
    size_t ks, ke, vs, ve;
    gj_kind vk;
    int r, i = 0, rc = MOCKAPI_OK;
    char why[400];
    while ((r = gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve)) == 1) {
        if (mk_faults_parse_body(json + vs, ve - vs, b, why, sizeof why) != 0 ||
            mk_faults_install(&s->state.faults, m->sse, s->sse, MK_FSRC_RULE,
                              &(mk_fault_target){.route = b->has_route ? b->route : NULL,
                                                 .path = b->has_path ? b->path : NULL,
                                                 .method = b->method},
                              b->spec, strlen(b->spec), b->ttl_ms, NULL, why, sizeof why) != 0) {
            snprintf(err, errlen, "faults[%d]: %s", i, why);
            rc = MOCKAPI_EINVAL;
            break;
        }
        i++;
    }
    free(b);
    if (rc == MOCKAPI_OK && r < 0) {
        snprintf(err, errlen, "\"faults\" is not a valid JSON array");
        rc = MOCKAPI_EINVAL;
    }
    return rc;
}

static void session_free(mk_session *s)
{
    if (s->start_charge)
        mk_budget_give(s->state.budget, s->start_charge);
    mk_state_dispose(&s->state);
    mk_sse_space_unref(s->sse);
    mk_blob_unref(s->register_body);
    mk_blob_unref(s->state_start);
    mk_blob_unref(s->heartbeat_start);
    mk_nodes_free(s->nodes);
    sodium_memzero(s->nsk, sizeof s->nsk);
    free(s);
}

mk_session *mk_session_ref(mk_session *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void mk_session_release(mk_session *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        session_free(s);
}

/* A session object with its state, space and credentials; not linked. */
static mk_session *session_new(mockapi *m, bool is_default, const char *id, mk_blob *state,
                               mk_blob *heartbeat)
{
    mk_session *s = calloc(1, sizeof *s);
    if (!s) {
        mk_blob_unref(state);
        mk_blob_unref(heartbeat);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->is_default = is_default;
    snprintf(s->id, sizeof s->id, "%s", id);
    s->state_start = mk_blob_ref(state);
    s->heartbeat_start = mk_blob_ref(heartbeat);
    size_t jbytes = is_default ? m->cfg.journal_max_bytes : m->cfg.session_journal_bytes;
    if (mk_state_init(&s->state, state, heartbeat, m->cfg.journal_max_entries, jbytes) != 0) {
        mk_blob_unref(s->state_start);
        mk_blob_unref(s->heartbeat_start);
        free(s);
        return NULL;
    }
    s->state.faults.nregions = m->nregions;
    if (!(s->sse = mk_sse_space_new()))
        goto fail;
    if (!is_default) { /* default keeps what it did before sessions: no budget */
        s->state.budget = &m->sessions.budget;
        mk_sse_space_set_budget(s->sse, &m->sessions.budget);
    }
    if (is_default) {
        snprintf(s->nsk, sizeof s->nsk, "%s", MK_NSK);
        snprintf(s->bearer, sizeof s->bearer, "%s", MK_BEARER_TOKEN);
        snprintf(s->secret_ct_b64, sizeof s->secret_ct_b64, "%s", m->keys.secret_ct_b64);
        s->register_body = mk_blob_ref(m->fx.register_body);
    } else {
        /* its own NSK (plexd's AES key: 32 bytes) and local token, so an
         * agent is known by the bearer it sends */
        random_alnum(s->nsk, 32);
        memcpy(s->bearer, "mockapi-local-", 14);
        random_alnum(s->bearer + 14, 32);
        size_t bl = strlen(s->bearer);
        unsigned char ct[MK_SESSION_TOKEN_MAX + 16];
        if (mk_gcm_seal((const unsigned char *)s->nsk, s->bearer, bl, ct) != 0)
            goto fail;
        mk_b64_encode(ct, bl + 16, s->secret_ct_b64);
        if (!(s->register_body = register_with(m->fx.register_body, s->nsk)))
            goto fail;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->created_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    s->strict = m->cfg.profile == MOCKAPI_PROFILE_STRICT;
    mk_sse_space_set_numeric(s->sse, s->strict);
    atomic_init(&s->clock_offset_ms, 0);
    if (!(s->nodes = mk_nodes_new(s->created_ms)))
        goto fail;
    if (!is_default) /* default's are bounded by their count and the body caps */
        mk_nodes_set_budget(s->nodes, &m->sessions.budget);
    atomic_init(&s->last_used_ms, mk_mono_ms());
    atomic_init(&s->requests, 0);
    atomic_init(&s->ended, false);
    return s;
fail:
    session_free(s);
    return NULL;
}

int mk_sessions_init(mockapi *m)
{
    mk_session_table *t = &m->sessions;
    memset(t, 0, sizeof *t);
    if (pthread_mutex_init(&t->lock, NULL) != 0)
        return -1;
    t->max = (int)m->cfg.max_sessions;
    t->budget.max = m->cfg.sessions_max_bytes;
    atomic_init(&t->budget.used, 0);
    t->mode = (mk_sessions_mode)m->cfg.sessions;
    /* about one session per bucket when full, at least 64 */
    t->nbuckets = 64;
    while (t->nbuckets < (size_t)t->max && t->nbuckets < (1u << 20))
        t->nbuckets <<= 1;
    t->b_id = calloc(t->nbuckets, sizeof *t->b_id);
    t->b_nsk = calloc(t->nbuckets, sizeof *t->b_nsk);
    t->b_tok = calloc(t->nbuckets, sizeof *t->b_tok);
    m->def = session_new(m, true, "default", mk_blob_ref(m->fx.state_default),
                         mk_blob_ref(m->fx.heartbeat_default));
    if (!t->b_id || !t->b_nsk || !t->b_tok || !m->def) {
        mk_sessions_dispose(m);
        return -1;
    }
    return 0;
}

void mk_sessions_dispose(mockapi *m)
{
    mk_session_table *t = &m->sessions;
    for (mk_session *s = t->first, *n; s; s = n) {
        n = s->next;
        mk_session_release(s);
    }
    t->first = t->last = NULL;
    free(t->b_id);
    free(t->b_nsk);
    free(t->b_tok);
    t->b_id = t->b_nsk = t->b_tok = NULL;
    mk_session_release(m->def);
    m->def = NULL;
    pthread_mutex_destroy(&t->lock);
}

mk_session *mk_session_find(mockapi *m, const char *id, size_t len)
{
    if (len == 7 && memcmp(id, "default", 7) == 0)
        return mk_session_ref(m->def);
    mk_session_table *t = &m->sessions;
    if (atomic_load_explicit(&t->live, memory_order_acquire) == 0 || !id_ok(id, len))
        return NULL;
    mk_session *s;
    pthread_mutex_lock(&t->lock);
    for (s = t->b_id[hash(id, len, t->nbuckets)]; s; s = s->h_id)
        if (strlen(s->id) == len && memcmp(s->id, id, len) == 0)
            break;
    mk_session_ref(s);
    pthread_mutex_unlock(&t->lock);
    return s;
}

mk_session *mk_session_by_token(mockapi *m, const char *tok, size_t len)
{
    mk_session_table *t = &m->sessions;
    if (atomic_load_explicit(&t->live, memory_order_acquire) == 0 || len == 0 ||
        len > MK_SESSION_TOKEN_MAX)
        return NULL;
    size_t h = hash(tok, len, t->nbuckets);
    mk_session *s;
    pthread_mutex_lock(&t->lock);
    for (s = t->b_nsk[h]; s; s = s->h_nsk)
        if (len == 32 && memcmp(s->nsk, tok, 32) == 0)
            break;
    if (!s)
        for (s = t->b_tok[h]; s; s = s->h_tok)
            if (strlen(s->bearer) == len && memcmp(s->bearer, tok, len) == 0)
                break;
    mk_session_ref(s);
    pthread_mutex_unlock(&t->lock);
    return s;
}

/* Links s into the indexes and the list; under lock. */
static void link_locked(mk_session_table *t, mk_session *s)
{
    size_t hi = hash(s->id, strlen(s->id), t->nbuckets);
    size_t hn = hash(s->nsk, 32, t->nbuckets);
    size_t ht = hash(s->bearer, strlen(s->bearer), t->nbuckets);
    s->h_id = t->b_id[hi];
    t->b_id[hi] = s;
    s->h_nsk = t->b_nsk[hn];
    t->b_nsk[hn] = s;
    s->h_tok = t->b_tok[ht];
    t->b_tok[ht] = s;
    s->prev = t->last;
    s->next = NULL;
    if (t->last)
        t->last->next = s;
    else
        t->first = s;
    t->last = s;
    if (s->ttl_ms)
        atomic_fetch_add_explicit(&t->with_ttl, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->live, 1, memory_order_release);
}

static void unchain(mk_session **head, mk_session *s, size_t off)
{
    for (mk_session **pp = head; *pp; pp = (mk_session **)((char *)*pp + off))
        if (*pp == s) {
            *pp = *(mk_session **)((char *)s + off);
            return;
        }
}

/* Unlinks s; under lock. The table's reference passes to the caller. */
static void unlink_locked(mk_session_table *t, mk_session *s)
{
    unchain(&t->b_id[hash(s->id, strlen(s->id), t->nbuckets)], s, offsetof(mk_session, h_id));
    unchain(&t->b_nsk[hash(s->nsk, 32, t->nbuckets)], s, offsetof(mk_session, h_nsk));
    unchain(&t->b_tok[hash(s->bearer, strlen(s->bearer), t->nbuckets)], s, offsetof(mk_session, h_tok));
    if (s->prev)
        s->prev->next = s->next;
    else
        t->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        t->last = s->prev;
    s->prev = s->next = NULL;
    if (s->ttl_ms)
        atomic_fetch_sub_explicit(&t->with_ttl, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&t->live, 1, memory_order_release);
}

/* What ending a session does once it is unlinked: its streams end, its
 * waiters wake (a parked wait answers from what it has), and the table's
 * reference goes. */
static void finish(mockapi *m, mk_session *s)
{
    mk_sse_space_end(m->sse, s->sse);
    mk_state_interrupt(&s->state, true);
    mk_state_poke(&s->state);
    mk_session_release(s);
}

int mk_session_create(mockapi *m, const mk_session_opts *o, mk_session **out, char *err,
                      size_t errlen)
{
    mk_session_table *t = &m->sessions;
    *out = NULL;
    if (t->mode == MK_SESSIONS_OFF) {
        snprintf(err, errlen, "sessions are off (-sessions off)");
        return MOCKAPI_ESTATE;
    }
    char id[MK_SESSION_ID_MAX + 1];
    if (o->id) {
        size_t n = strlen(o->id);
        if (!id_ok(o->id, n) || strcmp(o->id, "default") == 0) {
            char shown[84];
            snprintf(err, errlen, "id \"%s\": %s", mk_shown(o->id, n, shown, sizeof shown),
                     strcmp(o->id, "default") == 0 ? "\"default\" is the session every server has"
                                                  : "1 to 64 of A-Z a-z 0-9 _ . - (not \".\" or \"..\")");
            return MOCKAPI_EINVAL;
        }
        memcpy(id, o->id, n + 1);
    }
    if (o->name && strlen(o->name) > MK_SESSION_NAME_MAX) {
        snprintf(err, errlen, "name is longer than %d bytes", MK_SESSION_NAME_MAX);
        return MOCKAPI_EINVAL;
    }
    if (o->ttl_ms > MK_SESSION_MAX_TTL_MS) {
        snprintf(err, errlen, "ttl_ms %u: out of range 0-%d (milliseconds idle; 0: until ended)", o->ttl_ms,
                 MK_SESSION_MAX_TTL_MS);
        return MOCKAPI_EINVAL;
    }
    mk_blob *st = NULL, *hb = NULL;
    int rc;
    if (o->state && (rc = fixture_blob(&gt_StateResponse, "state", o->state, o->state_len, &st, err, errlen)))
        return rc;
    if (o->heartbeat &&
        (rc = fixture_blob(&gt_HeartbeatResponse, "heartbeat", o->heartbeat, o->heartbeat_len, &hb, err, errlen))) {
        mk_blob_unref(st);
        return rc;
    }
    /* an expired one frees its place first: at the cap, now (the
     * rate-limited sweep may not have run since it expired) */
    if (atomic_load(&t->live) >= t->max && atomic_load(&t->with_ttl) > 0)
        sweep_walk(m, mk_mono_ms());
    if (!o->id)
        random_id(id);
    mk_session *s = session_new(m, false, id, st ? st : mk_blob_ref(m->fx.state_default),
                                hb ? hb : mk_blob_ref(m->fx.heartbeat_default));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    for (size_t i = 0; i < m->nflag_faults; i++) /* checked at create: only memory can fail */
        if (mk_faults_flag(&s->state.faults, m->flag_faults[i], err, errlen) != 0) {
            mk_session_release(s);
            return MOCKAPI_ENOMEM;
        }
    if (o->faults && (rc = install_faults(m, s, o->faults, o->faults_len, err, errlen)) != MOCKAPI_OK) {
        mk_session_release(s);
        return rc;
    }
    /* fixtures given at creation are bodies the session keeps, like the
     * ones it PUTs later: they draw on the budget until it ends */
    size_t charge = (st ? st->len : 0) + (hb ? hb->len : 0);
    if (charge) {
        if (!mk_budget_take(&t->budget, charge)) {
            snprintf(err, errlen, "the fixtures given (%zu bytes) would pass -sessions-max-bytes (%zu bytes): "
                                  "end sessions, or raise it", charge, t->budget.max);
            mk_session_release(s);
            return MK_SESSION_EBUDGET;
        }
        s->start_charge = charge;
    }
    if (o->name)
        snprintf(s->name, sizeof s->name, "%s", o->name);
    s->ttl_ms = o->ttl_ms;
    if (o->profile >= 0) {
        s->strict = o->profile == MOCKAPI_PROFILE_STRICT;
        mk_sse_space_set_numeric(s->sse, s->strict);
    }
    pthread_mutex_lock(&t->lock);
    s->state.notify = t->notify;
    s->state.notify_arg = t->notify_arg;
    rc = MOCKAPI_OK;
    if (atomic_load(&t->live) >= t->max) {
        atomic_fetch_add(&t->refused_full, 1);
        snprintf(err, errlen, "%d sessions are live (-max-sessions); end one (DELETE /test/sessions/{id}) "
                              "or wait for a TTL: none is evicted", t->max);
        rc = MOCKAPI_EFULL;
    } else {
        for (mk_session *o2 = t->b_id[hash(id, strlen(id), t->nbuckets)]; o2; o2 = o2->h_id)
            if (strcmp(o2->id, id) == 0) {
                snprintf(err, errlen, "session \"%s\" exists: end it first, or leave \"id\" out for a "
                                      "fresh one", id);
                rc = MOCKAPI_EEXIST;
                break;
            }
    }
    if (rc == MOCKAPI_OK) {
        link_locked(t, mk_session_ref(s));
        atomic_fetch_add(&t->created, 1);
    }
    pthread_mutex_unlock(&t->lock);
    if (rc != MOCKAPI_OK) {
        mk_session_release(s);
        return rc;
    }
    *out = s;
    return MOCKAPI_OK;
}

void mk_session_end(mockapi *m, mk_session *s, bool by_ttl)
{
    mk_session_table *t = &m->sessions;
    if (!s || s->is_default)
        return;
    pthread_mutex_lock(&t->lock);
    bool live = !atomic_exchange(&s->ended, true);
    if (live)
        unlink_locked(t, s);
    pthread_mutex_unlock(&t->lock);
    if (!live)
        return;
    atomic_fetch_add(by_ttl ? &t->ended_ttl : &t->ended_delete, 1);
    finish(m, s);
}

void mk_session_reset(mockapi *m, mk_session *s)
{
    mk_state_reset(&s->state, mk_blob_ref(s->state_start), mk_blob_ref(s->heartbeat_start));
    mk_sse_clear_history(m->sse, s->sse);
    mk_nodes_clear(s->nodes);
    atomic_store(&s->clock_offset_ms, 0);
}

int mk_session_clock_advance(mk_session *s, long long ms)
{
    long long cur = atomic_load(&s->clock_offset_ms);
    do {
        if (ms < 0 || ms > MK_CLOCK_MAX_MS - cur)
            return -1;
    } while (!atomic_compare_exchange_weak(&s->clock_offset_ms, &cur, cur + ms));
    return 0;
}

int64_t mk_session_now_ms(const mk_session *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           atomic_load_explicit(&s->clock_offset_ms, memory_order_relaxed);
}

void mk_sessions_reset_all(mockapi *m)
{
    mk_session_table *t = &m->sessions;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        mk_session *s = mk_session_ref(t->first);
        pthread_mutex_unlock(&t->lock);
        if (!s)
            break;
        mk_session_end(m, s, false);
        mk_session_release(s);
    }
    atomic_store(&t->unsessioned, 0);
    mk_session_reset(m, m->def);
}

void mk_session_touch(mk_session *s, int64_t now_ms)
{
    atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
    if (atomic_load_explicit(&s->last_used_ms, memory_order_relaxed) != now_ms)
        atomic_store_explicit(&s->last_used_ms, now_ms, memory_order_relaxed);
}

void mk_sessions_sweep(mockapi *m, int64_t now_ms)
{
    mk_session_table *t = &m->sessions;
    int64_t due = atomic_load_explicit(&t->next_sweep_ms, memory_order_relaxed);
    if (now_ms < due || atomic_load_explicit(&t->with_ttl, memory_order_relaxed) == 0)
        return; /* the walk holds the lock every lookup needs: only when a TTL can be due */
    if (!atomic_compare_exchange_strong(&t->next_sweep_ms, &due, now_ms + SWEEP_EVERY_MS))
        return; /* another thread sweeps */
    sweep_walk(m, now_ms);
}

/* Ends every session idle past its TTL (mk_sessions_sweep, without the
 * rate limit). */
static void sweep_walk(mockapi *m, int64_t now_ms)
{
    mk_session_table *t = &m->sessions;
    enum { BATCH = 32 };
    for (;;) {
        mk_session *dead[BATCH];
        int n = 0;
        pthread_mutex_lock(&t->lock);
        /* a wait parked on it (or blocked in mockapi_session_wait) is a
         * request still running: the session is not idle; its answer
         * touches the session again. A live page following it keeps it
         * too (someone is looking at it). */
        for (mk_session *s = t->first; s && n < BATCH; s = s->next)
            if (s->ttl_ms && now_ms - atomic_load(&s->last_used_ms) >= (int64_t)s->ttl_ms &&
                atomic_load(&s->state.waiters) == 0 && atomic_load(&s->state.feeds) == 0)
                dead[n++] = mk_session_ref(s);
        pthread_mutex_unlock(&t->lock);
        for (int i = 0; i < n; i++) {
            mk_session_end(m, dead[i], true);
            mk_session_release(dead[i]);
        }
        if (n < BATCH)
            break;
    }
}

void mk_sessions_set_notify(mockapi *m, void (*fn)(void *), void *arg)
{
    mk_session_table *t = &m->sessions;
    pthread_mutex_lock(&t->lock);
    t->notify = fn;
    t->notify_arg = arg;
    for (mk_session *s = m->def; s; s = s == m->def ? t->first : s->next) {
        pthread_mutex_lock(&s->state.jlock); /* notify is read under it */
        s->state.notify = fn;
        s->state.notify_arg = arg;
        pthread_mutex_unlock(&s->state.jlock);
    }
    pthread_mutex_unlock(&t->lock);
}

void mk_sessions_interrupt(mockapi *m, bool on)
{
    mk_session_table *t = &m->sessions;
    pthread_mutex_lock(&t->lock);
    for (mk_session *s = m->def; s; s = s == m->def ? t->first : s->next)
        mk_state_interrupt(&s->state, on);
    pthread_mutex_unlock(&t->lock);
}

static const char *const mode_names[] = {"on", "off", "required"};

static void put_time_ms(mk_buf *b, int64_t ms)
{
    gj_time tm = {.sec = ms / 1000, .nsec = (int32_t)(ms % 1000) * 1000000};
    gj_time_write(b, &tm);
}

/* The members every listing of a session has. */
static void session_members(const mk_session *s, int64_t now, mk_buf *b)
{
    mk_buf_puts(b, "\"id\":");
    gj_write_string(b, s->id, strlen(s->id));
    mk_buf_puts(b, ",\"name\":");
    gj_write_string(b, s->name, strlen(s->name));
    mk_buf_puts(b, ",\"created\":");
    put_time_ms(b, s->created_ms);
    mk_buf_printf(b, ",\"ttl_ms\":%u,\"idle_ms\":%lld,\"requests\":%llu,\"profile\":\"%s\"", s->ttl_ms,
                  (long long)(now - atomic_load(&s->last_used_ms)),
                  (unsigned long long)atomic_load(&s->requests), s->strict ? "strict" : "reference");
}

void mk_session_json(const mk_session *s, mk_buf *b)
{
    mk_buf_putc(b, '{');
    session_members(s, mk_mono_ms(), b);
    mk_buf_puts(b, ",\"prefix\":\"/s/");
    mk_buf_puts(b, s->id);
    mk_buf_puts(b, "\",\"header\":\"X-Mockapi-Session\",\"query\":\"session=");
    mk_buf_puts(b, s->id);
    mk_buf_puts(b, "\",\"node_secret_key\":");
    gj_write_string(b, s->nsk, strlen(s->nsk));
    mk_buf_puts(b, ",\"bearer_token\":");
    gj_write_string(b, s->bearer, strlen(s->bearer));
    mk_buf_puts(b, "}\n");
}

void mk_sessions_list_json(mockapi *m, mk_buf *b)
{
    mk_session_table *t = &m->sessions;
    int64_t now = mk_mono_ms();
    mk_sessions_sweep(m, now);
    pthread_mutex_lock(&t->lock);
    mk_buf_printf(b, "{\"mode\":\"%s\",\"max\":%d,\"live\":%d,\"unsessioned\":%llu,", mode_names[t->mode], t->max,
                  atomic_load(&t->live), (unsigned long long)atomic_load(&t->unsessioned));
    mk_buf_printf(b, "\"created\":%llu,\"ended\":{\"deleted\":%llu,\"ttl\":%llu},\"refused_full\":%llu,",
                  (unsigned long long)atomic_load(&t->created), (unsigned long long)atomic_load(&t->ended_delete),
                  (unsigned long long)atomic_load(&t->ended_ttl), (unsigned long long)atomic_load(&t->refused_full));
    mk_buf_puts(b, "\"sessions\":[");
    for (mk_session *s = m->def; s; s = s == m->def ? t->first : s->next) {
        if (s != m->def)
            mk_buf_putc(b, ',');
        mk_buf_putc(b, '{');
        session_members(s, now, b);
        mk_buf_putc(b, '}');
    }
    pthread_mutex_unlock(&t->lock);
    mk_buf_puts(b, "]}\n");
}
