/* strict_client.c: the requests, nodes and streams of the strict profile's
 * tests; see strict_client.h. */
#include "strict_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

void sc_wall_rfc3339(int64_t delta_ms, char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + delta_ms;
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    /* the fields bounded for the compiler's truncation check */
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)(ms % 1000));
}

char *sc_hb_body(void)
{
    char now[40];
    sc_wall_rfc3339(0, now);
    return rc_fmt("{\"client_now\":\"%s\",\"binary_checksum\":\"" SC_SUM "\",\"binary_version\":\"1.2.3\"}", now);
}

/* ---- requests ------------------------------------------------------------- */

int sc_rq_n(const mt_server *s, const char *method, const char *path, const char *hdrs, const void *body,
            size_t blen, rc_resp *r)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    char *h = body ? rc_fmt("%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n", method, path,
                            hdrs ? hdrs : "", blen)
                   : rc_fmt("%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, path, hdrs ? hdrs : "");
    if (rc_send_n(c, h, strlen(h)) != 0 || (body && blen && rc_send_n(c, body, blen) != 0)) {
        /* the server may answer (413) and close before the body is all sent */
    }
    free(h);
    int st = rc_read(c, mt_now_ms() + SC_WAIT_MS, r);
    if (st == 0) {
        char *sh = mt_show(c->buf, c->len);
        fail_msg("%s %s: no response (got %s)", method, path, sh ? sh : "?");
    }
    rc_close(c);
    return st;
}

int sc_rq(const mt_server *s, const char *method, const char *path, const char *hdrs, const char *body,
          rc_resp *r)
{
    return sc_rq_n(s, method, path, hdrs, body, body ? strlen(body) : 0, r);
}

int sc_call(const mt_server *s, const char *method, const char *path, const char *hdrs, const char *body)
{
    rc_resp r;
    int st = sc_rq(s, method, path, hdrs, body, &r);
    rc_resp_free(&r);
    return st;
}

