/* loop.c: the event loop; see loop.h for what it does and why.
 *
 * Each thread owns an epoll set, the connections it accepted and these
 * lists: the deadline list (every deadline there is "now + request_timeout_ms"
 * when set, so appending keeps it sorted and the next expiry is at the head),
 * the parked list (connections whose /test/wait is pending, each with its
 * own deadline; few, so scanned), the again list (TLS connections with
 * decrypted input epoll cannot report; see again_add) and the release list
 * (connections gone idle, oldest first; see went_idle). Connections a
 * fault holds (delayed, hung, slowed: see fhold) are on a fifth, the held
 * list, and those with a time to wake at on the thread's timer heap. The
 * lists are one intrusive list type (lnode). Listening sockets
 * are in every thread's set with EPOLLEXCLUSIVE. A connection's epoll
 * interest follows its phase: reading (EPOLLIN), writing a response
 * (EPOLLOUT), handshaking (what TLS wants), parked (EPOLLRDHUP only: a
 * client that stops waiting is noticed, nothing is read; held by a fault,
 * the same). So a client that
 * does not read its responses is not read from either, and no phase spins. */
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "dispatch.h"
#include "http1.h"
#include "errors.h"
#include "sse.h"

enum {
    MAX_THREADS = 4,
    MAX_EVENTS = 128,
    IN_MIN = 4096,
    READ_MAX = 65536,
    ACCEPT_BATCH = 64,
    ACCEPT_PAUSE_MS = 100,
    RELEASE_AFTER_MS = 100,
    PIECE = 65536,            /* a producer's piece (mk_producer), per connection */
    MMAP_MIN = 131072,        /* allocations this large are mmap'd (see mk_loop_start) */
    TRIM_AFTER = 16 << 20,    /* bytes freed by writers before the heap is trimmed */
    /* parked waits are checked again at most this often after changes: on
     * a busy server every round of requests is a change, and checking 60
     * waits after each round cost 40% of the throughput; a wait learns of
     * its condition at most this much later */
    RECHECK_MS = 1,
    SLOW_TICK_MS = 20,        /* a slowed response's writes: one slice this often */
    DRAIN_TICK_MS = 10,       /* partial+rst: how often the send queue is looked at */
};

/* How a connection ends: as usual (TLS says close_notify), with a FIN and
 * nothing more from TLS, or with a reset (SO_LINGER 0). The last two are
 * faults' (fault.h). */
enum { CLOSE_NORMAL, CLOSE_FIN, CLOSE_RST };

enum { TAG_CONN = 1, TAG_LISTEN = 2 };

/* A node of a circular, doubly linked list with a sentinel; a member not on
 * any list has NULL links. */
typedef struct lnode {
    struct lnode *prev, *next;
} lnode;

static void ln_init(lnode *head)
{
    head->prev = head->next = head;
}

static bool ln_empty(const lnode *head)
{
    return head->next == head;
}

static void ln_del(lnode *n)
{
    if (n->next) {
        n->prev->next = n->next;
        n->next->prev = n->prev;
    }
    n->prev = n->next = NULL;
}

/* Appends n (taken off any list first). */
static void ln_push(lnode *head, lnode *n)
{
    ln_del(n);
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

/* Moves every member of src to the empty list dst. */
static void ln_take(lnode *dst, lnode *src)
{
    ln_init(dst);
    if (ln_empty(src))
        return;
    dst->next = src->next;
    dst->prev = src->prev;
    dst->next->prev = dst;
    dst->prev->next = dst;
    ln_init(src);
}

#define CONN_OF(node, field) ((conn *)((char *)(node) - offsetof(conn, field)))

typedef struct lsock {
    int tag; /* TAG_LISTEN; first, as in conn: epoll's data.ptr names either */
    int fd, listener;
    mk_tls_server *tls;
    /* A region taken down (mk_loop_listener_down): the socket is shut, not
     * closed, so fd stays this socket's while any thread may still accept
     * on it or hold it in its set; each thread drops it from its set and
     * ends the connections it accepted before the latest down (epoch). */
    atomic_bool down;
    atomic_uint epoch; /* downs so far */
} lsock;

typedef struct conn {
    int tag;                  /* TAG_CONN */
    lnode dl;                 /* on the deadline list or the parked list */
    lnode al;                 /* on the again list (TLS) */
    lnode rl;                 /* on the release list */
    int64_t idle_at;          /* on the release list: when it went idle */
    int fd, listener;
    unsigned epoch;           /* its listener's lsock.epoch when accepted */
    mk_tls_session *tls;      /* NULL: plain, or a handshake that has not begun */
    mk_tls_server *tls_srv;   /* a TLS listener's connection: its configuration */
    bool handshaking;
    bool parked;
    bool closing;             /* close once the pending response is written */
    bool eof;                 /* the client shut its side */
    bool resume;              /* after the pending output (a 100 Continue), serve again */
    uint32_t interest;        /* epoll events asked for */
    int64_t deadline;
    int64_t wait_started, wait_until;
    mk_body_status wait_bs;   /* the parked request's body status, to run it again with */
    mk_wait_slot *wait_slot;  /* the parked wait's parsed condition and progress (dispatch.h) */
    atomic_int *waiters_at;   /* parked: where it counted itself (its session's state) */
    /* the request being read */
    bool framed;              /* its head is parsed: the fields below are valid */
    bool chunked;
    size_t head_len;
    uint64_t content_length;
    mk_chunked ch;
    char *in;                 /* bytes read: the thread's read buffer while
                               * in_borrowed (during one read), else owned */
    size_t in_len, in_cap;
    bool in_borrowed;
    char *out;                /* the response's head (and body, unless one of
                               * the two below carries it); non-NULL until the
                               * whole response is written */
    size_t out_len, out_off;
    bool out_static;          /* out points at static storage (a refusal) */
    mk_blob *body;            /* after out: a shared body, by reference */
    size_t body_off;
    mk_producer prod;         /* after out: a body made piece by piece */
    char *piece;              /* the producer's latest piece (PIECE bytes) */
    size_t piece_len, piece_off;
    size_t held;              /* bytes of c's own counted in m->out_held */
    struct fhold *fh;         /* a fault being applied to the response (fault.h) */
} conn;

/* The phases of a faulted response. In the held ones (all but FH_WRITE)
 * the connection is on the thread's held list instead of the deadline list
 * (the fault's own clock rules: a delay or a hang longer than
 * request_timeout_ms is no timeout), its epoll interest is EPOLLRDHUP only
 * (a client that leaves is noticed, nothing is read), and it is on the
 * timer heap when it has a time to wake at. */
enum {
    FH_DELAY = 1, /* the built response waits for its time */
    FH_HANG,      /* nothing is written: until wake (hang=ms), or the client or stop */
    FH_SLOW,      /* written in slices, one each SLOW_TICK_MS, at slow_bps */
    FH_DRAIN,     /* partial+rst: the bytes are out of the socket, then the reset */
    FH_WRITE,     /* written as usual (not held), maybe cut at cap */
};

/* A fault's hold on a connection, made when run_request gets a faulted
 * response and freed when that response is done or the connection ends.
 * Its memory (this and the response held) is all a delayed, slowed or hung
 * request costs: no thread waits for it. */
typedef struct fhold {
    mk_fault f;
    int phase;
    int64_t delay_until;   /* 0: no delay (any more) */
    int64_t wake;          /* on the timer heap: when */
    size_t hidx;           /* 1 + its index in the timer heap; 0: not there */
    uint64_t sent;         /* bytes of the response written */
    uint64_t cap;          /* bytes after which the response is cut (partial) */
    /* FH_SLOW */
    int64_t since;         /* when pacing began */
    uint64_t paced;        /* bytes the pace has accounted for since */
    int64_t progress_at;   /* the latest write the socket took */
    size_t retry_len;      /* TLS: a record queued, to offer again whole */
    int64_t drain_until;   /* FH_DRAIN: the reset goes at the latest then */
    /* a delayed event stream: what its hand-over to the hub needs */
    bool stream;
    int topic;
    char *node, *leid;
    struct mk_sse_space *space; /* the stream's session space (a reference) */
} fhold;

typedef struct lthread {
    mk_loop *l;
    pthread_t tid;
    bool running;
    int64_t now; /* mk_mono_ms() after the latest epoll_wait */
    int epfd, wakefd;
    lnode list;    /* the deadline list (conn.dl) */
    lnode parked;  /* the parked list (conn.dl) */
    lnode again;   /* the again list: TLS input left decrypted (conn.al) */
    lnode release; /* the release list: gone idle, oldest first (conn.rl) */
    lnode held;    /* held by a fault (conn.dl; see fhold) */
    conn **heap;   /* the timer heap: held connections by fh->wake, a binary
                    * min-heap, so 1,000 delayed or hung requests cost
                    * O(log n) each, and nothing per round */
    size_t hn, hcap;
    atomic_int nparked;
    atomic_bool recheck;
    int64_t rechecked_at;     /* the last re-check of every parked wait */
    int nlisten;              /* listening sockets this thread knows of */
    bool lin[MK_MAX_LISTENERS];      /* ls[i] is in this thread's set */
    unsigned lepoch[MK_MAX_LISTENERS]; /* ls[i].epoch whose connections this thread ended */
    atomic_bool lsync;        /* a listener went down or up: see listen_sync */
    int64_t accept_paused_until; /* 0: accepting */
    int64_t heap_trimmed_at;  /* release_idle's last malloc_trim */
    size_t freed;             /* bytes writers freed since the last trim */
    char *scratch;            /* a parsed copy of the current head */
    char *rbuf;               /* the read buffer connections borrow (see keep_input) */
    size_t rcap;
} lthread;

struct mk_loop {
    mockapi *m;
    int nthreads;
    atomic_bool stopping;
    pthread_mutex_t lock;     /* guards ls[] and nls */
    lsock ls[MK_MAX_LISTENERS];
    atomic_int nls;
    atomic_llong last_emfile_log;
    lthread th[MAX_THREADS];
};

/* ---- bookkeeping -------------------------------------------------------- */

/* The again list: TLS connections that on_readable left with decrypted
 * bytes inside mbedTLS (its round bound). epoll will not report those
 * bytes, and the client may send nothing more until it has its answers, so
 * the loop comes back to them itself after the next round of events. */
static void again_add(lthread *t, conn *c)
{
    if (!c->al.next)
        ln_push(&t->again, &c->al);
}

/* Off every list: before c is freed or handed on. */
static void unlist(conn *c)
{
    ln_del(&c->dl);
    ln_del(&c->al);
    ln_del(&c->rl);
}

static void set_deadline(lthread *t, conn *c)
{
    c->deadline = t->now + t->l->m->cfg.request_timeout_ms;
    ln_push(&t->list, &c->dl);
}

static void interest(lthread *t, conn *c, uint32_t ev)
{
    if (c->interest == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->interest = ev;
}

/* ---- output held for writing: the global bound ------------------------- */

/* Brings c's share of m->out_held up to date: the bytes it owns for the
 * response being written (its head or whole response, the producer's
 * piece and whatever the producer keeps). Shared bodies count apart
 * (body_pin). The request path reads the sum to refuse large responses
 * past mockapi_config.max_buffered_bytes (respond.h mk_out_admit). */
static void account(lthread *t, conn *c)
{
    size_t now = 0;
    if (c->out && !c->out_static)
        now += c->out_len;
    if (c->piece)
        now += PIECE;
    if (c->prod.held)
        now += c->prod.held(c->prod.arg);
    if (now == c->held)
        return;
    if (now > c->held)
        atomic_fetch_add_explicit(&t->l->m->out_held, now - c->held, memory_order_relaxed);
    else {
        atomic_fetch_sub_explicit(&t->l->m->out_held, c->held - now, memory_order_relaxed);
        t->freed += c->held - now;
    }
    c->held = now;
}

/* A shared body counts once while anyone writes it (state.h `writers`). */
static void body_pin(lthread *t, conn *c, mk_blob *b)
{
    c->body = b;
    c->body_off = 0;
    if (atomic_fetch_add(&b->writers, 1) == 0)
        atomic_fetch_add_explicit(&t->l->m->out_held, b->len, memory_order_relaxed);
}

/* Drops the body and the producer (the response is done, or c ends). */
static void body_drop(lthread *t, conn *c)
{
    if (c->body) {
        if (atomic_fetch_sub(&c->body->writers, 1) == 1) {
            atomic_fetch_sub_explicit(&t->l->m->out_held, c->body->len, memory_order_relaxed);
            t->freed += c->body->len; /* if this was the last reference */
        }
        mk_blob_unref(c->body);
        c->body = NULL;
    }
    if (c->prod.free)
        c->prod.free(c->prod.arg);
    c->prod = (mk_producer){0};
    free(c->piece);
    c->piece = NULL;
    c->piece_len = c->piece_off = 0;
}

/* ---- the timer heap (held connections by fh->wake) ---------------------- */

static void heap_put(lthread *t, size_t i, conn *c)
{
    t->heap[i] = c;
    c->fh->hidx = i + 1;
}

static void heap_up(lthread *t, size_t i)
{
    conn *c = t->heap[i];
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (t->heap[up]->fh->wake <= c->fh->wake)
            break;
        heap_put(t, i, t->heap[up]);
        i = up;
    }
    heap_put(t, i, c);
}

static void heap_down(lthread *t, size_t i)
{
    conn *c = t->heap[i];
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= t->hn)
            break;
        if (k + 1 < t->hn && t->heap[k + 1]->fh->wake < t->heap[k]->fh->wake)
            k++;
        if (t->heap[k]->fh->wake >= c->fh->wake)
            break;
        heap_put(t, i, t->heap[k]);
        i = k;
    }
    heap_put(t, i, c);
}

