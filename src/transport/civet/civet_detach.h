/* civet_detach.h: what civetweb_build.c adds to civetweb's API.
 *
 * Two ways out of civetweb and one way back in. An event stream leaves for
 * good (the SSE hub owns it). An idle plain keep-alive connection leaves for
 * the keep-alive loop (loop.c), which serves its ordinary requests without a
 * thread each; a request the loop does not serve itself goes back to
 * civetweb's worker pool together with the bytes already read, and civetweb
 * parses and answers it as if it had read them itself. */
#ifndef MK_CIVET_DETACH_H
#define MK_CIVET_DETACH_H

#include <stddef.h>

struct mg_connection;
struct mg_context;

/* civetweb's record of an accepted socket (descriptor, local and remote
 * address), carried opaquely while the loop holds the connection. */
typedef struct mk_civet_sock {
    struct mg_context *ctx; /* the pool it came from, and goes back to */
    _Alignas(8) unsigned char opaque[80];
} mk_civet_sock;

/* Takes the plain-TCP socket of conn away from civetweb: the caller owns the
 * returned descriptor; civetweb ends the connection without closing it.
 * Call only from the request handler of conn, after the request body was
 * read. Returns the fd, or -1 for TLS connections (their state lives in
 * civetweb) or an already closed connection. */
int mk_civet_detach(struct mg_connection *conn);

/* Like mk_civet_detach, for a connection whose response has been written
 * and that may carry another request: only a plain connection that civetweb
 * would keep alive, whose request body was fully read (no chunked body) and
 * whose server is not stopping. *sock receives the socket record; *rest
 * (malloc'd, or NULL) and *rest_len the bytes civetweb already read past
 * this request (the start of a pipelined one). Returns the fd, or -1 when
 * the connection stays with civetweb (nothing changed then) or on ENOMEM. */
int mk_civet_detach_idle(struct mg_connection *conn, mk_civet_sock *sock, char **rest,
                         size_t *rest_len);

/* Gives a detached socket back to its worker pool (sock->ctx) with the `len` bytes
 * already read from it (at most the pool's request-head size); a worker
 * serves it as a new connection that starts with those bytes. Never
 * blocks. Returns 0, or -1 when the pool's queue is full, the server is
 * stopping, the bytes do not fit or memory is short (the caller still owns
 * fd then). */
int mk_civet_return(int fd, const mk_civet_sock *sock, const char *pre, size_t len);

/* The init_connection callback: counts the connection in (see the spawner)
 * and loads the bytes given back with it. http.c installs it. */
int mk_civet_init_connection(const struct mg_connection *conn, void **conn_data);

/* After mg_stop(ctx): closes the sockets given back to ctx that no worker
 * took any more, and frees their bytes. */
void mk_civet_forget(struct mg_context *ctx);

/* Starts the worker threads civetweb left for later (all but the first
 * two) when they are needed: when no worker has been idle for 2 ms, a
 * spawner thread starts one more, up to the configured number. Needs
 * mk_civet_init_connection and mk_civet_connection_closed installed.
 * Returns a handle for mk_civet_spawn_stop; NULL only when out of memory
 * (without a handle, or a thread for it, the eager workers serve alone). */
typedef struct mk_civet_spawner mk_civet_spawner;
mk_civet_spawner *mk_civet_spawn_rest(struct mg_context *ctx);
/* Stops starting workers and waits for the spawner; call before mg_stop. */
void mk_civet_spawn_stop(mk_civet_spawner *s);
/* For the connection_close callback: counts the connection out. */
void mk_civet_connection_closed(const struct mg_connection *conn);

/* The remote address of a socket record as "ip:port", the way civetweb
 * shows it for a connection it serves. */
void mk_civet_sock_peer(const mk_civet_sock *sock, char *out, size_t len);

/* civetweb's HTTP head parsing, for the keep-alive loop. Length of the
 * request head in buf (through the blank line), 0 if incomplete, -1 if
 * malformed. */
int mk_civet_head_len(const char *buf, int len);

/* Parses a complete head in place (writes NULs into buf). Fills method,
 * uri, version (after "HTTP/") and up to max_headers name/value pairs.
 * Returns the head length, or <= 0 when civetweb would refuse it. */
typedef struct mk_civet_head {
    const char *method, *uri, *version;
    int nheaders;
    struct {
        const char *name, *value;
    } headers[64];
} mk_civet_head;
int mk_civet_parse_head(char *buf, int len, mk_civet_head *out);

#endif
