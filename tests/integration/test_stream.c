/* test_stream.c: event streams, signatures, TLS and the credential chain,
 * seen by real clients (docs/contract.md §5, 6, 7, 8, 13.4).
 *
 *  - Streams are read with sse_client (a raw socket, parsed as bytes
 *    arrive); injections go through libcurl; the server's /test/sse and
 *    /test/sse/wait views are checked against what clients received.
 *  - Signatures are verified with libsodium directly, over canonical bytes
 *    rebuilt from the received data line, with the key from /v1/register;
 *    the expected Go encoding of each field is spelled out by hand.
 *  - TLS is verified by libcurl (OpenSSL) against the throwaway CA, and the
 *    leaf is parsed with mbedTLS (SANs walked in the raw DER).
 *  - The secret is decrypted by the library and, independently, by mbedTLS
 *    GCM in the test.
 *
 * Nothing sleeps to synchronise: tests wait on a condition (server-side
 * /test/sse/wait, or /test/sse polled) with a deadline. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/ecp.h>
#include <mbedtls/gcm.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <sodium.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "harness.h"
#include "sse_client.h"

#define BEARER "e2e-local-bearer-token"
#define WAIT_MS 5000 /* deadline for things that take microseconds */

/* ---- small helpers -------------------------------------------------------- */

/* Instances are started with mt_server_start_tracked (harness.h), so a
 * failed test's teardown still stops them. */



static int teardown_servers(void **state)
{
    (void)state;
    mt_server_free_tracked_all();
    return 0;
}

static int http_port(const mt_server *s)
{
    return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP);
}

/* A pause between polls of a condition (never a synchronisation by itself). */
static void poll_pause(void)
{
    poll(NULL, 0, 2);
}

/* POST /test/inject-event; asserts 204 with an empty body. */
static void inject(CURL *h, const char *base, const char *body)
{
    mt_response r;
    mt_send(h, base, "POST", "/test/inject-event", body, &r);
    if (r.status != 204 || r.len != 0) {
        char *shown = mt_show(r.body, r.len);
        fail_msg("inject-event: status %ld (%s), body %s", r.status, curl_easy_strerror(r.rc),
                 shown ? shown : "?");
    }
    mt_response_free(&r);
}

/* An envelope with event_id id and an object payload {"seq":n}. */
static void inject_id(CURL *h, const char *base, const char *id, int n)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"event_type\":\"test_event\",\"event_id\":\"%s\",\"nonce\":\"nonce-%s-%d\","
             "\"payload\":{\"seq\":%d}}",
             id, id, n, n);
    inject(h, base, body);
}

static json_t *sse_status(CURL *h, const char *base)
{
    mt_response r;
    json_t *j;
    mt_get(h, base, "/test/sse", &r);
    if (r.status != 200)
        fail_msg("GET /test/sse: status %ld (%s)", r.status, curl_easy_strerror(r.rc));
    assert_non_null(mt_header_get(&r, "Content-Type"));
    assert_string_equal(mt_header_get(&r, "Content-Type"), "application/json");
    j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    assert_true(json_is_object(j));
    assert_true(json_is_array(json_object_get(j, "clients")));
    return j;
}

/* Server-side wait for n connected streams (GET /test/sse/wait). */
static void wait_clients(CURL *h, const char *base, int n)
{
    char path[96];
    mt_response r;
    json_t *j;
    snprintf(path, sizeof path, "/test/sse/wait?clients=%d&timeout_ms=%d", n, WAIT_MS);
    mt_get(h, base, path, &r);
    if (r.status != 200) {
        char *shown = mt_show(r.body, r.len);
        fail_msg("%s: status %ld, body %s", path, r.status, shown ? shown : "?");
    }
    j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    assert_true(json_is_true(json_object_get(j, "reached")));
    assert_int_equal(mt_jint(j, "wanted"), n);
    assert_true(mt_jint(j, "connected") >= n);
    json_decref(j);
}

typedef bool (*status_pred)(const json_t *st, const void *arg);

/* Polls /test/sse until pred holds; fails with the last view at the deadline.
 * Returns the view that satisfied it (json_decref it). */
static json_t *wait_status(CURL *h, const char *base, status_pred pred, const void *arg,
                           const char *what)
{
    int64_t deadline = mt_now_ms() + WAIT_MS;
    for (;;) {
        json_t *st = sse_status(h, base);
        if (pred(st, arg))
            return st;
        if (mt_now_ms() > deadline) {
            char *d = json_dumps(st, JSON_COMPACT);
            fail_msg("timed out waiting for %s; /test/sse: %s", what, d ? d : "?");
        }
        json_decref(st);
        poll_pause();
    }
}

static bool pred_connected(const json_t *st, const void *arg)
{
    return mt_jint(st, "connected") == *(const int *)arg;
}

static void wait_connected(CURL *h, const char *base, int n)
{
    json_decref(wait_status(h, base, pred_connected, &n, "a connected count"));
}

/* "127.0.0.1:<local port>": how the server labels this client's peer. */
static void local_peer(int fd, char *out, size_t n)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(out, n, "127.0.0.1:%d", ntohs(sa.sin_port));
}

static json_t *find_client(const json_t *st, const char *peer)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "clients"), i, c)
    {
        json_t *p = json_object_get(c, "peer");
        if (json_is_string(p) && strcmp(json_string_value(p), peer) == 0)
            return c;
    }
    return NULL;
}

/* Opens a stream on path and reads its initial event (returned in *ev). */
static void open_stream(sse_client *c, int port, const char *path, const char *const *hdrs,
                        size_t nh, sse_event *ev)
{
    sse_event own;
    sse_event *e = ev ? ev : &own; /* NULL: check the initial event, then drop it */
    int st = sse_open(c, port, path, hdrs, nh, mt_now_ms() + WAIT_MS);
    if (st != 200)
        fail_msg("GET %s: status %d, head %s", path, st, c->head ? c->head : "(none)");
    if (sse_next(c, e, mt_now_ms() + WAIT_MS) != 1)
        fail_msg("GET %s: no initial event (eof=%d)", path, (int)c->eof);
    assert_non_null(e->event);
    assert_string_equal(e->event, "node_state_updated");
    if (!ev)
        sse_event_free(&own);
}

/* The next frame, or a failure naming what was expected. ev NULL: checked,
 * then dropped. */
static void next_event(sse_client *c, sse_event *ev, const char *want_id)
{
    sse_event own;
    sse_event *e = ev ? ev : &own;
    int r = sse_next(c, e, mt_now_ms() + WAIT_MS);
    if (r != 1)
        fail_msg("waiting for event %s: %s", want_id ? want_id : "(any)",
                 r == 0 ? "deadline passed" : "stream ended");
    if (want_id) {
        if (!e->id || strcmp(e->id, want_id) != 0)
            fail_msg("expected event id %s, got %s (frame %s)", want_id, e->id ? e->id : "(none)",
                     e->raw ? e->raw : "");
    }
    if (!ev)
        sse_event_free(&own);
}

/* ---- signature and timestamp checks ---------------------------------------- */

/* RFC 3339 in UTC as Go's RFC3339Nano prints it: Z, no trailing zeros in the
 * fraction; within 5 s of now. */
static void check_issued_at(const char *s)
{
    size_t n = strlen(s), i = 19;
    struct tm tm;
    time_t t, now = time(NULL);
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";

    if (n < 20)
        fail_msg("issued_at %s: too short", s);
    for (size_t k = 0; k < 19; k++) {
        bool ok = shape[k] == 'd' ? (s[k] >= '0' && s[k] <= '9') : s[k] == shape[k];
        if (!ok)
            fail_msg("issued_at %s: not RFC 3339", s);
    }
    if (s[i] == '.') {
        size_t d = 0;
        i++;
        while (s[i] >= '0' && s[i] <= '9') {
            i++;
            d++;
        }
        if (d == 0 || d > 9 || s[i - 1] == '0')
            fail_msg("issued_at %s: fraction must be 1-9 digits without trailing zeros", s);
    }
    if (strcmp(s + i, "Z") != 0)
        fail_msg("issued_at %s: must end in Z (UTC)", s);
    memset(&tm, 0, sizeof tm);
    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
           &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    if (t < now - 5 || t > now + 5)
        fail_msg("issued_at %s is %lld s away from now", s, (long long)(t - now));
}

