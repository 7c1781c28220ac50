/* test_cases_direct.c: the .case files of tests/cases once more, without a
 * socket. Each exchange becomes an mk_request handed to mk_dispatch on an
 * instance that was created and never started (dispatch.h: the request path
 * needs no transport); the response bytes it builds are split into status,
 * headers and body and judged by case_check, exactly as the HTTP run
 * (test_cases.c) judges what curl received. Tests are named
 * "direct/<file>".
 *
 * The request is what the HTTP run's client and transport hand dispatch:
 * curl's default headers (Host, Accept; Content-Length and Content-Type
 * with a body; a case's "Name:" line removes one), the raw path split at
 * '?' into path and query, and the transport's verdict on the body
 * (MK_BODY_TOO_LARGE past max_body_bytes, and then no body). What only a
 * transport does is not imitated; a case that needs it is skipped, saying
 * which exchange and why:
 *  - a request head over max_header_bytes: the HTTP parser refuses it
 *    before dispatch;
 *  - GET of an event stream: its socket goes to the SSE hub;
 *  - /test/sse and /test/sse/wait: they read the SSE hub, which start makes.
 * Waits (/test/wait) run: they block in dispatch, on the state object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "case_file.h"
#include "dispatch.h"
#include "harness.h"

/* ---- requests ----------------------------------------------------------- */

/* An exchange as dispatch receives it; owns what the fields point to. */
typedef struct direct_req {
    mk_request req;
    char *path;             /* the target, taken apart in place by mk_request_target */
    mk_header_kv hdr[80];
    char *hdr_mem[80];      /* "Name\0value" storage of hdr[i] */
    char content_length[24];
    bool close;             /* Connection: close asked */
} direct_req;

static void direct_req_free(direct_req *d)
{
    free(d->path);
    for (int i = 0; i < d->req.nheaders; i++)
        free(d->hdr_mem[i]);
    memset(d, 0, sizeof *d);
}

/* Index of the header called name (its length nlen), or -1. */
static int find_header(const direct_req *d, const char *name, size_t nlen)
{
    for (int i = 0; i < d->req.nheaders; i++)
        if (strlen(d->hdr[i].name) == nlen && strncasecmp(d->hdr[i].name, name, nlen) == 0)
            return i;
    return -1;
}

/* Sets (replaces) or, with value NULL, removes a header. 0 or -1 (full, OOM). */
static int set_header(direct_req *d, const char *name, size_t nlen, const char *value)
{
    int at = find_header(d, name, nlen);
    if (at >= 0) {
        free(d->hdr_mem[at]);
        for (int i = at; i + 1 < d->req.nheaders; i++) {
            d->hdr[i] = d->hdr[i + 1];
            d->hdr_mem[i] = d->hdr_mem[i + 1];
        }
        d->req.nheaders--;
    }
    if (!value)
        return 0;
    if (d->req.nheaders == (int)(sizeof d->hdr / sizeof d->hdr[0]))
        return -1;
    size_t vlen = strlen(value);
    char *mem = malloc(nlen + vlen + 2);
    if (!mem)
        return -1;
    memcpy(mem, name, nlen);
    mem[nlen] = '\0';
    memcpy(mem + nlen + 1, value, vlen + 1);
    d->hdr_mem[d->req.nheaders] = mem;
    d->hdr[d->req.nheaders].name = mem;
    d->hdr[d->req.nheaders].value = mem + nlen + 1;
    d->req.nheaders++;
    return 0;
}

/* Builds the request of e (its body as sent is wire). 0 or -1 (OOM). */
static int direct_req_build(direct_req *d, const mockapi_config *cfg, const exch *e,
                            const unsigned char *wire, size_t wiren)
{
    memset(d, 0, sizeof *d);
    if (!(d->path = strdup(e->path)))
        return -1;
    d->req.kind = MK_LISTEN_HTTP;
    d->req.listener = 0;
    d->req.method = e->method;
    mk_request_target(&d->req, d->path); /* as the transport takes a target apart */
    d->req.headers = d->hdr;
    d->req.body_status = MK_BODY_COMPLETE;

    /* curl's defaults first, then the case's lines, which replace or remove them */
    if (set_header(d, "Host", 4, "127.0.0.1") != 0 || set_header(d, "Accept", 6, "*/*") != 0)
        return -1;
    if (e->has_body) {
        snprintf(d->content_length, sizeof d->content_length, "%zu", wiren);
        if (set_header(d, "Content-Length", 14, d->content_length) != 0 ||
            set_header(d, "Content-Type", 12, "application/x-www-form-urlencoded") != 0)
            return -1;
    }
    for (size_t i = 0; i < e->nheaders; i++) {
        const char *h = e->headers[i], *colon = strchr(h, ':'), *v = colon + 1;
        while (*v == ' ')
            v++;
        if (set_header(d, h, (size_t)(colon - h), *v ? v : NULL) != 0)
            return -1;
    }
    if (e->gzip == 1 && set_header(d, "Content-Encoding", 16, "gzip") != 0)
        return -1;
    /* a chunked body carries no Content-Length; its size is what arrives */
    const char *te = mk_req_header(&d->req, "Transfer-Encoding");
    if (te && strcasecmp(te, "chunked") == 0 && set_header(d, "Content-Length", 14, NULL) != 0)
        return -1;
    const char *conn = mk_req_header(&d->req, "Connection");
    d->close = conn && strcasecmp(conn, "close") == 0;

    /* the transport's verdict on the body: past the cap it is not read */
    if (e->has_body && wiren > cfg->max_body_bytes) {
        d->req.body_status = MK_BODY_TOO_LARGE;
        d->req.refused_size = wiren; /* as the transport: the size declared */
    } else if (e->has_body) {
        d->req.body = (const char *)wire;
        d->req.body_len = wiren;
    }
    return 0;
}

