/* loop.c: the keep-alive loop; see loop.h for what it serves and why.
 *
 * Each loop thread owns an epoll set and a list of its connections ordered
 * by deadline (every deadline is "now + request_timeout_ms" when set, so
 * moving a connection to the tail keeps the list sorted and the next expiry
 * is always at the head). Adopted connections arrive through a locked inbox
 * and an eventfd; from then on only the owning thread touches them. A
 * connection is level-triggered on EPOLLIN while it has no response pending
 * and on EPOLLOUT only while one is, so a client that does not read its
 * responses is not read from either. */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "clock.h"
#include "dispatch.h"
#include "sse.h"

enum { MAX_THREADS = 4, MAX_EVENTS = 128, IN_MIN = 4096, READ_MAX = 65536 };

typedef struct conn {
    struct conn *prev, *next; /* the owner's deadline list; `next` alone in the inbox */
    int fd, listener;
    int64_t deadline;
    bool closing;   /* close once the pending response is written */
    bool eof;       /* the client shut its side */
    bool out_armed; /* watching EPOLLOUT instead of EPOLLIN */
    size_t need;    /* head + body length once the head is parsed, else 0 */
    char *in;       /* bytes read, from the start of the next request */
    size_t in_len, in_cap;
    char *out;      /* the part of a response the socket did not take yet */
    size_t out_len, out_off;
    mk_civet_sock sock;
} conn;

typedef struct lthread {
    mk_loop *l;
    pthread_t tid;
    bool running;
    int64_t now; /* mk_mono_ms() after the latest epoll_wait: one clock read a batch */
    int epfd, wakefd;
    conn list; /* sentinel of the deadline list */
    pthread_mutex_t inbox_lock;
    conn *inbox;
    char *scratch; /* a parsed copy of the current head (civetweb writes NULs) */
} lthread;

struct mk_loop {
    mockapi *m;
    int nthreads;
    atomic_uint next;
    atomic_bool stopping;
    lthread th[MAX_THREADS];
};

/* ---- connection bookkeeping --------------------------------------------- */

static void unlink_conn(conn *c)
{
    if (c->prev) {
        c->prev->next = c->next;
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
}

static void set_deadline(lthread *t, conn *c)
{
    unlink_conn(c);
    c->deadline = t->now + t->l->m->cfg.request_timeout_ms;
    c->prev = t->list.prev;
    c->next = &t->list;
    t->list.prev->next = c;
    t->list.prev = c;
}

static void free_conn(conn *c)
{
    free(c->in);
    free(c->out);
    free(c);
}

/* Ends the connection. Unread input is drained first: closing a socket with
 * unread bytes sends a reset, which can destroy a response still in flight. */
static void close_conn(lthread *t, conn *c)
{
    (void)t;
    unlink_conn(c);
    char sink[4096];
    shutdown(c->fd, SHUT_WR);
    /* bounded: a client that keeps sending must not keep this thread here */
    for (int i = 0; i < 16 && recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    close(c->fd); /* also leaves the epoll set */
    free_conn(c);
}

/* Takes c out of the loop without closing its socket. */
static void release_conn(lthread *t, conn *c)
{
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    unlink_conn(c);
    free_conn(c);
}

static int watch(lthread *t, conn *c, int op, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(t->epfd, op, c->fd, &ev);
}

/* ---- responses ---------------------------------------------------------- */

/* Writes what the socket takes; the rest waits for EPOLLOUT. Returns false
 * when c is gone. */
static bool flush_out(lthread *t, conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            if (c->out_off < c->out_len)
                set_deadline(t, c); /* a slow reader that reads is not idle */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->out_armed && watch(t, c, EPOLL_CTL_MOD, EPOLLOUT) != 0) {
                close_conn(t, c);
                return false;
            }
            c->out_armed = true;
            return true;
        }
        close_conn(t, c);
        return false;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (c->closing || c->eof) {
        close_conn(t, c);
        return false;
    }
    /* the common case, a response taken whole, costs no epoll_ctl */
    if (c->out_armed && watch(t, c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP) != 0) {
        close_conn(t, c);
        return false;
    }
    c->out_armed = false;
    return true;
}

static bool send_response(lthread *t, conn *c, mk_buf *out, bool close_after)
{
    c->closing = close_after;
    c->out = mk_buf_steal(out, &c->out_len);
    c->out_off = 0;
    if (!c->out) { /* dispatch ran out of memory */
        static const char oom[] = "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n"
                                  "Content-Length: 0\r\n\r\n";
        ssize_t w = send(c->fd, oom, sizeof oom - 1, MSG_NOSIGNAL);
        (void)w;
        close_conn(t, c);
        return false;
    }
    return flush_out(t, c);
}

