/* test_fault_journal.c: what mockassert reads of the faults the server
 * applied and of regions (issue 14), on synthetic journal pages shaped as
 * GET /test/requests writes them: the store keeps each entry's fault
 * (interned) and region, read alike from text in pieces and from the
 * parsed page; the filter keys fault and region select as filtering every
 * entry does, and the server is asked with a wider filter (spans follow);
 * the subjects fault: FIELD and response: region give the same verdicts
 * announced or not, without fetching any entry; lint of the new keys and
 * of inOrder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "match.h"
#include "requests.h"
#include "spec.h"
#include "subject.h"

static const ma_mark here = {"t.yaml", 1, 1};

/* n heartbeats from node-(i%3) with, by i % 6: a rule's status=503 (rule 3),
 * a header's delay, nothing, a flag rule's reset (rule 1), nothing, a
 * rule's partial; regions alternate 0, 1 and none (-1: no member). */
static json_t *make_page(int n, long long first_seq)
{
    json_t *es = json_array();
    for (int i = 0; i < n; i++) {
        char path[64], body[64];
        snprintf(path, sizeof path, "/v1/nodes/node-%d/heartbeat", i % 3);
        snprintf(body, sizeof body, "{\"node_id\":\"node-%d\",\"n\":%d}", i % 3, i);
        json_t *fault = NULL;
        int status = 200;
        switch (i % 6) {
        case 0:
            fault = json_pack("{sssIssss}", "source", "rule", "rule", (json_int_t)3, "spec", "status=503; first=2",
                              "wire", "response");
            status = 503;
            break;
        case 1:
            fault = json_pack("{ssssss}", "source", "header", "spec", "delay=5", "wire", "response");
            break;
        case 3:
            fault = json_pack("{sssIssss}", "source", "flag", "rule", (json_int_t)1, "spec", "reset", "wire", "rst");
            break;
        case 5:
            fault = json_pack("{sssIssss}", "source", "rule", "rule", (json_int_t)4, "spec", "partial=8; then=rst",
                              "wire", "partial:8+rst");
            break;
        default:
            break;
        }
        json_t *e = json_pack("{sIsssssssssssIsss[[ss]]}", "seq", (json_int_t)(first_seq + i), "time",
                              "2026-11-24T07:03:01.000000001Z", "method", "POST", "path", path, "query", "",
                              "body", body, "status", (json_int_t)status, "route", "heartbeat", "headers", "Host",
                              "x");
        assert_non_null(e);
        if (fault)
            json_object_set_new(e, "fault", fault);
        if (i % 3 != 2)
            json_object_set_new(e, "region", json_integer(i % 3));
        json_object_set_new(e, "response", json_pack("{sIsn}", "status", (json_int_t)status, "error"));
        json_array_append_new(es, e);
    }
    json_t *page = json_pack("{sosIsIsIsI}", "entries", es, "next_seq", (json_int_t)(first_seq + n), "oldest_seq",
                             (json_int_t)first_seq, "evicted", (json_int_t)0, "max_entries", (json_int_t)10000);
    assert_non_null(page);
    return page;
}

static void read_text(ma_journal *j, const char *text, size_t len, size_t k)
{
    ma_page_reader *rd = ma_page_reader_new(j, 0);
    const char *why = NULL;
    for (size_t at = 0; at < len; at += k)
        assert_int_equal(ma_page_reader_feed(rd, text + at, len - at < k ? len - at : k, &why), 0);
    long n = 0;
    long long next = 0;
    assert_int_equal(ma_page_reader_finish(rd, &n, &next, &why), 0);
    ma_page_reader_apply(rd);
    ma_page_reader_free(rd);
}

