/* dispatch.c: the one request path; see dispatch.h.
 *
 * Order of events per request, following the reference (docs/contract.md §4):
 *   match -> [auth] -> [gunzip -> capture -> typed decode] -> count -> respond
 * with the body steps driven by the route's body rule, never by per-route
 * code. Responses are built whole in resp->out (headers and body) so the
 * transport writes them with one call. No locks are held here: the state
 * object hands out references to immutable blobs. */
#include "dispatch.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "crypto.h"
#include "regions.h"
#include "gojson.h"
#include "gotype.h"
#include "errors.h"
#include "feed.h"
#include "guard.h"
#include "hex.h"
#include "page.h"
#include "gzip.h"
#include "query.h"
#include "respond.h"
#include "nodes.h"
#include "sse.h"
#include "strict.h"
#include "suggest.h"


const char *mk_req_header(const mk_request *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}


/* ---- responders --------------------------------------------------------- */

/* Answers status with the JSON b holds (500 if building it ran out of
 * memory) and frees b. */
static void respond_buf(const mk_request *req, mk_response *resp, int status, mk_buf *b)
{
    if (b->err)
        mk_err_internal(req, resp, "out of memory");
    else
        mk_respond_json(req, resp, status, b->data, b->len);
    mk_buf_free(b);
}

static bool no_query(const mk_request *req, mk_response *resp);

static void respond_assertions(mk_session *S, const mk_request *req, mk_response *resp)
{
    /* ?faults=1 adds the applied faults; without it (or with anything else
     * in the query, as the reference ignores it) the body is the 24
     * counters, byte for byte the reference's */
    bool faults = false;
    char fv[16];
    int fr = mk_query_get(req->query, "faults", fv, sizeof fv);
    if (fr != 0) {
        if (fr > 0 && (strcmp(fv, "1") == 0 || strcmp(fv, "true") == 0)) {
            faults = true;
        } else if (!(fr > 0 && (strcmp(fv, "0") == 0 || strcmp(fv, "false") == 0))) {
            mk_err_bad_query(req, resp, "faults must be 1, true, 0 or false");
            return;
        }
    }
    char body[1024];
    size_t w = 0;
    body[w++] = '{';
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++) {
        int n = snprintf(body + w, sizeof body - w, "%s\"%s\":%lld", i ? "," : "",
                         mockapi_counter_name((mockapi_counter)i),
                         (long long)mk_state_counter(&S->state, i));
        if (n < 0 || (size_t)n >= sizeof body - w - 3)
            break;
        w += (size_t)n;
    }
    if (faults) {
        mk_buf b;
        mk_buf_init(&b, 0);
        mk_buf_append(&b, body, w);
        mk_buf_puts(&b, ",\"faults\":");
        mk_faults_totals_json(&S->state.faults, &b);
        mk_buf_puts(&b, "}\n");
        respond_buf(req, resp, 200, &b);
        return;
    }
    body[w++] = '}';
    body[w++] = '\n';
    mk_respond_json(req, resp, 200, body, w);
}

/* ---- /test/faults --------------------------------------------------------- */

static void respond_fault_add(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    if (!no_query(req, resp))
        return;
    if (req->body_status == MK_BODY_TOO_LARGE) {
        mk_err_body_too_large(req, resp, m->cfg.max_body_bytes, false);
        return;
    }
    if (req->body_status == MK_BODY_READ_FAIL) {
        resp->close = true;
        mk_err_bad_fault(req, resp, "the request body could not be read");
        return;
    }
    mk_fault_body *b = malloc(sizeof *b);
    if (!b) {
        mk_err_internal(req, resp, "out of memory");
        return;
    }
    char err[512];
    int id = 0;
    if (mk_faults_parse_body(req->body ? req->body : "", req->body_len, b, err, sizeof err) != 0 ||
        mk_faults_install(&S->state.faults, m->sse, S->sse, MK_FSRC_RULE,
                          &(mk_fault_target){.route = b->has_route ? b->route : NULL,
                                             .path = b->has_path ? b->path : NULL,
                                             .method = b->method},
                          b->spec, strlen(b->spec), b->ttl_ms, &id, err, sizeof err) != 0) {
        mk_err_bad_fault(req, resp, err);
        free(b);
        return;
    }
    free(b);
    mk_buf out;
    mk_buf_init(&out, 0);
    mk_faults_rule_json(&S->state.faults, id, &out);
    mk_buf_putc(&out, '\n');
    respond_buf(req, resp, 201, &out);
}

static void respond_fault_list(mk_session *S, const mk_request *req, mk_response *resp)
{
    if (!no_query(req, resp))
        return;
    mk_buf out;
    mk_buf_init(&out, 0);
    mk_faults_list(&S->state.faults, &out);
    respond_buf(req, resp, 200, &out);
}

static void respond_fault_delete(mk_session *S, const mk_request *req, mk_response *resp,
                                 const mk_match *mt)
{
    if (!no_query(req, resp))
        return;
    const char *s = mt->params[0].s;
    size_t n = mt->params[0].len;
    long id = 0;
    bool num = n > 0 && n <= 9 && strspn(s, "0123456789") == n;
    if (num)
        id = strtol(s, NULL, 10);
    int rc = num && id > 0 ? mk_faults_delete(&S->state.faults, (int)id) : -1;
    if (rc == -2) {
        char why[160];
        snprintf(why, sizeof why, "rule %ld comes from the -fault flag (or mockapi_config.faults) and "
                                  "lasts as long as the server", id);
        mk_err_bad_fault(req, resp, why);
    } else if (rc != 0) {
        mk_err_no_fault_rule(req, resp, s);
    } else {
        mk_respond_no_content(req, resp);
    }
}

static void respond_fault_clear(mk_session *S, const mk_request *req, mk_response *resp)
{
    if (!no_query(req, resp))
        return;
    char body[48];
    int n = snprintf(body, sizeof body, "{\"deleted\":%d}\n", mk_faults_clear(&S->state.faults));
    mk_respond_json(req, resp, 200, body, (size_t)n);
}

static void respond_secret(mk_session *S, const mk_request *req, mk_response *resp, const mk_match *mt,
                           const mk_auth *a)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"key\":");
    gj_write_string(&b, mt->params[1].s, mt->params[1].len);
    const char *ct = S->secret_ct_b64;
    char mine[sizeof S->secret_ct_b64];
    const char *h = mk_req_header(req, "Authorization");
    if (a->known && a->cls == MK_AUTH_NODE_KEY && h && strlen(h) == 7 + MK_NODE_NSK_LEN) {
        /* strict: sealed with the key of the node that asks (its bearer,
         * 32 bytes), as the secret a registered node decrypts is */
        size_t bl = strlen(S->bearer);
        unsigned char sealed[MK_SESSION_TOKEN_MAX + 16];
        if (mk_gcm_seal((const unsigned char *)h + 7, S->bearer, bl, sealed) == 0) {
            mk_b64_encode(sealed, bl + 16, mine);
            ct = mine;
        }
    }
    mk_buf_printf(&b, ",\"ciphertext\":\"%s\",\"nonce\":\"AAAAAAAAAAAAAAAA\",\"version\":1}\n", ct);
    respond_buf(req, resp, 200, &b);
}

static void respond_last_request(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp,
                                 const mk_match *mt)
{
    mk_capture key = mk_capture_by_name(mt->params[0].s, mt->params[0].len);
    mk_blob *b = mk_state_last(&S->state, key);
    if (!b) {
        mk_err_no_capture(req, resp);
        return;
    }
    /* written from the shared capture (by reference), unless the output
     * held for slow clients is past its bound and this one adds to it */
    if (b->len < MK_BY_REF_MIN || strcmp(req->method, "HEAD") == 0 ||
        mk_out_admit(m, req, resp, mk_blob_cost(b)))
        mk_respond_blob(req, resp, MK_CT_OCTET, b);
    mk_blob_unref(b);
}

/* GET /test/captures: which keys hold a body now, and its size, so that a
 * reader (the live page) asks /test/last-request only for those. */
static void respond_captures(mk_session *S, const mk_request *req, mk_response *resp)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"captures\":[");
    int n = 0;
    for (int k = 0; k < MK_CAP_COUNT; k++) {
        mk_blob *c = mk_state_last(&S->state, (mk_capture)k);
        if (!c)
            continue;
        mk_buf_printf(&b, "%s{\"key\":\"%s\",\"size\":%zu}", n++ ? "," : "", mk_capture_name((mk_capture)k),
                      c->len);
        mk_blob_unref(c);
    }
    mk_buf_puts(&b, "]}\n");
    respond_buf(req, resp, 200, &b);
}

/* Builds the SSE data JSON of a signed envelope: the canonical five fields
 * (Go's json.Marshal of event_type, event_id, issued_at, nonce, payload) are
 * signed, then ',"signature":"…"}' closes the object (docs/contract.md §7). */
static int render_event(const mockapi *m, const char *type, size_t tlen, const char *id,
                        size_t idlen, const gj_time *at, const char *nonce, size_t nlen,
                        const char *payload, size_t plen, bool corrupt, mk_buf *out)
{
    mk_buf_puts(out, "{\"event_type\":");
    gj_write_string(out, type, tlen);
    mk_buf_puts(out, ",\"event_id\":");
    gj_write_string(out, id, idlen);
    mk_buf_puts(out, ",\"issued_at\":");
    if (gj_time_write(out, at) != 0)
        return -1;
    mk_buf_puts(out, ",\"nonce\":");
    gj_write_string(out, nonce, nlen);
    mk_buf_puts(out, ",\"payload\":");
    if (!payload)
        mk_buf_puts(out, "null");
    else if (gj_write_raw(out, payload, plen) != 0)
        return -1;
    mk_buf_putc(out, '}');
    if (out->err)
        return -1;
    char sig[89];
    mk_sign_b64(&m->keys, out->data, out->len, sig);
    if (corrupt) {
        /* inject-event ?corrupt=signature: one bit of the true signature
         * flipped, so it still looks right (88 characters of base64 of 64
         * bytes) and only a verification finds it false */
        unsigned char raw[67];
        if (mk_b64_decode(sig, 88, raw) != 64)
            return -1;
        raw[0] ^= 0x01;
        mk_b64_encode(raw, 64, sig);
    }
    out->len--; /* reopen the object for the signature */
    mk_buf_printf(out, ",\"signature\":\"%s\"}", sig);
    return out->err ? -1 : 0;
}

/* One SSE frame: id, event, data lines and the blank line. */
static void put_sse_frame(mk_buf *out, const char *id, size_t idlen, const char *type, size_t tlen,
                          const mk_buf *data)
{
    if (id) { /* NULL: no id line, so the client's last event id stays */
        mk_buf_puts(out, "id: ");
        mk_buf_append(out, id, idlen);
        mk_buf_putc(out, '\n');
    }
    mk_buf_puts(out, "event: ");
    mk_buf_append(out, type, tlen);
    mk_buf_puts(out, "\ndata: ");
    mk_buf_append(out, data->data, data->len);
    mk_buf_puts(out, "\n\n");
}


