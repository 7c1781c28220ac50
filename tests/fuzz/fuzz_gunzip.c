/* fuzz_gunzip.c: a libFuzzer target for the bounded gunzip of request
 * bodies (src/common/gzip.c).
 *
 * Input: 2 bytes of cap (little-endian; 0 means none, as in gzip.h), 1 byte
 * that says where to split the payload into two gzip members, then the
 * payload, which is used twice: as a (mostly broken) gzip stream, and as
 * plain bytes compressed here with zlib, the system library the server
 * links anyway.
 *
 * Checked, besides what the sanitizers see:
 *  - the result is OK, BAD or TOO_BIG (never NOMEM for inputs this small);
 *    with a cap, OK output is at most the cap and TOO_BIG output at most
 *    one byte past it: decoded memory stays bounded;
 *  - the cap only cuts: capped OK means uncapped OK with the same bytes,
 *    capped BAD means uncapped BAD, capped TOO_BIG means uncapped gives
 *    more than the cap or finds the stream broken further on;
 *  - round trip: gzip(payload) decodes to the payload; so does
 *    gzip(first part) + gzip(second part) (concatenated members are one
 *    stream, as in Go); with a cap one byte short, it is TOO_BIG; a
 *    truncated stream is BAD; trailing garbage after a member is BAD. */
#include "fuzz_check.h"

#include <zlib.h>

#include "gzip.h"

static int gunzip(const void *in, size_t n, size_t cap, mk_buf *out)
{
    char *copy = fuzz_copy(in, n, 0); /* exact size: no reading past the body */
    mk_buf_init(out, 0);
    int rc = mk_gunzip(copy, n, cap, out);
    free(copy);
    CHECK(rc == MK_GZ_OK || rc == MK_GZ_BAD || rc == MK_GZ_TOO_BIG);
    if (cap && rc == MK_GZ_OK)
        CHECK(out->len <= cap);
    if (cap && rc == MK_GZ_TOO_BIG)
        CHECK(out->len <= cap + 1);
    return rc;
}

/* Appends one gzip member holding p[0..n) to b. */
static void gzip_member(mk_buf *b, const uint8_t *p, size_t n, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n) + 32;
    CHECK(mk_buf_reserve(b, bound) == 0);
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)b->data + b->len;
    zs.avail_out = (uInt)bound;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    b->len += bound - zs.avail_out;
    deflateEnd(&zs);
}

static void expect_payload(const mk_buf *gz, size_t cut, const uint8_t *p, size_t n)
{
    mk_buf out;
    CHECK(gunzip(gz->data, cut, 0, &out) == MK_GZ_OK);
    CHECK(out.len == n && (n == 0 || memcmp(out.data, p, n) == 0));
    mk_buf_free(&out);
    CHECK(gunzip(gz->data, cut, n + 1, &out) == MK_GZ_OK); /* a cap above is no cap */
    mk_buf_free(&out);
    if (n > 0) {
        CHECK(gunzip(gz->data, cut, n - (n > 1), &out) == (n > 1 ? MK_GZ_TOO_BIG : MK_GZ_OK));
        mk_buf_free(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t cap = (size_t)data[0] | (size_t)data[1] << 8;
    uint8_t split = data[2];
    const uint8_t *p = data + 3;
    size_t n = size - 3;

    /* the payload as a gzip stream */
    mk_buf capped, open;
    int rc = gunzip(p, n, cap, &capped);
    if (cap) {
        int rc0 = gunzip(p, n, 0, &open);
        if (rc == MK_GZ_OK) {
            CHECK(rc0 == MK_GZ_OK && open.len == capped.len &&
                  memcmp(open.data, capped.data, open.len) == 0);
        } else if (rc == MK_GZ_BAD) {
            CHECK(rc0 == MK_GZ_BAD);
        } else {
            CHECK(rc0 == MK_GZ_BAD || (rc0 == MK_GZ_OK && open.len > cap));
        }
        mk_buf_free(&open);
    }
    mk_buf_free(&capped);

    /* the payload compressed here */
    mk_buf gz;
    mk_buf_init(&gz, 0);
    gzip_member(&gz, p, n, split % 10);
    size_t one = gz.len;
    expect_payload(&gz, one, p, n);
    mk_buf out;
    CHECK(gunzip(gz.data, one - 1 - split % 8, 0, &out) == MK_GZ_BAD); /* truncated */
    mk_buf_free(&out);

    /* two members, split where the parameter says */
    size_t at = n ? (size_t)split * n / 255 : 0;
    mk_buf_reset(&gz);
    gzip_member(&gz, p, at, Z_DEFAULT_COMPRESSION);
    gzip_member(&gz, p + at, n - at, Z_BEST_SPEED);
    expect_payload(&gz, gz.len, p, n);

    /* a member, then bytes that are not another member */
    mk_buf_reset(&gz);
    gzip_member(&gz, p, n, Z_BEST_SPEED);
    CHECK(mk_buf_append(&gz, split & 1 ? "\x1f" : "x", 1) == 0);
    CHECK(gunzip(gz.data, gz.len, 0, &out) == MK_GZ_BAD);
    mk_buf_free(&out);
    mk_buf_free(&gz);
    return 0;
}