/* The signing key as POST /v1/register hands it out. */
static void register_key(CURL *h, const char *base, unsigned char pk[32])
{
    mt_response r;
    json_t *j;
    const char *k;
    size_t len = 0;
    mt_send(h, base, "POST", "/v1/register", "{}", &r);
    assert_int_equal(r.status, 200);
    j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    k = mt_jstr(j, "signing_public_key");
    assert_int_equal(strlen(k), 44);
    assert_int_equal(sodium_base642bin(pk, 32, k, strlen(k), NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(len, 32);
    json_decref(j);
}

/* Verifies a data line: a JSON object with exactly event_type, event_id,
 * issued_at, nonce, payload, signature in that order; signature = Ed25519
 * over the data with its trailing ,"signature":"..." removed and "}"
 * appended. Returns the parsed envelope. */
static json_t *verify_event(const unsigned char pk[32], const char *data)
{
    static const char *const keys[] = {"event_type", "event_id", "issued_at",
                                       "nonce",      "payload",  "signature"};
    static const char marker[] = ",\"signature\":\"";
    size_t n = strlen(data), k = 0, siglen = 0;
    json_t *j = mt_parse_json(data, n), *v;
    const char *key, *sig, *cut = NULL;
    unsigned char raw[64];
    char *canon;

    assert_true(json_is_object(j));
    json_object_foreach(j, key, v)
    {
        if (k >= 6 || strcmp(key, keys[k]) != 0)
            fail_msg("envelope field %zu is \"%s\", want \"%s\": %s", k, key, k < 6 ? keys[k] : "-",
                     data);
        if (k != 4 && !json_is_string(v))
            fail_msg("envelope field %s is not a string", key);
        k++;
    }
    assert_int_equal(k, 6);
    sig = mt_jstr(j, "signature");
    for (const char *p = strstr(data, marker); p; p = strstr(p + 1, marker))
        cut = p;
    assert_non_null(cut);
    assert_true(n >= 2 && data[n - 2] == '"' && data[n - 1] == '}');
    /* the text between the marker and "} is the signature, as parsed */
    assert_int_equal(strlen(sig), 88);
    assert_int_equal((size_t)(data + n - 2 - (cut + sizeof marker - 1)), 88);
    assert_memory_equal(cut + sizeof marker - 1, sig, 88);
    assert_int_equal(sodium_base642bin(raw, sizeof raw, sig, 88, NULL, &siglen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(siglen, 64);
    canon = malloc((size_t)(cut - data) + 2);
    assert_non_null(canon);
    memcpy(canon, data, (size_t)(cut - data));
    canon[cut - data] = '}';
    canon[cut - data + 1] = '\0';
    if (crypto_sign_verify_detached(raw, (const unsigned char *)canon, strlen(canon), pk) != 0)
        fail_msg("signature does not verify over %s", canon);
    /* control: one flipped bit must not verify */
    canon[2] ^= 1;
    assert_int_not_equal(
        crypto_sign_verify_detached(raw, (const unsigned char *)canon, strlen(canon), pk), 0);
    free(canon);
    check_issued_at(mt_jstr(j, "issued_at"));
    return j;
}

/* The data line must be exactly Go's encoding of the envelope: the given
 * JSON texts for type, id, nonce and payload, issued_at as received. */
static void expect_canonical(const char *data, const json_t *env, const char *type_j,
                             const char *id_j, const char *nonce_j, const char *payload_j)
{
    size_t cap = strlen(type_j) + strlen(id_j) + strlen(nonce_j) + strlen(payload_j) + 256;
    char *want = malloc(cap);
    assert_non_null(want);
    snprintf(want, cap,
             "{\"event_type\":%s,\"event_id\":%s,\"issued_at\":\"%s\",\"nonce\":%s,\"payload\":%s,"
             "\"signature\":\"",
             type_j, id_j, mt_jstr(env, "issued_at"), nonce_j, payload_j);
    if (strncmp(data, want, strlen(want)) != 0)
        fail_msg("data line\n  got  %s\n  want %s...", data, want);
    free(want);
}

/* The frame is exactly id, event, one data line, blank line. */
static void expect_frame(const sse_event *ev, const char *id, const char *type)
{
    size_t cap;
    char *want;
    assert_non_null(ev->id);
    assert_non_null(ev->event);
    assert_non_null(ev->data);
    assert_int_equal(ev->ndata, 1);
    assert_string_equal(ev->id, id);
    assert_string_equal(ev->event, type);
    cap = strlen(id) + strlen(type) + strlen(ev->data) + 32;
    want = malloc(cap);
    assert_non_null(want);
    snprintf(want, cap, "id: %s\nevent: %s\ndata: %s\n\n", id, type, ev->data);
    assert_int_equal(ev->raw_len, strlen(want));
    assert_memory_equal(ev->raw, want, ev->raw_len);
    free(want);
}

/* ---- 1. head and initial event -------------------------------------------- */

static void sse_head_and_initial_event(void **state)
{
    mt_server s;
    sse_client a, b;
    sse_event ea, eb;
    unsigned char pk[32];
    json_t *ja, *jb;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    register_key(h, s.base, pk);

    open_stream(&a, http_port(&s), "/v1/nodes/node-1/events", NULL, 0, &ea);
    /* the head, exactly: status line, the three fields in order, Date, no
     * length or chunking (the body is close-delimited) */
    assert_true(strncmp(a.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_int_equal(a.nheaders, 4);
    assert_string_equal(a.headers[0].name, "Content-Type");
    assert_string_equal(a.headers[0].value, "text/event-stream");
    assert_string_equal(a.headers[1].name, "Cache-Control");
    assert_string_equal(a.headers[1].value, "no-cache");
    assert_string_equal(a.headers[2].name, "Connection");
    assert_string_equal(a.headers[2].value, "keep-alive");
    assert_string_equal(a.headers[3].name, "Date");
    assert_true(strlen(a.headers[3].value) == 29 &&
                strcmp(a.headers[3].value + 25, " GMT") == 0);
    assert_null(sse_header(&a, "Content-Length"));
    assert_null(sse_header(&a, "Transfer-Encoding"));

    expect_frame(&ea, "evt-mock-001", "node_state_updated");
    ja = verify_event(pk, ea.data);
    assert_string_equal(mt_jstr(ja, "event_type"), "node_state_updated");
    assert_string_equal(mt_jstr(ja, "event_id"), "evt-mock-001");
    assert_true(strncmp(mt_jstr(ja, "nonce"), "mock-nonce-", 11) == 0);
    assert_true(strlen(mt_jstr(ja, "nonce")) > 11);
    assert_true(strspn(mt_jstr(ja, "nonce") + 11, "0123456789") == strlen(mt_jstr(ja, "nonce")) - 11);
    {
        char *nonce_j = json_dumps(json_object_get(ja, "nonce"), JSON_ENCODE_ANY);
        assert_non_null(nonce_j);
        expect_canonical(ea.data, ja, "\"node_state_updated\"", "\"evt-mock-001\"", nonce_j,
                         "{\"node_id\":\"node-1\"}");
        free(nonce_j);
    }

    /* the second stream of the instance: evt-mock-002, its own nonce */
    open_stream(&b, http_port(&s), "/v1/nodes/node-2/events", NULL, 0, &eb);
    expect_frame(&eb, "evt-mock-002", "node_state_updated");
    jb = verify_event(pk, eb.data);
    assert_string_equal(mt_jstr(jb, "event_id"), "evt-mock-002");
    assert_string_equal(mt_jstr(json_object_get(jb, "payload"), "node_id"), "node-2");
    assert_string_not_equal(mt_jstr(ja, "nonce"), mt_jstr(jb, "nonce"));
    /* nothing else was sent yet (keep-alive is 15 s) */
    assert_int_equal(sse_pending(&a), 0);
    assert_int_equal(a.comments + b.comments + a.blank_lines + b.blank_lines, 0);

    json_decref(ja);
    json_decref(jb);
    sse_event_free(&ea);
    sse_event_free(&eb);
    sse_close(&a);
    sse_close(&b);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* The initial ids number the streams of an instance: a HEAD and injected
 * events in between do not use up a number. */
static void sse_initial_ids_count_streams(void **state)
{
    mt_server s;
    sse_client a, b;
    sse_event ev;
    mt_request rq;
    mt_response r;
    char first[64], second[64];
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    memset(&rq, 0, sizeof rq);
    rq.method = "HEAD";
    rq.path = "/v1/nodes/n/events";
    mt_perform(h, s.base, &rq, &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);
    open_stream(&a, http_port(&s), "/v1/nodes/n/events", NULL, 0, &ev);
    snprintf(first, sizeof first, "%s", ev.id);
    sse_event_free(&ev);
    inject_id(h, s.base, "", 1);
    inject_id(h, s.base, "x", 2);
    open_stream(&b, http_port(&s), "/v1/nodes/n/events", NULL, 0, &ev);
    snprintf(second, sizeof second, "%s", ev.id);
    sse_event_free(&ev);
    if (strcmp(first, "evt-mock-001") != 0 || strcmp(second, "evt-mock-002") != 0)
        fail_msg("initial ids: first stream (after a HEAD) %s, second (after two injects) %s; "
                 "want evt-mock-001, evt-mock-002",
                 first, second);
    sse_close(&a);
    sse_close(&b);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* Node ids with control bytes, quotes, backslashes, newlines, HTML and
 * invalid UTF-8 give valid JSON in Go's encoding, and never hurt the server. */
static void sse_node_id_escaping(void **state)
{
    static const struct {
        const char *path;
        const char *want_payload; /* Go's json.Marshal of {"node_id": <decoded id>} */
        const char *decoded;      /* NULL: not checked (invalid UTF-8) */
    } cases[] = {
        {"/v1/nodes/a%01b%22c/events", "{\"node_id\":\"a\\u0001b\\\"c\"}", "a\x01" "b\"c"},
        {"/v1/nodes/%5C%0A%0D%09%1F%7F/events", "{\"node_id\":\"\\\\\\n\\r\\t\\u001f\x7f\"}",
         "\\\n\r\t\x1f\x7f"},
        {"/v1/nodes/%3Cscript%3E%26/events", "{\"node_id\":\"\\u003cscript\\u003e\\u0026\"}",
         "<script>&"},
        {"/v1/nodes/%C3%A9%E2%80%A8/events", "{\"node_id\":\"\xc3\xa9\\u2028\"}", "\xc3\xa9\xe2\x80\xa8"},
        {"/v1/nodes/x%FFy/events", "{\"node_id\":\"x\\ufffdy\"}", NULL},
    };
    mt_server s;
    unsigned char pk[32];
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    register_key(h, s.base, pk);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sse_client c;
        sse_event ev;
        json_t *j;
        open_stream(&c, http_port(&s), cases[i].path, NULL, 0, &ev);
        assert_int_equal(ev.ndata, 1); /* a raw newline would have split it */
        j = verify_event(pk, ev.data);
        {
            char *id_j = json_dumps(json_object_get(j, "event_id"), JSON_ENCODE_ANY);
            char *nonce_j = json_dumps(json_object_get(j, "nonce"), JSON_ENCODE_ANY);
            assert_non_null(id_j);
            assert_non_null(nonce_j);
            expect_canonical(ev.data, j, "\"node_state_updated\"", id_j, nonce_j,
                             cases[i].want_payload);
            free(id_j);
            free(nonce_j);
        }
        if (cases[i].decoded)
            assert_string_equal(mt_jstr(json_object_get(j, "payload"), "node_id"), cases[i].decoded);
        json_decref(j);
        sse_event_free(&ev);
        sse_close(&c);
    }
    /* still serving */
    {
        mt_response r;
        mt_get(h, s.base, "/v1/ping", &r);
        assert_int_equal(r.status, 200);
        mt_response_free(&r);
    }
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* GET /test/sse stays valid JSON (UTF-8, escaped) whatever a stream's node
 * id is. Each case (the initial state) is one id: a stream on a plain id and
 * one on the case's id are open; the view must parse (jansson rejects
 * invalid UTF-8 and raw control bytes) and label both. */
typedef struct status_case {
    const char *path;
    const char *label; /* the expected node_id label; NULL: any string */
} status_case;

static const status_case status_ctl = {"/v1/nodes/q%22b%5Cc%01%1F/events", "q\"b\\c\x01\x1f"};
static const status_case status_utf8 = {"/v1/nodes/x%C3%A9%E2%80%A8y/events", "x\xc3\xa9\xe2\x80\xa8y"};
static const status_case status_bad_utf8 = {"/v1/nodes/x%FFy/events", NULL};
/* "ab" + 60 x U+00E9 = 122 bytes: longer than a fixed-size label, and a cut
 * at an odd byte count splits a character */
static const status_case status_long = {
    "/v1/nodes/ab%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9/events",
    NULL};

static void sse_status_json_node_id(void **state)
{
    const status_case *tc = *state;
    mt_server s;
    sse_client plain, odd;
    mt_response r;
    json_t *st, *cl;
    CURL *h = curl_easy_init();

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    open_stream(&plain, http_port(&s), "/v1/nodes/plain/events", NULL, 0, NULL);
    open_stream(&odd, http_port(&s), tc->path, NULL, 0, NULL);
    wait_clients(h, s.base, 2);
    mt_get(h, s.base, "/test/sse", &r);
    assert_int_equal(r.status, 200);
    st = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mt_jint(st, "connected"), 2);
    assert_int_equal(json_array_size(json_object_get(st, "clients")), 2);
    /* oldest first */
    cl = json_array_get(json_object_get(st, "clients"), 0);
    assert_string_equal(mt_jstr(cl, "node_id"), "plain");
    cl = json_array_get(json_object_get(st, "clients"), 1);
    if (tc->label)
        assert_string_equal(mt_jstr(cl, "node_id"), tc->label);
    else
        assert_non_null(mt_jstr(cl, "node_id"));
    json_decref(st);
    sse_close(&plain);
    sse_close(&odd);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 2. signatures, verified independently --------------------------------- */

static void sse_signatures_independent(void **state)
{
    static const struct {
        const char *body;
        const char *sse_id;   /* NULL: generated "evt-<n>" */
        const char *sse_type; /* the event: line */
        const char *type_j, *id_j, *nonce_j, *payload_j;
    } cases[] = {
        {"{\"event_type\":\"custom<type>&\",\"event_id\":\"sig-1\","
         "\"issued_at\":\"2001-02-03T04:05:06.700Z\",\"nonce\":\"n<1>\","
         "\"payload\":{ \"html\" : \"<&>\", \"e\":\"\\u00e9\", \"n\": 1.50, \"raw\":\"\xc3\xa9\","
         " \"arr\":[1, 2 ,{\"x\" : null}], \"neg\":-0.0e+1 },\"signature\":\"bogus\"}",
         "sig-1", "custom<type>&", "\"custom\\u003ctype\\u003e\\u0026\"", "\"sig-1\"",
         "\"n\\u003c1\\u003e\"",
         "{\"html\":\"\\u003c\\u0026\\u003e\",\"e\":\"\\u00e9\",\"n\":1.50,\"raw\":\"\xc3\xa9\","
         "\"arr\":[1,2,{\"x\":null}],\"neg\":-0.0e+1}"},
        {"{\"event_type\":\"t\",\"event_id\":\"sig-2\",\"nonce\":\"n2\","
         "\"payload\":\"a<b>\xe2\x80\xa8" "z\\n\"}",
         "sig-2", "t", "\"t\"", "\"sig-2\"", "\"n2\"", "\"a\\u003cb\\u003e\\u2028z\\n\""},
        {"{\"event_type\":\"t\",\"event_id\":\"sig-3\",\"nonce\":\"n3\",\"payload\": 1.50 }",
         "sig-3", "t", "\"t\"", "\"sig-3\"", "\"n3\"", "1.50"},
        {"{\"event_type\":\"t\",\"event_id\":\"sig-4\",\"nonce\":\"n4\"}", "sig-4", "t", "\"t\"",
         "\"sig-4\"", "\"n4\"", "null"},
        {"{\"event_type\":\"t\",\"event_id\":\"sig-5\",\"nonce\":\"n5\",\"payload\":null,"
         "\"issued_at\":\"2030-01-01T00:00:00.123456789+02:00\"}",
         "sig-5", "t", "\"t\"", "\"sig-5\"", "\"n5\"", "null"},
        {"{\"event_type\":\"t\",\"event_id\":\"\",\"nonce\":\"n6\",\"payload\":[]}", NULL, "t",
         "\"t\"", "\"\"", "\"n6\"", "[]"},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    mt_server s;
    sse_client c;
    sse_event ev;
    unsigned char pk[32];
    json_t *j;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    register_key(h, s.base, pk);
    {
        unsigned char api[32];
        size_t len = 0;
        assert_int_equal(sodium_base642bin(api, 32, s.key, strlen(s.key), NULL, &len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_memory_equal(api, pk, 32);
    }

    open_stream(&c, http_port(&s), "/v1/nodes/node-sig/events", NULL, 0, &ev);
    j = verify_event(pk, ev.data);
    json_decref(j);
    sse_event_free(&ev);
    wait_clients(h, s.base, 1);

    for (size_t i = 0; i < N; i++)
        inject(h, s.base, cases[i].body);
    for (size_t i = 0; i < N; i++) {
        const char *id = cases[i].sse_id;
        next_event(&c, &ev, id);
        if (!id) {
            assert_non_null(ev.id);
            assert_true(strncmp(ev.id, "evt-", 4) == 0 && ev.id[4] != '\0' &&
                        strspn(ev.id + 4, "0123456789") == strlen(ev.id + 4));
            id = ev.id;
        }
        expect_frame(&ev, id, cases[i].sse_type);
        j = verify_event(pk, ev.data);
        expect_canonical(ev.data, j, cases[i].type_j, cases[i].id_j, cases[i].nonce_j,
                         cases[i].payload_j);
        json_decref(j);
        sse_event_free(&ev);
    }
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_INJECT_EVENT_COUNT), N);
    sse_close(&c);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 3. fan-out ---------------------------------------------------------------- */

typedef struct delivered_arg {
    int clients;
    int each;
} delivered_arg;

static bool pred_delivered(const json_t *st, const void *arg)
{
    const delivered_arg *a = arg;
    size_t i;
    json_t *c;
    if (mt_jint(st, "connected") != a->clients)
        return false;
    json_array_foreach(json_object_get(st, "clients"), i, c)
    {
        if (mt_jint(c, "delivered") != a->each || mt_jint(c, "queued") != 0)
            return false;
    }
    return true;
}

static void sse_fanout_three_streams(void **state)
{
    enum { NS = 3, NE = 5 };
    mt_server s;
    sse_client c[NS];
    sse_event ev;
    unsigned char pk[32];
    char id[16];
    mt_response r;
    int64_t v = -1;
    json_t *st, *cl;
    size_t k;
    delivered_arg want = {NS, NE};
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    register_key(h, s.base, pk);
    for (int i = 0; i < NS; i++) {
        open_stream(&c[i], http_port(&s), "/v1/nodes/fan/events", NULL, 0, NULL);
    }
    wait_clients(h, s.base, NS);
    for (int e = 1; e <= NE; e++) {
        snprintf(id, sizeof id, "fan-%d", e);
        inject_id(h, s.base, id, e);
    }
    for (int i = 0; i < NS; i++) {
        for (int e = 1; e <= NE; e++) {
            json_t *j;
            snprintf(id, sizeof id, "fan-%d", e);
            next_event(&c[i], &ev, id);
            expect_frame(&ev, id, "test_event");
            j = verify_event(pk, ev.data);
            assert_int_equal(mt_jint(json_object_get(j, "payload"), "seq"), e);
            json_decref(j);
            sse_event_free(&ev);
        }
    }
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_INJECT_EVENT_COUNT), NE);
    mt_get(h, s.base, "/test/assertions", &r);
    assert_int_equal(mt_assertion_value(r.body, r.len, "inject_event_count", &v), 0);
    assert_int_equal(v, NE);
    mt_response_free(&r);

    st = wait_status(h, s.base, pred_delivered, &want, "5 deliveries per client");
    assert_int_equal(mt_jint(st, "published"), NE);
    assert_int_equal(mt_jint(st, "delivered"), NS * NE);
    assert_int_equal(mt_jint(st, "dropped"), 0);
    assert_int_equal(mt_jint(st, "attached"), NS);
    assert_int_equal(mt_jint(st, "closed"), 0);
    assert_string_equal(mt_jstr(st, "drop_policy"), "newest");
    json_array_foreach(json_object_get(st, "clients"), k, cl)
    {
        char peer[64];
        local_peer(c[k].fd, peer, sizeof peer); /* oldest first: our order */
        assert_string_equal(mt_jstr(cl, "peer"), peer);
        assert_string_equal(mt_jstr(cl, "node_id"), "fan");
        assert_int_equal(mt_jint(cl, "dropped"), 0);
        assert_int_equal(mt_jint(cl, "replayed"), 0);
        assert_true(mt_jint(cl, "connected_ms") >= 0);
    }
    json_decref(st);
    for (int i = 0; i < NS; i++)
        sse_close(&c[i]);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 4. no loss between the response head and the first event -------------- */

static void sse_no_loss_after_head(void **state)
{
    enum { ROUNDS = 50 };
    mt_server s;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    for (int i = 0; i < ROUNDS; i++) {
        sse_client c;
        sse_event ev;
        char id[32];
        int st;
        snprintf(id, sizeof id, "race-%d", i);
        assert_int_equal(sse_connect(&c, http_port(&s), 0), 0);
        assert_int_equal(sse_send_request(&c, "GET", "/v1/nodes/race/events", NULL, 0), 0);
        st = sse_read_head(&c, mt_now_ms() + WAIT_MS);
        assert_int_equal(st, 200);
        inject_id(h, s.base, id, i); /* right after the head, not before */
        assert_int_equal(sse_next(&c, &ev, mt_now_ms() + WAIT_MS), 1);
        assert_string_equal(ev.event, "node_state_updated");
        sse_event_free(&ev);
        next_event(&c, NULL, id);
        sse_close(&c);
    }
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_INJECT_EVENT_COUNT), ROUNDS);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 5. Last-Event-ID replay ---------------------------------------------- */

static void sse_last_event_id_replay(void **state)
{
    mt_server s;
    sse_client a, b, d, g, z;
    sse_event ev;
    unsigned char pk[32];
    char gen[64];
    char peer[64];
    json_t *st;
    const char *h_e2[] = {"Last-Event-ID: e2"};
    const char *h_unknown[] = {"Last-Event-ID: no-such-event"};
    const char *h_dup[] = {"Last-Event-ID: dup"};
    char gen_hdr[96];
    const char *h_gen[] = {gen_hdr};
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    register_key(h, s.base, pk);
    for (int i = 1; i <= 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        inject_id(h, s.base, id, i); /* nobody listens: history only */
    }

    /* after e2: e3, e4, e5, then live events */
    open_stream(&a, http_port(&s), "/v1/nodes/re/events", h_e2, 1, NULL);
    for (int i = 3; i <= 5; i++) {
        char id[16];
        json_t *j;
        snprintf(id, sizeof id, "e%d", i);
        next_event(&a, &ev, id);
        expect_frame(&ev, id, "test_event");
        j = verify_event(pk, ev.data);
        assert_int_equal(mt_jint(json_object_get(j, "payload"), "seq"), i);
        json_decref(j);
        sse_event_free(&ev);
    }
    inject_id(h, s.base, "live-1", 6);
    next_event(&a, NULL, "live-1");

    /* an unknown id replays nothing: the first event after the initial one is live */
    open_stream(&b, http_port(&s), "/v1/nodes/re/events", h_unknown, 1, NULL);
    inject_id(h, s.base, "live-2", 7);
    next_event(&b, NULL, "live-2");
    next_event(&a, NULL, "live-2");

    /* the newest event with a duplicated id is the resume point */
    inject_id(h, s.base, "dup", 8);
    inject_id(h, s.base, "m1", 9);
    inject_id(h, s.base, "dup", 10);
    inject_id(h, s.base, "m2", 11);
    open_stream(&d, http_port(&s), "/v1/nodes/re/events", h_dup, 1, NULL);
    next_event(&d, NULL, "m2");

    /* a generated id (empty event_id) is a resume point too */
    inject(h, s.base, "{\"event_type\":\"test_event\",\"event_id\":\"\",\"nonce\":\"g\"}");
    for (int i = 0; i < 5; i++) { /* b saw dup, m1, dup, m2 live, then the generated one */
        static const char *const seen[] = {"dup", "m1", "dup", "m2", NULL};
        next_event(&b, &ev, seen[i]);
        if (!seen[i]) {
            assert_non_null(ev.id);
            assert_true(strncmp(ev.id, "evt-", 4) == 0);
            snprintf(gen, sizeof gen, "%s", ev.id);
        }
        sse_event_free(&ev);
    }
    inject_id(h, s.base, "after-gen", 12);
    snprintf(gen_hdr, sizeof gen_hdr, "Last-Event-ID: %s", gen);
    open_stream(&g, http_port(&s), "/v1/nodes/re/events", h_gen, 1, NULL);
    next_event(&g, NULL, "after-gen");
    inject_id(h, s.base, "live-3", 13);
    next_event(&g, NULL, "live-3");

    /* no Last-Event-ID: nothing replayed */
    open_stream(&z, http_port(&s), "/v1/nodes/re/events", NULL, 0, NULL);
    inject_id(h, s.base, "live-4", 14);
    next_event(&z, NULL, "live-4");

    /* /test/sse counts what was replayed per client */
    st = sse_status(h, s.base);
    local_peer(a.fd, peer, sizeof peer);
    assert_int_equal(mt_jint(find_client(st, peer), "replayed"), 3);
    local_peer(b.fd, peer, sizeof peer);
    assert_int_equal(mt_jint(find_client(st, peer), "replayed"), 0);
    local_peer(d.fd, peer, sizeof peer);
    assert_int_equal(mt_jint(find_client(st, peer), "replayed"), 1);
    local_peer(g.fd, peer, sizeof peer);
    assert_int_equal(mt_jint(find_client(st, peer), "replayed"), 1);
    local_peer(z.fd, peer, sizeof peer);
    assert_int_equal(mt_jint(find_client(st, peer), "replayed"), 0);
    assert_int_equal(mt_jint(st, "history"), 64);
    assert_int_equal(mt_jint(st, "history_len"), 15);
    assert_int_equal(mt_jint(st, "published"), 15);
    json_decref(st);

    sse_close(&a);
    sse_close(&b);
    sse_close(&d);
    sse_close(&g);
    sse_close(&z);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* History of 3: only the newest three events can be resumed after. */
static void sse_replay_history_bound(void **state)
{
    mockapi_config cfg;
    mt_server s;
    sse_client a, b, c;
    sse_event ev;
    json_t *st;
    const char *h3[] = {"Last-Event-ID: h3"};
    const char *h2[] = {"Last-Event-ID: h2"};
    const char *h5[] = {"Last-Event-ID: h5"};
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.sse_history = 3;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    for (int i = 1; i <= 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "h%d", i);
        inject_id(h, s.base, id, i);
    }
    st = sse_status(h, s.base);
    assert_int_equal(mt_jint(st, "history"), 3);
    assert_int_equal(mt_jint(st, "history_len"), 3);
    assert_int_equal(mt_jint(st, "published"), 5);
    json_decref(st);

    open_stream(&a, http_port(&s), "/v1/nodes/hb/events", h3, 1, NULL);
    open_stream(&b, http_port(&s), "/v1/nodes/hb/events", h2, 1, &ev); /* evicted: unknown */
    sse_event_free(&ev);
    open_stream(&c, http_port(&s), "/v1/nodes/hb/events", h5, 1, &ev); /* newest: nothing */
    sse_event_free(&ev);
    wait_clients(h, s.base, 3);
    inject_id(h, s.base, "live", 6);
    next_event(&a, NULL, "h4");
    next_event(&a, NULL, "h5");
    next_event(&a, NULL, "live");
    next_event(&b, NULL, "live");
    next_event(&c, NULL, "live");
    st = sse_status(h, s.base);
    assert_int_equal(mt_jint(st, "history_len"), 3);
    json_decref(st);
    sse_close(&a);
    sse_close(&b);
    sse_close(&c);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 6. a slow client never blocks the injector ----------------------------- */

#define SLOW_EVENTS 400
#define SLOW_PAD (16 * 1024)

typedef struct reader_arg {
    sse_client *c;
    int64_t deadline;
    pthread_mutex_t lock; /* guards got; `more` is signalled when it grows */
    pthread_cond_t more;
    int got;
    int bad;           /* events out of order or malformed */
    char first_bad[96];
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    while (a->got < SLOW_EVENTS) {
        sse_event ev;
        char want[16];
        if (sse_next(a->c, &ev, a->deadline) != 1)
            break;
        snprintf(want, sizeof want, "f%03d", a->got);
        if (!ev.id || strcmp(ev.id, want) != 0 || !ev.data ||
            strlen(ev.data) < SLOW_PAD) {
            if (a->bad++ == 0)
                snprintf(a->first_bad, sizeof a->first_bad, "event %d: id %s, %zu data bytes",
                         a->got, ev.id ? ev.id : "(none)", ev.data ? strlen(ev.data) : 0);
        }
        pthread_mutex_lock(&a->lock);
        a->got++;
        pthread_cond_broadcast(&a->more);
        pthread_mutex_unlock(&a->lock);
        sse_event_free(&ev);
    }
    pthread_mutex_lock(&a->lock);
    a->deadline = 0; /* done: the injector need not wait for it any more */
    pthread_cond_broadcast(&a->more);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* Waits (until the reader's deadline) until the reading client has at least
 * `want` events. The injector keeps within half a queue of it: the reading
 * client must never drop, however fast the server takes injections and
 * however slow this build makes the reader. */
static void reader_wait(reader_arg *a, int want)
{
    pthread_mutex_lock(&a->lock);
    while (a->got < want && a->deadline > mt_now_ms()) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 50 * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->more, &a->lock, &dl);
    }
    pthread_mutex_unlock(&a->lock);
}

/* The largest send buffer the kernel autotunes to (what a never-reading
 * client can absorb on the server's side). */
static long tcp_wmem_max(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    long a = 0, b = 0, c = -1;
    if (f) {
        if (fscanf(f, "%ld %ld %ld", &a, &b, &c) != 3)
            c = -1;
        fclose(f);
    }
    return c;
}

static bool pred_reader_done(const json_t *st, const void *arg)
{
    const json_t *c = find_client(st, arg);
    return c && mt_jint(c, "delivered") == SLOW_EVENTS && mt_jint(c, "queued") == 0;
}

static void sse_slow_client_drops_newest(void **state)
{
    mockapi_config cfg;
    mt_server s;
    sse_client fast, slow;
    sse_event ev;
    pthread_t tid;
    reader_arg ra;
    char slow_peer[64], fast_peer[64];
    char *body;
    size_t cap = SLOW_PAD + 256;
    int64_t t0, total, worst = 0;
    int bad_at = -1;
    long bad_status = 0;
    json_t *st, *sc, *fc;
    int64_t d, q, dr;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.sse_keepalive_ms = 60000; /* no keep-alives in the queues */
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);

    open_stream(&fast, http_port(&s), "/v1/nodes/fast/events", NULL, 0, NULL);
    assert_int_equal(sse_connect(&slow, http_port(&s), 4096), 0);
    assert_int_equal(sse_send_request(&slow, "GET", "/v1/nodes/slow/events", NULL, 0), 0);
    wait_clients(h, s.base, 2);
    local_peer(slow.fd, slow_peer, sizeof slow_peer);
    local_peer(fast.fd, fast_peer, sizeof fast_peer);

    memset(&ra, 0, sizeof ra);
    pthread_mutex_init(&ra.lock, NULL);
    pthread_cond_init(&ra.more, NULL);
    ra.c = &fast;
    ra.deadline = mt_now_ms() + (RUNNING_ON_VALGRIND ? 300000 : 30000);
    body = malloc(cap);
    assert_non_null(body);
    assert_int_equal(pthread_create(&tid, NULL, reader_main, &ra), 0);

    /* no cmocka assertion until the reader is joined: it uses this frame */
    t0 = mt_now_ms();
    for (int i = 0; i < SLOW_EVENTS && bad_at < 0; i++) {
        int n = snprintf(body, cap,
                         "{\"event_type\":\"bulk\",\"event_id\":\"f%03d\",\"nonce\":\"bulk-%d\","
                         "\"payload\":{\"i\":%d,\"pad\":\"",
                         i, i, i);
        int64_t t1, dt;
        mt_response r;
        reader_wait(&ra, i - 8); /* the server's queue per client is 16 */
        t1 = mt_now_ms();
        memset(body + n, 'a' + i % 26, SLOW_PAD);
        snprintf(body + n + SLOW_PAD, cap - (size_t)n - SLOW_PAD, "\"}}");
        mt_send(h, s.base, "POST", "/test/inject-event", body, &r);
        if (r.status != 204 || r.len != 0) {
            bad_at = i;
            bad_status = r.status;
        }
        mt_response_free(&r);
        dt = mt_now_ms() - t1;
        if (dt > worst)
            worst = dt;
    }
    total = mt_now_ms() - t0;
    free(body);
    if (bad_at >= 0)
        shutdown(fast.fd, SHUT_RDWR); /* the reader stops at once */
    print_message("slow client: %d injects of %d KB took %lld ms (slowest %lld ms)%s\n",
                  SLOW_EVENTS, SLOW_PAD / 1024, (long long)total, (long long)worst,
                  RUNNING_ON_VALGRIND ? " under valgrind" : "");

    pthread_join(tid, NULL);
    if (bad_at >= 0)
        fail_msg("inject %d: status %ld, want 204", bad_at, bad_status);
    pthread_mutex_destroy(&ra.lock);
    pthread_cond_destroy(&ra.more);
    if (ra.got != SLOW_EVENTS || ra.bad != 0)
        fail_msg("reading client got %d of %d events, %d bad (%s)", ra.got, SLOW_EVENTS, ra.bad,
                 ra.first_bad);

    st = wait_status(h, s.base, pred_reader_done, fast_peer, "the reading client's accounting");
    fc = find_client(st, fast_peer);
    sc = find_client(st, slow_peer);
    assert_non_null(fc);
    assert_non_null(sc);
    assert_int_equal(mt_jint(fc, "dropped"), 0);
    d = mt_jint(sc, "delivered");
    q = mt_jint(sc, "queued");
    dr = mt_jint(sc, "dropped");
    print_message("slow client: delivered %lld, queued %lld, dropped %lld of %d\n", (long long)d,
                  (long long)q, (long long)dr, SLOW_EVENTS);
    if (dr == 0)
        fail_msg("no drops for a client that never reads: %d x %d KB all fit in its socket "
                 "buffers (net.ipv4.tcp_wmem max %ld bytes?)",
                 SLOW_EVENTS, SLOW_PAD / 1024, tcp_wmem_max());
    assert_true(q <= 16);
    assert_int_equal(d + q + dr, SLOW_EVENTS);
    assert_int_equal(mt_jint(st, "published"), SLOW_EVENTS);
    assert_int_equal(mt_jint(st, "dropped"), dr);
    assert_int_equal(mt_jint(st, "delivered"), SLOW_EVENTS + d);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_INJECT_EVENT_COUNT), SLOW_EVENTS);
    json_decref(st);

    /* the slow client now reads: exactly delivered + queued events arrive,
     * f000 first, contiguous (sse.h: a client that dropped events is ended
     * once its queue drains, so what it got is a gap-free prefix), then the
     * stream ends and the client would resume with Last-Event-ID. */
    assert_int_equal(sse_read_head(&slow, mt_now_ms() + WAIT_MS), 200);
    assert_int_equal(sse_next(&slow, &ev, mt_now_ms() + WAIT_MS), 1);
    assert_string_equal(ev.event, "node_state_updated");
    sse_event_free(&ev);
    {
        int prev = -1, prefix = 0, gaps = 0;
        char gapdesc[128] = "";
        for (int64_t i = 0; i < d + q; i++) {
            int n = -1;
            char tailc = 0;
            next_event(&slow, &ev, NULL);
            if (!ev.id || sscanf(ev.id, "f%3d%c", &n, &tailc) != 1 || n <= prev)
                fail_msg("slow client event %lld: id %s after f%03d", (long long)i,
                         ev.id ? ev.id : "(none)", prev);
            if (n != prev + 1 && gaps++ == 0)
                snprintf(gapdesc, sizeof gapdesc, "; first gap f%03d..f%03d missing", prev + 1,
                         n - 1);
            if (gaps == 0)
                prefix = n + 1;
            prev = n;
            sse_event_free(&ev);
        }
        assert_int_equal(prefix > 0, 1);
        print_message("slow client: received %lld events, contiguous prefix f000..f%03d, %d gap(s)%s\n",
                      (long long)(d + q), prefix - 1, gaps, gapdesc);
        assert_int_equal(gaps, 0);
    }
    /* after the prefix: the end of the stream, not a later event */
    inject_id(h, s.base, "tail", 1);
    assert_int_equal(sse_next(&slow, &ev, mt_now_ms() + WAIT_MS), -1);
    assert_true(slow.eof);

    assert_true(total < (RUNNING_ON_VALGRIND ? 120000 : 5000));
    assert_true(worst < (RUNNING_ON_VALGRIND ? 10000 : 1000));
    sse_close(&slow);
    sse_close(&fast);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* Drop-newest keeps what a client received a gap-free prefix only while it
 * stays behind. sse.h promises more: "what a client receives is always a
 * gap-free prefix it can resume from with Last-Event-ID". So once a client
 * lost events, the next thing it receives after catching up must be either
 * the first lost event (the stream continues without a gap) or the end of
 * the stream (it reconnects with Last-Event-ID and is replayed the rest),
 * never a later event with the loss unannounced. Deterministic: the slow
 * client reads only after the drops, then new events are published. */
static void sse_drop_then_recover_no_silent_gap(void **state)
{
    enum { NE = 320 };
    mockapi_config cfg;
    mt_server s;
    sse_client slow;
    sse_event ev;
    char peer[64], id[16], last[16];
    char *body;
    size_t cap = SLOW_PAD + 256;
    json_t *st, *sc;
    int64_t d, q, dr;
    int r;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.sse_keepalive_ms = 60000;
    cfg.sse_queue_max = 4;
    cfg.sse_history = 512; /* every event stays resumable */
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    assert_int_equal(sse_connect(&slow, http_port(&s), 4096), 0);
    assert_int_equal(sse_send_request(&slow, "GET", "/v1/nodes/gap/events", NULL, 0), 0);
    wait_clients(h, s.base, 1);
    local_peer(slow.fd, peer, sizeof peer);
    body = malloc(cap);
    assert_non_null(body);
    for (int i = 0; i < NE; i++) {
        int n = snprintf(body, cap,
                         "{\"event_type\":\"bulk\",\"event_id\":\"p%03d\",\"nonce\":\"p%d\","
                         "\"payload\":\"",
                         i, i);
        memset(body + n, 'p', SLOW_PAD);
        snprintf(body + n + SLOW_PAD, cap - (size_t)n - SLOW_PAD, "\"}");
        inject(h, s.base, body);
    }
    free(body);
    st = sse_status(h, s.base);
    sc = find_client(st, peer);
    assert_non_null(sc); /* a client that has not read has not got its prefix: still open */
    d = mt_jint(sc, "delivered");
    q = mt_jint(sc, "queued");
    dr = mt_jint(sc, "dropped");
    json_decref(st);
    print_message("after %d events: delivered %lld, queued %lld, dropped %lld\n", NE,
                  (long long)d, (long long)q, (long long)dr);
    if (dr == 0)
        fail_msg("no drops: %d x %d KB all fit in the socket buffers (tcp_wmem max %ld)", NE,
                 SLOW_PAD / 1024, tcp_wmem_max());
    assert_int_equal(d + q + dr, NE);

    /* catch up on everything that was kept */
    assert_int_equal(sse_read_head(&slow, mt_now_ms() + WAIT_MS), 200);
    assert_int_equal(sse_next(&slow, &ev, mt_now_ms() + WAIT_MS), 1);
    sse_event_free(&ev);
    for (int64_t i = 0; i < d + q; i++) {
        snprintf(id, sizeof id, "p%03d", (int)i);
        next_event(&slow, NULL, id);
    }
    snprintf(last, sizeof last, "p%03d", (int)(d + q - 1));

    /* the client is reading again; a new event is published */
    inject_id(h, s.base, "after", 1);
    r = sse_next(&slow, &ev, mt_now_ms() + WAIT_MS);
    snprintf(id, sizeof id, "p%03d", (int)(d + q));
    if (r == 1 && ev.id && strcmp(ev.id, "after") == 0)
        fail_msg("silent gap: after %s the client received \"after\"; %s..p%03d (%lld events) "
                 "were dropped without ending the stream, so Last-Event-ID can never recover them",
                 last, id, NE - 1, (long long)dr);
    if (r == 1) {
        assert_non_null(ev.id);
        assert_string_equal(ev.id, id); /* continued without a gap */
        sse_event_free(&ev);
    } else {
        /* ended: a reconnect with Last-Event-ID gets the rest */
        const char *hdr[1];
        char hl[64];
        assert_int_equal(r, -1);
        snprintf(hl, sizeof hl, "Last-Event-ID: %s", last);
        hdr[0] = hl;
        sse_close(&slow);
        open_stream(&slow, http_port(&s), "/v1/nodes/gap/events", hdr, 1, NULL);
        for (int64_t i = d + q; i < NE; i++) {
            snprintf(id, sizeof id, "p%03d", (int)i);
            next_event(&slow, NULL, id);
        }
        next_event(&slow, NULL, "after");
    }
    sse_close(&slow);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 7. keep-alive ----------------------------------------------------------- */

static void sse_keepalive_comments(void **state)
{
    mockapi_config cfg;
    mt_server s;
    sse_client c;
    int64_t t0, took;
    json_t *st;
    char peer[64];
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.sse_keepalive_ms = 100;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    t0 = mt_now_ms();
    open_stream(&c, http_port(&s), "/v1/nodes/ka/events", NULL, 0, NULL);
    assert_int_equal(sse_drain(&c, t0 + 2000, 2), 0);
    took = mt_now_ms() - t0;
    print_message("keep-alive: %zu comments in %lld ms (interval 100 ms)\n", c.keepalives,
                  (long long)took);
    assert_true(c.keepalives >= 2);
    /* exactly ": keep-alive\n", no blank line after it, nothing else */
    assert_int_equal(c.comments, c.keepalives);
    assert_int_equal(c.blank_lines, 0);
    assert_int_equal(c.frames, 1);
    assert_int_equal(sse_pending(&c), 0);
    assert_true(took >= 180); /* two intervals, not a burst */
    local_peer(c.fd, peer, sizeof peer);
    st = sse_status(h, s.base);
    assert_non_null(find_client(st, peer));
    assert_true(mt_jint(find_client(st, peer), "keepalives") >= 2);
    json_decref(st);
    sse_close(&c);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 8. disconnect cleanup over 1,000 cycles -------------------------------- */

static long proc_status_value(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kl = strlen(key);
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static void connect_cycles(int port, int n, int64_t deadline)
{
    for (int i = 0; i < n; i++) {
        sse_client c;
        if (mt_now_ms() > deadline)
            fail_msg("connect/disconnect cycle %d of %d: deadline passed", i, n);
        open_stream(&c, port, "/v1/nodes/cyc/events", NULL, 0, NULL);
        sse_close(&c);
    }
}

static void sse_disconnect_cycles(void **state)
{
    enum { WARM = 50, CYCLES = 1000 };
    mt_server s;
    long thr0, thr1, rss0, rss1;
    int fd0, fd1;
    int64_t t0, took;
    json_t *st;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    connect_cycles(http_port(&s), WARM, mt_now_ms() + 60000);
    wait_connected(h, s.base, 0);
    thr0 = proc_status_value("Threads");
    rss0 = proc_status_value("VmRSS");
    fd0 = count_fds();

    t0 = mt_now_ms();
    connect_cycles(http_port(&s), CYCLES, t0 + (RUNNING_ON_VALGRIND ? 300000 : 60000));
    took = mt_now_ms() - t0;
    wait_connected(h, s.base, 0);
    thr1 = proc_status_value("Threads");
    rss1 = proc_status_value("VmRSS");
    fd1 = count_fds();
    print_message("%d stream connect/disconnect cycles in %lld ms\n", CYCLES, (long long)took);
    print_message("threads %ld -> %ld, VmRSS %ld kB -> %ld kB (%+ld kB), fds %d -> %d\n", thr0,
                  thr1, rss0, rss1, rss1 - rss0, fd0, fd1);

    st = sse_status(h, s.base);
    assert_int_equal(mt_jint(st, "connected"), 0);
    assert_int_equal(mt_jint(st, "attached"), WARM + CYCLES);
    assert_int_equal(mt_jint(st, "closed"), WARM + CYCLES);
    assert_int_equal(json_array_size(json_object_get(st, "clients")), 0);
    json_decref(st);
    assert_true(thr0 > 0 && rss0 > 0 && fd0 > 0);
    assert_true(thr1 <= thr0 + 1);
    assert_true(fd1 <= fd0);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    assert_true(rss1 - rss0 < 64 * 1024); /* sanitizers keep freed memory (quarantine, shadow) */
#else
    assert_true(rss1 - rss0 < (RUNNING_ON_VALGRIND ? 64 * 1024 : 4 * 1024));
#endif
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 9. the stream cap ------------------------------------------------------ */

static void sse_max_clients_cap(void **state)
{
    static const char full[] = "{\"error\":\"too many event streams are open\"}\n";
    mockapi_config cfg;
    mt_server s;
    sse_client a, b, c, d;
    unsigned char *rest = NULL;
    size_t restn = 0;
    char cl[16];
    json_t *st;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    mt_config_init(&cfg);
    cfg.sse_max_clients = 2;
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    open_stream(&a, http_port(&s), "/v1/nodes/cap/events", NULL, 0, NULL);
    open_stream(&b, http_port(&s), "/v1/nodes/cap/events", NULL, 0, NULL);
    wait_clients(h, s.base, 2);

    assert_int_equal(sse_open(&c, http_port(&s), "/v1/nodes/cap/events", NULL, 0,
                              mt_now_ms() + WAIT_MS),
                     503);
    assert_non_null(sse_header(&c, "Content-Type"));
    assert_string_equal(sse_header(&c, "Content-Type"), "application/json");
    snprintf(cl, sizeof cl, "%zu", sizeof full - 1);
    assert_non_null(sse_header(&c, "Content-Length"));
    assert_string_equal(sse_header(&c, "Content-Length"), cl);
    /* the body, then the connection ends */
    assert_int_equal(mt_read_until_close(c.fd, mt_now_ms() + WAIT_MS, &rest, &restn), 1);
    {
        size_t have = sse_pending(&c) + restn;
        char *all = malloc(have + 1);
        assert_non_null(all);
        memcpy(all, c.buf + c.off, sse_pending(&c));
        if (restn)
            memcpy(all + sse_pending(&c), rest, restn);
        all[have] = '\0';
        assert_string_equal(all, full);
        free(all);
    }
    free(rest);
    sse_close(&c);

    /* one leaves, a new one gets in */
    sse_close(&a);
    wait_connected(h, s.base, 1);
    open_stream(&d, http_port(&s), "/v1/nodes/cap/events", NULL, 0, NULL);
    wait_clients(h, s.base, 2);
    st = sse_status(h, s.base);
    assert_int_equal(mt_jint(st, "connected"), 2);
    assert_int_equal(mt_jint(st, "max_clients"), 2);
    assert_int_equal(mt_jint(st, "attached"), 3);
    assert_int_equal(mt_jint(st, "closed"), 1);
    /* the refused stream is counted */
    if (mt_jint(st, "refused") != 1) {
        char *dump = json_dumps(st, JSON_COMPACT);
        fail_msg("a stream was refused with 503 but /test/sse says refused=%lld: %s",
                 (long long)mt_jint(st, "refused"), dump ? dump : "?");
    }
    json_decref(st);
    sse_close(&b);
    sse_close(&d);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 10. HEAD ends ------------------------------------------------------------ */

static void sse_head_ends(void **state)
{
    static const char req[] = "HEAD /v1/nodes/x/events HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    mt_server s;
    mt_request rq;
    mt_response r;
    int64_t t0, took;
    unsigned char *got = NULL;
    size_t gotn = 0;
    const char *second;
    json_t *st;
    int fd;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    memset(&rq, 0, sizeof rq);
    rq.method = "HEAD";
    rq.path = "/v1/nodes/x/events";
    rq.timeout_ms = 3000;
    t0 = mt_now_ms();
    mt_perform(h, s.base, &rq, &r);
    took = mt_now_ms() - t0;
    print_message("HEAD /v1/nodes/x/events: %lld ms\n", (long long)took);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_string_equal(mt_header_get(&r, "Content-Type"), "text/event-stream");
    assert_string_equal(mt_header_get(&r, "Cache-Control"), "no-cache");
    /* GET's head: a stream has no length (Content-Length: 0 would say it
     * is empty); the answer to HEAD ends at its blank line regardless */
    assert_null(mt_header_get(&r, "Content-Length"));
    assert_null(mt_header_get(&r, "Transfer-Encoding"));
    if (mt_timing_on())
        assert_true(took < 1000);
    mt_response_free(&r);
    /* the same connection goes on */
    mt_get(h, s.base, "/v1/ping", &r);
    assert_int_equal(r.status, 200);
    mt_response_free(&r);

    /* raw and pipelined: the HEAD answer carries no body bytes and the next
     * response follows at once */
    fd = mt_connect(http_port(&s));
    assert_true(fd >= 0);
    assert_int_equal(mt_send_all(fd, req, sizeof req - 1), 0);
    assert_int_equal(mt_read_until_close(fd, mt_now_ms() + 3000, &got, &gotn), 1);
    close(fd);
    assert_non_null(got);
    assert_true(strncmp((char *)got, "HTTP/1.1 200 OK\r\n", 17) == 0);
    second = strstr((char *)got, "\r\n\r\n");
    assert_non_null(second);
    second += 4;
    if (strncmp(second, "HTTP/1.1 200 OK\r\n", 17) != 0) {
        char *shown = mt_show(got, gotn);
        fail_msg("bytes after the HEAD answer are not the next response: %s", shown);
    }
    assert_non_null(strstr(second, "\r\n\r\n{}\n"));
    free(got);

    st = sse_status(h, s.base);
    assert_int_equal(mt_jint(st, "connected"), 0);
    assert_int_equal(mt_jint(st, "attached"), 0);
    json_decref(st);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- 11. stop with streams open ------------------------------------------ */

static void sse_stop_with_streams(void **state)
{
    enum { NS = 3 };
    mt_server s;
    sse_client c[NS], slow;
    int64_t t0, took;
    char *body;
    size_t cap = SLOW_PAD + 256;
    CURL *h = curl_easy_init();
    (void)state;

    assert_non_null(h);
    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    for (int i = 0; i < NS; i++) {
        open_stream(&c[i], http_port(&s), "/v1/nodes/stop/events", NULL, 0, NULL);
    }
    /* one that never reads, with its socket and queue full */
    assert_int_equal(sse_connect(&slow, http_port(&s), 4096), 0);
    assert_int_equal(sse_send_request(&slow, "GET", "/v1/nodes/stop/events", NULL, 0), 0);
    wait_clients(h, s.base, NS + 1);
    body = malloc(cap);
    assert_non_null(body);
    for (int i = 0; i < 40; i++) {
        int n = snprintf(body, cap,
                         "{\"event_type\":\"bulk\",\"event_id\":\"s%d\",\"payload\":\"", i);
        memset(body + n, 'z', SLOW_PAD);
        snprintf(body + n + SLOW_PAD, cap - (size_t)n - SLOW_PAD, "\"}");
        inject(h, s.base, body);
    }
    free(body);
    curl_easy_cleanup(h);

    t0 = mt_now_ms();
    mockapi_stop(s.m);
    took = mt_now_ms() - t0;
    print_message("mockapi_stop with %d streams open: %lld ms\n", NS + 1, (long long)took);
    for (int i = 0; i < NS; i++) {
        unsigned char *rest = NULL;
        size_t restn = 0;
        assert_int_equal(mt_read_until_close(c[i].fd, mt_now_ms() + 2000, &rest, &restn), 1);
        free(rest);
        sse_close(&c[i]);
    }
    {
        unsigned char *rest = NULL;
        size_t restn = 0;
        assert_int_equal(mt_read_until_close(slow.fd, mt_now_ms() + 2000, &rest, &restn), 1);
        free(rest);
        sse_close(&slow);
    }
    mt_server_untrack_free(&s);
    if (mt_timing_on())
        assert_true(took < 500);
}

/* ---- 12. TLS: verification, certificate, bearer rules ------------------------- */

typedef struct probe {
    CURLcode rc;
    long status;
    char err[CURL_ERROR_SIZE];
    int ncerts;
    char *leaf_pem;  /* certinfo "Cert:" of the first certificate */
    char *subject;   /* certinfo "Subject:" */
    char *san;       /* certinfo "X509v3 Subject Alternative Name:" */
    char *sent;      /* request head as sent */
    size_t sent_len;
    unsigned char *body;
    size_t len;
} probe;

typedef struct probe_opts {
    const char *url;
    const char *ca_pem;  /* CURLOPT_CAINFO_BLOB */
    const char *ca_file; /* CURLOPT_CAINFO */
    const char *resolve; /* "host:port:addr" */
    const char *const *headers;
    size_t nheaders;
    const char *body; /* POST when set */
    bool tls12;       /* TLS 1.2 exactly */
} probe_opts;

static size_t probe_write(char *p, size_t size, size_t nmemb, void *user)
{
    probe *pr = user;
    size_t n = size * nmemb;
    unsigned char *nb = realloc(pr->body, pr->len + n + 1);
    if (!nb)
        return 0;
    memcpy(nb + pr->len, p, n);
    pr->len += n;
    nb[pr->len] = '\0';
    pr->body = nb;
    return n;
}

static int probe_debug(CURL *h, curl_infotype type, char *data, size_t size, void *user)
{
    probe *pr = user;
    (void)h;
    if (type == CURLINFO_HEADER_OUT) {
        char *nb = realloc(pr->sent, pr->sent_len + size + 1);
        if (!nb)
            return 0;
        memcpy(nb + pr->sent_len, data, size);
        pr->sent_len += size;
        nb[pr->sent_len] = '\0';
        pr->sent = nb;
    }
    return 0;
}

static char *strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* One HTTPS request with full verification, certinfo and the sent head. */
static void run_probe(const probe_opts *o, probe *pr)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL, *res = NULL;
    struct curl_certinfo *ci = NULL;

    memset(pr, 0, sizeof *pr);
    assert_non_null(h);
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; i < o->nheaders; i++)
        hdrs = curl_slist_append(hdrs, o->headers[i]);
    assert_non_null(hdrs);
    curl_easy_setopt(h, CURLOPT_URL, o->url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, pr->err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, pr);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, probe_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, pr);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_pem) {
        struct curl_blob b;
        b.data = (void *)(uintptr_t)o->ca_pem;
        b.len = strlen(o->ca_pem);
        b.flags = CURL_BLOB_COPY;
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    if (o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->resolve) {
        res = curl_slist_append(NULL, o->resolve);
        assert_non_null(res);
        curl_easy_setopt(h, CURLOPT_RESOLVE, res);
    }
    if (o->tls12)
        curl_easy_setopt(h, CURLOPT_SSLVERSION,
                         (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
    if (o->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(o->body));
    }
    pr->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &pr->status);
    if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0) {
        pr->ncerts = ci->num_of_certs;
        for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
            if (strncmp(l->data, "Cert:", 5) == 0)
                pr->leaf_pem = strdup_or_null(l->data + 5);
            else if (strncmp(l->data, "Subject:", 8) == 0)
                pr->subject = strdup_or_null(l->data + 8);
            else if (strncmp(l->data, "X509v3 Subject Alternative Name:", 32) == 0)
                pr->san = strdup_or_null(l->data + 32);
        }
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(res);
}

static void probe_free(probe *pr)
{
    free(pr->leaf_pem);
    free(pr->subject);
    free(pr->san);
    free(pr->sent);
    free(pr->body);
    memset(pr, 0, sizeof *pr);
}

static void expect_probe_ok(const probe_opts *o, probe *pr, long status)
{
    run_probe(o, pr);
    if (pr->rc != CURLE_OK || pr->status != status)
        fail_msg("%s: %s (%s), status %ld, want %ld", o->url, curl_easy_strerror(pr->rc), pr->err,
                 pr->status, status);
}

static time_t x509_time(const mbedtls_x509_time *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = t->year - 1900;
    tm.tm_mon = t->mon - 1;
    tm.tm_mday = t->day;
    tm.tm_hour = t->hour;
    tm.tm_min = t->min;
    tm.tm_sec = t->sec;
    return timegm(&tm);
}

/* Finds the v3 extension with the given OID in crt's raw DER and points
 * (*val, *vlen) at its value (the OCTET STRING's content); false if absent. The
 * raw walk reads what mbedTLS 3 keeps private (basic constraints) and what
 * 2.28 does not parse at all (IP SANs), the same way on both. */
static bool find_ext(const mbedtls_x509_crt *crt, const char *want, size_t wantlen,
                     unsigned char **val, size_t *vlen)
{
    unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len;
    size_t len;
    assert_int_equal(
        mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE), 0);
    end = p + len;
    while (p < end) {
        unsigned char *ext_end, *oid;
        size_t oidlen;
        int crit = 0;
        assert_int_equal(mbedtls_asn1_get_tag(&p, end, &len,
                                              MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE),
                         0);
        ext_end = p + len;
        assert_int_equal(mbedtls_asn1_get_tag(&p, ext_end, &oidlen, MBEDTLS_ASN1_OID), 0);
        oid = p;
        p += oidlen;
        mbedtls_asn1_get_bool(&p, ext_end, &crit);
        assert_int_equal(mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING), 0);
        if (oidlen == wantlen && memcmp(oid, want, oidlen) == 0) {
            *val = p;
            *vlen = len;
            return true;
        }
        p = ext_end;
    }
    return false;
}

/* Renders the subjectAltName extension of crt:
 * "DNS:a,DNS:b,IP:127.0.0.1,IP:::1". */
static void san_list(const mbedtls_x509_crt *crt, char *out, size_t cap)
{
    unsigned char *q, *qend;
    size_t glen;
    out[0] = '\0';
    if (!find_ext(crt, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                  &q, &glen))
        return;
    qend = q + glen;
    assert_int_equal(
        mbedtls_asn1_get_tag(&q, qend, &glen, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE), 0);
    while (q < qend) {
        unsigned char tag = *q++;
        size_t l, o = strlen(out);
        assert_int_equal(mbedtls_asn1_get_len(&q, qend, &l), 0);
        if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) {
            snprintf(out + o, cap - o, "%sDNS:%.*s", o ? "," : "", (int)l, (char *)q);
        } else if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && (l == 4 || l == 16)) {
            char ip[INET6_ADDRSTRLEN];
            inet_ntop(l == 4 ? AF_INET : AF_INET6, q, ip, sizeof ip);
            snprintf(out + o, cap - o, "%sIP:%s", o ? "," : "", ip);
        } else {
            snprintf(out + o, cap - o, "%s?%02x", o ? "," : "", tag);
        }
        q += l;
    }
}

/* The cA flag of crt's basicConstraints (RFC 5280 4.2.1.9: SEQUENCE { cA
 * BOOLEAN DEFAULT FALSE, pathLen INTEGER OPTIONAL }); 0 when absent, as
 * mbedTLS's own ca_istrue, which version 3 makes private. */
static int basic_ca(const mbedtls_x509_crt *crt)
{
    unsigned char *p, *end;
    size_t len;
    int ca = 0;
    if (!find_ext(crt, MBEDTLS_OID_BASIC_CONSTRAINTS, MBEDTLS_OID_SIZE(MBEDTLS_OID_BASIC_CONSTRAINTS),
                  &p, &len))
        return 0;
    end = p + len;
    assert_int_equal(
        mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE), 0);
    if (len > 0 && *p == MBEDTLS_ASN1_BOOLEAN)
        assert_int_equal(mbedtls_asn1_get_bool(&p, p + len, &ca), 0);
    return ca != 0;
}

/* The curve of an EC key: mbedTLS 3 makes the keypair's fields private and
 * has an accessor instead; 2.28 has only the field. */
static mbedtls_ecp_group_id ec_curve(const mbedtls_pk_context *pk)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    return mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk));
#else
    return mbedtls_pk_ec(*pk)->grp.id;
#endif
}

