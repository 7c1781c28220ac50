/* test_glob.c: the path glob (src/common/glob.c) and the "did you mean"
 * helper (src/common/suggest.c).
 *
 * The glob is checked against a reference written from its definition (a
 * table over pattern and path positions, so it is simple and still fine for
 * long patterns), on random inputs from a fixed seed: short ones over a
 * tiny alphabet where every corner is hit, and long patterns that cross the
 * 64-token word boundaries of the automaton. Adversarial inputs that made
 * the old backtracking matcher quadratic per entry must stay linear. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob.h"
#include "suggest.h"
#include "unit.h"

/* Reference: m[i][j] = pattern from token-byte i matches path from j. */
static int ref_glob(const char *g, const char *p)
{
    size_t gn = strlen(g), pn = strlen(p);
    unsigned char *m = calloc((gn + 1) * (pn + 1), 1);
    if (!m)
        return -1;
#define M(i, j) m[(i) * (pn + 1) + (j)]
    M(gn, pn) = 1;
    for (size_t i = gn + 1; i-- > 0;) {
        if (i == gn)
            continue;
        size_t stars = 0;
        while (i + stars < gn && g[i + stars] == '*')
            stars++;
        /* only the first star of a run decides; the others repeat it */
        bool first = i == 0 || g[i - 1] != '*';
        for (size_t j = pn + 1; j-- > 0;) {
            if (stars >= 1 && first) {
                size_t after = i + stars;
                int v = M(after, j); /* the empty run */
                if (!v && j < pn && (stars > 1 || p[j] != '/'))
                    v = M(i, j + 1); /* take one more byte */
                M(i, j) = (unsigned char)v;
            } else if (stars == 0) {
                M(i, j) = j < pn && g[i] == p[j] && M(i + 1, j + 1);
            }
        }
    }
    int r = M(0, 0);
#undef M
    free(m);
    return r;
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
    return *x;
}

static void test_glob_examples(void **st)
{
    (void)st;
    assert_true(mk_path_glob("/v1/nodes/*/heartbeat", "/v1/nodes/n1/heartbeat"));
    assert_false(mk_path_glob("/v1/nodes/*/heartbeat", "/v1/nodes/a/b/heartbeat"));
    assert_true(mk_path_glob("/v1/**/heartbeat", "/v1/nodes/a/b/heartbeat"));
    assert_true(mk_path_glob("/v1/**", "/v1/"));
    assert_true(mk_path_glob("/v1/*", "/v1/"));
    assert_false(mk_path_glob("/v1/*", "/v1/x/y"));
    assert_true(mk_path_glob("**", ""));
    assert_true(mk_path_glob("*", ""));
    assert_true(mk_path_glob("", ""));
    assert_false(mk_path_glob("", "/"));
    assert_false(mk_path_glob("*", "/"));
    assert_true(mk_path_glob("***", "/a/b"));
    assert_true(mk_path_glob("/**/x/*", "/a/x/b/x/c"));
    assert_true(mk_path_glob("/v1/**/*beat", "/v1/nodes/n1/heartbeat"));
    assert_false(mk_path_glob("/v1/ping", "/v1/ping/"));
    assert_false(mk_path_glob("/v1/ping/", "/v1/ping"));
    /* bytes >= 0x80 are literals like any other */
    assert_true(mk_path_glob("/\xc3\xa9*", "/\xc3\xa9t\xc3\xa9"));
}

/* short patterns over {a, b, /, *} and paths over {a, b, /}: every shape */
static void test_glob_random_short(void **st)
{
    (void)st;
    static const char alpha[] = "ab/*";
    uint32_t x = 20261206;
    for (int it = 0; it < 300000; it++) {
        char g[16], p[20];
        size_t gn = rnd(&x) % 14, pn = rnd(&x) % 18;
        for (size_t k = 0; k < gn; k++)
            g[k] = alpha[rnd(&x) % 4];
        g[gn] = '\0';
        for (size_t k = 0; k < pn; k++)
            p[k] = alpha[rnd(&x) % 3];
        p[pn] = '\0';
        int want = ref_glob(g, p);
        if ((int)mk_path_glob(g, p) != want)
            fail_msg("glob \"%s\" on \"%s\": %d, reference %d", g, p, !want, want);
    }
}

/* long patterns (up to the limit) across word boundaries: built to match a
 * random path, then mutated, so both answers are frequent */
static void test_glob_random_long(void **st)
{
    (void)st;
    uint32_t x = 77;
    int matched = 0;
    for (int it = 0; it < 3000; it++) {
        char p[600], g[MK_GLOB_MAX + 1];
        size_t pn = 50 + rnd(&x) % 500;
        for (size_t k = 0; k < pn; k++)
            p[k] = "ab/c"[rnd(&x) % 4];
        p[pn] = '\0';
        /* a pattern from the path: some bytes kept, some runs starred */
        size_t gn = 0;
        for (size_t k = 0; k < pn && gn < MK_GLOB_MAX - 2;) {
            uint32_t r = rnd(&x) % 16;
            if (r == 0) {
                g[gn++] = '*';
                k += rnd(&x) % 4;
            } else if (r == 1) {
                g[gn++] = '*';
                g[gn++] = '*';
                k += rnd(&x) % 30;
            } else {
                g[gn++] = p[k++];
            }
        }
        if (rnd(&x) % 3 == 0 && gn > 0) /* mutate one byte */
            g[rnd(&x) % gn] = "ab/*x"[rnd(&x) % 5];
        g[gn] = '\0';
        int want = ref_glob(g, p);
        assert_true(want >= 0);
        matched += want;
        if ((int)mk_path_glob(g, p) != want)
            fail_msg("long glob (%zu bytes) on a %zu-byte path: %d, reference %d\n%s\n%s", gn, pn,
                     !want, want, g, p);
    }
    /* the generator produces both answers often enough to mean something */
    assert_true(matched > 300 && matched < 2700);
}

