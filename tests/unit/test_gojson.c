/* test_gojson.c: gojson.c against Go's encoding/json and time behaviour.
 * Expected strings are what Go 1.24 produces for the same input. */
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"

/* Appends with fn and compares the buffer to the expected bytes. */
#define EXPECT_BUF(b, want, wantlen)                       \
    do {                                                   \
        assert_int_equal((b)->err, 0);                     \
        assert_int_equal((b)->len, (wantlen));             \
        assert_memory_equal((b)->data, (want), (wantlen)); \
    } while (0)

static void check_string(const char *in, size_t n, const char *want)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    gj_write_string(&b, in, n);
    EXPECT_BUF(&b, want, strlen(want));
    mk_buf_free(&b);
}

static void test_write_string_escapes(void **state)
{
    (void)state;
    check_string("", 0, "\"\"");
    check_string("plain ascii~\x7f", 13, "\"plain ascii~\x7f\"");
    check_string("<a href=\"x\">&</a>", 17,
                 "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
    check_string("back\\slash", 10, "\"back\\\\slash\"");
    /* Go 1.22+: \b and \f get short escapes; other controls \u00XX. */
    check_string("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
    check_string("\x01\x0b\x1f", 3, "\"\\u0001\\u000b\\u001f\"");
    check_string("a\0b", 3, "\"a\\u0000b\"");
    check_string("/", 1, "\"/\"");
}

static void test_write_string_utf8(void **state)
{
    (void)state;
    check_string("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    /* U+2028 / U+2029 escaped, U+FFFD itself kept. */
    check_string("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xef\xbf\xbd", 12,
                 "\"a\\u2028b\\u2029c\xef\xbf\xbd\"");
    /* Invalid bytes: each becomes the escape \ufffd, as Go writes it. */
    check_string("a\xff" "b", 3, "\"a\\ufffdb\"");
    check_string("\xc0\x80", 2, "\"\\ufffd\\ufffd\"");             /* overlong */
    check_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");  /* surrogate */
    check_string("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    check_string("\xe2\x82", 2, "\"\\ufffd\\ufffd\"");             /* truncated */
    check_string("\xe2\x82x", 3, "\"\\ufffd\\ufffdx\"");
}

/* Long strings are escaped in slices of 4096 bytes: runes cut by a slice's
 * end, escapes on either side of it, and a capped buffer (which cannot hold
 * a slice's worst case and takes the byte-by-byte way) give the same bytes. */
static void test_write_string_slices(void **state)
{
    (void)state;
    static const char *const tails[] = {"\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xe2\x82", "\xff", "<\"", "\x01"};
    static const char *const shown[] = {"\xc3\xa9", "\\u2028", "\xf0\x9f\x98\x80", "\\ufffd\\ufffd", "\\ufffd",
                                        "\\u003c\\\"", "\\u0001"};
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        for (size_t before = 4090; before <= 4097; before++) {
            size_t tl = strlen(tails[t]), n = before + tl + 3;
            char *in = malloc(n);
            mk_buf want;
            mk_buf_init(&want, 0);
            assert_non_null(in);
            memset(in, 'a', before);
            memcpy(in + before, tails[t], tl);
            memcpy(in + before + tl, "z>z", 3);
            mk_buf_putc(&want, '"');
            for (size_t i = 0; i < before; i++)
                mk_buf_putc(&want, 'a');
            mk_buf_puts(&want, shown[t]);
            mk_buf_puts(&want, "z\\u003ez\"");
            for (int capped = 0; capped < 2; capped++) {
                mk_buf b;
                mk_buf_init(&b, capped ? want.len : 0); /* the cap is on len, the NUL aside */
                gj_write_string(&b, in, n);
                EXPECT_BUF(&b, want.data, want.len);
                mk_buf_free(&b);
            }
            mk_buf b;
            mk_buf_init(&b, want.len - 1); /* one byte short */
            gj_write_string(&b, in, n);
            assert_int_equal(b.err, MK_BUF_ELIMIT);
            mk_buf_free(&b);
            mk_buf_free(&want);
            free(in);
        }
    }
}

/* A reference for Go's escaping, one byte or rune at a time, written apart
 * from gojson.c: random strings (ASCII, the escaped bytes, valid and broken
 * UTF-8, U+2028/9) of up to three slices come out the same from both. */
static size_t ref_rune(const unsigned char *s, size_t n, uint32_t *r)
{
    unsigned char c = s[0];
    size_t need = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
    if (!need || need >= n)
        return 0;
    uint32_t v = c & (0x3F >> need);
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3F);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (v < min[need] || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
        return 0;
    *r = v;
    return need + 1;
}

static void ref_escape(mk_buf *b, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    mk_buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            uint32_t r = 0;
            size_t k = ref_rune(s + i, n - i, &r);
            if (!k)
                mk_buf_puts(b, "\\ufffd"), k = 1;
            else if (r == 0x2028 || r == 0x2029)
                mk_buf_puts(b, r == 0x2028 ? "\\u2028" : "\\u2029");
            else
                mk_buf_append(b, s + i, k);
            i += k;
            continue;
        }
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                      : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (e)
            mk_buf_puts(b, e);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            mk_buf_puts(b, u);
        } else
            mk_buf_putc(b, (char)c);
        i++;
    }
    mk_buf_putc(b, '"');
}

