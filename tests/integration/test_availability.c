/* test_availability.c: whether clients that hold connections without
 * finishing a request can stop others from being served. The attackers are
 * silent or half-sent TLS handshakes, idle new connections, slowloris heads,
 * trickled bodies and held /test/wait and /test/sse/wait calls. Each test
 * opens them on raw non-blocking sockets, then checks that well-behaved
 * clients on NEW connections (a fresh curl handle each, never keep-alive
 * reuse) are answered within PING_MS each, that the server closes the
 * attackers once request_timeout_ms has passed, that the process stays idle
 * meanwhile, and that mockapi_stop returns promptly with all of them open.
 *
 * This is the contract of the event-driven transport (every connection owned
 * by epoll loops from accept on). On a worker-per-connection transport these
 * tests fail, and they are written so that failing takes bounded time: every
 * connect, read and request has a deadline, a run of failed requests gives up
 * after MAX_FAILS, and the attackers' sockets are closed before an instance is
 * stopped (teardown included), because a handshake that spins on WANT_READ
 * only ends when its peer goes away.
 *
 * Figures are printed for every test (they are the before/after evidence);
 * each test collects its failures in a verdict and fails once at the end, so
 * one failed check does not hide the others' figures.
 *
 * Without wall-clock bounds (mt_timing_on() false: the valgrind run) the
 * counts are a tenth, deadlines are generous and only the logic and the leak
 * checks apply. The group raises RLIMIT_NOFILE's soft limit (each connection
 * costs two descriptors here: the client's and the in-process server's) and
 * scales the counts down if the hard limit is too low for them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "sse_client.h"

#define PING_MS 2000        /* a good client's bound, per request */
#define MAX_FAILS 3         /* failed requests before a batch gives up */
#define CPU_WINDOW_MS 500   /* idle window over which process CPU is measured */
#define CPU_MAX_MS 100      /* CPU allowed in that window: no spinning */
#define POOL_MAX 1200       /* attacker sockets open at once */
#define BUF_CAP 65536       /* bytes kept per attacker socket */
#define FD_PEAK 560         /* most connections one test opens (avail_stop_under_attack) */
#define NSTREAMS 5

/* A valid heartbeat body (as in test_keepalive.c): heartbeat_count + 1. */
#define HB_BODY                                                                                    \
    "{\"node_id\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"status\":\"healthy\","           \
    "\"binary_checksum\":\"abc\",\"mesh\":{\"interface\":\"wg0\",\"peer_count\":2,"                \
    "\"listen_port\":51820},\"nat\":{\"public_endpoint\":\"198.51.100.1:51820\","                  \
    "\"type\":\"full_cone\"}}"

/* 40 bytes, valid JSON: a server that waits for all of it could accept it. */
#define BODY40 "{\"node_id\":\"n1\",\"status\":\"healthy\"}     "
_Static_assert(sizeof BODY40 - 1 == 40, "BODY40 is the 40 bytes Content-Length says");

#define HB_HEAD_CL40                                                                               \
    "POST /v1/nodes/n1/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"       \
    "Content-Length: 40\r\n\r\n"
#define HB_HEAD_CHUNKED                                                                            \
    "POST /v1/nodes/n1/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"       \
    "Transfer-Encoding: chunked\r\n\r\n"

/* The first 10 bytes of a ClientHello: a handshake record of 512 bytes
 * announced, 5 of them sent. */
static const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00,
                                              0x01, 0x00, 0x01, 0xfc, 0x03};

/* ---- attacker sockets, closed by the teardown even when a test fails ---- */

typedef struct aconn {
    int fd;             /* -1: never opened, refused, or closed by us */
    bool connected;     /* the TCP handshake completed */
    bool eof;           /* the server closed it (EOF, reset, or a send failed) */
    int64_t first_ms;   /* when we sent its first byte; 0: none sent */
    int64_t rx_ms;      /* when its first bytes arrived; 0: none */
    int64_t eof_ms;     /* when we saw the close */
    size_t sent;        /* bytes sent */
    unsigned char *buf; /* bytes received, NUL-terminated, at most BUF_CAP */
    size_t len;
} aconn;

static aconn pool[POOL_MAX];
static int npool;
static struct pollfd pfds[POOL_MAX];
static int pidx[POOL_MAX];
static sse_client streams[NSTREAMS];
static double fd_scale = 1.0; /* < 1 when RLIMIT_NOFILE cannot hold FD_PEAK connections */

static void pool_close_all(void)
{
    for (int i = 0; i < npool; i++) {
        if (pool[i].fd >= 0)
            close(pool[i].fd);
        free(pool[i].buf);
        memset(&pool[i], 0, sizeof pool[i]);
        pool[i].fd = -1;
    }
    npool = 0;
}

/* Attackers first: an instance whose workers spin on their sockets only
 * stops once those sockets are gone. */
