/* test_number.c: mockassert's exact JSON numbers (assert/number.c) and the
 * places that must know them: decimal comparison, which numbers jansson
 * holds and which keep their text, bodies jansson refuses or rounds, the
 * span walker, printing, and equality, order and membership in match.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"

#include "match.h"
#include "number.h"
#include "spec.h"

static int dcmp(const char *a, const char *b)
{
    return ma_decimal_compare(a, strlen(a), b, strlen(b));
}

static void test_decimal_compare(void **st)
{
    (void)st;
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        {"1e2", "100", 0},
        {"100", "100.0", 0},
        {"1e2", "100.000", 0},
        {"1E+2", "1000e-1", 0},
        {"0.001", "1e-3", 0},
        {"-0", "0", 0},
        {"-0.0e5", "0", 0},
        {"0e99999999999999999999999", "-0", 0},
        {"18446744073709551615", "18446744073709551614", 1},
        {"18446744073709551614", "18446744073709551615", -1},
        {"18446744073709551615", "18446744073709551615.0", 0},
        {"18446744073709551615", "1.8446744073709551615e19", 0},
        {"1e400", "1e401", -1},
        {"1e401", "1e400", 1},
        {"-1e400", "-1e401", 1},
        {"1e400", "1.7976931348623157e308", 1},
        {"-1e400", "-1.7976931348623157e308", -1},
        {"1e-400", "0", 1},
        {"-1e-400", "0", -1},
        {"1e-400", "1e-401", 1},
        {"1e007", "1e7", 0},             /* leading zeros in the exponent */
        {"1e-007", "1e-7", 0},
        {"1e+0000000000000000000000000000001", "10", 0},
        {"5e-1", "0.5", 0},
        {"0.5", "0.50000000000000000000000000001", -1},
        {"123.456", "123456e-3", 0},
        {"-5", "3", -1},
        {"3", "-5", 1},
        {"-5", "-3", -1},
        {"99", "100", -1},
        {"0.099", "0.1", -1},
        /* exponents too long for any machine integer still compare exactly */
        {"1e100000000000000000000", "1e100000000000000000001", -1},
        {"10e100000000000000000000", "1e100000000000000000001", 0},
        {"1e-100000000000000000000", "1e-100000000000000000001", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = dcmp(cases[i].a, cases[i].b), back = dcmp(cases[i].b, cases[i].a);
        if (got != cases[i].want || back != -cases[i].want)
            fail_msg("%s vs %s: %d (back %d), want %d", cases[i].a, cases[i].b, got, back, cases[i].want);
    }
}

