/* respond.h: how the request path writes a response: the status line, the
 * headers every response carries (Content-Type, Date, Connection,
 * Content-Length) and the body, into mk_response.out in one buffer, the way
 * Go's net/http frames them. Responders (dispatch.c) and the error answers
 * (errors.c) both build through here. */
#ifndef MK_RESPOND_H
#define MK_RESPOND_H

#include <stdbool.h>
#include <stddef.h>

#include "dispatch.h"
#include "state.h"

#define MK_CT_JSON "application/json"
#define MK_CT_TEXT "text/plain; charset=utf-8"
#define MK_CT_OCTET "application/octet-stream"
#define MK_CT_HTML "text/html; charset=utf-8"

typedef struct mk_reply {
    int status;
    const char *ctype;       /* NULL: no Content-Type */
    const char *body;
    size_t len;
    bool no_length;          /* 204: neither Content-Length nor a body */
    const char *extra[3][2]; /* extra headers, NULL-terminated; values are
                              * cleaned of CR/LF (response splitting) */
} mk_reply;

/* Appends the response to resp->out and sets resp->status. HEAD gets the
 * head only; resp->close adds "Connection: close". */
void mk_respond(const mk_request *req, mk_response *resp, const mk_reply *r);
void mk_respond_json(const mk_request *req, mk_response *resp, int status, const char *body,
                     size_t len);
void mk_respond_blob(const mk_request *req, mk_response *resp, const char *ctype, mk_blob *b);
void mk_respond_no_content(const mk_request *req, mk_response *resp);
/* Appends "Date: <RFC 1123 time>\r\n" (formatted once a second per thread),
 * for a head built by hand (the event stream's). */
void mk_put_date(mk_buf *out);

#endif
