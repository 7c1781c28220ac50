/* test_concurrency.c: many clients at once. 64 threads with one keep-alive
 * curl handle each hit every counted route; afterwards every counter is
 * exactly the number of requests sent. Also: state readers never see a torn
 * state while it is being replaced, captures are never torn, and the TLS
 * local routes count exactly under concurrency. Threads are joined, never
 * slept on. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define NTHREADS 64

typedef struct route {
    const char *method;
    const char *path;
    const char *body; /* NULL: none */
    mockapi_counter counter;
    long status;
} route;

/* Every counted route of the plain listener (docs/contract.md §3), with a valid body. */
static const route routes[] = {
    {"POST", "/v1/register", "{}", MOCKAPI_REGISTRATION_COUNT, 200},
    {"POST", "/v1/nodes/n/heartbeat", "{}", MOCKAPI_HEARTBEAT_COUNT, 200},
    {"GET", "/v1/nodes/n/state", NULL, MOCKAPI_STATE_COUNT, 200},
    {"GET", "/v1/nodes/n/metadata", NULL, MOCKAPI_METADATA_COUNT, 200},
    {"POST", "/v1/nodes/n/deregister", "bye", MOCKAPI_DEREGISTER_COUNT, 204},
    {"POST", "/v1/keys/rotate", "{}", MOCKAPI_KEY_ROTATE_COUNT, 200},
    {"PUT", "/v1/nodes/n/capabilities", "{}", MOCKAPI_CAPABILITIES_COUNT, 204},
    {"PUT", "/v1/nodes/n/endpoint", "{}", MOCKAPI_ENDPOINT_COUNT, 200},
    {"POST", "/v1/nodes/n/drift", "{}", MOCKAPI_DRIFT_COUNT, 204},
    {"GET", "/v1/nodes/n/secrets/k", NULL, MOCKAPI_SECRETS_COUNT, 200},
    {"POST", "/v1/nodes/n/report", "{}", MOCKAPI_REPORT_COUNT, 204},
    {"POST", "/v1/nodes/n/executions/e/ack", "{}", MOCKAPI_EXECUTION_ACK_COUNT, 204},
    {"POST", "/v1/nodes/n/executions/e/result", "{}", MOCKAPI_EXECUTION_RESULT_COUNT, 204},
    {"POST", "/v1/nodes/n/metrics", "[]", MOCKAPI_METRICS_COUNT, 204},
    {"POST", "/v1/nodes/n/logs", "[]", MOCKAPI_LOGS_COUNT, 204},
    {"POST", "/v1/nodes/n/audit", "[]", MOCKAPI_AUDIT_COUNT, 204},
    {"GET", "/v1/artifacts/plexd/1.0.0/linux/amd64", NULL, MOCKAPI_ARTIFACT_COUNT, 200},
    {"POST", "/v1/nodes/n/tunnels/s/ready", "{}", MOCKAPI_TUNNEL_READY_COUNT, 204},
    {"POST", "/v1/nodes/n/tunnels/s/closed", "{}", MOCKAPI_TUNNEL_CLOSED_COUNT, 204},
    {"POST", "/v1/nodes/n/integrity/violations", "{}", MOCKAPI_INTEGRITY_VIOLATION_COUNT, 204},
    {"POST", "/test/inject-event", "{}", MOCKAPI_INJECT_EVENT_COUNT, 204},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static int rounds(void)
{
    const char *e = getenv("MOCKAPI_IT_ROUNDS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 3;
}

typedef struct worker {
    pthread_t tid;
    const char *base;
    int id;
    int rounds;
    int errors;
    long connects;
    char first_error[256];
} worker;

static void note_error(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(worker *w, const char *fmt, ...)
{
    va_list ap;
    if (w->errors++ == 0) {
        va_start(ap, fmt);
        vsnprintf(w->first_error, sizeof w->first_error, fmt, ap);
        va_end(ap);
    }
}

static void *counter_worker(void *arg)
{
    worker *w = arg;
    CURL *h = curl_easy_init();
    char regbody[64];

    if (!h) {
        note_error(w, "curl_easy_init");
        return NULL;
    }
    for (int r = 0; r < w->rounds; r++) {
        for (size_t i = 0; i < NROUTES; i++) {
            /* start each thread at a different route so all routes overlap */
            const route *rt = &routes[(i + (size_t)w->id) % NROUTES];
            mt_request rq;
            mt_response resp;
            long nc = 0;

            memset(&rq, 0, sizeof rq);
            rq.method = rt->method;
            rq.path = rt->path;
            if (rt->counter == MOCKAPI_REGISTRATION_COUNT) {
                snprintf(regbody, sizeof regbody, "{\"token\":\"t%02d-r%03d\"}", w->id, r);
                rq.body = regbody;
            } else {
                rq.body = rt->body;
            }
            if (rq.body) {
                rq.body_len = strlen(rq.body);
                rq.send_body = true;
            }
            mt_perform(h, w->base, &rq, &resp);
            if (resp.status != rt->status || resp.rc != CURLE_OK)
                note_error(w, "%s %s: status %ld, %s", rt->method, rt->path, resp.status,
                           curl_easy_strerror(resp.rc));
            curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc);
            w->connects += nc;
            mt_response_free(&resp);
        }
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void conc_counters_exact(void **state)
{
    mt_server s;
    worker *w = calloc(NTHREADS, sizeof *w);
    int n = rounds(), errors = 0;
    long connects = 0;
    int64_t t0, t1;
    mt_response r;
    (void)state;

    assert_non_null(w);
    assert_int_equal(mt_server_start(&s, NULL), 0);
    t0 = mt_now_ms();
    for (int i = 0; i < NTHREADS; i++) {
        w[i].base = s.base;
        w[i].id = i;
        w[i].rounds = n;
        assert_int_equal(pthread_create(&w[i].tid, NULL, counter_worker, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].tid, NULL);
        if (w[i].errors)
            print_error("thread %d: %d errors, first: %s\n", i, w[i].errors, w[i].first_error);
        errors += w[i].errors;
        connects += w[i].connects;
    }
    t1 = mt_now_ms();
    print_message("%d threads x %d rounds x %zu routes = %zu requests in %lld ms over %ld connections\n",
                  NTHREADS, n, NROUTES, (size_t)NTHREADS * (size_t)n * NROUTES,
                  (long long)(t1 - t0), connects);
    free(w);

    mt_get(NULL, s.base, "/test/assertions", &r);
    assert_int_equal(r.status, 200);
    for (size_t i = 0; i < NROUTES; i++) {
        int64_t wire = -1;
        const char *name = mockapi_counter_name(routes[i].counter);
        int64_t want = (int64_t)NTHREADS * n;
        assert_int_equal(mt_assertion_value(r.body, r.len, name, &wire), 0);
        if (wire != want || mockapi_counter_get(s.m, routes[i].counter) != want) {
            mt_response_free(&r);
            fail_msg("%s: want %lld, wire %lld, api %lld", name, (long long)want, (long long)wire,
                     (long long)mockapi_counter_get(s.m, routes[i].counter));
        }
    }
    mt_response_free(&r);
    for (int c = MOCKAPI_LOCAL_METRICS_COUNT; c <= MOCKAPI_LOCAL_AUDIT_COUNT; c++)
        assert_int_equal(mockapi_counter_get(s.m, (mockapi_counter)c), 0);

    /* the register capture is one whole body that some thread sent */
    {
        char *b = NULL;
        size_t bn = 0;
        int id = -1, rr = -1, used = 0;
        assert_int_equal(mockapi_last_request(s.m, "register", &b, &bn), 0);
        assert_int_equal(bn, strlen("{\"token\":\"t00-r000\"}"));
        assert_int_equal(sscanf(b, "{\"token\":\"t%2d-r%3d\"}%n", &id, &rr, &used), 2);
        assert_int_equal(used, (int)bn);
        assert_true(id >= 0 && id < NTHREADS && rr >= 0 && rr < n);
        mockapi_free_buf(b);
    }
    mt_server_free(&s);
    assert_int_equal(errors, 0);
    /* keep-alive: each thread should need one connection; allow a little slack */
    assert_true(connects <= 2 * NTHREADS);
}

/* ---- state replaced while being read ------------------------------------ */

typedef struct reader {
    pthread_t tid;
    const char *base;
    const unsigned char *v[3];
    size_t vn[3];
    atomic_int *stop;
    atomic_int *started;
    long reads;
    int errors;
    char first_error[700];
} reader;

static void *state_reader(void *arg)
{
    reader *rd = arg;
    CURL *h = curl_easy_init();
    bool counted = false;

    while (h && !atomic_load(rd->stop)) {
        mt_response r;
        bool ok = false;
        mt_get(h, rd->base, "/v1/nodes/n/state", &r);
        for (int i = 0; i < 3; i++)
            if (r.status == 200 && r.len == rd->vn[i] && memcmp(r.body, rd->v[i], r.len) == 0)
                ok = true;
        if (!ok && rd->errors++ == 0) {
            char *g = mt_show(r.body, r.len);
            snprintf(rd->first_error, sizeof rd->first_error, "status %ld body %s", r.status,
                     g ? g : "?");
            free(g);
        }
        mt_response_free(&r);
        rd->reads++;
        if (!counted) {
            atomic_fetch_add(rd->started, 1);
            counted = true;
        }
    }
    if (!counted)
        atomic_fetch_add(rd->started, 1);
    curl_easy_cleanup(h);
    return NULL;
}

static void conc_state_swap(void **state)
{
    static const char a_in[] = "{\"peers\":[{\"id\":\"a\"}],\"metadata\":{\"who\":\"a\"}}";
    static const char a_out[] = "{\"peers\":[{\"id\":\"a\",\"public_key\":\"\",\"mesh_ip\":\"\","
                                "\"endpoint\":\"\",\"allowed_ips\":null,\"psk\":\"\"}],\"policies\":null,"
                                "\"metadata\":{\"who\":\"a\"},\"data\":null,\"secret_refs\":null}\n";
    static const char b_in[] = "{\"policies\":[],\"secret_refs\":[{\"key\":\"b\",\"version\":2}]}";
    static const char b_out[] = "{\"peers\":null,\"policies\":[],\"data\":null,"
                                "\"secret_refs\":[{\"key\":\"b\",\"version\":2}]}\n";
    enum { NREADERS = 8, SWAPS = 300 };
    mt_server s;
    reader rd[NREADERS];
    atomic_int stop = 0, started = 0;
    unsigned char *def = NULL;
    size_t defn = 0;
    int64_t deadline;
    long reads = 0;
    int errors = 0;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start(&s, NULL), 0);
    assert_int_equal(mt_golden("state", s.key, &def, &defn), 0);
    memset(rd, 0, sizeof rd);
    for (int i = 0; i < NREADERS; i++) {
        rd[i].base = s.base;
        rd[i].v[0] = def;
        rd[i].vn[0] = defn;
        rd[i].v[1] = (const unsigned char *)a_out;
        rd[i].vn[1] = strlen(a_out);
        rd[i].v[2] = (const unsigned char *)b_out;
        rd[i].vn[2] = strlen(b_out);
        rd[i].stop = &stop;
        rd[i].started = &started;
        assert_int_equal(pthread_create(&rd[i].tid, NULL, state_reader, &rd[i]), 0);
    }
    /* wait (with a deadline) until every reader is in its loop */
    deadline = mt_now_ms() + 10000;
    while (atomic_load(&started) < NREADERS && mt_now_ms() < deadline)
        sched_yield();
    for (int i = 0; i < SWAPS; i++) {
        const char *in = (i % 2) ? b_in : a_in;
        if (i % 3 == 0) {
            mt_response r;
            mt_send(h, s.base, "PUT", "/test/state", in, &r);
            if (r.status != 204)
                errors++;
            mt_response_free(&r);
        } else if (mockapi_set_state(s.m, in, strlen(in), NULL, 0) != 0) {
            errors++;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NREADERS; i++) {
        pthread_join(rd[i].tid, NULL);
        if (rd[i].errors)
            print_error("reader %d: %d bad reads, first: %s\n", i, rd[i].errors, rd[i].first_error);
        errors += rd[i].errors;
        reads += rd[i].reads;
    }
    print_message("%d state swaps against %ld concurrent reads\n", SWAPS, reads);
    free(def);
    curl_easy_cleanup(h);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_STATE_COUNT), reads);
    mt_server_free(&s);
    assert_int_equal(errors, 0);
    assert_true(reads >= NREADERS);
}

/* ---- captures are never torn -------------------------------------------- */

typedef struct poster {
    pthread_t tid;
    const char *base;
    int id;
    int n;
    int errors;
    atomic_int *done;
} poster;

#define PAD 2000

static void *capture_poster(void *arg)
{
    poster *p = arg;
    CURL *h = curl_easy_init();
    char *body = malloc(PAD + 64);

    if (!h || !body) {
        p->errors++;
        goto out;
    }
    for (int i = 0; i < p->n; i++) {
        mt_response r;
        /* every byte of the pad is the thread's letter: a mix is visible */
        int o = snprintf(body, 64, "{\"node_id\":\"%c\",\"status\":\"", 'A' + p->id);
        memset(body + o, 'A' + p->id, PAD);
        strcpy(body + o + PAD, "\"}");
        mt_send(h, p->base, "POST", "/v1/nodes/n/heartbeat", body, &r);
        if (r.status != 200)
            p->errors++;
        mt_response_free(&r);
    }
out:
    free(body);
    curl_easy_cleanup(h);
    atomic_fetch_add(p->done, 1);
    return NULL;
}

static bool capture_whole(const char *b, size_t n)
{
    const size_t head = strlen("{\"node_id\":\"A\",\"status\":\"");
    char c;
    if (n != head + PAD + 2 || strncmp(b, "{\"node_id\":\"", 12) != 0)
        return false;
    c = b[12];
    for (size_t i = head; i < head + PAD; i++)
        if (b[i] != c)
            return false;
    return strcmp(b + head + PAD, "\"}") == 0;
}

static void conc_captures_whole(void **state)
{
    enum { NPOSTERS = 16, PER = 40 };
    mt_server s;
    poster p[NPOSTERS];
    int errors = 0, torn = 0;
    long checks = 0;
    atomic_int done = 0;
    int64_t deadline = mt_now_ms() + 60000;
    (void)state;

    assert_int_equal(mt_server_start(&s, NULL), 0);
    memset(p, 0, sizeof p);
    for (int i = 0; i < NPOSTERS; i++) {
        p[i].done = &done;
        p[i].base = s.base;
        p[i].id = i;
        p[i].n = PER;
        assert_int_equal(pthread_create(&p[i].tid, NULL, capture_poster, &p[i]), 0);
    }
    /* read the capture (C and HTTP) while the posters run */
    while (mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT) < NPOSTERS * PER) {
        char *b = NULL;
        size_t n = 0;
        int rc = mockapi_last_request(s.m, "heartbeat", &b, &n);
        if (rc == 0) {
            checks++;
            if (!capture_whole(b, n))
                torn++;
        } else if (rc != MOCKAPI_ENOTFOUND) {
            torn++;
        }
        mockapi_free_buf(b);
        if (checks % 16 == 0) {
            mt_response r;
            mt_get(NULL, s.base, "/test/last-request/heartbeat", &r);
            if (r.status == 200 && !capture_whole((char *)r.body, r.len))
                torn++;
            mt_response_free(&r);
        }
        /* posters that failed never reach the total: stop when all are done */
        if (atomic_load(&done) == NPOSTERS || mt_now_ms() > deadline)
            break;
    }
    for (int i = 0; i < NPOSTERS; i++) {
        pthread_join(p[i].tid, NULL);
        errors += p[i].errors;
    }
    print_message("%ld capture reads while %d threads posted\n", checks, NPOSTERS);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), NPOSTERS * PER);
    mt_server_free(&s);
    assert_int_equal(errors, 0);
    assert_int_equal(torn, 0);
}

