/* test_names.c: every consumer of the name lists agrees with them.
 *
 * The lists are MOCKAPI_COUNTERS (include/mockapi.h) and MK_CAPTURE_ROUTES /
 * MK_PLAIN_ROUTES (src/common/names.h). Their consumers: the public counter
 * table and lookups (api/mockapi.c), the route table and capture keys
 * (core/router.c), mockassert's lint (assert/spec.c), and the two READMEs,
 * which list the counters in /test/assertions order, the capture keys and
 * the route names. Names are compared as strings, so a consumer that
 * hard-codes a value of its own fails here even if it compiles. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi.h"
#include "names.h"
#include "router.h"
#include "spec.h"
#include "unit.h"

/* The lists as data: each route name, the counter it moves (an index into
 * MOCKAPI_COUNTERS, -1 for none) and whether it is a capture key. */
enum {
    T_NONE = -1,
#define T_CTR_(id, name) T_##id = MOCKAPI_##id,
    MOCKAPI_COUNTERS(T_CTR_)
#undef T_CTR_
};
static const struct {
    const char *name;
    int counter;
    int capture;
} list[] = {
#define T_CAP_(id, name, counter) {name, T_##counter, 1},
#define T_PLAIN_(id, name, counter) {name, T_##counter, 0},
    MK_CAPTURE_ROUTES(T_CAP_) MK_PLAIN_ROUTES(T_PLAIN_)
#undef T_CAP_
#undef T_PLAIN_
};
#define NLIST (sizeof list / sizeof list[0])

