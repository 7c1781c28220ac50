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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* civetweb 1.15 prints "SSL read failed" to stderr, unconditionally, every
 * time a TLS client closes its connection (mbedTLS reports the peer's
 * close_notify as a read error). Its other fprintf calls pass through. */
static int mk_civet_fprintf(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mk_civet_fprintf(FILE *fp, const char *fmt, ...)
{
    if (fp == stderr && strncmp(fmt, "SSL read failed", 15) == 0)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(fp, fmt, ap);
    va_end(ap);
    return n;
}
#define fprintf mk_civet_fprintf

#include "civetweb.c"

#undef fprintf

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
