/* test_strict.c: the strict profile (issue 17; README "The strict profile"),
 * tests named sp_*:
 *
 *  - sp_taxonomy: one row per Problem.code the mock can give (seed 004's
 *    taxonomy for heartbeat, endpoint, capabilities, integrity violations,
 *    key-rotation completion, trigger and preview, reachability, topology,
 *    events and state, and the mock's own codes): the request, the status,
 *    `code`, Content-Type application/problem+json, and the six members
 *    with their types (status = the HTTP status, instance = the path as
 *    sent, type = urn:mockapi:problem:<code>, title = the reason phrase of
 *    the status line), WWW-Authenticate on every 401;
 *  - sp_auth_order: requests failing two checks at once get the earlier
 *    check's answer (authenticate, path id, authorise, cap, decode,
 *    semantic, skew, existence, conflict);
 *  - sp_flow_reachability, sp_flow_rotation, sp_flow_deregister: the state
 *    machines driven by POST /test/clock (no sleeping 90 s);
 *  - sp_www_authenticate: RFC 6750 attributes;
 *  - sp_reference_unchanged, sp_session_profile: the reference profile's
 *    answers, a strict session inside a reference server and back;
 *  - sp_journal_auth: the journal's `auth` member (class, fingerprint,
 *    node, skipped), the NSK never in the journal;
 *  - attacks: hostile Authorization headers, the registry's cap, concurrent
 *    heartbeats, the clock's bounds, gzip bodies over a cap once decoded.
 *
 * The 501 *_not_provisioned codes of seed 004 are not reachable: the mock
 * wires every collaborator (as the seed's kind dev does). Neither are
 * endpoint_peer_gone (410, a race between two gates of the production
 * handler) nor internal (500, a server fault). keys_rotate_peer_not_found
 * is reached only with skip-auth (no key, so no node: POST /v1/keys/rotate
 * has no path id).
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
#include <jansson.h>
#include <sodium.h>

#include "harness.h"
#include "raw_client.h"
#include "sse_client.h"
#include "strict_client.h"

enum { MAXB = 65536 };

#define PK3 "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2A="
#define ZEROKEY "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define FP43 "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE"
#define UNK "01890000-0000-7000-8000-000000000001" /* well formed, never issued */

/* ---- strings and times ----------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q)
            fail_msg("out of memory");
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_fmt(sbuf *b, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(sbuf *b, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        fail_msg("out of memory");
    va_end(ap);
    sb_str(b, s);
    free(s);
}

/* "2026-12-06T20:45:00.123Z" (the mock's form: UTC, milliseconds) to ms
 * since the epoch; fails the test on anything else. */
static int64_t parse_ms(const char *s, const char *what)
{
    int y, mo, d, h, mi, se, ms, n = 0;
    if (!s || strlen(s) != 24 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &se, &ms, &n) != 7 || n != 24)
        fail_msg("%s: \"%s\" is not RFC 3339 UTC with milliseconds", what, s ? s : "(null)");
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* "sha256:" + the first 8 hex digits of SHA-256(s). */
static void fingerprint(const char *s, char out[24])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    snprintf(out, 24, "sha256:%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
}

/* ---- problem+json ------------------------------------------------------- */

/* r must be the problem+json answer status/code for a request to instance:
 * Content-Type, one line + "\n", exactly the members type, title, status,
 * detail, instance, code with their types and values. Returns the parsed
 * body (json_decref it). */
/* In the table (soft), a failed check is printed and counted and the row
 * goes on to the next; elsewhere it fails the test at once. */
static bool soft;
static int soft_fails;
#define PFAIL(...)                                                                                                 \
    do {                                                                                                           \
        if (!soft)                                                                                                 \
            fail_msg(__VA_ARGS__);                                                                                 \
        print_message("FAIL ");                                                                                    \
        print_message(__VA_ARGS__);                                                                                \
        print_message("\n");                                                                                       \
        soft_fails++;                                                                                              \
        free(sh);                                                                                                  \
        json_decref(j);                                                                                            \
        return NULL;                                                                                               \
    } while (0)

static json_t *problem(const rc_resp *r, int status, const char *code, const char *instance, const char *what)
{
    char ct[128], rp[64];
    char *sh = mt_show(r->body, r->body_len);
    json_t *j = NULL;
    if (r->status != status)
        PFAIL("%s: status %d, want %d %s; body %s", what, r->status, status, code, sh);
    if (!sc_hdr(r, "Content-Type", ct, sizeof ct, NULL) || strcmp(ct, "application/problem+json") != 0)
        PFAIL("%s: Content-Type [%s], want application/problem+json; body %s", what,
                 sc_hdr(r, "Content-Type", ct, sizeof ct, NULL) ? ct : "(none)", sh);
    if (r->body_len < 2 || r->body[r->body_len - 1] != '\n' || memchr(r->body, '\n', r->body_len - 1))
        PFAIL("%s: the body is not one line and a newline: %s", what, sh);
    j = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        PFAIL("%s: the body is not JSON: %s", what, sh);
    if (!json_is_object(j) || json_object_size(j) != 6)
        PFAIL("%s: not an object of exactly 6 members: %s", what, sh);
    static const char *const strs[] = {"type", "title", "detail", "instance", "code"};
    for (size_t i = 0; i < 5; i++)
        if (!json_is_string(json_object_get(j, strs[i])))
            PFAIL("%s: member %s missing or not a string: %s", what, strs[i], sh);
    if (!json_is_integer(json_object_get(j, "status")))
        PFAIL("%s: member status missing or not an integer: %s", what, sh);
    if (json_integer_value(json_object_get(j, "status")) != status)
        PFAIL("%s: \"status\" differs from the HTTP status %d: %s", what, status, sh);
    if (strcmp(mt_jstr(j, "code"), code) != 0)
        PFAIL("%s: code %s, want %s: %s", what, mt_jstr(j, "code"), code, sh);
    char type[128];
    snprintf(type, sizeof type, "urn:mockapi:problem:%s", code);
    if (strcmp(mt_jstr(j, "type"), type) != 0)
        PFAIL("%s: type %s, want %s", what, mt_jstr(j, "type"), type);
    if (strcmp(mt_jstr(j, "instance"), instance) != 0)
        PFAIL("%s: instance %s, want %s", what, mt_jstr(j, "instance"), instance);
    sc_reason(r, rp);
    if (!*mt_jstr(j, "title") || strcmp(mt_jstr(j, "title"), rp) != 0)
        PFAIL("%s: title \"%s\", the status line's reason \"%s\"", what, mt_jstr(j, "title"), rp);
    if (!*mt_jstr(j, "detail"))
        PFAIL("%s: an empty detail", what);
    free(sh);
    return j;
}

/* The same, the body dropped. */
static void expect_problem(const mt_server *s, const char *method, const char *path, const char *hdrs,
                           const char *body, int status, const char *code)
{
    rc_resp r;
    char what[256];
    snprintf(what, sizeof what, "%s %s", method, path);
    sc_rq(s, method, path, hdrs, body, &r);
    json_decref(problem(&r, status, code, path, what));
    rc_resp_free(&r);
}

/* ---- servers and nodes ------------------------------------------------- */

/* POST pre/v1/nodes/{id}/heartbeat with n's key: the status; *accepted the
 * accepted_at of a 200 (when given). */
static int heartbeat(const mt_server *s, const char *pre, const sc_node *n, char *accepted, size_t alen)
{
    char path[192];
    snprintf(path, sizeof path, "%s/v1/nodes/%s/heartbeat", pre, n->id);
    char *b = sc_hb_body();
    rc_resp r;
    int st = sc_rq(s, "POST", path, n->auth, b, &r);
    free(b);
    if (st == 200) {
        json_t *j = sc_body_json(&r);
        if (accepted)
            snprintf(accepted, alen, "%s", mt_jstr(j, "accepted_at"));
        parse_ms(mt_jstr(j, "accepted_at"), "heartbeat accepted_at");
        if (!json_is_boolean(json_object_get(j, "reconcile")) || !json_is_boolean(json_object_get(j, "rotate_keys")) ||
            json_object_size(j) != 3)
            fail_msg("heartbeat: want exactly accepted_at, reconcile and rotate_keys (booleans)");
        json_decref(j);
    }
    rc_resp_free(&r);
    return st;
}

/* POST /test/clock?advance_ms=ms: 200 and the offset it reports. */
static int64_t advance(const mt_server *s, const char *ms)
{
    char path[128];
    snprintf(path, sizeof path, "/test/clock?advance_ms=%s", ms);
    rc_resp r;
    int st = sc_rq(s, "POST", path, NULL, NULL, &r);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("POST %s: %d %s", path, st, sh);
    }
    json_t *j = sc_body_json(&r);
    parse_ms(mt_jstr(j, "now"), "clock now");
    int64_t off = mt_jint(j, "offset_ms");
    json_decref(j);
    rc_resp_free(&r);
    return off;
}

static void domain_of(const mt_server *s, char out[64])
{
    json_t *j = sc_get_json(s, "/test/nodes", NULL);
    snprintf(out, 64, "%s", mt_jstr(j, "domain_id"));
    json_decref(j);
    if (!sc_is_uuid(out))
        fail_msg("/test/nodes: domain_id %s is not a UUID", out);
}

/* ---- sp_taxonomy ------------------------------------------------------- */

typedef enum {
    A_NONE,      /* no Authorization */
    A_OWN,       /* the addressed node's NSK */
    A_SIB,       /* a live sibling's NSK */
    A_REVOKED,   /* the NSK of a node that deregistered */
    A_API,       /* an operator's API token, psk_... */
    A_BAD,       /* a bearer nobody issued */
    A_MALFORMED, /* not Bearer <token68> */
} auth_kind;

typedef struct row {
    const char *code;
    int status;
    const char *method, *path; /* {id} own node, {sib}, {unk} never issued, {dom} the domain */
    auth_kind auth;
    const char *hdrs;          /* extra header lines or NULL */
    const char *body;          /* placeholders as in the path, {now} {old} {fut}; NULL: none */
    size_t pad;                /* > 0: the body is pad bytes of 'x' instead */
    const char *want_hdr;      /* "Name: text": that header must contain text */
    const char *detail_has;    /* the detail must contain this */
} row;

#define HB "/v1/nodes/{id}/heartbeat"
#define HB_OK "{\"client_now\":\"{now}\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1.2.3\"}"
#define EP "/v1/nodes/{id}/endpoint"
#define EP_OK "{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\"}"
#define CP "/v1/nodes/{id}/capabilities"
#define CP_OK "{\"binary_version\":\"1.2.3\",\"binary_checksum\":\"" SC_SUM "\"}"
#define IV "/v1/nodes/{id}/integrity-violations"
#define V_OK "{\"kind\":\"binary_checksum_mismatch\",\"detected_by\":\"watcher\",\"artifact_id\":\"plexd\",\"checksum\":\"" SC_SUM "\"}"
#define IV_OK "{\"violations\":[" V_OK "]}"
#define KR "/v1/keys/rotate"
#define KR_OK "{\"new_public_key\":\"" SC_PK2 "\"}"
#define TR "/v1/nodes/{id}/keys/rotate"
#define PV "/v1/nodes/{id}/keys/rotate/preview"
#define RE "/v1/nodes/{id}/reachability"
#define TP "/v1/domains/{dom}/mesh/topology"
#define EV "/v1/nodes/{id}/events"
#define SN "/v1/nodes/{id}/state"
#define SKIP "X-Mockapi-Fault: skip-auth\r\n"

