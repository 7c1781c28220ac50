/* test_subject.c: mockassert's checks on what a request carried and what
 * the mock answered (assert/subject.c), and groupBy's keys and groups
 * (assert/group.c): selection from a journal entry, query decoding,
 * fingerprints of secret headers (against the server's own journal), the
 * operands lint accepts, and the expectation file's syntax for both; the
 * auth subject over synthetic entries of strict and reference sessions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "group.h"
#include "journal.h" /* the server's journal: its redaction is what a fingerprint must equal */
#include "match.h"
#include "names.h"
#include "number.h"
#include "spec.h"
#include "strict.h" /* the server's token classes */
#include "subject.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in a test: %s: %s", e.text, text);
    return v;
}

/* A journal entry as GET /test/requests gives it (only what subjects read). */
static const char *const entry_text =
    "{\"seq\": 7, \"method\": \"POST\", \"path\": \"/v1/nodes/node-1/heartbeat\","
    " \"query\": \"x=1&y=a%20b+c&x=2&flag&plus=%2B&%6Eame=v&bad=%FF&=empty\","
    " \"headers\": [[\"Host\", \"h\"], [\"User-Agent\", \"agent/1\"], [\"X-Tag\", \"a\"], [\"x-tag\", \"b\"],"
    "               [\"Authorization\", \"redacted sha256:9a57dce5\"]],"
    " \"body\": \"{\\\"node_id\\\":\\\"node-1\\\"}\", \"status\": 200,"
    " \"response\": {\"status\": 200, \"headers\": [[\"Content-Type\", \"application/json\"]],"
    "              \"body_size\": 39, \"duration_us\": 61, \"error\": null}}";

static ma_subject *subject(ma_subject_kind kind, const char *name)
{
    char why[300];
    ma_subject *s = ma_subject_new(kind, name, why, sizeof why);
    if (!s)
        fail_msg("%s %s: %s", ma_subject_words[kind], name, why);
    return s;
}

/* The values of kind/name in the test entry, as compact JSON joined by
 * spaces, and each hit's concrete path joined by '|' into paths. */
static char *selected(ma_subject_kind kind, const char *name, char *paths, size_t plen)
{
    json_t *e = J(entry_text);
    ma_subject *s = subject(kind, name);
    ma_hit *hits = NULL;
    size_t n = ma_subject_select(s, e, &hits);
    ma_buf b = {0};
    if (paths)
        paths[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *v = ma_json_show(hits[i].value);
        ma_buf_printf(&b, "%s%s", i ? " " : "", v);
        free(v);
        if (paths)
            snprintf(paths + strlen(paths), plen - strlen(paths), "%s%s", i ? "|" : "", hits[i].path);
    }
    ma_subject_hits_free(hits, n);
    ma_subject_free(s);
    json_decref(e);
    return ma_buf_steal(&b);
}

#define SELECTS(kind, name, want)                                                                                     \
    do {                                                                                                              \
        char *got_ = selected(kind, name, NULL, 0);                                                                   \
        assert_string_equal(got_, want);                                                                              \
        free(got_);                                                                                                   \
    } while (0)

static void test_headers_any_case_each_occurrence(void **st)
{
    (void)st;
    SELECTS(MA_SUBJ_HEADER, "user-agent", "\"agent/1\"");
    SELECTS(MA_SUBJ_HEADER, "USER-AGENT", "\"agent/1\"");
    SELECTS(MA_SUBJ_HEADER, "X-Tag", "\"a\" \"b\"");
    SELECTS(MA_SUBJ_HEADER, "X-Missing", "");
    SELECTS(MA_SUBJ_RESPONSE_HEADER, "content-type", "\"application/json\"");
    /* request and response headers are apart */
    SELECTS(MA_SUBJ_RESPONSE_HEADER, "User-Agent", "");
    SELECTS(MA_SUBJ_HEADER, "Content-Type", "");
    char paths[200];
    free(selected(MA_SUBJ_HEADER, "x-tag", paths, sizeof paths));
    assert_string_equal(paths, "header x-tag[0]|header x-tag[1]");
    free(selected(MA_SUBJ_HEADER, "User-Agent", paths, sizeof paths));
    assert_string_equal(paths, "header User-Agent");
}

static void test_query_decoded(void **st)
{
    (void)st;
    SELECTS(MA_SUBJ_QUERY, "x", "\"1\" \"2\"");
    SELECTS(MA_SUBJ_QUERY, "y", "\"a b c\"");   /* %20 and + are spaces */
    SELECTS(MA_SUBJ_QUERY, "plus", "\"+\"");    /* %2B is a plus */
    SELECTS(MA_SUBJ_QUERY, "flag", "\"\"");     /* no '=': an empty value */
    SELECTS(MA_SUBJ_QUERY, "name", "\"v\"");    /* the name is decoded too */
    SELECTS(MA_SUBJ_QUERY, "bad", "\"%FF\"");   /* not UTF-8 decoded: as written */
    SELECTS(MA_SUBJ_QUERY, "nope", "");
    SELECTS(MA_SUBJ_QUERY, "X", "");            /* parameter names are case-sensitive */
    char paths[200];
    free(selected(MA_SUBJ_QUERY, "a b", paths, sizeof paths));
    assert_string_equal(paths, "");
    json_t *v = ma_query_decode("a%2Bb+c%26", 10);
    assert_string_equal(json_string_value(v), "a+b c&");
    json_decref(v);
    /* a name that is not a token is quoted where failures name it */
    ma_subject *s = subject(MA_SUBJ_QUERY, "a b");
    assert_string_equal(s->text, "query \"a b\"");
    ma_subject_free(s);
}

