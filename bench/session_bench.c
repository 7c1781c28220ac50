/* session_bench.c: the client of bench/run.sh section "sessions". One
 * keep-alive connection to 127.0.0.1:PORT, requests pipelined WINDOW at a
 * time, every answer's status checked; curl cannot do this (several -d in
 * one config file are joined into one body) and a curl per request would
 * take longer than the section's budget at 10,000 sessions.
 *
 *   session_bench PORT create FROM TO PER
 *       POST /test/sessions {"id":"bI"} for I = FROM..TO (201 each), then
 *       PER requests into each through its prefix /s/bI/, alternating
 *       POST /v1/nodes/nI/heartbeat (a small valid body) and
 *       GET /v1/nodes/nI/state (200 each).
 *   session_bench PORT hit N K ROUTE VIA
 *       N requests, ROUTE state (GET /v1/nodes/x/state) or heartbeat
 *       (POST /v1/nodes/x/heartbeat, the small body), each in session bJ,
 *       J = 1..K round robin, selected by VIA: prefix (/s/bJ/...), header
 *       (X-Mockapi-Session: bJ) or default (no selector, K unused); or pad:
 *       no selector but a header of the same size as the session header
 *       (X-Mockapi-Padding: bJ), the control that tells the session's cost
 *       from the cost of a longer request; 200 each: the requests whose
 *       instructions bench/run.sh counts.
 *
 * Prints "RESULT sessions op=OP requests=R ms=T" and exits 0, or 1 with a
 * message at the first unexpected status, a closed connection or when
 * 60 s pass (every read has that deadline). */
#define BENCH_NAME "session_bench"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

enum { WINDOW = 32, INBUF = 1 << 16 };

static int fd;
static char in[INBUF];
static size_t inlen;
static int64_t deadline_ns;

static void send_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            die("send failed: %s", "the server closed the connection?");
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one whole answer (head + Content-Length bytes of body); returns
 * its status. */