static void tls_verified_and_certificate(void **state)
{
    mockapi_config cfg;
    mt_server s;
    probe pr;
    probe_opts o;
    char url[128], resolve[128], dir[] = "/tmp/mockapi-ca-XXXXXX", path[64], dn[256], sans[256];
    const char *ca;
    unsigned char *file = NULL;
    size_t filen = 0;
    int port;
    uint32_t flags = 0;
    mbedtls_x509_crt leaf, cacrt;
    time_t now = time(NULL), nb, na;
    (void)state;

    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    port = mockapi_port(s.m, MOCKAPI_LISTENER_TLS);
    assert_true(port > 0);
    ca = mockapi_tls_ca_pem(s.m);
    assert_non_null(ca);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    assert_int_equal(mockapi_write_tls_ca(s.m, path, NULL, 0), 0);
    assert_int_equal(mt_read_file(path, &file, &filen), 0);
    assert_int_equal(filen, strlen(ca));
    assert_memory_equal(file, ca, filen);
    free(file);

    /* 127.0.0.1 with the CA as a blob (IP SAN) */
    memset(&o, 0, sizeof o);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/test/assertions", port);
    o.url = url;
    o.ca_pem = ca;
    expect_probe_ok(&o, &pr, 200);
    assert_true(pr.ncerts >= 1);
    assert_non_null(pr.leaf_pem);
    assert_non_null(pr.subject);
    assert_non_null(strstr(pr.subject, "plexd-e2e-mock"));
    assert_non_null(pr.san);
    print_message("leaf (certinfo): subject \"%s\", SAN \"%s\"\n", pr.subject, pr.san);
    assert_non_null(strstr(pr.san, "DNS:mock-api"));
    assert_non_null(strstr(pr.san, "DNS:localhost"));
    assert_non_null(strstr(pr.san, "IP Address:127.0.0.1"));

    /* the leaf, parsed and checked with mbedTLS */
    mbedtls_x509_crt_init(&leaf);
    mbedtls_x509_crt_init(&cacrt);
    assert_int_equal(mbedtls_x509_crt_parse(&leaf, (const unsigned char *)pr.leaf_pem,
                                            strlen(pr.leaf_pem) + 1),
                     0);
    assert_int_equal(mbedtls_x509_crt_parse(&cacrt, (const unsigned char *)ca, strlen(ca) + 1), 0);
    assert_true(mbedtls_x509_dn_gets(dn, sizeof dn, &leaf.subject) > 0);
    assert_string_equal(dn, "O=plexd-e2e-mock");
    san_list(&leaf, sans, sizeof sans);
    assert_string_equal(sans, "DNS:mock-api,DNS:localhost,IP:127.0.0.1,IP:::1");
    nb = x509_time(&leaf.valid_from);
    na = x509_time(&leaf.valid_to);
    print_message("leaf validity: now%+lld s .. now%+lld s\n", (long long)(nb - now),
                  (long long)(na - now));
    assert_true(nb >= now - 3600 - 120 && nb <= now - 3600 + 5);
    assert_true(na >= now + 24 * 3600 - 120 && na <= now + 24 * 3600 + 5);
    assert_int_equal(mbedtls_pk_get_type(&leaf.pk), MBEDTLS_PK_ECKEY);
    assert_int_equal(ec_curve(&leaf.pk), MBEDTLS_ECP_DP_SECP256R1);
    assert_int_equal(basic_ca(&leaf), 0);
    assert_int_equal(basic_ca(&cacrt), 1);
    assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_SERVER_AUTH,
                                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
                     0);
    assert_int_equal(mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, "localhost", &flags, NULL, NULL),
                     0);
    assert_int_equal(mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, "mock-api", &flags, NULL, NULL),
                     0);
    assert_int_not_equal(
        mbedtls_x509_crt_verify(&leaf, &cacrt, NULL, "other.test", &flags, NULL, NULL), 0);
    assert_true(flags & MBEDTLS_X509_BADCERT_CN_MISMATCH);
    mbedtls_x509_crt_free(&leaf);
    mbedtls_x509_crt_free(&cacrt);
    probe_free(&pr);

    /* localhost with the CA as a file, TLS 1.2 exactly */
    snprintf(url, sizeof url, "https://localhost:%d/test/assertions", port);
    snprintf(resolve, sizeof resolve, "localhost:%d:127.0.0.1", port);
    memset(&o, 0, sizeof o);
    o.url = url;
    o.ca_file = path;
    o.resolve = resolve;
    o.tls12 = true;
    expect_probe_ok(&o, &pr, 200);
    probe_free(&pr);

    /* mock-api (the compose name) */
    snprintf(url, sizeof url, "https://mock-api:%d/test/assertions", port);
    snprintf(resolve, sizeof resolve, "mock-api:%d:127.0.0.1", port);
    o.url = url;
    o.resolve = resolve;
    o.tls12 = false;
    expect_probe_ok(&o, &pr, 200);
    probe_free(&pr);

    /* a name the certificate does not carry */
    snprintf(url, sizeof url, "https://other.test:%d/test/assertions", port);
    snprintf(resolve, sizeof resolve, "other.test:%d:127.0.0.1", port);
    o.url = url;
    o.resolve = resolve;
    run_probe(&o, &pr);
    assert_int_equal(pr.rc, CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(pr.status, 0);
    probe_free(&pr);

    /* the TLS listener serves only its own routes and the /test/ family
     * (issue 13): no streams, no API */
    {
        static const char *const not_here[] = {"/v1/nodes/x/events", "/v1/ping", "/test/no-such-route"};
        mt_request rq;
        mt_response r;
        for (size_t i = 0; i < sizeof not_here / sizeof not_here[0]; i++) {
            memset(&rq, 0, sizeof rq);
            rq.method = "GET";
            rq.path = not_here[i];
            rq.ca_pem = ca;
            rq.timeout_ms = 3000;
            mt_perform(NULL, s.tls_base, &rq, &r);
            if (r.status != 404)
                fail_msg("GET %s%s: status %ld (%s), want 404", s.tls_base, not_here[i], r.status,
                         curl_easy_strerror(r.rc));
            mt_response_free(&r);
        }
    }

    /* a client without the CA (system store only) */
    snprintf(url, sizeof url, "https://127.0.0.1:%d/test/assertions", port);
    memset(&o, 0, sizeof o);
    o.url = url;
    run_probe(&o, &pr);
    assert_int_equal(pr.rc, CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(pr.status, 0);
    probe_free(&pr);

    unlink(path);
    rmdir(dir);
    mt_server_untrack_free(&s);
}

static void tls_bearer_rules(void **state)
{
    static const char *const routes[] = {"/local/metrics", "/local/logs", "/local/audit"};
    static const char *const keys[] = {"local_metrics", "local_logs", "local_audit"};
    static const mockapi_counter counters[] = {MOCKAPI_LOCAL_METRICS_COUNT,
                                               MOCKAPI_LOCAL_LOGS_COUNT,
                                               MOCKAPI_LOCAL_AUDIT_COUNT};
    static const char *const bad[][2] = {
        {NULL, NULL},                                              /* missing */
        {"Authorization;", NULL},                                  /* empty */
        {"Authorization: bearer " BEARER, NULL},                   /* lowercase scheme */
        {"Authorization: BEARER " BEARER, NULL},
        {"Authorization: Bearer wrong-token", NULL},
        {"Authorization: Bearer " BEARER "x", NULL},
        {"Authorization: Bearer  " BEARER, NULL},                  /* two spaces */
        {"Authorization: Bearer", NULL},
        {"Authorization: Basic " BEARER, NULL},
        {"Authorization: " BEARER, NULL},
        {"Authorization: Bearer wrong", "Authorization: Bearer " BEARER}, /* first one counts */
    };
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    mt_request rq;
    const char *ca;
    (void)state;

    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    ca = mockapi_tls_ca_pem(s.m);
    assert_non_null(ca);
    assert_string_equal(mockapi_bearer_token(s.m), BEARER);

    for (size_t rt = 0; rt < 3; rt++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            const char *hdrs[2];
            size_t nh = 0;
            if (bad[i][0])
                hdrs[nh++] = bad[i][0];
            if (bad[i][1])
                hdrs[nh++] = bad[i][1];
            memset(&rq, 0, sizeof rq);
            rq.method = "POST";
            rq.path = routes[rt];
            rq.headers = hdrs;
            rq.nheaders = nh;
            rq.body = "{\"x\":1}";
            rq.body_len = 7;
            rq.send_body = true;
            rq.ca_pem = ca;
            mt_perform(NULL, s.tls_base, &rq, &r);
            if (r.status != 401 || r.len != 0)
                fail_msg("POST %s with [%s]: status %ld (%s), %zu body bytes, want 401 empty",
                         routes[rt], bad[i][0] ? bad[i][0] : "no Authorization", r.status,
                         curl_easy_strerror(r.rc), r.len);
            assert_non_null(mt_header_get(&r, "Content-Length"));
            assert_string_equal(mt_header_get(&r, "Content-Length"), "0");
            assert_null(mt_header_get(&r, "Content-Type"));
            mt_response_free(&r);
        }
        assert_int_equal(mockapi_counter_get(s.m, counters[rt]), 0);
    }
    for (size_t rt = 0; rt < 3; rt++) {
        char path[64];
        snprintf(path, sizeof path, "/test/last-request/%s", keys[rt]);
        memset(&rq, 0, sizeof rq);
        rq.method = "GET";
        rq.path = path;
        rq.ca_pem = ca;
        mt_perform(NULL, s.tls_base, &rq, &r);
        assert_int_equal(r.status, 404);
        mt_response_free(&r);
        assert_int_equal(mockapi_counter_get(s.m, counters[rt]), 0);
    }

    /* the right token: 204, counted, captured; gzip bodies are captured decoded */
    for (size_t rt = 0; rt < 3; rt++) {
        const char *hdr[] = {"Authorization: Bearer " BEARER};
        char body[64], path[64];
        char *cap = NULL;
        size_t capn = 0;
        for (int z = 0; z < 2; z++) {
            snprintf(body, sizeof body, "[{\"route\":\"%s\",\"gzip\":%d}]", routes[rt], z);
            memset(&rq, 0, sizeof rq);
            rq.method = "POST";
            rq.path = routes[rt];
            rq.headers = hdr;
            rq.nheaders = 1;
            rq.body = body;
            rq.body_len = strlen(body);
            rq.send_body = true;
            rq.gzip = z == 1;
            rq.ca_pem = ca;
            mt_perform(NULL, s.tls_base, &rq, &r);
            assert_int_equal(r.status, 204);
            assert_int_equal(r.len, 0);
            mt_response_free(&r);
            assert_int_equal(mockapi_counter_get(s.m, counters[rt]), z + 1);
            assert_int_equal(mockapi_last_request(s.m, keys[rt], &cap, &capn), 0);
            assert_int_equal(capn, strlen(body));
            assert_memory_equal(cap, body, capn);
            mockapi_free_buf(cap);
            snprintf(path, sizeof path, "/test/last-request/%s", keys[rt]);
            memset(&rq, 0, sizeof rq);
            rq.method = "GET";
            rq.path = path;
            rq.ca_pem = ca;
            mt_perform(NULL, s.tls_base, &rq, &r);
            assert_int_equal(r.status, 200);
            assert_int_equal(r.len, strlen(body));
            assert_memory_equal(r.body, body, r.len);
            mt_response_free(&r);
        }
    }
    /* white space after the token is not part of the value: Go's header
     * reader trims it around every field value (RFC 9112 §5: OWS), so the
     * reference's plain comparison sees the token; the space really went
     * out on the wire */
    {
        probe pr;
        probe_opts o;
        char url[256];
        const char *hdr[] = {"Authorization: Bearer " BEARER " "};
        snprintf(url, sizeof url, "%s/local/metrics", s.tls_base);
        memset(&o, 0, sizeof o);
        o.url = url;
        o.ca_pem = ca;
        o.headers = hdr;
        o.nheaders = 1;
        o.body = "{}";
        run_probe(&o, &pr);
        assert_non_null(pr.sent);
        assert_non_null(strstr(pr.sent, "\r\nAuthorization: Bearer " BEARER " \r\n"));
        assert_int_equal(pr.status, 204);
        probe_free(&pr);
        assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_LOCAL_METRICS_COUNT), 3);
    }
    mt_server_untrack_free(&s);
}

