/* test_api.c: the public C API of include/mockapi.h, checked against what
 * the same instance says over HTTP: counter names, errors, config defaults,
 * lifecycle and addresses, captures, state and heartbeat setters,
 * credentials, the signing key file, fixture overrides, and isolation of two
 * instances side by side. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const char *const counter_names[MOCKAPI_COUNTER_COUNT] = {
    "registration_count", "heartbeat_count", "state_count", "metadata_count",
    "deregister_count", "key_rotate_count", "capabilities_count", "endpoint_count",
    "drift_count", "secrets_count", "report_count", "execution_ack_count",
    "execution_result_count", "metrics_count", "logs_count", "audit_count",
    "artifact_count", "tunnel_ready_count", "tunnel_closed_count",
    "integrity_violation_count", "inject_event_count", "local_metrics_count",
    "local_logs_count", "local_audit_count",
};

static const char measured_state_in[] =
    "{\"peers\":[],\"policies\":[{\"id\":\"p\",\"rules\":[{\"action\":\"allow\",\"protocol\":\"tcp\","
    "\"ports\":[\"443\"],\"sources\":[\"10.0.0.0/8\"]}]}],\"metadata\":{\"z\":\"1\",\"a\":\"<&>\"}}";
static const char measured_state_out[] =
    "{\"peers\":[],\"policies\":[{\"id\":\"p\",\"rules\":[{\"src\":\"\",\"dst\":\"\",\"port\":0,"
    "\"protocol\":\"tcp\",\"action\":\"allow\"}]}],\"metadata\":{\"a\":\"\\u003c\\u0026\\u003e\","
    "\"z\":\"1\"},\"data\":null,\"secret_refs\":null}\n";

/* Compares bytes and prints both sides on a mismatch. */
static void assert_bytes(const void *want, size_t wn, const void *got, size_t gn)
{
    if (wn != gn || memcmp(want, got, wn) != 0) {
        char *w = mt_show(want, wn), *g = mt_show(got, gn);
        print_error("want %s\ngot  %s\n", w ? w : "?", g ? g : "?");
        free(w);
        free(g);
        fail_msg("bytes differ (want %zu, got %zu)", wn, gn);
    }
}

static void assert_golden(const char *name, const char *key, const void *got, size_t gn)
{
    unsigned char *want = NULL;
    size_t wn = 0;
    assert_int_equal(mt_golden(name, key, &want, &wn), 0);
    if (wn != gn || memcmp(want, got, wn) != 0) {
        char *w = mt_show(want, wn), *g = mt_show(got, gn);
        print_error("golden %s\nwant %s\ngot  %s\n", name, w ? w : "?", g ? g : "?");
        free(w);
        free(g);
        free(want);
        fail_msg("body differs from golden %s", name);
    }
    free(want);
}

/* ---- counters and errors ----------------------------------------------- */

static void api_counter_names(void **state)
{
    (void)state;
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++) {
        const char *n = mockapi_counter_name((mockapi_counter)i);
        assert_non_null(n);
        assert_string_equal(n, counter_names[i]);
        assert_int_equal(mockapi_counter_by_name(counter_names[i]), i);
    }
    assert_int_equal(MOCKAPI_COUNTER_COUNT, 24);
    assert_null(mockapi_counter_name(MOCKAPI_COUNTER_COUNT));
    assert_null(mockapi_counter_name((mockapi_counter)-1));
    assert_int_equal(mockapi_counter_by_name("nope_count"), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_counter_by_name(""), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_counter_by_name("HEARTBEAT_COUNT"), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_counter_by_name("heartbeat"), MOCKAPI_ENOTFOUND);
}

static void api_counters_match_wire(void **state)
{
    mt_server s;
    mt_response r;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start(&s, NULL), 0);
    /* one request per counted plain-HTTP route, twice for heartbeat */
    mt_send(h, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    mt_send(h, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    mt_response_free(&r);
    mt_get(h, s.base, "/v1/nodes/n/state", &r);
    mt_response_free(&r);
    mt_get(h, s.base, "/test/assertions", &r);
    assert_int_equal(r.status, 200);
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++) {
        int64_t wire = -1, api = mockapi_counter_get(s.m, (mockapi_counter)i);
        int64_t want = i == MOCKAPI_HEARTBEAT_COUNT ? 2 : i == MOCKAPI_STATE_COUNT ? 1 : 0;
        assert_int_equal(mt_assertion_value(r.body, r.len, counter_names[i], &wire), 0);
        assert_int_equal(wire, want);
        assert_int_equal(api, want);
    }
    mt_response_free(&r);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_COUNTER_COUNT), 0);
    assert_int_equal(mockapi_counter_get(s.m, (mockapi_counter)-1), 0);
    curl_easy_cleanup(h);
    mt_server_free(&s);
}

static void api_strerror(void **state)
{
    const int codes[] = {MOCKAPI_OK,     MOCKAPI_EINVAL, MOCKAPI_ENOMEM, MOCKAPI_ELISTEN,
                         MOCKAPI_ESTATE, MOCKAPI_ENOTFOUND, MOCKAPI_EIO, MOCKAPI_EJSON,
                         MOCKAPI_ECRYPTO};
    const size_t n = sizeof codes / sizeof codes[0];
    (void)state;
    for (size_t i = 0; i < n; i++) {
        const char *a = mockapi_strerror(codes[i]);
        assert_non_null(a);
        assert_true(a[0] != '\0');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(a, mockapi_strerror(codes[j]));
    }
    assert_non_null(mockapi_strerror(-999));
    assert_non_null(mockapi_strerror(42));
}