bool mk_capture_body(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp, mk_capture key,
                     const char *body, size_t blen)
{
    int cr = mk_state_capture(&S->state, key, body, blen);
    if (cr == -2)
        mk_err_store_full(req, resp, m->sessions.budget.max);
    else if (cr != 0)
        mk_err_internal(req, resp, "out of memory");
    return cr == 0;
}

bool mk_path_is_test(const char *path, size_t len)
{
    return (len >= 6 && memcmp(path, "/test/", 6) == 0) || (len == 5 && memcmp(path, "/test", 5) == 0);
}


static void respond_events(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp, const mk_match *mt)
{
    /* Initial node_state_updated event (docs/contract.md §5.2). The reference builds the
     * payload with Go's %q, which breaks JSON for control bytes and then
     * panics; we always emit valid JSON. */
    if (strcmp(req->method, "HEAD") != 0 && mk_sse_count(m->sse, NULL, -1) >= (int)m->cfg.sse_max_clients) {
        mk_sse_count_refused(m->sse, S->sse);
        resp->close = true;
        mk_err_streams_full(req, resp);
        return;
    }
    mk_buf payload, data;
    mk_buf_init(&payload, 0);
    mk_buf_init(&data, 0);
    mk_buf_puts(&payload, "{\"node_id\":");
    gj_write_string(&payload, mt->params[0].s, mt->params[0].len);
    mk_buf_putc(&payload, '}');
    gj_time now = gj_time_now();
    char nonce[48], id[32];
    int nlen = snprintf(nonce, sizeof nonce, "mock-nonce-%lld%09d", (long long)now.sec, (int)now.nsec);
    /* The reference sends the constant evt-mock-001 on every connection; the
     * first stream still gets that, later ones evt-mock-002, ... */
    bool head = strcmp(req->method, "HEAD") == 0; /* a HEAD opens no stream: no number */
    int idlen = S->strict /* numeric ids (seed 004): the newest event's, to resume after */
                    ? snprintf(id, sizeof id, "%llu", (unsigned long long)mk_sse_last_seq(S->sse))
                    : snprintf(id, sizeof id, "evt-mock-%03llu",
                               head ? 0ULL : (unsigned long long)mk_sse_next_stream(m->sse, S->sse));
    static const char type[] = "node_state_updated";
    if (payload.err ||
        render_event(m, type, sizeof type - 1, id, (size_t)idlen, &now, nonce, (size_t)nlen,
                     payload.data, payload.len, false, &data) != 0) {
        mk_err_internal(req, resp, "cannot render event");
        goto out;
    }
    mk_buf *o = &resp->out;
    resp->status = 200;
    resp->stream = strcmp(req->method, "HEAD") != 0;
    resp->stream_topic = MK_TOPIC_NODE;
    if (resp->stream)
        resp->stream_space = mk_sse_space_ref(S->sse);
    mk_buf_puts(o, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                   "Cache-Control: no-cache\r\nConnection: keep-alive\r\n");
    mk_put_region(req, o);
    mk_put_date(o);
    if (!resp->stream) {
        /* HEAD: the reference hangs until the client leaves; we answer
         * GET's head (no length: a stream has none, and Content-Length: 0
         * would say it is empty) and the response ends there, as every
         * answer to HEAD does (RFC 9112 §6.3), so the connection goes on. */
        mk_buf_puts(o, "\r\n");
        goto out;
    }
    /* The stream has no length: it is close-delimited (the reference uses
     * chunked framing; the event bytes are the same). */
    resp->close = true;
    mk_buf_puts(o, "\r\n");
    /* strict, resuming: the first frame has no id line, so the client's
     * cursor stays where it was until the replay (past it) moves it: the
     * ids it sees only rise, and a cut right after this frame loses nothing */
    const char *lei = S->strict ? mk_req_header(req, "Last-Event-ID") : NULL;
    put_sse_frame(o, lei && *lei ? NULL : id, (size_t)idlen, type, sizeof type - 1, &data);
    resp->stream_node = strndup(mt->params[0].s, mt->params[0].len); /* NULL: no label */
    if (S->strict)
        mk_node_id_lower(resp->stream_node); /* as the registry spells it */
out:
    mk_buf_free(&payload);
    mk_buf_free(&data);
}

/* inject-event's query options: adversarial events (docs/contract.md §5.3,
 * README "Stream faults and adversarial events"). None given: the
 * reference's behaviour, byte for byte. */
typedef struct inject_opts {
    bool raw;          /* raw=1: the posted envelope is the data, as sent */
    bool corrupt;      /* corrupt=signature */
    long long stale;   /* stale=SECONDS: issued_at that far in the past; 0: now */
    char *nonce;       /* nonce=repeat: the previous event's nonce (malloc'd) */
    size_t nonce_len;
    char *node;        /* node=ID: that node's streams only (malloc'd) */
} inject_opts;

/* Called on inject_options' refusals and again by mk_dispatch at the end:
 * the pointers are cleared so the second call frees nothing twice. */
static void inject_opts_free(inject_opts *o)
{
    free(o->nonce);
    free(o->node);
    o->nonce = NULL;
    o->node = NULL;
}

/* Reads inject-event's options; 0, or -1 with the message in err. Strict:
 * an unknown option, a value other than the documented ones, or options
 * that contradict each other are refused before anything is captured. */
