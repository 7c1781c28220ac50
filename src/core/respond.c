/* respond.c: see respond.h. Also the bound on buffered output as the
 * request path sees it (mk_out_admit) and the journal listing's producer. */
#include "respond.h"

#include "sse.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "errors.h"

/* Go's http.StatusText for every status the mock can answer: its own, and
 * the 4xx/5xx an injected fault (status=) may ask for. Others (a 4xx/5xx
 * Go has no text for) get Go's "status code N" form from put_head. */
static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return NULL;
    }
}

const char *mk_status_text(int status)
{
    return status_text(status);
}

/* "Date: Mon, 02 Jan 2006 15:04:05 GMT", formatted once a second per thread. */
void mk_put_date(mk_buf *out)
{
    static _Thread_local time_t last;
    static _Thread_local char line[64];
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        last = now;
    }
    mk_buf_puts(out, line);
}

void mk_put_region(const mk_request *req, mk_buf *out)
{
    if (!req->region_header)
        return;
    mk_buf_puts(out, "X-Mockapi-Region: ");
    mk_buf_putu(out, (unsigned long long)req->region);
    mk_buf_puts(out, "\r\n");
}

/* Header values we echo must not carry CR/LF (response splitting). */
static void put_header(mk_buf *out, const char *name, const char *value)
{
    mk_buf_puts(out, name);
    mk_buf_puts(out, ": ");
    for (const char *p = value; *p; p++)
        mk_buf_putc(out, (*p == '\r' || *p == '\n') ? ' ' : *p);
    mk_buf_puts(out, "\r\n");
}

/* The status line and headers, with Content-Length r->len unless
 * no_length, and the blank line. */
static void put_head(const mk_request *req, mk_response *resp, const mk_reply *r)
{
    mk_buf *out = &resp->out;
    resp->status = r->status;
    /* no printf here: its cost showed in every request's profile */
    mk_buf_puts(out, "HTTP/1.1 ");
    mk_buf_putu(out, (unsigned long long)r->status);
    mk_buf_putc(out, ' ');
    const char *text = status_text(r->status);
    if (text) {
        mk_buf_puts(out, text);
    } else {
        mk_buf_puts(out, "status code ");
        mk_buf_putu(out, (unsigned long long)r->status);
    }
    mk_buf_puts(out, "\r\n");
    if (r->ctype) { /* a constant of ours: no CR/LF to strip */
        mk_buf_puts(out, "Content-Type: ");
        mk_buf_puts(out, r->ctype);
        mk_buf_puts(out, "\r\n");
    }
    for (int i = 0; i < 4 && r->extra[i][0]; i++)
        put_header(out, r->extra[i][0], r->extra[i][1]);
    mk_put_region(req, out);
    mk_put_date(out);
    if (resp->close)
        mk_buf_puts(out, "Connection: close\r\n");
    if (!r->no_length) {
        mk_buf_puts(out, "Content-Length: ");
        mk_buf_putu(out, r->len);
        mk_buf_puts(out, "\r\n");
    }
    mk_buf_puts(out, "\r\n");
}

static bool is_head(const mk_request *req)
{
    return strcmp(req->method, "HEAD") == 0;
}

void mk_respond(const mk_request *req, mk_response *resp, const mk_reply *r)
{
    put_head(req, resp, r);
    if (!r->no_length && !is_head(req))
        mk_buf_append(&resp->out, r->body, r->len);
}

void mk_respond_json(const mk_request *req, mk_response *resp, int status, const char *body,
                     size_t len)
{
    mk_respond(req, resp, &(mk_reply){.status = status, .ctype = MK_CT_JSON, .body = body, .len = len});
}

void mk_respond_blob(const mk_request *req, mk_response *resp, const char *ctype, mk_blob *b)
{
    mk_reply r = {.status = 200, .ctype = ctype, .body = b->data, .len = b->len};
    if (b->len < MK_BY_REF_MIN || is_head(req)) {
        mk_respond(req, resp, &r);
        return;
    }
    put_head(req, resp, &r);
    resp->body = mk_blob_ref(b);
}

