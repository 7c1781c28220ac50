/* errors.c: see errors.h. */
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gojson.h"
#include "problem.h"
#include "respond.h"
#include "router.h"
#include "suggest.h"

static const char invalid_body[] = "{\"error\":\"invalid request body\"}\n";

static void json_error(const mk_request *req, mk_response *resp, int status, const char *json)
{
    mk_respond_json(req, resp, status, json, strlen(json));
}

void mk_err_not_found(const mk_request *req, mk_response *resp)
{
    if (req->problem) {
        char why[300], shown[120];
        const char *like = mk_route_suggest(req->kind, true, req->path, req->path_len);
        snprintf(why, sizeof why, "no route %s %s%s%s%s", req->method, mk_shown(req->path, req->path_len, shown, sizeof shown),
                 like ? "; did you mean " : "", like ? like : "", like ? "?" : "");
        mk_problem(req, resp, 404, "route_not_found", why, NULL);
        return;
    }
    mk_respond(req, resp, &(mk_reply){.status = 404, .ctype = MK_CT_TEXT, .body = "404 page not found\n",
                                      .len = 19, .extra = {{"X-Content-Type-Options", "nosniff"}}});
}

void mk_err_method_not_allowed(const mk_request *req, mk_response *resp, const char *allow)
{
    if (req->problem) {
        char why[160];
        snprintf(why, sizeof why, "%.16s is not allowed here; allowed: %s", req->method, allow);
        mk_problem(req, resp, 405, "method_not_allowed", why, (const char *const[][2]){{"Allow", allow}, {NULL, NULL}});
        return;
    }
    mk_respond(req, resp,
               &(mk_reply){.status = 405, .ctype = MK_CT_TEXT, .body = "Method Not Allowed\n", .len = 19,
                           .extra = {{"Allow", allow}, {"X-Content-Type-Options", "nosniff"}}});
}

void mk_err_method_not_allowed_json(const mk_request *req, mk_response *resp)
{
    json_error(req, resp, 405, "{\"error\":\"method not allowed\"}\n");
}

void mk_err_bad_request(const mk_request *req, mk_response *resp)
{
    resp->close = true; /* as Go: what follows cannot be trusted */
    if (req->problem) {
        mk_problem(req, resp, 400, "malformed_request",
                   "the request path is not a valid path (a bad percent-escape, or no leading '/')", NULL);
        return;
    }
    mk_respond(req, resp, &(mk_reply){.status = 400, .ctype = MK_CT_TEXT, .body = "400 Bad Request",
                                      .len = 15});
}

void mk_err_unauthorized(const mk_request *req, mk_response *resp)
{
    if (req->problem) {
        mk_problem(req, resp, 401, "unauthorized", "the local endpoints need the session's bearer token",
                   (const char *const[][2]){{"WWW-Authenticate", "Bearer realm=\"mockapi\""}, {NULL, NULL}});
        return;
    }
    mk_respond(req, resp, &(mk_reply){.status = 401});
}

void mk_err_admin_required(const mk_request *req, mk_response *resp)
{
    static const char body[] = "{\"error\":\"the /test/ routes need the admin token: send "
                               "'Authorization: Bearer <token>' or 'X-Mockapi-Admin-Token: <token>'\"}\n";
    mk_respond(req, resp, &(mk_reply){.status = 401, .ctype = MK_CT_JSON, .body = body,
                                      .len = sizeof body - 1,
                                      .extra = {{"WWW-Authenticate", "Bearer realm=\"mockapi-test\""}}});
}

void mk_err_admin_off(const mk_request *req, mk_response *resp)
{
    json_error(req, resp, 403,
               "{\"error\":\"the /test/ routes of a TLS listener not bound to loopback are off; "
               "start mockapi with -admin-token (or bind -tls-addr to 127.0.0.1) to use them\"}\n");
}

