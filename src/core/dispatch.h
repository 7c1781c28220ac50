/* dispatch.h: the one request path.
 *
 * Every request on every listener goes through mk_dispatch: route match,
 * body rule (auth, gunzip, capture, typed decode), counter, response. The
 * transport (http.c) only reads bytes in and writes the finished response
 * out in one call. No sockets here, so the whole contract can be driven from
 * unit tests. The journal hooks in here; later ones (faults, sessions)
 * belong here too. */
#ifndef MK_DISPATCH_H
#define MK_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fault.h"
#include "journal.h"
#include "router.h"
#include "server.h"
#include "sse.h"

typedef enum mk_body_status {
    MK_BODY_COMPLETE,  /* body holds the whole request body */
    MK_BODY_TOO_LARGE, /* over cfg.max_body_bytes; not read */
    MK_BODY_READ_FAIL, /* the client went away or sent a broken chunked body */
} mk_body_status;

typedef struct mk_request {
    mk_listener_kind kind;
    int listener;             /* index into m->listeners */
    int region;               /* the listener's region (index among the plain
                               * listeners), -1 for none (TLS) */
    bool region_header;       /* regions are on and this is one: every
                               * response says "X-Mockapi-Region: <region>" */
    const char *method;
    const char *path;         /* raw, percent-encoded; no query */
    size_t path_len;
    const char *query;        /* raw, NULL if none */
    /* A session path prefix "/s/{id}" that path starts with (found by
     * mk_request_target; prefix_len 0: none): dispatch strips it when
     * sessions are on. The id is the bytes after "/s/". */
    size_t prefix_len;
    const mk_header_kv *headers;
    int nheaders;
    const char *body;
    size_t body_len;
    mk_body_status body_status;
    /* With MK_BODY_TOO_LARGE: the size refused (the declared Content-Length,
     * or a chunked body's size as announced so far), journaled as raw_size. */
    size_t refused_size;
    /* Waiting routes (/test/wait, /test/sse/wait) with no_wait set check
     * their condition once instead of blocking: met or past the deadline
     * (wait_started_ms + timeout_ms), they answer; otherwise the response
     * is `pending` and the transport asks again on a change. */
    bool no_wait;
    int64_t wait_started_ms; /* mk_mono_ms() when the wait began */
    /* With no_wait: where a pending wait keeps what it learnt between
     * checks (see mk_wait_slot); *wait_slot NULL when the wait begins. NULL:
     * nothing is kept, every check parses and reads the whole journal. */
    struct mk_wait_slot **wait_slot;
    /* Errors are answered as problem+json (problem.h): set by dispatch for
     * an agent-facing route of a strict session. */
    bool problem;
    /* The path as the client sent it (with a session prefix), set by
     * dispatch; NULL: path. */
    const char *sent_path;
    size_t sent_path_len;
} mk_request;

/* A response body made on demand: the transport calls fill each time the
 * socket has taken what the previous call gave, so a large body (the
 * journal listing) is never held whole. The head in mk_response.out has
 * already announced its length (Content-Length), so fill must produce
 * exactly that many bytes in all.
 *  - fill writes at most cap bytes into p and returns how many (0 only at
 *    the end), or -1 on failure (the transport then closes the connection:
 *    the length announced can no longer be kept).
 *  - held (may be NULL) says how many bytes arg holds now, for the global
 *    bound on buffered output (mockapi_config.max_buffered_bytes).
 *  - free releases arg; called once, when the body is done or the
 *    connection ends, by whoever holds the producer then.
 * Called from one thread at a time, never under a lock of the server. */
typedef struct mk_producer {
    long (*fill)(void *arg, char *p, size_t cap);
    size_t (*held)(void *arg);
    void (*free)(void *arg);
    void *arg;
} mk_producer;

typedef struct mk_response {
    mk_buf out;      /* the status line and headers, and the body unless
                      * `body` or `prod` carries it (then the head only) */
    /* The body, when it follows the head from elsewhere (at most one of
     * these; out then ends with the head's blank line): */
    struct mk_blob *body; /* a reference to shared immutable bytes (unref) */
    mk_producer prod;     /* prod.fill set: made in bounded pieces */
    size_t prod_len;      /* with prod: the bytes it makes (the head's Content-Length) */
    int status;
    bool close;      /* close the connection after writing */
    bool stream;     /* an SSE stream: `out` is its head; hand the socket to the hub */
    int stream_topic; /* with stream: the hub topic it subscribes to (mk_topic) */
    struct mk_sse_space *stream_space; /* with stream: its session's space (a reference) */
    mk_sse_source stream_src; /* with a feed stream (MK_TOPIC_FEED): its source (owned until attach) */
    char *stream_node; /* the stream's node id (owned; free()), a label for /test/sse */
    bool pending;      /* a no_wait request not answered yet: `out` is empty, nothing journaled */
    int64_t wait_until_ms; /* with pending: when the wait times out (mk_mono_ms scale) */
    /* A fault decided for this request (fault.h): the transport writes
     * `out` (the route's answer, or the injected one) as fault.wire says,
     * after fault_delay_ms (the delay with its jitter drawn), at
     * fault.slow_bps; an event stream gets the stream keys. */
    bool faulted;
    mk_fault fault;
    unsigned fault_delay_ms;
} mk_response;

