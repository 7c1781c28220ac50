/* test_strict_attack.c: the strict profile attacked where the sp_* tests
 * (test_strict.c) do not look, tests named spa_*:
 *
 *  - spa_local_skip_auth: skip-auth on /local/... (TLS) of a strict session:
 *    the journal may say "skipped" only when nothing refused the credential;
 *  - spa_registry_budget: a session's node registry keeps the hostnames it
 *    is sent; -sessions-max-bytes must bound it as it bounds the captures;
 *  - spa_sessions_required: -profile strict with -sessions required: the
 *    428 a sessionless agent request gets is problem+json;
 *  - spa_rotation_replay: a completion replayed with another node's key;
 *  - spa_reregister: a deregistered node registers again: the old key stays
 *    revoked, the new one works;
 *  - spa_head: HEAD on strict routes: a 401 and a 405 without a body and
 *    with the GET's headers;
 *  - spa_race_reset: heartbeats, rotation triggers and completions racing
 *    POST /test/reset and DELETE /test/sessions/{id}, and a register/
 *    deregister churn (run under TSan);
 *  - spa_bad_escape, spa_fault_title: problem+json where the reference
 *    answer leaked through (a bad %-escape; a status Go has no text for);
 *  - spa_profile_nul: "profile":"strict\u0000junk" refused;
 *  - spa_events_resume_ids: ids on a resumed stream go up, never repeat;
 *  - spa_inject_upper: inject-event ?node= in upper case reaches the stream;
 *  - spa_endpoint_broadcast: 255.255.255.255 is no peer's endpoint;
 *  - spa_trigger_budget: a trigger whose event cannot be kept says so.
 *
 * Every server listens on 127.0.0.1:0; every wait has a deadline; nothing
 * sleeps. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"
#include "sse_client.h"

enum { WAIT_MS = 15000 };

#define SUM "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PK1 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define PK2 "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A="

/* ---- requests ----------------------------------------------------------- */

/* One request on a fresh connection: hdrs zero or more complete header
 * lines, body blen bytes (NULL: no Content-Length). The status. */
static int rq_n(const mt_server *s, const char *method, const char *path, const char *hdrs, const void *body,
                size_t blen, rc_resp *r)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    char *h = rc_fmt("%s %s HTTP/1.1\r\nHost: x\r\n%s", method, path, hdrs ? hdrs : "");
    char *h2 = body ? rc_fmt("%sContent-Length: %zu\r\n\r\n", h, blen) : rc_fmt("%s\r\n", h);
    free(h);
    if (rc_send_n(c, h2, strlen(h2)) != 0 || (body && blen && rc_send_n(c, body, blen) != 0)) {
        /* the server may answer and close before the body is all sent */
    }
    free(h2);
    int st = rc_read(c, mt_now_ms() + WAIT_MS, r);
    if (st == 0)
        fail_msg("%s %s: no response", method, path);
    rc_close(c);
    return st;
}

static int rq(const mt_server *s, const char *method, const char *path, const char *hdrs, const char *body,
              rc_resp *r)
{
    return rq_n(s, method, path, hdrs, body, body ? strlen(body) : 0, r);
}

static int call(const mt_server *s, const char *method, const char *path, const char *hdrs, const char *body)
{
    rc_resp r;
    int st = rq(s, method, path, hdrs, body, &r);
    rc_resp_free(&r);
    return st;
}

/* The first header called name in r's head, trimmed, in out; NULL: none. */
static const char *hdr(const rc_resp *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (!end || (size_t)(end - line) <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
            continue;
        const char *v = line + nl + 1;
        while (*v == ' ')
            v++;
        size_t vl = (size_t)(end - v);
        if (vl >= n)
            vl = n - 1;
        memcpy(out, v, vl);
        out[vl] = '\0';
        return out;
    }
    return NULL;
}

static json_t *get_json(const mt_server *s, const char *path)
{
    rc_resp r;
    int st = rq(s, "GET", path, NULL, NULL, &r);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("GET %s: %d %s", path, st, sh);
    }
    json_t *j = mt_parse_json(r.body, r.body_len);
    rc_resp_free(&r);
    return j;
}

/* status/code of a problem+json answer, or fails. */
static void expect_code(const rc_resp *r, int status, const char *code, const char *what)
{
    char ct[128];
    char *sh = mt_show(r->body, r->body_len);
    if (r->status != status || !hdr(r, "Content-Type", ct, sizeof ct) ||
        strcmp(ct, "application/problem+json") != 0)
        fail_msg("%s: %d [%s] %s, want %d application/problem+json %s", what, r->status,
                 hdr(r, "Content-Type", ct, sizeof ct) ? ct : "", sh, status, code);
    json_t *j = mt_parse_json(r->body, r->body_len);
    if (strcmp(mt_jstr(j, "code"), code) != 0)
        fail_msg("%s: code %s, want %s (%s)", what, mt_jstr(j, "code"), code, sh);
    json_decref(j);
    free(sh);
}

