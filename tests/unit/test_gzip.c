/* test_gzip.c: bounded gunzip (gzip.c). Inputs are made with zlib here. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"
#include "unit.h"

/* gzip-compresses in into a new buffer (free it). */
static unsigned char *gz(const void *in, size_t n, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void test_roundtrip(void **st)
{
    (void)st;
    const char msg[] = "{\"node_id\":\"n1\"}";
    size_t n;
    unsigned char *z = gz(msg, sizeof msg - 1, &n);
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(mk_gunzip(z, n, 1024, &out), MK_GZ_OK);
    assert_int_equal(out.len, sizeof msg - 1);
    assert_memory_equal(out.data, msg, out.len);
    mk_buf_free(&out);
    free(z);
}

static void test_concatenated_members(void **st)
{
    (void)st;
    size_t n1, n2;
    unsigned char *a = gz("abc", 3, &n1), *b = gz("def", 3, &n2);
    unsigned char *both = malloc(n1 + n2);
    memcpy(both, a, n1);
    memcpy(both + n1, b, n2);
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(mk_gunzip(both, n1 + n2, 0, &out), MK_GZ_OK);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.data, "abcdef", 6);
    mk_buf_free(&out);
    free(a);
    free(b);
    free(both);
}

static void test_bomb_is_capped(void **st)
{
    (void)st;
    size_t big = 32u << 20, n;
    char *zeros = calloc(1, big);
    unsigned char *z = gz(zeros, big, &n);
    free(zeros);
    assert_true(n < 64 * 1024); /* a real bomb: tiny in, huge out */
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(mk_gunzip(z, n, 1u << 20, &out), MK_GZ_TOO_BIG);
    assert_true(out.cap <= (2u << 20)); /* memory stayed within 2x the cap */
    mk_buf_free(&out);
    /* exactly at the cap is fine */
    mk_buf_init(&out, 0);
    assert_int_equal(mk_gunzip(z, n, big, &out), MK_GZ_OK);
    assert_int_equal(out.len, big);
    mk_buf_free(&out);
    free(z);
}

static void test_malformed(void **st)
{
    (void)st;
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(mk_gunzip("", 0, 0, &out), MK_GZ_BAD);
    assert_int_equal(mk_gunzip("not gzip", 8, 0, &out), MK_GZ_BAD);
    size_t n;
    unsigned char *z = gz("hello world", 11, &n);
    mk_buf_reset(&out);
    assert_int_equal(mk_gunzip(z, n - 6, 0, &out), MK_GZ_BAD); /* truncated */
    unsigned char *junk = malloc(n + 3);
    memcpy(junk, z, n);
    memcpy(junk + n, "xyz", 3);
    mk_buf_reset(&out);
    assert_int_equal(mk_gunzip(junk, n + 3, 0, &out), MK_GZ_BAD); /* trailing garbage */
    z[n - 5] ^= 0xff; /* corrupt the CRC/length trailer */
    mk_buf_reset(&out);
    assert_int_equal(mk_gunzip(z, n, 0, &out), MK_GZ_BAD);
    free(junk);
    free(z);
    mk_buf_free(&out);
}

int run_gzip_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_concatenated_members),
        cmocka_unit_test(test_bomb_is_capped),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests_name("gzip", tests, NULL, NULL);
}
