/* sse.c: the Server-Sent Events hub; see sse.h for the guarantees.
 *
 * Threads: publishers and attachers (event-loop threads) touch only the
 * structures below `lock`; the hub thread is the only one that writes to or
 * reads from stream sockets, arms EPOLLOUT, and frees clients. A client is
 * added to the epoll set before it joins the list, and removed from both by
 * the hub thread alone, so an epoll event never names a freed client.
 *
 * Spaces (sse.h): the hub keeps what all streams share (the list, the cap,
 * epoll, the keep-alive frame); each space keeps a session's history,
 * numbering, nonce and totals. The list is one list: what concerns a space
 * walks it and skips the others' streams, which is cheaper than a list per
 * space to keep right while streams come and go, for the few hundred
 * streams a server has. A space's fields are under the lock of the hub that
 * runs (there is one hub at a time per server); its numbering is atomic, so
 * that it works with no hub at all; its refcount is atomic. */
#include "sse.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "clock.h"
#include "errors.h"
#include "gojson.h"
#include "state.h"

enum {
    MAX_IOV = 16,
    MAX_EVENTS = 256,
    /* A stream's kernel send buffer: events are small, and a client that
     * does not read should fill it soon (sse.h, stalls), not after
     * megabytes of autotuned buffer. */
    SSE_SNDBUF = 65536,
    /* retry: frames a stream may hold queued at once; the queue has room
     * for them beyond the events' (a fault never displaces an event) */
    CTL_MAX = 4,
};

/* Stream faults, counted per key over all streams (sse.h). */
enum { FK_CUT_AFTER, FK_CUT_MID, FK_STALL, FK_RETRY, FK_RESET, FK_DROP, FK_DISCONNECT, FK_N };
static const char *const fk_names[FK_N] = {"cut_after", "cut_mid", "stall",     "retry",
                                           "reset",     "drop",    "disconnect"};

/* How another thread asks the hub to end a stream (the hub alone sets
 * `dead`, which it also reads without the lock). */
enum { END_NONE, END_FIN, END_RST };

typedef struct client {
    struct client *next, *prev;
    mk_sse_space *sp; /* its space: a reference, dropped in client_free */
    int fd;
    mk_topic topic;
    uint64_t id;
    char *node; /* owned */
    char peer[64];
    int64_t connected_ns;
    /* queue: a ring of frame references; the first `pinned` entries (head,
     * replay) are exempt from the drop limit. Guarded by hub->lock. */
    mk_blob **q;
    unsigned cap, head, len, pinned;
    size_t off; /* bytes of q[head] already written */
    uint64_t delivered, dropped, replayed, keepalives;
    bool overflowed; /* dropped an event: end the stream once the client has the prefix */
    int64_t next_ka_ns;
    int64_t progress_ns; /* last time its output moved, or it had none waiting */
    /* stream faults (sse.h), guarded by hub->lock */
    int64_t cut_left;     /* -1: no cut; else events still to write before FIN */
    bool cut_mid;         /* the event after cut_left more (or the next) is cut in half */
    bool first_not_event; /* q[head] is no event for the cuts: the head, or a
                           * frame half written when a fault came */
    int64_t stall_until_ns;
    int end;              /* END_*: asked to end by another thread */
    bool quiet_end;       /* its space ended (mk_sse_space_end): closed, no fault's end */
    unsigned ctl;         /* retry: frames queued outside the pinned prefix */
    char **flog;          /* what was applied, a ring of the last MK_SSE_FAULT_LOG
                           * (allocated with the first: most streams have none) */
    uint64_t nfaults;
    /* hub thread only */
    int last_unacked;   /* an overflowed client's unacknowledged bytes at the last check */
    bool blocked; /* socket full: waiting for EPOLLOUT */
    bool armed_out; /* EPOLLOUT is in the epoll interest (follows blocked) */
    bool dead;
    bool rst; /* end with RST (hub thread, when it reaps) */
    /* a feed (MK_TOPIC_FEED): its source, and when to pull (hub thread) */
    mk_sse_source src;
    bool feed_dirty;      /* something changed since its last pull */
    bool feed_more;       /* its last pull stopped short */
    int64_t next_pull_ns; /* no pull before this while caught up */
} client;

/* The agents' streams, as /test/sse and the space's totals show them. */
static bool is_feed(const client *c)
{
    return c->topic == MK_TOPIC_FEED;
}

static bool numeric_id(const char *s);

typedef struct hist {
    char *id;
    char *node; /* NULL: every stream's; else that node's only */
    mk_blob *frame;
} hist;

/* One topic's history: a ring of `cap` slots, allocated on the topic's
 * first publish (cap: the hub's cfg.history then) and freed by
 * mk_sse_clear_history, so that an idle space holds none. */
typedef struct ring {
    hist *slots;
    unsigned cap, head, len;
} ring;

struct mk_sse_space {
    atomic_int refs;
    atomic_ullong seq;     /* event numbering (mk_sse_next_seq) */
    bool numeric;          /* mk_sse_space_set_numeric: set before any stream */
    atomic_ullong streams; /* initial-event numbering (mk_sse_next_stream) */
    /* the rest: under the running hub's lock */
    ring hist[MK_TOPIC_COUNT];
    int nclients;                      /* its streams listed */
    int topic_clients[MK_TOPIC_COUNT]; /* the same, per topic */
    uint64_t ends;                     /* mk_sse_space_end calls: its waiters return */
    uint64_t next_client_id;           /* the streams' ids in mk_sse_status */
    uint64_t published, delivered, dropped, attached_total, refused, closed, stalled;
    uint64_t faults[FK_N]; /* stream faults applied, per key */
    uint64_t fault_ends;   /* streams a fault ended (cut, cut-mid, reset, drop, disconnect) */
    char *last_nonce;      /* inject-event's nonce=repeat */
    size_t last_nonce_len;
    mk_budget *budget;     /* what its history's frames draw on (NULL: none) */
    size_t hist_bytes;     /* the frames' bytes its rings hold, charged to budget */
};

