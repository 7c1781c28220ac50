/* http.h: the transport's entry points for the API layer: start and stop
 * every listener of an instance. */
#ifndef MK_HTTP_H
#define MK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/* Starts m's listeners. With tls_background the TLS listeners start on
 * another thread (they wait for their certificates); mk_http_wait_tls waits
 * for them and returns their result. */
int mk_http_start(mockapi *m, bool tls_background, char *err, size_t errlen);
int mk_http_wait_tls(mockapi *m, char *err, size_t errlen);
void mk_http_stop(mockapi *m);

#endif