static void wall_rfc3339(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02dZ", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
}

static char *hb_body(void)
{
    char now[40];
    wall_rfc3339(now);
    return rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"" SUM "\",\"binary_version\":\"1.2.3\"}", now);
}

/* ---- nodes ------------------------------------------------------------------ */

typedef struct node {
    char id[64];
    char nsk[64];
    char auth[128]; /* "Authorization: Bearer <nsk>\r\n" */
} node;

/* POST pre/v1/register: the status; n filled on 200. */
static int reg_host(const mt_server *s, const char *pre, const char *host, node *n)
{
    char *path = rc_fmt("%s/v1/register", pre);
    char *body = rc_fmt("{\"token\":\"bt\",\"public_key\":\"" PK1 "\",\"hostname\":\"%s\"}", host);
    rc_resp r;
    int st = rq(s, "POST", path, "Content-Type: application/json\r\n", body, &r);
    free(path);
    free(body);
    if (st == 200 && n) {
        json_t *j = mt_parse_json(r.body, r.body_len);
        snprintf(n->id, sizeof n->id, "%s", mt_jstr(j, "node_id"));
        snprintf(n->nsk, sizeof n->nsk, "%s", mt_jstr(j, "node_secret_key"));
        snprintf(n->auth, sizeof n->auth, "Authorization: Bearer %s\r\n", n->nsk);
        json_decref(j);
    }
    rc_resp_free(&r);
    return st;
}

static void reg(const mt_server *s, const char *pre, node *n)
{
    int st = reg_host(s, pre, "h1", n);
    if (st != 200)
        fail_msg("register: %d", st);
}

static void strict_server(mt_server *s)
{
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.profile = MOCKAPI_PROFILE_STRICT;
    rc_start(s, &cfg, false);
}

/* The newest journal entry of route (a /test/requests filter). */
static json_t *last_entry(const mt_server *s, const char *route)
{
    char *p = rc_fmt("/test/requests?route=%s", route);
    json_t *j = get_json(s, p);
    free(p);
    json_t *es = json_object_get(j, "entries");
    json_t *e = json_incref(json_array_get(es, json_array_size(es) - 1));
    json_decref(j);
    if (!e)
        fail_msg("no journal entry for route %s", route);
    return e;
}

/* ---- the attacks ---------------------------------------------------------------- */

/* A strict session's /local/... with X-Mockapi-Fault: skip-auth and no
 * bearer: either the credential check is skipped (not a 401) or the journal
 * does not say it was. Today the answer is 401 unauthorized and the journal
 * says "skipped":true. */
static void spa_local_skip_auth(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.profile = MOCKAPI_PROFILE_STRICT;
    mt_server s;
    rc_start(&s, &cfg, true);
    const char *hd[] = {"X-Mockapi-Fault: skip-auth", "Content-Type: application/json"};
    mt_request q = {.method = "POST", .path = "/local/metrics", .headers = hd, .nheaders = 2, .body = "{}",
                    .body_len = 2, .send_body = true, .insecure = true, .timeout_ms = WAIT_MS};
    mt_response r;
    mt_perform(NULL, s.tls_base, &q, &r);
    long status = r.status;
    char *sh = mt_show(r.body, r.len);
    mt_response_free(&r);
    json_t *e = last_entry(&s, "local_metrics");
    json_t *au = json_object_get(e, "auth");
    bool skipped = json_is_true(json_object_get(au, "skipped"));
    if (status == 401 && skipped)
        fail_msg("POST /local/metrics with skip-auth: 401 (%s), yet the journal says the credential check was "
                 "skipped (\"skipped\":true)", sh);
    free(sh);
    json_decref(e);
    /* sessions chosen by header on the TLS listener: a reference one keeps
     * its 401 (skip-auth changes nothing there), a strict one answers
     * problem+json */
    for (int strict = 0; strict < 2; strict++) {
        rc_resp cr;
        rq(&s, "POST", "/test/sessions", NULL, strict ? "{\"profile\":\"strict\"}" : "{\"profile\":\"reference\"}",
           &cr);
        json_t *sj = mt_parse_json(cr.body, cr.body_len);
        char *sel = rc_fmt("X-Mockapi-Session: %s", mt_jstr(sj, "id"));
        json_decref(sj);
        rc_resp_free(&cr);
        const char *h3[] = {"X-Mockapi-Fault: skip-auth", "Content-Type: application/json", sel};
        q.headers = h3;
        q.nheaders = 3;
        q.path = strict ? "/local/nope" : "/local/metrics";
        mt_perform(NULL, s.tls_base, &q, &r);
        const char *ct = mt_header_get(&r, "Content-Type");
        if (strict ? r.status != 404 || !ct || strcmp(ct, "application/problem+json") != 0
                   : r.status != 401 || (ct && strcmp(ct, "application/problem+json") == 0)) {
            char *b = mt_show(r.body, r.len);
            fail_msg("%s session by header, TLS POST %s with skip-auth: %ld [%s] %s", strict ? "strict" : "reference",
                     q.path, r.status, ct ? ct : "", b);
        }
        mt_response_free(&r);
        free(sel);
    }
}

