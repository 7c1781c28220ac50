/* test_gotype.c: gotype.c's decode/encode against Go's encoding/json.
 *
 * Most cases are data: tests/unit/data/gotype_cases.tsv (type, ok/err,
 * body, expected output or error substring) and the golden response bodies
 * in tests/unit/data/gotype/, which must survive decode + encode byte for
 * byte. Cases that need raw bytes or the C API stay here. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotype.h"

#define DATA_DIR "tests/unit/data/"
#define KEY_B64 "MCowBQYDK2VwAyEAq83vEjRWeJASNFZ4kBI0VniQEjQ=" /* 44 chars */

static const gt_type *const all_types[] = {
    &gt_RegisterRequest, &gt_HeartbeatRequest, &gt_KeyRotateRequest, &gt_CapabilitiesPayload,
    &gt_EndpointReport, &gt_DriftReport, &gt_ReportSyncRequest, &gt_ExecutionAck,
    &gt_ExecutionResult, &gt_MetricBatch, &gt_LogBatch, &gt_AuditBatch,
    &gt_TunnelReadyRequest, &gt_TunnelClosedRequest, &gt_IntegrityViolationReport,
    &gt_RegisterResponse, &gt_HeartbeatResponse, &gt_StateResponse, &gt_KeyRotateResponse,
    &gt_EndpointResponse, &gt_SignedEnvelope, &gt_StringMap,
};

static const gt_type *type_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
        if (strcmp(gt_type_name(all_types[i]), name) == 0)
            return all_types[i];
    return NULL;
}

/* Reads a whole file relative to the repository root (tests run there). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    mk_buf b;
    mk_buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        mk_buf_append(&b, tmp, n);
    fclose(f);
    assert_int_equal(b.err, 0);
    mk_buf_putc(&b, '\0'); /* so an empty file still yields a buffer */
    b.len--;
    return mk_buf_steal(&b, len);
}

/* Decodes body as t and checks gt_encode's output; returns 0 or -1 and
 * describes a mismatch in why. */
static int roundtrip(const gt_type *t, const char *body, size_t n, const char *want, size_t wantlen,
                     char *why, size_t whylen)
{
    char err[256];
    gt_value *v = NULL;
    if (gt_decode(t, body, n, &v, err, sizeof err) != 0) {
        snprintf(why, whylen, "rejected: %s", err);
        return -1;
    }
    mk_buf out;
    mk_buf_init(&out, 0);
    int r = gt_encode(t, v, &out);
    gt_value_free(v);
    if (r != 0) {
        snprintf(why, whylen, "encode failed");
    } else if (out.len != wantlen || memcmp(out.data, want, wantlen) != 0) {
        snprintf(why, whylen, "got %.*s", (int)(out.len > 600 ? 600 : out.len),
                 out.data ? out.data : "");
        r = -1;
    }
    mk_buf_free(&out);
    return r;
}

static void test_cases_file(void **state)
{
    (void)state;
    size_t len;
    char *text = slurp(DATA_DIR "gotype_cases.tsv", &len);
    int failures = 0, cases = 0, lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line == '#' || *line == '\0')
            continue;
        char *f[4] = {line, NULL, NULL, NULL};
        for (int i = 1; i < 4 && f[i - 1]; i++) {
            f[i] = strchr(f[i - 1], '\t');
            if (f[i])
                *f[i]++ = '\0';
        }
        const gt_type *t = type_by_name(f[0]);
        if (!t || !f[1] || !f[2] || (strcmp(f[1], "ok") != 0 && strcmp(f[1], "err") != 0)) {
            print_error("gotype_cases.tsv:%d: malformed line\n", lineno);
            failures++;
            continue;
        }
        cases++;
        char why[1024];
        if (strcmp(f[1], "ok") == 0) {
            const char *want = f[3] ? f[3] : "";
            if (roundtrip(t, f[2], strlen(f[2]), want, strlen(want), why, sizeof why) != 0) {
                print_error("gotype_cases.tsv:%d: %s %s: %s\n", lineno, f[0], f[2], why);
                failures++;
            }
        } else {
            char err[256] = "";
            gt_value *v = (gt_value *)&err; /* must stay untouched */
            int r = gt_decode(t, f[2], strlen(f[2]), &v, err, sizeof err);
            if (r == 0 || v != (gt_value *)&err) {
                print_error("gotype_cases.tsv:%d: %s %s: accepted\n", lineno, f[0], f[2]);
                failures++;
                if (r == 0 && v != (gt_value *)&err)
                    gt_value_free(v);
            } else if (f[3] && !strstr(err, f[3])) {
                print_error("gotype_cases.tsv:%d: message \"%s\" lacks \"%s\"\n", lineno, err, f[3]);
                failures++;
            } else if (strchr(err, '\n') || strncmp(err, "offset ", 7) != 0) {
                print_error("gotype_cases.tsv:%d: bad message shape \"%s\"\n", lineno, err);
                failures++;
            }
        }
    }
    free(text);
    assert_true(cases > 100);
    assert_int_equal(failures, 0);
}

