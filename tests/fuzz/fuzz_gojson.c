/* fuzz_gojson.c: a libFuzzer target for the Go-compatible JSON code
 * (src/common/gojson.c, src/common/gotype.c).
 *
 * Input: 1 byte that picks one of the typed schemas, then a request body.
 *
 * Checked, besides what the sanitizers see:
 *  - typed round trip: when the body decodes into the type and the value
 *    encodes (it may not: a time outside year 0..9999), the encoding decodes
 *    again into the same type and encodes to the same bytes (the encoder's
 *    output is a fixed point: what we store and serve is stable);
 *  - a failed decode leaves a reason behind;
 *  - raw values: when gj_scan_value accepts the body, gj_write_raw accepts
 *    that span, its output scans as exactly one value of the same kind and
 *    compacting it again changes nothing;
 *  - strings: a scanned string literal decodes; writing the decoded bytes
 *    and decoding that gives them back (decoding already replaced invalid
 *    UTF-8 and lone surrogates, so nothing is lost the second time);
 *  - times: when the body's text parses as RFC 3339 and Go would marshal
 *    it, the written form parses back to the same instant and offset, and
 *    writing that gives the same text. */
#include "fuzz_check.h"

#include "gojson.h"
#include "gotype.h"

static const gt_type *const types[] = {
    &gt_RegisterRequest,   &gt_HeartbeatRequest,    &gt_KeyRotateRequest,
    &gt_CapabilitiesPayload, &gt_EndpointReport,    &gt_DriftReport,
    &gt_ReportSyncRequest, &gt_ExecutionAck,        &gt_ExecutionResult,
    &gt_MetricBatch,       &gt_LogBatch,            &gt_AuditBatch,
    &gt_TunnelReadyRequest, &gt_TunnelClosedRequest, &gt_IntegrityViolationReport,
    &gt_RegisterResponse,  &gt_HeartbeatResponse,   &gt_StateResponse,
    &gt_KeyRotateResponse, &gt_EndpointResponse,    &gt_SignedEnvelope,
    &gt_StringMap,
};
enum { NTYPES = sizeof types / sizeof types[0] };

static void check_typed(const gt_type *t, const char *body, size_t n)
{
    char err[256];
    err[0] = '\0';
    gt_value *v = NULL;
    if (gt_decode(t, body, n, &v, err, sizeof err) != 0) {
        CHECK(v == NULL);
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
        return;
    }
    CHECK(v != NULL);
    /* validating only gives the same verdict */
    CHECK(gt_decode(t, body, n, NULL, err, sizeof err) == 0);
    mk_buf e1, e2;
    mk_buf_init(&e1, 0);
    mk_buf_init(&e2, 0);
    if (gt_encode(t, v, &e1) == 0) {
        CHECK(e1.err == 0 && e1.len > 0);
        gt_value *w = NULL;
        if (gt_decode(t, e1.data, e1.len, &w, err, sizeof err) != 0) {
            fprintf(stderr, "%s: own encoding refused: %s\n  %.*s\n", gt_type_name(t), err,
                    (int)e1.len, e1.data);
            CHECK(!"the encoding decodes again");
        }
        CHECK(gt_encode(t, w, &e2) == 0);
        if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) != 0) {
            fprintf(stderr, "%s: encodings differ\n  %.*s\n  %.*s\n", gt_type_name(t),
                    (int)e1.len, e1.data, (int)e2.len, e2.data);
            CHECK(!"encode(decode(encode(v))) == encode(v)");
        }
        gt_value_free(w);
    }
    mk_buf_free(&e1);
    mk_buf_free(&e2);
    gt_value_free(v);
}

static void check_string(const char *lit, size_t n)
{
    mk_buf d1, w, d2;
    mk_buf_init(&d1, 0);
    mk_buf_init(&w, 0);
    mk_buf_init(&d2, 0);
    CHECK(gj_string_decode(lit, n, &d1) == 0);
    gj_write_string(&w, d1.data, d1.len);
    CHECK(w.err == 0 && w.len >= 2);
    size_t pos = 0, s, e;
    gj_kind k;
    CHECK(gj_scan_value(w.data, w.len, &pos, &k, &s, &e) == 0);
    CHECK(k == GJ_STRING && s == 0 && e == w.len);
    CHECK(gj_string_decode(w.data, w.len, &d2) == 0);
    CHECK(d1.len == d2.len && (d1.len == 0 || memcmp(d1.data, d2.data, d1.len) == 0));
    mk_buf_free(&d1);
    mk_buf_free(&w);
    mk_buf_free(&d2);
}

static void check_raw(const char *body, size_t n)
{
    size_t pos = 0, s, e;
    gj_kind k;
    if (gj_scan_value(body, n, &pos, &k, &s, &e) != 0) {
        CHECK(pos <= n);
        return;
    }
    CHECK(s <= e && e <= n && pos == e && e > s);
    char *span = fuzz_copy(body + s, e - s, 0); /* exact size: no reading past the value */
    mk_buf c1, c2;
    mk_buf_init(&c1, 0);
    mk_buf_init(&c2, 0);
    CHECK(gj_write_raw(&c1, span, e - s) == 0);
    size_t pos2 = 0, s2, e2;
    gj_kind k2;
    CHECK(gj_scan_value(c1.data, c1.len, &pos2, &k2, &s2, &e2) == 0);
    CHECK(k2 == k && s2 == 0 && e2 == c1.len);
    CHECK(gj_write_raw(&c2, c1.data, c1.len) == 0);
    CHECK(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0);
    if (k == GJ_STRING)
        check_string(span, e - s);
    if (k == GJ_ARRAY || k == GJ_OBJECT) { /* walk the elements of a valid container */
        gj_iter it;
        gj_iter_init(&it, span, 0, e - s);
        size_t ks, ke, vs, ve;
        gj_kind vk;
        int r;
        while ((r = gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve)) == 1) {
            CHECK(vs < ve && ve <= e - s);
            if (k == GJ_OBJECT)
                check_string(span + ks, ke - ks);
        }
        CHECK(r == 0); /* a container the scanner accepted iterates to its end */
    }
    free(span);
    mk_buf_free(&c1);
    mk_buf_free(&c2);
}

static void check_time(const char *s, size_t n)
{
    gj_time t, u;
    if (gj_time_parse(s, n, &t) != 0)
        return;
    CHECK(t.nsec >= 0 && t.nsec <= 999999999);
    mk_buf w1, w2;
    mk_buf_init(&w1, 0);
    mk_buf_init(&w2, 0);
    if (gj_time_write(&w1, &t) == 0) {
        CHECK(w1.len >= 2 && w1.data[0] == '"' && w1.data[w1.len - 1] == '"');
        CHECK(gj_time_parse(w1.data + 1, w1.len - 2, &u) == 0);
        CHECK(u.sec == t.sec && u.nsec == t.nsec && u.offset == t.offset);
        CHECK(gj_time_write(&w2, &u) == 0);
        CHECK(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
    } else {
        CHECK(w1.len == 0); /* a refusal appends nothing */
    }
    mk_buf_free(&w1);
    mk_buf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const gt_type *t = types[data[0] % NTYPES];
    char *body = fuzz_copy(data + 1, size - 1, 0);
    check_typed(t, body, size - 1);
    check_raw(body, size - 1);
    check_time(body, size - 1);
    free(body);
    return 0;
}