static void test_write_string_random(void **state)
{
    (void)state;
    static const char *const bits[] = {"a", "bcdefgh", "\"", "\\", "<", ">", "&", "\n", "\x01", "\x7f", "\xc3\xa9",
                                       "\xe2\x80\xa8", "\xe2\x80\xa9", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xe2\x82",
                                       "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\x80", "/"};
    unsigned seed = 12345;
    unsigned char *in = malloc(13000);
    assert_non_null(in);
    for (int round = 0; round < 300; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t want = (seed >> 8) % 12300, n = 0;
        while (n < want) {
            seed = seed * 1103515245u + 12345u;
            const char *b = bits[(seed >> 16) % (sizeof bits / sizeof bits[0])];
            size_t l = strlen(b);
            memcpy(in + n, b, l);
            n += l;
        }
        mk_buf got, ref;
        mk_buf_init(&got, 0);
        mk_buf_init(&ref, 0);
        gj_write_string(&got, (const char *)in, n);
        ref_escape(&ref, in, n);
        EXPECT_BUF(&got, ref.data, ref.len);
        assert_int_equal(gj_string_len((const char *)in, n), ref.len);
        mk_buf_free(&got);
        mk_buf_free(&ref);
    }
    free(in);
}

static void test_write_int(void **state)
{
    (void)state;
    mk_buf b;
    mk_buf_init(&b, 0);
    gj_write_int(&b, 0);
    mk_buf_putc(&b, ' ');
    gj_write_int(&b, -42);
    mk_buf_putc(&b, ' ');
    gj_write_int(&b, INT64_MIN);
    mk_buf_putc(&b, ' ');
    gj_write_int(&b, INT64_MAX);
    const char *want = "0 -42 -9223372036854775808 9223372036854775807";
    EXPECT_BUF(&b, want, strlen(want));
    mk_buf_free(&b);
}

/* Parses in and re-formats; want NULL means the parse must fail. */
static void check_time(const char *in, const char *want)
{
    gj_time t;
    int r = gj_time_parse(in, strlen(in), &t);
    if (!want) {
        if (r == 0)
            fail_msg("accepted %s", in);
        return;
    }
    if (r != 0)
        fail_msg("rejected %s", in);
    mk_buf b;
    mk_buf_init(&b, 0);
    assert_int_equal(gj_time_write(&b, &t), 0);
    if (b.len != strlen(want) + 2 || memcmp(b.data + 1, want, strlen(want)) != 0)
        fail_msg("%s formatted as %s, want \"%s\"", in, b.data, want);
    assert_int_equal(b.data[0], '"');
    assert_int_equal(b.data[b.len - 1], '"');
    mk_buf_free(&b);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    check_time("2025-01-01T00:00:00.500+01:00", "2025-01-01T00:00:00.5+01:00");
    check_time("2025-01-01T00:00:00.123000+02:00", "2025-01-01T00:00:00.123+02:00");
    check_time("2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00Z");
    check_time("2025-01-01T00:00:00-00:00", "2025-01-01T00:00:00Z");
    check_time("2025-01-01T00:00:00.000000000Z", "2025-01-01T00:00:00Z");
    check_time("2099-12-31T23:59:59Z", "2099-12-31T23:59:59Z");
    check_time("2026-11-22T15:16:56.987729818Z", "2026-11-22T15:16:56.987729818Z");
    check_time("2025-03-09T01:02:03.000000001-05:30", "2025-03-09T01:02:03.000000001-05:30");
    check_time("2024-02-29T12:00:00+14:00", "2024-02-29T12:00:00+14:00");
    check_time("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z");
    check_time("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z");
    check_time("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z");
    /* What time.Parse(RFC3339) lets through (strict checks are off in Go). */
    check_time("2025-06-01T12:00:00.1234567891Z", "2025-06-01T12:00:00.123456789Z");
    check_time("2025-01-01T1:02:03Z", "2025-01-01T01:02:03Z");
    check_time("2025-01-01T00:00:00,25Z", "2025-01-01T00:00:00.25Z");
}