static const row rows[] = {
    /* PostNodeHeartbeat */
    {"invalid_node_id", 400, "POST", "/v1/nodes/not-a-uuid/heartbeat", A_OWN, NULL, HB_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "POST", HB, A_NONE, NULL, HB_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "POST", HB, A_BAD, NULL, HB_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "POST", HB, A_REVOKED, NULL, HB_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "POST", HB, A_MALFORMED, NULL, HB_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "POST", HB, A_API, NULL, HB_OK, 0, NULL, NULL}, /* an operator token is no NSK */
    {"node_id_mismatch", 403, "POST", "/v1/nodes/{sib}/heartbeat", A_OWN, NULL, HB_OK, 0, NULL, NULL},
    {"node_id_mismatch", 403, "POST", "/v1/nodes/{unk}/heartbeat", A_OWN, NULL, HB_OK, 0, NULL, NULL},
    {"malformed_heartbeat_request", 400, "POST", HB, A_OWN, NULL, "{", 0, NULL, NULL},
    {"malformed_heartbeat_request", 400, "POST", HB, A_OWN, NULL,
     "{\"client_now\":\"{now}\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\",\"bogus\":1}", 0, NULL,
     NULL},
    {"malformed_heartbeat_request", 400, "POST", HB, A_OWN, NULL, "[]", 0, NULL, NULL},
    {"binary_checksum_empty", 400, "POST", HB, A_OWN, NULL,
     "{\"client_now\":\"{now}\",\"binary_checksum\":\"\",\"binary_version\":\"1\"}", 0, NULL, NULL},
    {"binary_checksum_empty", 400, "POST", HB, A_OWN, NULL,
     "{\"client_now\":\"{now}\",\"binary_checksum\":\"abc\",\"binary_version\":\"1\"}", 0, NULL, NULL},
    {"binary_version_empty", 400, "POST", HB, A_OWN, NULL,
     "{\"client_now\":\"{now}\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\" \\t \"}", 0, NULL, NULL},
    {"clock_skew", 400, "POST", HB, A_OWN, NULL,
     "{\"client_now\":\"{old}\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\"}", 0, NULL, NULL},
    {"clock_skew", 400, "POST", HB, A_OWN, NULL,
     "{\"client_now\":\"{fut}\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\"}", 0, NULL, NULL},
    {"node_not_found", 404, "POST", "/v1/nodes/{unk}/heartbeat", A_NONE, SKIP, HB_OK, 0, NULL, NULL},
    {"body_too_large", 413, "POST", HB, A_OWN, NULL, NULL, MAXB + 1, NULL, NULL},
    {"method_not_allowed", 405, "GET", HB, A_OWN, NULL, NULL, 0, "Allow: POST", NULL},
    {"route_not_found", 404, "POST", "/v1/nodes/{id}/heartbeats", A_OWN, NULL, HB_OK, 0, NULL, "did you mean"},
    /* PutNodeEndpoint */
    {"invalid_node_id", 400, "PUT", "/v1/nodes/xyz/endpoint", A_OWN, NULL, EP_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "PUT", EP, A_NONE, NULL, EP_OK, 0, NULL, NULL},
    {"nsk_revoked", 401, "PUT", EP, A_REVOKED, NULL, EP_OK, 0, NULL, NULL},
    {"node_id_mismatch", 403, "PUT", "/v1/nodes/{sib}/endpoint", A_OWN, NULL, EP_OK, 0, NULL, NULL},
    {"endpoint_body_too_large", 413, "PUT", EP, A_OWN, NULL, NULL, 4097, NULL, NULL},
    {"malformed_endpoint_request", 400, "PUT", EP, A_OWN, NULL, NULL, 4096, NULL, NULL}, /* at the cap: decoded */
    {"malformed_endpoint_request", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\",\"x\":1}", 0, NULL, NULL},
    {"malformed_endpoint_request", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"full_cone\"}", 0, NULL, NULL},
    {"endpoint_unparseable", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"127.0.0.1:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\"}", 0, NULL, NULL},
    {"endpoint_unparseable", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"198.51.100.7:0\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\"}", 0, NULL, NULL},
    {"endpoint_unparseable", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"198.51.100.7:65536\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\"}", 0, NULL, NULL},
    {"endpoint_unparseable", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"[::1]:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\"}", 0, NULL, NULL},
    {"endpoint_unparseable", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"example.com:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"{now}\"}", 0, NULL, NULL},
    {"endpoint_clock_skew", 400, "PUT", EP, A_OWN, NULL,
     "{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"{old}\"}", 0, NULL, NULL},
    {"endpoint_peer_not_found", 404, "PUT", "/v1/nodes/{unk}/endpoint", A_NONE, SKIP, EP_OK, 0, NULL, NULL},
    {"method_not_allowed", 405, "POST", EP, A_OWN, NULL, EP_OK, 0, "Allow: PUT", NULL},
    /* PutNodeCapabilities */
    {"invalid_node_id", 400, "PUT", "/v1/nodes/0193/capabilities", A_OWN, NULL, CP_OK, 0, NULL, NULL},
    {"unauthorized", 401, "PUT", CP, A_NONE, NULL, CP_OK, 0, NULL, NULL},
    {"unauthorized", 401, "PUT", CP, A_BAD, NULL, CP_OK, 0, NULL, NULL},
    {"unauthorized", 401, "PUT", CP, A_REVOKED, NULL, CP_OK, 0, NULL, NULL},
    {"forbidden", 403, "PUT", "/v1/nodes/{sib}/capabilities", A_OWN, NULL, CP_OK, 0, NULL, NULL},
    {"capabilities_body_too_large", 413, "PUT", CP, A_OWN, NULL, NULL, 32769, NULL, NULL},
    {"malformed_capabilities_request", 400, "PUT", CP, A_OWN, NULL, NULL, 32768, NULL, NULL},
    {"malformed_capabilities_request", 400, "PUT", CP, A_OWN, NULL, "{\"binary_version\":5,\"binary_checksum\":\"" SC_SUM "\"}",
     0, NULL, NULL},
    {"malformed_capabilities_request", 400, "PUT", CP, A_OWN, NULL, "{\"binary_checksum\":\"" SC_SUM "\"}", 0, NULL,
     NULL},
    {"binary_checksum_invalid", 400, "PUT", CP, A_OWN, NULL, "{\"binary_version\":\"1\",\"binary_checksum\":\"zz\"}", 0,
     NULL, NULL},
    {"ssh_host_key_fingerprint_invalid", 400, "PUT", CP, A_OWN, NULL,
     "{\"binary_version\":\"1\",\"binary_checksum\":\"" SC_SUM "\",\"ssh_host_key_fingerprint\":\"MD5:ab\"}", 0, NULL, NULL},
    {"declared_hook_invalid", 400, "PUT", CP, A_OWN, NULL,
     "{\"binary_version\":\"1\",\"binary_checksum\":\"" SC_SUM "\",\"declared_hooks\":[{\"name\":\"\",\"checksum\":\"" SC_SUM "\"}]}",
     0, NULL, NULL},
    {"declared_hook_invalid", 400, "PUT", CP, A_OWN, NULL,
     "{\"binary_version\":\"1\",\"binary_checksum\":\"" SC_SUM "\",\"declared_hooks\":[{\"name\":\"a\",\"checksum\":\"q\"}]}",
     0, NULL, NULL},
    {"declared_hook_duplicate", 400, "PUT", CP, A_OWN, NULL,
     "{\"binary_version\":\"1\",\"binary_checksum\":\"" SC_SUM "\",\"declared_hooks\":[{\"name\":\"a\",\"checksum\":\"" SC_SUM
     "\"},{\"name\":\"a\",\"checksum\":\"" SC_SUM "\"}]}",
     0, NULL, NULL},
    {"declared_hooks_too_many", 400, "PUT", CP, A_OWN, NULL, "{hooks65}", 0, NULL, NULL},
    {"capabilities_node_not_found", 404, "PUT", "/v1/nodes/{unk}/capabilities", A_NONE, SKIP, CP_OK, 0, NULL, NULL},
    /* PostNodeIntegrityViolations */
    {"invalid_node_id", 400, "POST", "/v1/nodes/{id}x/integrity-violations", A_OWN, NULL, IV_OK, 0, NULL, NULL},
    {"unauthorized", 401, "POST", IV, A_NONE, NULL, IV_OK, 0, NULL, NULL},
    {"unauthorized", 401, "POST", IV, A_MALFORMED, NULL, IV_OK, 0, NULL, NULL},
    {"forbidden", 403, "POST", "/v1/nodes/{sib}/integrity-violations", A_OWN, NULL, IV_OK, 0, NULL, NULL},
    {"integrity_violations_body_too_large", 413, "POST", IV, A_OWN, NULL, NULL, 32769, NULL, NULL},
    {"malformed_integrity_violations_request", 400, "POST", IV, A_OWN, NULL, NULL, 32768, NULL, NULL},
    {"malformed_integrity_violations_request", 400, "POST", IV, A_OWN, NULL, "{\"violations\":{}}", 0, NULL, NULL},
    {"malformed_integrity_violations_request", 400, "POST", IV, A_OWN, NULL, "{}", 0, NULL, NULL},
    {"integrity_violations_empty", 400, "POST", IV, A_OWN, NULL, "{\"violations\":[]}", 0, NULL, NULL},
    {"integrity_violations_too_many", 400, "POST", IV, A_OWN, NULL, "{v101}", 0, NULL, NULL},
    {"integrity_violation_kind_invalid", 400, "POST", IV, A_OWN, NULL,
     "{\"violations\":[{\"kind\":\"nope\",\"detected_by\":\"watcher\",\"artifact_id\":\"a\",\"checksum\":\"" SC_SUM "\"}]}", 0,
     NULL, NULL},
    {"integrity_violation_detected_by_invalid", 400, "POST", IV, A_OWN, NULL,
     "{\"violations\":[{\"kind\":\"binary_checksum_mismatch\",\"detected_by\":\"psychic\",\"artifact_id\":\"a\","
     "\"checksum\":\"" SC_SUM "\"}]}",
     0, NULL, NULL},
    {"integrity_violation_artifact_id_empty", 400, "POST", IV, A_OWN, NULL,
     "{\"violations\":[{\"kind\":\"binary_checksum_mismatch\",\"detected_by\":\"watcher\",\"artifact_id\":\"\","
     "\"checksum\":\"" SC_SUM "\"}]}",
     0, NULL, NULL},
    {"integrity_violation_kind_mismatch", 400, "POST", IV, A_OWN, NULL,
     "{\"violations\":[{\"kind\":\"binary_checksum_mismatch\",\"detected_by\":\"watcher\",\"artifact_id\":\"a\","
     "\"host_key_fingerprint\":\"SHA256:" FP43 "\"}]}",
     0, NULL, NULL},
    {"integrity_violation_checksum_invalid", 400, "POST", IV, A_OWN, NULL,
     "{\"violations\":[{\"kind\":\"hook_checksum_mismatch\",\"detected_by\":\"periodic\",\"artifact_id\":\"a\","
     "\"checksum\":\"xyz\"}]}",
     0, NULL, NULL},
    {"integrity_violation_host_key_fingerprint_invalid", 400, "POST", IV, A_OWN, NULL,
     "{\"violations\":[{\"kind\":\"ssh_host_key_mismatch\",\"detected_by\":\"startup\",\"artifact_id\":\"a\","
     "\"host_key_fingerprint\":\"SHA256:short\"}]}",
     0, NULL, NULL},
    {"integrity_violations_node_not_found", 404, "POST", "/v1/nodes/{unk}/integrity-violations", A_NONE, SKIP, IV_OK, 0,
     NULL, NULL},
    /* PostKeysRotate (completion) */
    {"unauthorized", 401, "POST", KR, A_NONE, NULL, KR_OK, 0, NULL, NULL},
    {"unauthorized", 401, "POST", KR, A_REVOKED, NULL, KR_OK, 0, NULL, NULL},
    {"unauthorized", 401, "POST", KR, A_API, NULL, KR_OK, 0, NULL, NULL},
    {"keys_rotate_body_too_large", 413, "POST", KR, A_OWN, NULL, NULL, 4097, NULL, NULL},
    {"malformed_keys_rotate_request", 400, "POST", KR, A_OWN, NULL, NULL, 4096, NULL, NULL},
    {"malformed_keys_rotate_request", 400, "POST", KR, A_OWN, NULL, "{\"new_public_key\":1}", 0, NULL, NULL},
    {"malformed_keys_rotate_request", 400, "POST", KR, A_OWN, NULL, "{\"new_public_key\":\"" SC_PK2 "\"", 0, NULL,
     NULL},
    {"keys_rotate_public_key_invalid", 422, "POST", KR, A_OWN, NULL, "{\"new_public_key\":\"" ZEROKEY "\"}", 0, NULL, NULL},
    {"keys_rotate_public_key_invalid", 422, "POST", KR, A_OWN, NULL, "{\"new_public_key\":\"c2hvcnQ=\"}", 0, NULL, NULL},
    {"keys_rotate_no_pending_rotation", 409, "POST", KR, A_OWN, NULL, KR_OK, 0, NULL, NULL},
    {"keys_rotate_peer_not_found", 404, "POST", KR, A_NONE, SKIP, KR_OK, 0, NULL, NULL},
    {"method_not_allowed", 405, "GET", KR, A_OWN, NULL, NULL, 0, "Allow: POST", NULL},
    /* PostNodeKeysRotate (trigger) */
    {"unauthorized", 401, "POST", TR, A_NONE, NULL, NULL, 0, NULL, NULL},
    {"unauthorized", 401, "POST", TR, A_BAD, NULL, NULL, 0, NULL, NULL},
    {"invalid_node_id", 400, "POST", "/v1/nodes/nope/keys/rotate", A_API, NULL, NULL, 0, NULL, NULL},
    {"insufficient_relation", 403, "POST", TR, A_OWN, NULL, NULL, 0, "WWW-Authenticate: error=\"insufficient_scope\"", NULL},
    {"node_not_found", 404, "POST", "/v1/nodes/{unk}/keys/rotate", A_API, NULL, NULL, 0, NULL, NULL},
    /* GetNodeKeysRotatePreview */
    {"unauthorized", 401, "GET", PV, A_NONE, NULL, NULL, 0, NULL, NULL},
    {"invalid_node_id", 400, "GET", "/v1/nodes/nope/keys/rotate/preview", A_API, NULL, NULL, 0, NULL, NULL},
    {"insufficient_relation", 403, "GET", PV, A_SIB, NULL, NULL, 0, "WWW-Authenticate: error=\"insufficient_scope\"", NULL},
    {"node_not_found", 404, "GET", "/v1/nodes/{unk}/keys/rotate/preview", A_API, NULL, NULL, 0, NULL, NULL},
    /* GetNodeReachability */
    {"unauthorized", 401, "GET", RE, A_NONE, NULL, NULL, 0, NULL, NULL},
    {"unauthorized", 401, "GET", RE, A_REVOKED, NULL, NULL, 0, NULL, NULL},
    {"invalid_node_id", 400, "GET", "/v1/nodes/nope/reachability", A_API, NULL, NULL, 0, NULL, NULL},
    {"insufficient_relation", 403, "GET", RE, A_SIB, NULL, NULL, 0, NULL, NULL},
    {"node_not_found", 404, "GET", "/v1/nodes/{unk}/reachability", A_API, NULL, NULL, 0, NULL, NULL},
    {"method_not_allowed", 405, "POST", RE, A_OWN, NULL, "{}", 0, "Allow: GET", NULL},
    {"route_not_found", 404, "GET", "/v1/nodes/{id}/reachabilty", A_API, NULL, NULL, 0, NULL, "did you mean"},
    /* GetDomainMeshTopology */
    {"unauthorized", 401, "GET", TP, A_NONE, NULL, NULL, 0, NULL, NULL},
    {"insufficient_relation", 403, "GET", TP, A_OWN, NULL, NULL, 0, "WWW-Authenticate: error=\"insufficient_scope\"", NULL},
    {"domain_not_found", 404, "GET", "/v1/domains/{unk}/mesh/topology", A_API, NULL, NULL, 0, NULL, NULL},
    {"invalid_domain_id", 400, "GET", "/v1/domains/nope/mesh/topology", A_API, NULL, NULL, 0, NULL, NULL},
    /* GetNodeEvents */
    {"invalid_last_event_id", 400, "GET", EV, A_OWN, "Last-Event-ID: abc\r\n", NULL, 0, NULL, NULL},
    {"invalid_last_event_id", 400, "GET", EV, A_OWN, "Last-Event-ID: -1\r\n", NULL, 0, NULL, NULL},
    {"invalid_last_event_id", 400, "GET", EV, A_API, "Last-Event-ID: 1.5\r\n", NULL, 0, NULL, NULL},
    {"unauthorized", 401, "GET", EV, A_NONE, NULL, NULL, 0, NULL, NULL},
    {"insufficient_relation", 403, "GET", EV, A_SIB, NULL, NULL, 0, NULL, NULL},
    {"node_not_found", 404, "GET", "/v1/nodes/{unk}/events", A_API, NULL, NULL, 0, NULL, NULL},
    {"invalid_node_id", 400, "GET", "/v1/nodes/n1/events", A_API, NULL, NULL, 0, NULL, NULL},
    /* GetNodeState */
    {"unauthorized", 401, "GET", SN, A_NONE, NULL, NULL, 0, NULL, NULL},
    {"unauthorized", 401, "GET", SN, A_BAD, NULL, NULL, 0, NULL, NULL},
    {"insufficient_relation", 403, "GET", SN, A_SIB, NULL, NULL, 0, NULL, NULL},
    {"node_not_found", 404, "GET", "/v1/nodes/{unk}/state", A_API, NULL, NULL, 0, NULL, NULL},
    {"invalid_node_id", 400, "GET", "/v1/nodes/n1/state", A_API, NULL, NULL, 0, NULL, NULL},
    /* POST /v1/register (the mock's own codes; -bootstrap-token set) */
    {"malformed_register_request", 400, "POST", "/v1/register", A_NONE, NULL,
     "{\"token\":\"\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}", 0, NULL, NULL},
    {"malformed_register_request", 400, "POST", "/v1/register", A_NONE, NULL, "{", 0, NULL, NULL},
    {"malformed_register_request", 400, "POST", "/v1/register", A_NONE, NULL,
     "{\"token\":\"" SC_BOOT "\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\",\"nope\":1}", 0, NULL, NULL},
    {"register_public_key_invalid", 422, "POST", "/v1/register", A_NONE, NULL,
     "{\"token\":\"" SC_BOOT "\",\"public_key\":\"pk\",\"hostname\":\"h\"}", 0, NULL, NULL},
    {"bootstrap_token_invalid", 401, "POST", "/v1/register", A_NONE, NULL,
     "{\"token\":\"bt-wrong\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}", 0, NULL, NULL},
    {"method_not_allowed", 405, "GET", "/v1/register", A_NONE, NULL, NULL, 0, "Allow: POST", NULL},
    /* the mock's own */
    {"route_not_found", 404, "GET", "/v1/nope", A_NONE, NULL, NULL, 0, NULL, NULL},
    {"method_not_allowed", 405, "POST", "/v1/ping", A_NONE, NULL, "{}", 0, "Allow: GET", NULL}, /* reference: no Allow */
    {"method_not_allowed", 405, "OPTIONS", HB, A_OWN, NULL, NULL, 0, "Allow: POST", NULL},
    {"injected_fault", 503, "GET", "/v1/ping", A_NONE, "X-Mockapi-Fault: status=503\r\n", NULL, 0, NULL, NULL},
    {"injected_fault", 429, "POST", HB, A_OWN, "X-Mockapi-Fault: status=429\r\n", HB_OK, 0, NULL, NULL},
    {"malformed_request", 400, "POST", "/v1/nodes/{id}/drift", A_NONE, NULL, "{", 0, NULL, NULL},
    {"invalid_fault", 400, "POST", HB, A_OWN, "X-Mockapi-Fault: bogus=1\r\n", HB_OK, 0, NULL, "bogus"},
    {"invalid_fault", 400, "POST", HB, A_OWN, "X-Mockapi-Fault: status=503; skip-auth\r\n", HB_OK, 0, NULL, NULL},
    {"body_too_large", 413, "POST", "/v1/nodes/{id}/drift", A_NONE, NULL, NULL, MAXB + 1, NULL, NULL},
};

typedef struct tctx {
    mt_server s;
    sc_node own, sib, gone;
    char dom[64];
} tctx;

/* tmpl with the placeholders replaced; free() it. */
static char *expand(const tctx *t, const char *tmpl)
{
    sbuf b = {0};
    sb_str(&b, "");
    for (const char *p = tmpl; *p;) {
        const char *e = *p == '{' ? strchr(p, '}') : NULL;
        size_t k = e ? (size_t)(e - p + 1) : 0;
        char tm[40];
#define IS(lit) (k == sizeof lit - 1 && memcmp(p, lit, k) == 0)
        if (IS("{id}"))
            sb_str(&b, t->own.id);
        else if (IS("{sib}"))
            sb_str(&b, t->sib.id);
        else if (IS("{unk}"))
            sb_str(&b, UNK);
        else if (IS("{dom}"))
            sb_str(&b, t->dom);
        else if (IS("{now}"))
            sc_wall_rfc3339(0, tm), sb_str(&b, tm);
        else if (IS("{old}"))
            sc_wall_rfc3339(-120000, tm), sb_str(&b, tm);
        else if (IS("{fut}"))
            sc_wall_rfc3339(120000, tm), sb_str(&b, tm);
        else if (IS("{hooks65}")) {
            sb_str(&b, "{\"binary_version\":\"1\",\"binary_checksum\":\"" SC_SUM "\",\"declared_hooks\":[");
            for (int i = 0; i < 65; i++)
                sb_fmt(&b, "%s{\"name\":\"h%d\",\"checksum\":\"" SC_SUM "\"}", i ? "," : "", i);
            sb_str(&b, "]}");
        } else if (IS("{v101}")) {
            sb_str(&b, "{\"violations\":[");
            for (int i = 0; i < 101; i++)
                sb_fmt(&b, "%s" V_OK, i ? "," : "");
            sb_str(&b, "]}");
        } else {
            sb_add(&b, p, 1);
            p++;
            continue;
        }
#undef IS
        p += k;
    }
    return b.p;
}

static const char *auth_line(const tctx *t, auth_kind a, char buf[160])
{
    switch (a) {
    case A_NONE: return "";
    case A_OWN: return t->own.auth;
    case A_SIB: return t->sib.auth;
    case A_REVOKED: return t->gone.auth;
    case A_API: return "Authorization: Bearer psk_operator1\r\n";
    case A_BAD: return "Authorization: Bearer not-a-key-anyone-issued\r\n";
    case A_MALFORMED: return "Authorization: Basic dXNlcjpwYXNz\r\n";
    }
    snprintf(buf, 160, "?");
    return buf;
}

/* A strict server with max_body_bytes MAXB and -bootstrap-token SC_BOOT, and
 * three nodes: own, sib (live) and gone (deregistered: its key revoked). */
static void tctx_start(tctx *t)
{
    memset(t, 0, sizeof *t);
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_body_bytes = MAXB;
    cfg.bootstrap_tokens = SC_BOOT ",bt-other";
    sc_strict_start(&t->s, &cfg);
    sc_reg(&t->s, "", &t->own);
    sc_reg(&t->s, "", &t->sib);
    sc_reg(&t->s, "", &t->gone);
    char path[128];
    snprintf(path, sizeof path, "/v1/nodes/%s/deregister", t->gone.id);
    int st = sc_call(&t->s, "POST", path, t->gone.auth, "");
    if (st != 204 && st != 200)
        fail_msg("deregister with the node's own key: %d", st);
    domain_of(&t->s, t->dom);
}

