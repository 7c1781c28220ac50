/* loop.h: the keep-alive loop, which serves idle plain-HTTP connections.
 *
 * civetweb runs one thread per connection, so every request on a keep-alive
 * connection costs a thread wake-up and a context switch. Once a plain
 * connection's request has been answered, http.c moves the connection here:
 * a few epoll threads (one per CPU, at most 4) read its next requests, parse
 * them with civetweb's own head parser, run them through mk_dispatch (the
 * same single request path) and write the complete response in one send.
 *
 * The loop serves only requests it can frame without doubt: HTTP/1.1, a
 * relative URI, no Transfer-Encoding, no Expect, no Upgrade, one
 * Content-Length (or none). Anything else, and every route that waits
 * (/test/wait, /test/sse/wait), goes back to civetweb's worker pool with the
 * bytes already read (civet_detach.h), so civetweb answers it exactly as it
 * answers a new connection, errors included. An event stream goes straight
 * to the SSE hub.
 *
 * Timeouts match civetweb's settings: a connection idle for
 * request_timeout_ms after a response is closed; a request not complete
 * request_timeout_ms after its first byte is closed (a head) or answered as
 * an unreadable body (mk_dispatch's 400).
 *
 * Threads: mk_loop_adopt may be called from any thread; everything else
 * about a connection happens on the loop thread that owns it. */
#ifndef MK_LOOP_H
#define MK_LOOP_H

#include <stddef.h>

#include "civet_detach.h"
#include "server.h"

typedef struct mk_loop mk_loop;

/* Starts the loop threads for m. Returns 0, or -1 with err set. */
int mk_loop_start(mk_loop **out, mockapi *m, char *err, size_t errlen);

/* Hands a connection to the loop: fd (non-blocking, owned by the loop on
 * success), its listener index, civetweb's socket record, and `rest`: bytes
 * already read that start the next request (ownership passes, may be NULL).
 * What the loop cannot serve goes back to the pool named in sock. Returns 0,
 * or -1 when the loop is closed or out of memory (the caller still owns fd
 * and rest then). */
int mk_loop_adopt(mk_loop *l, int fd, int listener, const mk_civet_sock *sock, char *rest,
                  size_t rest_len);

/* Stops taking connections and joins the threads; connections stay open
 * until mk_loop_free. Call before civetweb's context is stopped, since the
 * loop hands requests back to it. */
void mk_loop_stop(mk_loop *l);

/* Closes every connection and frees l (after mk_loop_stop). */
void mk_loop_free(mk_loop *l);

#endif