/* Wakes c (which has a fault hold) at `when`. false when out of memory. */
static bool timer_set(lthread *t, conn *c, int64_t when)
{
    fhold *h = c->fh;
    if (h->hidx) {
        bool earlier = when < h->wake;
        h->wake = when;
        if (earlier)
            heap_up(t, h->hidx - 1);
        else
            heap_down(t, h->hidx - 1);
        return true;
    }
    if (t->hn == t->hcap) {
        size_t cap = t->hcap ? t->hcap * 2 : 64;
        conn **p = realloc(t->heap, cap * sizeof *p);
        if (!p)
            return false;
        t->heap = p;
        t->hcap = cap;
    }
    h->wake = when;
    t->heap[t->hn++] = c;
    heap_up(t, t->hn - 1);
    return true;
}

static void timer_del(lthread *t, conn *c)
{
    fhold *h = c->fh;
    if (!h || !h->hidx)
        return;
    size_t i = h->hidx - 1;
    h->hidx = 0;
    if (i == --t->hn)
        return;
    conn *last = t->heap[t->hn];
    heap_put(t, i, last);
    heap_up(t, i);
    heap_down(t, last->fh->hidx - 1);
}

static void fault_free(lthread *t, conn *c)
{
    fhold *h = c->fh;
    if (!h)
        return;
    timer_del(t, c);
    free(h->node);
    free(h->leid);
    mk_sse_space_unref(h->space);
    free(h);
    c->fh = NULL;
}

static void free_conn(lthread *t, conn *c)
{
    if (!c->in_borrowed)
        free(c->in);
    body_drop(t, c);
    if (!c->out_static)
        free(c->out);
    c->out = NULL;
    account(t, c);
    mk_wait_slot_free(c->wait_slot);
    fault_free(t, c);
    free(c);
}

/* Counts a parked wait in or out: the state then wakes this thread on every
 * change (state.h `waiters`), before the wait's first check. */
static void wait_begin(lthread *t, conn *c)
{
    atomic_fetch_add(&t->nparked, 1);
    c->waiters_at = mk_wait_slot_waiters(t->l->m, c->wait_slot);
    atomic_fetch_add(c->waiters_at, 1);
}

/* Before the wait's slot goes (its session reference keeps the counter's
 * state alive): out where it counted in, even if a later run made a slot
 * the first could not. */
static void wait_end(lthread *t, conn *c)
{
    atomic_fetch_sub(c->waiters_at, 1);
    c->waiters_at = NULL;
    atomic_fetch_sub(&t->nparked, 1);
}

/* Ends the connection. Unread input is drained first (bounded): closing a
 * socket with unread bytes sends a reset, which can destroy a response
 * still in flight. */
static void close_conn_as(lthread *t, conn *c, int how)
{
    mk_tstat_inc(t->l->m, closed);
    unlist(c);
    if (c->parked)
        wait_end(t, c);
    if (how == CLOSE_NORMAL)
        mk_tls_session_free(c->tls);
    else
        mk_tls_session_drop(c->tls); /* a cut: no close_notify */
    if (how == CLOSE_RST) {
        /* close with a zero linger time sends a reset, not a FIN */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        shutdown(c->fd, SHUT_WR);
        char sink[4096];
        for (int i = 0; i < 16 && recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
            ;
    }
    close(c->fd); /* also leaves the epoll set */
    free_conn(t, c);
}

static void close_conn(lthread *t, conn *c)
{
    close_conn_as(t, c, CLOSE_NORMAL);
}

/* ---- bytes in and out (plain or TLS) ------------------------------------- */

enum { IO_AGAIN_READ = -2, IO_AGAIN_WRITE = -3, IO_FAIL = -1 };

static long io_recv(conn *c, char *p, size_t n)
{
    if (c->tls) {
        long r = mk_tls_read(c->tls, p, n);
        return r == MK_TLS_WANT_READ ? IO_AGAIN_READ : r == MK_TLS_WANT_WRITE ? IO_AGAIN_WRITE : r;
    }
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN_READ : IO_FAIL;
    }
}