void mk_respond_json_admitted(mockapi *m, const mk_request *req, mk_response *resp, const mk_buf *b)
{
    if (b->len < MK_BY_REF_MIN || is_head(req)) {
        mk_respond_json(req, resp, 200, b->data ? b->data : "", b->len);
        return;
    }
    mk_blob *blob = mk_blob_new(b->data, b->len);
    if (!blob) {
        resp->out.err = 1; /* dispatch answers the transport's fixed 500 */
        return;
    }
    if (mk_out_admit(m, req, resp, mk_blob_cost(blob)))
        mk_respond_blob(req, resp, MK_CT_JSON, blob);
    mk_blob_unref(blob);
}

void mk_respond_produced(const mk_request *req, mk_response *resp, int status, const char *ctype,
                         size_t len, mk_producer prod)
{
    put_head(req, resp, &(mk_reply){.status = status, .ctype = ctype, .len = len});
    if (is_head(req) || len == 0) {
        if (prod.free)
            prod.free(prod.arg);
        return;
    }
    resp->prod = prod;
    resp->prod_len = len;
}

/* ---- the bound on buffered output --------------------------------------- */

size_t mk_blob_cost(mk_blob *b)
{
    return atomic_load_explicit(&b->writers, memory_order_relaxed) > 0 ? 0 : b->len;
}

bool mk_out_admit(mockapi *m, const mk_request *req, mk_response *resp, size_t want)
{
    size_t held = atomic_load_explicit(&m->out_held, memory_order_relaxed);
    size_t bound = m->cfg.max_buffered_bytes;
    if (want < MK_LARGE_BODY || held == 0 || (held < bound && want <= bound - held))
        return true;
    mk_tstat_inc(m, out_refused);
    long long now = mk_mono_ms(), last = atomic_load(&m->out_refused_logged);
    if (now - last >= 1000 && atomic_compare_exchange_strong(&m->out_refused_logged, &last, now))
        mk_log(m, "busy: %zu bytes held for clients that do not read (bound %zu); a response of "
                  "%zu bytes refused with 503 (%llu so far)",
               held, bound, want, (unsigned long long)atomic_load(&m->tstats.out_refused));
    mk_err_output_full(req, resp, held, want, bound);
    return false;
}

/* ---- the journal listing, in pieces ------------------------------------- */

typedef struct listing {
    mk_jentry **hits; /* references not rendered yet: [next, n) */
    size_t n, next;
    bool opened;      /* the '{"entries":[' went out */
    bool closed;      /* the tail went out */
    mk_buf stage;     /* rendered bytes not handed out yet: [stage_off, len) */
    size_t stage_off;
    char *tail;
    size_t tail_len;
} listing;

static const char entries_open[] = MK_JRESULT_OPEN;

/* The part after the last: one entry (with its comma), or the tail. false
 * when nothing is left. */
static bool listing_stage(listing *l)
{
    /* one entry's text may be large (a body of megabytes, escaped): a big
     * stage buffer is not kept for the next, smaller one */
    if (l->stage.cap > 4 * MK_LARGE_BODY)
        mk_buf_free(&l->stage);
    mk_buf_reset(&l->stage);
    l->stage_off = 0;
    if (!l->opened) {
        l->opened = true;
        mk_buf_append(&l->stage, entries_open, sizeof entries_open - 1);
    } else if (l->next < l->n) {
        if (l->next > 0)
            mk_buf_putc(&l->stage, ',');
        mk_jentry_json(l->hits[l->next], &l->stage);
        mk_jentry_unref(l->hits[l->next]); /* memory goes back as the client reads */
        l->hits[l->next++] = NULL;
    } else if (!l->closed) {
        l->closed = true;
        mk_buf_append(&l->stage, l->tail, l->tail_len);
    } else {
        return false;
    }
    return true;
}

static long listing_fill(void *arg, char *p, size_t cap)
{
    listing *l = arg;
    size_t w = 0;
    while (w < cap) {
        if (l->stage_off == l->stage.len && !listing_stage(l))
            break;
        if (l->stage.err)
            return -1;
        size_t k = l->stage.len - l->stage_off;
        if (k > cap - w)
            k = cap - w;
        memcpy(p + w, l->stage.data + l->stage_off, k);
        l->stage_off += k;
        w += k;
    }
    return (long)w;
}

static size_t listing_held(void *arg)
{
    return ((listing *)arg)->stage.cap;
}

static void listing_free(void *arg)
{
    listing *l = arg;
    if (!l)
        return;
    for (size_t i = l->next; i < l->n; i++)
        mk_jentry_unref(l->hits[i]);
    free(l->hits);
    free(l->tail);
    mk_buf_free(&l->stage);
    free(l);
}