/* An event stream: the socket goes to the SSE hub with the head. */
static void hand_to_hub(lthread *t, conn *c, mk_response *resp, const char *last_event_id)
{
    char peer[64];
    mk_civet_sock_peer(&c->sock, peer, sizeof peer);
    int fd = c->fd;
    release_conn(t, c);
    mk_sse_attach(t->l->m->sse, fd, resp->out.data, resp->out.len, last_event_id, resp->stream_node,
                  peer);
}

/* The request goes back to civetweb with everything read so far. */
static void give_back(lthread *t, conn *c)
{
    int fd = c->fd;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (mk_civet_return(fd, &c->sock, c->in, c->in_len) == 0) {
        unlink_conn(c);
        free_conn(c);
        return;
    }
    /* the pool's queue is full or the server is stopping */
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                               "charset=utf-8\r\nConnection: close\r\nContent-Length: 20\r\n\r\n"
                               "503 server too busy\n";
    ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
    (void)w;
    close_conn(t, c);
}

/* ---- requests ----------------------------------------------------------- */

typedef enum { HEAD_WAIT, HEAD_OK, HEAD_CIVETWEB } head_verdict;

typedef struct parsed {
    mk_civet_head h;
    mk_header_kv kv[64];
    mk_request req;
    size_t head_len, body_len;
    bool close; /* the client asked for it */
} parsed;

/* Parses the head at the start of c->in into t->scratch, or says why not. */
static head_verdict parse_head(lthread *t, conn *c, parsed *p)
{
    size_t hdr_max = t->l->m->cfg.max_header_bytes;
    size_t scan = c->in_len < hdr_max ? c->in_len : hdr_max;
    /* Find the blank line fast; civetweb's parser checks every byte below
     * anyway. Only a head without CRLFCRLF takes civetweb's slower scan
     * (it also accepts bare LFs, and says whether more may still come). */
    const char *blank = memmem(c->in, scan, "\r\n\r\n", 4);
    int hl = blank ? (int)(blank - c->in) + 4 : mk_civet_head_len(c->in, (int)scan);
    if (hl < 0)
        return HEAD_CIVETWEB;
    if (hl == 0)
        return scan >= hdr_max ? HEAD_CIVETWEB : HEAD_WAIT;
    memcpy(t->scratch, c->in, (size_t)hl);
    t->scratch[hl] = '\0';
    if (mk_civet_parse_head(t->scratch, hl, &p->h) != hl)
        return HEAD_CIVETWEB;
    if (strcmp(p->h.version, "1.1") != 0 || p->h.uri[0] != '/')
        return HEAD_CIVETWEB;

    const char *cl = NULL;
    p->close = false;
    for (int i = 0; i < p->h.nheaders; i++) {
        const char *n = p->h.headers[i].name, *v = p->h.headers[i].value;
        p->kv[i].name = n;
        p->kv[i].value = v;
        if (strcasecmp(n, "Content-Length") == 0) {
            if (cl && strcmp(cl, v) != 0)
                return HEAD_CIVETWEB; /* conflicting lengths: http.c refuses them */
            cl = v;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0 || strcasecmp(n, "Expect") == 0 ||
                   strcasecmp(n, "Upgrade") == 0) {
            return HEAD_CIVETWEB;
        } else if (strcasecmp(n, "Connection") == 0) {
            /* civetweb keeps a connection alive only for "keep-alive" */
            if (strcasecmp(v, "close") == 0)
                p->close = true;
            else if (strcasecmp(v, "keep-alive") != 0)
                return HEAD_CIVETWEB;
        }
    }
    size_t body = 0;
    if (cl) {
        if (!*cl || strlen(cl) > 18 || cl[strspn(cl, "0123456789")] != '\0')
            return HEAD_CIVETWEB; /* civetweb's strtoll rules and errors */
        body = (size_t)strtoull(cl, NULL, 10);
    }

    char *uri = (char *)p->h.uri;
    char *q = strchr(uri, '?');
    if (q)
        *q++ = '\0';
    p->req = (mk_request){
        .kind = MK_LISTEN_HTTP,
        .listener = c->listener,
        .method = p->h.method,
        .path = uri,
        .path_len = strlen(uri),
        .query = q,
        .headers = p->kv,
        .nheaders = p->h.nheaders,
        .body_status = MK_BODY_COMPLETE,
    };
    p->head_len = (size_t)hl;
    p->body_len = body;
    if (mk_dispatch_may_block(&p->req))
        return HEAD_CIVETWEB;
    return HEAD_OK;
}

/* Runs one parsed request and writes its response. Returns false when c is
 * gone (closed, handed on). */