void mk_err_body_too_large(const mk_request *req, mk_response *resp, size_t cap, bool decoded)
{
    char msg[96];
    if (!decoded)
        resp->close = true; /* the rest of the body is never read */
    if (req->problem) {
        snprintf(msg, sizeof msg, "the %srequest body is larger than %zu bytes", decoded ? "decoded " : "", cap);
        mk_problem(req, resp, 413, "body_too_large", msg, NULL);
        return;
    }
    snprintf(msg, sizeof msg, "{\"error\":\"%srequest body larger than %zu bytes\"}\n",
             decoded ? "decoded " : "", cap);
    json_error(req, resp, 413, msg);
}

void mk_err_invalid_body(const mk_request *req, mk_response *resp, const char *why)
{
    if (req->problem) {
        mk_problem(req, resp, 400, "malformed_request", why && *why ? why : "invalid request body", NULL);
        return;
    }
    mk_reply r = {.status = 400, .ctype = MK_CT_JSON, .body = invalid_body,
                  .len = sizeof invalid_body - 1};
    if (why && *why) { /* the body stays the reference's; the reason is for people */
        r.extra[0][0] = "X-Mockapi-Error";
        r.extra[0][1] = why;
    }
    mk_respond(req, resp, &r);
}

/* {"error":why} with status. */
static void error_text(const mk_request *req, mk_response *resp, int status, const char *why)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"error\":");
    gj_write_string(&b, why, strlen(why));
    mk_buf_puts(&b, "}\n");
    mk_respond_json(req, resp, status, b.data, b.len);
    mk_buf_free(&b);
}

void mk_err_bad_query(const mk_request *req, mk_response *resp, const char *why)
{
    error_text(req, resp, 400, why);
}

void mk_err_session(const mk_request *req, mk_response *resp, int status, const char *why)
{
    if (req->problem) {
        mk_problem(req, resp, status,
                   status == 404 ? "session_not_found" : status == 428 ? "session_required" : "session_refused", why,
                   NULL);
        return;
    }
    error_text(req, resp, status, why);
}

void mk_err_refused(const mk_request *req, mk_response *resp, int status, const char *why)
{
    error_text(req, resp, status, why);
}

void mk_err_store_full(const mk_request *req, mk_response *resp, size_t max)
{
    char msg[300];
    snprintf(msg, sizeof msg, "the bodies the sessions keep (captures, fixtures, event history) would pass "
                              "-sessions-max-bytes (%zu bytes): end sessions, reset them, or raise it", max);
    if (req->problem)
        mk_problem(req, resp, 507, "store_full", msg, NULL);
    else
        error_text(req, resp, 507, msg);
}

void mk_err_no_capture(const mk_request *req, mk_response *resp)
{
    json_error(req, resp, 404, "{\"error\":\"no captured request for endpoint\"}\n");
}

void mk_err_streams_full(const mk_request *req, mk_response *resp)
{
    resp->close = true;
    if (req->problem) {
        mk_problem(req, resp, 503, "streams_full", "too many event streams are open", NULL);
        return;
    }
    json_error(req, resp, 503, MK_STREAMS_FULL_BODY);
}

void mk_err_output_full(const mk_request *req, mk_response *resp, size_t held, size_t want,
                        size_t bound)
{
    char msg[256];
    if (req->problem) {
        snprintf(msg, sizeof msg, "server busy: %zu bytes of responses wait for clients; this one needs %zu more "
                 "and the bound is %zu; try again later", held, want, bound);
        mk_problem(req, resp, 503, "output_full", msg, (const char *const[][2]){{"Retry-After", "1"}, {NULL, NULL}});
        return;
    }
    snprintf(msg, sizeof msg,
             "{\"error\":\"server busy: %zu bytes of responses are waiting for clients that have "
             "not read them; this response needs %zu more and the bound (max_buffered_bytes) is "
             "%zu; try again later\"}\n",
             held, want, bound);
    mk_respond(req, resp, &(mk_reply){.status = 503, .ctype = MK_CT_JSON, .body = msg,
                                      .len = strlen(msg), .extra = {{"Retry-After", "1"}}});
}

