/* test_length_type.c: the length and type operators of mockassert's matcher
 * (assert/match.c): what they count and name, their operands, and how they
 * fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "match.h"
#include "number.h"

static const ma_mark here = {"t.yaml", 1, 1};

static const char doc[] =
    "{\"peers\":[1,2,3],\"m\":{\"a\":1,\"b\":2},\"s\":\"h\xc3\xa9llo\",\"e\":\"\",\"n\":7,\"r\":1.5,\"z\":null,"
    "\"t\":true,\"big\":18446744073709551615,\"huge\":1e400,\"list\":[\"ab\",\"abc\"]}";

static json_t *load(void)
{
    json_t *d = ma_json_from_body(doc, strlen(doc));
    assert_non_null(d);
    return d;
}

/* Evaluates path OP operand (JSON text) on doc; fills f when given. */
static int eval(const char *path, ma_op o, const char *operand, ma_failures *f)
{
    size_t pos;
    const char *pwhy;
    ma_path *p = ma_path_parse(path, &pos, &pwhy);
    assert_non_null(p);
    char why[300];
    json_t *v = json_loads(operand, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    ma_check *c = ma_check_op(here, p, o, v, why, sizeof why);
    if (!c)
        fail_msg("%s %s: %s", ma_op_name(o), operand, why);
    json_t *d = load();
    ma_failures mine = {0};
    int r = ma_check_eval(c, d, f ? f : &mine);
    if (!f) {
        assert_int_equal(mine.n == 0, r); /* a failure explains itself, a pass does not */
        ma_failures_free(&mine);
    }
    json_decref(d);
    ma_check_free(c);
    return r;
}

static void test_length(void **st)
{
    (void)st;
    assert_true(eval("$.peers", MA_OP_LENGTH, "3", NULL));
    assert_false(eval("$.peers", MA_OP_LENGTH, "2", NULL));
    assert_true(eval("$.m", MA_OP_LENGTH, "2", NULL));
    assert_true(eval("$.s", MA_OP_LENGTH, "5", NULL)); /* code points, not bytes (6) */
    assert_true(eval("$.e", MA_OP_LENGTH, "0", NULL));
    assert_true(eval("$.peers", MA_OP_LENGTH, "{\"atLeast\":1,\"atMost\":3}", NULL));
    assert_false(eval("$.peers", MA_OP_LENGTH, "{\"atLeast\":4}", NULL));
    assert_true(eval("$.peers", MA_OP_LENGTH, "{\"between\":[3,9]}", NULL));
    assert_true(eval("$.peers", MA_OP_LENGTH, "{\"notEquals\":2}", NULL));
    assert_true(eval("$.list[*]", MA_OP_LENGTH, "{\"greaterThan\":1}", NULL));
    assert_false(eval("$.list[*]", MA_OP_LENGTH, "2", NULL)); /* every value must pass */
    /* other kinds, and missing values, fail */
    assert_false(eval("$.n", MA_OP_LENGTH, "1", NULL));
    assert_false(eval("$.big", MA_OP_LENGTH, "1", NULL)); /* an exact number is no object */
    assert_false(eval("$.nope", MA_OP_LENGTH, "0", NULL));
}

static void test_length_failures(void **st)
{
    (void)st;
    ma_failures f = {0};
    assert_false(eval("$.list[*]", MA_OP_LENGTH, "2", &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].path, "$.list[1]");
    assert_string_equal(f.v[0].what, "length");
    assert_int_equal(json_integer_value(f.v[0].expected), 2);
    assert_int_equal(json_integer_value(f.v[0].actual), 3);
    ma_failures_free(&f);
    /* a mapping: one failure per operator that failed, named */
    assert_false(eval("$.peers", MA_OP_LENGTH, "{\"atLeast\":4,\"atMost\":9,\"notEquals\":3}", &f));
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].what, "length atLeast");
    assert_int_equal(json_integer_value(f.v[0].expected), 4);
    assert_int_equal(json_integer_value(f.v[0].actual), 3);
    assert_string_equal(f.v[1].what, "length notEquals");
    ma_failures_free(&f);
    assert_false(eval("$.n", MA_OP_LENGTH, "1", &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].what, "length needs a string, a list or an object");
    ma_failures_free(&f);
    /* not: shows the length that held */
    size_t pos;
    const char *pwhy;
    char why[200];
    ma_check *inner = ma_check_op(here, ma_path_parse("$.peers", &pos, &pwhy), MA_OP_LENGTH, json_integer(3), why,
                                  sizeof why);
    ma_check *no = ma_check_group(MA_CHECK_NOT, here);
    ma_check_add(no, inner);
    json_t *d = load();
    assert_false(ma_check_eval(no, d, &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].what, "not length (it held)");
    assert_int_equal(json_integer_value(f.v[0].actual), 3);
    ma_failures_free(&f);
    json_decref(d);
    ma_check_free(no);
}

