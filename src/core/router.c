/* router.c: the route table and Go 1.22 net/http ServeMux matching.
 *
 * What the reference's mux does, and so what we do (SPEC 2.1):
 *  1. The percent-decoded path is cleaned (path.Clean, trailing slash kept);
 *     if that changes it, the answer is 301 to the cleaned path, query kept.
 *  2. Patterns match the *escaped* path segment by segment, each segment
 *     unescaped, so "a%2Fb" is one segment whose value is "a/b".
 *  3. Among patterns matching the path: the request method's own, then GET
 *     for HEAD, then the method-less fallback; if only other methods match,
 *     405 with Allow; if none, 404.
 * Everything here is pure: no state, no I/O, no allocation but the redirect
 * location. */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi.h"

#define C(x) MOCKAPI_##x##_COUNT

static const mk_route routes[] = {
    /* plain listener (SPEC 3) */
    {MK_LISTEN_HTTP, "GET", "/v1/ping", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_PING},
    {MK_LISTEN_HTTP, "POST", "/v1/register", MK_BODY_TYPED, &gt_RegisterRequest, C(REGISTRATION), MK_CAP_REGISTER, MK_R_REGISTER},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/heartbeat", MK_BODY_TYPED, &gt_HeartbeatRequest, C(HEARTBEAT), MK_CAP_HEARTBEAT, MK_R_HEARTBEAT},
    {MK_LISTEN_HTTP, "GET", "/v1/nodes/{id}/state", MK_BODY_NONE, NULL, C(STATE), MK_CAP_NONE, MK_R_STATE},
    {MK_LISTEN_HTTP, "GET", "/v1/nodes/{id}/metadata", MK_BODY_NONE, NULL, C(METADATA), MK_CAP_NONE, MK_R_METADATA},
    {MK_LISTEN_HTTP, "GET", "/v1/nodes/{id}/events", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_EVENTS},
    {MK_LISTEN_HTTP, "GET", "/test/assertions", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_ASSERTIONS},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/deregister", MK_BODY_ANY, NULL, C(DEREGISTER), MK_CAP_DEREGISTER, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/keys/rotate", MK_BODY_TYPED, &gt_KeyRotateRequest, C(KEY_ROTATE), MK_CAP_KEY_ROTATE, MK_R_KEY_ROTATE},
    {MK_LISTEN_HTTP, "PUT", "/v1/nodes/{id}/capabilities", MK_BODY_TYPED, &gt_CapabilitiesPayload, C(CAPABILITIES), MK_CAP_CAPABILITIES, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "PUT", "/v1/nodes/{id}/endpoint", MK_BODY_TYPED, &gt_EndpointReport, C(ENDPOINT), MK_CAP_ENDPOINT, MK_R_ENDPOINT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/drift", MK_BODY_TYPED, &gt_DriftReport, C(DRIFT), MK_CAP_DRIFT, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "GET", "/v1/nodes/{id}/secrets/{key}", MK_BODY_NONE, NULL, C(SECRETS), MK_CAP_NONE, MK_R_SECRETS},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/report", MK_BODY_TYPED, &gt_ReportSyncRequest, C(REPORT), MK_CAP_REPORT, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/executions/{eid}/ack", MK_BODY_TYPED, &gt_ExecutionAck, C(EXECUTION_ACK), MK_CAP_EXECUTION_ACK, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/executions/{eid}/result", MK_BODY_TYPED, &gt_ExecutionResult, C(EXECUTION_RESULT), MK_CAP_EXECUTION_RESULT, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/metrics", MK_BODY_TYPED, &gt_MetricBatch, C(METRICS), MK_CAP_METRICS, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/logs", MK_BODY_TYPED, &gt_LogBatch, C(LOGS), MK_CAP_LOGS, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/audit", MK_BODY_TYPED, &gt_AuditBatch, C(AUDIT), MK_CAP_AUDIT, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "GET", "/v1/artifacts/plexd/{version}/{os}/{arch}", MK_BODY_NONE, NULL, C(ARTIFACT), MK_CAP_NONE, MK_R_ARTIFACT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/tunnels/{sid}/ready", MK_BODY_TYPED, &gt_TunnelReadyRequest, C(TUNNEL_READY), MK_CAP_TUNNEL_READY, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/tunnels/{sid}/closed", MK_BODY_TYPED, &gt_TunnelClosedRequest, C(TUNNEL_CLOSED), MK_CAP_TUNNEL_CLOSED, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "POST", "/v1/nodes/{id}/integrity/violations", MK_BODY_TYPED, &gt_IntegrityViolationReport, C(INTEGRITY_VIOLATION), MK_CAP_INTEGRITY_VIOLATION, MK_R_NO_CONTENT},
    {MK_LISTEN_HTTP, "PUT", "/test/state", MK_BODY_TYPED, &gt_StateResponse, -1, MK_CAP_CONFIGURE_STATE, MK_R_SET_STATE},
    {MK_LISTEN_HTTP, "POST", "/test/configure-state", MK_BODY_TYPED, &gt_StateResponse, -1, MK_CAP_CONFIGURE_STATE, MK_R_SET_STATE},
    {MK_LISTEN_HTTP, "POST", "/test/configure-heartbeat", MK_BODY_TYPED, &gt_HeartbeatResponse, -1, MK_CAP_CONFIGURE_HEARTBEAT, MK_R_SET_HEARTBEAT},
    {MK_LISTEN_HTTP, "POST", "/test/inject-event", MK_BODY_TYPED, &gt_SignedEnvelope, C(INJECT_EVENT), MK_CAP_INJECT_EVENT, MK_R_INJECT},
    {MK_LISTEN_HTTP, "GET", "/test/last-request/{endpoint}", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_LAST_REQUEST},
    /* beyond the reference: event-stream clients, and waiting for them */
    {MK_LISTEN_HTTP, "GET", "/test/sse", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_SSE_STATUS},
    {MK_LISTEN_HTTP, "GET", "/test/sse/wait", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_SSE_WAIT},
    /* beyond the reference: the request journal */
    {MK_LISTEN_HTTP, "GET", "/test/requests", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_REQUESTS},
    {MK_LISTEN_HTTP, "POST", "/test/reset", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_RESET},
    {MK_LISTEN_HTTP, "GET", "/test/wait", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_WAIT},

    /* method-less fallbacks: JSON 405 for any other method (SPEC 2.1) */
#define FALLBACK(p) {MK_LISTEN_HTTP, NULL, p, MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_METHOD_NOT_ALLOWED_JSON}
    FALLBACK("/v1/ping"), FALLBACK("/v1/register"), FALLBACK("/v1/nodes/{id}/heartbeat"),
    FALLBACK("/v1/nodes/{id}/deregister"), FALLBACK("/v1/keys/rotate"),
    FALLBACK("/v1/nodes/{id}/capabilities"), FALLBACK("/v1/nodes/{id}/endpoint"),
    FALLBACK("/v1/nodes/{id}/drift"), FALLBACK("/v1/nodes/{id}/secrets/{key}"),
    FALLBACK("/v1/nodes/{id}/report"), FALLBACK("/v1/nodes/{id}/executions/{eid}/ack"),
    FALLBACK("/v1/nodes/{id}/executions/{eid}/result"), FALLBACK("/v1/nodes/{id}/metrics"),
    FALLBACK("/v1/nodes/{id}/logs"), FALLBACK("/v1/nodes/{id}/audit"),
    FALLBACK("/v1/artifacts/plexd/{version}/{os}/{arch}"),
    FALLBACK("/v1/nodes/{id}/tunnels/{sid}/ready"), FALLBACK("/v1/nodes/{id}/tunnels/{sid}/closed"),
    FALLBACK("/v1/nodes/{id}/integrity/violations"), FALLBACK("/test/state"),
    FALLBACK("/test/configure-state"), FALLBACK("/test/configure-heartbeat"),
    FALLBACK("/test/inject-event"),
#undef FALLBACK

    /* TLS listener (SPEC 8): no fallbacks */
    {MK_LISTEN_TLS, "POST", "/local/metrics", MK_BODY_LOCAL, NULL, C(LOCAL_METRICS), MK_CAP_LOCAL_METRICS, MK_R_NO_CONTENT},
    {MK_LISTEN_TLS, "POST", "/local/logs", MK_BODY_LOCAL, NULL, C(LOCAL_LOGS), MK_CAP_LOCAL_LOGS, MK_R_NO_CONTENT},
    {MK_LISTEN_TLS, "POST", "/local/audit", MK_BODY_LOCAL, NULL, C(LOCAL_AUDIT), MK_CAP_LOCAL_AUDIT, MK_R_NO_CONTENT},
    {MK_LISTEN_TLS, "GET", "/test/assertions", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_ASSERTIONS},
    {MK_LISTEN_TLS, "GET", "/test/last-request/{endpoint}", MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_LAST_REQUEST},
};
#undef C

