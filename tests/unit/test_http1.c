/* test_http1.c: HTTP/1.x framing (src/transport/http1.c) and the refusals
 * (src/core/refusal.c), without sockets. The chunked decoder is checked
 * against a plain reference decode over every way of splitting the input
 * into two reads, and over seeded random bodies and splits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "errors.h"
#include "unit.h"

enum { MAXH = 1024 };

static mk_h1_verdict parse(const char *s, mk_h1_head *h)
{
    static char scratch[MAXH + 1];
    return mk_h1_parse(s, strlen(s), MAXH, scratch, h);
}

static void h1_heads(void **state)
{
    (void)state;
    mk_h1_head h;
    assert_int_equal(parse("GET /v1/ping HTTP/1.1\r\nHost: x\r\n", &h), MK_H1_INCOMPLETE);
    assert_int_equal(parse("GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n", &h), MK_H1_OK);
    assert_string_equal(h.h.method, "GET");
    assert_string_equal(h.h.uri, "/v1/ping");
    assert_false(h.close);
    assert_int_equal(h.head_len, 34);
    /* bare LFs end a head too */
    assert_int_equal(parse("GET / HTTP/1.1\nHost: x\n\n", &h), MK_H1_OK);
    /* HTTP/1.0 closes; another 1.x minor is spoken as 1.1; 2.0 is refused */
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h), MK_H1_OK);
    assert_true(h.close);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h), MK_H1_OK);
    assert_true(h.close);
    assert_int_equal(parse("GET / HTTP/1.2\r\n\r\n", &h), MK_H1_OK);
    assert_false(h.close);
    assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(h.refuse_status, 505);
    assert_int_equal(parse("GET /\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(h.refuse_status, 400);
    /* Go's version rule: one digit, a dot, one digit; a major other than 1
     * is 505 (no echo of it: errors.c), anything else 400 */
    static const struct {
        const char *v;
        int status;
    } vers[] = {{"0.9", 505}, {"3.7", 505}, {"1.10", 400}, {"2.0x", 400}, {"1", 400}, {"x.1", 400}};
    for (size_t i = 0; i < sizeof vers / sizeof vers[0]; i++) {
        char req[64];
        snprintf(req, sizeof req, "GET / HTTP/%s\r\n\r\n", vers[i].v);
        if (parse(req, &h) != MK_H1_REFUSE || h.refuse_status != vers[i].status)
            fail_msg("HTTP/%s was not refused with %d", vers[i].v, vers[i].status);
    }
    /* Connection is a list */
    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", &h), MK_H1_OK);
    assert_true(h.close);
    /* the target forms served (RFC 9112 §3.2): origin, absolute, asterisk;
     * authority-form (CONNECT's) and anything else is refused */
    assert_int_equal(parse("GET http://x/v1/ping?a=1 HTTP/1.1\r\n\r\n", &h), MK_H1_OK);
    assert_string_equal(h.h.uri, "http://x/v1/ping?a=1");
    assert_int_equal(parse("GET HTTPS://x HTTP/1.1\r\n\r\n", &h), MK_H1_OK);
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\n\r\n", &h), MK_H1_OK);
    assert_string_equal(h.h.uri, "*");
    static const char *const targets[] = {"x/y", "x:443", "**", "1http://x/", "http:/x/", "http//x"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", targets[i]);
        if (parse(req, &h) != MK_H1_REFUSE || h.refuse_status != 400)
            fail_msg("target \"%s\" was not refused with 400", targets[i]);
    }
    /* a head that does not end within the limit */
    char big[MAXH + 64];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(parse(big, &h), MK_H1_REFUSE);
    assert_int_equal(h.refuse_status, 431);
}

static void h1_lengths(void **state)
{
    (void)state;
    mk_h1_head h;
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &h), MK_H1_OK);
    assert_int_equal(h.content_length, 12);
    assert_false(h.chunked);
    /* Go's strconv.ParseUint(v, 10, 63), optional white space trimmed */
    static const char *const bad[] = {"abc", "+2", "-2", "-1", "2abc", "2, 50", " ", "", "0x10",
                                      "2 2", "9223372036854775808", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
        if (parse(req, &h) != MK_H1_REFUSE || h.refuse_status != 400)
            fail_msg("Content-Length \"%s\" was not refused with 400", bad[i]);
    }
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", &h),
                     MK_H1_OK); /* the largest Go takes (a body cap refuses it later) */
    assert_true(h.content_length == 9223372036854775807ULL);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 007 \t\r\n\r\n", &h), MK_H1_OK);
    assert_int_equal(h.content_length, 7);
    /* the same value twice is one value; two values are ambiguous */
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n", &h),
                     MK_H1_OK);
    assert_int_equal(h.content_length, 2);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", &h),
                     MK_H1_REFUSE);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\n", &h),
                     MK_H1_REFUSE); /* compared as text, as Go does */
    assert_int_equal(h.refuse_status, 400);
    /* chunked, and only that */
    assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n", &h), MK_H1_OK);
    assert_true(h.chunked);
    assert_false(h.close);
    assert_int_equal(h.content_length, 0);
    static const struct {
        const char *fields;
        int status;
    } te[] = {
        /* both framings: the request-smuggling shape (nginx: 400) */
        {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400},
        {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400},
        {"Content-Length: 0\r\nTransfer-Encoding: gzip\r\n", 400},
        /* codings other than one "chunked" (Go: 501) */
        {"Transfer-Encoding: gzip\r\n", 501},
        {"Transfer-Encoding: gzip, chunked\r\n", 501},
        {"Transfer-Encoding: chunked, chunked\r\n", 501},
        {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 501},
        {"Transfer-Encoding: \r\n", 501},
        {"Transfer-Encoding: identity\r\n", 501},
    };
    for (size_t i = 0; i < sizeof te / sizeof te[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "POST / HTTP/1.1\r\n%s\r\n", te[i].fields);
        if (parse(req, &h) != MK_H1_REFUSE || h.refuse_status != te[i].status)
            fail_msg("\"%s\" was not refused with %d", te[i].fields, te[i].status);
    }
    /* HTTP/1.0 has no chunked coding (RFC 9112 §6.1; nginx: 400) */
    assert_int_equal(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(h.refuse_status, 400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &h),
                     MK_H1_OK);
    assert_true(h.expect_continue);
    assert_int_equal(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &h),
                     MK_H1_OK);
    assert_false(h.expect_continue);
}