static int teardown(void **state)
{
    (void)state;
    pool_close_all();
    for (int i = 0; i < NSTREAMS; i++)
        sse_close(&streams[i]);
    mt_server_free_tracked_all();
    return 0;
}

static int group_setup(void **state)
{
    struct rlimit rl;
    (void)state;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < 4096 && rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        /* the hard limit, but not a huge one: nothing here needs more */
        want.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) /* valgrind refuses: counts are small there */
            rl = want;
    }
    /* two descriptors per connection plus curl, listeners, threads */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * FD_PEAK + 300) {
        fd_scale = rl.rlim_cur > 400 ? (double)(rl.rlim_cur - 300) / (2.0 * FD_PEAK) : 0.1;
        print_message("availability: RLIMIT_NOFILE %llu: counts scaled by %.2f\n",
                      (unsigned long long)rl.rlim_cur, fd_scale);
    }
    return 0;
}

/* The attacker count for a nominal n: n, scaled for the descriptor limit,
 * and a tenth of it without wall-clock bounds (valgrind). */
static int count(int n)
{
    int k = (int)(n * fd_scale);
    if (!mt_timing_on())
        k /= 10;
    return k < 4 ? 4 : k;
}

static int npings(void)
{
    return mt_timing_on() ? 50 : 10;
}

/* A deadline span: as given with wall-clock bounds; without them (valgrind,
 * 20-50x slower) longer, yet short enough that a server that fails does not
 * stall the run for minutes. */
static int64_t span(int64_t ms)
{
    return mt_timing_on() ? ms : ms * 5 + 5000;
}

static void mark_eof(aconn *c)
{
    if (!c->eof) {
        c->eof = true;
        c->eof_ms = mt_now_ms();
    }
}

/* Opens n non-blocking connections to 127.0.0.1:port. Their handshakes run
 * in parallel and are waited for until deadline; one that has not completed
 * by then stays in the pool unconnected. Returns the pool index of the
 * first; *connected (may be NULL) receives how many completed. */
static int pool_open(int port, int n, int64_t deadline, int *connected)
{
    struct sockaddr_in sa;
    int first = npool, ok = 0;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n && npool < POOL_MAX; i++) {
        aconn *c = &pool[npool++];
        memset(c, 0, sizeof *c);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            continue;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            c->connected = true;
        } else if (errno != EINPROGRESS) {
            close(c->fd);
            c->fd = -1;
        }
    }
    for (;;) {
        int np = 0, pr;
        int64_t left = deadline - mt_now_ms();
        for (int i = first; i < npool; i++)
            if (pool[i].fd >= 0 && !pool[i].connected) {
                pfds[np].fd = pool[i].fd;
                pfds[np].events = POLLOUT;
                pfds[np].revents = 0;
                pidx[np++] = i;
            }
        if (np == 0 || left <= 0)
            break;
        pr = poll(pfds, (nfds_t)np, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        for (int k = 0; k < np; k++) {
            aconn *c = &pool[pidx[k]];
            int err = 0;
            socklen_t el = sizeof err;
            if (!pfds[k].revents)
                continue;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
                c->connected = true;
            } else {
                close(c->fd);
                c->fd = -1;
            }
        }
    }
    for (int i = first; i < npool; i++)
        ok += pool[i].connected;
    if (connected)
        *connected = ok;
    return first;
}

/* Sends p[0..n) on c without blocking (a few bytes into an empty socket
 * buffer go out whole). A failed send means the server closed it. */
static void pool_send(aconn *c, const void *p, size_t n)
{
    ssize_t w;
    if (c->fd < 0 || !c->connected || c->eof || n == 0)
        return;
    if (!c->first_ms)
        c->first_ms = mt_now_ms();
    w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0)
        c->sent += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        mark_eof(c);
}

static void pool_send_range(int from, int to, const void *p, size_t n)
{
    for (int i = from; i < to; i++)
        pool_send(&pool[i], p, n);
}

/* Reads whatever c has buffered (keeping up to BUF_CAP bytes); notes EOF. */
static void conn_read(aconn *c)
{
    char tmp[4096];
    for (;;) {
        ssize_t r = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (r == 0) {
            mark_eof(c);
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                mark_eof(c); /* ECONNRESET and the like: closed all the same */
            return;
        }
        if (!c->rx_ms)
            c->rx_ms = mt_now_ms();
        if (c->len < BUF_CAP) {
            size_t take = (size_t)r < BUF_CAP - c->len ? (size_t)r : BUF_CAP - c->len;
            unsigned char *nb = realloc(c->buf, c->len + take + 1);
            if (!nb)
                return;
            memcpy(nb + c->len, tmp, take);
            c->len += take;
            nb[c->len] = '\0';
            c->buf = nb;
        }
    }
}

/* Waits up to timeout_ms for bytes or closes on the open connections in
 * [from, to) and reads them. With none open it waits out the timeout (the
 * pacing of a trickle). */
