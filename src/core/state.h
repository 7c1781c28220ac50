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
 *    under `jlock` (and `changes` moved) when a counter moves or the journal
 *    grows, for waiters (a server-side long poll) that must not poll. Only
 *    when `waiters` > 0, though: a waiter increments it (seq_cst) before it
 *    reads `changes` and checks its condition, so a change it could miss
 *    always sees it and moves `changes`. Conditions are evaluated with no
 *    lock held: under `jlock` readers only take entry references. 
 *  Both locks are adaptive (spin briefly before sleeping): critical sections
 *  are a few pointer moves, and a sleeping waiter costs two context switches
 *  on a machine where the event loop already has one thread per CPU. */
#ifndef MK_STATE_H
#define MK_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "budget.h"
#include "faults.h"
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
    uint64_t changes; /* under jlock: moves on every wake-up of waiters (the change stamp) */
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
    /* The budget the bodies it keeps draw on (NULL: none, default's case):
     * captures and the fixtures PUT over them; what each slot holds is
     * charged in charge[] (captures, then state, then heartbeat). Under
     * `lock`. */
    mk_budget *budget;
    size_t charge[MK_CAP_COUNT + 2];
    mk_faults faults;                /* fault rules and their counts (faults.h; its own lock) */
} mk_state;

/* Takes ownership of both blobs (even on failure). Returns 0 or -1. */
int mk_state_init(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body,
                  size_t journal_entries, size_t journal_bytes);
void mk_state_dispose(mk_state *s);

void mk_state_count(mk_state *s, int counter);
int64_t mk_state_counter(const mk_state *s, int counter);

/* Replaces the capture for key with a copy of body. Returns 0, -1 (OOM)
 * or -2 (over the budget: nothing changed). */
int mk_state_capture(mk_state *s, mk_capture key, const void *body, size_t n);
/* A reference to the last capture (unref it), or NULL. */
mk_blob *mk_state_last(mk_state *s, mk_capture key);

/* Swap in a new fixture body (ownership taken, even on failure): 0, or
 * -2 over the budget (nothing changed). A reference to the current one. */
int mk_state_set_state(mk_state *s, mk_blob *body);
mk_blob *mk_state_get_state(mk_state *s);
int mk_state_set_heartbeat(mk_state *s, mk_blob *body);
mk_blob *mk_state_get_heartbeat(mk_state *s);

/* Appends a journal entry (ownership taken) and wakes waiters. */
void mk_state_journal_append(mk_state *s, mk_jentry *e);

/* The entries a GET /test/requests answer lists: references, oldest first,
 * with the journal's figures taken at the same moment. */
typedef struct mk_jselect {
    mk_jentry **e; /* n references; release with mk_jselect_release */
    size_t n;
    mk_jstats st;
} mk_jselect;

/* Selects the entries matching f (at most f->limit). Under `jlock` it only
 * takes references to the entries after f->since (refcount increments,
 * the array allocated outside the lock); the matching runs after the lock
 * is released, so a slow filter never stops a request from appending.
 * Returns 0, or -1 out of memory (sel then empty). */
int mk_state_journal_select(mk_state *s, const mk_jfilter *f, mk_jselect *sel);
/* References to at most max entries with seq > after, oldest first, into
 * out (the caller's array), and the journal's figures at that moment;
 * returns how many. One lock, refcount increments only: the live page's
 * feed reads the journal in pieces with it. */
size_t mk_state_journal_next(mk_state *s, uint64_t after, mk_jentry **out, size_t max, mk_jstats *st);
/* Drops the references and the array; sel is then empty. */
void mk_jselect_release(mk_jselect *sel);
/* Renders GET /test/requests for filter f into out (select, then render;
 * out->err set on out of memory). */
void mk_state_journal_query(mk_state *s, const mk_jfilter *f, mk_buf *out);
/* Counts the entries matching f that arrived since p's previous call (on
 * the first, every entry in the journal) into p->count, reading only those
 * new entries, outside the lock as above. After a reset the count starts
 * over. Returns 0, or -1 out of memory (p unchanged, to be tried again). */
int mk_state_journal_count(mk_state *s, const mk_jfilter *f, mk_jprogress *p);
/* The same for n filters at once, each with its own progress, over one read
 * of the new entries (one lock, one reference per entry): how the parked
 * waits of a loop thread are checked together. */
int mk_state_journal_count_many(mk_state *s, const mk_jfilter *const *f, mk_jprogress *const *p,
                                 size_t n);

/* Waiting without polling. A waiter counts itself in (waiter_begin) before
 * its first check, reads the change stamp, checks its condition (with no
 * lock held), and if not met sleeps until the stamp moves:
 *   mk_state_waiter_begin(s);
 *   for (;;) { seen = mk_state_changes(s); if (check()) break;
 *              if (!mk_state_wait_change(s, seen, &deadline)) { check(); break; } }
 *   mk_state_waiter_end(s);
 * A change after `seen` was read moves the stamp (waiters > 0), so none is
 * missed. */
void mk_state_waiter_begin(mk_state *s);
void mk_state_waiter_end(mk_state *s);
uint64_t mk_state_changes(mk_state *s);
/* Sleeps until the stamp differs from seen (true), or the deadline passes
 * or the state is interrupted (false). */
bool mk_state_wait_change(mk_state *s, uint64_t seen, const struct timespec *deadline);
/* Moves the change stamp and wakes every waiter, blocking or parked (the
 * session ended: its waits answer now). */
void mk_state_poke(mk_state *s);
/* Sets or clears `interrupted` and wakes every waiter: stop must not wait
 * out a long poll. */
void mk_state_interrupt(mk_state *s, bool on);

/* Back to the start: counters 0, no captures, empty journal (seq from 1,
 * evictions 0), no fault rules but the flag's (mk_faults_reset), the given
 * fixtures (ownership taken). */
void mk_state_reset(mk_state *s, mk_blob *state_body, mk_blob *heartbeat_body);

#endif
