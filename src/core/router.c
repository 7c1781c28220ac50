/* router.c: the route table and Go 1.22 net/http ServeMux matching.
 *
 * What the reference's mux does, and so what we do (docs/contract.md §2.1):
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
#include "hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi.h"
#include "suggest.h"

/* A route's counter and capture key follow from its name (names.h); a row
 * names the route and never repeats them. */
enum {
    CTR_NONE = -1,
#define CTR_(id, name) CTR_##id = MOCKAPI_##id,
    MOCKAPI_COUNTERS(CTR_)
#undef CTR_
};
enum {
#define CAPTURING_(id, name, counter) COUNTER_OF_##id = CTR_##counter, CAPTURE_OF_##id = MK_CAP_##id,
#define PLAIN_(id, name, counter) COUNTER_OF_##id = CTR_##counter, CAPTURE_OF_##id = MK_CAP_NONE,
    MK_CAPTURE_ROUTES(CAPTURING_)
    MK_PLAIN_ROUTES(PLAIN_)
#undef CAPTURING_
#undef PLAIN_
};

/* R(listener, method, pattern, body rule, type, name, responder) */
#define R(lis, method, pattern, body, type, name, responder)                                  \
    {MK_LISTEN_##lis, method, pattern, MK_BODY_##body, type, COUNTER_OF_##name,                 \
     (mk_capture)CAPTURE_OF_##name, responder, MK_ROUTE_##name, false}

/* RS(method, pattern, body rule, type, name, responder): a strict-only row */
#define RS(method, pattern, body, type, name, responder)                                                       \
    {MK_LISTEN_HTTP, method, pattern, MK_BODY_##body, type, COUNTER_OF_##name, (mk_capture)CAPTURE_OF_##name,    \
     responder, MK_ROUTE_##name, true}

/* The test-control routes both listeners serve (the reference's
 * configure and inject routes, and mockapi's own), one list for both. */
#define TEST_CONTROL(L)                                                                                        \
    R(L, "PUT", "/test/state", TYPED, &gt_StateResponse, CONFIGURE_STATE, MK_R_SET_STATE),                      \
    R(L, "POST", "/test/configure-state", TYPED, &gt_StateResponse, CONFIGURE_STATE, MK_R_SET_STATE),           \
    R(L, "POST", "/test/configure-heartbeat", TYPED, &gt_HeartbeatResponse, CONFIGURE_HEARTBEAT,                \
      MK_R_SET_HEARTBEAT),                                                                                     \
    R(L, "POST", "/test/inject-event", TYPED, &gt_SignedEnvelope, INJECT_EVENT, MK_R_INJECT),                   \
    /* beyond the reference: event-stream clients, and waiting for them */                                     \
    R(L, "GET", "/test/sse", NONE, NULL, SSE, MK_R_SSE_STATUS),                                                 \
    R(L, "GET", "/test/sse/wait", NONE, NULL, SSE_WAIT, MK_R_SSE_WAIT),                                         \
    R(L, "POST", "/test/sse/disconnect", NONE, NULL, SSE_DISCONNECT, MK_R_SSE_DISCONNECT),                      \
    /* beyond the reference: the request journal */                                                            \
    R(L, "GET", "/test/requests", NONE, NULL, REQUESTS, MK_R_REQUESTS),                                         \
    R(L, "POST", "/test/reset", NONE, NULL, RESET, MK_R_RESET),                                                 \
    R(L, "GET", "/test/wait", NONE, NULL, WAIT, MK_R_WAIT),                                                     \
    /* beyond the reference: what the transport did (refusals, deadlines) */                                   \
    R(L, "GET", "/test/stats", NONE, NULL, STATS, MK_R_STATS),                                                  \
    /* beyond the reference: regions (several plain listeners) down and up */                                 \
    R(L, "GET", "/test/regions", NONE, NULL, REGIONS, MK_R_REGIONS),                                            \
    R(L, "POST", "/test/regions/{i}/down", NONE, NULL, REGIONS, MK_R_REGION_DOWN),                              \
    R(L, "POST", "/test/regions/{i}/up", NONE, NULL, REGIONS, MK_R_REGION_UP),                                  \
    /* beyond the reference: fault rules (issue 14); the body is read by the responder */                       \
    R(L, "POST", "/test/faults", NONE, NULL, FAULTS, MK_R_FAULTS_ADD),                                          \
    R(L, "GET", "/test/faults", NONE, NULL, FAULTS, MK_R_FAULTS_LIST),                                          \
    R(L, "DELETE", "/test/faults", NONE, NULL, FAULTS, MK_R_FAULTS_CLEAR),                                      \
    R(L, "DELETE", "/test/faults/{id}", NONE, NULL, FAULTS, MK_R_FAULTS_DELETE),                                \
    /* beyond the reference: sessions (issue 15); the body is read by the responder */                        \
    R(L, "POST", "/test/sessions", NONE, NULL, SESSIONS, MK_R_SESSIONS_ADD),                                    \
    R(L, "GET", "/test/sessions", NONE, NULL, SESSIONS, MK_R_SESSIONS_LIST),                                    \
    R(L, "DELETE", "/test/sessions/{id}", NONE, NULL, SESSIONS, MK_R_SESSIONS_END),                             \
    R(L, "GET", "/test/ca.pem", NONE, NULL, CA, MK_R_CA),                                                       \
    R(L, "GET", "/test/captures", NONE, NULL, CAPTURES, MK_R_CAPTURES),                                         \
    /* the strict profile's clock and node registry (issue 17); in both profiles */                            \
    R(L, "GET", "/test/clock", NONE, NULL, CLOCK, MK_R_CLOCK_GET),                                              \
    R(L, "POST", "/test/clock", NONE, NULL, CLOCK, MK_R_CLOCK_ADVANCE),                                         \
    R(L, "GET", "/test/nodes", NONE, NULL, NODES, MK_R_NODES),                                                  \
    /* readiness (issue 18): what a launcher or `mockapi wait` asks */                                          \
    R(L, "GET", "/test/health", NONE, NULL, HEALTH, MK_R_HEALTH)

static const mk_route routes[] = {
    /* plain listener (docs/contract.md §3) */
    R(HTTP, "GET", "/v1/ping", NONE, NULL, PING, MK_R_PING),
    R(HTTP, "POST", "/v1/register", TYPED, &gt_RegisterRequest, REGISTER, MK_R_REGISTER),
    R(HTTP, "POST", "/v1/nodes/{id}/heartbeat", TYPED, &gt_HeartbeatRequest, HEARTBEAT, MK_R_HEARTBEAT),
    R(HTTP, "GET", "/v1/nodes/{id}/state", NONE, NULL, STATE, MK_R_STATE),
    R(HTTP, "GET", "/v1/nodes/{id}/metadata", NONE, NULL, METADATA, MK_R_METADATA),
    R(HTTP, "GET", "/v1/nodes/{id}/events", NONE, NULL, EVENTS, MK_R_EVENTS),
    R(HTTP, "GET", "/test/assertions", NONE, NULL, ASSERTIONS, MK_R_ASSERTIONS),
    R(HTTP, "POST", "/v1/nodes/{id}/deregister", ANY, NULL, DEREGISTER, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/keys/rotate", TYPED, &gt_KeyRotateRequest, KEY_ROTATE, MK_R_KEY_ROTATE),
    R(HTTP, "PUT", "/v1/nodes/{id}/capabilities", TYPED, &gt_CapabilitiesPayload, CAPABILITIES, MK_R_NO_CONTENT),
    R(HTTP, "PUT", "/v1/nodes/{id}/endpoint", TYPED, &gt_EndpointReport, ENDPOINT, MK_R_ENDPOINT),
    R(HTTP, "POST", "/v1/nodes/{id}/drift", TYPED, &gt_DriftReport, DRIFT, MK_R_NO_CONTENT),
    R(HTTP, "GET", "/v1/nodes/{id}/secrets/{key}", NONE, NULL, SECRETS, MK_R_SECRETS),
    R(HTTP, "POST", "/v1/nodes/{id}/report", TYPED, &gt_ReportSyncRequest, REPORT, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/executions/{eid}/ack", TYPED, &gt_ExecutionAck, EXECUTION_ACK, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/executions/{eid}/result", TYPED, &gt_ExecutionResult, EXECUTION_RESULT, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/metrics", TYPED, &gt_MetricBatch, METRICS, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/logs", TYPED, &gt_LogBatch, LOGS, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/audit", TYPED, &gt_AuditBatch, AUDIT, MK_R_NO_CONTENT),
    R(HTTP, "GET", "/v1/artifacts/plexd/{version}/{os}/{arch}", NONE, NULL, ARTIFACT, MK_R_ARTIFACT),
    R(HTTP, "POST", "/v1/nodes/{id}/tunnels/{sid}/ready", TYPED, &gt_TunnelReadyRequest, TUNNEL_READY, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/tunnels/{sid}/closed", TYPED, &gt_TunnelClosedRequest, TUNNEL_CLOSED, MK_R_NO_CONTENT),
    R(HTTP, "POST", "/v1/nodes/{id}/integrity/violations", TYPED, &gt_IntegrityViolationReport, INTEGRITY_VIOLATION, MK_R_NO_CONTENT),
    R(HTTP, "GET", "/test/last-request/{endpoint}", NONE, NULL, LAST_REQUEST, MK_R_LAST_REQUEST),
    /* the strict profile's own (seed 004): 404 in the reference profile, as before */
    RS("GET", "/v1/nodes/{id}/reachability", NONE, NULL, REACHABILITY, MK_R_REACHABILITY),
    RS("POST", "/v1/nodes/{id}/keys/rotate", NONE, NULL, ROTATE_TRIGGER, MK_R_ROTATE_TRIGGER),
    RS("GET", "/v1/nodes/{id}/keys/rotate/preview", NONE, NULL, ROTATE_PREVIEW, MK_R_ROTATE_PREVIEW),
    RS("GET", "/v1/domains/{domainId}/mesh/topology", NONE, NULL, TOPOLOGY, MK_R_TOPOLOGY),
    RS("POST", "/v1/nodes/{id}/integrity-violations", ANY, NULL, INTEGRITY_VIOLATION, MK_R_NO_CONTENT),
    /* the live page and its feed (an event stream: the plain listener's) */
    R(HTTP, "GET", "/test/", NONE, NULL, PAGE, MK_R_PAGE),
    R(HTTP, "GET", "/test/events", NONE, NULL, FEED, MK_R_FEED),
    TEST_CONTROL(HTTP),
    /* method-less fallbacks: JSON 405 for any other method (docs/contract.md §2.1) */
#define FALLBACK(p) {MK_LISTEN_HTTP, NULL, p, MK_BODY_NONE, NULL, -1, MK_CAP_NONE, MK_R_METHOD_NOT_ALLOWED_JSON, MK_ROUTE_NONE, false}
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

    /* TLS listener (docs/contract.md §8): no fallbacks */
    R(TLS, "POST", "/local/metrics", LOCAL, NULL, LOCAL_METRICS, MK_R_NO_CONTENT),
    R(TLS, "POST", "/local/logs", LOCAL, NULL, LOCAL_LOGS, MK_R_NO_CONTENT),
    R(TLS, "POST", "/local/audit", LOCAL, NULL, LOCAL_AUDIT, MK_R_NO_CONTENT),
    R(TLS, "GET", "/test/assertions", NONE, NULL, ASSERTIONS, MK_R_ASSERTIONS),
    R(TLS, "GET", "/test/last-request/{endpoint}", NONE, NULL, LAST_REQUEST, MK_R_LAST_REQUEST),
    /* beyond the reference: every other /test/ route, the same list as on
     * the plain listener, so a test over https sees all the plain listener
     * shows (issue 13); still no fallbacks: another method is the 405 text
     * with Allow, as for the two above */
    TEST_CONTROL(TLS),
};
#undef TEST_CONTROL
#undef RS
#undef R

static const char *const route_names[MK_ROUTE_COUNT] = {
#define NAME_(id, name, counter) name,
    MK_ROUTE_NAMES(NAME_)
#undef NAME_
};

/* names.h lists capture routes first, so a capture's id is its route's id. */
const char *mk_capture_name(mk_capture c)
{
    return (c >= 0 && c < MK_CAP_COUNT) ? route_names[c] : NULL;
}

mk_capture mk_capture_by_name(const char *s, size_t n)
{
    for (int i = 0; i < MK_CAP_COUNT; i++)
        if (strlen(route_names[i]) == n && memcmp(route_names[i], s, n) == 0)
            return (mk_capture)i;
    return MK_CAP_NONE;
}

const char *mk_route_id_name(mk_route_id id)
{
    return (id >= 0 && id < MK_ROUTE_COUNT) ? route_names[id] : NULL;
}

const char *mk_route_name(const mk_route *r)
{
    return r ? mk_route_id_name(r->name) : NULL;
}

const mk_route *mk_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
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
            int hi = mk_hexval(src[i + 1]), lo = mk_hexval(src[i + 2]);
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

mk_verdict mk_route_match(mk_listener_kind kind, bool strict, const char *method, const char *path,
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
        if (r->listener != kind || (r->strict_only && !strict) || (strict && !r->method) ||
            !match_pattern(r->pattern, seg, len, nseg, &probe))
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

const char *mk_route_suggest(mk_listener_kind kind, bool strict, const char *path, size_t path_len)
{
    const char *seg[MK_MAX_SEGMENTS];
    size_t len[MK_MAX_SEGMENTS];
    if (path_len == 0 || path[0] != '/')
        return NULL;
    int nseg = split(path, path_len, seg, len, MK_MAX_SEGMENTS);
    if (nseg < 0)
        return NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const mk_route *r = &routes[i];
        if (r->listener != kind || !r->method || (r->strict_only && !strict))
            continue;
        /* the same number of segments, and exactly one literal segment
         * differs: by a likely typo of it */
        const char *q = r->pattern + 1, *typo = NULL;
        int k = 0, wrong = 0;
        char lit[64], word[64];
        for (;; k++) {
            const char *e = strchr(q, '/');
            size_t pl = e ? (size_t)(e - q) : strlen(q);
            if (k >= nseg) {
                wrong = 2;
                break;
            }
            bool param = pl > 1 && q[0] == '{';
            if (!param && (pl != len[k] || memcmp(q, seg[k], pl) != 0)) {
                if (++wrong > 1 || pl >= sizeof lit || len[k] >= sizeof word)
                    break;
                memcpy(lit, q, pl);
                lit[pl] = '\0';
                memcpy(word, seg[k], len[k]);
                word[len[k]] = '\0';
                const char *cand[1] = {lit};
                typo = mk_suggest(word, cand, 1);
            }
            if (!e)
                break;
            q = e + 1;
        }
        if (wrong == 1 && k + 1 == nseg && typo)
            return r->pattern;
    }
    return NULL;
}