/* A session's node registry is what it keeps of its bodies: 64 nodes with
 * 64 KiB hostnames (4 MiB) in a session under -sessions-max-bytes 1 MiB must
 * not all be kept (507 store_full, or the hostname refused). Today every
 * register succeeds: the registry is outside the budget (250 nodes x 1 MiB
 * hostnames = 250 MB per session, 256 sessions: 64 GB). */
static void spa_registry_budget(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.profile = MOCKAPI_PROFILE_STRICT;
    cfg.sessions_max_bytes = 1u << 20;
    cfg.journal_max_entries = 16;
    mt_server s;
    rc_start(&s, &cfg, false);
    rc_resp r;
    int cs = rq(&s, "POST", "/test/sessions", NULL, "{\"profile\":\"strict\"}", &r);
    assert_true(cs == 200 || cs == 201);
    json_t *j = mt_parse_json(r.body, r.body_len);
    char pre[64];
    snprintf(pre, sizeof pre, "/s/%s", mt_jstr(j, "id"));
    json_decref(j);
    rc_resp_free(&r);
    enum { HOST = 64 * 1024, N = 64 };
    char *host = malloc(HOST + 1);
    assert_non_null(host);
    memset(host, 'h', HOST);
    host[HOST] = '\0';
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        int st = reg_host(&s, pre, host, NULL);
        if (st == 200)
            ok++;
        else
            refused++;
    }
    free(host);
    if ((size_t)ok * HOST > cfg.sessions_max_bytes)
        fail_msg("%d registers with a %d-byte hostname kept (%zu bytes) in a session under -sessions-max-bytes "
                 "%zu; %d refused",
                 ok, HOST, (size_t)ok * HOST, cfg.sessions_max_bytes, refused);
}

/* -profile strict -sessions required: an agent's request with no session
 * is refused 428; a strict server answers its agent-facing errors as
 * problem+json. Today: {"error":...} application/json. */
static void spa_sessions_required(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.profile = MOCKAPI_PROFILE_STRICT;
    cfg.sessions = MOCKAPI_SESSIONS_REQUIRED;
    mt_server s;
    rc_start(&s, &cfg, false);
    rc_resp r;
    rq(&s, "POST", "/v1/nodes/01890000-0000-7000-8000-000000000001/heartbeat", NULL, "{}", &r);
    char ct[128];
    bool ok = r.status == 428 && hdr(&r, "Content-Type", ct, sizeof ct) && strcmp(ct, "application/problem+json") == 0;
    char msg[600];
    char *sh = mt_show(r.body, r.body_len);
    snprintf(msg, sizeof msg, "strict, -sessions required, no session: %d [%s] %.400s; want 428 application/problem+json",
             r.status, hdr(&r, "Content-Type", ct, sizeof ct) ? ct : "", sh ? sh : "");
    free(sh);
    rc_resp_free(&r);
    if (!ok)
        fail_msg("%s", msg);
}

/* A's rotation is pending; B replays A's completion body with B's key:
 * 409 for B (B has nothing pending), A's rotation untouched; A completes. */
static void spa_rotation_replay(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a, b;
    reg(&s, "", &a);
    reg(&s, "", &b);
    char *p = rc_fmt("/v1/nodes/%s/keys/rotate", a.id);
    assert_int_equal(call(&s, "POST", p, "Authorization: Bearer psk_op\r\n", ""), 200);
    free(p);
    const char *body = "{\"new_public_key\":\"" PK2 "\"}";
    rc_resp r;
    rq(&s, "POST", "/v1/keys/rotate", b.auth, body, &r);
    expect_code(&r, 409, "keys_rotate_no_pending_rotation", "B replays A's completion");
    rc_resp_free(&r);
    json_t *e = last_entry(&s, "key_rotate");
    json_t *au = json_object_get(e, "auth");
    assert_string_equal(mt_jstr(au, "class"), "node_key");
    assert_string_equal(mt_jstr(au, "node"), b.id);
    json_decref(e);
    rq(&s, "POST", "/v1/keys/rotate", a.auth, body, &r);
    if (r.status != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("A completes its own rotation after B's replay: %d %s", r.status, sh);
    }
    rc_resp_free(&r);
    /* the same completion again: the same receipt, not a second rotation */
    assert_int_equal(call(&s, "POST", "/v1/keys/rotate", a.auth, body), 200);
    rq(&s, "POST", "/v1/keys/rotate", b.auth, body, &r);
    expect_code(&r, 409, "keys_rotate_no_pending_rotation", "B after A completed");
    rc_resp_free(&r);
}

/* A deregisters and registers again: a new id and key; the old key is
 * revoked everywhere (its new node's path too), the new one works. */