/* ---- 13. the credential chain ------------------------------------------------ */

/* AES-256-GCM open with mbedTLS, base64 with mbedTLS: independent of the
 * library's decrypt. Returns 0 and a malloc'd plaintext, or -1. */
static int gcm_open(const unsigned char *key, const char *ct_b64, const char *nonce_b64,
                    char **pt, size_t *ptn)
{
    unsigned char ct[256], nonce[64];
    size_t ctn = 0, nn = 0;
    mbedtls_gcm_context g;
    char *out;
    int rc;
    if (mbedtls_base64_decode(ct, sizeof ct, &ctn, (const unsigned char *)ct_b64,
                              strlen(ct_b64)) != 0 ||
        mbedtls_base64_decode(nonce, sizeof nonce, &nn, (const unsigned char *)nonce_b64,
                              strlen(nonce_b64)) != 0 ||
        ctn < 16 || nn != 12)
        return -1;
    out = calloc(1, ctn - 16 + 1);
    if (!out)
        return -1;
    mbedtls_gcm_init(&g);
    rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
    if (rc == 0)
        rc = mbedtls_gcm_auth_decrypt(&g, ctn - 16, nonce, nn, NULL, 0, ct + ctn - 16, 16, ct,
                                      (unsigned char *)out);
    mbedtls_gcm_free(&g);
    if (rc != 0) {
        free(out);
        return -1;
    }
    *pt = out;
    *ptn = ctn - 16;
    return 0;
}

