/* strict.c: see strict.h. */
#include "strict.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "gojson.h"
#include "gzip.h"
#include "problem.h"
#include "respond.h"
#include "server.h"
#include "session.h"
#include "sse.h"
#include "state.h"
#include "strict_body.h"
#include "suggest.h"

static const char *const class_names[] = {"none",     "malformed", "unknown", "node_key",
                                          "revoked",  "api_token", "admin",   "bootstrap"};

const char *mk_auth_class_name(mk_auth_class c)
{
    return (unsigned)c < sizeof class_names / sizeof class_names[0] ? class_names[c] : "none";
}

/* ---- credentials ---------------------------------------------------------- */

static void fingerprint(const char *tok, size_t len, char out[24])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)tok, len);
    snprintf(out, 24, "sha256:%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool token68(const char *t, size_t n)
{
    size_t i = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
    if (i == 0 || i > n)
        return false;
    while (i < n && t[i] == '=')
        i++;
    return i == n;
}

void mk_strict_classify(const mockapi *m, mk_session *S, const mk_request *req, mk_auth *a)
{
    memset(a, 0, sizeof *a);
    a->known = true;
    const char *h = NULL;
    int seen = 0;
    for (int i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "Authorization") == 0) {
            h = h ? h : req->headers[i].value;
            seen++;
        }
    if (!h) {
        a->cls = MK_AUTH_NONE;
        return;
    }
    size_t hl = strlen(h);
    fingerprint(h, hl, a->token); /* until the token itself is found */
    /* the scheme is case-insensitive (RFC 9110 §11.1); one space, then the
     * token; two Authorization headers are one credential too many */
    if (seen > 1 || hl < 8 || strncasecmp(h, "Bearer ", 7) != 0 || !token68(h + 7, hl - 7)) {
        a->cls = MK_AUTH_MALFORMED;
        return;
    }
    const char *t = h + 7;
    size_t tl = hl - 7;
    fingerprint(t, tl, a->token);
    switch (mk_nodes_auth(S->nodes, t, tl, a->node)) {
    case MK_NSK_OK:
        a->cls = MK_AUTH_NODE_KEY;
        return;
    case MK_NSK_REVOKED:
        a->cls = MK_AUTH_REVOKED;
        return;
    case MK_NSK_UNKNOWN:
        a->node[0] = '\0';
        break;
    }
    if (m->has_admin) {
        unsigned char d[32];
        crypto_hash_sha256(d, (const unsigned char *)t, tl);
        if (sodium_memcmp(d, m->admin_hash, 32) == 0) {
            a->cls = MK_AUTH_ADMIN;
            return;
        }
    }
    a->cls = tl > 4 && memcmp(t, "psk_", 4) == 0 ? MK_AUTH_API_TOKEN : MK_AUTH_UNKNOWN;
}