static void test_time_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "2025", "2025-01-01", "2025-01-01T00:00:00", "2025-01-01t00:00:00Z",
        "2025-01-01T00:00:00z", "2025-01-01 00:00:00Z", "2025-01-01T24:00:00Z",
        "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-01-32T00:00:00Z",
        "2023-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-01-01T00:60:00Z",
        "2025-01-01T00:00:60Z", "2025-01-01T00:00:00+25:00", "2025-01-01T00:00:00+01:61",
        "2025-01-01T00:00:00+0100", "2025-01-01T00:00:00+1:00", "2025-01-01T00:00:00.Z",
        "2025-01-01T00:00:00.5", "2025-01-01T00:00:00Zjunk", "2025-01-01T00:00:00+01:00 ",
        "2025-1-01T00:00:00Z", "2025-01-1T00:00:00Z", "2025-01-01T00:0:00Z",
        " 2025-01-01T00:00:00Z", "+2025-01-01T00:00:00Z", "20250-01-01T00:00:00Z",
        "2025-01-01T001:00:00Z", "2025-01-01T00:00:00\\u005a", "2025-01-01T00:00:00 Z",
        "2025-01-01T00:00:00*01:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_time(bad[i], NULL);
}

static void test_time_values(void **state)
{
    (void)state;
    gj_time t;
    assert_int_equal(gj_time_parse("1970-01-01T00:00:00Z", 20, &t), 0);
    assert_int_equal(t.sec, 0);
    assert_int_equal(t.offset, 0);
    const char *s = "2025-01-01T00:00:00.500+01:00";
    assert_int_equal(gj_time_parse(s, strlen(s), &t), 0);
    assert_int_equal(t.sec, 1735689600 - 3600); /* 2025-01-01T00:00:00Z is 1735689600 */
    assert_int_equal(t.nsec, 500000000);
    assert_int_equal(t.offset, 3600);
    s = "0001-01-01T00:00:00Z"; /* Go's zero time */
    assert_int_equal(gj_time_parse(s, strlen(s), &t), 0);
    assert_true(t.sec == -62135596800LL);
    /* Only the given length is read. */
    assert_int_equal(gj_time_parse("2025-01-01T00:00:00Zjunk", 20, &t), 0);

    /* Accepted offsets Go cannot marshal back, and years past 9999. */
    s = "2025-01-01T00:00:00+24:00";
    assert_int_equal(gj_time_parse(s, strlen(s), &t), 0);
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "x");
    assert_int_equal(gj_time_write(&b, &t), -1);
    t.sec = 253402300800LL; /* 10000-01-01 */
    t.offset = 0;
    assert_int_equal(gj_time_write(&b, &t), -1);
    t.sec = -62167219201LL; /* one second before year 0 */
    assert_int_equal(gj_time_write(&b, &t), -1);
    EXPECT_BUF(&b, "x", 1);
    mk_buf_free(&b);

    gj_time now = gj_time_now();
    assert_int_equal(now.offset, 0);
    assert_true(now.sec > 1700000000);
    assert_true(now.nsec >= 0 && now.nsec < 1000000000);
}

/* Scans in; for success checks kind and span, for failure the offset. */
static void scan_ok(const char *in, gj_kind kind, size_t start, size_t end)
{
    size_t pos = 0, s = 99, e = 99;
    gj_kind k;
    if (gj_scan_value(in, strlen(in), &pos, &k, &s, &e) != 0)
        fail_msg("rejected <%s> at %zu", in, pos);
    assert_int_equal(k, kind);
    assert_int_equal(s, start);
    assert_int_equal(e, end);
    assert_int_equal(pos, end);
}

static void scan_bad(const char *in, size_t n, size_t at)
{
    size_t pos = 0, s, e;
    gj_kind k;
    if (gj_scan_value(in, n, &pos, &k, &s, &e) == 0)
        fail_msg("accepted <%.*s>", (int)n, in);
    if (pos != at)
        fail_msg("<%.*s>: error at %zu, want %zu", (int)n, in, pos, at);
}

