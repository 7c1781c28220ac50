/* test_ssefault.c: stream faults, adversarial events and disconnects on the
 * event streams (issue 14, item 3; sse.h, docs/contract.md §5.3, README
 * "Stream faults, adversarial events and disconnect"), seen by raw-socket
 * clients (sse_client).
 *
 *  - Faults on open streams go in through mk_sse_fault, the call the rules
 *    of /test/faults make for the events route; faults a stream starts
 *    with through mk_sse_attach on a loopback TCP pair, as the transport
 *    hands a faulted stream over. Both are the hub's whole surface.
 *  - Adversarial events are checked the way an agent checks them: the
 *    signature with libsodium over the canonical bytes, the key from
 *    /v1/register; issued_at against the clock; the nonce against the
 *    previous event's.
 *  - Nothing sleeps to synchronise: waits are on a condition with a
 *    deadline; the time bounds of stall are measured around the waits. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "harness.h"
#include "server.h"
#include "sse.h"
#include "sse_client.h"

#define WAIT_MS 5000 /* deadline for things that take microseconds */

static int teardown_servers(void **state)
{
    (void)state;
    mt_server_free_tracked_all();
    return 0;
}

static int http_port(const mt_server *s)
{
    return mockapi_port(s->m, MOCKAPI_LISTENER_HTTP);
}

/* POST path with body; asserts the status, returns the body (free()). */
static char *post(CURL *h, const char *base, const char *path, const char *body, long want)
{
    mt_response r;
    mt_send(h, base, "POST", path, body, &r);
    if (r.status != want) {
        char *shown = mt_show(r.body, r.len);
        fail_msg("POST %s: status %ld (%s), want %ld; body %s", path, r.status,
                 curl_easy_strerror(r.rc), want, shown ? shown : "?");
    }
    char *b = strdup((const char *)r.body);
    mt_response_free(&r);
    assert_non_null(b);
    return b;
}

/* An envelope with event_id id, nonce "nonce-<id>" and payload {"seq":n}. */
static char *envelope(const char *id, int n)
{
    char *b = malloc(256);
    assert_non_null(b);
    snprintf(b, 256,
             "{\"event_type\":\"test_event\",\"event_id\":\"%s\",\"nonce\":\"nonce-%s\","
             "\"payload\":{\"seq\":%d}}",
             id, id, n);
    return b;
}

/* inject-event (path may carry options) of envelope(id, n): 204. */
static void inject_at(CURL *h, const char *base, const char *path, const char *id, int n)
{
    char *env = envelope(id, n);
    free(post(h, base, path, env, 204));
    free(env);
}

static void inject_id(CURL *h, const char *base, const char *id, int n)
{
    inject_at(h, base, "/test/inject-event", id, n);
}

static json_t *sse_status(CURL *h, const char *base)
{
    mt_response r;
    mt_get(h, base, "/test/sse", &r);
    if (r.status != 200)
        fail_msg("GET /test/sse: status %ld", r.status);
    json_t *j = mt_parse_json(r.body, r.len);
    mt_response_free(&r);
    return j;
}

static json_int_t fault_total(CURL *h, const char *base, const char *key)
{
    json_t *st = sse_status(h, base);
    json_int_t v = mt_jint(json_object_get(st, "faults"), key);
    json_decref(st);
    return v;
}

/* Polls /test/sse until `connected` is n (streams leave on the hub thread). */
static void wait_connected(CURL *h, const char *base, int n)
{
    int64_t deadline = mt_now_ms() + WAIT_MS;
    for (;;) {
        json_t *st = sse_status(h, base);
        json_int_t got = mt_jint(st, "connected");
        json_decref(st);
        if (got == n)
            return;
        if (mt_now_ms() > deadline)
            fail_msg("timed out waiting for %d connected streams (%lld)", n, (long long)got);
        poll(NULL, 0, 2);
    }
}

/* Opens a stream on /v1/nodes/<node>/events (hdr: one header line or NULL)
 * and reads its initial event. */
static void open_node(sse_client *c, int port, const char *node, const char *hdr)
{
    char path[128];
    sse_event ev;
    const char *hdrs[1] = {hdr};
    snprintf(path, sizeof path, "/v1/nodes/%s/events", node);
    int st = sse_open(c, port, path, hdrs, hdr ? 1 : 0, mt_now_ms() + WAIT_MS);
    if (st != 200)
        fail_msg("GET %s: status %d", path, st);
    if (sse_next(c, &ev, mt_now_ms() + WAIT_MS) != 1)
        fail_msg("GET %s: no initial event", path);
    assert_string_equal(ev.event, "node_state_updated");
    sse_event_free(&ev);
}

