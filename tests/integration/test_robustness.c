/* test_robustness.c: what a misbehaving client does to the server, seen
 * through raw sockets: slow and silent clients are cut after
 * request_timeout_ms while others are served, a HEAD leaves no body bytes on
 * a pipelined connection, pipelining works, junk and oversized request lines
 * get a 4xx, a body cut short is not captured, and mockapi_stop() is fast
 * with idle keep-alive, half-sent and streaming connections open. Timing is
 * measured with the monotonic clock against deadlines; nothing sleeps. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SLOW_TIMEOUT_MS 300

/* ---- raw HTTP helpers ---------------------------------------------------- */

/* Reads one complete response (head + Content-Length body, or head only if
 * no_body) from fd into *buf (appending). Returns the status, 0 if the peer
 * closed or the deadline passed first. */
static int read_one_response(int fd, int64_t deadline, bool no_body, unsigned char **buf,
                             size_t *len)
{
    for (;;) {
        const char *b = *buf ? (const char *)*buf : "";
        const char *end = *buf ? strstr(b, "\r\n\r\n") : NULL;
        if (end) {
            size_t headlen = (size_t)(end - b) + 4, body = 0;
            const char *cl = strcasestr(b, "\r\nContent-Length:");
            int status = 0;
            if (cl && cl < end && !no_body)
                body = strtoul(cl + 17, NULL, 10);
            if (sscanf(b, "HTTP/1.%*d %d", &status) != 1)
                return 0;
            if (*len >= headlen + body)
                return status;
        }
        {
            int64_t left = deadline - mt_now_ms();
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            char tmp[4096];
            ssize_t r;
            unsigned char *nb;
            if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                return 0;
            r = recv(fd, tmp, sizeof tmp, 0);
            if (r <= 0)
                return 0;
            nb = realloc(*buf, *len + (size_t)r + 1);
            if (!nb)
                return 0;
            memcpy(nb + *len, tmp, (size_t)r);
            *len += (size_t)r;
            nb[*len] = '\0';
            *buf = nb;
        }
    }
}

static void ping_ok(CURL *h, const char *base)
{
    mt_response r;
    mt_get(h, base, "/v1/ping", &r);
    if (r.status != 200 || r.len != 3) {
        long st = r.status;
        CURLcode rc = r.rc;
        mt_response_free(&r);
        fail_msg("GET /v1/ping: status %ld (%s)", st, curl_easy_strerror(rc));
    }
    mt_response_free(&r);
}

/* ---- slow clients ------------------------------------------------------- */

/* Sends prefix (and, if first_request, reads its complete response first),
 * then stays silent; measures how long until the server closes, serving
 * pings on another connection meanwhile. */
static void silent_client(const char *what, const char *first_request, const char *prefix)
{
    mt_timing_test();
    mockapi_config cfg;
    mt_server s;
    CURL *h = curl_easy_init();
    unsigned char *got = NULL;
    size_t gotn = 0;
    int fd, pings = 0;
    int64_t t0, closed_at = -1, deadline;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.request_timeout_ms = SLOW_TIMEOUT_MS;
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    ping_ok(h, s.base); /* the other client's connection is open before t0 */
    fd = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
    assert_true(fd >= 0);
    if (first_request) {
        assert_int_equal(mt_send_all(fd, first_request, strlen(first_request)), 0);
        assert_int_equal(read_one_response(fd, mt_now_ms() + 5000, false, &got, &gotn), 200);
        free(got);
        got = NULL;
        gotn = 0;
    }
    if (prefix)
        assert_int_equal(mt_send_all(fd, prefix, strlen(prefix)), 0);
    t0 = mt_now_ms();
    deadline = t0 + 10000;
    while (mt_now_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 10);
        if (pr > 0) {
            if (mt_read_until_close(fd, mt_now_ms() + 2000, &got, &gotn) == 1) {
                closed_at = mt_now_ms();
                break;
            }
        } else {
            ping_ok(h, s.base); /* others are served while the silent one waits */
            pings++;
        }
    }
    close(fd);
    print_message("%s: closed after %lld ms (request_timeout_ms %d), %d pings served meanwhile%s%s\n",
                  what, closed_at < 0 ? -1LL : (long long)(closed_at - t0), SLOW_TIMEOUT_MS, pings,
                  gotn ? ", reply: " : "", gotn ? (char *)got : "");
    free(got);
    ping_ok(h, s.base);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_REGISTRATION_COUNT), 0);
    {
        char *b = NULL;
        size_t n = 0;
        assert_int_equal(mockapi_last_request(s.m, "register", &b, &n), MOCKAPI_ENOTFOUND);
    }
    curl_easy_cleanup(h);
    mt_server_free(&s);
    if (closed_at < 0)
        fail_msg("%s: not disconnected within 10 s", what);
    /* "silent this long ... is disconnected": not before the timeout, and
     * near it (the default would be 10 s); the slack is for scheduling on a
     * loaded 2-core machine under ASan, not for a second timeout period */
    assert_true(closed_at - t0 >= SLOW_TIMEOUT_MS * 8 / 10);
    assert_true(closed_at - t0 <= SLOW_TIMEOUT_MS * 3 + 500);
    assert_true(pings >= 1);
}

