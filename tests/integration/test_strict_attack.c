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
#include "nodes.h"
#include "strict_client.h"

/* status/code of a problem+json answer, or fails. */
static void expect_code(const rc_resp *r, int status, const char *code, const char *what)
{
    char ct[128];
    char *sh = mt_show(r->body, r->body_len);
    if (r->status != status || !sc_hdr(r, "Content-Type", ct, sizeof ct, NULL) ||
        strcmp(ct, "application/problem+json") != 0)
        fail_msg("%s: %d [%s] %s, want %d application/problem+json %s", what, r->status,
                 sc_hdr(r, "Content-Type", ct, sizeof ct, NULL) ? ct : "", sh, status, code);
    json_t *j = mt_parse_json(r->body, r->body_len);
    if (strcmp(mt_jstr(j, "code"), code) != 0)
        fail_msg("%s: code %s, want %s (%s)", what, mt_jstr(j, "code"), code, sh);
    json_decref(j);
    free(sh);
}

/* ---- the attacks ---------------------------------------------------------------- */

/* A strict session's /local/... with X-Mockapi-Fault: skip-auth and no
 * bearer: either the credential check is skipped (not a 401) or the journal
 * does not say it was. Today the answer is 401 unauthorized and the journal
 * says "skipped":true. */
static void spa_local_skip_auth(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_tls(&s);
    const char *hd[] = {"X-Mockapi-Fault: skip-auth", "Content-Type: application/json"};
    mt_request q = {.method = "POST", .path = "/local/metrics", .headers = hd, .nheaders = 2, .body = "{}",
                    .body_len = 2, .send_body = true, .insecure = true, .timeout_ms = SC_WAIT_MS};
    mt_response r;
    mt_perform(NULL, s.tls_base, &q, &r);
    long status = r.status;
    char *sh = mt_show(r.body, r.len);
    mt_response_free(&r);
    json_t *e = sc_last_entry(&s, NULL, "local_metrics");
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
        char sid[64];
        sc_session(&s, strict ? "{\"profile\":\"strict\"}" : "{\"profile\":\"reference\"}", sid);
        char *sel = rc_fmt("X-Mockapi-Session: %s", sid);
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
    cfg.sessions_max_bytes = 1u << 20;
    cfg.journal_max_entries = 16;
    mt_server s;
    sc_strict_start(&s, &cfg);
    char sid[64], pre[80];
    int cs = sc_session(&s, "{\"profile\":\"strict\"}", sid);
    assert_true(cs == 200 || cs == 201);
    snprintf(pre, sizeof pre, "/s/%s", sid);
    enum { HOST = 64 * 1024, N = 64 };
    char *host = malloc(HOST + 1);
    assert_non_null(host);
    memset(host, 'h', HOST);
    host[HOST] = '\0';
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        int st = sc_register(&s, pre, "bt", host, NULL);
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
    cfg.sessions = MOCKAPI_SESSIONS_REQUIRED;
    mt_server s;
    sc_strict_start(&s, &cfg);
    rc_resp r;
    sc_rq(&s, "POST", "/v1/nodes/01890000-0000-7000-8000-000000000001/heartbeat", NULL, "{}", &r);
    char ct[128];
    bool ok = r.status == 428 && sc_hdr(&r, "Content-Type", ct, sizeof ct, NULL) &&
              strcmp(ct, "application/problem+json") == 0;
    char msg[600];
    char *sh = mt_show(r.body, r.body_len);
    snprintf(msg, sizeof msg, "strict, -sessions required, no session: %d [%s] %.400s; want 428 application/problem+json",
             r.status, sc_hdr(&r, "Content-Type", ct, sizeof ct, NULL) ? ct : "", sh ? sh : "");
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
    sc_node a, b;
    sc_strict_nodes(&s, &a, &b, NULL);
    char *p = rc_fmt("/v1/nodes/%s/keys/rotate", a.id);
    assert_int_equal(sc_call(&s, "POST", p, "Authorization: Bearer psk_op\r\n", ""), 200);
    free(p);
    const char *body = "{\"new_public_key\":\"" SC_PK2 "\"}";
    rc_resp r;
    sc_rq(&s, "POST", "/v1/keys/rotate", b.auth, body, &r);
    expect_code(&r, 409, "keys_rotate_no_pending_rotation", "B replays A's completion");
    rc_resp_free(&r);
    json_t *e = sc_last_entry(&s, NULL, "key_rotate");
    json_t *au = json_object_get(e, "auth");
    assert_string_equal(mt_jstr(au, "class"), "node_key");
    assert_string_equal(mt_jstr(au, "node"), b.id);
    json_decref(e);
    sc_rq(&s, "POST", "/v1/keys/rotate", a.auth, body, &r);
    if (r.status != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("A completes its own rotation after B's replay: %d %s", r.status, sh);
    }
    rc_resp_free(&r);
    /* the same completion again: the same receipt, not a second rotation */
    assert_int_equal(sc_call(&s, "POST", "/v1/keys/rotate", a.auth, body), 200);
    sc_rq(&s, "POST", "/v1/keys/rotate", b.auth, body, &r);
    expect_code(&r, 409, "keys_rotate_no_pending_rotation", "B after A completed");
    rc_resp_free(&r);
}