static void chain_register_to_local_metrics(void **state)
{
    static const char want_secret[] =
        "{\"key\":\"local-bearer-token\",\"ciphertext\":"
        "\"l/T2Pmeub3tfdM3TNH1QgWaoferB10sP0XA3w2iTgk4puIt5RWM=\",\"nonce\":\"AAAAAAAAAAAAAAAA\","
        "\"version\":1}\n";
    static const char metrics[] = "[{\"name\":\"cpu_usage\",\"value\":0.25,\"labels\":{\"a\":\"<b>\"}}]";
    mockapi_config cfg;
    mt_server s;
    mt_response r;
    mt_request rq;
    json_t *reg, *sec;
    char path[128], auth[128], lh[128], *pt = NULL, *pt2 = NULL;
    size_t ptn = 0, pt2n = 0;
    const char *node, *nsk, *ca;
    int64_t v = -1;
    (void)state;

    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    ca = mockapi_tls_ca_pem(s.m);
    assert_non_null(ca);

    /* register: the node id and the NSK */
    mt_send(NULL, s.base, "POST", "/v1/register", "{\"hostname\":\"e2e\"}", &r);
    assert_int_equal(r.status, 200);
    reg = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    node = mt_jstr(reg, "node_id");
    nsk = mt_jstr(reg, "node_secret_key");
    assert_int_equal(strlen(nsk), 32);
    assert_string_equal(nsk, mockapi_nsk(s.m));

    /* the secret */
    snprintf(path, sizeof path, "/v1/nodes/%s/secrets/local-bearer-token", node);
    mt_get(NULL, s.base, path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, sizeof want_secret - 1);
    assert_memory_equal(r.body, want_secret, r.len);
    sec = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    assert_int_equal(mt_jint(sec, "version"), 1);
    assert_string_equal(mt_jstr(sec, "key"), "local-bearer-token");
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_SECRETS_COUNT), 1);

    /* decrypt: the library, then mbedTLS directly */
    assert_int_equal(mockapi_decrypt_secret(nsk, strlen(nsk), mt_jstr(sec, "ciphertext"),
                                            mt_jstr(sec, "nonce"), &pt, &ptn),
                     0);
    assert_int_equal(ptn, strlen(BEARER));
    assert_string_equal(pt, BEARER);
    assert_int_equal(gcm_open((const unsigned char *)nsk, mt_jstr(sec, "ciphertext"),
                              mt_jstr(sec, "nonce"), &pt2, &pt2n),
                     0);
    assert_int_equal(pt2n, ptn);
    assert_memory_equal(pt2, pt, ptn);
    free(pt2);

    /* the bearer on the verified TLS listener, by name */
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", pt);
    mockapi_free_buf(pt);
    snprintf(lh, sizeof lh, "https://localhost:%d", mockapi_port(s.m, MOCKAPI_LISTENER_TLS));
    {
        const char *hdr[] = {auth};
        memset(&rq, 0, sizeof rq);
        rq.method = "POST";
        rq.path = "/local/metrics";
        rq.headers = hdr;
        rq.nheaders = 1;
        rq.body = metrics;
        rq.body_len = sizeof metrics - 1;
        rq.send_body = true;
        rq.ca_pem = ca;
        mt_perform(NULL, lh, &rq, &r);
        if (r.status != 204)
            fail_msg("POST %s/local/metrics: status %ld (%s: %s)", lh, r.status,
                     curl_easy_strerror(r.rc), r.error);
        mt_response_free(&r);
    }
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_LOCAL_METRICS_COUNT), 1);
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = "/test/assertions";
    rq.ca_pem = ca;
    mt_perform(NULL, lh, &rq, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(mt_assertion_value(r.body, r.len, "local_metrics_count", &v), 0);
    assert_int_equal(v, 1);
    mt_response_free(&r);
    rq.path = "/test/last-request/local_metrics";
    mt_perform(NULL, lh, &rq, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, sizeof metrics - 1);
    assert_memory_equal(r.body, metrics, r.len);
    mt_response_free(&r);

    json_decref(reg);
    json_decref(sec);
    mt_server_untrack_free(&s);
}

