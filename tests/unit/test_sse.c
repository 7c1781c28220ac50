/* test_sse.c: the event hub's spaces (core/sse.c, issue 15): two spaces in
 * one hub. A publish reaches its space's streams only; history, replay,
 * totals, disconnects, faults and waits are per space; the cap is the
 * hub's; mk_sse_space_end ends its space's streams only; a stream keeps
 * its space alive after every other reference is gone (ASan and LSan in
 * build/debug tell a reference too few or too many); numbering needs no
 * hub. Streams are socketpairs: the hub only needs a stream socket. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "fault.h"
#include "sse.h"

enum { DEADLINE_MS = 10000 };

static const char HEAD[] = "HTTP/1.1 200 OK\r\n\r\n";

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The client's end of a stream and what it read so far. */
typedef struct reader {
    int fd;
    char buf[16384];
    size_t len;
    bool eof;
} reader;

/* Reads until needle is in what was read (true), or EOF or the deadline
 * (false). needle NULL: until EOF (true at EOF). */
static bool read_until(reader *r, const char *needle, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    for (;;) {
        if (needle && strstr(r->buf, needle))
            return true;
        if (r->eof)
            return needle == NULL;
        int64_t left = end - mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (r->len + 1 >= sizeof r->buf)
            fail_msg("reader: buffer full");
        ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            r->eof = true;
        } else if (n > 0) {
            r->len += (size_t)n;
            r->buf[r->len] = '\0';
        }
    }
}

/* Attaches a stream of node to sp; its client end in *r. */
static void attach(mk_sse_hub *h, mk_sse_space *sp, reader *r, const char *node, const char *last_id,
                   const mk_fault *f)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    memset(r, 0, sizeof *r);
    r->fd = sv[0];
    mk_sse_attach(h, sp, MK_TOPIC_NODE, sv[1], HEAD, sizeof HEAD - 1, last_id, node, "test", f, NULL);
}

static void reader_close(reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

static int publish(mk_sse_hub *h, mk_sse_space *sp, const char *node, const char *id, const char *data)
{
    char frame[256];
    int n = snprintf(frame, sizeof frame, "id: %s\nevent: t\ndata: %s\n\n", id, data);
    return mk_sse_publish(h, sp, MK_TOPIC_NODE, node, id, strlen(id), frame, (size_t)n);
}

/* sp's status, as a malloc'd string (free it). */
static char *status(mk_sse_hub *h, mk_sse_space *sp)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_sse_status(h, sp, &b);
    assert_false(b.err);
    char *s = strndup(b.data ? b.data : "", b.len);
    mk_buf_free(&b);
    assert_non_null(s);
    return s;
}

#define assert_has(hay, needle)                                                                   \
    do {                                                                                          \
        if (!strstr((hay), (needle)))                                                             \
            fail_msg("%s: no %s in: %s", #hay, (needle), (hay));                                  \
    } while (0)
#define assert_has_not(hay, needle)                                                               \
    do {                                                                                          \
        if (strstr((hay), (needle)))                                                              \
            fail_msg("%s: %s in: %s", #hay, (needle), (hay));                                     \
    } while (0)

static mk_sse_hub *start(unsigned max_clients)
{
    mk_sse_config cfg = {.keepalive_ms = 60000, .queue_max = 16, .history = 8,
                         .max_clients = max_clients, .stall_ms = 0};
    mk_sse_hub *h = NULL;
    char err[256];
    if (mk_sse_start(&h, &cfg, err, sizeof err) != 0)
        fail_msg("mk_sse_start: %s", err);
    return h;
}

/* Waits until sp has n streams (they leave on the hub thread). */
static void wait_count(mk_sse_hub *h, mk_sse_space *sp, int n)
{
    int64_t end = mono_ms() + DEADLINE_MS;
    while (mk_sse_count(h, sp, -1) != n) {
        if (mono_ms() > end)
            fail_msg("still %d streams, want %d", mk_sse_count(h, sp, -1), n);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL); /* polling a condition, with a deadline */
    }
}

/* Waits until sp's status holds needle (the hub accounts for what it
 * wrote after the client may have read it). */
static void wait_status(mk_sse_hub *h, mk_sse_space *sp, const char *needle)
{
    int64_t end = mono_ms() + DEADLINE_MS;
    for (;;) {
        char *s = status(h, sp);
        bool ok = strstr(s, needle) != NULL;
        if (!ok && mono_ms() > end)
            fail_msg("no %s in: %s", needle, s);
        free(s);
        if (ok)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL); /* polling a condition, with a deadline */
    }
}