static int read_answer(void)
{
    for (;;) {
        char *end = inlen ? memmem(in, inlen, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t head = (size_t)(end - in) + 4, body = 0;
            int status = 0;
            if (sscanf(in, "HTTP/1.1 %d", &status) != 1)
                die("not an HTTP/1.1 answer: %.40s", in);
            for (char *l = strstr(in, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                    body = (size_t)strtoull(l + 17, NULL, 10);
                else if (strncasecmp(l + 2, "Transfer-Encoding:", 18) == 0)
                    die("a chunked answer (%s): not expected here", "Transfer-Encoding");
            if (head + body > sizeof in)
                die("an answer longer than %s", "64 KiB");
            if (inlen >= head + body) {
                memmove(in, in + head + body, inlen - head - body);
                inlen -= head + body;
                return status;
            }
        }
        if (inlen == sizeof in)
            die("an answer head longer than %s", "64 KiB");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = (deadline_ns - now_ns()) / 1000000;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            die("no answer within %s", "60 s");
        ssize_t r = recv(fd, in + inlen, sizeof in - 1 - inlen, 0);
        if (r <= 0)
            die("the server closed the connection (%s)", r == 0 ? "EOF" : "error");
        inlen += (size_t)r;
        in[inlen] = '\0';
    }
}

/* Request i of a run into out; returns its length and the status it must get. */
typedef size_t (*gen_fn)(long i, char *out, size_t cap, int *want);

static long g_from, g_per, g_k;
static const char hb_body[] = "{\"node_id\":\"node-1\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"status\":\"healthy\"}";

static size_t gen_create(long i, char *out, size_t cap, int *want)
{
    char body[64];
    int bl = snprintf(body, sizeof body, "{\"id\":\"b%ld\"}", g_from + i);
    *want = 201;
    return (size_t)snprintf(out, cap,
                            "POST /test/sessions HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            bl, body);
}

static size_t gen_fill(long i, char *out, size_t cap, int *want)
{
    long s = g_from + i / g_per;
    *want = 200;
    if (i % 2 == 0)
        return (size_t)snprintf(out, cap,
                                "POST /s/b%ld/v1/nodes/n%ld/heartbeat HTTP/1.1\r\nHost: b\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                s, s, sizeof hb_body - 1, hb_body);
    return (size_t)snprintf(out, cap, "GET /s/b%ld/v1/nodes/n%ld/state HTTP/1.1\r\nHost: b\r\n\r\n", s, s);
}

static bool g_hb;
static enum { VIA_DEFAULT, VIA_PREFIX, VIA_HEADER, VIA_PAD } g_via;

static size_t gen_hit(long i, char *out, size_t cap, int *want)
{
    char pre[32] = "", hdr[64] = "";
    long s = 1 + i % g_k;
    if (g_via == VIA_PREFIX)
        snprintf(pre, sizeof pre, "/s/b%ld", s);
    else if (g_via == VIA_HEADER || g_via == VIA_PAD)
        snprintf(hdr, sizeof hdr, "X-Mockapi-%s: b%ld\r\n", g_via == VIA_PAD ? "Padding" : "Session", s);
    *want = 200;
    if (g_hb)
        return (size_t)snprintf(out, cap,
                                "POST %s/v1/nodes/x/heartbeat HTTP/1.1\r\nHost: b\r\n%s"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                pre, hdr, sizeof hb_body - 1, hb_body);
    return (size_t)snprintf(out, cap, "GET %s/v1/nodes/x/state HTTP/1.1\r\nHost: b\r\n%s\r\n", pre, hdr);
}

/* n requests from gen, WINDOW in flight. */
static void run(long n, gen_fn gen)
{
    static char out[WINDOW * 512];
    int want[WINDOW];
    for (long i = 0; i < n;) {
        size_t ol = 0;
        int k = 0;
        for (; k < WINDOW && i + k < n; k++)
            ol += gen(i + k, out + ol, sizeof out - ol, &want[k]);
        send_all(out, ol);
        for (int j = 0; j < k; j++) {
            int st = read_answer();
            if (st != want[j]) {
                char msg[64];
                snprintf(msg, sizeof msg, "%d, not %d, for request %ld", st, want[j], i + j);
                die("status %s", msg);
            }
        }
        i += k;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: session_bench PORT create FROM TO PER | session_bench PORT hit N K ROUTE VIA\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("cannot connect to port %s", argv[1]);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    deadline_ns = now_ns() + 60LL * 1000000000LL;
    int64_t t0 = now_ns();
    long total;
    if (strcmp(argv[2], "create") == 0 && argc == 6) {
        g_from = atol(argv[3]);
        long to = atol(argv[4]);
        g_per = atol(argv[5]);
        if (g_from < 1 || to < g_from || g_per < 0)
            die("bad range %s", argv[3]);
        run(to - g_from + 1, gen_create);
        run((to - g_from + 1) * g_per, gen_fill);
        total = (to - g_from + 1) * (1 + g_per);
    } else if (strcmp(argv[2], "hit") == 0 && argc == 7) {
        total = atol(argv[3]);
        g_k = atol(argv[4]);
        if (total < 0 || g_k < 1)
            die("bad count %s", argv[3]);
        if (strcmp(argv[5], "state") != 0 && strcmp(argv[5], "heartbeat") != 0)
            die("unknown route %s (state, heartbeat)", argv[5]);
        g_hb = strcmp(argv[5], "heartbeat") == 0;
        if (strcmp(argv[6], "default") == 0)
            g_via = VIA_DEFAULT;
        else if (strcmp(argv[6], "prefix") == 0)
            g_via = VIA_PREFIX;
        else if (strcmp(argv[6], "header") == 0)
            g_via = VIA_HEADER;
        else if (strcmp(argv[6], "pad") == 0)
            g_via = VIA_PAD;
        else
            die("unknown selector %s (default, prefix, header, pad)", argv[6]);
        run(total, gen_hit);
    } else {
        die("unknown command %s", argv[2]);
    }
    close(fd);
    printf("RESULT sessions op=%s requests=%ld ms=%lld\n", argv[2], total,
           (long long)((now_ns() - t0) / 1000000));
    return 0;
}