/* The entry's fault and region as the page has them. */
static void entry_matches(const ma_entry *e, const json_t *obj)
{
    json_t *f = json_object_get(obj, "fault"), *r = json_object_get(obj, "region");
    assert_true((e->fault != NULL) == (f != NULL));
    if (f) {
        assert_string_equal(e->fault->source, json_string_value(json_object_get(f, "source")));
        assert_string_equal(e->fault->spec, json_string_value(json_object_get(f, "spec")));
        assert_string_equal(e->fault->wire, json_string_value(json_object_get(f, "wire")));
        json_t *rule = json_object_get(f, "rule");
        assert_int_equal(e->fault->rule, rule ? (long long)json_integer_value(rule) : -1);
        json_t *back = ma_fault_json(e->fault);
        assert_true(json_equal(back, f));
        json_decref(back);
    }
    assert_int_equal(e->region, r ? (int)json_integer_value(r) : -1);
}

static void test_store_reads_faults(void **st)
{
    (void)st;
    json_t *page = make_page(36, 1);
    char *text = json_dumps(page, JSON_COMPACT);
    json_t *es = json_object_get(page, "entries");
    ma_journal parsed = {0};
    const char *why;
    assert_int_equal(ma_journal_add_page(&parsed, page, &why), 36);
    static const size_t pieces[] = {1, 7, 64, 1 << 20};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        ma_journal j = {0};
        read_text(&j, text, strlen(text), pieces[p]);
        assert_int_equal(j.n, 36);
        for (size_t i = 0; i < j.n; i++) {
            entry_matches(&j.v[i], json_array_get(es, i));
            entry_matches(&parsed.v[i], json_array_get(es, i));
        }
        /* one copy of each fault: entries with the same fault share it */
        assert_ptr_equal(j.v[0].fault, j.v[6].fault);
        assert_ptr_equal(j.v[3].fault, j.v[33].fault);
        assert_true(j.v[0].fault != j.v[5].fault);
        /* faulted or not, and the region, make different shapes */
        assert_true(j.v[0].shape != j.v[2].shape);
        ma_journal_free(&j);
    }
    /* a fault member that is not an object, a region that is not a
     * whole number: as if absent */
    const char *odd = "{\"entries\":[{\"seq\":1,\"path\":\"/x\",\"fault\":\"x\",\"region\":1.5},"
                      "{\"seq\":2,\"path\":\"/x\",\"fault\":{},\"region\":-1}],\"next_seq\":3}";
    ma_journal j = {0};
    read_text(&j, odd, strlen(odd), 5);
    assert_int_equal(j.n, 2);
    assert_null(j.v[0].fault);
    assert_int_equal(j.v[0].region, -1);
    assert_non_null(j.v[1].fault); /* an empty object: a fault the server did not describe */
    assert_string_equal(j.v[1].fault->wire, "");
    assert_int_equal(j.v[1].fault->rule, -1);
    assert_int_equal(j.v[1].region, -1);
    /* a reset drops them with the strings they point at; new ones come */
    ma_journal_reset(&j);
    read_text(&j, text, strlen(text), 333);
    entry_matches(&j.v[5], json_array_get(es, 5));
    ma_journal_free(&j);
    ma_journal_free(&parsed);
    free(text);
    json_decref(page);
}