/* A deregisters and registers again: a new id and key; the old key is
 * revoked everywhere (its new node's path too), the new one works. */
static void spa_reregister(void **state)
{
    (void)state;
    mt_server s;
    sc_node a, a2;
    sc_strict_nodes(&s, &a, NULL);
    char *p = rc_fmt("/v1/nodes/%s/deregister", a.id);
    int st = sc_call(&s, "POST", p, a.auth, "");
    assert_true(st == 204);
    free(p);
    sc_reg(&s, "", &a2);
    assert_string_not_equal(a.id, a2.id);
    assert_string_not_equal(a.nsk, a2.nsk);
    char *hb = sc_hb_body();
    rc_resp r;
    p = rc_fmt("/v1/nodes/%s/heartbeat", a2.id);
    sc_rq(&s, "POST", p, a.auth, hb, &r);
    expect_code(&r, 401, "nsk_revoked", "the old key on the new node");
    rc_resp_free(&r);
    json_t *e = sc_last_entry(&s, NULL, "heartbeat");
    assert_string_equal(mt_jstr(json_object_get(e, "auth"), "class"), "revoked");
    json_decref(e);
    assert_int_equal(sc_call(&s, "POST", p, a2.auth, hb), 200);
    free(p);
    free(hb);
    json_t *j = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 1);
    assert_int_equal(mt_jint(j, "revoked"), 1);
    /* the freed mesh IP may be reused; the node's is a 10.99.0.x */
    json_decref(j);
}

/* A secret asked for with a node's key comes sealed with that key (the
 * README's promise): the node decrypts it to the session's bearer token;
 * with no key it is the reference's, sealed with the session's NSK. */
static void spa_secret_node_key(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    sc_node a;
    sc_reg(&s, "", &a);
    char path[192];
    snprintf(path, sizeof path, "/v1/nodes/%s/secrets/db", a.id);
    const char *who[2][2] = {{a.auth, a.nsk}, {NULL, mockapi_nsk(s.m)}};
    for (int i = 0; i < 2; i++) {
        json_t *j = sc_get_json(&s, path, who[i][0]);
        char *pt = NULL;
        size_t n = 0;
        assert_int_equal(mockapi_decrypt_secret(who[i][1], strlen(who[i][1]), mt_jstr(j, "ciphertext"),
                                                mt_jstr(j, "nonce"), &pt, &n),
                         MOCKAPI_OK);
        assert_true(n == strlen(mockapi_bearer_token(s.m)) && memcmp(pt, mockapi_bearer_token(s.m), n) == 0);
        mockapi_free_buf(pt);
        /* and the other key does not open it */
        const char *other = who[1 - i][1];
        pt = NULL;
        assert_int_not_equal(mockapi_decrypt_secret(other, strlen(other), mt_jstr(j, "ciphertext"),
                                                    mt_jstr(j, "nonce"), &pt, &n),
                             MOCKAPI_OK);
        mockapi_free_buf(pt);
        json_decref(j);
    }
}