static void sp_taxonomy(void **state)
{
    (void)state;
    tctx t;
    tctx_start(&t);
    soft = true;
    soft_fails = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *w = &rows[i];
        char ab[160];
        char *path = expand(&t, w->path);
        char *body = NULL;
        size_t blen = 0;
        if (w->pad) {
            body = malloc(w->pad);
            memset(body, 'x', w->pad);
            blen = w->pad;
        } else if (w->body) {
            body = expand(&t, w->body);
            blen = strlen(body);
        }
        char *hdrs = rc_fmt("%s%s%s", auth_line(&t, w->auth, ab), w->hdrs ? w->hdrs : "",
                            body ? "Content-Type: application/json\r\n" : "");
        rc_resp r;
        sc_rq_n(&t.s, w->method, path, hdrs, body, blen, &r);
        char *sh = mt_show(r.body, r.body_len);
        char what[512];
        snprintf(what, sizeof what, "row %zu (%s %d): %s %s [auth %d]", i, w->code, w->status, w->method, w->path,
                 (int)w->auth);
        /* every row is checked, the failures listed together (soft) */
        json_t *j = problem(&r, w->status, w->code, path, what);
        char v[512];
        if (j && w->status == 401) {
            int n = 0;
            if (!sc_hdr(&r, "WWW-Authenticate", v, sizeof v, &n) || n != 1 ||
                strncmp(v, "Bearer realm=\"mockapi\"", 22) != 0) {
                print_message("FAIL %s: WWW-Authenticate [%s] x%d\n", what, n ? v : "(none)", n);
                soft_fails++;
            } else {
                const char *want = w->auth == A_NONE        ? NULL
                                   : w->auth == A_MALFORMED ? "error=\"invalid_request\""
                                                            : "error=\"invalid_token\"";
                bool body_token = strcmp(w->code, "bootstrap_token_invalid") == 0; /* a token, in the body */
                if (body_token)
                    want = NULL;
                if (want ? !strstr(v, want) : (!body_token && strstr(v, "error=") != NULL)) {
                    print_message("FAIL %s: WWW-Authenticate [%s], want %s\n", what, v, want ? want : "no error=");
                    soft_fails++;
                }
            }
        }
        if (j && w->want_hdr) {
            const char *colon = strchr(w->want_hdr, ':');
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(colon - w->want_hdr), w->want_hdr);
            if (!sc_hdr(&r, name, v, sizeof v, NULL) || !strstr(v, colon + 2)) {
                print_message("FAIL %s: header %s [%s], want it to contain [%s]\n", what, name,
                              sc_hdr(&r, name, v, sizeof v, NULL) ? v : "(none)", colon + 2);
                soft_fails++;
            }
        }
        if (j && w->detail_has && !strstr(mt_jstr(j, "detail"), w->detail_has)) {
            print_message("FAIL %s: detail \"%s\" lacks \"%s\"\n", what, mt_jstr(j, "detail"), w->detail_has);
            soft_fails++;
        }
        json_decref(j);
        free(sh);
        rc_resp_free(&r);
        free(hdrs);
        free(body);
        free(path);
    }
    soft = false;
    if (soft_fails)
        fail_msg("%d failed checks in %zu rows (listed above)", soft_fails, sizeof rows / sizeof rows[0]);
    /* nothing above changed a node: own still heartbeats, no rotation pending */
    assert_int_equal(heartbeat(&t.s, "", &t.own, NULL, 0), 200);
    rc_healthy(&t.s, false, "after the taxonomy");
}

/* 409 node_limit (README "The strict profile"): the registry holds 250
 * nodes; the 251st register is refused (nothing evicted), a deregister
 * makes room. */
static void sp_node_limit(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    sc_node n[251];
    for (int i = 0; i < 250; i++)
        sc_reg(&s, "", &n[i]);
    for (int i = 1; i < 250; i++) /* distinct ids and keys */
        if (strcmp(n[i].id, n[i - 1].id) == 0 || strcmp(n[i].nsk, n[i - 1].nsk) == 0)
            fail_msg("register %d gave the id or key of the one before", i);
    expect_problem(&s, "POST", "/v1/register", "Content-Type: application/json\r\n",
                   "{\"token\":\"t\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}", 409, "node_limit");
    /* every node still there and heartbeating: nothing was evicted */
    assert_int_equal(heartbeat(&s, "", &n[0], NULL, 0), 200);
    assert_int_equal(heartbeat(&s, "", &n[249], NULL, 0), 200);
    json_t *l = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(l, "nodes")), 250);
    json_decref(l);
    /* the preview of one of 250 nodes lists its 249 edges */
    char path[160];
    snprintf(path, sizeof path, "/v1/nodes/%s/keys/rotate/preview", n[7].id);
    json_t *p = sc_get_json(&s, path, "Authorization: Bearer psk_x\r\n");
    assert_int_equal(mt_jint(p, "affected_peer_count"), 249);
    assert_int_equal(json_array_size(json_object_get(p, "affected_edges")), 249);
    json_decref(p);
    snprintf(path, sizeof path, "/v1/nodes/%s/deregister", n[3].id);
    int st = sc_call(&s, "POST", path, n[3].auth, "");
    assert_true(st == 204 || st == 200);
    sc_reg(&s, "", &n[250]);
    /* ten over the cap in a row: each 507, the server well */
    for (int i = 0; i < 10; i++)
        expect_problem(&s, "POST", "/v1/register", NULL, "{\"token\":\"t\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}",
                       409, "node_limit");
    /* 300 deregister + register cycles: the revoked keys stay bounded (the
     * oldest forgotten: 401 either way), the registry full, the server well */
    for (int i = 0; i < 300; i++) {
        sc_node *v = &n[(i * 7) % 250 == 3 ? 250 : (i * 7) % 250];
        snprintf(path, sizeof path, "/v1/nodes/%s/deregister", v->id);
        st = sc_call(&s, "POST", path, v->auth, "");
        if (st != 204)
            fail_msg("cycle %d: deregister %s: %d", i, v->id, st);
        sc_reg(&s, "", v);
    }
    json_t *l2 = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(l2, "nodes")), 250);
    if (mt_jint(l2, "revoked") > 250)
        fail_msg("%" PRId64 " revoked keys kept: the bound is 250", (int64_t)mt_jint(l2, "revoked"));
    json_decref(l2);
    rc_healthy(&s, false, "after a full registry");
}

/* ---- sp_auth_order ------------------------------------------------------ */

static void sp_auth_order(void **state)
{
    (void)state;
    tctx t;
    tctx_start(&t);
    char p[256], dom_unk[128];
    char *b;
    char old[40];
    sc_wall_rfc3339(-120000, old);

    /* authenticate before the path id: no key + a malformed id */
    expect_problem(&t.s, "POST", "/v1/nodes/not-a-uuid/heartbeat", NULL, "{}", 401, "nsk_revoked");
    expect_problem(&t.s, "GET", "/v1/nodes/not-a-uuid/reachability", "Authorization: Bearer nobody\r\n", NULL, 401,
                   "unauthorized");
    expect_problem(&t.s, "PUT", "/v1/nodes/zz/capabilities", NULL, "{", 401, "unauthorized");
    /* ... and before the Last-Event-ID */
    snprintf(p, sizeof p, "/v1/nodes/%s/events", t.own.id);
    expect_problem(&t.s, "GET", p, "Last-Event-ID: abc\r\n", NULL, 401, "unauthorized");
    /* the path id before authorisation: a valid (sibling's) key + a malformed id */
    expect_problem(&t.s, "POST", "/v1/nodes/not-a-uuid/heartbeat", t.sib.auth, "{", 400, "invalid_node_id");
    /* authorise before the cap: a sibling's key + an oversized body */
    snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", t.sib.id);
    {
        char big[5000];
        memset(big, '{', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        expect_problem(&t.s, "PUT", p, t.own.auth, big, 403, "node_id_mismatch");
        /* a good key + an over-cap body that is not JSON either: 413 */
        snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", t.own.id);
        expect_problem(&t.s, "PUT", p, t.own.auth, big, 413, "endpoint_body_too_large");
        expect_problem(&t.s, "POST", "/v1/keys/rotate", t.own.auth, big, 413, "keys_rotate_body_too_large");
        /* no key + over-cap: 401 */
        expect_problem(&t.s, "POST", "/v1/keys/rotate", NULL, big, 401, "unauthorized");
    }
    {
        char *big = malloc(40000);
        memset(big, '[', 39999);
        big[39999] = '\0';
        snprintf(p, sizeof p, "/v1/nodes/%s/capabilities", t.sib.id);
        expect_problem(&t.s, "PUT", p, t.own.auth, big, 403, "forbidden");
        snprintf(p, sizeof p, "/v1/nodes/%s/integrity-violations", t.sib.id);
        expect_problem(&t.s, "POST", p, t.own.auth, big, 403, "forbidden");
        snprintf(p, sizeof p, "/v1/nodes/%s/integrity-violations", t.own.id);
        expect_problem(&t.s, "POST", p, t.own.auth, big, 413, "integrity_violations_body_too_large");
        free(big);
    }
    /* a sibling's key + a body over the server's own cap (no seed cap on
     * heartbeat): still 403, authorisation comes first */
    {
        char *big = malloc(MAXB + 2);
        memset(big, 'x', MAXB + 1);
        big[MAXB + 1] = '\0';
        snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", t.sib.id);
        expect_problem(&t.s, "POST", p, t.own.auth, big, 403, "node_id_mismatch");
        snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", t.own.id);
        expect_problem(&t.s, "POST", p, NULL, big, 401, "nsk_revoked");
        free(big);
    }
    /* authorise before decode */
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", t.sib.id);
    expect_problem(&t.s, "POST", p, t.own.auth, "{", 403, "node_id_mismatch");
    /* decode before the clock skew: malformed JSON with an old client_now */
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", t.own.id);
    b = rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\"", old);
    expect_problem(&t.s, "POST", p, t.own.auth, b, 400, "malformed_heartbeat_request");
    free(b);
    b = rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\",\"extra\":true}",
               old);
    expect_problem(&t.s, "POST", p, t.own.auth, b, 400, "malformed_heartbeat_request");
    free(b);
    /* semantic before the skew */
    b = rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"\",\"binary_version\":\"1\"}", old);
    expect_problem(&t.s, "POST", p, t.own.auth, b, 400, "binary_checksum_empty");
    free(b);
    snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", t.own.id);
    b = rc_fmt("{\"endpoint\":\"127.0.0.1:1\",\"nat_type\":\"x\",\"reported_at\":\"%s\"}", old);
    expect_problem(&t.s, "PUT", p, t.own.auth, b, 400, "endpoint_unparseable");
    free(b);
    /* existence after authorisation (no id oracle) */
    expect_problem(&t.s, "GET", "/v1/nodes/" UNK "/reachability", t.sib.auth, NULL, 403, "insufficient_relation");
    expect_problem(&t.s, "GET", "/v1/nodes/" UNK "/reachability", "Authorization: Bearer psk_x\r\n", NULL, 404,
                   "node_not_found");
    expect_problem(&t.s, "GET", "/v1/nodes/" UNK "/state", t.own.auth, NULL, 403, "insufficient_relation");
    expect_problem(&t.s, "GET", "/v1/nodes/" UNK "/events", t.own.auth, NULL, 403, "insufficient_relation");
    expect_problem(&t.s, "POST", "/v1/nodes/" UNK "/keys/rotate", t.own.auth, NULL, 403, "insufficient_relation");
    expect_problem(&t.s, "GET", "/v1/nodes/" UNK "/keys/rotate/preview", t.own.auth, NULL, 403, "insufficient_relation");
    snprintf(dom_unk, sizeof dom_unk, "/v1/domains/%s/mesh/topology", UNK);
    expect_problem(&t.s, "GET", dom_unk, t.own.auth, NULL, 403, "insufficient_relation");
    expect_problem(&t.s, "GET", dom_unk, "Authorization: Bearer psk_x\r\n", NULL, 404, "domain_not_found");
    b = sc_hb_body();
    expect_problem(&t.s, "POST", "/v1/nodes/" UNK "/heartbeat", t.own.auth, b, 403, "node_id_mismatch");
    /* a revoked key on a read surface of the node it belonged to: 401 */
    snprintf(p, sizeof p, "/v1/nodes/%s/reachability", t.gone.id);
    expect_problem(&t.s, "GET", p, t.gone.auth, NULL, 401, "unauthorized");
    /* skip-auth: the decode still comes before existence */
    expect_problem(&t.s, "POST", "/v1/nodes/" UNK "/heartbeat", SKIP, "{", 400, "malformed_heartbeat_request");
    expect_problem(&t.s, "POST", "/v1/nodes/" UNK "/heartbeat", SKIP, b, 404, "node_not_found");
    free(b);
    /* semantic (422) before the conflict (409): nothing pending, a bad key */
    expect_problem(&t.s, "POST", "/v1/keys/rotate", t.own.auth, "{\"new_public_key\":\"" ZEROKEY "\"}", 422,
                   "keys_rotate_public_key_invalid");
    rc_healthy(&t.s, false, "after the order checks");
}

/* ---- flows -------------------------------------------------------------- */

/* GET the node's reachability with its own key. */
static json_t *reach(const mt_server *s, const char *pre, const sc_node *n)
{
    char p[192];
    snprintf(p, sizeof p, "%s/v1/nodes/%s/reachability", pre, n->id);
    json_t *j = sc_get_json(s, p, n->auth);
    const char *st = mt_jstr(j, "state");
    if (strcmp(st, "healthy") && strcmp(st, "stale") && strcmp(st, "unreachable"))
        fail_msg("reachability state %s", st);
    parse_ms(mt_jstr(j, "changed_at"), "changed_at");
    json_t *l = json_object_get(j, "last_heartbeat_at");
    if (!l || !(json_is_null(l) || json_is_string(l)) || json_object_size(j) != 3)
        fail_msg("reachability: want exactly state, last_heartbeat_at (string or null), changed_at");
    return j;
}

static void sp_flow_reachability(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    /* before any heartbeat: healthy, last_heartbeat_at null */
    json_t *j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    assert_true(json_is_null(json_object_get(j, "last_heartbeat_at")));
    json_decref(j);
    char acc[64];
    assert_int_equal(heartbeat(&s, "", &a, acc, sizeof acc), 200);
    int64_t hb = parse_ms(acc, "accepted_at");
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    assert_string_equal(mt_jstr(j, "last_heartbeat_at"), acc);
    json_decref(j);
    /* an operator token reads it too */
    char p[192];
    snprintf(p, sizeof p, "/v1/nodes/%s/reachability", a.id);
    json_decref(sc_get_json(&s, p, "Authorization: Bearer psk_x\r\n"));

    assert_int_equal(advance(&s, "60000"), 60000);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    json_decref(j);
    assert_int_equal(advance(&s, "30000"), 90000);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "stale");
    assert_string_equal(mt_jstr(j, "last_heartbeat_at"), acc);
    if (parse_ms(mt_jstr(j, "changed_at"), "changed_at") != hb + 90000)
        fail_msg("stale: changed_at %s, want accepted_at %s + 90 s", mt_jstr(j, "changed_at"), acc);
    json_decref(j);
    assert_int_equal(advance(&s, "210000"), 300000);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "unreachable");
    if (parse_ms(mt_jstr(j, "changed_at"), "changed_at") != hb + 300000)
        fail_msg("unreachable: changed_at %s, want accepted_at %s + 300 s", mt_jstr(j, "changed_at"), acc);
    json_decref(j);
    /* GET /test/clock says the same offset; the skew check uses the wall
     * clock, so the agent's heartbeat (client_now = real time) is accepted */
    j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 300000);
    int64_t clock_now = parse_ms(mt_jstr(j, "now"), "clock now");
    json_decref(j);
    char acc2[64];
    assert_int_equal(heartbeat(&s, "", &a, acc2, sizeof acc2), 200);
    int64_t hb2 = parse_ms(acc2, "accepted_at");
    if (hb2 < clock_now || hb2 < hb + 300000)
        fail_msg("accepted_at %s is not on the session clock (now %" PRId64 ")", acc2, clock_now);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    assert_string_equal(mt_jstr(j, "last_heartbeat_at"), acc2);
    assert_string_equal(mt_jstr(j, "changed_at"), acc2);
    json_decref(j);
    /* /test/nodes shows the same reachability */
    j = sc_get_json(&s, "/test/nodes", NULL);
    json_t *n0 = json_array_get(json_object_get(j, "nodes"), 0);
    assert_non_null(n0);
    assert_string_equal(mt_jstr(n0, "node_id"), a.id);
    assert_string_equal(mt_jstr(json_object_get(n0, "reachability"), "state"), "healthy");
    json_decref(j);
    /* a reset puts the clock back and forgets the nodes */
    assert_int_equal(sc_call(&s, "POST", "/test/reset", NULL, NULL), 204);
    j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 0);
    json_decref(j);
    assert_int_equal(heartbeat(&s, "", &a, NULL, 0), 401);
    j = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 0);
    json_decref(j);
}

/* The clock's bounds: advance_ms 0..315360000000, anything else a 400 that
 * leaves the clock where it was; many maximal advances never give a time
 * that is not RFC 3339. */
static void sp_clock_bounds(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    static const char *const bad[] = {"-1", "abc", "", "1e3", "315360000001", "99999999999999999999999",
                                      "1.5", "%2D5", "+5", " 5", "0x10", "9223372036854775807"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/test/clock?advance_ms=%s", bad[i]);
        rc_resp r;
        int st = sc_rq(&s, "POST", path, NULL, NULL, &r);
        if (st != 400) {
            char *sh = mt_show(r.body, r.body_len);
            fail_msg("POST %s: %d %s, want 400", path, st, sh);
        }
        rc_resp_free(&r);
    }
    assert_int_equal(sc_call(&s, "POST", "/test/clock", NULL, NULL), 400);
    assert_int_equal(sc_call(&s, "POST", "/test/clock?advance_ms=1&advance_ms=2", NULL, NULL), 400);
    assert_int_equal(sc_call(&s, "POST", "/test/clock?advance=5", NULL, NULL), 400);
    json_t *j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 0);
    json_decref(j);
    assert_int_equal(advance(&s, "0"), 0);
    sc_node a;
    sc_reg(&s, "", &a);
    char acc[64];
    assert_int_equal(heartbeat(&s, "", &a, acc, sizeof acc), 200);
    int64_t hb = parse_ms(acc, "accepted_at");
    /* ten years at once: unreachable since accepted_at + 300 s */
    assert_int_equal(advance(&s, "315360000000"), 315360000000LL);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "unreachable");
    assert_int_equal(parse_ms(mt_jstr(j, "changed_at"), "changed_at"), hb + 300000);
    json_decref(j);
    /* the agent on real time is still accepted (the skew check is the wall clock's) */
    assert_int_equal(heartbeat(&s, "", &a, acc, sizeof acc), 200);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    json_decref(j);
    /* ten years in all (README): every further advance refused, the clock
     * where it was, its time still RFC 3339; 0 is still fine */
    int refused = 0;
    for (int i = 0; i < 50; i++) {
        rc_resp r;
        int st = sc_rq(&s, "POST", i % 2 ? "/test/clock?advance_ms=1" : "/test/clock?advance_ms=315360000000", NULL,
                    NULL, &r);
        if (st == 400)
            refused++;
        else
            fail_msg("advance %d past ten years: %d", i, st);
        rc_resp_free(&r);
    }
    assert_int_equal(advance(&s, "0"), 315360000000LL);
    j = sc_get_json(&s, "/test/clock", NULL);
    parse_ms(mt_jstr(j, "now"), "clock now");
    assert_int_equal(mt_jint(j, "offset_ms"), 315360000000LL);
    json_decref(j);
    j = sc_get_json(&s, "/test/nodes", NULL);
    parse_ms(mt_jstr(j, "now"), "/test/nodes now");
    json_decref(j);
    /* a reset sets it back */
    assert_int_equal(sc_call(&s, "POST", "/test/reset", NULL, NULL), 204);
    assert_int_equal(advance(&s, "1"), 1);
    assert_int_equal(refused, 50);
    rc_healthy(&s, false, "after the clock's bounds");
}