static void test_filters(void **st)
{
    (void)st;
    json_t *page = make_page(60, 1);
    ma_journal j = {0};
    const char *why;
    assert_int_equal(ma_journal_add_page(&j, page, &why), 60);
    static const int faults[] = {0, 1, -1};
    static const char *const paths[] = {NULL, "/v1/nodes/node-1/heartbeat", "/v1/nodes/*/heartbeat"};
    for (size_t a = 0; a < 3; a++)
        for (int region = -1; region < 3; region++)
            for (size_t p = 0; p < 3; p++) {
                ma_filter f = {NULL, (char *)paths[p], NULL, 0, here, faults[a], region >= 0, region >= 0 ? region : 0};
                assert_int_equal(ma_filter_local(&f), faults[a] != 0 || region >= 0);
                const ma_entry **v = NULL;
                size_t n = ma_journal_select(&j, &f, &v), k = 0;
                for (size_t i = 0; i < j.n; i++) {
                    const ma_entry *e = &j.v[i];
                    int want = (!faults[a] || (faults[a] > 0) == (e->fault != NULL)) &&
                               (region < 0 || e->region == region) &&
                               (!paths[p] || ma_glob_match(paths[p], e->path));
                    assert_int_equal(ma_filter_match(&f, e), want);
                    if (!want)
                        continue;
                    assert_true(k < n);
                    assert_ptr_equal(v[k], e);
                    k++;
                }
                assert_int_equal(k, n);
                free(v);
                /* the server is asked without the keys it does not know */
                char *q = ma_filter_query(&f);
                assert_null(strstr(q, "fault"));
                assert_null(strstr(q, "region"));
                free(q);
                /* the nearest: a matching entry ranks first */
                const ma_entry *near[3];
                size_t nn = ma_journal_nearest(&j, &f, 3, near);
                if (n)
                    assert_int_equal(ma_filter_similarity(&f, near[0]), 100);
                (void)nn;
            }
    /* fault: true and region 0: 0 and 3 mod 6 */
    ma_filter f = {NULL, NULL, "heartbeat", 0, here, 1, 1, 0};
    const ma_entry **v = NULL;
    assert_int_equal(ma_journal_select(&j, &f, &v), 20);
    free(v);
    ma_journal_free(&j);
    json_decref(page);
}

/* A fetcher that counts and records what it was asked. */
typedef struct {
    json_t *page;
    size_t calls;
    size_t last_span;
    int last_local; /* the filter it got still had fault or region */
    int last_filter;
} fake_server;

static int fake_fetch(void *ctx, ma_journal *j, const ma_entry *const *v, size_t n, size_t span, const ma_filter *f)
{
    (void)v;
    (void)n;
    fake_server *fs = ctx;
    fs->calls++;
    fs->last_span = span;
    fs->last_filter = f != NULL;
    fs->last_local = f && ma_filter_local(f);
    json_t *es = json_object_get(fs->page, "entries");
    for (size_t i = 0; i < json_array_size(es); i++)
        ma_journal_put(j, json_array_get(es, i));
    return 0;
}

static ma_check *subj(ma_subject_kind kind, const char *name, ma_op o, const char *operand)
{
    char w[200];
    json_error_t e;
    ma_check *c = ma_check_op(here, NULL, o, json_loads(operand, JSON_DECODE_ANY, &e), w, sizeof w);
    assert_non_null(c);
    c->subject = ma_subject_new(kind, name, w, sizeof w);
    assert_non_null(c->subject);
    return c;
}