static void rb_silent_mid_head(void **state)
{
    (void)state;
    silent_client("half a request head", NULL,
                  "POST /v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len");
}

static void rb_silent_mid_body(void **state)
{
    (void)state;
    silent_client("head sent, 10 of 100 body bytes", NULL,
                  "POST /v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                  "{\"token\":\"");
}

static void rb_silent_keepalive(void **state)
{
    (void)state;
    silent_client("idle keep-alive after one request",
                  "GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", NULL);
}

static void rb_silent_connect_only(void **state)
{
    (void)state;
    silent_client("connected, nothing sent", NULL, NULL);
}

/* ---- framing ------------------------------------------------------------ */

static void rb_pipelined_head_has_no_body(void **state)
{
    static const char req[] = "HEAD /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                              "GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    mt_server s;
    unsigned char *got = NULL;
    size_t n = 0;
    int fd;
    const char *end1, *second;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    fd = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
    assert_true(fd >= 0);
    assert_int_equal(mt_send_all(fd, req, strlen(req)), 0);
    assert_int_equal(mt_read_until_close(fd, mt_now_ms() + 5000, &got, &n), 1);
    close(fd);
    assert_non_null(got);
    if (strncmp((char *)got, "HTTP/1.1 200", 12) != 0 || !(end1 = strstr((char *)got, "\r\n\r\n"))) {
        char *g = mt_show(got, n);
        print_error("got %s\n", g ? g : "?");
        free(g);
        free(got);
        fail_msg("no complete HEAD response");
    }
    second = end1 + 4;
    /* the HEAD response announces 3 bytes but sends none: the next response
     * starts right after its head */
    if (strncmp(second, "HTTP/1.1 200", 12) != 0 || !strcasestr((char *)got, "\r\nContent-Length: 3\r\n") ||
        n < 3 || memcmp(got + n - 7, "\r\n\r\n{}\n", 7) != 0) {
        char *g = mt_show(got, n);
        print_error("got %s\n", g ? g : "?");
        free(g);
        free(got);
        fail_msg("HEAD then GET on one connection are not framed as two responses");
    }
    free(got);
    mt_server_free(&s);
}

static void rb_pipelined_requests(void **state)
{
    static const char req[] =
        "POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        "POST /v1/nodes/n/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n{\"node_id\":\"n1\"}"
        "POST /v1/nodes/n/deregister HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        "GET /test/assertions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    mt_server s;
    unsigned char *got = NULL;
    size_t n = 0;
    int fd, statuses[4] = {0}, k = 0;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    fd = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
    assert_true(fd >= 0);
    assert_int_equal(mt_send_all(fd, req, strlen(req)), 0);
    assert_int_equal(mt_read_until_close(fd, mt_now_ms() + 5000, &got, &n), 1);
    close(fd);
    for (const char *p = got ? (char *)got : ""; (p = strstr(p, "HTTP/1.1 ")) && k < 4; p += 9)
        statuses[k++] = atoi(p + 9);
    assert_int_equal(statuses[0], 200);
    assert_int_equal(statuses[1], 200);
    assert_int_equal(statuses[2], 204);
    assert_int_equal(statuses[3], 200);
    assert_non_null(strstr((char *)got, "\"registration_count\":1,\"heartbeat_count\":1,"));
    assert_non_null(strstr((char *)got, "\"deregister_count\":1,"));
    free(got);
    {
        char *b = NULL;
        size_t bn = 0;
        assert_int_equal(mockapi_last_request(s.m, "heartbeat", &b, &bn), 0);
        assert_int_equal(bn, 16);
        assert_memory_equal(b, "{\"node_id\":\"n1\"}", 16);
        mockapi_free_buf(b);
    }
    mt_server_free(&s);
}

/* A body announced as 100 bytes, 10 sent, then the client closes: the read
 * fails, so nothing is captured or counted (docs/contract.md §2.3). */
static void rb_body_cut_short(void **state)
{
    static const char req[] = "POST /v1/nodes/n/deregister HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 100\r\n\r\n0123456789";
    mt_server s;
    CURL *h = curl_easy_init();
    int fd;
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start(&s, NULL), 0);
    fd = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
    assert_true(fd >= 0);
    assert_int_equal(mt_send_all(fd, req, strlen(req)), 0);
    shutdown(fd, SHUT_WR);
    {
        unsigned char *got = NULL;
        size_t n = 0;
        assert_int_equal(mt_read_until_close(fd, mt_now_ms() + 5000, &got, &n), 1);
        free(got);
    }
    close(fd);
    ping_ok(h, s.base); /* also orders the check after the server's handling */
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_DEREGISTER_COUNT), 0);
    {
        char *b = NULL;
        size_t n = 0;
        assert_int_equal(mockapi_last_request(s.m, "deregister", &b, &n), MOCKAPI_ENOTFOUND);
    }
    curl_easy_cleanup(h);
    mt_server_free(&s);
}

