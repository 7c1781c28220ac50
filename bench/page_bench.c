/* page_bench.c: the client of bench/run.sh section "page", part 2: how long
 * a request takes to reach the live page's feed (GET /test/events) at a
 * steady request rate. One thread, two sockets, poll, CLOCK_MONOTONIC.
 *
 *   page_bench PORT N RATE
 *
 * Opens the feed and waits for its hello event, then sends N requests,
 * GET /v1/nodes/lat-I/state for I = 1..N, on one keep-alive connection,
 * request I at t0 + (I - 1) / RATE seconds (sent when due, never early; a
 * late one goes out at once and the schedule is not shifted), reading
 * their answers as they come (200 each). A request's latency is from just
 * before its send() to the recv() that completed the feed event (the
 * blank line after the data line) whose entries name its path
 * ("path":"/v1/nodes/lat-I/state"). Every I must be seen exactly once and
 * no gap event may come.
 *
 * Prints the percentiles and, last, a line
 *   RESULT page requests=N rate=RATE seen=S lost=L dup=D gaps=G frames=F
 *          bytes=B send_late_max_us=X p50_us=.. p90_us=.. p99_us=.. max_us=..
 * and exits 0, or 1 when an entry was lost or doubled, a gap came, an
 * answer was not 200, a socket closed, or the deadline passed (the sends'
 * duration + 10 s; the hello must come within 5 s). */
#define BENCH_NAME "page_bench"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

enum { MAX_N = 1000000 };

typedef struct {
    char *p;
    size_t len, cap, at; /* bytes held; bytes consumed from the front */
} inbuf;