static void test_subjects(void **st)
{
    (void)st;
    json_t *page = make_page(60, 1);
    fake_server fs = {page, 0, 0, 0, 0};
    ma_check *checks[] = {
        subj(MA_SUBJ_FAULT, "wire", MA_OP_EQUALS, "null"),
        subj(MA_SUBJ_FAULT, "wire", MA_OP_STARTS_WITH, "\"partial:\""),
        subj(MA_SUBJ_FAULT, "source", MA_OP_IN, "[\"rule\", \"flag\"]"),
        subj(MA_SUBJ_FAULT, "rule", MA_OP_EQUALS, "3"),
        subj(MA_SUBJ_FAULT, "rule", MA_OP_EQUALS, "null"),
        subj(MA_SUBJ_FAULT, "spec", MA_OP_CONTAINS, "\"status=503\""),
        subj(MA_SUBJ_RESPONSE, "region", MA_OP_EQUALS, "1"),
        subj(MA_SUBJ_RESPONSE, "region", MA_OP_EQUALS, "null"),
    };
    /* what each gives entry i (by i % 6 and i % 3, as make_page makes them) */
    size_t nc = sizeof checks / sizeof checks[0];
    for (int late = 0; late < 2; late++) {
        ma_journal j = {0};
        ma_journal_set_fetch(&j, fake_fetch, &fs);
        ma_filter all = {NULL, NULL, "heartbeat", 0, here, 0, 0, 0};
        if (!late)
            for (size_t c = 0; c < nc; c++)
                ma_journal_want(&j, &all, checks[c]);
        char *text = json_dumps(page, JSON_COMPACT);
        read_text(&j, text, strlen(text), 100);
        free(text);
        fs.calls = 0;
        for (size_t i = 0; i < j.n; i++) {
            int k6 = (int)(i % 6), k3 = (int)(i % 3);
            const int want[] = {k6 == 2 || k6 == 4, k6 == 5, k6 == 0 || k6 == 3 || k6 == 5, k6 == 0,
                                k6 == 1 || k6 == 2 || k6 == 4, k6 == 0, k3 == 1, k3 == 2};
            for (size_t c = 0; c < nc; c++) {
                ma_truth t = ma_entry_check(&j, &j.v[i], checks[c], NULL);
                /* an operator on a string finds null on an entry without a fault: false, not unknown */
                assert_int_equal(t, want[c] ? MA_TRUE : MA_FALSE);
            }
        }
        if (!late)
            assert_int_equal(fs.calls, 0); /* the body is not read by these, nor the entry */
        /* a failure names the subject and the value */
        ma_failures f = {0};
        assert_int_equal(ma_entry_check(&j, &j.v[0], checks[0], &f), MA_FALSE);
        assert_int_equal(f.n, 1);
        assert_string_equal(f.v[0].path, "fault wire");
        assert_string_equal(json_string_value(f.v[0].actual), "response");
        ma_failures_free(&f);
        ma_journal_free(&j);
    }
    for (size_t c = 0; c < nc; c++) {
        assert_int_equal(ma_check_reads_entry(checks[c]), MA_READS_KEPT);
        /* no body is read for them (nor projected) */
        assert_int_equal(ma_check_reads_body(checks[c]), 0);
        ma_check_free(checks[c]);
    }
    json_decref(page);
}

/* Fetching the entries a local filter selects asks the server with the
 * filter it knows, and the span is counted in what that one selects. */
static void test_fetch_span(void **st)
{
    (void)st;
    json_t *page = make_page(60, 1);
    fake_server fs = {page, 0, 0, 0, 0};
    ma_journal j = {0};
    ma_journal_set_fetch(&j, fake_fetch, &fs);
    ma_journal_set_keep(&j, 0); /* nothing kept: every entry is fetched */
    const char *why;
    assert_int_equal(ma_journal_add_page(&j, page, &why), 60);
    ma_filter f = {NULL, NULL, "heartbeat", 0, here, 1, 1, 0}; /* seqs 1, 4, 7, 10, 13, ... */
    const ma_entry **v = NULL;
    size_t n = ma_journal_select(&j, &f, &v);
    assert_int_equal(n, 20);
    ma_journal_fetch(&j, v, 5, 5, &f);
    assert_int_equal(fs.calls, 1);
    assert_true(fs.last_filter);
    assert_false(fs.last_local);
    /* from seq 1 through seq 13: 13 heartbeats for the server */
    assert_int_equal(fs.last_span, 13);
    free(v);
    ma_journal_free(&j);
    json_decref(page);
}

/* Lint: the first error of a file. */
static void lint_error(const char *yaml, int line, int col, const char *msg_part)
{
    ma_spec *s = NULL;
    ma_error err;
    int rc = ma_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err);
    if (rc == 0)
        fail_msg("no error for: %s", yaml);
    if (!strstr(err.msg, msg_part))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, msg_part);
    if (err.mark.line != line || err.mark.col != col)
        fail_msg("\"%s\" at %d:%d, not %d:%d", err.msg, err.mark.line, err.mark.col, line, col);
}