/* Reads frames until one whose event or data names what (1), or the
 * marker event_id (0), or the deadline (fails). */
static int until_event(sse_client *c, const char *what, const char *marker)
{
    int64_t dl = mt_now_ms() + SC_WAIT_MS;
    for (;;) {
        sse_event ev;
        int r = sse_next(c, &ev, dl);
        if (r != 1)
            fail_msg("event stream: no %s event (%s)", what, r == 0 ? "deadline" : "ended");
        bool hit = (ev.event && strcmp(ev.event, what) == 0) || (ev.data && strstr(ev.data, what));
        bool mark = marker && ev.data && strstr(ev.data, marker);
        sse_event_free(&ev);
        if (hit && !mark)
            return 1;
        if (mark)
            return 0;
    }
}

static void sp_flow_rotation(void **state)
{
    (void)state;
    mt_server s;
    sc_node a, b;
    sc_strict_nodes(&s, &a, &b, NULL);
    const char *op = "Authorization: Bearer psk_x\r\n";
    char tr[192], pv[192];
    snprintf(tr, sizeof tr, "/v1/nodes/%s/keys/rotate", a.id);
    snprintf(pv, sizeof pv, "/v1/nodes/%s/keys/rotate/preview", a.id);
    /* preview: a dry run that changes nothing */
    json_t *p = sc_get_json(&s, pv, op);
    assert_string_equal(mt_jstr(p, "node_id"), a.id);
    assert_string_equal(mt_jstr(p, "peer_id"), a.id);
    assert_true(json_is_false(json_object_get(p, "already_pending")));
    assert_int_equal(mt_jint(p, "affected_peer_count"), 1);
    json_t *e0 = json_array_get(json_object_get(p, "affected_edges"), 0);
    assert_non_null(e0);
    assert_string_equal(mt_jstr(e0, "from"), a.id);
    assert_string_equal(mt_jstr(e0, "to"), b.id);
    assert_true(json_is_integer(json_object_get(p, "estimated_duration_seconds")));
    json_decref(p);
    json_t *l = sc_get_json(&s, "/test/nodes", NULL);
    json_t *ln;
    size_t i;
    json_array_foreach(json_object_get(l, "nodes"), i, ln) assert_true(json_is_null(json_object_get(ln, "rotation")));
    json_decref(l);
    /* the node listens on its event stream */
    sse_client ev;
    char evp[192];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    int st = sc_events_open(&ev, &s, evp, &a, NULL);
    if (st != 200)
        fail_msg("GET %s with the node's key: %d [%s]", evp, st, ev.head ? ev.head : "");
    sc_sse_wait(&s, "", 1);
    /* trigger */
    rc_resp r;
    st = sc_rq(&s, "POST", tr, op, NULL, &r);
    if (st != 200 && st != 202) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("trigger: %d %s", st, sh);
    }
    json_t *t1 = sc_body_json(&r);
    rc_resp_free(&r);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", mt_jstr(t1, "rotation_id"));
    assert_true(sc_is_uuid(rid));
    assert_string_equal(mt_jstr(t1, "peer_id"), a.id);
    assert_true(json_is_false(json_object_get(t1, "already_pending")));
    json_decref(t1);
    /* one rotate_keys event on the node's stream */
    assert_int_equal(until_event(&ev, "rotate_keys", NULL), 1);
    /* a second trigger: the same handle, already_pending, no second event */
    json_t *t2 = NULL;
    st = sc_rq(&s, "POST", tr, "Authorization: Bearer psk_other\r\n", NULL, &r);
    assert_true(st == 200 || st == 202);
    t2 = sc_body_json(&r);
    rc_resp_free(&r);
    assert_string_equal(mt_jstr(t2, "rotation_id"), rid);
    assert_true(json_is_true(json_object_get(t2, "already_pending")));
    json_decref(t2);
    assert_int_equal(sc_call(&s, "POST", "/test/inject-event", NULL,
                          "{\"event_type\":\"marker\",\"event_id\":\"marker-1\",\"nonce\":\"m1\",\"payload\":{}}"),
                     204);
    if (until_event(&ev, "rotate_keys", "marker-1") != 0)
        fail_msg("a second rotate_keys event after the idempotent trigger");
    /* the preview shows it pending; /test/nodes too */
    p = sc_get_json(&s, pv, op);
    assert_true(json_is_true(json_object_get(p, "already_pending")));
    json_decref(p);
    l = sc_get_json(&s, "/test/nodes", NULL);
    json_array_foreach(json_object_get(l, "nodes"), i, ln) if (strcmp(mt_jstr(ln, "node_id"), a.id) == 0)
    {
        json_t *rot = json_object_get(ln, "rotation");
        assert_string_equal(mt_jstr(rot, "id"), rid);
        assert_string_equal(mt_jstr(rot, "state"), "pending");
    }
    json_decref(l);
    /* another node completing: nothing pending for it */
    expect_problem(&s, "POST", "/v1/keys/rotate", b.auth, "{\"new_public_key\":\"" SC_PK2 "\"}", 409,
                   "keys_rotate_no_pending_rotation");
    /* completion with the NSK */
    st = sc_rq(&s, "POST", "/v1/keys/rotate", a.auth, "{\"new_public_key\":\"" SC_PK2 "\"}", &r);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("completion: %d %s", st, sh);
    }
    json_t *c1 = sc_body_json(&r);
    rc_resp_free(&r);
    assert_string_equal(mt_jstr(c1, "rotation_id"), rid);
    assert_true(json_is_string(json_object_get(c1, "kid")));
    assert_true(json_is_integer(json_object_get(c1, "wrap_key_version")));
    for (const char *k = "psk"; k; k = NULL)
        if (json_object_get(c1, k))
            fail_msg("the receipt carries a PSK");
    /* the same key again: the prior receipt */
    st = sc_rq(&s, "POST", "/v1/keys/rotate", a.auth, "{\"new_public_key\":\"" SC_PK2 "\"}", &r);
    assert_int_equal(st, 200);
    json_t *c2 = sc_body_json(&r);
    rc_resp_free(&r);
    assert_true(json_equal(c1, c2));
    json_decref(c2);
    /* the completion raised one peer_key_rotated (README), the retry none */
    assert_int_equal(until_event(&ev, "peer_key_rotated", NULL), 1);
    assert_int_equal(sc_call(&s, "POST", "/test/inject-event", NULL,
                          "{\"event_type\":\"marker\",\"event_id\":\"marker-2\",\"nonce\":\"m2\",\"payload\":{}}"),
                     204);
    if (until_event(&ev, "peer_key_rotated", "marker-2") != 0)
        fail_msg("a second peer_key_rotated event after the idempotent completion");
    sse_close(&ev);
    /* another key with nothing pending: 409 */
    expect_problem(&s, "POST", "/v1/keys/rotate", a.auth, "{\"new_public_key\":\"" PK3 "\"}", 409,
                   "keys_rotate_no_pending_rotation");
    l = sc_get_json(&s, "/test/nodes", NULL);
    json_array_foreach(json_object_get(l, "nodes"), i, ln) if (strcmp(mt_jstr(ln, "node_id"), a.id) == 0)
        assert_string_equal(mt_jstr(json_object_get(ln, "rotation"), "state"), "completed");
    json_decref(l);
    /* the NSK still authenticates after the rotation (the mesh key moved, not the NSK) */
    assert_int_equal(heartbeat(&s, "", &a, NULL, 0), 200);
    /* a new trigger after completion: a new rotation, the version goes up */
    st = sc_rq(&s, "POST", tr, op, NULL, &r);
    assert_true(st == 200 || st == 202);
    json_t *t3 = sc_body_json(&r);
    rc_resp_free(&r);
    assert_string_not_equal(mt_jstr(t3, "rotation_id"), rid);
    assert_true(json_is_false(json_object_get(t3, "already_pending")));
    st = sc_rq(&s, "POST", "/v1/keys/rotate", a.auth, "{\"new_public_key\":\"" PK3 "\"}", &r);
    assert_int_equal(st, 200);
    json_t *c3 = sc_body_json(&r);
    rc_resp_free(&r);
    assert_string_equal(mt_jstr(c3, "rotation_id"), mt_jstr(t3, "rotation_id"));
    assert_int_equal(mt_jint(c3, "wrap_key_version"), mt_jint(c1, "wrap_key_version") + 1);
    json_decref(c3);
    json_decref(t3);
    json_decref(c1);
    /* the topology lists both nodes */
    char dom[64], tp[160];
    domain_of(&s, dom);
    snprintf(tp, sizeof tp, "/v1/domains/%s/mesh/topology", dom);
    json_t *topo = sc_get_json(&s, tp, op);
    assert_string_equal(mt_jstr(topo, "domain_id"), dom);
    assert_int_equal(json_array_size(json_object_get(topo, "nodes")), 2);
    parse_ms(mt_jstr(topo, "generated_at"), "generated_at");
    json_decref(topo);
}

/* Deregister: the node goes, its key becomes revoked (401 everywhere, the
 * journal says revoked). */
static void sp_flow_deregister(void **state)
{
    (void)state;
    mt_server s;
    sc_node a, b;
    sc_strict_nodes(&s, &a, &b, NULL);
    char p[192];
    snprintf(p, sizeof p, "/v1/nodes/%s/deregister", a.id);
    expect_problem(&s, "POST", p, NULL, "", 401, "unauthorized");
    expect_problem(&s, "POST", p, b.auth, "", 403, "forbidden");
    int st = sc_call(&s, "POST", p, a.auth, "");
    assert_true(st == 204 || st == 200);
    expect_problem(&s, "POST", p, a.auth, "", 401, "unauthorized");
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    char *hb = sc_hb_body();
    expect_problem(&s, "POST", p, a.auth, hb, 401, "nsk_revoked");
    free(hb);
    snprintf(p, sizeof p, "/v1/nodes/%s/reachability", a.id);
    expect_problem(&s, "GET", p, "Authorization: Bearer psk_x\r\n", NULL, 404, "node_not_found");
    json_t *j = sc_get_json(&s, "/test/requests?route=heartbeat", NULL);
    json_t *e = json_array_get(json_object_get(j, "entries"), 0);
    assert_non_null(e);
    json_t *au = json_object_get(e, "auth");
    assert_string_equal(mt_jstr(au, "class"), "revoked");
    assert_string_equal(mt_jstr(au, "node"), a.id);
    json_decref(j);
    j = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 1);
    assert_int_equal(mt_jint(j, "revoked"), 1);
    json_decref(j);
    assert_int_equal(heartbeat(&s, "", &b, NULL, 0), 200);
}

/* ---- WWW-Authenticate --------------------------------------------------- */

static void sp_www_authenticate(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char p[192], v[512];
    int n;
    rc_resp r;
    char *hb = sc_hb_body();
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    sc_rq(&s, "POST", p, NULL, hb, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(sc_hdr(&r, "WWW-Authenticate", v, sizeof v, &n));
    assert_int_equal(n, 1);
    if (strncmp(v, "Bearer realm=\"mockapi\"", 22) != 0 || strstr(v, "error="))
        fail_msg("no token: WWW-Authenticate [%s]", v);
    rc_resp_free(&r);
    sc_rq(&s, "POST", p, "Authorization: Bearer wrong\r\n", hb, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(sc_hdr(&r, "WWW-Authenticate", v, sizeof v, &n));
    if (strncmp(v, "Bearer realm=\"mockapi\"", 22) != 0 || !strstr(v, "error=\"invalid_token\"") ||
        !strstr(v, "error_description=\""))
        fail_msg("a bad token: WWW-Authenticate [%s]", v);
    /* the description never echoes the token */
    assert_null(strstr(v, "wrong"));
    rc_resp_free(&r);
    sc_rq(&s, "POST", p, "Authorization: Basic Zm9vOmJhcg==\r\n", hb, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(sc_hdr(&r, "WWW-Authenticate", v, sizeof v, &n));
    if (!strstr(v, "error=\"invalid_request\""))
        fail_msg("a malformed header: WWW-Authenticate [%s]", v);
    rc_resp_free(&r);
    snprintf(p, sizeof p, "/v1/nodes/%s/keys/rotate", a.id);
    sc_rq(&s, "POST", p, a.auth, NULL, &r);
    json_decref(problem(&r, 403, "insufficient_relation", p, "trigger with a node key"));
    assert_non_null(sc_hdr(&r, "WWW-Authenticate", v, sizeof v, &n));
    if (strncmp(v, "Bearer ", 7) != 0 || !strstr(v, "error=\"insufficient_scope\""))
        fail_msg("403 insufficient_relation: WWW-Authenticate [%s]", v);
    rc_resp_free(&r);
    /* a success has none */
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    sc_rq(&s, "POST", p, a.auth, hb, &r);
    assert_int_equal(r.status, 200);
    assert_null(sc_hdr(&r, "WWW-Authenticate", v, sizeof v, NULL));
    rc_resp_free(&r);
    free(hb);
}

/* ---- the reference profile --------------------------------------------- */

static void expect_golden(const mt_server *s, const char *method, const char *path, const char *body, int status,
                          const char *golden)
{
    rc_resp r;
    sc_rq(s, method, path, NULL, body, &r);
    unsigned char *g;
    size_t gn;
    assert_int_equal(mt_golden(golden, s->key, &g, &gn), 0);
    if (r.status != status || r.body_len != gn || memcmp(r.body, g, gn) != 0) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("%s %s: %d %s, want %d golden %s", method, path, r.status, sh, status, golden);
    }
    free(g);
    rc_resp_free(&r);
}

static void sp_reference_unchanged(void **state)
{
    (void)state;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false); /* the default profile is reference */
    /* the strict-only routes are the reference's 404 */
    static const char *const strict_only[][2] = {
        {"GET", "/v1/nodes/" UNK "/reachability"},
        {"POST", "/v1/nodes/" UNK "/keys/rotate"},
        {"GET", "/v1/nodes/" UNK "/keys/rotate/preview"},
        {"GET", "/v1/domains/" UNK "/mesh/topology"},
        {"POST", "/v1/nodes/" UNK "/integrity-violations"},
    };
    for (size_t i = 0; i < sizeof strict_only / sizeof strict_only[0]; i++) {
        rc_resp r;
        sc_rq(&s, strict_only[i][0], strict_only[i][1], "Authorization: Bearer psk_x\r\n",
           strcmp(strict_only[i][0], "POST") == 0 ? "{}" : NULL, &r);
        char ct[128];
        if (r.status != 404 || r.body_len != 19 || memcmp(r.body, "404 page not found\n", 19) != 0 ||
            !sc_hdr(&r, "Content-Type", ct, sizeof ct, NULL) || strncmp(ct, "text/plain", 10) != 0) {
            char *sh = mt_show(r.body, r.body_len);
            fail_msg("reference %s %s: %d %s", strict_only[i][0], strict_only[i][1], r.status, sh);
        }
        rc_resp_free(&r);
    }
    /* the reference's answers, no auth needed */
    expect_golden(&s, "POST", RC_HB_PATH, RC_HB_BODY, 200, "heartbeat");
    expect_golden(&s, "POST", "/v1/nodes/" UNK "/heartbeat", "{}", 200, "heartbeat");
    expect_golden(&s, "POST", "/v1/register", "{}", 200, "register");
    expect_golden(&s, "POST", "/v1/register", "{\"token\":5}", 400, "register_badjson");
    expect_golden(&s, "GET", "/v1/nodes/n1/state", NULL, 200, "state");
    expect_golden(&s, "POST", "/v1/ping", "{}", 405, "ping_post");
    expect_golden(&s, "GET", "/v1/nodes/n1/heartbeats", NULL, 404, "unknown");
    expect_golden(&s, "POST", "/v1/keys/rotate", "{\"new_public_key\":\"" SC_PK2 "\"}", 200, "key_rotate");
    /* the test-control additions answer in both profiles */
    json_t *j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 0);
    json_decref(j);
    j = sc_get_json(&s, "/test/nodes", NULL);
    assert_true(sc_is_uuid(mt_jstr(j, "domain_id")));
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 0);
    json_decref(j);
    /* the journal has no auth member in a reference session */
    j = sc_get_json(&s, "/test/requests?route=heartbeat", NULL);
    json_t *e = json_array_get(json_object_get(j, "entries"), 0);
    assert_non_null(e);
    assert_null(json_object_get(e, "auth"));
    json_decref(j);
    /* skip-auth is a fault key in both: it changes nothing in reference */
    rc_resp r;
    sc_rq(&s, "POST", RC_HB_PATH, SKIP, RC_HB_BODY, &r);
    assert_int_equal(r.status, 200);
    rc_resp_free(&r);
}

/* ---- per-session profile ------------------------------------------------ */

