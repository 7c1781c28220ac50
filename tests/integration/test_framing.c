/* test_framing.c: request framing as strict as Go's server and nginx
 * (src/transport/http1.c, RFC 9112), over raw sockets (raw_client.c).
 *
 * Each lax form gets its refusal (400, 431, 501 or 505), said with
 * "Connection: close", then the close, and nothing behind it runs; the
 * refused request is in the journal with the status it got when its request
 * line and fields could be read. A request hidden behind a smuggling head is
 * never run (counters and journal say so). Absolute-form targets and
 * `OPTIONS *` are answered and journaled. A good keep-alive client on its own
 * connection is served between every attack. Nothing sleeps: every wait is
 * a read with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "raw_client.h"

/* The journal's newest entry (entries in order, oldest first), or NULL when
 * it is empty; json_decref it. */
static json_t *last_entry(mt_server *s)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(mockapi_requests(s->m, "include_test=1", &text, &len), MOCKAPI_OK);
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    mockapi_free_buf(text);
    assert_non_null(j);
    json_t *es = json_object_get(j, "entries");
    size_t n = json_array_size(es);
    json_t *e = n ? json_incref(json_array_get(es, n - 1)) : NULL;
    json_decref(j);
    return e;
}

static int64_t journal_len(mt_server *s, const char *filter)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(mockapi_requests(s->m, filter, &text, &len), MOCKAPI_OK);
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    mockapi_free_buf(text);
    assert_non_null(j);
    int64_t n = (int64_t)json_array_size(json_object_get(j, "entries"));
    json_decref(j);
    return n;
}

static const char *jstr(json_t *e, const char *k)
{
    const char *v = json_string_value(json_object_get(e, k));
    return v ? v : "(none)";
}

/* The newest journal entry is method path with status; fails otherwise. */
static void expect_journaled(mt_server *s, const char *method, const char *path, int status,
                             const char *what)
{
    json_t *e = last_entry(s);
    if (!e)
        fail_msg("%s: the journal is empty", what);
    if (strcmp(jstr(e, "method"), method) != 0 || strcmp(jstr(e, "path"), path) != 0 ||
        json_integer_value(json_object_get(e, "status")) != status) {
        char *d = json_dumps(e, JSON_COMPACT);
        fail_msg("%s: the newest journal entry is not %s %s %d: %s", what, method, path, status,
                 d ? d : "?");
    }
    json_decref(e);
}

/* req on a fresh connection: one answer with status want saying
 * Connection: close, then the close, nothing after the answer. The answer's
 * body is returned when body is not NULL (free()). */
static void expect_refused(mt_server *s, const char *req, int want, const char *what, char **body)
{
    rc_conn *c = rc_connect(rc_http_port(s), false);
    rc_resp r;
    rc_send(c, req);
    rc_expect_status(c, &r, want, what);
    if (!rc_says_close(&r))
        fail_msg("%s: the answer does not say Connection: close", what);
    if (body) {
        *body = malloc(r.body_len + 1);
        assert_non_null(*body);
        memcpy(*body, r.body, r.body_len);
        (*body)[r.body_len] = '\0';
    }
    rc_resp_free(&r);
    rc_expect_closed(c, what);
    if (c->len != 0) {
        char *shown = mt_show(c->buf, c->len);
        fail_msg("%s: more came after the answer: %s", what, shown ? shown : "?");
    }
    rc_close(c);
}

typedef struct lax {
    const char *what;
    const char *head; /* after the request line, through the blank line */
    int status;
    bool unread; /* civetweb's parser could not read the head: not journaled */
} lax;

/* Every lax form of the issue and its answer; each is journaled when its
 * request line and fields could be read, and a good client goes on
 * between. */
