/* test_project.c: assert/project.c. A projected body must give every check
 * the verdict and the failures the whole body (ma_json_from_body) gives:
 * bodies of many shapes (nested, arrays, duplicate members, scalars, text
 * that is not JSON, bodies that are not plain) against checks on many
 * paths, alone and combined with or/not, with and without other paths in
 * the projection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "match.h"
#include "project.h"

static const ma_mark here = {"t.yaml", 1, 1};

static ma_path *path_of(const char *text)
{
    if (!text)
        return NULL;
    size_t pos;
    const char *why;
    ma_path *p = ma_path_parse(text, &pos, &why);
    assert_non_null(p);
    return p;
}

static ma_check *op(const char *path, ma_op o, const char *operand)
{
    json_error_t e;
    json_t *v = json_loads(operand, JSON_DECODE_ANY, &e);
    assert_non_null(v);
    char why[200];
    ma_check *c = ma_check_op(here, path_of(path), o, v, why, sizeof why);
    assert_non_null(c);
    return c;
}

static int same_json(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b) &&
                          json_typeof(a) == json_typeof(b));
}

static void same_failures(const ma_failures *a, const ma_failures *b, const char *body, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s on %s: %zu failures whole, %zu projected", what, body, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const ma_failure *x = &a->v[i], *y = &b->v[i];
        if (strcmp(x->path, y->path) || strcmp(x->what, y->what) || !same_json(x->expected, y->expected) ||
            !same_json(x->actual, y->actual) || x->actual_shown != y->actual_shown || x->depth != y->depth)
            fail_msg("%s on %s: failure %zu differs: %s %s / %s %s", what, body, i, x->path, x->what, y->path,
                     y->what);
    }
}

/* Evaluates c on the whole body and on its projection (by c's paths, then
 * by c's and a few others'), and wants the same results. */
static void compare(const char *body, const ma_check *c, const char *what)
{
    json_t *whole = ma_json_from_body(body, strlen(body));
    ma_failures fw = {0};
    int rw = ma_check_eval(c, whole, &fw);
    for (int extra = 0; extra < 2; extra++) {
        ma_proj *p = ma_proj_new();
        ma_proj_add_check(p, c);
        if (extra) {
            static const char *const more[] = {"$.zz", "$[0].x", "$.*.q", "$.a[*]"};
            for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
                ma_path *m = path_of(more[i]);
                ma_proj_add_path(p, m);
                ma_path_free(m);
            }
        }
        json_t *proj = ma_proj_body(p, body, strlen(body));
        assert_true((whole == NULL) == (proj == NULL));
        ma_failures fp = {0};
        int rp = ma_check_eval(c, proj, &fp);
        if (rw != rp)
            fail_msg("%s on %s: %d whole, %d projected", what, body, rw, rp);
        same_failures(&fw, &fp, body, what);
        assert_int_equal(ma_check_eval(c, proj, NULL), rw);
        ma_failures_free(&fp);
        json_decref(proj);
        ma_proj_free(p);
    }
    ma_failures_free(&fw);
    json_decref(whole);
}

static const char *const bodies[] = {
    "{\"node_id\":\"n1\",\"status\":\"healthy\",\"mesh\":{\"interface\":\"wg0\",\"peer_count\":2},"
    "\"peers\":[{\"id\":\"p1\",\"rtt\":1.5},{\"id\":\"p2\",\"rtt\":3}],\"a\":[1,2,3],\"b\":null,\"t\":true}",
    "[{\"timestamp\":\"2025-01-01T00:00:00Z\",\"group\":\"cpu\",\"data\":{\"load\":0.5}},"
    "{\"group\":\"wireguard\",\"peer_id\":\"peer-1\",\"data\":[1,2,3]},{\"group\":7}]",
    "{\"a\":1,\"b\":2,\"a\":{\"x\":3},\"c\":[],\"d\":{}}",
    "[[1,2],[3,[4,5]],[],[[]]]",
    "  { \"a\" : [ 1 , 2 , {\"x\": -0} ] ,\n \"q\":\"caf\xc3\xa9\" }  \n",
    "\"just a string\"",
    "123",
    "-0",
    "1.25",
    "true",
    "null",
    "[]",
    "{}",
    "not json at all",
    "",
    "{\"a\":1",
    "{\"a\":1} trailing",
    "{\"a\":\"with \\\"escape\\\"\",\"b\":2}",
    "{\"n\":12345678901234567890,\"m\":1}",
    "{\"n\":1e5,\"m\":[1E2]}",
    "{\"n\":1234567890123456,\"m\":0.1}",
    "{\"a b\":{\"c\":1},\"\xe2\x82\xac\":2}",
    "{\"zz\":{\"q\":1},\"x\":{\"q\":[1,{\"q\":2}]}}",
    "[{\"x\":1},{\"x\":2},{\"y\":3}]",
    "{\"a\":\"\xff\"}",
};