/* A node's topology listing large enough to go by reference is refused with
 * 503 while the output held for clients that do not read is past its bound,
 * as every large answer is. */
static void spa_topology_bounded(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_buffered_bytes = 1;
    mt_server s;
    sc_strict_start(&s, &cfg);
    /* 250 nodes with endpoints: 62,250 edges, about 10 MB, more than the
     * kernel's buffers take from a reader that does not read */
    for (int i = 0; i < MK_NODES_MAX; i++) {
        sc_node n;
        sc_reg(&s, "", &n);
        char p[160], body[200], now[40];
        snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", n.id);
        sc_wall_rfc3339(0, now);
        snprintf(body, sizeof body,
                 "{\"endpoint\":\"198.51.%d.%d:51820\",\"nat_type\":\"x\",\"reported_at\":\"%s\"}", i / 200 + 1,
                 i % 200 + 1, now);
        assert_int_equal(sc_call(&s, "PUT", p, n.auth, body), 200);
    }
    json_t *nodes = sc_get_json(&s, "/test/nodes", NULL);
    char p[160];
    snprintf(p, sizeof p, "/v1/domains/%s/mesh/topology", mt_jstr(nodes, "domain_id"));
    json_decref(nodes);
    /* nothing held: the bound does not apply yet */
    assert_int_equal(sc_call(&s, "GET", p, "Authorization: Bearer psk_op\r\n", NULL), 200);
    /* a reader that never reads holds one (written by reference, not copied) */
    rc_conn *c = rc_connect_with(rc_http_port(&s), false, NULL, 4096);
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer psk_op\r\n\r\n", p);
    rc_send(c, req);
    rc_resp r;
    int64_t dl = mt_now_ms() + SC_WAIT_MS;
    int st = 0;
    while (mt_now_ms() < dl && (st = sc_rq(&s, "GET", p, "Authorization: Bearer psk_op\r\n", NULL, &r)) == 200)
        rc_resp_free(&r);
    assert_int_equal(st, 503);
    rc_resp_free(&r);
    rc_close(c);
}

/* HEAD on strict routes: a 401 with WWW-Authenticate and Content-Length,
 * no body; HEAD on a POST-only route is 405 with Allow. */
static void spa_head(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char *p = rc_fmt("/v1/nodes/%s/reachability", a.id);
    mt_request q = {.method = "HEAD", .path = p, .timeout_ms = SC_WAIT_MS};
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
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    const char *paths[] = {"/v1/nodes/%zz/heartbeat", "/v1/nodes/%4/heartbeat", "/v1/register%"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        rc_resp r;
        sc_rq(&s, "POST", paths[i], a.auth, "{}", &r);
        expect_code(&r, 400, "malformed_request", paths[i]);
        json_t *j = mt_parse_json(r.body, r.body_len);
        assert_string_equal(mt_jstr(j, "instance"), paths[i]);
        json_decref(j);
        rc_resp_free(&r);
    }
    /* a reference session keeps Go's answer */
    char sid[64];
    sc_session(&s, "{\"profile\":\"reference\"}", sid);
    char *p = rc_fmt("/s/%s/v1/nodes/%%zz/heartbeat", sid);
    rc_resp r;
    assert_int_equal(sc_rq(&s, "POST", p, NULL, "{}", &r), 400);
    char ct[128];
    assert_non_null(sc_hdr(&r, "Content-Type", ct, sizeof ct, NULL));
    assert_string_equal(ct, "text/plain; charset=utf-8");
    assert_int_equal(r.body_len, 15);
    rc_resp_free(&r);
    free(p);
}