static void spa_reregister(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a, a2;
    reg(&s, "", &a);
    char *p = rc_fmt("/v1/nodes/%s/deregister", a.id);
    int st = call(&s, "POST", p, a.auth, "");
    assert_true(st == 204);
    free(p);
    reg(&s, "", &a2);
    assert_string_not_equal(a.id, a2.id);
    assert_string_not_equal(a.nsk, a2.nsk);
    char *hb = hb_body();
    rc_resp r;
    p = rc_fmt("/v1/nodes/%s/heartbeat", a2.id);
    rq(&s, "POST", p, a.auth, hb, &r);
    expect_code(&r, 401, "nsk_revoked", "the old key on the new node");
    rc_resp_free(&r);
    json_t *e = last_entry(&s, "heartbeat");
    assert_string_equal(mt_jstr(json_object_get(e, "auth"), "class"), "revoked");
    json_decref(e);
    assert_int_equal(call(&s, "POST", p, a2.auth, hb), 200);
    free(p);
    free(hb);
    json_t *j = get_json(&s, "/test/nodes");
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 1);
    assert_int_equal(mt_jint(j, "revoked"), 1);
    /* the freed mesh IP may be reused; the node's is a 10.99.0.x */
    json_decref(j);
}

/* HEAD on strict routes: a 401 with WWW-Authenticate and Content-Length,
 * no body; HEAD on a POST-only route is 405 with Allow. */
