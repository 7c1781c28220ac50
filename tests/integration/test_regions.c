/* test_regions.c: regions (README "Regions"), tests named rg_*.
 *
 *  - three regions: each answers with its own X-Mockapi-Region (heads built
 *    by the request path, the event stream's, the framing's refusals), the
 *    TLS listener and an instance without regions send none;
 *  - GET /test/regions lists them; down refuses connections to that region
 *    (ECONNREFUSED) and ends the connections it had, the others serve; up
 *    serves again on the same port; a port taken meanwhile is 409 and the
 *    region stays down; bad indexes are 400 and 404 with precise bodies;
 *  - failover: a client trying regions in order gets past a downed one,
 *    and the journal says which listener served each request; counters are
 *    shared by all regions;
 *  - configuration errors (create) and consecutive ports;
 *  - down/up while clients hammer every region (run under TSan too). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"

/* Starts s with n regions on free ports (tls: and a TLS listener). */
static void start_regions(mt_server *s, unsigned n, bool tls)
{
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.regions = n;
    rc_start(s, &cfg, tls);
    assert_int_equal(mockapi_region_count(s->m), (int)n);
}

/* connect() to 127.0.0.1:port: 0 when it connected (closed again), else errno. */
static int connect_errno(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* The value of the X-Mockapi-Region header in a raw head, or -1 (none);
 * -2 when it appears twice. */
static int region_in(const char *head)
{
    const char *p = strstr(head, "\r\nX-Mockapi-Region: ");
    if (!p)
        return -1;
    if (strstr(p + 2, "\r\nX-Mockapi-Region: "))
        return -2;
    return atoi(p + 20);
}

/* One request on a fresh connection to port; the response (free it). */
static int exchange(int port, const char *request, rc_resp *r)
{
    rc_conn *c = rc_connect(port, false);
    rc_send(c, request);
    int st = rc_read(c, mt_now_ms() + RC_WAIT_MS, r);
    rc_close(c);
    return st;
}

static void post_expect(int port, const char *path, int want, const char *body)
{
    char *rq = rc_fmt("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", path);
    rc_resp r;
    int st = exchange(port, rq, &r);
    if (st != want || (body && (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len) != 0)))
        fail_msg("POST %s: got %d [%.*s], want %d [%s]", path, st, (int)r.body_len, r.body, want,
                 body ? body : "(any)");
    rc_resp_free(&r);
    free(rq);
}

static void rg_each_region_names_itself(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 3, true);
    for (int i = 0; i < 3; i++) {
        int port = mockapi_region_port(s.m, i);
        assert_true(port > 0);
        rc_resp r;
        assert_int_equal(exchange(port, RC_PING, &r), 200);
        if (region_in(r.head) != i)
            fail_msg("region %d answered with head [%s]", i, r.head);
        rc_resp_free(&r);
        /* a refusal of the framing names it too */
        assert_int_equal(exchange(port, "GET /v1/ping HTTP/1.1\r\nHost x\r\n\r\n", &r), 400);
        if (region_in(r.head) != i)
            fail_msg("region %d refused with head [%s]", i, r.head);
        rc_resp_free(&r);
    }
    /* region 0 is the first plain listener: what mockapi_port says */
    assert_int_equal(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP), mockapi_region_port(s.m, 0));
    /* the event stream's head */
    rc_conn *c = rc_connect(mockapi_region_port(s.m, 2), false);
    rc_send(c, "GET /v1/nodes/n1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    int64_t dl = mt_now_ms() + RC_WAIT_MS;
    while (!strstr((const char *)(c->buf ? c->buf : (unsigned char *)""), "\r\n\r\n") && rc_fill(c, dl) > 0)
        ;
    assert_non_null(c->buf);
    assert_non_null(strstr((const char *)c->buf, "text/event-stream"));
    assert_int_equal(region_in((const char *)c->buf), 2);
    rc_close(c);
    /* the TLS listener is no region */
    rc_conn *t = rc_connect(rc_tls_port(&s), true);
    rc_send(t, RC_TLS_PING);
    rc_resp r;
    rc_expect_status(t, &r, 200, "TLS ping");
    assert_int_equal(region_in(r.head), -1);
    rc_resp_free(&r);
    rc_close(t);
    mt_server_untrack_free(&s);
}