static void test_syntax(void **st)
{
    (void)st;
    static const char *const good[] = {"0", "-0", "1.5", "1e3", "1E-3", "-12.34e+56", "18446744073709551615"};
    static const char *const bad[] = {"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1 ", "NaN", "1.5.2"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(ma_number_syntax_ok(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(ma_number_syntax_ok(bad[i], strlen(bad[i])));
        assert_null(ma_number_make(bad[i], strlen(bad[i])));
        assert_null(ma_number_parse(bad[i], strlen(bad[i])));
    }
}

/* What ma_number_parse keeps: jansson's value when exact, else the text. */
static void test_parse_keeps_what_jansson_cannot(void **st)
{
    (void)st;
    static const struct {
        const char *text;
        int exact; /* 1: kept as text */
    } cases[] = {
        {"1", 0},
        {"-9223372036854775808", 0},
        {"9223372036854775807", 0},
        {"9223372036854775808", 1},
        {"18446744073709551615", 1},
        {"-18446744073709551616", 1},
        {"1.5", 0},
        {"1.50", 0},
        {"0.0", 0},
        {"-0.0", 0},
        {"1e400", 1},
        {"-1e400", 1},
        {"1e-400", 1},  /* would be 0.0 */
        {"-1e-400", 1},
        {"1e-310", 1},  /* subnormal: fewer digits than a double's (below) */
        {"3e-324", 1},
        {"2.2250738585072014e-308", 0}, /* DBL_MIN: the smallest normal double */
        {"1e20", 0},    /* a double holds it exactly */
        {"9007199254740993.0", 1}, /* 2^53 + 1: a double rounds it */
        {"9007199254740992.0", 0},
        {"1.7976931348623157e308", 1}, /* DBL_MAX is not exactly that */
        {"1e22", 0},                   /* exactly a double */
        {"1e23", 1},                   /* not */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = ma_number_parse(cases[i].text, strlen(cases[i].text));
        assert_non_null(v);
        if (ma_number_is(v) != cases[i].exact)
            fail_msg("%s: exact %d, want %d", cases[i].text, ma_number_is(v), cases[i].exact);
        if (cases[i].exact)
            assert_string_equal(ma_number_text(v), cases[i].text);
        assert_true(ma_is_number(v));
        assert_false(ma_is_object(v));
        json_decref(v);
    }
}

static json_t *N(const char *text)
{
    json_t *v = ma_number_parse(text, strlen(text));
    assert_non_null(v);
    return v;
}

static int ncmp(const char *a, const char *b)
{
    json_t *x = N(a), *y = N(b);
    int c = 2;
    assert_int_equal(ma_number_compare(x, y, &c), 0);
    json_decref(x);
    json_decref(y);
    return c;
}

static void test_compare_values(void **st)
{
    (void)st;
    assert_int_equal(ncmp("18446744073709551615", "18446744073709551614"), 1);
    assert_int_equal(ncmp("18446744073709551615", "18446744073709551615"), 0);
    assert_int_equal(ncmp("18446744073709551615", "1.8446744073709551615e19"), 0);
    assert_int_equal(ncmp("1e400", "1e401"), -1);
    assert_int_equal(ncmp("1e400", "1.7976931348623157e308"), 1); /* exact against a double */
    assert_int_equal(ncmp("-1e400", "-1.7976931348623157e308"), -1);
    assert_int_equal(ncmp("1e-400", "0"), 1);                     /* an underflow is not zero */
    assert_int_equal(ncmp("1e-400", "0.0"), 1);
    assert_int_equal(ncmp("-1e-400", "0"), -1);
    assert_int_equal(ncmp("1e2", "100"), 0);
    assert_int_equal(ncmp("-0", "0"), 0);
    assert_int_equal(ncmp("-0.0", "0"), 0);
    assert_int_equal(ncmp("9223372036854775807", "9223372036854775808"), -1); /* int64 against exact */
    assert_int_equal(ncmp("-9223372036854775808", "-9223372036854775809"), 1);
    /* an integer and a double compare by exact value: 2^53 + 1 is not 2^53 */
    assert_int_equal(ncmp("9007199254740993", "9007199254740992.0"), 1);
    assert_int_equal(ncmp("100000000000000001", "1e17"), 1);
    assert_int_equal(ncmp("100000000000000000", "1e17"), 0);
    assert_int_equal(ncmp("2", "2.5"), -1);
    assert_int_equal(ncmp("-2", "-2.5"), 1);
    assert_int_equal(ncmp("9223372036854775807", "9.3e18"), -1);
    assert_int_equal(ncmp("-9223372036854775808", "-9.3e18"), 1);
    /* an exact number against a double stands for the double's shortest text */
    json_t *keep = ma_number_make("0.1", 3), *dbl = json_real(0.1), *s = json_string("1");
    int c = 2;
    assert_int_equal(ma_number_compare(keep, dbl, &c), 0);
    assert_int_equal(c, 0);
    assert_int_equal(ma_number_compare(keep, s, &c), -1); /* not a number */
    json_decref(keep);
    json_decref(dbl);
    json_decref(s);
}

static void test_equality_and_operators(void **st)
{
    (void)st;
    json_t *a = N("18446744073709551615"), *b = N("18446744073709551614"), *c = N("1.8446744073709551615e19");
    assert_false(ma_json_equal(a, b));
    assert_true(ma_json_equal(a, c));
    json_t *obj = json_pack("{s:s}", MA_NUMBER_KEY "x", "1"); /* an ordinary object stays one */
    assert_false(ma_json_equal(a, obj));
    assert_false(ma_json_equal(obj, a));
    const char *body = "{\"id\":18446744073709551615,\"x\":1e400,\"u\":1e-400,\"l\":[1e400]}";
    json_t *doc = ma_json_from_body(body, strlen(body));
    assert_true(ma_is_object(doc));
    char why[200];
    ma_check *k = ma_check_op((ma_mark){"t", 1, 1}, NULL, MA_OP_SUBSET,
                              json_pack("{s:O}", "id", a), why, sizeof why);
    assert_true(ma_check_eval(k, doc, NULL));
    ma_check_free(k);
    k = ma_check_op((ma_mark){"t", 1, 1}, NULL, MA_OP_SUBSET, json_pack("{s:O}", "id", b), why, sizeof why);
    ma_failures f = {0};
    assert_false(ma_check_eval(k, doc, &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].path, "$.id");
    char *e = ma_json_show(f.v[0].expected), *g = ma_json_show(f.v[0].actual);
    assert_string_equal(e, "18446744073709551614");
    assert_string_equal(g, "18446744073709551615");
    free(e);
    free(g);
    ma_failures_free(&f);
    ma_check_free(k);
    /* paths do not descend into a number; contains sees an array */
    size_t pos;
    const char *pwhy;
    ma_path *p = ma_path_parse("$.x.*", &pos, &pwhy);
    ma_hit *hits = NULL;
    assert_int_equal(ma_path_select(p, doc, &hits), 0);
    ma_hits_free(hits, 0);
    ma_path_free(p);
    k = ma_check_op((ma_mark){"t", 1, 1}, ma_path_parse("$.l", &pos, &pwhy), MA_OP_CONTAINS, N("1e400"), why,
                    sizeof why);
    assert_true(ma_check_eval(k, doc, NULL));
    ma_check_free(k);
    k = ma_check_op((ma_mark){"t", 1, 1}, ma_path_parse("$.u", &pos, &pwhy), MA_OP_EQUALS, json_integer(0), why,
                    sizeof why);
    assert_false(ma_check_eval(k, doc, NULL)); /* 1e-400 is not 0 */
    ma_check_free(k);
    k = ma_check_op((ma_mark){"t", 1, 1}, ma_path_parse("$.x", &pos, &pwhy), MA_OP_BETWEEN,
                    json_pack("[o,o]", N("1e399"), N("1e401")), why, sizeof why);
    assert_non_null(k);
    assert_true(ma_check_eval(k, doc, NULL));
    ma_check_free(k);
    k = ma_check_op((ma_mark){"t", 1, 1}, ma_path_parse("$.x", &pos, &pwhy), MA_OP_IN,
                    json_pack("[o,o]", N("1e401"), N("10e399")), why, sizeof why);
    assert_true(ma_check_eval(k, doc, NULL));
    ma_check_free(k);
    json_decref(doc);
    json_decref(obj);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_bodies(void **st)
{
    (void)st;
    /* the common body: jansson's values */
    const char *plain = "{\"a\":1,\"b\":1.5,\"c\":[true,null,\"x\"]}";
    json_t *v = ma_json_from_body(plain, strlen(plain));
    assert_true(json_is_integer(json_object_get(v, "a")));
    assert_true(json_is_real(json_object_get(v, "b")));
    json_decref(v);
    /* refused by jansson for a number: walked, the rest as jansson reads it */
    const char *big = " {\"id\": 18446744073709551615, \"s\": \"\\u00e9\\n\", \"n\": [1, 2.5, -0], \"o\": {}} ";
    v = ma_json_from_body(big, strlen(big));
    assert_string_equal(ma_number_text(json_object_get(v, "id")), "18446744073709551615");
    assert_string_equal(json_string_value(json_object_get(v, "s")), "\xc3\xa9\n");
    assert_true(json_is_integer(json_array_get(json_object_get(v, "n"), 0)));
    assert_true(json_is_real(json_array_get(json_object_get(v, "n"), 1)));
    assert_true(ma_is_object(json_object_get(v, "o")));
    char *s = ma_json_show(v);
    assert_string_equal(s, "{\"id\":18446744073709551615,\"s\":\"\xc3\xa9\\n\",\"n\":[1,2.5,0],\"o\":{}}");
    free(s);
    json_decref(v);
    /* rounded by jansson (1e-400 as 0.0): read again */
    v = ma_json_from_body("[1e-400, 0.0, 1e20]", 19);
    assert_string_equal(ma_number_text(json_array_get(v, 0)), "1e-400");
    assert_true(json_is_real(json_array_get(v, 1)));
    assert_true(json_is_real(json_array_get(v, 2)));
    json_decref(v);
    /* a body jansson refuses for something else stays text, overflow or not */
    static const char *const text[] = {"[1e400", "[1e400] x", "{\"a\":1e400,\"\\u0000\":1}", "[1e400,\"\\ud800\"]",
                                       "{\"a\":1e400,}"};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        v = ma_json_from_body(text[i], strlen(text[i]));
        assert_true(json_is_string(v));
        assert_string_equal(json_string_value(v), text[i]);
        json_decref(v);
    }
    /* not UTF-8 inside a string: no value, as before */
    assert_null(ma_json_from_body("[1e400,\"\xff\"]", 11));
    /* a repeated member: the last wins, as in jansson */
    v = ma_json_from_body("{\"a\":1e400,\"a\":2}", 17);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 2);
    json_decref(v);
}

static void test_walker_depth_is_janssons(void **st)
{
    (void)st;
    for (int depth = 2047; depth <= 2050; depth++) {
        size_t n = (size_t)depth * 2 + 5;
        char *t = malloc(n + 1);
        assert_non_null(t);
        memset(t, '[', (size_t)depth);
        memcpy(t + depth, "1e400", 5);
        memset(t + depth + 5, ']', (size_t)depth);
        t[n] = '\0';
        json_t *j = json_loadb(t, n, 0, NULL);
        json_t *w = ma_json_load_exact(t, n, 0);
        json_t *jk = json_loadb(t, n, JSON_DECODE_ANY, NULL);
        assert_null(j);
        assert_null(jk); /* jansson refuses both: overflow, or depth */
        assert_int_equal(w != NULL, depth <= 2048);
        json_decref(w);
        free(t);
    }
}

/* Subnormal doubles hold few digits: 3e-324, 4e-324 and 5e-324 are one
 * double, so as doubles `lessThan: 4e-324` failed for 3e-324 and the
 * report showed "4.94065645841247e-324" for both sides. */
static void test_subnormals_keep_text(void **st)
{
    (void)st;
    assert_int_equal(ncmp("3e-324", "4e-324"), -1);
    assert_int_equal(ncmp("1e-310", "1.0000000000000001e-310"), -1);
    assert_int_equal(ncmp("5e-324", "4.9406564584124654e-324"), 1);
    assert_int_equal(ncmp("1e-310", "1e-310"), 0);
    const char *body = "{\"m\":3e-324}";
    json_t *v = ma_json_from_body(body, strlen(body));
    assert_true(ma_number_is(json_object_get(v, "m")));
    char *s = ma_json_show(v);
    assert_string_equal(s, body);
    free(s);
    json_decref(v);
}

/* Reals print as the shortest text that reads back as the same double:
 * with 15 digits 0.30000000000000004 showed as 0.3, so a failure said
 * "expected: 0.3, actual: 0.3"; with 17, 0.1 would be 0.10000000000000001. */
static void test_reals_print_shortest(void **st)
{
    (void)st;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"[0.30000000000000004,0.3,0.1,100.0,1e2,-0.0,2.5,123456.789,1.5e16,0.00001,1e-7,5e-300]",
         "[0.30000000000000004,0.3,0.1,100.0,100.0,-0.0,2.5,123456.789,15000000000000000.0,1e-05,1e-07,5e-300]"},
        {"1.5e300", "1.5e300"}, /* from 2^53 up a double may round: kept as text (number.h) */
        {"{\"a\":1e400,\"b\":0.1,\"c\":\"0.1\"}", "{\"a\":1e400,\"b\":0.1,\"c\":\"0.1\"}"},
        {"1.7976931348623157e308", "1.7976931348623157e308"}, /* kept as text (number.h) */
        {"9007199254740992.0", "9007199254740992.0"},
    };
    /* from 2^53 up a real is read as the decimal written, so a double
     * whose shortest text is not its exact value (one jansson rounded, in a
     * body the walker refuses) prints every digit: it reads back equal */
    json_t *r = json_real(1.8446744050793702e37);
    char *t = ma_json_show(r);
    assert_string_equal(t, "18446744050793701573897102243114516480.0");
    json_t *back = ma_json_from_body(t, strlen(t));
    assert_true(ma_json_equal(back, r));
    json_decref(back);
    free(t);
    json_decref(r);
    r = json_real(1e22); /* exactly a double: the short form reads back as it */
    t = ma_json_show(r);
    assert_string_equal(t, "1e+22");
    free(t);
    json_decref(r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = ma_json_from_body(cases[i].in, strlen(cases[i].in));
        assert_non_null(v);
        char *s = ma_json_show(v);
        if (strcmp(s, cases[i].out) != 0)
            fail_msg("%s printed as %s, want %s", cases[i].in, s, cases[i].out);
        free(s);
        /* the JSON report's indented form too, whatever the precision asked */
        s = ma_number_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
        assert_string_equal(s, cases[i].out);
        free(s);
        json_decref(v);
    }
}