struct mk_sse_hub {
    mk_sse_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t attached; /* broadcast when a stream attaches or leaves, or a space ends */
    client *clients;         /* list, guarded by lock; every space's streams */
    int nclients;            /* listed streams of every space (the cap counts them) */
    int topic_clients[MK_TOPIC_COUNT];
    int pending; /* slots taken by attaches not yet listed */
    atomic_int nfeeds;       /* feed streams listed (read without the lock) */
    atomic_bool feed_dirty;  /* a change no pull has taken yet (mk_sse_feeds_changed, pull_feeds) */
    mk_blob *keepalive; /* shared ": keep-alive\n" */
    int epfd, evfd;
    atomic_int stop;
    pthread_t thread;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wake(mk_sse_hub *h)
{
    uint64_t one = 1;
    ssize_t w = write(h->evfd, &one, sizeof one);
    (void)w; /* a full counter means the hub is awake anyway */
}

static int push(client *c, mk_blob *b)
{
    if (c->len == c->cap)
        return -1;
    c->q[(c->head + c->len) % c->cap] = mk_blob_ref(b);
    c->len++;
    return 0;
}

static void client_free(client *c)
{
    if (c->src.release)
        c->src.release(c->src.arg);
    mk_sse_space_unref(c->sp);
    free(c->node);
    for (unsigned i = 0; c->flog && i < MK_SSE_FAULT_LOG; i++)
        free(c->flog[i]);
    free(c->flog);
    for (unsigned i = 0; i < c->len; i++)
        mk_blob_unref(c->q[(c->head + i) % c->cap]);
    free(c->q);
    free(c);
}

static void refuse(int fd)
{
    size_t len;
    const char *full = mk_refusal(503, &len);
    ssize_t w = send(fd, full, len, MSG_NOSIGNAL);
    (void)w;
    close(fd);
}

/* ---- spaces (sse.h) ------------------------------------------------------- */

static void hist_free(hist *e)
{
    free(e->id);
    free(e->node);
    mk_blob_unref(e->frame);
}

/* Frees what a ring taken out of a space holds (outside any lock). */
static void ring_free(ring *r)
{
    for (unsigned i = 0; i < r->len; i++)
        hist_free(&r->slots[(r->head + i) % r->cap]);
    free(r->slots);
    *r = (ring){0};
}

mk_sse_space *mk_sse_space_new(void)
{
    mk_sse_space *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    atomic_init(&sp->refs, 1);
    atomic_init(&sp->seq, 0);
    atomic_init(&sp->streams, 0);
    return sp;
}

void mk_sse_space_set_budget(mk_sse_space *sp, mk_budget *b)
{
    sp->budget = b;
}

bool mk_sse_space_fits(const mk_sse_space *sp, size_t n)
{
    if (!sp->budget)
        return true;
    size_t used = atomic_load_explicit(&sp->budget->used, memory_order_relaxed);
    return n <= sp->budget->max && used <= sp->budget->max - n;
}

mk_sse_space *mk_sse_space_ref(mk_sse_space *sp)
{
    if (sp)
        atomic_fetch_add_explicit(&sp->refs, 1, memory_order_relaxed);
    return sp;
}

void mk_sse_space_unref(mk_sse_space *sp)
{
    /* acq_rel: the last one sees every write made under a reference */
    if (!sp || atomic_fetch_sub_explicit(&sp->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int k = 0; k < MK_TOPIC_COUNT; k++)
        ring_free(&sp->hist[k]);
    if (sp->budget && sp->hist_bytes)
        mk_budget_give(sp->budget, sp->hist_bytes);
    free(sp->last_nonce);
    free(sp);
}

/* A fault's end of c: counted in its space's totals, unless its space
 * ended it (then it is only closed). Under lock. */
static void count_fault_end(client *c)
{
    if (!c->quiet_end)
        c->sp->fault_ends++;
}

/* ---- stream faults (sse.h) ----------------------------------------------- */

/* A retry: frame. Event frames start with "id: ", the head with "HTTP/". */
static bool is_ctl(const mk_blob *b)
{
    return b->len >= 6 && memcmp(b->data, "retry:", 6) == 0;
}

/* Whether queue entry k of c is an event, as the cuts count them. */
static bool is_event(const mk_sse_hub *h, const client *c, unsigned k)
{
    const mk_blob *b = c->q[(c->head + k) % c->cap];
    return !(k == 0 && c->first_not_event) && b != h->keepalive && !is_ctl(b);
}

static bool has_stream_keys(const mk_fault *f)
{
    return f && (MK_FAULT_HAS(f, CUT_AFTER) || MK_FAULT_HAS(f, CUT_MID) || MK_FAULT_HAS(f, STALL) ||
                 MK_FAULT_HAS(f, RETRY) || MK_FAULT_HAS(f, RESET) || MK_FAULT_HAS(f, DROP));
}

/* The part of f a stream honours, in the grammar's words and key order
 * (out: at least 160 bytes, enough for all of it). */
static void stream_text(const mk_fault *f, char *out)
{
    char parts[6][24];
    int np = 0;
    if (MK_FAULT_HAS(f, DROP))
        snprintf(parts[np++], sizeof parts[0], "drop");
    if (MK_FAULT_HAS(f, RESET))
        snprintf(parts[np++], sizeof parts[0], "reset");
    if (MK_FAULT_HAS(f, CUT_AFTER))
        snprintf(parts[np++], sizeof parts[0], "cut-after=%u", f->cut_after);
    if (MK_FAULT_HAS(f, CUT_MID))
        snprintf(parts[np++], sizeof parts[0], "cut-mid");
    if (MK_FAULT_HAS(f, STALL))
        snprintf(parts[np++], sizeof parts[0], "stall=%u", f->stall_ms);
    if (MK_FAULT_HAS(f, RETRY))
        snprintf(parts[np++], sizeof parts[0], "retry=%u", f->retry_ms);
    size_t w = 0;
    for (int i = 0; i < np; i++) {
        if (i) {
            memcpy(out + w, "; ", 2);
            w += 2;
        }
        size_t n = strlen(parts[i]);
        memcpy(out + w, parts[i], n);
        w += n;
    }
    out[w] = '\0';
}

static void log_fault(client *c, const char *text)
{
    if (!c->flog && !(c->flog = calloc(MK_SSE_FAULT_LOG, sizeof *c->flog))) {
        c->nfaults++; /* counted, not listed, when memory is short */
        return;
    }
    unsigned i = (unsigned)(c->nfaults % MK_SSE_FAULT_LOG);
    free(c->flog[i]);
    c->flog[i] = strdup(text); /* NULL when memory is short: listed as "" */
    c->nfaults++;
}

/* Ends c with FIN at a frame boundary: now, or once the frame half written
 * is whole (as a cut after 0 more events). Under lock. */
static void end_fin_locked(client *c)
{
    c->stall_until_ns = 0;
    c->cut_mid = false;
    if (c->off > 0) {
        c->first_not_event = true;
        c->cut_left = 0;
    } else {
        c->end = END_FIN;
    }
}

/* end_fin_locked for a feed: its head, when still queued, goes out first
 * (a page's request ended just after it attached still gets its answer:
 * an HTTP client that gets a bare close saw no response at all), as for
 * a stream attached after its session ended (mk_sse_attach). Under lock. */
static void end_feed_locked(client *c)
{
    if (c->off == 0 && c->first_not_event && c->len > 0) {
        c->stall_until_ns = 0;
        c->cut_mid = false;
        c->cut_left = 0; /* FIN after the frames before the first event: the head */
        return;
    }
    end_fin_locked(c);
}

/* Puts the retry: frame b before everything c has queued except a frame
 * begun (the head, or one half written). Under lock; room checked. */
static void insert_ctl(client *c, mk_blob *b)
{
    unsigned pos = c->len > 0 && c->first_not_event ? 1 : 0;
    if (pos == 0) {
        c->head = (c->head + c->cap - 1) % c->cap;
    } else {
        for (unsigned i = c->len; i > 1; i--)
            c->q[(c->head + i) % c->cap] = c->q[(c->head + i - 1) % c->cap];
    }
    c->q[(c->head + pos) % c->cap] = mk_blob_ref(b);
    c->len++;
    if (pos < c->pinned)
        c->pinned++; /* inside the pinned prefix, and so pinned too */
    else
        c->ctl++;
}

/* Applies f's stream keys to c; text is what the stream lists, retry the
 * shared retry: frame (NULL: none, or none could be made). Under lock.
 * Whether anything was applied. */
static bool apply_locked(client *c, const mk_fault *f, const char *text, mk_blob *retry, int64_t now)
{
    uint64_t *faults = c->sp->faults;
    if (c->end)
        return false; /* ending already */
    if (c->off > 0)
        c->first_not_event = true; /* finished first, and not counted */
    bool any = false;
    if (MK_FAULT_HAS(f, RESET)) {
        c->end = END_RST;
        faults[FK_RESET]++;
        any = true;
    } else if (MK_FAULT_HAS(f, DROP)) {
        end_fin_locked(c);
        faults[FK_DROP]++;
        any = true;
    } else {
        if (MK_FAULT_HAS(f, RETRY) && retry && c->ctl < CTL_MAX && c->len < c->cap) {
            insert_ctl(c, retry);
            faults[FK_RETRY]++;
            any = true;
        }
        if (MK_FAULT_HAS(f, CUT_AFTER)) {
            c->cut_left = f->cut_after;
            faults[FK_CUT_AFTER]++;
            any = true;
        }
        if (MK_FAULT_HAS(f, CUT_MID)) {
            c->cut_mid = true;
            faults[FK_CUT_MID]++;
            any = true;
        }
        if (MK_FAULT_HAS(f, STALL)) {
            c->stall_until_ns = now + (int64_t)f->stall_ms * 1000000LL;
            faults[FK_STALL]++;
            any = true;
        }
    }
    if (any)
        log_fault(c, text);
    return any;
}

static mk_blob *retry_frame(const mk_fault *f)
{
    if (!MK_FAULT_HAS(f, RETRY))
        return NULL;
    char r[40];
    int n = snprintf(r, sizeof r, "retry: %u\n\n", f->retry_ms);
    return mk_blob_new(r, (size_t)n);
}

int mk_sse_fault(mk_sse_hub *h, mk_sse_space *sp, const char *node_id, const mk_fault *f)
{
    if (!h || !has_stream_keys(f))
        return 0;
    char text[160];
    stream_text(f, text);
    mk_blob *retry = retry_frame(f);
    int n = 0;
    int64_t now = now_ns();
    pthread_mutex_lock(&h->lock);
    for (client *c = h->clients; c; c = c->next)
        if (!is_feed(c) && (!sp || c->sp == sp) && (!node_id || strcmp(c->node, node_id) == 0) &&
            apply_locked(c, f, text, retry, now))
            n++;
    pthread_mutex_unlock(&h->lock);
    mk_blob_unref(retry);
    wake(h);
    return n;
}

int mk_sse_disconnect(mk_sse_hub *h, mk_sse_space *sp, const char *node_id)
{
    if (!h)
        return 0;
    int n = 0;
    pthread_mutex_lock(&h->lock);
    for (client *c = h->clients; c; c = c->next) {
        if (is_feed(c) || (sp && c->sp != sp) || (node_id && strcmp(c->node, node_id) != 0) || c->end)
            continue;
        end_fin_locked(c);
        c->sp->faults[FK_DISCONNECT]++;
        log_fault(c, "disconnect");
        n++;
    }
    pthread_mutex_unlock(&h->lock);
    wake(h);
    return n;
}

int mk_sse_disconnect_feeds(mk_sse_hub *h, mk_sse_space *sp)
{
    if (!h || !sp)
        return 0;
    int n = 0;
    pthread_mutex_lock(&h->lock);
    for (client *c = h->clients; c; c = c->next) {
        if (!is_feed(c) || c->sp != sp || c->end)
            continue;
        c->quiet_end = true;
        end_feed_locked(c);
        n++;
    }
    pthread_mutex_unlock(&h->lock);
    wake(h);
    return n;
}

void mk_sse_feeds_changed(mk_sse_hub *h)
{
    /* one wake per flush: the hub clears the flag before it pulls, so a
     * change after that sets it (and wakes it) again */
    if (h && atomic_load_explicit(&h->nfeeds, memory_order_relaxed) > 0 &&
        !atomic_load_explicit(&h->feed_dirty, memory_order_relaxed) && /* a read: no line bouncing */
        !atomic_exchange(&h->feed_dirty, true))
        wake(h);
}

int mk_sse_space_end(mk_sse_hub *h, mk_sse_space *sp)
{
    if (!h || !sp)
        return 0;
    int n = 0;
    pthread_mutex_lock(&h->lock);
    for (client *c = h->clients; c; c = c->next) {
        if (c->sp != sp || c->end)
            continue; /* another's, or ending already */
        c->quiet_end = true;
        if (is_feed(c))
            end_feed_locked(c);
        else
            end_fin_locked(c);
        n++;
    }
    sp->ends++;
    pthread_cond_broadcast(&h->attached); /* its waiters have nothing left to wait for */
    pthread_mutex_unlock(&h->lock);
    wake(h);
    return n;
}

void mk_sse_set_nonce(mk_sse_hub *h, mk_sse_space *sp, const char *nonce, size_t len)
{
    if (!h || !sp)
        return;
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, nonce, len);
        p[len] = '\0';
    }
    pthread_mutex_lock(&h->lock);
    char *old = sp->last_nonce;
    sp->last_nonce = p; /* NULL when memory is short: "none", never a wrong one */
    sp->last_nonce_len = len;
    pthread_mutex_unlock(&h->lock);
    free(old);
}