static void pool_pump(int from, int to, int timeout_ms)
{
    int np = 0, pr;
    for (int i = from; i < to; i++)
        if (pool[i].fd >= 0 && pool[i].connected && !pool[i].eof) {
            pfds[np].fd = pool[i].fd;
            pfds[np].events = POLLIN;
            pfds[np].revents = 0;
            pidx[np++] = i;
        }
    pr = poll(np ? pfds : NULL, (nfds_t)np, timeout_ms);
    for (int k = 0; pr > 0 && k < np; k++)
        if (pfds[k].revents)
            conn_read(&pool[pidx[k]]);
}

/* Reads on [from, to) until deadline passes (pacing, with replies read as
 * they come). */
static void pool_pump_until(int from, int to, int64_t deadline)
{
    for (int64_t left; (left = deadline - mt_now_ms()) > 0;)
        pool_pump(from, to, (int)left);
}

/* The status of the complete response at the start of b (head, plus a
 * Content-Length body), 0 while incomplete; *body points at its body. */
static int resp_status(const unsigned char *b, size_t n, const char **body)
{
    const char *s = (const char *)b, *end, *cl;
    size_t head, blen = 0;
    int status = 0;
    if (!b || !(end = strstr(s, "\r\n\r\n")))
        return 0;
    head = (size_t)(end - s) + 4;
    cl = strcasestr(s, "\r\nContent-Length:");
    if (cl && cl < end)
        blen = strtoul(cl + 17, NULL, 10);
    if (n < head + blen || sscanf(s, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    *body = s + head;
    return status;
}

static bool conn_answered(const aconn *c)
{
    const char *body;
    return resp_status(c->buf, c->len, &body) != 0;
}

enum { UNTIL_EOF, UNTIL_ANSWER };

/* Reads on [from, to) until every connected socket there is closed by the
 * server (UNTIL_EOF) or has a complete response or is closed (UNTIL_ANSWER),
 * or deadline passes. Returns how many are not done. */
static int pool_wait(int from, int to, int64_t deadline, int until)
{
    for (;;) {
        int open = 0;
        int64_t left = deadline - mt_now_ms();
        for (int i = from; i < to; i++) {
            const aconn *c = &pool[i];
            if (c->fd >= 0 && c->connected && !c->eof && (until == UNTIL_EOF || !conn_answered(c)))
                open++;
        }
        if (open == 0 || left <= 0)
            return open;
        pool_pump(from, to, (int)left);
    }
}

/* How many connected sockets in [from, to) the server has closed. */
static int pool_closed(int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++)
        n += pool[i].connected && pool[i].eof;
    return n;
}

static int pool_connected(int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++)
        n += pool[i].connected;
    return n;
}

/* The longest time from since (or, with since 0, each socket's first byte)
 * to the server's close, over the closed sockets of [from, to); -1: none. */
static int64_t pool_max_close_ms(int from, int to, int64_t since)
{
    int64_t worst = -1;
    for (int i = from; i < to; i++) {
        const aconn *c = &pool[i];
        int64_t t0 = since ? since : c->first_ms;
        if (c->connected && c->eof && t0 && c->eof_ms - t0 > worst)
            worst = c->eof_ms - t0;
    }
    return worst;
}

/* ---- verdicts: every check's failure, reported together at the end ------ */

typedef struct verdict {
    char msg[3072];
    size_t len;
} verdict;

