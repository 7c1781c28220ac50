/* test_cases.c: runs the data-driven cases in tests/cases (every .case
 * file) over HTTP: one cmocka test per file, each against a fresh instance
 * on 127.0.0.1:0 and one libcurl handle with keep-alive. Parsing and
 * checking are case_file.c's (shared with the socket-less run in
 * test_cases_direct.c); this file sends and receives. After the last
 * exchange the server must still answer GET /v1/ping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "harness.h"

typedef struct http_target {
    mt_server *s;
    CURL *h;
} http_target;

static int get_assertions(void *user, mt_response *out)
{
    http_target *t = user;
    return mt_get(t->h, t->s->base, "/test/assertions", out);
}

static void run_exchange(mt_server *s, CURL *h, const exch *e)
{
    unsigned char *sent = NULL, *wire = NULL;
    size_t sentn = 0, wiren = 0;
    const char **hdrs = NULL;
    size_t nh = 0;
    mt_request rq;
    mt_response r;
    http_target ht = {s, h};
    case_target t = {s->m, s->key, get_assertions, &ht};

    memset(&r, 0, sizeof r);
    memset(&rq, 0, sizeof rq);
    hdrs = calloc(e->nheaders + 1, sizeof *hdrs);
    if (!hdrs) {
        case_fail_at(e->line, "out of memory");
        return;
    }
    for (size_t i = 0; i < e->nheaders; i++)
        hdrs[nh++] = e->headers[i];
    if (case_bodies(e, s->key, &sent, &sentn, &wire, &wiren) != 0)
        goto oom;
    if (e->gzip == 1)
        hdrs[nh++] = "Content-Encoding: gzip";

    rq.method = e->method;
    rq.path = e->path;
    rq.headers = hdrs;
    rq.nheaders = nh;
    rq.body = wire;
    rq.body_len = wiren;
    rq.send_body = e->has_body;
    mt_perform(h, s->base, &rq, &r);
    if (r.status == 0 || r.rc != CURLE_OK)
        case_fail_at(e->line, "%s %s: transfer failed: %s (%s)", e->method, e->path,
                     curl_easy_strerror(r.rc), r.error);
    case_check(&t, e, &r, sent, sentn, wire, wiren);
    goto out;
oom:
    case_fail_at(e->line, "out of memory preparing the request");
out:
    mt_response_free(&r);
    free(sent);
    free(wire);
    free(hdrs);
}

static void run_case(void **state)
{
    case_file cf;
    mt_server s;
    CURL *h = NULL;
    mt_response ping;
    int parsed;

    memset(&cf, 0, sizeof cf);
    memset(&s, 0, sizeof s);
    memset(&ping, 0, sizeof ping);
    cf.path = *state;
    case_begin(cf.path);

    parsed = case_parse(&cf);
    if (parsed != 0) {
        case_free(&cf);
        fail_msg("%s", cf.err);
    }
    if (mt_server_start(&s, &cf.cfg) != 0) {
        case_free(&cf);
        fail_msg("%s: the instance did not start", cf.path);
    }
    h = curl_easy_init();
    if (h) {
        for (size_t i = 0; i < cf.nex; i++)
            run_exchange(&s, h, &cf.ex[i]);
        /* Whatever the case did, the server must still serve. */
        /* (a server that requires sessions: through default's prefix) */
        mt_get(NULL, s.base, cf.cfg.sessions == MOCKAPI_SESSIONS_REQUIRED ? "/s/default/v1/ping" : "/v1/ping",
               &ping);
        if (ping.status != 200 || ping.len != 3 || memcmp(ping.body, "{}\n", 3) != 0)
            case_fail_at(0, "after the last exchange GET /v1/ping gave %ld (%s)", ping.status,
                         curl_easy_strerror(ping.rc));
    } else {
        case_fail_at(0, "curl_easy_init failed");
    }
    mt_response_free(&ping);
    curl_easy_cleanup(h);
    mt_server_free(&s);
    case_free(&cf);
    if (case_failures())
        fail_msg("%s: %d check(s) failed", cf.path, case_failures());
}

int mt_run_case_tests(void)
{
    return case_run_group("cases", "", run_case);
}