static int inject_options(mockapi *m, mk_session *S, const char *q, inject_opts *o, char *err, size_t errlen)
{
    static const char *const known[] = {"raw", "corrupt", "stale", "nonce", "node"};
    *o = (inject_opts){0};
    if (!q || !*q)
        return 0;
    if (mk_query_check(q, known, sizeof known / sizeof *known, err, errlen) != 0)
        return -1;
    char v[1024];
    int r;
    if ((r = mk_query_get(q, "raw", v, sizeof v)) != 0) {
        if (r < 0 || strcmp(v, "1") != 0) {
            snprintf(err, errlen, "raw must be 1 (publish the envelope as sent), not \"%.40s\"",
                     r < 0 ? "(too long)" : v);
            return -1;
        }
        o->raw = true;
    }
    if ((r = mk_query_get(q, "corrupt", v, sizeof v)) != 0) {
        if (r < 0 || strcmp(v, "signature") != 0) {
            snprintf(err, errlen, "corrupt must be signature (the one thing it corrupts), not \"%.40s\"",
                     r < 0 ? "(too long)" : v);
            return -1;
        }
        o->corrupt = true;
    }
    if ((r = mk_query_get(q, "stale", v, sizeof v)) != 0 &&
        mk_query_int("stale", r < 0 ? "(too long)" : v, 1, 315360000, "a number of seconds", &o->stale,
                     err, errlen) != 0)
        return -1;
    if ((r = mk_query_get(q, "node", v, sizeof v)) != 0) {
        if (r < 0 || v[0] == '\0') {
            snprintf(err, errlen, "node must be a node id (of GET /v1/nodes/{id}/events)%s",
                     r < 0 ? ", at most 1023 bytes" : ", not empty");
            return -1;
        }
        if (!(o->node = strdup(v))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (S->strict)
            mk_node_id_lower(o->node); /* as the registry spells it */
    }
    if ((r = mk_query_get(q, "nonce", v, sizeof v)) != 0) {
        if (r < 0 || strcmp(v, "repeat") != 0) {
            snprintf(err, errlen, "nonce must be repeat (reuse the previous event's nonce), not \"%.40s\"",
                     r < 0 ? "(too long)" : v);
            inject_opts_free(o);
            return -1;
        }
        if (!(o->nonce = mk_sse_last_nonce(m->sse, S->sse, &o->nonce_len))) {
            snprintf(err, errlen, "nonce=repeat: no event was injected yet (since the start or the last "
                                  "reset), so there is no nonce to repeat");
            inject_opts_free(o);
            return -1;
        }
    }
    const char *with = o->corrupt ? "corrupt" : o->stale ? "stale" : o->nonce ? "nonce" : NULL;
    if (o->raw && with) {
        snprintf(err, errlen, "raw and %s contradict: raw=1 publishes the envelope as sent (not "
                              "re-stamped, not re-signed)", with);
        inject_opts_free(o);
        return -1;
    }
    return 0;
}

/* One SSE frame whose data is `data` as it is: a line of it per data:
 * line (a client joins them with LF, giving data back). */
static void put_sse_frame_lines(mk_buf *out, const char *id, size_t idlen, const char *type,
                                size_t tlen, const char *data, size_t dlen)
{
    mk_buf_puts(out, "id: ");
    mk_buf_append(out, id, idlen);
    mk_buf_puts(out, "\nevent: ");
    mk_buf_append(out, type, tlen);
    mk_buf_putc(out, '\n');
    for (;;) {
        const char *nl = memchr(data, '\n', dlen);
        size_t n = nl ? (size_t)(nl - data) : dlen;
        mk_buf_puts(out, "data: ");
        mk_buf_append(out, data, n);
        mk_buf_putc(out, '\n');
        if (!nl)
            break;
        data += n + 1;
        dlen -= n + 1;
    }
    mk_buf_putc(out, '\n');
}

/* inject-event: re-stamp issued_at, re-sign, count (docs/contract.md §5.3). Delivery to
 * stream clients belongs to the SSE hub. The options (o) make adversarial
 * events; body is the posted envelope (decompressed), for raw=1. */
static void respond_inject(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp, gt_value *env,
                           int counter, const inject_opts *o, const char *body, size_t blen)
{
    const char *type = "", *id = "", *nonce = "", *payload = NULL;
    size_t tlen = 0, idlen = 0, nlen = 0, plen = 0;
    gt_get_string(env, "event_type", &type, &tlen);
    gt_get_string(env, "event_id", &id, &idlen);
    gt_get_string(env, "nonce", &nonce, &nlen);
    gt_get_raw(env, "payload", &payload, &plen);
    /* id and type go into the stream's "id:" and "event:" lines as they are:
     * a CR or LF there would end the line and let the rest forge fields. */
    const char *bad = memchr(type, '\n', tlen) || memchr(type, '\r', tlen) ? "event_type"
                      : memchr(id, '\n', idlen) || memchr(id, '\r', idlen) ? "event_id"
                                                                            : NULL;
    if (bad) {
        char why[128];
        snprintf(why, sizeof why, "%s must not contain CR or LF (it would break the event stream's framing)",
                 bad);
        mk_err_invalid_body(req, resp, why);
        return;
    }
    if (o->raw && memchr(body, '\r', blen)) {
        /* LF splits the data over data: lines a client joins back; a CR
         * would end a line too, and come back as LF: not as sent */
        mk_err_invalid_body(req, resp, "raw=1: the body contains a CR, which an event stream cannot carry "
                                       "as it is (send it with LF line ends or none)");
        return;
    }
    if (o->nonce) {
        nonce = o->nonce;
        nlen = o->nonce_len;
    }
    gj_time now = gj_time_now();
    now.sec -= o->stale;
    mk_buf data;
    mk_buf_init(&data, 0);
    if (!o->raw &&
        render_event(m, type, tlen, id, idlen, &now, nonce, nlen, payload, plen, o->corrupt, &data) != 0) {
        mk_buf_free(&data);
        mk_err_internal(req, resp, "cannot render event");
        return;
    }
    /* An empty event_id would give an id line a client cannot resume from;
     * the frame then carries a generated one (the envelope is unchanged). */
    char gen[32];
    const char *sse_id = id;
    size_t sse_idlen = idlen;
    /* No hub on an instance that was never started (tests drive dispatch
     * without a transport): nobody to deliver to, nothing to replay. */
    uint64_t seq = mk_sse_next_seq(m->sse, S->sse);
    if (idlen == 0 || S->strict) { /* strict: the id line is the number (the envelope keeps event_id) */
        sse_idlen = (size_t)snprintf(gen, sizeof gen, S->strict ? "%llu" : "evt-%llu", (unsigned long long)seq);
        sse_id = gen;
    }
    mk_buf frame;
    mk_buf_init(&frame, 0);
    if (o->raw)
        put_sse_frame_lines(&frame, sse_id, sse_idlen, type, tlen, body, blen);
    else
        put_sse_frame(&frame, sse_id, sse_idlen, type, tlen, &data);
    /* counted once it is sure to go out: a frame the session's budget
     * cannot keep is refused (507) before anything moves */
    if (!frame.err && m->sse && !mk_sse_space_fits(S->sse, frame.len)) {
        mk_buf_free(&frame);
        mk_buf_free(&data);
        mk_err_store_full(req, resp, m->sessions.budget.max);
        return;
    }
    mk_state_count(&S->state, counter);
    if (!frame.err && m->sse) {
        if (mk_sse_publish(m->sse, S->sse, MK_TOPIC_NODE, o->node, sse_id, sse_idlen, frame.data, frame.len) < 0) {
            /* another publish took the room meanwhile */
            mk_buf_free(&frame);
            mk_buf_free(&data);
            mk_err_store_full(req, resp, m->sessions.budget.max);
            return;
        }
        mk_sse_set_nonce(m->sse, S->sse, nonce, nlen); /* for a later nonce=repeat */
    }
    mk_buf_free(&frame);
    mk_buf_free(&data);
    mk_respond_no_content(req, resp);
}

int mk_event_publish(mockapi *m, mk_session *S, const char *node, const char *type, const char *payload)
{
    if (!m->sse)
        return 0; /* no hub (dispatch driven without a transport): nobody to tell */
    gj_time now = gj_time_now();
    char nonce[48], id[40];
    int nlen = snprintf(nonce, sizeof nonce, "mock-nonce-%lld%09d", (long long)now.sec, (int)now.nsec);
    uint64_t seq = mk_sse_next_seq(m->sse, S->sse);
    int idlen = snprintf(id, sizeof id, "%llu", (unsigned long long)seq);
    mk_buf data, frame;
    mk_buf_init(&data, 0);
    mk_buf_init(&frame, 0);
    int rc = -1;
    if (render_event(m, type, strlen(type), id, (size_t)idlen, &now, nonce, (size_t)nlen, payload, strlen(payload),
                     false, &data) == 0) {
        put_sse_frame(&frame, id, (size_t)idlen, type, strlen(type), &data);
        if (!frame.err && mk_sse_space_fits(S->sse, frame.len) &&
            mk_sse_publish(m->sse, S->sse, MK_TOPIC_NODE, node, id, (size_t)idlen, frame.data, frame.len) >= 0)
            rc = 0;
    }
    mk_buf_free(&data);
    mk_buf_free(&frame);
    return rc;
}

/* Reads an optional integer parameter of a /test route: 0 (absent: def
 * kept, or the value), -1 with the message in err when malformed or out
 * of [min, max]. */
static int query_int(const char *q, const char *key, long long min, long long max, const char *what,
                     long long *v, char *err, size_t errlen)
{
    char buf[48];
    int r = mk_query_get(q, key, buf, sizeof buf);
    if (r == 0)
        return 0;
    if (r < 0) /* too long to be a number: refused with the other malformed values */
        snprintf(buf, sizeof buf, "(too long)");
    return mk_query_int(key, buf, min, max, what, v, err, errlen);
}

/* GET /test/clock; POST /test/clock?advance_ms=N: the session's clock
 * (session.h mk_session_now_ms), which only moves forward. */
static void respond_clock(mk_session *S, const mk_request *req, mk_response *resp, bool advance)
{
    if (advance) {
        static const char *const known[] = {"advance_ms"};
        char err[240];
        long long v = -1;
        if (mk_query_check(req->query, known, 1, err, sizeof err) != 0 ||
            query_int(req->query, "advance_ms", 0, MK_CLOCK_MAX_MS, "a number of milliseconds", &v, err,
                      sizeof err) != 0) {
            mk_err_bad_query(req, resp, err);
            return;
        }
        if (v < 0) {
            mk_err_bad_query(req, resp, "advance_ms is required: POST /test/clock?advance_ms=90000 moves this "
                                        "session's clock 90 s on");
            return;
        }
        if (mk_session_clock_advance(S, v) != 0) {
            snprintf(err, sizeof err, "the clock is %lld ms ahead already; with %lld more it would pass %lld "
                                      "(ten years): POST /test/reset sets it back",
                     (long long)atomic_load(&S->clock_offset_ms), v, MK_CLOCK_MAX_MS);
            mk_err_bad_query(req, resp, err);
            return;
        }
    }
    char at[32];
    mk_rfc3339_ms(mk_session_now_ms(S), at);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_printf(&b, "{\"now\":\"%s\",\"offset_ms\":%lld}\n", at, (long long)atomic_load(&S->clock_offset_ms));
    respond_buf(req, resp, 200, &b);
}

/* A /test route that takes no parameters refuses any. */
static bool no_query(const mk_request *req, mk_response *resp)
{
    char err[200];
    if (mk_query_check(req->query, NULL, 0, err, sizeof err) == 0)
        return true;
    mk_err_bad_query(req, resp, err);
    return false;
}

static void respond_sse_status(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_sse_status(m->sse, S->sse, &b);
    respond_buf(req, resp, 200, &b);
}

/* POST /test/sse/disconnect[?node=ID]: ends every stream (that node's)
 * with FIN, as a server restart would, so clients reconnect (and resume
 * with Last-Event-ID). {"disconnected":N}: how many it ended. */
static void respond_sse_disconnect(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    static const char *const known[] = {"node", "feed"};
    char err[200], node[1024];
    if (mk_query_check(req->query, known, 2, err, sizeof err) != 0) {
        mk_err_bad_query(req, resp, err);
        return;
    }
    char fv[8];
    int fr = mk_query_get(req->query, "feed", fv, sizeof fv);
    if (fr != 0) { /* the live page's streams instead (its resume, tested) */
        if (fr < 0 || strcmp(fv, "1") != 0 || mk_query_get(req->query, "node", node, sizeof node) != 0) {
            mk_err_bad_query(req, resp, "feed must be 1 (the live page's streams), without node");
            return;
        }
        char body[48];
        int n = snprintf(body, sizeof body, "{\"disconnected\":%d}\n", mk_sse_disconnect_feeds(m->sse, S->sse));
        mk_respond_json(req, resp, 200, body, (size_t)n);
        return;
    }
    int r = req->query ? mk_query_get(req->query, "node", node, sizeof node) : 0;
    if (S->strict && r == 1)
        mk_node_id_lower(node); /* as the registry spells it */
    if (r < 0 || (r == 1 && node[0] == '\0')) {
        mk_err_bad_query(req, resp, r < 0 ? "node must be a node id, at most 1023 bytes"
                                          : "node must be a node id, not empty");
        return;
    }
    char body[48];
    int n = snprintf(body, sizeof body, "{\"disconnected\":%d}\n",
                     m->sse ? mk_sse_disconnect(m->sse, S->sse, r == 1 ? node : NULL) : 0);
    mk_respond_json(req, resp, 200, body, (size_t)n);
}

/* GET /test/sse/wait?clients=N&timeout_ms=T: a server-side wait, so a test
 * can inject only once its streams are listening. 200 when reached, 408
 * when the deadline passed first; the body says how many are connected. */
/* For a no_wait request whose condition was just checked: not met and
 * before its deadline, the answer is "pending" (resp says until when) and
 * true is returned; otherwise the caller answers now. */
static bool still_waiting(const mk_request *req, mk_response *resp, bool met, unsigned long ms)
{
    int64_t until = req->wait_started_ms + (int64_t)ms;
    if (met || mk_mono_ms() >= until)
        return false;
    resp->pending = true;
    resp->wait_until_ms = until;
    return true;
}

struct mk_wait_slot {
    enum { SLOT_COND, SLOT_SSE } kind;
    mk_session *s;     /* the session it waits in (a reference) */
    bool parsed;       /* the fields below hold the query's condition */
    mk_wait_cond cond; /* SLOT_COND: parsed in place (its filter points into itself) */
    mk_jprogress prog;
    int sse_want;      /* SLOT_SSE: streams wanted, and the timeout */
    long long sse_ms;
};

/* The slot a pending wait keeps, made on its first check (NULL when the
 * transport keeps none, or memory is short: the wait then works from a
 * fresh parse each time). */
static mk_wait_slot *slot_of(mk_session *S, const mk_request *req, int kind)
{
    if (!req->no_wait || !req->wait_slot)
        return NULL;
    if (!*req->wait_slot) {
        mk_wait_slot *w = calloc(1, sizeof *w);
        if (!w)
            return NULL;
        w->kind = kind;
        w->s = mk_session_ref(S);
        *req->wait_slot = w;
        return w;
    }
    mk_wait_slot *w = *req->wait_slot;
    return (int)w->kind == kind && w->s == S ? w : NULL;
}

atomic_int *mk_wait_slot_waiters(mockapi *m, mk_wait_slot *w)
{
    return &(w ? w->s : m->def)->state.waiters;
}

static void respond_sse_wait(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    static const char *const keys[] = {"clients", "timeout_ms"};
    char err[200];
    long long want = 1, ms = 5000;
    mk_wait_slot *w = slot_of(S, req, SLOT_SSE);
    if (w && w->parsed) { /* a parked wait parsed it at its first check */
        want = w->sse_want;
        ms = w->sse_ms;
    } else if (mk_query_check(req->query, keys, 2, err, sizeof err) != 0 ||
               query_int(req->query, "clients", 0, 1000000, "a number of streams", &want, err, sizeof err) != 0 ||
               query_int(req->query, "timeout_ms", 0, MK_WAIT_MAX_MS, "a number of milliseconds", &ms, err,
                         sizeof err) != 0) {
        mk_err_bad_query(req, resp, err);
        return;
    } else if (w) {
        w->parsed = true;
        w->sse_want = (int)want;
        w->sse_ms = ms;
    }
    int got;
    if (req->no_wait) {
        got = mk_sse_count(m->sse, S->sse, MK_TOPIC_NODE);
        if (still_waiting(req, resp, got >= (int)want, (unsigned long)ms))
            return;
    } else {
        got = mk_sse_wait_clients(m->sse, S->sse, MK_TOPIC_NODE, (int)want, (unsigned)ms);
    }
    char body[96];
    int n = snprintf(body, sizeof body, "{\"connected\":%d,\"wanted\":%lld,\"reached\":%s}\n", got,
                     want, got >= (int)want ? "true" : "false");
    mk_respond_json(req, resp, got >= (int)want ? 200 : 408, body, (size_t)n);
}

/* ---- journal, waiting, reset -------------------------------------------- */

static const char *const wait_ops[] = {"eq", "ne", "gt", "gte", "lt", "lte"};

int mk_wait_cond_parse(const char *q, mk_wait_cond *c, char *err, size_t errlen)
{
    static const char *const keys[] = {"counter", "op", "value", "timeout_ms"};
    memset(c, 0, offsetof(mk_wait_cond, filter));
    c->counter = -1;
    c->op = MK_OP_GTE;
    c->value = 1;
    c->timeout_ms = 5000;
    if (mk_jfilter_parse_with(q, &c->filter, keys, 4, err, errlen) != 0)
        return -1;
    char v[80];
    int r = mk_query_get(q, "counter", v, sizeof v);
    if (r != 0) {
        c->counter = r > 0 ? mockapi_counter_by_name(v) : -1;
        if (c->counter < 0) {
            const char *names[MOCKAPI_COUNTER_COUNT];
            for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
                names[i] = mockapi_counter_name((mockapi_counter)i);
            const char *s = r > 0 ? mk_suggest(v, names, MOCKAPI_COUNTER_COUNT) : NULL;
            if (s)
                snprintf(err, errlen, "unknown counter \"%.60s\" (did you mean \"%s\"?)", v, s);
            else
                snprintf(err, errlen, "unknown counter \"%.60s\"", r > 0 ? v : "(too long)");
            return -1;
        }
        const mk_jfilter *f = &c->filter;
        if (f->method || f->path || f->route || f->status || f->since || f->include_test ||
            mk_query_get(q, "limit", v, sizeof v) != 0) {
            snprintf(err, errlen, "counter cannot be combined with journal filters (method, path, "
                     "route, status, since, limit, include_test)");
            return -1;
        }
    }
    r = mk_query_get(q, "op", v, sizeof v);
    if (r != 0) {
        int k = -1;
        for (int i = 0; r > 0 && i < 6; i++)
            if (strcmp(v, wait_ops[i]) == 0)
                k = i;
        if (k < 0) {
            const char *s = r > 0 ? mk_suggest(v, wait_ops, 6) : NULL;
            int n = snprintf(err, errlen, "op must be one of eq ne gt gte lt lte, not \"%.20s\"",
                             r > 0 ? v : "(too long)");
            if (s && n > 0 && (size_t)n < errlen)
                snprintf(err + n, errlen - (size_t)n, " (did you mean \"%s\"?)", s);
            return -1;
        }
        c->op = (mk_wait_op)k;
    }
    long long x;
    r = mk_query_get(q, "value", v, sizeof v);
    if (r != 0) {
        if (r < 0 || mk_query_int("value", v, LLONG_MIN, LLONG_MAX, "", &x, err, errlen) != 0) {
            snprintf(err, errlen, "value must be an integer, not \"%.40s\"", r > 0 ? v : "(too long)");
            return -1;
        }
        c->value = x;
    }
    x = c->timeout_ms;
    if (query_int(q, "timeout_ms", 0, MK_WAIT_MAX_MS, "a number of milliseconds", &x, err, errlen) != 0)
        return -1;
    c->timeout_ms = (unsigned)x;
    return 0;
}

static bool compare(mk_wait_op op, int64_t a, int64_t b)
{
    switch (op) {
    case MK_OP_EQ: return a == b;
    case MK_OP_NE: return a != b;
    case MK_OP_GT: return a > b;
    case MK_OP_GTE: return a >= b;
    case MK_OP_LT: return a < b;
    case MK_OP_LTE: return a <= b;
    }
    return false;
}

/* Checks c once, with no lock held while matching: a counter is an atomic
 * read; a journal count reads only the entries after p's last check. */
static bool wait_check(mk_session *S, const mk_wait_cond *c, mk_jprogress *p, int64_t *value)
{
    if (c->counter >= 0) {
        *value = mk_state_counter(&S->state, c->counter);
    } else {
        mk_state_journal_count(&S->state, &c->filter, p); /* out of memory: read again next time */
        *value = p->count;
    }
    return compare(c->op, *value, c->value);
}

bool mk_wait_poll(mockapi *m, mk_wait_slot *w)
{
    int64_t value;
    if (!w->parsed || atomic_load(&w->s->ended))
        return true; /* nothing known, or its session ended: let the request say */
    if (w->kind == SLOT_SSE)
        return mk_sse_count(m->sse, w->s->sse, MK_TOPIC_NODE) >= w->sse_want;
    return wait_check(w->s, &w->cond, &w->prog, &value);
}

void mk_wait_poll_many(mockapi *m, mk_wait_slot *const *w, size_t n, bool *met)
{
    enum { BATCH = 64 };
    const mk_jfilter *f[BATCH];
    mk_jprogress *p[BATCH];
    size_t at[BATCH];
    size_t k = 0;
    mk_session *S = NULL; /* the batch reads one session's journal: the first one's */
    for (size_t i = 0; i < n; i++) {
        mk_wait_slot *s = w[i];
        if (s->parsed && s->kind == SLOT_COND && s->cond.counter < 0 && k < BATCH &&
            (!S || s->s == S) && !atomic_load(&s->s->ended)) {
            S = s->s;
            f[k] = &s->cond.filter;
            p[k] = &s->prog;
            at[k++] = i;
            continue;
        }
        met[i] = mk_wait_poll(m, s); /* counters, streams, and any past the batch */
    }
    if (k == 0)
        return;
    bool read = mk_state_journal_count_many(&S->state, f, p, k) == 0;
    for (size_t j = 0; j < k; j++) /* out of memory: let each request check on its own */
        met[at[j]] = !read || compare(w[at[j]]->cond.op, p[j]->count, w[at[j]]->cond.value);
}

void mk_wait_slot_free(mk_wait_slot *w)
{
    if (w)
        mk_session_release(w->s);
    free(w);
}

bool mk_wait_cond_run(mk_session *S, const mk_wait_cond *c, unsigned timeout_ms, int64_t *value,
                      int64_t *waited_ms)
{
    mk_state *s = &S->state;
    int64_t start = mk_mono_ms();
    struct timespec dl = mk_deadline(timeout_ms);
    mk_jprogress p = {0};
    bool met;
    mk_state_waiter_begin(s); /* before the first check (state.h) */
    for (;;) {
        uint64_t seen = mk_state_changes(s);
        if ((met = wait_check(S, c, &p, value)))
            break;
        if (!mk_state_wait_change(s, seen, &dl)) {
            met = wait_check(S, c, &p, value);
            break;
        }
    }
    mk_state_waiter_end(s);
    if (waited_ms)
        *waited_ms = mk_mono_ms() - start;
    return met;
}


static void respond_requests(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    mk_jfilter f;
    char err[320];
    if (mk_jfilter_parse(req->query, &f, err, sizeof err) != 0) {
        mk_err_bad_query(req, resp, err);
        return;
    }
    /* matched outside the lock (state.h), rendered as the client reads
     * (respond.h mk_respond_entries, which takes the references) */
    mk_jselect sel;
    if (mk_state_journal_select(&S->state, &f, &sel) != 0) {
        mk_err_internal(req, resp, "out of memory");
        return;
    }
    mk_buf tail;
    mk_buf_init(&tail, 0);
    mk_jresult_close(&sel.st, &tail);
    mk_respond_entries(m, req, resp, sel.e, sel.n, tail.data, tail.len);
    mk_buf_free(&tail);
}

/* GET /test/wait: a server-side long poll (no client sleeps). */
static void respond_wait(mk_session *S, const mk_request *req, mk_response *resp)
{
    mk_wait_cond local;
    mk_wait_slot *w = slot_of(S, req, SLOT_COND);
    mk_wait_cond *c = w ? &w->cond : &local;
    char err[320];
    if (!(w && w->parsed)) { /* a parked wait parsed it at its first check */
        if (mk_wait_cond_parse(req->query, c, err, sizeof err) != 0) {
            mk_err_bad_query(req, resp, err);
            return;
        }
        if (w)
            w->parsed = true;
    }
    unsigned long ms = c->timeout_ms;
    int64_t value = 0, waited = 0;
    bool met;
    if (req->no_wait) {
        mk_jprogress scratch = {0};
        met = wait_check(S, c, w ? &w->prog : &scratch, &value);
        if (still_waiting(req, resp, met, ms))
            return;
        waited = mk_mono_ms() - req->wait_started_ms;
    } else {
        met = mk_wait_cond_run(S, c, (unsigned)ms, &value, &waited);
    }
    char body[128];
    int n = snprintf(body, sizeof body, "{\"met\":%s,\"value\":%lld,\"waited_ms\":%lld}\n",
                     met ? "true" : "false", (long long)value, (long long)waited);
    mk_respond_json(req, resp, met ? 200 : 408, body, (size_t)n);
}

/* GET /test/stats: the transport statistics (server.h MK_TSTATS), the
 * connections open now, and the output bound's figures. */
static void respond_stats(mockapi *m, const mk_request *req, mk_response *resp)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    char sep = '{';
#define MK_TSTAT_JSON_(name, what)                                                           \
    mk_buf_printf(&b, "%c\"" #name "\":%llu", sep,                                           \
                  (unsigned long long)atomic_load_explicit(&m->tstats.name, memory_order_relaxed)); \
    sep = ',';
    MK_TSTATS(MK_TSTAT_JSON_)
#undef MK_TSTAT_JSON_
    unsigned long long acc = atomic_load(&m->tstats.accepted), gone = atomic_load(&m->tstats.closed) +
                                                                    atomic_load(&m->tstats.streams);
    mk_buf_printf(&b, ",\"open\":%llu,\"out_held_bytes\":%zu,\"out_bound_bytes\":%zu}\n",
                  acc > gone ? acc - gone : 0, atomic_load(&m->out_held), m->cfg.max_buffered_bytes);
    respond_buf(req, resp, 200, &b);
}


