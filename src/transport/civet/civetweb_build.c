/* civetweb_build.c: compiles civetweb (Debian's source package, fetched into
 * build/third_party by ci/setup.sh; never committed) as part of this
 * translation unit, so that its internal head parser can be called
 * (civet_parse.h).
 *
 * The civetweb internals used here, and why:
 *  - get_http_header_len(): where a request head ends (bare LFs included);
 *  - parse_http_request() and struct mg_request_info: the request line and
 *    headers, with civetweb's rules for what is well-formed.
 * Both exist with these signatures in civetweb 1.15 and 1.16. Nothing else
 * of civetweb is used, so it is built without TLS (NO_SSL) and without the
 * features a server of files would need (premake5.lua). */

/* Before the first system header: civetweb.c defines _GNU_SOURCE itself, but
 * headers read before it would hide pthread_setname_np from civetweb, and
 * GCC 14 makes that implicit declaration an error. premake5.lua passes
 * -D_GNU_SOURCE too; this keeps the file right without that flag. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

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
