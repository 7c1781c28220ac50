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
    if (mk_faults_init(&s->faults) != 0) {
        pthread_cond_destroy(&s->changed);
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

/* Gives back what every slot was charged; under lock. */
static void uncharge_locked(mk_state *s)
{
    for (int k = 0; k < MK_CAP_COUNT + 2; k++) {
        if (s->budget && s->charge[k])
            mk_budget_give(s->budget, s->charge[k]);
        s->charge[k] = 0;
    }
}

void mk_state_dispose(mk_state *s)
{
    uncharge_locked(s); /* nobody else holds s by now */
    mk_jentry *dead = NULL;
    mk_journal_clear(&s->journal, &dead);
    mk_jentry_release_list(dead);
    for (int i = 0; i < MK_CAP_COUNT; i++)
        mk_blob_unref(s->captures[i]);
    mk_blob_unref(s->state_body);
    mk_blob_unref(s->heartbeat_body);
    mk_faults_dispose(&s->faults);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->jlock);
    pthread_mutex_destroy(&s->lock);
    memset(s, 0, sizeof *s);
}

/* Wakes waiters; call with jlock held. */
static void changed_locked(mk_state *s)
{
    s->changes++;
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

/* Puts b in slot k (its charge charge[k]) if the budget lets it: 0, or
 * -2 (b released, nothing changed). */
static int put_charged(mk_state *s, int k, mk_blob **slot, mk_blob *b)
{
    pthread_mutex_lock(&s->lock);
    size_t had = s->charge[k], want = b->len;
    if (s->budget) {
        if (want > had && !mk_budget_take(s->budget, want - had)) {
            pthread_mutex_unlock(&s->lock);
            mk_blob_unref(b);
            return -2;
        }
        if (had > want)
            mk_budget_give(s->budget, had - want);
        s->charge[k] = want;
    }
    mk_blob *old = *slot;
    *slot = b;
    pthread_mutex_unlock(&s->lock);
    mk_blob_unref(old);
    return 0;
}

int mk_state_capture(mk_state *s, mk_capture key, const void *body, size_t n)
{
    if (key < 0 || key >= MK_CAP_COUNT)
        return -1;
    mk_blob *b = mk_blob_new(body, n); /* built outside the lock */
    if (!b)
        return -1;
    return put_charged(s, key, &s->captures[key], b);
}

static mk_blob *get_locked(mk_state *s, mk_blob **slot)
{
    pthread_mutex_lock(&s->lock);
    mk_blob *b = mk_blob_ref(*slot);
    pthread_mutex_unlock(&s->lock);
    return b;
}

mk_blob *mk_state_last(mk_state *s, mk_capture key)
{
    if (key < 0 || key >= MK_CAP_COUNT)
        return NULL;
    return get_locked(s, &s->captures[key]);
}

int mk_state_set_state(mk_state *s, mk_blob *body) { return put_charged(s, MK_CAP_COUNT, &s->state_body, body); }
mk_blob *mk_state_get_state(mk_state *s) { return get_locked(s, &s->state_body); }
int mk_state_set_heartbeat(mk_state *s, mk_blob *body)
{
    return put_charged(s, MK_CAP_COUNT + 1, &s->heartbeat_body, body);
}
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

/* First ring index with seq > after (the ring is in seq order). */
static size_t first_after(const mk_journal *j, uint64_t after)
{
    size_t lo = 0, hi = j->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mk_journal_at(j, mid)->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* References to the entries with seq > after, oldest first, into *out (n of
 * them; free() the array). With epoch non-NULL: when the journal's epoch is
 * not *epoch (it was cleared since), every entry, and *epoch updated. Under
 * the lock only pointer copies and refcount increments happen; the array is
 * sized outside it (again, if the journal grew in between). */
static int collect(mk_state *s, uint64_t after, uint64_t *epoch, mk_jentry ***out, size_t *n,
                   mk_jstats *st)
{
    mk_jentry **arr = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&s->jlock);
        mk_journal *j = &s->journal;
        uint64_t from = after;
        if (epoch && *epoch != j->epoch)
            from = 0;
        size_t start = first_after(j, from), need = j->len - start;
        if (need <= cap) {
            for (size_t i = 0; i < need; i++)
                arr[i] = mk_jentry_ref(mk_journal_at(j, start + i));
            st->next_seq = j->next_seq;
            st->oldest_seq = j->len ? mk_journal_at(j, 0)->seq : j->next_seq;
            st->evicted = j->evicted;
            st->evicted_bytes = j->evicted_bytes;
            st->epoch = j->epoch;
            st->max_entries = j->max_entries;
            st->max_bytes = j->max_bytes;
            if (epoch)
                *epoch = j->epoch;
            pthread_mutex_unlock(&s->jlock);
            *out = arr;
            *n = need;
            return 0;
        }
        pthread_mutex_unlock(&s->jlock);
        free(arr);
        cap = need + need / 8 + 16; /* room for what arrives meanwhile */
        arr = malloc(cap * sizeof *arr);
        if (!arr)
            return -1;
    }
}