/* The next frame, which must have id want_id (NULL: any); ev NULL: dropped. */
static void next_event(sse_client *c, sse_event *ev, const char *want_id)
{
    sse_event own;
    sse_event *e = ev ? ev : &own;
    int r = sse_next(c, e, mt_now_ms() + WAIT_MS);
    if (r != 1)
        fail_msg("waiting for event %s: %s", want_id ? want_id : "(any)",
                 r == 0 ? "deadline passed" : "stream ended");
    if (want_id && (!e->id || strcmp(e->id, want_id) != 0))
        fail_msg("expected event id %s, got %s (frame %s)", want_id, e->id ? e->id : "(none)",
                 e->raw ? e->raw : "");
    if (!ev)
        sse_event_free(&own);
}

/* The stream ends (FIN) by the deadline with no further frame. */
static void expect_end(sse_client *c, const char *what)
{
    sse_event ev;
    int r = sse_next(c, &ev, mt_now_ms() + WAIT_MS);
    if (r == 1) {
        char *shown = mt_show(ev.raw, ev.raw_len);
        fail_msg("%s: a frame came instead of the end: %s", what, shown ? shown : "?");
    }
    if (r == 0)
        fail_msg("%s: the stream did not end", what);
    assert_true(c->eof);
}

/* How the peer ended fd: 0 FIN (EOF), ECONNRESET for RST; reads what comes
 * first (into *got, *n, when given) by the deadline; -1 on timeout. */
static int how_closed(int fd, unsigned char *got, size_t cap, size_t *n)
{
    int64_t deadline = mt_now_ms() + WAIT_MS;
    size_t have = 0;
    for (;;) {
        int64_t left = deadline - mt_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        unsigned char buf[4096];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
            size_t k = (size_t)r < cap - have ? (size_t)r : cap - have;
            if (got)
                memcpy(got + have, buf, k);
            have += k;
            continue;
        }
        if (n)
            *n = have;
        if (r == 0)
            return 0;
        if (errno == EINTR || errno == EAGAIN)
            continue;
        return errno;
    }
}