/* A publish reaches the streams of its space only; the counts are per
 * space and the cap's count is over both. */
static void test_publish_reaches_its_space(void **st)
{
    (void)st;
    mk_sse_hub *h = start(16);
    mk_sse_space *a = mk_sse_space_new(), *b = mk_sse_space_new();
    assert_non_null(a);
    assert_non_null(b);
    reader ra, rb, rb2;
    attach(h, a, &ra, "n1", NULL, NULL);
    attach(h, b, &rb, "n1", NULL, NULL); /* the same node id in another session */
    attach(h, b, &rb2, "n2", NULL, NULL);
    assert_int_equal(mk_sse_count(h, a, -1), 1);
    assert_int_equal(mk_sse_count(h, b, -1), 2);
    assert_int_equal(mk_sse_count(h, b, MK_TOPIC_NODE), 2);
    assert_int_equal(mk_sse_count(h, NULL, -1), 3);

    assert_int_equal(publish(h, a, NULL, "1", "for-a"), 1);
    assert_int_equal(publish(h, b, NULL, "1", "for-b"), 2);
    assert_int_equal(publish(h, b, "n1", "2", "for-b-n1"), 1);
    assert_int_equal(publish(h, a, NULL, "2", "a-last"), 1);
    assert_int_equal(publish(h, b, NULL, "3", "b-last"), 2);
    assert_true(read_until(&ra, "a-last", DEADLINE_MS));
    assert_true(read_until(&rb, "b-last", DEADLINE_MS));
    assert_true(read_until(&rb2, "b-last", DEADLINE_MS));
    /* in order, and nothing of the other space's */
    assert_has(ra.buf, HEAD);
    assert_has_not(ra.buf, "for-b");
    assert_has_not(rb.buf, "for-a");
    assert_has_not(rb.buf, "a-last");
    assert_has(rb.buf, "for-b-n1");
    assert_has_not(rb2.buf, "for-b-n1");
    assert_true(strstr(rb.buf, "for-b") < strstr(rb.buf, "for-b-n1"));

    reader_close(&ra);
    reader_close(&rb);
    reader_close(&rb2);
    wait_count(h, NULL, 0);
    mk_sse_stop(h);
    mk_sse_space_unref(a);
    mk_sse_space_unref(b);
}

/* Each space has its own history: a Last-Event-ID replays from its own
 * ring only; clearing one leaves the other's. Numbering and nonces are
 * per space too. */