static void test_lint(void **st)
{
    (void)st;
    const char *ok = "- requests: {route: heartbeat, fault: true, region: 1}\n"
                     "  each: [{fault: wire, notEquals: null}, {fault: rule, in: [3, null]}, {response: region, "
                     "equals: 1}]\n"
                     "- requests: heartbeat\n"
                     "  inOrder:\n"
                     "    - {response: status, equals: 503}\n"
                     "    - {and: [{response: status, equals: 200}, {fault: wire, equals: null}]}\n"
                     "- order: [{route: heartbeat, fault: true}, {route: heartbeat, fault: false}]\n"
                     "- interval: {fault: true, every: 1s}\n";
    ma_spec *s = NULL;
    ma_error err;
    assert_int_equal(ma_spec_parse("t.yaml", ok, strlen(ok), &s, &err), 0);
    assert_int_equal(s->n, 4);
    assert_int_equal(s->v[0].filter.fault, 1);
    assert_true(s->v[0].filter.has_region);
    assert_int_equal(s->v[0].filter.region, 1);
    assert_int_equal(s->v[1].ninorder, 2);
    assert_int_equal(s->v[1].inorder_marks[1].line, 6);
    assert_int_equal(s->v[2].steps[1].fault, -1);
    assert_string_equal(s->v[0].name, "requests heartbeat fault=true region=1");
    ma_spec_free(s);

    lint_error("- requests: {route: heartbeat, fault: yes}\n", 1, 39, "fault must be true");
    lint_error("- requests: {route: heartbeat, region: 32}\n", 1, 40, "region must be a region's index, 0 to 31");
    lint_error("- requests: {route: heartbeat, regoin: 1}\n", 1, 32, "did you mean region?");
    lint_error("- requests: heartbeat\n  each: {fault: wier, equals: rst}\n", 2, 17,
               "unknown fault field \"wier\" (expected one of: source, rule, spec, wire)");
    lint_error("- requests: heartbeat\n  each: {fault: wire, exists: true}\n", 2, 23,
               "exists does not apply to fault wire: it is always there, null when no fault was applied");
    lint_error("- requests: heartbeat\n  each: {fault: rule, equals: \"3\"}\n", 2, 32,
               "fault rule is a number or null: equals needs a number or null");
    lint_error("- requests: heartbeat\n  each: {response: region, in: [1, \"2\"]}\n", 2, 32,
               "response region is a number or null: in needs a list of numbers or null");
    lint_error("- requests: heartbeat\n  each: {fault: spec, startsWith: null}\n", 2, 35,
               "fault spec is a string or null: startsWith needs a string");
    lint_error("- requests: heartbeat\n  each: {response: region, contains: 1}\n", 2, 28,
               "contains does not apply to response region, a number");
    lint_error("- requests: heartbeat\n  each: {fualt: wire, equals: null}\n", 2, 10, "did you mean fault?");
    lint_error("- lastRequest: heartbeat\n  body: {fault: wire, equals: null}\n", 2, 10,
               "lastRequest holds only the captured body, so fault cannot be checked here");
    lint_error("- requests: heartbeat\n  inOrder: {response: status, equals: 503}\n", 2, 12,
               "inOrder takes a list of checks");
    lint_error("- requests: heartbeat\n  inOrder: []\n", 2, 12, "inOrder takes a list of checks");
    lint_error("- requests: heartbeat\n  inOrder:\n    - {response: stauts, equals: 503}\n", 3, 18,
               "did you mean status?");
    lint_error("- requests: heartbeat\n  inorder: []\n", 2, 3, "did you mean inOrder?");
    lint_error("- order: [heartbeat]\n  inOrder: []\n", 2, 3, "unknown key \"inOrder\"");
}

int run_fault_journal_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_reads_faults),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_subjects),
        cmocka_unit_test(test_fetch_span),
        cmocka_unit_test(test_lint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
