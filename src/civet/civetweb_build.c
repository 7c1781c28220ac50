/* civetweb_build.c: compiles civetweb (Debian's source package, fetched into
 * build/third_party by ci/setup.sh; never committed) as part of this
 * translation unit, so that we can add the one operation its API lacks.
 *
 * Why: civetweb keeps one pre-spawned worker thread per open connection. An
 * SSE stream lives for minutes, so a thousand streams would need a thousand
 * idle workers (~26 KB RSS each, all pre-spawned even when no stream is
 * open). Instead, once the stream's request is parsed, we take its socket
 * out of civetweb and hand it to our own epoll loop (src/sse.c); the worker
 * returns to the pool at once. civetweb then closes an invalid descriptor,
 * which is harmless, and never touches the stream's socket again. */
#include "civetweb.c"

#include "civet_detach.h"

int mk_civet_detach(struct mg_connection *conn)
{
    if (!conn || conn->ssl || conn->client.sock == INVALID_SOCKET)
        return -1;
    int fd = (int)conn->client.sock;
    conn->client.sock = INVALID_SOCKET;
    conn->must_close = 1;
    return fd;
}