static void test_history_per_space(void **st)
{
    (void)st;
    mk_sse_hub *h = start(16);
    mk_sse_space *a = mk_sse_space_new(), *b = mk_sse_space_new();
    assert_int_equal(publish(h, a, NULL, "e1", "a-one"), 0); /* no stream yet: kept only */
    assert_int_equal(publish(h, a, NULL, "e2", "a-two"), 0);
    assert_int_equal(publish(h, b, NULL, "e1", "b-one"), 0);

    reader ra, rb, rb0;
    attach(h, a, &ra, "n", "e1", NULL); /* a's e1: a-two follows */
    attach(h, b, &rb, "n", "e1", NULL); /* b's e1: nothing follows in b */
    attach(h, b, &rb0, "n", "e2", NULL); /* a's id, unknown in b: no replay */
    assert_true(read_until(&ra, "a-two", DEADLINE_MS));
    assert_has_not(ra.buf, "a-one");
    assert_int_equal(publish(h, b, NULL, "e2", "b-two"), 2);
    assert_true(read_until(&rb, "b-two", DEADLINE_MS));
    assert_true(read_until(&rb0, "b-two", DEADLINE_MS));
    assert_has_not(rb.buf, "a-");
    assert_has_not(rb.buf, "b-one");
    assert_has_not(rb0.buf, "b-one");

    char *sa = status(h, a), *sb = status(h, b);
    assert_has(sa, "\"history_len\":2,");
    assert_has(sa, "\"replayed\":1,");
    assert_has(sb, "\"history_len\":2,");
    assert_has(sb, "\"replayed\":0,");
    assert_has_not(sb, "\"replayed\":1,");
    free(sa);
    free(sb);

    /* nonces */
    mk_sse_set_nonce(h, a, "nonce-a", 7);
    size_t len = 0;
    char *n = mk_sse_last_nonce(h, a, &len);
    assert_non_null(n);
    assert_int_equal(len, 7);
    assert_string_equal(n, "nonce-a");
    free(n);
    assert_null(mk_sse_last_nonce(h, b, &len));

    /* clearing a forgets a's history and nonce only */
    mk_sse_clear_history(h, a);
    assert_null(mk_sse_last_nonce(h, a, &len));
    sa = status(h, a);
    sb = status(h, b);
    assert_has(sa, "\"history_len\":0,");
    assert_has(sb, "\"history_len\":2,");
    free(sa);
    free(sb);
    reader ra2;
    attach(h, a, &ra2, "n", "e1", NULL); /* nothing to replay any more */
    assert_int_equal(publish(h, a, NULL, "e3", "a-three"), 2);
    assert_true(read_until(&ra2, "a-three", DEADLINE_MS));
    assert_has_not(ra2.buf, "a-two");
    sa = status(h, a);
    assert_has(sa, "\"history_len\":1,"); /* a new ring, made by that publish */
    free(sa);

    reader_close(&ra);
    reader_close(&ra2);
    reader_close(&rb);
    reader_close(&rb0);
    mk_sse_stop(h); /* with streams open: the spaces count them closed */
    mk_sse_space_unref(a);
    mk_sse_space_unref(b);
}

/* The totals and stream lists of mk_sse_status are the space's; the cap is
 * the hub's, and a refusal counts in the space that asked. */
static void test_status_and_cap_per_space(void **st)
{
    (void)st;
    mk_sse_hub *h = start(3);
    mk_sse_space *a = mk_sse_space_new(), *b = mk_sse_space_new();
    reader ra1, ra2, rb1, rb2;
    attach(h, a, &ra1, "a-node", NULL, NULL);
    attach(h, a, &ra2, "a-node", NULL, NULL);
    attach(h, b, &rb1, "b-node", NULL, NULL);
    attach(h, b, &rb2, "b-node", NULL, NULL); /* over the cap of 3: refused */
    assert_true(read_until(&rb2, "503", DEADLINE_MS));
    assert_true(read_until(&rb2, NULL, DEADLINE_MS));
    mk_sse_count_refused(h, a); /* as dispatch counts one refused before the hub */
    assert_int_equal(mk_sse_count(h, NULL, -1), 3);

    assert_int_equal(publish(h, a, NULL, "1", "x"), 2);
    assert_int_equal(publish(h, a, NULL, "2", "y"), 2);
    assert_true(read_until(&ra1, "data: y", DEADLINE_MS));
    assert_true(read_until(&ra2, "data: y", DEADLINE_MS));
    wait_status(h, a, "\"delivered\":4,");
    assert_int_equal(mk_sse_disconnect(h, b, NULL), 1);
    assert_true(read_until(&rb1, NULL, DEADLINE_MS));
    wait_count(h, b, 0);

    char *sa = status(h, a), *sb = status(h, b);
    /* a: 2 streams (ids 1 and 2), 2 published, 4 delivered (once read) */
    assert_has(sa, "{\"connected\":2,\"max_clients\":3,\"queue_max\":16,\"history\":8,\"history_len\":2,"
                   "\"published\":2,\"delivered\":4,\"dropped\":0,\"attached\":2,\"refused\":1,"
                   "\"closed\":0,\"stalled\":0,\"stall_ms\":0,\"drop_policy\":\"newest\",\"faults\":{"
                   "\"cut_after\":0,\"cut_mid\":0,\"stall\":0,\"retry\":0,\"reset\":0,\"drop\":0,"
                   "\"disconnect\":0,\"ended\":0},\"clients\":[{\"id\":1,\"node_id\":\"a-node\"");
    assert_has(sa, "},{\"id\":2,\"node_id\":\"a-node\"");
    assert_has_not(sa, "b-node");
    /* b: its one stream ended by a disconnect, its refusal, its own ids */
    assert_has(sb, "{\"connected\":0,\"max_clients\":3,\"queue_max\":16,\"history\":8,\"history_len\":0,"
                   "\"published\":0,\"delivered\":0,\"dropped\":0,\"attached\":1,\"refused\":1,"
                   "\"closed\":1,\"stalled\":0,\"stall_ms\":0,\"drop_policy\":\"newest\",\"faults\":{"
                   "\"cut_after\":0,\"cut_mid\":0,\"stall\":0,\"retry\":0,\"reset\":0,\"drop\":0,"
                   "\"disconnect\":1,\"ended\":1},\"clients\":[]}\n");
    assert_has_not(sb, "a-node");
    free(sa);
    free(sb);

    /* a fault reaches its space's streams only */
    mk_fault f;
    char err[200];
    assert_int_equal(mk_fault_parse("drop", 4, &f, err, sizeof err), 0);
    assert_int_equal(mk_sse_fault(h, b, NULL, &f), 0);
    assert_int_equal(mk_sse_fault(h, a, "other", &f), 0);
    assert_int_equal(mk_sse_fault(h, a, NULL, &f), 2);
    assert_true(read_until(&ra1, NULL, DEADLINE_MS));
    assert_true(read_until(&ra2, NULL, DEADLINE_MS));
    wait_count(h, NULL, 0);
    sa = status(h, a);
    sb = status(h, b);
    assert_has(sa, "\"closed\":2,");
    assert_has(sa, "\"drop\":2,\"disconnect\":0,\"ended\":2}");
    assert_has(sb, "\"drop\":0,\"disconnect\":1,\"ended\":1}");
    free(sa);
    free(sb);

    reader_close(&ra1);
    reader_close(&ra2);
    reader_close(&rb1);
    reader_close(&rb2);
    mk_sse_stop(h);
    mk_sse_space_unref(a);
    mk_sse_space_unref(b);
}