/* Replaces every {{SIGNING_PUBLIC_KEY_B64}} in s with KEY_B64. */
static char *fill_key(const char *s, size_t n, size_t *outlen)
{
    static const char ph[] = "{{SIGNING_PUBLIC_KEY_B64}}";
    mk_buf b;
    mk_buf_init(&b, 0);
    for (size_t i = 0; i < n;) {
        if (n - i >= sizeof ph - 1 && memcmp(s + i, ph, sizeof ph - 1) == 0) {
            mk_buf_puts(&b, KEY_B64);
            i += sizeof ph - 1;
        } else {
            mk_buf_putc(&b, s[i++]);
        }
    }
    return mk_buf_steal(&b, outlen);
}

static void test_golden_roundtrip(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const gt_type *type;
        size_t wire; /* bytes on the wire with the 44-char key and the '\n' */
    } g[] = {
        {"state.body", &gt_StateResponse, 2084},
        {"register.body", &gt_RegisterResponse, 497},
        {"key_rotate.body", &gt_KeyRotateResponse, 336},
        {"endpoint.body", &gt_EndpointResponse, 129},
        {"heartbeat.body", &gt_HeartbeatResponse, 39},
        {"metadata.body", &gt_StringMap, 91},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DATA_DIR "gotype/%s", g[i].file);
        size_t rawlen, n;
        char *raw = slurp(path, &rawlen);
        char *body = fill_key(raw, rawlen, &n);
        free(raw);
        /* Goldens are json.Encoder output: exactly one trailing newline,
         * which gt_encode leaves to the caller. */
        assert_true(n >= 2 && body[n - 1] == '\n' && body[n - 2] != '\n');
        assert_int_equal(n, g[i].wire);
        char why[1024];
        if (roundtrip(g[i].type, body, n, body, n - 1, why, sizeof why) != 0)
            fail_msg("%s: %s", g[i].file, why);
        free(body);
    }
}