/* more: further bytes follow at once (a head before its body): the kernel
 * may wait for them to fill a packet. */
static long io_send(conn *c, const char *p, size_t n, bool more)
{
    if (c->tls) {
        long r = mk_tls_write(c->tls, p, n);
        return r == MK_TLS_WANT_READ ? IO_AGAIN_READ : r == MK_TLS_WANT_WRITE ? IO_AGAIN_WRITE : r;
    }
    for (;;) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN_WRITE : IO_FAIL;
    }
}

/* An idle connection holds no buffer: once it has been idle for
 * RELEASE_AFTER_MS its input buffer is freed (a keep-alive client between
 * requests costs its struct only) and a TLS connection gives its record
 * buffers' pages back (5,000 idle TLS clients would otherwise hold ~170 MB).
 * Not at once: a busy connection would pay a malloc and a free (and for TLS
 * two system calls) per request. Connections that go idle join the release
 * list, oldest first; the loop releases from its head (release_idle). */
static void went_idle(lthread *t, conn *c)
{
    if (c->in_len != 0 || c->out || c->parked || c->fh || (!c->tls && !c->in))
        return;
    c->idle_at = t->now;
    ln_push(&t->release, &c->rl); /* to the tail: the list stays ordered by idle_at */
}

static void release_idle(lthread *t)
{
    int freed = 0;
    while (!ln_empty(&t->release) &&
           CONN_OF(t->release.next, rl)->idle_at + RELEASE_AFTER_MS <= t->now) {
        conn *c = CONN_OF(t->release.next, rl);
        ln_del(&c->rl);
        if (c->in_len != 0 || c->out || c->parked || c->handshaking || c->fh)
            continue; /* busy again since */
        if (!c->in_borrowed) {
            freed += c->in != NULL;
            free(c->in);
            c->in = NULL;
            c->in_cap = 0;
        }
        if (c->tls)
            mk_tls_trim(c->tls);
    }
    /* After many clients went idle together, their freed buffers lie all
     * over the heap, where malloc keeps them resident: give those pages
     * back too (a walk of the heap, so only for a crowd, once a second). */
    if (freed >= 64 && t->now - t->heap_trimmed_at >= 1000) {
        malloc_trim(0);
        t->heap_trimmed_at = t->now;
    }
}

/* After a burst of large responses (their pieces, heads and shared bodies
 * freed), give the freed pages back to the system: at most once a second
 * per thread, and only once TRIM_AFTER bytes went (a walk of the heap).
 * Allocations of MMAP_MIN or more go back by themselves (mk_loop_start). */
static void trim_heap(lthread *t)
{
    if (t->freed < TRIM_AFTER || t->now - t->heap_trimmed_at < 1000)
        return;
    malloc_trim(0);
    t->heap_trimmed_at = t->now;
    t->freed = 0;
}

/* ---- the one response writer -------------------------------------------- */

static bool serve(lthread *t, conn *c);

static bool piece_next(lthread *t, conn *c, const char **p, size_t *n, bool *fail);
static bool partial_end(lthread *t, conn *c);

/* The bytes of c's response to write next: the rest of out, then of the
 * shared body, then of the producer's piece (made here when the last one
 * went out). false when the response is all written, or *fail when the
 * producer failed (the length announced cannot be kept: close). */
static bool next_bytes(lthread *t, conn *c, const char **p, size_t *n, bool *more, bool *fail)
{
    *more = false;
    /* a partial fault cuts the response at fh->cap, wherever its bytes
     * come from (the head, a shared body, a producer's piece) */
    uint64_t room = c->fh ? c->fh->cap - c->fh->sent : UINT64_MAX;
    if (room == 0)
        return false;
    if (c->out_off < c->out_len) {
        *p = c->out + c->out_off;
        *n = c->out_len - c->out_off;
        *more = c->body || c->prod.fill;
    } else if (c->body && c->body_off < c->body->len) {
        *p = c->body->data + c->body_off;
        *n = c->body->len - c->body_off;
    } else if (!piece_next(t, c, p, n, fail)) {
        return false;
    }
    if (*n > room) {
        *n = (size_t)room;
        *more = false;
    }
    return true;
}

/* The producer's bytes: the rest of its latest piece, or a new piece. */
static bool piece_next(lthread *t, conn *c, const char **p, size_t *n, bool *fail)
{
    if (c->prod.fill && c->piece_off == c->piece_len) {
        if (!c->piece && !(c->piece = malloc(PIECE))) {
            *fail = true;
            return false;
        }
        long k = c->prod.fill(c->prod.arg, c->piece, PIECE);
        if (k < 0) {
            *fail = true;
            return false;
        }
        c->piece_len = (size_t)k;
        c->piece_off = 0;
        if (k == 0)
            body_drop(t, c); /* the end: nothing kept for a keep-alive client */
        account(t, c);
    }
    if (c->piece_off < c->piece_len) {
        *p = c->piece + c->piece_off;
        *n = c->piece_len - c->piece_off;
        return true;
    }
    return false;
}

static void advance(conn *c, size_t k)
{
    if (c->fh)
        c->fh->sent += k;
    if (c->out_off < c->out_len)
        c->out_off += k;
    else if (c->body && c->body_off < c->body->len)
        c->body_off += k;
    else
        c->piece_off += k;
}

/* Writes what the socket takes; the rest waits for the socket. A client
 * whose socket takes nothing for request_timeout_ms is closed by its
 * deadline (expire): the deadline moves only when bytes go out. Returns
 * false when c is gone. */
static bool flush_some(lthread *t, conn *c, size_t budget)
{
    const char *p;
    size_t len;
    bool more, fail = false;
    /* slowed (fault.h slow=): the pace's timer writes, epoll only watches
     * for the client leaving, and progress is the fault's to judge */
    fhold *slow = c->fh && c->fh->phase == FH_SLOW ? c->fh : NULL;
    while (budget > 0 && next_bytes(t, c, &p, &len, &more, &fail)) {
        if (len > budget) {
            len = budget;
            more = false;
        }
        long n = io_send(c, p, len, more);
        if (n > 0) {
            advance(c, (size_t)n);
            budget -= (size_t)n;
            if (slow) {
                slow->paced += (uint64_t)n;
                slow->progress_at = mk_mono_ms();
                slow->retry_len = 0;
            } else {
                set_deadline(t, c); /* a slow reader that reads is not idle */
            }
            continue;
        }
        if (n == IO_AGAIN_WRITE || n == IO_AGAIN_READ) {
            if (slow)
                slow->retry_len = c->tls ? len : 0; /* TLS took a record of len */
            else
                interest(t, c, n == IO_AGAIN_WRITE ? EPOLLOUT : EPOLLIN);
            return true;
        }
        close_conn(t, c);
        return false;
    }
    if (budget == 0)
        return true; /* the pace's share for now is out */
    if (fail) {
        close_conn(t, c);
        return false;
    }
    if (c->fh) {
        fhold *h = c->fh;
        if (h->f.wire == MK_WIRE_PARTIAL) /* cut: the connection ends */
            return partial_end(t, c);
        fault_free(t, c); /* delayed or slowed: done, back to keep-alive */
        set_deadline(t, c);
    }
    body_drop(t, c);
    if (!c->out_static)
        free(c->out);
    c->out = NULL;
    c->out_static = false;
    c->out_len = c->out_off = 0;
    account(t, c);
    /* a client that shut its side is closed once nothing it sent is left */
    if (c->closing || (c->eof && !c->resume && c->in_len == 0)) {
        close_conn(t, c);
        return false;
    }
    interest(t, c, EPOLLIN | EPOLLRDHUP);
    went_idle(t, c);
    if (c->resume) { /* a 100 Continue went out: the body comes next */
        c->resume = false;
        return serve(t, c);
    }
    return true;
}

static bool flush_out(lthread *t, conn *c)
{
    return flush_some(t, c, SIZE_MAX);
}

/* Queues bytes (owned: freed when written; or static) and writes. */
static bool write_out(lthread *t, conn *c, char *data, size_t len, bool is_static, bool close_after)
{
    c->closing = c->closing || close_after;
    c->out = data;
    c->out_len = len;
    c->out_off = 0;
    c->out_static = is_static;
    account(t, c);
    return flush_out(t, c);
}

static bool write_static(lthread *t, conn *c, const char *s, size_t len, bool close_after)
{
    return write_out(t, c, (char *)s, len, true, close_after);
}

/* Whether c's responses name its region (README "Regions"). */
static bool region_header(const mockapi *m, const conn *c)
{
    return m->regions_on && m->listeners[c->listener].region >= 0;
}