static bool run_request(lthread *t, conn *c, parsed *p)
{
    mockapi *m = t->l->m;
    size_t end = p->head_len;
    char saved = 0;
    if (p->req.body_status == MK_BODY_COMPLETE) {
        end += p->body_len;
        if (c->in_cap <= end) { /* bytes civetweb passed on fill their buffer exactly */
            char *grown = realloc(c->in, end + 1);
            if (!grown) {
                close_conn(t, c);
                return false;
            }
            c->in = grown;
            c->in_cap = end + 1;
        }
        p->req.body = c->in + p->head_len;
        p->req.body_len = p->body_len;
        saved = c->in[end]; /* dispatch may treat the body as a C string */
        c->in[end] = '\0';
    }
    mk_response resp = {0};
    mk_buf_init(&resp.out, 0);
    resp.close = p->close; /* said in the response, as Go does */
    mk_dispatch(m, &p->req, &resp);
    if (p->req.body_status == MK_BODY_COMPLETE)
        c->in[end] = saved;
    bool close_after = resp.close || p->req.body_status != MK_BODY_COMPLETE;

    /* drop the request's bytes; what follows is the next request */
    size_t used = end < c->in_len ? end : c->in_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->need = 0;
    set_deadline(t, c); /* idle from now, or the next request's clock if it has begun */

    bool alive;
    if (resp.stream && resp.out.len > 0) {
        hand_to_hub(t, c, &resp, mk_req_header(&p->req, "Last-Event-ID"));
        alive = false;
    } else {
        alive = send_response(t, c, &resp.out, close_after);
    }
    mk_buf_free(&resp.out);
    free(resp.stream_node);
    return alive;
}

/* Serves every complete request in c->in. Returns false when c is gone. */
static bool serve(lthread *t, conn *c)
{
    while (c->in_len > 0 && !c->out) {
        if (c->need > c->in_len)
            return true; /* the head is parsed; the body is still coming */
        parsed p;
        switch (parse_head(t, c, &p)) {
        case HEAD_WAIT:
            return true;
        case HEAD_CIVETWEB:
            give_back(t, c);
            return false;
        case HEAD_OK:
            break;
        }
        if (p.body_len > t->l->m->cfg.max_body_bytes) {
            p.req.body_status = MK_BODY_TOO_LARGE; /* answered without reading it */
            return run_request(t, c, &p);
        }
        if (c->in_len < p.head_len + p.body_len) {
            c->need = p.head_len + p.body_len;
            return true;
        }
        if (!run_request(t, c, &p))
            return false;
    }
    return true;
}

/* How much to read next: up to the current request's end plus one more
 * head (so that what is left after it always fits civetweb's head buffer),
 * and no more than the buffer holds; it doubles only when full, so an idle
 * connection keeps its first 4 KB. Returns 0 at that limit, SIZE_MAX when
 * memory is short. One byte stays free for the NUL run_request puts past a
 * body. */
static size_t read_room(lthread *t, conn *c)
{
    size_t limit = c->need + t->l->m->cfg.max_header_bytes;
    if (c->in_len >= limit)
        return 0;
    if (c->in_cap < c->in_len + 2) {
        size_t cap = c->in_cap ? c->in_cap * 2 : IN_MIN;
        char *p = realloc(c->in, cap);
        if (!p)
            return SIZE_MAX;
        c->in = p;
        c->in_cap = cap;
    }
    size_t want = limit - c->in_len, avail = c->in_cap - c->in_len - 1;
    if (want > avail)
        want = avail;
    return want < READ_MAX ? want : READ_MAX;
}