static void sp_session_profile(void **state)
{
    (void)state;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_resp r;
    int st = sc_rq(&s, "POST", "/test/sessions", NULL, "{\"id\":\"strict1\",\"profile\":\"strict\"}", &r);
    if (st != 201) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("POST /test/sessions profile strict: %d %s", st, sh);
    }
    json_t *j = sc_body_json(&r);
    assert_string_equal(mt_jstr(j, "profile"), "strict");
    json_decref(j);
    rc_resp_free(&r);
    st = sc_rq(&s, "POST", "/test/sessions", NULL, "{\"id\":\"ref1\"}", &r);
    assert_int_equal(st, 201);
    j = sc_body_json(&r);
    assert_string_equal(mt_jstr(j, "profile"), "reference");
    json_decref(j);
    rc_resp_free(&r);
    st = sc_rq(&s, "POST", "/test/sessions", NULL, "{\"id\":\"bad1\",\"profile\":\"strcit\"}", &r);
    if (st != 400 || !strstr((char *)r.body, "strict")) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("profile strcit: %d %s, want 400 naming strict", st, sh);
    }
    rc_resp_free(&r);
    assert_int_equal(sc_call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"bad2\",\"profile\":5}"), 400);
    j = sc_get_json(&s, "/test/sessions", NULL);
    json_t *se;
    size_t i;
    int seen = 0;
    json_array_foreach(json_object_get(j, "sessions"), i, se)
    {
        const char *id = mt_jstr(se, "id");
        const char *want = strcmp(id, "strict1") == 0 ? "strict" : "reference";
        assert_string_equal(mt_jstr(se, "profile"), want);
        seen++;
    }
    assert_int_equal(seen, 3);
    json_decref(j);
    /* the strict session: problem+json, its own registry; default: reference */
    const char *pth = "/s/strict1/v1/nodes/" UNK "/heartbeat";
    sc_rq(&s, "POST", pth, NULL, "{}", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr((char *)r.body, "\"code\":\"nsk_revoked\""));
    rc_resp_free(&r);
    sc_rq(&s, "POST", "/v1/nodes/" UNK "/heartbeat", "X-Mockapi-Session: strict1\r\n", "{}", &r);
    json_decref(problem(&r, 401, "nsk_revoked", "/v1/nodes/" UNK "/heartbeat", "a strict session by header"));
    rc_resp_free(&r);
    expect_golden(&s, "POST", "/v1/nodes/" UNK "/heartbeat", "{}", 200, "heartbeat");
    expect_golden(&s, "POST", "/s/ref1/v1/nodes/" UNK "/heartbeat", "{}", 200, "heartbeat");
    sc_rq(&s, "GET", "/s/strict1/v1/nodes/" UNK "/reachability", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    rc_resp_free(&r);
    sc_rq(&s, "GET", "/v1/nodes/" UNK "/reachability", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_memory_equal(r.body, "404 page not found\n", 19);
    rc_resp_free(&r);
    /* register -> heartbeat inside the strict session */
    sc_node a;
    sc_reg(&s, "/s/strict1", &a);
    char acc[64];
    assert_int_equal(heartbeat(&s, "/s/strict1", &a, acc, sizeof acc), 200);
    /* its key means nothing in another session (reference: any bearer is fine) */
    j = sc_get_json(&s, "/s/strict1/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 1);
    json_decref(j);
    j = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 0);
    json_decref(j);
    /* the clock is per session */
    assert_int_equal(advance(&s, "1000"), 1000);
    j = sc_get_json(&s, "/s/strict1/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 0);
    json_decref(j);
    /* a reference session inside a strict server */
    mt_server t;
    sc_strict_server(&t);
    assert_int_equal(sc_call(&t, "POST", "/test/sessions", NULL, "{\"id\":\"r\",\"profile\":\"reference\"}"), 201);
    expect_golden(&t, "POST", "/s/r/v1/nodes/n1/heartbeat", "{}", 200, "heartbeat");
    sc_rq(&t, "POST", "/v1/nodes/n1/heartbeat", NULL, "{}", &r);
    assert_int_equal(r.status, 401);
    rc_resp_free(&r);
    st = sc_rq(&t, "POST", "/test/sessions", NULL, "{\"id\":\"d\"}", &r);
    assert_int_equal(st, 201);
    j = sc_body_json(&r);
    assert_string_equal(mt_jstr(j, "profile"), "strict"); /* the server's */
    json_decref(j);
    rc_resp_free(&r);
    /* last: the instance is the path as sent (i17.md), the session prefix included */
    sc_rq(&s, "POST", pth, NULL, "{}", &r);
    json_decref(problem(&r, 401, "nsk_revoked", pth, "a strict session by prefix"));
    rc_resp_free(&r);
}

/* ---- the journal -------------------------------------------------------- */

/* The auth member of the newest journal entry of route (GET /test/requests). */
static json_t *last_auth(const mt_server *s, const char *adm, const char *route)
{
    json_t *e = sc_last_entry(s, adm, route);
    json_t *a = json_object_get(e, "auth");
    if (!json_is_object(a))
        fail_msg("the %s entry has no auth object", route);
    json_incref(a);
    json_decref(e);
    return a;
}

static void expect_auth(const mt_server *s, const char *adm, const char *route, const char *cls, const char *token,
                        const char *nodeid, bool skipped)
{
    json_t *a = last_auth(s, adm, route);
    char *dump = json_dumps(a, JSON_COMPACT);
    if (strcmp(mt_jstr(a, "class"), cls) != 0)
        fail_msg("%s: auth %s, want class %s", route, dump, cls);
    char fp[24];
    if (token) {
        fingerprint(token, fp);
        if (!json_is_string(json_object_get(a, "token")) || strcmp(mt_jstr(a, "token"), fp) != 0)
            fail_msg("%s: auth %s, want token %s", route, dump, fp);
    } else if (!json_is_null(json_object_get(a, "token")))
        fail_msg("%s: auth %s, want token null", route, dump);
    if (nodeid ? !json_is_string(json_object_get(a, "node")) || strcmp(mt_jstr(a, "node"), nodeid) != 0
               : !json_is_null(json_object_get(a, "node")))
        fail_msg("%s: auth %s, want node %s", route, dump, nodeid ? nodeid : "null");
    json_t *sk = json_object_get(a, "skipped");
    if (skipped ? !json_is_true(sk) : sk != NULL && !json_is_false(sk))
        fail_msg("%s: auth %s, want skipped %s", route, dump, skipped ? "true" : "absent");
    free(dump);
    json_decref(a);
}

static void sp_journal_auth(void **state)
{
    (void)state;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.admin_token = "adm-secret-1";
    sc_strict_start(&s, &cfg);
    const char *adm = "X-Mockapi-Admin-Token: adm-secret-1\r\n";
    sc_node a, b;
    sc_reg(&s, "", &a);
    sc_reg(&s, "", &b);
    /* /test/ needs the admin token here: read the journal with it */
    json_t *au = last_auth(&s, adm, "register");
    char fp[24];
    fingerprint(SC_BOOT, fp);
    assert_string_equal(mt_jstr(au, "class"), "bootstrap");
    assert_string_equal(mt_jstr(au, "token"), fp);
    json_decref(au);

    char *hb = sc_hb_body();
    char p[192];
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    char *both = rc_fmt("%s%s", a.auth, "");
    assert_int_equal(sc_call(&s, "POST", p, both, hb), 200);
    free(both);
    au = last_auth(&s, adm, "heartbeat");
    fingerprint(a.nsk, fp);
    assert_string_equal(mt_jstr(au, "class"), "node_key");
    assert_string_equal(mt_jstr(au, "token"), fp);
    assert_string_equal(mt_jstr(au, "node"), a.id);
    assert_null(json_object_get(au, "skipped"));
    json_decref(au);

    struct {
        const char *hdr, *cls, *token;
        bool node;
        int status;
    } cases[] = {
        {"", "none", NULL, false, 401},
        {"Authorization: Bearer psk_abc\r\n", "api_token", "psk_abc", false, 401},
        {"Authorization: Bearer adm-secret-1\r\n", "admin", "adm-secret-1", false, 401},
        {"Authorization: Bearer stranger\r\n", "unknown", "stranger", false, 401},
        {"Authorization: Basic Zm9vOmJhcg==\r\n", "malformed", NULL, false, 401},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sc_call(&s, "POST", p, cases[i].hdr, hb), cases[i].status);
        au = last_auth(&s, adm, "heartbeat");
        char *dump = json_dumps(au, JSON_COMPACT);
        if (!au || strcmp(mt_jstr(au, "class"), cases[i].cls) != 0)
            fail_msg("[%s]: auth %s, want class %s", cases[i].hdr, dump ? dump : "(none)", cases[i].cls);
        if (cases[i].token) {
            fingerprint(cases[i].token, fp);
            if (strcmp(mt_jstr(au, "token"), fp) != 0)
                fail_msg("[%s]: auth %s, want token %s", cases[i].hdr, dump, fp);
        } else if (strcmp(cases[i].cls, "none") == 0 && !json_is_null(json_object_get(au, "token")))
            fail_msg("[%s]: auth %s, want token null", cases[i].hdr, dump);
        if (!json_is_null(json_object_get(au, "node")))
            fail_msg("[%s]: auth %s, want node null", cases[i].hdr, dump);
        free(dump);
        json_decref(au);
    }
    /* a sibling's key: node_key naming the sibling */
    assert_int_equal(sc_call(&s, "POST", p, b.auth, hb), 403);
    au = last_auth(&s, adm, "heartbeat");
    assert_string_equal(mt_jstr(au, "class"), "node_key");
    assert_string_equal(mt_jstr(au, "node"), b.id);
    json_decref(au);
    /* an operator's token and the admin token on a read surface: served, classed */
    char rp[192];
    snprintf(rp, sizeof rp, "/v1/nodes/%s/reachability", a.id);
    assert_int_equal(sc_call(&s, "GET", rp, "Authorization: Bearer adm-secret-1\r\n", NULL), 200);
    expect_auth(&s, adm, "reachability", "admin", "adm-secret-1", NULL, false);
    assert_int_equal(sc_call(&s, "GET", rp, "Authorization: Bearer psk_reader\r\n", NULL), 200);
    expect_auth(&s, adm, "reachability", "api_token", "psk_reader", NULL, false);
    assert_int_equal(sc_call(&s, "GET", rp, a.auth, NULL), 200);
    expect_auth(&s, adm, "reachability", "node_key", a.nsk, a.id, false);
    assert_int_equal(sc_call(&s, "GET", rp, b.auth, NULL), 403);
    expect_auth(&s, adm, "reachability", "node_key", b.nsk, b.id, false);
    /* skip-auth: no key, still 200 for an existing node, skipped true */
    char *skh = rc_fmt("%s", SKIP);
    assert_int_equal(sc_call(&s, "POST", p, skh, hb), 200);
    free(skh);
    au = last_auth(&s, adm, "heartbeat");
    assert_string_equal(mt_jstr(au, "class"), "none");
    assert_true(json_is_true(json_object_get(au, "skipped")));
    json_decref(au);
    /* skip-auth with a sibling's key on the node's path: authorisation skipped too */
    char *sk2 = rc_fmt("%s%s", SKIP, b.auth);
    assert_int_equal(sc_call(&s, "POST", p, sk2, hb), 200);
    free(sk2);
    /* the raw NSKs appear nowhere in the journal nor in /test/nodes */
    rc_resp r;
    assert_int_equal(sc_rq(&s, "GET", "/test/requests?include_test=1&limit=100000", adm, NULL, &r), 200);
    if (memmem(r.body, r.body_len, a.nsk, 32) || memmem(r.body, r.body_len, b.nsk, 32) ||
        memmem(r.body, r.body_len, "adm-secret-1", 12) || memmem(r.body, r.body_len, SC_BOOT, strlen(SC_BOOT)))
        fail_msg("a raw NSK, the admin token or the bootstrap token is in GET /test/requests");
    rc_resp_free(&r);
    /* the capture keeps register's body as sent */
    assert_int_equal(sc_rq(&s, "GET", "/test/last-request/register", adm, NULL, &r), 200);
    assert_non_null(memmem(r.body, r.body_len, SC_BOOT, strlen(SC_BOOT)));
    rc_resp_free(&r);
    assert_int_equal(sc_rq(&s, "GET", "/test/nodes", adm, NULL, &r), 200);
    if (memmem(r.body, r.body_len, a.nsk, 32) || memmem(r.body, r.body_len, b.nsk, 32))
        fail_msg("a raw NSK is in GET /test/nodes");
    rc_resp_free(&r);
    free(hb);
}

/* ---- attacks ------------------------------------------------------------ */

/* One heartbeat for a.id with raw header bytes (may hold NUL and CTLs):
 * the status (0 when the server closed without an answer). */
static int raw_hb(const mt_server *s, const sc_node *a, const void *hline, size_t hlen, rc_resp *r)
{
    char *hb = sc_hb_body();
    rc_conn *c = rc_connect(rc_http_port(s), false);
    char *h1 = rc_fmt("POST /v1/nodes/%s/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n", a->id, strlen(hb));
    rc_send_n(c, h1, strlen(h1));
    rc_send_n(c, hline, hlen);
    rc_send_n(c, "\r\n\r\n", 4);
    rc_send_n(c, hb, strlen(hb));
    int st = rc_read(c, mt_now_ms() + SC_WAIT_MS, r);
    rc_close(c);
    free(h1);
    free(hb);
    return st;
}

static void sp_hostile_authorization(void **state)
{
    (void)state;
    mt_server s;
    sc_node a, b;
    sc_strict_nodes(&s, &a, &b, NULL);
    rc_resp r;
    char v[512];
    /* what is refused, and how */
    struct {
        const char *what;
        char *line;
        size_t len;
        int want; /* 0: 400 from the framing or 401; otherwise exactly */
        const char *err; /* the 401's error= when want is 401 */
    } c[16];
    int n = 0;
    char *longtok = malloc(9000);
    memset(longtok, 'A', 8999);
    longtok[8999] = '\0';
#define ADD(w, l, ln, st, e) (c[n].what = (w), c[n].line = (l), c[n].len = (ln), c[n].want = (st), c[n].err = (e), n++)
    char *s1 = rc_fmt("Authorization: Bearer %s", longtok);
    ADD("an 8999-byte token", s1, strlen(s1), 401, "error=\"invalid_token\"");
    char *s2 = rc_fmt("Authorization: Bearer");
    ADD("Bearer alone", s2, strlen(s2), 401, "error=\"invalid_request\"");
    char *s3 = rc_fmt("Authorization: Bearer ");
    ADD("Bearer and a space", s3, strlen(s3), 401, "error=\"invalid_request\"");
    char *s4 = rc_fmt("Authorization: Bearer  x");
    ADD("Bearer, two spaces, x", s4, strlen(s4), 401, NULL);
    char *s5 = rc_fmt("Authorization: Bearer %s,%s", a.nsk, a.nsk);
    ADD("two keys in one value", s5, strlen(s5), 401, NULL);
    char *s6 = rc_fmt("Authorization: Bearer %sX", a.nsk);
    ADD("the key and one more byte", s6, strlen(s6), 401, "error=\"invalid_token\"");
    char *s7 = rc_fmt("Authorization: Bearer %.31s", a.nsk);
    ADD("the key less its last byte", s7, strlen(s7), 401, "error=\"invalid_token\"");
    char *s8 = rc_fmt("Authorization: Bearer %s", a.nsk);
    size_t l8 = strlen(s8);
    s8 = realloc(s8, l8 + 6);
    memcpy(s8 + l8, "\0junk", 5);
    ADD("the key, NUL, junk", s8, l8 + 5, 0, NULL);
    char *s9 = rc_fmt("Authorization: Bearer %.16s\x01%s", a.nsk, a.nsk + 16);
    ADD("a CTL inside the key", s9, strlen(s9), 0, NULL);
    char *s10 = rc_fmt("Authorization: Bearer %s\r\nAuthorization: Bearer %s", a.nsk, a.nsk);
    ADD("the same key in two headers", s10, strlen(s10), 0, NULL);
    char *s11 = rc_fmt("Authorization: Bearer %s\r\nAuthorization: Bearer %s", b.nsk, a.nsk);
    ADD("a sibling's key then the key, two headers", s11, strlen(s11), 0, NULL);
    char *s12 = rc_fmt("Authorization: Bearer %s\r\nAuthorization: Bearer %s", a.nsk, b.nsk);
    ADD("the key then a sibling's key, two headers", s12, strlen(s12), 0, NULL);
    char *s13 = rc_fmt("Authorization: Bearer \"%s\"", a.nsk);
    ADD("the key quoted", s13, strlen(s13), 401, NULL);
    char *s14 = rc_fmt("Authorization: Bearer%s", a.nsk);
    ADD("no space after Bearer", s14, strlen(s14), 401, "error=\"invalid_request\"");
#undef ADD
    for (int i = 0; i < n; i++) {
        int st = raw_hb(&s, &a, c[i].line, c[i].len, &r);
        char *sh = st ? mt_show(r.body, r.body_len) : strdup("(no answer)");
        if (c[i].want ? st != c[i].want : (st != 400 && st != 401))
            fail_msg("%s: %d %s, want %s", c[i].what, st, sh, c[i].want == 401 ? "401" : "400 or 401");
        /* no answer echoes the key (or half of it) */
        if (st && (memmem(r.body, r.body_len, a.nsk, 16) || memmem(r.body, r.body_len, a.nsk + 16, 16) ||
                   strstr(r.head, a.nsk + 16) || memmem(r.head, strlen(r.head), a.nsk, 16)))
            fail_msg("%s: the answer echoes the node's key: %s", c[i].what, sh);
        if (st == 401) {
            char path[128];
            snprintf(path, sizeof path, "/v1/nodes/%s/heartbeat", a.id);
            json_decref(problem(&r, 401, "nsk_revoked", path, c[i].what));
        }
        if (st == 401 && c[i].err &&
            (!sc_hdr(&r, "WWW-Authenticate", v, sizeof v, NULL) || !strstr(v, c[i].err)))
            fail_msg("%s: WWW-Authenticate [%s], want %s", c[i].what, v, c[i].err);
        free(sh);
        if (st)
            rc_resp_free(&r);
        free(c[i].line);
        rc_healthy(&s, false, c[i].what);
    }
    free(longtok);
    /* the auth scheme is case-insensitive (RFC 9110 11.1): "bearer <key>" works */
    char *lc = rc_fmt("authorization: bearer %s", a.nsk);
    int st = raw_hb(&s, &a, lc, strlen(lc), &r);
    free(lc);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("lower-case bearer with the right key: %d %s, want 200", st, sh);
    }
    rc_resp_free(&r);
    lc = rc_fmt("Authorization: BEARER %s", a.nsk);
    st = raw_hb(&s, &a, lc, strlen(lc), &r);
    free(lc);
    assert_int_equal(st, 200);
    rc_resp_free(&r);
    /* a head over the server's limit: the framing's 431, the server well */
    char *huge = malloc(20000);
    memcpy(huge, "Authorization: Bearer ", 22);
    memset(huge + 22, 'B', 20000 - 23);
    huge[19999] = '\0';
    st = raw_hb(&s, &a, huge, strlen(huge), &r);
    assert_true(st == 431 || st == 400 || st == 0);
    if (st)
        rc_resp_free(&r);
    free(huge);
    rc_healthy(&s, false, "after hostile headers");
    /* and the right key still works */
    assert_int_equal(heartbeat(&s, "", &a, NULL, 0), 200);
}

/* Several threads heartbeat their own nodes at once (and a sibling's path):
 * every answer right, the counts in the journal and the counter exact. */