static void chain_decrypt_errors(void **state)
{
    static const char ct[] = "l/T2Pmeub3tfdM3TNH1QgWaoferB10sP0XA3w2iTgk4puIt5RWM=";
    static const char nonce[] = "AAAAAAAAAAAAAAAA";
    static const char nsk[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    char wrong[33], bad_ct[sizeof ct], *pt = NULL;
    unsigned char raw[64], enc[128];
    size_t rawn = 0, encn = 0, ptn = 0;
    (void)state;

    /* the control: the right inputs work */
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, nonce, &pt, &ptn), 0);
    assert_string_equal(pt, BEARER);
    mockapi_free_buf(pt);
    pt = NULL;

    /* wrong key: one byte changed, or the wrong length */
    memcpy(wrong, nsk, sizeof wrong);
    wrong[31] = '6';
    assert_int_equal(mockapi_decrypt_secret(wrong, 32, ct, nonce, &pt, &ptn), MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 31, ct, nonce, &pt, &ptn), MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 16, ct, nonce, &pt, &ptn), MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 0, ct, nonce, &pt, &ptn), MOCKAPI_ECRYPTO);

    /* tampered ciphertext, tampered tag (one bit each, re-encoded) */
    for (int where = 0; where < 2; where++) {
        assert_int_equal(mbedtls_base64_decode(raw, sizeof raw, &rawn, (const unsigned char *)ct,
                                               strlen(ct)),
                         0);
        assert_int_equal(rawn, 38);
        raw[where == 0 ? 3 : rawn - 1] ^= 0x01;
        assert_int_equal(mbedtls_base64_encode(enc, sizeof enc, &encn, raw, rawn), 0);
        assert_int_equal(mockapi_decrypt_secret(nsk, 32, (char *)enc, nonce, &pt, &ptn),
                         MOCKAPI_ECRYPTO);
    }
    /* truncated: shorter than a tag */
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, "AAAA", nonce, &pt, &ptn), MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, "", nonce, &pt, &ptn), MOCKAPI_ECRYPTO);

    /* bad base64: junk, URL alphabet, missing padding */
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, "!!!not base64!!!", nonce, &pt, &ptn),
                     MOCKAPI_ECRYPTO);
    memcpy(bad_ct, ct, sizeof ct);
    bad_ct[1] = '_'; /* '/' in the URL alphabet */
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, bad_ct, nonce, &pt, &ptn), MOCKAPI_ECRYPTO);
    memcpy(bad_ct, ct, sizeof ct);
    bad_ct[strlen(bad_ct) - 1] = '\0'; /* the '=' dropped */
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, bad_ct, nonce, &pt, &ptn), MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, "AAAA*AAAAAAAAAAA", &pt, &ptn),
                     MOCKAPI_ECRYPTO);

    /* wrong nonce: 8 and 16 bytes, or 12 bytes that differ */
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, "AAAAAAAAAAA=", &pt, &ptn),
                     MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, "AAAAAAAAAAAAAAAAAAAAAA==", &pt, &ptn),
                     MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, "AQAAAAAAAAAAAAAA", &pt, &ptn),
                     MOCKAPI_ECRYPTO);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, "", &pt, &ptn), MOCKAPI_ECRYPTO);
    assert_null(pt);

    /* NULL arguments */
    assert_int_equal(mockapi_decrypt_secret(NULL, 32, ct, nonce, &pt, &ptn), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, NULL, nonce, &pt, &ptn), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, NULL, &pt, &ptn), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_decrypt_secret(nsk, 32, ct, nonce, NULL, &ptn), MOCKAPI_EINVAL);
    /* len is documented as an output but the header does not say it may be
     * NULL: accept EINVAL or success (then the plaintext must be right) */
    {
        int rc = mockapi_decrypt_secret(nsk, 32, ct, nonce, &pt, NULL);
        if (rc == MOCKAPI_OK) {
            assert_non_null(pt);
            assert_string_equal(pt, BEARER);
            mockapi_free_buf(pt);
            pt = NULL;
        } else {
            assert_int_equal(rc, MOCKAPI_EINVAL);
        }
    }

    /* the independent decrypt agrees on what fails */
    {
        char *p2 = NULL;
        size_t p2n = 0;
        assert_int_equal(gcm_open((const unsigned char *)wrong, ct, nonce, &p2, &p2n), -1);
        assert_int_equal(gcm_open((const unsigned char *)nsk, ct, "AQAAAAAAAAAAAAAA", &p2, &p2n),
                         -1);
        assert_null(p2);
    }
}