char *mk_sse_last_nonce(mk_sse_hub *h, mk_sse_space *sp, size_t *len)
{
    if (!h || !sp)
        return NULL;
    char *p = NULL;
    pthread_mutex_lock(&h->lock);
    if (sp->last_nonce && (p = malloc(sp->last_nonce_len + 1))) {
        memcpy(p, sp->last_nonce, sp->last_nonce_len + 1);
        *len = sp->last_nonce_len;
    }
    pthread_mutex_unlock(&h->lock);
    return p;
}

void mk_sse_attach(mk_sse_hub *h, mk_sse_space *sp, mk_topic topic, int fd, const char *head,
                   size_t head_len, const char *last_event_id, const char *node_id, const char *peer,
                   const mk_fault *fault, const mk_sse_source *src)
{
    mk_sse_source none = {0};
    if (!src || topic != MK_TOPIC_FEED)
        src = &none;
    if (!h || !sp) { /* no hub (not started) or no space: nobody to serve it */
        refuse(fd);
        if (src->release)
            src->release(src->arg);
        return;
    }
    if (topic == MK_TOPIC_FEED) { /* the page's: no replay, no fault (sse.h) */
        last_event_id = NULL;
        fault = NULL;
    }
    /* The slot is taken before the hub can see the socket: once it is in
     * the epoll set, only the hub thread may remove it (see the top). */
    pthread_mutex_lock(&h->lock);
    if (h->nclients + h->pending >= (int)h->cfg.max_clients) {
        if (topic != MK_TOPIC_FEED)
            sp->refused++;
        pthread_mutex_unlock(&h->lock);
        refuse(fd);
        if (src->release)
            src->release(src->arg);
        return;
    }
    h->pending++;
    /* the replay fits in the queue: a ring made by an earlier hub may be
     * larger than this one's (a ring made from now on is not) */
    unsigned hist_slots = sp->hist[topic].cap > h->cfg.history ? sp->hist[topic].cap : h->cfg.history;
    pthread_mutex_unlock(&h->lock);

    client *c = calloc(1, sizeof *c);
    mk_blob *hb = mk_blob_new(head, head_len);
    char ftext[160] = "";
    mk_blob *retry = NULL;
    if (has_stream_keys(fault)) {
        stream_text(fault, ftext);
        retry = retry_frame(fault);
    }
    if (c) {
        c->fd = fd;
        c->topic = topic;
        c->node = strdup(node_id ? node_id : "");
        snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
        c->connected_ns = now_ns();
        c->next_ka_ns = c->connected_ns + (int64_t)h->cfg.keepalive_ms * 1000000LL;
        c->progress_ns = c->connected_ns;
        int sb = SSE_SNDBUF;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
        c->cap = 1 + hist_slots + h->cfg.queue_max + 1 + CTL_MAX;
        c->q = calloc(c->cap, sizeof *c->q);
        c->cut_left = -1;
        c->first_not_event = true; /* the head */
    }
    /* The hub learns of the socket before the client is listed, so that
     * events for it always find a live struct (see the top comment). */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (!c || !hb || !c->q || !c->node || epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        if (c) {
            free(c->q);
            free(c->node);
            free(c);
        }
        mk_blob_unref(hb);
        mk_blob_unref(retry);
        pthread_mutex_lock(&h->lock);
        h->pending--;
        pthread_mutex_unlock(&h->lock);
        refuse(fd);
        if (src->release)
            src->release(src->arg);
        return;
    }
    c->sp = mk_sse_space_ref(sp);
    c->src = *src;
    c->feed_dirty = topic == MK_TOPIC_FEED; /* its first pull: at once */

    pthread_mutex_lock(&h->lock);
    ring *r = &sp->hist[topic];
    h->pending--;
    push(c, hb);
    c->pinned = 1;
    if (last_event_id) {
        /* replay what came after the newest event with that id */
        int from = -1;
        for (unsigned i = 0; i < r->len; i++) {
            hist *e = &r->slots[(r->head + i) % r->cap];
            if (strcmp(e->id, last_event_id) == 0)
                from = (int)i;
        }
        bool replay = from >= 0;
        if (!replay && sp->numeric && numeric_id(last_event_id)) {
            /* no such event kept: every later one (ids rise with the ring) */
            unsigned long long last = strtoull(last_event_id, NULL, 10);
            from = (int)r->len - 1;
            for (unsigned i = r->len; i-- > 0;) {
                hist *e = &r->slots[(r->head + i) % r->cap];
                if (numeric_id(e->id) && strtoull(e->id, NULL, 10) > last)
                    from = (int)i - 1;
            }
            replay = true;
        }
        for (unsigned i = (unsigned)(from + 1); replay && i < r->len; i++) {
            hist *e = &r->slots[(r->head + i) % r->cap];
            if (e->node && strcmp(e->node, c->node) != 0)
                continue; /* another node's (inject-event ?node=) */
            push(c, e->frame);
            c->pinned++;
            c->replayed++;
        }
    }
    if (has_stream_keys(fault))
        apply_locked(c, fault, ftext, retry, c->connected_ns);
    c->next = h->clients;
    if (h->clients)
        h->clients->prev = c;
    h->clients = c;
    h->nclients++;
    h->topic_clients[topic]++;
    sp->topic_clients[topic]++;
    if (is_feed(c)) {
        atomic_fetch_add(&h->nfeeds, 1);
    } else {
        c->id = ++sp->next_client_id;
        sp->nclients++;
        sp->attached_total++;
    }
    if (sp->ends > 0) {
        /* its session ended after the request resolved it: mk_sse_space_end
         * will not run again, so the stream ends after its head, or it
         * would stay open in a space nothing can reach */
        c->quiet_end = true;
        c->stall_until_ns = 0;
        c->cut_mid = false;
        c->cut_left = 0; /* FIN after the frames before the first event: the head */
    }
    pthread_cond_broadcast(&h->attached);
    if (h->cfg.notify)
        h->cfg.notify(h->cfg.notify_arg);
    pthread_mutex_unlock(&h->lock);
    mk_blob_unref(hb);
    mk_blob_unref(retry);
    wake(h);
}