static void test_response_fields(void **st)
{
    (void)st;
    SELECTS(MA_SUBJ_RESPONSE, "status", "200");
    SELECTS(MA_SUBJ_RESPONSE, "body_size", "39");
    SELECTS(MA_SUBJ_RESPONSE, "duration_us", "61");
    SELECTS(MA_SUBJ_RESPONSE, "error", "null"); /* present, and null */
    ma_resp_field f;
    assert_int_equal(ma_response_field("stauts", &f), -1);
    /* an entry without a response has none of them */
    json_t *e = J("{\"seq\": 1, \"headers\": []}");
    ma_subject *s = subject(MA_SUBJ_RESPONSE, "status");
    ma_hit *hits = NULL;
    assert_int_equal(ma_subject_select(s, e, &hits), 0);
    ma_subject_hits_free(hits, 0);
    ma_subject_free(s);
    json_decref(e);
}

static void test_names_checked(void **st)
{
    (void)st;
    char why[300];
    assert_null(ma_subject_new(MA_SUBJ_HEADER, "X Node", why, sizeof why));
    assert_non_null(strstr(why, "not a header name"));
    assert_null(ma_subject_new(MA_SUBJ_RESPONSE_HEADER, "a:b", why, sizeof why));
    assert_null(ma_subject_new(MA_SUBJ_QUERY, "", why, sizeof why));
    assert_null(ma_subject_new(MA_SUBJ_HEADER, "\xff", why, sizeof why));
}

/* The fingerprint mockassert computes is the one the server's journal
 * keeps, for every header names.h calls secret, in any case; others are
 * kept as sent. */