static void test_projection_matches_whole(void **st)
{
    (void)st;
    static const char *const paths[] = {NULL,         "$.a",          "$.b",       "$.mesh.peer_count",
                                        "$.mesh",      "$.peers[*].id", "$.peers[-1].rtt", "$[0]",
                                        "$[-1]",       "$[*]",          "$[*].group", "$.*",
                                        "$.*.x",       "$['a b'].c",    "$.a[1]",     "$[1][1][0]",
                                        "$.missing.x", "$[5]",          "$[-10]",     "$.a[*]",
                                        "$.a.x",       "$.*.q",         "$.x.q[*].q", "$[*].x",
                                        "$.n",         "$.q",           "$['\xe2\x82\xac']", "$[1].data[2]"};
    static const struct {
        ma_op op;
        const char *operand;
    } ops[] = {{MA_OP_EQUALS, "1"},          {MA_OP_EQUALS, "\"n1\""},      {MA_OP_EQUALS, "{\"x\":3}"},
               {MA_OP_EQUALS, "[1,2,3]"},    {MA_OP_NOT_EQUALS, "2"},       {MA_OP_EXISTS, "true"},
               {MA_OP_EXISTS, "false"},      {MA_OP_NOT_EXISTS, "true"},    {MA_OP_GREATER_THAN, "0"},
               {MA_OP_AT_MOST, "2"},         {MA_OP_IN, "[1,\"cpu\",null]"}, {MA_OP_CONTAINS, "\"x\""},
               {MA_OP_STARTS_WITH, "\"p\""}, {MA_OP_SUBSET, "{\"x\":3}"},   {MA_OP_SUBSET, "[{}]"},
               {MA_OP_EQUALS, "null"},       {MA_OP_LENGTH, "2"},           {MA_OP_LENGTH, "0"},
               {MA_OP_LENGTH, "3"},          {MA_OP_TYPE, "\"object\""},     {MA_OP_TYPE, "\"array\""},
               {MA_OP_TYPE, "[\"integer\",\"null\"]"}};
    char what[200];
    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
            for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
                ma_check *c = op(paths[p], ops[o].op, ops[o].operand);
                snprintf(what, sizeof what, "%s %s %s", paths[p] ? paths[p] : "$", ma_op_name(ops[o].op),
                         ops[o].operand);
                compare(bodies[b], c, what);
                ma_check_free(c);
            }
            /* or / not / and of two paths */
            ma_check *any = ma_check_group(MA_CHECK_OR, here);
            ma_check_add(any, op(paths[p], MA_OP_EQUALS, "2"));
            ma_check_add(any, op("$.mesh.peer_count", MA_OP_AT_LEAST, "1"));
            compare(bodies[b], any, "or");
            ma_check *neg = ma_check_group(MA_CHECK_NOT, here);
            ma_check_add(neg, op(paths[p], MA_OP_EXISTS, "true"));
            compare(bodies[b], neg, "not");
            ma_check *all = ma_check_group(MA_CHECK_AND, here);
            ma_check_add(all, any);
            ma_check_add(all, neg);
            ma_check_add(all, op("$[*].group", MA_OP_IN, "[\"cpu\",\"wireguard\"]"));
            compare(bodies[b], all, "and");
            ma_check_free(all);
        }
    }
}

/* What plain means: the shortcut is taken (a document smaller than the
 * whole) only for plain text; anything else is the whole document. */