/* A request refused before it reached the request path: Go's answer, then
 * the connection ends (what follows cannot be told from a request). */
static bool refuse(lthread *t, conn *c, int status)
{
    mockapi *m = t->l->m;
    switch (status) {
    case 431: mk_tstat_inc(m, refused_431); break;
    case 501: mk_tstat_inc(m, refused_501); break;
    case 505: mk_tstat_inc(m, refused_505); break;
    default: mk_tstat_inc(m, refused_400); break;
    }
    size_t len;
    const char *r = mk_refusal(status, &len);
    c->in_len = 0;
    c->framed = false;
    char *rr = region_header(m, c) ? mk_refusal_region(status, m->listeners[c->listener].region, &len)
                                   : NULL;
    if (rr)
        return write_out(t, c, rr, len, false, true);
    mk_refusal(status, &len); /* regions off, or out of memory: the fixed text */
    return write_static(t, c, r, len, true);
}

/* A head the framing refused: journaled when its request line and fields
 * were read (a smuggling attempt or a lax client shows in /test/requests
 * with the status it got), then refused. */
static bool refuse_head(lthread *t, conn *c, const mk_h1_head *hd)
{
    if (hd->h.method) {
        mk_header_kv kv[64];
        for (int i = 0; i < hd->h.nheaders; i++) {
            kv[i].name = hd->h.headers[i].name;
            kv[i].value = hd->h.headers[i].value;
        }
        mk_request req = {.kind = t->l->m->listeners[c->listener].kind,
                          .listener = c->listener,
                          .region = t->l->m->listeners[c->listener].region,
                          .region_header = region_header(t->l->m, c),
                          .method = hd->h.method,
                          .headers = kv,
                          .nheaders = hd->h.nheaders};
        mk_request_target(&req, (char *)hd->h.uri);
        mk_journal_refused(t->l->m, &req, hd->refuse_status);
    }
    return refuse(t, c, hd->refuse_status);
}

/* ---- requests ----------------------------------------------------------- */

/* The peer's address as "ip:port", the label /test/sse shows. */
static void peer_of(int fd, char *out, size_t len)
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            port = ntohs(a->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, len, "%s:%d", ip, port);
}

/* An event stream: the socket goes to the SSE hub with the head (copied
 * there), with its fault's stream keys (f NULL: none). */
static void hand_to_hub(lthread *t, conn *c, struct mk_sse_space *sp, const char *head, size_t head_len,
                        int topic, const char *last_event_id, const char *node, const mk_fault *f,
                        const mk_sse_source *src)
{
    char peer[64];
    peer_of(c->fd, peer, sizeof peer);
    int fd = c->fd;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    unlist(c);
    mk_tstat_inc(t->l->m, streams);
    mk_sse_attach(t->l->m->sse, sp, (mk_topic)topic, fd, head, head_len, last_event_id, node, peer, f, src);
    free_conn(t, c); /* after: head may be c's */
}

/* ---- faults on the wire (fault.h) ---------------------------------------- */

/* What `garbage` writes: bytes no HTTP client can take for a response. */
static const char garbage[] = "\x00\xff\xfe\x7f mockapi: injected garbage, not HTTP \x01\x02\x03\x9c\xe2\r\n";

/* c waits for its fault's clock, not for the request deadline; a client
 * that leaves is noticed (EPOLLRDHUP; none to wait for once it shut its
 * side already: then only an error or hang-up reports). */
static void hold(lthread *t, conn *c)
{
    ln_push(&t->held, &c->dl);
    interest(t, c, c->eof ? 0 : EPOLLRDHUP);
}

/* hold, waking at `when`. false when c is gone (out of memory). */
static bool hold_until(lthread *t, conn *c, int64_t when)
{
    hold(t, c);
    if (timer_set(t, c, when))
        return true;
    close_conn(t, c);
    return false;
}

/* Releases the response built (nothing of it is written). */
static void drop_response(lthread *t, conn *c)
{
    body_drop(t, c);
    if (!c->out_static)
        free(c->out);
    c->out = NULL;
    c->out_static = false;
    c->out_len = c->out_off = 0;
    account(t, c);
}

/* The cut of a partial response is reached (or the response was shorter):
 * FIN, or (then=rst) a reset once the bytes written have left the socket
 * (a reset discards what the kernel still holds, and the client must see
 * them), waiting at most request_timeout_ms for a client that reads none. */
static bool partial_end(lthread *t, conn *c)
{
    fhold *h = c->fh;
    if (!h->f.partial_rst) {
        close_conn_as(t, c, CLOSE_FIN);
        return false;
    }
    if (h->phase != FH_DRAIN) {
        h->phase = FH_DRAIN;
        h->drain_until = t->now + t->l->m->cfg.request_timeout_ms;
    }
    int queued = 0;
    if (t->now < h->drain_until && ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued > 0)
        return hold_until(t, c, t->now + DRAIN_TICK_MS);
    close_conn_as(t, c, CLOSE_RST);
    return false;
}

/* One step of a slowed response: what the pace allows since it began,
 * then the next wake. A client that takes nothing for request_timeout_ms
 * is closed (timeout_write), as an unpaced one would be. */
static bool slow_tick(lthread *t, conn *c)
{
    fhold *h = c->fh;
    int64_t now = mk_mono_ms();
    uint64_t bps = h->f.slow_bps;
    uint64_t slice = bps * SLOW_TICK_MS / 1000;
    if (slice == 0)
        slice = 1;
    uint64_t allowed = now > h->since ? (uint64_t)(now - h->since) * bps / 1000 : 0;
    uint64_t budget = allowed > h->paced ? allowed - h->paced : 0;
    if (budget < h->retry_len)
        budget = h->retry_len; /* TLS: the queued record is offered whole */
    if (budget > 0) {
        if (!flush_some(t, c, budget > SIZE_MAX ? SIZE_MAX : (size_t)budget))
            return false;
        if (!c->fh || c->fh->phase != FH_SLOW)
            return true; /* written (or draining before its reset) */
    }
    if (now - h->progress_at >= (int64_t)t->l->m->cfg.request_timeout_ms) {
        mk_tstat_inc(t->l->m, timeout_write);
        close_conn(t, c);
        return false;
    }
    int64_t next;
    if (h->paced < allowed) {
        /* the socket took less than the pace allowed: no catching up in a
         * burst later, the pace goes on from here */
        h->paced = allowed;
        next = now + SLOW_TICK_MS;
    } else {
        next = h->since + (int64_t)((h->paced + slice) * 1000 / bps);
    }
    return hold_until(t, c, next > now ? next : now + 1);
}

/* Applies c->fh to the response c holds (out, and a body or producer):
 * first its delay, then what the fault puts on the wire. Returns false
 * when c is gone. */
static bool fault_step(lthread *t, conn *c)
{
    fhold *h = c->fh;
    int64_t now = mk_mono_ms();
    if (h->delay_until > now) {
        h->phase = FH_DELAY;
        if (c->tls && h->delay_until - now >= RELEASE_AFTER_MS)
            mk_tls_trim(c->tls); /* its record buffers wait empty (went_idle's reason) */
        return hold_until(t, c, h->delay_until);
    }
    h->delay_until = 0;
    if (h->stream) { /* a delayed event stream: the hub has it from now */
        hand_to_hub(t, c, h->space, c->out, c->out_len, h->topic, h->leid, h->node, &h->f, NULL);
        return false;
    }
    switch (h->f.wire) {
    case MK_WIRE_DROP:
        close_conn_as(t, c, CLOSE_FIN);
        return false;
    case MK_WIRE_RESET:
        close_conn_as(t, c, CLOSE_RST);
        return false;
    case MK_WIRE_HANG:
        drop_response(t, c);
        if (c->eof && !h->f.hang_ms) { /* the client has left already */
            close_conn_as(t, c, CLOSE_FIN);
            return false;
        }
        h->phase = FH_HANG;
        if (c->tls)
            mk_tls_trim(c->tls); /* nothing more goes through TLS */
        if (h->f.hang_ms)
            return hold_until(t, c, now + h->f.hang_ms);
        hold(t, c); /* until the client leaves or the loop is freed */
        return true;
    case MK_WIRE_GARBAGE:
        drop_response(t, c);
        c->out = (char *)garbage;
        c->out_len = sizeof garbage - 1;
        c->out_static = true;
        c->closing = true;
        break;
    case MK_WIRE_RESPONSE:
    case MK_WIRE_PARTIAL:
        break;
    }
    if (h->f.slow_bps) {
        h->phase = FH_SLOW;
        h->since = h->progress_at = now;
        h->paced = 0;
        hold(t, c);
        return slow_tick(t, c);
    }
    h->phase = FH_WRITE;
    set_deadline(t, c);
    if (h->f.wire == MK_WIRE_RESPONSE)
        fault_free(t, c); /* a delay, over: the response goes as usual */
    return flush_out(t, c);
}