static void test_scan_valid(void **state)
{
    (void)state;
    scan_ok("null", GJ_NULL, 0, 4);
    scan_ok(" true ", GJ_TRUE, 1, 5);
    scan_ok("\tfalse,", GJ_FALSE, 1, 6);
    scan_ok("-0.5e+10x", GJ_NUMBER, 0, 8);
    scan_ok("01", GJ_NUMBER, 0, 1); /* Go decodes the 0 and ignores the rest */
    scan_ok("1E5", GJ_NUMBER, 0, 3);
    scan_ok("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00E9\"", GJ_STRING, 0, 25);
    scan_ok("\r\n[ 1 , [ ] , { } , \"x\" ] ]", GJ_ARRAY, 2, 25);
    scan_ok("{\"a\" : {\"b\":[null]} , \"c\":1} garbage", GJ_OBJECT, 0, 28);
    scan_ok("\"\x7f\xff\xfe\"", GJ_STRING, 0, 5); /* Go accepts any byte >= 0x20 */
}

static void test_scan_invalid(void **state)
{
    (void)state;
    scan_bad("", 0, 0);
    scan_bad(" \n\t\r", 4, 4);
    scan_bad("[1,]", 4, 3);
    scan_bad("{\"a\" 1}", 7, 5);
    scan_bad("{\"a\":1,}", 8, 7);
    scan_bad("{1:2}", 5, 1);
    scan_bad("{\"a\":}", 6, 5);
    scan_bad("[1 2]", 5, 3);
    scan_bad("[1}", 3, 2);
    scan_bad("tru", 3, 3);
    scan_bad("trux", 4, 3);
    scan_bad("nul", 3, 3);
    scan_bad("-", 1, 1);
    scan_bad("-a", 2, 1);
    scan_bad("1.", 2, 2);
    scan_bad("1.e5", 4, 2);
    scan_bad("1e", 2, 2);
    scan_bad("1e+", 3, 3);
    scan_bad(".5", 2, 0);
    scan_bad("+1", 2, 0);
    scan_bad("\"a\x01\"", 4, 2);
    scan_bad("\"a\nb\"", 5, 2);
    scan_bad("\"\\x\"", 4, 2);
    scan_bad("\"\\'\"", 4, 2);
    scan_bad("\"\\u12g4\"", 8, 5);
    scan_bad("\"abc", 4, 4);
    scan_bad("[", 1, 1);
    scan_bad("{", 1, 1);
    scan_bad("{\"a\":[1,{\"b\":2}", 15, 15);
    scan_bad("'a'", 3, 0);
    scan_bad("\xef\xbb\xbf{}", 5, 0); /* a BOM is not whitespace to Go */
}

static void test_scan_depth(void **state)
{
    (void)state;
    size_t n = 100000;
    char *p = malloc(2 * n);
    assert_non_null(p);
    /* 10000 levels are fine, as in Go. */
    memset(p, '[', 10000);
    memset(p + 10000, ']', 10000);
    size_t pos = 0, s, e;
    gj_kind k;
    assert_int_equal(gj_scan_value(p, 20000, &pos, &k, &s, &e), 0);
    assert_int_equal(e, 20000);
    /* 10001 are not; the error is at the bracket that goes too deep. */
    memset(p, '[', 10001);
    memset(p + 10001, ']', 10001);
    pos = 0;
    assert_int_equal(gj_scan_value(p, 20002, &pos, &k, &s, &e), -1);
    assert_int_equal(pos, 10000);
    /* 100000 '[' fails cleanly without recursion. */
    memset(p, '[', n);
    pos = 0;
    assert_int_equal(gj_scan_value(p, n, &pos, &k, &s, &e), -1);
    assert_int_equal(pos, 10000);
    /* Deep objects: {"a":{"a":...}} */
    mk_buf b;
    mk_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        mk_buf_puts(&b, "{\"a\":");
    mk_buf_puts(&b, "1");
    for (int i = 0; i < 10000; i++)
        mk_buf_putc(&b, '}');
    pos = 0;
    assert_int_equal(gj_scan_value(b.data, b.len, &pos, &k, &s, &e), 0);
    assert_int_equal(e, b.len);
    mk_buf_free(&b);
    free(p);
}

static void check_decode(const char *lit, size_t n, const char *want, size_t wantlen)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    if (gj_string_decode(lit, n, &b) != 0)
        fail_msg("rejected %.*s", (int)n, lit);
    EXPECT_BUF(&b, want, wantlen);
    mk_buf_free(&b);
}
#define DEC(lit, want) check_decode(lit, sizeof(lit) - 1, want, sizeof(want) - 1)