static void rg_off_changes_nothing(void **st)
{
    (void)st;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    int port = rc_http_port(&s);
    assert_int_equal(mockapi_region_count(s.m), 0);
    assert_int_equal(mockapi_region_port(s.m, 0), 0);
    rc_resp r;
    assert_int_equal(exchange(port, RC_PING, &r), 200);
    assert_null(strstr(r.head, "X-Mockapi-Region"));
    rc_resp_free(&r);
    assert_int_equal(exchange(port, "GET /test/regions HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    assert_int_equal(r.body_len, strlen("{\"regions\":[]}\n"));
    assert_memory_equal(r.body, "{\"regions\":[]}\n", r.body_len);
    rc_resp_free(&r);
    post_expect(port, "/test/regions/0/down", 404,
                "{\"error\":\"regions are off: start mockapi with -regions N or several -addr\"}\n");
    char err[256] = "";
    assert_int_equal(mockapi_region_down(s.m, 0, err, sizeof err), MOCKAPI_ENOTFOUND);
    assert_non_null(strstr(err, "regions are off"));
    rc_healthy(&s, false, "after a refused down");
    mt_server_untrack_free(&s);
}

static void rg_list_down_up(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 3, false);
    int p[3];
    for (int i = 0; i < 3; i++)
        p[i] = mockapi_region_port(s.m, i);

    rc_resp r;
    assert_int_equal(exchange(p[2], "GET /test/regions HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    char *want = rc_fmt("{\"regions\":[{\"region\":0,\"url\":\"http://127.0.0.1:%d\",\"state\":\"up\"},"
                        "{\"region\":1,\"url\":\"http://127.0.0.1:%d\",\"state\":\"up\"},"
                        "{\"region\":2,\"url\":\"http://127.0.0.1:%d\",\"state\":\"up\"}]}\n",
                        p[0], p[1], p[2]);
    assert_int_equal(r.body_len, strlen(want));
    assert_memory_equal(r.body, want, r.body_len);
    free(want);
    rc_resp_free(&r);

    /* a pooled (keep-alive) connection to region 1, and one mid-request */
    rc_conn *pooled = rc_connect(p[1], false);
    rc_ping(pooled, "pooled, before the down");
    rc_conn *half = rc_connect(p[1], false);
    rc_send(half, "GET /v1/ping HTTP/1.1\r\n");

    char *body = rc_fmt("{\"region\":1,\"url\":\"http://127.0.0.1:%d\",\"state\":\"down\"}\n", p[1]);
    post_expect(p[0], "/test/regions/1/down", 200, body);
    free(body);
    assert_int_equal(connect_errno(p[1]), ECONNREFUSED);
    rc_expect_closed(pooled, "the pooled connection of a downed region");
    rc_expect_closed(half, "a half-sent request on a downed region");
    rc_close(pooled);
    rc_close(half);
    assert_int_equal(mockapi_region_is_up(s.m, 1), 0);
    assert_int_equal(mockapi_region_port(s.m, 1), p[1]); /* kept for /up */
    /* the others serve */
    for (int i = 0; i < 3; i += 2) {
        assert_int_equal(exchange(p[i], RC_PING, &r), 200);
        assert_int_equal(region_in(r.head), i);
        rc_resp_free(&r);
    }
    /* down again: nothing changes */
    post_expect(p[2], "/test/regions/1/down", 200, NULL);
    assert_int_equal(connect_errno(p[1]), ECONNREFUSED);

    body = rc_fmt("{\"region\":1,\"url\":\"http://127.0.0.1:%d\",\"state\":\"up\"}\n", p[1]);
    post_expect(p[0], "/test/regions/1/up", 200, body);
    free(body);
    assert_int_equal(exchange(p[1], RC_PING, &r), 200);
    assert_int_equal(region_in(r.head), 1);
    rc_resp_free(&r);
    /* twice down and up through the C API: the same port each time */
    for (int k = 0; k < 2; k++) {
        char err[256] = "";
        assert_int_equal(mockapi_region_down(s.m, 1, err, sizeof err), MOCKAPI_OK);
        assert_int_equal(connect_errno(p[1]), ECONNREFUSED);
        assert_int_equal(mockapi_region_up(s.m, 1, err, sizeof err), MOCKAPI_OK);
        assert_int_equal(mockapi_region_port(s.m, 1), p[1]);
        rc_healthy(&s, false, "region 0 after a down/up of 1");
        assert_int_equal(exchange(p[1], RC_PING, &r), 200);
        rc_resp_free(&r);
    }
    mt_server_untrack_free(&s);
}

/* Taking down the region the request came in on: the answer says
 * Connection: close and the connection ends after it. */
static void rg_down_own_region(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 2, false);
    int p1 = mockapi_region_port(s.m, 1);
    rc_conn *c = rc_connect(p1, false);
    rc_send(c, "POST /test/regions/1/down HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    rc_resp r;
    rc_expect_status(c, &r, 200, "down of its own region");
    assert_true(rc_says_close(&r));
    assert_int_equal(region_in(r.head), 1);
    rc_resp_free(&r);
    rc_expect_closed(c, "the connection that took its region down");
    rc_close(c);
    assert_int_equal(connect_errno(p1), ECONNREFUSED);
    mt_server_untrack_free(&s);
}

static void rg_bad_index(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 3, false);
    int p0 = mockapi_region_port(s.m, 0);
    post_expect(p0, "/test/regions/x/down", 400, "{\"error\":\"region \\\"x\\\": not a region number; give 0 to 2\"}\n");
    post_expect(p0, "/test/regions/-1/up", 400, "{\"error\":\"region \\\"-1\\\": not a region number; give 0 to 2\"}\n");
    post_expect(p0, "/test/regions/01/down", 400, "{\"error\":\"region \\\"01\\\": not a region number; give 0 to 2\"}\n");
    post_expect(p0, "/test/regions/3/down", 404, "{\"error\":\"no region 3: the regions are 0 to 2\"}\n");
    post_expect(p0, "/test/regions/999/up", 404, "{\"error\":\"no region 999: the regions are 0 to 2\"}\n");
    post_expect(p0, "/test/regions/1/down?now=1", 400, NULL);
    rc_resp r;
    assert_int_equal(exchange(p0, "GET /test/regions/1/down HTTP/1.1\r\nHost: x\r\n\r\n", &r), 405);
    rc_resp_free(&r);
    /* nothing went down */
    for (int i = 0; i < 3; i++)
        assert_int_equal(mockapi_region_is_up(s.m, i), 1);
    char err[256] = "";
    assert_int_equal(mockapi_region_down(s.m, 3, err, sizeof err), MOCKAPI_ENOTFOUND);
    assert_string_equal(err, "no region 3: the regions are 0 to 2");
    assert_int_equal(mockapi_region_up(s.m, -1, err, sizeof err), MOCKAPI_ENOTFOUND);
    mt_server_untrack_free(&s);
}

/* Up while another socket holds the port: 409 with the reason, still down;
 * once it is gone, up works. */
static void rg_up_port_taken(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 2, false);
    int p0 = mockapi_region_port(s.m, 0), p1 = mockapi_region_port(s.m, 1);
    post_expect(p0, "/test/regions/1/down", 200, NULL);
    int thief = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(thief, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p1)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(thief, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(thief, 4), 0);
    char *body = rc_fmt("{\"error\":\"region 1: cannot listen on 127.0.0.1:%d again: Address already in "
                        "use\",\"region\":1,\"state\":\"down\"}\n", p1);
    post_expect(p0, "/test/regions/1/up", 409, body);
    free(body);
    assert_int_equal(mockapi_region_is_up(s.m, 1), 0);
    char err[256] = "";
    assert_int_equal(mockapi_region_up(s.m, 1, err, sizeof err), MOCKAPI_ELISTEN);
    assert_non_null(strstr(err, "Address already in use"));
    close(thief);
    assert_int_equal(mockapi_region_up(s.m, 1, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_region_port(s.m, 1), p1);
    rc_resp r;
    assert_int_equal(exchange(p1, RC_PING, &r), 200);
    assert_int_equal(region_in(r.head), 1);
    rc_resp_free(&r);
    mt_server_untrack_free(&s);
}

/* A client with regions 1, 2, 0 in its list (1 preferred) sends heartbeats:
 * with 1 down each lands on 2; up again, on 1. The journal tells which
 * listener served each; the counter is one for all. */
static int send_failover(const int *ports, int n, const char *request, int *served_by)
{
    for (int k = 0; k < n; k++) {
        int fd = mt_connect(ports[k]);
        if (fd < 0)
            continue; /* refused: the next region */
        close(fd);
        rc_conn *c = rc_connect(ports[k], false);
        rc_send(c, request);
        rc_resp r;
        int st = rc_read(c, mt_now_ms() + RC_WAIT_MS, &r);
        *served_by = region_in(r.head);
        rc_resp_free(&r);
        rc_close(c);
        return st;
    }
    return 0;
}

static void rg_failover(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 3, false);
    int order[3] = {mockapi_region_port(s.m, 1), mockapi_region_port(s.m, 2), mockapi_region_port(s.m, 0)};
    char *hb = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n%s", strlen(RC_HB_BODY), RC_HB_BODY);
    int by = -1;
    assert_int_equal(send_failover(order, 3, hb, &by), 200);
    assert_int_equal(by, 1);
    char err[256];
    assert_int_equal(mockapi_region_down(s.m, 1, err, sizeof err), MOCKAPI_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(send_failover(order, 3, hb, &by), 200);
        assert_int_equal(by, 2);
    }
    assert_int_equal(mockapi_region_up(s.m, 1, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(send_failover(order, 3, hb, &by), 200);
    assert_int_equal(by, 1);
    free(hb);
    /* one counter for all: 4 heartbeats, read through region 0 */
    rc_resp r;
    assert_int_equal(exchange(mockapi_region_port(s.m, 0), "GET /test/assertions HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    int64_t v = -1;
    assert_int_equal(mt_assertion_value(r.body, r.body_len, "heartbeat_count", &v), 0);
    assert_int_equal(v, 4);
    rc_resp_free(&r);
    /* the journal: which listener (= region) served each heartbeat */
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(mockapi_requests(s.m, "route=heartbeat", &json, &len), MOCKAPI_OK);
    json_error_t je;
    json_t *j = json_loadb(json, len, 0, &je);
    assert_non_null(j);
    json_t *es = json_object_get(j, "entries");
    assert_int_equal(json_array_size(es), 4);
    int want[4] = {1, 2, 2, 1};
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(es, i);
        assert_int_equal(json_integer_value(json_object_get(e, "listener")), want[i]);
        json_t *reg = json_object_get(e, "region"); /* the journal's region, where recorded */
        if (reg)
            assert_int_equal(json_integer_value(reg), want[i]);
    }
    json_decref(j);
    mockapi_free_buf(json);
    mt_server_untrack_free(&s);
}

static void rg_config_errors(void **st)
{
    (void)st;
    mockapi_config cfg;
    mockapi *m = NULL;
    char err[512];
    const char *two[] = {"127.0.0.1:0", "127.0.0.1:0"};

    mt_config_init(&cfg);
    cfg.regions = 33;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "config: at most 32 regions (regions 1..32, or up to 31 region_addrs); 33 asked for");

    mt_config_init(&cfg);
    cfg.regions = 2;
    cfg.region_addrs = two;
    cfg.nregion_addrs = 1;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_non_null(strstr(err, "regions and region_addrs cannot be combined"));

    mt_config_init(&cfg);
    cfg.addr = "127.0.0.1:65534";
    cfg.regions = 3;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "addr \"127.0.0.1:65534\": 3 regions on consecutive ports from 65534 would "
                             "pass port 65535 (use a lower port, or port 0 for free ports)");

    const char *bad[] = {"127.0.0.1:0", "nohost:1"};
    mt_config_init(&cfg);
    cfg.region_addrs = bad;
    cfg.nregion_addrs = 2;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "addr (region 2) \"nohost:1\": host must be an IP address or localhost");

    const char *dup[] = {"127.0.0.1:45001"};
    mt_config_init(&cfg);
    cfg.addr = "127.0.0.1:45001"; /* never bound: create refuses it first */
    cfg.region_addrs = dup;
    cfg.nregion_addrs = 1;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "addr (region 1) \"127.0.0.1:45001\": region 0 has that address already");

    /* several addresses: region_addrs are regions 1.. */
    mt_server s;
    mt_config_init(&cfg);
    cfg.region_addrs = two;
    cfg.nregion_addrs = 2;
    rc_start(&s, &cfg, false);
    assert_int_equal(mockapi_region_count(s.m), 3);
    for (int i = 0; i < 3; i++) {
        rc_resp r;
        assert_int_equal(exchange(mockapi_region_port(s.m, i), RC_PING, &r), 200);
        assert_int_equal(region_in(r.head), i);
        rc_resp_free(&r);
    }
    char buf[64];
    assert_true(mockapi_region_url(s.m, 2, buf, sizeof buf) > 0);
    char *want = rc_fmt("http://127.0.0.1:%d", mockapi_region_port(s.m, 2));
    assert_string_equal(buf, want);
    free(want);
    assert_int_equal(mockapi_region_addr(s.m, 3, buf, sizeof buf), MOCKAPI_ENOTFOUND);
    mt_server_untrack_free(&s);
}

