/* test_journal.c: the journal as mockassert holds it (assert/requests.c):
 * a page read as it arrives, cut anywhere, gives the journal the parsed
 * page gives; remembered selections, the nearest entries and announced
 * checks agree with filtering, ranking and checking every entry directly;
 * entries are fetched again through the fetcher, or from the text kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "match.h"
#include "requests.h"
#include "subject.h"

static const ma_mark here = {"t.yaml", 1, 1};

/* A page of n entries shaped like the server's: several nodes, routes,
 * statuses, test entries, bodies with escapes and non-ASCII text, a
 * base64 body, a route null. */
static json_t *make_page(int n, long long first_seq)
{
    json_t *es = json_array();
    for (int i = 0; i < n; i++) {
        long long seq = first_seq + i;
        int kind = i % 7, node = i % 5;
        char path[64], body[256], time[64];
        const char *method = "POST", *route = "heartbeat", *enc = "utf8";
        int status = 200, test = 0;
        snprintf(time, sizeof time, "2026-11-24T07:03:%02d.%09dZ", i % 60, i * 7919 % 1000000000);
        switch (kind) {
        case 0:
        case 1:
            snprintf(path, sizeof path, "/v1/nodes/node-%d/heartbeat", node);
            snprintf(body, sizeof body, "{\"node_id\":\"node-%d\",\"status\":\"%s\",\"n\":%d,\"peers\":[%d,%d]}", node,
                     i % 3 ? "healthy" : "degraded", i, i, i + 1);
            break;
        case 2:
            snprintf(path, sizeof path, "/v1/nodes/node-%d/metrics", node);
            route = "metrics";
            status = 204;
            snprintf(body, sizeof body, "[{\"group\":\"cpu\",\"v\":%d.5},{\"group\":\"caf\xc3\xa9 \\\"q\\\"\"}]", i);
            break;
        case 3:
            snprintf(path, sizeof path, "/v1/node/node-%d/heartbeat", node);
            route = NULL;
            status = 404;
            snprintf(body, sizeof body, "not json {%d", i);
            break;
        case 4:
            snprintf(path, sizeof path, "/test/assertions");
            method = "GET";
            route = "assertions";
            test = 1;
            body[0] = '\0';
            break;
        case 5:
            snprintf(path, sizeof path, "/v1/nodes/node-%d/state", node);
            method = "GET";
            route = "state";
            snprintf(body, sizeof body, "/w==");
            enc = "base64";
            break;
        default:
            snprintf(path, sizeof path, "/v1/register");
            route = "register";
            snprintf(body, sizeof body, "{\"hostname\":\"h%d\",\"big\":12345678901234567890,\"e\":1e3}", node);
            break;
        }
        json_t *e = json_pack("{sIsss{ss}sssssssss[[ss]]sssssIsbsIss?sb}", "seq", (json_int_t)seq, "time", time,
                              "extra", "k", "v", "method", method, "path", path, "query", "a=1", "listener_kind",
                              "http", "headers", "Host", "x", "body", body, "body_encoding", enc, "status",
                              (json_int_t)status, "gzipped", 0, "body_size", (json_int_t)strlen(body), "route", route,
                              "test", test);
        assert_non_null(e);
        json_array_append_new(es, e);
    }
    json_t *page = json_pack("{sosIsIsIsI}", "entries", es, "next_seq", (json_int_t)(first_seq + n), "oldest_seq",
                             (json_int_t)first_seq, "evicted", (json_int_t)0, "max_entries", (json_int_t)10000);
    assert_non_null(page);
    return page;
}

static void same_entries(const ma_journal *a, const ma_journal *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const ma_entry *x = &a->v[i], *y = &b->v[i];
        assert_int_equal(x->seq, y->seq);
        assert_true(x->time_ns == y->time_ns);
        assert_string_equal(x->method, y->method);
        assert_string_equal(x->path, y->path);
        assert_true((x->route == NULL) == (y->route == NULL));
        if (x->route)
            assert_string_equal(x->route, y->route);
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->test, y->test);
    }
    assert_int_equal(a->next_seq, b->next_seq);
    assert_int_equal(a->max_entries, b->max_entries);
}

/* Feeds text in pieces of size k; returns finish's result. */
static int read_in_pieces(ma_journal *j, const char *text, size_t len, size_t k, long *n)
{
    ma_page_reader *rd = ma_page_reader_new(j, 0);
    const char *why = NULL;
    for (size_t at = 0; at < len; at += k)
        assert_int_equal(ma_page_reader_feed(rd, text + at, len - at < k ? len - at : k, &why), 0);
    long long next = 0;
    int rc = ma_page_reader_finish(rd, n, &next, &why);
    if (rc == 0)
        ma_page_reader_apply(rd);
    ma_page_reader_free(rd);
    return rc;
}

