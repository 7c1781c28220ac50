/* test_ma_session.c: mockassert's sessions (assert/session_id.c): the id
 * checked as the server checks it (src/core/session.h), the server's
 * answers about a session told apart from any other 404, and the top-level
 * session: key in an expectation file, with its errors' places. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "session.h" /* the server's: MK_SESSION_ID_MAX */
#include "session_id.h"
#include "spec.h"

_Static_assert(MA_SESSION_ID_MAX == MK_SESSION_ID_MAX, "mockassert checks session ids as the server does");

/* -1 from ma_session_id_check, *at and why as given */
static void bad_id(const char *s, size_t len, size_t at, const char *why)
{
    size_t got_at = 999;
    char got[96] = "";
    if (ma_session_id_check(s, len, &got_at, got, sizeof got) != -1)
        fail_msg("\"%.*s\" taken as a session id", (int)len, s);
    if (got_at != at || strcmp(got, why) != 0)
        fail_msg("\"%.*s\": at %zu \"%s\", expected at %zu \"%s\"", (int)len, s, got_at, got, at, why);
}

static void test_id_check(void **st)
{
    (void)st;
    char id[MA_SESSION_ID_MAX + 8];
    memset(id, 'a', sizeof id);
    const char *good[] = {"a", "default", "ci-42.test_7", "0", "...", "-", "ABCxyz_.-0189"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(ma_session_id_check(good[i], strlen(good[i]), NULL, NULL, 0), 0);
    assert_int_equal(ma_session_id_check(id, MA_SESSION_ID_MAX, NULL, NULL, 0), 0); /* 64: the longest */

    bad_id("", 0, 0, ", and this one is empty");
    bad_id(id, MA_SESSION_ID_MAX + 1, MA_SESSION_ID_MAX, ", and this one is 65 bytes long");
    bad_id("ci 42", 5, 2, ", and this one has ' ' at byte 3");
    bad_id("ci/42", 5, 2, ", and this one has '/' at byte 3");
    bad_id("a:b", 3, 1, ", and this one has ':' at byte 2");
    bad_id("it's", 4, 2, ", and this one has \"'\" at byte 3");
    bad_id("a\0b", 3, 1, ", and this one has the byte \\x00 at byte 2"); /* the length, not the NUL, ends it */
    bad_id("c\xc3\xafx", 4, 1, ", and this one has the byte \\xC3 at byte 2");
    bad_id("tab\t", 4, 3, ", and this one has the byte \\x09 at byte 4");
    /* a bad byte is named before the length: fixing the length alone would not do */
    id[70] = '\0';
    id[69] = '!';
    bad_id(id, 70, 69, ", and this one has '!' at byte 70");
    /* at and why may be left out */
    assert_int_equal(ma_session_id_check("a b", 3, NULL, NULL, 0), -1);
}

static void problem(long status, const char *body, const char *want)
{
    char *got = ma_session_problem(status, body, body ? strlen(body) : 0, "http://h:1", "GET /test/assertions");
    if (!want && got)
        fail_msg("HTTP %ld %s: \"%s\", expected none", status, body ? body : "(no body)", got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("HTTP %ld %s: \"%s\", expected \"%s\"", status, body ? body : "(no body)", got ? got : "(none)",
                 want);
    free(got);
}

static void test_problem(void **st)
{
    (void)st;
    problem(404, "{\"error\":\"no session \\\"t9\\\" (it ended, expired or never existed)\"}\n",
            "session \"t9\" not found on http://h:1: it ended, expired or never existed (GET /test/assertions "
            "answered HTTP 404)");
    /* any other 404 is not about a session */
    problem(404, "{\"error\":\"no captured request for endpoint\"}", NULL);
    problem(404, "404 page not found", NULL);
    problem(404, "{\"error\":\"no such session\"}", NULL);
    problem(404, "[\"no session \\\"t9\\\"\"]", NULL);
    problem(404, "{\"error\":\"no session \\\"t9 (unterminated)\"}", NULL);
    problem(404, NULL, NULL);
    /* the body's words at another status are not mockapi's answer */
    problem(200, "{\"error\":\"no session \\\"t9\\\" (it ended, expired or never existed)\"}", NULL);
    problem(400, "{\"error\":\"no session \\\"t9\\\" (it ended, expired or never existed)\"}", NULL);
    /* whatever the id, it is printed printable and bounded */
    problem(404, "{\"error\":\"no session \\\"a\\u001bb\\\" (it ended, expired or never existed)\"}",
            "session \"a?b\" not found on http://h:1: it ended, expired or never existed (GET /test/assertions "
            "answered HTTP 404)");
    char body[400], want[400], id[81];
    memset(id, 'x', 80);
    id[80] = '\0';
    snprintf(body, sizeof body, "{\"error\":\"no session \\\"%s\\\" (it ended, expired or never existed)\"}", id);
    snprintf(want, sizeof want,
             "session \"%.64s...\" not found on http://h:1: it ended, expired or never existed (GET "
             "/test/assertions answered HTTP 404)",
             id);
    problem(404, body, want);
    /* -sessions required, whatever the body */
    problem(428, "anything",
            "http://h:1 answered HTTP 428 to GET /test/assertions: it wants a session on every request (mockapi "
            "-sessions required); give --session ID or a top-level session: key");
    char *r = ma_session_problem(428, NULL, 0, NULL, "POST /test/reset");
    assert_non_null(strstr(r, "the server answered HTTP 428 to POST /test/reset"));
    free(r);
}

/* ma_spec_parse's first error: its place and a part of its message */
static void lint_error(const char *yaml, int line, int col, const char *msg_part)
{
    ma_spec *s = NULL;
    ma_error err;
    if (ma_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) == 0)
        fail_msg("no error for: %s", yaml);
    if (!strstr(err.msg, msg_part))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, msg_part);
    if (err.mark.line != line || err.mark.col != col)
        fail_msg("\"%s\" at %d:%d, not %d:%d", err.msg, err.mark.line, err.mark.col, line, col);
}