static const char *const capture_names[MK_CAP_COUNT] = {
    "register", "heartbeat", "deregister", "key_rotate", "capabilities", "endpoint",
    "drift", "report", "execution_ack", "execution_result", "metrics", "logs", "audit",
    "tunnel_ready", "tunnel_closed", "integrity_violation", "configure_state",
    "configure_heartbeat", "inject_event", "local_metrics", "local_logs", "local_audit",
};

const char *mk_capture_name(mk_capture c)
{
    return (c >= 0 && c < MK_CAP_COUNT) ? capture_names[c] : NULL;
}

mk_capture mk_capture_by_name(const char *s, size_t n)
{
    for (int i = 0; i < MK_CAP_COUNT; i++)
        if (strlen(capture_names[i]) == n && memcmp(capture_names[i], s, n) == 0)
            return (mk_capture)i;
    return MK_CAP_NONE;
}

const char *mk_route_name(const mk_route *r)
{
    if (!r)
        return NULL;
    if (r->capture != MK_CAP_NONE)
        return capture_names[r->capture];
    switch (r->responder) {
    case MK_R_PING: return "ping";
    case MK_R_STATE: return "state";
    case MK_R_METADATA: return "metadata";
    case MK_R_EVENTS: return "events";
    case MK_R_ASSERTIONS: return "assertions";
    case MK_R_SECRETS: return "secrets";
    case MK_R_ARTIFACT: return "artifact";
    case MK_R_LAST_REQUEST: return "last_request";
    case MK_R_SSE_STATUS: return "sse";
    case MK_R_SSE_WAIT: return "sse_wait";
    case MK_R_REQUESTS: return "requests";
    case MK_R_RESET: return "reset";
    case MK_R_WAIT: return "wait";
    default: return NULL;
    }
}