/* The timer of a held connection went off. false when c is gone. */
static bool fault_wake(lthread *t, conn *c)
{
    switch (c->fh->phase) {
    case FH_DELAY:
        return fault_step(t, c);
    case FH_HANG: /* hang=ms is over: FIN */
        close_conn_as(t, c, CLOSE_FIN);
        return false;
    case FH_SLOW:
        return slow_tick(t, c);
    case FH_DRAIN:
        return partial_end(t, c);
    }
    return true;
}

/* Whether a faulted response needs the wire part here: a delay, a wire
 * other than the response, or a pace (an event stream handed to the hub
 * takes its stream keys there; slow= is not for streams). */
static bool fault_on_wire(const conn *c, const mk_response *resp)
{
    if (!resp->faulted)
        return false;
    bool to_hub = resp->stream && !c->tls;
    return resp->fault_delay_ms > 0 || resp->fault.wire != MK_WIRE_RESPONSE ||
           (resp->fault.slow_bps > 0 && !to_hub);
}

/* Takes the built response into c with a fault hold and applies it.
 * Returns false when c is gone. */
static bool fault_begin(lthread *t, conn *c, mk_response *resp, bool close_after,
                        const char *last_event_id)
{
    fhold *h = calloc(1, sizeof *h);
    if (!h) {
        close_conn(t, c); /* out of memory: the client may try again */
        return false;
    }
    c->fh = h;
    h->f = resp->fault;
    h->cap = UINT64_MAX;
    /* the fault's times count from now, not from the round's start
     * (t->now): the request may have come in late in a long round */
    if (resp->fault_delay_ms)
        h->delay_until = mk_mono_ms() + resp->fault_delay_ms;
    if (resp->stream && !c->tls && h->f.wire == MK_WIRE_RESPONSE) {
        h->stream = true; /* delayed: handed to the hub when the delay is over */
        h->topic = resp->stream_topic;
        h->node = resp->stream_node;
        resp->stream_node = NULL;
        h->space = resp->stream_space;
        resp->stream_space = NULL;
        if (last_event_id && !(h->leid = strdup(last_event_id))) {
            close_conn(t, c);
            return false;
        }
    }
    if (resp->body)
        body_pin(t, c, resp->body);
    c->prod = resp->prod;
    resp->body = NULL;
    resp->prod = (mk_producer){0};
    size_t len;
    c->out = mk_buf_steal(&resp->out, &len);
    c->out_len = len;
    c->out_off = 0;
    c->out_static = false;
    /* a stream whose fault is not the hub's is written as a response */
    c->closing = c->closing || close_after || resp->stream;
    account(t, c);
    if (h->f.wire == MK_WIRE_PARTIAL) {
        /* the cut: the head (with its true Content-Length) and `partial`
         * bytes of the body, wherever those come from */
        size_t head = len;
        if (!c->body && !c->prod.fill) {
            const char *e = memmem(c->out, len, "\r\n\r\n", 4);
            if (e)
                head = (size_t)(e - c->out) + 4;
        }
        h->cap = (uint64_t)head + h->f.partial;
    }
    return fault_step(t, c);
}

/* Makes c->in hold at least cap bytes, in a buffer of c's own. 0, or -1
 * when memory is short (c->in unchanged then). */
static int in_reserve(conn *c, size_t cap)
{
    if (!c->in_borrowed) {
        char *p = realloc(c->in, cap);
        if (!p)
            return -1;
        c->in = p;
        c->in_cap = cap;
        return 0;
    }
    char *p = malloc(cap > c->in_cap ? cap : c->in_cap);
    if (!p)
        return -1;
    memcpy(p, c->in, c->in_len);
    c->in = p;
    c->in_cap = cap > c->in_cap ? cap : c->in_cap;
    c->in_borrowed = false;
    return 0;
}

/* At the end of a read: what is left of the input (a request not complete
 * yet, pipelined bytes behind a response being written, a parked wait)
 * moves from the thread's read buffer into a buffer of c's own, just big
 * enough; nothing left, no buffer. So a connection holds input memory only
 * while a request of its own is in flight. 0, or -1 when memory is short. */
static int keep_input(conn *c)
{
    if (!c->in_borrowed)
        return 0;
    char *rest = NULL;
    size_t cap = 0;
    if (c->in_len > 0) {
        cap = c->in_len + 1 > IN_MIN ? c->in_len + 1 : IN_MIN;
        rest = malloc(cap);
        if (!rest)
            return -1;
        memcpy(rest, c->in, c->in_len);
    }
    c->in = rest;
    c->in_cap = cap;
    c->in_borrowed = false;
    return 0;
}

/* Runs the request at the start of c->in, framed and complete (or with a
 * body status saying why not), and writes or parks its answer. body_len is
 * the decoded body's length; the request's bytes end at head_len +
 * body_len. Returns false when c is gone. */
static bool run_request(lthread *t, conn *c, const mk_h1_head *parsed, mk_body_status bs,
                        size_t body_len)
{
    mockapi *m = t->l->m;
    mk_h1_head again;
    /* parsed is the head as serve parsed it into the scratch copy just now;
     * NULL when the body arrived later (the scratch copy may have served
     * other connections meanwhile): parsed again then, and accepted again */
    if (!parsed) {
        if (mk_h1_parse(c->in, c->in_len, m->cfg.max_header_bytes, t->scratch, &again) != MK_H1_OK)
            return refuse(t, c, 400);
        parsed = &again;
    }
    const mk_h1_head *hd = parsed;
    mk_header_kv kv[64];
    for (int i = 0; i < hd->h.nheaders; i++) {
        kv[i].name = hd->h.headers[i].name;
        kv[i].value = hd->h.headers[i].value;
    }
    size_t end = c->head_len + (bs == MK_BODY_COMPLETE ? body_len : 0);
    mk_request req = {
        .kind = m->listeners[c->listener].kind,
        .listener = c->listener,
        .region = m->listeners[c->listener].region,
        .region_header = region_header(m, c),
        .method = hd->h.method,
        .headers = kv,
        .nheaders = hd->h.nheaders,
        .body_status = bs,
        /* a body refused unread: the size it declared (chunked: so far) */
        .refused_size = bs != MK_BODY_TOO_LARGE ? 0
                        : c->chunked ? (c->ch.left > SIZE_MAX - c->ch.out ? SIZE_MAX
                                                                           : c->ch.out + (size_t)c->ch.left)
                                     : (c->content_length > SIZE_MAX ? SIZE_MAX : (size_t)c->content_length),
        /* a waiting route checks once and answers "pending" (parked below)
         * instead of blocking this thread */
        .no_wait = true,
        .wait_started_ms = c->parked ? c->wait_started : t->now,
        .wait_slot = &c->wait_slot,
    };
    mk_request_target(&req, (char *)hd->h.uri);
    char saved = 0;
    if (bs == MK_BODY_COMPLETE) {
        if (c->in_cap <= end && in_reserve(c, end + 1) != 0) {
            close_conn(t, c);
            return false;
        }
        req.body = c->in + c->head_len;
        req.body_len = body_len;
        saved = c->in[end]; /* dispatch may treat the body as a C string */
        c->in[end] = '\0';
    }
    mk_response resp = {0};
    mk_buf_init(&resp.out, 0);
    /* said in the response, as Go does; after the client shut its side,
     * by the last request it sent (all of them are answered) */
    resp.close = hd->close || (c->eof && c->in_len <= end);
    mk_dispatch(m, &req, &resp);
    if (bs == MK_BODY_COMPLETE)
        c->in[end] = saved;

    if (resp.pending) {
        if (!c->parked) {
            /* counted in from now on, so every later change wakes this
             * thread; one that came between the check above and this is
             * caught by checking once more after this round of events */
            wait_begin(t, c);
            atomic_store(&t->recheck, true);
            c->parked = true;
            c->wait_started = req.wait_started_ms;
            c->wait_bs = bs;
            ln_push(&t->parked, &c->dl);
            interest(t, c, EPOLLRDHUP);
        }
        c->wait_until = resp.wait_until_ms;
        mk_response_dispose(&resp);
        return true;
    }
    if (c->parked) {
        c->parked = false;
        ln_del(&c->dl);
        wait_end(t, c);
    }
    if (c->wait_slot) { /* answered: what the wait kept goes */
        mk_wait_slot_free(c->wait_slot);
        c->wait_slot = NULL;
    }

    bool close_after = resp.close || bs != MK_BODY_COMPLETE;
    /* drop the request's bytes; what follows is the next request */
    size_t used = end < c->in_len ? end : c->in_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->framed = false;
    set_deadline(t, c); /* idle from now, or the next request's clock if it has begun */

    bool alive;
    if (resp.out.len > 0 && !resp.out.err && fault_on_wire(c, &resp)) {
        alive = fault_begin(t, c, &resp, close_after, mk_req_header(&req, "Last-Event-ID"));
    } else if (resp.stream && resp.out.len > 0 && !c->tls) {
        hand_to_hub(t, c, resp.stream_space, resp.out.data, resp.out.len, resp.stream_topic,
                    mk_req_header(&req, "Last-Event-ID"), resp.stream_node,
                    resp.faulted ? &resp.fault : NULL, &resp.stream_src);
        resp.stream_src = (mk_sse_source){0}; /* attach took it */
        alive = false;
    } else if (resp.out.len == 0 || resp.out.err) {
        size_t len;
        const char *r = mk_refusal(500, &len);
        mk_response_dispose(&resp);
        alive = write_static(t, c, r, len, true);
    } else {
        /* the body, if it comes from elsewhere, follows the head */
        if (resp.body)
            body_pin(t, c, resp.body);
        c->prod = resp.prod;
        resp.body = NULL;
        resp.prod = (mk_producer){0};
        size_t len;
        char *data = mk_buf_steal(&resp.out, &len);
        alive = write_out(t, c, data, len, false, close_after || resp.stream);
    }
    mk_response_dispose(&resp);
    free(resp.stream_node);
    return alive;
}