/* A /test/wait condition: a counter, or the number of journal entries that
 * match a filter, compared with a value. Shared by HTTP and the C API. */
typedef enum mk_wait_op { MK_OP_EQ, MK_OP_NE, MK_OP_GT, MK_OP_GTE, MK_OP_LT, MK_OP_LTE } mk_wait_op;
typedef struct mk_wait_cond {
    int counter; /* >= 0: that counter; -1: journal entries matching filter */
    mk_jfilter filter;
    mk_wait_op op;
    int64_t value;
    unsigned timeout_ms; /* `timeout_ms`, default 5000, at most MK_WAIT_MAX_MS */
} mk_wait_cond;

#define MK_WAIT_MAX_MS 60000

/* Parses a /test/wait query (the journal filter's keys, counter, op, value,
 * timeout_ms), strictly: an unknown or repeated key, a malformed value, an
 * unknown counter or op (with a "did you mean"), or a counter combined with
 * journal filters is -1 with the message in err. */
int mk_wait_cond_parse(const char *query, mk_wait_cond *c, char *err, size_t errlen);

/* A pending wait's memory, made by the waiting route at its first check
 * and kept by the transport while the connection is parked: the condition
 * as parsed and its progress over the journal. A re-check (mk_wait_poll)
 * then neither parses the query again nor reads an entry twice, and the
 * full request runs again only once the condition is met or timed out.
 * (A parked wait on a busy server is checked after every round of
 * requests; running each through the whole request path cost 30-60% of
 * the server's throughput with 60 waits parked.) */
typedef struct mk_wait_slot mk_wait_slot;
/* Whether the wait's condition holds now (progress kept). */
bool mk_wait_poll(mockapi *m, mk_wait_slot *w);
/* mk_wait_poll for n waits at once into met[i]: the journal waits among
 * them read the new entries once between them (state.h
 * mk_state_journal_count_many). */
void mk_wait_poll_many(mockapi *m, mk_wait_slot *const *w, size_t n, bool *met);
void mk_wait_slot_free(mk_wait_slot *w); /* NULL ok */
/* Where a parked wait counts itself as a waiter (state.h `waiters`): its
 * session's state (w NULL: default's). */
atomic_int *mk_wait_slot_waiters(mockapi *m, mk_wait_slot *w);
/* Blocks until c holds or timeout_ms pass (the journal read incrementally,
 * never matched under a lock). Returns whether it held; *value is the last
 * value compared, *waited_ms (may be NULL) the time spent. */
bool mk_wait_cond_run(mk_session *s, const mk_wait_cond *c, unsigned timeout_ms, int64_t *value,
                      int64_t *waited_ms);


/* First value of a request header (case-insensitive name), or NULL. */
const char *mk_req_header(const mk_request *r, const char *name);

/* Handles req against m and fills resp (resp->out initialised by the caller).
 * Never fails: internal errors become a 500 response. */
void mk_dispatch(mockapi *m, const mk_request *req, mk_response *resp);

/* Appends the body that `body` or `prod` carries to resp->out and releases
 * them, so out holds the whole response: for callers without a socket
 * (tests, benchmarks). Sets out.err when memory runs short. */
void mk_response_flatten(mk_response *resp);
/* Releases what resp holds (out, body, prod; not stream_node). */
void mk_response_dispose(mk_response *resp);

/* Journals a request the transport's framing refused with status (400,
 * 431, 501, 505) once its request line and fields were read (req: method,
 * target resolved by mk_request_target, fields; no body), so that a test
 * sees what its client sent and what it got. No route runs, nothing is
 * counted. Thread-safe as mk_dispatch. */
void mk_journal_refused(mockapi *m, const mk_request *req, int status);

/* Resolves a request target ("/path?query", or absolute-form
 * "http://host/path?query", written into in place) into req->path,
 * path_len and query. The one place a target is taken apart:
 * where a session's path prefix will be stripped. */
void mk_request_target(mk_request *req, char *target);


/* Publishes a signed event the server itself raises (the strict profile's
 * rotate_keys, peer_key_rotated) on session S's stream of node: its id: line
 * and envelope event_id are the event's sequence number. 0, or -1 when it
 * could not go out (the session's budget is spent: MK_EVENT_ROOM tells
 * beforehand whether one fits). */
int mk_event_publish(mockapi *m, mk_session *S, const char *node, const char *type, const char *payload);
/* More than a server-raised event's frame takes (a signed envelope with an
 * empty payload: about 420 bytes). */
enum { MK_EVENT_ROOM = 1024 };

/* Captures body under key in S (the reference captures before it validates,
 * docs/contract.md §2.3): true, or false with the refusal answered (507
 * past the sessions' byte budget, 500 out of memory). */
bool mk_capture_body(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp, mk_capture key,
                     const char *body, size_t blen);

/* Whether a raw path names the /test/ family ("/test" or "/test/..."). */
bool mk_path_is_test(const char *path, size_t len);

#endif