const char *sc_hdr(const rc_resp *r, const char *name, char *out, size_t n, int *count)
{
    size_t nl = strlen(name);
    const char *found = NULL;
    int k = 0;
    for (const char *p = strstr(r->head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (!end || (size_t)(end - line) <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
            continue;
        k++;
        if (found)
            continue;
        const char *v = line + nl + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = (size_t)(end - v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (vl >= n)
            vl = n - 1;
        memcpy(out, v, vl);
        out[vl] = '\0';
        found = out;
    }
    if (count)
        *count = k;
    return found;
}

void sc_reason(const rc_resp *r, char out[64])
{
    const char *p = strchr(r->head, ' ');
    p = p ? strchr(p + 1, ' ') : NULL;
    const char *e = strstr(r->head, "\r\n");
    size_t n = p && e > p ? (size_t)(e - p - 1) : 0;
    if (n > 63)
        n = 63;
    memcpy(out, p ? p + 1 : "", n);
    out[n] = '\0';
}

json_t *sc_body_json(const rc_resp *r) { return mt_parse_json(r->body, r->body_len); }

json_t *sc_get_json(const mt_server *s, const char *path, const char *hdrs)
{
    rc_resp r;
    int st = sc_rq(s, "GET", path, hdrs, NULL, &r);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("GET %s: %d %s", path, st, sh);
    }
    json_t *j = sc_body_json(&r);
    rc_resp_free(&r);
    return j;
}

json_t *sc_last_entry(const mt_server *s, const char *hdrs, const char *route)
{
    char *p = rc_fmt("/test/requests?route=%s&last=1", route);
    json_t *j = sc_get_json(s, p, hdrs);
    free(p);
    json_t *e = json_incref(json_array_get(json_object_get(j, "entries"), 0));
    json_decref(j);
    if (!e)
        fail_msg("no journal entry for route %s", route);
    return e;
}

/* ---- servers, sessions and nodes ------------------------------------------- */

void sc_strict_start(mt_server *s, mockapi_config *cfg)
{
    cfg->profile = MOCKAPI_PROFILE_STRICT;
    rc_start(s, cfg, false);
}

void sc_strict_server(mt_server *s)
{
    mockapi_config cfg;
    mt_config_init(&cfg);
    sc_strict_start(s, &cfg);
}

void sc_strict_tls(mt_server *s)
{
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.profile = MOCKAPI_PROFILE_STRICT;
    rc_start(s, &cfg, true);
}

int sc_session(const mt_server *s, const char *body, char id[64])
{
    rc_resp r;
    int st = sc_rq(s, "POST", "/test/sessions", NULL, body, &r);
    id[0] = '\0';
    if (st == 200 || st == 201) {
        json_t *j = sc_body_json(&r);
        snprintf(id, 64, "%s", mt_jstr(j, "id"));
        json_decref(j);
    }
    rc_resp_free(&r);
    return st;
}

bool sc_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

void sc_upper_id(const char *id, char out[64])
{
    snprintf(out, 64, "%s", id);
    for (char *c = out; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
}

/* The register request of sc_register, its response left in *r. */
static int register_rq(const mt_server *s, const char *pre, const char *token, const char *host, sc_node *n,
                       rc_resp *r)
{
    char *path = rc_fmt("%s/v1/register", pre);
    char *body = rc_fmt("{\"token\":\"%s\",\"public_key\":\"" SC_PK1 "\",\"hostname\":\"%s\"}", token, host);
    int st = sc_rq(s, "POST", path, "Content-Type: application/json\r\n", body, r);
    free(path);
    free(body);
    if (st == 200 && n) {
        json_t *j = sc_body_json(r);
        snprintf(n->id, sizeof n->id, "%s", mt_jstr(j, "node_id"));
        snprintf(n->nsk, sizeof n->nsk, "%s", mt_jstr(j, "node_secret_key"));
        snprintf(n->auth, sizeof n->auth, "Authorization: Bearer %s\r\n", n->nsk);
        json_decref(j);
    }
    return st;
}

int sc_register(const mt_server *s, const char *pre, const char *token, const char *host, sc_node *n)
{
    rc_resp r;
    int st = register_rq(s, pre, token, host, n, &r);
    rc_resp_free(&r);
    return st;
}

void sc_reg(const mt_server *s, const char *pre, sc_node *n)
{
    rc_resp r;
    int st = register_rq(s, pre, SC_BOOT, "h1", n, &r);
    if (st != 200) {
        char *sh = mt_show(r.body, r.body_len);
        fail_msg("register: %d %s", st, sh);
    }
    rc_resp_free(&r);
    if (!sc_is_uuid(n->id) || n->id[14] != '7')
        fail_msg("register: node_id %s is not a lower-case UUIDv7", n->id);
    if (strlen(n->nsk) != 32)
        fail_msg("register: node_secret_key %s is not 32 characters", n->nsk);
    for (int i = 0; i < 32; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n->nsk[i]))
            fail_msg("register: node_secret_key %s is not [A-Za-z0-9]", n->nsk);
}

void sc_strict_nodes(mt_server *s, ...)
{
    sc_strict_server(s);
    va_list ap;
    va_start(ap, s);
    for (sc_node *n = va_arg(ap, sc_node *); n; n = va_arg(ap, sc_node *))
        sc_reg(s, "", n);
    va_end(ap);
}

/* ---- event streams ---------------------------------------------------------- */

void sc_inject(const mt_server *s, const char *id)
{
    char *b = rc_fmt("{\"event_type\":\"node_state_updated\",\"event_id\":\"%s\",\"nonce\":\"n-%s\",\"payload\":{}}",
                     id, id);
    assert_int_equal(sc_call(s, "POST", "/test/inject-event", NULL, b), 204);
    free(b);
}

void sc_sse_wait(const mt_server *s, const char *pre, int clients)
{
    char *w = rc_fmt("%s/test/sse/wait?clients=%d&timeout_ms=10000", pre, clients);
    assert_int_equal(sc_call(s, "GET", w, NULL, NULL), 200);
    free(w);
}

int sc_events_open(sse_client *c, const mt_server *s, const char *path, const sc_node *n, const char *extra)
{
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", n->nsk);
    const char *h[] = {auth, extra};
    return sse_open(c, rc_http_port(s), path, h, extra ? 2 : 1, mt_now_ms() + SC_WAIT_MS);
}

int sc_collect_until(sse_client *c, const char *marker, char ids[][32], char evs[][32], int max)
{
    int n = 0;
    int64_t dl = mt_now_ms() + SC_WAIT_MS;
    for (;;) {
        sse_event ev;
        int r = sse_next(c, &ev, dl);
        if (r != 1)
            fail_msg("event stream: no %s (%s) after %d frames", marker ? marker : "frame",
                     r == 0 ? "deadline" : "ended", n);
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

int sc_stream_injected(const mt_server *s, const sc_node *n, const char *extra, const char *const *evids, int nev,
                       char ids[][32], char evs[][32], int max)
{
    char path[192];
    snprintf(path, sizeof path, "/v1/nodes/%s/events", n->id);
    sse_client c;
    int st = sc_events_open(&c, s, path, n, extra);
    if (st != 200) {
        sse_close(&c);
        fail_msg("GET %s (%s): %d, want 200 and a stream", path, extra ? extra : "no Last-Event-ID", st);
    }
    sc_sse_wait(s, "", 1);
    for (int i = 0; i < nev; i++)
        sc_inject(s, evids[i]);
    int k = sc_collect_until(&c, evids[nev - 1], ids, evs, max);
    sse_close(&c);
    return k;
}