static void test_fingerprint_is_the_journals(void **st)
{
    (void)st;
#define SECRET_(n) n,
    static const char *const secret[] = {MK_SECRET_HEADERS(SECRET_)};
#undef SECRET_
    size_t ns = sizeof secret / sizeof secret[0];
    mk_header_kv h[16];
    char lower[16][64];
    for (size_t i = 0; i < ns; i++) {
        snprintf(lower[i], sizeof lower[i], "%s", secret[i]);
        for (char *p = lower[i]; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        h[i].name = i % 2 ? secret[i] : lower[i];
        h[i].value = "Bearer node-1-token";
    }
    h[ns].name = "User-Agent";
    h[ns].value = "Bearer node-1-token";
    mk_jentry_in in = {0};
    in.method = "GET";
    in.path = "/v1/ping";
    in.path_len = 8;
    in.nheaders = (int)ns + 1;
    in.headers = h;
    mk_jentry *je = mk_jentry_new(&in);
    assert_non_null(je);
    mk_buf out = {0};
    mk_jentry_json(je, &out);
    json_t *entry = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(entry);
    char *fp = ma_fingerprint("Bearer node-1-token", 19);
    assert_string_equal(fp, "redacted sha256:9a57dce5");
    for (size_t i = 0; i <= ns; i++) {
        char why[300];
        ma_subject *s = subject(MA_SUBJ_HEADER, secret[i < ns ? i : 0]);
        if (i == ns) {
            ma_subject_free(s);
            s = subject(MA_SUBJ_HEADER, "user-agent");
        }
        assert_int_equal(s->secret, i < ns);
        assert_int_equal(ma_is_secret_header(h[i].name), i < ns);
        /* the operand as lint turns it, against the value as the journal keeps it */
        json_t *operand = json_string("Bearer node-1-token");
        assert_int_equal(ma_subject_operand(s, MA_OP_EQUALS, &operand, why, sizeof why), 0);
        assert_string_equal(json_string_value(operand), i < ns ? fp : "Bearer node-1-token");
        ma_check *c = ma_check_op((ma_mark){"t", 1, 1}, NULL, MA_OP_EQUALS, operand, why, sizeof why);
        c->subject = s;
        ma_failures f = {0};
        if (!ma_check_eval_entry(c, NULL, entry, &f))
            fail_msg("%s: the journal's value does not equal the fingerprinted operand", h[i].name);
        ma_check_free(c);
    }
    free(fp);
    json_decref(entry);
    mk_buf_free(&out);
    mk_jentry_unref(je);
}

static void test_operators_and_operands(void **st)
{
    (void)st;
    char why[400];
    ma_subject *auth = subject(MA_SUBJ_HEADER, "authorization");
    ma_subject *status = subject(MA_SUBJ_RESPONSE, "status");
    ma_subject *error = subject(MA_SUBJ_RESPONSE, "error");
    ma_subject *ua = subject(MA_SUBJ_HEADER, "User-Agent");
    /* a secret: only whole-value operators */
    assert_int_equal(ma_subject_op_ok(auth, MA_OP_EQUALS, why, sizeof why), 0);
    assert_int_equal(ma_subject_op_ok(auth, MA_OP_NOT_IN, why, sizeof why), 0);
    assert_int_equal(ma_subject_op_ok(auth, MA_OP_EXISTS, why, sizeof why), 0);
    assert_int_equal(ma_subject_op_ok(auth, MA_OP_STARTS_WITH, why, sizeof why), -1);
    assert_non_null(strstr(why, "keeps only a fingerprint"));
    assert_int_equal(ma_subject_op_ok(auth, MA_OP_MATCHES, why, sizeof why), -1);
    assert_int_equal(ma_subject_op_ok(auth, MA_OP_CONTAINS, why, sizeof why), -1);
    /* a list operand: each string fingerprinted, none left as written */
    json_t *v = J("[\"Bearer a\", \"Bearer b\"]");
    assert_int_equal(ma_subject_operand(auth, MA_OP_IN, &v, why, sizeof why), 0);
    char *shown = ma_json_show(v);
    assert_null(strstr(shown, "Bearer"));
    assert_int_equal(strncmp(json_string_value(json_array_get(v, 1)), "redacted sha256:", 16), 0);
    free(shown);
    json_decref(v);
    /* a number has no substrings; its operands are numbers */
    assert_int_equal(ma_subject_op_ok(status, MA_OP_STARTS_WITH, why, sizeof why), -1);
    assert_int_equal(ma_subject_op_ok(status, MA_OP_BETWEEN, why, sizeof why), 0);
    v = J("\"200\"");
    assert_int_equal(ma_subject_operand(status, MA_OP_EQUALS, &v, why, sizeof why), -1);
    json_decref(v);
    v = J("[200, 204]");
    assert_int_equal(ma_subject_operand(status, MA_OP_IN, &v, why, sizeof why), 0);
    json_decref(v);
    /* a number mockassert keeps as text is a number too (was refused as
     * "status is a number: lessThan needs a number") */
    v = ma_number_parse("1e400", 5);
    assert_int_equal(ma_subject_operand(status, MA_OP_LESS_THAN, &v, why, sizeof why), 0);
    json_decref(v);
    v = json_pack("[i,o]", 200, ma_number_parse("18446744073709551615", 20));
    assert_int_equal(ma_subject_operand(status, MA_OP_NOT_IN, &v, why, sizeof why), 0);
    json_decref(v);
    /* error: a string or null */
    v = J("null");
    assert_int_equal(ma_subject_operand(error, MA_OP_EQUALS, &v, why, sizeof why), 0);
    json_decref(v);
    v = J("null");
    assert_int_equal(ma_subject_operand(error, MA_OP_STARTS_WITH, &v, why, sizeof why), -1);
    json_decref(v);
    /* header values are strings: an unquoted number is a mistake lint names */
    v = J("5");
    assert_int_equal(ma_subject_operand(ua, MA_OP_EQUALS, &v, why, sizeof why), -1);
    assert_non_null(strstr(why, "values are strings"));
    json_decref(v);
    v = J("\"5\"");
    assert_int_equal(ma_subject_operand(ua, MA_OP_EQUALS, &v, why, sizeof why), 0);
    assert_string_equal(json_string_value(v), "5");
    json_decref(v);
    ma_subject_free(auth);
    ma_subject_free(status);
    ma_subject_free(error);
    ma_subject_free(ua);
}

static ma_spec *parse(const char *yaml, ma_error *err)
{
    ma_spec *s = NULL;
    memset(err, 0, sizeof *err);
    ma_spec_parse("t.yaml", yaml, strlen(yaml), &s, err);
    return s;
}

static void parses_to_error(const char *yaml, int line, int col, const char *msg_part)
{
    ma_error err;
    ma_spec *s = parse(yaml, &err);
    if (s)
        fail_msg("parsed, expected an error \"%s\": %s", msg_part, yaml);
    if (err.mark.line != line || err.mark.col != col || !strstr(err.msg, msg_part))
        fail_msg("got %d:%d: %s\nwanted %d:%d: ...%s...", err.mark.line, err.mark.col, err.msg, line, col, msg_part);
}

/* Checks with subjects, read from YAML and evaluated against the entry:
 * and/or/not mix them with body checks. */
static void test_checks_from_yaml(void **st)
{
    (void)st;
    ma_error err;
    ma_spec *s = parse("- requests: heartbeat\n"
                       "  each:\n"
                       "    - {header: user-agent, startsWith: agent/}\n"
                       "    - {query: y, equals: a b c}\n"
                       "    - {header: authorization, equals: Bearer node-1-token}\n"
                       "    - {path: $.node_id, equals: node-1}\n"
                       "    - or: [{header: Content-Encoding, equals: gzip}, {response: status, equals: 200}]\n"
                       "    - not: {responseHeader: Content-Type, notEquals: application/json}\n",
                       &err);
    if (!s)
        fail_msg("%d:%d: %s", err.mark.line, err.mark.col, err.msg);
    json_t *e = J(entry_text);
    json_t *body = J("{\"node_id\": \"node-1\"}");
    ma_failures f = {0};
    assert_true(ma_check_eval_entry(s->v[0].each, body, e, &f));
    assert_int_equal(f.n, 0);
    /* without the entry (a capture has only its body) a subject selects nothing */
    assert_false(ma_check_eval(s->v[0].each, body, NULL));
    ma_spec_free(s);

    s = parse("- requests: heartbeat\n"
              "  each:\n"
              "    - {header: authorization, equals: Bearer other-token}\n"
              "    - {query: x, equals: \"1\"}\n",
              &err);
    assert_non_null(s);
    assert_false(ma_check_eval_entry(s->v[0].each, body, e, &f));
    /* the secret shows as fingerprints only; the second x is named by index */
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].path, "header authorization");
    assert_int_equal(strncmp(json_string_value(f.v[0].expected), "redacted sha256:", 16), 0);
    assert_string_equal(json_string_value(f.v[0].actual), "redacted sha256:9a57dce5");
    assert_string_equal(f.v[1].path, "query x[1]");
    ma_failures_free(&f);
    ma_spec_free(s);
    json_decref(body);
    json_decref(e);
}

