/* fuzz_http1.c: a libFuzzer target for the request framing (src/transport/
 * http1.c): mk_h1_parse on civetweb's own head parser, and the in-place,
 * incremental chunked decoder. Built and run by ci/fuzz.sh (clang,
 * -fsanitize=fuzzer,address,undefined); seeds in tests/fuzz/corpus/http1/.
 *
 * Input: 4 parameter bytes, then the payload.
 *   p[0..1]  the decoder's body cap (0..65535, small so that TOO_LARGE is
 *            reachable), and with p[2] the head limit (64..4159)
 *   p[2]     the decoder's line limit (1..256)
 *   p[3]     where the payload is split into reads (up to 3 cuts)
 *
 * Checked, besides what the sanitizers see (every buffer is malloc'd to its
 * exact size, so a read past it is caught):
 *  - mk_h1_parse: the verdict is one of three; a refusal carries one of the
 *    statuses http1.h names; an accepted head lies within the input and
 *    the limit, ends with a line feed, is accepted again on its own bytes
 *    with the same length and framing (the head is self-contained), its
 *    prefix one byte shorter is not accepted, every line of it is one of
 *    the fields returned, and parsing is deterministic; a verdict reached
 *    on a prefix of the input stays the same on the whole input (where a
 *    head ends does not depend on what follows it);
 *  - mk_chunked_step, fed the payload at once and fed it in pieces the way
 *    the event loop does (step, compact, append the next read): after
 *    every step out <= pos <= len and out <= cap; both ways end with the
 *    same result, the same decoded bytes and the same raw consumption (for
 *    DONE, the raw body's length; what follows it is the next request). The
 *    same runs on what follows an accepted chunked head. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An exact-size copy (ASan sees any read past n). */
static char *copy(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    CHECK(c != NULL);
    if (n)
        memcpy(c, p, n);
    return c;
}

static mk_h1_verdict parse(const uint8_t *p, size_t n, size_t max_head, char *scratch,
                           mk_h1_head *h)
{
    char *in = copy(p, n);
    mk_h1_verdict v = mk_h1_parse(in, n, max_head, scratch, h);
    free(in);
    return v;
}