static void test_projection_plain(void **st)
{
    (void)st;
    ma_proj *p = ma_proj_new();
    ma_path *a = path_of("$.a");
    ma_proj_add_path(p, a);
    ma_path_free(a);
    static const struct {
        const char *body;
        int projected;
    } cases[] = {
        {"{\"a\":1,\"b\":2}", 1},
        {"{\"a\":1,\"b\":\"x\\\"y\"}", 0},             /* a backslash */
        {"{\"a\":1,\"b\":1e3}", 0},                     /* an exponent */
        {"{\"a\":1,\"b\":\"1e3\"}", 1},                 /* ... in a string is text */
        {"{\"a\":1,\"b\":1234567890123456}", 0},        /* 16 digits */
        {"{\"a\":1,\"b\":\"12345678901234567890\"}", 1}, /* ... in a string */
        {"{\"a\":1,\"b\":\"caf\xc3\xa9\"}", 1},
        {"{\"a\":1,\"b\":\"\xc3\"}", 0},                /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = ma_proj_body(p, cases[i].body, strlen(cases[i].body));
        json_t *whole = ma_json_from_body(cases[i].body, strlen(cases[i].body));
        if (cases[i].projected) {
            assert_int_equal(json_object_size(v), 1);
            assert_true(json_equal(json_object_get(v, "a"), json_object_get(whole, "a")));
        } else {
            assert_true(same_json(v, whole));
        }
        json_decref(v);
        json_decref(whole);
    }
    /* nesting: 2,000 brackets and more are read whole (jansson's limit is 2048) */
    char deep[4100];
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"a\":", 4);
    n += 4;
    for (int i = 0; i < 2000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 2000; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    json_t *v = ma_proj_body(p, deep, n), *whole = ma_json_from_body(deep, n);
    assert_true(same_json(v, whole));
    json_decref(v);
    json_decref(whole);
    ma_proj_free(p);
}


/* ma_proj_key: a text it accepts is JSON jansson reads plainly; two texts
 * with the same key have equal projections; texts that differ only where
 * no path reaches have the same key. */
