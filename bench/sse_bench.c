/* sse_bench.c: event-stream fan-out timer for bench/run.sh.
 *
 *   sse_bench fanout -addr HOST:PORT -clients N [-events E] [-pid PID]
 *                    [-pings P] [-window W] [-deadline S] [-gap MS] [-v]
 *   sse_bench cap    -addr HOST:PORT -clients N
 *
 * fanout: lifts RLIMIT_NOFILE to its hard limit, times P GET /v1/ping on a
 * fresh keep-alive connection (baseline, no streams), then opens N
 * non-blocking connections to GET /v1/nodes/bench-<i>/events from one epoll
 * loop (at most W handshakes in flight), reads and discards each response
 * head and initial event, and checks server-side with
 * GET /test/sse/wait?clients=N that N streams are open. It reads the
 * server's VmRSS (/proc/PID/status), then injects E events one after the
 * other (POST /test/inject-event on a separate keep-alive connection, a
 * fresh event_id and nonce each time). For each event, t0 = CLOCK_MONOTONIC
 * just before the POST is sent; each client's sample is the clock right
 * after the recv() that completed the event frame (the blank line after its
 * "id: <event_id>" block). Right after each POST, a GET /v1/ping goes out
 * on a third connection and is timed too (an ordinary request during the
 * fan-out). The next event is injected once every client has this one and
 * the POST has been answered, after a pause of -gap ms (10). Then P more
 * timed pings (streams open, idle), VmRSS again, and the counters of
 * GET /test/sse. -v prints each event's figures on stderr.
 *
 * cap: opens N streams (expected: the server runs with -sse-max-clients N),
 * waits for them server-side, opens stream N+1 and reads its answer (the
 * server should refuse it with 503), then injects one event and checks that
 * the N admitted streams all receive it.
 *
 * Output: "RESULT key=value ..." lines on stdout (run.sh formats them),
 * diagnostics on stderr. Exit status 0 when every step worked (every stream
 * admitted, every event received within the deadline, cap: a 503), else 1.
 * Every wait has a deadline (-deadline, 30 s per phase by default); only
 * loopback addresses are used.
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o build/bench/sse_bench bench/sse_bench.c */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "sse_bench"
#include "bench_util.h"

enum { LINE_KEEP = 96, ID_MAX = 48, MAX_EV = 512 };

/* epoll tags for the non-stream connections (streams use their index) */
#define TAG_INJECT ((uint64_t)1 << 62)
#define TAG_PING ((uint64_t)1 << 61)

typedef enum { C_CONNECTING, C_HEAD, C_INITIAL, C_READY, C_DEAD } cstate;

typedef struct client {
    int fd;
    cstate st;
    int status;
    unsigned linelen;        /* bytes of the current line seen so far */
    char line[LINE_KEEP];    /* its first LINE_KEEP-1 bytes */
    char id[ID_MAX];         /* id: of the frame being read */
    bool data_seen;          /* a data: { line in this frame */
    int got;                 /* index of the last bench event completed (-1: none) */
    int64_t t_start;         /* connect() */
} client;

static struct sockaddr_in g_addr;
static char g_host[64];
static int g_port;
static double g_deadline_s = 30;
static int g_verbose = 0;
static int g_gap_ms = 10; /* pause between two injected events */


static double mean_us(const int64_t *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i];
    return n ? s / (double)n / 1000.0 : -1;
}