static void test_lint_errors(void **st)
{
    (void)st;
    parses_to_error("- requests: heartbeat\n  each: {header: A, query: b, equals: x}\n", 2, 21, "one subject");
    parses_to_error("- requests: heartbeat\n  each: {header: A}\n", 2, 18, "header needs an operator");
    parses_to_error("- requests: heartbeat\n  each: {response: stauts, equals: 1}\n", 2, 20,
                    "unknown response field \"stauts\" (did you mean status?)");
    parses_to_error("- lastRequest: heartbeat\n  body: {query: a, exists: true}\n", 2, 10,
                    "use requests: heartbeat with each: or any:");
    parses_to_error("- requests: heartbeat\n  each: {header: Cookie, contains: sekrit}\n", 2, 26,
                    "keeps only a fingerprint");
    ma_error err;
    assert_null(parse("- requests: heartbeat\n  each: {header: Cookie, contains: sekrit}\n", &err));
    assert_int_equal(err.hide_source, 1);
    parses_to_error("- requests: heartbeat\n  groupBy: {}\n", 2, 12, "groupBy needs one of");
    parses_to_error("- requests: heartbeat\n  groupBy: {segment: 1, query: a}\n", 2, 25, "groupBy takes one key");
    parses_to_error("- requests: heartbeat\n  groupBy: {segment: 0}\n", 2, 22, "segment 0");
    parses_to_error("- requests: heartbeat\n  groupBy: {path: \"$[*]\"}\n", 2, 20, "must select one value");
    parses_to_error("- order: [register, heartbeat]\n  groupBy: {segment: 3}\n", 2, 3, "requests expectations only");
    parses_to_error("- requests: heartbeat\n  groups: 2\n", 2, 3, "add groupBy");
}

/* ---- auth (issue 17: a strict session's token classes) ---- */

/* A strict session's entry (auth member), a skip-auth one, and a reference
 * session's (none). */
static const char *const auth_entry =
    "{\"seq\": 9, \"method\": \"POST\", \"path\": \"/v1/nodes/0193a0b0-0000-7000-8000-000000000001/heartbeat\","
    " \"headers\": [[\"Authorization\", \"redacted sha256:9a57dce5\"]],"
    " \"auth\": {\"class\": \"node_key\", \"token\": \"sha256:ba7816bf\","
    "            \"node\": \"0193a0b0-0000-7000-8000-000000000001\"},"
    " \"response\": {\"status\": 200}}";
static const char *const auth_skipped_entry =
    "{\"seq\": 10, \"auth\": {\"class\": \"none\", \"token\": null, \"node\": null, \"skipped\": true}}";
static const char *const reference_entry = "{\"seq\": 11, \"headers\": [], \"response\": {\"status\": 200}}";

/* The values of auth: field in entry, as compact JSON joined by spaces. */
static char *auth_selected(const char *field, const char *entry)
{
    json_t *e = J(entry);
    ma_subject *s = subject(MA_SUBJ_AUTH, field);
    ma_hit *hits = NULL;
    size_t n = ma_subject_select(s, e, &hits);
    ma_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char *v = ma_json_show(hits[i].value);
        ma_buf_printf(&b, "%s%s", i ? " " : "", v);
        free(v);
        /* one value, named as failures name it */
        char *want = ma_xasprintf("auth %s", field);
        assert_string_equal(hits[i].path, want);
        free(want);
    }
    ma_subject_hits_free(hits, n);
    ma_subject_free(s);
    json_decref(e);
    return ma_buf_steal(&b);
}

#define AUTH_SELECTS(field, entry, want)                                                                              \
    do {                                                                                                              \
        char *got_ = auth_selected(field, entry);                                                                     \
        assert_string_equal(got_, want);                                                                              \
        free(got_);                                                                                                   \
    } while (0)

static void test_auth_selected(void **st)
{
    (void)st;
    AUTH_SELECTS("class", auth_entry, "\"node_key\"");
    AUTH_SELECTS("token", auth_entry, "\"sha256:ba7816bf\"");
    AUTH_SELECTS("node", auth_entry, "\"0193a0b0-0000-7000-8000-000000000001\"");
    AUTH_SELECTS("skipped", auth_entry, "false"); /* written only when true */
    AUTH_SELECTS("class", auth_skipped_entry, "\"none\"");
    AUTH_SELECTS("token", auth_skipped_entry, "null");
    AUTH_SELECTS("node", auth_skipped_entry, "null");
    AUTH_SELECTS("skipped", auth_skipped_entry, "true");
    /* a reference session classifies nothing: every field is there, null */
    AUTH_SELECTS("class", reference_entry, "null");
    AUTH_SELECTS("token", reference_entry, "null");
    AUTH_SELECTS("node", reference_entry, "null");
    AUTH_SELECTS("skipped", reference_entry, "false");
    ma_auth_field f;
    assert_int_equal(ma_auth_field_of("class", &f), 0);
    assert_int_equal(f, MA_AUTH_CLASS);
    assert_int_equal(ma_auth_field_of("skipped", &f), 0);
    assert_int_equal(f, MA_AUTH_SKIPPED);
    assert_int_equal(ma_auth_field_of("Class", &f), -1);
    assert_int_equal(ma_auth_field_of("node_key", &f), -1);
    /* read from the entry itself, not from what the store keeps of it */
    ma_subject *s = subject(MA_SUBJ_AUTH, "class");
    assert_false(ma_subject_kept(s));
    assert_true(ma_subject_always(s));
    assert_false(s->secret);
    ma_subject_free(s);
    s = subject(MA_SUBJ_AUTH, "token");
    assert_true(s->secret);
    ma_subject_free(s);
}