static const char *session_of(const char *yaml)
{
    static char got[MA_SESSION_ID_MAX + 1];
    ma_spec *s = NULL;
    ma_error err;
    if (ma_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
        fail_msg("%d:%d: %s, for: %s", err.mark.line, err.mark.col, err.msg, yaml);
    snprintf(got, sizeof got, "%s", s->session ? s->session : "(none)");
    ma_spec_free(s);
    return got;
}

#define EXP "expectations:\n  - counter: heartbeat_count\n    equals: 1\n"

static void test_spec_key(void **st)
{
    (void)st;
    assert_string_equal(session_of(EXP), "(none)");
    assert_string_equal(session_of("session: ci-42\n" EXP), "ci-42");
    assert_string_equal(session_of(EXP "session: 'ci-42'\n"), "ci-42"); /* anywhere at the top */
    assert_string_equal(session_of("session: \"007\"\n" EXP), "007");   /* quoted: a string, as written */
    assert_string_equal(session_of("session: !!str 007\n" EXP), "007");
    assert_string_equal(session_of("session: default\n" EXP), "default");

    lint_error("sesion: ci-42\n" EXP, 1, 1, "unknown key \"sesion\" in the top level (did you mean session?)");
    lint_error("Session: ci-42\n" EXP, 1, 1, "(did you mean session?)");
    lint_error("session:\n" EXP, 1, 1, "session must not be empty");
    lint_error("session: ''\n" EXP, 1, 11, "session must not be empty");
    lint_error("session: null\n" EXP, 1, 10, "session must be a session id such as ci-42, not null");
    lint_error("session: 42\n" EXP, 1, 10,
               "session must be a string, and 42 is an integer in YAML: quote it to use it as an id (session: \"42\")");
    lint_error("session: 1.5\n" EXP, 1, 10, "and 1.5 is a number in YAML");
    lint_error("session: false\n" EXP, 1, 10, "and false is a boolean in YAML");
    lint_error("session: [a]\n" EXP, 1, 10, "not a list");
    lint_error("session: {id: a}\n" EXP, 1, 10, "not a mapping");
    /* the caret under the byte at fault, plain or quoted */
    lint_error("session: ci/42\n" EXP, 1, 12,
               "session: a session id is 1 to 64 bytes of A-Z a-z 0-9 _ . -, and this one has '/' at byte 3");
    lint_error("session: \"ci 42\"\n" EXP, 1, 13, "has ' ' at byte 3");
    lint_error("session:   'ci 42'   # a comment\n" EXP, 1, 15, "has ' ' at byte 3");
    lint_error(EXP "session: x:y\n", 4, 11, "has ':' at byte 2");
    /* an escape: the text is not the source; the value is pointed at */
    lint_error("session: \"a\\tb\"\n" EXP, 1, 11, "has the byte \\x09 at byte 2");
    lint_error("session: a123456789b123456789c123456789d123456789e123456789f123456789g1234\n" EXP, 1, 74,
               "this one is 65 bytes long");
}

int run_ma_session_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_check),
        cmocka_unit_test(test_problem),
        cmocka_unit_test(test_spec_key),
    };
    return cmocka_run_group_tests_name("ma_session", tests, NULL, NULL);
}
