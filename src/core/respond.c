/* respond.c: see respond.h. */
#include "respond.h"

#include <string.h>
#include <time.h>

#include "buf.h"

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
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

/* Header values we echo must not carry CR/LF (response splitting). */
static void put_header(mk_buf *out, const char *name, const char *value)
{
    mk_buf_puts(out, name);
    mk_buf_puts(out, ": ");
    for (const char *p = value; *p; p++)
        mk_buf_putc(out, (*p == '\r' || *p == '\n') ? ' ' : *p);
    mk_buf_puts(out, "\r\n");
}

void mk_respond(const mk_request *req, mk_response *resp, const mk_reply *r)
{
    mk_buf *out = &resp->out;
    resp->status = r->status;
    /* no printf here: its cost showed in every request's profile */
    mk_buf_puts(out, "HTTP/1.1 ");
    mk_buf_putu(out, (unsigned long long)r->status);
    mk_buf_putc(out, ' ');
    mk_buf_puts(out, status_text(r->status));
    mk_buf_puts(out, "\r\n");
    if (r->ctype) { /* a constant of ours: no CR/LF to strip */
        mk_buf_puts(out, "Content-Type: ");
        mk_buf_puts(out, r->ctype);
        mk_buf_puts(out, "\r\n");
    }
    for (int i = 0; i < 3 && r->extra[i][0]; i++)
        put_header(out, r->extra[i][0], r->extra[i][1]);
    mk_put_date(out);
    if (resp->close)
        mk_buf_puts(out, "Connection: close\r\n");
    if (!r->no_length) {
        mk_buf_puts(out, "Content-Length: ");
        mk_buf_putu(out, r->len);
        mk_buf_puts(out, "\r\n");
    }
    mk_buf_puts(out, "\r\n");
    if (!r->no_length && strcmp(req->method, "HEAD") != 0)
        mk_buf_append(out, r->body, r->len);
}

void mk_respond_json(const mk_request *req, mk_response *resp, int status, const char *body,
                     size_t len)
{
    mk_respond(req, resp, &(mk_reply){.status = status, .ctype = MK_CT_JSON, .body = body, .len = len});
}

void mk_respond_blob(const mk_request *req, mk_response *resp, const char *ctype, mk_blob *b)
{
    mk_respond(req, resp, &(mk_reply){.status = 200, .ctype = ctype, .body = b->data, .len = b->len});
}

void mk_respond_no_content(const mk_request *req, mk_response *resp)
{
    mk_respond(req, resp, &(mk_reply){.status = 204, .no_length = true});
}