/* The numbering is the space's alone, and atomic: it needs no hub (an
 * instance driven without a transport numbers its events too). */
uint64_t mk_sse_next_stream(mk_sse_hub *h, mk_sse_space *sp)
{
    (void)h;
    return sp ? atomic_fetch_add_explicit(&sp->streams, 1, memory_order_relaxed) + 1 : 0;
}

/* 1 to 20 decimal digits */
static bool numeric_id(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= 20 && s[n] == '\0';
}

void mk_sse_space_set_numeric(mk_sse_space *sp, bool on)
{
    sp->numeric = on;
}

uint64_t mk_sse_last_seq(mk_sse_space *sp)
{
    return atomic_load_explicit(&sp->seq, memory_order_relaxed);
}

uint64_t mk_sse_next_seq(mk_sse_hub *h, mk_sse_space *sp)
{
    (void)h;
    return sp ? atomic_fetch_add_explicit(&sp->seq, 1, memory_order_relaxed) + 1 : 0;
}

void mk_sse_count_refused(mk_sse_hub *h, mk_sse_space *sp)
{
    if (!h || !sp)
        return;
    pthread_mutex_lock(&h->lock);
    sp->refused++;
    pthread_mutex_unlock(&h->lock);
}

int mk_sse_publish(mk_sse_hub *h, mk_sse_space *sp, mk_topic topic, const char *node_id,
                   const char *sse_id, size_t id_len, const char *frame, size_t frame_len)
{
    if (!h || !sp)
        return 0;
    ring *r = &sp->hist[topic];
    mk_blob *b = mk_blob_new(frame, frame_len);
    char *id = malloc(id_len + 1);
    char *node = node_id ? strdup(node_id) : NULL;
    if (!b || !id || (node_id && !node)) {
        mk_blob_unref(b);
        free(id);
        free(node);
        return 0;
    }
    memcpy(id, sse_id, id_len);
    id[id_len] = '\0';
    int queued = 0;
    hist old = {0};
    hist *fresh = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->cfg.history > 0 && !r->slots) {
        /* the topic's first event in this space: its ring now, made outside
         * the lock; out of memory, the event goes out but is not kept */
        pthread_mutex_unlock(&h->lock);
        fresh = calloc(h->cfg.history, sizeof *fresh);
        pthread_mutex_lock(&h->lock);
        if (fresh && !r->slots) {
            r->slots = fresh;
            r->cap = h->cfg.history;
            r->head = r->len = 0;
            fresh = NULL;
        }
    }
    if (r->slots) {
        /* the frame it evicts gives back what it was charged */
        size_t out = r->len == r->cap ? r->slots[r->head].frame->len : 0;
        if (sp->budget) {
            if (frame_len > out && !mk_budget_take(sp->budget, frame_len - out)) {
                pthread_mutex_unlock(&h->lock);
                free(fresh);
                free(id);
                free(node);
                mk_blob_unref(b);
                return -1;
            }
            if (out > frame_len)
                mk_budget_give(sp->budget, out - frame_len);
            sp->hist_bytes = sp->hist_bytes + frame_len - out;
        }
        if (r->len == r->cap) {
            old = r->slots[r->head];
            r->head = (r->head + 1) % r->cap;
            r->len--;
        }
        hist *e = &r->slots[(r->head + r->len) % r->cap];
        e->id = id;
        e->node = node;
        e->frame = mk_blob_ref(b);
        r->len++;
        id = NULL;
        node = NULL;
    }
    sp->published++;
    for (client *c = h->clients; c; c = c->next) {
        if (c->sp != sp || c->topic != topic || (node_id && strcmp(c->node, node_id) != 0))
            continue;
        /* drop-newest: the client keeps a gap-free prefix */
        if (c->overflowed || c->len - c->pinned - c->ctl >= h->cfg.queue_max || push(c, b) != 0) {
            c->dropped++;
            sp->dropped++;
            c->overflowed = true;
        } else {
            queued++;
        }
    }
    pthread_mutex_unlock(&h->lock);
    free(fresh); /* another publish made the ring meanwhile */
    free(id);
    free(node);
    hist_free(&old);
    mk_blob_unref(b);
    wake(h);
    return queued;
}