/* GET /test/health (README "Readiness"): answered at all means ready, so
 * "ready" is always true; the rest is what a launcher logs. uptime counts
 * from mockapi_create (the default session's birth, wall clock); the
 * journal is the addressed session's, as /test/requests shows it. */
static void respond_health(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    static const char *const modes[] = {[MK_SESSIONS_ON] = "on", [MK_SESSIONS_OFF] = "off",
                                        [MK_SESSIONS_REQUIRED] = "required"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long up = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - m->def->created_ms;
    mk_jstats st;
    mk_state_journal_next(&S->state, UINT64_MAX, NULL, 0, &st); /* the figures only */
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_printf(&b,
                  "{\"ready\":true,\"version\":\"%s\",\"pid\":%ld,\"uptime_ms\":%lld,\"profile\":\"%s\","
                  "\"sessions\":{\"mode\":\"%s\",\"live\":%d},\"journal\":{\"entries\":%llu,\"max_entries\":%zu}}\n",
                  MOCKAPI_VERSION, (long)getpid(), up > 0 ? up : 0, S->strict ? "strict" : "reference",
                  modes[m->sessions.mode], atomic_load(&m->sessions.live),
                  (unsigned long long)(st.next_seq - st.oldest_seq), m->cfg.journal_max_entries);
    respond_buf(req, resp, 200, &b);
}

/* Where resp's head ends (past its blank line) in `out`, or out's length
 * when there is none. */
static size_t head_end(const char *p, size_t n)
{
    for (size_t i = 0; i + 3 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return i + 4;
    return n;
}

/* The region the journal records: the request's when regions are on, else
 * -1 (no "region" member). */
static int journal_region(const mockapi *m, const mk_request *req)
{
    return m->regions_on ? req->region : -1;
}

/* Records the finished exchange, before the transport writes it: the
 * request, and the response as built (head, body size) with the time since
 * t0_us (mk_mono_us). */
static void journal(mockapi *m, mk_session *S, const mk_request *req, const mk_response *resp, const mk_route *rt,
                    const char *body, size_t blen, bool gzipped, const char *rhead, size_t rlen,
                    int64_t t0_us, const mk_fault_decision *fd, mk_session_via via, const char *sid,
                    const mk_auth *auth)
{
    if (m->cfg.journal_max_entries == 0)
        return;
    size_t hlen = head_end(rhead, rlen);
    size_t rbody = rlen - hlen;
    if (resp->body) {
        rbody = resp->body->len;
    } else if (resp->prod.fill) {
        rbody = resp->prod_len;
    }
    mk_jentry_in in = {
        .listener = req->listener,
        .tls = req->kind == MK_LISTEN_TLS,
        .gzipped = gzipped,
        .status = resp->status,
        .counter = (rt && rt->counter >= 0 && resp->status < 400) ? rt->counter : -1,
        .route = mk_route_name(rt),
        .method = req->method,
        .path = req->path,
        .path_len = req->path_len,
        .query = req->query,
        .nheaders = req->nheaders,
        .headers = req->headers,
        .body = body,
        .body_len = blen,
        .raw_size = req->body_status == MK_BODY_TOO_LARGE ? req->refused_size : req->body_len,
        .rhead = rhead,
        .rhead_len = hlen,
        .rbody_size = rbody,
        .rbody = resp->body || resp->prod.fill ? NULL : rhead + hlen,
        .rbody_len = resp->body || resp->prod.fill ? 0 : rlen - hlen,
        .duration_us = t0_us ? mk_mono_us() - t0_us : 0,
        .has_region = journal_region(m, req) >= 0,
        .region = journal_region(m, req),
        .session = sid ? sid : S->id,
        .session_via = via == MK_VIA_DEFAULT ? NULL : mk_session_via_name(via),
    };
    if (auth && auth->known) {
        in.auth_class = mk_auth_class_name(auth->cls);
        in.auth_token = auth->token[0] ? auth->token : NULL;
        in.auth_node = auth->node[0] ? auth->node : NULL;
        in.auth_skipped = auth->skipped;
    }
    char wire[48];
    if (fd && fd->source != MK_FSRC_NONE) {
        mk_fault_wire_text(&fd->fault, wire, sizeof wire);
        /* a cut at or past the end of the body cuts nothing: the whole
         * answer went out (a HEAD's has no body), then the connection ended */
        size_t sent = strcmp(req->method, "HEAD") == 0 ? 0 : rbody;
        if (fd->fault.wire == MK_WIRE_PARTIAL && fd->fault.partial >= sent)
            snprintf(wire, sizeof wire, "response%s", fd->fault.partial_rst ? "+rst" : "");
        in.fault_source = mk_fault_source_name(fd->source);
        in.fault_rule = fd->rule;
        in.fault_spec = fd->spec;
        in.fault_wire = wire;
    }
    mk_jentry *e = mk_jentry_new(&in);
    if (e)
        mk_state_journal_append(&S->state, e);
}

static mk_session *select_session(mockapi *m, mk_request *rq, mk_session_via *via, mk_response *resp,
                                  char **qbuf, char *asked, size_t askedcap);

void mk_journal_refused(mockapi *m, const mk_request *req, int status)
{
    /* what the transport writes for it: the fixed refusal (errors.h) */
    mk_response resp = {.status = status};
    size_t len;
    const char *r = mk_refusal(status, &len);
    char *rr = req->region_header ? mk_refusal_region(status, req->region, &len) : NULL;
    if (rr)
        r = rr;
    else if (req->region_header)
        r = mk_refusal(status, &len); /* out of memory: the plain form */
    /* in the session it named (an unknown one: default, with no refusal
     * of its own: the client gets the transport's) */
    mk_request rq = *req;
    mk_session_via via;
    char *qbuf = NULL;
    mk_response scratch = {0};
    mk_buf_init(&scratch.out, 0);
    mk_session *S = select_session(m, &rq, &via, &scratch, &qbuf, NULL, 0);
    mk_response_dispose(&scratch);
    if (!S) {
        S = mk_session_ref(m->def);
        via = MK_VIA_DEFAULT;
    }
    journal(m, S, &rq, &resp, NULL, "", 0, false, r, len, 0, NULL, via, NULL, NULL);
    mk_session_release(S);
    free(qbuf);
    free(rr);
}

/* ---- the request path --------------------------------------------------- */

/* Content-Encoding names gzip exactly (one token, any case), as Go checks. */
static bool is_gzip(const mk_request *req)
{
    const char *ce = mk_req_header(req, "Content-Encoding");
    return ce && strcasecmp(ce, "gzip") == 0;
}

static bool local_auth_ok(const mk_session *S, const mk_request *req)
{
    const char *a = mk_req_header(req, "Authorization");
    return a && strncmp(a, "Bearer ", 7) == 0 && strcmp(a + 7, S->bearer) == 0;
}

/* Whether value (a header's) proves the admin token: compared as SHA-256
 * digests with sodium_memcmp, so neither the bytes nor the length of the
 * token leak through timing. */
static bool admin_token_is(const mockapi *m, const char *value, size_t len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)value, len);
    return sodium_memcmp(h, m->admin_hash, sizeof h) == 0;
}