static void on_readable(lthread *t, conn *c)
{
    for (;;) {
        size_t want = read_room(t, c);
        if (want == 0)
            break; /* full: serve decides (civetweb answers an oversized head) */
        if (want == SIZE_MAX) {
            close_conn(t, c); /* leaving it unread would wake this loop forever */
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, want, 0);
        if (n > 0) {
            if (c->in_len == 0)
                set_deadline(t, c); /* the request's clock starts at its first byte */
            c->in_len += (size_t)n;
            if ((size_t)n < want)
                break;
            continue;
        }
        if (n == 0) {
            c->eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        close_conn(t, c);
        return;
    }
    if (!serve(t, c))
        return;
    if (c->eof && !c->out)
        close_conn(t, c); /* nothing more can arrive; a partial request is void */
    else if (c->in_len == 0 && c->in_cap > 4 * IN_MIN) {
        free(c->in); /* an idle connection keeps no large buffer */
        c->in = NULL;
        c->in_cap = 0;
    }
}

/* A deadline passed: an idle connection or an incomplete head is closed, an
 * incomplete body is answered as unreadable (and closed), as civetweb does. */
static void expire(lthread *t, conn *c)
{
    parsed p;
    if (c->need && !c->out && parse_head(t, c, &p) == HEAD_OK) {
        p.req.body_status = MK_BODY_READ_FAIL;
        run_request(t, c, &p);
        return;
    }
    close_conn(t, c);
}

/* ---- threads ------------------------------------------------------------ */

static void take_inbox(lthread *t)
{
    uint64_t v;
    ssize_t r = read(t->wakefd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&t->inbox_lock);
    conn *c = t->inbox;
    t->inbox = NULL;
    pthread_mutex_unlock(&t->inbox_lock);
    while (c) {
        conn *next = c->next;
        c->next = NULL;
        set_deadline(t, c);
        if (watch(t, c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP) != 0)
            close_conn(t, c);
        else if (c->in_len > 0)
            serve(t, c); /* a pipelined request civetweb had read already */
        c = next;
    }
}

static void *run(void *arg)
{
    lthread *t = arg;
    struct epoll_event ev[MAX_EVENTS];
    while (!atomic_load(&t->l->stopping)) {
        int timeout = -1;
        if (t->list.next != &t->list) {
            int64_t d = t->list.next->deadline - t->now;
            timeout = d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
        }
        int n = epoll_wait(t->epfd, ev, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR)
            break;
        t->now = mk_mono_ms();
        for (int i = 0; i < n; i++) {
            conn *c = ev[i].data.ptr;
            if (!c) {
                take_inbox(t);
                continue;
            }
            if (c->out) { /* watching EPOLLOUT (or told of an error): write first */
                if (!flush_out(t, c))
                    continue;
                if (!serve(t, c)) /* requests that arrived while it was writing */
                    continue;
            } else {
                on_readable(t, c);
            }
        }
        while (t->list.next != &t->list && t->list.next->deadline <= t->now)
            expire(t, t->list.next);
    }
    return NULL;
}

int mk_loop_start(mk_loop **out, mockapi *m, char *err, size_t errlen)
{
    mk_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->m = m;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    l->nthreads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    for (int i = 0; i < l->nthreads; i++) {
        lthread *t = &l->th[i];
        t->l = l;
        t->list.prev = t->list.next = &t->list;
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        t->scratch = malloc(m->cfg.max_header_bytes + 1);
        pthread_mutex_init(&t->inbox_lock, NULL);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        int rc = t->epfd < 0 || t->wakefd < 0 || !t->scratch ||
                         epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &ev) != 0
                     ? errno
                     : pthread_create(&t->tid, NULL, run, t); /* returns its error */
        if (rc != 0) {
            snprintf(err, errlen, "cannot start the keep-alive loop: %s", strerror(rc));
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

int mk_loop_adopt(mk_loop *l, int fd, int listener, const mk_civet_sock *sock, char *rest,
                  size_t rest_len)
{
    if (!l || atomic_load(&l->stopping))
        return -1;
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->fd = fd;
    c->listener = listener;
    c->sock = *sock;
    lthread *t = &l->th[atomic_fetch_add(&l->next, 1) % (unsigned)l->nthreads];
    pthread_mutex_lock(&t->inbox_lock);
    if (atomic_load(&l->stopping)) { /* checked under the lock mk_loop_stop takes */
        pthread_mutex_unlock(&t->inbox_lock);
        free(c);
        return -1;
    }
    c->in = rest;
    c->in_len = c->in_cap = rest_len;
    c->next = t->inbox;
    t->inbox = c;
    pthread_mutex_unlock(&t->inbox_lock);
    uint64_t one = 1;
    ssize_t w = write(t->wakefd, &one, sizeof one);
    (void)w;
    return 0;
}

void mk_loop_stop(mk_loop *l)
{
    if (!l)
        return;
    atomic_store(&l->stopping, true);
    for (int i = 0; i < l->nthreads; i++) {
        lthread *t = &l->th[i];
        /* after this, no adopter can still be between its check and its push */
        pthread_mutex_lock(&t->inbox_lock);
        pthread_mutex_unlock(&t->inbox_lock);
        if (t->running) {
            uint64_t one = 1;
            ssize_t w = write(t->wakefd, &one, sizeof one);
            (void)w;
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
        while (t->list.next && t->list.next != &t->list)
            close_conn(t, t->list.next);
        for (conn *c = t->inbox, *next; c; c = next) {
            next = c->next;
            close(c->fd);
            free_conn(c);
        }
        if (t->epfd >= 0)
            close(t->epfd);
        if (t->wakefd >= 0)
            close(t->wakefd);
        free(t->scratch);
        pthread_mutex_destroy(&t->inbox_lock);
    }
    free(l);
}
