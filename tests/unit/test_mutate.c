/* test_mutate.c: hostile input against the pure cores, deterministically.
 *
 * Seeded mutations of valid inputs (the golden bodies, real request bodies,
 * real paths, a real gzip stream) go through every Go type's decoder, the
 * router, gunzip and the raw-JSON compactor. Each call must return normally
 * with a defined result; ASan and UBSan (the debug build runs this too)
 * turn any out-of-bounds access or undefined behaviour into a failure. The
 * seed is fixed, so a failure reproduces; MK_MUTATE_ITERS raises the count.
 * (Coverage-guided fuzzing with libFuzzer is on the roadmap; this keeps the
 * same entry points honest in every CI run meanwhile.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gojson.h"
#include "gotype.h"
#include "gzip.h"
#include "router.h"
#include "unit.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next(void)
{
    /* xorshift64*: fast, deterministic, good enough to pick mutations */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static int iterations(int dflt)
{
    const char *e = getenv("MK_MUTATE_ITERS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : dflt;
}

/* Copies src and applies 1-4 random edits (flip, insert, delete, splice of
 * JSON-significant bytes, truncation). Returns the new length. */
static size_t mutate(const char *src, size_t n, char *dst, size_t cap)
{
    static const char tokens[] = "{}[]\",:\\0123456789eE.-+ntfu \t\n\x00\x80\xff";
    if (n > cap)
        n = cap;
    memcpy(dst, src, n);
    int edits = 1 + (int)(next() % 4);
    for (int k = 0; k < edits; k++) {
        size_t at = n ? next() % n : 0;
        switch (next() % 5) {
        case 0: /* flip a byte */
            if (n)
                dst[at] = (char)(dst[at] ^ (1u << (next() % 8)));
            break;
        case 1: /* insert a token byte */
            if (n < cap) {
                memmove(dst + at + 1, dst + at, n - at);
                dst[at] = tokens[next() % (sizeof tokens - 1)];
                n++;
            }
            break;
        case 2: /* delete a run */
            if (n) {
                size_t len = 1 + next() % 8;
                if (at + len > n)
                    len = n - at;
                memmove(dst + at, dst + at + len, n - at - len);
                n -= len;
            }
            break;
        case 3: /* duplicate a run (deep nesting, repeated keys) */
            if (n) {
                size_t len = 1 + next() % 32;
                if (at + len > n)
                    len = n - at;
                if (n + len <= cap) {
                    memmove(dst + at + len, dst + at, n - at);
                    n += len;
                }
            }
            break;
        default: /* truncate */
            n = at;
        }
    }
    return n;
}

static const gt_type *const all_types[] = {
    &gt_RegisterRequest, &gt_HeartbeatRequest, &gt_KeyRotateRequest, &gt_CapabilitiesPayload,
    &gt_EndpointReport, &gt_DriftReport, &gt_ReportSyncRequest, &gt_ExecutionAck,
    &gt_ExecutionResult, &gt_MetricBatch, &gt_LogBatch, &gt_AuditBatch, &gt_TunnelReadyRequest,
    &gt_TunnelClosedRequest, &gt_IntegrityViolationReport, &gt_RegisterResponse,
    &gt_HeartbeatResponse, &gt_StateResponse, &gt_KeyRotateResponse, &gt_EndpointResponse,
    &gt_SignedEnvelope, &gt_StringMap,
};

static const char *const seeds[] = {
    "{\"node_id\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00.5+01:00\",\"status\":\"healthy\","
    "\"mesh\":{\"interface\":\"wg0\",\"peer_count\":2,\"listen_port\":51820}}",
    "[{\"timestamp\":\"2025-01-01T00:00:00Z\",\"group\":\"cpu\",\"data\":{\"load\":0.5,\"x\":[1,2e3]}}]",
    "{\"entries\":[{\"key\":\"k\",\"payload\":{\"a\":\"\\u00e9<&>\"},\"version\":1,"
    "\"updated_at\":\"2025-01-15T12:00:00Z\"}],\"deleted\":[\"x\"]}",
    "{\"event_type\":\"t\",\"event_id\":\"e\",\"issued_at\":\"2025-01-01T00:00:00Z\",\"nonce\":\"n\","
    "\"payload\":{\"b\":1.50,\"s\":\"\\ud83d\\ude00\"},\"signature\":\"x\"}",
    "{\"peers\":[],\"policies\":[{\"id\":\"p\",\"rules\":[{\"action\":\"allow\",\"port\":443}]}],"
    "\"metadata\":{\"z\":\"1\",\"a\":\"<&>\"},\"data\":null}",
};

static void test_decode_mutations(void **st)
{
    (void)st;
    enum { CAP = 8192 };
    char *buf = malloc(CAP);
    assert_non_null(buf);
    int iters = iterations(3000);
    int accepted = 0, rejected = 0;
    for (int i = 0; i < iters; i++) {
        const char *seed = seeds[next() % (sizeof seeds / sizeof seeds[0])];
        size_t n = mutate(seed, strlen(seed), buf, CAP);
        for (size_t t = 0; t < sizeof all_types / sizeof all_types[0]; t++) {
            gt_value *v = NULL;
            char err[256];
            if (gt_decode(all_types[t], buf, n, &v, err, sizeof err) == 0) {
                /* what decodes must encode (or refuse cleanly) */
                mk_buf out;
                mk_buf_init(&out, 0);
                (void)gt_encode(all_types[t], v, &out);
                mk_buf_free(&out);
                gt_value_free(v);
                accepted++;
            } else {
                assert_true(err[0] != '\0'); /* a refusal always says why */
                rejected++;
            }
        }
        /* RawMessage compaction of whatever scans as one value */
        size_t pos = 0, a = 0, b = 0;
        gj_kind k;
        if (gj_scan_value(buf, n, &pos, &k, &a, &b) == 0) {
            mk_buf out;
            mk_buf_init(&out, 0);
            assert_int_equal(gj_write_raw(&out, buf + a, b - a), 0);
            mk_buf_free(&out);
        }
    }
    print_message("typed decode: %d accepted, %d rejected over %d mutated bodies\n", accepted,
                  rejected, iters);
    assert_true(accepted > 0 && rejected > 0); /* the mutations reach both outcomes */
    free(buf);
}

static void test_route_mutations(void **st)
{
    (void)st;
    static const char *const paths[] = {
        "/v1/nodes/n1/heartbeat", "/v1/nodes/a%2Fb/secrets/k%00ey", "/v1/artifacts/plexd/1/linux/amd64",
        "/test/last-request/register", "//v1/./ping/../ping", "/local/metrics",
    };
    static const char *const methods[] = {"GET", "POST", "PUT", "HEAD", "DELETE", "X"};
    char buf[512], path[513];
    int iters = iterations(3000) * 4;
    for (int i = 0; i < iters; i++) {
        const char *p = paths[next() % (sizeof paths / sizeof paths[0])];
        size_t n = mutate(p, strlen(p), buf, sizeof buf);
        memcpy(path, buf, n);
        path[n] = '\0';
        mk_match m;
        mk_verdict v = mk_route_match((mk_listener_kind)(next() % 2), false, methods[next() % 6], path,
                                      strlen(path), (next() % 2) ? "a=1" : NULL, &m);
        assert_int_equal(v, m.verdict);
        if (v == MK_MATCH) {
            assert_non_null(m.route);
            for (int k = 0; k < m.nparams; k++) /* params are NUL-terminated, as promised */
                assert_int_equal(m.params[k].s[m.params[k].len], '\0');
        }
        if (v == MK_REDIRECT) {
            assert_non_null(m.location);
            assert_int_equal(m.location[0], '/');
            free(m.location);
        }
    }
}

static void test_gzip_mutations(void **st)
{
    (void)st;
    static const char plain[] = "{\"node_id\":\"n1\",\"status\":\"healthy\",\"uptime\":\"1h\"}";
    unsigned char z[256];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)plain;
    zs.avail_in = sizeof plain - 1;
    zs.next_out = z;
    zs.avail_out = sizeof z;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t zn = sizeof z - zs.avail_out;
    deflateEnd(&zs);

    char buf[512];
    int ok = 0, bad = 0, iters = iterations(3000);
    for (int i = 0; i < iters; i++) {
        size_t n = mutate((const char *)z, zn, buf, sizeof buf);
        mk_buf out;
        mk_buf_init(&out, 0);
        int rc = mk_gunzip(buf, n, 4096, &out);
        assert_true(rc == MK_GZ_OK || rc == MK_GZ_BAD || rc == MK_GZ_TOO_BIG);
        assert_true(out.len <= 4097);
        if (rc == MK_GZ_OK)
            ok++;
        else
            bad++;
        mk_buf_free(&out);
    }
    print_message("gunzip: %d decoded, %d refused over %d mutated streams\n", ok, bad, iters);
    assert_true(bad > 0);
}

int run_mutate_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_mutations),
        cmocka_unit_test(test_route_mutations),
        cmocka_unit_test(test_gzip_mutations),
    };
    return cmocka_run_group_tests_name("mutate", tests, NULL, NULL);
}