size_t mk_state_journal_next(mk_state *s, uint64_t after, mk_jentry **out, size_t max, mk_jstats *st)
{
    pthread_mutex_lock(&s->jlock);
    mk_journal *j = &s->journal;
    size_t start = first_after(j, after), n = j->len - start;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = mk_jentry_ref(mk_journal_at(j, start + i));
    memset(st, 0, sizeof *st);
    st->next_seq = j->next_seq;
    st->oldest_seq = j->len ? mk_journal_at(j, 0)->seq : j->next_seq;
    st->evicted = j->evicted;
    st->epoch = j->epoch;
    pthread_mutex_unlock(&s->jlock);
    return n;
}

int mk_state_journal_select(mk_state *s, const mk_jfilter *f, mk_jselect *sel)
{
    memset(sel, 0, sizeof *sel);
    mk_jentry **all;
    size_t n;
    if (collect(s, f->since, NULL, &all, &n, &sel->st) != 0)
        return -1;
    size_t k = 0;
    if (f->last) {
        /* the newest `limit`: matched from the newest back, into the end
         * of the array, then moved to its front (still oldest first) */
        size_t at = n;
        for (size_t i = n; i-- > 0;) {
            if (n - at < f->limit && mk_jfilter_match(f, all[i]))
                all[--at] = all[i];
            else
                mk_jentry_unref(all[i]);
        }
        k = n - at;
        if (k && at)
            memmove(all, all + at, k * sizeof *all);
    } else {
        /* matched in place: hits move to the front, the rest are dropped */
        for (size_t i = 0; i < n; i++) {
            if (k < f->limit && mk_jfilter_match(f, all[i]))
                all[k++] = all[i];
            else
                mk_jentry_unref(all[i]);
        }
    }
    sel->e = all;
    sel->n = k;
    return 0;
}

void mk_jselect_release(mk_jselect *sel)
{
    for (size_t i = 0; i < sel->n; i++)
        mk_jentry_unref(sel->e[i]);
    free(sel->e);
    sel->e = NULL;
    sel->n = 0;
}

void mk_state_journal_query(mk_state *s, const mk_jfilter *f, mk_buf *out)
{
    mk_jselect sel;
    if (mk_state_journal_select(s, f, &sel) != 0) {
        out->err = MK_BUF_ENOMEM;
        return;
    }
    mk_jresult_open(out);
    for (size_t i = 0; i < sel.n; i++) {
        if (i)
            mk_buf_putc(out, ',');
        mk_jentry_json(sel.e[i], out);
    }
    mk_jresult_close(&sel.st, out);
    mk_jselect_release(&sel);
}

int mk_state_journal_count_many(mk_state *s, const mk_jfilter *const *f, mk_jprogress *const *p,
                                 size_t n)
{
    if (n == 0)
        return 0;
    /* one read for all: from the oldest progress among them, or from the
     * start when they disagree on the epoch (one began before a reset) */
    uint64_t after = p[0]->last_seq, epoch = p[0]->epoch;
    for (size_t i = 1; i < n; i++) {
        if (p[i]->epoch != epoch)
            after = 0;
        if (p[i]->last_seq < after)
            after = p[i]->last_seq;
    }
    mk_jentry **fresh;
    size_t k;
    mk_jstats st;
    if (collect(s, after, &epoch, &fresh, &k, &st) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i]->epoch != epoch) { /* cleared since its last check: start over */
            p[i]->epoch = epoch;
            p[i]->count = 0;
            p[i]->last_seq = 0;
        }
        for (size_t e = 0; e < k; e++)
            if (fresh[e]->seq > p[i]->last_seq && mk_jfilter_match(f[i], fresh[e]))
                p[i]->count++;
        p[i]->last_seq = st.next_seq - 1;
    }
    for (size_t e = 0; e < k; e++)
        mk_jentry_unref(fresh[e]);
    free(fresh);
    return 0;
}

int mk_state_journal_count(mk_state *s, const mk_jfilter *f, mk_jprogress *p)
{
    return mk_state_journal_count_many(s, &f, &p, 1);
}

void mk_state_waiter_begin(mk_state *s)
{
    atomic_fetch_add(&s->waiters, 1); /* seq_cst: before the stamp is read (state.h) */
}

void mk_state_waiter_end(mk_state *s)
{
    atomic_fetch_sub(&s->waiters, 1);
}

uint64_t mk_state_changes(mk_state *s)
{
    pthread_mutex_lock(&s->jlock);
    uint64_t c = s->changes;
    pthread_mutex_unlock(&s->jlock);
    return c;
}

bool mk_state_wait_change(mk_state *s, uint64_t seen, const struct timespec *deadline)
{
    bool changed = false;
    pthread_mutex_lock(&s->jlock);
    while (!(changed = s->changes != seen) && !s->interrupted)
        if (pthread_cond_timedwait(&s->changed, &s->jlock, deadline) != 0)
            break;
    pthread_mutex_unlock(&s->jlock);
    return changed;
}

void mk_state_poke(mk_state *s)
{
    pthread_mutex_lock(&s->jlock);
    changed_locked(s);
    pthread_mutex_unlock(&s->jlock);
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
    uncharge_locked(s); /* the start fixtures are the session's own, uncharged */
    pthread_mutex_unlock(&s->lock);
    mk_faults_reset(&s->faults);
    pthread_mutex_lock(&s->jlock);
    mk_journal_clear(&s->journal, &dead);
    changed_locked(s);
    pthread_mutex_unlock(&s->jlock);
    for (int i = 0; i < MK_CAP_COUNT + 2; i++)
        mk_blob_unref(old[i]);
    mk_jentry_release_list(dead);
}