static void test_type(void **st)
{
    (void)st;
    static const struct {
        const char *path, *type;
        int want;
    } cases[] = {
        {"$.z", "\"null\"", 1},          {"$.t", "\"boolean\"", 1},     {"$.n", "\"integer\"", 1},
        {"$.n", "\"number\"", 1},        {"$.r", "\"number\"", 1},      {"$.r", "\"integer\"", 0},
        {"$.s", "\"string\"", 1},        {"$.peers", "\"array\"", 1},   {"$.m", "\"object\"", 1},
        {"$.big", "\"integer\"", 1},     {"$.big", "\"object\"", 0},    {"$.huge", "\"number\"", 1},
        {"$.huge", "\"integer\"", 0},    {"$.z", "[\"string\",\"null\"]", 1},
        {"$.n", "[\"string\",\"null\"]", 0}, {"$.nope", "\"null\"", 0},
        {"$.peers[*]", "\"integer\"", 1}, {"$.*", "\"integer\"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (eval(cases[i].path, MA_OP_TYPE, cases[i].type, NULL) != cases[i].want)
            fail_msg("%s type %s: want %d", cases[i].path, cases[i].type, cases[i].want);
    ma_failures f = {0};
    assert_false(eval("$.n", MA_OP_TYPE, "\"string\"", &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].what, "type (it is an integer)");
    assert_string_equal(json_string_value(f.v[0].expected), "string");
    assert_int_equal(json_integer_value(f.v[0].actual), 7);
    ma_failures_free(&f);
}

static void test_operands(void **st)
{
    (void)st;
    char why[300];
    static const char *const bad_length[] = {"-1", "\"x\"", "1.5", "{}", "{\"atLeast\":\"x\"}", "{\"startsWith\":1}",
                                             "{\"between\":[1]}", "[1]", "18446744073709551615"};
    for (size_t i = 0; i < sizeof bad_length / sizeof bad_length[0]; i++) {
        json_t *v = ma_json_from_body(bad_length[i], strlen(bad_length[i]));
        if (ma_check_op(here, NULL, MA_OP_LENGTH, v, why, sizeof why))
            fail_msg("length %s accepted", bad_length[i]);
        assert_non_null(strstr(why, "length"));
    }
    static const char *const bad_type[] = {"[]", "1", "{}", "[\"string\",1]", "\"strng\"", "[\"null\",\"nul\"]"};
    for (size_t i = 0; i < sizeof bad_type / sizeof bad_type[0]; i++) {
        json_t *v = json_loads(bad_type[i], JSON_DECODE_ANY, NULL);
        if (ma_check_op(here, NULL, MA_OP_TYPE, v, why, sizeof why))
            fail_msg("type %s accepted", bad_type[i]);
        assert_non_null(strstr(why, "type"));
    }
    assert_null(ma_check_op(here, NULL, MA_OP_TYPE, json_string("strng"), why, sizeof why));
    assert_string_equal(why, "type: unknown type \"strng\" (did you mean string?)");
    ma_op o;
    assert_int_equal(ma_op_by_name("length", &o), 0);
    assert_int_equal(o, MA_OP_LENGTH);
    assert_int_equal(ma_op_by_name("type", &o), 0);
    assert_int_equal(o, MA_OP_TYPE);
}

int run_length_type_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_length_failures),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_operands),
    };
    return cmocka_run_group_tests_name("length_type", tests, NULL, NULL);
}