static void test_string_decode(void **state)
{
    (void)state;
    DEC("\"\"", "");
    DEC("\"plain\"", "plain");
    DEC("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t");
    DEC("\"\\u00e9\\u00C9\"", "\xc3\xa9\xc3\x89");
    DEC("\"\\u0000\"", "\0");
    DEC("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    /* Lone or mismatched surrogates: U+FFFD (EF BF BD), next escape read alone. */
    DEC("\"\\ud800\"", "\xef\xbf\xbd");
    DEC("\"\\udc00x\"", "\xef\xbf\xbdx");
    DEC("\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A");
    DEC("\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80");
    DEC("\"\\udc00\\ud800\"", "\xef\xbf\xbd\xef\xbf\xbd");
    /* Invalid UTF-8 bytes each become U+FFFD; valid runes stay. */
    DEC("\"a\xff" "b\"", "a\xef\xbf\xbd" "b");
    DEC("\"\xed\xa0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    DEC("\"\xe2\x82\"", "\xef\xbf\xbd\xef\xbf\xbd");
    DEC("\"\xe2\x80\xa8<\"", "\xe2\x80\xa8<");

    mk_buf b;
    mk_buf_init(&b, 0);
    assert_int_equal(gj_string_decode("abc", 3, &b), -1);
    assert_int_equal(gj_string_decode("\"a\"b\"", 5, &b), -1);
    assert_int_equal(gj_string_decode("\"\\x\"", 4, &b), -1);
    assert_int_equal(gj_string_decode("\"\\u12\"", 6, &b), -1);
    assert_int_equal(gj_string_decode("\"a\x01\"", 4, &b), -1);
    assert_int_equal(gj_string_decode("\"", 1, &b), -1);
    mk_buf_free(&b);
}

static void check_raw(const char *in, const char *want)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "=");
    int r = gj_write_raw(&b, in, strlen(in));
    if (!want) {
        assert_int_equal(r, -1);
        EXPECT_BUF(&b, "=", 1);
    } else {
        if (r != 0)
            fail_msg("rejected %s", in);
        if (b.len != strlen(want) + 1 || memcmp(b.data + 1, want, strlen(want)) != 0)
            fail_msg("%s compacted to %s, want %s", in, b.data + 1, want);
    }
    mk_buf_free(&b);
}

static void test_write_raw(void **state)
{
    (void)state;
    check_raw("{\"b\" : 1.50, \"a\":\"\\u00e9<\"}", "{\"b\":1.50,\"a\":\"\\u00e9\\u003c\"}");
    check_raw(" [ \"a b\" ,\n\t1e5 , -0, true,null ] \n", "[\"a b\",1e5,-0,true,null]");
    check_raw("{\"k\":1,\"k\":2}", "{\"k\":1,\"k\":2}");
    check_raw("\"x\xe2\x80\xa8y\xe2\x80\xa9z&>\"", "\"x\\u2028y\\u2029z\\u0026\\u003e\"");
    check_raw("[\"a\\\\\", \"<\"]", "[\"a\\\\\",\"\\u003c\"]");
    check_raw("\"\\\"<\"", "\"\\\"\\u003c\"");
    check_raw("\"\xff\xfe kept\"", "\"\xff\xfe kept\"");
    check_raw("\"\\u003c \\ud800\"", "\"\\u003c \\ud800\"");
    check_raw("\"-----BEGIN\\nX\"", "\"-----BEGIN\\nX\"");
    check_raw("12", "12");
    check_raw("", NULL);
    check_raw("  ", NULL);
    check_raw("{} x", NULL);
    check_raw("[1,]", NULL);
    check_raw("{\"a\":1} {}", NULL);
}