/* The /test/ family: the raw path says so, or the route it matched does
 * (a percent-encoded "/%74est/..." matches the same routes). */
static bool is_admin_route(const mk_request *req, const mk_match *mt)
{
    if (req->path_len >= 6 && memcmp(req->path, "/test/", 6) == 0)
        return true;
    return mt->verdict == MK_MATCH && strncmp(mt->route->pattern, "/test/", 6) == 0;
}

/* The value of cookie `name` in a Cookie header (RFC 6265 §5.4 form:
 * "a=1; b=2"), percent-decoded (a page stores a token with characters a
 * cookie cannot hold that way) into out (cap bytes); its length, or -1
 * when absent, malformed or too long. */
static long cookie_value(const char *h, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t l = strcspn(p, ";");
        if (l > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t w = 0;
            for (size_t i = nl + 1; i < l; i++) {
                int c = (unsigned char)p[i];
                if (c == '%') {
                    int hi = i + 2 < l ? mk_hexval(p[i + 1]) : -1, lo = i + 2 < l ? mk_hexval(p[i + 2]) : -1;
                    if (hi < 0 || lo < 0)
                        return -1;
                    c = hi << 4 | lo;
                    i += 2;
                }
                if (w + 1 >= cap)
                    return -1;
                out[w++] = (char)c;
            }
            out[w] = '\0';
            return (long)w;
        }
        p += l;
    }
    return -1;
}

/* Whether req carries the admin token (m has one). */
static bool token_given(const mockapi *m, const mk_request *req)
{
    const char *a = mk_req_header(req, "Authorization");
    if (a && strncasecmp(a, "Bearer", 6) == 0 && (a[6] == ' ' || a[6] == '\t')) {
        a += 7;
        while (*a == ' ' || *a == '\t')
            a++;
        if (admin_token_is(m, a, strlen(a)))
            return true;
    }
    const char *x = mk_req_header(req, "X-Mockapi-Admin-Token");
    if (x && admin_token_is(m, x, strlen(x)))
        return true;
    /* the page's event stream cannot send a header: its cookie (a
     * browser's cross-site use of it is the guard's to refuse) */
    char c[1040]; /* a token is at most 1024 bytes */
    long cl = cookie_value(mk_req_header(req, "Cookie"), "mockapi_admin_token", c, sizeof c);
    return cl >= 0 && admin_token_is(m, c, (size_t)cl);
}

/* The one admin check (README "The admin token"): with a token, every
 * /test/ route on every listener needs it (401); without one, a TLS
 * listener serves /test/ only when bound to loopback (403). True: go on;
 * false: resp holds the refusal. */
static bool admin_allowed(const mockapi *m, const mk_request *req, mk_response *resp)
{
    if (m->has_admin) {
        if (token_given(m, req))
            return true;
        mk_err_admin_required(req, resp);
        return false;
    }
    if (req->kind == MK_LISTEN_TLS &&
        !(req->listener >= 0 && req->listener < m->nlisteners && m->listeners[req->listener].loopback)) {
        mk_err_admin_off(req, resp);
        return false;
    }
    return true;
}

/* The request's X-Mockapi-Fault, or NULL; *twice when it has more than
 * one (refused: which one was meant is not for the mock to guess). A scan
 * that compares a name only when its first byte and length fit (every
 * request pays it). */
static const char *fault_header(const mk_request *req, bool *twice)
{
    const char *v = NULL;
    *twice = false;
    for (int i = 0; i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        if ((n[0] | 0x20) == 'x' && strlen(n) == 15 && strcasecmp(n, "X-Mockapi-Fault") == 0) {
            if (v) {
                *twice = true;
                break;
            }
            v = req->headers[i].value;
        }
    }
    return v;
}

/* Decides the request's fault (faults.h) into *d and resp (faulted, fault,
 * fault_delay_ms). True when resp holds the whole answer: a malformed
 * header's 400, or an injected status (the route does not run). */