/* Serves every complete request in c->in. Returns false when c is gone. */
static bool serve(lthread *t, conn *c)
{
    mockapi *m = t->l->m;
    while (c->in_len > 0 && !c->out && !c->parked && !c->fh) {
        mk_h1_head hd;
        const mk_h1_head *now = NULL; /* the head, when parsed in this round */
        if (!c->framed) {
            switch (mk_h1_parse(c->in, c->in_len, m->cfg.max_header_bytes, t->scratch, &hd)) {
            case MK_H1_INCOMPLETE:
                return true;
            case MK_H1_REFUSE:
                return refuse_head(t, c, &hd);
            case MK_H1_OK:
                break;
            }
            now = &hd;
            c->framed = true;
            c->head_len = hd.head_len;
            c->chunked = hd.chunked;
            c->content_length = hd.content_length;
            memset(&c->ch, 0, sizeof c->ch);
            if (!c->chunked && c->content_length > m->cfg.max_body_bytes)
                return run_request(t, c, now, MK_BODY_TOO_LARGE, 0); /* answered unread */
            bool body_here = c->chunked ? false : c->in_len >= c->head_len + c->content_length;
            bool has_body = c->chunked || c->content_length > 0;
            if (hd.expect_continue && has_body && !body_here) {
                /* the client waits for this before it sends the body */
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                c->resume = true;
                return write_static(t, c, cont, sizeof cont - 1, false);
            }
        }
        if (c->chunked) {
            char *body = c->in + c->head_len;
            size_t blen = c->in_len - c->head_len;
            int r = mk_chunked_step(&c->ch, body, blen, m->cfg.max_body_bytes,
                                    m->cfg.max_header_bytes);
            mk_chunked_compact(&c->ch, body, &blen);
            c->in_len = c->head_len + blen;
            if (r == MK_CHUNKED_MORE)
                return true;
            if (r == MK_CHUNKED_BAD)
                return run_request(t, c, now, MK_BODY_READ_FAIL, 0);
            if (r == MK_CHUNKED_TOO_LARGE)
                return run_request(t, c, now, MK_BODY_TOO_LARGE, 0);
            if (!run_request(t, c, now, MK_BODY_COMPLETE, c->ch.out))
                return false;
        } else {
            if (c->in_len < c->head_len + c->content_length)
                return true;
            if (!run_request(t, c, now, MK_BODY_COMPLETE, (size_t)c->content_length))
                return false;
        }
    }
    return true;
}

/* How much to read next: the current request's framed length (or a head)
 * plus one more head, within what the buffer holds. A connection with no
 * input pending borrows the thread's read buffer (keep_input); a buffer of
 * its own doubles when full. 0 at that limit, SIZE_MAX when memory is
 * short. One byte stays free for the NUL run_request puts past a body. */
static size_t read_room(lthread *t, conn *c)
{
    mockapi *m = t->l->m;
    size_t limit = m->cfg.max_header_bytes;
    if (c->framed)
        limit += c->head_len + (c->chunked ? c->ch.out + READ_MAX : (size_t)c->content_length);
    if (c->in_len >= limit)
        return 0;
    if (!c->in) { /* nothing pending: read into the thread's buffer */
        c->in = t->rbuf;
        c->in_cap = t->rcap;
        c->in_borrowed = true;
    }
    if (c->in_cap < c->in_len + 2 && in_reserve(c, c->in_cap * 2) != 0)
        return SIZE_MAX;
    size_t want = limit - c->in_len, avail = c->in_cap - c->in_len - 1;
    if (want > avail)
        want = avail;
    return want < READ_MAX ? want : READ_MAX;
}

/* Reads what there is room for, then serves it. Returns false when c is
 * gone. */
static bool read_some(lthread *t, conn *c)
{
    for (;;) {
        size_t want = read_room(t, c);
        if (want == 0)
            break; /* full: serve decides (an oversized head is refused) */
        if (want == SIZE_MAX) {
            close_conn(t, c); /* leaving it unread would wake this loop forever */
            return false;
        }
        long n = io_recv(c, c->in + c->in_len, want);
        if (n > 0) {
            if (c->in_len == 0)
                set_deadline(t, c); /* the request's clock starts at its first byte */
            c->in_len += (size_t)n;
            if ((size_t)n < want && !(c->tls && mk_tls_pending(c->tls) > 0))
                break;
            continue;
        }
        if (n == 0) {
            c->eof = true;
            break;
        }
        if (n == IO_AGAIN_READ)
            break;
        if (n == IO_AGAIN_WRITE) { /* TLS wants to write before it reads */
            interest(t, c, EPOLLOUT);
            break;
        }
        close_conn(t, c);
        return false;
    }
    return serve(t, c);
}

static void on_readable(lthread *t, conn *c)
{
    /* Bytes TLS decrypted beyond the buffer's room stay inside mbedTLS,
     * where epoll cannot see them: read again once serving made room
     * (bounded, so one connection cannot keep the thread; past the bound
     * the again list brings the loop back for the rest). */
    for (int round = 0;; round++) {
        if (!read_some(t, c))
            return;
        if (!c->tls || c->out || c->parked || c->fh || c->eof || !mk_tls_pending(c->tls))
            break;
        if (round == 8) {
            again_add(t, c); /* the rest after the other connections' turn */
            break;
        }
    }
    if (c->eof && !c->out && !c->parked && !c->fh)
        close_conn(t, c); /* nothing more can arrive; a partial request is void */
    else if (keep_input(c) != 0)
        close_conn(t, c); /* out of memory: the client may try again */
    else
        went_idle(t, c);
}