typedef struct hb_job {
    const mt_server *s;
    sc_node self, other;
    int rounds;
    atomic_int *ok, *forbidden, *wrong;
} hb_job;

static void *hb_thread(void *arg)
{
    hb_job *j = arg;
    CURL *h = curl_easy_init();
    char p1[192], p2[192], auth[160];
    snprintf(p1, sizeof p1, "/v1/nodes/%s/heartbeat", j->self.id);
    snprintf(p2, sizeof p2, "/v1/nodes/%s/heartbeat", j->other.id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", j->self.nsk);
    const char *hd[] = {auth, "Content-Type: application/json"};
    for (int i = 0; i < j->rounds; i++) {
        char now[40];
        sc_wall_rfc3339(0, now);
        char body[256];
        snprintf(body, sizeof body,
                 "{\"client_now\":\"%s\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\"}", now);
        bool sib = i % 4 == 3;
        mt_request rq = {.method = "POST", .path = sib ? p2 : p1, .headers = hd, .nheaders = 2, .body = body,
                         .body_len = strlen(body), .send_body = true, .timeout_ms = SC_WAIT_MS};
        mt_response r;
        mt_perform(h, j->s->base, &rq, &r);
        if (!sib && r.status == 200 && strstr((char *)r.body, "accepted_at"))
            atomic_fetch_add(j->ok, 1);
        else if (sib && r.status == 403 && strstr((char *)r.body, "\"node_id_mismatch\""))
            atomic_fetch_add(j->forbidden, 1);
        else
            atomic_fetch_add(j->wrong, 1);
        mt_response_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static int64_t journal_count(const mt_server *s, const char *q)
{
    json_t *j = sc_get_json(s, q, NULL);
    int64_t n = (int64_t)json_array_size(json_object_get(j, "entries"));
    json_decref(j);
    return n;
}

static void sp_concurrent_heartbeats(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    enum { T = 4 };
    const char *re = getenv("MOCKAPI_IT_ROUNDS");
    int rounds = re && atoi(re) > 0 ? atoi(re) * 8 : 100;
    sc_node n[T];
    for (int i = 0; i < T; i++)
        sc_reg(&s, "", &n[i]);
    atomic_int ok = 0, forbidden = 0, wrong = 0;
    hb_job jobs[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (hb_job){.s = &s, .self = n[i], .other = n[(i + 1) % T], .rounds = rounds, .ok = &ok,
                           .forbidden = &forbidden, .wrong = &wrong};
        assert_int_equal(pthread_create(&th[i], NULL, hb_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    int per_sib = rounds / 4;
    assert_int_equal(atomic_load(&wrong), 0);
    assert_int_equal(atomic_load(&ok), T * (rounds - per_sib));
    assert_int_equal(atomic_load(&forbidden), T * per_sib);
    assert_int_equal(journal_count(&s, "/test/requests?route=heartbeat&status=200&limit=100000"), T * (rounds - per_sib));
    assert_int_equal(journal_count(&s, "/test/requests?route=heartbeat&status=403&limit=100000"), T * per_sib);
    /* heartbeat_count counts the accepted heartbeats */
    rc_resp r;
    assert_int_equal(sc_rq(&s, "GET", "/test/assertions", NULL, NULL, &r), 200);
    int64_t hc = -1;
    assert_int_equal(mt_assertion_value(r.body, r.body_len, "heartbeat_count", &hc), 0);
    rc_resp_free(&r);
    if (hc != T * (rounds - per_sib))
        fail_msg("heartbeat_count %" PRId64 ", want the %d accepted heartbeats", hc, T * (rounds - per_sib));
}

/* gzip bodies: the route's cap applies to the decoded body. */
static void sp_gzip_caps(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.max_body_bytes = MAXB;
    mt_server s;
    sc_strict_start(&s, &cfg);
    sc_node a, b;
    sc_reg(&s, "", &a);
    sc_reg(&s, "", &b);
    struct {
        const char *route, *method, *code;
        size_t decoded;
        bool sib;
    } g[] = {
        {"endpoint", "PUT", "endpoint_body_too_large", 4097, false},
        {"endpoint", "PUT", "endpoint_body_too_large", 200000, false},
        {"capabilities", "PUT", "capabilities_body_too_large", 32769, false},
        {"integrity-violations", "POST", "integrity_violations_body_too_large", 1000000, false},
        {"heartbeat", "POST", "body_too_large", 9000000, false}, /* over max_decoded_bytes (8 MiB) */
        {"endpoint", "PUT", "node_id_mismatch", 200000, true},    /* authorisation first */
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        char *plain = malloc(g[i].decoded);
        memset(plain, ' ', g[i].decoded);
        plain[0] = '{';
        plain[g[i].decoded - 1] = '}';
        unsigned char *z;
        size_t zn;
        assert_int_equal(mt_gzip(plain, g[i].decoded, &z, &zn), 0);
        if (strcmp(g[i].code, "body_too_large") != 0)
            assert_true(zn < 4096); /* under every cap on the wire */
        char p[192];
        snprintf(p, sizeof p, "/v1/nodes/%s/%s", g[i].sib ? b.id : a.id, g[i].route);
        char *h = rc_fmt("%sContent-Encoding: gzip\r\nContent-Type: application/json\r\n", a.auth);
        rc_resp r;
        sc_rq_n(&s, g[i].method, p, h, z, zn, &r);
        char what[256];
        snprintf(what, sizeof what, "%s %s gzip %zu -> %zu bytes", g[i].method, p, zn, g[i].decoded);
        json_decref(problem(&r, g[i].sib ? 403 : 413, g[i].code, p, what));
        rc_resp_free(&r);
        free(h);
        free(z);
        free(plain);
    }
    /* a gzip body that decodes under the cap is served */
    char ep[256];
    char now[40];
    sc_wall_rfc3339(0, now);
    snprintf(ep, sizeof ep, "{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"%s\"}", now);
    unsigned char *z;
    size_t zn;
    assert_int_equal(mt_gzip(ep, strlen(ep), &z, &zn), 0);
    char p[192];
    snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", a.id);
    char *h = rc_fmt("%sContent-Encoding: gzip\r\n", a.auth);
    rc_resp r;
    assert_int_equal(sc_rq_n(&s, "PUT", p, h, z, zn, &r), 200);
    json_t *j = sc_body_json(&r);
    int64_t acc = parse_ms(mt_jstr(j, "accepted_at"), "accepted_at");
    assert_int_equal(parse_ms(mt_jstr(j, "stale_after"), "stale_after"), acc + 600000);
    json_decref(j);
    rc_resp_free(&r);
    free(h);
    free(z);
    rc_healthy(&s, false, "after gzip over the caps");
}


/* Endpoint, capabilities and integrity reports: their answers, and the
 * topology mirroring what the nodes reported. */
static void sp_flow_reports(void **state)
{
    (void)state;
    mt_server s;
    sc_node a, b;
    sc_strict_nodes(&s, &a, &b, NULL);
    const char *op = "Authorization: Bearer psk_x\r\n";
    char p[192], now[40], dom[64], tp[160];
    rc_resp r;
    domain_of(&s, dom);
    snprintf(tp, sizeof tp, "/v1/domains/%s/mesh/topology", dom);
    /* no endpoints yet: nodes, no edges */
    json_t *t = sc_get_json(&s, tp, op);
    assert_int_equal(json_array_size(json_object_get(t, "nodes")), 2);
    assert_int_equal(json_array_size(json_object_get(t, "edges")), 0);
    json_t *n0 = json_array_get(json_object_get(t, "nodes"), 0);
    assert_string_equal(mt_jstr(n0, "node_id"), strcmp(a.id, b.id) < 0 ? a.id : b.id); /* id order */
    assert_true(json_is_string(json_object_get(n0, "mesh_ip")));
    json_decref(t);
    /* a's endpoint: 200 accepted_at, stale_after = + the TTL */
    sc_wall_rfc3339(0, now);
    char *ep = rc_fmt("{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"full_cone\",\"reported_at\":\"%s\"}", now);
    snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", a.id);
    assert_int_equal(sc_rq(&s, "PUT", p, a.auth, ep, &r), 200);
    json_t *j = sc_body_json(&r);
    assert_int_equal(json_object_size(j), 2);
    int64_t acc = parse_ms(mt_jstr(j, "accepted_at"), "accepted_at");
    assert_int_equal(parse_ms(mt_jstr(j, "stale_after"), "stale_after"), acc + 600000);
    json_decref(j);
    rc_resp_free(&r);
    free(ep);
    /* an IPv6 endpoint is fine too */
    sc_wall_rfc3339(0, now);
    ep = rc_fmt("{\"endpoint\":\"[2001:db8::1]:51820\",\"nat_type\":\"symmetric\",\"reported_at\":\"%s\"}", now);
    snprintf(p, sizeof p, "/v1/nodes/%s/endpoint", b.id);
    assert_int_equal(sc_call(&s, "PUT", p, b.auth, ep), 200);
    free(ep);
    /* the topology: an edge from each node to the other (both reported) */
    t = sc_get_json(&s, tp, op);
    json_t *edges = json_object_get(t, "edges");
    assert_int_equal(json_array_size(edges), 2);
    json_t *e;
    size_t i;
    json_array_foreach(edges, i, e)
    {
        assert_string_equal(mt_jstr(e, "mode"), "direct");
        assert_true(json_is_null(json_object_get(e, "relay_node_id")));
        assert_string_not_equal(mt_jstr(e, "from"), mt_jstr(e, "to"));
    }
    json_decref(t);
    /* capabilities: the first manifest changes every field it has */
    snprintf(p, sizeof p, "/v1/nodes/%s/capabilities", a.id);
    const char *m1 = "{\"binary_version\":\"1.0.0\",\"binary_checksum\":\"" SC_SUM "\",\"ssh_host_key_fingerprint\":\"SHA256:" FP43 "\"}";
    assert_int_equal(sc_rq(&s, "PUT", p, a.auth, m1, &r), 200);
    j = sc_body_json(&r);
    parse_ms(mt_jstr(j, "accepted_at"), "accepted_at");
    assert_int_equal(json_array_size(json_object_get(j, "fields_changed")), 3);
    json_decref(j);
    rc_resp_free(&r);
    /* the same again: nothing changed */
    assert_int_equal(sc_rq(&s, "PUT", p, a.auth, m1, &r), 200);
    j = sc_body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "fields_changed")), 0);
    assert_true(json_is_false(json_object_get(j, "host_key_changed")));
    json_decref(j);
    rc_resp_free(&r);
    /* a new host key: that field alone, host_key_changed */
    const char *m2 = "{\"binary_version\":\"1.0.0\",\"binary_checksum\":\"" SC_SUM "\",\"ssh_host_key_fingerprint\":\"SHA256:"
                     "AAAAWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSI\"}";
    assert_int_equal(sc_rq(&s, "PUT", p, a.auth, m2, &r), 200);
    j = sc_body_json(&r);
    json_t *fc = json_object_get(j, "fields_changed");
    assert_int_equal(json_array_size(fc), 1);
    assert_string_equal(json_string_value(json_array_get(fc, 0)), "ssh_host_key_fingerprint");
    assert_true(json_is_true(json_object_get(j, "host_key_changed")));
    json_decref(j);
    rc_resp_free(&r);
    /* exactly 64 hooks, exactly 100 violations: accepted */
    {
        sbuf hk = {0};
        sb_str(&hk, "{\"binary_version\":\"1.0.0\",\"binary_checksum\":\"" SC_SUM "\",\"declared_hooks\":[");
        for (int k = 0; k < 64; k++)
            sb_fmt(&hk, "%s{\"name\":\"h%d\",\"checksum\":\"" SC_SUM "\"}", k ? "," : "", k);
        sb_str(&hk, "]}");
        snprintf(p, sizeof p, "/v1/nodes/%s/capabilities", b.id);
        assert_int_equal(sc_call(&s, "PUT", p, b.auth, hk.p), 200);
        free(hk.p);
        sbuf vb = {0};
        sb_str(&vb, "{\"violations\":[");
        for (int k = 0; k < 100; k++)
            sb_fmt(&vb, "%s" V_OK, k ? "," : "");
        sb_str(&vb, "]}");
        snprintf(p, sizeof p, "/v1/nodes/%s/integrity-violations", b.id);
        assert_int_equal(sc_rq(&s, "POST", p, b.auth, vb.p, &r), 202);
        free(vb.p);
        j = sc_body_json(&r);
        assert_int_equal(mt_jint(j, "violation_count"), 100);
        json_decref(j);
        rc_resp_free(&r);
    }
    /* integrity violations: 202, the count, the counter */
    snprintf(p, sizeof p, "/v1/nodes/%s/integrity-violations", a.id);
    assert_int_equal(sc_rq(&s, "POST", p, a.auth, "{\"violations\":[" V_OK "," V_OK "]}", &r), 202);
    j = sc_body_json(&r);
    assert_int_equal(mt_jint(j, "violation_count"), 2);
    parse_ms(mt_jstr(j, "accepted_at"), "accepted_at");
    json_decref(j);
    rc_resp_free(&r);
    assert_int_equal(sc_rq(&s, "GET", "/test/assertions", NULL, NULL, &r), 200);
    int64_t c = -1;
    assert_int_equal(mt_assertion_value(r.body, r.body_len, "integrity_violation_count", &c), 0);
    assert_int_equal(c, 2); /* one per accepted request */
    rc_resp_free(&r);
}

/* Events in strict: numeric ids, resume from > Last-Event-ID, no backfill
 * without one. */
static void sp_events_numeric(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char lei[64];
    static const char *const x123[] = {"x-1", "x-2", "x-3"}, *const m1[] = {"m-1"};
    char ids[16][32], evs[16][32];
    int n = sc_stream_injected(&s, &a, NULL, x123, 3, ids, evs, 16);
    uint64_t prev = 0;
    bool first = true;
    char id1[32] = "";
    for (int i = 0; i < n; i++) {
        if (!ids[i][0])
            continue;
        if (strspn(ids[i], "0123456789") != strlen(ids[i]))
            fail_msg("frame %d (%s): id \"%s\" is not numeric", i, evs[i], ids[i]);
        uint64_t v = strtoull(ids[i], NULL, 10);
        if (!first && v <= prev)
            fail_msg("frame %d: id %s not above the one before (%" PRIu64 ")", i, ids[i], prev);
        prev = v;
        first = false;
        if (strcmp(evs[i], "x-1") == 0)
            snprintf(id1, sizeof id1, "%.31s", ids[i]);
    }
    if (!id1[0])
        fail_msg("x-1 came without an id");
    /* resume after x-1: x-2 and x-3, not x-1 */
    snprintf(lei, sizeof lei, "Last-Event-ID: %s", id1);
    n = sc_stream_injected(&s, &a, lei, m1, 1, ids, evs, 16);
    bool got2 = false, got3 = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(evs[i], "x-1") == 0)
            fail_msg("resumed after x-1's id %s, x-1 came again", id1);
        got2 |= strcmp(evs[i], "x-2") == 0;
        got3 |= strcmp(evs[i], "x-3") == 0;
    }
    if (!got2 || !got3)
        fail_msg("resumed after %s: x-2 %s, x-3 %s", id1, got2 ? "came" : "missing", got3 ? "came" : "missing");
    /* no Last-Event-ID, or an empty one: the tail, no backfill */
    static const char *const tails[] = {NULL, "Last-Event-ID: "};
    for (int k = 0; k < 2; k++) {
        char mk[16];
        snprintf(mk, sizeof mk, "t-%d", k);
        const char *const mks[] = {mk};
        n = sc_stream_injected(&s, &a, tails[k], mks, 1, ids, evs, 16);
        for (int i = 0; i < n; i++)
            if (strncmp(evs[i], "x-", 2) == 0 || strncmp(evs[i], "m-", 2) == 0)
                fail_msg("a stream opened %s replayed %s", k ? "with an empty Last-Event-ID" : "without Last-Event-ID",
                         evs[i]);
    }
    rc_healthy(&s, false, "after the event cursors");
}

/* Hostile Last-Event-ID cursors (seed 004: a non-numeric or negative one is
 * 400 invalid_last_event_id and the stream is NOT opened). */
static void sp_events_cursors(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char evp[192];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    sse_client c;
    /* hostile cursors: 400 invalid_last_event_id, no stream (an id past
     * 2^64 is no event's id either: strconv.ParseUint refuses it) */
    static const char *const odd[] = {"Last-Event-ID: 0x10", "Last-Event-ID: +1", "Last-Event-ID:  7 7",
                                      "Last-Event-ID: 1e3", "Last-Event-ID: 184467440737095516160"};
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        int st = sc_events_open(&c, &s, evp, &a, odd[k]);
        char ct[128];
        snprintf(ct, sizeof ct, "%s", sse_header(&c, "Content-Type") ? sse_header(&c, "Content-Type") : "");
        sse_close(&c);
        if (st != 400 || strcmp(ct, "application/problem+json") != 0)
            fail_msg("[%s]: %d (%s), want 400 invalid_last_event_id and no stream", odd[k], st, ct);
    }
    rc_healthy(&s, false, "after hostile cursors");
}


/* A heartbeat of n (sc_hb_body): fails, naming what, unless 200 with the
 * hints reconcile and rotate_keys (booleans) as given. */
static void expect_hints(const mt_server *s, const sc_node *n, bool reconcile, bool rotate_keys, const char *what)
{
    char p[192];
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", n->id);
    char *b = sc_hb_body();
    rc_resp r;
    assert_int_equal(sc_rq(s, "POST", p, n->auth, b, &r), 200);
    free(b);
    json_t *j = sc_body_json(&r);
    json_t *rc = json_object_get(j, "reconcile"), *rk = json_object_get(j, "rotate_keys");
    if (!json_is_boolean(rc) || json_is_true(rc) != reconcile || !json_is_boolean(rk) ||
        json_is_true(rk) != rotate_keys) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("%s: POST %s: %s, want reconcile %s and rotate_keys %s", what, p, sh, reconcile ? "true" : "false",
                 rotate_keys ? "true" : "false");
    }
    json_decref(j);
    rc_resp_free(&r);
}

/* The heartbeat's hints default to false (seed 004 "Heartbeat hints": "two
 * reconciliation flags both defaulting to false"). */
static void sp_heartbeat_hints(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    expect_hints(&s, &a, false, false, "the defaults");
}