void mk_err_bad_fault(const mk_request *req, mk_response *resp, const char *why)
{
    if (req->problem) {
        mk_problem(req, resp, 400, "invalid_fault", why, NULL);
        return;
    }
    mk_err_bad_query(req, resp, why); /* the same form: 400 {"error":why} */
}

void mk_err_injected(const mk_request *req, mk_response *resp, const mk_fault *f, const char *spec)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"error\":");
    char text[300];
    int n = snprintf(text, sizeof text, "injected fault: %s", spec);
    gj_write_string(&b, text, n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
    mk_buf_puts(&b, ",\"injected\":true}\n");
    char ra[24];
    mk_reply r = {.status = f->status, .ctype = MK_CT_JSON, .body = b.data, .len = b.len,
                  .extra = {{"X-Mockapi-Fault", "injected"}}};
    if (MK_FAULT_HAS(f, RETRY_AFTER)) {
        snprintf(ra, sizeof ra, "%u", f->retry_after);
        r.extra[1][0] = "Retry-After";
        r.extra[1][1] = ra;
    }
    if (req->problem) {
        mk_buf_free(&b);
        char why[320];
        snprintf(why, sizeof why, "injected fault: %s", spec);
        mk_problem(req, resp, f->status, "injected_fault", why, (const char *const(*)[2])r.extra);
        return;
    }
    if (b.err)
        mk_err_internal(req, resp, "out of memory");
    else
        mk_respond(req, resp, &r);
    mk_buf_free(&b);
}

void mk_err_no_fault_rule(const mk_request *req, mk_response *resp, const char *id)
{
    char msg[160];
    snprintf(msg, sizeof msg, "no fault rule with id %.40s (GET /test/faults lists them)", id);
    error_text(req, resp, 404, msg);
}

void mk_err_internal(const mk_request *req, mk_response *resp, const char *what)
{
    if (req->problem) {
        mk_problem(req, resp, 500, "internal", what, NULL);
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "{\"error\":\"%s\"}\n", what);
    json_error(req, resp, 500, msg);
}

/* ---- refusals ------------------------------------------------------------ */

typedef struct refusal {
    int status;
    const char *text;
} refusal;

/* Content-Length is checked against each body by a unit test. */
static const refusal refusals[] = {
    {400, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 15\r\n\r\n400 Bad Request"},
    {431, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
          "charset=utf-8\r\nConnection: close\r\nContent-Length: 35\r\n\r\n"
          "431 Request Header Fields Too Large"},
    {500, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 25\r\n\r\n500 Internal Server Error"},
    /* Go names no coding in its answer (no echo of the client's bytes) */
    {501, "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 29\r\n\r\nUnsupported transfer encoding"},
    /* the event-stream cap, when the hub refuses a stream dispatch let through */
    {503, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Connection: close\r\nContent-Length: 44\r\n\r\n" MK_STREAMS_FULL_BODY},
    /* Go's statusError form, which names no version (the client's is
     * not echoed) */
    {505, "HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\n"
          "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 60\r\n\r\n"
          "505 HTTP Version Not Supported: unsupported protocol version"},
};

const char *mk_refusal(int status, size_t *len)
{
    const refusal *r = &refusals[0];
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
        if (refusals[i].status == status)
            r = &refusals[i];
    *len = strlen(r->text);
    return r->text;
}

char *mk_refusal_region(int status, int region, size_t *len)
{
    size_t n;
    const char *r = mk_refusal(status, &n);
    size_t line = (size_t)(strstr(r, "\r\n") - r) + 2;
    char hdr[48];
    int hl = snprintf(hdr, sizeof hdr, "X-Mockapi-Region: %d\r\n", region);
    char *out = malloc(n + (size_t)hl + 1);
    if (!out)
        return NULL;
    memcpy(out, r, line);
    memcpy(out + line, hdr, (size_t)hl);
    memcpy(out + line + (size_t)hl, r + line, n - line + 1);
    *len = n + (size_t)hl;
    return out;
}
