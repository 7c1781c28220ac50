/* civetweb_build.c: compiles civetweb (Debian's source package, fetched into
 * build/third_party by ci/setup.sh; never committed) as part of this
 * translation unit, so that its internal head parser can be called
 * (civet_parse.h).
 *
 * The civetweb internals used here, and why:
 *  - get_http_header_len(): where a request head ends (bare LFs included);
 *  - parse_http_request() and struct mg_request_info: the request line and
 *    headers, with civetweb's rules for what is well-formed.
 * Both exist with these signatures in civetweb 1.15 and 1.16. Everything
 * else of civetweb is used through its public API (the -check client). */

/* Before the first system header: civetweb.c defines _GNU_SOURCE itself, but
 * headers read before it would hide pthread_setname_np from civetweb, and
 * GCC 14 makes that implicit declaration an error. premake5.lua passes
 * -D_GNU_SOURCE too; this keeps the file right without that flag. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* civetweb 1.15 prints "SSL read failed" to stderr, unconditionally, every
 * time a TLS peer closes its connection (mbedTLS reports the peer's
 * close_notify as a read error); the -check client over https would print
 * it. Its other fprintf calls pass through. */
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

/* civetweb is third-party code: its warnings are not ours to fix. Ours
 * (this file's own functions) get the project's full set. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wcpp"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wformat=2"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wvla"
#pragma GCC diagnostic ignored "-Wpointer-arith"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable" /* 1.16 with GCC 14 */
#include "civetweb.c"
#pragma GCC diagnostic pop
#include "civet_version.h"

#undef fprintf

#include "civet_parse.h"

int mk_civet_head_len(const char *buf, int len)
{
    return get_http_header_len(buf, len);
}

int mk_civet_parse_head(char *buf, int len, mk_civet_head *out)
{
    struct mg_request_info ri;
    memset(&ri, 0, sizeof ri);
    int n = parse_http_request(buf, len, &ri);
    if (n <= 0)
        return n;
    out->method = ri.request_method;
    out->uri = ri.request_uri;
    out->version = ri.http_version;
    out->nheaders = ri.num_headers;
    for (int i = 0; i < ri.num_headers && i < 64; i++) {
        out->headers[i].name = ri.http_headers[i].name;
        out->headers[i].value = ri.http_headers[i].value;
    }
    return n;
}