static void vfail(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vfail(verdict *v, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (v->len + 8 >= sizeof v->msg)
        return;
    v->len += (size_t)snprintf(v->msg + v->len, sizeof v->msg - v->len, "\n  - ");
    va_start(ap, fmt);
    w = vsnprintf(v->msg + v->len, sizeof v->msg - v->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        v->len += (size_t)w < sizeof v->msg - v->len ? (size_t)w : sizeof v->msg - v->len - 1;
}

static void vcheck(const verdict *v)
{
    if (v->len)
        fail_msg("%s", v->msg);
}

/* ---- good clients ------------------------------------------------------ */

typedef struct batch {
    int ok, failed;
    int64_t worst_ms;
    char first_err[200];
} batch;

/* n GETs of path, each on a new connection (a fresh curl handle), each
 * bounded by PING_MS; each must answer 200. Gives up after MAX_FAILS
 * failures in all, so a server that serves nobody fails in seconds. ca_pem:
 * for TLS, the instance's CA. Results accumulate in b. */
static void ping_batch(batch *b, const char *base, const char *path, const char *ca_pem, int n)
{
    for (int i = 0; i < n && b->failed < MAX_FAILS; i++) {
        mt_request rq;
        mt_response r;
        int64_t t0 = mt_now_ms(), dt;
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = path;
        rq.ca_pem = ca_pem;
        rq.timeout_ms = span(PING_MS);
        mt_perform(NULL, base, &rq, &r);
        dt = mt_now_ms() - t0;
        if (dt > b->worst_ms)
            b->worst_ms = dt;
        if (r.status == 200) {
            b->ok++;
        } else {
            if (b->failed++ == 0)
                snprintf(b->first_err, sizeof b->first_err, "status %ld after %lld ms: %s",
                         r.status, (long long)dt, r.rc ? curl_easy_strerror(r.rc) : "");
        }
        mt_response_free(&r);
    }
}

static void batch_report(verdict *v, const char *what, const batch *b)
{
    print_message("  %s: %d ok, %d failed%s, worst %lld ms%s%s\n", what, b->ok, b->failed,
                  b->failed >= MAX_FAILS ? " (gave up)" : "", (long long)b->worst_ms,
                  b->failed ? "; first failure: " : "", b->first_err);
    if (b->failed)
        vfail(v, "%s: %d of %d new-connection requests failed (first: %s)", what, b->failed,
              b->ok + b->failed, b->first_err);
}

/* CPU time of the whole process (the in-process server included) over
 * window_ms of wall time in which nothing is asked of the server. Here the
 * window IS the measurement, not a synchronisation: poll() on no descriptors
 * waits it out (re-polled if interrupted). */
static int64_t idle_cpu_ms(int window_ms)
{
    struct timespec a, b;
    int64_t end = mt_now_ms() + window_ms;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (int64_t left; (left = end - mt_now_ms()) > 0;)
        poll(NULL, 0, (int)left);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    return ((int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec)) / 1000000;
}

static int tls_port(const mt_server *s)
{
    return mockapi_port(s->m, MOCKAPI_LISTENER_TLS);
}

static int http_port(const mt_server *s)
{
    return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP);
}

/* Holds n connections to port (sending initial on each, if any), then in 5
 * rounds sends one more byte of more (if any) to each still open and makes a
 * fifth of npings() good requests of path on new connections. The
 * connections stay in the pool; returns the index of the first. */
static int hold_and_ping(verdict *v, const char *what, int port, int n, const char *initial,
                         const char *more, const char *base, const char *path, const char *ca)
{
    int conn, first, rounds = 5;
    batch b;
    char label[160];
    memset(&b, 0, sizeof b);
    first = pool_open(port, n, mt_now_ms() + span(3000), &conn);
    if (initial)
        pool_send_range(first, npool, initial, strlen(initial));
    for (int r = 0; r < rounds && b.failed < MAX_FAILS; r++) {
        if (more && (size_t)r < strlen(more))
            pool_send_range(first, npool, more + r, 1);
        pool_pump(first, npool, 0);
        ping_batch(&b, base, path, ca, npings() / rounds);
    }
    pool_pump(first, npool, 0);
    print_message("%s: %d of %d connections held (%d closed by the server meanwhile)\n", what,
                  conn, n, pool_closed(first, npool));
    snprintf(label, sizeof label, "%s: GET %s", what, path);
    batch_report(v, label, &b);
    return first;
}

/* ---- 1, 2: silent and half-sent TLS handshakes ------------------------- */

/* Garbage where a ClientHello belongs: each must be closed at once. */
static const char *const tls_garbage[] = {
    "GET /test/assertions HTTP/1.1\r\nHost: x\r\n\r\n",          /* plain HTTP */
    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", /* no record type */
    "\x16\x03\x01\xff\xff\x01\x00\xff\xfb",                         /* a record too long */
};
#define NGARBAGE (sizeof tls_garbage / sizeof tls_garbage[0])

static void tls_attack(const char *what, const void *prefix, size_t plen, bool garbage)
{
    /* under valgrind a real handshake alone can take longer than 300 ms */
    const unsigned timeout_ms = mt_timing_on() ? 300 : 3000;
    verdict v;
    mockapi_config cfg;
    mt_server s;
    const char *ca;
    const int sizes[2] = {2, count(50)};
    int conn, first;
    int64_t t0, worst;
    batch b;

    memset(&v, 0, sizeof v);
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    /* long enough that the attackers stay open through the checks */
    cfg.request_timeout_ms = 5000;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    ca = mockapi_tls_ca_pem(s.m);
    assert_non_null(ca);

    for (int round = 0; round < 2; round++) {
        char label[64];
        int64_t cpu;
        int gfirst;
        first = pool_open(tls_port(&s), sizes[round] - npool, mt_now_ms() + span(3000), &conn);
        pool_send_range(first, npool, prefix, plen);
        gfirst = npool;
        if (garbage && round == 1)
            for (size_t g = 0; g < NGARBAGE; g++) {
                int k = pool_open(tls_port(&s), 1, mt_now_ms() + span(3000), NULL);
                pool_send(&pool[k], tls_garbage[g], strlen(tls_garbage[g]));
            }
        memset(&b, 0, sizeof b);
        snprintf(label, sizeof label, "%s x%d: TLS GET /test/assertions", what, gfirst);
        ping_batch(&b, s.tls_base, "/test/assertions", ca, 10);
        cpu = idle_cpu_ms(CPU_WINDOW_MS);
        pool_pump(0, npool, 0);
        print_message("%s x%d: process CPU %lld ms over an idle %d ms window\n", what, gfirst,
                      (long long)cpu, CPU_WINDOW_MS);
        batch_report(&v, label, &b);
        if (mt_timing_on() && cpu > CPU_MAX_MS)
            vfail(&v, "%s x%d: the process used %lld ms of CPU in an idle %d ms window (max %d)",
                  what, gfirst, (long long)cpu, CPU_WINDOW_MS, CPU_MAX_MS);
        /* the window above measured nothing if they were already gone */
        if (mt_timing_on() && pool_closed(0, gfirst) > 0) /* valgrind: 5 s may have passed */
            vfail(&v, "%s x%d: %d closed long before request_timeout_ms (5000) passed", what,
                  gfirst, pool_closed(0, gfirst));
        if (gfirst < npool) {
            int left = pool_wait(gfirst, npool, mt_now_ms() + span(1000), UNTIL_EOF);
            print_message("%s: %d of %zu garbage connections closed at once\n", what,
                          pool_closed(gfirst, npool), NGARBAGE);
            if (left)
                vfail(&v, "%s: %d of %zu connections sending garbage were not closed within 1 s",
                      what, left, NGARBAGE);
        }
    }
    pool_close_all();
    mt_server_untrack_free(&s);

    /* The same attackers with a short timeout: the server closes them. */
    cfg.request_timeout_ms = timeout_ms;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    ca = mockapi_tls_ca_pem(s.m);
    assert_non_null(ca);
    t0 = mt_now_ms();
    first = pool_open(tls_port(&s), count(50), t0 + span(3000), &conn);
    pool_send_range(first, npool, prefix, plen);
    pool_wait(first, npool, t0 + span(timeout_ms * 3 + 1000), UNTIL_EOF);
    worst = pool_max_close_ms(first, npool, t0);
    print_message("%s, request_timeout_ms %u: %d of %d closed by the server, the last %lld ms "
                  "after connecting (-1: none)\n",
                  what, timeout_ms, pool_closed(first, npool), conn, (long long)worst);
    if (pool_closed(first, npool) < conn)
        vfail(&v, "%s: %d of %d were still open %u ms after connecting (request_timeout_ms %u)",
              what, conn - pool_closed(first, npool), conn, timeout_ms * 3 + 1000, timeout_ms);
    memset(&b, 0, sizeof b);
    ping_batch(&b, s.tls_base, "/test/assertions", ca, 10);
    batch_report(&v, "after the timeout: TLS GET /test/assertions", &b);
    memset(&b, 0, sizeof b);
    ping_batch(&b, s.base, "/v1/ping", NULL, 2);
    batch_report(&v, "after the timeout: GET /v1/ping", &b);
    pool_close_all();
    mt_server_untrack_free(&s);
    vcheck(&v);
}

static void avail_tls_silent(void **state)
{
    (void)state;
    tls_attack("silent TLS", NULL, 0, false);
}

static void avail_tls_half_handshake(void **state)
{
    (void)state;
    tls_attack("half ClientHello", partial_hello, sizeof partial_hello, true);
}

/* ---- 3: idle new connections ------------------------------------------- */

static void avail_idle_new(void **state)
{
    verdict v;
    mockapi_config cfg;
    mt_server s;
    const char *ca;
    (void)state;

    memset(&v, 0, sizeof v);
    mt_config_init(&cfg); /* default threads and request timeout */
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    ca = mockapi_tls_ca_pem(s.m);
    assert_non_null(ca);

    hold_and_ping(&v, "idle plain", http_port(&s), count(300), NULL, NULL, s.base, "/v1/ping",
                  NULL);
    pool_close_all();
    hold_and_ping(&v, "idle TLS", tls_port(&s), count(300), NULL, NULL, s.tls_base,
                  "/test/assertions", ca);
    pool_close_all();
    mt_server_untrack_free(&s);
    vcheck(&v);
}

/* ---- 4: slowloris -------------------------------------------------------- */

static void avail_slowloris(void **state)
{
    /* a head that never ends; one byte per step */
    static const char head[] = "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Slow: 1";
    const unsigned timeout_ms = 500;
    const int steps = 16, step_ms = 150;
    /* the trickle (2.4 s) outlasts the bound, so a timeout per read (which
     * each byte would restart) cannot pass */
    const int64_t bound = timeout_ms * 2 + 500;
    verdict v;
    mockapi_config cfg;
    mt_server s;
    int conn, first;
    int64_t t0, worst;
    batch b;
    (void)state;

    memset(&v, 0, sizeof v);
    mt_config_init(&cfg); /* default: they are held for 10 s */
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    hold_and_ping(&v, "slowloris", http_port(&s), count(300), "GET ", head + 4, s.base,
                  "/v1/ping", NULL);
    pool_close_all();
    mt_server_untrack_free(&s);

    /* closed request_timeout_ms after their first byte */
    cfg.request_timeout_ms = timeout_ms;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    first = pool_open(http_port(&s), count(300), mt_now_ms() + span(3000), &conn);
    t0 = mt_now_ms();
    for (int k = 0; k < steps && pool_closed(first, npool) < conn; k++) {
        pool_pump_until(first, npool, t0 + k * step_ms);
        pool_send_range(first, npool, head + k, 1);
    }
    pool_wait(first, npool, t0 + span(bound + 1000), UNTIL_EOF);
    worst = pool_max_close_ms(first, npool, 0);
    print_message("slowloris, request_timeout_ms %u: %d of %d closed by the server, the last "
                  "%lld ms after its first byte (%d bytes each at most, one per %d ms)\n",
                  timeout_ms, pool_closed(first, npool), conn, (long long)worst, steps, step_ms);
    if (pool_closed(first, npool) < conn)
        vfail(&v, "slowloris: %d of %d were never closed (request_timeout_ms %u)",
              conn - pool_closed(first, npool), conn, timeout_ms);
    if (mt_timing_on() && worst > bound)
        vfail(&v, "slowloris: one was closed %lld ms after its first byte (request_timeout_ms %u, "
              "max %lld)", (long long)worst, timeout_ms, (long long)bound);
    memset(&b, 0, sizeof b);
    ping_batch(&b, s.base, "/v1/ping", NULL, 2);
    batch_report(&v, "after the slowloris", &b);
    pool_close_all();
    mt_server_untrack_free(&s);
    vcheck(&v);
}

/* ---- 5: slow bodies ------------------------------------------------------ */

/* Sends head at once, then body one byte per 100 ms until the server
 * answers or closes; returns when the answer is complete (or closed). *ms:
 * from the head to the first reply byte or the close, -1 for none. Returns
 * the pool index. */
static int slow_body(int port, const char *head, const char *body, int64_t *ms)
{
    size_t blen = strlen(body);
    int k = pool_open(port, 1, mt_now_ms() + span(3000), NULL);
    aconn *c = &pool[k];
    int64_t t0;

    pool_send(c, head, strlen(head));
    c->sent = 0; /* from here on: body bytes */
    t0 = mt_now_ms();
    for (size_t i = 0; i < blen && !c->eof && !c->rx_ms; i++) {
        int64_t next = t0 + (int64_t)(i + 1) * 100;
        while (!c->eof && !c->rx_ms && mt_now_ms() < next)
            pool_pump(k, k + 1, (int)(next - mt_now_ms()));
        if (!c->eof && !c->rx_ms)
            pool_send(c, body + i, 1);
    }
    pool_wait(k, k + 1, mt_now_ms() + span(2000), UNTIL_ANSWER);
    if (c->rx_ms)
        *ms = c->rx_ms - t0;
    else if (c->eof)
        *ms = c->eof_ms - t0;
    else
        *ms = -1;
    return k;
}

static void slow_body_check(verdict *v, const char *what, int k, int64_t ms)
{
    const aconn *c = &pool[k];
    const char *rb = "";
    int st = resp_status(c->buf, c->len, &rb);
    char *shown = mt_show(c->buf ? c->buf : (const unsigned char *)"", c->len);

    print_message("%s: %s after %lld ms, %zu body bytes sent: %s\n", what,
                  st ? "answered" : c->eof ? "closed" : "nothing", (long long)ms, c->sent,
                  shown ? shown : "?");
    if (!c->connected)
        vfail(v, "%s: could not connect", what);
    else if (ms < 0)
        vfail(v, "%s: neither answered nor closed after the whole body and 2 s more", what);
    else if (st == 0 && c->len > 0)
        vfail(v, "%s: an incomplete answer: %s", what, shown ? shown : "?");
    else if (st != 0 && !(st == 400 && strstr(rb, "\"error\":\"invalid request body\"")))
        vfail(v, "%s: answered %d after %lld ms, want 400 invalid request body or a close: %s",
              what, st, (long long)ms, shown ? shown : "?");
    if (mt_timing_on() && ms > 1500)
        vfail(v, "%s: answered after %lld ms (request_timeout_ms 500, max 1500)", what,
              (long long)ms);
    free(shown);
}

static void avail_slow_body(void **state)
{
    static const char chunked[] = "28\r\n" BODY40 "\r\n0\r\n\r\n";
    verdict v;
    mockapi_config cfg;
    mt_server s;
    int64_t ms;
    int k;
    (void)state;

    memset(&v, 0, sizeof v);
    mt_config_init(&cfg);
    cfg.request_timeout_ms = 500;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    k = slow_body(http_port(&s), HB_HEAD_CL40, BODY40, &ms);
    slow_body_check(&v, "slow Content-Length body", k, ms);
    k = slow_body(http_port(&s), HB_HEAD_CHUNKED, chunked, &ms);
    slow_body_check(&v, "slow chunked body", k, ms);
    if (mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT) != 0)
        vfail(&v, "a trickled heartbeat was counted");
    pool_close_all();
    mt_server_untrack_free(&s);

    /* many at once, held (default timeout), while others are served */
    mt_config_init(&cfg);
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    hold_and_ping(&v, "slow bodies", http_port(&s), count(100), HB_HEAD_CL40 "{", BODY40 + 1,
                  s.base, "/v1/ping", NULL);
    pool_close_all();
    mt_server_untrack_free(&s);
    vcheck(&v);
}