static void test_iter(void **state)
{
    (void)state;
    const char *p = " { \"a\" : 1 , \"b\":[2, 3] ,\"\":{} } ";
    size_t pos = 0, s, e, ks, ke, vs, ve;
    gj_kind k, vk;
    assert_int_equal(gj_scan_value(p, strlen(p), &pos, &k, &s, &e), 0);
    gj_iter it;
    gj_iter_init(&it, p, s, e);
    assert_int_equal(gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve), 1);
    assert_memory_equal(p + ks, "\"a\"", 3);
    assert_int_equal(ke - ks, 3);
    assert_int_equal(vk, GJ_NUMBER);
    assert_memory_equal(p + vs, "1", ve - vs);
    assert_int_equal(gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve), 1);
    assert_int_equal(vk, GJ_ARRAY);
    gj_iter inner;
    gj_iter_init(&inner, p, vs, ve);
    size_t n = 0;
    size_t is, ie;
    gj_kind ik;
    while (gj_iter_next(&inner, NULL, NULL, &ik, &is, &ie) == 1) {
        assert_int_equal(ik, GJ_NUMBER);
        n++;
    }
    assert_int_equal(n, 2);
    assert_int_equal(gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve), 1);
    assert_int_equal(ke - ks, 2);
    assert_int_equal(vk, GJ_OBJECT);
    assert_int_equal(gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve), 0);

    const char *empty = "[ ]";
    gj_iter_init(&it, empty, 0, 3);
    assert_int_equal(gj_iter_next(&it, NULL, NULL, &vk, &vs, &ve), 0);
    const char *bad = "[1 2]"; /* not validated first: the iterator still refuses */
    gj_iter_init(&it, bad, 0, 5);
    assert_int_equal(gj_iter_next(&it, NULL, NULL, &vk, &vs, &ve), 1);
    assert_int_equal(gj_iter_next(&it, NULL, NULL, &vk, &vs, &ve), -1);
}

/* Walks every container of a valid document with gj_iter and checks each
 * element's span and kind against gj_scan_value run on it: the iterator's
 * fast skipping must agree with full scanning on valid input. */
static void iter_agrees(const char *p, size_t s, size_t e, int *checked)
{
    gj_iter it;
    gj_kind vk, k2;
    size_t ks = 0, ke = 0, vs = 0, ve = 0, pos, s2, e2;
    int r;
    gj_iter_init(&it, p, s, e);
    while ((r = gj_iter_next(&it, p[s] == '{' ? &ks : NULL, p[s] == '{' ? &ke : NULL, &vk, &vs, &ve)) == 1) {
        if (p[s] == '{') {
            pos = ks;
            assert_int_equal(gj_scan_value(p, e, &pos, &k2, &s2, &e2), 0);
            assert_int_equal(k2, GJ_STRING);
            assert_int_equal(s2, ks);
            assert_int_equal(e2, ke);
        }
        pos = vs;
        assert_int_equal(gj_scan_value(p, e, &pos, &k2, &s2, &e2), 0);
        assert_int_equal(k2, vk);
        assert_int_equal(s2, vs);
        assert_int_equal(e2, ve);
        (*checked)++;
        if (vk == GJ_OBJECT || vk == GJ_ARRAY)
            iter_agrees(p, vs, ve, checked);
    }
    assert_int_equal(r, 0);
}

static void test_iter_fast_skip(void **state)
{
    static const char *const docs[] = {
        "{\"a\":\"x\\\"]}\\\\\",\"b\":[\"\\\\\",\"\\\\\\\"\",{\"c\":\"}\"}],\"d\":-1.5e+3,\"e\":true,"
        "\"f\":false,\"g\":null,\"h\":{},\"i\":[],\"\\u0022k\\\"\":[[[[1]]]]}",
        " [ 1 , \"two\" , { \"3\" : [ 4 , { } ] } , null , 0 , -0.0 , 1E9 ] ",
        "{\"node_id\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"mesh\":{\"interface\":\"wg0\","
        "\"peer_count\":2},\"nat\":{\"public_endpoint\":\"198.51.100.1:51820\"},\"x\":\"\\u00e9\\n\"}",
        "[\"\\\\\\\\\",\"a\\\\\\\\\\\"b\",\"\\\"\\\"\",\"\"]",
    };
    (void)state;
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        const char *p = docs[d];
        size_t pos = 0, s, e;
        gj_kind k;
        int checked = 0;
        assert_int_equal(gj_scan_value(p, strlen(p), &pos, &k, &s, &e), 0);
        iter_agrees(p, s, e, &checked);
        assert_true(checked > 3);
    }
}

int run_gojson_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_string_escapes),
        cmocka_unit_test(test_write_string_utf8),
        cmocka_unit_test(test_write_string_slices),
        cmocka_unit_test(test_write_string_random),
        cmocka_unit_test(test_write_int),
        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_time_rejects),
        cmocka_unit_test(test_time_values),
        cmocka_unit_test(test_scan_valid),
        cmocka_unit_test(test_scan_invalid),
        cmocka_unit_test(test_scan_depth),
        cmocka_unit_test(test_string_decode),
        cmocka_unit_test(test_write_raw),
        cmocka_unit_test(test_iter),
        cmocka_unit_test(test_iter_fast_skip),
    };
    return cmocka_run_group_tests_name("gojson", tests, NULL, NULL);
}
