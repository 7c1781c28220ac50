/* test_journal_error.c: the journal entry's response.error taken from an
 * error answer's own body (src/core/journal.c error_from_body), fed odd and
 * hostile bodies: the reason is right or absent, the entry's arena is never
 * overrun (run under ASan in build/debug), and the entry's JSON stays valid. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "journal.h"

/* The entry for an answer with status and body (len bytes), and its
 * response.error as the journal's JSON says it (NULL for null; caller frees). */
static char *error_of(int status, const char *rhead, const char *body, size_t len)
{
    mk_jentry_in in = {0};
    in.method = "POST";
    in.path = "/v1/register";
    in.path_len = strlen(in.path);
    in.status = status;
    in.rhead = rhead;
    in.rhead_len = rhead ? strlen(rhead) : 0;
    /* a copy of exactly len bytes, so ASan sees any read past the body */
    char *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, body, len);
    in.rbody = b;
    in.rbody_len = len;
    in.rbody_size = len;
    mk_jentry *e = mk_jentry_new(&in);
    free(b);
    assert_non_null(e);
    mk_buf out = {0};
    mk_jentry_json(e, &out);
    json_error_t err;
    json_t *j = json_loadb(out.data, out.len, 0, &err);
    if (!j)
        fail_msg("the entry is not JSON (%s): %.*s", err.text, (int)out.len, out.data);
    json_t *v = json_object_get(json_object_get(j, "response"), "error");
    assert_non_null(v); /* always there, null or a string */
    char *r = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    json_decref(j);
    mk_buf_free(&out);
    mk_jentry_unref(e);
    return r;
}

#define ERR(status, body, want)                                                                                       \
    do {                                                                                                              \
        char *got_ = error_of(status, NULL, body, sizeof body - 1);                                                  \
        const char *want_ = (want);                                                                                   \
        if (want_ ? !got_ || strcmp(got_, want_) != 0 : got_ != NULL)                                                 \
            fail_msg("%s: got %s, want %s", #body, got_ ? got_ : "null", want_ ? want_ : "null");                     \
        free(got_);                                                                                                   \
    } while (0)

static void test_error_bodies(void **st)
{
    (void)st;
    ERR(400, "{\"error\":\"offset 3: invalid JSON\"}", "offset 3: invalid JSON");
    ERR(400, "{\"error\":\"x\"}\n", "x");
    ERR(404, "404 page not found\n", "404 page not found");
    ERR(404, "404 page not found\r\n  ", "404 page not found");
    ERR(200, "{\"error\":\"x\"}", NULL);                /* not an error answer */
    ERR(400, "", NULL);
    ERR(400, "\n", NULL);
    ERR(400, "{\"error\":5}", NULL);                     /* not a string */
    ERR(400, "{\"error\":\"x\",\"more\":1}", NULL);      /* other JSON */
    /* the injected answer of a status= fault (errors.h mk_err_injected) */
    ERR(503, "{\"error\":\"injected fault: status=503\",\"injected\":true}\n", "injected fault: status=503");
    ERR(503, "{\"error\":\"x\",\"injected\":false}\n", NULL);
    ERR(400, "{\"error\":\"x\"", NULL);                  /* cut */
    ERR(400, "{\"error\":\"x", NULL);
    ERR(400, "{\"error\":", NULL);
    ERR(400, "{\"error\":\"\"}", "");
    ERR(400, "[\"error\"]", NULL);
    ERR(400, "two\nlines", NULL);
    ERR(400, "tab\there", NULL);
    ERR(400, "nul\0inside", NULL);
    /* escapes decode; invalid UTF-8 and lone surrogates become U+FFFD (3
     * bytes from 1): the decoded text must still fit the room kept */
    ERR(400, "{\"error\":\"caf\\u00e9 \\\"q\\\"\"}", "caf\xc3\xa9 \"q\"");
    ERR(400, "{\"error\":\"\\ud800\"}", "\xef\xbf\xbd");
    ERR(400, "{\"error\":\"\xff\xff\xff\xff\xff\"}", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ERR(400, "{\"error\":\"\xff\xff\xff\xff\xff\xff\"}", NULL); /* 18 decoded bytes: more than the body */
    /* a text body that is not UTF-8 stays valid JSON in the entry */
    static const char binary[] = "bad \xff\xfe text";
    char *t = error_of(400, NULL, binary, sizeof binary - 1);
    assert_string_equal(t, "bad \xef\xbf\xbd\xef\xbf\xbd text");
    free(t);
}

/* Bodies of every length up to the limit and just past it, of the shapes
 * that expand most when decoded: no overrun (ASan), valid JSON. */
static void test_error_bodies_sizes(void **st)
{
    (void)st;
    static const char *const fill[] = {"\xff", "\\ud800", "\\u0000", "a", "\xc3\xa9", "\\\\"};
    char body[700];
    for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++) {
        for (size_t n = 0; n < 530; n++) {
            size_t at = 0;
            at += (size_t)snprintf(body, sizeof body, "{\"error\":\"");
            while (at + strlen(fill[f]) + 2 <= n + 12 && at + strlen(fill[f]) + 2 < sizeof body) {
                memcpy(body + at, fill[f], strlen(fill[f]));
                at += strlen(fill[f]);
            }
            memcpy(body + at, "\"}", 2);
            at += 2;
            free(error_of(400, NULL, body, at));
            /* and as a text body */
            free(error_of(413, NULL, body + 10, at - 12));
        }
    }
    /* the X-Mockapi-Error header wins over the body */
    char *r = error_of(400, "HTTP/1.1 400 Bad Request\r\nX-Mockapi-Error: from the header\r\n\r\n",
                       "{\"error\":\"from the body\"}", 25);
    assert_string_equal(r, "from the header");
    free(r);
    /* a body longer than 512 bytes is not an error text */
    memset(body, 'a', 513);
    assert_null(error_of(400, NULL, body, 513));
    r = error_of(400, NULL, body, 512);
    assert_int_equal(strlen(r), 512);
    free(r);
}

int run_journal_error_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_error_bodies_sizes),
    };
    return cmocka_run_group_tests_name("journal_error", tests, NULL, NULL);
}