/* ---- 6: held waits --------------------------------------------------------- */

/* Checks that every connection of [first, npool) answered 200 with needle
 * in its body. */
static void held_answers(verdict *v, const char *what, int first, int64_t since,
                         const char *needle)
{
    int bad = 0, total = 0;
    int64_t worst = -1;
    pool_wait(first, npool, mt_now_ms() + span(PING_MS), UNTIL_ANSWER);
    for (int i = first; i < npool; i++) {
        const aconn *c = &pool[i];
        const char *rb = "";
        int st;
        if (!c->connected)
            continue;
        total++;
        st = resp_status(c->buf, c->len, &rb);
        if (c->rx_ms && c->rx_ms - since > worst)
            worst = c->rx_ms - since;
        if (st == 200 && strstr(rb, needle))
            continue;
        if (bad++ == 0) {
            char *sh = mt_show(c->buf ? c->buf : (const unsigned char *)"", c->len);
            vfail(v, "%s: first bad answer: %s%s", what, sh ? sh : "?",
                  c->eof ? " (closed)" : "");
            free(sh);
        }
    }
    print_message("%s: %d of %d answered 200 with %s, the last after %lld ms (-1: none)\n", what,
                  total - bad, total, needle, (long long)worst);
    if (bad)
        vfail(v, "%s: %d of %d did not answer 200 with %s within %d ms", what, bad, total, needle,
              PING_MS);
}