static int list_find(const char *name)
{
    for (size_t i = 0; i < NLIST; i++)
        if (strcmp(list[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void test_counter_names_round_trip(void **st)
{
    (void)st;
    assert_int_equal(MOCKAPI_COUNTER_COUNT, 24);
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++) {
        const char *n = mockapi_counter_name((mockapi_counter)i);
        assert_non_null(n);
        assert_ptr_equal(n, mockapi_counter_names[i]);
        assert_int_equal(mockapi_counter_by_name(n), i);
        size_t len = strlen(n);
        assert_true(len > 6 && strcmp(n + len - 6, "_count") == 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, mockapi_counter_names[j]);
    }
    assert_null(mockapi_counter_name(MOCKAPI_COUNTER_COUNT));
    assert_null(mockapi_counter_name((mockapi_counter)-1));
    assert_int_equal(mockapi_counter_by_name("nope_count"), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_counter_by_name("heartbeat"), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_counter_by_name(NULL), MOCKAPI_ENOTFOUND);
}

static void test_capture_keys_are_the_first_route_names(void **st)
{
    (void)st;
    assert_int_equal(MK_CAP_COUNT, 22); /* docs/contract.md §9 */
    assert_int_equal(MK_ROUTE_COUNT, (int)NLIST);
    for (int i = 0; i < MK_ROUTE_COUNT; i++) {
        const char *n = mk_route_id_name((mk_route_id)i);
        assert_non_null(n);
        assert_string_equal(n, list[i].name);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, list[j].name);
        mk_capture c = mk_capture_by_name(n, strlen(n));
        if (i < MK_CAP_COUNT) {
            assert_true(list[i].capture);
            assert_int_equal(c, i);
            assert_string_equal(mk_capture_name(c), n);
        } else {
            assert_false(list[i].capture);
            assert_int_equal(c, MK_CAP_NONE);
        }
    }
    assert_null(mk_capture_name(MK_CAP_NONE));
    assert_null(mk_capture_name(MK_CAP_COUNT));
    assert_null(mk_route_id_name(MK_ROUTE_NONE));
    assert_null(mk_route_id_name(MK_ROUTE_COUNT));
}

/* Every route moves the counter and fills the capture key its name's entry
 * says; every name and every counter belongs to some route. */
static void test_routes_follow_the_list(void **st)
{
    (void)st;
    size_t n;
    const mk_route *r = mk_routes(&n);
    int name_used[NLIST] = {0};
    const char *counter_route[MOCKAPI_COUNTER_COUNT] = {0};

    for (size_t i = 0; i < n; i++) {
        const char *name = mk_route_name(&r[i]);
        if (!r[i].method) { /* the JSON 405 fallbacks: nameless, count and capture nothing */
            assert_null(name);
            assert_int_equal(r[i].name, MK_ROUTE_NONE);
            assert_int_equal(r[i].counter, -1);
            assert_int_equal(r[i].capture, MK_CAP_NONE);
            continue;
        }
        if (!name)
            fail_msg("route %s %s has no name", r[i].method, r[i].pattern);
        int k = list_find(name);
        if (k < 0)
            fail_msg("route %s %s: name %s is not in names.h", r[i].method, r[i].pattern, name);
        name_used[k] = 1;
        if (r[i].counter != list[k].counter)
            fail_msg("route %s %s (%s) moves %s, names.h says %s", r[i].method, r[i].pattern, name,
                     r[i].counter >= 0 ? mockapi_counter_name((mockapi_counter)r[i].counter) : "nothing",
                     list[k].counter >= 0 ? mockapi_counter_names[list[k].counter] : "nothing");
        if (list[k].capture)
            assert_string_equal(mk_capture_name(r[i].capture), name);
        else
            assert_int_equal(r[i].capture, MK_CAP_NONE);
        if (r[i].counter >= 0) {
            /* one counter, one route name (two patterns may share a name) */
            const char **seen = &counter_route[r[i].counter];
            if (*seen && strcmp(*seen, name) != 0)
                fail_msg("%s is moved by both %s and %s",
                         mockapi_counter_name((mockapi_counter)r[i].counter), *seen, name);
            *seen = name;
        }
    }
    for (size_t k = 0; k < NLIST; k++)
        if (!name_used[k])
            fail_msg("names.h lists %s but no route has that name", list[k].name);
    for (int c = 0; c < MOCKAPI_COUNTER_COUNT; c++)
        if (!counter_route[c])
            fail_msg("no route moves %s", mockapi_counter_names[c]);
}

/* ---- mockassert's lint ---- */

typedef enum { AS_COUNTER, AS_CAPTURE_KEY, AS_ROUTE } lint_use;

/* Lints a one-expectation file that uses name as a counter, a capture key
 * or a route. Returns ma_spec_parse's verdict: 0 accepted, -1 refused. */
static int lint(lint_use use, const char *name)
{
    char text[256];
    ma_spec *s = NULL;
    ma_error err;
    memset(&err, 0, sizeof err);
    switch (use) {
    case AS_COUNTER:
        snprintf(text, sizeof text, "expectations:\n  - counter: %s\n    equals: 0\n", name);
        break;
    case AS_CAPTURE_KEY:
        snprintf(text, sizeof text, "expectations:\n  - lastRequest: %s\n", name);
        break;
    case AS_ROUTE:
        snprintf(text, sizeof text, "expectations:\n  - requests: {route: %s}\n", name);
        break;
    }
    int rc = ma_spec_parse("names.yaml", text, strlen(text), &s, &err);
    ma_spec_free(s);
    return rc;
}

static void test_lint_knows_exactly_the_server_names(void **st)
{
    (void)st;
    /* the tables it checks against are the server's, entry for entry */
    assert_int_equal(MA_NCOUNTERS, MOCKAPI_COUNTER_COUNT);
    assert_int_equal(MA_NKEYS, MK_CAP_COUNT);
    assert_int_equal(MA_NROUTES, MK_ROUTE_COUNT);
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
        assert_string_equal(ma_counter_names[i], mockapi_counter_name((mockapi_counter)i));
    for (int i = 0; i < MK_CAP_COUNT; i++)
        assert_string_equal(ma_capture_keys[i], mk_capture_name((mk_capture)i));
    for (int i = 0; i < MK_ROUTE_COUNT; i++)
        assert_string_equal(ma_route_names[i], mk_route_id_name((mk_route_id)i));

    /* and lint itself accepts each server name where it belongs ... */
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++) {
        const char *c = mockapi_counter_name((mockapi_counter)i);
        assert_int_equal(lint(AS_COUNTER, c), 0);
        assert_int_equal(lint(AS_ROUTE, c), -1);
        assert_int_equal(lint(AS_CAPTURE_KEY, c), -1);
    }
    for (int i = 0; i < MK_ROUTE_COUNT; i++) {
        const char *r = mk_route_id_name((mk_route_id)i);
        assert_int_equal(lint(AS_ROUTE, r), 0);
        /* ... a capture key only if the server captures under it */
        assert_int_equal(lint(AS_CAPTURE_KEY, r), i < MK_CAP_COUNT ? 0 : -1);
        assert_int_equal(lint(AS_COUNTER, r), -1);
    }
    /* ... and nothing else */
    assert_int_equal(lint(AS_COUNTER, "nope_count"), -1);
    assert_int_equal(lint(AS_CAPTURE_KEY, "nope"), -1);
    assert_int_equal(lint(AS_ROUTE, "nope"), -1);

    /* the route a counter's failure report looks at is the route that moves it */
    size_t n;
    const mk_route *r = mk_routes(&n);
    for (size_t i = 0; i < n; i++)
        if (r[i].counter >= 0)
            assert_string_equal(ma_counter_route(mockapi_counter_name((mockapi_counter)r[i].counter)),
                                mk_route_name(&r[i]));
    assert_null(ma_counter_route("nope_count"));
}

/* ---- the READMEs ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(b, cap = (len + 4096) * 2 + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
        got = fread(b + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    fclose(f);
    b[len] = '\0';
    return b;
}

/* The words of the first `...` span after `after`, joined by single spaces
 * (the README wraps such a span over lines). */
static void words_after(const char *text, const char *after, char *out, size_t cap)
{
    const char *p = strstr(text, after);
    out[0] = '\0';
    if (!p) {
        fail_msg("README: \"%s\" not found", after);
        return;
    }
    p = strchr(p + strlen(after), '`');
    const char *e = p ? strchr(p + 1, '`') : NULL;
    if (!e) {
        fail_msg("README: no `...` after \"%s\"", after);
        return;
    }
    size_t w = 0;
    for (const char *q = p + 1; q < e && w + 1 < cap; q++) {
        if (isspace((unsigned char)*q)) {
            if (w && out[w - 1] != ' ')
                out[w++] = ' ';
        } else {
            out[w++] = *q;
        }
    }
    out[w] = '\0';
}

/* The backquoted words of a "(`a`, `b`, ..., `z`)" list after `after`. */
static void quoted_list_after(const char *text, const char *after, char *out, size_t cap)
{
    const char *p = strstr(text, after);
    out[0] = '\0';
    if (!p) {
        fail_msg("README: \"%s\" not found", after);
        return;
    }
    p += strlen(after);
    const char *end = strchr(p, ')');
    size_t w = 0;
    while (end && p < end) {
        const char *a = strchr(p, '`'), *b = a ? strchr(a + 1, '`') : NULL;
        if (!b || b > end)
            break;
        int k = snprintf(out + w, cap - w, "%s%.*s", w ? " " : "", (int)(b - a - 1), a + 1);
        if (k < 0 || (size_t)k >= cap - w)
            break;
        w += (size_t)k;
        p = b + 1;
    }
}

static void join(const char *(*name)(int), int from, int to, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (int i = from; i < to; i++) {
        int k = snprintf(out + w, cap - w, "%s%s", w ? " " : "", name(i));
        if (k < 0 || (size_t)k >= cap - w)
            fail_msg("names do not fit");
        w += (size_t)k;
    }
}

static const char *counter_at(int i) { return mockapi_counter_name((mockapi_counter)i); }
static const char *route_at(int i) { return mk_route_id_name((mk_route_id)i); }

static void test_readmes_list_the_same_names(void **st)
{
    (void)st;
    char *readme = slurp("README.md"), *assert_readme = slurp("assert/README.md");
    char want[2048], got[2048];
    if (!readme || !assert_readme) {
        free(readme);
        free(assert_readme);
        fail_msg("cannot read README.md and assert/README.md (run from the repository's top)");
        return; /* fail_msg does not return; the compiler cannot know */
    }

    join(counter_at, 0, MOCKAPI_COUNTER_COUNT, want, sizeof want);
    words_after(readme, "counters, always in this order:", got, sizeof got);
    assert_string_equal(got, want);

    join(route_at, 0, MK_CAP_COUNT, want, sizeof want);
    words_after(readme, "Capture keys (22):", got, sizeof got);
    assert_string_equal(got, want);

    join(route_at, MK_CAP_COUNT, MK_ROUTE_COUNT, want, sizeof want);
    quoted_list_after(readme, "own name for routes without one (", got, sizeof got);
    assert_string_equal(got, want);
    words_after(assert_readme, "`route` (a capture key, or", got, sizeof got);
    assert_string_equal(got, want);

    free(readme);
    free(assert_readme);
}

int run_names_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_names_round_trip),
        cmocka_unit_test(test_capture_keys_are_the_first_route_names),
        cmocka_unit_test(test_routes_follow_the_list),
        cmocka_unit_test(test_lint_knows_exactly_the_server_names),
        cmocka_unit_test(test_readmes_list_the_same_names),
    };
    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