void mk_sse_status(mk_sse_hub *h, mk_sse_space *sp, mk_buf *out)
{
    if (!h || !sp)
        return;
    int64_t now = now_ns();
    pthread_mutex_lock(&h->lock);
    mk_buf_printf(out,
                  "{\"connected\":%d,\"max_clients\":%u,\"queue_max\":%u,\"history\":%u,"
                  "\"history_len\":%u,\"published\":%llu,\"delivered\":%llu,\"dropped\":%llu,"
                  "\"attached\":%llu,\"refused\":%llu,\"closed\":%llu,\"stalled\":%llu,"
                  "\"stall_ms\":%u,\"drop_policy\":\"newest\",\"faults\":{",
                  sp->nclients, h->cfg.max_clients, h->cfg.queue_max, h->cfg.history,
                  sp->hist[MK_TOPIC_NODE].len,
                  (unsigned long long)sp->published, (unsigned long long)sp->delivered,
                  (unsigned long long)sp->dropped, (unsigned long long)sp->attached_total,
                  (unsigned long long)sp->refused, (unsigned long long)sp->closed,
                  (unsigned long long)sp->stalled, h->cfg.stall_ms);
    for (int k = 0; k < FK_N; k++)
        mk_buf_printf(out, "\"%s\":%llu,", fk_names[k], (unsigned long long)sp->faults[k]);
    mk_buf_printf(out, "\"ended\":%llu},\"clients\":[", (unsigned long long)sp->fault_ends);
    /* oldest first: the list is newest first */
    client *last = h->clients;
    while (last && last->next)
        last = last->next;
    bool first_c = true;
    for (client *c = last; c; c = c->prev) {
        if (c->sp != sp || is_feed(c))
            continue;
        mk_buf_printf(out, "%s{\"id\":%llu,\"node_id\":", first_c ? "" : ",", (unsigned long long)c->id);
        first_c = false;
        gj_write_string(out, c->node, strlen(c->node)); /* any bytes from a path: valid JSON */
        mk_buf_puts(out, ",\"peer\":");
        gj_write_string(out, c->peer, strlen(c->peer));
        mk_buf_printf(out,
                      ",\"connected_ms\":%lld,\"queued\":%u,\"delivered\":%llu,"
                      "\"dropped\":%llu,\"replayed\":%llu,\"keepalives\":%llu,\"overflowed\":%s",
                      (long long)((now - c->connected_ns) / 1000000), c->len - c->pinned - c->ctl,
                      (unsigned long long)c->delivered, (unsigned long long)c->dropped,
                      (unsigned long long)c->replayed, (unsigned long long)c->keepalives,
                      c->overflowed ? "true" : "false");
        /* the stream faults applied to it, oldest first */
        mk_buf_printf(out, ",\"faults_applied\":%llu,\"faults\":[", (unsigned long long)c->nfaults);
        uint64_t first = c->nfaults > MK_SSE_FAULT_LOG ? c->nfaults - MK_SSE_FAULT_LOG : 0;
        for (uint64_t i = first; i < c->nfaults; i++) {
            const char *t = c->flog ? c->flog[i % MK_SSE_FAULT_LOG] : NULL;
            if (i > first)
                mk_buf_putc(out, ',');
            gj_write_string(out, t ? t : "", t ? strlen(t) : 0);
        }
        mk_buf_puts(out, "]}");
    }
    pthread_mutex_unlock(&h->lock);
    mk_buf_puts(out, "]}\n");
}