static void spa_head(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a;
    reg(&s, "", &a);
    char *p = rc_fmt("/v1/nodes/%s/reachability", a.id);
    mt_request q = {.method = "HEAD", .path = p, .timeout_ms = WAIT_MS};
    mt_response r;
    mt_perform(NULL, s.base, &q, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(mt_header_get(&r, "WWW-Authenticate"));
    assert_string_equal(mt_header_get(&r, "Content-Type"), "application/problem+json");
    assert_non_null(mt_header_get(&r, "Content-Length"));
    assert_int_equal(r.len, 0);
    mt_response_free(&r);
    free(p);
    p = rc_fmt("/v1/nodes/%s/heartbeat", a.id);
    q.path = p;
    mt_perform(NULL, s.base, &q, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(mt_header_get(&r, "Allow"));
    assert_string_equal(mt_header_get(&r, "Content-Type"), "application/problem+json");
    assert_int_equal(r.len, 0);
    mt_response_free(&r);
    free(p);
}

/* A path with a bad percent-escape on a strict agent route: 400, as the
 * reference (and Go) answer, but as problem+json (every strict error is);
 * it was the reference's text/plain "400 Bad Request". */
static void spa_bad_escape(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a;
    reg(&s, "", &a);
    const char *paths[] = {"/v1/nodes/%zz/heartbeat", "/v1/nodes/%4/heartbeat", "/v1/register%"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        rc_resp r;
        rq(&s, "POST", paths[i], a.auth, "{}", &r);
        expect_code(&r, 400, "malformed_request", paths[i]);
        json_t *j = mt_parse_json(r.body, r.body_len);
        assert_string_equal(mt_jstr(j, "instance"), paths[i]);
        json_decref(j);
        rc_resp_free(&r);
    }
    /* a reference session keeps Go's answer */
    rc_resp r;
    rq(&s, "POST", "/test/sessions", NULL, "{\"profile\":\"reference\"}", &r);
    json_t *j = mt_parse_json(r.body, r.body_len);
    char *p = rc_fmt("/s/%s/v1/nodes/%%zz/heartbeat", mt_jstr(j, "id"));
    json_decref(j);
    rc_resp_free(&r);
    assert_int_equal(rq(&s, "POST", p, NULL, "{}", &r), 400);
    char ct[128];
    assert_non_null(hdr(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/plain; charset=utf-8");
    assert_int_equal(r.body_len, 15);
    rc_resp_free(&r);
    free(p);
}

/* ---- event ids on a resumed stream --------------------------------------- */

static int collect_until(sse_client *c, const char *marker, char ids[][32], char evs[][32], int max)
{
    int n = 0;
    int64_t dl = mt_now_ms() + WAIT_MS;
    for (;;) {
        sse_event ev;
        int r = sse_next(c, &ev, dl);
        if (r != 1)
            fail_msg("event stream: no %s (%s) after %d frames", marker, r == 0 ? "deadline" : "ended", n);
        bool mark = marker && ev.data && strstr(ev.data, marker);
        if (n < max) {
            snprintf(ids[n], 32, "%s", ev.id ? ev.id : "");
            const char *k = ev.data ? strstr(ev.data, "\"event_id\":\"") : NULL;
            snprintf(evs[n], 32, "%.*s", k ? (int)strcspn(k + 12, "\"") : 0, k ? k + 12 : "");
            n++;
        }
        sse_event_free(&ev);
        if (mark || !marker)
            return n;
    }
}

static void inject(const mt_server *s, const char *id)
{
    char *b = rc_fmt("{\"event_type\":\"node_state_updated\",\"event_id\":\"%s\",\"nonce\":\"n-%s\",\"payload\":{}}",
                     id, id);
    assert_int_equal(call(s, "POST", "/test/inject-event", NULL, b), 204);
    free(b);
}

/* A stream resumed with Last-Event-ID: the frames' ids must go up and never
 * repeat (a client keeps the last id it saw as its cursor). Today the
 * stream's first frame (node_state_updated) carries the newest event's id,
 * then the replay follows with lower ids, and the newest id comes twice.
 * So a client that drops after that first frame and resumes from its id (as
 * EventSource does) never gets the replayed events: they are lost. */
static void spa_events_resume_ids(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a;
    reg(&s, "", &a);
    char evp[192], auth[160], lei[64];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a.nsk);
    sse_client c;
    const char *h1[] = {auth};
    assert_int_equal(sse_open(&c, rc_http_port(&s), evp, h1, 1, mt_now_ms() + WAIT_MS), 200);
    assert_int_equal(call(&s, "GET", "/test/sse/wait?clients=1&timeout_ms=10000", NULL, NULL), 200);
    inject(&s, "x-1");
    inject(&s, "x-2");
    inject(&s, "x-3");
    char ids[16][32], evs[16][32];
    int n = collect_until(&c, "x-3", ids, evs, 16);
    sse_close(&c);
    char id1[32] = "";
    for (int i = 0; i < n; i++)
        if (strcmp(evs[i], "x-1") == 0)
            snprintf(id1, sizeof id1, "%.31s", ids[i]);
    assert_true(id1[0] != '\0');

    /* 1. resumed after x-1: ids strictly up */
    snprintf(lei, sizeof lei, "Last-Event-ID: %s", id1);
    const char *h2[] = {auth, lei};
    assert_int_equal(sse_open(&c, rc_http_port(&s), evp, h2, 2, mt_now_ms() + WAIT_MS), 200);
    assert_int_equal(call(&s, "GET", "/test/sse/wait?clients=1&timeout_ms=10000", NULL, NULL), 200);
    inject(&s, "m-1");
    n = collect_until(&c, "m-1", ids, evs, 16);
    sse_close(&c);
    char seen[1200] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(seen);
        if (l < 1100)
            snprintf(seen + l, sizeof seen - l, "%s%.20s(%.20s)", i ? " " : "", ids[i], evs[i]);
    }
    uint64_t prev = strtoull(id1, NULL, 10);
    for (int i = 0; i < n; i++) {
        if (!ids[i][0])
            continue;
        uint64_t v = strtoull(ids[i], NULL, 10);
        if (v <= prev)
            fail_msg("resumed after %s: frame %d's id %s is not above the last id before it (%" PRIu64
                     "); the stream: %s",
                     id1, i, ids[i], prev, seen);
        prev = v;
    }

    /* 2. the client drops after the first frame and resumes from its id:
     * x-2 and x-3, which it never saw, must still come */
    assert_int_equal(sse_open(&c, rc_http_port(&s), evp, h2, 2, mt_now_ms() + WAIT_MS), 200);
    n = collect_until(&c, NULL, ids, evs, 1);
    sse_close(&c);
    char cursor[64];
    snprintf(cursor, sizeof cursor, "Last-Event-ID: %s", ids[0][0] ? ids[0] : id1);
    const char *h3[] = {auth, cursor};
    assert_int_equal(sse_open(&c, rc_http_port(&s), evp, h3, 2, mt_now_ms() + WAIT_MS), 200);
    assert_int_equal(call(&s, "GET", "/test/sse/wait?clients=1&timeout_ms=10000", NULL, NULL), 200);
    inject(&s, "m-2");
    n = collect_until(&c, "m-2", ids, evs, 16);
    sse_close(&c);
    bool got2 = false, got3 = false;
    for (int i = 0; i < n; i++) {
        got2 |= strcmp(evs[i], "x-2") == 0;
        got3 |= strcmp(evs[i], "x-3") == 0;
    }
    if (!got2 || !got3)
        fail_msg("a client that resumed after %s saw only the first frame (id %s), resumed with [%s]: x-2 %s, "
                 "x-3 %s",
                 id1, cursor + 15, cursor, got2 ? "came" : "lost", got3 ? "came" : "lost");
}

/* POST /test/sessions {"profile":"strict\u0000junk"}: not a profile (the
 * name member refuses a NUL; profile compared only up to it). */
static void spa_profile_nul(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    static const char *const bodies[] = {"{\"profile\":\"strict\\u0000junk\"}", "{\"profile\":\"reference\\u0000\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        rc_resp r;
        int st = rq(&s, "POST", "/test/sessions", NULL, bodies[i], &r);
        if (st != 400) {
            char *sh = mt_show(r.body, r.body_len);
            fail_msg("POST /test/sessions %s: %d %s, want 400", bodies[i], st, sh);
        }
        rc_resp_free(&r);
    }
}

/* A status= fault Go has no text for (599, 430): the problem's title is the
 * status line's reason phrase ("status code 599"), as for every other
 * status; it was "Error". */
static void spa_fault_title(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    static const char *const st[] = {"599", "430", "418"};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        char *f = rc_fmt("X-Mockapi-Fault: status=%s\r\n", st[i]);
        rc_resp r;
        rq(&s, "POST", "/v1/nodes/01890000-0000-7000-8000-000000000001/heartbeat", f, "{}", &r);
        free(f);
        assert_int_equal(r.status, atoi(st[i]));
        expect_code(&r, r.status, "injected_fault", st[i]);
        const char *p = strchr(r.head, ' ');
        p = p ? strchr(p + 1, ' ') : NULL;
        const char *e = strstr(r.head, "\r\n");
        char reason[64];
        snprintf(reason, sizeof reason, "%.*s", p && e > p ? (int)(e - p - 1) : 0, p ? p + 1 : "");
        json_t *j = mt_parse_json(r.body, r.body_len);
        if (strcmp(mt_jstr(j, "title"), reason) != 0)
            fail_msg("status=%s: title \"%s\", the status line says \"%s\"", st[i], mt_jstr(j, "title"), reason);
        json_decref(j);
        rc_resp_free(&r);
    }
}

/* A rotation trigger in a session whose -sessions-max-bytes is spent: the
 * rotate_keys event does not fit in the event history. The trigger must
 * then not answer 200 "already_pending":false with no event (the agent is
 * never told; every later trigger says already_pending, still no event):
 * either 507 store_full or the event on the node's open stream. Today the
 * event is dropped silently. */
static void spa_trigger_budget(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.profile = MOCKAPI_PROFILE_STRICT;
    cfg.sessions_max_bytes = 1000;
    mt_server s;
    rc_start(&s, &cfg, false);
    rc_resp r;
    int cs = rq(&s, "POST", "/test/sessions", NULL, "{}", &r);
    assert_true(cs == 200 || cs == 201);
    json_t *j = mt_parse_json(r.body, r.body_len);
    char pre[64];
    snprintf(pre, sizeof pre, "/s/%s", mt_jstr(j, "id"));
    json_decref(j);
    rc_resp_free(&r);
    node a;
    reg(&s, pre, &a);
    /* the node (its registry entry is charged too) and a 200-byte capture
     * spend most of the budget: no room is left for an event */
    char big[200];
    memset(big, 'a', sizeof big);
    memcpy(big, "{\"x\":\"", 6);
    memcpy(big + sizeof big - 3, "\"}", 3);
    char *p = rc_fmt("%s/v1/nodes/%s/drift", pre, a.id);
    assert_int_equal(call(&s, "POST", p, a.auth, big), 204);
    free(p);
    char evp[192], auth[160];
    snprintf(evp, sizeof evp, "%s/v1/nodes/%s/events", pre, a.id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a.nsk);
    sse_client c;
    const char *h1[] = {auth};
    assert_int_equal(sse_open(&c, rc_http_port(&s), evp, h1, 1, mt_now_ms() + WAIT_MS), 200);
    char *w = rc_fmt("%s/test/sse/wait?clients=1&timeout_ms=10000", pre);
    assert_int_equal(call(&s, "GET", w, NULL, NULL), 200);
    free(w);
    p = rc_fmt("%s/v1/nodes/%s/keys/rotate", pre, a.id);
    int st = call(&s, "POST", p, "Authorization: Bearer psk_op\r\n", "");
    free(p);
    if (st == 507) {
        sse_close(&c);
        return;
    }
    assert_int_equal(st, 200);
    bool got = false;
    int64_t dl = mt_now_ms() + WAIT_MS / 3;
    for (;;) {
        sse_event ev;
        if (sse_next(&c, &ev, dl) != 1)
            break;
        got = ev.event && strcmp(ev.event, "rotate_keys") == 0;
        sse_event_free(&ev);
        if (got)
            break;
    }
    sse_close(&c);
    if (!got)
        fail_msg("the trigger answered 200 (a new rotation), and no rotate_keys event came on the node's stream "
                 "(the session's budget is spent: the event was dropped, nothing said so)");
}

/* An endpoint on the limited broadcast address (255.255.255.255, also as
 * ::ffff:255.255.255.255) is no peer's: endpoint_unparseable, as loopback,
 * multicast and link-local are (Go's IsGlobalUnicast refuses exactly these
 * and broadcast). It was accepted. */
static void spa_endpoint_broadcast(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a;
    reg(&s, "", &a);
    char now[40];
    wall_rfc3339(now);
    char *p = rc_fmt("/v1/nodes/%s/endpoint", a.id);
    static const char *const eps[] = {"255.255.255.255:51820", "[::ffff:255.255.255.255]:51820"};
    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
        char *b = rc_fmt("{\"endpoint\":\"%s\",\"nat_type\":\"full_cone\",\"reported_at\":\"%s\"}", eps[i], now);
        rc_resp r;
        rq(&s, "PUT", p, a.auth, b, &r);
        expect_code(&r, 400, "endpoint_unparseable", eps[i]);
        rc_resp_free(&r);
        free(b);
    }
    /* a routable one still passes */
    char *b = rc_fmt("{\"endpoint\":\"203.0.113.5:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"%s\"}", now);
    assert_int_equal(call(&s, "PUT", p, a.auth, b), 200);
    free(b);
    free(p);
}