/* Sends req on a fresh connection and returns the status of the reply (0 if
 * the server closed without one). The server must keep serving. */
static int raw_exchange(mt_server *s, const void *req, size_t n)
{
    unsigned char *got = NULL;
    size_t gn = 0;
    int fd = mt_connect(mockapi_port(s->m, MOCKAPI_LISTENER_HTTP)), status;

    if (fd < 0)
        return -1;
    if (mt_send_all(fd, req, n) != 0) {
        close(fd);
        return -1;
    }
    status = read_one_response(fd, mt_now_ms() + 5000, true, &got, &gn);
    free(got);
    close(fd);
    return status;
}

static void rb_long_request_line(void **state)
{
    mt_server s;
    size_t n = 40000;
    char *req = malloc(n + 100);
    int status;
    (void)state;

    assert_non_null(req);
    assert_int_equal(mt_server_start(&s, NULL), 0);
    strcpy(req, "GET /v1/nodes/");
    memset(req + 14, 'x', n);
    strcpy(req + 14 + n, "/state HTTP/1.1\r\nHost: x\r\n\r\n");
    status = raw_exchange(&s, req, strlen(req));
    free(req);
    print_message("40 KB request line: status %d\n", status);
    ping_ok(NULL, s.base);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_STATE_COUNT), 0);
    mt_server_free(&s);
    assert_true(status >= 400 && status < 500);
}

static void rb_junk_requests(void **state)
{
    static const char *const junk[] = {
        "NOT HTTP AT ALL\r\n\r\n",
        "GET /v1/ping HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /v1/nodes/\x01\x7f/state HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "GET /v1/ping HTTP/1.1\r\nBad Header Line\r\n\r\n",
        "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 tls hello on the plain port\r\n\r\n",
    };
    mt_server s;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int st = raw_exchange(&s, junk[i], strlen(junk[i]));
        char *j = mt_show(junk[i], strlen(junk[i]));
        print_message("junk %zu %s: status %d\n", i, j ? j : "?", st);
        free(j);
        /* a 4xx/5xx reply or a plain close, never a success for junk that
         * no server could parse, and never a crash */
        assert_true(st == 0 || (st >= 400 && st < 600));
        ping_ok(NULL, s.base);
    }
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_REGISTRATION_COUNT), 0);
    mt_server_free(&s);
}

/* ---- stop ---------------------------------------------------------------- */