/* lint's verdict on operand text (JSON) of op on auth: field; on success
 * the operand as lint turned it, else the reason */
static char *auth_operand(const char *field, ma_op op, const char *operand, int *rc)
{
    char why[400];
    ma_subject *s = subject(MA_SUBJ_AUTH, field);
    *rc = ma_subject_op_ok(s, op, why, sizeof why);
    char *out = NULL;
    if (*rc == 0) {
        json_t *v = J(operand);
        *rc = ma_subject_operand(s, op, &v, why, sizeof why);
        if (*rc == 0)
            out = ma_json_show(v);
        json_decref(v);
    }
    ma_subject_free(s);
    return out ? out : ma_xstrdup(why);
}

#define AUTH_OPERAND(field, op, operand, want_rc, want)                                                               \
    do {                                                                                                              \
        int rc_;                                                                                                      \
        char *got_ = auth_operand(field, op, operand, &rc_);                                                          \
        if (rc_ != (want_rc) || !strstr(got_, want))                                                                  \
            fail_msg("auth %s %s %s: rc %d, \"%s\"; wanted rc %d, \"...%s...\"", field, ma_op_name(op), operand,    \
                     rc_, got_, want_rc, want);                                                                       \
        free(got_);                                                                                                   \
    } while (0)

static void test_auth_operands(void **st)
{
    (void)st;
    /* class: the eight words (or null); anything else with a did-you-mean */
    for (size_t i = 0; i < MA_AUTH_NCLASSES; i++) {
        char *q = ma_xasprintf("\"%s\"", ma_auth_classes[i]);
        AUTH_OPERAND("class", MA_OP_EQUALS, q, 0, q);
        free(q);
    }
    AUTH_OPERAND("class", MA_OP_EQUALS, "null", 0, "null");
    AUTH_OPERAND("class", MA_OP_IN, "[\"node_key\", \"admin\", null]", 0, "[\"node_key\",\"admin\",null]");
    AUTH_OPERAND("class", MA_OP_EQUALS, "\"nodekey\"", -1, "not \"nodekey\" (did you mean \"node_key\"?)");
    AUTH_OPERAND("class", MA_OP_EQUALS, "\"node-key\"", -1, "(did you mean \"node_key\"?)");
    AUTH_OPERAND("class", MA_OP_NOT_EQUALS, "\"NSK\"", -1, "(did you mean \"node_key\"?)");
    AUTH_OPERAND("class", MA_OP_EQUALS, "\"Admin\"", -1, "(did you mean \"admin\"?)");
    AUTH_OPERAND("class", MA_OP_EQUALS, "\"psk\"", -1, "(did you mean \"api_token\"?)");
    AUTH_OPERAND("class", MA_OP_NOT_IN, "[\"node_key\", \"revokd\"]", -1, "not \"revokd\" (did you mean \"revoked\"?)");
    AUTH_OPERAND("class", MA_OP_EQUALS, "\"zzzzzzzzz\"", -1,
                 "auth class is none, bootstrap, node_key, revoked, api_token, admin, unknown or malformed (or null), "
                 "not \"zzzzzzzzz\"");
    AUTH_OPERAND("class", MA_OP_EQUALS, "3", -1, "auth class is a string or null: equals needs a string or null");
    AUTH_OPERAND("class", MA_OP_STARTS_WITH, "\"node\"", 0, "\"node\""); /* a part of a word: any string */
    AUTH_OPERAND("class", MA_OP_EXISTS, "true", -1,
                 "exists does not apply to auth class: it is always there, null only in a reference session");
    /* token: the operand is fingerprinted as the journal's auth member is
     * (sha256("abc") = ba7816bf...), a null left as it is */
    AUTH_OPERAND("token", MA_OP_EQUALS, "\"abc\"", 0, "\"sha256:ba7816bf\"");
    AUTH_OPERAND("token", MA_OP_NOT_IN, "[\"a\", null]", 0, "[\"sha256:ca978112\",null]");
    AUTH_OPERAND("token", MA_OP_EQUALS, "null", 0, "null");
    char *fp = ma_token_fingerprint("abc", 3);
    assert_string_equal(fp, "sha256:ba7816bf");
    free(fp);
    fp = ma_fingerprint("abc", 3); /* a header's, by the same hash */
    assert_string_equal(fp, "redacted sha256:ba7816bf");
    free(fp);
    /* only whole-token operators; the value is never in a reason */
    AUTH_OPERAND("token", MA_OP_CONTAINS, "\"sekrit\"", -1,
                 "contains cannot check auth token: the server keeps only a fingerprint of it (sha256 of the whole "
                 "token), so only the whole token can be compared: use equals, notEquals, in or notIn");
    AUTH_OPERAND("token", MA_OP_MATCHES, "\"sekrit\"", -1, "keeps only a fingerprint");
    AUTH_OPERAND("token", MA_OP_NOT_EXISTS, "true", -1, "null when no token was sent");
    AUTH_OPERAND("token", MA_OP_EQUALS, "\"Bearer sekrit\"", -1, "without \"Bearer \"");
    AUTH_OPERAND("token", MA_OP_IN, "[\"x\", \"bearer sekrit\"]", -1, "without \"Bearer \"");
    AUTH_OPERAND("token", MA_OP_EQUALS, "\"sha256:1a2b3c4d\"", -1, "not its fingerprint");
    AUTH_OPERAND("token", MA_OP_EQUALS, "7", -1, "auth token is a string or null");
    int rc;
    char *why = auth_operand("token", MA_OP_EQUALS, "\"Bearer sekrit\"", &rc);
    assert_null(strstr(why, "sekrit"));
    free(why);
    /* node: any string, or null */
    AUTH_OPERAND("node", MA_OP_STARTS_WITH, "\"0193\"", 0, "\"0193\"");
    AUTH_OPERAND("node", MA_OP_NOT_EQUALS, "null", 0, "null");
    /* skipped: true or false */
    AUTH_OPERAND("skipped", MA_OP_EQUALS, "true", 0, "true");
    AUTH_OPERAND("skipped", MA_OP_IN, "[true, false]", 0, "[true,false]");
    AUTH_OPERAND("skipped", MA_OP_EQUALS, "\"true\"", -1, "auth skipped is true or false: equals needs true or false");
    AUTH_OPERAND("skipped", MA_OP_EQUALS, "null", -1, "needs true or false");
    AUTH_OPERAND("skipped", MA_OP_CONTAINS, "\"t\"", -1,
                 "contains does not apply to auth skipped, true or false (use equals, notEquals, in or notIn)");
    AUTH_OPERAND("skipped", MA_OP_EXISTS, "true", -1,
                 "it is always there, false when authentication was not skipped (use equals: true or equals: false)");
}