static bool fault_hook(mk_session *S, const mk_request *req, mk_response *resp, const mk_match *mt,
                       bool admin, mk_fault_decision *d)
{
    d->source = MK_FSRC_NONE;
    mk_faults *fs = &S->state.faults;
    bool twice;
    const char *h = fault_header(req, &twice);
    if (!h && atomic_load_explicit(&fs->nrules, memory_order_acquire) == 0)
        return false;
    char err[400];
    if (twice) {
        mk_err_bad_fault(req, resp, "X-Mockapi-Fault given more than once: send one spec (items "
                                    "separated by ';')");
        return true;
    }
    /* The control routes: no rule reaches them (a test can always reach
     * the mock), but a request's own header does (the TLS listener has no
     * other route a client can fault), except on the waiting routes, which
     * may run more than once for one request. */
    if (admin && !h)
        return false;
    if (admin && mt->verdict == MK_MATCH &&
        (mt->route->responder == MK_R_WAIT || mt->route->responder == MK_R_SSE_WAIT ||
         mt->route->responder == MK_R_FEED)) {
        mk_err_bad_fault(req, resp, "X-Mockapi-Fault does not apply to /test/wait, /test/sse/wait and /test/events");
        return true;
    }
    bool events = mt->verdict == MK_MATCH && mt->route->responder == MK_R_EVENTS;
    mk_fault hf;
    if (h) {
        char why[300];
        if (mk_fault_parse(h, strlen(h), &hf, why, sizeof why) != 0) {
            snprintf(err, sizeof err, "X-Mockapi-Fault: %s", why);
            mk_err_bad_fault(req, resp, err);
            return true;
        }
        if (mk_fault_is_stream(&hf) && !events) {
            mk_err_bad_fault(req, resp, "X-Mockapi-Fault: cut-after, cut-mid, stall and retry apply to "
                                        "event streams only (GET /v1/nodes/{id}/events)");
            return true;
        }
    }
    mk_fault_req q = {
        .route = mt->verdict == MK_MATCH ? (int)mt->route->name : -1,
        .events = events,
        .method = req->method,
        .path = req->path,
        .path_len = req->path_len,
        .region = req->region,
        .header_only = admin,
    };
    int r = mk_faults_decide(fs, h ? &hf : NULL, &q, d, err, sizeof err);
    if (r < 0) {
        mk_err_bad_fault(req, resp, err);
        return true;
    }
    if (r == 0)
        return false;
    resp->faulted = true;
    resp->fault = d->fault;
    resp->fault_delay_ms = d->delay_ms;
    if (d->fault.status) {
        mk_err_injected(req, resp, &d->fault, d->spec);
        return true;
    }
    return false;
}

void mk_request_target(mk_request *req, char *target)
{
    /* absolute-form ("http://host/p?q", RFC 9112 §3.2.2; http1.c let
     * through only "scheme://"): routed by its path, as Go's server does;
     * the authority plays no part, as Host plays none. An empty path is
     * "/" (RFC 9110 §4.2.3), written over the authority's last byte. */
    if (target[0] != '/' && target[0] != '*') {
        char *a = strstr(target, "://");
        if (a) {
            char *p = a + 3 + strcspn(a + 3, "/?");
            if (*p != '/')
                *--p = '/';
            target = p;
        }
    }
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    req->path = target;
    req->path_len = strlen(target);
    req->query = q;
    req->prefix_len = 0;
    if (req->path_len > 3 && memcmp(target, "/s/", 3) == 0) {
        size_t idl = strcspn(target + 3, "/");
        if (idl > 0)
            req->prefix_len = 3 + idl;
    }
}

/* ---- sessions (session.h) ------------------------------------------------ */

/* The /test/ routes a request without a session still reaches in
 * required mode: how a test makes, lists and ends sessions, what belongs
 * to the process (stats, regions, health), and the reset of every session. */
static bool session_free_route(const char *p, size_t n, const char *q)
{
    return (n >= 14 && memcmp(p, "/test/sessions", 14) == 0 && (n == 14 || p[14] == '/')) ||
           (n == 11 && memcmp(p, "/test/stats", 11) == 0) ||
           (n == 12 && memcmp(p, "/test/health", 12) == 0) || /* a launcher's probe knows no session */
           (n >= 13 && memcmp(p, "/test/regions", 13) == 0 && (n == 13 || p[13] == '/')) ||
           (n == 11 && memcmp(p, "/test/reset", 11) == 0 && q && strstr(q, "scope=all"));
}

/* Copies query q without its session= items into out (cap bytes): NULL
 * when nothing is left. *id and *idlen: the first session= value (raw);
 * *twice when there is more than one. */
static const char *query_without_session(const char *q, char *out, size_t cap, const char **id, size_t *idlen,
                                         bool *twice)
{
    size_t w = 0;
    *id = NULL;
    *idlen = 0;
    *twice = false;
    for (const char *p = q; p && *p;) {
        size_t n = strcspn(p, "&");
        if (n >= 8 && memcmp(p, "session=", 8) == 0) {
            if (!*id) {
                *id = p + 8;
                *idlen = n - 8;
            } else {
                *twice = true;
            }
        } else if (n > 0 && w + n + 1 < cap) {
            if (w)
                out[w++] = '&';
            memcpy(out + w, p, n);
            w += n;
        }
        p += n + (p[n] == '&');
    }
    out[w] = '\0';
    return w ? out : NULL;
}

static void no_such_session(const mk_request *req, mk_response *resp, const char *id, size_t n, const char *via)
{
    char msg[200], shown[72];
    snprintf(msg, sizeof msg, "no session \"%s\" (it ended, expired or never existed; named by %s)",
             mk_shown(id, n, shown, sizeof shown), via);
    mk_err_session(req, resp, 404, msg);
}

/* Finds the request's session (session.h, first match wins), strips a
 * /s/{id} prefix and a /test/ route's session= from rq. Returns a
 * reference, or NULL with resp holding the refusal (an unknown id: 404; no
 * session in required mode: 428). *qbuf (free it) keeps the query left. */
static mk_session *select_session(mockapi *m, mk_request *rq, mk_session_via *via, mk_response *resp,
                                  char **qbuf, char *asked, size_t askedcap)
{
    mk_session_table *t = &m->sessions;
    *via = MK_VIA_DEFAULT;
    if (t->mode == MK_SESSIONS_OFF)
        return mk_session_ref(m->def);
    mk_session *S = NULL;
    /* the prefix goes first whatever selects: the route is the rest */
    const char *pid = NULL;
    size_t pidl = 0;
    if (rq->prefix_len) {
        pid = rq->path + 3;
        pidl = rq->prefix_len - 3;
        if (rq->path_len == rq->prefix_len) {
            rq->path = "/";
            rq->path_len = 1;
        } else {
            rq->path += rq->prefix_len;
            rq->path_len -= rq->prefix_len;
        }
    }
    bool test = rq->path_len >= 6 && memcmp(rq->path, "/test/", 6) == 0;
    const char *qid = NULL;
    size_t qidl = 0;
    if (test && rq->query && strstr(rq->query, "session=")) {
        size_t cap = strlen(rq->query) + 1;
        if (!(*qbuf = malloc(cap))) {
            mk_err_internal(rq, resp, "out of memory");
            return NULL;
        }
        bool twice;
        rq->query = query_without_session(rq->query, *qbuf, cap, &qid, &qidl, &twice);
        if (twice) { /* as any parameter given twice: which one was meant is not known */
            *via = MK_VIA_QUERY;
            mk_err_bad_query(rq, resp, "query parameter \"session\" given more than once");
            return NULL;
        }
    }
    const char *h = NULL;
    for (int i = 0; i < rq->nheaders; i++) {
        const char *n = rq->headers[i].name;
        if ((n[0] | 0x20) == 'x' && strlen(n) == 17 && strcasecmp(n, "X-Mockapi-Session") == 0) {
            if (h) { /* which one was meant is not for the mock to guess (as X-Mockapi-Fault) */
                *via = MK_VIA_HEADER;
                mk_err_session(rq, resp, 400, "X-Mockapi-Session given more than once: send one session id");
                return NULL;
            }
            h = rq->headers[i].value;
        }
    }
    if (h) {
        if (!(S = mk_session_find(m, h, strlen(h)))) {
            if (asked)
                mk_shown(h, strlen(h), asked, askedcap);
            no_such_session(rq, resp, h, strlen(h), "X-Mockapi-Session");
        }
        *via = MK_VIA_HEADER;
        return S;
    }
    if (pid) {
        if (!(S = mk_session_find(m, pid, pidl))) {
            if (asked)
                mk_shown(pid, pidl, asked, askedcap);
            no_such_session(rq, resp, pid, pidl, "the path prefix /s/{id}/");
        }
        *via = MK_VIA_PREFIX;
        return S;
    }
    if (atomic_load_explicit(&t->live, memory_order_acquire) > 0) {
        const char *a = NULL;
        for (int i = 0; i < rq->nheaders; i++) {
            const char *n = rq->headers[i].name;
            if ((n[0] | 0x20) == 'a' && strcasecmp(n, "Authorization") == 0) {
                a = rq->headers[i].value;
                break;
            }
        }
        if (a && strncasecmp(a, "Bearer ", 7) == 0 && (S = mk_session_by_token(m, a + 7, strlen(a + 7)))) {
            *via = MK_VIA_TOKEN;
            return S;
        }
    }
    if (qid) {
        if (!(S = mk_session_find(m, qid, qidl))) {
            if (asked)
                mk_shown(qid, qidl, asked, askedcap);
            no_such_session(rq, resp, qid, qidl, "?session=");
        }
        *via = MK_VIA_QUERY;
        return S;
    }
    /* the page itself (not its feed) is free too: it asks for a session */
    if (t->mode == MK_SESSIONS_REQUIRED && !session_free_route(rq->path, rq->path_len, rq->query) &&
        !(rq->path_len == 6 && memcmp(rq->path, "/test/", 6) == 0) &&
        !(rq->path_len == 12 && memcmp(rq->path, "/test/ca.pem", 12) == 0) && !mk_page_wanted(rq)) {
        mk_err_session(rq, resp, 428,
                       "this server requires a session (-sessions required): send the header "
                       "X-Mockapi-Session: ID, or use the base URL /s/ID/, or a bearer token the session "
                       "minted (its node_secret_key or bearer_token); on /test/ routes also ?session=ID. "
                       "POST /test/sessions makes one");
        return NULL;
    }
    if (!test && atomic_load_explicit(&t->live, memory_order_relaxed) > 0)
        atomic_fetch_add_explicit(&t->unsessioned, 1, memory_order_relaxed);
    return mk_session_ref(m->def);
}