/* The signing key as POST /v1/register hands it out. */
static void register_key(CURL *h, const char *base, unsigned char pk[32])
{
    char *b = post(h, base, "/v1/register", "{}", 200);
    json_t *j = mt_parse_json(b, strlen(b));
    const char *k = mt_jstr(j, "signing_public_key");
    size_t len = 0;
    assert_int_equal(sodium_base642bin(pk, 32, k, strlen(k), NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(len, 32);
    json_decref(j);
    free(b);
}

/* What an agent does with a data line: the signed bytes are the envelope
 * with its final ,"signature":"..." member cut off and "}" put back; the
 * signature is base64 Ed25519 over them. 1 verifies, 0 does not (the
 * envelope still well formed: 88 characters of base64 of 64 bytes). */
static int signature_ok(const unsigned char pk[32], const char *data)
{
    static const char marker[] = ",\"signature\":\"";
    const char *cut = NULL;
    for (const char *p = strstr(data, marker); p; p = strstr(p + 1, marker))
        cut = p;
    assert_non_null(cut);
    json_t *j = mt_parse_json(data, strlen(data));
    const char *sig = mt_jstr(j, "signature");
    unsigned char raw[64];
    size_t siglen = 0;
    assert_int_equal(strlen(sig), 88);
    assert_int_equal(sodium_base642bin(raw, sizeof raw, sig, 88, NULL, &siglen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(siglen, 64);
    size_t n = (size_t)(cut - data);
    char *canon = malloc(n + 2);
    assert_non_null(canon);
    memcpy(canon, data, n);
    canon[n] = '}';
    canon[n + 1] = '\0';
    int ok = crypto_sign_verify_detached(raw, (const unsigned char *)canon, n + 1, pk) == 0;
    free(canon);
    json_decref(j);
    return ok;
}

/* Seconds between issued_at (RFC 3339, UTC "Z") and now: positive in the past. */
static long long age_of(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        fail_msg("issued_at %s: not RFC 3339", s);
    assert_non_null(strchr(s, 'Z'));
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)(time(NULL) - timegm(&tm));
}

/* The fault of spec, parsed as every carrier parses it (fault.h). */
static mk_fault spec(const char *text)
{
    mk_fault f;
    char err[200];
    if (mk_fault_parse(text, strlen(text), &f, err, sizeof err) != 0)
        fail_msg("spec \"%s\": %s", text, err);
    return f;
}

/* ---- cut-after, then resume with Last-Event-ID -------------------------- */

static void sf_cut_after_resume(void **state)
{
    mt_server s;
    sse_client a, b, other;
    sse_event ev;
    int seen[13] = {0};
    char last[32] = "", hdr[64];
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    open_node(&a, http_port(&s), "cut", NULL);
    open_node(&other, http_port(&s), "keep", NULL);
    mk_fault f = spec("cut-after=5");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "cut", &f), 1); /* that node's stream only */
    for (int i = 1; i <= 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        inject_id(h, s.base, id, i);
    }
    /* five events, then FIN */
    for (int i = 1; i <= 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        next_event(&a, &ev, id);
        seen[i]++;
        snprintf(last, sizeof last, "%s", ev.id);
        sse_event_free(&ev);
    }
    expect_end(&a, "cut-after=5");
    assert_int_equal(sse_pending(&a), 0); /* whole frames only */
    assert_int_equal(a.fraw_len, 0);

    /* the agent reconnects with the last id it saw: the rest, each once */
    snprintf(hdr, sizeof hdr, "Last-Event-ID: %s", last);
    open_node(&b, http_port(&s), "cut", hdr);
    for (int i = 6; i <= 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        next_event(&b, &ev, id);
        seen[atoi(ev.id + 1)]++;
        sse_event_free(&ev);
    }
    inject_id(h, s.base, "c-live", 13); /* and the stream goes on */
    next_event(&b, NULL, "c-live");
    for (int i = 1; i <= 12; i++)
        if (seen[i] != 1)
            fail_msg("event c%d seen %d times across the two connections", i, seen[i]);
    /* the other node's stream was not cut */
    for (int i = 1; i <= 12; i++)
        next_event(&other, NULL, NULL);
    next_event(&other, NULL, "c-live");

    json_t *st = sse_status(h, s.base);
    assert_int_equal(mt_jint(json_object_get(st, "faults"), "cut_after"), 1);
    assert_true(mt_jint(json_object_get(st, "faults"), "ended") >= 1);
    assert_int_equal(mt_jint(st, "connected"), 2);
    json_decref(st);
    sse_close(&a);
    sse_close(&b);
    sse_close(&other);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- cut-mid: half a frame, then FIN ------------------------------------- */

static void sf_cut_mid_partial(void **state)
{
    mt_server s;
    sse_client a, whole;
    sse_event ev, full;
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    open_node(&a, http_port(&s), "mid", NULL);
    open_node(&whole, http_port(&s), "whole", NULL);
    mk_fault f = spec("cut-mid");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "mid", &f), 1);
    inject_id(h, s.base, "m1", 1);
    next_event(&whole, &full, "m1"); /* the frame as a healthy stream gets it */

    int r = sse_next(&a, &ev, mt_now_ms() + WAIT_MS);
    assert_int_equal(r, -1); /* no whole frame: the stream ended */
    assert_true(a.eof);
    /* what arrived: the parser holds the lines it completed (fraw) and the
     * partial one (pending); together the first half of the frame */
    size_t got = a.fraw_len + sse_pending(&a);
    assert_int_equal(got, full.raw_len / 2);
    assert_memory_equal(a.fraw, full.raw, a.fraw_len);
    assert_memory_equal(a.buf + a.off, full.raw + a.fraw_len, sse_pending(&a));
    print_message("cut-mid: %zu of %zu bytes of the frame, then FIN\n", got, full.raw_len);
    sse_event_free(&full);

    /* with cut-after=1: one whole event, then half of the next */
    sse_client b;
    open_node(&b, http_port(&s), "mid2", NULL);
    f = spec("cut-after=1; cut-mid");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "mid2", &f), 1);
    inject_id(h, s.base, "m2", 2);
    inject_id(h, s.base, "m3", 3);
    next_event(&b, NULL, "m2");
    next_event(&whole, NULL, "m2");
    next_event(&whole, &full, "m3");
    assert_int_equal(sse_next(&b, &ev, mt_now_ms() + WAIT_MS), -1);
    assert_int_equal(b.fraw_len + sse_pending(&b), full.raw_len / 2);
    assert_memory_equal(b.fraw, full.raw, b.fraw_len);
    sse_event_free(&full);

    /* the other stream is whole and open */
    inject_id(h, s.base, "m4", 4);
    next_event(&whole, NULL, "m4");
    json_t *st = sse_status(h, s.base);
    assert_int_equal(mt_jint(json_object_get(st, "faults"), "cut_mid"), 2);
    assert_int_equal(mt_jint(json_object_get(st, "faults"), "cut_after"), 1);
    assert_int_equal(mt_jint(json_object_get(st, "faults"), "ended"), 2);
    json_decref(st);
    sse_close(&b);
    sse_close(&a);
    sse_close(&whole);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- stall: nothing for MS, then everything ------------------------------ */