/* Auth checks from YAML against the entries: pass, and fail naming the
 * field, a token only by fingerprints. */
static void test_auth_from_yaml(void **st)
{
    (void)st;
    ma_error err;
    ma_spec *s = parse("- requests: heartbeat\n"
                       "  each:\n"
                       "    - {auth: class, equals: node_key}\n"
                       "    - {auth: token, equals: abc}\n"
                       "    - {auth: node, startsWith: 0193a0b0-}\n"
                       "    - {auth: skipped, equals: false}\n"
                       "    - or: [{auth: class, in: [api_token, admin]}, {response: status, equals: 200}]\n",
                       &err);
    if (!s)
        fail_msg("%d:%d: %s", err.mark.line, err.mark.col, err.msg);
    json_t *e = J(auth_entry), *ref = J(reference_entry), *skipped = J(auth_skipped_entry);
    ma_failures f = {0};
    assert_true(ma_check_eval_entry(s->v[0].each, NULL, e, &f));
    assert_int_equal(f.n, 0);
    assert_int_equal(ma_check_reads_entry(s->v[0].each), MA_READS_WHOLE);
    ma_spec_free(s);

    s = parse("- requests: heartbeat\n"
              "  each:\n"
              "    - {auth: class, equals: node_key}\n"
              "    - {auth: token, in: [other-token, null]}\n"
              "    - {auth: skipped, equals: true}\n",
              &err);
    assert_non_null(s);
    assert_false(ma_check_eval_entry(s->v[0].each, NULL, e, &f));
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].path, "auth token");
    char *shown = ma_json_show(f.v[0].expected);
    assert_null(strstr(shown, "other-token"));
    assert_int_equal(strncmp(shown, "[\"sha256:", 9), 0);
    free(shown);
    assert_string_equal(json_string_value(f.v[0].actual), "sha256:ba7816bf");
    assert_string_equal(f.v[1].path, "auth skipped");
    assert_true(json_is_false(f.v[1].actual));
    ma_failures_free(&f);
    /* a reference session's entry: the class is null */
    assert_false(ma_check_eval_entry(s->v[0].each, NULL, ref, &f));
    assert_string_equal(f.v[0].path, "auth class");
    assert_true(json_is_null(f.v[0].actual));
    ma_failures_free(&f);
    /* skip-auth: class none, no token, skipped */
    assert_false(ma_check_eval_entry(s->v[0].each, NULL, skipped, &f));
    assert_int_equal(f.n, 1);
    assert_string_equal(json_string_value(f.v[0].actual), "none");
    ma_failures_free(&f);
    ma_spec_free(s);
    json_decref(e);
    json_decref(ref);
    json_decref(skipped);
}