/* Field lines: names are tokens with the colon right after them, no line
 * begins with white space, TAB is white space in a value, values are
 * trimmed; at most 64 fields (431 past that, never a silent drop). */
static void h1_fields(void **state)
{
    (void)state;
    mk_h1_head h;
    static const char *const bad[] = {
        "Authorization : Bearer x\r\n", /* white space before the colon */
        "Authorization\t: Bearer x\r\n",
        ": v\r\n",                       /* an empty name */
        "X-A: a\r\n b\r\n",               /* obs-fold */
        "X-A: a\r\n\tb\r\n",
        " X-A: a\r\n",                   /* the first field line folded onto the request line */
        "\tX-A: a\r\n",
        "X(A): a\r\n",                   /* not a token */
        "X\"A: a\r\n",
        "X\x80" "A: a\r\n",
        "X-A: a\x01" "b\r\n",              /* a control byte in a value */
        "X-A: a\x7f\r\n",
        "X-A: a\rb\r\n",                  /* a bare CR */
        "X-A\r\n",                       /* no colon */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", bad[i]);
        if (parse(req, &h) != MK_H1_REFUSE || h.refuse_status != 400)
            fail_msg("field line \"%s\" was not refused with 400", bad[i]);
        /* the bare-LF form goes through civetweb's own scan: the same */
        char lf[256];
        size_t w = 0;
        for (const char *p = req; *p && w < sizeof lf - 1; p++)
            if (!(p[0] == '\r' && p[1] == '\n'))
                lf[w++] = *p;
        lf[w] = '\0';
        if (parse(lf, &h) != MK_H1_REFUSE || h.refuse_status != 400)
            fail_msg("field line \"%s\" with bare LFs was not refused with 400", bad[i]);
    }
    /* the request line: single spaces, no TAB */
    assert_int_equal(parse("GET  / HTTP/1.1\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(parse("GET / \r\nHTTP/1.1\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(parse("GET\t/ HTTP/1.1\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(parse("GET / HTTP/1.1\t\r\n\r\n", &h), MK_H1_REFUSE);
    assert_int_equal(h.refuse_status, 400);

    /* TAB in a value and around it (RFC 9112 §5: field-value allows HTAB) */
    assert_int_equal(parse("GET / HTTP/1.1\r\nX-A:\ta\tb \t\r\nX-B: \x80\xff\r\n\r\n", &h),
                     MK_H1_OK);
    assert_int_equal(h.h.nheaders, 2);
    assert_string_equal(h.h.headers[0].name, "X-A");
    assert_string_equal(h.h.headers[0].value, "a\tb");
    assert_string_equal(h.h.headers[1].value, "\x80\xff"); /* obs-text stays as it came */
    assert_int_equal(parse("GET / HTTP/1.1\nX-A:\ta\tb\nX-B: c\n\n", &h), MK_H1_OK);
    assert_string_equal(h.h.headers[0].value, "a\tb");
    assert_string_equal(h.h.headers[1].value, "c");
    assert_int_equal(parse("GET / HTTP/1.1\r\nX-Empty:\r\nX-Tabs: \t \r\n\r\n", &h), MK_H1_OK);
    assert_string_equal(h.h.headers[0].value, "");
    assert_string_equal(h.h.headers[1].value, "");

    /* 64 fields are taken, 65 are 431 (before Authorization or not) */
    char req[4096];
    for (int n = 63; n <= 70; n++) {
        size_t w = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < n; i++)
            w += (size_t)snprintf(req + w, sizeof req - w, "X-%d: v\r\n", i);
        snprintf(req + w, sizeof req - w, "Authorization: Bearer x\r\n\r\n");
        static char scratch[sizeof req + 1];
        mk_h1_verdict v = mk_h1_parse(req, strlen(req), sizeof req, scratch, &h);
        if (n + 1 <= 64) {
            assert_int_equal(v, MK_H1_OK);
            assert_string_equal(h.h.headers[n].name, "Authorization");
        } else {
            assert_int_equal(v, MK_H1_REFUSE);
            assert_int_equal(h.refuse_status, 431);
        }
    }
}

/* Decodes raw fed in pieces at the given split points. Returns the final
 * status; *out / *outn the decoded body, *used the raw bytes consumed. */
static int feed(const char *raw, size_t n, const size_t *cuts, int ncuts, uint64_t cap, char **out,
                size_t *outn, size_t *used)
{
    char *buf = malloc(n + 1);
    size_t len = 0, fed = 0;
    mk_chunked c = {0};
    int r = MK_CHUNKED_MORE;
    for (int k = 0; k <= ncuts && r == MK_CHUNKED_MORE; k++) {
        size_t upto = k < ncuts ? cuts[k] : n;
        memcpy(buf + len, raw + fed, upto - fed);
        len += upto - fed;
        fed = upto;
        r = mk_chunked_step(&c, buf, len, cap, 256);
        mk_chunked_compact(&c, buf, &len);
    }
    *out = buf;
    *outn = c.out;
    *used = fed - (len - c.out); /* raw bytes fed minus those still unread */
    memcpy(buf + len, raw + fed, n - fed); /* what was not fed follows */
    return r;
}

static void h1_chunked_basic(void **state)
{
    (void)state;
    static const char raw[] = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    size_t n = sizeof raw - 1, body_end = n - 4;
    for (size_t cut = 0; cut <= n; cut++) {
        char *out;
        size_t outn, used;
        int r = feed(raw, n, &cut, 1, 1000, &out, &outn, &used);
        assert_int_equal(r, MK_CHUNKED_DONE);
        assert_int_equal(outn, 23);
        assert_memory_equal(out, "Wikipedia in\r\n\r\nchunks.", 23);
        assert_int_equal(used, body_end);
        /* what follows the body is intact right after it */
        assert_memory_equal(out + outn, "NEXT", 4);
        free(out);
    }
    struct {
        const char *raw;
        int want;
    } bad[] = {
        {"x\r\n", MK_CHUNKED_BAD},          {"4\r\nabcdX\r\n", MK_CHUNKED_BAD},
        {"\r\n", MK_CHUNKED_BAD},           {"FFFFFFFFFFFFFFFFF\r\n", MK_CHUNKED_BAD},
        {"2000\r\n", MK_CHUNKED_TOO_LARGE}, {"3e8\r\n", MK_CHUNKED_MORE}, /* 1000: at the cap */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out;
        size_t outn, used;
        int r = feed(bad[i].raw, strlen(bad[i].raw), NULL, 0, 1000, &out, &outn, &used);
        if (r != bad[i].want)
            fail_msg("chunked \"%s\": %d, want %d", bad[i].raw, r, bad[i].want);
        free(out);
    }
    /* an extension line over the limit */
    char longext[400] = "1;";
    memset(longext + 2, 'e', 300);
    strcpy(longext + 302, "\r\n");
    char *out;
    size_t outn, used;
    assert_int_equal(feed(longext, strlen(longext), NULL, 0, 1000, &out, &outn, &used), MK_CHUNKED_BAD);
    free(out);
}

/* Seeded random bodies, chunked at random sizes, fed at random splits. */
static void h1_chunked_random(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int iter = 0; iter < 2000; iter++) {
        size_t blen = (size_t)(rand_r(&seed) % 3000);
        char *body = malloc(blen + 1);
        for (size_t i = 0; i < blen; i++)
            body[i] = (char)(rand_r(&seed) & 0xff);
        char *raw = malloc(blen * 12 + 64);
        size_t rn = 0;
        for (size_t off = 0; off < blen;) {
            size_t k = 1 + (size_t)(rand_r(&seed) % 700);
            if (k > blen - off)
                k = blen - off;
            rn += (size_t)sprintf(raw + rn, rand_r(&seed) % 2 ? "%zx\r\n" : "%zX;a=b\r\n", k);
            memcpy(raw + rn, body + off, k);
            rn += k;
            memcpy(raw + rn, "\r\n", 2);
            rn += 2;
            off += k;
        }
        memcpy(raw + rn, "0\r\n\r\n", 5);
        rn += 5;
        size_t cuts[3];
        for (int k = 0; k < 3; k++)
            cuts[k] = rn ? (size_t)rand_r(&seed) % rn : 0;
        for (int a = 0; a < 3; a++) /* sorted */
            for (int b = a + 1; b < 3; b++)
                if (cuts[b] < cuts[a]) {
                    size_t x = cuts[a];
                    cuts[a] = cuts[b];
                    cuts[b] = x;
                }
        char *out;
        size_t outn, used;
        int r = feed(raw, rn, cuts, 3, 1 << 20, &out, &outn, &used);
        if (r != MK_CHUNKED_DONE || outn != blen || memcmp(out, body, blen) != 0 || used != rn)
            fail_msg("iteration %d: status %d, %zu of %zu bytes", iter, r, outn, blen);
        free(out);
        free(raw);
        free(body);
    }
}

static void h1_refusals(void **state)
{
    (void)state;
    static const int codes[] = {400, 431, 500, 501, 503, 505};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        size_t len;
        const char *r = mk_refusal(codes[i], &len);
        char want[16];
        snprintf(want, sizeof want, "HTTP/1.1 %d ", codes[i]);
        assert_memory_equal(r, want, strlen(want));
        const char *cl = strstr(r, "Content-Length: ");
        const char *body = strstr(r, "\r\n\r\n");
        assert_non_null(cl);
        assert_non_null(body);
        body += 4;
        assert_int_equal(strtoul(cl + 16, NULL, 10), len - (size_t)(body - r));
        assert_non_null(strstr(r, "Connection: close\r\n"));
        /* on a region's listener: the same bytes with the region's header
         * after the status line (README "Regions") */
        size_t rlen;
        char *rr = mk_refusal_region(codes[i], 31, &rlen);
        assert_non_null(rr);
        size_t line = (size_t)(strstr(r, "\r\n") - r) + 2;
        static const char hdr[] = "X-Mockapi-Region: 31\r\n";
        assert_int_equal(rlen, len + sizeof hdr - 1);
        assert_int_equal(strlen(rr), rlen);
        assert_memory_equal(rr, r, line);
        assert_memory_equal(rr + line, hdr, sizeof hdr - 1);
        assert_string_equal(rr + line + sizeof hdr - 1, r + line);
        free(rr);
    }
}

int run_http1_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(h1_heads),         cmocka_unit_test(h1_lengths),
        cmocka_unit_test(h1_chunked_basic), cmocka_unit_test(h1_chunked_random),
        cmocka_unit_test(h1_refusals),      cmocka_unit_test(h1_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