/* Held requests answered before they were released. */
static void held_quiet(verdict *v, const char *what, int first)
{
    int early = 0;
    pool_pump(first, npool, 0);
    for (int i = first; i < npool; i++)
        early += pool[i].connected && (pool[i].len > 0 || pool[i].eof);
    if (early)
        vfail(v, "%s: %d answered or closed before their condition held", what, early);
}

static void avail_held_waits(void **state)
{
    static const char wait_req[] =
        "GET /test/wait?counter=heartbeat_count&op=gte&value=1&timeout_ms=20000 HTTP/1.1\r\n"
        "Host: x\r\nConnection: close\r\n\r\n";
    static const char sse_wait_req[] = "GET /test/sse/wait?clients=5&timeout_ms=20000 HTTP/1.1\r\n"
                                       "Host: x\r\nConnection: close\r\n\r\n";
    verdict v;
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    int first;
    int64_t t;
    (void)state;

    memset(&v, 0, sizeof v);
    mt_config_init(&cfg); /* default threads */
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);

    first = hold_and_ping(&v, "held /test/wait", http_port(&s), count(150), wait_req, NULL,
                          s.base, "/v1/ping", NULL);
    held_quiet(&v, "held /test/wait", first);
    {
        mt_request rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "POST";
        rq.path = "/v1/nodes/n1/heartbeat";
        rq.body = HB_BODY;
        rq.body_len = strlen(HB_BODY);
        rq.send_body = true;
        rq.timeout_ms = span(PING_MS);
        t = mt_now_ms();
        mt_perform(NULL, s.base, &rq, &r);
        if (r.status != 200)
            vfail(&v, "the heartbeat that releases the waits: status %ld (%s)", r.status,
                  r.rc ? curl_easy_strerror(r.rc) : "");
        mt_response_free(&r);
    }
    held_answers(&v, "held /test/wait after one heartbeat", first, t, "\"met\":true");
    pool_close_all();

    first = hold_and_ping(&v, "held /test/sse/wait", http_port(&s), count(150), sse_wait_req,
                          NULL, s.base, "/v1/ping", NULL);
    held_quiet(&v, "held /test/sse/wait", first);
    t = mt_now_ms();
    for (int i = 0; i < NSTREAMS; i++) {
        int st = sse_open(&streams[i], http_port(&s), "/v1/nodes/avail/events", NULL, 0,
                          mt_now_ms() + span(PING_MS));
        if (st != 200) {
            vfail(&v, "event stream %d: status %d", i, st);
            break;
        }
    }
    held_answers(&v, "held /test/sse/wait after 5 streams", first, t, "\"reached\":true");
    pool_close_all();
    for (int i = 0; i < NSTREAMS; i++)
        sse_close(&streams[i]);
    mt_server_untrack_free(&s);
    vcheck(&v);
}