static void test_auth_lint(void **st)
{
    (void)st;
    parses_to_error("- requests: heartbeat\n  each: {auth: clas, equals: none}\n", 2, 16,
                    "unknown auth field \"clas\" (did you mean class?)");
    parses_to_error("- requests: heartbeat\n  each: {auth: node_key}\n", 2, 16,
                    "auth takes a field (class, token, node, skipped), and node_key is a class: check it as "
                    "{auth: class, equals: node_key}");
    parses_to_error("- requests: heartbeat\n  each: {auth: class, equals: nodekey}\n", 2, 31,
                    "(did you mean \"node_key\"?)");
    parses_to_error("- requests: heartbeat\n  each: {auth: class}\n", 2, 16, "auth needs an operator");
    parses_to_error("- requests: heartbeat\n  each: {auth: class, header: A, equals: x}\n", 2, 23, "one subject");
    parses_to_error("- lastRequest: heartbeat\n  body: {auth: class, equals: none}\n", 2, 10,
                    "(the journal keeps headers, query, response, fault and auth)");
    parses_to_error("- requests: heartbeat\n  groupBy: {auth: klass}\n", 2, 19,
                    "unknown auth field \"klass\" (did you mean class?)");
    /* an error about a token check never shows its line */
    const char *hidden[] = {
        "- requests: heartbeat\n  each: {auth: token, contains: sekrit}\n",
        "- requests: heartbeat\n  each: {auth: token, equals: Bearer sekrit}\n",
        "- requests: heartbeat\n  each: {auth: token, equals: sekrit, bogus: 1}\n",
        "- requests: heartbeat\n  each:\n    auth: token\n    equals: sekrit\n    equals: sekrit2\n",
        "- requests: heartbeat\n  each: {\"auth\": \"token\", equals: [sekrit}\n",
    };
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
        ma_error err;
        assert_null(parse(hidden[i], &err));
        if (!err.hide_source || strstr(err.source, "sekrit") || strstr(err.msg, "sekrit"))
            fail_msg("case %zu shows its line: %d:%d: %s | %s", i, err.mark.line, err.mark.col, err.msg, err.source);
    }
    assert_true(ma_mentions_auth_token("each: {auth: token, equals: x}"));
    assert_true(ma_mentions_auth_token("  \"auth\" : 'token'"));
    assert_false(ma_mentions_auth_token("each: {auth: class, equals: node_key}"));
    assert_false(ma_mentions_auth_token("body: {token: abc}"));
}

/* lint's classes are the server's words, and the server's journal writes
 * the auth member as the subject reads it (skipped only when true; none
 * at all outside a strict session). */
static void test_auth_is_the_journals(void **st)
{
    (void)st;
    assert_int_equal(MK_AUTH_BOOTSTRAP + 1, MA_AUTH_NCLASSES);
    for (int c = MK_AUTH_NONE; c <= MK_AUTH_BOOTSTRAP; c++) {
        const char *n = mk_auth_class_name((mk_auth_class)c);
        size_t i = 0;
        while (i < MA_AUTH_NCLASSES && strcmp(n, ma_auth_classes[i]))
            i++;
        if (i == MA_AUTH_NCLASSES)
            fail_msg("the server's class \"%s\" is not one lint accepts", n);
    }
    ma_error err;
    for (int k = 0; k < 3; k++) {
        mk_jentry_in in = {0};
        in.method = "POST";
        in.path = "/v1/nodes/0193a0b0-0000-7000-8000-000000000001/heartbeat";
        in.path_len = strlen(in.path);
        if (k < 2) { /* a strict session's: with the key, then skipped without one */
            in.auth_class = mk_auth_class_name(k == 0 ? MK_AUTH_NODE_KEY : MK_AUTH_NONE);
            in.auth_token = k == 0 ? "sha256:ba7816bf" : NULL;
            in.auth_node = k == 0 ? "0193a0b0-0000-7000-8000-000000000001" : NULL;
            in.auth_skipped = k == 1;
        }
        mk_jentry *je = mk_jentry_new(&in);
        assert_non_null(je);
        mk_buf out = {0};
        mk_jentry_json(je, &out);
        json_t *entry = json_loadb(out.data, out.len, 0, NULL);
        assert_non_null(entry);
        /* skipped is written only when true */
        assert_int_equal(strstr(out.data, "\"skipped\"") != NULL, k == 1);
        static const char *const yaml[] = {
            "- requests: heartbeat\n  each: [{auth: class, equals: node_key}, {auth: token, equals: abc},\n"
            "    {auth: node, equals: 0193a0b0-0000-7000-8000-000000000001}, {auth: skipped, equals: false}]\n",
            "- requests: heartbeat\n  each: [{auth: class, equals: none}, {auth: token, equals: null},\n"
            "    {auth: node, equals: null}, {auth: skipped, equals: true}]\n",
            "- requests: heartbeat\n  each: [{auth: class, equals: null}, {auth: token, equals: null},\n"
            "    {auth: node, equals: null}, {auth: skipped, equals: false}]\n",
        };
        ma_spec *s = parse(yaml[k], &err);
        if (!s)
            fail_msg("%d:%d: %s", err.mark.line, err.mark.col, err.msg);
        ma_failures f = {0};
        if (!ma_check_eval_entry(s->v[0].each, NULL, entry, &f))
            fail_msg("entry %d (%.*s): %s fails", k, (int)out.len, out.data, f.n ? f.v[0].path : "?");
        ma_spec_free(s);
        json_decref(entry);
        mk_buf_free(&out);
        mk_jentry_unref(je);
    }
}

static char *key_of(const char *yaml_groupby, const char *entry, const char *body)
{
    ma_error err;
    char *y = ma_xasprintf("- requests: heartbeat\n  groupBy: %s\n", yaml_groupby);
    ma_spec *s = parse(y, &err);
    free(y);
    if (!s)
        fail_msg("%s", err.msg);
    /* the body as mockassert reads it: exact numbers kept (number.h) */
    json_t *e = J(entry), *b = body ? ma_json_load_exact(body, strlen(body), 0) : NULL;
    if (body && !b)
        fail_msg("bad JSON in a test: %s", body);
    char *k = ma_group_key(s->v[0].groupby, e, b);
    json_decref(e);
    json_decref(b);
    ma_spec_free(s);
    return k;
}

#define KEY(gb, entry, body, want)                                                                                    \
    do {                                                                                                              \
        char *k_ = key_of(gb, entry, body);                                                                           \
        const char *w_ = (want);                                                                                      \
        if (w_ == NULL)                                                                                               \
            assert_null(k_);                                                                                          \
        else                                                                                                          \
            assert_string_equal(k_ ? k_ : "(null)", w_);                                                              \
        free(k_);                                                                                                     \
    } while (0)