static void api_config_defaults(void **state)
{
    mockapi_config c;
    (void)state;
    memset(&c, 0xa5, sizeof c);
    mockapi_config_init(&c);
    assert_non_null(c.addr);
    assert_string_equal(c.addr, "127.0.0.1:0");
    assert_null(c.tls_addr);
    assert_null(c.fixtures_dir);
    assert_null(c.signing_key_file);
    assert_int_equal(c.max_body_bytes, 1048576);
    assert_int_equal(c.max_decoded_bytes, 8 * 1048576);
    assert_int_equal(c.max_header_bytes, 16384);
    assert_int_equal(c.request_timeout_ms, 10000);
    assert_int_equal(c.threads, 64);
    assert_int_equal(c.sse_keepalive_ms, 15000);
    assert_null(c.log);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void api_lifecycle(void **state)
{
    mockapi_config cfg;
    mockapi *m = NULL;
    char err[256] = "", buf[128], want[128], tiny[5];
    int port;
    (void)state;

    mt_config_init(&cfg);
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), 0);
    assert_non_null(m);
    assert_int_equal(mockapi_port(m, MOCKAPI_LISTENER_HTTP), 0);
    assert_true(mockapi_addr(m, MOCKAPI_LISTENER_HTTP, buf, sizeof buf) < 0);
    mockapi_stop(m); /* not started: a no-op */

    assert_int_equal(mockapi_start(m, err, sizeof err), 0);
    port = mockapi_port(m, MOCKAPI_LISTENER_HTTP);
    assert_true(port > 0 && port < 65536);
    assert_int_equal(mockapi_port(m, MOCKAPI_LISTENER_TLS), 0);

    snprintf(want, sizeof want, "http://127.0.0.1:%d", port);
    assert_int_equal(mockapi_base_url(m, MOCKAPI_LISTENER_HTTP, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    assert_int_equal(mockapi_addr(m, MOCKAPI_LISTENER_HTTP, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(mockapi_addr(m, MOCKAPI_LISTENER_TLS, buf, sizeof buf), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_base_url(m, MOCKAPI_LISTENER_TLS, buf, sizeof buf), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_base_url(m, MOCKAPI_LISTENER_HTTP, tiny, sizeof tiny), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_addr(m, MOCKAPI_LISTENER_HTTP, tiny, sizeof tiny), MOCKAPI_EINVAL);

    err[0] = '\0';
    assert_int_equal(mockapi_start(m, err, sizeof err), MOCKAPI_ESTATE);

    {
        mt_response r;
        char base[128];
        mockapi_base_url(m, MOCKAPI_LISTENER_HTTP, base, sizeof base);
        mt_send(NULL, base, "POST", "/v1/register", "{\"token\":\"kept\"}", &r);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    mockapi_stop(m);
    mockapi_stop(m); /* twice: a no-op */
    assert_int_equal(mockapi_port(m, MOCKAPI_LISTENER_HTTP), 0);
    /* counters and captures survive stop */
    assert_int_equal(mockapi_counter_get(m, MOCKAPI_REGISTRATION_COUNT), 1);
    {
        char *b = NULL;
        size_t n = 0;
        assert_int_equal(mockapi_last_request(m, "register", &b, &n), 0);
        assert_bytes("{\"token\":\"kept\"}", 16, b, n);
        mockapi_free_buf(b);
    }
    mockapi_free(m);
    mockapi_stop(NULL);
    mockapi_free(NULL);
    mockapi_free_buf(NULL);
}

static void api_create_errors(void **state)
{
    mockapi_config cfg;
    mockapi *m = NULL;
    char err[256] = "";
    (void)state;

    mt_config_init(&cfg);
    /* NULL cfg: either refused or taken as the defaults */
    {
        int rc = mockapi_create(NULL, &m, err, sizeof err);
        if (rc == 0) {
            assert_non_null(m);
            mockapi_free(m);
            m = NULL;
        } else {
            assert_int_equal(rc, MOCKAPI_EINVAL);
            assert_null(m);
        }
    }

    /* a bad address fails at create (EINVAL) or at start (ELISTEN) */
    cfg.addr = "not an address";
    err[0] = '\0';
    {
        int rc = mockapi_create(&cfg, &m, err, sizeof err);
        if (rc == 0) {
            rc = mockapi_start(m, err, sizeof err);
            assert_true(rc == MOCKAPI_ELISTEN || rc == MOCKAPI_EINVAL);
            mockapi_free(m);
            m = NULL;
        } else {
            assert_int_equal(rc, MOCKAPI_EINVAL);
            assert_null(m);
        }
        assert_true(err[0] != '\0');
    }
    /* errbuf may be NULL */
    m = NULL;
    if (mockapi_create(&cfg, &m, NULL, 0) == 0) {
        assert_true(mockapi_start(m, NULL, 0) < 0);
        mockapi_free(m);
    }
}

static void api_listen_conflict(void **state)
{
    mt_server a;
    mockapi_config cfg;
    mockapi *b = NULL;
    char addr[64], err[256] = "";
    mt_response r;
    (void)state;

    assert_int_equal(mt_server_start(&a, NULL), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", mockapi_port(a.m, MOCKAPI_LISTENER_HTTP));
    mt_config_init(&cfg);
    cfg.addr = addr;
    assert_int_equal(mockapi_create(&cfg, &b, err, sizeof err), 0);
    assert_int_equal(mockapi_start(b, err, sizeof err), MOCKAPI_ELISTEN);
    assert_true(err[0] != '\0');
    assert_int_equal(mockapi_port(b, MOCKAPI_LISTENER_HTTP), 0);
    mockapi_free(b);
    mt_get(NULL, a.base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    mt_server_free(&a);
}

/* ---- captures ----------------------------------------------------------- */

static void api_last_request(void **state)
{
    mt_server s;
    mt_response r;
    char *b = NULL;
    size_t n = 99;
    static const char body[] = "{\"token\":\"t\",\"hostname\":\"h\"}";
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    assert_int_equal(mockapi_last_request(s.m, "register", &b, &n), MOCKAPI_ENOTFOUND);
    assert_null(b);
    assert_int_equal(mockapi_last_request(s.m, "no-such-key", &b, &n), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_last_request(s.m, NULL, &b, &n), MOCKAPI_EINVAL);

    mt_send(NULL, s.base, "POST", "/v1/register", body, &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    assert_int_equal(mockapi_last_request(s.m, "register", &b, &n), 0);
    assert_non_null(b);
    assert_bytes(body, strlen(body), b, n);
    assert_int_equal(b[n], '\0');
    mockapi_free_buf(b);
    b = NULL;

    /* binary bytes come back exactly, with their length */
    {
        mt_request rq;
        static const unsigned char bin[] = {0, 1, 2, 0xff, 0, '\n'};
        memset(&rq, 0, sizeof rq);
        rq.method = "POST";
        rq.path = "/v1/nodes/n/deregister";
        rq.body = bin;
        rq.body_len = sizeof bin;
        rq.send_body = true;
        mt_perform(NULL, s.base, &rq, &r);
        assert_int_equal(r.status, 204);
        mt_response_free(&r);
        assert_int_equal(mockapi_last_request(s.m, "deregister", &b, &n), 0);
        assert_bytes(bin, sizeof bin, b, n);
        mockapi_free_buf(b);
        b = NULL;
    }
    /* an empty capture: rc 0, len 0, non-NULL buffer */
    mt_send(NULL, s.base, "POST", "/v1/nodes/n/deregister", NULL, &r);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    n = 99;
    assert_int_equal(mockapi_last_request(s.m, "deregister", &b, &n), 0);
    assert_non_null(b);
    assert_int_equal(n, 0);
    mockapi_free_buf(b);
    b = NULL;

    /* the C view equals the HTTP view */
    mt_get(NULL, s.base, "/test/last-request/register", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(mockapi_last_request(s.m, "register", &b, &n), 0);
    assert_bytes(r.body, r.len, b, n);
    mockapi_free_buf(b);
    mt_response_free(&r);
    mt_server_free(&s);
}

/* ---- fixtures ----------------------------------------------------------- */

static void api_state(void **state)
{
    mt_server s;
    mt_response r;
    char *j = NULL, err[256] = "";
    size_t n = 0;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    assert_int_equal(mockapi_get_state(s.m, &j, &n), 0);
    assert_golden("state", s.key, j, n);
    mockapi_free_buf(j);
    j = NULL;

    assert_int_equal(mockapi_set_state(s.m, measured_state_in, strlen(measured_state_in), err, sizeof err), 0);
    assert_int_equal(mockapi_get_state(s.m, &j, &n), 0);
    assert_bytes(measured_state_out, strlen(measured_state_out), j, n);
    mt_get(NULL, s.base, "/v1/nodes/n/state", &r);
    assert_int_equal(r.status, 200);
    assert_bytes(j, n, r.body, r.len);
    mt_response_free(&r);
    mockapi_free_buf(j);
    j = NULL;

    /* invalid JSON of the right shape and not JSON at all: EJSON, unchanged */
    err[0] = '\0';
    assert_int_equal(mockapi_set_state(s.m, "{\"peers\":{}}", 12, err, sizeof err), MOCKAPI_EJSON);
    assert_true(err[0] != '\0');
    assert_int_equal(mockapi_set_state(s.m, "xyz", 3, NULL, 0), MOCKAPI_EJSON);
    assert_int_equal(mockapi_set_state(s.m, "", 0, NULL, 0), MOCKAPI_EJSON);
    assert_int_equal(mockapi_get_state(s.m, &j, &n), 0);
    assert_bytes(measured_state_out, strlen(measured_state_out), j, n);
    mockapi_free_buf(j);
    j = NULL;

    /* len is honoured: the bytes after it are not read */
    {
        static const char withtail[] = "null{\"peers\":{}}";
        assert_int_equal(mockapi_set_state(s.m, withtail, 4, NULL, 0), 0);
        assert_int_equal(mockapi_get_state(s.m, &j, &n), 0);
        assert_bytes("{\"peers\":null,\"policies\":null,\"data\":null,\"secret_refs\":null}\n", 62, j, n);
        mockapi_free_buf(j);
        j = NULL;
    }
    /* set_state touches neither captures nor counters */
    assert_int_equal(mockapi_last_request(s.m, "configure_state", &j, &n), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_STATE_COUNT), 1);
    mt_server_free(&s);
}

static void api_heartbeat(void **state)
{
    mt_server s;
    mt_response r;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start(&s, NULL), 0);
    assert_int_equal(mockapi_set_heartbeat(s.m, false, true), 0);
    mt_send(h, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_bytes("{\"reconcile\":false,\"rotate_keys\":true}\n", 39, r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mockapi_set_heartbeat(s.m, false, false), 0);
    mt_send(h, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_bytes("{\"reconcile\":false,\"rotate_keys\":false}\n", 40, r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mockapi_set_heartbeat(s.m, true, false), 0);
    mt_send(h, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_golden("heartbeat", s.key, r.body, r.len);
    mt_response_free(&r);
    /* the wire setter and the C setter act on the same fixture */
    mt_send(h, s.base, "POST", "/test/configure-heartbeat", "{\"rotate_keys\":true}", &r);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    mt_send(h, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_bytes("{\"reconcile\":false,\"rotate_keys\":true}\n", 39, r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 4);
    {
        char *b = NULL;
        size_t n = 0;
        assert_int_equal(mockapi_last_request(s.m, "configure_heartbeat", &b, &n), 0);
        assert_bytes("{\"rotate_keys\":true}", 20, b, n);
        mockapi_free_buf(b);
    }
    curl_easy_cleanup(h);
    mt_server_free(&s);
}

/* ---- credentials and keys ----------------------------------------------- */

static bool is_b64_32(const char *k)
{
    if (!k || strlen(k) != 44 || k[43] != '=' || k[42] == '=')
        return false;
    for (int i = 0; i < 43; i++) {
        char c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    /* 32 bytes: the last sextet's low 2 bits are padding, so zero */
    return strchr("AEIMQUYcgkosw048", k[42]) != NULL;
}

static void api_credentials(void **state)
{
    mt_server s;
    mt_response r;
    const char *k;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    assert_string_equal(mockapi_nsk(s.m), "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");
    assert_int_equal(strlen(mockapi_nsk(s.m)), 32);
    assert_string_equal(mockapi_bearer_token(s.m), "e2e-local-bearer-token");
    k = mockapi_signing_public_key(s.m);
    assert_true(is_b64_32(k));
    assert_ptr_equal(k, mockapi_signing_public_key(s.m)); /* stable storage */

    mt_send(NULL, s.base, "POST", "/v1/register", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 497);
    assert_non_null(strstr((char *)r.body, k));
    assert_golden("register", k, r.body, r.len);
    mt_response_free(&r);

    mt_get(NULL, s.base, "/v1/nodes/n/state", &r);
    assert_int_equal(r.len, 2084);
    {
        char want[128];
        snprintf(want, sizeof want, "\"signing_keys\":{\"current\":\"%s\",\"previous\":\"%s\"}", k, k);
        assert_non_null(strstr((char *)r.body, want));
    }
    mt_response_free(&r);
    mt_server_free(&s);
}

static void api_keys_differ(void **state)
{
    mt_server a, b;
    (void)state;
    assert_int_equal(mt_server_start(&a, NULL), 0);
    assert_int_equal(mt_server_start(&b, NULL), 0);
    assert_true(is_b64_32(a.key));
    assert_true(is_b64_32(b.key));
    assert_string_not_equal(a.key, b.key);
    mt_server_free(&a);
    mt_server_free(&b);
}

static void api_signing_key_file(void **state)
{
    char dir[] = "/tmp/mockapi-it-XXXXXX", path[128], key1[64], err[256] = "";
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    struct stat st;
    unsigned char *seed = NULL;
    size_t seedn = 0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/signing.seed", dir);

    mt_config_init(&cfg);
    cfg.signing_key_file = path;
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    strcpy(key1, s.key);
    assert_true(is_b64_32(key1));
    mt_server_free(&s);

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mt_read_file(path, &seed, &seedn), 0);
    assert_int_equal(seedn, 32);
    free(seed);

    /* a restart with the file keeps the key, on the wire too */
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    assert_string_equal(s.key, key1);
    mt_send(NULL, s.base, "POST", "/v1/register", "{}", &r);
    assert_golden("register", key1, r.body, r.len);
    mt_response_free(&r);
    mt_server_free(&s);

    /* without the file: a new key */
    assert_int_equal(mt_server_start(&s, NULL), 0);
    assert_string_not_equal(s.key, key1);
    mt_server_free(&s);

    /* a seed file of the wrong size is refused at create, with a reason */
    {
        FILE *f = fopen(path, "wb");
        mockapi *m = NULL;
        int rc;
        assert_non_null(f);
        fputs("short", f);
        fclose(f);
        rc = mockapi_create(&cfg, &m, err, sizeof err);
        assert_true(rc < 0);
        assert_null(m);
        assert_true(err[0] != '\0');
    }
    unlink(path);
    rmdir(dir);
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char p[256];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (!(f = fopen(p, "wb")))
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void api_fixtures_dir(void **state)
{
    char dir[] = "/tmp/mockapi-it-XXXXXX", err[256] = "";
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    mockapi *m = NULL;
    (void)state;

    assert_non_null(mkdtemp(dir));
    /* pretty-printed, unsorted: goes out the way json.Encoder writes it */
    assert_int_equal(write_file(dir, "metadata.json", "{\n  \"b\": \"2\",\n  \"a\": \"<x>\"\n}\n"), 0);
    assert_int_equal(write_file(dir, "heartbeat.json", "{ \"reconcile\": false, \"rotate_keys\": true }\n"), 0);
    assert_int_equal(write_file(dir, "artifact.bin", "custom-artifact\n"), 0);
    mt_config_init(&cfg);
    cfg.fixtures_dir = dir;
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    mt_get(NULL, s.base, "/v1/nodes/n/metadata", &r);
    assert_int_equal(r.status, 200);
    assert_bytes("{\"a\":\"\\u003cx\\u003e\",\"b\":\"2\"}\n", 30, r.body, r.len);
    mt_response_free(&r);
    mt_send(NULL, s.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_bytes("{\"reconcile\":false,\"rotate_keys\":true}\n", 39, r.body, r.len);
    mt_response_free(&r);
    mt_get(NULL, s.base, "/v1/artifacts/plexd/1/linux/amd64", &r);
    assert_bytes("custom-artifact\n", 16, r.body, r.len);
    mt_response_free(&r);
    /* files not overridden keep the embedded fixture */
    mt_send(NULL, s.base, "POST", "/v1/register", "{}", &r);
    assert_golden("register", s.key, r.body, r.len);
    mt_response_free(&r);
    mt_get(NULL, s.base, "/v1/nodes/n/state", &r);
    assert_golden("state", s.key, r.body, r.len);
    mt_response_free(&r);
    mt_server_free(&s);

    /* an invalid fixture fails create with EJSON naming the file */
    assert_int_equal(write_file(dir, "state.json", "{\"peers\": {}}"), 0);
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EJSON);
    assert_null(m);
    assert_non_null(strstr(err, "state.json"));
    remove_dir(dir);
}

/* ---- two instances ------------------------------------------------------ */

static void api_two_instances_isolated(void **state)
{
    mt_server a, b;
    mt_response r;
    char *j = NULL;
    size_t n = 0;
    (void)state;

    assert_int_equal(mt_server_start(&a, NULL), 0);
    assert_int_equal(mt_server_start(&b, NULL), 0);
    assert_int_not_equal(mockapi_port(a.m, MOCKAPI_LISTENER_HTTP), mockapi_port(b.m, MOCKAPI_LISTENER_HTTP));

    mt_send(NULL, a.base, "POST", "/v1/register", "{\"token\":\"a\"}", &r);
    mt_response_free(&r);
    mt_send(NULL, a.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    mt_response_free(&r);
    mt_get(NULL, a.base, "/v1/nodes/n/secrets/k", &r);
    mt_response_free(&r);
    mt_send(NULL, a.base, "POST", "/test/configure-state", "null", &r);
    assert_int_equal(r.status, 204);
    mt_response_free(&r);
    mt_send(NULL, a.base, "POST", "/test/configure-heartbeat", "{}", &r);
    mt_response_free(&r);
    mt_send(NULL, a.base, "POST", "/test/inject-event", "{}", &r);
    mt_response_free(&r);
    assert_int_equal(mockapi_set_heartbeat(a.m, false, true), 0);

    /* B: nothing moved */
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
        assert_int_equal(mockapi_counter_get(b.m, (mockapi_counter)i), 0);
    mt_get(NULL, b.base, "/test/assertions", &r);
    assert_golden("assertions_zero", b.key, r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mockapi_last_request(b.m, "register", &j, &n), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_last_request(b.m, "configure_state", &j, &n), MOCKAPI_ENOTFOUND);
    mt_get(NULL, b.base, "/test/last-request/register", &r);
    assert_int_equal(r.status, 404);
    mt_response_free(&r);
    mt_get(NULL, b.base, "/v1/nodes/n/state", &r);
    assert_golden("state", b.key, r.body, r.len);
    mt_response_free(&r);
    mt_send(NULL, b.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_golden("heartbeat", b.key, r.body, r.len);
    mt_response_free(&r);
    mt_send(NULL, b.base, "POST", "/v1/register", "{}", &r);
    assert_golden("register", b.key, r.body, r.len);
    mt_response_free(&r);

    /* A: its own changes, untouched by B's traffic */
    assert_int_equal(mockapi_counter_get(a.m, MOCKAPI_REGISTRATION_COUNT), 1);
    assert_int_equal(mockapi_counter_get(a.m, MOCKAPI_HEARTBEAT_COUNT), 1);
    assert_int_equal(mockapi_counter_get(a.m, MOCKAPI_SECRETS_COUNT), 1);
    assert_int_equal(mockapi_counter_get(a.m, MOCKAPI_INJECT_EVENT_COUNT), 1);
    assert_int_equal(mockapi_counter_get(a.m, MOCKAPI_STATE_COUNT), 0);
    assert_int_equal(mockapi_last_request(a.m, "register", &j, &n), 0);
    assert_bytes("{\"token\":\"a\"}", 13, j, n);
    mockapi_free_buf(j);
    mt_get(NULL, a.base, "/v1/nodes/n/state", &r);
    assert_bytes("{\"peers\":null,\"policies\":null,\"data\":null,\"secret_refs\":null}\n", 62, r.body, r.len);
    mt_response_free(&r);
    mt_send(NULL, a.base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    assert_bytes("{\"reconcile\":false,\"rotate_keys\":true}\n", 39, r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mockapi_counter_get(b.m, MOCKAPI_REGISTRATION_COUNT), 1);
    assert_int_equal(mockapi_counter_get(b.m, MOCKAPI_HEARTBEAT_COUNT), 1);

    /* stopping one leaves the other serving */
    mt_server_free(&a);
    mt_get(NULL, b.base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    mt_server_free(&b);
}

/* ---- TLS CA ---------------------------------------------------------------- */

static void api_tls_ca_verified(void **state)
{
    mockapi_config cfg;
    mt_server s, plain;
    mt_request rq;
    mt_response r;
    const char *pem;
    (void)state;

    assert_int_equal(mt_server_start(&plain, NULL), 0);
    assert_null(mockapi_tls_ca_pem(plain.m));
    mt_server_free(&plain);

    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    pem = mockapi_tls_ca_pem(s.m);
    assert_non_null(pem);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
    assert_true(strncmp(s.tls_base, "https://", 8) == 0);

    /* a verifying client that trusts the CA gets through */
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = "/test/assertions";
    rq.ca_pem = pem;
    mt_perform(NULL, s.tls_base, &rq, &r);
    if (r.status != 200)
        print_error("verified TLS to %s: %s (%s)\n", s.tls_base, curl_easy_strerror(r.rc), r.error);
    assert_int_equal(r.status, 200);
    assert_golden("assertions_zero", s.key, r.body, r.len);
    mt_response_free(&r);

    /* one that does not trust it is refused */
    rq.ca_pem = NULL;
    mt_perform(NULL, s.tls_base, &rq, &r);
    assert_int_equal(r.status, 0);
    assert_true(r.rc != CURLE_OK);
    mt_response_free(&r);
    mt_server_free(&s);
}

/* ---- async start ------------------------------------------------------------ */

/* A port of 127.0.0.1 that is taken while the returned socket stays open. */
static int taken_port(int *fd_out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *fd_out = fd;
    return ntohs(sa.sin_port);
}

static void api_start_async(void **state)
{
    mockapi_config cfg;
    mockapi *m = NULL;
    char err[256], base[128], tls_addr[64];
    mt_response r;
    int busy_fd, busy;
    (void)state;

    /* not started yet: nothing to wait for */
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_wait_started(m, err, sizeof err), MOCKAPI_ESTATE);

    /* the plain listener serves as soon as start_async returns */
    assert_int_equal(mockapi_start_async(m, err, sizeof err), MOCKAPI_OK);
    assert_true(mockapi_port(m, MOCKAPI_LISTENER_HTTP) > 0);
    assert_true(mockapi_base_url(m, MOCKAPI_LISTENER_HTTP, base, sizeof base) > 0);
    mt_get(NULL, base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);

    /* after the wait the TLS listener is up and verifiable */
    assert_int_equal(mockapi_wait_started(m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_wait_started(m, err, sizeof err), MOCKAPI_OK); /* again: same */
    assert_true(mockapi_port(m, MOCKAPI_LISTENER_TLS) > 0);
    assert_true(mockapi_base_url(m, MOCKAPI_LISTENER_TLS, base, sizeof base) > 0);
    {
        mt_request rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = "/test/assertions"; /* a route the TLS listener has */
        rq.ca_pem = mockapi_tls_ca_pem(m);
        assert_non_null(rq.ca_pem);
        mt_perform(NULL, base, &rq, &r);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    assert_int_equal(mockapi_start_async(m, err, sizeof err), MOCKAPI_ESTATE);
    mockapi_free(m);

    /* the TLS port is taken: start_async itself says so (every listener is
     * bound before it returns), naming the address and errno's text, and
     * nothing keeps running */
    busy = taken_port(&busy_fd);
    snprintf(tls_addr, sizeof tls_addr, "127.0.0.1:%d", busy);
    mt_config_init(&cfg);
    cfg.tls_addr = tls_addr;
    m = NULL;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    err[0] = '\0';
    assert_int_equal(mockapi_start_async(m, err, sizeof err), MOCKAPI_ELISTEN);
    print_message("TLS port taken: %s\n", err);
    assert_non_null(strstr(err, tls_addr));
    assert_non_null(strstr(err, "TLS listener"));
    assert_non_null(strstr(err, "Address already in use"));
    assert_int_equal(mockapi_port(m, MOCKAPI_LISTENER_TLS), 0);
    assert_int_equal(mockapi_port(m, MOCKAPI_LISTENER_HTTP), 0);
    assert_int_equal(mockapi_wait_started(m, err, sizeof err), MOCKAPI_ESTATE);
    mockapi_free(m);

    /* the same with the blocking start: an error, and nothing keeps running */
    m = NULL;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_start(m, err, sizeof err), MOCKAPI_ELISTEN);
    assert_int_equal(mockapi_port(m, MOCKAPI_LISTENER_HTTP), 0);
    mockapi_free(m);
    close(busy_fd);
}

/* ---- workers on demand ------------------------------------------------------ */

/* Two workers start with the server; each waiting /test/wait holds one. The
 * waits are sent first, so with no new workers they would fill the two and
 * queue the rest ahead of the pings, which would then wait the full 10 s: the
 * pings get through quickly only because the spawner starts workers as the
 * running ones fill up. */
static void api_workers_on_demand(void **state)
{
    enum { N = 12 };
    static const char req[] = "GET /test/wait?counter=heartbeat_count&op=gte&value=1&timeout_ms=10000 "
                              "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    mt_server s;
    int fd[N];
    mt_response r;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    for (int i = 0; i < N; i++) {
        fd[i] = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
        assert_true(fd[i] >= 0);
        assert_int_equal(mt_send_all(fd[i], req, sizeof req - 1), 0);
    }
    int64_t t0 = mt_now_ms();
    for (int i = 0; i < 20; i++) {
        mt_get(NULL, s.base, "/v1/ping", &r); /* a new connection each: a worker each */
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    int64_t pings_ms = mt_now_ms() - t0;
    print_message("%d waits held: 20 pings on new connections took %lld ms\n", N, (long long)pings_ms);
    assert_true(pings_ms < 8000); /* not the waits' 10 s */
    mt_send(NULL, s.base, "POST", "/v1/nodes/n1/heartbeat", "{}", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    for (int i = 0; i < N; i++) {
        unsigned char *got = NULL;
        size_t n = 0;
        assert_int_equal(mt_read_until_close(fd[i], mt_now_ms() + 10000, &got, &n), 1);
        close(fd[i]);
        if (!got || strncmp((char *)got, "HTTP/1.1 200", 12) != 0 || !strstr((char *)got, "\"met\":true"))
            fail_msg("wait %d answered: %s", i, got ? (char *)got : "(nothing)");
        free(got);
    }
    mt_server_free(&s);
}

/* The threads in this process (entries of /proc/self/task). */
static int task_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* -threads N caps the event-loop threads (README: "at most N"): an
 * instance with threads = 1 adds exactly two threads, its one loop thread
 * and the event-stream hub; every connection is served by them. */
static void api_threads_cap(void **state)
{
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    (void)state;
    mt_config_init(&cfg);
    cfg.threads = 1;
    int before = task_count();
    assert_true(before > 0);
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    int during = task_count();
    for (int i = 0; i < 5; i++) { /* new connections, all served */
        mt_get(NULL, s.base, "/v1/ping", &r);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    mt_server_free(&s);
    if (during - before != 2)
        fail_msg("threads = 1: the instance added %d threads, want 2 (one loop, one hub)",
                 during - before);
}

/* A /test/wait that would wait 20 s does not hold up stop: the README
 * promises tens of milliseconds. */
static void api_stop_during_wait(void **state)
{
    static const char req[] = "GET /test/wait?counter=heartbeat_count&op=gte&value=1&timeout_ms=20000 "
                              "HTTP/1.1\r\nHost: x\r\n\r\n";
    mt_server s;
    mt_response r;
    int fd;
    (void)state;

    mt_timing_test();
    assert_int_equal(mt_server_start(&s, NULL), 0);
    fd = mt_connect(mockapi_port(s.m, MOCKAPI_LISTENER_HTTP));
    assert_true(fd >= 0);
    assert_int_equal(mt_send_all(fd, req, sizeof req - 1), 0);
    /* the wait's connection was accepted, and its socket queued for a worker,
     * before the ping's: once the ping is answered, the wait is being served */
    mt_get(NULL, s.base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    int64_t t0 = mt_now_ms();
    mockapi_stop(s.m);
    int64_t took = mt_now_ms() - t0;
    print_message("stop with a 20 s /test/wait open: %lld ms\n", (long long)took);
    assert_true(took < 1000);
    close(fd);
    /* the instance starts again and its waits work */
    char err[256];
    assert_int_equal(mockapi_start(s.m, err, sizeof err), MOCKAPI_OK);
    int64_t v = 0;
    assert_int_equal(mockapi_wait(s.m, "counter=heartbeat_count&op=eq&value=0", 100, &v), MOCKAPI_OK);
    mt_server_free(&s);
}

/* The byte bound holds however many entries one large request pushes out
 * (evictions were once capped at 64 per request). */
static void api_journal_byte_bound(void **state)
{
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    CURL *h = curl_easy_init();
    char *big;
    (void)state;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.journal_max_bytes = 100000;
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    for (int i = 0; i < 400; i++) {
        mt_get(h, s.base, "/v1/ping", &r);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    big = malloc(90001);
    assert_non_null(big);
    memset(big, 'x', 90000);
    big[0] = '"';
    big[89999] = '"';
    big[90000] = '\0';
    mt_send(h, s.base, "POST", "/v1/register", big, &r);
    mt_response_free(&r);
    free(big);
    mt_get(h, s.base, "/test/requests?limit=100000", &r);
    assert_int_equal(r.status, 200);
    int n = 0;
    for (const char *p = (const char *)r.body; (p = strstr(p, "{\"seq\":")) != NULL; p++)
        n++;
    print_message("journal after 400 pings and one 90 KB body, 100 KB bound: %d entries\n", n);
    /* the big entry alone takes ~90 KB of the 100 KB: a few pings remain */
    assert_true(n >= 1 && n < 60);
    mt_response_free(&r);
    curl_easy_cleanup(h);
    mt_server_free(&s);
}

/* ---- the golden copies -------------------------------------------------- */

static void api_golden_copies_current(void **state)
{
    const char *shared = MOCKAPI_TOP "/../shared/spec/golden";
    DIR *d = opendir(shared);
    struct dirent *de;
    int compared = 0;
    (void)state;

    if (!d) {
        print_message("%s is absent: nothing to compare\n", shared);
        skip();
    }
    while ((de = readdir(d))) {
        char a[512], b[512];
        unsigned char *x = NULL, *y = NULL;
        size_t xn = 0, yn = 0;
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".body") != 0)
            continue;
        snprintf(a, sizeof a, "%s/%s", shared, de->d_name);
        snprintf(b, sizeof b, "%s/tests/cases/golden/%s", MOCKAPI_TOP, de->d_name);
        if (mt_read_file(a, &x, &xn) != 0 || mt_read_file(b, &y, &yn) != 0 || xn != yn ||
            memcmp(x, y, xn) != 0) {
            free(x);
            free(y);
            closedir(d);
            fail_msg("tests/cases/golden/%s is missing or differs from %s", de->d_name, a);
        }
        free(x);
        free(y);
        compared++;
    }
    closedir(d);
    assert_true(compared >= 17);
}


/* The journal's C API: mockapi_requests, mockapi_wait, mockapi_reset. */
typedef struct late_post {
    const char *base;
} late_post;

static void *post_heartbeat_later(void *arg)
{
    late_post *lp = arg;
    mt_response r;
    /* the waiter is already blocked when this runs, or not: either way the
     * wait must end as soon as the condition holds */
    mt_send(NULL, lp->base, "POST", "/v1/nodes/n/heartbeat", "{}", &r);
    mt_response_free(&r);
    return NULL;
}

static void api_journal(void **state)
{
    mt_server s;
    mt_response r;
    char *json = NULL;
    size_t len = 0;
    int64_t v = -1;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    {
        static const char *const auth[] = {"Authorization: Bearer e2e-local-bearer-token"};
        static const char body[] = "{\"hostname\":\"a\"}";
        mt_request rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "POST";
        rq.path = "/v1/register";
        rq.body = body;
        rq.body_len = sizeof body - 1;
        rq.send_body = true;
        rq.headers = auth;
        rq.nheaders = 1;
        assert_int_equal(mt_perform(NULL, s.base, &rq, &r), 0);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    assert_int_equal(mockapi_requests(s.m, "route=register", &json, &len), MOCKAPI_OK);
    assert_int_equal(strlen(json), len);
    assert_non_null(strstr(json, "\"route\":\"register\",\"counter\":\"registration_count\""));
    assert_non_null(strstr(json, "\"Authorization\",\"redacted sha256:05aefd98\""));
    assert_null(strstr(json, "e2e-local-bearer-token"));
    mockapi_free_buf(json);
    assert_int_equal(mockapi_requests(s.m, "limit=x", &json, &len), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_wait(s.m, "counter=nope", 10, &v), MOCKAPI_EINVAL);

    /* already true: at once */
    assert_int_equal(mockapi_wait(s.m, "counter=registration_count&op=eq&value=1", 1000, &v), MOCKAPI_OK);
    assert_int_equal(v, 1);
    /* never true: ETIMEDOUT after the deadline, with the last value */
    int64_t t0 = mt_now_ms();
    assert_int_equal(mockapi_wait(s.m, "counter=heartbeat_count&op=gte&value=5", 60, &v), MOCKAPI_ETIMEDOUT);
    assert_true(mt_now_ms() - t0 >= 50);
    assert_int_equal(v, 0);
    /* becomes true while waiting: woken, not polled (ends long before 10 s) */
    {
        pthread_t tid;
        late_post lp = {s.base};
        assert_int_equal(pthread_create(&tid, NULL, post_heartbeat_later, &lp), 0);
        t0 = mt_now_ms();
        assert_int_equal(mockapi_wait(s.m, "route=heartbeat&op=eq&value=1", 10000, &v), MOCKAPI_OK);
        assert_true(mt_now_ms() - t0 < 5000);
        assert_int_equal(v, 1);
        pthread_join(tid, NULL);
    }

    assert_int_equal(mockapi_reset(s.m), MOCKAPI_OK);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_REGISTRATION_COUNT), 0);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    {
        char *b = NULL;
        size_t n = 0;
        assert_int_equal(mockapi_last_request(s.m, "register", &b, &n), MOCKAPI_ENOTFOUND);
    }
    assert_int_equal(mockapi_requests(s.m, NULL, &json, &len), MOCKAPI_OK);
    assert_non_null(strstr(json, "{\"entries\":[],\"next_seq\":1,"));
    mockapi_free_buf(json);
    assert_int_equal(mockapi_reset(NULL), MOCKAPI_EINVAL);
    mt_server_free(&s);
}

int mt_run_api_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(api_counter_names),
        cmocka_unit_test(api_counters_match_wire),
        cmocka_unit_test(api_strerror),
        cmocka_unit_test(api_config_defaults),
        cmocka_unit_test(api_lifecycle),
        cmocka_unit_test(api_create_errors),
        cmocka_unit_test(api_listen_conflict),
        cmocka_unit_test(api_last_request),
        cmocka_unit_test(api_state),
        cmocka_unit_test(api_heartbeat),
        cmocka_unit_test(api_credentials),
        cmocka_unit_test(api_keys_differ),
        cmocka_unit_test(api_signing_key_file),
        cmocka_unit_test(api_fixtures_dir),
        cmocka_unit_test(api_two_instances_isolated),
        cmocka_unit_test(api_journal),
        cmocka_unit_test(api_tls_ca_verified),
        cmocka_unit_test(api_start_async),
        cmocka_unit_test(api_workers_on_demand),
        cmocka_unit_test(api_threads_cap),
        cmocka_unit_test(api_stop_during_wait),
        cmocka_unit_test(api_journal_byte_bound),
        cmocka_unit_test(api_golden_copies_current),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