void mk_sse_clear_history(mk_sse_hub *h, mk_sse_space *sp)
{
    if (!h || !sp)
        return;
    /* the rings leave the space whole (back to idle size) and are freed
     * outside the lock; the next publish makes a new one */
    ring old[MK_TOPIC_COUNT];
    pthread_mutex_lock(&h->lock);
    for (int k = 0; k < MK_TOPIC_COUNT; k++) {
        old[k] = sp->hist[k];
        sp->hist[k] = (ring){0};
    }
    char *nonce = sp->last_nonce;
    sp->last_nonce = NULL;
    if (sp->budget && sp->hist_bytes)
        mk_budget_give(sp->budget, sp->hist_bytes);
    sp->hist_bytes = 0;
    pthread_mutex_unlock(&h->lock);
    free(nonce);
    for (int k = 0; k < MK_TOPIC_COUNT; k++)
        ring_free(&old[k]);
}

/* Streams of topic (-1: all) in sp (NULL: every space). Under lock. */
static int count_locked(const mk_sse_hub *h, const mk_sse_space *sp, int topic)
{
    if (sp)
        return topic < 0 ? sp->nclients : sp->topic_clients[topic];
    return topic < 0 ? h->nclients : h->topic_clients[topic];
}

int mk_sse_count(mk_sse_hub *h, mk_sse_space *sp, int topic)
{
    if (!h)
        return 0;
    pthread_mutex_lock(&h->lock);
    int n = count_locked(h, sp, topic);
    pthread_mutex_unlock(&h->lock);
    return n;
}

int mk_sse_wait_clients(mk_sse_hub *h, mk_sse_space *sp, mk_topic topic, int n, unsigned timeout_ms)
{
    if (!h)
        return 0;
    struct timespec dl = mk_deadline(timeout_ms);
    pthread_mutex_lock(&h->lock);
    /* every attach and leave of any space broadcasts: each waiter checks
     * its own space; one whose space ends returns then */
    uint64_t ends = sp ? sp->ends : 0;
    while (count_locked(h, sp, (int)topic) < n && !atomic_load(&h->stop) && (!sp || sp->ends == ends))
        if (pthread_cond_timedwait(&h->attached, &h->lock, &dl) == ETIMEDOUT)
            break;
    int got = count_locked(h, sp, (int)topic);
    pthread_mutex_unlock(&h->lock);
    return got;
}

/* ---- the hub thread ----------------------------------------------------- */

typedef struct work {
    client *c;
    int n;              /* 0: no frames, only the drain check below */
    bool idle;          /* nothing to do but update its epoll interest */
    mk_blob *frames[MAX_IOV];
    size_t off;
    size_t part_end;    /* >0: frames[n-1] is written up to here only (cut-mid) */
    bool stop;          /* a cut: the stream ends once all `want` bytes are out */
    size_t want;
    ssize_t wrote;      /* result */
    int err;
    int unacked;        /* drain check: bytes the client has not acknowledged yet */
} work;

/* What c may write now under its cuts (sse.h): its first n queued frames,
 * the last of them only up to part_end bytes when part_end > 0; stop: the
 * stream ends once they are out (n == 0: at once). Under lock. */
typedef struct plan {
    unsigned n;
    size_t part_end;
    bool stop;
} plan;

static plan plan_writes(const mk_sse_hub *h, const client *c)
{
    plan p = {0, 0, false};
    bool cut = c->cut_left >= 0 || c->cut_mid;
    int64_t target = c->cut_left < 0 ? 0 : c->cut_left; /* events before the end (or the halved one) */
    int64_t seen = 0;
    unsigned k = 0;
    for (; k < c->len && p.n < MAX_IOV; k++) {
        if (cut && is_event(h, c, k)) {
            if (seen == target) {
                p.stop = true;
                size_t half = c->q[(c->head + k) % c->cap]->len / 2;
                /* begun before the cut came (a race with a fault): more
                 * than half is out already, still a partial frame */
                if (c->cut_mid && !(k == 0 && c->off >= half)) {
                    p.part_end = half;
                    p.n++;
                }
                return p;
            }
            seen++;
        }
        p.n++;
    }
    if (k == c->len && c->cut_left >= 0 && !c->cut_mid && seen == c->cut_left)
        p.stop = true; /* nothing queued past the last allowed event */
    return p;
}

/* Removes c from the list (under lock) and counts it. */
static void unlink_locked(mk_sse_hub *h, client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nclients--;
    h->topic_clients[c->topic]--;
    c->sp->topic_clients[c->topic]--;
    if (is_feed(c)) {
        atomic_fetch_sub(&h->nfeeds, 1);
    } else {
        c->sp->nclients--;
        c->sp->closed++;
    }
    pthread_cond_broadcast(&h->attached);
    if (h->cfg.notify)
        h->cfg.notify(h->cfg.notify_arg);
}

/* Whether feed c could take a frame now: everything before is written.
 * Under lock. */
static bool can_pull(const client *c)
{
    return is_feed(c) && c->len == 0 && !c->dead && !c->end && c->cut_left < 0 /* ending after its head */ &&
           !c->blocked;
}

/* Whether feed c has something to pull once its time comes; pending: a
 * change the hub has not handed to its feeds yet (h->feed_dirty). */
static bool wants_pull(const client *c, bool pending)
{
    return can_pull(c) && (c->feed_dirty || c->feed_more || pending);
}

/* Pulls the next frame of every feed that is due (sse.h "A feed stream"),
 * with the hub lock released around the pulls: a pull reads the journal
 * under its session's locks, which are never taken inside the hub's. */