static void on_handshake(lthread *t, conn *c)
{
    if (!c->tls) {
        /* made at the first byte, not at accept: a TCP connection that never
         * starts a handshake costs no TLS buffers (~34 KB) */
        c->tls = mk_tls_session_new(c->tls_srv, c->fd);
        if (!c->tls) {
            close_conn(t, c);
            return;
        }
    }
    int r = mk_tls_handshake(c->tls);
    if (r == MK_TLS_WANT_READ) {
        interest(t, c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    if (r == MK_TLS_WANT_WRITE) {
        interest(t, c, EPOLLOUT);
        return;
    }
    if (r != 1) {
        close_conn(t, c);
        return;
    }
    c->handshaking = false;
    set_deadline(t, c); /* idle until its first request */
    interest(t, c, EPOLLIN | EPOLLRDHUP);
    on_readable(t, c); /* the request may have come with the last flight */
}

/* Checks parked waits again: all of them after a change, or only those
 * whose deadline passed. Those still in time are polled together first
 * (mk_wait_poll_many: one read of the journal for all of them); the whole
 * request runs again only for a wait that is met or timed out. */
static void recheck_parked(lthread *t, bool all)
{
    enum { BATCH = 64 };
    /* detach the list first: run_request may park a connection again */
    lnode head;
    ln_take(&head, &t->parked);
    while (!ln_empty(&head)) {
        conn *batch[BATCH];
        mk_wait_slot *slots[BATCH];
        bool met[BATCH];
        size_t nb = 0, ns = 0;
        while (!ln_empty(&head) && nb < BATCH) {
            conn *c = CONN_OF(head.next, dl);
            ln_push(&t->parked, &c->dl);
            if (!all && c->wait_until > t->now)
                continue;
            batch[nb++] = c;
            if (c->wait_until > t->now && c->wait_slot)
                slots[ns++] = c->wait_slot;
        }
        mk_wait_poll_many(t->l->m, slots, ns, met);
        for (size_t i = 0, k = 0; i < nb; i++) {
            conn *c = batch[i];
            if (c->wait_until > t->now && c->wait_slot && !met[k++])
                continue; /* not yet */
            /* as it was parked: a wait whose body failed (too large, or not
             * in time; the route takes none) still ends its connection unread */
            size_t body_len = c->wait_bs != MK_BODY_COMPLETE ? 0
                              : c->chunked                   ? c->ch.out
                                                             : (size_t)c->content_length;
            if (run_request(t, c, NULL, c->wait_bs, body_len) && !c->parked && !c->out)
                serve(t, c); /* requests that came behind the wait */
        }
    }
}

/* Reads on for the connections on the again list (detached first: one
 * whose bound is hit again waits for the next round of events). */
static void serve_again(lthread *t)
{
    lnode head;
    ln_take(&head, &t->again);
    while (!ln_empty(&head)) {
        conn *c = CONN_OF(head.next, al);
        ln_del(&c->al);
        if (!c->handshaking && !c->out && !c->parked && !c->fh)
            on_readable(t, c);
    }
}

/* A deadline passed: a handshake or an incomplete head is closed, an
 * incomplete body answered as unreadable (and closed), an idle connection
 * or a reader that took nothing closed. */
static void expire(lthread *t, conn *c)
{
    mockapi *m = t->l->m;
    if (c->handshaking) {
        mk_tstat_inc(m, timeout_handshake);
    } else if (c->out) {
        mk_tstat_inc(m, timeout_write);
    } else if (c->framed) {
        mk_tstat_inc(m, timeout_request);
        run_request(t, c, NULL, MK_BODY_READ_FAIL, 0);
        return;
    } else {
        /* idle, or a head begun and not finished */
        if (c->in_len)
            mk_tstat_inc(m, timeout_request);
        else
            mk_tstat_inc(m, timeout_idle);
    }
    close_conn(t, c);
}

/* ---- accepting ---------------------------------------------------------- */

/* Brings this thread's set in line with the listening sockets: each one
 * published is in it unless it is down or accepting is paused. */
static void listen_sync(lthread *t)
{
    t->nlisten = atomic_load(&t->l->nls);
    for (int i = 0; i < t->nlisten; i++) {
        lsock *s = &t->l->ls[i];
        bool want = !t->accept_paused_until && !atomic_load(&s->down);
        if (want == t->lin[i])
            continue;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = s};
        epoll_ctl(t->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->fd, want ? &ev : NULL);
        t->lin[i] = want;
    }
}

/* Adds listening sockets published since this thread last looked. */
static void take_listeners(lthread *t)
{
    listen_sync(t);
}

/* After a region went down: the connections this thread accepted from it
 * before then end, so a client holding one (a keep-alive pool) fails over
 * as one connecting anew does. One writing a response ends once it is
 * written; every other (idle, mid-request, a parked wait) at once. Those
 * accepted since a later up stay. */
static void end_downed(lthread *t)
{
    for (int i = 0; i < t->nlisten; i++) {
        lsock *s = &t->l->ls[i];
        unsigned e = atomic_load(&s->epoch);
        if (e == t->lepoch[i])
            continue;
        t->lepoch[i] = e;
        lnode *lists[3] = {&t->list, &t->parked, &t->held};
        for (int k = 0; k < 3; k++)
            for (lnode *n = lists[k]->next, *next; n != lists[k]; n = next) {
                next = n->next;
                conn *c = CONN_OF(n, dl);
                if (c->listener != s->listener || (int)(e - c->epoch) <= 0)
                    continue;
                /* held by a fault: writing (slowed) like any writer; a
                 * delayed answer not begun, a hang, ends at once */
                bool writing = c->out && !c->parked &&
                               (!c->fh || c->fh->phase == FH_WRITE || c->fh->phase == FH_SLOW);
                if (writing)
                    c->closing = true;
                else
                    close_conn(t, c);
            }
    }
}

/* A listener went down or up (or one this thread tried to accept on was
 * shut): its set, then the connections of a downed one. */
static void listeners_changed(lthread *t)
{
    listen_sync(t);
    end_downed(t);
}

/* Out of descriptors: stop accepting on this thread for a while (the
 * pending connections wait in the kernel's backlog) instead of waking for
 * them again at once. */
static void accept_pause(lthread *t, int err)
{
    t->accept_paused_until = t->now + ACCEPT_PAUSE_MS;
    listen_sync(t);
    mk_tstat_inc(t->l->m, accept_paused);
    long long last = atomic_load(&t->l->last_emfile_log);
    if (t->now - last >= 1000 && atomic_compare_exchange_strong(&t->l->last_emfile_log, &last, t->now))
        mk_log(t->l->m, "accept: %s; new connections wait %d ms", strerror(err), ACCEPT_PAUSE_MS);
}

static void accept_resume(lthread *t)
{
    t->accept_paused_until = 0;
    listen_sync(t);
}

static void on_accept(lthread *t, lsock *s)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        unsigned epoch = atomic_load(&s->epoch); /* before: see mk_loop_listener_down */
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(t, errno);
            if (errno == EINVAL) /* shut: a region went down; leave it at the round's end */
                atomic_store(&t->lsync, true);
            return; /* EAGAIN: another thread took it, or nothing is left */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        mk_tstat_inc(t->l->m, accepted);
        conn *c = calloc(1, sizeof *c);
        if (c) {
            c->tag = TAG_CONN;
            c->fd = fd;
            c->listener = s->listener;
            c->epoch = epoch;
            c->tls_srv = s->tls;
            c->handshaking = s->tls != NULL;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (!c || epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd); /* out of memory: the client may try again */
            mk_tstat_inc(t->l->m, closed);
            continue;
        }
        c->interest = ev.events;
        set_deadline(t, c); /* a handshake, or a first request, must come in time */
    }
}

/* ---- threads ------------------------------------------------------------ */

static int next_timeout(lthread *t)
{
    int64_t next = INT64_MAX;
    if (!ln_empty(&t->list))
        next = CONN_OF(t->list.next, dl)->deadline;
    if (t->hn && t->heap[0]->fh->wake < next)
        next = t->heap[0]->fh->wake;
    if (!ln_empty(&t->again))
        return 0; /* bytes are waiting inside mbedTLS */
    /* a wait parked after this round's recheck flag was taken (behind a
     * released wait, or at expire): its second check is due now, not after
     * the next event or a second of sleep (a change that came between its
     * first check and wait_begin woke nobody) */
    if (atomic_load(&t->recheck)) {
        if (t->rechecked_at + RECHECK_MS <= mk_mono_ms())
            return 0;
        if (t->rechecked_at + RECHECK_MS < next)
            next = t->rechecked_at + RECHECK_MS;
    }
    if (!ln_empty(&t->release) && CONN_OF(t->release.next, rl)->idle_at + RELEASE_AFTER_MS < next)
        next = CONN_OF(t->release.next, rl)->idle_at + RELEASE_AFTER_MS;
    for (lnode *n = t->parked.next; n != &t->parked; n = n->next)
        if (CONN_OF(n, dl)->wait_until < next)
            next = CONN_OF(n, dl)->wait_until;
    if (t->accept_paused_until && t->accept_paused_until < next)
        next = t->accept_paused_until;
    if (t->freed >= TRIM_AFTER && t->heap_trimmed_at + 1000 < next)
        next = t->heap_trimmed_at + 1000;
    if (next == INT64_MAX)
        return -1;
    int64_t d = next - mk_mono_ms();
    return d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
}

/* After a response is done outside a round of c's own events (a held
 * connection's timer): serve what came behind it, as on_event does. */
static void after_write(lthread *t, conn *c)
{
    if (!c->out && !c->parked && !c->fh && serve(t, c) && c->tls && !c->out && !c->fh &&
        mk_tls_pending(c->tls) > 0)
        on_readable(t, c); /* decrypted bytes epoll cannot see */
}

static void on_event(lthread *t, conn *c, uint32_t ev)
{
    if (c->fh && c->fh->phase != FH_WRITE) { /* held by a fault: only leaving counts */
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            close_conn_as(t, c, c->fh->phase == FH_DRAIN ? CLOSE_RST : CLOSE_FIN);
        return;
    }
    if (c->parked) {
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            close_conn(t, c); /* the waiting client left */
        return;
    }
    if (c->handshaking) {
        if (!c->tls && !(ev & EPOLLIN)) {
            close_conn(t, c); /* gone before its first byte: no session to make */
            return;
        }
        on_handshake(t, c);
        return;
    }
    if (c->out) { /* writing (or TLS asked for the other direction) */
        if (!flush_out(t, c))
            return;
        if (!c->out && !c->parked && serve(t, c) && c->tls && !c->out &&
            mk_tls_pending(c->tls) > 0)
            on_readable(t, c); /* decrypted bytes epoll cannot see */
        return;
    }
    on_readable(t, c);
}