static void test_reader_pieces(void **st)
{
    (void)st;
    json_t *page = make_page(60, 1);
    char *text = json_dumps(page, JSON_COMPACT);
    size_t len = strlen(text);
    ma_journal want = {0};
    const char *why;
    assert_int_equal(ma_journal_add_page(&want, page, &why), 60);
    static const size_t pieces[] = {1, 2, 3, 5, 7, 13, 64, 333, 4096, 1 << 20};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        ma_journal j = {0};
        long n = 0;
        assert_int_equal(read_in_pieces(&j, text, len, pieces[p], &n), 0);
        assert_int_equal(n, 60);
        same_entries(&want, &j);
        ma_journal_free(&j);
    }
    /* an empty page, a page that is not mockapi's (kept whole), a broken one */
    ma_journal j = {0};
    long n = -1;
    const char *empty = "{\"entries\":[],\"next_seq\":5,\"max_entries\":0}";
    assert_int_equal(read_in_pieces(&j, empty, strlen(empty), 3, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(j.next_seq, 5);
    assert_true(j.max_known);
    const char *other = "{\"error\":\"no\"}";
    assert_int_equal(read_in_pieces(&j, other, strlen(other), 4, &n), 1);
    const char *cut = "{\"entries\":[{\"seq\":1,\"path\":\"/x\"}";
    assert_int_equal(read_in_pieces(&j, cut, strlen(cut), 4, &n), -1);
    ma_journal_free(&j);
    ma_journal_free(&want);
    free(text);
    json_decref(page);
}

static void test_selections_and_nearest(void **st)
{
    (void)st;
    json_t *page = make_page(300, 10);
    ma_journal j = {0};
    const char *why;
    assert_int_equal(ma_journal_add_page(&j, page, &why), 300);
    static const char *const methods[] = {NULL, "POST", "get"};
    static const char *const paths[] = {NULL,           "/v1/nodes/*/heartbeat", "/v1/nodes/node-1/**",
                                        "/test/**",     "/v1/node/*/*",          "/nope",
                                        "/v1/register", "/v1/nodes/node-2/heartbeat"};
    static const char *const routes[] = {NULL, "heartbeat", "metrics", "assertions", "register"};
    static const int statuses[] = {0, 200, 404};
    for (int round = 0; round < 2; round++) {
        for (size_t a = 0; a < 3; a++)
            for (size_t b = 0; b < sizeof paths / sizeof paths[0]; b++)
                for (size_t c = 0; c < 5; c++)
                    for (size_t d = 0; d < 3; d++) {
                        ma_filter f = {(char *)methods[a], (char *)paths[b], (char *)routes[c], statuses[d], here, 0, 0, 0};
                        const ma_entry **v = NULL;
                        size_t n = ma_journal_select(&j, &f, &v), k = 0;
                        for (size_t i = 0; i < j.n; i++) {
                            if (!ma_filter_match(&f, &j.v[i]))
                                continue;
                            assert_true(k < n);
                            assert_ptr_equal(v[k], &j.v[i]);
                            k++;
                        }
                        assert_int_equal(k, n);
                        const ma_entry *first = ma_journal_first(&j, &f);
                        assert_ptr_equal(first, n ? v[0] : NULL);
                        free(v);
                        /* nearest: the order of ranking every entry */
                        const ma_entry *near[7];
                        size_t nn = ma_journal_nearest(&j, &f, 7, near);
                        const ma_entry *best[7];
                        size_t nb = 0;
                        int want_test = ma_filter_wants_test(&f);
                        for (size_t i = 0; i < j.n; i++) {
                            const ma_entry *e = &j.v[i];
                            if (e->test && !want_test)
                                continue;
                            /* insert e into best by (score desc, seq desc) */
                            int sc = ma_filter_similarity(&f, e);
                            size_t at = nb;
                            while (at > 0) {
                                int sp = ma_filter_similarity(&f, best[at - 1]);
                                if (sp > sc || (sp == sc && best[at - 1]->seq > e->seq))
                                    break;
                                at--;
                            }
                            if (at >= 7)
                                continue;
                            if (nb < 7)
                                nb++;
                            memmove(best + at + 1, best + at, (nb - 1 - at) * sizeof *best);
                            best[at] = e;
                        }
                        assert_int_equal(nn, nb);
                        for (size_t i = 0; i < nn; i++)
                            assert_ptr_equal(near[i], best[i]);
                    }
        /* the second round: the journal grew, selections are extended */
        json_t *more = make_page(50, 310);
        assert_int_equal(ma_journal_add_page(&j, more, &why), 50);
        json_decref(more);
    }
    ma_journal_free(&j);
    json_decref(page);
}

/* A fetcher serving the entries of a page, counting what it was asked. */
typedef struct {
    json_t *pages[4];
    size_t npages;
    size_t calls, asked;
    int filtered;
} fake_server;

static int fake_fetch(void *ctx, ma_journal *j, const ma_entry *const *v, size_t n, size_t span, const ma_filter *f)
{
    (void)span;
    fake_server *fs = ctx;
    fs->calls++;
    fs->asked += n;
    fs->filtered += f != NULL;
    for (size_t p = 0; p < fs->npages; p++) {
        json_t *es = json_object_get(fs->pages[p], "entries");
        for (size_t i = 0; i < json_array_size(es); i++)
            ma_journal_put(j, json_array_get(es, i));
    }
    (void)v;
    return 0;
}

static ma_check *op(const char *path, ma_op o, const char *operand)
{
    size_t pos;
    const char *why;
    ma_path *p = path ? ma_path_parse(path, &pos, &why) : NULL;
    json_error_t e;
    char w[200];
    ma_check *c = ma_check_op(here, p, o, json_loads(operand, JSON_DECODE_ANY, &e), w, sizeof w);
    assert_non_null(c);
    return c;
}

/* A check on a subject (query NAME, header NAME) of each entry. */
static ma_check *subj(ma_subject_kind kind, const char *name, ma_op o, const char *operand)
{
    char w[200];
    ma_check *c = op(NULL, o, operand);
    c->subject = ma_subject_new(kind, name, w, sizeof w);
    assert_non_null(c->subject);
    return c;
}

static void test_announced_checks(void **st)
{
    (void)st;
    json_t *page = make_page(200, 1), *more = make_page(40, 201);
    ma_check *checks[] = {op("$.node_id", MA_OP_EQUALS, "\"node-1\""), op("$.status", MA_OP_IN, "[\"healthy\"]"),
                          op("$[*].group", MA_OP_EXISTS, "true"),      op(NULL, MA_OP_EQUALS, "\"/w==\""),
                          op("$.peers[-1]", MA_OP_GREATER_THAN, "50"),  op("$.big", MA_OP_EXISTS, "true"),
                          op("$.n", MA_OP_AT_MOST, "100"),
                          /* checks on the entry, not its body (mixed with one that is) */
                          subj(MA_SUBJ_QUERY, "a", MA_OP_EQUALS, "\"1\""), subj(MA_SUBJ_HEADER, "host", MA_OP_EQUALS, "\"y\"")};
    ma_filter filters[] = {{NULL, "/v1/nodes/*/heartbeat", NULL, 0, here, 0, 0, 0}, {NULL, NULL, "heartbeat", 0, here, 0, 0, 0},
                           {"POST", "/v1/nodes/**", NULL, 0, here, 0, 0, 0},      {NULL, NULL, "state", 0, here, 0, 0, 0},
                           {NULL, NULL, NULL, 0, here, 0, 0, 0},                  {NULL, NULL, "register", 0, here, 0, 0, 0},
                           {NULL, "/v1/nodes/node-1/heartbeat", NULL, 0, here, 0, 0, 0}, {NULL, NULL, "heartbeat", 0, here, 0, 0, 0},
                           {NULL, "/v1/nodes/*/heartbeat", NULL, 0, here, 0, 0, 0}};
    size_t nc = sizeof checks / sizeof checks[0];
    for (int late = 0; late < 2; late++) {
        fake_server fs = {{page, more}, 2, 0, 0, 0};
        ma_journal j = {0};
        ma_journal_set_fetch(&j, fake_fetch, &fs);
        ma_journal_set_keep(&j, 0); /* nothing kept: every entry shown or explained is fetched */
        const char *why;
        for (size_t c = 0; c < nc && !late; c++)
            ma_journal_want(&j, &filters[c], checks[c]);
        char *text = json_dumps(page, JSON_COMPACT);
        long n;
        assert_int_equal(read_in_pieces(&j, text, strlen(text), 777, &n), 0);
        free(text);
        assert_int_equal(ma_journal_add_page(&j, more, &why), 40);
        for (size_t c = 0; c < nc && late; c++)
            ma_journal_want(&j, &filters[c], checks[c]);
        for (size_t c = 0; c < nc; c++) {
            const ma_entry **v = NULL;
            size_t ns = ma_journal_select(&j, &filters[c], &v), want_n = 0;
            for (size_t i = 0; i < j.n; i++)
                want_n += (size_t)ma_filter_match(&filters[c], &j.v[i]);
            assert_int_equal(ns, want_n);
            assert_true(ns > 0);
            for (size_t i = 0; i < ns; i++) {
                /* the verdict against the whole body, read here */
                json_t *es = json_object_get(v[i]->seq <= 200 ? page : more, "entries");
                json_t *obj = json_array_get(es, (size_t)(v[i]->seq <= 200 ? v[i]->seq - 1 : v[i]->seq - 201));
                json_t *b = json_object_get(obj, "body");
                const char *enc = json_string_value(json_object_get(obj, "body_encoding"));
                json_t *doc = strcmp(enc, "base64") == 0 ? json_incref(b)
                                                          : ma_json_from_body(json_string_value(b), json_string_length(b));
                ma_failures fw = {0}, fg = {0};
                ma_truth want = ma_check_truth(checks[c], doc, obj, &fw);
                assert_int_equal(ma_entry_check(&j, v[i], checks[c], NULL), want);
                assert_int_equal(ma_entry_check(&j, v[i], checks[c], &fg), want);
                assert_int_equal(fw.n, fg.n);
                for (size_t k = 0; k < fw.n; k++)
                    assert_string_equal(fw.v[k].path, fg.v[k].path);
                ma_failures_free(&fw);
                ma_failures_free(&fg);
                json_decref(doc);
                assert_true(json_equal(ma_entry_object(&j, v[i]), obj));
            }
            free(v);
            ma_journal_release(&j);
        }
        /* late: the verdicts needed the bodies, fetched by the filter */
        assert_true(fs.calls > 0);
        assert_true(late ? fs.filtered > 0 : 1);
        /* a reset keeps what was announced: the entries added after it are
         * checked as they come (a path without a star among the filters) */
        ma_journal_reset(&j);
        assert_int_equal(j.n, 0);
        assert_int_equal(ma_journal_add_page(&j, more, &why), 40);
        size_t calls = fs.calls;
        for (size_t c = 0; c < nc; c++) {
            const ma_entry **v = NULL;
            size_t ns = ma_journal_select(&j, &filters[c], &v), want_n = 0;
            for (size_t i = 0; i < j.n; i++)
                want_n += (size_t)ma_filter_match(&filters[c], &j.v[i]);
            assert_int_equal(ns, want_n);
            for (size_t i = 0; i < ns; i++) {
                json_t *obj = json_array_get(json_object_get(more, "entries"), (size_t)(v[i]->seq - 201));
                json_t *b = json_object_get(obj, "body");
                const char *enc = json_string_value(json_object_get(obj, "body_encoding"));
                json_t *doc = strcmp(enc, "base64") == 0 ? json_incref(b)
                                                          : ma_json_from_body(json_string_value(b), json_string_length(b));
                assert_int_equal(ma_entry_check(&j, v[i], checks[c], NULL), ma_check_truth(checks[c], doc, obj, NULL));
                json_decref(doc);
            }
            free(v);
        }
        assert_int_equal(fs.calls, calls); /* no verdict needed a fetch */
        ma_journal_free(&j);
    }
    for (size_t c = 0; c < nc; c++)
        ma_check_free(checks[c]);
    json_decref(page);
    json_decref(more);
}

/* Entries the journal kept the text of are shown without asking the
 * server (the oldest beyond the budget are not kept); without a fetcher
 * and without text, a stand-in. */
static void test_entry_objects(void **st)
{
    (void)st;
    json_t *page = make_page(20, 1);
    fake_server fs = {{page}, 0, 0, 0, 0}; /* serves nothing */
    ma_journal j = {0};
    ma_journal_set_fetch(&j, fake_fetch, &fs);
    ma_journal_set_keep(&j, 2000);
    const char *why;
    assert_int_equal(ma_journal_add_page(&j, page, &why), 20);
    size_t kept = 0;
    for (size_t i = 0; i < j.n; i++) {
        json_t *o = ma_entry_object(&j, &j.v[i]), *want = json_array_get(json_object_get(page, "entries"), i);
        if (json_equal(o, want)) {
            kept++;
            assert_true(i >= 10); /* the most recent */
            assert_false(ma_entry_gone(&j, &j.v[i]));
        } else {
            /* the server no longer has it: a stand-in, and said so (groupBy
             * must not file it under "(missing)") */
            assert_true(ma_entry_gone(&j, &j.v[i]));
            assert_int_equal(json_integer_value(json_object_get(o, "seq")), j.v[i].seq);
            assert_null(json_object_get(o, "body"));
            assert_null(ma_entry_body(&j, &j.v[i]));
        }
    }
    assert_true(kept > 0 && kept < 20);
    assert_true(fs.calls > 0);
    ma_journal_free(&j);
    json_decref(page);
}

int run_journal_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_pieces),
        cmocka_unit_test(test_selections_and_nearest),
        cmocka_unit_test(test_announced_checks),
        cmocka_unit_test(test_entry_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