static void pull_feeds(mk_sse_hub *h, client ***pl, size_t *pcap, int64_t now)
{
    if (atomic_load_explicit(&h->nfeeds, memory_order_relaxed) == 0)
        return;
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    /* A change is handed to the feeds (and the flag cleared, so that the
     * next one wakes the hub again) only once one of them may pull: until
     * then the flag stays set and changes cost no wake; the hub comes back
     * when the first feed's flush is due (hub_main). */
    bool due = false;
    for (client *c = h->clients; c && !due; c = c->next)
        due = can_pull(c) && c->next_pull_ns <= now;
    if (due && atomic_exchange(&h->feed_dirty, false)) /* before the pulls: a later change wakes again */
        for (client *c = h->clients; c; c = c->next)
            if (is_feed(c))
                c->feed_dirty = true;
    for (client *c = h->clients; c; c = c->next) {
        if (!wants_pull(c, false) || c->next_pull_ns > now)
            continue;
        if (n == *pcap) {
            size_t ncap = *pcap ? *pcap * 2 : 16;
            client **p = realloc(*pl, ncap * sizeof *p);
            if (!p)
                break; /* the rest on a later round */
            *pl = p;
            *pcap = ncap;
        }
        (*pl)[n++] = c;
        c->feed_dirty = false;
    }
    pthread_mutex_unlock(&h->lock);
    /* only this thread frees clients: the listed ones stay valid */
    for (size_t i = 0; i < n; i++) {
        client *c = (*pl)[i];
        mk_buf out;
        mk_buf_init(&out, 0);
        mk_sse_more more = MK_SSE_MORE_NONE;
        int r = c->src.pull(c->src.arg, &out, &more);
        mk_blob *b = r == 0 && out.len > 0 && !out.err ? mk_blob_new(out.data, out.len) : NULL;
        pthread_mutex_lock(&h->lock);
        if (r != 0 || out.err || (out.len > 0 && !b)) {
            c->dead = true; /* the page resumes from where it got to */
        } else {
            if (b)
                push(c, b); /* the queue is empty: room */
            c->feed_more = more != MK_SSE_MORE_NONE;
            c->next_pull_ns = more == MK_SSE_MORE_NOW ? now : now + (int64_t)MK_SSE_FEED_FLUSH_MS * 1000000LL;
        }
        pthread_mutex_unlock(&h->lock);
        mk_blob_unref(b);
        mk_buf_free(&out);
    }
}

static void *hub_main(void *arg)
{
    mk_sse_hub *h = arg;
    struct epoll_event evs[MAX_EVENTS];
    work *wl = NULL;
    size_t wcap = 0;
    client **pl = NULL; /* the feeds to pull from (pull_feeds) */
    size_t pcap = 0;
    bool draining = false; /* an overflowed client's prefix is still in flight */
    for (;;) {
        /* sleep until the nearest keep-alive is due, or an event */
        int64_t now = now_ns(), due = now + (int64_t)h->cfg.keepalive_ms * 1000000LL;
        bool pending = atomic_load(&h->feed_dirty);
        pthread_mutex_lock(&h->lock);
        int64_t stall_ns = (int64_t)h->cfg.stall_ms * 1000000LL;
        for (client *c = h->clients; c; c = c->next) {
            if (c->stall_until_ns > now) { /* stalled: nothing is due before its end */
                if (c->stall_until_ns < due)
                    due = c->stall_until_ns;
                continue;
            }
            if (c->next_ka_ns < due)
                due = c->next_ka_ns;
            if (stall_ns && (c->len > 0 || c->overflowed) && c->progress_ns + stall_ns < due)
                due = c->progress_ns + stall_ns; /* when it counts as stalled */
            if (wants_pull(c, pending) && c->next_pull_ns < due)
                due = c->next_pull_ns;
        }
        pthread_mutex_unlock(&h->lock);
        int timeout = due <= now ? 0 : (int)((due - now) / 1000000LL) + 1;
        if (draining && timeout > 50)
            timeout = 50; /* the kernel has no event for "the peer read it all" */
        int ne = epoll_wait(h->epfd, evs, MAX_EVENTS, timeout);
        if (atomic_load(&h->stop))
            break;
        for (int i = 0; i < ne; i++) {
            if (evs[i].data.ptr == NULL) { /* the eventfd */
                uint64_t v;
                ssize_t r = read(h->evfd, &v, sizeof v);
                (void)r;
                continue;
            }
            client *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
                c->dead = true;
            } else if (evs[i].events & EPOLLIN) {
                /* a stream client has nothing to say: EOF means it left */
                char junk[512];
                ssize_t r = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                    c->dead = true;
            }
            if (evs[i].events & EPOLLOUT)
                c->blocked = false;
        }

        now = now_ns();
        pull_feeds(h, &pl, &pcap, now);

        /* collect what to write, under the lock; write outside it */
        size_t nw = 0;
        pthread_mutex_lock(&h->lock);
        if ((size_t)h->nclients > wcap) {
            size_t ncap = (size_t)h->nclients * 2;
            work *p = realloc(wl, ncap * sizeof *wl);
            if (p) {
                wl = p;
                wcap = ncap;
            }
        }
        for (client *c = h->clients; c && nw < wcap; c = c->next) {
            if (c->dead || c->end)
                continue; /* an end asked for is done below */
            bool stalled = c->stall_until_ns > now;
            if (stalled) {
                /* a stall fault: nothing goes out but the rest of a frame
                 * begun (the head, or one half written), and that is not
                 * stuck output; a socket that became writable is disarmed */
                c->progress_ns = now;
                if (!(c->first_not_event && c->len > 0 && !c->blocked)) {
                    if (c->armed_out && !c->blocked)
                        wl[nw++] = (work){.c = c, .idle = true};
                    continue;
                }
            }
            /* stuck output: end the stream so its slot frees up (sse.h) */
            if (!(c->len > 0 || c->overflowed))
                c->progress_ns = now;
            else if (stall_ns && now - c->progress_ns >= stall_ns) {
                c->dead = true;
                if (!is_feed(c))
                    c->sp->stalled++;
                continue;
            }
            if (now >= c->next_ka_ns && !stalled) {
                if (c->len == 0 && !c->overflowed) { /* an idle stream gets a keep-alive */
                    push(c, h->keepalive);
                    c->keepalives++;
                }
                c->next_ka_ns = now + (int64_t)h->cfg.keepalive_ms * 1000000LL;
            }
            bool drain_check = c->overflowed && c->len == 0;
            plan p = plan_writes(h, c);
            if (stalled && p.n > 1)
                p = (plan){.n = 1}; /* the frame begun only (never an event) */
            if (!drain_check && p.stop && p.n == 0) { /* a cut is reached */
                c->dead = true;
                count_fault_end(c);
                continue;
            }
            if (!drain_check && (c->blocked || c->len == 0))
                continue;
            work *w = &wl[nw++];
            w->c = c;
            w->idle = false;
            w->off = c->off;
            w->n = 0;
            w->unacked = 0;
            w->part_end = p.part_end;
            w->stop = p.stop;
            w->want = 0;
            if (drain_check)
                continue;
            for (unsigned k = 0; k < p.n; k++)
                w->frames[w->n++] = mk_blob_ref(c->q[(c->head + k) % c->cap]);
        }
        pthread_mutex_unlock(&h->lock);

        for (size_t i = 0; i < nw; i++) {
            work *w = &wl[i];
            if (w->idle)
                continue;
            if (w->n == 0) {
                /* everything queued was written; has the client received it
                 * (the send queue holds what is unsent or unacknowledged)? */
                if (ioctl(w->c->fd, SIOCOUTQ, &w->unacked) != 0)
                    w->unacked = 0;
                w->wrote = 0;
                w->err = 0;
                continue;
            }
            struct iovec iov[MAX_IOV];
            for (int k = 0; k < w->n; k++) {
                size_t skip = k == 0 ? w->off : 0;
                size_t end = k == w->n - 1 && w->part_end ? w->part_end : w->frames[k]->len;
                iov[k].iov_base = w->frames[k]->data + skip;
                iov[k].iov_len = end - skip;
                w->want += end - skip;
            }
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)w->n};
            w->wrote = sendmsg(w->c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
            w->err = w->wrote < 0 ? errno : 0;
        }

        /* account for what went out; drop the dead */
        client *dead = NULL;
        draining = false;
        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < nw; i++) {
            work *w = &wl[i];
            client *c = w->c;
            if (w->idle)
                continue;
            if (w->n == 0) {
                if (w->unacked < c->last_unacked || c->last_unacked == 0)
                    c->progress_ns = now; /* the client acknowledged more */
                c->last_unacked = w->unacked;
                /* the gap-free prefix has reached the client: end it (sse.h) */
                if (w->unacked == 0)
                    c->dead = true;
                else
                    draining = true;
                continue;
            }
            if (w->wrote < 0) {
                if (w->err == EAGAIN || w->err == EWOULDBLOCK)
                    c->blocked = true;
                else if (w->err != EINTR)
                    c->dead = true;
                continue;
            }
            if (w->wrote > 0)
                c->progress_ns = now;
            size_t left = (size_t)w->wrote + c->off;
            while (c->len > 0 && left >= c->q[c->head]->len) {
                mk_blob *f = c->q[c->head];
                bool ev = is_event(h, c, 0);
                left -= f->len;
                c->first_not_event = false;
                if (c->pinned > 0)
                    c->pinned--;
                else if (is_ctl(f))
                    c->ctl--;
                else if (f != h->keepalive) {
                    c->delivered++;
                    if (!is_feed(c))
                        c->sp->delivered++;
                }
                mk_blob_unref(f);
                c->head = (c->head + 1) % c->cap;
                c->len--;
                /* cut-after: the last allowed event is out */
                if (ev && c->cut_left > 0 && --c->cut_left == 0 && !c->cut_mid && !c->dead) {
                    c->dead = true;
                    count_fault_end(c);
                }
            }
            c->off = c->len > 0 ? left : 0;
            if (w->stop && (size_t)w->wrote == w->want && !c->dead) { /* the cut is out */
                c->dead = true;
                count_fault_end(c);
            }
            if (c->len > 0)
                c->blocked = true; /* short write: the socket is full */
            else if (c->overflowed)
                draining = true; /* checked for delivery on the next pass */
        }
        for (client *c = h->clients, *nx; c; c = nx) {
            nx = c->next;
            if (c->end && !c->dead) { /* asked for by a fault, a disconnect or its space's end */
                c->dead = true;
                c->rst = c->end == END_RST;
                count_fault_end(c);
            }
            if (c->dead) {
                unlink_locked(h, c);
                c->next = dead;
                dead = c;
            }
        }
        pthread_mutex_unlock(&h->lock);

        for (size_t i = 0; i < nw; i++) {
            for (int k = 0; k < wl[i].n; k++)
                mk_blob_unref(wl[i].frames[k]);
            client *c = wl[i].c;
            if (!c->dead && c->blocked != c->armed_out) { /* only a change costs a call */
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (c->blocked ? EPOLLOUT : 0),
                                         .data.ptr = c};
                epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
                c->armed_out = c->blocked;
            }
        }
        while (dead) {
            client *c = dead;
            dead = c->next;
            epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
            if (c->rst) { /* the reset fault: RST, not FIN */
                struct linger lg = {.l_onoff = 1, .l_linger = 0};
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            close(c->fd);
            client_free(c);
        }
    }
    free(wl);
    free(pl);
    return NULL;
}

