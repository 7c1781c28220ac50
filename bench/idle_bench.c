/* idle_bench.c: what idle connections cost the server, for bench/run.sh.
 *
 *   idle_bench -addr 127.0.0.1:PORT -tls-addr 127.0.0.1:PORT -pid PID
 *              [-conns N] [-window W] [-pings P] [-sit S] [-keep K] [-deadline S]
 *
 * One process, one thread, one epoll set, no thread per connection. Against
 * a running mockapi (plain listener -addr, TLS listener -tls-addr, process
 * -pid), in four stages, each adding to what the previous ones left open:
 *
 *   base   nothing open;
 *   plain  N connections to the plain port, each sends GET /v1/ping
 *          (keep-alive), reads the 200 and then sits idle;
 *   tls    N connections to the TLS port, each completes a full TLS
 *          handshake (its own mbedTLS session, no resumption), sends
 *          POST /local/metrics (bearer token), reads the 204 and sits idle;
 *   raw    N connections to the TLS port that send nothing at all (never
 *          handshake).
 *
 * At most W connections are being set up at once. A TLS session's context
 * (two ~16.7 KB record buffers) is freed once its request is answered, so
 * the client stays small; the socket stays open. K connections of each of
 * the plain and tls kinds keep their context for the reuse check at the end.
 *
 * After each stage (once the server holds every socket: /proc/PID/fd), the
 * client sits S seconds in epoll_wait on every idle socket (an event on one
 * means the server closed it or sent something: counted as lost) while the
 * server's CPU time (/proc/PID/stat utime+stime) and context switches (all
 * its threads, /proc/PID/task/STAR/status) are counted; then it reads the
 * server's VmRSS and times P requests, each on a fresh connection: GET
 * /v1/ping on the plain port, and a full TLS handshake + POST /local/metrics
 * on the TLS port (clock from socket() to the complete response). At the
 * end, K idle plain and K idle TLS connections each send one more request
 * on their connection (the server must still serve them).
 *
 * Output: "RESULT TAG key=value ..." lines on stdout (run.sh formats them),
 * diagnostics on stderr. Exit status 0 when everything opened and was
 * answered, nothing was lost and every reuse worked, else 1; 2 for a usage
 * error. Every wait has a deadline (-deadline, 120 s per stage); only
 * loopback addresses are used. The server should run with a
 * -request-timeout-ms longer than the whole run, or it rightly closes the
 * idle connections (and they count as lost).
 *
 * TLS: the certificate is not verified (the run measures the server's
 * memory, not the client's trust set-up); mbedTLS's default suites; the
 * key-exchange groups a Go or OpenSSL client offers (x25519, P-256, P-384,
 * P-521), the server picks among them. Each handshake is a full one.
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o build/bench/idle_bench bench/idle_bench.c
 *        -lmbedtls -lmbedx509 -lmbedcrypto */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
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

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

#define BENCH_NAME "idle_bench"
#include "bench_util.h"

enum { K_PLAIN, K_TLS, K_RAW, K_COUNT };
static const char *const kind_name[K_COUNT] = {"plain", "tls", "raw"};

typedef enum { S_CONNECT, S_HANDSHAKE, S_SEND, S_RECV, S_IDLE, S_DEAD } cstate;

enum { RESP_CAP = 8192 };

typedef struct conn {
    int fd;
    unsigned char kind, st;
    bool keep;                /* keeps its TLS context for the reuse check */
    uint32_t interest;        /* epoll events asked for (0: not in the set) */
    mbedtls_ssl_context *ssl; /* TLS: while setting up, or kept */
    char *buf;                /* the response being read (RESP_CAP), NULL otherwise */
    size_t len, off;          /* bytes in buf; request bytes sent */
} conn;

static struct sockaddr_in g_plain, g_tls;
static double g_deadline_s = 120;
static char g_req[K_COUNT][512];
static size_t g_req_len[K_COUNT];
static const int g_want_status[K_COUNT] = {200, 204, 0};

static mbedtls_entropy_context g_entropy;
static mbedtls_ctr_drbg_context g_drbg;
static mbedtls_ssl_config g_conf;
static int g_tls_err_logged;


/* ---- the server process, from /proc --------------------------------------- */

static long status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0)
            kb = strtol(line + kl, NULL, 10);
    fclose(f);
    return kb;
}

/* utime + stime of the whole process, in clock ticks; -1 if unreadable */
static long long cpu_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces: fields count from its closing ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ')': state(3) ... utime(14) stime(15) */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* context switches, voluntary and not, summed over the process's threads:
 * a thread that blocks in epoll_wait and wakes adds one per wake-up */