/* rc_teardown, and the table's soft mode off (a row that failed hard left it on). */
static int sp_teardown(void **state)
{
    soft = false;
    return rc_teardown(state);
}


/* -sse-max-clients streams open: the next is 503 streams_full. */
static void sp_streams_full(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.sse_max_clients = 1;
    mt_server s;
    sc_strict_start(&s, &cfg);
    sc_node a;
    sc_reg(&s, "", &a);
    char evp[192];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    sse_client c;
    assert_int_equal(sc_events_open(&c, &s, evp, &a, NULL), 200);
    expect_problem(&s, "GET", evp, a.auth, NULL, 503, "streams_full");
    /* auth still first: no key is 401 even when full */
    expect_problem(&s, "GET", evp, NULL, NULL, 401, "unauthorized");
    sse_close(&c);
    rc_healthy(&s, false, "after a full hub");
}

/* Registers from several threads at once past the cap: exactly 250 nodes,
 * every other answer 409 node_limit, all ids and keys distinct. */
typedef struct reg_job {
    const mt_server *s;
    int n;
    atomic_int *ok, *full, *wrong;
    char (*ids)[40];
    atomic_int *next;
} reg_job;

static void *reg_thread(void *arg)
{
    reg_job *j = arg;
    CURL *h = curl_easy_init();
    const char *body = "{\"token\":\"t\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}";
    for (int i = 0; i < j->n; i++) {
        mt_request rq = {.method = "POST", .path = "/v1/register", .body = body, .body_len = strlen(body),
                         .send_body = true, .timeout_ms = SC_WAIT_MS};
        mt_response r;
        mt_perform(h, j->s->base, &rq, &r);
        if (r.status == 200) {
            json_t *o = json_loadb((const char *)r.body, r.len, 0, NULL);
            const char *id = o ? json_string_value(json_object_get(o, "node_id")) : NULL;
            if (id) {
                int k = atomic_fetch_add(j->next, 1);
                if (k < 400)
                    snprintf(j->ids[k], 40, "%s", id);
                atomic_fetch_add(j->ok, 1);
            } else
                atomic_fetch_add(j->wrong, 1);
            json_decref(o);
        } else if (r.status == 409 && strstr((char *)r.body, "\"node_limit\""))
            atomic_fetch_add(j->full, 1);
        else
            atomic_fetch_add(j->wrong, 1);
        mt_response_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static void sp_concurrent_registers(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    enum { T = 6, N = 50 };
    static char ids[400][40];
    atomic_int ok = 0, full = 0, wrong = 0, next = 0;
    reg_job jobs[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (reg_job){.s = &s, .n = N, .ok = &ok, .full = &full, .wrong = &wrong, .ids = ids, .next = &next};
        assert_int_equal(pthread_create(&th[i], NULL, reg_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&wrong), 0);
    assert_int_equal(atomic_load(&ok), 250);
    assert_int_equal(atomic_load(&full), T * N - 250);
    qsort(ids, 250, sizeof ids[0], cmp_id);
    for (int i = 1; i < 250; i++)
        if (strcmp(ids[i], ids[i - 1]) == 0)
            fail_msg("node id %s given twice", ids[i]);
    json_t *j = sc_get_json(&s, "/test/nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 250);
    /* mesh IPs distinct too */
    json_t *n;
    size_t i;
    char ips[250][20];
    json_array_foreach(json_object_get(j, "nodes"), i, n) snprintf(ips[i], 20, "%s", mt_jstr(n, "mesh_ip"));
    json_decref(j);
    qsort(ips, 250, sizeof ips[0], cmp_id);
    for (int k = 1; k < 250; k++)
        if (strcmp(ips[k], ips[k - 1]) == 0)
            fail_msg("mesh IP %s given twice", ips[k]);
    rc_resp r;
    assert_int_equal(sc_rq(&s, "GET", "/test/assertions", NULL, NULL, &r), 200);
    int64_t rc = -1;
    assert_int_equal(mt_assertion_value(r.body, r.body_len, "registration_count", &rc), 0);
    assert_int_equal(rc, 250);
    rc_resp_free(&r);
}

/* Triggers from several threads at once: one rotation, one event, one
 * already_pending false. */
typedef struct trig_job {
    const mt_server *s;
    const char *path;
    atomic_int *fresh, *pending, *wrong;
    char rid[64];
} trig_job;

static void *trig_thread(void *arg)
{
    trig_job *j = arg;
    CURL *h = curl_easy_init();
    const char *hd[] = {"Authorization: Bearer psk_t"};
    for (int i = 0; i < 10; i++) {
        mt_request rq = {.method = "POST", .path = j->path, .headers = hd, .nheaders = 1, .timeout_ms = SC_WAIT_MS};
        mt_response r;
        mt_perform(h, j->s->base, &rq, &r);
        json_t *o = r.status == 200 ? json_loadb((const char *)r.body, r.len, 0, NULL) : NULL;
        const char *rid = o ? json_string_value(json_object_get(o, "rotation_id")) : NULL;
        if (!rid || (j->rid[0] && strcmp(j->rid, rid) != 0))
            atomic_fetch_add(j->wrong, 1);
        else {
            snprintf(j->rid, sizeof j->rid, "%s", rid);
            if (json_is_true(json_object_get(o, "already_pending")))
                atomic_fetch_add(j->pending, 1);
            else
                atomic_fetch_add(j->fresh, 1);
        }
        json_decref(o);
        mt_response_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void sp_concurrent_triggers(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char evp[192], tr[192];
    snprintf(evp, sizeof evp, "/v1/nodes/%s/events", a.id);
    snprintf(tr, sizeof tr, "/v1/nodes/%s/keys/rotate", a.id);
    sse_client c;
    assert_int_equal(sc_events_open(&c, &s, evp, &a, NULL), 200);
    sc_sse_wait(&s, "", 1);
    enum { T = 4 };
    atomic_int fresh = 0, pending = 0, wrong = 0;
    trig_job jobs[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (trig_job){.s = &s, .path = tr, .fresh = &fresh, .pending = &pending, .wrong = &wrong};
        assert_int_equal(pthread_create(&th[i], NULL, trig_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&wrong), 0);
    assert_int_equal(atomic_load(&fresh), 1);
    assert_int_equal(atomic_load(&pending), T * 10 - 1);
    for (int i = 1; i < T; i++)
        assert_string_equal(jobs[i].rid, jobs[0].rid);
    /* exactly one rotate_keys frame before a marker */
    assert_int_equal(sc_call(&s, "POST", "/test/inject-event", NULL,
                          "{\"event_type\":\"marker\",\"event_id\":\"mk\",\"nonce\":\"m\",\"payload\":{}}"),
                     204);
    int64_t dl = mt_now_ms() + SC_WAIT_MS;
    int rot = 0;
    for (;;) {
        sse_event ev;
        int r = sse_next(&c, &ev, dl);
        if (r != 1)
            fail_msg("no marker on the stream (%d rotate_keys frames before)", rot);
        bool mark = ev.data && strstr(ev.data, "\"mk\"");
        rot += (ev.event && strcmp(ev.event, "rotate_keys") == 0) || (ev.data && strstr(ev.data, "rotate_keys"));
        sse_event_free(&ev);
        if (mark)
            break;
    }
    sse_close(&c);
    assert_int_equal(rot, 1);
}

/* Keys are bound to their session: a strict session's NSK means nothing in
 * another strict session (401 there), and selects no session by itself. */
static void sp_session_keys(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    assert_int_equal(sc_call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"one\"}"), 201);
    assert_int_equal(sc_call(&s, "POST", "/test/sessions", NULL, "{\"id\":\"two\"}"), 201);
    sc_node a, b;
    sc_reg(&s, "/s/one", &a);
    sc_reg(&s, "/s/two", &b);
    assert_int_equal(heartbeat(&s, "/s/one", &a, NULL, 0), 200);
    assert_int_equal(heartbeat(&s, "/s/two", &b, NULL, 0), 200);
    /* a's key and id in session two: unknown there */
    assert_int_equal(heartbeat(&s, "/s/two", &a, NULL, 0), 401);
    /* and in default (no session named: the key does not select one) */
    assert_int_equal(heartbeat(&s, "", &a, NULL, 0), 401);
    /* b's key on a's path in session one: an unknown key there, 401 not 403 */
    char p[192];
    snprintf(p, sizeof p, "/s/one/v1/nodes/%s/heartbeat", a.id);
    char *hb = sc_hb_body();
    assert_int_equal(sc_call(&s, "POST", p, b.auth, hb), 401);
    free(hb);
    /* a reset of session one forgets its nodes only */
    assert_int_equal(sc_call(&s, "POST", "/s/one/test/reset", NULL, NULL), 204);
    assert_int_equal(heartbeat(&s, "/s/one", &a, NULL, 0), 401);
    assert_int_equal(heartbeat(&s, "/s/two", &b, NULL, 0), 200);
    /* ending session two: its prefix is gone */
    assert_int_equal(sc_call(&s, "DELETE", "/test/sessions/two", NULL, NULL), 200);
    assert_int_equal(heartbeat(&s, "/s/two", &b, NULL, 0), 404);
}

/* skip-auth as a fault rule (POST /test/faults), and the instance of a
 * request with a query (the path only). */
static void sp_skip_auth_rule(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    sc_node none = a;
    snprintf(none.auth, sizeof none.auth, "%s", "");
    assert_int_equal(heartbeat(&s, "", &none, NULL, 0), 401);
    assert_int_equal(sc_call(&s, "POST", "/test/faults", NULL, "{\"route\":\"heartbeat\",\"spec\":\"skip-auth\"}"),
                     201);
    assert_int_equal(heartbeat(&s, "", &none, NULL, 0), 200);
    /* the rule skips auth, not existence nor the body's checks */
    char *hb = sc_hb_body();
    expect_problem(&s, "POST", "/v1/nodes/" UNK "/heartbeat", NULL, hb, 404, "node_not_found");
    free(hb);
    char p[192];
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    expect_problem(&s, "POST", p, NULL, "{}", 400, "malformed_heartbeat_request");
    json_t *j = sc_get_json(&s, "/test/requests?route=heartbeat&status=200&last=1", NULL);
    json_t *au = json_object_get(json_array_get(json_object_get(j, "entries"), 0), "auth");
    assert_true(json_is_true(json_object_get(au, "skipped")));
    json_decref(j);
    /* other routes keep their auth */
    snprintf(p, sizeof p, "/v1/nodes/%s/reachability", a.id);
    expect_problem(&s, "GET", p, NULL, NULL, 401, "unauthorized");
    /* a query is not part of the instance */
    char pq[256];
    snprintf(pq, sizeof pq, "%s?x=1&y=%%22", p);
    rc_resp r;
    sc_rq(&s, "GET", pq, NULL, NULL, &r);
    json_decref(problem(&r, 401, "unauthorized", p, "a query"));
    rc_resp_free(&r);
    /* an upper-case id is the same node (UUIDs compare case-insensitively) */
    char up[64];
    sc_upper_id(a.id, up);
    snprintf(p, sizeof p, "/v1/nodes/%s/reachability", up);
    json_decref(sc_get_json(&s, p, a.auth));
}


/* Hostile values: what the mock echoes (problem details, /test/nodes,
 * the journal) stays valid, one-line JSON, whatever bytes came in. */
static void sp_hostile_values(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char p[192], now[40];
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    /* decode and semantic refusals whose detail names a nasty value */
    static const char *const nasty[] = {
        "\"a\\u0000b\\n\\\"c\\\\\"",          /* NUL, newline, quote, backslash */
        "\"\\ud800\"",                       /* a lone surrogate */
        "\"\xff\xfe\"",                       /* bytes that are not UTF-8 */
        "\"\xe2\x80\xa8\"",                   /* U+2028 */
        "\"\x7f\x01\x1b[31m\"",               /* DEL, CTLs, an escape sequence */
        "\"0000-00-00T00:00:00Z\"", "\"2026-13-45T25:61:61Z\"", "\"9999999999-01-01T00:00:00Z\"",
        "1e999", "-0", "[]", "{}", "true", "null",
    };
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
        char *b = rc_fmt("{\"client_now\":%s,\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\"}", nasty[i]);
        rc_resp r;
        int st = sc_rq(&s, "POST", p, a.auth, b, &r);
        char what[128];
        snprintf(what, sizeof what, "client_now %zu", i);
        if (st != 400)
            fail_msg("%s: %d, want 400", what, st);
        json_t *o = json_loadb((const char *)r.body, r.body_len, 0, NULL);
        const char *code = o && json_is_string(json_object_get(o, "code")) ? json_string_value(json_object_get(o, "code")) : "";
        if (strcmp(code, "malformed_heartbeat_request") != 0 && strcmp(code, "clock_skew") != 0)
            fail_msg("%s: code [%s]", what, code);
        json_decref(problem(&r, 400, code, p, what));
        json_decref(o);
        rc_resp_free(&r);
        free(b);
        /* binary_version likewise: refused or accepted, never bad JSON after */
        sc_wall_rfc3339(0, now);
        b = rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":%s}", now, nasty[i]);
        st = sc_rq(&s, "POST", p, a.auth, b, &r);
        if (st != 200 && st != 400)
            fail_msg("binary_version %zu: %d", i, st);
        if (st == 400) {
            /* U+2028 is white space to Go's strings.TrimSpace: binary_version_empty */
            json_t *o2 = json_loadb((const char *)r.body, r.body_len, 0, NULL);
            const char *c = o2 && json_is_string(json_object_get(o2, "code")) ? json_string_value(json_object_get(o2, "code")) : "";
            if (strcmp(c, "malformed_heartbeat_request") != 0 && strcmp(c, "binary_version_empty") != 0)
                fail_msg("binary_version %zu: code [%s]", i, c);
            json_decref(problem(&r, 400, c, p, "binary_version"));
            json_decref(o2);
        }
        rc_resp_free(&r);
        free(b);
    }
    /* register with a nasty hostname, an endpoint and a manifest with nasty
     * strings: /test/nodes and the topology stay JSON */
    static const char *const hosts[] = {"h\\\"\\\\\\n\\t\\u0001", "\\u2028\\u2029</script>", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char *b = rc_fmt("{\"token\":\"t\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"%s\"}", hosts[i]);
        rc_resp r;
        int st = sc_rq(&s, "POST", "/v1/register", NULL, b, &r);
        if (st != 200 && st != 400)
            fail_msg("hostname %zu: %d", i, st);
        rc_resp_free(&r);
        free(b);
    }
    {
        char *longhost = malloc(70000);
        memset(longhost, 'h', 69999);
        longhost[69999] = '\0';
        char *b = rc_fmt("{\"token\":\"t\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"%s\"}", longhost);
        rc_resp r;
        int st = sc_rq(&s, "POST", "/v1/register", NULL, b, &r);
        if (st != 200 && st != 400)
            fail_msg("a 70,000-byte hostname: %d", st);
        rc_resp_free(&r);
        free(b);
        free(longhost);
    }
    sc_wall_rfc3339(0, now);
    char *b = rc_fmt("{\"binary_version\":\"v\\\"1\\n\\u0000\",\"binary_checksum\":\"" SC_SUM "\",\"declared_hooks\":"
                     "[{\"name\":\"h\\\"\\\\\\n\",\"checksum\":\"" SC_SUM "\"}]}");
    char cp[192];
    snprintf(cp, sizeof cp, "/v1/nodes/%s/capabilities", a.id);
    int st = sc_call(&s, "PUT", cp, a.auth, b);
    if (st != 200 && st != 400)
        fail_msg("a manifest with nasty strings: %d", st);
    free(b);
    b = rc_fmt("{\"endpoint\":\"198.51.100.7:51820\",\"nat_type\":\"x\\\"\\n\\u0007\",\"reported_at\":\"%s\"}", now);
    char ep[192];
    snprintf(ep, sizeof ep, "/v1/nodes/%s/endpoint", a.id);
    st = sc_call(&s, "PUT", ep, a.auth, b);
    if (st != 200 && st != 400)
        fail_msg("an endpoint with a nasty nat_type: %d", st);
    free(b);
    rc_resp r;
    assert_int_equal(sc_rq(&s, "GET", "/test/nodes", NULL, NULL, &r), 200);
    json_decref(sc_body_json(&r)); /* fails the test when it is not JSON */
    if (memchr(r.body, '\n', r.body_len - 1))
        fail_msg("/test/nodes: a raw newline inside");
    rc_resp_free(&r);
    char dom[64], tp[160];
    domain_of(&s, dom);
    snprintf(tp, sizeof tp, "/v1/domains/%s/mesh/topology", dom);
    json_decref(sc_get_json(&s, tp, "Authorization: Bearer psk_x\r\n"));
    assert_int_equal(sc_rq(&s, "GET", "/test/requests?limit=100000", NULL, NULL, &r), 200);
    json_decref(sc_body_json(&r));
    rc_resp_free(&r);
    /* a path id with bytes that need escaping: the instance is JSON */
    static const char *const paths[] = {"/v1/nodes/%22%5C%0A/heartbeat", "/v1/nodes/%ff%fe/heartbeat",
                                        "/v1/nodes/\x7f/heartbeat", "/v1/nodes/a%2Fb/heartbeat"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        sc_rq(&s, "POST", paths[i], a.auth, "{}", &r);
        if (r.status == 400 && strstr((char *)r.body, "invalid_node_id"))
            json_decref(problem(&r, 400, "invalid_node_id", paths[i], paths[i]));
        else if (r.status != 400 && r.status != 404) {
            char *sh = mt_show(r.body, r.body_len);
            fail_msg("POST %s: %d %s", paths[i], r.status, sh);
        }
        rc_resp_free(&r);
    }
    rc_healthy(&s, false, "after hostile values");
}

/* Reachability without heartbeats (from registration), and changed_at
 * that moves only on a transition. */
static void sp_reachability_edges(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    json_t *j = reach(&s, "", &a);
    int64_t born = parse_ms(mt_jstr(j, "changed_at"), "changed_at");
    json_decref(j);
    assert_int_equal(advance(&s, "90000"), 90000);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "stale");
    assert_true(json_is_null(json_object_get(j, "last_heartbeat_at")));
    assert_int_equal(parse_ms(mt_jstr(j, "changed_at"), "changed_at"), born + 90000);
    json_decref(j);
    char acc1[64], acc2[64];
    assert_int_equal(heartbeat(&s, "", &a, acc1, sizeof acc1), 200);
    assert_int_equal(advance(&s, "30000"), 120000);
    assert_int_equal(heartbeat(&s, "", &a, acc2, sizeof acc2), 200);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    assert_string_equal(mt_jstr(j, "last_heartbeat_at"), acc2);
    assert_string_equal(mt_jstr(j, "changed_at"), acc1); /* healthy since the first */
    json_decref(j);
    /* 90 s after the second heartbeat, not the first */
    assert_int_equal(advance(&s, "80000"), 200000);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "healthy");
    json_decref(j);
    assert_int_equal(advance(&s, "10000"), 210000);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "stale");
    assert_int_equal(parse_ms(mt_jstr(j, "changed_at"), "changed_at"), parse_ms(acc2, "acc2") + 90000);
    json_decref(j);
    /* a refused heartbeat (skew) moves nothing */
    char p[192], old[40];
    sc_wall_rfc3339(-120000, old);
    snprintf(p, sizeof p, "/v1/nodes/%s/heartbeat", a.id);
    char *b = rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1\"}", old);
    assert_int_equal(sc_call(&s, "POST", p, a.auth, b), 400);
    free(b);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "stale");
    assert_string_equal(mt_jstr(j, "last_heartbeat_at"), acc2);
    json_decref(j);
    /* the topology reports the same state */
    char dom[64], tp[160];
    domain_of(&s, dom);
    snprintf(tp, sizeof tp, "/v1/domains/%s/mesh/topology", dom);
    j = sc_get_json(&s, tp, "Authorization: Bearer psk_x\r\n");
    json_t *n0 = json_array_get(json_object_get(j, "nodes"), 0);
    json_t *rv = json_object_get(n0, "reachability");
    const char *rs = json_is_string(rv) ? json_string_value(rv) : mt_jstr(rv, "state");
    assert_string_equal(rs, "stale");
    json_decref(j);
}