/* A socket bound (SO_REUSEADDR, as the server's) to 127.0.0.1:port, or -1. */
static int probe_bind(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* -regions N on a port of its own: ports port..port+N-1. The base is a
 * port the kernel just handed out (never a fixed one), and the two after it
 * are checked free by binding them; another process may take one between
 * that check and the start, so a few bases are tried. */
static void rg_consecutive_ports(void **st)
{
    (void)st;
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd[3] = {probe_bind(0), -1, -1};
        assert_true(fd[0] >= 0);
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        assert_int_equal(getsockname(fd[0], (struct sockaddr *)&sa, &sl), 0);
        int base = ntohs(sa.sin_port);
        bool free3 = base < 65000;
        for (int i = 1; i < 3 && free3; i++)
            free3 = (fd[i] = probe_bind(base + i)) >= 0;
        for (int i = 0; i < 3; i++)
            if (fd[i] >= 0)
                close(fd[i]);
        if (!free3)
            continue;
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", base);
        mockapi_config cfg;
        mt_config_init(&cfg);
        cfg.addr = addr;
        cfg.regions = 3;
        mt_server s;
        if (mt_server_start_tracked(&s, &cfg) != 0)
            continue; /* a port of the three was taken meanwhile: another base */
        for (int i = 0; i < 3; i++)
            assert_int_equal(mockapi_region_port(s.m, i), base + i);
        /* down and up on a port given (not free-picked) keeps it too */
        char err[256];
        assert_int_equal(mockapi_region_down(s.m, 2, err, sizeof err), MOCKAPI_OK);
        assert_int_equal(connect_errno(base + 2), ECONNREFUSED);
        assert_int_equal(mockapi_region_up(s.m, 2, err, sizeof err), MOCKAPI_OK);
        rc_resp r;
        assert_int_equal(exchange(base + 2, RC_PING, &r), 200);
        assert_int_equal(region_in(r.head), 2);
        rc_resp_free(&r);
        mt_server_untrack_free(&s);
        return;
    }
    fail_msg("no free run of 3 ports in 50 tries");
}

