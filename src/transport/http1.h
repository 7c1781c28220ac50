/* http1.h: HTTP/1.x request framing, as pure functions over bytes.
 *
 * The event loop (loop.c) owns every connection; this module tells it, from
 * the bytes it has read, where a request's head ends, what the head says
 * (parsed by civetweb's own parser, civet_parse.h), how the body is framed
 * (Content-Length, chunked, none) and whether the request must be refused
 * before it reaches the request path. The chunked decoder works in place and
 * incrementally, so a body trickling in costs no copy and no thread.
 *
 * Framing rules (RFC 9112), as strict as Go's server and nginx: where Go
 * refuses, its status; where Go is lax and nginx refuses, nginx's 400.
 *  - The request line is method SP target SP "HTTP/" D "." D. HTTP/1.0
 *    closes after the response; any other 1.x is treated as 1.1; another
 *    major version is refused with 505.
 *  - The target is origin-form ("/..."), absolute-form ("scheme://...",
 *    routed by its path: mk_request_target) or asterisk-form ("*", which
 *    dispatch answers); anything else (authority-form: CONNECT) is 400.
 *  - A field name is a token with the colon right after it; no field line
 *    begins with white space (obs-fold); a value may hold HTAB and
 *    obs-text, no other control byte, and is trimmed of white space (as Go
 *    does). Any of these broken: 400.
 *  - Content-Length is what Go's strconv.ParseUint(v, 10, 63) takes; the
 *    same value several times is one value; anything else is 400.
 *  - Transfer-Encoding: one field, exactly "chunked" (any case), or 501 (as
 *    Go); with Content-Length, or on HTTP/1.0, 400 (as nginx: the request
 *    smuggling shapes).
 *  - A head over the configured limit is refused with 431, and so is one
 *    with more than 64 fields (what civetweb's parser holds): a field is
 *    never dropped unseen. */
#ifndef MK_HTTP1_H
#define MK_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "civet_parse.h"

typedef enum mk_h1_verdict {
    MK_H1_INCOMPLETE, /* the head has not ended yet */
    MK_H1_OK,         /* out is filled */
    MK_H1_REFUSE,     /* answer out->refuse_status and close */
} mk_h1_verdict;

typedef struct mk_h1_head {
    mk_civet_head h;      /* method, uri, version, headers: pointers into scratch */
    size_t head_len;      /* bytes of the head, through the blank line */
    bool http10;          /* HTTP/1.0: no keep-alive */
    bool close;           /* the client asked to close, or the framing requires it */
    bool chunked;         /* the body is chunked */
    bool expect_continue; /* "Expect: 100-continue" on HTTP/1.1 */
    uint64_t content_length; /* without chunked; 0 when absent */
    int refuse_status;    /* with MK_H1_REFUSE: 400, 431, 501 or 505; h.method
                           * is set when the request line and fields were
                           * read (the refusal can be journaled), else NULL */
} mk_h1_head;

/* Looks at the start of a connection's input (in, len): finds the end of
 * the head (searching at most max_head bytes), copies it into scratch
 * (max_head + 1 bytes; civetweb's parser writes NULs) and parses it there;
 * out's strings point into scratch. Pure; reentrant with its own scratch. */
mk_h1_verdict mk_h1_parse(const char *in, size_t len, size_t max_head, char *scratch,
                          mk_h1_head *out);

/* An incremental, in-place chunked-body decoder. The body's raw bytes start
 * at buf; decoded bytes are written from buf onwards (never past what was
 * read), so buf[0 .. out) is the body decoded so far. */
typedef struct mk_chunked {
    int phase;     /* internal */
    uint64_t left; /* bytes left in the current chunk */
    size_t out;    /* decoded bytes at buf[0 .. out) */
    size_t pos;    /* raw bytes consumed; buf[out .. pos) is free space */
    size_t line;   /* length of the size or trailer line being read */
    size_t trailer; /* bytes of trailer section so far */
} mk_chunked;

enum {
    MK_CHUNKED_MORE = 0,      /* needs more bytes */
    MK_CHUNKED_DONE = 1,      /* the last chunk and trailers are in */
    MK_CHUNKED_BAD = -1,      /* malformed */
    MK_CHUNKED_TOO_LARGE = -2 /* decoded body over the cap */
};

/* Decodes what it can of buf[c->pos .. len). On MK_CHUNKED_MORE, the caller
 * may compact: move buf[c->pos .. len) to buf[c->out] (see
 * mk_chunked_compact). On DONE, the raw body was buf[0 .. c->pos) and what
 * follows it is the next request. max_line bounds a size line (with its
 * extensions) and the trailer section. */
int mk_chunked_step(mk_chunked *c, char *buf, size_t len, uint64_t cap, size_t max_line);

/* Moves the undecoded bytes buf[c->pos .. *len) down to buf[c->out] and
 * updates *len and c->pos, so that the free space is at the end. */
void mk_chunked_compact(mk_chunked *c, char *buf, size_t *len);

#endif