static void test_group_keys(void **st)
{
    (void)st;
    const char *e = "{\"path\": \"/v1/nodes/node-1/heartbeat\", \"query\": \"n=a&n=b\","
                    " \"headers\": [[\"X-Node\", \"n1\"], [\"x-node\", \"n2\"]]}";
    KEY("{segment: 3}", e, NULL, "\"node-1\"");
    KEY("{segment: 1}", e, NULL, "\"v1\"");
    KEY("{segment: -1}", e, NULL, "\"heartbeat\"");
    KEY("{segment: -4}", e, NULL, "\"v1\"");
    KEY("{segment: 5}", e, NULL, NULL);
    KEY("{segment: -5}", e, NULL, NULL);
    KEY("{header: x-node}", e, NULL, "\"n1, n2\""); /* repeated: joined as HTTP does */
    KEY("{header: X-Other}", e, NULL, NULL);
    KEY("{query: n}", e, NULL, "\"a, b\"");
    KEY("{path: $.id}", e, "{\"id\": 1}", "1");
    KEY("{path: $.id}", e, "{\"id\": \"1\"}", "\"1\""); /* a string is not the number */
    KEY("{path: $.o}", e, "{\"o\": {\"b\": 2, \"a\": 1}}", "{\"a\":1,\"b\":2}");
    KEY("{path: $.id}", e, "{\"other\": 1}", NULL);
    KEY("{path: $.id}", e, NULL, NULL); /* no body */
    KEY("{segment: 2}", "{\"path\": \"/a//b\"}", NULL, "\"\"");
    /* exact numbers are keyed by their text, not their internal member */
    KEY("{path: $.id}", e, "{\"id\": 18446744073709551615}", "18446744073709551615");
    KEY("{path: $.id}", e, "{\"id\": 1e400}", "1e400");
    KEY("{path: $.o}", e, "{\"o\": {\"b\": 1e400, \"a\": [18446744073709551616]}}",
        "{\"a\":[18446744073709551616],\"b\":1e400}");
    /* auth: the field's JSON text; null (no token, a reference session) is missing */
    KEY("{auth: class}", auth_entry, NULL, "\"node_key\"");
    KEY("{auth: node}", auth_entry, NULL, "\"0193a0b0-0000-7000-8000-000000000001\"");
    KEY("{auth: token}", auth_entry, NULL, "\"sha256:ba7816bf\"");
    KEY("{auth: skipped}", auth_entry, NULL, "false");
    KEY("{auth: skipped}", auth_skipped_entry, NULL, "true");
    KEY("{auth: class}", auth_skipped_entry, NULL, "\"none\"");
    KEY("{auth: token}", auth_skipped_entry, NULL, NULL);
    KEY("{auth: class}", reference_entry, NULL, NULL);
}

static void test_group_split(void **st)
{
    (void)st;
    char *keys[] = {"\"b\"", NULL, "\"a\"", "\"b\"", NULL, "\"a\""};
    ma_group *g = NULL;
    size_t n = ma_group_split(keys, 6, &g);
    assert_int_equal(n, 3);
    assert_string_equal(g[0].key, "\"a\"");
    assert_int_equal(g[0].n, 2);
    assert_int_equal(g[0].idx[0], 2);
    assert_int_equal(g[0].idx[1], 5);
    assert_string_equal(g[1].key, "\"b\"");
    assert_int_equal(g[1].idx[0], 0);
    assert_null(g[2].key); /* the missing group, last */
    assert_int_equal(g[2].n, 2);
    char *shown = ma_group_show(g[2].key);
    assert_string_equal(shown, "(missing)");
    free(shown);
    /* a long key (a whole body, a long header) is cut, on a UTF-8 boundary */
    char longkey[400];
    memset(longkey, 'y', sizeof longkey);
    memcpy(longkey + MA_GROUP_SHOW_MAX - 1, "\xc3\xa9", 2); /* é across the cut */
    longkey[sizeof longkey - 1] = '\0';
    shown = ma_group_show(longkey);
    assert_int_equal(strlen(shown), MA_GROUP_SHOW_MAX - 1 + strlen("... (399 bytes)"));
    assert_string_equal(shown + MA_GROUP_SHOW_MAX - 1, "... (399 bytes)");
    free(shown);
    ma_groups_free(g, n);
    assert_int_equal(ma_group_split(keys, 0, &g), 0);
    ma_groups_free(g, 0);
}

int run_subject_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_any_case_each_occurrence),
        cmocka_unit_test(test_query_decoded),
        cmocka_unit_test(test_response_fields),
        cmocka_unit_test(test_names_checked),
        cmocka_unit_test(test_fingerprint_is_the_journals),
        cmocka_unit_test(test_operators_and_operands),
        cmocka_unit_test(test_checks_from_yaml),
        cmocka_unit_test(test_lint_errors),
        cmocka_unit_test(test_auth_selected),
        cmocka_unit_test(test_auth_operands),
        cmocka_unit_test(test_auth_from_yaml),
        cmocka_unit_test(test_auth_lint),
        cmocka_unit_test(test_auth_is_the_journals),
        cmocka_unit_test(test_group_keys),
        cmocka_unit_test(test_group_split),
    };
    return cmocka_run_group_tests_name("subject", tests, NULL, NULL);
}