void mk_respond_entries(mockapi *m, const mk_request *req, mk_response *resp, mk_jentry **hits,
                        size_t n, const char *tail, size_t tail_len)
{
    /* first pass: the length; the text itself is kept only while small */
    mk_buf b, one;
    mk_buf_init(&b, 0);
    mk_buf_init(&one, 0);
    size_t len = sizeof entries_open - 1 + tail_len;
    mk_buf_append(&b, entries_open, sizeof entries_open - 1);
    bool whole = true;
    size_t biggest = 0; /* the longest entry's text: what the producer's stage buffer will hold */
    for (size_t i = 0; i < n; i++) {
        if (!whole) {
            /* past the first piece only the length counts: the bodies (most
             * of the bytes) are measured, not written */
            size_t el = mk_jentry_json_len(hits[i], &one);
            if (el > biggest)
                biggest = el;
            len += (i ? 1 : 0) + el;
            continue;
        }
        size_t before = b.len;
        if (i)
            mk_buf_putc(&b, ',');
        mk_jentry_json(hits[i], &b);
        len += b.len - before;
        if (b.len >= MK_LARGE_BODY) {
            whole = false;
            mk_buf_free(&b);
        }
    }
    listing *l = NULL;
    if (b.err || one.err)
        goto oom;
    if (whole) {
        mk_buf_append(&b, tail, tail_len);
        if (b.err)
            goto oom;
        mk_respond_json(req, resp, 200, b.data, b.len);
        goto out;
    }
    /* the producer holds one entry's text at a time (in a buffer grown by
     * doubling from 256 bytes), and the loop a piece */
    size_t stage_cap = 256;
    while (stage_cap <= biggest + 1 && stage_cap < SIZE_MAX / 2)
        stage_cap *= 2;
    if (!mk_out_admit(m, req, resp, MK_LARGE_BODY + stage_cap))
        goto out;
    l = calloc(1, sizeof *l);
    if (!l || !(l->tail = malloc(tail_len + 1)))
        goto oom;
    memcpy(l->tail, tail, tail_len);
    l->tail_len = tail_len;
    l->hits = hits;
    l->n = n;
    hits = NULL;
    mk_buf_init(&l->stage, 0);
    mk_respond_produced(req, resp, 200, MK_CT_JSON, len,
                        (mk_producer){.fill = listing_fill, .held = listing_held,
                                      .free = listing_free, .arg = l});
    l = NULL;
    goto out;
oom:
    mk_err_internal(req, resp, "out of memory");
out:
    free(l ? l->tail : NULL);
    free(l);
    if (hits) {
        for (size_t i = 0; i < n; i++)
            mk_jentry_unref(hits[i]);
        free(hits);
    }
    mk_buf_free(&b);
    mk_buf_free(&one);
}

/* ---- callers without a socket ------------------------------------------- */

void mk_response_flatten(mk_response *resp)
{
    if (resp->body) {
        mk_buf_append(&resp->out, resp->body->data, resp->body->len);
        mk_blob_unref(resp->body);
        resp->body = NULL;
    }
    if (resp->prod.fill) {
        char piece[16384];
        long k;
        while ((k = resp->prod.fill(resp->prod.arg, piece, sizeof piece)) > 0)
            mk_buf_append(&resp->out, piece, (size_t)k);
        if (k < 0)
            resp->out.err = MK_BUF_ENOMEM;
    }
    if (resp->prod.free)
        resp->prod.free(resp->prod.arg);
    resp->prod = (mk_producer){0};
}

void mk_response_dispose(mk_response *resp)
{
    mk_buf_free(&resp->out);
    mk_blob_unref(resp->body);
    resp->body = NULL;
    if (resp->prod.free)
        resp->prod.free(resp->prod.arg);
    resp->prod = (mk_producer){0};
    mk_sse_space_unref(resp->stream_space);
    resp->stream_space = NULL;
    if (resp->stream_src.release) /* a feed never handed over */
        resp->stream_src.release(resp->stream_src.arg);
    resp->stream_src = (mk_sse_source){0};
}

void mk_respond_no_content(const mk_request *req, mk_response *resp)
{
    mk_respond(req, resp, &(mk_reply){.status = 204, .no_length = true});
}