/* mk_sse_space_end ends the streams of its space only, as closed (no
 * fault's end, no disconnect); a stream attached after is ended at once. */
static void test_space_end(void **st)
{
    (void)st;
    mk_sse_hub *h = start(16);
    mk_sse_space *a = mk_sse_space_new(), *b = mk_sse_space_new();
    reader ra1, ra2, rb;
    attach(h, a, &ra1, "n", NULL, NULL);
    attach(h, a, &ra2, "m", NULL, NULL);
    attach(h, b, &rb, "n", NULL, NULL);
    assert_true(read_until(&ra1, HEAD, DEADLINE_MS));
    assert_int_equal(mk_sse_space_end(h, a), 2);
    assert_true(read_until(&ra1, NULL, DEADLINE_MS));
    assert_true(read_until(&ra2, NULL, DEADLINE_MS));
    wait_count(h, a, 0);
    assert_int_equal(mk_sse_count(h, b, -1), 1);
    assert_int_equal(publish(h, b, NULL, "1", "b-lives"), 1);
    assert_true(read_until(&rb, "b-lives", DEADLINE_MS));
    assert_false(rb.eof);
    assert_int_equal(mk_sse_space_end(h, a), 0); /* nothing left */

    char *sa = status(h, a);
    assert_has(sa, "\"connected\":0,");
    assert_has(sa, "\"closed\":2,");
    assert_has(sa, "\"disconnect\":0,\"ended\":0}");
    free(sa);

    /* a request that resolved it before it ended: its stream gets the head,
     * then FIN with no second end (the session ends its space once; a
     * stream left open there would be reachable by nothing) */
    reader ra3;
    attach(h, a, &ra3, "n", NULL, NULL);
    assert_true(read_until(&ra3, HEAD, DEADLINE_MS));
    assert_true(read_until(&ra3, NULL, DEADLINE_MS));
    wait_count(h, a, 0);
    assert_int_equal(mk_sse_space_end(h, a), 0);
    assert_int_equal(mk_sse_space_end(NULL, a), 0);

    reader_close(&ra1);
    reader_close(&ra2);
    reader_close(&ra3);
    reader_close(&rb);
    mk_sse_stop(h);
    mk_sse_space_unref(a);
    mk_sse_space_unref(b);
}