static void test_signed_envelope(void **state)
{
    (void)state;
    const char *body = "{\"nonce\":\"n-1\",\"event_type\":\"node_state_updated\","
                       "\"payload\" : {\"b\" : 1.50, \"a\":\"\\u00e9<\"},\"event_id\":\"e\","
                       "\"issued_at\":\"2025-01-01T00:00:00Z\",\"signature\":\"old\"}";
    gt_value *v = NULL;
    char err[256];
    assert_int_equal(gt_decode(&gt_SignedEnvelope, body, strlen(body), &v, err, sizeof err), 0);

    const char *s, *raw;
    size_t n;
    assert_int_equal(gt_get_string(v, "event_type", &s, &n), 0);
    assert_int_equal(n, 18);
    assert_memory_equal(s, "node_state_updated", n);
    assert_int_equal(gt_get_raw(v, "payload", &raw, &n), 0);
    assert_int_equal(n, 27); /* the text as sent, whitespace and all */
    assert_memory_equal(raw, "{\"b\" : 1.50, \"a\":\"\\u00e9<\"}", n);
    gj_time t;
    assert_int_equal(gt_get_time(v, "issued_at", &t), 0);
    assert_int_equal(t.sec, 1735689600);

    /* Re-stamp as the inject handler does, then marshal. */
    gj_time now = {1795360616, 987729818, 0};
    assert_int_equal(gt_set_time(v, "issued_at", &now), 0);
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(gt_encode(&gt_SignedEnvelope, v, &out), 0);
    const char *want = "{\"event_type\":\"node_state_updated\",\"event_id\":\"e\","
                       "\"issued_at\":\"2026-11-22T15:16:56.987729818Z\",\"nonce\":\"n-1\","
                       "\"payload\":{\"b\":1.50,\"a\":\"\\u00e9\\u003c\"},\"signature\":\"old\"}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    mk_buf_free(&out);

    /* Kind and name checks on the accessors. */
    bool b;
    assert_int_equal(gt_get_bool(v, "event_type", &b), -1);
    assert_int_equal(gt_get_string(v, "payload", &s, &n), -1);
    assert_int_equal(gt_get_string(v, "no_such_field", &s, &n), -1);
    assert_int_equal(gt_set_time(v, "nonce", &now), -1);
    gt_value_free(v);

    /* Missing payload: nil RawMessage, marshalled as null; zero time. */
    v = NULL;
    assert_int_equal(gt_decode(&gt_SignedEnvelope, "{}", 2, &v, err, sizeof err), 0);
    assert_int_equal(gt_get_raw(v, "payload", &raw, &n), 0);
    assert_null(raw);
    assert_int_equal(n, 0);
    assert_int_equal(gt_get_string(v, "nonce", &s, &n), 0);
    assert_int_equal(n, 0);
    assert_non_null(s);
    assert_int_equal(gt_get_time(v, "issued_at", &t), 0);
    assert_true(t.sec == -62135596800LL && t.nsec == 0 && t.offset == 0);
    gt_value_free(v);

    /* An explicit null payload reads back as nil too. */
    v = NULL;
    assert_int_equal(gt_decode(&gt_SignedEnvelope, "{\"payload\":null}", 16, &v, err, sizeof err), 0);
    assert_int_equal(gt_get_raw(v, "payload", &raw, &n), 0);
    assert_null(raw);
    gt_value_free(v);

    v = NULL;
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{\"ROTATE_KEYS\":true}", 20, &v, err, sizeof err), 0);
    assert_int_equal(gt_get_bool(v, "rotate_keys", &b), 0);
    assert_true(b);
    assert_int_equal(gt_get_bool(v, "reconcile", &b), 0);
    assert_false(b);
    gt_value_free(v);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t n = 100000;
    char *p = malloc(n + 64);
    assert_non_null(p);
    memset(p, '[', n);
    char err[256];
    gt_value *v = NULL;
    assert_int_equal(gt_decode(&gt_StateResponse, p, n, &v, err, sizeof err), -1);
    assert_null(v);
    assert_non_null(strstr(err, "offset 10000:"));
    assert_int_equal(gt_decode(&gt_MetricBatch, p, n, NULL, err, sizeof err), -1);

    /* 9998 levels inside a RawMessage (plus 2 outer) are within Go's cap. */
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "[{\"data\":");
    for (int i = 0; i < 9998; i++)
        mk_buf_putc(&b, '[');
    for (int i = 0; i < 9998; i++)
        mk_buf_putc(&b, ']');
    mk_buf_puts(&b, "}]");
    assert_int_equal(gt_decode(&gt_MetricBatch, b.data, b.len, &v, err, sizeof err), 0);
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(gt_encode(&gt_MetricBatch, v, &out), 0);
    assert_true(out.len > 19996);
    gt_value_free(v);
    mk_buf_free(&out);
    /* One more level and it is Go's "exceeded max depth". */
    mk_buf_reset(&b);
    mk_buf_puts(&b, "[{\"data\":");
    for (int i = 0; i < 9999; i++)
        mk_buf_putc(&b, '[');
    for (int i = 0; i < 9999; i++)
        mk_buf_putc(&b, ']');
    mk_buf_puts(&b, "}]");
    assert_int_equal(gt_decode(&gt_MetricBatch, b.data, b.len, NULL, err, sizeof err), -1);
    mk_buf_free(&b);
    free(p);
}

/* Bodies with raw bytes: invalid UTF-8, lone surrogates, NUL. */
static void test_byte_level(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
        size_t inlen, wantlen;
    } c[] = {
#define C(i, w) {i, w, sizeof(i) - 1, sizeof(w) - 1}
        /* Decoded strings hold U+FFFD, which Go then writes as a raw rune. */
        C("{\"k\":\"a\xff" "b\"}", "{\"k\":\"a\xef\xbf\xbd" "b\"}"),
        C("{\"k\":\"\\ud800x\"}", "{\"k\":\"\xef\xbf\xbdx\"}"),
        C("{\"\xc0\":\"v\"}", "{\"\xef\xbf\xbd\":\"v\"}"),
        C("{\"k\":\"\\u0000\\u001f\\u007f\"}", "{\"k\":\"\\u0000\\u001f\x7f\"}"),
        C("{\"k\":\"\\u2028\xe2\x80\xa9\"}", "{\"k\":\"\\u2028\\u2029\"}"),
#undef C
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char why[512];
        if (roundtrip(&gt_StringMap, c[i].in, c[i].inlen, c[i].want, c[i].wantlen, why, sizeof why))
            fail_msg("case %zu: %s", i, why);
    }
    /* A RawMessage keeps its bytes, invalid ones included. */
    const char in[] = "{\"payload\":[\"\xff\",\"\\ud800\"]}";
    const char want[] = "{\"event_type\":\"\",\"event_id\":\"\",\"issued_at\":\"0001-01-01T00:00:00Z\","
                        "\"nonce\":\"\",\"payload\":[\"\xff\",\"\\ud800\"],\"signature\":\"\"}";
    char why[512];
    if (roundtrip(&gt_SignedEnvelope, in, sizeof in - 1, want, sizeof want - 1, why, sizeof why))
        fail_msg("%s", why);
    /* A NUL byte where a value should be is a syntax error, not the end. */
    char err[256];
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{\"reconcile\":\0}", 15, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "offset 13: invalid JSON: unexpected byte 0x00"));
    /* Messages stay on one line whatever the key holds. */
    assert_int_equal(gt_decode(&gt_StringMap, "{\"a\\nb\":1}", 11, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "offset 8: cannot put number 1 into map[string]string[a?b] (string)"));
    /* NUL inside a key is just a byte: no field matches. */
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{\"reconcile\\u0000\":\"x\"}", 23, NULL, err,
                               sizeof err), 0);
    /* Only len bytes are read, even when a NUL-free valid tail follows. */
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{}{\"reconcile\":1}", 2, NULL, err, sizeof err), 0);
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{\"reconcile\":true}", 10, NULL, err, sizeof err), -1);
}