/* POST /test/sessions: 201 with the session (session.h mk_session_json). */
static void respond_session_add(mockapi *m, const mk_request *req, mk_response *resp)
{
    if (!no_query(req, resp))
        return;
    if (req->body_status == MK_BODY_TOO_LARGE) {
        mk_err_body_too_large(req, resp, m->cfg.max_body_bytes, false);
        return;
    }
    if (req->body_status == MK_BODY_READ_FAIL) {
        resp->close = true;
        mk_err_session(req, resp, 400, "the request body could not be read");
        return;
    }
    /* a gzip body is decoded, as on every body route (README "Request bodies") */
    const char *body = req->body ? req->body : "";
    size_t blen = req->body_len;
    mk_buf dec;
    mk_buf_init(&dec, 0);
    if (is_gzip(req)) {
        int gz = mk_gunzip(body, blen, m->cfg.max_decoded_bytes, &dec);
        if (gz == MK_GZ_TOO_BIG) {
            mk_err_body_too_large(req, resp, m->cfg.max_decoded_bytes, true);
            goto out;
        }
        if (gz != MK_GZ_OK) {
            mk_err_session(req, resp, gz == MK_GZ_BAD ? 400 : 500,
                           gz == MK_GZ_BAD ? "malformed gzip body" : "out of memory");
            goto out;
        }
        body = dec.data ? dec.data : "";
        blen = dec.len;
    }
    mk_session_opts o;
    char id[MK_SESSION_ID_MAX + 2], name[MK_SESSION_NAME_MAX + 2], err[600];
    if (mk_session_parse_body(body, blen, &o, id, sizeof id, name, sizeof name, err, sizeof err) != 0) {
        mk_err_session(req, resp, 400, err);
        goto out;
    }
    mk_session *s = NULL;
    int rc = mk_session_create(m, &o, &s, err, sizeof err);
    if (rc != MOCKAPI_OK) {
        int st = rc == MOCKAPI_EFULL ? 429 : rc == MK_SESSION_EBUDGET ? 507 : rc == MOCKAPI_EEXIST ? 409
                 : rc == MOCKAPI_ESTATE ? 409
                 : rc == MOCKAPI_ENOMEM ? 500 : 400;
        mk_err_session(req, resp, st, err);
        goto out;
    }
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_session_json(s, &b);
    mk_session_release(s);
    respond_buf(req, resp, 201, &b);
out:
    mk_buf_free(&dec);
}

static void respond_session_list(mockapi *m, const mk_request *req, mk_response *resp)
{
    if (!no_query(req, resp))
        return;
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_sessions_list_json(m, &b);
    respond_buf(req, resp, 200, &b);
}

static void respond_session_end(mockapi *m, const mk_request *req, mk_response *resp, const mk_match *mt)
{
    if (!no_query(req, resp))
        return;
    const char *id = mt->params[0].s;
    size_t n = mt->params[0].len;
    mk_session *s = mk_session_find(m, id, n);
    char err[200], shown[72];
    if (!s || s->is_default) {
        if (s)
            snprintf(err, sizeof err, "the session \"default\" never ends (POST /test/reset clears it)");
        else
            snprintf(err, sizeof err, "no session \"%s\" (it ended, expired or never existed)",
                     mk_shown(id, n, shown, sizeof shown));
        mk_err_session(req, resp, s ? 400 : 404, err);
        mk_session_release(s);
        return;
    }
    unsigned long long served = atomic_load(&s->requests);
    mk_session_end(m, s, false);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"ended\":");
    gj_write_string(&b, s->id, strlen(s->id));
    mk_buf_printf(&b, ",\"requests\":%llu}\n", served);
    mk_session_release(s);
    respond_buf(req, resp, 200, &b);
}

/* POST /test/reset[?scope=all|session]: its session, or every session. */
static void respond_reset(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp)
{
    static const char *const keys[] = {"scope"};
    char err[200], v[16];
    if (mk_query_check(req->query, keys, 1, err, sizeof err) != 0) {
        mk_err_bad_query(req, resp, err);
        return;
    }
    int r = mk_query_get(req->query, "scope", v, sizeof v);
    if (r != 0 && !(r > 0 && (strcmp(v, "all") == 0 || strcmp(v, "session") == 0))) {
        mk_err_bad_query(req, resp, "scope must be session (the default: this session only) or all (every "
                                    "session ends, default is reset)");
        return;
    }
    if (r > 0 && strcmp(v, "all") == 0)
        mk_sessions_reset_all(m);
    else
        mk_session_reset(m, S);
    mk_respond_no_content(req, resp);
}

