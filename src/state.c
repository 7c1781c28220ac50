/* state.c: the per-test state object; see state.h for what guards what. */
#include "state.h"

#include <stdlib.h>
#include <string.h>

mk_blob *mk_blob_new(const void *p, size_t n)
{
    mk_blob *b = malloc(sizeof *b + n + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
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

int mk_state_init(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
        atomic_init(&s->counters[i], 0);
    atomic_init(&s->waiters, 0);
    s->state_body = state_body;
    s->heartbeat_body = heartbeat_body;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&s->changed, NULL) != 0) {
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
    for (int i = 0; i < MK_CAP_COUNT; i++)
        mk_blob_unref(s->captures[i]);
    mk_blob_unref(s->state_body);
    mk_blob_unref(s->heartbeat_body);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    memset(s, 0, sizeof *s);
}

static void changed_locked(mk_state *s)
{
    s->version++;
    pthread_cond_broadcast(&s->changed);
}

void mk_state_count(mk_state *s, int counter)
{
    if (counter < 0 || counter >= MOCKAPI_COUNTER_COUNT)
        return;
    atomic_fetch_add(&s->counters[counter], 1); /* seq_cst: ordered before the waiters load */
    if (atomic_load(&s->waiters) > 0) {
        pthread_mutex_lock(&s->lock);
        changed_locked(s);
        pthread_mutex_unlock(&s->lock);
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
    changed_locked(s);
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
    changed_locked(s);
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