int mk_strict_tokens_check(const char *list, char *err, size_t errlen)
{
    int count = 0;
    for (const char *p = list;; p++) {
        size_t l = strcspn(p, ",");
        bool ok = l > 0 && l <= 256;
        for (size_t i = 0; ok && i < l; i++)
            ok = (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f;
        if (!ok) {
            char shown[44];
            snprintf(err, errlen, "bootstrap_tokens: \"%s\" is not a token (1 to 256 visible ASCII characters, "
                                  "no spaces; several separated by ',')",
                     mk_shown(p, l, shown, sizeof shown));
            return -1;
        }
        if (++count > 16) {
            snprintf(err, errlen, "bootstrap_tokens: more than 16 tokens");
            return -1;
        }
        p += l;
        if (*p != ',')
            return 0;
    }
}

/* Whether the body's token is one -bootstrap-token lists (any non-empty
 * one when none are listed). Every listed token is compared, in constant
 * time each, so the answer's time says nothing of which came close. */
static bool bootstrap_ok(const mockapi *m, const char *tok)
{
    const char *list = m->cfg.bootstrap_tokens;
    if (!list)
        return true;
    size_t tl = strlen(tok);
    bool ok = false;
    for (const char *p = list;; p++) {
        size_t l = strcspn(p, ",");
        if (l == tl && sodium_memcmp(p, tok, l) == 0)
            ok = true;
        p += l;
        if (*p != ',')
            return ok;
    }
}

/* ---- the routes' rules ------------------------------------------------------ */

typedef enum { AUTH_NSK, AUTH_AGENT, AUTH_OPERATOR, AUTH_BOOTSTRAP } auth_kind;

typedef struct rule {
    auth_kind auth;
    size_t cap;                                      /* body cap; 0: the server's */
    const char *c401, *c403, *c404, *c413, *c400; /* the route's codes; c400: a body not even gzip */
} rule;

static const rule r_register = {AUTH_BOOTSTRAP, 0, "bootstrap_token_invalid", NULL, NULL, "body_too_large",
                                "malformed_register_request"};
static const rule r_heartbeat = {AUTH_NSK, 0, "nsk_revoked", "node_id_mismatch", "node_not_found", "body_too_large",
                                 "malformed_heartbeat_request"};
static const rule r_endpoint = {AUTH_NSK, 4096, "nsk_revoked", "node_id_mismatch", "endpoint_peer_not_found",
                                "endpoint_body_too_large", "malformed_endpoint_request"};
static const rule r_caps = {AUTH_NSK, 32768, "unauthorized", "forbidden", "capabilities_node_not_found",
                            "capabilities_body_too_large", "malformed_capabilities_request"};
static const rule r_violations = {AUTH_NSK, 32768, "unauthorized", "forbidden",
                                  "integrity_violations_node_not_found", "integrity_violations_body_too_large",
                                  "malformed_integrity_violations_request"};
static const rule r_keys = {AUTH_NSK, 4096, "unauthorized", NULL, "keys_rotate_peer_not_found",
                            "keys_rotate_body_too_large", "malformed_keys_rotate_request"};
static const rule r_deregister = {AUTH_NSK, 0, "unauthorized", "forbidden", "node_not_found", "body_too_large",
                                  "malformed_request"};
static const rule r_agent = {AUTH_AGENT, 0, "unauthorized", "insufficient_relation", "node_not_found", NULL, NULL};
static const rule r_operator = {AUTH_OPERATOR, 0, "unauthorized", "insufficient_relation", "node_not_found", NULL,
                                NULL};

static const rule *rule_of(const mk_route *rt)
{
    switch (rt->responder) {
    case MK_R_REGISTER: return &r_register;
    case MK_R_HEARTBEAT: return &r_heartbeat;
    case MK_R_ENDPOINT: return &r_endpoint;
    case MK_R_KEY_ROTATE: return &r_keys;
    case MK_R_EVENTS:
    case MK_R_STATE:
    case MK_R_REACHABILITY: return &r_agent;
    case MK_R_ROTATE_TRIGGER:
    case MK_R_ROTATE_PREVIEW:
    case MK_R_TOPOLOGY: return &r_operator;
    default: break;
    }
    switch (rt->name) {
    case MK_ROUTE_CAPABILITIES: return &r_caps;
    case MK_ROUTE_DEREGISTER: return &r_deregister;
    case MK_ROUTE_INTEGRITY_VIOLATION: return rt->strict_only ? &r_violations : NULL;
    default: return NULL;
    }
}

bool mk_strict_handles(const mk_route *rt)
{
    return rt && rule_of(rt) != NULL;
}

/* ---- answers ------------------------------------------------------------------ */

static void refuse_401(const mk_request *req, mk_response *resp, const rule *ru, const mk_auth *a)
{
    char www[200];
    const char *detail;
    switch (a->cls) {
    case MK_AUTH_NONE:
        /* RFC 6750 §3.1: no error code when the request had no credential */
        snprintf(www, sizeof www, "Bearer realm=\"mockapi\"");
        detail = "no credential: send Authorization: Bearer <token>";
        break;
    case MK_AUTH_MALFORMED:
        snprintf(www, sizeof www, "Bearer realm=\"mockapi\", error=\"invalid_request\", "
                                  "error_description=\"the Authorization header is not one Bearer token\"");
        detail = "the Authorization header is not one 'Bearer <token>'";
        break;
    case MK_AUTH_REVOKED:
        snprintf(www, sizeof www, "Bearer realm=\"mockapi\", error=\"invalid_token\", "
                                  "error_description=\"the node secret key was revoked\"");
        detail = "the node secret key was revoked (its node deregistered)";
        break;
    default:
        snprintf(www, sizeof www, "Bearer realm=\"mockapi\", error=\"invalid_token\", "
                                  "error_description=\"the token is not valid here\"");
        detail = ru->auth == AUTH_NSK ? "the bearer is not the node secret key of a registered node"
                                      : "the bearer is not a node secret key or an API token";
    }
    mk_problem(req, resp, 401, ru->c401, detail, (const char *const[][2]){{"WWW-Authenticate", www}, {NULL, NULL}});
}

static void refuse_403(const mk_request *req, mk_response *resp, const rule *ru, const char *detail)
{
    mk_problem(req, resp, 403, ru->c403, detail,
               ru->auth == AUTH_NSK ? NULL
                                    : (const char *const[][2]){{"WWW-Authenticate",
                                                                "Bearer realm=\"mockapi\", error=\"insufficient_scope\""},
                                                               {NULL, NULL}});
}

static void refuse(const mk_request *req, mk_response *resp, const mk_sb_verdict *v)
{
    mk_problem(req, resp, v->status, v->code, v->detail, NULL);
}

static void answer_json(mockapi *m, const mk_request *req, mk_response *resp, int status, mk_buf *b)
{
    if (b->err)
        mk_err_internal(req, resp, "out of memory");
    else if (status == 200) /* a topology can be megabytes: bounded as every large answer */
        mk_respond_json_admitted(m, req, resp, b);
    else
        mk_respond_json(req, resp, status, b->data, b->len);
}

/* POST /v1/register: the reference's answer with this node's id, key and
 * mesh IP in it. */
static void do_register(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp, const char *body,
                        size_t blen, mk_auth *a, bool skip_auth, int64_t now)
{
    mk_sb_register in;
    mk_sb_verdict v;
    void *doc = NULL;
    if (mk_sb_register_check(body, blen, &in, &doc, &v) != 0) {
        refuse(req, resp, &v);
        goto out;
    }
    a->cls = MK_AUTH_BOOTSTRAP;
    fingerprint(in.token, strlen(in.token), a->token);
    if (!skip_auth && !bootstrap_ok(m, in.token)) {
        mk_problem(req, resp, 401, "bootstrap_token_invalid", "the bootstrap token is not one -bootstrap-token lists",
                   (const char *const[][2]){{"WWW-Authenticate", "Bearer realm=\"mockapi\", error=\"invalid_token\""},
                                            {NULL, NULL}});
        goto out;
    }
    char id[MK_NODE_ID_LEN + 1], nsk[MK_NODE_NSK_LEN + 1], ip[16];
    int r = mk_nodes_register(S->nodes, now, in.hostname, in.public_key, id, nsk, ip);
    if (r == -4) {
        mk_err_store_full(req, resp, m->sessions.budget.max);
        goto out;
    }
    if (r == -2) {
        mk_problem(req, resp, 409, "node_limit", "this session has registered its 250 nodes: deregister some, "
                                                 "or reset the session", NULL);
        goto out;
    }
    json_t *reg = r == 0 ? json_loadb(S->register_body->data, S->register_body->len, 0, NULL) : NULL;
    char *text = NULL;
    if (reg && json_is_object(reg) && json_object_set_new(reg, "node_id", json_string(id)) == 0 &&
        json_object_set_new(reg, "node_secret_key", json_string(nsk)) == 0 &&
        json_object_set_new(reg, "mesh_ip", json_string(ip)) == 0)
        text = json_dumps(reg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(reg);
    sodium_memzero(nsk, sizeof nsk);
    if (!text) {
        mk_err_internal(req, resp, "out of memory");
        goto out;
    }
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, text);
    mk_buf_putc(&b, '\n');
    sodium_memzero(text, strlen(text));
    free(text);
    snprintf(a->node, sizeof a->node, "%s", id);
    mk_state_count(&S->state, MOCKAPI_REGISTRATION_COUNT);
    answer_json(m, req, resp, 200, &b);
    mk_buf_free(&b);
out:
    mk_sb_free(doc);
}

/* The register body as the journal keeps it: the bootstrap token's value
 * replaced by its fingerprint (a string), every other byte as sent, into
 * out. 0, or -1 when there is nothing to replace (the body stays). */
static int redact_token(const char *body, size_t blen, mk_buf *out)
{
    size_t pos = 0, st, en, ks, ke, vs, ve, copied = 0;
    gj_kind k, vk;
    if (gj_scan_value(body, blen, &pos, &k, &st, &en) != 0 || k != GJ_OBJECT)
        return -1;
    gj_iter it;
    gj_iter_init(&it, body, st, en);
    int found = 0;
    while (gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve) == 1) {
        if (vk != GJ_STRING || ke - ks != 7 || memcmp(body + ks, "\"token\"", 7) != 0)
            continue;
        mk_buf tok;
        mk_buf_init(&tok, 0);
        char fp[24];
        gj_string_decode(body + vs, ve - vs, &tok);
        fingerprint(tok.data ? tok.data : "", tok.len, fp);
        mk_buf_free(&tok);
        mk_buf_append(out, body + copied, vs - copied);
        mk_buf_printf(out, "\"%s\"", fp);
        copied = ve;
        found = 1;
    }
    if (!found)
        return -1;
    mk_buf_append(out, body + copied, blen - copied);
    return out->err ? -1 : 0;
}