static void sf_stall_then_flow(void **state)
{
    mockapi_config cfg;
    mt_server s;
    sse_client a;
    sse_event ev;
    CURL *h;
    (void)state;

    mt_timing_test(); /* skips the test: nothing may be allocated before */
    h = curl_easy_init();
    mt_config_init(&cfg);
    cfg.sse_keepalive_ms = 100;
    cfg.request_timeout_ms = 300; /* the stuck-output deadline: shorter than the stall */
    assert_int_equal(mt_server_start_tracked(&s, &cfg), 0);
    open_node(&a, http_port(&s), "st", NULL);
    assert_int_equal(sse_drain(&a, mt_now_ms() + WAIT_MS, 1), 0); /* keep-alives flow */

    mk_fault f = spec("stall=800");
    int64_t t0 = mt_now_ms();
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, NULL, &f), 1);
    size_t ka0 = a.keepalives;
    inject_id(h, s.base, "s1", 1);
    inject_id(h, s.base, "s2", 2);
    next_event(&a, &ev, "s1");
    int64_t took = mt_now_ms() - t0;
    sse_event_free(&ev);
    /* nothing at all during the stall: no keep-alive either (8 were due) */
    assert_int_equal(a.keepalives, ka0);
    next_event(&a, NULL, "s2"); /* queued meanwhile, not lost */
    print_message("stall=800: the first event after %lld ms (keep-alive every 100 ms)\n",
                  (long long)took);
    assert_true(took >= 800);
    assert_true(took < 800 + 2000);
    /* then keep-alives again, and live events */
    size_t ka1 = a.keepalives;
    assert_int_equal(sse_drain(&a, mt_now_ms() + WAIT_MS, ka1 + 2), 0);
    inject_id(h, s.base, "s3", 3);
    next_event(&a, NULL, "s3");

    /* a stall is no stuck output: the stream was not ended for it */
    json_t *st = sse_status(h, s.base);
    assert_int_equal(mt_jint(st, "stalled"), 0);
    assert_int_equal(mt_jint(st, "connected"), 1);
    assert_int_equal(mt_jint(json_object_get(st, "faults"), "stall"), 1);
    json_t *c = json_array_get(json_object_get(st, "clients"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "faults"), 0)),
                        "stall=800");
    assert_int_equal(mt_jint(c, "faults_applied"), 1);
    json_decref(st);
    sse_close(&a);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- retry: the field arrives; reset and drop end as said ---------------- */

static void sf_retry_reset_drop(void **state)
{
    mt_server s;
    sse_client a, r, d;
    sse_event ev;
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    open_node(&a, http_port(&s), "re", NULL);
    open_node(&r, http_port(&s), "rst", NULL);
    open_node(&d, http_port(&s), "drp", NULL);

    mk_fault f = spec("retry=1500");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "re", &f), 1);
    next_event(&a, &ev, NULL);
    assert_null(ev.id);
    assert_int_equal(ev.raw_len, strlen("retry: 1500\n\n"));
    assert_memory_equal(ev.raw, "retry: 1500\n\n", ev.raw_len);
    sse_event_free(&ev);
    inject_id(h, s.base, "r1", 1);
    next_event(&a, NULL, "r1");

    mk_fault rs = spec("reset");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "rst", &rs), 1);
    assert_int_equal(how_closed(r.fd, NULL, 0, NULL), ECONNRESET);

    mk_fault dr = spec("drop");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "drp", &dr), 1);
    assert_int_equal(how_closed(d.fd, NULL, 0, NULL), 0); /* FIN */

    /* no stream left for them: nothing applies; a fault without a stream key applies nowhere */
    wait_connected(h, s.base, 1);
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, "rst", &rs), 0);
    mk_fault st503 = spec("status=503; retry-after=2");
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, NULL, &st503), 0);
    assert_int_equal(mk_sse_fault(s.m->sse, s.m->def->sse, NULL, NULL), 0);

    json_t *st = sse_status(h, s.base);
    json_t *ft = json_object_get(st, "faults");
    assert_int_equal(mt_jint(ft, "retry"), 1);
    assert_int_equal(mt_jint(ft, "reset"), 1);
    assert_int_equal(mt_jint(ft, "drop"), 1);
    assert_int_equal(mt_jint(ft, "ended"), 2);
    json_decref(st);
    sse_close(&a);
    sse_close(&r);
    sse_close(&d);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- a stream that starts with a fault (the transport's hand-over) ------- */

/* A connected loopback pair: *cli for the test, the accepted end returned
 * (for mk_sse_attach, which takes it). */
static int tcp_pair(int *cli)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    *cli = mt_connect(ntohs(sa.sin_port));
    assert_true(*cli >= 0);
    int srv = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    assert_true(srv >= 0);
    close(l);
    return srv;
}