static void rb_stop_fast_idle_keepalive(void **state)
{
    mt_timing_test();
    enum { NCONN = 8 };
    mt_server s;
    CURL *h[NCONN];
    int64_t t0, t1;
    int port;
    long opened = 0;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    port = mockapi_port(s.m, MOCKAPI_LISTENER_HTTP);
    for (int i = 0; i < NCONN; i++) {
        long nc = 0;
        assert_non_null(h[i] = curl_easy_init());
        ping_ok(h[i], s.base); /* leaves an idle keep-alive connection behind */
        curl_easy_getinfo(h[i], CURLINFO_NUM_CONNECTS, &nc);
        opened += nc;
    }
    assert_int_equal(opened, NCONN);

    t0 = mt_now_ms();
    mockapi_stop(s.m);
    t1 = mt_now_ms();
    print_message("mockapi_stop with %d idle keep-alive connections: %lld ms\n", NCONN,
                  (long long)(t1 - t0));
    /* the port no longer accepts */
    {
        int fd = mt_connect(port);
        if (fd >= 0)
            close(fd);
        assert_true(fd < 0);
    }
    for (int i = 0; i < NCONN; i++)
        curl_easy_cleanup(h[i]);
    mt_server_free(&s);
    assert_true(t1 - t0 < 500);
}

/* stop while connections are mid-request or streaming: fast, and each of
 * those clients sees its connection end */
static void stop_with_open_client(const char *what, const char *req, const char *wait_for)
{
    mt_timing_test();
    mt_server s;
    unsigned char *got = NULL;
    size_t n = 0;
    int fd;
    int64_t t0, t1;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    fd = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
    assert_true(fd >= 0);
    assert_int_equal(mt_send_all(fd, req, strlen(req)), 0);
    if (wait_for) {
        /* read until the stream has started */
        int64_t deadline = mt_now_ms() + 5000;
        while (!(got && strstr((char *)got, wait_for)) && mt_now_ms() < deadline) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            char tmp[4096];
            ssize_t r;
            unsigned char *nb;
            if (poll(&pfd, 1, 50) <= 0)
                continue;
            r = recv(fd, tmp, sizeof tmp, 0);
            if (r <= 0)
                break;
            nb = realloc(got, n + (size_t)r + 1);
            assert_non_null(nb);
            memcpy(nb + n, tmp, (size_t)r);
            n += (size_t)r;
            nb[n] = '\0';
            got = nb;
        }
        assert_non_null(got);
        assert_non_null(strstr((char *)got, wait_for));
    } else {
        ping_ok(NULL, s.base); /* most likely in the server by now; nothing can tell */
    }
    t0 = mt_now_ms();
    mockapi_stop(s.m);
    t1 = mt_now_ms();
    print_message("mockapi_stop with %s open: %lld ms\n", what, (long long)(t1 - t0));
    assert_int_equal(mt_read_until_close(fd, mt_now_ms() + 2000, &got, &n), 1);
    close(fd);
    free(got);
    mt_server_free(&s);
    assert_true(t1 - t0 < 500);
}

static void rb_stop_fast_half_request(void **state)
{
    (void)state;
    stop_with_open_client("a half-sent request",
                          "POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"to", NULL);
}

static void rb_stop_fast_sse_stream(void **state)
{
    (void)state;
    stop_with_open_client("an SSE stream", "GET /v1/nodes/node-1/events HTTP/1.1\r\nHost: x\r\n\r\n",
                          "\n\n");
}

int mt_run_robustness_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rb_silent_mid_head),
        cmocka_unit_test(rb_silent_mid_body),
        cmocka_unit_test(rb_silent_keepalive),
        cmocka_unit_test(rb_silent_connect_only),
        cmocka_unit_test(rb_pipelined_head_has_no_body),
        cmocka_unit_test(rb_pipelined_requests),
        cmocka_unit_test(rb_body_cut_short),
        cmocka_unit_test(rb_long_request_line),
        cmocka_unit_test(rb_junk_requests),
        cmocka_unit_test(rb_stop_fast_idle_keepalive),
        cmocka_unit_test(rb_stop_fast_half_request),
        cmocka_unit_test(rb_stop_fast_sse_stream),
    };
    return cmocka_run_group_tests_name("robustness", tests, NULL, NULL);
}
