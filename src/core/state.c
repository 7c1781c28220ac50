/* state.c: the per-test state object; see state.h for what guards what. */
#include "state.h"

#include "clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

mk_blob *mk_blob_new(const void *p, size_t n)
{
    mk_blob *b = malloc(sizeof *b + n + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    atomic_init(&b->writers, 0);
    b->len = n;
    if (n)
        memcpy(b->data, p, n);
    b->data[n] = '\0';
    return b;
}

mk_blob *mk_blob_ref(mk_blob *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void mk_blob_unref(mk_blob *b)
{
    /* acq_rel: the last owner must see every write made through the others */
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

int mk_state_init(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body,
                  size_t journal_entries, size_t journal_bytes)
{
    memset(s, 0, sizeof *s);
    mk_journal_init(&s->journal, journal_entries, journal_bytes);
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
        atomic_init(&s->counters[i], 0);
    atomic_init(&s->waiters, 0);
    s->state_body = state_body;
    s->heartbeat_body = heartbeat_body;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    if (pthread_mutex_init(&s->lock, &ma) != 0) {
        pthread_mutexattr_destroy(&ma);
        goto fail;
    }
    if (pthread_mutex_init(&s->jlock, &ma) != 0) {
        pthread_mutexattr_destroy(&ma);
        pthread_mutex_destroy(&s->lock);
        goto fail;
    }
    pthread_mutexattr_destroy(&ma);
    if (pthread_cond_init(&s->changed, NULL) != 0) {
        pthread_mutex_destroy(&s->jlock);
        pthread_mutex_destroy(&s->lock);
        goto fail;
    }
    return 0;
fail:
    mk_blob_unref(state_body);
    mk_blob_unref(heartbeat_body);
    s->state_body = s->heartbeat_body = NULL;
    return -1;
}

void mk_state_dispose(mk_state *s)
{
    mk_jentry *dead = NULL;
    mk_journal_clear(&s->journal, &dead);
    mk_jentry_release_list(dead);
    for (int i = 0; i < MK_CAP_COUNT; i++)
        mk_blob_unref(s->captures[i]);
    mk_blob_unref(s->state_body);
    mk_blob_unref(s->heartbeat_body);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->jlock);
    pthread_mutex_destroy(&s->lock);
    memset(s, 0, sizeof *s);
}

/* Wakes waiters; call with jlock held. */
static void changed_locked(mk_state *s)
{
    pthread_cond_broadcast(&s->changed);
    if (s->notify)
        s->notify(s->notify_arg);
}

void mk_state_count(mk_state *s, int counter)
{
    if (counter < 0 || counter >= MOCKAPI_COUNTER_COUNT)
        return;
    atomic_fetch_add(&s->counters[counter], 1); /* seq_cst: ordered before the waiters load */
    if (atomic_load(&s->waiters) > 0) {
        pthread_mutex_lock(&s->jlock);
        changed_locked(s);
        pthread_mutex_unlock(&s->jlock);
    }
}

int64_t mk_state_counter(const mk_state *s, int counter)
{
    if (counter < 0 || counter >= MOCKAPI_COUNTER_COUNT)
        return 0;
    return atomic_load_explicit(&((mk_state *)s)->counters[counter], memory_order_relaxed);
}

int mk_state_capture(mk_state *s, mk_capture key, const void *body, size_t n)
{
    if (key < 0 || key >= MK_CAP_COUNT)
        return -1;
    mk_blob *b = mk_blob_new(body, n); /* built outside the lock */
    if (!b)
        return -1;
    pthread_mutex_lock(&s->lock);
    mk_blob *old = s->captures[key];
    s->captures[key] = b;
    pthread_mutex_unlock(&s->lock);
    mk_blob_unref(old);
    return 0;
}

static mk_blob *get_locked(mk_state *s, mk_blob **slot)
{
    pthread_mutex_lock(&s->lock);
    mk_blob *b = mk_blob_ref(*slot);
    pthread_mutex_unlock(&s->lock);
    return b;
}

static void set_locked(mk_state *s, mk_blob **slot, mk_blob *b)
{
    pthread_mutex_lock(&s->lock);
    mk_blob *old = *slot;
    *slot = b;
    pthread_mutex_unlock(&s->lock);
    mk_blob_unref(old);
}

mk_blob *mk_state_last(mk_state *s, mk_capture key)
{
    if (key < 0 || key >= MK_CAP_COUNT)
        return NULL;
    return get_locked(s, &s->captures[key]);
}

void mk_state_set_state(mk_state *s, mk_blob *body) { set_locked(s, &s->state_body, body); }
mk_blob *mk_state_get_state(mk_state *s) { return get_locked(s, &s->state_body); }
void mk_state_set_heartbeat(mk_state *s, mk_blob *body) { set_locked(s, &s->heartbeat_body, body); }
mk_blob *mk_state_get_heartbeat(mk_state *s) { return get_locked(s, &s->heartbeat_body); }

/* ---- journal, waiting, reset -------------------------------------------- */

void mk_state_journal_append(mk_state *s, mk_jentry *e)
{
    mk_jentry *dead = NULL;
    pthread_mutex_lock(&s->jlock);
    mk_journal_append(&s->journal, e, &dead);
    if (atomic_load(&s->waiters) > 0)
        changed_locked(s);
    pthread_mutex_unlock(&s->jlock);
    mk_jentry_release_list(dead); /* freed outside the lock */
}

int mk_state_journal_collect(mk_state *s, const mk_jfilter *f, mk_jentry ***out, size_t *n,
                             mk_buf *tail)
{
    mk_jentry **hits = NULL;
    size_t nh = 0, cap = 0;
    uint64_t next_seq, oldest, evicted, evicted_bytes;
    size_t max_entries, max_bytes;
    int rc = 0;
    pthread_mutex_lock(&s->jlock);
    mk_journal *j = &s->journal;
    for (size_t i = 0; i < j->len && nh < f->limit; i++) {
        mk_jentry *e = mk_journal_at(j, i);
        if (!mk_jfilter_match(f, e))
            continue;
        if (nh == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            mk_jentry **p = realloc(hits, ncap * sizeof *p);
            if (!p) {
                rc = -1;
                break;
            }
            hits = p;
            cap = ncap;
        }
        hits[nh++] = mk_jentry_ref(e);
    }
    next_seq = j->next_seq;
    oldest = j->len ? mk_journal_at(j, 0)->seq : j->next_seq;
    evicted = j->evicted;
    evicted_bytes = j->evicted_bytes;
    max_entries = j->max_entries;
    max_bytes = j->max_bytes;
    pthread_mutex_unlock(&s->jlock);

    mk_buf_printf(tail,
                  "],\"next_seq\":%llu,\"oldest_seq\":%llu,\"evicted\":%llu,\"evicted_bytes\":%llu,"
                  "\"max_entries\":%zu,\"max_bytes\":%zu}\n",
                  (unsigned long long)next_seq, (unsigned long long)oldest,
                  (unsigned long long)evicted, (unsigned long long)evicted_bytes, max_entries,
                  max_bytes);
    if (rc != 0 || tail->err) {
        for (size_t i = 0; i < nh; i++)
            mk_jentry_unref(hits[i]);
        free(hits);
        return -1;
    }
    *out = hits;
    *n = nh;
    return 0;
}

void mk_state_journal_query(mk_state *s, const mk_jfilter *f, mk_buf *out)
{
    mk_jentry **hits = NULL;
    size_t nh = 0;
    mk_buf tail;
    mk_buf_init(&tail, 0);
    if (mk_state_journal_collect(s, f, &hits, &nh, &tail) != 0) {
        out->err = MK_BUF_ENOMEM;
        mk_buf_free(&tail);
        return;
    }
    /* rendering happens outside the lock, on references */
    mk_buf_puts(out, "{\"entries\":[");
    for (size_t i = 0; i < nh; i++) {
        if (i)
            mk_buf_putc(out, ',');
        mk_jentry_json(hits[i], out);
        mk_jentry_unref(hits[i]);
    }
    free(hits);
    mk_buf_append(out, tail.data, tail.len);
    mk_buf_free(&tail);
}

int64_t mk_state_journal_count_locked(mk_state *s, const mk_jfilter *f)
{
    int64_t n = 0;
    for (size_t i = 0; i < s->journal.len; i++)
        if (mk_jfilter_match(f, mk_journal_at(&s->journal, i)))
            n++;
    return n;
}

bool mk_state_wait(mk_state *s, mk_state_pred pred, void *arg, unsigned timeout_ms, int64_t *value,
                   int64_t *waited_ms)
{
    int64_t start = mk_mono_ms();
    struct timespec dl = mk_deadline(timeout_ms);
    /* Announce the waiter before the first check: a counter bump after the
     * check then sees waiters > 0 and broadcasts under the lock (state.h). */
    atomic_fetch_add(&s->waiters, 1);
    pthread_mutex_lock(&s->jlock);
    bool met;
    while (!(met = pred(s, arg, value)) && !s->interrupted)
        if (pthread_cond_timedwait(&s->changed, &s->jlock, &dl) != 0)
            break;
    if (!met)
        met = pred(s, arg, value);
    pthread_mutex_unlock(&s->jlock);
    atomic_fetch_sub(&s->waiters, 1);
    if (waited_ms)
        *waited_ms = mk_mono_ms() - start;
    return met;
}

bool mk_state_check(mk_state *s, mk_state_pred pred, void *arg, int64_t *value)
{
    pthread_mutex_lock(&s->jlock);
    bool met = pred(s, arg, value);
    pthread_mutex_unlock(&s->jlock);
    return met;
}

void mk_state_interrupt(mk_state *s, bool on)
{
    pthread_mutex_lock(&s->jlock);
    s->interrupted = on;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->jlock);
}

void mk_state_reset(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body)
{
    mk_blob *old[MK_CAP_COUNT + 2];
    mk_jentry *dead = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
        atomic_store(&s->counters[i], 0);
    for (int i = 0; i < MK_CAP_COUNT; i++) {
        old[i] = s->captures[i];
        s->captures[i] = NULL;
    }
    old[MK_CAP_COUNT] = s->state_body;
    old[MK_CAP_COUNT + 1] = s->heartbeat_body;
    s->state_body = state_body;
    s->heartbeat_body = heartbeat_body;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&s->jlock);
    mk_journal_clear(&s->journal, &dead);
    changed_locked(s);
    pthread_mutex_unlock(&s->jlock);
    for (int i = 0; i < MK_CAP_COUNT + 2; i++)
        mk_blob_unref(old[i]);
    mk_jentry_release_list(dead);
}