const mk_route *mk_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..n) into dst (room for n bytes). Returns the decoded
 * length or -1 on a malformed escape, which Go's URL parser rejects. */
static long unescape(const char *src, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    return (long)o;
}

/* Go's cleanPath: rooted path.Clean that keeps a trailing slash. Writes into
 * out (room for n + 2 bytes) and returns the length. */
static size_t clean_path(const char *p, size_t n, char *out)
{
    size_t w = 0;
    out[w++] = '/';
    size_t i = 0;
    while (i < n) {
        while (i < n && p[i] == '/')
            i++;
        size_t s = i;
        while (i < n && p[i] != '/')
            i++;
        size_t len = i - s;
        if (len == 0 || (len == 1 && p[s] == '.'))
            continue;
        if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
            /* drop the last element, never above the root */
            if (w > 1) {
                w--; /* the slash after the element */
                while (w > 1 && out[w - 1] != '/')
                    w--;
            }
            continue;
        }
        memcpy(out + w, p + s, len);
        w += len;
        out[w++] = '/';
    }
    if (w > 1)
        w--; /* no trailing slash from the loop */
    /* path.Clean drops a trailing slash; cleanPath puts it back */
    if (n > 0 && p[n - 1] == '/' && w > 1)
        out[w++] = '/';
    return w;
}

/* url.URL{Path: p}.String() for a rooted path: escapes what Go's
 * shouldEscape(encodePath) escapes. */
static void escape_path(const char *p, size_t n, char *out, size_t *olen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c != '\0' && strchr("-_.~$&+,/:;=@", c) != NULL)) {
            out[w++] = (char)c;
            continue;
        }
        out[w++] = '%';
        out[w++] = hex[c >> 4];
        out[w++] = hex[c & 15];
    }
    *olen = w;
}

/* Splits the raw path into segments after the leading slash. */
static int split(const char *p, size_t n, const char **seg, size_t *len, int max)
{
    int k = 0;
    size_t i = 1; /* skip the leading '/' */
    for (;;) {
        if (k == max)
            return -1;
        size_t s = i;
        while (i < n && p[i] != '/')
            i++;
        seg[k] = p + s;
        len[k] = i - s;
        k++;
        if (i >= n)
            return k;
        i++;
    }
}