int mk_sse_start(mk_sse_hub **out, const mk_sse_config *cfg, char *err, size_t errlen)
{
    mk_sse_hub *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->cfg = *cfg; /* defaults were applied by mockapi_create */
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h->keepalive = mk_blob_new(": keep-alive\n", 13);
    atomic_init(&h->stop, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (h->epfd < 0 || h->evfd < 0 || !h->keepalive ||
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->evfd, &ev) != 0) {
        char eb[128];
        snprintf(err, errlen, "cannot set up the event-stream hub: %s", strerror_r(errno, eb, sizeof eb));
        goto fail;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->attached, NULL);
    if (pthread_create(&h->thread, NULL, hub_main, h) != 0) {
        pthread_cond_destroy(&h->attached);
        pthread_mutex_destroy(&h->lock);
        snprintf(err, errlen, "cannot start the event-stream thread");
        goto fail;
    }
    *out = h;
    return 0;
fail:
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->evfd >= 0)
        close(h->evfd);
    mk_blob_unref(h->keepalive);
    free(h);
    return -1;
}

void mk_sse_interrupt(mk_sse_hub *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, 1);
    pthread_mutex_lock(&h->lock);
    pthread_cond_broadcast(&h->attached); /* release waiters */
    pthread_mutex_unlock(&h->lock);
    wake(h);
}

void mk_sse_stop(mk_sse_hub *h)
{
    if (!h)
        return;
    mk_sse_interrupt(h);
    pthread_join(h->thread, NULL);
    /* the reference cuts open streams on Close(); so do we. Their spaces
     * live on (a session's outlives a restart) and count them closed. */
    for (client *c = h->clients, *nx; c; c = nx) {
        nx = c->next;
        c->sp->topic_clients[c->topic]--;
        if (!is_feed(c)) {
            c->sp->nclients--;
            c->sp->closed++;
        }
        close(c->fd);
        client_free(c);
    }
    mk_blob_unref(h->keepalive);
    close(h->epfd);
    close(h->evfd);
    pthread_cond_destroy(&h->attached);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