/* The heartbeat's hints: false, as the seed says they default to, until
 * the test sets them (/test/configure-heartbeat, or the session's own
 * heartbeat fixture, or -fixtures' heartbeat.json); the embedded fixture says
 * reconcile: true. */
static void hints(const mockapi *m, mk_session *S, bool *reconcile, bool *rotate)
{
    *reconcile = *rotate = false;
    mk_blob *b = mk_state_get_heartbeat(&S->state);
    bool set = b && (b != m->fx.heartbeat_default || m->fx.heartbeat_own); /* -fixtures' heartbeat.json */
    json_t *j = set ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    *reconcile = json_is_true(json_object_get(j, "reconcile"));
    *rotate = json_is_true(json_object_get(j, "rotate_keys"));
    json_decref(j);
    mk_blob_unref(b);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the pipeline ---------------------------------------------------------------- */

mk_strict_step mk_strict_run(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp,
                             const mk_match *mt, mk_auth *a, bool skip_auth, mk_buf *decoded,
                             const char **jbody, size_t *jlen, bool *gzipped)
{
    const mk_route *rt = mt->route;
    const rule *ru = rule_of(rt);
    a->skipped = skip_auth;
    bool has_id = rt->responder != MK_R_KEY_ROTATE && rt->responder != MK_R_REGISTER;
    const char *pid = has_id && mt->nparams > 0 ? mt->params[0].s : "";
    size_t plen = has_id && mt->nparams > 0 ? mt->params[0].len : 0;
    bool topology = rt->responder == MK_R_TOPOLOGY;

    /* 1. authenticate */
    if (!skip_auth && ru->auth != AUTH_BOOTSTRAP) {
        bool ok = ru->auth == AUTH_NSK ? a->cls == MK_AUTH_NODE_KEY
                                       : a->cls == MK_AUTH_NODE_KEY || a->cls == MK_AUTH_API_TOKEN ||
                                             a->cls == MK_AUTH_ADMIN;
        if (!ok) {
            refuse_401(req, resp, ru, a);
            return MK_STRICT_ANSWERED;
        }
    }
    /* 2. the path id's form */
    if (has_id && !mk_uuid_valid(pid, plen)) {
        char why[160], shown[48];
        snprintf(why, sizeof why, "%s \"%s\" is not a UUID (8-4-4-4-12 hexadecimal digits)",
                 topology ? "domain id" : "node id", mk_shown(pid, plen, shown, sizeof shown));
        mk_problem(req, resp, 400, topology ? "invalid_domain_id" : "invalid_node_id", why, NULL);
        return MK_STRICT_ANSWERED;
    }
    /* 3. authorise: before anything says whether the id exists */
    if (!skip_auth && ru->auth != AUTH_BOOTSTRAP) {
        if (ru->auth == AUTH_OPERATOR && a->cls == MK_AUTH_NODE_KEY) {
            refuse_403(req, resp, ru, "a node secret key cannot operate on nodes or read the domain: "
                                      "use an API token (psk_...)");
            return MK_STRICT_ANSWERED;
        }
        if (has_id && !topology && a->cls == MK_AUTH_NODE_KEY &&
            (plen != MK_NODE_ID_LEN || strncasecmp(pid, a->node, plen) != 0)) {
            refuse_403(req, resp, ru, ru->auth == AUTH_NSK
                                          ? "the node secret key belongs to another node than the path names"
                                          : "a node may read only its own resources");
            return MK_STRICT_ANSWERED;
        }
    }
    /* 4. the body cap, before any decoding; 5. decode */
    const char *body = req->body ? req->body : "";
    size_t blen = req->body_len;
    if (rt->body != MK_BODY_NONE) {
        size_t cap = ru->cap ? ru->cap : m->cfg.max_body_bytes;
        char why[120];
        if (req->body_status == MK_BODY_TOO_LARGE || blen > cap) {
            if (req->body_status == MK_BODY_TOO_LARGE)
                resp->close = true; /* the rest of the body is never read */
            snprintf(why, sizeof why, "the request body is larger than %zu bytes", cap);
            mk_problem(req, resp, 413, ru->c413, why, NULL);
            return MK_STRICT_ANSWERED;
        }
        if (req->body_status == MK_BODY_READ_FAIL) {
            resp->close = true;
            mk_err_invalid_body(req, resp, "the request body could not be read");
            return MK_STRICT_ANSWERED;
        }
        const char *ce = mk_req_header(req, "Content-Encoding");
        if (ce && strcasecmp(ce, "gzip") == 0) {
            size_t dcap = cap < m->cfg.max_decoded_bytes ? cap : m->cfg.max_decoded_bytes;
            int gz = mk_gunzip(body, blen, dcap, decoded);
            if (gz == MK_GZ_TOO_BIG) {
                snprintf(why, sizeof why, "the decoded request body is larger than %zu bytes", dcap);
                mk_problem(req, resp, 413, ru->c413, why, NULL);
                return MK_STRICT_ANSWERED;
            }
            if (gz == MK_GZ_BAD) {
                mk_problem(req, resp, 400, ru->c400, "Content-Encoding says gzip, and the body is not gzip", NULL);
                return MK_STRICT_ANSWERED;
            }
            if (gz != MK_GZ_OK) {
                mk_err_internal(req, resp, "out of memory");
                return MK_STRICT_ANSWERED;
            }
            body = decoded->data ? decoded->data : "";
            blen = decoded->len;
            *jbody = body;
            *jlen = blen;
            *gzipped = true;
        }
        /* captured as the reference does, before it is judged; never after
         * a refused credential or an over-cap body */
        if (!mk_capture_body(m, S, req, resp, rt->capture, body, blen))
            return MK_STRICT_ANSWERED;
    }

    int64_t now = mk_session_now_ms(S);
    int64_t wall = wall_ms();
    /* the node the request is about: the path's, or (keys/rotate) the key's */
    char node[MK_NODE_ID_LEN + 1] = "";
    if (has_id && !topology)
        snprintf(node, sizeof node, "%.*s", (int)plen, pid);
    else if (rt->responder == MK_R_KEY_ROTATE && a->cls == MK_AUTH_NODE_KEY)
        snprintf(node, sizeof node, "%s", a->node);
    mk_node_id_lower(node);

    mk_sb_verdict v;
    void *doc = NULL;
    mk_buf out;
    mk_buf_init(&out, 0);
    mk_strict_step step = MK_STRICT_ANSWERED;
    int counter = rt->counter;
    int r = 0;
    switch (rt->responder) {
    case MK_R_REGISTER:
        do_register(m, S, req, resp, body, blen, a, skip_auth, now); /* answers, and counts once it succeeded */
        r = 1;
        break;
    case MK_R_HEARTBEAT: {
        mk_sb_heartbeat hb;
        if (mk_sb_heartbeat_check(body, blen, wall, &hb, &doc, &v) != 0) {
            refuse(req, resp, &v);
            r = 1; /* answered */
            break;
        }
        mk_buf_putc(&out, '{');
        if ((r = mk_nodes_heartbeat(S->nodes, node, strlen(node), now, &out)) == 0) {
            bool rec, rot;
            hints(m, S, &rec, &rot);
            mk_buf_printf(&out, ",\"reconcile\":%s,\"rotate_keys\":%s}\n", rec ? "true" : "false",
                          rot ? "true" : "false");
        }
        break;
    }
    case MK_R_ENDPOINT: {
        mk_sb_endpoint ep;
        bool changed;
        if (mk_sb_endpoint_check(body, blen, wall, &ep, &doc, &v) != 0) {
            refuse(req, resp, &v);
            r = 1; /* answered */
            break;
        }
        if ((r = mk_nodes_endpoint(S->nodes, node, strlen(node), ep.endpoint, ep.nat_type, now, &changed, &out)) == 0)
            mk_buf_putc(&out, '\n');
        break;
    }
    case MK_R_KEY_ROTATE: {
        const char *key;
        bool created;
        if (mk_sb_keys_rotate_check(body, blen, &key, &doc, &v) != 0) {
            refuse(req, resp, &v);
            r = 1; /* answered */
            break;
        }
        /* the event must fit before anything changes: an agent told 200
         * whose peers never hear of it would be a silent loss */
        if (!mk_sse_space_fits(S->sse, MK_EVENT_ROOM)) {
            r = -4;
            break;
        }
        r = mk_nodes_rotate_complete(S->nodes, node, strlen(node), key, now, &created, &out);
        if (r == 0) {
            mk_buf_putc(&out, '\n');
            if (created && mk_event_publish(m, S, node, "peer_key_rotated", "{}") != 0)
                r = -4; /* another publish took the room meanwhile: said, not hidden */
        }
        break;
    }
    case MK_R_EVENTS: {
        const char *lei = mk_req_header(req, "Last-Event-ID");
        size_t ll = lei ? strlen(lei) : 0;
        /* a number an event id can be: 1 to 20 digits, at most 2^64 - 1 */
        if (ll && (strspn(lei, "0123456789") != ll || ll > 20 ||
                   (ll == 20 && strcmp(lei, "18446744073709551615") > 0))) {
            char why[120], shown[48];
            snprintf(why, sizeof why, "Last-Event-ID \"%s\" is not a number (an event's id)",
                     mk_shown(lei, strlen(lei), shown, sizeof shown));
            mk_problem(req, resp, 400, "invalid_last_event_id", why, NULL);
            r = 1;
            break;
        }
    } /* fall through */
    case MK_R_STATE:
        if (!mk_nodes_exists(S->nodes, node, strlen(node))) {
            r = -1;
            break;
        }
        step = MK_STRICT_CONTINUE; /* the reference responder answers, and counts */
        counter = -1;
        break;
    case MK_R_REACHABILITY:
        if ((r = mk_nodes_reachability_json(S->nodes, node, strlen(node), now, &out)) == 0)
            mk_buf_putc(&out, '\n');
        break;
    case MK_R_ROTATE_TRIGGER: {
        bool created;
        if (!mk_sse_space_fits(S->sse, MK_EVENT_ROOM)) { /* as the completion: before anything changes */
            r = -4;
            break;
        }
        if ((r = mk_nodes_rotate_trigger(S->nodes, node, strlen(node), now, &created, &out)) == 0) {
            mk_buf_putc(&out, '\n');
            if (created && mk_event_publish(m, S, node, "rotate_keys", "{}") != 0)
                r = -4;
        }
        break;
    }
    case MK_R_ROTATE_PREVIEW:
        if ((r = mk_nodes_rotate_preview(S->nodes, node, strlen(node), &out)) == 0)
            mk_buf_putc(&out, '\n');
        break;
    case MK_R_TOPOLOGY:
        if (plen != MK_NODE_ID_LEN || strncasecmp(pid, mk_nodes_domain(S->nodes), plen) != 0) {
            mk_problem(req, resp, 404, "domain_not_found", "no such domain (GET /test/nodes shows this session's)",
                       NULL);
            r = 1;
            break;
        }
        mk_nodes_topology_json(S->nodes, now, &out);
        mk_buf_putc(&out, '\n');
        break;
    default:
        if (rt->name == MK_ROUTE_CAPABILITIES) {
            mk_caps c;
            if (mk_sb_capabilities_check(body, blen, &c, &doc, &v) != 0) {
                refuse(req, resp, &v);
                r = 1;
                break;
            }
            if ((r = mk_nodes_capabilities(S->nodes, node, strlen(node), &c, now, &out)) == 0)
                mk_buf_putc(&out, '\n');
        } else if (rt->name == MK_ROUTE_INTEGRITY_VIOLATION) {
            size_t count;
            if (mk_sb_violations_check(body, blen, &count, &doc, &v) != 0) {
                refuse(req, resp, &v);
                r = 1;
                break;
            }
            if (!mk_nodes_exists(S->nodes, node, strlen(node))) {
                r = -1;
                break;
            }
            char at[32];
            mk_rfc3339_ms(now, at);
            mk_buf_printf(&out, "{\"accepted_at\":\"%s\",\"violation_count\":%zu}\n", at, count);
        } else { /* deregister */
            r = mk_nodes_deregister(S->nodes, node, strlen(node));
        }
        break;
    }
    if (step == MK_STRICT_ANSWERED && r != 1) {
        if (r == -1) {
            char why[120];
            snprintf(why, sizeof why, "no node %s in this session", node[0] ? node : "holds that key");
            mk_problem(req, resp, 404, ru->c404, why, NULL);
        } else if (r == -4) {
            mk_err_store_full(req, resp, m->sessions.budget.max);
        } else if (r == -2) {
            mk_problem(req, resp, 409, "keys_rotate_no_pending_rotation",
                       "no key rotation is pending for this node (POST /v1/nodes/{id}/keys/rotate starts one)", NULL);
        } else if (r != 0) {
            mk_err_internal(req, resp, "out of memory");
        } else {
            if (counter >= 0)
                mk_state_count(&S->state, counter);
            if (rt->name == MK_ROUTE_DEREGISTER)
                mk_respond_no_content(req, resp);
            else
                answer_json(m, req, resp, rt->name == MK_ROUTE_INTEGRITY_VIOLATION ? 202 : 200, &out);
        }
    }
    if (rt->responder == MK_R_REGISTER) {
        /* the journal never keeps a credential raw: register's token goes
         * in as its fingerprint (the capture keeps the body as sent, as
         * /test/last-request/register answers it) */
        mk_buf red;
        mk_buf_init(&red, 0);
        if (redact_token(body, blen, &red) == 0) {
            mk_buf_free(decoded);
            *decoded = red;
            *jbody = decoded->data;
            *jlen = decoded->len;
        } else {
            mk_buf_free(&red);
        }
    }
    mk_buf_free(&out);
    mk_sb_free(doc);
    return step;
}