/* ---- 7: stop under attack ------------------------------------------------- */

typedef struct stopper {
    mockapi *m;
    int done_fd; /* written once mockapi_stop has returned */
} stopper;

static void *stop_thread(void *arg)
{
    stopper *st = arg;
    mockapi_stop(st->m);
    if (write(st->done_fd, "x", 1) != 1)
        abort(); /* a pipe with room for one byte: cannot happen */
    return NULL;
}

/* Waits until the stopper wrote its byte or deadline passes. */
static bool stopped_by(int fd, int64_t deadline)
{
    for (int64_t left; (left = deadline - mt_now_ms()) > 0;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) > 0)
            return true;
    }
    return false;
}

/* mockapi_stop runs in a thread so that a stop that hangs is seen and
 * released (by closing the attackers) instead of hanging the suite. No
 * cmocka assertion runs while it may be running: a failure's longjmp would
 * free the instance under it. */
static void avail_stop_under_attack(void **state)
{
    static const char wait_req[] =
        "GET /test/wait?counter=heartbeat_count&op=gte&value=1&timeout_ms=20000 HTTP/1.1\r\n"
        "Host: x\r\n\r\n";
    verdict v;
    mockapi_config cfg;
    mt_server s;
    int pfd[2] = {-1, -1}, opened, conn = 0, notclosed = 0, want;
    int64_t t0, stop_ms = -1, released_ms = -1;
    bool returned, threaded;
    pthread_t tid;
    stopper st;
    batch b;
    (void)state;

    memset(&v, 0, sizeof v);
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    /* not tracked: the teardown must not free it while a stop may run */
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);

    pool_open(http_port(&s), count(200), mt_now_ms() + span(3000), NULL);
    opened = pool_open(http_port(&s), count(200), mt_now_ms() + span(3000), NULL);
    pool_send_range(opened, npool, "GET /v1/ping HT", 15);
    pool_open(tls_port(&s), count(50), mt_now_ms() + span(3000), NULL);
    opened = pool_open(http_port(&s), count(100), mt_now_ms() + span(3000), NULL);
    pool_send_range(opened, npool, wait_req, strlen(wait_req));
    conn = pool_connected(0, npool);
    want = npool;
    /* a new connection answered means the server has taken the ones before
     * it; on a server that has not, the stop below still runs */
    memset(&b, 0, sizeof b);
    ping_batch(&b, s.base, "/v1/ping", NULL, 1);
    print_message("stop under attack: %d of %d connections open, a new ping %s\n", conn, want,
                  b.ok ? "answered" : "failed");

    st.m = s.m;
    st.done_fd = pfd[1];
    t0 = mt_now_ms();
    threaded = pthread_create(&tid, NULL, stop_thread, &st) == 0;
    if (!threaded)
        stop_thread(&st);
    returned = stopped_by(pfd[0], t0 + span(5000));
    if (returned) {
        stop_ms = mt_now_ms() - t0;
        /* "closes every connection": each attacker sees its close */
        notclosed = pool_wait(0, npool, mt_now_ms() + span(2000), UNTIL_EOF);
    } else {
        pool_close_all(); /* what a hung stop waits for, if anything */
        returned = stopped_by(pfd[0], mt_now_ms() + span(15000));
        released_ms = mt_now_ms() - t0;
    }
    if (threaded && returned)
        pthread_join(tid, NULL);
    else if (threaded)
        pthread_detach(tid);
    pool_close_all();
    close(pfd[0]);
    close(pfd[1]);
    if (returned)
        mt_server_free(&s);

    print_message("stop under attack: mockapi_stop returned after %lld ms%s\n",
                  (long long)(stop_ms >= 0 ? stop_ms : released_ms),
                  stop_ms >= 0 ? ""
                  : returned   ? " (only once the clients had closed)"
                               : " (never)");
    if (!returned)
        vfail(&v, "mockapi_stop did not return even %lld ms after the clients closed; the "
              "instance is leaked", (long long)released_ms);
    else if (stop_ms < 0)
        vfail(&v, "mockapi_stop returned only after the clients had closed their connections (%lld "
              "ms)", (long long)released_ms);
    else if (mt_timing_on() && stop_ms > 200)
        vfail(&v, "mockapi_stop took %lld ms (max 200)", (long long)stop_ms);
    if (notclosed)
        vfail(&v, "%d of %d connections were still open 2 s after mockapi_stop returned",
              notclosed, conn);
    vcheck(&v);
}

int mt_run_availability_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(avail_tls_silent, teardown),
        cmocka_unit_test_teardown(avail_tls_half_handshake, teardown),
        cmocka_unit_test_teardown(avail_idle_new, teardown),
        cmocka_unit_test_teardown(avail_slowloris, teardown),
        cmocka_unit_test_teardown(avail_slow_body, teardown),
        cmocka_unit_test_teardown(avail_held_waits, teardown),
        cmocka_unit_test_teardown(avail_stop_under_attack, teardown),
    };
    return cmocka_run_group_tests_name("availability", tests, group_setup, NULL);
}