void mk_dispatch(mockapi *m, const mk_request *req_in, mk_response *resp)
{
    int64_t t0_us = mk_mono_us(); /* the request's arrival, for the journal's duration */
    /* the request as routed: without a session prefix, or a /test/
     * route's session= (select_session) */
    mk_request rq = *req_in;
    const mk_request *req = &rq;
    rq.sent_path = req_in->path; /* before a session prefix is stripped: problem+json's instance */
    rq.sent_path_len = req_in->path_len;
    /* until a session is found, errors take the server's profile (a session
     * refused: 404, 428) */
    rq.problem = m->cfg.profile == MOCKAPI_PROFILE_STRICT && !mk_path_is_test(req_in->path, req_in->path_len);
    char *qbuf = NULL;
    mk_session_via via;
    char asked[MK_SESSION_ID_MAX + 8] = "";
    mk_session *S = select_session(m, &rq, &via, resp, &qbuf, asked, sizeof asked);
    if (!S) { /* refused (404, 428): journaled in default, where a test without its session looks,
               * with the id it named (404) */
        /* as sent (its prefix kept): no filter of default's mistakes it for one of its own */
        journal(m, m->def, req_in, resp, NULL, req->body ? req->body : "", req->body_len, false,
                resp->out.data ? resp->out.data : "", resp->out.len, t0_us, NULL, via, asked[0] ? asked : NULL, NULL);
        free(qbuf);
        return;
    }
    int64_t now_ms = t0_us / 1000;
    if (req->wait_slot && *req->wait_slot) /* a parked wait run again: the same request, counted once */
        atomic_store_explicit(&S->last_used_ms, now_ms, memory_order_relaxed);
    else
        mk_session_touch(S, now_ms);
    mk_sessions_sweep(m, now_ms);
    mk_match mt;
    mt.route = NULL;
    mt.verdict = MK_NOT_FOUND;
    mk_buf decoded;
    mk_buf_init(&decoded, 0);
    gt_value *val = NULL;
    mk_fault_decision fdec; /* the request's fault (fault_hook) */
    mk_auth auth = {0};     /* a strict request's credential (strict.h), for the journal */
    fdec.source = MK_FSRC_NONE;
    inject_opts iopt = {0}; /* inject-event's options */
    const char *jbody = req->body ? req->body : ""; /* what the journal records */
    size_t jlen = req->body_len;
    bool gzipped = false;

    if (req->path_len == 1 && req->path[0] == '*') {
        /* asterisk-form: Go's server answers OPTIONS * itself (200, an
         * empty body); any other method reaches its mux, which answers 400
         * with no body and closes */
        bool options = strcmp(req->method, "OPTIONS") == 0;
        resp->close = resp->close || !options;
        mk_respond(req, resp, &(mk_reply){.status = options ? 200 : 400});
        goto out;
    }
    /* a strict session answers its agent-facing routes' errors as problem+json */
    rq.problem = S->strict && !mk_path_is_test(req->path, req->path_len);
    if (rq.problem)
        mk_strict_classify(m, S, req, &auth);
    mk_verdict verdict = mk_route_match(req->kind, S->strict, req->method, req->path, req->path_len, req->query, &mt);
    if (req->kind == MK_LISTEN_HTTP && mk_page_wanted(req)) {
        /* a browser's navigation: the page, whatever /test/ page it named
         * (the page opens that panel); programs keep their JSON */
        if (verdict == MK_REDIRECT)
            free(mt.location);
        verdict = mk_route_match(req->kind, S->strict, "GET", "/test/", 6, NULL, &mt);
    }
    bool admin = is_admin_route(req, &mt);
    /* a browser opening the page without the token gets the page with no
     * data in it (401): its script reads the token from the URL fragment
     * (#token=T), which a browser never sends (page.h) */
    bool shell = admin && m->has_admin && mt.verdict == MK_MATCH && mt.route->responder == MK_R_PAGE &&
                 mk_page_wanted(req) && !token_given(m, req);
    if ((admin && !shell && !admin_allowed(m, req, resp)) || !mk_guard_browser(m, req, admin, resp) ||
        fault_hook(S, req, resp, &mt, admin, &fdec)) {
        if (verdict == MK_REDIRECT)
            free(mt.location);
        goto out;
    }
    switch (verdict) {
    case MK_MATCH:
        break;
    case MK_NOT_FOUND:
        mk_err_not_found(req, resp);
        goto out;
    case MK_NOT_ALLOWED:
        mk_err_method_not_allowed(req, resp, mt.allow);
        goto out;
    case MK_REDIRECT: {
        /* what select_session took out goes back in: the session prefix in
         * front, the query with its session=, so that the client that
         * follows the redirect stays in its session (not in default) */
        bool prefixed = rq.path != req_in->path && req_in->prefix_len;
        bool requery = rq.query != req_in->query && req_in->query;
        if (prefixed || requery) {
            size_t pl = prefixed ? req_in->prefix_len : 0;
            size_t ll = requery ? strcspn(mt.location, "?") : strlen(mt.location);
            size_t ql = requery ? strlen(req_in->query) : 0;
            char *loc = malloc(pl + ll + 1 + ql + 1);
            if (!loc) {
                free(mt.location);
                mk_err_internal(req, resp, "out of memory");
                goto out;
            }
            memcpy(loc, req_in->path, pl);
            memcpy(loc + pl, mt.location, ll);
            size_t w = pl + ll;
            if (requery) {
                loc[w++] = '?';
                memcpy(loc + w, req_in->query, ql);
                w += ql;
            }
            loc[w] = '\0';
            free(mt.location);
            mt.location = loc;
        }
        /* http.Redirect: an HTML body for GET only, Content-Type for GET/HEAD */
        bool get = strcmp(req->method, "GET") == 0, head = strcmp(req->method, "HEAD") == 0;
        mk_buf html;
        mk_buf_init(&html, 0);
        if (get || head) {
            mk_buf_puts(&html, "<a href=\"");
            for (const char *p = mt.location; *p; p++) {
                switch (*p) {
                case '&': mk_buf_puts(&html, "&amp;"); break;
                case '<': mk_buf_puts(&html, "&lt;"); break;
                case '>': mk_buf_puts(&html, "&gt;"); break;
                case '"': mk_buf_puts(&html, "&#34;"); break;
                case '\'': mk_buf_puts(&html, "&#39;"); break;
                default: mk_buf_putc(&html, *p);
                }
            }
            mk_buf_puts(&html, "\">Moved Permanently</a>.\n\n");
        }
        mk_respond(req, resp, &(mk_reply){.status = 301, .ctype = (get || head) ? MK_CT_HTML : NULL,
                                    .body = html.data, .len = get ? html.len : 0,
                                    .extra = {{"Location", mt.location}}});
        mk_buf_free(&html);
        free(mt.location);
        goto out;
    }
    case MK_BAD_REQUEST:
        mk_err_bad_request(req, resp);
        goto out;
    }

    const mk_route *rt = mt.route;

    bool strict_done = false; /* the strict profile ran the route's checks */
    if (S->strict && mk_strict_handles(rt)) {
        bool skip = fdec.source != MK_FSRC_NONE && fdec.fault.skip_auth;
        if (mk_strict_run(m, S, req, resp, &mt, &auth, skip, &decoded, &jbody, &jlen, &gzipped) ==
            MK_STRICT_ANSWERED)
            goto out;
        strict_done = true;
    } else if (auth.known && fdec.source != MK_FSRC_NONE && fdec.fault.skip_auth) {
        auth.skipped = true; /* a route with no credential to check: nothing skipped, but asked */
    }

    if (rt->responder == MK_R_INJECT) { /* a bad option changes nothing: before the capture */
        char why[300];
        if (inject_options(m, S, req->query, &iopt, why, sizeof why) != 0) {
            mk_err_bad_query(req, resp, why);
            goto out;
        }
    }

    /* Body rules: auth, then gunzip + capture, then typed decode. */
    if (strict_done) {
        /* checked and captured by the strict profile */
    } else if (rt->body == MK_BODY_LOCAL && !auth.skipped && !local_auth_ok(S, req)) {
        /* (strict's skip-auth skips this credential check too, as the journal says) */
        mk_err_unauthorized(req, resp);
        goto out;
    } else if (rt->body != MK_BODY_NONE) {
        if (req->body_status == MK_BODY_TOO_LARGE) {
            mk_err_body_too_large(req, resp, m->cfg.max_body_bytes, false);
            goto out;
        }
        if (req->body_status == MK_BODY_READ_FAIL) {
            resp->close = true;
            mk_err_invalid_body(req, resp, "the request body could not be read");
            goto out;
        }
        const char *body = req->body ? req->body : "";
        size_t blen = req->body_len;
        if (is_gzip(req)) {
            int gz = mk_gunzip(body, blen, m->cfg.max_decoded_bytes, &decoded);
            if (gz == MK_GZ_TOO_BIG) {
                mk_err_body_too_large(req, resp, m->cfg.max_decoded_bytes, true);
                goto out;
            }
            if (gz != MK_GZ_OK) {
                mk_err_invalid_body(req, resp, gz == MK_GZ_BAD ? "malformed gzip body" : "out of memory");
                goto out;
            }
            body = decoded.data ? decoded.data : "";
            blen = decoded.len;
            jbody = body;
            jlen = blen;
            gzipped = true;
        }
        /* The reference captures before validating (docs/contract.md §2.3). */
        if (!mk_capture_body(m, S, req, resp, rt->capture, body, blen))
            goto out;
        if (rt->body == MK_BODY_TYPED) {
            char why[256];
            if (gt_decode(rt->type, body, blen, &val, why, sizeof why) != 0) {
                mk_err_invalid_body(req, resp, why);
                goto out;
            }
        }
    }

    /* Counter timing: body routes count after a successful body step, GET
     * routes before answering; inject counts once the event is signed. */
    if (rt->counter >= 0 && rt->responder != MK_R_INJECT)
        mk_state_count(&S->state, rt->counter);

    mk_blob *b = NULL;
    switch (rt->responder) {
    case MK_R_PING:
        mk_respond_json(req, resp, 200, "{}\n", 3);
        break;
    case MK_R_REGISTER:
        mk_respond_blob(req, resp, MK_CT_JSON, S->register_body);
        break;
    case MK_R_HEARTBEAT:
        b = mk_state_get_heartbeat(&S->state);
        mk_respond_blob(req, resp, MK_CT_JSON, b);
        break;
    case MK_R_STATE:
        b = mk_state_get_state(&S->state);
        mk_respond_blob(req, resp, MK_CT_JSON, b);
        break;
    case MK_R_METADATA:
        mk_respond_blob(req, resp, MK_CT_JSON, m->fx.metadata_body);
        break;
    case MK_R_KEY_ROTATE:
        mk_respond_blob(req, resp, MK_CT_JSON, m->fx.key_rotate_body);
        break;
    case MK_R_ENDPOINT:
        mk_respond_blob(req, resp, MK_CT_JSON, m->fx.endpoint_body);
        break;
    case MK_R_ARTIFACT:
        mk_respond_blob(req, resp, MK_CT_OCTET, m->fx.artifact_body);
        break;
    case MK_R_SECRETS:
        respond_secret(S, req, resp, &mt, &auth);
        break;
    case MK_R_ASSERTIONS:
        respond_assertions(S, req, resp);
        break;
    case MK_R_LAST_REQUEST:
        respond_last_request(m, S, req, resp, &mt);
        break;
    case MK_R_NO_CONTENT:
        mk_respond_no_content(req, resp);
        break;
    case MK_R_EVENTS:
        respond_events(m, S, req, resp, &mt);
        break;
    case MK_R_SSE_STATUS:
        if (no_query(req, resp))
            respond_sse_status(m, S, req, resp);
        break;
    case MK_R_SSE_WAIT:
        respond_sse_wait(m, S, req, resp);
        break;
    case MK_R_SSE_DISCONNECT:
        respond_sse_disconnect(m, S, req, resp);
        break;
    case MK_R_REQUESTS:
        respond_requests(m, S, req, resp);
        break;
    case MK_R_RESET:
        respond_reset(m, S, req, resp);
        break;
    case MK_R_SESSIONS_ADD:
        respond_session_add(m, req, resp);
        break;
    case MK_R_SESSIONS_LIST:
        respond_session_list(m, req, resp);
        break;
    case MK_R_SESSIONS_END:
        respond_session_end(m, req, resp, &mt);
        break;
    case MK_R_WAIT:
        respond_wait(S, req, resp);
        break;
    case MK_R_STATS:
        if (no_query(req, resp))
            respond_stats(m, req, resp);
        break;
    case MK_R_REGIONS:
        if (no_query(req, resp))
            mk_respond_regions(m, req, resp);
        break;
    case MK_R_REGION_DOWN:
    case MK_R_REGION_UP:
        if (no_query(req, resp))
            mk_respond_region_set(m, req, resp, mt.params[0].s, rt->responder == MK_R_REGION_UP);
        break;
    case MK_R_SET_STATE:
    case MK_R_SET_HEARTBEAT: {
        const gt_type *t = rt->responder == MK_R_SET_STATE ? &gt_StateResponse : &gt_HeartbeatResponse;
        mk_buf enc;
        mk_buf_init(&enc, 0);
        if (gt_encode(t, val, &enc) != 0 || mk_buf_putc(&enc, '\n') != 0 ||
            !(b = mk_blob_new(enc.data, enc.len))) {
            mk_buf_free(&enc);
            /* Go's json.Encoder fails the same way on GET later; we refuse now */
            mk_err_invalid_body(req, resp, "the value cannot be encoded back (time outside years 0-9999?)");
            break;
        }
        mk_buf_free(&enc);
        int sr = rt->responder == MK_R_SET_STATE ? mk_state_set_state(&S->state, b)
                                                 : mk_state_set_heartbeat(&S->state, b);
        b = NULL; /* ownership moved to the state object */
        if (sr == -2)
            mk_err_store_full(req, resp, m->sessions.budget.max);
        else
            mk_respond_no_content(req, resp);
        break;
    }
    case MK_R_INJECT:
        respond_inject(m, S, req, resp, val, rt->counter, &iopt, jbody, jlen);
        break;
    case MK_R_METHOD_NOT_ALLOWED_JSON:
        mk_err_method_not_allowed_json(req, resp);
        break;
    case MK_R_FAULTS_ADD:
        respond_fault_add(m, S, req, resp);
        break;
    case MK_R_FAULTS_LIST:
        respond_fault_list(S, req, resp);
        break;
    case MK_R_FAULTS_DELETE:
        respond_fault_delete(S, req, resp, &mt);
        break;
    case MK_R_FAULTS_CLEAR:
        respond_fault_clear(S, req, resp);
        break;
    case MK_R_PAGE:
        mk_respond_page(shell ? NULL : S, S, req, resp);
        break;
    case MK_R_FEED:
        mk_respond_feed(m, S, req, resp);
        break;
    case MK_R_CA:
        if (no_query(req, resp))
            mk_respond_ca(m, req, resp);
        break;
    case MK_R_CAPTURES:
        if (no_query(req, resp))
            respond_captures(S, req, resp);
        break;
    case MK_R_CLOCK_GET:
        if (no_query(req, resp))
            respond_clock(S, req, resp, false);
        break;
    case MK_R_CLOCK_ADVANCE:
        respond_clock(S, req, resp, true);
        break;
    case MK_R_NODES:
        if (no_query(req, resp)) {
            mk_buf nb;
            mk_buf_init(&nb, 0);
            mk_nodes_list_json(S->nodes, mk_session_now_ms(S), &nb);
            if (nb.err)
                mk_err_internal(req, resp, "out of memory");
            else
                mk_respond_json_admitted(m, req, resp, &nb);
            mk_buf_free(&nb);
        }
        break;
    case MK_R_HEALTH:
        if (no_query(req, resp))
            respond_health(m, S, req, resp);
        break;
    case MK_R_REACHABILITY: /* strict-only routes: mk_strict_run answered */
    case MK_R_ROTATE_TRIGGER:
    case MK_R_ROTATE_PREVIEW:
    case MK_R_TOPOLOGY:
        mk_err_internal(req, resp, "a strict route outside the strict profile");
        break;
    }
    mk_blob_unref(b);
out:
    if (resp->out.err) {
        /* out of memory while building: a minimal, fixed answer (the
         * transport's), journaled as what the client gets */
        mk_response_dispose(resp);
        mk_buf_init(&resp->out, 0);
        resp->status = 500;
        resp->close = true;
        resp->stream = false;
    }
    if (!resp->pending) { /* journaled once, when it is answered */
        const char *rh = resp->out.data ? resp->out.data : "";
        size_t rl = resp->out.len;
        if (rl == 0) /* nothing built (out of memory): the transport's fixed 500 */
            rh = mk_refusal(resp->status, &rl);
        /* a wait that was parked: its time counts from when it began */
        int64_t t0 = t0_us;
        if (req->no_wait && mt.verdict == MK_MATCH &&
            (mt.route->responder == MK_R_WAIT || mt.route->responder == MK_R_SSE_WAIT) &&
            req->wait_started_ms > 0 && req->wait_started_ms * 1000 < t0)
            t0 = req->wait_started_ms * 1000;
        journal(m, S, req, resp, mt.verdict == MK_MATCH ? mt.route : NULL, jbody, jlen, gzipped, rh, rl,
                t0, &fdec, via, NULL, &auth);
    }
    gt_value_free(val);
    inject_opts_free(&iopt);
    mk_buf_free(&decoded);
    mk_session_release(S);
    free(qbuf);
}
