/* sse_client.h: a small streaming Server-Sent Events reader for the
 * integration tests. It speaks HTTP/1.1 over a raw blocking socket (so a
 * test controls exactly when bytes are read, or never reads them), parses the
 * response head, then parses event-stream frames as they arrive, every read
 * bounded by a deadline on the mt_now_ms() clock.
 *
 * Parsing follows the event-stream grammar of the HTML standard: lines end in
 * LF or CRLF; a line starting with ':' is a comment; "field: value" (one
 * optional space after the colon); a blank line dispatches the frame. The
 * exact bytes of each frame are kept so tests can assert on framing, and
 * comments and stray blank lines are counted.
 *
 * Not thread-safe: one thread per sse_client. */
#ifndef MT_SSE_CLIENT_H
#define MT_SSE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

typedef struct sse_event {
    char *id;       /* value of the id: line; NULL when the frame had none */
    char *event;    /* value of the event: line; NULL when none */
    char *data;     /* data: lines joined with '\n'; NULL when none */
    size_t ndata;   /* number of data: lines */
    char *raw;      /* the frame's exact bytes, first field line to blank line */
    size_t raw_len;
} sse_event;

typedef struct sse_client {
    int fd;
    int status;          /* status of the response; 0 until the head arrived */
    char *head;          /* the raw head, status line to CRLFCRLF, NUL-terminated */
    size_t head_len;
    mt_header *headers;  /* parsed head fields, in order */
    size_t nheaders;
    bool eof;            /* the peer closed (or reset) the connection */
    bool open;           /* fd is ours to close */
    /* counters over everything parsed so far */
    size_t comments;     /* comment lines (": ...") */
    size_t keepalives;   /* comment lines that are exactly ": keep-alive" */
    size_t blank_lines;  /* blank lines that dispatched no frame */
    size_t frames;       /* frames returned */
    uint64_t body_bytes; /* bytes received after the head */
    /* internal */
    unsigned char *buf;
    size_t len, off;
    char *fid, *fevent, *fdata, *fraw;
    size_t fdata_len, fraw_len, fndata;
    bool infield;
} sse_client;

/* Connects to 127.0.0.1:port. rcvbuf > 0 sets SO_RCVBUF before connect (the
 * only time it bounds the TCP window). Returns 0 or -1; c is initialised
 * either way and must be closed with sse_close. */
int sse_connect(sse_client *c, int port, int rcvbuf);

/* Sends "METHOD path HTTP/1.1", Host, Accept: text/event-stream and the
 * given "Name: value" lines. 0 or -1. */
int sse_send_request(sse_client *c, const char *method, const char *path,
                     const char *const *headers, size_t nheaders);

/* Reads until the response head is complete (bytes after it stay buffered
 * for sse_next). Returns the status, or 0 when the deadline passed or the
 * peer closed first, -1 on a malformed head. */
int sse_read_head(sse_client *c, int64_t deadline_ms);

/* connect + GET path (+ headers) + read head. Returns the status, 0 or -1. */
int sse_open(sse_client *c, int port, const char *path, const char *const *headers,
             size_t nheaders, int64_t deadline_ms);

/* The value of the first head field called name (case-insensitive). */
const char *sse_header(const sse_client *c, const char *name);

/* The next frame. Returns 1 with *ev filled (free it with sse_event_free),
 * 0 when the deadline passed, -1 when the stream ended (c->eof) or a read
 * failed. A frame is any blank-line-terminated group with at least one
 * field line; comments are counted, not returned. */
int sse_next(sse_client *c, sse_event *ev, int64_t deadline_ms);

/* Reads and parses whatever arrives until the deadline or EOF, without
 * returning frames (they are counted and freed). Useful to count
 * keep-alives. Stops early once c->keepalives >= want_keepalives (if > 0).
 * Returns 1 on EOF, 0 otherwise. */
int sse_drain(sse_client *c, int64_t deadline_ms, size_t want_keepalives);

/* Bytes buffered but not yet parsed. */
size_t sse_pending(const sse_client *c);

void sse_event_free(sse_event *ev);
/* Closes the socket (if open) and frees everything; c may be zeroed. */
void sse_close(sse_client *c);

#endif