/* ---- responses ---------------------------------------------------------- */

/* Splits the bytes dispatch built into r (as curl's callbacks fill it).
 * Returns NULL, or why the bytes are not a well-framed response. */
static const char *parse_response(const char *p, size_t n, bool head, mt_response *r)
{
    memset(r, 0, sizeof *r);
    r->rc = CURLE_OK;
    if (!(r->body = calloc(1, 1)))
        return "out of memory";
    const char *end = p + n;
    const char *eoh = n ? memmem(p, n, "\r\n\r\n", 4) : NULL;
    if (!eoh || n < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0)
        return "no status line and head";
    r->status = strtol(p + 9, NULL, 10);
    /* the status line's CRLF may be the first half of the blank line's */
    const char *line = (const char *)memchr(p, '\n', (size_t)(eoh + 2 - p)) + 1;
    while (line < eoh + 2) {
        const char *nl = memchr(line, '\r', (size_t)(eoh + 2 - line));
        const char *colon = memchr(line, ':', (size_t)(nl - line));
        if (!colon)
            return "a header line without a colon";
        mt_header *nh = realloc(r->headers, (r->nheaders + 1) * sizeof *nh);
        if (!nh)
            return "out of memory";
        r->headers = nh;
        const char *v = colon + 1;
        while (v < nl && *v == ' ')
            v++;
        nh[r->nheaders].name = strndup(line, (size_t)(colon - line));
        nh[r->nheaders].value = strndup(v, (size_t)(nl - v));
        r->nheaders++;
        if (!nh[r->nheaders - 1].name || !nh[r->nheaders - 1].value)
            return "out of memory";
        line = nl + 2;
    }
    const char *body = eoh + 4;
    size_t blen = (size_t)(end - body);
    const char *cl = mt_header_get(r, "Content-Length");
    if (head && blen)
        return "a body after the head of a HEAD response";
    if (!head && cl && strtoull(cl, NULL, 10) != blen)
        return "Content-Length differs from the body's length";
    if (!cl && blen)
        return "a body without Content-Length";
    unsigned char *b = realloc(r->body, blen + 1);
    if (!b)
        return "out of memory";
    memcpy(b, body, blen);
    b[blen] = '\0';
    r->body = b;
    r->len = blen;
    return NULL;
}

/* Dispatches d on m and parses the answer into r. Returns NULL or why the
 * answer cannot be judged. */
static const char *dispatch(mockapi *m, const direct_req *d, mt_response *r)
{
    mk_response resp = {0};
    mk_buf_init(&resp.out, 0);
    resp.close = d->close;
    mk_dispatch(m, &d->req, &resp);
    mk_response_flatten(&resp); /* a large body comes by reference or in pieces */
    const char *why = NULL;
    if (resp.stream) {
        why = "dispatch opened an event stream, which needs a transport";
        memset(r, 0, sizeof *r);
    } else if (resp.out.len == 0) {
        /* the transport's fixed answer when building the response failed */
        static const char oom[] = "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n"
                                  "Content-Length: 0\r\n\r\n";
        why = parse_response(oom, sizeof oom - 1, false, r);
    } else {
        why = parse_response(resp.out.data, resp.out.len, strcmp(d->req.method, "HEAD") == 0, r);
    }
    mk_response_dispose(&resp);
    free(resp.stream_node);
    return why;
}