/* Matches one pattern against the raw segments; on success fills params. */
static bool match_pattern(const char *pattern, const char **seg, const size_t *len, int nseg,
                          mk_match *m)
{
    int k = 0;
    size_t used = 0;
    int np = 0;
    const char *q = pattern + 1;
    char tmp[sizeof m->scratch];
    for (;;) {
        const char *e = strchr(q, '/');
        size_t plen = e ? (size_t)(e - q) : strlen(q);
        if (k >= nseg || len[k] > sizeof tmp)
            return false;
        long ulen = unescape(seg[k], len[k], tmp);
        if (ulen < 0)
            return false;
        if (plen > 1 && q[0] == '{') {
            if (ulen == 0 || np == MK_MAX_PARAMS || used + (size_t)ulen + 1 > sizeof m->scratch)
                return false;
            memcpy(m->scratch + used, tmp, (size_t)ulen);
            m->scratch[used + (size_t)ulen] = '\0';
            m->params[np].s = m->scratch + used;
            m->params[np].len = (size_t)ulen;
            np++;
            used += (size_t)ulen + 1;
        } else if ((size_t)ulen != plen || memcmp(tmp, q, plen) != 0) {
            return false;
        }
        k++;
        if (!e)
            break;
        q = e + 1;
    }
    if (k != nseg)
        return false;
    m->nparams = np;
    return true;
}

static void add_allow(char *allow, size_t cap, unsigned *mask, const char *method)
{
    static const char *const order[] = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"};
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
        if (strcmp(order[i], method) == 0)
            *mask |= 1u << i;
    allow[0] = '\0';
    size_t w = 0;
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!(*mask & (1u << i)))
            continue;
        int r = snprintf(allow + w, cap - w, "%s%s", w ? ", " : "", order[i]);
        if (r > 0 && (size_t)r < cap - w)
            w += (size_t)r;
    }
}

mk_verdict mk_route_match(mk_listener_kind kind, const char *method, const char *path,
                          size_t path_len, const char *query, mk_match *m)
{
    m->route = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    m->location = NULL;

    if (path_len == 0 || path[0] != '/' || path_len > 8192)
        return m->verdict = (path_len > 8192 ? MK_NOT_FOUND : MK_BAD_REQUEST);

    /* 1. clean the decoded path; a change means 301 */
    char *dec = malloc(path_len + 3);
    char *cln = malloc(path_len + 3);
    if (!dec || !cln) {
        free(dec);
        free(cln);
        return m->verdict = MK_NOT_FOUND;
    }
    long dlen = unescape(path, path_len, dec);
    if (dlen < 0) {
        free(dec);
        free(cln);
        return m->verdict = MK_BAD_REQUEST;
    }
    size_t clen = clean_path(dec, (size_t)dlen, cln);
    if (clen != (size_t)dlen || memcmp(cln, dec, clen) != 0) {
        size_t qlen = query ? strlen(query) : 0;
        char *loc = malloc(clen * 3 + qlen + 2);
        if (loc) {
            size_t w;
            escape_path(cln, clen, loc, &w);
            if (qlen) {
                loc[w++] = '?';
                memcpy(loc + w, query, qlen);
                w += qlen;
            }
            loc[w] = '\0';
        }
        free(dec);
        free(cln);
        m->location = loc;
        return m->verdict = loc ? MK_REDIRECT : MK_NOT_FOUND;
    }
    free(dec);
    free(cln);

    /* 2. segments of the escaped path */
    const char *seg[MK_MAX_SEGMENTS];
    size_t len[MK_MAX_SEGMENTS];
    int nseg = split(path, path_len, seg, len, MK_MAX_SEGMENTS);
    if (nseg < 0)
        return m->verdict = MK_NOT_FOUND;

    /* 3. method precedence: exact, GET for HEAD, fallback; else 405/404 */
    const mk_route *exact = NULL, *get = NULL, *fallback = NULL;
    unsigned mask = 0;
    mk_match probe;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const mk_route *r = &routes[i];
        if (r->listener != kind || !match_pattern(r->pattern, seg, len, nseg, &probe))
            continue;
        if (!r->method) {
            fallback = fallback ? fallback : r;
        } else if (strcmp(r->method, method) == 0) {
            exact = r;
            break;
        } else {
            if (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0)
                get = r;
            add_allow(m->allow, sizeof m->allow, &mask, r->method);
            if (strcmp(r->method, "GET") == 0)
                add_allow(m->allow, sizeof m->allow, &mask, "HEAD");
        }
    }
    const mk_route *r = exact ? exact : get ? get : fallback;
    if (r) {
        match_pattern(r->pattern, seg, len, nseg, m);
        m->route = r;
        return m->verdict = MK_MATCH;
    }
    return m->verdict = mask ? MK_NOT_ALLOWED : MK_NOT_FOUND;
}