/* Node ids are case-insensitive (the routes take an upper-case id; the
 * stream is labelled with the registry's lower-case one): POST
 * /test/inject-event?node=<the id in upper case> must reach the node's
 * stream. It answered 204 and nothing came. */
static void spa_inject_upper(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    node a;
    reg(&s, "", &a);
    char evp[192], auth[160], up[64];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a.nsk);
    snprintf(up, sizeof up, "%s", a.id);
    for (char *q = up; *q; q++)
        if (*q >= 'a' && *q <= 'f')
            *q = (char)(*q - 'a' + 'A');
    sse_client c;
    const char *h1[] = {auth};
    assert_int_equal(sse_open(&c, rc_http_port(&s), evp, h1, 1, mt_now_ms() + WAIT_MS), 200);
    assert_int_equal(call(&s, "GET", "/test/sse/wait?clients=1&timeout_ms=10000", NULL, NULL), 200);
    char *p = rc_fmt("/test/inject-event?node=%s", up);
    assert_int_equal(call(&s, "POST", p, NULL,
                          "{\"event_type\":\"node_state_updated\",\"event_id\":\"up-1\",\"payload\":{}}"), 204);
    free(p);
    /* then one for every stream: the marker that ends the wait */
    assert_int_equal(call(&s, "POST", "/test/inject-event", NULL,
                          "{\"event_type\":\"node_state_updated\",\"event_id\":\"all-1\",\"payload\":{}}"), 204);
    char ids[16][32], evs[16][32];
    int n = collect_until(&c, "all-1", ids, evs, 16);
    sse_close(&c);
    bool got = false;
    for (int i = 0; i < n; i++)
        got |= strcmp(evs[i], "up-1") == 0;
    if (!got)
        fail_msg("inject-event ?node=%s (the node's id in upper case): answered 204, never reached the node's "
                 "stream", up);
}

