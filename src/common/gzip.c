/* gzip.c: bounded gunzip with zlib; see gzip.h. */
#include "gzip.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

int mk_gunzip(const void *in, size_t n, size_t limit, mk_buf *out)
{
    if (n < 2 || ((const unsigned char *)in)[0] != 0x1f || ((const unsigned char *)in)[1] != 0x8b)
        return MK_GZ_BAD;

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) /* 16+: gzip wrapper only */
        return MK_GZ_NOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    int rc = MK_GZ_OK;
    size_t left = n;
    for (;;) {
        zs.avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
        size_t before_in = zs.avail_in;
        if (mk_buf_reserve(out, 16384) != 0) {
            rc = out->err == MK_BUF_ELIMIT ? MK_GZ_TOO_BIG : MK_GZ_NOMEM;
            break;
        }
        size_t room = out->cap - out->len - 1;
        if (limit && room > limit - out->len + 1)
            room = limit - out->len + 1; /* one byte past the cap detects overflow */
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        size_t before_out = zs.avail_out;
        int z = inflate(&zs, Z_NO_FLUSH);
        out->len += before_out - zs.avail_out;
        out->data[out->len] = '\0';
        left -= before_in - zs.avail_in;
        if (limit && out->len > limit) {
            rc = MK_GZ_TOO_BIG;
            break;
        }
        if (z == Z_STREAM_END) {
            if (left == 0)
                break;
            /* Go reads concatenated members as one stream */
            const unsigned char *nx = zs.next_in;
            if (left < 2 || nx[0] != 0x1f || nx[1] != 0x8b) {
                rc = MK_GZ_BAD;
                break;
            }
            inflateReset(&zs);
            continue;
        }
        if (z == Z_MEM_ERROR) {
            rc = MK_GZ_NOMEM;
            break;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            rc = MK_GZ_BAD;
            break;
        }
        if (z == Z_BUF_ERROR && left == 0) {
            rc = MK_GZ_BAD; /* truncated stream */
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}