/* A stream opened with the node's id in upper case (the same node: the
 * authorisation compares ids case-insensitively, and so does every other
 * route) gets the node's events like one opened in lower case. */
static void sp_events_uppercase_id(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char up[64], evl[192], evu[192], tr[192];
    sc_upper_id(a.id, up);
    snprintf(evl, sizeof evl, "/v1/nodes/%s/events", a.id);
    snprintf(evu, sizeof evu, "/v1/nodes/%s/events", up);
    snprintf(tr, sizeof tr, "/v1/nodes/%s/keys/rotate", a.id);
    sse_client lo, hi;
    assert_int_equal(sc_events_open(&lo, &s, evl, &a, NULL), 200);
    assert_int_equal(sc_events_open(&hi, &s, evu, &a, NULL), 200);
    sc_sse_wait(&s, "", 2);
    assert_int_equal(sc_call(&s, "POST", tr, "Authorization: Bearer psk_x\r\n", NULL), 200);
    assert_int_equal(sc_call(&s, "POST", "/test/inject-event", NULL,
                          "{\"event_type\":\"marker\",\"event_id\":\"mk\",\"nonce\":\"m\",\"payload\":{}}"),
                     204);
    if (until_event(&lo, "rotate_keys", "\"mk\"") != 1)
        fail_msg("GET %s: no rotate_keys before the marker", evl);
    int got = until_event(&hi, "rotate_keys", "\"mk\"");
    sse_close(&lo);
    sse_close(&hi);
    if (got != 1)
        fail_msg("GET %s (the same node, upper case): the marker came, the node's rotate_keys did not", evu);
}

/* A gzip body that does not decode cannot be decoded as the route's
 * envelope: the route's malformed_* code (seed 004's taxonomy for each
 * route), not the mock's generic malformed_request. */
static void sp_gzip_garbage(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    struct {
        const char *method, *route, *code;
    } g[] = {
        {"POST", "heartbeat", "malformed_heartbeat_request"},
        {"PUT", "endpoint", "malformed_endpoint_request"},
        {"PUT", "capabilities", "malformed_capabilities_request"},
        {"POST", "integrity-violations", "malformed_integrity_violations_request"},
        {"POST", NULL, "malformed_keys_rotate_request"},
    };
    char *h = rc_fmt("%sContent-Encoding: gzip\r\n", a.auth);
    int bad = 0;
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        char p[192];
        if (g[i].route)
            snprintf(p, sizeof p, "/v1/nodes/%s/%s", a.id, g[i].route);
        else
            snprintf(p, sizeof p, "/v1/keys/rotate");
        rc_resp r;
        sc_rq(&s, g[i].method, p, h, "this is not gzip", &r);
        json_t *j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
        const char *c = j && json_is_string(json_object_get(j, "code")) ? json_string_value(json_object_get(j, "code")) : "";
        if (r.status != 400 || strcmp(c, g[i].code) != 0) {
            char *sh = mt_show(r.body, r.body_len);
            print_message("FAIL %s %s (Content-Encoding: gzip, not gzip): %d %s, want 400 %s\n", g[i].method, p,
                          r.status, sh, g[i].code);
            free(sh);
            bad++;
        } else
            json_decref(problem(&r, 400, g[i].code, p, p));
        json_decref(j);
        rc_resp_free(&r);
    }
    free(h);
    if (bad)
        fail_msg("%d routes answered a body that is not gzip with another code (listed above)", bad);
}


/* The hints the test sets are the hints the agent gets; a -fixtures folder
 * that has no heartbeat.json sets none (the seed's false stays). */
static void sp_heartbeat_hints_set(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    assert_int_equal(
        sc_call(&s, "POST", "/test/configure-heartbeat", NULL, "{\"reconcile\":false,\"rotate_keys\":true}"), 204);
    expect_hints(&s, &a, false, true, "after POST /test/configure-heartbeat");
    /* a fixtures folder with only metadata.json */
    char dir[] = "/tmp/sp_fx_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char f[64];
    snprintf(f, sizeof f, "%s/metadata.json", dir);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fputs("{\"node_id\":\"x\"}", fp);
    fclose(fp);
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.fixtures_dir = dir;
    mt_server t;
    sc_strict_start(&t, &cfg);
    remove(f);
    rmdir(dir);
    sc_node n;
    sc_reg(&t, "", &n);
    expect_hints(&t, &n, false, false, "-fixtures without heartbeat.json");
}


/* A node's own mesh IP is no peer's (seed 004 "Reconciliation snapshot
 * contract": the addressed node is excluded from peers, so plexd never
 * programs a self-peer): not in register's peers, not in its state's. */
static void sp_no_self_peer(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_server(&s);
    for (int k = 0; k < 3; k++) {
        rc_resp r;
        assert_int_equal(sc_rq(&s, "POST", "/v1/register", NULL,
                            "{\"token\":\"t\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}", &r),
                         200);
        json_t *j = sc_body_json(&r);
        rc_resp_free(&r);
        const char *ip = mt_jstr(j, "mesh_ip");
        sc_node n;
        snprintf(n.id, sizeof n.id, "%s", mt_jstr(j, "node_id"));
        snprintf(n.auth, sizeof n.auth, "Authorization: Bearer %s\r\n", mt_jstr(j, "node_secret_key"));
        char p[192];
        snprintf(p, sizeof p, "/v1/nodes/%s/state", n.id);
        json_t *st = sc_get_json(&s, p, n.auth);
        json_t *lists[2] = {json_object_get(j, "peers"), json_object_get(st, "peers")};
        for (int l = 0; l < 2; l++) {
            json_t *peer;
            size_t i;
            json_array_foreach(lists[l], i, peer)
            {
                const char *pip = json_string_value(json_object_get(peer, "mesh_ip"));
                if (pip && strcmp(pip, ip) == 0)
                    fail_msg("node %d (%s, mesh IP %s): %s lists peer %s with its own mesh IP", k, n.id, ip,
                             l ? "GET .../state" : "register", mt_jstr(peer, "id"));
            }
        }
        json_decref(st);
        json_decref(j);
    }
}


/* The TLS listener's /local/ routes in strict: their errors are
 * problem+json too (README "The strict profile"). */
static void sp_local_tls(void **state)
{
    (void)state;
    mt_server s;
    sc_strict_tls(&s);
    struct {
        const char *method, *path, *body, *code;
        long status;
    } c[] = {
        {"POST", "/local/metrics", "{}", "unauthorized", 401},
        {"GET", "/local/logs", NULL, "method_not_allowed", 405},
        {"GET", "/local/nope", NULL, "route_not_found", 404},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        mt_request rq = {.method = c[i].method, .path = c[i].path, .body = c[i].body,
                         .body_len = c[i].body ? strlen(c[i].body) : 0, .send_body = c[i].body != NULL,
                         .insecure = true, .timeout_ms = SC_WAIT_MS};
        mt_response r;
        mt_perform(NULL, s.tls_base, &rq, &r);
        const char *ct = mt_header_get(&r, "Content-Type");
        if (r.status != c[i].status || !ct || strcmp(ct, "application/problem+json") != 0 ||
            !strstr((char *)r.body, c[i].code)) {
            char *sh = mt_show(r.body, r.len);
            fail_msg("TLS %s %s: %ld [%s] %s, want %ld %s", c[i].method, c[i].path, r.status, ct ? ct : "", sh,
                     c[i].status, c[i].code);
        }
        json_t *j = mt_parse_json(r.body, r.len);
        assert_string_equal(mt_jstr(j, "instance"), c[i].path);
        assert_int_equal(mt_jint(j, "status"), c[i].status);
        json_decref(j);
        if (c[i].status == 401)
            assert_non_null(mt_header_get(&r, "WWW-Authenticate"));
        mt_response_free(&r);
    }
}


/* Credentials are per request, not per connection: pipelined requests with
 * different credentials on one keep-alive connection each get their own
 * answer, in order. */
static void sp_pipelined_auth(void **state)
{
    (void)state;
    mt_server s;
    sc_node a, b;
    sc_strict_nodes(&s, &a, &b, NULL);
    char *hb = sc_hb_body();
    const char *auths[] = {a.auth, "", b.auth, a.auth, "Authorization: Bearer psk_x\r\n", a.auth};
    const int want[] = {200, 401, 403, 200, 401, 200};
    sbuf all = {0};
    for (size_t i = 0; i < 6; i++)
        sb_fmt(&all, "POST /v1/nodes/%s/heartbeat HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s", a.id,
               auths[i], strlen(hb), hb);
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    rc_send_n(c, all.p, all.n);
    for (size_t i = 0; i < 6; i++) {
        rc_resp r;
        char what[64];
        snprintf(what, sizeof what, "pipelined request %zu", i);
        rc_expect_status(c, &r, want[i], what);
        rc_resp_free(&r);
    }
    rc_close(c);
    free(all.p);
    free(hb);
    json_t *j = sc_get_json(&s, "/test/requests?route=heartbeat", NULL);
    json_t *e;
    size_t i;
    static const char *const cls[] = {"node_key", "none", "node_key", "node_key", "api_token", "node_key"};
    json_array_foreach(json_object_get(j, "entries"), i, e)
    {
        if (i >= 6)
            break;
        assert_string_equal(mt_jstr(json_object_get(e, "auth"), "class"), cls[i]);
    }
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 6);
    json_decref(j);
}


/* The C API's clock: mockapi_clock_advance moves what GET /test/clock and
 * the reachability see; a negative or a too-large advance is EINVAL and
 * moves nothing; mockapi_reset sets it back. */
static void sp_clock_api(void **state)
{
    (void)state;
    mt_server s;
    sc_node a;
    sc_strict_nodes(&s, &a, NULL);
    char acc[64];
    assert_int_equal(heartbeat(&s, "", &a, acc, sizeof acc), 200);
    assert_int_equal(mockapi_clock_advance(s.m, 90000), MOCKAPI_OK);
    json_t *j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 90000);
    json_decref(j);
    j = reach(&s, "", &a);
    assert_string_equal(mt_jstr(j, "state"), "stale");
    json_decref(j);
    assert_int_equal(mockapi_clock_advance(s.m, -1), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_clock_advance(s.m, 315360000000LL), MOCKAPI_EINVAL); /* 90 s + 10 years */
    assert_int_equal(mockapi_clock_advance(s.m, INT64_MAX), MOCKAPI_EINVAL);
    j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 90000);
    json_decref(j);
    assert_int_equal(mockapi_clock_advance(s.m, 315360000000LL - 90000), MOCKAPI_OK);
    assert_int_equal(advance(&s, "0"), 315360000000LL);
    assert_int_equal(mockapi_reset(s.m), MOCKAPI_OK);
    j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 0);
    json_decref(j);
    assert_int_equal(heartbeat(&s, "", &a, NULL, 0), 401); /* the registry went with the reset */
}


/* The C API's per-session profile: "strict" makes a strict session in a
 * reference server, a misspelt one is EINVAL naming it, and the session's
 * own clock moves alone. */
static void sp_session_api(void **state)
{
    (void)state;
    mt_server s;
    mockapi_config cfg;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    mockapi_session *ses = NULL;
    char err[256] = "";
    mockapi_session_config sc = {.id = "capi", .profile = "strcit"};
    assert_int_equal(mockapi_session_create(s.m, &sc, &ses, err, sizeof err), MOCKAPI_EINVAL);
    if (!strstr(err, "strcit") || !strstr(err, "strict"))
        fail_msg("profile strcit: errbuf [%s] names neither the value nor strict", err);
    sc.profile = "strict";
    assert_int_equal(mockapi_session_create(s.m, &sc, &ses, err, sizeof err), MOCKAPI_OK);
    expect_problem(&s, "POST", "/v1/nodes/" UNK "/heartbeat", "X-Mockapi-Session: capi\r\n", "{}", 401, "nsk_revoked");
    expect_golden(&s, "POST", "/v1/nodes/" UNK "/heartbeat", "{}", 200, "heartbeat");
    assert_int_equal(mockapi_session_clock_advance(ses, 5000), MOCKAPI_OK);
    json_t *j = sc_get_json(&s, "/test/clock", "X-Mockapi-Session: capi\r\n");
    assert_int_equal(mt_jint(j, "offset_ms"), 5000);
    json_decref(j);
    j = sc_get_json(&s, "/test/clock", NULL);
    assert_int_equal(mt_jint(j, "offset_ms"), 0);
    json_decref(j);
    assert_int_equal(mockapi_session_end(ses), MOCKAPI_OK);
    mockapi_session_free(ses);
}


/* skip-auth on register (i17.md: authentication and authorisation are
 * skipped; register's credential is the bootstrap token): a token
 * -bootstrap-token does not list registers, and the journal's
 * "skipped":true is then true. */
static void sp_skip_auth_register(void **state)
{
    (void)state;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.bootstrap_tokens = SC_BOOT;
    mt_server s;
    sc_strict_start(&s, &cfg);
    const char *body = "{\"token\":\"bt-wrong\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"h\"}";
    expect_problem(&s, "POST", "/v1/register", NULL, body, 401, "bootstrap_token_invalid");
    rc_resp r;
    int st = sc_rq(&s, "POST", "/v1/register", SKIP, body, &r);
    json_t *j = sc_get_json(&s, "/test/requests?route=register&last=1", NULL);
    json_t *au = json_object_get(json_array_get(json_object_get(j, "entries"), 0), "auth");
    bool skipped = json_is_true(json_object_get(au, "skipped"));
    json_decref(j);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("POST /v1/register with X-Mockapi-Fault: skip-auth and an unlisted token: %d %s (journal: "
                 "skipped %s), want 200",
                 st, sh, skipped ? "true" : "false");
    }
    assert_true(skipped);
    rc_resp_free(&r);
}

int mt_run_strict_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sp_taxonomy, sp_teardown),
        cmocka_unit_test_teardown(sp_node_limit, sp_teardown),
        cmocka_unit_test_teardown(sp_auth_order, sp_teardown),
        cmocka_unit_test_teardown(sp_heartbeat_hints, sp_teardown),
        cmocka_unit_test_teardown(sp_heartbeat_hints_set, sp_teardown),
        cmocka_unit_test_teardown(sp_flow_reachability, sp_teardown),
        cmocka_unit_test_teardown(sp_clock_bounds, sp_teardown),
        cmocka_unit_test_teardown(sp_flow_rotation, sp_teardown),
        cmocka_unit_test_teardown(sp_flow_deregister, sp_teardown),
        cmocka_unit_test_teardown(sp_flow_reports, sp_teardown),
        cmocka_unit_test_teardown(sp_events_numeric, sp_teardown),
        cmocka_unit_test_teardown(sp_events_cursors, sp_teardown),
        cmocka_unit_test_teardown(sp_www_authenticate, sp_teardown),
        cmocka_unit_test_teardown(sp_reference_unchanged, sp_teardown),
        cmocka_unit_test_teardown(sp_session_profile, sp_teardown),
        cmocka_unit_test_teardown(sp_journal_auth, sp_teardown),
        cmocka_unit_test_teardown(sp_hostile_authorization, sp_teardown),
        cmocka_unit_test_teardown(sp_concurrent_heartbeats, sp_teardown),
        cmocka_unit_test_teardown(sp_gzip_caps, sp_teardown),
        cmocka_unit_test_teardown(sp_streams_full, sp_teardown),
        cmocka_unit_test_teardown(sp_concurrent_registers, sp_teardown),
        cmocka_unit_test_teardown(sp_concurrent_triggers, sp_teardown),
        cmocka_unit_test_teardown(sp_session_keys, sp_teardown),
        cmocka_unit_test_teardown(sp_skip_auth_rule, sp_teardown),
        cmocka_unit_test_teardown(sp_hostile_values, sp_teardown),
        cmocka_unit_test_teardown(sp_reachability_edges, sp_teardown),
        cmocka_unit_test_teardown(sp_events_uppercase_id, sp_teardown),
        cmocka_unit_test_teardown(sp_gzip_garbage, sp_teardown),
        cmocka_unit_test_teardown(sp_no_self_peer, sp_teardown),
        cmocka_unit_test_teardown(sp_local_tls, sp_teardown),
        cmocka_unit_test_teardown(sp_pipelined_auth, sp_teardown),
        cmocka_unit_test_teardown(sp_session_api, sp_teardown),
        cmocka_unit_test_teardown(sp_skip_auth_register, sp_teardown),
        /* last: until session.c checks the sum without overflowing, UBSan
         * (the debug build) aborts the process in it */
        cmocka_unit_test_teardown(sp_clock_api, sp_teardown),
    };
    return cmocka_run_group_tests_name("strict", tests, NULL, NULL);
}
