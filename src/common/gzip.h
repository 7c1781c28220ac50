/* gzip.h: bounded gzip decoding of request bodies (zlib).
 *
 * Mirrors Go's gzip.Reader as the reference uses it: concatenated members
 * are one stream, an empty body or a bad header is an error, bytes after the
 * last member must be another valid member. Unlike the reference, output is
 * capped so a gzip bomb costs at most `limit` bytes of memory. Pure. */
#ifndef MK_GZIP_H
#define MK_GZIP_H

#include <stddef.h>

#include "buf.h"

enum { MK_GZ_OK = 0, MK_GZ_BAD = -1, MK_GZ_TOO_BIG = -2, MK_GZ_NOMEM = -3 };

/* Decodes in[0..n) and appends the result to out. limit caps the decoded
 * size (0 = none). Returns MK_GZ_OK or a negative MK_GZ_* code; on error
 * out's contents are unspecified. */
int mk_gunzip(const void *in, size_t n, size_t limit, mk_buf *out);

#endif