static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("cannot connect to 127.0.0.1:%s", "PORT");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("send failed: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* One recv into b (grown as needed); returns the bytes read (0: EOF). */
static size_t fill(int fd, inbuf *b)
{
    if (b->at > 0 && b->at == b->len)
        b->at = b->len = 0;
    if (b->at > (1u << 20)) { /* compact now and then */
        memmove(b->p, b->p + b->at, b->len - b->at);
        b->len -= b->at;
        b->at = 0;
    }
    if (b->cap - b->len < 65536) {
        b->cap = b->cap * 2 + 65536;
        b->p = realloc(b->p, b->cap + 1);
        if (!b->p)
            die("%s", "out of memory");
    }
    ssize_t r = recv(fd, b->p + b->len, b->cap - b->len, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return (size_t)-1;
    if (r <= 0)
        return 0;
    b->len += (size_t)r;
    b->p[b->len] = '\0';
    return (size_t)r;
}

static long n_req, answered, seen_total, dups, gaps, frames;
static int64_t *sent_ns, *lat_ns;
static unsigned char *seen;
static size_t feed_bytes;
static bool hello;

/* The complete events in the feed buffer: hello, gap, requests. */
static void feed_events(inbuf *b, int64_t t)
{
    for (;;) {
        char *s = b->p + b->at;
        char *end = strstr(s, "\n\n");
        if (!end)
            return;
        *end = '\0';
        if (strstr(s, "event: hello"))
            hello = true;
        else if (strstr(s, "event: gap"))
            gaps++;
        else if (strstr(s, "event: requests")) {
            frames++;
            static const char key[] = "\"path\":\"/v1/nodes/lat-";
            for (char *m = strstr(s, key); m; m = strstr(m + 1, key)) {
                char *q;
                long i = strtol(m + sizeof key - 1, &q, 10);
                if (strncmp(q, "/state\"", 7) != 0 || i < 1 || i > n_req)
                    continue;
                if (seen[i]) {
                    dups++;
                    continue;
                }
                if (!sent_ns[i])
                    die("%s", "an entry came before its request was sent");
                seen[i] = 1;
                lat_ns[seen_total++] = t - sent_ns[i];
            }
        }
        b->at = (size_t)(end - b->p) + 2;
    }
}

/* Complete answers in the request connection's buffer (200 each). */
static void answers(inbuf *b)
{
    for (;;) {
        char *s = b->p + b->at;
        char *end = strstr(s, "\r\n\r\n");
        if (!end)
            return;
        size_t head = (size_t)(end - s) + 4, body = 0;
        int status = 0;
        if (sscanf(s, "HTTP/1.1 %d", &status) != 1)
            die("not an HTTP/1.1 answer: %.40s", s);
        for (char *l = strstr(s, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
            if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                body = (size_t)strtoull(l + 17, NULL, 10);
        if (b->len - b->at < head + body)
            return;
        if (status != 200) {
            char msg[64];
            snprintf(msg, sizeof msg, "%d for request %ld", status, answered + 1);
            die("status %s", msg);
        }
        b->at += head + body;
        answered++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: page_bench PORT N RATE\n");
        return 2;
    }
    int port = atoi(argv[1]);
    n_req = atol(argv[2]);
    long rate = atol(argv[3]);
    if (port <= 0 || port > 65535 || n_req < 1 || n_req > MAX_N || rate < 1 || rate > 100000)
        die("%s", "bad arguments (PORT 1-65535, N 1-1000000, RATE 1-100000)");
    sent_ns = calloc((size_t)n_req + 1, sizeof *sent_ns);
    lat_ns = calloc((size_t)n_req + 1, sizeof *lat_ns);
    seen = calloc((size_t)n_req + 1, 1);
    if (!sent_ns || !lat_ns || !seen)
        die("%s", "out of memory");

    /* the feed, as the page opens it (no since: from the oldest entry) */
    int ffd = connect_to(port);
    static const char feed_req[] = "GET /test/events?brief=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    send_all(ffd, feed_req, sizeof feed_req - 1);
    inbuf fb = {0}, rb = {0};
    int64_t dl = now_ns() + 5000000000LL;
    bool head_done = false;
    while (!hello) {
        struct pollfd p = {.fd = ffd, .events = POLLIN};
        int64_t left = (dl - now_ns()) / 1000000;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            die("no hello event on the feed within %s", "5 s");
        size_t r = fill(ffd, &fb);
        if (r == 0)
            die("%s", "the server closed the feed");
        if (r == (size_t)-1)
            continue;
        feed_bytes += r;
        if (!head_done) {
            char *e = strstr(fb.p, "\r\n\r\n");
            if (!e)
                continue;
            if (strncmp(fb.p, "HTTP/1.1 200", 12) != 0 || !strcasestr(fb.p, "text/event-stream"))
                die("the feed answered: %.60s", fb.p);
            fb.at = (size_t)(e - fb.p) + 4;
            head_done = true;
        }
        feed_events(&fb, now_ns());
    }

    int rfd = connect_to(port);
    const int64_t step = 1000000000LL / rate;
    const int64_t t0 = now_ns();
    const int64_t deadline = t0 + n_req * step + 10000000000LL;
    int64_t late_max = 0;
    long next = 1;
    char req[128];
    while (next <= n_req || answered < n_req || seen_total + dups < n_req) {
        int64_t now = now_ns();
        if (now > deadline)
            break;
        while (next <= n_req && now >= t0 + (next - 1) * step) {
            int len = snprintf(req, sizeof req, "GET /v1/nodes/lat-%ld/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", next);
            int64_t due = t0 + (next - 1) * step;
            now = now_ns();
            if (now - due > late_max)
                late_max = now - due;
            sent_ns[next] = now;
            send_all(rfd, req, (size_t)len);
            next++;
        }
        int64_t wake = next <= n_req ? t0 + (next - 1) * step : deadline;
        int ms = (int)((wake - now_ns() + 999999) / 1000000);
        if (ms < 0)
            ms = 0;
        struct pollfd p[2] = {{.fd = ffd, .events = POLLIN}, {.fd = rfd, .events = POLLIN}};
        if (poll(p, 2, ms) < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (p[0].revents) {
            size_t r = fill(ffd, &fb);
            if (r == 0)
                die("%s", "the server closed the feed");
            if (r != (size_t)-1) {
                feed_bytes += r;
                feed_events(&fb, now_ns());
            }
        }
        if (p[1].revents) {
            size_t r = fill(rfd, &rb);
            if (r == 0)
                die("%s", "the server closed the request connection");
            if (r != (size_t)-1)
                answers(&rb);
        }
    }
    close(rfd);
    close(ffd);

    long lost = n_req - seen_total;
    qsort(lat_ns, (size_t)seen_total, sizeof *lat_ns, cmp_i64);
    double p50 = pct_us(lat_ns, (size_t)seen_total, 50), p90 = pct_us(lat_ns, (size_t)seen_total, 90),
           p99 = pct_us(lat_ns, (size_t)seen_total, 99),
           mx = seen_total ? (double)lat_ns[seen_total - 1] / 1000.0 : -1;
    printf("page_bench: %ld requests at %ld/s (%.0f ms), %ld answered; feed: %ld of them seen in %ld frames, "
           "%.1f MB read, %ld doubled, %ld gap events; latency request -> feed p50 %.2f ms, p90 %.2f ms, "
           "p99 %.2f ms, max %.2f ms; sends at most %.2f ms late\n",
           n_req, rate, (double)n_req * (double)step / 1e6, answered, seen_total, frames, (double)feed_bytes / 1e6,
           dups, gaps, p50 / 1000, p90 / 1000, p99 / 1000, mx / 1000, (double)late_max / 1e6);
    printf("RESULT page requests=%ld rate=%ld seen=%ld lost=%ld dup=%ld gaps=%ld frames=%ld bytes=%zu "
           "send_late_max_us=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
           n_req, rate, seen_total, lost, dups, gaps, frames, feed_bytes, (double)late_max / 1000, p50, p90, p99,
           mx);
    if (answered < n_req)
        fprintf(stderr, "page_bench: %ld requests unanswered at the deadline\n", n_req - answered);
    if (lost || dups || gaps)
        fprintf(stderr, "page_bench: %ld lost, %ld doubled, %ld gap events\n", lost, dups, gaps);
    return (lost || dups || gaps || answered < n_req) ? 1 : 0;
}