static const char HEAD[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                           "id: init\nevent: node_state_updated\ndata: {}\n\n";

/* A stream attached with fault f, read as an sse_client (head + init read). */
static void attach_with(mt_server *s, sse_client *c, const char *node, const mk_fault *f,
                        bool read_head)
{
    int cli;
    int srv = tcp_pair(&cli);
    memset(c, 0, sizeof *c);
    c->fd = cli;
    c->open = true;
    mk_sse_attach(s->m->sse, s->m->def->sse, MK_TOPIC_NODE, srv, HEAD, sizeof HEAD - 1, NULL, node, "test",
                  f, NULL);
    if (read_head) {
        assert_int_equal(sse_read_head(c, mt_now_ms() + WAIT_MS), 200);
        next_event(c, NULL, "init");
    }
}

static void sf_attach_faults(void **state)
{
    mt_server s;
    sse_client a, d, r;
    sse_event ev;
    unsigned char got[256];
    size_t n = 99;
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    /* cut-after=2 and retry=700 from the start: the head, the retry field,
     * two events, FIN */
    mk_fault f = spec("retry=700; cut-after=2");
    attach_with(&s, &a, "att", &f, true);
    next_event(&a, &ev, NULL);
    assert_memory_equal(ev.raw, "retry: 700\n\n", ev.raw_len);
    sse_event_free(&ev);
    for (int i = 1; i <= 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "a%d", i);
        inject_id(h, s.base, id, i);
    }
    next_event(&a, NULL, "a1");
    next_event(&a, NULL, "a2");
    expect_end(&a, "cut-after=2 at attach");

    /* drop and reset at attach: nothing is written, not even the head */
    mk_fault dr = spec("drop");
    attach_with(&s, &d, "att", &dr, false);
    assert_int_equal(how_closed(d.fd, got, sizeof got, &n), 0);
    assert_int_equal(n, 0);
    mk_fault rs = spec("reset");
    attach_with(&s, &r, "att", &rs, false);
    n = 99;
    assert_int_equal(how_closed(r.fd, got, sizeof got, &n), ECONNRESET);
    assert_int_equal(n, 0);

    wait_connected(h, s.base, 0);

    /* stall=500 from the start: the head and initial event at once, then
     * silence, then the event injected meanwhile */
    sse_client z;
    mk_fault sl = spec("stall=500");
    int64_t t0 = mt_now_ms();
    attach_with(&s, &z, "att", &sl, true);
    int64_t head_ms = mt_now_ms() - t0;
    inject_id(h, s.base, "z1", 1);
    next_event(&z, NULL, "z1");
    int64_t ev_ms = mt_now_ms() - t0;
    print_message("stall=500 at attach: head after %lld ms, event after %lld ms\n", (long long)head_ms,
                  (long long)ev_ms);
    assert_true(ev_ms >= 500);
    if (mt_timing_on())
        assert_true(head_ms < 400);

    json_t *st = sse_status(h, s.base);
    json_t *ft = json_object_get(st, "faults");
    assert_int_equal(mt_jint(ft, "cut_after"), 1);
    assert_int_equal(mt_jint(ft, "retry"), 1);
    assert_int_equal(mt_jint(ft, "drop"), 1);
    assert_int_equal(mt_jint(ft, "reset"), 1);
    assert_int_equal(mt_jint(ft, "stall"), 1);
    assert_int_equal(mt_jint(ft, "ended"), 3);
    json_decref(st);
    sse_close(&z);
    sse_close(&a);
    sse_close(&d);
    sse_close(&r);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- POST /test/sse/disconnect ------------------------------------------ */

static void sf_disconnect(void **state)
{
    mt_server s;
    sse_client a1, a2, b;
    char hdr[64];
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    open_node(&a1, http_port(&s), "n1", NULL);
    open_node(&a2, http_port(&s), "n1", NULL);
    open_node(&b, http_port(&s), "n2", NULL);
    inject_id(h, s.base, "d1", 1);
    next_event(&a1, NULL, "d1");
    next_event(&a2, NULL, "d1");
    next_event(&b, NULL, "d1");

    char *body = post(h, s.base, "/test/sse/disconnect?node=n1", NULL, 200);
    assert_string_equal(body, "{\"disconnected\":2}\n");
    free(body);
    expect_end(&a1, "disconnect n1");
    expect_end(&a2, "disconnect n1");
    wait_connected(h, s.base, 1);
    inject_id(h, s.base, "d2", 2); /* n2 is still there; n1 will replay it */
    next_event(&b, NULL, "d2");

    /* n1 reconnects and resumes */
    snprintf(hdr, sizeof hdr, "Last-Event-ID: d1");
    sse_close(&a1);
    open_node(&a1, http_port(&s), "n1", hdr);
    next_event(&a1, NULL, "d2");

    body = post(h, s.base, "/test/sse/disconnect", NULL, 200);
    assert_string_equal(body, "{\"disconnected\":2}\n");
    free(body);
    expect_end(&a1, "disconnect all");
    expect_end(&b, "disconnect all");
    wait_connected(h, s.base, 0);
    body = post(h, s.base, "/test/sse/disconnect", NULL, 200);
    assert_string_equal(body, "{\"disconnected\":0}\n");
    free(body);

    /* strict parameters: a 400 naming the problem, nothing ended */
    body = post(h, s.base, "/test/sse/disconnect?nod=n1", NULL, 400);
    assert_non_null(strstr(body, "unknown query parameter \\\"nod\\\""));
    free(body);
    body = post(h, s.base, "/test/sse/disconnect?node=", NULL, 400);
    assert_non_null(strstr(body, "node must be a node id"));
    free(body);
    mt_response r;
    mt_get(h, s.base, "/test/sse/disconnect", &r);
    assert_int_equal(r.status, 405);
    mt_response_free(&r);

    json_t *st = sse_status(h, s.base);
    assert_int_equal(mt_jint(json_object_get(st, "faults"), "disconnect"), 4);
    json_decref(st);
    sse_close(&a1);
    sse_close(&a2);
    sse_close(&b);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- adversarial events -------------------------------------------------- */

static int64_t inject_count(CURL *h, const char *base)
{
    mt_response r;
    int64_t v = -1;
    mt_get(h, base, "/test/assertions", &r);
    assert_int_equal(mt_assertion_value(r.body, r.len, "inject_event_count", &v), 0);
    mt_response_free(&r);
    return v;
}

static void sf_adversarial_events(void **state)
{
    mt_server s;
    sse_client a, b;
    sse_event ev;
    unsigned char pk[32];
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    register_key(h, s.base, pk);
    open_node(&a, http_port(&s), "n1", NULL);
    open_node(&b, http_port(&s), "n2", NULL);

    /* before any event: nothing to repeat, a 400 that changes nothing */
    char *body = post(h, s.base, "/test/inject-event?nonce=repeat", "{}", 400);
    assert_non_null(strstr(body, "no event was injected yet"));
    free(body);

    /* control: a normal event passes the agent's check */
    inject_id(h, s.base, "ok", 1);
    next_event(&a, &ev, "ok");
    assert_true(signature_ok(pk, ev.data));
    json_t *j = mt_parse_json(ev.data, strlen(ev.data));
    assert_true(age_of(mt_jstr(j, "issued_at")) <= 5);
    json_decref(j);
    sse_event_free(&ev);
    next_event(&b, NULL, "ok");

    /* corrupt=signature: well formed, and false */
    inject_at(h, s.base, "/test/inject-event?corrupt=signature", "bad-sig", 2);
    next_event(&a, &ev, "bad-sig");
    assert_false(signature_ok(pk, ev.data));
    sse_event_free(&ev);
    next_event(&b, NULL, "bad-sig");

    /* stale=600: signed (it verifies), issued 10 minutes ago: past plexd's 5 */
    inject_at(h, s.base, "/test/inject-event?stale=600", "old", 3);
    next_event(&a, &ev, "old");
    assert_true(signature_ok(pk, ev.data));
    j = mt_parse_json(ev.data, strlen(ev.data));
    long long age = age_of(mt_jstr(j, "issued_at"));
    assert_true(age >= 595 && age <= 605);
    assert_string_equal(mt_jstr(j, "nonce"), "nonce-old");
    json_decref(j);
    sse_event_free(&ev);
    next_event(&b, NULL, "old");

    /* nonce=repeat: the previous event's nonce, signed, fresh */
    inject_at(h, s.base, "/test/inject-event?nonce=repeat", "again", 4);
    next_event(&a, &ev, "again");
    assert_true(signature_ok(pk, ev.data));
    j = mt_parse_json(ev.data, strlen(ev.data));
    assert_string_equal(mt_jstr(j, "nonce"), "nonce-old");
    assert_true(age_of(mt_jstr(j, "issued_at")) <= 5);
    json_decref(j);
    sse_event_free(&ev);
    next_event(&b, NULL, "again");

    /* options combine: stale, corrupt and repeated at once */
    inject_at(h, s.base, "/test/inject-event?stale=3600&corrupt=signature&nonce=repeat", "all", 5);
    next_event(&a, &ev, "all");
    assert_false(signature_ok(pk, ev.data));
    j = mt_parse_json(ev.data, strlen(ev.data));
    assert_string_equal(mt_jstr(j, "nonce"), "nonce-old");
    assert_true(age_of(mt_jstr(j, "issued_at")) >= 3595);
    json_decref(j);
    sse_event_free(&ev);
    next_event(&b, NULL, "all");

    /* raw=1: the posted envelope is the data, byte for byte (its own
     * issued_at and a signature by nobody) */
    static const char forged[] =
        "{\"event_type\":\"test_event\",\"event_id\":\"forged\",\"issued_at\":\"2020-01-02T03:04:05Z\","
        "\"nonce\":\"n-f\",\"payload\":{\"x\":1},\"signature\":\""
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}";
    free(post(h, s.base, "/test/inject-event?raw=1", forged, 204));
    next_event(&a, &ev, "forged");
    assert_string_equal(ev.data, forged);
    assert_int_equal(ev.ndata, 1);
    assert_false(signature_ok(pk, ev.data));
    sse_event_free(&ev);
    next_event(&b, NULL, "forged");
    /* over several data: lines when it has LFs; joined, as sent */
    static const char spaced[] = "{\"event_type\":\"test_event\",\n\"event_id\":\"spaced\"}\n";
    free(post(h, s.base, "/test/inject-event?raw=1", spaced, 204));
    next_event(&a, &ev, "spaced");
    assert_string_equal(ev.data, spaced);
    assert_int_equal(ev.ndata, 3);
    sse_event_free(&ev);
    next_event(&b, NULL, "spaced");
    /* the raw event's nonce is the one to repeat next */
    inject_at(h, s.base, "/test/inject-event?nonce=repeat", "after-raw", 6);
    next_event(&a, &ev, "after-raw");
    j = mt_parse_json(ev.data, strlen(ev.data));
    assert_string_equal(mt_jstr(j, "nonce"), "");
    json_decref(j);
    sse_event_free(&ev);
    next_event(&b, NULL, "after-raw");

    /* node=n2: only n2's streams, and only n2's replay */
    inject_at(h, s.base, "/test/inject-event?node=n2", "for-n2", 7);
    inject_id(h, s.base, "for-all", 8);
    next_event(&b, NULL, "for-n2");
    next_event(&b, NULL, "for-all");
    next_event(&a, NULL, "for-all"); /* n1 never saw for-n2 */
    sse_client a2, b2;
    open_node(&a2, http_port(&s), "n1", "Last-Event-ID: after-raw");
    next_event(&a2, NULL, "for-all");
    open_node(&b2, http_port(&s), "n2", "Last-Event-ID: after-raw");
    next_event(&b2, NULL, "for-n2");
    next_event(&b2, NULL, "for-all");

    /* strict options: each a 400 naming it; nothing counted or sent */
    int64_t before = inject_count(h, s.base);
    static const struct {
        const char *query, *names;
    } bad[] = {
        {"?rawr=1", "unknown query parameter \\\"rawr\\\""},
        {"?raw=true", "raw must be 1"},
        {"?corrupt=payload", "corrupt must be signature"},
        {"?stale=0", "stale must be"},
        {"?stale=ten", "stale must be"},
        {"?stale=999999999999", "stale must be"},
        {"?nonce=fresh", "nonce must be repeat"},
        {"?node=", "node must be a node id"},
        {"?raw=1&stale=5", "raw and stale contradict"},
        {"?raw=1&corrupt=signature", "raw and corrupt contradict"},
        {"?stale=5&stale=6", "stale"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[128];
        snprintf(path, sizeof path, "/test/inject-event%s", bad[i].query);
        char *env = envelope("never", 9);
        body = post(h, s.base, path, env, 400);
        if (!strstr(body, bad[i].names))
            fail_msg("%s: the 400 does not name %s: %s", bad[i].query, bad[i].names, body);
        free(body);
        free(env);
    }
    /* raw with a CR it cannot carry */
    body = post(h, s.base, "/test/inject-event?raw=1", "{\"event_id\":\"cr\"}\r\n", 400);
    free(body);
    assert_int_equal(inject_count(h, s.base), before);
    inject_id(h, s.base, "last", 10); /* nothing from the refused ones came first */
    next_event(&a, NULL, "last");
    next_event(&b, NULL, "last");

    sse_close(&a);
    sse_close(&b);
    sse_close(&a2);
    sse_close(&b2);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

/* ---- faults and disconnects racing events (for TSan) --------------------- */

typedef struct storm {
    const char *base;
    int n;
} storm;

static void *storm_injector(void *p)
{
    storm *st = p;
    CURL *h = curl_easy_init();
    for (int i = 0; i < st->n; i++) {
        char id[32], *env;
        mt_response r;
        snprintf(id, sizeof id, "x%d", i);
        env = envelope(id, i);
        mt_send(h, st->base, "POST", i % 3 ? "/test/inject-event" : "/test/inject-event?node=s1", env,
                &r);
        mt_response_free(&r);
        free(env);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void sf_fault_storm(void **state)
{
    mt_server s;
    sse_client c[4];
    static const char *const nodes[4] = {"s0", "s1", "s0", "s1"};
    pthread_t th;
    CURL *h = curl_easy_init();
    (void)state;

    assert_int_equal(mt_server_start_tracked(&s, NULL), 0);
    for (int i = 0; i < 4; i++)
        open_node(&c[i], http_port(&s), nodes[i], NULL);
    storm st = {s.base, 150};
    assert_int_equal(pthread_create(&th, NULL, storm_injector, &st), 0);
    int disconnected = 0; /* what the hub says it ended: a stream the storm overflowed may be gone */
    for (int k = 0; k < 60; k++) {
        mk_fault f = spec(k % 3 == 0 ? "retry=10" : k % 3 == 1 ? "stall=1" : "cut-after=1000; cut-mid");
        mk_sse_fault(s.m->sse, s.m->def->sse, k % 2 ? "s1" : NULL, &f);
        if (k % 20 == 19)
            disconnected += mk_sse_disconnect(s.m->sse, s.m->def->sse, "s0");
        for (int i = 0; i < 4; i++) { /* read what there is */
            sse_event ev;
            while (!c[i].eof && sse_next(&c[i], &ev, mt_now_ms() + 1) == 1)
                sse_event_free(&ev);
        }
    }
    pthread_join(th, NULL);
    /* the hub is healthy: a new stream gets a new event */
    sse_client z;
    open_node(&z, http_port(&s), "z", NULL);
    inject_id(h, s.base, "z1", 1);
    next_event(&z, NULL, "z1");
    /* counted exactly: every stream ended by a disconnect, no more */
    assert_int_equal(fault_total(h, s.base, "disconnect"), disconnected);
    for (int i = 0; i < 4; i++)
        sse_close(&c[i]);
    sse_close(&z);
    curl_easy_cleanup(h);
    mt_server_untrack_free(&s);
}

int mt_run_ssefault_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sf_cut_after_resume, teardown_servers),
        cmocka_unit_test_teardown(sf_cut_mid_partial, teardown_servers),
        cmocka_unit_test_teardown(sf_stall_then_flow, teardown_servers),
        cmocka_unit_test_teardown(sf_retry_reset_drop, teardown_servers),
        cmocka_unit_test_teardown(sf_attach_faults, teardown_servers),
        cmocka_unit_test_teardown(sf_disconnect, teardown_servers),
        cmocka_unit_test_teardown(sf_adversarial_events, teardown_servers),
        cmocka_unit_test_teardown(sf_fault_storm, teardown_servers),
    };
    return cmocka_run_group_tests_name("ssefault", tests, NULL, NULL);
}