int mt_run_stream_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sse_head_and_initial_event, teardown_servers),
        cmocka_unit_test_teardown(sse_initial_ids_count_streams, teardown_servers),
        cmocka_unit_test_teardown(sse_node_id_escaping, teardown_servers),
        {"sse_status_json_ctl_id", sse_status_json_node_id, NULL, teardown_servers,
         (void *)&status_ctl},
        {"sse_status_json_utf8_id", sse_status_json_node_id, NULL, teardown_servers,
         (void *)&status_utf8},
        {"sse_status_json_bad_utf8_id", sse_status_json_node_id, NULL, teardown_servers,
         (void *)&status_bad_utf8},
        {"sse_status_json_long_id", sse_status_json_node_id, NULL, teardown_servers,
         (void *)&status_long},
        cmocka_unit_test_teardown(sse_signatures_independent, teardown_servers),
        cmocka_unit_test_teardown(sse_fanout_three_streams, teardown_servers),
        cmocka_unit_test_teardown(sse_no_loss_after_head, teardown_servers),
        cmocka_unit_test_teardown(sse_last_event_id_replay, teardown_servers),
        cmocka_unit_test_teardown(sse_replay_history_bound, teardown_servers),
        cmocka_unit_test_teardown(sse_slow_client_drops_newest, teardown_servers),
        cmocka_unit_test_teardown(sse_drop_then_recover_no_silent_gap, teardown_servers),
        cmocka_unit_test_teardown(sse_keepalive_comments, teardown_servers),
        cmocka_unit_test_teardown(sse_disconnect_cycles, teardown_servers),
        cmocka_unit_test_teardown(sse_max_clients_cap, teardown_servers),
        cmocka_unit_test_teardown(sse_head_ends, teardown_servers),
        cmocka_unit_test_teardown(sse_stop_with_streams, teardown_servers),
        cmocka_unit_test_teardown(tls_verified_and_certificate, teardown_servers),
        cmocka_unit_test_teardown(tls_bearer_rules, teardown_servers),
        cmocka_unit_test_teardown(chain_register_to_local_metrics, teardown_servers),
        cmocka_unit_test_teardown(chain_decrypt_errors, teardown_servers),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