/* ---- TLS local routes ---------------------------------------------------- */

typedef struct tls_worker {
    pthread_t tid;
    const char *base;
    int n;
    int errors;
    char first_error[320];
} tls_worker;

static void *tls_local_worker(void *arg)
{
    static const char *const paths[] = {"/local/metrics", "/local/logs", "/local/audit"};
    static const char *const auth[] = {"Authorization: Bearer e2e-local-bearer-token"};
    static const char *const bad[] = {"Authorization: bearer e2e-local-bearer-token"};
    tls_worker *w = arg;
    CURL *h = curl_easy_init();

    for (int r = 0; h && r < w->n; r++) {
        for (int i = 0; i < 3; i++) {
            mt_request rq;
            mt_response resp;
            memset(&rq, 0, sizeof rq);
            rq.method = "POST";
            rq.path = paths[i];
            rq.headers = auth;
            rq.nheaders = 1;
            rq.body = "{\"x\":1}";
            rq.body_len = 7;
            rq.send_body = true;
            rq.insecure = true;
            mt_perform(h, w->base, &rq, &resp);
            if (resp.status != 204 && w->errors++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s: %ld %.200s", paths[i],
                         resp.status, resp.error);
            mt_response_free(&resp);
            /* a wrong scheme case: 401, not counted */
            rq.headers = bad;
            mt_perform(h, w->base, &rq, &resp);
            if (resp.status != 401 && w->errors++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s without auth: %ld %.200s",
                         paths[i], resp.status, resp.error);
            mt_response_free(&resp);
        }
    }
    if (!h)
        w->errors++;
    curl_easy_cleanup(h);
    return NULL;
}

