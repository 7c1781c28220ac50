/* loop.h: the event loop that owns every connection, plain and TLS, from
 * accept to close.
 *
 * A few threads (one per CPU, at most 4), each with an epoll set, accept
 * from every listening socket (EPOLLEXCLUSIVE: one thread wakes per
 * connection), run TLS handshakes without blocking, frame requests with
 * http1.c, run them through mk_dispatch (the one request path) and write the
 * complete response. No connection ever holds a thread: an idle, slow,
 * handshaking or waiting connection is a small struct and its buffers.
 *
 * Deadlines (cfg.request_timeout_ms): a TLS handshake must finish within
 * it from accept; a request (head and body, chunked included) within it from
 * its first byte, or it is answered as unreadable (a body) or closed (a
 * head); an idle keep-alive connection, or a reader that takes nothing of
 * its response, is closed after it.
 *
 * Waits: /test/wait and /test/sse/wait run with no_wait; a pending one
 * parks its connection (no reads, no thread) until the state or the SSE hub
 * reports a change (mk_loop_notify) or its own deadline passes.
 *
 * Accept backs off for 100 ms when the process is out of descriptors
 * (EMFILE and kin) instead of spinning, and logs it at most once a second.
 *
 * Event streams leave the loop for the SSE hub once their head is built.
 *
 * Faults (fault.h, mk_response.faulted): the one response writer applies
 * them, the same on plain, keep-alive and TLS connections. A delay holds
 * the built response and writes it later; hang writes nothing (hang=ms:
 * FIN after it; hang: until the client leaves or mk_loop_free); drop is a
 * FIN and reset an RST with nothing written; garbage writes bytes that are
 * not HTTP, then FIN; partial writes the head (true Content-Length) and
 * that many body bytes, then FIN or RST; slow paces the whole response
 * (slices every 20 ms). A held connection (delayed, hung, slowed) keeps no
 * thread: it sits on its thread's timer heap (O(log n) per change, nothing
 * per round), off the request deadline (its fault's clock rules), with
 * EPOLLRDHUP watched so a client that leaves frees it. A TLS cut sends no
 * close_notify. After drop, reset, hang, partial and garbage the
 * connection ends; after a delay or slow answer it serves on.
 *
 * Threads: mk_loop_listen and mk_loop_notify may be called from any
 * thread; everything about a connection happens on the thread that
 * accepted it. */
#ifndef MK_LOOP_H
#define MK_LOOP_H

#include <stddef.h>

#include "server.h"
#include "tls_session.h"

typedef struct mk_loop mk_loop;

/* Starts the loop threads for m (no listeners yet). 0, or -1 with err. */
int mk_loop_start(mk_loop **out, mockapi *m, char *err, size_t errlen);

/* Starts accepting on fd, a bound, listening, non-blocking socket of
 * m->listeners[listener] (the loop owns it from now on). tls: the TLS
 * configuration for a TLS listener, NULL for plain (not owned; must outlive
 * the loop). 0, or -1 when stopping (fd is closed then). */
int mk_loop_listen(mk_loop *l, int listener, int fd, mk_tls_server *tls);

/* A region down (README "Regions"): the listening socket stops listening
 * (connecting is refused) and every connection accepted from it so far
 * ends, idle ones at once, one writing a response once it is written. Up:
 * it listens again, bound to sa (the port it had). Already so: 0, nothing
 * done. 0, or -1 with the reason (errno's text: the port is taken) in err.
 * Any thread; the loop threads catch up on their next round. */
int mk_loop_listener_down(mk_loop *l, int listener, char *err, size_t errlen);
int mk_loop_listener_up(mk_loop *l, int listener, const struct sockaddr *sa, socklen_t salen,
                        char *err, size_t errlen);

/* Something a parked wait may be waiting for changed: threads with parked
 * waits check them again. For mk_state.notify and the SSE hub's notify. */
void mk_loop_notify(void *loop);

/* Stops accepting and serving and joins the threads; connections stay open
 * until mk_loop_free. */
void mk_loop_stop(mk_loop *l);

/* Closes every connection and listening socket and frees l. NULL ok. */
void mk_loop_free(mk_loop *l);

#endif
