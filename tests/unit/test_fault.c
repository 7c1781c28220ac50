/* test_fault.c: the fault grammar (src/core/fault.c): every key, the
 * canonical text, and every refusal naming its item. */
#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "unit.h"

static mk_fault ok(const char *spec)
{
    mk_fault f;
    char err[256] = "";
    int rc = mk_fault_parse(spec, strlen(spec), &f, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", spec, err);
    return f;
}

/* The refusal of spec, which must contain want. */
static void bad(const char *spec, const char *want)
{
    mk_fault f;
    char err[256] = "";
    if (mk_fault_parse(spec, strlen(spec), &f, err, sizeof err) == 0)
        fail_msg("%s: accepted", spec);
    if (!strstr(err, want))
        fail_msg("%s: \"%s\" does not say \"%s\"", spec, err, want);
}

static void canonical(const char *spec, const char *want)
{
    mk_fault f = ok(spec);
    char out[256];
    size_t n = mk_fault_format(&f, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_fault_keys(void **st)
{
    (void)st;
    mk_fault f = ok("status=503; retry-after=2");
    assert_int_equal(f.status, 503);
    assert_int_equal(f.retry_after, 2);
    assert_true(MK_FAULT_HAS(&f, RETRY_AFTER));
    assert_int_equal(f.wire, MK_WIRE_RESPONSE);
    assert_true(f.p == 1.0);
    f = ok(" delay = 250 ;jitter=50 ");
    assert_int_equal(f.delay_ms, 250);
    assert_int_equal(f.jitter_ms, 50);
    assert_int_equal(ok("drop").wire, MK_WIRE_DROP);
    assert_int_equal(ok("reset").wire, MK_WIRE_RESET);
    f = ok("hang");
    assert_int_equal(f.wire, MK_WIRE_HANG);
    assert_int_equal(f.hang_ms, 0);
    assert_int_equal(ok("hang=5000").hang_ms, 5000);
    f = ok("partial=128; then=rst");
    assert_int_equal(f.wire, MK_WIRE_PARTIAL);
    assert_int_equal(f.partial, 128);
    assert_true(f.partial_rst);
    assert_false(ok("partial=0").partial_rst);
    assert_int_equal(ok("slow=2048").slow_bps, 2048);
    assert_int_equal(ok("garbage").wire, MK_WIRE_GARBAGE);
    assert_int_equal(ok("status=500; first=2").first, 2);
    f = ok("status=500; p=0.3; seed=7");
    assert_true(f.p == 0.3);
    assert_int_equal(f.seed, 7);
    assert_int_equal(ok("reset; region=0,1,31").regions, (1u << 0) | (1u << 1) | (1u << 31));
    f = ok("cut-after=3; cut-mid");
    assert_int_equal(f.cut_after, 3);
    assert_true(f.cut_mid);
    assert_true(mk_fault_is_stream(&f));
    f = ok("stall=2000; retry=500");
    assert_int_equal(f.stall_ms, 2000);
    assert_int_equal(f.retry_ms, 500);
    assert_false(mk_fault_is_stream(&(mk_fault){0}));
    assert_false(mk_fault_is_stream(&(mk_fault){.has = 1u << MK_FK_RESET, .wire = MK_WIRE_RESET}));
    ok("status=503;"); /* a trailing separator is harmless */
    ok("p=1; status=400");
    ok("p=.5; status=599");
    ok("seed=18446744073709551615; p=0.000000001; status=500");
}

static void test_fault_canonical(void **st)
{
    (void)st;
    canonical("retry-after=2;status=503", "status=503; retry-after=2");
    canonical("jitter=5; delay=10", "delay=10; jitter=5");
    canonical("hang", "hang");
    canonical("then=fin; partial=7", "partial=7; then=fin");
    canonical("region=3,0; reset", "reset; region=0,3");
    canonical("p=0.300; seed=7; status=500", "status=500; p=0.3; seed=7");
    canonical("p=1.0; status=500", "status=500; p=1");
    canonical("p=0; drop", "drop; p=0");
    canonical("cut-mid; cut-after=0", "cut-after=0; cut-mid");
    char out[8];
    mk_fault f = ok("status=503; retry-after=2");
    assert_int_equal(mk_fault_format(&f, out, sizeof out), strlen("status=503; retry-after=2"));
    assert_string_equal(out, "status=");
}

static void test_fault_refusals(void **st)
{
    (void)st;
    bad("", "empty fault spec");
    bad(" ; ;", "empty fault spec");
    bad("stauts=503", "unknown key \"stauts\" (did you mean \"status\"?)");
    bad("frobnicate", "unknown key \"frobnicate\"");
    bad("=5", "a key is missing");
    bad("status", "status needs a value");
    bad("status=", "status=: empty value");
    bad("status=abc", "status=abc: not a whole number");
    bad("status=-1", "not a whole number");
    bad("status=200", "status=200: out of range 400-599");
    bad("status=99999999999999999999999", "out of range");
    bad("delay=99999999", "delay=99999999: out of range 0-600000 (milliseconds)");
    bad("hang=0", "hang=0: out of range 1-600000");
    bad("drop=1", "drop=1: drop takes no value");
    bad("status=503; status=500", "status given twice");
    bad("retry-after=2", "retry-after needs status");
    bad("jitter=5", "jitter needs delay");
    bad("delay=5; jitter=600000", "delay=5; jitter=600000: together over 600000 milliseconds");
    ok("delay=300000; jitter=300000");
    bad("then=rst", "then needs partial");
    bad("partial=5; then=maybe", "give then=fin or then=rst");
    bad("seed=7; status=500", "seed needs p");
    /* selectors alone: the request would be "faulted" (journaled, counted
     * as applied) with nothing done to it */
    bad("first=2", "first, p, seed and region only choose requests");
    bad("p=0.3; seed=7", "only choose requests");
    bad("region=0,1; first=1", "only choose requests");
    bad("p=1.5; status=500", "p=1.5: out of range 0-1");
    bad("p=0.1234567891; status=500", "at most 9 decimals");
    bad("p=abc", "not a probability");
    bad("p=", "not a probability");
    bad("region=0,,1; drop", "an empty region");
    bad("region=1,1; drop", "region 1 listed twice");
    bad("region=32; drop", "out of range 0-31");
    bad("drop; reset", "drop and reset contradict");
    bad("hang; partial=5", "hang and partial contradict");
    bad("status=503; drop", "status and drop contradict: drop writes no answer");
    bad("slow=10; reset", "slow and reset contradict");
    bad("status=503; cut-after=2", "status and cut-after contradict");
    bad("reset; stall=5", "reset and stall contradict");
    bad("slow=5; retry=5", "slow and retry contradict");
    bad("status=503\r\nX: y", "a control or non-ASCII byte (0x0d)");
    bad("delay=1\xff", "non-ASCII byte (0xff)");
    /* a spec that is not NUL-terminated is read to its length only */
    mk_fault f;
    char err[128];
    assert_int_equal(mk_fault_parse("drop; reset", 4, &f, err, sizeof err), 0);
    assert_int_equal(f.wire, MK_WIRE_DROP);
}

static void test_fault_wire_text(void **st)
{
    (void)st;
    static const struct {
        const char *spec, *wire;
    } cases[] = {
        {"status=503", "response"}, {"delay=5", "response"},   {"drop", "fin"},
        {"reset", "rst"},           {"hang", "timeout"},       {"hang=10", "timeout"},
        {"garbage", "garbage"},     {"partial=128", "partial:128"},
        {"partial=1; then=rst", "partial:1+rst"},
        {"cut-after=3", "cut-after:3"}, {"retry=500; stall=20; cut-mid", "retry:500+stall:20+cut-mid"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mk_fault f = ok(cases[i].spec);
        char w[64];
        mk_fault_wire_text(&f, w, sizeof w);
        assert_string_equal(w, cases[i].wire);
    }
}

static void test_fault_rand(void **st)
{
    (void)st;
    uint64_t a = 7, b = 7, c = 8;
    uint64_t x = mk_fault_rand(&a);
    assert_int_equal(x, mk_fault_rand(&b));
    assert_int_not_equal(x, mk_fault_rand(&c));
    /* a seeded 30% is about 30% */
    uint64_t s = 7;
    int hits = 0;
    for (int i = 0; i < 10000; i++)
        hits += (double)(mk_fault_rand(&s) >> 11) * 0x1p-53 < 0.3;
    assert_in_range(hits, 2800, 3200);
}

int run_fault_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_keys),
        cmocka_unit_test(test_fault_canonical),
        cmocka_unit_test(test_fault_refusals),
        cmocka_unit_test(test_fault_wire_text),
        cmocka_unit_test(test_fault_rand),
    };
    return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