static void *run(void *arg)
{
    lthread *t = arg;
    struct epoll_event ev[MAX_EVENTS];
    t->now = mk_mono_ms();
    take_listeners(t);
    while (!atomic_load(&t->l->stopping)) {
        int n = epoll_wait(t->epfd, ev, MAX_EVENTS, next_timeout(t));
        if (n < 0 && errno != EINTR)
            break;
        t->now = mk_mono_ms();
        for (int i = 0; i < n; i++) {
            int *tag = ev[i].data.ptr;
            if (!tag) {
                uint64_t v;
                ssize_t r = read(t->wakefd, &v, sizeof v);
                (void)r;
                take_listeners(t);
            } else if (*tag == TAG_LISTEN) {
                on_accept(t, (lsock *)tag);
            } else {
                on_event(t, (conn *)tag, ev[i].events);
            }
        }
        if (atomic_load(&t->lsync) && atomic_exchange(&t->lsync, false))
            listeners_changed(t); /* after the events: none of them names a conn closed here */
        if (t->accept_paused_until && t->accept_paused_until <= t->now)
            accept_resume(t);
        serve_again(t);
        release_idle(t);
        bool all = false;
        if (t->now >= t->rechecked_at + RECHECK_MS && atomic_exchange(&t->recheck, false)) {
            all = true;
            t->rechecked_at = t->now;
        }
        recheck_parked(t, all);
        while (t->hn && t->heap[0]->fh->wake <= t->now) {
            conn *c = t->heap[0];
            timer_del(t, c);
            if (fault_wake(t, c))
                after_write(t, c);
        }
        while (!ln_empty(&t->list) && CONN_OF(t->list.next, dl)->deadline <= t->now)
            expire(t, CONN_OF(t->list.next, dl));
        trim_heap(t);
    }
    return NULL;
}

static void wake(lthread *t)
{
    uint64_t one = 1;
    ssize_t w = write(t->wakefd, &one, sizeof one);
    (void)w;
}

void mk_loop_notify(void *loop)
{
    mk_loop *l = loop;
    for (int i = 0; i < l->nthreads; i++) {
        lthread *t = &l->th[i];
        /* one wake per round: a thread already told re-checks everything
         * after its current round (a busy server changes on every request) */
        if (atomic_load(&t->nparked) > 0 && !atomic_exchange(&t->recheck, true))
            wake(t);
    }
}

/* glibc raises its mmap threshold to the size of every mmap'd block freed
 * (up to 32 MiB), after which large buffers (request bodies of megabytes,
 * decoded gzip bodies, captures) come from the heap and stay resident once
 * freed: 60 gzip bombs left 302 MB behind. A fixed threshold keeps them
 * mmap'd, so each goes back to the system when freed. Process-wide, once. */
static void heap_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, MMAP_MIN);
}

int mk_loop_start(mk_loop **out, mockapi *m, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, heap_setup);
    mk_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->m = m;
    pthread_mutex_init(&l->lock, NULL);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    l->nthreads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    if (m->cfg.threads > 0 && (unsigned)l->nthreads > m->cfg.threads)
        l->nthreads = (int)m->cfg.threads;
    for (int i = 0; i < l->nthreads; i++) {
        lthread *t = &l->th[i];
        t->l = l;
        ln_init(&t->list);
        ln_init(&t->parked);
        ln_init(&t->again);
        ln_init(&t->release);
        ln_init(&t->held);
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        t->scratch = malloc(m->cfg.max_header_bytes + 1);
        /* a head and a read beyond it fit without growing */
        t->rcap = m->cfg.max_header_bytes + READ_MAX + 1;
        t->rbuf = malloc(t->rcap);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        int rc = t->epfd < 0 || t->wakefd < 0 || !t->scratch || !t->rbuf ||
                         epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &ev) != 0
                     ? errno
                     : pthread_create(&t->tid, NULL, run, t); /* returns its error */
        if (rc != 0) {
            snprintf(err, errlen, "cannot start the event loop: %s", strerror(rc));
            l->nthreads = i + 1;
            mk_loop_stop(l);
            mk_loop_free(l);
            return -1;
        }
        t->running = true;
    }
    *out = l;
    return 0;
}

int mk_loop_listen(mk_loop *l, int listener, int fd, mk_tls_server *tls)
{
    pthread_mutex_lock(&l->lock);
    int n = atomic_load(&l->nls);
    if (atomic_load(&l->stopping) || n >= MK_MAX_LISTENERS) {
        pthread_mutex_unlock(&l->lock);
        close(fd);
        return -1;
    }
    l->ls[n] = (lsock){.tag = TAG_LISTEN, .fd = fd, .listener = listener, .tls = tls};
    atomic_store(&l->nls, n + 1); /* published after the slot is written */
    pthread_mutex_unlock(&l->lock);
    for (int i = 0; i < l->nthreads; i++)
        wake(&l->th[i]);
    return 0;
}

/* The slot of m->listeners[listener], or NULL. Under l->lock. */
static lsock *slot_of(mk_loop *l, int listener)
{
    for (int i = 0; i < atomic_load(&l->nls); i++)
        if (l->ls[i].listener == listener)
            return &l->ls[i];
    return NULL;
}

static void tell_threads(mk_loop *l)
{
    for (int i = 0; i < l->nthreads; i++) {
        atomic_store(&l->th[i].lsync, true);
        wake(&l->th[i]);
    }
}

int mk_loop_listener_down(mk_loop *l, int listener, char *err, size_t errlen)
{
    pthread_mutex_lock(&l->lock);
    lsock *s = slot_of(l, listener);
    int rc = 0;
    if (!s) {
        snprintf(err, errlen, "the listener is not open");
        rc = -1;
    } else if (!atomic_load(&s->down)) {
        atomic_store(&s->down, true);
        atomic_store(&l->m->listeners[listener].down, true); /* what /test/regions shows */
        /* Linux: the socket leaves the listening state (connecting is
         * refused, the backlog is reset) while fd stays this socket, so a
         * thread that still accepts on it gets EINVAL, never another
         * socket that took the number */
        shutdown(s->fd, SHUT_RD);
        /* after the shutdown: on_accept reads the epoch before accept4, so
         * a connection it got carries the old epoch (and is ended) unless
         * its accept came after this, which the shutdown makes fail */
        atomic_fetch_add(&s->epoch, 1);
        tell_threads(l);
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int mk_loop_listener_up(mk_loop *l, int listener, const struct sockaddr *sa, socklen_t salen,
                        char *err, size_t errlen)
{
    pthread_mutex_lock(&l->lock);
    lsock *s = slot_of(l, listener);
    int rc = 0;
    char eb[128];
    if (!s) {
        snprintf(err, errlen, "the listener is not open");
        rc = -1;
    } else if (atomic_load(&s->down)) {
        /* A shut socket bound to port 0 at first has let its port go (one
         * bound to a port of its own keeps it: bind says EINVAL then). Bind
         * it to the port it had; if another socket took that port, listen
         * must not run (it would pick a new port). */
        if (bind(s->fd, sa, salen) != 0 && errno != EINVAL) {
            snprintf(err, errlen, "%s", strerror_r(errno, eb, sizeof eb));
            rc = -1;
        } else if (listen(s->fd, 4096) != 0) {
            snprintf(err, errlen, "%s", strerror_r(errno, eb, sizeof eb));
            rc = -1;
        } else {
            atomic_store(&s->down, false);
            atomic_store(&l->m->listeners[listener].down, false);
            tell_threads(l);
        }
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void mk_loop_stop(mk_loop *l)
{
    if (!l)
        return;
    atomic_store(&l->stopping, true);
    for (int i = 0; i < l->nthreads; i++) {
        lthread *t = &l->th[i];
        if (t->running) {
            wake(t);
            pthread_join(t->tid, NULL);
            t->running = false;
        }
    }
}

void mk_loop_free(mk_loop *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->nthreads; i++) {
        lthread *t = &l->th[i];
        /* every connection is on the deadline, the parked or the held list */
        while (t->list.next && !ln_empty(&t->list))
            close_conn(t, CONN_OF(t->list.next, dl));
        while (t->parked.next && !ln_empty(&t->parked))
            close_conn(t, CONN_OF(t->parked.next, dl));
        /* held by faults: a hang without end ends here, at once */
        while (t->held.next && !ln_empty(&t->held))
            close_conn_as(t, CONN_OF(t->held.next, dl), CLOSE_FIN);
        free(t->heap);
        if (t->epfd >= 0)
            close(t->epfd);
        if (t->wakefd >= 0)
            close(t->wakefd);
        free(t->scratch);
        free(t->rbuf);
    }
    for (int i = 0; i < atomic_load(&l->nls); i++)
        close(l->ls[i].fd);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