static long long switches(int pid)
{
    char path[300], line[256];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long long sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/status", pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
                sum += strtoll(line + 24, NULL, 10);
            else if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)
                sum += strtoll(line + 27, NULL, 10);
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* open sockets of the process */
static long sockets_of(int pid)
{
    char path[300], link[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/fd/%s", pid, e->d_name);
        ssize_t r = readlink(path, link, sizeof link - 1);
        if (r > 7 && memcmp(link, "socket:", 7) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* ---- one connection's steps (plain or TLS; epoll-driven or synchronous) --- */

static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
    ssize_t r = send((int)(intptr_t)ctx, p, n, MSG_NOSIGNAL);
    if (r >= 0)
        return (int)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
    ssize_t r = recv((int)(intptr_t)ctx, p, n, 0);
    if (r >= 0)
        return (int)r; /* 0: the peer closed */
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_READ;
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

static void tls_drop(conn *c)
{
    if (c->ssl) {
        mbedtls_ssl_free(c->ssl);
        free(c->ssl);
        c->ssl = NULL;
    }
}

static void conn_close(conn *c)
{
    tls_drop(c);
    free(c->buf);
    c->buf = NULL;
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->interest = 0;
    c->st = S_DEAD;
}

/* Starts a connection of kind k (non-blocking connect). 0 or -1. */
static int conn_start(conn *c, int k)
{
    memset(c, 0, sizeof *c);
    c->kind = (unsigned char)k;
    c->st = S_CONNECT;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const struct sockaddr_in *a = k == K_PLAIN ? &g_plain : &g_tls;
    if (connect(c->fd, (const struct sockaddr *)a, sizeof *a) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        c->st = S_DEAD;
        return -1;
    }
    return 0;
}

/* If c->buf holds a complete response, its status; 0 if incomplete; -1 if
 * malformed. */
static int resp_status(conn *c)
{
    char *end = c->len >= 12 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    if (!end)
        return c->len >= RESP_CAP - 1 ? -1 : 0;
    int maj, min, status;
    if (sscanf(c->buf, "HTTP/%d.%d %d", &maj, &min, &status) != 3)
        return -1;
    size_t cl = 0;
    for (char *p = c->buf; p && p < end;) {
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            cl = strtoul(p + 15, NULL, 10);
        char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : NULL;
    }
    size_t need = (size_t)(end - c->buf) + 4 + cl;
    if (need >= RESP_CAP)
        return -1;
    return c->len >= need ? status : 0;
}

/* Advances c as far as its socket allows. Returns 1 when its request is
 * answered (or, raw, when connected): c is then S_IDLE; 0 when it waits for
 * *want (EPOLLIN or EPOLLOUT); -1 when it failed (c is left for the caller
 * to close). */
static int step(conn *c, uint32_t *want)
{
    for (;;) {
        switch (c->st) {
        case S_CONNECT: {
            int err = 0;
            socklen_t el = sizeof err;
            struct sockaddr_in peer;
            socklen_t pl = sizeof peer;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
                return -1;
            if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0) {
                if (errno != ENOTCONN)
                    return -1;
                *want = EPOLLOUT; /* still connecting */
                return 0;
            }
            if (c->kind == K_RAW) {
                c->st = S_IDLE;
                return 1;
            }
            if (c->kind == K_TLS) {
                c->ssl = malloc(sizeof *c->ssl);
                if (!c->ssl)
                    return -1;
                mbedtls_ssl_init(c->ssl);
                if (mbedtls_ssl_setup(c->ssl, &g_conf) != 0) {
                    tls_drop(c);
                    return -1;
                }
                mbedtls_ssl_set_bio(c->ssl, (void *)(intptr_t)c->fd, bio_send, bio_recv, NULL);
                c->st = S_HANDSHAKE;
            } else {
                c->st = S_SEND;
            }
            break;
        }
        case S_HANDSHAKE: {
            int r = mbedtls_ssl_handshake(c->ssl);
            if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                *want = r == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
                return 0;
            }
            if (r != 0) {
                if (g_tls_err_logged++ < 3)
                    fprintf(stderr, "idle_bench: TLS handshake failed: -0x%04x\n", (unsigned)-r);
                return -1;
            }
            c->st = S_SEND;
            break;
        }
        case S_SEND: {
            const char *req = g_req[c->kind];
            size_t len = g_req_len[c->kind];
            while (c->off < len) {
                long r;
                if (c->ssl) {
                    r = mbedtls_ssl_write(c->ssl, (const unsigned char *)req + c->off, len - c->off);
                    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                        *want = r == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
                        return 0;
                    }
                } else {
                    r = send(c->fd, req + c->off, len - c->off, MSG_NOSIGNAL);
                    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                        *want = EPOLLOUT;
                        return 0;
                    }
                }
                if (r <= 0)
                    return -1;
                c->off += (size_t)r;
            }
            c->buf = malloc(RESP_CAP);
            if (!c->buf)
                return -1;
            c->len = 0;
            c->st = S_RECV;
            break;
        }
        case S_RECV: {
            long r;
            if (c->ssl) {
                r = mbedtls_ssl_read(c->ssl, (unsigned char *)c->buf + c->len, RESP_CAP - 1 - c->len);
                if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                    *want = r == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
                    return 0;
                }
            } else {
                r = recv(c->fd, c->buf + c->len, RESP_CAP - 1 - c->len, 0);
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                    *want = EPOLLIN;
                    return 0;
                }
            }
            if (r <= 0)
                return -1; /* closed before the response was complete */
            c->len += (size_t)r;
            c->buf[c->len] = '\0';
            int status = resp_status(c);
            if (status < 0)
                return -1;
            if (status == 0)
                break; /* more to read (TLS may hold decrypted bytes epoll cannot see) */
            if (status != g_want_status[c->kind]) {
                fprintf(stderr, "idle_bench: %s request answered %d (want %d)\n", kind_name[c->kind], status,
                        g_want_status[c->kind]);
                return -1;
            }
            free(c->buf);
            c->buf = NULL;
            c->len = 0;
            c->off = 0;
            c->st = S_IDLE;
            return 1;
        }
        default:
            return -1;
        }
    }
}