static long rss_kb(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static int new_socket(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

/* ---- a small synchronous HTTP/1.1 client (keep-alive, Content-Length) --- */

typedef struct hconn {
    int fd;
    char *buf;
    size_t len, cap;
} hconn;

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = (deadline - now_ns()) / 1000000;
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int hconn_open(hconn *h, int64_t deadline)
{
    memset(h, 0, sizeof *h);
    h->fd = new_socket();
    if (h->fd < 0)
        return -1;
    if (connect(h->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0) {
        if (errno != EINPROGRESS || wait_fd(h->fd, POLLOUT, deadline) != 0)
            goto fail;
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
            goto fail;
    }
    h->cap = 65536;
    h->buf = malloc(h->cap);
    if (!h->buf)
        goto fail;
    return 0;
fail:
    close(h->fd);
    h->fd = -1;
    return -1;
}

static void hconn_close(hconn *h)
{
    if (h->fd >= 0)
        close(h->fd);
    free(h->buf);
    h->fd = -1;
    h->buf = NULL;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* If h->buf holds a complete response, returns its length and sets *status,
 * *body, *blen; 0 if incomplete; -1 if malformed. */
static long resp_complete(hconn *h, int *status, const char **body, size_t *blen)
{
    if (h->len < 12)
        return 0;
    char *end = memmem(h->buf, h->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t hlen = (size_t)(end - h->buf) + 4;
    int maj, min;
    if (sscanf(h->buf, "HTTP/%d.%d %d", &maj, &min, status) != 3)
        return -1;
    size_t cl = 0;
    for (char *p = h->buf; p && p < end;) {
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            cl = strtoul(p + 15, NULL, 10);
        char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : NULL;
    }
    if (h->len < hlen + cl)
        return 0;
    *body = h->buf + hlen;
    *blen = cl;
    return (long)(hlen + cl);
}

/* Reads what is available (non-blocking). Returns bytes read, 0 on EAGAIN,
 * -1 on EOF or error. */
static long hconn_read(hconn *h)
{
    if (h->cap - h->len < 16384) {
        size_t ncap = h->cap * 2;
        char *p = realloc(h->buf, ncap);
        if (!p)
            return -1;
        h->buf = p;
        h->cap = ncap;
    }
    ssize_t r = recv(h->fd, h->buf + h->len, h->cap - h->len - 1, 0);
    if (r > 0) {
        h->len += (size_t)r;
        h->buf[h->len] = '\0';
        return r;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return -1;
}

/* Drops a consumed response of `used` bytes from the buffer. */
static void hconn_consume(hconn *h, long used)
{
    memmove(h->buf, h->buf + used, h->len - (size_t)used);
    h->len -= (size_t)used;
    h->buf[h->len] = '\0';
}

/* Sends req and waits for the whole response. Returns the status or -1;
 * the body (NUL-terminated copy, caller frees) in *body_out if non-NULL. */
static int roundtrip(hconn *h, const char *req, size_t rlen, char **body_out, int64_t deadline)
{
    if (send_all(h->fd, req, rlen, deadline) != 0)
        return -1;
    for (;;) {
        int status;
        const char *body;
        size_t blen;
        long used = resp_complete(h, &status, &body, &blen);
        if (used < 0)
            return -1;
        if (used > 0) {
            if (body_out) {
                *body_out = malloc(blen + 1);
                if (*body_out) {
                    memcpy(*body_out, body, blen);
                    (*body_out)[blen] = '\0';
                }
            }
            hconn_consume(h, used);
            return status;
        }
        if (wait_fd(h->fd, POLLIN, deadline) != 0)
            return -1;
        if (hconn_read(h) < 0)
            return -1;
    }
}

/* One-shot request on a fresh connection. */
static int request(const char *req, char **body_out)
{
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    hconn h;
    if (hconn_open(&h, deadline) != 0)
        return -1;
    int st = roundtrip(&h, req, strlen(req), body_out, deadline);
    hconn_close(&h);
    return st;
}

/* P timed GET /v1/ping on one fresh keep-alive connection; fills *out
 * (sorted, ns). Returns the number of 200s, or -1. */
static int ping_batch(int p, int64_t **out)
{
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    hconn h;
    if (hconn_open(&h, deadline) != 0)
        return -1;
    char req[128];
    int rl = snprintf(req, sizeof req, "GET /v1/ping HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g_host, g_port);
    int64_t *v = calloc((size_t)p + 1, sizeof *v);
    int ok = 0;
    for (int i = 0; i < p && v; i++) {
        int64_t t0 = now_ns();
        int st = roundtrip(&h, req, (size_t)rl, NULL, deadline);
        v[i] = now_ns() - t0;
        if (st != 200) {
            ok = -1;
            break;
        }
        ok++;
    }
    hconn_close(&h);
    if (v && ok > 0)
        qsort(v, (size_t)ok, sizeof *v, cmp_i64);
    *out = v;
    return ok;
}

/* Reads a top-level unsigned number "key":N from the start of a JSON object. */
static long long json_num(const char *js, const char *key)
{
    if (!js)
        return -1;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(js, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* ---- the streams ---------------------------------------------------------- */

typedef struct bench {
    client *c;
    int n;
    int epfd;
    /* the event being measured */
    char want_id[ID_MAX];
    int want_idx;
    int64_t t0;
    int64_t *samples;   /* per (event, client), ns */
    size_t nsamples;
    int pending;        /* clients that still miss want_idx */
    int ready, failed;
    int refused_503;    /* streams answered 503 */
    int other_frames;   /* frames with an unexpected id */
    int keepalives;     /* ": keep-alive" comments seen */
    int lost;           /* streams that closed while an event was due */
} bench;

static void client_kill(bench *b, client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->st = C_DEAD;
}

/* A complete frame (blank line) arrived at time t. */
static void frame_done(bench *b, client *c, int64_t t)
{
    if (c->st == C_INITIAL) {
        c->st = C_READY;
        b->ready++;
    } else if (c->st == C_READY) {
        if (b->want_idx >= 0 && c->got < b->want_idx && strcmp(c->id, b->want_id) == 0) {
            c->got = b->want_idx;
            b->samples[b->nsamples++] = t - b->t0;
            b->pending--;
        } else {
            b->other_frames++;
        }
    }
    c->id[0] = '\0';
    c->data_seen = false;
}

/* One complete line (its first bytes in c->line, CR stripped). */
static void line_done(bench *b, client *c, int64_t t)
{
    char *l = c->line;
    if (c->st == C_HEAD) {
        if (c->status == 0) {
            int maj, min;
            if (sscanf(l, "HTTP/%d.%d %d", &maj, &min, &c->status) != 3)
                c->status = -1;
        } else if (c->linelen == 0) { /* end of the head */
            if (c->status != 200) {
                if (c->status == 503)
                    b->refused_503++;
                b->failed++;
                client_kill(b, c);
                return;
            }
            c->st = C_INITIAL;
        }
        return;
    }
    if (c->linelen == 0) {
        if (c->id[0] || c->data_seen)
            frame_done(b, c, t);
        return;
    }
    if (l[0] == ':') {
        b->keepalives++;
    } else if (strncmp(l, "id: ", 4) == 0) {
        snprintf(c->id, sizeof c->id, "%s", l + 4);
    } else if (strncmp(l, "data: {", 7) == 0) {
        c->data_seen = true;
    }
}

static void client_input(bench *b, client *c, const char *p, size_t n, int64_t t)
{
    for (size_t i = 0; i < n && c->st != C_DEAD; i++) {
        char ch = p[i];
        if (ch == '\n') {
            unsigned k = c->linelen < LINE_KEEP - 1 ? c->linelen : LINE_KEEP - 1;
            if (k > 0 && c->line[k - 1] == '\r') {
                k--;
                c->linelen--;
            }
            c->line[k] = '\0';
            line_done(b, c, t);
            c->linelen = 0;
        } else {
            if (c->linelen < LINE_KEEP - 1)
                c->line[c->linelen] = ch;
            c->linelen++;
        }
    }
}

static void client_readable(bench *b, client *c)
{
    char buf[16384];
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    int64_t t = now_ns();
    if (r > 0) {
        client_input(b, c, buf, (size_t)r, t);
        return;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* EOF or error: the stream is gone (it counts as failed; an event it
     * was waiting for stays counted as missing) */
    if (c->st == C_READY) {
        b->ready--;
        if (b->want_idx >= 0 && c->got < b->want_idx) {
            b->pending--;
            b->lost++;
        }
    }
    b->failed++;
    client_kill(b, c);
}

static int client_connect(bench *b, client *c)
{
    c->fd = new_socket();
    c->got = -1;
    c->t_start = now_ns();
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->st = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)(c - b->c)};
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void client_writable(bench *b, client *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
        b->failed++;
        client_kill(b, c);
        return;
    }
    char req[256];
    int rl = snprintf(req, sizeof req,
                      "GET /v1/nodes/bench-%d/events HTTP/1.1\r\nHost: %s:%d\r\n"
                      "Accept: text/event-stream\r\nUser-Agent: mockapi-sse-bench\r\n\r\n",
                      (int)(c - b->c), g_host, g_port);
    ssize_t w = send(c->fd, req, (size_t)rl, MSG_NOSIGNAL);
    if (w != rl) { /* a fresh socket takes 200 bytes at once */
        b->failed++;
        client_kill(b, c);
        return;
    }
    c->st = C_HEAD;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(c - b->c)};
    epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void dispatch_event(bench *b, struct epoll_event *e)
{
    client *c = &b->c[e->data.u64];
    if (c->st == C_DEAD)
        return;
    if (c->st == C_CONNECTING) {
        if (e->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            client_writable(b, c);
        return;
    }
    if (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        client_readable(b, c);
}

/* Opens streams [from, to) with at most `window` handshakes in flight,
 * until each is READY or dead. Returns 0 when all are READY. */
static int open_streams(bench *b, int from, int to, int window)
{
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    int next = from;
    struct epoll_event evs[MAX_EV];
    int start_ready = b->ready, start_failed = b->failed;
    for (;;) {
        int done = (b->ready - start_ready) + (b->failed - start_failed);
        int inflight = (next - from) - done;
        while (next < to && inflight < window) {
            if (client_connect(b, &b->c[next]) != 0) {
                fprintf(stderr, "sse_bench: cannot open connection %d: %s\n", next, strerror(errno));
                b->c[next].st = C_DEAD;
                b->failed++;
            } else {
                inflight++;
            }
            next++;
        }
        done = (b->ready - start_ready) + (b->failed - start_failed);
        if (next >= to && done >= to - from)
            break;
        if (now_ns() > deadline) {
            fprintf(stderr, "sse_bench: %d of %d streams open after %.0f s\n", b->ready - start_ready,
                    to - from, g_deadline_s);
            return -1;
        }
        int ne = epoll_wait(b->epfd, evs, MAX_EV, 100);
        for (int i = 0; i < ne; i++)
            dispatch_event(b, &evs[i]);
    }
    return b->failed > start_failed ? -1 : 0;
}

typedef struct async_req {
    hconn h;
    int64_t t0, t1;
    int status;
    bool busy;
} async_req;

static void async_input(bench *b, async_req *a)
{
    (void)b;
    if (hconn_read(&a->h) < 0) {
        a->status = -1;
        a->busy = false;
        a->t1 = now_ns();
        return;
    }
    int st;
    const char *body;
    size_t blen;
    long used = resp_complete(&a->h, &st, &body, &blen);
    if (used != 0) {
        a->t1 = now_ns();
        a->status = used < 0 ? -1 : st;
        a->busy = false;
        if (used > 0)
            hconn_consume(&a->h, used);
    }
}

/* Injects event idx to every READY stream and waits until each has it.
 * Also times one GET /v1/ping sent right after the POST. Returns the number
 * of READY streams that did not get it before the deadline. */
static int inject_one(bench *b, async_req *inj, async_req *png, int run, int idx, int64_t *inj_ns,
                      int64_t *ping_ns)
{
    char body[256], req[512], preq[128];
    snprintf(b->want_id, sizeof b->want_id, "bench-%d-%d", run, idx);
    int bl = snprintf(body, sizeof body,
                      "{\"event_type\":\"bench\",\"event_id\":\"%s\",\"nonce\":\"n-%d-%d\",\"payload\":{\"t\":%d}}",
                      b->want_id, run, idx, idx);
    int rl = snprintf(req, sizeof req,
                      "POST /test/inject-event HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s", g_host, g_port, bl, body);
    int pl = snprintf(preq, sizeof preq, "GET /v1/ping HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g_host, g_port);
    b->pending = 0;
    for (int i = 0; i < b->n; i++)
        if (b->c[i].st == C_READY)
            b->pending++;
    int lost0 = b->lost;
    b->want_idx = idx;
    *inj_ns = -1;
    *ping_ns = -1;
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    b->t0 = now_ns();
    inj->t0 = b->t0;
    inj->busy = true;
    if (send_all(inj->h.fd, req, (size_t)rl, deadline) != 0) {
        b->want_idx = -1;
        return b->pending;
    }
    if (png) {
        png->t0 = now_ns();
        png->busy = true;
        if (send_all(png->h.fd, preq, (size_t)pl, deadline) != 0)
            png->busy = false, png->status = -1;
    }
    struct epoll_event evs[MAX_EV];
    while ((b->pending > 0 || inj->busy || (png && png->busy)) && now_ns() < deadline) {
        int ne = epoll_wait(b->epfd, evs, MAX_EV, 50);
        for (int i = 0; i < ne; i++) {
            if (evs[i].data.u64 == TAG_INJECT)
                async_input(b, inj);
            else if (evs[i].data.u64 == TAG_PING)
                async_input(b, png);
            else
                dispatch_event(b, &evs[i]);
        }
    }
    *inj_ns = inj->busy || inj->status != 204 ? -1 : inj->t1 - inj->t0;
    *ping_ns = !png || png->busy || png->status != 200 ? -1 : png->t1 - png->t0;
    if (inj->status != 204)
        fprintf(stderr, "sse_bench: POST /test/inject-event answered %d\n", inj->busy ? -1 : inj->status);
    b->want_idx = -1;
    return b->pending + (b->lost - lost0);
}

static int async_open(bench *b, async_req *a, uint64_t tag)
{
    memset(a, 0, sizeof *a);
    if (hconn_open(&a->h, now_ns() + (int64_t)(g_deadline_s * 1e9)) != 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(b->epfd, EPOLL_CTL_ADD, a->h.fd, &ev);
}

static void lift_nofile(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        char m[64];
        snprintf(m, sizeof m, "%ld < %d", (long)rl.rlim_cur, need);
        die("RLIMIT_NOFILE too low for this many streams (%s); raise the hard limit", m);
    }
}

static void parse_addr(const char *a)
{
    const char *colon = strrchr(a, ':');
    if (!colon || (size_t)(colon - a) >= sizeof g_host)
        die("bad -addr %s (want 127.0.0.1:PORT)", a);
    memcpy(g_host, a, (size_t)(colon - a));
    g_host[colon - a] = '\0';
    g_port = atoi(colon + 1);
    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((unsigned short)g_port);
    if (inet_pton(AF_INET, g_host, &g_addr.sin_addr) != 1 || g_port <= 0)
        die("bad -addr %s (want an IPv4 loopback address and a port)", a);
    if ((ntohl(g_addr.sin_addr.s_addr) >> 24) != 127)
        die("-addr %s is not a loopback address", a);
}

static void print_dist(const char *label, int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i64);
    printf("RESULT %s n=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f min_us=%.0f\n",
           label, n, pct_us(v, n, 50), pct_us(v, n, 90), pct_us(v, n, 99), n ? (double)v[n - 1] / 1000 : -1,
           mean_us(v, n), n ? (double)v[0] / 1000 : -1);
}

static int wait_server(int n)
{
    char req[160];
    snprintf(req, sizeof req, "GET /test/sse/wait?clients=%d&timeout_ms=%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", n,
             (int)(g_deadline_s * 1000 > 60000 ? 60000 : g_deadline_s * 1000), g_host, g_port);
    char *body = NULL;
    int st = request(req, &body);
    if (st != 200)
        fprintf(stderr, "sse_bench: /test/sse/wait?clients=%d answered %d: %s\n", n, st, body ? body : "");
    free(body);
    return st;
}

static int run_fanout(int n, int events, int pid, int pings, int window)
{
    bench b = {0};
    b.n = n;
    b.want_idx = -1;
    b.c = calloc((size_t)n + 1, sizeof *b.c);
    b.samples = calloc((size_t)n * (size_t)events + 1, sizeof *b.samples);
    int64_t *last = calloc((size_t)events + 1, sizeof *last);   /* per event: the slowest client */
    int64_t *first = calloc((size_t)events + 1, sizeof *first); /* per event: the fastest client */
    int64_t *inj = calloc((size_t)events + 1, sizeof *inj);
    int64_t *fping = calloc((size_t)events + 1, sizeof *fping);
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b.c || !b.samples || !last || !first || !inj || !fping || b.epfd < 0)
        die("%s", "out of memory");
    for (int i = 0; i < n; i++)
        b.c[i].fd = -1;
    int rc = 0;

    long rss0 = rss_kb(pid);
    int64_t *pv = NULL;
    int pn = ping_batch(pings, &pv);
    if (pn != pings)
        die("%s", "GET /v1/ping batch (no streams) failed");
    print_dist("ping_idle", pv, (size_t)pn);
    free(pv);

    int64_t ts = now_ns();
    if (open_streams(&b, 0, n, window) != 0) {
        fprintf(stderr, "sse_bench: %d of %d streams opened, %d failed (%d answered 503)\n", b.ready, n,
                b.failed, b.refused_503);
        rc = 1;
    }
    int64_t setup_ns = now_ns() - ts;
    int wst = wait_server(b.ready);
    int64_t wait_ns = now_ns() - ts - setup_ns;
    long rss_open = rss_kb(pid);
    printf("RESULT setup clients=%d ready=%d failed=%d refused_503=%d setup_ms=%.1f wait_status=%d "
           "wait_ms=%.1f rss_idle_kb=%ld rss_open_kb=%ld\n",
           n, b.ready, b.failed, b.refused_503, (double)setup_ns / 1e6, wst, (double)wait_ns / 1e6, rss0,
           rss_open);
    fflush(stdout);
    if (wst != 200)
        rc = 1;

    async_req ia, pa;
    if (async_open(&b, &ia, TAG_INJECT) != 0 || async_open(&b, &pa, TAG_PING) != 0)
        die("%s", "cannot open the inject/ping connections");
    int run = (int)(now_ns() / 1000000 % 1000000);
    long missing = 0;
    size_t nf = 0;
    for (int e = 0; e < events; e++) {
        size_t before = b.nsamples;
        int64_t ij, pg;
        int miss = inject_one(&b, &ia, &pa, run, e, &ij, &pg);
        missing += miss;
        if (b.nsamples > before) {
            int64_t lo = b.samples[before], hi = b.samples[before];
            for (size_t k = before; k < b.nsamples; k++) {
                if (b.samples[k] < lo)
                    lo = b.samples[k];
                if (b.samples[k] > hi)
                    hi = b.samples[k];
            }
            first[nf] = lo;
            last[nf] = hi;
        }
        inj[nf] = ij;
        fping[nf] = pg;
        nf++;
        if (g_verbose)
            fprintf(stderr, "event %d: t0 %.6f s first %.2f ms last %.2f ms inject %.2f ms ping %.2f ms missing %d\n",
                    e, (double)b.t0 / 1e9, (double)first[nf - 1] / 1e6, (double)last[nf - 1] / 1e6,
                    (double)ij / 1e6, (double)pg / 1e6, miss);
        if (miss > 0 || ij < 0 || pg < 0) {
            rc = 1;
            if (miss > 0) /* no point in waiting for the same stall 20 times */
                break;
        }
        struct timespec gap = {g_gap_ms / 1000, (long)(g_gap_ms % 1000) * 1000000L};
        nanosleep(&gap, NULL);
    }
    long rss_after = rss_kb(pid);
    size_t ns = b.nsamples;
    printf("RESULT fanout clients=%d events=%zu samples=%zu missing=%ld other_frames=%d keepalives=%d\n", b.ready,
           nf, ns, missing, b.other_frames, b.keepalives);
    print_dist("latency", b.samples, ns);
    print_dist("event_last", last, nf);
    print_dist("event_first", first, nf);
    print_dist("inject_post", inj, nf);
    print_dist("ping_fanout", fping, nf);

    pn = ping_batch(pings, &pv);
    if (pn != pings) {
        fprintf(stderr, "sse_bench: GET /v1/ping batch with %d streams open failed\n", b.ready);
        rc = 1;
    }
    print_dist("ping_streams", pv, pn > 0 ? (size_t)pn : 0);
    free(pv);

    char req[128], *body = NULL;
    snprintf(req, sizeof req, "GET /test/sse HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g_host, g_port);
    int sst = request(req, &body);
    printf("RESULT server status=%d connected=%lld published=%lld delivered=%lld dropped=%lld refused=%lld "
           "rss_after_kb=%ld\n",
           sst, json_num(body, "connected"), json_num(body, "published"), json_num(body, "delivered"),
           json_num(body, "dropped"), json_num(body, "refused"), rss_after);
    free(body);
    hconn_close(&ia.h);
    hconn_close(&pa.h);
    for (int i = 0; i < n; i++)
        if (b.c[i].fd >= 0)
            close(b.c[i].fd);
    close(b.epfd);
    free(b.c);
    free(b.samples);
    free(last);
    free(first);
    free(inj);
    free(fping);
    return rc;
}

static int run_cap(int n)
{
    bench b = {0};
    b.n = n;
    b.want_idx = -1;
    b.c = calloc((size_t)n + 2, sizeof *b.c);
    b.samples = calloc((size_t)n + 2, sizeof *b.samples);
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b.c || !b.samples || b.epfd < 0)
        die("%s", "out of memory");
    for (int i = 0; i <= n; i++)
        b.c[i].fd = -1;
    int rc = 0;
    if (open_streams(&b, 0, n, 64) != 0) {
        fprintf(stderr, "sse_bench: only %d of %d streams admitted below the cap\n", b.ready, n);
        rc = 1;
    }
    int wst = wait_server(n);
    /* stream n+1: read its whole answer (the server closes it) */
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    hconn h;
    int status = -1;
    char first_line[128] = "", *body = NULL;
    if (hconn_open(&h, deadline) == 0) {
        char req[200];
        int rl = snprintf(req, sizeof req, "GET /v1/nodes/bench-%d/events HTTP/1.1\r\nHost: %s:%d\r\n\r\n", n,
                          g_host, g_port);
        status = roundtrip(&h, req, (size_t)rl, &body, deadline);
        hconn_close(&h);
    }
    if (body) {
        snprintf(first_line, sizeof first_line, "%s", body);
        char *nl = strchr(first_line, '\n');
        if (nl)
            *nl = '\0';
    }
    free(body);
    /* the admitted streams still work */
    async_req ia;
    int64_t ij, pg;
    int miss = -1;
    if (async_open(&b, &ia, TAG_INJECT) == 0) {
        miss = inject_one(&b, &ia, NULL, (int)(now_ns() / 1000000 % 1000000), 0, &ij, &pg);
        hconn_close(&ia.h);
    }
    char req[128];
    snprintf(req, sizeof req, "GET /test/sse HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g_host, g_port);
    char *sb = NULL;
    request(req, &sb);
    /* extra_body last: it may hold spaces */
    printf("RESULT cap max=%d admitted=%d wait_status=%d extra_status=%d after_event_missing=%d "
           "server_connected=%lld server_refused=%lld extra_body=%s\n",
           n, b.ready, wst, status, miss, json_num(sb, "connected"), json_num(sb, "refused"),
           first_line[0] ? first_line : "-");
    free(sb);
    if (status != 503 || miss != 0 || b.ready != n)
        rc = 1;
    for (int i = 0; i <= n; i++)
        if (b.c[i].fd >= 0)
            close(b.c[i].fd);
    close(b.epfd);
    free(b.c);
    free(b.samples);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        goto usage;
    const char *mode = argv[1], *addr = NULL;
    int n = 1000, events = 20, pid = 0, pings = 100, window = 64;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-v") == 0) {
            g_verbose = 1;
            continue;
        }
        if (!v)
            goto usage;
        if (strcmp(a, "-addr") == 0)
            addr = v;
        else if (strcmp(a, "-clients") == 0)
            n = atoi(v);
        else if (strcmp(a, "-events") == 0)
            events = atoi(v);
        else if (strcmp(a, "-pid") == 0)
            pid = atoi(v);
        else if (strcmp(a, "-pings") == 0)
            pings = atoi(v);
        else if (strcmp(a, "-window") == 0)
            window = atoi(v);
        else if (strcmp(a, "-deadline") == 0)
            g_deadline_s = atof(v);
        else if (strcmp(a, "-gap") == 0)
            g_gap_ms = atoi(v);
        else
            goto usage;
        i++;
    }
    if (!addr || n < 1 || n > 100000 || events < 1 || events > 1000 || pings < 1 || pings > 100000 ||
        window < 1 || g_deadline_s <= 0 || g_gap_ms < 0 || g_gap_ms > 10000 ||
        (long long)n * events > 10000000) /* samples: 8 bytes each */
        goto usage;
    parse_addr(addr);
    signal(SIGPIPE, SIG_IGN);
    lift_nofile(n + 64);
    if (strcmp(mode, "fanout") == 0)
        return run_fanout(n, events, pid, pings, window);
    if (strcmp(mode, "cap") == 0)
        return run_cap(n);
usage:
    fprintf(stderr, "usage: sse_bench fanout -addr 127.0.0.1:PORT -clients N [-events E] [-pid PID] "
                    "[-pings P] [-window W] [-deadline S] [-gap MS] [-v]\n"
                    "       sse_bench cap -addr 127.0.0.1:PORT -clients N\n");
    return 2;
}