static const char *dispatch_get(mockapi *m, const char *path, mt_response *r)
{
    direct_req d;
    exch e;
    memset(&e, 0, sizeof e);
    e.method = "GET";
    e.path = (char *)path;
    e.truncate = -1;
    if (direct_req_build(&d, &m->cfg, &e, NULL, 0) != 0) {
        direct_req_free(&d);
        memset(r, 0, sizeof *r);
        return "out of memory";
    }
    const char *why = dispatch(m, &d, r);
    direct_req_free(&d);
    return why;
}

static int get_assertions(void *user, mt_response *out)
{
    return dispatch_get(user, "/test/assertions", out) ? -1 : 0;
}

/* ---- what needs a transport --------------------------------------------- */

/* Why exchange e cannot run without a transport, or NULL when it can. */
static const char *needs_transport(const case_file *cf, const exch *e)
{
    /* the head as curl sends it: request line, its headers, ours */
    size_t head = strlen(e->method) + strlen(e->path) + 12 + 80;
    for (size_t i = 0; i < e->nheaders; i++)
        head += strlen(e->headers[i]) + 2;
    if (head > cf->cfg.max_header_bytes)
        return "its request head is over max_header_bytes, which the HTTP parser refuses "
               "before dispatch";

    const char *q = strchr(e->path, '?');
    size_t plen = q ? (size_t)(q - e->path) : strlen(e->path);
    mk_match mt;
    mk_verdict v = mk_route_match(MK_LISTEN_HTTP, false, e->method, e->path, plen, q ? q + 1 : NULL, &mt);
    if (v == MK_REDIRECT)
        free(mt.location);
    if (v != MK_MATCH)
        return NULL;
    switch (mt.route->responder) {
    case MK_R_EVENTS:
        return strcmp(e->method, "HEAD") == 0 ? NULL
                                              : "it opens an event stream, whose socket goes to the SSE hub";
    case MK_R_SSE_STATUS:
    case MK_R_SSE_WAIT:
        return "it reads the SSE hub, which only a started server has";
    default:
        return NULL;
    }
}

/* ---- running ------------------------------------------------------------ */

static void run_exchange(mockapi *m, const char *key, const exch *e)
{
    unsigned char *sent = NULL, *wire = NULL;
    size_t sentn = 0, wiren = 0;
    direct_req d;
    mt_response r;
    case_target t = {m, key, get_assertions, m};

    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    if (case_bodies(e, key, &sent, &sentn, &wire, &wiren) != 0 ||
        direct_req_build(&d, &m->cfg, e, wire, wiren) != 0) {
        case_fail_at(e->line, "out of memory preparing the request");
        goto out;
    }
    const char *why = dispatch(m, &d, &r);
    if (why)
        case_fail_at(e->line, "%s %s: %s", e->method, e->path, why);
    case_check(&t, e, &r, sent, sentn, wire, wiren);
out:
    mt_response_free(&r);
    direct_req_free(&d);
    free(sent);
    free(wire);
}

static void run_case(void **state)
{
    case_file cf;
    mockapi *m = NULL;
    char err[256];
    mt_response ping;

    memset(&cf, 0, sizeof cf);
    memset(&ping, 0, sizeof ping);
    cf.path = *state;
    case_begin(cf.path);

    if (case_parse(&cf) != 0) {
        case_free(&cf);
        fail_msg("%s", cf.err);
    }
    for (size_t i = 0; i < cf.nex; i++) {
        const char *why = needs_transport(&cf, &cf.ex[i]);
        if (why) {
            print_message("%s:%d: skipped without a transport: %s\n", cf.path, cf.ex[i].line, why);
            case_free(&cf);
            skip();
        }
    }
    if (mockapi_create(&cf.cfg, &m, err, sizeof err) != MOCKAPI_OK) {
        case_free(&cf);
        fail_msg("%s: mockapi_create: %s", cf.path, err);
    }
    const char *key = mockapi_signing_public_key(m);
    for (size_t i = 0; i < cf.nex; i++)
        run_exchange(m, key, &cf.ex[i]);
    /* Whatever the case did, the instance must still answer. */
    const char *why = dispatch_get(
        m, cf.cfg.sessions == MOCKAPI_SESSIONS_REQUIRED ? "/s/default/v1/ping" : "/v1/ping", &ping);
    if (why || ping.status != 200 || ping.len != 3 || memcmp(ping.body, "{}\n", 3) != 0)
        case_fail_at(0, "after the last exchange GET /v1/ping gave %ld (%s)", ping.status,
                     why ? why : "well framed");
    mt_response_free(&ping);
    mockapi_free(m);
    case_free(&cf);
    if (case_failures())
        fail_msg("%s: %d check(s) failed", cf.path, case_failures());
}

int mt_run_direct_case_tests(void)
{
    return case_run_group("cases-direct", "direct/", run_case);
}