/* Drives c to the end of its request with poll(), deadline in ns. 1 or -1. */
static int drive_sync(conn *c, int64_t deadline)
{
    for (;;) {
        uint32_t want = 0;
        int r = step(c, &want);
        if (r != 0)
            return r;
        int64_t left = (deadline - now_ns()) / 1000000;
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = c->fd, .events = (short)(want == EPOLLIN ? POLLIN : POLLOUT)};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return -1;
    }
}

/* ---- the bench ------------------------------------------------------------ */

typedef struct bench {
    conn *c;
    int total; /* slots in c: 3 x N */
    int epfd;
    int pid;
    int lost[K_COUNT];
} bench;

static void set_interest(bench *b, int i, uint32_t ev)
{
    conn *c = &b->c[i];
    if (c->interest == ev)
        return;
    struct epoll_event e = {.events = ev, .data.u64 = (uint64_t)i};
    if (epoll_ctl(b->epfd, c->interest ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->interest = ev;
}

/* An event on an idle connection: the server closed it or sent something
 * unasked. Either way it is no longer an idle connection the server holds. */
static void idle_event(bench *b, int i)
{
    conn *c = &b->c[i];
    if (b->lost[c->kind]++ < 3)
        fprintf(stderr, "idle_bench: an idle %s connection was closed or written to by the server\n",
                kind_name[c->kind]);
    conn_close(c);
}

/* A set-up connection is done: it sits idle, watched for the server closing it. */
static void to_idle(bench *b, int i)
{
    conn *c = &b->c[i];
    if (!c->keep)
        tls_drop(c); /* the socket stays open; only the client's memory goes */
    set_interest(b, i, EPOLLIN | EPOLLRDHUP);
}

/* Opens slots [first, first + n) as kind k, at most `window` in set-up at
 * once; every `keep_every`-th, `keep` in all, is kept for the reuse check
 * (with its TLS context). Returns the number that failed; *ms the time
 * taken. */
static int open_stage(bench *b, int k, int first, int n, int window, int keep_every, int keep, double *ms)
{
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(g_deadline_s * 1e9);
    int next = first, end = first + n, busy = 0, done = 0, failed = 0;
    struct epoll_event ev[256];
    while (done + failed < n) {
        while (busy < window && next < end) {
            int i = next++;
            conn *c = &b->c[i];
            if (conn_start(c, k) != 0) {
                failed++;
                continue;
            }
            c->keep = keep_every > 0 && (i - first) % keep_every == 0 && (i - first) / keep_every < keep;
            uint32_t want = 0;
            int r = step(c, &want);
            if (r == 1) {
                to_idle(b, i);
                done++;
            } else if (r < 0) {
                conn_close(c);
                failed++;
            } else {
                set_interest(b, i, want);
                busy++;
            }
        }
        if (done + failed >= n)
            break;
        int64_t left = (deadline - now_ns()) / 1000000;
        if (left <= 0) {
            fprintf(stderr, "idle_bench: %s: %d of %d connections not set up within %.0f s\n", kind_name[k],
                    n - done - failed, n, g_deadline_s);
            for (int i = first; i < end; i++)
                if (b->c[i].st != S_IDLE && b->c[i].st != S_DEAD) {
                    conn_close(&b->c[i]);
                    failed++;
                }
            break;
        }
        int m = epoll_wait(b->epfd, ev, 256, (int)(left < 1000 ? left : 1000));
        if (m < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int j = 0; j < m; j++) {
            int i = (int)ev[j].data.u64;
            conn *c = &b->c[i];
            if (c->st == S_DEAD)
                continue;
            if (c->st == S_IDLE) {
                idle_event(b, i);
                continue;
            }
            uint32_t want = 0;
            int r = step(c, &want);
            if (r == 1) {
                to_idle(b, i);
                done++;
                busy--;
            } else if (r < 0) {
                conn_close(c);
                failed++;
                busy--;
            } else {
                set_interest(b, i, want);
            }
        }
    }
    *ms = (double)(now_ns() - t0) / 1e6;
    return failed;
}

/* Waits (deadline) until the server holds at least `want` sockets; returns
 * the last count. */
static long wait_sockets(int pid, long want)
{
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    long n;
    while ((n = sockets_of(pid)) >= 0 && n < want && now_ns() < deadline)
        poll(NULL, 0, 20); /* re-check; the condition is the count, the deadline bounds it */
    return n;
}

/* Sits `secs` seconds in epoll_wait on every idle socket, counting the
 * server's CPU ticks and context switches over that span. */
static void sit(bench *b, double secs, double *cpu_pct, double *sw_per_s)
{
    long long t0 = cpu_ticks(b->pid), s0 = switches(b->pid);
    int64_t start = now_ns(), end = start + (int64_t)(secs * 1e9);
    struct epoll_event ev[64];
    for (;;) {
        int64_t left = (end - now_ns()) / 1000000;
        if (left <= 0)
            break;
        int m = epoll_wait(b->epfd, ev, 64, (int)left);
        if (m < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int j = 0; j < m; j++) {
            int i = (int)ev[j].data.u64;
            if (b->c[i].st == S_IDLE)
                idle_event(b, i);
        }
    }
    double span = (double)(now_ns() - start) / 1e9;
    long long t1 = cpu_ticks(b->pid), s1 = switches(b->pid);
    *cpu_pct = t0 >= 0 && t1 >= 0 ? 100.0 * (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK) / span : -1;
    *sw_per_s = s0 >= 0 && s1 >= 0 ? (double)(s1 - s0) / span : -1;
}

/* P requests of kind k, each on a fresh connection, timed from socket() to
 * the complete response. Prints the figures under prefix; returns failures. */
static int fresh(const char *tag, int k, int p)
{
    int64_t *v = calloc((size_t)p, sizeof *v);
    if (!v)
        die("%s", "out of memory");
    int ok = 0, fail = 0;
    for (int i = 0; i < p; i++) {
        int64_t t0 = now_ns();
        conn c;
        int r = conn_start(&c, k) == 0 ? drive_sync(&c, t0 + (int64_t)(g_deadline_s * 1e9)) : -1;
        int64_t t = now_ns() - t0;
        if (r == 1 && c.ssl)
            mbedtls_ssl_close_notify(c.ssl); /* best effort; the socket closes next */
        conn_close(&c);
        if (r == 1)
            v[ok++] = t;
        else
            fail++;
    }
    qsort(v, (size_t)ok, sizeof *v, cmp_i64);
    printf("RESULT %s_%s n=%d ok=%d p50_us=%.0f p90_us=%.0f max_us=%.0f\n", tag, kind_name[k], p, ok,
           pct_us(v, (size_t)ok, 50), pct_us(v, (size_t)ok, 90), ok ? (double)v[ok - 1] / 1000 : -1);
    free(v);
    return fail;
}

/* One stage's figures: sockets, CPU while idle, RSS, fresh requests. */
static int measure(bench *b, const char *tag, long want_sockets, double sit_s, int pings)
{
    long socks = wait_sockets(b->pid, want_sockets);
    double cpu, sw;
    sit(b, sit_s, &cpu, &sw);
    long rss = status_kb(b->pid, "VmRSS:"), hwm = status_kb(b->pid, "VmHWM:");
    printf("RESULT %s sockets=%ld want_sockets=%ld rss_kb=%ld hwm_kb=%ld cpu_pct=%.2f switches_per_s=%.1f "
           "sit_s=%.1f lost_plain=%d lost_tls=%d lost_raw=%d\n",
           tag, socks, want_sockets, rss, hwm, cpu, sw, sit_s, b->lost[K_PLAIN], b->lost[K_TLS], b->lost[K_RAW]);
    int fail = fresh(tag, K_PLAIN, pings) + fresh(tag, K_TLS, pings);
    fflush(stdout);
    return fail + (socks < want_sockets);
}

/* K kept connections of kind k send one more request on their idle
 * connection. Returns how many were answered. */
static int reuse(bench *b, int k, int first, int n)
{
    int ok = 0;
    int64_t deadline = now_ns() + (int64_t)(g_deadline_s * 1e9);
    for (int i = first; i < first + n; i++) {
        conn *c = &b->c[i];
        if (!c->keep || c->st != S_IDLE || c->kind != k)
            continue;
        c->st = S_SEND;
        c->off = 0;
        if (drive_sync(c, deadline) == 1)
            ok++;
        else
            conn_close(c);
    }
    return ok;
}

static void parse_addr(const char *a, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(a, ':');
    if (!colon || (size_t)(colon - a) >= sizeof host)
        die("bad address %s (want 127.0.0.1:PORT)", a);
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = '\0';
    int port = atoi(colon + 1);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 || port <= 0 || port > 65535)
        die("bad address %s (want an IPv4 loopback address and a port)", a);
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        die("%s is not a loopback address", a);
}

static void lift_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        char m[64];
        snprintf(m, sizeof m, "%ld < %ld", (long)rl.rlim_cur, need);
        die("RLIMIT_NOFILE too low for this many connections (%s); raise the hard limit", m);
    }
}