static void check_head(const uint8_t *p, size_t n, size_t max_head, uint8_t split)
{
    char *scratch = malloc(max_head + 1);
    CHECK(scratch != NULL);
    mk_h1_head h, again;
    mk_h1_verdict v = parse(p, n, max_head, scratch, &h);
    CHECK(v == MK_H1_INCOMPLETE || v == MK_H1_OK || v == MK_H1_REFUSE);
    if (v == MK_H1_REFUSE) {
        int s = h.refuse_status;
        CHECK(s == 400 || s == 431 || s == 501 || s == 505);
    }
    if (v == MK_H1_INCOMPLETE)
        CHECK(n < max_head); /* within the limit it waits; at it, it refuses */
    CHECK(parse(p, n, max_head, scratch, &again) == v);
    if (v == MK_H1_OK) {
        size_t hl = h.head_len;
        bool chunked = h.chunked;
        uint64_t cl = h.content_length;
        bool close = h.close;
        CHECK(hl > 0 && hl <= n && hl <= max_head);
        CHECK(p[hl - 1] == '\n');
        CHECK(!chunked || cl == 0);
        /* a target form served (http1.c): origin, asterisk or absolute */
        CHECK(h.h.method && h.h.uri && h.h.version &&
              (h.h.uri[0] == '/' || strcmp(h.h.uri, "*") == 0 || strstr(h.h.uri, "://")));
        CHECK(h.h.nheaders >= 0 && h.h.nheaders <= 64);
        /* self-contained: its own bytes make the same head */
        CHECK(parse(p, hl, max_head, scratch, &again) == MK_H1_OK);
        CHECK(again.head_len == hl && again.chunked == chunked &&
              again.content_length == cl && again.close == close);
        /* and no shorter prefix is a head */
        CHECK(parse(p, hl - 1, max_head, scratch, &again) != MK_H1_OK);
        /* every line between the request line and the blank line is one
         * of the fields returned (none dropped unseen) */
        size_t i = 0;
        while (i < hl && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
            i++;
        int lines = 0;
        for (; i < hl; i++)
            lines += p[i] == '\n';
        CHECK(lines - 2 == h.h.nheaders);
    }
    /* a verdict, once reached, does not change as more bytes arrive: the
     * head ends where it ends, whatever follows it */
    for (int k = 0; k < 2 && n > 0; k++) {
        size_t cut = (size_t)(k ? split : (uint8_t)(split * 37u)) * n / 256;
        mk_h1_verdict w = parse(p, cut, max_head, scratch, &again);
        if (w == MK_H1_INCOMPLETE)
            continue;
        CHECK(w == v);
        if (v == MK_H1_OK)
            CHECK(again.head_len == h.head_len);
        else
            CHECK(again.refuse_status == h.refuse_status);
    }
    free(scratch);
}

typedef struct outcome {
    int r;
    size_t out;      /* decoded bytes */
    size_t consumed; /* raw bytes consumed */
    char *body;      /* the decoded bytes (malloc'd) */
} outcome;

static void check_state(const mk_chunked *c, size_t len, uint64_t cap)
{
    CHECK(c->out <= c->pos && c->pos <= len);
    CHECK((uint64_t)c->out <= cap);
}

/* Feeds raw[0..n) with the given cut points (increasing, < n), as the
 * loop does. */
static outcome decode(const uint8_t *raw, size_t n, const size_t *cuts, int ncuts, uint64_t cap,
                      size_t max_line)
{
    char *buf = malloc(n ? n : 1);
    CHECK(buf != NULL);
    mk_chunked c;
    memset(&c, 0, sizeof c);
    size_t len = 0, fed = 0;
    int r = MK_CHUNKED_MORE;
    for (int i = 0; i <= ncuts; i++) {
        size_t upto = i < ncuts ? cuts[i] : n;
        memcpy(buf + len, raw + fed, upto - fed); /* the next read, appended */
        len += upto - fed;
        fed = upto;
        r = mk_chunked_step(&c, buf, len, cap, max_line);
        check_state(&c, len, cap);
        CHECK(r == MK_CHUNKED_MORE || r == MK_CHUNKED_DONE || r == MK_CHUNKED_BAD ||
              r == MK_CHUNKED_TOO_LARGE);
        if (r != MK_CHUNKED_MORE)
            break;
        CHECK(c.pos == len); /* MORE: everything given was consumed */
        mk_chunked_compact(&c, buf, &len);
        CHECK(c.pos == c.out && len == c.out);
    }
    outcome o = {.r = r, .out = c.out, .consumed = fed - (len - c.pos)};
    o.body = copy((const uint8_t *)buf, c.out);
    if (r == MK_CHUNKED_DONE) /* DONE again, consuming nothing more */
        CHECK(mk_chunked_step(&c, buf, len, cap, max_line) == MK_CHUNKED_DONE);
    free(buf);
    return o;
}

static void check_chunked(const uint8_t *raw, size_t n, uint64_t cap, size_t max_line,
                          uint8_t split)
{
    size_t cuts[3];
    int ncuts = 0;
    /* up to 3 cut points spread from one byte: a cut anywhere, at every
     * position over the runs */
    for (int i = 0; i < 3 && n > 1; i++) {
        size_t at = ((size_t)(split >> (i * 2)) * 2654435761u + (size_t)i * 40503u) % n;
        if (at == 0 || (ncuts && at <= cuts[ncuts - 1]))
            continue;
        cuts[ncuts++] = at;
    }
    outcome whole = decode(raw, n, NULL, 0, cap, max_line);
    outcome split_ = decode(raw, n, cuts, ncuts, cap, max_line);
    size_t bytewise_cuts[64];
    int nb = 0;
    for (size_t i = 1; i < n && nb < 64; i++) /* the first 64 bytes one at a time */
        bytewise_cuts[nb++] = i;
    outcome bytewise = decode(raw, n, bytewise_cuts, nb, cap, max_line);
    const outcome *others[2] = {&split_, &bytewise};
    for (int k = 0; k < 2; k++) {
        const outcome *o = others[k];
        CHECK(o->r == whole.r);
        CHECK(o->out == whole.out);
        CHECK(memcmp(o->body, whole.body, whole.out) == 0);
        if (whole.r != MK_CHUNKED_MORE)
            CHECK(o->consumed == whole.consumed);
    }
    if (whole.r == MK_CHUNKED_DONE)
        CHECK(whole.consumed <= n && whole.out <= whole.consumed);
    free(whole.body);
    free(split_.body);
    free(bytewise.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint64_t cap = (uint64_t)data[0] | (uint64_t)data[1] << 8;
    size_t max_line = 1 + (size_t)data[2];
    size_t max_head = 64 + ((size_t)data[1] << 4) + data[2];
    uint8_t split = data[3];
    const uint8_t *p = data + 4;
    size_t n = size - 4;

    check_head(p, n, max_head, split);
    check_chunked(p, n, cap, max_line, split);

    /* the realistic flow: a chunked body right after an accepted head */
    char *scratch = malloc(max_head + 1);
    CHECK(scratch != NULL);
    mk_h1_head h;
    if (parse(p, n, max_head, scratch, &h) == MK_H1_OK && h.chunked)
        check_chunked(p + h.head_len, n - h.head_len, cap, max_line, split);
    free(scratch);
    return 0;
}