static void fr_lax_forms(void **state)
{
    static const lax forms[] = {
        {"Content-Length: +2", "Content-Length: +2\r\n\r\nab", 400, false},
        {"Content-Length: 2abc", "Content-Length: 2abc\r\n\r\nab", 400, false},
        {"Content-Length: 2, 50", "Content-Length: 2, 50\r\n\r\nab", 400, false},
        {"Content-Length: -1", "Content-Length: -1\r\n\r\n", 400, false},
        {"an empty Content-Length", "Content-Length:\r\n\r\n", 400, false},
        {"Content-Length: 0x10", "Content-Length: 0x10\r\n\r\n", 400, false},
        {"two different Content-Lengths", "Content-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 400, false},
        {"Content-Length past 2^63-1", "Content-Length: 9223372036854775808\r\n\r\n", 400, false},
        {"Transfer-Encoding with Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, false},
        {"Transfer-Encoding: gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, false},
        {"Transfer-Encoding: chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 501, false},
        {"two Transfer-Encoding lines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, false},
        {"white space before a colon", "Authorization : Bearer x\r\n\r\n", 400, false},
        {"a TAB before a colon", "Authorization\t: Bearer x\r\n\r\n", 400, true},
        {"an empty field name", ": v\r\n\r\n", 400, false},
        {"a folded line (space)", "X-A: a\r\n b\r\n\r\n", 400, false},
        {"a folded line (TAB)", "X-A: a\r\n\tb\r\n\r\n", 400, false},
        {"a field name that is not a token", "X(A): a\r\n\r\n", 400, false},
        {"a control byte in a value", "X-A: a\x01\r\n\r\n", 400, true},
    };
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *good = rc_connect(rc_http_port(&s), false);
    rc_ping(good, "the good client, first");
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *req = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\n%s", forms[i].head);
        int64_t before = journal_len(&s, "include_test=1");
        expect_refused(&s, req, forms[i].status, forms[i].what, NULL);
        free(req);
        /* the journal shows what came and what it got */
        if (forms[i].unread)
            assert_int_equal(journal_len(&s, "include_test=1"), before);
        else
            expect_journaled(&s, "POST", RC_HB_PATH, forms[i].status, forms[i].what);
        rc_ping(good, forms[i].what);
    }

    /* more fields than the parser holds: 431, never a silent drop (the
     * Authorization after the 64th would have been lost: 401 once) */
    char many[4096] = "GET /v1/ping HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 70; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: y\r\n", i);
    strcat(many, "Authorization: Bearer x\r\n\r\n");
    expect_refused(&s, many, 431, "70 fields before Authorization", NULL);
    expect_journaled(&s, "GET", "/v1/ping", 431, "70 fields before Authorization");
    rc_ping(good, "after 70 fields");

    /* a version other than 1.x: Go's 505, which does not echo the version */
    char *body = NULL;
    expect_refused(&s, "GET /v1/ping HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0", &body);
    assert_string_equal(body, "505 HTTP Version Not Supported: unsupported protocol version");
    free(body);
    expect_journaled(&s, "GET", "/v1/ping", 505, "HTTP/2.0");
    expect_refused(&s, "GET /v1/ping HTTP/9.9\r\nHost: x\r\n\r\n", 505, "HTTP/9.9", NULL);
    /* an unsupported coding: Go's 501 body, naming no coding */
    expect_refused(&s, "POST " RC_HB_PATH " HTTP/1.1\r\nTransfer-Encoding: x-evil\r\n\r\n", 501,
                   "Transfer-Encoding: x-evil", &body);
    assert_string_equal(body, "Unsupported transfer encoding");
    free(body);
    /* HTTP/1.0 has no chunked coding */
    expect_refused(&s, "POST " RC_HB_PATH " HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   400, "HTTP/1.0 with chunked", NULL);
    rc_ping(good, "after the versions");

    /* a request line that is not method SP target SP version: refused; not
     * journaled when the parser could not read it (TAB) */
    expect_refused(&s, "GET  /v1/ping HTTP/1.1\r\n\r\n", 400, "two spaces in the request line", NULL);
    int64_t before = journal_len(&s, "include_test=1");
    expect_refused(&s, "GET\t/v1/ping HTTP/1.1\r\n\r\n", 400, "a TAB in the request line", NULL);
    assert_int_equal(journal_len(&s, "include_test=1"), before);

    rc_ping(good, "at the end");
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    rc_healthy(&s, false, "after the lax forms");
}

/* Request smuggling: a head with two framings (or one hidden from a lax
 * parser) is refused as a whole; the request hidden in its body is never
 * run, on this connection or any other. The hidden request is a valid
 * heartbeat: had it run, heartbeat_count would move and the journal would
 * hold a heartbeat entry. */
static void fr_smuggling(void **state)
{
    mockapi_config cfg;
    mt_server s;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *good = rc_connect(rc_http_port(&s), false);
    char *hidden = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                          strlen(RC_HB_BODY), RC_HB_BODY);
    size_t hl = strlen(hidden);
    struct {
        const char *what;
        char *req;
        int status;
    } cases[] = {
        /* TE.CL: the server reads chunks, a front end the length */
        {"TE then CL", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              "Content-Length: %zu\r\n\r\n0\r\n\r\n%s", hl + 5, hidden), 400},
        /* CL.TE: the other order */
        {"CL then TE", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", hidden), 400},
        /* TE hidden from a lax reader by white space, then CL */
        {"'Transfer-Encoding :'", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                          "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n%s", hidden), 400},
        {"TE with a TAB", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                 "Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n%s", hidden), 400},
        {"TE folded", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX: y\r\n"
                             " Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", hidden), 400},
        /* TE.TE: two codings, one of which a front end may ignore */
        {"TE twice", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            "Transfer-Encoding: x\r\n\r\n0\r\n\r\n%s", hidden), 501},
        /* two lengths: one frames the hidden request into the body */
        {"two lengths", rc_fmt("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                               "Content-Length: %zu\r\n\r\n%s", hl, hidden), 400},
        /* HTTP/1.0 with chunked and a length */
        {"HTTP/1.0 TE", rc_fmt("POST /v1/ping HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               "\r\n0\r\n\r\n%s", hidden), 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_non_null(cases[i].req);
        expect_refused(&s, cases[i].req, cases[i].status, cases[i].what, NULL);
        expect_journaled(&s, "POST", "/v1/ping", cases[i].status, cases[i].what);
        rc_ping(good, cases[i].what);
        free(cases[i].req);
    }
    /* the same requests pipelined on one keep-alive connection behind a
     * good one: the good one is answered, the smuggler refused, then the
     * close */
    rc_conn *c = rc_connect(rc_http_port(&s), false);
    char *two = rc_fmt(RC_PING "POST /v1/ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               "Content-Length: 5\r\n\r\n0\r\n\r\n%s", hidden);
    rc_send(c, two);
    free(two);
    rc_expect_exact(c, 200, "{}\n", "a ping before the smuggler");
    rc_resp r;
    rc_expect_status(c, &r, 400, "the smuggler behind a ping");
    rc_resp_free(&r);
    rc_expect_closed(c, "the smuggler behind a ping");
    assert_int_equal(c->len, 0);
    rc_close(c);

    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 0);
    assert_int_equal(journal_len(&s, "route=heartbeat"), 0);
    /* the hidden request itself, sent plainly, runs: the check above could fail */
    c = rc_connect(rc_http_port(&s), false);
    rc_send(c, hidden);
    rc_expect_status(c, &r, 200, "the hidden request sent plainly");
    rc_resp_free(&r);
    rc_close(c);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 1);
    assert_int_equal(journal_len(&s, "route=heartbeat"), 1);
    free(hidden);
    rc_ping(good, "at the end");
    rc_healthy(&s, false, "after the smugglers");
}

/* Absolute-form targets are routed by their path (as Go's server does) and
 * `OPTIONS *` is answered 200 with an empty body (Go's server answers it
 * itself); both keep the connection, both are journaled. Another method
 * with `*` gets Go's mux answer: 400 and the close. */
static void fr_targets(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);

    rc_send(c, "GET http://mock-api:8080/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_expect_exact(c, 200, "{}\n", "GET http://mock-api:8080/v1/ping");
    expect_journaled(&s, "GET", "/v1/ping", 200, "absolute-form");
    json_t *e = last_entry(&s);
    assert_string_equal(jstr(e, "route"), "ping");
    json_decref(e);

    char *hb = rc_fmt("POST HTTP://x" RC_HB_PATH "?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                      strlen(RC_HB_BODY), RC_HB_BODY);
    rc_send(c, hb);
    free(hb);
    rc_expect_status(c, &r, 200, "POST HTTP://x/v1/nodes/n1/heartbeat?a=1");
    rc_resp_free(&r);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 1);
    e = last_entry(&s);
    assert_string_equal(jstr(e, "path"), RC_HB_PATH);
    assert_string_equal(jstr(e, "query"), "a=1");
    json_decref(e);

    /* an empty path is "/" (RFC 9110 §4.2.3): no route there */
    rc_send(c, "GET http://x HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_expect_status(c, &r, 404, "GET http://x");
    rc_resp_free(&r);
    expect_journaled(&s, "GET", "/", 404, "GET http://x");

    rc_send(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    rc_expect_status(c, &r, 200, "OPTIONS *");
    assert_int_equal(r.body_len, 0);
    assert_non_null(strstr(r.head, "\r\nContent-Length: 0\r\n"));
    assert_null(strstr(r.head, "Content-Type"));
    assert_false(rc_says_close(&r));
    rc_resp_free(&r);
    expect_journaled(&s, "OPTIONS", "*", 200, "OPTIONS *");
    rc_ping(c, "the same connection after OPTIONS *");

    /* a body on OPTIONS * is read and dropped, and the connection goes on */
    rc_send(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    rc_expect_status(c, &r, 200, "OPTIONS * with a body");
    rc_resp_free(&r);
    rc_ping(c, "after OPTIONS * with a body");

    expect_refused(&s, "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET *", NULL);
    expect_journaled(&s, "GET", "*", 400, "GET *");
    /* authority-form is CONNECT's, which is not served */
    expect_refused(&s, "GET x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET x:443", NULL);
    rc_ping(c, "at the end");
    rc_healthy(&s, false, "after the targets");
}

/* What RFC 9112 allows and Go takes must be served: TAB in and around a
 * field value (civetweb's own scanner refuses it), white space after a
 * Content-Length, the same Content-Length twice. */
static void fr_lawful_forms(void **state)
{
    mockapi_config cfg;
    mt_server s;
    rc_resp r;
    (void)state;
    mt_config_init(&cfg);
    rc_start(&s, &cfg, false);
    rc_conn *c = rc_connect(rc_http_port(&s), false);

    rc_send(c, "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Tab:\ta\tb\t\r\n\r\n");
    rc_expect_exact(c, 200, "{}\n", "a TAB in a field value");
    json_t *e = last_entry(&s);
    json_t *h = json_object_get(e, "headers");
    json_t *pair = json_array_get(h, 1);
    assert_string_equal(json_string_value(json_array_get(pair, 0)), "X-Tab");
    assert_string_equal(json_string_value(json_array_get(pair, 1)), "a\tb");
    json_decref(e);
    /* the bare-LF form goes through civetweb's own scan */
    rc_send(c, "GET /v1/ping HTTP/1.1\nHost: x\nX-Tab:\ta\tb\n\n");
    rc_expect_exact(c, 200, "{}\n", "a TAB in a field value, bare LFs");

    size_t n = strlen(RC_HB_BODY);
    char *req = rc_fmt("POST " RC_HB_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu \t\r\n"
                       "content-length:  %zu\r\n\r\n%s",
                       n, n, RC_HB_BODY);
    rc_send(c, req);
    free(req);
    rc_expect_status(c, &r, 200, "Content-Length with white space, twice");
    assert_false(rc_says_close(&r));
    rc_resp_free(&r);
    assert_int_equal(mockapi_counter_get(s.m, MOCKAPI_HEARTBEAT_COUNT), 1);
    rc_ping(c, "after them");
}

int mt_run_framing_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(fr_lax_forms, rc_teardown),
        cmocka_unit_test_teardown(fr_smuggling, rc_teardown),
        cmocka_unit_test_teardown(fr_targets, rc_teardown),
        cmocka_unit_test_teardown(fr_lawful_forms, rc_teardown),
    };
    return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