static void test_glob_length_limit(void **st)
{
    (void)st;
    char g[MK_GLOB_MAX + 2], p[MK_GLOB_MAX + 2];
    memset(g, 'a', MK_GLOB_MAX);
    g[MK_GLOB_MAX] = '\0';
    memcpy(p, g, sizeof p);
    mk_glob c;
    assert_int_equal(mk_glob_compile(&c, g, MK_GLOB_MAX), 0);
    assert_true(mk_glob_match(&c, p, MK_GLOB_MAX));
    assert_false(mk_glob_match(&c, p, MK_GLOB_MAX - 1));
    g[MK_GLOB_MAX - 1] = '*'; /* the last token in the last word */
    assert_int_equal(mk_glob_compile(&c, g, MK_GLOB_MAX), 0);
    assert_true(mk_glob_match(&c, p, MK_GLOB_MAX - 1));
    assert_true(mk_glob_match(&c, "aaaa", 4) == (MK_GLOB_MAX - 1 <= 4));
    /* one byte over: refused, and the result matches nothing */
    g[MK_GLOB_MAX] = '*';
    g[MK_GLOB_MAX + 1] = '\0';
    assert_int_equal(mk_glob_compile(&c, g, MK_GLOB_MAX + 1), -1);
    assert_false(mk_glob_match(&c, "", 0));
    assert_false(mk_path_glob(g, p));
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The measurement: 300 entries with 8 KB paths against **a*a*b
 * took the old matcher 10 s. Linear now: the same work is a few ms
 * (bounded at 2 s here, for sanitizer builds on a busy machine). */
static void test_glob_adversarial_is_linear(void **st)
{
    (void)st;
    /* the ones ending in 'a' pass the fixed-ends check and run the automaton */
    static const char *const pats[] = {"**a*a*b", "**a*a*b*a", "**a**a**a**a**b**a", "*a*a*a*a*a*a*a*b*a",
                                       "/**/**/**/**/**/x/**a", "**a*a*a*a*a*a*a*a*a*a*a*a*a*a*b*a"};
    enum { N = 8192 };
    char *path = malloc(N + 1);
    assert_non_null(path);
    memset(path, 'a', N);
    for (size_t i = 64; i < N; i += 64)
        path[i] = '/'; /* segments, so '*' and '**' both have work */
    path[0] = '/';
    path[N] = '\0';
    char *flat = strdup(path);
    assert_non_null(flat);
    for (size_t i = 0; i < N; i++)
        flat[i] = 'a';
    double t0 = now_ms();
    for (int rep = 0; rep < 300; rep++)
        for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++) {
            assert_false(mk_path_glob(pats[k], path));
            assert_false(mk_path_glob(pats[k], flat));
        }
    double took = now_ms() - t0;
    print_message("300 x %zu patterns x 2 paths of 8 KB: %.1f ms\n", sizeof pats / sizeof pats[0], took);
    assert_true(took < 2000.0);
    /* and the same patterns do match when the tail is there */
    flat[N - 1] = 'b';
    assert_true(mk_path_glob("**a*a*b", flat));
    assert_true(mk_path_glob("*a*a*a*a*a*a*a*b", flat));
    free(flat);
    free(path);
}

static void test_suggest(void **st)
{
    (void)st;
    static const char *const keys[] = {"method", "path", "route", "status", "since", "limit",
                                       "include_test"};
    size_t n = sizeof keys / sizeof keys[0];
    assert_string_equal(mk_suggest("mehtod", keys, n), "method");
    assert_string_equal(mk_suggest("Method", keys, n), "method");
    assert_string_equal(mk_suggest("stauts", keys, n), "status");
    assert_string_equal(mk_suggest("limt", keys, n), "limit");
    assert_string_equal(mk_suggest("include-test", keys, n), "include_test");
    assert_string_equal(mk_suggest("paht", keys, n), "path");
    assert_null(mk_suggest("xyz", keys, n));
    assert_null(mk_suggest("", keys, n));
    assert_null(mk_suggest("timeout_ms", keys, n));
    static const char *const routes[] = {"heartbeat", "register", "deregister", "state"};
    assert_string_equal(mk_suggest("hearbeat", routes, 4), "heartbeat");
    assert_string_equal(mk_suggest("registr", routes, 4), "register");
    assert_null(mk_suggest("nothing_like_it", routes, 4));
    assert_null(mk_suggest("x", NULL, 0));
}

int run_glob_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_examples),
        cmocka_unit_test(test_glob_random_short),
        cmocka_unit_test(test_glob_random_long),
        cmocka_unit_test(test_glob_length_limit),
        cmocka_unit_test(test_glob_adversarial_is_linear),
        cmocka_unit_test(test_suggest),
    };
    return cmocka_run_group_tests_name("glob", tests, NULL, NULL);
}