static void test_projection_keys(void **st)
{
    (void)st;
    static const char *const sets[][4] = {
        {"$.node_id", NULL},           {"$.mesh.peer_count", "$.status", NULL}, {"$[*].group", "$[2].peer_id", NULL},
        {"$.a[-1]", "$.*.x", NULL},    {"$[-2]", "$[0].x", NULL},               {"$.peers[*].rtt", "$.b", NULL},
        {"$.mesh", "$.a[1]", NULL},
    };
    /* variants: the same skeletons with values changed, members reordered, duplicated, arrays longer */
    static const char *const texts[] = {
        "{\"node_id\":\"n1\",\"status\":\"healthy\",\"mesh\":{\"peer_count\":2},\"t\":\"2025-01-01T00:00:00Z\"}",
        "{\"node_id\":\"n1\",\"status\":\"healthy\",\"mesh\":{\"peer_count\":2},\"t\":\"2025-01-01T00:00:30Z\"}",
        "{\"status\":\"healthy\",\"node_id\":\"n1\",\"mesh\":{\"peer_count\":2}}",
        "{\"node_id\":\"n1\",\"node_id\":\"n2\",\"mesh\":{\"peer_count\":2.0}}",
        "{\"node_id\":\"n1\",\"mesh\":{\"peer_count\":3},\"status\":\"degraded\"}",
        "{\"node_id\":\"n1\",\"mesh\":[2],\"status\":\"healthy\"}",
        "{\"node_id\":\"n1\",\"mesh\":{\"peer_count\":2, \"x\": 1},\"status\":\"healthy\"}",
        "[{\"group\":\"cpu\"},{\"group\":\"mem\"},{\"group\":\"wg\",\"peer_id\":\"p1\"}]",
        "[{\"group\":\"cpu\"},{\"group\":\"mem\"},{\"group\":\"wg\",\"peer_id\":\"p2\"}]",
        "[{\"group\":\"cpu\"},{\"group\":\"mem\"},{\"group\":\"wg\",\"peer_id\":\"p1\"},{\"x\":1}]",
        "[{\"group\":\"cpu\",\"x\":2},{\"group\":\"mem\"},{\"group\":\"wg\",\"peer_id\":\"p1\",\"y\":[1,2]}]",
        "{\"a\":[1,2,{\"x\":1}],\"b\":{\"x\":2},\"peers\":[{\"rtt\":1},{\"rtt\":2}]}",
        "{\"a\":[1,2,{\"x\":1}],\"b\":{\"x\":3},\"peers\":[{\"rtt\":1},{\"rtt\":2}]}",
        "{\"a\":[1,2,3,{\"x\":1}],\"b\":{\"x\":2},\"peers\":[{\"rtt\":1}]}",
        "{\"a\":[],\"b\":null,\"peers\":[]}",
        "{\"a\":[1,2,{\"x\":1}] , \"b\" : {\"x\":2},\"peers\":[{\"rtt\":1},{\"rtt\":2}]}",
        "[1,2,3]", "[1,2]", "[]", "\"x\"", "12", "-0", "0.5", "true", "null", "{}",
        "{\"a\":{\"x\":1}}", "{\"b\":{\"x\":1}}",
        /* not plain, or not JSON: no key */
        "{\"a\":\"\\\"\"}", "{\"a\":1e2}", "{\"a\":12345678901234567}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
        "{\"a\":\"\xff\"}", "{\"a\":\"\x01\"}", "{\"a\":tru}", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "", "  ", "x",
        "{\"a\":1} x", "{\"a\":\"caf\xc3\xa9\"}",
    };
    size_t nt = sizeof texts / sizeof texts[0];
    for (size_t si = 0; si < sizeof sets / sizeof sets[0]; si++) {
        ma_proj *p = ma_proj_new();
        for (size_t k = 0; sets[si][k]; k++) {
            ma_path *x = path_of(sets[si][k]);
            ma_proj_add_path(p, x);
            ma_path_free(x);
        }
        ma_buf *keys = calloc(nt, sizeof *keys);
        int *ok = calloc(nt, sizeof *ok);
        json_t **docs = calloc(nt, sizeof *docs);
        assert_true(keys && ok && docs);
        for (size_t i = 0; i < nt; i++) {
            ok[i] = ma_proj_key(p, texts[i], strlen(texts[i]), &keys[i]);
            docs[i] = ma_proj_body(p, texts[i], strlen(texts[i]));
            if (ok[i]) {
                json_error_t e;
                json_t *v = json_loadb(texts[i], strlen(texts[i]), JSON_DECODE_ANY, &e);
                if (!v)
                    fail_msg("key for text jansson refuses: %s", texts[i]);
                json_decref(v);
            }
        }
        for (size_t i = 0; i < nt; i++)
            for (size_t j = i + 1; j < nt; j++)
                if (ok[i] && ok[j] && keys[i].len == keys[j].len && memcmp(keys[i].p, keys[j].p, keys[i].len) == 0 &&
                    !same_json(docs[i], docs[j]))
                    fail_msg("set %zu: same key, different documents: %s / %s", si, texts[i], texts[j]);
        for (size_t i = 0; i < nt; i++) {
            ma_buf_free(&keys[i]);
            json_decref(docs[i]);
        }
        free(keys);
        free(ok);
        free(docs);
        ma_proj_free(p);
    }
    /* the same key where only unread parts differ; none for what is not plain */
    ma_proj *p = ma_proj_new();
    ma_path *x = path_of("$.node_id");
    ma_proj_add_path(p, x);
    ma_path_free(x);
    ma_buf a = {0}, b = {0};
    assert_int_equal(ma_proj_key(p, texts[0], strlen(texts[0]), &a), 1);
    assert_int_equal(ma_proj_key(p, texts[1], strlen(texts[1]), &b), 1);
    assert_true(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
    assert_int_equal(ma_proj_key(p, texts[3], strlen(texts[3]), &b), 1);
    assert_false(a.len == b.len && memcmp(a.p, b.p, a.len) == 0); /* n1, then n2 */
    for (size_t i = 28; i < nt - 1; i++)
        assert_int_equal(ma_proj_key(p, texts[i], strlen(texts[i]), &b), 0);
    assert_int_equal(ma_proj_key(p, texts[nt - 1], strlen(texts[nt - 1]), &b), 1);
    ma_buf_free(&a);
    ma_proj_free(p);
    /* a length check reads its path's value, not $: bodies keep a key */
    ma_check *len = op("$.peers", MA_OP_LENGTH, "2");
    p = ma_proj_new();
    ma_proj_add_check(p, len);
    assert_int_equal(ma_proj_key(p, texts[0], strlen(texts[0]), &b), 1);
    ma_check_free(len);
    ma_buf_free(&b);
    ma_proj_free(p);
}

int run_project_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection_matches_whole),
        cmocka_unit_test(test_projection_plain),
        cmocka_unit_test(test_projection_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