/* ---- event ids on a resumed stream --------------------------------------- */

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
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char evp[192], lei[64];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    static const char *const x123[] = {"x-1", "x-2", "x-3"}, *const m1[] = {"m-1"}, *const m2[] = {"m-2"};
    char ids[16][32], evs[16][32];
    int n = sc_stream_injected(&s, &a, NULL, x123, 3, ids, evs, 16);
    char id1[32] = "";
    for (int i = 0; i < n; i++)
        if (strcmp(evs[i], "x-1") == 0)
            snprintf(id1, sizeof id1, "%.31s", ids[i]);
    assert_true(id1[0] != '\0');

    /* 1. resumed after x-1: ids strictly up */
    snprintf(lei, sizeof lei, "Last-Event-ID: %s", id1);
    n = sc_stream_injected(&s, &a, lei, m1, 1, ids, evs, 16);
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
    sse_client c;
    assert_int_equal(sc_events_open(&c, &s, evp, &a, lei), 200);
    n = sc_collect_until(&c, NULL, ids, evs, 1);
    sse_close(&c);
    char cursor[64];
    snprintf(cursor, sizeof cursor, "Last-Event-ID: %s", ids[0][0] ? ids[0] : id1);
    n = sc_stream_injected(&s, &a, cursor, m2, 1, ids, evs, 16);
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
    sc_strict_server(&s);
    static const char *const bodies[] = {"{\"profile\":\"strict\\u0000junk\"}", "{\"profile\":\"reference\\u0000\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        rc_resp r;
        int st = sc_rq(&s, "POST", "/test/sessions", NULL, bodies[i], &r);
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
    sc_strict_server(&s);
    static const char *const st[] = {"599", "430", "418"};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        char *f = rc_fmt("X-Mockapi-Fault: status=%s\r\n", st[i]);
        rc_resp r;
        sc_rq(&s, "POST", "/v1/nodes/01890000-0000-7000-8000-000000000001/heartbeat", f, "{}", &r);
        free(f);
        assert_int_equal(r.status, atoi(st[i]));
        expect_code(&r, r.status, "injected_fault", st[i]);
        char reason[64];
        sc_reason(&r, reason);
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
    cfg.sessions_max_bytes = 1000;
    mt_server s;
    sc_strict_start(&s, &cfg);
    char sid[64], pre[80];
    int cs = sc_session(&s, "{}", sid);
    assert_true(cs == 200 || cs == 201);
    snprintf(pre, sizeof pre, "/s/%s", sid);
    sc_node a;
    sc_reg(&s, pre, &a);
    /* the node (its registry entry is charged too) and a 200-byte capture
     * spend most of the budget: no room is left for an event */
    char big[200];
    memset(big, 'a', sizeof big);
    memcpy(big, "{\"x\":\"", 6);
    memcpy(big + sizeof big - 3, "\"}", 3);
    char *p = rc_fmt("%s/v1/nodes/%s/drift", pre, a.id);
    assert_int_equal(sc_call(&s, "POST", p, a.auth, big), 204);
    free(p);
    char evp[192];
    snprintf(evp, sizeof evp, "%s/v1/nodes/%s/events", pre, a.id);
    sse_client c;
    assert_int_equal(sc_events_open(&c, &s, evp, &a, NULL), 200);
    sc_sse_wait(&s, pre, 1);
    p = rc_fmt("%s/v1/nodes/%s/keys/rotate", pre, a.id);
    int st = sc_call(&s, "POST", p, "Authorization: Bearer psk_op\r\n", "");
    free(p);
    if (st == 507) {
        sse_close(&c);
        return;
    }
    assert_int_equal(st, 200);
    bool got = false;
    int64_t dl = mt_now_ms() + SC_WAIT_MS / 3;
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
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char now[40];
    sc_wall_rfc3339(0, now);
    char *p = rc_fmt("/v1/nodes/%s/endpoint", a.id);
    static const char *const eps[] = {"255.255.255.255:51820", "[::ffff:255.255.255.255]:51820"};
    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
        char *b = rc_fmt("{\"endpoint\":\"%s\",\"nat_type\":\"full_cone\",\"reported_at\":\"%s\"}", eps[i], now);
        rc_resp r;
        sc_rq(&s, "PUT", p, a.auth, b, &r);
        expect_code(&r, 400, "endpoint_unparseable", eps[i]);
        rc_resp_free(&r);
        free(b);
    }
    /* a routable one still passes */
    char *b = rc_fmt("{\"endpoint\":\"203.0.113.5:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"%s\"}", now);
    assert_int_equal(sc_call(&s, "PUT", p, a.auth, b), 200);
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
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char evp[192], up[64];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    sc_upper_id(a.id, up);
    sse_client c;
    assert_int_equal(sc_events_open(&c, &s, evp, &a, NULL), 200);
    sc_sse_wait(&s, "", 1);
    char *p = rc_fmt("/test/inject-event?node=%s", up);
    assert_int_equal(sc_call(&s, "POST", p, NULL,
                          "{\"event_type\":\"node_state_updated\",\"event_id\":\"up-1\",\"payload\":{}}"), 204);
    free(p);
    /* then one for every stream: the marker that ends the wait */
    assert_int_equal(sc_call(&s, "POST", "/test/inject-event", NULL,
                          "{\"event_type\":\"node_state_updated\",\"event_id\":\"all-1\",\"payload\":{}}"), 204);
    char ids[16][32], evs[16][32];
    int n = sc_collect_until(&c, "all-1", ids, evs, 16);
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
    sc_node n;
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
        char *hb = sc_hb_body();
        const char *body = "{}";
        mt_request q = {.method = "POST", .headers = hd, .nheaders = 2, .send_body = true, .timeout_ms = SC_WAIT_MS};
        switch (i % 4) {
        case 0: q.path = hbp; body = hb; break;
        case 1: q.path = trg; q.headers = op; break;
        case 2: q.path = cmp; body = "{\"new_public_key\":\"" SC_PK2 "\"}"; break;
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
        sc_node n;
        int st = sc_register(R->s, "", "bt", "churn", &n);
        if (st != 200) {
            if (st != 409) /* node_limit cannot happen: 4 nodes at most */
                atomic_fetch_add(R->bad, 1);
            continue;
        }
        char *p = rc_fmt("/v1/nodes/%s/heartbeat", n.id);
        char *hb = sc_hb_body();
        if (!allowed(sc_call(R->s, "POST", p, n.auth, hb)))
            atomic_fetch_add(R->bad, 1);
        free(p);
        free(hb);
        p = rc_fmt("/v1/nodes/%s/deregister", n.id);
        if (!allowed(sc_call(R->s, "POST", p, n.auth, "")))
            atomic_fetch_add(R->bad, 1);
        free(p);
        p = rc_fmt("/v1/nodes/%s/reachability", n.id);
        if (!allowed(sc_call(R->s, "GET", p, n.auth, NULL)))
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
        mt_request q = {.method = "POST", .path = "/test/reset", .timeout_ms = SC_WAIT_MS};
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
    sc_strict_server(&s);
    char sid[64];
    sc_session(&s, "{\"profile\":\"strict\"}", sid);
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
        sc_reg(&s, R[i].pre, &R[i].n);
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
    sc_node n;
    sc_reg(&s, "", &n);
    char *p = rc_fmt("/v1/nodes/%s/heartbeat", n.id);
    char *hb = sc_hb_body();
    assert_int_equal(sc_call(&s, "POST", p, n.auth, hb), 200);
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
        cmocka_unit_test_teardown(spa_secret_node_key, rc_teardown),
        cmocka_unit_test_teardown(spa_topology_bounded, rc_teardown),
        cmocka_unit_test_teardown(spa_registry_budget, rc_teardown),
        cmocka_unit_test_teardown(spa_sessions_required, rc_teardown),
    };
    return cmocka_run_group_tests_name("strict_attack", tests, NULL, NULL);
}