/* The walker reads a document in one pass. It iterated each container
 * with gj_iter, which rescanned every nested byte once per level: a body
 * jansson refuses for a number (so the walker reads it) with 2040 levels
 * around 4 MB of whitespace took about 8 G steps (seconds); one pass
 * takes milliseconds. The bound is loose: only the quadratic walk breaks it. */
static void test_walker_is_linear(void **st)
{
    (void)st;
    const size_t depth = 2040, fill = 4u << 20;
    size_t n = 7 + depth + fill + depth + 1;
    char *body = malloc(n + 1);
    assert_non_null(body);
    size_t at = 0;
    memcpy(body, "[1e400,", 7);
    at = 7;
    memset(body + at, '[', depth);
    at += depth;
    memset(body + at, ' ', fill);
    at += fill;
    memset(body + at, ']', depth + 1);
    at += depth + 1;
    assert_int_equal(at, n);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *v = ma_json_from_body(body, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_non_null(v);
    assert_true(json_is_array(v) && json_array_size(v) == 2);
    assert_string_equal(ma_number_text(json_array_get(v, 0)), "1e400");
    if (secs > 2.0)
        fail_msg("reading the body took %.2f s", secs);
    json_decref(v);
    free(body);
}

static void test_keep_text_and_print(void **st)
{
    (void)st;
    const char *body = "{\"r\":1.50,\"e\":1e3,\"z\":-0,\"big\":18446744073709551615,\"x\":1E400,\"s\":\"1.50\"}";
    json_t *v = ma_json_load_exact(body, strlen(body), MA_JSON_KEEP_TEXT);
    assert_non_null(v);
    assert_string_equal(ma_number_text(json_object_get(v, "r")), "1.50");
    assert_string_equal(ma_number_text(json_object_get(v, "e")), "1e3");
    assert_string_equal(ma_number_text(json_object_get(v, "z")), "-0");
    assert_true(json_is_string(json_object_get(v, "s")));
    assert_true(ma_number_is_integer(json_object_get(v, "z")));
    assert_false(ma_number_is_integer(json_object_get(v, "e")));
    char *s = ma_json_show(v);
    assert_string_equal(s, body); /* printed as sent */
    free(s);
    /* and it equals the same body read the usual way */
    json_t *u = ma_json_from_body(body, strlen(body));
    assert_true(ma_json_equal(v, u));
    json_decref(u);
    /* indented printing, as the JSON report does */
    s = ma_number_dumps(json_object_get(v, "big"), JSON_ENCODE_ANY);
    assert_string_equal(s, "18446744073709551615");
    free(s);
    json_decref(v);
    /* a string that looks like a stand-in stays a string */
    json_t *tricky = json_pack("[s,o]", "\001#0#0", ma_number_make("7e400", 5));
    s = ma_number_dumps(tricky, JSON_COMPACT);
    assert_string_equal(s, "[\"\\u0001#0#0\",7e400]");
    free(s);
    json_decref(tricky);
}

/* The operand of `body: {equals: TEXT}` as spec.c reads it. */
static json_t *yaml_operand(const char *text)
{
    char file[256];
    snprintf(file, sizeof file, "expectations:\n  - lastRequest: heartbeat\n    body: {equals: %s}\n", text);
    ma_spec *spec = NULL;
    ma_error err;
    if (ma_spec_parse("t.yaml", file, strlen(file), &spec, &err) < 0)
        fail_msg("%s: %s", text, err.msg);
    json_t *v = json_incref(spec->v[0].body->value);
    ma_spec_free(spec);
    return v;
}

static void test_yaml_operands(void **st)
{
    (void)st;
    static const struct {
        const char *yaml, *text; /* text: the exact number's, or NULL for jansson's value */
        double value;
    } cases[] = {
        {"18446744073709551615", "18446744073709551615", 0},
        {"+18446744073709551616", "18446744073709551616", 0},
        {"-00018446744073709551616", "-18446744073709551616", 0},
        {"0xFFFFFFFFFFFFFFFF", "18446744073709551615", 0},
        {"0x1FFFFFFFFFFFFFFFF", "36893488147419103231", 0},
        {"0o1000000000000000000000", "9223372036854775808", 0},
        {"1e400", "1e400", 0},
        {"-1E+400", "-1E+400", 0},
        {".5e400", "0.5e400", 0},
        {"1.e400", "1.0e400", 0},
        {"+007e-400", "7e-400", 0},
        {"9007199254740993.0", "9007199254740993.0", 0},
        {"1.5", NULL, 1.5},
        {"1e3", NULL, 1000},
        {".5", NULL, 0.5},
        {"1.", NULL, 1},
        {"9223372036854775807", NULL, 9223372036854775807.0},
        {"0x10", NULL, 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = yaml_operand(cases[i].yaml);
        if (cases[i].text) {
            if (!ma_number_is(v) || strcmp(ma_number_text(v), cases[i].text) != 0)
                fail_msg("%s: %s, want %s", cases[i].yaml, ma_number_is(v) ? ma_number_text(v) : "not exact",
                         cases[i].text);
        } else {
            assert_true(json_is_number(v));
            assert_true(json_number_value(v) == cases[i].value);
        }
        json_decref(v);
    }
    /* floats stay floats, integers integers */
    json_t *v = yaml_operand("1.");
    assert_true(json_is_real(v));
    json_decref(v);
    v = yaml_operand("0x10");
    assert_true(json_is_integer(v));
    json_decref(v);
}

int run_number_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_compare),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_parse_keeps_what_jansson_cannot),
        cmocka_unit_test(test_compare_values),
        cmocka_unit_test(test_equality_and_operators),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_walker_depth_is_janssons),
        cmocka_unit_test(test_subnormals_keep_text),
        cmocka_unit_test(test_reals_print_shortest),
        cmocka_unit_test(test_walker_is_linear),
        cmocka_unit_test(test_keep_text_and_print),
        cmocka_unit_test(test_yaml_operands),
    };
    return cmocka_run_group_tests_name("number", tests, NULL, NULL);
}