static void test_api_edges(void **state)
{
    (void)state;
    char err[8]; /* truncated messages stay NUL-terminated */
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "[]", 2, NULL, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "[]", 2, NULL, NULL, 0), -1);
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{}", 2, NULL, NULL, 0), 0);

    /* Encoding a value of another type is refused; NULL is the zero value. */
    gt_value *v = NULL;
    assert_int_equal(gt_decode(&gt_HeartbeatResponse, "{}", 2, &v, NULL, 0), 0);
    mk_buf out;
    mk_buf_init(&out, 0);
    assert_int_equal(gt_encode(&gt_StateResponse, v, &out), -1);
    assert_int_equal(out.len, 0);
    gt_value_free(v);
    gt_value_free(NULL);
    assert_int_equal(gt_encode(&gt_StateResponse, NULL, &out), 0);
    const char *zero = "{\"peers\":null,\"policies\":null,\"data\":null,\"secret_refs\":null}";
    assert_int_equal(out.len, strlen(zero));
    assert_memory_equal(out.data, zero, out.len);

    /* A time Go cannot marshal fails the whole encode and appends nothing. */
    v = NULL;
    assert_int_equal(gt_decode(&gt_SignedEnvelope, "{\"event_type\":\"x\"}", 18, &v, NULL, 0), 0);
    gj_time far = {253402300800LL, 0, 0}; /* 10000-01-01 */
    assert_int_equal(gt_set_time(v, "issued_at", &far), 0);
    mk_buf_reset(&out);
    mk_buf_puts(&out, "keep");
    assert_int_equal(gt_encode(&gt_SignedEnvelope, v, &out), -1);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "keep", 4);
    gt_value_free(v);

    /* gt_set_time on a value decoded from null (no fields allocated yet). */
    v = NULL;
    assert_int_equal(gt_decode(&gt_SignedEnvelope, "null", 4, &v, NULL, 0), 0);
    gj_time t = {0, 5000, 0};
    assert_int_equal(gt_set_time(v, "issued_at", &t), 0);
    mk_buf_reset(&out);
    assert_int_equal(gt_encode(&gt_SignedEnvelope, v, &out), 0);
    assert_non_null(strstr(out.data, "\"issued_at\":\"1970-01-01T00:00:00.000005Z\""));
    gt_value_free(v);

    /* Accessors on a non-struct value. */
    v = NULL;
    assert_int_equal(gt_decode(&gt_MetricBatch, "[]", 2, &v, NULL, 0), 0);
    const char *s;
    size_t n;
    assert_int_equal(gt_get_string(v, "group", &s, &n), -1);
    gt_value_free(v);

    /* A buffer cap hit while encoding is a failure with nothing appended. */
    mk_buf small;
    mk_buf_init(&small, 16);
    assert_int_equal(gt_encode(&gt_StateResponse, NULL, &small), -1);
    assert_int_equal(small.len, 0);
    mk_buf_free(&small);
    mk_buf_free(&out);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(gt_type_name(&gt_StateResponse), "StateResponse");
    assert_string_equal(gt_type_name(&gt_MetricBatch), "[]MetricPoint");
    assert_string_equal(gt_type_name(&gt_LogBatch), "[]LogEntry");
    assert_string_equal(gt_type_name(&gt_AuditBatch), "[]AuditEntry");
    assert_string_equal(gt_type_name(&gt_StringMap), "map[string]string");
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
        assert_ptr_equal(type_by_name(gt_type_name(all_types[i])), all_types[i]);
}

int run_gotype_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_file),
        cmocka_unit_test(test_golden_roundtrip),
        cmocka_unit_test(test_signed_envelope),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_byte_level),
        cmocka_unit_test(test_api_edges),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests_name("gotype", tests, NULL, NULL);
}
