/* state.h: all per-test state of one server, in one object.
 *
 * Counters, captured bodies and the mutable fixtures (state, heartbeat) live
 * here and nowhere else, so that later a session id can select one such
 * object per test without touching the request path.
 *
 * Protection:
 *  - counters[]: C11 atomics (sequentially consistent increments, so a
 *    waiter that announced itself cannot miss a move; see `waiters`).
 *  - captures[], state_body, heartbeat_body: `lock`. Values are immutable
 *    refcounted blobs: writers build a blob outside the lock and swap the
 *    pointer inside it; readers take a reference inside and use it outside,
 *    so no lock is ever held across I/O and no reader sees a half-written
 *    fixture.
 *  - journal, changed: `jlock`, a lock of its own so that appending (every
 *    request) does not contend with fixture reads. `changed` is broadcast
 *    under `jlock` when a counter moves or the journal grows, for waiters (a
 *    server-side long poll) that must not poll. Only when `waiters` > 0,
 *    though: a waiter increments it (seq_cst) before checking its condition
 *    under `jlock`, so a change it could miss always sees it and broadcasts.
 *  Both locks are adaptive (spin briefly before sleeping): critical sections
 *  are a few pointer moves, and a sleeping waiter costs two context switches
 *  on a machine where the event loop already has one thread per CPU. */
#ifndef MK_STATE_H
#define MK_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "journal.h"
#include "mockapi.h"
#include "router.h"

typedef struct mk_blob {
    atomic_int refs;
    /* Connections writing this blob now (the transport's count): the blob
     * counts once toward the bound on buffered output while any writes it,
     * however many do (mockapi_config.max_buffered_bytes). */
    atomic_int writers;
    size_t len;
    char data[]; /* len bytes, then a NUL */
} mk_blob;

mk_blob *mk_blob_new(const void *p, size_t n); /* refs = 1; NULL on OOM */
mk_blob *mk_blob_ref(mk_blob *b);
void mk_blob_unref(mk_blob *b); /* NULL ok */

typedef struct mk_state {
    atomic_int_fast64_t counters[MOCKAPI_COUNTER_COUNT];
    pthread_mutex_t lock;
    pthread_mutex_t jlock;
    pthread_cond_t changed;
    atomic_int waiters;
    bool interrupted; /* under jlock: waits return at once (the server is stopping) */
    /* Called under jlock whenever waiters are woken: how waiters that hold
     * no thread (the transport's parked /test/wait requests) learn of a
     * change. Set while the transport runs; they count themselves in
     * `waiters` like a blocking waiter does. */
    void (*notify)(void *arg);
    void *notify_arg;
    mk_blob *captures[MK_CAP_COUNT]; /* NULL: nothing captured */
    mk_blob *state_body;             /* GET state response body, with "\n" */
    mk_blob *heartbeat_body;         /* heartbeat response body, with "\n" */
    mk_journal journal;              /* every request, bounded */
} mk_state;

/* Takes ownership of both blobs (even on failure). Returns 0 or -1. */
int mk_state_init(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body,
                  size_t journal_entries, size_t journal_bytes);
void mk_state_dispose(mk_state *s);

void mk_state_count(mk_state *s, int counter);
int64_t mk_state_counter(const mk_state *s, int counter);

/* Replaces the capture for key with a copy of body. Returns 0 or -1 (OOM). */
int mk_state_capture(mk_state *s, mk_capture key, const void *body, size_t n);
/* A reference to the last capture (unref it), or NULL. */
mk_blob *mk_state_last(mk_state *s, mk_capture key);

/* Swap in a new fixture body (ownership taken); a reference to the current one. */
void mk_state_set_state(mk_state *s, mk_blob *body);
mk_blob *mk_state_get_state(mk_state *s);
void mk_state_set_heartbeat(mk_state *s, mk_blob *body);
mk_blob *mk_state_get_heartbeat(mk_state *s);

/* Appends a journal entry (ownership taken) and wakes waiters. */
void mk_state_journal_append(mk_state *s, mk_jentry *e);

/* Renders GET /test/requests for filter f into out. */
void mk_state_journal_query(mk_state *s, const mk_jfilter *f, mk_buf *out);
/* The entries matching f, oldest first, as references taken under the
 * lock (*out: a malloc'd array of *n; unref each, free the array), and the
 * listing's closing fields ('],"next_seq":…}\n') appended to tail, so the
 * caller renders outside the lock and at its own pace. 0, or -1 when
 * memory is short (nothing taken then). */
int mk_state_journal_collect(mk_state *s, const mk_jfilter *f, mk_jentry ***out, size_t *n,
                             mk_buf *tail);

/* A condition for mk_state_wait, evaluated under `jlock`: returns
 * whether it holds and stores the value it compared in *value. */
typedef bool (*mk_state_pred)(mk_state *s, void *arg, int64_t *value);
/* Waits, without polling, until pred holds or timeout_ms pass. Returns
 * whether it held; *value is the last value compared, *waited_ms the time. */
/* Sets or clears `interrupted` and wakes every waiter: stop must not wait
 * out a long poll. */
void mk_state_interrupt(mk_state *s, bool on);
bool mk_state_wait(mk_state *s, mk_state_pred pred, void *arg, unsigned timeout_ms, int64_t *value,
                   int64_t *waited_ms);
/* Evaluates pred once under `jlock` (for a waiter that holds no thread). */
bool mk_state_check(mk_state *s, mk_state_pred pred, void *arg, int64_t *value);
/* The number of journal entries matching f (call only from a predicate). */
int64_t mk_state_journal_count_locked(mk_state *s, const mk_jfilter *f);

/* Back to the start: counters 0, no captures, empty journal (seq from 1,
 * evictions 0), the given fixtures (ownership taken). */
void mk_state_reset(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body);

#endif