static void conc_tls_local_exact(void **state)
{
    mt_timing_test(); /* 16 TLS handshakes at once: too slow to bound under valgrind */
    enum { NT = 16 };
    mockapi_config cfg;
    mt_server s;
    tls_worker w[NT];
    int errors = 0, n = rounds();
    (void)state;

    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start(&s, &cfg), 0);
    assert_true(s.tls_base[0] != '\0');
    assert_true(mockapi_port(s.m, MOCKAPI_LISTENER_TLS) > 0);
    memset(w, 0, sizeof w);
    for (int i = 0; i < NT; i++) {
        w[i].base = s.tls_base;
        w[i].n = n;
        assert_int_equal(pthread_create(&w[i].tid, NULL, tls_local_worker, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(w[i].tid, NULL);
        if (w[i].errors)
            print_error("tls thread %d: %d errors, first: %s\n", i, w[i].errors, w[i].first_error);
        errors += w[i].errors;
    }
    assert_int_equal(errors, 0);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_LOCAL_METRICS_COUNT), NT * n);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_LOCAL_LOGS_COUNT), NT * n);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_LOCAL_AUDIT_COUNT), NT * n);
    {
        /* the same counters and captures over both listeners */
        mt_request rq;
        mt_response r;
        int64_t v = -1;
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = "/test/assertions";
        rq.insecure = true;
        mt_perform(NULL, s.tls_base, &rq, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(mt_assertion_value(r.body, r.len, "local_logs_count", &v), 0);
        assert_int_equal(v, NT * n);
        mt_response_free(&r);
        rq.path = "/test/last-request/local_audit";
        mt_perform(NULL, s.tls_base, &rq, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.len, 7);
        assert_memory_equal(r.body, "{\"x\":1}", 7);
        mt_response_free(&r);
        mt_get(NULL, s.base, "/test/last-request/local_metrics", &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.len, 7);
        mt_response_free(&r);
    }
    mt_server_free(&s);
}

int mt_run_concurrency_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conc_counters_exact),
        cmocka_unit_test(conc_state_swap),
        cmocka_unit_test(conc_captures_whole),
        cmocka_unit_test(conc_tls_local_exact),
    };
    return cmocka_run_group_tests_name("concurrency", tests, NULL, NULL);
}