/* ---- waits ---- */

typedef struct waiter {
    mk_sse_hub *h;
    mk_sse_space *sp;
    int n;
    unsigned timeout_ms;
    int got;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;
    int got = mk_sse_wait_clients(w->h, w->sp, MK_TOPIC_NODE, w->n, w->timeout_ms);
    pthread_mutex_lock(&w->lock);
    w->got = got;
    w->done = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void waiter_init(waiter *w, mk_sse_hub *h, mk_sse_space *sp, int n, unsigned timeout_ms)
{
    memset(w, 0, sizeof *w);
    w->h = h;
    w->sp = sp;
    w->n = n;
    w->timeout_ms = timeout_ms;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
}

/* Whether w returned within ms. */
static bool waiter_done_within(waiter *w, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->done && pthread_cond_timedwait(&w->cond, &w->lock, &dl) == 0)
        ;
    bool d = w->done;
    pthread_mutex_unlock(&w->lock);
    return d;
}

static void waiter_dispose(waiter *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

/* A wait counts its space's streams: another space's do not satisfy it;
 * its space ending releases it. */
static void test_wait_per_space(void **st)
{
    (void)st;
    mk_sse_hub *h = start(16);
    mk_sse_space *a = mk_sse_space_new(), *b = mk_sse_space_new();
    reader ra1, ra2, rb;
    attach(h, a, &ra1, "n", NULL, NULL);
    assert_int_equal(mk_sse_wait_clients(h, b, MK_TOPIC_NODE, 1, 30), 0); /* a's stream is not b's */
    assert_int_equal(mk_sse_wait_clients(h, a, MK_TOPIC_NODE, 1, 30), 1);
    assert_int_equal(mk_sse_wait_clients(h, NULL, MK_TOPIC_NODE, 1, 30), 1);

    waiter w;
    waiter_init(&w, h, b, 1, DEADLINE_MS);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_main, &w), 0);
    attach(h, a, &ra2, "n", NULL, NULL); /* wakes it, but it is not b's */
    attach(h, b, &rb, "n", NULL, NULL);
    assert_true(waiter_done_within(&w, DEADLINE_MS));
    pthread_join(t, NULL);
    assert_int_equal(w.got, 1);
    waiter_dispose(&w);

    /* a wait on a space that ends returns (it would wait for nothing) */
    waiter w2;
    waiter_init(&w2, h, a, 5, 60000);
    assert_int_equal(pthread_create(&t, NULL, wait_main, &w2), 0);
    int64_t t0 = mono_ms();
    bool done = false;
    /* ended again until the waiter, parked at some point, sees it */
    while (!done && mono_ms() - t0 < DEADLINE_MS) {
        mk_sse_space_end(h, a);
        done = waiter_done_within(&w2, 20);
    }
    assert_true(done);
    pthread_join(t, NULL);
    assert_true(w2.got < 5);
    waiter_dispose(&w2);
    assert_true(read_until(&ra1, NULL, DEADLINE_MS));
    assert_true(read_until(&ra2, NULL, DEADLINE_MS));
    assert_int_equal(mk_sse_count(h, b, -1), 1);

    reader_close(&ra1);
    reader_close(&ra2);
    reader_close(&rb);
    mk_sse_stop(h);
    mk_sse_space_unref(a);
    mk_sse_space_unref(b);
}

/* A stream holds its space: the last other reference can go first, and
 * the space goes with the stream (when its client leaves, or at stop).
 * One reference too many is a leak, one too few a use after free: ASan
 * and LSan (build/debug) tell. */