/* ---- races (TSan) ----------------------------------------------------------- */

typedef struct race {
    const mt_server *s;
    char pre[80]; /* "" or a session's prefix */
    node n;
    int rounds;
    atomic_int *bad; /* answers no check explains */
    atomic_bool *stop;
} race;

static bool allowed(long st)
{
    /* the node may be gone (reset: 401 unknown key / 404), the session
     * ended (404), rotation nothing pending (409) */
    return st == 200 || st == 204 || st == 401 || st == 404 || st == 409 || st == 403;
}

static void *race_agent(void *arg)
{
    race *R = arg;
    CURL *h = curl_easy_init();
    char *hbp = rc_fmt("%s/v1/nodes/%s/heartbeat", R->pre, R->n.id);
    char *trg = rc_fmt("%s/v1/nodes/%s/keys/rotate", R->pre, R->n.id);
    char *cmp = rc_fmt("%s/v1/keys/rotate", R->pre);
    char *rea = rc_fmt("%s/v1/nodes/%s/reachability", R->pre, R->n.id);
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", R->n.nsk);
    const char *hd[] = {auth, "Content-Type: application/json"};
    const char *op[] = {"Authorization: Bearer psk_op", "Content-Type: application/json"};
    for (int i = 0; i < R->rounds; i++) {
        char *hb = hb_body();
        const char *body = "{}";
        mt_request q = {.method = "POST", .headers = hd, .nheaders = 2, .send_body = true, .timeout_ms = WAIT_MS};
        switch (i % 4) {
        case 0: q.path = hbp; body = hb; break;
        case 1: q.path = trg; q.headers = op; break;
        case 2: q.path = cmp; body = "{\"new_public_key\":\"" PK2 "\"}"; break;
        default: q.path = rea; q.method = "GET"; q.send_body = false; break;
        }
        q.body = body;
        q.body_len = strlen(body);
        mt_response r;
        mt_perform(h, R->s->base, &q, &r);
        if (!allowed(r.status)) {
            char *sh = mt_show(r.body, r.len);
            print_message("race: %s %s: %ld %s\n", q.method, q.path, r.status, sh);
            free(sh);
            atomic_fetch_add(R->bad, 1);
        }
        mt_response_free(&r);
        free(hb);
    }
    free(hbp);
    free(trg);
    free(cmp);
    free(rea);
    curl_easy_cleanup(h);
    return NULL;
}

/* register, heartbeat, deregister, over and over (the registry's slots and
 * the revoked ring churn while the others read them) */
