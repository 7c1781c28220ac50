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
    const char *extra[4][2]; /* extra headers, NULL-terminated; values are
                              * cleaned of CR/LF (response splitting) */
} mk_reply;

/* Appends the response to resp->out and sets resp->status. HEAD gets the
 * head only; resp->close adds "Connection: close". */
/* Answers 200 with the JSON in b (built whole: a registry listing, a
 * topology). A large one goes by reference and is first admitted against
 * the bound on output held for clients that do not read (mk_out_admit:
 * 503 past it), as every other large answer is. */
void mk_respond_json_admitted(mockapi *m, const mk_request *req, mk_response *resp, const mk_buf *b);

/* Go's http.StatusText of status, or NULL when Go has none. */
const char *mk_status_text(int status);

void mk_respond(const mk_request *req, mk_response *resp, const mk_reply *r);
void mk_respond_json(const mk_request *req, mk_response *resp, int status, const char *body,
                     size_t len);
/* A blob of MK_BY_REF_MIN bytes or more goes by reference (resp->body, a
 * new reference; out gets the head only): every client of a large capture
 * is written from the one shared copy. Smaller ones are copied into out,
 * one buffer and one write as before. */
void mk_respond_blob(const mk_request *req, mk_response *resp, const char *ctype, mk_blob *b);
void mk_respond_no_content(const mk_request *req, mk_response *resp);
/* A body of this size or more is "large": it goes by reference or from a
 * producer, and past the bound on buffered output it is refused. */
enum { MK_BY_REF_MIN = 16384, MK_LARGE_BODY = 65536 };

/* The bound on buffered output (mockapi_config.max_buffered_bytes): whether
 * a response that will hold `want` more bytes for writing may go out now.
 * A small one (under MK_LARGE_BODY) always may, and so may any one while
 * nothing is held (a body larger than the bound alone still goes out).
 * Otherwise, past the bound, resp gets the 503 (errors.h
 * mk_err_output_full), the refusal is counted (m->out_refused) and logged
 * at most once a second, and false is returned. */
bool mk_out_admit(mockapi *m, const mk_request *req, mk_response *resp, size_t want);
/* What a writer adds to the bound to write blob b: its length while no one
 * else writes it, nothing once someone does (it is shared). */
size_t mk_blob_cost(mk_blob *b);

/* Answers with a body of len bytes made by prod (taken: freed here for a
 * HEAD, else by whoever ends the response): the head, with Content-Length
 * len, goes into out. */
void mk_respond_produced(const mk_request *req, mk_response *resp, int status, const char *ctype,
                         size_t len, mk_producer prod);

/* GET /test/requests rendered in pieces: '{"entries":[', the entries
 * separated by ',' (mk_jentry_json), then `tail` (the closing fields,
 * copied). Takes the n references in hits and the array (malloc'd) in
 * every case. A listing under MK_LARGE_BODY is answered from one buffer;
 * a larger one is measured entry by entry (rendered into a scratch buffer
 * that holds one entry at a time) for its Content-Length and then made by
 * a producer that renders one entry at a time as the client reads, so the
 * bytes on the wire are the same and the whole text is never held. */
void mk_respond_entries(mockapi *m, const mk_request *req, mk_response *resp, mk_jentry **hits,
                        size_t n, const char *tail, size_t tail_len);

/* Appends "Date: <RFC 1123 time>\r\n" (formatted once a second per thread),
 * for a head built by hand (the event stream's). */
void mk_put_date(mk_buf *out);
/* Appends "X-Mockapi-Region: <i>\r\n" when req->region_header, for every
 * head (README "Regions"); nothing otherwise. */
void mk_put_region(const mk_request *req, mk_buf *out);

#endif