static void test_stream_keeps_space(void **st)
{
    (void)st;
    mk_sse_hub *h = start(16);
    mk_sse_space *a = mk_sse_space_new(), *keep = mk_sse_space_new();
    reader ra, rk;
    attach(h, a, &ra, "n", NULL, NULL);
    attach(h, keep, &rk, "n", NULL, NULL);
    assert_int_equal(publish(h, a, NULL, "1", "before"), 1); /* a ring to free too */
    mk_sse_set_nonce(h, a, "x", 1);
    assert_true(read_until(&ra, "before", DEADLINE_MS));
    mk_sse_space_unref(a); /* the session let go; the stream holds it */
    mk_sse_space_ref(keep);
    mk_sse_space_unref(keep); /* balanced: still held by the test and the stream */
    assert_int_equal(mk_sse_count(h, NULL, -1), 2);
    reader_close(&ra); /* the client leaves: the hub counts it in a, then frees a */
    wait_count(h, NULL, 1);
    assert_int_equal(publish(h, keep, NULL, "1", "still"), 1);
    assert_true(read_until(&rk, "still", DEADLINE_MS));

    /* the same at stop: the hub closes the stream and frees its space */
    mk_sse_space *c = mk_sse_space_new();
    reader rc;
    attach(h, c, &rc, "n", NULL, NULL);
    assert_int_equal(publish(h, c, NULL, "1", "c"), 1);
    mk_sse_space_unref(c);
    mk_sse_stop(h);
    assert_true(read_until(&rc, NULL, DEADLINE_MS));
    reader_close(&rc);
    reader_close(&rk);

    /* keep outlived the hub: its totals and history are still there for
     * the next one, which counts its streams on */
    mk_sse_hub *h2 = start(16);
    char *s = status(h2, keep);
    assert_has(s, "{\"connected\":0,");
    assert_has(s, "\"history_len\":1,\"published\":1,");
    assert_has(s, "\"attached\":1,\"refused\":0,\"closed\":1,");
    free(s);
    reader rk2;
    attach(h2, keep, &rk2, "n", "0", NULL);
    s = status(h2, keep);
    assert_has(s, "\"clients\":[{\"id\":2,");
    free(s);
    reader_close(&rk2);
    wait_count(h2, keep, 0);
    mk_sse_stop(h2);
    mk_sse_space_unref(keep);
}

/* The numbering is the space's, from 1, and needs no hub; with no hub the
 * rest is nothing (0, NULL, no bytes). */
static void test_numbering_and_no_hub(void **st)
{
    (void)st;
    mk_sse_space *a = mk_sse_space_new(), *b = mk_sse_space_new();
    assert_int_equal(mk_sse_next_seq(NULL, a), 1);
    assert_int_equal(mk_sse_next_seq(NULL, a), 2);
    assert_int_equal(mk_sse_next_seq(NULL, b), 1);
    assert_int_equal(mk_sse_next_stream(NULL, a), 1);
    assert_int_equal(mk_sse_next_stream(NULL, b), 1);
    assert_int_equal(mk_sse_next_stream(NULL, b), 2);
    mk_sse_hub *h = start(4);
    assert_int_equal(mk_sse_next_seq(h, a), 3); /* a hub does not restart it */
    assert_int_equal(mk_sse_next_stream(h, a), 2);
    mk_sse_stop(h);

    assert_int_equal(mk_sse_count(NULL, a, -1), 0);
    assert_int_equal(mk_sse_count(NULL, NULL, -1), 0);
    assert_int_equal(mk_sse_wait_clients(NULL, a, MK_TOPIC_NODE, 1, 10), 0);
    assert_int_equal(publish(NULL, a, NULL, "1", "x"), 0);
    assert_int_equal(mk_sse_disconnect(NULL, a, NULL), 0);
    mk_sse_set_nonce(NULL, a, "n", 1);
    size_t len;
    assert_null(mk_sse_last_nonce(NULL, a, &len));
    mk_sse_clear_history(NULL, a);
    mk_sse_count_refused(NULL, a);
    mk_buf bf;
    mk_buf_init(&bf, 0);
    mk_sse_status(NULL, a, &bf);
    assert_int_equal(bf.len, 0);
    mk_buf_free(&bf);
    mk_sse_space_unref(NULL);
    assert_null(mk_sse_space_ref(NULL));
    mk_sse_space_unref(a);
    mk_sse_space_unref(b);
}

int run_sse_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_reaches_its_space),
        cmocka_unit_test(test_history_per_space),
        cmocka_unit_test(test_status_and_cap_per_space),
        cmocka_unit_test(test_space_end),
        cmocka_unit_test(test_wait_per_space),
        cmocka_unit_test(test_stream_keeps_space),
        cmocka_unit_test(test_numbering_and_no_hub),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
