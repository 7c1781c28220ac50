/* civet_detach.h: what civetweb_build.c adds to civetweb's API. */
#ifndef MK_CIVET_DETACH_H
#define MK_CIVET_DETACH_H

struct mg_connection;

/* Takes the plain-TCP socket of conn away from civetweb: the caller owns the
 * returned descriptor; civetweb ends the connection without closing it.
 * Call only from the request handler of conn, after the request body was
 * read. Returns the fd, or -1 for TLS connections (their state lives in
 * civetweb) or an already closed connection. */
int mk_civet_detach(struct mg_connection *conn);

#endif
