/* test_memory.c: bounded memory under clients that do not read (mem_*).
 *
 * Issue 12, item 2. Each test drives an in-process server over raw sockets
 * whose receive buffer is small (so a non-reader stops taking bytes soon)
 * and checks what the server holds: its VmRSS, and the bytes it counts as
 * held for writing (struct mockapi out_held, read here as a white box).
 * Short timeouts come from the config, so every test takes seconds.
 * Under ASan/TSan the allocator keeps freed memory in quarantine by design:
 * the RSS bounds are checked in plain builds only; everything else is
 * checked everywhere. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "raw_client.h"
#include "server.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEM_RSS_CHECKED 0
#else
#define MEM_RSS_CHECKED 1
#endif

enum { MIB = 1 << 20 };

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static size_t held(const mt_server *s)
{
    return atomic_load(&s->m->out_held);
}

/* A client that sends one request and then reads nothing. */
static int nonreader(const mt_server *s, const char *method, const char *path)
{
    int fd = mt_connect_rcvbuf(rc_http_port(s), 4096);
    if (fd < 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n\r\n", method, path);
    if (mt_send_all(fd, req, (size_t)n) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Captures n bytes of 'x'.. under key (a POST to path). */
static void capture(const mt_server *s, const char *path, size_t n, char fill)
{
    char *body = malloc(n + 1);
    assert_non_null(body);
    memset(body, fill, n);
    body[n] = '\0';
    mt_response r;
    mt_request rq = {.method = "POST", .path = path, .body = body, .body_len = n, .send_body = true};
    mt_perform(NULL, s->base, &rq, &r);
    assert_true(r.status == 400 || r.status == 200 || r.status == 204); /* captured before validation */
    mt_response_free(&r);
    free(body);
}

/* Waits (server-side, no polling) until n journal entries match query. */
static void wait_journal(const mt_server *s, const char *query, int n)
{
    char path[256];
    snprintf(path, sizeof path, "/test/wait?%s&include_test=1&value=%d&timeout_ms=15000", query, n);
    mt_response r;
    mt_get(NULL, s->base, path, &r);
    if (r.status != 200)
        fail_msg("wait %s: %ld %s", path, r.status, (char *)r.body);
    mt_response_free(&r);
}

static bool wait_held(const mt_server *s, bool zero, int64_t ms)
{
    int64_t dl = mt_now_ms() + ms;
    while (mt_now_ms() < dl) {
        if ((held(s) == 0) == zero)
            return true;
        usleep(5000); /* polling a counter the server moves, with a deadline */
    }
    return false;
}

static void good_client(const mt_server *s, const char *cap, size_t len, char fill)
{
    mt_response r;
    mt_get(NULL, s->base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    if (!cap)
        return;
    mt_get(NULL, s->base, cap, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, len);
    for (size_t i = 0; i < len; i += 4099)
        assert_int_equal(r.body[i], fill);
    mt_response_free(&r);
}

/* 300 clients ask for an 8 MiB capture and never read: written from the
 * one shared copy, RSS grows by far less than 300 copies (2.4 GB before),
 * and goes back once they leave; a good client alongside gets its copy. */
static void mem_capture_nonreaders(void **state)
{
    (void)state;
    mt_timing_test(); /* deadlines and RSS bounds: not under valgrind */
    enum { N = 300, LEN = 8 * MIB };
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 9 * MIB;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    capture(&s, "/v1/nodes/n/metrics", LEN, 'm');
    long base = rss_kb();
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = nonreader(&s, "GET", "/test/last-request/metrics");
        assert_true(fds[i] >= 0);
    }
    wait_journal(&s, "path=/test/last-request/metrics", N);
    good_client(&s, "/test/last-request/metrics", LEN, 'm');
    long during = rss_kb();
    /* the shared capture counts once in the bound, not 300 times */
    assert_true(held(&s) < 2 * (size_t)LEN);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    assert_true(wait_held(&s, true, 5000));
    long after = rss_kb();
    int64_t dl = mt_now_ms() + 5000;
    while (MEM_RSS_CHECKED && after - base > 32 * 1024 && mt_now_ms() < dl) {
        usleep(20000); /* memory goes back on the loop's own schedule */
        after = rss_kb();
    }
    printf("mem_capture_nonreaders: RSS %ld MB before, %ld MB with %d non-readers, %ld MB after\n",
           base / 1024, during / 1024, N, after / 1024);
    if (MEM_RSS_CHECKED) {
        assert_true(during - base < 96 * 1024);  /* bound: 96 MB over the idle server */
        assert_true(after - base < 32 * 1024);   /* and back within 32 MB */
    }
    mt_server_untrack_free(&s);
}

/* A reader that takes nothing is closed after request_timeout_ms: its
 * pending output makes no progress. */
static void mem_write_deadline(void **state)
{
    (void)state;
    mt_timing_test(); /* deadlines and RSS bounds: not under valgrind */
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 9 * MIB;
    cfg.request_timeout_ms = 600;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    capture(&s, "/v1/nodes/n/metrics", 8 * MIB, 'd');
    assert_true(wait_held(&s, true, 5000)); /* the POST's answer accounted for */
    int64_t t0 = mt_now_ms();
    int fd = nonreader(&s, "GET", "/test/last-request/metrics");
    assert_true(fd >= 0);
    assert_true(wait_held(&s, false, 5000));
    assert_true(wait_held(&s, true, 5000));
    int64_t took = mt_now_ms() - t0;
    assert_true(took >= 500);
    unsigned char *buf = NULL;
    size_t len = 0;
    assert_int_equal(mt_read_until_close(fd, mt_now_ms() + 5000, &buf, &len), 1);
    assert_true(len < 8u * MIB); /* cut short: it never read */
    free(buf);
    close(fd);
    good_client(&s, NULL, 0, 0);
    /* and counted as such in GET /test/stats */
    mt_response r;
    mt_get(NULL, s.base, "/test/stats", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body, "\"timeout_write\":1,"));
    mt_response_free(&r);
    mt_server_untrack_free(&s);
}

/* Past max_buffered_bytes a new large response gets a 503 that says why,
 * small ones still go out, and once the slow client left it is served. */
static void mem_output_bound_503(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_body_bytes = 9 * MIB; /* more than the kernel's send buffer takes */
    cfg.max_buffered_bytes = 1 * MIB;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    capture(&s, "/v1/nodes/n/metrics", 8 * MIB, 'a');
    capture(&s, "/v1/nodes/n/drift", 8 * MIB, 'b');
    /* the answers to the POSTs are accounted for just after they went out */
    assert_true(wait_held(&s, true, 5000));
    int fd = nonreader(&s, "GET", "/test/last-request/metrics");
    assert_true(fd >= 0);
    assert_true(wait_held(&s, false, 5000));
    mt_response r;
    mt_get(NULL, s.base, "/test/last-request/drift", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr((char *)r.body, "max_buffered_bytes"));
    assert_non_null(strstr((char *)r.body, "not read"));
    assert_string_equal(mt_header_get(&r, "Retry-After"), "1");
    mt_response_free(&r);
    assert_int_equal(atomic_load(&s.m->tstats.out_refused), 1);
    good_client(&s, NULL, 0, 0);
    /* the same capture the slow client takes is shared: no more memory */
    good_client(&s, "/test/last-request/metrics", 8 * MIB, 'a');
    close(fd);
    assert_true(wait_held(&s, true, 5000));
    good_client(&s, "/test/last-request/drift", 8 * MIB, 'b');
    mt_server_untrack_free(&s);
}

/* A journal listing larger than one piece is rendered as the client reads:
 * the bytes are a complete JSON document of the announced length. */
static void mem_requests_in_pieces(void **state)
{
    (void)state;
    enum { N = 60, LEN = 4000 };
    mockapi_config cfg;
    mt_config_init(&cfg);
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    for (int i = 0; i < N; i++)
        capture(&s, "/v1/nodes/n/metrics", LEN, (char)('a' + i % 26));
    mt_response r;
    mt_get(NULL, s.base, "/test/requests?path=/v1/nodes/n/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 65536);
    assert_int_equal(strtoull(mt_header_get(&r, "Content-Length"), NULL, 10), r.len);
    json_error_t je;
    json_t *doc = json_loadb((const char *)r.body, r.len, 0, &je);
    assert_non_null(doc);
    json_t *es = json_object_get(doc, "entries");
    assert_int_equal(json_array_size(es), N);
    for (int i = 0; i < N; i++) {
        const char *b = json_string_value(json_object_get(json_array_get(es, (size_t)i), "body"));
        assert_non_null(b);
        assert_int_equal(strlen(b), LEN);
        assert_int_equal(b[0], 'a' + i % 26);
    }
    assert_non_null(json_object_get(doc, "next_seq"));
    json_decref(doc);
    size_t streamed = r.len;
    mt_response_free(&r);
    /* the journal says how large the streamed answer was */
    mt_get(NULL, s.base, "/test/requests?path=/test/requests&include_test=1&limit=1", &r);
    assert_int_equal(r.status, 200);
    doc = json_loadb((const char *)r.body, r.len, 0, &je);
    assert_non_null(doc);
    json_t *resp = json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "response");
    assert_int_equal(json_integer_value(json_object_get(resp, "body_size")), (json_int_t)streamed);
    json_decref(doc);
    mt_response_free(&r);
    /* a second listing on a keep-alive connection after it: framing intact */
    CURL *h = curl_easy_init();
    for (int k = 0; k < 2; k++) {
        mt_get(h, s.base, "/test/requests?path=/v1/nodes/n/metrics&limit=40", &r);
        assert_int_equal(r.status, 200);
        doc = json_loadb((const char *)r.body, r.len, 0, &je);
        assert_non_null(doc);
        assert_int_equal(json_array_size(json_object_get(doc, "entries")), 40);
        json_decref(doc);
        mt_response_free(&r);
    }
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

static int open_stream(const mt_server *s)
{
    return nonreader(s, "GET", "/v1/nodes/n/events");
}

/* The first line of what arrives on fd (a status line), within ms. */
static void status_line(int fd, int64_t ms, char *out, size_t n)
{
    size_t w = 0;
    int64_t dl = mt_now_ms() + ms;
    out[0] = '\0';
    while (w + 1 < n && rc_wait_fd(fd, POLLIN, dl) > 0) {
        ssize_t k = recv(fd, out + w, 1, 0);
        if (k <= 0 || out[w] == '\n')
            break;
        w++;
    }
    out[w] = '\0';
}

/* Streams that never read are ended once their output is stuck for the
 * stall deadline (request_timeout_ms), counted, and a new subscriber that
 * the cap refused gets in. */
static void sse_stalled(int ns)
{
    mt_timing_test(); /* deadlines and RSS bounds: not under valgrind */
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.sse_max_clients = (unsigned)ns;
    cfg.request_timeout_ms = 800;
    mt_server s;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    int *fds = calloc((size_t)ns, sizeof *fds);
    assert_non_null(fds);
    for (int i = 0; i < ns; i++)
        assert_true((fds[i] = open_stream(&s)) >= 0);
    char path[128];
    snprintf(path, sizeof path, "/test/sse/wait?clients=%d&timeout_ms=15000", ns);
    mt_response r;
    mt_get(NULL, s.base, path, &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    /* the cap holds */
    char line[128];
    int extra = open_stream(&s);
    status_line(extra, 5000, line, sizeof line);
    assert_non_null(strstr(line, "503"));
    close(extra);
    /* events enough to fill every stream's buffers */
    size_t plen = 16384;
    char *body = malloc(plen + 256);
    assert_non_null(body);
    CURL *h = curl_easy_init();
    for (int i = 0; i < 24; i++) {
        int n = snprintf(body, 256, "{\"event_type\":\"fill\",\"event_id\":\"f%d\",\"nonce\":\"n%d\",\"payload\":{\"x\":\"", i, i);
        memset(body + n, 'p', plen);
        strcpy(body + n + plen, "\"}}");
        mt_send(h, s.base, "POST", "/test/inject-event", body, &r);
        assert_int_equal(r.status, 204);
        mt_response_free(&r);
    }
    free(body);
    curl_easy_cleanup(h);
    int64_t t0 = mt_now_ms();
    /* a new subscriber gets in within the deadline (plus slack) */
    bool in = false;
    while (!in && mt_now_ms() - t0 < 800 + 5000) {
        int fd = open_stream(&s);
        status_line(fd, 5000, line, sizeof line);
        in = strstr(line, "200") != NULL;
        close(fd);
        if (!in)
            usleep(50000); /* retry after a refusal, within the deadline */
    }
    assert_true(in);
    good_client(&s, NULL, 0, 0);
    mt_get(NULL, s.base, "/test/sse", &r);
    json_error_t je;
    json_t *st = json_loadb((const char *)r.body, r.len, 0, &je);
    assert_non_null(st);
    printf("sse_stalled(%d): a new subscriber got in after %lld ms; stalled=%lld\n", ns,
           (long long)(mt_now_ms() - t0), (long long)json_integer_value(json_object_get(st, "stalled")));
    assert_true(json_integer_value(json_object_get(st, "stalled")) >= 1);
    json_decref(st);
    mt_response_free(&r);
    for (int i = 0; i < ns; i++)
        close(fds[i]);
    free(fds);
    mt_server_untrack_free(&s);
}

static void mem_sse_stalled(void **state)
{
    (void)state;
    sse_stalled(8);
}

static void mem_sse_stalled_1024(void **state)
{
    (void)state;
    sse_stalled(1024);
}

static int teardown(void **state)
{
    (void)state;
    mt_server_free_tracked_all();
    return 0;
}

int mt_run_memory_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(mem_capture_nonreaders, teardown),
        cmocka_unit_test_teardown(mem_write_deadline, teardown),
        cmocka_unit_test_teardown(mem_output_bound_503, teardown),
        cmocka_unit_test_teardown(mem_requests_in_pieces, teardown),
        cmocka_unit_test_teardown(mem_sse_stalled, teardown),
        cmocka_unit_test_teardown(mem_sse_stalled_1024, teardown),
    };
    return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