static void *race_churn(void *arg)
{
    race *R = arg;
    for (int i = 0; i < R->rounds / 4; i++) {
        node n;
        int st = reg_host(R->s, "", "churn", &n);
        if (st != 200) {
            if (st != 409) /* node_limit cannot happen: 4 nodes at most */
                atomic_fetch_add(R->bad, 1);
            continue;
        }
        char *p = rc_fmt("/v1/nodes/%s/heartbeat", n.id);
        char *hb = hb_body();
        if (!allowed(call(R->s, "POST", p, n.auth, hb)))
            atomic_fetch_add(R->bad, 1);
        free(p);
        free(hb);
        p = rc_fmt("/v1/nodes/%s/deregister", n.id);
        if (!allowed(call(R->s, "POST", p, n.auth, "")))
            atomic_fetch_add(R->bad, 1);
        free(p);
        p = rc_fmt("/v1/nodes/%s/reachability", n.id);
        if (!allowed(call(R->s, "GET", p, n.auth, NULL)))
            atomic_fetch_add(R->bad, 1);
        free(p);
    }
    return NULL;
}

typedef struct chaos {
    const mt_server *s;
    char sid[64];
    atomic_bool *stop;
    int resets, deletes;
} chaos;

static void *race_chaos(void *arg)
{
    chaos *C = arg;
    CURL *h = curl_easy_init();
    char *del = rc_fmt("/test/sessions/%s", C->sid);
    for (int i = 0; !atomic_load(C->stop); i++) {
        mt_request q = {.method = "POST", .path = "/test/reset", .timeout_ms = WAIT_MS};
        if (i == 20) {
            q.method = "DELETE";
            q.path = del;
        }
        mt_response r;
        mt_perform(h, C->s->base, &q, &r);
        if (r.status == 200 || r.status == 204)
            *(i == 20 ? &C->deletes : &C->resets) += 1;
        mt_response_free(&r);
    }
    free(del);
    curl_easy_cleanup(h);
    return NULL;
}

static void spa_race_reset(void **state)
{
    (void)state;
    mt_server s;
    strict_server(&s);
    rc_resp r;
    rq(&s, "POST", "/test/sessions", NULL, "{\"profile\":\"strict\"}", &r);
    json_t *j = mt_parse_json(r.body, r.body_len);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", mt_jstr(j, "id"));
    json_decref(j);
    rc_resp_free(&r);
    const char *re = getenv("MOCKAPI_IT_ROUNDS");
    int rounds = re && atoi(re) > 0 ? atoi(re) * 8 : 120;
    atomic_int bad = 0;
    atomic_bool stop = false;
    enum { T = 3 };
    race R[T];
    pthread_t th[T], ch;
    for (int i = 0; i < T; i++) {
        R[i] = (race){.s = &s, .rounds = rounds, .bad = &bad, .stop = &stop};
        if (i == 2)
            snprintf(R[i].pre, sizeof R[i].pre, "/s/%s", sid);
        reg(&s, R[i].pre, &R[i].n);
    }
    chaos C = {.s = &s, .stop = &stop};
    snprintf(C.sid, sizeof C.sid, "%s", sid);
    assert_int_equal(pthread_create(&ch, NULL, race_chaos, &C), 0);
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_agent, &R[i]), 0);
    pthread_t cth;
    race CR = {.s = &s, .rounds = rounds, .bad = &bad, .stop = &stop};
    assert_int_equal(pthread_create(&cth, NULL, race_churn, &CR), 0);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    pthread_join(cth, NULL);
    atomic_store(&stop, true);
    pthread_join(ch, NULL);
    assert_int_equal(atomic_load(&bad), 0);
    assert_true(C.resets > 0);
    /* healthy afterwards: a fresh node registers and heartbeats */
    node n;
    reg(&s, "", &n);
    char *p = rc_fmt("/v1/nodes/%s/heartbeat", n.id);
    char *hb = hb_body();
    assert_int_equal(call(&s, "POST", p, n.auth, hb), 200);
    free(p);
    free(hb);
}

int mt_run_strict_attack_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(spa_rotation_replay, rc_teardown),
        cmocka_unit_test_teardown(spa_reregister, rc_teardown),
        cmocka_unit_test_teardown(spa_head, rc_teardown),
        cmocka_unit_test_teardown(spa_bad_escape, rc_teardown),
        cmocka_unit_test_teardown(spa_inject_upper, rc_teardown),
        cmocka_unit_test_teardown(spa_endpoint_broadcast, rc_teardown),
        cmocka_unit_test_teardown(spa_trigger_budget, rc_teardown),
        cmocka_unit_test_teardown(spa_fault_title, rc_teardown),
        cmocka_unit_test_teardown(spa_profile_nul, rc_teardown),
        cmocka_unit_test_teardown(spa_events_resume_ids, rc_teardown),
        cmocka_unit_test_teardown(spa_race_reset, rc_teardown),
        cmocka_unit_test_teardown(spa_local_skip_auth, rc_teardown),
        cmocka_unit_test_teardown(spa_registry_budget, rc_teardown),
        cmocka_unit_test_teardown(spa_sessions_required, rc_teardown),
    };
    return cmocka_run_group_tests_name("strict_attack", tests, NULL, NULL);
}
