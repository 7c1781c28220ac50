/* refusal.h: the answers to requests that never reach a route.
 *
 * The transport refuses what it cannot frame (a malformed or oversized head,
 * an unknown transfer coding, another HTTP version), and answers alone when
 * it has no response to write (out of memory). Those answers are written
 * here, in the form Go's net/http writes them (the reference is a Go server):
 * a text/plain status line echo, and the connection closes. */
#ifndef MK_REFUSAL_H
#define MK_REFUSAL_H

#include <stddef.h>

/* The complete response (head and body) for status 400, 431, 500, 501 or
 * 505, with "Connection: close"; *len receives its length. Static storage. */
const char *mk_refusal(int status, size_t *len);

#endif