static void tls_init(void)
{
    mbedtls_entropy_init(&g_entropy);
    mbedtls_ctr_drbg_init(&g_drbg);
    mbedtls_ssl_config_init(&g_conf);
    static const unsigned char pers[] = "idle_bench";
    if (mbedtls_ctr_drbg_seed(&g_drbg, mbedtls_entropy_func, &g_entropy, pers, sizeof pers - 1) != 0 ||
        mbedtls_ssl_config_defaults(&g_conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        die("%s", "mbedTLS set-up failed");
    mbedtls_ssl_conf_authmode(&g_conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(&g_conf, mbedtls_ctr_drbg_random, &g_drbg);
    /* Offer the groups a Go or OpenSSL client offers, in their order, not
     * mbedTLS 2.28's default list (secp521r1 first, down to secp192r1): the
     * server's own preference then decides which one is used, as it would
     * for a real agent. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    static const uint16_t groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
    mbedtls_ssl_conf_groups(&g_conf, groups);
#else
    static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                                  MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
                                                  MBEDTLS_ECP_DP_NONE};
    mbedtls_ssl_conf_curves(&g_conf, curves);
#endif
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *tls_addr = NULL;
    int n = 5000, window = 64, pid = 0, pings = 20, keep = 16;
    double sit_s = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            goto usage;
        if (strcmp(a, "-addr") == 0)
            addr = v;
        else if (strcmp(a, "-tls-addr") == 0)
            tls_addr = v;
        else if (strcmp(a, "-pid") == 0)
            pid = atoi(v);
        else if (strcmp(a, "-conns") == 0)
            n = atoi(v);
        else if (strcmp(a, "-window") == 0)
            window = atoi(v);
        else if (strcmp(a, "-pings") == 0)
            pings = atoi(v);
        else if (strcmp(a, "-sit") == 0)
            sit_s = atof(v);
        else if (strcmp(a, "-keep") == 0)
            keep = atoi(v);
        else if (strcmp(a, "-deadline") == 0)
            g_deadline_s = atof(v);
        else
            goto usage;
        i++;
    }
    if (!addr || !tls_addr || pid <= 0 || n < 1 || n > 100000 || window < 1 || pings < 1 || pings > 10000 ||
        sit_s < 0.1 || sit_s > 600 || keep < 0 || keep > n || g_deadline_s <= 0)
        goto usage;
    parse_addr(addr, &g_plain);
    parse_addr(tls_addr, &g_tls);
    if (status_kb(pid, "VmRSS:") < 0)
        die("%s", "cannot read the server's /proc/PID/status (-pid)");
    signal(SIGPIPE, SIG_IGN);
    lift_nofile(3L * n + 64);
    tls_init();
    g_req_len[K_PLAIN] = (size_t)snprintf(g_req[K_PLAIN], sizeof g_req[K_PLAIN],
                                          "GET /v1/ping HTTP/1.1\r\nHost: %s\r\n\r\n", addr);
    static const char body[] = "{\"node_id\":\"node-1\",\"timestamp\":\"2025-01-01T00:00:00Z\","
                               "\"metrics\":[{\"name\":\"cpu_percent\",\"value\":12.5}]}";
    g_req_len[K_TLS] = (size_t)snprintf(g_req[K_TLS], sizeof g_req[K_TLS],
                                        "POST /local/metrics HTTP/1.1\r\nHost: %s\r\n"
                                        "Authorization: Bearer e2e-local-bearer-token\r\n"
                                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                        tls_addr, sizeof body - 1, body);

    bench b = {0};
    b.pid = pid;
    b.total = 3 * n;
    b.c = calloc((size_t)b.total, sizeof *b.c);
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b.c || b.epfd < 0)
        die("%s", "out of memory");
    for (int i = 0; i < b.total; i++) {
        b.c[i].fd = -1;
        b.c[i].st = S_DEAD;
    }
    int keep_every = keep > 0 ? n / keep : 0;
    int rc = 0;

    long sock0 = sockets_of(pid), rss0 = status_kb(pid, "VmRSS:");
    printf("RESULT setup conns=%d window=%d pings=%d sit_s=%.1f keep=%d sockets0=%ld rss0_kb=%ld\n", n, window,
           pings, sit_s, keep, sock0, rss0);
    rc |= measure(&b, "base", sock0, sit_s, pings) != 0;

    for (int k = 0; k < K_COUNT; k++) {
        double ms;
        long before = status_kb(pid, "VmRSS:");
        int failed = open_stage(&b, k, k * n, n, window, k == K_RAW ? 0 : keep_every, keep, &ms);
        printf("RESULT open_%s opened=%d failed=%d open_ms=%.0f rss_before_kb=%ld\n", kind_name[k], n - failed,
               failed, ms, before);
        rc |= failed != 0;
        char tag[16];
        snprintf(tag, sizeof tag, "with_%s", kind_name[k]);
        rc |= measure(&b, tag, sock0 + (long)(k + 1) * n, sit_s, pings) != 0;
    }

    int ok_plain = reuse(&b, K_PLAIN, 0, n), ok_tls = reuse(&b, K_TLS, n, n);
    int kept_plain = 0, kept_tls = 0;
    for (int i = 0; i < n; i++) {
        kept_plain += b.c[i].keep;
        kept_tls += b.c[n + i].keep;
    }
    int open_now[K_COUNT] = {0};
    for (int i = 0; i < b.total; i++)
        if (b.c[i].st == S_IDLE)
            open_now[b.c[i].kind]++;
    printf("RESULT end reuse_plain_ok=%d reuse_plain=%d reuse_tls_ok=%d reuse_tls=%d open_plain=%d open_tls=%d "
           "open_raw=%d lost=%d server_sockets=%ld rss_kb=%ld\n",
           ok_plain, kept_plain, ok_tls, kept_tls, open_now[K_PLAIN], open_now[K_TLS], open_now[K_RAW],
           b.lost[K_PLAIN] + b.lost[K_TLS] + b.lost[K_RAW], sockets_of(pid), status_kb(pid, "VmRSS:"));
    rc |= ok_plain != kept_plain || ok_tls != kept_tls || b.lost[K_PLAIN] + b.lost[K_TLS] + b.lost[K_RAW] != 0;

    for (int i = 0; i < b.total; i++)
        if (b.c[i].st != S_DEAD)
            conn_close(&b.c[i]);
    close(b.epfd);
    free(b.c);
    mbedtls_ssl_config_free(&g_conf);
    mbedtls_ctr_drbg_free(&g_drbg);
    mbedtls_entropy_free(&g_entropy);
    return rc;
usage:
    fprintf(stderr, "usage: idle_bench -addr 127.0.0.1:PORT -tls-addr 127.0.0.1:PORT -pid PID [-conns N] "
                    "[-window W] [-pings P] [-sit S] [-keep K] [-deadline S]\n");
    return 2;
}