/* ---- down and up while requests run ------------------------------------- */

typedef struct hammer {
    mt_server *s;
    int region;
    atomic_bool *stop;
    atomic_int ok, refused, cut;
} hammer;

/* Keep-alive pings on one region, reconnecting whenever the connection
 * fails or is refused; counts what happened. */
static void *hammer_run(void *arg)
{
    hammer *h = arg;
    int port = mockapi_region_port(h->s->m, h->region);
    int fd = -1;
    char buf[4096];
    while (!atomic_load(h->stop)) {
        if (fd < 0 && (fd = mt_connect(port)) < 0) {
            h->refused++;
            continue;
        }
        size_t got = 0;
        bool okay = mt_send_all(fd, RC_PING, RC_PING_LEN) == 0;
        while (okay) {
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0) {
                okay = false;
                break;
            }
            got += (size_t)r;
            buf[got] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end && got >= (size_t)(end + 4 - buf) + 3) /* "{}\n" */
                break;
        }
        if (okay && strncmp(buf, "HTTP/1.1 200", 12) == 0) {
            h->ok++;
        } else {
            h->cut++;
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void rg_down_up_under_load(void **st)
{
    (void)st;
    mt_server s;
    start_regions(&s, 3, false);
    atomic_bool stop = false;
    hammer h[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        h[i] = (hammer){.s = &s, .region = i, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
    }
    char err[256];
    /* each round: region 1's client is refused while down and served once
     * up again, while the other two go on (waits with a deadline: the
     * clients run at their own pace) */
    int rounds = mt_timing_on() ? 40 : 8; /* valgrind: fewer, and more time */
    int64_t deadline = mt_now_ms() + (mt_timing_on() ? 20000 : 120000);
    for (int k = 0; k < rounds; k++) {
        int refused = atomic_load(&h[1].refused), ok = atomic_load(&h[1].ok);
        int ok0 = atomic_load(&h[0].ok), ok2 = atomic_load(&h[2].ok);
        assert_int_equal(mockapi_region_down(s.m, 1, err, sizeof err), MOCKAPI_OK);
        assert_int_equal(connect_errno(mockapi_region_port(s.m, 1)), ECONNREFUSED);
        while (atomic_load(&h[1].refused) == refused && mt_now_ms() < deadline)
            sched_yield();
        assert_int_equal(mockapi_region_up(s.m, 1, err, sizeof err), MOCKAPI_OK);
        while ((atomic_load(&h[1].ok) == ok || atomic_load(&h[0].ok) == ok0 || atomic_load(&h[2].ok) == ok2) &&
               mt_now_ms() < deadline)
            sched_yield();
        if (mt_now_ms() >= deadline)
            fail_msg("round %d: the clients did not get through in time", k);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    /* regions 0 and 2 never failed; region 1 served between its downs */
    assert_int_equal(h[0].cut + h[0].refused, 0);
    assert_int_equal(h[2].cut + h[2].refused, 0);
    assert_true(h[0].ok > 0 && h[2].ok > 0);
    for (int i = 0; i < 3; i++) {
        rc_resp r;
        assert_int_equal(exchange(mockapi_region_port(s.m, i), RC_PING, &r), 200);
        assert_int_equal(region_in(r.head), i);
        rc_resp_free(&r);
    }
    mt_server_untrack_free(&s);
}

int mt_run_regions_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rg_each_region_names_itself, rc_teardown),
        cmocka_unit_test_teardown(rg_off_changes_nothing, rc_teardown),
        cmocka_unit_test_teardown(rg_list_down_up, rc_teardown),
        cmocka_unit_test_teardown(rg_down_own_region, rc_teardown),
        cmocka_unit_test_teardown(rg_bad_index, rc_teardown),
        cmocka_unit_test_teardown(rg_up_port_taken, rc_teardown),
        cmocka_unit_test_teardown(rg_failover, rc_teardown),
        cmocka_unit_test_teardown(rg_config_errors, rc_teardown),
        cmocka_unit_test_teardown(rg_consecutive_ports, rc_teardown),
        cmocka_unit_test_teardown(rg_down_up_under_load, rc_teardown),
    };
    return cmocka_run_group_tests_name("regions", tests, NULL, NULL);
}
